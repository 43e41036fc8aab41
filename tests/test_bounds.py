"""``gf.bounds`` and ``gradflow bounds``: analytic suprema and the derivatives a run meets."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

import _analysis_refs as refs
from conftest import CONFIG_IDS, CONFIGS, inputs, make

EXPECTED_GATES = {
    "rnn": ["H"],
    "lstm": ["F", "I", "O", "Ct", "tanh(C)"],
    "gru": ["R", "Z", "Ht"],
}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_analytic_bounds_alone():
    r = gf.bounds()
    assert r.model is None
    assert {n: b.gamma for n, b in r.activations.items()} == {
        "tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}
    assert r.activations["sigmoid"].attained_at == "z = 0"
    assert r.activations["relu"].attained_at == "z > 0"
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["activations"]["sigmoid"]["derivative_range"] == [0.0, 0.25]
    assert "gates" not in doc


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_derivatives_met_match_a_per_step_reference(config):
    model = make(config, hidden=5, inputs=3, seed=2, gain=1.3)
    xs = 2.0 * inputs(40, 3, seed=1)
    s0 = np.random.default_rng(0).uniform(-0.5, 0.5, model.state_size)
    r = gf.bounds(model, xs, s0, saturation=0.05, quantiles=(0.1, 0.5, 0.9))
    ref = refs.gate_derivatives(model, xs, s0)
    assert list(r.gates) == EXPECTED_GATES[model.cell] == list(ref)
    for name, g in r.gates.items():
        values = ref[name]
        gamma = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}[g.activation]
        assert g.gamma == gamma and g.count == values.size == 40 * 5
        assert g.mean == pytest.approx(values.mean(), rel=1e-12, abs=1e-15)
        assert g.maximum == pytest.approx(values.max(), rel=1e-12, abs=1e-15)
        assert g.minimum == pytest.approx(values.min(), rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(g.quantiles, np.quantile(values, [0.1, 0.5, 0.9]),
                                   rtol=1e-10, atol=1e-15)
        assert g.fraction_saturated == np.mean(values < 0.05 * gamma)
        np.testing.assert_allclose(g.unit_mean, values.mean(axis=0), rtol=1e-10, atol=1e-15)
        assert g.maximum <= gamma
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert set(doc["gates"]) == set(EXPECTED_GATES[model.cell])
    assert doc["steps"] == 40 and doc["batch"] is None


def test_saturated_sigmoid_rnn_is_reported_as_saturated():
    # a large bias drives every unit deep into sigmoid's flat tail: f' ~ e^-8 < 1% of 1/4
    model = gf.RNN({"W_h": 0.1 * np.eye(3), "W_x": 0.1 * np.ones((3, 1)), "b_h": 8 * np.ones(3)},
                   activation="sigmoid")
    g = gf.bounds(model, inputs(50, 1)).gates["H"]
    assert g.fraction_saturated == 1.0 and g.maximum < 0.0025


def test_dead_relu_units_are_the_never_active_ones():
    b = np.array([5.0, -50.0, 0.0, -50.0])
    W_x = np.array([[0.0], [1.0], [1.0], [1.0]])
    model = gf.RNN({"W_h": np.zeros((4, 4)), "W_x": W_x, "b_h": b}, activation="relu")
    xs = inputs(30, 1)
    g = gf.bounds(model, xs).gates["H"]
    assert g.dead_units == (1, 3)
    a = xs @ W_x.T + b
    assert g.fraction_saturated == np.mean(a <= 0)
    doc = gf.bounds(model, xs).to_dict()["gates"]["H"]
    assert doc["dead_units"] == [1, 3] and doc["dead_unit_count"] == 2
    # in a batch, a unit is dead only if no sequence ever wakes it
    wake = np.full((1, 30, 1), 100.0)
    batch = np.concatenate([xs[None], wake])
    assert gf.bounds(model, batch).gates["H"].dead_units == ()


def test_batch_pools_every_sequence():
    model = make(CONFIGS[3], hidden=3, inputs=2, seed=1)
    xs = np.stack([inputs(12, 2, seed=s) for s in range(3)])
    r = gf.bounds(model, xs)
    assert r.batch == 3 and r.steps == 12
    for name, g in r.gates.items():
        values = np.concatenate([refs.gate_derivatives(model, x)[name] for x in xs])
        assert g.count == values.size
        assert g.mean == pytest.approx(values.mean(), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xs": np.zeros((3, 2))}, "inputs were given without a model"),
        ({"model": "rnn"}, "inputs are required"),
        ({"saturation": 1.5}, "saturation must lie in"),
        ({"quantiles": (0.5, 1.0)}, "quantiles must lie in"),
    ],
)
def test_bad_arguments(kwargs, message):
    if kwargs.get("model") == "rnn":
        kwargs["model"] = gf.RNN.init(3, 2)
    with pytest.raises(gf.GradflowError, match=message):
        gf.bounds(**kwargs)


def test_cli_without_weights_prints_the_analytic_bounds():
    r = invoke("bounds", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["models"] == []
    assert doc["activations"]["tanh"]["gamma"] == 1.0
    text = invoke("bounds").stdout
    assert "sigmoid" in text and "0.25" in text and "z > 0" in text
    assert invoke("bounds", "--inputs", "x.npy").exit_code == 2


def test_cli_with_several_weights_files(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    gf.RNN.init(4, 2, seed=0, activation="relu").save(a)
    gf.GRU.init(4, 2, seed=0).save(b)
    r = invoke("bounds", a, b, "--steps", 25, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [m["weights"] for m in doc["models"]] == [str(a), str(b)]
    assert list(doc["models"][1]["gates"]) == ["R", "Z", "Ht"]
    xs = np.random.default_rng(0).standard_normal((25, 2))
    ref = refs.gate_derivatives(gf.load(a), xs)["H"]
    assert doc["models"][0]["gates"]["H"]["mean"] == pytest.approx(ref.mean(), rel=1e-12)
    assert "dead_units" in doc["models"][0]["gates"]["H"]
    text = invoke("bounds", a, b, "--steps", 25).stdout
    assert "dead relu units" in text and "Ht" in text and "saturated" in text
