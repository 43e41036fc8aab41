"""The one place that decides how gradflow's kernels are compiled.

``GRADFLOW_NO_CACHE=1`` turns Numba's on-disk cache off (``NUMBA_CACHE_DIR`` moves it).
The cache is best-effort: where no folder for it can be written, or a write into it fails
(a full disk, a quota, a read-only file system), the kernel is compiled and runs uncached.
Fast-math is limited to flags that keep NaN/inf semantics: no ``nnan``, ``ninf`` or ``afn``,
so special values and the accuracy of ``exp``/``tanh`` are untouched.

Processes that share a cache compile each kernel once between them: a kernel is compiled (or
loaded from the cache) under a lock file beside its cache index, so a second process that
needs it meanwhile (a sweep's workers, the report's claims on a second process) waits for
the first and loads its code from the cache instead of compiling the same kernel at the same
time.  The lock is best-effort too: without ``fcntl``, or where the lock file cannot be
opened, or after :data:`LOCK_WAIT` seconds, a process compiles for itself.  A process may name
calls to make meanwhile (:func:`compile_ahead`): while it waits for a kernel another process is
compiling, it compiles kernels it will need later instead of sleeping.

The kernels' LLVM IR is optimised at level :data:`OPT_LEVEL` instead of Numba's default 3
(``NUMBA_OPT``, where it is set, decides instead); machine code is generated as for every other
Numba function.
"""

import contextlib
import os
import threading
import time

from numba import njit
from numba.core import config
from numba.core.compiler_lock import global_compiler_lock
from numba.core.registry import cpu_target

from ._ir_copy import scope_copies

try:
    import fcntl
except ImportError:  # not POSIX: no lock between processes
    fcntl = None

CACHE = os.environ.get("GRADFLOW_NO_CACHE", "") in ("", "0")
FASTMATH = {"nsz", "arcp", "contract", "reassoc"}
OPTIONS = {"cache": CACHE, "fastmath": FASTMATH, "error_model": "numpy", "nogil": True}


#: LLVM's optimisation level for the kernels' IR (Numba's module and function passes).  The
#: kernels' time is BLAS's and short loops, which run as fast at level 1 as at 3; level 1
#: compiles them in 5-7% less CPU (benchmarks/README.md, "LLVM's optimisation level").
OPT_LEVEL = 1

#: Seconds a process waits for another one compiling the same kernel before it compiles too.
LOCK_WAIT = 300.0


_local = threading.local()


@contextlib.contextmanager
def compile_ahead(calls):
    """Within the block, a wait for another process's kernel makes the next of ``calls`` first.

    ``calls`` are callables that run small computations through kernels needed later (by this
    process or another one sharing the cache), so that their compilation fills the time this
    thread would have slept.  Each is made at most once, and only while this thread waits for
    a kernel it needs directly (not for a kernel that another kernel's compilation needs);
    one that raises is dropped: the computation that needs its kernel compiles it in its
    turn.  Where no process ever waits, none is made.
    """
    _local.ahead = list(calls)
    try:
        yield
    finally:
        _local.ahead = []


def _made_one_ahead():
    """Make the next call of :func:`compile_ahead`, if one waits and this is the time for it."""
    pending = getattr(_local, "ahead", None)
    if not pending or getattr(_local, "depth", 0) > 1 or getattr(_local, "ahead_running", False):
        return False
    call = pending.pop(0)
    _local.ahead_running = True
    try:
        call()
    except Exception:  # noqa: BLE001 - only a head start: the real call compiles it again
        pass
    finally:
        _local.ahead_running = False
    return True


@contextlib.contextmanager
def _optimisation_level():
    """Numba's optimisation level at :data:`OPT_LEVEL` within the block (under its lock).

    Numba reads the level as it builds each pass manager; its machine-code generator keeps the
    level it was created with, so it is created first, at the default, whichever compilation
    comes first in a process.  Numba re-reads its environment variables at every compilation
    where they changed, so they are read first too (the level set here then stands).
    """
    if "NUMBA_OPT" in os.environ:
        yield
        return
    cpu_target.target_context  # noqa: B018 - creates Numba's code generator at its own level
    config.reload_config()
    saved = config.OPT
    config.OPT = type(saved)(OPT_LEVEL)
    try:
        yield
    finally:
        config.OPT = saved


@contextlib.contextmanager
def _held(path):
    """The exclusive lock on the file ``path`` (waiting up to :data:`LOCK_WAIT`), best-effort."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                if not _made_one_ahead():
                    time.sleep(0.05)
            except OSError:  # a file system without locks
                break
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_path(cache):
    """The lock file beside ``cache``'s index (None for another Numba's cache: no lock)."""
    try:
        index = cache._cache_file._index_path
    except AttributeError:
        return None
    return os.path.splitext(index)[0] + ".lock"


def _compile_under_policy(dispatcher, lock_path):
    """Make ``dispatcher`` compile with :func:`._ir_copy.scope_copies`, under its lock file.

    Numba's own compiler lock is taken first, so the threads of one process meet there and
    only one of them ever waits on the file; the kernels' calls form no cycle, so two
    processes each holding one kernel's lock never wait on each other.  Without a lock
    path (no cache, no ``fcntl``) only the scope copies apply.
    """
    compile_for = dispatcher.compile

    def compile(sig):
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            with global_compiler_lock, scope_copies(), _optimisation_level():
                if lock_path is None:
                    return compile_for(sig)
                with _held(lock_path):
                    return compile_for(sig)
        finally:
            _local.depth -= 1

    dispatcher.compile = compile


def _compiled(function, **extra):
    """``njit`` with gradflow's options, the on-disk cache made best-effort."""
    try:
        dispatcher = njit(**OPTIONS, **extra)(function)
    except RuntimeError as exc:  # Numba found no writable folder for this module's cache
        if "cannot cache" not in str(exc):
            raise
        dispatcher = njit(**{**OPTIONS, "cache": False}, **extra)(function)
    cache = getattr(dispatcher, "_cache", None)
    if CACHE and cache is not None and hasattr(cache, "save_overload"):
        save = cache.save_overload

        def save_overload(sig, data):
            try:
                save(sig, data)
            except OSError:  # the compiled kernel stands; only its copy on disk is lost
                pass

        cache.save_overload = save_overload
    locked = CACHE and fcntl is not None  # a cache without an index file has no lock path
    _compile_under_policy(dispatcher, _lock_path(cache) if locked else None)
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
