import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis.flowmap import flow_map

from conftest import inputs, make


def test_flow_map_entries_are_norms_of_the_products(config):
    model = make(config, hidden=4, inputs=2, seed=1)
    xs = inputs(30, 2, seed=2)
    fm = flow_map(model, xs, ends=[5, 17, 30])
    Js = model.step_jacobians(xs)
    for i, end in enumerate(fm.ends):
        P = np.eye(model.state_size)
        for t in range(end, -1, -1):
            if t < end:
                P = P @ Js[t]
            assert fm.log10_norm2.mask[i, t] == False  # noqa: E712
            assert abs(fm.log10_norm2[i, t] - np.log10(np.linalg.norm(P, 2))) < 1e-10
        assert fm.log10_norm2.mask[i, end + 1:].all()
    np.testing.assert_allclose(fm.log10_norm2[-1, ::-1].data, gf.decay(model, xs).log10_norm2,
                               atol=0)


def test_flow_map_grid_and_errors():
    model = gf.RNN.init(3, 1)
    xs = inputs(50, 1)
    assert list(flow_map(model, xs, ends=5).ends) == [1, 13, 26, 38, 50]
    assert flow_map(model, xs, ends=500).ends.size == 50
    with pytest.raises(gf.GradflowError, match="end times must lie in 1..50"):
        flow_map(model, xs, ends=[0, 10])
    doc = flow_map(model, xs, ends=[2]).to_dict()
    assert doc["log10_norm2"][0][3:] == [None] * 48


def test_dead_units_are_marked_exactly_zero():
    model = gf.RNN({"W_h": np.eye(2), "W_x": np.zeros((2, 1)), "b_h": -np.ones(2)},
                   activation="relu")
    fm = flow_map(model, np.zeros((6, 1)), ends=[6])
    assert fm.exact_zero[0, :6].all() and not fm.exact_zero[0, 6]
    assert fm.log10_norm2[0, 6] == 0.0
