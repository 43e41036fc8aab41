"""Mean-field theory of large random RNNs: the variance fixed point, chi and the edge of chaos.

The network is the discrete-time map ``h <- f(a)``, ``a = W_h h + u``, with ``W_h ~ N(0, g^2/N)``
i.i.d. and an input-plus-bias drive ``u`` of variance ``s2`` per unit.  For large N the
pre-activations are Gaussian across units with variance ``q``, and

    q  <-  g^2 E_z[f(sqrt(q) z)^2] + s2          (the variance map; z standard normal),
    chi  =  g^2 E_z[f'(sqrt(q*) z)^2]            (mean squared singular value of J = diag(f') W_h),

where ``q*`` is the stable fixed point of the variance map.  A perturbation's squared norm grows
by ``chi`` per step, so ``lambda_1 = ln(chi) / 2``.  The integrals are done by adaptive
quadrature, the fixed points and the critical gain by Brent's method.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from .. import activations
from ..validation import choice, real
from ._json import number

__all__ = ["MeanFieldResult", "mean_field"]

#: Activations with f(c a) = c f(a) for c > 0: their variance map is linear in q and chi does
#: not depend on q, so their theory is closed-form given two constants.
_POSITIVELY_HOMOGENEOUS = frozenset({"relu"})

#: The quadrature covers |z| <= _Z_MAX; the Gaussian weight beyond it is below 1e-22.
_Z_MAX = 10.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: Breakpoints of the quadrature: in z (the Gaussian's scale) and in a = sqrt(q) z (the
#: activation's; its features decay like exp(-|a|), so the last cut leaves ~1e-14 of them).
_GAUSSIAN_CUTS = (1.0, 3.0, 6.0)
_ACTIVATION_CUTS = (0.5, 2.0, 8.0, 32.0)
_RTOL = 4e-15


@dataclass(frozen=True)
class MeanFieldResult:
    """The large-N mean-field prediction for a random RNN ``h <- f(W_h h + u)``.

    Attributes
    ----------
    gain : float
        g: ``W_h ~ N(0, g^2 / N)``.
    input_variance : float
        s2: the variance that the input and the bias add to each pre-activation.
    activation : str
        The nonlinearity f.
    q : float
        q*, the stable fixed point of the variance of the pre-activations
        ``a = W_h h + u`` (not of the states ``h = f(a)``); ``math.inf`` when that variance
        grows without bound (relu with ``g^2 > 2``, or ``g^2 >= 2`` when ``s2 > 0``).
    chi : float
        ``g^2 E[f'(sqrt(q*) z)^2]``: the factor by which a perturbation's squared norm (and a
        back-propagated gradient's) grows per step.  At ``q* = 0`` it is the limit
        ``q -> 0+``: ``g^2 f'(0)^2`` for tanh, ``g^2 / 2`` for relu (whose small states evolve as
        the network itself, relu being positively homogeneous).
    lambda_1 : float
        The predicted largest Lyapunov exponent, ``ln(chi) / 2`` (natural log per step).
    critical_gain : float or None
        The smallest gain at which chi reaches 1 at this input variance and activation (the
        edge of chaos); None if there is none.
    timescale : float or None
        ``-1 / ln(chi)`` steps, the e-folding time of the squared norm of a perturbation or a
        gradient (the norm itself e-folds in ``2 * timescale = -1 / lambda_1`` steps).  None
        for ``chi >= 1``: at ``chi = 1`` the decay is slower than exponential (the timescale
        diverges) and for ``chi > 1`` perturbations grow instead of decaying.
    trivial : bool
        Whether q* is the trivial fixed point 0, i.e. the zero state is the attractor (only
        for ``s2 = 0`` and ``f(0) = 0``).
    """

    gain: float
    input_variance: float
    activation: str
    q: float
    chi: float
    lambda_1: float
    critical_gain: float | None
    timescale: float | None
    trivial: bool

    @property
    def bounded(self):
        """Whether the variance of the pre-activations has a finite fixed point."""
        return math.isfinite(self.q)

    @property
    def phase(self):
        """``"ordered"`` (chi < 1), ``"critical"``, ``"chaotic"`` (chi > 1) or ``"unbounded"``."""
        if not self.bounded:
            return "unbounded"
        if self.chi < 1.0:
            return "ordered"
        return "critical" if self.chi == 1.0 else "chaotic"

    @property
    def reading(self):
        """What the prediction says about perturbations and gradients, in words."""
        return {
            "ordered": "perturbations and gradients shrink geometrically",
            "critical": "edge of chaos: perturbations neither shrink nor grow geometrically",
            "chaotic": "nearby trajectories separate, gradients grow geometrically",
            "unbounded": "the activity grows without bound",
        }[self.phase]

    def to_dict(self):
        """The JSON document of ``gradflow theory --json`` (non-finite values as None)."""
        return {
            "gain": self.gain,
            "input_variance": self.input_variance,
            "activation": self.activation,
            "q": number(self.q),
            "chi": number(self.chi),
            "lambda_1": number(self.lambda_1),
            "critical_gain": number(self.critical_gain),
            "timescale": number(self.timescale),
            "trivial": self.trivial,
            "bounded": self.bounded,
            "phase": self.phase,
        }


def gaussian_expectation(function, q):
    """``E_z[function(sqrt(q) z)]`` for a standard normal z, by adaptive quadrature.

    ``function`` maps a float to a float, bounded by a polynomial, and varies on the scale
    ``|a| ~ 1`` (as f and f' do).  The interval ``|z| <= 10`` is cut at 0, at the Gaussian's
    scale (``|z| = 1, 3, 6``) and at the function's (``sqrt(q) |z| = 0.5, 2, 8, 32``), so a
    steep integrand at large q is resolved as well as a smooth one at small q; the absolute
    error is about 1e-15 for integrands of order 1.
    """
    scale = math.sqrt(q)
    cuts = set(_GAUSSIAN_CUTS)
    if scale > 0.0:
        cuts.update(c / scale for c in _ACTIVATION_CUTS if c / scale < _Z_MAX)
    points = sorted({0.0} | cuts | {-c for c in cuts})

    def integrand(z):
        return function(scale * z) * math.exp(-0.5 * z * z)

    with np.errstate(over="ignore"):
        value, _ = quad(integrand, -_Z_MAX, _Z_MAX, points=points, epsabs=1e-16,
                        epsrel=1e-13, limit=500)
    return value / _SQRT_2PI


class _Activation:
    """The two Gaussian moments of one activation that the theory needs."""

    def __init__(self, name):
        self.name = name
        self.at_zero = float(activations.apply(name, 0.0))
        self.slope_at_zero = float(activations.derivative(name, 0.0))

    def square(self, a):
        return float(activations.apply(self.name, a)) ** 2

    def derivative_square(self, a):
        return float(activations.derivative(self.name, a)) ** 2

    def mean_square(self, q):
        """``E[f(sqrt(q) z)^2]``."""
        return gaussian_expectation(self.square, q)

    def mean_derivative_square(self, q):
        """``E[f'(sqrt(q) z)^2]``; at q = 0 the value f'(0)^2."""
        if q == 0.0:
            return self.slope_at_zero ** 2
        return gaussian_expectation(self.derivative_square, q)

    def mean_square_ratio(self, q):
        """``E[(f(sqrt(q) z) / sqrt(q))^2]`` for q > 0 (finite as q -> 0 when f(0) = 0)."""
        scale = math.sqrt(q)
        return gaussian_expectation(lambda a: (float(activations.apply(self.name, a)) / scale)
                                    ** 2, q)


def _expand_up(function, start):
    """The first of start, 2 start, 4 start, ... at which ``function`` is negative."""
    upper = start
    while function(upper) >= 0.0:
        upper *= 2.0
    return upper


def _fixed_point(f, gain, input_variance):
    """The stable fixed point q* of the variance map of a non-homogeneous activation.

    Returns ``(q, trivial)``.  The map is increasing and concave in q for tanh and sigmoid, so
    its positive fixed point, where there is one, is unique and stable.
    """
    g2 = gain * gain
    if input_variance == 0.0 and f.at_zero == 0.0:
        # q = 0 is a fixed point; it is the stable one unless the map's slope g^2 f'(0)^2 there
        # exceeds 1.  Then the other root solves g^2 E[(f(sqrt(q) z) / sqrt(q))^2] = 1, which
        # keeps its precision as q -> 0 where q - V(q) would cancel.
        if g2 * f.slope_at_zero ** 2 <= 1.0:
            return 0.0, True

        def excess(q):
            return g2 * f.mean_square_ratio(q) - 1.0

        upper = _expand_up(excess, g2)
        lower = upper
        while excess(lower) <= 0.0:
            lower *= 0.5
            if lower < 1e-300:
                return 0.0, True
        return brentq(excess, lower, upper, xtol=1e-300, rtol=_RTOL), False

    def gap(q):
        return g2 * f.mean_square(q) + input_variance - q

    # gap(s2) = g^2 E[f^2] >= 0; gap(g^2 + s2) <= 0 for |f| <= 1, else found by doubling.
    upper = _expand_up(gap, g2 + input_variance)
    if gap(input_variance) == 0.0:
        return input_variance, False
    return brentq(gap, input_variance, upper, xtol=1e-300, rtol=_RTOL), False


def _critical_gain(f, input_variance):
    """The smallest gain at which chi = 1 at the self-consistent q*, or None.

    At criticality ``g^2 = 1 / E[f'^2](q)`` and ``q = g^2 E[f^2](q) + s2``, so the critical
    variance q_c solves ``q - E[f^2](q) / E[f'^2](q) = s2`` (Poole et al. 2016) and
    ``g_c = E[f'^2](q_c)^(-1/2)``.  E[f'^2] falls as q grows, so the smallest q_c gives the
    smallest g_c; q_c > s2, and it is bracketed on the grid s2, 2 s2, 4 s2, ... before Brent's
    method refines it.
    """
    if input_variance == 0.0 and f.at_zero == 0.0:
        # the trivial fixed point loses stability where g^2 f'(0)^2 = 1
        return 1.0 / abs(f.slope_at_zero) if f.slope_at_zero != 0.0 else None

    def excess(q):
        return q - f.mean_square(q) / f.mean_derivative_square(q) - input_variance

    lower = input_variance
    upper = max(2.0 * input_variance, 1e-4)
    while excess(upper) <= 0.0:
        lower, upper = upper, 2.0 * upper
        if upper > 1e300:
            return None
    q_c = brentq(excess, lower, upper, xtol=1e-300, rtol=_RTOL)
    return 1.0 / math.sqrt(f.mean_derivative_square(q_c))


def _homogeneous(f, gain, input_variance):
    """``(q, chi, critical_gain, trivial)`` for a positively homogeneous activation.

    ``f(a) = |a| f(sign(a))``, so ``E[f(sqrt(q) z)^2] = q c`` with
    ``c = (f(1)^2 + f(-1)^2) / 2`` and ``E[f'(sqrt(q) z)^2] = (f'(1)^2 + f'(-1)^2) / 2`` (both
    1/2 for relu), exactly.  The variance map ``q <- g^2 c q + s2`` has the finite fixed point
    ``s2 / (1 - g^2 c)`` only for ``g^2 c < 1``; chi does not depend on q.
    """
    c = 0.5 * (f.square(1.0) + f.square(-1.0))
    derivative_square = 0.5 * (f.derivative_square(1.0) + f.derivative_square(-1.0))
    slope = gain * gain * c
    chi = gain * gain * derivative_square
    critical_gain = math.sqrt(1.0 / derivative_square)
    if input_variance == 0.0 and slope <= 1.0:
        return 0.0, chi, critical_gain, True
    if slope >= 1.0:
        return math.inf, chi, critical_gain, False
    return input_variance / (1.0 - slope), chi, critical_gain, False


def mean_field(gain, input_variance=0.0, activation="tanh"):
    """The mean-field prediction of the Lyapunov exponent of a large random RNN.

    The network is ``h <- f(a)``, ``a = W_h h + u`` with ``W_h ~ N(0, g^2/N)`` (gradflow's
    ``init="gaussian"`` at this gain) and a drive ``u`` (``W_x x + b_h``) of variance ``s2``
    per unit: ``s2 = 0`` for zero inputs and biases; ``s2 = 1`` for ``init="gaussian"``
    (``W_x ~ N(0, 1/d)``, zero bias) driven by standard-normal inputs.  q is the variance of
    the pre-activations a, the fixed point of

        ``q = g^2 E_z[f(sqrt(q) z)^2] + s2``  (z standard normal),

    ``chi = g^2 E_z[f'(sqrt(q) z)^2]`` and ``lambda_1 = ln(chi) / 2``.

    Parameters
    ----------
    gain : float
        g > 0.
    input_variance : float, optional
        s2 >= 0.
    activation : {"tanh", "sigmoid", "relu"}, optional
        The nonlinearity f.

    Returns
    -------
    MeanFieldResult
        For tanh at ``s2 = 0``: ``q = 0`` and ``chi = g^2`` for ``g <= 1``, chaos (``chi > 1``)
        for ``g > 1``; the critical gain rises with s2.  For relu ``chi = g^2 / 2`` and the
        critical gain is sqrt(2) at any s2; for ``g^2 >= 2`` (``> 2`` at ``s2 = 0``) the
        variance diverges (``g^2 >= 2`` when ``s2 > 0``), reported as ``q = inf`` with chi
        and lambda_1 still defined; at ``g^2 = 2`` and ``s2 = 0`` every q is a fixed point and
        the trivial one, 0, is reported.

    Notes
    -----
    The Gaussian integrals are adaptive quadratures over z (accurate at any gain); q* and the
    critical variance are found by Brent's method.  The prediction is for N -> infinity; for
    finite N the measured lambda_1 scatters around it by O(1/sqrt(N)).

    References
    ----------
    Sompolinsky, Crisanti & Sommers (1988), "Chaos in random neural networks", Physical
    Review Letters 61, 259.
    Molgedey, Schuchhardt & Schuster (1992), "Suppressing chaos in neural networks by noise",
    Physical Review Letters 69, 3717.
    Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (2016), "Exponential expressivity in deep
    neural networks through transient chaos", NeurIPS.
    Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep information propagation", ICLR.
    """
    gain = real(gain, "gain", minimum=0.0, low_open=True)
    input_variance = real(input_variance, "input_variance", minimum=0.0)
    activation = choice(activation, "activation", activations.ACTIVATIONS)
    f = _Activation(activation)
    if activation in _POSITIVELY_HOMOGENEOUS:
        q, chi, critical_gain, trivial = _homogeneous(f, gain, input_variance)
    else:
        q, trivial = _fixed_point(f, gain, input_variance)
        chi = gain * gain * f.mean_derivative_square(q)
        critical_gain = _critical_gain(f, input_variance)
    log_chi = math.log(chi) if chi > 0.0 else -math.inf
    return MeanFieldResult(
        gain=gain,
        input_variance=input_variance,
        activation=activation,
        q=q,
        chi=chi,
        lambda_1=0.5 * log_chi,
        critical_gain=critical_gain,
        timescale=-1.0 / log_chi if chi < 1.0 else None,
        trivial=trivial,
    )
