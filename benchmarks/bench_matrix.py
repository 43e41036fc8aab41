"""The whole performance matrix, as ratios to floors timed in the same run.

For every cell configuration, hidden size and initialisation, and beside them networks,
Lyapunov spectra, BPTT and the start-up of the main job, this prints gradflow's time next to a
*floor*: the dense products the computation cannot avoid, timed with numpy's BLAS on the same
sizes, interleaved with gradflow so that both see the same machine load.  A ratio of 1.0 means
gradflow costs what its unavoidable products cost.

Floors per lag of the all-lag sweep ``log10 ||ds_T/ds_{T-k}||`` (k = 0..T):

* RNN: one (n x n)(n x n) product (J = diag(f') W_h);
* LSTM: two (n x n)(n x 2n) products (the right half of J is diagonal);
* GRU ``seed``: two (n x n) products (W_hh diag(.) W_rh, then the chain product);
* GRU ``reset_after``: one.

The output and input sensitivities (``dh_T/ds_{T-k}``, ``dh_T/dx_{T-k}``) carry n rows: their
floor is one (n x m)(m x n') product per lag, n' the dense columns of J (n for RNN, GRU and
LSTM's left half).  Lyapunov: T products J_t Q and T numpy QRs of (m x m).  BPTT: PyTorch
autograd through the same cell equations, same loss; ``gf.bptt(..., by_lag=True)``, the
gradient split by lag (one vector-Jacobian product per loss term and step, O(T^2) for a loss
at every step), against the same one backward pass of autograd; and both against BPTT's own
floor (:func:`bptt_floor`).

Where the block estimator cannot certify a lag's norm (a flat spectrum: the first lags of a
product, most lags of an orthogonal recurrence) it certifies the top of the Gram matrix by a
Cholesky factorisation; the *certified floor* adds, for each such norm, a BLAS ``dsyrk`` Gram
matrix and a LAPACK ``dpotrf`` of its order to the floor, timed in the same run (the Gram
lags, counted by ``profile_decay.profile``'s replay, are printed as Gram norms / norms at each
matrix order).  It leaves out Lanczos and the subspace iterations, so it is a lower bound of
what a certified norm of a flat spectrum costs.

Every all-lag result is checked against SVDs of renormalised products of the stored
Jacobians (``tests/naive.py``) at a few lags; the largest log10 difference is printed.

Usage::

    python benchmarks/bench_matrix.py                    # the whole matrix (~20 min here)
    python benchmarks/bench_matrix.py --sections bptt    # one table
    python benchmarks/bench_matrix.py --quick            # n = 64, 256 only
    python benchmarks/bench_matrix.py --sizes 128 --cells lstm --inits orthogonal
    python benchmarks/bench_matrix.py --sizes 512 --steps 200 --no-check   # longer runs
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
sys.path.insert(0, HERE)

import profile_decay  # noqa: E402  (beside this file)

CLOCK = time.perf_counter
CONFIGURATIONS = {
    # name: (cell, options, dense products per lag as (rows, inner, cols) in units of n)
    "rnn-tanh": ("rnn", {"activation": "tanh"}, [(1, 1, 1)]),
    "lstm": ("lstm", {}, [(1, 1, 2), (1, 1, 2)]),
    "gru-seed": ("gru", {"variant": "seed"}, [(1, 1, 1), (1, 1, 1)]),
    "gru-reset_after": ("gru", {"variant": "reset_after"}, [(1, 1, 1)]),
}
#: The sensitivities' floor per lag: (n x m)(m x n') with m = state multiplier * n.
SENSITIVITY = {"rnn-tanh": [(1, 1, 1)], "lstm": [(1, 2, 1)], "gru-seed": [(1, 1, 1), (1, 1, 1)],
               "gru-reset_after": [(1, 1, 1)]}


#: ``--steps``: one T for every all-lag and sensitivity case instead of :func:`steps_for`'s.
FIXED_STEPS = []


def steps_for(n, products):
    """T so that the floor runs for roughly a third of a second on a few GFLOP/s."""
    if FIXED_STEPS:
        return FIXED_STEPS[0]
    flops = sum(2 * r * i * c for r, i, c in products) * n ** 3
    return int(max(20, min(1000, 1.5e9 / flops)))


def floor(n, products, steps):
    """A callable running ``steps`` times the dense products ``products`` at size ``n``."""
    rng = np.random.default_rng(1)
    mats = []
    for r, i, c in products:
        A = rng.standard_normal((r * n, i * n))
        B = rng.standard_normal((i * n, c * n)) / n
        mats.append((A, B, np.empty((r * n, c * n))))

    def go():
        for _ in range(steps):
            for A, B, C in mats:
                np.dot(A, B, out=C)

    return go


def certified_floor(n, products, steps, fallbacks):
    """The floor plus what certifying a flat spectrum's top cannot avoid, at each Gram lag.

    ``fallbacks`` maps a Gram matrix's order to the number of norms that needed it (the
    block estimator could not certify them): each costs that Gram matrix (BLAS ``dsyrk``, one
    triangle) and one Cholesky factorisation (LAPACK ``dpotrf``, after a copy of the matrix
    to factorise, as gradflow forms ``u I - G`` in place).  Lanczos, which finds the value the
    factorisation proves, and the block's subspace iterations are left out: a lower bound.
    """
    from scipy.linalg import blas, lapack

    products_only = floor(n, products, steps)
    rng = np.random.default_rng(4)
    work = []
    for size, count in sorted(fallbacks.items()):
        A = np.asfortranarray(rng.standard_normal((size, size)) / np.sqrt(size))
        G = np.asfortranarray(A @ A.T + size * np.eye(size))
        work.append((count, A, G, np.empty_like(G, order="F"), np.empty_like(G, order="F")))

    def go():
        products_only()
        for count, A, G, C, M in work:
            for _ in range(count):
                blas.dsyrk(1.0, A, c=C, overwrite_c=1)
                np.copyto(M, G)
                lapack.dpotrf(M, overwrite_a=1, clean=0)

    return go


def interleaved(a, b, repeats):
    """Medians of ``a`` and ``b`` timed in alternation, and the median of the paired ratios."""
    ta, tb = [], []
    for _ in range(repeats):
        t0 = CLOCK()
        a()
        ta.append(CLOCK() - t0)
        t0 = CLOCK()
        b()
        tb.append(CLOCK() - t0)
    return statistics.median(ta), statistics.median(tb), statistics.median(
        x / y for x, y in zip(ta, tb, strict=True))


def model_for(name, n, init, d=16, seed=0):
    import gradflow as gf

    cell, options, _ = CONFIGURATIONS[name]
    cls = gf.cells.CELLS[cell]
    return cls.init(hidden=n, inputs=d, init=init, gain=1.0, seed=seed, **options)


def exactness(model, xs, out, lags):
    """max |log10 norm - reference| at ``lags``, against the registry's SVD reference."""
    import naive

    reference = naive.suffix_log10_norms_at(model.step_jacobians(xs), set(lags))
    return max(abs(out[k] - value) for k, value in reference.items())


def all_lags(name, n, init, repeats, check):
    from gradflow.analysis.decay import suffix_log10_norms
    from gradflow.analysis.trajectory import resolve

    products = CONFIGURATIONS[name][2]
    T = steps_for(n, products)
    model = model_for(name, n, init)
    xs = np.random.default_rng(0).standard_normal((T, model.inputs))
    run = resolve(model, xs, None, batch=False)
    result = {}

    def go():
        result["out"] = suffix_log10_norms(run)[0]

    go()  # compile
    t_g, t_f, ratio = interleaved(go, floor(n, products, T), repeats)
    counts = profile_decay.profile(model, xs)[3]
    fallbacks = {size: c[2] for size, c in counts.items() if c[2]}
    _, t_c, to_certified = interleaved(go, certified_floor(n, products, T, fallbacks), repeats)
    gram = ", ".join(f"{c[2]}/{c[0]} at {size}" for size, c in sorted(counts.items(),
                                                                       reverse=True))
    error = exactness(model, xs, result["out"], {1, T // 2, T}) if check else None
    return T, t_g, t_f, ratio, gram, t_c, to_certified, error


def sensitivity(name, n, init, repeats):
    from gradflow.analysis.sensitivity import sensitivities

    products = SENSITIVITY[name]
    T = steps_for(n, products)
    model = model_for(name, n, init)
    xs = np.random.default_rng(0).standard_normal((T, model.inputs))
    S = model.run(xs)
    go = lambda: sensitivities(model, xs, states=S)  # noqa: E731
    go()
    return (T,) + interleaved(go, floor(n, products, T), repeats)


def lyapunov_case(n, repeats):
    import gradflow as gf

    model = model_for("rnn-tanh", n, "gaussian")
    T = int(max(20, min(500, 3e9 / (6 * n ** 3))))
    xs = np.random.default_rng(0).standard_normal((T, model.inputs))
    rng = np.random.default_rng(2)
    J = rng.standard_normal((n, n)) / np.sqrt(n)

    def numpy_chain():
        Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
        for _ in range(T):
            Q, _ = np.linalg.qr(J @ Q)

    go = lambda: gf.lyapunov(model, xs)  # noqa: E731
    go()
    return (T,) + interleaved(go, numpy_chain, repeats)


def bptt_floor(gates, n, d, steps, by_lag):
    """A callable running the products BPTT over ``steps`` steps cannot avoid.

    T products of the stacked weights (g n x (n + d), g gates) with a vector forward, T of
    their transpose back, and the weight gradient as one (g n x T)(T x (n + d)) product.  Split
    by lag, every loss term is carried back together, a (n + d x g n)(g n x T - k) product at
    step k, and lag l's weight gradient is one (g n x T - l)(T - l x (n + d)) product.
    """
    rng = np.random.default_rng(5)
    W = rng.standard_normal((gates * n, n + d)) / np.sqrt(n)
    z, pre, back = rng.standard_normal(n + d), np.empty(gates * n), np.empty(n + d)
    deltas, inputs = rng.standard_normal((gates * n, steps)), rng.standard_normal((steps, n + d))
    dW = np.empty((gates * n, n + d))

    def go():
        for _ in range(steps):
            np.dot(W, z, out=pre)
        if not by_lag:
            for _ in range(steps):
                np.dot(W.T, pre, out=back)
            np.dot(deltas, inputs, out=dW)
            return
        for k in range(steps):
            np.dot(W.T, deltas[:, : steps - k])
        for lag in range(steps):
            np.dot(deltas[:, : steps - lag], inputs[: steps - lag], out=dW)

    return go


def bptt_case(name, n, repeats):
    """gf.bptt against PyTorch autograd through torch's own module, and against its floor."""
    import torch

    import gradflow as gf

    model = model_for(name, n, "gaussian")
    T = 200
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((T, model.inputs))
    G = np.zeros((T, model.state_size))
    G[:, :n] = rng.standard_normal((T, n))  # the loss reads the hidden states
    module_class = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    module = module_class[model.cell](model.inputs, n).double()
    X, Gt = torch.tensor(xs)[:, None, :], torch.tensor(G[:, None, :n])

    def autograd():
        module.zero_grad()
        out, _ = module(X)
        (Gt * out).sum().backward()

    go = lambda: gf.bptt(model, xs, G)  # noqa: E731
    split = lambda: gf.bptt(model, xs, G, by_lag=True)  # noqa: E731
    go()
    split()
    autograd()
    gates = len(model.gates)  # blocks stacked in the weights: rows of W_h and W_x per unit
    t_g, t_a, ratio = interleaved(go, autograd, repeats)
    _, t_f, to_floor = interleaved(go, bptt_floor(gates, n, model.inputs, T, False), repeats)
    t_s, _, split_ratio = interleaved(split, autograd, repeats)
    _, t_sf, split_to_floor = interleaved(split, bptt_floor(gates, n, model.inputs, T, True),
                                          repeats)
    return T, t_g, t_a, ratio, t_f, to_floor, t_s, split_ratio, t_sf, split_to_floor


def median_of(function, repeats):
    out = []
    for _ in range(repeats):
        t0 = CLOCK()
        function()
        out.append(CLOCK() - t0)
    return out


def start_up():
    """The main job with an empty Numba cache (cold) and again with it filled (warm)."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = []
        for _ in range(2):
            t0 = CLOCK()
            subprocess.run([sys.executable, "-m", "gradflow", "report", "-o",
                            os.path.join(out, "r.pdf")], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(CLOCK() - t0)
        return times


def all_lags_table(args, sizes):
    print("\n## All-lag sweep log10 ||ds_T/ds_(T-k)||: time / floor (median of paired ratios)")
    print("| case | n | init | T | gradflow s | floor s | ratio | Gram lags | certified floor s "
          "| ratio to it | max log10 error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.cells:
        for n in sizes:
            for init in args.inits:
                check = not args.no_check and n <= 512
                T, tg, tf, r, gram, tc, rc, err = all_lags(name, n, init, args.repeats, check)
                shown = f"{err:.1e}" if check else "not checked (n > 512)"
                print(f"| {name} | {n} | {init} | {T} | {tg:.3f} | {tf:.3f} | {r:.2f} | {gram} | "
                      f"{tc:.3f} | {rc:.2f} | {shown} |", flush=True)


def sensitivities_table(args, sizes):
    print("\n## Output and input sensitivities (n rows): time / floor")
    print("| case | n | T | gradflow s | floor s | ratio |")
    print("|---|---|---|---|---|---|")
    for name in args.cells:
        for n in sizes:
            T, tg, tf, r = sensitivity(name, n, "orthogonal", args.repeats)
            print(f"| {name} | {n} | {T} | {tg:.3f} | {tf:.3f} | {r:.2f} |", flush=True)


def lyapunov_table(args, sizes):
    print("\n## Lyapunov spectrum (tanh RNN, all m exponents): time / numpy's QR chain")
    print("| n | T | gradflow s | numpy QR chain s | ratio |")
    print("|---|---|---|---|---|")
    for n in sizes:
        T, tg, tf, r = lyapunov_case(n, args.repeats)
        print(f"| {n} | {T} | {tg:.3f} | {tf:.3f} | {r:.2f} |", flush=True)


def bptt_table(args, sizes):
    try:
        import torch  # noqa: F401
    except ImportError:
        print("\n(torch not installed: no BPTT baseline)")
    else:
        print("\n## BPTT (T = 200, a loss at every step): gf.bptt / PyTorch autograd through "
              "the same equations, and / its own floor; with the split by lag (O(T^2) "
              "products) against the same one backward pass of autograd, and / its floor")
        print("| case | n | T | gradflow s | autograd s | ratio | floor s | ratio | by lag s | "
              "by lag / autograd | by-lag floor s | ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in args.cells:
            for n in [s for s in sizes if s <= 256]:
                T, tg, ta, r, tf, rf, ts, rs, tsf, rsf = bptt_case(name, n, args.repeats)
                print(f"| {name} | {n} | {T} | {tg:.4f} | {ta:.4f} | {r:.2f} | {tf:.4f} | "
                      f"{rf:.2f} | {ts:.3f} | {rs:.2f} | {tsf:.3f} | {rsf:.2f} |", flush=True)


def start_up_table(args, sizes):
    if args.skip_start_up:
        return
    cold, warm = start_up()
    print(f"\n## Main job `gradflow report`: cold cache {cold:.1f} s, warm {warm:.1f} s")


TABLES = {"all-lags": all_lags_table, "sensitivities": sensitivities_table,
          "lyapunov": lyapunov_table, "bptt": bptt_table, "start-up": start_up_table}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="*", default=list(CONFIGURATIONS))
    parser.add_argument("--sizes", nargs="*", type=int, default=[64, 128, 256, 512, 1024])
    parser.add_argument("--inits", nargs="*", default=["gaussian", "orthogonal"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 64 and 256 only")
    parser.add_argument("--no-check", action="store_true", help="skip the exactness check")
    parser.add_argument("--skip-start-up", action="store_true",
                        help="leave out the main job's cold and warm start (as --sections without "
                             "start-up)")
    parser.add_argument("--sections", nargs="*", default=list(TABLES), choices=list(TABLES),
                        help="which tables to print (default: all)")
    parser.add_argument("--steps", type=int, default=None,
                        help="T of every all-lag and sensitivity case (default: about a third "
                             "of a second of floor each, at least 20 lags)")
    args = parser.parse_args()
    sizes = [64, 256] if args.quick else args.sizes
    if args.steps is not None:
        if args.steps < 1:
            parser.error("--steps must be at least 1")
        FIXED_STEPS.append(args.steps)
    import numba

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
    for section in TABLES:
        if section in args.sections:
            TABLES[section](args, sizes)

if __name__ == "__main__":
    main()
