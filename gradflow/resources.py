"""Memory: refuse up front a request that cannot fit, and keep scratch arrays for repeated work.

A request for, say, every Jacobian of a long run of a large LSTM is refused with its estimate
before any allocation, instead of being killed by the operating system halfway.
``GRADFLOW_MEMORY_LIMIT`` (bytes) caps the memory gradflow allows itself; by default it is
80% of the memory the system reports available.

A large temporary array is new memory each time it is made: the system maps and zeroes its
pages on first touch, and between two snapshots of a training monitor the training step gives
freed memory back.  Inside ``kept(store)`` the analyses take such arrays (:func:`scratch`)
from a :class:`ScratchStore` that keeps them for the next call; elsewhere they are ordinary
new arrays.  Only arrays that never leave the function that asks for them are taken so.
"""

import contextlib
import contextvars
import math
import mmap
import os
import threading
import time

import numpy as np

from .errors import GradflowError

_FRACTION = 0.8


#: Seconds a reading of the system's available memory is reused: a training loop asks at
#: every step (the claims ask about 5700 times), and a read of /proc/meminfo costs 0.05 ms.
_READING_SECONDS = 0.25
_reading = [-math.inf, None]  # [monotonic time, bytes]


def available_memory():
    """Bytes gradflow may allocate, or None when the system does not say."""
    override = os.environ.get("GRADFLOW_MEMORY_LIMIT")
    if override:
        try:
            limit = float(override)
        except ValueError:
            limit = math.nan
        if not (math.isfinite(limit) and limit >= 0):
            raise GradflowError(f"GRADFLOW_MEMORY_LIMIT must be a finite number of bytes >= 0; "
                                f"got {override!r}")
        return int(limit)
    now = time.monotonic()
    if now - _reading[0] > _READING_SECONDS:
        _reading[:] = [now, _system_memory()]
    return _reading[1]


def _system_memory():
    """80% of the memory the system reports available (MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(_FRACTION * int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        return int(_FRACTION * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n):
    """``1536`` -> ``"1.5 KiB"``."""
    n = max(float(n), 0.0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover - unreachable


def require_memory(nbytes, what):
    """Raise GradflowError when ``nbytes`` exceed what gradflow may allocate."""
    limit = available_memory()
    if limit is not None and nbytes > limit:
        raise GradflowError(
            f"{what} needs about {format_bytes(nbytes)} of memory; only {format_bytes(limit)} "
            "is available (GRADFLOW_MEMORY_LIMIT sets the cap)"
        )


_STORE = contextvars.ContextVar("gradflow_scratch_store", default=None)


class ScratchStore:
    """Scratch arrays kept between calls, by name, up to ``limit`` bytes in all.

    An array asked for again under the same name reuses the memory kept for it (grown when
    the new one is larger); past ``limit`` the store hands out ordinary new arrays.
    """

    def __init__(self, limit=256 * 2 ** 20):
        self.limit = int(limit)
        self._kept = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self):
        """Bytes the store keeps."""
        return sum(a.nbytes for a in self._kept.values())

    def take(self, name, shape):
        """An array of ``shape`` in the memory kept under ``name`` (contents undefined)."""
        size = math.prod(shape)
        with self._lock:
            flat = self._kept.get(name)
            if flat is None or flat.size < size:
                if self.nbytes - (0 if flat is None else flat.nbytes) + 8 * size > self.limit:
                    return np.empty(shape)
                flat = self._kept[name] = _mapped(size)
        return flat[:size].reshape(shape)

    def clear(self):
        """Let every kept array go."""
        with self._lock:
            self._kept.clear()


def _mapped(size):
    """A float64 array of ``size`` in memory mapped for it alone, outside malloc's heap.

    Kept memory inside the heap changes how malloc trims it: beside a PyTorch training loop,
    the loop's tensors were faulted in afresh at every step (1.25 million page faults in 200
    steps, against a few thousand).
    """
    if size < 2 ** 17:  # under 1 MiB: the heap's own small blocks
        return np.empty(size)
    return np.frombuffer(mmap.mmap(-1, 8 * size), dtype=np.float64)


@contextlib.contextmanager
def kept(store):
    """Take :func:`scratch` arrays from ``store`` inside the block (this thread and context)."""
    token = _STORE.set(store)
    try:
        yield store
    finally:
        _STORE.reset(token)


def scratch(name, shape, *, zero=False):
    """A float64 array of ``shape`` for use inside the caller only: kept memory in ``kept``.

    ``name`` tells apart the arrays one call holds at the same time; ``zero`` fills it
    with zeros (else its contents are undefined, as ``np.empty``'s).
    """
    shape = tuple(int(k) for k in shape)
    store = _STORE.get()
    if store is None:
        return np.zeros(shape) if zero else np.empty(shape)
    out = store.take(name, shape)
    if zero:
        out.fill(0.0)
    return out
