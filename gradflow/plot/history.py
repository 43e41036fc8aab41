"""Training histories: reading one and drawing its loss, gradient norm, lag mass and decay.

The histories are those of ``gradflow train --history`` and :class:`gradflow.torch.Monitor`.

A history may lack fields (a monitored run has no task, baseline or evaluation loss): every
panel draws what is there and says what is not.
"""

import json
import os

import numpy as np

from ..cells import cell_class
from ..errors import GradflowError
from ..io.files import read_text
from ..training.history import HISTORY_FORMAT
from ._style import axes_or_new, kind_color, style

_MAX_BYTES = 512 * 2**20
#: The panels of :func:`plot_history`.
PANELS = ("loss", "grad_norm", "lag_mass", "decay")


def _floats(values, where):
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        raise GradflowError(f"{where}: expected a list of numbers or null") from None


def _non_finite(path):
    def refuse(name):
        raise GradflowError(f"{path}: holds {name}; a history holds finite numbers (null for "
                            "a missing one), and gradflow never writes NaN or infinity")
    return refuse


def _finite(path):
    def parse(text):
        value = float(text)
        if not np.isfinite(value):
            raise GradflowError(f"{path}: the number {text} is beyond the float64 range")
        return value
    return parse


def load_history(path):
    """Read and check a training history (JSON in the format ``gradflow-train-history``).

    Only ``format`` and ``trace`` (with ``step`` and ``loss``) are required; ``config``,
    ``task``, ``snapshots`` and ``summary`` default to empty.

    Returns
    -------
    dict
        The document, with ``label`` (the file name without extension) added.
    """
    path = os.fspath(path)
    text = read_text(path, "history", limit=_MAX_BYTES)
    try:
        doc = json.loads(text, parse_constant=_non_finite(path), parse_float=_finite(path))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GradflowError(f"{path}: not a JSON history ({exc})") from None
    doc = check_history(doc, path)
    doc["label"] = os.path.splitext(os.path.basename(path))[0]
    return doc


def check_history(doc, where="history", *, label="history"):
    """A history document checked, its optional parts filled in empty, ``label`` added.

    Only ``format`` and ``trace`` (with ``step`` and ``loss``) are required.
    """
    path = where
    if not isinstance(doc, dict) or doc.get("format") != HISTORY_FORMAT:
        raise GradflowError(f"{path}: not a gradflow training history (no format "
                            f"{HISTORY_FORMAT!r}); write one with gradflow train --history")
    trace = doc.get("trace")
    if not isinstance(trace, dict) or not all(k in trace for k in ("step", "loss")):
        raise GradflowError(f"{path}: trace needs step and loss")
    steps = _floats(trace["step"], f"{path}: trace.step")
    for key in ("loss", "grad_norm", "clipped"):
        if key in trace and (not isinstance(trace[key], list) or len(trace[key]) != steps.size):
            raise GradflowError(f"{path}: trace.{key} must be a list of {steps.size} entries "
                                "(one per trace.step)")
    doc = dict(doc)
    for key, empty in (("config", {}), ("task", {}), ("snapshots", []), ("summary", {})):
        if doc.get(key) is None:
            doc[key] = empty
        elif not isinstance(doc[key], type(empty)):
            raise GradflowError(f"{path}: {key} must be a{' list' if empty == [] else 'n object'}")
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


def _loss(doc, ax, kwargs):
    trace = doc["trace"]
    steps, loss = _floats(trace["step"], "step"), _floats(trace["loss"], "loss")
    line, = ax.plot(steps, np.where(loss > 0, loss, np.nan),
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
    if np.any(loss > 0):
        ax.set_yscale("log")
    ax.set_ylabel("loss")
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
    if np.any(norm > 0):
        ax.set_yscale("log")
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
    length = doc["config"].get("length")
    if length:
        ax.axvline(length / 2, color="0.4", ls=":", lw=1)
    ax.set_yscale("log")
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


_DRAW = {"loss": _loss, "grad_norm": _grad_norm, "lag_mass": _lag_mass, "decay": _decay}
_XLABEL = {"loss": "training step", "grad_norm": "training step", "lag_mass": "lag (steps)",
           "decay": "lag k (steps)"}


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
        threshold), ``"lag_mass"`` and ``"decay"`` (one curve per snapshot, dark early).
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
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7.5, loc="best")
    return ax
