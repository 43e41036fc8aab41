"""One look for every report: a colour per cell kind, fonts, sizes."""

import itertools

from matplotlib.figure import Figure

#: Colour of each cell kind, the same on every page and in the gallery.
CELL_COLORS = {
    "RNN-tanh": "#d62728",
    "RNN-sigmoid": "#ff7f0e",
    "RNN-relu": "#9467bd",
    "LSTM": "#1f77b4",
    "GRU": "#2ca02c",
    "GRU-reset_after": "#17becf",
}
#: Further colours for comparisons with several models of one kind.
EXTRA_COLORS = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#843c39"]

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

#: Size of the figure a plot function draws on when it is given no Axes (inches).
FIGURE = (7, 4.5)


def axes_or_new(ax):
    """``ax`` itself, or the Axes of a new figure of size :data:`FIGURE` (no pyplot state)."""
    if ax is not None:
        return ax
    return Figure(figsize=FIGURE).add_subplot()


def assign_colors(models):
    """One colour per model: its kind's, or a fresh one when the kind repeats or has none.

    The kind is the registry's label of the model's configuration (``model.kind``), so a cell
    added to the registry without a colour here still gets one of :data:`EXTRA_COLORS`.
    """
    used = set()
    extra = itertools.cycle(EXTRA_COLORS)
    colors = []
    for model in models:
        color = CELL_COLORS.get(model.kind)
        if color is None or color in used:
            color = next(extra)
        used.add(color)
        colors.append(color)
    return colors
