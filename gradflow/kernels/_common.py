"""Small building blocks shared by the cell kernels."""

import numpy as np

from ._jit import kernel

TANH = 0
SIGMOID = 1
RELU = 2


@kernel
def sigmoid(z):
    """Logistic function, written so that neither tail overflows."""
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@kernel
def activate(act, z):
    """Apply activation ``act`` (TANH, SIGMOID or RELU) to the scalar ``z``."""
    if act == TANH:
        return np.tanh(z)
    if act == SIGMOID:
        return sigmoid(z)
    return z if z > 0.0 else 0.0


@kernel
def activation_slope(act, z, fz):
    """Return f'(z) given z and f(z); relu' is 0 at z = 0."""
    if act == TANH:
        return 1.0 - fz * fz
    if act == SIGMOID:
        return fz * (1.0 - fz)
    return 1.0 if z > 0.0 else 0.0


@kernel
def matvec_add(W, v, add, out):
    """Out = W @ v + add, for C-contiguous W of shape (r, c)."""
    rows, cols = W.shape
    for i in range(rows):
        acc = add[i]
        for j in range(cols):
            acc += W[i, j] * v[j]
        out[i] = acc


@kernel
def rmatvec_add(W, u, out):
    """Out += W.T @ u, for C-contiguous W of shape (r, c)."""
    rows, cols = W.shape
    for i in range(rows):
        ui = u[i]
        if ui != 0.0:
            for j in range(cols):
                out[j] += W[i, j] * ui


@kernel
def copy_into(src, dst):
    """``dst[:, :] = src`` for two matrices of one shape.

    A loop: Numba's slice assignment would also compile its shape-mismatch message (string
    formatting), a few seconds of compilation for every kernel that uses it.
    """
    for i in range(dst.shape[0]):
        for j in range(dst.shape[1]):
            dst[i, j] = src[i, j]
