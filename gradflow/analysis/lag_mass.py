"""The per-lag mass of a loss gradient without the split itself: what a training monitor keeps.

``mass[l]`` is the norm of every weight gradient's lag-l part, as
:func:`~gradflow.analysis.backprop.lag_norms` gives it from a split by lag, but computed lag
by lag from the carried deltas without the split's (T x the weights) arrays.  Where every
gate of a cell reads the same recurrent input (RNN, LSTM without projection), the lag-l
gradient of all its weights is the one product ``delta_l [h_(t-1) | x_t | 1]`` over the steps
that count lag l, whose Frobenius norm is taken as it is made.  Other cells (GRU, whose
candidate reads r * h; a projected LSTM) take the norms of the split's kernel form.  The
lag parts summed are the ordinary gradient: its norm comes with the mass.
"""

import math
from typing import NamedTuple

import numpy as np

from ..errors import GradientOverflowError, named
from .backprop import bhn_gate, carry_split, check_grad_out, lag_norms, split_kernel_form, term_rows
from .clipping import gradient_norm

__all__ = ["CellMass", "cell_lag_norms", "lag_mass"]

#: Where a product's Frobenius norm is taken as it is, unscaled.
_SAFE = (1e-140, 1e140)


class CellMass(NamedTuple):
    """One cell's per-lag gradient norms (T,) and the norm of its whole weight gradient."""

    by_lag: np.ndarray
    total: float


def _shared_recurrent_input(c, rec_in, G):
    return (rec_in.shape[0] == G and bhn_gate(c) < 0
            and all(np.array_equal(rec_in[0], rec_in[g]) for g in range(1, G)))


def _product_norm(L, A):
    """``||L^T A||_F``, the product scaled by ``A``'s peak only where it could leave the range.

    Inside (1e-140, 1e140) no square of the product's entries over- or underflows enough to
    matter; outside it (or for inf and NaN) the product is taken again of ``A / peak``.
    """
    with np.errstate(over="ignore", under="ignore"):
        value = float(np.linalg.norm(L.T @ A))
    if _SAFE[0] < value < _SAFE[1]:
        return value
    peak = float(np.max(np.abs(A)))
    if not (peak > 0.0 and math.isfinite(peak)):
        return peak  # 0 for a zero block; inf and NaN come through
    return peak * float(np.linalg.norm(L.T @ (A / peak)))


def cell_lag_norms(c, own, S, inject, lags):
    """One cell's per-lag gradient norms, the norm of its whole gradient, its rows on its inputs.

    Returns ``(CellMass(by_lag (T,), total), rows_in)``; arguments as
    :func:`~gradflow.analysis.backprop.split_by_lag`.
    """
    carried = carry_split(c, own, S, inject, lags)
    by_lag, rec_in, rows_in, spans = carried[0], carried[1], carried[5], carried[6]
    T, G = by_lag.shape[0], by_lag.shape[2]
    if not _shared_recurrent_input(c, rec_in, G):
        parts = split_kernel_form(c, own, S, inject, lags, carried)[:4]
        total = gradient_norm([part.sum(axis=0) for part in parts])
        return CellMass(lag_norms(parts, T), total), rows_in
    U = np.concatenate([rec_in[0], own, np.ones((T, 1))], axis=1)
    u_peak = float(np.max(np.abs(U)))  # >= 1: the bias column
    U /= u_peak
    # U = L Q^T, Q's columns orthonormal and L (T, r) lower trapezoidal: rows lo..hi-1 of U are
    # L[lo:hi, :min(hi, r)] times the first min(hi, r) rows of Q^T, so the lag-l gradient
    # U[lo:hi]^T A has the Frobenius norm of L[lo:hi, :min(hi, r)]^T A, a product min(hi, r)
    # wide instead of U's n + d + 1 (for a loss at every step the spans are prefixes: for
    # T <= n + d + 1 the flops fall from 2 c T^2 to 2 T^3 / 3 per gate column)
    L = np.linalg.qr(U.T, mode="r").T
    r = L.shape[1]
    flat = by_lag.reshape(T, T, -1)  # [lag, step, gate and unit]
    out = np.zeros(T)
    summed = np.zeros((T, flat.shape[2]))  # the ordinary backward pass's deltas
    for lag, span in enumerate(spans):
        if span is None:
            continue
        lo, hi = span
        A = flat[lag, lo:hi]
        out[lag] = u_peak * _product_norm(L[lo:hi, :min(hi, r)], A)
        summed[lo:hi] += A
    return CellMass(out, u_peak * _product_norm(L, summed)), rows_in


def lag_mass(model, x, grad_out, s0=None, *, runs=None, with_norm=False):
    """Per-lag norms (T,) of the weight gradients of one sequence's loss, split by lag.

    Equal to ``gf.bptt(model, x, grad_out, s0, by_lag=True).lag_norms()`` (to rounding),
    without building the split: a cell's ``grad_out`` is ``dL/ds_t`` (T, m), a network's
    ``dL/d output_t`` (T, D p) as :func:`gradflow.bptt` takes them.  ``runs``: a network's
    :meth:`~gradflow.Network.layer_trajectories` of ``x`` from ``s0``, when the caller has
    them already (unchecked).  ``with_norm``: return ``(mass, norm)``, the norm of the whole
    weight gradient (the lag parts summed: ``gf.bptt(...).norm()`` to rounding) too.

    Raises
    ------
    GradientOverflowError
        When a lag's norm, or the whole gradient's, leaves the float64 range.
    """
    from ..cells.network import Network
    from .network_bptt import _by_lag

    x = np.asarray(x, dtype=float)
    T = x.shape[0]
    if isinstance(model, Network):
        g = check_grad_out(grad_out, (T, model.output_size))
        if runs is None:
            runs = model.layer_trajectories(x, s0)
        parts = list(_by_lag(model, runs, g, split=cell_lag_norms).values())
    else:
        g = check_grad_out(grad_out, (T, model.state_size))
        parts = [cell_lag_norms(model, x, model.run(x, s0), *term_rows(g, model.state_size))[0]]
    mass = lag_norms([part.by_lag for part in parts], T)
    norm = gradient_norm([np.array([part.total for part in parts])])
    if not np.isfinite(mass).all():
        lag = int(np.flatnonzero(~np.isfinite(mass))[0])
        raise GradientOverflowError(f"{named(model)}the lag-{lag} part of the gradient of "
                                    f"{model.describe()} overflows float64; scale grad_out "
                                    "down or shorten the sequence")
    if with_norm and not math.isfinite(norm):
        raise GradientOverflowError(f"{named(model)}the gradient of {model.describe()} "
                                    "overflows float64; scale grad_out down or shorten the "
                                    "sequence")
    return (mass, norm) if with_norm else mass
