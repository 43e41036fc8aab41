"""The analysis commands as real processes: registered, light to start, one JSON document."""

import json
import os
import subprocess
import sys
from pathlib import Path

import gradflow as gf

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("spectrum", "bounds", "lyapunov", "compare")


def run(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gradflow", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_commands_are_registered_and_help_imports_no_numerics():
    r = run("--help")
    assert r.returncode == 0
    for name in COMMANDS:
        assert name in r.stdout
    code = ("import sys, gradflow.cli; "
            "print(sorted(m for m in ('numpy', 'numba', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.stdout.strip() == "[]"


def test_each_command_prints_exactly_one_json_document(tmp_path):
    path = tmp_path / "w.npz"
    gf.LSTM.init(3, 2, seed=0, forget_bias=1.0).save(path)
    calls = {
        "spectrum": ("spectrum", path, "--steps", 20, "--json"),
        "bounds": ("bounds", path, "--steps", 20, "--json"),
        "lyapunov": ("lyapunov", path, "--steps", 20, "--json"),
        "compare": ("compare", "-n", 3, "-d", 2, "--steps", 20, "--lengths", "3", "--json"),
    }
    for name, args in calls.items():
        r = run(*args)
        assert r.returncode == 0, (name, r.stderr)
        doc = json.loads(r.stdout)
        assert r.stdout.count("\n") == 1 and isinstance(doc, dict)
        assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    bad = run("lyapunov", path, "--k", 7)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "Error: k must be an integer in [1, 6] (the state size); got 7"]
