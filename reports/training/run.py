"""Training experiment: the seed notes' remedies for vanishing and exploding gradients, measured.

1. Adding problem, T = 100: the tanh RNN stays at the baseline (MSE 1/6), LSTM and GRU get
   far below it; the per-lag gradient mass in the histories shows why.
2. Exploding regime (relu RNN with identity recurrence, plain SGD): without clipping the run
   blows up within a few steps; norm clipping keeps it finite; value clipping with the same
   largest step is shown for contrast.

Every run is a ``gradflow train`` command (listed in README.md), run as a subprocess; the
histories land next to this script, with ``summary.json`` collecting the figures the README
quotes.  Usage: ``python reports/training/run.py [--jobs 2]``.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: Settings shared by the adding-problem runs.
ADDING = ["--task", "adding", "--length", "100", "--hidden", "32", "--steps", "2000",
          "--batch", "32", "--lr", "0.01", "--log-every", "100"]
#: The exploding regime: relu RNN, identity recurrence (IRNN), plain SGD.
EXPLODING = ["--cell", "rnn", "--activation", "relu", "--init", "identity", "--task", "adding",
             "--length", "100", "--hidden", "32", "--steps", "2000", "--batch", "32",
             "--optimizer", "sgd", "--lr", "0.01", "--log-every", "100", "--seed", "0"]
#: Parameters of that RNN and its readout: 32*32 + 32*2 + 32 + 32 + 1.
PARAMETERS = 1153
#: Value clipping at c / sqrt(P): its largest step equals the norm-clipped one at c = 1.
VALUE_CLIP = f"{1.0 / math.sqrt(PARAMETERS):.4g}"

SEEDS = (0, 1)
CELLS = {"rnn": [], "lstm": ["--forget-bias", "1"], "gru": []}


def runs():
    """Name -> gradflow train arguments (without the history path)."""
    out = {}
    for seed in SEEDS:
        for cell, extra in CELLS.items():
            out[f"adding-{cell}-seed{seed}"] = (["--cell", cell] + extra + ADDING
                                                + ["--seed", str(seed)])
    out["exploding-unclipped"] = list(EXPLODING)
    out["exploding-norm-clip"] = EXPLODING + ["--clip", "1"]
    out["exploding-value-clip"] = EXPLODING + ["--clip", VALUE_CLIP, "--clip-method", "value"]
    return out


def command(name, args):
    """The command line of one run, as written in README.md."""
    return ["gradflow", "train", *args, "--threads", "1", "--quiet",
            "--history", f"reports/training/{name}.json"]


def run_one(name, args):
    """Run one training command; return its wall time in seconds."""
    cmd = command(name, args)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "gradflow", *cmd[1:]], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
    print(f"{wall:7.1f} s  {name}", flush=True)
    return wall


def figures(name, history, wall):
    """What one history says, in a few numbers."""
    snaps = history["snapshots"]
    first, last = snaps[0], snaps[-1]
    summary = history["summary"]

    def horizon(snap):
        return None if snap["decay"] is None else snap["decay"]["gradient_horizon"]

    shares = [s["long_lag_share"] for s in snaps[:-1] if s["long_lag_share"] is not None]
    solved = [s["step"] for s in snaps
              if s["eval_loss"] is not None and s["eval_loss"] < 0.1 * summary["baseline"]]
    before = [s["long_lag_share"] for s in snaps
              if s["long_lag_share"] is not None and (not solved or s["step"] < solved[0])]
    return {
        "command": " ".join(command(name, runs()[name])),
        "wall_time_s": round(wall, 1),
        "steps_done": summary["steps_done"],
        "diverged": summary["diverged"],
        "diverged_at": summary["diverged_at"],
        "baseline": summary["baseline"],
        "final_loss": summary["final_loss"],
        "final_eval_loss": summary["final_eval_loss"],
        "best_eval_loss": summary["best_eval_loss"],
        "clipped_fraction": summary["clipped_fraction"],
        "max_grad_norm": summary["max_grad_norm"],
        "long_lag_share_first": first["long_lag_share"],
        "long_lag_share_last": last["long_lag_share"],
        "long_lag_share_max_before_last": max(shares) if shares else None,
        "long_lag_share_median_unsolved": float(statistics.median(before)) if before else None,
        "solved_at": solved[0] if solved else None,
        "gradient_horizon_first": horizon(first),
        "gradient_horizon_last": horizon(last),
    }


def claims(table):
    """The seed notes' claims, checked on the figures."""
    base = 1.0 / 6.0

    def final(name):
        v = table[name]["final_eval_loss"]
        return math.inf if v is None else v

    adding = {c: [final(f"adding-{c}-seed{s}") for s in SEEDS] for c in CELLS}
    return {
        "rnn_stays_near_baseline": all(v > 0.75 * base for v in adding["rnn"]),
        "lstm_well_below_baseline": all(v < 0.05 * base for v in adding["lstm"]),
        "gru_well_below_baseline": all(v < 0.05 * base for v in adding["gru"]),
        "unclipped_blows_up": table["exploding-unclipped"]["diverged"],
        "norm_clipping_stays_finite": (not table["exploding-norm-clip"]["diverged"]
                                       and table["exploding-norm-clip"]["steps_done"] == 2000),
        "value_clipping_stays_finite": not table["exploding-value-clip"]["diverged"],
    }


def main():
    """Run every command (``--jobs`` at a time) and write summary.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="commands run at once")
    args = parser.parse_args()
    todo = runs()
    start = time.perf_counter()
    # longest first, so two jobs finish together
    order = sorted(todo, key=lambda n: ("lstm" not in n, "gru" not in n, n))
    with ThreadPoolExecutor(args.jobs) as pool:
        walls = dict(zip(order, pool.map(lambda n: run_one(n, todo[n]), order), strict=True))
    total = time.perf_counter() - start
    table = {}
    for name in todo:
        history = json.loads((HERE / f"{name}.json").read_text())
        table[name] = figures(name, history, walls[name])
    doc = {
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "total_wall_time_s": round(total, 1),
        "runs": table,
        "claims": claims(table),
    }
    (HERE / "summary.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(json.dumps(doc["claims"], indent=1))
    print(f"total {total:.0f} s with {args.jobs} jobs")


if __name__ == "__main__":
    main()
