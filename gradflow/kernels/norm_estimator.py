"""A certified estimate of the spectral norm of a matrix, warm-started from a previous one.

The norm comes from a block of ``PROBES`` orthonormal vectors, typically the previous
matrix's (the output-side singular vectors of a suffix product ``P_k`` converge as ``k``
grows), refined by subspace iteration with Rayleigh-Ritz and accepted only under a certified
upper bound (:func:`top_eigenvalue`); otherwise the Gram matrix's top eigenvalue, by Lanczos
certified with a Cholesky inertia test or, failing that, an exact eigen-solve
(:mod:`~gradflow.kernels.gram_certificate`).  Every norm returned is within ``TOLERANCE``
(relative, on ``sigma_max^2``) of the exact one (``GRAM_TOLERANCE`` where the Gram
certificate gives it), whatever the spectrum.
"""

import math

import numpy as np

from ._common import copy_into
from ._jit import inline_kernel, kernel
from .blas import gram_of_columns, gram_of_rows
from .gram_certificate import certified_gram_top, new_lanczos
from .scaling import LOG10_2, in_range, renormalise, sum_squares

#: Width of the warm-started block of vectors that estimates each spectral norm.
PROBES = 8
#: Matrices at most this wide are solved exactly (the block would be most of the space).
EXACT_BELOW = 3 * PROBES
#: A norm is accepted when ``sigma_max^2`` is certified to this relative width: the reported
#: log10 is then within ``TOLERANCE / (2 ln 10) ~ 2e-11`` of the exact one.
TOLERANCE = 1e-10
#: Subspace iterations per matrix before the exact fallback.
MAX_ITERATIONS = 12


@kernel
def exact_top_eigenvalue(A, gram):
    """``sigma_max(A)^2`` as the largest eigenvalue of the Gram matrix ``A^T A`` (LAPACK).

    ``gram`` is (b, b) for ``A^T A`` or (a, a) for ``A A^T`` (A is (a, b)): the smaller one.

    The Gram matrix carries ``sigma_max`` to full relative precision (its absolute error is
    ~eps * sigma_max^2).
    """
    if gram.shape[0] == A.shape[1]:
        gram_of_columns(A, gram)
    else:
        gram_of_rows(A, gram)
    return np.linalg.eigvalsh(gram)[-1]


@kernel
def _symmetric_eigen(H, values, vectors):
    """Eigen-decompose the small symmetric ``H`` in place by cyclic Jacobi rotations.

    ``values`` receives the eigenvalues in descending order and the columns of ``vectors``
    the matching orthonormal eigenvectors.  ``H`` is destroyed.
    """
    p = H.shape[0]
    for i in range(p):
        for j in range(p):
            vectors[i, j] = 0.0
        vectors[i, i] = 1.0
    # work at unit scale (an exact power of two), so no convergence test under- or overflows
    peak = 0.0
    for i in range(p):
        for j in range(p):
            peak = max(peak, abs(H[i, j]))
    if peak == 0.0:
        for i in range(p):
            values[i] = 0.0
        return
    shift = math.frexp(peak)[1]
    unit = math.ldexp(1.0, -shift)
    for i in range(p):
        for j in range(p):
            H[i, j] *= unit
    for _ in range(50):
        off = 0.0
        diag = 0.0
        for i in range(p):
            diag += H[i, i] * H[i, i]
            for j in range(i + 1, p):
                off += H[i, j] * H[i, j]
        if off <= 1e-34 * diag or off == 0.0:
            break
        for a in range(p - 1):
            for c in range(a + 1, p):
                h = H[a, c]
                if h == 0.0:
                    continue
                theta = (H[c, c] - H[a, a]) / (2.0 * h)
                t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                cs = 1.0 / math.sqrt(t * t + 1.0)
                sn = t * cs
                for r in range(p):
                    x = H[r, a]
                    y = H[r, c]
                    H[r, a] = cs * x - sn * y
                    H[r, c] = sn * x + cs * y
                for r in range(p):
                    x = H[a, r]
                    y = H[c, r]
                    H[a, r] = cs * x - sn * y
                    H[c, r] = sn * x + cs * y
                for r in range(p):
                    x = vectors[r, a]
                    y = vectors[r, c]
                    vectors[r, a] = cs * x - sn * y
                    vectors[r, c] = sn * x + cs * y
    for i in range(p):
        values[i] = math.ldexp(H[i, i], shift)
    # selection sort, descending, carrying the eigenvectors along
    for i in range(p):
        best = i
        for j in range(i + 1, p):
            if values[j] > values[best]:
                best = j
        if best != i:
            values[i], values[best] = values[best], values[i]
            for r in range(p):
                vectors[r, i], vectors[r, best] = vectors[r, best], vectors[r, i]


@kernel
def _gram_schmidt(W, V):
    """Columns of ``V`` <- an orthonormal basis built from those of ``W`` (m, p), in order.

    Classical Gram-Schmidt applied twice; a column lost to rank deficiency is replaced by a
    coordinate vector orthogonal to the others, so ``V`` is always orthonormal.
    """
    m, p = W.shape
    trial = 0
    for j in range(p):
        for i in range(m):
            V[i, j] = W[i, j]
        size = 0.0
        for i in range(m):
            size += V[i, j] * V[i, j]
        size = math.sqrt(size)
        while True:
            for _ in range(2):
                for c in range(j):
                    dot = 0.0
                    for i in range(m):
                        dot += V[i, c] * V[i, j]
                    for i in range(m):
                        V[i, j] -= dot * V[i, c]
            norm = 0.0
            for i in range(m):
                norm += V[i, j] * V[i, j]
            norm = math.sqrt(norm)
            if norm > 1e-8 * size and norm > 0.0:
                break
            for i in range(m):
                V[i, j] = 0.0
            V[(7 * j + trial) % m, j] = 1.0
            size = 1.0
            trial += 1
        inv = 1.0 / norm
        for i in range(m):
            V[i, j] *= inv


@kernel
def _cholesky_step(W, V, G, M, scale):
    """One pass of column-scaled Cholesky QR: ``V = W D^-1 L^-T``; False if it breaks down.

    ``L L^T`` is the Cholesky factorisation of ``D^-1 W^T W D^-1``, ``D`` the column norms of
    ``W``.  False (``V`` untouched) when that matrix is too close to singular to be trusted.
    """
    p = W.shape[1]
    np.dot(W.T, W, G)
    for j in range(p):
        if not G[j, j] > 0.0:
            return False
    for i in range(p):
        M[i, i] = 1.0 / math.sqrt(G[i, i])
    for i in range(p):
        for j in range(p):
            G[i, j] *= M[i, i] * M[j, j]
    # G <- its lower Cholesky factor L, in place
    for j in range(p):
        d = G[j, j]
        for c in range(j):
            d -= G[j, c] * G[j, c]
        if not d > 1e-6:
            return False
        d = math.sqrt(d)
        G[j, j] = d
        for i in range(j + 1, p):
            acc = G[i, j]
            for c in range(j):
                acc -= G[i, c] * G[j, c]
            G[i, j] = acc / d
    # M <- D^-1 L^-T (upper triangular), column by column of L^-T
    for i in range(p):
        scale[i] = M[i, i]
    for i in range(p):
        for j in range(p):
            M[i, j] = 0.0
    for j in range(p):
        # solve L^T x = e_j for x = column j of L^-T (nonzero for rows <= j)
        for i in range(j, -1, -1):
            acc = 1.0 if i == j else 0.0
            for c in range(i + 1, j + 1):
                acc -= G[c, i] * M[c, j]
            M[i, j] = acc / G[i, i]
    for i in range(p):
        for j in range(p):
            M[i, j] *= scale[i]
    np.dot(W, M, V)
    return True


@inline_kernel
def _orthonormalise(W, V, G, M, scale):
    """Columns of ``V`` (m, p) <- an orthonormal basis built from those of ``W``, in order.

    Two passes of column-scaled Cholesky QR (BLAS-3, p x p work), which keep orthogonality
    to rounding for well-separated columns; Gram-Schmidt with re-orthogonalisation when a
    factorisation breaks down (numerically dependent columns).  ``W`` is used as scratch.
    """
    if _cholesky_step(W, V, G, M, scale):
        if _cholesky_step(V, W, G, M, scale):
            copy_into(W, V)
            return
    _gram_schmidt(W, V)


@kernel
def _seed_vectors(V):
    """A fixed, well-spread orthonormal start block (deterministic: no random state)."""
    m, p = V.shape
    W = np.empty((m, p))
    for i in range(m):
        for j in range(p):
            # a simple integer hash to [-1/2, 1/2)
            z = (i * 2654435761 + (j + 1) * 40503 * (i + 7)) % 4294967296
            W[i, j] = z / 4294967296.0 - 0.5
    _gram_schmidt(W, V)


@kernel
def _pair_bound(top, coupling, rest):
    """Largest eigenvalue of the symmetric 2 x 2 matrix ``[[top, coupling], [coupling, rest]]``."""
    size = max(abs(top), abs(rest), abs(coupling))
    if size == 0.0:
        return 0.0
    a = top / size
    b = rest / size
    c = coupling / size
    half = 0.5 * (a - b)
    return size * (0.5 * (a + b) + math.sqrt(half * half + c * c))


@kernel
def top_eigenvalue(A, frobenius2, V, Y, W, H, values, vectors, spare, gram, lanczos, stats):
    """``sigma_max(A)^2`` of a C-contiguous ``A`` (a, b), certified or exact.

    ``frobenius2`` is ``||A||_F^2``.  ``V`` (b, p) holds orthonormal start vectors on entry
    (the previous lag's) and improved ones on exit.  A subspace iteration costs two thin BLAS
    products, ``Y = A V`` and ``W = A^T Y``; Rayleigh-Ritz rotates ``V`` onto Ritz vectors with
    Rayleigh quotients ``theta_1 >= ... >= theta_p`` (``theta_1 <= sigma_max^2``).  With
    ``r_1`` the residual ``||A^T A v_1 - theta_1 v_1||``, ``e`` the Frobenius norm of the
    others' residuals, ``g`` a Gershgorin bound of the top of the rest of the block and
    ``mu = ||A||_F^2 - sum(theta)`` the Frobenius mass outside the block, every unit vector
    ``x = a v_1 + y`` (``y`` orthogonal to ``v_1``) satisfies

        ||A x||^2 <= lmax [[theta_1, r_1], [r_1, beta]],  beta = lmax [[g, e], [e, mu]],

    so ``theta_1 <= sigma_max^2 <= that bound``.  ``theta_1`` is returned once the bound is
    within ``TOLERANCE`` of it; otherwise, after ``MAX_ITERATIONS`` or as soon as the block
    cannot certify (``mu >= theta_1``), the Gram matrix's top eigenvalue
    (:func:`~gradflow.kernels.gram_certificate.certified_gram_top`, started from ``v_1``).
    ``stats`` counts ``[calls, iterations, fallbacks]``.

    Work arrays: ``Y`` (a, p), ``W`` (b, p), ``spare`` (max(a, b), p), ``H``, ``vectors``
    (p, p), ``values`` (2p,), ``gram`` (min(a, b), min(a, b)), ``lanczos`` of that size.
    """
    m, p = V.shape
    spare_in = spare[:m]
    spare_out = spare[:A.shape[0]]
    scales = values[p:]
    values = values[:p]
    stats[0] += 1
    safety = 1e-10 * frobenius2
    for _ in range(MAX_ITERATIONS):
        stats[1] += 1
        np.dot(A, V, Y)
        np.dot(Y.T, Y, H)
        _symmetric_eigen(H, values, vectors)
        # rotate the block onto the Ritz vectors; spare = A V
        np.dot(V, vectors, spare_in)
        copy_into(spare_in, V)
        np.dot(Y, vectors, spare_out)
        # the Gram matrix of the rotated block, recomputed: the bound below holds whatever
        # the accuracy of the rotation (Rayleigh quotients on the diagonal, Gershgorin for
        # the top of the rest)
        np.dot(spare_out.T, spare_out, H)
        top = H[0, 0]
        captured = 0.0
        rest = 0.0
        for j in range(p):
            captured += H[j, j]
            if j > 0:
                row = H[j, j]
                for c in range(1, p):
                    if c != j:
                        row += abs(H[j, c])
                rest = max(rest, row)
        # u_j = A v_j / sigma_j, so that W = A^T U has columns of size sigma_j, not sigma_j^2
        for j in range(p):
            theta = H[j, j]
            c = 1.0 / math.sqrt(theta) if theta > 0.0 else 1.0
            scales[j] = c
            for i in range(Y.shape[0]):
                Y[i, j] = spare_out[i, j] * c
        np.dot(A.T, Y, W)
        # residuals of A^T A v_j - theta_j v_j = (A^T u_j - c_j theta_j v_j) / c_j
        residual_top = 0.0
        residual_rest = 0.0
        for j in range(p):
            c = scales[j]
            theta = H[j, j]
            target = theta * c
            acc = 0.0
            for i in range(m):
                d = W[i, j] - target * V[i, j]
                acc += d * d
            if theta > 0.0:
                acc *= theta
            if j == 0:
                residual_top = acc
            else:
                residual_rest += acc
        mu = max(frobenius2 - captured, 0.0) + safety
        beta = _pair_bound(rest, math.sqrt(residual_rest), mu)
        if top > beta:
            upper = _pair_bound(top, math.sqrt(residual_top), beta)
            if upper - top <= TOLERANCE * top:
                _orthonormalise(W, V, H, vectors, scales)
                return top
        elif mu >= top:
            # the mass outside the block exceeds the top: no number of iterations certifies
            _orthonormalise(W, V, H, vectors, scales)
            break
        _orthonormalise(W, V, H, vectors, scales)
    stats[2] += 1
    return certified_gram_top(A, frobenius2, V[:, 0], gram, lanczos)


@inline_kernel
def new_estimator(m, p):
    """Work arrays of ``top_eigenvalue`` for an (m, m) matrix, start block seeded."""
    return new_rectangular_estimator(m, m, p)


@kernel
def new_rectangular_estimator(a, b, p):
    """Work arrays of ``top_eigenvalue`` for an (a, b) matrix, start block (b, p) seeded."""
    V = np.empty((b, p))
    _seed_vectors(V)
    small = min(a, b)
    return (V, np.empty((a, p)), np.empty((b, p)), np.empty((p, p)), np.empty(2 * p),
            np.empty((p, p)), np.empty((max(a, b), p)), np.empty((small, small)),
            new_lanczos(small, b))


@inline_kernel
def log10_norm(A, frobenius2, base, estimator, stats):
    """``base + log10 sigma_max(A)``; ``-inf`` for an exactly zero ``A``.

    ``A`` may be rescaled in place by a power of two when its squares leave float64's range.
    """
    if not in_range(frobenius2):
        shift = renormalise(A)
        if shift is None:
            return -np.inf
        base += shift * LOG10_2
        frobenius2 = sum_squares(A)
    V, Y, W, H, values, vectors, spare, gram, lanczos = estimator
    if min(A.shape[0], A.shape[1]) <= EXACT_BELOW:
        stats[0] += 1
        stats[2] += 1
        lam = exact_top_eigenvalue(A, gram)
    else:
        lam = top_eigenvalue(A, frobenius2, V, Y, W, H, values, vectors, spare, gram, lanczos,
                             stats)
    return base + 0.5 * math.log10(lam)
