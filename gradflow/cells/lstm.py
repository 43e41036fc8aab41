"""LSTM in the seed's notation; state ``concat(h, c)``."""

from ..kernels.dispatch import LSTM as _KIND
from .base import Cell


class LSTM(Cell):
    """LSTM cell with forget, input and output gates and the candidate cell.

    ``F = sigmoid(W_fh h + W_fx x + b_f)``, likewise I and O;
    ``C~ = tanh(W_ch h + W_cx x + b_c)``; ``C = F * c + I * C~``; ``H = O * tanh(C)``.
    The state is ``s = concat(h, c)`` (m = 2n).

    Parameters
    ----------
    weights : mapping of str to array_like
        ``W_fh W_fx b_f, W_ih W_ix b_i, W_oh W_ox b_o, W_ch W_cx b_c``.
    """

    cell = "lstm"
    gates = ("f", "i", "o", "c")
    kernel_kind = _KIND

    @property
    def state_size(self):
        """2n: hidden state and cell state."""
        return 2 * self.hidden
