"""``gradflow.torch.Monitor`` in plain PyTorch training loops, against torch's own autograd."""

import copy
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.training.history import HISTORY_VERSION

torch = pytest.importorskip("torch")
Monitor = pytest.importorskip("gradflow.torch").Monitor
from torch_refs import torch_cell  # noqa: E402


def _log10_norm2(matrix):
    return math.log10(np.linalg.norm(matrix, 2))


def _final_hidden(module, x, hx=None):
    """y_T: the top layer's final hidden states, directions concatenated (one sequence)."""
    _, final = module(x[None], hx) if module.batch_first else module(x[:, None], hx)
    h_n = final[0] if isinstance(final, tuple) else final
    D = 2 if module.bidirectional else 1
    return torch.cat([h_n[-D + j, 0] for j in range(D)])


def input_curve(module, x):
    """log10 ||dy_T/dx_{T-k}||_2, k = 0..T-1, by autograd on one sequence (T, d)."""
    jac = torch.autograd.functional.jacobian(lambda z: _final_hidden(module, z), x)
    T = x.shape[0]
    return np.array([_log10_norm2(jac[:, T - 1 - k, :].numpy()) for k in range(T)])


def output_curve(module, x):
    """log10 ||dy_T/ds_{T-k}||_2, k = 0..T, s = every layer's (h, c): autograd from s_{T-k}."""
    T = x.shape[0]
    out = [0.0]  # k = 0: y_T is part of s_T
    for k in range(1, T + 1):
        if T - k > 0:
            _, (h, c) = module(x[None, :T - k])
        else:
            h = c = torch.zeros(module.num_layers, 1, module.hidden_size, dtype=x.dtype)

        def run(h0, c0, k=k):
            return _final_hidden(module, x[T - k:], (h0, c0))

        jh, jc = torch.autograd.functional.jacobian(run, (h, c))
        J = torch.cat([jh.reshape(jh.shape[0], -1), jc.reshape(jc.shape[0], -1)], dim=1)
        out.append(_log10_norm2(J.numpy()))
    return np.array(out)


def lambda_1_curve(module, x, warmup):
    """lambda_1 of each layer's cell along its own trajectory: torch's cells, autograd's J_t.

    The frame starts where gradflow's seeded one does (the normalised draw of
    ``default_rng(0)``) and is renormalised every step; the mean of ``log ||J_t v||`` over the
    steps after ``warmup``.
    """
    out, below = [], x
    for layer in range(module.num_layers):
        cell = torch_cell("lstm", module, layer, False)
        n = module.hidden_size

        def step(s, x_t, cell=cell, n=n):
            h, c = cell(x_t[None], (s[None, :n], s[None, n:]))
            return torch.cat([h[0], c[0]])

        v = np.random.default_rng(0).standard_normal(2 * n)
        v /= np.linalg.norm(v)
        s = torch.zeros(2 * n, dtype=torch.float64)
        logs, hidden = [], []
        for t in range(below.shape[0]):
            J = torch.autograd.functional.jacobian(lambda z, x_t=below[t]: step(z, x_t), s)
            w = J.numpy() @ v
            logs.append(math.log(np.linalg.norm(w)))
            v = w / np.linalg.norm(w)
            with torch.no_grad():
                s = step(s, below[t])
            hidden.append(s[:n])
        out.append(float(np.mean(logs[warmup:])))
        below = torch.stack(hidden)
    return np.array(out)


def _torch_norm(params):
    return math.sqrt(sum(float(torch.sum(p.grad.double() ** 2)) for p in params))


def _lstm_loop(path, *, steps=30, every=10, sequences=3, batch=5, T=12, crash_at=None):
    """A seeded 2-layer LSTM regression loop with the Monitor; what torch saw, step by step."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    head = torch.nn.Linear(4, 1).double()
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=0.05)
    gen = torch.Generator().manual_seed(1)
    seen = {"loss": [], "grad_norm": [], "split_norm": [], "at": {}}
    with Monitor(lstm, every=every, history=path, sequences=sequences) as mon:
        for step in range(1, steps + 1):
            x = torch.randn(batch, T, 3, generator=gen, dtype=torch.float64)
            y = torch.cumsum(x[..., :1], dim=1) * 0.1
            out, _ = lstm(x)
            loss = ((head(out) - y) ** 2).mean()
            loss.backward()
            if step == crash_at:
                raise RuntimeError("the loop broke")
            mon.step(loss=loss.item())
            seen["loss"].append(loss.item())
            seen["grad_norm"].append(_torch_norm(lstm.parameters()))
            # gradflow's b = bias_ih + bias_hh: dL/db is either bias's gradient, counted once
            once = [getattr(lstm, f"{name}_l{layer}") for layer in (0, 1)
                    for name in ("weight_ih", "weight_hh", "bias_ih")]
            seen["split_norm"].append(_torch_norm(once))
            if step % every == 0:
                seen["at"][step] = (copy.deepcopy(lstm), x.clone())
            opt.step()
            opt.zero_grad()
    return lstm, mon, seen


def test_lstm_loop_history_losses_norms_and_snapshots_match_autograd(tmp_path):
    path = tmp_path / "run.json"
    lstm, mon, seen = _lstm_loop(path, sequences=5)  # the whole batch: the split sums to .grad
    doc = json.loads(path.read_text())
    assert doc["format"] == "gradflow-train-history" and doc["version"] == HISTORY_VERSION
    assert doc["source"] == "gradflow.torch.Monitor"
    assert doc["trace"]["step"] == list(range(1, 31))
    assert doc["trace"]["loss"] == seen["loss"]
    np.testing.assert_allclose(doc["trace"]["grad_norm"], seen["grad_norm"], rtol=1e-12)
    assert [s["step"] for s in doc["snapshots"]] == [10, 20, 30]
    for snap in doc["snapshots"]:
        module, x = seen["at"][snap["step"]]
        assert snap["sequences"] == 5 and snap["steps"] == 12
        inputs = np.median([input_curve(module, x[b]) for b in range(5)], axis=0)
        outputs = np.median([output_curve(module, x[b]) for b in range(5)], axis=0)
        np.testing.assert_allclose(snap["decay"]["log10_norm2_input"], inputs, rtol=0,
                                   atol=1e-9)
        np.testing.assert_allclose(snap["decay"]["log10_norm2_output"], outputs, rtol=0,
                                   atol=1e-9)
        assert snap["decay"]["verdict"] in ("vanishing", "exploding", "stable", "undetermined")
        assert snap["split_weights"] == [{"layer": 0, "direction": "forward"},
                                         {"layer": 1, "direction": "forward"}]
        assert snap["split_grad_norm"] == pytest.approx(seen["split_norm"][snap["step"] - 1],
                                                        rel=1e-10)
        assert len(snap["lag_mass"]) == 12 and all(v >= 0 for v in snap["lag_mass"])
        assert len(snap["lambda_1_cells"]) == 2 and math.isfinite(snap["lambda_1"])
        warmup = snap["lambda_1_warmup"]
        assert warmup == snap["decay"]["fit_lags"][0] == 3  # T = 12: its first quarter
        lams = np.median([lambda_1_curve(module, x[b], warmup) for b in range(5)], axis=0)
        np.testing.assert_allclose([c["lambda_1"] for c in snap["lambda_1_cells"]], lams,
                                   rtol=0, atol=1e-12)
        assert snap["lambda_1"] == snap["lambda_1_cells"][-1]["lambda_1"]
    summary = doc["summary"]
    assert summary["steps_done"] == 30 and summary["closed"] and summary["stopped_by"] is None
    assert summary["wall_time_s"] > 0 and summary["final_loss"] == pytest.approx(
        np.mean(seen["loss"][-3:]))
    assert "30 steps" in doc["title"] and "final loss" in doc["title"]
    latest = mon.latest
    assert latest["step"] == 30.0 and all(isinstance(v, float) for v in latest.values())
    assert latest["grad_norm"] == pytest.approx(seen["grad_norm"][-1], rel=1e-12)
    assert {"decay_factor", "decay_factor_stderr", "lambda_1", "lag_mass_total"} <= set(latest)
    assert latest["lambda_1"] == doc["snapshots"][-1]["lambda_1"]
    assert not lstm._forward_hooks  # close() removed the hook
    with pytest.raises(gf.GradflowError, match="closed"):
        mon.step(loss=1.0)


def test_one_sequence_snapshots_in_kept_scratch_match_autograd(tmp_path):
    # one sequence a snapshot takes the lag mass without the split, the gradient norm from its
    # lag parts summed; the Monitor keeps the snapshots' large arrays from one to the next
    lstm, mon, seen = _lstm_loop(tmp_path / "one.json", sequences=1, batch=1, steps=40,
                                 every=10)
    snapshots = json.loads((tmp_path / "one.json").read_text())["snapshots"]
    assert [s["step"] for s in snapshots] == [10, 20, 30, 40]
    for snap in snapshots:
        module, x = seen["at"][snap["step"]]
        assert snap["split_grad_norm"] == pytest.approx(seen["split_norm"][snap["step"] - 1],
                                                        rel=1e-10)
        np.testing.assert_allclose(snap["decay"]["log10_norm2_output"],
                                   output_curve(module, x[0]), rtol=0, atol=1e-9)
        np.testing.assert_allclose(snap["decay"]["log10_norm2_input"],
                                   input_curve(module, x[0]), rtol=0, atol=1e-9)
    assert mon._scratch.nbytes == 0  # closed: the kept arrays are let go


def test_report_draws_a_monitor_history(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    path = tmp_path / "run.json"
    _lstm_loop(path, steps=20, every=5, sequences=2)
    out = tmp_path / "r.pdf"
    r = CliRunner().invoke(main, ["report", "--history", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    reader = pypdf.PdfReader(str(out))
    assert len(reader.pages) >= 1
    text = reader.pages[0].extract_text()
    assert "run" in text and "20" in text


def test_a_crash_mid_run_leaves_a_valid_history(tmp_path):
    path = tmp_path / "crash.json"
    with pytest.raises(RuntimeError, match="the loop broke"):
        _lstm_loop(path, steps=30, every=5, crash_at=17)
    doc = json.loads(path.read_text())
    assert doc["trace"]["step"] == list(range(1, 17))
    assert [s["step"] for s in doc["snapshots"]] == [5, 10, 15]
    assert doc["summary"]["stopped_by"] == "RuntimeError: the loop broke"
    assert "stopped by RuntimeError" in doc["title"]
    # a process killed outright never reaches close(): the last write is a whole document
    torch.manual_seed(0)
    rnn = torch.nn.GRU(2, 3).double()
    killed = tmp_path / "killed.json"
    mon = Monitor(rnn, every=4, history=killed, sequences=1)
    for _ in range(6):
        out, _ = rnn(torch.randn(7, 2, 2, dtype=torch.float64))
        out.sum().backward()
        mon.step(loss=1.0)
    doc = json.loads(killed.read_text())
    assert doc["trace"]["step"] == [1, 2, 3, 4] and doc["summary"]["closed"] is False
    mon.close()


def test_bidirectional_gru_time_first_with_an_initial_state():
    torch.manual_seed(3)
    gru = torch.nn.GRU(2, 3, num_layers=2, bidirectional=True).double()
    x = torch.randn(9, 4, 2, dtype=torch.float64)  # (T, B, d)
    h0 = 0.3 * torch.randn(4, 4, 3, dtype=torch.float64)
    with Monitor(gru, every=1, sequences=4) as mon:
        out, h_n = gru(x, h0)
        (out[-1] ** 2).sum().backward()  # a loss on the last output only
        snap = mon.step(loss=1.0)
    assert not gru._forward_hooks
    expected = []
    for b in range(4):
        jac = torch.autograd.functional.jacobian(
            lambda z, b=b: torch.cat([gru(z[:, None], h0[:, b:b + 1])[1][j, 0]
                                      for j in (2, 3)]), x[:, b])
        expected.append([_log10_norm2(jac[:, 8 - k, :].numpy()) for k in range(9)])
    np.testing.assert_allclose(snap["decay"]["log10_norm2_input"], np.median(expected, axis=0),
                               rtol=0, atol=1e-9)
    suffixes = [f"_l{layer}{rev}" for layer in (0, 1) for rev in ("", "_reverse")]
    once = [getattr(gru, f"{name}{suffix}") for suffix in suffixes
            for name in ("weight_ih", "weight_hh", "bias_ih")]
    # b_r, b_z are sums of the two biases (bias_ih's gradient, counted once), b_h is
    # bias_ih's candidate block and b_hn bias_hh's (reset_after)
    reference = math.sqrt(_torch_norm(once) ** 2
                          + sum(float(torch.sum(getattr(gru, f"bias_hh{suffix}").grad[6:] ** 2))
                                for suffix in suffixes))
    assert snap["split_grad_norm"] == pytest.approx(reference, rel=1e-10)
    assert len(snap["split_weights"]) == 4 and len(snap["lag_mass"]) == 9
    assert mon.latest["step"] == 1.0


def test_a_loss_on_c_n_splits_the_top_layer_from_its_own_direct_gradients():
    torch.manual_seed(5)
    lstm = torch.nn.LSTM(2, 3, num_layers=2).double()
    x = torch.randn(8, 3, 2, dtype=torch.float64)
    with Monitor(lstm, every=1, sequences=3) as mon:
        out, (h_n, c_n) = lstm(x)
        ((out ** 2).sum() + c_n[1].sum() + h_n[1].sum()).backward()
        snap = mon.step(loss=1.0)
    assert snap["split_weights"] == [{"layer": 1, "direction": "forward"}]
    once = [lstm.weight_ih_l1, lstm.weight_hh_l1, lstm.bias_ih_l1]
    assert snap["split_grad_norm"] == pytest.approx(_torch_norm(once), rel=1e-10)


def test_cell_module_called_per_step():
    torch.manual_seed(4)
    cell = torch.nn.LSTMCell(2, 3).double()
    x = torch.randn(10, 2, 2, dtype=torch.float64)  # (T, B, d)

    def unroll(xs):
        h = c = torch.zeros(xs.shape[1], 3, dtype=torch.float64)
        for t in range(xs.shape[0]):
            h, c = cell(xs[t], (h, c))
        return h

    with Monitor(cell, every=2, sequences=2) as mon:
        for _ in range(2):
            unroll(x).sum().backward()
            mon.step(loss=0.5)
    snap = mon.snapshots[-1]
    assert snap["steps"] == 10 and snap["lag_mass"] is None
    expected = []
    for b in range(2):
        jac = torch.autograd.functional.jacobian(lambda z: unroll(z[:, None])[0], x[:, b])
        expected.append([_log10_norm2(jac[:, 9 - k, :].numpy()) for k in range(10)])
    np.testing.assert_allclose(snap["decay"]["log10_norm2_input"], np.median(expected, axis=0),
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"every": 0}, "every must be a positive integer; got 0"),
    ({"sequences": 0}, "sequences must be a positive integer; got 0"),
    ({"every": 2.5}, "every must be a positive integer; got 2.5"),
    ({"threshold": 2.0}, "threshold"),
    ({"config": {"lr": object()}}, "config must hold JSON values"),
])
def test_bad_arguments_are_refused_and_leave_no_hook(kwargs, match):
    lstm = torch.nn.LSTM(2, 3)
    with pytest.raises(gf.GradflowError, match=match):
        Monitor(lstm, **kwargs)
    assert not lstm._forward_hooks


def test_non_recurrent_modules_and_unwritable_histories_are_refused(tmp_path):
    with pytest.raises(gf.GradflowError, match="a Linear is not a recurrent module"):
        Monitor(torch.nn.Linear(2, 3))
    lstm = torch.nn.LSTM(2, 3)
    with pytest.raises(gf.GradflowError, match="does not exist"):
        Monitor(lstm, history=tmp_path / "missing" / "run.json")
    assert not lstm._forward_hooks
    mon = Monitor(lstm)
    with pytest.raises(gf.GradflowError, match="no parameter of the module has a gradient"):
        mon.step(loss=1.0)
    mon.close()
    assert not lstm._forward_hooks
