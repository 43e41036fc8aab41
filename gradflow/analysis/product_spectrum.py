"""Singular values of the backward products ``ds_T/ds_{T-k}`` against the lag k.

The largest is the gradient-decay curve; the others say how many directions of the state a
gradient still reaches k steps back (the spectrum of the product, not of one matrix).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import GradflowError
from ..kernels import trajectory as kernels
from ..resources import require_memory
from .trajectory import resolve

#: Singular values this many decades below the largest are rounding, not measurement.
RESOLUTION_DECADES = 12.0


@dataclass(frozen=True)
class ProductSpectrum:
    """``log10`` of every singular value of ``P_k = ds_T/ds_{T-k}`` on a grid of lags.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    lags : ndarray of int, shape (L,)
        The lags k, ascending, from 0.
    log10_singular_values : ndarray, shape (L, m)
        Row i: ``log10 sigma_j(P_{lags[i]})``, descending in j; NaN where a value lies more
        than :data:`RESOLUTION_DECADES` below the largest (beyond float64's reach in a
        product), ``-inf`` where the product is exactly zero.
    """

    model: str
    lags: np.ndarray
    log10_singular_values: np.ndarray

    @property
    def state_size(self):
        """M."""
        return int(self.log10_singular_values.shape[1])


def product_singular_values(model, xs=None, s0=None, *, lags=40):
    """Singular values of the backward Jacobian products along one trajectory.

    The product is carried renormalised (its Frobenius norm divided out, the log-scale kept),
    so its singular values are exact relative to the largest for any T.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory
        The cell, or a single-sequence trajectory (then without ``xs`` and ``s0``).
    xs : ndarray, shape (T, d)
    s0 : ndarray, shape (m,), optional
    lags : int or sequence of int
        Number of evenly spaced lags in 0..T (default 40), or the lags themselves.

    Returns
    -------
    ProductSpectrum
    """
    run = resolve(model, xs, s0, batch=False)
    cell, T, m = run.model, run.steps, run.model.state_size
    if np.ndim(lags) == 0:
        if int(lags) < 1:
            raise GradflowError(f"lags must be at least 1; got {lags!r}")
        grid = np.unique(np.linspace(0, T, min(int(lags), T + 1)).round().astype(int))
    else:
        grid = np.unique(np.asarray(lags, dtype=int))
        if grid.size == 0 or grid[0] < 0 or grid[-1] > T:
            raise GradflowError(f"lags must lie in 0..{T}; got {list(lags)!r}")
    require_memory(8 * T * m * m, f"the {T} step Jacobians ({m} x {m}) of {cell.describe()}")
    Js = np.empty((T, m, m))
    kernels.step_jacobians(*cell.kernel_args(), run.xs, run.states, Js)
    out = np.full((grid.size, m), np.nan)
    product, scale, zero = np.eye(m), 0.0, False
    row = 0
    for k in range(grid[-1] + 1):
        if k:
            product = product @ Js[T - k]
            size = float(np.linalg.norm(product))
            if size == 0.0:
                zero = True
            else:
                product /= size
                scale += np.log10(size)
        if k != grid[row]:
            continue
        if zero:
            out[row] = -np.inf
        else:
            sv = np.linalg.svd(product, compute_uv=False)
            with np.errstate(divide="ignore"):
                logs = np.log10(sv)
            logs[logs < logs[0] - RESOLUTION_DECADES] = np.nan
            out[row] = logs + scale
        row += 1
    return ProductSpectrum(model=cell.describe(), lags=grid, log10_singular_values=out)
