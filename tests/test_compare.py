"""``gf.compare`` and ``gradflow compare``: the seed notes' claims, measured."""

import json
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.analysis.compare import build
from gradflow.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def default():
    return gf.compare()


def test_parameter_counts_follow_the_closed_forms(default):
    n, d = 32, 4
    per_block = n * n + n * d + n
    expected = {"rnn-tanh": per_block, "rnn-relu": per_block, "lstm": 4 * per_block,
                "gru": 3 * per_block}
    for label, c in default.cells.items():
        assert c.parameters == expected[label]
        model = build(label, n, d)
        assert sum(w.size for w in model.weights.values()) == expected[label]
        assert c.parameter_formula.endswith(f"= {expected[label]}")
    assert default.gru_to_lstm_parameters == Fraction(3, 4)
    assert default.to_dict()["gru_to_lstm_parameters"] == 0.75


def test_parameters_do_not_grow_with_the_sequence_length(default):
    for c in default.cells.values():
        m = 2 * 32 if c.cell == "lstm" else 32
        assert set(c.parameters_by_length.values()) == {c.parameters}
        assert c.states_by_length == {T: (T + 1) * m for T in (10, 100, 1000)}


@pytest.mark.parametrize("seed", [0, 1])
def test_lstm_cell_path_keeps_the_gradient_far_longer_than_rnn_tanh(default, seed):
    r = default if seed == 0 else gf.compare(seed=seed, input_seed=seed)
    rnn = r.cells["rnn-tanh"].decay
    lstm = r.cells["lstm"].decay
    # gain 0.8 < 1: RNN-tanh loses its gradient within tens of steps
    assert rnn.verdict == "vanishing" and rnn.gradient_horizon <= 30
    # forget bias 1: the cell path keeps it at least twice as many steps, and decays slower
    assert lstm.cell_path.gradient_horizon >= 2 * rnn.gradient_horizon
    assert lstm.cell_path.decay_factor > rnn.decay_factor + 0.15


def test_a_larger_forget_bias_keeps_the_cell_path_open_for_hundreds_of_steps():
    r = gf.compare(hidden=16, steps=400, forget_bias=3.0, lengths=(5,))
    rnn = r.cells["rnn-tanh"].decay
    cell = r.cells["lstm"].decay.cell_path
    assert cell.gradient_horizon is None or cell.gradient_horizon >= 10 * rnn.gradient_horizon
    assert r.cells["lstm"].forget_gate["mean"] > 0.9


def test_summary_states_the_numbers(default):
    text = "\n".join(default.summary)
    lstm = default.cells["lstm"].decay
    assert f"cell path dc_T/dc_(T-k) falls below 0.001 at lag {lstm.cell_path.gradient_horizon}" \
        in text
    assert "GRU/LSTM = 3/4" in text
    assert "do not depend on the sequence length" in text


def test_cli_json_and_text():
    r = invoke("compare", "--hidden", 8, "--inputs", 3, "--steps", 120, "--gain", 0.7,
               "--lengths", "5,50", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert list(doc["cells"]) == ["rnn-tanh", "rnn-relu", "lstm", "gru"]
    assert doc["lengths"] == [5, 50] and doc["hidden"] == 8 and doc["gain"] == 0.7
    assert doc["cells"]["gru"]["parameters"] == 3 * 8 * (8 + 3 + 1)
    assert doc["cells"]["lstm"]["parameters_by_length"] == {"5": 384, "50": 384}
    assert {"cell_path", "hidden_path", "forget_gate"} <= set(doc["cells"]["lstm"])
    for c in doc["cells"].values():
        assert len(c["log10_norm2"]) == 121 and "lambda_1" in c and "gradient_horizon" in c
    lib = gf.compare(8, 3, 120, gain=0.7, lengths=(5, 50))
    np.testing.assert_array_equal(doc["cells"]["gru"]["log10_norm2"],
                                  lib.cells["gru"].decay.log10_norm2)
    text = invoke("compare", "--hidden", 8, "--inputs", 3, "--steps", 120, "--lengths", "5")
    assert text.exit_code == 0
    assert "4n(n + d + 1)" in text.stdout and "LSTM paths" in text.stdout
    assert "summary:" in text.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--lengths", "5,x"], 1, "--lengths must be comma-separated positive integers"),
        (["--lengths", "0"], 1, "lengths must be positive integers; got 0"),
        (["--gain", "inf"], 1, "gain must be finite"),
        (["--threshold", "3"], 1, "threshold must lie in (0, 1)"),
        (["--hidden", "0"], 2, "Invalid value for '--hidden'"),
    ],
)
def test_cli_errors(args, code, message):
    r = invoke("compare", "--hidden", 4, "--steps", 10, *args) if args[0] != "--hidden" else \
        invoke("compare", "--steps", 10, *args)
    assert r.exit_code == code, r.output
    assert message in r.stderr and r.stdout == ""


def test_the_line_up_is_the_registrys_compared_configurations():
    from gradflow.analysis.compare import line_up

    expected = [name for cls in gf.CELLS.values() for name in cls.compared]
    assert list(line_up()) == expected == ["rnn-tanh", "rnn-relu", "lstm", "gru"]
    assert line_up()["rnn-relu"] == (gf.RNN, {"activation": "relu"})
    # the forget bias reaches the cell whose init options take it, and no other
    lstm = build("lstm", 3, 2, init="orthogonal", forget_bias=2.5)
    np.testing.assert_array_equal(lstm["b_f"], np.full(3, 2.5))
    assert build("gru", 3, 2, forget_bias=2.5) == build("gru", 3, 2, forget_bias=0.0)
