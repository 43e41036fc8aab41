"""One look for every report: a colour per cell kind, fonts, sizes."""

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


def kind_of(model):
    """The colour key of a model: ``"RNN-tanh"``, ``"LSTM"``, ``"GRU-reset_after"``."""
    if model.cell == "rnn":
        return f"RNN-{model.activation}"
    if model.cell == "gru" and model.variant == "reset_after":
        return "GRU-reset_after"
    return model.cell.upper()


def assign_colors(models):
    """One colour per model: its kind's colour, or a fresh one when the kind repeats."""
    used = set()
    extra = iter(EXTRA_COLORS * 10)
    colors = []
    for model in models:
        color = CELL_COLORS[kind_of(model)]
        if color in used:
            color = next(extra)
        used.add(color)
        colors.append(color)
    return colors
