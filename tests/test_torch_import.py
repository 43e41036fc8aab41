"""Importing PyTorch RNN/LSTM/GRU weights: PyTorch's own forward pass and cell Jacobians agree."""

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

torch = pytest.importorskip("torch")

MODULES = {
    "rnn-tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}, torch.nn.RNNCell),
    "rnn-relu": (torch.nn.RNN, {"nonlinearity": "relu"}, torch.nn.RNNCell),
    "lstm": (torch.nn.LSTM, {}, torch.nn.LSTMCell),
    "gru": (torch.nn.GRU, {}, torch.nn.GRUCell),
}


def module(kind, *, layers=2, bidirectional=False, inputs=3, hidden=5, seed=0, dtype=None):
    cls, kwargs, _ = MODULES[kind]
    torch.manual_seed(seed)
    m = cls(inputs, hidden, num_layers=layers, bidirectional=bidirectional, **kwargs)
    with torch.no_grad():  # biases of both kinds nonzero and distinct, so mix-ups show
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.8, 0.8)
    return m.to(torch.float64 if dtype is None else dtype)


def layer_state(m, layer, reverse):
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    return {k: v.detach().clone() for k, v in m.state_dict().items() if k.endswith(sfx)}, sfx


def torch_cell(kind, m, layer, reverse):
    """PyTorch's own cell module holding one layer/direction's weights."""
    _, kwargs, cell_cls = MODULES[kind]
    state, sfx = layer_state(m, layer, reverse)
    w = state["weight_ih" + sfx]
    cell = cell_cls(w.shape[1], state["weight_hh" + sfx].shape[1], **kwargs).double()
    cell.load_state_dict({k[: -len(sfx)]: v for k, v in state.items()})
    return cell


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("kind", list(MODULES))
def test_imported_layers_reproduce_pytorchs_forward_pass(kind, bidirectional):
    m = module(kind, bidirectional=bidirectional)
    x = torch.randn(2, 11, 3, dtype=torch.float64)  # (B, T, d)
    ours2 = gf.torch_layer_inputs(m, x.numpy(), 2)
    with torch.no_grad():
        out, _ = m(x.transpose(0, 1))
        # layer 0 alone, PyTorch's own: a one-layer module with the layer-0 weights
        first = MODULES[kind][0](3, 5, num_layers=1, bidirectional=bidirectional,
                                 **MODULES[kind][1]).double()
        first.load_state_dict({k: v for k, v in m.state_dict().items() if "_l0" in k})
        out1, _ = first(x.transpose(0, 1))
    np.testing.assert_allclose(ours2, out.transpose(0, 1).numpy(), rtol=0, atol=1e-12)
    ours1 = gf.torch_layer_inputs(m, x.numpy(), 1)
    np.testing.assert_allclose(ours1, out1.transpose(0, 1).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(gf.torch_layer_inputs(m, x.numpy(), 0), x.numpy())
    # one sequence (T, d) works the same
    np.testing.assert_allclose(gf.torch_layer_inputs(m, x[1].numpy(), 2), ours2[1], atol=1e-14)


@pytest.mark.parametrize("kind", list(MODULES))
def test_imported_layers_reproduce_pytorchs_cell_jacobians(kind):
    """Both layers, both directions: ds_t/ds_(t-1) against autograd through nn.*Cell."""
    m = module(kind, bidirectional=True, seed=1)
    xs = np.random.default_rng(2).standard_normal((9, 3))
    for layer in (0, 1):
        inputs = gf.torch_layer_inputs(m, xs, layer)
        for direction in ("forward", "reverse"):
            model = gf.from_torch(m, layer, direction=direction)
            seq = inputs if direction == "forward" else inputs[::-1].copy()
            S = model.run(seq)
            Js = model.step_jacobians(seq)
            cell = torch_cell(kind, m, layer, direction == "reverse")
            n = model.hidden
            for t in range(seq.shape[0]):
                x = torch.tensor(seq[t])[None]
                s = torch.tensor(S[t])

                def step(s, x=x, cell=cell, n=n):
                    if kind == "lstm":
                        h, c = cell(x, (s[None, :n], s[None, n:]))
                        return torch.cat([h[0], c[0]])
                    return cell(x, s[None])[0]

                with torch.no_grad():
                    np.testing.assert_allclose(step(s).numpy(), S[t + 1], rtol=0, atol=1e-13)
                J = torch.autograd.functional.jacobian(step, s).numpy()
                scale = np.abs(J).max()
                assert np.abs(Js[t] - J).max() <= 1e-10 * scale, (layer, direction, t)


def test_gate_order_and_biases_map_onto_the_seeds_names():
    n = 2
    lstm = module("lstm", layers=1, hidden=n)
    sd = lstm.state_dict()
    w = gf.from_torch(lstm)
    rows = {"i": 0, "f": 1, "c": 2, "o": 3}
    for g, r in rows.items():
        sl = slice(r * n, (r + 1) * n)
        np.testing.assert_array_equal(w[f"W_{g}h"], sd["weight_hh_l0"][sl].numpy())
        np.testing.assert_array_equal(w[f"W_{g}x"], sd["weight_ih_l0"][sl].numpy())
        np.testing.assert_array_equal(w[f"b_{g}"], (sd["bias_ih_l0"] + sd["bias_hh_l0"])[sl])
    gru = module("gru", layers=1, hidden=n)
    sd = gru.state_dict()
    w = gf.from_torch(gru)
    assert w.variant == "reset_after"
    np.testing.assert_array_equal(w["W_zh"], sd["weight_hh_l0"][n:2 * n].numpy())
    np.testing.assert_array_equal(w["b_r"], (sd["bias_ih_l0"] + sd["bias_hh_l0"])[:n])
    np.testing.assert_array_equal(w["b_h"], sd["bias_ih_l0"][2 * n:].numpy())
    np.testing.assert_array_equal(w["b_hn"], sd["bias_hh_l0"][2 * n:].numpy())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_any_float_dtype_becomes_exact_float64(dtype):
    m = module("gru", dtype=dtype)
    model = gf.from_torch(m, 1)
    assert all(v.dtype == np.float64 for v in model.weights.values())
    sd = m.state_dict()
    np.testing.assert_array_equal(model["W_rx"], sd["weight_ih_l1"][:5].double().numpy())
    sd["weight_hh_l1"] = sd["weight_hh_l1"].to(torch.int32)
    with pytest.raises(gf.GradflowError, match="weight_hh_l1 has dtype int32; expected real"):
        gf.from_torch(sd, 1)


def test_cells_without_bias_and_single_cell_modules():
    m = torch.nn.LSTM(3, 4, bias=False).double()
    model = gf.from_torch(m)
    assert all(np.all(model[f"b_{g}"] == 0) for g in "fioc")
    cell = torch.nn.GRUCell(3, 4).double()
    model = gf.from_torch(cell)
    x = torch.randn(1, 3, dtype=torch.float64)
    with torch.no_grad():
        h = cell(x)[0].numpy()
    np.testing.assert_allclose(model.run(x.numpy())[1], h, atol=1e-14)
    with pytest.raises(gf.GradflowError, match="layer 1 of a single cell"):
        gf.from_torch(cell, 1)


def test_nonlinearity_comes_from_the_module_or_the_caller():
    relu = module("rnn-relu", layers=1)
    assert gf.from_torch(relu).activation == "relu"
    sd = relu.state_dict()
    assert gf.from_torch(sd).activation == "tanh"  # a state dict does not say
    assert gf.from_torch(sd, nonlinearity="relu").activation == "relu"
    with pytest.raises(gf.GradflowError, match="nonlinearity 'tanh' given, but the module uses "
                                               "'relu'"):
        gf.from_torch(relu, nonlinearity="tanh")
    with pytest.raises(gf.GradflowError, match="nonlinearity applies to RNN only, not to LSTM"):
        gf.from_torch(module("lstm"), nonlinearity="relu")


class Wrapper(torch.nn.Module):
    def __init__(self, two=False):
        super().__init__()
        self.encoder = torch.nn.GRU(3, 4, num_layers=2)
        self.head = torch.nn.Linear(4, 1)
        if two:
            self.decoder = torch.nn.LSTM(4, 4)


def test_a_recurrent_module_inside_a_larger_model():
    w = Wrapper().double()
    model = gf.from_torch(w, 1)
    sd = w.state_dict()
    np.testing.assert_array_equal(model["W_hh"], sd["encoder.weight_hh_l1"][8:].numpy())
    nested = {"model": sd, "epoch": 3, "optimizer": {"lr": 0.1}}
    assert gf.from_torch(nested, 1) == model
    both = Wrapper(two=True).double()
    with pytest.raises(gf.GradflowError, match="several recurrent modules .*choose one with "
                                               "prefix"):
        gf.from_torch(both)
    assert gf.from_torch(both, prefix="decoder").cell == "lstm"
    assert gf.describe_torch(both, prefix="encoder.") == {
        "cell": "gru", "hidden": 4, "inputs": 3, "layers": 2, "bidirectional": False,
        "prefix": "encoder."}
    with pytest.raises(gf.GradflowError, match="no recurrent module with prefix 'head'"):
        gf.from_torch(both, prefix="head")


def test_refusals():
    bad = torch.nn.LSTM(3, 4, proj_size=2).state_dict()
    bad["weight_hr_l0"] = torch.zeros(3, 4)
    with pytest.raises(gf.GradflowError, match=r"weight_hh_l0 has shape \(16, 2\); expected "
                                               r"\(G n, p\) = \(G\*4, 3\)"):
        gf.from_torch(bad)
    rnn = torch.nn.RNN(3, 4).state_dict()
    rnn["weight_hr_l0"] = torch.zeros(2, 4)
    with pytest.raises(gf.GradflowError, match="weight_hr_l0 belongs to an LSTM with proj_size"):
        gf.from_torch({**rnn, "weight_hh_l0": torch.zeros(4, 2)})
    with pytest.raises(gf.GradflowError, match="the model is not bidirectional"):
        gf.from_torch(module("gru"), direction="reverse")
    with pytest.raises(gf.GradflowError, match=r"layer 2 out of range; the model has 2 layers "
                                               r"\(0..1\)"):
        gf.from_torch(module("gru"), 2)
    with pytest.raises(gf.GradflowError, match="no recurrent weights"):
        gf.from_torch({"weight": torch.zeros(3)})
    with pytest.raises(gf.GradflowError, match="expected a torch.nn.RNN/LSTM/GRU module or its "
                                               "state dict; got int"):
        gf.from_torch(3)
    with pytest.raises(gf.GradflowError, match="direction must be one of forward, reverse"):
        gf.from_torch(module("gru"), direction="backward")
    with pytest.raises(gf.GradflowError, match=r"layer must be an integer in \[0, 2\]"):
        gf.torch_layer_inputs(module("gru"), np.zeros((4, 3)), 3)
    with pytest.raises(gf.GradflowError, match="last axis must be the model's input width 3"):
        gf.torch_layer_inputs(module("gru"), np.zeros((4, 2)), 1)


def test_cli_writes_the_layer_and_its_input_sequence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = module("lstm", bidirectional=True, seed=4)
    torch.save(m.state_dict(), "model.pt")
    xs = np.random.default_rng(0).standard_normal((2, 7, 3))
    np.save("x.npy", xs)
    r = CliRunner().invoke(main, ["import-torch", "model.pt", "-o", "w1.npz", "--layer", "1",
                                  "--direction", "reverse", "--inputs", "x.npy",
                                  "--layer-inputs", "x1.npy", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["cell"] == "lstm" and doc["layer"] == 1 and doc["direction"] == "reverse"
    assert doc["torch"]["bidirectional"] and doc["layer_inputs_shape"] == [2, 7, 10]
    assert gf.load("w1.npz") == gf.from_torch(m, 1, direction="reverse")
    # PyTorch's own layer 0 (both directions) gives what layer 1 reads; the reverse
    # direction reads it last step first, so the file holds it reversed in time
    first = torch.nn.LSTM(3, 5, num_layers=1, bidirectional=True, batch_first=True).double()
    first.load_state_dict({k: v for k, v in m.state_dict().items()
                           if "_l0" in k})
    with torch.no_grad():
        below = first(torch.tensor(xs))[0].numpy()
    np.testing.assert_allclose(np.load("x1.npy"), below[:, ::-1], rtol=0, atol=1e-14)
    r = CliRunner().invoke(main, ["decay", "w1.npz", "--inputs", "x1.npy", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["batch"] == 2
    r = CliRunner().invoke(main, ["import-torch", "model.pt", "-o", "w0.npz"])
    assert r.exit_code == 0 and "wrote w0.npz" in r.stderr
    assert gf.load("w0.npz") == gf.from_torch(m)


def test_cli_refusals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save(module("gru").state_dict(), "model.pt")
    torch.save(torch.nn.GRU(3, 4), "whole.pt")  # a pickled module, not a state dict
    runner = CliRunner()
    r = runner.invoke(main, ["import-torch", "whole.pt", "-o", "w.npz"])
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        "Error: whole.pt: holds pickled Python objects that torch.load(weights_only=True) "
        "refuses (a whole module?); save the state dict instead: "
        "torch.save(model.state_dict(), path)")
    r = runner.invoke(main, ["import-torch", "model.pt", "-o", "model.pt"])
    assert r.exit_code == 1 and "would overwrite the input model.pt" in r.stderr
    r = runner.invoke(main, ["import-torch", "model.pt", "-o", "w.npz", "--inputs", "x.npy"])
    assert r.exit_code == 2 and "--inputs and --layer-inputs go together" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "whole.pt"]


def test_without_pytorch_the_command_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gru = module("gru")
    torch.save(gru.state_dict(), "model.pt")
    sd = {k: v.numpy() for k, v in gru.state_dict().items()}
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    r = CliRunner().invoke(main, ["import-torch", "model.pt", "-o", "w.npz"])
    assert r.exit_code == 1
    assert r.stderr.strip() == ("Error: PyTorch is not installed; it is an optional extra: "
                                "pip install 'gradflow[torch]'")
    assert not (tmp_path / "w.npz").exists()
    # a state dict of numpy arrays needs no PyTorch at all
    assert gf.from_torch(sd).variant == "reset_after"


def projected_module(*, layers=2, bidirectional=True, seed=5):
    torch.manual_seed(seed)
    m = torch.nn.LSTM(3, 6, num_layers=layers, bidirectional=bidirectional, proj_size=2)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.8, 0.8)
    return m.double()


def test_lstm_with_proj_size_imports_layer_by_layer_and_whole():
    m = projected_module()
    state = m.state_dict()
    for layer in (0, 1):
        for direction in ("forward", "reverse"):
            sfx = f"_l{layer}" + ("_reverse" if direction == "reverse" else "")
            c = gf.from_torch(m, layer, direction=direction)
            assert (c.kind, c.hidden, c.proj_size, c.state_size) == ("LSTM-proj", 6, 2, 8)
            assert c.inputs == (3 if layer == 0 else 4)  # directions * p above the first
            np.testing.assert_array_equal(c["W_hr"], state["weight_hr" + sfx].numpy())
            np.testing.assert_array_equal(c["W_fh"], state["weight_hh" + sfx][6:12].numpy())
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    net = gf.network_from_torch(m)
    assert net.output_size == 4 and net.state_size == 4 * 8
    with torch.no_grad():
        out, (h_n, c_n) = m(x.transpose(0, 1))
    np.testing.assert_allclose(net.outputs(x.numpy()), out.transpose(0, 1).numpy(), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(net.final_hidden(x.numpy()),
                               torch.cat([h_n[2], h_n[3]], dim=-1).numpy(), rtol=0, atol=1e-12)
    S = net.run(x.numpy())[:, -1]
    for index, part in enumerate(net.state_slices().values()):
        np.testing.assert_allclose(S[:, part][:, 2:], c_n[index].numpy(), rtol=0, atol=1e-12)
    assert gf.torch_layer_inputs(m, x.numpy(), 1).shape == (2, 9, 4)
    assert gf.describe_torch(state)["proj_size"] == 2


def test_cli_imports_an_lstm_with_proj_size(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = projected_module(layers=2, bidirectional=False)
    torch.save(m.state_dict(), "model.pt")
    r = CliRunner().invoke(main, ["import-torch", "model.pt", "-o", "w1.npz", "--layer", "1",
                                  "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["proj_size"] == 2 and doc["torch"]["proj_size"] == 2 and doc["inputs"] == 2
    assert gf.load("w1.npz") == gf.from_torch(m, 1)
    r = CliRunner().invoke(main, ["import-torch", "model.pt", "--all-layers", "-o", "net.npz"])
    assert r.exit_code == 0, r.output
    net = gf.load("net.npz")
    assert net == gf.network_from_torch(m) and net.kind == "LSTM-proj"
    r = CliRunner().invoke(main, ["decay", "net.npz", "--steps", "12", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["log10_norm2_output"]) == 13
