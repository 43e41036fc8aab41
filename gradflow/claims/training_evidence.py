"""Measurements that need training: clipping's rescue, relu's dead units, GRU against LSTM.

Every run is gradflow's own training loop (:func:`gradflow.training.loop.train`: exact BPTT
gradients, a linear readout, the adding problem), seeded, single-threaded so that it is
deterministic, and short; its snapshots take the evaluation loss alone (the claims read no
snapshot's decay or per-lag mass).
"""

import math
from dataclasses import dataclass

import numpy as np

from ..analysis.bounds import bounds
from ..cells import RNN
from ..training.loop import train
from ..training.tasks import make_task

#: Snapshots per training run (the evaluation-loss curve).
SNAPSHOTS = 20
#: Size of the fixed evaluation batch of the comparison runs.
EVAL_BATCH = 64


def _run(cell, task, length, hidden, steps, *, seed, log_every=None, **kwargs):
    return train(cell, task, length, hidden, steps, seed=seed, threads=1,
                 snapshot_analyses=False, eval_batch=EVAL_BATCH, log_every=log_every or steps,
                 **kwargs).history


def _finite(values):
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


@dataclass(frozen=True)
class ClippingPair:
    """A diverging run and its norm-clipped twin (same seed, weights, data and steps).

    Attributes
    ----------
    unclipped, clipped : dict
        The two training histories.
    threshold : float
        The clipping size c.
    """

    unclipped: dict
    clipped: dict
    threshold: float

    def figures(self, which):
        """Loss, gradient norm and the norm of the gradient actually stepped with."""
        h = getattr(self, which)
        s, trace = h["summary"], h["trace"]
        norms = _finite(trace["grad_norm"])
        losses = _finite(trace["loss"])
        c = self.threshold if which == "clipped" else math.inf
        stepped = np.minimum(norms, c)
        finite_loss = losses[np.isfinite(losses)]
        return {
            "steps_done": s["steps_done"],
            "diverged": s["diverged"],
            "first_loss": float(losses[0]),
            "max_loss": float(finite_loss.max()) if finite_loss.size else None,
            "final_loss": s["final_loss"],
            "final_eval_loss": s["final_eval_loss"],
            "max_grad_norm": s["max_grad_norm"],
            "max_step_norm": float(np.nanmax(stepped)) if np.isfinite(stepped).any() else None,
            "clipped_fraction": s["clipped_fraction"],
        }


def clipping_pair(config):
    """Train the diverging tanh RNN without clipping and with norm clipping at c."""
    common = {"activation": "tanh", "init": "orthogonal", "gain": config.clip_gain,
              "lr": config.clip_lr, "optimizer": "sgd", "batch": 16, "seed": config.seed}
    args = ("rnn", config.clip_task, config.clip_length, config.clip_hidden, config.clip_steps)
    return ClippingPair(unclipped=_run(*args, **common),
                        clipped=_run(*args, clip=config.clip_threshold, **common),
                        threshold=config.clip_threshold)


def _dead(model, xs):
    return len(bounds(model, xs).gates["H"].dead_units)


@dataclass(frozen=True)
class DeadUnits:
    """Dead relu units (pre-activation never positive on a batch) before and after training.

    Attributes
    ----------
    hidden : int
    at_init : tuple of int
        Per seed, before training.
    after : dict of float to tuple of int
        Per learning rate, per seed, after training.
    seeds : tuple of int
    """

    hidden: int
    at_init: tuple
    after: dict
    seeds: tuple


def dead_units(config):
    """Train relu RNNs at a large and a small learning rate and count their dead units."""
    task = make_task(config.clip_task, config.clip_length)
    xs, _ = task.sample(np.random.default_rng([config.seed, 9]), EVAL_BATCH)
    seeds = tuple(config.compare_seeds[:3])
    at_init = tuple(_dead(RNN.init(config.hidden, task.inputs, activation="relu",
                                   init=config.init, seed=s), xs) for s in seeds)
    after = {}
    for lr in config.dead_lrs:
        counts = []
        for s in seeds:
            result = train("rnn", config.clip_task, config.clip_length, config.hidden,
                           config.dead_steps, activation="relu", init=config.init, lr=lr,
                           clip=config.clip_threshold, batch=16, seed=s, threads=1,
                           snapshot_analyses=False, eval_batch=16,
                           log_every=config.dead_steps)
            counts.append(_dead(result.model, xs))
        after[float(lr)] = tuple(counts)
    return DeadUnits(hidden=config.hidden, at_init=at_init, after=after, seeds=seeds)


@dataclass(frozen=True)
class TrainingComparison:
    """GRU against LSTM on the same task, seeds and budget.

    Attributes
    ----------
    seeds : tuple of int
    steps : ndarray, shape (S,)
        Snapshot steps.
    eval_loss : dict of str to ndarray, shape (len(seeds), S)
        Per cell, per seed, the evaluation loss at each snapshot.
    baseline : float
        The task's no-memory loss.
    parameters : dict of str to int
        Trainable scalars of each cell.
    """

    seeds: tuple
    steps: np.ndarray
    eval_loss: dict
    baseline: float
    parameters: dict

    @property
    def target(self):
        """The loss counted as converged: half the baseline."""
        return self.baseline / 2.0

    def steps_to_target(self, cell):
        """Per seed, the first snapshot step whose loss is below :attr:`target`, or None."""
        out = []
        for row in self.eval_loss[cell]:
            hit = np.flatnonzero(row < self.target)
            out.append(int(self.steps[hit[0]]) if hit.size else None)
        return out


def training_comparison(config):
    """Train a GRU and an LSTM on every seed with the same settings."""
    log_every = max(1, config.compare_steps // SNAPSHOTS)
    losses, parameters, steps, baseline = {}, {}, None, None
    for cell in ("gru", "lstm"):
        rows = []
        for seed in config.compare_seeds:
            h = _run(cell, config.compare_task, config.compare_length, config.compare_hidden,
                     config.compare_steps, seed=seed, log_every=log_every,
                     lr=config.compare_lr, batch=config.compare_batch)
            rows.append(_finite([s["eval_loss"] for s in h["snapshots"]]))
            steps = np.array([s["step"] for s in h["snapshots"]])
            baseline = h["task"]["baseline"]
            parameters[cell] = h["parameters"]["cell"]
        losses[cell] = np.vstack(rows)
    return TrainingComparison(seeds=tuple(config.compare_seeds), steps=steps, eval_loss=losses,
                              baseline=baseline, parameters=parameters)


def sign_test(wins, trials):
    """One-sided sign-test p-value: P(at least ``wins`` of ``trials`` fair coin flips)."""
    if trials == 0:
        return 1.0
    return sum(math.comb(trials, k) for k in range(wins, trials + 1)) / 2.0**trials
