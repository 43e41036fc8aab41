"""Lyapunov spectra of a batch of sequences: one spectrum per sequence, and their spread.

Each sequence of a batch (B, T, d), or of a padded batch over its own valid steps, gets its own
spectrum along its own trajectory (:func:`~gradflow.analysis.lyapunov.lyapunov`, the same
seeded initial frame for every sequence); the batch reports the per-exponent median over the
sequences with its quartiles, and for lambda_1 also the mean and its standard error across the
sequences (independent runs, so the plain standard error of their mean).  The spectra come
from :func:`~gradflow.analysis.lyapunov.lyapunov` given a batch.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._json import number, numbers
from .lyapunov_statistics import lambda_1_reading

__all__ = ["LyapunovBatchResult"]

#: The quartiles reported beside each exponent's median.
QUARTILES = (0.25, 0.75)


@dataclass(frozen=True)
class LyapunovBatchResult:
    """The k largest Lyapunov exponents of every sequence of a batch.

    Attributes
    ----------
    sequences : tuple of LyapunovResult
        One spectrum per sequence, in batch order (each over its own valid steps).
    lengths : ndarray of int, shape (B,), or None
        A padded batch's valid lengths.
    """

    sequences: tuple
    lengths: np.ndarray | None = None

    @property
    def batch(self):
        """Number of sequences B."""
        return len(self.sequences)

    @property
    def model(self):
        """The analysed cell, in words."""
        return self.sequences[0].model

    @property
    def cell(self):
        """The cell's name."""
        return self.sequences[0].cell

    @property
    def state_size(self):
        """M."""
        return self.sequences[0].state_size

    @property
    def k(self):
        """Number of exponents of every sequence."""
        return self.sequences[0].k

    @property
    def steps(self):
        """Each sequence's steps T_b (B,)."""
        return np.array([r.steps for r in self.sequences])

    @property
    def warmups(self):
        """Each sequence's warm-up (B,)."""
        return np.array([r.warmup for r in self.sequences])

    @property
    def exponents_by_sequence(self):
        """(B, k): row b is sequence b's spectrum, descending."""
        return np.stack([r.exponents for r in self.sequences])

    @property
    def exponents(self):
        """Per-index median over the sequences (k,), descending as every row is."""
        return np.median(self.exponents_by_sequence, axis=0)

    @property
    def exponents_quartiles(self):
        """(2, k): the per-index quartiles over the sequences (:data:`QUARTILES`).

        Linear interpolation between order statistics; between two ``-inf`` (directions
        annihilated in both sequences) the quartile is ``-inf``, never NaN.
        """
        with np.errstate(invalid="ignore"):
            out = np.quantile(self.exponents_by_sequence, QUARTILES, axis=0)
        out[np.isnan(out)] = -np.inf  # inf - inf in the interpolation: the exponents hold no NaN
        return out

    @property
    def lambda_1_by_sequence(self):
        """Each sequence's lambda_1 (B,)."""
        return self.exponents_by_sequence[:, 0]

    @property
    def lambda_1(self):
        """The median of the sequences' lambda_1."""
        return float(self.exponents[0])

    @property
    def lambda_1_mean(self):
        """The mean of the sequences' lambda_1 (-inf if any sequence annihilates the frame)."""
        return float(np.mean(self.lambda_1_by_sequence))

    @property
    def lambda_1_stderr(self):
        """Standard error of :attr:`lambda_1_mean` across the sequences, or None (B < 2)."""
        values = self.lambda_1_by_sequence
        if values.size < 2 or not np.all(np.isfinite(values)):
            return None
        return float(np.std(values, ddof=1) / math.sqrt(values.size))

    @property
    def reading(self):
        """What the median lambda_1 says, and how many sequences are chaotic."""
        values = self.lambda_1_by_sequence
        return (f"{lambda_1_reading(self.lambda_1)} (lambda_1 > 0 in {int(np.sum(values > 0))} "
                f"of {values.size} sequences)")

    @property
    def warnings(self):
        """Each sequence's convergence warnings, prefixed with its index."""
        return [f"sequence {b}: {w}" for b, r in enumerate(self.sequences) for w in r.warnings]

    def to_dict(self):
        """The JSON document of ``gradflow lyapunov --json`` for a batch."""
        lower, upper = self.exponents_quartiles
        lam = self.lambda_1
        return {
            "cell": self.cell,
            "model": self.model,
            "state_size": self.state_size,
            "batch": self.batch,
            "lengths": None if self.lengths is None else [int(v) for v in self.lengths],
            "steps": [int(v) for v in self.steps],
            "warmup": [int(v) for v in self.warmups],
            "interval": self.sequences[0].interval,
            "k": self.k,
            "exponents": numbers(self.exponents),
            "exponents_q25": numbers(lower),
            "exponents_q75": numbers(upper),
            "lambda_1": number(lam),
            "exp_lambda_1": number(math.exp(lam)) if lam < 700 else None,
            "lambda_1_mean": number(self.lambda_1_mean),
            "lambda_1_stderr": number(self.lambda_1_stderr),
            "reading": self.reading,
            "warnings": self.warnings,
            "sequences": [r.to_dict() for r in self.sequences],
        }
