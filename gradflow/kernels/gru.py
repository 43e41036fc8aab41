"""GRU kernels in the seed's notation, both variants; state ``s = h``.

Gates are stacked in the order (r, z, h): ``Wh[0] = W_rh, Wh[1] = W_zh, Wh[2] = W_hh``;
``xp[g] = W_gx x_t + b_g``.

* ``seed`` (Cho et al. 2014): ``H~ = tanh(W_hh (R * h) + W_hx x + b_h)``.
* ``reset_after`` (PyTorch, cuDNN, Keras): ``H~ = tanh(W_hx x + b_h + R * (W_hh h + b_hn))``.

Both end in ``H = Z * h + (1 - Z) * H~``.  ``work`` (4, n) receives R, Z, H~ and, for
``reset_after``, ``u = W_hh h + b_hn`` (for ``seed``, ``R * h``).
"""

import numpy as np

from ._common import matvec_add, rmatvec_add, sigmoid
from ._jit import kernel


@kernel
def gates(reset_after, Wh, bhn, xp, h, work):
    """The gate values R, Z, H~ and u (or R * h) at hidden state ``h`` into ``work`` (4, n)."""
    n = h.shape[0]
    matvec_add(Wh[0], h, xp[0], work[0])
    matvec_add(Wh[1], h, xp[1], work[1])
    for i in range(n):
        work[0, i] = sigmoid(work[0, i])
        work[1, i] = sigmoid(work[1, i])
    if reset_after:
        matvec_add(Wh[2], h, bhn, work[3])
        for i in range(n):
            work[2, i] = np.tanh(xp[2, i] + work[0, i] * work[3, i])
    else:
        for i in range(n):
            work[3, i] = work[0, i] * h[i]
        matvec_add(Wh[2], work[3], xp[2], work[2])
        for i in range(n):
            work[2, i] = np.tanh(work[2, i])


@kernel
def step(reset_after, Wh, bhn, xp, s, out, work):
    """One forward step ``out = Z * s + (1 - Z) * H~``."""
    gates(reset_after, Wh, bhn, xp, s, work)
    for i in range(s.shape[0]):
        Z = work[1, i]
        out[i] = Z * s[i] + (1.0 - Z) * work[2, i]


@kernel
def jacobian(reset_after, Wh, bhn, xp, s, J, work):
    """Write the (n, n) Jacobian ``dH/dh`` of one step."""
    n = s.shape[0]
    gates(reset_after, Wh, bhn, xp, s, work)
    W_rh = Wh[0]
    W_zh = Wh[1]
    W_hh = Wh[2]
    if reset_after:
        # dH~/dh = diag(1 - H~^2) (diag(R) W_hh + diag(u R') W_rh)
        for i in range(n):
            R = work[0, i]
            Z = work[1, i]
            Ht = work[2, i]
            g = (1.0 - Z) * (1.0 - Ht * Ht)
            gz = (s[i] - Ht) * Z * (1.0 - Z)
            gr = g * work[3, i] * R * (1.0 - R)
            gh = g * R
            for j in range(n):
                J[i, j] = gz * W_zh[i, j] + gh * W_hh[i, j] + gr * W_rh[i, j]
            J[i, i] += Z
    else:
        # dH~/dh = diag(1 - H~^2) W_hh (diag(R) + diag(h R') W_rh): one dense product.
        K = np.empty((n, n))
        for i in range(n):
            R = work[0, i]
            w = s[i] * R * (1.0 - R)
            for j in range(n):
                K[i, j] = w * W_rh[i, j]
            K[i, i] += R
        M = np.dot(W_hh, K)
        for i in range(n):
            Z = work[1, i]
            Ht = work[2, i]
            g = (1.0 - Z) * (1.0 - Ht * Ht)
            gz = (s[i] - Ht) * Z * (1.0 - Z)
            for j in range(n):
                J[i, j] = gz * W_zh[i, j] + g * M[i, j]
            J[i, i] += Z


@kernel
def vjp(reset_after, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Write ``v_prev = J^T v`` and the gate pre-activation gradients of the step.

    ``delta_x[g]`` multiplies ``x`` (and ``b_g``); ``delta_h[g]`` multiplies ``rec_in[g]``
    in ``W_gh``'s gradient; for ``reset_after``, ``delta_h[2]`` is also ``b_hn``'s.
    """
    n = s.shape[0]
    gates(reset_after, Wh, bhn, xp, s, work)
    for i in range(n):
        R = work[0, i]
        Z = work[1, i]
        Ht = work[2, i]
        v_prev[i] = v[i] * Z
        delta_x[1, i] = v[i] * (s[i] - Ht) * Z * (1.0 - Z)
        delta_x[2, i] = v[i] * (1.0 - Z) * (1.0 - Ht * Ht)
        rec_in[0, i] = s[i]
        rec_in[1, i] = s[i]
    if reset_after:
        for i in range(n):
            R = work[0, i]
            delta_h[2, i] = delta_x[2, i] * R
            delta_x[0, i] = delta_x[2, i] * work[3, i] * R * (1.0 - R)
            rec_in[2, i] = s[i]
    else:
        q = np.zeros(n)
        rmatvec_add(Wh[2], delta_x[2], q)
        for i in range(n):
            R = work[0, i]
            delta_h[2, i] = delta_x[2, i]
            delta_x[0, i] = q[i] * s[i] * R * (1.0 - R)
            v_prev[i] += q[i] * R
            rec_in[2, i] = work[3, i]
    for i in range(n):
        delta_h[0, i] = delta_x[0, i]
        delta_h[1, i] = delta_x[1, i]
    rmatvec_add(Wh[0], delta_x[0], v_prev)
    rmatvec_add(Wh[1], delta_x[1], v_prev)
    if reset_after:
        rmatvec_add(Wh[2], delta_h[2], v_prev)
