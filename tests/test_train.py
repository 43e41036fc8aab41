"""Tasks, optimisers, the training gradient and loop, and ``gradflow train`` end to end."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.activations import activation_code
from gradflow.cells import Option, register, unregister
from gradflow.cli import main
from gradflow.kernels import dispatch
from gradflow.training.network import Network
from gradflow.training.optim import SGD, Adam
from gradflow.training.tasks import AddingProblem, CopyMemory, make_task

import naive

ROOT = Path(__file__).resolve().parents[1]


def strict_json(text):
    """Parse JSON, failing on NaN / Infinity (which the standard does not allow)."""
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- tasks
def test_adding_problem_sequences_and_baseline():
    task = AddingProblem(40)
    xs, y = task.sample(np.random.default_rng(0), 500)
    assert xs.shape == (500, 40, 2) and y.shape == (500,)
    marks = xs[:, :, 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :20].sum(axis=1) == 1) and np.all(marks[:, 20:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (xs[:, :, 0] * marks).sum(axis=1), rtol=1e-15)
    assert np.all((xs[:, :, 0] >= 0) & (xs[:, :, 0] < 1))
    # baseline: Var(U1 + U2) = 2/12 for always answering E[y] = 1
    assert task.baseline == pytest.approx(2 / 12)
    _, big = task.sample(np.random.default_rng(1), 200_000)
    mse = np.mean((big - 1.0) ** 2)
    assert abs(mse - 1 / 6) < 4 * np.std((big - 1.0) ** 2) / math.sqrt(big.size)
    loss, grad, acc = task.loss(np.ones((500, 1, 1)), y)
    assert loss == pytest.approx(np.mean((y - 1) ** 2)) and acc is None
    np.testing.assert_allclose(grad[:, 0, 0], 2 * (1 - y) / 500)


def test_copy_task_sequences_and_baseline():
    task = CopyMemory(25, memory=4, symbols=5)
    xs, y = task.sample(np.random.default_rng(0), 50)
    assert xs.shape == (50, 25, 7) and y.shape == (50, 4)
    assert np.all(xs.sum(axis=2) == 1)  # one-hot
    codes = xs.argmax(axis=2)
    np.testing.assert_array_equal(codes[:, :4], y + 1)
    assert np.all(codes[:, 4:20] == 0) and np.all(codes[:, 20] == 6)
    assert np.all(codes[:, 21:] == 0)
    loss, grad, acc = task.loss(np.zeros((50, 4, 5)), y)
    assert loss == pytest.approx(math.log(5)) and task.baseline == pytest.approx(math.log(5))
    # cross-entropy gradient against central differences
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4, 5))
    _, grad, _ = task.loss(logits, y[:3])
    for idx in [(0, 0, 0), (1, 2, 3), (2, 3, y[2, 3])]:
        e = np.zeros_like(logits)
        e[idx] = 1e-6
        fd = (task.loss(logits + e, y[:3])[0] - task.loss(logits - e, y[:3])[0]) / 2e-6
        assert grad[idx] == pytest.approx(fd, rel=1e-7, abs=1e-10)
    perfect = np.full((3, 4, 5), -50.0)
    np.put_along_axis(perfect, y[:3, :, None], 50.0, axis=2)
    assert task.loss(perfect, y[:3])[2] == 1.0


def test_task_arguments_are_checked():
    with pytest.raises(gf.GradflowError, match="length must be an integer >= 21 for the copy "
                                               "task with memory 10"):
        make_task("copy", 20)
    with pytest.raises(gf.GradflowError, match="length must be an integer >= 2"):
        make_task("adding", 1)
    with pytest.raises(gf.GradflowError, match="task must be one of adding, copy"):
        make_task("parity", 10)


# ---------------------------------------------------------------- optimisers
def test_adam_matches_its_closed_form():
    g1 = np.array([0.3, -2.0, 1e-3])
    g2 = np.array([-0.1, 4.0, 1e-3])
    p = {"w": np.zeros(3)}
    opt = Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    opt.step(p, {"w": g1})
    # first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps)
    np.testing.assert_allclose(p["w"], -0.1 * g1 / (np.abs(g1) + 1e-8), rtol=1e-14)
    before = p["w"].copy()
    opt.step(p, {"w": g2})
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    step = 0.1 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(p["w"], before - step, rtol=1e-13)


def test_adam_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    p = {"w": w0.copy()}
    tw = torch.tensor(w0, requires_grad=True)
    ours = Adam(lr=0.01)
    theirs = torch.optim.Adam([tw], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(25):
        g = rng.standard_normal((3, 4)) * 10.0 ** rng.integers(-3, 3)
        ours.step(p, {"w": g})
        tw.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(p["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_sgd_and_bad_rates():
    p = {"w": np.ones(2)}
    SGD(lr=0.5).step(p, {"w": np.array([2.0, -4.0])})
    np.testing.assert_array_equal(p["w"], [0.0, 3.0])
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(gf.GradflowError, match="lr must lie in"):
            Adam(lr=bad)
    with pytest.raises(gf.GradflowError, match=r"beta2 must lie in \[0, 1\)"):
        Adam(beta2=1.0)


# ---------------------------------------------------------------- the training gradient
def naive_task_loss(net, params, task, xs, targets):
    """Readout on the naive forward, in complex arithmetic if params are complex."""
    cls = net.cls
    w = {name: params[name] for name in net.cell_names}
    model = type("Naive", (), {"weights": w, "cell": cls.cell, "state_size": net.state_size,
                               **net.options})()
    f = naive.step_function(model)
    K, n = task.output_steps, net.hidden
    total = 0.0
    outputs = []
    for x in xs:
        s = np.zeros(net.state_size, dtype=complex)
        states = []
        for xt in x:
            s = f(s, xt)
            states.append(s[:n])
        H = np.array(states[-K:])
        outputs.append(H @ params["W_out"].T + params["b_out"])
    outputs = np.array(outputs)
    if task.name == "adding":
        total = np.mean((outputs[:, 0, 0] - targets) ** 2)
    else:
        picked = np.take_along_axis(outputs, targets[:, :, None], axis=2)[:, :, 0]
        total = np.mean(np.log(np.exp(outputs).sum(axis=2)) - picked)
    return total


@pytest.mark.parametrize("task", [AddingProblem(6), CopyMemory(7, memory=2, symbols=3)],
                         ids=["adding", "copy"])
def test_training_gradient_matches_complex_step(config, task):
    cls, options = config
    model = cls.init(3, task.inputs, init="pytorch", seed=1, **options)
    net = Network(model, task.outputs, np.random.default_rng(2))
    net.parameters["b_out"] += 0.1
    xs, y = task.sample(np.random.default_rng(3), 2)
    loss, grads = net.loss_and_gradients(task, xs, y)
    assert loss == pytest.approx(naive_task_loss(net, net.parameters, task, xs, y).real,
                                 rel=1e-13)
    h = 1e-30
    for name, p in net.parameters.items():
        ref = np.zeros(p.shape)
        for idx in np.ndindex(p.shape):
            params = {k: v.astype(complex) for k, v in net.parameters.items()}
            params[name][idx] += 1j * h
            ref[idx] = naive_task_loss(net, params, task, xs, y).imag / h
        assert np.linalg.norm(grads[name] - ref) <= 1e-10 * max(np.linalg.norm(ref), 1e-300), name


# ---------------------------------------------------------------- the loop
def test_training_learns_a_short_adding_problem():
    r = gf.train("gru", "adding", 8, 8, 200, batch=16, lr=0.02, seed=0, log_every=50,
                 eval_batch=128, threads=1)
    s = r.summary
    assert not s["diverged"] and s["steps_done"] == 200
    first, last = r.history["snapshots"][0], r.history["snapshots"][-1]
    assert first["step"] == 0 and last["step"] == 200
    assert first["eval_loss"] > 0.5 * s["baseline"]
    assert last["eval_loss"] < 0.2 * s["baseline"]
    # the evaluation loss in the history is the loss of the returned model and readout
    X, y = AddingProblem(8).sample(np.random.default_rng([0, 3]), 128)
    H = r.model.run(X)[:, -1, :8]
    pred = H @ r.readout["W_out"].T + r.readout["b_out"]
    assert last["eval_loss"] == pytest.approx(np.mean((pred[:, 0] - y) ** 2), rel=1e-12)


def test_history_is_strict_json_and_complete():
    r = gf.train("lstm", "copy", 23, 6, 12, batch=4, memory=3, seed=1, log_every=5,
                 eval_batch=16, lag_batch=4, clip=0.5, forget_bias=1.0, threads=2)
    doc = strict_json(json.dumps(r.history, allow_nan=False))
    assert doc["format"] == "gradflow-train-history" and doc["version"] == 1
    assert doc["config"]["clip"] == 0.5 and doc["config"]["forget_bias"] == 1.0
    assert doc["task"]["memory"] == 3 and doc["task"]["baseline"] == pytest.approx(math.log(8))
    trace = doc["trace"]
    assert trace["step"] == list(range(1, 13))
    assert {len(v) for v in trace.values()} == {12}
    assert all(c == (g > 0.5) for c, g in zip(trace["clipped"], trace["grad_norm"], strict=True))
    assert doc["summary"]["clipped_fraction"] == pytest.approx(np.mean(trace["clipped"]))
    assert [s["step"] for s in doc["snapshots"]] == [0, 5, 10, 12]
    snap = doc["snapshots"][-1]
    assert len(snap["decay"]["log10_norm2"]) == 24 and len(snap["decay"]["log10_norm2_c"]) == 24
    assert len(snap["lag_mass"]) == 23 and 0 <= snap["long_lag_share"] <= 1
    assert snap["eval_accuracy"] is not None
    assert doc["parameters"] == {"cell": r.model.parameter_count, "readout": 8 * 6 + 8}


def test_lag_mass_is_the_per_lag_norm_of_the_bptt_split():
    r = gf.train("rnn", "adding", 12, 5, 3, batch=4, seed=2, log_every=3, eval_batch=6,
                 lag_batch=6, threads=1)
    snap = r.history["snapshots"][-1]
    X, y = AddingProblem(12).sample(np.random.default_rng([2, 3]), 6)
    H = r.model.run(X)[:, -1, :5]
    W_out, b_out = r.readout["W_out"], r.readout["b_out"]
    err = (H @ W_out.T + b_out)[:, 0] - y
    G = np.zeros((6, 12, 5))
    G[:, -1] = (2 * err / 6)[:, None] * W_out[0]
    g = gf.bptt(r.model, X, G, by_lag=True)
    np.testing.assert_allclose(snap["lag_mass"], g.lag_norms(), rtol=1e-10)
    np.testing.assert_allclose(snap["decay"]["log10_norm2"],
                               gf.decay(r.model, X[0]).log10_norm2, rtol=1e-12)


def test_unclipped_exploding_run_diverges_and_clipping_keeps_it_finite():
    kw = dict(activation="relu", init="identity", optimizer="sgd", lr=0.01, seed=0,
              log_every=10, eval_batch=16, lag_batch=4, threads=1)
    wild = gf.train("rnn", "adding", 100, 16, 20, **kw)
    s = wild.summary
    assert s["diverged"] and s["diverged_at"] == s["steps_done"] < 20
    doc = strict_json(json.dumps(wild.history, allow_nan=False))
    assert doc["trace"]["non_finite"][-1] is True
    assert doc["trace"]["loss"][-1] is None or doc["trace"]["grad_norm"][-1] is None
    assert all(np.isfinite(v).all() for v in wild.model.weights.values())
    tame = gf.train("rnn", "adding", 100, 16, 20, clip=1.0, **kw)
    t = tame.summary
    assert not t["diverged"] and t["steps_done"] == 20 and t["non_finite_steps"] == 0
    assert t["clipped_fraction"] > 0.5 and t["max_grad_norm"] > 1e3
    assert all(v is not None for v in tame.history["trace"]["loss"])


def test_non_finite_gradients_under_clipping_take_the_fallback():
    # a relu RNN whose forward pass overflows from the first step on
    kw = dict(activation="relu", init="identity", gain=3.0, optimizer="sgd", lr=1e-3, seed=0,
              log_every=10, eval_batch=4, lag_batch=2, threads=1)
    r = gf.train("rnn", "adding", 700, 4, 3, clip=1.0, on_non_finite="zero", **kw)
    s = r.summary
    assert not s["diverged"] and s["non_finite_steps"] == 3 and s["clipped_fraction"] == 1.0
    assert r.history["trace"]["loss"] == [None] * 3
    assert r.model == gf.RNN.init(4, 2, init="identity", gain=3.0, activation="relu", seed=0)
    snap = r.history["snapshots"][-1]
    assert snap["eval_loss"] is None and snap["decay"] is None and snap["lag_mass"] is None
    strict_json(json.dumps(r.history, allow_nan=False))
    moved = gf.train("rnn", "adding", 700, 4, 3, clip=1.0, on_non_finite="random", **kw)
    step = np.concatenate([(moved.model[k] - r.model[k]).ravel() for k in r.model.weights])
    assert 0 < np.linalg.norm(step) <= 3 * 1e-3 * 1.0 * (1 + 1e-12)


def test_threads_and_seeds():
    kw = dict(batch=6, seed=3, log_every=4, eval_batch=8, lag_batch=2)
    one = gf.train("gru", "adding", 10, 4, 4, threads=1, **kw)
    two = gf.train("gru", "adding", 10, 4, 4, threads=2, **kw)
    np.testing.assert_allclose(one.losses, two.losses, rtol=1e-12)
    again = gf.train("gru", "adding", 10, 4, 4, threads=1, **kw)
    np.testing.assert_array_equal(one.losses, again.losses)
    other = gf.train("gru", "adding", 10, 4, 4, threads=1, **{**kw, "seed": 4})
    assert not np.array_equal(one.losses, other.losses)


def test_train_arguments_are_checked():
    with pytest.raises(gf.GradflowError, match="clip must be a positive finite number"):
        gf.train("rnn", "adding", 5, 2, 1, clip=-1.0)
    with pytest.raises(gf.GradflowError, match="optimizer must be one of adam, sgd"):
        gf.train("rnn", "adding", 5, 2, 1, optimizer="rmsprop")
    with pytest.raises(gf.GradflowError, match="cell must be one of rnn, lstm, gru"):
        gf.train("elman", "adding", 5, 2, 1)
    with pytest.raises(gf.GradflowError, match="steps must be an integer >= 1"):
        gf.train("rnn", "adding", 5, 2, 0)


# ---------------------------------------------------------------- the command
def test_cli_train_writes_history_and_weights(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, [
        "train", "--cell", "lstm", "--task", "adding", "--length", "12", "--hidden", "4",
        "--steps", "6", "--batch", "4", "--log-every", "3", "--eval-batch", "8", "--clip", "1",
        "--seed", "5", "--history", "h.json", "-o", "w.npz", "--json"])
    assert r.exit_code == 0, r.output
    doc = strict_json(r.stdout)
    assert doc["summary"]["steps_done"] == 6 and doc["history"] == "h.json"
    history = strict_json(Path("h.json").read_text())
    assert history["summary"] == doc["summary"] and history["config"]["seed"] == 5
    assert gf.load("w.npz").cell == "lstm"
    assert r.stderr.count("step ") == 3  # progress at steps 0, 3, 6
    r = CliRunner().invoke(main, [
        "train", "--cell", "rnn", "--task", "copy", "--length", "9", "--hidden", "3",
        "--steps", "2", "--memory", "2", "--batch", "2", "--eval-batch", "4", "--quiet"])
    assert r.exit_code == 0 and r.stderr == ""
    assert "on the copy task, T = 9: 2 of 2 steps" in r.stdout
    assert "baseline 2.079" in r.stdout


def test_cli_train_refusals_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["train", "--task", "adding", "--length", "10", "--hidden", "3", "--steps", "2"]
    cases = [
        (["--cell", "lstm", "--activation", "relu"], "--activation applies to rnn only"),
        (["--cell", "gru", "--clip-method", "value"], "--clip-method and --on-non-finite need "
                                                      "--clip"),
        (["--cell", "gru", "--history", "no/h.json"], "no/h.json: cannot write: folder no does "
                                                      "not exist"),
        (["--cell", "gru", "--clip", "0"], "clip must be a positive finite number; got 0.0"),
        (["--cell", "gru", "--history", "a.json", "-o", "a.json"], "would overwrite the history"),
        (["--cell", "rnn", "--memory", "3"], "--memory applies to the copy task only"),
    ]
    for extra, message in cases:
        r = CliRunner().invoke(main, base + extra)
        assert r.exit_code == 1, (extra, r.output)
        assert r.stderr.startswith("Error: ") and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_train_as_a_real_subprocess(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(
        [sys.executable, "-m", "gradflow", "train", "--cell", "gru", "--task", "adding",
         "--length", "10", "--hidden", "4", "--steps", "5", "--batch", "4", "--eval-batch", "8",
         "--history", "h.json", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    doc = strict_json(r.stdout)
    assert doc["summary"]["steps_done"] == 5
    history = strict_json((tmp_path / "h.json").read_text())
    assert len(history["trace"]["loss"]) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["h.json"]


# ---------------------------------------------------------------- cell options from the registry
class ShiftedToy(gf.Cell):
    """A tanh RNN under the gate letter ``a``, with an init option of its own (``shift``)."""

    cell = "shiftedtoy"
    title = "ShiftedToy"
    gates = ("a",)
    gate_symbols = {"a": "A"}
    gate_nonlinearities = {"a": "tanh"}
    option_specs = (Option("shift", None, stored=False, help="ShiftedToy only: added to b_a."),)
    kernel_id = dispatch.RNN
    position = 60

    @classmethod
    def adjusted_initial_weights(cls, weights, *, shift=None):
        return weights if shift is None else {**weights, "b_a": weights["b_a"] + shift}

    def kernel_option(self):
        return activation_code("tanh")


@pytest.fixture
def shifted_toy():
    register(ShiftedToy)
    yield ShiftedToy
    unregister("shiftedtoy")


@pytest.mark.parametrize("command", [["init"], ["train"]])
def test_cli_cell_options_come_from_the_registry(shifted_toy, command):
    text = CliRunner().invoke(main, [*command, "--help"]).stdout
    flat = " ".join(text.split())
    for flag, help_line, kind in [
        ("--activation", "RNN nonlinearity (default tanh).", "[tanh|sigmoid|relu]"),
        ("--variant", "GRU reset placement: seed (before W_hh, default) or reset_after "
                      "(PyTorch).", "[seed|reset_after]"),
        ("--forget-bias", "LSTM only: added to b_f (1.0 is the usual choice).", "FLOAT"),
        ("--shift", "ShiftedToy only: added to b_a.", "FLOAT"),
    ]:
        assert f"{flag} {kind} {help_line}" in flat, flag
    if command == ["train"]:
        assert "--cell [rnn|lstm|gru|shiftedtoy] The cell." in flat
    else:
        r = CliRunner().invoke(main, ["init", "cnn", "-n", "2", "-d", "2", "-o", "w.npz"])
        assert "'cnn' is not one of 'rnn', 'lstm', 'gru', 'shiftedtoy'" in r.stderr


def test_cli_init_and_train_take_a_registered_cell_and_its_option(shifted_toy, tmp_path):
    out = tmp_path / "toy.npz"
    r = CliRunner().invoke(main, ["init", "shiftedtoy", "-n", "4", "-d", "2", "--shift", "0.5",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(gf.load(out)["b_a"], np.full(4, 0.5))  # gaussian: zero biases
    base = ["train", "--task", "adding", "--length", "6", "--hidden", "3", "--steps", "1",
            "--batch", "2", "--eval-batch", "2", "-q", "--json"]
    r = CliRunner().invoke(main, [*base, "--cell", "shiftedtoy", "--shift", "0.25"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["config"]["shift"] == 0.25
    for args, message in [
        (["init", "rnn", "-n", "4", "-d", "2", "--shift", "1", "-o", str(out)],
         "Error: --shift applies to shiftedtoy only, not to rnn"),
        ([*base, "--cell", "shiftedtoy", "--activation", "relu"],
         "Error: --activation applies to rnn only, not to shiftedtoy"),
        ([*base, "--cell", "lstm", "--variant", "seed"],
         "Error: --variant applies to gru only, not to lstm"),
    ]:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and r.stderr.strip() == message, r.output


def test_train_argument_messages_name_the_argument():
    cases = [
        (dict(batch=0), "batch must be an integer >= 1; got 0"),
        (dict(threads=1.5), "threads must be an integer >= 1; got 1.5"),
        (dict(seed=-1), "seed must be a non-negative integer; got -1"),
        (dict(clip=math.inf), "clip must be a positive finite number; got inf"),
        (dict(clip=1.0, clip_method="global"), "clip_method must be one of norm, value"),
        (dict(clip=1.0, on_non_finite="raise"), "on_non_finite must be one of zero, random"),
        (dict(lr=math.nan), r"lr must lie in \(0, inf\); got nan"),
        (dict(activation="relu", cell="lstm"), "activation applies to RNN only, not to LSTM"),
    ]
    for extra, message in cases:
        kw = {"cell": "rnn", "task": "adding", "length": 5, "hidden": 2, "steps": 1, **extra}
        with pytest.raises(gf.GradflowError, match=message):
            gf.train(**kw)


@pytest.mark.slow
def test_gru_solves_the_adding_problem_where_the_tanh_rnn_stays_at_the_baseline():
    """A shortened run of reports/training: T = 100, 400 Adam steps."""
    kw = dict(batch=32, lr=0.01, seed=0, log_every=100, eval_batch=256)
    rnn = gf.train("rnn", "adding", 100, 32, 400, **kw)
    gru = gf.train("gru", "adding", 100, 32, 400, **kw)
    base = 1 / 6
    assert rnn.summary["final_eval_loss"] > 0.75 * base
    assert gru.summary["final_eval_loss"] < 0.1 * base
    # the per-lag gradient mass: the GRU carries far more of it to lags >= T/2
    rnn_share = max(s["long_lag_share"] for s in rnn.history["snapshots"])
    gru_share = gru.history["snapshots"][-1]["long_lag_share"]
    assert gru_share > 1e3 * rnn_share


def test_snapshots_without_analyses_keep_the_loss_curve_and_the_run():
    kw = dict(batch=8, seed=2, log_every=5, eval_batch=12, lag_batch=3, threads=1)
    full = gf.train("lstm", "adding", 12, 5, 10, **kw)
    bare = gf.train("lstm", "adding", 12, 5, 10, snapshot_analyses=False, **kw)
    assert bare.history["trace"] == full.history["trace"]
    assert bare.model == full.model
    assert [s["step"] for s in bare.history["snapshots"]] == [0, 5, 10]
    for b, f in zip(bare.history["snapshots"], full.history["snapshots"], strict=True):
        assert b["eval_loss"] == f["eval_loss"] and f["decay"] is not None
        assert b["decay"] is None and b["lag_mass"] is None and b["long_lag_share"] is None
    assert bare.history["config"]["snapshot_analyses"] is False
    assert full.history["config"]["snapshot_analyses"] is True
    strict_json(json.dumps(bare.history, allow_nan=False))
    numpy_false = gf.train("lstm", "adding", 12, 5, 1, snapshot_analyses=np.False_, **kw)
    assert numpy_false.history["config"]["snapshot_analyses"] is False  # a JSON boolean
    strict_json(json.dumps(numpy_false.history, allow_nan=False))
    with pytest.raises(gf.GradflowError, match="snapshot_analyses"):
        gf.train("lstm", "adding", 12, 5, 1, snapshot_analyses="no", **kw)
