"""Real-data inputs: batch-first or time-major layouts, and padded batches with their lengths.

References: PyTorch's packed sequences (``pack_padded_sequence``) for the outputs and h_n of a
padded batch, and autograd through PyTorch's cells on each unpadded sequence for the
sensitivities.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

torch = pytest.importorskip("torch")

from torch_refs import reference, torch_module  # noqa: E402

LENGTHS = np.array([17, 40, 1, 29])


def padded_batch(seed=2, T=40, d=3):
    xs = np.random.default_rng(seed).standard_normal((len(LENGTHS), T, d))
    for b, length in enumerate(LENGTHS):
        xs[b, length:] = 1e3  # padding that must never be read
    return xs


def test_padded_bidirectional_gru_matches_packed_sequences():
    m = torch_module("gru", 2, True, seed=4)
    net = gf.network_from_torch(m)
    xs = padded_batch()
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xs).transpose(0, 1), torch.tensor(LENGTHS), enforce_sorted=False)
    with torch.no_grad():
        out, h_n = m(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=xs.shape[1])
    out = out.transpose(0, 1).numpy()
    top = torch.cat([h_n[-2], h_n[-1]], dim=-1).numpy()
    np.testing.assert_allclose(net.outputs(xs, lengths=LENGTHS), out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.final_hidden(xs, lengths=LENGTHS), top, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind, layers, bidirectional", [
    ("gru", 2, True), ("lstm", 1, False), ("rnn-tanh", 2, False)])
def test_padded_decay_is_each_sequence_over_its_own_length(kind, layers, bidirectional):
    m = torch_module(kind, layers, bidirectional, seed=7)
    model = gf.network_from_torch(m) if layers > 1 or bidirectional else gf.from_torch(m)
    xs = padded_batch(seed=5)
    r = gf.decay(model, xs, lengths=LENGTHS)
    assert r.batch == len(LENGTHS) and r.steps == LENGTHS.max()
    for b, length in enumerate(LENGTHS):
        seq = r.sequences[b]
        assert seq.steps == length
        out, inp = reference(kind, m, xs[b, :length])
        np.testing.assert_allclose(seq.log10_norm2_output, out, rtol=0, atol=1e-9)
        np.testing.assert_allclose(seq.log10_norm2_input, inp, rtol=0, atol=1e-9)
    counts = [int(np.sum(LENGTHS >= k)) for k in range(LENGTHS.max() + 1)]
    np.testing.assert_array_equal(r.sequences_per_lag, counts)
    for k in (0, 5, 20, 35, 40):
        reaching = [s.log10_norm2_output[k] for s in r.sequences if s.steps >= k]
        assert r.log10_norm2_output[k] == pytest.approx(np.median(reaching), abs=1e-12)
        assert r.log10_norm2_output_quantiles[0, k] == pytest.approx(
            np.quantile(reaching, r.quantile_levels[0]), abs=1e-12)
    doc = r.to_dict()
    assert doc["lengths"] == LENGTHS.tolist() and doc["sequences_per_lag"] == counts
    assert [len(s["log10_norm2_output"]) for s in doc["sequences"]] == list(LENGTHS + 1)


def test_time_major_is_the_transposed_batch():
    m = torch_module("lstm", 2, False, seed=1)
    net = gf.network_from_torch(m)
    xs = padded_batch(seed=3)
    a = gf.decay(net, xs, lengths=LENGTHS)
    b = gf.decay(net, np.swapaxes(xs, 0, 1), lengths=LENGTHS, time_major=True)
    np.testing.assert_array_equal(a.log10_norm2_output, b.log10_norm2_output)
    for s, t in zip(a.sequences, b.sequences, strict=True):
        np.testing.assert_array_equal(s.log10_norm2_input, t.log10_norm2_input)


def test_equal_lengths_give_the_unpadded_batch():
    cell = gf.GRU.init(hidden=4, inputs=3, seed=0)
    xs = np.random.default_rng(0).standard_normal((3, 12, 3))
    plain = gf.decay(cell, xs)
    padded = gf.decay(cell, xs, lengths=[12, 12, 12])
    np.testing.assert_allclose(padded.log10_norm2, plain.log10_norm2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(padded.log10_norm2_output_quantiles,
                               plain.log10_norm2_output_quantiles, rtol=0, atol=1e-12)
    assert "lengths" not in plain.to_dict()


@pytest.mark.parametrize("lengths, message", [
    ([3, 4], "expected (3,)"),
    ([3, 0, 2], "entry 1 is 0; every length must be an integer in 1..5"),
    ([3, 6, 2], "entry 1 is 6"),
    ([3.5, 2, 1], "dtype float64; expected integers"),
    (["a", "b", "c"], "expected integers"),
])
def test_bad_lengths_are_named_errors(lengths, message):
    cell = gf.RNN.init(hidden=3, inputs=2, seed=0)
    xs = np.zeros((3, 5, 2))
    with pytest.raises(gf.GradflowError, match="lengths") as err:
        gf.decay(cell, xs, lengths=np.array(lengths))
    assert message in str(err.value)


def test_lengths_need_a_batch():
    with pytest.raises(gf.GradflowError, match=r"apply to a batch \(B, T, d\)"):
        gf.decay(gf.RNN.init(hidden=3, inputs=2, seed=0), np.zeros((5, 2)), lengths=[5])


def _cli(tmp_path, *args):
    r = CliRunner().invoke(main, ["decay", str(tmp_path / "net.npz"), *args])
    return r


@pytest.fixture
def files(tmp_path):
    net = gf.network_from_torch(torch_module("gru", 2, True, seed=4))
    net.save(tmp_path / "net.npz")
    xs = padded_batch()
    np.save(tmp_path / "batch.npy", xs)
    np.save(tmp_path / "time_major.npy", np.ascontiguousarray(np.swapaxes(xs, 0, 1)))
    np.save(tmp_path / "lengths.npy", LENGTHS)
    return tmp_path


def test_cli_padded_batch_in_either_layout(files):
    a = _cli(files, "--inputs", str(files / "batch.npy"), "--lengths",
             str(files / "lengths.npy"), "--json")
    assert a.exit_code == 0, a.output
    b = _cli(files, "--inputs", str(files / "time_major.npy"), "--time-major", "--lengths",
             str(files / "lengths.npy"), "--json")
    assert b.exit_code == 0, b.output
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["log10_norm2_output"] == db["log10_norm2_output"]
    assert da["lengths"] == LENGTHS.tolist() and db["time_major"] is True
    assert da["steps"] == 40 and da["sequences_per_lag"][-1] == 1


def test_cli_says_when_the_lengths_point_to_the_other_layout(files):
    r = _cli(files, "--inputs", str(files / "time_major.npy"), "--lengths",
             str(files / "lengths.npy"))
    assert r.exit_code == 1
    assert "match axis 1, not axis 0 (40): a time-major (T, B, d) array?" in r.stderr
    assert "--time-major" in r.stderr and "Traceback" not in r.output


def test_cli_refuses_a_shape_that_fits_both_layouts(files):
    np.save(files / "square.npy", np.zeros((3, 10, 3)))  # d = 3 also matches axis 0
    r = _cli(files, "--inputs", str(files / "square.npy"))
    assert r.exit_code == 1 and "d = 3 also matches axis 0" in r.stderr
    assert "--time-major" in r.stderr and "--batch-first" in r.stderr
    r = _cli(files, "--inputs", str(files / "square.npy"), "--batch-first", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["batch"] == 3
    r = _cli(files, "--inputs", str(files / "square.npy"), "--time-major", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["batch"] == 10


def test_cli_names_the_misplaced_input_axis(files):
    np.save(files / "wrong.npy", np.zeros((4, 3, 9)))
    r = _cli(files, "--inputs", str(files / "wrong.npy"))
    assert r.exit_code == 1 and "d = 3 must be the last axis" in r.stderr


def test_cli_bad_lengths_file(files):
    np.save(files / "bad.npy", np.array([17, 41, 1, 29]))
    r = _cli(files, "--inputs", str(files / "batch.npy"), "--lengths", str(files / "bad.npy"))
    assert r.exit_code == 1
    assert "bad.npy: lengths: entry 1 is 41; every length must be an integer in 1..40" in r.stderr


@pytest.mark.parametrize("command", ["spectrum", "bounds", "fixedpoints"])
def test_other_analyses_take_the_layout_flags(tmp_path, command):
    cell = gf.RNN.init(hidden=3, inputs=3, seed=0)
    cell.save(tmp_path / "w.npz")
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 3)))
    args = [command, str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "x.npy")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and "d = 3 also matches axis 0" in r.stderr
    r = CliRunner().invoke(main, [*args, "--batch-first"])
    if command == "lyapunov":
        assert r.exit_code == 1 and "one sequence" in r.stderr
    else:
        assert r.exit_code == 0, r.output


def test_cli_batch_text_sums_up_and_lists_on_request(files):
    args = ["--inputs", str(files / "batch.npy"), "--lengths", str(files / "lengths.npy")]
    summary = _cli(files, *args)
    assert summary.exit_code == 0, summary.output
    text = summary.stdout
    # the forward part of h_n against the state k steps back (the whole output is V-shaped)
    assert "per sequence (4): 3 vanishing, 1 undetermined" in text
    assert ("gradient horizon, min / q0.25 / median / q0.75 / max: 16 / 16 / 16 / 16.5 / 17 "
            "(3 of 4 sequences fall below the threshold)") in text
    assert "lengths, min / q0.25 / median / q0.75 / max: 1 / 13 / 23 / 31.75 / 40" in text
    assert "sequences" in text.splitlines()[3] and "factor/step" not in text
    listed = _cli(files, *args, "--per-sequence")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:3] == ["sequence", "T",
                                                                         "horizon"])
    rows = [line.split() for line in lines[at + 1:at + 5]]
    assert [int(row[0]) for row in rows] == [0, 1, 2, 3]
    assert [int(row[1]) for row in rows] == LENGTHS.tolist()
    plain = _cli(files, *args, "--json")
    listed_json = _cli(files, *args, "--json", "--per-sequence")
    assert plain.stdout == listed_json.stdout
