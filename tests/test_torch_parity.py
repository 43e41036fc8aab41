"""Imported networks against PyTorch's own modules: outputs, h_n and what the loss sees.

Every reference here is the ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` module itself (float64), run
whole: its ``output`` and ``h_n`` (and ``c_n``), the autograd Jacobian of the top layer's h_n
with respect to the input sequence, and, for a unidirectional stack, the Jacobian of h_n with
respect to the state the module holds after step T-k, found by running the module from step
T-k with that state as a leaf.  Norms are numpy's spectral norms of those Jacobians.
"""

import numpy as np
import pytest

import gradflow as gf

torch = pytest.importorskip("torch")

T = 200
#: A subsample of lags k for the state sensitivities (k = T: the initial state).
LAGS = (1, 2, 7, 40, 123, T - 1, T)
MODULES = {
    "rnn-tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn-relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTM, {}),
    "gru": (torch.nn.GRU, {}),
    "lstm-proj": (torch.nn.LSTM, {"proj_size": 3}),
}
slow = pytest.mark.slow  # the 3-layer stacks: each kind is covered by 2 layers in the fast set
#: (kind, layers, bidirectional[, seed]); every case's sensitivities stay nonzero at T.
CASES = [
    pytest.param("rnn-tanh", 2, False), pytest.param("rnn-tanh", 3, False, marks=slow),
    pytest.param("rnn-relu", 2, False),
    pytest.param("rnn-relu", 3, False, 1, marks=slow),  # seed 0's relu units all die
    pytest.param("lstm", 2, False), pytest.param("lstm", 3, False, marks=slow),
    pytest.param("gru", 2, False), pytest.param("gru", 3, False, marks=slow),
    pytest.param("gru", 2, True),
    pytest.param("lstm-proj", 1, False), pytest.param("lstm-proj", 2, False),
    pytest.param("lstm-proj", 2, True),
]
CASES = [pytest.param(*(c.values + (0,))[:4], marks=c.marks, id="-".join(map(str, c.values[:3])))
         for c in CASES]


def module(kind, layers, bidirectional, seed=0):
    cls, kwargs = MODULES[kind]
    torch.manual_seed(seed)
    m = cls(3, 5, num_layers=layers, bidirectional=bidirectional, **kwargs)
    with torch.no_grad():  # nonzero, distinct biases so that a mix-up of the two shows
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    return m.double().eval()


def sequence(seed=1):
    return np.random.default_rng(seed).standard_normal((T, 3))


def zero_state(m):
    D = 2 if m.bidirectional else 1
    h = torch.zeros(m.num_layers * D, 1, m.proj_size or m.hidden_size, dtype=torch.float64)
    if isinstance(m, torch.nn.LSTM):
        return h, torch.zeros(m.num_layers * D, 1, m.hidden_size, dtype=torch.float64)
    return h


def top_h_n(m, h_n):
    """PyTorch's h_n of the top layer, the directions concatenated: y_T."""
    h = h_n[0] if isinstance(h_n, tuple) else h_n
    D = 2 if m.bidirectional else 1
    return h[-D:, 0].reshape(-1)


def log10_norm(A):
    return float(np.log10(np.linalg.norm(A.reshape(A.shape[0], -1), 2)))


@pytest.mark.parametrize("kind, layers, bidirectional, seed", CASES)
def test_outputs_and_h_n_match_the_module(kind, layers, bidirectional, seed):
    m = module(kind, layers, bidirectional, seed)
    net = gf.network_from_torch(m)
    xs = np.random.default_rng(2).standard_normal((3, T, 3))
    with torch.no_grad():
        out, state = m(torch.tensor(xs).transpose(0, 1))
    np.testing.assert_allclose(net.outputs(xs), out.transpose(0, 1).numpy(), rtol=0,
                               atol=1e-12)
    h_n = state[0] if isinstance(state, tuple) else state
    D = 2 if bidirectional else 1
    np.testing.assert_allclose(net.final_hidden(xs),
                               torch.cat(list(h_n[-D:]), dim=-1).numpy(), rtol=0, atol=1e-12)
    if isinstance(state, tuple):  # every layer's and direction's c_n
        final = net.run(xs)[:, -1]
        p = m.proj_size or m.hidden_size
        for index, part in enumerate(net.state_slices().values()):
            np.testing.assert_allclose(final[:, part][:, :p], h_n[index].numpy(), rtol=0,
                                       atol=1e-12)
            np.testing.assert_allclose(final[:, part][:, p:], state[1][index].numpy(), rtol=0,
                                       atol=1e-12)


@pytest.mark.parametrize("kind, layers, bidirectional, seed", CASES)
def test_sensitivities_match_autograd_through_the_module(kind, layers, bidirectional, seed):
    m = module(kind, layers, bidirectional, seed)
    xs = sequence()
    r = gf.decay(gf.network_from_torch(m), xs)

    def y_of_inputs(x):
        return top_h_n(m, m(x[:, None], zero_state(m))[1])

    J = torch.autograd.functional.jacobian(y_of_inputs, torch.tensor(xs)).numpy()
    inputs = [log10_norm(J[:, T - k - 1]) for k in range(T)]
    np.testing.assert_allclose(r.log10_norm2_input, inputs, rtol=0, atol=1e-9)
    assert np.isfinite(inputs).all() and np.ptp(inputs) > 10  # it spans orders of magnitude
    if bidirectional:
        return  # the reverse direction's state at T-k is not the module's state at T-k
    assert r.log10_norm2_output[0] == pytest.approx(0.0, abs=1e-12)  # dy_T/dy_T = I
    for k in LAGS:
        with torch.no_grad():
            start = m(torch.tensor(xs[:T - k])[:, None], zero_state(m))[1] if k < T \
                else zero_state(m)
        leaves = start if isinstance(start, tuple) else (start,)

        def y_of_state(*s, k=k):
            s = s if len(s) > 1 else s[0]
            return top_h_n(m, m(torch.tensor(xs[T - k:])[:, None], s)[1])

        blocks = torch.autograd.functional.jacobian(y_of_state, tuple(s.clone()
                                                                       for s in leaves))
        Js = np.concatenate([b.reshape(b.shape[0], -1).numpy() for b in blocks], axis=1)
        assert r.log10_norm2_output[k] == pytest.approx(log10_norm(Js), abs=1e-9)
