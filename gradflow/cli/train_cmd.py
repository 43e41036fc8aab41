"""``gradflow train``: train a cell on the adding or copy task and record its gradient flow."""

import click

from ._options import CellChoice, cell_command, emit_json, given_cell_options, json_option, note


def _check_writable(path):
    import os

    from ..errors import GradflowError

    if path is None:
        return
    if os.path.isdir(path):
        raise GradflowError(f"{path}: cannot write: it is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        shown = os.path.dirname(path) or "."
        raise GradflowError(f"{path}: cannot write: folder {shown} does not exist")


def _progress_line(snap, baseline):
    loss = snap["eval_loss"]
    text = f"step {snap['step']:>6}: eval loss "
    text += "not finite" if loss is None else f"{loss:.4g} ({loss / baseline:.2f} x baseline)"
    if snap["eval_accuracy"] is not None:
        text += f", accuracy {snap['eval_accuracy']:.3f}"
    if snap["long_lag_share"] is not None:
        text += f", gradient mass at lags >= T/2: {100 * snap['long_lag_share']:.3g}%"
    return text


def _floss_line(section):
    exponents = [e for e in section["trace"]["exponents"] if e and e[0] is not None]
    text = (f"flossed the first {section['k']} Lyapunov exponents towards "
            f"{section['target']:g} in {section['steps']} steps")
    if exponents:
        text += (f"; lambda_1 {exponents[0][0]:.3g} at the first flossing step, "
                 f"{exponents[-1][0]:.3g} at the last")
    return text


@cell_command(options_after="seed",
              short_help="Train a cell on the adding or copy task; record gradient flow.")
@click.option("--cell", type=CellChoice(), required=True, help="The cell.")
@click.option("--task", type=click.Choice(["adding", "copy", "flipflop"]), required=True,
              help="adding (Hochreiter & Schmidhuber 1997), copy (copy-memory) or flipflop "
                   "(3-bit flip-flop, Sussillo & Barak 2013).")
@click.option("--length", type=click.IntRange(min=2), required=True, help="Sequence length T.")
@click.option("--hidden", "-n", type=click.IntRange(min=1), required=True, help="Hidden size n.")
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Optimiser steps.")
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True,
              help="Sequences per step.")
@click.option("--lr", type=float, default=None,
              help="Learning rate (default 1e-3 for adam, 1e-2 for sgd).")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam",
              show_default=True, help="Adam, or plain SGD as in Pascanu et al. (2013).")
@click.option("--clip", type=float, default=None,
              help="Clip the whole gradient to this size (default: no clipping).")
@click.option("--clip-method", type=click.Choice(["norm", "value"]), default="norm",
              show_default=True, help="norm: g <- c g/||g|| when ||g|| > c; value: entries "
                                      "into [-c, c].")
@click.option("--on-non-finite", type=click.Choice(["zero", "random"]), default="zero",
              show_default=True,
              help="With --clip: a NaN/inf gradient becomes no step, or a random step of size c.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds weights, readout, data, evaluation batch.")
@click.option("--init", "scheme",
              type=click.Choice(["gaussian", "orthogonal", "xavier", "pytorch", "identity"]),
              default="pytorch", show_default=True, help="Initialiser of the cell.")
@click.option("--gain", type=float, default=1.0, show_default=True,
              help="Scale of the recurrent matrices.")
@click.option("--memory", type=click.IntRange(min=1), default=10, show_default=True,
              help="Copy task: symbols to remember.")
@click.option("--log-every", type=click.IntRange(min=1), default=None,
              help="Steps between snapshots (decay curve, per-lag mass); default steps/20.")
@click.option("--eval-batch", type=click.IntRange(min=1), default=256, show_default=True,
              help="Fixed evaluation batch of the snapshots.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads that share each batch (default: the CPUs, at most 8).")
@click.option("--history", "history_path", type=click.Path(dir_okay=False),
              help="Write the history (JSON) here.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the trained cell's weights (.npz) here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.option("--floss", type=click.IntRange(min=1), default=None,
              help="Gradient flossing (Engelken 2023): push the first K Lyapunov exponents "
                   "towards --floss-target.")
@click.option("--floss-target", type=float, default=None,
              help="With --floss: the exponents' target (default 0).")
@click.option("--floss-weight", type=float, default=None,
              help="With --floss: scale of the flossing gradient (default 1).")
@click.option("--floss-schedule", default=None,
              help="With --floss: pre:N,every:M = N flossing steps before training, then one "
                   "after every M-th step (default pre:100,every:10).")
@json_option
def train(cell, task, length, hidden, steps, batch, lr, optimizer, clip, clip_method,
          on_non_finite, seed, scheme, gain, memory, log_every, eval_batch, threads, history_path,
          output, quiet, floss, floss_target, floss_weight, floss_schedule, as_json,
          **cell_options):
    """Train a cell (--cell) and a linear readout on a long-dependency task, by exact BPTT.

    The adding problem reads the sum of two marked values from the last state (baseline MSE
    1/6 = 0.167: always answering 1); the copy task recalls --memory symbols after a gap,
    from the last --memory states (baseline: ln 8, a uniform guess).  Every step records the
    loss, the gradient norm before clipping and whether it was clipped; snapshots (every
    --log-every steps) add the decay curve ||ds_T/ds_(T-k)|| and the per-lag gradient mass.
    Without --clip a non-finite loss, gradient or weight ends the run (diverged).

    \b
    Example (the tanh RNN stays at the baseline, the GRU solves the task):
      gradflow train --cell rnn --task adding --length 100 --hidden 32 --steps 2000 --lr 0.01
      gradflow train --cell gru --task adding --length 100 --hidden 32 --steps 2000 --lr 0.01 \\
          --history gru.json
    """
    import json

    from ..errors import GradflowError
    from ..io.atomic import atomic_paths
    from ..training.loop import train as run_training

    options = given_cell_options(cell, cell_options)
    if memory != 10 and task != "copy":
        raise GradflowError("--memory applies to the copy task only")
    if clip is None and (clip_method != "norm" or on_non_finite != "zero"):
        raise GradflowError("--clip-method and --on-non-finite need --clip")
    if floss is None and (floss_target, floss_weight, floss_schedule) != (None, None, None):
        raise GradflowError("--floss-target, --floss-weight and --floss-schedule need --floss")
    if floss is not None:
        from ..training.flossing import DEFAULT_SCHEDULE, parse_schedule

        parse_schedule(floss_schedule or DEFAULT_SCHEDULE)  # a bad text fails before training
    _check_writable(history_path)
    _check_writable(output)
    if history_path is not None and output is not None:
        import os

        if os.path.realpath(history_path) == os.path.realpath(output):
            raise GradflowError(f"{output}: the weights would overwrite the history file")

    from ..training.tasks import make_task

    baseline = make_task(task, length, memory=memory).baseline

    def progress(snap):
        if not quiet:
            note(_progress_line(snap, baseline))

    result = run_training(
        cell, task, length, hidden, steps, batch=batch, lr=lr, optimizer=optimizer, clip=clip,
        clip_method=clip_method, on_non_finite=on_non_finite, seed=seed, init=scheme, gain=gain,
        memory=memory, log_every=log_every, eval_batch=eval_batch, threads=threads,
        progress=progress, floss=floss,
        floss_target=0.0 if floss_target is None else floss_target,
        floss_weight=1.0 if floss_weight is None else floss_weight,
        floss_schedule=floss_schedule, **options,
    )
    history = result.history
    writers = {}  # both outputs or neither: a failure on the second undoes the first

    def write_history(tmp):
        with open(tmp, "w") as fh:
            json.dump(history, fh, allow_nan=False)
            fh.write("\n")

    if history_path is not None:
        writers[history_path] = (".json", write_history)
    if output is not None:
        writers[output] = ("", result.model.save)
    if writers:
        with atomic_paths(list(writers), suffixes=[sfx for sfx, _ in writers.values()]) as tmps:
            for tmp, (_, write) in zip(tmps, writers.values(), strict=True):
                write(tmp)
    summary = history["summary"]
    if as_json:
        emit_json({"config": history["config"], "task": history["task"],
                   "parameters": history["parameters"], "summary": summary,
                   "history": history_path, "weights": output,
                   **({"floss": {key: value for key, value in history["floss"].items()
                                 if key != "trace"}} if "floss" in history else {})})
        return
    lines = [f"{history['config']['model']} on the {task} task, T = {length}: "
             f"{summary['steps_done']} of {steps} steps in {summary['wall_time_s']:.1f} s"]
    final = summary["final_eval_loss"]
    if final is not None:
        lines.append(f"evaluation loss {final:.4g} (baseline {summary['baseline']:.4g}: "
                     f"{history['task']['baseline_words']})")
    if summary["diverged"]:
        lines.append(f"diverged at step {summary['diverged_at']}: a non-finite loss, gradient "
                     "or weight (try --clip)")
    if clip is not None:
        lines.append(f"clipped {100 * summary['clipped_fraction']:.3g}% of the steps "
                     f"({clip_method} clipping at {clip:g}); "
                     f"{summary['non_finite_steps']} non-finite gradients replaced")
    if summary["max_grad_norm"] is not None:
        lines.append(f"largest gradient norm before clipping: {summary['max_grad_norm']:.4g}")
    if "floss" in history:
        lines.append(_floss_line(history["floss"]))
    click.echo("\n".join(lines))
