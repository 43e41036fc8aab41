"""``gradflow lyapunov``: the Lyapunov spectrum of a cell along a trajectory."""

import math

import click

from ._options import (
    emit_json,
    json_option,
    layout_options,
    note,
    read_sequences,
    trajectory_options,
)


def _exponent_rows(k, row, *, all_below, head, tail):
    """Table lines ``row(i)`` of the k exponents, the first ``head`` and last ``tail`` of more.

    All k are shown up to ``all_below``; beyond, a '...' line stands for the rest.
    """
    shown = (list(range(k)) if k <= all_below
             else list(range(head)) + [None] + list(range(k - tail, k)))
    return [f"{'...':>5}" if i is None else row(i) for i in shown]


def _human(result, source):
    lines = [f"{result.model}: Lyapunov spectrum over {result.steps} steps "
             f"(warm-up {result.warmup}, QR every {result.interval} step"
             f"{'s' if result.interval != 1 else ''})"]
    where = source.get("inputs", "")
    if where == "standard normal":
        where += f" (seed {source['input_seed']})"
    lines.append(f"inputs: {where}" + (f"; h0: {source['h0']}" if "h0" in source else ""))
    lines += ["", f"{'i':>5}  {'lambda_i (ln/step)':>19}  {'std. error':>10}  "
                  f"{'exp(lambda_i)':>14}"]
    errors = result.exponents_stderr
    k = result.k

    def row(i):
        lam = result.exponents[i]
        factor = f"{math.exp(lam):.6g}" if lam < 700 else "inf"
        lam_text = f"{lam:+.8f}" if lam != float("-inf") else "-inf"
        error = "-" if errors[i] is None else f"{errors[i]:.2g}"
        return f"{i + 1:>5}  {lam_text:>19}  {error:>10}  {factor:>14}"

    lines += _exponent_rows(k, row, all_below=24, head=16, tail=4)
    lines.append("")
    error = result.lambda_1_stderr
    spread = "" if error is None else f" +/- {error:.2g}"
    lines.append(f"lambda_1 = {result.lambda_1:+.6g}{spread} per step (batch means over "
                 f"{len(result.block_exponents) if result.block_exponents is not None else 0} "
                 f"blocks): {result.reading}")
    lines.append(f"sum of the {k} exponents = {result.sum:+.6g}"
                 + (" (= mean log|det J_t|)" if result.complete else ""))
    dim = result.kaplan_yorke_dimension
    if dim is None:
        lines.append(f"Kaplan-Yorke dimension: more than {k}; compute more exponents (--k)")
    else:
        error = result.kaplan_yorke_dimension_stderr
        lines.append(f"Kaplan-Yorke dimension: {dim:.6g}"
                     + ("" if error is None else f" +/- {error:.2g}")
                     + f" (D_KY/m = {result.kaplan_yorke_fraction:.4g})")
    entropy = result.entropy_rate
    if entropy is None:
        lines.append(f"entropy rate: undetermined; every one of the {k} exponents is positive "
                     "(--k)")
    else:
        error = result.entropy_rate_stderr
        lines.append(f"entropy rate (sum of the positive exponents): {entropy:.6g}"
                     + ("" if error is None else f" +/- {error:.2g}") + " nats per step")
    fraction = result.positive_fraction
    if fraction is not None:
        lines.append(f"positive exponents: {fraction:.4g} of the {result.state_size}")
    return "\n".join(lines)


def _human_batch(result, source, per_sequence):
    steps = result.steps
    length = (f"{steps[0]} steps" if steps.min() == steps.max()
              else f"{steps.min()}..{steps.max()} steps by --lengths")
    warm = result.warmups
    warmup = (f"warm-up {warm[0]}" if warm.min() == warm.max()
              else f"warm-up {warm.min()}..{warm.max()}, each sequence's first quarter")
    lines = [f"{result.model}: Lyapunov spectra of {result.batch} sequences, {length} "
             f"({warmup}, QR every {result.sequences[0].interval} step"
             f"{'s' if result.sequences[0].interval != 1 else ''})",
             f"inputs: {source.get('inputs', '')}"
             + (f"; lengths: {source['lengths_file']}" if "lengths_file" in source else ""),
             "", f"{'i':>5}  {'median lambda_i':>16}  {'q0.25 .. q0.75':>25}"]
    lower, upper = result.exponents_quartiles
    lines += _exponent_rows(
        result.k, lambda i: (f"{i + 1:>5}  {result.exponents[i]:>+16.8f}  "
                             f"{lower[i]:>+12.6f} .. {upper[i]:>+10.6f}"),
        all_below=12, head=8, tail=2)
    error = result.lambda_1_stderr
    lines += ["", f"lambda_1: median {result.lambda_1:+.6g} per step, mean "
                  f"{result.lambda_1_mean:+.6g}"
                  + ("" if error is None else f" +/- {error:.2g} (standard error over the "
                                               "sequences)"),
              f"  {result.reading}"]
    if per_sequence:
        lines += ["", f"{'seq':>5}  {'steps':>6}  {'lambda_1':>12}  {'std. error':>10}  reading"]
        for b, r in enumerate(result.sequences):
            e = r.lambda_1_stderr
            lines.append(f"{b:>5}  {r.steps:>6}  {r.lambda_1:>+12.6g}  "
                         f"{'-' if e is None else f'{e:.2g}':>10}  {r.reading}")
    else:
        lines.append("  (--per-sequence lists every sequence)")
    return "\n".join(lines)


@click.command(short_help="Lyapunov exponents by QR re-orthonormalisation of J_t Q.")
@click.argument("weights", metavar="W.npz", type=click.Path())
@trajectory_options
@layout_options(lengths=True)
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="Number of exponents (default: all m).")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Leading steps that only align the frame (default: the first quarter of "
                   "the steps, the transient gradflow decay and the report skip too).")
@click.option("--interval", type=click.IntRange(min=1), default=1, show_default=True,
              help="Steps between QR re-orthonormalisations.")
@click.option("--frame-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random initial orthonormal frame.")
@click.option("--per-sequence", is_flag=True,
              help="Batch inputs: list every sequence's lambda_1 (default: their summary).")
@json_option
def lyapunov(weights, inputs_path, steps, input_seed, h0_path, time_major, lengths_path, k,
             warmup, interval, frame_seed, per_sequence, as_json):
    """Lyapunov spectrum of WEIGHTS driven by --inputs (or --steps standard-normal inputs).

    The exponents (natural log per step, descending) are the time averages of log|R_ii| in
    the QR factorisations of J_t Q (Benettin et al. 1980; Engelken, Wolf & Abbott 2023).
    lambda_1 < 0: perturbations and gradients shrink by about exp(lambda_1) per step;
    lambda_1 > 0: the dynamics are chaotic.  The Kaplan-Yorke dimension is derived from them.
    Batch inputs (B, T, d) give one spectrum per sequence, from the same initial frame, and
    the per-exponent median with its quartiles; --lengths L.npy takes each sequence of a
    padded batch over its own steps (each with its own default warm-up).
    """
    from ..analysis.lyapunov import default_warmup
    from ..analysis.lyapunov import lyapunov as compute
    from ..cells import load

    model = load(weights)
    xs, s0, source, lengths = read_sequences(model, inputs_path, steps, input_seed, h0_path,
                                             time_major=time_major, lengths_path=lengths_path)
    batch = xs.ndim == 3
    if warmup is None and not batch:
        warmup = default_warmup(xs.shape[0])
    result = compute(model, xs, s0, k=k, warmup=warmup, interval=interval, seed=frame_seed,
                     lengths=lengths)
    warnings = result.warnings
    if batch and len(warnings) > 1:
        flagged = sum(bool(r.warnings) for r in result.sequences)
        warnings = [f"{flagged} of {result.batch} sequences may not have converged; "
                    f"{warnings[0]} (--json lists every warning)"]
    for warning in warnings:
        note(f"warning: {warning}")
    if as_json:
        emit_json({**result.to_dict(), "weights": weights, **source})
    elif batch:
        click.echo(_human_batch(result, source, per_sequence))
    else:
        click.echo(_human(result, source))
