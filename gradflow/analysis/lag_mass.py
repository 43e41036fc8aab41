"""The per-lag mass of a loss gradient without the split itself: what a training monitor keeps.

``mass[l]`` is the norm of every weight gradient's lag-l part, as
:func:`~gradflow.analysis.backprop.lag_norms` gives it from a split by lag, but computed lag
by lag from the carried deltas without the split's (T x the weights) arrays.  Where every
gate of a cell reads the same recurrent input (RNN, LSTM without projection), the lag-l
gradient of all its weights is the one product ``delta_l [h_(t-1) | x_t | 1]`` over the steps
that count lag l, whose Frobenius norm is taken as it is made.  Other cells (GRU, whose
candidate reads r * h; a projected LSTM) take the norms of the split's kernel form.
"""

import numpy as np

from ..errors import GradientOverflowError, named
from .backprop import bhn_gate, carry_split, check_grad_out, lag_norms, split_kernel_form, term_rows

__all__ = ["cell_lag_norms", "lag_mass"]


def _shared_recurrent_input(c, rec_in, G):
    return (rec_in.shape[0] == G and bhn_gate(c) < 0
            and all(np.array_equal(rec_in[0], rec_in[g]) for g in range(1, G)))


def cell_lag_norms(c, own, S, inject, lags):
    """One cell's per-lag gradient norms (T,) and its terms' rows on its inputs.

    Arguments as :func:`~gradflow.analysis.backprop.split_by_lag`.
    """
    carried = carry_split(c, own, S, inject, lags)
    by_lag, rec_in, rows_in, spans = carried[0], carried[1], carried[5], carried[6]
    T, G = by_lag.shape[0], by_lag.shape[2]
    if not _shared_recurrent_input(c, rec_in, G):
        dWh, dWx, db, dbhn, _ = split_kernel_form(c, own, S, inject, lags, carried)
        return lag_norms([dWh, dWx, db, dbhn], T), rows_in
    U = np.concatenate([rec_in[0], own, np.ones((T, 1))], axis=1)
    u_peak = float(np.max(np.abs(U)))  # >= 1: the bias column
    U /= u_peak
    flat = by_lag.reshape(T, T, -1)  # [lag, step, gate and unit]
    out = np.zeros(T)
    for lag, span in enumerate(spans):
        if span is None:
            continue
        A = flat[lag, span[0]:span[1]]
        a_peak = float(np.max(np.abs(A)))
        if a_peak > 0.0:  # the norm of the product's transpose, U^T A
            out[lag] = a_peak * u_peak * np.linalg.norm(U[span[0]:span[1]].T @ (A / a_peak))
    return out, rows_in


def lag_mass(model, x, grad_out, s0=None, *, runs=None):
    """Per-lag norms (T,) of the weight gradients of one sequence's loss, split by lag.

    Equal to ``gf.bptt(model, x, grad_out, s0, by_lag=True).lag_norms()`` (to rounding),
    without building the split: a cell's ``grad_out`` is ``dL/ds_t`` (T, m), a network's
    ``dL/d output_t`` (T, D p) as :func:`gradflow.bptt` takes them.  ``runs``: a network's
    :meth:`~gradflow.Network.layer_trajectories` of ``x`` from ``s0``, when the caller has
    them already (unchecked).

    Raises
    ------
    GradientOverflowError
        When a lag's norm leaves the float64 range.
    """
    from ..cells.network import Network
    from .network_bptt import _by_lag

    x = np.asarray(x, dtype=float)
    T = x.shape[0]
    if isinstance(model, Network):
        g = check_grad_out(grad_out, (T, model.output_size))
        if runs is None:
            runs = model.layer_trajectories(x, s0)
        parts = _by_lag(model, runs, g, split=cell_lag_norms)
        mass = lag_norms(parts, T)
    else:
        g = check_grad_out(grad_out, (T, model.state_size))
        mass = cell_lag_norms(model, x, model.run(x, s0), *term_rows(g, model.state_size))[0]
    if not np.isfinite(mass).all():
        lag = int(np.flatnonzero(~np.isfinite(mass))[0])
        raise GradientOverflowError(f"{named(model)}the lag-{lag} part of the gradient of "
                                    f"{model.describe()} overflows float64; scale grad_out "
                                    "down or shorten the sequence")
    return mass
