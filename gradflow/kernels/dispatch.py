"""One entry point per kernel operation, dispatching on the cell's kernel code ``cell_id``.

``option`` is the pair ``(code, leak)`` of the cell's ``kernel_args()``: an integer code and a
float.  Codes (a cell's ``kernel_id``): ``RNN`` (``code`` = activation code, ``leak`` = the
leak a in (0, 1], 1 for the seed's RNN), ``LSTM`` (``code`` = 1 with a projected hidden state,
:mod:`.lstm_projection`, else 0) and ``GRU`` (``code`` = 1 for ``reset_after``, 0 for
``seed``); ``leak`` is 1 for the gated cells.  Adding a cell means one kernel module and one
branch here.
"""

from . import gru, lstm, lstm_projection, rnn
from ._jit import inline_kernel

RNN = 0
LSTM = 1
GRU = 2


@inline_kernel
def step(cell_id, option, Wh, bhn, xp, s, out, work):
    """Forward step ``out = cell(s, x)`` given the input projection ``xp``."""
    if cell_id == RNN:
        rnn.step(option[0], option[1], Wh, bhn, xp, s, out, work)
    elif cell_id == LSTM:
        if option[0] == 0:
            lstm.step(option[0], Wh, bhn, xp, s, out, work)
        else:
            lstm_projection.step(Wh, xp, s, out, work)
    else:
        gru.step(option[0], Wh, bhn, xp, s, out, work)


@inline_kernel
def jacobian(cell_id, option, Wh, bhn, xp, s, J, work):
    """Exact Jacobian ``J = ds_t/ds_{t-1}`` at ``s = s_{t-1}``."""
    if cell_id == RNN:
        rnn.jacobian(option[0], option[1], Wh, bhn, xp, s, J, work)
    elif cell_id == LSTM:
        if option[0] == 0:
            lstm.jacobian(option[0], Wh, bhn, xp, s, J, work)
        else:
            lstm_projection.jacobian(Wh, xp, s, J, work)
    else:
        gru.jacobian(option[0], Wh, bhn, xp, s, J, work)


@inline_kernel
def vjp(cell_id, option, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Vector-Jacobian product ``v_prev = J^T v`` plus the step's pre-activation gradients."""
    if cell_id == RNN:
        rnn.vjp(option[0], option[1], Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
    elif cell_id == LSTM:
        if option[0] == 0:
            lstm.vjp(option[0], Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
        else:
            lstm_projection.vjp(Wh, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
    else:
        gru.vjp(option[0], Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
