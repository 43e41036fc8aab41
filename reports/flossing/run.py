"""Gradient flossing on the copy task: a tanh RNN with and without flossing, five seeds.

Regenerates everything in this folder::

    python reports/flossing/run.py            # about 3-5 minutes on 2 cores

Each run is the same as the command line it prints (``gradflow train ...``): a tanh RNN
(n = 32, PyTorch's initialisation) on the copy task with 2 symbols to recall after a gap of
38 steps (T = 40), 600 Adam steps; "floss" adds ``--floss 8 --floss-schedule
pre:100,every:10``.  Before and after training the script measures, on 16 fixed task
sequences per seed, the first 8 Lyapunov exponents (``gf.lyapunov``, finite-time over the 40
steps, mean over the sequences) and the condition number of the long-term Jacobian
``ds_T/ds_0`` (singular values of the product of the 40 step Jacobians: sigma_1 / sigma_8 on
the directions flossing acts on, and sigma_1 / sigma_32; medians over the sequences).
Writes ``results.json``, ``flossing.png`` and the histories (``histories/*.json``, readable
by ``gradflow report --history``).
"""

import json
import os
import sys

import numpy as np
from matplotlib.figure import Figure

import gradflow as gf
from gradflow.io.atomic import atomic_path
from gradflow.training.tasks import CopyMemory

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = (0, 1, 2, 3, 4)
LENGTH, MEMORY, HIDDEN, STEPS, LR, K = 40, 2, 32, 600, 3e-3, 8
SCHEDULE = "pre:100,every:10"
SUCCESS = 0.8  # final evaluation accuracy that counts as solved (chance: 1/8)
MODES = {"plain": {}, "floss": {"floss": K, "floss_schedule": SCHEDULE}}


def command(mode, seed):
    """The ``gradflow train`` line of one run."""
    line = (f"gradflow train --cell rnn --task copy --length {LENGTH} --memory {MEMORY} "
            f"--hidden {HIDDEN} --steps {STEPS} --lr {LR:g} --seed {seed} --log-every 30")
    if mode == "floss":
        line += f" --floss {K} --floss-schedule {SCHEDULE}"
    return line + f" --history reports/flossing/histories/{mode}-seed{seed}.json"


def measure(model, xs):
    """Mean first-K exponents and median log10 condition numbers of ds_T/ds_0 over ``xs``.

    Two condition numbers: ``sigma_1 / sigma_K`` (the K directions flossing acts on) and
    ``sigma_1 / sigma_m`` (the whole state); the latter is only resolved while it stays
    below about 1e15, the float64 precision of the SVD of the explicit product.
    """
    exponents = np.mean([gf.lyapunov(model, x, k=K).exponents for x in xs], axis=0)
    top, full = [], []
    for x in xs:
        product = np.eye(model.state_size)
        for J in model.step_jacobians(x):
            product = J @ product
        sv = np.linalg.svd(product, compute_uv=False)
        top.append(np.log10(sv[0] / sv[K - 1]))
        full.append(np.log10(sv[0] / max(sv[-1], np.finfo(float).tiny)))
    return exponents, float(np.median(top)), float(np.median(full))


def run(mode, seed, task):
    """Train one run, keep its history and measure it before and after."""
    result = gf.train("rnn", "copy", LENGTH, HIDDEN, STEPS, memory=MEMORY, lr=LR, seed=seed,
                      log_every=30, **MODES[mode])
    history = result.history
    os.makedirs(os.path.join(HERE, "histories"), exist_ok=True)
    with atomic_path(os.path.join(HERE, "histories", f"{mode}-seed{seed}.json"),
                     suffix=".json") as tmp, open(tmp, "w") as fh:
        json.dump(history, fh, allow_nan=False)
    xs, _ = task.sample(np.random.default_rng([seed, 99]), 16)
    initial = gf.RNN.init(HIDDEN, task.inputs, init="pytorch", seed=seed)
    before, cond_before, full_before = measure(initial, xs)
    after, cond_after, full_after = measure(result.model, xs)
    final = history["snapshots"][-1]
    return {
        "mode": mode, "seed": seed, "command": command(mode, seed),
        "final_eval_loss": final["eval_loss"], "final_eval_accuracy": final["eval_accuracy"],
        "solved": final["eval_accuracy"] >= SUCCESS,
        "exponents_before": before.tolist(), "exponents_after": after.tolist(),
        "log10_condition_before": cond_before, "log10_condition_after": cond_after,
        "log10_condition_full_before": full_before, "log10_condition_full_after": full_after,
        "eval_accuracy": [s["eval_accuracy"] for s in history["snapshots"]],
        "eval_steps": [s["step"] for s in history["snapshots"]],
        "wall_time_s": history["summary"]["wall_time_s"],
    }


def figure(rows, path):
    """Accuracy, exponents, condition numbers and seed 0's flossing trace, on one page."""
    fig = Figure(figsize=(11, 8), layout="constrained")
    (acc, lam), (cond, fl) = fig.subplots(2, 2)
    colors = {"plain": "tab:gray", "floss": "tab:red"}
    for r in rows:
        acc.plot(r["eval_steps"], r["eval_accuracy"], color=colors[r["mode"]], alpha=0.8,
                 label=r["mode"] if r["seed"] == 0 else None)
    acc.axhline(1 / 8, color="k", lw=0.8, ls=":", label="chance (1/8)")
    acc.axhline(SUCCESS, color="k", lw=0.8, ls="--", label=f"solved ({SUCCESS:g})")
    acc.set(xlabel="training step", ylabel="evaluation accuracy",
            title=f"copy task, T = {LENGTH} (gap {LENGTH - MEMORY}), tanh RNN n = {HIDDEN}")
    acc.legend(fontsize=8)
    index = np.arange(1, K + 1)
    for mode in MODES:
        mine = [r for r in rows if r["mode"] == mode]
        lam.plot(index, np.mean([r["exponents_after"] for r in mine], axis=0), "o-",
                 color=colors[mode], label=f"{mode}: after training")
    lam.plot(index, np.mean([r["exponents_before"] for r in rows], axis=0), "s--", color="k",
             label="before training (initial weights)")
    lam.axhline(0, color="k", lw=0.6)
    lam.set(xlabel="i", ylabel="lambda_i (per step, mean over seeds)",
            title=f"first {K} Lyapunov exponents")
    lam.legend(fontsize=8)
    for offset, mode in ((-0.2, "plain"), (0.2, "floss")):
        mine = [r for r in rows if r["mode"] == mode]
        seeds = np.array([r["seed"] for r in mine])
        cond.bar(seeds + offset, [r["log10_condition_after"] for r in mine], width=0.4,
                 color=colors[mode], label=f"{mode}: after")
    cond.plot(seeds, [r["log10_condition_before"] for r in rows if r["mode"] == "plain"], "k_",
              ms=18, mew=2, label="before")
    cond.set(xlabel="seed", ylabel=f"log10 sigma_1 / sigma_{K} of ds_T/ds_0",
             title=f"long-term Jacobian ds_T/ds_0 (T = {LENGTH}): condition on the top {K}")
    cond.legend(fontsize=8)
    with open(os.path.join(HERE, "histories", "floss-seed0.json")) as fh:
        trace = json.load(fh)["floss"]["trace"]
    exponents = np.array([[np.nan if v is None else v for v in e] for e in trace["exponents"]])
    fl.plot(np.arange(1, len(exponents) + 1), exponents, lw=0.8)
    fl.axvline(len([p for p in trace["phase"] if p == "pre"]) + 0.5, color="k", ls="--", lw=0.8)
    fl.axhline(0, color="k", lw=0.6)
    fl.set(xlabel="flossing step (dashed: training starts)", ylabel="lambda_i of the batch",
           title=f"seed 0: the {K} exponents at each flossing step")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)


def main():
    """Every seed with and without flossing; results.json and the figure."""
    task = CopyMemory(LENGTH, memory=MEMORY)
    rows = []
    for seed in SEEDS:
        for mode in MODES:
            print(command(mode, seed), file=sys.stderr)
            rows.append(run(mode, seed, task))
            r = rows[-1]
            print(f"  accuracy {r['final_eval_accuracy']:.3f}, loss {r['final_eval_loss']:.3f}, "
                  f"lambda_1 {r['exponents_before'][0]:.3f} -> {r['exponents_after'][0]:.3f}, "
                  f"log10 cond {r['log10_condition_before']:.1f} -> "
                  f"{r['log10_condition_after']:.1f}, {r['wall_time_s']:.0f} s", file=sys.stderr)
    summary = {}
    for mode in MODES:
        mine = [r for r in rows if r["mode"] == mode]
        summary[mode] = {
            "success_rate": float(np.mean([r["solved"] for r in mine])),
            "final_eval_loss_mean": float(np.mean([r["final_eval_loss"] for r in mine])),
            "final_eval_accuracy_mean": float(np.mean([r["final_eval_accuracy"] for r in mine])),
            "exponents_before_mean": np.mean([r["exponents_before"] for r in mine], 0).tolist(),
            "exponents_after_mean": np.mean([r["exponents_after"] for r in mine], 0).tolist(),
            "log10_condition_before_median": float(np.median(
                [r["log10_condition_before"] for r in mine])),
            "log10_condition_after_median": float(np.median(
                [r["log10_condition_after"] for r in mine])),
            "log10_condition_full_before_median": float(np.median(
                [r["log10_condition_full_before"] for r in mine])),
            "log10_condition_full_after_median": float(np.median(
                [r["log10_condition_full_after"] for r in mine])),
        }
    doc = {"settings": {"length": LENGTH, "memory": MEMORY, "hidden": HIDDEN, "steps": STEPS,
                        "lr": LR, "k": K, "schedule": SCHEDULE, "success_accuracy": SUCCESS,
                        "seeds": list(SEEDS)},
           "summary": summary, "runs": rows}
    with atomic_path(os.path.join(HERE, "results.json"), suffix=".json") as tmp, \
            open(tmp, "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    figure(rows, os.path.join(HERE, "flossing.png"))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
