"""Lyapunov spectra: QR re-orthonormalisation of ``J_t Q`` along a stored trajectory.

Time indexing as in :mod:`gradflow.kernels.trajectory`: the Jacobian of step ``t + 1`` is evaluated
at ``S[t]`` with input ``X[t]``.
"""

import numpy as np

from . import dispatch
from ._common import copy_into
from ._jit import kernel
from .trajectory import input_projection


@kernel
def qr_reorthonormalisation(cell_id, option, Wh, Wx, b, bhn, X, S, Q, warmup, interval, log_r,
                            qr_steps):
    """Evolve the orthonormal frame ``Q`` (m, k) by ``Q <- J_t Q`` and re-orthonormalise.

    A QR factorisation ``J_t ... J_s Q = Q' R`` is taken every ``interval`` steps, at the last
    warm-up step and at the last step.  Steps ``1..warmup`` only align the frame; for every
    later factorisation, row ``r`` of ``log_r`` receives ``log|R_ii|`` (natural log, ``-inf``
    for a collapsed direction) and ``qr_steps[r]`` the step it was taken at.  ``Q`` holds the
    final frame on return.

    Returns the number of rows written, or ``-step`` (negative) when ``J ... Q`` left the
    float64 range before the factorisation due at ``step`` (the interval is too long).
    """
    T = X.shape[0]
    m, k = Q.shape
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    J = np.empty((m, m))
    frame = np.empty((m, k))
    product = np.empty((m, k))
    copy_into(Q, frame)
    row = 0
    for t in range(T):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(cell_id, option, Wh, bhn, xp, S[t], J, work)
        np.dot(J, frame, product)
        step = t + 1
        if step <= warmup:
            due = step % interval == 0 or step == warmup
        else:
            due = (step - warmup) % interval == 0 or step == T
        if not due:
            copy_into(product, frame)
            continue
        for i in range(m):
            for j in range(k):
                if not np.isfinite(product[i, j]):
                    return -step
        q, r = np.linalg.qr(product)
        copy_into(q, frame)
        if step > warmup:
            for j in range(k):
                log_r[row, j] = np.log(abs(r[j, j]))
            qr_steps[row] = step
            row += 1
    copy_into(frame, Q)
    return row
