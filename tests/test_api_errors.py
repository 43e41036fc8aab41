"""Every public function of gradflow answers bad arguments with GradflowError, never another
exception: the same contract as the command line, for scripts."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradflow as gf


def _model():
    return gf.RNN.init(3, 2, seed=0)


#: Bad calls of each public callable: wrong types, None, empty and absurd values.
BAD_CALLS = {
    "load": [lambda: gf.load(None), lambda: gf.load(3.5)],
    "decay": [lambda: gf.decay(None, np.zeros((3, 2))), lambda: gf.decay(_model(), "x")],
    "spectrum": [lambda: gf.spectrum(None), lambda: gf.spectrum(5)],
    "jacobian_norms": [lambda: gf.jacobian_norms(None), lambda: gf.jacobian_norms(_model(), 7)],
    "bounds": [lambda: gf.bounds(5), lambda: gf.bounds(_model(), None, saturation="x")],
    "lyapunov": [lambda: gf.lyapunov(None, None), lambda: gf.lyapunov(_model(), "xs")],
    "kaplan_yorke_dimension": [lambda: gf.kaplan_yorke_dimension(None),
                               lambda: gf.kaplan_yorke_dimension("abc")],
    "trajectory": [lambda: gf.trajectory(None, None), lambda: gf.trajectory(_model(), [[1]])],
    "bptt": [lambda: gf.bptt(_model(), None, None),
             lambda: gf.bptt(_model(), np.zeros((4, 2)), np.zeros((4, 3)), by_lag="yes")],
    "floss": [lambda: gf.floss(None, None, k=1), lambda: gf.floss(_model(), np.zeros((4, 2)),
                                                                 k="one")],
    "fixed_points": [lambda: gf.fixed_points(None), lambda: gf.fixed_points(_model(), x="a")],
    "mean_field": [lambda: gf.mean_field("x"), lambda: gf.mean_field(1.0, input_variance=-1)],
    "compare": [lambda: gf.compare(hidden="x"), lambda: gf.compare(lengths=[0])],
    "pascanu_regulariser": [lambda: gf.pascanu_regulariser(None, None, None)],
    "clip_gradients": [lambda: gf.clip_gradients({}, 1), lambda: gf.clip_gradients(None, 1),
                       lambda: gf.clip_gradients({"W_h": np.ones(2)}, -1)],
    "gradient_norm": [lambda: gf.gradient_norm(5), lambda: gf.gradient_norm(["x"])],
    "clipping_summary": [lambda: gf.clipping_summary(None), lambda: gf.clipping_summary([1])],
    "activation_bound": [lambda: gf.activation_bound(None), lambda: gf.activation_bound("gelu")],
    "from_torch": [lambda: gf.from_torch([1, 2]), lambda: gf.from_torch(None)],
    "network_from_torch": [lambda: gf.network_from_torch([1, 2])],
    "describe_torch": [lambda: gf.describe_torch(None)],
    "torch_layer_inputs": [lambda: gf.torch_layer_inputs(None, None, 0)],
    "train": [lambda: gf.train(None, "adding", 50, 8, 10),
              lambda: gf.train("rnn", "adding", 50, 0, 10)],
    "sweep_point": [lambda: gf.sweep_point(hidden="x"), lambda: gf.sweep_point(gain="x")],
    "evaluate_point": [lambda: gf.evaluate_point(None)],
    "parse_grid": [lambda: gf.parse_grid(None), lambda: gf.parse_grid("gain=1_0")],
    "load_spec": [lambda: gf.load_spec(None)],
    "run_sweep": [lambda: gf.run_sweep(gf.parse_grid("gain=1"), "r.csv", workers=1.7),
                  lambda: gf.run_sweep(gf.parse_grid("gain=1"), None)],
    "read_results": [lambda: gf.read_results(None)],
    "RNN": [lambda: gf.RNN(None), lambda: gf.RNN({"W_h": "x"})],
    "LSTM": [lambda: gf.LSTM(None)],
    "GRU": [lambda: gf.GRU(None)],
    "Network": [lambda: gf.Network(None)],
    "Readout": [lambda: gf.Readout(None)],
    "AddingProblem": [lambda: gf.AddingProblem(None)],
    "CopyMemory": [lambda: gf.CopyMemory(None)],
    "Adam": [lambda: gf.Adam(lr="x")],
    "SGD": [lambda: gf.SGD(lr=-1)],
}

#: Public names that are not called with user arguments: result types, errors, registries.
NOT_CALLED = {
    "__version__", "GradflowError", "TrajectoryOverflowError", "GradientOverflowError", "CELLS",
    "Cell", "SweepGrid", "SweepPoint", "Trajectory",
}


def _public():
    return [name for name in gf.__all__ if name not in NOT_CALLED
            and not name.endswith(("Result", "Summary", "Spectrum", "Derivatives"))
            and name not in ("FixedPoint",)]


def test_every_public_callable_has_bad_calls():
    missing = [name for name in _public() if name not in BAD_CALLS]
    assert missing == []
    assert all(callable(getattr(gf, name)) for name in BAD_CALLS)


@pytest.mark.parametrize(("name", "index"),
                         [(n, i) for n, calls in BAD_CALLS.items() for i in range(len(calls))])
def test_bad_arguments_raise_gradflow_error(name, index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if name in ("from_torch", "network_from_torch", "describe_torch", "torch_layer_inputs"):
        pytest.importorskip("torch")
    with pytest.raises(gf.GradflowError):
        BAD_CALLS[name][index]()
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_run_sweep_refuses_fractional_workers(tmp_path):
    with pytest.raises(gf.GradflowError, match=r"workers must be a positive integer; got 1\.7"):
        gf.run_sweep(gf.parse_grid("gain=1").with_values(steps=5), tmp_path / "r.csv",
                     workers=1.7)


_ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                      st.floats(allow_nan=True), st.text(max_size=8),
                      st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3),
                                                                          st.integers(),
                                                                          max_size=2))

# the first argument of the analyses: anything but a model
_MODEL_FIRST = ["decay", "spectrum", "jacobian_norms", "bounds", "lyapunov", "trajectory",
                "fixed_points"]


@pytest.mark.parametrize("name", _MODEL_FIRST)
@settings(max_examples=25, deadline=None)
@given(value=_ANYTHING)
def test_any_non_model_is_refused_by_name(name, value):
    function = getattr(gf, name)
    positional = [p for p in inspect.signature(function).parameters.values()
                  if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    args = [value] + [np.zeros((3, 2))] * max(len(positional) - 1, name == "bounds")
    with pytest.raises(gf.GradflowError):
        function(*args)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=30))
def test_any_grid_text_is_parsed_or_refused_by_name(text):
    try:
        gf.parse_grid(text)
    except gf.GradflowError:
        pass
