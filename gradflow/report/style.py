"""One look for every report: fonts, sizes, and a colour per model (from :mod:`gradflow.plot`)."""

from ..plot import CELL_COLORS, EXTRA_COLORS, distinct_colors

__all__ = ["CELL_COLORS", "EXTRA_COLORS", "PAGE", "RC", "assign_colors"]

RC = {
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.labelsize": 9.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "pdf.fonttype": 42,
    "path.simplify": True,
}

#: Page size of the PDF (A4 landscape, inches).
PAGE = (11.69, 8.27)


def assign_colors(models):
    """One colour per model: its kind's, or a fresh one when the kind repeats or has none.

    The kind is the registry's label of the model's configuration (``model.kind``), so a cell
    added to the registry without a colour still gets one of :data:`EXTRA_COLORS`; two models
    of one kind never share a colour.
    """
    return distinct_colors([model.kind for model in models])
