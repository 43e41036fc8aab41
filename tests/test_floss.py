"""Gradient flossing: the loss against gf.lyapunov, the gradients against central differences
and against PyTorch autograd through torch.linalg.qr on the same chain."""

import json

import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis.lyapunov import initial_frame
from gradflow.kernels.floss import qr_adjoint

STEPS, K, WARMUP, TARGET = 14, 3, 2, 0.1


def _relu_rnn():
    m = gf.RNN.init(5, 3, seed=1, gain=0.9, activation="relu")
    return gf.RNN({**m.weights, "b_h": m["b_h"] + 1.0}, activation="relu")  # no dead units


def _network(cls):
    return gf.Network([(cls.init(4, 3, seed=4, gain=1.4),), (cls.init(4, 4, seed=5, gain=1.4),)])


MODELS = {
    "rnn-tanh": lambda: gf.RNN.init(5, 3, seed=1, gain=1.3),
    "rnn-relu": _relu_rnn,
    "rnn-leaky": lambda: gf.RNN.init(5, 3, seed=1, gain=1.5, leak=0.5),
    "rnn-sigmoid": lambda: gf.RNN.init(5, 3, seed=1, gain=3.0, activation="sigmoid"),
    "lstm": lambda: gf.LSTM.init(4, 3, seed=2, gain=1.5),
    "gru-seed": lambda: gf.GRU.init(4, 3, seed=3, gain=1.5),
    "gru-reset_after": lambda: gf.GRU.init(4, 3, seed=3, gain=1.5, variant="reset_after"),
    "network-rnn": lambda: _network(gf.RNN),
    "network-lstm": lambda: _network(gf.LSTM),
    "network-gru": lambda: _network(gf.GRU),
}
CELL_CASES = [c for c in MODELS if not c.startswith("network")]


def _inputs(seed=0, batch=None):
    shape = (STEPS, 3) if batch is None else (batch, STEPS, 3)
    return np.random.default_rng(seed).standard_normal(shape)


def _floss(model, xs, **kw):
    return gf.floss(model, xs, k=K, warmup=WARMUP, target=TARGET, **kw)


# ---------------------------------------------------------------- the loss
@pytest.mark.parametrize("case", CELL_CASES)
def test_loss_is_mean_squared_deviation_of_lyapunov_exponents(case):
    model, xs = MODELS[case](), _inputs()
    f = _floss(model, xs)
    lam = gf.lyapunov(model, xs, k=K, warmup=WARMUP).exponents
    assert f.exponents == pytest.approx(lam, rel=1e-12, abs=1e-13)
    assert f.loss == pytest.approx(np.mean((lam - TARGET) ** 2), rel=1e-12)
    doc = f.to_dict()
    assert doc["k"] == K and doc["exponents"] == pytest.approx(list(f.exponents))
    assert set(doc["grad_norms"]) == set(model.weight_names())


def test_default_frame_is_lyapunovs():
    model, xs = MODELS["lstm"](), _inputs()
    explicit = _floss(model, xs, q0=initial_frame(model.state_size, K, 0))
    assert explicit.loss == _floss(model, xs).loss


# ---------------------------------------------------------------- central differences
def _weight(model, name):
    if isinstance(model, gf.Network):
        layer, _, weight = name.split(".")
        return model.layers[int(layer[1:])][0][weight]
    return model[name]


def _rebuilt(model, name, value):
    if isinstance(model, gf.Network):
        layers = []
        for index, (cell,) in enumerate(model.layers):
            prefix = f"l{index}.forward."
            weights = dict(cell.weights)
            if name.startswith(prefix):
                weights[name[len(prefix):]] = value
            layers.append((type(cell)(weights, **cell.options()),))
        return gf.Network(layers)
    return type(model)({**model.weights, name: value}, **model.options())


@pytest.mark.parametrize("case", list(MODELS))
def test_gradients_match_central_differences(case):
    model, xs = MODELS[case](), _inputs()
    f = _floss(model, xs)
    names = set(model.weight_names()) if isinstance(model, gf.Cell) else None
    assert names is None or set(f.grads) == names
    rng = np.random.default_rng(7)
    h = 1e-4
    for name, grad in f.grads.items():
        W = _weight(model, name)
        assert grad.shape == W.shape
        e = rng.standard_normal(W.shape)
        e /= np.linalg.norm(e)

        def loss(step, name=name, W=W, e=e):
            return _floss(_rebuilt(model, name, W + step * e), xs).loss

        fd = (8 * (loss(h) - loss(-h)) - (loss(2 * h) - loss(-2 * h))) / (12 * h)
        analytic = float(np.sum(grad * e))
        scale = max(abs(analytic), 1e-3 * float(np.linalg.norm(grad)))
        assert abs(fd - analytic) <= 1e-7 * scale, (name, fd, analytic)


def test_qr_adjoint_matches_central_differences():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((6, 3))
    Qbar = rng.standard_normal((6, 3))
    rbar = rng.standard_normal(3)

    def f(A):
        Q, R = np.linalg.qr(A)
        return np.sum(Qbar * Q) + np.sum(rbar * np.diag(R))

    Q, R = np.linalg.qr(A)
    Abar = np.empty_like(A)
    qr_adjoint(Q, R, Qbar, rbar, Abar)
    h = 1e-5
    fd = np.empty_like(A)
    for index in np.ndindex(A.shape):
        E = np.zeros_like(A)
        E[index] = h
        fd[index] = (f(A + E) - f(A - E)) / (2 * h)
    np.testing.assert_allclose(Abar, fd, rtol=1e-8, atol=1e-9)


# ---------------------------------------------------------------- PyTorch autograd
def _torch_step(model, torch):
    """``(params, step(s, x))``: the model's step from torch.nn cells (or the seed's GRU
    equations, which no torch module has), the weights as leaf tensors keyed like f.grads."""
    cells = [model] if isinstance(model, gf.Cell) else [layer[0] for layer in model.layers]
    prefixes = [""] if isinstance(model, gf.Cell) else [f"l{i}.forward." for i in
                                                        range(len(cells))]
    params = {p + name: torch.tensor(w, requires_grad=True)
              for p, c in zip(prefixes, cells, strict=True) for name, w in c.weights.items()}
    cat = torch.cat
    steps = []
    for p, c in zip(prefixes, cells, strict=True):
        w = {name: params[p + name] for name in c.weights}
        n = c.hidden
        zero = torch.zeros(n, dtype=torch.float64)
        if c.cell == "rnn":
            module = torch.nn.RNNCell(c.inputs, n, nonlinearity=c.activation).double()
            state = {"weight_ih": w["W_x"], "weight_hh": w["W_h"], "bias_ih": w["b_h"],
                     "bias_hh": zero}

            def step(s, x, module=module, state=state, a=c.leak):
                new = torch.func.functional_call(module, state, (x[None], s[None]))[0]
                return (1 - a) * s + a * new
        elif c.cell == "lstm":
            module = torch.nn.LSTMCell(c.inputs, n).double()
            order = "ifco"  # PyTorch's (i, f, g, o)
            state = {"weight_ih": cat([w[f"W_{g}x"] for g in order]),
                     "weight_hh": cat([w[f"W_{g}h"] for g in order]),
                     "bias_ih": cat([w[f"b_{g}"] for g in order]), "bias_hh": cat([zero] * 4)}

            def step(s, x, module=module, state=state, n=n):
                h, c_ = torch.func.functional_call(module, state, (x[None], (s[None, :n],
                                                                             s[None, n:])))
                return cat([h[0], c_[0]])
        elif c.variant == "reset_after":
            module = torch.nn.GRUCell(c.inputs, n).double()
            state = {"weight_ih": cat([w["W_rx"], w["W_zx"], w["W_hx"]]),
                     "weight_hh": cat([w["W_rh"], w["W_zh"], w["W_hh"]]),
                     "bias_ih": cat([w["b_r"], w["b_z"], w["b_h"]]),
                     "bias_hh": cat([zero, zero, w["b_hn"]])}

            def step(s, x, module=module, state=state):
                return torch.func.functional_call(module, state, (x[None], s[None]))[0]
        else:
            def step(h, x, w=w):
                R = torch.sigmoid(w["W_rh"] @ h + w["W_rx"] @ x + w["b_r"])
                Z = torch.sigmoid(w["W_zh"] @ h + w["W_zx"] @ x + w["b_z"])
                Ht = torch.tanh(w["W_hh"] @ (R * h) + w["W_hx"] @ x + w["b_h"])
                return Z * h + (1 - Z) * Ht
        steps.append((step, c.state_size, n))

    def network_step(s, x):
        out, start, below = [], 0, x
        for step, m, n in steps:
            new = step(s[start:start + m], below)
            out.append(new)
            below, start = new[:n], start + m
        return cat(out)

    return params, network_step


def _torch_floss(model, xs, torch):
    params, step = _torch_step(model, torch)
    m = model.state_size
    Q = torch.tensor(initial_frame(m, K, 0))
    s = torch.zeros(m, dtype=torch.float64)
    total = torch.zeros(K, dtype=torch.float64)
    for t, x in enumerate(torch.tensor(xs)):
        J = torch.autograd.functional.jacobian(lambda v, x=x: step(v, x), s, create_graph=True)
        Q, R = torch.linalg.qr(J @ Q)
        signs = torch.sign(torch.diagonal(R))
        Q, R = Q * signs, R * signs[:, None]
        if t + 1 > WARMUP:
            total = total + torch.log(torch.diagonal(R))
        s = step(s, x)
    loss = torch.mean((total / (len(xs) - WARMUP) - TARGET) ** 2)
    loss.backward()
    return float(loss.detach()), {name: p.grad.numpy() for name, p in params.items()}


@pytest.mark.parametrize("case", [c for c in MODELS if c != "rnn-sigmoid"])
def test_gradients_match_torch_autograd_through_qr(case):
    torch = pytest.importorskip("torch")
    model, xs = MODELS[case](), _inputs()
    f = _floss(model, xs)
    loss, grads = _torch_floss(model, xs, torch)
    assert f.loss == pytest.approx(loss, rel=1e-12)
    assert set(grads) == set(f.grads)
    for name, g in grads.items():
        assert np.linalg.norm(f.grads[name] - g) <= 1e-8 * np.linalg.norm(g), name


# ---------------------------------------------------------------- batches and errors
def test_batch_is_the_mean_over_sequences_whatever_the_threads():
    model, xs = MODELS["gru-seed"](), _inputs(batch=3)
    s0 = np.random.default_rng(1).uniform(-0.5, 0.5, (3, model.state_size))
    one = [_floss(model, x, s0=s) for x, s in zip(xs, s0, strict=True)]
    batch = _floss(model, xs, s0=s0, threads=2)
    assert batch.sequences == 3
    assert batch.loss == pytest.approx(np.mean([f.loss for f in one]), rel=1e-13)
    for name, g in batch.grads.items():
        np.testing.assert_allclose(g, np.mean([f.grads[name] for f in one], axis=0),
                                   rtol=1e-12, atol=1e-15)
    serial = _floss(model, xs, s0=s0, threads=1)
    assert serial.loss == batch.loss
    assert all(np.array_equal(serial.grads[n], batch.grads[n]) for n in batch.grads)


def test_a_collapsed_direction_is_a_named_error():
    m = gf.RNN.init(4, 3, seed=0, activation="relu")
    dead = gf.RNN({**m.weights, "b_h": np.array([-50.0, -50.0, 1.0, 1.0])}, activation="relu")
    with pytest.raises(gf.GradflowError, match="collapsed at step"):
        gf.floss(dead, _inputs(), k=3)


def test_bidirectional_network_is_refused_by_name():
    cells = (gf.RNN.init(3, 2, seed=0), gf.RNN.init(3, 2, seed=1))
    with pytest.raises(gf.GradflowError, match="bidirectional.*reversed time"):
        gf.floss(gf.Network([cells]), np.zeros((5, 2)), k=1)


@pytest.mark.parametrize("kwargs, words", [
    ({"k": 0}, "k must be"), ({"k": 6}, "k must be"), ({"k": 1, "warmup": STEPS}, "warmup"),
    ({"k": 2, "q0": np.ones((5, 2))}, "orthonormal"), ({"k": 2, "q0": np.eye(4)[:, :2]}, "q0"),
    ({"k": 1, "target": float("nan")}, "target"),
])
def test_bad_arguments_name_the_argument(kwargs, words):
    with pytest.raises(gf.GradflowError, match=words):
        gf.floss(MODELS["rnn-tanh"](), _inputs(), **kwargs)


# ---------------------------------------------------------------- training with flossing
@pytest.mark.parametrize("text, words", [
    ("pre:x", "cannot read 'pre:x'"), ("pre:0,every:0", "never flosses"),
    ("pre:1,pre:2", "pre given twice"), ("", "expected pre:N,every:M"),
])
def test_bad_schedule_text_is_a_named_error(text, words):
    from gradflow.training.flossing import parse_schedule

    with pytest.raises(gf.GradflowError, match=f"floss schedule .*{words}"):
        parse_schedule(text)


def test_schedule_parts():
    from gradflow.training.flossing import FlossSchedule, parse_schedule

    assert parse_schedule("pre:7, every:3") == FlossSchedule(7, 3)
    assert parse_schedule("every:4") == FlossSchedule(0, 4)
    assert [s for s in range(1, 10) if parse_schedule("every:4").due(s)] == [4, 8]


@pytest.mark.parametrize("cell, options", [("rnn", {}), ("lstm", {}),
                                           ("gru", {"variant": "reset_after"})])
def test_training_records_the_flossed_exponents(cell, options):
    kw = dict(batch=4, eval_batch=8, lag_batch=2, threads=1, seed=3, **options)
    plain = gf.train(cell, "adding", 12, 5, 4, **kw)
    result = gf.train(cell, "adding", 12, 5, 4, floss=2, floss_schedule="pre:3,every:2",
                      floss_target=-0.1, **kw)
    history = result.history
    assert history["version"] == 2 and "floss" not in plain.history
    assert plain.history["version"] == 1
    section = history["floss"]
    assert section["schedule"] == {"pre": 3, "every": 2} and section["k"] == 2
    trace = section["trace"]
    assert trace["phase"] == ["pre"] * 3 + ["during"] * 2 and trace["step"] == [0, 0, 0, 2, 4]
    assert all(len(e) == 2 and e[0] >= e[1] for e in trace["exponents"])
    assert all(v is not None and v >= 0 for v in trace["loss"])
    # flossing draws its own batches and moves the cell: the same training batches, other weights
    first = plain.model.weight_names()[0]
    assert not np.array_equal(result.model[first], plain.model[first])


def test_train_cli_floss_options(tmp_path):
    from click.testing import CliRunner

    from gradflow.cli import main

    base = ["train", "--cell", "rnn", "--task", "adding", "--length", "10", "--hidden", "4",
            "--steps", "2", "--eval-batch", "4", "--batch", "2", "-q"]
    r = CliRunner().invoke(main, [*base, "--floss-weight", "2"])
    assert r.exit_code == 1 and "need --floss" in r.output
    r = CliRunner().invoke(main, [*base, "--floss", "2", "--floss-schedule", "pre:2;every:1"])
    assert r.exit_code == 1 and "floss schedule" in r.output
    assert not list(tmp_path.iterdir())
    path = tmp_path / "h.json"
    r = CliRunner().invoke(main, [*base, "--floss", "2", "--floss-schedule", "pre:1,every:1",
                                  "--history", str(path), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["floss"]["steps"] == 3
    assert len(json.loads(path.read_text())["floss"]["trace"]["exponents"]) == 3
