"""Gradient flossing: the first k Lyapunov exponents pushed towards a target, with exact gradients.

:func:`floss` measures ``mean_{i<k} (lambda_i - target)^2`` on the QR chain of
:func:`gradflow.lyapunov` and returns its gradient with respect to every weight, by
backpropagation through the QR factorisations and through the trajectory, in one backward
sweep (:mod:`gradflow.kernels.floss`).
"""

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .. import _threads, validation
from ..cells.base import Cell
from ..cells.formats import weight_key
from ..cells.network import Network
from ..errors import GradflowError
from ..io.arrays import as_inputs, as_state
from ..kernels.floss import chain_store, qr_chain, qr_chain_backward
from ..resources import require_memory
from ._json import number, numbers
from ._pool import SequencePool
from .bptt import _unstack
from .lyapunov import initial_frame

__all__ = ["FlossResult", "floss"]


@dataclass(frozen=True)
class FlossResult:
    """The flossing loss of a model on its inputs and the loss's gradient for every weight.

    Attributes
    ----------
    model : str
        The model, in words.
    loss : float
        ``mean_{i<k} (lambda_i - target)^2``; for a batch, the mean over its sequences.
    exponents : ndarray, shape (k,)
        The first k Lyapunov exponents of the chain (natural log per step), descending; for a
        batch, the mean over the sequences.
    grads : mapping of str to ndarray
        ``d loss / dW`` shaped like each weight: the seed's names for a cell,
        ``l{layer}.forward.{name}`` for a network.
    target : float
    warmup : int
    steps : int
        T, including the warm-up.
    sequences : int or None
        B for a batch, None for one sequence.
    """

    model: str
    loss: float
    exponents: np.ndarray
    grads: MappingProxyType
    target: float
    warmup: int
    steps: int
    sequences: int | None

    @property
    def k(self):
        """Number of exponents flossed."""
        return int(self.exponents.size)

    def to_dict(self):
        """A JSON document: the loss, the exponents and the gradient norm per weight."""
        return {
            "model": self.model, "k": self.k, "target": self.target, "warmup": self.warmup,
            "steps": self.steps, "sequences": self.sequences, "loss": number(self.loss),
            "exponents": numbers(self.exponents),
            "grad_norms": {name: number(np.linalg.norm(g)) for name, g in self.grads.items()},
        }


def _layers(model):
    """The cells of the chain, bottom up, and the weight names of each in the result."""
    if isinstance(model, Cell):
        return (model,), (lambda layer, name: name)
    if isinstance(model, Network):
        if model.bidirectional:
            raise GradflowError(
                f"floss takes a cell or a unidirectional network; got {model.describe()}: a "
                "reverse direction runs over the inputs in reversed time, so the network has no "
                "single state that one step maps forward, and no Lyapunov chain")
        return (tuple(layer[0] for layer in model.layers),
                lambda layer, name: weight_key(layer, "forward", name))
    raise GradflowError(f"floss takes a cell (RNN, LSTM, GRU) or a network; got "
                        f"{type(model).__name__}")


def _checked_cells(cells, name_of):
    first = cells[0]
    if first.output_size != first.hidden:
        raise GradflowError(f"floss does not handle {first.describe()}: an LSTM whose hidden "
                            "state is projected (proj_size) has no second-order kernels here")
    return cells, name_of


def _packed(cells, width):
    """Every layer's kernel form stacked, inputs padded with zeros to ``width``."""
    parts = [c.stacked() for c in cells]
    Wh = np.ascontiguousarray(np.stack([p[0] for p in parts]))
    Wx = np.zeros((len(cells),) + parts[0][1].shape[:2] + (width,))
    for layer, p in enumerate(parts):
        Wx[layer, :, :, :p[1].shape[2]] = p[1]
    b = np.ascontiguousarray(np.stack([p[2] for p in parts]))
    bhn = np.ascontiguousarray(np.stack([p[3] for p in parts]))
    return Wh, Wx, b, bhn


def _frame(q0, m, k):
    """The starting frame: ``q0`` checked, or :func:`gradflow.lyapunov`'s default frame."""
    if q0 is None:
        return initial_frame(m, k, 0)
    a = np.asarray(q0)
    if a.shape != (m, k) or a.dtype.kind not in "fiu":
        raise GradflowError(f"q0 has shape {a.shape} and dtype {a.dtype}; expected a real "
                            f"({m}, {k}) matrix (state size m = {m}, k = {k})")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not np.isfinite(a).all():
        raise GradflowError("q0 holds a non-finite value; expected an orthonormal frame")
    error = float(np.max(np.abs(a.T @ a - np.eye(k))))
    if error > 1e-10:
        raise GradflowError(f"q0 must have orthonormal columns (q0^T q0 = I to 1e-10); "
                            f"its largest deviation is {error:.3g}")
    return a


def _sequence(cells, packed, X, xs, S, q0, warmup, target):
    """Loss, exponents (chain order) and per-layer kernel-form gradients of one sequence."""
    T = xs.shape[0]
    M, k = q0.shape
    L = len(cells)
    n = cells[0].hidden
    args = cells[0].kernel_args()[:2] + packed
    Qs = np.empty((T + 1, M, k))
    Qs[0] = q0
    Rs = np.empty((T, k, k))
    log_sums = np.empty(k)
    G = packed[2].shape[1]
    store = chain_store(*args[:2], L, T, G, n, k)
    status = qr_chain(*args, X, S, Qs, Rs, warmup, log_sums, *store)
    if status > 0:
        raise GradflowError(f"the product J_t Q left the float64 range at step {status}")
    if status < 0:
        raise GradflowError(f"a direction of the frame collapsed at step {-status} (|R_ii| = 0: "
                            "an exponent of -inf); floss is undefined there, lower k")
    exponents = log_sums / (T - warmup)
    deviation = exponents - target
    loss = float(np.mean(deviation**2))
    packed_grads = [np.zeros_like(a) for a in packed]
    qr_chain_backward(*args, X, S, Qs, Rs, warmup, 2.0 * deviation / (k * (T - warmup)),
                      *store, *packed_grads)
    del store
    grads = []
    for layer, cell in enumerate(cells):
        dWh, dWx, db, dbhn = (a[layer] for a in packed_grads)
        grads.append((dWh, dWx[:, :, :cell.inputs], db, dbhn))
    if not all(np.isfinite(a).all() for arrays in grads for a in arrays):
        raise GradflowError("the flossing gradient left the float64 range (a direction of the "
                            "frame nearly collapsed: |R_ii| close to 0); lower k")
    return loss, exponents, grads


def floss(model, xs, s0=None, *, k, target=0.0, warmup=0, q0=None, threads=None):
    """The gradient-flossing loss of the first k Lyapunov exponents and its exact gradient.

    The frame ``Q_0 = q0`` (m, k) is carried along the trajectory and re-orthonormalised every
    step, ``J_t Q_{t-1} = Q_t R_t`` (thin QR), exactly as :func:`gradflow.lyapunov` does with
    ``interval=1``; ``lambda_i = sum_{t > warmup} ln |R_t[i, i]| / (T - warmup)`` and the loss
    is ``mean_{i<k} (lambda_i - target)^2``.  Its gradient with respect to every weight is
    exact: backpropagation through each QR factorisation (``A = QR``: ``M = R Rbar^T - Qbar^T
    Q``, ``Abar = (Qbar + Q copyltu(M)) R^{-T}``), through the Jacobians' own dependence on the
    weights and on the state (second derivatives of the cell), and along the trajectory by
    backpropagation through time.  Memory is O(T m k + m^2): the trajectory, the chain's
    ``Q_t``, ``R_t`` and each step's gate values and tangent pre-activations ``W_gh Q`` are
    kept, the Jacobians never stored.

    Parameters
    ----------
    model : RNN, LSTM, GRU or Network
        A cell, or a unidirectional stack of layers (the chain runs over the whole network
        state, layer by layer; a bidirectional network has no such chain and is refused).
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs; for a batch, the loss, the exponents and the gradients are means over the
        sequences (computed in parallel).
    s0 : ndarray, shape (m,) or (B, m), optional
        Initial state (zeros by default).
    k : int
        Number of exponents, 1..m.
    target : float, optional
        The value each exponent is pushed towards (0: neither growth nor decay).
    warmup : int, optional
        Leading steps that only align the frame, 0..T-1 (their factorisations still carry
        the frame, and the gradient through them).
    q0 : ndarray, shape (m, k), optional
        Orthonormal starting frame; by default the fixed one :func:`gradflow.lyapunov` starts
        from (``seed=0``): the Q factor, signs making diag(R) positive, of the QR of an
        (m, k) standard-normal matrix drawn by ``numpy.random.default_rng(0)``.
    threads : int, optional
        Threads that share the sequences of a batch (default: the CPUs, at most 8).

    Returns
    -------
    FlossResult

    References
    ----------
    Engelken (2023), "Gradient flossing: improving gradient descent through dynamic control
    of Jacobians", NeurIPS.
    Walter & Lehmann (2018), "Algorithmic differentiation of linear algebra functions with
    application in optimum experimental design (extended version)", arXiv:1001.1654.
    """
    cells, name_of = _checked_cells(*_layers(model))
    xs = as_inputs(xs, model.inputs)
    batch = xs.shape[0] if xs.ndim == 3 else None
    X3 = xs if batch is not None else xs[None]
    B, T, d = X3.shape
    m = model.state_size
    k = validation.integer(k, "k", minimum=1, maximum=m,
                           rule=f"an integer in [1, {m}] (the state size)")
    warmup = validation.integer(warmup, "warmup", minimum=0, maximum=T - 1,
                                rule=f"an integer in [0, {T - 1}] (fewer than the {T} steps)")
    target = validation.real(target, "target")
    frame = _frame(q0, m, k)
    s0 = as_state(s0, m, batch=batch)
    threads = min(_threads.available_cores(), 8) if threads is None else validation.integer(
        threads, "threads", minimum=1)
    threads = min(threads, B)
    n, gates = cells[0].hidden, cells[0].stacked()[0].shape[0]
    kept = len(cells) * (5 * n + (gates + 1) * n * k)  # per step: what the chain keeps
    require_memory(8 * (T + 1) * (B * m + threads * (m * (k + 1) + k * k + kept)),
                   f"the QR chains of {k} directions over {threads} x {T} steps at a time")
    S3 = model.run(X3, s0 if batch is not None else s0[None])
    width = max(d, cells[0].hidden) if len(cells) > 1 else d
    packed = _packed(cells, width)
    X = np.zeros((B, T, width))
    X[:, :, :d] = X3

    def chunk(lo, hi):
        return [_sequence(cells, packed, X[i], X3[i], S3[i], frame, warmup, target)
                for i in range(lo, hi)]

    with SequencePool(threads) as pool, _threads.blas_threads(1):
        results = [one for part in pool.map(chunk, B) for one in part]
    # summed in sequence order, so every thread count gives the same numbers
    loss, exponents, layer_grads = results[0]
    layer_grads = [list(arrays) for arrays in layer_grads]
    for one in results[1:]:
        loss += one[0]
        exponents = exponents + one[1]
        for mine, theirs in zip(layer_grads, one[2], strict=True):
            for a, g in zip(mine, theirs, strict=True):
                a += g
    grads = {}
    for layer, (cell, arrays) in enumerate(zip(cells, layer_grads, strict=True)):
        for name, g in _unstack(cell, *(a / B for a in arrays)).items():
            grads[name_of(layer, name)] = g
    return FlossResult(
        model=model.describe(), loss=float(loss / B),
        exponents=np.sort(exponents / B)[::-1].copy(), grads=MappingProxyType(grads),
        target=target, warmup=warmup, steps=T, sequences=batch,
    )
