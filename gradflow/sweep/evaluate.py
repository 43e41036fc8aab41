"""What one point of a sweep computes: build the cell, drive it, measure it; a pure function.

:func:`evaluate_point` returns the row of a :class:`~gradflow.sweep.point.SweepPoint`; the row
depends on the point alone (never on the process, thread or machine that computes it, nor on
what it computed before), so a sweep gives the same numbers bit for bit on any executor.

The cell runs ``warmup + steps`` steps.  lambda_1..k come from
``gradflow.lyapunov(model, xs, s0, k=k, warmup=warmup)``; the gradient decay (rate, factor,
horizons, verdict) from ``gradflow.decay`` over the last ``steps`` steps, started from the
state reached after the warm-up; sigma_max, the spectral radius and Pascanu's bound from
``gradflow.spectrum``.
"""

import threading
import time
from contextlib import contextmanager

import numpy as np

from .. import validation
from .._threads import blas_threads
from ..analysis.decay import decay
from ..analysis.lyapunov import lyapunov
from ..analysis.spectrum import spectrum
from ..errors import GradflowError
from ..resources import require_memory
from .point import SweepPoint, point_model, point_trajectory
from .schema import error_row, point_row

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
    n, m = point.hidden, point.state_size
    gates = len(point.cell_class.gates)
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
        **decayed.to_json("log10_decay_rate", "decay_factor", "gradient_horizon",
                          "growth_horizon", "verdict"),
        sigma_max=max(m.sigma_max for m in figures.matrices.values()),
        spectral_radius=max(m.spectral_radius for m in figures.matrices.values()),
        bound=figures.bound,
    )
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
    validation.instance(point, "point", SweepPoint, "a SweepPoint (gradflow.sweep_point)")
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
    row = point_row(point, "ok", **measured)
    row["wall_time_s"] = round(time.perf_counter() - start, 3)
    return row
