"""Validation of input sequences and initial states, in memory and from .npy files."""

import os

import numpy as np

from ..errors import GradflowError
from ..resources import require_memory
from .npyfile import read_npy


def _real_finite(a, what):
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise GradflowError(f"{what}: dtype {a.dtype}; expected real numbers")
    # before the copy: a float16 file or a broadcast view takes far more room as float64
    if a.dtype != np.float64 or not a.flags.c_contiguous:
        require_memory(9 * a.size, f"{what} (shape {a.shape}, as float64)")
    given = a
    with np.errstate(over="ignore"):  # a long double beyond float64 is refused just below
        a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        if np.isfinite(given[where]):
            raise GradflowError(f"{what}: value {str(given[where])} at index {where} is beyond the "
                                "float64 range (about 1.8e308)")
        raise GradflowError(f"{what}: non-finite value ({a[where]}) at index {where}")
    return a


def as_real_array(a, what):
    """``a`` as a contiguous float64 array of finite real numbers, or a named error."""
    return _real_finite(a, what)


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


def batch_first(xs, *, time_major=False):
    """A batch as (B, T, d): ``xs`` itself, or its first two axes swapped when ``time_major``.

    One sequence (T, d) is returned as it is; ``time_major`` says a 3-d array is (T, B, d),
    as PyTorch's recurrent modules take it without ``batch_first``.
    """
    a = np.asarray(xs) if xs is not None else None
    if time_major and a is not None and a.ndim == 3:
        return np.ascontiguousarray(np.swapaxes(a, 0, 1))
    return xs


def as_lengths(lengths, batch, steps, *, what="lengths"):
    """Check the valid lengths of a padded batch: (B,) integers in 1..T; return int64.

    Parameters
    ----------
    lengths : array_like, shape (B,)
        Sequence b holds its inputs in steps ``0..lengths[b] - 1``; the rest is padding.
    batch, steps : int or None
        B and T of the batch (``batch`` None: one sequence, which takes no lengths).
    """
    if batch is None:
        raise GradflowError(f"{what} apply to a batch (B, T, d); the inputs are one sequence "
                            f"of {steps} steps")
    a = np.asarray(lengths)
    if a.shape != (batch,):
        raise GradflowError(f"{what} have shape {a.shape}; expected ({batch},), one valid "
                            f"length per sequence of the batch of {batch}")
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise GradflowError(f"{what} have dtype {a.dtype}; expected integers (the valid "
                            "steps of each sequence)")
    a = a.astype(np.int64)
    bad = np.flatnonzero((a < 1) | (a > steps))
    if bad.size:
        i = int(bad[0])
        raise GradflowError(f"{what}: entry {i} is {int(a[i])}; every length must be an "
                            f"integer in 1..{steps} (T, the padded length)")
    return a


def _layout_hint(shape, width, lengths):
    """Why a 3-d shape read without a stated layout is ambiguous, or None."""
    a, b, _ = shape
    say = "say --time-major if it is (T, B, d) or --batch-first if it is (B, T, d)"
    if lengths is not None:
        size = np.shape(lengths)[0] if np.ndim(lengths) == 1 else None
        if size is not None and size == a == b:
            return (f"B and T are both {a}, so the {size} lengths fit either axis; " + say)
        if size is not None and size == b != a:
            return (f"the {size} lengths match axis 1, not axis 0 ({a}): a time-major "
                    "(T, B, d) array? " + say)
        return None
    if width in (a, b):
        return (f"the input width d = {width} also matches axis {0 if a == width else 1}, "
                "so the layout cannot be told from the shape; " + say)
    return None


def load_inputs(path, width, *, time_major=False, lengths=None):
    """Read inputs (T, d) or a batch from a .npy file and check them against width d.

    Parameters
    ----------
    path : path-like
    width : int
        The model's input width d.
    time_major : bool or None, optional
        True: a 3-d array is (T, B, d); False (default): (B, T, d); None (the user has not
        said): (B, T, d), refused with a named error where the shape (and ``lengths``) could
        be read both ways.
    lengths : array_like, shape (B,), optional
        Valid lengths of a padded batch, when given (only their count is used here).

    Returns
    -------
    ndarray, shape (T, d) or (B, T, d)
        Batch first.
    """
    where = f"{os.fspath(path)}: inputs"
    a = load_npy(path, "inputs")
    if a.ndim == 3 and time_major is None:
        if a.shape[-1] != width and width in a.shape[:2]:
            raise GradflowError(
                f"{where} have shape {a.shape}; the input width d = {width} must be the last "
                "axis: (B, T, d) batch-first, or (T, B, d) with --time-major")
        hint = _layout_hint(a.shape, width, lengths) if a.shape[-1] == width else None
        if hint is not None:
            raise GradflowError(f"{where} have shape {a.shape}; {hint}")
    return as_inputs(batch_first(a, time_major=bool(time_major)), width, what=where)


def load_state(path, size, batch=None):
    """Read an initial state (m,) or (B, m) from a .npy file."""
    return as_state(load_npy(path, "initial state"), size, batch=batch,
                    what=f"{os.fspath(path)}: initial state")
