"""One entry point per kernel operation, dispatching on the cell's kernel code ``cell_id``.

Codes (a cell's ``kernel_id``): ``RNN`` (``option`` = activation code), ``LSTM`` (``option``
unused) and ``GRU`` (``option`` = 1 for ``reset_after``, 0 for ``seed``).  Adding a cell means
one kernel module and one branch here.
"""

from . import gru, lstm, rnn
from ._jit import kernel

RNN = 0
LSTM = 1
GRU = 2


@kernel
def step(cell_id, option, Wh, bhn, xp, s, out, work):
    """Forward step ``out = cell(s, x)`` given the input projection ``xp``."""
    if cell_id == RNN:
        rnn.step(option, Wh, bhn, xp, s, out, work)
    elif cell_id == LSTM:
        lstm.step(option, Wh, bhn, xp, s, out, work)
    else:
        gru.step(option, Wh, bhn, xp, s, out, work)


@kernel
def jacobian(cell_id, option, Wh, bhn, xp, s, J, work):
    """Exact Jacobian ``J = ds_t/ds_{t-1}`` at ``s = s_{t-1}``."""
    if cell_id == RNN:
        rnn.jacobian(option, Wh, bhn, xp, s, J, work)
    elif cell_id == LSTM:
        lstm.jacobian(option, Wh, bhn, xp, s, J, work)
    else:
        gru.jacobian(option, Wh, bhn, xp, s, J, work)


@kernel
def vjp(cell_id, option, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work):
    """Vector-Jacobian product ``v_prev = J^T v`` plus the step's pre-activation gradients."""
    if cell_id == RNN:
        rnn.vjp(option, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
    elif cell_id == LSTM:
        lstm.vjp(option, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
    else:
        gru.vjp(option, Wh, bhn, xp, s, v, v_prev, delta_x, delta_h, rec_in, work)
