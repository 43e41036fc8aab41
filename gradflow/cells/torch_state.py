"""Reading PyTorch recurrent weights: ``.pt`` files, state dicts and live modules.

PyTorch is imported only here, only when called; files are read with
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects.  What the weights
mean in the seed's notation is :mod:`gradflow.cells.torch_import`'s business.
"""


import os
import pickle
import re
import zipfile

import numpy as np

from ..errors import GradflowError
from ..io.files import open_regular
from ..resources import require_memory
from .registry import CELLS

__all__ = ["TorchState", "import_torch", "load_torch_file"]

_KEY = re.compile(r"^(?P<prefix>.*?)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
                  r"(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")


def import_torch():
    """Return the ``torch`` module, or raise GradflowError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise GradflowError(
            "PyTorch is not installed; it is an optional extra: pip install 'gradflow[torch]'"
        ) from None
    return torch


def load_torch_file(path):
    """Read a ``.pt`` file with ``torch.load(weights_only=True)`` on the CPU."""
    path = os.fspath(path)
    with open_regular(path, "PyTorch") as fh:
        torch = import_torch()
        require_memory(os.fstat(fh.fileno()).st_size, f"{path}: its tensors")
        try:
            return torch.load(fh, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise GradflowError(
                f"{path}: holds pickled Python objects that torch.load(weights_only=True) "
                "refuses (a whole module?); save the state dict instead: "
                "torch.save(model.state_dict(), path)"
            ) from None
        except (RuntimeError, KeyError, ValueError, EOFError, OSError, zipfile.BadZipFile,
                AttributeError, TypeError, IndexError, MemoryError):
            raise GradflowError(f"{path}: not a file torch.load can read") from None


def _flatten(mapping, prefix, out):
    for key, value in mapping.items():
        if not isinstance(key, str):
            continue
        if hasattr(value, "items") and not hasattr(value, "shape"):
            _flatten(value, f"{prefix}{key}.", out)
        else:
            out[prefix + key] = value


class TorchState:
    """The recurrent weights of a PyTorch model, read once and shared by several imports.

    Parameters
    ----------
    source : torch.nn.Module, mapping, str or os.PathLike
        A module, its state dict (tensors or numpy arrays; nested checkpoint dicts are
        flattened with dotted keys), or a ``.pt`` file read with
        ``torch.load(weights_only=True)``.

    Attributes
    ----------
    where : str
        The file name, or ``"state dict"``; error messages start with it.
    groups : dict
        Recurrent weights by module prefix, then by ``(name, layer, reverse)``.
    """

    def __init__(self, source):
        self.where = "state dict"
        self.module_cells = {}
        self.nonlinearity = {}
        if isinstance(source, str | os.PathLike):
            self.where = os.fspath(source)
            source = load_torch_file(source)
        state = None
        if _is_module(source):
            state = source.state_dict()
            module_cells = {c.torch_module: c.cell for c in CELLS.values() if c.torch_module}
            module_cells.update({f"{k}Cell": v for k, v in module_cells.items()})
            for name, sub in source.named_modules():
                kind = module_cells.get(type(sub).__name__)
                if kind is None:
                    continue
                prefix = f"{name}." if name else ""
                self.module_cells[prefix] = kind
                if "nonlinearity" in CELLS[kind].torch_module_options:
                    self.nonlinearity[prefix] = getattr(sub, "nonlinearity", "tanh")
        elif hasattr(source, "items"):
            state = source
        else:
            raise GradflowError(
                f"{self.where}: expected a torch.nn.RNN/LSTM/GRU module or its state dict; "
                f"got {type(source).__name__}"
            )
        flat = {}
        _flatten(state, "", flat)
        self.groups = {}
        for key, value in flat.items():
            m = _KEY.match(key)
            if m is None:
                continue
            _check_tensor(value, key, self.where)
            layer = m["layer"]
            self.groups.setdefault(m["prefix"], {})[
                (m["name"], None if layer is None else int(layer), bool(m["reverse"]))] = (
                key, value)
        self.groups = {p: g for p, g in self.groups.items()
                       if any(name == "weight_hh" for (name, _, _) in g)}
        if not self.groups:
            raise GradflowError(
                f"{self.where}: no recurrent weights (weight_hh_l0, ...) of a torch.nn.RNN, "
                "LSTM or GRU found"
            )

    def group(self, prefix):
        """``(prefix, weights)`` of the recurrent module ``prefix`` (the only one if None)."""
        prefixes = sorted(self.groups)
        if prefix is None:
            if len(prefixes) > 1:
                shown = ", ".join(repr(p) for p in prefixes)
                raise GradflowError(
                    f"{self.where}: several recurrent modules ({shown}); choose one with prefix"
                )
            prefix = prefixes[0]
        elif prefix not in self.groups:
            dotted = prefix if prefix.endswith(".") or not prefix else prefix + "."
            if dotted not in self.groups:
                shown = ", ".join(repr(p) for p in prefixes)
                raise GradflowError(
                    f"{self.where}: no recurrent module with prefix {prefix!r}; found {shown}"
                )
            prefix = dotted
        return prefix, self.groups[prefix]


def _check_tensor(value, key, where):
    """Refuse a recurrent weight that is not a dense array of values.

    An int, a list or a string; a sparse, nested or meta tensor (a shape without values).
    """
    if getattr(value, "is_nested", False) is True:  # before .shape, which it cannot give
        raise GradflowError(f"{where}: {key} is a nested tensor (torch.nested); expected one "
                            "dense matrix or vector")
    if not hasattr(value, "shape") or isinstance(value, str):
        raise GradflowError(f"{where}: {key} is a Python {type(value).__name__}, not a tensor")
    if getattr(value, "is_meta", False) is True:
        raise GradflowError(f"{where}: {key} is a meta tensor (a shape without values); "
                            "load or initialise the weights before saving or importing them")
    layout = getattr(value, "layout", None)
    if layout is not None and str(layout) != "torch.strided":
        raise GradflowError(f"{where}: {key} is a {str(layout).replace('torch.', '')} tensor; "
                            "save dense weights (tensor.to_dense())")


def _is_module(obj):
    try:
        import torch
    except ImportError:
        return False
    return isinstance(obj, torch.nn.Module)


def _as_float64(value, key, where):
    if hasattr(value, "detach"):
        if value.is_complex() or not value.is_floating_point():
            raise GradflowError(
                f"{where}: {key} has dtype {str(value.dtype).replace('torch.', '')}; "
                "expected real floating-point numbers"
            )
        import torch

        return value.detach().to(device="cpu", dtype=torch.float64).numpy().copy()
    a = np.asarray(value)
    if a.dtype.kind != "f":
        raise GradflowError(f"{where}: {key} has dtype {a.dtype}; expected real floating-point "
                            "numbers")
    return a.astype(np.float64)


