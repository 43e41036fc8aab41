"""LSTM kernels in the seed's notation, state ``s = concat(h, c)`` of length 2n.

Gates are stacked in the order (f, i, o, c): ``Wh[0] = W_fh, Wh[1] = W_ih, Wh[2] = W_oh,
Wh[3] = W_ch``; ``xp[g] = W_gx x_t + b_g``.  ``work`` (4, n) receives the gate values
F, I, O and the candidate cell C~.  The projected LSTM (kernel option 1) is
:mod:`gradflow.kernels.lstm_projection`.
"""

import numpy as np

from ._common import matvec_add, rmatvec_add, sigmoid
from ._jit import inline_kernel, kernel


@kernel
def gates(Wh, xp, h, work):
    """The gate values F, I, O, C~ at hidden state ``h`` into ``work`` (4, n)."""
    n = Wh.shape[1]
    for g in range(4):
        matvec_add(Wh[g], h, xp[g], work[g])
    for i in range(n):
        work[0, i] = sigmoid(work[0, i])
        work[1, i] = sigmoid(work[1, i])
        work[2, i] = sigmoid(work[2, i])
        work[3, i] = np.tanh(work[3, i])


@kernel
def step(act, Wh, bhn, xp, s, out, work):
    """One forward step from ``s = (h, c)`` to ``out = (H, C)``."""
    n = Wh.shape[1]
    h = s[:n]
    gates(Wh, xp, h, work)
    for i in range(n):
        c_new = work[0, i] * s[n + i] + work[1, i] * work[3, i]
        out[n + i] = c_new
        out[i] = work[2, i] * np.tanh(c_new)


@kernel
def slopes(work, c, i, scale):
    """Unit i's factors of the step Jacobian from its gate values in ``work`` and its cell c.

    Returns ``(F, gf, gi, gc, go, k)``: dC/dh = gf W_fh + gi W_ih + gc W_ch (rows i),
    dH/dh = go W_oh + k dC/dh, dH/dc = k F, dC/dc = F; gf .. go are multiplied by ``scale``.
    """
    F = work[0, i]
    I_ = work[1, i]
    O = work[2, i]
    Ct = work[3, i]
    tC = np.tanh(F * c + I_ * Ct)
    gf = c * F * (1.0 - F) * scale
    gi = Ct * I_ * (1.0 - I_) * scale
    gc = I_ * (1.0 - Ct * Ct) * scale
    go = tC * O * (1.0 - O) * scale
    return F, gf, gi, gc, go, O * (1.0 - tC * tC)


@inline_kernel
def gate_rows(W, i, gf, gi, gc, go, k, dH, dC):
    """Row i of ``dC = gf W_f + gi W_i + gc W_c`` and of ``dH = go W_o + k dC`` into ``dH``, ``dC``.

    ``W`` (4, n, w) is ``W_h`` or ``W_x`` in the gates' order (F, I, O, C); the factors are
    :func:`slopes`'; ``dH`` and ``dC`` are rows of width w.
    """
    W_f = W[0]
    W_i = W[1]
    W_o = W[2]
    W_c = W[3]
    for j in range(dC.shape[0]):
        dc = gf * W_f[i, j] + gi * W_i[i, j] + gc * W_c[i, j]
        dC[j] = dc
        dH[j] = go * W_o[i, j] + k * dc


@kernel
def jacobian_blocks(Wh, xp, s, JL, diag_h, diag_c, scale, work):
    """Write the nonzero parts of the Jacobian of one step, each multiplied by ``scale``.

    ``JL`` (2n, n) receives the dense left half ``d(H, C)/dh``; ``diag_h`` and ``diag_c`` (n,)
    the diagonals of ``dH/dc`` and ``dC/dc`` (the right half is diagonal: the additive cell
    path).  ``scale`` is a power of two, so the scaled entries are exact.
    """
    n = Wh.shape[1]
    gates(Wh, xp, s[:n], work)
    for i in range(n):
        F, gf, gi, gc, go, k = slopes(work, s[n + i], i, scale)
        gate_rows(Wh, i, gf, gi, gc, go, k, JL[i], JL[n + i])
        diag_h[i] = k * F * scale
        diag_c[i] = F * scale


@kernel
def input_jacobian(Wh, Wx, xp, s, JX, work):
    """Write ``JX`` (2n, d) = ``d(H, C)/dx``, the Jacobian of one step with respect to its input.

    The same factors as :func:`jacobian_blocks` with each gate's ``W_gx`` in place of its
    ``W_gh``: ``x`` enters the pre-activations beside ``h``.
    """
    n = Wh.shape[1]
    gates(Wh, xp, s[:n], work)
    for i in range(n):
        _, gf, gi, gc, go, k = slopes(work, s[n + i], i, 1.0)
        gate_rows(Wx, i, gf, gi, gc, go, k, JX[i], JX[n + i])


@kernel
def jacobian(act, Wh, bhn, xp, s, J, work):
    """Write the (2n, 2n) Jacobian ``d(H, C)/d(h, c)`` of one step."""
    n = Wh.shape[1]
    diag_h = np.empty(n)
    diag_c = np.empty(n)
    jacobian_blocks(Wh, xp, s, J[:, :n], diag_h, diag_c, 1.0, work)
    for i in range(n):
        for j in range(n):
            J[i, n + j] = 0.0
            J[n + i, n + j] = 0.0
        J[i, n + i] = diag_h[i]
        J[n + i, n + i] = diag_c[i]


@kernel
def vjp(act, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Write ``v_prev = J^T v`` (v = (dL/dH, dL/dC)) and the gate pre-activation gradients."""
    n = Wh.shape[1]
    h = s[:n]
    gates(Wh, xp, h, work)
    for i in range(n):
        F = work[0, i]
        I_ = work[1, i]
        O = work[2, i]
        Ct = work[3, i]
        c = s[n + i]
        tC = np.tanh(F * c + I_ * Ct)
        u = v[n + i] + v[i] * O * (1.0 - tC * tC)
        delta_x[0, i] = u * c * F * (1.0 - F)
        delta_x[1, i] = u * Ct * I_ * (1.0 - I_)
        delta_x[2, i] = v[i] * tC * O * (1.0 - O)
        delta_x[3, i] = u * I_ * (1.0 - Ct * Ct)
        v_prev[n + i] = u * F
        v_prev[i] = 0.0
    for g in range(4):
        for i in range(n):
            delta_h[g, i] = delta_x[g, i]
            rec_in[g, i] = h[i]
        rmatvec_add(Wh[g], delta_x[g], v_prev[:n])
