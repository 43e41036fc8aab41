"""plot_floss_exponents draws a real flossing run's exponents, as the history records them."""

import copy
import json

import numpy as np
import pytest
from matplotlib.figure import Figure

import gradflow as gf
from gradflow import plot


@pytest.fixture(scope="module")
def flossed():
    return gf.train("rnn", "adding", 12, 5, 4, batch=4, eval_batch=8, lag_batch=2, threads=1,
                    seed=3, floss=3, floss_schedule="pre:3,every:2", floss_target=-0.1).history


def _exponent_lines(ax):
    return [line for line in ax.lines if not line.get_label().startswith("target")]


def test_lines_hold_the_history_s_exponents_at_their_steps(flossed):
    trace = flossed["floss"]["trace"]
    assert trace["step"] == [0, 0, 0, 2, 4]  # 3 before training, then after steps 2 and 4
    ax = Figure().add_subplot()
    assert plot.plot_floss_exponents(flossed, ax=ax) is ax
    lines = _exponent_lines(ax)
    assert [line.get_label() for line in lines] == ["λ₁", "λ₂", "λ₃"]
    expected = np.array(trace["exponents"], dtype=float)
    for i, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_ydata(), expected[:, i])
        # the pre-training steps one apart, ending at step 0; the others at their training step
        np.testing.assert_array_equal(line.get_xdata(), [-2, -1, 0, 2, 4])
    target = [line for line in ax.lines if line.get_label() == "target -0.1"]
    assert len(target) == 1 and set(target[0].get_ydata()) == {-0.1}
    # the same panel through plot_history, from a file, and the first k only
    again = plot.plot_history(flossed, panel="floss", ax=Figure().add_subplot(), color="#abcdef")
    np.testing.assert_array_equal(_exponent_lines(again)[0].get_ydata(), expected[:, 0])
    assert _exponent_lines(again)[0].get_color() == "#abcdef"
    two = plot.plot_floss_exponents(flossed, k=2, label="run")
    assert [line.get_label() for line in _exponent_lines(two)] == ["run: λ₁", "λ₂"]


def test_from_a_file_and_refusals(flossed, tmp_path):
    path = tmp_path / "floss.json"
    path.write_text(json.dumps(flossed))
    ax = plot.plot_floss_exponents(path)
    np.testing.assert_array_equal(_exponent_lines(ax)[2].get_ydata(),
                                  [e[2] for e in flossed["floss"]["trace"]["exponents"]])
    with pytest.raises(gf.GradflowError, match=r"k must be in \[1, 3\]"):
        plot.plot_floss_exponents(flossed, k=4)
    broken = copy.deepcopy(flossed)
    broken["floss"]["trace"]["exponents"][1] = [0.1]
    with pytest.raises(gf.GradflowError, match="the same k numbers"):
        plot.plot_history(broken, panel="loss")
    broken["floss"]["trace"]["exponents"] = broken["floss"]["trace"]["exponents"][:2]
    path.write_text(json.dumps(broken))
    with pytest.raises(gf.GradflowError, match="floss.json: floss.trace.phase and"):
        plot.load_history(path)


def test_a_failed_batch_is_a_gap_and_a_plain_run_says_it_did_not_floss(flossed):
    doc = copy.deepcopy(flossed)
    doc["floss"]["trace"]["exponents"][3] = [None, None, None]
    y = _exponent_lines(plot.plot_floss_exponents(doc))[0].get_ydata()
    assert np.isnan(y[3]) and np.isfinite(np.delete(y, 3)).all()
    plain = {"format": "gradflow-train-history", "trace": {"step": [1], "loss": [1.0]}}
    ax = plot.plot_history(plain, panel="floss")
    assert not ax.lines and "no gradient flossing" in ax.texts[0].get_text()
