"""Gradient decay against lag: one :func:`~gradflow.decay` result per call, on one Axes.

Several calls on the same Axes compare models: the vertical range is refitted after each so
that every curve drawn so far stays in view, and the threshold line is drawn once.
"""

import math

import numpy as np

from ..errors import GradflowError
from ._style import axes_or_new, finite, finite_range, lighter, padded, style

#: The curves a decay result can show: its attribute, its bands' attribute, the axis label.
CURVES = {
    "output": ("log10_norm2_output", "log10_norm2_output_quantiles",
               r"$\log_{10}\,\|\partial y_T/\partial s_{T-k}\|_2$"),
    "state": ("log10_norm2", "log10_norm2_quantiles",
              r"$\log_{10}\,\|\partial s_T/\partial s_{T-k}\|_2$"),
    "input": ("log10_norm2_input", None, r"$\log_{10}\,\|\partial y_T/\partial x_{T-k}\|_2$"),
    "hidden": ("log10_norm2_h", "log10_norm2_h_quantiles",
               r"$\log_{10}\,\|\partial h_T/\partial h_{T-k}\|_2$"),
    "cell": ("log10_norm2_c", "log10_norm2_c_quantiles",
             r"$\log_{10}\,\|\partial c_T/\partial c_{T-k}\|_2$"),
    "output_c": ("log10_norm2_output_c", None,
                 r"$\log_{10}\,\|\partial h_T/\partial c_{T-k}\|_2$"),
}
#: Curves that Pascanu's bound ``(gamma sigma_max)^k`` bounds (products of step Jacobians).
_BOUNDED = ("output", "state", "hidden")
_CURVE, _BOUND, _ZERO, _THRESHOLD, _LABEL = ("gradflow-curve", "gradflow-bound",
                                             "gradflow-zero", "gradflow-threshold",
                                             "gradflow-bound-label")


def _curve(result, curve):
    if curve not in CURVES:
        raise GradflowError(f"curve must be one of {', '.join(CURVES)} or 'layers'; got "
                            f"{curve!r}")
    attribute, bands, label = CURVES[curve]
    values = getattr(result, attribute, None)
    if values is None:
        raise GradflowError(f"{result.model}: this decay result has no {curve!r} curve "
                            f"({attribute}); " + ("the blocks are LSTM only" if curve in
                                                  ("hidden", "cell", "output_c") else
                                                  "see gradflow.decay"))
    quantiles = getattr(result, bands, None) if bands and _is_batch(result) else None
    return np.asarray(values, float), quantiles, label


def _is_batch(result):
    return hasattr(result, "quantile_levels")


def _draw_bands(ax, lags, quantiles, levels, color):
    """Outer band (lowest to highest level) light, inner band darker."""
    count = len(levels)
    for i in range(count // 2):
        low, high = finite(quantiles[i]), finite(quantiles[count - 1 - i])
        ax.fill_between(lags, low, high, color=lighter(color, 0.55 - 0.2 * i), alpha=0.5,
                        lw=0, zorder=1)


def plot_decay(result, *, ax=None, curve="output", bound=True, horizon=True, bands=True,
               threshold=True, **kwargs):
    """Draw a gradient-decay curve against the lag k, with its bands, bound and horizon.

    Parameters
    ----------
    result : DecayResult or DecayBatchResult
        From :func:`gradflow.decay` (a cell or a network, one sequence or a batch).  A batch
        draws its per-lag median, and its quantile bands where it has them.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted (pyplot is never used).
    curve : str, optional
        ``"output"`` (default: ``dy_T/ds_{T-k}``, the curve the horizon and rate read),
        ``"state"`` (the whole state's ``ds_T/ds_{T-k}``), ``"input"`` (``dy_T/dx_{T-k}``),
        ``"hidden"``, ``"cell"`` (the LSTM blocks ``dh_T/dh_{T-k}``, ``dc_T/dc_{T-k}``),
        ``"output_c"`` (LSTM: ``dh_T/dc_{T-k}``) or ``"layers"`` (networks: the output's
        view of each layer's own state, one line per layer).
    bound : bool, optional
        Pascanu et al.'s bound ``k log10(gamma sigma_max)`` (RNN), dashed, where the result
        has one and the curve is a Jacobian product; drawn to the edge of the axes and
        labelled there.
    horizon : bool, optional
        A dot at the gradient horizon (``curve="output"`` only: the curve it is read from).
    bands : bool, optional
        A batch's quantile bands (outer levels light, inner darker).
    threshold : bool, optional
        The vanishing threshold as a grey dotted line (drawn once per Axes).
    **kwargs
        Passed to the curve's ``Axes.plot`` (``color``, ``label``, ``linewidth``, ...).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    An exactly zero product (dead relu units) ends its curve with an ``x`` at the bottom.
    """
    ax = axes_or_new(ax)
    if curve == "layers":
        return _plot_layers(result, ax, threshold, kwargs)
    values, quantiles, ylabel = _curve(result, curve)
    lags = np.arange(values.size)
    line, = ax.plot(lags, finite(values), **style(kwargs, linewidth=1.6, label=result.model))
    line.set_gid(_CURVE)
    color = line.get_color()
    if bands and quantiles is not None:
        _draw_bands(ax, lags, quantiles, result.quantile_levels, color)
    zero = np.flatnonzero(np.isneginf(values))
    if zero.size:
        mark, = ax.plot([zero[0]], [0.0], marker="x", color=color, ms=9, mew=2,
                        clip_on=False, ls="none", zorder=6)
        mark.set_gid(_ZERO)
    factor = result.bound
    if bound and curve in _BOUNDED and factor is not None and factor > 0:
        b, = ax.plot(lags, lags * math.log10(factor), color=color, ls="--", lw=1, alpha=0.85)
        b.set_gid(f"{_BOUND}:{factor:.3g}")
    k = result.gradient_horizon
    if horizon and curve == "output" and k is not None and np.isfinite(values[k]):
        ax.plot([k], [values[k]], "o", color=color, ms=6, mec="black", mew=0.6, zorder=5)
    if threshold and not any(x.get_gid() == _THRESHOLD for x in ax.lines):
        thr = ax.axhline(math.log10(result.threshold), color="0.4", lw=0.9, ls=":")
        thr.set_gid(_THRESHOLD)
        ax.annotate(f"threshold {result.threshold:g}", (0, math.log10(result.threshold)),
                    textcoords="offset points", xytext=(3, 3), color="0.3", fontsize=8)
    _fit_view(ax)
    ax.set_xlabel("lag k (steps back from T)")
    ax.set_ylabel(ylabel)
    if not ax.get_title():
        ax.set_title("Gradient norm against lag" + (" (dots: gradient horizon)"
                                                    if horizon and curve == "output" else ""))
    return ax


def _plot_layers(result, ax, threshold, kwargs):
    layers = getattr(result, "log10_norm2_output_layers", None)
    if layers is None:
        raise GradflowError(f"{result.model}: curve='layers' needs a network's decay result "
                            "(log10_norm2_output_layers)")
    base = kwargs.pop("color", kwargs.pop("c", None))
    name = kwargs.pop("label", result.model)
    styles = ["-", "--", "-.", ":"]
    for index, values in enumerate(np.asarray(layers, float)):
        extra = {} if base is None else {"color": lighter(base, 0.5 * index / len(layers))}
        line, = ax.plot(np.arange(values.size), finite(values),
                        **style(kwargs, linewidth=1.5, linestyle=styles[index % 4],
                                label=f"{name}: layer {index}",
                                **extra))
        line.set_gid(_CURVE)
    if threshold and not any(x.get_gid() == _THRESHOLD for x in ax.lines):
        ax.axhline(math.log10(result.threshold), color="0.4", lw=0.9, ls=":").set_gid(_THRESHOLD)
    _fit_view(ax)
    ax.set_xlabel("lag k (steps back from T)")
    ax.set_ylabel(r"$\log_{10}\,\|\partial y_T/\partial s^{(l)}_{T-k}\|_2$")
    if not ax.get_title():
        ax.set_title("What the output sees of each layer's state")
    return ax


def _fit_view(ax):
    """Limits that keep every curve and the threshold in view; bounds drawn to the edge.

    A bound may widen the range by at most half the data's span (it is a line through the
    origin with a fixed slope, so it leaves the axes somewhere); it is labelled where it
    leaves them.
    """
    curves = [x for x in ax.lines if x.get_gid() == _CURVE]
    held = [x.get_ydata() for x in curves]
    held += [x.get_ydata() for x in ax.lines if x.get_gid() == _THRESHOLD]
    rng = finite_range(held) or (-1.0, 0.0)
    lo, hi = rng
    span = max(hi - lo, 1.0)
    bounds = [x for x in ax.lines if (x.get_gid() or "").startswith(_BOUND)]
    for b in bounds:
        y = np.asarray(b.get_ydata(), float)
        early = y[: max(2, y.size // 4)]
        lo = min(lo, max(float(early.min()), rng[0] - 0.5 * span))
        hi = max(hi, min(float(early.max()), rng[1] + 0.5 * span))
    lo, hi = padded(lo, hi, minimum_span=1.0, pad=0.06)
    ax.set_ylim(lo, hi)
    right = max((len(x.get_xdata()) - 1 for x in curves), default=1)
    ax.set_xlim(0, max(right, 1))
    for mark in (x for x in ax.lines if x.get_gid() == _ZERO):
        mark.set_ydata([lo])
    for text in [t for t in ax.texts if t.get_gid() == _LABEL]:
        text.remove()
    for b in bounds:
        _label_bound(ax, b, lo, hi)


def _label_bound(ax, line, lo, hi):
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    outside = np.flatnonzero((y < lo) | (y > hi))
    if outside.size:
        i = int(outside[0])
        edge = lo if y[i] < lo else hi
        # where the line crosses the edge, between lags i - 1 and i
        xe = x[i - 1] + (edge - y[i - 1]) / (y[i] - y[i - 1]) * (x[i] - x[i - 1]) if i else x[0]
    else:
        xe, edge = x[-1], y[-1]
    factor = line.get_gid().split(":", 1)[1]
    va = "bottom" if edge <= lo + 1e-9 or outside.size == 0 else "top"
    right = xe > 0.75 * ax.get_xlim()[1]
    text = ax.annotate(f"bound {factor}$^k$", (xe, edge), textcoords="offset points",
                       xytext=(-4 if right else 4, 2 if va == "bottom" else -2), va=va,
                       ha="right" if right else "left", fontsize=7.5, color=line.get_color())
    text.set_gid(_LABEL)
