"""What a dynamics paper reports from a Lyapunov spectrum, and how far it has converged.

Entropy rate (the sum of the positive exponents, Pesin), the fraction of positive exponents,
the Kaplan-Yorke dimension, and batch-means standard errors: the measured steps are cut into
:data:`BLOCKS` consecutive blocks, each block's spectrum is measured on its own, and the
standard error of a figure is the spread of its block values over ``sqrt(BLOCKS)``.  The
default warm-up is shared with the decay fit, so ``gradflow decay``, ``gradflow lyapunov`` and
the report read lambda_1 over the same steps.
"""

import math

import numpy as np

from ..errors import GradflowError

__all__ = ["BLOCKS", "MIN_ROWS", "block_spectra", "convergence_warnings", "default_warmup",
           "entropy_rate", "kaplan_yorke_dimension", "lambda_1_reading", "positive_fraction",
           "standard_error"]

#: Blocks of the batch-means error.
BLOCKS = 10
#: Fewest measured re-orthonormalisations for a batch-means error (two per block).
MIN_ROWS = 2 * BLOCKS
#: lambda_1's standard error, relative to |lambda_1|, above which the run is too short.
RELATIVE_ERROR = 0.1
#: ... unless the error is below this (per step): an exponent at 0 converges to 0.
ABSOLUTE_ERROR = 1e-3


def default_warmup(steps):
    """The default warm-up of a run of T steps: its first quarter (at least 1 step, T >= 2).

    The same transient the decay fit skips (its first lag), so the lambda_1 of ``gf.decay``,
    the report and ``gradflow lyapunov`` agree by default.
    """
    return max(1, steps // 4) if steps >= 2 else 0


def lambda_1_reading(lam):
    """What lambda_1 says about perturbations (and gradients) along a trajectory."""
    if lam > 0:
        return "chaotic: nearby trajectories separate, gradients can grow"
    if lam < 0:
        return "contracting: perturbations and gradients shrink"
    return "neutral"


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
    try:
        lam = np.asarray(exponents, dtype=np.float64) if exponents is not None else None
    except (TypeError, ValueError):
        lam = None
    # -inf is an exponent (a direction the Jacobians annihilate); NaN and +inf are not
    if lam is None or lam.ndim != 1 or np.isnan(lam).any() or np.isposinf(lam).any():
        raise GradflowError(f"exponents must be a sequence of numbers below +inf; got "
                            f"{exponents!r}")
    lam = np.sort(lam)[::-1]
    if lam.size == 0 or lam[0] < 0:
        return 0.0
    partial = np.cumsum(lam)
    j = int(np.flatnonzero(partial >= 0)[-1]) + 1
    if j == lam.size:
        return float(lam.size) if complete else None
    return j + float(partial[j - 1]) / abs(float(lam[j]))


def entropy_rate(exponents, *, complete=True):
    """The sum of the positive exponents (nats per step; Pesin's bound on the KS entropy).

    None when the spectrum is cut off while still positive (more exponents are needed).
    """
    lam = np.asarray(exponents, dtype=np.float64)
    if lam.size and not complete and lam.min() > 0:
        return None
    return float(np.sum(lam[lam > 0]))


def positive_fraction(exponents, state_size):
    """The fraction of the m exponents that are positive (None if the k given do not tell)."""
    lam = np.asarray(exponents, dtype=np.float64)
    if lam.size < state_size and lam.size and lam.min() > 0:
        return None
    return int(np.count_nonzero(lam > 0)) / state_size


def block_spectra(log_r, qr_steps, warmup):
    """The spectrum of each of :data:`BLOCKS` consecutive blocks of the measured steps.

    Parameters
    ----------
    log_r : ndarray, shape (R, k)
        ``log|R_ii|`` of every measured factorisation.
    qr_steps : ndarray of int, shape (R,)
        The step of each factorisation.
    warmup : int
        The last step before the first measured one.

    Returns
    -------
    ndarray, shape (BLOCKS, k), or None
        Each row descending; None with fewer than :data:`MIN_ROWS` factorisations.
    """
    rows = log_r.shape[0]
    if rows < MIN_ROWS:
        return None
    ends = np.concatenate([[warmup], qr_steps])
    out = []
    for group in np.array_split(np.arange(rows), BLOCKS):
        steps = ends[group[-1] + 1] - ends[group[0]]
        with np.errstate(invalid="ignore"):
            out.append(np.sort(log_r[group].sum(axis=0) / steps)[::-1])
    return np.array(out)


def standard_error(values):
    """The batch-means standard error of one figure's block values, or None if not finite."""
    if values is None or any(v is None for v in values):
        return None
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return None
    return float(np.std(v, ddof=1) / math.sqrt(v.size))


def convergence_warnings(lambda_1, lambda_1_stderr, rows, measured_steps):
    """Why the run may be too short for lambda_1 to have converged, as sentences."""
    if rows < MIN_ROWS:
        return (f"too short to tell convergence: {rows} measured re-orthonormalisations over "
                f"{measured_steps} steps, fewer than the {MIN_ROWS} a batch-means error needs; "
                "use more steps",)
    if lambda_1_stderr is None or not math.isfinite(lambda_1):
        return ()
    if lambda_1_stderr > max(RELATIVE_ERROR * abs(lambda_1), ABSOLUTE_ERROR):
        return (f"lambda_1 = {lambda_1:+.3g} +/- {lambda_1_stderr:.2g} has not converged over "
                f"{measured_steps} steps: its standard error exceeds "
                f"{RELATIVE_ERROR:.0%} of |lambda_1|; use more steps",)
    return ()
