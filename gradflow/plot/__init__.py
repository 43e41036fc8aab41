"""Plots of gradflow's results: ``from gradflow import plot``.

Every function draws one public result object (``gradflow.decay(...)``, ``gradflow.lyapunov``,
``gradflow.bptt``, a training history, a sweep's phase diagram, ...) on a Matplotlib Axes and
returns it.  With ``ax=None`` it draws on a new :class:`matplotlib.figure.Figure` (never
pyplot: no global state, no rcParams changed); style keywords (``color``, ``label``,
``linewidth``, ...) go to the main artist.  Nothing here computes an analysis: results are
computed first, then drawn, as with librosa's ``display`` and scikit-learn's ``Display``
objects.  The report (``gradflow report``) is drawn with these same functions.

Examples
--------
>>> import numpy as np, gradflow as gf
>>> from gradflow import plot
>>> model = gf.LSTM.init(16, 4, seed=0)
>>> r = gf.decay(model, np.random.default_rng(0).standard_normal((100, 4)))
>>> ax = plot.plot_decay(r, color="C0", label="LSTM")
>>> ax.figure.savefig("decay.png")  # doctest: +SKIP
"""

from ._style import CELL_COLORS, EXTRA_COLORS, distinct_colors, kind_color
from .bptt import plot_bptt_by_lag
from .decay import plot_decay
from .flow import flow_map_colorbar, flow_map_range, plot_flow_map
from .gates import plot_derivative_histogram, plot_gate_values
from .history import load_history, plot_floss_exponents, plot_history
from .lyapunov import plot_lyapunov, plot_lyapunov_convergence
from .phase import plot_chaotic_fraction, plot_phase, plot_phase_decay, plot_phase_lambda
from .spectra import plot_jacobian_norms, plot_product_singular_values, plot_singular_values

__all__ = [
    "CELL_COLORS", "EXTRA_COLORS", "distinct_colors", "flow_map_colorbar", "flow_map_range",
    "kind_color", "load_history", "plot_bptt_by_lag", "plot_chaotic_fraction", "plot_decay",
    "plot_derivative_histogram", "plot_floss_exponents", "plot_flow_map", "plot_gate_values",
    "plot_history", "plot_jacobian_norms", "plot_lyapunov", "plot_lyapunov_convergence",
    "plot_phase", "plot_phase_decay", "plot_phase_lambda", "plot_product_singular_values",
    "plot_singular_values",
]
