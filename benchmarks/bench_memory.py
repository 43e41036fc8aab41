"""Peak memory of the analyses at a large size: is it O(T m + m^2)?

Each phase of ``gf.decay`` (the trajectory, the all-lag sweep of the whole state, the output and
input sensitivities, lambda_1) and ``gf.decay`` itself run in a subprocess of their own on an
LSTM (default n = 1024, so m = 2048, and T = 10 000).  At these sizes a full run takes hours on
two cores, so each subprocess runs for at most ``--seconds``: a thread samples the process's
high-water mark (``VmHWM``) every 0.2 s while the kernels, which release the GIL, run.  Every
phase allocates its arrays before its first step and nothing inside its time loop, so the mark
after its first steps is the phase's peak; the script prints it beside the arrays' own sizes
(T m for the states, m^2 for one matrix) and how far each phase got.

    python benchmarks/bench_memory.py [--hidden 1024 --steps 10000 --seconds 60]
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import json, os, sys, threading, time
    import numpy as np
    import gradflow as gf
    from gradflow.analysis.decay import suffix_log10_norms
    from gradflow.analysis.sensitivity import sensitivities
    from gradflow.analysis.trajectory import resolve

    phase, out = sys.argv[1], sys.argv[2]
    n, T, d, limit = (int(a) for a in sys.argv[3:7])

    def mark():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024

    model = gf.LSTM.init(hidden=n, inputs=d, init="orthogonal", gain=1.0, seed=0)
    xs = np.random.default_rng(0).standard_normal((T, d))
    base = mark()
    started = time.perf_counter()

    def sample():
        while True:
            with open(out, "w") as fh:
                json.dump({"baseline_mb": base, "peak_mb": mark(),
                           "seconds": time.perf_counter() - started, "done": False}, fh)
            if time.perf_counter() - started > limit:
                os._exit(0)
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    if phase == "trajectory":
        resolve(model, xs, None, batch=False)
    elif phase == "all-lag sweep":
        suffix_log10_norms(resolve(model, xs, None, batch=False))
    elif phase == "sensitivities":
        sensitivities(model, xs)
    elif phase == "lambda_1":
        gf.lyapunov(model, xs, k=1)
    else:
        gf.decay(model, xs)
    time.sleep(0.5)
    with open(out, "w") as fh:
        json.dump({"baseline_mb": base, "peak_mb": mark(),
                   "seconds": time.perf_counter() - started, "done": True}, fh)
""")

PHASES = ("trajectory", "all-lag sweep", "sensitivities", "lambda_1", "gf.decay")


def measure(phase, args, path):
    argv = [sys.executable, "-c", CHILD, phase, path, str(args.hidden), str(args.steps),
            str(args.inputs), str(args.seconds)]
    subprocess.run(argv, timeout=args.seconds + 600, check=True,
                   env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    with open(path) as fh:
        return json.load(fh)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--inputs", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60,
                        help="how long each phase may run before its mark is read")
    args = parser.parse_args()
    import tempfile

    n, T = args.hidden, args.steps
    m = 2 * n
    print(f"LSTM n = {n} (m = {m}), T = {T}, d = {args.inputs}; each phase at most "
          f"{args.seconds} s + start-up")
    print(f"arrays: states (T + 1) m = {8 * (T + 1) * m / 2**20:.0f} MB, one m x m matrix "
          f"{8 * m * m / 2**20:.0f} MB")
    print("| phase | peak RSS MB | above the loaded interpreter MB | ran s | finished |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for i, phase in enumerate(PHASES):
            got = measure(phase, args, f"{folder}/{i}.json")
            print(f"| {phase} | {got['peak_mb']:.0f} | {got['peak_mb'] - got['baseline_mb']:.0f} "
                  f"| {got['seconds']:.0f} | {'yes' if got['done'] else 'no (stopped)'} |",
                  flush=True)


if __name__ == "__main__":
    main()
