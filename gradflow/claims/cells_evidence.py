"""Measurements on cells at initialisation: derivatives, decay against gain, relu, gates, counts.

Each function measures one thing on seeded models and returns a small frozen result holding
both the figures the claims read and the curves the report draws.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..activations import ACTIVATIONS, activation_bound, derivative
from ..analysis.bounds import gate_derivatives
from ..analysis.bptt import bptt
from ..analysis.decay import decay
from ..analysis.decay_reading import curve_figures
from ..analysis.trajectory import trajectory
from ..cells import GRU, LSTM, RNN, configurations

#: Points per unit of z on the derivative grid (z = 0 is on it exactly).
GRID_DENSITY = 2000


@dataclass(frozen=True)
class DerivativeGrid:
    """``f'(z)`` of every RNN activation on a dense grid of z.

    Attributes
    ----------
    z : ndarray, shape (G,)
    derivatives : dict of str to ndarray, shape (G,)
    """

    z: np.ndarray
    derivatives: dict

    def figures(self, name):
        """``max_derivative``, where it is reached (``at_z``), ``min_derivative``, ``gamma``."""
        values = self.derivatives[name]
        peak = int(np.argmax(values))
        return {"max_derivative": float(values[peak]), "at_z": float(self.z[peak]),
                "min_derivative": float(values.min()),
                "gamma": activation_bound(name).gamma,
                "grid": {"z_min": float(self.z[0]), "z_max": float(self.z[-1]),
                         "points": int(self.z.size)}}


def derivative_grid(config):
    """Evaluate every activation's derivative on z in [-R, R] (R = ``derivative_range``)."""
    half = int(round(config.derivative_range * GRID_DENSITY))
    z = np.arange(-half, half + 1) * (config.derivative_range / half)
    return DerivativeGrid(z=z, derivatives={name: derivative(name, z) for name in ACTIVATIONS})


def matched_inputs(config, steps=None, inputs=None):
    """The seeded N(0, 1) inputs, shape (T, d)."""
    return np.random.default_rng(config.seed).standard_normal(
        (config.steps if steps is None else steps, config.inputs if inputs is None else inputs))


def rnn(config, activation, *, gain=None, init=None):
    """A matched vanilla RNN (orthogonal W_h at ``gain``, or ``init="identity"`` for IRNN)."""
    return RNN.init(config.hidden, config.inputs, activation=activation,
                    init=config.init if init is None else init,
                    gain=config.gain if gain is None else gain, seed=config.seed)


def lstm(config, *, gain=None):
    """The matched LSTM (forget-gate bias ``config.forget_bias``)."""
    return LSTM.init(config.hidden, config.inputs, init=config.init, seed=config.seed,
                     gain=config.gain if gain is None else gain, forget_bias=config.forget_bias)


def gru(config, *, gain=None, update_bias=0.0):
    """The matched GRU (seed variant), its update-gate bias b_z set to ``update_bias``."""
    model = GRU.init(config.hidden, config.inputs, init=config.init, seed=config.seed,
                     gain=config.gain if gain is None else gain)
    if update_bias == 0.0:
        return model
    weights = dict(model.weights)
    weights["b_z"] = weights["b_z"] + update_bias
    return GRU(weights, **model.options())


@dataclass(frozen=True)
class Run:
    """One model's gradient decay and the derivatives and gate values met on the run."""

    label: str
    model: object
    decay: object
    gates: dict
    gate_values: dict

    def figures(self):
        """The decay's headline figures and the model's sizes."""
        d = self.decay
        return {"model": self.model.describe(), "decay_factor": d.decay_factor,
                "gradient_horizon": d.gradient_horizon, "verdict": d.verdict,
                "bound": d.bound}

    def zero_derivative_fraction(self, gate):
        """Share of (step, unit) values where the gate's derivative is exactly 0."""
        return float(np.mean(self.gates[gate].slope == 0.0))


@dataclass(frozen=True)
class _Gate:
    summary: object
    slope: np.ndarray


def measure_run(label, model, xs, threshold):
    """Decay, derivatives and gate values of ``model`` on ``xs``."""
    run = trajectory(model, xs)
    pre = model.pre_activations(run.xs, run.states)
    gates = {name: _Gate(gate_derivatives(name, act, a), derivative(act, a))
             for name, (act, a) in pre.items()}
    values = model.gate_values(run.xs, run.states)
    return Run(label=label, model=model, decay=decay(run, threshold=threshold), gates=gates,
               gate_values=values)


def path_figures(run, threshold):
    """Figures of the LSTM's hidden and cell paths, ``{"hidden_path": ..., "cell_path": ...}``."""
    d = run.decay
    return {"hidden_path": curve_figures(d.log10_norm2_h, threshold).to_dict(),
            "cell_path": curve_figures(d.log10_norm2_c, threshold).to_dict()}


@dataclass(frozen=True)
class GainSweep:
    """The fitted per-step decay factor of each cell along the gain axis.

    Attributes
    ----------
    gains : ndarray, shape (G,)
    factors : dict of str to ndarray, shape (G,)
        Per label; ``inf`` where the product grows beyond float64's reach of the fit.
    gammas : dict of str to float or None
        sup f' of the RNNs (the bound gamma * sigma_max = 1 is at gain 1 / gamma); None for
        the gated cells, whose Jacobian is no ``diag(f') W``.
    """

    gains: np.ndarray
    factors: dict
    gammas: dict

    def crossing_gain(self, label):
        """The gain where the factor first reaches 1 (log-linear interpolation), or None."""
        f, g = self.factors[label], self.gains
        above = np.flatnonzero(f >= 1.0)
        if above.size == 0:
            return None
        i = int(above[0])
        if i == 0 or not np.isfinite(f[i]):
            return float(g[i])
        x0, x1 = math.log(g[i - 1]), math.log(g[i])
        y0, y1 = math.log(f[i - 1]), math.log(f[i])
        return float(math.exp(x0 + (0.0 - y0) * (x1 - x0) / (y1 - y0)))


def gain_models(config, gain):
    """The five matched cells at one recurrent gain, keyed by label."""
    models = [rnn(config, a, gain=gain) for a in ("sigmoid", "tanh", "relu")]
    models += [lstm(config, gain=gain), gru(config, gain=gain)]
    return {m.kind: m for m in models}


def gain_sweep(config, xs):
    """Decay factor against gain for every matched cell."""
    gains = np.asarray(config.gains, dtype=np.float64)
    factors, gammas = {}, {}
    for gain in gains:
        for label, model in gain_models(config, float(gain)).items():
            d = decay(model, xs, threshold=config.threshold)
            factors.setdefault(label, []).append(math.inf if d.decay_factor is None
                                                 else d.decay_factor)
            gammas[label] = model.pascanu_gamma()
    return GainSweep(gains=gains, factors={k: np.array(v) for k, v in factors.items()},
                     gammas=gammas)


@dataclass(frozen=True)
class ParameterCounts:
    """Trainable scalars of each cell kind, counted from the BPTT gradient at several T.

    Attributes
    ----------
    lengths : tuple of int
    counts : dict of str to tuple of int
        Per kind, the number of entries of the weight gradient at each length.
    formulas : dict of str to str
    """

    lengths: tuple
    counts: dict
    formulas: dict


def parameter_counts(config):
    """Count each kind's gradient entries at every length of ``config.lengths``."""
    rng = np.random.default_rng(config.seed)
    counts, formulas = {}, {}
    for cls, options in configurations().values():
        model = cls.init(config.hidden, config.inputs, init=config.init, seed=config.seed,
                         **options)
        if model.kind in counts:
            continue
        row = []
        for T in config.lengths:
            xs = rng.standard_normal((T, config.inputs))
            g = bptt(model, xs, rng.standard_normal((T, model.state_size)))
            row.append(int(sum(np.asarray(a).size for a in g.grads.values())))
        counts[model.kind] = tuple(row)
        formulas[model.kind] = model.parameter_formula_for(**model.options())
    return ParameterCounts(lengths=tuple(config.lengths), counts=counts, formulas=formulas)
