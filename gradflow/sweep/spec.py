"""TOML sweep specs: the ``[grid]`` axes and the ``[options]`` shared by every point.

A spec has a ``[grid]`` table of axes, each a list (``hidden = [64, 256]``), a single value
(``init = "orthogonal"``) or a string in the grid-string syntax (``gain = "0.5:2:16"``), and
an ``[options]`` table of the values shared by every point (``warmup``, ``k``,
``threshold``); see :mod:`gradflow.sweep.grid` for the axes.
"""


from .. import validation
from ..errors import GradflowError
from ..io.files import open_regular
from .grid import SweepGrid
from .point import check_parameter, parameter_choices
from .values import AXES, OPTIONS, parse_values


def _toml_module():
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise GradflowError("reading a TOML spec on Python 3.10 needs the tomli package: "
                                "pip install tomli") from None
    return tomllib


def _toml_value(name, value):
    """A TOML value of the type axis or option ``name`` holds, before its check."""
    kind = AXES.get(name) or OPTIONS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise GradflowError(f"{value!r} is not a {kind.__name__}")
    if isinstance(value, str):
        if kind is not str:
            raise GradflowError(f"{value!r} is not a number")
        return value
    if kind is str:
        raise GradflowError(f"{value!r} is not a name; expected one of "
                            f"{', '.join(parameter_choices(name))}")
    if kind is int and not isinstance(value, int):
        raise GradflowError(f"{value!r} is not an integer")
    return value


#: Largest spec file read: 16 MiB.
_SPEC_LIMIT = 16 * 2**20


def _read_document(path):
    with open_regular(path, "TOML spec") as fh:
        data = fh.read(_SPEC_LIMIT + 1)
    if len(data) > _SPEC_LIMIT:
        raise GradflowError(f"{path}: larger than {_SPEC_LIMIT // 2**20} MiB; not a TOML spec")
    tomllib = _toml_module()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise GradflowError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise GradflowError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise GradflowError(f"{path}: arrays or tables nested too deeply; a spec holds flat "
                            "lists of values") from None
    for key in doc:
        if key not in ("grid", "options") or not isinstance(doc[key], dict):
            raise GradflowError(f"{path}: unknown entry {key!r}; a spec holds the tables "
                                "[grid] and [options]")
    return doc


def _axis(name, value):
    if isinstance(value, str):
        return parse_values(name, value)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise GradflowError("an empty list")
    return tuple(check_parameter(name, _toml_value(name, v)) for v in items)


def load_spec(path):
    """Read a TOML sweep spec: ``[grid]`` axes and ``[options]``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SweepGrid

    Examples
    --------
    A spec file::

        [grid]
        cell = "rnn-tanh"
        hidden = [64, 256, 512]
        gain = "0.5:2:16"
        seed = "0:4"
        input_scale = 0.0
        h0_scale = 1.0
        steps = 400

        [options]
        warmup = 400
        k = 4
    """
    path = validation.path(path, "path")
    doc = _read_document(path)
    axes = []
    texts = {}
    for name, value in doc.get("grid", {}).items():
        where = f"{path}: [grid] {name}"
        if name in OPTIONS:
            raise GradflowError(f"{where}: {name} is shared by every point; put it under "
                                "[options]")
        if name not in AXES:
            raise GradflowError(f"{where}: unknown axis; the axes are {', '.join(AXES)}")
        try:
            axes.append((name, _axis(name, value)))
        except GradflowError as exc:
            raise GradflowError(f"{where}: {exc}") from None
        if isinstance(value, str):
            texts[name] = value
    options = {}
    for name, value in doc.get("options", {}).items():
        where = f"{path}: [options] {name}"
        if name in AXES:
            raise GradflowError(f"{where}: {name} is a grid axis; put it under [grid] (one "
                                "value fixes it)")
        if name not in OPTIONS:
            raise GradflowError(f"{where}: unknown option; the options are "
                                f"{', '.join(OPTIONS)}")
        try:
            options[name] = check_parameter(name, _toml_value(name, value))
        except GradflowError as exc:
            raise GradflowError(f"{where}: {exc}") from None
    return SweepGrid(axes=tuple(axes), options=options, texts=texts, source=path)
