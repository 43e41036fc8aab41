"""What a cell is, as class-level facts.

Its options, configurations, labels, weight names and shapes, parameter count and formula,
and how PyTorch stacks its gates.
:class:`CellFacts` is the base of :class:`gradflow.cells.Cell`; everything here is a class
method, so the sweep, the CLI and the report can ask a cell class without building weights.
"""

import math

from ..errors import GradflowError
from .registry import CELLS

__all__ = ["CellFacts"]


class CellFacts:
    """The class-level facts of a recurrent cell; subclasses set the attributes below.

    Attributes
    ----------
    cell : str
        The registry name written to weights files (``"lstm"``).
    title : str
        The name in prose and labels (``"LSTM"``).
    gates : tuple of str
        Gate letters in kernel order (``""`` for the RNN's single block).
    gate_symbols : dict
        Each gate's value in the seed's notation (``{"f": "F", ..., "c": "Ct"}``).
    gate_nonlinearities : dict
        Each gate's nonlinearity, for cells where it is fixed (RNN: its ``activation``).
    option_specs : tuple of Option
        The cell's options (stored in the weights file, or init-only).
    state_multiplier : int
        m / n: 2 for the LSTM's ``concat(h, c)``, 1 otherwise.
    kernel_id : int
        The cell's code in :mod:`gradflow.kernels.dispatch`.
    torch_module : str
        The ``torch.nn`` class of this cell (``"LSTM"``), or ``""``.
    torch_gate_rows : dict
        Each gate's row block in PyTorch's stacked ``weight_hh`` / ``weight_ih``.
    torch_module_options : dict
        Attributes of the ``torch.nn`` module that are options here
        (``{"nonlinearity": "activation"}`` for the RNN).
    torch_extra_weights : dict
        PyTorch weights beyond the gate blocks, by PyTorch name, mapped to the keyword of
        :meth:`from_torch_blocks` that takes them (LSTM: ``{"weight_hr": "W_hr"}``).
    compared : tuple of str
        Configuration names (see :meth:`configurations`) in ``gradflow compare``'s line-up.
    position : int
        Place in the registry's order.
    """

    cell = ""
    title = ""
    gates = ()
    gate_symbols = {}
    gate_nonlinearities = {}
    option_specs = ()
    state_multiplier = 1
    kernel_id = -1
    torch_module = ""
    torch_gate_rows = {}
    torch_module_options = {}
    torch_extra_weights = {}
    compared = ()
    #: Place in the registry's order (and so in listings and the CLI's choices).
    position = 100

    @classmethod
    def stored_options(cls):
        """The options written to the weights file, by name."""
        return {o.name: o for o in cls.option_specs if o.stored}

    @classmethod
    def init_options(cls):
        """The options that shape the initial weights only (LSTM ``forget_bias``), by name."""
        return {o.name: o for o in cls.option_specs if not o.stored}

    @classmethod
    def checked_options(cls, options, *, prefix=""):
        """Validate stored options and fill their defaults; returns ``{name: value}``."""
        specs = cls.stored_options()
        unknown = sorted(set(options) - set(specs))
        if unknown:
            raise GradflowError(f"{prefix}{cls.option_owner_words(unknown[0])}")
        return {name: spec.default if options.get(name) is None
                else spec.check(options[name], prefix=prefix)
                for name, spec in specs.items()}

    @classmethod
    def option_owner_words(cls, name):
        """Why ``name`` is not an option of this cell, in words (which cells it belongs to)."""
        owners = [c.title for c in CELLS.values() if name in c.option_specs_by_name()]
        if owners:
            return f"{name} applies to {' and '.join(owners)} only, not to {cls.title}"
        known = ", ".join(cls.option_specs_by_name()) or "none"
        return f"{name} is not an option of {cls.title} (its options: {known})"

    @classmethod
    def option_specs_by_name(cls):
        """Every option (stored and init-only), by name."""
        return {o.name: o for o in cls.option_specs}

    @classmethod
    def configurations(cls):
        """Named configurations: the bare name, and one per value of each choice option.

        Returns
        -------
        dict of str to dict
            e.g. ``{"rnn": {}, "rnn-tanh": {"activation": "tanh"}, ...}``.
        """
        out = {cls.cell: {}}
        for spec in cls.stored_options().values():
            for value in spec.choices or ():
                out[f"{cls.cell}-{value}"] = {spec.name: value}
        return out

    @classmethod
    def kind_for(cls, **options):
        """The label of a configuration: ``"RNN-tanh"``, ``"LSTM"``, ``"GRU-reset_after"``.

        A choice option shows when it differs from its default, or always when the option
        says ``labelled`` (the RNN's activation).
        """
        options = cls.checked_options(options)
        parts = [cls.title]
        for name, spec in cls.stored_options().items():
            if spec.is_choice and (spec.name in cls.labelled_options
                                   or options[name] != spec.default):
                parts.append(str(options[name]))
        return "-".join(parts)

    #: Choice options shown in the label even at their default.
    labelled_options = ()

    @classmethod
    def kind_words_for(cls, **options):
        """A configuration in words for messages: ``"LSTM cell"``, ``"tanh RNN"``."""
        return f"{cls.kind_for(**options)} cell"

    @classmethod
    def state_size_for(cls, hidden, **options):
        """The state size m for hidden size n."""
        return cls.state_multiplier * hidden

    @classmethod
    def output_size_for(cls, hidden, **options):
        """The size of h, the cell's output and what its recurrent matrices read (n)."""
        return hidden

    @classmethod
    def extra_names_for(cls, **options):
        """Weights beyond the per-gate triple (GRU ``reset_after``: ``b_hn``)."""
        return ()

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

    @classmethod
    def weight_names_for(cls, **options):
        """All weight names of a configuration, in file and kernel order."""
        names = []
        for g in cls.gates:
            names += [cls.recurrent_name(g), cls.input_name(g), cls.bias_name(g)]
        return tuple(names) + tuple(cls.extra_names_for(**cls.checked_options(options)))

    @classmethod
    def weight_shapes(cls, hidden, inputs, **options):
        """``{name: shape}`` of every weight for hidden size n and input width d."""
        recurrent = {cls.recurrent_name(g) for g in cls.gates}
        inputs_ = {cls.input_name(g) for g in cls.gates}
        return {name: (hidden, hidden) if name in recurrent else
                (hidden, inputs) if name in inputs_ else (hidden,)
                for name in cls.weight_names_for(**options)}

    @classmethod
    def parameter_count_for(cls, hidden, inputs, **options):
        """Trainable scalars of a configuration: a function of n and d, never of T."""
        return int(sum(math.prod(s) for s in cls.weight_shapes(hidden, inputs,
                                                               **options).values()))

    @classmethod
    def parameter_formula_for(cls, **options):
        """The parameter count as a formula in n and d (``"3n(n + d + 1) + n"``)."""
        gates = len(cls.gates)
        extra = len(cls.extra_names_for(**cls.checked_options(options)))
        formula = f"{gates if gates > 1 else ''}n(n + d + 1)"
        if extra:
            formula += f" + {extra if extra > 1 else ''}n"
        return formula

    @classmethod
    def sums_torch_biases(cls, gate, **options):
        """Whether gate ``gate``'s bias is PyTorch's ``bias_ih + bias_hh``.

        True but for GRU's ``reset_after`` candidate, whose hidden bias is ``b_hn``.
        """
        return True

    @classmethod
    def adjusted_initial_weights(cls, weights, **init_options):
        """Apply the init options (LSTM ``forget_bias``) to freshly drawn weights."""
        return weights

    @classmethod
    def from_torch_blocks(cls, W_hh, W_ih, b_ih, b_hh):
        """Seed-named weights and options from PyTorch's stacked gate blocks of one layer.

        Parameters
        ----------
        W_hh : ndarray, shape (G n, n)
        W_ih : ndarray, shape (G n, d)
        b_ih, b_hh : ndarray, shape (G n,)
            The two biases; each seed bias is their sum, unless the cell keeps one apart.

        Returns
        -------
        weights : dict of str to ndarray
        options : dict
            The stored options the blocks imply (GRU: ``variant="reset_after"``).
        """
        n = b_ih.shape[0] // len(cls.torch_gate_rows)

        def rows(a, block):
            return a[block * n:(block + 1) * n]

        weights = {}
        for gate, block in cls.torch_gate_rows.items():
            weights[cls.recurrent_name(gate)] = rows(W_hh, block)
            weights[cls.input_name(gate)] = rows(W_ih, block)
            weights[cls.bias_name(gate)] = rows(b_ih, block) + rows(b_hh, block)
        return weights, {}
