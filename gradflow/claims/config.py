"""The configuration every claim is measured in: the notes' story at matched size, seeded.

The matched models (n = 32 hidden units, d = 4 inputs, orthogonal recurrent matrices at gain 1,
seed 0, LSTM forget-gate bias 1, T = 200 standard-normal inputs of seed 0) are also the
report's embedded default, so the claims page and the pages after it show the same runs.
The training comparisons are short (a few hundred optimiser steps on the adding problem) and
repeated over several seeds, so the whole set is measured in seconds.
"""

from dataclasses import asdict, dataclass

from .. import validation
from ..errors import GradflowError

#: Hidden size n, input width d and sequence length T of the matched models.
MATCHED_HIDDEN = 32
MATCHED_INPUTS = 4
MATCHED_STEPS = 200
MATCHED_INIT = "orthogonal"
MATCHED_GAIN = 1.0
MATCHED_SEED = 0
MATCHED_FORGET_BIAS = 1.0


@dataclass(frozen=True)
class ClaimsConfig:
    """Every setting the claims are measured with (the defaults are the documented ones).

    Attributes
    ----------
    hidden, inputs, steps, init, gain, seed, forget_bias
        The matched models and their inputs (N(0, 1), seeded by ``seed``).
    threshold : float
        Vanishing threshold of the gradient horizon.
    small_sigma : float
        sigma_max(W_h) of "W between 0 and 1" (orthogonal W_h scaled to it).
    large_bound : float
        gamma * sigma_max of "W very large": each RNN's W_h is scaled so that Pascanu's
        bound is this value.
    gains : tuple of float
        The gain axis (orthogonal W_*h = gain * Q).
    derivative_range : float
        The derivative grid spans z in [-range, range] (with z = 0 on it).
    update_gate_bias : float
        A GRU with this b_z beside the zero-bias one (Z near sigmoid(b_z)).
    clip_task, clip_length, clip_hidden, clip_steps, clip_lr, clip_gain, clip_threshold
        The diverging run (tanh RNN, SGD) and its norm-clipped twin.
    dead_lrs : tuple of float
        Large and small Adam learning rates of the relu runs whose dead units are counted.
    dead_steps : int
        Optimiser steps of those runs.
    compare_task, compare_length, compare_hidden, compare_steps, compare_lr, compare_batch
        The GRU against LSTM training comparison (Adam, PyTorch's initialisation).
    compare_seeds : tuple of int
        Its seeds (weights, data and evaluation batch).
    lengths : tuple of int
        Sequence lengths at which the trainable parameters are counted.
    """

    hidden: int = MATCHED_HIDDEN
    inputs: int = MATCHED_INPUTS
    steps: int = MATCHED_STEPS
    init: str = MATCHED_INIT
    gain: float = MATCHED_GAIN
    seed: int = MATCHED_SEED
    forget_bias: float = MATCHED_FORGET_BIAS
    threshold: float = 1e-3
    small_sigma: float = 0.5
    large_bound: float = 2.0
    gains: tuple = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0, 11.3, 16.0)
    derivative_range: float = 8.0
    update_gate_bias: float = 2.0
    clip_task: str = "adding"
    clip_length: int = 20
    clip_hidden: int = 16
    clip_steps: int = 200
    clip_lr: float = 0.2
    clip_gain: float = 1.5
    clip_threshold: float = 1.0
    dead_lrs: tuple = (0.1, 0.001)
    dead_steps: int = 100
    compare_task: str = "adding"
    compare_length: int = 10
    compare_hidden: int = 16
    compare_steps: int = 300
    compare_lr: float = 0.01
    compare_batch: int = 16
    compare_seeds: tuple = (0, 1, 2, 3, 4)
    lengths: tuple = (10, 100, 1000)

    def __post_init__(self):
        for name in ("hidden", "inputs", "steps", "clip_length", "clip_hidden", "clip_steps",
                     "dead_steps", "compare_length", "compare_hidden", "compare_steps",
                     "compare_batch"):
            validation.integer(getattr(self, name), name, minimum=1)
        for name in ("gain", "small_sigma", "large_bound", "derivative_range", "clip_lr",
                     "clip_gain", "clip_threshold", "compare_lr"):
            validation.real(getattr(self, name), name, minimum=0.0, low_open=True)
        validation.fraction(self.threshold, "threshold")
        for name, size in (("gains", 2), ("dead_lrs", 2), ("compare_seeds", 1), ("lengths", 1)):
            values = tuple(getattr(self, name))
            if len(values) < size or (name == "dead_lrs" and len(values) != 2):
                rule = "a (large, small) pair" if name == "dead_lrs" else \
                    f"at least {size} value{'s' if size > 1 else ''}"
                raise GradflowError(f"{name} must be {rule}; got {values!r}")
            object.__setattr__(self, name, values)

    def matched(self):
        """The matched models' settings, as a JSON document."""
        return {"hidden": self.hidden, "inputs": self.inputs, "steps": self.steps,
                "init": self.init, "gain": self.gain, "seed": self.seed,
                "input_seed": self.seed, "inputs_drawn": "N(0, 1)"}

    def to_dict(self):
        """Every setting, as a JSON document."""
        doc = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in doc.items()}
