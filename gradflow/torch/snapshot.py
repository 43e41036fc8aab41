"""A Monitor's snapshot: gradflow's analyses of the batch a PyTorch module last trained on.

From the captured inputs, initial states and output gradients (:mod:`.capture`) and the
module's current weights: the gradient decay (what the output sees, and the inputs' share),
lambda_1 of every cell along its own trajectory, and the exact split by time lag of the real
loss gradient (every layer's weights where the loss reaches the module through its
``output`` and top ``h_n``; the top layer's where it reaches ``c_n`` or a lower ``h_n`` too).
"""

import contextvars
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._threads import available_cores
from ..analysis._json import number, numbers
from ..analysis.bptt import bptt, lag_norms
from ..analysis.clipping import gradient_norm
from ..analysis.decay import BAND_LEVELS, decay
from ..analysis.decay_results import EVIDENCE
from ..analysis.lag_mass import lag_mass
from ..analysis.lyapunov import lyapunov_spectrum
from ..analysis.network_decay import network_decay
from ..cells.network import DIRECTION_NAMES, Network
from ..errors import GradflowError

#: The decay figures a snapshot keeps (median over its sequences).
DECAY_KEYS = ("log10_norm2_output", "log10_norm2_input", "gradient_horizon", "growth_horizon",
              "log10_decay_rate", "decay_factor", "fit_lags", "verdict", *EVIDENCE)

#: The snapshot's numbers that :attr:`Monitor.latest` flattens, with their source.
LATEST_KEYS = ("gradient_horizon", "projected_horizon", "log10_decay_rate", "decay_factor",
               "decay_factor_stderr", "lambda_1", "long_lag_share", "lag_mass_total")


def _cells(model):
    """``[((layer, direction), cell)]`` in the order of the state (and of PyTorch's h_0)."""
    if isinstance(model, Network):
        return [((index, direction), cell) for index, layer in enumerate(model.layers)
                for direction, cell in zip(DIRECTION_NAMES, layer, strict=False)]
    return [((0, "forward"), model)]


def initial_states(model, hx, batch):
    """PyTorch's ``h_0`` (and ``c_0``), each (L D, B, k), as gradflow's states (B, m)."""
    if hx is None:
        return None
    pieces = []
    for index, (_, cell) in enumerate(_cells(model)):
        piece = np.concatenate([part[index] for part in hx], axis=-1)
        if piece.shape != (batch, cell.state_size):
            raise GradflowError(f"Monitor: the initial state of cell {index} has shape "
                                f"{piece.shape}; expected ({batch}, {cell.state_size})")
        pieces.append(piece)
    return np.ascontiguousarray(np.concatenate(pieces, axis=-1))


def _top_cells(model):
    cells = _cells(model)
    top = cells[-1][0][0]
    return [(i, key, cell) for i, (key, cell) in enumerate(cells) if key[0] == top]


def _direct_gradients(model, grads, T, batch):
    """dL/ds_t of each top-layer cell, t = 1..T in its own time order: (B, T, m) each."""
    out = {}
    tops = _top_cells(model)
    for position, (index, key, cell) in enumerate(tops):
        width = cell.output_size
        G = np.zeros((batch, T, cell.state_size))
        if "output" in grads:
            part = grads["output"][:, :, position * width:(position + 1) * width]
            G[:, :, :width] = part if key[1] == "forward" else part[:, ::-1]
        start = 0
        for name in ("h_n", "c_n"):  # the state's blocks in order: h, then c
            if start >= cell.state_size:
                break
            size = width if name == "h_n" else cell.state_size - width
            if name in grads:
                G[:, -1, start:start + size] += grads[name][index]
            start += size
        out[key] = G
    return out


def _output_gradient(model, grads, T, batch):
    """dL/d output_t (B, T, D p) with the top layer's h_n folded in, or None.

    None when the gradient also reached what PyTorch's ``output`` does not hold: ``c_n`` or
    a lower layer's ``h_n``.
    """
    tops = _top_cells(model)
    top_rows = [index for index, _, _ in tops]
    if np.any(grads.get("c_n", 0.0) != 0.0):
        return None
    h_n = grads.get("h_n")
    if h_n is not None and np.any(np.delete(h_n, top_rows, axis=0) != 0.0):
        return None
    width = tops[0][2].output_size
    G = np.zeros((batch, T, len(tops) * width))
    if "output" in grads:
        G += grads["output"]
    if h_n is not None:
        for position, (index, key, _) in enumerate(tops):
            row = -1 if key[1] == "forward" else 0  # the reverse direction ends at step 1
            G[:, row, position * width:(position + 1) * width] += h_n[index]
    return G


def _split(model, xs, s0, trajectories, grads, T, batch):
    """Per-lag mass of the real loss gradient, the cells it covers, and its norm.

    Every layer's weights (:func:`~gradflow.bptt` of the network) when the loss reaches the
    module through ``output`` and the top layer's ``h_n``; else the top layer's alone, from
    its own direct gradients (``c_n`` included).  One sequence's mass comes from
    :func:`~gradflow.analysis.lag_mass.lag_mass`, without building the split.
    """
    cells = _cells(model)
    if isinstance(model, Network):
        G = _output_gradient(model, grads, T, batch)
        if G is not None:
            if batch == 1:
                first = {key: (own[0], S[0]) for key, (own, S) in trajectories.items()}
                mass, norm = lag_mass(model, xs[0], G[0], None if s0 is None else s0[0],
                                      runs=first, with_norm=True)
            else:
                result = bptt(model, xs, G, s0, by_lag=True)
                mass = lag_norms(result.grads_by_lag, T)
                norm = gradient_norm(result.grads.values())
            return mass, [key for key, _ in cells], norm
    direct = _direct_gradients(model, grads, T, batch)
    parts, masses, totals = {}, [], []
    for key, G in direct.items():
        inputs, states = trajectories[key]
        cell = dict(cells)[key]
        if batch == 1:
            mass, norm = lag_mass(cell, inputs[0], G[0], states[0, 0], with_norm=True)
            masses.append(mass)
            totals.append(np.array([norm]))
            continue
        result = bptt(cell, inputs, G, states[:, 0], by_lag=True)
        totals.extend(result.grads.values())
        for name, by_lag in result.grads_by_lag.items():
            parts[f"{key[1]}.{name}"] = by_lag
    mass = lag_norms(masses or parts, T)
    return mass, sorted(direct), gradient_norm(totals)


def _trajectories(model, xs, s0):
    if isinstance(model, Network):
        return model.layer_trajectories(xs, s0)
    return {(0, "forward"): (xs, model.run(xs, s0))}


def _growth_logs(model, trajectories):
    """``log|R_11|`` of every QR step (k = 1, no warm-up) of every cell and sequence.

    With one re-orthonormalisation a step, the warm-up steps of :func:`~gradflow.lyapunov`
    only align the frame by the same operations, so the rows after a warm-up w are exactly
    those of ``lyapunov(..., k=1, warmup=w)``: the logs can be taken before w is known.
    """
    out = {}
    for key, cell in _cells(model):
        inputs, states = trajectories[key]
        out[key] = [lyapunov_spectrum(cell, x, S, 1, 0, 1, 0)[2][:, 0]
                    for x, S in zip(inputs, states, strict=True)]
    return out


def _lambda_1(logs, warmup):
    """lambda_1 of every cell after ``warmup`` steps: the median over the sequences."""
    out = []
    for (layer, direction), per_sequence in logs.items():
        values = [float(np.sum(log_r[warmup:]) / (log_r.size - warmup))
                  for log_r in per_sequence]
        median = float(np.median(values))
        out.append({"layer": layer, "direction": direction,
                    "lambda_1": number(-math.inf if math.isnan(median) else median)})
    return out


def _long_share(mass):
    total = float(np.sum(mass))
    if not math.isfinite(total) or total == 0.0:
        return None
    return float(np.sum(mass[mass.size // 2:]) / total)


def _decay(model, xs, s0, threshold):
    """:func:`~gradflow.decay` of the snapshot's sequences, without what it does not keep.

    A network's per-layer norm series (``log10_norm2_output_layers``) are not among
    :data:`DECAY_KEYS`: left out, they cost nothing (two of the three Gram norm series of a
    2-layer network, about 12% of its decay).
    """
    if isinstance(model, Network):
        return network_decay(model, xs, s0, threshold=threshold, quantiles=BAND_LEVELS,
                             layers=False)
    return decay(model, xs, s0, threshold=threshold)


def _side_by_side(first, second):
    """``(first(), second())``, the second on another thread where a second core is free.

    The decay and the split are independent backward sweeps whose kernels release the GIL;
    ``second`` must not start a Numba thread pool (the split's kernels never do).
    """
    if available_cores() < 2:
        return first(), second()
    with ThreadPoolExecutor(1) as pool:  # in this context: its scratch store (resources.kept)
        pending = pool.submit(contextvars.copy_context().run, second)
        return first(), pending.result()


def take_snapshot(model, arrays, step, *, threshold=1e-3, split=True):
    """The snapshot document after ``step`` steps, from a capture's arrays.

    Parameters
    ----------
    model : Network or Cell
        The module's current weights.
    arrays : dict
        ``xs`` (B, T, d), ``hx`` (PyTorch's initial state parts, or None) and ``grads`` (the
        output gradients), as :meth:`SequenceCapture.arrays` gives them.
    step : int
    threshold : float
    split : bool
        Whether to split the loss gradient by lag (needs the output gradients).

    Returns
    -------
    dict
        ``step``, ``sequences``, ``steps`` (T), ``decay`` (:data:`DECAY_KEYS`, median over
        the sequences), ``lambda_1`` (the top layer's forward cell) and ``lambda_1_cells``,
        ``lag_mass`` and ``long_lag_share`` (None without a split), ``split_weights`` (the
        cells whose weights the split covers: every layer's, or the top layer's when the loss
        also reached ``c_n`` or a lower ``h_n``) and ``split_grad_norm`` (the norm of their
        gradient on these sequences, the lag parts summed).
    """
    xs = arrays["xs"]
    B, T, _ = xs.shape
    s0 = initial_states(model, arrays["hx"], B)

    def beside_the_decay():  # the split (when asked), then what lambda_1 needs
        trajectories = _trajectories(model, xs, s0)
        split_part = (None, [], None)
        if split and arrays["grads"]:
            split_part = _split(model, xs, s0, trajectories, arrays["grads"], T, B)
        return split_part, _growth_logs(model, trajectories)

    result, ((mass, covered, norm), logs) = _side_by_side(
        lambda: _decay(model, xs, s0, threshold), beside_the_decay)
    cells = _lambda_1(logs, result.fit_lags[0])
    top = [c for c in cells if c["direction"] == "forward"][-1]
    return {
        "step": int(step),
        "eval_loss": None,
        "sequences": int(B),
        "steps": int(T),
        "decay": result.to_json(*DECAY_KEYS),
        "lambda_1": top["lambda_1"],
        "lambda_1_warmup": int(result.fit_lags[0]),
        "lambda_1_cells": cells,
        "lag_mass": numbers(mass),
        "long_lag_share": None if mass is None else number(_long_share(mass)),
        "split_weights": [{"layer": layer, "direction": direction}
                          for layer, direction in covered],
        "split_grad_norm": number(norm),
    }


def flat_figures(snapshot):
    """A snapshot's headline numbers as a flat dict of floats (missing ones left out)."""
    figures = {**snapshot["decay"], "lambda_1": snapshot["lambda_1"],
               "long_lag_share": snapshot["long_lag_share"]}
    mass = snapshot["lag_mass"]
    if mass is not None:
        figures["lag_mass_total"] = number(sum(v for v in mass if v is not None))
    return {key: float(figures[key]) for key in LATEST_KEYS if figures.get(key) is not None}
