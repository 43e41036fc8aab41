"""Reading a log10-norm-versus-lag curve: horizons, fitted per-step rate, verdict, sentences."""

import math
from dataclasses import dataclass, replace

import numpy as np

from ._json import document
from .lyapunov_statistics import default_warmup

#: The verdicts a curve can get: the one place they are defined.  A verdict rests on the
#: measured crossing of the threshold where there is one, else on the fitted per-step rate and
#: its standard error (see :func:`curve_figures`).
VERDICTS = {
    "vanishing": "the norm falls below the threshold within T, or the fitted per-step factor "
                 "is below 1 by more than two standard errors (the projected horizon says "
                 "when it would fall below)",
    "exploding": "the norm rises above 1 / threshold within T, or the fitted per-step factor "
                 "is above 1 by more than two standard errors",
    "stable": "the fitted factor is 1 within two standard errors, and even the steepest rate "
              "those allow keeps the norm within [threshold, 1 / threshold] for ten times T",
    "undetermined": "the data cannot tell: too few finite lags to fit a rate with an "
                    "uncertainty, or a factor within two standard errors of 1 whose "
                    "uncertainty is too wide to call it stable",
}

#: Standard errors a fitted rate must differ from 0 by to count as vanishing or exploding.
SIGNIFICANCE = 2.0

#: Rates below this (decades per step) are 0: the rounding of log10 norms, not a decay.
RATE_RESOLUTION = 1e-9

#: "stable" needs the steepest rate within the uncertainty to take this many times T to cross.
STABLE_SPAN = 10

#: The keys of a curve's figures in JSON documents, in order.
CURVE_KEYS = ("gradient_horizon", "growth_horizon", "log10_decay_rate", "decay_factor",
              "fit_lags", "verdict", "log10_decay_rate_stderr", "decay_factor_stderr",
              "projected_horizon", "verdict_text")


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
        One of :data:`VERDICTS`.
    log10_decay_rate_stderr : float or None
        Standard error of the fitted slope, from the fit's residuals (None with fewer than 3
        finite lags in the fit).  The residuals of a curve are correlated from lag to lag,
        so it measures how well a straight line describes the curve, not sampling noise.
    decay_factor_stderr : float or None
        Standard error of ``decay_factor``: ``ln(10) * decay_factor * log10_decay_rate_stderr``.
    projected_horizon : int or None
        Where the fitted line crosses the threshold (``1 / threshold`` for a growing curve):
        the first lag at or past it; None when the rate is indistinguishable from 0.
    verdict_text : str
        The verdict with its evidence, e.g. ``"vanishing (0.90 +/- 0.01 per step; below 0.001
        after ~66 steps, beyond this T = 64)"``.
    """

    gradient_horizon: int | None
    growth_horizon: int | None
    log10_decay_rate: float | None
    decay_factor: float | None
    fit_lags: tuple
    verdict: str
    log10_decay_rate_stderr: float | None = None
    decay_factor_stderr: float | None = None
    projected_horizon: int | None = None
    verdict_text: str = ""

    def to_dict(self):
        """JSON form (``hidden_path`` and ``cell_path`` of the decay document)."""
        return document(self, CURVE_KEYS)


def _first(mask):
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _fit_start(T):
    """First lag of the fit: the first quarter of the lags is taken as transient."""
    return default_warmup(T)


def _line_fit(lags, values):
    """Slope, intercept and the slope's standard error (None under 3 points) of a line fit."""
    x = lags.astype(np.float64)
    x_mean = float(np.mean(x))
    dx = x - x_mean
    sxx = float(dx @ dx)
    slope = float(dx @ (values - np.mean(values)) / sxx)
    intercept = float(np.mean(values)) - slope * x_mean
    if x.size < 3:
        return slope, intercept, None
    residuals = values - (intercept + slope * x)
    return slope, intercept, math.sqrt(float(residuals @ residuals) / (x.size - 2) / sxx)


def _significant(rate, stderr):
    """Whether a fitted rate is told apart from 0 by its standard error."""
    return (rate is not None and stderr is not None and abs(rate) > RATE_RESOLUTION
            and abs(rate) > SIGNIFICANCE * stderr)


def _verdict(curve, horizon, growth, rate, stderr, log_thr):
    T = curve.size - 1
    if horizon is not None and (rate is None or rate < 0 or curve[-1] < log_thr):
        return "vanishing"
    if growth is not None:
        return "exploding"
    if _significant(rate, stderr):
        return "vanishing" if rate < 0 else "exploding"
    if rate is None or stderr is None:
        return "undetermined"
    steepest = abs(rate) + SIGNIFICANCE * stderr
    return "stable" if steepest * STABLE_SPAN * T <= -log_thr else "undetermined"


def _projection(rate, stderr, intercept, log_thr):
    """First lag at or past the fitted line's crossing of the threshold (or its inverse)."""
    if not _significant(rate, stderr):
        return None
    target = log_thr if rate < 0 else -log_thr
    lag = (target - intercept) / rate
    return int(math.ceil(lag)) if lag < 2**62 else None


def curve_figures(curve, threshold):
    """Horizons, fitted per-step rate with its uncertainty, and verdict of one curve.

    The rate is the least-squares slope of the curve against lag after the first quarter of
    the lags (taken as transient), with its standard error from the fit's residuals.  The
    verdict (:data:`VERDICTS`) rests on the measured crossing of the threshold where there is
    one within T; else on that rate: a per-step factor below (above) 1 by more than
    :data:`SIGNIFICANCE` standard errors is vanishing (exploding) with a projected horizon
    beyond T, and one within them is stable only when even the steepest rate they allow
    keeps the norm within the thresholds for :data:`STABLE_SPAN` times T.

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
    rate = factor = stderr = factor_stderr = intercept = None
    if sel.size >= 2:
        rate, intercept, stderr = _line_fit(sel, curve[sel])
        if rate < 300:
            factor = float(10.0**rate)
            if stderr is not None:
                factor_stderr = math.log(10.0) * factor * stderr
    verdict = _verdict(curve, horizon, growth, rate, stderr, log_thr)
    figures = CurveFigures(horizon, growth, rate, factor, (int(k0), int(T)), verdict,
                           stderr, factor_stderr, _projection(rate, stderr, intercept, log_thr))
    return replace(figures, verdict_text=verdict_text(figures, T, threshold))


def _plus_minus(factor, stderr):
    """``"0.90 +/- 0.01"``: the factor to the first significant digit of its error."""
    if factor is None:
        return "beyond float64 range"
    if stderr is None:
        return f"{factor:.4g}"
    if not math.isfinite(stderr):
        return f"{factor:.4g} +/- (beyond float64 range)"
    if stderr == 0:  # as a tiny error reads: an exact fit's error is 0 or 1e-17 by the last bit
        return f"{factor:.4f} +/- 0"
    decimals = max(2, -math.floor(math.log10(stderr)))
    if decimals > 4:
        return f"{factor:.4f} +/- {stderr:.1g}"
    return f"{factor:.{decimals}f} +/- {stderr:.{decimals}f}"


def verdict_text(figures, T, threshold):
    """The verdict with its evidence: the fitted factor and error, and where it crosses.

    Parameters
    ----------
    figures : CurveFigures
    T : int
        The horizon of the curve.
    threshold : float

    Returns
    -------
    str
    """
    thr, inv = f"{threshold:g}", f"{1 / threshold:g}"
    rate = f"{_plus_minus(figures.decay_factor, figures.decay_factor_stderr)} per step"
    verdict, projected = figures.verdict, figures.projected_horizon
    if figures.log10_decay_rate is None:
        rate = f"too few lags to fit a rate over lags {figures.fit_lags[0]}..{T}"
    elif figures.log10_decay_rate_stderr is None:
        rate += " (too few lags for an uncertainty)"
    if verdict == "vanishing" and figures.gradient_horizon is not None:
        return f"vanishing ({rate}; below {thr} at lag {figures.gradient_horizon} of T = {T})"
    if verdict == "exploding" and figures.growth_horizon is not None:
        return f"exploding ({rate}; above {inv} at lag {figures.growth_horizon} of T = {T})"
    if verdict in ("vanishing", "exploding"):
        where = thr if verdict == "vanishing" else inv
        side = "below" if verdict == "vanishing" else "above"
        after = ("beyond the float64 range of lags" if projected is None
                 else f"after ~{projected} steps" + (f", beyond this T = {T}" if projected > T
                                                     else f" by the fit, T = {T}"))
        return f"{verdict} ({rate}; {side} {where} {after})"
    if verdict == "stable":
        return (f"stable ({rate}; within [{thr}, {inv}] for all {T} lags, and at the steepest "
                f"rate the fit allows for more than {STABLE_SPAN * T})")
    return (f"undetermined ({rate}; within [{thr}, {inv}] for all {T} lags; the data cannot "
            "tell vanishing from stable or exploding)")


def _factor_words(factor):
    if factor is None:
        return "beyond float64 range"
    return f"{factor:.4g}"


def interpretation(figures, full, threshold, bound, effective_bound, lambda_1, paths=None, *,
               where="along the same trajectory", full_state=None, lambda_1_stderr=None,
               warmup=None):
    """Sentences reading the figures of one curve against the bounds and lambda_1.

    Parameters
    ----------
    figures : CurveFigures
        Of the curve ``full``.
    full : ndarray, shape (T + 1,)
        The curve.
    threshold : float
    bound, effective_bound, lambda_1 : float or None
        Pascanu's bound, ``max_t ||J_t||_2`` and the largest Lyapunov exponent.
    paths : (CurveFigures, CurveFigures), optional
        The hidden and cell paths of an LSTM.
    where : str
        Where lambda_1 was measured, in words.
    full_state : CurveFigures, optional
        The full-state curve's figures, where the state is more than the output (LSTM).
    lambda_1_stderr : float, optional
        The batch-means standard error of ``lambda_1``, stated beside it as ``+/-``.
    warmup : int, optional
        The steps skipped before ``lambda_1`` was measured, stated beside it.

    Returns
    -------
    tuple of str
    """
    lines = []
    T = full.size - 1
    thr = f"{threshold:g}"
    lines.append(figures.verdict_text or figures.verdict)
    if figures.gradient_horizon is not None:
        lines.append(f"the gradient norm falls below {thr} at lag "
                     f"{figures.gradient_horizon} of {T}")
    elif figures.growth_horizon is not None:
        lines.append(f"the gradient norm exceeds {1 / threshold:g} at lag "
                     f"{figures.growth_horizon} of {T}")
    else:
        lines.append(f"the gradient norm stays within [{thr}, {1 / threshold:g}] for all "
                     f"{T} lags")
    rate = figures.log10_decay_rate
    if rate is not None:
        lo, hi = figures.fit_lags
        error = figures.log10_decay_rate_stderr
        lines.append(f"measured: a factor of {_factor_words(figures.decay_factor)} per step "
                     f"({rate:+.4g}" + ("" if error is None else f" +/- {error:.2g}")
                     + f" decades per step, fitted over lags {lo}..{hi})")
    if lambda_1 is not None:
        if math.isfinite(lambda_1):
            lyap = lambda_1 / math.log(10.0)
            growth = math.exp(lambda_1) if lambda_1 < 700 else None
            spread = "" if lambda_1_stderr is None else f" +/- {lambda_1_stderr:.2g}"
            after = "" if warmup is None else f" (after a warm-up of {warmup} steps)"
            text = (f"lambda_1 = {lambda_1:+.4g}{spread} per step {where}{after}: "
                    f"exp(lambda_1) = {_factor_words(growth)} per step, the rate a generic "
                    "perturbation grows or shrinks at")
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
    if full_state is not None:
        lines.append("the output h_T sees the gradient above (||dh_T/ds_(T-k)||); the full "
                     f"state's product ||ds_T/ds_(T-k)|| {_path_words(full_state, thr)}")
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


def batch_interpretation(figures, median, threshold, bound, effective_bound, lambda_1, paths,
                         sequences, *, full_state=None):
    """The sentences of a batch: the median curve's reading and the per-sequence verdicts.

    Parameters
    ----------
    figures, median, threshold, bound, effective_bound, lambda_1, paths
        As for :func:`interpretation`, of the per-lag median curve.
    sequences : sequence of DecayResult
        The sequences' own results.

    Returns
    -------
    tuple of str
    """
    lines = list(interpretation(figures, median, threshold, bound, effective_bound, lambda_1,
                                paths, where="(median over the sequences)",
                                full_state=full_state))
    lines[0] = "median over the batch: " + lines[0]
    verdicts = [r.verdict for r in sequences]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if v in verdicts)
    horizons = [r.gradient_horizon for r in sequences if r.gradient_horizon is not None]
    text = f"per sequence ({len(sequences)}): {counts}"
    if horizons:
        text += (f"; gradient horizons {min(horizons)}..{max(horizons)} "
                 f"(median {float(np.median(horizons)):g})")
    lines.insert(1, text)
    return tuple(lines)
