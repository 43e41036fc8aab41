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


@pytest.mark.parametrize("T", [4, 23], ids=["T-below-n+d+1", "T-above-n+d+1"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_the_norm_that_comes_with_the_mass_is_the_whole_gradients(config, T):
    # the mass's products run through a factor of [h | x | 1] whose width is min(T, n + d + 1)
    model = make(config, hidden=8, inputs=3, seed=7, gain=1.1)
    xs, g = inputs(T, 3, seed=8), _grad_out(T, model.state_size, 9)
    want = gf.bptt(model, xs, g, by_lag=True)
    mass, norm = lag_mass(model, xs, g, with_norm=True)
    np.testing.assert_allclose(mass, want.lag_norms(), rtol=1e-12, atol=0)
    reference = np.sqrt(sum(np.sum(v ** 2) for v in want.grads.values()))
    np.testing.assert_allclose(norm, reference, rtol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
def test_a_networks_norm_is_its_bptt_gradients(bidirectional):
    net = _network(gf.LSTM, {}, bidirectional, seed=3)
    for T in (4, 19):
        xs, g = inputs(T, 3, seed=T), _grad_out(T, net.output_size, T + 1, every=T > 4)
        grads = gf.bptt(net, xs, g).grads
        reference = np.sqrt(sum(np.sum(v ** 2) for v in grads.values()))
        np.testing.assert_allclose(lag_mass(net, xs, g, with_norm=True)[1], reference,
                                   rtol=1e-12)


def test_the_norm_is_exact_at_huge_and_tiny_gradient_scales():
    model, T = gf.RNN.init(6, 3, seed=2), 11
    xs, g = inputs(T, 3, seed=3), _grad_out(T, 6, 4)
    base_mass, base_norm = lag_mass(model, xs, g, with_norm=True)
    for scale in (1e-300, 1e-160, 1e160, 1e250):
        mass, norm = lag_mass(model, xs, scale * g, with_norm=True)
        np.testing.assert_allclose(mass, scale * base_mass, rtol=1e-12)
        np.testing.assert_allclose(norm, scale * base_norm, rtol=1e-12)


def test_the_terms_arrive_in_the_order_of_a_stable_argsort():
    from gradflow.kernels.lag_split import arrival_order

    rng = np.random.default_rng(7)
    for T, P in [(1, 1), (5, 9), (40, 40), (12, 200)]:
        start = rng.integers(0, T + 1, P)  # ties included, and terms that never arrive (0)
        np.testing.assert_array_equal(arrival_order(start, T),
                                      np.argsort(-start, kind="stable"))
    np.testing.assert_array_equal(arrival_order(np.zeros(0, dtype=np.int64), 3), [])
