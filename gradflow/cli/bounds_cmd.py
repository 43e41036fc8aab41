"""``gradflow bounds``: the derivative bounds of the activations, and what a trajectory meets."""

import click

from ._options import emit_json, json_option, layout_options, read_sequences, trajectory_options


def _analytic(result):
    lines = ["activation derivatives (analytic):",
             f"  {'f':<8}  {'sup':>11}  {'attained at':<12}  range of f'"]
    for name, b in result.activations.items():
        lo, hi = b.derivative_range
        lines.append(f"  {name:<8}  {b.gamma:>11g}  {b.attained_at:<12}  [{lo:g}, {hi:g}]")
    return lines


def _measured(result, weights):
    where = f"{result.batch} sequences of " if result.batch else ""
    lines = [f"{weights}: {result.model}, derivatives met over {where}{result.steps} steps "
             f"(saturated: f' < {result.saturation:g} * sup f')"]
    levels = next(iter(result.gates.values())).quantile_levels
    header = (f"  {'gate':<8}  {'f':<8}  {'mean':>8}  {'mean/sup':>8}"
              + "".join(f"  {'q' + format(q, 'g'):>7}" for q in levels)
              + f"  {'saturated':>9}")
    lines.append(header)
    for name, g in result.gates.items():
        row = (f"  {name:<8}  {g.activation:<8}  {g.mean:>8.4f}  {g.mean / g.gamma:>8.4f}"
               + "".join(f"  {v:>7.4f}" for v in g.quantiles)
               + f"  {100 * g.fraction_saturated:>8.2f}%")
        lines.append(row)
    for name, g in result.gates.items():
        if g.activation == "relu":
            n = g.unit_mean.size
            dead = ", ".join(str(i) for i in g.dead_units[:20])
            more = " ..." if len(g.dead_units) > 20 else ""
            lines.append(f"  dead relu units ({name}): {len(g.dead_units)} of {n}"
                         + (f": {dead}{more}" if g.dead_units else ""))
    return lines


@click.command(short_help="sup of sigmoid', tanh', relu'; derivatives met along a trajectory.")
@click.argument("weights", metavar="[W.npz ...]", nargs=-1, type=click.Path())
@trajectory_options
@layout_options(lengths=True)
@click.option(
    "--saturation", type=float, default=0.01, show_default=True,
    help="A derivative counts as saturated below this fraction of its supremum.",
)
@json_option
def bounds(weights, inputs_path, steps, input_seed, h0_path, time_major, lengths_path, saturation,
           as_json):
    """Analytic derivative bounds, and the derivatives each of WEIGHTS meets on a trajectory.

    Without weights: sup of sigmoid' (1/4, at z = 0), tanh' (1, at z = 0) and relu' (1, for
    z > 0).  With weights: every nonlinearity of each cell along the trajectory given by
    --inputs (or --steps standard-normal inputs), with the mean derivative, its quantiles,
    the share that is saturated and, for relu, the dead units.  A padded batch with
    --lengths L.npy counts each sequence's own steps only.
    """
    from ..analysis.bounds import bounds as compute
    from ..cells import load

    if not weights:
        if inputs_path is not None or h0_path is not None or lengths_path is not None:
            raise click.UsageError("--inputs, --lengths and --h0 need a weights file")
        result = compute(saturation=saturation)
        if as_json:
            emit_json({**result.to_dict(), "models": []})
        else:
            click.echo("\n".join(_analytic(result)))
        return
    results = []
    for path in weights:
        model = load(path)
        xs, s0, source, lengths = read_sequences(model, inputs_path, steps, input_seed,
                                                 h0_path, time_major=time_major,
                                                 lengths_path=lengths_path)
        results.append((path, source, compute(model, xs, s0, saturation=saturation,
                                              lengths=lengths)))
    if as_json:
        first = results[0][2].to_dict()
        models = []
        for path, source, r in results:
            doc = r.to_dict()
            del doc["activations"], doc["saturation"]
            models.append({"weights": path, **source, **doc})
        emit_json({"activations": first["activations"], "saturation": first["saturation"],
                   "models": models})
    else:
        lines = _analytic(results[0][2])
        for path, _, r in results:
            lines += [""] + _measured(r, path)
        click.echo("\n".join(lines))
