"""Every entry of the reference registry: gradflow against its slow, obvious numpy reference.

For each kernel and analysis function in ``tests/references.py`` (the table the correctness
tests check), on one cell configuration: the median time of gradflow's call (compilation
excluded: one call first), of the reference, the speedup, and the largest difference between
the two.  Usage::

    python benchmarks/bench_references.py [--cell lstm] [--hidden 16] [--steps 100]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))

from gradflow.cells import configuration, configurations  # noqa: E402

from references import REFERENCES, name  # noqa: E402


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def largest_difference(computed, expected):
    worst = 0.0
    for mine, ref in zip(computed, expected, strict=True):
        both = np.isfinite(mine) & np.isfinite(ref)
        worst = max(worst, float(np.max(np.abs(mine[both] - ref[both]), initial=0.0)))
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm", choices=list(configurations()))
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args()
    cls, options = configuration(a.cell)
    model = cls.init(a.hidden, a.inputs, seed=0, **options)
    xs = np.random.default_rng(0).standard_normal((a.steps, a.inputs))
    print(f"{model.describe()}, T = {a.steps}; medians of {a.repeats}")
    print(f"{'function':55s} {'gradflow':>10s} {'reference':>10s} {'speedup':>8s} {'max diff':>9s}")
    for function, entry in REFERENCES.items():
        computed = entry.compute(model, xs)  # compiles or loads the kernels
        expected = entry.reference(model, xs)
        fast = median_time(lambda e=entry: e.compute(model, xs), a.repeats)
        slow = median_time(lambda e=entry: e.reference(model, xs), max(1, a.repeats // 2))
        print(f"{name(function):55s} {1e3 * fast:8.2f}ms {1e3 * slow:8.1f}ms {slow / fast:7.0f}x "
              f"{largest_difference(computed, expected):9.1e}")


if __name__ == "__main__":
    main()
