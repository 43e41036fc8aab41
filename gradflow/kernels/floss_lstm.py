"""Second-order pieces of the LSTM for gradient flossing; state ``s = (h, c)``.

Gates as in :mod:`gradflow.kernels.lstm` (order f, i, o, c).  Along k directions ``V = (Vh,
Vc)`` (2n, k) and input directions ``dXP[g] = W_gx X`` (4, n, k), with ``D_g = W_gh Vh +
dXP[g]`` the tangent pre-activations, the step's tangent is::

    dC = F' D_f c + F Vc + I' D_i Ct + I Ct' D_c        (F' = F (1 - F), Ct' = 1 - Ct^2)
    dH = O' D_o tC + O tC' dC                           (tC = tanh(C), tC' = 1 - tC^2)

:func:`tangent_adjoint` differentiates ``phi = <Uh, dH> + <Uc, dC>``.  With ``dCbar = Uc + Uh
O tC'`` (phi's gradient in dC), the tangent pre-activations get ``Dbar_f = dCbar F' c``,
``Dbar_i = dCbar I' Ct``, ``Dbar_c = dCbar I Ct'``, ``Dbar_o = Uh tC O'`` (so ``dW_gh +=
Dbar_g Vh^T``, ``Vbar_h = sum_g W_gh^T Dbar_g``, ``Vbar_c = dCbar F``); the primal values, summed
over the directions::

    Obar  = Uh tC (1 - 2 O) D_o + Uh tC' dC             tCbar = Uh O' D_o - 2 Uh O tC dC
    Fbar  = dCbar ((1 - 2 F) D_f c + Vc)                 cbar  = dCbar F' D_f
    Ibar  = dCbar ((1 - 2 I) D_i Ct + Ct' D_c)           Ctbar = dCbar (I' D_i - 2 I Ct D_c)

then through ``C = F c + I Ct`` (``Cbar = tCbar tC'``) and the gates' pre-activations
``a_g = W_gh h + xp_g``: ``dW_gh += abar_g h^T``, ``dxp_g = abar_g``, ``ds_h = sum_g W_gh^T
abar_g``, ``ds_c = cbar``.

The forward :func:`tangent` keeps the gate values (and ``tC``) in ``gates`` and ``D_g`` in
``D``; the adjoint writes ``Dbar_g^T`` into rows ``j < k`` of ``left`` (k + 1, 4n) and
``abar_g`` into row k, and ``tmp = left W`` (``W`` the four ``W_gh`` stacked) gives ``Vbar_h^T``
and ``ds_h`` in one product; ``dW_gh`` is left to :mod:`gradflow.kernels.floss`.
"""

import numpy as np

from ._jit import kernel
from .lstm import gates as cell_gates


@kernel
def tangent(act, Wh, bhn, xp, s, V, dXP, out, gates, D):
    """Write ``out = (dH, dC)`` (2n, k), keeping the gate values and ``D_g``."""
    n = Wh.shape[1]
    k = V.shape[1]
    cell_gates(Wh, xp, s[:n], gates)
    flat = D.reshape(4 * n, k)
    np.dot(Wh.reshape(4 * n, n), V[:n], flat)
    for i in range(n):
        F, I_, O, Ct = gates[0, i], gates[1, i], gates[2, i], gates[3, i]
        c = s[n + i]
        tC = np.tanh(F * c + I_ * Ct)
        gates[4, i] = tC
        for j in range(k):
            for g in range(4):
                D[g, i, j] += dXP[g, i, j]
            dC = (F * (1.0 - F) * D[0, i, j] * c + F * V[n + i, j]
                  + I_ * (1.0 - I_) * D[1, i, j] * Ct + I_ * (1.0 - Ct * Ct) * D[3, i, j])
            out[n + i, j] = dC
            out[i, j] = O * (1.0 - O) * D[2, i, j] * tC + O * (1.0 - tC * tC) * dC


@kernel
def tangent_adjoint(act, Wh, s, gates, D, U, V, lam, left, tmp, ds, Vbar):
    """Gradients of ``phi = <U, (dH, dC)> + <lam, (H, C)>``: ``left`` (k + 1, 4n), ``ds``, ``Vbar``.

    ``left[:k]`` is ``dXPbar^T`` (gate-major columns), ``left[k]`` is ``dxp``; ``lam`` (2n,) is
    the gradient reaching the step's output (backpropagation through time); no ``b_hn``.
    """
    n = Wh.shape[1]
    k = V.shape[1]
    for i in range(n):
        F, I_, O, Ct, tC = gates[0, i], gates[1, i], gates[2, i], gates[3, i], gates[4, i]
        c = s[n + i]
        dF = F * (1.0 - F)
        dI = I_ * (1.0 - I_)
        dO = O * (1.0 - O)
        dCt = 1.0 - Ct * Ct
        dtC = 1.0 - tC * tC
        Obar = lam[i] * tC
        tCbar = lam[i] * O
        Fbar = cbar = Ibar = Ctbar = 0.0
        for j in range(k):
            Df, Di, Do, Dc = D[0, i, j], D[1, i, j], D[2, i, j], D[3, i, j]
            Vc = V[n + i, j]
            uh = U[i, j]
            dC = dF * Df * c + F * Vc + dI * Di * Ct + I_ * dCt * Dc
            dCbar = U[n + i, j] + uh * O * dtC
            left[j, i] = dCbar * dF * c
            left[j, n + i] = dCbar * dI * Ct
            left[j, 2 * n + i] = uh * tC * dO
            left[j, 3 * n + i] = dCbar * I_ * dCt
            Vbar[n + i, j] = dCbar * F
            Obar += uh * tC * (1.0 - 2.0 * O) * Do + uh * dtC * dC
            tCbar += uh * dO * Do - 2.0 * uh * O * tC * dC
            Fbar += dCbar * ((1.0 - 2.0 * F) * Df * c + Vc)
            cbar += dCbar * dF * Df
            Ibar += dCbar * ((1.0 - 2.0 * I_) * Di * Ct + dCt * Dc)
            Ctbar += dCbar * (dI * Di - 2.0 * I_ * Ct * Dc)
        Cbar = tCbar * dtC + lam[n + i]
        Fbar += Cbar * c
        cbar += Cbar * F
        Ibar += Cbar * Ct
        Ctbar += Cbar * I_
        left[k, i] = Fbar * dF
        left[k, n + i] = Ibar * dI
        left[k, 2 * n + i] = Obar * dO
        left[k, 3 * n + i] = Ctbar * dCt
        ds[n + i] = cbar
    np.dot(left, Wh.reshape(4 * n, n), tmp)
    for i in range(n):
        for j in range(k):
            Vbar[i, j] = tmp[j, i]
        ds[i] = tmp[k, i]
