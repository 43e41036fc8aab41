"""Training pages: what a history file of ``gradflow train --history`` shows.

A history is read and checked here (:func:`load_history`); the plot functions draw one
checked history on an Axes and compute nothing.
"""

import json
import math
import os

import numpy as np
from matplotlib.figure import Figure

from ..cells import cell_class
from ..errors import GradflowError
from ..io.files import read_text
from .style import CELL_COLORS, EXTRA_COLORS, PAGE

HISTORY_FORMAT = "gradflow-train-history"
_MAX_BYTES = 512 * 2**20


def _floats(values, where):
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        raise GradflowError(f"{where}: expected a list of numbers or null") from None


def load_history(path):
    """Read and check a training history (JSON written by ``gradflow train --history``).

    Returns
    -------
    dict
        The document, with ``label`` (the file name without extension) added.
    """
    path = os.fspath(path)
    text = read_text(path, "history", limit=_MAX_BYTES)
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GradflowError(f"{path}: not a JSON history ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != HISTORY_FORMAT:
        raise GradflowError(f"{path}: not a gradflow training history (no format "
                            f"{HISTORY_FORMAT!r}); write one with gradflow train --history")
    for key in ("config", "task", "trace", "snapshots", "summary"):
        if key not in doc:
            raise GradflowError(f"{path}: training history without {key!r}")
    trace = doc["trace"]
    if not isinstance(trace, dict) or not all(k in trace for k in ("step", "loss", "grad_norm")):
        raise GradflowError(f"{path}: trace needs step, loss and grad_norm")
    steps = _floats(trace["step"], f"{path}: trace.step")
    for key in ("loss", "grad_norm"):
        if len(trace[key]) != steps.size:
            raise GradflowError(f"{path}: trace.{key} has {len(trace[key])} entries; "
                                f"trace.step has {steps.size}")
    if not isinstance(doc["snapshots"], list):
        raise GradflowError(f"{path}: snapshots must be a list")
    doc = dict(doc)
    doc["label"] = os.path.splitext(os.path.basename(path))[0]
    return doc


def history_kind(doc):
    """The cell kind of a history's run (``"RNN-tanh"``, ``"LSTM"``), from the registry.

    None when the history names a cell or an option the registry does not know.
    """
    cfg = doc.get("config", {})
    try:
        cls = cell_class(cfg.get("cell"))
        return cls.kind_for(**{name: cfg.get(name) for name in cls.stored_options()})
    except GradflowError:
        return None


def history_color(doc, index):
    """The cell's colour (as on every other page), or a spare one for other kinds."""
    return CELL_COLORS.get(history_kind(doc), EXTRA_COLORS[index % len(EXTRA_COLORS)])


def _title(doc):
    cfg = doc["config"]
    bits = [str(cfg.get("model", cfg.get("cell", ""))), f"task {cfg.get('task')}",
            f"T = {cfg.get('length')}", f"{cfg.get('optimizer', '')} lr {cfg.get('lr')}"]
    if cfg.get("clip") is not None:
        bits.append(f"{cfg.get('clip_method', 'norm')} clip {cfg.get('clip')}")
    bits.append(f"seed {cfg.get('seed')}")
    return f"{doc['label']}: " + ", ".join(bits)


def plot_loss(doc, *, ax, color):
    """Training loss per step and evaluation loss at the snapshots, with the baseline."""
    trace = doc["trace"]
    steps = _floats(trace["step"], "step")
    loss = _floats(trace["loss"], "loss")
    ax.plot(steps, np.where(loss > 0, loss, np.nan), color=color, lw=0.7, alpha=0.5,
            marker="o" if steps.size < 30 else None, ms=3, label="training loss (batch)")
    snaps = [s for s in doc["snapshots"] if s.get("eval_loss") is not None]
    if snaps:
        ax.plot([s["step"] for s in snaps], [s["eval_loss"] for s in snaps], "o-",
                color=color, ms=3.5, lw=1.6, label="evaluation loss")
    baseline = doc["task"].get("baseline")
    if baseline:
        ax.axhline(baseline, color="black", ls="--", lw=1,
                   label=f"baseline {baseline:.3g} ({doc['task'].get('baseline_words', '')})")
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        ax.axvline(steps[bad[0]], color="red", lw=1.2,
                   label=f"non-finite from step {int(steps[bad[0]])}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title("Loss", fontsize=10)
    ax.legend(fontsize=7.5, loc="best")


def plot_gradient_norm(doc, *, ax, color):
    """Gradient norm before clipping, the clipping threshold and the clipped steps."""
    trace = doc["trace"]
    steps = _floats(trace["step"], "step")
    norm = _floats(trace["grad_norm"], "grad_norm")
    ax.plot(steps, np.where(norm > 0, norm, np.nan), color=color, lw=0.8,
            marker="o" if steps.size < 30 else None, ms=3, label="‖g‖ before clipping")
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
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("gradient norm ‖g‖₂")
    ax.set_title("Gradient norm (Pascanu et al. 2013 clipping)", fontsize=10)
    ax.legend(fontsize=7.5, loc="best")


def _snapshot_colors(count):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(count, 1))]


def plot_lag_mass(doc, *, ax):
    """Per-lag gradient mass at each snapshot (early dark, late yellow)."""
    snaps = [s for s in doc["snapshots"] if s.get("lag_mass")]
    for s, c in zip(snaps, _snapshot_colors(len(snaps)), strict=True):
        mass = _floats(s["lag_mass"], "lag_mass")
        ax.plot(np.arange(mass.size), np.where(mass > 0, mass, np.nan), color=c, lw=1.0)
    if snaps:
        first, last = snaps[0]["step"], snaps[-1]["step"]
        ax.text(0.98, 0.96, f"steps {first} (dark) to {last} (light)", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
        length = doc["config"].get("length")
        if length:
            ax.axvline(length / 2, color="0.4", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("lag t - k (steps)")
    ax.set_ylabel("gradient mass at that lag")
    ax.set_title("Per-lag gradient mass (long lags right of the dotted line)", fontsize=10)


def plot_snapshot_decay(doc, *, ax):
    """log10 ||ds_T/ds_{T-k}|| at each snapshot."""
    snaps = [s for s in doc["snapshots"] if s.get("decay")]
    for s, c in zip(snaps, _snapshot_colors(len(snaps)), strict=True):
        curve = _floats(s["decay"]["log10_norm2"], "log10_norm2")
        ax.plot(np.arange(curve.size), curve, color=c, lw=1.0)
    ax.axhline(-3, color="0.4", ls=":", lw=1)
    ax.set_xlabel("lag k (steps)")
    ax.set_ylabel(r"$\log_{10}\,\|\partial s_T/\partial s_{T-k}\|_2$")
    ax.set_title("Gradient decay at each snapshot (dark early, light late)", fontsize=10)


def training_page(doc, index=0):
    """One page for one history: loss, gradient norm, lag mass, decay."""
    color = history_color(doc, index)
    fig = Figure(figsize=PAGE, layout="constrained")
    axes = fig.subplots(2, 2)
    plot_loss(doc, ax=axes[0, 0], color=color)
    plot_gradient_norm(doc, ax=axes[0, 1], color=color)
    plot_lag_mass(doc, ax=axes[1, 0])
    plot_snapshot_decay(doc, ax=axes[1, 1])
    s = doc["summary"]
    verdict = (f"diverged at step {s.get('diverged_at')}" if s.get("diverged")
               else f"final eval loss {s.get('final_eval_loss')!s:.6}")
    fig.suptitle(f"Training: {_title(doc)}\n{verdict}; {s.get('steps_done')} steps, "
                 f"{s.get('wall_time_s', 0) or 0:.0f} s", fontsize=11.5, weight="bold")
    return fig


def comparison_page(docs):
    """All histories: evaluation loss and long-lag gradient share against training step."""
    fig = Figure(figsize=PAGE, layout="constrained")
    left, right = fig.subplots(1, 2)
    baselines = set()
    seen = {}
    styles = ["-", "--", ":", "-."]
    for i, doc in enumerate(docs):
        color = history_color(doc, i)
        style = styles[seen.get(color, 0) % len(styles)]
        seen[color] = seen.get(color, 0) + 1
        snaps = doc["snapshots"]
        steps = [s["step"] for s in snaps]
        ev = [np.nan if s.get("eval_loss") is None else s["eval_loss"] for s in snaps]
        left.plot(steps, ev, style, marker="o", ms=3, color=color, label=doc["label"])
        share = [np.nan if s.get("long_lag_share") in (None, 0) else s["long_lag_share"]
                 for s in snaps]
        right.plot(steps, share, style, marker="o", ms=3, color=color, label=doc["label"])
        if doc["task"].get("baseline"):
            baselines.add(doc["task"]["baseline"])
    for b in baselines:
        left.axhline(b, color="black", ls="--", lw=1, label=f"baseline {b:.3g}")
    left.set_yscale("log")
    left.set_xlabel("training step")
    left.set_ylabel("evaluation loss")
    left.set_title("Evaluation loss")
    left.legend(fontsize=7.5)
    right.set_yscale("log")
    right.set_xlabel("training step")
    right.set_ylabel("share of gradient mass at lags ≥ T/2")
    right.set_title("Long-lag share of the gradient")
    right.legend(fontsize=7.5)
    fig.suptitle("Training runs compared", fontsize=13, weight="bold")
    return fig


def training_pages(docs):
    """The comparison page (several histories) and one page per history."""
    if len(docs) > 1:
        yield comparison_page(docs)
    for i, doc in enumerate(docs):
        yield training_page(doc, i)


def finite_or_none(value):
    """A float, or None for None and non-finite values."""
    return value if value is not None and math.isfinite(value) else None
