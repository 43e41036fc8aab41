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

CELLS = {"rnn-tanh": torch.nn.RNNCell, "rnn-relu": torch.nn.RNNCell,
         "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
MODULES = {"rnn-tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
           "rnn-relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
           "lstm": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {})}


def torch_module(kind, layers, bidirectional, seed=0, inputs=3, hidden=4, gain=1.0):
    cls, kwargs = MODULES[kind]
    torch.manual_seed(seed)
    m = cls(inputs, hidden, num_layers=layers, bidirectional=bidirectional, **kwargs).double()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("weight_hh"):
                p.mul_(gain)
    return m


def torch_cell(kind, m, layer, reverse):
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    state = {k[: -len(sfx)]: v for k, v in m.state_dict().items() if k.endswith(sfx)}
    kwargs = {"nonlinearity": m.nonlinearity} if kind.startswith("rnn") else {}
    cell = CELLS[kind](state["weight_ih"].shape[1], m.hidden_size, **kwargs).double()
    cell.load_state_dict(state)
    return cell


def reference(kind, m, xs):
    """(||dy/ds|| by lag over all cells' states, ||dy/dx|| by lag), from autograd."""
    T = xs.shape[0]
    D = 2 if m.bidirectional else 1
    x = torch.tensor(xs, requires_grad=True)
    below = [x[t] for t in range(T)]
    states = {}  # (layer, direction) -> list of the state tensors after own step 0..T
    finals = []
    for layer in range(m.num_layers):
        outs = [[None] * T for _ in range(D)]
        for j in range(D):
            cell = torch_cell(kind, m, layer, j == 1)
            order = range(T) if j == 0 else range(T - 1, -1, -1)
            n = m.hidden_size
            width = 2 * n if kind == "lstm" else n
            s = torch.zeros(width, dtype=torch.float64, requires_grad=True)
            seq = [s]
            for t in order:
                # ``carried`` is the state as the cell's own next step reads it: its gradient
                # is the derivative through the cell's recurrence alone
                carried = s * 1.0
                seq[-1] = carried
                if kind == "lstm":
                    h, c = cell(below[t][None], (carried[None, :n], carried[None, n:]))
                    s = torch.cat([h[0], c[0]])
                else:
                    s = cell(below[t][None], carried[None])[0]
                seq.append(s)
                h = s[:n]
                outs[j][t] = h
            final = s * 1.0  # what y reads (top layer); the layer above reads s itself
            seq[-1] = final
            states[(layer, j)] = seq
            if layer == m.num_layers - 1:
                finals.append(final[:n])
        below = [torch.cat([outs[j][t] for j in range(D)]) for t in range(T)]
    y = torch.cat(finals)
    every = [s for seq in states.values() for s in seq]
    state_rows = {key: np.zeros((y.shape[0], T + 1, seq[0].shape[0]))
                  for key, seq in states.items()}
    input_rows = np.zeros((y.shape[0], T, xs.shape[1]))
    for i in range(y.shape[0]):
        grads = torch.autograd.grad(y[i], every + [x], retain_graph=True, allow_unused=True)
        at = 0
        for key in states:
            for step in range(T + 1):
                g = grads[at]
                at += 1
                if g is not None:
                    state_rows[key][i, step] = g.numpy()
        input_rows[i] = grads[-1].numpy()
    # lag k: forward cells at own step T-k, reverse cells at own step k
    output = []
    for k in range(T + 1):
        blocks = [state_rows[(layer, j)][:, T - k if j == 0 else k]
                  for layer in range(m.num_layers) for j in range(D)]
        output.append(np.linalg.norm(np.concatenate(blocks, axis=1), 2))
    inputs = [np.linalg.norm(input_rows[:, T - 1 - k], 2) for k in range(T)]
    return np.log10(output), np.log10(inputs)


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


def test_a_cell_and_its_one_layer_network_agree():
    m = torch_module("lstm", 1, False, seed=5)
    xs = np.random.default_rng(4).standard_normal((30, 3))
    cell = sensitivities(gf.from_torch(m), xs)
    net = sensitivities(gf.Network([(gf.from_torch(m),)]), xs)
    np.testing.assert_allclose(cell.output, net.output, atol=1e-12)
    np.testing.assert_allclose(cell.input, net.input, atol=1e-12)
    np.testing.assert_allclose(net.output_layers[0], net.output, atol=1e-12)
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
