"""The gradient-flow map of :func:`~gradflow.analysis.flowmap.flow_map` as a heatmap."""

import numpy as np
from matplotlib import colors

from ._style import axes_or_new

#: Colour of an exactly zero product (dead relu units): outside the sequential scale.
ZERO_COLOR = "#ff4fa0"


def flow_map_range(*maps):
    """``(vmin, vmax)``: the finite range of several flow maps, for one shared colour scale."""
    values = np.concatenate([np.asarray(m.log10_norm2.compressed(), float) for m in maps]
                            + [np.zeros(0)])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return -1.0, 0.0
    lo, hi = float(values.min()), float(values.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def plot_flow_map(flow, *, ax=None, vmin=None, vmax=None, cmap="viridis", colorbar=True,
                  **kwargs):
    """Heatmap of ``log10 ||ds_T/ds_t||_2`` over start time t and end time T.

    A sequential colour scale spans the data's own range (yellow: the gradient survives,
    dark: it has vanished); exactly zero products are drawn in :data:`ZERO_COLOR`.

    Parameters
    ----------
    flow : FlowMap
        From :func:`gradflow.analysis.flowmap.flow_map`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted (pyplot is never used).
    vmin, vmax : float, optional
        The colour scale (default: this map's range; :func:`flow_map_range` gives a range
        shared by several maps).
    cmap : str or Colormap, optional
        A sequential colour map.
    colorbar : bool, optional
        Add a colour bar beside the Axes (or later, shared, with :func:`flow_map_colorbar`).
    **kwargs
        Passed to ``Axes.pcolormesh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    lo, hi = flow_map_range(flow)
    norm = colors.Normalize(vmin=lo if vmin is None else vmin, vmax=hi if vmax is None else vmax)
    ends = flow.ends
    edges = np.concatenate([[0.5], (ends[1:] + ends[:-1]) / 2, [ends[-1] + 0.5]])
    t_edges = np.arange(flow.steps + 2) - 0.5
    ax.pcolormesh(t_edges, edges, flow.log10_norm2, cmap=cmap, norm=norm, shading="flat",
                  rasterized=True, **kwargs)
    if flow.exact_zero.any():
        zeros = np.ma.MaskedArray(np.ones(flow.exact_zero.shape), mask=~flow.exact_zero)
        ax.pcolormesh(t_edges, edges, zeros, cmap=colors.ListedColormap([ZERO_COLOR]),
                      shading="flat", rasterized=True)
    ax.plot([0, flow.steps], [0, flow.steps], color="0.3", lw=0.8)
    ax.set_xlim(-0.5, flow.steps + 0.5)
    ax.set_ylim(edges[0], edges[-1])
    ax.set_xlabel("start time t (step)")
    ax.set_ylabel("end time T (step)")
    ax.grid(False)
    if not ax.get_title():
        ax.set_title(flow.model, fontsize=9)
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
    bar = figure.colorbar(mesh, ax=ax, **kwargs)
    bar.set_label(r"$\log_{10}\,\|\partial s_T/\partial s_t\|_2$")
    return bar
