"""``gradflow sweep-report``: the phase diagram of a sweep's results."""

import json

import click

from ._options import emit_json, json_option, note


def _table(diagram):
    lines = [f"{'cell':<16} {'curve':<28} {'gains':>16} {'lambda_1 = 0 at':>16} "
             f"{'decay factor 1 at':>18}"]
    for c in diagram.curves:
        gains = f"{c.gains.min():g}..{c.gains.max():g} ({c.gains.size})"
        cross = "-" if c.crossing_gain is None else f"{c.crossing_gain:.4g}"
        decay = "-" if c.decay_crossing_gain is None else f"{c.decay_crossing_gain:.4g}"
        lines.append(f"{c.kind:<16} {c.label:<28} {gains:>16} {cross:>16} {decay:>18}")
    return "\n".join(lines)


@click.command("sweep-report", short_help="Phase diagram of sweep results (PDF or PNG).")
@click.argument("results", metavar="RESULTS.csv|RESULTS.parquet", type=click.Path())
@click.option("-o", "--output", type=click.Path(), required=True,
              help="OUT.png (the figure) or OUT.pdf (the figure and a table).")
@click.option("--quiet", "-q", is_flag=True, help="No message on stderr.")
@json_option
def sweep_report(results, output, quiet, as_json):
    """Draw the phase diagram of RESULTS, a `gradflow sweep` output.

    \b
    Four panels per cell kind, one curve per size (lighter = smaller n), the seeds at each
    gain as median and range: lambda_1 against gain with Pascanu's bound ln(gamma
    sigma_max) and the zero line; the fitted gradient decay rate (log10 per step) with
    log10 of the bound; lambda_1 zoomed on the gains where it crosses 0; the fraction of
    seeds with lambda_1 > 0.  For the tanh RNN the order/chaos transition sits near gain 1
    and sharpens as n grows.  Gaussian-initialised tanh RNN sweeps also get the mean-field
    prediction (gradflow theory: lambda_1 = ln(chi)/2, and lambda_1/ln 10 for the decay
    rate, dotted) and the predicted critical gain (dash-dotted).  Prints, per curve, the
    gains where the median lambda_1 and the decay rate cross 0.
    """
    from ..errors import GradflowError
    from ..io.atomic import refuse_overwriting_inputs
    from ..report.build import output_format
    from ..report.phase_data import phase_diagram
    from ..report.phase_pages import write_phase_report
    from ..report.phase_theory import theory_curves
    from ..sweep.store import read_results

    output_format(output)
    refuse_overwriting_inputs(output, [results])
    rows = read_results(results)
    diagram = phase_diagram(rows, source=results)
    theory = theory_curves(rows)
    document = None
    if as_json:  # the document is made and checked before the report is written
        document = {**diagram.to_dict(), "theory": [t.to_dict() for t in theory.values()]}
        try:
            json.dumps(document, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise GradflowError(f"{results}: the phase diagram cannot be written as JSON "
                                f"({exc}); nothing was written") from None
    pages = write_phase_report(diagram, output, theory=theory)
    if as_json:
        emit_json({**document, "output": output, "pages": pages})
    else:
        click.echo(_table(diagram))
    if not quiet:
        note(f"wrote {output}: {pages} page{'s' if pages != 1 else ''}, "
             f"{len(diagram.curves)} curves from {diagram.points} points")
