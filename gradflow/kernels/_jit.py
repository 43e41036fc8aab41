"""The one place that decides how gradflow's kernels are compiled.

``GRADFLOW_NO_CACHE=1`` turns Numba's on-disk cache off (``NUMBA_CACHE_DIR`` moves it).
Fast-math is limited to flags that keep NaN/inf semantics: no ``nnan``, ``ninf`` or ``afn``,
so special values and the accuracy of ``exp``/``tanh`` are untouched.
"""

import os

from numba import njit

CACHE = os.environ.get("GRADFLOW_NO_CACHE", "") in ("", "0")
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}


def kernel(function):
    """Compile ``function`` as a gradflow kernel (nopython, cached, numpy error model)."""
    return njit(cache=CACHE, fastmath=FASTMATH, error_model="numpy", nogil=True)(function)
