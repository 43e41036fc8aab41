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

from .. import validation
from ..errors import GradflowError
from ..resources import require_memory

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
        return gain * np.eye(rows, cols)
    return rng.standard_normal((rows, cols)) / math.sqrt(cols)


def initial_weights(cls, hidden, inputs, *, init="gaussian", gain=1.0, seed=0, **options):
    """Build a cell of class ``cls`` with seeded random weights.

    Parameters
    ----------
    cls : type
        A registered cell class (:class:`~gradflow.RNN`, :class:`~gradflow.LSTM`, ...).
    hidden, inputs : int
        Hidden size n and input width d, both >= 1.
    init : {"gaussian", "orthogonal", "xavier", "pytorch", "identity"}
        The scheme (see the module docstring).
    gain : float
        Scale of the recurrent matrices.
    seed : int
        Seed of ``numpy.random.default_rng``.
    **options
        The cell's options (``activation`` for RNN, ``variant`` for GRU) and its init options
        (``forget_bias`` for LSTM, added to ``b_f``; 1.0 is the usual choice, Jozefowicz et
        al. 2015).

    Returns
    -------
    Cell
    """
    n = validation.integer(hidden, "hidden", minimum=1)
    d = validation.integer(inputs, "inputs", minimum=1)
    validation.choice(init, "init", INITS)
    gain = validation.real(gain, "gain")
    validation.integer(seed, "seed", minimum=0)
    init_specs = cls.init_options()
    adjustments = {name: init_specs[name].check(options.pop(name))
                   for name in list(options) if name in init_specs
                   and options[name] is not None}
    for name in list(options):
        if name not in cls.stored_options() and options[name] is None:
            options.pop(name)
        elif name not in cls.stored_options():
            raise GradflowError(cls.option_owner_words(name))
    stored = cls.checked_options(options)

    rng = np.random.default_rng(seed)
    weights = {}
    k = 1.0 / math.sqrt(n)
    shapes = cls.weight_shapes(n, d, **stored)
    entries = sum(math.prod(shape) for shape in shapes.values())
    # the draws, the validated read-only copies and the kernels' stacked form
    require_memory(3 * 8 * entries, f"drawing the {entries} weights of {cls.__name__} "
                                    f"(n={n}, d={d})")
    for g in cls.gates:
        weights[cls.recurrent_name(g)] = _matrix(rng, init, *shapes[cls.recurrent_name(g)],
                                                 gain, True)
        weights[cls.input_name(g)] = _matrix(rng, init, n, d, 1.0, False)
        if init == "pytorch":
            # PyTorch's two biases, summed, except where a cell keeps the second apart
            b = rng.uniform(-k, k, n)
            if cls.sums_torch_biases(g, **stored):
                b = b + rng.uniform(-k, k, n)
        else:
            b = np.zeros(n)
        weights[cls.bias_name(g)] = b
    for name in cls.extra_names_for(**stored):
        if len(shapes[name]) == 2:  # a projection (LSTM W_hr), drawn as an input matrix
            weights[name] = _matrix(rng, init, *shapes[name], 1.0, False)
        else:
            weights[name] = rng.uniform(-k, k, n) if init == "pytorch" else np.zeros(n)
    weights = cls.adjusted_initial_weights(weights, **adjustments)
    return cls(weights, **stored)
