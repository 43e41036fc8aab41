"""Options shared by several commands, and the helpers that read them."""

import json
import sys

import click

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print exactly one JSON document on stdout."
)


def trajectory_options(function):
    """Add --inputs / --steps / --input-seed / --h0 to a command."""
    options = [
        click.option(
            "--inputs", "inputs_path", type=click.Path(),
            help="Input sequence .npy of shape (T, d), or a batch (B, T, d).",
        ),
        click.option(
            "--steps", type=click.IntRange(min=1), default=None,
            help="Without --inputs: draw T standard-normal inputs (default 200).",
        ),
        click.option(
            "--input-seed", type=click.IntRange(min=0), default=0, show_default=True,
            help="Seed of the drawn inputs.",
        ),
        click.option(
            "--h0", "h0_path", type=click.Path(),
            help="Initial state .npy of shape (m,): h, or concat(h, c) for LSTM (default zeros).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def layout_options(*, lengths=False):
    """Add ``--time-major/--batch-first`` (and, with ``lengths``, ``--lengths``) to a command.

    The command receives ``time_major`` (True, False, or None when neither flag is given)
    and ``lengths_path``.
    """
    options = [
        click.option(
            "--time-major/--batch-first", "time_major", default=None,
            help="Layout of 3-d --inputs: (T, B, d) or (B, T, d).  Without either flag "
                 "(B, T, d) is read, and a shape that fits both readings is an error.",
        ),
    ]
    if lengths:
        options.append(click.option(
            "--lengths", "lengths_path", type=click.Path(),
            help="Valid lengths .npy (B,) of a padded batch: each sequence is analysed over "
                 "its own steps 0..L_b-1 (the reverse direction starts at its last one).",
        ))

    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


DEFAULT_STEPS = 200


def read_trajectory(model, inputs_path, steps, input_seed, h0_path, *, time_major=False):
    """Resolve the trajectory options into ``(xs, s0, description)``; xs batch first.

    ``time_major`` as :func:`layout_options` passes it (None: not said, so a 3-d shape that
    fits both layouts is an error); commands without those flags read (B, T, d).
    """
    return read_sequences(model, inputs_path, steps, input_seed, h0_path,
                          time_major=time_major)[:3]


def read_sequences(model, inputs_path, steps, input_seed, h0_path, *, time_major=None,
                   lengths_path=None):
    """Resolve the trajectory and layout options into ``(xs, s0, description, lengths)``.

    ``xs`` is batch first; ``lengths`` the checked valid lengths (B,) of a padded batch, or
    None without ``lengths_path``.
    """
    import numpy as np

    from ..io.arrays import as_lengths, load_inputs, load_npy, load_state

    if inputs_path is not None and steps is not None:
        raise click.UsageError("give either --inputs or --steps, not both")
    if lengths_path is not None and inputs_path is None:
        raise click.UsageError("--lengths needs --inputs (the padded batch they describe)")
    if time_major and inputs_path is None:
        raise click.UsageError("--time-major needs --inputs")
    raw_lengths = None if lengths_path is None else load_npy(lengths_path, "lengths")
    if inputs_path is not None:
        xs = load_inputs(inputs_path, model.inputs, time_major=time_major,
                         lengths=raw_lengths)
        source = {"inputs": inputs_path}
        if time_major:
            source["time_major"] = True
    else:
        from ..resources import require_memory

        steps = DEFAULT_STEPS if steps is None else steps
        require_memory(8 * steps * model.inputs, f"--steps {steps} (the drawn inputs)")
        xs = np.random.default_rng(input_seed).standard_normal((steps, model.inputs))
        source = {"inputs": "standard normal", "input_seed": input_seed}
    s0 = None
    if h0_path is not None:
        batch = xs.shape[0] if xs.ndim == 3 else None
        s0 = load_state(h0_path, model.state_size, batch=batch)
        source["h0"] = h0_path
    if lengths_path is None:
        return xs, s0, source, None
    lengths = as_lengths(raw_lengths, xs.shape[0] if xs.ndim == 3 else None, xs.shape[-2],
                         what=f"{lengths_path}: lengths")
    source["lengths_file"] = lengths_path
    return xs, s0, source, lengths


def emit_json(document):
    """Print one JSON document; non-finite floats must already be None."""
    click.echo(json.dumps(document, allow_nan=False))


def note(message):
    """A message for the person at the terminal (stderr)."""
    click.echo(printable(message), err=True)


def printable(text):
    """``text`` with the bytes of a file name that are not UTF-8 shown as ``\\xe9`` escapes."""
    from ..io.files import printable

    return printable(str(text))


def is_terminal():
    """Whether stderr is a terminal."""
    return sys.stderr.isatty()


# ---------------------------------------------------------------- cells, from the registry
# The registry imports the kernels (Numba), so the cell choices and the cell-option flags are
# read from it the first time Click needs a command's parameters (parsing it, its --help),
# never when the CLI starts: ``gradflow --help`` stays instant.


class CellChoice(click.Choice):
    """The registered cells (:data:`gradflow.cells.CELLS`), read when first needed."""

    def __init__(self, case_sensitive=True):
        self.case_sensitive = case_sensitive

    @property
    def choices(self):
        """The cell names, in registry order."""
        from ..cells import CELLS

        return tuple(CELLS)


def cell_flag(name):
    """The CLI flag of a cell option: ``forget_bias`` -> ``--forget-bias``."""
    return "--" + name.replace("_", "-")


def _cell_option_specs():
    """Every cell option spec of the registry, grouped by name, in registry order."""
    from ..cells import CELLS

    specs = {}
    for cls in CELLS.values():
        for spec in cls.option_specs:
            specs.setdefault(spec.name, []).append(spec)
    return tuple((name, tuple(same)) for name, same in specs.items())


def _cell_option(name, specs):
    """The Click option of one cell option name: its choices (all cells'), else a float."""
    first = specs[0]
    if first.is_choice:
        kind = click.Choice(tuple(dict.fromkeys(v for spec in specs for v in spec.choices)))
    else:
        kind = int if first.integer else float
    return click.Option([cell_flag(name), name], type=kind, default=None, help=first.help)


class CellCommand(click.Command):
    """A command taking a cell, with the flags of every cell option from the registry.

    The options come from the cells' ``option_specs`` (``--activation``, ``--variant``,
    ``--forget-bias``, ...), each with its choices (a float otherwise), no default and its
    help line; they follow the parameter named ``options_after`` and reach the command as
    keyword arguments named like the options (None when not given).  They are rebuilt when
    the registry's options change (a cell registered at run time).
    """

    def __init__(self, *args, options_after, **kwargs):
        super().__init__(*args, **kwargs)
        self.options_after = options_after
        self._specs = None
        self._cell_options = []

    def get_params(self, ctx):
        """The parameters, with the cell options of the registry as it is now."""
        specs = _cell_option_specs()
        if specs != self._specs:
            params = [p for p in self.params if p not in self._cell_options]
            at = 1 + next(i for i, p in enumerate(params) if p.name == self.options_after)
            self._cell_options = [_cell_option(name, same) for name, same in specs]
            self.params = params[:at] + self._cell_options + params[at:]
            self._specs = specs
        return super().get_params(ctx)


def cell_command(*, options_after, **attrs):
    """``click.command`` for a command taking a cell (see :class:`CellCommand`)."""
    return click.command(cls=CellCommand, options_after=options_after, **attrs)


def given_cell_options(cell, values):
    """The cell options given on the command line, checked against the cell.

    Parameters
    ----------
    cell : str
        The registered cell chosen.
    values : dict
        Option name -> value (None: not given), as :class:`CellCommand` passes them.

    Returns
    -------
    dict
        The given options only.

    Raises
    ------
    GradflowError
        ``"--activation applies to rnn only, not to lstm"`` for another cell's option.
    """
    from ..cells import CELLS
    from ..errors import GradflowError

    own = CELLS[cell].option_specs_by_name()
    for name, value in values.items():
        if value is not None and name not in own:
            owners = [c.cell for c in CELLS.values() if name in c.option_specs_by_name()]
            raise GradflowError(f"{cell_flag(name)} applies to {' and '.join(owners)} only, "
                                f"not to {cell}")
    return {name: value for name, value in values.items() if value is not None}
