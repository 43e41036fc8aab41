"""One call on a process beside this one: its value, its errors, and nothing left running."""

import multiprocessing
import os
import time

import pytest

from gradflow.errors import GradflowError
from gradflow.sweep.executors import Aside


def _children():
    return set(multiprocessing.active_children())


def _new_children_after(before, seconds):
    """Child processes started since ``before`` still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    return _children() - before


def test_the_call_runs_on_another_process_and_returns_its_value():
    before = _children()
    with Aside(os.getpid) as aside:
        pid = aside.result()
    assert isinstance(pid, int) and pid != os.getpid()
    assert _new_children_after(before, 10) == set()


def test_the_worker_exits_once_its_value_is_in_not_only_when_the_block_is_left():
    before = _children()
    with Aside(os.getpid) as aside:
        aside.result()
        assert _new_children_after(before, 10) == set()  # still inside the block
        assert aside.result() != os.getpid()  # the value stays


def test_the_calls_exception_is_raised_by_result():
    with Aside(int, "seven") as aside, pytest.raises(ValueError, match="seven"):
        aside.result()


def test_a_worker_that_dies_is_a_named_error():
    with Aside(os._exit, 3) as aside, pytest.raises(GradflowError, match="_exit.*died"):
        aside.result()


def test_leaving_the_block_stops_an_unfinished_call():
    before, started = _children(), time.monotonic()
    with Aside(time.sleep, 120) as aside:
        time.sleep(0.5)
        assert not aside._future.done()
        assert _children() - before  # the worker is there while the call runs
    assert _new_children_after(before, 10) == set()
    assert time.monotonic() - started < 30


def test_an_error_here_stops_the_call_there():
    before = _children()
    with pytest.raises(RuntimeError, match="here"), Aside(time.sleep, 120):
        raise RuntimeError("here")
    assert _new_children_after(before, 10) == set()


def test_the_reports_claims_are_measured_here_when_their_process_died(monkeypatch):
    import gradflow.claims.measure as measure
    from gradflow.cli.report_cmd import _when_measured

    monkeypatch.setattr(measure, "claims", lambda: "measured here")
    with Aside(os._exit, 3) as aside:
        assert _when_measured(aside)() == "measured here"
