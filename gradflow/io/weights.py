"""The weights file: a .npz of seed-named float arrays plus 0-d string arrays for the options.

Keys: the cell's weights (e.g. ``W_fh``), ``cell`` (``rnn|lstm|gru``), ``activation`` (RNN
only, default ``tanh``) and ``variant`` (GRU only, default ``seed``).  Loading uses
``allow_pickle=False``; anything else in the file is an error naming the key.
"""

import os

import numpy as np

from ..errors import GradflowError
from .atomic import atomic_path
from .npyfile import read_npz

_OPTION_KEYS = {"rnn": ("activation",), "lstm": (), "gru": ("variant",)}


def save_weights(model, path):
    """Write ``model`` to ``path`` as .npz, atomically (nothing is left behind on failure)."""
    path = os.fspath(path)
    arrays = dict(model.weights)
    arrays["cell"] = np.array(model.cell)
    for key, value in model.options().items():
        arrays[key] = np.array(value)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _string(value, key, path):
    if value.ndim != 0 or value.dtype.kind != "U":
        raise GradflowError(
            f"{path}: {key} must be a 0-d string array; got dtype {value.dtype}, "
            f"shape {value.shape}"
        )
    return str(value[()])


def load(path):
    """Load a weights file.

    Parameters
    ----------
    path : str or os.PathLike
        A .npz written by :meth:`Cell.save` or ``gradflow init``.

    Returns
    -------
    RNN, LSTM or GRU

    Raises
    ------
    GradflowError
        For a missing, empty, truncated or non-zip file, pickled arrays, a missing or unknown
        ``cell``, unknown or missing keys, wrong dtypes or shapes and non-finite values.
    """
    from ..cells import CELLS

    path = os.fspath(path)
    arrays = read_npz(path)
    if "cell" not in arrays:
        raise GradflowError(f"{path}: no 'cell' key; expected one of {', '.join(CELLS)}")
    cell = _string(arrays.pop("cell"), "cell", path)
    if cell not in CELLS:
        raise GradflowError(f"{path}: unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    options = {}
    for key in ("activation", "variant"):
        if key in arrays and key not in _OPTION_KEYS[cell]:
            raise GradflowError(f"{path}: key {key!r} does not apply to a {cell.upper()} cell")
        if key in arrays:
            options[key] = _string(arrays.pop(key), key, path)
    return CELLS[cell](arrays, source=path, **options)
