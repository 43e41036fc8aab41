"""Running a sweep: which points are left, where they run, and the results file they go to.

Resume semantics: a point is identified by its key (a hash of its parameters, see
:attr:`gradflow.sweep.point.SweepPoint.key`).  Rerunning a sweep with the same output
computes only the points whose key is not in the file yet; failed points are kept as
recorded unless ``retry_failed``.  An output that holds points outside the grid is refused
(a results file belongs to one grid); a grid that extends the one already run (more seeds,
more gains, with the same shared options) is fine: only the new points are computed.
"""

import time
from dataclasses import dataclass, fields

from .. import validation
from .._threads import available_cores
from ..errors import GradflowError
from ..progress import Progress
from .evaluate import evaluate_point
from .executors import DaskExecutor, ProcessExecutor, SerialExecutor
from .point import SweepPoint
from .store import ResultsFile


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, decided before anything is written.

    Attributes
    ----------
    points : tuple of SweepPoint
        Every point of the grid, in grid order.
    pending : tuple of SweepPoint
        The points to compute now, heaviest first.
    existing : dict
        ``{key: row}`` already in the results file.
    results : ResultsFile
    """

    points: tuple
    pending: tuple
    existing: dict
    results: ResultsFile

    @property
    def reused(self):
        """Points taken from the results file."""
        return len(self.points) - len(self.pending)


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did.

    Attributes
    ----------
    output : str
    total : int
        Points in the grid.
    computed : int
        Points computed in this run.
    reused : int
        Points already in the results file.
    failed : int
        Rows with ``status = "error"`` in the file now.
    first_failure : str or None
        The first failed point (grid order) and its message.
    wall_time_s : float
        Seconds this run took.
    executor : str
        Where the points ran.
    """

    output: str
    total: int
    computed: int
    reused: int
    failed: int
    first_failure: str | None
    wall_time_s: float
    executor: str

    def to_dict(self):
        """JSON form."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def point_of_row(row):
    """The :class:`SweepPoint` a results row was computed for."""
    return SweepPoint(**{f.name: row[f.name] for f in fields(SweepPoint)})


def plan_sweep(grid, output, *, retry_failed=False):
    """Check ``output`` against the grid and decide the points left to compute.

    Nothing is written.

    Parameters
    ----------
    grid : SweepGrid or sequence of SweepPoint
    output : str or path-like
        ``RESULTS.csv`` or ``RESULTS.parquet``.
    retry_failed : bool
        Compute again the points recorded as failed.

    Returns
    -------
    SweepPlan
    """
    points = tuple(grid.points()) if hasattr(grid, "points") else tuple(grid)
    if not points:
        raise GradflowError("the sweep has no points")
    ks = sorted({p.k for p in points})
    if len(ks) > 1:
        raise GradflowError(f"every point of a sweep must have the same k; got {ks}")
    results = ResultsFile(output, ks[0])
    existing = results.read()
    keys = {p.key for p in points}
    for key, row in existing.items():
        _check_row_key(results.path, key, row)
    outside = [row for key, row in existing.items() if key not in keys]
    if outside:
        first = point_of_row(outside[0]).describe()
        raise GradflowError(
            f"{results.path}: holds {len(outside)} point{'s' if len(outside) != 1 else ''} "
            f"outside this grid (first: {first}); a results file belongs to one grid: "
            "choose another output, or delete it to start over")
    pending = [p for p in points if p.key not in existing
               or (retry_failed and existing[p.key]["status"] != "ok")]
    pending.sort(key=lambda p: p.cost(), reverse=True)
    return SweepPlan(points=points, pending=tuple(pending), existing=existing, results=results)


def _check_row_key(path, key, row):
    """Refuse a row whose parameters are not those its key was computed from (an edited row)."""
    try:
        point = point_of_row(row)
    except (GradflowError, TypeError, ValueError) as exc:
        raise GradflowError(f"{path}: the row with key {key} holds parameters no point has "
                            f"({exc}); delete the row, or the file to start over") from None
    if point.key != key:
        raise GradflowError(f"{path}: the row with key {key} holds the parameters of another "
                            f"point ({point.describe()}); it was edited: delete the row, or the "
                            "file to start over")


def _executor(executor, client, workers):
    if executor is not None:
        return executor
    if client is not None:
        return DaskExecutor(client)
    workers = available_cores() if workers is None else validation.integer(
        workers, "workers", minimum=1)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)


def run_sweep(grid, output, *, workers=None, client=None, executor=None, retry_failed=False,
              progress=False, evaluate=evaluate_point, plan=None):
    """Compute every point of a grid not yet in ``output`` and write one row per point.

    Rows are appended as points finish (see :mod:`gradflow.sweep.store`), so an interrupted
    sweep rerun with the same arguments computes only the missing points; when all are done
    the file is finalised in grid order.  A failing point is recorded with its message and
    the sweep goes on.

    Parameters
    ----------
    grid : SweepGrid or sequence of SweepPoint
    output : str or path-like
        ``RESULTS.csv`` or ``RESULTS.parquet`` (pyarrow).
    workers : int, optional
        Local processes (all cores by default; 1 computes in this process).
    client : distributed.Client, optional
        Run the points as Dask tasks on this client's cluster instead.
    executor : object, optional
        Any object with ``run(function, points)`` (see :mod:`gradflow.sweep.executors`).
    retry_failed : bool
        Compute again the points recorded as failed.
    progress : bool or None
        Draw the progress line on stderr (None: when stderr is a terminal).
    evaluate : callable
        The per-point function; :func:`~gradflow.sweep.evaluate.evaluate_point`.
    plan : SweepPlan, optional
        From :func:`plan_sweep` with the same grid and output (else made here).

    Returns
    -------
    SweepSummary

    Examples
    --------
    >>> from gradflow.sweep.grid import parse_grid
    >>> from gradflow.sweep.runner import run_sweep
    >>> run_sweep(parse_grid("gain=0.5:1.5:3 hidden=8 steps=50"), "r.csv")  # doctest: +SKIP
    """
    start = time.monotonic()
    plan = plan_sweep(grid, output, retry_failed=retry_failed) if plan is None else plan
    rows = dict(plan.existing)
    runner = _executor(executor, client, workers)
    in_order = list(plan.existing) == [p.key for p in plan.points]
    stale = not in_order or not plan.results.tidy or (
        plan.results.format == "parquet" and plan.results.has_journal)
    ordered = [rows[p.key] for p in plan.points] if not plan.pending else None
    if plan.pending or stale:
        ordered = _compute(plan, runner, evaluate, progress, rows)
    return _summary(plan, ordered, runner, start)


def progress_note(done, total, reused=0, failed=0):
    """The counts after the progress bar: ``"37/192 points (12 already done), 2 failed"``."""
    text = f"{done}/{total} points"
    if reused:
        text += f" ({reused} already done)"
    if failed:
        text += f", {failed} failed"
    return text


def _compute(plan, runner, evaluate, progress, rows):
    results = plan.results
    results.open()
    try:
        # the bar counts the points' estimated costs, so its ETA weighs heavy points more
        costs = {p.key: round(p.cost()) for p in plan.pending}
        total, done, failed = len(plan.points), plan.reused, 0
        bar = Progress(sum(costs.values()), label="sweep", show_pos=False, enabled=progress,
                       note=progress_note(done, total, plan.reused))
        try:
            for point, row in runner.run(evaluate, plan.pending):
                results.append(row)
                rows[point.key] = row
                done += 1
                failed += row["status"] != "ok"
                bar.advance(costs[point.key],
                            note=progress_note(done, total, plan.reused, failed))
        finally:
            bar.close()
        ordered = [rows[p.key] for p in plan.points]
        results.finalise(ordered)
    finally:
        results.close()
    return ordered


def _summary(plan, ordered, runner, start):
    failures = [r for r in ordered if r["status"] != "ok"]
    first = None
    if failures:
        first = f"{point_of_row(failures[0]).describe()}: {failures[0]['error']}"
    return SweepSummary(
        output=plan.results.path,
        total=len(plan.points),
        computed=len(plan.pending),
        reused=plan.reused,
        failed=len(failures),
        first_failure=first,
        wall_time_s=round(time.monotonic() - start, 3),
        executor=runner.description,
    )
