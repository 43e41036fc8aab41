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


def value(item):
    """Any result value as JSON: numbers through :func:`number`, arrays through :func:`numbers`.

    Integers (and integer arrays) stay integers, strings and booleans stay as they are,
    tuples become lists, and an object with a ``to_dict`` method gives its document.
    """
    if item is None or isinstance(item, str | bool | np.bool_):
        return item if not isinstance(item, np.bool_) else bool(item)
    if isinstance(item, int | np.integer):
        return int(item)
    if isinstance(item, float | np.floating):
        return number(item)
    if isinstance(item, np.ndarray):
        if item.dtype.kind in "iu":
            return item.tolist()
        return numbers(item)
    if isinstance(item, tuple | list):
        return [value(v) for v in item]
    if hasattr(item, "to_dict"):
        return item.to_dict()
    raise TypeError(f"no JSON form for {type(item).__name__}")


def document(source, keys, *, optional=()):
    """The JSON document of the attributes ``keys`` of ``source``, in that order.

    Parameters
    ----------
    source : object
        A result object.
    keys : sequence of str
        Attribute names; each becomes a key of the document, its value through :func:`value`.
    optional : collection of str
        Keys left out of the document when their attribute is None (the LSTM-only curves).

    Returns
    -------
    dict
    """
    doc = {}
    for key in keys:
        item = getattr(source, key)
        if item is None and key in optional:
            continue
        doc[key] = value(item)
    return doc
