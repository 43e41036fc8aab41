"""Lyapunov spectra and the convergence of lambda_1."""

import numpy as np

from ._style import axes_or_new, style


def plot_lyapunov(result, *, ax=None, floor=-6.0, **kwargs):
    """A Lyapunov spectrum (natural log per step) against the index, with the zero line.

    Parameters
    ----------
    result : LyapunovResult, LyapunovBatchResult or array_like
        From :func:`gradflow.lyapunov`, or the exponents themselves (descending).  A batch
        draws the per-exponent median with its interquartile band.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure's Axes when omitted.
    floor : float, optional
        Exponents below it (and ``-inf``: directions the Jacobians annihilate) are not
        drawn; the Axes says how many there are.
    **kwargs
        Passed to ``Axes.plot`` (``color``, ``label``, ...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    exponents = np.asarray(getattr(result, "exponents", result), float)
    name = getattr(result, "model", "spectrum")
    shown = np.isfinite(exponents) & (exponents >= floor)
    index = np.arange(1, exponents.size + 1)
    first = f"{exponents[0]:+.3f}" if np.isfinite(exponents[0]) else "-inf"
    label = kwargs.pop("label", name)
    batch = getattr(result, "batch", None)
    (line,) = ax.plot(index[shown], exponents[shown],
                      **style(kwargs, marker="o", markersize=2.5, linewidth=1.2,
                              label=f"{label}: λ₁ = {first}"
                                    + ("" if batch is None else f" (median of {batch})")))
    if batch is not None:
        lower, upper = result.exponents_quartiles
        ax.fill_between(index[shown], np.maximum(lower[shown], floor), upper[shown],
                        color=line.get_color(), alpha=0.2, linewidth=0,
                        label=f"{label}: quartiles over the sequences")
    if not any(line.get_gid() == "gradflow-zero-line" for line in ax.lines):
        ax.axhline(0.0, color="black", lw=0.9).set_gid("gradflow-zero-line")
    hidden = int((~shown).sum())
    if hidden:
        notes = [t for t in ax.texts if t.get_gid() == "gradflow-hidden"]
        words = f"{label}: {hidden} of {exponents.size} below {floor:g} (or -inf) not drawn"
        if notes:
            notes[0].set_text(notes[0].get_text() + "\n" + words)
        else:
            ax.text(0.99, 0.02, words, transform=ax.transAxes, ha="right", va="bottom",
                    fontsize=8, bbox={"fc": "white", "ec": "0.8", "alpha": 0.85},
                    gid="gradflow-hidden")
    low = min([float(exponents[shown].min()) if shown.any() else 0.0, ax.get_ylim()[0]])
    ax.set_ylim(bottom=min(low * 1.1, -0.5) if low < 0 else -0.5)
    ax.set_xlabel("index i")
    ax.set_ylabel(r"Lyapunov exponent $\lambda_i$ (nats per step)")
    if not ax.get_title():
        ax.set_title("Lyapunov spectrum (QR re-orthonormalisation)")
    return ax


def plot_lyapunov_convergence(result, *, ax=None, **kwargs):
    """The running estimate of lambda_1 after each QR step, to see whether it has converged.

    Parameters
    ----------
    result : LyapunovResult or LyapunovBatchResult
        A batch draws every sequence's running estimate, thin, in one colour.
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes_or_new(ax)
    parts = getattr(result, "sequences", (result,))
    color = kwargs.pop("color", None)
    for i, part in enumerate(parts):
        running = np.asarray(part.running_lambda_1, float)
        label = result.model if len(parts) == 1 else f"{result.model}: {len(parts)} sequences"
        (line,) = ax.plot(np.asarray(part.qr_steps),
                          np.where(np.isfinite(running), running, np.nan),
                          **style(dict(kwargs), linewidth=1.2 if len(parts) == 1 else 0.7,
                                  color=color, label=label if i == 0 else None))
        color = line.get_color()
    warmups = {part.warmup for part in parts}
    for warmup in sorted(w for w in warmups if w):
        ax.axvline(warmup, color="0.5", ls=":", lw=0.9)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"running estimate of $\lambda_1$")
    if not ax.get_title():
        ax.set_title(r"Convergence of $\lambda_1$")
    return ax
