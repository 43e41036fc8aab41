"""Shared test fixtures; first, a clear word when gradflow's dependencies are missing."""

import pathlib
import re
from importlib import metadata

import pytest


def _missing_distributions():
    """The dependencies (and test extra) of pyproject.toml that this Python lacks."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the check needs tomllib; pip checked at install
        return []
    project = tomllib.loads((pathlib.Path(__file__).parents[1] / "pyproject.toml")
                            .read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    missing = []
    for requirement in wanted:
        if ";" in requirement:  # environment markers: pip decided at install
            continue
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


_MISSING = _missing_distributions()
if _MISSING:
    pytest.exit(f"this Python lacks {', '.join(_MISSING)}: install gradflow with its test extra "
                "first (pip install '.[test]', in the venv that runs pytest)", returncode=4)

import numpy as np  # noqa: E402

import gradflow as gf  # noqa: E402

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
