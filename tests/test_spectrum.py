"""``gf.spectrum`` and ``gradflow spectrum``: against numpy.linalg, closed forms and bound^k."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradflow as gf
import gradflow.analysis.spectrum as spectrum_module
from gradflow.cli import main

import _analysis_refs as refs
from conftest import CONFIG_IDS, CONFIGS, inputs, make

GAMMA = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_spectral_figures_agree_with_numpy_linalg(config):
    model = make(config, hidden=9, inputs=3, seed=5, gain=1.7)
    r = gf.spectrum(model)
    assert list(r.matrices) == [n for n in model.weights if n.startswith("W_") and
                                n.endswith("h")]
    for name, m in r.matrices.items():
        W = np.array(model[name])
        sv = np.linalg.svd(W, compute_uv=False)
        np.testing.assert_allclose(m.singular_values, sv, rtol=1e-10, atol=0)
        assert m.sigma_max == pytest.approx(np.linalg.norm(W, 2), rel=1e-10, abs=0)
        assert m.sigma_min == pytest.approx(sv[-1], rel=1e-10, abs=0)
        assert m.spectral_radius == pytest.approx(np.abs(np.linalg.eigvals(W)).max(), rel=1e-10,
                                                  abs=0)
        assert m.condition_number == pytest.approx(np.linalg.cond(W), rel=1e-10, abs=0)
        assert m.gamma_sigma_max == pytest.approx(m.gamma * sv[0], rel=1e-12)


def test_gamma_is_a_quarter_for_sigmoid_and_one_for_tanh_and_relu():
    for name, gamma in GAMMA.items():
        assert gf.activation_bound(name).gamma == gamma
        model = gf.RNN.init(4, 2, seed=1, activation=name)
        r = gf.spectrum(model)
        assert r.gamma == gamma
        assert r.bound == pytest.approx(gamma * np.linalg.norm(model["W_h"], 2), rel=1e-12)
    lstm = gf.spectrum(gf.LSTM.init(4, 2))
    assert {n: m.gamma for n, m in lstm.matrices.items()} == {
        "W_fh": 0.25, "W_ih": 0.25, "W_oh": 0.25, "W_ch": 1.0}
    gru = gf.spectrum(gf.GRU.init(4, 2))
    assert {n: m.gamma for n, m in gru.matrices.items()} == {
        "W_rh": 0.25, "W_zh": 0.25, "W_hh": 1.0}
    assert lstm.gamma is None and lstm.bound is None and lstm.reading is None


def test_sup_of_the_derivatives_on_a_dense_grid_is_where_the_bounds_say():
    z = np.linspace(-20, 20, 400001)
    sig = 1 / (1 + np.exp(-z))
    for values, gamma in ((sig * (1 - sig), 0.25), (1 - np.tanh(z) ** 2, 1.0)):
        assert values.max() == pytest.approx(gamma, abs=1e-15)
        assert z[np.argmax(values)] == 0.0
    relu = (z > 0).astype(float)
    assert relu.max() == 1.0 and z[relu == 1.0].min() > 0


def test_reading_of_the_pascanu_bound():
    small = gf.spectrum(gf.RNN.init(6, 2, gain=0.3, seed=0))
    assert small.bound < 1 and small.reading == "vanishing guaranteed"
    large = gf.spectrum(gf.RNN.init(6, 2, gain=3.0, seed=0))
    assert large.bound > 1 and large.reading == "exploding possible, not guaranteed"


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_trajectory_norms_match_independent_jacobians(config, monkeypatch):
    model = make(config, hidden=5, inputs=2, seed=3, gain=0.9)
    xs = inputs(23, 2, seed=4)
    s0 = np.random.default_rng(2).uniform(-0.5, 0.5, model.state_size)
    ref = np.linalg.norm(refs.jacobians(model, xs, s0), 2, axis=(1, 2))
    m = model.state_size
    monkeypatch.setattr(spectrum_module, "_CHUNK_ENTRIES", 4 * m * m)  # chunks of 4 steps
    r = gf.spectrum(model, xs, s0)
    np.testing.assert_allclose(r.jacobian_norms, ref, rtol=1e-10, atol=1e-13)
    assert r.effective_bound == pytest.approx(ref.max(), rel=1e-10)
    doc = r.to_dict()["trajectory"]
    assert doc["argmax_step"] == int(np.argmax(ref)) + 1
    assert doc["jacobian_norm2_mean"] == pytest.approx(ref.mean(), rel=1e-10)


def test_batch_trajectories_give_one_row_of_norms_per_sequence():
    model = gf.GRU.init(4, 2, seed=0)
    xs = np.stack([inputs(10, 2, seed=s) for s in range(3)])
    norms = gf.jacobian_norms(model, xs)
    assert norms.shape == (3, 10)
    for b in range(3):
        ref = np.linalg.norm(refs.jacobians(model, xs[b]), 2, axis=(1, 2))
        np.testing.assert_allclose(norms[b], ref, rtol=1e-10)
    doc = gf.spectrum(model, xs).to_dict()["trajectory"]
    assert doc["batch"] == 3 and doc["argmax_sequence"] == int(np.argmax(norms.max(axis=1)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell=st.sampled_from(range(len(CONFIGS))),
    hidden=st.integers(1, 6),
    gain=st.floats(0.2, 3.0),
    seed=st.integers(0, 2**16),
    steps=st.integers(1, 40),
)
def test_per_lag_norms_never_exceed_the_bound_to_the_power_k(cell, hidden, gain, seed, steps):
    model = make(CONFIGS[cell], hidden=hidden, inputs=2, seed=seed, gain=gain)
    xs = inputs(steps, 2, seed=seed + 1)
    r = gf.decay(model, xs, effective_bound=True)
    k = r.lags
    finite = np.isfinite(r.log10_norm2)
    ref = np.linalg.norm(refs.jacobians(model, xs), 2, axis=(1, 2))
    slack = 1e-9 * (1 + k)
    if model.cell == "rnn":
        bound = GAMMA[model.activation] * np.linalg.norm(model["W_h"], 2)
        assert np.all(r.log10_norm2[finite] <= (k * math.log10(bound) + slack)[finite])
    effective = ref.max()
    assert r.effective_bound == pytest.approx(effective, rel=1e-9)
    if effective > 0:
        assert np.all(r.log10_norm2[finite] <= (k * math.log10(effective) + slack)[finite])


def test_singular_matrix_gives_a_null_condition_number_in_json():
    W = np.diag([2.0, 1.0, 0.0])
    model = gf.RNN({"W_h": W, "W_x": np.ones((3, 1)), "b_h": np.zeros(3)})
    r = gf.spectrum(model)
    assert r.matrices["W_h"].condition_number == math.inf
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["matrices"]["W_h"]["condition_number"] is None
    assert doc["matrices"]["W_h"]["singular_values"] == [2.0, 1.0, 0.0]
    assert doc["matrices"]["W_h"]["spectral_radius"] == 2.0


def test_cli_json_matches_numpy(tmp_path):
    path = tmp_path / "lstm.npz"
    model = gf.LSTM.init(5, 2, seed=3, forget_bias=1.0)
    model.save(path)
    r = invoke("spectrum", path, "--steps", 30, "--input-seed", 2, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc["matrices"]) == {"W_fh", "W_ih", "W_oh", "W_ch"}
    for name, entry in doc["matrices"].items():
        W = model[name]
        assert {"sigma_max", "spectral_radius", "singular_values", "condition_number"} <= set(entry)
        np.testing.assert_allclose(entry["singular_values"], np.linalg.svd(W, compute_uv=False),
                                   rtol=1e-10)
        assert entry["condition_number"] == pytest.approx(np.linalg.cond(W), rel=1e-10)
    xs = np.random.default_rng(2).standard_normal((30, 2))
    ref = np.linalg.norm(refs.jacobians(model, xs), 2, axis=(1, 2)).max()
    assert doc["effective_bound"] == pytest.approx(ref, rel=1e-10)
    assert doc["gamma"] is None and doc["bound"] is None
    assert doc["weights"] == str(path) and doc["trajectory"]["steps"] == 30


def test_cli_human_output_reads_the_bound(tmp_path):
    path = tmp_path / "rnn.npz"
    gf.RNN.init(6, 2, gain=0.4, seed=0, activation="sigmoid").save(path)
    r = invoke("spectrum", path, "--steps", 20)
    assert r.exit_code == 0, r.output
    assert "Pascanu bound" in r.stdout and "vanishing guaranteed" in r.stdout
    assert "W_h" in r.stdout and "sigmoid" in r.stdout and "0.25" in r.stdout
    bad = invoke("spectrum", tmp_path / "missing.npz")
    assert bad.exit_code == 1 and "missing.npz: no such file" in bad.stderr
