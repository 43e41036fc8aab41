"""Initialisers, parameter counts, and the weights file."""

import os
import zipfile

import numpy as np
import pytest

import gradflow as gf
from gradflow.cells.init import INITS

from conftest import CONFIG_IDS, CONFIGS


@pytest.mark.parametrize("init", INITS)
def test_initialisers_are_seeded_and_reproducible(config, init):
    cls, options = config
    a = cls.init(7, 3, init=init, gain=1.3, seed=5, **options)
    b = cls.init(7, 3, init=init, gain=1.3, seed=5, **options)
    c = cls.init(7, 3, init=init, gain=1.3, seed=6, **options)
    assert a == b
    if init != "identity" or cls is not gf.RNN:
        assert a != c
    for name, w in a.weights.items():
        assert w.dtype == np.float64 and np.isfinite(w).all() and not w.flags.writeable, name


def test_gaussian_recurrent_variance_is_gain_squared_over_n():
    n, gain = 400, 1.7
    W = gf.RNN.init(n, 5, init="gaussian", gain=gain, seed=0)["W_h"]
    assert abs(W.var() * n / gain**2 - 1) < 0.02
    assert abs(W.mean()) < 0.01


def test_orthogonal_identity_xavier_and_pytorch_schemes():
    n, d, gain = 30, 4, 0.8
    for name in gf.LSTM.init(n, d, init="orthogonal", gain=gain).recurrent_matrices:
        W = gf.LSTM.init(n, d, init="orthogonal", gain=gain)[name]
        np.testing.assert_allclose(W.T @ W, gain**2 * np.eye(n), atol=1e-12)
    Wx = gf.LSTM.init(n, d, init="orthogonal")["W_fx"]
    np.testing.assert_allclose(Wx.T @ Wx, np.eye(d), atol=1e-12)
    irnn = gf.RNN.init(n, d, init="identity", activation="relu")
    assert np.array_equal(irnn["W_h"], np.eye(n)) and np.all(irnn["b_h"] == 0)
    x = gf.GRU.init(n, d, init="xavier", gain=2.0, seed=1)
    assert np.abs(x["W_zh"]).max() <= 2.0 * np.sqrt(6 / (2 * n))
    assert np.abs(x["W_zx"]).max() <= np.sqrt(6 / (n + d))
    assert np.abs(x["W_zh"]).max() > 0.9 * 2.0 * np.sqrt(6 / (2 * n))
    p = gf.GRU.init(n, d, init="pytorch", variant="reset_after", seed=2)
    k = 1 / np.sqrt(n)
    for name, w in p.weights.items():
        limit = 2 * k if name in ("b_r", "b_z") else k  # b_ih + b_hh for r and z
        assert np.abs(w).max() <= limit, name


def test_lstm_forget_bias_is_added_to_b_f_only():
    base = gf.LSTM.init(6, 2, seed=3)
    biased = gf.LSTM.init(6, 2, seed=3, forget_bias=1.0)
    assert np.array_equal(biased["b_f"], base["b_f"] + 1.0)
    for name in base.weights:
        if name != "b_f":
            assert np.array_equal(biased[name], base[name])
    with pytest.raises(gf.GradflowError, match="LSTM only"):
        gf.GRU.init(6, 2, forget_bias=1.0)


@pytest.mark.parametrize(("config", "per_gate"),
                         list(zip(CONFIGS, [1, 1, 1, 4, 3, 3], strict=True)), ids=CONFIG_IDS)
def test_parameter_count_formula_and_independence_of_sequence_length(config, per_gate):
    cls, options = config
    n, d = 9, 4
    model = cls.init(n, d, **options)
    extra = n if options.get("variant") == "reset_after" else 0
    assert model.parameter_count == per_gate * (n * n + n * d + n) + extra
    # the same weights serve every step: running longer sequences adds no parameters
    for T in (1, 10, 1000):
        model.run(np.zeros((T, d)))
        assert model.parameter_count == per_gate * (n * n + n * d + n) + extra


def test_weight_names_follow_the_seed():
    assert gf.RNN.init(2, 1).weight_names() == ("W_h", "W_x", "b_h")
    assert gf.LSTM.init(2, 1).weight_names() == (
        "W_fh", "W_fx", "b_f", "W_ih", "W_ix", "b_i", "W_oh", "W_ox", "b_o", "W_ch", "W_cx", "b_c")
    assert gf.GRU.init(2, 1).weight_names() == (
        "W_rh", "W_rx", "b_r", "W_zh", "W_zx", "b_z", "W_hh", "W_hx", "b_h")
    assert gf.GRU.init(2, 1, variant="reset_after").weight_names()[-1] == "b_hn"


def test_save_and_load_round_trip(config, tmp_path):
    cls, options = config
    model = cls.init(5, 3, seed=9, **options)
    path = tmp_path / "w.npz"
    model.save(path)
    again = gf.load(path)
    assert type(again) is cls and again == model
    with np.load(path, allow_pickle=False) as data:
        assert str(data["cell"]) == model.cell
        keys = set(data.files)
    assert keys == set(model.weight_names()) | {"cell"} | set(model.options())
    assert os.listdir(tmp_path) == ["w.npz"]


def write_npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def lstm_arrays(n=4, d=2):
    return {**gf.LSTM.init(n, d).weights, "cell": np.array("lstm")}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.update(W_ch=np.zeros((4, 3))),
         r"W_ch has shape \(4, 3\); expected \(4, 4\) for hidden size 4"),
        (lambda a: a.update(W_extra=np.zeros(2)), r"unknown weight 'W_extra'"),
        (lambda a: a.pop("b_o"), r"missing weight 'b_o'"),
        (lambda a: a.update(cell=np.array("transformer")), r"unknown cell 'transformer'"),
        (lambda a: a.pop("cell"), r"no 'cell' key"),
        (lambda a: a.update(activation=np.array("tanh")), r"'activation' does not apply"),
        (lambda a: a.update(b_f=np.array([0, np.nan, 0, 0])), r"b_f holds a non-finite value"),
        (lambda a: a.update(W_fh=np.full((4, 4), np.inf)), r"W_fh holds a non-finite value"),
        (lambda a: a.update(W_ih=np.zeros((4, 4), complex)), r"W_ih has dtype complex128"),
        (lambda a: a.update(b_i=np.array(["a", "b", "c", "d"])), r"b_i has dtype"),
        (lambda a: a.update(cell=np.array(3)), r"cell must be a 0-d string array"),
    ],
)
def test_load_refuses_bad_files_naming_the_key(tmp_path, mutate, message):
    arrays = lstm_arrays()
    mutate(arrays)
    path = tmp_path / "bad.npz"
    write_npz(path, **arrays)
    with pytest.raises(gf.GradflowError, match=message) as err:
        gf.load(path)
    assert str(path) in str(err.value)


def test_load_refuses_pickles_empty_truncated_and_non_zip_files(tmp_path):
    path = tmp_path / "pickled.npz"
    arrays = lstm_arrays()
    arrays["W_fh"] = np.array([object()] * 16, dtype=object).reshape(4, 4)
    write_npz(path, **arrays)
    with pytest.raises(gf.GradflowError, match="pickled"):
        gf.load(path)
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(gf.GradflowError, match="empty file"):
        gf.load(tmp_path / "empty.npz")
    good = tmp_path / "good.npz"
    write_npz(good, **lstm_arrays())
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(gf.GradflowError, match="not a valid .npz"):
        gf.load(tmp_path / "cut.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(gf.GradflowError, match="not a valid .npz"):
        gf.load(tmp_path / "text.npz")
    with pytest.raises(gf.GradflowError, match="no such file"):
        gf.load(tmp_path / "missing.npz")
    assert zipfile.is_zipfile(good)


def test_constructor_validation_messages():
    with pytest.raises(gf.GradflowError, match="activation must be one of"):
        gf.RNN({"W_h": np.eye(2), "W_x": np.ones((2, 1)), "b_h": np.zeros(2)}, activation="gelu")
    with pytest.raises(gf.GradflowError, match="variant must be one of"):
        gf.GRU.init(3, 1, variant="after")
    with pytest.raises(gf.GradflowError, match="square"):
        gf.RNN({"W_h": np.ones((2, 3)), "W_x": np.ones((2, 1)), "b_h": np.zeros(2)})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(gf.GradflowError, match="hidden must be a positive integer"):
            gf.RNN.init(bad, 1)
    with pytest.raises(gf.GradflowError, match="gain must be finite"):
        gf.RNN.init(2, 1, gain=float("nan"))
    with pytest.raises(gf.GradflowError, match="init must be one of"):
        gf.RNN.init(2, 1, init="he")
