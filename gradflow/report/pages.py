"""The report's main figures: summary, decay, flow maps, spectra; the PNG dashboard.

Every panel is drawn by a :mod:`gradflow.plot` function (the one drawing code path of the
library and the report), each model in its colour on every page.
"""

import textwrap

from matplotlib.figure import Figure

from .. import plot
from . import cell_pages
from .layout import cells, panels
from .style import PAGE
from .table import draw_summary_table, table_lines, wrap


def _parameter_line(r):
    m = r.model
    if not r.is_cell:
        return (f"{r.label}: {m.describe()}, {m.parameter_count:,} parameters, the same for "
                "every sequence length")
    formula = m.parameter_formula_for(**m.options())
    return (f"{r.label}: {formula} = {m.parameter_count:,} parameters (n = {m.hidden}, "
            f"d = {m.inputs}), the same for every sequence length: one set of weights serves "
            "all steps")


def summary_page(reports, context):
    """Title, inputs, the summary table and how to read it."""
    fig = Figure(figsize=PAGE)
    fig.text(0.05, 0.94, "gradflow: gradient flow backwards through time", fontsize=17,
             weight="bold")
    fig.text(0.05, 0.905, "\n".join(textwrap.wrap(context, 170)), fontsize=9, color="0.25",
             va="top")
    lines = sum(table_lines(reports)) + 1.5
    table_height = min(0.03 + 0.027 * lines, 0.62)
    top = 0.86 - 0.018 * context.count("; ") // 6
    ax = fig.add_axes([0.03, top - table_height, 0.94, table_height])
    draw_summary_table(reports, ax=ax)
    notes = [
        "How to read it",
        "• horizon: the first lag k at which what the output sees, ||dy_T/ds_(T-k)||_2, falls "
        f"below the threshold ({reports[0].decay.threshold:g}); 'none' means the gradient "
        f"survives all {reports[0].steps} steps.",
        "• decay / step: 10^slope of log10 norm against lag, fitted after the first quarter "
        "of the lags (< 1 vanishes, > 1 explodes).",
        "• bound (RNN): Pascanu et al. (2013): ||J_t||_2 <= γ·σ_max(W_h) with γ = sup f' "
        "(1/4 sigmoid, 1 tanh and relu); below 1 vanishing is guaranteed, above 1 exploding "
        "is possible, not certain.",
        "• λ₁: the largest Lyapunov exponent of the run (nats per step); exp(λ₁) is the "
        "long-run growth factor of the most expanding direction.",
    ]
    notes += ["• " + _parameter_line(r) for r in reports]
    wrapped = []
    for note in notes:
        wrapped += textwrap.wrap(note, 150, subsequent_indent="   ")
    fig.text(0.05, top - table_height - 0.03, "\n".join(wrapped), fontsize=8.6, va="top",
             linespacing=1.5)
    return fig


def _legend(ax, count):
    ax.legend(loc="lower left", fontsize=7.5, ncol=1 if count < 5 else 2)


def decay_page(reports, context):
    """What the output sees against lag (left) and its sensitivity to the inputs (right)."""
    fig = Figure(figsize=PAGE, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.35, 1])
    for r in reports:
        label = wrap(r.label, 30) + ("" if r.batch is None else f" (median of {r.batch})")
        if getattr(r.decay, "lengths", None) is not None:  # a padded batch
            label += "\nat each lag, of the sequences reaching it"
        plot.plot_decay(r.decay, ax=left, color=r.color, label=label)
        plot.plot_decay(r.decay, ax=right, curve="input", color=r.color, label=wrap(r.label, 30))
    left.set_title("What the output sees k steps back\n(dots: gradient horizon; dashed: "
                   "Pascanu's bound; bands: quantiles of a batch)", fontsize=9.5)
    right.set_title("Sensitivity of the output to the input k steps back", fontsize=9.5)
    _legend(left, len(reports))
    fig.suptitle("How far back does the gradient reach?", fontsize=14, weight="bold")
    fig.supxlabel("\n".join(textwrap.wrap(context, 200)), fontsize=7.5, color="0.35")
    return fig


def flow_map_panel(r, ax):
    """One report's (t, T) heatmap on its own sequential scale, with its own colour bar.

    One shared scale lets the fastest-vanishing cell (hundreds of decades) wash out the
    others; each panel's own range keeps every cell's structure visible.  The flow map page,
    the PNG dashboard and the gallery all draw their maps with this.
    """
    plot.plot_flow_map(r.flow, ax=ax, colorbar=False)
    # a bar as tall as the panel, also where the panels are narrow (the dashboard's row of five)
    plot.flow_map_colorbar(ax.figure, ax, fraction=0.046, pad=0.02, aspect=30)


def flow_map_page(reports):
    """The (t, T) heatmaps of every cell, each on its own sequential scale and colour bar."""
    shown = cells(reports)
    fig, _ = panels(shown, flow_map_panel,
                    r"Gradient flow map: $\log_{10}\|\partial s_T/\partial s_t\|_2$ over start"
                    " time t and end time T (each panel its own scale; pink: exactly 0)")
    return fig


def _spectra(r, ax):
    plot.plot_product_singular_values(r.products, ax=ax, color=r.color, label=wrap(r.label, 24))
    inset = ax.inset_axes([0.07, 0.07, 0.36, 0.33])
    plot.plot_singular_values(r.spectrum, ax=inset, color=r.color)
    inset.set_title("singular values of W_*h", fontsize=7)
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.tick_params(labelsize=6)
    for text in inset.texts:
        text.set_fontsize(6)
    ax.label_outer()


def spectrum_page(reports):
    """Singular values of the backward products against lag; the recurrent matrices inset."""
    fig, _ = panels(cells(reports), _spectra,
                    "Singular values of the backward products ds_T/ds_(T-k): how many directions "
                    "a gradient still reaches\n(inset: singular values of W_*h, dashed 1/γ)",
                    sharey=True)
    return fig


def dashboard(reports, context):
    """One 16 x 12 inch figure with the most telling panels."""
    fig = Figure(figsize=(16, 12), layout="constrained")
    fig.suptitle("gradflow: gradient flow backwards through time", fontsize=17, weight="bold")
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[0.8, 1.3, 1.1])
    draw_summary_table(reports, ax=top.add_subplot(), fontsize=9)
    top.suptitle("\n".join(textwrap.wrap(context, 200)), fontsize=9.5, color="0.25")
    left, right = middle.subplots(1, 2, width_ratios=[1.3, 1])
    for r in reports:
        plot.plot_decay(r.decay, ax=left, color=r.color, label=wrap(r.label, 30))
        if r.lyapunov is not None:
            plot.plot_lyapunov(r.lyapunov, ax=right, color=r.color, label=wrap(r.label, 30))
    _legend(left, len(reports))
    right.legend(loc="upper right", fontsize=7.5)
    shown = cells(reports)
    axes = bottom.subplots(1, len(shown), squeeze=False)[0]
    for ax, r in zip(axes, shown, strict=True):
        flow_map_panel(r, ax)
        ax.set_title(wrap(r.label, 36), color=r.color, fontsize=10)
    return fig


def pdf_pages(reports, context):
    """Every page of the PDF on the models, in order."""
    yield summary_page(reports, context)
    yield decay_page(reports, context)
    if any(not r.is_cell for r in reports):
        yield cell_pages.network_page(reports)
    if cells(reports):
        yield flow_map_page(reports)
        yield spectrum_page(reports)
        yield cell_pages.gates_page(reports)
        yield cell_pages.derivative_page(reports)
        yield cell_pages.lyapunov_page(reports)
        yield cell_pages.jacobian_norm_page(reports)
    if any(cell_pages.has_paths(r) for r in reports):
        yield cell_pages.lstm_page(reports)
