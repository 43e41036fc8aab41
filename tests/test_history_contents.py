"""Histories of the right format with wrong contents: one GradflowError naming the key."""

import io
import json
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import gradflow as gf
from gradflow import plot
from gradflow.plot.history import load_history


def _doc(**changes):
    doc = {"format": "gradflow-train-history",
           "trace": {"step": [1, 2, 3], "loss": [1.0, 0.7, 0.5]}}
    for key, value in changes.items():
        if key.startswith("trace_"):
            doc["trace"][key[6:]] = value
        else:
            doc[key] = value
    return doc


BAD = [
    (_doc(trace_loss=[1.0, "a", 0.5]), r"trace\.loss\[1\] is 'a'; expected a number or null"),
    (_doc(trace_grad_norm=[1.0, [2], 0.5]), r"trace\.grad_norm\[1\] is \[2\]; expected a number"),
    (_doc(trace_clipped=[True, "no", False]), r"trace\.clipped\[1\] is 'no'; expected true or"),
    (_doc(trace_step=[1, 2, 10**400]), r"trace\.step\[2\] is a 401-digit integer; .*at most 1e300"),
    (_doc(trace_step=[1, 2, 10**5000]), r"trace\.step\[2\] is a 5001-digit integer"),
    (_doc(trace_step=[1, 2.5, 3]), r"trace\.step\[1\] is 2\.5; steps are integers >= 0"),
    (_doc(trace_step=[-4, 2, 3]), r"trace\.step\[0\] is -4; steps are integers >= 0"),
    (_doc(trace_loss=[1.0, 1.7e308, 0.5]), r"trace\.loss\[1\] is 1\.7e\+308; .*at most 1e300"),
    (_doc(trace_loss=[1.0, np.nan, 0.5]), r"trace\.loss\[1\] is nan; a history holds finite"),
    (_doc(version=99), r"version is 99; this gradflow reads history versions 1 and 2"),
    (_doc(version="1"), r"version is '1'; this gradflow reads"),
    (_doc(config=None), r"config is null; it must be an object"),
    (_doc(snapshots=None), r"snapshots is null; it must be a list"),
    (_doc(task=[1]), r"task is not an object; it must be an object"),
    (_doc(snapshots=[{"eval_loss": 0.5}]), r"snapshots\[0\] has no step"),
    (_doc(snapshots=[{"step": -1}]), r"snapshots\[0\]\.step is -1; steps are integers >= 0"),
    (_doc(snapshots=[{"step": 1, "lag_mass": [1.0, "x"]}]),
     r"snapshots\[0\]\.lag_mass\[1\] is 'x'"),
    (_doc(snapshots=[{"step": 1, "decay": {"log10_norm2_output": [0.0, 1.7e308]}}]),
     r"snapshots\[0\]\.decay\.log10_norm2_output\[1\] is 1\.7e\+308"),
    (_doc(task={"baseline": "low"}), r"task\.baseline is 'low'; expected a number or null"),
    (_doc(config={"clip": "1"}), r"config\.clip is '1'; expected a number or null"),
]


@pytest.mark.parametrize(("doc", "message"), BAD, ids=[m[:28] for _, m in BAD])
def test_plot_history_of_a_dict_names_the_key_and_the_rule(doc, message):
    with pytest.raises(gf.GradflowError, match="^history: " + message):
        plot.plot_history(doc)


def test_a_file_is_named_before_the_key(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_doc(trace_grad_norm=[1.0, "big", 0.5])))
    with pytest.raises(gf.GradflowError, match=r"^.*run\.json: trace\.grad_norm\[1\] is 'big'"):
        load_history(path)
    path.write_text(json.dumps(_doc()).replace("0.7", "1e999"))
    with pytest.raises(gf.GradflowError,
                       match=r"run\.json: trace\.loss\[1\] is 1e999 \(beyond the float64 range\)"):
        load_history(path)


def test_the_versions_gradflow_writes_are_read():
    for version in (1, 2):
        assert plot.history.check_history(_doc(version=version))["version"] == version
    assert plot.history.check_history(_doc())["config"] == {}  # absent: empty, not refused


def _draw(ax):
    ax.figure.savefig(io.BytesIO(), format="png", dpi=30)


def test_norms_spanning_the_whole_float64_range_are_drawn_on_limits_that_hold_them():
    norms = [5e-324, 1.0, 1e299]
    ax = plot.plot_history(_doc(trace_grad_norm=norms), panel="grad_norm")
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and low <= norms[0] and high >= norms[-1]
    assert np.isfinite(high)
    _draw(ax)  # matplotlib's own margins and ticks would leave float64 here
    ax = plot.plot_history(_doc(trace_loss=[1e-200, 1e270, 2.0]), ax=Figure().subplots())
    assert ax.get_ylim()[0] <= 1e-200 and ax.get_ylim()[1] >= 1e270
    _draw(ax)


def test_a_lag_mass_of_zeros_says_so_instead_of_failing_on_a_log_scale():
    doc = _doc(snapshots=[{"step": 1, "lag_mass": [0.0, 0.0, 0.0]}])
    ax = plot.plot_history(doc, panel="lag_mass")
    assert any("above zero" in t.get_text() for t in ax.texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _draw(ax)


@pytest.mark.parametrize("losses", [[1e-200, 1e270, 2.0], [-3.0, -2.5, -2.0], [0.0, -1.0, 5.0]],
                         ids=["huge", "negative", "mixed"])
def test_the_comparison_page_draws_any_finite_losses(losses):
    from gradflow.report.training import comparison_page

    docs = [plot.history.check_history(_doc(trace_loss=losses, label=f"run {i}"))
            for i in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = comparison_page(docs)
        fig.savefig(io.BytesIO(), format="png", dpi=30)
    left = fig.axes[0]
    low, high = left.get_ylim()
    assert low <= min(losses) and high >= max(losses) and np.isfinite([low, high]).all()
    assert left.get_yscale() == ("log" if min(losses) > 0 else "linear")


def test_a_loss_panel_with_losses_at_or_below_zero_stays_linear_and_says_why():
    ax = plot.plot_history(_doc(trace_loss=[-3.0, -2.5, -2.0]), panel="loss")
    assert ax.get_yscale() == "linear" and "<= 0" in ax.get_ylabel()
    assert [float(y) for y in ax.get_lines()[0].get_ydata()] == [-3.0, -2.5, -2.0]
