"""Exact answers or named errors at the edges of float64, checked against closed forms."""

import errno
import math
import os
import signal

import numpy as np
import pytest

import gradflow as gf
from gradflow.io.atomic import atomic_path


def orthogonal(n, seed=0):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def rnn_with(W_h, d=2):
    """A tanh RNN whose state stays 0 on zero inputs, so every step Jacobian is W_h itself."""
    n = W_h.shape[0]
    return gf.RNN({"W_h": W_h, "W_x": np.zeros((n, d)), "b_h": np.zeros(n)})


# ---------------------------------------------------------------- spectra of huge and tiny


@pytest.mark.parametrize("gain", [1e150, 2.0**500, 1e300, 1e-300])
def test_spectral_radius_of_gain_times_orthogonal(gain):
    """|eigenvalues| and singular values of g Q are all g (Q orthogonal)."""
    spec = gf.spectrum(rnn_with(gain * orthogonal(64)))
    W = spec.matrices["W_h"]
    assert W.spectral_radius == pytest.approx(gain, rel=1e-12)
    assert W.sigma_max == pytest.approx(gain, rel=1e-12)
    np.testing.assert_allclose(W.singular_values, gain, rtol=1e-12)


def test_spectral_radius_of_subnormal_weights():
    """2^-1060 Q: subnormal entries (Q rounded to a few bits), radius still about 2^-1060."""
    W = np.ldexp(orthogonal(16), -1060)
    spec = gf.spectrum(rnn_with(W)).matrices["W_h"]
    # reference: the same stored matrix scaled up exactly (a power of two) and solved plainly
    up = np.ldexp(W, 1060)
    assert spec.spectral_radius == pytest.approx(
        math.ldexp(np.abs(np.linalg.eigvals(up)).max(), -1060), rel=1e-3)
    assert spec.sigma_max == pytest.approx(math.ldexp(np.linalg.norm(up, 2), -1060), rel=1e-3)


def test_a_spectral_norm_beyond_float64_is_named():
    W = np.full((4, 4), 1e308)  # sigma_max = 4e308
    with pytest.raises(gf.GradflowError, match=r"W_h: its largest singular value is about "
                                               r"10\^308\.6, beyond the float64 range"):
        gf.spectrum(rnn_with(W))


# ---------------------------------------------------------------- decay of subnormal Jacobians


def test_decay_with_subnormal_step_jacobians():
    """J_t = 2^-1060 Q at every step: log10 ||P_k|| from the exactly rescaled matrix powers."""
    T, n = 12, 8
    W = np.ldexp(orthogonal(n), -1060)
    result = gf.decay(rnn_with(W), np.zeros((T, 2)))
    up = np.ldexp(W, 1060)  # exact: only the exponent moves
    power, expected = np.eye(n), [0.0]
    for k in range(1, T + 1):
        power = power @ up
        expected.append(math.log10(np.linalg.norm(power, 2)) - 1060 * k * math.log10(2))
    np.testing.assert_allclose(result.log10_norm2, expected, rtol=0, atol=1e-9)


def test_decay_with_huge_step_jacobians():
    """J_t = 1e150 Q: ||P_k|| = 1e150^k, far beyond float64 from k = 3 on."""
    T = 10
    result = gf.decay(rnn_with(1e150 * orthogonal(6)), np.zeros((T, 2)))
    np.testing.assert_allclose(result.log10_norm2, 150.0 * np.arange(T + 1), rtol=0, atol=1e-9)


# ---------------------------------------------------------------- the backward pass


def test_backward_overflow_names_the_step():
    """dL/ds_t = (W^T)^(T-t) g_T with W = 10 Q: norm 1e300 * 10^(T-t), inf once T - t = 9."""
    T, n = 30, 5
    model = rnn_with(10.0 * orthogonal(n))
    grad_out = np.zeros((T, n))
    grad_out[-1, 0] = 1e300
    with pytest.raises(gf.GradientOverflowError, match=rf"at step {T - 9} of {T}") as info:
        gf.bptt(model, np.zeros((T, 2)), grad_out)
    assert info.value.step == T - 9
    # the same problem scaled into range is answered, and its state gradients are exact
    grad_out[-1, 0] = 1.0
    g = gf.bptt(model, np.zeros((T, 2)), grad_out)
    norms = np.linalg.norm(g.state_grads, axis=1)
    np.testing.assert_allclose(norms[1:], 10.0 ** (T - np.arange(1, T + 1)), rtol=1e-12)


def test_backward_overflow_of_a_gated_cell_is_an_error_not_nan():
    model = gf.GRU.init(8, 3, seed=0, gain=5.0)
    xs = 0.01 * np.random.default_rng(0).standard_normal((400, 3))
    grad_out = np.zeros((400, 8))
    grad_out[-1] = 1e300
    with pytest.raises(gf.GradientOverflowError, match="backward pass of GRU") as info:
        gf.bptt(model, xs, grad_out)
    assert 1 <= info.value.step <= 400
    assert isinstance(info.value, gf.GradflowError)


# ---------------------------------------------------------------- the memory cap


def test_a_float16_file_is_costed_as_float64(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.zeros((100_000, 3), dtype=np.float16))  # 600 kB on disk
    model = gf.RNN.init(4, 3)
    monkeypatch.setenv("GRADFLOW_MEMORY_LIMIT", str(1_000_000))  # 2.4 MB as float64
    from gradflow.io.arrays import as_inputs, load_npy

    with pytest.raises(gf.GradflowError, match=r"inputs \(shape \(100000, 3\), as float64\) "
                                               "needs about"):
        as_inputs(load_npy(tmp_path / "x.npy", "inputs"), 3)
    del model


def test_a_broadcast_view_is_costed_before_it_is_copied(monkeypatch):
    monkeypatch.setenv("GRADFLOW_MEMORY_LIMIT", str(2**30))
    view = np.broadcast_to(np.zeros(3), (10**9, 3))  # 24 GB as a copy, nothing as a view
    with pytest.raises(gf.GradflowError, match="needs about 25.1 GiB"):
        gf.RNN.init(4, 3).run(view)


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "lots"])
def test_a_bad_memory_limit_is_named(monkeypatch, value):
    monkeypatch.setenv("GRADFLOW_MEMORY_LIMIT", value)
    with pytest.raises(gf.GradflowError, match=rf"GRADFLOW_MEMORY_LIMIT must be a finite number "
                                               rf"of bytes >= 0; got '{value}'"):
        gf.RNN.init(4, 3).run(np.zeros((5, 3)))


def test_weights_beyond_the_cap_are_refused_before_drawing(monkeypatch):
    monkeypatch.setenv("GRADFLOW_MEMORY_LIMIT", str(2**20))
    with pytest.raises(gf.GradflowError, match=r"drawing the \d+ weights of GRU"):
        gf.GRU.init(300, 3)


# ---------------------------------------------------------------- failed and interrupted writes


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG])
def test_a_full_disk_is_named_and_leaves_nothing(tmp_path, monkeypatch, code):
    def full(fh, **arrays):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(gf.GradflowError, match=rf"w.npz: cannot write: {os.strerror(code)}"):
        gf.RNN.init(3, 2).save(tmp_path / "w.npz")
    assert os.listdir(tmp_path) == []


def test_sigterm_inside_an_atomic_write_removes_the_temporary_file(tmp_path):
    from gradflow.cli import Interrupted, _signals_as_interruptions

    with pytest.raises(Interrupted), _signals_as_interruptions(), \
            atomic_path(tmp_path / "r.pdf") as tmp:
        with open(tmp, "w") as fh:
            fh.write("half a PDF")
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes
            pass
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
