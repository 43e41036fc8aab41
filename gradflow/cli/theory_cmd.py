"""``gradflow theory``: the mean-field prediction for a large random RNN."""

import click

from ._options import emit_json, json_option


def _shown(value, digits=8):
    return "-" if value is None else f"{value:.{digits}g}"


def _human(result):
    trivial = " (the trivial fixed point)" if result.trivial else ""
    diverges = "" if result.bounded else " (diverges)"
    no_decay = " (none: chi >= 1, no decay)" if result.timescale is None else ""
    rows = [
        ("q*", _shown(result.q), f"variance of the pre-activations W_h h + u{trivial}{diverges}"),
        ("chi", _shown(result.chi), "g^2 E[f'(sqrt(q*) z)^2], squared-norm factor per step"),
        ("lambda_1", f"{result.lambda_1:+.8g}", "ln(chi) / 2, natural log per step"),
        ("critical gain", _shown(result.critical_gain), "the g where chi = 1 at this s2"),
        ("timescale", _shown(result.timescale), f"-1 / ln(chi) steps{no_decay}"),
    ]
    lines = [f"mean field of a random {result.activation} RNN, W_h ~ N(0, g^2/N): "
             f"g = {result.gain:g}, input variance s2 = {result.input_variance:g}", ""]
    lines += [f"  {name:<13}  {value:>15}  {meaning}" for name, value, meaning in rows]
    lines += ["", f"{result.phase}: {result.reading}"]
    return "\n".join(lines)


@click.command(short_help="Mean-field q*, chi, lambda_1 and critical gain of a random RNN.")
@click.option("--gain", type=float, required=True, help="g: W_h ~ N(0, g^2/N).")
@click.option("--input-variance", type=float, default=0.0, show_default=True,
              help="s2: variance that the input and the bias add to each pre-activation.")
@click.option("--activation", default="tanh", show_default=True,
              help="The nonlinearity f (an RNN activation).")
@json_option
def theory(gain, input_variance, activation, as_json):
    """Large-N mean-field theory of h <- f(W_h h + u), W_h ~ N(0, g^2/N), Var(u) = s2.

    q* is the fixed point of q = g^2 E[f(sqrt(q) z)^2] + s2, chi = g^2 E[f'(sqrt(q*) z)^2]
    the per-step growth of a perturbation's squared norm, lambda_1 = ln(chi)/2 the predicted
    largest Lyapunov exponent, the critical gain the g where chi = 1 (the edge of chaos), and
    the timescale -1/ln(chi) steps (null for chi >= 1).  Sompolinsky, Crisanti & Sommers
    (1988); Poole et al. (2016); Schoenholz et al. (2017).
    """
    from ..analysis.meanfield import mean_field

    result = mean_field(gain, input_variance=input_variance, activation=activation)
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(_human(result))
