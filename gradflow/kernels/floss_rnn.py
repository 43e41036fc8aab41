"""Second-order pieces of the vanilla and leaky RNN for gradient flossing.

The step ``F(s, x) = (1 - a) s + a f(W_h s + W_x x + b_h)`` (leak a; a = 1 is the seed's RNN)
has the tangent (Jacobian-vector product, for ``k`` directions at once) ``dF[V, dXP] = (1 - a)
V + a f'(z) * (W_h V + dXP)``, where ``V`` (n, k) is a state direction, ``dXP`` (1, n, k) the
input direction already projected by ``W_x`` and ``z`` the pre-activation.
:func:`tangent_adjoint` differentiates ``phi = <U, dF[V, dXP]>`` with respect to everything
it depends on:

* the tangent inputs: ``dXPbar = a f'(z) * U`` and ``Vbar = J^T U = (1 - a) U + W_h^T dXPbar``;
* the weight through the tangent: ``dW_h += dXPbar V^T``;
* the primal step: ``zbar = a f''(z) * sum_j U[:, j] (W_h V + dXP)[:, j]``, so ``dW_h +=
  zbar s^T``, ``dxp = zbar`` (``W_x``'s and ``b_h``'s gradient through ``xp = W_x x + b_h``)
  and ``ds = W_h^T zbar`` (the leak term ``(1 - a) V`` depends on neither).

``f''``: tanh ``-2 f (1 - f^2)``, sigmoid ``f (1 - f) (1 - 2 f)``, relu 0 (almost everywhere).
"""

import numpy as np

from ._common import RELU, SIGMOID, TANH, activate
from ._jit import kernel


@kernel
def slopes(act, z):
    """``(f'(z), f''(z))`` of activation ``act``."""
    if act == TANH:
        y = np.tanh(z)
        d = 1.0 - y * y
        return d, -2.0 * y * d
    if act == SIGMOID:
        y = activate(SIGMOID, z)
        d = y * (1.0 - y)
        return d, d * (1.0 - 2.0 * y)
    if act == RELU:
        return (1.0 if z > 0.0 else 0.0), 0.0
    return 0.0, 0.0


@kernel
def _pre_activation(Wh, xp, s):
    return np.dot(Wh[0], s) + xp[0]


@kernel
def tangent(act, leak, Wh, bhn, xp, s, V, dXP, out):
    """Write ``out = dF[V, dXP]`` (n, k): the step's tangent along k directions."""
    z = _pre_activation(Wh, xp, s)
    P = np.dot(Wh[0], V)
    n, k = V.shape
    for i in range(n):
        d, _ = slopes(act, z[i])
        for j in range(k):
            out[i, j] = leak * d * (P[i, j] + dXP[0, i, j])
            if leak != 1.0:
                out[i, j] += (1.0 - leak) * V[i, j]


@kernel
def tangent_adjoint(act, leak, Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar, dXPbar):
    """Gradients of ``phi = <U, dF[V, dXP]>``; adds to ``dWh``, writes the rest.

    ``dxp`` (1, n) is phi's gradient with respect to the input projection ``xp``, ``ds`` (n,)
    with respect to the state, ``Vbar`` (n, k) and ``dXPbar`` (1, n, k) with respect to the
    tangent inputs.  The RNN has no ``b_hn``: ``dbhn`` is not touched.
    """
    z = _pre_activation(Wh, xp, s)
    P = np.dot(Wh[0], V)
    n, k = V.shape
    zbar = np.empty(n)
    for i in range(n):
        d, d2 = slopes(act, z[i])
        acc = 0.0
        for j in range(k):
            acc += U[i, j] * (P[i, j] + dXP[0, i, j])
            dXPbar[0, i, j] = leak * d * U[i, j]
        zbar[i] = leak * d2 * acc
        dxp[0, i] = zbar[i]
    dWh[0] += np.dot(dXPbar[0], V.T) + np.outer(zbar, s)
    Vbar[:, :] = np.dot(Wh[0].T, dXPbar[0])
    if leak != 1.0:
        Vbar[:, :] += (1.0 - leak) * U
    ds[:] = np.dot(Wh[0].T, zbar)
