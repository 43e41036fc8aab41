"""``gradflow report``: a PDF or PNG report of gradient flow, for weights files or the default."""

import contextlib

import click

from ._options import note


def _labels(paths):
    import os

    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return list(paths)


def split_pairs(weights):
    """``W.npz:X.npy`` arguments into ``(weights paths, inputs paths or None)``."""
    paths, own = [], []
    for arg in weights:
        head, sep, tail = arg.rpartition(":")
        if sep and head and tail.lower().endswith(".npy"):
            paths.append(head)
            own.append(tail)
        else:
            paths.append(arg)
            own.append(None)
    return paths, own


def inputs_per_model(count, own, given):
    """One inputs path (or None: drawn) per model, from ``W:X`` pairs and repeated --inputs."""
    from ..errors import GradflowError

    if given and any(own):
        raise GradflowError("give each model's inputs either as W.npz:X.npy or with --inputs, "
                            "not both")
    if any(own):
        if not all(own):
            missing = [i for i, p in enumerate(own) if p is None]
            raise GradflowError(f"W.npz:X.npy: every model needs its own inputs once one has; "
                                f"model(s) {missing} have none")
        return list(own)
    if not given:
        return [None] * count
    if len(given) == 1:
        return list(given) * count
    if len(given) != count:
        raise GradflowError(f"--inputs: given {len(given)} times for {count} models; give "
                            "one (shared by every model) or one per model, in order")
    return list(given)


def lengths_per_model(count, sources, given):
    """One lengths path (or None) per model, from --lengths given once or once per model."""
    from ..errors import GradflowError

    if not given:
        return [None] * count
    if not any(sources):
        raise click.UsageError("--lengths needs inputs (the padded batch they describe)")
    if len(given) == 1:
        return [given[0] if source else None for source in sources]
    if len(given) != count:
        raise GradflowError(f"--lengths: given {len(given)} times for {count} models; give "
                            "one (shared by every model's batch) or one per model, in order")
    return list(given)


@click.command(short_help="PDF or PNG report: gradient flow at a glance.")
@click.argument("weights", metavar="[W.npz[:X.npy] ...]", nargs=-1, type=click.Path())
@click.option("-o", "--output", type=click.Path(), required=True,
              help="OUT.pdf (one topic a page) or OUT.png (one dashboard).")
@click.option("--inputs", "inputs_paths", multiple=True, type=click.Path(),
              help="Inputs .npy (T, d), or a batch (B, T, d): once for every model, or repeated "
                   "once per model in order (or write W.npz:X.npy).")
@click.option("--lengths", "lengths_paths", multiple=True, type=click.Path(),
              help="Valid lengths .npy (B,) of a padded batch of inputs: each sequence is "
                   "analysed over its own steps. Once for every model's batch, or once per "
                   "model in order, as --inputs.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Without inputs: draw T standard-normal inputs (default 200).")
@click.option("--input-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the drawn inputs.")
@click.option("--h0", "h0_path", type=click.Path(),
              help="Initial state .npy of shape (m,), shared by every model (default zeros).")
@click.option("--label", "labels", multiple=True,
              help="Name of a model in the report; repeat once per model (default: file names).")
@click.option("--threshold", type=float, default=1e-3, show_default=True,
              help="Vanishing threshold of the gradient horizon.")
@click.option("--history", "histories", multiple=True, type=click.Path(),
              help="A training history (gradflow train --history, or a Monitor's): adds its "
                   "training page; repeat for several. Alone (no weights), the report is the "
                   "training pages.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def report(weights, output, inputs_paths, lengths_paths, steps, input_seed, h0_path, labels,
           threshold, histories, quiet):
    """Draw a report of gradient flow for WEIGHTS, or for the embedded default.

    \b
    Without weights files: the seed notes' claims first (gradflow claims: each measured,
    with its verdict, and a page of evidence for each: derivatives and the gain axis, relu
    and IRNN, clipping, the gated cells' additive path, parameters and GRU against LSTM in
    training), then the default cells (RNN-sigmoid, RNN-tanh, RNN-relu, LSTM, GRU) built at
    matched size and initialisation, run on the same seeded inputs.  Several files give a
    side-by-side comparison, each model with its own inputs if you like (W.npz:X.npy, or
    --inputs repeated once per model): an untrained against a trained model, or layer 0
    against layer 1.  A batch of inputs (B, T, d) draws the median over the batch with
    quantile bands (--lengths L.npy: a padded batch, each sequence over its own length).
    A network file (gradflow import-torch) shows what its output sees through every layer,
    and each layer as a cell on its own inputs.

    \b
    PDF pages: summary table; what the output sees against lag with Pascanu's bound and the
    horizon, and the sensitivity to the inputs; for networks the per-layer view; the (t, T)
    flow map; singular values of the backward products; gate values and activation
    derivatives; the Lyapunov spectrum and its convergence; per-step Jacobian norms; for
    LSTM the hidden path against the cell path.  PNG: one dashboard of the main panels.

    \b
    --history H.json (gradflow train --history, or gradflow.torch.Monitor) adds training
    pages: loss, the gradient norm before clipping and the clipped steps, the per-lag
    gradient mass and the gradient decay at each snapshot, as far as the history records
    them; several histories are compared on one page.
    """
    import numpy as np

    from ..cells import load
    from ..claims import TASKS, claims
    from ..errors import GradflowError
    from ..io.arrays import as_lengths, load_inputs, load_npy, load_state
    from ..io.atomic import refuse_overwriting_inputs
    from ..io.files import displayable
    from ..plot.history import load_history
    from ..progress import Progress
    from ..report import data
    from ..report.build import output_format, write_report
    from ..resources import require_memory
    from ..validation import fraction

    output_format(output)
    paths, own = split_pairs(weights)
    refuse_overwriting_inputs(output, [*paths, *[p for p in own if p], *inputs_paths,
                                       *lengths_paths, h0_path, *histories])
    if histories and not weights and (inputs_paths or lengths_paths or steps is not None
                                      or h0_path or labels):
        raise click.UsageError("--inputs, --lengths, --steps, --h0 and --label need weights "
                               "files; a training-only report takes just --history")
    docs = [load_history(p) for p in histories]
    if docs and not weights:
        pages = write_report([], output, "training histories: " + ", ".join(histories),
                             histories=docs)
        if not quiet:
            note(f"wrote {output}: {pages} page{'s' if pages > 1 else ''} on "
                 f"{len(docs)} training histor{'ies' if len(docs) > 1 else 'y'}")
        return
    threshold = fraction(threshold, "threshold")
    if weights:
        models = [load(p) for p in paths]
        names = _labels(paths)
        context = "weights: " + ", ".join(displayable(w) for w in weights)
    else:
        entries = data.default_models()
        names, models = [e[0] for e in entries], [e[1] for e in entries]
        own = [None] * len(models)
        context = data.DEFAULT_DESCRIPTION
    if labels:
        if len(labels) != len(models):
            raise GradflowError(f"--label: given {len(labels)} times for {len(models)} models; "
                                "give one per model, in order")
        names = list(labels)
    sources = inputs_per_model(len(models), own, inputs_paths)
    widths = {m.inputs for m in models}
    if len(inputs_paths) == 1 and len(widths) > 1:
        raise GradflowError(f"{inputs_paths[0]}: one input sequence cannot drive models of "
                            f"input widths {sorted(widths)}; use --steps instead")
    if any(sources) and steps is not None:
        raise click.UsageError("give either inputs or --steps, not both")
    T = data.DEFAULT_STEPS if steps is None else steps
    lengths_for = lengths_per_model(len(models), sources, lengths_paths)
    entries, described = [], []
    for name, model, source, lengths_path in zip(names, models, sources, lengths_for,
                                                 strict=True):
        if source is None:
            require_memory(8 * T * model.inputs, f"--steps {T} (the inputs)")
            xs = np.random.default_rng(input_seed).standard_normal((T, model.inputs))
        else:
            raw = None if lengths_path is None else load_npy(lengths_path, "lengths")
            xs = load_inputs(source, model.inputs, lengths=raw)
            shape = "x".join(str(s) for s in xs.shape)
            described.append(f"{name} on {source} ({shape})"
                             + ("" if raw is None else f" of lengths {lengths_path}"))
        lengths = None if lengths_path is None else as_lengths(
            raw, xs.shape[0] if xs.ndim == 3 else None, xs.shape[-2],
            what=f"{lengths_path}: lengths")
        entries.append((name, model, xs, lengths))
    if described:
        context += "; inputs: " + ", ".join(dict.fromkeys(described))
    if any(entry[2].ndim == 3 for entry in entries):
        context += ("; a batch's decay is its median with quantile bands, its other pages "
                    "show its first sequence")
    if any(s is None for s in sources):
        context += f"; {T} steps of N(0, 1) inputs, seed {input_seed}"
    s0 = None
    if h0_path is not None:
        sizes = {m.state_size for m in models}
        if len(sizes) > 1:
            raise GradflowError(f"{h0_path}: one initial state cannot serve models of state "
                                f"sizes {sorted(sizes)}")
        s0 = load_state(h0_path, sizes.pop())
        context += f"; h0 {h0_path}"

    with_claims = not weights and output_format(output) == "pdf"
    with contextlib.ExitStack() as stack:
        aside = _claims_aside(stack) if with_claims else None
        tasks = TASKS if with_claims and aside is None else 0
        progress = Progress(sum(data.tasks_for(m) for m in models) + tasks, label="report",
                            enabled=None if not quiet else False)
        try:
            found = _when_measured(aside) if aside is not None else None
            if with_claims and aside is None:
                found = claims(progress=lambda what: progress.advance(note=f"claims: {what}"))
            reports = data.collect(entries, s0=s0, progress=progress, threshold=threshold)
        finally:
            progress.close()
        pages = write_report(reports, output, context, histories=docs, claims=found)
    if not quiet:
        what = "1 page" if pages == 1 else f"{pages} pages"
        note(f"wrote {output}: {what} on {', '.join(names)}")


def claims_beside_report():
    """The claims, compiling the report's later kernels while they wait for its first ones.

    The claims begin with their training runs (the BPTT kernels) while this process compiles
    the sensitivities' kernel; their decay measurements need that kernel next, and while
    they wait for it the claims' process compiles the all-lag sweep, QR chain, step norms
    and step Jacobians, so this process loads them from the cache (see
    :func:`gradflow.kernels._jit.compile_ahead`).  The same seeded claims either way.
    """
    from ..claims.measure import claims
    from ..kernels._jit import compile_ahead
    from ..report.data import kernels_ahead

    with compile_ahead(kernels_ahead()):
        return claims()


def _claims_aside(stack):
    """The claims measuring on a second process while this one analyses the models.

    None where there is one core, or no process can be started: the claims are then
    measured here, first.  Either way it is the same seeded computation.
    """
    from .._threads import available_cores
    from ..sweep.executors import Aside

    if available_cores() < 2:
        return None
    try:
        return stack.enter_context(Aside(claims_beside_report))
    except (OSError, ImportError, NotImplementedError):  # no semaphores, no processes left
        return None


def _when_measured(aside):
    """A callable waiting for the claims; measures them here if their process died."""
    from ..claims.measure import claims
    from ..sweep.executors import WorkerDied

    def wait():
        try:
            return aside.result()
        except WorkerDied:  # killed, or it could not start (an unguarded calling script)
            return claims()

    return wait
