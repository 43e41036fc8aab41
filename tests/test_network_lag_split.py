"""The split by lag of a network's gradients, for every cell, without PyTorch.

The reference is built from its definition with the public API, one loss term and one step at
a time: the term's state gradients of every cell (``gf.bptt`` of the network with only that
row of ``grad_out``), and each step's own weight gradient for that adjoint (``gf.bptt`` of the
cell on the one-step sequence from the step's start state).  The contribution of term t at a
cell's step k goes to lag ``|t - k|``, k the input time the step reads.
"""

import numpy as np
import pytest

import gradflow as gf
from gradflow.cells.formats import weight_key


def _cells(kind, d, n, seed):
    make = {
        "rnn-relu": lambda i, s: gf.RNN.init(n, i, activation="relu", gain=1.1, seed=s),
        "rnn-leaky": lambda i, s: gf.RNN.init(n, i, leak=0.4, gain=1.3, seed=s),
        "lstm": lambda i, s: gf.LSTM.init(n, i, gain=1.2, seed=s),
        "lstm-proj": lambda i, s: gf.LSTM.init(n, i, proj_size=3, gain=1.2, seed=s),
        "gru-seed": lambda i, s: gf.GRU.init(n, i, variant="seed", gain=1.2, seed=s),
        "gru-reset_after": lambda i, s: gf.GRU.init(n, i, variant="reset_after", gain=1.2,
                                                    seed=s),
    }[kind]
    return make, (3 if kind == "lstm-proj" else n)


def _network(kind, layers, bidirectional, d=2, n=4, seed=0):
    make, out = _cells(kind, d, n, seed)
    D = 2 if bidirectional else 1
    stack, width = [], d
    for layer in range(layers):
        stack.append(tuple(make(width, seed + 10 * layer + j) for j in range(D)))
        width = D * out
    return gf.Network(stack)


def _reference(net, xs, grad_out):
    T = xs.shape[0]
    runs = net.layer_trajectories(xs)
    keys = list(net.state_slices())
    cells = dict(zip(keys, net.cells, strict=True))
    split = {weight_key(layer, direction, name): np.zeros((T,) + np.shape(w))
             for (layer, direction), c in cells.items() for name, w in c.weights.items()}
    for t in range(T):
        if not grad_out[t].any():
            continue
        term = np.zeros_like(grad_out)
        term[t] = grad_out[t]
        state_grads = gf.bptt(net, xs, term).state_grads
        for key in keys:
            c, (own, S) = cells[key], runs[key]
            delta = state_grads[:, net.state_slices()[key]]
            for k in range(1, T + 1):
                time = k if key[1] == "forward" else T + 1 - k
                one = gf.bptt(c, own[k - 1:k], delta[k][None], s0=S[k - 1])
                for name, g in one.grads.items():
                    split[weight_key(*key, name)][abs(t + 1 - time)] += g
    return split


@pytest.mark.parametrize("kind, layers, bidirectional", [
    ("rnn-relu", 2, True), ("rnn-leaky", 3, False), ("lstm", 2, True), ("lstm-proj", 2, False),
    ("gru-seed", 2, True), ("gru-reset_after", 2, False),
])
def test_split_by_lag_matches_its_definition(kind, layers, bidirectional):
    net = _network(kind, layers, bidirectional)
    T = 7
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((T, 2))
    grad_out = rng.standard_normal((T, net.output_size))
    grad_out[3] = 0.0  # a step without a loss term
    r = gf.bptt(net, xs, grad_out, by_lag=True)
    ref = _reference(net, xs, grad_out)
    assert set(r.grads_by_lag) == set(ref)
    for name, expected in ref.items():
        np.testing.assert_allclose(r.grads_by_lag[name], expected, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(r.grads_by_lag[name].sum(axis=0), r.grads[name], rtol=1e-10,
                                   atol=1e-13)


def test_a_loss_on_h_n_alone_and_no_loss_at_all():
    net = _network("gru-seed", 2, True)
    T = 6
    xs = np.random.default_rng(2).standard_normal((T, 2))
    grad_out = np.zeros((T, net.output_size))
    r0 = gf.bptt(net, xs, grad_out, by_lag=True)
    assert all(not g.any() for g in r0.grads_by_lag.values())
    grad_out[T - 1, :4] = 1.0  # forward h_n
    grad_out[0, 4:] = -0.5  # reverse h_n
    r = gf.bptt(net, xs, grad_out, by_lag=True)
    ref = _reference(net, xs, grad_out)
    for name, expected in ref.items():
        np.testing.assert_allclose(r.grads_by_lag[name], expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn-relu", "rnn-leaky", "lstm", "lstm-proj", "gru-seed",
                                  "gru-reset_after"])
def test_a_cells_split_is_the_same_by_both_kernels(kind, monkeypatch):
    """All terms together (BLAS) against the term-by-term kernel used for very long runs."""
    from gradflow.analysis import bptt as bptt_module

    cell = _network(kind, 1, False).cells[0]
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((3, 12, 2))
    G = rng.standard_normal((3, 12, cell.state_size))
    G[:, 5] = 0.0
    together = gf.bptt(cell, xs, G, by_lag=True)
    monkeypatch.setattr(bptt_module, "TOGETHER_BYTES", 0)
    monkeypatch.setattr(bptt_module, "split_bytes", lambda *a: 2 ** 62)  # too large together
    calls = []
    monkeypatch.setattr(bptt_module.Trajectories, "_split_together",
                        lambda self, *a: calls.append(a))
    one_by_one = gf.bptt(cell, xs, G, by_lag=True)
    assert not calls  # the term-by-term kernel ran
    for name, g in together.grads_by_lag.items():
        np.testing.assert_allclose(g, one_by_one.grads_by_lag[name], rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(g.sum(axis=0), together.grads[name], rtol=1e-10, atol=1e-13)
