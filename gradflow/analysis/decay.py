"""Gradient decay: the spectral norm of ``ds_T/ds_{T-k}`` for every lag k, and what it says."""

import math
from dataclasses import dataclass, field

import numpy as np

from ..activations import activation_bound
from ..io.arrays import as_inputs, as_state
from ._checks import fraction, quantile_levels
from ._json import level_key, number, numbers

#: Default quantile levels of the bands of a batch.
BAND_LEVELS = (0.1, 0.25, 0.75, 0.9)


@dataclass(frozen=True)
class CurveFigures:
    """What one log10-norm-versus-lag curve says: horizons, fitted rate, verdict.

    Attributes
    ----------
    gradient_horizon : int or None
        First lag whose norm is below the threshold.
    growth_horizon : int or None
        First lag whose norm is above 1 / threshold.
    log10_decay_rate : float or None
        Least-squares slope of the curve against lag over ``fit_lags``.
    decay_factor : float or None
        ``10 ** log10_decay_rate``, the per-step factor.
    fit_lags : tuple of int
        First and last lag of the fit.
    verdict : str
        ``"vanishing"``, ``"exploding"`` or ``"stable"``.
    """

    gradient_horizon: int | None
    growth_horizon: int | None
    log10_decay_rate: float | None
    decay_factor: float | None
    fit_lags: tuple
    verdict: str

    def to_dict(self):
        """JSON form."""
        return {
            "gradient_horizon": self.gradient_horizon,
            "growth_horizon": self.growth_horizon,
            "log10_decay_rate": number(self.log10_decay_rate),
            "decay_factor": number(self.decay_factor),
            "fit_lags": list(self.fit_lags),
            "verdict": self.verdict,
        }


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
    threshold : float
        The vanishing threshold; ``1 / threshold`` is the exploding one.
    gradient_horizon : int or None
        First lag whose norm is below ``threshold`` (None: never within T).
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
        ``"vanishing"``, ``"exploding"`` or ``"stable"`` over the measured horizon.
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
    interpretation: tuple = ()

    @property
    def steps(self):
        """The horizon T."""
        return int(self.lags[-1])

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

    def to_dict(self):
        """The JSON document of ``gradflow decay --json`` (exact zeros become ``None``)."""

        def clean(a):
            return None if a is None else [None if not np.isfinite(v) else float(v) for v in a]

        doc = {
            "cell": self.cell,
            "model": self.model,
            "steps": self.steps,
            "lags": [int(k) for k in self.lags],
            "log10_norm2": clean(self.log10_norm2),
        }
        if self.log10_norm2_h is not None:
            doc["log10_norm2_h"] = clean(self.log10_norm2_h)
            doc["log10_norm2_c"] = clean(self.log10_norm2_c)
        doc.update(
            threshold=self.threshold,
            gradient_horizon=self.gradient_horizon,
            growth_horizon=self.growth_horizon,
            log10_decay_rate=self.log10_decay_rate,
            decay_factor=self.decay_factor,
            fit_lags=list(self.fit_lags),
            bound=self.bound,
            verdict=self.verdict,
            lambda_1=number(self.lambda_1),
            exp_lambda_1=number(self.exp_lambda_1),
            effective_bound=number(self.effective_bound),
            interpretation=list(self.interpretation),
        )
        if self.log10_norm2_h is not None:
            doc["hidden_path"] = self.hidden_path.to_dict()
            doc["cell_path"] = self.cell_path.to_dict()
        return doc


def suffix_log10_norms(model, xs, s0=None):
    """Raw all-lag norms: ``(log10_norm2, log10_norm2_h, log10_norm2_c)``, blocks LSTM only.

    Parameters
    ----------
    model : Cell
    xs : ndarray, shape (T, d)
    s0 : ndarray, shape (m,), optional

    Returns
    -------
    tuple of ndarray, each shape (T + 1,) (or None for the blocks of other cells)
    """
    from ..kernels import chains

    xs = as_inputs(xs, model.inputs, batch=False)
    S = model._trajectory(xs, as_state(s0, model.state_size))
    T = xs.shape[0]
    full = np.empty(T + 1)
    lstm = model.cell == "lstm"
    n_block = model.hidden if lstm else 0
    out_h = np.empty(T + 1 if lstm else 1)
    out_c = np.empty(T + 1 if lstm else 1)
    chains.suffix_log10_norms(*model.kernel_args(), xs, S, n_block, full, out_h, out_c)
    return full, (out_h if lstm else None), (out_c if lstm else None)


def pascanu_bound(model):
    """``gamma * sigma_max(W_h)`` for a vanilla RNN, None for gated cells."""
    if model.cell != "rnn":
        return None
    gamma = activation_bound(model.activation).gamma
    return float(gamma * np.linalg.norm(model["W_h"], 2))


def _first(mask):
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _fit_start(T):
    """First lag of the fit: the first quarter of the lags is taken as transient."""
    return max(1, T // 4) if T >= 2 else 0


def curve_figures(curve, threshold):
    """Horizons, fitted per-step rate and verdict of one log10-norm-versus-lag curve.

    Parameters
    ----------
    curve : ndarray, shape (T + 1,)
        ``log10`` of a norm at lags 0..T (``-inf`` for exact zeros).
    threshold : float
        Vanishing threshold in (0, 1); ``1 / threshold`` is the growth one.

    Returns
    -------
    CurveFigures
    """
    curve = np.asarray(curve, dtype=np.float64)
    T = curve.size - 1
    lags = np.arange(T + 1)
    log_thr = math.log10(threshold)
    horizon = _first(curve < log_thr)
    growth = _first(curve > -log_thr)
    k0 = _fit_start(T)
    sel = lags[k0:][np.isfinite(curve[k0:])]
    rate = factor = None
    if sel.size >= 2:
        slope = float(np.polyfit(sel.astype(float), curve[sel], 1)[0])
        rate = slope
        factor = float(10.0**slope) if slope < 300 else None
    if horizon is not None and (rate is None or rate < 0 or curve[-1] < log_thr):
        verdict = "vanishing"
    elif growth is not None:
        verdict = "exploding"
    else:
        verdict = "stable"
    return CurveFigures(horizon, growth, rate, factor, (int(k0), int(T)), verdict)


def _factor_words(factor):
    if factor is None:
        return "beyond float64 range"
    return f"{factor:.4g}"


def _interpret(figures, full, threshold, bound, effective_bound, lambda_1, paths=None, *,
               where="along the same trajectory"):
    """Sentences reading the figures of one curve against the bounds and lambda_1."""
    lines = []
    T = full.size - 1
    thr = f"{threshold:g}"
    if figures.gradient_horizon is not None:
        lines.append(f"{figures.verdict}: the gradient norm falls below {thr} at lag "
                     f"{figures.gradient_horizon} of {T}")
    elif figures.growth_horizon is not None:
        lines.append(f"{figures.verdict}: the gradient norm exceeds {1 / threshold:g} at lag "
                     f"{figures.growth_horizon} of {T}")
    else:
        lines.append(f"{figures.verdict}: the gradient norm stays within [{thr}, "
                     f"{1 / threshold:g}] for all {T} lags")
    rate = figures.log10_decay_rate
    if rate is not None:
        lo, hi = figures.fit_lags
        lines.append(f"measured: a factor of {_factor_words(figures.decay_factor)} per step "
                     f"({rate:+.4g} decades per step, fitted over lags {lo}..{hi})")
    if lambda_1 is not None:
        if math.isfinite(lambda_1):
            lyap = lambda_1 / math.log(10.0)
            growth = math.exp(lambda_1) if lambda_1 < 700 else None
            text = (f"lambda_1 = {lambda_1:+.4g} per step {where}: exp(lambda_1) = "
                    f"{_factor_words(growth)} per step, the rate a generic perturbation grows "
                    "or shrinks at")
            if rate is not None:
                text += (f"; the measured rate differs from it by {rate - lyap:+.3g} decades "
                         "per step")
            lines.append(text)
        else:
            lines.append("lambda_1 = -inf: the step Jacobians annihilate every direction")
    if bound is not None:
        log_bound = math.log10(bound) if bound > 0 else -math.inf
        if bound < 1:
            text = (f"Pascanu bound gamma*sigma_max(W_h) = {bound:.4g} < 1: vanishing is "
                    f"guaranteed, the norm at lag k is at most {bound:.4g}^k")
        else:
            text = (f"Pascanu bound gamma*sigma_max(W_h) = {bound:.4g} >= 1: exploding is "
                    "possible, not guaranteed")
        if rate is not None and math.isfinite(log_bound):
            text += f"; the measured rate is {log_bound - rate:.3g} decades per step below it"
        lines.append(text)
    if effective_bound is not None:
        if effective_bound > 0:
            lines.append(f"largest step Jacobian norm met, max_t ||J_t||_2 = "
                         f"{effective_bound:.4g}: the norm at lag k is at most "
                         f"{effective_bound:.4g}^k on the inputs given")
        else:
            lines.append("every step Jacobian is exactly zero on this trajectory")
    if paths is not None:
        hidden, cell = paths
        lines.append(f"LSTM paths: the cell path dc_T/dc_(T-k) {_path_words(cell, thr)}; "
                     f"the hidden path dh_T/dh_(T-k) {_path_words(hidden, thr)}")
    return tuple(lines)


def _path_words(figures, thr):
    if figures.gradient_horizon is not None:
        words = f"falls below {thr} at lag {figures.gradient_horizon}"
    else:
        words = f"stays above {thr}"
    if figures.decay_factor is not None:
        words += f" (factor {figures.decay_factor:.4g} per step)"
    return words


def _largest_exponent(model, xs, S, warmup):
    from .lyapunov import lyapunov_spectrum

    exponents, _, _ = lyapunov_spectrum(model, xs, S, 1, warmup, 1, 0)
    return float(exponents[0])


def _result(model, curves, threshold, figures, bound, lambda_1, effective, interpretation):
    """A DecayResult from (full, h-block, c-block) curves and their figures."""
    full, block_h, block_c = curves
    return DecayResult(
        model=model.describe(),
        cell=model.cell,
        lags=np.arange(full.size),
        log10_norm2=full,
        log10_norm2_h=block_h,
        log10_norm2_c=block_c,
        threshold=threshold,
        gradient_horizon=figures.gradient_horizon,
        growth_horizon=figures.growth_horizon,
        log10_decay_rate=figures.log10_decay_rate,
        decay_factor=figures.decay_factor,
        fit_lags=figures.fit_lags,
        bound=bound,
        verdict=figures.verdict,
        lambda_1=lambda_1,
        effective_bound=effective,
        interpretation=tuple(interpretation),
    )


def _single(model, xs, s0, threshold, with_effective_bound, computed=None):
    """One sequence's result; ``computed`` = (S, full, block_h, block_c) skips the sweep."""
    from .spectrum import _norms_along

    T = xs.shape[0]
    lstm = model.cell == "lstm"
    if computed is None:
        S = model._trajectory(xs, s0)
        full = np.empty(T + 1)
        block_h = np.empty(T + 1 if lstm else 1)
        block_c = np.empty(T + 1 if lstm else 1)
        _suffix_norms(model, xs, S, full, block_h, block_c)
    else:
        S, full, block_h, block_c = computed
    if not lstm:
        block_h = block_c = None
    figures = curve_figures(full, threshold)
    lambda_1 = _largest_exponent(model, xs, S, figures.fit_lags[0])
    effective = float(np.max(_norms_along(model, xs, S))) if with_effective_bound else None
    bound = pascanu_bound(model)
    paths = None
    if lstm:
        paths = (curve_figures(block_h, threshold), curve_figures(block_c, threshold))
    return _result(model, (full, block_h, block_c), threshold, figures, bound, lambda_1,
                   effective,
                   _interpret(figures, full, threshold, bound, effective, lambda_1, paths))


def _suffix_norms(model, xs, S, full, block_h, block_c):
    from ..kernels import chains

    n_block = model.hidden if model.cell == "lstm" else 0
    chains.suffix_log10_norms(*model.kernel_args(), xs, S, n_block, full, block_h, block_c)


def _quantiles(curves, levels):
    """Per-lag quantiles of log10 norms; a band touching an exact zero reads -inf."""
    with np.errstate(invalid="ignore"):
        q = np.quantile(curves, levels, axis=0)
    q[np.isnan(q)] = -np.inf
    return q


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
    """

    summary: DecayResult
    sequences: tuple
    quantile_levels: tuple
    log10_norm2_quantiles: np.ndarray
    log10_norm2_h_quantiles: np.ndarray | None = None
    log10_norm2_c_quantiles: np.ndarray | None = None

    def __getattr__(self, name):
        if name.startswith("__") or name == "summary":
            raise AttributeError(name)
        return getattr(self.summary, name)

    @property
    def batch(self):
        """Number of sequences B."""
        return len(self.sequences)

    @property
    def curves(self):
        """All per-sequence ``log10_norm2`` curves, shape (B, T + 1)."""
        return np.stack([r.log10_norm2 for r in self.sequences])

    def to_dict(self):
        """The JSON document of ``gradflow decay --json`` for batch inputs.

        Every key of a single sequence's document is present and describes the median curve;
        ``log10_norm2_quantiles`` maps each level to its band and ``sequences`` holds one
        document per sequence.
        """
        doc = self.summary.to_dict()
        doc["batch"] = self.batch
        doc["median_over_batch"] = True
        doc["quantile_levels"] = list(self.quantile_levels)

        def bands(q):
            return {level_key(v): numbers(row)
                    for v, row in zip(self.quantile_levels, q, strict=True)}

        doc["log10_norm2_quantiles"] = bands(self.log10_norm2_quantiles)
        if self.log10_norm2_h_quantiles is not None:
            doc["log10_norm2_h_quantiles"] = bands(self.log10_norm2_h_quantiles)
            doc["log10_norm2_c_quantiles"] = bands(self.log10_norm2_c_quantiles)
        per = []
        for r in self.sequences:
            entry = {"log10_norm2": numbers(r.log10_norm2)}
            if r.log10_norm2_h is not None:
                entry["log10_norm2_h"] = numbers(r.log10_norm2_h)
                entry["log10_norm2_c"] = numbers(r.log10_norm2_c)
            entry.update(
                gradient_horizon=r.gradient_horizon,
                growth_horizon=r.growth_horizon,
                log10_decay_rate=number(r.log10_decay_rate),
                decay_factor=number(r.decay_factor),
                verdict=r.verdict,
                lambda_1=number(r.lambda_1),
                effective_bound=number(r.effective_bound),
            )
            per.append(entry)
        doc["sequences"] = per
        return doc


def _batch_sweeps(model, xs, s0, threads):
    """Trajectories and all-lag norms of every sequence, in parallel (one sequence a thread)."""
    from .. import _threads
    from ..errors import TrajectoryOverflowError
    from ..kernels import chains
    from ..resources import require_memory

    B, T, _ = xs.shape
    m = model.state_size
    lstm = model.cell == "lstm"
    require_memory(8 * B * (T + 1) * (m + 3), f"the trajectories of a batch of {B} x {T} steps")
    S = np.empty((B, T + 1, m))
    S[:, 0] = s0
    bad = np.empty(B, dtype=np.int64)
    full = np.empty((B, T + 1))
    blocks = (B, T + 1) if lstm else (B, 1)
    out_h = np.empty(blocks)
    out_c = np.empty(blocks)
    args = model.kernel_args()
    with _threads.threads(threads):
        chains.batch_run(*args, xs, S, bad)
        failed = np.flatnonzero(bad >= 0)
        if failed.size:
            i = int(failed[0])
            raise TrajectoryOverflowError(
                f"the trajectory of sequence {i} of {model.describe()} overflows float64 at "
                f"step {int(bad[i])} of {T}; lower the gain or shorten the sequence",
                step=int(bad[i]))
        chains.batch_suffix_log10_norms(*args, xs, S, model.hidden if lstm else 0, full,
                                        out_h, out_c)
    return [(S[i], full[i], out_h[i], out_c[i]) for i in range(B)]


def _batch(model, xs, s0, threshold, levels, with_effective_bound, threads=None):
    s0 = as_state(s0, model.state_size, batch=xs.shape[0])
    computed = _batch_sweeps(model, xs, s0, threads)
    sequences = tuple(_single(model, x, s, threshold, with_effective_bound, c)
                      for x, s, c in zip(xs, s0, computed, strict=True))
    curves = np.stack([r.log10_norm2 for r in sequences])
    median = np.median(curves, axis=0)
    median[np.isnan(median)] = -np.inf
    lstm = model.cell == "lstm"
    h = c = qh = qc = None
    if lstm:
        hs = np.stack([r.log10_norm2_h for r in sequences])
        cs = np.stack([r.log10_norm2_c for r in sequences])
        h = _quantiles(hs, [0.5])[0]
        c = _quantiles(cs, [0.5])[0]
        qh = _quantiles(hs, levels)
        qc = _quantiles(cs, levels)
    figures = curve_figures(median, threshold)
    lambdas = np.array([r.lambda_1 for r in sequences])
    lambda_1 = float(np.median(lambdas))
    if math.isnan(lambda_1):
        lambda_1 = -math.inf
    effective = max(r.effective_bound for r in sequences) if with_effective_bound else None
    bound = pascanu_bound(model)
    paths = None
    if lstm:
        paths = (curve_figures(h, threshold), curve_figures(c, threshold))
    lines = list(_interpret(figures, median, threshold, bound, effective, lambda_1, paths,
                            where="(median over the sequences)"))
    lines[0] = "median over the batch: " + lines[0]
    verdicts = [r.verdict for r in sequences]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("vanishing", "exploding", "stable")
                       if v in verdicts)
    horizons = [r.gradient_horizon for r in sequences if r.gradient_horizon is not None]
    text = f"per sequence ({len(sequences)}): {counts}"
    if horizons:
        text += (f"; gradient horizons {min(horizons)}..{max(horizons)} "
                 f"(median {float(np.median(horizons)):g})")
    lines.insert(1, text)
    summary = _result(model, (median, h, c), threshold, figures, bound, lambda_1, effective,
                      tuple(lines))
    return DecayBatchResult(
        summary=summary,
        sequences=sequences,
        quantile_levels=levels,
        log10_norm2_quantiles=_quantiles(curves, levels),
        log10_norm2_h_quantiles=qh,
        log10_norm2_c_quantiles=qc,
    )


def decay(model, xs, s0=None, *, threshold=1e-3, quantiles=BAND_LEVELS, effective_bound=False,
          threads=None):
    """Spectral norm of ``ds_T/ds_{T-k}`` for every lag k = 0..T, exact at any T, and its reading.

    The backward product is renormalised by a power of two at every step with the exponent
    carried as an integer, so norms like 10^-5000 or 10^+5000 are exact where the plain product
    would under- or overflow float64.  The curve is then read out: the gradient horizon (first
    lag below ``threshold``; growth: above ``1 / threshold``), the per-step decay factor fitted
    after the first quarter of the lags, and a verdict, compared with Pascanu et al.'s bound
    (vanilla RNN), with ``exp(lambda_1)``, the largest Lyapunov exponent's per-step factor, and
    on request with the largest step Jacobian norm met, which bounds every lag for any cell.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs: one sequence, or a batch of B.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default; one state is shared by a whole batch).
    threshold : float, optional
        Vanishing threshold for the gradient horizon (1e-3); 1/threshold for growth.
    quantiles : sequence of float, optional
        Batch only: levels of the per-lag bands, in (0, 1).
    effective_bound : bool, optional
        Also find ``max_t ||J_t||_2`` along the trajectory (the bound of every lag for gated
        cells too).  Off by default: one extra eigenvalue problem per step costs more than
        the all-lag sweep itself.
    threads : int, optional
        Batch inputs only: sequences run in parallel on this many threads (default: all
        cores), each with a single-threaded BLAS.

    Returns
    -------
    DecayResult or DecayBatchResult
        A :class:`DecayBatchResult` for batch inputs.

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    Engelken, Wolf & Abbott (2023), "Lyapunov spectra of chaotic recurrent neural networks",
    Physical Review Research 5, 043044.
    """
    threshold = fraction(threshold, "threshold")
    xs = as_inputs(xs, model.inputs)
    with_bound = bool(effective_bound)
    if xs.ndim == 3:
        return _batch(model, xs, s0, threshold, quantile_levels(quantiles), with_bound, threads)
    return _single(model, xs, as_state(s0, model.state_size), threshold, with_bound)
