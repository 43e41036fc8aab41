"""Gradient flossing in a training history: the flossed Lyapunov exponents against the step.

A history of ``gradflow train --floss K`` (version 2) has a ``floss`` section whose ``trace``
records every flossing step: the training step it followed (0 before training), its phase
(``"pre"`` or ``"during"``) and the k exponents of its batch (docs/history.md).
"""

import numpy as np

from ..errors import GradflowError
from ._style import lighter, style


def _numbers(values, where):
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        raise GradflowError(f"{where}: expected a list of numbers or null") from None


def check_floss(section, where="history"):
    """The ``floss`` section of a history checked: ``(positions, exponents, section)``.

    Returns
    -------
    positions : ndarray, shape (N,)
        Where each flossing step is drawn: the training step it followed, and the ``pre``
        steps before training at ``-(P - 1), ..., 0`` (P of them, in order).
    exponents : ndarray, shape (N, k)
        The recorded exponents, NaN where a batch could not be flossed.
    section : dict
    """
    if not isinstance(section, dict) or not isinstance(section.get("trace"), dict):
        raise GradflowError(f"{where}: floss must be an object with a trace "
                            "(gradflow train --floss K writes one)")
    trace = section["trace"]
    if not all(isinstance(trace.get(key), list) for key in ("step", "phase", "exponents")):
        raise GradflowError(f"{where}: floss.trace needs the lists step, phase and exponents")
    steps = _numbers(trace["step"], f"{where}: floss.trace.step")
    count = steps.size
    if len(trace["phase"]) != count or len(trace["exponents"]) != count:
        raise GradflowError(f"{where}: floss.trace.phase and floss.trace.exponents must have "
                            f"{count} entries (one per floss.trace.step)")
    rows = [e if isinstance(e, list) else None for e in trace["exponents"]]
    k = len(rows[0]) if rows and rows[0] is not None else 0
    if None in rows or any(len(row) != k for row in rows) or (count and k == 0):
        raise GradflowError(f"{where}: every entry of floss.trace.exponents must be a list of "
                            "the same k numbers (or null)")
    exponents = np.array([_numbers(row, f"{where}: floss.trace.exponents") for row in rows])
    pre = np.array([phase == "pre" for phase in trace["phase"]], dtype=bool)
    positions = steps.copy()
    positions[pre] = np.arange(pre.sum()) - pre.sum() + 1
    return positions, exponents.reshape(count, k), section


def _subscript(i):
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(c)] for c in str(i))


def _colors(color, k):
    if color is not None:
        return [color] + [lighter(color, 0.25 + 0.55 * i / max(k - 1, 1)) for i in range(k - 1)]
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.85, max(k, 1))]


def draw_floss_exponents(doc, ax, k=None, **kwargs):
    """Draw a checked history's flossed exponents on ``ax``: see :func:`plot_floss_exponents`.

    :func:`gradflow.plot.plot_floss_exponents` reads the history and calls this.
    """
    ax.set_xlabel("training step (flossing before training at steps ≤ 0)")
    if doc.get("floss") is None:
        ax.text(0.5, 0.5, "this history records no gradient flossing (gradflow train --floss K)",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.35",
                wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    positions, exponents, section = check_floss(doc["floss"], doc.get("label", "history"))
    if exponents.size == 0:
        ax.text(0.5, 0.5, "this run took no flossing step", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="0.35")
        return ax
    shown = exponents.shape[1] if k is None else int(k)
    if not 1 <= shown <= exponents.shape[1]:
        raise GradflowError(f"k must be in [1, {exponents.shape[1]}] (the exponents "
                            f"recorded); got {k!r}")
    kwargs = dict(kwargs)
    label = kwargs.pop("label", None)
    colors = _colors(kwargs.pop("color", kwargs.pop("c", None)), shown)
    marker = "o" if positions.size < 40 else None
    for i in range(shown):
        name = f"λ{_subscript(i + 1)}"
        if label and i == 0:
            name = f"{label}: {name}"
        elif shown > 6 and 0 < i < shown - 1:
            name = "_nolegend_"  # a long spectrum: its first and last exponent named
        ax.plot(positions, exponents[:, i],
                **style(kwargs, color=colors[i], linewidth=1.4 if i == 0 else 1.0,
                        marker=marker, markersize=3, label=name))
    pre = sum(phase == "pre" for phase in section["trace"]["phase"])
    if pre:
        ax.axvspan(-pre + 0.5, 0.5, color="0.9", zorder=0,
                   label=f"{pre} flossing steps before training")
    target = section.get("target")
    if isinstance(target, int | float):
        ax.axhline(target, color="black", ls="--", lw=1, label=f"target {target:g}")
    ax.set_ylabel("exponent (ln per step)")
    weight = section.get("weight")
    flossed = exponents.shape[1]
    which = (f"the k = {flossed} flossed exponents" if shown == flossed
             else f"λ₁..λ{_subscript(shown)} of the k = {flossed} flossed exponents")
    ax.set_title(f"Gradient flossing (Engelken 2023): {which} at each flossing step"
                 + (f", weight {weight:g}" if isinstance(weight, int | float) else ""),
                 fontsize=10)
    entries = len(ax.get_legend_handles_labels()[0])
    ax.legend(fontsize=7.5, loc="best", ncols=1 if entries <= 3 else (entries + 1) // 2)
    return ax
