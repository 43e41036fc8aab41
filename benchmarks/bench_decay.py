"""All-lag gradient decay: gradflow against numpy's matmul roofline and a PyTorch baseline.

Prints, in one run on this machine:

* gradflow's all-lag norms (LSTM n = 128, d = 32, T = 1000 by default), median of several
  runs with compilation excluded, next to the time of T dense (2n x 2n) numpy matmuls, run
  interleaved with it so that both see the same machine load; the ratio is the roofline ratio;
* the accuracy of every lag (and the LSTM h / c blocks) against the registry's reference
  (``tests/naive.py``, via ``tests/references.py``): SVDs of the renormalised products of the
  stored Jacobians;
* a PyTorch autograd baseline when torch is installed: per-step Jacobians with
  torch.func.jacrev + vmap, the chain of matmuls, a batched SVD; and the speedup;
* peak resident memory of a T = 20000 run (in a subprocess), through the kernel path and
  through ``gradflow decay``;
* the warm-cache overhead of ``gradflow decay`` on a small model over
  ``python -c "import numpy, scipy, numba, click"``, and the time of ``gradflow --help``;
* a batch of sequences through the parallel batch kernel against one after another;
* with ``--lyapunov``, the full Lyapunov spectrum of a tanh RNN (n = 256) against T numpy QR
  factorisations of the same size (the module is benchmarked as it is, if present).

Usage::

    python benchmarks/bench_decay.py [--repeats 5] [--skip-torch] [--skip-cli-memory]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

# the registry of references lives with the tests (numbagg's layout): one copy of each
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))

CLOCK = time.perf_counter


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        function()
        times.append(CLOCK() - t0)
    return statistics.median(times), times


# ---------------------------------------------------------------------- the workloads
def make_case(hidden, inputs, steps, seed=0):
    import gradflow as gf

    model = gf.LSTM.init(hidden=hidden, inputs=inputs, seed=seed)
    xs = np.random.default_rng(seed).standard_normal((steps, inputs))
    return model, xs


def gradflow_suffix_norms(model, xs):
    """A callable running the all-lag norm kernel on a stored trajectory, and its outputs."""
    from gradflow.kernels import suffix_products

    S = model.run(xs)
    T = xs.shape[0]
    n = model.hidden
    out, out_h, out_c = np.empty(T + 1), np.empty(T + 1), np.empty(T + 1)
    args = model.kernel_args()

    def go():
        suffix_products.suffix_log10_norms(*args, xs, S, n, out, out_h, out_c)

    return go, (out, out_h, out_c)


def roofline(size, steps):
    """T dense (size x size) numpy matmuls into a preallocated output."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((size, size))
    B = rng.standard_normal((size, size)) / size
    C = np.empty((size, size))

    def go():
        for _ in range(steps):
            np.dot(A, B, out=C)

    return go


def exact_reference(model, xs):
    """The registry's reference for the all-lag norms, on the stored Jacobians.

    ``references.REFERENCES`` recomputes the Jacobians by complex step too, far too slow at
    this size; gradflow's Jacobians are checked against it in the tests.
    """
    import naive

    return naive.suffix_log10_norms(model.step_jacobians(xs), model.hidden)


def torch_baseline(model, xs):
    """What a user would write with PyTorch autodiff; returns a callable and its outputs."""
    import torch
    from torch.func import jacrev, vmap

    torch.set_default_dtype(torch.float64)
    w = {k: torch.tensor(v) for k, v in model.weights.items()}
    n = model.hidden
    X = torch.tensor(xs)

    def step(s, x):
        h, c = s[:n], s[n:]
        F = torch.sigmoid(w["W_fh"] @ h + w["W_fx"] @ x + w["b_f"])
        I_ = torch.sigmoid(w["W_ih"] @ h + w["W_ix"] @ x + w["b_i"])
        O = torch.sigmoid(w["W_oh"] @ h + w["W_ox"] @ x + w["b_o"])
        Ct = torch.tanh(w["W_ch"] @ h + w["W_cx"] @ x + w["b_c"])
        C = F * c + I_ * Ct
        return torch.cat([O * torch.tanh(C), C])

    jacobians = vmap(jacrev(step, argnums=0))
    result = {}

    def go():
        with torch.no_grad():
            T = X.shape[0]
            states = [torch.zeros(2 * n)]
            for t in range(T):
                states.append(step(states[-1], X[t]))
            S = torch.stack(states)
        Js = jacobians(S[:-1], X)  # (T, m, m): every Jacobian stored
        with torch.no_grad():
            products = torch.empty_like(Js)
            scales = torch.empty(T, dtype=torch.float64)
            P = torch.eye(2 * n)
            log_scale = 0.0
            for k in range(1, T + 1):
                P = P @ Js[T - k]
                f = P.abs().max()
                P = P / f
                log_scale += float(torch.log10(f))
                products[k - 1] = P
                scales[k - 1] = log_scale
            full = scales + torch.log10(torch.linalg.svdvals(products)[:, 0])
            h = scales + torch.log10(torch.linalg.svdvals(products[:, :n, :n])[:, 0])
            c = scales + torch.log10(torch.linalg.svdvals(products[:, n:, n:])[:, 0])
        zero = np.zeros(1)
        result["out"] = tuple(np.concatenate([zero, v.numpy()]) for v in (full, h, c))

    return go, result


# ---------------------------------------------------------------------- subprocess checks
PEAK_KERNEL = """
import resource, sys, numpy as np, gradflow as gf
from gradflow.analysis.decay import suffix_log10_norms


def peak_kb():
    # VmHWM belongs to this process's own memory map; ru_maxrss would also count the parent's
    # RSS at the time it spawned this process (Linux keeps it across execve)
    try:
        with open('/proc/self/status') as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith('VmHWM'))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


model = gf.load(sys.argv[1])
xs = np.random.default_rng(0).standard_normal((int(sys.argv[2]), model.inputs))
suffix_log10_norms(model, xs[:5])  # load the kernels from the cache first
loaded = peak_kb()
full, h, c = suffix_log10_norms(model, xs)
assert np.isfinite(full).all()
print(loaded, peak_kb())
"""

# measured from a small wrapper process, whose children's peak is their own (see above)
PEAK_CHILD = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=float(sys.argv[1]))
    status = done.returncode
except subprocess.TimeoutExpired:
    status = "timeout"
print(status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t0)
"""


def peak_memory(weights, steps, cli_timeout, skip_cli):
    """Peak RSS (MB) of a T = ``steps`` run: the kernel path, and ``gradflow decay``."""
    # a short run first, so that neither measurement includes compilation
    subprocess.run([sys.executable, "-m", "gradflow", "decay", weights, "--steps", "5"],
                   stdout=subprocess.DEVNULL, check=True)
    kernel = subprocess.run([sys.executable, "-c", PEAK_KERNEL, weights, str(steps)],
                            capture_output=True, text=True, check=True)
    kernel_mb = [int(v) / 1024 for v in kernel.stdout.split()]
    cli = None
    if not skip_cli:
        gradflow = [sys.executable, "-m", "gradflow", "decay", weights, "--steps", str(steps),
                    "--json"]
        done = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(cli_timeout), *gradflow],
                              capture_output=True, text=True, check=True)
        status, kb, seconds = done.stdout.split()
        cli = (status, int(kb) / 1024, float(seconds))
    return kernel_mb, cli


def command_time(argv, repeats):
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(CLOCK() - t0)
    return times


def cli_overhead(weights, repeats):
    """Median wall times: the import baseline, a warm ``gradflow decay``, ``gradflow --help``."""
    base = [sys.executable, "-c", "import numpy, scipy, numba, click"]
    decay = [sys.executable, "-m", "gradflow", "decay", weights, "--json"]
    helper = [sys.executable, "-m", "gradflow", "--help"]
    subprocess.run(decay, stdout=subprocess.DEVNULL, check=True)  # warm the cache
    samples = {"base": [], "decay": [], "help": []}
    for _ in range(repeats):  # interleaved, so that load spikes hit all three alike
        samples["base"] += command_time(base, 1)
        samples["decay"] += command_time(decay, 1)
        samples["help"] += command_time(helper, 1)
    return {k: statistics.median(v) for k, v in samples.items()}


def heavy_modules_at_help():
    code = ("import sys, gradflow.cli; print(sorted(m for m in ('numpy', 'numba', 'scipy', "
            "'matplotlib', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def batch_speedup(model, batch, steps, repeats):
    from gradflow import _threads
    from gradflow.kernels import suffix_products

    n = model.hidden
    X = np.random.default_rng(3).standard_normal((batch, steps, model.inputs))
    S = np.stack([model.run(x) for x in X])
    args = model.kernel_args()
    out, out_h, out_c = (np.empty((batch, steps + 1)) for _ in range(3))

    def serial():
        for i in range(batch):
            suffix_products.suffix_log10_norms(*args, X[i], S[i], n, out[i], out_h[i], out_c[i])

    def parallel():
        with _threads.threads():
            suffix_products.batch_suffix_log10_norms(*args, X, S, n, out, out_h, out_c)

    parallel()
    serial()
    t_serial, _ = median_time(serial, repeats)
    t_parallel, _ = median_time(parallel, repeats)
    return t_serial, t_parallel, _threads.available_threads()


# ---------------------------------------------------------------------- report
def machine():
    import numba
    import scipy

    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or ''}"
             .rstrip(", "),
             f"python {platform.python_version()}, numpy {np.__version__}, scipy "
             f"{scipy.__version__}, numba {numba.__version__}"]
    blas_env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                           "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                if k in os.environ}
    lines.append(f"BLAS environment: {blas_env or 'none set'}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch-repeats", type=int, default=3)
    parser.add_argument("--memory-steps", type=int, default=20000)
    parser.add_argument("--cli-timeout", type=float, default=900.0,
                        help="seconds allowed to the T = 20000 `gradflow decay` run")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-cli-memory", action="store_true")
    parser.add_argument("--lyapunov", action="store_true",
                        help="also time gradflow.lyapunov (full spectrum, tanh RNN)")
    parser.add_argument("--lyapunov-hidden", type=int, default=256)
    parser.add_argument("--lyapunov-steps", type=int, default=2000)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit numpy's, SciPy's (Numba's) and torch's BLAS to this many "
                             "threads for the in-process timings")
    parser.add_argument("--json", dest="json_path", help="also write the numbers here")
    a = parser.parse_args()
    report = {}
    for line in machine():
        print(line)
    if a.blas_threads is None:
        run(a, report)
    else:
        from gradflow._threads import blas_threads

        try:
            import torch

            torch.set_num_threads(a.blas_threads)
        except ImportError:
            pass
        print(f"BLAS limited to {a.blas_threads} thread(s) in this process")
        with blas_threads(a.blas_threads):
            run(a, report)
    if a.json_path:
        with open(a.json_path, "w") as fh:
            json.dump(report, fh, indent=2)


def run(a, report):

    model, xs = make_case(a.hidden, a.inputs, a.steps)
    m = 2 * a.hidden
    print(f"\ncase: {model.describe()}, T = {a.steps}, all lags, h and c blocks too")

    norms, outputs = gradflow_suffix_norms(model, xs)
    t0 = CLOCK()
    norms()
    first = CLOCK() - t0
    matmuls = roofline(m, a.steps)
    matmuls()
    g_times, r_times = [], []
    for _ in range(a.repeats):
        g_times.append(median_time(norms, 1)[0])
        r_times.append(median_time(matmuls, 1)[0])
    g, r = statistics.median(g_times), statistics.median(r_times)
    pair = statistics.median(gt / rt for gt, rt in zip(g_times, r_times, strict=True))
    print(f"gradflow all-lag norms:       {g:8.3f} s  (median of {a.repeats}; first call "
          f"{first:.2f} s incl. cache load)")
    print(f"numpy {a.steps} x ({m}x{m}) matmul: {r:8.3f} s  (roofline)")
    print(f"roofline ratio:               {g / r:8.2f}  (median of paired ratios {pair:.2f}; "
          "target <= 2)")
    report.update(gradflow_s=g, roofline_s=r, roofline_ratio=g / r, paired_ratio=pair)

    from gradflow.analysis.decay import suffix_log10_norms

    public, _ = median_time(lambda: suffix_log10_norms(model, xs), a.repeats)
    print(f"with the forward run (analysis.decay.suffix_log10_norms): {public:.3f} s")
    report["public_path_s"] = public

    from gradflow.kernels import suffix_products

    S = model.run(xs)
    stats = np.zeros(3, dtype=np.int64)
    o = [np.empty(a.steps + 1) for _ in range(3)]
    suffix_products.suffix_log10_norms_with_stats(*model.kernel_args(), xs, S, a.hidden, *o,
                                                  stats)
    print(f"norms: {stats[0]}, subspace iterations {stats[1]} ({stats[1] / stats[0]:.2f} per "
          f"norm), exact fallbacks {stats[2]}")

    reference = None
    if not a.skip_reference:
        t0 = CLOCK()
        reference = exact_reference(model, xs)
        errors = [float(np.max(np.abs(x - y))) for x, y in zip(outputs, reference, strict=True)]
        print(f"accuracy vs exact SVDs (max |d log10|): full {errors[0]:.1e}, h block "
              f"{errors[1]:.1e}, c block {errors[2]:.1e}  (target <= 1e-9; reference took "
              f"{CLOCK() - t0:.1f} s)")
        report["max_error_log10"] = max(errors)

    if not a.skip_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch baseline: torch is not installed (pip install torch); skipped")
        else:
            torch_go, torch_out = torch_baseline(model, xs)
            torch_go()
            tt, _ = median_time(torch_go, a.torch_repeats)
            note = ""
            if reference is not None:
                err = max(float(np.max(np.abs(x - y)))
                          for x, y in zip(torch_out["out"], reference, strict=True))
                note = f", its max |d log10| vs the reference {err:.1e}"
            print(f"PyTorch {torch.__version__} autograd baseline (jacrev+vmap, matmul chain, "
                  f"batched SVD, {torch.get_num_threads()} threads): {tt:.2f} s "
                  f"(median of {a.torch_repeats}){note}")
            print(f"speedup over PyTorch:         {tt / g:8.1f}x  (target >= 10)")
            report.update(torch_s=tt, speedup=tt / g)

    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "lstm128.npz")
        model.save(big)
        kernel_mb, cli = peak_memory(big, a.memory_steps, a.cli_timeout, a.skip_cli_memory)
        loaded, process = kernel_mb
        print(f"\npeak RSS, T = {a.memory_steps} (trajectory + all-lag norms, API): "
              f"{process:.0f} MB (target < 400; {loaded:.0f} MB with the kernels loaded, "
              "before the run)")
        report["peak_rss_api_mb"] = process
        if cli is not None:
            status, mb, seconds = cli
            what = {"0": "done"}.get(status, f"exit {status}")
            if status == "timeout":
                what = f"stopped at the {a.cli_timeout:.0f} s limit"
            print(f"peak RSS, T = {a.memory_steps} through `gradflow decay --json`: {mb:.0f} MB "
                  f"({what}, {seconds:.1f} s)")
            report.update(peak_rss_cli_mb=mb, cli_seconds=seconds, cli_status=status)

        small_model, _ = make_case(16, 4, 10)
        small = os.path.join(tmp, "lstm16.npz")
        small_model.save(small)
        times = cli_overhead(small, 7)
        print(f"\nwarm CLI: `python -c 'import numpy, scipy, numba, click'` {times['base']:.2f} s, "
              f"`gradflow decay` (LSTM n=16, T=200) {times['decay']:.2f} s: overhead "
              f"{times['decay'] - times['base']:.2f} s (target <= 1.0; medians of 7)")
        print(f"`gradflow --help` {times['help']:.2f} s; heavy modules imported by the CLI "
              f"module: {heavy_modules_at_help()}")
        report.update(cli_base_s=times["base"], cli_decay_s=times["decay"],
                      cli_help_s=times["help"], cli_overhead_s=times["decay"] - times["base"])

    serial, parallel, threads = batch_speedup(model, 4, 300, 3)
    print(f"\nbatch of 4 x T=300: one after another {serial:.2f} s, batch kernel on {threads} "
          f"threads {parallel:.2f} s ({serial / parallel:.2f}x)")
    report.update(batch_serial_s=serial, batch_parallel_s=parallel)

    if a.lyapunov:
        lyapunov_section(a, report)


def lyapunov_section(a, report):
    import gradflow as gf

    try:
        from gradflow.analysis.lyapunov import lyapunov
    except ImportError:
        print("\nLyapunov: gradflow.analysis.lyapunov is not there; skipped")
        return
    n, T = a.lyapunov_hidden, a.lyapunov_steps
    model = gf.RNN.init(hidden=n, inputs=8, gain=1.5, seed=0, activation="tanh")
    xs = np.random.default_rng(2).standard_normal((T, 8))
    lyapunov(model, xs[:10])
    rng = np.random.default_rng(4)
    A = rng.standard_normal((n, n))
    B = rng.standard_normal((n, n)) / n
    C = np.empty((n, n))

    def qrs():
        for _ in range(T):
            np.linalg.qr(A)

    def qr_and_matmuls():
        for _ in range(T):
            np.dot(B, A, out=C)
            np.linalg.qr(C)

    print(f"\nLyapunov: full spectrum of {model.describe()}, T = {T}")
    for interval in (1, 4):
        t, _ = median_time(lambda i=interval: lyapunov(model, xs, interval=i), 3)
        print(f"  gradflow.lyapunov, QR every {interval} step(s): {t:7.2f} s")
        report[f"lyapunov_interval{interval}_s"] = t
    q, _ = median_time(qrs, 3)
    qm, _ = median_time(qr_and_matmuls, 3)
    print(f"  numpy: {T} QRs of {n}x{n} {q:.2f} s; with the {T} matmuls J Q too {qm:.2f} s")
    print(f"  ratio to the QR floor (every step): {report['lyapunov_interval1_s'] / q:.2f}")
    report.update(lyapunov_numpy_qr_s=q, lyapunov_numpy_qr_matmul_s=qm)


if __name__ == "__main__":
    main()
