"""Every kernel against the reference registry; the all-lag norms: certified, batched, cached."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradflow as gf
from gradflow import _threads
from gradflow.kernels import lstm, norm_estimator, step_norms, suffix_products, trajectory

import naive
from conftest import CONFIG_IDS, CONFIGS, inputs, make
from references import REFERENCES, name

TOL = 1e-9  # log10, the contract of the suffix-product norms


def suffix_norms(model, xs, s0=None):
    """(full, h, c, stats) straight from the kernel."""
    S = model.run(xs, s0)
    T = xs.shape[0]
    lstm_cell = model.cell == "lstm"
    n_block = model.hidden if lstm_cell else 0
    out = np.empty(T + 1)
    out_h = np.empty(T + 1 if lstm_cell else 1)
    out_c = np.empty(T + 1 if lstm_cell else 1)
    stats = np.zeros(3, dtype=np.int64)
    suffix_products.suffix_log10_norms_with_stats(*model.kernel_args(), xs, S, n_block, out,
                                                  out_h, out_c, stats)
    return out, out_h, out_c, stats


# ---------------------------------------------------------------------- the registry
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("function", list(REFERENCES), ids=[name(f) for f in REFERENCES])
def test_every_kernel_matches_its_reference(function, config):
    """Each registry entry, gradflow's arrays against the slow obvious ones, on every cell."""
    model = make(config, hidden=5, inputs=3, seed=2, gain=1.2)
    xs = inputs(30, 3, seed=3)
    entry = REFERENCES[function]
    computed, expected = entry.compute(model, xs), entry.reference(model, xs)
    assert len(computed) == len(expected)
    for mine, ref in zip(computed, expected, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=entry.rtol, atol=entry.atol)


# ---------------------------------------------------------------------- all-lag suffix norms
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_suffix_norms_match_the_naive_reference_where_the_fast_path_runs(config):
    """Sizes above EXACT_BELOW, so the warm-started estimator (not LAPACK) gives most norms."""
    model = make(config, hidden=40, inputs=3, seed=5, gain=1.2)
    xs = inputs(150, 3, seed=6)
    full, out_h, out_c, stats = suffix_norms(model, xs)
    ref = naive.renormalised_log10_norms(model.step_jacobians(xs))
    np.testing.assert_allclose(full, ref, rtol=0, atol=TOL)
    # the estimator did the work: few exact fallbacks, about one iteration per norm
    assert stats[2] < 0.2 * stats[0]
    assert stats[1] < 2.5 * stats[0]


def test_lstm_blocks_match_exact_svds_of_the_product_blocks():
    model = make((gf.LSTM, {}), hidden=32, inputs=4, seed=3, gain=1.3)
    xs = inputs(120, 4, seed=4)
    full, out_h, out_c, stats = suffix_norms(model, xs)
    ref, ref_h, ref_c = naive.suffix_log10_norms(model.step_jacobians(xs), n_block=32)
    np.testing.assert_allclose(full, ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(out_h, ref_h, rtol=0, atol=TOL)
    np.testing.assert_allclose(out_c, ref_c, rtol=0, atol=TOL)
    assert stats[2] < 0.2 * stats[0]


def test_public_decay_path_is_the_same_kernel():
    model = make((gf.LSTM, {}), hidden=30, inputs=2, seed=1)
    xs = inputs(80, 2, seed=2)
    from gradflow.analysis.decay import suffix_log10_norms

    full, h, c = suffix_log10_norms(model, xs)
    mine, mine_h, mine_c, _ = suffix_norms(model, xs)
    np.testing.assert_array_equal(full, mine)
    np.testing.assert_array_equal(h, mine_h)
    np.testing.assert_array_equal(c, mine_c)


def test_chaotic_and_contracting_products_stay_exact():
    """Far outside float64's range in both directions, at a size where the estimator runs."""
    for gain, T in ((3.0, 3000), (0.1, 600)):
        model = gf.RNN.init(64, 2, gain=gain, seed=0, activation="tanh")
        xs = 0.5 * inputs(T, 2, seed=7)
        full, _, _, stats = suffix_norms(model, xs)
        ref = naive.renormalised_log10_norms(model.step_jacobians(xs))
        assert np.abs(full).max() > 330  # beyond 1e+308 / below 1e-308
        np.testing.assert_allclose(full, ref, rtol=0, atol=TOL)


def test_a_step_that_leaves_float64_squares_is_renormalised_exactly():
    """W_h ~ 1e-120: one step shrinks the product below the range of its squares."""
    model = gf.RNN.init(30, 2, gain=1.0, seed=2, activation="tanh")
    weights = dict(model.weights)
    weights["W_h"] = weights["W_h"] * 1e-120
    tiny = gf.RNN(weights, activation="tanh")
    xs = inputs(12, 2, seed=3)
    full, _, _, _ = suffix_norms(tiny, xs)
    ref = naive.renormalised_log10_norms(tiny.step_jacobians(xs))
    assert full[-1] < -1300
    np.testing.assert_allclose(full, ref, rtol=0, atol=TOL)


def test_exactly_zero_products_and_blocks_are_minus_infinity():
    # relu RNN whose units all die: the product is exactly zero from then on
    model = gf.RNN({"W_h": np.eye(30), "W_x": np.ones((30, 1)), "b_h": np.full(30, -5.0)},
                   activation="relu")
    full, _, _, _ = suffix_norms(model, np.ones((20, 1)))
    assert full[0] == 0.0 and np.isneginf(full[1:]).all()
    # LSTM without recurrent weights: dh_T/dh_{T-k} is exactly zero for k >= 2
    lstm_model = make((gf.LSTM, {}), hidden=30, inputs=2, seed=0)
    weights = {k: (0.0 * v if k.endswith("h") and k.startswith("W_") else v)
               for k, v in lstm_model.weights.items()}
    zero_rec = gf.LSTM(weights)
    full, out_h, out_c, _ = suffix_norms(zero_rec, inputs(25, 2, seed=1))
    assert np.isneginf(out_h[2:]).all()
    assert np.isfinite(full).all() and np.isfinite(out_c).all()
    with np.errstate(divide="ignore"):  # the zero h block's log10
        ref, _, ref_c = naive.suffix_log10_norms(zero_rec.step_jacobians(inputs(25, 2, seed=1)),
                                                 n_block=30)
    np.testing.assert_allclose(full, ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(out_c, ref_c, rtol=0, atol=TOL)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_step_norms_match_lapack(config):
    model = make(config, hidden=30, inputs=3, seed=8, gain=1.1)
    xs = inputs(40, 3, seed=9)
    S = model.run(xs)
    out = np.empty(40)
    stats = np.zeros(3, dtype=np.int64)
    step_norms.step_log10_norms(*model.kernel_args(), xs, S, out, stats)
    Js = model.step_jacobians(xs)
    with np.errstate(divide="ignore"):
        ref = np.log10(np.linalg.norm(Js, 2, axis=(1, 2)))
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    assert stats[0] == 40


def test_step_norms_of_a_dead_relu_rnn_are_minus_infinity():
    model = gf.RNN({"W_h": np.eye(30), "W_x": np.ones((30, 1)), "b_h": np.full(30, -5.0)},
                   activation="relu")
    xs = np.ones((6, 1))
    out = np.empty(6)
    step_norms.step_log10_norms(*model.kernel_args(), xs, model.run(xs), out,
                            np.zeros(3, dtype=np.int64))
    assert np.isneginf(out).all()


# ---------------------------------------------------------------------- the estimator
def matrix_with_spectrum(rng, sigma):
    m = sigma.size
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((m, m)))
    return np.ascontiguousarray((U * sigma) @ V.T), V


def estimate(A, V0=None, p=norm_estimator.PROBES):
    est = norm_estimator.new_estimator(A.shape[0], p)
    if V0 is not None:
        est[0][:] = V0
    stats = np.zeros(3, dtype=np.int64)
    lam = norm_estimator.top_eigenvalue(A, float((A * A).sum()), *est, stats)
    return lam, stats, est[0]


SPECTRA = {
    "geometric": lambda m: 0.7 ** np.arange(m),
    "flat": lambda m: np.ones(m),
    "top pair clustered": lambda m: np.concatenate([[1.0, 1.0 - 1e-7], 0.5 ** np.arange(m - 2)]),
    "rank one": lambda m: np.concatenate([[3.0], np.zeros(m - 1)]),
    "rank three": lambda m: np.concatenate([[2.0, 1.0, 0.5], np.zeros(m - 3)]),
    "huge": lambda m: 1e150 * 0.5 ** np.arange(m),
    "tiny": lambda m: 1e-150 * 0.9 ** np.arange(m),
    "wide range": lambda m: 10.0 ** (-np.arange(m) * 10.0),
}


@pytest.mark.parametrize("name", list(SPECTRA))
@pytest.mark.parametrize("start", ["seeded", "orthogonal to the top"])
def test_estimator_is_certified_or_exact_on_hard_spectra(name, start):
    rng = np.random.default_rng(list(SPECTRA).index(name))
    m = 60
    sigma = SPECTRA[name](m)
    A, V = matrix_with_spectrum(rng, sigma)
    V0 = None
    if start != "seeded":
        # start block spanned by right singular vectors 2..p+1: no component along the top
        V0 = np.ascontiguousarray(V[:, 1:norm_estimator.PROBES + 1])
    lam, stats, Vout = estimate(A, V0)
    exact = np.linalg.svd(A, compute_uv=False)[0]
    assert abs(0.5 * np.log10(lam) - np.log10(exact)) <= 1e-10
    np.testing.assert_allclose(Vout.T @ Vout, np.eye(norm_estimator.PROBES), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(25, 70), decay=st.floats(0.05, 1.0), seed=st.integers(0, 2**31 - 1),
       gap=st.floats(0.0, 1.0))
def test_estimator_property(m, decay, seed, gap):
    rng = np.random.default_rng(seed)
    sigma = decay ** np.arange(m) * np.exp(rng.uniform(-0.1, 0.1, m))
    sigma[0] = sigma.max() * (1.0 + gap)
    A, _ = matrix_with_spectrum(rng, np.sort(sigma)[::-1])
    lam, stats, _ = estimate(A)
    exact = np.linalg.svd(A, compute_uv=False)[0]
    assert abs(0.5 * np.log10(lam) - np.log10(exact)) <= 1e-10


def test_warm_start_certifies_in_one_iteration():
    rng = np.random.default_rng(0)
    A, V = matrix_with_spectrum(rng, 0.3 ** np.arange(64))
    lam, stats, _ = estimate(A, np.ascontiguousarray(V[:, :norm_estimator.PROBES]))
    assert stats.tolist() == [1, 1, 0]
    assert abs(lam - 1.0) < 1e-13


@pytest.mark.parametrize("kind", ["random", "ill-conditioned", "dependent", "zero"])
def test_orthonormalise_always_gives_an_orthonormal_block(kind):
    rng = np.random.default_rng(1)
    m, p = 50, 8
    W = rng.standard_normal((m, p))
    if kind == "ill-conditioned":
        W *= 10.0 ** (-3.0 * np.arange(p))
    elif kind == "dependent":
        W[:, 3] = W[:, 1] + 1e-15 * W[:, 2]
        W[:, 5] = 0.0
    elif kind == "zero":
        W[:] = 0.0
    original = W.copy()
    V = np.empty((m, p))
    norm_estimator._orthonormalise(W, V, np.empty((p, p)), np.empty((p, p)), np.empty(p))
    np.testing.assert_allclose(V.T @ V, np.eye(p), atol=1e-12)
    if kind == "random":
        # same nested spans as the input, in order
        Q, R = np.linalg.qr(original)
        np.testing.assert_allclose(np.abs(V), np.abs(Q), atol=1e-12)


def test_symmetric_eigen_matches_lapack():
    rng = np.random.default_rng(2)
    for p in (2, 5, 8):
        B = rng.standard_normal((p, p))
        H = B @ B.T
        values, vectors = np.empty(p), np.empty((p, p))
        norm_estimator._symmetric_eigen(H.copy(), values, vectors)
        ref = np.linalg.eigvalsh(H)[::-1]
        np.testing.assert_allclose(values, ref, rtol=1e-13, atol=1e-13 * ref[0])
        np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, H, atol=1e-12)


def test_lstm_jacobian_blocks_are_the_nonzero_parts_of_the_jacobian_times_the_scale():
    model = make((gf.LSTM, {}), hidden=7, inputs=3, seed=9)
    Wh, Wx, b, bhn = model.stacked()
    x = inputs(1, 3, seed=1)[0]
    s = np.random.default_rng(3).standard_normal(14)
    xp = np.empty((4, 7))
    trajectory.input_projection(Wx, b, x, xp)
    J = np.empty((14, 14))
    lstm.jacobian(0, Wh, bhn, xp, s, J, np.empty((4, 7)))
    for shift in (0, 3, -70):
        JL, dh, dc = np.empty((14, 7)), np.empty(7), np.empty(7)
        lstm.jacobian_blocks(Wh, xp, s, JL, dh, dc, 2.0 ** -shift, np.empty((4, 7)))
        np.testing.assert_array_equal(JL * 2.0 ** shift, J[:, :7])
        np.testing.assert_array_equal(dh * 2.0 ** shift, np.diag(J[:7, 7:]))
        np.testing.assert_array_equal(dc * 2.0 ** shift, np.diag(J[7:, 7:]))
    assert not J[:7, 7:][~np.eye(7, dtype=bool)].any()
    assert not J[7:, 7:][~np.eye(7, dtype=bool)].any()


# ---------------------------------------------------------------------- batches and threads
@pytest.mark.slow  # compiling the two parallel kernels takes ~20 s on a cold cache
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[3], CONFIGS[5]],
                         ids=[CONFIG_IDS[0], CONFIG_IDS[3], CONFIG_IDS[5]])
def test_batch_kernel_matches_the_serial_one(config):
    model = make(config, hidden=30, inputs=2, seed=4)
    B, T = 3, 60
    X = np.random.default_rng(5).standard_normal((B, T, 2))
    S = np.empty((B, T + 1, model.state_size))
    S[:, 0] = 0.1
    bad = np.empty(B, dtype=np.int64)
    with _threads.threads(2):
        trajectory.batch_run(*model.kernel_args(), X, S, bad)
    assert (bad == -1).all()
    lstm_cell = model.cell == "lstm"
    n_block = model.hidden if lstm_cell else 0
    width = T + 1 if lstm_cell else 1
    out, out_h, out_c = np.empty((B, T + 1)), np.empty((B, width)), np.empty((B, width))
    with _threads.threads(2):
        suffix_products.batch_suffix_log10_norms(*model.kernel_args(), X, S, n_block, out, out_h,
                                                 out_c)
    for i in range(B):
        np.testing.assert_array_equal(S[i], model.run(X[i], np.full(model.state_size, 0.1)))
        full, h, c, _ = suffix_norms(model, X[i], np.full(model.state_size, 0.1))
        np.testing.assert_allclose(out[i], full, rtol=0, atol=1e-12)
        if lstm_cell:
            np.testing.assert_allclose(out_h[i], h, rtol=0, atol=1e-12)
            np.testing.assert_allclose(out_c[i], c, rtol=0, atol=1e-12)


def test_threads_helpers_set_and_restore():
    before = _threads.get_threads()
    with _threads.threads(1):
        assert _threads.get_threads() == 1
    assert _threads.get_threads() == before
    assert _threads.set_threads(10**6) == _threads.available_threads()
    _threads.set_threads(before)
    with pytest.raises(gf.GradflowError, match="threads must be a positive integer"):
        _threads.set_threads(0)
    start = _threads.blas_thread_counts()
    if start:
        with _threads.blas_threads(1):
            assert all(count == 1 for count in _threads.blas_thread_counts())
        assert _threads.blas_thread_counts() == start


# ---------------------------------------------------------------------- compilation
def test_cache_switch_turns_numba_caching_off():
    code = "from gradflow.kernels import _jit; print(_jit.CACHE)"
    env = dict(os.environ, GRADFLOW_NO_CACHE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
    env["GRADFLOW_NO_CACHE"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True"


def test_cli_help_imports_nothing_heavy():
    code = ("import sys, gradflow.cli; "
            "print(sorted(m for m in ('numpy', 'numba', 'scipy', 'matplotlib', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_second_process_loads_the_suffix_norms_from_the_disk_cache(tmp_path):
    code = (
        "import numpy as np, gradflow as gf\n"
        "from gradflow.kernels import suffix_products\n"
        "m = gf.LSTM.init(30, 2, seed=0)\n"
        "xs = np.zeros((5, 2)); S = m.run(xs); o = np.empty(6)\n"
        "suffix_products.suffix_log10_norms(*m.kernel_args(), xs, S, 30, o, np.empty(6),\n"
        "                                   np.empty(6))\n"
        "s = suffix_products.suffix_log10_norms.stats\n"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), GRADFLOW_NO_CACHE="0")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout.split() == ["0", "1"], first.stderr
    assert second.stdout.split() == ["1", "0"], second.stderr


def test_two_processes_compile_a_kernel_once_between_them(tmp_path):
    """Both start the trajectory kernel at the same moment on an empty cache: one compiles it,
    the other waits for its lock and loads it (without the lock both compile)."""
    code = (
        "import os, sys, time\n"
        "import numpy as np, gradflow as gf\n"
        "from gradflow.kernels import trajectory\n"
        "m = gf.LSTM.init(4, 3, seed=0)\n"
        "open(sys.argv[1] + '.ready', 'w').close()\n"
        "while not os.path.exists(sys.argv[2]):\n"
        "    time.sleep(0.01)\n"
        "m.run(np.zeros((5, 3)))\n"
        "s = trajectory.run.stats\n"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), GRADFLOW_NO_CACHE="0")
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / str(i)), str(go)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(2)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"{i}.ready").exists() for i in range(2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.05)
    go.touch()
    outputs = [p.communicate(timeout=300) for p in processes]
    assert sorted(out.split() for out, _ in outputs) == [["0", "1"], ["1", "0"]], outputs


# ---------------------------------------------------------------------- sensitivities
@pytest.mark.parametrize("config", CONFIGS + [(gf.RNN, {"activation": "tanh", "leak": 0.3})],
                         ids=CONFIG_IDS + ["rnn-leaky"])
def test_sensitivities_match_svds_where_the_fast_path_runs(config):
    """p = 40 rows (above EXACT_BELOW): the warm-started Gram norms and the batched rows on
    the input, against SVDs of plain products of complex-step Jacobians."""
    from gradflow.analysis.sensitivity import sensitivities

    import _analysis_refs as refs

    model = make(config, hidden=40, inputs=30, seed=5, gain=1.3)
    xs = inputs(60, 30, seed=6)
    got = sensitivities(model, xs)
    out, inp = naive.sensitivity_log10_norms(refs.jacobians(model, xs),
                                             refs.input_jacobians(model, xs), model.hidden)
    np.testing.assert_allclose(got.output, out, rtol=0, atol=TOL)
    np.testing.assert_allclose(got.input, inp, rtol=0, atol=TOL)
