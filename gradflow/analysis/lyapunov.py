"""Lyapunov spectra of a cell driven by an input sequence, by QR re-orthonormalisation."""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import GradflowError, named
from ..validation import integer
from ._json import number, numbers
from .lyapunov_batch import LyapunovBatchResult
from .lyapunov_statistics import (
    block_spectra,
    convergence_warnings,
    default_warmup,
    entropy_rate,
    kaplan_yorke_dimension,
    lambda_1_reading,
    positive_fraction,
    standard_error,
)
from .trajectory import resolve

__all__ = ["LyapunovResult", "default_warmup", "initial_frame", "kaplan_yorke_dimension",
           "lyapunov", "lyapunov_spectrum"]


@dataclass(frozen=True)
class LyapunovResult:
    """The k largest Lyapunov exponents along one trajectory.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    cell : str
    exponents : ndarray, shape (k,)
        Natural log per step, descending; ``-inf`` for a direction the Jacobians annihilate.
    state_size : int
        m; the spectrum is complete when ``k == m``.
    steps : int
        T, including the warm-up.
    warmup : int
        Steps that only aligned the frame.
    interval : int
        Steps between re-orthonormalisations.
    qr_steps : ndarray of int, shape (R,)
        The steps at which the measured factorisations were taken.
    running_lambda_1 : ndarray, shape (R,)
        The estimate of lambda_1 after each of them: its convergence.
    block_exponents : ndarray, shape (BLOCKS, k), or None
        The spectrum of each of the consecutive blocks of the measured steps
        (:mod:`~gradflow.analysis.lyapunov_statistics`): the batch means behind every
        standard error; None when the run is too short for them.
    """

    model: str
    cell: str
    exponents: np.ndarray
    state_size: int
    steps: int
    warmup: int
    interval: int
    qr_steps: np.ndarray
    running_lambda_1: np.ndarray
    block_exponents: np.ndarray | None = None

    @property
    def k(self):
        """Number of exponents."""
        return int(self.exponents.size)

    @property
    def complete(self):
        """Whether the whole spectrum (k = m) was computed."""
        return self.k == self.state_size

    @property
    def lambda_1(self):
        """The largest exponent."""
        return float(self.exponents[0])

    @property
    def sum(self):
        """Sum of the exponents (for a complete spectrum: the mean of ``log|det J_t|``)."""
        return float(np.sum(self.exponents))

    @property
    def kaplan_yorke_dimension(self):
        """The Kaplan-Yorke dimension, or None when the k exponents do not determine it."""
        return kaplan_yorke_dimension(self.exponents, complete=self.complete)

    @property
    def exponents_stderr(self):
        """Batch-means standard error of each exponent (None where it cannot be told)."""
        if self.block_exponents is None:
            return (None,) * self.k
        return tuple(standard_error(column) for column in self.block_exponents.T)

    @property
    def lambda_1_stderr(self):
        """Batch-means standard error of lambda_1, or None."""
        return self.exponents_stderr[0]

    @property
    def entropy_rate(self):
        """Sum of the positive exponents (nats per step), or None if more are needed."""
        return entropy_rate(self.exponents, complete=self.complete)

    @property
    def positive_fraction(self):
        """The fraction of the m exponents that are positive, or None if k does not tell."""
        return positive_fraction(self.exponents, self.state_size)

    @property
    def kaplan_yorke_fraction(self):
        """``D_KY / m``: the attractor's dimension as a fraction of the state's, or None."""
        dim = self.kaplan_yorke_dimension
        return None if dim is None else dim / self.state_size

    def _block_error(self, figure):
        if self.block_exponents is None:
            return None
        return standard_error([figure(row) for row in self.block_exponents])

    @property
    def entropy_rate_stderr(self):
        """Batch-means standard error of the entropy rate, or None."""
        return self._block_error(lambda row: entropy_rate(row, complete=self.complete))

    @property
    def positive_fraction_stderr(self):
        """Batch-means standard error of the positive fraction, or None."""
        return self._block_error(lambda row: positive_fraction(row, self.state_size))

    @property
    def kaplan_yorke_dimension_stderr(self):
        """Batch-means standard error of the Kaplan-Yorke dimension, or None."""
        return self._block_error(lambda row: kaplan_yorke_dimension(row,
                                                                    complete=self.complete))

    @property
    def warnings(self):
        """Sentences saying why the run may be too short to have converged (empty if not)."""
        return convergence_warnings(self.lambda_1, self.lambda_1_stderr, self.qr_steps.size,
                                    self.steps - self.warmup)

    @property
    def reading(self):
        """What lambda_1 says about perturbations (and gradients) along this trajectory."""
        return lambda_1_reading(self.lambda_1)

    def to_dict(self):
        """The JSON document of ``gradflow lyapunov --json``."""
        lam = self.lambda_1
        return {
            "cell": self.cell,
            "model": self.model,
            "state_size": self.state_size,
            "steps": self.steps,
            "warmup": self.warmup,
            "interval": self.interval,
            "k": self.k,
            "exponents": numbers(self.exponents),
            "lambda_1": number(lam),
            "exp_lambda_1": number(math.exp(lam)) if lam < 700 else None,
            "sum": number(self.sum),
            "complete": self.complete,
            "kaplan_yorke_dimension": number(self.kaplan_yorke_dimension),
            "reading": self.reading,
            "lambda_1_stderr": number(self.lambda_1_stderr),
            "exponents_stderr": [number(e) for e in self.exponents_stderr],
            "entropy_rate": number(self.entropy_rate),
            "entropy_rate_stderr": number(self.entropy_rate_stderr),
            "positive_fraction": number(self.positive_fraction),
            "positive_fraction_stderr": number(self.positive_fraction_stderr),
            "kaplan_yorke_fraction": number(self.kaplan_yorke_fraction),
            "kaplan_yorke_dimension_stderr": number(self.kaplan_yorke_dimension_stderr),
            "blocks": 0 if self.block_exponents is None else len(self.block_exponents),
            "warnings": list(self.warnings),
        }


def initial_frame(m, k, seed=0):
    """A seeded random orthonormal (m, k) frame (Haar distributed)."""
    A = np.random.default_rng(seed).standard_normal((m, k))
    Q, R = np.linalg.qr(A)
    return np.ascontiguousarray(Q * np.sign(np.diag(R)))


def lyapunov_spectrum(model, xs, S, k, warmup, interval, seed):
    """Run the QR re-orthonormalisation on a trajectory ``S`` that is already computed; no checks.

    Returns ``(exponents, qr_steps, log_r)``, the exponents unsorted.
    """
    from ..kernels.lyapunov import qr_reorthonormalisation
    from ..resources import require_memory

    T = xs.shape[0]
    rows = -(-(T - warmup) // interval)
    require_memory(8 * rows * (k + 1), f"{k} Lyapunov exponents at {rows} re-orthonormalisations")
    Q = initial_frame(model.state_size, k, seed)
    log_r = np.empty((rows, k))
    qr_steps = np.empty(rows, dtype=np.int64)
    written = qr_reorthonormalisation(*model.kernel_args(), xs, S, Q, warmup, interval, log_r,
                                      qr_steps)
    if written < 0 and interval == 1:  # one step alone: no interval can help
        raise GradflowError(
            f"{named(model)}"
            f"the Lyapunov frame of {model.describe()} left the float64 range at step "
            f"{-written} (J_t Q overflowed in one step); scale the weights or inputs down")
    if written < 0:
        raise GradflowError(
            f"{named(model)}interval {interval}: the product J_t ... J_s Q left the float64 "
            "range before the "
            f"re-orthonormalisation due at step {-written}; choose a shorter interval"
        )
    exponents = log_r.sum(axis=0) / (T - warmup)
    bad = np.flatnonzero(np.isnan(exponents) | np.isposinf(exponents))
    if bad.size:  # -inf is a direction the Jacobians annihilate; NaN or +inf an overflow
        raise GradflowError(
            f"{named(model)}the Lyapunov exponent lambda_{int(bad[0]) + 1} of "
            f"{model.describe()} is "
            f"{exponents[bad[0]]}: log|R_ii| of the frame left the float64 range; scale the "
            "weights or inputs down")
    return exponents, qr_steps, log_r


def lyapunov(model, xs=None, s0=None, k=None, warmup=0, *, interval=1, seed=0, lengths=None):
    """Lyapunov spectrum of the cell along the trajectory driven by ``xs``.

    A random orthonormal frame ``Q`` (m, k) is carried along, ``Q <- J_t Q``, and
    re-orthonormalised by QR every ``interval`` steps; the exponents are the time averages of
    ``log|R_ii|`` (natural log, per step), measured after ``warmup`` steps that only align the
    frame.  With k = m their sum is the mean of ``log|det J_t|`` over the measured steps.
    lambda_1 is the asymptotic per-step growth rate of a generic perturbation, and so of the
    norm of ``ds_T/ds_{T-k}``: ``exp(lambda_1)`` is the per-step factor by which gradients
    grow or shrink.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Trajectory
        The cell, or a trajectory already computed (``lyapunov(trajectory, k=K)``: then
        without ``xs``, ``s0`` and ``lengths``).
    xs : ndarray, shape (T, d), or a batch (B, T, d)
        Inputs (zeros give the autonomous system).  A batch gives one spectrum per sequence
        (:class:`~gradflow.analysis.lyapunov_batch.LyapunovBatchResult`).
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    k : int, optional
        Number of exponents, 1..m (all m by default).
    warmup : int, optional
        Leading steps excluded from the averages, 0..T-1.  For a batch: fewer than the
        shortest sequence's steps, or one per sequence, or None for each sequence's default
        (its first quarter, as ``gf.decay`` and ``gradflow lyapunov`` use).
    interval : int, optional
        Steps between re-orthonormalisations (1: every step); longer intervals are cheaper but
        can leave the float64 range, which is reported as an error.
    seed : int, optional
        Seed of the initial frame (the same frame for every sequence of a batch).
    lengths : array_like of int, shape (B,), optional
        A padded batch's valid lengths: each sequence's spectrum over its own steps only.

    Returns
    -------
    LyapunovResult, or LyapunovBatchResult for a batch

    Raises
    ------
    GradflowError
        On bad arguments, and when the frame or an exponent leaves the float64 range (an
        exponent is never NaN or +inf; -inf is a direction the Jacobians annihilate).

    References
    ----------
    Benettin, Galgani, Giorgilli & Strelcyn (1980), "Lyapunov characteristic exponents for
    smooth dynamical systems and for Hamiltonian systems; a method for computing all of
    them", Meccanica 15.
    Engelken, Wolf & Abbott (2023), "Lyapunov spectra of chaotic recurrent neural networks",
    Physical Review Research 5, 043044.
    """
    run = resolve(model, xs, s0, lengths=lengths)
    if run.batch is not None:
        return _batch(run, k=k, warmup=warmup, interval=interval, seed=seed)
    model, xs, S = run.model, run.xs, run.states
    T = run.steps
    m = model.state_size
    k = m if k is None else integer(k, "k", minimum=1, maximum=m,
                                      rule=f"an integer in [1, {m}] (the state size)")
    warmup = integer(warmup, "warmup", minimum=0, maximum=T - 1,
                     rule=f"an integer in [0, {T - 1}] (fewer than the {T} steps)")
    interval = integer(interval, "interval", minimum=1, rule="an integer >= 1")
    seed = integer(seed, "seed", minimum=0)
    raw, qr_steps, log_r = lyapunov_spectrum(model, xs, S, k, warmup, interval, seed)
    with np.errstate(invalid="ignore"):
        running = np.cumsum(log_r[:, 0]) / (qr_steps - warmup)
    return LyapunovResult(
        model=model.describe(),
        cell=model.cell,
        exponents=np.sort(raw)[::-1].copy(),
        state_size=m,
        steps=T,
        warmup=warmup,
        interval=interval,
        qr_steps=qr_steps,
        running_lambda_1=running,
        block_exponents=block_spectra(log_r, qr_steps, warmup),
    )


def _batch(run, k=None, warmup=None, *, interval=1, seed=0):
    """Spectra of every sequence of a batch trajectory (:func:`lyapunov` on a batch).

    Parameters
    ----------
    run : Trajectory
        A batch trajectory (its ``lengths`` cut each sequence to its own steps).
    k, interval, seed
        As for :func:`~gradflow.analysis.lyapunov.lyapunov`, the same for every sequence.
    warmup : int or sequence of int, optional
        Leading steps of each sequence excluded from its averages: one count for every
        sequence (fewer than the shortest sequence's steps), one per sequence, or None for
        each sequence's :func:`~gradflow.analysis.lyapunov_statistics.default_warmup`.

    Returns
    -------
    LyapunovBatchResult
    """
    parts = run.sequences()
    B = len(parts)
    if warmup is None:
        warmups = [default_warmup(p.steps) for p in parts]
    elif np.ndim(warmup) == 0:
        shortest = min(p.steps for p in parts)
        what = "the shortest sequence's" if run.lengths is not None else "the"
        warmups = [integer(warmup, "warmup", minimum=0, maximum=shortest - 1,
                           rule=f"an integer in [0, {shortest - 1}] (fewer than {what} "
                                f"{shortest} steps)")] * B
    else:
        warmups = list(np.asarray(warmup).ravel())
        if len(warmups) != B:
            raise GradflowError(f"warmup has {len(warmups)} entries; expected one per sequence "
                                f"of the batch of {B}")
    results = []
    for b, (part, w) in enumerate(zip(parts, warmups, strict=True)):
        try:
            results.append(lyapunov(part, k=k, warmup=int(w), interval=interval, seed=seed))
        except GradflowError as exc:
            raise GradflowError(f"{exc} (sequence {b} of the batch)") from None
    return LyapunovBatchResult(sequences=tuple(results), lengths=run.lengths)
