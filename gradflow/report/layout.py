"""Page layout shared by the report's pages: panel grids, which reports are cells."""

import math

from matplotlib.figure import Figure

from .style import PAGE
from .table import wrap


def grid(count):
    """Rows and columns for ``count`` panels: one row up to 3, then 2 x 2, then 3 wide."""
    cols = count if count <= 3 else (2 if count == 4 else 3)
    return math.ceil(count / cols), cols


def panels(reports, draw, title, *, sharey=False):
    """A page with one panel per report, drawn by ``draw(report, ax)``; returns (fig, axes)."""
    fig = Figure(figsize=PAGE, layout="constrained")
    rows, cols = grid(len(reports))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    for ax, r in zip(axes.flat, reports, strict=False):
        draw(r, ax)
        ax.set_title(wrap(r.label, 48), color=r.color, fontsize=10)
    for ax in axes.flat[len(reports):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13, weight="bold")
    return fig, axes


def cells(reports):
    """The reports of single cells (a network's own report has its decay only)."""
    return [r for r in reports if r.is_cell]
