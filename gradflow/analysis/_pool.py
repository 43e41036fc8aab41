"""Threads that share the sequences of a batch: the batch BPTT kernels release the GIL."""

from concurrent.futures import ThreadPoolExecutor

from .. import validation


class SequencePool:
    """Threads that share the sequences of a batch (the kernels release the GIL).

    A batch of B sequences is cut into ``min(threads, B)`` contiguous chunks, one per thread;
    weight gradients are summed chunk by chunk in order, so a thread count always gives the
    same numbers.  Use it as a context manager (or call :meth:`close`).

    Parameters
    ----------
    threads : int
        Threads (1: everything runs in the calling thread).
    """

    def __init__(self, threads=1):
        self.threads = validation.integer(threads, "threads", minimum=1)
        self._executor = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def chunks(self, size):
        """The ``(start, stop)`` ranges that cut ``size`` sequences among the threads."""
        parts = max(1, min(self.threads, size))
        bounds = [size * i // parts for i in range(parts + 1)]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]

    def map(self, function, size):
        """``function(start, stop)`` for every chunk of ``size`` sequences; results in order."""
        chunks = self.chunks(size)
        if self._executor is None:
            return [function(*chunk) for chunk in chunks]
        return list(self._executor.map(lambda chunk: function(*chunk), chunks))

    def close(self):
        """Stop the threads."""
        if self._executor is not None:
            self._executor.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
