"""The Lanczos value of a Gram matrix's top eigenvalue, certified by Cholesky, against LAPACK.

References: numpy's SVD of the same matrix (an independent LAPACK path) for sigma_max^2.
"""

import numpy as np
import pytest

from gradflow.kernels import blas, scaling
from gradflow.kernels import gram_certificate as gc


def with_spectrum(rng, rows, cols, sigma):
    U, _ = np.linalg.qr(rng.standard_normal((rows, rows)))
    V, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    S = np.zeros((rows, cols))
    S[np.arange(sigma.size), np.arange(sigma.size)] = sigma
    return np.ascontiguousarray(U @ S @ V.T)


def top(A, start, steps=None):
    small = min(A.shape)
    lanczos = gc.new_lanczos(small, A.shape[1])
    if steps is not None:
        lanczos = (np.empty((steps + 1, small)), np.empty((3, steps + 1)), np.empty(A.shape[1]))
    gram = np.empty((small, small))
    return gc.certified_gram_top(A, float((A * A).sum()), start, gram, lanczos)


def reference(A):
    return np.linalg.svd(A, compute_uv=False)[0] ** 2


SPECTRA = {
    # an orthogonal matrix's: every singular value 1, the top is the whole spectrum
    "flat": lambda m: np.ones(m),
    # a gain-1 tanh RNN's first lag: f' sorted, a top gap of 1e-6
    "top gap 1e-6": lambda m: np.concatenate([[1.0, 1.0 - 1e-6], np.linspace(0.99, 0.2, m - 2)]),
    "nearly flat": lambda m: 1.0 - 1e-3 * np.arange(m) / m,
    "graded": lambda m: 0.9 ** np.arange(m),
    "huge": lambda m: 1e150 * (1.0 - 0.5 * np.arange(m) / m),
    "tiny": lambda m: 1e-150 * (1.0 - 0.5 * np.arange(m) / m),
}


@pytest.mark.parametrize("name", list(SPECTRA))
@pytest.mark.parametrize("shape", [(64, 64), (200, 200), (40, 90), (90, 40)])
def test_certified_top_eigenvalue_matches_the_svd(name, shape):
    rng = np.random.default_rng(sorted(SPECTRA).index(name))
    A = with_spectrum(rng, *shape, SPECTRA[name](min(shape)))
    value = top(A, rng.standard_normal(shape[1]))
    expected = reference(A)
    # certified to GRAM_TOLERANCE on sigma^2; in practice Lanczos settles far closer
    assert abs(value - expected) <= gc.GRAM_TOLERANCE * expected
    assert abs(value - expected) <= 1e-11 * expected


def test_a_start_orthogonal_to_the_top_still_finds_it():
    rng = np.random.default_rng(3)
    m = 80
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    sigma = np.linspace(1.0, 0.5, m)
    A = np.ascontiguousarray((U * sigma) @ V.T)
    # the start has no component along v_1; rounding in the Krylov steps brings it in, and
    # the certificate (or LAPACK) guarantees the value whatever Lanczos found
    value = top(A, V[:, 1].copy())
    assert abs(value - 1.0) <= gc.GRAM_TOLERANCE


def test_an_unsettled_lanczos_value_goes_to_lapack():
    # two Lanczos steps on a spread spectrum: theta has not settled (it is far below
    # lambda_max), so the eigen-solve answers without a factorisation
    rng = np.random.default_rng(4)
    A = with_spectrum(rng, 120, 120, np.linspace(3.0, 0.1, 120))
    start = rng.standard_normal(120)
    value, settled = gc._lanczos_top(A.T @ A / 9.0, start, np.empty((3, 120)), np.empty((3, 3)))
    assert not settled and value < 0.999
    assert abs(top(A, start, steps=2) - 9.0) <= 1e-12 * 9.0


def test_a_settled_but_wrong_value_is_refused_by_cholesky_and_lapack_answers():
    # a diagonal A and a start without a component on its top coordinate: the Krylov space
    # stays on the other coordinates (exact zeros stay zero), is invariant after 3 steps, and
    # its top, 2.25, is not the matrix's, 9: u I - G is indefinite, the factorisation fails,
    # and the eigen-solve of the restored u I - G answers
    sigma = np.array([3.0, 1.5, 1.2, 1.0] + [0.0] * 36)
    A = np.diag(sigma)
    start = np.zeros(40)
    start[1:4] = [1.0, 2.0, 3.0]
    G = A.T @ A / 9.0
    value, settled = gc._lanczos_top(G, start, np.empty((41, 40)), np.empty((3, 41)))
    assert settled and abs(value - 0.25) <= 1e-15
    assert top(A, start) == pytest.approx(9.0, rel=1e-14)


def test_a_zero_start_vector_is_replaced():
    rng = np.random.default_rng(5)
    A = with_spectrum(rng, 50, 50, np.linspace(2.0, 1.0, 50))
    assert abs(top(A, np.zeros(50)) - 4.0) <= 1e-12 * 4.0


def test_top_ritz_value_of_a_tridiagonal_is_its_largest_eigenvalue():
    rng = np.random.default_rng(6)
    for k in (1, 2, 7, 40):
        alpha = rng.standard_normal(k + 1)
        beta = rng.standard_normal(k + 1)
        T = np.diag(alpha[:k]) + np.diag(beta[:k - 1], 1) + np.diag(beta[:k - 1], -1)
        expected = np.linalg.eigvalsh(T)[-1]
        value = gc._top_ritz_value(alpha, beta, k)
        assert value <= expected + 1e-15 * max(1.0, abs(expected))
        assert abs(value - expected) <= 1e-14 * max(1.0, abs(expected))


@pytest.mark.parametrize("shape", [(7, 7), (10, 25), (25, 10), (1, 6), (6, 1), (0, 3)])
def test_the_symmetric_rank_k_grams_are_the_products(shape):
    # dsyrk forms one triangle; the other is its mirror: exactly symmetric
    A = np.random.default_rng(7).standard_normal(shape)
    for form, want in ((blas.gram_of_rows, A @ A.T), (blas.gram_of_columns, A.T @ A)):
        gram = np.full(want.shape, np.nan)
        form(A, gram)
        np.testing.assert_allclose(gram, want, rtol=1e-13, atol=1e-13)
        assert np.array_equal(gram, gram.T)


def test_the_grams_of_views_with_a_row_stride_are_the_products():
    B = np.random.default_rng(8).standard_normal((12, 9))
    for A in (B[:, :5], B[::2], B[3:7, 2:], B[:, ::3], B.T):
        for form, want in ((blas.gram_of_rows, A @ A.T), (blas.gram_of_columns, A.T @ A)):
            gram = np.empty(want.shape)
            form(A, gram)
            np.testing.assert_allclose(gram, want, rtol=1e-13, atol=1e-13)
            strided = np.empty((2 * want.shape[0], want.shape[1]))[::2]
            form(A, strided)
            np.testing.assert_allclose(strided, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(7, 7), (10, 25), (25, 10), (1, 6), (6, 1)])
def test_the_lower_gram_leaves_the_upper_triangle_as_it_was(shape):
    B = np.random.default_rng(9).standard_normal((2 * shape[0], shape[1]))
    for A in (B[: shape[0]], B[::2]):
        want = A @ A.T if shape[0] <= shape[1] else A.T @ A
        size = want.shape[0]
        for gram in (np.full(want.shape, 7.0), np.full((size, 2 * size), 7.0)[:, ::2]):
            blas.lower_smaller_gram(A, gram)
            lower = np.tril_indices(size)
            np.testing.assert_allclose(gram[lower], want[lower], rtol=1e-13, atol=1e-13)
            assert np.all(gram[np.triu_indices(size, 1)] == 7.0)


@pytest.mark.parametrize("shift", [3, -40, 1030, -1060])
def test_the_lower_triangle_is_rescaled_exactly_and_the_rest_left(shift):
    G = np.random.default_rng(11).standard_normal((6, 6)) * 2.0 ** (shift - 8)
    R = G.copy()
    scaling.rescale_lower(R, shift)
    lower = np.tril_indices(6)
    assert np.array_equal(R[lower], np.ldexp(G, -shift)[lower])
    assert np.array_equal(R[np.triu_indices(6, 1)], G[np.triu_indices(6, 1)])
    scaling.rescale(G, shift)  # the whole matrix, by the same rule
    assert np.array_equal(R[lower], G[lower])


@pytest.mark.parametrize("size", [1, 5, 64, 300])
def test_the_symmetric_product_reads_only_the_lower_triangle(size):
    rng = np.random.default_rng(size)
    A = rng.standard_normal((size, size))
    G = A @ A.T
    x = rng.standard_normal(size)
    for stored in (np.tril(G) + np.triu(np.full((size, size), 1e300), 1),
                   np.hstack([np.tril(G), np.full((size, 3), np.nan)])[:, :size]):
        y = np.full(size, np.nan)
        blas.symmetric_times(blas.new_symmetric_product(stored), stored, x, y)
        np.testing.assert_allclose(y, G @ x, rtol=1e-12, atol=1e-12 * np.abs(G).max())
    wide = np.zeros((size, 2 * size))
    with pytest.raises(ValueError, match="square"):
        blas.new_symmetric_product(wide)
    with pytest.raises(ValueError, match="unit stride"):
        blas.new_symmetric_product(np.zeros((size, 2 * size))[:, ::2])


def test_the_shift_leaves_the_rounding_allowance_its_share_of_the_tolerance():
    u_r = 2.0 ** -53
    for size in (64, 512, 2048):
        theta, mass = 1.0 / size, 1.0  # an exactly flat spectrum of unit mass
        u = gc.certificate_shift(theta, size, size, mass)
        assert u > theta * (1.0 + gc.CLEARANCE)
        # the bound a completed Cholesky proves, with the constants of the module docstring
        proved = u * (1.0 + (size + 2) * (size + 1) * u_r) + size * u_r * mass
        assert proved <= theta * (1.0 + gc.GRAM_TOLERANCE) * (1.0 + 4 * u_r)
    # order 4096, flat: the allowance alone is about twice the tolerance: no shift
    assert gc.certificate_shift(1.0 / 4096, 4096, 4096, 1.0) == 0.0
    assert gc.certificate_shift(0.0, 10, 10, 1.0) == 0.0


def test_a_nearly_flat_matrix_of_order_2048_is_certified_by_cholesky():
    # rows of a Householder reflection scaled by sigma: A A^T = diag(sigma^2) in exact
    # arithmetic, so sigma_max^2 = 1 without an SVD.  A top gap of 5% lets Lanczos settle; at
    # this order the rounding allowance is most of the tolerance, and the shift takes the rest
    n = 2048
    rng = np.random.default_rng(8)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    sigma = np.concatenate([[1.0], 0.95 - 0.05 * np.arange(n - 1) / n])
    A = np.ascontiguousarray(sigma[:, None] * (np.eye(n) - 2.0 * np.outer(v, v)))
    gram = np.empty((n, n))
    value = gc.certified_gram_top(A, float((A * A).sum()), rng.standard_normal(n), gram,
                                  gc.new_lanczos(n, n))
    assert abs(value - 1.0) <= gc.GRAM_TOLERANCE
    # the factorisation completed: the lower triangle holds the Cholesky factor, not the
    # mirror of the intact upper one that the eigen-solve path restores
    lower, upper = np.tril(gram, -1), np.triu(gram, 1).T
    assert np.abs(lower - upper).max() > 1e-3 * np.abs(upper).max()
