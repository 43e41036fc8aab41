"""Reports opened and inspected: page counts, extractable text, non-blank pixels."""

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.image import imread

import gradflow as gf
from gradflow.cli import main

pypdf = pytest.importorskip("pypdf")
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def pdf_text(path):
    reader = pypdf.PdfReader(path)
    return reader, [page.extract_text() for page in reader.pages]


def test_single_lstm_pdf_has_six_pages_and_a_text_summary(tmp_path):
    w = tmp_path / "lstm.npz"
    gf.LSTM.init(8, 3, seed=2, forget_bias=1.0).save(w)
    out = tmp_path / "r.pdf"
    r = invoke("report", w, "-o", out, "--steps", 60, "--quiet")
    assert r.exit_code == 0, r.output
    reader, pages = pdf_text(out)
    assert len(pages) >= 6
    first = pages[0]
    for word in ("lstm", "W_fh", "W_ih", "W_oh", "W_ch", "verdict", "horizon"):
        assert word in first
    model = gf.load(w)
    ref = gf.decay(model, np.random.default_rng(0).standard_normal((60, 3)))
    assert ref.verdict in first
    assert f"{model.parameter_count:,}" in first
    assert reader.metadata["/Title"].startswith("gradflow report")
    joined = "\n".join(pages)
    for title in ("flow map", "Singular values", "Lyapunov", "cell path", "derivatives"):
        assert title.lower() in joined.lower()


def test_comparison_pdf_names_every_cell(tmp_path):
    paths = []
    for name, model in [("tanh", gf.RNN.init(6, 2, seed=1)),
                        ("sig", gf.RNN.init(6, 2, seed=1, activation="sigmoid")),
                        ("gate", gf.GRU.init(6, 2, seed=1, variant="reset_after"))]:
        paths.append(tmp_path / f"{name}.npz")
        model.save(paths[-1])
    out = tmp_path / "cmp.pdf"
    r = invoke("report", *paths, "-o", out, "--steps", 40, "--quiet")
    assert r.exit_code == 0, r.output
    _, pages = pdf_text(out)
    for label in ("tanh", "sig", "gate", "W_rh", "W_h"):
        assert label in pages[0]
    assert "GRU-reset_after" in "\n".join(pages)


def test_default_png_dashboard_is_large_and_not_blank(tmp_path):
    out = tmp_path / "d.png"
    r = invoke("report", "-o", out, "--steps", 50, "--quiet")
    assert r.exit_code == 0, r.output
    img = imread(out)
    height, width = img.shape[:2]
    assert width >= 1600 and height >= 1200
    rgb = img[..., :3]
    non_white = np.mean(rgb.min(axis=2) < 0.95)
    assert non_white > 0.05
    assert rgb.std() > 0.05
    # every default cell's colour appears somewhere
    for hexcolor in ("#d62728", "#9467bd", "#1f77b4", "#2ca02c"):
        c = np.array([int(hexcolor[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(rgb - c).max(axis=2) < 0.03).sum() > 50, hexcolor


def test_report_errors_write_nothing(tmp_path):
    w = tmp_path / "w.npz"
    gf.RNN.init(4, 2).save(w)
    before = sorted(os.listdir(tmp_path))
    cases = [
        (["report", w, "-o", tmp_path / "r.svg"], "must end in .pdf or .png"),
        (["report", w, "-o", w.with_suffix(".pdf"), "--inputs", tmp_path / "nope.npy"],
         "no such file"),
        (["report", "-o", tmp_path / "w.npz"], "must end in .pdf or .png"),
        (["report", w, "-o", tmp_path / "r.pdf", "--threshold", 3], "threshold"),
    ]
    for args, message in cases:
        r = invoke(*args)
        assert r.exit_code == 1 and message in r.stderr, r.output
    assert sorted(os.listdir(tmp_path)) == before


def test_report_refuses_to_overwrite_an_input(tmp_path):
    w = tmp_path / "w.pdf"
    gf.RNN.init(4, 2).save(tmp_path / "w.npz")
    os.replace(tmp_path / "w.npz", w)
    r = invoke("report", w, "-o", w)
    assert r.exit_code == 1 and "would overwrite the input" in r.stderr


def test_progress_bar_only_on_a_terminal(tmp_path):
    from io import StringIO

    from gradflow.progress import Progress

    stream = StringIO()
    p = Progress(3, enabled=True, stream=stream)
    p.advance(note="a")
    p.advance(note="b")
    p.close()
    assert "2/3" in stream.getvalue() and stream.getvalue().endswith("\n")
    silent = StringIO()
    q = Progress(3, stream=silent)  # StringIO is not a terminal
    q.advance(note="a")
    q.close()
    assert silent.getvalue() == ""


def test_gallery_is_reproducible(tmp_path):
    from gradflow.report.gallery import make_gallery

    digests = []
    for run in ("a", "b"):
        folder = tmp_path / run
        paths = make_gallery(folder)
        assert all(Path(p).parent == folder for p in paths) and len(paths) >= 4
        digests.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert {"decay.png", "flow_map.png", "spectrum_bound.png", "dashboard.png"} <= set(digests[0])
    assert digests[0] == digests[1]
    for data in digests[0].values():
        assert len(data) > 20_000  # real pictures, not empty canvases
    assert (ROOT / "reports" / "make_gallery.py").exists()


def test_training_history_pages(tmp_path):
    hist = tmp_path / "h.json"
    r = invoke("train", "--cell", "gru", "--task", "adding", "--length", 12, "--hidden", 4,
               "--steps", 30, "--batch", 4, "--log-every", 10, "--seed", 3, "--quiet",
               "--history", hist)
    assert r.exit_code == 0, r.output
    out = tmp_path / "t.pdf"
    r = invoke("report", "--history", hist, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    _, pages = pdf_text(out)
    assert len(pages) == 1
    for words in ("Training: h", "GRU", "baseline", "Gradient norm", "Per-lag gradient mass"):
        assert words in pages[0]
    w = tmp_path / "w.npz"
    gf.RNN.init(4, 2).save(w)
    r = invoke("report", w, "--history", hist, "--history", hist, "-o", tmp_path / "b.pdf",
               "--steps", 20, "-q")
    assert r.exit_code == 0, r.output
    _, both = pdf_text(tmp_path / "b.pdf")
    assert "Training runs compared" in "\n".join(both) and len(both) >= 7 + 3
    png = tmp_path / "t.png"
    assert invoke("report", "--history", hist, "-o", png, "-q").exit_code == 0
    assert imread(png)[..., :3].std() > 0.05


def test_bad_history_files_are_refused(tmp_path):
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    (tmp_path / "y.json").write_text("not json")
    for name, message in (("x.json", "not a gradflow training history"),
                          ("y.json", "not a JSON history"), ("z.json", "no such file")):
        r = invoke("report", "--history", tmp_path / name, "-o", tmp_path / "o.pdf")
        assert r.exit_code == 1 and message in r.stderr, r.output
    assert not (tmp_path / "o.pdf").exists()
    r = invoke("report", "--history", tmp_path / "x.json", "--steps", 5, "-o", tmp_path / "o.pdf")
    assert r.exit_code == 2


def test_colours_come_from_the_kind_and_a_kind_without_one_gets_a_spare():
    from gradflow.report.style import CELL_COLORS, EXTRA_COLORS, assign_colors
    from gradflow.report.training import history_color

    class NewCell:  # a kind the colour table has never heard of
        kind = "MGU"

    models = [gf.GRU.init(2, 1, variant="reset_after"), gf.LSTM.init(2, 1), NewCell(),
              gf.LSTM.init(2, 1)]
    assert assign_colors(models) == ["#17becf", "#1f77b4", EXTRA_COLORS[0], EXTRA_COLORS[1]]
    assert len(set(assign_colors([NewCell()] * 20))) == len(EXTRA_COLORS)
    doc = {"config": {"cell": "rnn", "activation": "relu"}}
    assert history_color(doc, 0) == CELL_COLORS["RNN-relu"] == "#9467bd"
    doc = {"config": {"cell": "gru", "variant": "reset_after"}}
    assert history_color(doc, 0) == "#17becf"
    assert history_color({"config": {"cell": "lstm", "activation": None}}, 0) == "#1f77b4"
    assert history_color({"config": {"cell": "no-such-cell"}}, 3) == EXTRA_COLORS[3]


def test_report_panels_are_drawn_by_the_public_plot_functions():
    from matplotlib.axes import Axes

    from gradflow import plot
    from gradflow.report import data

    entries = [("RNN-tanh", gf.RNN.init(3, 2, seed=0)), ("LSTM", gf.LSTM.init(3, 2, seed=0))]
    reports = data.collect(entries, lambda model: np.zeros((12, 2)), flow_ends=4)
    ax = plot.plot_flow_map(reports[1].flow)
    assert isinstance(ax, Axes) and len(ax.figure.axes) == 2  # the map and its colour bar
    bare = plot.plot_flow_map(reports[0].flow, colorbar=False)
    assert isinstance(bare, Axes) and len(bare.figure.axes) == 1
    for r in reports:
        assert isinstance(plot.plot_decay(r.decay, color=r.color), Axes)
        assert isinstance(plot.plot_lyapunov(r.lyapunov), Axes)
        assert isinstance(plot.plot_singular_values(r.spectrum), Axes)
        assert isinstance(plot.plot_product_singular_values(r.products), Axes)
        assert isinstance(plot.plot_gate_values(r.gates), Axes)
    assert isinstance(plot.plot_decay(reports[1].decay, curve="cell"), Axes)
    assert not (ROOT / "gradflow" / "report" / "plots.py").exists()  # one drawing code path


def _two_lstms(tmp_path):
    a, b = tmp_path / "untrained.npz", tmp_path / "trained.npz"
    gf.LSTM.init(5, 2, seed=0).save(a)
    gf.LSTM.init(5, 2, seed=1, gain=2.0).save(b)
    rng = np.random.default_rng(4)
    xa, xb = tmp_path / "xa.npy", tmp_path / "xb.npy"
    np.save(xa, rng.standard_normal((30, 2)))
    np.save(xb, rng.standard_normal((3, 20, 2)))  # a batch of 3
    return a, b, xa, xb


def test_each_model_reads_its_own_inputs_and_label(tmp_path):
    a, b, xa, xb = _two_lstms(tmp_path)
    out = tmp_path / "pair.pdf"
    r = invoke("report", f"{a}:{xa}", f"{b}:{xb}", "--label", "before training",
               "--label", "after training", "-o", out, "-q")
    assert r.exit_code == 0, r.output
    _, pages = pdf_text(out)
    first = pages[0]
    assert "before training" in first and "after training" in first
    assert "median of 3" in first  # the batch's horizon is its median's
    # the same models through repeated --inputs give the same figures
    again = tmp_path / "again.pdf"
    r = invoke("report", a, b, "--inputs", xa, "--inputs", xb, "-o", again, "-q")
    assert r.exit_code == 0, r.output
    ref_a = gf.decay(gf.load(a), np.load(xa))
    ref_b = gf.decay(gf.load(b), np.load(xb))
    text = pdf_text(again)[1][0]
    for ref in (ref_a, ref_b):
        assert f"{ref.decay_factor:.3f}" in text


def test_report_refuses_mismatched_inputs_and_labels(tmp_path):
    a, b, xa, xb = _two_lstms(tmp_path)
    cases = [
        (["report", a, b, "--inputs", xa, "--inputs", xb, "--inputs", xa], "given 3 times for 2"),
        (["report", a, b, "--label", "one"], "--label: given 1 times for 2 models"),
        (["report", f"{a}:{xa}", b], "every model needs its own inputs"),
        (["report", f"{a}:{xa}", f"{b}:{xb}", "--inputs", xa], "not both"),
    ]
    for args, message in cases:
        r = invoke(*args, "-o", tmp_path / "no.pdf")
        assert r.exit_code == 1 and message in r.stderr, (args, r.output)
    assert not (tmp_path / "no.pdf").exists()


def test_two_models_of_one_kind_get_distinct_colours_on_every_page(tmp_path):
    from matplotlib import colors

    from gradflow.report import data

    a, b, xa, xb = _two_lstms(tmp_path)
    reports = data.collect([("a", gf.load(a), np.load(xa)), ("b", gf.load(b), np.load(xb))],
                           flow_ends=4)
    first, second = (np.array(colors.to_rgb(r.color)) for r in reports)
    assert np.abs(first - second).max() > 0.3


def test_network_report_shows_the_output_and_each_layer(tmp_path):
    net = gf.Network([(gf.GRU.init(4, 2, seed=0),), (gf.GRU.init(4, 4, seed=1),)])
    path = tmp_path / "net.npz"
    net.save(path)
    out = tmp_path / "net.pdf"
    r = invoke("report", path, "--steps", 25, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    _, pages = pdf_text(out)
    joined = "\n".join(pages)
    for words in ("net layer 0", "net layer 1", "Networks", "each layer", "flow map"):
        assert words in joined, words
    ref = gf.decay(gf.load(path), np.random.default_rng(0).standard_normal((25, 2)))
    assert f"{ref.decay_factor:.3f}" in pages[0]


def test_history_with_missing_fields_is_drawn_honestly(tmp_path):
    import json

    hist = tmp_path / "monitored.json"
    hist.write_text(json.dumps({"format": "gradflow-train-history", "version": 1,
                                "trace": {"step": [0, 1, 2, 3], "loss": [2.0, 1.0, 0.7, 0.5]}}))
    out = tmp_path / "h.pdf"
    r = invoke("report", "--history", hist, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    text = pdf_text(out)[1][0]
    assert "None" not in text
    assert "last training loss 0.5" in text and "4 steps" in text
    assert "records no gradient norms" in text


def test_flow_map_colour_scale_is_sequential_over_the_data():
    from gradflow import plot
    from gradflow.analysis.flowmap import flow_map

    model = gf.RNN.init(4, 2, seed=0, gain=0.5)
    fm = flow_map(model, np.random.default_rng(0).standard_normal((30, 2)), ends=6)
    mesh = plot.plot_flow_map(fm).collections[0]
    values = fm.log10_norm2.compressed()
    assert mesh.norm.vmin == pytest.approx(values.min())
    assert mesh.norm.vmax == pytest.approx(values.max())
    assert mesh.get_cmap().name == "viridis"
