"""Where a cold start's compilation goes: CPU seconds per compiler stage and per kernel.

Runs the main job's analyses (the five default cells of ``gradflow report``, and with
``--claims`` the claims too) in this one process on an empty Numba cache, and times Numba's
compilation from inside: the ``numba:compile`` events give each kernel's CPU exclusive of the
kernels it calls; wrappers around Numba's compiler passes and its LLVM steps split the same
time by stage (exclusive too: a pass that compiles a callee does not count the callee's time).
Drawing compiles nothing and is left out.  Usage::

    python benchmarks/profile_compile.py [--claims] [--top 25]

The wrappers reach into Numba's compiler (``PassManager._runPass``, ``CPUCodeLibrary``): a
measuring tool for this Numba, not part of gradflow.
"""

import argparse
import atexit
import collections
import os
import shutil
import tempfile
import time

# an empty cache, before Numba is imported: every kernel compiles
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="gradflow-compile-")
atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)

from numba.core import codegen, compiler_machinery, event  # noqa: E402

#: Numba's LLVM steps, timed around the code library's methods of these names.
LLVM_STEPS = ("_optimize_functions", "_optimize_final_module", "_finalize_final_module")

STAGES = {
    "nopython_type_inference": "type inference",
    "inline_inlinables": "inlining (inline='always')",
    "inline_closure_likes": "inlining (inline='always')",
    "inline_overloads": "inlining (inline='always')",
    "native_lowering": "lowering to LLVM IR (Python)",
    "_optimize_functions": "LLVM: function passes",
    "_optimize_final_module": "LLVM: module passes (callees linked in)",
    "_finalize_final_module": "LLVM: machine code",
}

stage_cpu = collections.defaultdict(float)
kernel_cpu = collections.defaultdict(lambda: [0.0, 0.0, 0])  # name: [exclusive, LLVM, count]
_timers = []  # open stage timers: child CPU to subtract
_kernels = []  # open compilations: [name, start, child CPU, LLVM CPU]


def _timed(stage, function):
    def wrapper(*args, **kwargs):
        start = time.process_time()
        _timers.append(0.0)
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.process_time() - start
            stage_cpu[stage] += spent - _timers.pop()
            if _timers:
                _timers[-1] += spent
            if stage in LLVM_STEPS and _kernels:
                _kernels[-1][3] += spent
    return wrapper


def _install():
    run_pass = compiler_machinery.PassManager._runPass

    def timed_pass(self, index, pss, state):
        return _timed(pss.name(), run_pass)(self, index, pss, state)

    compiler_machinery.PassManager._runPass = timed_pass
    for step in LLVM_STEPS:
        setattr(codegen.CPUCodeLibrary, step,
                _timed(step, getattr(codegen.CPUCodeLibrary, step)))

    class Kernels(event.Listener):
        def on_start(self, ev):
            function = ev.data["dispatcher"].py_func
            name = f"{function.__module__.replace('gradflow.kernels.', '')}.{function.__qualname__}"
            _kernels.append([name, time.process_time(), 0.0, 0.0])

        def on_end(self, ev):
            name, start, child, llvm = _kernels.pop()
            spent = time.process_time() - start
            row = kernel_cpu[name]
            row[0] += spent - child
            row[1] += llvm
            row[2] += 1
            if _kernels:
                _kernels[-1][2] += spent

    event.register("numba:compile", Kernels())


def _main_job(with_claims):
    import numpy as np

    from gradflow.report import data

    # as `gradflow report` draws the default inputs (--input-seed 0, data.DEFAULT_STEPS steps)
    data.collect([(name, model, np.random.default_rng(0).standard_normal(
        (data.DEFAULT_STEPS, model.inputs))) for name, model in data.default_models()])
    if with_claims:
        from gradflow.claims.measure import claims
        claims()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", action="store_true", help="measure the claims as well")
    parser.add_argument("--top", type=int, default=25, help="kernels to list")
    args = parser.parse_args()
    if args.top < 0:
        parser.error(f"--top must be 0 or more; got {args.top}")
    _install()
    start = time.process_time()
    _main_job(args.claims)
    total = time.process_time() - start
    compiling = sum(row[0] for row in kernel_cpu.values())
    staged = collections.defaultdict(float)
    for name, spent in stage_cpu.items():
        staged[STAGES.get(name, "Numba's other passes")] += spent
    print(f"analyses{' and claims' if args.claims else ''}: {total:.1f} s CPU, of which "
          f"compilation {compiling:.1f} s ({sum(r[2] for r in kernel_cpu.values())} "
          f"compilations)\n")
    print("| stage | CPU s | share of compilation |\n|---|---|---|")
    outside = compiling - sum(staged.values())
    if abs(outside) >= 0.05:
        staged["outside the passes (dispatch, cache files)"] = outside
    for stage, spent in sorted(staged.items(), key=lambda item: -item[1]):
        print(f"| {stage} | {spent:.2f} | {spent / compiling:.0%} |")
    print("\n| kernel | CPU s (exclusive) | of it LLVM | compilations |\n|---|---|---|---|")
    rows = sorted(kernel_cpu.items(), key=lambda item: -item[1][0])
    for name, (spent, llvm, count) in rows[:args.top]:
        print(f"| `{name}` | {spent:.2f} | {llvm:.2f} | {count} |")
    rest = rows[args.top:]
    if rest:
        print(f"| {len(rest)} others | {sum(r[1][0] for r in rest):.2f} | "
              f"{sum(r[1][1] for r in rest):.2f} | {sum(r[1][2] for r in rest)} |")


if __name__ == "__main__":
    main()
