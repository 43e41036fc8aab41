"""Output and input sensitivities against PyTorch autograd through PyTorch's own cells.

The reference runs the imported network step by step with ``torch.nn.*Cell`` modules holding
the same weights, keeps every state tensor, and asks autograd for the gradient of each entry
of y_T (the top layer's h_n) with respect to every state and every input.
"""

import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis.sensitivity import sensitivities, state_log10_norms

torch = pytest.importorskip("torch")

from torch_refs import reference, torch_module  # noqa: E402


@pytest.mark.parametrize("kind, layers, bidirectional, T", [
    ("rnn-tanh", 1, False, 25), ("lstm", 1, False, 25), ("gru", 1, False, 25),
    ("rnn-relu", 2, False, 25), ("lstm", 2, False, 200), ("gru", 2, True, 200),
    ("lstm", 3, True, 25), ("rnn-tanh", 3, False, 25),
])
def test_sensitivities_match_autograd(kind, layers, bidirectional, T):
    m = torch_module(kind, layers, bidirectional, seed=layers)
    xs = np.random.default_rng(3).standard_normal((T, 3))
    model = gf.network_from_torch(m) if layers > 1 or bidirectional else gf.from_torch(m)
    got = sensitivities(model, xs)
    out, inp = reference(kind, m, xs)
    np.testing.assert_allclose(got.output, out, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.input, inp, rtol=0, atol=1e-9)


@pytest.mark.parametrize("kind, layers, bidirectional", [
    ("lstm", 2, False), ("gru", 3, False), ("rnn-tanh", 2, True),
])
def test_each_layers_block_matches_autograd(kind, layers, bidirectional):
    """``output_layers``: what y_T sees of each layer's own states (both directions)."""
    m = torch_module(kind, layers, bidirectional, seed=7)
    xs = np.random.default_rng(8).standard_normal((15, 3))
    net = gf.network_from_torch(m)
    got = sensitivities(net, xs)
    _, _, per_layer = reference(kind, m, xs, per_layer=True)
    assert got.output_layers.shape == per_layer.shape == (layers, 16)
    np.testing.assert_array_equal(np.isfinite(got.output_layers), np.isfinite(per_layer))
    finite = np.isfinite(per_layer)
    np.testing.assert_allclose(got.output_layers[finite], per_layer[finite], rtol=0,
                               atol=1e-9)
    lean = sensitivities(net, xs, layers=False)  # the training Monitor's: the layers left out
    assert lean.output_layers is None
    np.testing.assert_array_equal(lean.output, got.output)
    np.testing.assert_array_equal(lean.input, got.input)


def test_a_cell_and_its_one_layer_network_agree():
    m = torch_module("lstm", 1, False, seed=5)
    xs = np.random.default_rng(4).standard_normal((30, 3))
    cell = sensitivities(gf.from_torch(m), xs)
    net = sensitivities(gf.Network([(gf.from_torch(m),)]), xs)
    np.testing.assert_allclose(cell.output, net.output, atol=1e-12)
    np.testing.assert_allclose(cell.input, net.input, atol=1e-12)
    np.testing.assert_allclose(net.output_layers[0], cell.output, atol=1e-12)
    assert cell.output_c is not None and np.all(cell.output_c <= cell.output + 1e-12)


def test_exact_far_below_float64():
    """A contracting 2-layer network: sensitivity below 10^-400, against a renormalised
    product of autograd-free reference Jacobians (plain numpy, one layer at a time)."""
    h, d, T = 3, 2, 700
    rng = np.random.default_rng(0)
    W = [0.2 * rng.standard_normal((h, h)) for _ in range(2)]
    U = [rng.standard_normal((h, d)), rng.standard_normal((h, h))]
    b = [0.1 * rng.standard_normal(h) for _ in range(2)]
    cells = [gf.RNN({"W_h": W[i], "W_x": U[i], "b_h": b[i]}) for i in range(2)]
    net = gf.Network([(cells[0],), (cells[1],)])
    xs = rng.standard_normal((T, d))
    got = sensitivities(net, xs)
    # reference: the combined state (h1, h2); J_t = d(h1_t, h2_t)/d(h1_{t-1}, h2_{t-1})
    h1, h2 = np.zeros(h), np.zeros(h)
    Js, Bs = [], []
    for t in range(T):
        a1 = W[0] @ h1 + U[0] @ xs[t] + b[0]
        n1 = np.tanh(a1)
        a2 = W[1] @ h2 + U[1] @ n1 + b[1]
        n2 = np.tanh(a2)
        D1, D2 = np.diag(1 - n1 ** 2), np.diag(1 - n2 ** 2)
        J = np.block([[D1 @ W[0], np.zeros((h, h))], [D2 @ U[1] @ D1 @ W[0], D2 @ W[1]]])
        B = np.vstack([D1 @ U[0], D2 @ U[1] @ D1 @ U[0]])
        Js.append(J)
        Bs.append(B)
        h1, h2 = n1, n2
    state = [0.0]  # the whole state's product ds_T/ds_{T-k}, renormalised
    P, p_scale = np.eye(2 * h), 0.0
    for J in Js[::-1]:
        P = P @ J
        peak = np.abs(P).max()
        P, p_scale = P / peak, p_scale + np.log10(peak)
        state.append(np.log10(np.linalg.norm(P, 2)) + p_scale)
    np.testing.assert_allclose(state_log10_norms(net, xs), state, rtol=0, atol=1e-9)
    R = np.hstack([np.zeros((h, h)), np.eye(h)])
    scale = 0.0
    out, inp = [np.log10(np.linalg.norm(R, 2))], []
    for t in range(T - 1, -1, -1):
        inp.append(np.log10(np.linalg.norm(R @ Bs[t], 2)) + scale)
        R = R @ Js[t]
        peak = np.abs(R).max()
        R /= peak
        scale += np.log10(peak)
        out.append(np.log10(np.linalg.norm(R, 2)) + scale)
    assert out[-1] < -400
    np.testing.assert_allclose(got.output, out, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.input, inp, rtol=0, atol=1e-9)
