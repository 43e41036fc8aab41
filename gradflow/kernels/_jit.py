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


def inline_kernel(function):
    """Compile ``function`` as a kernel that other kernels inline (Numba IR ``inline='always'``).

    For thin layers (the per-cell dispatch, one step of a sweep): a kernel called from another
    kernel is compiled as a library of its own, and every caller links it in and optimises the
    whole call tree again, so each extra layer costs about one more compilation of everything
    below it.  Inlined, the layer costs its own few lines.  Called from Python it is an
    ordinary kernel.
    """
    return njit(inline="always", **OPTIONS)(function)


def parallel_kernel(function):
    """Compile ``function`` as a kernel whose ``prange`` loops run on Numba's thread pool.

    The number of threads is Numba's (``gradflow._threads.set_threads``); the kernel itself
    must call only nogil kernels from inside ``prange``.
    """
    return njit(parallel=True, **OPTIONS)(function)
