"""Where the time of the all-lag norms goes, component by component.

Replays ``gradflow.kernels.suffix_products.suffix_log10_norms_with_stats`` lag by lag from
Python, timing each kernel it calls (the Python loop adds a few microseconds per call, so the
parts sum to a little more than the compiled pass).  Usage::

    python benchmarks/profile_decay.py [--hidden 128] [--steps 1000]
"""

import argparse
import math
import time

import numpy as np

from gradflow.cells import CELLS
from gradflow.kernels import norm_estimator, suffix_products


def profile(model, xs):
    """Seconds spent per component over one pass, the compiled pass's own time and its counts.

    Returns ``(parts, compiled, stats, by_size)``: ``stats`` the compiled pass's ``[norms,
    subspace iterations, exact fallbacks]``, ``by_size`` the replay's per matrix order (the
    full product's m, the LSTM blocks' n), each ``[norms, iterations, Gram fallbacks]``.
    """
    args = model.kernel_args()
    cell_id = args[0]
    S = model.run(xs)
    T, m = xs.shape[0], model.state_size
    n = model.hidden
    n_block = n if model.state_size > n else 0  # the blocks of a state (h, c)
    state = suffix_products.new_suffix_workspace(cell_id, args[1], m, args[4].shape[0], n,
                                                 n_block)
    (R, R_next, J, diag_h, diag_c, xp, work, Bh, Bc, sums), full, est_h, est_c = state
    by_size = {}

    def counts(A):
        return by_size.setdefault(min(A.shape), np.zeros(3, dtype=np.int64))

    parts = dict.fromkeys(
        ["step Jacobian", "product R <- J^T R", "measure pass (norms, blocks)",
         "norm of the product", "norms of the two blocks"], 0.0)
    clock = time.perf_counter
    exponent = shift = 0
    for k in range(1, T + 1):
        t = T - k
        t0 = clock()
        suffix_products.jacobian_step(*args, xs[t], S[t], shift, J, diag_h, diag_c, xp, work)
        t1 = clock()
        suffix_products.advance(cell_id, args[1], J, diag_h, diag_c, R, R_next)
        R, R_next = R_next, R
        t2 = clock()
        suffix_products.measure_product(R, n_block, Bh, Bc, sums)
        t3 = clock()
        exponent += shift
        base = exponent * math.log10(2.0)
        norm_estimator.log10_norm(R, sums[0], base, full, counts(R))
        t4 = clock()
        if n_block:
            norm_estimator.log10_norm(Bh, sums[1], base, est_h, counts(Bh))
            norm_estimator.log10_norm(Bc, sums[2], base, est_c, counts(Bc))
        t5 = clock()
        shift = suffix_products.next_shift(sums[0])
        for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            parts[key] += dt
    out = np.empty(T + 1)
    out_h = np.empty(T + 1 if n_block else 1)
    out_c = np.empty(T + 1 if n_block else 1)
    pass_stats = np.zeros(3, dtype=np.int64)
    t0 = clock()
    suffix_products.suffix_log10_norms_with_stats(*args, xs, S, n_block, out, out_h, out_c,
                                                  pass_stats)
    return parts, clock() - t0, pass_stats, {k: v.tolist() for k, v in by_size.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--cell", default="lstm", choices=list(CELLS))
    a = parser.parse_args()
    cls = CELLS[a.cell]
    model = cls.init(hidden=a.hidden, inputs=a.inputs, seed=0)
    xs = np.random.default_rng(0).standard_normal((a.steps, a.inputs))
    profile(model, xs[:5])  # compile or load from the cache
    parts, compiled, stats, _ = profile(model, xs)
    total = sum(parts.values())
    print(f"{model.describe()}, T = {a.steps}: compiled pass {compiled:.3f} s "
          f"({1e3 * compiled / a.steps:.3f} ms per lag); replayed parts below")
    for key, value in parts.items():
        print(f"  {key:32s} {value:7.3f} s  {100 * value / total:5.1f}%")
    print(f"  {'sum':32s} {total:7.3f} s")
    print(f"norms: {stats[0]}, subspace iterations: {stats[1]} "
          f"({stats[1] / stats[0]:.2f} per norm), exact fallbacks: {stats[2]}")


if __name__ == "__main__":
    main()
