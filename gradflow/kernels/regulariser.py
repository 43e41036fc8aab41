"""The backward sweep behind Pascanu et al.'s norm-preservation measure.

Time indexing as in :mod:`gradflow.kernels.chains`; ``grad_out[t - 1]`` is the direct loss
gradient ``dL/ds_t`` for ``t = 1..T``.
"""

import math

import numpy as np

from . import dispatch
from ._jit import kernel
from .chains import input_projection


@kernel
def _norm(v):
    acc = 0.0
    peak = 0.0
    for i in range(v.shape[0]):
        peak = max(peak, abs(v[i]))
    if peak == 0.0:
        return 0.0
    for i in range(v.shape[0]):
        acc += (v[i] / peak) ** 2
    return peak * math.sqrt(acc)


@kernel
def backward_norms(kind, option, Wh, Wx, b, bhn, X, S, grad_out, delta, carried):
    """Backpropagate through time with the per-step VJP and record the norms Pascanu uses.

    ``delta[t]`` receives the total gradient ``dL/ds_t`` (t = 0..T) and ``carried[t]`` the norm
    ``||J_{t+1}^T delta[t + 1]||`` of the part of it carried back through step ``t + 1``
    (t = 0..T-1).
    """
    T = X.shape[0]
    G, n = b.shape
    m = S.shape[1]
    work = np.empty((4, n))
    xp = np.empty((G, n))
    delta_x = np.empty((G, n))
    delta_h = np.empty((G, n))
    rec_in = np.empty((G, n))
    back = np.empty(m)
    delta[T, :] = grad_out[T - 1]
    for t in range(T - 1, -1, -1):
        input_projection(Wx, b, X[t], xp)
        dispatch.vjp(kind, option, Wh, bhn, xp, S[t], delta[t + 1], back, delta_x, delta_h,
                     rec_in, work)
        carried[t] = _norm(back)
        for i in range(m):
            delta[t, i] = back[i] + (grad_out[t - 1, i] if t > 0 else 0.0)
