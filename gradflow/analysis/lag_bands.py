"""Per-lag medians and bands over a batch whose sequences may have different lengths.

A padded batch analysed sequence by sequence (each over its own length T_b) gives curves of
different lengths: the per-lag figures at lag k are taken over the sequences that reach lag k
(``DecayBatchResult.sequences_per_lag`` says how many).  For equal lengths they are the plain
per-lag statistics.  A band touching an exact zero (``-inf``) reads ``-inf``, never NaN.
"""

import numpy as np

__all__ = ["lag_median", "lag_quantiles"]


def _finite_or_zero(q):
    q[np.isnan(q)] = -np.inf
    return q


def _by_lag(curves, statistic):
    sizes = {len(c) for c in curves}
    if len(sizes) == 1:
        with np.errstate(invalid="ignore"):
            return _finite_or_zero(np.asarray(statistic(np.stack(curves), 0)))
    K = max(sizes)
    columns = []
    for k in range(K):
        values = np.array([c[k] for c in curves if len(c) > k])
        with np.errstate(invalid="ignore"):
            columns.append(np.asarray(statistic(values, 0)))
    return _finite_or_zero(np.stack(columns, axis=-1))


def lag_quantiles(curves, levels):
    """Per-lag quantiles at ``levels`` over the curves reaching each lag: (Q, K).

    Parameters
    ----------
    curves : sequence of ndarray, each shape (K_b,)
        log10 norms by lag, one curve per sequence.
    levels : sequence of float
        Quantile levels in (0, 1).
    """
    return _by_lag(list(curves), lambda a, axis: np.quantile(a, list(levels), axis=axis))


def lag_median(curves):
    """Per-lag median over the curves reaching each lag: (K,)."""
    return _by_lag(list(curves), lambda a, axis: np.median(a, axis=axis))
