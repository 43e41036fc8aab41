"""The gradient-flow map: ``log10 ||ds_T/ds_t||_2`` over pairs of times (t, T), t <= T."""

from dataclasses import dataclass

import numpy as np

from ..errors import GradflowError
from ..kernels import suffix_products
from .trajectory import resolve


@dataclass(frozen=True)
class FlowMap:
    """Norms of the backward products between every start time t and a grid of end times T.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    ends : ndarray of int, shape (E,)
        End times T (1..steps), ascending.
    log10_norm2 : numpy.ma.MaskedArray, shape (E, steps + 1)
        ``[i, t] = log10 ||ds_{ends[i]}/ds_t||_2``; masked where ``t > ends[i]`` (no such
        product) and where the product is exactly zero.
    exact_zero : ndarray of bool, shape (E, steps + 1)
        Where the product is exactly zero (dead relu units).
    """

    model: str
    ends: np.ndarray
    log10_norm2: np.ma.MaskedArray
    exact_zero: np.ndarray

    @property
    def steps(self):
        """The horizon of the run."""
        return self.log10_norm2.shape[1] - 1

    def to_dict(self):
        """JSON form: rows of ``log10_norm2`` with ``None`` where masked."""
        rows = [[None if masked else float(v) for v, masked in zip(row.data, row.mask, strict=True)]
                for row in self.log10_norm2]
        return {"model": self.model, "ends": [int(e) for e in self.ends], "log10_norm2": rows}


def flow_map(model, xs=None, s0=None, *, ends=64):
    """Backward-product norms between all start times and a grid of end times.

    Each end time T costs one backward sweep of T steps over the stored trajectory, so the
    whole map costs about ``E * steps / 2`` Jacobian products.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory
        The cell, or a single-sequence trajectory already computed (then without ``xs`` and
        ``s0``).
    xs : ndarray, shape (steps, d)
    s0 : ndarray, shape (m,), optional
    ends : int or sequence of int
        Number of evenly spaced end times (default 64, at most ``steps``) or the end times.

    Returns
    -------
    FlowMap
    """
    run = resolve(model, xs, s0, batch=False)
    model, xs, S = run.model, run.xs, run.states
    T = run.steps
    if np.ndim(ends) == 0:
        count = int(ends)
        if count < 1:
            raise GradflowError(f"ends must be at least 1; got {ends!r}")
        grid = np.unique(np.linspace(1, T, min(count, T)).round().astype(int))
    else:
        grid = np.unique(np.asarray(ends, dtype=int))
        if grid.size == 0 or grid[0] < 1 or grid[-1] > T:
            raise GradflowError(f"end times must lie in 1..{T}; got {list(ends)!r}")
    values = np.zeros((grid.size, T + 1))
    hidden = np.ones((grid.size, T + 1), dtype=bool)
    zero = np.zeros((grid.size, T + 1), dtype=bool)
    args = model.kernel_args()
    dummy = np.empty(1)
    for i, end in enumerate(grid):
        out = np.empty(end + 1)
        suffix_products.suffix_log10_norms(*args, np.ascontiguousarray(xs[:end]),
                                           np.ascontiguousarray(S[: end + 1]), 0, out, dummy,
                                           dummy)
        row = out[::-1]  # row[t] = log10 ||ds_end/ds_t||
        finite = np.isfinite(row)
        values[i, : end + 1] = np.where(finite, row, 0.0)
        zero[i, : end + 1] = ~finite
        hidden[i, : end + 1] = ~finite
    return FlowMap(model=model.describe(), ends=grid,
                   log10_norm2=np.ma.MaskedArray(values, mask=hidden), exact_zero=zero)
