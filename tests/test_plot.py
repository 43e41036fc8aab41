"""gradflow.plot draws the public results: on a given Axes or a new Figure, never via pyplot."""

import json
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import gradflow as gf
from gradflow import plot
from gradflow.analysis.flowmap import flow_map
from gradflow.analysis.product_spectrum import product_singular_values
from gradflow.cli import main

T, D = 40, 3


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((T, D))
    lstm = gf.LSTM.init(5, D, seed=0, forget_bias=1.0)
    rnn = gf.RNN.init(5, D, seed=1, gain=1.3, init="gaussian")
    net = gf.Network([(gf.GRU.init(4, D, seed=0),), (gf.GRU.init(4, 4, seed=1),)])
    run = lstm.run(xs)
    return {
        "xs": xs,
        "lstm": lstm,
        "decay": gf.decay(lstm, xs),
        "batch": gf.decay(lstm, rng.standard_normal((6, T, D))),
        "rnn_decay": gf.decay(rnn, xs),
        "net_decay": gf.decay(net, xs),
        "flow": flow_map(lstm, xs, ends=8),
        "lyapunov": gf.lyapunov(lstm, xs),
        "bptt": gf.bptt(lstm, xs, rng.standard_normal((T, 10)), by_lag=True),
        "spectrum": gf.spectrum(rnn, xs),
        "products": product_singular_values(lstm, xs, lags=10),
        "gates": lstm.gate_values(xs, run),
        "pre": lstm.pre_activations(xs, run),
    }


def _draws(results):
    """Every public plot function with a bare result of the public API."""
    from gradflow.activations import derivative

    act, a = results["pre"]["F"]
    return {
        "decay": lambda ax: plot.plot_decay(results["decay"], ax=ax),
        "decay_batch": lambda ax: plot.plot_decay(results["batch"], ax=ax),
        "decay_state": lambda ax: plot.plot_decay(results["decay"], ax=ax, curve="state"),
        "decay_input": lambda ax: plot.plot_decay(results["decay"], ax=ax, curve="input"),
        "decay_cell": lambda ax: plot.plot_decay(results["decay"], ax=ax, curve="cell"),
        "decay_layers": lambda ax: plot.plot_decay(results["net_decay"], ax=ax, curve="layers"),
        "flow_map": lambda ax: plot.plot_flow_map(results["flow"], ax=ax),
        "lyapunov": lambda ax: plot.plot_lyapunov(results["lyapunov"], ax=ax),
        "lyapunov_convergence": lambda ax: plot.plot_lyapunov_convergence(results["lyapunov"],
                                                                          ax=ax),
        "bptt_by_lag": lambda ax: plot.plot_bptt_by_lag(results["bptt"], ax=ax),
        "singular_values": lambda ax: plot.plot_singular_values(results["spectrum"], ax=ax),
        "jacobian_norms": lambda ax: plot.plot_jacobian_norms(results["spectrum"], ax=ax),
        "products": lambda ax: plot.plot_product_singular_values(results["products"], ax=ax),
        "gate_values": lambda ax: plot.plot_gate_values(results["gates"], ax=ax),
        "derivatives": lambda ax: plot.plot_derivative_histogram(derivative(act, a), act,
                                                                 ax=ax),
    }


def test_every_plot_draws_on_the_given_axes_or_a_new_figure_and_leaves_pyplot_alone(results):
    figures, params = plt.get_fignums(), dict(matplotlib.rcParams)
    for name, draw in _draws(results).items():
        ax = Figure().add_subplot()
        assert draw(ax) is ax, name
        assert ax.has_data(), name
        own = draw(None)
        assert isinstance(own, Axes) and own is not ax, name
        assert isinstance(own.figure, Figure) and own.has_data(), name
    assert plt.get_fignums() == figures
    assert dict(matplotlib.rcParams) == params


def test_decay_draws_the_result_s_own_curve_with_style_keywords(results):
    r = results["decay"]
    ax = plot.plot_decay(r, color="#123456", linewidth=3.5, label="mine")
    line = ax.lines[0]
    assert line.get_label() == "mine" and line.get_linewidth() == 3.5
    assert matplotlib.colors.to_hex(line.get_color()) == "#123456"
    np.testing.assert_array_equal(line.get_ydata(), r.log10_norm2_output)
    state = plot.plot_decay(r, curve="state").lines[0]
    np.testing.assert_array_equal(state.get_ydata(), r.log10_norm2)
    inputs = plot.plot_decay(r, curve="input").lines[0]
    assert inputs.get_xdata().tolist() == list(range(T))
    # the horizon dot sits on the curve at the gradient horizon
    r = gf.decay(results["lstm"], results["xs"], threshold=0.1)
    ax = plot.plot_decay(r)
    dots = [x for x in ax.lines if x.get_marker() == "o"]
    k = r.gradient_horizon
    assert k is not None and dots[0].get_xdata()[0] == k
    assert dots[0].get_ydata()[0] == r.log10_norm2_output[k]


def test_batch_draws_its_median_and_quantile_bands(results):
    b = results["batch"]
    ax = plot.plot_decay(b)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), b.log10_norm2_output)
    median = np.median(np.stack([s.log10_norm2_output for s in b.sequences]), axis=0)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), median)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(b.quantile_levels) // 2
    assert not [c for c in plot.plot_decay(b, bands=False).collections
                if isinstance(c, PolyCollection)]


def test_pascanu_bound_is_drawn_with_its_slope_and_the_curves_stay_in_view(results):
    r = results["rnn_decay"]
    assert r.bound is not None and r.bound > 1  # a bound that leaves the axes upwards
    ax = plot.plot_decay(r)
    plot.plot_decay(results["decay"], ax=ax)  # a second model refits the view
    bound = [x for x in ax.lines if x.get_linestyle() == "--"][0]
    np.testing.assert_allclose(bound.get_ydata(), np.arange(T + 1) * math.log10(r.bound))
    lo, hi = ax.get_ylim()
    for curve in (r.log10_norm2_output, results["decay"].log10_norm2_output):
        finite = curve[np.isfinite(curve)]
        assert lo <= finite.min() and finite.max() <= hi
    data = np.concatenate([r.log10_norm2_output, results["decay"].log10_norm2_output])
    assert hi - lo <= 1.7 * (data.max() - data.min()) + 1  # the bound does not squash them
    labels = [t.get_text() for t in ax.texts]
    assert any(t.startswith(f"bound {r.bound:.3g}") for t in labels)
    assert sum(t.startswith("threshold") for t in labels) == 1  # drawn once


def test_missing_curves_are_named_errors(results):
    with pytest.raises(gf.GradflowError, match="no 'cell' curve"):
        plot.plot_decay(results["rnn_decay"], curve="cell")
    with pytest.raises(gf.GradflowError, match="curve must be one of"):
        plot.plot_decay(results["decay"], curve="sideways")
    with pytest.raises(gf.GradflowError, match="needs a network"):
        plot.plot_decay(results["decay"], curve="layers")


def test_layers_draw_one_line_per_layer(results):
    r = results["net_decay"]
    ax = plot.plot_decay(r, curve="layers", label="net")
    curves = [x for x in ax.lines if x.get_label().startswith("net: layer")]
    assert len(curves) == 2
    for line, ref in zip(curves, r.log10_norm2_output_layers, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), np.where(np.isfinite(ref), ref, np.nan))


def test_flow_map_uses_a_sequential_scale_over_its_range(results):
    fm = results["flow"]
    mesh = plot.plot_flow_map(fm, colorbar=False).collections[0]
    values = fm.log10_norm2.compressed()
    assert (mesh.norm.vmin, mesh.norm.vmax) == pytest.approx((values.min(), values.max()))
    assert type(mesh.norm) is matplotlib.colors.Normalize
    assert plot.flow_map_range(fm, fm) == pytest.approx((values.min(), values.max()))


def test_lyapunov_and_bptt_draw_their_numbers(results):
    ly = results["lyapunov"]
    ax = plot.plot_lyapunov(ly, color="k")
    shown = ly.exponents[np.isfinite(ly.exponents) & (ly.exponents >= -6)]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), shown)
    assert "λ₁ = " + f"{ly.exponents[0]:+.3f}" in ax.lines[0].get_label()
    assert isinstance(plot.plot_lyapunov(ly.exponents), Axes)  # a bare array too
    g = results["bptt"]
    mass = plot.plot_bptt_by_lag(g).lines[0].get_ydata()
    ref = [np.sqrt(sum(np.sum(g.grads_by_lag[n][lag] ** 2) for n in g.grads_by_lag))
           for lag in range(T)]
    np.testing.assert_allclose(mass, ref, rtol=1e-12)
    share = plot.plot_bptt_by_lag(g, normalise=True).lines[0].get_ydata()
    assert np.nansum(share) == pytest.approx(1.0)


def test_product_singular_values_against_numpy(results):
    ps = results["products"]
    lstm, xs = results["lstm"], results["xs"]
    J = lstm.step_jacobians(xs)
    k = int(ps.lags[3])
    P = np.eye(lstm.state_size)
    for j in range(k):
        P = P @ J[T - 1 - j]
    ref = np.log10(np.linalg.svd(P, compute_uv=False))
    got = ps.log10_singular_values[3]
    keep = np.isfinite(got)
    np.testing.assert_allclose(got[keep], ref[keep], atol=1e-9)
    assert got[0] == pytest.approx(results["decay"].log10_norm2[k], abs=1e-9)


def test_gate_values_say_open_and_closed(results):
    ax = plot.plot_gate_values(results["gates"])
    _, labels = ax.get_legend_handles_labels()
    F = results["gates"]["F"]
    assert f"F: mean {F.mean():.2f}" in labels[0]
    assert f"open {100 * np.mean(F > 0.9):.0f}%" in labels[0]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("history") / "run.json"
    r = CliRunner().invoke(main, ["train", "--cell", "rnn", "--task", "adding", "--length", "8",
                                  "--hidden", "3", "--steps", "12", "--batch", "2",
                                  "--log-every", "4", "--quiet", "--history", str(path)])
    assert r.exit_code == 0, r.output
    return path


def test_history_panels_from_a_path_or_a_document(history):
    doc = json.loads(history.read_text())
    for panel in plot.history.PANELS:
        a = plot.plot_history(history, panel=panel)
        b = plot.plot_history(doc, panel=panel, ax=Figure().add_subplot())
        if panel == "floss":  # this run did not floss (tests/test_plot_floss.py draws one)
            assert not a.has_data() and "no gradient flossing" in b.texts[0].get_text()
            continue
        assert a.has_data() and b.has_data(), panel
    loss = plot.plot_history(history, color="#abcdef").lines[0]
    np.testing.assert_array_equal(loss.get_ydata(), doc["trace"]["loss"])
    with pytest.raises(gf.GradflowError, match="panel must be one of"):
        plot.plot_history(doc, panel="weather")


def test_history_without_optional_fields_says_what_is_missing(tmp_path):
    doc = {"format": "gradflow-train-history", "trace": {"step": [0, 1], "loss": [1.0, 0.5]}}
    ax = plot.plot_history(doc, panel="grad_norm")
    assert "no gradient norms" in ax.texts[0].get_text()
    assert "per-lag" in plot.plot_history(doc, panel="lag_mass").texts[0].get_text()


def test_phase_from_sweep_rows_draws_the_median_over_seeds(tmp_path):
    from gradflow.sweep.store import read_results

    out = tmp_path / "r.csv"
    r = CliRunner().invoke(main, ["sweep", "--grid", "cell=rnn-tanh gain=0.5:1.5:3 hidden=4 "
                                  "seed=0:3", "--steps", "30", "-o", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    rows = read_results(out)
    ax = plot.plot_phase(rows)
    gains = sorted({row["gain"] for row in rows})
    median = [np.median([row["lambda_1"] for row in rows if row["gain"] == g]) for g in gains]
    line = [x for x in ax.lines if x.get_marker() not in (None, "None", "")][0]
    np.testing.assert_allclose(line.get_ydata(), median)
    for quantity in ("decay", "chaotic_fraction"):
        assert plot.plot_phase(rows, quantity=quantity).has_data()
    with pytest.raises(gf.GradflowError, match="kind must be one of"):
        plot.plot_phase(rows, kind="LSTM")
