"""What the loss sees: the sensitivity of the model's output y_T to earlier states and inputs.

For a cell, y_T = h_T; for a network, y_T is the top layer's final hidden state of each
direction, concatenated (PyTorch's ``h_n`` of the top layer).  With k the lag,

* ``log10_norm2_output[k] = log10 ||dy_T/ds_{T-k}||_2``, k = 0..T, s the model's full state
  between inputs T-k and T-k+1: for a network every layer's forward cells after step T-k and
  every reverse cell after it has read inputs T..T-k+1.  Each cell's part is the derivative
  through that cell's own recurrence (the state it carries to its next step); for a
  unidirectional stack this is exactly the Jacobian of y_T with respect to the state the
  network holds between steps, as for a cell;
* ``log10_norm2_input[k] = log10 ||dy_T/dx_{T-k}||_2``, k = 0..T-1, x_{T-k} the input of step
  T-k (row T-k-1 of the input array): whether a dependency k steps back can be learned.

Both carry p = dim(y) rows back (n for a cell, not the m of the full-state product), kept as
mantissa and power-of-two exponent, so they are exact far beyond float64's range.  A network
also gives each layer's own block of ``dy_T/ds_{T-k}``.
"""

from dataclasses import dataclass

import numpy as np

from ..cells.network import DIRECTION_NAMES, Network
from ..io.arrays import as_inputs, as_state
from ..kernels.sensitivity import carry_rows, gram_log2_norm, gram_log2_series
from ..resources import require_memory, scratch

__all__ = ["Sensitivities", "sensitivities", "state_log10_norms"]

_LOG10_2 = np.log10(2.0)
_NONE_F = np.empty(0)
_NONE_I = np.empty(0, dtype=np.int64)
_NONE_3 = np.empty((0, 1, 1))
_NONE_2 = np.empty((0, 1))


def _log10(log2_values):
    with np.errstate(invalid="ignore"):
        return np.asarray(log2_values, dtype=float) * _LOG10_2


@dataclass(frozen=True)
class Sensitivities:
    """Output and input sensitivities of one sequence, lag first (k = 0 is the last step).

    Attributes
    ----------
    output : ndarray, shape (T + 1,)
        ``log10 ||dy_T/ds_{T-k}||_2`` (``-inf`` for an exactly zero block).
    input : ndarray, shape (T,)
        ``log10 ||dy_T/dx_{T-k}||_2``.
    output_c : ndarray, shape (T + 1,), or None
        An LSTM cell's block ``||dy_T/dc_{T-k}||``.
    output_layers : ndarray, shape (L, T + 1), or None
        A network's per-layer blocks: the part of ``dy_T/ds_{T-k}`` on layer l's state.
    output_directions : ndarray, shape (2, T + 1), or None
        A bidirectional network's output in its two parts, each at lags of its own time
        (without a readout): row 0 ``log10 ||dh_n^fwd/ds_{T-k}||``, the forward part of y_T
        against the whole state k steps back in time; row 1 ``log10 ||dh_n^rev/ds_k||``, the
        reverse part against the whole state k steps before the reverse cells' end (the
        state between inputs k and k + 1).  Each decays along its own direction where the
        whole ``output`` (their combination) is V-shaped.
    """

    output: np.ndarray
    input: np.ndarray
    output_c: np.ndarray | None = None
    output_layers: np.ndarray | None = None
    output_directions: np.ndarray | None = None


def _output_rows(width, readout):
    """``dz/dy_T``: the identity on y_T (width q), or a readout's weight (p, q)."""
    return np.eye(width) if readout is None else readout.weight


def _cell(model, xs, S, readout=None):
    T = xs.shape[0]
    n, m = model.output_size, model.state_size
    top = _output_rows(n, readout)
    require_memory(8 * (3 * top.shape[0] * m + 4 * (T + 1)),
                   f"the output sensitivities of {model.describe()}")
    R = np.zeros((top.shape[0], m))
    R[:, :n] = top
    state = np.empty(T + 1)
    blocks = np.empty((1, T + 1)) if m > n else _NONE_2  # the c block alone
    inputs = np.empty(T)
    carry_rows(*model.kernel_args(), xs, S, R, np.zeros(1, dtype=np.int64), _NONE_3, _NONE_I,
               state, _NONE_3, _NONE_I, blocks, inputs, _NONE_3, _NONE_I, _NONE_I)
    return Sensitivities(
        output=_log10(state[::-1]),
        input=_log10(inputs[::-1]),
        output_c=_log10(blocks[0, ::-1]) if m > n else None,
    )


def _aligned_sum(parts, copy=True):
    """Sum of ``(mantissa, exponent)`` terms; exponents per leading index; returns (sum, exp).

    The sum is a new array (its callers' norm kernels may rescale it in place); with
    ``copy=False`` a single term comes back as it is, for callers that only read it.
    """
    if len(parts) == 1:
        mantissa, e = parts[0]
        if not copy:
            return mantissa, e
        return np.array(mantissa, dtype=float, order="C"), np.array(e)
    exps = np.max(np.stack([e for _, e in parts]), axis=0)
    total = _scaled_into(*parts[0], exps, np.empty(np.shape(parts[0][0])))
    scaled = None
    for mantissa, e in parts[1:]:
        if np.array_equal(e, exps):
            total += mantissa
            continue
        if scaled is None:
            scaled = scratch("sensitivities.aligned", total.shape)
        total += _scaled_into(mantissa, e, exps, scaled)
    return total, exps


def _scaled_into(mantissa, e, exps, out):
    """``out = mantissa * 2^(e - exps)`` (per leading index), exactly; returns ``out``.

    Two exact power-of-two factors (the first keeps the product normal): the same correctly
    rounded value as np.ldexp, at the speed of a multiplication.
    """
    shift = np.maximum(e - exps, -1100).reshape((-1,) + (1,) * (mantissa.ndim - 1))
    first = np.maximum(shift, -1000)
    np.multiply(mantissa, np.exp2(first.astype(float)), out=out)
    if (shift < first).any():
        out *= np.exp2((shift - first).astype(float))
    return out


def _gram_log2(gram, exponent):
    """``log2`` of the spectral norm from Gram matrices (leading axis) and their exponents."""
    out = np.empty(gram.shape[0])
    gram_log2_series(np.ascontiguousarray(gram, dtype=float),
                     np.ascontiguousarray(exponent, dtype=np.int64), out)
    return out


def _network(net, xs, s0, of_state=False, readout=None, layers=True):
    """The network's sensitivities; ``of_state``: rows of the whole final state, not y_T.

    ``layers=False`` leaves ``output_layers`` out (None): one norm series a layer fewer.
    """
    T = xs.shape[0]
    D, n = net.directions, net.output_size // net.directions
    slices = net.state_slices()
    top = _output_rows(net.output_size, readout)
    p = net.state_size if of_state else top.shape[0]
    cells = dict(zip(slices, net.cells, strict=True))
    require_memory(8 * len(cells) * (T + 1) * p * (p + D * n + net.inputs + 2),
                   f"the output sensitivities of {net.describe()} over {T} steps")
    runs = net.layer_trajectories(xs, s0)
    grams, rows_below = {}, {}
    injected = None
    for layer in range(net.num_layers - 1, -1, -1):
        for j, direction in enumerate(DIRECTION_NAMES[:D]):
            c = cells[(layer, direction)]
            own, S = runs[(layer, direction)]
            R = np.zeros((p, c.state_size))
            if of_state:
                part = slices[(layer, direction)]
                R[np.arange(part.start, part.stop), np.arange(c.state_size)] = 1.0
            elif layer == net.num_layers - 1:
                R[:, :n] = top[:, j * n:(j + 1) * n]
            gram = scratch(("sensitivities.gram", layer, direction), (T + 1, p, p))
            gram_exp = np.empty(T + 1, dtype=np.int64)
            inject, inject_exp = (_NONE_3, _NONE_I) if injected is None else injected[j]
            if layer == 0 and D == 1:  # the input's norms straight from the only cell's rows
                input_log2, rows, rows_exp = np.empty(T), _NONE_3, _NONE_I
            else:
                input_log2 = _NONE_F
                rows = scratch(("sensitivities.rows", layer, direction), (T, p, own.shape[1]))
                rows_exp = np.empty(T, dtype=np.int64)
            carry_rows(*c.kernel_args(), own, S, R, np.zeros(1, dtype=np.int64), inject,
                       inject_exp, _NONE_F, gram, gram_exp, _NONE_2, input_log2, rows,
                       rows_exp, _NONE_I)
            grams[(layer, direction)] = (gram, gram_exp)
            rows_below[direction] = (rows, rows_exp)
        if layer == 0 and D == 1:
            break
        # what this layer's cells read, in original time: rows on the hidden states below
        by_time = []
        for direction in DIRECTION_NAMES[:D]:
            rows, rows_exp = rows_below[direction]
            if direction == "reverse":
                rows, rows_exp = rows[::-1], rows_exp[::-1]
            by_time.append((rows, rows_exp))
        total, total_exp = _aligned_sum(by_time, copy=False)
        if layer == 0:
            input_log2 = np.array([gram_log2_norm(np.ascontiguousarray(total[t]),
                                                  total_exp[t]) for t in range(T)])
            break
        injected = []
        for j, direction in enumerate(DIRECTION_NAMES[:D]):
            part = np.ascontiguousarray(total[:, :, j * n:(j + 1) * n])
            exps = total_exp
            if direction == "reverse":
                part, exps = np.ascontiguousarray(part[::-1]), exps[::-1].copy()
            injected.append((part, np.ascontiguousarray(exps)))
    # the full state between inputs T-k and T-k+1: forward cells at own step T-k, reverse
    # cells at own step k; in lag order (k = 0..T)
    lag_grams = {}
    for (layer, direction), (gram, exp) in grams.items():
        if direction == "forward":
            lag_grams[(layer, direction)] = (gram[::-1], exp[::-1])
        else:
            lag_grams[(layer, direction)] = (gram, exp)
    total, exp = _aligned_sum(list(lag_grams.values()))
    output = _log10(_gram_log2(total, exp))
    per_layer = None
    if layers and len(lag_grams) == 1:
        per_layer = output[None].copy()  # one layer, one direction: its block is the state
    elif layers:
        per_layer = _log10(np.stack([
            _gram_log2(*_aligned_sum([lag_grams[(layer, d)] for d in DIRECTION_NAMES[:D]]))
            for layer in range(net.num_layers)]))
    directions = None
    if D == 2 and readout is None and not of_state:
        # the Gram of the forward rows of y_T (its first n) and of the reverse rows
        forward = _log10(_gram_log2(np.ascontiguousarray(total[:, :n, :n]), exp))
        reverse = _log10(_gram_log2(np.ascontiguousarray(total[:, n:, n:]), exp))
        directions = np.stack([forward, reverse[::-1]])
    return Sensitivities(output=output, input=_log10(input_log2[::-1]),
                         output_layers=per_layer, output_directions=directions)


def state_log10_norms(network, xs, s0=None):
    """``log10 ||ds_T/ds_{T-k}||_2`` of a unidirectional network's whole state, k = 0..T.

    The state is every layer's cell state; the product is the Jacobian of the state the
    network holds after step T with respect to the one it held after step T-k.
    """
    xs = as_inputs(xs, network.inputs, batch=False)
    return _network(network, xs, as_state(s0, network.state_size), of_state=True).output


def sensitivities(model, xs, s0=None, *, states=None, readout=None, layers=True):
    """Output and input sensitivities of a cell or network over one sequence.

    Parameters
    ----------
    model : Cell or Network
    xs : ndarray, shape (T, d)
    s0 : ndarray, shape (m,), optional
        Initial state (zeros by default).
    states : ndarray, shape (T + 1, m), optional
        A cell's trajectory over ``xs`` from ``s0``, when the caller has it already.
    readout : Readout, optional
        The sensitivities of the logits ``z = W_out y_T + b_out`` instead of y_T (checked
        against the model by the caller: :meth:`~gradflow.cells.readout.Readout.check`).
    layers : bool
        A network's ``output_layers`` (one norm series a layer); False leaves them None.

    Returns
    -------
    Sensitivities
    """
    xs = as_inputs(xs, model.inputs, batch=False)
    if isinstance(model, Network):
        return _network(model, xs, as_state(s0, model.state_size), readout=readout,
                        layers=layers)
    S = model.run(xs, s0) if states is None else states
    return _cell(model, xs, S, readout)
