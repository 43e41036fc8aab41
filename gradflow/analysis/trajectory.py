"""One validated trajectory: a cell's run over its inputs, computed once for every measurement.

The analyses (:func:`~gradflow.decay`, :func:`~gradflow.analysis.flowmap.flow_map`,
:func:`~gradflow.spectrum`, :func:`~gradflow.lyapunov`, :func:`~gradflow.bounds`) take either
``(model, xs, s0)`` or one :class:`Trajectory` in the place of the model::

    run = gf.trajectory(model, xs, s0)      # checks xs and s0 once, runs the cell once
    gf.decay(run); gf.lyapunov(run, k=4); gf.spectrum(run); gf.bounds(run)

so a report or a study that measures one run several ways validates and computes it once.
"""

from dataclasses import dataclass

import numpy as np

from .. import _threads, validation
from ..cells.base import Cell
from ..cells.network import Network
from ..errors import GradflowError, TrajectoryOverflowError, named
from ..io.arrays import as_inputs, as_lengths, as_state
from ..kernels.trajectory import batch_run
from ..resources import require_memory

__all__ = ["Trajectory", "one_cell", "trajectory"]


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A cell's states along an input sequence (or a batch of them), checked and computed once.

    Build one with :func:`trajectory`; the analyses read the arrays and never change them.

    Attributes
    ----------
    model : Cell
        The cell that ran.
    xs : ndarray, shape (T, d) or (B, T, d)
        The inputs, float64, checked against the model's input width.
    s0 : ndarray, shape (m,) or (B, m)
        The initial state(s), float64 (zeros when none was given).
    states : ndarray, shape (T + 1, m) or (B, T + 1, m)
        ``states[..., 0, :] = s0``, ``states[..., t, :]`` the state after step t.
    lengths : ndarray of int, shape (B,), or None
        A padded batch's valid lengths: sequence b ran over its first ``lengths[b]`` steps
        alone; its states past them are zero (never computed) and :meth:`sequences` cuts
        them off.
    """

    model: object
    xs: np.ndarray
    s0: np.ndarray
    states: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def steps(self):
        """The horizon T."""
        return int(self.xs.shape[-2])

    @property
    def batch(self):
        """Number of sequences B, or None for a single sequence."""
        return int(self.xs.shape[0]) if self.xs.ndim == 3 else None

    def sequences(self):
        """One single-sequence :class:`Trajectory` per sequence (the trajectory itself if single).

        Returns
        -------
        tuple of Trajectory
            Views into this trajectory's arrays, nothing copied or recomputed.
        """
        if self.batch is None:
            return (self,)
        if self.lengths is not None:  # each sequence over its own steps
            return tuple(Trajectory(self.model, x[:L], s, S[:L + 1]) for x, s, S, L in
                         zip(self.xs, self.s0, self.states, self.lengths, strict=True))
        return tuple(Trajectory(self.model, x, s, S)
                     for x, s, S in zip(self.xs, self.s0, self.states, strict=True))


def _batch_states(model, xs, s0, threads):
    """Every sequence's states, in parallel (one sequence a thread)."""
    B, T, _ = xs.shape
    require_memory(8 * B * (T + 1) * model.state_size,
                   f"the trajectories of a batch of {B} x {T} steps")
    S = np.empty((B, T + 1, model.state_size))
    S[:, 0] = s0
    bad = np.empty(B, dtype=np.int64)
    with _threads.threads(threads):
        batch_run(*model.kernel_args(), xs, S, bad)
    failed = np.flatnonzero(bad >= 0)
    if failed.size:
        i = int(failed[0])
        raise TrajectoryOverflowError(
            f"{named(model)}"
            f"the trajectory of sequence {i} of {model.describe()} overflows float64 at "
            f"step {int(bad[i])} of {T}; lower the gain or shorten the sequence",
            step=int(bad[i]))
    return S


def one_cell(model):
    """Return ``model`` if it is one cell; a network, or anything else, is refused by name."""
    if isinstance(model, Cell):
        return model
    shown = model.describe() if isinstance(model, Network) else type(model).__name__
    raise GradflowError(f"this analysis takes one cell (RNN, LSTM, GRU); got {shown}"
                        + ("; for a network, decay measures what its output sees"
                           if isinstance(model, Network) else ""))


def trajectory(model, xs, s0=None, *, threads=None, lengths=None):
    """Check the inputs and the initial state once and run the cell once.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs: one sequence, or a batch of B.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default; one state of shape (m,) is shared by a whole batch).
    threads : int, optional
        Batch inputs only: sequences run in parallel on this many threads (default: all
        cores).
    lengths : array_like of int, shape (B,), optional
        A padded batch: sequence b holds valid inputs in steps ``0..lengths[b] - 1`` and is
        run over those alone (the padding never enters a state).

    Returns
    -------
    Trajectory

    Raises
    ------
    GradflowError
        On bad shapes or values of ``xs`` or ``s0``; :class:`TrajectoryOverflowError` when a
        state leaves the float64 range, naming the step (and, in a batch, the sequence).
    """
    one_cell(model)
    xs = as_inputs(xs, model.inputs)
    if lengths is not None:
        lengths = as_lengths(lengths, xs.shape[0] if xs.ndim == 3 else None, xs.shape[-2])
        s0 = as_state(s0, model.state_size, batch=xs.shape[0])
        states = np.zeros((xs.shape[0], xs.shape[1] + 1, model.state_size))
        for b, (x, s, L) in enumerate(zip(xs, s0, lengths, strict=True)):
            try:
                states[b, :L + 1] = model._trajectory(x[:L], s)
            except TrajectoryOverflowError as exc:
                prefix, text = named(model), str(exc)
                text = text[len(prefix):] if text.startswith(prefix) else text
                raise TrajectoryOverflowError(f"{prefix}sequence {b}: {text}",
                                              step=exc.step) from None
        return Trajectory(model=model, xs=xs, s0=s0, states=states, lengths=lengths)
    if xs.ndim == 3:
        s0 = as_state(s0, model.state_size, batch=xs.shape[0])
        states = _batch_states(model, xs, s0, threads)
    else:
        s0 = as_state(s0, model.state_size)
        states = model._trajectory(xs, s0)
    return Trajectory(model=model, xs=xs, s0=s0, states=states)


def resolve(subject, xs=None, s0=None, *, batch=True, threads=None, lengths=None):
    """The trajectory an analysis measures: ``subject`` itself, or the run of ``subject`` on xs.

    Parameters
    ----------
    subject : Trajectory or Cell
        A trajectory (then ``xs`` and ``s0`` must be None) or a model to run.
    xs, s0 : ndarray, optional
        As for :func:`trajectory`.
    batch : bool
        Whether the analysis takes batches; if not, the inputs must be one sequence (T, d).
    threads, lengths : optional
        As for :func:`trajectory`.

    Returns
    -------
    Trajectory
    """
    if isinstance(subject, Trajectory):
        if xs is not None or s0 is not None or lengths is not None:
            raise GradflowError("a Trajectory carries its inputs, initial state and lengths; "
                                "give either a Trajectory or a model with xs, s0 and "
                                "lengths, not both")
        if not batch and subject.batch is not None:
            as_inputs(subject.xs, subject.model.inputs, batch=False)
        return subject
    validation.instance(subject, "model", Cell | Network,
                        "a cell (RNN, LSTM, GRU), a network or a Trajectory")
    if not batch:
        xs = as_inputs(xs, subject.inputs, batch=False)
    return trajectory(subject, xs, s0, threads=threads, lengths=lengths)
