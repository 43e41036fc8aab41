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

The forward :func:`tangent` keeps what the adjoint needs: ``gates[0] = f'(z)``, ``gates[1] =
f''(z)`` and ``D[0] = W_h V + dXP``.  The adjoint writes the block ``left`` (k + 1, n): rows
``j < k`` are ``dXPbar[:, j]``, row k is ``zbar``; ``dW_h`` is left to
:mod:`gradflow.kernels.floss`, which multiplies blocks of such rows by the matching rows
``(V^T; s^T)`` in one product per chunk of steps.  ``W_h^T`` meets ``left`` in one product too:
``tmp = left W_h`` holds ``Vbar^T`` (less the leak term) and ``ds``.
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
def tangent(act, leak, Wh, bhn, xp, s, V, dXP, out, gates, D):
    """Write ``out = dF[V, dXP]`` (n, k), keeping ``gates`` (slopes) and ``D[0]``."""
    n, k = V.shape
    P = D[0]
    np.dot(Wh[0], V, P)
    for i in range(n):
        z = xp[0, i]
        for c in range(n):
            z += Wh[0, i, c] * s[c]
        d, d2 = slopes(act, z)
        gates[0, i] = d
        gates[1, i] = d2
        for j in range(k):
            P[i, j] += dXP[0, i, j]
            out[i, j] = leak * d * P[i, j]
            if leak != 1.0:
                out[i, j] += (1.0 - leak) * V[i, j]


@kernel
def tangent_adjoint(act, leak, Wh, gates, D, U, lam, left, tmp, ds, Vbar):
    """Gradients of ``phi = <U, dF[V, dXP]> + <lam, F>``: ``left`` (k + 1, n), ``ds``, ``Vbar``.

    ``left[:k]`` is ``dXPbar^T``, ``left[k]`` is ``zbar`` (= ``dxp``, phi's gradient with
    respect to the input projection).  ``lam`` (n,) is the gradient reaching the step's
    output ``F`` (backpropagation through time: it adds ``a f'(z) lam`` to ``zbar`` and
    ``(1 - a) lam`` to ``ds``).  The RNN has no ``b_hn``.
    """
    n, k = U.shape
    P = D[0]
    for i in range(n):
        d = gates[0, i]
        acc = 0.0
        for j in range(k):
            acc += U[i, j] * P[i, j]
            left[j, i] = leak * d * U[i, j]
        left[k, i] = leak * (gates[1, i] * acc + d * lam[i])
    np.dot(left, Wh[0], tmp)
    for i in range(n):
        for j in range(k):
            Vbar[i, j] = tmp[j, i]
            if leak != 1.0:
                Vbar[i, j] += (1.0 - leak) * U[i, j]
        ds[i] = tmp[k, i] + (1.0 - leak) * lam[i]
