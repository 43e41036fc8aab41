"""A phase diagram from sweep results: per cell kind and size, lambda_1 and decay against gain.

Rows that share every parameter but the gain and the seed form one curve; at each gain the
seeds are summarised by their median and their range.  Nothing here draws.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import GradflowError, source_prefix
from ._style import CELL_COLORS

#: Parameters that tell curves apart (besides the cell kind and hidden size, always shown).
_CURVE_PARAMETERS = ("inputs", "init", "forget_bias", "steps", "input_scale", "h0_scale",
                     "warmup", "k", "threshold")


@dataclass(frozen=True)
class PhaseCurve:
    """One cell kind and size across gains, its seeds summarised.

    Attributes
    ----------
    kind : str
        ``"RNN-tanh"``, ``"LSTM"``, ...
    hidden : int
        n.
    extra : dict
        The other parameters that vary between the sweep's curves, e.g. ``{"init": "orthogonal"}``.
    gains : ndarray, shape (G,)
        Ascending.
    seeds : ndarray of int, shape (G,)
        Successful points at each gain.
    failed : ndarray of int, shape (G,)
        Failed points at each gain.
    lambda_1 : ndarray, shape (3, G)
        Median, lowest and highest lambda_1 over the seeds (nats per step; NaN: no point).
    log10_decay_rate : ndarray, shape (3, G)
        The same for the fitted decay rate (decades per step).
    log_bound : ndarray, shape (G,) or None
        RNN: the median of ``ln(gamma sigma_max(W_h))``, Pascanu's bound in nats per step.
    chaotic_fraction : ndarray, shape (G,)
        Fraction of the seeds with lambda_1 > 0.
    """

    kind: str
    hidden: int
    extra: dict
    gains: np.ndarray
    seeds: np.ndarray
    failed: np.ndarray
    lambda_1: np.ndarray
    log10_decay_rate: np.ndarray
    log_bound: np.ndarray | None
    chaotic_fraction: np.ndarray

    @property
    def label(self):
        """``"n = 256"``, with the other varying parameters."""
        words = [f"n = {self.hidden}"]
        words += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in self.extra.items()]
        return ", ".join(words)

    @property
    def crossing_gain(self):
        """Gain where the median lambda_1 first rises through 0 (linear interpolation)."""
        return upward_crossing(self.gains, self.lambda_1[0])

    @property
    def decay_crossing_gain(self):
        """Gain where the median decay rate first rises through 0 (the decay factor 1)."""
        return upward_crossing(self.gains, self.log10_decay_rate[0])


@dataclass(frozen=True)
class PhaseDiagram:
    """The curves of a sweep, by kind and size.

    Attributes
    ----------
    curves : tuple of PhaseCurve
        Ordered by kind (the report's colour order), then size.
    points : int
        Rows read.
    failed : int
        Failed rows.
    first_failure : str or None
        The first failed row's message.
    source : str
        The results file.
    """

    curves: tuple
    points: int
    failed: int
    first_failure: str | None
    source: str

    @property
    def kinds(self):
        """The cell kinds, in order."""
        return tuple(dict.fromkeys(c.kind for c in self.curves))

    def of_kind(self, kind):
        """The curves of one kind."""
        return tuple(c for c in self.curves if c.kind == kind)

    def to_dict(self):
        """JSON form: per curve the crossing gains."""
        return {
            "source": self.source,
            "points": self.points,
            "failed": self.failed,
            "curves": [{"kind": c.kind, "hidden": c.hidden, **c.extra,
                        "gains": [float(g) for g in c.gains],
                        "seeds": int(c.seeds.max()) if c.seeds.size else 0,
                        "lambda_1_crossing_gain": c.crossing_gain,
                        "decay_crossing_gain": c.decay_crossing_gain}
                       for c in self.curves],
        }


def upward_crossing(x, y):
    """First x where y rises through 0 between neighbours (linear interpolation), or None."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    for i in range(len(y) - 1):
        if y[i] < 0 <= y[i + 1]:
            return float(x[i] + (x[i + 1] - x[i]) * (-y[i]) / (y[i + 1] - y[i]))
    return None


def _summary(values):
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    a = np.array(finite, float)
    return float(np.median(a)), float(a.min()), float(a.max())


def _kind_order(kind):
    order = list(CELL_COLORS)
    return order.index(kind) if kind in order else len(order)


def phase_diagram(rows, *, source=""):
    """Group sweep rows into phase curves.

    Parameters
    ----------
    rows : list of dict
        Rows of a results file (``gradflow.sweep.store.read_results``).
    source : str
        Where they come from, for messages.

    Returns
    -------
    PhaseDiagram

    Raises
    ------
    GradflowError
        When no point succeeded.
    """
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    label = source_prefix(source)
    if not ok:
        if not failed:
            raise GradflowError(f"{label}nothing to plot: the file holds no points")
        which = ("its one point failed" if len(failed) == 1 else
                 f"all {len(failed)} points failed, the first")
        raise GradflowError(f"{label}nothing to plot: {which} with: {failed[0]['error']}")
    varying = [p for p in _CURVE_PARAMETERS
               if len({r[p] for r in rows if r[p] is not None}) > 1]
    groups = {}
    for r in rows:
        key = (r["kind"], r["hidden"], *(r[p] for p in varying))
        groups.setdefault(key, []).append(r)
    curves = []
    for key, members in groups.items():
        kind, hidden, *others = key
        extra = {p: v for p, v in zip(varying, others, strict=True) if v is not None}
        gains = np.array(sorted({r["gain"] for r in members}))
        lam = np.empty((3, gains.size))
        rate = np.empty((3, gains.size))
        bound = np.empty(gains.size)
        seeds = np.zeros(gains.size, dtype=int)
        fails = np.zeros(gains.size, dtype=int)
        chaotic = np.full(gains.size, np.nan)
        for i, g in enumerate(gains):
            at = [r for r in members if r["gain"] == g]
            good = [r for r in at if r["status"] == "ok"]
            seeds[i] = len(good)
            fails[i] = len(at) - len(good)
            lam[:, i] = _summary([r["lambda_1"] for r in good])
            rate[:, i] = _summary([r["log10_decay_rate"] for r in good])
            bounds = [math.log(r["bound"]) for r in good if r["bound"]]
            bound[i] = float(np.median(bounds)) if bounds else math.nan
            if good:
                chaotic[i] = float(np.mean([r["lambda_1"] > 0 for r in good]))
        curves.append(PhaseCurve(
            kind=kind, hidden=int(hidden), extra=extra, gains=gains, seeds=seeds,
            failed=fails, lambda_1=lam, log10_decay_rate=rate,
            log_bound=bound if np.isfinite(bound).any() else None,
            chaotic_fraction=chaotic))
    curves.sort(key=lambda c: (_kind_order(c.kind), c.kind, c.hidden,
                               tuple(str(v) for v in c.extra.values())))
    first = None
    if failed:
        first = failed[0]["error"]
    return PhaseDiagram(curves=tuple(curves), points=len(rows), failed=len(failed),
                        first_failure=first, source=source)
