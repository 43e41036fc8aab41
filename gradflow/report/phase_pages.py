"""The phase-diagram report of a sweep: one figure (PNG) or the figure and a table (PDF)."""

from ..io.atomic import atomic_path
from .build import output_format
from .phase_theory import draw_theory
from .style import PAGE, RC


def transition_window(curves, margin=0.3):
    """Gains to zoom on: the median lambda_1 crossings of ``curves`` (or gain 1) +- margin."""
    crossings = [c.crossing_gain for c in curves if c.crossing_gain is not None] or [1.0]
    low = max(min(c.gains.min() for c in curves), min(crossings) - margin)
    high = min(max(c.gains.max() for c in curves), max(crossings) + margin)
    return (low, high) if high > low else None


def phase_figure(diagram, *, title=None, theory=None):
    """Four panels per cell kind: lambda_1 (all gains, near the transition), decay, chaos.

    ``theory`` (kind -> :class:`~gradflow.report.phase_theory.TheoryCurve`) adds the
    mean-field prediction and the critical gain to the lambda_1 and decay panels of its kind.
    """
    from matplotlib.figure import Figure

    from ..plot.phase import plot_chaotic_fraction, plot_phase_decay, plot_phase_lambda

    kinds = diagram.kinds
    fig = Figure(figsize=(15, 9.6 * len(kinds) + 0.6), layout="constrained")
    axes = fig.subplots(2 * len(kinds), 2, squeeze=False)
    for i, kind in enumerate(kinds):
        curves = diagram.of_kind(kind)
        top, bottom = axes[2 * i], axes[2 * i + 1]
        plot_phase_lambda(curves, ax=top[0])
        plot_phase_decay(curves, ax=top[1])
        window = transition_window(curves)
        if window is not None:
            plot_phase_lambda(curves, ax=bottom[0], gains=window, show_bound=False)
        else:
            bottom[0].set_visible(False)
        plot_chaotic_fraction(curves, ax=bottom[1])
        if theory and kind in theory:
            zoomed = (bottom[0],) if window is not None else ()
            draw_theory(theory[kind], lambda_axes=(top[0], *zoomed), decay_axes=(top[1],))
        for ax in (*top, *bottom):
            ax.set_title(f"{kind}: {ax.get_title()}", fontsize=10.5)
    fig.suptitle(title or f"Phase diagram of {diagram.source or 'a sweep'}: order (λ₁ < 0, "
                 "gradients vanish) and chaos (λ₁ > 0) against the recurrent gain",
                 fontsize=12.5)
    return fig


def _number(value):
    return "none in range" if value is None else f"{value:.4g}"


def table_figure(diagram, context=""):
    """A page with the table of curves: seeds, gains, failures, the gains of the crossings."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE)
    ax = fig.add_axes([0.04, 0.08, 0.92, 0.74])
    ax.axis("off")
    headers = ["cell", "curve", "gains", "seeds / gain", "failed", "λ₁ = 0 at gain",
               "decay factor 1 at gain"]
    rows = []
    for c in diagram.curves:
        gains = f"{c.gains.min():g} .. {c.gains.max():g} ({c.gains.size})"
        seeds = f"{c.seeds.min()}..{c.seeds.max()}" if c.seeds.min() != c.seeds.max() \
            else f"{c.seeds.max()}"
        rows.append([c.kind, c.label, gains, seeds, str(int(c.failed.sum())),
                     _number(c.crossing_gain), _number(c.decay_crossing_gain)])
    table = ax.table(cellText=rows, colLabels=headers, loc="upper center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.5)
    for (i, _), cell in table.get_celld().items():
        if i == 0:
            cell.set_facecolor("#e8e8e8")
            cell.set_text_props(weight="bold")
    lines = [f"Sweep results: {diagram.source}" if diagram.source else "Sweep results",
             f"{diagram.points} points, {diagram.failed} failed"
             + (f" (first: {diagram.first_failure})" if diagram.first_failure else "")]
    if context:
        lines.append(context)
    lines.append("Crossings: linear interpolation of the median over seeds between "
                 "neighbouring gains.")
    fig.text(0.04, 0.95, "\n".join(lines), va="top", fontsize=9.5, wrap=True)
    return fig


def write_phase_report(diagram, path, *, context="", theory=None):
    """Draw ``diagram`` to ``path``: PNG (the figure) or PDF (the figure, then the table).

    Returns
    -------
    int
        Pages written (1 for PNG).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages

    from .. import __version__

    fmt = output_format(path)
    with matplotlib.rc_context(RC), atomic_path(path, suffix="." + fmt) as tmp:
        figure = phase_figure(diagram, theory=theory)
        if fmt == "png":
            figure.savefig(tmp, format="png", dpi=110,
                           metadata={"Software": f"gradflow {__version__}"})
            return 1
        metadata = {
            "Title": f"gradflow phase diagram: {diagram.source}",
            "Subject": "lambda_1 and the gradient decay rate against the recurrent gain",
            "Keywords": "gradflow, sweep, phase diagram, Lyapunov exponent, edge of chaos",
            "Creator": f"gradflow {__version__}",
        }
        with PdfPages(tmp, metadata=metadata) as pdf:
            pdf.savefig(figure)
            pdf.savefig(table_figure(diagram, context))
        return 2
