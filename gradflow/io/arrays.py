"""Validation of input sequences and initial states, in memory and from .npy files."""

import os

import numpy as np

from ..errors import GradflowError
from .npyfile import read_npy


def _real_finite(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise GradflowError(f"{what}: dtype {a.dtype}; expected real numbers")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradflowError(f"{what}: non-finite value ({a[where]}) at index {where}")
    return a


def as_inputs(xs, width, *, batch=True, what="inputs"):
    """Check an input sequence (T, d), or a batch (B, T, d) when ``batch``; return float64."""
    if xs is None:
        raise GradflowError(f"{what} are required")
    a = np.asarray(xs)
    shapes = "(T, d) or (B, T, d)" if batch else "(T, d)"
    if a.ndim not in ((2, 3) if batch else (2,)):
        raise GradflowError(f"{what} have shape {a.shape}; expected {shapes} with d = {width}")
    if a.shape[-1] != width:
        raise GradflowError(
            f"{what} have shape {a.shape}; the last axis must be the model's input width {width}"
        )
    if a.shape[-2] < 1 or (a.ndim == 3 and a.shape[0] < 1):
        raise GradflowError(f"{what} have shape {a.shape}; need at least one step")
    return _real_finite(a, what)


def as_state(s0, size, *, batch=None, what="initial state"):
    """Check an initial state (m,), or (B, m) (or (m,), broadcast) for a batch of B; None: zeros."""
    shape = (size,) if batch is None else (batch, size)
    if s0 is None:
        return np.zeros(shape)
    a = np.asarray(s0)
    if batch is not None and a.shape == (size,):
        a = np.broadcast_to(a, shape)
    if a.shape != shape:
        raise GradflowError(
            f"{what} has shape {a.shape}; expected {shape} (the state size m = {size})"
        )
    return _real_finite(a, what)


def load_npy(path, what):
    """Read a plain numeric .npy file (no pickles, header checked first); errors name the file."""
    return read_npy(os.fspath(path))


def load_inputs(path, width):
    """Read inputs (T, d) or (B, T, d) from a .npy file and check them against width d."""
    return as_inputs(load_npy(path, "inputs"), width, what=f"{os.fspath(path)}: inputs")


def load_state(path, size, batch=None):
    """Read an initial state (m,) or (B, m) from a .npy file."""
    return as_state(load_npy(path, "initial state"), size, batch=batch,
                    what=f"{os.fspath(path)}: initial state")
