"""Thread counts: Numba's pool (parallel batch kernels) and the BLAS behind the kernels' products.

A batch kernel runs one sequence per Numba thread; each sequence's matrix products go to the
BLAS that Numba calls (SciPy's OpenBLAS).  Two levels of threads on the same cores fight, so
:func:`threads` gives the sequences the cores and each BLAS call one thread while inside it.

Nothing here imports Numba or SciPy until a function is called.
"""

import ctypes
import os
from contextlib import contextmanager

from .errors import GradflowError

#: OpenBLAS builds name their thread-count functions differently (SciPy's and NumPy's wheels
#: prefix them and, for 64-bit integer builds, suffix them).
_SETTERS = (
    "openblas_set_num_threads",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
)
_GETTERS = (
    "openblas_get_num_threads",
    "scipy_openblas_get_num_threads",
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GradflowError(f"{name} must be a positive integer; got {value!r}")
    return value


def available_threads():
    """The most threads Numba's pool can use (``NUMBA_NUM_THREADS``, by default the cores)."""
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

    count = min(_positive(count, "threads"), available_threads())
    numba.set_num_threads(count)
    return count


def _openblas_libraries():
    """``(get, set)`` ctypes function pairs of every OpenBLAS loaded in this process."""
    import scipy.linalg.cython_blas  # noqa: F401 - loads the BLAS that Numba's np.dot calls

    paths = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if getter is not None and setter is not None:
            getter.restype = ctypes.c_int
            setter.argtypes = [ctypes.c_int]
            found.append((getter, setter))
    return found


@contextmanager
def blas_threads(count):
    """Limit the BLAS thread pools to ``count`` threads inside the ``with`` block.

    Uses threadpoolctl when it is installed, else OpenBLAS's own C API (Linux); where neither
    applies the block runs unchanged.
    """
    _positive(count, "BLAS threads")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        import scipy.linalg.cython_blas  # noqa: F401

        with threadpool_limits(limits=count, user_api="blas"):
            yield
        return
    libraries = _openblas_libraries()
    before = [get() for get, _ in libraries]
    for _, put in libraries:
        put(count)
    try:
        yield
    finally:
        for (_, put), value in zip(libraries, before, strict=True):
            put(value)


@contextmanager
def threads(count=None):
    """Run batch kernels on ``count`` Numba threads and one BLAS thread per sequence.

    ``count`` defaults to all available threads; both settings are restored after the block.
    """
    count = available_threads() if count is None else _positive(count, "threads")
    previous = get_threads()
    set_threads(count)
    try:
        if count > 1:
            with blas_threads(1):
                yield
        else:
            yield
    finally:
        set_threads(previous)
