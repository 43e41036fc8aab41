"""Backpropagation through time for networks, and the split of their gradients by time lag.

The loss is given by its gradient with respect to the network's outputs, as PyTorch's
``output`` tensor holds them: ``grad_out[t - 1] = dL/d output_t`` (t = 1..T), shape
(T, D p), the top layer's hidden states at step t, directions concatenated (forward first;
the reverse direction's entry of step t is its state after it has read inputs T..t).  A loss
on ``h_n`` is the rows ``T`` (forward part) and ``1`` (reverse part); a readout's logits
``z = W_out h_n + b_out`` give ``W_out^T dL/dz`` there.  Each cell runs its own backward
sweep (:mod:`gradflow.kernels.bptt`); the gradient reaching a cell's inputs is the layer
below's ``grad_out``.

**Lags.**  ``grads_by_lag[name][l]`` collects, over every loss term (row t of ``grad_out``)
and every step k of the cell (k the time of the input it reads, in the input array's order),
the contribution with ``|t - k| = l``: for a unidirectional stack ``t - k``, as for a cell.
Each nonzero row of ``grad_out`` is carried back through the whole network on its own, so
the split costs one backward sweep per loss term (a loss on h_n: one or two sweeps).
"""

from types import MappingProxyType

import numpy as np

from ..cells.formats import weight_key
from ..cells.network import DIRECTION_NAMES
from ..errors import GradientOverflowError, named
from ..io.arrays import as_inputs, as_state
from ..kernels import bptt as kernels
from ..resources import require_memory
from ..validation import boolean
from .backprop import BPTTResult, bhn_gate, check_grad_out, readonly, split_by_lag, split_bytes

__all__ = ["network_bptt"]


def _cell_backward(cell, X, S, G):
    """One cell's backward sweeps over a batch (B, T, .): ``(grads, state_grads, input_grads)``.

    The weight gradients (seed names) are summed over the batch.
    """
    args = cell.kernel_args()
    Wh, Wx, b = args[2], args[3], args[4]
    dWh, dWx, db = np.zeros_like(Wh), np.zeros_like(Wx), np.zeros_like(b)
    dbhn = np.zeros(cell.hidden)
    state_grads = np.empty(S.shape)
    input_grads = np.empty(X.shape)
    kernels.batch_backward(*args, bhn_gate(cell), X, S, np.ascontiguousarray(G), dWh, dWx, db,
                           dbhn, state_grads, input_grads)
    return cell.named_gradients(dWh, dWx, db, dbhn), state_grads, input_grads


def _sweep(net, runs, grad_out):
    """One backward sweep of one sequence through every layer.

    Returns ``({(layer, direction): (grads, state_grads in own time)}, dL/dx (T, d))``.
    """
    T = grad_out.shape[0]
    cells = dict(zip(net.state_slices(), net.cells, strict=True))
    per_cell = {}
    below = grad_out
    for layer in range(net.num_layers - 1, -1, -1):
        reaching = 0.0
        for j, direction in enumerate(DIRECTION_NAMES[: net.directions]):
            c = cells[(layer, direction)]
            own, S = runs[(layer, direction)]
            p = c.output_size
            part = below[:, j * p:(j + 1) * p]
            G = np.zeros((T, c.state_size))
            G[:, :p] = part if direction == "forward" else part[::-1]
            grads, state_grads, input_grads = _cell_backward(c, own[None], S[None], G[None])
            per_cell[(layer, direction)] = (grads, state_grads[0])
            reaching = reaching + (input_grads[0] if direction == "forward"
                                   else input_grads[0][::-1])
        below = reaching
    return per_cell, below


def _times(direction, T):
    """The input time (1..T) that each own step 1..T of a cell reads."""
    return np.arange(1, T + 1) if direction == "forward" else np.arange(T, 0, -1)


def _by_lag(net, runs, grad_out, split=split_by_lag):
    """``{(layer, direction): {name: (T,) + shape}}``: each cell's gradients split by lag.

    Every nonzero row of ``grad_out`` is a loss term; all terms go back through the network
    together, one sweep per cell (:func:`gradflow.kernels.lag_split.carry_terms`).  ``split``
    is what each cell computes of its terms (:func:`~.backprop.split_by_lag`, or only the
    per-lag norms: :func:`~.lag_mass.cell_lag_norms`); it returns that and its rows on the
    cell's inputs.
    """
    T = grad_out.shape[0]
    cells = dict(zip(net.state_slices(), net.cells, strict=True))
    terms = np.flatnonzero(np.any(grad_out != 0.0, axis=1))
    P = terms.shape[0]
    require_memory(sum(split_bytes(c, T, P) for c in net.cells),
                   f"the split by lag of the gradients of {net.describe()} over {T} steps")
    out = {}
    D = net.directions
    # the terms' cotangents on the top layer's outputs, in input-array time: (T, P, D p)
    arriving = np.zeros((T, P, grad_out.shape[1]))
    arriving[terms, np.arange(P)] = grad_out[terms]
    for layer in range(net.num_layers - 1, -1, -1):
        below = 0.0
        for j, direction in enumerate(DIRECTION_NAMES[:D]):
            c = cells[(layer, direction)]
            own, S = runs[(layer, direction)]
            p = c.output_size
            part = arriving[:, :, j * p:(j + 1) * p]
            times = _times(direction, T)
            if direction == "reverse":
                part = part[::-1]
            lags = np.abs(terms[None, :] + 1 - times[:, None])
            out[(layer, direction)], rows_in = split(c, own, S, part, lags)
            below = below + (rows_in if direction == "forward" else rows_in[::-1])
        arriving = below
    return out


def _named(net, per_cell):
    """Per-cell mappings under the network file's names ``l{i}.{direction}.{name}``."""
    out = {}
    for layer, direction in net.state_slices():  # the file's order: layer 0 first
        for name, g in per_cell[(layer, direction)].items():
            out[weight_key(layer, direction, name)] = readonly(np.ascontiguousarray(g))
    return MappingProxyType(out)


def _finite(net, result):
    for name, g in {**result.grads, "input gradient": result.input_grads,
                    "state gradient": result.state_grads}.items():
        if not np.isfinite(g).all():
            raise GradientOverflowError(f"{named(net)}the gradient of {name} of {net.describe()} "
                                        "overflows float64; scale grad_out down or shorten "
                                        "the sequence")
    return result


def network_bptt(net, xs, grad_out, s0=None, by_lag=False):
    """Exact gradients of every weight of a network, optionally split by time lag.

    Parameters
    ----------
    net : Network
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs; a batch sums the weight gradients over its sequences.
    grad_out : ndarray, shape (T, D p) or (B, T, D p)
        ``dL/d output_t`` for t = 1..T: the gradient of the loss with respect to the top
        layer's outputs, laid out as PyTorch's ``output`` (see the module's notes).
    s0 : ndarray, shape (m,) or (B, m), optional
        The network's initial state (zeros by default).
    by_lag : bool, optional
        Also split every weight gradient by the lag ``|t - k|`` between the loss term's step
        t and the step k where the weight acts (one backward sweep per nonzero row of
        ``grad_out``, and per lag one sweep of one-step sequences per cell).

    Returns
    -------
    BPTTResult
        ``grads`` and ``grads_by_lag`` keyed ``l{i}.{forward|reverse}.{name}`` as in the
        network file; ``state_grads`` (T + 1, m) the total gradients of the network's state
        laid out as :meth:`~gradflow.Network.run` (each cell's part in its own time order);
        ``input_grads`` (T, d) ``dL/dx_t`` in the input array's order.
    """
    xs = as_inputs(xs, net.inputs)
    batch = xs.ndim == 3
    X = xs if batch else xs[None]
    B, T, _ = X.shape
    p = net.output_size
    G = check_grad_out(grad_out, (B, T, p) if batch else (T, p),
                       expected=f"{(B, T, p) if batch else (T, p)} (dL/d output_t for t = "
                                f"1..T, the top layer's {p} outputs as PyTorch's output)")
    G = G if batch else G[None]
    S0 = as_state(s0, net.state_size, batch=B)
    boolean(by_lag, "by_lag")
    totals, lag_totals, state_grads, input_grads = {}, {}, [], []
    for x, s, g in zip(X, S0, G, strict=True):
        runs = net.layer_trajectories(x, s)
        per_cell, reaching = _sweep(net, runs, g)
        for key, (grads, _) in per_cell.items():
            mine = totals.setdefault(key, {})
            for name, value in grads.items():
                mine[name] = mine.get(name, 0.0) + value
        state_grads.append(np.concatenate([per_cell[key][1] for key in net.state_slices()],
                                          axis=-1))
        input_grads.append(reaching)
        if by_lag:
            for key, split in _by_lag(net, runs, g).items():
                mine = lag_totals.setdefault(key, {})
                for name, value in split.items():
                    mine[name] = mine.get(name, 0.0) + value
    state_grads, input_grads = np.stack(state_grads), np.stack(input_grads)
    result = BPTTResult(
        model=net.describe(), cell=net.cell, grads=_named(net, totals),
        state_grads=readonly(state_grads if batch else state_grads[0]),
        input_grads=readonly(input_grads if batch else input_grads[0]),
        grads_by_lag=_named(net, lag_totals) if by_lag else None)
    return _finite(net, result)
