"""Bad files, arrays, options and sizes for the error table in docs/errors.md."""

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


def lyapunov_k_too_large(tmp):
    return ["lyapunov", _good(tmp), "--k", "10"]


def lyapunov_warmup_too_long(tmp):
    return ["lyapunov", _good(tmp), "--steps", "100", "--warmup", "300"]


def lyapunov_batch_warmup_too_long(tmp):
    np.save(tmp / "xb.npy", np.zeros((2, 10, 3)))
    np.save(tmp / "L.npy", np.array([10, 5]))
    return ["lyapunov", _good(tmp), "--inputs", "xb.npy", "--lengths", "L.npy", "--warmup", "8"]


def compare_bad_lengths(tmp):
    return ["compare", "--lengths", "0"]


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


def decay_beyond_float64(tmp):
    """Finite step Jacobians 1.7e308 Q whose all-lag product leaves the float64 range."""
    Q = np.linalg.qr(np.random.default_rng(2).standard_normal((4, 4)))[0]
    _npz(tmp / "big.npz", **_rnn_arrays(W_h=1.7e308 * Q, W_x=np.zeros((4, 3)), b_h=np.zeros(4)))
    return ["decay", "big.npz", "--steps", "20"]


def lyapunov_beyond_float64(tmp):
    """The same cell: its Lyapunov frame J_t Q overflows in one step."""
    decay_beyond_float64(tmp)
    return ["lyapunov", "big.npz", "--steps", "20"]


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

