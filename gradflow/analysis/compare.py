"""RNN (tanh, relu), LSTM and GRU built alike and run on the same inputs, side by side."""

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..cells import CELLS as CLASSES
from ..cells import configuration
from ..errors import TrajectoryOverflowError
from ..resources import require_memory
from ..validation import integer
from ._json import number
from .decay import decay
from .trajectory import trajectory

#: Sequence lengths at which parameter counts are shown by default.
LENGTHS = (10, 100, 1000)

#: The decay figures of each cell's entry in ``cells``, in order.
DECAY_KEYS = ("gradient_horizon", "growth_horizon", "decay_factor", "log10_decay_rate",
              "verdict", "lambda_1", "exp_lambda_1", "effective_bound", "bound", "log10_norm2",
              "cell_path", "hidden_path", "log10_norm2_h", "log10_norm2_c")


def line_up():
    """The compared configurations, from the registry: label -> (cell class, options).

    Each registered class names its configurations in ``compared`` (``rnn-tanh``,
    ``rnn-relu``, ``lstm``, ``gru`` today), in registry order.
    """
    return {label: configuration(label) for cls in CLASSES.values() for label in cls.compared}


@dataclass(frozen=True)
class CellComparison:
    """One cell of the comparison.

    Attributes
    ----------
    label : str
        ``"rnn-tanh"``, ``"rnn-relu"``, ``"lstm"`` or ``"gru"``.
    model : str
        The cell, in words.
    cell : str
    parameters : int
        Trainable scalars.
    parameter_formula : str
        The count as a formula in n and d.
    parameters_by_length : dict of int to int
        The parameter count of the cell after it has processed a sequence of each length:
        the weights are shared across steps, so it never changes.
    states_by_length : dict of int to int or None
        State values the same runs store (``(T + 1) * m``): these grow with T (None where the
        run left the float64 range).
    decay : DecayResult
        Gradient decay on the common inputs (with lambda_1 and, for LSTM, both paths).
    forget_gate : dict or None
        LSTM only: ``mean`` and ``geometric_mean`` of the forget gate F over the run.  The
        geometric mean is the per-step factor of the purely diagonal cell path ``prod F``.
    """

    label: str
    model: str
    cell: str
    parameters: int
    parameter_formula: str
    parameters_by_length: dict
    states_by_length: dict
    decay: object
    forget_gate: dict | None = None

    def to_dict(self):
        """JSON entry of ``cells``."""
        doc = {
            "model": self.model,
            "cell": self.cell,
            "parameters": self.parameters,
            "parameter_formula": self.parameter_formula,
            "parameters_by_length": {str(k): v for k, v in self.parameters_by_length.items()},
            "states_by_length": {str(k): v for k, v in self.states_by_length.items()},
            **self.decay.to_json(*DECAY_KEYS),
        }
        if self.forget_gate is not None:
            doc["forget_gate"] = {k: number(v) for k, v in self.forget_gate.items()}
        return doc


@dataclass(frozen=True)
class CompareResult:
    """The side-by-side comparison and its settings.

    Attributes
    ----------
    settings : dict
        hidden, inputs, steps, init, gain, seed, input_seed, forget_bias, threshold.
    cells : dict of str to CellComparison
        In the order rnn-tanh, rnn-relu, lstm, gru.
    lengths : tuple of int
        Sequence lengths of the parameter-count demonstration.
    """

    settings: dict
    cells: dict
    lengths: tuple

    @property
    def gru_to_lstm_parameters(self):
        """GRU's parameter count over LSTM's, as an exact fraction (3/4 for the seed GRU)."""
        return Fraction(self.cells["gru"].parameters, self.cells["lstm"].parameters)

    @property
    def summary(self):
        """The comparison read out in sentences."""
        thr = f"{self.settings['threshold']:g}"
        lines = []
        horizons = []
        for label, c in self.cells.items():
            k = c.decay.gradient_horizon
            horizons.append(f"{label} {'never' if k is None else f'at lag {k}'}")
        lines.append(f"the gradient norm falls below {thr}: " + "; ".join(horizons))
        lstm = self.cells["lstm"].decay
        rnn = self.cells["rnn-tanh"].decay
        cell_k = lstm.cell_path.gradient_horizon
        hidden_k = lstm.hidden_path.gradient_horizon
        text = (f"LSTM (forget bias {self.settings['forget_bias']:g}): the cell path "
                f"dc_T/dc_(T-k) {_horizon_words(cell_k, thr)}, the hidden path dh_T/dh_(T-k) "
                f"{_horizon_words(hidden_k, thr)}")
        if cell_k is not None and rnn.gradient_horizon:
            text += (f"; the cell path keeps the gradient {cell_k / rnn.gradient_horizon:.1f}x "
                     "as many steps as RNN-tanh")
        lines.append(text)
        gate = self.cells["lstm"].forget_gate
        bias = self.settings["forget_bias"]
        sig = 1 / (1 + np.exp(-bias))
        lines.append(f"the forget gate F averages {gate['mean']:.3g} (geometric mean "
                     f"{gate['geometric_mean']:.3g}, the per-step factor of a typical unit's "
                     f"diagonal cell path prod F; sigmoid(forget bias) = {sig:.3g}): a larger "
                     "forget bias keeps the cell path open longer")
        factors = []
        for label, c in self.cells.items():
            f = c.decay.decay_factor
            factors.append(f"{label} {'-' if f is None else format(f, '.3g')}")
        cell_f = lstm.cell_path.decay_factor
        if cell_f is not None:
            factors.append(f"LSTM cell path {cell_f:.3g}")
        lines.append("per-step decay factors: " + ", ".join(factors))
        ratio = self.gru_to_lstm_parameters
        lines.append(f"parameters: GRU/LSTM = {ratio.numerator}/{ratio.denominator} "
                     f"({self.cells['gru'].parameters} / {self.cells['lstm'].parameters}): three "
                     "gate blocks against four")
        lengths = ", ".join(str(T) for T in self.lengths)
        lines.append(f"parameters do not depend on the sequence length (T = {lengths}): the "
                     "same weights are applied at every step; only the stored states grow, as "
                     "(T + 1) m")
        return tuple(lines)

    def to_dict(self):
        """The JSON document of ``gradflow compare --json``."""
        ratio = self.gru_to_lstm_parameters
        return {
            **self.settings,
            "lengths": list(self.lengths),
            "cells": {label: c.to_dict() for label, c in self.cells.items()},
            "gru_to_lstm_parameters": float(ratio),
            "gru_to_lstm_parameters_fraction": f"{ratio.numerator}/{ratio.denominator}",
            "summary": list(self.summary),
        }


def _forget_gate(run):
    """Mean and geometric mean of the forget gate F along a run; None for cells without one."""
    model = run.model
    if "f" not in model.gates:
        return None
    a = model.pre_activations(run.xs, run.states)[model.gate_symbols["f"]][1]
    log_f = -np.logaddexp(0.0, -a)
    return {"mean": float(np.mean(np.exp(log_f))), "geometric_mean": float(np.exp(log_f.mean()))}


def _horizon_words(k, thr):
    return f"stays above {thr}" if k is None else f"falls below {thr} at lag {k}"


def build(label, hidden, inputs, *, init="gaussian", gain=0.8, seed=0, forget_bias=1.0):
    """The cell ``label`` of the comparison (see :func:`line_up`).

    ``forget_bias`` goes to the cells that take it among their init options (the LSTM's
    ``b_f``).
    """
    cls, options = configuration(label)
    init_options = {name: value for name, value in {"forget_bias": forget_bias}.items()
                    if name in cls.init_options()}
    return cls.init(hidden, inputs, init=init, gain=gain, seed=seed, **options, **init_options)


def _require_memory(hidden, inputs, steps, longest):
    """Refuse up front a comparison whose cells, runs and products cannot fit in memory."""
    n = integer(hidden, "hidden", minimum=1)
    d = integer(inputs, "inputs", minimum=1)
    total = 0
    for cls, options in line_up().values():
        entries = sum(math.prod(s) for s in cls.weight_shapes(n, d, **options).values())
        m = cls.state_size_for(n, **options)
        # the weights (three forms), the trajectories, the running products of the decay
        total += 8 * (3 * entries + (max(steps, longest) + 1) * (m + d) + 4 * m * m)
    require_memory(total, f"comparing the {len(line_up())} cells at hidden {n}, inputs {d}, "
                          f"steps {steps} and lengths up to {longest}")


def compare(hidden=32, inputs=4, steps=300, *, init="gaussian", gain=0.8, seed=0,
            input_seed=0, forget_bias=1.0, threshold=1e-3, lengths=LENGTHS):
    """Build RNN-tanh, RNN-relu, LSTM and GRU alike, run them on the same inputs, compare.

    Every cell gets hidden size n, input width d and the same initialiser, gain and seed; the
    LSTM's forget-gate bias is ``forget_bias``.  All run on the same standard-normal inputs.
    For each: the parameter count with its formula (and, at every length in ``lengths``, the
    count after a run of that length next to the number of states stored), the gradient
    horizon, the fitted per-step decay factor, lambda_1 and the verdict; for LSTM also the
    cell path ``dc_T/dc_{T-k}`` against the hidden path ``dh_T/dh_{T-k}``.

    Parameters
    ----------
    hidden, inputs, steps : int
        n, d and the horizon T of the common run.
    init : str
        Initialiser (see :func:`gradflow.cells.init.initial_weights`).
    gain : float
        Recurrent gain.
    seed, input_seed : int
        Seeds of the weights and of the inputs.
    forget_bias : float
        Added to the LSTM's ``b_f``.
    threshold : float
        Vanishing threshold of the gradient horizons.
    lengths : sequence of int
        Sequence lengths of the parameter-count demonstration.

    Returns
    -------
    CompareResult

    References
    ----------
    Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9.
    Cho et al. (2014), "Learning phrase representations using RNN encoder-decoder for
    statistical machine translation", EMNLP.
    Jozefowicz, Zaremba & Sutskever (2015), "An empirical exploration of recurrent network
    architectures", ICML.
    """
    steps = integer(steps, "steps", minimum=1, rule="an integer >= 1")
    input_seed = integer(input_seed, "input_seed", minimum=0)
    lengths = tuple(integer(T, "lengths", minimum=1, rule="positive integers") for T in lengths)
    if not lengths:
        lengths = LENGTHS
    _require_memory(hidden, inputs, steps, max(lengths))
    models = {label: build(label, hidden, inputs, init=init, gain=gain, seed=seed,
                           forget_bias=forget_bias) for label in line_up()}
    width = next(iter(models.values())).inputs
    xs = np.random.default_rng(input_seed).standard_normal((steps, width))
    cells = {}
    for label, model in models.items():
        by_length = {}
        states = {}
        rng = np.random.default_rng(input_seed)
        for T in lengths:
            try:
                S = model.run(rng.standard_normal((T, model.inputs)))
            except TrajectoryOverflowError:
                S = None
            by_length[T] = model.parameter_count
            states[T] = None if S is None else int(S.size)
        run = trajectory(model, xs)
        cells[label] = CellComparison(
            label=label,
            model=model.describe(),
            cell=model.cell,
            parameters=model.parameter_count,
            parameter_formula=model.parameter_formula(),
            parameters_by_length=by_length,
            states_by_length=states,
            decay=decay(run, threshold=threshold, effective_bound=True),
            forget_gate=_forget_gate(run),
        )
    settings = {
        "hidden": int(hidden),
        "inputs": int(inputs),
        "steps": steps,
        "init": init,
        "gain": float(gain),
        "seed": int(seed),
        "input_seed": input_seed,
        "forget_bias": float(forget_bias),
        "threshold": float(threshold),
    }
    return CompareResult(settings=settings, cells=cells, lengths=lengths)
