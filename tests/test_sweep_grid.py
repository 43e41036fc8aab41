"""Sweep grids: the --grid syntax, TOML specs, point canonicalisation and stable keys."""

import hashlib

import pytest

import gradflow as gf
from gradflow.sweep.grid import parse_grid
from gradflow.sweep.point import SweepPoint, sweep_point
from gradflow.sweep.schema import result_columns
from gradflow.sweep.spec import load_spec


def values(text, name):
    return parse_grid(text).values(name)


def test_lists_and_ranges():
    assert values("gain=0.5:2.5:21", "gain") == tuple(round(0.5 + 0.1 * i, 10)
                                                      for i in range(21))
    assert values("gain=0.5:2.5:21", "gain")[1] == 0.6  # rounded, as typed
    assert values("seed=0:5", "seed") == (0, 1, 2, 3, 4)
    assert values("hidden=64:512:8", "hidden") == (64, 128, 192, 256, 320, 384, 448, 512)
    assert values("gain=2:1:3", "gain") == (2.0, 1.5, 1.0)
    assert values("gain=1.5:1.5:1", "gain") == (1.5,)
    assert values("hidden=128,512", "hidden") == (128, 512)
    assert values("cell=rnn-relu,lstm,gru-reset_after", "cell") == (
        "rnn-relu", "lstm", "gru-reset_after")
    assert values("gain=1e-1,2", "gain") == (0.1, 2.0)
    assert all(isinstance(v, int) for v in values("seed=0:3", "seed"))


def test_product_order_and_size():
    grid = parse_grid("cell=rnn,lstm gain=0.5:2.5:21 hidden=128,512 seed=0:5")
    points = grid.points()
    assert len(points) == 2 * 21 * 2 * 5
    assert [p.cell for p in points[:3]] == ["rnn"] * 3
    assert [(p.gain, p.hidden, p.seed) for p in points[:6]] == [
        (0.5, 128, 0), (0.5, 128, 1), (0.5, 128, 2), (0.5, 128, 3), (0.5, 128, 4),
        (0.5, 512, 0)]
    assert points[-1].cell == "lstm" and points[-1].gain == 2.5
    assert len({p.key for p in points}) == len(points)
    assert grid.describe() == "cell=rnn,lstm gain=0.5:2.5:21 hidden=128,512 seed=0:5"


def test_cell_options_apply_to_their_cell_only():
    grid = parse_grid("cell=rnn,lstm,gru forget_bias=0,1 variant=seed,reset_after")
    kinds = [(p.kind, p.forget_bias) for p in grid.points()]
    assert kinds == [("RNN-tanh", None), ("LSTM", 0.0), ("LSTM", 1.0), ("GRU", None),
                     ("GRU-reset_after", None)]
    points = parse_grid("cell=rnn activation=tanh,relu,sigmoid").points()
    assert [p.kind for p in points] == ["RNN-tanh", "RNN-relu", "RNN-sigmoid"]


def test_defaults_and_options():
    grid = parse_grid("gain=1").with_values(steps=50, warmup=10, k=1, input_scale=0.0)
    (point,) = grid.points()
    assert point == sweep_point(gain=1.0, steps=50, warmup=10, input_scale=0.0)
    assert (point.cell, point.activation, point.hidden, point.inputs, point.init, point.seed,
            point.h0_scale, point.threshold) == ("rnn", "tanh", 64, 1, "gaussian", 0, 0.0,
                                                 1e-3)
    assert "warmup=10" in grid.describe() and "steps=50" in grid.describe()


def test_keys_are_stable():
    point = sweep_point(cell="rnn-tanh", hidden=64, gain=1.5, seed=3, steps=400)
    # the key is a hash of the parameters: changing this value orphans every results file
    assert point.key == SweepPoint(**point.parameters()).key
    text = ('{"activation": "tanh", "cell": "rnn", "evaluation": 2, "forget_bias": null, '
            '"gain": 1.5, "h0_scale": 0.0, "hidden": 64, "init": "gaussian", '
            '"input_scale": 1.0, "inputs": 1, "k": 1, "seed": 3, "steps": 400, '
            '"threshold": 0.001, "variant": null, "warmup": 0}')
    assert point.key == hashlib.sha256(text.encode()).hexdigest()[:16] == "fc74cf256d9a93d6"
    assert sweep_point(cell="rnn", hidden=64, gain=1.5, seed=3, steps=400).key == point.key
    assert sweep_point(cell="rnn", hidden=64, gain=1.5, seed=4, steps=400).key != point.key
    assert sweep_point(cell="lstm", forget_bias=0.0).key == sweep_point(cell="lstm").key


@pytest.mark.parametrize(("text", "message"), [
    ("gain=0.5:2", "a range of gain needs a count"),
    ("seed=0:5:4", r"not all integers \(0, 1.667, 3.333, 5\); seed=0:5 gives the integers 0..4"),
    ("seed=3:3", "are none"),
    ("seed=5:2", "are none"),
    ("gain=1:2:1", "a count of 1 needs start == stop"),
    ("gain=1:2:0", "the count must be an integer"),
    ("gain=1:2:x", "'x' is not an integer"),
    ("gain=1:2:3:4", "a range is start:stop:count"),
    ("gain=1,2:3", "a list or a range, not both"),
    ("gain=abc", "'abc' is not a number"),
    ("gain=inf", "gain must be finite"),
    ("gain=1,,2", "an empty value"),
    ("gain=", "no values"),
    ("seed=1.5", "'1.5' is not an integer"),
    ("seed=-1", "seed must be non-negative"),
    ("hidden=0", "hidden must be positive"),
    ("h0_scale=-1", "h0_scale must be >= 0"),
    ("cell=rnn:lstm", "ranges are for numeric axes"),
    ("cell=transformer", "cell must be one of rnn, .*; got 'transformer'"),
    ("init=he", "init must be one of gaussian, .*; got 'he'"),
    ("width=3", "unknown axis 'width'"),
    ("gain", "'gain' is not name=values"),
    ("=3", "is not name=values"),
    ("gain=1 gain=2", "axis gain is given twice"),
    ("warmup=5", "warmup is shared by every point, not an axis; give it as --warmup"),
    ("forget_bias=1", "forget_bias applies to lstm only, and the grid has no lstm"),
    ("cell=rnn-tanh activation=relu", "cell=rnn-tanh fixes the activation"),
    ("cell=gru-seed variant=reset_after", "cell=gru-seed fixes the variant"),
    ("", "the grid is empty"),
    ("seed=0:1000 gain=0:1:1001", "the grid has 1,001,000 points; at most 1,000,000"),
])
def test_invalid_grids(text, message):
    with pytest.raises(gf.GradflowError, match=message):
        parse_grid(text)


def test_invalid_points_and_options():
    with pytest.raises(gf.GradflowError, match="k must be at most the state size 4"):
        parse_grid("hidden=4,8").with_values(k=5).points()
    assert parse_grid("cell=lstm hidden=4").with_values(k=8).points()[0].k == 8
    with pytest.raises(gf.GradflowError, match="threshold must lie in"):
        parse_grid("gain=1").with_values(threshold=2.0)
    with pytest.raises(gf.GradflowError, match="unknown sweep parameter 'width'"):
        sweep_point(width=3)
    with pytest.raises(gf.GradflowError, match="cell rnn-relu fixes the activation"):
        sweep_point(cell="rnn-relu", activation="tanh")


def test_spec(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '# the transition\n[grid]\ncell = "rnn-tanh"\nhidden = [64, 256]\n'
        'gain = "0.5:2:16"\nseed = "0:3"\ninput_scale = 0.05\nsteps = 400\n'
        'init = ["gaussian", "orthogonal"]\n\n[options]\nwarmup = 400\nk = 2\n')
    grid = load_spec(spec)
    points = grid.points()
    assert len(points) == 2 * 16 * 3 * 2
    assert {p.hidden for p in points} == {64, 256}
    assert {(p.warmup, p.k, p.steps, p.input_scale) for p in points} == {(400, 2, 400, 0.05)}
    assert points[1].gain == 0.5 and points[1].init == "orthogonal"
    same = parse_grid("cell=rnn-tanh hidden=64,256 gain=0.5:2:16 seed=0:3 input_scale=0.05 "
                      "steps=400 init=gaussian,orthogonal").with_values(warmup=400, k=2)
    assert [p.key for p in same.points()] == [p.key for p in points]
    assert grid.source == str(spec)


@pytest.mark.parametrize(("text", "message"), [
    ("[grid\ngain = 1\n", "not valid TOML"),
    ("[grdi]\ngain = [1.0]\n", "unknown entry 'grdi'"),
    ("gain = 1\n", "unknown entry 'gain'"),
    ('[grid]\nhidden = "big"\n', r"\[grid\] hidden: 'big' is not an integer"),
    ("[grid]\nhidden = 64.0\n", r"\[grid\] hidden: 64.0 is not an integer"),
    ("[grid]\nhidden = []\n", "an empty list"),
    ("[grid]\ngain = true\n", "True is not a float"),
    ("[grid]\ncell = 1\n", "1 is not a name"),
    ("[grid]\ngain = \"0.5:2\"\n", "a range of gain needs a count"),
    ("[grid]\nwidth = 3\n", r"\[grid\] width: unknown axis"),
    ("[grid]\nwarmup = 3\n", "put it under \\[options\\]"),
    ("[grid]\ngain = 1\n[options]\nsteps = 3\n", "steps is a grid axis; put it under"),
    ("[grid]\ngain = 1\n[options]\nwarm = 3\n", "unknown option"),
    ("[grid]\ngain = 1\n[options]\nk = 0\n", "k must be positive"),
    ("[options]\nk = 1\n", "the grid is empty"),
])
def test_invalid_specs(tmp_path, text, message):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    with pytest.raises(gf.GradflowError, match=message):
        load_spec(spec)


def test_spec_file_errors(tmp_path):
    with pytest.raises(gf.GradflowError, match="no such file"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(gf.GradflowError, match="is a folder"):
        load_spec(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[grid]")
    with pytest.raises(gf.GradflowError, match="not UTF-8"):
        load_spec(tmp_path / "bin.toml")


def test_columns():
    assert result_columns(2)[:4] == ["key", "kind", "cell", "activation"]
    assert "lambda_2" in result_columns(2) and "lambda_3" not in result_columns(2)
    assert result_columns(1)[-1] == "error"
