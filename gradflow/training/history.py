"""The history of a training run: the per-step trace, and the document that holds it all.

The document's format is described in docs/history.md (and, for ``gradflow train``, in
:func:`gradflow.training.loop.train`); it is JSON-ready (non-finite numbers are ``None``) and
is what ``gradflow train --history`` and :class:`gradflow.torch.Monitor` write.
"""

import json
import math
import numbers as _numbers
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..analysis._json import number, numbers
from ..errors import GradflowError
from ..io.atomic import atomic_path

#: Identifies a history document.
HISTORY_FORMAT = "gradflow-train-history"
HISTORY_VERSION = 1
#: The version of a history with a ``floss`` section (gradient flossing): version 1 plus that
#: section, so a reader of version 1 reads it unchanged.
FLOSS_HISTORY_VERSION = 2
#: The versions a reader knows.
HISTORY_VERSIONS = (HISTORY_VERSION, FLOSS_HISTORY_VERSION)
#: The largest magnitude of a number in a history: larger ones cannot be drawn (a plot's
#: axis limits, margins and ticks leave float64 near 1.8e308).
LARGEST_NUMBER = 1e300


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
        The JSON document described in :func:`~gradflow.training.loop.train` (no NaN or inf
        anywhere: non-finite values are ``None``, flagged).
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


class Trace:
    """Step by step: the loss, the gradient norm before clipping, clipped, non-finite.

    Attributes
    ----------
    columns : dict of str to list
        The history's ``trace``: parallel lists ``step``, ``loss``, ``grad_norm``, ``clipped``,
        ``non_finite``.
    clipped_steps, non_finite_steps : int
    max_grad_norm : float or None
        The largest finite gradient norm met.
    diverged_at : int or None
        The step that ended the run, if one did.
    """

    def __init__(self):
        self.columns = {"step": [], "loss": [], "grad_norm": [], "clipped": [], "non_finite": []}
        self.clipped_steps = 0
        self.non_finite_steps = 0
        self.max_grad_norm = None
        self.diverged_at = None

    @property
    def steps_done(self):
        """Steps recorded."""
        return len(self.columns["step"])

    def record(self, step, loss, grad_norm, *, clipped, non_finite):
        """Add one step: its training loss and gradient norm (before clipping), and flags."""
        for key, value in (("step", step), ("loss", number(loss)),
                           ("grad_norm", number(grad_norm)), ("clipped", bool(clipped)),
                           ("non_finite", bool(non_finite))):
            self.columns[key].append(value)
        if math.isfinite(grad_norm):
            self.max_grad_norm = (grad_norm if self.max_grad_norm is None
                                  else max(self.max_grad_norm, grad_norm))
        self.clipped_steps += bool(clipped)
        self.non_finite_steps += bool(non_finite)

    def diverge(self, step, *, weights=False):
        """End the run at ``step``; ``weights``: its update left a weight non-finite."""
        if weights and not self.columns["non_finite"][-1]:
            self.columns["non_finite"][-1] = True
            self.non_finite_steps += 1
        self.diverged_at = step

    def summary(self, snapshots, baseline, wall_time):
        """The history's ``summary`` section."""
        done = self.steps_done
        finite = [v for v in self.columns["loss"] if v is not None]
        tail = finite[-max(1, done // 10):] if finite else []
        evals = [s["eval_loss"] for s in snapshots if s["eval_loss"] is not None]
        return {
            "steps_done": done,
            "diverged": self.diverged_at is not None,
            "diverged_at": self.diverged_at,
            "final_loss": number(np.mean(tail)) if tail else None,
            "final_eval_loss": snapshots[-1]["eval_loss"] if snapshots else None,
            "best_eval_loss": min(evals) if evals else None,
            "baseline": baseline,
            "clipped_fraction": self.clipped_steps / done if done else 0.0,
            "non_finite_steps": self.non_finite_steps,
            "max_grad_norm": number(self.max_grad_norm),
            "wall_time_s": wall_time,
        }


def history_document(config, task, network, trace, snapshots, wall_time, *, floss=None):
    """The whole history: format, config, task, parameters, trace, snapshots, readout, summary.

    Parameters
    ----------
    config : dict
        The run's settings.
    task : AddingProblem or CopyMemory
    network : Network
        After training.
    trace : Trace
    snapshots : list of dict
    wall_time : float
        Seconds the steps took.
    floss : dict, optional
        The ``floss`` section (:meth:`gradflow.training.flossing.Flossing.describe`), added
        only when the run flossed.
    """
    W_out, b_out = network.parameters["W_out"], network.parameters["b_out"]
    document = {
        "format": HISTORY_FORMAT,
        "version": HISTORY_VERSION,
        "source": "gradflow train",
        "config": config,
        "task": task.describe(),
        "parameters": {"cell": network.cell().parameter_count,
                       "readout": int(W_out.size + b_out.size)},
        "trace": trace.columns,
        "snapshots": snapshots,
        "readout": {"W_out": numbers(W_out), "b_out": numbers(b_out)},
        "summary": trace.summary(snapshots, task.baseline, wall_time),
    }
    if floss is not None:
        document["version"] = FLOSS_HISTORY_VERSION
        document["floss"] = floss
    return document


def write_history(path, document):
    """Write a history document as strict JSON (no NaN or inf), atomically.

    The file is replaced only once the whole document is written, so a run that crashes
    while writing keeps its previous history intact.
    """
    with atomic_path(path, suffix=".json") as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(document, fh, allow_nan=False)


class TooLarge(str):
    """The text of a JSON number beyond float64 (or of an integer too long to convert)."""


def parse_large_int(text):
    """``int(text)``, or :class:`TooLarge` past 300 digits (json.loads's ``parse_int``)."""
    return TooLarge(text) if len(text.lstrip("-")) > 300 else int(text)


def _shown(value):
    if isinstance(value, TooLarge):
        digits = len(value.lstrip("-"))
        return (f"a {digits}-digit integer" if value.lstrip("-").isdigit()
                else f"{value} (beyond the float64 range)")
    if isinstance(value, int) and abs(value) >= 10**20:  # str() refuses past 4300 digits
        return f"a {math.floor(math.log10(abs(value))) + 1}-digit integer"
    return repr(value)


def _number_rule(where, key, value):
    """Refuse a number that is not finite or too large to draw; return nothing."""
    if isinstance(value, _numbers.Integral) and not isinstance(value, bool):
        too_large = abs(value) > LARGEST_NUMBER  # exact: an int past float64 is no error here
    else:
        too_large = isinstance(value, TooLarge) or (
            isinstance(value, _numbers.Real) and math.isfinite(value)
            and abs(value) > LARGEST_NUMBER)
    if too_large:
        raise GradflowError(f"{where}: {key} is {_shown(value)}; a history's numbers are at "
                            "most 1e300 in magnitude (larger ones cannot be drawn)")
    if isinstance(value, _numbers.Real) and not math.isfinite(value):
        raise GradflowError(f"{where}: {key} is {value!r}; a history holds finite numbers "
                            "(null for a missing one), and gradflow never writes NaN or infinity")


def check_numbers(doc, where):
    """Refuse a non-finite number, or one beyond ±:data:`LARGEST_NUMBER`, anywhere in ``doc``.

    The error names the key: ``"h.json: trace.loss[3] is 1.7e+308; ..."``.
    """
    stack = [(key, value) for key, value in reversed(list(doc.items()))]
    while stack:
        key, value = stack.pop()
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}", v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list | tuple):
            stack.extend((f"{key}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        else:
            _number_rule(where, key, value)


def _is_number(value):
    return isinstance(value, _numbers.Real) and not isinstance(value, bool)


def check_step(value, where, key):
    """A step: an integer >= 0, else GradflowError naming ``key``."""
    if not isinstance(value, _numbers.Integral) or isinstance(value, bool) or value < 0:
        raise GradflowError(f"{where}: {key} is {_shown(value)}; steps are integers >= 0")


def check_series(values, where, key, *, kind="number"):
    """A history's list: of numbers (``kind="number"``, null allowed), steps or flags.

    ``kind="step"``: integers >= 0; ``kind="flag"``: true or false.
    """
    if not isinstance(values, list | tuple):
        raise GradflowError(f"{where}: {key} must be a list; got {_shown(values)}")
    for i, v in enumerate(values):
        if kind == "step":
            check_step(v, where, f"{key}[{i}]")
        elif kind == "flag" and not isinstance(v, bool | np.bool_):
            raise GradflowError(f"{where}: {key}[{i}] is {_shown(v)}; expected true or false")
        elif kind == "number" and v is not None and not _is_number(v):
            raise GradflowError(f"{where}: {key}[{i}] is {_shown(v)}; expected a number or "
                                "null")
    return values


def check_scalar(value, where, key):
    """A number or null, else GradflowError naming ``key``."""
    if value is not None and not _is_number(value):
        raise GradflowError(f"{where}: {key} is {_shown(value)}; expected a number or null")
