"""Sweep points against the analyses called directly; results files; resuming; failures."""

import io
import os
import sys
import time

import numpy as np
import pytest

import gradflow as gf
from gradflow._threads import blas_threads
from gradflow.progress import Progress, duration
from gradflow.sweep.evaluate import evaluate_point
from gradflow.sweep.grid import parse_grid
from gradflow.sweep.point import point_trajectory, sweep_point
from gradflow.sweep.runner import plan_sweep, progress_note, run_sweep
from gradflow.sweep.store import ResultsFile, read_results

GRID = "cell=rnn,lstm gain=0.6,1.4 seed=0:3"
OPTIONS = {"steps": 40, "warmup": 10, "k": 2, "input_scale": 0.3, "h0_scale": 0.5}


def grid(text=GRID, **options):
    return parse_grid(text + " hidden=6").with_values(**{**OPTIONS, **options})


def measured(rows):
    """Rows without the wall time, the one column that differs between runs."""
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]


class Counting:
    """evaluate_point that records its calls and can break down after a number of them."""

    def __init__(self, stop_after=None, exception=KeyboardInterrupt):
        self.calls = []
        self.stop_after = stop_after
        self.exception = exception

    def __call__(self, point):
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            raise self.exception("stopped")
        self.calls.append(point.key)
        return evaluate_point(point)


# ---------------------------------------------------------------------- one point


def test_row_equals_the_analyses_called_directly():
    point = sweep_point(cell="rnn-tanh", hidden=12, inputs=3, gain=1.3, seed=5, steps=60,
                        warmup=20, k=3, input_scale=0.5, h0_scale=1.0)
    row = evaluate_point(point)
    assert row["status"] == "ok" and row["error"] is None and row["key"] == point.key
    model = gf.RNN.init(12, 3, gain=1.3, seed=5)
    xs = 0.5 * np.random.default_rng([5, 1]).standard_normal((80, 3))
    s0 = np.random.default_rng([5, 2]).standard_normal(12)
    got_xs, got_s0 = point_trajectory(point)
    assert np.array_equal(got_xs, xs) and np.array_equal(got_s0, s0)
    with blas_threads(1):
        lyap = gf.lyapunov(model, xs, s0, k=3, warmup=20)
        S = model.run(xs, s0)
        dec = gf.decay(model, xs[20:], S[20])
    assert [row[f"lambda_{i}"] for i in (1, 2, 3)] == lyap.exponents.tolist()
    assert row["log10_decay_rate"] == dec.log10_decay_rate
    assert row["decay_factor"] == dec.decay_factor
    assert (row["gradient_horizon"], row["growth_horizon"], row["verdict"]) == (
        dec.gradient_horizon, dec.growth_horizon, dec.verdict)
    sigma = np.linalg.norm(model["W_h"], 2)
    assert row["sigma_max"] == pytest.approx(sigma, rel=1e-12)
    assert row["bound"] == pytest.approx(sigma, rel=1e-12)  # gamma = 1 for tanh
    assert row["spectral_radius"] == pytest.approx(np.abs(np.linalg.eigvals(model["W_h"])).max(),
                                                   rel=1e-12)
    assert row["wall_time_s"] >= 0


def test_gated_rows_and_the_autonomous_system():
    point = sweep_point(cell="lstm", hidden=5, gain=1.1, seed=1, steps=30, forget_bias=1.0,
                        input_scale=0.0, h0_scale=1.0, k=10)
    row = evaluate_point(point)
    model = gf.LSTM.init(5, 1, gain=1.1, seed=1, forget_bias=1.0)
    xs, s0 = point_trajectory(point)
    assert not xs.any() and s0.shape == (10,)
    with blas_threads(1):
        lyap = gf.lyapunov(model, xs, s0, k=10)
    assert [row[f"lambda_{i}"] for i in range(1, 11)] == lyap.exponents.tolist()
    sigma = max(np.linalg.norm(model[name], 2) for name in model.recurrent_matrices)
    assert row["sigma_max"] == pytest.approx(sigma, rel=1e-12)
    assert row["bound"] is None and row["kind"] == "LSTM" and row["activation"] is None
    gru = evaluate_point(sweep_point(cell="gru-reset_after", hidden=4, steps=20))
    assert gru["kind"] == "GRU-reset_after" and gru["variant"] == "reset_after"


def test_a_point_depends_on_itself_only():
    point = sweep_point(hidden=7, gain=1.7, steps=50, seed=2, k=2)
    first = evaluate_point(point)
    evaluate_point(sweep_point(hidden=9, gain=0.3, steps=20, seed=1))
    np.random.seed(123)  # noqa: NPY002 - the global state must not matter
    assert measured([evaluate_point(point)]) == measured([first])


def test_a_row_does_not_depend_on_the_callers_blas_threads():
    # at this size a two-thread LAPACK eigensolver rounds differently from a one-thread one
    point = sweep_point(hidden=256, gain=1.5, steps=40, h0_scale=1.0, input_scale=0.0)
    with blas_threads(2):
        two = evaluate_point(point)
    with blas_threads(1):
        one = evaluate_point(point)
    assert measured([two]) == measured([one])


def test_a_failing_point_is_a_row_not_an_exception():
    point = sweep_point(cell="rnn-relu", hidden=8, gain=4.0, steps=3000, h0_scale=1.0)
    row = evaluate_point(point)
    assert row["status"] == "error"
    assert "overflows float64 at step" in row["error"] and "\n" not in row["error"]
    assert row["lambda_1"] is None and row["verdict"] is None
    assert row["gain"] == 4.0 and row["key"] == point.key


# ---------------------------------------------------------------------- results files


def test_csv_holds_the_computed_floats_exactly(tmp_path):
    g = grid()
    summary = run_sweep(g, tmp_path / "r.csv", workers=1)
    assert (summary.total, summary.computed, summary.reused, summary.failed) == (12, 12, 0, 0)
    rows = read_results(tmp_path / "r.csv")
    assert [r["key"] for r in rows] == [p.key for p in g.points()]  # grid order
    direct = [evaluate_point(p) for p in g.points()]
    assert measured(rows) == measured(direct)
    assert oct(os.stat(tmp_path / "r.csv").st_mode & 0o777) != "0o600"


def test_parquet_equals_csv_and_its_journal_goes(tmp_path):
    pytest.importorskip("pyarrow")
    g = grid()
    run_sweep(g, tmp_path / "r.csv", workers=1)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(g, tmp_path / "r.parquet", workers=1, evaluate=Counting(stop_after=5))
    assert not (tmp_path / "r.parquet").exists()
    assert len(read_results(tmp_path / "r.parquet")) == 5  # read from the journal
    counting = Counting()
    run_sweep(g, tmp_path / "r.parquet", workers=1, evaluate=counting)
    assert len(counting.calls) == 7
    assert sorted(os.listdir(tmp_path)) == ["r.csv", "r.parquet"]
    assert measured(read_results(tmp_path / "r.parquet")) == measured(
        read_results(tmp_path / "r.csv"))
    again = run_sweep(g, tmp_path / "r.parquet", workers=1)
    assert again.computed == 0 and again.reused == 12


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(gf.GradflowError, match=r"pyarrow: pip install 'gradflow\[parquet\]'"):
        run_sweep(grid(), tmp_path / "r.parquet", workers=1)
    assert os.listdir(tmp_path) == []


def test_one_writer_at_a_time(tmp_path):
    first = ResultsFile(tmp_path / "r.csv", 1)
    first.open()
    try:
        with pytest.raises(gf.GradflowError, match="another sweep is writing to it"):
            ResultsFile(tmp_path / "r.csv", 1).open()
    finally:
        first.close()
    ResultsFile(tmp_path / "r.csv", 1).open()


# ---------------------------------------------------------------------- resuming


@pytest.mark.parametrize("exception", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_sweep_resumes_with_the_missing_points_only(tmp_path, exception):
    g = grid()
    out = tmp_path / "r.csv"
    with pytest.raises(exception):
        run_sweep(g, out, workers=1, evaluate=Counting(stop_after=5, exception=exception))
    saved = read_results(out)
    assert len(saved) == 5
    counting = Counting()
    summary = run_sweep(g, out, workers=1, evaluate=counting)
    assert (summary.computed, summary.reused) == (7, 5)
    assert sorted(counting.calls) == sorted({p.key for p in g.points()} -
                                            {r["key"] for r in saved})
    reference = run_sweep(g, tmp_path / "ref.csv", workers=1)
    assert reference.computed == 12
    assert measured(read_results(out)) == measured(read_results(tmp_path / "ref.csv"))


def test_a_truncated_file_and_a_torn_line(tmp_path):
    g = grid()
    out = tmp_path / "r.csv"
    run_sweep(g, out, workers=1)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:4]) + lines[4][:25])  # header, 3 rows, a torn 4th
    assert len(read_results(out)) == 3
    counting = Counting()
    run_sweep(g, out, workers=1, evaluate=counting)
    assert len(counting.calls) == 9
    assert out.read_text().count("\n") == 13
    assert measured(read_results(out))[4] == measured([evaluate_point(g.points()[4])])[0]


def test_failed_points_are_kept_and_retried_on_request(tmp_path):
    g = parse_grid("cell=rnn-relu gain=0.5,4 hidden=8").with_values(steps=3000, h0_scale=1.0)
    out = tmp_path / "r.csv"
    summary = run_sweep(g, out, workers=1)
    assert summary.failed == 1 and "gain=4" in summary.first_failure
    assert "overflows float64" in summary.first_failure
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["ok", "error"]
    counting = Counting()
    assert run_sweep(g, out, workers=1, evaluate=counting).computed == 0
    assert counting.calls == []
    again = run_sweep(g, out, workers=1, evaluate=counting, retry_failed=True)
    assert again.computed == 1 and counting.calls == [g.points()[1].key]
    assert len(read_results(out)) == 2 and out.read_text().count("\n") == 3


def test_another_grid_is_refused_and_an_extension_is_fine(tmp_path):
    out = tmp_path / "r.csv"
    run_sweep(grid("gain=0.6,1.4 seed=0:2"), out, workers=1)
    before = out.read_bytes()
    with pytest.raises(gf.GradflowError, match="holds 4 points outside this grid"):
        run_sweep(grid("gain=0.6,1.4 seed=0:2", steps=41), out, workers=1)
    with pytest.raises(gf.GradflowError, match="holds 2 points outside this grid"):
        run_sweep(grid("gain=0.6 seed=0:3"), out, workers=1)
    with pytest.raises(gf.GradflowError, match="holds results with k = 2"):
        run_sweep(grid("gain=0.6,1.4 seed=0:2", k=1), out, workers=1)
    assert out.read_bytes() == before
    counting = Counting()
    summary = run_sweep(grid("gain=0.6,1.4,2 seed=0:3"), out, workers=1, evaluate=counting)
    assert (summary.total, summary.computed, summary.reused) == (9, 5, 4)


def test_nothing_left_touches_nothing(tmp_path):
    out = tmp_path / "r.csv"
    run_sweep(grid(), out, workers=1)
    stamp = os.stat(out).st_mtime_ns
    plan = plan_sweep(grid(), out)
    assert plan.pending == () and plan.reused == 12
    assert run_sweep(grid(), out, workers=1, plan=plan).computed == 0
    assert os.stat(out).st_mtime_ns == stamp


def test_heavy_points_go_first():
    plan_points = plan_sweep(parse_grid("hidden=4,32,8 steps=10"), "unused.csv").pending
    assert [p.hidden for p in plan_points] == [32, 8, 4]


# ---------------------------------------------------------------------- progress


def test_progress_line(monkeypatch):
    stream = io.StringIO()
    bar = Progress(4, label="sweep", show_pos=False, enabled=True, stream=stream,
                   note=progress_note(1, 5, reused=1))
    assert "sweep" in stream.getvalue()
    assert "1/5 points (1 already done)" in stream.getvalue()
    # the ETA weighs the steps (the points' costs): 3 of 4 done in 6 s leaves 2 s
    clock = time.time() + 6
    monkeypatch.setattr(time, "time", lambda: clock)
    bar.advance(3, note=progress_note(2, 5, reused=1))
    assert "00:00:02" in stream.getvalue().split("\r")[-1]
    bar.advance(1, note=progress_note(3, 5, reused=1, failed=1))
    bar.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "3/5 points (1 already done), 1 failed" in last
    assert stream.getvalue().endswith("\n")
    quiet = io.StringIO()
    Progress(5, enabled=False, stream=quiet).advance(1)
    assert quiet.getvalue() == ""
    assert [duration(s) for s in (3.25, 75, 3725)] == ["3.2s", "1m15s", "1h02m"]


def test_run_sweep_draws_its_progress_on_request(tmp_path, capsys):
    run_sweep(grid("gain=0.6,1.4"), tmp_path / "r.csv", workers=1, progress=True)
    err = capsys.readouterr().err
    assert "sweep" in err and "0/2 points" in err and "2/2 points" in err.split("\r")[-1]
    run_sweep(grid("gain=0.6,1.4,2"), tmp_path / "r.csv", workers=1)
    assert capsys.readouterr().err == ""  # off by default


def test_workers_must_be_a_positive_integer(tmp_path):
    for workers in (1.7, 0, True):
        with pytest.raises(gf.GradflowError, match="workers must be a positive integer"):
            run_sweep(grid(), tmp_path / "r.csv", workers=workers)
    assert not (tmp_path / "r.csv").exists()
