"""The training loop: a cell plus a linear readout, exact BPTT gradients, clipping, a history.

The history is one JSON-ready document (``TrainResult.history``); its format is documented in
:func:`train` and written by ``gradflow train --history``.
"""

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import GradflowError
from .optim import make_optimizer
from .tasks import make_task

#: Identifies a history document.
HISTORY_FORMAT = "gradflow-train-history"
HISTORY_VERSION = 1


@dataclass(frozen=True)
class TrainResult:
    """A trained cell and readout, and the history of the run.

    Attributes
    ----------
    model : RNN, LSTM or GRU
        The cell after the last step whose update kept every weight finite.
    readout : mapping of str to ndarray
        ``W_out`` (outputs, n) and ``b_out`` (outputs,): ``y_t = W_out h_t + b_out``.
    history : dict
        The JSON document described in :func:`train` (no NaN or inf anywhere: non-finite
        values are ``None``, flagged).
    """

    model: object
    readout: MappingProxyType
    history: dict

    @property
    def summary(self):
        """The history's ``summary`` section."""
        return self.history["summary"]

    @property
    def losses(self):
        """Training loss per step (NaN where it was not finite)."""
        return np.array([np.nan if v is None else v for v in self.history["trace"]["loss"]])

    @property
    def diverged(self):
        """Whether the run stopped on a non-finite loss, gradient or weight."""
        return self.history["summary"]["diverged"]


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise GradflowError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


class _Network:
    """Cell weights in kernel form plus the readout, as one dict of arrays the optimiser steps."""

    def __init__(self, model, outputs, rng):
        from ..analysis.bptt import bhn_gate

        self.cls = type(model)
        self.options = model.options()
        self.kind = model.kernel_id
        self.option = model.kernel_option()
        self.gate = bhn_gate(model)
        self.names = model.weight_names()
        self.hidden = model.hidden
        self.state_size = model.state_size
        Wh, Wx, b, bhn = model.stacked()
        n = model.hidden
        k = 1.0 / math.sqrt(n)
        self.params = {"Wh": Wh.copy(), "Wx": Wx.copy(), "b": b.copy()}
        if self.gate >= 0:
            self.params["bhn"] = bhn.copy()
        self.params["W_out"] = rng.uniform(-k, k, (outputs, n))
        self.params["b_out"] = np.zeros(outputs)
        self._zero_bhn = np.zeros(n)

    def kernel_args(self):
        p = self.params
        return (self.kind, self.option, p["Wh"], p["Wx"], p["b"],
                p["bhn"] if self.gate >= 0 else self._zero_bhn)

    def cell(self):
        """The cell in the seed's notation."""
        p = self.params
        weights = {}
        for g, gate in enumerate(self.cls.gates):
            weights[self.cls.recurrent_name(gate)] = p["Wh"][g]
            weights[self.cls.input_name(gate)] = p["Wx"][g]
            weights[self.cls.bias_name(gate)] = p["b"][g]
        if self.gate >= 0:
            weights["b_hn"] = p["bhn"]
        return self.cls(weights, **self.options)

    def finite(self):
        return all(np.isfinite(a).all() for a in self.params.values())

    def copy(self):
        return {k: v.copy() for k, v in self.params.items()}


def _chunks(B, workers):
    workers = max(1, min(workers, B))
    bounds = np.linspace(0, B, workers + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _each(pool, function, parts):
    if pool is None:
        return [function(p) for p in parts]
    return list(pool.map(function, parts))


def _forward_backward(net, task, X, targets, pool, workers, *, backward=True):
    """Loss, its gradient for every parameter, and the accuracy, on one batch."""
    from ..kernels import bptt as kernels

    B, T, d = X.shape
    m, n = net.state_size, net.hidden
    K = task.output_steps
    args = net.kernel_args()
    Wh, Wx, b = args[2], args[3], args[4]
    S = np.zeros((B, T + 1, m))
    bad = np.empty(B, dtype=np.int64)
    parts = _chunks(B, workers)

    def forward(part):
        lo, hi = part
        kernels.batch_forward(*args, X[lo:hi], S[lo:hi], bad[lo:hi])

    _each(pool, forward, parts)
    W_out, b_out = net.params["W_out"], net.params["b_out"]
    if (bad >= 0).any():
        return math.inf, None, None, S
    H = S[:, T - K + 1:, :n]
    with np.errstate(over="ignore", invalid="ignore"):
        outputs = H @ W_out.T + b_out
    loss, dout, accuracy = task.loss(outputs, targets)
    if not backward:
        return loss, None, accuracy, S
    grads = {"W_out": np.einsum("bko,bkn->on", dout, H), "b_out": dout.sum(axis=(0, 1))}
    G = np.zeros((B, T, m))
    with np.errstate(over="ignore", invalid="ignore"):
        G[:, T - K:, :n] = dout @ W_out

    def back(part):
        lo, hi = part
        dWh = np.zeros_like(Wh)
        dWx = np.zeros_like(Wx)
        db = np.zeros_like(b)
        dbhn = np.zeros(n)
        state_grads = np.empty((hi - lo, T + 1, m))
        input_grads = np.empty((hi - lo, T, d))
        kernels.batch_backward(*args[:6], net.gate, X[lo:hi], S[lo:hi], G[lo:hi], dWh, dWx, db,
                               dbhn, state_grads, input_grads)
        return dWh, dWx, db, dbhn

    results = _each(pool, back, parts)
    grads["Wh"] = sum(r[0] for r in results)
    grads["Wx"] = sum(r[1] for r in results)
    grads["b"] = sum(r[2] for r in results)
    if net.gate >= 0:
        grads["bhn"] = sum(r[3] for r in results)
    return loss, grads, accuracy, S


def _lag_mass(net, task, X, targets):
    """Per-lag norm of the cell's weight gradient of the task loss on ``X`` (Pascanu eq. 5)."""
    from ..analysis.clipping import gradient_norm
    from ..kernels import bptt as kernels

    B, T, d = X.shape
    m, n = net.state_size, net.hidden
    K = task.output_steps
    loss, _, _, S = _forward_backward(net, task, X, targets, None, 1, backward=False)
    if not math.isfinite(loss):
        return None
    H = S[:, T - K + 1:, :n]
    W_out, b_out = net.params["W_out"], net.params["b_out"]
    _, dout, _ = task.loss(H @ W_out.T + b_out, targets)
    G = np.zeros((B, T, m))
    G[:, T - K:, :n] = dout @ W_out
    args = net.kernel_args()
    Gn = args[4].shape[0]
    lWh = np.zeros((T, Gn, n, n))
    lWx = np.zeros((T, Gn, n, d))
    lb = np.zeros((T, Gn, n))
    lbhn = np.zeros((T, n))
    kernels.batch_backward_by_lag(*args, net.gate, X, S, G, lWh, lWx, lb, lbhn)
    return np.array([gradient_norm([lWh[k], lWx[k], lb[k], lbhn[k]]) for k in range(T)])


def _decay_doc(model, xs):
    from ..analysis.decay import decay

    try:
        r = decay(model, xs)
    except GradflowError:
        return None

    def curve(a):
        return None if a is None else [_number(v) for v in a]

    doc = {"log10_norm2": curve(r.log10_norm2)}
    if r.log10_norm2_h is not None:
        doc["log10_norm2_h"] = curve(r.log10_norm2_h)
        doc["log10_norm2_c"] = curve(r.log10_norm2_c)
    doc.update(gradient_horizon=r.gradient_horizon, log10_decay_rate=_number(r.log10_decay_rate),
               decay_factor=_number(r.decay_factor), verdict=r.verdict,
               lambda_1=_number(r.lambda_1))
    return doc


def _long_share(mass):
    """Share of the per-lag mass at lags >= T/2."""
    total = float(np.sum(mass))
    if not math.isfinite(total) or total == 0.0:
        return None
    return float(np.sum(mass[mass.size // 2:]) / total)


def train(cell, task, length, hidden, steps, *, batch=32, lr=None, optimizer="adam", clip=None,
          clip_method="norm", on_non_finite="zero", seed=0, activation=None, variant=None,
          init="pytorch", gain=1.0, forget_bias=None, memory=10, log_every=None,
          eval_batch=256, lag_batch=16, threads=None, progress=None):
    """Train a cell and a linear readout on a long-dependency task with exact BPTT gradients.

    Every step draws a fresh batch, runs the cell from zero states, applies the readout
    ``y_t = W_out h_t + b_out`` to the last ``task.output_steps`` states, and takes the
    gradient of the task loss with respect to every weight (cell and readout) by
    backpropagation through time (:mod:`gradflow.kernels.bptt`).  The whole gradient is clipped
    (``clip``) and handed to the optimiser.  A loss, gradient or weight that is not finite
    ends the run when there is no clipping (``diverged``); with clipping the gradient is
    replaced by the fallback of :func:`~gradflow.analysis.clipping.clip_gradients` and the
    run goes on.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}
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
    activation, variant, init, gain, forget_bias
        The cell's options, as for :meth:`Cell.init` (``init`` defaults to ``"pytorch"``).
    memory : int
        Copy task: symbols to remember.
    log_every : int, optional
        Steps between snapshots (default ``max(1, steps // 20)``); a snapshot is also taken
        before the first step and after the last.
    eval_batch : int
        Size of the fixed evaluation batch of the snapshots.
    lag_batch : int
        Sequences of that batch whose per-lag gradient mass is measured.
    threads : int, optional
        Threads that share each batch (default: the CPUs, at most 8); the kernels release
        the GIL.
    progress : callable, optional
        Called with each snapshot dict as it is taken.

    Returns
    -------
    TrainResult
        ``history`` is the document::

            format       "gradflow-train-history"; version 1
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
    from ..analysis.clipping import FALLBACKS, METHODS, clip_gradients, gradient_norm
    from ..cells import CELLS

    if cell not in CELLS:
        raise GradflowError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    the_task = make_task(task, length, memory=memory)
    hidden = _positive_int(hidden, "hidden")
    steps = _positive_int(steps, "steps")
    batch = _positive_int(batch, "batch")
    eval_batch = _positive_int(eval_batch, "eval_batch")
    lag_batch = min(_positive_int(lag_batch, "lag_batch"), eval_batch)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise GradflowError(f"seed must be a non-negative integer; got {seed!r}")
    log_every = max(1, steps // 20) if log_every is None else _positive_int(log_every,
                                                                            "log_every")
    opt = make_optimizer(optimizer, lr)
    if clip is not None:
        clip = float(clip)
        if not (math.isfinite(clip) and clip > 0):
            raise GradflowError(f"clip must be a positive finite number; got {clip!r}")
    if clip_method not in METHODS:
        raise GradflowError(f"clip_method must be one of {', '.join(METHODS)}; "
                            f"got {clip_method!r}")
    if on_non_finite not in FALLBACKS[:2]:
        raise GradflowError(f"on_non_finite must be one of {', '.join(FALLBACKS[:2])}; "
                            f"got {on_non_finite!r}")
    options = {}
    if activation is not None:
        options["activation"] = activation
    if variant is not None:
        options["variant"] = variant
    if forget_bias is not None:
        options["forget_bias"] = forget_bias
    model = CELLS[cell].init(hidden, the_task.inputs, init=init, gain=gain, seed=int(seed),
                             **options)
    threads = min(os.cpu_count() or 1, 8) if threads is None else _positive_int(threads,
                                                                                "threads")

    net = _Network(model, the_task.outputs, np.random.default_rng([seed, 1]))
    data = np.random.default_rng([seed, 2])
    X_eval, y_eval = the_task.sample(np.random.default_rng([seed, 3]), eval_batch)
    fallback_rng = np.random.default_rng([seed, 4])
    T = the_task.length

    trace = {"step": [], "loss": [], "grad_norm": [], "clipped": [], "non_finite": []}
    snapshots = []
    clipped_steps = 0
    non_finite_steps = 0
    max_norm = None
    diverged_at = None

    def snapshot(step):
        current = net.cell()
        loss, _, acc, _ = _forward_backward(net, the_task, X_eval, y_eval, None, 1,
                                            backward=False)
        mass = _lag_mass(net, the_task, X_eval[:lag_batch], y_eval[:lag_batch])
        snap = {
            "step": step,
            "eval_loss": _number(loss),
            "eval_accuracy": _number(acc),
            "decay": _decay_doc(current, X_eval[0]),
            "lag_mass": None if mass is None else [_number(v) for v in mass],
            "long_lag_share": None if mass is None else _number(_long_share(mass)),
        }
        snapshots.append(snap)
        if progress is not None:
            progress(snap)

    start = time.perf_counter()
    pool = ThreadPoolExecutor(threads) if threads > 1 and batch > 1 else None
    try:
        snapshot(0)
        for step in range(1, steps + 1):
            X, y = the_task.sample(data, batch)
            loss, grads, _, _ = _forward_backward(net, the_task, X, y, pool, threads)
            if grads is None:
                norm = math.nan
            else:
                norm = gradient_norm(grads)
            bad = not (math.isfinite(loss) and math.isfinite(norm))
            trace["step"].append(step)
            trace["loss"].append(_number(loss))
            trace["grad_norm"].append(_number(norm))
            trace["non_finite"].append(bad)
            if math.isfinite(norm):
                max_norm = norm if max_norm is None else max(max_norm, norm)
            if bad:
                non_finite_steps += 1
            if bad and clip is None:
                trace["clipped"].append(False)
                diverged_at = step
                break
            if clip is not None:
                if grads is None:
                    grads = {k: np.full_like(v, np.nan) for k, v in net.params.items()}
                if bad:
                    grads = {k: np.full_like(v, np.nan) for k, v in grads.items()}
                clipped = clip_gradients(grads, clip, method=clip_method,
                                         on_non_finite=on_non_finite, rng=fallback_rng)
                trace["clipped"].append(clipped.clipped)
                clipped_steps += clipped.clipped
                grads = clipped.grads
            else:
                trace["clipped"].append(False)
            backup = net.copy()
            opt.step(net.params, grads)
            if not net.finite():
                net.params = backup
                trace["non_finite"][-1] = True
                non_finite_steps += not bad
                diverged_at = step
                break
            if step % log_every == 0 or step == steps:
                snapshot(step)
    finally:
        if pool is not None:
            pool.shutdown()
    wall = time.perf_counter() - start
    if diverged_at is not None and snapshots[-1]["step"] != diverged_at - 1:
        snapshot(diverged_at - 1)  # the last finite weights

    done = len(trace["step"])
    finite = [v for v in trace["loss"] if v is not None]
    tail = finite[-max(1, done // 10):] if finite else []
    evals = [s["eval_loss"] for s in snapshots if s["eval_loss"] is not None]
    task_doc = {"name": the_task.name, "length": T, "inputs": the_task.inputs,
                "outputs": the_task.outputs, "output_steps": the_task.output_steps,
                "baseline": the_task.baseline, "baseline_words": the_task.baseline_words}
    if the_task.name == "copy":
        task_doc.update(memory=the_task.memory, symbols=the_task.symbols)
    final = net.cell()
    history = {
        "format": HISTORY_FORMAT,
        "version": HISTORY_VERSION,
        "config": {
            "cell": cell, **final.options(), "model": final.describe(), "task": the_task.name,
            "length": T, "hidden": hidden, "steps": steps, "batch": batch,
            **opt.describe(), "clip": clip, "clip_method": clip_method if clip else None,
            "on_non_finite": on_non_finite if clip else None, "seed": int(seed), "init": init,
            "gain": float(gain), "forget_bias": forget_bias, "log_every": log_every,
            "eval_batch": eval_batch, "lag_batch": lag_batch, "threads": threads,
        },
        "task": task_doc,
        "parameters": {"cell": final.parameter_count,
                       "readout": int(net.params["W_out"].size + net.params["b_out"].size)},
        "trace": trace,
        "snapshots": snapshots,
        "readout": {"W_out": [[_number(v) for v in row] for row in net.params["W_out"]],
                    "b_out": [_number(v) for v in net.params["b_out"]]},
        "summary": {
            "steps_done": done,
            "diverged": diverged_at is not None,
            "diverged_at": diverged_at,
            "final_loss": _number(np.mean(tail)) if tail else None,
            "final_eval_loss": snapshots[-1]["eval_loss"] if snapshots else None,
            "best_eval_loss": min(evals) if evals else None,
            "baseline": the_task.baseline,
            "clipped_fraction": clipped_steps / done if done else 0.0,
            "non_finite_steps": non_finite_steps,
            "max_grad_norm": _number(max_norm),
            "wall_time_s": wall,
        },
    }
    readout = MappingProxyType({"W_out": net.params["W_out"].copy(),
                                "b_out": net.params["b_out"].copy()})
    return TrainResult(model=final, readout=readout, history=history)
