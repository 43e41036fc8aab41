"""The kernels' LLVM optimisation level: set while one compiles, Numba's own left as it was."""

import numpy as np
from numba import njit
from numba.core import config, event

from gradflow.kernels import _jit


class _LevelSeen(event.Listener):
    """Numba's optimisation level at the start of every compilation."""

    def __init__(self):
        self.levels = []

    def on_start(self, event):
        self.levels.append(int(config.OPT))

    def on_end(self, event):
        pass


def _fresh_kernel():
    def total(x):
        s = 0.0
        for v in x:
            s += v
        return s

    return _jit.kernel(total)


def _compile_and_watch(monkeypatch):
    monkeypatch.setitem(_jit.OPTIONS, "cache", False)  # a kernel of the test's own, not cached
    seen = _LevelSeen()
    before = int(config.OPT)
    with event.install_listener("numba:compile", seen):
        assert _fresh_kernel()(np.arange(4.0)) == 6.0
    return seen.levels, before


def test_a_kernel_compiles_at_its_level_and_numba_keeps_its_own(monkeypatch):
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    config.reload_config()
    levels, before = _compile_and_watch(monkeypatch)
    assert levels and set(levels) == {_jit.OPT_LEVEL}
    assert int(config.OPT) == before == 3  # Numba's default, for every other function

    @njit
    def other(x):
        return x + 1

    seen = _LevelSeen()
    with event.install_listener("numba:compile", seen):
        assert other(1) == 2
    assert seen.levels == [3]


def test_numba_opt_in_the_environment_decides(monkeypatch):
    monkeypatch.setenv("NUMBA_OPT", "2")
    config.reload_config()  # as Numba does at its next compilation
    try:
        levels, _ = _compile_and_watch(monkeypatch)
        assert levels and set(levels) == {2}
    finally:
        monkeypatch.delenv("NUMBA_OPT")
        config.reload_config()
    assert int(config.OPT) == 3
