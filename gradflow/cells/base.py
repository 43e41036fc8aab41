"""The cell base class: a cell's facts (:mod:`.facts`), its weights and the methods on top.

A cell class states what it is in class attributes and a few class methods: its registry name
and title, its gates with their symbols and nonlinearities, its options, its state size, its
kernel, where PyTorch keeps its gate blocks and which configurations the comparison shows.
Every front end (the CLI's choices, the weights file, the sweep grids, the comparison, the
report's labels and parameter formulas) reads them from there.
"""

import numpy as np

from .. import validation
from ..activations import apply
from ..errors import GradflowError, TrajectoryOverflowError, source_prefix
from ..io.arrays import as_inputs, as_state
from ..kernels import trajectory
from ..resources import require_memory
from .facts import CellFacts
from .formats import save_cell
from .init import initial_weights


class Cell(CellFacts):
    """A recurrent cell: weights in the seed's notation plus a kind.

    Subclasses set the class attributes of :class:`~gradflow.cells.facts.CellFacts`;
    instances are immutable: the weight arrays are read-only float64 copies and the options
    are validated once, here.
    """

    def __init__(self, weights, *, source=None, **options):
        self._source = source
        for name, value in self.checked_options(options, prefix=source_prefix(source)).items():
            setattr(self, name, value)
        self._weights = self._validated(dict(validation.mapping(weights, "weights")), source)
        self._stacked = None

    # ------------------------------------------------------------------ names and shapes
    def extra_names(self):
        """Weights beyond the per-gate triple of this cell (``b_hn`` of GRU ``reset_after``)."""
        return self.extra_names_for(**self.options())

    def weight_names(self):
        """All weight names, in file and kernel order."""
        return self.weight_names_for(**self.options())

    @property
    def recurrent_matrices(self):
        """Names of the recurrent matrices ``W_*h``, in gate order."""
        return tuple(self.recurrent_name(g) for g in self.gates)

    @property
    def source(self):
        """The file the weights were read from (``"W.npz"``), or None for a cell built here."""
        return self._source

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
        """Length m of the state vector (n, or 2n for LSTM; p + n with a projection)."""
        return self.state_size_for(self.hidden, **self.options())

    @property
    def output_size(self):
        """Length of h, the cell's output (n, or an LSTM's ``proj_size``)."""
        return self.output_size_for(self.hidden, **self.options())

    @property
    def parameter_count(self):
        """Number of trainable scalars; independent of the sequence length (shared weights)."""
        return int(sum(w.size for w in self._weights.values()))

    def parameter_formula(self):
        """The parameter count with its formula: ``"4n(n + d + 1) = 4*32*(32 + 4 + 1) = 4736"``."""
        n, d = self.hidden, self.inputs
        gates = len(self.gates)
        extra = len(self.extra_names())
        value = f"{f'{gates}*' if gates > 1 else ''}{n}*({n} + {d} + 1)"
        if extra:
            value += f" + {f'{extra}*' if extra > 1 else ''}{n}"
        return f"{self.parameter_formula_for(**self.options())} = {value} = {self.parameter_count}"

    def options(self):
        """The stored options (activation, variant, ...) with their values."""
        return {name: getattr(self, name) for name in self.stored_options()}

    @property
    def kind(self):
        """The label of this configuration: ``"RNN-tanh"``, ``"LSTM"``, ``"GRU-reset_after"``."""
        return self.kind_for(**self.options())

    def gate_activations(self):
        """Map each gate letter to its nonlinearity's name."""
        return {g: self.gate_nonlinearities[g] for g in self.gates}

    def kind_words(self):
        """The configuration in words for messages: ``"LSTM cell"``, ``"tanh RNN"``."""
        return self.kind_words_for(**self.options())

    def pascanu_gamma(self):
        """``gamma = sup f'`` of Pascanu's bound ``||J_t|| <= gamma sigma_max(W)``, or None.

        Only a cell whose Jacobian is ``diag(f'(a)) W`` (the vanilla RNN) has the bound.
        """
        return None

    def pascanu_bound(self, sigma_max=None):
        """Pascanu et al.'s bound on ``||J_t||_2`` (``gamma sigma_max(W_h)``), or None."""
        gamma = self.pascanu_gamma()
        if gamma is None:
            return None
        if sigma_max is None:
            sigma_max = float(np.linalg.norm(self[self.recurrent_matrices[0]], 2))
        return float(gamma * sigma_max)

    def recurrent_loop(self, name):
        """The square matrix that closes the loop of recurrent matrix ``name``, or None.

        None when ``W_*h`` is square (it is its own loop); a projected LSTM's ``W_*h W_hr``.
        """
        return None

    def kernel_option(self):
        """The integer option the kernels receive (activation or variant code; 0 by default)."""
        return 0

    def describe(self):
        """Short human name, e.g. ``"LSTM (n=64, d=8)"``."""
        return f"{self.kind} (n={self.hidden}, d={self.inputs})"

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
        label = source_prefix(source)
        expected = self.weight_names()
        unknown = sorted(set(weights) - set(expected))
        if unknown:
            raise GradflowError(
                f"{label}unknown weight {unknown[0]!r} for a {self.kind_words()}; "
                f"expected {', '.join(expected)}"
            )
        missing = [k for k in expected if k not in weights]
        if missing:
            raise GradflowError(f"{label}missing weight {missing[0]!r} for a {self.kind_words()}")
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
        n = W.shape[0] if W.ndim == 2 else 0
        p = self.output_size_for(n, **self.options())
        if n < 1 or (p == n and W.shape[1] != n):
            raise GradflowError(
                f"{label}{first} has shape {tuple(W.shape)}; expected a square (n, n) matrix "
                "with n >= 1"
            )
        if p > n:
            raise GradflowError(
                f"{label}proj_size {p} must not exceed the hidden size {n} "
                f"({first} has shape {tuple(W.shape)})"
            )
        Wx = out[first_in]
        if Wx.ndim != 2 or Wx.shape[0] != n or Wx.shape[1] < 1:
            raise GradflowError(
                f"{label}{first_in} has shape {tuple(Wx.shape)}; expected (n, d) = ({n}, d) "
                f"with d >= 1 for hidden size {n}"
            )
        d = Wx.shape[1]
        for name, shape in self.weight_shapes(n, d, **self.options()).items():
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

    # ------------------------------------------------------------------ kernel form
    def stacked(self):
        """The kernel form ``(Wh (G, n, n), Wx (G, n, d), b (G, n), b_hn (n,))``, C-contiguous.

        An LSTM with a projection has ``Wh`` (5, n, p): the four ``W_*h`` (n, p) and ``W_hr^T``.
        """
        if self._stacked is None:
            w = self._weights
            Wh = np.ascontiguousarray(np.stack([w[self.recurrent_name(g)] for g in self.gates]))
            Wx = np.ascontiguousarray(np.stack([w[self.input_name(g)] for g in self.gates]))
            b = np.ascontiguousarray(np.stack([w[self.bias_name(g)] for g in self.gates]))
            bhn = np.ascontiguousarray(w.get("b_hn", np.zeros(self.hidden)))
            for a in (Wh, Wx, b, bhn):
                a.setflags(write=False)
            self._stacked = (Wh, Wx, b, bhn)
        return self._stacked

    def named_gradients(self, dWh, dWx, db, dbhn, lead=0):
        """Kernel-form gradients (shaped like :meth:`stacked`) back to the seed's names.

        Parameters
        ----------
        dWh, dWx, db, dbhn : ndarray
            Gradients of the four kernel arrays, each with ``lead`` leading axes (a lag axis).
        lead : int
            How many leading axes come before the kernel form's own.

        Returns
        -------
        dict of str to ndarray
            One C-contiguous array per weight name, in file order.
        """
        at = (slice(None),) * lead
        out = {}
        for g, gate in enumerate(self.gates):
            out[self.recurrent_name(gate)] = np.ascontiguousarray(dWh[at + (g,)])
            out[self.input_name(gate)] = np.ascontiguousarray(dWx[at + (g,)])
            out[self.bias_name(gate)] = np.ascontiguousarray(db[at + (g,)])
        for name in self.extra_names():  # b_hn
            out[name] = np.ascontiguousarray(dbhn)
        return {name: out[name] for name in self.weight_names()}

    def kernel_leak(self):
        """The fraction of the state a step replaces, as the kernels receive it (1.0 here).

        Only the leaky RNN (:class:`~gradflow.RNN` with ``leak`` below 1) keeps part of its
        state: ``h <- (1 - leak) h + leak f(...)``.
        """
        return 1.0

    def kernel_args(self):
        """Leading arguments ``(cell_id, option, Wh, Wx, b, b_hn)`` of the chain kernels.

        ``option`` is the pair ``(kernel_option(), kernel_leak())`` (an int and a float).
        """
        return ((self.kernel_id, (int(self.kernel_option()), float(self.kernel_leak())))
                + self.stacked())

    # ------------------------------------------------------------------ computations
    def _trajectory(self, xs, s0):
        require_memory(8 * (xs.shape[0] + 1) * self.state_size,
                       f"the trajectory of {self.describe()} over {xs.shape[0]} steps")
        S = np.empty((xs.shape[0] + 1, self.state_size))
        S[0] = s0
        bad = trajectory.run(*self.kernel_args(), xs, S)
        if bad >= 0:
            row = S[bad]
            raise TrajectoryOverflowError(
                f"{source_prefix(self._source)}the trajectory of {self.describe()} overflows "
                f"float64 at step {bad} of "
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
        xs = as_inputs(xs, self.inputs, batch=False)
        m = self.state_size
        require_memory(8 * xs.shape[0] * m * m,
                       f"all {xs.shape[0]} Jacobians ({m} x {m}) of {self.describe()}")
        S = self._trajectory(xs, as_state(s0, self.state_size))
        Js = np.empty((xs.shape[0], m, m))
        trajectory.step_jacobians(*self.kernel_args(), xs, S, Js)
        return Js

    # ------------------------------------------------------------------ gates
    def pre_activations(self, xs, S):
        """Arguments of every nonlinearity along one trajectory, from the named weights.

        Parameters
        ----------
        xs : ndarray, shape (T, d)
        S : ndarray, shape (T + 1, m)
            The trajectory of the cell over ``xs``.

        Returns
        -------
        dict of str to (activation name, ndarray of shape (T, n))
            Keyed by the gate's value in the seed's notation (``"F"``, ``"Ht"``).
        """
        w = self._weights
        h = S[:-1, :self.output_size]
        out = {}
        for gate, activation in self.gate_activations().items():
            a = (h @ w[self.recurrent_name(gate)].T + xs @ w[self.input_name(gate)].T
                 + w[self.bias_name(gate)])
            out[self.gate_symbols[gate]] = (activation, a)
        return out

    def gate_values(self, xs, S):
        """The value of every gate along one trajectory (F, I, O; R, Z; the RNN's H).

        Returns
        -------
        dict of str to ndarray of shape (T, n)
            Keyed as :meth:`pre_activations`; each array is the nonlinearity applied.
        """
        return {symbol: apply(activation, a)
                for symbol, (activation, a) in self.pre_activations(xs, S).items()}

    # ------------------------------------------------------------------ building
    @classmethod
    def init(cls, hidden, inputs, *, init="gaussian", gain=1.0, seed=0, **options):
        """Build a cell with seeded random weights; see :mod:`gradflow.cells.init`."""
        return initial_weights(cls, hidden, inputs, init=init, gain=gain, seed=seed, **options)

    def save(self, path):
        """Write the weights to ``path`` (.npz, atomically); see :mod:`gradflow.cells.formats`."""
        save_cell(self, path)
