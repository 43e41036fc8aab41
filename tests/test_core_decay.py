"""All-lag norms: exact against independent references, including far outside float64's range."""

import numpy as np
import pytest

import gradflow as gf

import naive
from conftest import CONFIG_IDS, CONFIGS, inputs, make


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_all_lag_norms_match_a_naive_reference(config):
    model = make(config, hidden=6, inputs=3, seed=2, gain=1.5)
    xs = inputs(120, 3, seed=3)
    r = gf.decay(model, xs)
    ref = naive.renormalised_log10_norms(model.step_jacobians(xs))
    np.testing.assert_allclose(r.log10_norm2, ref, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(r.lags, np.arange(121))
    # at short lags the plain product is representable: compare with the SVD directly
    Js = model.step_jacobians(xs)
    P = np.eye(model.state_size)
    for k in range(1, 30):
        P = P @ Js[120 - k]
        assert abs(r.log10_norm2[k] - np.log10(np.linalg.norm(P, 2))) <= 1e-10


def test_lstm_block_norms_match_the_blocks_of_the_product():
    model = make((gf.LSTM, {}), hidden=5, inputs=2, seed=4)
    xs = inputs(60, 2, seed=5)
    r = gf.decay(model, xs)
    Js = model.step_jacobians(xs)
    P = np.eye(10)
    for k in range(1, 61):
        P = P @ Js[60 - k]
        assert abs(r.log10_norm2_h[k] - np.log10(np.linalg.norm(P[:5, :5], 2))) <= 1e-10
        assert abs(r.log10_norm2_c[k] - np.log10(np.linalg.norm(P[5:, 5:], 2))) <= 1e-10
    assert r.log10_norm2_h[0] == 0.0 and r.log10_norm2_c[0] == 0.0


def independent_jacobians(model, xs):
    """Step Jacobians by complex step on the naive cell, at the states of ``model.run``.

    The states come from gradflow because a chaotic trajectory amplifies the last-bit
    differences between any two implementations of the forward pass; each forward step is
    checked against the naive cell separately (test_core_jacobians).
    """
    f = naive.step_function(model)
    S = model.run(xs)
    return np.array([naive.complex_step_jacobian(lambda s, t=t: f(s, xs[t]), S[t])
                     for t in range(xs.shape[0])])


@pytest.mark.parametrize(("gain", "T", "n"), [(3.0, 3000, 64), (0.05, 1500, 8)])
def test_norms_stay_exact_where_float64_products_leave_range(gain, T, n):
    """A chaotic tanh RNN (gain 3) and a strongly contracting one (gain 0.05)."""
    model = gf.RNN.init(n, 2, gain=gain, seed=0, activation="tanh")
    xs = 0.5 * inputs(T, 2, seed=7)
    Js = independent_jacobians(model, xs)
    plain = np.eye(n)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for J in Js[::-1]:
            plain = plain @ J
    left_range = not np.isfinite(plain).all() or np.abs(plain).max() == 0.0
    assert left_range, "the case must be one where plain float64 products fail"
    r = gf.decay(model, xs)
    ref = naive.renormalised_log10_norms(Js)
    assert np.isfinite(r.log10_norm2).all()
    np.testing.assert_allclose(r.log10_norm2, ref, rtol=0, atol=1e-9)
    extreme = np.abs(r.log10_norm2).max()
    assert extreme > 330  # beyond 1e+308 / below 1e-308
    if gain > 1:
        assert r.verdict == "exploding" and r.decay_factor > 1
    else:
        assert r.verdict == "vanishing" and r.decay_factor < 1


def test_scalar_rnn_matches_the_closed_form_at_norms_like_ten_to_the_minus_5000():
    """n = 1: ||P_k|| = prod |w f'(a_t)|, a sum of logs, exact at any size."""
    T = 20000
    w = 0.5
    model = gf.RNN({"W_h": [[w]], "W_x": [[1.0]], "b_h": [0.0]}, activation="tanh")
    xs = inputs(T, 1, seed=8)
    S = naive.trajectory(model, xs)
    a = w * S[:-1, 0] + xs[:, 0]
    logs = np.log10(np.abs(w * (1 - np.tanh(a) ** 2)))
    ref = np.concatenate([[0.0], np.cumsum(logs[::-1])])
    r = gf.decay(model, xs)
    assert r.log10_norm2[-1] < -5000
    np.testing.assert_allclose(r.log10_norm2, ref, rtol=1e-12, atol=1e-9)


def test_horizon_fit_and_bound_are_consistent_with_the_curve():
    model = gf.RNN.init(10, 2, gain=0.5, seed=1)
    xs = inputs(300, 2, seed=2)
    r = gf.decay(model, xs, threshold=1e-4)
    k = r.gradient_horizon
    assert r.log10_norm2[k] < -4 <= r.log10_norm2[k - 1]
    lo, hi = r.fit_lags
    slope = np.polyfit(np.arange(lo, hi + 1), r.log10_norm2[lo:hi + 1], 1)[0]
    assert abs(slope - r.log10_decay_rate) < 1e-12
    assert abs(r.bound - np.linalg.norm(model["W_h"], 2)) < 1e-12


def test_decay_rejects_bad_arguments():
    model = gf.RNN.init(3, 2)
    with pytest.raises(gf.GradflowError, match="threshold"):
        gf.decay(model, inputs(5, 2), threshold=2.0)
    with pytest.raises(gf.GradflowError, match="input width 2"):
        gf.decay(model, inputs(5, 3))
    with pytest.raises(gf.GradflowError, match="initial state"):
        gf.decay(model, inputs(5, 2), s0=np.zeros(4))
    with pytest.raises(gf.GradflowError, match="non-finite"):
        gf.decay(model, np.full((5, 2), np.nan))


def test_overflowing_trajectory_names_the_step():
    model = gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu")
    xs = inputs(3000, 3)
    with pytest.raises(gf.TrajectoryOverflowError, match=r"overflows float64 at step \d+") as e:
        model.run(xs)
    with np.errstate(over="ignore", invalid="ignore"):
        S = naive.trajectory(model, xs[: e.value.step])
    assert np.isfinite(S[: e.value.step]).all() and not np.isfinite(S[-1]).all()


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_batch_in_parallel_equals_each_sequence_alone(config):
    model = make(config, hidden=5, inputs=2, seed=3)
    xs = np.stack([inputs(40, 2, seed=s) for s in range(3)])
    for threads in (1, 2):
        r = gf.decay(model, xs, threads=threads)
        assert r.batch == 3
        for x, seq in zip(xs, r.sequences, strict=True):
            alone = gf.decay(model, x)
            np.testing.assert_allclose(seq.log10_norm2, alone.log10_norm2, rtol=0, atol=1e-12)
            if alone.log10_norm2_c is not None:
                np.testing.assert_allclose(seq.log10_norm2_c, alone.log10_norm2_c, atol=1e-12)
            assert seq.lambda_1 == pytest.approx(alone.lambda_1, abs=1e-12)


def test_batch_overflow_names_the_sequence_and_step():
    model = gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu")
    xs = np.stack([0.0 * inputs(3000, 3), inputs(3000, 3)])
    with pytest.raises(gf.TrajectoryOverflowError, match=r"sequence 1 .* at step \d+"):
        gf.decay(model, xs)
