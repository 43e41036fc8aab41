"""The one place that decides how gradflow's kernels are compiled.

``GRADFLOW_NO_CACHE=1`` turns Numba's on-disk cache off (``NUMBA_CACHE_DIR`` moves it).
Fast-math is limited to flags that keep NaN/inf semantics: no ``nnan``, ``ninf`` or ``afn``,
so special values and the accuracy of ``exp``/``tanh`` are untouched.
"""

import os

from numba import njit

CACHE = os.environ.get("GRADFLOW_NO_CACHE", "") in ("", "0")
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
OPTIONS = {"cache": CACHE, "fastmath": FASTMATH, "error_model": "numpy", "nogil": True}


def kernel(function):
    """Compile ``function`` as a gradflow kernel (nopython, cached, numpy error model)."""
    return njit(**OPTIONS)(function)


def parallel_kernel(function):
    """Compile ``function`` as a kernel whose ``prange`` loops run on Numba's thread pool.

    The number of threads is Numba's (``gradflow._threads.set_threads``); the kernel itself
    must call only nogil kernels from inside ``prange``.
    """
    return njit(parallel=True, **OPTIONS)(function)
