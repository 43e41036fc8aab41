"""The leaky RNN ``h <- (1 - a) h + a f(W_h h + W_x x + b_h)``: file, CLI, kernels and analyses.

References are independent of the kernels: a plain numpy loop, complex-step and central
differences of it, PyTorch autograd, and a numpy QR written here.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.errors import GradflowError

ACT = {"tanh": np.tanh, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
       "relu": lambda z: np.where(np.real(z) > 0, z, 0.0 * z)}
LEAKS = (0.05, 0.3, 0.5, 0.9)


def leaky(activation="tanh", leak=0.5, hidden=7, inputs=3, seed=0, gain=1.4):
    model = gf.RNN.init(hidden, inputs, activation=activation, leak=leak, gain=gain, seed=seed)
    rng = np.random.default_rng(seed + 50)
    weights = {**model.weights, "b_h": 0.3 * rng.standard_normal(hidden)}
    return gf.RNN(weights, activation=activation, leak=leak)


def naive_step(w, activation, a, h, x):
    return (1 - a) * h + a * ACT[activation](w["W_h"] @ h + w["W_x"] @ x + w["b_h"])


def naive_run(w, activation, a, xs, h0):
    out = [h0]
    for x in xs:
        out.append(naive_step(w, activation, a, out[-1], x))
    return np.array(out)


def xs_for(T, d, seed=1):
    return np.random.default_rng(seed).standard_normal((T, d))


# ---------------------------------------------------------------- the option
def test_the_option_is_stored_loaded_and_labelled(tmp_path):
    model = gf.RNN.init(5, 2, leak=0.25, seed=3)
    assert model.leak == 0.25
    assert model.kind == "RNN-tanh (leak 0.25)"
    model.save(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as f:
        assert f["leak"].shape == () and f["leak"].dtype.kind == "f" and f["leak"] == 0.25
    back = gf.load(tmp_path / "w.npz")
    assert back == model and back.leak == 0.25
    assert gf.RNN.init(5, 2, seed=3).kind == "RNN-tanh"
    assert gf.RNN.init(5, 2, leak=1, seed=3).kind == "RNN-tanh"


def test_files_without_a_leak_load_as_the_seeds_rnn(tmp_path):
    model = gf.RNN.init(4, 2, activation="relu", seed=1)
    np.savez(tmp_path / "old.npz", cell=np.array("rnn"), activation=np.array("relu"),
             **model.weights)
    old = gf.load(tmp_path / "old.npz")
    assert old.leak == 1.0 and old == model and old.kind == "RNN-relu"
    xs = xs_for(30, 2)
    np.testing.assert_array_equal(old.run(xs), model.run(xs))


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, float("nan"), float("inf")])
def test_a_leak_outside_zero_one_is_refused_by_name(bad, tmp_path):
    with pytest.raises(GradflowError, match="leak"):
        gf.RNN.init(4, 2, leak=bad)
    weights = gf.RNN.init(4, 2).weights
    np.savez(tmp_path / "bad.npz", cell=np.array("rnn"), leak=np.array(bad), **weights)
    with pytest.raises(GradflowError, match=r"bad\.npz.*leak"):
        gf.load(tmp_path / "bad.npz")


def test_a_leak_on_a_gated_cell_is_refused(tmp_path):
    with pytest.raises(GradflowError, match="leak"):
        gf.LSTM.init(4, 2, leak=0.5)
    weights = gf.GRU.init(4, 2).weights
    np.savez(tmp_path / "g.npz", cell=np.array("gru"), leak=np.array(0.5), **weights)
    with pytest.raises(GradflowError, match="leak"):
        gf.load(tmp_path / "g.npz")


def test_cli_init_takes_leak(tmp_path):
    out = tmp_path / "w.npz"
    r = CliRunner().invoke(main, ["init", "rnn", "-n", "6", "-d", "2", "--leak", "0.2",
                                  "--seed", "4", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    document = json.loads(r.stdout)
    assert document["leak"] == 0.2 and "leak 0.2" in document["model"]
    assert gf.load(out) == gf.RNN.init(6, 2, leak=0.2, seed=4)
    for args in (["rnn", "--leak", "0"], ["rnn", "--leak", "2"], ["lstm", "--leak", "0.5"]):
        bad = tmp_path / "bad.npz"
        r = CliRunner().invoke(main, ["init", *args, "-n", "3", "-d", "1", "-o", str(bad)])
        assert r.exit_code == 1, r.output
        assert r.stderr.startswith("Error: ") and "leak" in r.stderr
        assert not bad.exists()


# ---------------------------------------------------------------- kernels
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("leak", LEAKS)
def test_run_matches_the_naive_loop(activation, leak):
    model = leaky(activation, leak)
    xs = xs_for(40, 3)
    h0 = np.random.default_rng(7).standard_normal(7)
    np.testing.assert_allclose(model.run(xs, h0), naive_run(model.weights, activation, leak,
                                                            xs, h0), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("leak", LEAKS)
def test_jacobians_match_complex_step(activation, leak):
    model = leaky(activation, leak)
    xs = xs_for(12, 3)
    S = naive_run(model.weights, activation, leak, xs, np.zeros(7))
    Js = model.step_jacobians(xs)
    for t in range(12):
        h = 1e-30
        ref = np.stack([np.imag(naive_step(model.weights, activation, leak,
                                           S[t] + 1j * h * e, xs[t])) / h
                        for e in np.eye(7)], axis=1)
        assert np.linalg.norm(Js[t] - ref) <= 1e-10 * np.linalg.norm(ref)


@pytest.mark.parametrize("leak", LEAKS)
def test_jacobians_match_torch_autograd(leak):
    torch = pytest.importorskip("torch")
    model = leaky("tanh", leak)
    xs = xs_for(10, 3)
    S = model.run(xs)
    Js = model.step_jacobians(xs)
    w = {k: torch.tensor(v) for k, v in model.weights.items()}
    for t in range(10):
        x = torch.tensor(xs[t])

        def step(h, x=x):
            return (1 - leak) * h + leak * torch.tanh(w["W_h"] @ h + w["W_x"] @ x + w["b_h"])

        ref = torch.autograd.functional.jacobian(step, torch.tensor(S[t])).numpy()
        assert np.linalg.norm(Js[t] - ref) <= 1e-10 * np.linalg.norm(ref)


def test_bptt_gradients_match_finite_differences():
    model = leaky("tanh", 0.3, hidden=5, inputs=2)
    xs = xs_for(25, 2)
    G = np.random.default_rng(3).standard_normal((25, 5))

    def loss(weights):
        S = naive_run(weights, "tanh", 0.3, xs, np.zeros(5))
        return float(np.sum(G * S[1:]))

    g = gf.bptt(model, xs, G, by_lag=True)
    for name, w in model.weights.items():
        numeric = np.empty(w.shape)
        for index in np.ndindex(w.shape):
            def at(step, index=index, name=name, w=w):
                moved = np.array(w)
                moved[index] += step
                return loss({**model.weights, name: moved})

            d1 = (at(1e-4) - at(-1e-4)) / 2e-4
            d2 = (at(5e-5) - at(-5e-5)) / 1e-4
            numeric[index] = (4 * d2 - d1) / 3
        np.testing.assert_allclose(g.grads[name], numeric, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(g.grads_by_lag[name].sum(axis=0), g.grads[name],
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("leak", (0.1, 0.5, 0.8))
def test_exponents_sum_to_the_mean_log_determinant(leak):
    model = leaky("tanh", leak, hidden=8, gain=2.0)
    xs = xs_for(400, 3)
    r = gf.lyapunov(model, xs)
    logdet = np.linalg.slogdet(model.step_jacobians(xs))[1]
    assert abs(r.sum - logdet.mean()) <= 1e-9 * max(1.0, abs(logdet.mean()))


def test_the_leak_one_rnn_is_bit_identical_to_the_seeds_rnn():
    base = gf.RNN.init(9, 2, gain=1.5, seed=2)
    same = gf.RNN(base.weights, leak=1.0)
    xs = xs_for(50, 2)
    np.testing.assert_array_equal(same.run(xs), base.run(xs))
    np.testing.assert_array_equal(same.step_jacobians(xs), base.step_jacobians(xs))
    # and the leak-one arithmetic is the plain f(W_h h + W_x x + b_h): no (1 - a) h term
    S = base.run(xs)
    np.testing.assert_allclose(S[1:], np.tanh(S[:-1] @ base["W_h"].T + xs @ base["W_x"].T),
                               rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------- bounds and analyses
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_bound_is_the_leaky_pascanu_bound_and_holds(activation):
    model = leaky(activation, 0.4)
    sigma = np.linalg.svd(model["W_h"], compute_uv=False)[0]
    gamma = {"tanh": 1.0, "sigmoid": 0.25}[activation]
    expected = 0.6 + 0.4 * gamma * sigma
    assert model.pascanu_bound() == pytest.approx(expected, rel=1e-14)
    assert gf.spectrum(model).bound == pytest.approx(expected, rel=1e-14)
    xs = xs_for(60, 3)
    norms = [np.linalg.norm(J, 2) for J in model.step_jacobians(xs)]
    assert max(norms) <= expected * (1 + 1e-12)
    assert gf.decay(model, xs).bound == pytest.approx(expected, rel=1e-14)


def test_decay_matches_products_of_the_naive_jacobians():
    model = leaky("tanh", 0.2, hidden=6)
    xs = xs_for(30, 3)
    S = naive_run(model.weights, "tanh", 0.2, xs, np.zeros(6))
    a = model["W_h"]
    P = np.eye(6)
    expected = [0.0]
    for t in range(29, -1, -1):
        d = 1 - np.tanh(a @ S[t] + model["W_x"] @ xs[t] + model["b_h"]) ** 2
        P = P @ (0.8 * np.eye(6) + 0.2 * d[:, None] * a)
        expected.append(np.log10(np.linalg.norm(P, 2)))
    np.testing.assert_allclose(gf.decay(model, xs).log10_norm2, expected, rtol=1e-10,
                               atol=1e-12)


def test_fixed_points_of_the_leaky_rnn_keep_their_place_and_shift_their_eigenvalues():
    # F(h) = h  <=>  f(W_h h + b) = h for every leak; J = (1 - a) I + a J_vanilla
    W = 0.7 * np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))[0]
    weights = {"W_h": W, "W_x": np.ones((5, 1)), "b_h": np.zeros(5)}
    for leak in (1.0, 0.3):
        r = gf.fixed_points(gf.RNN(weights, leak=leak), starts=16)
        assert len(r.fixed) == 1
        point = r.fixed[0]
        np.testing.assert_allclose(point.state, 0.0, atol=1e-10)
        expected = (1 - leak) + leak * np.linalg.eigvals(W)
        found = np.sort_complex(point.eigenvalues)
        np.testing.assert_allclose(found, np.sort_complex(expected), atol=1e-10)


# ---------------------------------------------------------------- the conjugate x-form
def naive_spectrum(jacobian, states, warmup):
    """Lyapunov spectrum by numpy QR of ``J_t Q`` at every step (natural log per step)."""
    m = states.shape[1]
    Q = np.eye(m)
    logs = np.zeros(m)
    for t, s in enumerate(states):
        Q, R = np.linalg.qr(jacobian(s) @ Q)
        if t >= warmup:
            logs += np.log(np.abs(np.diag(R)))
    return np.sort(logs / (len(states) - warmup))[::-1]


@pytest.mark.parametrize("leak", (0.2, 0.6))
def test_the_rate_form_and_the_x_form_have_the_same_lyapunov_spectrum(leak):
    """``h <- (1-a) h + a tanh(W h)`` and ``x <- (1-a) x + a W tanh(x)`` are conjugate by x = W h.

    J_x(W h) = W J_h(h) W^-1, so the determinants agree step by step and the spectra agree
    up to O(log cond(W) / T).
    """
    n, T, warmup = 8, 3000, 200
    W = 3.0 * np.random.default_rng(5).standard_normal((n, n)) / np.sqrt(n)
    model = gf.RNN({"W_h": W, "W_x": np.zeros((n, 1)), "b_h": np.zeros(n)}, leak=leak)
    h0 = np.random.default_rng(6).standard_normal(n)
    zeros = np.zeros((T, 1))
    X = model.run(zeros, h0) @ W.T
    # the x-form's own map, step by step, on x_t = W h_t (no chaotic amplification)
    np.testing.assert_allclose(X[1:], (1 - leak) * X[:-1] + leak * np.tanh(X[:-1]) @ W.T,
                               rtol=1e-10, atol=1e-12 * np.abs(X).max())
    x = [X[0]]
    for _ in range(40):
        x.append((1 - leak) * x[-1] + leak * W @ np.tanh(x[-1]))
    np.testing.assert_allclose(np.array(x), X[:41], rtol=1e-8, atol=1e-10)

    def x_jacobian(s):
        return (1 - leak) * np.eye(n) + leak * W * (1 - np.tanh(s) ** 2)[None, :]

    x_spectrum = naive_spectrum(x_jacobian, X[:-1], warmup)
    h_spectrum = gf.lyapunov(model, zeros, h0, warmup=warmup).exponents
    assert np.ptp(x_spectrum) > 0.1  # a spectrum worth comparing, not one repeated value
    np.testing.assert_allclose(h_spectrum, x_spectrum, atol=5e-3)
    logdet_x = np.mean([np.linalg.slogdet(x_jacobian(s))[1] for s in X[warmup:-1]])
    assert abs(h_spectrum.sum() - logdet_x) <= 1e-8


# ---------------------------------------------------------------- sweeps over the leak
def test_a_sweep_over_the_leak_measures_each_leaky_rnn(tmp_path):
    from gradflow.sweep.evaluate import evaluate_point
    from gradflow.sweep.grid import parse_grid
    from gradflow.sweep.point import point_trajectory, sweep_point
    from gradflow.sweep.runner import run_sweep
    from gradflow.sweep.store import read_results

    grid = parse_grid("cell=rnn,lstm leak=0.25,1 gain=1.5 hidden=6").with_values(
        steps=40, warmup=10, k=2, input_scale=0.5)
    points = grid.points()
    assert sorted((p.cell, p.leak) for p in points) == [("lstm", None), ("rnn", 0.25),
                                                         ("rnn", 1.0)]
    leaky_point = next(p for p in points if p.leak == 0.25)
    assert leaky_point.kind == "RNN-tanh (leak 0.25)"
    # the seed's RNN keeps the key it had before the leak existed
    assert sweep_point(cell="rnn", leak=1.0, hidden=64, gain=1.5, seed=3,
                       steps=400).key == "fc74cf256d9a93d6"
    row = evaluate_point(leaky_point)
    assert row["status"] == "ok", row["error"]
    model = gf.RNN.init(6, 1, gain=1.5, seed=0, leak=0.25)
    xs, s0 = point_trajectory(leaky_point)
    assert row["lambda_1"] == pytest.approx(
        gf.lyapunov(model, xs, s0, k=2, warmup=10).lambda_1, rel=1e-12)
    assert row["bound"] == pytest.approx(model.pascanu_bound(), rel=1e-12)
    out = tmp_path / "leak.csv"
    run_sweep(grid, out)
    rows = read_results(out)
    assert sorted(r["leak"] for r in rows if r["cell"] == "rnn") == [0.25, 1.0]
    assert all(r["status"] == "ok" for r in rows)


def test_a_leak_axis_needs_an_rnn_and_values_in_zero_one():
    from gradflow.sweep.grid import parse_grid

    with pytest.raises(GradflowError, match="leak applies to rnn only"):
        parse_grid("cell=lstm leak=0.5")
    with pytest.raises(GradflowError, match="leak"):
        parse_grid("leak=0:1:5")
