"""Gates along a run: their values (open or closed?) and the derivatives they pass back.

The derivative alone cannot tell an open sigmoid gate from a closed one (``F' = F (1 - F)``
is small at both ends); the values can.
"""

import numpy as np

from ..activations import activation_bound
from ._style import axes_or_new, lighter, style

_STYLES = ["-", "--", "-.", ":"]


def plot_gate_values(values, *, ax=None, bins=40, **kwargs):
    """Histograms of the value of every gate met along a run, one outline per gate.

    Parameters
    ----------
    values : dict of str to ndarray
        ``model.gate_values(xs, states)``: gate symbol (``"F"``, ``"Z"``, ``"H"``) to the
        values over steps and units.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted.
    bins : int, optional
    **kwargs
        Passed to ``Axes.hist`` (``color`` for all gates, shaded by gate).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The legend gives each gate's mean and the shares above 0.9 ("open") and below 0.1
    ("closed") of a gate in [0, 1].
    """
    ax = axes_or_new(ax)
    flat = {symbol: np.asarray(v, float).ravel() for symbol, v in values.items()}
    every = np.concatenate([v[np.isfinite(v)] for v in flat.values()] + [np.zeros(1)])
    lo, hi = min(float(every.min()), 0.0), max(float(every.max()), 1.0)
    edges = np.linspace(lo, hi, bins + 1)
    base = kwargs.pop("color", kwargs.pop("c", None))
    for i, (symbol, v) in enumerate(flat.items()):
        words = f"{symbol}: mean {v.mean():.2f}" if v.size else f"{symbol}: no values"
        if v.size and v.min() >= 0.0 and v.max() <= 1.0:
            words += f", open {100 * np.mean(v > 0.9):.0f}%, closed {100 * np.mean(v < 0.1):.0f}%"
        extra = {} if base is None else {"color": lighter(base, 0.45 * i / max(len(flat), 1))}
        ax.hist(v, bins=edges, density=True,
                **style(kwargs, histtype="step", linewidth=1.5, linestyle=_STYLES[i % 4],
                        label=words, **extra))
    ax.set_xlabel("gate value")
    ax.set_ylabel("density")
    if not ax.get_title():
        ax.set_title("Gate values along the run")
    return ax


def plot_derivative_histogram(values, activation, *, ax=None, bins=40, **kwargs):
    """Histogram of the derivative ``f'`` one gate met along a run, against ``sup f'``.

    Parameters
    ----------
    values : ndarray
        The derivatives (any shape).
    activation : str
        ``"sigmoid"``, ``"tanh"`` or ``"relu"``: sets ``gamma = sup f'``.
    ax : matplotlib.axes.Axes, optional
    bins : int, optional
    **kwargs
        Passed to ``Axes.hist`` (``color``, ...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    values = np.asarray(values, float).ravel()
    gamma = activation_bound(activation).gamma
    ax.hist(values, bins=np.linspace(0, gamma, bins + 1), **style(kwargs, alpha=0.8))
    ax.axvline(gamma, color="black", ls="--", lw=1)
    ax.set_xlim(-0.02 * gamma, 1.05 * gamma)
    saturated = float(np.mean(values < 0.01 * gamma)) if values.size else 0.0
    mean = f"{values.mean():.3f}" if values.size else "-"
    ax.text(0.97, 0.95, f"sup = {gamma:g}\nmean = {mean}\nsaturated {100 * saturated:.0f}%",
            transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
            bbox={"fc": "white", "ec": "0.8", "alpha": 0.85})
    ax.set_xlabel("f'(a)", fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    ax.tick_params(labelsize=7)
    return ax
