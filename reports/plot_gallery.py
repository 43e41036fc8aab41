"""The example gallery of docs/plot.md: ``python reports/plot_gallery.py`` writes reports/plot/.

Each figure is a few lines of the public API: compute a result, hand it to a
``gradflow.plot`` function.  Seeded, so the pictures are the same on every run.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gradflow as gf  # noqa: E402
from gradflow import plot  # noqa: E402
from gradflow.activations import derivative  # noqa: E402
from gradflow.analysis.flowmap import flow_map  # noqa: E402
from gradflow.analysis.product_spectrum import product_singular_values  # noqa: E402

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot")


def decay_batch():
    """An LSTM and a tanh RNN on a batch of 32 sequences: medians, bands, bound, horizons."""
    xs = np.random.default_rng(0).standard_normal((32, 150, 4))
    lstm = gf.LSTM.init(32, 4, init="orthogonal", seed=0, forget_bias=1.0)
    rnn = gf.RNN.init(32, 4, init="gaussian", gain=1.2, seed=0)
    ax = plot.plot_decay(gf.decay(lstm, xs), color=plot.CELL_COLORS["LSTM"], label="LSTM")
    plot.plot_decay(gf.decay(rnn, xs), ax=ax, color=plot.CELL_COLORS["RNN-tanh"],
                    label="RNN-tanh, gain 1.2")
    ax.legend(loc="lower left")
    return ax.figure


def lstm_paths():
    """What the output sees, the hidden path and the additive cell path of one LSTM."""
    model = gf.LSTM.init(32, 4, init="orthogonal", seed=0, forget_bias=1.0)
    r = gf.decay(model, np.random.default_rng(1).standard_normal((200, 4)))
    ax = plot.plot_decay(r, color="C0", label="output dh_T/ds_(T-k)")
    plot.plot_decay(r, ax=ax, curve="hidden", color="C0", ls="--", label="hidden path")
    plot.plot_decay(r, ax=ax, curve="cell", color="C0", ls=":", label="cell path")
    plot.plot_decay(r, ax=ax, curve="input", color="0.4", label="input dh_T/dx_(T-k)")
    ax.set_ylabel("log10 of the spectral norm")
    ax.legend(loc="upper right")
    return ax.figure


def flow_and_products():
    """The flow map and the singular values of the backward products of a tanh RNN."""
    model = gf.RNN.init(32, 4, init="orthogonal", seed=0)
    xs = np.random.default_rng(2).standard_normal((120, 4))
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot.plot_flow_map(flow_map(model, xs, ends=40), ax=left)
    plot.plot_product_singular_values(product_singular_values(model, xs), ax=right,
                                      color=plot.CELL_COLORS["RNN-tanh"], label="RNN-tanh")
    return fig


def lyapunov_and_bptt():
    """A GRU's Lyapunov spectrum with the convergence of lambda_1, and a BPTT split by lag."""
    model = gf.GRU.init(16, 4, init="orthogonal", seed=0)
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((100, 4))
    fig = Figure(figsize=(14, 4.2), layout="constrained")
    a, b, c = fig.subplots(1, 3)
    ly = gf.lyapunov(model, xs)
    plot.plot_lyapunov(ly, ax=a, color=plot.CELL_COLORS["GRU"], label="GRU")
    a.legend()
    plot.plot_lyapunov_convergence(ly, ax=b, color=plot.CELL_COLORS["GRU"])
    grad_out = np.zeros((100, 16))
    grad_out[-1] = rng.standard_normal(16)  # a loss on the last state only
    plot.plot_bptt_by_lag(gf.bptt(model, xs, grad_out, by_lag=True), ax=c,
                          color=plot.CELL_COLORS["GRU"])
    return fig


def gates():
    """LSTM gate values (open or closed?) beside the forget gate's derivative."""
    model = gf.LSTM.init(32, 4, init="orthogonal", seed=0, forget_bias=2.0)
    xs = np.random.default_rng(4).standard_normal((200, 4))
    states = model.run(xs)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    values = model.gate_values(xs, states)
    plot.plot_gate_values({g: values[g] for g in ("F", "I", "O")}, ax=left, color="C0")
    left.legend(fontsize=7.5)
    activation, a = model.pre_activations(xs, states)["F"]
    plot.plot_derivative_histogram(derivative(activation, a), activation, ax=right, color="C0")
    right.set_title("F' = F (1 - F) along the run")
    return fig


def history(folder):
    """A training history of reports/training, if there is one: loss and gradient norm."""
    import glob

    paths = sorted(p for p in glob.glob(os.path.join(os.path.dirname(folder), "training",
                                                     "*.json")) if "summary" not in p)
    if not paths:
        return None
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot.plot_history(paths[0], ax=left, panel="loss")
    plot.plot_history(paths[0], ax=right, panel="decay")
    return fig


def main(folder=FOLDER):
    """Write every figure of the gallery; return their paths."""
    os.makedirs(folder, exist_ok=True)
    figures = {"decay_batch.png": decay_batch(), "lstm_paths.png": lstm_paths(),
               "flow_and_products.png": flow_and_products(),
               "lyapunov_and_bptt.png": lyapunov_and_bptt(), "gates.png": gates()}
    run = history(folder)
    if run is not None:
        figures["history.png"] = run
    paths = []
    for name, fig in figures.items():
        path = os.path.join(folder, name)
        fig.savefig(path, dpi=90, metadata={"Software": None})
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in main():
        print(written)
