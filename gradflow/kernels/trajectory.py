"""Trajectories along a sequence: input projections, forward runs and the stack of step Jacobians.

Time indexing, shared by every chain over time: ``X[t]`` is the input of step ``t + 1``;
``S[0]`` is the initial state and ``S[t + 1]`` the state after step ``t + 1``; the Jacobian of
step ``t + 1`` is evaluated at ``S[t]`` with input ``X[t]``.

``cell_id`` is the cell's kernel code (:mod:`gradflow.kernels.dispatch`: ``RNN``, ``LSTM``,
``GRU``) and ``option`` its per-cell option; both come from the cell's ``kernel_args()``.
"""

import numpy as np

from . import dispatch
from ._common import matvec_add
from ._jit import kernel


@kernel
def input_projection(Wx, b, x, xp):
    """``xp[g] = Wx[g] @ x + b[g]`` for every gate ``g``."""
    for g in range(Wx.shape[0]):
        matvec_add(Wx[g], x, b[g], xp[g])


@kernel
def run(cell_id, option, Wh, Wx, b, bhn, X, S):
    """Fill ``S[1:]`` from ``S[0]``; return the first step whose state is non-finite, else -1."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.step(cell_id, option, Wh, bhn, xp, S[t], S[t + 1], work)
        for i in range(S.shape[1]):
            if not np.isfinite(S[t + 1, i]):
                return t + 1
    return -1


def batch_run(cell_id, option, Wh, Wx, b, bhn, X, S, bad):
    """``run`` for every sequence of a batch in parallel: ``X`` (B, T, d), ``S`` (B, T + 1, m).

    ``bad[i]`` receives sequence ``i``'s first non-finite step, or -1.  The sequences are cut
    into contiguous chunks, one per thread of Numba's current thread count
    (:func:`gradflow._threads.threads`); ``run`` releases the GIL, so the threads run side by
    side.  Python threads rather than a ``prange`` kernel: a parallel kernel would compile
    ``run`` a second time (seconds on a cold cache) for the same numbers.
    """
    from concurrent.futures import ThreadPoolExecutor

    from numba import get_num_threads

    count = X.shape[0]
    parts = max(1, min(get_num_threads(), count))
    bounds = [count * i // parts for i in range(parts + 1)]

    def chunk(start, stop):
        for i in range(start, stop):
            bad[i] = run(cell_id, option, Wh, Wx, b, bhn, X[i], S[i])

    if parts == 1:
        chunk(0, count)
        return
    with ThreadPoolExecutor(parts) as pool:
        for done in [pool.submit(chunk, bounds[i], bounds[i + 1]) for i in range(parts)]:
            done.result()


@kernel
def step_jacobians(cell_id, option, Wh, Wx, b, bhn, X, S, Js):
    """Fill ``Js[t]`` with the Jacobian of step ``t + 1``."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(cell_id, option, Wh, bhn, xp, S[t], Js[t], work)
