"""``gradflow spectrum``: singular values and spectral radius of every recurrent matrix."""

import click

from ._options import emit_json, json_option, layout_options, read_sequences, trajectory_options


def _human(result, source):
    lines = [f"{result.model}: spectra of the recurrent matrices", ""]
    header = (f"{'matrix':<6}  {'gate f':<8}  {'sigma_max':>11}  {'spectral rad':>12}  "
              f"{'sigma_min':>11}  {'condition':>11}  {'gamma':>6}  {'gamma*sigma_max':>15}")
    lines.append(header)
    for name, m in result.matrices.items():
        cond = m.condition_number
        cond_text = f"{cond:.4g}" if cond != float("inf") else "inf"
        lines.append(f"{name:<6}  {m.activation:<8}  {m.sigma_max:>11.6g}  "
                     f"{m.spectral_radius:>12.6g}  {m.sigma_min:>11.6g}  {cond_text:>11}  "
                     f"{m.gamma:>6g}  {m.gamma_sigma_max:>15.6g}")
    lines.append("")
    if result.bound is not None:
        lines.append(f"Pascanu bound: ||J_t||_2 <= gamma * sigma_max(W_h) = {result.gamma:g} * "
                     f"{result.matrices['W_h'].sigma_max:.6g} = {result.bound:.6g} at every step")
        lines.append(f"reading: {result.reading}"
                     + (" (the norm at lag k is at most bound^k)" if result.bound < 1 else
                        " (the bound allows growth; the trajectory decides)"))
    else:
        lines.append("gated cell: no bound from the weights alone; each gate's gamma*sigma_max "
                     "is the most its recurrent term can stretch a perturbation per step")
    if result.jacobian_norms is not None:
        doc = result.to_dict()["trajectory"]
        where = source.get("inputs", "")
        if where == "standard normal":
            where += f" (seed {source['input_seed']})"
        lines.append("")
        lines.append(f"along a trajectory of {doc['steps']} steps ({where}):")
        lines.append(f"  ||J_t||_2: max {doc['jacobian_norm2_max']:.6g} (step "
                     f"{doc['argmax_step']}), mean {doc['jacobian_norm2_mean']:.6g}, "
                     f"min {doc['jacobian_norm2_min']:.6g}")
        lines.append(f"  effective bound max_t ||J_t||_2 = {result.effective_bound:.6g}: "
                     f"{result.effective_reading} on this trajectory")
    return "\n".join(lines)


@click.command(short_help="Singular values, spectral radius and Pascanu's bound of W_*h.")
@click.argument("weights", metavar="W.npz", type=click.Path())
@trajectory_options
@layout_options(lengths=True)
@json_option
def spectrum(weights, inputs_path, steps, input_seed, h0_path, time_major, lengths_path,
             as_json):
    """Spectral figures of every recurrent matrix W_*h of WEIGHTS.

    For each W_*h: sigma_max, spectral radius, all singular values, condition number, and the
    gate's gamma = sup f'.  For a vanilla RNN, Pascanu's bound gamma * sigma_max(W_h): below 1
    vanishing gradients are guaranteed, above 1 exploding ones are possible, not guaranteed.
    Along a trajectory (--inputs, or --steps standard-normal inputs), the largest step
    Jacobian norm met: the effective bound, for gated cells too (a padded batch with
    --lengths L.npy: over each sequence's own steps).
    """
    from ..analysis.spectrum import spectrum as compute
    from ..cells import load

    model = load(weights)
    xs, s0, source, lengths = read_sequences(model, inputs_path, steps, input_seed, h0_path,
                                             time_major=time_major, lengths_path=lengths_path)
    result = compute(model, xs, s0, source=weights, lengths=lengths)
    if as_json:
        emit_json({**result.to_dict(), "weights": weights, **source})
    else:
        click.echo(_human(result, source))
