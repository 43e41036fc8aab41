"""Gradient clipping as in Pascanu et al. (2013): by norm, by value, and a non-finite fallback.

Norm clipping rescales the whole gradient ``g <- c g / ||g||`` when ``||g|| > c``: the
direction is kept and only the step length is bounded, which is what an exploding gradient
needs.  Value clipping (each entry into ``[-c, c]``) is offered for contrast: it bounds the step
too, but turns the direction (``cosine`` < 1).  A gradient holding NaN or inf has no usable
direction; it is replaced by the fallback (no step, or a random step of the clipping size) and
flagged.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .. import validation
from ..errors import GradflowError

#: Clipping methods.
METHODS = ("norm", "value")
#: What replaces a gradient with a NaN or inf entry.
FALLBACKS = ("zero", "random", "raise")


def gradient_norm(arrays):
    """Euclidean norm of several arrays taken as one vector, without overflow.

    Parameters
    ----------
    arrays : iterable of array_like, or a mapping of them
        The gradient's parts (the weights' gradients).

    Returns
    -------
    float
        The norm; ``inf`` when an entry is infinite, ``nan`` when one is NaN.  Huge finite
        entries (1e200) give their finite norm: the sum of squares is scaled by the peak.
    """
    if isinstance(arrays, Mapping):
        arrays = arrays.values()
    if isinstance(arrays, str) or not hasattr(arrays, "__iter__"):
        raise GradflowError(f"the gradient must be arrays (a mapping or a sequence of them); "
                            f"got {type(arrays).__name__}")
    try:
        parts = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    except (TypeError, ValueError):
        raise GradflowError("the gradient must be arrays of real numbers") from None
    flat = np.concatenate(parts) if parts else np.zeros(0)
    if np.isnan(flat).any():
        return math.nan
    peak = float(np.max(np.abs(flat), initial=0.0))
    if peak == 0.0 or math.isinf(peak):
        return peak
    return peak * math.sqrt(float(np.sum((flat / peak) ** 2)))


@dataclass(frozen=True)
class ClipResult:
    """A gradient after clipping, and what clipping did to it.

    Attributes
    ----------
    grads : mapping of str to ndarray, or ndarray
        The gradient to step with, in the form it was given.
    method : str
        ``"norm"`` or ``"value"``.
    threshold : float
        The clipping size c.
    norm : float
        ``||g||`` before clipping (``inf`` or ``nan`` for a non-finite gradient).
    clipped_norm : float
        ``||g||`` after clipping (or of the fallback step).
    clipped : bool
        Whether clipping changed the gradient (norm above c; some entry outside [-c, c]).
    clipped_fraction : float
        Fraction of the entries clipping changed: for norm clipping every nonzero entry is
        rescaled, for value clipping only those outside [-c, c].
    cosine : float or None
        Cosine between the gradient and the clipped one: 1 for norm clipping, below 1 where
        value clipping turned the direction; None for a zero or non-finite gradient.
    non_finite : bool
        The gradient held NaN or inf, and ``fallback`` replaced it.
    fallback : str or None
        ``"zero"`` or ``"random"`` when the non-finite fallback was taken.
    """

    grads: object
    method: str
    threshold: float
    norm: float
    clipped_norm: float
    clipped: bool
    clipped_fraction: float
    cosine: float | None
    non_finite: bool
    fallback: str | None

    @property
    def scale(self):
        """``clipped_norm / norm`` (1 when nothing changed; None for a zero or bad norm)."""
        if not math.isfinite(self.norm) or self.norm == 0.0:
            return None
        return self.clipped_norm / self.norm

    def to_dict(self):
        """A JSON document (non-finite norms as None, flagged by ``non_finite``)."""
        from ._json import number

        return {
            "method": self.method,
            "threshold": self.threshold,
            "norm": number(self.norm),
            "clipped_norm": number(self.clipped_norm),
            "clipped": self.clipped,
            "clipped_fraction": self.clipped_fraction,
            "cosine": number(self.cosine),
            "non_finite": self.non_finite,
            "fallback": self.fallback,
        }


def clipping_threshold(value, name="threshold"):
    """Return a clipping size c as a float, or raise naming ``name``: c must be finite and > 0.

    Every failure (not a number, NaN, inf, c <= 0) is worded the same way:
    ``"clip must be a positive finite number; got -1.0"``.
    """
    try:
        return validation.real(value, name, minimum=0.0, low_open=True)
    except GradflowError:
        raise GradflowError(f"{name} must be a positive finite number; got {value!r}") from None


def _cosine(a, b):
    na, nb = gradient_norm(a), gradient_norm(b)
    if not (math.isfinite(na) and math.isfinite(nb)) or na == 0.0 or nb == 0.0:
        return None
    dot = sum(float(np.dot((x / na).ravel(), (y / nb).ravel())) for x, y in zip(a, b,
                                                                                  strict=True))
    return min(1.0, max(-1.0, dot))


def clip_gradients(grads, threshold, *, method="norm", on_non_finite="zero", rng=None):
    """Clip a gradient by its global norm (Pascanu et al. 2013) or entry by entry.

    Parameters
    ----------
    grads : mapping of str to array_like, or array_like
        The gradient, e.g. :attr:`BPTTResult.grads` (all weights form one vector).
    threshold : float
        The clipping size c > 0.
    method : {"norm", "value"}
        ``"norm"``: ``g <- c g / ||g||`` when ``||g|| > c`` (direction kept).  ``"value"``:
        every entry into ``[-c, c]`` (direction changed).
    on_non_finite : {"zero", "random", "raise"}
        When an entry is NaN or inf: step with zeros (skip the update), with a random
        direction of norm c (``"norm"``) or uniform entries in ``[-c, c]`` (``"value"``), or
        raise :class:`~gradflow.GradflowError`.
    rng : numpy.random.Generator, optional
        Source of the random fallback (default: ``default_rng(0)``).

    Returns
    -------
    ClipResult

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML, Algorithm 1.
    Mikolov (2012), "Statistical language models based on neural networks", PhD thesis
    (value clipping).
    """
    threshold = clipping_threshold(threshold)
    validation.choice(method, "method", METHODS)
    validation.choice(on_non_finite, "on_non_finite", FALLBACKS)
    mapping = isinstance(grads, Mapping)
    names = list(grads) if mapping else None
    if mapping and not names:
        raise GradflowError("grads must hold at least one array; got an empty mapping")
    parts = [np.asarray(grads[k] if mapping else grads) for k in (names or [None])]
    for k, p in zip(names or ["grads"], parts, strict=True):
        if p.dtype.kind not in "fiu":
            raise GradflowError(f"{k} has dtype {p.dtype}; expected real numbers")
    parts = [np.array(p, dtype=np.float64) for p in parts]
    size = sum(p.size for p in parts)
    norm = gradient_norm(parts)
    non_finite = not math.isfinite(norm)
    fallback = None
    if non_finite:
        if on_non_finite == "raise":
            bad = next(k for k, p in zip(names or ["grads"], parts, strict=True)
                       if not np.isfinite(p).all())
            raise GradflowError(f"the gradient is not finite (norm {norm}): {bad} holds NaN or inf")
        fallback = on_non_finite
        if fallback == "zero":
            out = [np.zeros_like(p) for p in parts]
        else:
            rng = np.random.default_rng(0) if rng is None else rng
            if method == "norm":
                out = [rng.standard_normal(p.shape) for p in parts]
                scale = threshold / gradient_norm(out)
                out = [o * scale for o in out]
            else:
                out = [rng.uniform(-threshold, threshold, p.shape) for p in parts]
        clipped, fraction, cosine = True, 1.0, None
    elif method == "norm":
        clipped = norm > threshold
        if clipped:
            scale = threshold / norm
            out = [p * scale for p in parts]
        else:
            out = parts
        nonzero = sum(int(np.count_nonzero(p)) for p in parts)
        fraction = (nonzero / size if size else 0.0) if clipped else 0.0
        cosine = 1.0 if norm > 0 else None
    else:
        changed = sum(int(np.count_nonzero(np.abs(p) > threshold)) for p in parts)
        clipped = changed > 0
        out = [np.clip(p, -threshold, threshold) for p in parts]
        fraction = changed / size if size else 0.0
        cosine = _cosine(parts, out)
    clipped_norm = gradient_norm(out)
    for o in out:
        o.setflags(write=False)
    result = MappingProxyType(dict(zip(names, out, strict=True))) if mapping else out[0]
    return ClipResult(
        grads=result,
        method=method,
        threshold=threshold,
        norm=norm,
        clipped_norm=clipped_norm,
        clipped=bool(clipped),
        clipped_fraction=float(fraction),
        cosine=cosine,
        non_finite=non_finite,
        fallback=fallback,
    )


@dataclass(frozen=True)
class ClippingSummary:
    """How often clipping acted over a run of steps.

    Attributes
    ----------
    steps : int
        Number of clipping calls.
    clipped_steps : int
        Steps whose gradient clipping changed (the non-finite ones included).
    clipped_fraction : float
        ``clipped_steps / steps``.
    non_finite_steps : int
        Steps whose gradient held NaN or inf (replaced by the fallback).
    mean_entry_fraction : float
        Mean over steps of :attr:`ClipResult.clipped_fraction`.
    max_norm : float or None
        Largest finite gradient norm met before clipping.
    """

    steps: int
    clipped_steps: int
    clipped_fraction: float
    non_finite_steps: int
    mean_entry_fraction: float
    max_norm: float | None

    def to_dict(self):
        """JSON form."""
        return {
            "steps": self.steps,
            "clipped_steps": self.clipped_steps,
            "clipped_fraction": self.clipped_fraction,
            "non_finite_steps": self.non_finite_steps,
            "mean_entry_fraction": self.mean_entry_fraction,
            "max_norm": self.max_norm,
        }


def clipping_summary(results):
    """Summarise a sequence of :class:`ClipResult`: the fraction of steps clipped and more."""
    results = list(results) if hasattr(results, "__iter__") else None
    if results is None or not all(isinstance(r, ClipResult) for r in results):
        raise GradflowError("results must be a sequence of ClipResults (from clip_gradients)")
    steps = len(results)
    clipped = sum(r.clipped for r in results)
    finite = [r.norm for r in results if math.isfinite(r.norm)]
    return ClippingSummary(
        steps=steps,
        clipped_steps=int(clipped),
        clipped_fraction=clipped / steps if steps else 0.0,
        non_finite_steps=int(sum(r.non_finite for r in results)),
        mean_entry_fraction=(float(np.mean([r.clipped_fraction for r in results]))
                             if steps else 0.0),
        max_norm=max(finite) if finite else None,
    )
