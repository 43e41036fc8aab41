"""The file formats of cells and networks, and their writers.

A weights file holds one cell: its seed-named arrays, ``cell`` and the cell's stored options
as 0-d arrays (see :mod:`gradflow.cells.files`, which reads both formats).  A network file
holds every layer of a stacked, possibly bidirectional network:

=====================  =========================================================================
``format``             0-d string ``"gradflow-network"`` (what makes it a network file)
``version``            0-d integer, 1
``cell``               0-d string, the layers' cell (``rnn``, ``lstm``, ``gru``)
cell options           as in a cell's weights file (``activation``, ``variant``), shared by all
``layers``             0-d integer L >= 1
``directions``         0-d integer, 1 or 2 (bidirectional)
``l{i}.{dir}.{name}``  the weights of layer i, direction ``forward`` or ``reverse``, in the seed's
                       names: ``l0.forward.W_fh``, ``l1.reverse.b_hn``
=====================  =========================================================================

It is read with the same safety as a weights file (regular files only, headers before data,
unknown keys refused before any data is read, the whole request checked against the memory
cap); :func:`gradflow.cells.files.load` tells the two apart by the ``format`` key.
"""

import os

import numpy as np

from ..io.atomic import atomic_path

__all__ = ["FORMAT", "VERSION", "save_cell", "save_network", "weight_key"]

FORMAT = "gradflow-network"
VERSION = 1


def weight_key(layer, direction, name):
    """The archive key of one weight: ``"l1.reverse.W_fh"``."""
    return f"l{layer}.{direction}.{name}"


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


def save_network(network, path):
    """Write ``network`` to ``path`` as a network .npz, atomically."""
    path = os.fspath(path)
    arrays = {"format": np.array(FORMAT), "version": np.array(VERSION),
              "cell": np.array(network.cell), "layers": np.array(network.num_layers),
              "directions": np.array(network.directions)}
    for key, value in network.options().items():
        arrays[key] = np.array(value)
    for (layer, direction), c in zip(network.state_slices(), network.cells, strict=True):
        for name, w in c.weights.items():
            arrays[weight_key(layer, direction, name)] = w
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
