"""Spectral norms of the single-step Jacobians along a stored trajectory.

Time indexing as in :mod:`gradflow.kernels.trajectory`.
"""

import math

import numpy as np

from . import dispatch
from ._jit import kernel
from .gram_certificate import certified_gram_top
from .norm_estimator import PROBES, log10_norm, new_estimator
from .scaling import in_range, sum_squares
from .trajectory import input_projection

#: After this many consecutive fallbacks, ``step_log10_norms`` tries the estimator only every
#: SKIP-th step.
SKIP = 8


@kernel
def step_log10_norms(cell_id, option, Wh, Wx, b, bhn, X, S, out, stats):
    """``out[t] = log10 ||J_{t+1}||_2`` for every step Jacobian along a stored trajectory.

    The Jacobians are formed one at a time (memory O(m^2)), and each norm comes from the same
    certified estimator as the suffix products, warm-started from the previous step; a single
    step's spectrum is often too flat to certify (LSTM), and after a run of such steps the
    estimator is tried only every ``SKIP``-th step, the rest going straight to the Gram
    matrix's certified top eigenvalue.  ``-inf`` marks an exactly zero Jacobian.  ``stats``
    (3,) accumulates ``[norms, subspace iterations, exact fallbacks]``.
    """
    m = S.shape[1]
    G, n = b.shape
    J = np.empty((m, m))
    xp = np.empty((G, n))
    work = np.empty((4, n))
    estimator = new_estimator(m, min(PROBES, m))
    V, gram, lanczos = estimator[0], estimator[7], estimator[8]
    failures = 0
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(cell_id, option, Wh, bhn, xp, S[t], J, work)
        frobenius2 = sum_squares(J)
        if failures >= SKIP and t % SKIP != 0 and in_range(frobenius2):
            stats[0] += 1
            stats[2] += 1
            out[t] = 0.5 * math.log10(certified_gram_top(J, frobenius2, V[:, 0], gram, lanczos))
            continue
        fallbacks = stats[2]
        out[t] = log10_norm(J, frobenius2, 0.0, estimator, stats)
        failures = failures + 1 if stats[2] > fallbacks else 0
