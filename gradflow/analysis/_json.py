"""Turning result numbers into JSON values: non-finite floats become None, never NaN or inf."""

import math

import numpy as np


def number(value):
    """A float for JSON, or None for None and non-finite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def numbers(values):
    """A list of JSON numbers (nested for 2-d arrays), non-finite entries as None."""
    if values is None:
        return None
    a = np.asarray(values, dtype=np.float64)
    if a.ndim > 1:
        return [numbers(row) for row in a]
    return [number(v) for v in a]


def level_key(level):
    """The JSON key of a quantile level: ``0.1 -> "0.1"``."""
    return f"{float(level):g}"
