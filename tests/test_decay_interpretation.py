"""``gf.decay`` read out: lambda_1, the bounds, batches with median and bands; the CLI too."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import linregress

import gradflow as gf
from gradflow.analysis.decay_reading import VERDICTS, curve_figures
from gradflow.cli import main

import _analysis_refs as refs
import naive
from conftest import CONFIG_IDS, CONFIGS, inputs, make

#: Keys of the single-sequence document before the interpretation was added.
CORE_KEYS = {"cell", "model", "steps", "lags", "log10_norm2", "threshold", "gradient_horizon",
             "growth_horizon", "log10_decay_rate", "decay_factor", "fit_lags", "bound",
             "verdict"}
NEW_KEYS = {"lambda_1", "exp_lambda_1", "effective_bound", "interpretation"}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_lambda_1_and_effective_bound_match_references(config):
    model = make(config, hidden=5, inputs=2, seed=6, gain=1.2)
    xs = inputs(64, 2, seed=7)
    assert gf.decay(model, xs).effective_bound is None  # opt-in
    r = gf.decay(model, xs, effective_bound=True)
    Js = refs.jacobians(model, xs)
    lam = refs.benettin(Js, 1, warmup=16)[0]
    assert r.fit_lags == (16, 64)
    if math.isfinite(lam):
        assert r.lambda_1 == pytest.approx(lam, rel=1e-10, abs=1e-12)
        assert r.exp_lambda_1 == pytest.approx(math.exp(lam), rel=1e-10)
    else:
        assert r.lambda_1 == lam
    assert r.effective_bound == pytest.approx(np.linalg.norm(Js, 2, axis=(1, 2)).max(),
                                              rel=1e-10)
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert CORE_KEYS | NEW_KEYS <= set(doc)
    assert doc["interpretation"] and all(isinstance(s, str) for s in doc["interpretation"])
    if model.cell == "lstm":
        assert {"log10_norm2_h", "log10_norm2_c", "hidden_path", "cell_path"} <= set(doc)


def test_lstm_path_figures_are_read_from_the_block_curves():
    model = gf.LSTM.init(6, 2, seed=0, forget_bias=1.0)
    xs = inputs(120, 2, seed=1)
    r = gf.decay(model, xs)
    Js = refs.jacobians(model, xs)
    P = np.eye(12)
    cell = [0.0]
    for J in Js[::-1]:
        P = P @ J
        cell.append(np.log10(np.linalg.norm(P[6:, 6:], 2)))
    cell = np.array(cell)
    k = int(np.flatnonzero(cell < -3)[0])
    assert r.cell_path.gradient_horizon == k
    slope = np.polyfit(np.arange(30, 121), cell[30:], 1)[0]
    assert r.cell_path.log10_decay_rate == pytest.approx(slope, rel=1e-8)
    assert any("cell path" in line for line in r.interpretation)


def test_interpretation_reads_the_pascanu_bound():
    small = gf.decay(gf.RNN.init(8, 2, gain=0.3, seed=0), inputs(50, 2))
    assert small.bound < 1
    assert any("< 1: vanishing is guaranteed" in s for s in small.interpretation)
    large = gf.decay(gf.RNN.init(8, 2, gain=2.5, seed=0), inputs(50, 2))
    assert any(">= 1: exploding is possible, not guaranteed" in s for s in large.interpretation)
    gated = gf.decay(gf.GRU.init(4, 2), inputs(20, 2))
    assert not any("Pascanu" in s for s in gated.interpretation)


def test_fitted_factor_approaches_exp_lambda_1_on_long_runs():
    """Two independent estimates of the same rate: backward products and forward QR."""
    model = gf.RNN.init(16, 2, gain=0.9, seed=3)
    r = gf.decay(model, inputs(2000, 2, seed=4))
    assert abs(r.log10_decay_rate - r.lambda_1 / math.log(10)) < 0.01


def batch_inputs(B=4, T=40, d=2):
    return np.stack([inputs(T, d, seed=10 + b) for b in range(B)])


@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[3]], ids=["rnn-tanh", "lstm"])
def output_curve(Js, n):
    """log10 ||(ds_T/ds_{T-k})[:n]||_2 by lag, from a renormalised product of the rows."""
    R = np.eye(Js.shape[1])[:n]
    scale, out = 0.0, [np.log10(np.linalg.norm(R, 2))]
    for J in Js[::-1]:
        R = R @ J
        peak = np.abs(R).max()
        if peak == 0:
            out.extend([-np.inf] * (Js.shape[0] + 1 - len(out)))
            break
        R, scale = R / peak, scale + np.log10(peak)
        out.append(np.log10(np.linalg.norm(R, 2)) + scale)
    return np.array(out)


def test_batch_curves_median_and_bands_match_references(config):
    model = make(config, hidden=4, inputs=2, seed=1, gain=1.1)
    xs = batch_inputs()
    s0 = np.random.default_rng(3).uniform(-0.5, 0.5, (4, model.state_size))
    r = gf.decay(model, xs, s0, quantiles=(0.25, 0.75), effective_bound=True)
    assert isinstance(r, gf.DecayBatchResult) and r.batch == 4
    curves = np.array([naive.renormalised_log10_norms(refs.jacobians(model, x, s))
                       for x, s in zip(xs, s0, strict=True)])
    np.testing.assert_allclose(r.curves, curves, rtol=0, atol=1e-10)
    np.testing.assert_allclose(r.log10_norm2, np.median(curves, axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(r.log10_norm2_quantiles, np.quantile(curves, [0.25, 0.75], axis=0),
                               rtol=0, atol=1e-10)
    assert r.lags.tolist() == list(range(41)) and r.steps == 40
    # the headline reads what the output h_T sees: the h rows of the products
    outputs = [output_curve(refs.jacobians(model, x, s), model.hidden)
               for x, s in zip(xs, s0, strict=True)]
    for seq, curve in zip(r.sequences, outputs, strict=True):
        np.testing.assert_allclose(seq.log10_norm2_output, curve, rtol=0, atol=1e-10)
        below = np.flatnonzero(curve < -3)
        assert seq.gradient_horizon == (int(below[0]) if below.size else None)
    np.testing.assert_allclose(r.log10_norm2_output, np.median(outputs, axis=0), atol=1e-10)
    lambdas = [refs.benettin(refs.jacobians(model, x, s), 1, warmup=10)[0]
               for x, s in zip(xs, s0, strict=True)]
    assert r.lambda_1 == pytest.approx(np.median(lambdas), rel=1e-9)
    norms = [np.linalg.norm(refs.jacobians(model, x, s), 2, axis=(1, 2)).max()
             for x, s in zip(xs, s0, strict=True)]
    assert r.effective_bound == pytest.approx(max(norms), rel=1e-10)
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert CORE_KEYS | NEW_KEYS <= set(doc)
    assert doc["batch"] == 4 and len(doc["sequences"]) == 4
    assert set(doc["log10_norm2_quantiles"]) == {"0.25", "0.75"}
    if model.cell == "lstm":
        assert set(doc["log10_norm2_c_quantiles"]) == {"0.25", "0.75"}
        assert "log10_norm2_c" in doc["sequences"][0]


def test_batch_shares_one_initial_state_and_handles_exact_zeros():
    # relu RNN whose units die for good in sequences with large negative inputs
    model = gf.RNN({"W_h": 0.5 * np.eye(2), "W_x": np.ones((2, 1)), "b_h": np.zeros(2)},
                   activation="relu")
    xs = np.stack([np.full((6, 1), -5.0), np.full((6, 1), 1.0), np.full((6, 1), -5.0)])
    r = gf.decay(model, xs, np.ones(2))
    assert np.isneginf(r.sequences[0].log10_norm2[1:]).all()
    assert np.isfinite(r.sequences[1].log10_norm2).all()
    assert np.isneginf(r.log10_norm2[1:]).all()  # median of (-inf, finite, -inf)
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["log10_norm2"][1:] == [None] * 6
    assert doc["sequences"][1]["log10_norm2"][1] == pytest.approx(math.log10(0.5))


def test_batch_rejects_bad_bands_and_states():
    model = gf.RNN.init(3, 2)
    with pytest.raises(gf.GradflowError, match="quantiles must lie in"):
        gf.decay(model, batch_inputs(2, 5), quantiles=(0.0, 0.5))
    with pytest.raises(gf.GradflowError, match=r"initial state has shape \(3, 3\)"):
        gf.decay(model, batch_inputs(2, 5), np.zeros((3, 3)))


def test_cli_batch_inputs(tmp_path):
    path = tmp_path / "lstm.npz"
    model = gf.LSTM.init(3, 2, seed=2, forget_bias=1.0)
    model.save(path)
    xs = batch_inputs(3, 30)
    np.save(tmp_path / "xb.npy", xs)
    np.save(tmp_path / "h0.npy", np.full((3, 6), 0.1))
    r = invoke("decay", path, "--inputs", tmp_path / "xb.npy", "--h0", tmp_path / "h0.npy",
               "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    curves = np.array([naive.renormalised_log10_norms(refs.jacobians(model, x, np.full(6, 0.1)))
                       for x in xs])
    np.testing.assert_allclose([s["log10_norm2"] for s in doc["sequences"]], curves, atol=1e-10)
    np.testing.assert_allclose(doc["log10_norm2"], np.median(curves, axis=0), atol=1e-10)
    assert doc["batch"] == 3 and set(doc["log10_norm2_quantiles"]) == {"0.1", "0.25", "0.75",
                                                                      "0.9"}
    text = invoke("decay", path, "--inputs", tmp_path / "xb.npy").stdout
    assert "3 sequences" in text and "median log10" in text and "q0.9" in text
    assert "verdict (median curve)" in text and "interpretation:" in text


def test_cli_single_sequence_shows_the_interpretation(tmp_path):
    path = tmp_path / "rnn.npz"
    gf.RNN.init(10, 2, gain=0.4, seed=0).save(path)
    r = invoke("decay", path, "--steps", 60)
    assert r.exit_code == 0, r.output
    assert "interpretation:" in r.stdout and "lambda_1 =" in r.stdout
    assert "vanishing is guaranteed" in r.stdout


# -- honest verdicts: the fitted rate and its standard error, not only a crossing inside T --

def _orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def test_linear_regime_rnn_decaying_at_a_known_factor_reads_vanishing_beyond_T():
    """W_h = a Q with Q orthogonal, inputs so tiny that tanh is linear: ||P_k|| = a^k."""
    a, n, T = 0.9, 8, 64
    model = gf.RNN({"W_h": a * _orthogonal(n, 0), "W_x": np.ones((n, 1)), "b_h": np.zeros(n)},
                   activation="tanh")
    xs = 1e-9 * inputs(T, 1, seed=1)
    r = gf.decay(model, xs)
    np.testing.assert_allclose(r.log10_norm2_output, r.lags * math.log10(a), atol=1e-12)
    assert a**T > 1e-3  # the premise: no crossing within T
    assert r.gradient_horizon is None
    assert r.verdict == "vanishing"
    assert r.decay_factor == pytest.approx(a, rel=1e-10)
    assert r.decay_factor_stderr < 1e-10
    assert r.projected_horizon == math.ceil(-3 / math.log10(a)) == 66
    assert r.verdict_text.startswith("vanishing (0.9000 +/- ")
    assert "below 0.001 after ~66 steps, beyond this T = 64" in r.verdict_text
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["verdict"] == "vanishing" and doc["projected_horizon"] == 66
    assert doc["decay_factor_stderr"] < 1e-10 and doc["verdict_text"] == r.verdict_text
    assert doc["interpretation"][0] == r.verdict_text


def test_digit_like_decay_at_0_88_to_0_92_reads_vanishing_not_stable():
    """A scalar tanh RNN: the per-step factor w (1 - h_t^2) is known from the states."""
    w, T = 0.92, 64
    model = gf.RNN({"W_h": np.array([[w]]), "W_x": np.ones((1, 1)), "b_h": np.zeros(1)},
                   activation="tanh")
    xs = 0.08 * np.random.default_rng(2).uniform(-1, 1, (T, 1))
    h = model.run(xs)[1:, 0]
    factors = w * (1 - h**2)  # |dh_t / dh_(t-1)|, t = 1..T
    assert 0.88 < factors.min() and factors.max() <= 0.92  # the premise
    curve = np.concatenate([[0.0], np.cumsum(np.log10(factors[::-1]))])
    assert curve[-1] > -3  # no crossing within T: the old verdict was "stable"
    r = gf.decay(model, xs)
    np.testing.assert_allclose(r.log10_norm2_output, curve, atol=1e-12)
    fit = linregress(np.arange(16, T + 1), curve[16:])
    assert r.log10_decay_rate == pytest.approx(fit.slope, rel=1e-10)
    assert r.log10_decay_rate_stderr == pytest.approx(fit.stderr, rel=1e-8)
    assert r.decay_factor_stderr == pytest.approx(math.log(10) * 10**fit.slope * fit.stderr,
                                                  rel=1e-8)
    assert r.gradient_horizon is None and r.verdict == "vanishing"
    assert r.projected_horizon == math.ceil((-3 - fit.intercept) / fit.slope) > T
    assert f"beyond this T = {T}" in r.verdict_text


def test_crossing_inside_T_keeps_its_measured_horizon_in_the_text():
    model = gf.RNN({"W_h": 0.5 * np.eye(2), "W_x": np.ones((2, 1)), "b_h": np.zeros(2)},
                   activation="relu")
    r = gf.decay(model, np.ones((30, 1)))  # J = 0.5 I: below 1e-3 at lag 10
    assert r.gradient_horizon == 10 and r.verdict == "vanishing"
    assert r.verdict_text.startswith("vanishing (0.5000 +/- ")
    assert r.verdict_text.endswith(" per step; below 0.001 at lag 10 of T = 30)")
    assert r.decay_factor_stderr < 1e-12


def test_exact_identity_is_stable_and_noise_without_a_trend_is_undetermined():
    T = 64
    lags = np.arange(T + 1)
    flat = curve_figures(np.zeros(T + 1), 1e-3)
    assert flat.verdict == "stable" and flat.projected_horizon is None
    assert flat.decay_factor_stderr == 0.0
    # zero-mean wiggles of 0.5 decades: the slope is within two errors of 0, yet the steepest
    # slope they allow would cross 1e-3 well within 10 T
    noisy = 0.5 * np.cos(2.0 * lags)
    fit = linregress(lags[16:], noisy[16:])
    assert abs(fit.slope) < 2 * fit.stderr and (abs(fit.slope) + 2 * fit.stderr) * 10 * T > 3
    f = curve_figures(noisy, 1e-3)
    assert f.verdict == "undetermined" and f.projected_horizon is None
    assert f.log10_decay_rate_stderr == pytest.approx(fit.stderr, rel=1e-10)
    assert f.verdict_text.startswith("undetermined (")
    # two lags: no fit with an uncertainty
    short = curve_figures(np.array([0.0, -0.1, -0.2]), 1e-3)
    assert short.verdict == "undetermined" and short.log10_decay_rate_stderr is None


def test_every_verdict_is_documented_and_batches_count_them():
    model = gf.RNN.init(6, 2, gain=1.0, seed=0)
    r = gf.decay(model, batch_inputs(5, 40))
    assert r.verdict in VERDICTS
    assert all(s.verdict in VERDICTS for s in r.sequences)
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    for entry in doc["sequences"]:
        assert {"decay_factor_stderr", "projected_horizon", "verdict_text"} <= set(entry)
    counts = {v: sum(s.verdict == v for s in r.sequences) for v in VERDICTS}
    line = r.interpretation[1]
    assert line.startswith("per sequence (5): ")
    for v, c in counts.items():
        assert (f"{c} {v}" in line) == (c > 0)


def test_an_exact_fits_error_reads_the_same_whether_it_rounds_to_zero_or_not():
    from gradflow.analysis.decay_reading import _plus_minus

    assert _plus_minus(0.5, 0.0) == "0.5000 +/- 0"
    assert _plus_minus(0.5, 1e-17) == "0.5000 +/- 1e-17"
    assert _plus_minus(0.9, 0.01) == "0.90 +/- 0.01"
    assert _plus_minus(2.0, math.inf) == "2 +/- (beyond float64 range)"
    assert "+/- 0" not in _plus_minus(2.0, math.nan)
