"""Networks against PyTorch's own modules: outputs, h_n, the file format and the import."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

torch = pytest.importorskip("torch")

CASES = {
    "rnn-tanh-2": (torch.nn.RNN, {"nonlinearity": "tanh", "num_layers": 2}),
    "rnn-relu-3": (torch.nn.RNN, {"nonlinearity": "relu", "num_layers": 3}),
    "lstm-2": (torch.nn.LSTM, {"num_layers": 2}),
    "lstm-3-bi": (torch.nn.LSTM, {"num_layers": 3, "bidirectional": True}),
    "gru-2": (torch.nn.GRU, {"num_layers": 2}),
    "gru-2-bi": (torch.nn.GRU, {"num_layers": 2, "bidirectional": True}),
}


def torch_module(case, seed=0, inputs=3, hidden=5):
    cls, kwargs = CASES[case]
    torch.manual_seed(seed)
    m = cls(inputs, hidden, batch_first=True, **kwargs).double()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.8, 0.8)
    return m


def torch_run(m, xs):
    with torch.no_grad():
        out, h = m(torch.tensor(xs))
    h_n = h[0] if isinstance(h, tuple) else h
    D = 2 if m.bidirectional else 1
    top = torch.cat([h_n[-D + k] for k in range(D)], dim=-1)
    return out.numpy(), top.numpy()


@pytest.mark.parametrize("case", list(CASES))
def test_outputs_and_final_hidden_match_the_module(case):
    m = torch_module(case)
    net = gf.network_from_torch(m)
    assert net.num_layers == m.num_layers and net.bidirectional == m.bidirectional
    xs = np.random.default_rng(1).standard_normal((3, 40, 3))
    out, top = torch_run(m, xs)
    np.testing.assert_allclose(net.outputs(xs), out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.final_hidden(xs), top, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.final_hidden(xs[1]), top[1], rtol=0, atol=1e-12)
    S = net.run(xs[0])
    assert S.shape == (41, net.state_size)
    # PyTorch's two biases are one parameter where they only ever add up: every gate but the
    # GRU candidate's, whose hidden bias is b_hn
    summed = {torch.nn.RNN: 1, torch.nn.LSTM: 4, torch.nn.GRU: 2}[type(m)]
    cells = m.num_layers * (2 if m.bidirectional else 1)
    assert net.parameter_count == (sum(p.numel() for p in m.parameters())
                                   - cells * summed * m.hidden_size)


def test_relu_module_keeps_its_nonlinearity_and_a_state_dict_needs_it():
    m = torch_module("rnn-relu-3")
    assert gf.network_from_torch(m).kind == "RNN-relu"
    assert gf.network_from_torch(m.state_dict()).kind == "RNN-tanh"
    assert gf.network_from_torch(m.state_dict(), nonlinearity="relu").kind == "RNN-relu"


def test_file_round_trip_and_load(tmp_path):
    net = gf.network_from_torch(torch_module("gru-2-bi"))
    path = tmp_path / "net.npz"
    net.save(path)
    again = gf.load(path)
    assert isinstance(again, gf.Network) and again == net
    assert again.describe() == "2-layer bidirectional GRU-reset_after (n=5, d=3)"


def _rewrite(path, out, change):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    np.savez(out, **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update({"l0.forward.junk": np.zeros(2)}), "unknown key 'l0.forward.junk'"),
    (lambda a: a.pop("l1.reverse.W_hh"), "missing weight 'l1.reverse.W_hh'"),
    (lambda a: a.update({"directions": np.array(3)}), "directions must be an integer in [1, 2]"),
    (lambda a: a.update({"format": np.array("other")}), "format 'other' is not known"),
    (lambda a: a.update({"l1.forward.W_hx": np.zeros((5, 7))}),
     "layer 1 (forward): W_hx has shape (5, 7)"),
    (lambda a: a.update({"layers": np.array(1.5)}), "layers must be a 0-d integer array"),
])
def test_bad_network_files_are_named_errors(tmp_path, change, message):
    path = tmp_path / "net.npz"
    gf.network_from_torch(torch_module("gru-2-bi")).save(path)
    bad = tmp_path / "bad.npz"
    _rewrite(path, bad, change)
    with pytest.raises(gf.GradflowError) as info:
        gf.load(bad)
    assert message in str(info.value) and str(bad) in str(info.value)


def test_layers_must_fit_together():
    a = gf.LSTM.init(4, 3, seed=0)
    with pytest.raises(gf.GradflowError, match="input width 3; expected 4"):
        gf.Network([(a,), (a,)])
    with pytest.raises(gf.GradflowError, match="must be a LSTM"):
        gf.Network([(a,), (gf.GRU.init(4, 4),)])
    with pytest.raises(gf.GradflowError, match="needs 2 direction"):
        gf.Network([(a, a), (gf.LSTM.init(4, 8),)])


def test_import_all_layers_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = torch_module("rnn-tanh-2")
    torch.save(m.state_dict(), "m.pt")
    r = CliRunner().invoke(main, ["import-torch", "m.pt", "--all-layers", "-o", "net.npz",
                                  "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["layers"] == 2 and doc["bidirectional"] is False
    assert "assumed tanh" in r.stderr
    xs = np.random.default_rng(2).standard_normal((20, 3))
    np.testing.assert_allclose(gf.load("net.npz").final_hidden(xs), torch_run(m, xs[None])[1][0],
                               rtol=0, atol=1e-12)
    r = CliRunner().invoke(main, ["import-torch", "m.pt", "--all-layers", "--layer", "1",
                                  "-o", "x.npz"])
    assert r.exit_code == 2 and "goes without --layer" in r.stderr


def test_decay_of_a_network_reads_what_h_n_sees(tmp_path):
    from gradflow.analysis.sensitivity import sensitivities

    m = torch_module("lstm-2")
    net = gf.network_from_torch(m)
    xs = np.random.default_rng(5).standard_normal((2, 50, 3))
    r = gf.decay(net, xs[0], whole_state=True)
    seen = sensitivities(net, xs[0])
    np.testing.assert_array_equal(r.log10_norm2_output, seen.output)
    np.testing.assert_array_equal(r.log10_norm2_input, seen.input)
    below = np.flatnonzero(seen.output < -3)
    assert r.gradient_horizon == (int(below[0]) if below.size else None)
    assert r.log10_norm2_output_layers.shape == (2, 51)
    assert r.log10_norm2 is not None and r.full_state is not None
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert len(doc["log10_norm2_output_layers"]) == 2
    batch = gf.decay(net, xs)
    assert batch.batch == 2 and batch.log10_norm2 is None
    np.testing.assert_allclose(batch.log10_norm2_output,
                               np.median([gf.decay(net, x).log10_norm2_output for x in xs],
                                         axis=0))
    bi = gf.network_from_torch(torch_module("gru-2-bi"))
    with pytest.raises(gf.GradflowError, match="bidirectional network has no whole-state"):
        gf.decay(bi, xs[0], whole_state=True)
    path = tmp_path / "net.npz"
    bi.save(path)
    r = CliRunner().invoke(main, ["decay", str(path), "--steps", "30", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["log10_norm2_input"]) == 30 and doc["log10_norm2"] is None


@pytest.mark.parametrize("command", ["spectrum", "bounds", "lyapunov"])
def test_one_cell_analyses_refuse_a_network_file_by_name(tmp_path, command):
    path = tmp_path / "net.npz"
    gf.network_from_torch(torch_module("lstm-2")).save(path)
    r = CliRunner().invoke(main, [command, str(path), "--steps", "10"])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [
        "Error: this analysis takes one cell (RNN, LSTM, GRU); got 2-layer LSTM (n=5, d=3); "
        "for a network, decay measures what its output sees"]
    with pytest.raises(gf.GradflowError, match="model must be a cell .*, a network or a "
                                               "Trajectory; got NoneType"):
        gf.decay(None, np.zeros((3, 1)))
