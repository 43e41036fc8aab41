"""``gradflow compare``: RNN-tanh, RNN-relu, LSTM and GRU built alike, on the same inputs."""

import click

from ._options import emit_json, json_option

INITS = ("gaussian", "orthogonal", "xavier", "pytorch", "identity")


def _human(result):
    s = result.settings
    lines = [f"RNN-tanh, RNN-relu, LSTM, GRU: n = {s['hidden']}, d = {s['inputs']}, "
             f"{s['init']} init, gain {s['gain']:g}, seed {s['seed']}, LSTM forget bias "
             f"{s['forget_bias']:g}; the same {s['steps']} standard-normal inputs "
             f"(seed {s['input_seed']})", ""]
    lines.append(f"{'cell':<9}  {'parameters':>10}  {'formula':<34}  {'horizon':>7}  "
                 f"{'factor/step':>11}  {'lambda_1':>9}  {'exp(l_1)':>8}  verdict")

    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    for label, c in result.cells.items():
        r = c.decay
        formula = c.parameter_formula.rsplit(" = ", 1)[0]
        lines.append(f"{label:<9}  {c.parameters:>10,}  {formula:<34}  "
                     f"{fmt(r.gradient_horizon, 'd'):>7}  {fmt(r.decay_factor, '.4g'):>11}  "
                     f"{fmt(r.lambda_1, '+.4g'):>9}  {fmt(r.exp_lambda_1, '.4g'):>8}  "
                     f"{r.verdict}")
    lstm = result.cells["lstm"].decay
    lines += ["", "LSTM paths:"]
    for name, path in (("cell path dc_T/dc_(T-k)", lstm.cell_path),
                       ("hidden path dh_T/dh_(T-k)", lstm.hidden_path)):
        lines.append(f"  {name:<26}  horizon {fmt(path.gradient_horizon, 'd'):>5}  "
                     f"factor/step {fmt(path.decay_factor, '.4g')}")
    lines += ["", "parameters against sequence length (states stored grow, parameters do not):"]
    header = f"  {'cell':<9}" + "".join(f"  {'T=' + str(T) + ' params':>14}  {'states':>9}"
                                        for T in result.lengths)
    lines.append(header)
    for label, c in result.cells.items():
        row = f"  {label:<9}"
        for T in result.lengths:
            states = c.states_by_length[T]
            row += f"  {c.parameters_by_length[T]:>14,}  {fmt(states, ','):>9}"
        lines.append(row)
    lines += ["", "summary:"] + [f"  {line}" for line in result.summary]
    return "\n".join(lines)


@click.command(short_help="RNN (tanh, relu), LSTM and GRU side by side on the same inputs.")
@click.option("--hidden", "-n", type=click.IntRange(min=1), default=32, show_default=True,
              help="Hidden size n of every cell.")
@click.option("--inputs", "-d", type=click.IntRange(min=1), default=4, show_default=True,
              help="Input width d.")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Length T of the common input sequence.")
@click.option("--init", "scheme", type=click.Choice(INITS), default="gaussian",
              show_default=True, help="Initialiser of every cell.")
@click.option("--gain", type=float, default=0.8, show_default=True, help="Recurrent gain.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the weights.")
@click.option("--input-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the inputs.")
@click.option("--forget-bias", type=float, default=1.0, show_default=True,
              help="Added to the LSTM's b_f.")
@click.option("--threshold", type=float, default=1e-3, show_default=True,
              help="Vanishing threshold of the gradient horizons.")
@click.option("--lengths", default="10,100,1000", show_default=True,
              help="Comma-separated sequence lengths for the parameter-count table.")
@json_option
def compare(hidden, inputs, steps, scheme, gain, seed, input_seed, forget_bias, threshold,
            lengths, as_json):
    """Compare RNN-tanh, RNN-relu, LSTM and GRU built at the same size and init.

    All four run on the same standard-normal inputs.  Shown for each: parameter count and its
    formula (and that it does not change with the sequence length), gradient horizon, fitted
    per-step decay factor, lambda_1, verdict; for LSTM the cell path dc_T/dc_(T-k) against the
    hidden path dh_T/dh_(T-k).
    """
    from ..analysis.compare import compare as compute
    from ..errors import GradflowError

    try:
        parsed = tuple(int(part) for part in lengths.split(",") if part.strip())
    except ValueError:
        raise GradflowError(
            f"--lengths must be comma-separated positive integers; got {lengths!r}"
        ) from None
    result = compute(hidden, inputs, steps, init=scheme, gain=gain, seed=seed,
                     input_seed=input_seed, forget_bias=forget_bias, threshold=threshold,
                     lengths=parsed)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(_human(result))
