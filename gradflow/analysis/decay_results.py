"""The results of :func:`~gradflow.decay`: one sequence's curve and figures, a batch's bands.

Each result has one serialiser, :meth:`DecayResult.to_json`, which gives any of its figures as
JSON values (non-finite numbers as None); every document that carries decay figures (``gradflow
decay --json``, ``gradflow compare``, the training snapshots, the sweep's rows) is built with it.
"""

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._json import document, level_key, numbers
from .decay_reading import curve_figures

#: The curves of a result: the whole state, (LSTM only) its hidden and cell blocks, then what
#: the output sees: its sensitivity to the state (LSTM: and its cell block) and to the inputs.
CURVES = ("log10_norm2", "log10_norm2_h", "log10_norm2_c", "log10_norm2_output",
          "log10_norm2_output_c", "log10_norm2_input")

#: The headline figures of a curve, as a sweep row and the per-sequence entries list them.
HEADLINE = ("gradient_horizon", "growth_horizon", "log10_decay_rate", "decay_factor", "verdict")

#: The evidence of the verdict (:data:`~gradflow.analysis.decay_reading.VERDICTS`): the fitted
#: rate's standard error, the projected horizon and the verdict in words.
EVIDENCE = ("log10_decay_rate_stderr", "decay_factor_stderr", "projected_horizon",
            "verdict_text")

#: Keys of the document of ``gradflow decay --json``, in order.
DOCUMENT_KEYS = ("cell", "model", "steps", "lags", *CURVES, "threshold", "gradient_horizon",
                 "growth_horizon", "log10_decay_rate", "decay_factor", "fit_lags", "bound",
                 "verdict", "lambda_1", "exp_lambda_1", "lambda_1_stderr", "warmup",
                 "effective_bound", "interpretation",
                 "hidden_path", "cell_path", "full_state", "log10_norm2_output_layers",
                 *EVIDENCE)

#: Keys of each entry of ``sequences`` in the document of a batch.
SEQUENCE_KEYS = (*CURVES, *HEADLINE, "lambda_1", "effective_bound", *EVIDENCE)

#: Entries that only LSTM results have; other cells' documents leave them out.
_BLOCKS_ONLY = frozenset({"log10_norm2_h", "log10_norm2_c", "hidden_path", "cell_path",
                          "log10_norm2_output_c", "log10_norm2_output_layers"})


@dataclass(frozen=True)
class DecayResult:
    """Per-lag norms of the backward Jacobian products and what they say.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    lags : ndarray of int, shape (T + 1,)
        ``0, 1, ..., T``.
    log10_norm2 : ndarray, shape (T + 1,)
        ``log10 ||ds_T/ds_{T-k}||_2``; ``-inf`` marks an exactly zero product.
    log10_norm2_h, log10_norm2_c : ndarray, shape (T + 1,), or None
        LSTM only: the norms of the blocks ``dh_T/dh_{T-k}`` and ``dc_T/dc_{T-k}``.
    log10_norm2_output : ndarray, shape (T + 1,)
        ``log10 ||dy_T/ds_{T-k}||_2`` with y_T = h_T: what a loss on the final hidden state
        sees.  The headline figures (horizons, rate, verdict) read this curve.  It equals
        ``log10_norm2`` where the state is h alone (RNN, GRU).
    log10_norm2_output_c : ndarray, shape (T + 1,), or None
        LSTM only: ``log10 ||dh_T/dc_{T-k}||_2``, the output's view of the cell path.
    log10_norm2_input : ndarray, shape (T,)
        ``log10 ||dy_T/dx_{T-k}||_2``, k = 0..T-1: the sensitivity to the input of step T-k,
        which decides whether a dependency k steps back can be learned.
    log10_norm2_output_layers : ndarray, shape (L, T + 1), or None
        Networks only: the part of ``dy_T/ds_{T-k}`` on each layer's own state.
    threshold : float
        The vanishing threshold; ``1 / threshold`` is the exploding one.
    gradient_horizon : int or None
        First lag whose output sensitivity is below ``threshold`` (None: never within T).
    growth_horizon : int or None
        First lag whose norm is above ``1 / threshold``.
    log10_decay_rate : float or None
        Least-squares slope of ``log10_norm2`` against lag over ``fit_lags``, i.e. the
        log10 of the per-step decay factor.
    decay_factor : float or None
        ``10 ** log10_decay_rate``: < 1 shrinks, > 1 grows, per step.
    fit_lags : tuple of int
        First and last lag of the fit (the first quarter of the lags is taken as transient).
    bound : float or None
        Pascanu et al.'s per-step bound ``gamma * sigma_max(W_h)`` (RNN only): the norm at lag
        k never exceeds ``bound ** k``.
    verdict : str
        One of :data:`~gradflow.analysis.decay_reading.VERDICTS`, read from the output
        sensitivity: its crossing of the threshold within T, else its fitted rate and that
        rate's standard error.  The evidence is in ``verdict_text``,
        ``decay_factor_stderr`` and ``projected_horizon`` (properties, read from the same
        curve).
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    lambda_1 : float or None
        The largest Lyapunov exponent along the same trajectory (natural log per step, measured
        after the same transient as the fit); ``exp(lambda_1)`` is the per-step factor the
        fitted ``decay_factor`` approaches for long horizons.  ``-inf`` when a step annihilates
        every direction.
    effective_bound : float or None
        ``max_t ||J_t||_2`` over the trajectory: the norm at lag k never exceeds its k-th power
        (None unless requested).
    lambda_1_stderr : float or None
        Batch-means standard error of ``lambda_1``
        (:mod:`~gradflow.analysis.lyapunov_statistics`); None for a run too short to tell.
    interpretation : tuple of str
        The figures above read out in sentences.
    """

    model: str
    lags: np.ndarray
    log10_norm2: np.ndarray
    log10_norm2_h: np.ndarray | None
    log10_norm2_c: np.ndarray | None
    threshold: float
    gradient_horizon: int | None
    growth_horizon: int | None
    log10_decay_rate: float | None
    decay_factor: float | None
    fit_lags: tuple
    bound: float | None
    verdict: str
    cell: str = field(default="")
    lambda_1: float | None = None
    effective_bound: float | None = None
    lambda_1_stderr: float | None = None
    interpretation: tuple = ()
    log10_norm2_output: np.ndarray | None = None
    log10_norm2_output_c: np.ndarray | None = None
    log10_norm2_input: np.ndarray | None = None
    log10_norm2_output_layers: np.ndarray | None = None

    @cached_property
    def headline(self):
        """:class:`CurveFigures` of the curve the headline reads (``log10_norm2_output``)."""
        curve = self.log10_norm2_output
        return curve_figures(self.log10_norm2 if curve is None else curve, self.threshold)

    @property
    def log10_decay_rate_stderr(self):
        """Standard error of ``log10_decay_rate`` from the fit's residuals (None: < 3 lags)."""
        return self.headline.log10_decay_rate_stderr

    @property
    def decay_factor_stderr(self):
        """Standard error of ``decay_factor``."""
        return self.headline.decay_factor_stderr

    @property
    def projected_horizon(self):
        """The lag where the fitted line crosses the threshold; None for a rate of 1."""
        return self.headline.projected_horizon

    @property
    def verdict_text(self):
        """The verdict with its evidence, e.g. ``"vanishing (0.90 +/- 0.01 per step; ...)"``."""
        return self.headline.verdict_text

    @property
    def full_state(self):
        """:class:`CurveFigures` of the full-state curve ``log10_norm2`` (``ds_T/ds_{T-k}``).

        None where the model has no such product (a bidirectional network).
        """
        if self.log10_norm2 is None:
            return None
        return curve_figures(self.log10_norm2, self.threshold)

    @property
    def steps(self):
        """The horizon T."""
        return int(self.lags[-1])

    @property
    def warmup(self):
        """The steps skipped before lambda_1 (and the rate fit) are measured: the first lag."""
        return int(self.fit_lags[0])

    @property
    def exp_lambda_1(self):
        """``exp(lambda_1)``: the asymptotic per-step factor of a generic perturbation."""
        if self.lambda_1 is None or self.lambda_1 > 700:
            return None
        return math.exp(self.lambda_1)

    @property
    def hidden_path(self):
        """LSTM only: :class:`CurveFigures` of the block ``dh_T/dh_{T-k}`` (else None)."""
        if self.log10_norm2_h is None:
            return None
        return curve_figures(self.log10_norm2_h, self.threshold)

    @property
    def cell_path(self):
        """LSTM only: :class:`CurveFigures` of the block ``dc_T/dc_{T-k}`` (else None)."""
        if self.log10_norm2_c is None:
            return None
        return curve_figures(self.log10_norm2_c, self.threshold)

    @property
    def is_zero(self):
        """Boolean mask of the lags whose product is exactly zero."""
        return np.isneginf(self.log10_norm2)

    def to_json(self, *keys):
        """The named figures as one JSON document: the serialiser of every decay document.

        Parameters
        ----------
        *keys : str
            Attribute names (see :data:`DOCUMENT_KEYS`, :data:`HEADLINE`, :data:`CURVES`), in
            the order the document lists them.  The LSTM-only entries (``log10_norm2_h``,
            ``log10_norm2_c``, ``hidden_path``, ``cell_path``) are left out for other cells.

        Returns
        -------
        dict
            Curves as lists with None for exact zeros (never NaN or inf), numbers as floats
            or None, horizons as int or None, the paths as :meth:`CurveFigures.to_dict`.
        """
        return document(self, keys, optional=_BLOCKS_ONLY)

    def to_dict(self):
        """The JSON document of ``gradflow decay --json`` (exact zeros become ``None``)."""
        return self.to_json(*DOCUMENT_KEYS)


@dataclass(frozen=True)
class DecayBatchResult:
    """Gradient decay over a batch of sequences: per-sequence curves, median and bands.

    Attribute access falls through to ``summary``, so ``r.log10_norm2``, ``r.verdict``,
    ``r.gradient_horizon`` and the rest read the median curve's figures, as for one sequence.

    Attributes
    ----------
    summary : DecayResult
        The per-lag median over the batch and its figures (``lambda_1``: the median of the
        sequences'; ``effective_bound``: the largest of them).
    sequences : tuple of DecayResult
        One per sequence.
    quantile_levels : tuple of float
        Levels of the bands.
    log10_norm2_quantiles : ndarray, shape (Q, T + 1)
        Per-lag quantiles of ``log10_norm2`` over the batch.
    log10_norm2_h_quantiles, log10_norm2_c_quantiles : ndarray, shape (Q, T + 1), or None
        LSTM only: the same for the blocks.
    log10_norm2_output_quantiles : ndarray, shape (Q, T + 1), or None
        The same for the output sensitivity, the curve the headline reads.
    lengths : ndarray of int, shape (B,), or None
        A padded batch's valid lengths: sequence b was analysed over its own T_b steps, and
        the per-lag figures at lag k are over the sequences reaching it
        (:attr:`sequences_per_lag`); T is the longest T_b.
    """

    summary: DecayResult
    sequences: tuple
    quantile_levels: tuple
    log10_norm2_quantiles: np.ndarray
    log10_norm2_h_quantiles: np.ndarray | None = None
    log10_norm2_c_quantiles: np.ndarray | None = None
    log10_norm2_output_quantiles: np.ndarray | None = None
    lengths: np.ndarray | None = None

    def __getattr__(self, name):
        if name.startswith("__") or name == "summary":
            raise AttributeError(name)
        return getattr(self.summary, name)

    @property
    def batch(self):
        """Number of sequences B."""
        return len(self.sequences)

    @property
    def sequences_per_lag(self):
        """How many sequences reach each lag k = 0..T (all B unless lengths differ): (T + 1,)."""
        steps = np.array([r.steps for r in self.sequences])
        return (steps[None, :] >= np.arange(self.summary.steps + 1)[:, None]).sum(axis=1)

    @property
    def curves(self):
        """All per-sequence ``log10_norm2`` curves, shape (B, T + 1)."""
        return np.stack([r.log10_norm2 for r in self.sequences])

    def to_dict(self):
        """The JSON document of ``gradflow decay --json`` for batch inputs.

        Every key of a single sequence's document is present and describes the median curve;
        ``log10_norm2_quantiles`` maps each level to its band and ``sequences`` holds one
        document per sequence (:data:`SEQUENCE_KEYS`).
        """
        doc = self.summary.to_dict()
        doc["batch"] = self.batch
        doc["median_over_batch"] = True
        doc["quantile_levels"] = list(self.quantile_levels)
        if self.lengths is not None:
            doc["lengths"] = [int(v) for v in self.lengths]
            doc["sequences_per_lag"] = [int(v) for v in self.sequences_per_lag]

        def bands(q):
            return {level_key(v): numbers(row)
                    for v, row in zip(self.quantile_levels, q, strict=True)}

        if self.log10_norm2_quantiles is not None:
            doc["log10_norm2_quantiles"] = bands(self.log10_norm2_quantiles)
        if self.log10_norm2_output_quantiles is not None:
            doc["log10_norm2_output_quantiles"] = bands(self.log10_norm2_output_quantiles)
        if self.log10_norm2_h_quantiles is not None:
            doc["log10_norm2_h_quantiles"] = bands(self.log10_norm2_h_quantiles)
            doc["log10_norm2_c_quantiles"] = bands(self.log10_norm2_c_quantiles)
        doc["sequences"] = [r.to_json(*SEQUENCE_KEYS) for r in self.sequences]
        return doc
