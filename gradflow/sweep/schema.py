"""The row of a sweep: its columns, in file order, and their types.

A row holds the point's ``key`` and ``kind``, its parameters (the fields of
:class:`~gradflow.sweep.point.SweepPoint`), ``status``, ``lambda_1..lambda_k``, the measured
:data:`METRICS` and ``error``.  Results files are read back by these names and types, so
changing them orphans every file written before.
"""

from .point import PARAMETER_TYPES

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


def result_columns(k):
    """Column names of a row for k Lyapunov exponents, in file order."""
    lambdas = [f"lambda_{i + 1}" for i in range(k)]
    return ["key", "kind", *PARAMETER_TYPES, "status", *lambdas, *METRICS, "error"]


def column_types(k):
    """``{column: type}`` (str, int or float) of the columns of :func:`result_columns`."""
    types = {"key": str, "kind": str, "status": str, "error": str, **PARAMETER_TYPES,
             **{f"lambda_{i + 1}": float for i in range(k)}, **METRICS}
    return {c: types[c] for c in result_columns(k)}


def point_row(point, status, **values):
    """A row of ``point`` with every column present (None where not given)."""
    row = dict.fromkeys(result_columns(point.k))
    row.update(key=point.key, kind=point.kind, **point.parameters(), status=status, **values)
    return row


def error_row(point, message, wall_time=None):
    """The row of a point that could not be measured, with its error message."""
    return point_row(point, "error", wall_time_s=wall_time,
                     error=" ".join(str(message).split()) or "failed")
