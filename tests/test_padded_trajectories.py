"""Padded batches in the trajectory analyses: spectrum and bounds over each sequence's steps."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

LENGTHS = np.array([7, 12, 4])


def _padded(d=3, seed=0, pad=50.0):
    """Three sequences of 12 steps; past each one's length, padding no real input resembles."""
    xs = np.random.default_rng(seed).standard_normal((3, 12, d))
    for b, length in enumerate(LENGTHS):
        xs[b, length:] = pad
    return xs


@pytest.mark.parametrize("model", [gf.LSTM.init(5, 3, seed=1), gf.GRU.init(4, 3, seed=2),
                                   gf.RNN.init(4, 3, seed=3, activation="relu", gain=1.5)],
                         ids=["lstm", "gru", "rnn-relu"])
def test_each_sequences_norms_and_derivatives_are_its_unpadded_runs(model):
    xs = _padded()
    norms = gf.jacobian_norms(model, xs, lengths=LENGTHS)
    for b, length in enumerate(LENGTHS):  # against the sequence alone, the padding cut off
        np.testing.assert_allclose(norms[b], gf.jacobian_norms(model, xs[b, :length]),
                                   rtol=1e-13)
    alone = [gf.jacobian_norms(model, xs[b, :L]) for b, L in enumerate(LENGTHS)]
    result = gf.spectrum(model, xs, lengths=LENGTHS)
    assert result.effective_bound == max(float(a.max()) for a in alone)
    trajectory = result.to_dict()["trajectory"]
    assert trajectory["lengths"] == LENGTHS.tolist() and trajectory["batch"] == 3
    flat = np.concatenate(alone)
    assert trajectory["jacobian_norm2_mean"] == pytest.approx(flat.mean(), rel=1e-13)
    b = int(np.argmax([a.max() for a in alone]))
    assert (trajectory["argmax_sequence"], trajectory["argmax_step"]) == (
        b, int(np.argmax(alone[b])) + 1)
    padded = gf.bounds(model, xs, lengths=LENGTHS)
    each = [gf.bounds(model, xs[b, :L]) for b, L in enumerate(LENGTHS)]
    for name, gate in padded.gates.items():  # the mean over every valid step of every sequence
        want = sum(L * e.gates[name].mean for L, e in zip(LENGTHS, each, strict=True))
        want /= LENGTHS.sum()
        assert gate.mean == pytest.approx(want, rel=1e-12)


def test_the_padding_never_runs(tmp_path):
    # padding of 1e308 would overflow any state it entered
    model = gf.RNN.init(4, 3, seed=3, activation="relu", gain=1.5)
    xs = _padded(pad=1e308)
    with pytest.raises(gf.TrajectoryOverflowError):
        gf.spectrum(model, xs)
    assert np.isfinite(gf.spectrum(model, xs, lengths=LENGTHS).effective_bound)
    run = gf.trajectory(model, xs, lengths=LENGTHS)
    assert [s.steps for s in run.sequences()] == LENGTHS.tolist()
    assert not run.states[2, LENGTHS[2] + 1:].any()  # never computed


def test_the_commands_take_lengths(tmp_path):
    model = gf.LSTM.init(5, 3, seed=1)
    model.save(tmp_path / "w.npz")
    np.save(tmp_path / "xb.npy", _padded())
    np.save(tmp_path / "L.npy", LENGTHS)
    args = [str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "xb.npy"), "--lengths",
            str(tmp_path / "L.npy"), "--json"]
    r = CliRunner().invoke(main, ["spectrum", *args])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["trajectory"]["lengths"] == LENGTHS.tolist()
    assert doc["effective_bound"] == gf.spectrum(model, _padded(), lengths=LENGTHS).effective_bound
    r = CliRunner().invoke(main, ["bounds", *args])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["models"][0]["lengths_file"] == str(tmp_path / "L.npy")
    r = CliRunner().invoke(main, ["bounds", "--lengths", str(tmp_path / "L.npy")])
    assert r.exit_code == 2 and "need a weights file" in r.stderr


def test_a_padded_trajectory_gives_the_padded_decay():
    model, xs = gf.LSTM.init(5, 3, seed=1), _padded()
    via_run = gf.decay(gf.trajectory(model, xs, lengths=LENGTHS))
    direct = gf.decay(model, xs, lengths=LENGTHS)
    for a, b in zip(via_run.sequences, direct.sequences, strict=True):
        np.testing.assert_array_equal(a.log10_norm2_output, b.log10_norm2_output)
    assert via_run.lengths.tolist() == LENGTHS.tolist()
    # a padded trajectory's spectra are each sequence's over its own steps, not the padding's
    spectra = gf.lyapunov(gf.trajectory(model, xs, lengths=LENGTHS), k=3, warmup=2)
    for got, x, length in zip(spectra.sequences, xs, LENGTHS, strict=True):
        alone = gf.lyapunov(model, x[:length], k=3, warmup=2)
        np.testing.assert_array_equal(got.exponents, alone.exponents)
