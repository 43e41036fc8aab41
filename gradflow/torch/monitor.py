"""The :class:`Monitor`: gradflow's measurements beside any PyTorch training loop."""

import json
import math
import os
import time

from .. import validation
from .._threads import blas_threads
from ..cells.torch_state import import_torch
from ..errors import GradflowError
from ..resources import ScratchStore, kept
from ..training.history import HISTORY_FORMAT, HISTORY_VERSION, Trace, write_history
from .capture import capture_for
from .snapshot import flat_figures, take_snapshot

__all__ = ["Monitor"]

#: Seconds between writes of the history when no snapshot is due.
FLUSH_SECONDS = 30.0


class Monitor:
    """Watch the gradient flow of a PyTorch recurrent module while its own loop trains it.

    Every step records the loss and the module's exact gradient norm; every ``every`` steps a
    snapshot analyses the first ``sequences`` sequences of the batch the module last trained
    on, with its current weights: the gradient decay (``log10_norm2_output``,
    ``log10_norm2_input``, horizon, fitted factor with its error, verdict), lambda_1 of every
    cell, and the exact split by time lag of the real loss gradient of the top layer's
    weights, fed by the gradient that arrived at the module's outputs.  The history is
    written as it goes, atomically, in the format of ``gradflow train --history``
    (docs/history.md), so ``gradflow report --history`` draws it and a crashed run keeps it.

    Parameters
    ----------
    module : torch.nn.RNN, LSTM, GRU, RNNCell, LSTMCell or GRUCell
        Any number of layers and directions, ``batch_first`` or not.  A cell module called
        once per time step gets the decay and lambda_1 of the calls between two steps (no
        per-lag split: its output gradients mix the loss's direct term with later steps').
    every : int, optional
        Steps between snapshots (50).
    history : str or os.PathLike, optional
        Where the history JSON goes (None: kept in memory only, see :attr:`history`).
    sequences : int, optional
        Sequences of the last batch each snapshot analyses (1).  A snapshot's cost grows
        with them: on a 2-layer LSTM with n = 128 and T = 100, one sequence costs about as
        much as four training steps on a batch of 32 on two cores (its two backward sweeps
        run side by side; benchmarks/README.md), so 1 keeps the overhead at every = 50
        under 10% (measured: the snapshots 7.5-8% of the run, -1% to +10% in all), and near
        2% at every = 200; more give the median over the sequences.  Between snapshots the
        Monitor keeps their large scratch arrays (at most 256 MB, mapped outside malloc's
        heap) until it is closed.
    threshold : float, optional
        The vanishing threshold of the gradient horizon (1e-3).
    config : mapping, optional
        Facts of the run to record with it (``{"optimizer": "adam", "lr": 1e-3}``):
        JSON values.

    Notes
    -----
    Call :meth:`step` after ``loss.backward()`` and before ``optimizer.zero_grad()``; before
    ``optimizer.step()`` too if the snapshot's weights should be those that produced the
    gradient.  Forward passes without gradients (evaluation under ``torch.no_grad()``) are
    ignored.  The snapshot runs the module without dropout.

    Examples
    --------
    >>> with Monitor(lstm, every=50, history="run.json") as mon:  # doctest: +SKIP
    ...     for x, y in batches:
    ...         loss = criterion(head(lstm(x)[0]), y)
    ...         loss.backward()
    ...         mon.step(loss=float(loss))
    ...         optimizer.step(); optimizer.zero_grad()
    """

    def __init__(self, module, *, every=50, history=None, sequences=1, threshold=1e-3,
                 config=None):
        self.every = validation.integer(every, "every", minimum=1)
        self.sequences = validation.integer(sequences, "sequences", minimum=1)
        self.threshold = validation.fraction(threshold, "threshold")
        self.path = None if history is None else os.fspath(history)
        extra = {} if config is None else dict(validation.mapping(config, "config"))
        try:
            json.dumps(extra, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise GradflowError(f"config must hold JSON values only; {exc}") from None
        import_torch()
        self._capture = capture_for(module)  # refuses a non-recurrent module, hooks it
        try:
            model = self._capture.model()
            self.module = module
            self._config = self._describe(module, model, extra)
            self._parameters = int(sum(p.numel() for p in module.parameters()))
            self._trace, self._snapshots, self._latest = Trace(), [], {}
            self._start = self._written = time.perf_counter()
            self._wall_time = 0.0
            self._monitor_time = 0.0
            self._stopped_by = None
            self._closed = False
            # the snapshots' large temporaries, kept between them: memory the training
            # steps would otherwise hand back, to be faulted in and zeroed again
            self._scratch = ScratchStore()
            self._capture.begin_step(self.every == 1)
            self._write()
        except BaseException:
            self._capture.remove()
            raise

    def _describe(self, module, model, extra):
        layers = getattr(model, "num_layers", 1)
        return {"source": "gradflow.torch.Monitor", "module": type(module).__name__,
                "cell": model.cell, **model.options(), "model": model.describe(),
                "layers": layers, "bidirectional": bool(getattr(model, "bidirectional", False)),
                "hidden": model.hidden, "inputs": model.inputs,
                "batch_first": getattr(module, "batch_first", None),
                "task": "own training loop", "length": None, "every": self.every,
                "sequences": self.sequences, "threshold": self.threshold, **extra}

    # ------------------------------------------------------------------ per step
    def _gradient_norm(self):
        torch = import_torch()
        grads = [p.grad for p in self.module.parameters() if p.grad is not None]
        if not grads:
            raise GradflowError("Monitor.step: no parameter of the module has a gradient; "
                                "call step() after loss.backward() and before "
                                "optimizer.zero_grad()")
        # one float64 dot product: 0.5 ms a step against 1.0 ms parameter by parameter
        # (2-layer LSTM, n = 128: 215 000 weights)
        with torch.no_grad():
            flat = torch.cat([g.detach().reshape(-1) for g in grads]).to(torch.float64)
            return math.sqrt(float(torch.dot(flat, flat)))

    def step(self, loss):
        """Record one training step; take a snapshot when one is due.

        Parameters
        ----------
        loss : float or 0-d tensor
            The step's training loss (a non-finite one is recorded as null, flagged).

        Returns
        -------
        dict or None
            The snapshot taken at this step, if any.
        """
        if self._closed:
            raise GradflowError("Monitor.step: the monitor is closed")
        try:
            loss = float(loss)
        except (TypeError, ValueError, RuntimeError):
            raise GradflowError(f"loss must be a number; got {loss!r}") from None
        norm = self._gradient_norm()
        step = self._trace.steps_done + 1
        self._trace.record(step, loss, norm, clipped=False,
                           non_finite=not (math.isfinite(loss) and math.isfinite(norm)))
        self._wall_time = time.perf_counter() - self._start
        snapshot = None
        if step % self.every == 0:
            snapshot = self._snapshot(step)
        elif time.perf_counter() - self._written > FLUSH_SECONDS:
            self._write()
        self._capture.begin_step((step + 1) % self.every == 0)
        return snapshot

    def _snapshot(self, step):
        started = time.perf_counter()
        arrays = self._capture.arrays(self.sequences)
        if arrays is None:
            snapshot = {"step": step, "eval_loss": None,
                        "error": "the module ran no forward pass with gradients this step"}
        else:
            try:
                # many small products: one BLAS thread, never a pool fighting the loop's
                with blas_threads(1), kept(self._scratch):
                    snapshot = take_snapshot(self._capture.model(), arrays, step,
                                             threshold=self.threshold,
                                             split=self._capture.has_output_gradient)
                self._config["length"] = snapshot["steps"]
            except GradflowError as exc:  # e.g. a trajectory that left float64
                snapshot = {"step": step, "eval_loss": None, "error": str(exc)}
        self._snapshots.append(snapshot)
        columns = self._trace.columns
        self._latest = {"step": float(step), "loss": columns["loss"][-1],
                        "grad_norm": columns["grad_norm"][-1]}
        self._latest = {k: float(v) for k, v in self._latest.items() if v is not None}
        if "decay" in snapshot:
            self._latest.update(flat_figures(snapshot))
        self._monitor_time += time.perf_counter() - started
        self._write()
        return snapshot

    # ------------------------------------------------------------------ results
    @property
    def latest(self):
        """The last snapshot's figures as a flat dict of floats (for TensorBoard or W&B).

        ``step``, ``loss``, ``grad_norm`` of the snapshot's step, and ``gradient_horizon``,
        ``projected_horizon``, ``log10_decay_rate``, ``decay_factor``,
        ``decay_factor_stderr``, ``lambda_1``, ``long_lag_share``, ``lag_mass_total`` where
        known; empty before the first snapshot.
        """
        return dict(self._latest)

    @property
    def snapshots(self):
        """The snapshots taken so far (documents as in the history)."""
        return list(self._snapshots)

    @property
    def history(self):
        """The history document as it stands (what the file holds after the next write)."""
        summary = self._trace.summary(self._snapshots, None, self._wall_time)
        summary.update(monitor_time_s=self._monitor_time, stopped_by=self._stopped_by,
                       closed=self._closed)
        return {
            "format": HISTORY_FORMAT,
            "version": HISTORY_VERSION,
            "source": "gradflow.torch.Monitor",
            "title": self._title(summary),
            "config": dict(self._config),
            "task": {"name": "own training loop", "length": self._config["length"],
                     "inputs": self._config["inputs"], "baseline": None,
                     "baseline_words": ""},
            "parameters": {"cell": self._parameters},
            "trace": {k: list(v) for k, v in self._trace.columns.items()},
            "snapshots": list(self._snapshots),
            "summary": summary,
        }

    def _title(self, summary):
        final = summary["final_loss"]
        text = (f"{self._config['model']} in its own PyTorch loop: {summary['steps_done']} "
                f"steps, final loss {'n/a' if final is None else f'{final:.4g}'}, "
                f"{summary['wall_time_s']:.1f} s")
        if self._stopped_by:
            text += f"; stopped by {self._stopped_by}"
        return text

    def _write(self):
        if self.path is not None:
            write_history(self.path, self.history)
        self._written = time.perf_counter()

    # ------------------------------------------------------------------ closing
    def close(self):
        """Remove the hooks and write the history a last time (a second call does nothing)."""
        if self._closed:
            return
        self._capture.remove()
        self._closed = True
        self._scratch.clear()
        self._write()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._stopped_by = f"{exc_type.__name__}: {exc}"
        self.close()
        return False

    def __repr__(self):
        return (f"Monitor({self._config['model']}, every={self.every}, "
                f"sequences={self.sequences}, steps={self._trace.steps_done}, "
                f"history={self.path!r})")
