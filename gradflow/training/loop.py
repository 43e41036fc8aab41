"""The training loop: a cell plus a linear readout, exact BPTT gradients, clipping, a history.

:func:`train` reads as its steps: check the arguments, build the network
(:mod:`.network`), then per step draw a batch, take the loss and its gradient, clip, update
and record (:mod:`.history`), with snapshots (:mod:`.snapshots`) at intervals.
"""

import math
import time
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .. import validation
from .._threads import available_cores
from ..analysis.bptt import SequencePool
from ..analysis.clipping import (
    FALLBACKS,
    METHODS,
    clip_gradients,
    clipping_threshold,
    gradient_norm,
)
from ..cells import CELLS
from ..resources import require_memory
from .flossing import DEFAULT_SCHEDULE, Flossing
from .history import Trace, TrainResult, history_document
from .network import Network
from .optim import make_optimizer
from .snapshots import take_snapshot
from .tasks import make_task

__all__ = ["train"]


def _count(value, name):
    return validation.integer(value, name, minimum=1, rule="an integer >= 1")


@dataclass(frozen=True)
class _Clipping:
    """Clipping settings of a run; ``rng`` draws the random fallback."""

    threshold: float
    method: str
    on_non_finite: str
    rng: np.random.Generator

    def apply(self, gradient, vector):
        """``(clipped gradient, whether clipping acted)``; None (not finite) takes the fallback."""
        if gradient is None:
            gradient = np.full_like(vector, np.nan)
        result = clip_gradients(gradient, self.threshold, method=self.method,
                                on_non_finite=self.on_non_finite, rng=self.rng)
        return result.grads, result.clipped


def _training_step(network, optimiser, clipping, task, batch, trace, step, pool):
    """Loss, gradient, clipping and update on one batch, recorded; False ends the run."""
    loss, grads = network.loss_and_gradients(task, *batch, pool=pool)
    gradient = None if grads is None else network.flatten(grads)
    norm = math.nan if gradient is None else gradient_norm([gradient])
    non_finite = not (math.isfinite(loss) and math.isfinite(norm))
    if non_finite and clipping is None:
        trace.record(step, loss, norm, clipped=False, non_finite=True)
        trace.diverge(step)
        return False
    clipped = False
    if clipping is not None:
        gradient, clipped = clipping.apply(None if non_finite else gradient, network.vector)
    trace.record(step, loss, norm, clipped=clipped, non_finite=non_finite)
    if not network.step(optimiser, gradient):
        trace.diverge(step, weights=True)
        return False
    return True


def train(cell, task, length, hidden, steps, *, batch=32, lr=None, optimizer="adam", clip=None,
          clip_method="norm", on_non_finite="zero", seed=0, init="pytorch", gain=1.0,
          memory=10, log_every=None, eval_batch=256, lag_batch=16, snapshot_analyses=True,
          threads=None, progress=None, floss=None, floss_target=0.0, floss_weight=1.0,
          floss_schedule=None, **options):
    """Train a cell and a linear readout on a long-dependency task with exact BPTT gradients.

    Every step draws a fresh batch, runs the cell from zero states, applies the readout
    ``y_t = W_out h_t + b_out`` to the last ``task.output_steps`` states, and takes the
    gradient of the task loss with respect to every weight (cell and readout) by
    backpropagation through time (:mod:`gradflow.analysis.bptt`).  The whole gradient is clipped
    (``clip``) and handed to the optimiser.  A loss, gradient or weight that is not finite
    ends the run when there is no clipping (``diverged``); with clipping the gradient is
    replaced by the fallback of :func:`~gradflow.analysis.clipping.clip_gradients` and the
    run goes on.

    Parameters
    ----------
    cell : str
        A registered cell (:data:`gradflow.cells.CELLS`): ``"rnn"``, ``"lstm"``, ``"gru"``.
    task : {"adding", "copy"}
    length : int
        Sequence length T.
    hidden : int
        Hidden size n.
    steps : int
        Optimiser steps.
    batch : int
        Sequences per step.
    lr : float, optional
        Learning rate (default 1e-3 for Adam, 1e-2 for SGD).
    optimizer : {"adam", "sgd"}
    clip : float, optional
        Clipping size c (None: no clipping).
    clip_method : {"norm", "value"}
    on_non_finite : {"zero", "random"}
        Clipping's fallback for a NaN or inf gradient.
    seed : int
        Seeds the weights, the readout, the data stream, the evaluation batch and the fallback.
    init, gain
        The initialiser and the recurrent gain, as for :meth:`Cell.init` (``init`` defaults
        to ``"pytorch"``).
    memory : int
        Copy task: symbols to remember.
    log_every : int, optional
        Steps between snapshots (default ``max(1, steps // 20)``); a snapshot is also taken
        before the first step and after the last.
    eval_batch : int
        Size of the fixed evaluation batch of the snapshots.
    lag_batch : int
        Sequences of that batch whose per-lag gradient mass is measured.
    snapshot_analyses : bool
        Whether the snapshots also analyse the cell (its decay and the per-lag mass, below).
        False: they hold the evaluation loss and accuracy, with ``decay``, ``lag_mass`` and
        ``long_lag_share`` null (a loss curve without the analyses' cost).
    threads : int, optional
        Threads that share each batch (default: the CPUs, at most 8); the kernels release
        the GIL.
    progress : callable, optional
        Called with each snapshot dict as it is taken.
    floss : int, optional
        Gradient flossing of the first ``floss`` Lyapunov exponents (Engelken 2023; see
        :mod:`gradflow.training.flossing`); None: no flossing.
    floss_target, floss_weight : float
        The exponents' target (default 0) and the scale of the flossing gradient (default 1).
    floss_schedule : str, optional
        ``"pre:N,every:M"``: N flossing steps before training, then one after every M-th
        training step (default ``"pre:100,every:10"``).
    **options
        The cell's options (``activation``, ``variant``, ``forget_bias``, ...; see
        :attr:`Cell.option_specs`), as for :meth:`Cell.init`; None takes the default.

    Returns
    -------
    TrainResult
        ``history`` is the document::

            format       "gradflow-train-history"; version 1 (2 with the floss section)
            config       every argument above (lr resolved), the cell's options
            task         name, length, inputs, outputs, output_steps, baseline,
                         baseline_words (and memory, symbols for copy)
            parameters   trainable scalars of the cell, and of the readout
            trace        per step s = 1..steps_done, parallel lists:
                         step, loss (training batch, before the update), grad_norm
                         (whole gradient, before clipping), clipped, non_finite (the
                         loss, the gradient or an updated weight was NaN or inf)
            snapshots    list, after step 0, every log_every steps and the last:
                         step, eval_loss, eval_accuracy (copy; null for adding),
                         decay: log10_norm2 over lags 0..T on the first evaluation
                         sequence (+ log10_norm2_h, log10_norm2_c for LSTM),
                         gradient_horizon, log10_decay_rate, decay_factor, verdict,
                         lambda_1 (null when the trajectory overflows);
                         lag_mass: per-lag norm of the cell's weight gradient of the
                         evaluation loss over lags 0..T-1 (Pascanu et al. eq. 5);
                         long_lag_share: sum of lag_mass at lags >= T/2 over its total
            readout      W_out, b_out after training
            floss        (version 2, with flossing only) k, target, weight, schedule
                         {pre, every}, steps; trace: parallel lists step (the training
                         step it followed; 0 before training), phase ("pre" | "during"),
                         loss, exponents (the k exponents of that flossing batch, mean over
                         its sequences, descending)
            summary      steps_done, diverged, diverged_at, final_loss (mean of the last
                         10% of finite training losses), final_eval_loss, best_eval_loss,
                         baseline, clipped_fraction (steps clipped / steps done),
                         non_finite_steps, max_grad_norm, wall_time_s

        Non-finite numbers are ``null``; ``non_finite`` (per step) and ``diverged`` say why.

    References
    ----------
    Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation.
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    cls = CELLS[validation.choice(cell, "cell", tuple(CELLS))]
    the_task = make_task(task, length, memory=memory)
    hidden, steps, batch = _count(hidden, "hidden"), _count(steps, "steps"), _count(batch, "batch")
    eval_batch = _count(eval_batch, "eval_batch")
    lag_batch = min(_count(lag_batch, "lag_batch"), eval_batch)
    snapshot_analyses = validation.boolean(snapshot_analyses, "snapshot_analyses")
    seed = validation.integer(seed, "seed", minimum=0, rule="a non-negative integer")
    log_every = max(1, steps // 20) if log_every is None else _count(log_every, "log_every")
    optimiser = make_optimizer(optimizer, lr)
    clip = None if clip is None else clipping_threshold(clip, "clip")
    validation.choice(clip_method, "clip_method", METHODS)
    validation.choice(on_non_finite, "on_non_finite", FALLBACKS[:2])  # "raise" would end a run
    options = {name: value for name, value in options.items() if value is not None}
    model = cls.init(hidden, the_task.inputs, init=init, gain=gain, seed=seed, **options)
    per_sequence = 8 * (the_task.length + 1) * (3 * model.state_size + 2 * the_task.inputs
                                       + the_task.outputs)
    require_memory(max(eval_batch, batch) * per_sequence,
                   f"training {model.describe()} with batch {batch} and eval_batch {eval_batch} "
                   f"on sequences of length {the_task.length}")
    threads = min(available_cores(), 8) if threads is None else _count(threads, "threads")

    network = Network(model, the_task.outputs, np.random.default_rng([seed, 1]))
    flossing = None if floss is None else Flossing(
        floss, floss_target, floss_weight, floss_schedule or DEFAULT_SCHEDULE,
        make_optimizer(optimizer, lr), np.random.default_rng([seed, 5]), model.state_size)
    data = np.random.default_rng([seed, 2])
    evaluation = the_task.sample(np.random.default_rng([seed, 3]), eval_batch)
    clipping = None if clip is None else _Clipping(clip, clip_method, on_non_finite,
                                                   np.random.default_rng([seed, 4]))
    trace, snapshots = Trace(), []

    def snapshot(step, pool):
        snapshots.append(take_snapshot(network, the_task, evaluation, lag_batch, step,
                                       pool=pool, analyses=snapshot_analyses))
        if progress is not None:
            progress(snapshots[-1])

    start = time.perf_counter()
    with SequencePool(threads) as pool:
        snapshot(0, pool)
        for _ in range(flossing.schedule.pre if flossing else 0):
            flossing.step(network, the_task, batch, 0, "pre")
        for step in range(1, steps + 1):
            batch_data = the_task.sample(data, batch)
            if not _training_step(network, optimiser, clipping, the_task, batch_data, trace,
                                  step, pool):
                break
            if flossing is not None and flossing.schedule.due(step):
                flossing.step(network, the_task, batch, step, "during")
            if step % log_every == 0 or step == steps:
                snapshot(step, pool)
        wall_time = time.perf_counter() - start
        if trace.diverged_at is not None and snapshots[-1]["step"] != trace.diverged_at - 1:
            snapshot(trace.diverged_at - 1, pool)  # the last finite weights

    final = network.cell()
    init_options = {name: options.get(name) for c in CELLS.values() for name in c.init_options()}
    config = {
        "cell": cell, **final.options(), "model": final.describe(), "task": the_task.name,
        "length": the_task.length, "hidden": hidden, "steps": steps, "batch": batch,
        **optimiser.describe(), "clip": clip, "clip_method": clip_method if clip else None,
        "on_non_finite": on_non_finite if clip else None, "seed": seed, "init": init,
        "gain": float(gain), **init_options, "log_every": log_every, "eval_batch": eval_batch,
        "lag_batch": lag_batch, "snapshot_analyses": snapshot_analyses, "threads": threads,
        "floss": floss,
    }
    history = history_document(config, the_task, network, trace, snapshots, wall_time,
                               floss=None if flossing is None else flossing.describe())
    readout = MappingProxyType({name: network.parameters[name].copy()
                                for name in ("W_out", "b_out")})
    return TrainResult(model=final, readout=readout, history=history)
