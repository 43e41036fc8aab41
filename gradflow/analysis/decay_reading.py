"""Reading a log10-norm-versus-lag curve: horizons, fitted per-step rate, verdict, sentences."""

import math
from dataclasses import dataclass

import numpy as np

from ._json import document

#: The keys of a curve's figures in JSON documents, in order.
CURVE_KEYS = ("gradient_horizon", "growth_horizon", "log10_decay_rate", "decay_factor",
              "fit_lags", "verdict")


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
        """JSON form (``hidden_path`` and ``cell_path`` of the decay document)."""
        return document(self, CURVE_KEYS)


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


def interpretation(figures, full, threshold, bound, effective_bound, lambda_1, paths=None, *,
               where="along the same trajectory", full_state=None):
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

    Returns
    -------
    tuple of str
    """
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
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("vanishing", "exploding", "stable")
                       if v in verdicts)
    horizons = [r.gradient_horizon for r in sequences if r.gradient_horizon is not None]
    text = f"per sequence ({len(sequences)}): {counts}"
    if horizons:
        text += (f"; gradient horizons {min(horizons)}..{max(horizons)} "
                 f"(median {float(np.median(horizons)):g})")
    lines.insert(1, text)
    return tuple(lines)
