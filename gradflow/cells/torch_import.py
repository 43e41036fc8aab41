"""PyTorch ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` weights in the seed's notation.

PyTorch stacks the gates of a layer row-wise in ``weight_ih_l{L}`` (G n, d), ``weight_hh_l{L}``
(G n, n) and two biases ``bias_ih_l{L}``, ``bias_hh_l{L}`` (G n,), with ``_reverse`` for the
backward direction of a bidirectional model.  The mapping onto the seed's names:

* RNN: ``W_h = weight_hh``, ``W_x = weight_ih``, ``b_h = bias_ih + bias_hh``;
  the nonlinearity (tanh or relu) is a constructor argument, not a weight.
* LSTM, PyTorch gate order i, f, g, o: ``W_fh = weight_hh[n:2n]``, ``W_ih = weight_hh[:n]``,
  ``W_oh = weight_hh[3n:]``, ``W_ch = weight_hh[2n:3n]`` (likewise ``W_*x``); every bias is the
  sum of the two.  With ``proj_size = p``, ``weight_hh`` is (4n, p) and ``W_hr = weight_hr``
  (p, n): the LSTM with ``proj_size`` p, state ``concat(h, c)`` of length p + n.
* GRU, PyTorch gate order r, z, n: ``W_rh, W_zh, W_hh`` from rows ``[:n], [n:2n], [2n:]``;
  ``b_r`` and ``b_z`` are summed, but the candidate's hidden bias sits inside the reset
  (``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``), so the cell is the ``reset_after``
  variant with ``b_h = bias_ih[2n:]`` and ``b_hn = bias_hh[2n:]``.  PyTorch's
  ``h' = (1 - z) * n + z * h`` is the seed's ``H = Z * h + (1 - Z) * H~``.

Which cell a module is and where its gate blocks sit are the cells' facts
(``torch_module``, ``torch_gate_rows``); the files are read by
:mod:`gradflow.cells.torch_state`.
"""

import numpy as np

from .. import validation
from ..errors import GradflowError
from ..io.arrays import as_inputs
from .network import Network
from .registry import CELLS
from .torch_state import TorchState, _as_float64

__all__ = ["DIRECTIONS", "NONLINEARITIES", "assumed_nonlinearity", "describe_torch", "from_torch",
           "network_from_torch", "torch_layer_inputs"]

DIRECTIONS = ("forward", "reverse")
NONLINEARITIES = ("tanh", "relu")


def _cell_for_gate_count(gates):
    """The registered cell with a PyTorch module of ``gates`` gate blocks, or None."""
    for cls in CELLS.values():
        if cls.torch_module and len(cls.torch_gate_rows) == gates:
            return cls.cell
    return None


def _layers(group):
    return sorted({layer for (name, layer, rev) in group if name == "weight_hh"},
                  key=lambda v: -1 if v is None else v)


def describe_torch(source, *, prefix=None):
    """What a PyTorch recurrent module holds: cell, sizes, layers, directions.

    Parameters
    ----------
    source : torch.nn.Module, mapping, str or os.PathLike
        A module, its state dict, or a ``.pt`` file holding the state dict.
    prefix : str, optional
        Which recurrent module of a larger model (``"encoder.lstm."``); needed only when the
        state dict holds several.

    Returns
    -------
    dict
        ``cell``, ``hidden``, ``inputs`` (of layer 0), ``layers``, ``bidirectional``,
        ``prefix``; and ``proj_size`` for an LSTM with a projection.
    """
    src = source if isinstance(source, TorchState) else TorchState(source)
    prefix, group = src.group(prefix)
    layers = _layers(group)
    cell = _cell_of(src, prefix, group, layers[0])
    _, W = group[("weight_hh", layers[0], False)]
    projection = group.get(("weight_hr", layers[0], False))
    if ("weight_ih", layers[0], False) not in group:
        suffix = "" if layers[0] is None else f"_l{layers[0]}"
        raise GradflowError(f"{src.where}: missing {prefix}weight_ih{suffix}")
    _, Wi = group[("weight_ih", layers[0], False)]
    info = {
        "cell": cell,
        "hidden": int(W.shape[1] if projection is None else projection[1].shape[1]),
        "inputs": int(Wi.shape[1]),
        "layers": len(layers),
        "bidirectional": any(rev for (_, _, rev) in group),
        "prefix": prefix,
    }
    if projection is not None:
        info["proj_size"] = int(projection[1].shape[0])
    return info


def _cell_of(src, prefix, group, layer):
    where = src.where
    key, W = group[("weight_hh", layer, False)]
    projection = group.get(("weight_hr", layer, False))
    if projection is not None:  # weight_hh is (G n, p), weight_hr (p, n)
        key_hr, W_hr = projection
        if len(W_hr.shape) != 2 or W_hr.shape[1] < 1 or len(W.shape) != 2:
            raise GradflowError(f"{where}: {key_hr} has shape {tuple(W_hr.shape)}; expected "
                                "(p, n), p = proj_size")
        n = W_hr.shape[1]
        if W.shape[0] % n or W.shape[1] != W_hr.shape[0]:
            raise GradflowError(
                f"{where}: {key} has shape {tuple(W.shape)}; expected (G n, p) = (G*{n}, "
                f"{W_hr.shape[0]}) for {key_hr} of shape {tuple(W_hr.shape)} (p, n)"
            )
    else:
        n = W.shape[1] if len(W.shape) == 2 else 0
    if len(W.shape) != 2 or n < 1 or W.shape[0] % n:
        raise GradflowError(
            f"{where}: {key} has shape {tuple(W.shape)}; expected (G n, n) with G = 1, 3 or 4"
        )
    gates = W.shape[0] // n
    cell = src.module_cells.get(prefix) or _cell_for_gate_count(gates)
    if cell is None or _cell_for_gate_count(gates) != cell:
        raise GradflowError(
            f"{where}: {key} has shape {tuple(W.shape)}: {gates} gate blocks of {n} "
            "rows; expected 1 (RNN), 3 (GRU) or 4 (LSTM)"
        )
    if projection is not None and "weight_hr" not in CELLS[cell].torch_extra_weights:
        raise GradflowError(f"{where}: {projection[0]} belongs to an LSTM with proj_size; "
                            f"a {CELLS[cell].title} has none")
    return cell


def from_torch(source, layer=0, *, direction="forward", nonlinearity=None, prefix=None):
    """One layer and direction of a PyTorch recurrent module as a gradflow cell.

    Parameters
    ----------
    source : torch.nn.Module, mapping, str or os.PathLike
        A ``torch.nn.RNN``, ``LSTM`` or ``GRU`` (or ``RNNCell`` ...), a module containing one,
        its state dict, or a ``.pt`` file holding the state dict (read with
        ``torch.load(weights_only=True)``).  Any floating dtype; the weights become float64.
    layer : int
        The layer (0-based).
    direction : {"forward", "reverse"}
        For a bidirectional model, ``"reverse"`` takes the ``_reverse`` weights.
    nonlinearity : {"tanh", "relu"}, optional
        RNN only.  A module says which it uses; a state dict does not (default tanh).
    prefix : str, optional
        Which recurrent module of a larger state dict (``"encoder.rnn."``).

    Returns
    -------
    RNN, LSTM or GRU
        GRU as the ``reset_after`` variant (PyTorch's), with ``b_hn``; an LSTM with
        ``proj_size`` keeps it, with ``W_hr``.

    Raises
    ------
    GradflowError
        Without PyTorch (for modules and files), for a layer or direction the model lacks,
        non-float tensors, or shapes that do not fit together.
    """
    src = source if isinstance(source, TorchState) else TorchState(source)
    where = src.where
    layer = validation.integer(layer, "layer", minimum=0)
    if direction not in DIRECTIONS:
        raise GradflowError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise GradflowError(f"nonlinearity must be one of {', '.join(NONLINEARITIES)}; got "
                            f"{nonlinearity!r}")
    prefix, group = src.group(prefix)
    layers = _layers(group)
    cellwise = layers == [None]
    if cellwise:
        if layer != 0:
            raise GradflowError(f"{where}: layer {layer} of a single cell; only layer 0 exists")
        layer_key = None
    else:
        if layer not in layers:
            raise GradflowError(
                f"{where}: layer {layer} out of range; the model has {len(layers)} layer"
                f"{'s' if len(layers) != 1 else ''} (0..{len(layers) - 1})"
            )
        layer_key = layer
    reverse = direction == "reverse"
    if reverse and ("weight_hh", layer_key, True) not in group:
        raise GradflowError(f"{where}: the model is not bidirectional; no reverse direction")
    cell = _cell_of(src, prefix, group, layer_key)
    cls = CELLS[cell]
    if "nonlinearity" not in cls.torch_module_options and nonlinearity is not None:
        owners = " and ".join(c.title for c in CELLS.values()
                              if "nonlinearity" in c.torch_module_options)
        raise GradflowError(f"nonlinearity applies to {owners} only, not to {cls.title}")
    if "nonlinearity" in cls.torch_module_options:
        known = src.nonlinearity.get(prefix)
        if nonlinearity is not None and known is not None and nonlinearity != known:
            raise GradflowError(
                f"{where}: nonlinearity {nonlinearity!r} given, but the module uses {known!r}"
            )
        nonlinearity = nonlinearity or known or "tanh"

    def tensor(name, required=True):
        entry = group.get((name, layer_key, reverse))
        if entry is None:
            if required:
                suffix = "" if cellwise else f"_l{layer}"
                raise GradflowError(
                    f"{where}: missing {prefix}{name}{suffix}{'_reverse' if reverse else ''}"
                )
            return None, None
        key, value = entry
        return key, _as_float64(value, key, where)

    key_hh, W_hh = tensor("weight_hh")
    key_ih, W_ih = tensor("weight_ih")
    key_bi, b_ih = tensor("bias_ih", required=False)
    key_bh, b_hh = tensor("bias_hh", required=False)
    extras = {}
    for name, keyword in cls.torch_extra_weights.items():
        _, value = tensor(name, required=False)
        if value is not None:
            extras[keyword] = value
    G = len(cls.torch_gate_rows)
    W_hr = extras.get("W_hr")
    n = W_hh.shape[1] if W_hr is None else W_hr.shape[1]
    p = n if W_hr is None else W_hr.shape[0]
    if W_hh.shape != (G * n, p):
        sizes = f"hidden size {n}" + ("" if W_hr is None else f" and proj_size {p}")
        raise GradflowError(f"{where}: {key_hh} has shape {W_hh.shape}; expected "
                            f"({G * n}, {p}) for a {cell.upper()} with {sizes}")
    if W_ih.ndim != 2 or W_ih.shape[0] != G * n or W_ih.shape[1] < 1:
        raise GradflowError(f"{where}: {key_ih} has shape {W_ih.shape}; expected "
                            f"({G * n}, d) for a {cell.upper()} with hidden size {n}")
    if (b_ih is None) != (b_hh is None):
        present = key_bi or key_bh
        raise GradflowError(f"{where}: {present} present without its partner bias")
    if b_ih is None:
        b_ih = np.zeros(G * n)
        b_hh = np.zeros(G * n)
    for key, bias in ((key_bi, b_ih), (key_bh, b_hh)):
        if bias.shape != (G * n,):
            raise GradflowError(f"{where}: {key} has shape {bias.shape}; expected ({G * n},)")

    weights, options = cls.from_torch_blocks(W_hh, W_ih, b_ih, b_hh, **extras)
    if nonlinearity is not None:
        options[cls.torch_module_options["nonlinearity"]] = nonlinearity
    label = where if src.where != "state dict" else None
    return cls(weights, source=label, **options)


def network_from_torch(source, *, nonlinearity=None, prefix=None):
    """A whole PyTorch recurrent module (every layer and direction) as a gradflow network.

    Parameters
    ----------
    source : torch.nn.Module, mapping, str or os.PathLike
        As for :func:`from_torch`: a live module (which tells its nonlinearity), a state
        dict or checkpoint dict (``prefix`` picks the recurrent module), or a ``.pt`` file.
    nonlinearity : {"tanh", "relu"}, optional
        RNN only; a state dict does not record it (tanh is assumed; see
        :func:`assumed_nonlinearity`).
    prefix : str, optional
        Which recurrent module of a larger state dict.

    Returns
    -------
    Network
        ``num_layers`` layers of ``(forward,)`` or ``(forward, reverse)`` cells.
    """
    src = source if isinstance(source, TorchState) else TorchState(source)
    info = describe_torch(src, prefix=prefix)
    directions = DIRECTIONS if info["bidirectional"] else DIRECTIONS[:1]
    layers = [tuple(from_torch(src, layer, direction=direction, nonlinearity=nonlinearity,
                               prefix=info["prefix"]) for direction in directions)
              for layer in range(info["layers"])]
    return Network(layers, source=None if src.where == "state dict" else src.where)


def assumed_nonlinearity(source, *, nonlinearity=None, prefix=None):
    """The nonlinearity an import would assume without being told, else None.

    A state dict of ``torch.nn.RNN`` does not record whether it is tanh or relu; gradflow
    takes tanh then, and the command line says so on stderr.
    """
    src = source if isinstance(source, TorchState) else TorchState(source)
    info = describe_torch(src, prefix=prefix)
    cls = CELLS[info["cell"]]
    if ("nonlinearity" in cls.torch_module_options and nonlinearity is None
            and info["prefix"] not in src.nonlinearity):
        return "tanh"
    return None


def torch_layer_inputs(source, xs, layer, *, direction="forward", nonlinearity=None,
                       prefix=None):
    """The input sequence that layer ``layer`` of a PyTorch recurrent model receives.

    Runs layers ``0..layer-1`` (both directions of a bidirectional model, outputs
    concatenated forward first, as PyTorch does) with gradflow's own cells from zero initial
    states, in evaluation mode (no dropout).  ``layer`` equal to the number of layers gives
    the model's output.

    Parameters
    ----------
    source : torch.nn.Module, mapping, str or os.PathLike
        As for :func:`from_torch`.
    xs : ndarray, shape (T, d) or (B, T, d)
        Inputs of layer 0 (time first within a sequence, whatever the module's
        ``batch_first``).
    layer : int
        The layer whose inputs are wanted; 0 returns ``xs``.
    direction : {"forward", "reverse"}
        The direction that reads them: the reverse direction reads them in its own time
        order, last step first, so the array returned for it is reversed in time, ready for
        ``decay`` of that direction's cell.
    nonlinearity, prefix
        As for :func:`from_torch`.

    Returns
    -------
    ndarray, shape (T, d_layer) or (B, T, d_layer)
        ``d_layer = n`` (or ``2 n`` for a bidirectional model) for ``layer > 0``; ``p``
        (``2 p``) for an LSTM with ``proj_size`` p.
    """
    src = source if isinstance(source, TorchState) else TorchState(source)
    info = describe_torch(src, prefix=prefix)
    layer = validation.integer(layer, "layer", minimum=0, maximum=info["layers"],
                    rule=f"an integer in [0, {info['layers']}] (the model has "
                         f"{info['layers']} layers)")
    direction = validation.choice(direction, "direction", DIRECTIONS)
    xs = as_inputs(xs, info["inputs"])
    for current in range(layer):
        outputs = []
        directions = DIRECTIONS if info["bidirectional"] else DIRECTIONS[:1]
        for reading in directions:
            model = from_torch(src, current, direction=reading, nonlinearity=nonlinearity,
                               prefix=info["prefix"])
            n = model.output_size
            if reading == "forward":
                outputs.append(model.run(xs)[..., 1:, :n])
            else:
                backwards = model.run(xs[..., ::-1, :])[..., 1:, :n]
                outputs.append(backwards[..., ::-1, :])
        xs = np.ascontiguousarray(np.concatenate(outputs, axis=-1))
    if direction == "reverse":
        if not info["bidirectional"]:
            raise GradflowError(f"{src.where}: the model is not bidirectional; no reverse "
                                "direction")
        xs = np.ascontiguousarray(xs[..., ::-1, :])
    return xs
