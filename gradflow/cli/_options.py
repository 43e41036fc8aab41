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
            help="Input sequence .npy of shape (T, d).",
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


DEFAULT_STEPS = 200


def read_trajectory(model, inputs_path, steps, input_seed, h0_path):
    """Resolve the trajectory options into ``(xs, s0, description)``."""
    import numpy as np

    from ..io.arrays import load_inputs, load_state

    if inputs_path is not None and steps is not None:
        raise click.UsageError("give either --inputs or --steps, not both")
    if inputs_path is not None:
        xs = load_inputs(inputs_path, model.inputs)
        source = {"inputs": inputs_path}
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
    return xs, s0, source


def emit_json(document):
    """Print one JSON document; non-finite floats must already be None."""
    click.echo(json.dumps(document, allow_nan=False))


def note(message):
    """A message for the person at the terminal (stderr)."""
    click.echo(message, err=True)


def is_terminal():
    """Whether stderr is a terminal."""
    return sys.stderr.isatty()
