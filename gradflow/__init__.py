"""gradflow: exact measurement of gradient flow backwards through time in recurrent cells.

The public names load lazily, so ``import gradflow`` (and ``gradflow --help``) stays fast; the
Numba kernels compile, or load from the on-disk cache, on first use.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "GradflowError": "gradflow.errors",
    "TrajectoryOverflowError": "gradflow.errors",
    "GradientOverflowError": "gradflow.errors",
    "Cell": "gradflow.cells",
    "RNN": "gradflow.cells",
    "LSTM": "gradflow.cells",
    "GRU": "gradflow.cells",
    "CELLS": "gradflow.cells",
    "Network": "gradflow.cells",
    "load": "gradflow.cells",
    "decay": "gradflow.analysis.decay",
    "DecayResult": "gradflow.analysis.decay_results",
    "activation_bound": "gradflow.activations",
    "DecayBatchResult": "gradflow.analysis.decay_results",
    "Trajectory": "gradflow.analysis.trajectory",
    "trajectory": "gradflow.analysis.trajectory",
    "spectrum": "gradflow.analysis.spectrum",
    "SpectrumResult": "gradflow.analysis.spectrum",
    "MatrixSpectrum": "gradflow.analysis.spectrum",
    "jacobian_norms": "gradflow.analysis.spectrum",
    "bounds": "gradflow.analysis.bounds",
    "BoundsResult": "gradflow.analysis.bounds",
    "GateDerivatives": "gradflow.analysis.bounds",
    "lyapunov": "gradflow.analysis.lyapunov",
    "LyapunovResult": "gradflow.analysis.lyapunov",
    "LyapunovBatchResult": "gradflow.analysis.lyapunov_batch",
    "kaplan_yorke_dimension": "gradflow.analysis.lyapunov",
    "floss": "gradflow.analysis.floss",
    "FlossResult": "gradflow.analysis.floss",
    "fixed_points": "gradflow.analysis.fixedpoints",
    "FixedPointsResult": "gradflow.analysis.fixedpoints",
    "FixedPoint": "gradflow.analysis.fixedpoints",
    "mean_field": "gradflow.analysis.meanfield",
    "MeanFieldResult": "gradflow.analysis.meanfield",
    "compare": "gradflow.analysis.compare",
    "CompareResult": "gradflow.analysis.compare",
    "pascanu_regulariser": "gradflow.analysis.regulariser",
    "PascanuRegulariserResult": "gradflow.analysis.regulariser",
    "bptt": "gradflow.analysis.bptt",
    "BPTTResult": "gradflow.analysis.bptt",
    "clip_gradients": "gradflow.analysis.clipping",
    "ClipResult": "gradflow.analysis.clipping",
    "gradient_norm": "gradflow.analysis.clipping",
    "clipping_summary": "gradflow.analysis.clipping",
    "ClippingSummary": "gradflow.analysis.clipping",
    "from_torch": "gradflow.cells.torch_import",
    "torch_layer_inputs": "gradflow.cells.torch_import",
    "describe_torch": "gradflow.cells.torch_import",
    "network_from_torch": "gradflow.cells.torch_import",
    "Readout": "gradflow.cells.readout",
    "train": "gradflow.training.loop",
    "TrainResult": "gradflow.training.history",
    "AddingProblem": "gradflow.training.tasks",
    "CopyMemory": "gradflow.training.tasks",
    "Adam": "gradflow.training.optim",
    "SGD": "gradflow.training.optim",
    "SweepPoint": "gradflow.sweep.point",
    "sweep_point": "gradflow.sweep.point",
    "evaluate_point": "gradflow.sweep.evaluate",
    "SweepGrid": "gradflow.sweep.grid",
    "parse_grid": "gradflow.sweep.grid",
    "load_spec": "gradflow.sweep.spec",
    "run_sweep": "gradflow.sweep.runner",
    "SweepSummary": "gradflow.sweep.runner",
    "read_results": "gradflow.sweep.store",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gradflow' has no attribute {name!r}")


def __dir__():
    return __all__
