"""``gradflow claims``: every claim of the seed notes, measured, with its verdict."""

import textwrap

import click

from ._options import emit_json, json_option, note

#: Width of the statement and reason columns of the text table.
WRAP = 96


def _table(result):
    lines = []
    for claim in result.claims:
        lines.append(f"{claim.id}  [{claim.verdict}]")
        lines += textwrap.wrap(claim.statement, WRAP, initial_indent="    ",
                               subsequent_indent="    ")
        lines += textwrap.wrap("measured: " + claim.reason, WRAP, initial_indent="    ",
                               subsequent_indent="      ")
        lines.append("")
    counts = {}
    for claim in result.claims:
        counts[claim.verdict] = counts.get(claim.verdict, 0) + 1
    lines.append(", ".join(f"{v}: {n}" for v, n in counts.items()))
    return "\n".join(lines)


@click.command(short_help="The seed notes' claims, each measured, with a verdict.")
@json_option
@click.option("--quiet", "-q", is_flag=True, help="No progress notes on stderr.")
def claims(as_json, quiet):
    """Measure every claim of the seed notes and give each a verdict.

    \b
    Verdicts: holds, holds-with-conditions, does-not-hold, not-measured; each is read
    from the claim's measured figures by one rule per claim.  Everything is seeded and
    small (a few seconds): the matched models of the default report (n = 32, d = 4,
    orthogonal at gain 1, seed 0, 200 N(0, 1) inputs), a gain axis, a diverging tanh RNN
    and its norm-clipped twin, relu RNNs trained at a large and a small learning rate,
    and GRU against LSTM on the adding problem over five seeds (sign test).

    \b
    --json prints {"claims": [{id, statement, measured, verdict, reason}, ...]}: measured
    holds the figures and the configuration that produced them.
    """
    from ..claims import claims as measure

    result = measure(progress=None if quiet or as_json else (lambda what: note(
        f"claims: {what} measured")))
    if as_json:
        emit_json(result.to_dict())
    else:
        click.echo(_table(result))
