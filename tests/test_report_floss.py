"""``gradflow report --history`` of a flossing run: its training page shows the exponents."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

from gradflow.cli import main

pypdf = pytest.importorskip("pypdf")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def histories(tmp_path_factory):
    folder = tmp_path_factory.mktemp("floss")
    base = ["train", "--cell", "gru", "--task", "adding", "--length", 10, "--hidden", 4,
            "--steps", 6, "--batch", 4, "--eval-batch", 8, "--log-every", 3, "--seed", 1, "-q"]
    paths = {}
    for name, extra in (("plain", []), ("flossed", ["--floss", 2, "--floss-schedule",
                                                    "pre:4,every:2"])):
        paths[name] = folder / f"{name}.json"
        r = invoke(*base, *extra, "--history", paths[name])
        assert r.exit_code == 0, r.output
    return paths


def test_the_training_page_of_a_flossing_run_has_the_floss_panel(histories, tmp_path):
    pages = {}
    for name, path in histories.items():
        out = tmp_path / f"{name}.pdf"
        r = invoke("report", "--history", path, "-o", out, "-q")
        assert r.exit_code == 0, r.output
        pages[name] = [p.extract_text() for p in pypdf.PdfReader(out).pages]
    assert len(pages["flossed"]) == len(pages["plain"]) == 1
    assert "Gradient flossing" in pages["flossed"][0]
    assert "4 flossing steps before training" in pages["flossed"][0]
    assert "Gradient flossing" not in pages["plain"][0]
    for words in ("Training: flossed", "Gradient norm", "Per-lag gradient mass"):
        assert words in pages["flossed"][0]
    png = tmp_path / "flossed.png"
    assert invoke("report", "--history", histories["flossed"], "-o", png, "-q").exit_code == 0
    assert imread(png)[..., :3].std() > 0.05


def test_the_floss_panel_draws_the_recorded_exponents(histories):
    from gradflow.plot.history import load_history
    from gradflow.report.training import training_page

    doc = load_history(histories["flossed"])
    fig = training_page(doc)
    assert len(fig.axes) == 5 and len(training_page(load_history(histories["plain"])).axes) == 4
    floss_ax = [ax for ax in fig.axes if ax.get_title().startswith("Gradient flossing")]
    assert len(floss_ax) == 1
    lines = [line for line in floss_ax[0].lines if line.get_label().startswith("λ")]
    recorded = np.array(json.loads(histories["flossed"].read_text())["floss"]["trace"]
                        ["exponents"], dtype=float)
    assert recorded.shape == (4 + 3, 2)  # 4 before training, after steps 2, 4 and 6
    for i, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_ydata(), recorded[:, i])
        np.testing.assert_array_equal(line.get_xdata(), [-3, -2, -1, 0, 2, 4, 6])
