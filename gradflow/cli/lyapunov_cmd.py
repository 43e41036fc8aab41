"""``gradflow lyapunov``: the Lyapunov spectrum of a cell along a trajectory."""

import math

import click

from ._options import emit_json, json_option, read_trajectory, trajectory_options


def _human(result, source):
    lines = [f"{result.model}: Lyapunov spectrum over {result.steps} steps "
             f"(warm-up {result.warmup}, QR every {result.interval} step"
             f"{'s' if result.interval != 1 else ''})"]
    where = source.get("inputs", "")
    if where == "standard normal":
        where += f" (seed {source['input_seed']})"
    lines.append(f"inputs: {where}" + (f"; h0: {source['h0']}" if "h0" in source else ""))
    lines += ["", f"{'i':>5}  {'lambda_i (ln/step)':>19}  {'exp(lambda_i)':>14}"]
    k = result.k
    shown = list(range(k)) if k <= 24 else list(range(16)) + [None] + list(range(k - 4, k))
    for i in shown:
        if i is None:
            lines.append(f"{'...':>5}")
            continue
        lam = result.exponents[i]
        factor = f"{math.exp(lam):.6g}" if lam < 700 else "inf"
        lam_text = f"{lam:+.8f}" if lam != float("-inf") else "-inf"
        lines.append(f"{i + 1:>5}  {lam_text:>19}  {factor:>14}")
    lines.append("")
    lines.append(f"lambda_1 = {result.lambda_1:+.6g} per step: {result.reading}")
    lines.append(f"sum of the {k} exponents = {result.sum:+.6g}"
                 + (" (= mean log|det J_t|)" if result.complete else ""))
    dim = result.kaplan_yorke_dimension
    if dim is None:
        lines.append(f"Kaplan-Yorke dimension: more than {k}; compute more exponents (--k)")
    else:
        lines.append(f"Kaplan-Yorke dimension: {dim:.6g}")
    return "\n".join(lines)


@click.command(short_help="Lyapunov exponents by QR re-orthonormalisation of J_t Q.")
@click.argument("weights", metavar="W.npz", type=click.Path())
@trajectory_options
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="Number of exponents (default: all m).")
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True,
              help="Leading steps that only align the frame.")
@click.option("--interval", type=click.IntRange(min=1), default=1, show_default=True,
              help="Steps between QR re-orthonormalisations.")
@click.option("--frame-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random initial orthonormal frame.")
@json_option
def lyapunov(weights, inputs_path, steps, input_seed, h0_path, k, warmup, interval,
             frame_seed, as_json):
    """Lyapunov spectrum of WEIGHTS driven by --inputs (or --steps standard-normal inputs).

    The exponents (natural log per step, descending) are the time averages of log|R_ii| in
    the QR factorisations of J_t Q (Benettin et al. 1980; Engelken, Wolf & Abbott 2023).
    lambda_1 < 0: perturbations and gradients shrink by about exp(lambda_1) per step;
    lambda_1 > 0: the dynamics are chaotic.  The Kaplan-Yorke dimension is derived from them.
    """
    from ..analysis.lyapunov import lyapunov as compute
    from ..cells import load
    from ..errors import GradflowError

    model = load(weights)
    xs, s0, source = read_trajectory(model, inputs_path, steps, input_seed, h0_path)
    if xs.ndim == 3:
        raise GradflowError(
            f"{inputs_path}: inputs have shape {xs.shape}; lyapunov takes one sequence of "
            "shape (T, d)"
        )
    result = compute(model, xs, s0, k=k, warmup=warmup, interval=interval, seed=frame_seed)
    if as_json:
        emit_json({**result.to_dict(), "weights": weights, **source})
    else:
        click.echo(_human(result, source))
