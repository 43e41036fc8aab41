"""Vanilla RNN: ``h_t = f(W_h h_{t-1} + W_x x_t + b_h)`` with f in tanh, sigmoid, relu."""

from ..activations import ACTIVATIONS, activation_bound, activation_code
from ..kernels.dispatch import RNN as _KERNEL
from .base import Cell
from .options import Option
from .registry import register


@register
class RNN(Cell):
    """Vanilla (Elman) RNN cell in the seed's notation: weights ``W_h, W_x, b_h``.

    Parameters
    ----------
    weights : mapping of str to array_like
        ``W_h`` (n, n), ``W_x`` (n, d), ``b_h`` (n,).
    activation : {"tanh", "sigmoid", "relu"}
        The nonlinearity f.
    """

    cell = "rnn"
    title = "RNN"
    gates = ("",)
    gate_symbols = {"": "H"}
    option_specs = (
        Option("activation", "tanh", choices=ACTIVATIONS,
               help="RNN nonlinearity (default tanh)."),
    )
    labelled_options = ("activation",)
    kernel_id = _KERNEL
    position = 0
    torch_module = "RNN"
    torch_gate_rows = {"": 0}
    torch_module_options = {"nonlinearity": "activation"}
    compared = ("rnn-tanh", "rnn-relu")

    def __init__(self, weights, *, activation="tanh", source=None):
        super().__init__(weights, activation=activation, source=source)

    @classmethod
    def bias_name(cls, gate):
        """The RNN's single bias is ``b_h``."""
        return "b_h"

    def gate_activations(self):
        """The single block's nonlinearity is the activation."""
        return {"": self.activation}

    @classmethod
    def kind_words_for(cls, *, activation="tanh"):
        """``"tanh RNN"``."""
        return f"{activation} RNN"

    def pascanu_gamma(self):
        """``sup f'``: 1/4 for sigmoid, 1 for tanh and relu."""
        return activation_bound(self.activation).gamma

    def kernel_option(self):
        """The activation's kernel code."""
        return activation_code(self.activation)
