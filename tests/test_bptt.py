"""gradflow.bptt against complex-step and central differences of the naive forward, and autograd."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradflow as gf
from gradflow.analysis.bptt import SequencePool, trajectories

import naive
from conftest import CONFIG_IDS, CONFIGS, inputs, make


def step_with(model, w):
    """The naive step function of ``model``'s kind with the weights ``w`` (maybe complex)."""
    if model.cell == "rnn":
        return lambda s, x: naive.rnn_step(w, model.activation, s, x)
    if model.cell == "lstm":
        return lambda s, x: naive.lstm_step(w, s, x)
    return lambda s, x: naive.gru_step(w, model.variant, s, x)


def naive_terms(model, xs, G, s0, weights_at):
    """Loss terms ``G[t-1] . s_t`` (t = 1..T) of the naive forward; step k uses weights_at(k)."""
    s = np.asarray(s0)
    terms = []
    for k, x in enumerate(xs, start=1):
        s = step_with(model, weights_at(k))(s, x)
        terms.append(np.sum(G[k - 1] * s))
    return np.array(terms)


def complex_weights(model):
    return {k: v.astype(complex) for k, v in model.weights.items()}


def complex_step_grads(model, xs, G, s0, h=1e-30):
    """dL/dW for every weight entry, L = sum_t G[t-1] . s_t, by complex step (exact)."""
    out = {}
    for name, W in model.weights.items():
        ref = np.zeros(W.shape)
        for idx in np.ndindex(W.shape):
            w = complex_weights(model)
            w[name][idx] += 1j * h
            terms = naive_terms(model, xs, G, s0.astype(complex), lambda k, w=w: w)
            ref[idx] = terms.sum().imag / h
        out[name] = ref
    return out


def central_difference_grads(model, xs, G, s0, h):
    """Richardson-extrapolated central differences of L, weight entry by entry."""
    out = {}

    def L(name, idx, step):
        w = {k: v.copy() for k, v in model.weights.items()}
        w[name][idx] += step
        return naive_terms(model, xs, G, s0, lambda k: w).sum()

    for name, W in model.weights.items():
        ref = np.zeros(W.shape)
        for idx in np.ndindex(W.shape):
            def d(step, name=name, idx=idx):
                return (L(name, idx, step) - L(name, idx, -step)) / (2 * step)
            ref[idx] = (4 * d(h / 2) - d(h)) / 3
        out[name] = ref
    return out


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def relu_safe_step(model, xs, s0):
    """A finite-difference step that stays clear of relu kinks (1e-3 for smooth cells)."""
    if model.cell != "rnn" or model.activation != "relu":
        return 1e-3
    S = naive.trajectory(model, xs, s0)
    a = S[:-1] @ model["W_h"].T + xs @ model["W_x"].T + model["b_h"]
    return min(1e-3, np.abs(a).min() / 20)


def problem(config, hidden=4, d=3, T=7, seed=0):
    model = make(config, hidden=hidden, inputs=d, seed=seed)
    rng = np.random.default_rng(seed + 50)
    xs = inputs(T, d, seed=seed + 1)
    G = rng.standard_normal((T, model.state_size))
    s0 = 0.5 * rng.standard_normal(model.state_size)
    return model, xs, G, s0


def test_weight_gradients_match_complex_step(config):
    model, xs, G, s0 = problem(config)
    g = gf.bptt(model, xs, G, s0)
    ref = complex_step_grads(model, xs, G, s0)
    assert list(g.grads) == list(model.weight_names())
    for name in model.weight_names():
        assert g.grads[name].shape == model[name].shape
        assert rel(g.grads[name], ref[name]) <= 1e-10, name


def test_weight_gradients_over_several_stashes_match_complex_step(config):
    """T = 2 CHUNK + 5: the weight gradients are added stash by stash, the last one partial."""
    from gradflow.kernels.bptt import CHUNK

    model, xs, G, s0 = problem(config, hidden=3, d=2, T=2 * CHUNK + 5, seed=7)
    g = gf.bptt(model, xs, G, s0)
    ref = complex_step_grads(model, xs, G, s0)
    for name in model.weight_names():
        assert rel(g.grads[name], ref[name]) <= 1e-10, name


def test_weight_gradients_match_central_differences(config):
    model, xs, G, s0 = problem(config, seed=3)
    g = gf.bptt(model, xs, G, s0)
    ref = central_difference_grads(model, xs, G, s0, relu_safe_step(model, xs, s0))
    for name in model.weight_names():
        assert rel(g.grads[name], ref[name]) <= 1e-10, name


def test_state_and_input_gradients_match_complex_step(config):
    model, xs, G, s0 = problem(config, seed=5)
    g = gf.bptt(model, xs, G, s0)
    T, m = G.shape
    assert g.state_grads.shape == (T + 1, m) and g.input_grads.shape == xs.shape
    w = model.weights
    h = 1e-30
    # dL/ds_t: perturb the state at time t and run the rest of the sequence
    for t in range(T + 1):
        S = naive.trajectory(model, xs, s0)
        ref = np.zeros(m)
        for j in range(m):
            s = S[t].astype(complex)
            s[j] += 1j * h
            total = np.sum(G[t - 1] * s) if t > 0 else 0.0
            for k in range(t, T):
                s = step_with(model, w)(s, xs[k])
                total = total + np.sum(G[k] * s)
            ref[j] = np.imag(total) / h
        assert rel(g.state_grads[t], ref) <= 1e-10, t
    ref_x = np.zeros(xs.shape)
    for idx in np.ndindex(xs.shape):
        xc = xs.astype(complex)
        xc[idx] += 1j * h
        s = s0.astype(complex)
        total = 0.0
        for k in range(T):
            s = step_with(model, w)(s, xc[k])
            total = total + np.sum(G[k] * s)
        ref_x[idx] = np.imag(total) / h
    assert rel(g.input_grads, ref_x) <= 1e-10


def test_lag_parts_match_their_definition_and_sum_to_the_total(config):
    """Lag l: d/dtheta at step k only, of the loss term at step t = k + l (Pascanu eq. 5)."""
    model, xs, G, s0 = problem(config, T=5, seed=7)
    g = gf.bptt(model, xs, G, s0, by_lag=True)
    T = xs.shape[0]
    h = 1e-30
    plain = complex_weights(model)
    for name in model.weight_names():
        parts = g.grads_by_lag[name]
        assert parts.shape == (T,) + model[name].shape
        ref = np.zeros(parts.shape)
        for idx in np.ndindex(model[name].shape):
            w = complex_weights(model)
            w[name][idx] += 1j * h
            for k in range(1, T + 1):
                terms = naive_terms(model, xs, G, s0.astype(complex),
                                    lambda step, k=k, w=w: w if step == k else plain)
                for t in range(k, T + 1):
                    ref[(t - k,) + idx] += terms[t - 1].imag / h
        scale = np.linalg.norm(g.grads[name])
        assert np.linalg.norm(parts - ref) <= 1e-10 * scale, name
        np.testing.assert_allclose(parts.sum(axis=0), g.grads[name], rtol=0,
                                   atol=1e-12 * scale)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_torch_autograd_agrees(config):
    torch = pytest.importorskip("torch")
    model = make(config, hidden=9, inputs=4, seed=11)
    B, T = 3, 40
    rng = np.random.default_rng(12)
    xs = rng.standard_normal((B, T, 4))
    G = rng.standard_normal((B, T, model.state_size))
    s0 = 0.3 * rng.standard_normal((B, model.state_size))
    g = gf.bptt(model, xs, G, s0, by_lag=True)

    w = {k: torch.tensor(v, requires_grad=True) for k, v in model.weights.items()}
    x = torch.tensor(xs, requires_grad=True)
    s = torch.tensor(s0, requires_grad=True)
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}

    def step(h, xt):
        if model.cell == "rnn":
            return act[model.activation](h @ w["W_h"].T + xt @ w["W_x"].T + w["b_h"])
        if model.cell == "lstm":
            n = model.hidden
            hh, c = h[:, :n], h[:, n:]
            a = {q: hh @ w[f"W_{q}h"].T + xt @ w[f"W_{q}x"].T + w[f"b_{q}"] for q in "fioc"}
            C = torch.sigmoid(a["f"]) * c + torch.sigmoid(a["i"]) * torch.tanh(a["c"])
            return torch.cat([torch.sigmoid(a["o"]) * torch.tanh(C), C], dim=1)
        R = torch.sigmoid(h @ w["W_rh"].T + xt @ w["W_rx"].T + w["b_r"])
        Z = torch.sigmoid(h @ w["W_zh"].T + xt @ w["W_zx"].T + w["b_z"])
        if model.variant == "seed":
            Ht = torch.tanh((R * h) @ w["W_hh"].T + xt @ w["W_hx"].T + w["b_h"])
        else:
            Ht = torch.tanh(xt @ w["W_hx"].T + w["b_h"] + R * (h @ w["W_hh"].T + w["b_hn"]))
        return Z * h + (1 - Z) * Ht

    h = s
    loss = 0.0
    for t in range(T):
        h = step(h, x[:, t])
        loss = loss + (torch.tensor(G[:, t]) * h).sum()
    loss.backward()
    for name in model.weight_names():
        ref = w[name].grad.numpy()
        assert rel(g.grads[name], ref) <= 1e-10, name
        assert rel(g.grads_by_lag[name].sum(axis=0), ref) <= 1e-10, name
    assert rel(g.input_grads, x.grad.numpy()) <= 1e-10
    assert rel(g.state_grads[:, 0], s.grad.numpy()) <= 1e-10


def test_a_batch_sums_its_sequences(config):
    model = make(config, hidden=5, inputs=2, seed=2)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 8, 2))
    G = rng.standard_normal((3, 8, model.state_size))
    whole = gf.bptt(model, xs, G, by_lag=True)
    singles = [gf.bptt(model, x, g, by_lag=True) for x, g in zip(xs, G, strict=True)]
    for name in model.weight_names():
        np.testing.assert_allclose(whole.grads[name], sum(s.grads[name] for s in singles),
                                   rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(whole.grads_by_lag[name],
                                   sum(s.grads_by_lag[name] for s in singles),
                                   rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(whole.state_grads[1], singles[1].state_grads)


def test_a_loss_at_the_last_step_splits_into_the_per_step_contributions():
    """With one loss term at T, lag l is step T - l's own part: compare with BPTT over a suffix.

    The gradient of G . s_T through the last l + 1 steps only (a run that starts at s_{T-l-1})
    minus the one through the last l steps isolates step T - l.
    """
    model = make(CONFIGS[3], hidden=5, inputs=2, seed=4)
    xs = inputs(12, 2, seed=5)
    S = model.run(xs)
    G = np.zeros((12, model.state_size))
    G[-1] = np.random.default_rng(1).standard_normal(model.state_size)
    g = gf.bptt(model, xs, G, by_lag=True)

    def suffix(steps):
        if steps == 0:
            return {k: 0.0 for k in model.weight_names()}
        return gf.bptt(model, xs[-steps:], G[-steps:], S[-steps - 1]).grads

    for lag in range(12):
        longer, shorter = suffix(lag + 1), suffix(lag)
        for name in model.weight_names():
            np.testing.assert_allclose(g.grads_by_lag[name][lag], longer[name] - shorter[name],
                                       rtol=1e-9, atol=1e-12)


def test_lag_norms_vanish_under_pascanus_bound():
    """tanh RNN with gamma * sigma_max(W_h) < 1: the lag-l part is at most C bound^l."""
    model = gf.RNN.init(6, 2, init="orthogonal", gain=0.7, seed=3)
    xs = inputs(30, 2, seed=1)
    G = np.zeros((30, 6))
    G[-1] = 1.0
    g = gf.bptt(model, xs, G, by_lag=True)
    bound = float(np.linalg.norm(model["W_h"], 2))  # gamma = 1 for tanh
    S = model.run(xs)
    # the immediate part of step k is bounded by |delta| * (|s_{k-1}| + |x_k| + 1)
    C = np.linalg.norm(G[-1]) * max(np.linalg.norm(S[k]) + np.linalg.norm(xs[k]) + 1
                                    for k in range(30))
    lags = g.lag_norms()
    assert lags.shape == (30,) and np.all(lags > 0)
    assert np.all(lags <= C * bound ** np.arange(30) * (1 + 1e-12))


def test_result_is_read_only_and_json_ready():
    model = make(CONFIGS[5], hidden=3, inputs=2)
    xs = inputs(6, 2)
    g = gf.bptt(model, xs, np.ones((6, 3)), by_lag=True)
    assert isinstance(g, gf.BPTTResult)
    with pytest.raises(TypeError):
        g.grads["W_rh"] = 0
    with pytest.raises(ValueError):
        g.grads["b_hn"][0] = 1.0
    doc = json.loads(json.dumps(g.to_dict(), allow_nan=False))
    assert doc["lags"] == list(range(6)) and len(doc["lag_norms"]) == 6
    assert set(doc["norms"]) == set(model.weight_names())
    assert doc["norm"] == pytest.approx(np.sqrt(sum(np.sum(v**2) for v in g.grads.values())))
    assert g.lag_norms(["b_hn"]) == pytest.approx(
        np.linalg.norm(g.grads_by_lag["b_hn"], axis=1))


def test_bad_arguments_are_refused():
    model = make(CONFIGS[0], hidden=3, inputs=2)
    xs = inputs(5, 2)
    with pytest.raises(gf.GradflowError, match=r"grad_out has shape \(4, 3\); expected \(5, 3\)"):
        gf.bptt(model, xs, np.zeros((4, 3)))
    G = np.zeros((5, 3))
    G[2, 1] = np.nan
    with pytest.raises(gf.GradflowError, match=r"grad_out holds a non-finite value \(nan\) at "
                                               r"index \(2, 1\)"):
        gf.bptt(model, xs, G)
    with pytest.raises(gf.GradflowError, match="grad_out is required"):
        gf.bptt(model, xs, None)
    with pytest.raises(gf.GradflowError, match="by_lag must be True or False"):
        gf.bptt(model, xs, np.zeros((5, 3)), by_lag="yes")
    with pytest.raises(gf.GradflowError, match="needs the split by lag"):
        gf.bptt(model, xs, np.zeros((5, 3))).lag_norms()
    with pytest.raises(gf.GradflowError, match="no weight 'W_fh'"):
        gf.bptt(model, xs, np.zeros((5, 3)), by_lag=True).lag_norms(["W_fh"])
    with pytest.raises(gf.GradflowError, match="initial state has shape"):
        gf.bptt(model, xs, np.zeros((5, 3)), s0=np.zeros(4))
    hot = gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu")
    with pytest.raises(gf.TrajectoryOverflowError):
        gf.bptt(hot, inputs(3000, 3), np.zeros((3000, 8)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(CONFIGS) - 1), n=st.integers(1, 6), d=st.integers(1, 4),
       T=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_random_cells_lag_parts_sum_and_match_complex_step(which, n, d, T, seed):
    model = make(CONFIGS[which], hidden=n, inputs=d, seed=seed)
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((T, d))
    G = rng.standard_normal((T, model.state_size))
    G[rng.random(T) < 0.3] = 0.0  # zero rows are skipped by the split: still exact
    s0 = rng.standard_normal(model.state_size)
    g = gf.bptt(model, xs, G, s0, by_lag=True)
    ref = complex_step_grads(model, xs, G, s0)
    for name in model.weight_names():
        scale = max(np.linalg.norm(ref[name]), 1e-300)
        assert np.linalg.norm(g.grads[name] - ref[name]) <= 1e-10 * scale + 1e-300
        assert np.linalg.norm(g.grads_by_lag[name].sum(axis=0) - ref[name]) <= (
            1e-10 * scale + 1e-300)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_batch_backward_shared_among_threads_sums_the_sequences(config):
    model = make(config, hidden=4, inputs=2)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((5, 6, 2))
    G = rng.standard_normal((5, 6, model.state_size))
    alone = [gf.bptt(model, x, g) for x, g in zip(X, G, strict=True)]
    with SequencePool(3) as pool:
        run = trajectories(model, X, pool=pool)
        shared = run.backward(G, by_lag=True, pool=pool)
    np.testing.assert_allclose(run.states, np.stack([model.run(x) for x in X]), rtol=0, atol=0)
    for name in model.weight_names():
        np.testing.assert_allclose(shared.grads[name], sum(a.grads[name] for a in alone),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(shared.grads_by_lag[name].sum(axis=0), shared.grads[name],
                                   rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(shared.state_grads, np.stack([a.state_grads for a in alone]))
    np.testing.assert_array_equal(shared.input_grads, np.stack([a.input_grads for a in alone]))


def test_sequence_pool_cuts_every_batch_into_contiguous_chunks():
    for threads in (1, 2, 3, 8):
        pool = SequencePool(threads)
        for size in (1, 2, 7, 64, 1001):
            chunks = pool.chunks(size)
            assert len(chunks) == min(threads, size)
            assert chunks[0][0] == 0 and chunks[-1][1] == size
            assert all(a < b for a, b in chunks)
            assert all(b == c for (_, b), (c, _) in zip(chunks, chunks[1:], strict=False))
        pool.close()
    with pytest.raises(gf.GradflowError, match="threads must be a positive integer; got 0"):
        SequencePool(0)


def test_batch_trajectory_overflow_names_the_step():
    hot = gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu")
    X = np.stack([inputs(3000, 3, seed=s) for s in range(2)])
    X[0] *= 0.0  # the first sequence stays at zero; the second overflows
    with pytest.raises(gf.TrajectoryOverflowError, match=r"overflows float64 at step \d+") as e:
        trajectories(hot, X)
    assert 1 <= e.value.step <= 3000
