"""What training steps: a cell plus a linear readout, and its loss and gradients on a batch.

The cell runs from zero states over a batch; the readout ``y_t = W_out h_t + b_out`` reads its
last ``task.output_steps`` states; the gradient of the task loss reaches the cell's weights by
backpropagation through time (:mod:`gradflow.analysis.bptt`).
"""

import math
from dataclasses import dataclass

import numpy as np

from ..analysis.bptt import lag_norms, trajectories
from ..errors import TrajectoryOverflowError


@dataclass(frozen=True)
class _Readout:
    """One batch read out: the trajectories, the loss and its gradient at the outputs."""

    run: object
    last_states: np.ndarray
    loss: float
    output_grads: np.ndarray
    accuracy: float | None


class Network:
    """A cell and a linear readout, as the parameters one optimiser steps.

    Parameters
    ----------
    model : RNN, LSTM or GRU
        The cell at the start; its weights are copied.
    outputs : int
        Readout width.
    rng : numpy.random.Generator
        Draws ``W_out`` from ``U(+-1/sqrt(n))``; ``b_out`` starts at zero.

    Attributes
    ----------
    vector : ndarray
        Every parameter in one float64 vector: what the optimiser and clipping act on (one
        array, however many weights the cell has).
    parameters : dict of str to ndarray
        Views into ``vector``: the cell's weights under their seed names, then ``W_out``
        (outputs, n) and ``b_out`` (outputs,).
    """

    def __init__(self, model, outputs, rng):
        self.cls = type(model)
        self.options = model.options()
        self.hidden = model.output_size  # the size of h, what the readout reads
        self.state_size = model.state_size
        self.cell_names = model.weight_names()
        bound = 1.0 / math.sqrt(model.hidden)
        arrays = {**model.weights,
                  "W_out": rng.uniform(-bound, bound, (outputs, self.hidden)),
                  "b_out": np.zeros(outputs)}
        self.vector = np.concatenate([np.ravel(a) for a in arrays.values()])
        self.parameters = {}
        start = 0
        for name, a in arrays.items():
            self.parameters[name] = self.vector[start:start + a.size].reshape(a.shape)
            start += a.size
        self._cell = model

    def flatten(self, grads):
        """A gradient keyed like :attr:`parameters` as one vector, laid out like :attr:`vector`."""
        return np.concatenate([np.ravel(grads[name]) for name in self.parameters])

    def cell(self):
        """The cell with the current weights (built once per :meth:`step`)."""
        if self._cell is None:
            self._cell = self.cls({name: self.parameters[name] for name in self.cell_names},
                                  **self.options)
        return self._cell

    def step(self, optimiser, gradient):
        """Update :attr:`vector` by ``optimiser``; undo it and return False if it is not finite."""
        backup = self.vector.copy()
        optimiser.step({"parameters": self.vector}, {"parameters": gradient})
        self._cell = None
        if np.isfinite(self.vector).all():
            return True
        self.vector[:] = backup
        return False

    def _read_out(self, task, X, targets, pool):
        """Forward pass, readout and loss on a batch; None when a trajectory overflows."""
        try:
            run = trajectories(self.cell(), X, pool=pool)
        except TrajectoryOverflowError:
            return None
        K = task.output_steps
        H = run.states[:, X.shape[1] - K + 1:, :self.hidden]
        with np.errstate(over="ignore", invalid="ignore"):
            outputs = H @ self.parameters["W_out"].T + self.parameters["b_out"]
        loss, output_grads, accuracy = task.loss(outputs, targets)
        return _Readout(run, H, loss, output_grads, accuracy)

    def _state_grads(self, readout):
        """``dL/ds_t`` directly (the readout's part), shape (B, T, m); None if not finite."""
        B, T, _ = readout.run.inputs.shape
        K = readout.output_grads.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            direct = readout.output_grads @ self.parameters["W_out"]
        if not np.isfinite(direct).all():
            return None
        G = np.zeros((B, T, self.state_size))
        G[:, T - K:, :self.hidden] = direct
        return G

    def loss(self, task, X, targets, *, pool=None):
        """``(loss, accuracy)`` on a batch (loss inf and accuracy None when it overflows)."""
        readout = self._read_out(task, X, targets, pool)
        if readout is None:
            return math.inf, None
        return readout.loss, readout.accuracy

    def loss_and_gradients(self, task, X, targets, *, pool=None):
        """The loss on a batch and its gradient for every parameter (None: not finite).

        Returns
        -------
        loss : float
            inf when a trajectory overflows.
        grads : dict of str to ndarray, or None
            Keyed like :attr:`parameters`; None when the forward pass overflows or the
            gradient reaching the states is not finite.
        """
        readout = self._read_out(task, X, targets, pool)
        if readout is None:
            return math.inf, None
        G = self._state_grads(readout)
        if G is None:
            return readout.loss, None
        grads = dict(readout.run.backward(G, pool=pool).grads)
        dout, H = readout.output_grads, readout.last_states
        grads["W_out"] = np.einsum("bko,bkn->on", dout, H)
        grads["b_out"] = dout.sum(axis=(0, 1))
        return readout.loss, grads

    def lag_mass(self, task, X, targets):
        """Per-lag norm of the cell's weight gradient of the task loss (Pascanu et al. eq. 5).

        Returns
        -------
        ndarray, shape (T,), or None
            None when the loss or its gradient is not finite.
        """
        readout = self._read_out(task, X, targets, None)
        if readout is None or not math.isfinite(readout.loss):
            return None
        G = self._state_grads(readout)
        if G is None:
            return None
        return lag_norms(readout.run.gradients_by_lag(G), X.shape[1])
