"""The backward pass behind Pascanu et al.'s norm-preservation measure.

Time indexing as in :mod:`gradflow.kernels.trajectory`; ``grad_out[t - 1]`` is the direct loss
gradient ``dL/ds_t`` for ``t = 1..T``.
"""

import numpy as np

from ._jit import kernel
from .bptt import backpropagate


@kernel
def backward_norms(cell_id, option, Wh, Wx, b, bhn, X, S, grad_out, delta, carried):
    """Backpropagate through time with the per-step VJP and record the norms Pascanu uses.

    ``delta[t]`` receives the total gradient ``dL/ds_t`` (t = 0..T) and ``carried[t]`` the norm
    ``||J_{t+1}^T delta[t + 1]||`` of the part of it carried back through step ``t + 1``
    (t = 0..T-1): :func:`gradflow.kernels.bptt.backpropagate` without the weight gradients.
    """
    none_3, none_2 = np.empty((0, 0, 0)), np.empty((0, 0))
    backpropagate(cell_id, option, Wh, Wx, b, bhn, X, S, grad_out, delta, carried, False, -1,
                  none_3, none_3, none_2, np.empty(0), none_2)
