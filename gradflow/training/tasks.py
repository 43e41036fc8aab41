"""Training tasks: the adding problem, the copy-memory task and the 3-bit flip-flop.

A task draws batches of input sequences with their targets and scores the readout's outputs
at its last ``output_steps`` steps.  Its ``baseline`` is the loss of the best answer that
ignores the inputs: what a model that cannot carry information across the sequence gets.
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import validation

#: Task names.
TASKS = ("adding", "copy", "flipflop")


def _describe(task):
    return {"name": task.name, "length": task.length, "inputs": task.inputs,
            "outputs": task.outputs, "output_steps": task.output_steps,
            "baseline": task.baseline, "baseline_words": task.baseline_words}


@dataclass(frozen=True)
class AddingProblem:
    """The adding problem (Hochreiter & Schmidhuber 1997; in the form of Le et al. 2015).

    Each step gets two inputs: a value drawn from U(0, 1) and a marker.  Exactly two steps are
    marked, one drawn uniformly from the first half of the sequence and one from the second;
    the target, read from the last state, is the sum of the two marked values.  The loss is
    the mean squared error.  Always answering 1 (the mean of the sum) scores the variance of
    a sum of two U(0, 1) values, ``2 / 12 = 0.1667``: the baseline.

    Parameters
    ----------
    length : int
        Sequence length T >= 2.
    """

    length: int
    name = "adding"
    inputs = 2
    outputs = 1
    output_steps = 1

    def __post_init__(self):
        validation.integer(self.length, "length", minimum=2,
                           rule="an integer >= 2 for the adding problem")

    @property
    def baseline(self):
        """MSE of always answering 1: ``Var(U1 + U2) = 1/6``."""
        return 1.0 / 6.0

    @property
    def baseline_words(self):
        """How the baseline is reached."""
        return "always predicting 1 (the mean of the sum)"

    def describe(self):
        """The task section of a training history."""
        return _describe(self)

    def sample(self, rng, batch):
        """Draw ``batch`` sequences: inputs (B, T, 2) and targets (B,)."""
        T = self.length
        half = T // 2
        xs = np.zeros((batch, T, 2))
        xs[:, :, 0] = rng.uniform(0.0, 1.0, (batch, T))
        first = rng.integers(0, half, batch)
        second = rng.integers(half, T, batch)
        rows = np.arange(batch)
        xs[rows, first, 1] = 1.0
        xs[rows, second, 1] = 1.0
        targets = xs[rows, first, 0] + xs[rows, second, 0]
        return xs, targets

    def loss(self, outputs, targets):
        """Mean squared error of ``outputs`` (B, 1, 1); returns ``(loss, dL/doutputs, None)``."""
        y = outputs[:, 0, 0]
        err = y - targets
        B = y.shape[0]
        grad = np.zeros_like(outputs)
        grad[:, 0, 0] = 2.0 * err / B
        with np.errstate(over="ignore", invalid="ignore"):
            loss = float(np.mean(err * err))
        return loss, grad, None


@dataclass(frozen=True)
class CopyMemory:
    """The copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    A sequence of T steps, one-hot over ``symbols + 2`` channels: ``memory`` random symbols
    from ``1..symbols`` first, then blanks, a delimiter at step ``T - memory``, and blanks
    again; during the last ``memory`` steps the readout must reproduce the symbols in order.
    The gap between a symbol and its recall is ``T - memory`` steps.  The loss is the mean
    cross-entropy over the recall steps; guessing uniformly (what a model without memory can
    do) scores ``ln(symbols)``: the baseline.

    Parameters
    ----------
    length : int
        Sequence length T >= 2 memory + 1.
    memory : int
        Number of symbols to remember (default 10).
    symbols : int
        Alphabet size (default 8).
    """

    length: int
    memory: int = 10
    symbols: int = 8
    name = "copy"

    def __post_init__(self):
        validation.integer(self.memory, "memory", minimum=1)
        validation.integer(self.symbols, "symbols", minimum=2)
        need = 2 * self.memory + 1
        validation.integer(self.length, "length", minimum=need,
                           rule=f"an integer >= {need} for the copy task with memory "
                                f"{self.memory} (symbols, a delimiter, the recall)")

    @property
    def inputs(self):
        """One-hot width: blank, the symbols, the delimiter."""
        return self.symbols + 2

    @property
    def outputs(self):
        """One logit per symbol."""
        return self.symbols

    @property
    def output_steps(self):
        """The recall steps."""
        return self.memory

    @property
    def baseline(self):
        """Cross-entropy of a uniform guess: ``ln(symbols)``."""
        return math.log(self.symbols)

    @property
    def baseline_words(self):
        """How the baseline is reached."""
        return f"a uniform guess over the {self.symbols} symbols"

    def describe(self):
        """The task section of a training history, with the memory and the alphabet size."""
        return {**_describe(self), "memory": self.memory, "symbols": self.symbols}

    def sample(self, rng, batch):
        """Draw ``batch`` sequences: inputs (B, T, symbols + 2), targets (B, memory) in 0..S-1."""
        T, K, S = self.length, self.memory, self.symbols
        targets = rng.integers(0, S, (batch, K))
        codes = np.zeros((batch, T), dtype=np.int64)  # 0: blank
        codes[:, :K] = targets + 1
        codes[:, T - K - 1] = S + 1  # the delimiter
        xs = np.zeros((batch, T, S + 2))
        np.put_along_axis(xs, codes[:, :, None], 1.0, axis=2)
        return xs, targets

    def loss(self, outputs, targets):
        """Mean cross-entropy of logits (B, memory, symbols); ``(loss, dL/dlogits, accuracy)``."""
        B, K, _ = outputs.shape
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = outputs - outputs.max(axis=2, keepdims=True)
            e = np.exp(shifted)
            z = e.sum(axis=2, keepdims=True)
            p = e / z
            picked = np.take_along_axis(shifted, targets[:, :, None], axis=2)[:, :, 0]
            loss = float(np.mean(np.log(z[:, :, 0]) - picked))
        grad = p.copy()
        np.put_along_axis(grad, targets[:, :, None],
                          np.take_along_axis(p, targets[:, :, None], axis=2) - 1.0, axis=2)
        grad /= B * K
        accuracy = float(np.mean(np.argmax(outputs, axis=2) == targets))
        return loss, grad, accuracy


@dataclass(frozen=True)
class FlipFlop:
    """The 3-bit flip-flop (Sussillo & Barak 2013): three memories that each hold one bit.

    Each of ``bits`` input channels carries sparse pulses: at every step, independently per
    channel, a pulse of +1 or -1 (equally likely) arrives with probability ``pulse``.  Output
    channel i must hold the sign of the last pulse on input channel i at every step, and 0
    before the first one.  The loss is the mean squared error over every step and channel.
    A trained network holds its 2^bits memories as stable fixed points of the input-free
    dynamics, with saddles between them (:func:`gradflow.fixed_points`).  Always answering 0
    scores the fraction of (step, channel) pairs after a first pulse: the baseline.

    Parameters
    ----------
    length : int
        Sequence length T >= 2.
    bits : int
        Number of channels (default 3).
    pulse : float
        Probability of a pulse per step and channel, in (0, 1) (default 0.05).

    References
    ----------
    Sussillo & Barak (2013), "Opening the black box: low-dimensional dynamics in
    high-dimensional recurrent neural networks", Neural Computation 25(3).
    """

    length: int
    bits: int = 3
    pulse: float = 0.05
    name = "flipflop"

    def __post_init__(self):
        validation.integer(self.length, "length", minimum=2,
                           rule="an integer >= 2 for the flip-flop task")
        validation.integer(self.bits, "bits", minimum=1)
        validation.real(self.pulse, "pulse", minimum=0.0, maximum=1.0, low_open=True,
                        high_open=True)

    @property
    def inputs(self):
        """One pulse channel per bit."""
        return self.bits

    @property
    def outputs(self):
        """One held sign per bit."""
        return self.bits

    @property
    def output_steps(self):
        """Every step is scored."""
        return self.length

    @property
    def baseline(self):
        """MSE of answering 0: the mean over steps t = 1..T of ``1 - (1 - pulse)^t``."""
        t = np.arange(1, self.length + 1)
        return float(np.mean(1.0 - (1.0 - self.pulse) ** t))

    @property
    def baseline_words(self):
        """How the baseline is reached."""
        return "always answering 0 (no memory of the pulses)"

    def describe(self):
        """The task section of a training history, with the bits and the pulse probability."""
        return {**_describe(self), "bits": self.bits, "pulse": self.pulse}

    def sample(self, rng, batch):
        """Draw ``batch`` sequences: pulses (B, T, bits) and held signs (B, T, bits)."""
        T, K = self.length, self.bits
        arrives = rng.random((batch, T, K)) < self.pulse
        signs = np.where(rng.random((batch, T, K)) < 0.5, -1.0, 1.0)
        xs = np.where(arrives, signs, 0.0)
        targets = np.zeros_like(xs)
        held = np.zeros((batch, K))
        for t in range(T):
            held = np.where(arrives[:, t], xs[:, t], held)
            targets[:, t] = held
        return xs, targets

    def loss(self, outputs, targets):
        """Mean squared error of ``outputs`` (B, T, bits); ``(loss, dL/doutputs, accuracy)``.

        The accuracy is the fraction of (step, channel) pairs after a first pulse whose output
        has the held sign.
        """
        err = outputs - targets
        grad = 2.0 * err / err.size
        with np.errstate(over="ignore", invalid="ignore"):
            loss = float(np.mean(err * err))
            held = targets != 0
            right = np.sign(outputs[held]) == targets[held]
        accuracy = float(np.mean(right)) if right.size else None
        return loss, grad, accuracy


def make_task(name, length, *, memory=10):
    """Build a task by name: ``"adding"``, ``"copy"`` or ``"flipflop"``."""
    validation.choice(name, "task", TASKS)
    if name == "adding":
        return AddingProblem(length)
    if name == "flipflop":
        return FlipFlop(length)
    return CopyMemory(length, memory=memory)
