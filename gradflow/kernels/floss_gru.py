"""Second-order pieces of the GRU (both variants) for gradient flossing; state ``s = h``.

Gates as in :mod:`gradflow.kernels.gru` (order r, z, h; ``work[3]`` holds ``u = R * h`` for
``seed`` and ``q = W_hh h + b_hn`` for ``reset_after``).  Along k directions ``V`` (n, k) and
input directions ``dXP[g] = W_gx X`` (3, n, k): ``D_r = W_rh V + dXP[0]``, ``D_z = W_zh V +
dXP[1]``, ``dR = R' D_r``, ``dZ = Z' D_z`` and the candidate's tangent pre-activation

* ``seed``: ``du = dR h + R V``, ``D_h = W_hh du + dXP[2]``;
* ``reset_after``: ``dq = W_hh V``, ``D_h = dR q + R dq + dXP[2]``;

then ``dH = dZ (h - H~) + Z V + (1 - Z) H~' D_h``.  :func:`tangent_adjoint` differentiates
``phi = <U, dH>``.  With ``g = U (1 - Z) H~'`` (phi's gradient in ``D_h``), summed over the
directions, the primal values get::

    Zbar  = U ((1 - 2 Z) D_z (h - H~) + V - H~' D_h)
    H~bar = -U dZ - 2 H~ U (1 - Z) D_h
    hbar  = U dZ (+ ubar_t dR for seed)
    Rbar  = ubar_t ((1 - 2 R) D_r h + V)                  (seed)
    Rbar  = g ((1 - 2 R) D_r q + dq),   qbar = g dR       (reset_after)

with ``ubar_t = W_hh^T g`` (seed), and then the primal chain through ``H~ = tanh(a_h)``, the
reset and the gates' pre-activations ``a_g = W_gh (.) + xp_g``.
"""

import numpy as np

from ._jit import kernel
from .gru import _gates


@kernel
def _tangents(reset_after, Wh, work, s, V, dXP):
    """``(D_r, D_z, dR, dZ, du or dq, D_h)``, each (n, k)."""
    n, k = V.shape
    gates = np.dot(Wh.reshape(3 * n, n)[:2 * n], V)
    Dr = gates[:n] + dXP[0]
    Dz = gates[n:] + dXP[1]
    dR = np.empty((n, k))
    dZ = np.empty((n, k))
    for i in range(n):
        R = work[0, i]
        Z = work[1, i]
        for j in range(k):
            dR[i, j] = R * (1.0 - R) * Dr[i, j]
            dZ[i, j] = Z * (1.0 - Z) * Dz[i, j]
    if reset_after:
        w = np.dot(Wh[2], V)  # dq
        Dh = dXP[2].copy()
        for i in range(n):
            for j in range(k):
                Dh[i, j] += dR[i, j] * work[3, i] + work[0, i] * w[i, j]
    else:
        w = np.empty((n, k))  # du
        for i in range(n):
            for j in range(k):
                w[i, j] = dR[i, j] * s[i] + work[0, i] * V[i, j]
        Dh = np.dot(Wh[2], w) + dXP[2]
    return Dr, Dz, dR, dZ, w, Dh


@kernel
def tangent(reset_after, Wh, bhn, xp, s, V, dXP, out):
    """Write ``out = dH`` (n, k): the step's tangent along k directions."""
    n, k = V.shape
    work = np.empty((4, n))
    _gates(reset_after, Wh, bhn, xp, s, work)
    Dr, Dz, dR, dZ, w, Dh = _tangents(reset_after, Wh, work, s, V, dXP)
    for i in range(n):
        Z = work[1, i]
        Ht = work[2, i]
        for j in range(k):
            out[i, j] = (dZ[i, j] * (s[i] - Ht) + Z * V[i, j]
                         + (1.0 - Z) * (1.0 - Ht * Ht) * Dh[i, j])


@kernel
def tangent_adjoint(reset_after, Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar, dXPbar):
    """Gradients of ``phi = <U, dH>``; adds to ``dWh`` and ``dbhn``, writes the rest."""
    n, k = V.shape
    work = np.empty((4, n))
    _gates(reset_after, Wh, bhn, xp, s, work)
    Dr, Dz, dR, dZ, w, Dh = _tangents(reset_after, Wh, work, s, V, dXP)
    g = np.empty((n, k))
    for i in range(n):
        Z = work[1, i]
        Ht = work[2, i]
        for j in range(k):
            g[i, j] = U[i, j] * (1.0 - Z) * (1.0 - Ht * Ht)
            dXPbar[1, i, j] = U[i, j] * (s[i] - Ht) * Z * (1.0 - Z)
    dXPbar[2] = g
    Zbar = np.zeros(n)
    Htbar = np.zeros(n)
    hbar = np.zeros(n)
    Rbar = np.zeros(n)
    qbar = np.zeros(n)
    if reset_after:
        dqbar = np.empty((n, k))
        for i in range(n):
            R = work[0, i]
            q = work[3, i]
            for j in range(k):
                dXPbar[0, i, j] = g[i, j] * q * R * (1.0 - R)
                dqbar[i, j] = g[i, j] * R
                Rbar[i] += g[i, j] * ((1.0 - 2.0 * R) * Dr[i, j] * q + w[i, j])
                qbar[i] += g[i, j] * dR[i, j]
        dWh[2] += np.dot(dqbar, V.T)
        Vbar[:, :] = np.dot(Wh[2].T, dqbar)
    else:
        ubar_t = np.dot(Wh[2].T, g)
        for i in range(n):
            R = work[0, i]
            for j in range(k):
                dXPbar[0, i, j] = ubar_t[i, j] * s[i] * R * (1.0 - R)
                Vbar[i, j] = ubar_t[i, j] * R
                Rbar[i] += ubar_t[i, j] * ((1.0 - 2.0 * R) * Dr[i, j] * s[i] + V[i, j])
                hbar[i] += ubar_t[i, j] * dR[i, j]
        dWh[2] += np.dot(g, w.T)
    for i in range(n):
        Z = work[1, i]
        Ht = work[2, i]
        for j in range(k):
            Vbar[i, j] += U[i, j] * Z
            Zbar[i] += U[i, j] * ((1.0 - 2.0 * Z) * Dz[i, j] * (s[i] - Ht) + V[i, j]
                                  - (1.0 - Ht * Ht) * Dh[i, j])
            Htbar[i] -= U[i, j] * (dZ[i, j] + 2.0 * Ht * (1.0 - Z) * Dh[i, j])
            hbar[i] += U[i, j] * dZ[i, j]
    rz = Wh.reshape(3 * n, n)[:2 * n]  # W_rh and W_zh, stacked
    rz_bar = dXPbar.reshape(3 * n, k)[:2 * n]
    Vbar[:, :] += np.dot(rz.T, rz_bar)
    # The primal chain: H~ = tanh(a_h), the reset, the gates' pre-activations.
    ahbar = np.empty(n)
    for i in range(n):
        Ht = work[2, i]
        ahbar[i] = Htbar[i] * (1.0 - Ht * Ht)
        dxp[2, i] = ahbar[i]
    if reset_after:
        for i in range(n):
            Rbar[i] += ahbar[i] * work[3, i]
            qbar[i] += ahbar[i] * work[0, i]
            dbhn[i] += qbar[i]
        dWh[2] += np.outer(qbar, s)
        hbar += np.dot(Wh[2].T, qbar)
    else:
        dWh[2] += np.outer(ahbar, work[3])
        ubar = np.dot(Wh[2].T, ahbar)
        for i in range(n):
            Rbar[i] += ubar[i] * s[i]
            hbar[i] += ubar[i] * work[0, i]
    for i in range(n):
        R = work[0, i]
        Z = work[1, i]
        dxp[0, i] = Rbar[i] * R * (1.0 - R)
        dxp[1, i] = Zbar[i] * Z * (1.0 - Z)
    rz_grads = dxp.reshape(3 * n)[:2 * n]
    dWh.reshape(3 * n, n)[:2 * n] += np.dot(rz_bar, V.T) + np.outer(rz_grads, s)
    hbar += np.dot(rz.T, rz_grads)
    ds[:] = hbar
