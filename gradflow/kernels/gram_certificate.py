"""The top eigenvalue of a Gram matrix by Lanczos, certified by a Cholesky inertia test.

Where a spectrum is flat (an orthogonal recurrence's first lags, a single step of an LSTM) the
warm-started block of :mod:`~gradflow.kernels.norm_estimator` cannot certify its estimate: the
Frobenius mass outside the block exceeds its top.  The smaller Gram matrix ``G`` is then
formed (``A A^T`` of a square or wide ``A``, ``A^T A`` of a tall one; one triangle by BLAS
``dsyrk``, :mod:`.blas`), and instead of a full eigen-solve (LAPACK
``syevd``: four to eight matrix products' time) its top eigenvalue is found and proved in about two:

1. Lanczos on ``G`` with full re-orthogonalisation, started from the block's best vector, gives
   the top Ritz value ``theta`` (a Rayleigh quotient: ``theta <= lambda_max``); Lanczos needs
   far fewer products for a small gap than subspace iteration, about its square root.
2. ``u I - G`` with ``u`` just below ``theta (1 + GRAM_TOLERANCE)`` is factorised by Cholesky
   (:func:`certificate_shift`: the tolerance less the rounding allowance).  If the
   factorisation completes, ``u I - G`` is positive definite up to its rounding, so
   ``lambda_max < u`` up to an explicit allowance for the rounding of ``G`` and of the factors
   (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002: Theorem 10.5 for
   Cholesky, section 3.5 for a matrix product): ``(n + 2)(n + 1) u_r u + q u_r ||A||_F^2``
   (forming ``u I - G`` included), with ``n`` the Gram matrix's order, ``q`` the length of its
   inner products and ``u_r = 2^-53`` the unit roundoff.

The value returned is then within ``GRAM_TOLERANCE`` (relative, on ``sigma_max^2``; the log10
of the norm within ``GRAM_TOLERANCE / (2 ln 10) ~ 2.2e-10``) of the exact one.  Where the
factorisation fails (Lanczos had not converged), or the allowance leaves no room for the shift
(it grows as the order squared: exactly flat spectra of order above about 2000), the eigenvalue
comes from LAPACK's eigen-solve, as before; so it does, without trying the factorisation,
where Lanczos has not settled within ``LANCZOS_STEPS`` (a top eigenvalue within about 1e-5
relative of the next ones at n = 512 needs hundreds of steps).  The second to fourth lags of an
orthogonal RNN of n = 1024 settle in 108 to 168 steps (an eigen-solve of that order costs as
much as 500 more), so the limit is 180, not the 96 it was.  Stopping Lanczos earlier where
its rate predicted too many steps was tried and cost 6% on the sweeps of orthogonal RNNs and
LSTMs at n = 512: it gave up on values that would have settled.
"""

import math

import numpy as np
from numba.core import types

from ._jit import inline_kernel, kernel
from .blas import (
    lower_smaller_gram,
    mirror_lower,
    new_symmetric_product,
    symmetric_times,
)
from .scaling import rescale_lower

#: Relative width on ``sigma_max^2`` to which a Lanczos value is certified.
GRAM_TOLERANCE = 1e-9
#: Most Lanczos steps per matrix before the eigen-solve.
LANCZOS_STEPS = 180
#: Lanczos steps between two readings of the top Ritz value.
CHECK_EVERY = 6
UNIT_ROUNDOFF = 2.0 ** -53
#: Least relative gap between the Cholesky shift and the Lanczos value (5x what a settled
#: value may still move in ``CHECK_EVERY`` steps).
CLEARANCE = 5e-2 * GRAM_TOLERANCE

# LAPACK's dpotrf through the wrapper Numba itself links (the one np.linalg.cholesky calls),
# so a symmetric matrix is factorised in place: no copy, no clearing of the other triangle.
_POTRF = types.ExternalFunction("numba_xxpotrf", types.intc(
    types.char, types.char, types.intp, types.CPointer(types.float64), types.intp))
_DOUBLE = ord("d")
_UPPER = ord("U")


@kernel
def new_lanczos(size, columns):
    """Work arrays of :func:`certified_gram_top`: a (size, size) Gram matrix of ``columns``."""
    steps = min(LANCZOS_STEPS, size)
    return np.empty((steps + 1, size)), np.empty((3, steps + 1)), np.empty(columns)


@kernel
def _count_below(alpha, beta, k, x, pivmin):
    """Eigenvalues below ``x`` of the k x k tridiagonal (``alpha``, ``beta``): Sturm count."""
    count = 0
    d = alpha[0] - x
    for i in range(k):
        if i > 0:
            d = alpha[i] - x - beta[i - 1] * beta[i - 1] / d
        if abs(d) < pivmin:
            d = -pivmin
        if d < 0.0:
            count += 1
    return count


@kernel
def _top_ritz_value(alpha, beta, k):
    """A lower bound, to rounding, of the largest eigenvalue of the k x k tridiagonal.

    Bisection on Sturm counts inside the Gershgorin interval: the returned ``lo`` always has
    an eigenvalue at or above it.
    """
    lo = np.inf
    hi = -np.inf
    largest = 0.0
    for i in range(k):
        radius = (abs(beta[i - 1]) if i > 0 else 0.0) + (abs(beta[i]) if i < k - 1 else 0.0)
        lo = min(lo, alpha[i] - radius)
        hi = max(hi, alpha[i] + radius)
        if i < k - 1:
            largest = max(largest, beta[i] * beta[i])
    pivmin = 2.2250738585072014e-308 * max(1.0, largest)
    hi += UNIT_ROUNDOFF * max(abs(hi), 1e-300)
    lo -= UNIT_ROUNDOFF * max(abs(lo), 1e-300)
    for _ in range(2200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi or hi - lo <= 4.0 * UNIT_ROUNDOFF * abs(hi):
            break
        if _count_below(alpha, beta, k, mid, pivmin) == k:
            hi = mid
        else:
            lo = mid
    return lo


@kernel
def _lanczos_top(G, start, Q, tri):
    """The top Ritz value of ``G`` from Lanczos started at ``start`` (full re-orthogonalisation).

    Only ``G``'s lower triangle is read (its rows of unit stride).

    Returns ``(theta, settled)``: ``settled`` when the value has settled (it grows
    monotonically towards ``lambda_max``) or the Krylov space is invariant, not when the
    ``Q.shape[0] - 1`` steps ran out first.
    """
    size = G.shape[0]
    steps = Q.shape[0] - 1
    alpha = tri[0]
    beta = tri[1]
    c = tri[2]
    norm = math.sqrt(np.dot(start, start))
    for r in range(size):
        Q[0, r] = start[r] / norm if norm > 0.0 else 1.0 / math.sqrt(size)
    theta = -np.inf
    product = new_symmetric_product(G)
    for j in range(steps):
        w = Q[j + 1]
        symmetric_times(product, G, Q[j], w)
        alpha[j] = np.dot(w, Q[j])
        for _ in range(2):
            basis = Q[:j + 1]
            np.dot(basis, w, c[:j + 1])
            for i in range(j + 1):
                ci = c[i]
                for r in range(size):
                    w[r] -= ci * Q[i, r]
        b = math.sqrt(np.dot(w, w))
        beta[j] = b
        k = j + 1
        invariant = b <= 64.0 * UNIT_ROUNDOFF * abs(alpha[j]) or b == 0.0
        if invariant or k % CHECK_EVERY == 0 or k == steps:
            value = _top_ritz_value(alpha, beta, k)
            target = 1e-2 * GRAM_TOLERANCE * abs(value)
            change = value - theta
            theta = value
            if invariant or change <= target:
                return theta, True
        inv = 1.0 / b
        for r in range(size):
            w[r] *= inv
    return theta, False


@kernel
def certificate_shift(theta, size, inner, mass):
    """The shift ``u`` whose completed Cholesky of ``u I - G`` proves the tolerance, or 0.

    ``G`` is (size, size), made of inner products of length ``inner``, of mass
    ``||A||_F^2 = mass`` (at unit scale); ``theta <= lambda_max`` its Lanczos value.  A
    Cholesky that completes on the computed ``u I - G`` proves ``lambda_max <= u (1 + c1) + c2``
    with ``c1 = (size + 2)(size + 1) u_r`` (its backward error and forming ``u I - G``) and
    ``c2 = inner u_r mass`` (the rounding of ``G``).  ``u`` is the largest shift for which
    that bound is ``theta (1 + GRAM_TOLERANCE)``: the rounding allowance takes what it needs
    of the tolerance and the shift the rest, so large matrices (where the allowance is most of
    it) are certified too.  0 where the shift would not clear ``theta`` by ``CLEARANCE``.
    """
    c1 = (size + 2) * (size + 1) * UNIT_ROUNDOFF
    c2 = inner * UNIT_ROUNDOFF * mass
    u = (theta * (1.0 + GRAM_TOLERANCE) - c2) / (1.0 + c1)
    if not theta > 0.0 or u <= theta * (1.0 + CLEARANCE):
        return 0.0
    return u


@inline_kernel
def _lower_gram(A, gram, shift):
    """The lower triangle of A's smaller Gram matrix times ``2**-shift``, exactly."""
    lower_smaller_gram(A, gram)  # of a square or wide A, A A^T: it has A^T A's spectrum
    rescale_lower(gram, shift)


@inline_kernel
def _reflect_lower(gram, u):
    """The lower triangle of ``gram`` (G) to that of ``u I - G``."""
    for i in range(gram.shape[0]):
        for j in range(i):
            gram[i, j] = -gram[i, j]
        gram[i, i] = u - gram[i, i]


@kernel
def certified_gram_top(A, frobenius2, start, gram, lanczos):
    """``sigma_max(A)^2``: the top eigenvalue of the smaller Gram matrix of ``A`` (a, b).

    ``start`` (b,) is the best known right singular direction (any nonzero vector will do);
    ``gram`` is (min(a, b), min(a, b)) and ``lanczos`` comes from :func:`new_lanczos` of that
    size.  Certified to ``GRAM_TOLERANCE`` as the module says, else LAPACK's eigen-solve.
    Only the Gram matrix's lower triangle is formed (``dsyrk``), run through Lanczos
    (``dsymv``) and factorised; the eigen-solve, where it runs, gets it mirrored.
    """
    Q, tri, vector = lanczos
    size = gram.shape[0]
    for r in range(A.shape[1]):
        vector[r] = start[r]
    # to unit scale by an exact power of two (||G|| <= ||A||_F^2), so no square overflows
    shift = np.int64(math.frexp(frobenius2)[1])
    unit = math.ldexp(1.0, -shift)
    _lower_gram(A, gram, shift)
    if A.shape[0] <= A.shape[1]:  # the start direction of A A^T: A times A^T A's
        np.dot(A, vector, Q[0])
        vector = Q[0]
    theta, settled = _lanczos_top(gram, vector, Q, tri)
    u = certificate_shift(theta, size, max(A.shape[0], A.shape[1]), frobenius2 * unit)
    certify = settled and u > 0.0
    if not certify:
        u = theta if theta > 0.0 else 1.0  # any shift serves the eigen-solve below
    _reflect_lower(gram, u)
    if certify:
        # factorises the lower triangle (row-major)
        if _POTRF(_DOUBLE, _UPPER, size, gram.ctypes, size) == 0:
            return math.ldexp(theta, shift)
        # not positive definite (Lanczos had not converged): u I - G again, from A
        _lower_gram(A, gram, shift)
        _reflect_lower(gram, u)
    mirror_lower(gram)
    # u I - G holds G's spectrum reflected: its smallest eigenvalue gives G's largest
    return math.ldexp(u - np.linalg.eigvalsh(gram)[0], shift)
