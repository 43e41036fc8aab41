"""One point of a parameter sweep: a cell configuration and its analysis, a pure function.

A :class:`SweepPoint` names everything a row of a sweep depends on: the cell and its options,
the sizes, the initialiser, the gain, the seed and the trajectory.  :func:`evaluate_point`
builds the cell, drives it and measures it, and returns the row; the row depends on the point
alone (never on the process, thread or machine that computes it, nor on what it computed
before), so a sweep gives the same numbers bit for bit on any executor.

The point's seed drives three independent streams:

=============  ===========================================================================
weights        ``CELL.init(hidden, inputs, init=, gain=, seed=seed, ...)``, as ``gradflow
               init`` draws them
inputs         ``input_scale * default_rng([seed, 1]).standard_normal((warmup + steps,
               inputs))`` (exact zeros when ``input_scale`` is 0: the autonomous system)
initial state  ``h0_scale * default_rng([seed, 2]).standard_normal(m)`` (zeros when 0)
=============  ===========================================================================

The cell runs ``warmup + steps`` steps.  lambda_1..k come from
``gradflow.lyapunov(model, xs, s0, k=k, warmup=warmup)``; the gradient decay (rate, factor,
horizons, verdict) from ``gradflow.decay`` over the last ``steps`` steps, started from the
state reached after the warm-up; sigma_max, the spectral radius and Pascanu's bound from
``gradflow.spectrum``.
"""

import hashlib
import json
import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np

from ..errors import GradflowError

#: Version of the evaluation; part of every point's key, so rows of another version never mix.
EVALUATION = 1

#: Cell names a sweep accepts and the (cell, option) each stands for.
CELL_NAMES = {
    "rnn": ("rnn", None),
    "rnn-tanh": ("rnn", "tanh"),
    "rnn-sigmoid": ("rnn", "sigmoid"),
    "rnn-relu": ("rnn", "relu"),
    "lstm": ("lstm", None),
    "gru": ("gru", None),
    "gru-seed": ("gru", "seed"),
    "gru-reset_after": ("gru", "reset_after"),
}

#: Which cell each cell option belongs to.
OPTION_CELL = {"activation": "rnn", "variant": "gru", "forget_bias": "lstm"}

#: Values used for what a point leaves unsaid.
DEFAULTS = {
    "cell": "rnn",
    "activation": "tanh",
    "variant": "seed",
    "forget_bias": 0.0,
    "hidden": 64,
    "inputs": 1,
    "init": "gaussian",
    "gain": 1.0,
    "seed": 0,
    "steps": 200,
    "input_scale": 1.0,
    "h0_scale": 0.0,
    "warmup": 0,
    "k": 1,
    "threshold": 1e-3,
}

#: Measured columns of a row, after ``lambda_1..lambda_k``, with their types.
METRICS = {
    "log10_decay_rate": float,
    "decay_factor": float,
    "gradient_horizon": int,
    "growth_horizon": int,
    "verdict": str,
    "sigma_max": float,
    "spectral_radius": float,
    "bound": float,
    "wall_time_s": float,
}


@dataclass(frozen=True)
class SweepPoint:
    """Everything one row of a sweep depends on.

    Build points with :func:`sweep_point`, which validates, fills defaults and drops the
    options that do not apply to the cell (``activation`` is the RNN's, ``variant`` the
    GRU's, ``forget_bias`` the LSTM's; they are None for the other cells).

    Attributes
    ----------
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    activation : str or None
        RNN nonlinearity.
    variant : str or None
        GRU reset placement.
    forget_bias : float or None
        LSTM: added to ``b_f``.
    hidden, inputs : int
        n and d.
    init : str
        Initialiser (see :mod:`gradflow.cells.init`).
    gain : float
        Scale of the recurrent matrices.
    seed : int
        Seed of the weights, the inputs and the initial state (three separate streams).
    steps : int
        T, the steps the decay is measured over (after the warm-up).
    input_scale : float
        Standard deviation of the inputs (0: no input, the autonomous system).
    h0_scale : float
        Standard deviation of the initial state (0: zeros).
    warmup : int
        Steps run before the measured window.
    k : int
        Number of Lyapunov exponents.
    threshold : float
        Vanishing threshold of the gradient horizon.
    """

    cell: str
    activation: str | None
    variant: str | None
    forget_bias: float | None
    hidden: int
    inputs: int
    init: str
    gain: float
    seed: int
    steps: int
    input_scale: float
    h0_scale: float
    warmup: int
    k: int
    threshold: float

    @property
    def kind(self):
        """Colour key and label: ``"RNN-tanh"``, ``"LSTM"``, ``"GRU"``, ``"GRU-reset_after"``."""
        if self.cell == "rnn":
            return f"RNN-{self.activation}"
        if self.cell == "gru" and self.variant == "reset_after":
            return "GRU-reset_after"
        return self.cell.upper()

    @property
    def state_size(self):
        """m: n, or 2n for LSTM."""
        return 2 * self.hidden if self.cell == "lstm" else self.hidden

    def parameters(self):
        """The point as a dict, in column order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def key(self):
        """A stable 16-hex-digit identity: a hash of the parameters and the evaluation version.

        Floats enter by their shortest round-trip text, so 0.6 and 0.6000000000000001 are
        different points; ranges are rounded to 12 significant digits when the grid is read.
        """
        text = json.dumps({"evaluation": EVALUATION, **self.parameters()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self):
        """The point in words for messages: ``"RNN-tanh hidden=64 gain=1.5 seed=0 ..."``."""
        parts = [self.kind]
        for name in ("hidden", "inputs", "init", "gain", "forget_bias", "seed", "steps",
                     "input_scale", "h0_scale"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value:g}" if isinstance(value, float) else
                             f"{name}={value}")
        return " ".join(parts)

    def cost(self):
        """A rough operation count, to schedule the heavy points first and estimate the ETA."""
        m = self.state_size
        window = self.warmup + self.steps
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[self.cell]
        return float(self.steps * m**3 + window * m * m * (self.k + 2)
                     + 10 * gates * self.hidden**3 + 1e6)


def _integer(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise GradflowError(f"{name} must be {rule}; got {value!r}")
    return int(value)


def _real(value, name, *, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GradflowError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise GradflowError(f"{name} must be finite; got {value!r}")
    if minimum is not None and v < minimum:
        raise GradflowError(f"{name} must be >= {minimum:g}; got {value!r}")
    return v


def _choice(value, name, choices):
    if value not in choices:
        raise GradflowError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def sweep_point(**parameters):
    """Validate one point's parameters and return the canonical :class:`SweepPoint`.

    Parameters
    ----------
    **parameters
        Any of ``cell`` (one of :data:`CELL_NAMES`: ``"rnn-relu"`` fixes the activation,
        ``"gru-reset_after"`` the variant), ``activation``, ``variant``, ``forget_bias``,
        ``hidden``, ``inputs``, ``init``, ``gain``, ``seed``, ``steps``, ``input_scale``,
        ``h0_scale``, ``warmup``, ``k``, ``threshold``; the rest take :data:`DEFAULTS`.
        Options of other cells are dropped (set to None).

    Returns
    -------
    SweepPoint

    Raises
    ------
    GradflowError
        Naming the parameter, the rule and the value.
    """
    from ..activations import ACTIVATIONS
    from ..cells import VARIANTS
    from ..cells.init import INITS

    unknown = sorted(set(parameters) - set(DEFAULTS))
    if unknown:
        raise GradflowError(f"unknown sweep parameter {unknown[0]!r}; expected one of "
                            f"{', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **{k: v for k, v in parameters.items() if v is not None}}
    name = _choice(p["cell"], "cell", tuple(CELL_NAMES))
    cell, fixed = CELL_NAMES[name]
    if fixed is not None:
        option = "activation" if cell == "rnn" else "variant"
        given = parameters.get(option)
        if given is not None and given != fixed:
            raise GradflowError(f"cell {name} fixes the {option} to {fixed}; got {option} "
                                f"{given!r}")
        p[option] = fixed
    k = _integer(p["k"], "k", 1)
    hidden = _integer(p["hidden"], "hidden", 1)
    m = 2 * hidden if cell == "lstm" else hidden
    if k > m:
        raise GradflowError(f"k must be at most the state size {m} of the {name} cell with "
                            f"hidden {hidden}; got {k}")
    threshold = _real(p["threshold"], "threshold")
    if not 0.0 < threshold < 1.0:
        raise GradflowError(f"threshold must lie in (0, 1); got {p['threshold']!r}")
    return SweepPoint(
        cell=cell,
        activation=_choice(p["activation"], "activation", ACTIVATIONS) if cell == "rnn" else None,
        variant=_choice(p["variant"], "variant", VARIANTS) if cell == "gru" else None,
        forget_bias=_real(p["forget_bias"], "forget_bias") if cell == "lstm" else None,
        hidden=hidden,
        inputs=_integer(p["inputs"], "inputs", 1),
        init=_choice(p["init"], "init", INITS),
        gain=_real(p["gain"], "gain"),
        seed=_integer(p["seed"], "seed", 0),
        steps=_integer(p["steps"], "steps", 1),
        input_scale=_real(p["input_scale"], "input_scale", minimum=0.0),
        h0_scale=_real(p["h0_scale"], "h0_scale", minimum=0.0),
        warmup=_integer(p["warmup"], "warmup", 0),
        k=k,
        threshold=threshold,
    )


def point_model(point):
    """The point's cell, with the weights ``gradflow init`` would draw."""
    from ..cells import CELLS

    options = {}
    if point.cell == "rnn":
        options["activation"] = point.activation
    elif point.cell == "gru":
        options["variant"] = point.variant
    elif point.forget_bias:
        options["forget_bias"] = point.forget_bias
    return CELLS[point.cell].init(point.hidden, point.inputs, init=point.init, gain=point.gain,
                                  seed=point.seed, **options)


def point_trajectory(point):
    """The point's inputs and initial state, derived from its seed alone.

    Returns
    -------
    xs : ndarray, shape (warmup + steps, inputs)
    s0 : ndarray, shape (m,)
    """
    from ..resources import require_memory

    window = point.warmup + point.steps
    require_memory(8 * window * (point.inputs + point.state_size),
                   f"{point.describe()}: {window} steps")
    if point.input_scale == 0.0:
        xs = np.zeros((window, point.inputs))
    else:
        rng = np.random.default_rng([point.seed, 1])
        xs = point.input_scale * rng.standard_normal((window, point.inputs))
    if point.h0_scale == 0.0:
        s0 = np.zeros(point.state_size)
    else:
        s0 = point.h0_scale * np.random.default_rng([point.seed, 2]).standard_normal(
            point.state_size)
    return xs, s0


def result_columns(k):
    """Column names of a row for k Lyapunov exponents, in file order."""
    params = [f.name for f in fields(SweepPoint)]
    lambdas = [f"lambda_{i + 1}" for i in range(k)]
    return ["key", "kind", *params, "status", *lambdas, *METRICS, "error"]


#: Types of the parameter columns.
PARAMETER_TYPES = {
    "cell": str, "activation": str, "variant": str, "forget_bias": float, "hidden": int,
    "inputs": int, "init": str, "gain": float, "seed": int, "steps": int,
    "input_scale": float, "h0_scale": float, "warmup": int, "k": int, "threshold": float,
}


def column_types(k):
    """``{column: type}`` (str, int or float) of the columns of :func:`result_columns`."""
    types = {"key": str, "kind": str, "status": str, "error": str, **PARAMETER_TYPES,
             **{f"lambda_{i + 1}": float for i in range(k)}, **METRICS}
    return {c: types[c] for c in result_columns(k)}


_blas_lock = threading.Lock()
_blas_depth = 0
_blas_context = None


@contextmanager
def _one_blas_thread():
    """One BLAS thread while any point is being evaluated in this process.

    The products of a multi-threaded BLAS may round differently from a single-threaded one,
    so a row would depend on the thread count of the process that computed it; parallelism
    is across points instead.  Reference-counted, so threads evaluating points side by side
    (a threaded Dask worker) never restore the setting under each other.
    """
    from .._threads import blas_threads

    global _blas_depth, _blas_context
    with _blas_lock:
        if _blas_depth == 0:
            _blas_context = blas_threads(1)
            _blas_context.__enter__()
        _blas_depth += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                context, _blas_context = _blas_context, None
                context.__exit__(None, None, None)


def _measure(point):
    from ..resources import require_memory
    from .decay import decay
    from .lyapunov import lyapunov
    from .spectrum import spectrum

    n, m = point.hidden, point.state_size
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[point.cell]
    # the weights, a few m x m work arrays of the chains and the spectra, the trajectory
    require_memory(8 * (gates * n * (n + point.inputs + 1) + 6 * m * m
                        + (point.warmup + point.steps + 1) * (point.inputs + 2 * m)),
                   f"{point.describe()}")
    model = point_model(point)
    xs, s0 = point_trajectory(point)
    S = model.run(xs, s0)
    exponents = lyapunov(model, xs, s0, k=point.k, warmup=point.warmup).exponents
    decayed = decay(model, xs[point.warmup:], S[point.warmup], threshold=point.threshold)
    figures = spectrum(model)
    row = {f"lambda_{i + 1}": float(v) for i, v in enumerate(exponents)}
    row.update(
        log10_decay_rate=decayed.log10_decay_rate,
        decay_factor=decayed.decay_factor,
        gradient_horizon=decayed.gradient_horizon,
        growth_horizon=decayed.growth_horizon,
        verdict=decayed.verdict,
        sigma_max=max(m.sigma_max for m in figures.matrices.values()),
        spectral_radius=max(m.spectral_radius for m in figures.matrices.values()),
        bound=figures.bound,
    )
    return row


def error_row(point, message, wall_time=None):
    """The row of a point that could not be measured, with its error message."""
    row = dict.fromkeys(result_columns(point.k))
    row.update(key=point.key, kind=point.kind, **point.parameters(), status="error",
               wall_time_s=wall_time, error=" ".join(str(message).split()) or "failed")
    return row


def evaluate_point(point):
    """Build, drive and measure the cell of one sweep point; the row of the results.

    A pure function of ``point``: the weights, inputs and initial state derive from its
    parameters alone, and the products run on one BLAS thread whatever the process's
    setting, so the row is the same bit for bit wherever it is computed (``wall_time_s``
    aside).  A point that fails (a trajectory that overflows float64, a request beyond the
    memory cap) gives a row with ``status = "error"`` and the message, not an exception.

    Parameters
    ----------
    point : SweepPoint

    Returns
    -------
    dict
        One value per column of ``result_columns(point.k)``: the point's parameters,
        ``key``, ``kind``, ``status`` (``"ok"`` or ``"error"``), ``lambda_1..lambda_k``
        (natural log per step, descending), ``log10_decay_rate`` and ``decay_factor`` (per
        step, fitted over the measured window), ``gradient_horizon``, ``growth_horizon``,
        ``verdict``, ``sigma_max`` and ``spectral_radius`` (largest over the ``W_*h``),
        ``bound`` (RNN: ``gamma * sigma_max(W_h)``), ``wall_time_s`` and ``error``.

    References
    ----------
    Sompolinsky, Crisanti & Sommers (1988), "Chaos in random neural networks", Physical
    Review Letters 61, 259.
    """
    start = time.perf_counter()
    try:
        with _one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
            measured = _measure(point)
    except MemoryError:
        return error_row(point, "out of memory", round(time.perf_counter() - start, 3))
    except GradflowError as exc:
        return error_row(point, str(exc), round(time.perf_counter() - start, 3))
    except Exception as exc:  # noqa: BLE001 - one failing point must not sink the sweep
        return error_row(point, f"{type(exc).__name__}: {exc}",
                         round(time.perf_counter() - start, 3))
    row = dict.fromkeys(result_columns(point.k))
    row.update(key=point.key, kind=point.kind, **point.parameters(), status="ok", **measured)
    row["wall_time_s"] = round(time.perf_counter() - start, 3)
    return row
