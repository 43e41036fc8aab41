"""The seed notes' claims: verdicts follow from the figures, runs repeat, figures match theory."""

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from gradflow.claims import ORDER, RULES, STATEMENTS, VERDICTS, ClaimsConfig, claims, verdict
from gradflow.claims.training_evidence import sign_test
from gradflow.cli import main

#: The ids the claims must cover at least.
REQUIRED = {
    "sigmoid_derivative_max", "tanh_derivative_max", "vanishing_small_w", "exploding_large_w",
    "relu_alleviates_vanishing", "relu_dead_units", "relu_explodes_large_w",
    "clipping_bounds_the_step", "gated_cells_additive_path",
    "parameters_independent_of_length", "gru_fewer_parameters", "gru_converges_faster",
    "lstm_more_expressive_on_large_data",
}

#: A tiny configuration: every code path, in a couple of seconds.
TINY = ClaimsConfig(hidden=6, inputs=3, steps=40, gains=(0.5, 1.0, 2.0, 4.0),
                    clip_length=8, clip_hidden=4, clip_steps=12, dead_steps=6,
                    compare_length=6, compare_hidden=4, compare_steps=20,
                    compare_seeds=(0, 1), lengths=(3, 9))


@pytest.fixture(scope="module")
def default():
    return claims()


@pytest.fixture(scope="module")
def tiny():
    return claims(TINY)


# ------------------------------------------------------------------ the rules, both ways
def _run(factor, **extra):
    return {"decay_factor": factor, "gradient_horizon": None, "verdict": "", "bound": None,
            "model": "", **extra}


def test_every_claim_has_a_statement_and_a_rule():
    assert set(ORDER) == set(STATEMENTS) == set(RULES)
    assert REQUIRED <= set(ORDER)


@pytest.mark.parametrize("factors, expected", [
    ({"RNN-sigmoid": 1.05, "RNN-tanh": 1.12}, "holds"),
    ({"RNN-sigmoid": 0.9, "RNN-tanh": 1.12}, "holds-with-conditions"),
    ({"RNN-sigmoid": 0.9, "RNN-tanh": 0.99}, "does-not-hold"),
    ({"RNN-sigmoid": 1.0, "RNN-tanh": 1.0}, "does-not-hold"),
    ({"RNN-sigmoid": None, "RNN-tanh": 2.0}, "holds"),  # beyond float64: grows
])
def test_exploding_holds_only_with_a_factor_above_one(factors, expected):
    m = {"gamma_sigma_max": 2.0, "decay_factor": factors["RNN-tanh"],
         "models": {k: _run(v, crossing_gain=None) for k, v in factors.items()}}
    assert verdict("exploding_large_w", m)[0] == expected


@pytest.mark.parametrize("factors, expected", [
    ({"RNN-sigmoid": 0.12, "RNN-tanh": 0.45}, "holds"),
    ({"RNN-sigmoid": 0.12, "RNN-tanh": 1.0}, "does-not-hold"),
    ({"RNN-sigmoid": None, "RNN-tanh": 0.45}, "does-not-hold"),
])
def test_vanishing_holds_only_with_every_factor_below_one(factors, expected):
    m = {"sigma_max": 0.5, "models": {k: _run(v) for k, v in factors.items()}}
    assert verdict("vanishing_small_w", m)[0] == expected


@pytest.mark.parametrize("high, low, on_run, expected", [
    (0.25, 3e-4, 0.2499, "holds"),
    (0.25 * (1 + 1e-9), 3e-4, 0.2, "does-not-hold"),
    (0.25, -1e-3, 0.2, "does-not-hold"),
    (0.25, 0.0, 0.26, "does-not-hold"),
    (0.2, 0.0, 0.2, "holds-with-conditions"),
])
def test_derivative_range_rule(high, low, on_run, expected):
    m = {"max_derivative": high, "min_derivative": low, "at_z": 0.0, "claimed_max": 0.25,
         "max_on_run": on_run}
    assert verdict("sigmoid_derivative_max", m)[0] == expected


@pytest.mark.parametrize("tanh, ortho, ident, expected", [
    (0.82, 0.9, 1.0, "holds"),
    (0.82, 0.65, 1.0, "holds-with-conditions"),
    (0.82, 0.65, 0.8, "does-not-hold"),
])
def test_relu_alleviates_rule(tanh, ortho, ident, expected):
    m = {"tanh_orthogonal": _run(tanh), "relu_orthogonal": _run(ortho),
         "relu_identity": _run(ident)}
    assert verdict("relu_alleviates_vanishing", m)[0] == expected


@pytest.mark.parametrize("zero, large, small, expected", [
    (0.5, 20.0, 2.0, "holds"),
    (0.5, 2.0, 2.0, "holds-with-conditions"),
    (0.5, 0.0, 0.0, "holds-with-conditions"),
    (0.0, 0.0, 0.0, "does-not-hold"),
])
def test_dead_units_rule(zero, large, small, expected):
    m = {"zero_derivative_fraction": zero, "dead_after_large_lr": large,
         "dead_after_small_lr": small, "seeds": 3, "large_lr": 0.1, "small_lr": 0.001,
         "hidden": 32}
    assert verdict("relu_dead_units", m)[0] == expected


@pytest.mark.parametrize("factor, expected", [(1.08, "holds"), (None, "holds"),
                                              (0.99, "does-not-hold")])
def test_relu_explodes_rule(factor, expected):
    assert verdict("relu_explodes_large_w", {"decay_factor": factor, "sigma_max": 2.0})[0] \
        == expected


def _clip_run(final, max_loss, step, diverged=False):
    return {"diverged": diverged, "first_loss": 1.0, "max_loss": max_loss, "final_loss": final,
            "max_grad_norm": 1e9, "max_step_norm": step}


@pytest.mark.parametrize("unclipped, clipped, expected", [
    (_clip_run(1e290, 1e290, 1e146), _clip_run(0.18, 2.0, 1.0), "holds"),
    (_clip_run(None, None, None, diverged=True), _clip_run(0.18, 2.0, 1.0), "holds"),
    (_clip_run(0.2, 3.0, 10.0), _clip_run(0.18, 2.0, 1.0), "holds-with-conditions"),
    (_clip_run(1e290, 1e290, 1e146), _clip_run(0.18, 2.0, 1.5), "does-not-hold"),
    (_clip_run(1e290, 1e290, 1e146), _clip_run(None, None, 1.0, diverged=True),
     "does-not-hold"),
])
def test_clipping_rule(unclipped, clipped, expected):
    m = {"threshold": 1.0, "unclipped": unclipped, "clipped": clipped}
    assert verdict("clipping_bounds_the_step", m)[0] == expected


@pytest.mark.parametrize("lstm, gru, biased, expected", [
    (0.93, 0.9, 0.95, "holds"),
    (0.93, 0.72, 0.93, "holds-with-conditions"),
    (0.8, 0.72, 0.81, "does-not-hold"),
])
def test_gated_rule(lstm, gru, biased, expected):
    m = {"rnn_tanh": _run(0.82), "lstm": {"cell_path": {"decay_factor": lstm}},
         "gru": _run(gru, update_gate_mean=0.5),
         "gru_update_bias": _run(biased, b_z=2.0)}
    assert verdict("gated_cells_additive_path", m)[0] == expected


@pytest.mark.parametrize("change, expected", [(0, "holds"), (4, "does-not-hold")])
def test_parameters_length_rule(change, expected):
    m = {"parameters_change": change, "lengths": [10, 100]}
    assert verdict("parameters_independent_of_length", m)[0] == expected


@pytest.mark.parametrize("gru, expected", [(3552, "holds"), (4736, "does-not-hold")])
def test_gru_fewer_rule(gru, expected):
    m = {"counts": {"LSTM": 4736, "GRU": gru}, "hidden": 32, "inputs": 4}
    assert verdict("gru_fewer_parameters", m)[0] == expected


@pytest.mark.parametrize("g, l_, ties, expected", [
    (5, 0, 0, "holds"), (4, 1, 0, "does-not-hold"), (3, 0, 2, "does-not-hold"),
    (0, 5, 0, "does-not-hold"),
])
def test_gru_faster_rule_reads_the_sign_test(g, l_, ties, expected):
    m = {"gru_faster_seeds": g, "lstm_faster_seeds": l_, "ties": ties, "target_loss": 0.08,
         "sign_test_p_gru": sign_test(g, g + l_), "sign_test_p_lstm": sign_test(l_, g + l_)}
    assert verdict("gru_converges_faster", m)[0] == expected


@pytest.mark.parametrize("wins, trials", [(5, 5), (4, 5), (3, 7), (0, 4), (6, 10)])
def test_sign_test_is_the_binomial_tail(wins, trials):
    expected = binomtest(wins, trials, 0.5, alternative="greater").pvalue
    assert sign_test(wins, trials) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ the measured claims
def test_verdicts_are_the_rules_of_the_measured_figures(default):
    for claim in default.claims:
        assert claim.verdict in VERDICTS
        assert (claim.verdict, claim.reason) == verdict(claim.id, copy.deepcopy(claim.measured))


def test_claims_are_deterministic(tiny):
    again = claims(TINY)
    assert json.dumps(again.to_dict(), allow_nan=False) == \
        json.dumps(tiny.to_dict(), allow_nan=False)


def test_derivative_maxima_are_the_closed_forms(default):
    sig, tanh = default["sigmoid_derivative_max"].measured, \
        default["tanh_derivative_max"].measured
    assert sig["max_derivative"] == pytest.approx(0.25, abs=1e-15) and sig["at_z"] == 0.0
    assert tanh["max_derivative"] == pytest.approx(1.0, abs=1e-15) and tanh["at_z"] == 0.0
    R = default.evidence.config.derivative_range
    assert sig["min_derivative"] == pytest.approx(math.exp(-R) / (1 + math.exp(-R)) ** 2,
                                                  rel=1e-12)
    assert tanh["min_derivative"] == pytest.approx(1 / math.cosh(R) ** 2, rel=1e-12)
    assert 0 < sig["max_on_run"] <= 0.25 and 0 < tanh["max_on_run"] <= 1.0


@pytest.mark.parametrize("config", [ClaimsConfig(), TINY], ids=["default", "tiny"])
def test_parameter_counts_are_the_textbook_formulas(config, default, tiny):
    result = default if config == ClaimsConfig() else tiny
    n, d = config.hidden, config.inputs
    base = n * n + n * d + n
    expected = {"RNN-tanh": base, "RNN-sigmoid": base, "RNN-relu": base, "LSTM": 4 * base,
                "GRU": 3 * base, "GRU-reset_after": 3 * base + n}
    m = result["parameters_independent_of_length"].measured
    assert m["parameters_change"] == 0
    for kind, count in expected.items():
        assert m["counts"][kind] == [count] * len(config.lengths)
    fewer = result["gru_fewer_parameters"].measured
    assert fewer["ratio"] == pytest.approx(0.75, abs=1e-15)


def test_scaled_weights_have_the_stated_sigma_max(default):
    small = default["vanishing_small_w"].measured["models"]
    assert all(r["sigma_max"] == pytest.approx(0.5, rel=1e-12) for r in small.values())
    large = default["exploding_large_w"].measured["models"]
    assert large["RNN-sigmoid"]["sigma_max"] == pytest.approx(8.0, rel=1e-12)
    assert large["RNN-tanh"]["sigma_max"] == pytest.approx(2.0, rel=1e-12)
    assert large["RNN-tanh"]["bound"] == pytest.approx(2.0, rel=1e-12)


def test_irnn_products_are_zero_or_one(default):
    """W_h = I with relu: J_t = diag(1[a_t > 0]), so every product's norm is 0 or 1."""
    ev = default.evidence
    run = ev.runs["IRNN"]
    curve = run.decay.log10_norm2
    one = np.abs(curve) < 1e-12
    assert np.all(one | np.isneginf(curve))
    mask = np.ones(run.model.hidden, dtype=bool)
    xs = ev_inputs(ev)
    S = run.model.run(xs)
    active = (S[1:] > 0)  # a > 0 exactly where h > 0 for relu
    for k in range(1, xs.shape[0] + 1):
        mask &= active[-k]
        assert bool(one[k]) == bool(mask.any())


def ev_inputs(ev):
    return np.random.default_rng(ev.config.seed).standard_normal((ev.config.steps,
                                                                   ev.config.inputs))


def test_clipped_twin_steps_with_at_most_c(default):
    pair = default.evidence.clipping
    norms = np.array(pair.clipped["trace"]["grad_norm"], dtype=float)
    clipped = np.array(pair.clipped["trace"]["clipped"])
    assert np.array_equal(clipped, norms > pair.threshold)
    assert default["clipping_bounds_the_step"].measured["clipped"]["max_step_norm"] <= 1.0


def test_the_json_is_one_document_and_repeats(default):
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "gradflow", "claims", "--json"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert list(doc) == ["claims"]
    assert [c["id"] for c in doc["claims"]] == list(ORDER)
    for entry in doc["claims"]:
        assert {"id", "statement", "measured", "verdict"} <= set(entry)
        assert entry["verdict"] in VERDICTS
    assert doc == json.loads(json.dumps(default.to_dict(), allow_nan=False))
    measured = {c["id"]: c["measured"] for c in doc["claims"]}
    assert "max_derivative" in measured["sigmoid_derivative_max"]
    assert "decay_factor" in measured["exploding_large_w"]
    assert measured["parameters_independent_of_length"]["parameters_change"] == 0


def test_text_table_and_help(monkeypatch, default):
    import gradflow.claims

    monkeypatch.setattr(gradflow.claims, "claims", lambda **kw: default)
    result = CliRunner().invoke(main, ["claims", "-q"])
    assert result.exit_code == 0
    for claim in default.claims:
        assert f"{claim.id}  [{claim.verdict}]" in result.stdout
    help_text = CliRunner().invoke(main, ["claims", "--help"]).output
    assert "--json" in help_text and "holds-with-conditions" in help_text


# ------------------------------------------------------------------ the report's claims pages
def _pdf_text(path):
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def test_claims_pages_open_the_report(tmp_path, tiny):
    from gradflow.report.build import write_report

    out = tmp_path / "claims.pdf"
    assert write_report([], out, "claims only", claims=tiny) == 6
    pages = _pdf_text(out)
    assert "The seed notes' claims, measured" in pages[0]
    flat = pages[0].replace("\n", " ")
    for claim in tiny.claims:
        assert claim.verdict in flat
    for title in ("Vanishing and exploding", "Remedy 1, relu", "Remedy 2, clipping",
                  "Remedy 3, the additive path", "Shared parameters"):
        assert any(title in p for p in pages[1:]), title


@pytest.mark.parametrize("ordered", [True, False], ids=["page-order", "drawn-in-order"])
def test_claims_still_measuring_open_the_report_all_the_same(tmp_path, tiny, monkeypatch,
                                                            ordered):
    """Claims given as a callable (measuring elsewhere) make the same pages in the same order.

    The models' pages are drawn first and the claims' moved to the front of the page tree;
    where the page order cannot be reached the claims are waited for and drawn first.  Two
    plain pages stand in for the models' (the default report's own test draws the real ones).
    """
    from types import SimpleNamespace

    from matplotlib.figure import Figure

    import gradflow.report.build as build
    import gradflow.report.pages as pages

    def model_pages(reports, context):
        for k in (1, 2):
            fig = Figure()
            fig.text(0.5, 0.5, f"model page {k}")
            yield fig

    monkeypatch.setattr(pages, "pdf_pages", model_pages)
    models = [SimpleNamespace(label="a model")]
    given = tmp_path / "given.pdf"
    build.write_report(models, given, "ctx", claims=tiny)
    if not ordered:
        monkeypatch.setattr(build, "_page_order", lambda pdf: None)
    calls = []
    pending = tmp_path / "pending.pdf"
    count = build.write_report(models, pending, "ctx",
                               claims=lambda: calls.append(1) or tiny)
    assert calls == [1]
    first, second = _pdf_text(given), _pdf_text(pending)
    assert count == len(first) == len(second) == 8
    assert second == first
    assert "The seed notes' claims, measured" in second[0]
    assert ["model page 1" in p for p in second[6:]] == [True, False]
    assert "model page 2" in second[7]


@pytest.mark.slow
def test_default_report_opens_with_the_claims(tmp_path):
    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(main, ["report", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    pages = _pdf_text(out)
    assert "The seed notes' claims, measured" in pages[0]
    assert "RNN-sigmoid" in pages[6]  # the summary of the default models follows the claims


@pytest.mark.parametrize("settings, message", [
    ({"hidden": 0}, "hidden must be a positive integer; got 0"),
    ({"dead_lrs": (0.1,)}, "dead_lrs must be a (large, small) pair"),
    ({"clip_threshold": -1.0}, "clip_threshold must be > 0"),
    ({"compare_seeds": ()}, "compare_seeds must be at least 1 value"),
])
def test_a_bad_configuration_is_a_named_error(settings, message):
    from gradflow.errors import GradflowError

    with pytest.raises(GradflowError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ClaimsConfig(**settings)
