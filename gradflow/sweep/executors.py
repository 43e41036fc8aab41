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
"""

import contextlib
import logging
import re
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
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        points = list(points)
        if not points:
            return
        # spawn, not fork: a forked child would inherit Numba's and BLAS's thread pools
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(points)),
                                   mp_context=multiprocessing.get_context("spawn"))
        finished = False
        try:
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
            if finished:
                pool.shutdown(wait=True)
            else:
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


def require_distributed(what="--dask and --scheduler"):
    """Import ``distributed``, or say how to install it."""
    try:
        import distributed
    except ImportError:
        raise GradflowError(f"{what} need the optional dependency dask.distributed: pip "
                            "install 'gradflow[dask]'") from None
    return distributed


_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


def check_scheduler_address(address):
    """Return ``address`` if it looks like ``tcp://HOST:PORT``, else raise."""
    if not _ADDRESS.match(address):
        raise GradflowError(f"--scheduler must be a Dask scheduler address like "
                            f"tcp://HOST:PORT; got {address!r}")
    return address


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
        except (OSError, TimeoutError) as exc:
            raise GradflowError(f"cannot reach the Dask scheduler at {scheduler}: "
                                f"{exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(
        n_workers=workers or available_cores(), threads_per_worker=1, processes=True,
        dashboard_address=None, silence_logs=logging.ERROR)
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
