"""Gradient clipping against closed forms: Pascanu et al.'s rescaling, value clipping, fallbacks."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradflow as gf
from gradflow.analysis.clipping import clip_gradients, clipping_summary, gradient_norm


def grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return {"W_h": scale * rng.standard_normal((4, 4)), "W_x": scale * rng.standard_normal((4, 2)),
            "b_h": scale * rng.standard_normal(4)}


def flat(g):
    return np.concatenate([np.ravel(v) for v in g.values()]) if isinstance(g, dict) or hasattr(
        g, "values") else np.ravel(g)


def test_norm_clipping_rescales_to_the_threshold_and_keeps_the_direction():
    g = grads(scale=10.0)
    v = flat(g)
    norm = math.sqrt(float(np.sum(v * v)))
    r = clip_gradients(g, 1.5)
    assert r.clipped and r.method == "norm" and not r.non_finite and r.fallback is None
    assert r.norm == pytest.approx(norm, rel=1e-14)
    assert r.clipped_norm == pytest.approx(1.5, rel=1e-14)
    np.testing.assert_allclose(flat(r.grads), v * (1.5 / norm), rtol=1e-14)
    assert list(r.grads) == list(g)
    assert r.cosine == 1.0 and r.scale == pytest.approx(1.5 / norm)
    assert r.clipped_fraction == 1.0


def test_norm_clipping_leaves_a_small_gradient_alone():
    g = grads(scale=0.01)
    r = clip_gradients(g, 1.0)
    assert not r.clipped and r.clipped_fraction == 0.0 and r.scale == 1.0
    for k in g:
        np.testing.assert_array_equal(r.grads[k], g[k])


def test_value_clipping_clips_entries_and_turns_the_direction():
    g = np.array([3.0, -0.5, 0.2, -4.0, 1.0])
    r = clip_gradients(g, 1.0, method="value")
    np.testing.assert_array_equal(r.grads, [1.0, -0.5, 0.2, -1.0, 1.0])
    assert r.clipped and r.clipped_fraction == pytest.approx(2 / 5)
    expected = float(np.dot(g, r.grads) / (np.linalg.norm(g) * np.linalg.norm(r.grads)))
    assert r.cosine == pytest.approx(expected, rel=1e-14) and r.cosine < 1
    assert r.norm == pytest.approx(np.linalg.norm(g))
    assert r.clipped_norm == pytest.approx(np.linalg.norm(r.grads))


def test_the_norm_of_huge_finite_gradients_does_not_overflow():
    g = {"a": np.full(9, 1e200), "b": np.array([-1e200])}
    assert gradient_norm(g) == pytest.approx(1e200 * math.sqrt(10), rel=1e-14)
    r = clip_gradients(g, 2.0)
    assert not r.non_finite and r.clipped
    np.testing.assert_allclose(r.grads["a"], 2.0 / math.sqrt(10), rtol=1e-14)
    assert gradient_norm([np.zeros(3)]) == 0.0
    assert gradient_norm([np.array([1.0, np.inf])]) == math.inf
    assert math.isnan(gradient_norm([np.array([np.inf, np.nan])]))


@pytest.mark.parametrize("method", ["norm", "value"])
def test_non_finite_gradients_take_the_fallback(method):
    g = grads()
    g["W_x"][1, 0] = np.nan
    zero = clip_gradients(g, 0.5, method=method, on_non_finite="zero")
    assert zero.non_finite and zero.fallback == "zero" and zero.clipped
    assert all(np.all(v == 0) for v in zero.grads.values())
    assert math.isnan(zero.norm) and zero.cosine is None and zero.scale is None
    rnd = clip_gradients(g, 0.5, method=method, on_non_finite="random",
                         rng=np.random.default_rng(1))
    values = flat(rnd.grads)
    assert np.isfinite(values).all() and rnd.fallback == "random"
    if method == "norm":
        assert np.linalg.norm(values) == pytest.approx(0.5, rel=1e-14)
    else:
        assert np.abs(values).max() <= 0.5
    again = clip_gradients(g, 0.5, method=method, on_non_finite="random",
                           rng=np.random.default_rng(1))
    np.testing.assert_array_equal(flat(again.grads), values)
    g["W_x"][1, 0] = np.inf
    with pytest.raises(gf.GradflowError, match="W_x holds NaN or inf"):
        clip_gradients(g, 0.5, method=method, on_non_finite="raise")
    doc = json.loads(json.dumps(zero.to_dict(), allow_nan=False))
    assert doc["norm"] is None and doc["non_finite"] is True


def test_clipping_bptt_gradients_and_the_summary():
    model = gf.RNN.init(5, 2, gain=2.5, seed=0)
    xs = np.random.default_rng(0).standard_normal((60, 2))
    G = np.zeros((60, 5))
    G[-1] = 1.0
    results = []
    for lag_weight in (1e-6, 1.0, 1e3):
        g = gf.bptt(model, xs, lag_weight * G)
        results.append(clip_gradients(g.grads, 1.0))
        assert results[-1].norm == pytest.approx(g.norm, rel=1e-14)
    s = clipping_summary(results)
    assert s.steps == 3 and s.non_finite_steps == 0
    assert s.clipped_steps == sum(r.norm > 1.0 for r in results)
    assert s.clipped_fraction == pytest.approx(s.clipped_steps / 3)
    assert s.max_norm == max(r.norm for r in results)
    assert json.loads(json.dumps(s.to_dict()))["steps"] == 3
    assert clipping_summary([]).clipped_fraction == 0.0


def test_bad_arguments():
    for bad in (0, -1.0, math.inf, math.nan, "x"):
        with pytest.raises(gf.GradflowError, match="threshold must be a positive"):
            clip_gradients(np.ones(3), bad)
    with pytest.raises(gf.GradflowError, match="method must be one of norm, value"):
        clip_gradients(np.ones(3), 1.0, method="global")
    with pytest.raises(gf.GradflowError, match="on_non_finite must be one of zero, random, "):
        clip_gradients(np.ones(3), 1.0, on_non_finite="skip")
    with pytest.raises(gf.GradflowError, match="dtype complex128"):
        clip_gradients(np.ones(3) * 1j, 1.0)
    with pytest.raises(gf.GradflowError, match="grads must hold at least one array"):
        clip_gradients({}, 1)
    for bad in (None, "norm ", 2):
        with pytest.raises(gf.GradflowError, match="method must be one of norm, value"):
            clip_gradients(np.ones(3), 1.0, method=bad)
    assert gradient_norm({}) == 0.0 and gradient_norm([]) == 0.0


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
       threshold=st.floats(1e-3, 1e3))
def test_clipped_gradients_are_within_the_threshold(values, threshold):
    g = np.array(values)
    by_norm = clip_gradients(g, threshold)
    assert np.linalg.norm(by_norm.grads) <= threshold * (1 + 1e-12) or not by_norm.clipped
    assert by_norm.clipped == (np.linalg.norm(g) > threshold)
    by_value = clip_gradients(g, threshold, method="value")
    assert np.abs(by_value.grads).max() <= threshold
    assert by_value.clipped_fraction == pytest.approx(np.mean(np.abs(g) > threshold))
