"""Training histories: reading one and drawing its loss, gradient norm, lag mass, decay, flossing.

The histories are those of ``gradflow train --history`` and :class:`gradflow.torch.Monitor`.

A history may lack fields (a monitored run has no task, baseline or evaluation loss): every
panel draws what is there and says what is not.
"""

import json
import math
import os

import numpy as np

from ..cells import cell_class
from ..errors import GradflowError
from ..io.files import read_text
from ..training.history import (
    HISTORY_FORMAT,
    HISTORY_VERSION,
    HISTORY_VERSIONS,
    TooLarge,
    check_numbers,
    check_scalar,
    check_series,
    check_step,
    parse_large_int,
)
from ._style import axes_or_new, kind_color, style
from .floss import check_floss, draw_floss_exponents

_MAX_BYTES = 512 * 2**20
#: The panels of :func:`plot_history`.
PANELS = ("loss", "grad_norm", "lag_mass", "decay", "floss")


def _floats(values, where):
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError, OverflowError):
        raise GradflowError(f"{where}: expected a list of numbers or null") from None


def _non_finite(path):
    def refuse(name):
        raise GradflowError(f"{path}: holds {name}; a history holds finite numbers (null for "
                            "a missing one), and gradflow never writes NaN or infinity")
    return refuse


def _finite(text):
    """A JSON number as a float; one beyond float64 kept as text, for the check to name."""
    value = float(text)
    return value if np.isfinite(value) else TooLarge(text)


def load_history(path):
    """Read and check a training history (JSON in the format ``gradflow-train-history``).

    Only ``format`` and ``trace`` (with ``step`` and ``loss``) are required; ``config``,
    ``task``, ``snapshots`` and ``summary`` default to empty when absent.

    Returns
    -------
    dict
        The document, with ``label`` (the file name without extension) added.
    """
    path = os.fspath(path)
    text = read_text(path, "history", limit=_MAX_BYTES)
    try:
        doc = json.loads(text, parse_constant=_non_finite(path), parse_float=_finite,
                         parse_int=parse_large_int)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GradflowError(f"{path}: not a JSON history ({exc})") from None
    doc = check_history(doc, path)
    doc["label"] = os.path.splitext(os.path.basename(path))[0]
    return doc


_CURVES = ("log10_norm2_output", "log10_norm2", "log10_norm2_input", "log10_norm2_h",
           "log10_norm2_c")


def _check_snapshot(snap, path, key):
    if not isinstance(snap, dict):
        raise GradflowError(f"{path}: {key} must be an object")
    if "step" not in snap:
        raise GradflowError(f"{path}: {key} has no step; every snapshot names the training "
                            "step it was taken at")
    check_step(snap["step"], path, f"{key}.step")
    for name in ("eval_loss", "long_lag_share", "eval_accuracy"):
        check_scalar(snap.get(name), path, f"{key}.{name}")
    if snap.get("lag_mass") is not None:
        check_series(snap["lag_mass"], path, f"{key}.lag_mass")
    decay = snap.get("decay")
    if decay is not None and not isinstance(decay, dict):
        raise GradflowError(f"{path}: {key}.decay must be an object or null")
    for name in _CURVES if decay else ():
        if decay.get(name) is not None:
            check_series(decay[name], path, f"{key}.decay.{name}")


def _check_trace(trace, path):
    if not isinstance(trace, dict) or not all(k in trace for k in ("step", "loss")):
        raise GradflowError(f"{path}: trace needs step and loss")
    steps = check_series(trace["step"], path, "trace.step", kind="step")
    for key in ("loss", "grad_norm", "clipped", "non_finite"):
        if key in trace:
            check_series(trace[key], path, f"trace.{key}",
                         kind="flag" if key in ("clipped", "non_finite") else "number")
            if len(trace[key]) != len(steps):
                raise GradflowError(f"{path}: trace.{key} must be a list of {len(steps)} "
                                    "entries (one per trace.step)")


def check_history(doc, where="history", *, label="history"):
    """A history document checked, its optional parts filled in empty, ``label`` added.

    Only ``format`` and ``trace`` (with ``step`` and ``loss``) are required; a key that is
    there must hold what docs/history.md says (``config: null`` is refused, not read as
    empty).  Every number must be finite and at most 1e300 in magnitude; steps are integers >= 0;
    ``version`` is one this gradflow reads.
    """
    path = where
    if not isinstance(doc, dict) or doc.get("format") != HISTORY_FORMAT:
        raise GradflowError(f"{path}: not a gradflow training history (no format "
                            f"{HISTORY_FORMAT!r}); write one with gradflow train --history")
    check_numbers(doc, path)
    version = doc.get("version", HISTORY_VERSION)
    if type(version) is not int or version not in HISTORY_VERSIONS:
        known = " and ".join(str(v) for v in HISTORY_VERSIONS)
        raise GradflowError(f"{path}: version is {version!r}; this gradflow reads history "
                            f"versions {known}")
    _check_trace(doc.get("trace"), path)
    for key, empty in (("config", {}), ("task", {}), ("snapshots", []), ("summary", {})):
        if key in doc and not isinstance(doc[key], type(empty)):
            what = "a list" if empty == [] else "an object"
            found = "null" if doc[key] is None else f"not {what}"
            raise GradflowError(f"{path}: {key} is {found}; it must be {what} (leave the key "
                                "out when there is none)")
    for i, snap in enumerate(doc.get("snapshots", [])):
        _check_snapshot(snap, path, f"snapshots[{i}]")
    check_scalar(doc.get("task", {}).get("baseline"), path, "task.baseline")
    for key in ("clip", "length"):
        check_scalar(doc.get("config", {}).get(key), path, f"config.{key}")
    if doc.get("floss") is not None:
        check_floss(doc["floss"], path)
    if not isinstance(doc.get("label", label), str):
        raise GradflowError(f"{path}: label must be a string")
    doc = dict(doc)
    for key, empty in (("config", {}), ("task", {}), ("snapshots", []), ("summary", {})):
        doc.setdefault(key, type(empty)())
    doc.setdefault("label", label)
    return doc


def as_history(history):
    """A checked history document from a path or an already loaded document."""
    if isinstance(history, dict):
        return check_history(history)
    return load_history(history)


def history_kind(doc):
    """The cell kind of a history's run (``"RNN-tanh"``, ``"LSTM"``), or None if unknown."""
    cfg = doc.get("config", {})
    try:
        cls = cell_class(cfg.get("cell"))
        return cls.kind_for(**{name: cfg.get(name) for name in cls.stored_options()})
    except GradflowError:
        return None


def history_color(doc, index):
    """The cell's colour (as on every other page), or a spare one for other kinds."""
    return kind_color(history_kind(doc), index)


def log_axis(ax, *values):
    """Log-scale ``ax`` with limits set from the positive ``values``; False if none is.

    Set here, not by matplotlib's margins: those leave float64 for data spanning hundreds
    of decades (a subnormal gradient norm beside a large one) and fall back to 1..10.
    """
    ys = np.concatenate([np.ravel(np.asarray(v, float)) for v in values] or [[]])
    ys = ys[np.isfinite(ys) & (ys > 0)]
    if not ys.size:
        return False
    low, high = float(np.log10(ys.min())), float(np.log10(ys.max()))
    pad = max(0.05 * (high - low), 0.05)
    low, high = max(low - pad, -323.3), min(high + pad, 307.0)
    ax.set_ylim(10.0 ** low, 10.0 ** high)  # first: it turns off the autoscaling that
    ax.set_yscale("log")  # set_yscale would run with margins past float64
    if high > 250 or high - low > 200:  # matplotlib's ticks would run past float64
        from matplotlib.ticker import FixedLocator, NullLocator

        stride = max(1, math.ceil((high - low) / 8))
        ax.yaxis.set_major_locator(FixedLocator(10.0 ** np.arange(math.ceil(low), high, stride)))
        ax.yaxis.set_minor_locator(NullLocator())
    return True


def loss_axis(ax, *values):
    """Log-scale a loss axis when every finite loss is positive, else keep it linear.

    A loss that can be zero or negative (a log-likelihood, a shifted objective) has no
    log scale; its axis stays linear with float64-safe limits and says why.
    """
    ys = np.concatenate([np.ravel(np.asarray(v, float)) for v in values] or [[]])
    ys = ys[np.isfinite(ys)]
    if ys.size and (ys > 0).all():
        return log_axis(ax, ys)
    if ys.size:
        low, high = float(ys.min()), float(ys.max())
        pad = 0.05 * (high - low) if high > low else max(abs(high), 1.0) * 0.05
        ax.set_ylim(max(low - pad, -1.7e308), min(high + pad, 1.7e308))
        ax.set_ylabel("loss (linear: some losses are <= 0)")
    return False


def _loss(doc, ax, kwargs):
    trace = doc["trace"]
    steps, loss = _floats(trace["step"], "step"), _floats(trace["loss"], "loss")
    line, = ax.plot(steps, loss,
                    **style(kwargs, linewidth=0.7, alpha=0.6, markersize=3,
                            marker="o" if steps.size < 30 else None,
                            label="training loss (batch)"))
    snaps = [s for s in doc["snapshots"] if s.get("eval_loss") is not None]
    if snaps:
        ax.plot([s["step"] for s in snaps], [s["eval_loss"] for s in snaps], "o-",
                color=line.get_color(), ms=3.5, lw=1.6, label="evaluation loss")
    baseline = doc["task"].get("baseline")
    if baseline:
        ax.axhline(baseline, color="black", ls="--", lw=1,
                   label=f"baseline {baseline:.3g} ({doc['task'].get('baseline_words', '')})")
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        ax.axvline(steps[bad[0]], color="red", lw=1.2,
                   label=f"non-finite from step {int(steps[bad[0]])}")
    ax.set_ylabel("loss")
    loss_axis(ax, loss, [s["eval_loss"] for s in snaps], [baseline or np.nan])
    ax.set_title("Loss", fontsize=10)


def _grad_norm(doc, ax, kwargs):
    trace = doc["trace"]
    if "grad_norm" not in trace:
        return _missing(ax, "this history records no gradient norms")
    steps, norm = _floats(trace["step"], "step"), _floats(trace["grad_norm"], "grad_norm")
    ax.plot(steps, np.where(norm > 0, norm, np.nan),
            **style(kwargs, linewidth=0.8, markersize=3,
                    marker="o" if steps.size < 30 else None, label="‖g‖ before clipping"))
    clipped = np.array([bool(c) for c in trace.get("clipped", [])] or [False] * steps.size)
    if clipped.any():
        ax.plot(steps[clipped], norm[clipped], "|", color="black", ms=5, alpha=0.5,
                label=f"clipped ({100 * clipped.mean():.0f}% of steps)")
    clip = doc["config"].get("clip")
    if clip is not None and doc["config"].get("clip_method", "norm") == "norm":
        ax.axhline(clip, color="black", ls="--", lw=1, label=f"threshold c = {clip:g}")
    bad = np.flatnonzero(~np.isfinite(norm))
    if bad.size:
        ax.axvline(steps[bad[0]], color="red", lw=1.2, label="non-finite gradient")
    log_axis(ax, norm, [np.nan if clip is None else clip])
    ax.set_ylabel("gradient norm ‖g‖₂")
    ax.set_title("Gradient norm (Pascanu et al. 2013 clipping)", fontsize=10)


def _snapshot_colors(count):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(count, 1))]


def _missing(ax, words):
    ax.text(0.5, 0.5, words, transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="0.35", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _snapshot_curves(doc, ax, read, kwargs):
    snaps = [(s, read(s)) for s in doc["snapshots"]]
    snaps = [(s, c) for s, c in snaps if c is not None]
    for (_, curve), color in zip(snaps, _snapshot_colors(len(snaps)), strict=False):
        ax.plot(np.arange(curve.size), curve, **style(kwargs, color=color, linewidth=1.0))
    if snaps:
        ax.text(0.02, 0.03, f"steps {snaps[0][0].get('step')} (dark) to "
                f"{snaps[-1][0].get('step')} (light)", transform=ax.transAxes, ha="left",
                va="bottom", fontsize=8, bbox={"fc": "white", "ec": "0.8", "alpha": 0.85})
    return len(snaps)


def _lag_mass(doc, ax, kwargs):
    def read(s):
        if not s.get("lag_mass"):
            return None
        mass = _floats(s["lag_mass"], "lag_mass")
        return np.where(mass > 0, mass, np.nan)

    if not _snapshot_curves(doc, ax, read, kwargs):
        return _missing(ax, "no snapshot of this history has a per-lag gradient split")
    if not log_axis(ax, *(line.get_ydata() for line in ax.get_lines())):
        ax.text(0.5, 0.5, "no lag has a gradient mass above zero", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="0.35")
    length = doc["config"].get("length")
    if length:
        ax.axvline(length / 2, color="0.4", ls=":", lw=1)
    ax.set_ylabel("gradient mass at that lag")
    ax.set_title("Per-lag gradient mass (long lags right of the dotted line)", fontsize=10)


def _decay(doc, ax, kwargs):
    def read(s):
        d = s.get("decay") or {}
        curve = d.get("log10_norm2_output", d.get("log10_norm2"))
        return None if not curve else _floats(curve, "decay curve")

    if not _snapshot_curves(doc, ax, read, kwargs):
        return _missing(ax, "no snapshot of this history has a gradient-decay curve")
    ax.axhline(-3, color="0.4", ls=":", lw=1)
    ax.set_ylabel(r"$\log_{10}\,\|\partial y_T/\partial s_{T-k}\|_2$")
    ax.set_title("Gradient decay at each snapshot (dark early, light late)", fontsize=10)


def _floss(doc, ax, kwargs):
    draw_floss_exponents(doc, ax, **kwargs)


_DRAW = {"loss": _loss, "grad_norm": _grad_norm, "lag_mass": _lag_mass, "decay": _decay,
         "floss": _floss}
_XLABEL = {"loss": "training step", "grad_norm": "training step", "lag_mass": "lag (steps)",
           "decay": "lag k (steps)",
           "floss": "training step (flossing before training at steps ≤ 0)"}


def plot_history(history, *, ax=None, panel="loss", **kwargs):
    """One panel of a training history: loss, gradient norm, per-lag mass or decay snapshots.

    Parameters
    ----------
    history : str, os.PathLike or dict
        A history file (``gradflow train --history``, ``Monitor(history=...)``) or the
        document :func:`load_history` returned.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted (pyplot is never used).
    panel : str, optional
        One of :data:`PANELS`: ``"loss"`` (batch loss, evaluation loss and the task's
        baseline where recorded), ``"grad_norm"`` (before clipping, clipped steps and the
        threshold), ``"lag_mass"`` and ``"decay"`` (one curve per snapshot, dark early),
        ``"floss"`` (the flossed Lyapunov exponents of a ``--floss`` run:
        :func:`~gradflow.plot.floss.plot_floss_exponents`).
    **kwargs
        Passed to the main lines' ``Axes.plot`` (``color``, ``linewidth``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        A panel whose data the history lacks says so in words.
    """
    if panel not in _DRAW:
        raise GradflowError(f"panel must be one of {', '.join(PANELS)}; got {panel!r}")
    doc = as_history(history)
    ax = axes_or_new(ax)
    _DRAW[panel](doc, ax, kwargs)
    ax.set_xlabel(_XLABEL[panel])
    if panel != "floss" and ax.get_legend_handles_labels()[0]:  # floss places its own
        ax.legend(fontsize=7.5, loc="best")
    return ax


def plot_floss_exponents(history, *, ax=None, k=None, **kwargs):
    """The first k exponents of a flossing run against the training step.

    Parameters
    ----------
    history : str, os.PathLike or dict
        A history of ``gradflow train --floss K`` (a file, or the document
        :func:`load_history` returned); its ``floss`` section (docs/history.md).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted (pyplot is never used).
    k : int, optional
        How many of the recorded exponents to draw (default: all K flossed).
    **kwargs
        Passed to every exponent's ``Axes.plot``; ``color`` is lambda_1's, the later
        exponents lighter shades of it (default: a sequential ramp, lambda_1 darkest), and
        ``label`` names lambda_1's line.

    Returns
    -------
    matplotlib.axes.Axes
        One line per exponent (lambda_1 first) at each flossing step: the training step it
        followed, the P steps before training at ``-(P - 1), ..., 0`` and shaded; the target
        dashed; NaN (a gap) for a batch that could not be flossed.  A history without
        flossing says so in words.
    """
    doc = as_history(history)
    return draw_floss_exponents(doc, axes_or_new(ax), k, **kwargs)
