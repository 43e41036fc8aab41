"""LSTM in the seed's notation; state ``concat(h, c)``."""

import numpy as np

from ..kernels.dispatch import LSTM as _KERNEL
from .base import Cell
from .options import Option
from .registry import register


@register
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
    title = "LSTM"
    gates = ("f", "i", "o", "c")
    gate_symbols = {"f": "F", "i": "I", "o": "O", "c": "Ct"}
    gate_nonlinearities = {"f": "sigmoid", "i": "sigmoid", "o": "sigmoid", "c": "tanh"}
    option_specs = (
        Option("forget_bias", None, stored=False,
               help="LSTM only: added to b_f (1.0 is the usual choice)."),
    )
    state_multiplier = 2
    kernel_id = _KERNEL
    position = 1
    torch_module = "LSTM"
    torch_gate_rows = {"f": 1, "i": 0, "o": 3, "c": 2}
    compared = ("lstm",)

    def __init__(self, weights, *, source=None):
        super().__init__(weights, source=source)

    @classmethod
    def adjusted_initial_weights(cls, weights, *, forget_bias=None):
        """Add ``forget_bias`` to ``b_f`` (Jozefowicz et al. 2015 recommend 1)."""
        if forget_bias is not None:
            weights = {**weights, "b_f": weights["b_f"] + forget_bias}
        return weights

    def pre_activations(self, xs, S):
        """The gates' arguments, and ``"tanh(C)"``: the new cell state in ``H = O * tanh(C)``."""
        out = super().pre_activations(xs, S)
        out["tanh(C)"] = ("tanh", np.asarray(S[1:, self.hidden:]))
        return out
