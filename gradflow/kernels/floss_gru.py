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

The forward :func:`tangent` keeps the gate values in ``gates`` and the tangent
pre-activations in ``D`` (3, n, k) and ``aux`` (n, k): ``D = (D_r, D_z, D_h)``, ``aux = du``
(``seed``); ``D = (D_r, D_z, dq)``, ``aux = D_h`` (``reset_after``: ``D`` is then one product
``W V`` of the three stacked ``W_gh``).  The adjoint writes the ``W_gh``-facing gradients as
rows: ``left`` (k + 1, .) holds the ``D``-adjoints (rows ``j < k``) and the primal ones (row
k) of the gates whose right factors are ``(V^T; h^T)``; for ``seed`` these are r and z alone,
and the candidate's, ``(g; ahbar)`` with right factors ``(du^T; u^T)``, go to ``left2`` and
``right2``.  ``dW_gh`` is left to :mod:`gradflow.kernels.floss`.
"""

import numpy as np

from ._jit import kernel
from .gru import gates as cell_gates


@kernel
def tangent(reset_after, Wh, bhn, xp, s, V, dXP, out, gates, D, aux):
    """Write ``out = dH`` (n, k), keeping the gate values, ``D`` and ``aux``."""
    n, k = V.shape
    cell_gates(reset_after, Wh, bhn, xp, s, gates)
    flat = D.reshape(3 * n, k)
    if reset_after:
        np.dot(Wh.reshape(3 * n, n), V, flat)
    else:
        np.dot(Wh.reshape(3 * n, n)[:2 * n], V, flat[:2 * n])
    for i in range(n):
        R = gates[0, i]
        for j in range(k):
            D[0, i, j] += dXP[0, i, j]
            D[1, i, j] += dXP[1, i, j]
            dR = R * (1.0 - R) * D[0, i, j]
            if reset_after:
                aux[i, j] = dXP[2, i, j] + dR * gates[3, i] + R * D[2, i, j]
            else:
                aux[i, j] = dR * s[i] + R * V[i, j]
    Dh = aux
    if not reset_after:
        Dh = D[2]
        np.dot(Wh[2], aux, Dh)
        for i in range(n):
            for j in range(k):
                Dh[i, j] += dXP[2, i, j]
    for i in range(n):
        Z = gates[1, i]
        Ht = gates[2, i]
        for j in range(k):
            out[i, j] = (Z * (1.0 - Z) * D[1, i, j] * (s[i] - Ht) + Z * V[i, j]
                         + (1.0 - Z) * (1.0 - Ht * Ht) * Dh[i, j])


@kernel
def tangent_adjoint(reset_after, Wh, s, gates, D, aux, U, V, lam, left, left2, right2, tmp,
                    ds, Vbar, dxp, dbhn, inputs_move, dXPbar):
    """Gradients of ``phi = <U, dH> + <lam, H>``; adds to ``dbhn``, writes the rest.

    ``lam`` (n,) is the gradient reaching the step's output ``H`` (backpropagation through
    time: ``Zbar += lam (h - H~)``, ``H~bar += lam (1 - Z)``, ``hbar += lam Z``).  ``dxp`` (3, n)
    and, when ``inputs_move``, ``dXPbar`` (3, n, k) are phi's gradients with respect to the
    input projection and the input directions.
    """
    n, k = V.shape
    for i in range(n):
        R = gates[0, i]
        Z = gates[1, i]
        Ht = gates[2, i]
        q = gates[3, i]
        Z_slope = Z * (1.0 - Z)
        Ht_slope = 1.0 - Ht * Ht
        Zbar = lam[i] * (s[i] - Ht)
        Htbar = lam[i] * (1.0 - Z)
        hbar = lam[i] * Z
        Rbar = qbar = 0.0
        for j in range(k):
            Dh = aux[i, j] if reset_after else D[2, i, j]
            u = U[i, j]
            dZ = Z_slope * D[1, i, j]
            Zbar += u * ((1.0 - 2.0 * Z) * D[1, i, j] * (s[i] - Ht) + V[i, j] - Ht_slope * Dh)
            Htbar -= u * (dZ + 2.0 * Ht * (1.0 - Z) * Dh)
            hbar += u * dZ
            g = u * (1.0 - Z) * Ht_slope
            left[j, n + i] = u * (s[i] - Ht) * Z_slope
            Vbar[i, j] = u * Z
            if reset_after:
                dR = R * (1.0 - R) * D[0, i, j]
                left[j, i] = g * q * R * (1.0 - R)
                left[j, 2 * n + i] = g * R
                Rbar += g * ((1.0 - 2.0 * R) * D[0, i, j] * q + D[2, i, j])
                qbar += g * dR
            else:
                left2[j, i] = g
            if inputs_move:
                dXPbar[2, i, j] = g
        ahbar = Htbar * Ht_slope
        dxp[2, i] = ahbar
        ds[i] = hbar
        if reset_after:
            Rbar += ahbar * q
            qbar += ahbar * R
            dbhn[i] += qbar
            left[k, 2 * n + i] = qbar
            left[k, i] = Rbar * R * (1.0 - R)
        else:
            left2[k, i] = ahbar
        left[k, n + i] = Zbar * Z_slope
    if not reset_after:
        np.dot(left2, Wh[2], tmp)  # (ubar_t^T; ubar)
        for i in range(n):
            R = gates[0, i]
            ubar = tmp[k, i]
            Rbar = ubar * s[i]
            ds[i] += ubar * R
            for j in range(k):
                ut = tmp[j, i]
                left[j, i] = ut * s[i] * R * (1.0 - R)
                Vbar[i, j] += ut * R
                Rbar += ut * ((1.0 - 2.0 * R) * D[0, i, j] * s[i] + V[i, j])
                ds[i] += ut * R * (1.0 - R) * D[0, i, j]
                right2[j, i] = aux[i, j]
            right2[k, i] = gates[3, i]
            left[k, i] = Rbar * R * (1.0 - R)
    width = left.shape[1]
    np.dot(left, Wh.reshape(3 * n, n)[:width], tmp)
    for i in range(n):
        dxp[0, i] = left[k, i]
        dxp[1, i] = left[k, n + i]
        ds[i] += tmp[k, i]
        for j in range(k):
            Vbar[i, j] += tmp[j, i]
            if inputs_move:
                dXPbar[0, i, j] = left[j, i]
                dXPbar[1, i, j] = left[j, n + i]
