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
"""

import numpy as np

from ._jit import kernel
from .lstm import gates


@kernel
def _tangent_gates(Wh, V, dXP, n):
    """``D_g = W_gh Vh + dXP[g]`` for the four gates, as one product."""
    k = V.shape[1]
    return np.dot(Wh.reshape(4 * n, n), np.ascontiguousarray(V[:n])).reshape(4, n, k) + dXP


@kernel
def tangent(act, Wh, bhn, xp, s, V, dXP, out):
    """Write ``out = (dH, dC)`` (2n, k): the step's tangent along k directions."""
    n = Wh.shape[1]
    k = V.shape[1]
    work = np.empty((4, n))
    gates(Wh, xp, s[:n], work)
    D = _tangent_gates(Wh, V, dXP, n)
    for i in range(n):
        F, I_, O, Ct = work[0, i], work[1, i], work[2, i], work[3, i]
        c = s[n + i]
        tC = np.tanh(F * c + I_ * Ct)
        for j in range(k):
            dC = (F * (1.0 - F) * D[0, i, j] * c + F * V[n + i, j]
                  + I_ * (1.0 - I_) * D[1, i, j] * Ct + I_ * (1.0 - Ct * Ct) * D[3, i, j])
            out[n + i, j] = dC
            out[i, j] = O * (1.0 - O) * D[2, i, j] * tC + O * (1.0 - tC * tC) * dC


@kernel
def tangent_adjoint(act, Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar, dXPbar):
    """Gradients of ``phi = <U, (dH, dC)>``; adds to ``dWh``, writes the rest (no ``b_hn``)."""
    n = Wh.shape[1]
    k = V.shape[1]
    h = s[:n]
    work = np.empty((4, n))
    gates(Wh, xp, h, work)
    D = _tangent_gates(Wh, V, dXP, n)
    abar = np.empty((4, n))
    for i in range(n):
        F, I_, O, Ct = work[0, i], work[1, i], work[2, i], work[3, i]
        c = s[n + i]
        tC = np.tanh(F * c + I_ * Ct)
        dF = F * (1.0 - F)
        dI = I_ * (1.0 - I_)
        dO = O * (1.0 - O)
        dCt = 1.0 - Ct * Ct
        dtC = 1.0 - tC * tC
        Obar = tCbar = Fbar = cbar = Ibar = Ctbar = 0.0
        for j in range(k):
            Df, Di, Do, Dc = D[0, i, j], D[1, i, j], D[2, i, j], D[3, i, j]
            Vc = V[n + i, j]
            uh = U[i, j]
            dC = dF * Df * c + F * Vc + dI * Di * Ct + I_ * dCt * Dc
            dCbar = U[n + i, j] + uh * O * dtC
            dXPbar[0, i, j] = dCbar * dF * c
            dXPbar[1, i, j] = dCbar * dI * Ct
            dXPbar[2, i, j] = uh * tC * dO
            dXPbar[3, i, j] = dCbar * I_ * dCt
            Vbar[n + i, j] = dCbar * F
            Obar += uh * tC * (1.0 - 2.0 * O) * Do + uh * dtC * dC
            tCbar += uh * dO * Do - 2.0 * uh * O * tC * dC
            Fbar += dCbar * ((1.0 - 2.0 * F) * Df * c + Vc)
            cbar += dCbar * dF * Df
            Ibar += dCbar * ((1.0 - 2.0 * I_) * Di * Ct + dCt * Dc)
            Ctbar += dCbar * (dI * Di - 2.0 * I_ * Ct * Dc)
        Cbar = tCbar * dtC
        Fbar += Cbar * c
        cbar += Cbar * F
        Ibar += Cbar * Ct
        Ctbar += Cbar * I_
        abar[0, i] = Fbar * dF
        abar[1, i] = Ibar * dI
        abar[2, i] = Obar * dO
        abar[3, i] = Ctbar * dCt
        ds[n + i] = cbar
    Vh = np.ascontiguousarray(V[:n])
    flat = Wh.reshape(4 * n, n)
    Dbar = dXPbar.reshape(4 * n, k)
    gate_grads = abar.reshape(4 * n)
    dWh.reshape(4 * n, n)[:, :] += np.dot(Dbar, Vh.T) + np.outer(gate_grads, h)
    Vbar[:n] = np.dot(flat.T, Dbar)
    ds[:n] = np.dot(flat.T, gate_grads)
    dxp[:, :] = abar
