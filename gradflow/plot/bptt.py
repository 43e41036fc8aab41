"""Backpropagation through time split by lag: where the weight gradient comes from."""

import numpy as np

from ._style import axes_or_new, style


def plot_bptt_by_lag(result, *, ax=None, names=None, normalise=False, **kwargs):
    """Per-lag gradient mass ``||sum_t lag-l terms||`` against the lag l, on a log scale.

    Parameters
    ----------
    result : BPTTResult
        From :func:`gradflow.bptt` with ``by_lag=True``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted.
    names : sequence of str, optional
        Only these weights (default: all of them together).
    normalise : bool, optional
        Divide by the total mass over all lags (the share each lag contributes).
    **kwargs
        Passed to ``Axes.plot`` (``color``, ``label``, ...).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The long-term components of Pascanu et al. (2013) are the large lags; exact zeros are
    left out of the log scale.
    """
    ax = axes_or_new(ax)
    mass = np.asarray(result.lag_norms(names), float)
    if normalise and mass.sum() > 0:
        mass = mass / mass.sum()
    which = "all weights" if names is None else ", ".join(names)
    ax.plot(result.lags, np.where(mass > 0, mass, np.nan),
            **style(kwargs, linewidth=1.4, label=f"{result.model}: {which}"))
    ax.set_yscale("log")
    ax.set_xlabel("lag l (steps back from the loss term)")
    ax.set_ylabel("share of the gradient" if normalise else "gradient mass at lag l")
    if not ax.get_title():
        ax.set_title("Weight gradient split by time lag")
    return ax
