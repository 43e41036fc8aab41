"""The loss terms' cotangents carried back together, for the split of gradients by lag.

Splitting a weight gradient by the lag between a loss term's step and the step where the
weight acts needs every term's cotangent at every step on its own (their sum is the ordinary
backward pass).  Here the P terms are the rows of one matrix ``R`` (P, m) carried back through
a cell's trajectory in one sweep: ``R <- R J_t`` and the rows on the step's input projection
``D = R (ds_t/dxp_t)`` are BLAS products (:mod:`.input_rows`), where a term at a time would be
P vector-Jacobian products per step.  Only the terms whose cotangent has arrived are
multiplied: going back from T, a term joins at the last step that feeds it, so for a loss at
every step the products are half as many as for all P rows at every step.  Each step also
records what its weight gradients need besides ``D``: the recurrent inputs and gate values of
the cell's VJP (independent of the cotangent), so the analysis layer can form every lag's
weight gradient as batched products.

Time indexing as in :mod:`gradflow.kernels.trajectory`.
"""

import numpy as np

from . import dispatch
from ._common import copy_into
from ._jit import inline_kernel, kernel
from .input_rows import (
    input_deltas,
    input_jacobian_buffer,
    rows_on_input,
    rows_times_jacobian,
    rows_times_jacobian_buffers,
)
from .trajectory import input_projection


@kernel
def carry_terms(cell_id, option, Wh, Wx, b, bhn, X, S, inject, lags, rows_in, by_lag, rec_in,
                gate_values, hidden_deltas, h_by_lag):
    """Carry P term rows back along one trajectory; record each step's factors.

    Parameters
    ----------
    inject : (T, P, w) float64
        The terms' cotangents arriving directly on the first w entries of ``S[t + 1]`` (a
        loss on the outputs; for a stacked layer, the rows from the layer above).
    lags : (T, P) int64
        The lag at which term r counts the contribution of step t + 1 (``lags[t, r]``).
    rows_in : (T, P, d) float64
        Out: the rows on ``X[t]`` (what reaches the layer below, or the inputs).
    by_lag : (T, T, G, n) float64
        Added to: ``by_lag[l, t]`` sums the terms' rows on the input projection of step
        t + 1 (the VJP's ``delta_x``) over the terms that count it at lag l (each step's
        block contiguous, so every term adds along memory).
    rec_in : (H, T, k) float64
        Out: the VJP's recurrent inputs of step t + 1 (``W_gh``'s gradient is
        ``delta_h[g] rec_in[g]^T``); the rows of blocks past the gates (a projection's) hold
        zeros: theirs depend on the cotangent (``h_by_lag``).
    gate_values : (T, 4, n) float64
        Out: the cell's gate values at step t + 1 (the kernels' ``work``).
    hidden_deltas : (T, H, n) float64
        Out: the VJP's ``delta_h`` for a zero cotangent, nonzero only in blocks that do not
        depend on it (a projection's ``M = O tanh(C)``).
    h_by_lag : (T, T, k) float64, or zero-length
        Added to: ``h_by_lag[l, t]`` sums the terms' rows on the hidden part of ``S[t + 1]``
        (a projection's ``rec_in``) over the terms that count step t + 1 at lag l.
    """
    T = X.shape[0]
    G, n = b.shape
    P = inject.shape[1]
    m = S.shape[1]
    d = Wx.shape[2]
    w = inject.shape[2]
    k_h = Wh.shape[2]
    work = np.empty((4, n))
    xp = np.empty((G, n))
    # a term's rows are zero until the step where its cotangent first arrives (going back):
    # the rows are kept in the order the terms arrive, and only the a rows that have arrived
    # are multiplied, as the leading a columns of compact (m, a) arrays
    start = arrival_steps(inject, w)
    order = arrival_order(start, T)
    flat = np.zeros(m * P)  # the arrived rows, transposed: (m, a)
    grown = np.zeros(m * P)
    D_flat = np.empty(P * G * n)
    rows_flat = np.empty(P * d)
    Wx_flat = np.ascontiguousarray(Wx).reshape(G * n, d)
    JX = input_jacobian_buffer(cell_id, option, n, d)
    J, JL, top, diag_h, diag_c, back = rows_times_jacobian_buffers(cell_id, option, Wh, P, m, n)
    top_rows = top.shape[0]
    top_flat = top.reshape(-1)
    back_flat = back.reshape(-1)
    zero = np.zeros(m)
    vjp_back = np.empty(m)
    dx = np.empty((G, n))
    rec = np.empty((Wh.shape[0], k_h))
    a = 0
    for t in range(T, 0, -1):
        arrived = a
        while arrived < P and start[order[arrived]] >= t:
            arrived += 1
        if arrived > a:  # widen the compact rows, the new columns zero
            old = flat[:m * a].reshape(m, a)
            new = grown[:m * arrived].reshape(m, arrived)
            for i in range(m):
                for r in range(a):
                    new[i, r] = old[i, r]
                for r in range(a, arrived):
                    new[i, r] = 0.0
            flat, grown = grown, flat
            a = arrived
        Rt = flat[:m * a].reshape(m, a)
        for i in range(w):
            for r in range(a):
                Rt[i, r] += inject[t - 1, order[r], i]
        if h_by_lag.shape[0] == T:
            for r in range(a):
                lag = lags[t - 1, order[r]]
                for j in range(k_h):
                    h_by_lag[lag, t - 1, j] += Rt[j, r]
        input_projection(Wx, b, X[t - 1], xp)
        rows = rows_flat[:a * d].reshape(a, d)
        if a > 0:
            Dt = D_flat[:a * G * n].reshape(G, n, a)
            input_deltas(cell_id, option, Wh, bhn, xp, S[t - 1], Rt, Dt, work)
            for r in range(a):
                lag = lags[t - 1, order[r]]
                for g in range(G):
                    for i in range(n):
                        by_lag[lag, t - 1, g, i] += Dt[g, i, r]
            rows_on_input(cell_id, option, Wh, Wx, Wx_flat, bhn, xp, S[t - 1], Rt, Dt, JX,
                          rows, work, True)
        for r in range(P):
            for j in range(d):
                rows_in[t - 1, order[r], j] = rows[r, j] if r < a else 0.0
        dispatch.vjp(cell_id, option, Wh, bhn, xp, S[t - 1], zero, vjp_back, dx,
                     hidden_deltas[t - 1], rec, work)
        for g in range(Wh.shape[0]):
            for j in range(k_h):
                rec_in[g, t - 1, j] = rec[g, j] if g < G else 0.0
        copy_into(work, gate_values[t - 1])
        if a > 0:
            buffers = (J, JL, top_flat[:top_rows * a].reshape(top_rows, a), diag_h, diag_c,
                       back_flat[:m * a].reshape(m, a))
            rows_times_jacobian(cell_id, option, Wh, bhn, xp, S[t - 1], Rt, work, buffers,
                                False)  # plain float64 cotangents: no rescaling


@inline_kernel
def arrival_steps(inject, w):
    """Per term, the last step (1-based) whose direct cotangent on it is nonzero; 0 if none."""
    T, P = inject.shape[0], inject.shape[1]
    start = np.zeros(P, dtype=np.int64)
    for r in range(P):
        for t in range(T, 0, -1):
            hit = False
            for i in range(w):
                if inject[t - 1, r, i] != 0.0:
                    hit = True
                    break
            if hit:
                start[r] = t
                break
    return start


@inline_kernel
def arrival_order(start, T):
    """The terms in the order they arrive going back from step T: ``start`` (0..T) descending.

    A counting sort, ties in the terms' order (for ``np.argsort(-start)`` a kernel would
    compile Numba's quicksort: about a second on a cold cache).
    """
    # after[s]: the number of terms arriving at step s, then the number arriving before them
    # (at steps above s), their first place in the order
    after = np.zeros(T + 1, dtype=np.int64)
    for r in range(start.shape[0]):
        after[start[r]] += 1
    total = 0
    for s in range(T, -1, -1):
        count = after[s]
        after[s] = total
        total += count
    order = np.empty(start.shape[0], dtype=np.int64)
    for r in range(start.shape[0]):
        order[after[start[r]]] = r
        after[start[r]] += 1
    return order
