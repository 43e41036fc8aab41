"""Training pages: what a history file (``gradflow train --history``, a Monitor) shows.

Histories are read and drawn by :mod:`gradflow.plot.history`; this module lays them out.
"""

import math

import numpy as np
from matplotlib.figure import Figure

from ..plot import distinct_colors, plot_history
from ..plot.history import history_color, history_kind, load_history, log_axis, loss_axis

__all__ = ["comparison_page", "history_color", "history_colors", "load_history",
           "training_page", "training_pages"]
from .style import PAGE
from .table import wrap


def history_colors(docs):
    """One colour per history: its cell's, a spare one when a kind repeats or is unknown."""
    return distinct_colors([history_kind(doc) for doc in docs])


def _title(doc):
    cfg = doc["config"]
    bits = [str(cfg.get("model", cfg.get("cell", "")))]
    if cfg.get("task"):
        bits.append(f"task {cfg.get('task')}")
    if cfg.get("length") is not None:
        bits.append(f"T = {cfg.get('length')}")
    if cfg.get("optimizer") or cfg.get("lr") is not None:
        bits.append(f"{cfg.get('optimizer', '')} lr {cfg.get('lr')}".strip())
    if cfg.get("clip") is not None:
        bits.append(f"{cfg.get('clip_method', 'norm')} clip {cfg.get('clip')}")
    if cfg.get("seed") is not None:
        bits.append(f"seed {cfg.get('seed')}")
    floss = doc.get("floss")
    if isinstance(floss, dict):
        schedule = floss.get("schedule") or {}
        bits.append(f"flossing k = {floss.get('k')} (pre:{schedule.get('pre')}, "
                    f"every:{schedule.get('every')})")
    return f"{doc['label']}: " + ", ".join(b for b in bits if b)


def _number(value):
    return isinstance(value, int | float) and math.isfinite(value)


def outcome(doc):
    """One honest line on how the run ended, from the fields the history has."""
    s = doc["summary"]
    trace = doc["trace"]
    words = []
    if s.get("diverged"):
        words.append(f"diverged at step {s.get('diverged_at')}")
    elif _number(s.get("final_eval_loss")):
        words.append(f"final eval loss {s['final_eval_loss']:.4g}")
    else:
        losses = [v for v in trace.get("loss", []) if _number(v)]
        words.append(f"last training loss {losses[-1]:.4g}" if losses
                     else "no finite loss recorded")
    steps = s.get("steps_done", len(trace.get("step", [])))
    words.append(f"{steps} steps")
    if _number(s.get("wall_time_s")):
        words.append(f"{s['wall_time_s']:.0f} s")
    words.append(f"{len(doc['snapshots'])} snapshot{'s' if len(doc['snapshots']) != 1 else ''}")
    return "; ".join(words)


#: The panels of a training page, and of a flossing run's (the flossed exponents below).
LAYOUT = [["loss", "grad_norm"], ["lag_mass", "decay"]]
FLOSS_LAYOUT = [["loss", "grad_norm"], ["lag_mass", "decay"], ["floss", "floss"]]


def training_page(doc, index=0, color=None):
    """One page for one history: loss, gradient norm, lag mass, decay (and flossing)."""
    color = color or history_color(doc, index)
    fig = Figure(figsize=PAGE, layout="constrained")
    axes = fig.subplot_mosaic(FLOSS_LAYOUT if doc.get("floss") is not None else LAYOUT)
    for panel, ax in axes.items():
        plot_history(doc, ax=ax, panel=panel,
                     **({"color": color} if panel in ("loss", "grad_norm", "floss") else {}))
    fig.suptitle(f"Training: {wrap(_title(doc), 120)}\n{outcome(doc)}", fontsize=11.5,
                 weight="bold")
    return fig


def _snapshot_series(doc, key):
    snaps = doc["snapshots"]
    steps = [s.get("step") for s in snaps]
    values = [np.nan if not _number(s.get(key)) or s.get(key) == 0 else s[key] for s in snaps]
    return steps, values


def comparison_page(docs):
    """All histories: evaluation (or training) loss and long-lag gradient share."""
    fig = Figure(figsize=PAGE, layout="constrained")
    left, right = fig.subplots(1, 2)
    baselines = set()
    for doc, color in zip(docs, history_colors(docs), strict=True):
        label = wrap(doc["label"], 30)
        steps, ev = _snapshot_series(doc, "eval_loss")
        if np.isfinite(ev).any():
            left.plot(steps, ev, marker="o", ms=3, color=color, label=f"{label} (evaluation)")
        else:
            trace = doc["trace"]
            loss = [v if _number(v) else np.nan for v in trace["loss"]]
            left.plot(trace["step"], loss, lw=0.9, color=color, label=f"{label} (training)")
        steps, share = _snapshot_series(doc, "long_lag_share")
        if np.isfinite(share).any():
            right.plot(steps, share, marker="o", ms=3, color=color, label=label)
        if doc["task"].get("baseline"):
            baselines.add(doc["task"]["baseline"])
    for b in baselines:
        left.axhline(b, color="black", ls="--", lw=1, label=f"baseline {b:.3g}")
    left.set_xlabel("training step")
    left.set_ylabel("loss")
    loss_axis(left, *(line.get_ydata() for line in left.get_lines()))
    left.set_title("Loss")
    left.legend(fontsize=7.5)
    if log_axis(right, *(line.get_ydata() for line in right.get_lines())):
        right.legend(fontsize=7.5)
    else:
        right.text(0.5, 0.5, "no history here records a long-lag share", ha="center",
                   va="center", transform=right.transAxes, color="0.35")
    right.set_xlabel("training step")
    right.set_ylabel("share of gradient mass at lags ≥ T/2")
    right.set_title("Long-lag share of the gradient")
    fig.suptitle("Training runs compared", fontsize=13, weight="bold")
    return fig


def training_pages(docs):
    """The comparison page (several histories) and one page per history."""
    if len(docs) > 1:
        yield comparison_page(docs)
    for doc, color in zip(docs, history_colors(docs), strict=True):
        yield training_page(doc, color=color)
