"""A linear readout on a model's output: the logits ``z = W_out y_T + b_out``.

With a readout the output sensitivities of :func:`gradflow.decay` are those of the logits,
``||dz/ds_{T-k}||`` and ``||dz/dx_{T-k}||``: ``W_out`` is carried back in the place of the
identity on y_T (the bias moves z, not its derivatives).  ``y_T`` is a cell's final hidden
state, or a network's top-layer ``h_n`` with the directions concatenated, as a PyTorch
classifier's ``fc(h_n)`` head reads it.  A readout comes from arrays, or from an
``nn.Linear`` (a live module, or its ``weight``/``bias`` in a state dict or checkpoint file
under a prefix).
"""

import os

import numpy as np

from ..errors import GradflowError
from ..io.arrays import as_real_array
from .torch_state import _as_float64, _flatten, _is_module, load_torch_file

__all__ = ["Readout"]


class Readout:
    """A linear readout ``z = W_out y + b_out`` of a model's output y (its logits).

    Parameters
    ----------
    weight : array_like, shape (p, q)
        ``W_out``: p logits from the q entries of y (q = the model's ``output_size``).
    bias : array_like, shape (p,), optional
        ``b_out`` (zeros by default).
    source : str, optional
        Where it came from (``"model.pt: fc."``), for messages and JSON.
    """

    def __init__(self, weight, bias=None, *, source=None):
        self.source = source
        where = f"{source}: " if source else "readout "
        W = as_real_array(weight, f"{where}weight")
        if W.ndim != 2 or min(W.shape) < 1:
            raise GradflowError(f"{where}weight has shape {W.shape}; expected (p, q): p logits "
                                "from the q entries of the model's output")
        b = np.zeros(W.shape[0]) if bias is None else as_real_array(bias, f"{where}bias")
        if b.shape != (W.shape[0],):
            raise GradflowError(f"{where}bias has shape {b.shape}; expected ({W.shape[0]},) "
                                f"for a weight of shape {W.shape}")
        W.setflags(write=False)
        b.setflags(write=False)
        self.weight, self.bias = W, b

    @property
    def logits(self):
        """p, the number of logits."""
        return int(self.weight.shape[0])

    @property
    def inputs(self):
        """q, the width of the output it reads."""
        return int(self.weight.shape[1])

    def check(self, model):
        """Return self if it reads ``model``'s output (q = ``model.output_size``), else raise."""
        if self.inputs != model.output_size:
            raise GradflowError(
                f"{self.source or 'readout'}: weight has shape {self.weight.shape}; "
                f"{model.describe()} gives y_T of {model.output_size} entries, so the weight "
                f"needs {model.output_size} columns")
        return self

    def __call__(self, y):
        """The logits of y (q,) or (B, q)."""
        return np.asarray(y) @ self.weight.T + self.bias

    def describe(self):
        """``"readout of 10 logits (model.pt: fc.)"``."""
        return f"readout of {self.logits} logits" + (f" ({self.source})" if self.source else "")

    def to_dict(self):
        """JSON form: the readout's shape and where it came from."""
        return {"logits": self.logits, "inputs": self.inputs, "source": self.source}

    def __repr__(self):
        return f"Readout(logits={self.logits}, inputs={self.inputs})"

    @classmethod
    def coerce(cls, value, model):
        """A readout for ``model`` from a Readout, a ``(W_out, b_out)`` pair or ``W_out``."""
        if value is None or isinstance(value, Readout):
            return None if value is None else value.check(model)
        if _is_module(value):
            return cls.from_torch(value, width=model.output_size).check(model)
        if isinstance(value, tuple | list) and len(value) == 2:
            return cls(*value).check(model)
        return cls(value).check(model)

    @classmethod
    def from_torch(cls, source, prefix=None, *, width=None):
        """The ``weight`` and ``bias`` of an ``nn.Linear``, by prefix.

        Parameters
        ----------
        source : torch.nn.Module, mapping, str or os.PathLike
            A live ``nn.Linear`` (or a module holding one), a state dict or checkpoint dict
            (nested dicts are read with dotted keys), or a ``.pt`` file read with
            ``torch.load(weights_only=True)``.
        prefix : str, optional
            The head's key prefix, e.g. ``"fc."`` for ``fc.weight`` and ``fc.bias``.  Without
            it the only 2-d ``*weight`` with ``width`` columns is taken.
        width : int, optional
            The model's output size q, to find the head without a prefix.

        Returns
        -------
        Readout
        """
        where = os.fspath(source) if isinstance(source, str | os.PathLike) else "state dict"
        if isinstance(source, str | os.PathLike):
            source = load_torch_file(source)
        if _is_module(source):
            where = f"{type(source).__name__} module"
            source = source.state_dict()
        if not hasattr(source, "items"):
            raise GradflowError(f"{where}: expected an nn.Linear, a state dict or a .pt file; "
                                f"got {type(source).__name__}")
        flat = {}
        _flatten(source, "", flat)
        if prefix is None:
            heads = [key[:-len("weight")] for key, v in flat.items()
                     if key.endswith("weight") and len(getattr(v, "shape", ())) == 2
                     and (width is None or v.shape[1] == width)
                     and not key.split(".")[-1].startswith(("weight_ih", "weight_hh"))]
            if len(heads) != 1:
                found = ", ".join(repr(h) for h in heads) or "none"
                raise GradflowError(f"{where}: cannot tell which linear head is the readout "
                                    f"(candidates: {found}); give its prefix, e.g. 'fc.'")
            prefix = heads[0]
        key = f"{prefix}weight"
        if key not in flat:
            dotted = f"{prefix}.weight"
            if prefix and not prefix.endswith(".") and dotted in flat:
                prefix, key = prefix + ".", dotted
            else:
                near = sorted(k for k in flat if k.endswith("weight"))[:8]
                raise GradflowError(f"{where}: no key {key!r} for the readout's weight "
                                    f"(prefix {prefix!r}); weights found: "
                                    f"{', '.join(near) or 'none'}")
        weight = _as_float64(flat[key], key, where)
        bias_key = f"{prefix}bias"
        bias = _as_float64(flat[bias_key], bias_key, where) if bias_key in flat else None
        return cls(weight, bias, source=f"{where}: {prefix}" if prefix else where)
