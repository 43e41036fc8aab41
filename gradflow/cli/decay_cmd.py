"""``gradflow decay``: what the output sees k steps back, for every lag, and where it fades."""

import click

from ._options import emit_json, json_option, layout_options, read_sequences, trajectory_options


def _table_lags(T, extra):
    lags = {0, T}
    step = 1
    while step <= T:
        for f in (1, 2, 5):
            if f * step <= T:
                lags.add(f * step)
        step *= 10
    lags.update(k for k in extra if k is not None)
    return sorted(lags)


def format_norm(log10_value):
    """A norm given as its log10, readable at any magnitude; exact zeros say so."""
    import math

    if not math.isfinite(log10_value):
        return "0 (exact)"
    if -300 < log10_value < 300:
        return f"{10.0 ** log10_value:.3e}"
    exponent = math.floor(log10_value)
    return f"{10.0 ** (log10_value - exponent):.3f}e{exponent:+d}"


def format_log(log10_value):
    """log10 of a norm for a table cell; exact zeros say so."""
    import math

    return f"{log10_value:.4f}" if math.isfinite(log10_value) else "-inf (exact 0)"


def _human(result, source):
    lines = [f"{result.model}: gradient norm ||dy_T/ds_(T-k)||_2 ({_what_y(source)}) over "
             f"T = {result.steps} steps"]
    if "inputs" in source:
        where = source["inputs"]
        if where == "standard normal":
            where += f" (seed {source['input_seed']})"
        lines.append(f"inputs: {where}" + (f"; h0: {source['h0']}" if "h0" in source else ""))
    lstm = result.log10_norm2_h is not None
    full = result.log10_norm2 is not None and (lstm or result.log10_norm2_output_layers
                                               is not None)
    header = f"{'lag k':>8}  {'log10 |dy/ds|':>15}  {'norm':>12}  {'log10 |dy/dx|':>15}"
    if full:
        header += f"  {'log10 |ds/ds|':>15}"
    if lstm:
        header += f"  {'log10 |dh/dh|':>15}  {'log10 |dc/dc|':>15}"
    lines += ["", header]
    marks = {result.gradient_horizon: "  < threshold", result.growth_horizon: "  > 1/threshold"}
    T = result.steps
    for k in _table_lags(T, [result.gradient_horizon, result.growth_horizon]):
        v = result.log10_norm2_output[k]
        seen = format_log(result.log10_norm2_input[k]) if k < T else "-"
        row = f"{k:>8}  {format_log(v):>15}  {format_norm(v):>12}  {seen:>15}"
        if full:
            row += f"  {format_log(result.log10_norm2[k]):>15}"
        if lstm:
            row += (f"  {format_log(result.log10_norm2_h[k]):>15}"
                    f"  {format_log(result.log10_norm2_c[k]):>15}")
        lines.append(row + marks.get(k, ""))
    lines += ["", "dy/ds: the output's sensitivity to the state k steps back (the headline); "
                  "dy/dx: to the input of step T-k"
              + ("; ds/ds: the whole state's product" if full else "")]
    lines.append("")
    thr = f"{result.threshold:g}"
    if result.gradient_horizon is not None:
        lines.append(f"gradient horizon: the norm first falls below {thr} at lag "
                     f"{result.gradient_horizon}")
    else:
        lines.append(f"gradient horizon: the norm stays above {thr} for all {result.steps} lags")
    if result.growth_horizon is not None:
        lines.append(f"growth: the norm first exceeds {1 / result.threshold:g} at lag "
                     f"{result.growth_horizon}")
    if result.decay_factor is not None:
        lines.append(f"fitted decay factor: {result.decay_factor:.6g} per step "
                     f"(log10 slope {result.log10_decay_rate:+.6g}, lags "
                     f"{result.fit_lags[0]}..{result.fit_lags[1]})")
    elif result.log10_decay_rate is not None:
        lines.append(f"fitted log10 slope: {result.log10_decay_rate:+.6g} per step")
    if result.bound is not None:
        reading = ("< 1: vanishing guaranteed" if result.bound < 1
                   else ">= 1: exploding possible, not guaranteed")
        lines.append(f"Pascanu bound gamma*sigma_max(W_h) = {result.bound:.6g} ({reading})")
    lines.append(f"verdict: {result.verdict}")
    if result.interpretation:
        lines += ["", "interpretation:"] + [f"  {line}" for line in result.interpretation]
    return "\n".join(lines)


def _spread(values):
    """``min / q0.25 / median / q0.75 / max`` of some numbers, for one summary line."""
    import numpy as np

    q = np.quantile(np.asarray(values, dtype=float), [0, 0.25, 0.5, 0.75, 1])
    return " / ".join(f"{v:.4g}" for v in q)


def _sequence_lines(result):
    """One line per sequence: its length, horizon, fitted factor, lambda_1 and verdict."""
    lines = [f"{'sequence':>8}  {'T':>6}  {'horizon':>8}  {'factor/step':>12}  "
             f"{'lambda_1':>10}  verdict"]
    for i, r in enumerate(result.sequences):
        horizon = "-" if r.gradient_horizon is None else str(r.gradient_horizon)
        factor = "-" if r.decay_factor is None else f"{r.decay_factor:.4g}"
        lam = "-" if r.lambda_1 is None else f"{r.lambda_1:+.4g}"
        lines.append(f"{i:>8}  {r.steps:>6}  {horizon:>8}  {factor:>12}  {lam:>10}  "
                     f"{r.verdict}")
    return lines


def _batch_summary(result):
    """The sequences' own figures in a few lines: verdicts counted, horizons and factors spread."""
    sequences = result.sequences
    verdicts = [r.verdict for r in sequences]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
    lines = [f"per sequence ({len(sequences)}): {counts}"]
    horizons = [r.gradient_horizon for r in sequences if r.gradient_horizon is not None]
    if horizons:
        lines.append(f"  gradient horizon, min / q0.25 / median / q0.75 / max: "
                     f"{_spread(horizons)} ({len(horizons)} of {len(sequences)} sequences "
                     "fall below the threshold)")
    else:
        lines.append("  gradient horizon: no sequence falls below the threshold")
    factors = [r.decay_factor for r in sequences if r.decay_factor is not None]
    if factors:
        lines.append(f"  fitted factor per step, min / q0.25 / median / q0.75 / max: "
                     f"{_spread(factors)}")
    if result.lengths is not None:
        lines.append(f"  lengths, min / q0.25 / median / q0.75 / max: "
                     f"{_spread(result.lengths)}")
    lines.append("  (--per-sequence lists every sequence)")
    return lines


def _human_batch(result, source, per_sequence=False):
    """Median and bands of a batch, the sequences' figures (summed up or listed), the reading."""
    lines = [f"{result.model}: gradient norm ||dy_T/ds_(T-k)||_2 ({_what_y(source)}) over "
             f"T = {result.steps} steps, {result.batch} sequences"]
    if "inputs" in source:
        lines.append(f"inputs: {source['inputs']}" + (f"; h0: {source['h0']}" if "h0" in source
                                                         else "")
                     + (f"; lengths: {source['lengths_file']}" if "lengths_file" in source
                        else ""))
    levels = result.quantile_levels
    ragged = result.lengths is not None
    header = f"{'lag k':>8}  {'median log10':>14}" + "".join(
        f"  {'q' + format(q, 'g'):>14}" for q in levels) + (f"  {'sequences':>9}" if ragged
                                                              else "")
    lines += ["", header]
    bands = result.log10_norm2_output_quantiles
    covering = result.sequences_per_lag
    for k in _table_lags(result.steps, [result.gradient_horizon, result.growth_horizon]):
        row = f"{k:>8}  {format_log(result.log10_norm2_output[k]):>14}"
        row += "".join(f"  {format_log(bands[i, k]):>14}" for i in range(len(levels)))
        lines.append(row + (f"  {int(covering[k]):>9}" if ragged else ""))
    if ragged:
        lines += ["", "padded batch: each sequence over its own length; the figures at lag k "
                      "are over the sequences that reach it (column 'sequences')"]
    lines += [""] + (_sequence_lines(result) if per_sequence else _batch_summary(result))
    lines += ["", f"verdict (median curve): {result.verdict}", "", "interpretation:"]
    lines += [f"  {line}" for line in result.interpretation]
    return "\n".join(lines)


def _what_y(source):
    """What y_T is, in words: the output h_T, or the logits of a readout."""
    if "readout" in source:
        return "y_T the logits W_out h_T + b_out"
    return "y_T the output h_T"


@click.command(short_help="Gradient norm at every lag: does it vanish or explode?")
@click.argument("weights", metavar="W.npz", type=click.Path())
@trajectory_options
@layout_options(lengths=True)
@click.option(
    "--threshold", type=float, default=1e-3, show_default=True,
    help="Vanishing threshold of the gradient horizon (growth: 1/threshold).",
)
@click.option(
    "--effective-bound", is_flag=True,
    help="Also find max_t ||J_t||_2 along the run, a bound of every lag for any cell "
         "(one eigenvalue problem per step: slower than the sweep itself for large cells).",
)
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Batch inputs: sequences in parallel on N threads (default: all cores).")
@click.option("--whole-state", is_flag=True,
              help="Network files: also the whole state's product ||ds_T/ds_(T-k)|| "
                   "(unidirectional stacks; slower by about m / (directions n)).")
@click.option("--per-sequence", is_flag=True,
              help="Batch inputs: list every sequence's horizon, factor and verdict (default: "
                   "a summary of them).")
@click.option("--readout-from", "readout_path", type=click.Path(),
              help="A PyTorch .pt (state dict or checkpoint) holding the model's linear head: "
                   "the output figures become those of its logits z = W_out y_T + b_out.")
@click.option("--readout", "readout_prefix", default=None, metavar="PREFIX",
              help="With --readout-from: the head's key prefix (e.g. 'fc.' for fc.weight and "
                   "fc.bias); default: the only 2-d weight that fits y_T.")
@json_option
def decay(weights, inputs_path, steps, input_seed, h0_path, time_major, lengths_path, threshold,
          effective_bound, threads, whole_state, per_sequence, readout_path, readout_prefix,
          as_json):
    """What the output of WEIGHTS sees k steps back, for every lag k = 0..T of a run.

    The headline reads ||dy_T/ds_(T-k)||_2, y_T the final hidden state h_T (a network
    file: the top layer's h_n): the gradient a loss on the output sends back.  Beside it
    ||dy_T/dx_(T-k)||, the sensitivity to the input of step T-k, and the whole state's
    product ||ds_T/ds_(T-k)||.  Exact at any horizon: the backward products are renormalised
    every step and their scale kept as an exact exponent, so norms like 1e-5000 are reported
    where float64 products would underflow.  For LSTM the h-block and c-block norms are
    shown too.  An exactly zero product
    (all units of a relu RNN dead) is reported as such: null in JSON, "0 (exact)" in text.

    The curve is read out: gradient horizon, fitted per-step factor, verdict, compared with
    Pascanu's bound (RNN), the largest step Jacobian norm met and exp(lambda_1).  Batch
    inputs (B, T, d) (or (T, B, d) with --time-major) give one curve per sequence plus the
    per-lag median and quantile bands; the text sums the sequences up (--per-sequence lists
    them).  --lengths L.npy analyses each sequence of a padded batch over its own length.
    --readout-from MODEL.pt [--readout PREFIX] puts a linear head on y_T: the figures are
    then those of its logits.
    """
    from ..analysis.decay import decay as compute
    from ..cells import load
    from ..cells.readout import Readout

    if readout_prefix is not None and readout_path is None:
        raise click.UsageError("--readout PREFIX needs --readout-from MODEL.pt (the file "
                               "holding the head)")
    model = load(weights)
    readout = None
    if readout_path is not None:
        readout = Readout.from_torch(readout_path, readout_prefix,
                                     width=model.output_size).check(model)
    xs, s0, source, lengths = read_sequences(model, inputs_path, steps, input_seed, h0_path,
                                             time_major=time_major,
                                             lengths_path=lengths_path)
    options = {"whole_state": True} if whole_state else {}
    result = compute(model, xs, s0, threshold=threshold, effective_bound=effective_bound,
                     threads=threads, lengths=lengths, readout=readout, **options)
    if readout is not None:
        source["readout"] = readout.to_dict()
    batch = xs.ndim == 3
    if as_json:
        emit_json({**result.to_dict(), "weights": weights, **source})
    elif batch:
        click.echo(_human_batch(result, source, per_sequence))
    else:
        click.echo(_human(result, source))
