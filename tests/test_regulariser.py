"""``gf.pascanu_regulariser``: against a plain backpropagation loop and exact cases."""

import json

import numpy as np
import pytest

import gradflow as gf

import _analysis_refs as refs
from conftest import CONFIG_IDS, CONFIGS, inputs, make


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_terms_match_backpropagation_through_independent_jacobians(config):
    model = make(config, hidden=5, inputs=2, seed=3, gain=1.2)
    xs = inputs(35, 2, seed=4)
    s0 = np.random.default_rng(1).uniform(-0.5, 0.5, model.state_size)
    grad_out = np.random.default_rng(2).standard_normal((35, model.state_size))
    r = gf.pascanu_regulariser(model, xs, grad_out, s0)
    delta, carried = refs.backpropagated(refs.jacobians(model, xs, s0), grad_out)
    np.testing.assert_allclose(r.state_grads, delta, rtol=1e-10, atol=1e-12)
    ratio = carried / np.linalg.norm(delta[1:], axis=1)
    np.testing.assert_allclose(r.norm_ratio, ratio, rtol=1e-10)
    np.testing.assert_allclose(r.terms, (ratio - 1) ** 2, rtol=1e-9, atol=1e-14)
    assert r.total == pytest.approx(np.sum((ratio - 1) ** 2), rel=1e-9)
    assert r.steps == 35


def test_an_orthogonal_linear_step_preserves_every_norm():
    """tanh RNN with zero inputs from h = 0: J_t = W, orthogonal, so every ratio is 1."""
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))
    model = gf.RNN({"W_h": Q, "W_x": np.zeros((6, 1)), "b_h": np.zeros(6)})
    grad_out = np.random.default_rng(1).standard_normal((20, 6))
    r = gf.pascanu_regulariser(model, np.zeros((20, 1)), grad_out)
    np.testing.assert_allclose(r.norm_ratio, 1.0, rtol=1e-14)
    assert r.total < 1e-26


def test_a_scaled_linear_step_gives_the_closed_form():
    """J_t = a I: ||delta J|| / ||delta|| = a at every step, Omega_k = (a - 1)^2."""
    model = gf.RNN({"W_h": 0.5 * np.eye(3), "W_x": np.zeros((3, 1)), "b_h": np.zeros(3)})
    grad_out = np.zeros((10, 3))
    grad_out[-1] = [1.0, 2.0, 2.0]
    r = gf.pascanu_regulariser(model, np.zeros((10, 1)), grad_out)
    np.testing.assert_allclose(r.norm_ratio, 0.5, rtol=1e-15)
    np.testing.assert_allclose(r.terms, 0.25, rtol=1e-15)
    norms = np.linalg.norm(r.state_grads, axis=1)
    np.testing.assert_allclose(norms, 3 * 0.5 ** np.arange(10, -1, -1), rtol=1e-15)


def test_undefined_steps_are_nan_and_null_in_json():
    model = gf.RNN.init(3, 1, seed=0)
    grad_out = np.zeros((8, 3))
    grad_out[3] = 1.0  # dL/ds_4 only: delta_5..delta_8 are exactly zero
    r = gf.pascanu_regulariser(model, inputs(8, 1), grad_out)
    assert np.isnan(r.norm_ratio[4:]).all() and np.isfinite(r.norm_ratio[:4]).all()
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["terms"][4:] == [None] * 4
    assert doc["total"] == pytest.approx(np.sum(r.terms[:4]))


@pytest.mark.parametrize(
    ("grad_out", "message"),
    [
        (np.zeros((5, 3)), r"grad_out has shape \(5, 3\); expected \(T, m\) = \(6, 3\)"),
        (np.full((6, 3), np.nan), "grad_out holds a non-finite value"),
        (np.zeros((6, 3), dtype=complex), "grad_out has dtype complex128"),
        (None, "grad_out is required"),
    ],
)
def test_bad_output_gradients(grad_out, message):
    with pytest.raises(gf.GradflowError, match=message):
        gf.pascanu_regulariser(gf.RNN.init(3, 2), inputs(6, 2), grad_out)
