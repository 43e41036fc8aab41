"""Networks: stacks of recurrent layers, unidirectional or bidirectional, as PyTorch runs them.

Layer 0 reads the inputs; layer l reads layer l-1's hidden states, the directions concatenated
(forward first), exactly as ``torch.nn.RNN``/``LSTM``/``GRU`` with ``num_layers`` and
``bidirectional`` do.  The reverse direction of a layer runs over its inputs in reversed time:
its step 1 reads the last input.  The network's output y_T is what PyTorch's ``h_n`` holds for
the top layer: the final hidden state of each of its directions, concatenated (the reverse
direction's final state is the one after it has read the first input).

The network's state is the concatenation of every layer's and direction's cell state, layer
by layer, forward before reverse: m = sum of the cells' state sizes.
"""

import numpy as np

from .. import validation
from ..errors import GradflowError, source_prefix
from ..io.arrays import as_inputs, as_lengths, as_state
from .base import Cell
from .formats import save_network

__all__ = ["DIRECTION_NAMES", "Network"]

#: The directions of a layer, in PyTorch's order.
DIRECTION_NAMES = ("forward", "reverse")


class Network:
    """A stack of recurrent layers of one cell type, unidirectional or bidirectional.

    Parameters
    ----------
    layers : sequence of sequence of Cell
        One entry per layer: ``(forward,)`` or ``(forward, reverse)``; every layer has the
        same number of directions.  Layer 0's cells read the inputs (width d); layer l's read
        ``directions * n`` values (the layer below's hidden states).
    source : str, optional
        Where the network came from (a file name), for messages.

    Attributes
    ----------
    layers : tuple of tuple of Cell
    """

    def __init__(self, layers, *, source=None):
        self._source = source
        prefix = source_prefix(source)
        if isinstance(layers, Cell) or not hasattr(layers, "__len__") or len(layers) < 1:
            raise GradflowError(f"{prefix}layers must be a non-empty sequence of layers, each a "
                                "tuple of one cell (forward) or two (forward, reverse)")
        out = []
        for index, layer in enumerate(layers):
            layer = (layer,) if isinstance(layer, Cell) else tuple(layer)
            if len(layer) not in (1, 2) or not all(isinstance(c, Cell) for c in layer):
                raise GradflowError(f"{prefix}layer {index} must be one cell (forward) or two "
                                    f"(forward, reverse); got {layer!r}")
            out.append(layer)
        first = out[0][0]
        directions = len(out[0])
        for index, layer in enumerate(out):
            for direction, c in zip(DIRECTION_NAMES, layer, strict=False):
                where = f"{prefix}layer {index} ({direction})"
                if len(layer) != directions:
                    raise GradflowError(f"{where}: every layer needs {directions} direction(s); "
                                        f"layer 0 has {directions}, this one {len(layer)}")
                if type(c) is not type(first) or c.options() != first.options():
                    raise GradflowError(f"{where}: is a {c.kind}; every layer of the network "
                                        f"must be a {first.kind}")
                if c.hidden != first.hidden:
                    raise GradflowError(f"{where}: hidden size {c.hidden}; the network's is "
                                        f"{first.hidden}")
                width = first.inputs if index == 0 else directions * first.output_size
                if c.inputs != width:
                    raise GradflowError(
                        f"{where}: input width {c.inputs}; expected {width} ("
                        + ("the network's inputs" if index == 0 else
                           f"{directions} x hidden {first.output_size} from the layer below")
                        + ")")
        self.layers = tuple(out)

    # ------------------------------------------------------------------ facts
    @property
    def source(self):
        """The file the network was read from (``"NET.npz"``), or None for one built here."""
        return self._source

    @property
    def cell(self):
        """The layers' cell name (``"lstm"``)."""
        return self.layers[0][0].cell

    @property
    def kind(self):
        """The layers' configuration label (``"LSTM"``, ``"RNN-relu"``)."""
        return self.layers[0][0].kind

    def options(self):
        """The layers' cell options."""
        return self.layers[0][0].options()

    @property
    def num_layers(self):
        """Number of layers L."""
        return len(self.layers)

    @property
    def directions(self):
        """1, or 2 for a bidirectional network."""
        return len(self.layers[0])

    @property
    def bidirectional(self):
        """Whether every layer has a reverse direction."""
        return self.directions == 2

    @property
    def hidden(self):
        """Hidden size n of every layer and direction."""
        return self.layers[0][0].hidden

    @property
    def inputs(self):
        """Input width d of the network (layer 0)."""
        return self.layers[0][0].inputs

    @property
    def cells(self):
        """Every cell, layer by layer, forward before reverse."""
        return tuple(c for layer in self.layers for c in layer)

    @property
    def state_size(self):
        """m: the sum of every cell's state size."""
        return sum(c.state_size for c in self.cells)

    @property
    def output_size(self):
        """Length of y_T: ``directions * n`` (``directions * p`` for a projected LSTM)."""
        return self.directions * self.layers[0][0].output_size

    @property
    def parameter_count(self):
        """Trainable scalars of all layers; independent of the sequence length."""
        return sum(c.parameter_count for c in self.cells)

    def state_slices(self):
        """``{(layer, direction): slice}`` of each cell's part of the network state."""
        out, start = {}, 0
        for index, layer in enumerate(self.layers):
            for direction, c in zip(DIRECTION_NAMES, layer, strict=False):
                out[(index, direction)] = slice(start, start + c.state_size)
                start += c.state_size
        return out

    def describe(self):
        """Short human name: ``"2-layer bidirectional LSTM (n=64, d=8)"``."""
        kind = f"{self.num_layers}-layer{' bidirectional' if self.bidirectional else ''}"
        return f"{kind} {self.kind} (n={self.hidden}, d={self.inputs})"

    def __repr__(self):
        return (f"Network({self.kind}, layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, hidden={self.hidden}, "
                f"inputs={self.inputs})")

    def __eq__(self, other):
        return isinstance(other, Network) and self.layers == other.layers

    __hash__ = None

    # ------------------------------------------------------------------ running
    def _initial_states(self, s0, batch):
        m = self.state_size
        s0 = as_state(s0, m, batch=batch)
        return {key: s0[..., part] for key, part in self.state_slices().items()}

    def layer_trajectories(self, xs, s0=None):
        """Every cell's trajectory, each in its own time order.

        Parameters
        ----------
        xs : ndarray, shape (T, d) or (B, T, d)
        s0 : ndarray, shape (m,) or (B, m), optional
            The network's initial state (zeros by default).

        Returns
        -------
        dict
            ``{(layer, direction): (inputs, states)}``: the inputs that cell read, in its own
            time order (reversed for the reverse direction), shape (T, d_l), and its states
            (T + 1, m_l) with ``states[0]`` its initial state.
        """
        xs = as_inputs(xs, self.inputs)
        batch = xs.shape[0] if xs.ndim == 3 else None
        starts = self._initial_states(s0, batch)
        out = {}
        below = xs
        for index, layer in enumerate(self.layers):
            hidden_states = []
            for direction, c in zip(DIRECTION_NAMES, layer, strict=False):
                own = below if direction == "forward" else below[..., ::-1, :]
                own = np.ascontiguousarray(own)
                S = c.run(own, starts[(index, direction)])
                out[(index, direction)] = (own, S)
                h = S[..., 1:, :c.output_size]
                hidden_states.append(h if direction == "forward" else h[..., ::-1, :])
            below = np.ascontiguousarray(np.concatenate(hidden_states, axis=-1))
        return out

    def _padded(self, method, xs, s0, lengths, pad):
        """``method`` per sequence of a padded batch over its valid steps; rows padded."""
        xs = as_inputs(xs, self.inputs)
        lengths = as_lengths(lengths, xs.shape[0] if xs.ndim == 3 else None, xs.shape[-2])
        s0 = as_state(s0, self.state_size, batch=xs.shape[0])
        out = []
        for x, s, length in zip(xs, s0, lengths, strict=True):
            got = method(x[:length], s)
            if pad:
                got = np.concatenate([got, np.zeros((x.shape[0] - length, got.shape[1]))])
            out.append(got)
        return np.stack(out)

    def outputs(self, xs, s0=None, *, lengths=None):
        """The top layer's hidden states at every step, as PyTorch's ``output``: (T, D n).

        Parameters
        ----------
        xs : ndarray, shape (T, d) or (B, T, d)
        s0 : ndarray, shape (m,) or (B, m), optional
        lengths : array_like of int, shape (B,), optional
            A padded batch: sequence b is run over its steps ``0..lengths[b] - 1`` alone (its
            reverse cells start at the last of them), and its rows after those are zeros, as
            PyTorch's ``pad_packed_sequence`` gives them for a packed batch.

        Returns
        -------
        ndarray, shape (T, D n) or (B, T, D n)
        """
        if lengths is not None:
            return self._padded(self.outputs, xs, s0, lengths, pad=True)
        trajectories = self.layer_trajectories(xs, s0)
        top = self.num_layers - 1
        parts = []
        for direction in DIRECTION_NAMES[: self.directions]:
            _, S = trajectories[(top, direction)]
            h = S[..., 1:, :self.layers[top][0].output_size]
            parts.append(h if direction == "forward" else h[..., ::-1, :])
        return np.concatenate(parts, axis=-1)

    def final_hidden(self, xs, s0=None, *, lengths=None):
        """y_T, as PyTorch's ``h_n`` holds the top layer: (D n,), or (B, D n).

        With ``lengths`` (B,) each sequence's y is taken after its own last valid step (the
        reverse direction's after it has read the first input), as for a packed batch.
        """
        if lengths is not None:
            return self._padded(self.final_hidden, xs, s0, lengths, pad=False)
        trajectories = self.layer_trajectories(xs, s0)
        top = self.num_layers - 1
        p = self.layers[top][0].output_size
        return np.concatenate([trajectories[(top, direction)][1][..., -1, :p]
                               for direction in DIRECTION_NAMES[: self.directions]], axis=-1)

    def run(self, xs, s0=None):
        """The network's states at every step, (T + 1, m) (or (B, T + 1, m)).

        Each cell's part of row t is its state after it has read t inputs of its own time
        order (so the reverse direction's row t has read the last t inputs); row 0 is the
        initial state.
        """
        trajectories = self.layer_trajectories(xs, s0)
        return np.concatenate([trajectories[key][1] for key in self.state_slices()], axis=-1)

    def layer_inputs(self, xs, layer, *, direction="forward"):
        """The inputs layer ``layer`` (direction ``direction``) reads, in its own time order."""
        layer = validation.integer(layer, "layer", minimum=0, maximum=self.num_layers - 1)
        direction = validation.choice(direction, "direction",
                                      DIRECTION_NAMES[: self.directions])
        return self.layer_trajectories(xs)[(layer, direction)][0]

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Write the network to ``path`` (.npz, atomically); see :mod:`.formats`."""
        save_network(self, path)
