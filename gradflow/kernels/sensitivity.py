"""Output and input sensitivities: p cotangent rows carried back along one cell's trajectory.

The rows ``R`` are ``dy/ds_t`` for an output y of p entries (a cell's final hidden state, a
network's h_n).  One backward step maps them to ``dy/ds_{t-1} = R J_t`` and gives the rows on
the step's input, ``dy/dx_t = R (ds_t/dx_t)``, both as BLAS products over all p rows (the
step's exact Jacobian; the rows on its input projection, :mod:`.input_rows`).  The
rows are kept as a mantissa with a power-of-two exponent, rescaled every step, so norms of
10^-5000 are as exact as norms near 1.  Rows injected from a layer above (a network's upper
layer reads this cell's hidden states) are added at their own exponent.

Time indexing as in :mod:`gradflow.kernels.trajectory`.  Norms come out as log2 values
(``-inf`` for an exactly zero block); the analysis layer turns them into log10.
"""

import math

import numpy as np

from ._common import copy_into
from ._jit import inline_kernel, kernel
from .blas import gram_of_columns, gram_of_rows
from .input_rows import (
    input_jacobian_buffer,
    rows_on_input,
    rows_times_jacobian,
    rows_times_jacobian_buffers,
)
from .norm_estimator import PROBES, log10_norm, new_estimator, new_rectangular_estimator
from .scaling import LOG10_2, in_range, peak, renormalise, sum_squares
from .trajectory import input_projection


@inline_kernel
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
    G = np.empty((min(p, q), min(p, q)))
    if p <= q:
        gram_of_rows(A, G)
    else:
        gram_of_columns(A, G)
    top = np.linalg.eigvalsh(G)[-1]
    if top <= 0.0:
        return -np.inf
    return 0.5 * math.log2(top) + exponent


@inline_kernel
def _add_scaled(Rt, cols, rows, rows_exponent, exponent):
    """``Rt[:cols] += rows^T * 2^(rows_exponent - exponent)``, rescaling Rt when rows are larger.

    ``Rt`` (m, p) holds the rows transposed; ``rows`` is (p, cols).
    """
    if rows_exponent > exponent:
        down = 2.0 ** max(exponent - rows_exponent, -1000)
        for j in range(Rt.shape[0]):
            for i in range(Rt.shape[1]):
                Rt[j, i] *= down
        exponent = rows_exponent
    factor = 2.0 ** max(rows_exponent - exponent, -1000)
    for j in range(cols):
        for i in range(Rt.shape[1]):
            Rt[j, i] += rows[i, j] * factor
    return exponent


@inline_kernel
def gram_estimator(p):
    """Work arrays of :func:`gram_log2` for Gram matrices (p, p), start block seeded."""
    return new_estimator(p, min(PROBES, p))


@inline_kernel
def gram_log2(gram, exponent, estimator, stats):
    """``0.5 log2 lambda_max(gram) + exponent/2``: ``log2 ||A||_2`` for ``gram = A A^T``.

    The largest eigenvalue of the symmetric positive semi-definite Gram matrix is its
    spectral norm, certified by the warm-started estimator (:mod:`.norm_estimator`: the top
    eigenvectors of consecutive lags' Grams are close) or solved exactly; ``-inf`` for a zero
    Gram matrix.  ``exponent`` is the Gram matrix's power-of-two exponent (twice the rows').
    The estimator may rescale ``gram`` in place.
    """
    log10_lam = log10_norm(gram, sum_squares(gram), 0.0, estimator, stats)
    return 0.5 * (log10_lam / LOG10_2 + exponent)


@inline_kernel
def rows_estimator(width, p):
    """Work arrays of :func:`rows_log2` for the transposed rows (width, p) of p rows."""
    return new_rectangular_estimator(max(width, 1), p, min(PROBES, p))


@inline_kernel
def rows_log2(Rt, exponent, estimator, stats, spare):
    """``log2 ||Rt||_2 + exponent`` of transposed rows ``Rt`` (width, p), warm-started.

    The estimator's block lives in the rows' output space (p), where the top singular vectors
    of consecutive lags' rows are close; ``-inf`` for zero rows.  ``Rt`` is left as it is:
    where its squares leave float64's range the norm is taken of a rescaled copy in
    ``spare`` (same shape).
    """
    frobenius2 = sum_squares(Rt)
    if not in_range(frobenius2):
        copy_into(Rt, spare)
        Rt = spare
    return log10_norm(Rt, frobenius2, 0.0, estimator, stats) / LOG10_2 + exponent


@kernel
def gram_log2_series(grams, exponents, out):
    """``out[k] = gram_log2(grams[k], exponents[k])`` along a leading (lag) axis, warm-started.

    ``grams`` is overwritten (rescaled in place where needed).
    """
    estimator = gram_estimator(grams.shape[1])
    stats = np.zeros(3, dtype=np.int64)
    for k in range(grams.shape[0]):
        out[k] = gram_log2(grams[k], exponents[k], estimator, stats)


@kernel
def carry_rows(cell_id, option, Wh, Wx, b, bhn, X, S, R, exponent, inject, inject_exp,
               state_log2, state_gram, state_gram_exp, block_log2, input_log2, input_rows,
               input_exp, norm_stats):
    """Carry the rows ``R`` (p, m) on ``S[T]`` back to ``S[0]``; record what each step shows.

    One backward step is two BLAS products: ``R <- R J_t`` with the step's exact Jacobian (for
    the LSTM its dense left half only; the right half is diagonal), and the rows on the input
    ``R (ds_t/dx_t)`` (:mod:`.input_rows`).  Norms come from a warm-started estimator per
    series (:mod:`.norm_estimator`), certified to ~2e-11 in log10.

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
    block_log2 : (2, T + 1) or (1, T + 1) float64, or zero-length
        ``log2`` norms of the rows' columns on h and of the rest (LSTM's c); with one row,
        of the rest alone.
    input_log2 : (T,) float64, or zero-length
        ``log2 ||rows on X[t]||``: the sensitivity to the input of step t + 1.
    input_rows, input_exp : (T, p, d) float64 and (T,) int64, or zero-length
        The rows on ``X[t]`` themselves, for the layer below.
    norm_stats : (3,) int64, or zero-length
        Adds the estimator's ``[norms, iterations, exact fallbacks]``.
    """
    T = X.shape[0]
    G, n = b.shape
    p, m = R.shape
    d = Wx.shape[2]
    work = np.empty((4, n))
    xp = np.empty((G, n))
    h_size = Wh.shape[2]
    buffers = rows_times_jacobian_buffers(cell_id, option, Wh, p, m, n)
    Dt = np.empty((G, n, p))  # the rows on the input projection, transposed
    Wx_flat = np.ascontiguousarray(Wx).reshape(G * n, d)
    JX = input_jacobian_buffer(cell_id, option, n, d)
    rows_in = np.empty((p, d))
    Rt = np.ascontiguousarray(R.T)  # the rows transposed: each state block a slice
    spare = np.empty((m, p))
    estimators = (rows_estimator(m, p), rows_estimator(h_size, p),
                  rows_estimator(m - h_size, p))
    stats = np.zeros(3, dtype=np.int64) if norm_stats.shape[0] != 3 else norm_stats
    need_inputs = input_log2.shape[0] == T or input_rows.shape[0] == T
    e = _rescale(Rt, exponent[0])
    for t in range(T, -1, -1):
        # the state figures first: the rows carried back through the cell's own recurrence
        # (for a stack, the Jacobian with respect to the state the network holds between
        # steps); the rows injected from the layer above at this step come after
        if state_gram.shape[0] == T + 1:
            gram_of_columns(Rt, state_gram[t])
            state_gram_exp[t] = 2 * e
        if state_log2.shape[0] == T + 1:
            state_log2[t] = rows_log2(Rt, e, estimators[0], stats, spare)
        if block_log2.shape[0] == 2:
            if m == h_size and state_log2.shape[0] == T + 1:
                block_log2[0, t] = state_log2[t]  # the state is h: the same rows
            else:
                block_log2[0, t] = rows_log2(Rt[:h_size], e, estimators[1], stats,
                                             spare[:h_size])
            if m > h_size:
                block_log2[1, t] = rows_log2(Rt[h_size:], e, estimators[2], stats,
                                             spare[h_size:])
        elif block_log2.shape[0] == 1 and m > h_size:
            block_log2[0, t] = rows_log2(Rt[h_size:], e, estimators[2], stats, spare[h_size:])
        if t == 0:
            break
        if inject.shape[0] == T:
            e = _add_scaled(Rt, h_size, inject[t - 1], inject_exp[t - 1], e)
            e = _rescale(Rt, e)
        input_projection(Wx, b, X[t - 1], xp)
        if need_inputs:
            out = input_rows[t - 1] if input_rows.shape[0] == T else rows_in
            rows_on_input(cell_id, option, Wh, Wx, Wx_flat, bhn, xp, S[t - 1], Rt, Dt, JX,
                          out, work, False)
            if input_log2.shape[0] == T:
                input_log2[t - 1] = gram_log2_norm(out, e)
            if input_rows.shape[0] == T:
                input_exp[t - 1] = e
        e += rows_times_jacobian(cell_id, option, Wh, bhn, xp, S[t - 1], Rt, work, buffers,
                                 True)
        e = _rescale(Rt, e)
    copy_into(Rt.T, R)
    exponent[0] = e
