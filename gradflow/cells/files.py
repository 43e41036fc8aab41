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
from ..io.npyfile import NpzArchive
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
    kinds = "U" if spec.is_choice else "fiu"
    if value.ndim != 0 or value.dtype.itemsize > 4096 or value.dtype.kind not in kinds:
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
    with NpzArchive(path) as archive:
        keys = set(archive.keys)
        if "cell" not in keys:
            raise GradflowError(f"{path}: no 'cell' key; expected one of {', '.join(CELLS)}")
        cls = cell_class(_small(archive, "cell", "a 0-d string array", path), where=path)
        all_options = {name for c in CELLS.values() for name in c.stored_options()}
        option_keys = sorted(all_options & keys)
        for key in option_keys:
            if key not in cls.stored_options():
                raise GradflowError(f"{path}: key {key!r} does not apply to a {cls.title} cell")
        options = {key: _option_value(archive.read([key])[key], cls.stored_options()[key], path)
                   for key in option_keys}
        options = cls.checked_options(options, prefix=f"{path}: ")
        expected = cls.weight_names_for(**options)
        unknown = sorted(keys - set(expected) - {"cell"} - set(option_keys))
        if unknown:
            raise GradflowError(f"{path}: unknown weight {unknown[0]!r} for a "
                                f"{cls.kind_words_for(**options)}; expected {', '.join(expected)}")
        arrays = archive.read([k for k in expected if k in keys])
    return cls(arrays, source=path, **options)


def _small(archive, key, rule, path):
    """A 0-d string member (``cell``), checked by its header before its data is read."""
    shape, dtype = archive.header(key)
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4096:
        raise GradflowError(f"{path}: {key} must be {rule}; got dtype {dtype}, shape {shape}")
    return str(archive.read([key])[key][()])
