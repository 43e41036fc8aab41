"""``gf.trajectory``: one validated run that every analysis measures, and the decay serialiser."""

import json

import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis import Trajectory
from gradflow.analysis.flowmap import flow_map
from gradflow.cells.base import Cell

import naive
from conftest import inputs, make


def test_a_trajectory_holds_the_checked_inputs_and_the_naive_states(config):
    model = make(config, hidden=4, inputs=2, seed=1)
    xs = inputs(25, 2, seed=2)
    s0 = np.random.default_rng(3).standard_normal(model.state_size) * 0.5
    run = gf.trajectory(model, xs.tolist(), s0)
    assert isinstance(run, Trajectory) and run.model is model
    assert run.steps == 25 and run.batch is None and run.sequences() == (run,)
    assert run.xs.dtype == np.float64
    np.testing.assert_array_equal(run.xs, xs)
    np.testing.assert_array_equal(run.s0, s0)
    np.testing.assert_allclose(run.states, naive.trajectory(model, xs, s0), rtol=1e-12,
                               atol=1e-13)


def test_a_batch_trajectory_is_every_sequence_run_alone(config):
    model = make(config, hidden=4, inputs=2, seed=1)
    xs = np.stack([inputs(20, 2, seed=s) for s in range(3)])
    run = gf.trajectory(model, xs, threads=2)
    assert run.batch == 3 and run.steps == 20 and run.s0.shape == (3, model.state_size)
    for x, seq in zip(xs, run.sequences(), strict=True):
        assert seq.batch is None
        np.testing.assert_allclose(seq.states, naive.trajectory(model, x), rtol=1e-12,
                                   atol=1e-13)


def test_every_analysis_gives_the_same_on_a_trajectory_as_on_model_and_inputs(config):
    model = make(config, hidden=4, inputs=2, seed=5)
    xs = inputs(40, 2, seed=6)
    s0 = np.full(model.state_size, 0.2)
    run = gf.trajectory(model, xs, s0)
    assert gf.decay(run, effective_bound=True).to_dict() == \
        gf.decay(model, xs, s0, effective_bound=True).to_dict()
    assert flow_map(run, ends=6).to_dict() == flow_map(model, xs, s0, ends=6).to_dict()
    assert gf.spectrum(run).to_dict() == gf.spectrum(model, xs, s0).to_dict()
    assert gf.lyapunov(run, k=2, warmup=3).to_dict() == \
        gf.lyapunov(model, xs, s0, k=2, warmup=3).to_dict()
    assert gf.bounds(run).to_dict() == gf.bounds(model, xs, s0).to_dict()
    np.testing.assert_array_equal(gf.jacobian_norms(run), gf.jacobian_norms(model, xs, s0))


def test_batch_analyses_on_a_trajectory():
    model = gf.LSTM.init(3, 2, seed=0)
    xs = np.stack([inputs(30, 2, seed=s) for s in range(2)])
    run = gf.trajectory(model, xs)
    assert gf.decay(run, threads=1).to_dict() == gf.decay(model, xs, threads=1).to_dict()
    assert gf.bounds(run).to_dict() == gf.bounds(model, xs).to_dict()
    assert gf.jacobian_norms(run).shape == (2, 30)


def test_a_trajectory_with_inputs_again_or_a_batch_where_one_sequence_is_due_is_refused():
    model = gf.RNN.init(3, 2)
    run = gf.trajectory(model, inputs(10, 2))
    with pytest.raises(gf.GradflowError, match="either a Trajectory or a model"):
        gf.decay(run, inputs(10, 2))
    batch = gf.trajectory(model, np.zeros((2, 10, 2)))
    with pytest.raises(gf.GradflowError, match=r"expected \(T, d\)"):
        flow_map(batch)
    # the Lyapunov spectrum takes a batch trajectory: one spectrum per sequence
    assert gf.lyapunov(batch, k=1).batch == 2


def test_trajectory_checks_its_inputs_and_initial_state():
    model = gf.GRU.init(3, 2)
    with pytest.raises(gf.GradflowError, match="last axis must be the model's input width 2"):
        gf.trajectory(model, np.zeros((5, 3)))
    with pytest.raises(gf.GradflowError, match="initial state has shape"):
        gf.trajectory(model, np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(gf.GradflowError, match="non-finite"):
        gf.trajectory(model, np.full((5, 2), np.inf))
    hot = gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu")
    with pytest.raises(gf.TrajectoryOverflowError, match=r"sequence 1 .* at step \d+"):
        gf.trajectory(hot, np.stack([np.zeros((3000, 3)), inputs(3000, 3)]))


def test_the_report_runs_each_model_once(monkeypatch):
    from gradflow.report import data

    calls = []
    original = Cell._trajectory

    def counted(self, xs, s0):
        calls.append(self.describe())
        return original(self, xs, s0)

    monkeypatch.setattr(Cell, "_trajectory", counted)
    entries = [("a", gf.RNN.init(4, 2, seed=0)), ("b", gf.LSTM.init(3, 2, seed=1))]
    reports = data.collect(entries, lambda model: inputs(30, 2), flow_ends=5)
    assert calls == [m.describe() for _, m in entries]
    assert [r.steps for r in reports] == [30, 30]


def _reference_document(r):
    """The decay document built by hand from the result's attributes."""

    def curve(a):
        return [float(v) if np.isfinite(v) else None for v in a]

    doc = {"cell": r.cell, "model": r.model, "steps": len(r.lags) - 1,
           "lags": list(range(len(r.lags))), "log10_norm2": curve(r.log10_norm2)}
    if r.log10_norm2_h is not None:
        doc["log10_norm2_h"] = curve(r.log10_norm2_h)
        doc["log10_norm2_c"] = curve(r.log10_norm2_c)
    doc["log10_norm2_output"] = curve(r.log10_norm2_output)
    if r.log10_norm2_output_c is not None:
        doc["log10_norm2_output_c"] = curve(r.log10_norm2_output_c)
    doc["log10_norm2_input"] = curve(r.log10_norm2_input)
    doc.update(threshold=r.threshold, gradient_horizon=r.gradient_horizon,
               growth_horizon=r.growth_horizon, log10_decay_rate=r.log10_decay_rate,
               decay_factor=r.decay_factor, fit_lags=list(r.fit_lags), bound=r.bound,
               verdict=r.verdict, lambda_1=r.lambda_1 if np.isfinite(r.lambda_1) else None,
               exp_lambda_1=float(np.exp(r.lambda_1)) if np.isfinite(r.lambda_1) else None,
               lambda_1_stderr=r.lambda_1_stderr, warmup=r.fit_lags[0],
               effective_bound=r.effective_bound, interpretation=list(r.interpretation))
    paths = [("full_state", r.full_state)]
    if r.log10_norm2_h is not None:
        paths = [("hidden_path", r.hidden_path), ("cell_path", r.cell_path), *paths]
    for key, path in paths:
        doc[key] = {"gradient_horizon": path.gradient_horizon,
                    "growth_horizon": path.growth_horizon,
                    "log10_decay_rate": path.log10_decay_rate,
                    "decay_factor": path.decay_factor, "fit_lags": list(path.fit_lags),
                    "verdict": path.verdict,
                    "log10_decay_rate_stderr": path.log10_decay_rate_stderr,
                    "decay_factor_stderr": path.decay_factor_stderr,
                    "projected_horizon": path.projected_horizon,
                    "verdict_text": path.verdict_text}
    doc.update(log10_decay_rate_stderr=r.log10_decay_rate_stderr,
               decay_factor_stderr=r.decay_factor_stderr,
               projected_horizon=r.projected_horizon, verdict_text=r.verdict_text)
    return doc


@pytest.mark.parametrize("model", [
    gf.LSTM.init(3, 2, seed=0),
    gf.RNN.init(6, 2, activation="relu", gain=0.2, seed=0),  # exact zeros: nulls
    gf.GRU.init(3, 2, seed=0, variant="reset_after"),
], ids=["lstm", "relu-zeros", "gru"])
def test_the_one_serialiser_gives_strict_json_with_the_documented_keys(model):
    xs = inputs(60, 2, seed=1)
    r = gf.decay(model, xs)
    doc = r.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc == _reference_document(r)
    assert list(doc) == list(_reference_document(r))
    sub = r.to_json("log10_norm2_c", "verdict", "decay_factor")
    assert sub == {k: doc[k] for k in ("log10_norm2_c", "verdict", "decay_factor") if k in doc}


def test_training_snapshots_and_sweep_rows_carry_the_same_figures_as_the_decay_document():
    from gradflow.sweep.point import point_model, point_trajectory
    from gradflow.training.snapshots import _decay_doc

    model = gf.LSTM.init(3, 2, seed=0)
    xs = inputs(40, 2)
    doc = gf.decay(model, xs).to_dict()
    snap = _decay_doc(model, xs)
    assert list(snap) == ["log10_norm2", "log10_norm2_h", "log10_norm2_c", "gradient_horizon",
                          "log10_decay_rate", "decay_factor", "verdict", "lambda_1"]
    assert snap == {k: doc[k] for k in snap}
    point = gf.sweep_point(cell="rnn-tanh", hidden=5, steps=60, warmup=10, k=1)
    row = gf.evaluate_point(point)
    model = point_model(point)
    xs, s0 = point_trajectory(point)
    S = naive.trajectory(model, xs, s0)
    ref = gf.decay(model, xs[10:], S[10], threshold=point.threshold).to_dict()
    for key in ("log10_decay_rate", "decay_factor", "gradient_horizon", "growth_horizon",
                "verdict"):
        expected = ref[key]
        assert row[key] == (expected if not isinstance(expected, float)
                            else pytest.approx(expected, rel=1e-9))
