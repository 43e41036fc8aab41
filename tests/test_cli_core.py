"""``gradflow init`` and ``gradflow decay`` through CliRunner and as real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_init_writes_the_weights_the_library_would(tmp_path):
    out = tmp_path / "w.npz"
    r = invoke("init", "lstm", "--hidden", 8, "--inputs", 3, "--init", "orthogonal",
               "--gain", 0.9, "--seed", 4, "--forget-bias", 1, "-o", out)
    assert r.exit_code == 0, r.output
    assert "wrote" in r.stderr and r.stdout == ""
    expected = gf.LSTM.init(8, 3, init="orthogonal", gain=0.9, seed=4, forget_bias=1.0)
    assert gf.load(out) == expected


def test_init_json_and_options(tmp_path):
    out = tmp_path / "g.npz"
    r = invoke("init", "gru", "-n", 5, "-d", 2, "--variant", "reset_after", "-o", out, "--json")
    doc = json.loads(r.stdout)
    assert doc["cell"] == "gru" and doc["variant"] == "reset_after"
    assert doc["parameters"] == 3 * (25 + 10 + 5) + 5
    assert gf.load(out).variant == "reset_after"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["init", "lstm", "-n", 4, "-d", 2, "--activation", "relu"], 1,
         "--activation applies to rnn only"),
        (["init", "rnn", "-n", 4, "-d", 2, "--forget-bias", 1], 1,
         "--forget-bias applies to lstm only"),
        (["init", "rnn", "-n", 4, "-d", 2, "--gain", "nan"], 1, "gain must be finite"),
        (["init", "rnn", "-n", 0, "-d", 2], 2, "Invalid value for '--hidden'"),
        (["init", "cnn", "-n", 4, "-d", 2], 2, "Invalid value for 'CELL'"),
    ],
)
def test_init_errors(tmp_path, args, code, message):
    out = tmp_path / "w.npz"
    r = invoke(*args, "-o", out)
    assert r.exit_code == code
    assert message in r.stderr
    assert not out.exists()


@pytest.fixture
def lstm_file(tmp_path):
    path = tmp_path / "lstm.npz"
    gf.LSTM.init(6, 3, seed=1, forget_bias=1.0).save(path)
    return path


def test_decay_json_matches_the_library(lstm_file):
    r = invoke("decay", lstm_file, "--steps", 80, "--input-seed", 3, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    model = gf.load(lstm_file)
    xs = np.random.default_rng(3).standard_normal((80, 3))
    ref = gf.decay(model, xs)
    assert doc["lags"] == list(range(81))
    np.testing.assert_allclose(doc["log10_norm2"], ref.log10_norm2, rtol=0, atol=0)
    np.testing.assert_allclose(doc["log10_norm2_h"], ref.log10_norm2_h, rtol=0, atol=0)
    np.testing.assert_allclose(doc["log10_norm2_c"], ref.log10_norm2_c, rtol=0, atol=0)
    for key in ("gradient_horizon", "decay_factor", "bound", "verdict", "threshold"):
        assert key in doc


def test_decay_reads_inputs_and_initial_state(tmp_path, lstm_file):
    xs = np.random.default_rng(0).standard_normal((30, 3))
    h0 = np.linspace(-1, 1, 12)
    np.save(tmp_path / "x.npy", xs)
    np.save(tmp_path / "h0.npy", h0)
    r = invoke("decay", lstm_file, "--inputs", tmp_path / "x.npy", "--h0", tmp_path / "h0.npy",
               "--json")
    doc = json.loads(r.stdout)
    ref = gf.decay(gf.load(lstm_file), xs, h0)
    np.testing.assert_array_equal(doc["log10_norm2"], ref.log10_norm2)


def test_decay_human_table_shows_where_the_norm_crosses_the_threshold(tmp_path):
    path = tmp_path / "rnn.npz"
    gf.RNN.init(10, 2, gain=0.6, seed=0).save(path)
    r = invoke("decay", path, "--steps", 200)
    assert r.exit_code == 0
    model = gf.load(path)
    ref = gf.decay(model, np.random.default_rng(0).standard_normal((200, 2)))
    k = ref.gradient_horizon
    assert k is not None
    assert f"falls below 0.001 at lag {k}" in r.stdout
    row = [line for line in r.stdout.splitlines() if line.split()[:1] == [str(k)]]
    assert row and "< threshold" in row[0]
    assert "verdict: vanishing" in r.stdout
    assert "Pascanu bound" in r.stdout


def test_decay_exact_zero_is_reported_not_crashed(tmp_path):
    path = tmp_path / "dead.npz"
    gf.RNN({"W_h": np.eye(3), "W_x": np.zeros((3, 1)), "b_h": -np.ones(3)},
           activation="relu").save(path)
    r = invoke("decay", path, "--steps", 5, "--json")
    doc = json.loads(r.stdout)
    assert doc["log10_norm2"] == [0.0, None, None, None, None, None]
    text = invoke("decay", path, "--steps", 5).stdout
    assert "0 (exact)" in text


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--steps", 5, "--inputs", "x.npy"], 2, "either --inputs or --steps"),
        (["--inputs", "missing.npy"], 1, "missing.npy: no such file"),
        (["--inputs", "wide.npy"], 1, "input width 3"),
        (["--h0", "short.npy"], 1, "initial state has shape (5,); expected (12,)"),
        (["--threshold", 5], 1, "threshold must lie in (0, 1)"),
        (["--steps", 0], 2, "Invalid value for '--steps'"),
    ],
)
def test_decay_errors(tmp_path, lstm_file, extra, code, message):
    np.save(tmp_path / "x.npy", np.zeros((4, 3)))
    np.save(tmp_path / "wide.npy", np.zeros((4, 5)))
    np.save(tmp_path / "short.npy", np.zeros(5))
    args = [tmp_path / a if isinstance(a, str) and a.endswith(".npy") else a for a in extra]
    r = invoke("decay", lstm_file, *args)
    assert r.exit_code == code, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_overflowing_trajectory_is_an_error_naming_the_step(tmp_path):
    path = tmp_path / "hot.npz"
    gf.RNN.init(8, 3, gain=3.0, activation="relu").save(path)
    r = invoke("decay", path, "--steps", 3000, "--json")
    assert r.exit_code == 1 and r.stdout == ""
    assert "overflows float64 at step" in r.stderr and str(path) in r.stderr


def run_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_console_script_and_shim_run_as_real_processes(tmp_path):
    out = tmp_path / "w.npz"
    r = run_cli(sys.executable, str(ROOT / "cli.py"), "init", "rnn", "-n", "4", "-d", "2",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    r = run_cli(sys.executable, "-m", "gradflow", "decay", str(out), "--steps", "20", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["log10_norm2"]) == 21
    bad = run_cli(sys.executable, str(ROOT / "cli.py"), "decay", str(tmp_path / "nope.npz"))
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [f"Error: {tmp_path / 'nope.npz'}: no such file"]
    assert bad.stdout == ""
