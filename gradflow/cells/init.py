"""Seeded weight initialisers.

``gain`` scales every recurrent matrix ``W_*h``; input matrices ``W_*x`` use the same scheme at
gain 1 (for ``gaussian`` and ``identity``: N(0, 1/d)); biases are zero except where the scheme
says otherwise (``pytorch``) and LSTM's ``forget_bias``, added to ``b_f``.

==============  ===========================================================================
``gaussian``    ``W_*h ~ N(0, gain^2 / n)``: spectral radius ~ gain for large n (circular law)
``orthogonal``  ``W_*h = gain * Q``, Q Haar-orthogonal; ``W_*x`` orthonormal rows/cols
``xavier``      ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010)
``pytorch``     ``U(-1/sqrt(n), 1/sqrt(n))`` for all weights and both of PyTorch's biases
                (``b = b_ih + b_hh``), as ``torch.nn.RNN/LSTM/GRU`` do; gain scales ``W_*h``
``identity``    ``W_*h = gain * I`` (Le, Jaitly & Hinton 2015, IRNN)
==============  ===========================================================================

Draws happen gate by gate in kernel order (recurrent, input, bias), from
``numpy.random.default_rng(seed)``, so a (cell, sizes, init, gain, seed) tuple always gives
the same weights.
"""

import math

import numpy as np

from ..errors import GradflowError
from .base import require_finite

#: Initialiser names.
INITS = ("gaussian", "orthogonal", "xavier", "pytorch", "identity")


def _orthogonal(rng, rows, cols):
    A = rng.standard_normal((max(rows, cols), min(rows, cols)))
    Q, R = np.linalg.qr(A)
    Q = Q * np.sign(np.diag(R))
    return Q if rows >= cols else Q.T


def _matrix(rng, init, rows, cols, gain, recurrent):
    if init == "gaussian":
        return rng.standard_normal((rows, cols)) * (gain / math.sqrt(cols))
    if init == "orthogonal":
        return gain * _orthogonal(rng, rows, cols)
    if init == "xavier":
        a = gain * math.sqrt(6.0 / (rows + cols))
        return rng.uniform(-a, a, (rows, cols))
    if init == "pytorch":
        k = 1.0 / math.sqrt(rows)
        return gain * rng.uniform(-k, k, (rows, cols))
    # identity
    if recurrent:
        return gain * np.eye(rows)
    return rng.standard_normal((rows, cols)) / math.sqrt(cols)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GradflowError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def initial_weights(cls, hidden, inputs, *, init="gaussian", gain=1.0, seed=0, **options):
    """Build a cell of class ``cls`` with seeded random weights.

    Parameters
    ----------
    cls : type
        :class:`~gradflow.RNN`, :class:`~gradflow.LSTM` or :class:`~gradflow.GRU`.
    hidden, inputs : int
        Hidden size n and input width d, both >= 1.
    init : {"gaussian", "orthogonal", "xavier", "pytorch", "identity"}
        The scheme (see the module docstring).
    gain : float
        Scale of the recurrent matrices.
    seed : int
        Seed of ``numpy.random.default_rng``.
    **options
        ``activation`` (RNN), ``variant`` (GRU), ``forget_bias`` (LSTM, added to ``b_f``;
        1.0 is the usual choice, Jozefowicz et al. 2015).

    Returns
    -------
    Cell
    """
    n = _positive_int(hidden, "hidden")
    d = _positive_int(inputs, "inputs")
    if init not in INITS:
        raise GradflowError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    gain = require_finite(gain, "gain")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GradflowError(f"seed must be a non-negative integer; got {seed!r}")
    forget_bias = options.pop("forget_bias", None)
    if forget_bias is not None and cls.cell != "lstm":
        raise GradflowError(f"forget_bias applies to LSTM only, not to {cls.cell.upper()}")
    allowed = {"rnn": {"activation"}, "gru": {"variant"}, "lstm": set()}[cls.cell]
    extra = sorted(set(options) - allowed)
    if extra:
        raise GradflowError(f"{extra[0]} is not an option of {cls.cell.upper()}")

    rng = np.random.default_rng(seed)
    variant = options.get("variant", "seed")
    weights = {}
    for g in cls.gates:
        weights[cls.recurrent_name(g)] = _matrix(rng, init, n, n, gain, True)
        weights[cls.input_name(g)] = _matrix(rng, init, n, d, 1.0, False)
        if init == "pytorch":
            k = 1.0 / math.sqrt(n)
            b = rng.uniform(-k, k, n)
            if not (cls.cell == "gru" and g == "h" and variant == "reset_after"):
                b = b + rng.uniform(-k, k, n)
        else:
            b = np.zeros(n)
        weights[cls.bias_name(g)] = b
    if cls.cell == "gru" and variant == "reset_after":
        if init == "pytorch":
            k = 1.0 / math.sqrt(n)
            weights["b_hn"] = rng.uniform(-k, k, n)
        else:
            weights["b_hn"] = np.zeros(n)
    if forget_bias is not None:
        weights["b_f"] = weights["b_f"] + require_finite(forget_bias, "forget_bias")
    return cls(weights, **options)
