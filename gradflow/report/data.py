"""Everything a report shows, computed once per model (the drawing code computes nothing)."""

from dataclasses import dataclass

import numpy as np

from ..activations import derivative
from ..analysis.decay import decay
from ..analysis.flowmap import flow_map
from ..analysis.lyapunov import default_warmup, lyapunov
from ..analysis.product_spectrum import product_singular_values
from ..analysis.spectrum import spectrum
from ..analysis.trajectory import trajectory
from ..cells.network import Network
from ..claims.config import (
    MATCHED_FORGET_BIAS,
    MATCHED_GAIN,
    MATCHED_HIDDEN,
    MATCHED_INIT,
    MATCHED_INPUTS,
    MATCHED_SEED,
    MATCHED_STEPS,
)
from ..errors import GradflowError
from ..io.files import displayable
from ..plot import distinct_colors

#: The embedded default: the seed notes' story at matched size and initialisation (the
#: configuration the claims are measured in, :mod:`gradflow.claims.config`).
DEFAULT_HIDDEN = MATCHED_HIDDEN
DEFAULT_INPUTS = MATCHED_INPUTS
DEFAULT_STEPS = MATCHED_STEPS
DEFAULT_INIT = MATCHED_INIT
DEFAULT_GAIN = MATCHED_GAIN
DEFAULT_SEED = MATCHED_SEED
DEFAULT_FORGET_BIAS = MATCHED_FORGET_BIAS


def default_models():
    """RNN-sigmoid, RNN-tanh, RNN-relu, LSTM and GRU at matched size and initialisation.

    All have n = 32 hidden units and d = 4 inputs, orthogonal recurrent matrices at gain 1,
    input matrices orthogonal at gain 1, zero biases, seed 0; the LSTM's forget-gate bias is
    1 (Jozefowicz et al. 2015). The GRU is the seed's variant.

    Returns
    -------
    list of (str, Cell)
    """
    from ..cells import GRU, LSTM, RNN

    common = {"init": DEFAULT_INIT, "gain": DEFAULT_GAIN, "seed": DEFAULT_SEED}
    n, d = DEFAULT_HIDDEN, DEFAULT_INPUTS
    return [
        ("RNN-sigmoid", RNN.init(n, d, activation="sigmoid", **common)),
        ("RNN-tanh", RNN.init(n, d, activation="tanh", **common)),
        ("RNN-relu", RNN.init(n, d, activation="relu", **common)),
        ("LSTM", LSTM.init(n, d, forget_bias=DEFAULT_FORGET_BIAS, **common)),
        ("GRU", GRU.init(n, d, **common)),
    ]


def kernels_ahead():
    """Small runs through the kernels a report's analyses need after the sensitivities.

    For :func:`gradflow.kernels._jit.compile_ahead` on the claims' process: the all-lag
    sweep, the QR chain, the step norms and the step Jacobians, each called as the analyses
    call it (the same argument types, so the same compiled kernel), on a 4-unit LSTM over 3
    steps.  Their order is the order the analyses meet them.
    """
    from ..analysis.decay import suffix_log10_norms
    from ..analysis.lyapunov import lyapunov_spectrum
    from ..analysis.spectrum import step_norms_along
    from ..cells import LSTM

    model = LSTM.init(4, 2, seed=0)
    run = trajectory(model, np.full((3, 2), 0.5))
    return [lambda: lyapunov_spectrum(model, run.xs, run.states, 1, 1, 1, 0),
            lambda: suffix_log10_norms(run),
            lambda: step_norms_along(model, run.xs, run.states),
            lambda: model.step_jacobians(run.xs)]


DEFAULT_DESCRIPTION = (
    f"embedded default: n = {DEFAULT_HIDDEN}, d = {DEFAULT_INPUTS}, {DEFAULT_INIT} init at gain "
    f"{DEFAULT_GAIN:g}, seed {DEFAULT_SEED}, LSTM forget bias {DEFAULT_FORGET_BIAS:g}"
)


@dataclass(frozen=True)
class ModelReport:
    """The analyses of one model: its gradient decay, and for a cell everything else.

    A batch of sequences gives ``decay`` as a :class:`~gradflow.DecayBatchResult` (median and
    bands); the one-sequence analyses (flow map, spectra, gates, Lyapunov) measure its first
    sequence.  A network has its decay only (``flow`` and the rest None); its layers come as
    reports of their own.
    """

    label: str
    model: object
    color: str
    steps: int
    decay: object
    flow: object = None
    spectrum: object = None
    derivatives: dict | None = None
    lyapunov: object = None
    products: object = None
    gates: dict | None = None
    batch: int | None = None

    @property
    def is_cell(self):
        """Whether the model is one cell (every analysis) rather than a network."""
        return self.flow is not None

    @property
    def lambda_1(self):
        """Largest Lyapunov exponent (natural log per step), or None for a network."""
        return None if self.lyapunov is None else float(self.lyapunov.exponents[0])

    def summary(self):
        """One row of the summary table, as strings."""
        d = self.decay
        if self.spectrum is not None:
            sig = ", ".join(f"{name} {m.sigma_max:.3f}"
                            for name, m in self.spectrum.matrices.items())
        else:
            sig = ", ".join(f"layer {i}: {c.describe()}" for i, c in
                            enumerate(layer[0] for layer in self.model.layers))
        horizon = "none" if d.gradient_horizon is None else str(d.gradient_horizon)
        if d.growth_horizon is not None and d.gradient_horizon is None:
            horizon = f"grows > {1 / d.threshold:g} at {d.growth_horizon}"
        lam = self.lambda_1
        gamma = None if self.spectrum is None else self.spectrum.gamma
        return {
            "model": self.label,
            "cell": self.model.describe(),
            "parameters": f"{self.model.parameter_count:,}",
            "sigma_max": sig,
            "gamma": "-" if gamma is None else f"{gamma:g}",
            "bound": "-" if d.bound is None else f"{d.bound:.3g}",
            "decay factor": "-" if d.decay_factor is None else f"{d.decay_factor:.3f}",
            "horizon": horizon + ("" if self.batch is None else f" (median of {self.batch})"),
            "lambda_1": "-" if lam is None else (f"{lam:+.3f}" if np.isfinite(lam) else "-inf"),
            "verdict": d.verdict,
        }


def derivative_samples(run):
    """The derivative of every nonlinearity met along a trajectory, keyed by gate symbol.

    Parameters
    ----------
    run : Trajectory
        One sequence's trajectory.

    Returns
    -------
    dict of str to (activation name, ndarray)
        Flattened f'(a) over all steps and units.
    """
    return {symbol: (act, derivative(act, a).ravel())
            for symbol, (act, a) in run.model.pre_activations(run.xs, run.states).items()}


#: Progress steps of one cell's analyses.
TASKS_PER_MODEL = 4


def tasks_for(model):
    """Progress steps :func:`collect` takes for ``model`` (a network: its decay and layers)."""
    if isinstance(model, Network):
        return 1 + TASKS_PER_MODEL * model.num_layers
    return TASKS_PER_MODEL


def _cell_report(label, model, color, xs, s0, tick, flow_ends, threshold, lengths=None):
    run = trajectory(model, xs, s0, lengths=lengths)  # a padded batch: each over its steps
    d = decay(run, threshold=threshold)
    tick("gradient decay")
    first = run.sequences()[0]
    fm = flow_map(first, ends=flow_ends)
    tick("flow map")
    sp = spectrum(first)
    products = product_singular_values(first)
    tick("spectra")
    der = derivative_samples(first)
    gates = model.gate_values(first.xs, first.states)
    ly = lyapunov(first, warmup=default_warmup(first.steps))  # decay's warm-up
    tick("Lyapunov spectrum")
    return ModelReport(label=label, model=model, color=color, steps=run.steps, decay=d,
                       flow=fm, spectrum=sp, derivatives=der, lyapunov=ly, products=products,
                       gates=gates, batch=run.batch)


def _network_reports(label, net, colors, xs, s0, tick, flow_ends, threshold, lengths=None):
    d = decay(net, xs, s0, threshold=threshold, lengths=lengths)
    tick("network gradient decay")
    batch = xs.shape[0] if xs.ndim == 3 else None
    out = [ModelReport(label=label, model=net, color=colors[0], steps=xs.shape[-2], decay=d,
                       batch=batch)]
    first = xs if batch is None else xs[0, :None if lengths is None else int(lengths[0])]
    for index, layer in enumerate(net.layers):
        inputs = net.layer_inputs(first, index)
        out.append(_cell_report(f"{label} layer {index}", layer[0], colors[index + 1], inputs,
                                None, tick, flow_ends, threshold))
    return out


def collect(entries, xs_for=None, s0=None, *, progress=None, flow_ends=48, threshold=1e-3):
    """Run every analysis the report shows, on one trajectory per model.

    Each model's inputs and initial state are checked and its trajectory computed once
    (:func:`~gradflow.analysis.trajectory.trajectory`); the gradient decay, the flow map,
    the spectra, the gates and the Lyapunov spectrum all measure that one run.

    Parameters
    ----------
    entries : list of (str, model), (str, model, ndarray) or (str, model, ndarray, lengths)
        Labels, models (cells or networks) and, optionally, each model's own inputs
        (T, d) or a batch (B, T, d), and the valid lengths (B,) of a padded batch (each
        sequence's decay over its own steps; the other pages read the first sequence's).
    xs_for : callable, optional
        ``xs_for(model) -> ndarray``, the inputs of a model given without its own.
    s0 : ndarray, optional
        Initial state shared by every model (zeros by default).
    progress : gradflow.progress.Progress, optional
    flow_ends : int
        End times of the flow map.
    threshold : float
        Vanishing threshold of the gradient horizon.

    Returns
    -------
    list of ModelReport
        A network gives its own report followed by one per layer (its forward cell, driven
        by what the layer below hands it).
    """
    kinds = []
    for entry in entries:
        model = entry[1]
        kinds += [model.kind] * (1 + model.num_layers if isinstance(model, Network) else 1)
    colors = iter(distinct_colors(kinds))
    reports = []
    for entry in entries:
        label, model = displayable(entry[0]), entry[1]
        xs = entry[2] if len(entry) > 2 else xs_for(model)
        lengths = entry[3] if len(entry) > 3 else None
        if xs.ndim not in (2, 3):
            raise GradflowError(f"{label}: report inputs must be (T, d) or a batch (B, T, d); "
                                f"got shape {xs.shape}")
        tick = (lambda what, label=label: progress.advance(note=f"{label}: {what}")) \
            if progress else (lambda what: None)
        if isinstance(model, Network):
            own = [next(colors) for _ in range(1 + model.num_layers)]
            reports += _network_reports(label, model, own, xs, s0, tick, flow_ends, threshold,
                                        lengths)
        else:
            reports.append(_cell_report(label, model, next(colors), xs, s0, tick, flow_ends,
                                        threshold, lengths))
    return reports
