"""Spectra: singular values of the recurrent matrices and of the backward products.

Also the per-step Jacobian norms along a run.
"""

import numpy as np
from matplotlib.ticker import NullFormatter

from ._style import axes_or_new, finite, lighter, style

_MARKERS = ["o", "s", "^", "D", "v", "P"]
_SINGULAR, _GAMMA = "gradflow-singular-values", "gradflow-gamma"


def plot_singular_values(spectrum, *, ax=None, gamma_lines=True, **kwargs):
    """Singular values of each recurrent matrix ``W_*h``, with the ``1/gamma`` line of its gate.

    A matrix whose singular values all lie below ``1/gamma`` cannot stretch a gradient
    through its gate: ``gamma sigma_max < 1``.

    Parameters
    ----------
    spectrum : SpectrumResult
        From :func:`gradflow.spectrum`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted.
    gamma_lines : bool, optional
        The dashed ``1/gamma`` lines.
    **kwargs
        Passed to every matrix's ``Axes.plot`` (``color``, ...); the label names the matrix.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    gammas = {}
    label = kwargs.pop("label", None)
    several = len(spectrum.matrices) > 1
    for i, (name, m) in enumerate(spectrum.matrices.items()):
        sv = m.singular_values
        words = f"{name} ({m.activation})"
        if label is not None:
            words = f"{label}: {words}" if several else label
        line, = ax.plot(np.arange(1, sv.size + 1), sv,
                        **style(kwargs, marker=_MARKERS[i % len(_MARKERS)], markersize=3,
                                linewidth=1.1, alpha=1.0 - 0.15 * i, label=words))
        line.set_gid(_SINGULAR)
        gammas.setdefault(m.gamma, []).append(name)
    drawn = {float(x.get_ydata()[0]) for x in ax.lines if x.get_gid() == _GAMMA}
    if gamma_lines:
        for gamma in (g for g in gammas if 1.0 / g not in drawn):
            ax.axhline(1.0 / gamma, color="0.25", ls="--", lw=0.9).set_gid(_GAMMA)
            ax.annotate(f"1/γ = {1 / gamma:g}", (1, 1.0 / gamma), textcoords="offset points",
                        xytext=(2, 3), fontsize=8, color="0.25")
    ax.set_yscale("log")
    # every matrix drawn on these axes so far, by this call or earlier ones, stays in view
    values = np.concatenate([np.asarray(x.get_ydata(), float) for x in ax.lines
                             if x.get_gid() in (_SINGULAR, _GAMMA)])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        ax.set_ylim(values.min() / 1.6, values.max() * 1.6)
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("index i (descending)")
    ax.set_ylabel(r"singular value $\sigma_i$")
    if not ax.get_title():
        ax.set_title(spectrum.model, fontsize=9)
    return ax


def plot_product_singular_values(products, *, ax=None, count=None, **kwargs):
    """Singular values of ``P_k = ds_T/ds_{T-k}`` against the lag k, one line per index.

    The top line is the gradient-decay curve; the lines below it show how many directions of
    the state a gradient still reaches k steps back.  Lines fade with the index.

    Parameters
    ----------
    products : ProductSpectrum
        From :func:`gradflow.analysis.product_spectrum.product_singular_values`.
    ax : matplotlib.axes.Axes, optional
    count : int, optional
        Draw only the ``count`` largest (default: all m).
    **kwargs
        Passed to the top line's ``Axes.plot`` (``color``, ``label``, ...); the others take
        its colour, lighter.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    logs = products.log10_singular_values
    count = logs.shape[1] if count is None else min(int(count), logs.shape[1])
    label = kwargs.pop("label", products.model)
    top, = ax.plot(products.lags, finite(logs[:, 0]),
                   **style(kwargs, linewidth=1.8, label=label + r": $\sigma_1$"))
    color = top.get_color()
    for j in range(1, count):
        ax.plot(products.lags, finite(logs[:, j]), color=lighter(color, 0.25 + 0.6 * j / count),
                lw=0.8, zorder=1)
    ax.set_xlabel("lag k (steps back from T)")
    ax.set_ylabel(r"$\log_{10}\,\sigma_i(\partial s_T/\partial s_{T-k})$")
    if not ax.get_title():
        ax.set_title(products.model, fontsize=9)
    return ax


def plot_jacobian_norms(spectrum, *, ax=None, bound=True, **kwargs):
    """``||J_t||_2`` at every step of the run, with Pascanu's bound where there is one.

    Parameters
    ----------
    spectrum : SpectrumResult
        From :func:`gradflow.spectrum` with inputs (it carries ``jacobian_norms``); a batch
        draws its first sequence.
    ax : matplotlib.axes.Axes, optional
    bound : bool, optional
        The dashed line ``gamma sigma_max(W_h)`` (RNN).
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    norms = np.asarray(spectrum.jacobian_norms, float)
    if norms.ndim == 2:
        norms = norms[0]
    label = kwargs.pop("label", spectrum.model)
    line, = ax.plot(np.arange(1, norms.size + 1), norms,
                    **style(kwargs, linewidth=1.1, label=f"{label} (max {norms.max():.3g})"))
    if bound and spectrum.bound is not None:
        ax.axhline(spectrum.bound, color=line.get_color(), ls="--", lw=1,
                   label=f"bound γσ_max = {spectrum.bound:.3g}")
    ax.axhline(1.0, color="0.55", lw=0.8, zorder=0)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\|J_t\|_2 = \|\partial s_t/\partial s_{t-1}\|_2$")
    return ax
