"""The BLAS routine the kernels call that Numba does not expose: the symmetric rank-k update.

Numba's ``np.dot(A.T, A)`` forms a Gram matrix as a general product; ``dsyrk`` forms one
triangle at about half the flops (one BLAS thread, A (256, 128): 127 us against 200 us).
The routine is SciPy's, the BLAS behind Numba's own products, reached through SciPy's
Cython table and bound once per process to a symbol name, so that cached kernels link it by
name (an address compiled into a kernel would not survive the cache).  The other triangle is
then mirrored: the Gram matrices come out exactly symmetric.

C-contiguous (rows, columns) arrays are Fortran's (columns, rows): ``A^T A`` is Fortran's
``A A^T`` (``trans = 'N'``) and ``A A^T`` its ``A^T A`` (``'T'``); the lower triangle of the
C-order result is Fortran's upper one.
"""

import numpy as np
from llvmlite import binding
from numba import types
from numba.extending import get_cython_function_address

from ._jit import inline_kernel

_SYMBOL = "gradflow_dsyrk"
binding.add_symbol(_SYMBOL, get_cython_function_address("scipy.linalg.cython_blas", "dsyrk"))
# dsyrk(uplo, trans, n, k, alpha, a, lda, beta, c, ldc), every argument by reference
_dsyrk = types.ExternalFunction(_SYMBOL, types.void(*([types.voidptr] * 10)))

_UPPER, _NO_TRANSPOSE, _TRANSPOSE = ord("U"), ord("N"), ord("T")


@inline_kernel
def _rows_unit_stride(A):
    return A.strides[1] == A.itemsize and A.strides[0] >= A.shape[1] * A.itemsize


@inline_kernel
def _syrk(A, out, transpose):
    """``out = A^T A`` (``transpose`` False) or ``A A^T``, by ``dsyrk`` and a mirror."""
    a, b = A.shape
    size, inner = (a, b) if transpose else (b, a)
    if a == 0 or b == 0:
        out[:] = 0.0
        return
    chars = np.array([_UPPER, _TRANSPOSE if transpose else _NO_TRANSPOSE], dtype=np.uint8)
    ints = np.array([size, inner, A.strides[0] // A.itemsize, out.strides[0] // out.itemsize],
                    dtype=np.int32)
    scalars = np.array([1.0, 0.0])
    _dsyrk(chars[0:].ctypes, chars[1:].ctypes, ints[0:].ctypes, ints[1:].ctypes,
           scalars[0:].ctypes, A.ctypes, ints[2:].ctypes, scalars[1:].ctypes, out.ctypes,
           ints[3:].ctypes)
    for i in range(size):
        for j in range(i + 1, size):
            out[i, j] = out[j, i]


@inline_kernel
def _gram(A, out, transpose):
    if not _rows_unit_stride(A):  # a strided column: a contiguous copy first
        A = np.ascontiguousarray(A)
    if _rows_unit_stride(out):
        _syrk(A, out, transpose)
    else:
        whole = np.empty(out.shape)
        _syrk(A, whole, transpose)
        out[:] = whole


@inline_kernel
def gram_of_columns(A, out):
    """``out (b, b) = A^T A`` for ``A`` (a, b): half a general product's flops."""
    _gram(A, out, False)


@inline_kernel
def gram_of_rows(A, out):
    """``out (a, a) = A A^T`` for ``A`` (a, b): half a general product's flops."""
    _gram(A, out, True)
