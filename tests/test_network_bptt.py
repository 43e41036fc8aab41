"""BPTT on networks against PyTorch autograd: total gradients, and their split by lag.

Gradients are compared through the import, which is linear in the weights: for a random
direction V in the module's parameter space, ``<dL/dtheta_torch, V>`` must equal
``sum over names <gf grad, imported(V)>``.  The split by lag is checked against a PyTorch
network in which every step of every cell uses its own copy of the weights: the gradient
of loss term t with respect to the copy of step k is the (t, k) contribution.
"""

import numpy as np
import pytest

import gradflow as gf
from gradflow.cells.formats import weight_key

torch = pytest.importorskip("torch")

from torch_refs import torch_cell, torch_module  # noqa: E402

CASES = [("lstm", 2, False), ("gru", 2, True)]


def run_with_copies(kind, m, xs, copies):
    """PyTorch's output tensor (T, D n), every cell's step k using ``copies[(l, j)][k]``."""
    T = xs.shape[0]
    D = 2 if m.bidirectional else 1
    n = m.hidden_size
    below = [torch.tensor(xs[t]) for t in range(T)]
    for layer in range(m.num_layers):
        outs = [[None] * T for _ in range(D)]
        for j in range(D):
            cell = torch_cell(kind, m, layer, j == 1)
            h = torch.zeros(1, n, dtype=torch.float64)
            c = torch.zeros(1, n, dtype=torch.float64)
            order = range(T) if j == 0 else range(T - 1, -1, -1)
            for t in order:
                params = copies[(layer, j)][t]
                if kind == "lstm":
                    h, c = torch.func.functional_call(cell, params, (below[t][None], (h, c)))
                else:
                    h = torch.func.functional_call(cell, params, (below[t][None], h))
                outs[j][t] = h[0]
        below = [torch.cat([outs[j][t] for j in range(D)]) for t in range(T)]
    return torch.stack(below)


def make_copies(kind, m, T):
    D = 2 if m.bidirectional else 1
    copies = {}
    for layer in range(m.num_layers):
        for j in range(D):
            cell = torch_cell(kind, m, layer, j == 1)
            copies[(layer, j)] = [{k: v.detach().clone().requires_grad_(True)
                                   for k, v in cell.named_parameters()} for _ in range(T)]
    return copies


def torch_key(name, layer, j):
    return f"{name}_l{layer}" + ("_reverse" if j == 1 else "")


def pair(gf_grads, torch_grads, m, seed):
    """``(<torch grads, V>, <gf grads, imported V>)`` for a random direction V."""
    g = torch.Generator().manual_seed(seed)
    V = {k: torch.randn(v.shape, generator=g, dtype=torch.float64)
         for k, v in m.state_dict().items()}
    imported = gf.network_from_torch(V)
    lhs = sum(float((torch_grads[k] * V[k]).sum()) for k in V)
    rhs = 0.0
    for layer, cells in enumerate(imported.layers):
        for direction, c in zip(("forward", "reverse"), cells, strict=False):
            for name in c.weight_names():
                rhs += float(np.sum(gf_grads[weight_key(layer, direction, name)] * c[name]))
    return lhs, rhs


@pytest.mark.parametrize("kind, layers, bidirectional", CASES)
def test_network_gradients_and_their_split_by_lag_match_autograd(kind, layers, bidirectional):
    m = torch_module(kind, layers, bidirectional, seed=6)
    net = gf.network_from_torch(m)
    T, D = 9, 2 if bidirectional else 1
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((T, 3))
    grad_out = rng.standard_normal((T, D * m.hidden_size))
    grad_out[2] = 0.0  # a step without a loss term
    r = gf.bptt(net, xs, grad_out, by_lag=True)
    assert set(r.grads) == {weight_key(i, d, name) for i, cells in enumerate(net.layers)
                            for d, c in zip(("forward", "reverse"), cells, strict=False)
                            for name in c.weight_names()}
    # totals: autograd through the module itself
    x = torch.tensor(xs[:, None], requires_grad=True)  # time-major, as the module runs
    out, _ = m(x)
    (out[:, 0] * torch.tensor(grad_out)).sum().backward()
    grads = {k: p.grad for k, p in m.named_parameters()}
    for seed in range(3):
        lhs, rhs = pair(r.grads, grads, m, seed)
        assert rhs == pytest.approx(lhs, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(r.input_grads, x.grad[:, 0].numpy(), rtol=0, atol=1e-10)
    # the split: every step's own weight copy, one loss term at a time
    copies = make_copies(kind, m, T)
    outputs = run_with_copies(kind, m, xs, copies)
    by_lag = [{k: torch.zeros_like(v) for k, v in m.state_dict().items()} for _ in range(T)]
    for t in range(T):
        term = (outputs[t] * torch.tensor(grad_out[t])).sum()
        leaves = [(key, k, name, p) for key, steps in copies.items()
                  for k, params in enumerate(steps) for name, p in params.items()]
        got = torch.autograd.grad(term, [p for *_, p in leaves], retain_graph=True,
                                  allow_unused=True)
        for ((layer, j), k, name, _), g in zip(leaves, got, strict=True):
            if g is not None:
                by_lag[abs(t - k)][torch_key(name, layer, j)] += g
    for lag in range(T):
        split = {name: r.grads_by_lag[name][lag] for name in r.grads}
        lhs, rhs = pair(split, by_lag[lag], m, seed=lag)
        assert rhs == pytest.approx(lhs, rel=1e-10, abs=1e-12)
    for name, g in r.grads.items():
        np.testing.assert_allclose(r.grads_by_lag[name].sum(axis=0), g, rtol=0, atol=1e-12)


def test_a_loss_on_h_n_through_a_readout_and_its_long_lag_share():
    m = torch_module("gru", 2, True, seed=2)
    net = gf.network_from_torch(m)
    torch.manual_seed(0)
    fc = torch.nn.Linear(8, 3).double()
    T = 30
    xs = np.random.default_rng(1).standard_normal((T, 3))
    target = 1
    out, h_n = m(torch.tensor(xs[:, None]))
    logits = fc(torch.cat([h_n[-2, 0], h_n[-1, 0]]))
    loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([target]))
    dz = torch.autograd.grad(loss, logits, retain_graph=True)[0].numpy()
    loss.backward()
    dh = fc.weight.detach().numpy().T @ dz  # dL/dh_n, (2 n,)
    grad_out = np.zeros((T, 8))
    grad_out[T - 1, :4] = dh[:4]  # the forward h_n is output row T
    grad_out[0, 4:] = dh[4:]  # the reverse h_n is output row 1
    r = gf.bptt(net, xs, grad_out, by_lag=True)
    grads = {k: p.grad for k, p in m.named_parameters()}
    lhs, rhs = pair(r.grads, grads, m, seed=9)
    assert rhs == pytest.approx(lhs, rel=1e-10)
    mass = r.lag_norms()
    assert mass.shape == (T,) and np.all(np.isfinite(mass))
    share = np.sum(mass[10:] ** 2) / np.sum(mass ** 2)
    assert 0.0 < share < 1.0


def test_batch_sums_and_bad_grad_out():
    m = torch_module("lstm", 2, False, seed=1)
    net = gf.network_from_torch(m)
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((3, 7, 3))
    g = rng.standard_normal((3, 7, 4))
    whole = gf.bptt(net, xs, g, by_lag=True)
    parts = [gf.bptt(net, xs[i], g[i], by_lag=True) for i in range(3)]
    for name in whole.grads:
        np.testing.assert_allclose(whole.grads[name], sum(p.grads[name] for p in parts),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(whole.grads_by_lag[name],
                                   sum(p.grads_by_lag[name] for p in parts), rtol=0, atol=1e-12)
    assert whole.state_grads.shape == (3, 8, net.state_size)
    with pytest.raises(gf.GradflowError, match=r"grad_out has shape \(7, 8\); expected \(7, 4\)"):
        gf.bptt(net, xs[0], np.zeros((7, 8)))


@pytest.mark.parametrize("kind, layers, bidirectional", [("gru", 2, True), ("lstm", 1, True),
                                                         ("rnn-tanh", 2, False)])
def test_a_padded_batch_matches_pytorchs_packed_sequences(kind, layers, bidirectional):
    m = torch_module(kind, layers, bidirectional, seed=3)
    net = gf.network_from_torch(m)
    B, T, D = 3, 8, 2 if bidirectional else 1
    lengths = np.array([8, 5, 2])
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((B, T, 3))
    grad_out = rng.standard_normal((B, T, D * m.hidden_size))  # padding rows: ignored
    x = torch.tensor(xs, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x.transpose(0, 1), torch.tensor(lengths),
                                                     enforce_sorted=False)
    out, _ = m(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)  # (T, B, D n)
    mask = torch.tensor((np.arange(T)[None, :] < lengths[:, None]).astype(float))
    (out.transpose(0, 1) * torch.tensor(grad_out) * mask[..., None]).sum().backward()
    grads = {k: p.grad for k, p in m.named_parameters()}
    r = gf.bptt(net, xs, grad_out, lengths=lengths, by_lag=True)
    for seed in range(3):
        lhs, rhs = pair(r.grads, grads, m, seed)
        assert rhs == pytest.approx(lhs, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(r.input_grads, x.grad.numpy(), rtol=0, atol=1e-10)
    assert r.state_grads.shape == (B, T + 1, net.state_size)
    assert not r.state_grads[2, 3:].any() and not r.input_grads[1, 5:].any()
    for name, g in r.grads.items():
        np.testing.assert_allclose(r.grads_by_lag[name].sum(axis=0), g, rtol=1e-10, atol=1e-12)
    with pytest.raises(gf.GradflowError, match="lengths: entry 1 is 9"):
        gf.bptt(net, xs, grad_out, lengths=[8, 9, 2])
    with pytest.raises(gf.GradflowError, match="lengths apply to a batch"):
        gf.bptt(net, xs[0], grad_out[0], lengths=[8])


def test_a_padded_batch_of_a_cell_ignores_the_padding():
    cell = gf.LSTM.init(4, 3, seed=2)
    rng = np.random.default_rng(6)
    xs = rng.standard_normal((2, 6, 3))
    G = rng.standard_normal((2, 6, 8))
    r = gf.bptt(cell, xs, G, lengths=[6, 3])
    xs_padded = xs.copy()
    xs_padded[1, 3:] = 1e3  # padding that would change everything if it were run
    G[1, 3:] = 0.0
    same = gf.bptt(cell, xs_padded, G, lengths=[6, 3])
    cut = gf.bptt(cell, xs[1, :3], G[1, :3])
    full = gf.bptt(cell, xs[0], G[0])
    for name in r.grads:
        np.testing.assert_allclose(r.grads[name], same.grads[name], rtol=0, atol=1e-13)
        np.testing.assert_allclose(r.grads[name], cut.grads[name] + full.grads[name],
                                   rtol=1e-12, atol=1e-13)
