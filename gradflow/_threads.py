"""Thread counts: the cores, Numba's pool (parallel batch kernels) and the BLAS pools.

A batch kernel runs one sequence per Numba thread; each sequence's matrix products go to the
BLAS that Numba calls (SciPy's OpenBLAS).  Two levels of threads on the same cores fight, so
:func:`threads` gives the sequences the cores and each BLAS call one thread while inside it.
The BLAS pools are limited with threadpoolctl (3.5 or later: the first that knows the
``scipy_openblas`` builds that NumPy's and SciPy's wheels bundle), which finds every BLAS
loaded in the process (OpenBLAS, MKL, BLIS).

One BLAS thread holds even for ``threads=1``: the products of one sequence are small (m x m
with m in the hundreds), and a multi-threaded BLAS call on them costs more in waking and
synchronising its pool than it gains, many times more when another process holds a core.
Before this rule, ``gf.decay(model, xs_batch, threads=1)`` ran its all-lag kernel with the
default two-thread OpenBLAS on every small product and took 4.4x the time of the default
(952 ms against 218 ms for 16 sequences on 2 cores); ``gradflow.decay`` now also keeps a
batch's per-sequence analyses (sensitivities, lambda_1) on one BLAS thread.  Measured on
an LSTM n = 64, T = 64, 16 sequences, 2 busy cores (best of 5): before, 7.0 s default and
5.1 s with ``threads=1``; with one BLAS thread, 1.0 s and 1.1 s (benchmarks/README.md).

Nothing here imports Numba or SciPy until a function is called.
"""

import os
from contextlib import contextmanager

from threadpoolctl import threadpool_info, threadpool_limits

from . import validation


def available_cores():
    """The cores this process may run on: its CPU affinity, else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def available_threads():
    """The most threads Numba's pool can use (``NUMBA_NUM_THREADS``: by default the cores)."""
    from numba import config

    return int(config.NUMBA_NUM_THREADS)


def get_threads():
    """Threads the parallel kernels use now."""
    import numba

    return int(numba.get_num_threads())


def set_threads(count):
    """Use ``count`` threads in the parallel kernels (capped at :func:`available_threads`).

    Returns the count in effect.
    """
    import numba

    count = min(validation.integer(count, "threads", minimum=1), available_threads())
    numba.set_num_threads(count)
    return count


def _load_blas():
    """Load the BLAS that Numba's ``np.dot`` calls, so threadpoolctl sees it."""
    import scipy.linalg.cython_blas  # noqa: F401


def blas_thread_counts():
    """The thread count of every BLAS pool loaded in this process, as threadpoolctl sees it."""
    _load_blas()
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@contextmanager
def blas_threads(count):
    """Limit the BLAS thread pools to ``count`` threads inside the ``with`` block."""
    count = validation.integer(count, "BLAS threads", minimum=1)
    _load_blas()
    with threadpool_limits(limits=count, user_api="blas"):
        yield


@contextmanager
def threads(count=None):
    """Run batch kernels on ``count`` Numba threads and one BLAS thread per sequence.

    ``count`` defaults to all available threads; both settings are restored after the block.
    The BLAS is limited to one thread whatever ``count`` is: ``count = 1`` means one thread
    in all, not one Numba thread whose every small product wakes the BLAS pool.
    """
    count = available_threads() if count is None else validation.integer(count, "threads",
                                                                         minimum=1)
    previous = get_threads()
    set_threads(count)
    try:
        # one BLAS thread even for count = 1: the products of one sequence are small, and a
        # BLAS pool spinning up per product costs more than it gains (4x on 2 busy cores)
        with blas_threads(1):
            yield
    finally:
        set_threads(previous)
