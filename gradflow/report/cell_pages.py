"""The report's pages on gates, Lyapunov spectra, step Jacobians, LSTM paths and networks."""

from matplotlib.figure import Figure

from .. import plot
from .layout import cells, panels
from .style import PAGE
from .table import wrap


def gates_page(reports):
    """The gate values met along the run: open or closed, which derivatives cannot tell."""
    def draw(r, ax):
        plot.plot_gate_values(r.gates, ax=ax, color=r.color)
        ax.legend(fontsize=6.5, loc="upper left")

    fig, _ = panels(cells(reports), draw,
                    "Gate values along the run (F, I, O; R, Z; the RNN's H)\nan open gate (≈ 1) "
                    "and a closed one (≈ 0) pass back the same small derivative")
    return fig


def snug_columns(count, widest=6):
    """Columns for ``count`` small panels on a landscape page.

    Fewest empty slots first, then the grid closest to the page's shape.
    """
    if count <= 3:
        return max(count, 1)

    def cost(cols):
        rows = -(-count // cols)
        return rows * cols - count, abs(rows - cols / 1.4)

    return min(range(3, widest + 1), key=cost)


def derivative_page(reports):
    """Histograms of the activation derivatives met along the run, against their bounds."""
    gates = [(r, symbol) for r in cells(reports) for symbol in r.derivatives]
    fig = Figure(figsize=PAGE, layout="constrained")
    cols = snug_columns(len(gates))
    axes = fig.subplots(-(-len(gates) // cols), cols, squeeze=False)
    for ax, (r, symbol) in zip(axes.flat, gates, strict=False):
        activation, values = r.derivatives[symbol]
        plot.plot_derivative_histogram(values, activation, ax=ax, color=r.color)
        ax.set_title(f"{wrap(r.label, 28)}: {symbol} ({activation}')", fontsize=8.5,
                     color=r.color)
    for ax in axes.flat[len(gates):]:
        ax.set_visible(False)
    fig.suptitle("Activation derivatives met along the run (dashed: sup f' = γ: 1/4 sigmoid, "
                 "1 tanh and relu)", fontsize=13, weight="bold")
    return fig


def lyapunov_page(reports):
    """Lyapunov spectra (left) and the convergence of each lambda_1 (right)."""
    fig = Figure(figsize=PAGE, layout="constrained")
    left, right = fig.subplots(1, 2)
    for r in cells(reports):
        plot.plot_lyapunov(r.lyapunov, ax=left, color=r.color, label=wrap(r.label, 30))
        plot.plot_lyapunov_convergence(r.lyapunov, ax=right, color=r.color,
                                       label=wrap(r.label, 30))
    left.legend(loc="upper right", fontsize=7.5)
    right.axhline(0.0, color="black", lw=0.9)
    right.set_title("Running estimate of λ₁: a curve still drifting at the end has not "
                    "converged", fontsize=9.5)
    fig.suptitle("Lyapunov spectrum: > 0 expands (chaos, exploding), < 0 contracts "
                 "(vanishing)", fontsize=13, weight="bold")
    return fig


def jacobian_norm_page(reports):
    """||J_t||_2 along the run, against the Pascanu bound where there is one."""
    fig = Figure(figsize=PAGE, layout="constrained")
    ax = fig.add_subplot()
    shown = cells(reports)
    for r in shown:
        plot.plot_jacobian_norms(r.spectrum, ax=ax, color=r.color, label=wrap(r.label, 30))
    lows = [float(r.spectrum.jacobian_norms.min()) for r in shown]
    ax.set_ylim(bottom=max(0.0, min(*lows, 1.0) - 0.1))
    ax.legend(loc="best", ncol=2, fontsize=7.5)
    fig.suptitle("Per-step Jacobian norm along the run (a product of k steps is at most the "
                 "max to the power k)", fontsize=13, weight="bold")
    return fig


def has_paths(r):
    """Whether a model's state has separate hidden and cell paths (the LSTM's (h, c))."""
    return r.is_cell and r.decay.log10_norm2_c is not None


_PATHS = (("state", "-", "state (h, c)"),
          ("output", "-.", r"output $\partial h_T/\partial s_{T-k}$ (the headline)"),
          ("hidden", "--", r"hidden path $\partial h_T/\partial h_{T-k}$"),
          ("cell", ":", r"cell path $\partial c_T/\partial c_{T-k}$"))


def lstm_page(reports):
    """LSTM hidden path against cell path."""
    def draw(r, ax):
        for curve, style, name in _PATHS:
            plot.plot_decay(r.decay, ax=ax, curve=curve, color=r.color, ls=style, label=name,
                            bound=False, horizon=curve == "output", bands=False)
        ax.set_ylabel(r"$\log_{10}$ of the spectral norm")
        ax.legend(loc="lower left", fontsize=7.5)

    fig, _ = panels([r for r in reports if has_paths(r)], draw,
                    "LSTM: the additive cell path c_t = F c_(t-1) + I C~ against the hidden path")
    return fig


def network_page(reports):
    """Each network: what its output sees of the state and the inputs, and of each layer."""
    nets = [r for r in reports if not r.is_cell]
    fig = Figure(figsize=PAGE, layout="constrained")
    axes = fig.subplots(len(nets), 2, squeeze=False)
    for (left, right), r in zip(axes, nets, strict=True):
        plot.plot_decay(r.decay, ax=left, color=r.color, label="state (all layers)")
        plot.plot_decay(r.decay, ax=left, curve="input", color=r.color, ls="--",
                        label="input x_(T-k)", bound=False)
        left.set_ylabel(r"$\log_{10}$ of the spectral norm")
        left.set_title(f"{wrap(r.label, 40)}: output against state and input", color=r.color,
                       fontsize=10)
        left.legend(loc="lower left", fontsize=7.5)
        plot.plot_decay(r.decay, ax=right, curve="layers", color=r.color, label=r.label)
        right.set_title(f"{wrap(r.label, 40)}: the output's view of each layer", color=r.color,
                        fontsize=10)
        right.legend(loc="lower left", fontsize=7.5)
    fig.suptitle("Networks: what the top layer's final state sees, through every layer",
                 fontsize=13, weight="bold")
    return fig
