"""The norm-preservation measure that Pascanu et al. (2013) add to the loss as a regulariser."""

from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell
from ..errors import GradientOverflowError, named
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

    Raises
    ------
    GradflowError
        On bad shapes or values; :class:`~gradflow.GradientOverflowError`, naming the step,
        when a gradient ``dL/ds_t``, its norm, a ratio or a term leaves the float64 range
        (NaN stays only where ``delta_{k+1}`` is exactly zero).

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
    _check_finite(model, delta, T, "dL/ds_{t}", "the backward pass", offset=0, last=True)
    reaching = _row_norms(delta[1:])
    _check_finite(model, reaching, T, "||dL/ds_{t}||", "the norm of the gradient")
    _check_finite(model, carried, T, "||dL/ds_{t} J_{t}||",
                  "the norm of the gradient carried back")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = np.where(reaching > 0, carried / reaching, np.nan)
        terms = (ratio - 1.0) ** 2
    defined = ~np.isnan(ratio)
    _check_finite(model, np.where(defined, ratio, 0.0), T,
                  "||dL/ds_{t} J_{t}|| / ||dL/ds_{t}||", "the norm ratio")
    _check_finite(model, np.where(defined, terms, 0.0), T, "Omega_{k}", "the regulariser term")
    if not np.isfinite(np.nansum(terms)):
        raise GradientOverflowError(f"{named(model)}"
                                    f"the regulariser Omega of {model.describe()} (the sum of "
                                    f"its {T} terms) overflows float64; {_FIX}")
    return PascanuRegulariserResult(
        model=model.describe(),
        cell=model.cell,
        norm_ratio=ratio,
        terms=terms,
        state_grads=delta,
    )


_FIX = "scale grad_out or the weights down, or shorten the sequence"


def _row_norms(rows):
    """``||row||_2`` of each row, scaled by its largest entry so no square over- or underflows."""
    peak = np.max(np.abs(rows), axis=1, initial=0.0)
    safe = np.where((peak > 0) & np.isfinite(peak), peak, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(peak > 0, safe * np.linalg.norm(rows / safe[:, None], axis=1), peak)


def _check_finite(model, values, T, symbol, what, *, offset=1, last=False):
    """GradientOverflowError unless ``values`` (entry i for step ``i + offset``) are finite.

    Names the first bad step, or with ``last`` the last one (the first met going backwards).
    """
    flat = values.reshape(len(values), -1)
    bad = np.flatnonzero(~np.isfinite(flat).all(axis=1))
    if not bad.size:
        return
    i = int(bad[-1] if last else bad[0])
    t = i + offset
    value = flat[i][~np.isfinite(flat[i])][0]
    raise GradientOverflowError(
        f"{named(model)}{what} of {model.describe()} overflows float64 at step {t} of {T} "
        f"({symbol.format(t=t, k=t - 1)} is {value}); {_FIX}", step=t)
