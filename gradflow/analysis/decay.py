"""Gradient decay: the spectral norm of ``ds_T/ds_{T-k}`` for every lag k, and what it says.

The computation lives here; the results are in :mod:`gradflow.analysis.decay_results` and the
reading of a curve (horizons, fitted rate, verdict, sentences) in
:mod:`gradflow.analysis.decay_reading`.
"""

import contextlib
import math
from dataclasses import replace

import numpy as np

from .. import _threads
from ..cells.network import Network
from ..cells.readout import Readout
from ..errors import GradflowError, named
from ..io.arrays import as_inputs, as_lengths, batch_first
from ..kernels import suffix_products
from ..resources import require_memory
from ..validation import boolean, fraction, quantile_levels
from .decay_reading import batch_interpretation, curve_figures, interpretation
from .decay_results import DecayBatchResult, DecayResult
from .lag_bands import lag_median, lag_quantiles
from .lyapunov import lyapunov_spectrum
from .lyapunov_statistics import block_spectra, standard_error
from .network_decay import network_decay
from .sensitivity import Sensitivities, sensitivities
from .spectrum import step_norms_along
from .trajectory import Trajectory, resolve

__all__ = ["BAND_LEVELS", "DecayBatchResult", "DecayResult", "decay", "pascanu_bound",
           "suffix_log10_norms"]

#: Default quantile levels of the bands of a batch.
BAND_LEVELS = (0.1, 0.25, 0.75, 0.9)


def _block_size(model):
    """The size of h for a state that stacks (h, c), measured block by block; else 0."""
    return model.output_size if model.state_size > model.output_size else 0


def _suffix_norms(run):
    """``(full, block_h, block_c)`` of one sequence's trajectory; the blocks None without any."""
    n_block = _block_size(run.model)
    T = run.steps
    full = np.empty(T + 1)
    block_h = np.empty(T + 1 if n_block else 1)
    block_c = np.empty(T + 1 if n_block else 1)
    with _overflow_named(run.model):
        suffix_products.suffix_log10_norms(*run.model.kernel_args(), run.xs, run.states,
                                           n_block, full, block_h, block_c)
    return _checked_curves(run.model, (full, block_h, block_c) if n_block
                           else (full, None, None))


@contextlib.contextmanager
def _overflow_named(model):
    """A product the kernels cannot factor (it holds inf or NaN) as a GradflowError."""
    try:
        yield
    except (np.linalg.LinAlgError, SystemError) as exc:
        # a kernel running on threads hands its LinAlgError over inside a SystemError
        if not isinstance(exc, np.linalg.LinAlgError) and not isinstance(
                exc.__cause__ or exc.__context__, np.linalg.LinAlgError):
            raise
        raise GradflowError(
            f"{named(model)}"
            f"{model.describe()}: the all-lag product ds_T/ds_(T-k) left the float64 range "
            "(its step Jacobians' entries are too close to the float64 limit); scale the "
            "weights or inputs down") from None


#: What each curve of a result measures, for the message when one holds NaN or +inf.
_CURVES = ("log10 ||ds_T/ds_(T-k)||_2", "log10 ||dh_T/ds_(T-k)||_2", "log10 ||dc_T/ds_(T-k)||_2")


def _checked_curves(model, curves, names=_CURVES):
    """``curves``, unless one holds NaN or +inf (``-inf``, an exactly zero product, is fine)."""
    for name, curve in zip(names, curves, strict=True):
        if curve is None:
            continue
        bad = np.flatnonzero(np.isnan(curve) | np.isposinf(curve))
        if bad.size:
            k = int(bad[0])
            raise GradflowError(
                f"{named(model)}"
                f"{model.describe()}: {name} at lag k = {k} is {curve[k]}, not a number "
                "float64 holds (the product left its range); scale the weights or inputs down")
    return curves


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
    """lambda_1 after ``warmup`` steps and its batch-means standard error (or None)."""
    exponents, qr_steps, log_r = lyapunov_spectrum(run.model, run.xs, run.states, 1, warmup,
                                                   1, 0)
    blocks = block_spectra(log_r, qr_steps, warmup)
    return float(exponents[0]), None if blocks is None else standard_error(blocks[:, 0])


def _result(model, curves, threshold, figures, bound, lambda_1, effective, sentences,
            seen, readout=None):
    """A DecayResult from (full, h-block, c-block) curves, the output's and their figures."""
    full, block_h, block_c = curves
    return DecayResult(
        log10_norm2_output=seen.output,
        log10_norm2_output_c=seen.output_c,
        log10_norm2_input=seen.input,
        model=_described(model, readout),
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


def _described(model, readout):
    """The model in words, and its readout where the output sensitivities are the logits'."""
    return model.describe() + ("" if readout is None else f", {readout.describe()}")


def _state_is_output(model, readout):
    """Whether ``ds_T/ds_(T-k)`` is ``dy_T/ds_(T-k)`` itself: the state is h (RNN, GRU)."""
    return readout is None and not _block_size(model)


def _single(run, threshold, with_effective_bound, curves=None, readout=None):
    """One sequence's result; ``curves`` = (full, block_h, block_c) skips the sweep."""
    model = run.model
    with _overflow_named(model):
        seen = sensitivities(model, run.xs, states=run.states, readout=readout)
    _checked_curves(model, (seen.output, seen.output_c, seen.input),
                    ("log10 ||dy_T/ds_(T-k)||_2", "log10 ||dc_T/ds_(T-k)||_2",
                     "log10 ||dy_T/dx_(T-k)||_2"))
    if curves is None:
        # where the state is the output, the sensitivities carried the full-state product
        # itself (m rows of ds_T/ds_(T-k)), certified as the sweep certifies it
        curves = ((seen.output, None, None) if _state_is_output(model, readout)
                  else _suffix_norms(run))
    figures = curve_figures(seen.output, threshold)
    lambda_1, lambda_1_stderr = _largest_exponent(run, figures.fit_lags[0])
    effective = (float(np.max(step_norms_along(model, run.xs, run.states)))
                 if with_effective_bound else None)
    bound = pascanu_bound(model)
    sentences = interpretation(figures, seen.output, threshold, bound, effective, lambda_1,
                               _paths(curves, threshold), full_state=_full_state(curves,
                                                                                threshold),
                               lambda_1_stderr=lambda_1_stderr, warmup=figures.fit_lags[0])
    result = _result(model, curves, threshold, figures, bound, lambda_1, effective, sentences,
                     seen, readout)
    return replace(result, lambda_1_stderr=lambda_1_stderr)


def _full_state(curves, threshold):
    """The full-state curve's figures where the state is more than the output (LSTM)."""
    return curve_figures(curves[0], threshold) if curves[1] is not None else None


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
    with _threads.threads(threads), _overflow_named(model):
        suffix_products.batch_suffix_log10_norms(*model.kernel_args(), run.xs, run.states,
                                                 n_block, full, out_h, out_c)
    if not n_block:
        return [_checked_curves(model, (full[i], None, None)) for i in range(B)]
    return [_checked_curves(model, (full[i], out_h[i], out_c[i])) for i in range(B)]


def _batch(run, threshold, levels, with_effective_bound, threads=None, readout=None):
    computed = ([None] * run.batch if _state_is_output(run.model, readout)
                else _batch_suffix_norms(run, threads))
    sequences = tuple(_single(seq, threshold, with_effective_bound, curves, readout)
                      for seq, curves in zip(run.sequences(), computed, strict=True))
    return _summarise(run.model, sequences, threshold, levels, with_effective_bound,
                      readout=readout)


def _padded_batch(run, threshold, levels, with_effective_bound, readout=None):
    """A padded batch's trajectory: each sequence over its own valid steps."""
    sequences = tuple(_single(seq, threshold, with_effective_bound, readout=readout)
                      for seq in run.sequences())
    return _summarise(run.model, sequences, threshold, levels, with_effective_bound,
                      run.lengths, readout)


def _summarise(model, sequences, threshold, levels, with_effective_bound, lengths=None,
               readout=None):
    """The batch result of the sequences' own results: per-lag medians and bands."""
    def median_of(name):
        return lag_median([getattr(r, name) for r in sequences])

    def bands_of(name):
        return lag_quantiles([getattr(r, name) for r in sequences], levels)

    median = median_of("log10_norm2")
    seen = Sensitivities(output=median_of("log10_norm2_output"),
                         input=median_of("log10_norm2_input"),
                         output_c=(median_of("log10_norm2_output_c")
                                   if sequences[0].log10_norm2_output_c is not None else None))
    h = c = qh = qc = None
    if sequences[0].log10_norm2_h is not None:
        h, c = median_of("log10_norm2_h"), median_of("log10_norm2_c")
        qh, qc = bands_of("log10_norm2_h"), bands_of("log10_norm2_c")
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
                      sentences, seen, readout)
    return DecayBatchResult(
        summary=summary,
        sequences=sequences,
        quantile_levels=levels,
        log10_norm2_quantiles=bands_of("log10_norm2"),
        log10_norm2_h_quantiles=qh,
        log10_norm2_c_quantiles=qc,
        log10_norm2_output_quantiles=bands_of("log10_norm2_output"),
        lengths=lengths,
    )


def _layout(model, xs, time_major, lengths):
    """Batch-first inputs and checked lengths (None without) of a call to :func:`decay`."""
    if isinstance(model, Trajectory):
        if lengths is not None or time_major:
            raise GradflowError("lengths and time_major apply to (model, xs); a trajectory's "
                                "inputs are already laid out")
        return xs, None
    xs = batch_first(xs, time_major=boolean(time_major, "time_major"))
    if lengths is None:
        return xs, None
    xs = as_inputs(xs, model.inputs)
    return xs, as_lengths(lengths, xs.shape[0] if xs.ndim == 3 else None, xs.shape[-2])


def decay(model, xs=None, s0=None, *, threshold=1e-3, quantiles=BAND_LEVELS,
          effective_bound=False, threads=None, whole_state=False, lengths=None,
          time_major=False, readout=None):
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

    lengths : array_like of int, shape (B,), optional
        A padded batch: sequence b holds valid inputs in steps ``0..lengths[b] - 1`` and is
        analysed over those alone (its own T_b, as PyTorch's packed sequences run it: a
        network's reverse direction starts at the last valid step).  The per-lag medians
        and bands at lag k are over the sequences that reach lag k
        (:attr:`DecayBatchResult.sequences_per_lag`).
    time_major : bool, optional
        Batch inputs are (T, B, d) rather than (B, T, d).
    readout : Readout, (W_out, b_out), W_out or torch.nn.Linear, optional
        A linear head ``z = W_out y_T + b_out`` (W_out of shape (p, q), q the model's
        ``output_size``): the output and input sensitivities and the headline are then
        those of the logits z, ``||dz/ds_{T-k}||`` and ``||dz/dx_{T-k}||``
        (:class:`~gradflow.cells.readout.Readout`).  The whole-state figures do not change.

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
    if model is not None:
        xs, lengths = _layout(model, xs, time_major, lengths)
        if readout is not None:
            readout = Readout.coerce(readout, model.model if isinstance(model, Trajectory)
                                     else model)
    if isinstance(model, Network):
        if with_bound:
            raise GradflowError("effective_bound is a figure of one cell; a network has none")
        return network_decay(model, xs, s0, threshold=threshold,
                             quantiles=quantile_levels(quantiles),
                             whole_state=boolean(whole_state, "whole_state"), lengths=lengths,
                             readout=readout)
    run = resolve(model, xs, s0, threads=threads, lengths=lengths)
    if run.lengths is not None:  # a padded batch: each sequence over its own steps
        return _padded_batch(run, threshold, quantile_levels(quantiles), with_bound, readout)
    if run.batch is not None:
        with _threads.blas_threads(1):  # many small products: a BLAS pool costs, never gains
            return _batch(run, threshold, quantile_levels(quantiles), with_bound, threads,
                          readout)
    return _single(run, threshold, with_bound, readout=readout)
