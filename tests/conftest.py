import numpy as np
import pytest

import gradflow as gf

#: Every cell configuration gradflow supports: (class, options).
CONFIGS = [
    (gf.RNN, {"activation": "tanh"}),
    (gf.RNN, {"activation": "sigmoid"}),
    (gf.RNN, {"activation": "relu"}),
    (gf.LSTM, {}),
    (gf.GRU, {"variant": "seed"}),
    (gf.GRU, {"variant": "reset_after"}),
]
CONFIG_IDS = ["rnn-tanh", "rnn-sigmoid", "rnn-relu", "lstm", "gru-seed", "gru-reset_after"]


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def config(request):
    return request.param


def make(config, hidden=6, inputs=3, *, seed=0, gain=1.0, init="gaussian"):
    cls, options = config
    model = cls.init(hidden, inputs, init=init, gain=gain, seed=seed, **options)
    # random biases too, so every term of the Jacobian is exercised
    rng = np.random.default_rng(seed + 1000)
    weights = {k: (v + 0.3 * rng.standard_normal(v.shape) if k.startswith("b") else v)
               for k, v in model.weights.items()}
    return cls(weights, **options)


def inputs(T, d, seed=0):
    return np.random.default_rng(seed).standard_normal((T, d))
