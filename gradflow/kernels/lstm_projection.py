"""LSTM kernels with a projected hidden state (``torch.nn.LSTM(proj_size=p)``).

``H = W_hr M`` with ``M = O * tanh(C)``: h has p entries, c has n, the state is
``s = concat(h, c)`` of length p + n.  Gates are stacked as in :mod:`gradflow.kernels.lstm`,
(f, i, o, c), with the recurrent matrices (n, p), and a fifth block ``Wh[4] = W_hr^T``
(n, p), so ``Wh`` is (5, n, p).  ``work`` (4, n) receives F, I, O and C~.

The VJP gives the gradient of ``W_hr^T`` as a fifth recurrent block: ``delta_h[4] = M`` and
``rec_in[4] = dL/dH`` when ``delta_h`` has five rows.
"""

import numpy as np

from ._common import rmatvec_add
from ._jit import kernel
from .lstm import gate_rows, gates, slopes

#: Index of ``W_hr^T`` in ``Wh``.
PROJECTION = 4


@kernel
def step(Wh, xp, s, out, work):
    """One forward step from ``s = (h, c)`` to ``out = (H, C)``, ``H = W_hr (O * tanh(C))``."""
    n, p = Wh.shape[1], Wh.shape[2]
    gates(Wh, xp, s[:p], work)
    W_rT = Wh[PROJECTION]
    for j in range(p):
        out[j] = 0.0
    for i in range(n):
        c_new = work[0, i] * s[p + i] + work[1, i] * work[3, i]
        out[p + i] = c_new
        M = work[2, i] * np.tanh(c_new)
        for j in range(p):
            out[j] += W_rT[i, j] * M


@kernel
def jacobian(Wh, xp, s, J, work):
    """Write the (p + n, p + n) Jacobian ``d(H, C)/d(h, c)`` of one step.

    ``dC/dh`` is the unprojected cell's, ``dC/dc = diag(F)``; ``dH/dh = W_hr dM/dh`` and
    ``dH/dc = W_hr diag(O (1 - tanh(C)^2) F)``, ``dM/dh`` as the unprojected ``dH/dh``.
    """
    n, p = Wh.shape[1], Wh.shape[2]
    gates(Wh, xp, s[:p], work)
    W_rT = Wh[PROJECTION]
    dM = np.empty((n, p))
    kF = np.empty(n)
    for i in range(n):
        F, gf, gi, gc, go, k = slopes(work, s[p + i], i, 1.0)
        gate_rows(Wh, i, gf, gi, gc, go, k, dM[i], J[p + i, :p])
        for j in range(n):
            J[p + i, p + j] = 0.0
        J[p + i, p + i] = F
        kF[i] = k * F
    for r in range(p):
        for j in range(p):
            J[r, j] = 0.0
        for j in range(n):
            J[r, p + j] = W_rT[j, r] * kF[j]
    for i in range(n):
        for r in range(p):
            w = W_rT[i, r]
            if w != 0.0:
                for j in range(p):
                    J[r, j] += w * dM[i, j]


@kernel
def vjp(Wh, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Write ``v_prev = J^T v`` (v = (dL/dH, dL/dC)) and the gate pre-activation gradients."""
    n, p = Wh.shape[1], Wh.shape[2]
    h = s[:p]
    gates(Wh, xp, h, work)
    W_rT = Wh[PROJECTION]
    projection_rows = delta_h.shape[0] > PROJECTION
    for i in range(n):
        F = work[0, i]
        I_ = work[1, i]
        O = work[2, i]
        Ct = work[3, i]
        c = s[p + i]
        tC = np.tanh(F * c + I_ * Ct)
        gm = 0.0  # dL/dM_i = (W_hr^T dL/dH)_i
        for r in range(p):
            gm += W_rT[i, r] * v[r]
        u = v[p + i] + gm * O * (1.0 - tC * tC)
        delta_x[0, i] = u * c * F * (1.0 - F)
        delta_x[1, i] = u * Ct * I_ * (1.0 - I_)
        delta_x[2, i] = gm * tC * O * (1.0 - O)
        delta_x[3, i] = u * I_ * (1.0 - Ct * Ct)
        v_prev[p + i] = u * F
        if projection_rows:
            delta_h[PROJECTION, i] = O * tC
    for j in range(p):
        v_prev[j] = 0.0
    for g in range(4):
        for i in range(n):
            delta_h[g, i] = delta_x[g, i]
        for j in range(p):
            rec_in[g, j] = h[j]
        rmatvec_add(Wh[g], delta_x[g], v_prev[:p])
    if projection_rows:
        for j in range(p):
            rec_in[PROJECTION, j] = v[j]
