"""A model knows the file it was read from; errors about its numbers start with it."""

import warnings

import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis.spectrum import step_norms_along


@pytest.fixture
def huge(tmp_path):
    """An RNN whose step Jacobian at h = 0 is W_h, of norm 16 * 1.5e307 > 1.8e308."""
    weights = {**gf.RNN.init(16, 3, seed=0).weights, "cell": np.array("rnn")}
    weights["W_h"] = np.full((16, 16), 1.5e307)
    weights["b_h"] = np.zeros(16)
    with open(tmp_path / "huge.npz", "wb") as fh:
        np.savez(fh, **weights)
    return str(tmp_path / "huge.npz")


def test_source_is_the_file_name_and_read_only(tmp_path, huge):
    model = gf.load(huge)
    assert model.source == huge
    with pytest.raises(AttributeError):
        model.source = "other.npz"
    assert gf.RNN.init(3, 2).source is None


def test_spectral_errors_name_the_cells_file_by_default(huge):
    model, xs = gf.load(huge), np.zeros((5, 3))
    at_file = "^" + huge.replace(".", r"\.") + ": "
    with pytest.raises(gf.GradflowError, match=at_file + r"RNN-tanh .*step Jacobian"):
        gf.jacobian_norms(model, xs)
    with pytest.raises(gf.GradflowError, match=at_file + r"RNN-tanh .*step Jacobian"):
        gf.spectrum(model, xs)
    with pytest.raises(gf.GradflowError, match=at_file + r"W_h: its largest singular value"):
        gf.spectrum(model)
    with pytest.raises(gf.GradflowError, match=at_file):  # what gf.decay's effective bound calls
        step_norms_along(model, xs, model.run(xs))
    with pytest.raises(gf.GradflowError, match=r"^given\.npz: W_h"):
        gf.spectrum(model, source="given.npz")


def test_a_cell_built_in_memory_has_no_file_to_name():
    weights = {**gf.RNN.init(16, 3, seed=0).weights, "W_h": np.full((16, 16), 1.5e307)}
    with pytest.raises(gf.GradflowError, match=r"^W_h: its largest singular value"):
        gf.spectrum(gf.RNN(weights))


def _orthogonal_rnn(scale, n=4, d=3):
    """Zero biases and inputs from h = 0: every step Jacobian is exactly scale * Q."""
    Q = np.linalg.qr(np.random.default_rng(2).standard_normal((n, n)))[0]
    return gf.RNN({"W_h": scale * Q, "W_x": np.zeros((n, d)), "b_h": np.zeros(n)})


def test_overflows_met_by_decay_and_lyapunov_name_the_file(tmp_path):
    from click.testing import CliRunner

    from gradflow.cli import main

    _orthogonal_rnn(1.7e308).save(tmp_path / "big.npz")
    big = str(tmp_path / "big.npz")
    r = CliRunner().invoke(main, ["decay", big, "--steps", "20"])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        f"Error: {big}: RNN-tanh (n=4, d=3): the all-lag product ds_T/ds_(T-k) left the "
        "float64 range (its step Jacobians' entries are too close to the float64 limit); "
        "scale the weights or inputs down"]
    r = CliRunner().invoke(main, ["lyapunov", big, "--steps", "20"])
    assert r.exit_code == 1 and r.stderr.startswith(f"Error: {big}: the Lyapunov frame of")
    with pytest.raises(gf.GradflowError, match="^the Lyapunov frame of RNN-tanh"):
        gf.lyapunov(_orthogonal_rnn(1.7e308), np.zeros((20, 3)))  # built here: no file


def test_a_network_knows_its_file_and_its_overflows_name_it(tmp_path):
    cell = _orthogonal_rnn(1e200)
    gf.Network([(cell,)]).save(tmp_path / "net.npz")
    net = gf.load(tmp_path / "net.npz")
    assert net.source == str(tmp_path / "net.npz") and gf.Network([(cell,)]).source is None
    grad_out = np.zeros((5, 4))
    grad_out[-1] = 1.0
    with pytest.raises(gf.GradientOverflowError, match="^" + str(tmp_path / "net.npz")
                       .replace(".", r"\.") + ": the gradient of "):
        gf.bptt(net, np.zeros((5, 3)), grad_out)


def test_meta_and_nested_tensors_are_refused_by_key():
    torch = pytest.importorskip("torch")
    state = torch.nn.RNN(2, 3).state_dict()
    state["weight_ih_l0"] = torch.empty(3, 2, device="meta")
    with pytest.raises(gf.GradflowError, match=r"^state dict: weight_ih_l0 is a meta tensor"):
        gf.from_torch(state)
    with pytest.raises(gf.GradflowError, match=r"weight_.h_l0 is a meta tensor"):
        gf.from_torch(torch.nn.GRU(2, 3, device="meta"))
    for layout in (torch.strided, torch.jagged):
        state = torch.nn.RNN(2, 3).state_dict()
        with warnings.catch_warnings():  # torch: "nested tensors are in prototype stage"
            warnings.simplefilter("ignore", UserWarning)
            state["weight_hh_l0"] = torch.nested.nested_tensor([torch.zeros(3)] * 3,
                                                               layout=layout)
        with pytest.raises(gf.GradflowError, match=r"weight_hh_l0 is a nested tensor"):
            gf.from_torch(state)
