"""Property-based fuzzing of the loaders and the CLI with random and corrupted files.

Every case must end in a loaded model or one GradflowError / one ``Error:`` line: never a
traceback, a hang or a file left behind.  Over 1000 generated cases in all (3 x 400) (marked slow).
"""

import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradflow as gf
from gradflow.cli import main

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=400, deadline=10_000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NAMES = list(gf.LSTM.init(2, 1).weight_names() + gf.GRU.init(2, 1, variant="reset_after")
             .weight_names() + gf.RNN.init(2, 1).weight_names()) + ["cell", "activation",
                                                                     "variant", "junk"]


def valid_npz_bytes(cell, n=3, d=2):
    cls = gf.CELLS[cell]
    model = cls.init(n, d, seed=1)
    buf = io.BytesIO()
    np.savez(buf, cell=np.array(cell), **model.weights)
    return buf.getvalue()


@st.composite
def corrupted_files(draw):
    data = bytearray(valid_npz_bytes(draw(st.sampled_from(["rnn", "lstm", "gru"]))))
    how = draw(st.sampled_from(["truncate", "flip", "insert", "random"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "insert":
        i = draw(st.integers(0, len(data)))
        return bytes(data[:i]) + draw(st.binary(min_size=1, max_size=64)) + bytes(data[i:])
    return draw(st.binary(max_size=2048))


@st.composite
def valid_files(draw):
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    options = {}
    if cell == "rnn":
        options["activation"] = draw(st.sampled_from(["tanh", "sigmoid", "relu"]))
    if cell == "gru":
        options["variant"] = draw(st.sampled_from(["seed", "reset_after"]))
    model = gf.CELLS[cell].init(draw(st.integers(1, 4)), 2, gain=draw(st.floats(0.1, 4.0)),
                                seed=draw(st.integers(0, 99)), **options)
    buf = io.BytesIO()
    np.savez(buf, cell=np.array(cell), **model.weights,
             **{k: np.array(v) for k, v in model.options().items()})
    return buf.getvalue()


dtypes = st.sampled_from(["<f8", "<f4", "<i4", "<c16", "|b1", "<U3", "O", ">f8", "<f2"])
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
values = st.sampled_from([0.0, 1.0, -2.5, np.nan, np.inf, -np.inf, 1e308])


@st.composite
def random_archives(draw):
    arrays = {}
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=14, unique=True)):
        dtype = draw(dtypes)
        shape = draw(shapes)
        if name in ("cell", "activation", "variant") and draw(st.booleans()):
            arrays[name] = np.array(draw(st.sampled_from(
                ["rnn", "lstm", "gru", "tanh", "relu", "seed", "reset_after", "x"])))
            continue
        if dtype == "O":
            a = np.empty(shape, dtype=object)
            a.fill(draw(values))
        elif dtype == "<U3":
            a = np.full(shape, "ab", dtype=dtype)
        else:
            with np.errstate(all="ignore"):
                a = np.full(shape, draw(values)).astype(dtype)
        arrays[name] = a
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load_or_refuse(path):
    try:
        model = gf.load(path)
    except gf.GradflowError as exc:
        message = str(exc)
        assert message and "\n" not in message and str(path) in message
        return None
    assert isinstance(model, gf.Cell)
    for w in model.weights.values():
        assert np.isfinite(w).all()
    return model


@FUZZ
@given(content=corrupted_files())
def test_corrupted_weight_files_are_refused_cleanly(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npz"
        path.write_bytes(content)
        load_or_refuse(path)


@FUZZ
@given(content=random_archives())
def test_random_archives_load_or_are_refused_cleanly(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.npz"
        path.write_bytes(content)
        load_or_refuse(path)


@st.composite
def npy_files(draw):
    buf = io.BytesIO()
    dtype = draw(dtypes)
    shape = draw(shapes)
    if dtype == "O":
        a = np.empty(shape, dtype=object)
    elif dtype == "<U3":
        a = np.full(shape, "ab", dtype=dtype)
    else:
        with np.errstate(all="ignore"):
            a = np.full(shape, draw(values)).astype(dtype)
    np.save(buf, a, allow_pickle=True)
    data = bytearray(buf.getvalue())
    if draw(st.booleans()) and data:
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


COMMANDS = ["decay", "spectrum", "bounds", "lyapunov", "report", "init"]
ran = {}  # successful runs per command: the fuzzer must reach the analyses, not only the loaders


@FUZZ
@given(weights=st.one_of(corrupted_files(), random_archives(), valid_files()),
       inputs=npy_files(), command=st.sampled_from(COMMANDS), drawn=st.booleans())
def test_cli_never_shows_a_traceback_nor_leaves_files(weights, inputs, command, drawn):
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "w.npz").write_bytes(weights)
        (tmp / "x.npy").write_bytes(inputs)
        before = sorted(os.listdir(tmp))
        out = tmp / "out.png"
        source = ["--steps", "4"] if drawn else ["--inputs", str(tmp / "x.npy")]
        if command == "init":
            args = ["init", "rnn", "-n", "2", "-d", "2", "--gain", "nan", "-o", str(out)]
        elif command == "report":
            args = ["report", str(tmp / "w.npz"), *source, "-q", "-o", str(out)]
        else:
            args = [command, str(tmp / "w.npz"), *source, "--json"]
        r = runner.invoke(main, args)
        assert r.exit_code in (0, 1), r.output
        assert "Traceback" not in r.output
        assert "internal error" not in r.output
        if r.exit_code == 1:
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: ")
            assert r.stdout == ""
            assert sorted(os.listdir(tmp)) == before
        else:
            ran[command] = ran.get(command, 0) + 1
        if r.exit_code == 1:
            pass
        elif command in ("report", "init"):
            assert sorted(os.listdir(tmp)) == sorted([*before, "out.png"])
        else:
            assert sorted(os.listdir(tmp)) == before


def test_the_cli_fuzzer_reached_every_analysis():
    """Runs after the fuzzer above (file order): valid files did get analysed."""
    for command in ("decay", "spectrum", "bounds", "lyapunov", "report"):
        assert ran.get(command, 0) >= 1, ran


def test_debug_shows_the_traceback(tmp_path):
    r = CliRunner().invoke(main, ["--debug", "decay", str(tmp_path / "none.npz")])
    assert r.exit_code == 1 and isinstance(r.exception, gf.GradflowError)


def test_the_fuzzers_generate_valid_files_too():
    """Guard against a fuzzer that only ever produces garbage: some cases must load."""
    loaded = 0
    for cell in ("rnn", "lstm", "gru"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "w.npz"
            path.write_bytes(valid_npz_bytes(cell))
            loaded += load_or_refuse(path) is not None
    assert loaded == 3
    assert zipfile.is_zipfile(io.BytesIO(valid_npz_bytes("rnn")))
