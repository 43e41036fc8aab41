"""Phase-diagram plots of a sweep: each draws computed curves on an Axes and computes nothing.

Every function takes a sequence of :class:`~gradflow.plot.phase_data.PhaseCurve` (one cell
kind, several sizes, as a rule) and ``ax=`` (a new figure's Axes when omitted), and returns
the Axes.  A curve is drawn in its kind's colour, lighter for smaller sizes; the band spans
the seeds' range, the line their median.
"""

import math

import numpy as np
from matplotlib import colors as mcolors

from ..errors import GradflowError
from ._style import CELL_COLORS, EXTRA_COLORS, axes_or_new
from .phase_data import PhaseDiagram, phase_diagram

_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def curve_colors(curves):
    """One colour per curve: its kind's colour, from light (smallest n) to full (largest)."""
    out = []
    for curve in curves:
        same = [c for c in curves if c.kind == curve.kind]
        rank = same.index(curve)
        base = np.array(mcolors.to_rgb(CELL_COLORS.get(curve.kind, EXTRA_COLORS[0])))
        light = 0.6 * (1 - rank / (len(same) - 1)) if len(same) > 1 else 0.0
        out.append(tuple(base + (1 - base) * light))
    return out


def _finite(y):
    y = np.asarray(y, float)
    return np.where(np.isfinite(y), y, np.nan)


def _median_and_band(ax, curve, color, marker, stats, label):
    gains = curve.gains
    median, low, high = (_finite(s) for s in stats)
    ax.fill_between(gains, low, high, color=color, alpha=0.18, lw=0)
    ax.plot(gains, median, color=color, marker=marker, ms=3.5, lw=1.6, label=label)


def plot_phase_lambda(curves, *, ax=None, show_bound=True, gains=None):
    """lambda_1 (nats per step) against gain: median over seeds, their range, zero line.

    The dashed lines are Pascanu's bound ``ln(gamma sigma_max(W_h))`` (RNN), which lambda_1
    can never exceed; the legend gives the gain where the median crosses 0.  ``gains``
    ``(low, high)`` zooms on that window, the vertical scale fitted to the data in it.
    """
    ax = axes_or_new(ax)
    shades = curve_colors(curves)
    for i, (curve, color) in enumerate(zip(curves, shades, strict=True)):
        crossing = curve.crossing_gain
        label = curve.label + (f": λ₁ = 0 at g ≈ {crossing:.3g}" if crossing else "")
        _median_and_band(ax, curve, color, _MARKERS[i % len(_MARKERS)], curve.lambda_1, label)
        if show_bound and curve.log_bound is not None:
            ax.plot(curve.gains, _finite(curve.log_bound), color=color, ls="--", lw=1,
                    alpha=0.9)
    ax.axhline(0.0, color="black", lw=0.9)
    if show_bound and any(c.log_bound is not None for c in curves):
        ax.plot([], [], color="0.35", ls="--", lw=1, label=r"Pascanu bound $\ln(\gamma\,"
                                                            r"\sigma_{max})$")
    if gains is None:
        _limits(ax, [c.lambda_1 for c in curves])
        ax.set_title(r"Largest Lyapunov exponent $\lambda_1$ (median and range over seeds)")
    else:
        low, high = gains
        _limits(ax, [c.lambda_1[:, (c.gains >= low) & (c.gains <= high)] for c in curves])
        ax.set_xlim(low, high)
        ax.set_title(rf"$\lambda_1$ near the transition (gains {low:.3g} to {high:.3g})")
    ax.set_xlabel("gain g")
    ax.set_ylabel(r"$\lambda_1$ (nats per step)")
    ax.legend(loc="upper left", fontsize=7.5)
    return ax


def plot_phase_decay(curves, *, ax=None, show_bound=True):
    """Fitted gradient decay rate (log10 per step) against gain, with the bound and zero line.

    Below zero the gradient norm ``||ds_T/ds_{T-k}||`` shrinks with the lag k (vanishing),
    above it grows (exploding); the dashed lines are ``log10(gamma sigma_max(W_h))``.
    """
    ax = axes_or_new(ax)
    shades = curve_colors(curves)
    for i, (curve, color) in enumerate(zip(curves, shades, strict=True)):
        crossing = curve.decay_crossing_gain
        label = curve.label + (f": factor 1 at g ≈ {crossing:.3g}" if crossing else "")
        _median_and_band(ax, curve, color, _MARKERS[i % len(_MARKERS)],
                         curve.log10_decay_rate, label)
        if show_bound and curve.log_bound is not None:
            ax.plot(curve.gains, _finite(curve.log_bound) / math.log(10.0), color=color,
                    ls="--", lw=1, alpha=0.9)
    ax.axhline(0.0, color="black", lw=0.9)
    if show_bound and any(c.log_bound is not None for c in curves):
        ax.plot([], [], color="0.35", ls="--", lw=1, label=r"Pascanu bound $\log_{10}(\gamma\,"
                                                            r"\sigma_{max})$")
    _limits(ax, [c.log10_decay_rate for c in curves])
    ax.set_xlabel("gain g")
    ax.set_ylabel(r"$\log_{10}$ decay factor per step")
    ax.set_title("Gradient decay rate (fitted slope of the all-lag norms)")
    ax.legend(loc="upper left", fontsize=7.5)
    return ax


def plot_chaotic_fraction(curves, *, ax=None):
    """Fraction of the seeds with lambda_1 > 0 against gain: the transition's sharpness."""
    ax = axes_or_new(ax)
    shades = curve_colors(curves)
    for i, (curve, color) in enumerate(zip(curves, shades, strict=True)):
        seeds = int(curve.seeds.max()) if curve.seeds.size else 0
        ax.plot(curve.gains, _finite(curve.chaotic_fraction), color=color,
                marker=_MARKERS[i % len(_MARKERS)], ms=3.5, lw=1.6, drawstyle="default",
                label=f"{curve.label} ({seeds} seed{'s' if seeds != 1 else ''})")
    ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("gain g")
    ax.set_ylabel(r"fraction of seeds with $\lambda_1 > 0$")
    ax.set_title("Chaotic fraction")
    ax.legend(loc="upper left", fontsize=7.5)
    return ax


_QUANTITIES = {"lambda_1": plot_phase_lambda, "decay": plot_phase_decay,
               "chaotic_fraction": plot_chaotic_fraction}


def plot_phase(results, *, ax=None, quantity="lambda_1", kind=None, **kwargs):
    """A sweep's phase diagram for one cell kind: a quantity against the gain, per size.

    Parameters
    ----------
    results : PhaseDiagram, list of dict, or sequence of PhaseCurve
        :func:`~gradflow.plot.phase_data.phase_diagram` of a sweep, the sweep's result rows
        (``gradflow.sweep.store.read_results``) or curves.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted.
    quantity : str, optional
        ``"lambda_1"`` (median and range over the seeds, Pascanu's bound dashed),
        ``"decay"`` (the fitted log10 decay rate) or ``"chaotic_fraction"``.
    kind : str, optional
        The cell kind (``"RNN-tanh"``); default the first of the results.
    **kwargs
        Passed on: ``show_bound`` (lambda_1, decay), ``gains=(low, high)`` (lambda_1).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if quantity not in _QUANTITIES:
        raise GradflowError(f"quantity must be one of {', '.join(_QUANTITIES)}; got "
                            f"{quantity!r}")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        results = phase_diagram(results)
    if isinstance(results, PhaseDiagram):
        kinds = results.kinds
        if not kinds:
            raise GradflowError("the sweep results hold no successful curve to draw")
        if kind is None:
            kind = kinds[0]
        elif kind not in kinds:
            raise GradflowError(f"kind must be one of {', '.join(kinds)}; got {kind!r}")
        curves = results.of_kind(kind)
    else:
        curves = [c for c in results if kind is None or c.kind == kind]
    return _QUANTITIES[quantity](curves, ax=ax, **kwargs)


def _limits(ax, stats):
    values = np.concatenate([np.asarray(s, float).ravel() for s in stats] or [np.zeros(1)])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    lo, hi = float(min(values.min(), 0.0)), float(max(values.max(), 0.0))
    span = max(hi - lo, 1e-3)
    ax.set_ylim(lo - 0.08 * span, hi + 0.35 * span)
