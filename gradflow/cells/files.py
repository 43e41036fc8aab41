"""Reading weights files (one cell) and network files.

A weights file: the cell's weights (e.g. ``W_fh``), ``cell`` (a registered cell name: ``rnn``,
``lstm``, ``gru``) and the cell's stored options (``activation`` for RNN, default ``tanh``;
``variant`` for GRU, default ``seed``; the integer ``proj_size`` for LSTM, default 0), each a
0-d array.  A network file: see
:mod:`gradflow.cells.formats`.  Loading reads every header before any data and never
unpickles (see :mod:`gradflow.io.npyfile`); anything else in the file is an error naming the
key, refused before any weight is read.
"""


from .. import validation
from ..errors import GradflowError
from ..io.npyfile import NpzArchive
from .formats import FORMAT, VERSION, weight_key
from .network import DIRECTION_NAMES, Network
from .registry import CELLS, cell_class

__all__ = ["load"]


def _option_value(value, spec, path):
    kinds = "U" if spec.is_choice else "iu" if spec.integer else "fiu"
    if value.ndim != 0 or value.dtype.itemsize > 4096 or value.dtype.kind not in kinds:
        expected = "string" if spec.is_choice else "integer" if spec.integer else "real-number"
        raise GradflowError(
            f"{path}: {spec.name} must be a 0-d {expected} array; got dtype {value.dtype}, "
            f"shape {value.shape}"
        )
    return spec.parse(value[()].item() if not spec.is_choice else str(value[()]),
                      prefix=f"{path}: ")


def load(path):
    """Load a weights file or a network file.

    Parameters
    ----------
    path : str or os.PathLike
        A .npz written by :meth:`Cell.save` or ``gradflow init`` (one cell), or by
        :meth:`Network.save` or ``gradflow import-torch --all-layers`` (a network, told apart
        by its ``format`` key; see :mod:`gradflow.cells.formats`).

    Returns
    -------
    Cell or Network
        The registered cell the file names (:class:`~gradflow.RNN`, :class:`~gradflow.LSTM`,
        :class:`~gradflow.GRU`), or a :class:`~gradflow.cells.network.Network`.

    Raises
    ------
    GradflowError
        For a missing, empty, truncated or non-zip file, pickled arrays, a missing or unknown
        ``cell``, unknown or missing keys, wrong dtypes or shapes and non-finite values.
    """
    path = validation.path(path, "path")
    with NpzArchive(path) as archive:
        keys = set(archive.keys)
        if "format" in keys:
            return _load_network(archive, keys, path)
        cls, options, option_keys = _cell_and_options(archive, keys, path)
        expected = cls.weight_names_for(**options)
        unknown = sorted(keys - set(expected) - {"cell"} - set(option_keys))
        if unknown:
            raise GradflowError(f"{path}: unknown weight {unknown[0]!r} for a "
                                f"{cls.kind_words_for(**options)}; expected {', '.join(expected)}")
        arrays = archive.read([k for k in expected if k in keys])
    return cls(arrays, source=path, **options)


def _cell_and_options(archive, keys, path):
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
    return cls, cls.checked_options(options, prefix=f"{path}: "), option_keys


def _count(archive, key, path, low, high):
    if key not in archive.keys:
        raise GradflowError(f"{path}: a network file needs the key {key!r}")
    shape, dtype = archive.header(key)
    if shape != () or dtype.kind not in "iu":
        raise GradflowError(f"{path}: {key} must be a 0-d integer array; got dtype {dtype}, "
                            f"shape {shape}")
    value = int(archive.read([key])[key])
    return validation.integer(value, f"{path}: {key}", minimum=low, maximum=high)


def _load_network(archive, keys, path):
    name = _small(archive, "format", "a 0-d string array", path)
    if name != FORMAT:
        raise GradflowError(f"{path}: format {name!r} is not known; expected {FORMAT!r}")
    _count(archive, "version", path, VERSION, VERSION)
    cls, options, option_keys = _cell_and_options(archive, keys, path)
    layers = _count(archive, "layers", path, 1, 10_000)
    directions = _count(archive, "directions", path, 1, 2)
    names = cls.weight_names_for(**options)
    wanted = {weight_key(i, DIRECTION_NAMES[j], w): (i, j, w)
              for i in range(layers) for j in range(directions) for w in names}
    fixed = {"format", "version", "cell", "layers", "directions", *option_keys}
    unknown = sorted(keys - set(wanted) - fixed)
    if unknown:
        raise GradflowError(f"{path}: unknown key {unknown[0]!r} for a {layers}-layer network "
                            f"of {cls.kind_words_for(**options)}s with {directions} "
                            f"direction(s); weights are named like {next(iter(wanted))!r}")
    missing = [k for k in wanted if k not in keys]
    if missing:
        raise GradflowError(f"{path}: missing weight {missing[0]!r}")
    arrays = archive.read(list(wanted))
    stack = [[{} for _ in range(directions)] for _ in range(layers)]
    for key, (i, j, w) in wanted.items():
        stack[i][j][w] = arrays[key]
    built = [tuple(cls(weights, source=f"{path}: layer {i} ({DIRECTION_NAMES[j]})", **options)
                   for j, weights in enumerate(layer)) for i, layer in enumerate(stack)]
    return Network(built, source=path)


def _small(archive, key, rule, path):
    """A 0-d string member (``cell``), checked by its header before its data is read."""
    shape, dtype = archive.header(key)
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4096:
        raise GradflowError(f"{path}: {key} must be {rule}; got dtype {dtype}, shape {shape}")
    return str(archive.read([key])[key][()])
