"""The same rows, bit for bit, from this process, local processes and a Dask cluster."""

import functools
import sys

import pytest
from click.testing import CliRunner

from gradflow.cli import main
from gradflow.sweep.evaluate import evaluate_point
from gradflow.sweep.executors import DaskExecutor, ProcessExecutor
from gradflow.sweep.grid import parse_grid
from gradflow.sweep.runner import run_sweep
from gradflow.sweep.store import read_results

GRID = ("cell=rnn-tanh,rnn-relu,lstm,gru,gru-reset_after gain=0.7,1.6 hidden=7 seed=0:2 "
        "input_scale=0.4 h0_scale=0.5")


def grid():
    return parse_grid(GRID).with_values(steps=60, warmup=15, k=3)


def measured(path):
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in read_results(path)]


def logged_evaluate(log, point):
    """evaluate_point that appends the point's key to a file (counts calls across workers)."""
    with open(log, "a") as fh:
        fh.write(point.key + "\n")
    return evaluate_point(point)


@pytest.fixture(scope="module")
def serial_rows(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "r.csv"
    assert run_sweep(grid(), out, workers=1).computed == 20
    return measured(out)


def test_local_processes_match_one_process(tmp_path, serial_rows):
    """Two worker processes against one: the same rows bit for bit.

    Against this process the rows agree to the last bit or two only: with fused
    multiply-add available, Numba's in-process compilation (which this process may have done)
    and the object code its cache holds (which the workers load) fuse different operations.
    """
    one = run_sweep(grid(), tmp_path / "one.csv", executor=ProcessExecutor(1))
    assert one.executor == "1 local process" and one.computed == 20
    summary = run_sweep(grid(), tmp_path / "r.csv", executor=ProcessExecutor(2))
    assert summary.executor == "2 local processes" and summary.computed == 20
    rows = measured(tmp_path / "r.csv")
    assert rows == measured(tmp_path / "one.csv")
    for row, ours in zip(rows, serial_rows, strict=True):
        for key, value in row.items():
            if isinstance(value, float):
                assert value == pytest.approx(ours[key], rel=1e-12, abs=1e-15), key
            else:
                assert value == ours[key], key


def test_dask_cluster_matches_the_local_executor_and_resumes(tmp_path, serial_rows):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "r.csv"
    log = tmp_path / "calls.txt"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        summary = run_sweep(grid(), out, client=client)
        assert summary.computed == 20 and summary.executor.startswith("Dask scheduler")
        assert measured(out) == serial_rows
        # cut the file to 8 rows as a kill would; a rerun computes the other 12 only
        lines = out.read_text().splitlines(keepends=True)
        out.write_text("".join(lines[:9]))
        kept = {r["key"] for r in read_results(out)}
        again = run_sweep(grid(), out, executor=DaskExecutor(client, "test cluster"),
                          evaluate=functools.partial(logged_evaluate, log))
    assert (again.computed, again.reused, again.executor) == (12, 8, "test cluster")
    calls = log.read_text().split()
    assert len(calls) == 12 and not kept & set(calls)
    assert measured(out) == serial_rows


def test_without_dask_the_cli_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    out = tmp_path / "r.csv"
    for extra in (["--dask", "local"], ["--scheduler", "tcp://127.0.0.1:8786"]):
        r = CliRunner().invoke(main, ["sweep", "--grid", "gain=1", "-o", str(out), *extra])
        assert r.exit_code == 1
        assert r.output.strip().splitlines() == [
            "Error: --dask and --scheduler need the optional dependency dask.distributed: pip "
            "install 'gradflow[dask]'"]
    assert not out.exists()


def test_cli_on_a_running_scheduler(tmp_path, serial_rows):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "r.csv"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        r = CliRunner().invoke(main, ["sweep", "--grid", GRID, "--steps", "60", "--warmup",
                                      "15", "--k", "3", "-o", str(out), "--scheduler",
                                      address])
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith(f"wrote {out}: 20 points (20 computed now on Dask scheduler "
                               f"{address}, 0 already there), 0 failed")
    assert measured(out) == serial_rows


def _distributed_log_levels():
    import logging

    return (logging.getLogger("distributed.worker").getEffectiveLevel(),
            logging.getLogger("distributed.nanny").getEffectiveLevel())


def test_the_local_clusters_workers_log_nothing_of_their_own():
    """The sweep speaks for its workers: after a kill -9 of the parent, a worker whose
    heartbeat failed used to print the traceback of it (logged at ERROR) to the terminal."""
    import logging

    pytest.importorskip("distributed")
    from gradflow.sweep.executors import dask_client

    with dask_client(workers=1) as client:
        levels = list(client.run(_distributed_log_levels).values())
    assert levels == [(logging.CRITICAL, logging.CRITICAL)]
