"""Fixed and slow points (gf.fixed_points, gradflow fixedpoints) against independent references.

The references share nothing with gradflow.analysis.fixedpoints: closed forms (the origin of a
contracting tanh RNN, the 3^n points of tanh(2 s) = s per unit, the ghost of a saddle-node
bifurcation), roots by Brent's method, the cells re-evaluated by the plain numpy steps of
tests/naive.py, their Jacobians by central differences and their eigenvalues by numpy.
"""

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import brentq

import gradflow as gf
from gradflow.cli import main

from conftest import make
from naive import central_difference_jacobian, rnn_step, step_function


def tanh_rnn(W_h, b_h=None, inputs=2, seed=0):
    n = W_h.shape[0]
    W_x = np.random.default_rng(seed).standard_normal((n, inputs))
    return gf.RNN({"W_h": W_h, "W_x": W_x, "b_h": np.zeros(n) if b_h is None else b_h})


def assert_same_eigenvalues(found, reference, tolerance):
    """Each reference eigenvalue matched to a distinct found one within ``tolerance``."""
    found = list(found)
    assert len(found) == len(reference)
    for value in reference:
        distances = [abs(value - f) for f in found]
        best = int(np.argmin(distances))
        assert distances[best] <= tolerance, (value, found)
        found.pop(best)


def reference_timescales(eigenvalues):
    return [None if abs(v) >= 1 else -1.0 / math.log(abs(v)) for v in eigenvalues]


@pytest.mark.parametrize("init", ["orthogonal", "gaussian"])
def test_contracting_tanh_rnn_has_the_origin_alone(init):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5))
    if init == "orthogonal":
        W_h = 0.8 * np.linalg.qr(A)[0]
    else:
        W_h = 0.9 * A / np.abs(np.linalg.eigvals(A)).max()
    model = tanh_rnn(W_h)
    result = gf.fixed_points(model, starts=32)
    assert len(result.points) == 1
    (point,) = result.points
    assert point.kind == "fixed" and point.q < 1e-20
    assert np.abs(point.state).max() < 1e-10
    assert point.stable and point.unstable_dimensions == 0
    reference = np.linalg.eigvals(W_h)  # J = diag(tanh'(0)) W_h = W_h
    assert_same_eigenvalues(point.eigenvalues, reference, 1e-10)
    assert point.spectral_radius == pytest.approx(np.abs(reference).max(), abs=1e-10)
    moduli = np.abs(point.eigenvalues)
    assert np.all(np.diff(moduli) <= 1e-12)  # by descending modulus
    expected = reference_timescales(point.eigenvalues)
    assert point.timescales == pytest.approx(expected, rel=1e-12)
    assert point.slowest_timescale == pytest.approx(-1 / math.log(np.abs(reference).max()),
                                                    rel=1e-9)


@pytest.mark.parametrize("n, starts", [(2, 64), (3, 256)])
def test_tanh_rnn_with_gain_two_has_all_three_to_the_n_points(n, starts):
    gain = 2.0
    a = brentq(lambda s: math.tanh(gain * s) - s, 0.5, 1.0, xtol=1e-15)
    expected = [np.array(p) for p in itertools.product((-a, 0.0, a), repeat=n)]
    model = tanh_rnn(gain * np.eye(n), inputs=1)
    x = np.zeros(1)
    result = gf.fixed_points(model, starts=starts)
    assert len(result.fixed) == 3 ** n and not result.slow
    w = model.weights
    for s_star in expected:
        matches = [p for p in result.points if np.abs(p.state - s_star).max() < 1e-10]
        assert len(matches) == 1, s_star
        point = matches[0]
        zeros = int(np.sum(s_star == 0.0))
        assert point.unstable_dimensions == zeros
        assert point.stable == (zeros == 0)
        J = central_difference_jacobian(lambda s: rnn_step(w, "tanh", s, x), s_star)
        assert_same_eigenvalues(point.eigenvalues, np.linalg.eigvals(J), 1e-9)
        # and the closed form gain * (1 - s*^2) per unit
        assert_same_eigenvalues(point.eigenvalues, gain * (1 - s_star ** 2), 1e-12)
        doc = point.to_dict()
        assert sum(t is None for t in doc["timescales"]) == zeros


def test_ghost_of_a_saddle_node_is_a_slow_point():
    # tanh(2 s + b) = s: two roots merge at s = 1/sqrt(2) for b = b_c; just below b_c a ghost
    # stays where g(s) = tanh(2 s + b) - s is largest, at 2 sech^2(2 s + b) = 1.
    u = math.atanh(1 / math.sqrt(2))
    b = (u - math.sqrt(2)) - 1e-3
    ghost = (u - b) / 2
    ghost_q = 0.5 * (math.tanh(u) - ghost) ** 2
    root = brentq(lambda s: math.tanh(2 * s + b) - s, -1.0, 0.0, xtol=1e-15)
    model = gf.RNN({"W_h": [[2.0]], "W_x": [[0.0]], "b_h": [b]})
    result = gf.fixed_points(model, starts=32)
    (fixed,) = result.fixed
    (slow,) = result.slow
    assert fixed.state[0] == pytest.approx(root, abs=1e-12) and fixed.stable
    assert slow.state[0] == pytest.approx(ghost, abs=1e-6)
    assert slow.q == pytest.approx(ghost_q, rel=1e-6)
    assert slow.kind == "slow" and 1e-20 < slow.q < 1e-6
    # at the ghost the slope of the map is 1: the slowest direction does not decay
    assert abs(slow.eigenvalues[0]) == pytest.approx(1.0, abs=1e-5)


def check_against_the_naive_cell(model, x, result):
    f = step_function(model)
    for point in result.points:
        assert point.state.shape == (model.state_size,)  # LSTM: the full (h, c)
        r = f(point.state, x) - point.state
        assert 0.5 * r @ r == pytest.approx(point.q, rel=1e-6, abs=1e-24)
        if point.kind == "fixed":
            assert np.linalg.norm(r) < math.sqrt(2 * result.fixed_tolerance)
        J = central_difference_jacobian(lambda s: f(s, x), point.state)
        reference = np.linalg.eigvals(J)
        assert_same_eigenvalues(point.eigenvalues, reference, 1e-6)
        assert point.spectral_radius == pytest.approx(np.abs(reference).max(), abs=1e-6)
        clear = np.abs(np.abs(reference) - 1) > 1e-6
        assert point.unstable_dimensions == np.sum(np.abs(reference[clear]) > 1)
        assert point.stable == (np.abs(reference).max() < 1)


def test_every_point_of_every_cell_checks_out_against_the_naive_cell(config):
    model = make(config, hidden=3, inputs=2, seed=4, gain=1.5)
    x = np.random.default_rng(5).standard_normal(2)
    result = gf.fixed_points(model, x, starts=48)
    assert result.fixed, result
    check_against_the_naive_cell(model, x, result)
    # the attractor the naive cell settles on, when it settles, is found and stable
    f = step_function(model)
    s = np.zeros(model.state_size)
    for _ in range(3000):
        s = f(s, x)
    if np.linalg.norm(f(s, x) - s) < 1e-13:
        near = [p for p in result.fixed if np.abs(p.state - s).max() < 1e-8]
        assert len(near) == 1 and near[0].stable


@pytest.mark.parametrize("variant", ["seed", "reset_after"])
def test_gru_points_lie_inside_the_cube_and_saturated_ends_are_not_reported(variant):
    # h* = Z h* + (1 - Z) Ht* with Z < 1 forces h* = Ht* in (-1, 1)^n; where the update gate
    # saturates, F(h) = h holds in float64 far outside, and those ends must not be reported.
    model = gf.GRU.init(4, 2, gain=3.0, seed=1, variant=variant)
    x = np.zeros(2)
    result = gf.fixed_points(model, starts=64)
    assert result.degenerate > 0
    assert len(result.fixed) == 3 and not result.slow
    assert sorted(p.unstable_dimensions for p in result.points) == [0, 0, 1]
    for point in result.points:
        assert np.abs(point.state).max() < 1
    check_against_the_naive_cell(model, x, result)


def test_seeded_and_deterministic_and_starts_can_be_given():
    model = make((gf.GRU, {"variant": "seed"}), hidden=3, inputs=2, seed=1, gain=2.0)
    xs = np.random.default_rng(2).standard_normal((2, 20, 2))
    one = gf.fixed_points(model, starts=24, inputs=xs, seed=7)
    two = gf.fixed_points(model, starts=24, inputs=xs, seed=7)
    assert one.to_json() == two.to_json()
    assert one.starts == 24 and one.fixed
    given = np.stack([p.state for p in one.points])
    again = gf.fixed_points(model, starts=given + 1e-3)
    assert again.starts == len(given)
    for point in one.fixed:
        assert any(np.abs(p.state - point.state).max() < 1e-9 for p in again.fixed)


def test_json_document_has_no_inf_or_nan_and_pairs_for_eigenvalues():
    model = tanh_rnn(np.array([[0.5, -1.5], [1.5, 0.5]]))
    result = gf.fixed_points(model, starts=16)
    text = result.to_json()
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert doc["fixed_count"] == len(result.fixed) and doc["slow_count"] == len(result.slow)
    for point, entry in zip(result.points, doc["fixed_points"], strict=True):
        assert set(entry) >= {"state", "q", "stable", "unstable_dimensions", "spectral_radius",
                              "timescales", "eigenvalues", "kind"}
        pairs = np.array(entry["eigenvalues"])
        assert pairs.shape == (2, 2)
        np.testing.assert_array_equal(pairs[:, 0] + 1j * pairs[:, 1], point.eigenvalues)
    # a spiral: complex eigenvalues, |lambda| > 1 at the origin, so null timescales there
    (origin,) = [e for e in doc["fixed_points"] if max(map(abs, e["state"])) < 1e-12]
    assert origin["timescales"] == [None, None] and origin["unstable_dimensions"] == 2
    assert np.array(origin["eigenvalues"]) == pytest.approx(np.array([[0.5, 1.5], [0.5, -1.5]]),
                                                            abs=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"x": np.zeros(3)}, "x has shape (3,); expected (2,)"),
    ({"x": [np.nan, 0.0]}, "x: non-finite value"),
    ({"starts": 0}, "starts must be a positive integer; got 0"),
    ({"starts": 2.5}, "starts must be a positive integer; got 2.5"),
    ({"starts": np.zeros((4, 3))}, "starts has shape (4, 3); expected (4, 2)"),
    ({"starts": np.zeros((4, 2)), "inputs": np.zeros((5, 2))}, "only when starts is a number"),
    ({"inputs": np.zeros((5, 3))}, "inputs have shape (5, 3)"),
    ({"method": "bfgs"}, "method must be one of lm, trf; got 'bfgs'"),
    ({"fixed_tolerance": -1.0}, "fixed_tolerance must be >= 0; got -1.0"),
    ({"slow_tolerance": 1e-30}, "slow_tolerance must be >= fixed_tolerance (1e-20)"),
    ({"seed": -1}, "seed must be an integer >= 0; got -1"),
])
def test_bad_arguments_raise_naming_the_argument(kwargs, message):
    model = tanh_rnn(0.5 * np.eye(2))
    with pytest.raises(gf.GradflowError) as info:
        gf.fixed_points(model, **kwargs)
    assert message in str(info.value)


def test_an_exploding_cell_still_gives_its_fixed_point_without_warnings():
    model = gf.RNN.init(3, 2, gain=2000.0, seed=0, activation="relu")  # zero bias: F(0) = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = gf.fixed_points(model, starts=16)
    assert [p.state.tolist() for p in result.fixed] == [[0.0, 0.0, 0.0]]


def test_only_cells():
    with pytest.raises(gf.GradflowError, match="model must be a single cell"):
        gf.fixed_points(object())


# ---------------------------------------------------------------------------------- the CLI
def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "w.npz"
    make((gf.LSTM, {}), hidden=2, inputs=2, seed=3).save(path)
    return path


def test_cli_json_is_one_document_with_the_contract_keys(weights, tmp_path):
    x_path = tmp_path / "x.npy"
    np.save(x_path, np.array([0.5, -0.25]))
    xs_path = tmp_path / "xs.npy"
    np.save(xs_path, np.random.default_rng(0).standard_normal((3, 10, 2)))
    r = invoke("fixedpoints", weights, "--input", x_path, "--inputs", xs_path, "--starts", 12,
               "--seed", 1, "--json")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\n") == 1
    doc = json.loads(r.stdout)
    assert doc["input"] == [0.5, -0.25] and doc["starts"] == 12 and doc["seed"] == 1
    assert doc["fixed_points"]
    for entry in doc["fixed_points"]:
        assert set(entry) >= {"state", "q", "stable", "unstable_dimensions",
                              "spectral_radius", "timescales"}
        assert len(entry["state"]) == 4  # LSTM: concat(h, c)
    model = gf.load(weights)
    f = step_function(model)
    s = np.array(doc["fixed_points"][0]["state"])
    assert np.linalg.norm(f(s, np.array([0.5, -0.25])) - s) < 1e-10


def test_cli_table(weights):
    r = invoke("fixedpoints", weights, "--starts", 8)
    assert r.exit_code == 0, r.output
    assert "fixed point" in r.stdout and "spectral radius" in r.stdout


def test_cli_errors_are_one_line(weights, tmp_path):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((2, 2)))
    cases = [
        (("fixedpoints", tmp_path / "missing.npz"), "missing.npz"),
        (("fixedpoints", weights, "--input", bad), "input has shape (2, 2); expected (2,)"),
        (("fixedpoints", weights, "--inputs", tmp_path / "none.npy"), "none.npy"),
    ]
    for args, fragment in cases:
        r = invoke(*args)
        assert r.exit_code == 1, r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error:") and fragment in lines[0]
        assert r.stdout == ""
    usage = invoke("fixedpoints", weights, "--starts", 0)
    assert usage.exit_code == 2


# ---------------------------------------------------------------- the fixed-point figure
def test_the_figure_draws_every_point_and_the_unit_circle():
    from matplotlib.figure import Figure

    from gradflow.report.fixedpoint_page import fixed_point_figure, principal_axes

    model = gf.RNN({"W_h": 2.0 * np.eye(3), "W_x": np.zeros((3, 1)), "b_h": np.zeros(3)})
    result = gf.fixed_points(model, starts=200, seed=1)
    runs = model.run(np.zeros((3, 30, 1)), np.random.default_rng(0).standard_normal((3, 3)))
    fig = fixed_point_figure(result, runs)
    assert isinstance(fig, Figure)
    eig, pc = fig.axes[:2]
    drawn = np.concatenate([c.get_offsets() for c in eig.collections])
    assert len(drawn) == sum(p.eigenvalues.size for p in result.points)
    circle = eig.lines[0].get_xydata()
    np.testing.assert_allclose(np.hypot(circle[:, 0], circle[:, 1]), 1.0, atol=1e-12)
    assert len(pc.collections) == len(result.points) and len(pc.lines) == 3
    # the projection: an axis of a cloud stretched along one direction is that direction
    cloud = np.outer(np.linspace(-1, 1, 50), [3.0, 4.0, 0.0]) / 5.0
    cloud += 1e-3 * np.random.default_rng(1).standard_normal(cloud.shape)
    _, axes, explained = principal_axes(cloud)
    assert abs(abs(axes[0] @ [0.6, 0.8, 0.0]) - 1) < 1e-4 and explained[0] > 0.99


def test_cli_writes_the_figure_and_refuses_other_formats(tmp_path):
    from PIL import Image

    path = tmp_path / "w.npz"
    gf.RNN.init(6, 2, gain=2.0, seed=3).save(path)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((3, 40, 2)))
    out = tmp_path / "fp.png"
    r = CliRunner().invoke(main, ["fixedpoints", str(path), "--inputs", str(tmp_path / "x.npy"),
                                  "--starts", "32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    pixels = np.asarray(Image.open(out).convert("L"))
    assert pixels.shape[0] > 500 and (pixels < 128).mean() > 0.01
    bad = tmp_path / "fp.svg"
    r = CliRunner().invoke(main, ["fixedpoints", str(path), "--starts", "8", "-o", str(bad)])
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and ".pdf or .png" in r.stderr
    assert not bad.exists()
