"""Vanilla and leaky RNN kernels: ``h_t = (1 - a) h_{t-1} + a f(W_h h_{t-1} + W_x x_t + b_h)``.

Weights arrive stacked as ``Wh`` (1, n, n); ``xp`` (1, n) is the input projection
``W_x x_t + b_h`` of the current step; ``leak`` is a in (0, 1].  At ``leak == 1`` (the seed's
RNN) every kernel takes the branch without the leak terms, so its arithmetic is exactly the
vanilla RNN's.
"""

from ._common import activate, activation_slope, matvec_add, rmatvec_add
from ._jit import kernel


@kernel
def step(act, leak, Wh, bhn, xp, s, out, work):
    """One step: ``out = (1 - leak) s + leak f(W_h s + xp)``; ``work[0]``: pre-activation."""
    a = work[0]
    matvec_add(Wh[0], s, xp[0], a)
    if leak == 1.0:
        for i in range(a.shape[0]):
            out[i] = activate(act, a[i])
    else:
        keep = 1.0 - leak
        for i in range(a.shape[0]):
            out[i] = keep * s[i] + leak * activate(act, a[i])


@kernel
def jacobian(act, leak, Wh, bhn, xp, s, J, work):
    """Write ``J = (1 - leak) I + leak diag(f'(a)) W_h`` for the step leaving state ``s``."""
    a = work[0]
    matvec_add(Wh[0], s, xp[0], a)
    W = Wh[0]
    n = a.shape[0]
    for i in range(n):
        d = activation_slope(act, a[i], activate(act, a[i]))
        if leak != 1.0:
            d = leak * d
        for j in range(n):
            J[i, j] = d * W[i, j]
        if leak != 1.0:
            J[i, i] += 1.0 - leak


@kernel
def vjp(act, leak, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Write ``v_prev = J^T v`` and the pre-activation gradients of the step."""
    a = work[0]
    matvec_add(Wh[0], s, xp[0], a)
    n = a.shape[0]
    keep = 1.0 - leak
    for i in range(n):
        d = activation_slope(act, a[i], activate(act, a[i]))
        if leak != 1.0:
            d = leak * d
        delta_x[0, i] = v[i] * d
        delta_h[0, i] = v[i] * d
        rec_in[0, i] = s[i]
        v_prev[i] = 0.0 if leak == 1.0 else keep * v[i]
    rmatvec_add(Wh[0], delta_h[0], v_prev)
