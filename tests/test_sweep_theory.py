"""The sweep report's mean-field curve and critical gain, and results files from before ``leak``."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import quad

from gradflow.cli import main
from gradflow.report.phase_pages import phase_figure
from gradflow.report.phase_theory import theory_curves
from gradflow.sweep.grid import parse_grid
from gradflow.sweep.runner import run_sweep
from gradflow.sweep.store import read_results


def chi_by_quadrature(gain, input_variance):
    """chi = g^2 E[tanh'(sqrt(q) z)^2] at the fixed point q of q = g^2 E[tanh^2] + s2."""
    def mean(f, q):
        return quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                    -12, 12, epsabs=1e-13, limit=200)[0]

    q = 1.0
    for _ in range(2000):
        q = gain**2 * mean(lambda a: math.tanh(a) ** 2, q) + input_variance
    return gain**2 * mean(lambda a: (1 - math.tanh(a) ** 2) ** 2, q)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "tanh.csv"
    grid = parse_grid("gain=0.6,1.6 hidden=8 seed=0:2").with_values(steps=40, warmup=10,
                                                                    input_scale=0.5)
    run_sweep(grid, out)
    return out


def test_the_theory_curve_is_half_log_chi_and_marks_the_critical_gain(sweep):
    rows = read_results(sweep)
    theory = theory_curves(rows)["RNN-tanh"]
    assert theory.input_variance == pytest.approx(0.25)
    for i in (0, len(theory.gains) // 2, -1):
        g = theory.gains[i]
        assert theory.lambda_1[i] == pytest.approx(0.5 * math.log(chi_by_quadrature(g, 0.25)),
                                                   abs=1e-6)
    g_star = theory.critical_gain
    assert chi_by_quadrature(g_star, 0.25) == pytest.approx(1.0, abs=1e-6)
    r = CliRunner().invoke(main, ["sweep-report", str(sweep), "-o",
                                  str(sweep.with_suffix(".png")), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["theory"] == [theory.to_dict()]
    from gradflow.plot.phase_data import phase_diagram

    fig = phase_figure(phase_diagram(rows), theory={"RNN-tanh": theory})
    lam_ax, decay_ax = fig.axes[0], fig.axes[1]
    dotted = [line for line in lam_ax.lines if line.get_linestyle() == ":"]
    assert len(dotted) == 1
    np.testing.assert_allclose(dotted[0].get_ydata(), theory.lambda_1)
    decay_dotted = [line for line in decay_ax.lines if line.get_linestyle() == ":"]
    np.testing.assert_allclose(decay_dotted[0].get_ydata(), theory.lambda_1 / math.log(10))
    marks = [line for line in lam_ax.lines if line.get_linestyle() == "-."]
    assert marks and marks[0].get_xdata()[0] == pytest.approx(g_star)


def test_no_theory_for_gated_cells_or_mixed_input_scales(sweep, tmp_path):
    rows = read_results(sweep)
    assert theory_curves([{**r, "cell": "lstm", "kind": "LSTM", "activation": None}
                          for r in rows]) == {}
    mixed = [{**r, "input_scale": 0.1 * i} for i, r in enumerate(rows)]
    assert theory_curves(mixed) == {}
    leaky = [{**r, "leak": 0.5, "kind": "RNN-tanh (leak 0.5)"} for r in rows]
    assert theory_curves(leaky) == {}


def test_a_results_file_from_before_the_leak_column_still_reads(sweep, tmp_path):
    lines = sweep.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("leak")
    old = tmp_path / "old.csv"
    old.write_text("\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != at)
                             for line in lines) + "\n")
    rows = read_results(old)
    assert [r["leak"] for r in rows] == [None] * len(rows)
    new = read_results(sweep)
    assert [{k: v for k, v in r.items() if k != "leak"} for r in rows] == \
        [{k: v for k, v in r.items() if k != "leak"} for r in new]
