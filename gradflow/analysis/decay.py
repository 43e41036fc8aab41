"""Gradient decay: the spectral norm of ``ds_T/ds_{T-k}`` for every lag k, and what it says.

The computation lives here; the results are in :mod:`gradflow.analysis.decay_results` and the
reading of a curve (horizons, fitted rate, verdict, sentences) in
:mod:`gradflow.analysis.decay_reading`.
"""

import math

import numpy as np

from .. import _threads
from ..cells.network import Network
from ..errors import GradflowError
from ..kernels import suffix_products
from ..resources import require_memory
from ..validation import boolean, fraction, quantile_levels
from .decay_reading import batch_interpretation, curve_figures, interpretation
from .decay_results import DecayBatchResult, DecayResult
from .lyapunov import lyapunov_spectrum
from .network_decay import network_decay
from .sensitivity import Sensitivities, sensitivities
from .spectrum import step_norms_along
from .trajectory import resolve

__all__ = ["BAND_LEVELS", "DecayBatchResult", "DecayResult", "decay", "pascanu_bound",
           "suffix_log10_norms"]

#: Default quantile levels of the bands of a batch.
BAND_LEVELS = (0.1, 0.25, 0.75, 0.9)


def _block_size(model):
    """The hidden size n for a state that stacks (h, c), measured block by block; else 0."""
    return model.hidden if model.state_size > model.hidden else 0


def _suffix_norms(run):
    """``(full, block_h, block_c)`` of one sequence's trajectory; the blocks None without any."""
    n_block = _block_size(run.model)
    T = run.steps
    full = np.empty(T + 1)
    block_h = np.empty(T + 1 if n_block else 1)
    block_c = np.empty(T + 1 if n_block else 1)
    suffix_products.suffix_log10_norms(*run.model.kernel_args(), run.xs, run.states, n_block,
                                       full, block_h, block_c)
    return (full, block_h, block_c) if n_block else (full, None, None)


def suffix_log10_norms(model, xs=None, s0=None):
    """Raw all-lag norms: ``(log10_norm2, log10_norm2_h, log10_norm2_c)``, blocks LSTM only.

    Parameters
    ----------
    model : Cell or Trajectory
        A cell, or a single-sequence trajectory (then without ``xs`` and ``s0``).
    xs : ndarray, shape (T, d)
    s0 : ndarray, shape (m,), optional

    Returns
    -------
    tuple of ndarray, each shape (T + 1,) (or None for the blocks of other cells)
    """
    return _suffix_norms(resolve(model, xs, s0, batch=False))


def pascanu_bound(model):
    """``gamma * sigma_max(W_h)`` for a vanilla RNN, None for gated cells."""
    return model.pascanu_bound()


def _largest_exponent(run, warmup):
    exponents, _, _ = lyapunov_spectrum(run.model, run.xs, run.states, 1, warmup, 1, 0)
    return float(exponents[0])


def _result(model, curves, threshold, figures, bound, lambda_1, effective, sentences,
            seen):
    """A DecayResult from (full, h-block, c-block) curves, the output's and their figures."""
    full, block_h, block_c = curves
    return DecayResult(
        log10_norm2_output=seen.output,
        log10_norm2_output_c=seen.output_c,
        log10_norm2_input=seen.input,
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
        interpretation=tuple(sentences),
    )


def _paths(curves, threshold):
    """The hidden and cell paths' figures of a state with blocks, else None."""
    _, block_h, block_c = curves
    if block_h is None:
        return None
    return curve_figures(block_h, threshold), curve_figures(block_c, threshold)


def _single(run, threshold, with_effective_bound, curves=None):
    """One sequence's result; ``curves`` = (full, block_h, block_c) skips the sweep."""
    model = run.model
    if curves is None:
        curves = _suffix_norms(run)
    seen = sensitivities(model, run.xs, states=run.states)
    figures = curve_figures(seen.output, threshold)
    lambda_1 = _largest_exponent(run, figures.fit_lags[0])
    effective = (float(np.max(step_norms_along(model, run.xs, run.states)))
                 if with_effective_bound else None)
    bound = pascanu_bound(model)
    sentences = interpretation(figures, seen.output, threshold, bound, effective, lambda_1,
                               _paths(curves, threshold), full_state=_full_state(curves,
                                                                                threshold))
    return _result(model, curves, threshold, figures, bound, lambda_1, effective, sentences,
                   seen)


def _full_state(curves, threshold):
    """The full-state curve's figures where the state is more than the output (LSTM)."""
    return curve_figures(curves[0], threshold) if curves[1] is not None else None


def _quantiles(curves, levels):
    """Per-lag quantiles of log10 norms; a band touching an exact zero reads -inf."""
    with np.errstate(invalid="ignore"):
        q = np.quantile(curves, levels, axis=0)
    q[np.isnan(q)] = -np.inf
    return q


def _batch_suffix_norms(run, threads):
    """All-lag norms of every sequence of a batch trajectory, in parallel (one a thread)."""
    model = run.model
    B, T, _ = run.xs.shape
    n_block = _block_size(model)
    require_memory(8 * B * (T + 1) * 3, f"the all-lag norms of a batch of {B} x {T} steps")
    full = np.empty((B, T + 1))
    blocks = (B, T + 1) if n_block else (B, 1)
    out_h = np.empty(blocks)
    out_c = np.empty(blocks)
    with _threads.threads(threads):
        suffix_products.batch_suffix_log10_norms(*model.kernel_args(), run.xs, run.states,
                                                 n_block, full, out_h, out_c)
    if not n_block:
        return [(full[i], None, None) for i in range(B)]
    return [(full[i], out_h[i], out_c[i]) for i in range(B)]


def _batch(run, threshold, levels, with_effective_bound, threads=None):
    model = run.model
    computed = _batch_suffix_norms(run, threads)
    sequences = tuple(_single(seq, threshold, with_effective_bound, curves)
                      for seq, curves in zip(run.sequences(), computed, strict=True))
    curves = np.stack([r.log10_norm2 for r in sequences])
    median = np.median(curves, axis=0)
    median[np.isnan(median)] = -np.inf
    outputs = np.stack([r.log10_norm2_output for r in sequences])
    inputs = np.stack([r.log10_norm2_input for r in sequences])
    seen = Sensitivities(output=_quantiles(outputs, [0.5])[0],
                         input=_quantiles(inputs, [0.5])[0],
                         output_c=(_quantiles(np.stack([r.log10_norm2_output_c
                                                        for r in sequences]), [0.5])[0]
                                   if sequences[0].log10_norm2_output_c is not None else None))
    h = c = qh = qc = None
    if sequences[0].log10_norm2_h is not None:
        hs = np.stack([r.log10_norm2_h for r in sequences])
        cs = np.stack([r.log10_norm2_c for r in sequences])
        h = _quantiles(hs, [0.5])[0]
        c = _quantiles(cs, [0.5])[0]
        qh = _quantiles(hs, levels)
        qc = _quantiles(cs, levels)
    figures = curve_figures(seen.output, threshold)
    lambdas = np.array([r.lambda_1 for r in sequences])
    lambda_1 = float(np.median(lambdas))
    if math.isnan(lambda_1):
        lambda_1 = -math.inf
    effective = max(r.effective_bound for r in sequences) if with_effective_bound else None
    bound = pascanu_bound(model)
    sentences = batch_interpretation(figures, seen.output, threshold, bound, effective,
                                     lambda_1, _paths((median, h, c), threshold), sequences,
                                     full_state=_full_state((median, h, c), threshold))
    summary = _result(model, (median, h, c), threshold, figures, bound, lambda_1, effective,
                      sentences, seen)
    return DecayBatchResult(
        summary=summary,
        sequences=sequences,
        quantile_levels=levels,
        log10_norm2_quantiles=_quantiles(curves, levels),
        log10_norm2_h_quantiles=qh,
        log10_norm2_c_quantiles=qc,
        log10_norm2_output_quantiles=_quantiles(outputs, levels),
    )


def decay(model, xs=None, s0=None, *, threshold=1e-3, quantiles=BAND_LEVELS,
          effective_bound=False, threads=None, whole_state=False):
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
    model : RNN, LSTM, GRU, Network or Trajectory
        The cell or network, or a :class:`~gradflow.analysis.trajectory.Trajectory` of a
        cell already computed (``decay(trajectory)``: then without ``xs`` and ``s0``).  For a
        network the headline reads what its h_n sees (see
        :mod:`gradflow.analysis.network_decay`).
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
    whole_state : bool, optional
        Networks only: also the whole state's product ``log10_norm2`` (unidirectional
        stacks; it costs about m / (directions * n) times the output's figures).  A cell's
        is always computed.

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
    with_bound = bool(effective_bound)
    if isinstance(model, Network):
        if with_bound:
            raise GradflowError("effective_bound is a figure of one cell; a network has none")
        return network_decay(model, xs, s0, threshold=threshold,
                             quantiles=quantile_levels(quantiles),
                             whole_state=boolean(whole_state, "whole_state"))
    run = resolve(model, xs, s0, threads=threads)
    if run.batch is not None:
        return _batch(run, threshold, quantile_levels(quantiles), with_bound, threads)
    return _single(run, threshold, with_bound)
