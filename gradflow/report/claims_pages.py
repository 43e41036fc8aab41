"""The default report's opening: every claim of the seed notes, its verdict and key figure.

The pages that show the evidence of each claim follow (:mod:`.claims_figures`).  Everything
drawn here was measured by :func:`gradflow.claims.claims`; nothing is computed.
"""

import textwrap

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from ..claims import english
from . import claims_figures
from .style import PAGE

#: Colour of each verdict's badge.
VERDICT_COLORS = {
    "holds": "#2ca02c",
    "holds-with-conditions": "#e6a100",
    "does-not-hold": "#d62728",
    "not-measured": "#7f7f7f",
}
#: Left edge and width (figure fractions) of each column.
COLUMNS = {"claim": (0.03, 0.16), "statement": (0.20, 0.32), "verdict": (0.53, 0.11),
           "figure": (0.655, 0.32)}
#: Vertical room of the table (figure fractions): from TOP down to BOTTOM.
TOP, BOTTOM = 0.868, 0.03
#: Largest and smallest font of the table; the largest that fits is taken.
FONTS = (9.0, 6.5)
LINESPACING = 1.25


def _line_height(font):
    """Height of one text line in figure fractions at ``font`` points."""
    return font * LINESPACING * 0.98 / (PAGE[1] * 72)


def _wrap_width(column, font):
    """Characters that fit in a column at ``font`` points (average glyph ~0.53 em, bold 0.6)."""
    em = 0.6 if column == "claim" else 0.53
    return max(10, int(COLUMNS[column][1] * PAGE[0] * 72 / (em * font)))


#: Where each claim's evidence is drawn, by page title.
EVIDENCE = {
    "rnn_long_term_dependency": "p. 3",
    "sigmoid_derivative_max": "p. 2", "tanh_derivative_max": "p. 2",
    "derivatives_mostly_below_one": "p. 2", "vanishing_small_w": "p. 2",
    "exploding_large_w": "p. 2", "relu_alleviates_vanishing": "p. 3",
    "relu_dead_units": "p. 3", "relu_explodes_large_w": "p. 3",
    "clipping_bounds_the_step": "p. 4", "gated_cells_additive_path": "p. 5",
    "parameters_independent_of_length": "p. 6", "gru_fewer_parameters": "p. 6",
    "gru_converges_faster": "p. 6", "lstm_more_expressive_on_large_data": "-",
}


def _title(claim_id):
    return claim_id.replace("_", " ").replace(" w", " W")


def _badge(fig, x, y, verdict, font):
    height = _line_height(font) * 1.15
    fig.patches.append(FancyBboxPatch((x, y - height), COLUMNS["verdict"][1] - 0.01, height,
                                      boxstyle="round,pad=0.002,rounding_size=0.004",
                                      transform=fig.transFigure, facecolor=VERDICT_COLORS[
                                          verdict], edgecolor="none", alpha=0.9))
    fig.text(x + (COLUMNS["verdict"][1] - 0.01) / 2, y - height / 2, verdict, ha="center",
             va="center", fontsize=min(font * 0.92, 6.6), color="white", weight="bold")


def _cells(claim, font):
    texts = {"claim": f"{_title(claim.id)} ({EVIDENCE.get(claim.id, '-')})",
             "statement": english(claim.id), "figure": claim.reason}
    return {name: textwrap.wrap(text, _wrap_width(name, font)) for name, text in texts.items()}


def _fitting_font(claims):
    """The largest font at which every row fits between TOP and BOTTOM."""
    font = FONTS[0]
    while font > FONTS[1]:
        lines = sum(max(len(v) for v in _cells(c, font).values()) for c in claims)
        gaps = 0.5 * len(claims)
        if (lines + gaps) * _line_height(font) <= TOP - BOTTOM:
            break
        font -= 0.25
    return font


def claims_page(result):
    """One page: for every claim the notes' statement, the verdict and the key figure.

    Parameters
    ----------
    result : ClaimsResult
        From :func:`gradflow.claims.claims`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=PAGE)
    fig.text(0.03, 0.955, "The seed notes' claims, measured", fontsize=16, weight="bold")
    counts = {}
    for c in result.claims:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    fig.text(0.03, 0.925, "Measured by gradflow on seeded models; gradflow claims --json gives "
             "every figure and the configuration behind it.  Verdicts: "
             + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".",
             fontsize=9, color="0.25")
    font = _fitting_font(result.claims)
    line = _line_height(font)
    y = 0.89
    headers = {"claim": "claim (evidence page)", "statement": "what the notes say",
               "verdict": "verdict", "figure": "what was measured"}
    for name, (x, _) in COLUMNS.items():
        fig.text(x, y, headers[name], fontsize=9.5, weight="bold")
    fig.add_artist(_rule(y - 0.01))
    y = TOP
    for i, claim in enumerate(result.claims):
        cells = _cells(claim, font)
        rows = max(len(v) for v in cells.values())
        for name, lines in cells.items():
            fig.text(COLUMNS[name][0], y, "\n".join(lines), fontsize=font, va="top",
                     linespacing=LINESPACING, weight="bold" if name == "claim" else "normal")
        _badge(fig, COLUMNS["verdict"][0], y, claim.verdict, font)
        y -= (rows + 0.5) * line
        if i < len(result.claims) - 1:
            fig.add_artist(_rule(y + 0.25 * line, color="0.85"))
    return fig


def _rule(y, color="0.3"):
    return Line2D([0.03, 0.97], [y, y], color=color, lw=0.6)


def pdf_pages(result):
    """The claims page, then the pages that show the evidence, in order."""
    yield claims_page(result)
    yield from claims_figures.pages(result.evidence)
