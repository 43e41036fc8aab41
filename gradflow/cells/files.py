"""The weights file: a .npz of seed-named float arrays plus 0-d arrays for the options.

Keys: the cell's weights (e.g. ``W_fh``), ``cell`` (a registered cell name: ``rnn``, ``lstm``,
``gru``) and the cell's stored options (``activation`` for RNN, default ``tanh``; ``variant``
for GRU, default ``seed``), each a 0-d array.  Loading reads every header before any data and
never unpickles (see :mod:`gradflow.io.npyfile`); anything else in the file is an error naming
the key.
"""

import os

import numpy as np

from ..errors import GradflowError
from ..io.atomic import atomic_path
from ..io.npyfile import read_npz
from .registry import CELLS, cell_class

__all__ = ["load", "save_cell"]


def save_cell(model, path):
    """Write ``model`` to ``path`` as .npz, atomically (nothing is left behind on failure)."""
    path = os.fspath(path)
    arrays = dict(model.weights)
    arrays["cell"] = np.array(model.cell)
    for key, value in model.options().items():
        arrays[key] = np.array(value)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _option_value(value, spec, path):
    if value.ndim != 0 or value.dtype.kind not in ("U" if spec.is_choice else "fiu"):
        expected = "string" if spec.is_choice else "real-number"
        raise GradflowError(
            f"{path}: {spec.name} must be a 0-d {expected} array; got dtype {value.dtype}, "
            f"shape {value.shape}"
        )
    return spec.parse(value[()].item() if not spec.is_choice else str(value[()]),
                      prefix=f"{path}: ")


def load(path):
    """Load a weights file.

    Parameters
    ----------
    path : str or os.PathLike
        A .npz written by :meth:`Cell.save` or ``gradflow init``.

    Returns
    -------
    Cell
        The registered cell the file names (:class:`~gradflow.RNN`, :class:`~gradflow.LSTM`,
        :class:`~gradflow.GRU`).

    Raises
    ------
    GradflowError
        For a missing, empty, truncated or non-zip file, pickled arrays, a missing or unknown
        ``cell``, unknown or missing keys, wrong dtypes or shapes and non-finite values.
    """
    path = os.fspath(path)
    arrays = read_npz(path)
    if "cell" not in arrays:
        raise GradflowError(f"{path}: no 'cell' key; expected one of {', '.join(CELLS)}")
    cell = arrays.pop("cell")
    if cell.ndim != 0 or cell.dtype.kind != "U":
        raise GradflowError(f"{path}: cell must be a 0-d string array; got dtype {cell.dtype}, "
                            f"shape {cell.shape}")
    cls = cell_class(str(cell[()]), where=path)
    options = {}
    all_options = {name for c in CELLS.values() for name in c.stored_options()}
    for key in sorted(all_options & set(arrays)):
        spec = cls.stored_options().get(key)
        if spec is None:
            raise GradflowError(f"{path}: key {key!r} does not apply to a {cls.title} cell")
        options[key] = _option_value(arrays.pop(key), spec, path)
    return cls(arrays, source=path, **options)
