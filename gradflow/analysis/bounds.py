"""Activation-derivative bounds: the analytic suprema and the derivatives a trajectory meets."""

from dataclasses import dataclass

import numpy as np

from ..activations import ACTIVATIONS, activation_bound, derivative
from ..errors import GradflowError, named
from ..validation import fraction, quantile_levels
from ._json import level_key
from .trajectory import Trajectory, one_cell, resolve

#: Default quantile levels of the derivative distributions.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@dataclass(frozen=True)
class GateDerivatives:
    """The derivative of one gate's nonlinearity at every (step, unit) of a trajectory.

    Attributes
    ----------
    name : str
        The gate's value in the seed's notation (``"H"``, ``"F"``, ``"Ct"``, ``"tanh(C)"``).
    activation : str
        The nonlinearity.
    gamma : float
        ``sup f'``.
    count : int
        Number of (step, unit) values, ``B * T * n``.
    mean, minimum, maximum : float
        Of ``f'`` over all of them.
    quantile_levels : tuple of float
    quantiles : ndarray, shape (Q,)
        ``f'`` at those levels.
    saturation : float
        The relative threshold: a value is saturated when ``f' < saturation * gamma``.
    fraction_saturated : float
        Share of the values that are saturated.
    dead_units : tuple of int
        relu only: the units whose pre-activation is never positive along the trajectory, so
        ``f' = 0`` and no gradient passes through them at any step.
    unit_mean : ndarray, shape (n,)
        Mean ``f'`` of each unit.
    """

    name: str
    activation: str
    gamma: float
    count: int
    mean: float
    minimum: float
    maximum: float
    quantile_levels: tuple
    quantiles: np.ndarray
    saturation: float
    fraction_saturated: float
    dead_units: tuple
    unit_mean: np.ndarray

    def to_dict(self):
        """JSON entry of ``gates``."""
        doc = {
            "activation": self.activation,
            "gamma": self.gamma,
            "count": self.count,
            "mean": self.mean,
            "min": self.minimum,
            "max": self.maximum,
            "mean_over_gamma": self.mean / self.gamma,
            "quantiles": {level_key(q): float(v)
                          for q, v in zip(self.quantile_levels, self.quantiles, strict=True)},
            "fraction_saturated": self.fraction_saturated,
        }
        if self.activation == "relu":
            doc["dead_units"] = list(self.dead_units)
            doc["dead_unit_count"] = len(self.dead_units)
        return doc


@dataclass(frozen=True)
class BoundsResult:
    """Analytic derivative bounds and, with a model, the derivatives its trajectory meets.

    Attributes
    ----------
    activations : dict of str to ActivationBound
        ``tanh``, ``sigmoid`` and ``relu``: ``sup f'``, where it is attained, the range of f'.
    model : str or None
        The analysed cell, in words (None without a model).
    cell : str or None
    steps, batch : int or None
        Trajectory length and number of sequences (batch None for a single sequence).
    saturation : float
        Relative saturation threshold (``f' < saturation * sup f'``).
    gates : dict of str to GateDerivatives
        One entry per nonlinearity of the cell (empty without a model).
    """

    activations: dict
    model: str | None = None
    cell: str | None = None
    steps: int | None = None
    batch: int | None = None
    saturation: float = 0.01
    gates: dict | None = None

    def to_dict(self):
        """The JSON document of one model (or of the analytic bounds alone)."""
        doc = {"activations": {name: _bound_dict(b) for name, b in self.activations.items()},
               "saturation": self.saturation}
        if self.model is not None:
            doc.update(
                cell=self.cell,
                model=self.model,
                steps=self.steps,
                batch=self.batch,
                gates={name: g.to_dict() for name, g in self.gates.items()},
            )
        return doc


def _bound_dict(bound):
    return {
        "gamma": bound.gamma,
        "attained_at": bound.attained_at,
        "derivative_range": list(bound.derivative_range),
    }


def gate_derivatives(name, activation, a, *, saturation=0.01, quantiles=QUANTILES):
    """Summarise ``f'(a)`` over a table of pre-activations.

    Parameters
    ----------
    name, activation : str
        The gate's name and nonlinearity.
    a : ndarray, shape (N, n)
        Pre-activations, one row per step (and sequence), one column per unit.
    saturation : float
        Relative saturation threshold.
    quantiles : sequence of float
        Levels in (0, 1).

    Returns
    -------
    GateDerivatives
    """
    gamma = activation_bound(activation).gamma
    slope = derivative(activation, a)
    dead = ()
    if activation == "relu":
        dead = tuple(int(i) for i in np.flatnonzero(~(a > 0).any(axis=0)))
    return GateDerivatives(
        name=name,
        activation=activation,
        gamma=gamma,
        count=int(slope.size),
        mean=float(slope.mean()),
        minimum=float(slope.min()),
        maximum=float(slope.max()),
        quantile_levels=tuple(quantiles),
        quantiles=np.quantile(slope, quantiles),
        saturation=saturation,
        fraction_saturated=float(np.mean(slope < saturation * gamma)),
        dead_units=dead,
        unit_mean=slope.mean(axis=0),
    )


def bounds(model=None, xs=None, s0=None, *, saturation=0.01, quantiles=QUANTILES, lengths=None):
    """Derivative bounds of the activations, and the derivatives a trajectory actually meets.

    The seed notes' ranges: sigmoid' in (0, 1/4] with the supremum at z = 0, tanh' in (0, 1]
    with the supremum at z = 0, relu' in {0, 1} with 1 for every z > 0.  Given a model and
    inputs, every nonlinearity of the cell is evaluated along the trajectory (the vanilla RNN's
    f; LSTM's F, I, O, Ct and the tanh(C) of its output; GRU's R, Z and Ht) and its derivative
    summarised: mean, quantiles, the fraction of saturated values (``f'`` below ``saturation``
    times its supremum) and, for relu, the dead units.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory, optional
        The cell, or a trajectory already computed (``bounds(trajectory)``: then without
        ``xs`` and ``s0``).
    xs : ndarray, shape (T, d) or (B, T, d), optional
        Inputs; required with a model.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    saturation : float, optional
        Relative saturation threshold in (0, 1), 0.01 by default.
    quantiles : sequence of float, optional
        Quantile levels in (0, 1).
    lengths : array_like of int, shape (B,), optional
        A padded batch's valid lengths: each sequence's derivatives over its own steps.

    Returns
    -------
    BoundsResult

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    saturation = fraction(saturation, "saturation")
    quantiles = quantile_levels(quantiles)
    analytic = {name: activation_bound(name) for name in ACTIVATIONS}
    if model is None:
        if xs is not None:
            raise GradflowError("inputs were given without a model; give the model too")
        return BoundsResult(activations=analytic, saturation=saturation)
    if not isinstance(model, Trajectory):
        one_cell(model)
    if xs is None and not isinstance(model, Trajectory):
        raise GradflowError(f"{named(model)}"
                            f"{model.describe()}: inputs are required to measure derivatives")
    run = resolve(model, xs, s0, lengths=lengths)
    model = run.model
    tables = [model.pre_activations(seq.xs, seq.states) for seq in run.sequences()]
    gates = {}
    for name, (activation, _) in tables[0].items():
        a = np.concatenate([table[name][1] for table in tables])
        gates[name] = gate_derivatives(name, activation, a, saturation=saturation,
                                       quantiles=quantiles)
    return BoundsResult(
        activations=analytic,
        model=model.describe(),
        cell=model.cell,
        steps=run.steps,
        batch=run.batch,
        saturation=saturation,
        gates=gates,
    )
