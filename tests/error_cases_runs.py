"""Bad requests to the commands that import, train, sweep and report, for docs/errors.md."""

import os

import numpy as np
from error_cases_files import _good

import gradflow as gf


def _torch():
    import pytest

    return pytest.importorskip("torch")


def torch_missing_file(tmp):
    return ["import-torch", "nope.pt", "-o", "w.npz"]


def torch_output_is_input(tmp):
    (tmp / "model.pt").write_bytes(b"PK\x03\x04 not read: refused before loading")
    return ["import-torch", "model.pt", "-o", "model.pt"]


def torch_whole_module(tmp):
    torch = _torch()
    torch.save(torch.nn.GRU(3, 4), tmp / "whole.pt")
    return ["import-torch", "whole.pt", "-o", "w.npz"]


def torch_projection_mismatch(tmp):
    torch = _torch()
    state = torch.nn.LSTM(3, 4, proj_size=2).state_dict()
    state["weight_hr_l0"] = torch.zeros(3, 4)
    torch.save(state, tmp / "proj.pt")
    return ["import-torch", "proj.pt", "-o", "w.npz"]


def torch_layer_out_of_range(tmp):
    torch = _torch()
    torch.save(torch.nn.GRU(3, 4, num_layers=2).state_dict(), tmp / "model.pt")
    return ["import-torch", "model.pt", "-o", "w.npz", "--layer", "2"]


def torch_not_bidirectional(tmp):
    torch = _torch()
    torch.save(torch.nn.RNN(3, 4).state_dict(), tmp / "model.pt")
    return ["import-torch", "model.pt", "-o", "w.npz", "--direction", "reverse"]


def torch_nonlinearity_for_lstm(tmp):
    torch = _torch()
    torch.save(torch.nn.LSTM(3, 4).state_dict(), tmp / "model.pt")
    return ["import-torch", "model.pt", "-o", "w.npz", "--nonlinearity", "relu"]


def train_copy_too_short(tmp):
    return ["train", "--cell", "lstm", "--task", "copy", "--length", "15", "--hidden", "8",
            "--steps", "10"]


def train_bad_clip(tmp):
    return ["train", "--cell", "rnn", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--clip", "-1"]


def train_history_folder_missing(tmp):
    return ["train", "--cell", "gru", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--history", "no/such/h.json"]


def train_option_for_other_cell(tmp):
    return ["train", "--cell", "gru", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--forget-bias", "1"]


def train_clip_method_without_clip(tmp):
    return ["train", "--cell", "rnn", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--clip-method", "value"]


def _sweep(tmp, grid, path, **values):
    from gradflow.sweep.grid import parse_grid
    from gradflow.sweep.runner import run_sweep

    run_sweep(parse_grid(grid).with_values(**values), tmp / path, workers=1)


def sweep_no_grid(tmp):
    return ["sweep", "-o", "r.csv"]


def sweep_spec_and_grid(tmp):
    (tmp / "spec.toml").write_text("[grid]\ngain = [1.0]\n")
    return ["sweep", "spec.toml", "--grid", "gain=1", "-o", "r.csv"]


def sweep_unknown_axis(tmp):
    return ["sweep", "--grid", "width=3", "-o", "r.csv"]


def sweep_range_without_count(tmp):
    return ["sweep", "--grid", "gain=0.5:2", "-o", "r.csv"]


def sweep_range_not_integers(tmp):
    return ["sweep", "--grid", "seed=0:5:4", "-o", "r.csv"]


def sweep_empty_range(tmp):
    return ["sweep", "--grid", "seed=3:3", "-o", "r.csv"]


def sweep_option_without_its_cell(tmp):
    return ["sweep", "--grid", "forget_bias=1", "-o", "r.csv"]


def sweep_value_twice(tmp):
    return ["sweep", "--grid", "steps=100,200", "--steps", "50", "-o", "r.csv"]


def sweep_negative_scale(tmp):
    return ["sweep", "--grid", "gain=1", "--input-scale", "-1", "-o", "r.csv"]


def sweep_k_too_large(tmp):
    return ["sweep", "--grid", "hidden=4", "--k", "9", "-o", "r.csv"]


def sweep_bad_output(tmp):
    return ["sweep", "--grid", "gain=1", "-o", "r.txt"]


def sweep_other_grid(tmp):
    _sweep(tmp, "gain=1", "r.csv", steps=5)
    return ["sweep", "--grid", "gain=2", "--steps", "5", "-o", "r.csv"]


def sweep_not_results_file(tmp):
    (tmp / "r.csv").write_text("a,b\n1,2\n")
    return ["sweep", "--grid", "gain=1", "-o", "r.csv"]


def sweep_spec_missing(tmp):
    return ["sweep", "nope.toml", "-o", "r.csv"]


def sweep_spec_not_toml(tmp):
    (tmp / "spec.toml").write_text("[grid\ngain = 1\n")
    return ["sweep", "spec.toml", "-o", "r.csv"]


def sweep_spec_unknown_table(tmp):
    (tmp / "spec.toml").write_text("[grdi]\ngain = [1.0]\n")
    return ["sweep", "spec.toml", "-o", "r.csv"]


def sweep_spec_wrong_type(tmp):
    (tmp / "spec.toml").write_text('[grid]\nhidden = "big"\n')
    return ["sweep", "spec.toml", "-o", "r.csv"]


def sweep_scheduler_address(tmp):
    return ["sweep", "--grid", "gain=1", "-o", "r.csv", "--scheduler", "localhost:8786"]


def sweep_dask_and_scheduler(tmp):
    return ["sweep", "--grid", "gain=1", "-o", "r.csv", "--dask", "local", "--scheduler",
            "tcp://127.0.0.1:8786"]


def sweep_report_missing(tmp):
    return ["sweep-report", "nope.csv", "-o", "p.png"]


def sweep_report_not_results(tmp):
    (tmp / "x.csv").write_text("gain,lambda\n1,0.5\n")
    return ["sweep-report", "x.csv", "-o", "p.png"]


def sweep_report_all_failed(tmp):
    _sweep(tmp, "cell=rnn-relu gain=4", "r.csv", steps=3000, h0_scale=1.0)
    return ["sweep-report", "r.csv", "-o", "p.png"]


def sweep_report_bad_output(tmp):
    _sweep(tmp, "gain=1", "r.csv", steps=5)
    return ["sweep-report", "r.csv", "-o", "p.jpg"]


def report_wrong_suffix(tmp):
    return ["report", "-o", "r.svg"]


def report_mixed_widths(tmp):
    gf.LSTM.init(4, 2, seed=0).save(tmp / "l.npz")
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["report", _good(tmp), "l.npz", "--inputs", "x.npy", "-o", "r.pdf"]


def report_over_input(tmp):
    gf.RNN.init(4, 3, seed=0).save(tmp / "w.npz")
    (tmp / "w.npz").rename(tmp / "w.pdf")
    return ["report", "w.pdf", "-o", "w.pdf"]


def report_not_a_history(tmp):
    (tmp / "h.json").write_text('{"loss": [1, 2, 3]}')
    return ["report", "--history", "h.json", "-o", "r.pdf"]


def train_eval_batch_over_cap(tmp):
    return ["train", "--cell", "rnn", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--eval-batch", "20000000"]


def sweep_scheduler_protocol(tmp):
    return ["sweep", "--grid", "gain=1", "-o", "r.csv", "--scheduler", "xyz://host:8786"]


def sweep_grid_underscore(tmp):
    return ["sweep", "--grid", "gain=1_0", "-o", "r.csv"]


def sweep_seed_too_large(tmp):
    return ["sweep", "--grid", "seed=1000000000000000000000000000000", "-o", "r.parquet"]


def sweep_spec_too_deep(tmp):
    (tmp / "spec.toml").write_text("[grid]\nhidden = " + "[" * 5000 + "]" * 5000 + "\n")
    return ["sweep", "spec.toml", "-o", "r.csv"]


def sweep_edited_row(tmp):
    """A row whose gain was edited by hand while its key was kept."""
    _sweep(tmp, "gain=0.5,1", "r.csv", steps=5)
    lines = (tmp / "r.csv").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",0.5,", ",0.7,", 1)
    (tmp / "r.csv").write_text("".join(lines))
    return ["sweep", "--grid", "gain=0.5,1", "--steps", "5", "-o", "r.csv"]


def report_history_nan(tmp):
    (tmp / "h.json").write_text('{"format": "gradflow-train-history", '
                                '"trace": {"step": [1, 2, 3], "loss": [1.0, NaN, 0.5]}}')
    return ["report", "--history", "h.json", "-o", "r.pdf"]


def torch_state_not_a_tensor(tmp):
    """A state dict whose recurrent weight is a plain int."""
    torch = _torch()
    state = torch.nn.GRU(2, 3).state_dict()
    state["weight_hh_l0"] = 5
    torch.save(state, tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def torch_state_sparse(tmp):
    torch = _torch()
    state = torch.nn.RNN(2, 3).state_dict()
    state["weight_hh_l0"] = state["weight_hh_l0"].to_sparse()
    torch.save(state, tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def report_label_count(tmp):
    gf.GRU.init(4, 3, seed=0).save(tmp / "v.npz")
    return ["report", _good(tmp), "v.npz", "--label", "a", "--label", "b", "--label", "c",
            "-o", "r.pdf"]


def report_inputs_count(tmp):
    gf.GRU.init(4, 3, seed=0).save(tmp / "v.npz")
    gf.LSTM.init(4, 3, seed=0).save(tmp / "l.npz")
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    np.save(tmp / "y.npy", np.zeros((10, 3)))
    return ["report", _good(tmp), "v.npz", "l.npz", "--inputs", "x.npy", "--inputs", "y.npy",
            "-o", "r.pdf"]


def report_lengths_count(tmp):
    gf.GRU.init(4, 3, seed=0).save(tmp / "v.npz")
    np.save(tmp / "xb.npy", np.zeros((2, 10, 3)))
    np.save(tmp / "l.npy", np.array([10, 6]))
    return ["report", _good(tmp), "v.npz", "--inputs", "xb.npy", "--lengths", "l.npy",
            "--lengths", "l.npy", "--lengths", "l.npy", "-o", "r.pdf"]


def report_inputs_twice(tmp):
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["report", f"{_good(tmp)}:x.npy", "--inputs", "x.npy", "-o", "r.pdf"]


def report_pair_missing(tmp):
    gf.GRU.init(4, 3, seed=0).save(tmp / "v.npz")
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["report", f"{_good(tmp)}:x.npy", "v.npz", "-o", "r.pdf"]


def fifo_spec(tmp):
    os.mkfifo(tmp / "spec.toml")
    return ["sweep", "spec.toml", "-o", "r.csv"]


def fifo_sweep_output(tmp):
    os.mkfifo(tmp / "r.csv")
    return ["sweep", "--grid", "gain=1", "--steps", "5", "-o", "r.csv"]


def fifo_history(tmp):
    os.mkfifo(tmp / "h.json")
    return ["report", "--history", "h.json", "-o", "r.pdf"]


def fifo_torch(tmp):
    os.mkfifo(tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def torch_state_quantized(tmp):
    import warnings

    torch = _torch()
    state = torch.nn.RNN(2, 3).state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated: torch warns
        state["weight_hh_l0"] = torch.quantize_per_tensor(state["weight_hh_l0"], 0.1, 0,
                                                          torch.qint8)
    torch.save(state, tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def torch_state_meta(tmp):
    """A meta tensor: a shape without values (what ``device="meta"`` builds)."""
    torch = _torch()
    state = torch.nn.RNN(2, 3).state_dict()
    state["weight_hh_l0"] = torch.empty(3, 3, device="meta")
    torch.save(state, tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def torch_state_nested(tmp):
    import warnings

    torch = _torch()
    state = torch.nn.RNN(2, 3).state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: the strided nested layout is a prototype
        state["weight_hh_l0"] = torch.nested.nested_tensor([torch.zeros(3)] * 3)
    torch.save(state, tmp / "m.pt")
    return ["import-torch", "m.pt", "-o", "w.npz"]


def _history(tmp, trace='"step": [1, 2, 3], "loss": [1.0, 0.7, 0.5]', extra=""):
    (tmp / "h.json").write_text('{"format": "gradflow-train-history", '
                                f'"trace": {{{trace}}}{extra}}}')
    return ["report", "--history", "h.json", "-o", "r.pdf"]


def report_history_text_loss(tmp):
    return _history(tmp, '"step": [1, 2, 3], "loss": [1.0, "0.7", 0.5]')


def report_history_text_curve(tmp):
    return _history(tmp, extra=', "snapshots": [{"step": 0, "decay": '
                               '{"log10_norm2": [0.0, "low", -2.0]}}]')


def report_history_huge_loss(tmp):
    return _history(tmp, '"step": [1, 2, 3], "loss": [1.0, 1.7e308, 0.5]')


def report_history_huge_step(tmp):
    return _history(tmp, f'"step": [1, 2, 1{"0" * 400}], "loss": [1.0, 0.7, 0.5]')


def report_history_version(tmp):
    return _history(tmp, extra=', "version": 99')


def report_history_negative_step(tmp):
    return _history(tmp, '"step": [-1, 0, 1], "loss": [1.0, 0.7, 0.5]')


def report_history_config_null(tmp):
    return _history(tmp, extra=', "config": null')

