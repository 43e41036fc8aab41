"""The values of one sweep axis, from text: lists and ranges, checked and in canonical form.

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
"""

import re

import numpy as np

from .. import validation
from ..errors import GradflowError
from .point import PARAMETER_TYPES, check_parameter

#: Values shared by every point of a sweep (``[options]`` of a spec, or command-line options).
OPTIONS = {name: PARAMETER_TYPES[name] for name in ("warmup", "k", "threshold")}
#: The axes and the type of their values: every other parameter of a point.
AXES = {name: kind for name, kind in PARAMETER_TYPES.items() if name not in OPTIONS}
#: The most values one range may give.
MAX_COUNT = 100_000

# ASCII digits only: Python's int() and float() would also take "1_0" (10) and other scripts'
# digits, which are typing mistakes in a grid
_INTEGER = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)",
                   re.IGNORECASE)


def _number(token, kind):
    token = token.strip()
    if kind is int:
        if not _INTEGER.fullmatch(token):
            raise GradflowError(f"{token!r} is not an integer")
        return int(token)
    if not _REAL.fullmatch(token):
        raise GradflowError(f"{token!r} is not a number")
    return float(token)


def _round12(value):
    return float(f"{value:.12g}")


def _integer_range(parts):
    start, stop = (_number(p, int) for p in parts)
    if stop <= start:
        raise GradflowError(f"the integers from {start} up to (not including) {stop} are "
                            "none; start:stop needs stop > start")
    if stop - start > MAX_COUNT:
        raise GradflowError(f"{stop - start} values; at most {MAX_COUNT} per axis")
    return tuple(range(start, stop))


def _integers_of(name, values, start, stop):
    """The linspace ``values`` of an integer axis as ints, or an error showing them."""
    count = len(values)
    if any(v != round(v) for v in values):
        shown = ", ".join(f"{v:.4g}" for v in values[:6]) + (", ..." if count > 6 else "")
        hint = ""
        if start == round(start) and stop == round(stop) and stop > start:
            a, b = int(start), int(stop)
            hint = f"; {name}={a}:{b} gives the integers {a}..{b - 1}"
        raise GradflowError(f"the {count} evenly spaced values from {start:g} to {stop:g} "
                            f"are not all integers ({shown}){hint}")
    return [int(round(v)) for v in values]


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
        return _integer_range(parts)
    if len(parts) != 3:
        raise GradflowError("a range is start:stop:count (or start:stop for integers)")
    start, stop = (_number(p, float) for p in parts[:2])
    count = validation.integer(_number(parts[2], int), "the count", minimum=1,
                               maximum=MAX_COUNT)
    validation.real(start, "start")
    validation.real(stop, "stop")
    if count == 1 and start != stop:
        raise GradflowError(f"a count of 1 needs start == stop; got {start:g} and {stop:g}")
    values = [_round12(v) for v in np.linspace(start, stop, count)]
    if kind is int:
        values = _integers_of(name, values, start, stop)
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
        values = tuple(t.strip() if kind is str else _number(t, kind) for t in tokens)
    return tuple(check_parameter(name, v) for v in values)
