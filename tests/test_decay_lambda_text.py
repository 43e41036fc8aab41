"""``gradflow decay``'s reading states lambda_1 with its standard error and its warm-up."""

import json
import re

from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

LAMBDA = re.compile(r"lambda_1 = ([-+][0-9.e+-]+) \+/- ([0-9.e+-]+) per step along the same "
                    r"trajectory \(after a warm-up of (\d+) steps\)")


def _run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.stdout


def test_printed_lambda_1_and_standard_error_are_those_of_the_json(tmp_path):
    path = tmp_path / "rnn.npz"
    gf.RNN.init(8, 3, init="gaussian", gain=1.0, seed=0).save(path)
    text = _run("decay", path, "--steps", 120)
    doc = json.loads(_run("decay", path, "--steps", 120, "--json"))
    found = LAMBDA.findall(text)
    assert len(found) == 1, text
    lam, error, warmup = found[0]
    assert doc["lambda_1_stderr"] is not None and doc["lambda_1_stderr"] > 0
    # printed to 4 and 2 significant digits: equal to the JSON's numbers at that precision
    assert float(lam) == float(f"{doc['lambda_1']:.4g}")
    assert float(error) == float(f"{doc['lambda_1_stderr']:.2g}")
    assert abs(float(error) - doc["lambda_1_stderr"]) <= 0.051 * doc["lambda_1_stderr"]
    assert int(warmup) == doc["warmup"] == doc["fit_lags"][0]


def test_a_run_too_short_for_an_error_prints_lambda_1_alone(tmp_path):
    path = tmp_path / "rnn.npz"
    gf.RNN.init(4, 2, seed=1).save(path)
    doc = json.loads(_run("decay", path, "--steps", 6, "--json"))
    text = _run("decay", path, "--steps", 6)
    assert doc["lambda_1_stderr"] is None
    assert "lambda_1 = " in text and "+/- " not in text.split("lambda_1 = ")[1].split("\n")[0]
