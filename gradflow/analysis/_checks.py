"""Argument checks shared by the analyses; messages name the argument, the rule and the value."""

import math

import numpy as np

from ..errors import GradflowError


def integer(value, name, *, minimum=None, maximum=None, rule=None):
    """Return ``value`` as int if it is an integer in [minimum, maximum], else raise."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        if rule is None:
            if maximum is None:
                rule = f"an integer >= {minimum}"
            else:
                rule = f"an integer in [{minimum}, {maximum}]"
        raise GradflowError(f"{name} must be {rule}; got {value!r}")
    return int(value)


def quantile_levels(levels, name="quantiles"):
    """Return a sorted tuple of distinct floats in (0, 1), else raise."""
    try:
        values = [float(q) for q in levels]
    except (TypeError, ValueError):
        raise GradflowError(f"{name} must be numbers in (0, 1); got {levels!r}") from None
    for q in values:
        if not (math.isfinite(q) and 0.0 < q < 1.0):
            raise GradflowError(f"{name} must lie in (0, 1); got {q!r}")
    return tuple(sorted(set(values)))


def fraction(value, name):
    """Return ``value`` as a float in (0, 1), else raise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GradflowError(f"{name} must be a number in (0, 1); got {value!r}") from None
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise GradflowError(f"{name} must lie in (0, 1); got {value!r}")
    return v
