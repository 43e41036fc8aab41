"""The BLAS routines the kernels call that Numba does not expose: ``dsyrk`` and ``dsymv``.

Numba's ``np.dot(A.T, A)`` forms a Gram matrix as a general product; ``dsyrk`` (the symmetric
rank-k update) forms one triangle at about half the flops (one BLAS thread, A (256, 128):
127 us against 200 us).  ``dsymv`` multiplies a vector by a symmetric matrix reading one
triangle: half the memory of ``np.dot(G, x)``, 1.2x (order 256) to 2.2x (order 2048) faster
here, so Lanczos on a Gram matrix needs neither the other triangle nor the mirror.
The routines are SciPy's, the BLAS behind Numba's own products, reached through SciPy's
Cython table and bound once per process to a symbol name, so that cached kernels link them by
name (an address compiled into a kernel would not survive the cache).  ``gram_of_rows`` and
``gram_of_columns`` then mirror the other triangle: their Gram matrices come out exactly
symmetric; ``lower_smaller_gram`` leaves it as it was.

C-contiguous (rows, columns) arrays are Fortran's (columns, rows): ``A^T A`` is Fortran's
``A A^T`` (``trans = 'N'``) and ``A A^T`` its ``A^T A`` (``'T'``); the lower triangle of the
C-order result is Fortran's upper one.
"""

import numpy as np
from llvmlite import binding
from numba import types
from numba.extending import get_cython_function_address

from ._jit import inline_kernel


def _bound(name):
    """SciPy's BLAS routine ``name`` as an external function of ten arguments by reference."""
    symbol = "gradflow_" + name
    binding.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_blas", name))
    return types.ExternalFunction(symbol, types.void(*([types.voidptr] * 10)))


# dsyrk(uplo, trans, n, k, alpha, a, lda, beta, c, ldc)
_dsyrk = _bound("dsyrk")
# dsymv(uplo, n, alpha, a, lda, x, incx, beta, y, incy)
_dsymv = _bound("dsymv")

_UPPER, _NO_TRANSPOSE, _TRANSPOSE = ord("U"), ord("N"), ord("T")


@inline_kernel
def _rows_unit_stride(A):
    return A.strides[1] == A.itemsize and A.strides[0] >= A.shape[1] * A.itemsize


@inline_kernel
def _syrk(A, out, transpose, mirror):
    """``out = A^T A`` (``transpose`` False) or ``A A^T`` by ``dsyrk``.

    ``dsyrk`` forms the lower triangle; the upper one is its mirror where ``mirror``.
    """
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
    if mirror:
        mirror_lower(out)


@inline_kernel
def mirror_lower(G):
    """The strict upper triangle of the square ``G`` set to its lower one's mirror."""
    for i in range(G.shape[0]):
        for j in range(i + 1, G.shape[0]):
            G[i, j] = G[j, i]


@inline_kernel
def _gram(A, out, transpose, mirror):
    if not _rows_unit_stride(A):  # a strided column: a contiguous copy first
        A = np.ascontiguousarray(A)
    if _rows_unit_stride(out):
        _syrk(A, out, transpose, mirror)
    else:
        whole = np.empty(out.shape)
        _syrk(A, whole, transpose, mirror)
        for i in range(out.shape[0]):
            for j in range(out.shape[1] if mirror else i + 1):
                out[i, j] = whole[i, j]


@inline_kernel
def gram_of_columns(A, out):
    """``out (b, b) = A^T A`` for ``A`` (a, b): half a general product's flops."""
    _gram(A, out, False, True)


@inline_kernel
def gram_of_rows(A, out):
    """``out (a, a) = A A^T`` for ``A`` (a, b): half a general product's flops."""
    _gram(A, out, True, True)


@inline_kernel
def lower_smaller_gram(A, out):
    """The lower triangle of A's smaller Gram matrix into ``out``; the upper one is untouched.

    ``A A^T`` of a square or wide ``A`` (a, b), ``A^T A`` of a tall one: ``out`` is
    (min(a, b), min(a, b)).
    """
    _gram(A, out, A.shape[0] <= A.shape[1], False)


@inline_kernel
def new_symmetric_product(G):
    """The by-reference arguments of :func:`symmetric_times` with the square ``G``.

    ``G``'s rows must have unit stride (a C-contiguous matrix or a block of rows of one).
    """
    if G.shape[0] != G.shape[1] or not _rows_unit_stride(G):
        raise ValueError("symmetric_times: G must be square with rows of unit stride")
    return (np.array([_UPPER], dtype=np.uint8),
            np.array([G.shape[0], 1, G.strides[0] // G.itemsize], dtype=np.int32),
            np.array([1.0, 0.0]))


@inline_kernel
def symmetric_times(arguments, G, x, y):
    """``y = G x`` for the symmetric ``G`` of ``arguments``: only its lower triangle is read.

    ``arguments`` from :func:`new_symmetric_product` of this ``G``; ``x`` and ``y``
    contiguous, of G's order.
    """
    uplo, ints, scalars = arguments
    _dsymv(uplo.ctypes, ints[0:].ctypes, scalars[0:].ctypes, G.ctypes, ints[2:].ctypes,
           x.ctypes, ints[1:].ctypes, scalars[1:].ctypes, y.ctypes, ints[1:].ctypes)
