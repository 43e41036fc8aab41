"""The per-lag gradient mass without the split: against the norms of the split itself."""

import numpy as np
import pytest

import gradflow as gf
from gradflow.analysis import lag_mass as module
from gradflow.analysis.lag_mass import lag_mass

from conftest import CONFIG_IDS, CONFIGS, inputs, make

EXTRA = [(gf.RNN, {"activation": "tanh", "leak": 0.3}), (gf.LSTM, {"proj_size": 3})]


def _grad_out(T, width, seed, every=True):
    g = np.random.default_rng(seed).standard_normal((T, width))
    if not every:  # a loss on the last step only, and one in the middle
        g[: T // 2] = 0.0
        g[T // 2 + 1: -1] = 0.0
    return g


@pytest.mark.parametrize("config", CONFIGS + EXTRA, ids=CONFIG_IDS + ["rnn-leaky", "lstm-proj"])
@pytest.mark.parametrize("every", [True, False], ids=["every-step", "two-terms"])
def test_a_cells_mass_is_the_norm_of_its_split_by_lag(config, every):
    model = make(config, hidden=6, inputs=3, seed=4, gain=1.2)
    T = 17
    xs, g = inputs(T, 3, seed=5), _grad_out(T, model.state_size, 6, every)
    want = gf.bptt(model, xs, g, by_lag=True).lag_norms()
    np.testing.assert_allclose(lag_mass(model, xs, g), want, rtol=1e-12, atol=0)


def _network(cls, options, bidirectional, seed=0):
    first = [cls.init(5, 3, seed=seed + i, **options) for i in range(1 + bidirectional)]
    width = 5 * (1 + bidirectional) if "proj_size" not in options else options["proj_size"] * (
        1 + bidirectional)
    second = [cls.init(5, width, seed=seed + 10 + i, **options) for i in range(1 + bidirectional)]
    return gf.Network([tuple(first), tuple(second)])


@pytest.mark.parametrize(("cls", "options"), [(gf.LSTM, {}), (gf.RNN, {"activation": "relu"}),
                                              (gf.GRU, {"variant": "reset_after"}),
                                              (gf.LSTM, {"proj_size": 2})],
                         ids=["lstm", "rnn-relu", "gru-reset_after", "lstm-proj"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
def test_a_networks_mass_is_the_norm_of_its_split_by_lag(cls, options, bidirectional):
    net = _network(cls, options, bidirectional)
    T = 13
    xs, g = inputs(T, 3, seed=1), _grad_out(T, net.output_size, 2)
    want = gf.bptt(net, xs, g, by_lag=True).lag_norms()
    np.testing.assert_allclose(lag_mass(net, xs, g), want, rtol=1e-12, atol=0)


def test_cells_whose_gates_share_their_input_take_the_one_product(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the split's kernel form was built")

    monkeypatch.setattr(module, "split_kernel_form", refused)
    for model in (gf.LSTM.init(6, 3, seed=0), gf.RNN.init(6, 3, seed=0)):
        xs, g = inputs(9, 3), _grad_out(9, model.state_size, 3)
        assert lag_mass(model, xs, g).shape == (9,)
    with pytest.raises(AssertionError, match="kernel form"):  # GRU's candidate reads r * h
        lag_mass(gf.GRU.init(6, 3, seed=0), xs, _grad_out(9, 6, 3))


def test_the_mass_is_exact_at_huge_and_tiny_gradient_scales():
    model, T = gf.LSTM.init(6, 3, seed=2), 11
    xs, g = inputs(T, 3, seed=3), _grad_out(T, 12, 4)
    base = lag_mass(model, xs, g)
    for scale in (1e-300, 1e250):
        np.testing.assert_allclose(lag_mass(model, xs, scale * g), scale * base, rtol=1e-12)
    assert not lag_mass(model, xs, np.zeros((T, 12))).any()
