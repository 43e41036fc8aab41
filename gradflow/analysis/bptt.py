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
from ..cells.network import Network
from ..errors import GradientOverflowError, named
from ..io.arrays import as_inputs, as_lengths, as_state
from ..kernels import bptt as kernels
from ..kernels.trajectory import run
from ..resources import require_memory
from ._pool import SequencePool
from .backprop import (
    BPTTResult,
    bhn_gate,
    check_grad_out,
    lag_norms,
    split_by_lag,
    split_bytes,
    term_rows,
)
from .backprop import readonly as _readonly
from .clipping import gradient_norm
from .network_bptt import network_bptt
from .padded_bptt import padded_bptt

__all__ = ["BPTTResult", "SequencePool", "Trajectories", "bhn_gate", "bptt", "check_grad_out",
           "lag_norms", "trajectories"]


def _unstack(model, dWh, dWx, db, dbhn, lead=()):
    """Kernel-form gradients back to seed names; ``lead`` = leading axes (the lag axis)."""
    named = model.named_gradients(dWh, dWx, db, dbhn, lead=len(lead))
    return MappingProxyType({name: _readonly(g) for name, g in named.items()})


_ONE_THREAD = SequencePool(1)
#: The split by lag carries all loss terms back together when that takes at most this much
#: memory (or four times the term-by-term kernel's); beyond, one term at a time.
TOGETHER_BYTES = 2 ** 28


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
        per_lag = Gn * n * (n + d + 1) + n
        terms = [np.flatnonzero(np.any(g != 0.0, axis=1)) for g in G]
        # all terms in one sweep of BLAS products, unless that needs far more memory than
        # the term-by-term kernel (T x the weights)
        together = split_bytes(model, T, max(map(len, terms), default=0))
        if together <= max(4 * 8 * T * per_lag, TOGETHER_BYTES):
            return self._split_together(G, terms)
        require_memory(8 * T * per_lag,
                       f"the split by lag of the gradients of {model.describe()} over {T} steps")
        lWh = np.zeros((T,) + args[2].shape)
        lWx = np.zeros((T, Gn, n, d))
        lb = np.zeros((T, Gn, n))
        lbhn = np.zeros((T, n))
        kernels.batch_backward_by_lag(*args, bhn_gate(model), X, S, G, lWh, lWx, lb, lbhn)
        return _unstack(model, lWh, lWx, lb, lbhn, lead=(T,))


    def _split_together(self, G, terms):
        """:meth:`gradients_by_lag` with every sequence's terms carried back together."""
        model = self.model
        B, T, m = G.shape
        require_memory(split_bytes(model, T, max(map(len, terms))),
                       f"the split by lag of the gradients of {model.describe()} over {T} steps")
        total = {name: np.zeros((T,) + np.shape(w)) for name, w in model.weights.items()}
        for g, X, S, rows in zip(G, self.inputs, self.states, terms, strict=True):
            if rows.size == 0:
                continue
            split, _ = split_by_lag(model, X, S, *term_rows(g, m))
            for name, value in split.items():
                total[name] += value
        return MappingProxyType({name: _readonly(v) for name, v in total.items()})


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


def check_finite_gradients(model, result):
    """Raise :class:`~gradflow.errors.GradientOverflowError` unless every gradient is finite.

    Names the step whose state gradient overflowed first, going backwards from T; else the
    weight whose sum over the steps (or whose norm) left the float64 range.
    """
    S = result.state_grads
    T = S.shape[1] - 1
    bad = ~np.isfinite(S).all(axis=2)
    fix = "scale grad_out down or shorten the sequence"
    if bad.any():
        seq, t = max(zip(*np.nonzero(bad), strict=True), key=lambda st: (st[1], -st[0]))
        value = S[seq, t][~np.isfinite(S[seq, t])][0]
        where = f" (sequence {seq})" if S.shape[0] > 1 else ""
        raise GradientOverflowError(
            f"{named(model)}"
            f"the backward pass of {model.describe()} overflows float64 at step {t} of {T}"
            f"{where} (dL/ds_{t} holds {value}); {fix}", step=int(t))
    parts = dict(result.grads)
    if result.grads_by_lag is not None:
        parts.update({f"{name} (by lag)": g for name, g in result.grads_by_lag.items()})
    for name, g in {**parts, "input gradient": result.input_grads}.items():
        if not np.isfinite(g).all():
            raise GradientOverflowError(f"{named(model)}"
                                        f"the gradient of {name} of {model.describe()} "
                                        f"overflows float64 summed over {T} steps; {fix}")
    if not np.isfinite(gradient_norm(result.grads.values())):
        raise GradientOverflowError(f"{named(model)}the norm of the gradient of {model.describe()} "
                                    f"overflows float64; {fix}")


def bptt(model, xs, grad_out, s0=None, by_lag=False, *, lengths=None):
    """Exact gradients of every weight by backpropagation through time.

    For a loss whose direct gradients with respect to the states are
    ``grad_out[t - 1] = dL/ds_t`` (t = 1..T), the backward sweep carries
    ``delta_t = grad_out[t - 1] + J_{t+1}^T delta_{t+1}`` with the cell's vector-Jacobian
    product kernel (no Jacobian is formed) and adds every step's contribution to the weights.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Network
        A network takes ``grad_out`` at its outputs and names its gradients as its file
        does (:func:`~gradflow.analysis.network_bptt.network_bptt`).
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs; a batch of B sequences sums the gradients over the sequences.
    grad_out : ndarray, shape (T, m) or (B, T, m)
        ``dL/ds_t`` for t = 1..T (for LSTM ``s = concat(h, c)``); for a network
        ``dL/d output_t``, (T, D p) as PyTorch's ``output``.
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    by_lag : bool, optional
        Also split every weight gradient by time lag ``l = t - k``: the contribution to the
        gradient at step k of the loss term at step t (Pascanu et al. 2013, eq. 5).  Costs one
        vector-Jacobian product per (loss term, step) pair: O(T^2) for a loss at every step,
        O(T) for a loss at the last step only.
    lengths : array_like of int, shape (B,), optional
        A padded batch: sequence b is backpropagated over its steps ``0..lengths[b] - 1``
        alone, as PyTorch runs packed sequences (:mod:`~gradflow.analysis.padded_bptt`); rows
        of ``grad_out`` past a length are ignored, state and input gradients there are zero.

    Returns
    -------
    BPTTResult

    Raises
    ------
    GradflowError
        On bad shapes or values; :class:`~gradflow.TrajectoryOverflowError` when the forward
        trajectory leaves the float64 range; :class:`~gradflow.GradientOverflowError` when
        the backward pass does (naming the step).

    References
    ----------
    Werbos (1990), "Backpropagation through time: what it does and how to do it", Proc. IEEE.
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML.
    """
    if lengths is not None:
        xs = as_inputs(xs, model.inputs)
        if xs.ndim == 3:
            width = model.output_size if isinstance(model, Network) else model.state_size
            G = check_grad_out(grad_out, (xs.shape[0], xs.shape[1], width))
            validation.boolean(by_lag, "by_lag")
            return padded_bptt(bptt, model, xs, G, s0, by_lag, lengths)
        as_lengths(lengths, None, xs.shape[0])  # one sequence takes no lengths: raises
    if isinstance(model, Network):
        return network_bptt(model, xs, grad_out, s0, by_lag)
    xs = as_inputs(xs, model.inputs)
    batch = xs.ndim == 3
    T, m = xs.shape[-2], model.state_size
    G = check_grad_out(grad_out, (xs.shape[0], T, m) if batch else (T, m))
    s0 = as_state(s0, m, batch=xs.shape[0] if batch else None)
    validation.boolean(by_lag, "by_lag")
    result = trajectories(model, xs, s0).backward(G if batch else G[None], by_lag=by_lag)
    check_finite_gradients(model, result)
    if batch:
        return result
    return replace(result, state_grads=_readonly(result.state_grads[0]),
                   input_grads=_readonly(result.input_grads[0]))
