"""Vanilla and leaky RNN: ``h_t = (1 - a) h_{t-1} + a f(W_h h_{t-1} + W_x x_t + b_h)``.

f is tanh, sigmoid or relu; the leak a in (0, 1] is 1 for the seed's RNN.  A leak below 1 is
the Euler step (dt / tau = a) of the continuous-time rate network
``tau dh/dt = -h + f(W_h h + W_x x + b_h)``.
"""

from ..activations import ACTIVATIONS, activation_bound, activation_code
from ..kernels.dispatch import RNN as _KERNEL
from .base import Cell
from .options import Option
from .registry import register


@register
class RNN(Cell):
    """Vanilla (Elman) RNN cell in the seed's notation, optionally leaky: weights ``W_h, W_x, b_h``.

    Parameters
    ----------
    weights : mapping of str to array_like
        ``W_h`` (n, n), ``W_x`` (n, d), ``b_h`` (n,).
    activation : {"tanh", "sigmoid", "relu"}
        The nonlinearity f.
    leak : float
        a in (0, 1]: the fraction of the state each step replaces (1, the default, is the
        seed's RNN; stored in the weights file as the 0-d float ``leak``).
    """

    cell = "rnn"
    title = "RNN"
    gates = ("",)
    gate_symbols = {"": "H"}
    option_specs = (
        Option("activation", "tanh", choices=ACTIVATIONS,
               help="RNN nonlinearity (default tanh)."),
        Option("leak", 1.0, minimum=0.0, maximum=1.0, low_open=True,
               help="RNN only: leak a in (0, 1], h <- (1 - a) h + a f(...) (default 1)."),
    )
    labelled_options = ("activation",)
    kernel_id = _KERNEL
    position = 0
    torch_module = "RNN"
    torch_gate_rows = {"": 0}
    torch_module_options = {"nonlinearity": "activation"}
    compared = ("rnn-tanh", "rnn-relu")

    def __init__(self, weights, *, activation="tanh", leak=1.0, source=None):
        super().__init__(weights, activation=activation, leak=leak, source=source)

    @classmethod
    def bias_name(cls, gate):
        """The RNN's single bias is ``b_h``."""
        return "b_h"

    def gate_activations(self):
        """The single block's nonlinearity is the activation."""
        return {"": self.activation}

    @classmethod
    def kind_for(cls, **options):
        """``"RNN-tanh"``; a leaky one adds its leak: ``"RNN-tanh (leak 0.5)"``."""
        label = super().kind_for(**options)
        leak = cls.checked_options(options)["leak"]
        return label if leak == 1.0 else f"{label} (leak {leak:g})"

    @classmethod
    def kind_words_for(cls, *, activation="tanh", leak=1.0):
        """``"tanh RNN"``, or ``"leaky tanh RNN (leak 0.5)"``."""
        leak = cls.checked_options({"activation": activation, "leak": leak})["leak"]
        if leak == 1.0:
            return f"{activation} RNN"
        return f"leaky {activation} RNN (leak {leak:g})"

    def pascanu_gamma(self):
        """``sup f'``: 1/4 for sigmoid, 1 for tanh and relu."""
        return activation_bound(self.activation).gamma

    def pascanu_bound(self, sigma_max=None):
        """The bound on ``||J_t||_2``: ``(1 - a) + a gamma sigma_max(W_h)`` (a = 1: Pascanu's).

        ``J_t = (1 - a) I + a diag(f') W_h``, so the triangle inequality gives the bound; at
        a = 1 it is Pascanu et al.'s ``gamma sigma_max``.
        """
        vanilla = super().pascanu_bound(sigma_max)
        if self.leak == 1.0:
            return vanilla
        return float((1.0 - self.leak) + self.leak * vanilla)

    def kernel_option(self):
        """The activation's kernel code."""
        return activation_code(self.activation)

    def kernel_leak(self):
        """The leak a, as the kernels receive it."""
        return self.leak
