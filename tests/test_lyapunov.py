"""``gf.lyapunov`` and ``gradflow lyapunov``: exact cases, log-det identity, textbook QR loop."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

import _analysis_refs as refs
from conftest import CONFIG_IDS, CONFIGS, inputs, make


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def linear_tanh_rnn(W):
    """A tanh RNN that, with zero inputs from h = 0, stays at 0 where J_t = W exactly."""
    n = W.shape[0]
    return gf.RNN({"W_h": W, "W_x": np.zeros((n, 1)), "b_h": np.zeros(n)}, activation="tanh")


def test_constant_jacobian_gives_log_abs_eigenvalues():
    rng = np.random.default_rng(1)
    eig = np.array([1.3, -0.9, 0.7, -0.5, 0.3, 0.12, -0.05])
    V = rng.standard_normal((7, 7))
    W = V @ np.diag(eig) @ np.linalg.inv(V)
    model = linear_tanh_rnn(W)
    r = gf.lyapunov(model, np.zeros((700, 1)), warmup=400)
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(W))))[::-1]
    np.testing.assert_allclose(r.exponents, expected, rtol=0, atol=1e-9)
    # lambda_1 + lambda_2 = log 1.3 + log 0.9 > 0 > + log 0.7: D = 2 + 0.157/0.357
    partial = np.log(1.3) + np.log(0.9)
    assert r.kaplan_yorke_dimension == pytest.approx(2 + partial / abs(np.log(0.7)), rel=1e-9)
    # k < m: the leading exponents alone, same values
    top = gf.lyapunov(model, np.zeros((700, 1)), k=3, warmup=400)
    np.testing.assert_allclose(top.exponents, expected[:3], rtol=0, atol=1e-9)


@pytest.mark.parametrize("interval", [1, 3])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_sum_of_the_full_spectrum_is_the_mean_log_det(config, interval):
    model = make(config, hidden=5, inputs=2, seed=4, gain=1.1)
    xs = inputs(60, 2, seed=5)
    Js = refs.jacobians(model, xs)
    r = gf.lyapunov(model, xs, warmup=7, interval=interval)
    assert r.k == model.state_size and r.complete
    log_det = np.linalg.slogdet(Js[7:])[1]
    assert r.sum == pytest.approx(log_det.mean(), rel=1e-9, abs=1e-9)
    assert np.array_equal(r.exponents, np.sort(r.exponents)[::-1])
    if model.cell != "rnn" or model.activation != "relu":  # relu: a dead unit zeroes a row
        assert np.isfinite(r.sum)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_matches_the_textbook_qr_loop(config):
    model = make(config, hidden=4, inputs=2, seed=8, gain=1.4)
    xs = inputs(45, 2, seed=9)
    Js = refs.jacobians(model, xs)
    k = 3
    r = gf.lyapunov(model, xs, k=k, warmup=6, interval=4, seed=11)
    ref = np.sort(refs.benettin(Js, k, warmup=6, interval=4, seed=11))[::-1]
    np.testing.assert_allclose(r.exponents, ref, rtol=1e-10, atol=1e-12)
    assert r.qr_steps.tolist() == [10, 14, 18, 22, 26, 30, 34, 38, 42, 45]


def autonomous(n, gain, steps, *, h0_scale, seed=0):
    model = gf.RNN.init(n, 1, gain=gain, seed=seed, activation="tanh")
    h0 = h0_scale * np.random.default_rng(seed + 1).standard_normal(n)
    return model, np.zeros((steps, 1)), h0


def test_autonomous_tanh_rnn_at_gain_0_6_has_lambda_1_ln_spectral_radius():
    """Zero input: h decays to the fixed point 0, where J = W; lambda_1 = ln rho(W)."""
    model, xs, h0 = autonomous(300, 0.6, 4000, h0_scale=1e-3)
    r = gf.lyapunov(model, xs, h0, k=1, warmup=500)
    rho = np.abs(np.linalg.eigvals(model["W_h"])).max()
    assert abs(r.lambda_1 - math.log(rho)) < 5e-3


def test_autonomous_tanh_rnn_at_gain_2_is_chaotic():
    model, xs, h0 = autonomous(300, 2.0, 1500, h0_scale=1.0)
    r = gf.lyapunov(model, xs, h0, k=1, warmup=300)
    assert r.lambda_1 > 0.05
    assert r.reading.startswith("chaotic")


@pytest.mark.parametrize(
    ("exponents", "complete", "expected"),
    [
        ([1.0, -2.0], True, 1.5),
        ([0.5, 0.2, -1.0], True, 2.7),
        ([-0.1, -2.0], True, 0.0),
        ([1.0, 1.0], True, 2.0),
        ([1.0, 1.0], False, None),
        ([0.3, -np.inf], True, 1.0),
    ],
)
def test_kaplan_yorke_dimension_closed_forms(exponents, complete, expected):
    got = gf.kaplan_yorke_dimension(exponents, complete=complete)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-15)


def test_annihilated_directions_are_minus_infinity_and_null_in_json():
    model = gf.RNN({"W_h": np.eye(3), "W_x": np.zeros((3, 1)), "b_h": -np.ones(3)},
                   activation="relu")
    r = gf.lyapunov(model, np.zeros((5, 1)))
    assert np.all(np.isneginf(r.exponents))
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["exponents"] == [None, None, None] and doc["lambda_1"] is None
    assert doc["kaplan_yorke_dimension"] == 0.0


def test_too_long_an_interval_is_an_error_naming_the_step():
    model = linear_tanh_rnn(2.0 * np.eye(4))  # J_t = 2 I: the product reaches 2^3000
    with pytest.raises(gf.GradflowError, match=r"interval 3000: .* due at step 3000"):
        gf.lyapunov(model, np.zeros((3000, 1)), k=2, interval=3000)
    r = gf.lyapunov(model, np.zeros((3000, 1)), k=2, interval=500)
    np.testing.assert_allclose(r.exponents, [math.log(2)] * 2, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, r"k must be an integer in \[1, 3\]"),
        ({"k": 4}, r"k must be an integer in \[1, 3\]"),
        ({"warmup": 10}, r"warmup must be an integer in \[0, 9\]"),
        ({"interval": 0}, "interval must be an integer >= 1"),
        ({"k": 1.5}, "k must be"),
    ],
)
def test_bad_arguments(kwargs, message):
    model = gf.RNN.init(3, 2)
    with pytest.raises(gf.GradflowError, match=message):
        gf.lyapunov(model, inputs(10, 2), **kwargs)
    with pytest.raises(gf.GradflowError, match="shape"):
        gf.lyapunov(model, np.zeros((10, 3)))


def test_cli_json_and_text(tmp_path):
    path = tmp_path / "gru.npz"
    model = gf.GRU.init(4, 2, seed=2, gain=1.5)
    model.save(path)
    r = invoke("lyapunov", path, "--steps", 80, "--warmup", 10, "--interval", 2, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    xs = np.random.default_rng(0).standard_normal((80, 2))
    ref = np.sort(refs.benettin(refs.jacobians(model, xs), 4, warmup=10, interval=2))[::-1]
    np.testing.assert_allclose(doc["exponents"], ref, rtol=1e-10, atol=1e-12)
    assert doc["k"] == 4 and doc["complete"] and doc["warmup"] == 10 and doc["interval"] == 2
    assert doc["exponents"] == sorted(doc["exponents"], reverse=True)
    assert doc["sum"] == pytest.approx(sum(doc["exponents"]), rel=1e-12)
    text = invoke("lyapunov", path, "--steps", 80, "--k", 2).stdout
    assert "lambda_1 =" in text and "Kaplan-Yorke dimension" in text
    bad = invoke("lyapunov", path, "--k", 9)
    assert bad.exit_code == 1 and "k must be an integer in [1, 4]" in bad.stderr
    np.save(tmp_path / "xb.npy", np.zeros((3, 5, 2)))  # a batch: one spectrum a sequence
    batch = invoke("lyapunov", path, "--inputs", tmp_path / "xb.npy", "--json")
    assert batch.exit_code == 0 and json.loads(batch.stdout)["batch"] == 3


# ---------------------------------------------------------------- statistics and convergence
def diagonal_relu_rnn(exponents):
    """A relu RNN whose pre-activations stay positive: J_t = diag(exp(exponents)) exactly."""
    d = np.exp(np.asarray(exponents, float))
    n = d.size
    return gf.RNN({"W_h": np.diag(d), "W_x": np.zeros((n, 1)), "b_h": np.full(n, 0.5)},
                  activation="relu")


def test_statistics_of_a_known_spectrum_are_their_closed_forms():
    exponents = np.array([0.3, 0.1, -0.05, -0.4, -1.0])
    model = diagonal_relu_rnn(exponents)
    r = gf.lyapunov(model, np.zeros((400, 1)), warmup=100)
    np.testing.assert_allclose(r.exponents, exponents, atol=1e-12)
    assert r.entropy_rate == pytest.approx(0.4, abs=1e-12)
    assert r.positive_fraction == pytest.approx(2 / 5)
    # partial sums 0.3, 0.4, 0.35, -0.05: j = 3, D = 3 + 0.35 / 0.4
    assert r.kaplan_yorke_dimension == pytest.approx(3.875, abs=1e-10)
    assert r.kaplan_yorke_fraction == pytest.approx(3.875 / 5, abs=1e-10)
    # every block sees the same constant Jacobian: no spread, no warning
    for error in (*r.exponents_stderr, r.entropy_rate_stderr, r.kaplan_yorke_dimension_stderr,
                  r.positive_fraction_stderr):
        assert error == pytest.approx(0.0, abs=1e-12)
    assert r.warnings == ()
    doc = r.to_dict()
    assert doc["entropy_rate"] == pytest.approx(0.4, abs=1e-12) and doc["blocks"] == 10
    assert doc["warnings"] == [] and doc["lambda_1_stderr"] == pytest.approx(0.0, abs=1e-12)
    # a cut spectrum still positive at its end cannot tell the entropy or the fraction
    top = gf.lyapunov(model, np.zeros((400, 1)), k=2, warmup=100)
    assert top.entropy_rate is None and top.positive_fraction is None
    assert top.kaplan_yorke_dimension is None and top.to_dict()["entropy_rate"] is None
    three = gf.lyapunov(model, np.zeros((400, 1)), k=3, warmup=100)
    assert three.entropy_rate == pytest.approx(0.4) and three.positive_fraction == 0.4


def test_contracting_linear_spectrum_has_zero_entropy_and_dimension():
    model = diagonal_relu_rnn([-0.1, -0.2, -0.7])
    r = gf.lyapunov(model, np.zeros((300, 1)), warmup=50)
    assert r.entropy_rate == 0.0 and r.positive_fraction == 0.0
    assert r.kaplan_yorke_dimension == 0.0


def test_the_standard_error_matches_the_spread_over_independent_inputs():
    model = gf.RNN.init(16, 2, gain=1.6, seed=3)
    values, errors = [], []
    for seed in range(24):
        xs = np.random.default_rng(100 + seed).standard_normal((1500, 2))
        r = gf.lyapunov(model, xs, k=2, warmup=100)
        values.append(r.lambda_1)
        errors.append(r.lambda_1_stderr)
    spread = np.std(values, ddof=1)
    ratio = np.mean(errors) / spread
    assert 0.5 <= ratio <= 2.0, (np.mean(errors), spread)


def test_a_short_run_warns_in_the_result_the_json_and_on_stderr(tmp_path):
    model = gf.RNN.init(8, 2, gain=1.2, seed=1)
    short = gf.lyapunov(model, inputs(15, 2), warmup=3)
    assert short.lambda_1_stderr is None and short.block_exponents is None
    assert len(short.warnings) == 1 and "too short" in short.warnings[0]
    assert short.to_dict()["warnings"] == list(short.warnings)
    # long enough for blocks, too short for an error well below |lambda_1|
    noisy = gf.lyapunov(gf.RNN.init(8, 2, gain=1.05, seed=1), inputs(60, 2, seed=4), warmup=10)
    assert noisy.lambda_1_stderr is not None
    if noisy.lambda_1_stderr > max(0.1 * abs(noisy.lambda_1), 1e-3):
        assert "has not converged" in noisy.warnings[0]
    path = tmp_path / "w.npz"
    model.save(path)
    r = invoke("lyapunov", path, "--steps", 15, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["warnings"] and "too short" in doc["warnings"][0]
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("warning: ")
    long = invoke("lyapunov", path, "--steps", 2000)
    assert long.exit_code == 0 and long.stderr == ""
    assert "+/-" in long.stdout and "entropy rate" in long.stdout


def test_decay_lyapunov_and_the_report_use_the_same_default_warmup(tmp_path):
    from gradflow.analysis.lyapunov import default_warmup

    model = gf.RNN.init(10, 2, gain=1.3, seed=6)
    path = tmp_path / "w.npz"
    model.save(path)
    ly = json.loads(invoke("lyapunov", path, "--steps", 64, "--k", 1, "--json").stdout)
    de = json.loads(invoke("decay", path, "--steps", 64, "--json").stdout)
    assert ly["warmup"] == de["warmup"] == default_warmup(64) == 16
    assert ly["lambda_1"] == de["lambda_1"]
    assert de["lambda_1_stderr"] == pytest.approx(ly["lambda_1_stderr"], rel=1e-12)
    xs = np.random.default_rng(0).standard_normal((64, 2))
    direct = gf.lyapunov(model, xs, k=1, warmup=16)
    assert direct.lambda_1 == ly["lambda_1"]
    assert gf.decay(model, xs).warmup == 16
