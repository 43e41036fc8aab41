"""Fixed and slow points of a cell under a constant input, with their linear stability.

Under a constant input x a cell is the autonomous map ``s <- F(s, x)``.  Its fixed points
``F(s*, x) = s*`` and slow points (where the speed ``||F(s, x) - s||`` is small but not zero)
organise the dynamics, and the eigenvalues of the Jacobian ``J = dF/ds`` there say how
perturbations, and so gradients, decay or grow near them.  Following Sussillo & Barak (2013) and
Golub & Sussillo's FixedPointFinder (2018), the speed function

    q(s) = 1/2 ||F(s, x) - s||^2

is minimised from many starting states, sampled from trajectories and drawn at random, with the
exact Jacobian ``J - I`` of the residual ``F(s, x) - s`` (Levenberg-Marquardt or a trust-region
reflective method, from SciPy); the ends are judged (:mod:`.fixedpoint_search`), de-duplicated
and linearised.  Everything comes from the cell's public methods ``run`` and ``step_jacobians``,
so every cell (LSTM on its full state ``(h, c)``) is handled the same way.
"""

import json
import math
from dataclasses import dataclass

import numpy as np

from ..cells import CELLS, Cell
from ..errors import GradflowError
from ..io.arrays import as_state
from ..validation import choice, integer, real
from ._json import number
from ._json import numbers as json_numbers
from .fixedpoint_search import distinct, search, starting_states

__all__ = ["FixedPoint", "FixedPointsResult", "constant_input", "fixed_points"]

#: The minimisers of :func:`scipy.optimize.least_squares` offered.
METHODS = ("lm", "trf")
#: Eigenvalue moduli are compared after rounding to this many digits when ordering them, so a
#: complex-conjugate pair stays together (positive imaginary part first).
_MODULUS_DIGITS = 12


@dataclass(frozen=True, eq=False)
class FixedPoint:
    """One fixed or slow point and the linearisation of the cell there.

    Attributes
    ----------
    state : ndarray, shape (m,)
        The point s*; ``concat(h, c)`` for LSTM.
    q : float
        The speed ``1/2 ||F(s*, x) - s*||^2`` (about 1e-30 at a fixed point found to float64
        precision).
    kind : {"fixed", "slow"}
        ``"fixed"`` when q is at most the fixed tolerance, ``"slow"`` when it lies between the
        fixed and the slow tolerance.
    eigenvalues : ndarray of complex, shape (m,)
        Eigenvalues of ``J = dF/ds`` at s*, by descending modulus (a conjugate pair with the
        positive imaginary part first).
    timescales : tuple of (float or None), length m
        ``-1 / ln|lambda_i|`` steps, in the order of ``eigenvalues``: the e-folding time of a
        perturbation along that eigenvector; 0 for ``lambda_i = 0``; None for
        ``|lambda_i| >= 1``, where a perturbation does not decay (its time constant diverges at
        ``|lambda_i| = 1`` and it grows beyond).  Never inf or NaN.
    """

    state: np.ndarray
    q: float
    kind: str
    eigenvalues: np.ndarray
    timescales: tuple

    @property
    def spectral_radius(self):
        """The largest eigenvalue modulus of J."""
        return float(np.abs(self.eigenvalues).max())

    @property
    def unstable_dimensions(self):
        """The number of eigenvalues with ``|lambda| > 1`` (directions that grow)."""
        return int(np.count_nonzero(np.abs(self.eigenvalues) > 1.0))

    @property
    def stable(self):
        """Whether s* is asymptotically stable: every ``|lambda| < 1``."""
        return self.spectral_radius < 1.0

    @property
    def slowest_timescale(self):
        """The longest finite time constant, in steps (None when s* is not stable)."""
        return self.timescales[0] if self.stable else None

    def to_dict(self):
        """The JSON document of this point; eigenvalues as ``[re, im]`` pairs."""
        return {
            "state": json_numbers(self.state),
            "q": number(self.q),
            "kind": self.kind,
            "stable": self.stable,
            "unstable_dimensions": self.unstable_dimensions,
            "spectral_radius": number(self.spectral_radius),
            "eigenvalues": [[number(v.real), number(v.imag)] for v in self.eigenvalues],
            "timescales": [number(t) for t in self.timescales],
        }


@dataclass(frozen=True, eq=False)
class FixedPointsResult:
    """The fixed and slow points of a cell under one constant input.

    Attributes
    ----------
    model : str
        The analysed cell, in words.
    cell : str
        Its registry name.
    input : ndarray, shape (d,)
        The constant input x.
    points : tuple of FixedPoint
        Fixed points first (by number of unstable dimensions, then state), then slow points
        by increasing q.
    starts : int
        The number of starting states minimised.
    discarded : int
        Starts whose search ended above the slow tolerance, ran out of evaluations above the
        fixed tolerance, or left the float64 range.
    degenerate : int
        Starts that ended where q is below the fixed tolerance but ``J - I`` is singular to
        working precision (saturated gates, or a continuum of fixed points): not reported.
    outliers : int
        Starts whose point lay beyond the outlier distance.
    seed : int
    method : str
    fixed_tolerance, slow_tolerance, unique_tolerance : float
        The tolerances used (see :func:`fixed_points`).
    outlier_distance : float or None
        The outlier rule used (None: none).
    """

    model: str
    cell: str
    input: np.ndarray
    points: tuple
    starts: int
    discarded: int
    degenerate: int
    outliers: int
    seed: int
    method: str
    fixed_tolerance: float
    slow_tolerance: float
    unique_tolerance: float
    outlier_distance: float | None

    @property
    def fixed(self):
        """The true fixed points."""
        return tuple(p for p in self.points if p.kind == "fixed")

    @property
    def slow(self):
        """The slow points."""
        return tuple(p for p in self.points if p.kind == "slow")

    def to_dict(self):
        """The JSON document of ``gradflow fixedpoints --json`` (no inf or NaN anywhere)."""
        return {
            "model": self.model,
            "cell": self.cell,
            "input": json_numbers(self.input),
            "fixed_count": len(self.fixed),
            "slow_count": len(self.slow),
            "starts": self.starts,
            "discarded": self.discarded,
            "degenerate": self.degenerate,
            "outliers": self.outliers,
            "seed": self.seed,
            "method": self.method,
            "fixed_tolerance": self.fixed_tolerance,
            "slow_tolerance": self.slow_tolerance,
            "unique_tolerance": self.unique_tolerance,
            "outlier_distance": self.outlier_distance,
            "fixed_points": [p.to_dict() for p in self.points],
        }

    def to_json(self):
        """:meth:`to_dict` as one JSON text."""
        return json.dumps(self.to_dict(), allow_nan=False)


def constant_input(x, width, *, what="x"):
    """Check a constant input vector of shape (d,) (None: zeros); return it as float64.

    Parameters
    ----------
    x : array_like, shape (d,), or None
    width : int
        The model's input width d.
    what : str
        The name of the input in messages (a file name on the command line).
    """
    if x is None:
        return np.zeros(width)
    a = np.asarray(x)
    if a.shape != (width,):
        raise GradflowError(f"{what} has shape {a.shape}; expected ({width},), one input "
                            f"vector of the model's input width {width}")
    return as_state(a, width, what=what).copy()  # the shape is checked: this checks values


def _ordered_eigenvalues(J):
    values = np.linalg.eigvals(J).astype(complex)
    order = np.lexsort((-values.imag, -np.round(np.abs(values), _MODULUS_DIGITS)))
    return values[order]


def _timescale(modulus):
    if modulus >= 1.0:
        return None
    if modulus == 0.0:
        return 0.0
    return -1.0 / math.log(modulus)


def _point(model, x, state, q, kind):
    J = model.step_jacobians(x[None, :], state)[0]
    eigenvalues = _ordered_eigenvalues(J)
    timescales = tuple(_timescale(float(abs(v))) for v in eigenvalues)
    state = np.array(state, dtype=np.float64)
    for a in (state, eigenvalues):
        a.setflags(write=False)
    return FixedPoint(state=state, q=q, kind=kind, eigenvalues=eigenvalues,
                      timescales=timescales)


def _order(point):
    if point.kind == "fixed":
        return (0, point.unstable_dimensions, 0.0, tuple(point.state))
    return (1, 0, point.q, tuple(point.state))


def fixed_points(model, x=None, *, starts=128, inputs=None, noise=0.05, scale=1.0, seed=0,
                 method="lm", fixed_tolerance=1e-20, slow_tolerance=1e-6,
                 unique_tolerance=1e-4, outlier_distance=10.0):
    """Fixed and slow points of a cell under a constant input, and their stability.

    Minimises ``q(s) = 1/2 ||F(s, x) - s||^2`` from many starting states with the exact
    Jacobian, merges minima closer than ``unique_tolerance``, and linearises the cell at each.

    Parameters
    ----------
    model : Cell
        An RNN, LSTM or GRU cell; the state is ``concat(h, c)`` for LSTM.
    x : array_like, shape (d,), optional
        The constant input (zeros by default).
    starts : int or array_like, shape (N, m)
        The number of starting states, or the states themselves.  A number N takes
        ``ceil(N / 2)`` visited states plus Gaussian noise of standard deviation ``noise``:
        states the cell visits on ``inputs`` from zero initial states (as FixedPointFinder
        does) or, without ``inputs``, states it visits under the constant input x after 1 to
        100 steps from Gaussian initial states; the rest are Gaussian states of standard
        deviation ``scale``.
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Input sequences whose trajectories give starting states.
    noise : float, optional
        Standard deviation of the noise added to the sampled visited states.
    scale : float, optional
        Standard deviation of the random starting states.
    seed : int, optional
        Seed of the sampling; the result is deterministic given it.
    method : {"lm", "trf"}, optional
        Levenberg-Marquardt or trust-region reflective (:func:`scipy.optimize.least_squares`),
        both on the residual ``F(s, x) - s`` with Jacobian ``J - I``.
    fixed_tolerance : float, optional
        A search that ends with ``q <= fixed_tolerance`` found a fixed point, if ``J - I`` is
        non-singular there (else it is counted as degenerate and not reported).
    slow_tolerance : float, optional
        A converged search that ends with ``fixed_tolerance < q <= slow_tolerance`` found a
        slow point; ends above it are discarded.
    unique_tolerance : float, optional
        Minima within this Euclidean distance of a lower one are the same point.
    outlier_distance : float or None, optional
        Points farther from the centroid of the starting states than this many times their
        mean distance from it are dropped as outliers (FixedPointFinder's rule); None keeps
        every point.

    Returns
    -------
    FixedPointsResult
        The points with their eigenvalues, unstable dimensions, spectral radii and time
        constants ``-1 / ln|lambda|`` (None for ``|lambda| >= 1``).

    Raises
    ------
    GradflowError
        On a model that is not a cell, or a bad argument (naming it, the rule and the value).

    Notes
    -----
    A fixed point is stable when every eigenvalue of J has modulus below 1; each eigenvalue
    with modulus above 1 is an unstable direction (a saddle has some of each).  Near a stable
    point a perturbation along an eigenvector shrinks by ``|lambda|`` per step, so gradients
    back-propagated through a trajectory resting there decay with the same time constants.
    The search finds the points whose basins (under the minimiser, not the dynamics) hold a
    starting state; more starts find more of them.  In gated cells q also falls towards states
    where a gate saturates and ``F(s, x) = s`` holds in float64 without a fixed point there;
    such ends (``J - I`` singular to working precision) are counted in ``degenerate``, and so
    would be the points of an exact continuum of fixed points.

    References
    ----------
    Sussillo & Barak (2013), "Opening the black box: low-dimensional dynamics in
    high-dimensional recurrent neural networks", Neural Computation 25, 626.
    Golub & Sussillo (2018), "FixedPointFinder: a Tensorflow toolbox for identifying and
    characterizing fixed points in recurrent neural networks", JOSS 3, 1003.
    """
    if not isinstance(model, Cell):
        titles = ", ".join(cls.title for cls in CELLS.values())
        raise GradflowError(f"model must be a single cell ({titles}); got "
                            f"{type(model).__name__}")
    x = constant_input(x, model.inputs)
    noise = real(noise, "noise", minimum=0.0)
    scale = real(scale, "scale", minimum=0.0, low_open=True)
    seed = integer(seed, "seed", minimum=0)
    method = choice(method, "method", METHODS)
    fixed_tolerance = real(fixed_tolerance, "fixed_tolerance", minimum=0.0)
    slow_tolerance = real(slow_tolerance, "slow_tolerance", minimum=fixed_tolerance,
                          rule=f"be >= fixed_tolerance ({fixed_tolerance:g})")
    unique_tolerance = real(unique_tolerance, "unique_tolerance", minimum=0.0,
                            low_open=True)
    if outlier_distance is not None:
        outlier_distance = real(outlier_distance, "outlier_distance", minimum=0.0,
                                low_open=True)
    initial = starting_states(model, x, starts, inputs, noise, scale,
                              np.random.default_rng(seed))
    ends = search(model, x, initial, method=method, fixed_tolerance=fixed_tolerance,
                  slow_tolerance=slow_tolerance, outlier_distance=outlier_distance)
    points = [_point(model, x, state, q, "fixed" if q <= fixed_tolerance else "slow")
              for state, q in distinct(ends.accepted, unique_tolerance)]
    x.setflags(write=False)
    return FixedPointsResult(
        model=model.describe(),
        cell=model.cell,
        input=x,
        points=tuple(sorted(points, key=_order)),
        starts=int(initial.shape[0]),
        discarded=ends.discarded,
        degenerate=ends.degenerate,
        outliers=ends.outliers,
        seed=seed,
        method=method,
        fixed_tolerance=fixed_tolerance,
        slow_tolerance=slow_tolerance,
        unique_tolerance=unique_tolerance,
        outlier_distance=outlier_distance,
    )
