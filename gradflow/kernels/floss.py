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
direct gradients and the gradients of the states ``J_t`` is evaluated at, which
backpropagation through time, run in the same backward sweep, carries back along the
trajectory.

Cost: the forward chain keeps per layer and step what the backward pass would otherwise
recompute (the gate values and the tangent pre-activations ``W_gh V``: O(T G n k) memory, G the
gates), so each step of the backward pass costs one product with the stacked ``W_gh^T`` (two for
the GRU ``seed``) besides its elementwise work.  The recurrent weights' direct gradients are
sums over steps of rank-k updates; they are gathered as rows over ``CHUNK`` steps and added by
one product per chunk (:func:`gradflow.kernels.floss_cells.flush`).
"""

import numpy as np

from . import floss_cells
from ._jit import kernel
from .trajectory import input_projection

CHUNK = 8  # steps whose weight-gradient rows one product adds


@kernel
def _qr_adjoint_into(Q, R, Qbar, rbar, Abar, Mt, C, Rinv_t, B):
    """:func:`qr_adjoint` into preallocated ``Mt``, ``C``, ``Rinv_t`` (k, k) and ``B`` (M, k)."""
    k = R.shape[0]
    np.dot(Qbar.T, Q, Mt)
    for a in range(k):
        for c in range(k):
            Mt[a, c] = R[a, c] * rbar[c] - Mt[a, c]
    for a in range(k):
        for c in range(k):
            C[a, c] = Mt[a, c] if a >= c else Mt[c, a]
    np.dot(Q, C, B)
    B += Qbar
    # Abar = B R^{-T}: invert the (small, upper triangular) R by back substitution.
    Rinv_t[:, :] = 0.0
    for c in range(k):
        Rinv_t[c, c] = 1.0 / R[c, c]
        for i in range(c - 1, -1, -1):
            acc = 0.0
            for j in range(i + 1, c + 1):
                acc += R[i, j] * Rinv_t[c, j]
            Rinv_t[c, i] = -acc / R[i, i]
    np.dot(B, Rinv_t, Abar)


@kernel
def qr_adjoint(Q, R, Qbar, rbar, Abar):
    """``Abar`` of the thin QR ``A = Q R`` (A (M, k), M >= k), given ``Qbar`` and diagonal ``Rbar``.

    ``M_ = R Rbar^T - Qbar^T Q``, ``Abar = (Qbar + Q copyltu(M_)) R^{-T}`` with ``copyltu(M_)``
    the symmetric matrix whose lower triangle is ``M_``'s.  ``rbar`` (k,) is the diagonal of
    ``Rbar``.
    """
    k = R.shape[0]
    _qr_adjoint_into(Q, R, Qbar, rbar, Abar, np.empty((k, k)), np.empty((k, k)),
                     np.empty((k, k)), np.empty(Q.shape))


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
        np.dot(Wx[layer, g], Tpad, dXP[g])


@kernel
def chain_store(cell_id, option, L, T, G, n, k):
    """Empty arrays for what the forward chain keeps: ``gates``, ``D`` and ``aux``."""
    return (np.empty((L, T, 5, n)), np.empty((L, T, G, n, k)),
            np.empty((L, T if floss_cells.has_aux(cell_id) else 1, n, k)))


@kernel
def qr_chain(cell_id, option, Wh, Wx, b, bhn, X, S, Qs, Rs, warmup, log_sums, gates, D, aux):
    """The forward chain: fill ``Qs`` (T + 1, M, k) from ``Qs[0]`` and ``Rs`` (T, k, k).

    ``log_sums[i]`` receives ``sum_{t > warmup} ln |R_t[i, i]|``; ``gates``, ``D`` and ``aux``
    (from :func:`chain_store`) what the backward pass reads.  Returns 0, the step whose
    product ``J_t Q`` is not finite, or minus the step where a direction collapsed
    (``R_t[i, i] = 0``).
    """
    T, D_in = X.shape
    L, G, n = b.shape
    M, k = Qs.shape[1], Qs.shape[2]
    m1 = M // L
    x = np.empty(D_in)
    xp = np.empty((G, n))
    dXP = np.zeros((G, n, k))
    Tpad = np.zeros((D_in, k))
    A = np.empty((M, k))
    log_sums[:] = 0.0
    for t in range(T):
        ta = t if aux.shape[1] > 1 else 0
        for layer in range(L):
            _layer_input(X, S, t, layer, n, m1, x)
            input_projection(Wx[layer], b[layer], x, xp)
            if L > 1:
                _input_directions(Wx, layer, A, n, m1, Tpad, dXP)
            lo = layer * m1
            floss_cells.tangent(cell_id, option, Wh[layer], bhn[layer], xp, S[t, lo:lo + m1],
                                Qs[t, lo:lo + m1], dXP, A[lo:lo + m1], gates[layer, t],
                                D[layer, t], aux[layer, ta])
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
def _direction_rows(V, s, n, right):
    """``right = (V[:n]^T; s[:n])`` (k + 1, n): the right factors of the weight-gradient rows."""
    k = V.shape[1]
    for i in range(n):
        for j in range(k):
            right[j, i] = V[i, j]
        right[k, i] = s[i]


@kernel
def qr_chain_backward(cell_id, option, Wh, Wx, b, bhn, X, S, Qs, Rs, warmup, coefficients,
                      gates, D, aux, dWh, dWx, db, dbhn):
    """Backpropagate ``sum_i coefficients[i] * sum_{t > warmup} ln |R_t[i, i]|`` through the chain.

    Reads what :func:`qr_chain` kept in ``gates``, ``D`` and ``aux``, and adds the gradient
    with respect to every weight to ``dWh``, ``dWx``, ``db`` and ``dbhn``: through each
    ``J_t``'s own dependence on the weights and, by backpropagation through time in the same
    sweep, through the states ``J_t`` is evaluated at.  ``lam`` is the gradient with respect to
    the state ``S[t + 1]``: each step's adjoint differentiates ``<U, J_t Q> + <lam, step>``,
    whose gradient in the state it leaves from is the next ``lam``; a layer l > 0 hands the
    gradient of its input on to the hidden part of layer l - 1's ``lam`` at the same step.
    """
    T, D_in = X.shape
    L, G, n = b.shape
    M, k = Qs.shape[1], Qs.shape[2]
    m1 = M // L
    width = floss_cells.left_width(cell_id, option, n)
    rows = k + 1
    left = np.zeros((L, CHUNK * rows, width))
    right = np.zeros((L, CHUNK * rows, n))
    left2 = np.zeros((L, CHUNK * rows, n))
    right2 = np.zeros((L, CHUNK * rows, n))
    tmp = np.empty((rows, n))
    x = np.empty(D_in)
    Tpad = np.zeros((D_in, k))
    Qbar = np.zeros((M, k))
    Abar = np.empty((M, k))
    A = np.empty((M, k))
    rbar = np.zeros(k)
    Mt = np.empty((k, k))
    C = np.empty((k, k))
    Rinv_t = np.empty((k, k))
    B = np.empty((M, k))
    U = np.empty((m1, k))
    above = np.zeros((D_in, k))
    dxp = np.empty((G, n))
    lam = np.zeros(M)  # d loss / d S[t + 1]
    lam_prev = np.empty(M)  # d loss / d S[t]
    dXPbar = np.zeros((G, n, k))
    dWx_step = np.empty((n, D_in))
    slot = 0
    for t in range(T - 1, -1, -1):
        ta = t if aux.shape[1] > 1 else 0
        for i in range(k):
            rbar[i] = coefficients[i] / Rs[t, i, i] if t + 1 > warmup else 0.0
        _qr_adjoint_into(Qs[t + 1], Rs[t], Qbar, rbar, Abar, Mt, C, Rinv_t, B)
        if L > 1:
            np.dot(Qs[t + 1], Rs[t], A)
        block = slice(slot * rows, (slot + 1) * rows)
        for layer in range(L - 1, -1, -1):
            lo = layer * m1
            U[:, :] = Abar[lo:lo + m1]
            if layer < L - 1:
                U[:n] += above[:n]
            inputs_move = layer > 0
            _direction_rows(Qs[t, lo:lo + m1], S[t, lo:lo + m1], n, right[layer, block])
            floss_cells.tangent_adjoint(cell_id, option, Wh[layer], S[t, lo:lo + m1],
                                        gates[layer, t], D[layer, t], aux[layer, ta], U,
                                        Qs[t, lo:lo + m1], lam[lo:lo + m1], left[layer, block],
                                        left2[layer, block], right2[layer, block], tmp,
                                        lam_prev[lo:lo + m1], Qbar[lo:lo + m1], dxp,
                                        dbhn[layer], inputs_move, dXPbar)
            _layer_input(X, S, t, layer, n, m1, x)
            for g in range(G):
                for i in range(n):
                    db[layer, g, i] += dxp[g, i]
                    for c in range(D_in):
                        dWx[layer, g, i, c] += dxp[g, i] * x[c]
            if inputs_move:
                start = (layer - 1) * m1
                Tpad[:n] = A[start:start + n]
                for g in range(G):
                    np.dot(dXPbar[g], Tpad.T, dWx_step)
                    dWx[layer, g] += dWx_step
                flat = Wx[layer].reshape(G * n, D_in)
                np.dot(flat.T, dXPbar.reshape(G * n, k), above)
                for i in range(n):
                    acc = 0.0
                    for g in range(G):
                        for c in range(n):
                            acc += flat[g * n + c, i] * dxp[g, c]
                    lam[start + i] += acc
        lam, lam_prev = lam_prev, lam
        slot += 1
        if slot == CHUNK or t == 0:
            used = slot * rows
            for layer in range(L):
                floss_cells.flush(cell_id, option, left[layer, :used], right[layer, :used],
                                  left2[layer, :used], right2[layer, :used], dWh[layer])
            slot = 0
