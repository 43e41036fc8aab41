"""Chains over time built on the per-cell kernels: trajectories, Jacobian stacks, all-lag norms.

Time indexing: ``X[t]`` is the input of step ``t + 1``; ``S[0]`` is the initial state and
``S[t + 1]`` the state after step ``t + 1``; the Jacobian of step ``t + 1`` is evaluated at
``S[t]`` with input ``X[t]``.
"""

import math

import numpy as np

from . import dispatch
from ._common import matvec_add
from ._jit import kernel

LOG10_2 = math.log10(2.0)


@kernel
def input_projection(Wx, b, x, xp):
    """``xp[g] = Wx[g] @ x + b[g]`` for every gate ``g``."""
    for g in range(Wx.shape[0]):
        matvec_add(Wx[g], x, b[g], xp[g])


@kernel
def run(kind, option, Wh, Wx, b, bhn, X, S):
    """Fill ``S[1:]`` from ``S[0]``; return the first step whose state is non-finite, else -1."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.step(kind, option, Wh, bhn, xp, S[t], S[t + 1], work)
        for i in range(S.shape[1]):
            if not np.isfinite(S[t + 1, i]):
                return t + 1
    return -1


@kernel
def step_jacobians(kind, option, Wh, Wx, b, bhn, X, S, Js):
    """Fill ``Js[t]`` with the Jacobian of step ``t + 1``."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(kind, option, Wh, bhn, xp, S[t], Js[t], work)


@kernel
def _log10_sigma_max(A, gram):
    """log10 of the largest singular value of A (-inf for an exactly zero A).

    Uses the largest eigenvalue of the Gram matrix, which carries sigma_max to full relative
    precision (its absolute error is ~eps * sigma_max^2).
    """
    peak = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            peak = max(peak, abs(A[i, j]))
    if peak == 0.0:
        return -np.inf
    np.dot(A.T, A, gram)
    lam = np.linalg.eigvalsh(gram)[-1]
    return 0.5 * math.log10(lam)


@kernel
def suffix_log10_norms(kind, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c):
    """All-lag spectral norms of the suffix products ``P_k = ds_T/ds_{T-k}``, k = 0..T.

    A backward sweep: ``P_k = P_{k-1} J_{T-k+1}`` with ``J`` recomputed from the stored states.
    The running product is kept as ``Q * 2**e`` with ``max|Q|`` in [1/2, 1) and the integer
    exponent ``e`` carried exactly, so no lag over- or underflows.  ``out[k]`` receives
    ``log10 ||P_k||_2`` (``-inf`` once the product is exactly zero).  With ``n_block > 0``
    (LSTM, state (h, c)), ``out_h`` and ``out_c`` receive the norms of the diagonal blocks
    ``dh_T/dh_{T-k}`` and ``dc_T/dc_{T-k}``.
    """
    T = X.shape[0]
    m = S.shape[1]
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    J = np.empty((m, m))
    Q = np.eye(m)
    tmp = np.empty((m, m))
    gram = np.empty((m, m))
    nb = max(n_block, 1)
    block = np.empty((nb, nb))
    gram_block = np.empty((nb, nb))
    exponent = 0
    zero = False
    out[0] = 0.0
    if n_block > 0:
        out_h[0] = 0.0
        out_c[0] = 0.0
    for k in range(1, T + 1):
        if zero:
            out[k] = -np.inf
            if n_block > 0:
                out_h[k] = -np.inf
                out_c[k] = -np.inf
            continue
        t = T - k
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(kind, option, Wh, bhn, xp, S[t], J, work)
        np.dot(Q, J, tmp)
        Q, tmp = tmp, Q
        peak = 0.0
        for i in range(m):
            for j in range(m):
                peak = max(peak, abs(Q[i, j]))
        if peak == 0.0:
            zero = True
            out[k] = -np.inf
            if n_block > 0:
                out_h[k] = -np.inf
                out_c[k] = -np.inf
            continue
        mantissa, shift = math.frexp(peak)
        scale = math.ldexp(1.0, -shift)
        for i in range(m):
            for j in range(m):
                Q[i, j] *= scale
        exponent += shift
        base = exponent * LOG10_2
        out[k] = base + _log10_sigma_max(Q, gram)
        if n_block > 0:
            for i in range(n_block):
                for j in range(n_block):
                    block[i, j] = Q[i, j]
            out_h[k] = base + _log10_sigma_max(block, gram_block)
            for i in range(n_block):
                for j in range(n_block):
                    block[i, j] = Q[n_block + i, n_block + j]
            out_c[k] = base + _log10_sigma_max(block, gram_block)
