"""Plot functions: each draws one computed result on an Axes and computes nothing.

Every function takes ``ax=`` (a new figure's Axes when omitted) and returns the Axes; none
touches pyplot's global state.
"""

import math

import numpy as np

from ..activations import activation_bound
from .style import axes_or_new


def _finite_range(arrays, pad=0.5, floor=None):
    values = np.concatenate([np.asarray(a, float)[np.isfinite(a)] for a in arrays] or [[0.0]])
    if values.size == 0:
        values = np.array([0.0])
    lo, hi = float(values.min()), float(values.max())
    if floor is not None:
        lo = max(lo, floor)
    if hi - lo < 1.0:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    return lo - pad * 0.1 * span, hi + pad * 0.1 * span


def plot_decay(reports, *, ax=None, show_bound=True, show_horizon=True):
    """What the output sees against lag, ``log10 ||dh_T/ds_{T-k}||_2``, one curve per model.

    The curve the headline figures read (for RNN and GRU it is the whole state's
    ``ds_T/ds_{T-k}``; for LSTM the h rows of it, the cell path's product is drawn on the LSTM
    page).
    The Pascanu bound ``k log10(gamma sigma_max)`` (RNN) is dashed in the model's colour, the
    gradient horizon is marked with a dot, and the threshold is a grey line.  Exactly zero
    products end their curve with an ``x`` at the bottom of the axes.
    """
    ax = axes_or_new(ax)
    curves = [r.decay.log10_norm2_output for r in reports]
    lo, hi = _finite_range(curves)
    threshold = reports[0].decay.threshold
    lo = min(lo, math.log10(threshold) - 0.5)
    hi = max(hi, 0.5)
    for r in reports:
        d = r.decay
        seen = d.log10_norm2_output
        y = np.where(np.isfinite(seen), seen, np.nan)
        ax.plot(d.lags, y, color=r.color, lw=1.6, label=r.label)
        zero = np.flatnonzero(np.isneginf(seen))
        if zero.size:
            ax.plot([zero[0]], [lo], marker="x", color=r.color, ms=9, mew=2, clip_on=False)
            ax.annotate("exactly 0", (zero[0], lo), textcoords="offset points", xytext=(4, 6),
                        color=r.color, fontsize=8)
        if show_bound and d.bound is not None and d.bound > 0:
            ax.plot(d.lags, d.lags * math.log10(d.bound), color=r.color, ls="--", lw=1,
                    alpha=0.8, label=f"{r.label} bound ({d.bound:.2f})$^k$")
        if show_horizon and d.gradient_horizon is not None:
            k = d.gradient_horizon
            ax.plot([k], [seen[k]] if np.isfinite(seen[k]) else [lo],
                    "o", color=r.color, ms=6, mec="black", mew=0.6, zorder=5)
    ax.axhline(math.log10(threshold), color="0.4", lw=0.9, ls=":")
    ax.annotate(f"threshold {threshold:g}", (0, math.log10(threshold)), textcoords="offset points",
                xytext=(3, 3), color="0.3", fontsize=8)
    ax.set_ylim(lo, hi)
    ax.set_xlim(0, max(r.decay.steps for r in reports))
    ax.set_xlabel("lag k (steps back from T)")
    ax.set_ylabel(r"$\log_{10}\,\|\partial h_T/\partial s_{T-k}\|_2$")
    ax.set_title("Gradient norm against lag (dots: gradient horizon)")
    ax.legend(loc="best", ncol=1 if len(reports) < 4 else 2)
    return ax


def plot_flow_map(report, *, ax=None, vmin=None, vmax=None, colorbar=True):
    """Heatmap of ``log10 ||ds_T/ds_t||_2`` over start time t and end time T; returns the Axes.

    With ``colorbar=False`` the bar can be added later, shared by several maps on one colour
    scale, with :func:`flow_map_colorbar`.
    """
    from matplotlib import colors

    ax = axes_or_new(ax)
    fm = report.flow
    data = fm.log10_norm2
    finite = data.compressed()
    if vmin is None:
        vmin = float(min(finite.min(), -1.0)) if finite.size else -1.0
    if vmax is None:
        vmax = float(max(finite.max(), 1.0)) if finite.size else 1.0
    # at least one decade each side, so rounding-level excursions above 0 stay pale
    norm = colors.TwoSlopeNorm(vcenter=0.0, vmin=min(vmin, -1.0), vmax=max(vmax, 1.0))
    ends = fm.ends
    edges = np.concatenate([[0.5], (ends[1:] + ends[:-1]) / 2, [ends[-1] + 0.5]])
    t_edges = np.arange(fm.steps + 2) - 0.5
    ax.pcolormesh(t_edges, edges, data, cmap="RdBu_r", norm=norm, shading="flat",
                  rasterized=True)
    if fm.exact_zero.any():
        zeros = np.ma.MaskedArray(np.ones(fm.exact_zero.shape), mask=~fm.exact_zero)
        ax.pcolormesh(t_edges, edges, zeros, cmap=colors.ListedColormap(["black"]),
                      shading="flat", rasterized=True)
    ax.plot([0, fm.steps], [0, fm.steps], color="0.3", lw=0.8)
    ax.set_xlim(-0.5, fm.steps + 0.5)
    ax.set_ylim(edges[0], edges[-1])
    ax.set_xlabel("start time t (step)")
    ax.set_ylabel("end time T (step)")
    ax.set_title(report.label, color=report.color)
    ax.grid(False)
    if colorbar:
        flow_map_colorbar(ax.figure, ax, fraction=0.046, pad=0.02)
    return ax


def flow_map_colorbar(figure, ax, *, source=None, **kwargs):
    """The colour bar of a flow map drawn by :func:`plot_flow_map`, beside ``ax``.

    Parameters
    ----------
    figure : Figure or SubFigure
        Where the bar goes.
    ax : Axes or array of Axes
        The Axes the bar takes its room from (all the panels of a shared colour scale).
    source : Axes, optional
        The Axes holding the map whose colours the bar shows (``ax`` by default).
    **kwargs
        Passed to ``figure.colorbar`` (``fraction``, ``pad``).

    Returns
    -------
    Colorbar
    """
    mesh = (ax if source is None else source).collections[0]
    cb = figure.colorbar(mesh, ax=ax, **kwargs)
    cb.set_label(r"$\log_{10}\,\|\partial s_T/\partial s_t\|_2$")
    return cb


_MARKERS = ["o", "s", "^", "D", "v", "P"]


def plot_singular_values(report, *, ax=None):
    """Singular values of each recurrent matrix, with the ``1/gamma`` line of its gate.

    A matrix whose singular values all lie below ``1/gamma`` cannot stretch a gradient
    through its gate: ``gamma sigma_max < 1``.
    """
    ax = axes_or_new(ax)
    gammas = {}
    for i, (name, m) in enumerate(report.spectrum.matrices.items()):
        sv = m.singular_values
        ax.plot(np.arange(1, sv.size + 1), sv, marker=_MARKERS[i % len(_MARKERS)], ms=3,
                lw=1.1, label=f"{name} ({m.activation})", color=report.color,
                alpha=1.0 - 0.15 * i)
        gammas.setdefault(m.gamma, []).append(name)
    for gamma in gammas:
        ax.axhline(1.0 / gamma, color="0.25", ls="--", lw=0.9)
        ax.annotate(f"1/γ = {1 / gamma:g} ({'tanh/relu' if gamma == 1 else 'sigmoid'})",
                    (1, 1.0 / gamma), textcoords="offset points", xytext=(2, 3), fontsize=8,
                    color="0.25")
    ax.set_yscale("log")
    values = np.concatenate([m.singular_values for m in report.spectrum.matrices.values()])
    positive = values[values > 0]
    lines = [1.0 / g for g in gammas]
    lo = min([*lines, positive.min() if positive.size else 1.0])
    hi = max([*lines, values.max()])
    ax.set_ylim(lo / 3.0, hi * 3.0)
    ax.set_xlabel("index i (descending)")
    ax.set_ylabel(r"singular value $\sigma_i$")
    ax.set_title(report.label, color=report.color)
    ax.legend(loc="lower left", fontsize=7.5)
    return ax


def plot_derivative_histogram(report, symbol, *, ax=None, bins=40):
    """Histogram of the derivative f' met by one gate along the run, against sup f'."""
    ax = axes_or_new(ax)
    activation, values = report.derivatives[symbol]
    gamma = activation_bound(activation).gamma
    ax.hist(values, bins=np.linspace(0, gamma, bins + 1), color=report.color, alpha=0.8)
    ax.axvline(gamma, color="black", ls="--", lw=1)
    ax.set_xlim(-0.02 * gamma, 1.05 * gamma)
    saturated = float(np.mean(values < 0.01 * gamma)) if values.size else 0.0
    ax.set_title(f"{report.label}: {symbol} ({activation}')", fontsize=9, color=report.color)
    ax.text(0.97, 0.95, f"sup = {gamma:g}\nmean = {values.mean():.3f}\n"
            f"saturated {100 * saturated:.0f}%", transform=ax.transAxes, ha="right", va="top",
            fontsize=7.5, bbox={"fc": "white", "ec": "0.8", "alpha": 0.85})
    ax.set_xlabel("f'(a)", fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    ax.tick_params(labelsize=7)
    return ax


def plot_lyapunov(reports, *, ax=None, floor=-6.0):
    """Lyapunov spectra (natural log per step), one per model, with the zero line.

    Exponents below ``floor`` (and ``-inf``, directions the Jacobians annihilate) are not
    drawn; the axes say how many there are.
    """
    ax = axes_or_new(ax)
    notes = []
    lowest = 0.0
    for r in reports:
        ex = r.lyapunov.exponents
        shown = np.isfinite(ex) & (ex >= floor)
        idx = np.arange(1, ex.size + 1)
        lam = f"{ex[0]:+.3f}" if np.isfinite(ex[0]) else "-inf"
        ax.plot(idx[shown], ex[shown], marker="o", ms=2.5, lw=1.2, color=r.color,
                label=f"{r.label}: λ₁ = {lam}")
        if shown.any():
            lowest = min(lowest, float(ex[shown].min()))
        hidden = int((~shown).sum())
        if hidden:
            notes.append(f"{r.label}: {hidden} of {ex.size} exponents below {floor:g} "
                         "(or -inf) not drawn")
    ax.axhline(0.0, color="black", lw=0.9)
    ax.set_ylim(bottom=min(lowest * 1.1, -0.5))
    ax.set_xlabel("index i")
    ax.set_ylabel(r"Lyapunov exponent $\lambda_i$ (nats per step)")
    ax.set_title("Lyapunov spectrum (QR re-orthonormalisation)")
    if notes:
        ax.text(0.99, 0.02, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=8, bbox={"fc": "white", "ec": "0.8", "alpha": 0.85})
    ax.legend(loc="upper right")
    return ax


def plot_lstm_paths(report, *, ax=None):
    """LSTM: the whole state, the hidden path dh_T/dh_t and the cell path dc_T/dc_t."""
    ax = axes_or_new(ax)
    d = report.decay
    for values, style, name in ((d.log10_norm2, "-", "state (h, c)"),
                                (d.log10_norm2_output, "-.",
                                 r"output $\partial h_T/\partial s_t$ (the headline)"),
                                (d.log10_norm2_h, "--", r"hidden path $\partial h_T/\partial h_t$"),
                                (d.log10_norm2_c, ":", r"cell path $\partial c_T/\partial c_t$")):
        y = np.where(np.isfinite(values), values, np.nan)
        ax.plot(d.lags, y, ls=style, color=report.color, lw=1.7, label=name)
    ax.axhline(math.log10(d.threshold), color="0.4", lw=0.9, ls=":")
    ax.set_xlabel("lag k (steps)")
    ax.set_ylabel(r"$\log_{10}$ of the spectral norm")
    ax.set_title(f"{report.label}: hidden path against cell path", color=report.color)
    ax.legend(loc="best")
    return ax


SUMMARY_COLUMNS = ["model", "parameters", "sigma_max", "gamma", "bound", "decay factor",
                   "horizon", "lambda_1", "verdict"]
SUMMARY_HEADERS = ["model", "parameters", "σ_max of each W_*h", "γ", "bound γ·σ_max",
                   "decay / step", "horizon (lags)", "λ₁ (nats)", "verdict"]


def draw_summary_table(reports, *, ax=None, fontsize=8.5, row_height=None):
    """The summary table as real text (extractable from the PDF)."""
    import textwrap

    ax = axes_or_new(ax)
    ax.axis("off")
    rows = []
    for r in reports:
        s = r.summary()
        s["sigma_max"] = "\n".join(textwrap.wrap(s["sigma_max"], 44))
        if not s["cell"].startswith(s["model"] + " "):
            s["model"] = s["model"] + "\n" + s["cell"].replace(" (", "\n(")
        rows.append([s[c] for c in SUMMARY_COLUMNS])
    table = ax.table(cellText=rows, colLabels=SUMMARY_HEADERS, loc="upper center",
                     cellLoc="center", colLoc="center", bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    widths = [0.13, 0.08, 0.26, 0.04, 0.09, 0.08, 0.11, 0.08, 0.09]
    for (i, j), cell in table.get_celld().items():
        cell.set_width(widths[j])
        if i == 0:
            cell.set_facecolor("#e8e8e8")
            cell.set_text_props(weight="bold")
        elif j == 0:
            cell.set_text_props(color=reports[i - 1].color, weight="bold")
    return ax
