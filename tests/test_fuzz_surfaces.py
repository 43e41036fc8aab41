"""Property-based fuzzing of the other surfaces that read files or honour requests.

Network files, training histories, torch state dicts, sweep results files and whole-request
memory: every case ends in an answer or one GradflowError, never another exception.
"""

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradflow as gf

FUZZ = settings(max_examples=150, deadline=20_000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.slow


def _flip(draw, data):
    data = bytearray(data)
    how = draw(st.sampled_from(["truncate", "flip", "insert"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    i = draw(st.integers(0, len(data)))
    return bytes(data[:i]) + draw(st.binary(min_size=1, max_size=64)) + bytes(data[i:])


def _answered_or_named(function, *args):
    try:
        return function(*args)
    except gf.GradflowError:
        return None


# ---------------------------------------------------------------- network files


def _network_bytes():
    net = gf.Network([(gf.RNN.init(3, 2, seed=0), gf.RNN.init(3, 2, seed=1)),
                      (gf.RNN.init(3, 6, seed=2), gf.RNN.init(3, 6, seed=3))])
    with tempfile.TemporaryDirectory() as tmp:
        net.save(Path(tmp) / "n.npz")
        return (Path(tmp) / "n.npz").read_bytes()


NETWORK = _network_bytes()


@FUZZ
@given(data=st.data())
def test_corrupted_network_files(data):
    blob = _flip(data.draw, NETWORK)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "n.npz"
        path.write_bytes(blob)
        _answered_or_named(gf.load, path)


@FUZZ
@given(drop=st.sets(st.integers(0, 30), max_size=3), extra=st.booleans(),
       scale=st.sampled_from([1.0, np.nan, np.inf, 1e308]))
def test_network_files_with_keys_removed_added_or_spoilt(drop, extra, scale):
    with np.load(io.BytesIO(NETWORK)) as f:
        arrays = {k: f[k] for k in f.files}
    keys = sorted(arrays)
    for i in drop:
        arrays.pop(keys[i % len(keys)], None)
    if extra:
        arrays["l0.forward.W_q"] = np.zeros(3)
    for k in list(arrays):
        if k.endswith("W_h") and arrays[k].dtype.kind == "f":
            arrays[k] = arrays[k] * scale
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "n.npz"
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
        _answered_or_named(gf.load, path)


# ---------------------------------------------------------------- training histories

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@st.composite
def histories(draw):
    doc = {"format": "gradflow-train-history",
           "trace": {"step": draw(st.lists(st.integers(0, 100), max_size=6)),
                     "loss": draw(st.lists(st.none() | st.floats(), max_size=6))}}
    for key in draw(st.sets(st.sampled_from(["config", "task", "snapshots", "summary",
                                             "grad_norm", "clipped"]))):
        target = doc["trace"] if key in ("grad_norm", "clipped") else doc
        target[key] = draw(_JSON)
    text = json.dumps(doc)
    if draw(st.booleans()):
        text = text.replace("0.0", draw(st.sampled_from(["NaN", "Infinity", "1e999", "-0"])), 1)
    return text


@FUZZ
@given(text=histories())
def test_histories_of_the_right_format_with_any_contents(text):
    from gradflow.plot.history import load_history

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.json"
        path.write_text(text)
        doc = _answered_or_named(load_history, path)
        if doc is not None:  # what is read is finite wherever it is a number
            assert "NaN" not in text and "Infinity" not in text and "1e999" not in text


# ---------------------------------------------------------------- torch state dicts


@FUZZ
@given(value=st.one_of(st.integers(), st.lists(st.floats(), max_size=3), st.text(max_size=5),
                       st.sampled_from(["sparse", "int_tensor", "nan_tensor", "scalar"])),
       key=st.sampled_from(["weight_hh_l0", "weight_ih_l0", "bias_hh_l0", "extra"]))
def test_torch_state_dicts_holding_anything(value, key):
    torch = pytest.importorskip("torch")
    state = torch.nn.LSTM(2, 3).state_dict()
    if value == "sparse":
        value = state.get(key, torch.zeros(3, 3)).to_sparse()
    elif value == "int_tensor":
        value = torch.ones_like(state.get(key, torch.zeros(2)), dtype=torch.int64)
    elif value == "nan_tensor":
        value = torch.full_like(state.get(key, torch.zeros(2)), float("nan"))
    elif value == "scalar":
        value = torch.tensor(1.5)
    state[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.pt")
        torch.save(state, path)
        _answered_or_named(gf.from_torch, path)


# ---------------------------------------------------------------- sweep results files


def _results_bytes():
    from gradflow.sweep.runner import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(gf.parse_grid("gain=0.5,1 hidden=4").with_values(steps=5), Path(tmp) / "r.csv",
                  workers=1)
        return (Path(tmp) / "r.csv").read_bytes()


@pytest.fixture(scope="module")
def results_bytes():
    return _results_bytes()


def test_corrupted_results_files(results_bytes):
    from gradflow.sweep.runner import plan_sweep

    grid = gf.parse_grid("gain=0.5,1 hidden=4").with_values(steps=5)

    @FUZZ
    @given(data=st.data())
    def check(data):
        blob = _flip(data.draw, results_bytes)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.csv"
            path.write_bytes(blob)
            _answered_or_named(gf.read_results, path)
            _answered_or_named(plan_sweep, grid, path)

    check()


# ---------------------------------------------------------------- whole-request memory


@settings(max_examples=60, deadline=None, derandomize=True)
@given(hidden=st.integers(1, 10**6), steps=st.integers(1, 10**9),
       limit=st.integers(0, 2**34))
def test_requests_fit_the_cap_or_are_refused_up_front(hidden, steps, limit):
    """Either the request is within the cap or refused with the cap's message; never a
    MemoryError.  Only the refusal path runs the numerics (a cap of a few MB)."""
    os.environ["GRADFLOW_MEMORY_LIMIT"] = str(min(limit, 2**22))
    try:
        try:
            model = gf.RNN.init(hidden, 2)
        except gf.GradflowError as exc:
            assert "needs about" in str(exc) and "GRADFLOW_MEMORY_LIMIT" in str(exc)
            return
        try:
            model.step_jacobians(np.broadcast_to(np.zeros(2), (steps, 2)))
        except gf.GradflowError as exc:
            assert "needs about" in str(exc)
    finally:
        del os.environ["GRADFLOW_MEMORY_LIMIT"]
