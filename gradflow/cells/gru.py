"""GRU in the seed's notation, with the seed's and PyTorch's reset placement."""

from scipy.special import expit

from ..kernels.dispatch import GRU as _KERNEL
from .base import Cell
from .options import Option
from .registry import register

#: GRU variants: the seed's (reset before the matmul) and PyTorch/cuDNN/Keras's (after).
VARIANTS = ("seed", "reset_after")


@register
class GRU(Cell):
    """GRU cell with reset gate R, update gate Z and candidate H~.

    ``R = sigmoid(W_rh h + W_rx x + b_r)``, ``Z = sigmoid(W_zh h + W_zx x + b_z)``,
    ``H = Z * h + (1 - Z) * H~`` where

    * ``variant="seed"`` (Cho et al. 2014, the seed notes):
      ``H~ = tanh(W_hh (R * h) + W_hx x + b_h)``;
    * ``variant="reset_after"`` (PyTorch, cuDNN, Keras ``reset_after=True``):
      ``H~ = tanh(W_hx x + b_h + R * (W_hh h + b_hn))``, with the extra bias ``b_hn``.

    Parameters
    ----------
    weights : mapping of str to array_like
        ``W_rh W_rx b_r, W_zh W_zx b_z, W_hh W_hx b_h`` (+ ``b_hn`` for ``reset_after``).
    variant : {"seed", "reset_after"}
        Where the reset gate acts.
    """

    cell = "gru"
    title = "GRU"
    gates = ("r", "z", "h")
    gate_symbols = {"r": "R", "z": "Z", "h": "Ht"}
    gate_nonlinearities = {"r": "sigmoid", "z": "sigmoid", "h": "tanh"}
    option_specs = (
        Option("variant", "seed", choices=VARIANTS,
               help="GRU reset placement: seed (before W_hh, default) or reset_after "
                    "(PyTorch)."),
    )
    kernel_id = _KERNEL
    position = 2
    torch_module = "GRU"
    torch_gate_rows = {"r": 0, "z": 1, "h": 2}
    compared = ("gru",)

    def __init__(self, weights, *, variant="seed", source=None):
        super().__init__(weights, variant=variant, source=source)

    @classmethod
    def extra_names_for(cls, *, variant="seed"):
        """``b_hn`` for ``reset_after``."""
        return ("b_hn",) if variant == "reset_after" else ()

    @classmethod
    def sums_torch_biases(cls, gate, *, variant="seed"):
        """The ``reset_after`` candidate keeps PyTorch's hidden bias apart, as ``b_hn``."""
        return not (gate == "h" and variant == "reset_after")

    @classmethod
    def from_torch_blocks(cls, W_hh, W_ih, b_ih, b_hh):
        """PyTorch's GRU is the ``reset_after`` variant: its candidate's hidden bias is ``b_hn``.

        ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (1 - z) * n + z * h``,
        the seed's ``H = Z * h + (1 - Z) * H~``; ``b_r`` and ``b_z`` are the summed biases.
        """
        weights, _ = super().from_torch_blocks(W_hh, W_ih, b_ih, b_hh)
        n = W_hh.shape[1]
        block = cls.torch_gate_rows["h"]
        weights["b_h"] = b_ih[block * n:(block + 1) * n]
        weights["b_hn"] = b_hh[block * n:(block + 1) * n]
        return weights, {"variant": "reset_after"}

    @classmethod
    def kind_words_for(cls, *, variant="seed"):
        """``"GRU (seed)"``."""
        return f"GRU ({variant})"

    def kernel_option(self):
        """0 for ``seed``, 1 for ``reset_after``."""
        return VARIANTS.index(self.variant)

    def pre_activations(self, xs, S):
        """The gates' arguments; the candidate's holds the reset where the variant puts it."""
        out = super().pre_activations(xs, S)
        w = self._weights
        h = S[:-1, :self.hidden]
        R = expit(h @ w["W_rh"].T + xs @ w["W_rx"].T + w["b_r"])
        linear = xs @ w["W_hx"].T + w["b_h"]
        if self.variant == "seed":
            a = (R * h) @ w["W_hh"].T + linear
        else:
            a = linear + R * (h @ w["W_hh"].T + w["b_hn"])
        out["Ht"] = ("tanh", a)
        return out
