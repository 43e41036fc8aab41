"""``gradflow import-torch``: a PyTorch RNN/LSTM/GRU (one layer, or all) as a gradflow file."""

import click

from ._options import emit_json, json_option, note


@click.command("import-torch", short_help="Convert a PyTorch RNN/LSTM/GRU to a gradflow file.")
@click.argument("source", metavar="MODEL.pt", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The .npz to write.")
@click.option("--layer", type=click.IntRange(min=0), default=None,
              help="Layer to take (0-based; default 0).")
@click.option("--all-layers", is_flag=True,
              help="Import the whole module, every layer and direction, as a network file.")
@click.option("--direction", type=click.Choice(["forward", "reverse"]), default=None,
              help="Direction of a bidirectional model (default forward).")
@click.option("--nonlinearity", type=click.Choice(["tanh", "relu"]), default=None,
              help="RNN only: the module's nonlinearity (a state dict does not record it; "
                   "default tanh).")
@click.option("--prefix", default=None,
              help="Which recurrent module of a larger state dict, e.g. 'encoder.rnn.'.")
@click.option("--inputs", "inputs_path", type=click.Path(),
              help="Inputs of layer 0, .npy (T, d) or (B, T, d); with --layer-inputs.")
@click.option("--layer-inputs", "layer_inputs_path", type=click.Path(dir_okay=False),
              help="Write the inputs the chosen layer receives (the outputs of the layers "
                   "below, run on --inputs) to this .npy, for `gradflow decay --inputs`.")
@json_option
def import_torch(source, output, layer, all_layers, direction, nonlinearity, prefix, inputs_path,
                 layer_inputs_path, as_json):
    """Convert the PyTorch model in MODEL.pt: one layer, or the whole network.

    Layer --layer (direction --direction) becomes a gradflow weights file; with --all-layers
    the whole module, every layer and direction, becomes a network file, so gradflow decay
    NET.npz measures what a loss on h_n sees.

    MODEL.pt holds the state dict of a torch.nn.RNN, LSTM or GRU (or of a model containing
    one), saved with torch.save(model.state_dict(), path); it is read with
    torch.load(weights_only=True), which refuses arbitrary pickled objects.  PyTorch's gate
    order (LSTM i, f, g, o; GRU r, z, n) is mapped onto the seed's names and the two biases
    are summed; a GRU becomes the reset_after variant with b_hn.  Multi-layer and
    bidirectional models: --layer and --direction, or --all-layers.  A state dict of an
    nn.RNN does not record its nonlinearity: give --nonlinearity, or tanh is assumed (and
    said on stderr).  An LSTM with proj_size keeps it (W_hr = weight_hr).

    \b
    To analyse a layer above the first on its real input sequence:
      gradflow import-torch model.pt --layer 1 -o w1.npz --inputs x.npy --layer-inputs x1.npy
      gradflow decay w1.npz --inputs x1.npy
    The reverse direction's inputs are written in its own time order (last step first).
    """
    import os

    from ..errors import GradflowError
    from ..io.atomic import atomic_paths, refuse_overwriting_inputs, save_npy

    if (inputs_path is None) != (layer_inputs_path is None):
        raise click.UsageError("--inputs and --layer-inputs go together")
    if all_layers and (layer is not None or direction is not None or inputs_path is not None):
        raise click.UsageError("--all-layers takes the whole module; it goes without --layer, "
                               "--direction, --inputs and --layer-inputs")
    layer = 0 if layer is None else layer
    direction = direction or "forward"
    refuse_overwriting_inputs(output, [source, inputs_path])
    if layer_inputs_path is not None:
        refuse_overwriting_inputs(layer_inputs_path, [source, inputs_path, output])
    for path in (output, layer_inputs_path):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            shown = os.path.dirname(path) or "."
            raise GradflowError(f"{path}: cannot write: folder {shown} does not exist")

    from ..cells.torch_import import (
        assumed_nonlinearity,
        describe_torch,
        from_torch,
        network_from_torch,
        torch_layer_inputs,
    )
    from ..cells.torch_state import TorchState
    from ..io.arrays import load_npy

    src = TorchState(source)
    info = describe_torch(src, prefix=prefix)
    assumed = assumed_nonlinearity(src, nonlinearity=nonlinearity, prefix=info["prefix"])
    if all_layers:
        model = network_from_torch(src, nonlinearity=nonlinearity, prefix=info["prefix"])
    else:
        model = from_torch(src, layer, direction=direction, nonlinearity=nonlinearity,
                           prefix=info["prefix"])
    if assumed is not None:
        note(f"{source}: the state dict does not record the RNN's nonlinearity; assumed "
             f"{assumed} (give --nonlinearity to say)")
    layer_xs = None
    if inputs_path is not None:
        xs = load_npy(inputs_path, "inputs")
        from ..io.arrays import as_inputs

        xs = as_inputs(xs, info["inputs"], what=f"{inputs_path}: inputs")
        layer_xs = torch_layer_inputs(src, xs, layer, direction=direction,
                                      nonlinearity=nonlinearity, prefix=info["prefix"])
    if layer_xs is None:
        model.save(output)
    else:
        # both files or neither: both are written to temporary files first, and a failure of
        # the second rename undoes the first
        with atomic_paths([output, layer_inputs_path], suffixes=["", ".npy"]) as \
                (weights_tmp, inputs_tmp):
            model.save(weights_tmp)
            save_npy(inputs_tmp, layer_xs)
    if as_json:
        doc = {"source": source, "output": output, "torch": info, "cell": model.cell,
               "model": model.describe(), "hidden": model.hidden, "inputs": model.inputs,
               "parameters": model.parameter_count, **model.options()}
        if all_layers:
            doc.update(layers=model.num_layers, bidirectional=model.bidirectional)
        else:
            doc.update(layer=layer, direction=direction)
        if layer_xs is not None:
            doc["layer_inputs"] = layer_inputs_path
            doc["layer_inputs_shape"] = list(layer_xs.shape)
        emit_json(doc)
    else:
        layers = f"{info['layers']}-layer{' bidirectional' if info['bidirectional'] else ''}"
        where = "all layers" if all_layers else f"layer {layer} ({direction})"
        note(f"wrote {output}: {model.describe()} from {where} of the "
             f"{layers} {info['cell'].upper()} in {source}")
        if layer_xs is not None:
            note(f"wrote {layer_inputs_path}: the inputs of layer {layer}, shape "
                 f"{tuple(layer_xs.shape)}")
