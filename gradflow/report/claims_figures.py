"""The evidence pages after the claims page: one topic a page, drawn from the claims' evidence.

Colours are the cells' own (:data:`~gradflow.plot.CELL_COLORS`) on every page; the variants
the claims add (IRNN, the GRU with a raised update-gate bias) take spare colours.
"""

import numpy as np
from matplotlib.figure import Figure

from .. import plot
from ..plot._style import lighter
from .style import CELL_COLORS, EXTRA_COLORS, PAGE

#: Colour of every model the claims measure.
COLORS = {**CELL_COLORS, "IRNN": EXTRA_COLORS[0], "GRU b_z": EXTRA_COLORS[3]}
#: Derivatives are drawn on z in [-Z_VIEW, Z_VIEW].
Z_VIEW = 6.0


def _page(title, *, ratios):
    fig = Figure(figsize=PAGE, layout="constrained")
    axes = fig.subplots(1, len(ratios), width_ratios=ratios)
    fig.suptitle(title, fontsize=13, weight="bold")
    return fig, axes


def _derivatives(ev, ax):
    grid = ev.grid
    view = np.abs(grid.z) <= Z_VIEW
    for name in ("sigmoid", "tanh", "relu"):
        color = COLORS[f"RNN-{name}"]
        ax.plot(grid.z[view], grid.derivatives[name][view], color=color, lw=1.8,
                label=f"{name}'", drawstyle="steps-mid" if name == "relu" else "default")
        f = grid.figures(name)
        if name != "relu":
            ax.plot([f["at_z"]], [f["max_derivative"]], "o", color=color, mec="black", ms=6)
            ax.annotate(f"max {f['max_derivative']:.4g} at z = {f['at_z']:g}",
                        (f["at_z"], f["max_derivative"]), textcoords="offset points",
                        xytext=(8, -12 if name == "tanh" else 6), fontsize=8, color=color)
    ax.set_xlabel("z")
    ax.set_ylabel("f'(z)")
    ax.set_ylim(-0.03, 1.12)
    ax.set_title("Derivatives: sigmoid' <= 1/4, tanh' <= 1, relu' in {0, 1}", fontsize=10)
    ax.legend(loc="upper left")


def _gain_axis(ev, ax):
    sweep = ev.sweep
    for label, factors in sweep.factors.items():
        color = COLORS[label]
        shown = np.where(np.isfinite(factors), factors, np.nan)
        ax.plot(sweep.gains, shown, "o-", color=color, lw=1.6, ms=3.5, label=label)
        gamma = sweep.gammas[label]
        if gamma is not None:
            ax.axvline(1.0 / gamma, color=color, ls="--", lw=1.1, alpha=0.8,
                       ymax=0.93 if label == "RNN-relu" else 1.0)
        crossing = sweep.crossing_gain(label)
        if crossing is not None:
            ax.plot([crossing], [1.0], "D", color=color, mec="black", ms=6, zorder=5)
    small, large = ev.config.small_sigma, ev.config.large_bound
    points = [*ev.small.items(), *ev.large.items()]
    for i, (label, run) in enumerate(points):
        sigma = float(np.linalg.norm(run.model["W_h"], 2))
        factor = run.decay.decay_factor
        if factor is not None:
            ax.plot([sigma], [factor], "s", color=COLORS[label], mec="black", mew=1.2, ms=8,
                    zorder=6, label="the claims' points" if i == 0 else None)
    ax.axhline(1.0, color="black", lw=0.9)
    ax.axvspan(sweep.gains[0], 1.0, color="0.9", zorder=0)
    ax.text(0.02, 0.97, f"W 'between 0 and 1' (σ_max < 1)\nclaim points: σ_max = {small:g}",
            transform=ax.transAxes, va="top", fontsize=8, color="0.3")
    ax.text(0.98, 0.03, "dashed: γ·σ_max = 1 (γ = sup f', Pascanu et al. 2013)\n"
            "diamonds: measured factor reaches 1\n"
            f"'W very large' claim points: γ·σ_max = {large:g}",
            transform=ax.transAxes, ha="right", fontsize=8, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("gain = σ_max(W_*h) (orthogonal recurrent matrices)")
    ax.set_ylabel("fitted decay factor per step  (< 1 vanishes, > 1 explodes)")
    ax.set_title("Where decay turns to growth, for each cell", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.86))


def derivatives_page(ev):
    """The derivatives' maxima and the decay factor along the gain axis."""
    fig, (left, right) = _page("Vanishing and exploding: f' and W multiplied step after step",
                               ratios=[1, 1.5])
    _derivatives(ev, left)
    _gain_axis(ev, right)
    return fig


def _active_fraction(run):
    return np.mean(run.gates["H"].slope > 0, axis=1)


def relu_page(ev):
    """The relu RNN against tanh: orthogonal and identity recurrence, dead units, a large W."""
    fig, (left, middle, right) = _page(
        "Remedy 1, relu: it needs identity recurrence (IRNN), units die, a large W explodes",
        ratios=[1.6, 1, 0.8])
    runs = ev.runs
    large = ev.large["RNN-relu"]
    for label in ("RNN-tanh", "RNN-relu", "IRNN"):
        plot.plot_decay(runs[label].decay, ax=left, bound=False, color=COLORS[label],
                        label=f"{label} (factor {runs[label].decay.decay_factor:.3f})")
    sigma = ev.config.large_bound
    plot.plot_decay(large.decay, ax=left, bound=False, color=lighter(COLORS["RNN-relu"], 0.4),
                    ls="--", label=f"RNN-relu, σ_max = {sigma:g} "
                                   f"(factor {large.decay.decay_factor:.3f})")
    left.set_title("What the output sees: orthogonal vs identity W_h", fontsize=10)
    left.legend(loc="lower left", fontsize=8)
    steps = np.arange(1, runs["RNN-relu"].gates["H"].slope.shape[0] + 1)
    for label in ("RNN-relu", "IRNN"):
        middle.plot(steps, _active_fraction(runs[label]), color=COLORS[label], lw=1.2,
                    label=f"{label}: mean {_active_fraction(runs[label]).mean():.0%}")
    middle.set_ylim(0, 1.05)
    middle.set_xlabel("step t")
    middle.set_ylabel("share of units with z > 0 (relu' = 1)")
    middle.set_title("Active units along the run", fontsize=10)
    middle.legend(loc="lower right")
    dead = ev.dead
    groups = [("at init", dead.at_init)] + [(f"trained,\nlr {lr:g}", v)
                                            for lr, v in dead.after.items()]
    for i, (_, values) in enumerate(groups):
        right.bar(i, np.mean(values), color=lighter(COLORS["RNN-relu"], 0.35), width=0.6)
        right.plot([i] * len(values), values, "o", color=COLORS["RNN-relu"], mec="black",
                   ms=5)
    right.set_xticks(range(len(groups)), [g[0] for g in groups])
    right.set_ylim(0, dead.hidden)
    right.set_ylabel(f"dead units (of {dead.hidden}): z <= 0 on a whole batch")
    right.set_title(f"Dead units of a relu RNN trained {ev.config.dead_steps} steps\n(Adam, "
                    f"{ev.config.clip_task} problem, {len(dead.seeds)} seeds)", fontsize=10)
    return fig


def _log10(values):
    """log10 of a trace column (None, zero and non-finite entries as NaN: not drawn)."""
    a = np.array([np.nan if v is None else v for v in values], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(a) & (a > 0), np.log10(np.where(a > 0, a, 1.0)), np.nan)


def clipping_page(ev):
    """A diverging run and its norm-clipped twin."""
    pair = ev.clipping
    fig, (left, right) = _page("Remedy 2, clipping: the same diverging run without and with "
                               f"norm clipping at c = {pair.threshold:g}", ratios=[1, 1])
    color = COLORS["RNN-tanh"]
    styles = {"unclipped": {"color": lighter(color, 0.45), "ls": "--"},
              "clipped": {"color": color, "ls": "-"}}
    for which in ("unclipped", "clipped"):
        trace = getattr(pair, which)["trace"]
        steps = np.asarray(trace["step"], float)
        loss = _log10(trace["loss"])
        norm = _log10(trace["grad_norm"])
        left.plot(steps, loss, lw=1.2, label=f"{which}", **styles[which])
        right.plot(steps, norm, lw=1.2, label=f"{which}: ||g|| before clipping",
                   **styles[which])
        if which == "clipped":
            right.plot(steps, np.minimum(norm, np.log10(pair.threshold)), color="black", lw=1.4,
                       label="clipped: ||g|| stepped with")
    baseline = pair.clipped["task"]["baseline"]
    left.axhline(np.log10(baseline), color="0.3", ls=":", lw=1,
                 label=f"task baseline {baseline:.3g}")
    right.axhline(np.log10(pair.threshold), color="0.3", ls=":", lw=1,
                  label=f"threshold c = {pair.threshold:g}")
    config = pair.clipped["config"]
    for ax, what in ((left, "log10 training loss (batch)"), (right, "log10 gradient norm")):
        ax.set_xlabel("optimiser step")
        ax.set_ylabel(what)
        ax.legend(loc="upper left")
    left.set_title(f"tanh RNN, n = {config['hidden']}, σ_max = {config['gain']:g}, SGD lr "
                   f"{config['lr']:g}, {config['task']} problem T = {config['length']}",
                   fontsize=10)
    right.set_title("The step is bounded; its direction is kept (norm clipping)", fontsize=10)
    return fig


def gated_page(ev):
    """The LSTM's cell path and the GRU's update gate against the tanh RNN."""
    fig, (left, right) = _page("Remedy 3, the additive path: c_t = F c_(t-1) + I C~ and "
                               "h_t = Z h_(t-1) + (1 - Z) H~", ratios=[1.5, 1])
    runs = ev.runs
    bias = ev.config.update_gate_bias
    plot.plot_decay(runs["RNN-tanh"].decay, ax=left, bound=False, color=COLORS["RNN-tanh"],
                    label="RNN-tanh")
    lstm = runs["LSTM"].decay
    plot.plot_decay(lstm, ax=left, curve="cell", color=COLORS["LSTM"],
                    label="LSTM cell path dc_T/dc_(T-k)")
    plot.plot_decay(lstm, ax=left, curve="hidden", bound=False, color=lighter(COLORS["LSTM"],
                                                                                0.45),
                    ls="--", label="LSTM hidden path dh_T/dh_(T-k)")
    plot.plot_decay(runs["GRU"].decay, ax=left, bound=False, color=COLORS["GRU"],
                    label="GRU (b_z = 0)")
    plot.plot_decay(runs["GRU b_z"].decay, ax=left, bound=False, color=COLORS["GRU b_z"],
                    label=f"GRU, b_z = {bias:g}")
    left.set_ylabel("log10 of the gradient norm over lag k")
    left.set_title("The path through the gate decays like the gate's value", fontsize=10)
    left.legend(loc="lower left", fontsize=8)
    for label, gate, name in (("LSTM", "F", "LSTM forget gate F"),
                              ("GRU", "Z", "GRU update gate Z"),
                              ("GRU b_z", "Z", f"GRU Z, b_z = {bias:g}")):
        values = runs[label].gate_values[gate]
        plot.plot_gate_values({name: values}, ax=right, color=COLORS[label])
    right.set_title("Gate values along the run (1 keeps the previous state)", fontsize=10)
    right.legend(loc="upper left", fontsize=7.5)
    return fig


def parameters_page(ev):
    """Parameter counts against T, and GRU against LSTM in training over several seeds."""
    fig, (left, right) = _page("Shared parameters, and GRU against LSTM", ratios=[1, 1.3])
    counts = ev.parameters
    for kind, row in counts.counts.items():
        color = COLORS.get(kind, EXTRA_COLORS[1])
        left.plot(counts.lengths, row, "o-", color=color, lw=1.5,
                  label=f"{kind}: {counts.formulas[kind]} = {row[0]:,}")
    left.set_xscale("log")
    left.set_xlabel("sequence length T")
    left.set_ylabel("trainable parameters (entries of the BPTT gradient)")
    left.set_ylim(0, max(max(r) for r in counts.counts.values()) * 1.35)
    left.set_title(f"The same at every T (n = {ev.config.hidden}, d = {ev.config.inputs})",
                   fontsize=10)
    left.legend(loc="upper left", fontsize=8)
    c = ev.comparison
    for cell, label in (("gru", "GRU"), ("lstm", "LSTM")):
        rows = c.eval_loss[cell]
        for row in rows:
            right.plot(c.steps, row, color=COLORS[label], lw=0.7, alpha=0.45)
        reached = c.steps_to_target(cell)
        words = ", ".join("-" if s is None else str(s) for s in reached)
        right.plot(c.steps, np.median(rows, axis=0), color=COLORS[label], lw=2.2,
                   label=f"{label} ({c.parameters[cell]:,} parameters): median of "
                         f"{len(c.seeds)} seeds; below target at steps {words}")
    right.axhline(c.baseline, color="0.3", ls=":", lw=1, label=f"baseline {c.baseline:.3g}")
    right.axhline(c.target, color="black", ls="--", lw=1, label=f"target {c.target:.3g}")
    right.set_yscale("log")
    right.set_xlabel("optimiser step (Adam)")
    right.set_ylabel("evaluation loss")
    cfg = ev.config
    right.set_title(f"{cfg.compare_task} problem, T = {cfg.compare_length}, n = "
                    f"{cfg.compare_hidden}, lr {cfg.compare_lr:g}; thin lines: each seed",
                    fontsize=10)
    right.legend(loc="lower left", fontsize=7.8)
    return fig


def pages(ev):
    """The evidence pages, in the order the claims page cites them."""
    yield derivatives_page(ev)
    yield relu_page(ev)
    yield clipping_page(ev)
    yield gated_page(ev)
    yield parameters_page(ev)
