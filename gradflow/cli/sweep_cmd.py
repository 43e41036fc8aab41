"""``gradflow sweep``: the analysis over a grid of cells, one results row per point."""

import click

from ._options import emit_json, json_option, note

#: Command-line options that set one value for every point, and the grid name they set.
_FIXED = (("steps", "--steps"), ("input_scale", "--input-scale"), ("h0_scale", "--h0-scale"),
          ("warmup", "--warmup"), ("k", "--k"), ("threshold", "--threshold"))


def _read_grid(spec, grid_text, values):
    from ..sweep.grid import parse_grid
    from ..sweep.spec import load_spec

    if (spec is None) == (grid_text is None):
        raise click.UsageError("give a SPEC.toml or --grid, not both" if spec else
                               "give a SPEC.toml or --grid")
    grid = load_spec(spec) if spec is not None else parse_grid(grid_text)
    for name, flag in _FIXED:
        if values[name] is not None and grid.has(name):
            raise click.UsageError(f"{flag} conflicts with {name} in {grid.source}; give it "
                                   "in one place")
    return grid.with_values(**values)


def _done_message(summary):
    from ..progress import duration

    text = (f"wrote {summary.output}: {summary.total} point{'s' if summary.total != 1 else ''}"
            f" ({summary.computed} computed now on {summary.executor}, {summary.reused} "
            f"already there), {summary.failed} failed, in {duration(summary.wall_time_s)}")
    if summary.first_failure:
        text += f"\nfirst failure: {summary.first_failure}"
    return text


@click.command(short_help="Analyse a grid of cells: one results row per point, resumable.")
@click.argument("spec", metavar="[SPEC.toml]", required=False, type=click.Path())
@click.option("--grid", "grid_texts", metavar="'AXIS=VALUES ...'", multiple=True,
              help="The grid, e.g. 'cell=rnn,lstm gain=0.5:2.5:21 hidden=128,512 seed=0:5'; "
                   "repeated, the axes of every --grid together.")
@click.option("-o", "--output", type=click.Path(), required=True,
              help="RESULTS.csv, or RESULTS.parquet (needs pyarrow).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Measured steps T of every point (default 200).")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Steps run before the measured window (default 0).")
@click.option("--k", "k", type=click.IntRange(min=1), default=None,
              help="Lyapunov exponents per point (default 1).")
@click.option("--input-scale", type=float, default=None,
              help="Standard deviation of the inputs; 0: the autonomous system (default 1).")
@click.option("--h0-scale", type=float, default=None,
              help="Standard deviation of the random initial state (default 0: zeros).")
@click.option("--threshold", type=float, default=None,
              help="Vanishing threshold of the gradient horizon (default 1e-3).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local processes (default: every core; 1 computes in this process); "
                   "with --dask local, the cluster's workers.")
@click.option("--dask", "dask_mode", type=click.Choice(["local"]), default=None,
              help="Run the points as Dask tasks on a new LocalCluster.")
@click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
              help="Run the points as Dask tasks on this scheduler's cluster.")
@click.option("--retry-failed", is_flag=True,
              help="Compute again the points recorded as failed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line and no summary.")
@json_option
def sweep(spec, grid_texts, output, steps, warmup, k, input_scale, h0_scale, threshold, workers,
          dask_mode, scheduler, retry_failed, quiet, as_json):
    """Run the analysis at every point of a grid and write one row per point.

    \b
    Each point builds a cell (weights as `gradflow init` draws them, from its seed), runs
    warmup + steps steps of inputs and initial state drawn from the same seed, and records
    lambda_1..k (gradflow lyapunov after the warm-up), the fitted decay rate and factor, the
    gradient and growth horizons and the verdict over the last `steps` steps (gradflow
    decay), sigma_max, the spectral radius, Pascanu's bound (RNN) and the wall time.

    \b
    Grid: whitespace-separated AXIS=VALUES; the first axis varies slowest.
      a,b,c              a list
      start:stop:count   count values from start to stop, both included (linspace)
      start:stop         integer axes only: start, start+1, ..., stop-1 (seed=0:5 is 0..4)
    Axes: cell (every cell configuration: rnn, rnn-tanh, rnn-relu, lstm, gru-reset_after,
    ...), activation, variant, forget_bias, hidden, inputs, init, gain, seed, steps,
    input_scale, h0_scale.  SPEC.toml: the axes under [grid] (lists, single values or the strings
    above), warmup, k and threshold under [options].  See docs/sweep.md.

    \b
    Rows are appended as points finish; rerun the same command after an interruption and
    only the missing points are computed.  A failing point is recorded with its error.
    """
    from ..errors import GradflowError
    from ..io.atomic import refuse_overwriting_inputs
    from ..sweep.runner import plan_sweep, run_sweep
    from ..sweep.store import results_format

    values = {"steps": steps, "input_scale": input_scale, "h0_scale": h0_scale,
              "warmup": warmup, "k": k, "threshold": threshold}
    if dask_mode is not None and scheduler is not None:
        raise click.UsageError("give either --dask local or --scheduler, not both")
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sets local processes or the --dask local workers; "
                               "a --scheduler's cluster has its own")
    grid = _read_grid(spec, " ".join(grid_texts) if grid_texts else None, values)
    results_format(output)
    refuse_overwriting_inputs(output, [spec])
    if scheduler is not None or dask_mode is not None:
        from ..sweep.executors import check_scheduler_address, require_distributed

        if scheduler is not None:
            check_scheduler_address(scheduler)
        require_distributed()
    plan = plan_sweep(grid, output, retry_failed=retry_failed)
    progress = False if quiet else None
    try:
        if scheduler is None and dask_mode is None:
            summary = run_sweep(grid, output, workers=workers, progress=progress, plan=plan)
        else:
            from .._threads import available_cores
            from ..sweep.executors import DaskExecutor, dask_client

            if scheduler is not None:
                where = f"Dask scheduler {scheduler}"
            else:
                count = workers or available_cores()
                where = f"Dask LocalCluster ({count} worker{'s' if count != 1 else ''})"
            with dask_client(scheduler=scheduler, workers=workers) as client:
                summary = run_sweep(grid, output, executor=DaskExecutor(client, where),
                                    progress=progress, plan=plan)
    except KeyboardInterrupt:
        saved = len(plan.results.read())
        raise GradflowError(f"interrupted: {saved} of {len(plan.points)} points are saved in "
                            f"{plan.results.journal}; rerun the same command to go on") from None
    if as_json:
        emit_json({**summary.to_dict(), "grid": grid.describe()})
    elif not quiet:
        note(_done_message(summary))
