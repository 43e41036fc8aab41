"""Builders of bad inputs for the error table in docs/errors.md (one per row id)."""

import os
import zipfile

import numpy as np

import gradflow as gf


def _npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _rnn_arrays(n=4, d=3, **changes):
    arrays = {**gf.RNN.init(n, d, seed=0).weights, "cell": np.array("rnn")}
    arrays.update(changes)
    return arrays


def _good(tmp):
    gf.RNN.init(4, 3, seed=0).save(tmp / "w.npz")
    return "w.npz"


def missing_file(tmp):
    return ["decay", "nope.npz"]


def folder(tmp):
    (tmp / "weights").mkdir()
    return ["decay", "weights"]


def empty_file(tmp):
    (tmp / "empty.npz").write_bytes(b"")
    return ["decay", "empty.npz"]


def not_a_zip(tmp):
    (tmp / "text.npz").write_text("W_h = [[1, 0], [0, 1]]\n")
    return ["decay", "text.npz"]


def truncated(tmp):
    _good(tmp)
    data = (tmp / "w.npz").read_bytes()
    (tmp / "cut.npz").write_bytes(data[: len(data) // 2])
    return ["decay", "cut.npz"]


def pickled(tmp):
    _npz(tmp / "pickled.npz", **_rnn_arrays(W_h=np.array([{"a": 1}] * 16, object).reshape(4, 4)))
    return ["decay", "pickled.npz"]


def foreign_member(tmp):
    _good(tmp)
    with zipfile.ZipFile(tmp / "w.npz", "a") as z:
        z.writestr("run.sh", "echo hello\n")
    return ["decay", "w.npz"]


def unknown_key(tmp):
    _npz(tmp / "extra.npz", **_rnn_arrays(W_q=np.zeros(2)))
    return ["decay", "extra.npz"]


def missing_key(tmp):
    arrays = _rnn_arrays()
    del arrays["b_h"]
    _npz(tmp / "missing.npz", **arrays)
    return ["decay", "missing.npz"]


def wrong_shape(tmp):
    arrays = {**gf.LSTM.init(8, 3, seed=0).weights, "cell": np.array("lstm")}
    arrays["W_ch"] = np.zeros((8, 7))
    _npz(tmp / "shape.npz", **arrays)
    return ["decay", "shape.npz"]


def non_finite(tmp):
    W = np.eye(4)
    W[0, 1] = np.nan
    _npz(tmp / "nan.npz", **_rnn_arrays(W_h=W))
    return ["decay", "nan.npz"]


def wrong_dtype(tmp):
    _npz(tmp / "complex.npz", **_rnn_arrays(W_h=np.eye(4) * (1 + 1j)))
    return ["decay", "complex.npz"]


def unknown_cell(tmp):
    _npz(tmp / "cell.npz", **_rnn_arrays(cell=np.array("transformer")))
    return ["decay", "cell.npz"]


def unknown_activation(tmp):
    _npz(tmp / "act.npz", **_rnn_arrays(activation=np.array("gelu")))
    return ["decay", "act.npz"]


def unknown_variant(tmp):
    arrays = {**gf.GRU.init(4, 3).weights, "cell": np.array("gru"), "variant": np.array("after")}
    _npz(tmp / "variant.npz", **arrays)
    return ["decay", "variant.npz"]


def huge_header(tmp):
    """A .npy whose header claims 10^13 float64 values in a file of a few bytes."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**13, 3)}
    with open(tmp / "x.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def inputs_width(tmp):
    np.save(tmp / "x.npy", np.zeros((10, 5)))
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def inputs_non_finite(tmp):
    x = np.zeros((10, 3))
    x[7, 2] = np.inf
    np.save(tmp / "x.npy", x)
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def inputs_pickled(tmp):
    np.save(tmp / "x.npy", np.array([[None] * 3] * 10, object), allow_pickle=True)
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def h0_size(tmp):
    np.save(tmp / "h0.npy", np.zeros(5))
    return ["decay", _good(tmp), "--h0", "h0.npy"]


def inputs_and_steps(tmp):
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["decay", _good(tmp), "--inputs", "x.npy", "--steps", "10"]


def too_many_steps(tmp):
    return ["decay", _good(tmp), "--steps", "100000000000"]


def overflow(tmp):
    gf.RNN.init(8, 3, gain=3.0, seed=0, activation="relu").save(tmp / "hot.npz")
    return ["decay", "hot.npz", "--steps", "3000"]


def bad_threshold(tmp):
    return ["decay", _good(tmp), "--threshold", "2"]


def option_for_other_cell(tmp):
    return ["init", "lstm", "--hidden", "8", "--inputs", "3", "--activation", "relu",
            "-o", "w.npz"]


def non_finite_gain(tmp):
    return ["init", "rnn", "--hidden", "8", "--inputs", "3", "--gain", "inf", "-o", "w.npz"]


def output_folder_missing(tmp):
    return ["init", "rnn", "--hidden", "8", "--inputs", "3", "-o", "no/such/folder/w.npz"]


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


def lyapunov_k_too_large(tmp):
    return ["lyapunov", _good(tmp), "--k", "10"]


def lyapunov_warmup_too_long(tmp):
    return ["lyapunov", _good(tmp), "--steps", "100", "--warmup", "300"]


def lyapunov_batch_inputs(tmp):
    np.save(tmp / "xb.npy", np.zeros((2, 10, 3)))
    return ["lyapunov", _good(tmp), "--inputs", "xb.npy"]


def compare_bad_lengths(tmp):
    return ["compare", "--lengths", "0"]


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


def fifo_weights(tmp):
    os.mkfifo(tmp / "pipe.npz")
    return ["decay", "pipe.npz"]


def device_weights(tmp):
    return ["decay", "/dev/zero"]


def fifo_inputs(tmp):
    os.mkfifo(tmp / "x.npy")
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def npz_request_over_cap(tmp):
    """A GRU whose headers declare 2.6 GB a matrix: each fits the cap, all six do not."""
    n = 18000
    with zipfile.ZipFile(tmp / "big.npz", "w") as archive:
        with archive.open("cell.npy", "w") as fh:
            np.save(fh, np.array("gru"))
        for gate in "rzh":
            for name, shape in ((f"W_{gate}h", (n, n)), (f"W_{gate}x", (n, n)),
                                (f"b_{gate}", (n,))):
                with archive.open(f"{name}.npy", "w") as fh:
                    np.lib.format.write_array_header_1_0(
                        fh, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return ["decay", "big.npz"]


def network_unknown_key(tmp):
    net = gf.Network([(gf.RNN.init(4, 3, seed=0),), (gf.RNN.init(4, 4, seed=1),)])
    net.save(tmp / "n.npz")
    with np.load(tmp / "n.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["l2.forward.W_h"] = np.zeros((4, 4))
    _npz(tmp / "net.npz", **arrays)
    (tmp / "n.npz").unlink()
    return ["decay", "net.npz"]


def init_over_cap(tmp):
    return ["init", "lstm", "--hidden", "12000", "--inputs", "3", "-o", "w.npz"]


def compare_over_cap(tmp):
    return ["compare", "--hidden", "6000"]


def compare_huge_lengths(tmp):
    return ["compare", "--lengths", "100000000000"]


def train_eval_batch_over_cap(tmp):
    return ["train", "--cell", "rnn", "--task", "adding", "--length", "50", "--hidden", "8",
            "--steps", "10", "--eval-batch", "20000000"]


def inputs_beyond_float64(tmp):
    """Long doubles: finite in the file, beyond float64's range."""
    x = np.zeros((10, 3), dtype=np.longdouble)
    x[4, 1] = np.finfo(np.longdouble).max
    np.save(tmp / "x.npy", x)
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def spectrum_beyond_float64(tmp):
    """Entries of 1e308: the step Jacobian's norm leaves the float64 range."""
    _npz(tmp / "big.npz", **_rnn_arrays(W_h=np.full((4, 4), 1e308)))
    return ["spectrum", "big.npz", "--json"]


def sweep_scheduler_protocol(tmp):
    return ["sweep", "--grid", "gain=1", "-o", "r.csv", "--scheduler", "xyz://host:8786"]


def sweep_grid_underscore(tmp):
    return ["sweep", "--grid", "gain=1_0", "-o", "r.csv"]


def sweep_seed_too_large(tmp):
    return ["sweep", "--grid", "seed=1000000000000000000000000000000", "-o", "r.parquet"]


def inputs_layout_ambiguous(tmp):
    np.save(tmp / "xb.npy", np.zeros((3, 10, 3)))
    return ["decay", _good(tmp), "--inputs", "xb.npy"]


def lengths_out_of_range(tmp):
    np.save(tmp / "xb.npy", np.zeros((2, 10, 3)))
    np.save(tmp / "l.npy", np.array([10, 11]))
    return ["decay", _good(tmp), "--inputs", "xb.npy", "--lengths", "l.npy"]


def lengths_of_a_time_major_batch(tmp):
    np.save(tmp / "xb.npy", np.zeros((10, 2, 3)))
    np.save(tmp / "l.npy", np.array([10, 7]))
    return ["decay", _good(tmp), "--inputs", "xb.npy", "--lengths", "l.npy"]


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


def report_inputs_twice(tmp):
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["report", f"{_good(tmp)}:x.npy", "--inputs", "x.npy", "-o", "r.pdf"]


def report_pair_missing(tmp):
    gf.GRU.init(4, 3, seed=0).save(tmp / "v.npz")
    np.save(tmp / "x.npy", np.zeros((10, 3)))
    return ["report", f"{_good(tmp)}:x.npy", "v.npz", "-o", "r.pdf"]


#: Cases run under a file-size limit (RLIMIT_FSIZE, bytes): a write past it fails with EFBIG.
FILE_SIZE_LIMITS = {"output_too_large": 4096}

#: Cases run with these environment variables (over the table's memory cap).
ENVIRONMENTS = {"memory_limit_not_finite": {"GRADFLOW_MEMORY_LIMIT": "inf"}}


def non_utf8_name(tmp):
    name = os.fsdecode(b"caf\xe9.npz")
    with open(os.path.join(os.fsencode(tmp), b"caf\xe9.npz"), "wb") as fh:
        fh.write(b"not an archive")
    return ["decay", name]


def output_too_large(tmp):
    return ["init", "rnn", "--hidden", "64", "--inputs", "3", "-o", "w.npz"]


def corrupt_deflate(tmp):
    import io

    with zipfile.ZipFile(tmp / "defl.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in _rnn_arrays().items():
            member = io.BytesIO()
            np.save(member, value)
            archive.writestr(key + ".npy", member.getvalue())
    data = bytearray((tmp / "defl.npz").read_bytes())
    at = data.find(b"W_h.npy") + len("W_h.npy") + 20  # inside W_h's deflate stream
    data[at:at + 30] = b"\xff" * 30
    (tmp / "defl.npz").write_bytes(bytes(data))
    return ["decay", "defl.npz"]


def device_h0(tmp):
    return ["decay", _good(tmp), "--h0", "/dev/zero"]


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


def memory_limit_not_finite(tmp):
    return ["decay", _good(tmp), "--steps", "5"]


def _raw_npy(path, header, body=b""):
    """A version 1.0 .npy file with ``header`` as it stands (numpy would not write it)."""
    import struct

    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text
                     + b" " * pad + b"\n" + body)


def inputs_negative_length(tmp):
    _raw_npy(tmp / "x.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (-10, 3), }")
    return ["decay", _good(tmp), "--inputs", "x.npy"]


def inputs_subarray_dtype(tmp):
    _raw_npy(tmp / "x.npy", "{'descr': ('<f8', (3,)), 'fortran_order': False, 'shape': (10,), }",
             b"\x00" * 240)
    return ["decay", _good(tmp), "--inputs", "x.npy"]


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
