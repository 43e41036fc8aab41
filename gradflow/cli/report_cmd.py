"""``gradflow report``: a PDF or PNG report of gradient flow, for weights files or the default."""

import click

from ._options import note, trajectory_options


def _labels(paths):
    import os

    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return list(paths)


@click.command(short_help="PDF or PNG report: gradient flow at a glance.")
@click.argument("weights", metavar="[W.npz ...]", nargs=-1, type=click.Path())
@click.option("-o", "--output", type=click.Path(), required=True,
              help="OUT.pdf (one topic a page) or OUT.png (one dashboard).")
@trajectory_options
@click.option("--threshold", type=float, default=1e-3, show_default=True,
              help="Vanishing threshold of the gradient horizon.")
@click.option("--history", "histories", multiple=True, type=click.Path(),
              help="A training history (gradflow train --history): adds its training page; "
                   "repeat for several. Alone (no weights), the report is the training pages.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def report(weights, output, inputs_path, steps, input_seed, h0_path, threshold, histories,
           quiet):
    """Draw a report of gradient flow for WEIGHTS, or for the embedded default.

    \b
    Without weights files: RNN-tanh, RNN-relu, LSTM and GRU built at matched size and
    initialisation (n = 32, d = 4, orthogonal at gain 1, seed 0, LSTM forget bias 1), run on
    the same seeded inputs: the seed notes' story of vanishing gradients and the gated remedy.
    Several files give a side-by-side comparison.

    \b
    PDF pages: summary table; gradient norm against lag with the Pascanu bound and the
    horizon; the (t, T) flow map; singular values with the 1/gamma lines; activation
    derivatives against their bounds; the Lyapunov spectrum; per-step Jacobian norms; for
    LSTM the hidden path against the cell path.  PNG: one dashboard of the main panels.

    \b
    --history H.json (from gradflow train) adds training pages: loss against the task's
    baseline, the gradient norm before clipping and the clipped steps, the per-lag gradient
    mass and the gradient decay at each snapshot; several histories are compared on one page.
    """
    import numpy as np

    from ..analysis.decay import decay as _decay  # noqa: F401 - fail fast on a broken install
    from ..cells import load
    from ..errors import GradflowError
    from ..io.arrays import load_inputs, load_state
    from ..io.atomic import refuse_overwriting_inputs
    from ..progress import Progress
    from ..report import data
    from ..report.build import output_format, write_report
    from ..report.training import load_history
    from ..resources import require_memory
    from ..validation import fraction

    output_format(output)
    refuse_overwriting_inputs(output, [*weights, inputs_path, h0_path, *histories])
    if histories and not weights and (inputs_path or steps is not None or h0_path):
        raise click.UsageError("--inputs, --steps and --h0 need weights files; "
                               "a training-only report takes just --history")
    docs = [load_history(p) for p in histories]
    if docs and not weights:
        pages = write_report([], output, "training histories: " + ", ".join(histories),
                             histories=docs)
        if not quiet:
            note(f"wrote {output}: {pages} page{'s' if pages > 1 else ''} on "
                 f"{len(docs)} training histor{'ies' if len(docs) > 1 else 'y'}")
        return
    threshold = fraction(threshold, "threshold")
    if inputs_path is not None and steps is not None:
        raise click.UsageError("give either --inputs or --steps, not both")
    if weights:
        entries = list(zip(_labels(weights), [load(p) for p in weights], strict=True))
        context = "weights: " + ", ".join(weights)
    else:
        entries = data.default_models()
        context = data.DEFAULT_DESCRIPTION
    if inputs_path is not None:
        widths = {m.inputs for _, m in entries}
        if len(widths) > 1:
            raise GradflowError(f"{inputs_path}: one input sequence cannot drive models of "
                                f"input widths {sorted(widths)}; use --steps instead")
        fixed = load_inputs(inputs_path, widths.pop())
        if fixed.ndim != 2:
            raise GradflowError(f"{inputs_path}: inputs have shape {fixed.shape}; a report "
                                "takes one sequence (T, d)")

        def xs_for(model):
            return fixed

        context += f"; inputs {inputs_path} ({fixed.shape[0]} steps)"
    else:
        T = data.DEFAULT_STEPS if steps is None else steps
        require_memory(8 * T * max(m.inputs for _, m in entries), f"--steps {T} (the inputs)")

        def xs_for(model):
            return np.random.default_rng(input_seed).standard_normal((T, model.inputs))

        context += f"; {T} steps of N(0, 1) inputs, seed {input_seed}"
    s0 = None
    if h0_path is not None:
        sizes = {m.state_size for _, m in entries}
        if len(sizes) > 1:
            raise GradflowError(f"{h0_path}: one initial state cannot serve models of state "
                                f"sizes {sorted(sizes)}")
        s0 = load_state(h0_path, sizes.pop())
        context += f"; h0 {h0_path}"

    progress = Progress(data.TASKS_PER_MODEL * len(entries), label="report",
                        enabled=None if not quiet else False)
    try:
        reports = data.collect(entries, xs_for, s0, progress=progress, threshold=threshold)
    finally:
        progress.close()
    pages = write_report(reports, output, context, histories=docs)
    if not quiet:
        what = "1 page" if pages == 1 else f"{pages} pages"
        note(f"wrote {output}: {what} on {', '.join(label for label, _ in entries)}")
