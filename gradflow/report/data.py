"""Everything a report shows, computed once per model (the drawing code computes nothing)."""

from dataclasses import dataclass

import numpy as np

from ..activations import derivative
from ..analysis.decay import decay
from ..analysis.flowmap import flow_map
from ..analysis.lyapunov import lyapunov
from ..analysis.spectrum import spectrum
from ..analysis.trajectory import trajectory
from ..errors import GradflowError
from .style import assign_colors

#: The embedded default: the seed notes' story at matched size and initialisation.
DEFAULT_HIDDEN = 32
DEFAULT_INPUTS = 4
DEFAULT_STEPS = 200
DEFAULT_INIT = "orthogonal"
DEFAULT_GAIN = 1.0
DEFAULT_SEED = 0
DEFAULT_FORGET_BIAS = 1.0


def default_models():
    """RNN-tanh, RNN-relu, LSTM and GRU at matched size and initialisation.

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
        ("RNN-tanh", RNN.init(n, d, activation="tanh", **common)),
        ("RNN-relu", RNN.init(n, d, activation="relu", **common)),
        ("LSTM", LSTM.init(n, d, forget_bias=DEFAULT_FORGET_BIAS, **common)),
        ("GRU", GRU.init(n, d, **common)),
    ]


DEFAULT_DESCRIPTION = (
    f"embedded default: n = {DEFAULT_HIDDEN}, d = {DEFAULT_INPUTS}, {DEFAULT_INIT} init at gain "
    f"{DEFAULT_GAIN:g}, seed {DEFAULT_SEED}, LSTM forget bias {DEFAULT_FORGET_BIAS:g}"
)


@dataclass(frozen=True)
class ModelReport:
    """The analyses of one model on one input sequence."""

    label: str
    model: object
    color: str
    steps: int
    decay: object
    flow: object
    spectrum: object
    derivatives: dict
    lyapunov: object

    @property
    def lambda_1(self):
        """Largest Lyapunov exponent (natural log per step)."""
        return float(self.lyapunov.exponents[0])

    def summary(self):
        """One row of the summary table, as strings."""
        d = self.decay
        sig = ", ".join(f"{name} {m.sigma_max:.3f}" for name, m in self.spectrum.matrices.items())
        horizon = "none" if d.gradient_horizon is None else str(d.gradient_horizon)
        if d.growth_horizon is not None and d.gradient_horizon is None:
            horizon = f"grows > {1 / d.threshold:g} at {d.growth_horizon}"
        lam = self.lambda_1
        return {
            "model": self.label,
            "cell": self.model.describe(),
            "parameters": f"{self.model.parameter_count:,}",
            "sigma_max": sig,
            "gamma": "-" if self.spectrum.gamma is None else f"{self.spectrum.gamma:g}",
            "bound": "-" if d.bound is None else f"{d.bound:.3g}",
            "decay factor": "-" if d.decay_factor is None else f"{d.decay_factor:.3f}",
            "horizon": horizon,
            "lambda_1": f"{lam:+.3f}" if np.isfinite(lam) else "-inf",
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


def collect(entries, xs_for, s0=None, *, progress=None, flow_ends=48, threshold=1e-3):
    """Run every analysis the report shows, on one trajectory per model.

    Each model's inputs and initial state are checked and its trajectory computed once
    (:func:`~gradflow.analysis.trajectory.trajectory`); the gradient decay, the flow map,
    the spectra, the derivatives and the Lyapunov spectrum all measure that one run.

    Parameters
    ----------
    entries : list of (str, Cell)
        Labels and models.
    xs_for : callable
        ``xs_for(model) -> ndarray (T, d)``, the inputs of a model.
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
    """
    colors = assign_colors([m for _, m in entries])
    reports = []
    for (label, model), color in zip(entries, colors, strict=True):
        xs = xs_for(model)
        if xs.ndim != 2:
            raise GradflowError("report inputs must be one sequence of shape (T, d)")
        run = trajectory(model, xs, s0)
        tick = (lambda what, label=label: progress.advance(note=f"{label}: {what}")) \
            if progress else (lambda what: None)
        d = decay(run, threshold=threshold)
        tick("gradient decay")
        fm = flow_map(run, ends=flow_ends)
        tick("flow map")
        sp = spectrum(run)
        tick("spectra")
        der = derivative_samples(run)
        ly = lyapunov(run)
        tick("Lyapunov spectrum")
        reports.append(ModelReport(label=label, model=model, color=color, steps=run.steps,
                                   decay=d, flow=fm, spectrum=sp, derivatives=der, lyapunov=ly))
    return reports


TASKS_PER_MODEL = 4
