"""Gradient decay: the spectral norm of ``ds_T/ds_{T-k}`` for every lag k."""

import math
from dataclasses import dataclass, field

import numpy as np

from ..activations import activation_bound
from ..errors import GradflowError
from ..io.arrays import as_inputs, as_state


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

    @property
    def steps(self):
        """The horizon T."""
        return int(self.lags[-1])

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
        )
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


def decay(model, xs, s0=None, *, threshold=1e-3):
    """Spectral norm of ``ds_T/ds_{T-k}`` for every lag k = 0..T, exact at any T.

    The backward product is renormalised by a power of two at every step with the exponent
    carried as an integer, so norms like 10^-5000 or 10^+5000 are exact where the plain product
    would under- or overflow float64.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (T, d)
        Inputs.
    s0 : ndarray, shape (m,), optional
        Initial state (zeros by default).
    threshold : float, optional
        Vanishing threshold for the gradient horizon (1e-3); 1/threshold for growth.

    Returns
    -------
    DecayResult

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    threshold = float(threshold)
    if not (math.isfinite(threshold) and 0.0 < threshold < 1.0):
        raise GradflowError(f"threshold must lie in (0, 1); got {threshold!r}")
    full, block_h, block_c = suffix_log10_norms(model, xs, s0)
    T = full.size - 1
    lags = np.arange(T + 1)
    log_thr = math.log10(threshold)
    horizon = _first(full < log_thr)
    growth = _first(full > -log_thr)

    k0 = max(1, T // 4) if T >= 2 else 0
    sel = lags[k0:][np.isfinite(full[k0:])]
    rate = factor = None
    if sel.size >= 2:
        slope = float(np.polyfit(sel.astype(float), full[sel], 1)[0])
        rate = slope
        factor = float(10.0**slope) if slope < 300 else None
    if horizon is not None and (rate is None or rate < 0 or full[-1] < log_thr):
        verdict = "vanishing"
    elif growth is not None:
        verdict = "exploding"
    else:
        verdict = "stable"
    return DecayResult(
        model=model.describe(),
        cell=model.cell,
        lags=lags,
        log10_norm2=full,
        log10_norm2_h=block_h,
        log10_norm2_c=block_c,
        threshold=threshold,
        gradient_horizon=horizon,
        growth_horizon=growth,
        log10_decay_rate=rate,
        decay_factor=factor,
        fit_lags=(int(k0), int(T)),
        bound=pascanu_bound(model),
        verdict=verdict,
    )
