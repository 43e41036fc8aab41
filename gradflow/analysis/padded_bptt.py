"""BPTT over a padded batch: each sequence backpropagated over its own valid steps.

Sequence b of a padded batch holds its inputs in steps ``0..lengths[b] - 1``; the rest is
padding, as in PyTorch's packed sequences: the padding never runs through the model (so a
bidirectional network's reverse direction starts at the sequence's own last step) and the
rows of ``grad_out`` past a sequence's length are ignored (a packed module's outputs there are
constant zeros).  The gradients sum over the sequences; the state and input gradients are
zero past each length, each cell's part of a network's state gradient in its own time order.
"""

from dataclasses import replace
from types import MappingProxyType

import numpy as np

from ..io.arrays import as_lengths, as_state
from .backprop import readonly

__all__ = ["padded_bptt"]


def padded_bptt(one, model, xs, grad_out, s0, by_lag, lengths):
    """Sum ``one(model, x, g, s, by_lag)`` over the sequences, each cut to its length.

    ``xs`` (B, T, d) and ``grad_out`` (B, T, .) are already checked; returns a BPTTResult
    shaped as the padded batch's.
    """
    B, T, _ = xs.shape
    lengths = as_lengths(lengths, B, T)
    S0 = as_state(s0, model.state_size, batch=B)
    grads, split, state_grads, input_grads, first = {}, {}, [], [], None
    for x, g, s, length in zip(xs, grad_out, S0, lengths, strict=True):
        r = one(model, x[:length], g[:length], s, by_lag)
        first = first or r
        for name, value in r.grads.items():
            grads[name] = grads.get(name, 0.0) + value
        if by_lag:
            for name, value in r.grads_by_lag.items():
                padded = np.zeros((T,) + value.shape[1:])
                padded[:length] = value
                split[name] = split.get(name, 0.0) + padded
        sg = np.zeros((T + 1,) + r.state_grads.shape[1:])
        sg[:length + 1] = r.state_grads
        ig = np.zeros((T,) + r.input_grads.shape[1:])
        ig[:length] = r.input_grads
        state_grads.append(sg)
        input_grads.append(ig)

    def frozen(parts):
        return MappingProxyType({name: readonly(np.ascontiguousarray(v))
                                 for name, v in parts.items()})

    return replace(first, grads=frozen(grads), state_grads=readonly(np.stack(state_grads)),
                   input_grads=readonly(np.stack(input_grads)),
                   grads_by_lag=frozen(split) if by_lag else None)
