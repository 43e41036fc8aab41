"""Optimisers on a dict of float64 arrays, updated in place: Adam and plain SGD."""

import numpy as np

from .. import validation
from ..errors import GradflowError


def _within(value, name, interval, **bounds):
    """:func:`gradflow.validation.real`, every failure (NaN and inf too) naming the interval."""
    try:
        return validation.real(value, name, **bounds)
    except GradflowError:
        raise GradflowError(f"{name} must lie in {interval}; got {value!r}") from None


def _step_size(value, name):
    return _within(value, name, "(0, inf)", minimum=0.0, low_open=True)


def _decay_rate(value, name):
    return _within(value, name, "[0, 1)", minimum=0.0, maximum=1.0, high_open=True)


class Adam:
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1^t)`` and
    ``v_hat = v / (1 - b2^t)``.  Each step moves a coordinate by at most about
    ``lr (1 - b1) / sqrt(1 - b2)``, whatever the gradient's size: Adam by itself tames an
    exploding gradient's step, which plain SGD does not.

    Parameters
    ----------
    lr : float
        Step size (> 0).
    beta1, beta2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        Added to ``sqrt(v_hat)`` (> 0).

    References
    ----------
    Kingma & Ba (2015), "Adam: a method for stochastic optimization", ICLR.
    """

    name = "adam"
    default_lr = 1e-3

    def __init__(self, lr=default_lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = _step_size(lr, "lr")
        self.beta1 = _decay_rate(beta1, "beta1")
        self.beta2 = _decay_rate(beta2, "beta2")
        self.eps = _step_size(eps, "eps")
        self.t = 0
        self._m = {}
        self._v = {}

    def step(self, params, grads):
        """Update ``params`` (name -> array) in place from ``grads`` (same names)."""
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for name, p in params.items():
            g = np.asarray(grads[name], dtype=np.float64)
            m = self._m.setdefault(name, np.zeros_like(p))
            v = self._v.setdefault(name, np.zeros_like(p))
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def describe(self):
        """Settings, for the history file."""
        return {"optimizer": "adam", "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2,
                "eps": self.eps}


class SGD:
    """Plain stochastic gradient descent, ``p <- p - lr * g`` (as in Pascanu et al. 2013).

    Parameters
    ----------
    lr : float
        Step size (> 0).
    """

    name = "sgd"
    default_lr = 1e-2

    def __init__(self, lr=default_lr):
        self.lr = _step_size(lr, "lr")
        self.t = 0

    def step(self, params, grads):
        """Update ``params`` in place."""
        self.t += 1
        for name, p in params.items():
            p -= self.lr * np.asarray(grads[name], dtype=np.float64)

    def describe(self):
        """Settings, for the history file."""
        return {"optimizer": "sgd", "lr": self.lr}


#: Optimisers by name.
OPTIMIZERS = {cls.name: cls for cls in (Adam, SGD)}


def make_optimizer(name, lr=None):
    """Build an optimiser by name; ``lr=None`` takes its ``default_lr``."""
    cls = OPTIMIZERS[validation.choice(name, "optimizer", tuple(OPTIMIZERS))]
    return cls(cls.default_lr if lr is None else lr)
