"""Exact power-of-two scaling of matrices whose entries leave float64's comfortable range.

A product of many Jacobians is carried as ``A * 2**e`` with the integer exponent ``e`` kept
apart: scaling by a power of two changes no mantissa, so it is exact.
"""

import math

import numpy as np

from ._jit import inline_kernel, kernel

LOG10_2 = math.log10(2.0)

#: A matrix whose squared Frobenius norm leaves [SMALLEST, LARGEST] is renormalised before its
#: norm is estimated, so that squares of squares stay far inside float64.
SMALLEST = 2.0**-400
LARGEST = 2.0**400
#: A step Jacobian whose largest entry is below this (near the subnormals) is brought to unit
#: scale before it multiplies a product, so the product does not round its entries away.
TINY = 2.0**-900


@kernel
def sum_squares(A):
    """``||A||_F^2`` (a vectorised reduction)."""
    acc = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            acc += A[i, j] * A[i, j]
    return acc


@kernel
def peak(A):
    """``max |A|``."""
    top = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            top = max(top, abs(A[i, j]))
    return top


@kernel
def in_range(frobenius2):
    """Whether ``||A||_F^2`` leaves room for the estimator's fourth powers (2^-400 .. 2^400)."""
    return SMALLEST < frobenius2 < LARGEST


@inline_kernel
def _scale(R, shift, lower):
    """``R *= 2**-shift`` exactly, on R's lower triangle (diagonal included) where ``lower``."""
    if -1000 < shift < 1000:
        factor = math.ldexp(1.0, -shift)
        for i in range(R.shape[0]):
            for j in range(i + 1 if lower else R.shape[1]):
                R[i, j] = R[i, j] * factor
        return
    for i in range(R.shape[0]):
        for j in range(i + 1 if lower else R.shape[1]):
            R[i, j] = math.ldexp(R[i, j], -shift)


@kernel
def rescale(R, shift):
    """``R *= 2**-shift``, exactly.

    A shift within the range of a float64 power of two is one multiplication by the factor;
    past it (subnormal entries: a shift below -1022) each entry's exponent is moved with
    ``ldexp``.  Not two factors in a row: the compiler may reassociate ``(r * a) * b`` into
    ``r * (a * b)``, and ``a * b`` overflows.
    """
    _scale(R, shift, False)


@inline_kernel
def rescale_lower(R, shift):
    """:func:`rescale` of the lower triangle of the square ``R`` alone; the rest untouched."""
    _scale(R, shift, True)


@kernel
def renormalise(A):
    """Bring ``max|A|`` into [1/2, 1) by an exact power of two.

    Returns the exponent removed (``A = A_new * 2**shift``), or None for an exactly zero ``A``.
    """
    top = peak(A)
    if top == 0.0:
        return None
    shift = np.int64(math.frexp(top)[1])  # int64, as every other caller of rescale passes
    rescale(A, shift)
    return shift


@kernel
def unit_scale_if_tiny(J):
    """Renormalise ``J`` exactly if its largest entry is below :data:`TINY`; return the shift.

    ``J = J_new * 2**shift``: the caller adds ``shift`` to the exponent of the product ``J``
    multiplies.  0 (and ``J`` untouched) for a zero matrix or one in the normal range.
    """
    if 0.0 < peak(J) < TINY:
        moved = renormalise(J)
        if moved is not None:
            return moved
    return np.int64(0)
