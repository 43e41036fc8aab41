"""A fourth cell defined through the registry alone reaches every front end.

The toy cell is a tanh RNN under other names (gate ``a``: ``W_ah, W_ax, b_a``) that reuses the
RNN kernel, so its numbers have an independent reference: the seed's RNN with the same
arrays.  Nothing in gradflow names it; if a front end kept its own list of cells, it would
miss it here.
"""

import json

import numpy as np
import pypdf
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.activations import activation_code
from gradflow.cells import configurations, register, unregister
from gradflow.cli import main
from gradflow.kernels import dispatch


class Toy(gf.Cell):
    """A tanh RNN with the gate letter ``a``."""

    cell = "toy"
    title = "Toy"
    gates = ("a",)
    gate_symbols = {"a": "A"}
    gate_nonlinearities = {"a": "tanh"}
    kernel_id = dispatch.RNN
    compared = ("toy",)
    position = 50

    def kernel_option(self):
        return activation_code("tanh")


@pytest.fixture
def toy():
    register(Toy)
    yield Toy
    unregister("toy")


def _twin(model):
    """The seed's tanh RNN with the toy's arrays: the independent reference."""
    w = model.weights
    return gf.RNN({"W_h": w["W_ah"], "W_x": w["W_ax"], "b_h": w["b_a"]}, activation="tanh")


def test_init_and_decay_on_the_command_line(toy, tmp_path):
    path = tmp_path / "toy.npz"
    runner = CliRunner()
    r = runner.invoke(main, ["init", "toy", "--hidden", "6", "--inputs", "2", "--gain", "1.5",
                             "-o", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["cell"] == "toy"
    model = gf.load(path)
    assert isinstance(model, Toy)
    assert model.weight_names() == ("W_ah", "W_ax", "b_a")
    assert model.parameter_count == 6 * (6 + 2 + 1)
    r = runner.invoke(main, ["decay", str(path), "--steps", "40", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    xs = np.random.default_rng(0).standard_normal((40, 2))
    reference = gf.decay(_twin(model), xs)
    assert doc["lags"] == list(range(41))
    np.testing.assert_allclose(np.array(doc["log10_norm2"], dtype=float),
                               reference.log10_norm2, rtol=0, atol=1e-12)


def test_python_api(toy):
    model = Toy.init(5, 3, init="orthogonal", gain=0.9, seed=4)
    xs = np.random.default_rng(1).standard_normal((30, 3))
    np.testing.assert_array_equal(model.run(xs), _twin(model).run(xs))
    np.testing.assert_allclose(gf.decay(model, xs).log10_norm2,
                               gf.decay(_twin(model), xs).log10_norm2, atol=1e-13)
    assert model.kind == "Toy"
    assert Toy.parameter_formula_for() == "n(n + d + 1)"
    assert configurations()["toy"] == (Toy, {})


def test_sweep_grids_take_it(toy):
    grid = gf.parse_grid("cell=toy,rnn-tanh hidden=4 steps=30 seed=0,1")
    points = list(grid.points())
    assert {p.cell for p in points} == {"toy", "rnn"}
    rows = [gf.evaluate_point(p) for p in points]
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    toy_rows = [r for r in rows if r["cell"] == "toy"]
    assert {r["kind"] for r in toy_rows} == {"Toy"}
    rnn_rows = {r["seed"]: r for r in rows if r["cell"] == "rnn"}
    for r in toy_rows:
        # the same seed draws the same arrays for a one-gate cell: the same numbers
        assert r["lambda_1"] == pytest.approx(rnn_rows[r["seed"]]["lambda_1"], abs=1e-12)


def test_compare_shows_it(toy):
    result = gf.compare(hidden=6, inputs=2, steps=40)
    assert "toy" in result.cells
    assert result.cells["toy"].parameters == 6 * (6 + 2 + 1)
    r = CliRunner().invoke(main, ["compare", "--hidden", "6", "--json"])
    assert r.exit_code == 0, r.output
    assert "toy" in json.loads(r.stdout)["cells"]


def test_the_report_draws_it(toy, tmp_path):
    path = tmp_path / "toy.npz"
    Toy.init(6, 2, gain=1.2, seed=1).save(path)
    out = tmp_path / "toy.pdf"
    r = CliRunner().invoke(main, ["report", str(path), "-o", str(out), "--steps", "60",
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    text = "".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    assert "Toy" in text
    assert "W_ah" in text
