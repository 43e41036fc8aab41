"""Where the points of a sweep run: this process, local processes, or a Dask cluster.

Every executor has ``run(function, points)``, a generator of ``(point, row)`` pairs in the
order the points finish; the points are submitted in the order given.  ``function`` is
:func:`gradflow.sweep.evaluate.evaluate_point` (or a stand-in with its contract: it returns
an error row rather than raise), so an exception out of an executor means the machinery
failed, not the analysis: a worker process that died, a Dask worker without gradflow.  A
Dask worker lost while computing a point (``KilledWorker``) is the exception: that point is
recorded as failed and the sweep goes on.

Dask is optional (``pip install 'gradflow[dask]'``) and imported only by
:func:`dask_client` and :class:`DaskExecutor`.

:class:`Aside` runs one call on a local process beside this one (the report's claims).
"""

import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid

from .. import validation
from .._threads import available_cores
from ..errors import GradflowError
from .schema import error_row


class SerialExecutor:
    """Every point in this process, one after another."""

    description = "this process"

    def run(self, function, points):
        """Yield ``(point, function(point))`` for each point."""
        for point in points:
            yield point, function(point)


class ProcessExecutor:
    """Points on a pool of local worker processes (``concurrent.futures``, spawned).

    Parameters
    ----------
    workers : int
        Number of processes.
    """

    def __init__(self, workers):
        self.workers = validation.integer(workers, "workers", minimum=1)
        self.description = f"{self.workers} local process{'es' if self.workers != 1 else ''}"

    def run(self, function, points):
        """Yield ``(point, row)`` as the workers finish; stop them all on an interruption."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        points = list(points)
        if not points:
            return
        pool = _worker_pool(min(self.workers, len(points)))
        finished = False
        try:
            with _sigint_ignored():  # the workers inherit it: Ctrl-C is the parent's to handle
                futures = {pool.submit(function, point): point for point in points}
            for future in as_completed(futures):
                try:
                    row = future.result()
                except BrokenProcessPool:
                    raise GradflowError(
                        "a worker process died while computing (killed by the operating "
                        "system, out of memory?); the finished points are saved: rerun the "
                        "same command to go on") from None
                yield futures[future], row
            finished = True
        finally:
            _stop(pool, finished)


class WorkerDied(GradflowError):
    """The process running an :class:`Aside` call ended without an answer."""


class Aside:
    """One call on a spawned local process while this one goes on (a context manager).

    ``Aside(function, *args)`` starts ``function(*args)`` at once on a worker process that
    ignores SIGINT and dies with this one, as a :class:`ProcessExecutor`'s do; :meth:`result`
    waits for its value, after which the worker exits.  Leaving the block stops a worker that
    has not finished, so an interruption or an error here leaves nothing running.
    ``function`` and its arguments must be picklable (module-level).
    """

    def __init__(self, function, *args):
        self._pool = _worker_pool(1)
        try:
            with _sigint_ignored():
                self._future = self._pool.submit(function, *args)
        except BaseException:
            self.close()
            raise
        self._what = getattr(function, "__qualname__", repr(function))

    def result(self):
        """The call's value (its exception re-raised here); waits for it.

        Raises :class:`WorkerDied` where the process ended without one: killed, or unable
        to start (a script that starts one without the ``if __name__ == "__main__"`` guard).
        """
        from concurrent.futures.process import BrokenProcessPool

        try:
            value = self._future.result()
        except BrokenProcessPool:
            raise WorkerDied(f"the worker process computing {self._what} died (killed by the "
                             "operating system, out of memory?)") from None
        # its one call answered, the worker is told to exit and ends while this process goes
        # on, instead of when the block is left (a Python's teardown: a few tenths of a second)
        self._pool.shutdown(wait=False)
        return value

    def close(self):
        """Stop the worker unless it has finished (a second call does nothing)."""
        future = getattr(self, "_future", None)
        _stop(self._pool, future is not None and future.done())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _worker_pool(workers):
    """A pool of ``workers`` spawned processes that ignore SIGINT and die with this one.

    Spawned, not forked: a forked child would inherit Numba's and BLAS's thread pools.  Submit
    under :func:`_sigint_ignored` (the workers start then and inherit it); end with
    :func:`_stop`.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _quiet_resource_tracker()
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start, initargs=(os.getpid(),))


def _stop(pool, finished):
    """Shut ``pool`` down: waiting for it when its work ``finished``, else terminating it."""
    if finished:
        pool.shutdown(wait=True)
        return
    _terminate(pool)
    pool.shutdown(wait=False, cancel_futures=True)


def _terminate(pool):
    """Stop the pool's worker processes now (they may be deep in a long point).

    Before ``shutdown``, which forgets the processes.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


def _worker_start(parent):
    """Initialiser of a pool worker: die with the parent process ``parent``.

    The parent stops its workers when it is interrupted or terminated; a parent killed
    outright (SIGKILL) cannot, so each worker asks Linux to kill it when the parent goes
    (``PR_SET_PDEATHSIG``) and, on any system, watches ``os.getppid()``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent went before the request above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="gradflow-parent-watch").start()


def _watch_parent(parent, interval=0.5):
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


@contextlib.contextmanager
def _sigint_ignored():
    """SIGINT ignored in this block (main thread only), so processes started in it inherit that."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_resource_tracker():
    """Start multiprocessing's resource tracker with its stderr on the null device.

    The tracker outlives a parent that was killed outright, and then warns about the
    semaphores it cleans up ("leaked semaphore objects"); those lines are not the user's
    business, and the tracker must not hold the user's stdout or stderr pipe open either.
    It is also started with SIGHUP ignored: a hang-up of the whole process group must leave
    it alive until the parent has cleaned up.
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    if getattr(tracker, "_fd", None) is not None:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    hangup = getattr(signal, "SIGHUP", None)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(hangup, signal.SIG_IGN) if hangup and main else None
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        resource_tracker.ensure_running()  # it ignores SIGINT and SIGTERM itself
    finally:
        if previous is not None:
            signal.signal(hangup, previous)
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


def require_distributed(what="--dask and --scheduler"):
    """Import ``distributed``, or say how to install it."""
    try:
        import distributed
    except ImportError:
        raise GradflowError(f"{what} need the optional dependency dask.distributed: pip "
                            "install 'gradflow[dask]'") from None
    return distributed


#: The protocols of Dask's communication layer.
PROTOCOLS = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
_ADDRESS = re.compile(rf"^({'|'.join(PROTOCOLS)})://[^\s/]+$")


def check_scheduler_address(address):
    """Return ``address`` if it looks like ``tcp://HOST:PORT``, else raise."""
    if not _ADDRESS.match(address):
        raise GradflowError(f"--scheduler must be a Dask scheduler address like "
                            f"tcp://HOST:PORT (protocols: {', '.join(PROTOCOLS)}); got "
                            f"{address!r}")
    return address


#: Run by each worker of a local cluster as it starts (Dask's preload, as source text): its
#: logs stay quiet. The sweep reports what went wrong itself, in one ``Error:`` line; a worker
#: whose parent was killed would otherwise print the failed heartbeat's traceback.
_QUIET_WORKER = "import logging\nlogging.getLogger('distributed').setLevel(logging.CRITICAL)\n"


@contextlib.contextmanager
def dask_client(*, scheduler=None, workers=None, timeout=10):
    """A Dask client: connected to ``scheduler``, or to a new local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:PORT``).  Without it a
        ``distributed.LocalCluster`` of ``workers`` single-threaded processes is started and
        shut down afterwards.
    workers : int, optional
        Local cluster only: number of worker processes (the cores by default).
    timeout : float
        Seconds to wait for the scheduler.
    """
    distributed = require_distributed()
    if scheduler is not None:
        check_scheduler_address(scheduler)
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise GradflowError(f"cannot reach the Dask scheduler at {scheduler}: "
                                f"{exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    _quiet_resource_tracker()
    with _sigint_ignored():  # Ctrl-C is the parent's: the workers inherit SIGINT ignored
        cluster = distributed.LocalCluster(
            n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.CRITICAL, preload=[_QUIET_WORKER])
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


class DaskExecutor:
    """Points as Dask tasks on the cluster behind ``client``.

    Parameters
    ----------
    client : distributed.Client
    description : str, optional
        How messages name the cluster.
    """

    def __init__(self, client, description=None):
        self.client = client
        self.description = description or f"Dask scheduler {client.scheduler.address}"

    def run(self, function, points):
        """Yield ``(point, row)`` as the tasks finish; cancel the rest on an interruption."""
        distributed = require_distributed()

        points = list(points)
        run = uuid.uuid4().hex[:8]
        futures = {}
        for i, point in enumerate(points):
            future = self.client.submit(function, point, key=f"gradflow-{run}-{point.key}",
                                        priority=len(points) - i, retries=0)
            futures[future] = point
        pending = set(futures)
        try:
            for future in distributed.as_completed(list(futures)):
                pending.discard(future)
                point = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # noqa: BLE001 - sorted out just below
                    if type(exc).__name__ != "KilledWorker":
                        raise GradflowError(f"a Dask task failed outside the analysis "
                                            f"({point.describe()}): {type(exc).__name__}: "
                                            f"{exc}; is gradflow installed on every "
                                            "worker?") from None
                    row = error_row(point, f"the Dask worker died while computing this point "
                                           f"(KilledWorker: {exc})")
                yield point, row
        finally:
            if pending:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(pending))
