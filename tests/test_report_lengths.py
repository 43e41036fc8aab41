"""`gradflow report --lengths`: a padded batch's decay over each sequence's own steps."""

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.report import data

LENGTHS = np.array([9, 14, 5])


def _padded(d, seed=0):
    """Three sequences of 14 steps; past each one's length, padding far from any real input."""
    xs = np.random.default_rng(seed).standard_normal((3, 14, d))
    for b, length in enumerate(LENGTHS):
        xs[b, length:] = 1e3
    return xs


@pytest.mark.parametrize("make", [lambda: gf.LSTM.init(5, 3, seed=1),
                                  lambda: gf.Network([(gf.GRU.init(4, 3, seed=2),
                                                       gf.GRU.init(4, 3, seed=3))])],
                         ids=["lstm", "bidirectional-gru"])
def test_each_sequence_of_the_report_is_its_own_unpadded_run(make):
    model, xs = make(), _padded(3)
    report = data.collect([("m", model, xs, LENGTHS)])[0]
    for b, length in enumerate(LENGTHS):  # against the sequence alone, padding cut off
        alone = gf.decay(model, xs[b, :length])
        got = report.decay.sequences[b].log10_norm2_output
        np.testing.assert_allclose(got, alone.log10_norm2_output, rtol=0, atol=1e-12)
    assert report.batch == 3 and report.steps == 14


def test_the_pages_of_a_cell_read_the_first_sequence_over_its_own_steps():
    model, xs = gf.RNN.init(4, 3, seed=0), _padded(3)
    report = data.collect([("m", model, xs, LENGTHS)])[0]
    alone = gf.lyapunov(model, xs[0, :LENGTHS[0]], warmup=report.lyapunov.warmup)
    np.testing.assert_allclose(report.lyapunov.exponents, alone.exponents, rtol=0, atol=1e-12)
    assert report.flow.ends[-1] <= LENGTHS[0]


def test_the_command_takes_lengths_and_refuses_them_without_a_batch(tmp_path):
    gf.LSTM.init(5, 3, seed=1).save(tmp_path / "w.npz")
    np.save(tmp_path / "xb.npy", _padded(3))
    np.save(tmp_path / "L.npy", LENGTHS)
    np.save(tmp_path / "x.npy", _padded(3)[0])
    run = CliRunner().invoke
    r = run(main, ["report", str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "xb.npy"),
                   "--lengths", str(tmp_path / "L.npy"), "-o", str(tmp_path / "r.png"), "-q"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.png").stat().st_size > 10_000
    r = run(main, ["report", str(tmp_path / "w.npz"), "--lengths", str(tmp_path / "L.npy"),
                   "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 2 and "--lengths needs inputs" in r.stderr
    r = run(main, ["report", str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "x.npy"),
                   "--lengths", str(tmp_path / "L.npy"), "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'L.npy'}: lengths apply to a batch (B, T, d); the inputs are one "
        "sequence of 14 steps"]
    r = run(main, ["report", str(tmp_path / "w.npz"), str(tmp_path / "w.npz"), "--inputs",
                   str(tmp_path / "xb.npy"), "--lengths", str(tmp_path / "L.npy"),
                   "--lengths", str(tmp_path / "L.npy"), "--lengths", str(tmp_path / "L.npy"),
                   "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 1 and "--lengths: given 3 times for 2 models" in r.stderr
    assert not (tmp_path / "s.png").exists()
