"""Output and input sensitivities: p cotangent rows carried back along one cell's trajectory.

The rows ``R`` are ``dy/ds_t`` for an output y of p entries (a cell's final hidden state, a
network's h_n).  One backward step maps them to ``dy/ds_{t-1} = R J_t`` and gives the rows on
the step's input, ``dy/dx_t = R (ds_t/dx_t)``, both from the cell's VJP (one per row).  The
rows are kept as a mantissa with a power-of-two exponent, rescaled every step, so norms of
10^-5000 are as exact as norms near 1.  Rows injected from a layer above (a network's upper
layer reads this cell's hidden states) are added at their own exponent.

Time indexing as in :mod:`gradflow.kernels.trajectory`.  Norms come out as log2 values
(``-inf`` for an exactly zero block); the analysis layer turns them into log10.
"""

import math

import numpy as np

from . import dispatch
from ._common import rmatvec_add
from ._jit import kernel
from .scaling import peak, renormalise
from .trajectory import input_projection


@kernel
def _rescale(R, exponent):
    """Renormalise ``R`` exactly (:func:`~.scaling.renormalise`); return the new exponent."""
    if not np.isfinite(peak(R)):
        return exponent
    shift = renormalise(R)
    return exponent if shift is None else exponent + shift


@kernel
def gram_log2_norm(A, exponent):
    """``log2 ||A||_2 + exponent`` from the top eigenvalue of the smaller Gram matrix."""
    p, q = A.shape
    G = A @ A.T if p <= q else A.T @ A
    top = np.linalg.eigvalsh(G)[-1]
    if top <= 0.0:
        return -np.inf
    return 0.5 * math.log2(top) + exponent


@kernel
def _add_scaled(R, cols, rows, rows_exponent, exponent):
    """``R[:, :cols] += rows * 2^(rows_exponent - exponent)``, rescaling R when rows are larger."""
    if rows_exponent > exponent:
        down = 2.0 ** max(exponent - rows_exponent, -1000)
        for i in range(R.shape[0]):
            for j in range(R.shape[1]):
                R[i, j] *= down
        exponent = rows_exponent
    factor = 2.0 ** max(rows_exponent - exponent, -1000)
    for i in range(R.shape[0]):
        for j in range(cols):
            R[i, j] += rows[i, j] * factor
    return exponent


@kernel
def carry_rows(cell_id, option, Wh, Wx, b, bhn, X, S, R, exponent, inject, inject_exp,
               state_log2, state_gram, state_gram_exp, block_log2, input_log2, input_rows,
               input_exp):
    """Carry the rows ``R`` (p, m) on ``S[T]`` back to ``S[0]``; record what each step shows.

    Parameters
    ----------
    R : (p, m) float64
        In: the rows on ``S[T]`` (mantissa; exponent ``exponent[0]``).  Out: the rows on S[0].
        The state figures at ``S[t]`` are those of the rows carried back through the cell's
        own recurrence, before the rows injected at that step are added.
    exponent : (1,) int64
        The rows' power-of-two exponent, updated.
    inject : (T, p, n_h) float64, or zero-length
        Rows added to the hidden part of ``S[t + 1]`` (exponents ``inject_exp[t]``); h has
        ``n_h = Wh.shape[2]`` entries (n, or an LSTM's projection size).
    state_log2 : (T + 1,) float64, or zero-length
        ``log2 ||rows on S[t]||``.
    state_gram, state_gram_exp : (T + 1, p, p) float64 and (T + 1,) int64, or zero-length
        The rows' Gram matrix ``R R^T`` on ``S[t]`` and its exponent (2 x the rows'), for
        norms over several cells' states.
    block_log2 : (2, T + 1) float64, or zero-length
        ``log2`` norms of the rows' columns on h and of the rest (LSTM's c).
    input_log2 : (T,) float64, or zero-length
        ``log2 ||rows on X[t]||``: the sensitivity to the input of step t + 1.
    input_rows, input_exp : (T, p, d) float64 and (T,) int64, or zero-length
        The rows on ``X[t]`` themselves, for the layer below.
    """
    T = X.shape[0]
    G, n = b.shape
    p, m = R.shape
    d = Wx.shape[2]
    work = np.empty((4, n))
    xp = np.empty((G, n))
    delta_x = np.empty((G, n))
    delta_h = np.empty((G, n))
    rec_in = np.empty((G, n))
    h_size = Wh.shape[2]
    back = np.empty((p, m))
    rows_in = np.empty((p, d))
    e = _rescale(R, exponent[0])
    for t in range(T, -1, -1):
        # the state figures first: the rows carried back through the cell's own recurrence
        # (for a stack, the Jacobian with respect to the state the network holds between
        # steps); the rows injected from the layer above at this step come after
        if state_log2.shape[0] == T + 1:
            state_log2[t] = gram_log2_norm(R, e)
        if state_gram.shape[0] == T + 1:
            state_gram[t] = R @ R.T
            state_gram_exp[t] = 2 * e
        if block_log2.shape[0] == 2:
            block_log2[0, t] = gram_log2_norm(np.ascontiguousarray(R[:, :h_size]), e)
            if m > h_size:
                block_log2[1, t] = gram_log2_norm(np.ascontiguousarray(R[:, h_size:]), e)
        if t == 0:
            break
        if inject.shape[0] == T:
            e = _add_scaled(R, h_size, inject[t - 1], inject_exp[t - 1], e)
            e = _rescale(R, e)
        input_projection(Wx, b, X[t - 1], xp)
        for r in range(p):
            dispatch.vjp(cell_id, option, Wh, bhn, xp, S[t - 1], R[r], back[r], delta_x,
                         delta_h, rec_in, work)
            for j in range(d):
                rows_in[r, j] = 0.0
            for g in range(G):
                rmatvec_add(Wx[g], delta_x[g], rows_in[r])
        if input_log2.shape[0] == T:
            input_log2[t - 1] = gram_log2_norm(rows_in, e)
        if input_rows.shape[0] == T:
            input_rows[t - 1] = rows_in
            input_exp[t - 1] = e
        R[:, :] = back
        e = _rescale(R, e)
    exponent[0] = e
