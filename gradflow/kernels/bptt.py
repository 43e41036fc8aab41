"""Backpropagation through time: exact weight gradients from the per-step VJP kernels.

Time indexing as in :mod:`gradflow.kernels.trajectory`: ``X[t]`` drives step ``t + 1``, which
leaves ``S[t]``; ``G[t]`` is the direct loss gradient ``dL/ds_{t+1}``.  Weight gradients use
the kernel form of the cell: ``dWh`` (G, n, n), ``dWx`` (G, n, d), ``db`` (G, n) and ``dbhn``
(n,), the last one fed by gate ``bhn_gate`` (-1: the cell has no ``b_hn``).

Per step, :func:`gradflow.kernels.dispatch.vjp` gives the gradient carried back, the gate
pre-activation gradients ``delta_x`` (they multiply ``x`` and ``b_g``) and ``delta_h`` (it
multiplies ``rec_in`` in ``W_gh``'s gradient), so these chains are the same for every cell.
:func:`backpropagate` is the one backward recursion over a trajectory; the weight gradients
(:func:`backward`) and Pascanu's norm-preservation measure
(:func:`gradflow.kernels.regulariser.backward_norms`) both read it.  It gathers the gate
gradients of :data:`CHUNK` steps and adds them to the weight gradients as one matrix product
per block (:func:`add_stashed`), not as one outer product per step.
"""

import math

import numpy as np

from . import dispatch
from ._common import rmatvec_add
from ._jit import inline_kernel, kernel
from .trajectory import input_projection


@inline_kernel
def add_bias_gradients(delta_x, delta_h, bhn_gate, db, dbhn):
    """Add one step's bias gradients: ``delta_x`` to ``db``, and ``b_hn``'s gate to ``dbhn``."""
    for g in range(delta_x.shape[0]):
        for i in range(delta_x.shape[1]):
            db[g, i] += delta_x[g, i]
    if bhn_gate >= 0:
        for i in range(delta_x.shape[1]):
            dbhn[i] += delta_h[bhn_gate, i]


@kernel
def accumulate_step(x, delta_x, delta_h, rec_in, bhn_gate, dWh, dWx, db, dbhn):
    """Add one step's weight gradients: outer products of the gate gradients and the inputs.

    ``dWh`` (H, n, p) may have more blocks than there are gates (H > G): their rows of
    ``delta_h`` and ``rec_in`` give them (an LSTM projection's ``W_hr^T``).
    """
    G, n = delta_x.shape
    d = x.shape[0]
    width = dWh.shape[2]
    add_bias_gradients(delta_x, delta_h, bhn_gate, db, dbhn)
    for g in range(G):
        for i in range(n):
            dx = delta_x[g, i]
            for j in range(d):
                dWx[g, i, j] += dx * x[j]
            dh = delta_h[g, i]
            for j in range(width):
                dWh[g, i, j] += dh * rec_in[g, j]
    for g in range(G, dWh.shape[0]):  # blocks beyond the gates (a projection's W_hr^T)
        for i in range(n):
            dh = delta_h[g, i]
            for j in range(width):
                dWh[g, i, j] += dh * rec_in[g, j]


#: Steps whose gate gradients :func:`backpropagate` gathers before adding them to the weight
#: gradients: (n x CHUNK)(CHUNK x p) products instead of CHUNK outer products of (n, p).
CHUNK = 32


@kernel
def stash_step(c, x, delta_x, delta_h, rec_in, bhn_gate, DX, DH, RI, XC, db, dbhn):
    """Keep one step's gate gradients as row ``c`` of the stash; add its bias gradients."""
    G, n = delta_x.shape
    width = RI.shape[2]
    add_bias_gradients(delta_x, delta_h, bhn_gate, db, dbhn)
    for g in range(G):
        for i in range(n):
            DX[g, c, i] = delta_x[g, i]
    for g in range(DH.shape[0]):
        for i in range(n):
            DH[g, c, i] = delta_h[g, i]
        for j in range(width):
            RI[g, c, j] = rec_in[g, j]
    for j in range(x.shape[0]):
        XC[c, j] = x[j]


@kernel
def _add_product(A, B, product, out):
    """``out += A @ B``, the product formed in ``product`` (of ``out``'s shape)."""
    np.dot(A, B, product)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] += product[i, j]


@kernel
def add_stashed(c, DX, DH, RI, XC, dWh, dWx, product_h, product_x):
    """Add the first ``c`` stashed steps to ``dWh`` and ``dWx``: one product per block.

    ``dWh[g] += DH[g, :c]^T RI[g, :c]`` and ``dWx[g] += DX[g, :c]^T XC[:c]``, formed in
    ``product_h`` (n, p) and ``product_x`` (n, d).
    """
    for g in range(DH.shape[0]):
        _add_product(DH[g, :c].T, RI[g, :c], product_h, dWh[g])
    for g in range(DX.shape[0]):
        _add_product(DX[g, :c].T, XC[:c], product_x, dWx[g])


@kernel
def _norm(v):
    """``||v||_2``, scaled by ``max|v|`` so that no square over- or underflows."""
    acc = 0.0
    peak = 0.0
    for i in range(v.shape[0]):
        peak = max(peak, abs(v[i]))
    if peak == 0.0:
        return 0.0
    for i in range(v.shape[0]):
        acc += (v[i] / peak) ** 2
    return peak * math.sqrt(acc)


@kernel
def backpropagate(cell_id, option, Wh, Wx, b, bhn, X, S, G, state_grads, carried,
                  with_weights, bhn_gate, dWh, dWx, db, dbhn, input_grads):
    """The backward recursion ``dL/ds_t = J_{t+1}^T dL/ds_{t+1} + G[t - 1]`` over a trajectory.

    Writes the total gradients ``state_grads[t] = dL/ds_t`` (t = 0..T), with ``dL/ds_t =
    G[t - 1]`` directly.  When ``carried`` has T entries, ``carried[t]`` receives the norm
    ``||J_{t+1}^T state_grads[t + 1]||`` of the part carried back through step ``t + 1``
    (give it no entries to skip the norms).  With ``with_weights``, the weight gradients are
    added to ``dWh``, ``dWx``, ``db`` and ``dbhn`` (``b_hn`` fed by gate ``bhn_gate``) and
    ``input_grads[t]`` receives ``dL/dx`` of step ``t + 1``; without, those five arrays are
    not touched (any size).
    """
    T = X.shape[0]
    Gates, n = b.shape
    m = S.shape[1]
    norms = carried.shape[0] == T
    work = np.empty((4, n))
    xp = np.empty((Gates, n))
    delta_x = np.empty((Gates, n))
    delta_h = np.empty((Wh.shape[0], n))
    rec_in = np.empty((Wh.shape[0], n))
    back = np.empty(m)
    chunk = min(CHUNK, T) if with_weights else 0
    width, d = dWh.shape[2], X.shape[1]
    DX = np.empty((Gates, chunk, n))
    DH = np.empty((Wh.shape[0], chunk, n))
    RI = np.empty((Wh.shape[0], chunk, width))
    XC = np.empty((chunk, d))
    product_h, product_x = np.empty((n, width)), np.empty((n, d))
    stashed = 0
    for i in range(m):
        state_grads[T, i] = G[T - 1, i]
    for t in range(T - 1, -1, -1):
        input_projection(Wx, b, X[t], xp)
        dispatch.vjp(cell_id, option, Wh, bhn, xp, S[t], state_grads[t + 1], back, delta_x,
                     delta_h, rec_in, work)
        if with_weights:
            stash_step(stashed, X[t], delta_x, delta_h, rec_in, bhn_gate, DX, DH, RI, XC, db,
                       dbhn)
            stashed += 1
            if stashed == chunk or t == 0:
                add_stashed(stashed, DX, DH, RI, XC, dWh, dWx, product_h, product_x)
                stashed = 0
            for j in range(X.shape[1]):
                input_grads[t, j] = 0.0
            for g in range(Gates):
                rmatvec_add(Wx[g], delta_x[g], input_grads[t])
        if norms:
            carried[t] = _norm(back)
        for i in range(m):
            state_grads[t, i] = back[i] + (G[t - 1, i] if t > 0 else 0.0)


@inline_kernel
def backward(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X, S, G, dWh, dWx, db, dbhn,
             state_grads, input_grads):
    """One backward pass over a stored trajectory: :func:`backpropagate` with the weights.

    Adds the weight gradients of ``L`` (with ``dL/ds_t = G[t - 1]`` directly) to ``dWh``,
    ``dWx``, ``db`` and ``dbhn``; writes the total gradients ``state_grads[t] = dL/ds_t``
    (t = 0..T) and ``input_grads[t] = dL/dx`` of step ``t + 1``.
    """
    backpropagate(cell_id, option, Wh, Wx, b, bhn, X, S, G, state_grads, np.empty(0), True,
                  bhn_gate, dWh, dWx, db, dbhn, input_grads)


@kernel
def backward_by_lag(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X, S, G, dWh, dWx, db, dbhn):
    """Weight gradients split by time lag (Pascanu, Mikolov & Bengio 2013, eq. 5).

    Lag ``l`` collects, over every loss term ``t``, the contribution of step ``k = t - l``:
    ``G[t-1]^T (ds_t/ds_k) d+s_k/dtheta``.  Each term is carried back on its own, so the cost
    is one VJP per (term, step) pair: ``O(T)`` per nonzero row of ``G``; zero rows are skipped.
    ``dWh`` (T, G, n, n), ``dWx`` (T, G, n, d), ``db`` (T, G, n) and ``dbhn`` (T, n) are added
    to, lag first.
    """
    T = X.shape[0]
    Gates, n = b.shape
    m = S.shape[1]
    work = np.empty((4, n))
    XP = np.empty((T, Gates, n))
    for t in range(T):
        input_projection(Wx, b, X[t], XP[t])
    delta_x = np.empty((Gates, n))
    delta_h = np.empty((Wh.shape[0], n))
    rec_in = np.empty((Wh.shape[0], n))
    v = np.empty(m)
    back = np.empty(m)
    for t in range(T, 0, -1):
        live = False
        for i in range(m):
            v[i] = G[t - 1, i]
            if v[i] != 0.0:
                live = True
        k = t
        while live and k >= 1:
            lag = t - k
            dispatch.vjp(cell_id, option, Wh, bhn, XP[k - 1], S[k - 1], v, back, delta_x,
                         delta_h, rec_in, work)
            accumulate_step(X[k - 1], delta_x, delta_h, rec_in, bhn_gate, dWh[lag], dWx[lag],
                            db[lag], dbhn[lag])
            live = False
            for i in range(m):
                v[i] = back[i]
                if v[i] != 0.0:
                    live = True
            k -= 1


@inline_kernel
def batch_backward(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X, S, G, dWh, dWx, db, dbhn,
                   state_grads, input_grads):
    """``backward`` for every sequence of a batch, weight gradients summed over the batch."""
    for i in range(X.shape[0]):
        backward(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X[i], S[i], G[i], dWh, dWx, db, dbhn,
                 state_grads[i], input_grads[i])


@inline_kernel
def batch_backward_by_lag(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X, S, G, dWh, dWx, db,
                          dbhn):
    """``backward_by_lag`` for every sequence of a batch, summed over the batch."""
    for i in range(X.shape[0]):
        backward_by_lag(cell_id, option, Wh, Wx, b, bhn, bhn_gate, X[i], S[i], G[i], dWh, dWx,
                        db, dbhn)
