"""Many cotangent rows at once through one step: ``R J_t`` and ``D = R (ds_t/dxp_t)``.

``xp_t = W_x x_t + b`` (G, n) enters every cell's pre-activations directly, so the rows on the
step's input are ``R (ds_t/dx_t) = D W_x`` with ``D`` (p, G, n) flattened against ``W_x``
flattened to (G n, d): one BLAS product for all p rows (for the plain LSTM, ``R JX`` with the
step's (2n, d) input Jacobian ``JX`` costs half as much).  ``D`` is what each cell's VJP calls
``delta_x``, row by row; here it is formed for p rows from one evaluation of the gates, with
the few dense parts (the projected LSTM's ``W_hr``, the seed GRU's reset path through
``W_hh``) as BLAS products.  The rows are kept transposed, ``Rt`` (m, p) and ``Dt``
(G, n, p), so that every loop over them runs along contiguous memory.  Cell conventions as in
the cell kernel modules.
"""

import numpy as np

from . import dispatch, gru, lstm
from ._common import activate, activation_slope, copy_into, matvec_add
from ._jit import inline_kernel, kernel
from .lstm import gates, slopes
from .lstm_projection import PROJECTION
from .scaling import unit_scale_if_tiny


@kernel
def _rnn(act, leak, Wh, xp, s, Rt, Dt, work):
    a = work[0]
    matvec_add(Wh[0], s, xp[0], a)
    for i in range(a.shape[0]):
        d = leak * activation_slope(act, a[i], activate(act, a[i]))
        for r in range(Rt.shape[1]):
            Dt[0, i, r] = Rt[i, r] * d


@kernel
def _lstm(Wh, xp, s, Rt, Dt, work, h_size, gmt):
    """Both LSTMs: ``gmt`` (n, p) holds the rows on ``M = O tanh(C)`` (for n = h_size, on H)."""
    n = Wh.shape[1]
    gates(Wh, xp, s[:h_size], work)
    for i in range(n):
        _, gf, gi, gc, go, k = slopes(work, s[h_size + i], i, 1.0)
        for r in range(Rt.shape[1]):
            u = Rt[h_size + i, r] + gmt[i, r] * k
            Dt[0, i, r] = u * gf
            Dt[1, i, r] = u * gi
            Dt[2, i, r] = gmt[i, r] * go
            Dt[3, i, r] = u * gc


@kernel
def _gru(reset_after, Wh, bhn, xp, s, Rt, Dt, work):
    n = s.shape[0]
    p = Rt.shape[1]
    gru.gates(reset_after, Wh, bhn, xp, s, work)
    for i in range(n):
        Z = work[1, i]
        Ht = work[2, i]
        gz = (s[i] - Ht) * Z * (1.0 - Z)
        g = (1.0 - Z) * (1.0 - Ht * Ht)
        for r in range(p):
            Dt[1, i, r] = Rt[i, r] * gz
            Dt[2, i, r] = Rt[i, r] * g
    if reset_after:
        # H~ = tanh(xp_h + R * u): the reset pre-activation's rows are the candidate's times u R'
        for i in range(n):
            Rg = work[0, i]
            w = work[3, i] * Rg * (1.0 - Rg)
            for r in range(p):
                Dt[0, i, r] = Dt[2, i, r] * w
    else:
        # H~ = tanh(W_hh (R * h) + xp_h): the rows on R * h are (rows on the candidate) W_hh,
        # transposed W_hh^T (rows on the candidate)^T
        Qt = np.dot(Wh[2].T, Dt[2])
        for i in range(n):
            Rg = work[0, i]
            w = s[i] * Rg * (1.0 - Rg)
            for r in range(p):
                Dt[0, i, r] = Qt[i, r] * w


@inline_kernel
def input_deltas(cell_id, option, Wh, bhn, xp, s, Rt, Dt, work):
    """Write ``D[r] = R[r] (ds_t/dxp_t)`` for the step leaving ``s = s_{t-1}``, transposed.

    ``Rt`` (m, p) are the rows ``R`` transposed, ``Dt`` (G, n, p) receives ``D`` transposed:
    ``Dt[g, i, r] = D[r, g, i]``.
    """
    if cell_id == dispatch.RNN:
        _rnn(option[0], option[1], Wh, xp, s, Rt, Dt, work)
    elif cell_id == dispatch.LSTM:
        h_size = Wh.shape[2]
        if option[0] == 0:
            _lstm(Wh, xp, s, Rt, Dt, work, h_size, Rt[:h_size])
        else:
            # H = W_hr M: the rows on M are R_h W_hr = R_h (W_hr^T)^T, transposed W_hr^T R_h^T
            _lstm(Wh, xp, s, Rt, Dt, work, h_size, np.dot(Wh[PROJECTION], Rt[:h_size]))
    else:
        _gru(option[0], Wh, bhn, xp, s, Rt, Dt, work)


@inline_kernel
def input_jacobian_buffer(cell_id, option, n, d):
    """Work array of :func:`rows_on_input`: an LSTM's ``d(H, C)/dx`` (2n, d), else empty."""
    if cell_id == dispatch.LSTM and option[0] == 0:
        return np.empty((2 * n, d))
    return np.empty((0, 0))


@inline_kernel
def rows_on_input(cell_id, option, Wh, Wx, Wx_flat, bhn, xp, s, Rt, Dt, JX, out, work,
                  have_deltas):
    """``out`` (p, d) = ``R (ds_t/dx_t)``, the rows ``R = Rt^T`` on the step's input.

    An LSTM's (without projection) come from its input Jacobian ``JX`` (2n, d), formed from
    the gate values: ``R JX`` costs half of ``D W_x``, whose ``D`` has 4n columns to the
    state's 2n.  Other cells multiply ``D`` (``Dt``, written here unless ``have_deltas``)
    by ``W_x`` flattened to (G n, d).
    """
    if JX.shape[0] > 0:
        lstm.input_jacobian(Wh, Wx, xp, s, JX, work)
        np.dot(Rt.T, JX, out)
        return
    if not have_deltas:
        input_deltas(cell_id, option, Wh, bhn, xp, s, Rt, Dt, work)
    G, n, p = Dt.shape
    np.dot(Dt.reshape(G * n, p).T, Wx_flat, out)


@inline_kernel
def rows_times_jacobian_buffers(cell_id, option, Wh, p, m, n):
    """Work arrays of :func:`rows_times_jacobian` for p rows of width m."""
    halves = cell_id == dispatch.LSTM and option[0] == 0
    h = Wh.shape[2]
    return (np.empty((0, 0) if halves else (m, m)), np.empty((m, h) if halves else (0, 0)),
            np.empty((h, p) if halves else (0, 0)), np.empty(n), np.empty(n),
            np.empty((m, p)))


@inline_kernel
def rows_times_jacobian(cell_id, option, Wh, bhn, xp, s, Rt, work, buffers, exact_tiny):
    """``Rt <- J_t^T Rt`` in place: p rows ``R = Rt^T`` carried back one step, ``R <- R J_t``.

    The rows are kept transposed, (m, p), so that each block of the state is a contiguous
    slice of them.  One BLAS product, J_t the exact Jacobian of the step leaving ``s``; for
    the LSTM only its dense left half (the right half is diagonal: the additive cell path).
    With ``exact_tiny``, a Jacobian near the subnormals (largest entry below
    :data:`~.scaling.TINY`) is brought to unit scale first, exactly, as the all-lag
    sweep does, so the product does not round its entries away: the rows then hold
    ``R J_t 2**-shift`` and the returned ``shift`` belongs to their exponent (else 0).
    """
    J, JL, top, diag_h, diag_c, back = buffers
    p = Rt.shape[1]
    shift = np.int64(0)
    if cell_id == dispatch.LSTM and option[0] == 0:
        n = Wh.shape[1]
        lstm.jacobian_blocks(Wh, xp, s, JL, diag_h, diag_c, 1.0, work)
        np.dot(JL.T, Rt, top)
        for i in range(n):
            for r in range(p):
                Rt[n + i, r] = diag_h[i] * Rt[i, r] + diag_c[i] * Rt[n + i, r]
        copy_into(top, Rt[:n])
    else:
        dispatch.jacobian(cell_id, option, Wh, bhn, xp, s, J, work)
        if exact_tiny:
            shift = unit_scale_if_tiny(J)
        np.dot(J.T, Rt, back)
        copy_into(back, Rt)
    return shift
