"""Spectral figures of the recurrent matrices and the bounds they put on the step Jacobian."""

import os
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ..activations import activation_bound
from ..errors import GradflowError, source_prefix
from ..kernels import step_norms
from ._json import number, numbers
from .trajectory import Trajectory, one_cell, resolve

#: Budget of one chunk of step Jacobians held at once, in float64 entries (32 MiB).
_CHUNK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class MatrixSpectrum:
    """Singular values and eigenvalue modulus of one recurrent matrix ``W_*h``.

    Attributes
    ----------
    name : str
        ``"W_h"``, ``"W_fh"``, ...
    gate : str
        The gate letter (``""`` for the RNN).
    activation : str
        The nonlinearity the gate applies to ``W_*h h + ...``.
    gamma : float
        ``sup f'`` of that nonlinearity (1/4 sigmoid, 1 tanh, 1 relu).
    singular_values : ndarray, shape (n,)
        All singular values, descending.
    spectral_radius : float
        ``max |eigenvalue|``.
    """

    name: str
    gate: str
    activation: str
    gamma: float
    singular_values: np.ndarray
    spectral_radius: float

    @property
    def sigma_max(self):
        """Largest singular value (the spectral norm)."""
        return float(self.singular_values[0])

    @property
    def sigma_min(self):
        """Smallest singular value."""
        return float(self.singular_values[-1])

    @property
    def condition_number(self):
        """``sigma_max / sigma_min`` (inf for a singular matrix)."""
        if self.sigma_min == 0.0:
            return float("inf")
        return self.sigma_max / self.sigma_min

    @property
    def gamma_sigma_max(self):
        """``gamma * sigma_max``: the most this gate's recurrent term can stretch per step."""
        return self.gamma * self.sigma_max

    def to_dict(self):
        """JSON entry of ``matrices`` (a singular matrix's condition number is None)."""
        return {
            "sigma_max": self.sigma_max,
            "spectral_radius": self.spectral_radius,
            "singular_values": numbers(self.singular_values),
            "condition_number": number(self.condition_number),
            "sigma_min": self.sigma_min,
            "gate": self.gate,
            "activation": self.activation,
            "gamma": self.gamma,
            "gamma_sigma_max": self.gamma_sigma_max,
        }


@dataclass(frozen=True)
class SpectrumResult:
    """Spectral figures of a cell's recurrent matrices and the bounds they imply.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    matrices : dict of str to MatrixSpectrum
        One entry per ``W_*h``, in gate order.
    gamma : float or None
        RNN only: ``sup f'`` of the activation.
    bound : float or None
        RNN only: Pascanu et al.'s ``gamma * sigma_max(W_h)``, which bounds ``||J_t||_2`` at
        every step of every trajectory.
    jacobian_norms : ndarray, shape (T,) or (B, T), tuple of ndarray, or None
        ``||J_t||_2`` at every step of the trajectory run (None without inputs); a padded
        batch's as one array (T_b,) per sequence, over its own steps.
    """

    model: str
    cell: str
    matrices: dict
    gamma: float | None
    bound: float | None
    jacobian_norms: np.ndarray | None = None

    @property
    def reading(self):
        """What ``bound`` says: vanishing guaranteed (< 1) or exploding merely possible."""
        return _reading(self.bound)

    @property
    def effective_bound(self):
        """``max_t ||J_t||_2`` over the trajectory run: ``||ds_T/ds_{T-k}|| <= this ** k``."""
        if self.jacobian_norms is None:
            return None
        return float(max(np.max(n) for n in self._per_sequence()))

    def _per_sequence(self):
        """The norms as one 1-d array per sequence."""
        norms = self.jacobian_norms
        if isinstance(norms, tuple):
            return norms
        norms = np.asarray(norms)
        return (norms,) if norms.ndim == 1 else tuple(norms)

    @property
    def effective_reading(self):
        """What ``effective_bound`` says about the trajectory run."""
        return _reading(self.effective_bound)

    def to_dict(self):
        """The JSON document of ``gradflow spectrum --json``."""
        doc = {
            "cell": self.cell,
            "model": self.model,
            "matrices": {name: m.to_dict() for name, m in self.matrices.items()},
            "gamma": self.gamma,
            "bound": number(self.bound),
            "reading": self.reading,
            "effective_bound": number(self.effective_bound),
            "effective_reading": self.effective_reading,
        }
        if self.jacobian_norms is not None:
            parts = self._per_sequence()
            flat = np.concatenate(parts)
            sequence = int(np.argmax([p.max() for p in parts]))  # the first to reach the max
            batched = not (isinstance(self.jacobian_norms, np.ndarray)
                           and self.jacobian_norms.ndim == 1)
            doc["trajectory"] = {
                "steps": max(p.size for p in parts),
                "batch": len(parts) if batched else None,
                "jacobian_norm2_max": float(flat.max()),
                "jacobian_norm2_mean": float(flat.mean()),
                "jacobian_norm2_median": float(np.median(flat)),
                "jacobian_norm2_min": float(flat.min()),
                "argmax_step": int(np.argmax(parts[sequence])) + 1,
                "argmax_sequence": sequence if batched else None,
            }
            if isinstance(self.jacobian_norms, tuple):
                doc["trajectory"]["lengths"] = [int(p.size) for p in parts]
        return doc


def _reading(bound):
    if bound is None:
        return None
    if bound < 1.0:
        return "vanishing guaranteed"
    return "exploding possible, not guaranteed"


def matrix_spectrum(name, W, *, gate="", activation="tanh", loop=None, where=""):
    """Spectral figures of one square matrix.

    Parameters
    ----------
    name : str
        Its weight name.
    W : ndarray, shape (n, n)
    gate, activation : str
        The gate it feeds and that gate's nonlinearity.
    loop : ndarray, shape (n, n), optional
        The square matrix whose eigenvalues give the spectral radius when ``W`` is not
        square (a projected LSTM's ``W_*h W_hr``); ``W`` itself by default.
    where : str, optional
        Prefix of error messages (``"W.npz: "``).

    Returns
    -------
    MatrixSpectrum
    """
    W = np.asarray(W, dtype=np.float64)
    loop = W if loop is None else np.asarray(loop, dtype=np.float64)
    # solve at unit scale: an exact power of two, undone on the results
    shift, loop_shift = _peak_exponent(W), _peak_exponent(loop)
    unit_values = scipy.linalg.svdvals(np.ldexp(W, -shift))
    unit_radius = np.max(np.abs(scipy.linalg.eigvals(np.ldexp(loop, -loop_shift))), initial=0.0)
    for what, unit, at in (("largest singular value", np.max(unit_values, initial=0.0), shift),
                           ("spectral radius", unit_radius, loop_shift)):
        if unit > 0.0 and np.log10(unit) + at * np.log10(2.0) >= _LOG10_MAX:
            raise GradflowError(
                f"{where}{name}: its {what} is about 10^{np.log10(unit) + at * np.log10(2.0):.1f}, "
                "beyond the float64 range (about 1.8e308); scale the weights down")
    singular_values = np.ldexp(unit_values, shift)
    spectral_radius = float(np.ldexp(unit_radius, loop_shift))
    return MatrixSpectrum(
        name=name,
        gate=gate,
        activation=activation,
        gamma=activation_bound(activation).gamma,
        singular_values=singular_values,
        spectral_radius=spectral_radius,
    )


def _checked_source(source):
    """``source`` as text (None stays None); GradflowError unless a file name."""
    if source is None:
        return None
    if not isinstance(source, str | os.PathLike):
        raise GradflowError(f"source must be a file name (str or path); got "
                            f"{type(source).__name__}")
    return os.fsdecode(source)


def _peak_exponent(A):
    """``e`` with ``max|A|`` in [2^(e-1), 2^e); 0 for a zero (or empty) matrix."""
    peak = float(np.max(np.abs(A), initial=0.0))
    return int(np.frexp(peak)[1]) if 0.0 < peak < np.inf else 0


def step_norms_along(model, xs, S, *, source=None):
    """``||J_t||_2`` of every step of one trajectory already computed; no checks.

    One Jacobian at a time (memory O(m^2)), each norm certified or computed exactly.

    Parameters
    ----------
    model : Cell
    xs : ndarray, shape (T, d)
    S : ndarray, shape (T + 1, m)
        The states of ``model`` driven by ``xs``.
    source : str, optional
        Where the model comes from (its file), to begin an error message with; by default
        the cell's own :attr:`~gradflow.cells.base.Cell.source`.

    Returns
    -------
    ndarray, shape (T,)
    """
    source = getattr(model, "source", None) if source is None else source
    out = np.empty(xs.shape[0])
    stats = np.zeros(3, dtype=np.int64)
    step_norms.step_log10_norms(*model.kernel_args(), np.ascontiguousarray(xs),
                                np.ascontiguousarray(S), out, stats)
    too_large = np.flatnonzero(out > _LOG10_MAX)
    if too_large.size:
        t = int(too_large[0])
        raise GradflowError(
            f"{source_prefix(source)}{model.describe()}: the step Jacobian "
            f"||ds_{t + 1}/ds_{t}||_2 is "
            f"about 10^{out[t]:.1f} at step {t + 1} of {xs.shape[0]}, beyond the float64 range "
            "(about 1.8e308); scale the weights down")
    return np.where(np.isneginf(out), 0.0, 10.0 ** out)


_LOG10_MAX = float(np.log10(np.finfo(np.float64).max))


def jacobian_norms(model, xs=None, s0=None, *, source=None, lengths=None):
    """Spectral norm ``||J_t||_2`` of every step Jacobian along a trajectory.

    The Jacobians are formed one at a time, so memory stays bounded for any T.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory
        The cell, or a trajectory already computed (then without ``xs`` and ``s0``).
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    source : str, optional
        Where the model comes from (its file, ``W.npz``), named first in an error message;
        by default the file the cell was read from (``model.source``).
    lengths : array_like of int, shape (B,), optional
        A padded batch's valid lengths: each sequence's norms over its own steps.

    Returns
    -------
    ndarray, shape (T,) or (B, T), or tuple of ndarray
        Entry ``t - 1`` is ``||ds_t/ds_{t-1}||_2``; with ``lengths`` (or a trajectory of a
        padded batch) one array (T_b,) per sequence.
    """
    source = _checked_source(source)
    run = resolve(model, xs, s0, lengths=lengths)
    norms = [step_norms_along(run.model, seq.xs, seq.states, source=source)
             for seq in run.sequences()]
    if run.batch is None:
        return norms[0]
    return tuple(norms) if run.lengths is not None else np.stack(norms)


def spectrum(model, xs=None, s0=None, *, source=None, lengths=None):
    """Spectral figures of every recurrent matrix and the per-step bounds they give.

    For every ``W_*h``: all singular values, sigma_max, the spectral radius and the condition
    number, with the gate's ``gamma = sup f'``.  For the vanilla RNN, Pascanu et al.'s bound
    ``||J_t||_2 <= gamma * sigma_max(W_h)`` holds at every step of every trajectory, so a bound
    below 1 guarantees vanishing gradients while a bound above 1 only makes exploding possible.
    Gated cells have no such bound from the weights alone; given inputs, the effective bound
    ``max_t ||J_t||_2`` along the trajectory run plays its part: ``||ds_T/ds_{T-k}||_2`` never
    exceeds it to the power k.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory
        The cell, or a trajectory already computed (``spectrum(trajectory)``: the cell's
        matrices and the effective bound along it).
    xs : ndarray, shape (T, d) or (B, T, d), optional
        Inputs of a trajectory for the effective bound.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    source : str, optional
        Where the model comes from (its file, ``W.npz``): an error (a singular value or a
        step Jacobian norm beyond float64) then begins ``"W.npz: "``.  By default the file
        the cell was read from (``model.source``; none for a cell built in memory).
    lengths : array_like of int, shape (B,), optional
        A padded batch's valid lengths: the effective bound over each sequence's own steps.

    Returns
    -------
    SpectrumResult

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    norms = None
    source = _checked_source(source)
    if not isinstance(model, Trajectory):
        one_cell(model)
    if isinstance(model, Trajectory) or xs is not None:
        run = resolve(model, xs, s0, lengths=lengths)
        model, norms = run.model, jacobian_norms(run, source=source)
    source = getattr(model, "source", None) if source is None else source
    activations = model.gate_activations()
    matrices = {}
    for gate, activation in activations.items():
        name = model.recurrent_name(gate)
        matrices[name] = matrix_spectrum(name, model[name], gate=gate, activation=activation,
                                         loop=model.recurrent_loop(name),
                                         where=source_prefix(source))
    gamma = bound = None
    if model.pascanu_gamma() is not None:
        W = matrices[model.recurrent_matrices[0]]
        gamma = W.gamma
        bound = model.pascanu_bound(W.sigma_max)
    return SpectrumResult(
        model=model.describe(),
        cell=model.cell,
        matrices=matrices,
        gamma=gamma,
        bound=bound,
        jacobian_norms=norms,
    )
