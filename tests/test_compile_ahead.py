"""compile_ahead: a process waiting for another one's kernel makes its later calls meanwhile."""

import os
import threading
import time

import pytest

from gradflow.kernels import _jit

fcntl = pytest.importorskip("fcntl")


def _held_elsewhere(path, seconds):
    """Lock ``path`` on a descriptor of its own (as another process would) for ``seconds``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(seconds, os.close, (fd,)).start()


def test_the_calls_fill_the_wait_in_order_once_each(tmp_path):
    path = str(tmp_path / "kernel.lock")
    made = []

    def failing():
        made.append("failing")
        raise RuntimeError("a head start that fails is dropped")

    _held_elsewhere(path, 0.6)
    t0 = time.monotonic()
    with _jit.compile_ahead([failing, lambda: made.append("second")]), _jit._held(path):
        waited = time.monotonic() - t0
        # the lock is ours now: the other holder has let go
        probe = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(probe)
    assert made == ["failing", "second"]
    assert waited >= 0.5


def test_nothing_is_made_without_a_wait_or_within_a_kernels_compilation(tmp_path):
    path = str(tmp_path / "kernel.lock")
    made = []
    with _jit.compile_ahead([lambda: made.append(1)]):
        with _jit._held(path):  # free: no wait
            pass
        _held_elsewhere(path, 0.3)
        _jit._local.depth = 2  # waiting for a callee of a kernel being compiled
        try:
            with _jit._held(path):
                pass
        finally:
            _jit._local.depth = 0
    assert made == []
    with _jit._held(path):  # outside the block: the calls are gone
        pass
    assert _jit._local.ahead == []
