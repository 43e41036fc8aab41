"""Activation functions of the vanilla RNN and the analytic bounds of their derivatives.

The seed notes state the derivative ranges that drive the long-term-dependency problem:
sigmoid' lies in (0, 1/4], tanh' in (0, 1], and relu' is 0 or 1.  ``gamma`` (the supremum of
f') enters Pascanu et al.'s bound ``||ds_t/ds_{t-1}|| <= gamma * sigma_max(W_h)``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .errors import GradflowError

__all__ = ["ACTIVATIONS", "ActivationBound", "activation_bound", "activation_code", "apply",
           "derivative"]

#: Activation names in the order of their kernel codes.
ACTIVATIONS = ("tanh", "sigmoid", "relu")


@dataclass(frozen=True)
class ActivationBound:
    """The supremum of an activation's derivative and where it is attained.

    Attributes
    ----------
    name : str
        ``"tanh"``, ``"sigmoid"`` or ``"relu"``.
    gamma : float
        ``sup_z f'(z)``.
    attained_at : str
        Where the supremum is reached, in words (``"z = 0"``, ``"z > 0"``).
    derivative_range : tuple of float
        The closed hull of the derivative's values.
    """

    name: str
    gamma: float
    attained_at: str
    derivative_range: tuple


_BOUNDS = {
    "tanh": ActivationBound("tanh", 1.0, "z = 0", (0.0, 1.0)),
    "sigmoid": ActivationBound("sigmoid", 0.25, "z = 0", (0.0, 0.25)),
    "relu": ActivationBound("relu", 1.0, "z > 0", (0.0, 1.0)),
}


def activation_code(name):
    """Return the kernel code of an activation name, or raise GradflowError."""
    if name not in ACTIVATIONS:
        raise GradflowError(
            f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}"
        )
    return ACTIVATIONS.index(name)


def activation_bound(name):
    """Return the analytic :class:`ActivationBound` of ``name``."""
    activation_code(name)
    return _BOUNDS[name]


def apply(name, z):
    """Evaluate f(z) elementwise (sigmoid through ``scipy.special.expit``, exact for large |z|)."""
    z = np.asarray(z, dtype=np.float64)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return expit(z)
    activation_code(name)
    return np.maximum(z, 0.0)


def derivative(name, z):
    """Evaluate f'(z) elementwise (relu' is taken as 0 at z = 0, as PyTorch does)."""
    z = np.asarray(z, dtype=np.float64)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    activation_code(name)
    return (z > 0).astype(np.float64)
