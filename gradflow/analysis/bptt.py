"""Exact weight gradients by backpropagation through time, and their split by time lag.

:func:`bptt` is the documented entry point.  Batch work (training) runs the forward pass once
with :func:`trajectories` and backpropagates along it as often as it needs
(:meth:`Trajectories.backward`, :meth:`Trajectories.gradients_by_lag`); a
:class:`SequencePool` shares the sequences of a batch among threads.
"""

from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from .. import validation
from ..errors import GradflowError
from ..io.arrays import as_inputs, as_state
from ..kernels import bptt as kernels
from ..kernels.trajectory import run
from ..resources import require_memory
from ._json import number, numbers
from ._pool import SequencePool
from .clipping import gradient_norm


def _readonly(a):
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class BPTTResult:
    """Gradients of a loss ``L(s_1, ..., s_T)`` with respect to every weight of a cell.

    Attributes
    ----------
    model : str
        The cell, in words.
    cell : str
        ``"rnn"``, ``"lstm"`` or ``"gru"``.
    grads : mapping of str to ndarray
        ``dL/dW`` for every weight name of the cell (``W_fh``, ``b_hn``, ...), shaped like the
        weight; summed over the sequences of a batch.
    state_grads : ndarray, shape (T + 1, m) or (B, T + 1, m)
        The total gradient ``dL/ds_t`` for t = 0..T: the direct term ``grad_out`` plus all that
        flows back from later steps; ``state_grads[0]`` is the gradient of the initial state.
    input_grads : ndarray, shape (T, d) or (B, T, d)
        ``dL/dx_t`` for the input of every step (what a layer below would receive).
    grads_by_lag : mapping of str to ndarray, or None
        With ``by_lag``: ``grads_by_lag[name][l]`` is the lag-``l`` part of ``grads[name]``,
        shape ``(T,) + weight shape``; summed over the lags it gives ``grads[name]``.
    """

    model: str
    cell: str
    grads: MappingProxyType
    state_grads: np.ndarray
    input_grads: np.ndarray
    grads_by_lag: MappingProxyType | None = None

    @property
    def steps(self):
        """The horizon T."""
        return int(self.input_grads.shape[-2])

    @property
    def lags(self):
        """Lags ``0..T-1`` of ``grads_by_lag``."""
        return np.arange(self.steps)

    @property
    def norm(self):
        """Euclidean norm of the whole weight gradient (all names together)."""
        return gradient_norm(self.grads.values())

    def lag_norms(self, names=None):
        """Per-lag gradient mass: the norm of the lag-``l`` part of the whole gradient.

        Parameters
        ----------
        names : sequence of str, optional
            Only these weights (default: all of them).

        Returns
        -------
        ndarray, shape (T,)
            Entry ``l`` is ``||sum over t of the lag-l terms||`` over the chosen weights: the
            long-term components of Pascanu et al. are the large lags.
        """
        if self.grads_by_lag is None:
            raise GradflowError("lag_norms needs the split by lag; call bptt(..., by_lag=True)")
        names = list(self.grads_by_lag) if names is None else list(names)
        for name in names:
            if name not in self.grads_by_lag:
                raise GradflowError(
                    f"no weight {name!r} in this {self.cell.upper()}; "
                    f"expected one of {', '.join(self.grads_by_lag)}"
                )
        return lag_norms({name: self.grads_by_lag[name] for name in names}, self.steps)

    def to_dict(self):
        """A JSON document: the gradient norms per weight, and per lag where split."""
        doc = {
            "cell": self.cell,
            "model": self.model,
            "steps": self.steps,
            "norm": number(self.norm),
            "norms": {k: number(gradient_norm([v])) for k, v in self.grads.items()},
        }
        if self.grads_by_lag is not None:
            doc["lags"] = [int(k) for k in self.lags]
            doc["lag_norms"] = numbers(self.lag_norms())
        return doc


def lag_norms(grads_by_lag, steps):
    """Per-lag gradient mass of a split by lag: entry ``l`` is the norm of all lag-``l`` parts.

    Parameters
    ----------
    grads_by_lag : mapping of str to ndarray
        Weight gradients split by lag, lag first (:attr:`BPTTResult.grads_by_lag`).
    steps : int
        The horizon T (the number of lags).

    Returns
    -------
    ndarray, shape (T,)
    """
    parts = list(grads_by_lag.values())
    return np.array([gradient_norm([p[lag] for p in parts]) for lag in range(steps)])


def _unstack(model, dWh, dWx, db, dbhn, lead=()):
    """Kernel-form gradients back to seed names; ``lead`` = leading axes (the lag axis)."""
    out = {}
    k = len(lead)
    for g, gate in enumerate(model.gates):
        idx = (slice(None),) * k + (g,)
        out[model.recurrent_name(gate)] = _readonly(np.ascontiguousarray(dWh[idx]))
        out[model.input_name(gate)] = _readonly(np.ascontiguousarray(dWx[idx]))
        out[model.bias_name(gate)] = _readonly(np.ascontiguousarray(db[idx]))
    for name in model.extra_names():  # b_hn
        out[name] = _readonly(np.ascontiguousarray(dbhn))
    return MappingProxyType({name: out[name] for name in model.weight_names()})


def bhn_gate(model):
    """Index of the gate whose ``delta_h`` is ``b_hn``'s gradient (GRU reset_after), else -1."""
    return 2 if "b_hn" in model.extra_names() else -1


def check_grad_out(grad_out, shape, *, expected=None):
    """Return the direct state gradients ``grad_out`` as float64, or raise naming the fault.

    ``expected`` words the expected shape for the message (default: ``shape`` and what it
    holds).
    """
    if grad_out is None:
        raise GradflowError("grad_out is required: dL/ds_t for t = 1..T, shape (T, m)")
    a = np.asarray(grad_out)
    if a.shape != shape:
        if expected is None:
            expected = f"{shape} (dL/ds_t for t = 1..T, state size m = {shape[-1]})"
        raise GradflowError(f"grad_out has shape {a.shape}; expected {expected}")
    if a.dtype.kind not in "fiu":
        raise GradflowError(f"grad_out has dtype {a.dtype}; expected real numbers")
    a = np.ascontiguousarray(a, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GradflowError(f"grad_out holds a non-finite value ({a[where]}) at index {where}")
    return a


_ONE_THREAD = SequencePool(1)


@dataclass(frozen=True)
class Trajectories:
    """A cell's states over a batch of sequences: the forward pass that BPTT runs back along.

    Attributes
    ----------
    model : RNN, LSTM or GRU
    inputs : ndarray, shape (B, T, d)
    states : ndarray, shape (B, T + 1, m)
        ``states[:, 0]`` are the initial states, ``states[:, t]`` the states after step t.
    """

    model: object
    inputs: np.ndarray
    states: np.ndarray

    def backward(self, grad_out, *, by_lag=False, pool=None):
        """The gradients of a loss with direct state gradients ``grad_out``, over the batch.

        Parameters
        ----------
        grad_out : ndarray, shape (B, T, m)
            ``grad_out[i, t - 1] = dL/ds_t`` of sequence i, t = 1..T.
        by_lag : bool, optional
            Also split the weight gradients by time lag (see :func:`bptt`).
        pool : SequencePool, optional
            Threads that share the sequences (default: the calling thread).

        Returns
        -------
        BPTTResult
            Weight gradients summed over the batch; state and input gradients (B, ...).
        """
        model = self.model
        X, S = self.inputs, self.states
        B, T, d = X.shape
        m = model.state_size
        G = check_grad_out(grad_out, (B, T, m))
        validation.boolean(by_lag, "by_lag")
        args = model.kernel_args()
        gate = bhn_gate(model)
        Wh, Wx, b = args[2], args[3], args[4]
        state_grads = np.empty((B, T + 1, m))
        input_grads = np.empty((B, T, d))

        def sweep(lo, hi):
            dWh, dWx, db = np.zeros_like(Wh), np.zeros_like(Wx), np.zeros_like(b)
            dbhn = np.zeros(model.hidden)
            kernels.batch_backward(*args, gate, X[lo:hi], S[lo:hi], G[lo:hi], dWh, dWx, db,
                                   dbhn, state_grads[lo:hi], input_grads[lo:hi])
            return dWh, dWx, db, dbhn

        parts = (pool or _ONE_THREAD).map(sweep, B)
        summed = [sum(part[k] for part in parts) for k in range(4)]
        return BPTTResult(
            model=model.describe(),
            cell=model.cell,
            grads=_unstack(model, *summed),
            state_grads=_readonly(state_grads),
            input_grads=_readonly(input_grads),
            grads_by_lag=self.gradients_by_lag(G) if by_lag else None,
        )

    def gradients_by_lag(self, grad_out):
        """The weight gradients split by time lag, summed over the batch (no full sweep).

        Parameters
        ----------
        grad_out : ndarray, shape (B, T, m)

        Returns
        -------
        mapping of str to ndarray
            ``(T,) + weight shape`` per weight name, lag first (as
            :attr:`BPTTResult.grads_by_lag`).
        """
        model = self.model
        X, S = self.inputs, self.states
        B, T, d = X.shape
        G = check_grad_out(grad_out, (B, T, model.state_size))
        args = model.kernel_args()
        Gn, n = args[4].shape
        require_memory(8 * T * (Gn * n * (n + d + 1) + n),
                       f"the split by lag of the gradients of {model.describe()} over {T} steps")
        lWh = np.zeros((T, Gn, n, n))
        lWx = np.zeros((T, Gn, n, d))
        lb = np.zeros((T, Gn, n))
        lbhn = np.zeros((T, n))
        kernels.batch_backward_by_lag(*args, bhn_gate(model), X, S, G, lWh, lWx, lb, lbhn)
        return _unstack(model, lWh, lWx, lb, lbhn, lead=(T,))


def trajectories(model, xs, s0=None, *, pool=None):
    """Run a cell over a batch of sequences and keep the states for backpropagation.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (B, T, d) or (T, d)
        Inputs (one sequence is a batch of one).
    s0 : ndarray, shape (B, m) or (m,), optional
        Initial states (zeros by default).
    pool : SequencePool, optional
        Threads that share the sequences (default: the calling thread).

    Returns
    -------
    Trajectories

    Raises
    ------
    GradflowError
        On bad shapes or values; :class:`~gradflow.TrajectoryOverflowError` when a state leaves
        the float64 range, naming the step.
    """
    xs = as_inputs(xs, model.inputs)
    batch = xs.ndim == 3
    X = xs if batch else xs[None]
    B, T, d = X.shape
    m = model.state_size
    s0 = as_state(s0, m, batch=B if batch else None)
    require_memory(8 * B * (T + 1) * (2 * m + d), f"the trajectories of {model.describe()}")
    S = np.empty((B, T + 1, m))
    S[:, 0] = s0
    bad = np.empty(B, dtype=np.int64)
    args = model.kernel_args()

    def forward(lo, hi):
        for i in range(lo, hi):
            bad[i] = run(*args, X[i], S[i])

    (pool or _ONE_THREAD).map(forward, B)
    failed = np.flatnonzero(bad >= 0)
    if failed.size:
        first = int(failed[0])
        model.run(X[first], S[first, 0])  # raises the cell's own error, naming the step
    return Trajectories(model=model, inputs=X, states=S)


def bptt(model, xs, grad_out, s0=None, by_lag=False):
    """Exact gradients of every weight by backpropagation through time.

    For a loss whose direct gradients with respect to the states are
    ``grad_out[t - 1] = dL/ds_t`` (t = 1..T), the backward sweep carries
    ``delta_t = grad_out[t - 1] + J_{t+1}^T delta_{t+1}`` with the cell's vector-Jacobian
    product kernel (no Jacobian is formed) and adds every step's contribution to the weights.

    Parameters
    ----------
    model : RNN, LSTM or GRU
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs; a batch of B sequences sums the gradients over the sequences.
    grad_out : ndarray, shape (T, m) or (B, T, m)
        ``dL/ds_t`` for t = 1..T (for LSTM ``s = concat(h, c)``).
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    by_lag : bool, optional
        Also split every weight gradient by time lag ``l = t - k``: the contribution to the
        gradient at step k of the loss term at step t (Pascanu et al. 2013, eq. 5).  Costs one
        vector-Jacobian product per (loss term, step) pair: O(T^2) for a loss at every step,
        O(T) for a loss at the last step only.

    Returns
    -------
    BPTTResult

    Raises
    ------
    GradflowError
        On bad shapes or values; :class:`~gradflow.TrajectoryOverflowError` when the forward
        trajectory leaves the float64 range.

    References
    ----------
    Werbos (1990), "Backpropagation through time: what it does and how to do it", Proc. IEEE.
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    xs = as_inputs(xs, model.inputs)
    batch = xs.ndim == 3
    T, m = xs.shape[-2], model.state_size
    G = check_grad_out(grad_out, (xs.shape[0], T, m) if batch else (T, m))
    s0 = as_state(s0, m, batch=xs.shape[0] if batch else None)
    validation.boolean(by_lag, "by_lag")
    result = trajectories(model, xs, s0).backward(G if batch else G[None], by_lag=by_lag)
    if batch:
        return result
    return replace(result, state_grads=_readonly(result.state_grads[0]),
                   input_grads=_readonly(result.input_grads[0]))
