"""The report's figures: one topic a page for the PDF, one dashboard for the PNG."""

import math
import textwrap

import numpy as np
from matplotlib.figure import Figure

from . import plots
from .style import PAGE


def _grid(count, max_cols=2):
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def _panels(reports, draw, title):
    """A page with one panel per report, drawn by ``draw(report, ax)``; returns (fig, axes)."""
    fig = Figure(figsize=PAGE, layout="constrained")
    rows, cols = _grid(len(reports))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, r in zip(axes.flat, reports, strict=False):
        draw(r, ax)
    for ax in axes.flat[len(reports):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13, weight="bold")
    return fig, axes


def _has_paths(r):
    """Whether a model's state has separate hidden and cell paths (the LSTM's (h, c))."""
    return r.decay.log10_norm2_c is not None


def _parameter_line(r):
    m = r.model
    formula = m.parameter_formula_for(**m.options())
    return (f"{r.label}: {formula} = {m.parameter_count:,} parameters (n = {m.hidden}, "
            f"d = {m.inputs}), the same for every sequence length: one set of weights serves "
            "all steps")


def summary_page(reports, context):
    """Title, inputs, the summary table and how to read it."""
    fig = Figure(figsize=PAGE)
    fig.text(0.05, 0.94, "gradflow: gradient flow backwards through time", fontsize=17,
             weight="bold")
    fig.text(0.05, 0.905, context, fontsize=9.5, color="0.25")
    table_height = min(0.06 + 0.055 * len(reports), 0.6)
    ax = fig.add_axes([0.03, 0.88 - table_height, 0.94, table_height])
    plots.draw_summary_table(reports, ax=ax, row_height=1.0 / (len(reports) + 1.3))
    notes = [
        "How to read it",
        "• horizon: the first lag k at which ||ds_T/ds_(T-k)||_2 falls below the threshold "
        f"({reports[0].decay.threshold:g}); 'none' means the gradient survives all "
        f"{reports[0].steps} steps.",
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
    fig.text(0.05, 0.84 - table_height, "\n".join(wrapped), fontsize=8.8, va="top",
             linespacing=1.55)
    return fig


def decay_page(reports, context):
    """Gradient norm against lag for every model."""
    fig = Figure(figsize=PAGE, layout="constrained")
    ax = fig.add_subplot()
    plots.plot_decay(reports, ax=ax)
    fig.suptitle("How far back does the gradient reach?", fontsize=14, weight="bold")
    ax.text(0.01, 0.02, context, transform=ax.transAxes, fontsize=8, color="0.35")
    return fig


def flow_map_page(reports):
    """The (t, T) heatmaps, one per model, on a shared colour scale."""
    values = np.concatenate([r.flow.log10_norm2.compressed() for r in reports] + [[0.0]])
    vmin, vmax = float(values.min()), float(values.max())
    drawn = []
    fig, axes = _panels(
        reports,
        lambda r, ax: drawn.append(plots.plot_flow_map(r, ax=ax, vmin=vmin, vmax=vmax,
                                                       colorbar=False)),
        r"Gradient flow map: $\log_{10}\|\partial s_T/\partial s_t\|_2$ over start time t and "
        "end time T (black: exactly 0)")
    plots.flow_map_colorbar(fig, axes, source=drawn[-1], fraction=0.03, pad=0.02)
    return fig


def spectrum_page(reports):
    """Singular values of every recurrent matrix with the 1/γ lines."""
    fig, _ = _panels(reports, lambda r, ax: plots.plot_singular_values(r, ax=ax),
                     "Singular values of the recurrent matrices W_*h (dashed: 1/γ of the gate)")
    return fig


def derivative_page(reports):
    """Histograms of the activation derivatives met along the run, against their bounds."""
    fig = Figure(figsize=PAGE, layout="constrained")
    width = max(len(r.derivatives) for r in reports)
    axes = fig.subplots(len(reports), width, squeeze=False)
    for row, r in zip(axes, reports, strict=True):
        symbols = list(r.derivatives)
        for ax, symbol in zip(row, symbols, strict=False):
            plots.plot_derivative_histogram(r, symbol, ax=ax)
        for ax in row[len(symbols):]:
            ax.set_visible(False)
    fig.suptitle("Activation derivatives met along the run (dashed: sup f' = γ: 1/4 sigmoid, "
                 "1 tanh and relu)", fontsize=13, weight="bold")
    return fig


def lyapunov_page(reports):
    """Lyapunov spectra."""
    fig = Figure(figsize=PAGE, layout="constrained")
    ax = fig.add_subplot()
    plots.plot_lyapunov(reports, ax=ax)
    ax.set_title("")
    fig.suptitle("Lyapunov spectrum: > 0 expands (chaos, exploding), < 0 contracts "
                 "(vanishing)", fontsize=13, weight="bold")
    return fig


def jacobian_norm_page(reports):
    """||J_t||_2 along the run, against the Pascanu bound where there is one."""
    fig = Figure(figsize=PAGE, layout="constrained")
    ax = fig.add_subplot()
    for r in reports:
        norms = r.spectrum.jacobian_norms
        steps = np.arange(1, norms.size + 1)
        ax.plot(steps, norms, color=r.color, lw=1.1, label=f"{r.label} (max {norms.max():.3g})")
        if r.decay.bound is not None:
            ax.axhline(r.decay.bound, color=r.color, ls="--", lw=1,
                       label=f"{r.label} bound γσ_max = {r.decay.bound:.3g}")
    ax.axhline(1.0, color="0.55", lw=0.8, zorder=0)
    low = min(float(np.min(r.spectrum.jacobian_norms)) for r in reports)
    ax.set_ylim(bottom=max(0.0, min(low, 1.0) - 0.1))
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\|J_t\|_2 = \|\partial s_t/\partial s_{t-1}\|_2$")
    ax.legend(loc="best", ncol=2)
    fig.suptitle("Per-step Jacobian norm along the run (a product of k steps is at most the "
                 "max to the power k)", fontsize=13, weight="bold")
    return fig


def lstm_page(reports):
    """LSTM hidden path against cell path."""
    lstms = [r for r in reports if _has_paths(r)]
    fig, _ = _panels(lstms, lambda r, ax: plots.plot_lstm_paths(r, ax=ax),
                     "LSTM: the additive cell path c_t = F c_(t-1) + I C~ against the hidden path")
    return fig


def pdf_pages(reports, context):
    """Every page of the PDF, in order."""
    yield summary_page(reports, context)
    yield decay_page(reports, context)
    yield flow_map_page(reports)
    yield spectrum_page(reports)
    yield derivative_page(reports)
    yield lyapunov_page(reports)
    yield jacobian_norm_page(reports)
    if any(_has_paths(r) for r in reports):
        yield lstm_page(reports)


def dashboard(reports, context):
    """One 16 x 12 inch figure with the most telling panels."""
    fig = Figure(figsize=(16, 12), layout="constrained")
    fig.suptitle("gradflow: gradient flow backwards through time", fontsize=17, weight="bold")
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[0.8, 1.3, 1.1])
    plots.draw_summary_table(reports, ax=top.add_subplot(), fontsize=9)
    top.suptitle(context, fontsize=9.5, color="0.25")
    left, right = middle.subplots(1, 2, width_ratios=[1.3, 1])
    plots.plot_decay(reports, ax=left)
    plots.plot_lyapunov(reports, ax=right)
    axes = bottom.subplots(1, len(reports), squeeze=False)[0]
    values = np.concatenate([r.flow.log10_norm2.compressed() for r in reports] + [[0.0]])
    for i, (ax, r) in enumerate(zip(axes, reports, strict=True)):
        plots.plot_flow_map(r, ax=ax, vmin=float(values.min()), vmax=float(values.max()),
                            colorbar=i == len(reports) - 1)
    return fig
