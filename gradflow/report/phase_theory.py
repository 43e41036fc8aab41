"""Mean-field theory beside a sweep's phase diagram: predicted lambda_1 and the critical gain.

For the random tanh RNN the sweep draws (``gaussian`` init: ``W_h ~ N(0, g^2/n)``, ``W_x ~
N(0, 1/d)``, zero bias, inputs of standard deviation ``input_scale``), the input adds the
variance ``input_scale^2`` to every pre-activation, and :func:`gradflow.mean_field` predicts
``lambda_1 = ln(chi) / 2`` at each gain, the gradient's log10 decay factor
``lambda_1 / ln 10`` and the critical gain where ``chi = 1``.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..analysis.meanfield import mean_field

__all__ = ["TheoryCurve", "draw_theory", "theory_curves"]

#: Gains at which the theory curve is evaluated (each is an adaptive quadrature).
POINTS = 41


@dataclass(frozen=True)
class TheoryCurve:
    """The mean-field prediction for one cell kind of a sweep.

    Attributes
    ----------
    kind : str
        The kind it is drawn beside (``"RNN-tanh"``).
    input_variance : float
        ``input_scale^2`` of the sweep's points.
    gains : ndarray, shape (G,)
    lambda_1 : ndarray, shape (G,)
        ``ln(chi) / 2`` at each gain (nats per step).
    critical_gain : float or None
        Where ``chi = 1``: the predicted order-to-chaos transition.
    """

    kind: str
    input_variance: float
    gains: np.ndarray
    lambda_1: np.ndarray
    critical_gain: float | None

    def to_dict(self):
        """The summary of the theory for ``gradflow sweep-report --json``."""
        return {"kind": self.kind, "input_variance": self.input_variance,
                "critical_gain": self.critical_gain}


def theory_curves(rows):
    """The theory curves a sweep's rows allow, by kind.

    Only kinds whose rows are all gaussian-initialised tanh RNNs without a leak and share one
    input scale get a curve: the assumptions of the theory.

    Parameters
    ----------
    rows : list of dict
        The sweep's results (:func:`gradflow.sweep.store.read_results`).

    Returns
    -------
    dict of str to TheoryCurve
    """
    by_kind = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    out = {}
    for kind, members in by_kind.items():
        if not all(r["cell"] == "rnn" and r["activation"] == "tanh" and r["init"] == "gaussian"
                   and r.get("leak") in (None, 1.0) for r in members):
            continue
        scales = {r["input_scale"] for r in members}
        gains = [r["gain"] for r in members if r["gain"] is not None]
        if len(scales) != 1 or not gains:
            continue
        variance = float(next(iter(scales))) ** 2
        grid = np.linspace(max(min(gains), 0.0), max(gains), POINTS)
        grid = grid[grid > 0]
        if grid.size == 0:
            continue
        lam = np.array([mean_field(g, input_variance=variance).lambda_1 for g in grid])
        critical = mean_field(grid[-1], input_variance=variance).critical_gain
        out[kind] = TheoryCurve(kind=kind, input_variance=variance, gains=grid, lambda_1=lam,
                                critical_gain=critical)
    return out


def draw_theory(theory, *, lambda_axes=(), decay_axes=()):
    """Draw ``theory`` on the lambda_1 panels and the decay-rate panels of its kind.

    The curve is black and dotted; the critical gain is a vertical line on every panel.
    Each panel keeps its limits (the theory diverges to -inf at gain 0).
    """
    label = (rf"mean field, $\sigma^2_x$ = {theory.input_variance:g}: "
             r"$\lambda_1 = \frac{1}{2}\ln\chi$")
    for axes, scale in ((lambda_axes, 1.0), (decay_axes, 1.0 / math.log(10.0))):
        for ax in axes:
            limits = ax.get_xlim(), ax.get_ylim()
            y = np.where(np.isfinite(theory.lambda_1), theory.lambda_1 * scale, np.nan)
            ax.plot(theory.gains, y, color="black", ls=":", lw=1.6, label=label, zorder=4)
            if theory.critical_gain is not None:
                ax.axvline(theory.critical_gain, color="black", ls="-.", lw=1.0, alpha=0.8,
                           label=f"predicted transition g* = {theory.critical_gain:.3g}")
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])
            ax.legend(loc="upper left", fontsize=7.5)
