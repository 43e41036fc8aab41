"""Vanilla RNN: ``h_t = f(W_h h_{t-1} + W_x x_t + b_h)`` with f in tanh, sigmoid, relu."""

from ..activations import ACTIVATIONS, activation_code
from ..errors import GradflowError
from ..kernels.dispatch import RNN as _KIND
from .base import Cell


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
    gates = ("",)
    kernel_kind = _KIND

    def __init__(self, weights, *, activation="tanh", source=None):
        if activation not in ACTIVATIONS:
            prefix = f"{source}: " if source else ""
            raise GradflowError(
                f"{prefix}activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}"
            )
        self.activation = activation
        super().__init__(weights, source=source)

    @classmethod
    def bias_name(cls, gate):
        """The RNN's single bias is ``b_h``."""
        return "b_h"

    def options(self):
        """The activation."""
        return {"activation": self.activation}

    def _kernel_option(self):
        return activation_code(self.activation)

    def _kind_words(self):
        return f"{self.activation} RNN"

    def describe(self):
        """Short human name, e.g. ``"RNN-tanh (n=64, d=8)"``."""
        return f"RNN-{self.activation} (n={self.hidden}, d={self.inputs})"
