"""The search behind :func:`gradflow.fixed_points`: starting states, minimisation, filtering.

Each starting state is handed to :func:`scipy.optimize.least_squares` on the residual
``F(s, x) - s`` with its exact Jacobian ``J - I``, both from the cell's public methods
(``run`` and ``step_jacobians`` over one step).  Where a search ends is then judged:

- a **fixed point** when ``q <= fixed_tolerance`` and ``J - I`` is non-singular to working
  precision (the point is isolated);
- a **slow point** when ``fixed_tolerance < q <= slow_tolerance`` and the minimiser converged;
- **degenerate** when q is below the fixed tolerance but ``J - I`` is singular: in gated cells
  these are states where a gate saturates so far that ``F(s, x) = s`` in float64 although no
  fixed point is there (a GRU's update gate at 1, an LSTM's forget gate at 1 with its input
  gate at 0), reached by the minimiser sliding down a slope of q that never turns up;
- **discarded** when q is too large, the evaluations ran out while q was still above the
  fixed tolerance (on such a slope, typically), or the trajectory left float64;
- an **outlier** when it lies farther from the centroid of the starting states than
  ``outlier_distance`` times their mean distance from it (FixedPointFinder's rule).
"""

import math

import numpy as np
from scipy.optimize import least_squares

from ..errors import GradflowError, TrajectoryOverflowError
from ..io.arrays import as_inputs, as_state
from ..validation import integer

__all__ = ["FREE_RUN_STEPS", "Search", "distinct", "search", "starting_states"]

#: Termination tolerances of the minimiser (ftol, xtol, gtol): a little above float64's epsilon.
_SOLVER_TOLERANCE = 1e-15
#: Evaluations allowed per start; converging searches take 5 to 40.
_MAX_EVALUATIONS = 100
#: ``J - I`` counts as singular when its smallest singular value is below this fraction of
#: max(1, its largest): about sqrt(eps), so a rounding-level flat direction is caught while an
#: eigenvalue of J as close to 1 as 1 - 1e-6 still gives an isolated point.
_SINGULAR = math.sqrt(np.finfo(np.float64).eps)
#: Without input sequences, half the starts are states visited under the constant input after
#: 1 to this many steps from random states: near the attractors and the slow regions.
FREE_RUN_STEPS = 100


def starting_states(model, x, starts, inputs, noise, scale, rng):
    """The (N, m) starting states: visited states plus noise, then Gaussian random states.

    Parameters
    ----------
    model : Cell
    x : ndarray, shape (d,)
        The constant input.
    starts : int or array_like, shape (N, m)
        A count N, or the states themselves (then ``inputs`` must be None).
    inputs : array_like, shape (T, d) or (B, T, d), or None
        With a count N, ``ceil(N / 2)`` starts are visited states plus Gaussian noise of
        standard deviation ``noise``: states the cell visits on these inputs from zero initial
        states, or without them, states it visits under the constant input x after 1 to
        ``FREE_RUN_STEPS`` steps from Gaussian initial states of standard deviation ``scale``.
        The other starts are Gaussian states of standard deviation ``scale``.
    noise, scale : float
    rng : numpy.random.Generator
    """
    m = model.state_size
    if np.ndim(starts) != 0:
        if inputs is not None:
            raise GradflowError("inputs give starting states only when starts is a number of "
                                "states; got both inputs and an array of starting states")
        a = np.asarray(starts)
        if a.ndim != 2 or a.shape[0] < 1:
            raise GradflowError(f"starts must be a positive integer or an (N, m) array with "
                                f"m = {m}; got an array of shape {a.shape}")
        return as_state(a, m, batch=a.shape[0], what="starts")
    count = integer(starts, "starts", minimum=1)
    sampled = (count + 1) // 2
    if inputs is not None:
        visited = model.run(as_inputs(inputs, model.inputs))[..., 1:, :].reshape(-1, m)
        rows = rng.choice(visited.shape[0], size=sampled, replace=visited.shape[0] < sampled)
        visited = visited[rows]
    else:
        initial = scale * rng.standard_normal((sampled, m))
        steps = rng.integers(1, FREE_RUN_STEPS + 1, size=sampled)
        visited = np.stack([_free_run(model, x, s, k) for s, k in zip(initial, steps,
                                                                         strict=True)])
    visited = visited + noise * rng.standard_normal((sampled, m))
    return np.concatenate([visited, scale * rng.standard_normal((count - sampled, m))])


def _free_run(model, x, start, steps):
    """The state ``steps`` steps after ``start`` under the constant input; ``start`` on overflow."""
    try:
        return model.run(np.broadcast_to(x, (steps, x.shape[0])), start)[-1]
    except TrajectoryOverflowError:
        return start


class _System:
    """The residual ``F(s, x) - s`` and its Jacobian ``J - I`` at one constant input."""

    def __init__(self, model, x):
        self.model = model
        self.xs = x[None, :]
        self.identity = np.eye(model.state_size)

    def residual(self, s):
        return self.model.run(self.xs, s)[1] - s

    def jacobian(self, s):
        return self.model.step_jacobians(self.xs, s)[0] - self.identity

    def minimum(self, start, method):
        """``(state, q, converged)`` where the search from ``start`` ends; None on overflow."""
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # a huge q is just discarded
                found = least_squares(self.residual, start, jac=self.jacobian, method=method,
                                      ftol=_SOLVER_TOLERANCE, xtol=_SOLVER_TOLERANCE,
                                      gtol=_SOLVER_TOLERANCE, max_nfev=_MAX_EVALUATIONS)
                r = self.residual(found.x)
                q = 0.5 * float(r @ r)
        except GradflowError:  # the trajectory overflowed at a far-away trial state
            return None
        return found.x, q, found.status > 0

    def isolated(self, state):
        """Whether ``J - I`` at ``state`` is non-singular to working precision."""
        sigma = np.linalg.svd(self.jacobian(state), compute_uv=False)
        return sigma[-1] > _SINGULAR * max(1.0, sigma[0])


class Search:
    """Where the searches ended: the accepted ``(state, q)`` and the count of each rejection."""

    def __init__(self):
        self.accepted = []
        self.discarded = 0
        self.degenerate = 0
        self.outliers = 0


def search(model, x, initial, *, method, fixed_tolerance, slow_tolerance, outlier_distance):
    """Minimise q from every starting state and sort the ends (see the module docstring).

    Returns
    -------
    Search
    """
    system = _System(model, x)
    centroid, radius = None, math.inf
    if outlier_distance is not None:
        with np.errstate(over="ignore", invalid="ignore"):  # exploded starts: no finite radius
            centroid = initial.mean(axis=0)
            spread = float(np.linalg.norm(initial - centroid, axis=1).mean())
        if 0.0 < spread < math.inf:
            radius = outlier_distance * spread
        else:
            centroid = None
    out = Search()
    for start in initial:
        end = system.minimum(start, method)
        if end is None:
            out.discarded += 1
            continue
        state, q, converged = end
        if q > slow_tolerance or (q > fixed_tolerance and not converged):
            out.discarded += 1
        elif q <= fixed_tolerance and not system.isolated(state):
            out.degenerate += 1
        elif centroid is not None and np.linalg.norm(state - centroid) > radius:
            out.outliers += 1
        else:
            out.accepted.append((state, q))
    return out


def distinct(minima, tolerance):
    """Greedy de-duplication: lowest q first; a point within ``tolerance`` of a kept one joins."""
    kept = []
    for state, q in sorted(minima, key=lambda item: item[1]):
        if all(np.linalg.norm(state - other) > tolerance for other, _ in kept):
            kept.append((state, q))
    return kept
