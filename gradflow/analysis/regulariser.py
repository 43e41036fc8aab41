"""The norm-preservation measure that Pascanu et al. (2013) add to the loss as a regulariser."""

from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell
from ..io.arrays import as_inputs, as_state
from ..kernels.regulariser import backward_norms
from ..validation import instance
from ._json import number, numbers
from .bptt import check_grad_out


@dataclass(frozen=True)
class PascanuRegulariserResult:
    """Per-step ratios ``||delta_{k+1} J_{k+1}|| / ||delta_{k+1}||`` and the regulariser terms.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    cell : str
    norm_ratio : ndarray, shape (T,)
        Entry k (k = 0..T-1) is ``||delta_{k+1} J_{k+1}|| / ||delta_{k+1}||``, the factor by
        which the step from ``s_k`` to ``s_{k+1}`` scales the gradient carried back through it;
        NaN where ``delta_{k+1}`` is exactly zero.
    terms : ndarray, shape (T,)
        ``(norm_ratio - 1) ** 2``, Omega_k.
    state_grads : ndarray, shape (T + 1, m)
        ``delta_t = dL/ds_t`` for t = 0..T, the gradients backpropagated through time.
    """

    model: str
    cell: str
    norm_ratio: np.ndarray
    terms: np.ndarray
    state_grads: np.ndarray

    @property
    def steps(self):
        """The horizon T."""
        return int(self.terms.size)

    @property
    def total(self):
        """``Omega = sum_k Omega_k`` over the steps where it is defined."""
        return float(np.nansum(self.terms))

    @property
    def mean(self):
        """Mean of Omega_k over the steps where it is defined (None if nowhere)."""
        defined = self.terms[np.isfinite(self.terms)]
        return float(defined.mean()) if defined.size else None

    def to_dict(self):
        """A JSON document (undefined steps as None)."""
        return {
            "cell": self.cell,
            "model": self.model,
            "steps": self.steps,
            "norm_ratio": numbers(self.norm_ratio),
            "terms": numbers(self.terms),
            "total": number(self.total),
            "mean": number(self.mean),
        }


def pascanu_regulariser(model, xs, grad_out, s0=None):
    """Pascanu et al.'s norm-preservation measure along a trajectory, step by step.

    With ``delta_t = dL/ds_t`` the gradient backpropagated through time (the direct gradient
    ``grad_out`` plus what flows back from later steps), the regulariser of Pascanu et al.
    (2013, eq. 9) is ``Omega = sum_k Omega_k`` with

    ``Omega_k = (||delta_{k+1} J_{k+1}|| / ||delta_{k+1}|| - 1) ** 2``,

    zero when every step preserves the norm of the gradient it carries back, whatever the
    gradient's direction.  The products ``delta J`` come from the vector-Jacobian-product
    kernels; no Jacobian is formed.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (T, d)
        Inputs.
    grad_out : ndarray, shape (T, m)
        ``grad_out[t - 1] = dL/ds_t`` for t = 1..T: the loss gradient with respect to each
        state directly (``concat(dL/dh, dL/dc)`` for LSTM).  A loss on the last state only has
        zeros in every row but the last.
    s0 : ndarray, shape (m,), optional
        Initial state (zeros by default).

    Returns
    -------
    PascanuRegulariserResult

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    instance(model, "model", Cell, "a cell (RNN, LSTM, GRU)")
    xs = as_inputs(xs, model.inputs, batch=False)
    T = xs.shape[0]
    m = model.state_size
    grad_out = check_grad_out(grad_out, (T, m),
                              expected=f"(T, m) = ({T}, {m}), one row dL/ds_t per step")
    S = model.run(xs, as_state(s0, m))
    delta = np.empty((T + 1, m))
    carried = np.empty(T)
    backward_norms(*model.kernel_args(), xs, S, grad_out, delta, carried)
    reaching = np.linalg.norm(delta[1:], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(reaching > 0, carried / reaching, np.nan)
    return PascanuRegulariserResult(
        model=model.describe(),
        cell=model.cell,
        norm_ratio=ratio,
        terms=(ratio - 1.0) ** 2,
        state_grads=delta,
    )
