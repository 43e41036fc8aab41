"""Gradient decay of a network: what its output sees, layer by layer, and its whole state.

The headline figures read ``log10_norm2_output`` (the top layer's h_n against the network's
state k steps back), as for a cell.  For a bidirectional network that curve is V-shaped (h_n's
reverse part reads the state k steps back after T - k more reverse steps, fewer the larger k
is), so no rate fits it: without a readout the headline reads each part of h_n in its own
time, the forward part against the state k steps back (the figures given) and the reverse
part against the state k steps before its end (in the sentences).

``log10_norm2`` is the whole state's product ``ds_T/ds_{T-k}`` for a unidirectional stack, on
request (``whole_state``: it costs m / (D n) times the output's); a bidirectional network has
no such product (its reverse cells run the other way in time).  Pascanu's bound and lambda_1
are figures of one cell and are not given for a network.
"""

import numpy as np

from ..errors import GradflowError, named
from ..io.arrays import as_inputs, as_state
from .decay_reading import batch_interpretation, curve_figures, interpretation
from .decay_results import DecayBatchResult, DecayResult
from .lag_bands import lag_median, lag_quantiles
from .sensitivity import Sensitivities, sensitivities, state_log10_norms

__all__ = ["network_decay"]


def _result(net, T, threshold, seen, full, sentences, figures, readout=None):
    return DecayResult(
        model=net.describe() + ("" if readout is None else f", {readout.describe()}"),
        cell=net.cell, lags=np.arange(T + 1), log10_norm2=full,
        log10_norm2_h=None, log10_norm2_c=None, threshold=threshold,
        gradient_horizon=figures.gradient_horizon, growth_horizon=figures.growth_horizon,
        log10_decay_rate=figures.log10_decay_rate, decay_factor=figures.decay_factor,
        fit_lags=figures.fit_lags, bound=None, verdict=figures.verdict,
        interpretation=tuple(sentences), log10_norm2_output=seen.output,
        log10_norm2_input=seen.input, log10_norm2_output_layers=seen.output_layers)


def _layer_words(layers, threshold):
    """Where each layer's block first falls below the threshold, after it first reaches y.

    A lower layer's state at lag 0 does not reach y_T at all (y_T is the top layer's state):
    its block starts at an exact zero, which is no horizon.
    """
    words = []
    log_thr = np.log10(threshold)
    for index, curve in enumerate(layers):
        reached = np.flatnonzero(np.isfinite(curve))
        if reached.size == 0:
            words.append(f"layer {index} never reaches y_T")
            continue
        start = int(reached[0])
        below = np.flatnonzero(curve[start:] < log_thr)
        words.append(f"layer {index} " + ("stays above the threshold" if below.size == 0 else
                                          f"falls below {threshold:g} at lag "
                                          f"{start + int(below[0])}"))
    return "per layer, the output's view of each layer's own state: " + "; ".join(words)


def _headline(seen, threshold):
    """The figures of the curve the headline reads, and the words saying which it is."""
    if seen.output_directions is None:
        return curve_figures(seen.output, threshold), seen.output, []
    forward, reverse = seen.output_directions
    back = curve_figures(reverse, threshold)
    words = [f"bidirectional: the figures read h_n's forward part against the state k steps "
             f"back; its reverse part, against the state k steps before the reverse end, "
             f"reads {back.verdict} ({_factor_words(back)})"]
    return curve_figures(forward, threshold), forward, words


def _factor_words(figures):
    if figures.decay_factor is None:
        return "no fitted rate"
    horizon = ("" if figures.gradient_horizon is None else
               f", below the threshold after {figures.gradient_horizon} steps")
    return f"{figures.decay_factor:.3g} per step{horizon}"


def _single(net, xs, s0, threshold, whole_state, readout=None, layers=True):
    T = xs.shape[0]
    seen = sensitivities(net, xs, s0, readout=readout, layers=layers)
    full = state_log10_norms(net, xs, s0) if whole_state else None
    figures, curve, words = _headline(seen, threshold)
    full_state = None if full is None else curve_figures(full, threshold)
    sentences = list(interpretation(figures, curve, threshold, None, None, None,
                                    full_state=full_state))
    sentences += words
    if layers:
        sentences.append(_layer_words(seen.output_layers, threshold))
    result = _result(net, T, threshold, seen, full, sentences, figures, readout)
    return result, seen.output_directions


def network_decay(net, xs, s0=None, *, threshold, quantiles, whole_state=False, lengths=None,
                  readout=None, layers=True):
    """:func:`gradflow.decay` of a :class:`~gradflow.Network` (one sequence or a batch).

    ``whole_state`` adds ``log10_norm2``, the whole state's product (unidirectional stacks
    only): it carries m rows back instead of the output's ``directions * n``, so it costs
    about m / (directions * n) times as much and is off by default.  ``lengths`` (B,), checked
    by the caller: sequence b is analysed over its valid steps alone, its reverse cells
    starting at the last of them, as PyTorch runs a packed sequence.  ``readout`` (a checked
    :class:`~gradflow.cells.readout.Readout`): the output figures are those of its logits.
    ``layers=False`` leaves out ``log10_norm2_output_layers`` and the sentence on them (one
    norm series a layer fewer: the training Monitor keeps neither).
    """
    xs = as_inputs(xs, net.inputs)
    if whole_state and net.bidirectional:
        raise GradflowError(f"{named(net)}"
                            f"{net.describe()}: a bidirectional network has no whole-state "
                            "product ds_T/ds_(T-k) (its reverse cells run the other way in "
                            "time); leave whole_state off")
    if xs.ndim == 2:
        return _single(net, xs, as_state(s0, net.state_size), threshold, whole_state,
                       readout, layers)[0]
    s0 = as_state(s0, net.state_size, batch=xs.shape[0])
    if lengths is None:
        lengths = np.full(xs.shape[0], xs.shape[1])
        given = None
    else:
        given = lengths
    runs = [_single(net, x[:length], s, threshold, whole_state, readout, layers)
            for x, s, length in zip(xs, s0, lengths, strict=True)]
    sequences = tuple(r for r, _ in runs)
    T = max(r.steps for r in sequences)

    def median_of(curves):
        return lag_median(list(curves))

    outputs = [r.log10_norm2_output for r in sequences]
    median = median_of(outputs)
    directions = None
    if runs[0][1] is not None:  # bidirectional, without a readout
        directions = np.stack([median_of(d[i] for _, d in runs) for i in range(2)])
    figures, curve, words = _headline(Sensitivities(output=median, input=median,
                                                    output_directions=directions), threshold)
    full = None
    if sequences[0].log10_norm2 is not None:
        full = median_of(r.log10_norm2 for r in sequences)
    seen = Sensitivities(
        output=median,
        input=median_of(r.log10_norm2_input for r in sequences),
        output_layers=None if not layers else np.stack(
            [median_of(r.log10_norm2_output_layers[i] for r in sequences)
             for i in range(net.num_layers)]))
    full_state = None if full is None else curve_figures(full, threshold)
    sentences = batch_interpretation(figures, curve, threshold, None, None, None, None,
                                     sequences, full_state=full_state) + tuple(words)
    summary = _result(net, T, threshold, seen, full, sentences, figures, readout)
    bands = None
    if full is not None:
        bands = lag_quantiles([r.log10_norm2 for r in sequences], quantiles)
    return DecayBatchResult(summary=summary, sequences=sequences, quantile_levels=quantiles,
                            log10_norm2_quantiles=bands,
                            log10_norm2_output_quantiles=lag_quantiles(outputs, quantiles),
                            lengths=given)
