"""Fault injection: a signal to a running `gradflow sweep` leaves no process of it behind.

The sweep runs as a real subprocess in a session of its own, so every process it starts (the
pool's workers, multiprocessing's resource tracker, Dask's workers) carries the session id
of the sweep; after the signal, none of them may outlive the sweep, the pipes of its stdout
and stderr reach end-of-file (nothing holds them open), and stderr holds at most the one
``Error: interrupted`` line.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRID = "gain=0.5:2:40 hidden=64"  # 40 points of 20000 steps: far longer than the test waits

pytestmark = pytest.mark.skipif(not hasattr(os, "getsid") or not hasattr(signal, "SIGHUP"),
                                reason="POSIX sessions and signals")


def _session_members(sid):
    """Live (not zombie) processes whose session id is ``sid``."""
    try:
        import psutil
    except ImportError:
        psutil = None
    members = []
    if psutil is not None:
        for process in psutil.process_iter():
            try:
                if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                    members.append(process.pid)
            except (OSError, psutil.Error):
                pass
        return members
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _start_sweep(tmp_path, *extra, workers=2):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradflow", "sweep", "--grid", GRID, "--steps", "20000",
         "--workers", str(workers), "-o", "r.csv", *extra],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    # the parent, the resource tracker and the workers
    deadline = time.monotonic() + 120
    while len(_session_members(process.pid)) < 2 + workers:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"the sweep did not start its workers: {err.decode()}")
        time.sleep(0.1)
    return process


def _signal_and_collect(process, signum, *, group=False, settle=1.5):
    time.sleep(settle)  # the workers are computing
    (os.killpg if group else os.kill)(process.pid, signum)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # a pipe still held open: the failure this test is for
        survivors = _session_members(process.pid)
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"the sweep's pipes stayed open after {signal.Signals(signum).name}; "
                    f"processes left: {survivors}")
    deadline = time.monotonic() + 10
    while _session_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _session_members(process.pid)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == [], f"processes of the sweep outlived it: {survivors}"
    return out.decode(), err.decode()


INTERRUPTED = "Error: interrupted: "


@pytest.mark.parametrize("name", [
    "SIGTERM",
    "SIGKILL",
    pytest.param("SIGINT", marks=pytest.mark.slow),
    pytest.param("SIGHUP", marks=pytest.mark.slow),
])
def test_no_worker_outlives_a_signalled_sweep(tmp_path, name):
    signum = getattr(signal, name)
    process = _start_sweep(tmp_path)
    out, err = _signal_and_collect(process, signum)
    assert out == ""
    if signum == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
        assert err == ""  # not even the resource tracker's "leaked semaphore" warning
    else:
        assert process.returncode == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(INTERRUPTED), err
        assert "rerun the same command to go on" in lines[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "tmp" in p.name] == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_to_the_whole_process_group(tmp_path, name):
    """What a terminal does on Ctrl-C or a hang-up: every process of the group is signalled."""
    process = _start_sweep(tmp_path)
    out, err = _signal_and_collect(process, getattr(signal, name), group=True)
    assert process.returncode == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("Error: interrupted", "Error: a worker")), err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["SIGINT", "SIGKILL"])
def test_ctrl_c_and_kill_under_dask_local(tmp_path, name):
    pytest.importorskip("distributed")
    process = _start_sweep(tmp_path, "--dask", "local")
    signum = getattr(signal, name)
    out, err = _signal_and_collect(process, signum, group=signum == signal.SIGINT, settle=6)
    if signum == signal.SIGKILL:
        assert err == ""
    else:
        lines = err.strip().splitlines()
        assert process.returncode == 1
        assert len(lines) == 1 and lines[0].startswith(INTERRUPTED), err
