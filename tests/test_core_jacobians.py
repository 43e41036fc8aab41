"""Per-step Jacobians and VJPs against independent derivatives of the naive step functions."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradflow.cells.init import INITS
from gradflow.kernels import dispatch, trajectory

import naive
from conftest import CONFIG_IDS, CONFIGS, inputs, make


def rel_err(A, B):
    scale = max(np.abs(B).max(), 1e-300)
    return np.abs(A - B).max() / scale


def relu_kink_distance(model, S, xs):
    """Smallest |pre-activation| of a relu RNN along the trajectory (inf for other cells)."""
    if model.cell != "rnn" or model.activation != "relu":
        return np.inf
    a = S[:-1] @ model["W_h"].T + xs @ model["W_x"].T + model["b_h"]
    return np.abs(a).min()


def check_jacobians(model, xs, s0=None, fd=True):
    S = model.run(xs, s0)
    np.testing.assert_allclose(S, naive.trajectory(model, xs, s0), rtol=1e-12, atol=1e-12)
    Js = model.step_jacobians(xs, s0)
    f = naive.step_function(model)
    # no difference step may carry a relu pre-activation across its kink
    largest = max(1.0, np.abs(model.stacked()[0]).max())
    h = min(4e-3, relu_kink_distance(model, S, xs) / (2 * largest))
    for t in range(xs.shape[0]):
        g = lambda s, t=t: f(s, xs[t])  # noqa: E731
        # relative to the Jacobian, with an absolute floor of a few ulps of the weights: a
        # saturated unit's derivative 1 - s^2 (or s(1 - s)) is computed from a state rounded
        # to an ulp, which cancellation amplifies by 1 / (1 - s^2) relative to the derivative
        cs_jac = naive.complex_step_jacobian(g, S[t])
        assert np.abs(Js[t] - cs_jac).max() <= 1e-12 * np.abs(cs_jac).max() + 1e-14 * largest
        if fd:
            # relative to the Jacobian, with a floor of 1e-13 in absolute terms: a saturated
            # cell's Jacobian (~1e-5) is below what differences of O(1) states resolve
            fd_jac = naive.central_difference_jacobian(g, S[t], h)
            assert np.abs(Js[t] - fd_jac).max() <= 1e-10 * np.abs(fd_jac).max() + 1e-13


def test_step_jacobians_match_complex_step_and_central_differences(config):
    model = make(config, hidden=7, inputs=3, seed=3)
    check_jacobians(model, inputs(25, 3, seed=4), s0=0.5 * np.ones(model.state_size))


def test_shapes_follow_the_contract(config):
    model = make(config, hidden=4, inputs=2)
    xs = inputs(9, 2)
    m = model.state_size
    assert m == (8 if model.cell == "lstm" else 4)
    assert model.run(xs).shape == (10, m)
    assert np.all(model.run(xs)[0] == 0)
    assert model.step_jacobians(xs).shape == (9, m, m)
    batch = np.stack([xs, 2 * xs])
    Sb = model.run(batch)
    assert Sb.shape == (2, 10, m)
    np.testing.assert_array_equal(Sb[0], model.run(xs))


def test_products_of_step_jacobians_equal_the_unrolled_derivative(config):
    """ds_T/ds_t of the unrolled map (complex step through all steps) = J_T ... J_{t+1}."""
    model = make(config, hidden=5, inputs=2, seed=7)
    xs = inputs(40, 2, seed=8)
    S = model.run(xs)
    Js = model.step_jacobians(xs)
    for t in (0, 10, 25, 39):
        P = np.eye(model.state_size)
        for J in Js[t:]:
            P = J @ P
        ref = naive.complex_step_jacobian(naive.unrolled(model, xs[t:]), S[t])
        assert rel_err(P, ref) <= 1e-10


def test_vjp_kernel_is_the_transpose_product(config):
    model = make(config, hidden=6, inputs=3, seed=11)
    xs = inputs(12, 3, seed=12)
    S = model.run(xs)
    Js = model.step_jacobians(xs)
    kind, option, Wh, Wx, b, bhn = model.kernel_args()
    G, n = b.shape
    rng = np.random.default_rng(13)
    for t in range(12):
        xp = np.empty((G, n))
        trajectory.input_projection(Wx, b, xs[t], xp)
        v = rng.standard_normal(model.state_size)
        v_prev = np.empty(model.state_size)
        dx, dh, rec = (np.empty((G, n)) for _ in range(3))
        dispatch.vjp(kind, option, Wh, bhn, xp, S[t], v, v_prev, dx, dh, rec, np.empty((4, n)))
        np.testing.assert_allclose(v_prev, Js[t].T @ v, rtol=1e-12, atol=1e-13)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=st.sampled_from(CONFIGS),
    hidden=st.integers(1, 9),
    width=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
    gain=st.floats(0.05, 3.0),
    init=st.sampled_from(INITS),
    steps=st.integers(1, 6),
)
def test_property_jacobians_over_sizes_seeds_and_gains(config, hidden, width, seed, gain, init,
                                                       steps):
    model = make(config, hidden=hidden, inputs=width, seed=seed % 1000, gain=gain, init=init)
    xs = inputs(steps, width, seed=seed)
    S = model.run(xs)
    # relu kinks make finite differences meaningless within h of zero; complex step is exact
    fd = relu_kink_distance(model, S, xs) > 1e-6
    check_jacobians(model, xs, fd=fd)


def test_torch_autograd_agrees_where_installed(config):
    torch = pytest.importorskip("torch")
    model = make(config, hidden=6, inputs=3, seed=21)
    xs = inputs(10, 3, seed=22)
    S = model.run(xs)
    Js = model.step_jacobians(xs)
    w = {k: torch.tensor(v, dtype=torch.float64) for k, v in model.weights.items()}
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}

    def step(s, x):
        if model.cell == "rnn":
            return act[model.activation](w["W_h"] @ s + w["W_x"] @ x + w["b_h"])
        if model.cell == "lstm":
            n = model.hidden
            h, c = s[:n], s[n:]
            gates = {g: w[f"W_{g}h"] @ h + w[f"W_{g}x"] @ x + w[f"b_{g}"] for g in "fioc"}
            C = torch.sigmoid(gates["f"]) * c + torch.sigmoid(gates["i"]) * torch.tanh(gates["c"])
            return torch.cat([torch.sigmoid(gates["o"]) * torch.tanh(C), C])
        R = torch.sigmoid(w["W_rh"] @ s + w["W_rx"] @ x + w["b_r"])
        Z = torch.sigmoid(w["W_zh"] @ s + w["W_zx"] @ x + w["b_z"])
        if model.variant == "seed":
            Ht = torch.tanh(w["W_hh"] @ (R * s) + w["W_hx"] @ x + w["b_h"])
        else:
            Ht = torch.tanh(w["W_hx"] @ x + w["b_h"] + R * (w["W_hh"] @ s + w["b_hn"]))
        return Z * s + (1 - Z) * Ht

    for t in range(10):
        x = torch.tensor(xs[t], dtype=torch.float64)
        J = torch.autograd.functional.jacobian(lambda s, x=x: step(s, x),
                                               torch.tensor(S[t], dtype=torch.float64))
        assert rel_err(Js[t], J.numpy()) <= 1e-12


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_hidden_size_one(config):
    model = make(config, hidden=1, inputs=1, seed=5)
    check_jacobians(model, inputs(8, 1, seed=6))
