"""Gradient flossing: the QR chain of ``J_t Q`` and its exact backpropagation.

One sequence of a stack of L layers of one cell (a single cell is L = 1).  Weights arrive
stacked per layer: ``Wh`` (L, G, n, n), ``Wx`` (L, G, n, D), ``b`` (L, G, n), ``bhn`` (L, n), with
every layer's input padded with zeros to the common width ``D``; ``X`` (T, D) are the padded
inputs of layer 0; layer l > 0 reads the hidden part (the first n entries) of layer l-1's new
state.  ``S`` (T + 1, M) is the network state (layer by layer, each ``m1 = M / L`` long) as in
:mod:`gradflow.kernels.trajectory`: ``X[t]`` drives step ``t + 1``, which leaves ``S[t + 1]``.

Forward (:func:`qr_chain`): ``A_t = J_t Q_{t-1} = Q_t R_t`` every step from ``Q_0``, the tangent
of the network step along the k columns of ``Q_{t-1}`` (layer by layer: each layer's input
direction is the hidden part of the tangent of the layer below).  The exponents are
``lambda_i = sum_{t > warmup} ln |R_t[i, i]| / (T - warmup)``.

Backward (:func:`qr_chain_backward`), for the loss ``mean_i (lambda_i - target)^2``:
``Rbar_t = diag(c_i / R_t[i, i])`` with ``c_i = 2 (lambda_i - target) / (k (T - warmup))``;
the adjoint of the thin QR (:func:`qr_adjoint`) gives ``Abar_t``; the tangent adjoint of each
layer (:mod:`gradflow.kernels.floss_cells`) gives ``Qbar_{t-1} = J_t^T Abar_t``, the weights'
direct gradients and the direct gradients ``Gd`` of the states ``J_t`` is evaluated at, which
ordinary backpropagation through time then carries back along the trajectory.
"""

import numpy as np

from . import floss_cells
from ._jit import kernel
from .trajectory import input_projection


@kernel
def qr_adjoint(Q, R, Qbar, rbar, Abar):
    """``Abar`` of the thin QR ``A = Q R`` (A (M, k), M >= k), given ``Qbar`` and diagonal ``Rbar``.

    ``M_ = R Rbar^T - Qbar^T Q``, ``Abar = (Qbar + Q copyltu(M_)) R^{-T}`` with ``copyltu(M_)``
    the symmetric matrix whose lower triangle is ``M_``'s.  ``rbar`` (k,) is the diagonal of
    ``Rbar``.
    """
    k = R.shape[0]
    Mt = -np.dot(Qbar.T, Q)
    for a in range(k):
        for c in range(k):
            Mt[a, c] += R[a, c] * rbar[c]
    C = np.empty((k, k))
    for a in range(k):
        for c in range(k):
            C[a, c] = Mt[a, c] if a >= c else Mt[c, a]
    B = Qbar + np.dot(Q, C)
    # Abar = B R^{-T}: invert the (small, upper triangular) R by back substitution.
    Rinv = np.zeros((k, k))
    for c in range(k):
        Rinv[c, c] = 1.0 / R[c, c]
        for i in range(c - 1, -1, -1):
            acc = 0.0
            for j in range(i + 1, c + 1):
                acc += R[i, j] * Rinv[j, c]
            Rinv[i, c] = -acc / R[i, i]
    Abar[:, :] = np.dot(B, Rinv.T)


@kernel
def _layer_input(X, S, t, layer, n, m1, x):
    """Layer ``layer``'s (padded) input of step ``t + 1``."""
    if layer == 0:
        x[:] = X[t]
    else:
        x[:] = 0.0
        start = (layer - 1) * m1
        for i in range(n):
            x[i] = S[t + 1, start + i]


@kernel
def _input_directions(Wx, layer, A, n, m1, Tpad, dXP):
    """``dXP[g] = Wx[layer, g] @ Tpad``, Tpad the padded hidden tangent of the layer below.

    Layer 0 reads the inputs, which have no tangent: ``dXP`` and ``Tpad`` are zero.
    """
    Tpad[:, :] = 0.0
    if layer == 0:
        dXP[:, :, :] = 0.0
        return
    start = (layer - 1) * m1
    Tpad[:n] = A[start:start + n]
    for g in range(Wx.shape[1]):
        dXP[g] = np.dot(Wx[layer, g], Tpad)


@kernel
def qr_chain(cell_id, option, Wh, Wx, b, bhn, X, S, Qs, Rs, warmup, log_sums):
    """The forward chain: fill ``Qs`` (T + 1, M, k) from ``Qs[0]`` and ``Rs`` (T, k, k).

    ``log_sums[i]`` receives ``sum_{t > warmup} ln |R_t[i, i]|``.  Returns 0, the step whose
    product ``J_t Q`` is not finite, or minus the step where a direction collapsed
    (``R_t[i, i] = 0``).
    """
    T, D = X.shape
    L, G, n = b.shape
    M, k = Qs.shape[1], Qs.shape[2]
    m1 = M // L
    x = np.empty(D)
    xp = np.empty((G, n))
    dXP = np.empty((G, n, k))
    Tpad = np.zeros((D, k))
    A = np.empty((M, k))
    log_sums[:] = 0.0
    for t in range(T):
        for layer in range(L):
            _layer_input(X, S, t, layer, n, m1, x)
            input_projection(Wx[layer], b[layer], x, xp)
            _input_directions(Wx, layer, A, n, m1, Tpad, dXP)
            part = slice(layer * m1, (layer + 1) * m1)
            floss_cells.tangent(cell_id, option, Wh[layer], bhn[layer], xp, S[t, part],
                                Qs[t, part], dXP, A[part])
        for i in range(M):
            for j in range(k):
                if not np.isfinite(A[i, j]):
                    return t + 1
        q, r = np.linalg.qr(A)
        Qs[t + 1] = q
        Rs[t] = r
        for i in range(k):
            if r[i, i] == 0.0:
                return -(t + 1)
            if t + 1 > warmup:
                log_sums[i] += np.log(abs(r[i, i]))
    return 0


@kernel
def qr_chain_backward(cell_id, option, Wh, Wx, b, bhn, X, S, Qs, Rs, warmup, coefficients,
                      dWh, dWx, db, dbhn, Gd):
    """Backpropagate ``sum_i coefficients[i] * sum_{t > warmup} ln |R_t[i, i]|`` through the chain.

    Adds the direct weight gradients (through ``J_t``'s own dependence on the weights) to
    ``dWh``, ``dWx``, ``db`` and ``dbhn``, and writes ``Gd[t]`` (T + 1, M): the gradient with
    respect to the state ``S[t]`` where it enters the Jacobians directly (as the state a step
    leaves from, and, for l > 0, as the input a layer above reads).  What reaches the
    weights through the trajectory is left to backpropagation through time along ``Gd``.
    """
    T, D = X.shape
    L, G, n = b.shape
    M, k = Qs.shape[1], Qs.shape[2]
    m1 = M // L
    x = np.empty(D)
    xp = np.empty((G, n))
    dXP = np.empty((G, n, k))
    Tpad = np.zeros((D, k))
    Qbar = np.zeros((M, k))
    Abar = np.empty((M, k))
    rbar = np.zeros(k)
    U = np.empty((m1, k))
    above = np.zeros((D, k))
    dxp = np.empty((G, n))
    ds = np.empty(m1)
    dXPbar = np.empty((G, n, k))
    Gd[:, :] = 0.0
    for t in range(T - 1, -1, -1):
        for i in range(k):
            rbar[i] = coefficients[i] / Rs[t, i, i] if t + 1 > warmup else 0.0
        qr_adjoint(Qs[t + 1], Rs[t], Qbar, rbar, Abar)
        A = np.dot(Qs[t + 1], Rs[t]) if L > 1 else Abar
        for layer in range(L - 1, -1, -1):
            part = slice(layer * m1, (layer + 1) * m1)
            U[:, :] = Abar[part]
            if layer < L - 1:
                U[:n] += above[:n]
            _layer_input(X, S, t, layer, n, m1, x)
            input_projection(Wx[layer], b[layer], x, xp)
            _input_directions(Wx, layer, A, n, m1, Tpad, dXP)
            floss_cells.tangent_adjoint(cell_id, option, Wh[layer], bhn[layer], xp, S[t, part],
                                        U, Qs[t, part], dXP, dWh[layer], dxp, dbhn[layer], ds,
                                        Qbar[part], dXPbar)
            Gd[t, part] += ds
            above[:, :] = 0.0
            xbar = np.zeros(D)
            for g in range(G):
                dWx[layer, g] += np.outer(dxp[g], x)
                db[layer, g] += dxp[g]
                if layer > 0:
                    dWx[layer, g] += np.dot(dXPbar[g], Tpad.T)
                    xbar += np.dot(Wx[layer, g].T, dxp[g])
                    above += np.dot(Wx[layer, g].T, dXPbar[g])
            if layer > 0:
                start = (layer - 1) * m1
                for i in range(n):
                    Gd[t + 1, start + i] += xbar[i]
