"""One gradient-flossing gradient against the forward QR chain it differentiates.

For each cell (tanh RNN, LSTM, GRU seed, GRU reset_after by default), times
``gf.floss(model, xs, k=K)`` (the loss and its exact gradient with respect to every weight)
and ``gf.lyapunov(model, xs, k=K)`` (the same trajectory and the same QR chain, forward only),
interleaved so both see the same machine load; medians of ``--repeats`` runs, compilation
excluded.  The ratio is what differentiating the chain costs over running it (goal: within
3x).

Usage::

    python benchmarks/bench_floss.py [--hidden 64] [--k 16] [--steps 1000] [--repeats 7]
"""

import argparse
import statistics
import time

import numpy as np

CLOCK = time.perf_counter


def _cases(hidden, inputs):
    import gradflow as gf

    return {
        "RNN-tanh": gf.RNN.init(hidden, inputs, seed=0, gain=1.5),
        "LSTM": gf.LSTM.init(hidden, inputs, seed=0),
        "GRU-seed": gf.GRU.init(hidden, inputs, seed=0),
        "GRU-reset_after": gf.GRU.init(hidden, inputs, seed=0, variant="reset_after"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    import gradflow as gf
    from gradflow._threads import blas_threads

    xs = np.random.default_rng(0).standard_normal((args.steps, args.inputs))
    print(f"n = {args.hidden}, d = {args.inputs}, k = {args.k}, T = {args.steps}; "
          f"medians of {args.repeats} interleaved runs, one BLAS thread")
    print(f"{'cell':16s} {'lyapunov (s)':>13s} {'floss (s)':>10s} {'ratio':>6s}")
    with blas_threads(1):
        for label, model in _cases(args.hidden, args.inputs).items():
            gf.lyapunov(model, xs, k=args.k)  # compile / load the cache
            gf.floss(model, xs, k=args.k)
            forward, gradient = [], []
            for _ in range(args.repeats):
                t0 = CLOCK()
                gf.lyapunov(model, xs, k=args.k)
                t1 = CLOCK()
                gf.floss(model, xs, k=args.k)
                t2 = CLOCK()
                forward.append(t1 - t0)
                gradient.append(t2 - t1)
            a, b = statistics.median(forward), statistics.median(gradient)
            ratios = statistics.median(g / f for f, g in zip(forward, gradient, strict=True))
            print(f"{label:16s} {a:13.4f} {b:10.4f} {b / a:6.2f}  (median of per-pair ratios "
                  f"{ratios:.2f})")


if __name__ == "__main__":
    main()
