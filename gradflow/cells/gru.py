"""GRU in the seed's notation, with the seed's and PyTorch's reset placement."""

from ..errors import GradflowError
from ..kernels.dispatch import GRU as _KIND
from .base import Cell

#: GRU variants: the seed's (reset before the matmul) and PyTorch/cuDNN/Keras's (after).
VARIANTS = ("seed", "reset_after")


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
    gates = ("r", "z", "h")
    kernel_kind = _KIND

    def __init__(self, weights, *, variant="seed", source=None):
        if variant not in VARIANTS:
            prefix = f"{source}: " if source else ""
            raise GradflowError(
                f"{prefix}variant must be one of {', '.join(VARIANTS)}; got {variant!r}"
            )
        self.variant = variant
        super().__init__(weights, source=source)

    def extra_names(self):
        """``b_hn`` for ``reset_after``."""
        return ("b_hn",) if self.variant == "reset_after" else ()

    def options(self):
        """The variant."""
        return {"variant": self.variant}

    def _kernel_option(self):
        return VARIANTS.index(self.variant)

    def _kind_words(self):
        return f"GRU ({self.variant})"

    def describe(self):
        """Short human name, e.g. ``"GRU (n=64, d=8)"``, noting ``reset_after``."""
        tag = "" if self.variant == "seed" else "-reset_after"
        return f"GRU{tag} (n={self.hidden}, d={self.inputs})"
