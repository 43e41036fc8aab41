"""All-lag norms of the suffix products ``P_k = ds_T/ds_{T-k} = J_T ... J_{T-k+1}``, k = 0..T.

Time indexing as in :mod:`gradflow.kernels.trajectory`.  One backward pass over the lags keeps
the transposed running product ``R = P_k^T`` (m, m) times an exact power of two, so a new lag
is one BLAS product ``R <- J^T R`` (for LSTM only the dense half of ``J``: its right half is
diagonal).  The spectral norm of each lag comes from :mod:`gradflow.kernels.norm_estimator`,
warm-started from the previous lag.
"""

import math

import numpy as np
from numba import prange

from . import dispatch, lstm
from ._jit import inline_kernel, kernel, parallel_kernel
from .norm_estimator import PROBES, log10_norm, new_estimator
from .scaling import LOG10_2, in_range, renormalise, rescale, sum_squares, unit_scale_if_tiny
from .trajectory import input_projection

#: The running product is rescaled once its Frobenius norm leaves [2^-RANGE, 2^RANGE].
RANGE = 64


@inline_kernel
def jacobian_step(cell_id, option, Wh, Wx, b, bhn, x, s, shift, J, diag_h, diag_c, xp, work):
    """The Jacobian of the step leaving ``s`` with input ``x``, times ``2**-shift`` (exact).

    For LSTM only the nonzero parts: ``J`` (2n, n) the dense left half, ``diag_h``/``diag_c``
    the diagonal right half; for the other cells (and a projected LSTM) ``J`` (m, m).
    """
    input_projection(Wx, b, x, xp)
    scale = math.ldexp(1.0, -shift)
    if split_blocks(cell_id, option):
        lstm.jacobian_blocks(Wh, xp, s, J, diag_h, diag_c, scale, work)
    else:
        dispatch.jacobian(cell_id, option, Wh, bhn, xp, s, J, work)
        if shift != 0:
            rescale(J, shift)


@kernel
def split_blocks(cell_id, option):
    """Whether the step Jacobian is kept as LSTM's dense left half and diagonal right half."""
    return cell_id == dispatch.LSTM and option[0] == 0


@inline_kernel
def advance(cell_id, option, J, diag_h, diag_c, R, R_next):
    """``R_next = J^T R``: one more factor on the transposed running product."""
    if split_blocks(cell_id, option):
        # J = [[A, diag(diag_h)], [B, diag(diag_c)]], J = [A; B] its dense left half
        n = J.shape[1]
        m = R.shape[1]
        np.dot(J.T, R, R_next[:n])
        for j in range(n):
            a = diag_h[j]
            f = diag_c[j]
            for i in range(m):
                R_next[n + j, i] = a * R[j, i] + f * R[n + j, i]
    else:
        np.dot(J.T, R, R_next)


@inline_kernel
def measure_product(R, n_block, Bh, Bc, sums):
    """``sums[0] = ||R||_F^2``; with blocks, also copy out the diagonal blocks.

    The blocks go to ``Bh`` (the first ``n_block`` rows and columns) and ``Bc`` (the rest),
    their squared Frobenius norms to ``sums[1:3]``.
    """
    sums[0] = sum_squares(R)
    nb = n_block
    if nb > 0:
        for i in range(nb):
            for j in range(nb):
                Bh[i, j] = R[i, j]
        for i in range(Bc.shape[0]):
            for j in range(Bc.shape[1]):
                Bc[i, j] = R[nb + i, nb + j]
        sums[1] = sum_squares(Bh)
        sums[2] = sum_squares(Bc)


@inline_kernel
def new_suffix_workspace(cell_id, option, m, G, n, n_block):
    """Work arrays of ``suffix_log10_norms_with_stats``, allocated once per sequence.

    ``(R, R_next, J, diag_h, diag_c, xp, work, Bh, Bc, sums)`` and the three norm estimators
    (full product, h block, c block).
    """
    R = np.eye(m)
    R_next = np.empty((m, m))
    J = np.empty((m, n)) if split_blocks(cell_id, option) else np.empty((m, m))
    nb = max(n_block, 1)
    nc = m - n_block if n_block > 0 else 1
    arrays = (R, R_next, J, np.empty(n), np.empty(n), np.empty((G, n)), np.empty((4, n)),
              np.empty((nb, nb)), np.empty((nc, nc)), np.empty(3))
    return (arrays, new_estimator(m, min(PROBES, m)), new_estimator(nb, min(PROBES, nb)),
            new_estimator(nc, min(PROBES, nc)))


@kernel
def next_shift(frobenius2):
    """The power of two to divide the next factor by: 0 while ``||R||_F`` is in range."""
    size = math.frexp(math.sqrt(frobenius2))[1]
    return size if abs(size) > RANGE else 0


@inline_kernel
def suffix_log10_norms_with_stats(cell_id, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h,
                                  out_c, stats):
    """``suffix_log10_norms``, counting the estimator's work.

    ``stats`` (3,) accumulates ``[norms, subspace iterations, exact fallbacks]``.
    """
    T = X.shape[0]
    m = S.shape[1]
    G, n = b.shape
    arrays, full, est_h, est_c = new_suffix_workspace(cell_id, option, m, G, n, n_block)
    R, R_next, J, diag_h, diag_c, xp, work, Bh, Bc, sums = arrays
    exponent = 0
    # int64 from the start: a literal 0 would compile the step's callees a second time
    shift = np.int64(0)
    out[0] = 0.0
    if n_block > 0:
        out_h[0] = 0.0
        out_c[0] = 0.0
    zero = False
    for k in range(1, T + 1):
        if zero:
            out[k] = -np.inf
            if n_block > 0:
                out_h[k] = -np.inf
                out_c[k] = -np.inf
            continue
        t = T - k
        jacobian_step(cell_id, option, Wh, Wx, b, bhn, X[t], S[t], shift, J, diag_h, diag_c,
                      xp, work)
        if not split_blocks(cell_id, option):
            # subnormal entries: to unit scale (exact) before the product rounds them away
            exponent += unit_scale_if_tiny(J)
        advance(cell_id, option, J, diag_h, diag_c, R, R_next)
        R, R_next = R_next, R
        exponent += shift
        measure_product(R, n_block, Bh, Bc, sums)
        if not in_range(sums[0]):
            # one step took the product far out of range (or to zero): renormalise it here
            step = renormalise(R)
            if step is None:
                zero = True
                out[k] = -np.inf
                if n_block > 0:
                    out_h[k] = -np.inf
                    out_c[k] = -np.inf
                continue
            exponent += step
            measure_product(R, n_block, Bh, Bc, sums)
        base = exponent * LOG10_2
        out[k] = log10_norm(R, sums[0], base, full, stats)
        if n_block > 0:
            out_h[k] = log10_norm(Bh, sums[1], base, est_h, stats)
            out_c[k] = log10_norm(Bc, sums[2], base, est_c, stats)
        shift = next_shift(sums[0])


@kernel
def suffix_log10_norms(cell_id, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c):
    """All-lag spectral norms of the suffix products ``P_k = ds_T/ds_{T-k}``, k = 0..T.

    A backward pass: ``P_k = P_{k-1} J_{T-k+1}`` with ``J`` recomputed from the stored states,
    so memory is O(T m + m^2).  The running product is kept as ``R * 2**e`` with the integer
    exponent ``e`` carried exactly, so no lag over- or underflows.  ``out[k]`` receives
    ``log10 ||P_k||_2`` (``-inf`` once the product is exactly zero).  With ``n_block > 0``
    (LSTM, state (h, c), h of ``n_block`` entries), ``out_h`` and ``out_c`` receive the norms
    of the diagonal blocks ``dh_T/dh_{T-k}`` and ``dc_T/dc_{T-k}``.
    """
    stats = np.zeros(3, dtype=np.int64)
    suffix_log10_norms_with_stats(cell_id, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h,
                                  out_c, stats)


@parallel_kernel
def batch_suffix_log10_norms(cell_id, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h,
                             out_c):
    """``suffix_log10_norms`` for every sequence of a batch, in parallel over sequences.

    ``X`` (B, T, d), ``S`` (B, T + 1, m), ``out`` (B, T + 1); ``out_h`` and ``out_c`` are
    (B, T + 1) with ``n_block > 0``, else any (B, 1).
    """
    for i in prange(X.shape[0]):
        stats = np.zeros(3, dtype=np.int64)
        suffix_log10_norms_with_stats(cell_id, option, Wh, Wx, b, bhn, X[i], S[i], n_block,
                                      out[i], out_h[i], out_c[i], stats)
