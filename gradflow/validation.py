"""Parameter validation for every layer, in scikit-learn's manner.

Each check returns the value in canonical form (``int``, ``float``, ``str``) or raises
:class:`~gradflow.errors.GradflowError` with a message that names the parameter, the rule and
the value: ``"hidden must be an integer >= 1; got 0"``.  This module imports nothing of
gradflow but the error type, so every layer (kernels excepted: they validate nothing) may
use it.
"""

import math
import numbers
import os

import numpy as np

from .errors import GradflowError

__all__ = [
    "boolean",
    "choice",
    "fraction",
    "integer",
    "instance",
    "mapping",
    "path",
    "quantile_levels",
    "real",
]


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def integer(value, name, *, minimum=None, maximum=None, rule=None):
    """Return ``value`` as int if it is an integer in [minimum, maximum], else raise.

    Booleans, floats (even integral ones) and strings are refused: ``1.7`` workers or
    ``True`` layers are mistakes, never silently truncated.
    """
    ok = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        if rule is None:
            if minimum is None and maximum is None:
                rule = "an integer"
            elif maximum is None:
                rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            elif minimum is None:
                rule = f"an integer <= {maximum}"
            else:
                rule = f"an integer in [{minimum}, {maximum}]"
        raise GradflowError(f"{name} must be {rule}; got {_shown(value)}")
    return int(value)


def real(value, name, *, minimum=None, maximum=None, low_open=False, high_open=False,
         rule=None):
    """Return ``value`` as a finite float within the given bounds, else raise.

    Parameters
    ----------
    value : object
        A real number (Python or NumPy; booleans and strings are refused).
    name : str
        The parameter's name, for the message.
    minimum, maximum : float, optional
        Bounds; closed unless ``low_open`` / ``high_open``.
    rule : str, optional
        The rule in words, replacing the one built from the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise GradflowError(f"{name} must be a real number; got {_shown(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise GradflowError(f"{name} must be finite; got {_shown(value)}")
    too_low = minimum is not None and (v <= minimum if low_open else v < minimum)
    too_high = maximum is not None and (v >= maximum if high_open else v > maximum)
    if too_low or too_high:
        if rule is None:
            if minimum is not None and maximum is not None:
                rule = (f"lie in {'(' if low_open else '['}{minimum:g}, {maximum:g}"
                        f"{')' if high_open else ']'}")
            elif minimum is not None:
                rule = f"be {'>' if low_open else '>='} {minimum:g}"
            else:
                rule = f"be {'<' if high_open else '<='} {maximum:g}"
        raise GradflowError(f"{name} must {rule}; got {_shown(value)}")
    return v


def fraction(value, name):
    """Return ``value`` as a float in the open interval (0, 1), else raise."""
    return real(value, name, minimum=0.0, maximum=1.0, low_open=True, high_open=True)


def choice(value, name, choices):
    """Return ``value`` if it is one of ``choices`` (strings compared exactly), else raise."""
    if not isinstance(value, str | int | float) or isinstance(value, bool) or value not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise GradflowError(f"{name} must be one of {shown}; got {_shown(value)}")
    return value


def boolean(value, name):
    """Return ``value`` as bool if it is ``True`` or ``False`` (NumPy's too), else raise."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise GradflowError(f"{name} must be True or False; got {_shown(value)}")


def mapping(value, name):
    """Return ``value`` if it is a mapping (has ``keys`` and ``__getitem__``), else raise."""
    if not (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        raise GradflowError(f"{name} must be a mapping of names to arrays; got "
                            f"{type(value).__name__}")
    return value


def path(value, name):
    """Return ``os.fspath(value)`` for a str or path-like ``value``, else raise."""
    if isinstance(value, str | os.PathLike):
        return os.fspath(value)
    raise GradflowError(f"{name} must be a file path (str or os.PathLike); got "
                        f"{type(value).__name__}")


def instance(value, name, types, words):
    """Return ``value`` if it is one of ``types``, else raise: ``"{name} must be {words}"``."""
    if isinstance(value, types):
        return value
    raise GradflowError(f"{name} must be {words}; got {type(value).__name__}")


def quantile_levels(levels, name="quantiles"):
    """Return a sorted tuple of distinct floats in (0, 1), else raise."""
    if isinstance(levels, str) or not hasattr(levels, "__iter__"):
        raise GradflowError(f"{name} must be numbers in (0, 1); got {_shown(levels)}")
    values = [fraction(q, name) for q in levels]
    return tuple(sorted(set(values)))
