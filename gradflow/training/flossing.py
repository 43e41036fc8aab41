"""Gradient flossing during training: steps that push the first k Lyapunov exponents to a target.

As in Engelken (2023), flossing runs for ``pre`` steps before training and then once every
``every`` training steps.  A flossing step draws its own batch of task inputs (a stream apart
from the training data, so a run with flossing sees the same training batches as one
without), takes the exact gradient of :func:`gradflow.analysis.floss.floss` on the cell's
weights, scales it by ``weight`` and hands it to an optimiser of its own (the readout is not
touched).  Every flossing step is recorded: the step it followed, its phase, the flossing
loss and the k exponents.
"""

import math
import re
from dataclasses import dataclass

import numpy as np

from .. import validation
from ..analysis._json import number, numbers
from ..analysis.floss import floss
from ..errors import GradflowError

__all__ = ["DEFAULT_SCHEDULE", "Flossing", "FlossSchedule", "parse_schedule"]

#: The schedule of ``--floss`` without ``--floss-schedule``.
DEFAULT_SCHEDULE = "pre:100,every:10"

_PART = re.compile(r"^(pre|every):(\d+)$")


@dataclass(frozen=True)
class FlossSchedule:
    """When flossing runs: ``pre`` steps before training, then after every ``every``-th step.

    ``every = 0`` floss only before training.
    """

    pre: int
    every: int

    def due(self, step):
        """Whether a flossing step follows training step ``step``."""
        return self.every > 0 and step % self.every == 0

    def describe(self):
        """The schedule for the history."""
        return {"pre": self.pre, "every": self.every}


def parse_schedule(text):
    """Read ``"pre:N,every:M"`` (either part may be left out; N, M >= 0, not both 0).

    Raises
    ------
    GradflowError
        Naming the text and the rule.
    """
    if isinstance(text, FlossSchedule):
        return text
    rule = "expected pre:N,every:M with whole numbers N, M >= 0, not both 0 (e.g. pre:100,every:10)"
    if not isinstance(text, str) or not text.strip():
        raise GradflowError(f"floss schedule {text!r}: {rule}")
    found = {}
    for part in text.replace(" ", "").split(","):
        match = _PART.match(part)
        if match is None:
            raise GradflowError(f"floss schedule {text!r}: cannot read {part!r}; {rule}")
        key, value = match.group(1), int(match.group(2))
        if key in found:
            raise GradflowError(f"floss schedule {text!r}: {key} given twice; {rule}")
        found[key] = value
    schedule = FlossSchedule(pre=found.get("pre", 0), every=found.get("every", 0))
    if schedule.pre == 0 and schedule.every == 0:
        raise GradflowError(f"floss schedule {text!r}: never flosses; {rule}")
    return schedule


class Flossing:
    """The flossing of one training run: its settings, its optimiser, its record.

    Parameters
    ----------
    k : int
        Exponents flossed (1..m, checked against the cell).
    target : float
        The value the exponents are pushed towards.
    weight : float
        Scale of the flossing gradient (> 0).
    schedule : str or FlossSchedule
    optimiser : Adam or SGD
        Used for the flossing steps alone.
    rng : numpy.random.Generator
        Draws the flossing batches.
    state_size : int
        The cell's m, the bound on k.
    """

    def __init__(self, k, target, weight, schedule, optimiser, rng, state_size):
        self.k = validation.integer(k, "floss", minimum=1, maximum=state_size,
                                    rule=f"an integer in [1, {state_size}] (the state size)")
        self.target = validation.real(target, "floss_target")
        self.weight = validation.real(weight, "floss_weight", minimum=0.0, low_open=True)
        self.schedule = parse_schedule(schedule)
        self.optimiser = optimiser
        self.rng = rng
        self.trace = {"step": [], "phase": [], "loss": [], "exponents": []}

    def step(self, network, task, batch, step, phase):
        """One flossing step on a fresh batch; False when the update left a weight non-finite.

        A batch whose chain cannot be flossed (a trajectory or a product that overflows, a
        direction that collapses) is recorded with a null loss and skipped.
        """
        X, _ = task.sample(self.rng, batch)
        try:
            result = floss(network.cell(), X, k=self.k, target=self.target)
        except GradflowError:
            self._record(step, phase, math.nan, np.full(self.k, np.nan))
            return True
        grads = {name: np.zeros_like(p) for name, p in network.parameters.items()}
        for name, g in result.grads.items():
            grads[name] = self.weight * g
        self._record(step, phase, result.loss, result.exponents)
        return network.step(self.optimiser, network.flatten(grads))

    def _record(self, step, phase, loss, exponents):
        self.trace["step"].append(int(step))
        self.trace["phase"].append(phase)
        self.trace["loss"].append(number(loss))
        self.trace["exponents"].append(numbers(exponents))

    def describe(self):
        """The history's ``floss`` section."""
        return {"k": self.k, "target": self.target, "weight": self.weight,
                "schedule": self.schedule.describe(), "steps": len(self.trace["step"]),
                "trace": self.trace}
