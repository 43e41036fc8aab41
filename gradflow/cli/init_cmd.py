"""``gradflow init``: write a weights file with seeded random weights."""

import click

from ._options import emit_json, json_option, note

INITS = ("gaussian", "orthogonal", "xavier", "pytorch", "identity")


@click.command(short_help="Write a weights file with seeded random weights.")
@click.argument("cell", metavar="CELL",
                type=click.Choice(["rnn", "lstm", "gru"], case_sensitive=False))
@click.option("--hidden", "-n", type=click.IntRange(min=1), required=True, help="Hidden size n.")
@click.option("--inputs", "-d", type=click.IntRange(min=1), required=True, help="Input width d.")
@click.option(
    "--activation", type=click.Choice(["tanh", "sigmoid", "relu"]), default=None,
    help="RNN nonlinearity (default tanh).",
)
@click.option(
    "--variant", type=click.Choice(["seed", "reset_after"]), default=None,
    help="GRU reset placement: seed (before W_hh, default) or reset_after (PyTorch).",
)
@click.option(
    "--init", "scheme", type=click.Choice(INITS), default="gaussian", show_default=True,
    help="Initialiser; gain scales the recurrent matrices W_*h.",
)
@click.option("--gain", type=float, default=1.0, show_default=True, help="Recurrent gain.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="RNG seed.")
@click.option(
    "--forget-bias", type=float, default=None,
    help="LSTM only: added to b_f (1.0 is the usual choice).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The .npz to write.")
@json_option
def init(cell, hidden, inputs, activation, variant, scheme, gain, seed, forget_bias, output,
         as_json):
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
    from ..errors import GradflowError

    cell = cell.lower()
    options = {}
    if activation is not None:
        if cell != "rnn":
            raise GradflowError(f"--activation applies to rnn only, not to {cell}")
        options["activation"] = activation
    if variant is not None:
        if cell != "gru":
            raise GradflowError(f"--variant applies to gru only, not to {cell}")
        options["variant"] = variant
    if forget_bias is not None:
        if cell != "lstm":
            raise GradflowError(f"--forget-bias applies to lstm only, not to {cell}")
        options["forget_bias"] = forget_bias
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
