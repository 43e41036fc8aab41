"""The fixed-point page: eigenvalues against the unit circle, points and trajectories in PCs.

``fixed_point_figure(result, trajectories)`` draws a
:class:`~gradflow.analysis.fixedpoints.FixedPointsResult`; ``write_fixed_point_figure`` saves
it as PDF or PNG, atomically (``gradflow fixedpoints W.npz -o fp.pdf``).
"""

import os

import numpy as np

from ..errors import GradflowError
from ..io.atomic import atomic_path
from .style import PAGE, RC

__all__ = ["figure_format", "fixed_point_figure", "principal_axes", "write_fixed_point_figure"]

#: Colours of a stable point and of a point with 1, 2, 3 or more unstable directions.
STABILITY_COLORS = ("#1f77b4", "#d62728", "#ff7f0e", "#9467bd")
SLOW_COLOR = "#7f7f7f"


def _color(point):
    if point.kind == "slow":
        return SLOW_COLOR
    return STABILITY_COLORS[min(point.unstable_dimensions, len(STABILITY_COLORS) - 1)]


def _label(point):
    if point.kind == "slow":
        return "slow point"
    if point.stable:
        return "stable"
    dims = point.unstable_dimensions
    return f"saddle, {dims} unstable" if dims < 3 else "3+ unstable"


def principal_axes(states, count=2):
    """The mean and the top ``count`` principal axes of a cloud of states (rows).

    Returns
    -------
    mean : ndarray, shape (m,)
    axes : ndarray, shape (count, m)
    explained : ndarray, shape (count,)
        Fraction of the variance along each axis.
    """
    X = np.asarray(states, dtype=np.float64)
    mean = X.mean(axis=0)
    _, singular, Vt = np.linalg.svd(X - mean, full_matrices=False)
    total = float(np.sum(singular ** 2))
    axes = np.zeros((count, X.shape[1]))
    explained = np.zeros(count)
    k = min(count, Vt.shape[0])
    axes[:k] = Vt[:k]
    if total > 0:
        explained[:k] = singular[:k] ** 2 / total
    return mean, axes, explained


def fixed_point_figure(result, trajectories=None, *, title=None):
    """Draw the fixed and slow points of one cell: eigenvalues and state-space picture.

    Parameters
    ----------
    result : FixedPointsResult
        From :func:`gradflow.fixed_points`.
    trajectories : ndarray, shape (B, T + 1, m) or (T + 1, m), optional
        States visited on real inputs, drawn in grey in the principal-component plane.
    title : str, optional
        The page title (default: the model and the counts).

    Returns
    -------
    matplotlib.figure.Figure
        Left: every point's eigenvalues of J in the complex plane with the unit circle,
        coloured by stability.  Right: the points (stable: filled circles; saddles: crosses)
        and the trajectories in the top two principal components of the points (of the
        trajectories when there are fewer than three points).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    points = result.points
    fig = Figure(figsize=PAGE)
    ax_eig, ax_pc = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    fixed, slow = len(result.fixed), len(result.slow)
    stable = sum(p.stable for p in result.fixed)
    fig.suptitle(title or f"{result.model}: {fixed} fixed points ({stable} stable, "
                          f"{fixed - stable} unstable), {slow} slow points", fontsize=12)

    circle = np.linspace(0.0, 2 * np.pi, 400)
    ax_eig.plot(np.cos(circle), np.sin(circle), color="black", lw=0.9, label="unit circle")
    for point in sorted(points, key=lambda p: -p.unstable_dimensions):
        values = point.eigenvalues
        ax_eig.scatter(values.real, values.imag, s=14, color=_color(point), alpha=0.7,
                       edgecolors="none")
    ax_eig.set_aspect("equal", adjustable="datalim")
    ax_eig.set_xlabel(r"Re $\lambda$")
    ax_eig.set_ylabel(r"Im $\lambda$")
    ax_eig.set_title(r"Eigenvalues of $J = \partial F/\partial s$ at each point")

    trajectories = None if trajectories is None else np.asarray(trajectories, np.float64)
    if trajectories is not None and trajectories.ndim == 2:
        trajectories = trajectories[None]
    # the points span the memories; the trajectories only where there are too few points
    if len(points) >= 3 or trajectories is None:
        cloud = np.array([p.state for p in points]).reshape(len(points), -1)
        source = "points"
    else:
        cloud = trajectories.reshape(-1, trajectories.shape[-1])
        source = "trajectories"
    if cloud.shape[0] >= 2:
        mean, axes, explained = principal_axes(cloud)
        if trajectories is not None:
            for run in trajectories:
                pc = (run - mean) @ axes.T
                ax_pc.plot(pc[:, 0], pc[:, 1], color="0.6", lw=0.6, alpha=0.6, zorder=1)
        for point in points:
            pc = (point.state - mean) @ axes.T
            marker = "o" if point.stable else ("x" if point.kind == "fixed" else "^")
            ax_pc.scatter(pc[0], pc[1], s=55 if point.stable else 45, marker=marker,
                          color=_color(point), zorder=3,
                          edgecolors="black" if point.stable else None,
                          linewidths=0.6 if point.stable else 1.6)
        ax_pc.set_xlabel(f"PC 1 ({explained[0]:.0%} of the variance)")
        ax_pc.set_ylabel(f"PC 2 ({explained[1]:.0%})")
    else:
        ax_pc.text(0.5, 0.5, "fewer than two states to project", ha="center", va="center",
                   transform=ax_pc.transAxes)
    ax_pc.set_title(f"Points and trajectories in the top principal components of the "
                    f"{source}")

    seen = {}
    for point in points:
        seen.setdefault(_label(point), point)
    handles = [Line2D([], [], ls="none", marker="o" if p.stable else
                      ("x" if p.kind == "fixed" else "^"), color=_color(p),
                      markeredgecolor="black" if p.stable else _color(p), label=label)
               for label, p in seen.items()]
    if trajectories is not None:
        handles.append(Line2D([], [], color="0.6", label="trajectories on the inputs"))
    if handles:
        ax_pc.legend(handles=handles, loc="best")
    ax_eig.legend(handles=[Line2D([], [], color="black", lw=0.9, label="unit circle")]
                  + [h for h in handles if h.get_label() != "trajectories on the inputs"],
                  loc="upper left", fontsize=7.5)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def figure_format(path):
    """``"pdf"`` or ``"png"`` from the file name, else a GradflowError naming it."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise GradflowError(f"{path}: the figure is written as .pdf or .png; got "
                            f"{'.' + fmt if fmt else 'no extension'}")
    return fmt


def write_fixed_point_figure(result, path, trajectories=None):
    """Write :func:`fixed_point_figure` to ``path`` (.pdf or .png), atomically."""
    import matplotlib

    path = os.fspath(path)
    fmt = figure_format(path)
    with matplotlib.rc_context(RC), atomic_path(path, suffix="." + fmt) as tmp:
        fig = fixed_point_figure(result, trajectories)
        fig.savefig(tmp, format=fmt, dpi=120,
                    metadata={"Creator": "gradflow"} if fmt == "pdf" else None)
