"""One point of a parameter sweep: a cell configuration, its sizes, its seed and its trajectory.

A :class:`SweepPoint` names everything a row of a sweep depends on: the cell and its options,
the sizes, the initialiser, the gain, the seed and the trajectory.  Every fact about the cell
(its configuration names, its options and their values, its label, its state size, its gates)
comes from the cell registry, :mod:`gradflow.cells`, so a cell registered there is a sweep
axis value with no edit here.

The point's seed drives three independent streams:

=============  ===========================================================================
weights        ``CELL.init(hidden, inputs, init=, gain=, seed=seed, ...)``, as ``gradflow
               init`` draws them
inputs         ``input_scale * default_rng([seed, 1]).standard_normal((warmup + steps,
               inputs))`` (exact zeros when ``input_scale`` is 0: the autonomous system)
initial state  ``h0_scale * default_rng([seed, 2]).standard_normal(m)`` (zeros when 0)
=============  ===========================================================================
"""

import hashlib
import json
import numbers
import typing
from dataclasses import dataclass, fields

import numpy as np

from .. import validation
from ..cells import CELLS, cell_class, configuration, configurations
from ..cells.init import INITS
from ..errors import GradflowError
from ..resources import require_memory

#: Version of the evaluation; part of every point's key, so rows of another version never mix.
EVALUATION = 2  # 2: the headline figures read the output's sensitivity (LSTM: dh_T/ds)

#: Values used for what a point leaves unsaid; the cell options take their cell's defaults.
DEFAULTS = {
    "cell": "rnn",
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

#: Lower bounds of the integer parameters.
INTEGER_MINIMUM = {"hidden": 1, "inputs": 1, "seed": 0, "steps": 1, "warmup": 0, "k": 1}
#: Lower bounds of the real parameters (None: any finite value).
REAL_MINIMUM = {"gain": None, "input_scale": 0.0, "h0_scale": 0.0}


@dataclass(frozen=True)
class SweepPoint:
    """Everything one row of a sweep depends on.

    Build points with :func:`sweep_point`, which validates, fills defaults and drops the
    options that do not apply to the cell (``activation`` is the RNN's, ``variant`` the
    GRU's, ``forget_bias`` the LSTM's; they are None for the cells without them).

    Attributes
    ----------
    cell : str
        The registry name of the cell (``"rnn"``, ``"lstm"``, ``"gru"``, ...).
    activation : str or None
        Cell option (RNN nonlinearity).
    variant : str or None
        Cell option (GRU reset placement).
    forget_bias : float or None
        Cell option (LSTM: added to ``b_f``).
    leak : float or None
        Cell option (RNN: the leak a in (0, 1]; 1 is the seed's RNN).
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
    leak: float | None
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
    def cell_class(self):
        """The registered class of the point's cell."""
        return cell_class(self.cell)

    def options(self):
        """The cell options the point sets, as ``CELL.init`` takes them (defaults left out)."""
        out = {}
        for name, spec in self.cell_class.option_specs_by_name().items():
            value = getattr(self, name) if name in OPTION_FIELDS else None
            if value is not None and value != unsaid_value(spec):
                out[name] = value
        return out

    @property
    def kind(self):
        """Colour key and label: ``"RNN-tanh"``, ``"LSTM"``, ``"GRU"``, ``"GRU-reset_after"``."""
        cls = self.cell_class
        stored = cls.stored_options()
        return cls.kind_for(**{k: v for k, v in self.options().items() if k in stored})

    @property
    def state_size(self):
        """m: n, or 2n for LSTM."""
        return self.cell_class.state_size_for(self.hidden)

    def parameters(self):
        """The point as a dict, in column order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def key(self):
        """A stable 16-hex-digit identity: a hash of the parameters and the evaluation version.

        Floats enter by their shortest round-trip text, so 0.6 and 0.6000000000000001 are
        different points; ranges are rounded to 12 significant digits when the grid is read.
        """
        parameters = {name: value for name, value in self.parameters().items()
                      if not (name in KEYED_AWAY_FROM_DEFAULT
                              and value in (None, KEYED_AWAY_FROM_DEFAULT[name]))}
        text = json.dumps({"evaluation": EVALUATION, **parameters}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self):
        """The point in words for messages: ``"RNN-tanh hidden=64 gain=1.5 seed=0 ..."``."""
        real_options = [name for name in OPTION_FIELDS if PARAMETER_TYPES[name] is float]
        parts = [self.kind]
        for name in ("hidden", "inputs", "init", "gain", *real_options, "seed", "steps",
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
        gates = len(self.cell_class.gates)
        return float(self.steps * m**3 + window * m * m * (self.k + 2)
                     + 10 * gates * self.hidden**3 + 1e6)


#: Options added after the first sweeps, with their default: they enter a point's key only
#: when set away from it, so every point without them keeps the key it had before.
KEYED_AWAY_FROM_DEFAULT = {"leak": 1.0}
#: The fields of a point that hold cell options (one column each; None for other cells).
OPTION_FIELDS = tuple(f.name for f in fields(SweepPoint) if f.name not in DEFAULTS)
#: The type of each parameter (str, int or float), in column order.
PARAMETER_TYPES = {f.name: next(t for t in typing.get_args(f.type) or (f.type,)
                                if t is not type(None))
                   for f in fields(SweepPoint)}


def unsaid_value(spec):
    """A cell option's value when a point leaves it unsaid.

    Its default, or 0.0 for a real option that adds nothing by default (LSTM
    ``forget_bias``).
    """
    if spec.default is None and not spec.is_choice:
        return 0.0
    return spec.default


def option_owners(name):
    """The registered cell classes that have the option ``name``, in registry order."""
    return tuple(cls for cls in CELLS.values() if name in cls.option_specs_by_name())


def parameter_choices(name):
    """The allowed values of a text parameter: ``cell``, ``init`` or a choice option."""
    if name == "cell":
        return tuple(configurations())
    if name == "init":
        return INITS
    specs = [cls.option_specs_by_name()[name] for cls in option_owners(name)]
    return tuple(dict.fromkeys(c for spec in specs for c in spec.choices or ()))


#: The largest integer parameter: results files (CSV and Parquet alike) hold int64.
INTEGER_MAXIMUM = 2**63 - 1


def check_parameter(name, value):
    """Validate one parameter of a point (or a cell option); return its canonical value.

    An integer out of range is told its sign (``"hidden must be positive; got 0"``), any
    other value the whole rule (``"hidden must be a positive integer; got 1.5"``).
    """
    if name in ("cell", "init"):
        return validation.choice(value, name, parameter_choices(name))
    if name in INTEGER_MINIMUM:
        minimum = INTEGER_MINIMUM[name]
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        rule = ("positive" if minimum == 1 else "non-negative") if integral else None
        if integral and value > INTEGER_MAXIMUM:
            raise GradflowError(f"{name} must be at most 2**63 - 1 (a results file holds "
                                f"64-bit integers); got {value}")
        return validation.integer(value, name, minimum=minimum, rule=rule)
    if name == "threshold":
        return validation.fraction(value, name)
    if name in REAL_MINIMUM:
        return validation.real(value, name, minimum=REAL_MINIMUM[name])
    return check_option(name, value)


def check_option(name, value):
    """Validate a cell option's value against the cells that have it (any one may accept it)."""
    owners = option_owners(name)
    if not owners:
        raise GradflowError(f"{name} is not an option of any registered cell")
    first = None
    for cls in owners:
        try:
            return cls.option_specs_by_name()[name].check(value)
        except GradflowError as exc:
            first = first or exc
    raise first


def sweep_point(**parameters):
    """Validate one point's parameters and return the canonical :class:`SweepPoint`.

    Parameters
    ----------
    **parameters
        Any of ``cell`` (a configuration name of :func:`gradflow.cells.configurations`:
        ``"rnn-relu"`` fixes the activation, ``"gru-reset_after"`` the variant), the cell
        options ``activation``, ``variant``, ``forget_bias``, ``leak``, and ``hidden``,
        ``inputs``, ``init``, ``gain``, ``seed``, ``steps``, ``input_scale``, ``h0_scale``,
        ``warmup``, ``k``, ``threshold``; the rest take :data:`DEFAULTS` (the options their cell's
        defaults).  Options the cell does not have are dropped (set to None).

    Returns
    -------
    SweepPoint

    Raises
    ------
    GradflowError
        Naming the parameter, the rule and the value.
    """
    names = [f.name for f in fields(SweepPoint)]
    unknown = sorted(set(parameters) - set(names))
    if unknown:
        raise GradflowError(f"unknown sweep parameter {unknown[0]!r}; expected one of "
                            f"{', '.join(names)}")
    given = {k: v for k, v in parameters.items() if v is not None}
    p = {**DEFAULTS, **given}
    name = check_parameter("cell", p["cell"])
    cls, fixed = configuration(name)
    for option, value in fixed.items():
        if option not in OPTION_FIELDS:
            raise GradflowError(f"cell {name} fixes the {option}, which a sweep row has no "
                                f"column for; use cell={cls.cell}")
        if option in given and given[option] != value:
            raise GradflowError(f"cell {name} fixes the {option} to {value}; got {option} "
                                f"{given[option]!r}")
    specs = cls.option_specs_by_name()
    options = {}
    for option in OPTION_FIELDS:
        value = fixed.get(option, given.get(option))
        if option not in specs:
            options[option] = None
        elif value is None:
            options[option] = unsaid_value(specs[option])
        else:
            options[option] = specs[option].check(value)
    values = {key: check_parameter(key, p[key]) for key in DEFAULTS if key != "cell"}
    m = cls.state_size_for(values["hidden"])
    if values["k"] > m:
        raise GradflowError(f"k must be at most the state size {m} of the {name} cell with "
                            f"hidden {values['hidden']}; got {values['k']}")
    return SweepPoint(cell=cls.cell, **options, **values)


def point_model(point):
    """The point's cell, with the weights ``gradflow init`` would draw."""
    return point.cell_class.init(point.hidden, point.inputs, init=point.init, gain=point.gain,
                                 seed=point.seed, **point.options())


def point_trajectory(point):
    """The point's inputs and initial state, derived from its seed alone.

    Returns
    -------
    xs : ndarray, shape (warmup + steps, inputs)
    s0 : ndarray, shape (m,)
    """
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
