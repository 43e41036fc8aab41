"""``gradflow fixedpoints``: fixed and slow points of a cell under a constant input."""

import click

from ._options import emit_json, json_option, layout_options

#: Input sequences whose trajectories the figure draws.
FIGURE_TRAJECTORIES = 8


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _human(result, input_source):
    lines = [f"{result.model} under the constant input {input_source}: "
             f"{_plural(len(result.fixed), 'fixed point')}, "
             f"{_plural(len(result.slow), 'slow point')}",
             f"from {result.starts} starts (seed {result.seed}, {result.method}): "
             f"{result.discarded} discarded, {result.degenerate} degenerate, "
             f"{result.outliers} outliers", ""]
    header = (f"{'#':>4}  {'kind':<5}  {'q':>10}  {'stable':<6}  {'unstable':>8}  "
              f"{'spectral radius':>15}  {'slowest timescale':>17}  {'|s|':>9}")
    lines.append(header)
    for i, point in enumerate(result.points, start=1):
        timescale = point.slowest_timescale
        shown = "-" if timescale is None else f"{timescale:.4g} steps"
        norm = float((point.state ** 2).sum() ** 0.5)
        lines.append(f"{i:>4}  {point.kind:<5}  {point.q:>10.3g}  "
                     f"{'yes' if point.stable else 'no':<6}  {point.unstable_dimensions:>8}  "
                     f"{point.spectral_radius:>15.6g}  {shown:>17}  {norm:>9.4g}")
    if not result.points:
        lines.append(f"{'':>4}  none found; try more --starts or starting states from --inputs")
    lines += ["", "unstable: eigenvalues of J = dF/ds with |lambda| > 1; timescale: "
              "-1/ln|lambda_1| steps (- when not stable); --json gives states and eigenvalues"]
    return "\n".join(lines)


@click.command(short_help="Fixed and slow points, their eigenvalues and time constants.")
@click.argument("weights", metavar="W.npz", type=click.Path())
@click.option("--input", "input_path", type=click.Path(),
              help="The constant input x, a .npy of shape (d,) (default zeros).")
@click.option("--inputs", "inputs_path", type=click.Path(),
              help="Input sequences .npy (T, d) or (B, T, d): half the starts are states "
                   "visited on them.")
@layout_options()
@click.option("--starts", type=click.IntRange(min=1), default=128, show_default=True,
              help="Number of starting states.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the starting states.")
@click.option("--fixed-tolerance", type=float, default=1e-20, show_default=True,
              help="q at or below which a point is fixed.")
@click.option("--slow-tolerance", type=float, default=1e-6, show_default=True,
              help="q at or below which a point is slow.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Also draw the points (.pdf or .png): eigenvalues against the unit circle, "
                   "points and --inputs trajectories in their top principal components.")
@json_option
def fixedpoints(weights, input_path, inputs_path, time_major, starts, seed, fixed_tolerance,
                slow_tolerance, output, as_json):
    """Fixed points F(s*, x) = s* and slow points of WEIGHTS under a constant input.

    Minimises q(s) = 1/2 ||F(s, x) - s||^2 with the exact Jacobian from many starting
    states (Sussillo & Barak 2013; Golub & Sussillo 2018), merges duplicates, and gives at
    each point the eigenvalues of J = dF/ds, the number of unstable directions (|lambda| > 1),
    the spectral radius and the time constants -1/ln|lambda| in steps.  JSON: fixed_points
    is a list of {state, q, kind, stable, unstable_dimensions, spectral_radius, eigenvalues
    ([re, im] pairs, by descending modulus), timescales (same order; null where
    |lambda| >= 1)}.  The LSTM state is concat(h, c).
    """
    from ..analysis.fixedpoints import constant_input, fixed_points
    from ..cells import load
    from ..io.arrays import load_inputs, load_npy

    if output is not None:
        from ..report.fixedpoint_page import figure_format

        figure_format(output)  # a bad name fails before the search
    model = load(weights)
    x = None
    if input_path is not None:
        x = constant_input(load_npy(input_path, "input"), model.inputs,
                           what=f"{input_path}: input")
    inputs = None if inputs_path is None else load_inputs(inputs_path, model.inputs,
                                                             time_major=time_major)
    result = fixed_points(model, x, starts=starts, inputs=inputs, seed=seed,
                          fixed_tolerance=fixed_tolerance, slow_tolerance=slow_tolerance)
    if output is not None:
        from ..report.fixedpoint_page import write_fixed_point_figure

        trajectories = None
        if inputs is not None:
            shown = inputs if inputs.ndim == 2 else inputs[:FIGURE_TRAJECTORIES]
            trajectories = model.run(shown)
        write_fixed_point_figure(result, output, trajectories)
        click.echo(f"wrote {output}", err=True)
    if as_json:
        source = {"weights": weights, "input_source": input_path or "zeros"}
        if inputs_path is not None:
            source["inputs"] = inputs_path
        emit_json({**result.to_dict(), **source})
    else:
        click.echo(_human(result, input_path or "x = 0"))
