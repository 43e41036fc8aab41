"""What a :class:`~gradflow.torch.Monitor` sees of a PyTorch recurrent module.

A forward hook keeps the input batch (and initial state) of the module's last forward pass
with gradients on; on the steps that take a snapshot it also hooks the module's output
tensors, so the backward pass leaves the gradient of the loss arriving at them.  Nothing is
copied except on those steps.  PyTorch is imported only when a capture is built.
"""

from dataclasses import dataclass, field

import numpy as np

from ..cells.torch_import import from_torch, network_from_torch
from ..cells.torch_state import import_torch
from ..errors import GradflowError


def _array(tensor):
    """A float64 numpy copy of a tensor (never a view of the module's memory)."""
    torch = import_torch()
    return np.array(tensor.detach().to("cpu", torch.float64).numpy(), copy=True)


def _hx_parts(hx):
    """An initial state argument as a tuple of tensors (h, or h and c), or ()."""
    if hx is None:
        return ()
    return tuple(hx) if isinstance(hx, tuple | list) else (hx,)


@dataclass
class _Seen:
    """One forward pass: its input, initial state and (when asked) output gradients."""

    inputs: object
    hx: tuple
    grads: dict = field(default_factory=dict)


def recurrent_kind(module):
    """``"sequence"`` for nn.RNN/LSTM/GRU, ``"step"`` for nn.RNNCell/LSTMCell/GRUCell.

    Raises GradflowError for anything else (naming the type).
    """
    torch = import_torch()
    if isinstance(module, torch.nn.RNNBase):
        if getattr(module, "mode", None) not in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
            raise GradflowError(f"module: {type(module).__name__} runs mode "
                                f"{getattr(module, 'mode', None)!r}; expected an nn.RNN, "
                                "nn.LSTM or nn.GRU")
        return "sequence"
    if isinstance(module, torch.nn.RNNCellBase):
        return "step"
    raise GradflowError(f"module: a {type(module).__name__} is not a recurrent module; "
                        "expected an nn.RNN, nn.LSTM, nn.GRU (any layers and directions) or "
                        "an nn.RNNCell, nn.LSTMCell, nn.GRUCell")


class SequenceCapture:
    """Hooks on an ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` that runs whole sequences.

    Attributes
    ----------
    wants_gradient : bool
        Set by the monitor before a snapshot step: hook the outputs of the next forward.
    """

    has_output_gradient = True

    def __init__(self, module):
        self.module = module
        self.wants_gradient = False
        self.seen = None
        self._handle = module.register_forward_hook(self._forward, with_kwargs=True)

    def remove(self):
        """Remove the hook from the module."""
        self._handle.remove()

    def begin_step(self, wants_gradient):
        """Prepare for the next training step."""
        self.wants_gradient = bool(wants_gradient)

    def _forward(self, module, args, kwargs, output):
        torch = import_torch()
        if not torch.is_grad_enabled():
            return  # an evaluation pass, not the batch being trained on
        inputs = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        if isinstance(inputs, torch.nn.utils.rnn.PackedSequence):
            raise GradflowError("Monitor: the module was given a PackedSequence; the monitor "
                                "reads padded tensors (B, T, d) or (T, B, d) only")
        seen = _Seen(inputs.detach(), tuple(t.detach() for t in _hx_parts(hx)))
        self.seen = seen
        if not self.wants_gradient:
            return
        sequence_out, final = output
        named = [("output", sequence_out)]
        named += list(zip(("h_n", "c_n"), _hx_parts(final), strict=False))
        for name, tensor in named:
            if tensor.requires_grad:
                tensor.register_hook(_keeper(seen.grads, name))

    def model(self):
        """The module's current weights as a gradflow :class:`~gradflow.Network`."""
        return network_from_torch(self.module)

    def arrays(self, sequences):
        """The first ``sequences`` sequences of the last batch, as gradflow reads them.

        Returns
        -------
        dict or None
            ``xs`` (B, T, d); ``hx``: tuple of (L D, B, k) arrays (h_0, and c_0 for LSTM),
            or None; ``grads``: ``output`` (B, T, D n) and ``h_n``, ``c_n`` (L D, B, k) where
            the backward pass reached them.  None before any forward pass.
        """
        seen = self.seen
        if seen is None:
            return None
        batched = seen.inputs.dim() == 3
        inputs = seen.inputs if batched else seen.inputs.unsqueeze(1)
        if batched and self.module.batch_first:
            inputs = inputs.transpose(0, 1)
        B = min(sequences, inputs.shape[1])
        xs = np.ascontiguousarray(_array(inputs[:, :B]).transpose(1, 0, 2))

        def states(tensor):  # (L D, B, k); unbatched (L D, k)
            tensor = tensor if batched else tensor.unsqueeze(1)
            return _array(tensor[:, :B])

        grads = {}
        for name, grad in seen.grads.items():
            if name == "output":
                g = grad if batched else grad.unsqueeze(1)
                if batched and self.module.batch_first:
                    g = g.transpose(0, 1)
                grads[name] = np.ascontiguousarray(_array(g[:, :B]).transpose(1, 0, 2))
            else:
                grads[name] = states(grad)
        hx = tuple(states(t) for t in seen.hx) or None
        return {"xs": xs, "hx": hx, "grads": grads}


class StepCapture:
    """Hooks on an ``nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` called once per time step.

    The calls between two monitor steps form the sequence; the state passed to the first
    call is its initial state.  The gradient at a cell's output mixes the loss's direct term
    with what flows back through later calls, so no per-lag split is taken.
    """

    has_output_gradient = False

    def __init__(self, module):
        self.module = module
        self.calls = []
        self.recording = False
        self._handle = module.register_forward_hook(self._forward, with_kwargs=True)

    def remove(self):
        """Remove the hook from the module."""
        self._handle.remove()

    def begin_step(self, wants_gradient):
        """Start the next step's sequence; record its calls only before a snapshot."""
        self.calls = []
        self.recording = bool(wants_gradient)

    def _forward(self, module, args, kwargs, output):
        torch = import_torch()
        if not (self.recording and torch.is_grad_enabled()):
            return
        inputs = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        self.calls.append(_Seen(inputs.detach(), tuple(t.detach() for t in _hx_parts(hx))))

    def model(self):
        """The cell's current weights as a gradflow cell."""
        return from_torch(self.module)

    def arrays(self, sequences):
        """The recorded calls as one batch of sequences: ``xs`` (B, T, d), ``hx``, no grads."""
        if not self.calls:
            return None
        torch = import_torch()
        first = self.calls[0]
        batched = first.inputs.dim() == 2
        stacked = torch.stack([c.inputs if batched else c.inputs.unsqueeze(0)
                               for c in self.calls], dim=1)
        B = min(sequences, stacked.shape[0])
        hx = None
        if first.hx:
            hx = tuple(_array((t if batched else t.unsqueeze(0))[:B])[None] for t in first.hx)
        return {"xs": _array(stacked[:B]), "hx": hx, "grads": {}}


def _keeper(store, name):
    def keep(grad):
        store[name] = grad.detach().clone()

    return keep


def capture_for(module):
    """The capture that fits ``module`` (see :func:`recurrent_kind`)."""
    kind = recurrent_kind(module)
    return SequenceCapture(module) if kind == "sequence" else StepCapture(module)
