"""The second-order pieces of every cell behind one entry point each, dispatching on ``cell_id``.

Codes and the ``option`` pair ``(code, leak)`` as in :mod:`gradflow.kernels.dispatch` (the
projected LSTM has no second-order pieces here).  ``tangent`` is the step's Jacobian-vector
product along k directions (state directions ``V`` and input directions already projected,
``dXP[g] = W_gx X``), keeping in ``gates``, ``D`` and ``aux`` what the adjoint needs;
``tangent_adjoint`` is the gradient of ``<U, tangent> + <lam, step>`` with respect to the
weights, the state, the input projection and the directions: what backpropagation through a
chain of ``J_t Q`` products needs, with backpropagation through time (``lam``, the gradient
reaching the step's output) in the same sweep.  The recurrent weights' gradients come out as
rows: ``left`` (k + 1, ``left_width``) against the rows ``(V_h^T; h^T)``, and for the GRU
``seed`` also ``left2`` against ``right2`` for ``W_hh`` (:func:`flush`).  Adding a cell means
one more module and branch.
"""

import numpy as np

from . import floss_gru, floss_lstm, floss_rnn
from ._jit import kernel
from .dispatch import GRU, LSTM, RNN


@kernel
def left_width(cell_id, option, n):
    """Columns of ``left``: the gate rows of ``W_h`` whose right factors are ``(V_h^T; h^T)``."""
    if cell_id == RNN:
        return n
    if cell_id == LSTM:
        return 4 * n
    return 3 * n if option[0] else 2 * n


@kernel
def has_aux(cell_id):
    """Whether the cell keeps an ``aux`` (n, k) block per step."""
    return cell_id == GRU


@kernel
def tangent(cell_id, option, Wh, bhn, xp, s, V, dXP, out, gates, D, aux):
    """``out = dF[V, dXP]``: the step's tangent (m, k)."""
    if cell_id == RNN:
        floss_rnn.tangent(option[0], option[1], Wh, bhn, xp, s, V, dXP, out, gates, D)
    elif cell_id == LSTM:
        floss_lstm.tangent(option[0], Wh, bhn, xp, s, V, dXP, out, gates, D)
    else:
        floss_gru.tangent(option[0], Wh, bhn, xp, s, V, dXP, out, gates, D, aux)


@kernel
def _input_gradients(left, n, dxp, inputs_move, dXPbar):
    """``dxp`` and (when the inputs move) ``dXPbar`` from ``left``, where they are the same."""
    k = left.shape[0] - 1
    for g in range(dxp.shape[0]):
        for i in range(n):
            dxp[g, i] = left[k, g * n + i]
            if inputs_move:
                for j in range(k):
                    dXPbar[g, i, j] = left[j, g * n + i]


@kernel
def tangent_adjoint(cell_id, option, Wh, s, gates, D, aux, U, V, lam, left, left2, right2, tmp,
                    ds, Vbar, dxp, dbhn, inputs_move, dXPbar):
    """Gradients of ``<U, dF[V, dXP]> + <lam, F>`` (``lam``: the gradient reaching the output).

    Writes ``left`` (and ``left2``, ``right2``), ``ds``, ``Vbar`` (= ``J^T U``), ``dxp`` and,
    when ``inputs_move``, ``dXPbar``; adds to ``dbhn``.  ``tmp`` (k + 1, n) is scratch.
    """
    n = Wh.shape[1]
    if cell_id == RNN:
        floss_rnn.tangent_adjoint(option[0], option[1], Wh, gates, D, U, lam, left, tmp, ds,
                                  Vbar)
        _input_gradients(left, n, dxp, inputs_move, dXPbar)
    elif cell_id == LSTM:
        floss_lstm.tangent_adjoint(option[0], Wh, s, gates, D, U, V, lam, left, tmp, ds,
                                   Vbar)
        _input_gradients(left, n, dxp, inputs_move, dXPbar)
    else:
        floss_gru.tangent_adjoint(option[0], Wh, s, gates, D, aux, U, V, lam, left, left2,
                                  right2, tmp, ds, Vbar, dxp, dbhn, inputs_move, dXPbar)


@kernel
def flush(cell_id, option, left, right, left2, right2, dWh):
    """``dW_h`` += the rows' products: ``left^T right`` (and ``left2^T right2`` for ``seed``)."""
    n = dWh.shape[1]
    flat = dWh.reshape(dWh.shape[0] * n, n)
    width = left.shape[1]
    flat[:width] += np.dot(left.T, right)
    if cell_id == GRU and not option[0]:
        flat[width:] += np.dot(left2.T, right2)
