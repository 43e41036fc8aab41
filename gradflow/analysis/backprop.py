"""What every backpropagation through time shares: its result, the check of ``grad_out``.

:mod:`gradflow.analysis.bptt` (cells) and :mod:`gradflow.analysis.network_bptt` (networks)
both return a :class:`BPTTResult`.
"""

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import GradflowError
from ._json import number, numbers
from .clipping import gradient_norm

__all__ = ["BPTTResult", "bhn_gate", "check_grad_out", "lag_norms", "readonly"]


def readonly(a):
    """``a``, made read-only."""
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class BPTTResult:
    """Gradients of a loss ``L(s_1, ..., s_T)`` with respect to every weight of a cell.

    Attributes
    ----------
    model : str
        The cell, in words.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    grads : mapping of str to ndarray
        ``dL/dW`` for every weight name of the cell (``W_fh``, ``b_hn``, ...), shaped like the
        weight; summed over the sequences of a batch.
    state_grads : ndarray, shape (T + 1, m) or (B, T + 1, m)
        The total gradient ``dL/ds_t`` for t = 0..T: the direct term ``grad_out`` plus all that
        flows back from later steps; ``state_grads[0]`` is the gradient of the initial state.
    input_grads : ndarray, shape (T, d) or (B, T, d)
        ``dL/dx_t`` for the input of every step (what a layer below would receive).
    grads_by_lag : mapping of str to ndarray, or None
        With ``by_lag``: ``grads_by_lag[name][l]`` is the lag-``l`` part of ``grads[name]``,
        shape ``(T,) + weight shape``; summed over the lags it gives ``grads[name]``.
    """

    model: str
    cell: str
    grads: MappingProxyType
    state_grads: np.ndarray
    input_grads: np.ndarray
    grads_by_lag: MappingProxyType | None = None

    @property
    def steps(self):
        """The horizon T."""
        return int(self.input_grads.shape[-2])

    @property
    def lags(self):
        """Lags ``0..T-1`` of ``grads_by_lag``."""
        return np.arange(self.steps)

    @property
    def norm(self):
        """Euclidean norm of the whole weight gradient (all names together)."""
        return gradient_norm(self.grads.values())

    def lag_norms(self, names=None):
        """Per-lag gradient mass: the norm of the lag-``l`` part of the whole gradient.

        Parameters
        ----------
        names : sequence of str, optional
            Only these weights (default: all of them).

        Returns
        -------
        ndarray, shape (T,)
            Entry ``l`` is ``||sum over t of the lag-l terms||`` over the chosen weights: the
            long-term components of Pascanu et al. are the large lags.
        """
        if self.grads_by_lag is None:
            raise GradflowError("lag_norms needs the split by lag; call bptt(..., by_lag=True)")
        names = list(self.grads_by_lag) if names is None else list(names)
        for name in names:
            if name not in self.grads_by_lag:
                raise GradflowError(
                    f"no weight {name!r} in this {self.cell.upper()}; "
                    f"expected one of {', '.join(self.grads_by_lag)}"
                )
        return lag_norms({name: self.grads_by_lag[name] for name in names}, self.steps)

    def to_dict(self):
        """A JSON document: the gradient norms per weight, and per lag where split."""
        doc = {
            "cell": self.cell,
            "model": self.model,
            "steps": self.steps,
            "norm": number(self.norm),
            "norms": {k: number(gradient_norm([v])) for k, v in self.grads.items()},
        }
        if self.grads_by_lag is not None:
            doc["lags"] = [int(k) for k in self.lags]
            doc["lag_norms"] = numbers(self.lag_norms())
        return doc


def lag_norms(grads_by_lag, steps):
    """Per-lag gradient mass of a split by lag: entry ``l`` is the norm of all lag-``l`` parts.

    Parameters
    ----------
    grads_by_lag : mapping of str to ndarray
        Weight gradients split by lag, lag first (:attr:`BPTTResult.grads_by_lag`).
    steps : int
        The horizon T (the number of lags).

    Returns
    -------
    ndarray, shape (T,)
    """
    parts = list(grads_by_lag.values())
    return np.array([gradient_norm([p[lag] for p in parts]) for lag in range(steps)])


def bhn_gate(model):
    """Index of the gate whose ``delta_h`` is ``b_hn``'s gradient (GRU reset_after), else -1."""
    return 2 if "b_hn" in model.extra_names() else -1


def check_grad_out(grad_out, shape, *, expected=None):
    """Return the direct state gradients ``grad_out`` as float64, or raise naming the fault.

    ``expected`` words the expected shape for the message (default: ``shape`` and what it
    holds).
    """
    if grad_out is None:
        raise GradflowError("grad_out is required: dL/ds_t for t = 1..T, shape (T, m)")
    a = np.asarray(grad_out)
    if a.shape != shape:
        if expected is None:
            expected = f"{shape} (dL/ds_t for t = 1..T, state size m = {shape[-1]})"
        raise GradflowError(f"grad_out has shape {a.shape}; expected {expected}")
    if a.dtype.kind not in "fiu":
        raise GradflowError(f"grad_out has dtype {a.dtype}; expected real numbers")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradflowError(f"grad_out holds a non-finite value ({a[where]}) at index {where}")
    return a
