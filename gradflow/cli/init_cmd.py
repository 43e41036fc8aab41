"""``gradflow init``: write a weights file with seeded random weights."""

import click

from ._options import CellChoice, cell_command, emit_json, given_cell_options, json_option, note

INITS = ("gaussian", "orthogonal", "xavier", "pytorch", "identity")


@cell_command(options_after="inputs", short_help="Write a weights file with seeded random weights.")
@click.argument("cell", metavar="CELL", type=CellChoice(case_sensitive=False))
@click.option("--hidden", "-n", type=click.IntRange(min=1), required=True, help="Hidden size n.")
@click.option("--inputs", "-d", type=click.IntRange(min=1), required=True, help="Input width d.")
@click.option(
    "--init", "scheme", type=click.Choice(INITS), default="gaussian", show_default=True,
    help="Initialiser; gain scales the recurrent matrices W_*h.",
)
@click.option("--gain", type=float, default=1.0, show_default=True, help="Recurrent gain.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="RNG seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The .npz to write.")
@json_option
def init(cell, hidden, inputs, scheme, gain, seed, output, as_json, **cell_options):
    """Write a CELL (rnn, lstm or gru) weights file in the seed's notation.

    \b
    Initialisers: gaussian  W_*h ~ N(0, gain^2/n)
                  orthogonal  gain * Haar-orthogonal
                  xavier   U(+-gain*sqrt(6/(fan_in+fan_out)))
                  pytorch  U(+-1/sqrt(n)) as torch.nn does (gain scales W_*h)
                  identity  W_*h = gain * I (IRNN)
    Input matrices use the same scheme at gain 1; biases are zero except for pytorch.
    """
    from ..cells import CELLS

    options = given_cell_options(cell, cell_options)
    model = CELLS[cell].init(hidden, inputs, init=scheme, gain=gain, seed=seed, **options)
    model.save(output)
    if as_json:
        emit_json({
            "path": output, "cell": cell, "model": model.describe(), "hidden": model.hidden,
            "inputs": model.inputs, "state_size": model.state_size,
            "parameters": model.parameter_count, "init": scheme, "gain": gain, "seed": seed,
            **model.options(),
        })
    else:
        note(f"wrote {output}: {model.describe()}, {model.parameter_count:,} parameters "
             f"({scheme} init, gain {gain:g}, seed {seed})")
