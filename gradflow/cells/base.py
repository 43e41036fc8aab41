"""The cell base class: seed-named weights, their stacked kernel form, and the methods on top."""

import math

import numpy as np

from ..errors import GradflowError, TrajectoryOverflowError
from ..io.arrays import as_inputs, as_state


def _label(source):
    return f"{source}: " if source else ""


class Cell:
    """A recurrent cell: weights in the seed's notation plus a kind.

    Subclasses fix ``cell`` (the name written to files), ``gates`` (the gate letters in kernel
    order) and the weight names.  Instances are immutable: the weight arrays are read-only
    float64 copies.
    """

    cell = ""
    gates = ()
    kernel_kind = -1

    def __init__(self, weights, *, source=None):
        self._source = source
        self._weights = self._validated(dict(weights), source)
        self._stacked = None

    # ------------------------------------------------------------------ names and shapes
    @classmethod
    def recurrent_name(cls, gate):
        """Name of gate ``gate``'s recurrent matrix (``W_fh``)."""
        return f"W_{gate}h"

    @classmethod
    def input_name(cls, gate):
        """Name of gate ``gate``'s input matrix (``W_fx``)."""
        return f"W_{gate}x"

    @classmethod
    def bias_name(cls, gate):
        """Name of gate ``gate``'s bias (``b_f``)."""
        return f"b_{gate}"

    def extra_names(self):
        """Weights beyond the per-gate triple (GRU ``reset_after``: ``b_hn``)."""
        return ()

    def weight_names(self):
        """All weight names, in file and kernel order."""
        names = []
        for g in self.gates:
            names += [self.recurrent_name(g), self.input_name(g), self.bias_name(g)]
        return tuple(names) + tuple(self.extra_names())

    @property
    def recurrent_matrices(self):
        """Names of the recurrent matrices ``W_*h``, in gate order."""
        return tuple(self.recurrent_name(g) for g in self.gates)

    @property
    def weights(self):
        """Mapping of weight name to read-only float64 array."""
        return dict(self._weights)

    def __getitem__(self, name):
        return self._weights[name]

    @property
    def hidden(self):
        """Hidden size n."""
        return self._weights[self.recurrent_name(self.gates[0])].shape[0]

    @property
    def inputs(self):
        """Input width d."""
        return self._weights[self.input_name(self.gates[0])].shape[1]

    @property
    def state_size(self):
        """Length m of the state vector (n, or 2n for LSTM)."""
        return self.hidden

    @property
    def parameter_count(self):
        """Number of trainable scalars; independent of the sequence length (shared weights)."""
        return int(sum(w.size for w in self._weights.values()))

    def options(self):
        """Cell options written next to the weights (activation, variant)."""
        return {}

    def _kernel_option(self):
        return 0

    def describe(self):
        """Short human name, e.g. ``"LSTM (n=64, d=8)"``."""
        return f"{self.cell.upper()} (n={self.hidden}, d={self.inputs})"

    def __repr__(self):
        opts = "".join(f", {k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}(hidden={self.hidden}, inputs={self.inputs}{opts})"

    def __eq__(self, other):
        return (
            type(self) is type(other)
            and self.options() == other.options()
            and self._weights.keys() == other._weights.keys()
            and all(np.array_equal(self._weights[k], other._weights[k]) for k in self._weights)
        )

    __hash__ = None

    # ------------------------------------------------------------------ validation
    def _validated(self, weights, source):
        label = _label(source)
        expected = self.weight_names()
        unknown = sorted(set(weights) - set(expected))
        if unknown:
            raise GradflowError(
                f"{label}unknown weight {unknown[0]!r} for a {self._kind_words()}; "
                f"expected {', '.join(expected)}"
            )
        missing = [k for k in expected if k not in weights]
        if missing:
            raise GradflowError(f"{label}missing weight {missing[0]!r} for a {self._kind_words()}")
        out = {}
        for name in expected:
            a = np.asarray(weights[name])
            if a.dtype.kind not in "fiu":
                raise GradflowError(
                    f"{label}{name} has dtype {a.dtype}; expected real floating-point numbers"
                )
            out[name] = a
        first = self.recurrent_name(self.gates[0])
        first_in = self.input_name(self.gates[0])
        W = out[first]
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
            raise GradflowError(
                f"{label}{first} has shape {tuple(W.shape)}; expected a square (n, n) matrix "
                "with n >= 1"
            )
        n = W.shape[0]
        Wx = out[first_in]
        if Wx.ndim != 2 or Wx.shape[0] != n or Wx.shape[1] < 1:
            raise GradflowError(
                f"{label}{first_in} has shape {tuple(Wx.shape)}; expected (n, d) = ({n}, d) "
                f"with d >= 1 for hidden size {n}"
            )
        d = Wx.shape[1]
        for name in expected:
            if name.endswith("h") and name.startswith("W_"):
                shape = (n, n)
            elif name.startswith("W_"):
                shape = (n, d)
            else:
                shape = (n,)
            a = out[name]
            if a.shape != shape:
                raise GradflowError(
                    f"{label}{name} has shape {tuple(a.shape)}; expected {shape} for hidden size "
                    f"{n} and input width {d}"
                )
            a = a.astype(np.float64)
            bad = ~np.isfinite(a)
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise GradflowError(
                    f"{label}{name} holds a non-finite value ({a[where]}) at index {where}"
                )
            a.setflags(write=False)
            out[name] = a
        return out

    def _kind_words(self):
        return self.cell.upper() + " cell"

    # ------------------------------------------------------------------ kernel form
    def stacked(self):
        """The kernel form ``(Wh (G, n, n), Wx (G, n, d), b (G, n), b_hn (n,))``, C-contiguous."""
        if self._stacked is None:
            w = self._weights
            Wh = np.ascontiguousarray(np.stack([w[self.recurrent_name(g)] for g in self.gates]))
            Wx = np.ascontiguousarray(np.stack([w[self.input_name(g)] for g in self.gates]))
            b = np.ascontiguousarray(np.stack([w[self.bias_name(g)] for g in self.gates]))
            bhn = np.ascontiguousarray(w.get("b_hn", np.zeros(self.hidden)))
            self._stacked = (Wh, Wx, b, bhn)
        return self._stacked

    def kernel_args(self):
        """Positional arguments ``(kind, option, Wh, Wx, b, b_hn)`` of the chain kernels."""
        return (self.kernel_kind, self._kernel_option()) + self.stacked()

    # ------------------------------------------------------------------ computations
    def _trajectory(self, xs, s0):
        from ..kernels import chains
        from ..resources import require_memory

        require_memory(8 * (xs.shape[0] + 1) * self.state_size,
                       f"the trajectory of {self.describe()} over {xs.shape[0]} steps")
        S = np.empty((xs.shape[0] + 1, self.state_size))
        S[0] = s0
        bad = chains.run(*self.kernel_args(), xs, S)
        if bad >= 0:
            row = S[bad]
            raise TrajectoryOverflowError(
                f"{_label(self._source)}the trajectory of {self.describe()} overflows float64 "
                f"at step {bad} of "
                f"{xs.shape[0]} (state holds {row[~np.isfinite(row)][0]}); "
                "lower the gain or shorten the sequence",
                step=bad,
            )
        return S

    def run(self, xs, s0=None):
        """Run the cell over an input sequence.

        Parameters
        ----------
        xs : ndarray, shape (T, d) or (B, T, d)
            Inputs; ``xs[t]`` drives step ``t + 1``.
        s0 : ndarray, shape (m,) or (B, m), optional
            Initial state (zeros by default); ``concat(h0, c0)`` for LSTM.

        Returns
        -------
        ndarray, shape (T + 1, m) or (B, T + 1, m)
            States ``S[0] = s0, ..., S[T]``.

        Raises
        ------
        GradflowError
            On bad shapes or values; :class:`TrajectoryOverflowError` when a state leaves the
            float64 range, naming the step.
        """
        xs = as_inputs(xs, self.inputs)
        if xs.ndim == 3:
            s0 = as_state(s0, self.state_size, batch=xs.shape[0])
            return np.stack([self._trajectory(x, s) for x, s in zip(xs, s0, strict=True)])
        return self._trajectory(xs, as_state(s0, self.state_size))

    def step_jacobians(self, xs, s0=None):
        """Exact per-step Jacobians along the trajectory.

        Parameters
        ----------
        xs : ndarray, shape (T, d)
            Inputs.
        s0 : ndarray, shape (m,), optional
            Initial state (zeros by default).

        Returns
        -------
        ndarray, shape (T, m, m)
            ``J[t] = ds_{t+1}/ds_t``.
        """
        from ..kernels import chains
        from ..resources import require_memory

        xs = as_inputs(xs, self.inputs, batch=False)
        m = self.state_size
        require_memory(8 * xs.shape[0] * m * m,
                       f"all {xs.shape[0]} Jacobians ({m} x {m}) of {self.describe()}")
        S = self._trajectory(xs, as_state(s0, self.state_size))
        Js = np.empty((xs.shape[0], m, m))
        chains.step_jacobians(*self.kernel_args(), xs, S, Js)
        return Js

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Write the weights to ``path`` (.npz, atomically)."""
        from ..io.weights import save_weights

        save_weights(self, path)

    @classmethod
    def init(cls, hidden, inputs, *, init="gaussian", gain=1.0, seed=0, **options):
        """Build a cell with seeded random weights; see ``gradflow.cells.init``."""
        from .init import initial_weights

        return initial_weights(cls, hidden, inputs, init=init, gain=gain, seed=seed, **options)


def require_finite(value, name):
    """Raise unless ``value`` is a finite real number; return it as float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GradflowError(f"{name} must be a real number; got {value!r}") from None
    if not math.isfinite(v):
        raise GradflowError(f"{name} must be finite; got {value!r}")
    return v
