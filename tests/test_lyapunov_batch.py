"""Lyapunov spectra of batches and padded batches, against the textbook QR loop per sequence."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

import _analysis_refs as refs
from conftest import CONFIG_IDS, CONFIGS, make

LENGTHS = np.array([40, 17, 29])


def padded_batch(d, seed=0, pad=1e308):
    """Three sequences of 40 steps; past each valid length the inputs are ``pad``."""
    xs = np.random.default_rng(seed).standard_normal((LENGTHS.size, LENGTHS.max(), d))
    for b, length in enumerate(LENGTHS):
        xs[b, length:] = pad
    return xs


def reference(model, xs, k, warmup, interval=1):
    """Each sequence's spectrum (sorted) by the textbook loop on its own valid steps."""
    return [np.sort(refs.benettin(refs.jacobians(model, x[:L]), k, warmup=w,
                                  interval=interval))[::-1]
            for x, L, w in zip(xs, LENGTHS, warmup, strict=True)]


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_each_sequence_over_its_own_steps(config):
    model = make(config, hidden=4, inputs=2, seed=3)
    xs = padded_batch(2)
    k = model.state_size
    result = gf.lyapunov(model, xs, k=k, warmup=None, lengths=LENGTHS)
    assert isinstance(result, gf.LyapunovBatchResult) and result.batch == 3
    warmups = [max(1, L // 4) for L in LENGTHS]  # each sequence's first quarter
    assert list(result.warmups) == warmups and list(result.steps) == list(LENGTHS)
    expected = reference(model, xs, k, warmups)
    for got, want in zip(result.exponents_by_sequence, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    # the batch figures are the plain statistics of the sequences' spectra
    ordered = np.sort(np.array(expected), axis=0)  # per exponent, over the 3 sequences
    np.testing.assert_allclose(result.exponents, ordered[1], rtol=1e-9, atol=1e-11)
    # quartiles of three values: halfway between the first two and between the last two
    lower, upper = result.exponents_quartiles
    np.testing.assert_allclose(lower, halfway(ordered[0], ordered[1]), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(upper, halfway(ordered[1], ordered[2]), rtol=1e-9, atol=1e-11)
    lam = np.array(expected)[:, 0]
    if np.all(np.isfinite(lam)):
        assert result.lambda_1_mean == pytest.approx(lam.mean(), rel=1e-9, abs=1e-11)
        assert result.lambda_1_stderr == pytest.approx(lam.std(ddof=1) / np.sqrt(3), rel=1e-6)
    else:
        assert result.lambda_1_stderr is None


def halfway(a, b):
    """Elementwise midpoints, -inf where either end is (a direction annihilated)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(a) | np.isneginf(b), -np.inf, (a + b) / 2)


def test_the_padding_is_never_run():
    model = gf.RNN.init(5, 2, activation="relu", seed=1)
    with pytest.raises(gf.TrajectoryOverflowError):  # without lengths the padding is run
        gf.lyapunov(model, padded_batch(2), k=2)
    alone = [gf.lyapunov(model, x[:L], k=2, warmup=3).exponents
             for x, L in zip(padded_batch(2), LENGTHS, strict=True)]
    batch = gf.lyapunov(model, padded_batch(2), k=2, warmup=3, lengths=LENGTHS)
    np.testing.assert_array_equal(batch.exponents_by_sequence, np.array(alone))


def test_warmup_forms():
    model = gf.GRU.init(4, 2, seed=0)
    xs = np.random.default_rng(0).standard_normal((2, 30, 2))
    assert list(gf.lyapunov(model, xs, warmup=5).warmups) == [5, 5]
    assert list(gf.lyapunov(model, xs, warmup=[2, 9]).warmups) == [2, 9]
    assert list(gf.lyapunov(model, xs, warmup=None).warmups) == [7, 7]
    with pytest.raises(gf.GradflowError, match=r"warmup has 3 entries; expected one per"):
        gf.lyapunov(model, xs, warmup=[1, 2, 3])
    with pytest.raises(gf.GradflowError, match=r"\[0, 16\] \(fewer than the shortest"):
        gf.lyapunov(model, padded_batch(2), warmup=20, lengths=LENGTHS)
    with pytest.raises(gf.GradflowError, match="apply to a batch"):
        gf.lyapunov(model, xs[0], lengths=[30])


def test_a_failing_sequence_is_named():
    # zero states, so the step Jacobians are 1.7e308 Q: finite, but J_t Q overflows
    Q = np.linalg.qr(np.random.default_rng(2).standard_normal((4, 4)))[0]
    model = gf.RNN({"W_h": 1.7e308 * Q, "W_x": np.zeros((4, 1)), "b_h": np.zeros(4)})
    with pytest.raises(gf.GradflowError, match=r"left the float64 range.*\(sequence 0 of the "
                                               r"batch\)$"):
        gf.lyapunov(model, np.zeros((2, 5, 1)), lengths=[3, 2])


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_batch_json_and_text(tmp_path):
    model = make(CONFIGS[3], hidden=4, inputs=2, seed=5)  # LSTM
    model.save(tmp_path / "w.npz")
    xs = padded_batch(2, pad=0.0)
    np.save(tmp_path / "x.npy", xs)
    np.save(tmp_path / "L.npy", LENGTHS)
    args = ("lyapunov", tmp_path / "w.npz", "--inputs", tmp_path / "x.npy", "--lengths",
            tmp_path / "L.npy", "--batch-first", "--k", 3)
    r = invoke(*args, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    warmups = [max(1, L // 4) for L in LENGTHS]
    expected = np.array(reference(model, xs, 3, warmups))
    assert doc["batch"] == 3 and doc["lengths"] == list(LENGTHS) and doc["warmup"] == warmups
    assert len(doc["sequences"]) == 3 and doc["sequences"][1]["steps"] == 17
    np.testing.assert_allclose(doc["exponents"], np.median(expected, axis=0), rtol=1e-9)
    assert doc["exponents"] == sorted(doc["exponents"], reverse=True)
    assert doc["lambda_1"] == pytest.approx(float(np.median(expected[:, 0])), rel=1e-9)
    text = invoke(*args)
    assert text.exit_code == 0
    assert "Lyapunov spectra of 3 sequences, 17..40 steps" in text.stdout
    assert "--per-sequence lists every sequence" in text.stdout
    lines = invoke(*args, "--per-sequence").stdout.splitlines()
    rows = [line.split() for line in lines if line.split()[:2] in (["0", "40"], ["1", "17"],
                                                                   ["2", "29"])]
    assert len(rows) == 3
    for row, want in zip(rows, expected[:, 0], strict=True):
        assert float(row[2]) == pytest.approx(want, rel=1e-5)


def test_plots_of_a_batch():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gradflow import plot

    model = gf.RNN.init(6, 2, activation="relu", seed=4)
    result = gf.lyapunov(model, padded_batch(2), warmup=None, lengths=LENGTHS)
    fig, (left, right) = plt.subplots(1, 2)
    assert plot.plot_lyapunov(result, ax=left) is left
    (median,) = left.lines[:1]
    shown = np.isfinite(result.exponents) & (result.exponents >= -6.0)
    np.testing.assert_array_equal(median.get_ydata(), result.exponents[shown])
    assert len(left.collections) == 1  # the interquartile band
    assert "median of 3" in median.get_label()
    assert plot.plot_lyapunov_convergence(result, ax=right) is right
    curves = [line for line in right.lines if np.size(line.get_xdata()) > 2]
    assert len(curves) == 3 and len({line.get_color() for line in curves}) == 1
    np.testing.assert_array_equal(curves[1].get_xdata(), result.sequences[1].qr_steps)
    assert sum(not line.get_label().startswith("_") for line in curves) == 1  # one legend entry
    plt.close(fig)


def test_decay_and_lyapunov_agree_on_a_padded_batch_by_default():
    model = gf.GRU.init(8, 3, seed=0, gain=1.3)
    xs = np.random.default_rng(0).standard_normal((4, 80, 3))
    lengths = np.array([80, 50, 64, 33])
    decay = gf.decay(model, xs, lengths=lengths)
    spectra = gf.lyapunov(model, xs, k=1, warmup=None, lengths=lengths)
    assert list(spectra.warmups) == [r.fit_lags[0] for r in decay.sequences]
    np.testing.assert_allclose(spectra.lambda_1_by_sequence,
                               [r.lambda_1 for r in decay.sequences], rtol=1e-12)
