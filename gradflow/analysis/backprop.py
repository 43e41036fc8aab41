"""What every backpropagation through time shares: its result, the check of ``grad_out``.

:mod:`gradflow.analysis.bptt` (cells) and :mod:`gradflow.analysis.network_bptt` (networks)
both return a :class:`BPTTResult`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import GradflowError
from ..kernels import lag_split
from ..resources import scratch
from ._json import number, numbers
from .clipping import gradient_norm

__all__ = ["BPTTResult", "bhn_gate", "carry_split", "check_grad_out", "lag_norms", "readonly",
           "split_by_lag", "split_bytes", "split_kernel_form", "term_rows"]


def readonly(a):
    """``a``, made read-only."""
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class BPTTResult:
    """Gradients of a loss ``L(s_1, ..., s_T)`` with respect to every weight of a cell.

    Attributes
    ----------
    model : str
        The cell, in words.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    grads : mapping of str to ndarray
        ``dL/dW`` for every weight name of the cell (``W_fh``, ``b_hn``, ...), shaped like the
        weight; summed over the sequences of a batch.
    state_grads : ndarray, shape (T + 1, m) or (B, T + 1, m)
        The total gradient ``dL/ds_t`` for t = 0..T: the direct term ``grad_out`` plus all that
        flows back from later steps; ``state_grads[0]`` is the gradient of the initial state.
    input_grads : ndarray, shape (T, d) or (B, T, d)
        ``dL/dx_t`` for the input of every step (what a layer below would receive).
    grads_by_lag : mapping of str to ndarray, or None
        With ``by_lag``: ``grads_by_lag[name][l]`` is the lag-``l`` part of ``grads[name]``,
        shape ``(T,) + weight shape``; summed over the lags it gives ``grads[name]``.
    """

    model: str
    cell: str
    grads: MappingProxyType
    state_grads: np.ndarray
    input_grads: np.ndarray
    grads_by_lag: MappingProxyType | None = None

    @property
    def steps(self):
        """The horizon T."""
        return int(self.input_grads.shape[-2])

    @property
    def lags(self):
        """Lags ``0..T-1`` of ``grads_by_lag``."""
        return np.arange(self.steps)

    @property
    def norm(self):
        """Euclidean norm of the whole weight gradient (all names together)."""
        return gradient_norm(self.grads.values())

    def lag_norms(self, names=None):
        """Per-lag gradient mass: the norm of the lag-``l`` part of the whole gradient.

        Parameters
        ----------
        names : sequence of str, optional
            Only these weights (default: all of them).

        Returns
        -------
        ndarray, shape (T,)
            Entry ``l`` is ``||sum over t of the lag-l terms||`` over the chosen weights: the
            long-term components of Pascanu et al. are the large lags.
        """
        if self.grads_by_lag is None:
            raise GradflowError("lag_norms needs the split by lag; call bptt(..., by_lag=True)")
        names = list(self.grads_by_lag) if names is None else list(names)
        for name in names:
            if name not in self.grads_by_lag:
                raise GradflowError(
                    f"no weight {name!r} in this {self.cell.upper()}; "
                    f"expected one of {', '.join(self.grads_by_lag)}"
                )
        return lag_norms({name: self.grads_by_lag[name] for name in names}, self.steps)

    def to_dict(self):
        """A JSON document: the gradient norms per weight, and per lag where split."""
        doc = {
            "cell": self.cell,
            "model": self.model,
            "steps": self.steps,
            "norm": number(self.norm),
            "norms": {k: number(gradient_norm([v])) for k, v in self.grads.items()},
        }
        if self.grads_by_lag is not None:
            doc["lags"] = [int(k) for k in self.lags]
            doc["lag_norms"] = numbers(self.lag_norms())
        return doc


def lag_norms(grads_by_lag, steps):
    """Per-lag gradient mass of a split by lag: entry ``l`` is the norm of all lag-``l`` parts.

    Parameters
    ----------
    grads_by_lag : mapping of str to ndarray, or sequence of ndarray
        Weight gradients split by lag, lag first (:attr:`BPTTResult.grads_by_lag`), or any
        arrays (T, ...) whose lag-l parts make up the lag-l gradient.
    steps : int
        The horizon T (the number of lags).

    Returns
    -------
    ndarray, shape (T,)
        Scaled by each lag's largest entry, so no square over- or underflows; ``inf`` where
        an entry is infinite, NaN where one is NaN (as :func:`~.clipping.gradient_norm`).
    """
    parts = list(grads_by_lag.values()) if isinstance(grads_by_lag, Mapping) else grads_by_lag
    if not parts:
        return np.zeros(steps)
    flats = [np.reshape(p, (steps, -1)) for p in parts]
    peak = np.max([np.max(np.abs(f), axis=1, initial=0.0) for f in flats], axis=0)
    safe = np.where((peak > 0) & np.isfinite(peak), peak, 1.0)[:, None]
    squares = sum(np.einsum("ij,ij->i", f / safe, f / safe) for f in flats)
    return np.where(peak > 0, safe[:, 0] * np.sqrt(squares), peak)


def term_rows(direct, width):
    """The loss terms of direct cotangents ``direct`` (T, w) as :func:`split_by_lag` takes them.

    Every nonzero row is a term: returns ``(inject, lags)``, inject (T, P, width) holding
    term r's cotangent at its own step and lags (T, P) the lag at which it counts each step.
    """
    T = direct.shape[0]
    terms = np.flatnonzero(np.any(direct != 0.0, axis=1))
    inject = np.zeros((T, terms.size, width))
    inject[terms, np.arange(terms.size), :direct.shape[1]] = direct[terms]
    return inject, np.abs(terms[None, :] + 1 - np.arange(1, T + 1)[:, None])


def bhn_gate(model):
    """Index of the gate whose ``delta_h`` is ``b_hn``'s gradient (GRU reset_after), else -1."""
    return 2 if "b_hn" in model.extra_names() else -1


def check_grad_out(grad_out, shape, *, expected=None):
    """Return the direct state gradients ``grad_out`` as float64, or raise naming the fault.

    ``expected`` words the expected shape for the message (default: ``shape`` and what it
    holds).
    """
    if grad_out is None:
        raise GradflowError("grad_out is required: dL/ds_t for t = 1..T, shape (T, m)")
    a = np.asarray(grad_out)
    if a.shape != shape:
        if expected is None:
            expected = f"{shape} (dL/ds_t for t = 1..T, state size m = {shape[-1]})"
        raise GradflowError(f"grad_out has shape {a.shape}; expected {expected}")
    if a.dtype.kind not in "fiu":
        raise GradflowError(f"grad_out has dtype {a.dtype}; expected real numbers")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradflowError(f"grad_out holds a non-finite value ({a[where]}) at index {where}")
    return a


def split_bytes(c, T, P):
    """Memory of :func:`split_by_lag` for one cell over T steps and P loss terms (bytes).

    The lag-by-step rows on the input projection (T^2 G n), the terms' cotangents arriving and
    their rows on the inputs (T P (m + d)), a projection's rows on h by lag (T^2 p) and the
    split itself (T x the weights).
    """
    G, n, d = len(c.gates), c.hidden, c.inputs
    extra = T * T * c.output_size if c.output_size != n else 0
    return 8 * (T * T * G * n + T * P * (c.state_size + d) + extra + T * c.parameter_count)


def carry_split(c, own, S, inject, lags):
    """All loss terms carried back in one sweep: what the split by lag multiplies out.

    ``by_lag`` and ``h_by_lag`` are :func:`~gradflow.resources.scratch` arrays: the caller
    uses them up before the next call.

    Returns ``(by_lag, rec_in, gate_values, hidden_deltas, h_by_lag, rows_in, spans)``:
    the gate deltas by lag and step ``[lag, step, gate, unit]``, each gate block's recurrent
    inputs by step, the gate values, a projection's deltas and rows by lag, the terms' rows on
    the cell's inputs (T, P, d), and per lag the range of steps where some term counts it (None
    where none does).  Arguments as :func:`split_by_lag`.
    """
    args = c.kernel_args()
    Wh, Wx, b = args[2], args[3], args[4]
    T, P = lags.shape
    G, n = b.shape
    H, k_h = Wh.shape[0], Wh.shape[2]
    rows_in = np.empty((T, P, Wx.shape[2]))
    by_lag = scratch("split.by_lag", (T, T, G, n), zero=True)  # [lag, step, gate, unit]
    rec_in = np.empty((H, T, k_h))
    gate_values = np.empty((T, 4, n))
    hidden_deltas = np.empty((T, H, n))
    h_by_lag = scratch("split.h_by_lag", (T, T, k_h) if H > G else (0, 1, 1), zero=True)
    inject = np.ascontiguousarray(inject)
    lag_split.carry_terms(*args, own, S, inject, np.ascontiguousarray(lags, dtype=np.int64),
                          rows_in, by_lag, rec_in, gate_values, hidden_deltas, h_by_lag)
    spans = _lag_spans(inject, lags)
    return by_lag, rec_in, gate_values, hidden_deltas, h_by_lag, rows_in, spans


def _lag_spans(inject, lags):
    """Per lag, the range of steps where some term counts it (None where none does).

    Term r is carried from the last step whose direct cotangent on it is nonzero back to the
    first, as :func:`~gradflow.kernels.lag_split.carry_terms` carries it; each lag's products
    run over its range alone (for a forward cell and a loss at every step, lag l has T - l
    steps: half the flops of the full products).  Outside the ranges ``by_lag`` is zero.
    """
    T = lags.shape[0]
    arrival = lag_split.arrival_steps(inject, inject.shape[2])  # 1-based; 0: never
    steps, terms = np.nonzero(np.arange(T)[:, None] < arrival[None, :])
    counted = lags[steps, terms]
    lo = np.full(T, T)
    hi = np.zeros(T, dtype=np.int64)
    np.minimum.at(lo, counted, steps)
    np.maximum.at(hi, counted, steps + 1)
    return [(int(a), int(b)) if b > a else None for a, b in zip(lo, hi, strict=True)]


def split_kernel_form(c, own, S, inject, lags, carried=None):
    """:func:`split_by_lag` in the kernels' form: ``(dWh, dWx, db, dbhn, rows_in)``, lag first.

    ``carried``: what :func:`carry_split` returned for these arguments, if already done.
    """
    by_lag, rec_in, gate_values, hidden_deltas, h_by_lag, rows_in, spans = (
        carried or carry_split(c, own, S, inject, lags))
    T, _, G, n = by_lag.shape
    H, k_h = rec_in.shape[0], rec_in.shape[2]
    d = own.shape[1]
    flat = by_lag.reshape(T, T, G * n)
    dWx = np.zeros((T, G, n, d))
    for lag, span in enumerate(spans):
        if span is not None:
            dWx[lag] = (flat[lag, span[0]:span[1]].T @ own[span[0]:span[1]]).reshape(G, n, d)
    db = by_lag.sum(axis=1)
    gate = bhn_gate(c)
    if gate >= 0:  # reset_after: the candidate's recurrent part is scaled by the reset gate
        by_lag[:, :, gate] *= gate_values[:, 0, :]
    dWh = np.zeros((T, H, n, k_h))
    for lag, span in enumerate(spans):
        if span is not None:
            lo, hi = span
            for g in range(G):
                np.matmul(by_lag[lag, lo:hi, g].T, rec_in[g, lo:hi], out=dWh[lag, g])
    dbhn = by_lag[:, :, gate].sum(axis=1) if gate >= 0 else np.zeros((T, n))
    for g in range(G, H):  # blocks past the gates: delta_h fixed per step, rec_in the rows on h
        dWh[:, g] = hidden_deltas[:, g, :].T @ h_by_lag
    return dWh, dWx, db, dbhn, rows_in


def split_by_lag(c, own, S, inject, lags):
    """One cell's weight gradients split by lag: ``({name: (T,) + shape}, rows on inputs)``.

    ``inject`` (T, P, w) holds P loss terms' direct cotangents on the first w entries of the
    cell's state after each of its own steps (its outputs, or the whole state), ``lags``
    (T, P) the lag at which term r counts the contribution of own step k (``lags[k - 1, r]``).
    All terms are carried back in one sweep (:func:`gradflow.kernels.lag_split.carry_terms`);
    each lag's weight gradients are then batched products over the steps.  Also returns the
    terms' rows on the cell's inputs (T, P, d), in its own time.
    """
    dWh, dWx, db, dbhn, rows_in = split_kernel_form(c, own, S, inject, lags)
    return c.named_gradients(dWh, dWx, db, dbhn, lead=1), rows_in
