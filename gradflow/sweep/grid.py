"""Sweep grids: the axes and their values, from a ``--grid`` string or a TOML spec.

Grid string: whitespace-separated ``name=values`` terms; the points are the Cartesian product
of the axes, the first axis varying slowest.  ``values`` is one of

=====================  ====================================================================
``a,b,c``              a list (one value fixes the axis)
``start:stop:count``   ``count`` evenly spaced values from ``start`` to ``stop``, both
                       included (``numpy.linspace``), rounded to 12 significant digits, so
                       ``gain=0.5:2.5:21`` is 0.5, 0.6, ..., 2.5 exactly as typed.  On an
                       integer axis every value must come out an integer
                       (``hidden=64:512:8`` is 64, 128, ..., 512; ``seed=0:5:4`` is refused)
``start:stop``         integer axes only: the integers ``start, start + 1, ..., stop - 1``
                       (Python's ``range``), so ``seed=0:5`` is the five seeds 0..4; on a
                       real axis it is refused (a count is needed: ``gain=0.5:2:16``)
=====================  ====================================================================

A TOML spec has a ``[grid]`` table of axes, each a list (``hidden = [64, 256]``), a single
value (``init = "orthogonal"``) or a string in the grid-string syntax (``gain = "0.5:2:16"``),
and an ``[options]`` table of the values shared by every point (``warmup``, ``k``,
``threshold``).

Axes: ``cell`` (rnn, rnn-tanh, rnn-sigmoid, rnn-relu, lstm, gru, gru-seed, gru-reset_after),
``activation`` and ``variant`` (with ``cell=rnn`` / ``cell=gru``), ``forget_bias`` (LSTM),
``hidden``, ``inputs``, ``init``, ``gain``, ``seed``, ``steps``, ``input_scale``,
``h0_scale``.  An option axis applies to its cell's points only: ``cell=rnn,lstm
forget_bias=0,1`` is one RNN per (other) point and two LSTMs.
"""

import itertools
import math
import os
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..analysis.sweep import CELL_NAMES, DEFAULTS, OPTION_CELL, sweep_point
from ..errors import GradflowError

#: The axes and the type of their values.
AXES = {
    "cell": str,
    "activation": str,
    "variant": str,
    "forget_bias": float,
    "hidden": int,
    "inputs": int,
    "init": str,
    "gain": float,
    "seed": int,
    "steps": int,
    "input_scale": float,
    "h0_scale": float,
}
#: Values shared by every point of a sweep (``[options]`` of a spec, or command-line options).
OPTIONS = {"warmup": int, "k": int, "threshold": float}
#: The most points one sweep may hold.
MAX_POINTS = 1_000_000
#: The most values one range may give.
MAX_COUNT = 100_000

_INTEGER = re.compile(r"[+-]?\d+")


def _choices(name):
    from ..activations import ACTIVATIONS
    from ..cells import VARIANTS
    from ..cells.init import INITS

    return {"cell": tuple(CELL_NAMES), "activation": ACTIVATIONS, "variant": VARIANTS,
            "init": INITS}[name]


def _check(name, value):
    """Validate one axis value; return it in canonical form."""
    kind = AXES.get(name) or OPTIONS[name]
    if kind is str:
        choices = _choices(name)
        if value not in choices:
            raise GradflowError(f"{value!r} is not a {name}; expected one of "
                                f"{', '.join(choices)}")
        return value
    if kind is int:
        minimum = {"seed": 0, "warmup": 0}.get(name, 1)
        if value < minimum:
            rule = "positive" if minimum == 1 else "non-negative"
            raise GradflowError(f"{name} must be {rule}; got {value}")
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise GradflowError(f"{name} must be finite; got {value}")
    if name in ("input_scale", "h0_scale") and value < 0:
        raise GradflowError(f"{name} must be >= 0; got {value:g}")
    if name == "threshold" and not 0.0 < value < 1.0:
        raise GradflowError(f"threshold must lie in (0, 1); got {value:g}")
    return value


def _number(token, name, kind):
    token = token.strip()
    if kind is int:
        if not _INTEGER.fullmatch(token):
            raise GradflowError(f"{token!r} is not an integer")
        return int(token)
    try:
        return float(token)
    except ValueError:
        raise GradflowError(f"{token!r} is not a number") from None


def _round12(value):
    return float(f"{value:.12g}")


def _range(name, text):
    kind = AXES[name]
    if kind is str:
        raise GradflowError(f"ranges are for numeric axes; list the values "
                            f"({name}={text.replace(':', ',')})")
    parts = text.split(":")
    if len(parts) == 2:
        if kind is not int:
            raise GradflowError(f"a range of {name} needs a count, start:stop:count (e.g. "
                                f"{name}={parts[0]}:{parts[1]}:16); start:stop is for integer "
                                "axes")
        start, stop = (_number(p, name, int) for p in parts)
        if stop <= start:
            raise GradflowError(f"the integers from {start} up to (not including) {stop} are "
                                "none; start:stop needs stop > start")
        if stop - start > MAX_COUNT:
            raise GradflowError(f"{stop - start} values; at most {MAX_COUNT} per axis")
        return tuple(range(start, stop))
    if len(parts) != 3:
        raise GradflowError("a range is start:stop:count (or start:stop for integers)")
    start, stop = (_number(p, name, float) for p in parts[:2])
    count = _number(parts[2], name, int)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise GradflowError("start and stop must be finite")
    if count < 1 or count > MAX_COUNT:
        raise GradflowError(f"the count must be an integer in [1, {MAX_COUNT}]; got {count}")
    if count == 1 and start != stop:
        raise GradflowError(f"a count of 1 needs start == stop; got {start:g} and {stop:g}")
    values = [_round12(v) for v in np.linspace(start, stop, count)]
    if kind is int:
        if any(v != round(v) for v in values):
            shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if count > 6 else "")
            hint = ""
            if start == round(start) and stop == round(stop) and stop > start:
                a, b = int(start), int(stop)
                hint = f"; {name}={a}:{b} gives the integers {a}..{b - 1}"
            raise GradflowError(f"the {count} evenly spaced values from {start:g} to {stop:g} "
                                f"are not all integers ({shown}){hint}")
        values = [int(round(v)) for v in values]
    return tuple(values)


def parse_values(name, text):
    """The values of axis ``name`` written as ``a,b,c``, ``start:stop:count`` or ``start:stop``.

    Raises
    ------
    GradflowError
        Without a location prefix; the caller adds ``--grid: name=text:``.
    """
    text = text.strip()
    if not text:
        raise GradflowError("no values")
    if ":" in text:
        if "," in text:
            raise GradflowError("a list or a range, not both")
        values = _range(name, text)
    else:
        tokens = text.split(",")
        if any(not t.strip() for t in tokens):
            raise GradflowError("an empty value in the list")
        kind = AXES[name]
        values = tuple(t.strip() if kind is str else _number(t, name, kind) for t in tokens)
    return tuple(_check(name, v) for v in values)


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
        cells = {CELL_NAMES[c][0] for c in cell_names}
        for option, owner in OPTION_CELL.items():
            if option not in names:
                continue
            if owner not in cells:
                raise GradflowError(f"{self.source}: {option} applies to {owner} only, and the "
                                    f"grid has no {owner}")
            fixing = [c for c in cell_names if CELL_NAMES[c] != (owner, None)
                      and CELL_NAMES[c][0] == owner]
            if fixing:
                raise GradflowError(f"{self.source}: cell={fixing[0]} fixes the {option}; use "
                                    f"cell={owner} with the {option} axis")
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
            value = _check(name, value)
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


def _toml_module():
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise GradflowError("reading a TOML spec on Python 3.10 needs the tomli package: "
                                "pip install tomli") from None
    return tomllib


def _toml_value(name, value):
    kind = AXES.get(name) or OPTIONS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GradflowError(f"{value!r} is not a {kind.__name__}")
    if isinstance(value, str):
        if kind is not str:
            raise GradflowError(f"{value!r} is not a number")
        return value
    if kind is str:
        raise GradflowError(f"{value!r} is not a name; expected one of "
                            f"{', '.join(_choices(name))}")
    if kind is int and not isinstance(value, int):
        raise GradflowError(f"{value!r} is not an integer")
    return value


def load_spec(path):
    """Read a TOML sweep spec: ``[grid]`` axes and ``[options]``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SweepGrid

    Examples
    --------
    A spec file::

        [grid]
        cell = "rnn-tanh"
        hidden = [64, 256, 512]
        gain = "0.5:2:16"
        seed = "0:4"
        input_scale = 0.0
        h0_scale = 1.0
        steps = 400

        [options]
        warmup = 400
        k = 4
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise GradflowError(f"{path}: is a folder, not a TOML spec")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise GradflowError(f"{path}: no such file") from None
    except OSError as exc:
        raise GradflowError(f"{path}: cannot read: {exc.strerror}") from None
    tomllib = _toml_module()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise GradflowError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise GradflowError(f"{path}: not valid TOML ({exc})") from None
    for key in doc:
        if key not in ("grid", "options") or not isinstance(doc[key], dict):
            raise GradflowError(f"{path}: unknown entry {key!r}; a spec holds the tables "
                                "[grid] and [options]")
    axes = []
    texts = {}
    for name, value in doc.get("grid", {}).items():
        where = f"{path}: [grid] {name}"
        if name in OPTIONS:
            raise GradflowError(f"{where}: {name} is shared by every point; put it under "
                                "[options]")
        if name not in AXES:
            raise GradflowError(f"{where}: unknown axis; the axes are {', '.join(AXES)}")
        try:
            if isinstance(value, str):
                values = parse_values(name, value)
                texts[name] = value
            else:
                items = value if isinstance(value, list) else [value]
                if not items:
                    raise GradflowError("an empty list")
                values = tuple(_check(name, _toml_value(name, v)) for v in items)
        except GradflowError as exc:
            raise GradflowError(f"{where}: {exc}") from None
        axes.append((name, values))
    options = {}
    for name, value in doc.get("options", {}).items():
        where = f"{path}: [options] {name}"
        if name in AXES:
            raise GradflowError(f"{where}: {name} is a grid axis; put it under [grid] (one "
                                "value fixes it)")
        if name not in OPTIONS:
            raise GradflowError(f"{where}: unknown option; the options are "
                                f"{', '.join(OPTIONS)}")
        try:
            options[name] = _check(name, _toml_value(name, value))
        except GradflowError as exc:
            raise GradflowError(f"{where}: {exc}") from None
    return SweepGrid(axes=tuple(axes), options=options, texts=texts, source=path)
