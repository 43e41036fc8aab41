"""The registry of cells: name -> class, and every name derived from it.

A cell class registers itself with :func:`register`; the CLI's choices, the sweep's cell names,
the comparison's line-up and the report's labels all come from here, so adding a cell is one
cell module, one kernel module and one dispatch line.
"""

from ..errors import GradflowError, source_prefix

__all__ = ["CELLS", "cell_class", "configuration", "configurations", "register", "unregister"]

#: Cell classes by the name written in weights files (``"rnn"``, ``"lstm"``, ``"gru"``).
CELLS = {}


def register(cls):
    """Add the cell class ``cls`` under ``cls.cell``; returns ``cls`` (usable as a decorator)."""
    name = cls.cell
    if not name or not name.isidentifier() or name != name.lower():
        raise GradflowError(f"cell name must be a lower-case identifier; got {name!r}")
    if name in CELLS and CELLS[name] is not cls:
        raise GradflowError(f"a cell named {name!r} is registered already")
    CELLS[name] = cls
    ordered = sorted(CELLS.items(), key=lambda item: item[1].position)
    CELLS.clear()
    CELLS.update(ordered)
    return cls


def unregister(name):
    """Remove the cell ``name`` from the registry (for cells defined at run time)."""
    CELLS.pop(name, None)


def cell_class(name, *, where=""):
    """The registered class of cell ``name``, or a GradflowError listing the known cells."""
    if isinstance(name, str) and name in CELLS:
        return CELLS[name]
    prefix = source_prefix(where)
    raise GradflowError(f"{prefix}unknown cell {name!r}; expected one of {', '.join(CELLS)}")


def configurations():
    """Every named configuration of every cell: ``{"rnn-relu": (RNN, {"activation": "relu"})}``.

    Each cell contributes its bare name (its defaults) and one name per value of its choice
    options (``rnn-tanh``, ``gru-reset_after``); see :meth:`gradflow.Cell.configurations`.
    """
    out = {}
    for cls in CELLS.values():
        for name, options in cls.configurations().items():
            out[name] = (cls, options)
    return out


def configuration(name, *, what="cell"):
    """``(class, options)`` of a configuration name (``"rnn-relu"``), or a GradflowError."""
    table = configurations()
    if isinstance(name, str) and name in table:
        cls, options = table[name]
        return cls, dict(options)
    raise GradflowError(f"{what} must be one of {', '.join(table)}; got {name!r}")
