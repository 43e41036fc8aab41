"""The registry of references: each gradflow kernel and analysis function -> its slow numpy twin.

As numbagg does it: one table, read by the correctness tests (``test_performance_kernels``
checks every entry on every cell configuration) and by ``benchmarks/`` (accuracy against the
reference, and the reference's own time).  Every entry holds two callables with the same
signature ``(model, xs) -> tuple of arrays``: ``compute`` calls gradflow (the kernel itself for
a kernel entry, with plain arrays), ``reference`` recomputes the same arrays from the seed's
equations (``naive``) and plain numpy loops (``_analysis_refs``), calling none of gradflow's
numerics.  ``atol`` is the agreement the entry promises (``rtol`` relative on top).

Benchmarks import this module with ``tests/`` on ``sys.path``.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import gradflow as gf
from gradflow.analysis.bptt import bhn_gate
from gradflow.analysis.sensitivity import sensitivities
from gradflow.kernels import bptt, lyapunov, regulariser, step_norms, suffix_products, trajectory

import _analysis_refs as refs
import naive


@dataclass(frozen=True)
class Comparison:
    """gradflow's way and the obvious way to compute the same arrays."""

    compute: Callable
    reference: Callable
    atol: float
    rtol: float = 0.0


def name(function):
    """``module.function`` of a registry key, for test ids and benchmark tables."""
    return f"{function.__module__}.{function.__name__}"


# ---------------------------------------------------------------------- shared inputs
def n_block(model):
    """Width of the diagonal blocks the kernels report: h of a state (h, c), else 0."""
    return model.hidden if model.state_size > model.hidden else 0


def grad_out(model, xs):
    """A seeded loss gradient ``dL/ds_t`` for t = 1..T, the same for both sides."""
    return np.random.default_rng(7).standard_normal((xs.shape[0], model.state_size))


def states(model, xs):
    """The trajectory from zero through the ``run`` kernel."""
    S = np.zeros((xs.shape[0] + 1, model.state_size))
    trajectory.run(*model.kernel_args(), xs, S)
    return S


def _blocks(full, h, c):
    return (full,) if h is None else (full, h, c)


# ---------------------------------------------------------------------- kernel side
def _step_jacobians(model, xs):
    m = model.state_size
    Js = np.empty((xs.shape[0], m, m))
    trajectory.step_jacobians(*model.kernel_args(), xs, states(model, xs), Js)
    return (Js,)


def _suffix_log10_norms(model, xs):
    T, nb = xs.shape[0], n_block(model)
    out = np.empty(T + 1)
    out_h, out_c = (np.empty(T + 1 if nb else 1) for _ in range(2))
    suffix_products.suffix_log10_norms(*model.kernel_args(), xs, states(model, xs), nb, out,
                                       out_h, out_c)
    return (out, out_h, out_c) if nb else (out,)


def _step_log10_norms(model, xs):
    out = np.empty(xs.shape[0])
    step_norms.step_log10_norms(*model.kernel_args(), xs, states(model, xs), out,
                                np.zeros(3, dtype=np.int64))
    return (out,)


def _lyapunov_full(model, xs):
    T, m = xs.shape[0], model.state_size
    Q = np.ascontiguousarray(refs.haar_frame(m, m, seed=0))
    log_r = np.empty((T, m))
    qr_steps = np.empty(T, dtype=np.int64)
    rows = lyapunov.qr_reorthonormalisation(*model.kernel_args(), xs, states(model, xs), Q, 0,
                                            1, log_r, qr_steps)
    return (log_r[:rows].sum(axis=0) / T,)


def _backward(model, xs):
    T, m, d = xs.shape[0], model.state_size, model.inputs
    Wh, Wx, b, _ = model.stacked()
    state_grads = np.empty((T + 1, m))
    bptt.backward(*model.kernel_args(), bhn_gate(model), xs, states(model, xs),
                  grad_out(model, xs), np.zeros_like(Wh), np.zeros_like(Wx), np.zeros_like(b),
                  np.zeros(Wh.shape[1]), state_grads, np.empty((T, d)))
    return (state_grads,)


def _backward_norms(model, xs):
    T, m = xs.shape[0], model.state_size
    delta, carried = np.empty((T + 1, m)), np.empty(T)
    regulariser.backward_norms(*model.kernel_args(), xs, states(model, xs), grad_out(model, xs),
                               delta, carried)
    return delta, carried


def _sensitivities(model, xs):
    r = sensitivities(model, xs)
    return r.output, r.input


# ---------------------------------------------------------------------- reference side
def _reference_jacobians(model, xs):
    return (refs.jacobians(model, xs),)


def _reference_suffix_norms(model, xs):
    return _blocks(*naive.suffix_log10_norms(refs.jacobians(model, xs), n_block(model)))


def _reference_lyapunov(model, xs):
    return (refs.benettin(refs.jacobians(model, xs), model.state_size, seed=0),)


def _reference_sensitivities(model, xs):
    return naive.sensitivity_log10_norms(refs.jacobians(model, xs), refs.input_jacobians(model, xs),
                                         model.hidden)


def _reference_backpropagated(model, xs):
    return refs.backpropagated(refs.jacobians(model, xs), grad_out(model, xs))


REFERENCES = {
    trajectory.run: Comparison(lambda model, xs: (states(model, xs),),
                               lambda model, xs: (naive.trajectory(model, xs),), 1e-13, 1e-12),
    trajectory.step_jacobians: Comparison(_step_jacobians, _reference_jacobians, 1e-12, 1e-10),
    suffix_products.suffix_log10_norms: Comparison(_suffix_log10_norms, _reference_suffix_norms,
                                                   1e-9),
    step_norms.step_log10_norms: Comparison(
        _step_log10_norms, lambda model, xs: (naive.step_log10_norms(refs.jacobians(model, xs)),),
        1e-10),
    lyapunov.qr_reorthonormalisation: Comparison(_lyapunov_full, _reference_lyapunov, 1e-12,
                                                 1e-10),
    bptt.backward: Comparison(_backward, lambda model, xs: _reference_backpropagated(model, xs)[:1],
                              1e-12, 1e-10),
    regulariser.backward_norms: Comparison(_backward_norms, _reference_backpropagated, 1e-12,
                                           1e-10),
    # the analysis layer on top: the public path, validation included
    gf.decay: Comparison(lambda model, xs: (gf.decay(model, xs).log10_norm2,),
                         lambda model, xs: _reference_suffix_norms(model, xs)[:1], 1e-9),
    gf.lyapunov: Comparison(lambda model, xs: (gf.lyapunov(model, xs, seed=0).exponents,),
                            lambda model, xs: (np.sort(_reference_lyapunov(model, xs)[0])[::-1],),
                            1e-12, 1e-10),
    sensitivities: Comparison(_sensitivities, _reference_sensitivities, 1e-9),
    gf.pascanu_regulariser: Comparison(
        lambda model, xs: (gf.pascanu_regulariser(model, xs, grad_out(model, xs)).state_grads,),
        lambda model, xs: _reference_backpropagated(model, xs)[:1], 1e-12, 1e-10),
}
