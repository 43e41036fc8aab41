"""Sweep grids: the axes and their values, and the ``--grid`` string that writes them.

Grid string: whitespace-separated ``name=values`` terms; the points are the Cartesian product
of the axes, the first axis varying slowest.  ``values`` is a list or a range (see
:mod:`gradflow.sweep.values`); a TOML spec writes the same grid as tables (see
:mod:`gradflow.sweep.spec`).

Axes: ``cell`` (any configuration name of :func:`gradflow.cells.configurations`: rnn,
rnn-relu, lstm, gru-reset_after, ...), the cell options ``activation`` and ``variant`` (with
``cell=rnn`` / ``cell=gru``), ``forget_bias`` (LSTM) and ``leak`` (RNN: ``leak=0.1:1:10``),
``hidden``, ``inputs``, ``init``,
``gain``, ``seed``, ``steps``, ``input_scale``, ``h0_scale``.  An option axis applies to
the points of the cells that have the option only: ``cell=rnn,lstm forget_bias=0,1`` is one
RNN per (other) point and two LSTMs.
"""

import itertools
import math
from dataclasses import dataclass, field, replace

from ..cells import configuration
from ..errors import GradflowError
from .point import DEFAULTS, OPTION_FIELDS, check_parameter, option_owners, sweep_point
from .values import AXES, OPTIONS, parse_values

#: The most points one sweep may hold.
MAX_POINTS = 1_000_000


def _check_option_axis(source, option, cell_names):
    """An option axis needs a cell with that option in the grid, and no name fixing it."""
    owners = [cls.cell for cls in option_owners(option)]
    configs = {name: configuration(name) for name in cell_names}
    if not any(cls.cell in owners for cls, _ in configs.values()):
        raise GradflowError(f"{source}: {option} applies to {' and '.join(owners)} only, and "
                            f"the grid has no {' or '.join(owners)}")
    fixing = [name for name, (_, fixed) in configs.items() if option in fixed]
    if fixing:
        owner = configs[fixing[0]][0].cell
        raise GradflowError(f"{source}: cell={fixing[0]} fixes the {option}; use "
                            f"cell={owner} with the {option} axis")


@dataclass(frozen=True)
class SweepGrid:
    """The axes of a sweep and the options shared by its points.

    Attributes
    ----------
    axes : tuple of (str, tuple)
        ``(name, values)`` in the order written; the first varies slowest.
    options : dict
        ``warmup``, ``k``, ``threshold`` where given (defaults otherwise).
    texts : dict
        How each axis was written, for messages.
    source : str
        Where the grid came from (``"--grid"`` or the spec's path).
    """

    axes: tuple
    options: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)
    source: str = "--grid"

    def __post_init__(self):
        if not self.axes:
            raise GradflowError(f"{self.source}: the grid is empty; give at least one axis, "
                                "e.g. gain=0.5:2:16")
        names = [name for name, _ in self.axes]
        cell_names = self.values("cell", (DEFAULTS["cell"],))
        for option in OPTION_FIELDS:
            if option in names:
                _check_option_axis(self.source, option, cell_names)
        count = math.prod(len(values) for _, values in self.axes)
        if count > MAX_POINTS:
            raise GradflowError(f"{self.source}: the grid has {count:,} points; at most "
                                f"{MAX_POINTS:,}")

    def has(self, name):
        """Whether ``name`` is an axis of the grid (or, for options, given)."""
        return name in self.options or any(n == name for n, _ in self.axes)

    def values(self, name, default=None):
        """The values of axis ``name``, or ``default`` when the grid lacks it."""
        for n, values in self.axes:
            if n == name:
                return values
        return default

    def with_values(self, **values):
        """A copy with more single-valued axes or options (command-line ``--steps`` and co.)."""
        axes = list(self.axes)
        options = dict(self.options)
        texts = dict(self.texts)
        for name, value in values.items():
            if value is None:
                continue
            value = check_parameter(name, value)
            if name in OPTIONS:
                options[name] = value
            else:
                axes.append((name, (value,)))
                texts[name] = f"{value:g}" if isinstance(value, float) else str(value)
        return replace(self, axes=tuple(axes), options=options, texts=texts)

    def points(self):
        """Every point, in grid order, duplicates removed (options of other cells dropped)."""
        names = [name for name, _ in self.axes]
        seen = {}
        for combination in itertools.product(*(values for _, values in self.axes)):
            point = sweep_point(**dict(zip(names, combination, strict=True)), **self.options)
            seen.setdefault(point.key, point)
        return tuple(seen.values())

    def describe(self):
        """The grid in grid-string syntax, then the options: for messages and reports."""
        terms = [f"{name}={self.texts.get(name) or ','.join(map(str, values))}"
                 for name, values in self.axes]
        terms += [f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                  for name, value in self.options.items()]
        return " ".join(terms)


def parse_grid(text, *, source="--grid"):
    """Read a grid string: ``'cell=rnn,lstm gain=0.5:2.5:21 hidden=128,512 seed=0:5'``.

    Parameters
    ----------
    text : str
        Whitespace-separated ``name=values`` terms (see the module docstring).
    source : str
        Prefix of error messages.

    Returns
    -------
    SweepGrid
    """
    if not isinstance(text, str):
        raise GradflowError(f"{source} must be text like 'gain=0.5:2:16 seed=0:4'; got "
                            f"{type(text).__name__}")
    axes = []
    texts = {}
    for term in text.split():
        name, sep, values = term.partition("=")
        if not sep or not name:
            raise GradflowError(f"{source}: {term!r} is not name=values (e.g. gain=0.5:2:16)")
        if name in OPTIONS:
            raise GradflowError(f"{source}: {name} is shared by every point, not an axis; "
                                f"give it as --{name}")
        if name not in AXES:
            raise GradflowError(f"{source}: unknown axis {name!r}; the axes are "
                                f"{', '.join(AXES)}")
        if name in texts:
            raise GradflowError(f"{source}: axis {name} is given twice")
        try:
            axes.append((name, parse_values(name, values)))
        except GradflowError as exc:
            raise GradflowError(f"{source}: {term}: {exc}") from None
        texts[name] = values
    return SweepGrid(axes=tuple(axes), texts=texts, source=source)
