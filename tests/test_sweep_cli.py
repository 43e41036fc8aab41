"""gradflow sweep and sweep-report through CliRunner and as real processes; the phase report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

import gradflow as gf
from gradflow.cli import main
from gradflow.report.phase_data import phase_diagram, upward_crossing
from gradflow.sweep.store import read_results

ROOT = Path(__file__).resolve().parents[1]
GRID = "cell=rnn-tanh,lstm gain=0.5:1.7:4 hidden=6,12 seed=0:2"
OPTIONS = ["--steps", "60", "--warmup", "20", "--input-scale", "0.05", "--h0-scale", "1"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def process(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "gradflow", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "r.csv"
    r = invoke("sweep", "--grid", GRID, *OPTIONS, "-o", out, "--workers", 1, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["total"], doc["computed"], doc["failed"]) == (32, 32, 0)
    assert doc["grid"].startswith(GRID) and "steps=60" in doc["grid"]
    return out


def test_sweep_json_and_a_rerun(results):
    rows = read_results(results)
    assert len(rows) == 32 and {r["kind"] for r in rows} == {"RNN-tanh", "LSTM"}
    assert {(r["steps"], r["warmup"], r["input_scale"], r["h0_scale"]) for r in rows} == {
        (60, 20, 0.05, 1.0)}
    again = invoke("sweep", "--grid", GRID, *OPTIONS, "-o", results, "--workers", 1)
    assert again.exit_code == 0
    assert again.stderr.startswith(f"wrote {results}: 32 points (0 computed now on this "
                                   "process, 32 already there), 0 failed")
    assert again.stdout == ""


def test_spec_file_gives_the_same_points(results, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('[grid]\ncell = ["rnn-tanh", "lstm"]\ngain = "0.5:1.7:4"\nhidden = [6, 12]\n'
                    'seed = "0:2"\nsteps = 60\ninput_scale = 0.05\nh0_scale = 1.0\n'
                    '[options]\nwarmup = 20\n')
    out = tmp_path / "copy.csv"
    out.write_bytes(results.read_bytes())
    r = invoke("sweep", spec, "-o", out, "--quiet")
    assert r.exit_code == 0 and r.output == ""
    assert out.read_bytes() == results.read_bytes()
    clash = invoke("sweep", spec, "--warmup", 5, "-o", out)
    assert clash.exit_code == 2 and "--warmup conflicts with warmup in" in clash.output


def test_phase_png(results, tmp_path):
    out = tmp_path / "phase.png"
    r = invoke("sweep-report", results, "-o", out)
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == f"wrote {out}: 1 page, 4 curves from 32 points"
    table = r.stdout.splitlines()
    assert table[0].split()[:2] == ["cell", "curve"] and len(table) == 5
    img = imread(out)
    rgb = img[..., :3]
    assert img.shape[1] >= 1600 and np.mean(rgb.min(axis=2) < 0.95) > 0.05
    for hexcolor in ("#d62728", "#1f77b4"):  # the RNN-tanh and LSTM colours of the reports
        c = np.array([int(hexcolor[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(rgb - c).max(axis=2) < 0.03).sum() > 50, hexcolor


def test_phase_pdf(results, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    out = tmp_path / "phase.pdf"
    r = invoke("sweep-report", results, "-o", out, "--json", "--quiet")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["pages"] == 2 and len(doc["curves"]) == 4
    reader = pypdf.PdfReader(out)
    assert len(reader.pages) == 2
    assert reader.metadata["/Title"].startswith("gradflow phase diagram")
    first, second = (page.extract_text() for page in reader.pages)
    for words in ("Phase diagram", "RNN-tanh", "LSTM", "gain g", "Chaotic fraction",
                  "Pascanu bound"):
        assert words in first, words
    for words in ("n = 6", "n = 12", "32 points, 0 failed", "decay factor 1 at gain"):
        assert words in second, words


def test_phase_curves_against_numpy(results):
    rows = read_results(results)
    diagram = phase_diagram(rows, source="r.csv")
    assert [c.kind for c in diagram.curves] == ["RNN-tanh", "RNN-tanh", "LSTM", "LSTM"]
    assert [c.hidden for c in diagram.curves] == [6, 12, 6, 12]
    curve = diagram.curves[1]
    assert curve.gains.tolist() == [0.5, 0.9, 1.3, 1.7] and curve.seeds.tolist() == [2] * 4
    at = [r["lambda_1"] for r in rows if r["kind"] == "RNN-tanh" and r["hidden"] == 12
          and r["gain"] == 1.3]
    assert curve.lambda_1[:, 2].tolist() == [np.median(at), min(at), max(at)]
    bounds = [np.log(r["bound"]) for r in rows if r["kind"] == "RNN-tanh"
              and r["hidden"] == 12 and r["gain"] == 0.5]
    assert curve.log_bound[0] == pytest.approx(np.median(bounds))
    assert diagram.curves[2].log_bound is None
    assert upward_crossing([0, 1, 2], [-1.0, -0.5, 0.5]) == 1.5
    assert upward_crossing([0, 1], [0.5, 1.0]) is None


def test_a_killed_sweep_resumes_as_a_real_process(tmp_path):
    out = tmp_path / "r.csv"
    # twelve points of about 0.3 s each: the kill comes with most of them still to do
    args = ["sweep", "--grid", "gain=0.8,1.2,1.6 seed=0:4 hidden=128", "--steps", 2000,
            "--h0-scale", 1, "--input-scale", 0, "--workers", 1, "-o", out]
    proc = process(*args)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 4:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    saved = read_results(out)
    assert 3 <= len(saved) < 12
    done = process(*args, "--json")
    stdout, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr
    doc = json.loads(stdout)
    assert (doc["computed"], doc["reused"], doc["total"]) == (12 - len(saved), len(saved), 12)
    assert "\r" not in stderr  # no progress line when stderr is not a terminal
    rows = read_results(out)
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    first = {r["key"]: r for r in saved}
    for row in rows:
        if row["key"] in first:
            assert row == first[row["key"]]


def test_ctrl_c_stops_the_workers_and_says_how_to_resume(tmp_path):
    out = tmp_path / "r.csv"
    proc = process("sweep", "--grid", "gain=0.8,1.6 seed=0:6 hidden=128", "--steps", 2000,
                   "--workers", 2, "-o", out, start_new_session=True,
                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the command and its workers
    start = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - start < 10
    saved = len(read_results(out))
    assert proc.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        f"Error: interrupted: {saved} of 12 points are saved in {out}; rerun the same command "
        "to go on")
    for _ in range(100):  # the worker processes are gone too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("worker processes outlived the interrupted sweep")


def test_default_executor_and_report_as_real_processes(tmp_path):
    out = tmp_path / "r.csv"
    sweep = process("sweep", "--grid", "cell=rnn-tanh,gru gain=0.5,1.5 hidden=5 seed=0:2",
                    "--steps", 40, "-o", out)
    _, stderr = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, stderr
    cores = len(os.sched_getaffinity(0))
    where = "this process" if cores == 1 else f"{cores} local processes"
    assert stderr.strip().startswith(f"wrote {out}: 8 points (8 computed now on {where}, 0 "
                                     "already there), 0 failed, in ")
    rows = read_results(out)
    model = gf.GRU.init(5, 1, gain=1.5, seed=1)
    xs = np.random.default_rng([1, 1]).standard_normal((40, 1))
    row = next(r for r in rows if r["kind"] == "GRU" and r["gain"] == 1.5 and r["seed"] == 1)
    assert row["lambda_1"] == gf.lyapunov(model, xs, k=1).lambda_1
    report = process("sweep-report", out, "-o", tmp_path / "p.pdf")
    stdout, stderr = report.communicate(timeout=300)
    assert report.returncode == 0, stderr
    assert "GRU" in stdout and (tmp_path / "p.pdf").stat().st_size > 10_000
