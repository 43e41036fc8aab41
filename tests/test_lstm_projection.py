"""LSTM with a projected hidden state (``torch.nn.LSTM(proj_size=p)``): facts, files, kernels.

Every number is checked against PyTorch: its own module for the forward pass and the weight
gradients, and autograd through an independent step written here for Jacobians, decay and
sensitivities.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.errors import GradflowError

N, P, D, T = 6, 2, 3, 9
#: PyTorch's gate blocks i, f, g, o in the seed's letters.
TORCH_ORDER = ("i", "f", "c", "o")


def projected(seed=1, gain=1.5, hidden=N, proj=P, inputs=D):
    model = gf.LSTM.init(hidden, inputs, proj_size=proj, seed=seed, gain=gain)
    rng = np.random.default_rng(seed + 10)  # nonzero biases, so a mix-up shows
    weights = {k: v + (rng.uniform(-0.5, 0.5, v.shape) if k.startswith("b_") else 0.0)
               for k, v in model.weights.items()}
    return gf.LSTM(weights, proj_size=proj)


def inputs(steps=T, seed=0, width=D):
    return np.random.default_rng(seed).standard_normal((steps, width))


# ---------------------------------------------------------------------------- class facts
def test_class_facts_follow_from_the_projection():
    m = projected()
    assert m.kind == "LSTM-proj" and gf.LSTM.kind_for(proj_size=0) == "LSTM"
    assert (m.hidden, m.output_size, m.state_size) == (N, P, P + N)
    assert gf.LSTM.state_size_for(N, proj_size=P) == P + N
    assert gf.LSTM.state_size_for(N) == 2 * N
    shapes = gf.LSTM.weight_shapes(N, D, proj_size=P)
    assert shapes["W_fh"] == (N, P) and shapes["W_fx"] == (N, D) and shapes["W_hr"] == (P, N)
    assert m.weight_names()[-1] == "W_hr"
    count = 4 * N * (P + D + 1) + P * N
    assert m.parameter_count == count == gf.LSTM.parameter_count_for(N, D, proj_size=P)
    assert m.parameter_formula() == f"4n(p + d + 1) + pn = 4*6*(2 + 3 + 1) + 2*6 = {count}"
    assert m.describe() == "LSTM-proj (n=6, p=2, d=3)"
    plain = gf.LSTM.init(N, D)
    assert plain.kind == "LSTM" and plain.options() == {"proj_size": 0}
    assert plain.parameter_formula().startswith("4n(n + d + 1) = ")


def test_save_and_load_keep_the_projection(tmp_path):
    m = projected()
    m.save(tmp_path / "w.npz")
    back = gf.load(tmp_path / "w.npz")
    assert back == m and back.proj_size == P
    with np.load(tmp_path / "w.npz") as z:
        assert z["proj_size"].dtype.kind == "i" and int(z["proj_size"]) == P
        assert z["W_hr"].shape == (P, N)


@pytest.mark.parametrize("value, words", [(-1, "proj_size must be an integer >= 0"),
                                          (1.5, "proj_size must be an integer"),
                                          (N + 1, "must not exceed the hidden size")])
def test_bad_projection_sizes_are_named(value, words):
    with pytest.raises(GradflowError, match=words):
        gf.LSTM.init(N, D, proj_size=value)


def test_weights_of_the_wrong_shape_are_named():
    w = dict(projected().weights)
    w["W_hr"] = np.zeros((P, N + 1))
    with pytest.raises(GradflowError, match=r"W_hr has shape \(2, 7\); expected \(2, 6\)"):
        gf.LSTM(w, proj_size=P)
    w = dict(projected().weights)
    del w["W_hr"]
    with pytest.raises(GradflowError, match="missing weight 'W_hr'"):
        gf.LSTM(w, proj_size=P)


def test_cli_init_takes_the_projection(tmp_path):
    out = tmp_path / "w.npz"
    r = CliRunner().invoke(main, ["init", "lstm", "-n", "6", "-d", "3", "--proj-size", "2",
                                  "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["state_size"] == 8 and doc["proj_size"] == 2
    assert doc["parameters"] == 4 * 6 * (2 + 3 + 1) + 12
    assert gf.load(out).proj_size == 2
    r = CliRunner().invoke(main, ["init", "gru", "-n", "6", "-d", "3", "--proj-size", "2",
                                  "-o", str(tmp_path / "g.npz")])
    assert r.exit_code == 1 and "--proj-size applies to lstm only" in r.output


# ---------------------------------------------------------------------------- references
try:
    import torch
except ImportError:  # the facts above need no PyTorch
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def torch_module(model):
    """``torch.nn.LSTM(proj_size=p)`` (float64) holding ``model``'s weights."""
    w = model.weights
    m = torch.nn.LSTM(model.inputs, model.hidden, proj_size=model.proj_size).double()
    with torch.no_grad():
        m.weight_hh_l0.copy_(torch.tensor(np.concatenate([w[f"W_{g}h"] for g in TORCH_ORDER])))
        m.weight_ih_l0.copy_(torch.tensor(np.concatenate([w[f"W_{g}x"] for g in TORCH_ORDER])))
        m.bias_ih_l0.copy_(torch.tensor(np.concatenate([w[f"b_{g}"] for g in TORCH_ORDER])))
        m.bias_hh_l0.zero_()
        m.weight_hr_l0.copy_(torch.tensor(w["W_hr"]))
    return m


def torch_step(model):
    """One step ``(s, x) -> s'`` of the projected LSTM, written out in torch."""
    w = {k: torch.tensor(v) for k, v in model.weights.items()}
    p = model.proj_size

    def step(s, x):
        h, c = s[:p], s[p:]
        a = {g: w[f"W_{g}h"] @ h + w[f"W_{g}x"] @ x + w[f"b_{g}"] for g in "fioc"}
        C = torch.sigmoid(a["f"]) * c + torch.sigmoid(a["i"]) * torch.tanh(a["c"])
        H = w["W_hr"] @ (torch.sigmoid(a["o"]) * torch.tanh(C))
        return torch.cat([H, C])

    return step


def torch_states(model, xs):
    step, s = torch_step(model), torch.zeros(model.state_size, dtype=torch.float64)
    states = [s]
    for x in torch.tensor(xs):
        s = step(s, x)
        states.append(s)
    return states


def torch_jacobians(model, xs):
    step, S = torch_step(model), torch_states(model, xs)
    return np.stack([torch.autograd.functional.jacobian(lambda s, x=x: step(s, x), s).numpy()
                     for s, x in zip(S[:-1], torch.tensor(xs), strict=True)])


def log10_norm(A):
    return float(np.log10(np.linalg.norm(A, 2)))


# ---------------------------------------------------------------------------- kernels
@needs_torch
def test_run_reproduces_pytorchs_module():
    m = projected()
    xs = np.random.default_rng(3).standard_normal((4, 13, D))
    S = m.run(xs)
    with torch.no_grad():
        out, (h_n, c_n) = torch_module(m)(torch.tensor(xs).transpose(0, 1))
    np.testing.assert_allclose(S[:, 1:, :P], out.transpose(0, 1).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(S[:, -1, P:], c_n[0].numpy(), rtol=0, atol=1e-12)
    assert S.shape == (4, 14, P + N)


@needs_torch
def test_step_jacobians_match_autograd_and_finite_differences():
    m = projected()
    xs = inputs()
    J = m.step_jacobians(xs)
    ref = torch_jacobians(m, xs)
    np.testing.assert_allclose(J, ref, rtol=1e-10, atol=1e-12)
    S = m.run(xs)
    eps = 1e-6
    for t in (0, T - 1):
        fd = np.stack([(m.run(xs[t:t + 1], S[t] + eps * e)[1]
                        - m.run(xs[t:t + 1], S[t] - eps * e)[1]) / (2 * eps)
                       for e in np.eye(P + N)], axis=1)
        np.testing.assert_allclose(J[t], fd, rtol=0, atol=1e-8)


@needs_torch
def test_bptt_matches_autograd_through_pytorchs_module():
    m = projected()
    xs = inputs(seed=4)
    G = np.random.default_rng(5).standard_normal((T, P + N))
    g = gf.bptt(m, xs, G, by_lag=True)
    module = torch_module(m)
    s = (torch.zeros(1, 1, P, dtype=torch.float64), torch.zeros(1, 1, N, dtype=torch.float64))
    loss = 0.0
    for t, x in enumerate(torch.tensor(xs)):
        _, s = module(x[None, None], s)
        loss = loss + (torch.cat([s[0][0, 0], s[1][0, 0]]) * torch.tensor(G[t])).sum()
    loss.backward()
    for block, gate in enumerate(TORCH_ORDER):
        rows = slice(block * N, (block + 1) * N)
        np.testing.assert_allclose(g.grads[f"W_{gate}h"], module.weight_hh_l0.grad[rows],
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.grads[f"W_{gate}x"], module.weight_ih_l0.grad[rows],
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.grads[f"b_{gate}"], module.bias_ih_l0.grad[rows],
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.grads["W_hr"], module.weight_hr_l0.grad, rtol=1e-10,
                               atol=1e-12)
    for name, grad in g.grads.items():
        np.testing.assert_allclose(g.grads_by_lag[name].sum(axis=0), grad, rtol=1e-10,
                                   atol=1e-12)
    assert g.grads_by_lag["W_hr"].shape == (T, P, N)


@needs_torch
def test_decay_and_sensitivities_match_autograd():
    m = projected(gain=2.5)
    xs = inputs(steps=12, seed=6)
    r = gf.decay(m, xs)
    J = torch_jacobians(m, xs)
    step, S = torch_step(m), torch_states(m, xs)
    prod = np.eye(P + N)
    for k in range(1, 13):
        prod = prod @ J[12 - k]
        assert r.log10_norm2[k] == pytest.approx(log10_norm(prod), abs=1e-9)
        assert r.log10_norm2_h[k] == pytest.approx(log10_norm(prod[:P, :P]), abs=1e-9)
        assert r.log10_norm2_c[k] == pytest.approx(log10_norm(prod[P:, P:]), abs=1e-9)
        assert r.log10_norm2_output[k] == pytest.approx(log10_norm(prod[:P]), abs=1e-9)
    X = torch.tensor(xs)
    for k in range(12):
        t = 12 - k - 1  # row of the input array

        def h_T(x, t=t):
            s = S[t]
            s = step(s, x)
            for later in X[t + 1:]:
                s = step(s, later)
            return s[:P]

        Jx = torch.autograd.functional.jacobian(h_T, X[t]).numpy()
        assert r.log10_norm2_input[k] == pytest.approx(log10_norm(Jx), abs=1e-9)


@needs_torch
def test_lyapunov_exponents_sum_to_the_mean_log_determinant():
    m = projected(gain=1.2)
    xs = inputs(steps=40, seed=7)
    exponents = gf.lyapunov(m, xs).exponents
    J = torch_jacobians(m, xs)
    assert len(exponents) == P + N
    assert exponents.sum() == pytest.approx(np.mean(np.log(np.abs(np.linalg.det(J)))),
                                            rel=1e-9, abs=1e-9)


def numpy_jacobians(model, xs):
    """``(J_t, B_t) = (ds_t/ds_{t-1}, ds_t/dx_t)`` of the projected LSTM, plain numpy."""
    w, p, n = model.weights, model.proj_size, model.hidden

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    s = np.zeros(p + n)
    out = []
    for x in xs:
        h, c = s[:p], s[p:]
        a = {g: w[f"W_{g}h"] @ h + w[f"W_{g}x"] @ x + w[f"b_{g}"] for g in "fioc"}
        F, I_, O, Ct = sig(a["f"]), sig(a["i"]), sig(a["o"]), np.tanh(a["c"])
        C = F * c + I_ * Ct
        tC = np.tanh(C)
        k = O * (1 - tC ** 2)
        blocks = []
        for kind in "hx":
            dC = ((c * F * (1 - F))[:, None] * w[f"W_f{kind}"]
                  + (Ct * I_ * (1 - I_))[:, None] * w[f"W_i{kind}"]
                  + (I_ * (1 - Ct ** 2))[:, None] * w[f"W_c{kind}"])
            dM = (tC * O * (1 - O))[:, None] * w[f"W_o{kind}"] + k[:, None] * dC
            blocks.append(np.vstack([w["W_hr"] @ dM, dC]))
        Jh, B = blocks
        J = np.hstack([Jh, np.vstack([w["W_hr"] * (k * F), np.diag(F)])])
        out.append((J, B))
        s = np.concatenate([w["W_hr"] @ (O * tC), C])
    return out


def test_exact_far_below_float64_against_a_renormalised_numpy_product():
    """Output and input sensitivities below 10^-400: a renormalised plain-numpy product."""
    m = projected(gain=0.3)
    weights = dict(m.weights)
    weights["b_f"] = weights["b_f"] - 4.0  # forget quickly: the cell path contracts too
    m = gf.LSTM(weights, proj_size=P)
    steps = 400
    xs = inputs(steps=steps, seed=8)
    steps_ref = numpy_jacobians(m, xs)
    if torch is not None:  # the numpy reference itself, against autograd on a prefix
        np.testing.assert_allclose(np.stack([J for J, _ in steps_ref[:5]]),
                                   torch_jacobians(m, xs[:5]), rtol=1e-10, atol=1e-13)
    r = gf.decay(m, xs)
    R = np.hstack([np.eye(P), np.zeros((P, N))])  # dy_T/ds_T, y_T = h_T
    scale = 0.0
    output, inputs_ = [0.0], []
    for J, B in steps_ref[::-1]:
        inputs_.append(np.log10(np.linalg.norm(R @ B, 2)) + scale)
        R = R @ J
        mantissa, exponent = np.frexp(np.abs(R).max())
        R = np.ldexp(R, -int(exponent))
        scale += exponent * np.log10(2.0)
        output.append(np.log10(np.linalg.norm(R, 2)) + scale)
    assert output[-1] < -400
    np.testing.assert_allclose(r.log10_norm2_output, output, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.log10_norm2_input, inputs_, rtol=0, atol=1e-9)


def test_a_file_with_a_bad_projection_is_named(tmp_path):
    m = projected()
    arrays = {**m.weights, "cell": np.array("lstm"), "proj_size": np.array(2.0)}
    np.savez(tmp_path / "float.npz", **arrays)
    with pytest.raises(GradflowError, match="proj_size must be a 0-d integer array"):
        gf.load(tmp_path / "float.npz")
    np.savez(tmp_path / "plain.npz", **{**arrays, "proj_size": np.array(0)})
    with pytest.raises(GradflowError, match="unknown weight 'W_hr' for a LSTM cell"):
        gf.load(tmp_path / "plain.npz")
    arrays = {**gf.GRU.init(N, D).weights, "cell": np.array("gru"), "proj_size": np.array(2)}
    np.savez(tmp_path / "gru.npz", **arrays)
    with pytest.raises(GradflowError, match="proj_size' does not apply to a GRU cell"):
        gf.load(tmp_path / "gru.npz")


def test_sensitivities_of_a_wide_projection_against_numpy_svds():
    """p = 30 output rows, above the exact-solve size: the warm-started norms of the rows."""
    m = projected(hidden=40, proj=30, inputs=20, gain=1.2, seed=3)
    xs = inputs(steps=50, seed=9, width=20)
    r = gf.decay(m, xs)
    R = np.hstack([np.eye(30), np.zeros((30, 40))])
    output, inputs_ = [np.log10(np.linalg.norm(R, 2))], []
    for J, B in numpy_jacobians(m, xs)[::-1]:
        inputs_.append(np.log10(np.linalg.norm(R @ B, 2)))
        R = R @ J
        output.append(np.log10(np.linalg.norm(R, 2)))
    np.testing.assert_allclose(r.log10_norm2_output, output, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.log10_norm2_input, inputs_, rtol=0, atol=1e-9)
