"""Reliability under faults: two outputs committed together, full disks, warnings, overflow."""

import errno
import os
import resource
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.io import atomic
from gradflow.io.atomic import atomic_paths

# ---------------------------------------------------------------- two outputs, both or neither


def _failing_replace(monkeypatch, target_name, code=errno.ENOSPC):
    """``os.replace`` that fails when renaming onto ``target_name``; the real one otherwise."""
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(os.path.basename(dst))
        if os.path.basename(dst) == target_name:
            raise OSError(code, os.strerror(code))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return calls


def _full_disk(fh, *args, **kwargs):
    fh.write(b"\x93NUMPY half a file")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _write_pair(tmp_path, a_text, b_text):
    """Write a.txt and b.txt in tmp_path as one atomic pair."""
    with atomic_paths([tmp_path / "a.txt", tmp_path / "b.txt"]) as (a, b):
        open(a, "w").write(a_text)
        open(b, "w").write(b_text)


def test_a_failed_second_rename_undoes_the_first(tmp_path, monkeypatch):
    calls = _failing_replace(monkeypatch, "b.txt")
    with pytest.raises(gf.GradflowError, match=r"b\.txt: cannot write: No space left on "
                                               "device; nothing was written"):
        _write_pair(tmp_path, "A", "B")
    assert calls == ["a.txt", "b.txt"]  # the first rename did happen, and was undone
    assert os.listdir(tmp_path) == []


def test_a_failed_second_rename_restores_the_old_first_file(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("old A")
    (tmp_path / "b.txt").write_text("old B")
    _failing_replace(monkeypatch, "b.txt", errno.EFBIG)
    with pytest.raises(gf.GradflowError, match="b.txt: cannot write: File too large"):
        _write_pair(tmp_path, "new A", "new B")
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old A"
    assert (tmp_path / "b.txt").read_text() == "old B"


def test_both_files_are_renamed_on_success(tmp_path):
    (tmp_path / "a.txt").write_text("old A")
    _write_pair(tmp_path, "new A", "new B")
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "new A"
    assert (tmp_path / "b.txt").read_text() == "new B"


def test_import_torch_with_layer_inputs_leaves_nothing_when_the_second_write_fails(
        tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    torch.save(torch.nn.GRU(3, 4, num_layers=2).double().state_dict(), "model.pt")
    np.save("x.npy", np.random.default_rng(0).standard_normal((6, 3)))
    before = sorted(os.listdir())
    args = ["import-torch", "model.pt", "--layer", "1", "-o", "w1.npz", "--inputs", "x.npy",
            "--layer-inputs", "x1.npy"]
    with monkeypatch.context() as patch:
        calls = _failing_replace(patch, "x1.npy")
        r = CliRunner().invoke(main, args)
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        "Error: x1.npy: cannot write: No space left on device; nothing was written"]
    assert "w1.npz" in calls  # the weights were renamed into place first, then removed
    assert sorted(os.listdir()) == before
    for patched, named in (("save", "x1.npy"), ("savez", "w1.npz")):
        with monkeypatch.context() as patch:  # a full disk while writing either file
            patch.setattr(np, patched, _full_disk)
            r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
            f"Error: {named}: cannot write: No space left on device; nothing was written"]
        assert sorted(os.listdir()) == before
    r = CliRunner().invoke(main, args)  # control: without the fault both files are written
    assert r.exit_code == 0 and {"w1.npz", "x1.npy"} <= set(os.listdir())
    assert gf.load("w1.npz").hidden == 4 and np.load("x1.npy").shape == (6, 4)



def test_train_writes_its_history_and_weights_together(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--cell", "rnn", "--task", "adding", "--length", "20", "--hidden", "8",
            "--steps", "5", "--history", "h.json", "-o", "w.npz"]
    with monkeypatch.context() as patch:
        calls = _failing_replace(patch, "w.npz")
        r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and r.stderr.strip().splitlines()[-1] == (
        "Error: w.npz: cannot write: No space left on device; nothing was written")
    assert "h.json" in calls and os.listdir() == []  # the history was renamed, then removed
    r = CliRunner().invoke(main, args)  # control: without the fault both files are written
    assert r.exit_code == 0 and sorted(os.listdir()) == ["h.json", "w.npz"]
    assert gf.load("w.npz").hidden == 8

# ---------------------------------------------------------------- an interruption Python dropped


def test_an_interruption_python_dropped_still_stops_the_output(tmp_path, monkeypatch):
    """A signal whose exception fell in a weakref callback is recorded: no file, exit 1."""
    from gradflow import _signals

    monkeypatch.chdir(tmp_path)
    temporary = atomic._temporary_for

    def dropped_on_the_way(path, suffix):
        _signals.record("SIGINT")  # the handler ran; its KeyboardInterrupt was swallowed
        return temporary(path, suffix)

    monkeypatch.setattr(atomic, "_temporary_for", dropped_on_the_way)
    r = CliRunner().invoke(main, ["init", "rnn", "-n", "4", "-d", "2", "-o", "w.npz"])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == ["Error: interrupted"]
    assert os.listdir() == []
    assert _signals.received() is None  # forgotten when the command ends
    monkeypatch.setattr(atomic, "_temporary_for", temporary)
    r = CliRunner().invoke(main, ["init", "rnn", "-n", "4", "-d", "2", "-o", "w.npz"])
    assert r.exit_code == 0 and os.listdir() == ["w.npz"]


def test_a_library_call_records_no_interruption(tmp_path):
    from gradflow import _signals

    gf.RNN.init(4, 2, seed=0).save(tmp_path / "w.npz")
    assert _signals.received() is None and (tmp_path / "w.npz").exists()


# ---------------------------------------------------------------- SIGTERM while a PDF is written


@pytest.mark.slow
def test_sigterm_while_the_pdf_is_written_leaves_nothing(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    gf.RNN.init(8, 2, seed=0).save(tmp_path / "w.npz")
    proc = subprocess.Popen([sys.executable, "-m", "gradflow", "report", "w.npz", "--steps", "50",
                             "-q", "-o", "out.pdf"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    try:
        while not any(name.endswith(".tmp") for name in os.listdir(tmp_path)):
            assert proc.poll() is None, "the report finished before its temporary file was seen"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert err.strip().splitlines() == ["Error: interrupted"]
    assert out == ""
    assert os.listdir(tmp_path) == ["w.npz"]


@pytest.mark.slow
@pytest.mark.parametrize("signame, group", [("SIGINT", True), ("SIGTERM", False)],
                         ids=["ctrl-c-to-the-group", "sigterm-to-the-parent"])
def test_an_interrupted_default_report_leaves_no_file_and_no_process(tmp_path, signame, group):
    """The default report measures its claims on a second process: both stop, nothing left."""
    import signal
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "gradflow", "report", "-q", "-o", "r.pdf"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(4)  # the claims' process is started, the models are being analysed
        assert proc.poll() is None, "the report finished before it could be interrupted"
        (os.killpg if group else os.kill)(proc.pid, getattr(signal, signame))
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1 and err.strip().splitlines()[-1] == "Error: interrupted"
    assert out == "" and os.listdir(tmp_path) == []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # any process of the report's group still there?
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a process of the interrupted report is still running")


# ---------------------------------------------------------------- torch's warnings stay off stderr


def _gradflow(args, cwd, **env):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONWARNINGS": "always", **env,
           "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "gradflow", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_torch_warnings_add_no_line_to_stderr(tmp_path):
    torch = pytest.importorskip("torch")
    import warnings

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # creating quantized tensors warns here too
        bad = torch.nn.RNN(3, 4).state_dict()
        bad["weight_hh_l0"] = torch.quantize_per_tensor(bad["weight_hh_l0"], 0.1, 0, torch.qint8)
        torch.save(bad, tmp_path / "quant.pt")
        good = {f"rnn.{k}": v for k, v in torch.nn.RNN(3, 4).state_dict().items()}
        good["head.weight"] = torch.quantize_per_tensor(torch.ones(2, 4), 0.1, 0, torch.qint8)
        torch.save(good, tmp_path / "mixed.pt")
        csr = torch.nn.GRU(3, 4).state_dict()
        csr["weight_ih_l0"] = csr["weight_ih_l0"].to_sparse_csr()
        torch.save(csr, tmp_path / "csr.pt")
    # control: loading these files makes torch warn, as --debug (warnings shown) proves
    r = _gradflow(["--debug", "import-torch", "quant.pt", "-o", "w.npz"], tmp_path)
    assert "UserWarning" in r.stderr and "deprecated" in r.stderr
    r = _gradflow(["import-torch", "quant.pt", "-o", "w.npz"], tmp_path)
    assert r.returncode == 1 and r.stderr.splitlines() == [
        "Error: quant.pt: weight_hh_l0 has dtype qint8; expected real floating-point numbers"]
    r = _gradflow(["import-torch", "csr.pt", "-o", "w.npz"], tmp_path)
    assert r.returncode == 1 and r.stderr.splitlines() == [
        "Error: csr.pt: weight_ih_l0 is a sparse_csr tensor; save dense weights "
        "(tensor.to_dense())"]
    r = _gradflow(["import-torch", "mixed.pt", "--nonlinearity", "tanh", "-o", "w.npz"],
                  tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["wrote w.npz: RNN-tanh (n=4, d=3) from layer 0 (forward) of "
                                     "the 1-layer RNN in mixed.pt"]
    assert sorted(os.listdir(tmp_path)) == ["csr.pt", "mixed.pt", "quant.pt", "w.npz"]


# ---------------------------------------------------------------- no silent NaN or inf in results


def _rnn(W):
    """A tanh RNN with zero biases and input weights: from s0 = 0 with zero inputs the state
    stays 0, so every step Jacobian is exactly W (tanh'(0) = 1)."""
    n = W.shape[0]
    return gf.RNN({"W_h": W, "W_x": np.zeros((n, 3)), "b_h": np.zeros(n)})


def _orthogonal(n, seed=0):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


@pytest.mark.parametrize("scale", [1e-300, 1.0, 1e300])
def test_regulariser_ratio_is_exact_at_any_gradient_scale(scale):
    # J_t = Q^T... = 0.5 Q with Q orthogonal: ||delta J|| = 0.5 ||delta|| for every delta, so
    # every ratio is 0.5 and every term 0.25; squaring entries of 1e300 would overflow
    T = 20
    r = gf.pascanu_regulariser(_rnn(0.5 * _orthogonal(4)), np.zeros((T, 3)),
                               np.full((T, 4), scale))
    np.testing.assert_allclose(r.norm_ratio, 0.5, rtol=1e-12)
    np.testing.assert_allclose(r.terms, 0.25, rtol=1e-11)
    assert r.total == pytest.approx(0.25 * T, rel=1e-11)


def test_regulariser_overflow_names_the_step():
    # J = 1e150 Q, loss at the last step only: ||dL/ds_t|| = 2 * 1e150^(20 - t), so
    # dL/ds_17 (1e450) is the first gradient beyond float64 going backwards
    grad_out = np.zeros((20, 4))
    grad_out[-1] = 1.0
    with pytest.raises(gf.GradientOverflowError, match=r"the backward pass of RNN-tanh "
                       r"\(n=4, d=3\) overflows float64 at step 17 of 20") as info:
        gf.pascanu_regulariser(_rnn(1e150 * _orthogonal(4)), np.zeros((20, 3)), grad_out)
    assert info.value.step == 17
    # control: at 1e15 per step the same loss stays finite, and the ratio is 1e15
    r = gf.pascanu_regulariser(_rnn(1e15 * _orthogonal(4)), np.zeros((20, 3)), grad_out)
    np.testing.assert_allclose(r.norm_ratio[:-1], 1e15, rtol=1e-12)


@pytest.mark.parametrize("batch", [False, True])
def test_decay_refuses_products_beyond_float64(batch):
    # every entry of J = 1.7e308 Q is finite, but J times a unit-scale product overflows
    xs = np.zeros((2, 20, 3) if batch else (20, 3))
    # (with this Q the all-lag product overflows before the Lyapunov frame does)
    with pytest.raises(gf.GradflowError, match=r"RNN-tanh \(n=4, d=3\): the all-lag product "
                                               r"ds_T/ds_\(T-k\) left the float64 range"):
        gf.decay(_rnn(1.7e308 * _orthogonal(4, seed=2)), xs)
    # control: at 1e300 the same cell is exact, log10 ||J^k|| = 300 k
    r = gf.decay(_rnn(1e300 * _orthogonal(4)), np.zeros((20, 3)))
    np.testing.assert_allclose(r.log10_norm2, 300.0 * np.arange(21), rtol=1e-12)


def test_a_zero_product_stays_an_answer():
    r = gf.decay(_rnn(np.zeros((4, 4))), np.zeros((6, 3)))
    assert r.log10_norm2[0] == 0.0 and np.isneginf(r.log10_norm2[1:]).all()


def test_lyapunov_refuses_a_non_finite_exponent(monkeypatch):
    from gradflow.kernels import lyapunov as kernel

    real = kernel.qr_reorthonormalisation

    def poisoned(*args):
        written = real(*args)
        args[-2][0, 0] = np.nan  # log_r: a factorisation gone wrong
        return written

    monkeypatch.setattr(kernel, "qr_reorthonormalisation", poisoned)
    with pytest.raises(gf.GradflowError, match=r"the Lyapunov exponent lambda_1 of RNN-tanh "
                       r"\(n=4, d=3\) is nan"):
        gf.lyapunov(_rnn(0.5 * _orthogonal(4)), np.zeros((10, 3)))
    monkeypatch.undo()  # control: the same run is fine, lambda_i = ln 0.5 for all i
    r = gf.lyapunov(_rnn(0.5 * _orthogonal(4)), np.zeros((10, 3)))
    np.testing.assert_allclose(r.exponents, np.log(0.5), rtol=1e-12)


# ---------------------------------------------------------------- spectrum names its source


def test_spectrum_errors_name_the_source_given():
    model = _rnn(np.full((4, 4), 1e308))  # sigma_max = 4e308
    with pytest.raises(gf.GradflowError, match=r"^big\.npz: W_h: its largest singular value"):
        gf.spectrum(model, source="big.npz")
    with pytest.raises(gf.GradflowError, match=r"^W_h: its largest singular value"):
        gf.spectrum(model)
    with pytest.raises(gf.GradflowError, match=r"^big\.npz: RNN-tanh \(n=4, d=3\): the step "
                                               r"Jacobian \|\|ds_1/ds_0\|\|_2 is about 10\^308\.6"):
        gf.jacobian_norms(model, np.zeros((3, 3)), source="big.npz")
    with pytest.raises(gf.GradflowError, match="source must be a file name"):
        gf.spectrum(model, source=3)


# ---------------------------------------------------------------- odd failures, named


def test_a_write_failure_outside_gradflows_outputs_is_named(tmp_path, monkeypatch):
    from gradflow.analysis import spectrum as module

    def full_disk(*args, **kwargs):  # as Numba's cache write meets a full disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    gf.RNN.init(3, 2, seed=0).save(tmp_path / "w.npz")
    monkeypatch.setattr(module, "spectrum", full_disk)
    r = CliRunner().invoke(main, ["spectrum", str(tmp_path / "w.npz")])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        "Error: cannot write: No space left on device (a full disk, a quota or a file-size "
        "limit); nothing was written"]


def test_a_numba_cache_that_cannot_be_written_costs_only_the_cache(tmp_path):
    # a file-size limit makes every write into a fresh Numba cache fail with EFBIG (Python
    # ignores SIGXFSZ); the command still runs, compiling its kernels uncached
    gf.LSTM.init(4, 3, seed=0).save(tmp_path / "w.npz")
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "GRADFLOW_NO_CACHE": "0"}

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    # bounds runs the trajectory kernels: a few seconds to compile, where decay takes a minute
    r = subprocess.run([sys.executable, "-m", "gradflow", "bounds", "w.npz", "--steps", "20",
                        "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600, preexec_fn=limit_file_size)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert '"derivative_range"' in r.stdout
    # it compiled (Numba made its folder in the cache to write into) and kept nothing there
    assert any(p.is_dir() for p in cache.iterdir())
    assert not [p for p in cache.rglob("*") if p.is_file() and p.stat().st_size > 512]


def test_repeated_grid_options_add_their_axes(tmp_path):
    # a repeated --grid used to keep only its last value; now the axes add up, so an axis
    # given in two of them is refused like one given twice in one
    out = str(tmp_path / "r.csv")
    r = CliRunner().invoke(main, ["sweep", "--grid", "gain=1", "--grid", "gain=2", "-o", out])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        "Error: --grid: axis gain is given twice"]
    r = CliRunner().invoke(main, ["sweep", "--grid", "gain=1", "--grid", "width=3", "-o", out])
    assert r.exit_code == 1 and "unknown axis 'width'" in r.stderr
    assert not os.path.exists(out)
