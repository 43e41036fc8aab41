"""What every plot function shares: a new Axes without pyplot, colours per cell kind, limits."""

import math

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.figure import Figure

#: Colour of each cell kind, the same on every page, in the gallery and in user figures.
CELL_COLORS = {
    "RNN-tanh": "#d62728",
    "RNN-sigmoid": "#ff7f0e",
    "RNN-relu": "#9467bd",
    "LSTM": "#1f77b4",
    "GRU": "#2ca02c",
    "GRU-reset_after": "#17becf",
}
#: Further colours for comparisons with several models of one kind, far from the kinds' own
#: and from each other.
EXTRA_COLORS = ["#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939", "#843c39"]

#: Size of the figure a plot function draws on when it is given no Axes (inches).
FIGURE = (7, 4.5)


def axes_or_new(ax, figsize=FIGURE):
    """``ax`` itself, or the Axes of a new :class:`~matplotlib.figure.Figure` (no pyplot)."""
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def kind_color(kind, index=0):
    """The colour of a cell kind (``"LSTM"``), or a spare one for kinds without one."""
    return CELL_COLORS.get(kind, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def distinct_colors(kinds):
    """One colour per entry of ``kinds``: the kind's own, or a fresh spare when it repeats.

    Two models of one kind never share a colour (the second LSTM gets a spare, not a shade of
    blue), and a kind without a colour of its own gets a spare too.
    """
    used = set()
    spare = iter(EXTRA_COLORS * (len(kinds) // len(EXTRA_COLORS) + 1))
    out = []
    for kind in kinds:
        color = CELL_COLORS.get(kind)
        if color is None or color in used:
            color = next(spare)
        used.add(color)
        out.append(color)
    return out


def lighter(color, amount):
    """``color`` mixed with white by ``amount`` in [0, 1]."""
    base = np.array(mcolors.to_rgb(color))
    return tuple(base + (1 - base) * amount)


def finite(values):
    """``values`` as floats with every non-finite entry NaN (matplotlib leaves a gap)."""
    y = np.asarray(values, float)
    return np.where(np.isfinite(y), y, np.nan)


def finite_range(arrays):
    """``(lo, hi)`` of the finite entries of ``arrays``, or None when there are none."""
    parts = [np.asarray(a, float).ravel() for a in arrays if a is not None]
    values = np.concatenate(parts) if parts else np.zeros(0)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return float(values.min()), float(values.max())


def padded(lo, hi, *, minimum_span=1.0, pad=0.05):
    """``(lo, hi)`` widened to at least ``minimum_span`` and padded by ``pad`` of the span."""
    if hi - lo < minimum_span:
        middle = 0.5 * (lo + hi)
        lo, hi = middle - 0.5 * minimum_span, middle + 0.5 * minimum_span
    span = hi - lo
    return lo - pad * span, hi + pad * span


def log10_or_none(value):
    """``log10(value)`` for a positive finite value, else None."""
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return math.log10(value)


_ALIASES = {"c": "color", "lw": "linewidth", "ls": "linestyle", "ms": "markersize",
            "mec": "markeredgecolor", "mew": "markeredgewidth", "mfc": "markerfacecolor"}


def style(kwargs, **defaults):
    """The keyword arguments of the main artist: the caller's over ``defaults``.

    Short aliases (``c``, ``lw``, ``ls``, ...) count as their long names, in which
    ``defaults`` are given.
    """
    out = dict(defaults)
    for key, value in kwargs.items():
        out[_ALIASES.get(key, key)] = value
    return out
