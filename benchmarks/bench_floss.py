"""One gradient-flossing gradient against the forward QR chain it differentiates.

For each cell (tanh RNN, LSTM, GRU seed, GRU reset_after by default), times
``gf.floss(model, xs, k=K)`` (the loss and its exact gradient with respect to every weight)
and ``gf.lyapunov(model, xs, k=K)`` (the same trajectory and the same QR chain, forward only),
interleaved so both see the same machine load; medians of ``--repeats`` runs, compilation
excluded.  The ratio is what differentiating the chain costs over running it (goal: within
3x).

With ``--split``, also the medians of floss's two kernels on their own: the forward chain
(``qr_chain``: tangents, QR factorisations, what the backward pass reads kept) and the backward
sweep (``qr_chain_backward``: QR adjoints, tangent adjoints, backpropagation through time).

Usage::

    python benchmarks/bench_floss.py [--hidden 64] [--k 16] [--steps 1000] [--repeats 7] [--split]
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


def _split(model, xs, k, repeats):
    """Medians of floss's forward chain and backward sweep kernels (seconds)."""
    from gradflow.analysis.floss import _packed
    from gradflow.analysis.lyapunov import initial_frame
    from gradflow.kernels.floss import chain_store, qr_chain, qr_chain_backward

    T, cell = xs.shape[0], model
    S = model.run(xs[None])[0]
    packed = _packed([cell], xs.shape[1])
    args = cell.kernel_args()[:2] + packed
    m, G = model.state_size, packed[2].shape[1]
    Qs, Rs, log_sums = np.empty((T + 1, m, k)), np.empty((T, k, k)), np.empty(k)
    Qs[0] = initial_frame(m, k, 0)
    forward, backward = [], []
    for _ in range(repeats + 1):
        store = chain_store(*args[:2], 1, T, G, cell.hidden, k)
        grads = [np.zeros_like(a) for a in packed]
        t0 = CLOCK()
        qr_chain(*args, xs, S, Qs, Rs, 0, log_sums, *store)
        t1 = CLOCK()
        qr_chain_backward(*args, xs, S, Qs, Rs, 0, np.full(k, 1e-3), *store, *grads)
        t2 = CLOCK()
        forward.append(t1 - t0)
        backward.append(t2 - t1)
    return statistics.median(forward[1:]), statistics.median(backward[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--split", action="store_true",
                        help="also time floss's forward chain and backward sweep kernels")
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
            if args.split:
                f, g = _split(model, xs, args.k, args.repeats)
                print(f"{'':16s} floss's forward chain {f:.4f} s, backward sweep {g:.4f} s")


if __name__ == "__main__":
    main()
