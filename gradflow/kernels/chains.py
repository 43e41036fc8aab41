"""Chains over time built on the per-cell kernels: trajectories, Jacobian stacks, all-lag norms.

Time indexing: ``X[t]`` is the input of step ``t + 1``; ``S[0]`` is the initial state and
``S[t + 1]`` the state after step ``t + 1``; the Jacobian of step ``t + 1`` is evaluated at
``S[t]`` with input ``X[t]``.

The all-lag sweep keeps the transposed running product ``R = P_k^T`` (m, m) times an exact
power of two, so a new lag is one BLAS product ``R <- J^T R`` (for LSTM only the dense half of
``J``: its right half is diagonal).  The spectral norm of each lag comes from a block of
``PROBES`` vectors warm-started from the previous lag (the output-side singular vectors of
``P_k`` converge as k grows), refined by subspace iteration with Rayleigh-Ritz and accepted
only under a certified upper bound; otherwise an exact eigen-solve of the Gram matrix is used.
"""

import math

import numpy as np
from numba import prange

from . import dispatch, lstm
from ._common import matvec_add
from ._jit import kernel, parallel_kernel

LOG10_2 = math.log10(2.0)

#: Width of the warm-started block of vectors that estimates each spectral norm.
PROBES = 8
#: Matrices at most this wide are solved exactly (the block would be most of the space).
EXACT_BELOW = 3 * PROBES
#: A norm is accepted when ``sigma_max^2`` is certified to this relative width: the reported
#: log10 is then within ``TOLERANCE / (2 ln 10) ~ 2e-11`` of the exact one.
TOLERANCE = 1e-10
#: Subspace iterations per lag before the exact fallback.
MAX_ITERATIONS = 12
#: After this many consecutive fallbacks, ``step_log10_norms`` tries the estimator only every
#: SKIP-th step.
SKIP = 8
#: The running product is rescaled once its Frobenius norm leaves [2^-RANGE, 2^RANGE].
RANGE = 64
#: A matrix whose squared Frobenius norm leaves [SMALLEST, LARGEST] is renormalised before its
#: norm is estimated, so that squares of squares stay far inside float64.
SMALLEST = 2.0**-400
LARGEST = 2.0**400


@kernel
def input_projection(Wx, b, x, xp):
    """``xp[g] = Wx[g] @ x + b[g]`` for every gate ``g``."""
    for g in range(Wx.shape[0]):
        matvec_add(Wx[g], x, b[g], xp[g])


@kernel
def run(kind, option, Wh, Wx, b, bhn, X, S):
    """Fill ``S[1:]`` from ``S[0]``; return the first step whose state is non-finite, else -1."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.step(kind, option, Wh, bhn, xp, S[t], S[t + 1], work)
        for i in range(S.shape[1]):
            if not np.isfinite(S[t + 1, i]):
                return t + 1
    return -1


@parallel_kernel
def batch_run(kind, option, Wh, Wx, b, bhn, X, S, bad):
    """``run`` for every sequence of a batch in parallel: ``X`` (B, T, d), ``S`` (B, T + 1, m).

    ``bad[i]`` receives sequence ``i``'s first non-finite step, or -1.
    """
    for i in prange(X.shape[0]):
        bad[i] = run(kind, option, Wh, Wx, b, bhn, X[i], S[i])


@kernel
def step_jacobians(kind, option, Wh, Wx, b, bhn, X, S, Js):
    """Fill ``Js[t]`` with the Jacobian of step ``t + 1``."""
    G, n = b.shape
    work = np.empty((4, n))
    xp = np.empty((G, n))
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(kind, option, Wh, bhn, xp, S[t], Js[t], work)


# ---------------------------------------------------------------------- spectral norms
@kernel
def exact_top_eigenvalue(A, gram):
    """``sigma_max(A)^2`` as the largest eigenvalue of the Gram matrix ``A^T A`` (LAPACK).

    The Gram matrix carries ``sigma_max`` to full relative precision (its absolute error is
    ~eps * sigma_max^2).
    """
    np.dot(A.T, A, gram)
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


@kernel
def _orthonormalise(W, V, G, M, scale):
    """Columns of ``V`` (m, p) <- an orthonormal basis built from those of ``W``, in order.

    Two passes of column-scaled Cholesky QR (BLAS-3, p x p work), which keep orthogonality
    to rounding for well-separated columns; Gram-Schmidt with re-orthogonalisation when a
    factorisation breaks down (numerically dependent columns).  ``W`` is used as scratch.
    """
    if _cholesky_step(W, V, G, M, scale):
        if _cholesky_step(V, W, G, M, scale):
            V[:, :] = W
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
def top_eigenvalue(A, frobenius2, V, Y, W, H, values, vectors, spare, gram, stats):
    """``sigma_max(A)^2`` of a square C-contiguous ``A``, certified or exact.

    ``frobenius2`` is ``||A||_F^2``.  ``V`` (m, p) holds orthonormal start vectors on entry
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
    cannot certify (``mu >= theta_1``), the exact Gram eigenvalue.  ``stats`` counts
    ``[calls, iterations, fallbacks]``.

    Work arrays: ``Y``, ``W``, ``spare`` (m, p), ``H``, ``vectors`` (p, p), ``values`` (2p,),
    ``gram`` (m, m).
    """
    m, p = V.shape
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
        np.dot(V, vectors, spare)
        V[:, :] = spare
        np.dot(Y, vectors, spare)
        # the Gram matrix of the rotated block, recomputed: the bound below holds whatever
        # the accuracy of the rotation (Rayleigh quotients on the diagonal, Gershgorin for
        # the top of the rest)
        np.dot(spare.T, spare, H)
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
            for i in range(m):
                Y[i, j] = spare[i, j] * c
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
    return exact_top_eigenvalue(A, gram)


@kernel
def _new_estimator(m, p):
    """Work arrays of ``top_eigenvalue`` for an (m, m) matrix, start block seeded."""
    V = np.empty((m, p))
    _seed_vectors(V)
    return (V, np.empty((m, p)), np.empty((m, p)), np.empty((p, p)), np.empty(2 * p),
            np.empty((p, p)), np.empty((m, p)), np.empty((m, m)))


@kernel
def _log10_norm(A, frobenius2, base, estimator, stats):
    """``base + log10 sigma_max(A)``; ``-inf`` for an exactly zero ``A``.

    ``A`` may be rescaled in place by a power of two when its squares leave float64's range.
    """
    if not _in_range(frobenius2):
        shift = _renormalise(A)
        if shift is None:
            return -np.inf
        base += shift * LOG10_2
        frobenius2 = sum_squares(A)
    V, Y, W, H, values, vectors, spare, gram = estimator
    if A.shape[0] <= EXACT_BELOW:
        stats[0] += 1
        stats[2] += 1
        lam = exact_top_eigenvalue(A, gram)
    else:
        lam = top_eigenvalue(A, frobenius2, V, Y, W, H, values, vectors, spare, gram, stats)
    return base + 0.5 * math.log10(lam)


@kernel
def sum_squares(A):
    """``||A||_F^2`` (a vectorised reduction)."""
    acc = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            acc += A[i, j] * A[i, j]
    return acc


@kernel
def _peak(A):
    """``max |A|``."""
    peak = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            peak = max(peak, abs(A[i, j]))
    return peak


@kernel
def _measure(R, n_block, Bh, Bc, sums):
    """``sums[0] = ||R||_F^2``; with blocks, also copy out the diagonal blocks.

    The blocks go to ``Bh`` and ``Bc``, their squared Frobenius norms to ``sums[1:3]``.
    """
    sums[0] = sum_squares(R)
    nb = n_block
    if nb > 0:
        for i in range(nb):
            for j in range(nb):
                Bh[i, j] = R[i, j]
        for i in range(nb):
            for j in range(nb):
                Bc[i, j] = R[nb + i, nb + j]
        sums[1] = sum_squares(Bh)
        sums[2] = sum_squares(Bc)


@kernel
def _in_range(frobenius2):
    """Whether ``||A||_F^2`` leaves room for the estimator's fourth powers (2^-400 .. 2^400)."""
    return SMALLEST < frobenius2 < LARGEST


@kernel
def _renormalise(A):
    """Bring ``max|A|`` into [1/2, 1) by an exact power of two.

    Returns the exponent removed (``A = A_new * 2**shift``), or None for an exactly zero ``A``.
    """
    peak = _peak(A)
    if peak == 0.0:
        return None
    shift = math.frexp(peak)[1]
    _rescale(A, shift)
    return shift


@kernel
def _rescale(R, shift):
    """``R *= 2**-shift`` (exact)."""
    scale = math.ldexp(1.0, -shift)
    for i in range(R.shape[0]):
        for j in range(R.shape[1]):
            R[i, j] *= scale


@kernel
def jacobian_step(kind, option, Wh, Wx, b, bhn, x, s, shift, J, diag_h, diag_c, xp, work):
    """The Jacobian of the step leaving ``s`` with input ``x``, times ``2**-shift`` (exact).

    For LSTM only the nonzero parts: ``J`` (2n, n) the dense left half, ``diag_h``/``diag_c``
    the diagonal right half; for the other cells ``J`` (m, m).
    """
    input_projection(Wx, b, x, xp)
    scale = math.ldexp(1.0, -shift)
    if kind == dispatch.LSTM:
        lstm.jacobian_blocks(Wh, xp, s, J, diag_h, diag_c, scale, work)
    else:
        dispatch.jacobian(kind, option, Wh, bhn, xp, s, J, work)
        if shift != 0:
            _rescale(J, shift)


@kernel
def advance(kind, J, diag_h, diag_c, R, R_next):
    """``R_next = J^T R``: one more factor on the transposed running product."""
    if kind == dispatch.LSTM:
        # J = [[A, diag(diag_h)], [B, diag(diag_c)]], J = [A; B] its dense left half
        n = J.shape[1]
        m = R.shape[1]
        np.dot(J.T, R, R_next[:n])
        for j in range(n):
            a = diag_h[j]
            f = diag_c[j]
            for i in range(m):
                R_next[n + j, i] = a * R[j, i] + f * R[n + j, i]
    else:
        np.dot(J.T, R, R_next)


@kernel
def new_sweep_state(kind, m, G, n, n_block):
    """Work arrays of ``sweep``, allocated once per sequence.

    ``(R, R_next, J, diag_h, diag_c, xp, work, Bh, Bc, sums)`` and the three norm estimators
    (full product, h block, c block).
    """
    R = np.eye(m)
    R_next = np.empty((m, m))
    J = np.empty((m, n)) if kind == dispatch.LSTM else np.empty((m, m))
    nb = max(n_block, 1)
    arrays = (R, R_next, J, np.empty(n), np.empty(n), np.empty((G, n)), np.empty((4, n)),
              np.empty((nb, nb)), np.empty((nb, nb)), np.empty(3))
    p_block = min(PROBES, nb)
    return (arrays, _new_estimator(m, min(PROBES, m)), _new_estimator(nb, p_block),
            _new_estimator(nb, p_block))


@kernel
def next_shift(frobenius2):
    """The power of two to divide the next factor by: 0 while ``||R||_F`` is in range."""
    size = math.frexp(math.sqrt(frobenius2))[1]
    return size if abs(size) > RANGE else 0


@kernel
def sweep(kind, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c, stats):
    """The all-lag backward sweep behind ``suffix_log10_norms``, with counters.

    ``stats`` (3,) accumulates ``[norms, subspace iterations, exact fallbacks]``.
    """
    T = X.shape[0]
    m = S.shape[1]
    G, n = b.shape
    arrays, full, est_h, est_c = new_sweep_state(kind, m, G, n, n_block)
    R, R_next, J, diag_h, diag_c, xp, work, Bh, Bc, sums = arrays
    exponent = 0
    shift = 0
    out[0] = 0.0
    if n_block > 0:
        out_h[0] = 0.0
        out_c[0] = 0.0
    zero = False
    for k in range(1, T + 1):
        if zero:
            out[k] = -np.inf
            if n_block > 0:
                out_h[k] = -np.inf
                out_c[k] = -np.inf
            continue
        t = T - k
        jacobian_step(kind, option, Wh, Wx, b, bhn, X[t], S[t], shift, J, diag_h, diag_c,
                      xp, work)
        advance(kind, J, diag_h, diag_c, R, R_next)
        R, R_next = R_next, R
        exponent += shift
        _measure(R, n_block, Bh, Bc, sums)
        if not _in_range(sums[0]):
            # one step took the product far out of range (or to zero): renormalise it here
            step = _renormalise(R)
            if step is None:
                zero = True
                out[k] = -np.inf
                if n_block > 0:
                    out_h[k] = -np.inf
                    out_c[k] = -np.inf
                continue
            exponent += step
            _measure(R, n_block, Bh, Bc, sums)
        base = exponent * LOG10_2
        out[k] = _log10_norm(R, sums[0], base, full, stats)
        if n_block > 0:
            out_h[k] = _log10_norm(Bh, sums[1], base, est_h, stats)
            out_c[k] = _log10_norm(Bc, sums[2], base, est_c, stats)
        shift = next_shift(sums[0])


@kernel
def suffix_log10_norms(kind, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c):
    """All-lag spectral norms of the suffix products ``P_k = ds_T/ds_{T-k}``, k = 0..T.

    A backward sweep: ``P_k = P_{k-1} J_{T-k+1}`` with ``J`` recomputed from the stored states,
    so memory is O(T m + m^2).  The running product is kept as ``R * 2**e`` with the integer
    exponent ``e`` carried exactly, so no lag over- or underflows.  ``out[k]`` receives
    ``log10 ||P_k||_2`` (``-inf`` once the product is exactly zero).  With ``n_block > 0``
    (LSTM, state (h, c)), ``out_h`` and ``out_c`` receive the norms of the diagonal blocks
    ``dh_T/dh_{T-k}`` and ``dc_T/dc_{T-k}``.
    """
    stats = np.zeros(3, dtype=np.int64)
    sweep(kind, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c, stats)


@kernel
def step_log10_norms(kind, option, Wh, Wx, b, bhn, X, S, out, stats):
    """``out[t] = log10 ||J_{t+1}||_2`` for every step Jacobian along a stored trajectory.

    The Jacobians are formed one at a time (memory O(m^2)), and each norm comes from the same
    certified estimator as the sweep, warm-started from the previous step; a single step's
    spectrum is often too flat to certify (LSTM), and after a run of such steps the estimator
    is tried only every ``SKIP``-th step, the rest going straight to the exact Gram eigenvalue.
    ``-inf`` marks an exactly zero Jacobian.  ``stats`` (3,) as in ``sweep``.
    """
    m = S.shape[1]
    G, n = b.shape
    J = np.empty((m, m))
    xp = np.empty((G, n))
    work = np.empty((4, n))
    estimator = _new_estimator(m, min(PROBES, m))
    gram = estimator[7]
    failures = 0
    for t in range(X.shape[0]):
        input_projection(Wx, b, X[t], xp)
        dispatch.jacobian(kind, option, Wh, bhn, xp, S[t], J, work)
        frobenius2 = sum_squares(J)
        if failures >= SKIP and t % SKIP != 0 and _in_range(frobenius2):
            stats[0] += 1
            stats[2] += 1
            out[t] = 0.5 * math.log10(exact_top_eigenvalue(J, gram))
            continue
        fallbacks = stats[2]
        out[t] = _log10_norm(J, frobenius2, 0.0, estimator, stats)
        failures = failures + 1 if stats[2] > fallbacks else 0


@parallel_kernel
def batch_suffix_log10_norms(kind, option, Wh, Wx, b, bhn, X, S, n_block, out, out_h, out_c):
    """``suffix_log10_norms`` for every sequence of a batch, in parallel over sequences.

    ``X`` (B, T, d), ``S`` (B, T + 1, m), ``out`` (B, T + 1); ``out_h`` and ``out_c`` are
    (B, T + 1) with ``n_block > 0``, else any (B, 1).
    """
    for i in prange(X.shape[0]):
        stats = np.zeros(3, dtype=np.int64)
        sweep(kind, option, Wh, Wx, b, bhn, X[i], S[i], n_block, out[i], out_h[i], out_c[i],
              stats)
