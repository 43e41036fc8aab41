"""The one place that decides how gradflow's kernels are compiled.

``GRADFLOW_NO_CACHE=1`` turns Numba's on-disk cache off (``NUMBA_CACHE_DIR`` moves it).
The cache is best-effort: where no folder for it can be written, or a write into it fails
(a full disk, a quota, a read-only file system), the kernel is compiled and runs uncached.
Fast-math is limited to flags that keep NaN/inf semantics: no ``nnan``, ``ninf`` or ``afn``,
so special values and the accuracy of ``exp``/``tanh`` are untouched.
"""

import os

from numba import njit

CACHE = os.environ.get("GRADFLOW_NO_CACHE", "") in ("", "0")
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
OPTIONS = {"cache": CACHE, "fastmath": FASTMATH, "error_model": "numpy", "nogil": True}


def _compiled(function, **extra):
    """``njit`` with gradflow's options, the on-disk cache made best-effort."""
    try:
        dispatcher = njit(**OPTIONS, **extra)(function)
    except RuntimeError as exc:  # Numba found no writable folder for this module's cache
        if "cannot cache" not in str(exc):
            raise
        return njit(**{**OPTIONS, "cache": False}, **extra)(function)
    cache = getattr(dispatcher, "_cache", None)
    if CACHE and cache is not None and hasattr(cache, "save_overload"):
        save = cache.save_overload

        def save_overload(sig, data):
            try:
                save(sig, data)
            except OSError:  # the compiled kernel stands; only its copy on disk is lost
                pass

        cache.save_overload = save_overload
    return dispatcher


def kernel(function):
    """Compile ``function`` as a gradflow kernel (nopython, cached, numpy error model)."""
    return _compiled(function)


def inline_kernel(function):
    """Compile ``function`` as a kernel that other kernels inline (Numba IR ``inline='always'``).

    For thin layers (the per-cell dispatch, one step of a sweep): a kernel called from another
    kernel is compiled as a library of its own, and every caller links it in and optimises the
    whole call tree again, so each extra layer costs about one more compilation of everything
    below it.  Inlined, the layer costs its own few lines.  Called from Python it is an
    ordinary kernel.
    """
    return _compiled(function, inline="always")


def parallel_kernel(function):
    """Compile ``function`` as a kernel whose ``prange`` loops run on Numba's thread pool.

    The number of threads is Numba's (``gradflow._threads.set_threads``); the kernel itself
    must call only nogil kernels from inside ``prange``.
    """
    return _compiled(function, parallel=True)
