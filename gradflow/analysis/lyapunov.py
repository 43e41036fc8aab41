"""Lyapunov spectra of a cell driven by an input sequence, by QR re-orthonormalisation."""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import GradflowError
from ..validation import integer
from ._json import number, numbers
from .trajectory import resolve


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
    def reading(self):
        """What lambda_1 says about perturbations (and gradients) along this trajectory."""
        lam = self.lambda_1
        if lam > 0:
            return "chaotic: nearby trajectories separate, gradients can grow"
        if lam < 0:
            return "contracting: perturbations and gradients shrink"
        return "neutral"

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
        }


def kaplan_yorke_dimension(exponents, *, complete=True):
    """Kaplan-Yorke (Lyapunov) dimension of a spectrum.

    ``D = j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}|`` with j the largest index whose
    partial sum is non-negative; 0 when lambda_1 < 0.

    Parameters
    ----------
    exponents : array_like, shape (k,)
        Lyapunov exponents (any order; sorted here).
    complete : bool
        Whether these are all m exponents.  If the partial sums stay non-negative through the
        k-th exponent, D is m for a complete spectrum and undetermined (None) otherwise.

    Returns
    -------
    float or None

    References
    ----------
    Kaplan & Yorke (1979), "Chaotic behavior of multidimensional difference equations",
    Lecture Notes in Mathematics 730.
    """
    lam = np.sort(np.asarray(exponents, dtype=np.float64))[::-1]
    if lam.size == 0 or lam[0] < 0:
        return 0.0
    partial = np.cumsum(lam)
    j = int(np.flatnonzero(partial >= 0)[-1]) + 1
    if j == lam.size:
        return float(lam.size) if complete else None
    return j + float(partial[j - 1]) / abs(float(lam[j]))


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
    if written < 0:
        raise GradflowError(
            f"interval {interval}: the product J_t ... J_s Q left the float64 range before the "
            f"re-orthonormalisation due at step {-written}; choose a shorter interval"
        )
    return log_r.sum(axis=0) / (T - warmup), qr_steps, log_r


def lyapunov(model, xs=None, s0=None, k=None, warmup=0, *, interval=1, seed=0):
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
        The cell, or a single-sequence trajectory already computed (``lyapunov(trajectory,
        k=K)``: then without ``xs`` and ``s0``).
    xs : ndarray, shape (T, d)
        Inputs (zeros give the autonomous system).
    s0 : ndarray, shape (m,), optional
        Initial state (zeros by default).
    k : int, optional
        Number of exponents, 1..m (all m by default).
    warmup : int, optional
        Leading steps excluded from the averages, 0..T-1.
    interval : int, optional
        Steps between re-orthonormalisations (1: every step); longer intervals are cheaper but
        can leave the float64 range, which is reported as an error.
    seed : int, optional
        Seed of the initial frame.

    Returns
    -------
    LyapunovResult

    References
    ----------
    Benettin, Galgani, Giorgilli & Strelcyn (1980), "Lyapunov characteristic exponents for
    smooth dynamical systems and for Hamiltonian systems; a method for computing all of
    them", Meccanica 15.
    Engelken, Wolf & Abbott (2023), "Lyapunov spectra of chaotic recurrent neural networks",
    Physical Review Research 5, 043044.
    """
    run = resolve(model, xs, s0, batch=False)
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
    )
