"""Scratch arrays kept between calls (``gradflow.resources``): reuse, limits, and no leaks."""

import mmap
import threading

import numpy as np

import gradflow as gf
from gradflow.analysis.lag_mass import lag_mass
from gradflow.analysis.sensitivity import sensitivities
from gradflow.resources import ScratchStore, kept, scratch


def test_outside_a_store_every_array_is_new():
    a, b = scratch("x", (3, 4)), scratch("x", (3, 4), zero=True)
    assert a.shape == b.shape == (3, 4) and not np.shares_memory(a, b)
    assert not b.any()


def test_a_store_hands_back_the_same_memory_zeroed_when_asked():
    store = ScratchStore()
    with kept(store):
        a = scratch("x", (3, 4))
        a[:] = 7.0
        b = scratch("x", (3, 4), zero=True)
        assert np.shares_memory(a, b) and not b.any()
        c = scratch("y", (3, 4))
        assert not np.shares_memory(b, c)
        smaller = scratch("x", (2, 2))  # fits in what "x" keeps
        assert np.shares_memory(smaller, b) and smaller.shape == (2, 2)
        larger = scratch("x", (5, 5))  # grown: new memory kept under the name
        assert not np.shares_memory(larger, b) and store.nbytes == 8 * (25 + 12)
    assert scratch("x", (5, 5)) is not larger  # the block is over
    store.clear()
    assert store.nbytes == 0


def test_past_its_limit_a_store_keeps_nothing_more():
    store = ScratchStore(limit=8 * 100)
    with kept(store):
        kept_one = scratch("a", (10, 10))
        too_many = scratch("b", (2,))
        assert store.nbytes == 800
        again = scratch("b", (2,))
        assert not np.shares_memory(too_many, again)
        assert np.shares_memory(kept_one, scratch("a", (10, 10)))


def test_another_thread_sees_no_store():
    store, seen = ScratchStore(), []
    with kept(store):
        mine = scratch("x", (4,))
        thread = threading.Thread(target=lambda: seen.append(scratch("x", (4,))))
        thread.start()
        thread.join()
    assert not np.shares_memory(mine, seen[0]) and store.nbytes == 32


def test_analyses_in_a_store_repeat_the_results_of_fresh_arrays():
    # a 2-layer LSTM and a bidirectional GRU, three different sequences in turn: every call
    # after the first reuses the kept Grams, rows and gate deltas by lag
    nets = [gf.Network([(gf.LSTM.init(5, 3, seed=0),), (gf.LSTM.init(5, 5, seed=1),)]),
            gf.Network([(gf.GRU.init(4, 3, seed=2), gf.GRU.init(4, 3, seed=3)),
                        (gf.GRU.init(4, 8, seed=4), gf.GRU.init(4, 8, seed=5))])]
    rng = np.random.default_rng(0)
    store = ScratchStore()
    for net in nets:
        for T in (9, 9, 6):
            x = rng.standard_normal((T, 3))
            g = rng.standard_normal((T, net.output_size))
            fresh = (sensitivities(net, x), lag_mass(net, x, g, with_norm=True))
            with kept(store):
                reused = (sensitivities(net, x), lag_mass(net, x, g, with_norm=True))
            for name in ("output", "input", "output_layers"):
                assert np.array_equal(getattr(fresh[0], name), getattr(reused[0], name))
            assert np.array_equal(fresh[1][0], reused[1][0]) and fresh[1][1] == reused[1][1]
    assert store.nbytes > 0


def test_large_kept_arrays_live_in_memory_of_their_own():
    store = ScratchStore()
    with kept(store):
        big = scratch("big", (512, 600))  # 2.3 MiB: mapped outside malloc's heap
        big[:] = 3.0
        again = scratch("big", (512, 600), zero=True)
        assert np.shares_memory(big, again) and not again.any() and again.flags.writeable
        owner = again
        while isinstance(owner, np.ndarray):
            owner = owner.base
        assert isinstance(owner, memoryview) and isinstance(owner.obj, mmap.mmap)
        small = scratch("small", (10,))
        while isinstance(small, np.ndarray) and small.base is not None:
            small = small.base
        assert isinstance(small, np.ndarray)  # under 1 MiB: an ordinary array
    assert store.nbytes == 8 * (512 * 600 + 10)
