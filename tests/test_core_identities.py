"""Cases whose gradient products are known exactly in closed form."""

import numpy as np
from scipy.stats import ortho_group

import gradflow as gf


def test_irnn_with_positive_preactivations_passes_the_identity():
    """W_h = I and relu with every pre-activation positive: ds_T/ds_t = I for all t."""
    n, d, T = 6, 3, 200
    rng = np.random.default_rng(0)
    weights = {"W_h": np.eye(n), "W_x": 0.01 * rng.standard_normal((n, d)), "b_h": np.ones(n)}
    model = gf.RNN(weights, activation="relu")
    xs = rng.standard_normal((T, d))
    S = model.run(xs)
    pre = S[:-1] @ weights["W_h"].T + xs @ weights["W_x"].T + weights["b_h"]
    assert pre.min() > 0  # the premise of the case
    Js = model.step_jacobians(xs)
    assert np.array_equal(Js, np.broadcast_to(np.eye(n), Js.shape))
    r = gf.decay(model, xs)
    np.testing.assert_allclose(r.log10_norm2, 0.0, atol=1e-14)
    assert r.gradient_horizon is None and r.verdict == "stable"


def test_lstm_with_saturated_forget_and_closed_input_keeps_the_cell_path_exact():
    """F = 1 and I = 0 exactly (sigmoid(+-800) in float64): dc_T/dc_t = I at every lag."""
    n, d, T = 5, 2, 300
    rng = np.random.default_rng(1)
    weights = {}
    for g in "fioc":
        weights[f"W_{g}h"] = rng.standard_normal((n, n)) / np.sqrt(n)
        weights[f"W_{g}x"] = rng.standard_normal((n, d))
        weights[f"b_{g}"] = np.zeros(n)
    weights["b_f"] = np.full(n, 800.0)
    weights["b_i"] = np.full(n, -800.0)
    model = gf.LSTM(weights)
    xs = 0.1 * rng.standard_normal((T, d))
    s0 = np.concatenate([np.zeros(n), rng.standard_normal(n)])
    Js = model.step_jacobians(xs, s0)
    P = np.eye(2 * n)
    for J in Js[::-1]:
        P = P @ J
        assert np.array_equal(P[n:, n:], np.eye(n))
    r = gf.decay(model, xs, s0)
    np.testing.assert_allclose(r.log10_norm2_c, 0.0, atol=1e-14)
    # with the cell frozen, the state keeps its initial cell values exactly
    assert np.array_equal(model.run(xs, s0)[-1, n:], s0[n:])


def test_orthogonal_tanh_rnn_at_the_zero_fixed_point_has_norm_one_at_every_lag():
    n, T = 12, 2000
    W = ortho_group.rvs(n, random_state=2)
    model = gf.RNN({"W_h": W, "W_x": np.ones((n, 1)), "b_h": np.zeros(n)}, activation="tanh")
    xs = np.zeros((T, 1))
    assert np.array_equal(model.run(xs), np.zeros((T + 1, n)))
    r = gf.decay(model, xs)
    np.testing.assert_allclose(r.log10_norm2, 0.0, atol=1e-12)
    assert r.verdict == "stable"


def test_sigmoid_rnn_never_exceeds_the_pascanu_bound():
    """gamma * sigma_max(W_h) = 0.9 with gamma = 1/4: ||ds_T/ds_{T-k}|| <= 0.9^k."""
    n, d, T = 10, 4, 400
    for seed in range(5):
        rng = np.random.default_rng(seed)
        W = rng.standard_normal((n, n))
        W *= 3.6 / np.linalg.svd(W, compute_uv=False)[0]
        model = gf.RNN({"W_h": W, "W_x": rng.standard_normal((n, d)),
                        "b_h": rng.standard_normal(n)}, activation="sigmoid")
        r = gf.decay(model, 2 * rng.standard_normal((T, d)))
        assert abs(r.bound - 0.9) < 1e-12
        assert np.all(r.log10_norm2 <= r.lags * np.log10(0.9) + 1e-12)
        assert r.verdict == "vanishing"


def test_dead_relu_network_gives_an_exactly_zero_product():
    n = 4
    model = gf.RNN({"W_h": np.eye(n), "W_x": np.zeros((n, 1)), "b_h": -np.ones(n)},
                   activation="relu")
    r = gf.decay(model, np.zeros((10, 1)))
    assert r.log10_norm2[0] == 0.0
    assert np.all(np.isneginf(r.log10_norm2[1:]))
    assert r.gradient_horizon == 1 and r.verdict == "vanishing"
    doc = r.to_dict()
    assert doc["log10_norm2"][0] == 0.0 and doc["log10_norm2"][1:] == [None] * 10
