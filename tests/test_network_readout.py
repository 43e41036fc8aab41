"""Readouts: the output figures of the logits z = W_out y_T + b_out, against autograd."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cells.readout import Readout
from gradflow.cli import main

torch = pytest.importorskip("torch")

from torch_refs import reference, torch_module  # noqa: E402


def head(inputs, logits=6, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(inputs, logits).double()


@pytest.mark.parametrize("kind, layers, bidirectional", [
    ("gru", 2, True), ("lstm", 1, False), ("lstm", 2, False)])
def test_logit_sensitivities_match_autograd(kind, layers, bidirectional):
    m = torch_module(kind, layers, bidirectional, seed=3)
    model = gf.network_from_torch(m) if layers > 1 or bidirectional else gf.from_torch(m)
    fc = head(model.output_size)
    xs = np.random.default_rng(1).standard_normal((60, 3))
    r = gf.decay(model, xs, readout=fc)
    out, inp = reference(kind, m, xs, head=fc)
    np.testing.assert_allclose(r.log10_norm2_output, out, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.log10_norm2_input, inp, rtol=0, atol=1e-9)
    plain = gf.decay(model, xs)
    assert not np.allclose(plain.log10_norm2_output, r.log10_norm2_output)
    assert "readout of 6 logits" in r.model


def test_input_sensitivity_of_the_logits_is_the_jacobian_of_the_torch_model():
    m = torch_module("gru", 2, True, seed=8)
    fc = head(8, logits=3, seed=1)
    net = gf.network_from_torch(m)
    xs = np.random.default_rng(2).standard_normal((25, 3))

    def logits(x):
        _, h_n = m(x[:, None])
        return fc(torch.cat([h_n[-2, 0], h_n[-1, 0]]))

    J = torch.autograd.functional.jacobian(logits, torch.tensor(xs)).numpy()  # (3, T, d)
    expected = [np.log10(np.linalg.norm(J[:, 24 - k], 2)) for k in range(25)]
    W, b = fc.weight.detach().numpy(), fc.bias.detach().numpy()
    for readout in (fc, (W, b), Readout(W, b), W):
        got = gf.decay(net, xs, readout=readout).log10_norm2_input
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(Readout(W, b)(net.final_hidden(xs)),
                               logits(torch.tensor(xs)).detach().numpy(), rtol=0, atol=1e-12)


def test_a_padded_batch_with_a_readout():
    m = torch_module("lstm", 2, False, seed=2)
    fc = head(4)
    net = gf.network_from_torch(m)
    xs = np.random.default_rng(4).standard_normal((3, 20, 3))
    r = gf.decay(net, xs, lengths=[20, 7, 13], readout=fc)
    for b, length in enumerate([20, 7, 13]):
        out, inp = reference("lstm", m, xs[b, :length], head=fc)
        np.testing.assert_allclose(r.sequences[b].log10_norm2_output, out, rtol=0, atol=1e-9)


@pytest.mark.parametrize("weight, bias, message", [
    (np.zeros((3, 5)), None, "needs 4 columns"),
    (np.zeros((3, 4)), np.zeros(2), "bias has shape (2,); expected (3,)"),
    (np.zeros(4), None, "expected (p, q)"),
    (np.full((3, 4), np.nan), None, "non-finite"),
])
def test_bad_readouts_are_named_errors(weight, bias, message):
    cell = gf.LSTM.init(hidden=4, inputs=2, seed=0)
    with pytest.raises(gf.GradflowError) as err:
        gf.decay(cell, np.zeros((5, 2)), readout=(weight, bias))
    assert message in str(err.value)


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.rnn = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = torch.nn.Linear(8, 5)
        self.aux = torch.nn.Linear(4, 2)


def test_cli_readout_from_a_checkpoint(tmp_path):
    model = Classifier().double()
    torch.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    gf.network_from_torch(model.rnn).save(tmp_path / "net.npz")
    xs = np.random.default_rng(0).standard_normal((2, 15, 3))
    np.save(tmp_path / "x.npy", xs)
    run = CliRunner()
    base = ["decay", str(tmp_path / "net.npz"), "--inputs", str(tmp_path / "x.npy"),
            "--readout-from", str(tmp_path / "ckpt.pt")]
    r = run.invoke(main, [*base, "--readout", "model.fc.", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["readout"] == {"logits": 5, "inputs": 8, "source": f"{tmp_path / 'ckpt.pt'}: "
                              "model.fc."}
    expected = gf.decay(gf.network_from_torch(model.rnn), xs, readout=model.fc)
    np.testing.assert_allclose(doc["log10_norm2_output"], expected.log10_norm2_output,
                               rtol=0, atol=1e-12)
    auto = run.invoke(main, [*base, "--json"])  # the only head with 8 columns
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.stdout)["log10_norm2_output"] == doc["log10_norm2_output"]
    text = run.invoke(main, [*base, "--readout", "model.fc"])
    assert text.exit_code == 0 and "y_T the logits W_out h_T + b_out" in text.stdout
    missing = run.invoke(main, [*base, "--readout", "head."])
    assert missing.exit_code == 1 and "no key 'head.weight'" in missing.stderr
    wrong = run.invoke(main, [*base, "--readout", "model.aux."])
    assert wrong.exit_code == 1 and "needs 8 columns" in wrong.stderr
    alone = run.invoke(main, base[:4] + ["--readout", "fc."])
    assert alone.exit_code == 2 and "--readout-from" in alone.stderr
