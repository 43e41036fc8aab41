"""The second-order pieces of every cell behind one entry point each, dispatching on ``cell_id``.

Codes and the ``option`` pair ``(code, leak)`` as in :mod:`gradflow.kernels.dispatch` (the
projected LSTM has no second-order pieces here).  ``tangent`` is the step's Jacobian-vector
product along k directions (state directions ``V`` and input directions already projected,
``dXP[g] = W_gx X``); ``tangent_adjoint`` is the gradient of ``<U, tangent>`` with respect to
the weights, the state, the input projection and the directions: what backpropagation
through a chain of ``J_t Q`` products needs.  Adding a cell means one more module and branch.
"""

from . import floss_gru, floss_lstm, floss_rnn
from ._jit import kernel
from .dispatch import LSTM, RNN


@kernel
def tangent(cell_id, option, Wh, bhn, xp, s, V, dXP, out):
    """``out = dF[V, dXP]``: the step's tangent (m, k)."""
    if cell_id == RNN:
        floss_rnn.tangent(option[0], option[1], Wh, bhn, xp, s, V, dXP, out)
    elif cell_id == LSTM:
        floss_lstm.tangent(option[0], Wh, bhn, xp, s, V, dXP, out)
    else:
        floss_gru.tangent(option[0], Wh, bhn, xp, s, V, dXP, out)


@kernel
def tangent_adjoint(cell_id, option, Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar,
                    dXPbar):
    """Gradients of ``<U, dF[V, dXP]>``.

    Adds to ``dWh`` and ``dbhn``; writes ``dxp``, ``ds``, ``Vbar`` (= ``J^T U``) and ``dXPbar``.
    """
    if cell_id == RNN:
        floss_rnn.tangent_adjoint(option[0], option[1], Wh, bhn, xp, s, U, V, dXP, dWh, dxp,
                                  dbhn, ds, Vbar, dXPbar)
    elif cell_id == LSTM:
        floss_lstm.tangent_adjoint(option[0], Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar,
                                   dXPbar)
    else:
        floss_gru.tangent_adjoint(option[0], Wh, bhn, xp, s, U, V, dXP, dWh, dxp, dbhn, ds, Vbar,
                                  dXPbar)
