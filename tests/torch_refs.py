"""PyTorch references shared by the network tests: modules, their cells, autograd sensitivities.

Import after ``pytest.importorskip("torch")``.  :func:`reference` runs a module's layers step
by step with ``torch.nn.*Cell`` modules holding the same weights, keeps every state tensor, and
asks autograd for the gradient of each entry of y_T (the top layer's h_n) with respect to every
state and every input.
"""

import numpy as np
import torch

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


def reference(kind, m, xs, head=None, per_layer=False):
    """(||dy/ds|| by lag over all cells' states, ||dy/dx|| by lag), from autograd.

    ``head`` (a torch ``nn.Linear``): the same for the logits ``head(y)``.  ``per_layer``:
    a third entry, (layers, T + 1), ||dy/ds|| by lag over each layer's states alone.
    """
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
    if head is not None:
        y = head(y)
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
    curves = [output, inputs]
    if per_layer:
        curves.append([[np.linalg.norm(np.concatenate(
            [state_rows[(layer, j)][:, T - k if j == 0 else k] for j in range(D)], axis=1), 2)
            for k in range(T + 1)] for layer in range(m.num_layers)])
    with np.errstate(divide="ignore"):  # an exactly zero norm (dead relu units) is -inf
        return tuple(np.log10(curve) for curve in curves)
