"""Mean-field theory of random RNNs against measurement.

Run ``python reports/meanfield/make_figure.py`` (from the checkout); it draws ``meanfield.png``
beside this script: (a) the critical gain g_c against the input variance s2, (b) q* against
the gain, (c) the predicted lambda_1 = ln(chi)/2 against the gain, with the lambda_1 measured
by ``gf.lyapunov`` on seeded 512-unit tanh networks, undriven (s2 = 0) and driven by
standard-normal inputs (s2 = 1).  Deterministic: fixed seeds, fixed PNG metadata.
"""

import os
import sys

import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import gradflow as gf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANCES = (0.0, 0.1, 1.0, 10.0)
COLOURS = ("C0", "C1", "C2", "C3")
HIDDEN, STEPS, WARMUP, INPUTS = 512, 400, 100, 32


def measured_lambda_1(gain, input_variance, seed):
    """lambda_1 of one seeded tanh network: zero input (s2 = 0) or N(0, 1) inputs (s2 = 1)."""
    rng = np.random.default_rng(1000 + seed)
    model = gf.RNN.init(HIDDEN, INPUTS, init="gaussian", gain=gain, seed=seed)
    xs = np.sqrt(input_variance) * rng.standard_normal((STEPS, INPUTS))
    s0 = rng.standard_normal(HIDDEN)
    return gf.lyapunov(model, xs, s0, k=1, warmup=WARMUP).lambda_1


def make_figure(path):
    """Compute everything and write the PNG to ``path``."""
    fig = Figure(figsize=(13, 4.3), layout="constrained")
    ax_c, ax_q, ax_l = fig.subplots(1, 3)

    s2 = np.concatenate([[0.0], np.geomspace(1e-3, 1e2, 41)])
    for activation, colour, style in (("tanh", "k", "-"), ("relu", "C4", "--")):
        g_c = [gf.mean_field(1.0, v, activation).critical_gain for v in s2]
        ax_c.plot(s2[1:], g_c[1:], style, color=colour, label=f"{activation}")
        ax_c.plot([s2[1]], [g_c[0]], "o", color=colour, ms=4)
    ax_c.set_xscale("log")
    ax_c.set_xlabel("input variance $s^2$")
    ax_c.set_ylabel("critical gain $g_c$ (where $\\chi = 1$)")
    ax_c.set_title("(a) edge of chaos")
    ax_c.text(0.03, 0.95, "$\\chi > 1$ above the curve, $\\chi < 1$ below;\n"
              "dots at the left edge: $s^2 = 0$\n(tanh: $g_c = 1$ exactly; "
              "$g_c - 1 \\propto (s^2)^{1/3}$ near it)", transform=ax_c.transAxes, va="top",
              fontsize=9)
    ax_c.legend(loc="center left")
    ax_c.grid(alpha=0.3)

    gains = np.linspace(0.1, 4.0, 79)
    for v, colour in zip(VARIANCES, COLOURS, strict=True):
        results = [gf.mean_field(g, v) for g in gains]
        ax_q.plot(gains, [r.q for r in results], color=colour, label=f"$s^2 = {v:g}$")
        ax_l.plot(gains, [r.lambda_1 for r in results], color=colour, label=f"$s^2 = {v:g}$")
        ax_l.axvline(results[0].critical_gain, color=colour, ls=":", lw=1)
    ax_q.set_xlabel("gain $g$  ($W_h \\sim N(0, g^2/N)$)")
    ax_q.set_ylabel("$q^*$, variance of the pre-activations")
    ax_q.set_title("(b) self-consistent variance, tanh")
    ax_q.legend()
    ax_q.grid(alpha=0.3)

    for v, colour, marker in ((0.0, COLOURS[0], "o"), (1.0, COLOURS[2], "s")):
        measured_gains = np.arange(0.5, 4.01, 0.5)
        lam = [measured_lambda_1(g, v, seed) for seed, g in enumerate(measured_gains)]
        ax_l.plot(measured_gains, lam, marker, color=colour, mfc="none", ms=7,
                  label=f"measured, n = {HIDDEN}, $s^2 = {v:g}$")
    ax_l.axhline(0.0, color="0.5", lw=0.8)
    ax_l.set_ylim(-1.5, 0.6)
    ax_l.set_xlabel("gain $g$")
    ax_l.set_ylabel("$\\lambda_1$ (nats per step)")
    ax_l.set_title("(c) $\\lambda_1 = \\frac{1}{2}\\ln\\chi$, tanh; dotted: $g_c$")
    ax_l.legend(fontsize=8, loc="lower right")
    ax_l.grid(alpha=0.3)

    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
    return path


if __name__ == "__main__":
    print(make_figure(os.path.join(HERE, "meanfield.png")))
