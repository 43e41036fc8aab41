"""Snapshots of a training run: the evaluation loss, the decay curve and the per-lag mass."""

import math

import numpy as np

from ..analysis._json import number, numbers
from ..analysis.decay import decay
from ..errors import GradflowError


def _decay_doc(model, xs):
    try:
        r = decay(model, xs)
    except GradflowError:
        return None
    return r.to_json("log10_norm2", "log10_norm2_h", "log10_norm2_c", "gradient_horizon",
                     "log10_decay_rate", "decay_factor", "verdict", "lambda_1")


def _long_share(mass):
    """Share of the per-lag mass at lags >= T/2."""
    total = float(np.sum(mass))
    if not math.isfinite(total) or total == 0.0:
        return None
    return float(np.sum(mass[mass.size // 2:]) / total)


def take_snapshot(network, task, evaluation, lag_batch, step, *, pool=None, analyses=True):
    """The snapshot document of ``network`` after ``step`` steps, on the evaluation batch.

    Parameters
    ----------
    network : Network
    task : AddingProblem or CopyMemory
    evaluation : (ndarray, ndarray)
        The fixed evaluation batch: inputs (B, T, d) and targets.
    lag_batch : int
        Its first sequences whose per-lag gradient mass is measured.
    step : int
    pool : SequencePool, optional
        Threads for the evaluation's forward pass.
    analyses : bool, optional
        False: the evaluation loss and accuracy alone (``decay``, ``lag_mass`` and
        ``long_lag_share`` None).

    Returns
    -------
    dict
        ``step``, ``eval_loss``, ``eval_accuracy``, ``decay`` (on the first evaluation
        sequence), ``lag_mass`` and ``long_lag_share``, as documented in
        :func:`gradflow.training.loop.train`.
    """
    X, targets = evaluation
    loss, accuracy = network.loss(task, X, targets, pool=pool)
    mass = network.lag_mass(task, X[:lag_batch], targets[:lag_batch]) if analyses else None
    return {
        "step": step,
        "eval_loss": number(loss),
        "eval_accuracy": number(accuracy),
        "decay": _decay_doc(network.cell(), X[0]) if analyses else None,
        "lag_mass": numbers(mass),
        "long_lag_share": None if mass is None else number(_long_share(mass)),
    }
