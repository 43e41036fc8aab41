"""LSTM in the seed's notation; state ``concat(h, c)``, optionally with a projection of h."""

import numpy as np

from ..kernels.dispatch import LSTM as _KERNEL
from .base import Cell
from .options import Option
from .registry import register

#: The weight that projects the hidden state (``torch.nn.LSTM(proj_size=p)``'s ``weight_hr``).
PROJECTION = "W_hr"


@register
class LSTM(Cell):
    """LSTM cell with forget, input and output gates and the candidate cell.

    ``F = sigmoid(W_fh h + W_fx x + b_f)``, likewise I and O;
    ``C~ = tanh(W_ch h + W_cx x + b_c)``; ``C = F * c + I * C~``; ``H = O * tanh(C)``.
    The state is ``s = concat(h, c)`` (m = 2n).

    With ``proj_size = p > 0`` (``torch.nn.LSTM(proj_size=p)``, Sak et al. 2014) the hidden
    state is projected: ``H = W_hr (O * tanh(C))`` with ``W_hr`` (p, n); h has p entries, the
    recurrent matrices ``W_*h`` are (n, p) and the state is ``concat(h, c)`` (m = p + n).

    Parameters
    ----------
    weights : mapping of str to array_like
        ``W_fh W_fx b_f, W_ih W_ix b_i, W_oh W_ox b_o, W_ch W_cx b_c`` (+ ``W_hr``).
    proj_size : int
        p, the size of the projected hidden state; 0 (default) for none.
    """

    cell = "lstm"
    title = "LSTM"
    gates = ("f", "i", "o", "c")
    gate_symbols = {"f": "F", "i": "I", "o": "O", "c": "Ct"}
    gate_nonlinearities = {"f": "sigmoid", "i": "sigmoid", "o": "sigmoid", "c": "tanh"}
    option_specs = (
        Option("forget_bias", None, stored=False,
               help="LSTM only: added to b_f (1.0 is the usual choice)."),
        Option("proj_size", 0, minimum=0, integer=True,
               help="LSTM only: size p of the projected hidden state H = W_hr (O * tanh(C)) "
                    "(0, the default: none)."),
    )
    state_multiplier = 2
    kernel_id = _KERNEL
    position = 1
    torch_module = "LSTM"
    torch_gate_rows = {"f": 1, "i": 0, "o": 3, "c": 2}
    torch_extra_weights = {"weight_hr": PROJECTION}
    compared = ("lstm",)

    def __init__(self, weights, *, proj_size=0, source=None):
        super().__init__(weights, proj_size=proj_size, source=source)

    # ------------------------------------------------------------------ class facts
    @classmethod
    def output_size_for(cls, hidden, *, proj_size=0):
        """The projection size p with a projection, else n."""
        return proj_size or hidden

    @classmethod
    def state_size_for(cls, hidden, *, proj_size=0):
        """``p + n`` with a projection, else 2n."""
        return cls.output_size_for(hidden, proj_size=proj_size) + hidden

    @classmethod
    def extra_names_for(cls, *, proj_size=0):
        """``W_hr`` with a projection."""
        return (PROJECTION,) if proj_size else ()

    @classmethod
    def weight_shapes(cls, hidden, inputs, **options):
        """The recurrent matrices are (n, p) and ``W_hr`` (p, n) with a projection."""
        shapes = super().weight_shapes(hidden, inputs, **options)
        p = cls.checked_options(options)["proj_size"]
        if p:
            for gate in cls.gates:
                shapes[cls.recurrent_name(gate)] = (hidden, p)
            shapes[PROJECTION] = (p, hidden)
        return shapes

    @classmethod
    def parameter_formula_for(cls, **options):
        """``4n(n + d + 1)``, or ``4n(p + d + 1) + pn`` with a projection."""
        if cls.checked_options(options)["proj_size"]:
            return "4n(p + d + 1) + pn"
        return super().parameter_formula_for(**options)

    @classmethod
    def kind_for(cls, **options):
        """``"LSTM"``, or ``"LSTM-proj"`` with a projection."""
        return "LSTM-proj" if cls.checked_options(options)["proj_size"] else "LSTM"

    @classmethod
    def kind_words_for(cls, **options):
        """``"LSTM cell"``, or ``"LSTM cell with projection"``."""
        projected = cls.checked_options(options)["proj_size"]
        return "LSTM cell with projection" if projected else "LSTM cell"

    @classmethod
    def adjusted_initial_weights(cls, weights, *, forget_bias=None):
        """Add ``forget_bias`` to ``b_f`` (Jozefowicz et al. 2015 recommend 1)."""
        if forget_bias is not None:
            weights = {**weights, "b_f": weights["b_f"] + forget_bias}
        return weights

    @classmethod
    def from_torch_blocks(cls, W_hh, W_ih, b_ih, b_hh, W_hr=None):
        """PyTorch's gate blocks, and its ``weight_hr`` (p, n) as ``W_hr`` when projected."""
        weights, options = super().from_torch_blocks(W_hh, W_ih, b_ih, b_hh)
        if W_hr is not None:
            weights[PROJECTION] = W_hr
            options["proj_size"] = int(W_hr.shape[0])
        return weights, options

    # ------------------------------------------------------------------ instance
    def parameter_formula(self):
        """The count with its formula; with a projection ``4n(p + d + 1) + pn = ...``."""
        if not self.proj_size:
            return super().parameter_formula()
        n, d, p = self.hidden, self.inputs, self.proj_size
        return (f"{self.parameter_formula_for(**self.options())} = 4*{n}*({p} + {d} + 1) + "
                f"{p}*{n} = {self.parameter_count}")

    def describe(self):
        """``"LSTM (n=64, d=8)"``, or ``"LSTM-proj (n=64, p=16, d=8)"``."""
        if not self.proj_size:
            return super().describe()
        return f"{self.kind} (n={self.hidden}, p={self.proj_size}, d={self.inputs})"

    def recurrent_loop(self, name):
        """With a projection, ``W_*h W_hr`` (n, n): the map from ``O * tanh(C)`` to the gate."""
        return self[name] @ self[PROJECTION] if self.proj_size else None

    def kernel_option(self):
        """1 with a projection (its kernels), else 0."""
        return 1 if self.proj_size else 0

    def stacked(self):
        """The kernel form; with a projection ``Wh`` holds ``W_hr^T`` (n, p) as a fifth block."""
        if self._stacked is None and self.proj_size:
            Wh, Wx, b, bhn = super().stacked()
            Wh = np.ascontiguousarray(np.concatenate([Wh, self[PROJECTION].T[None]]))
            Wh.setflags(write=False)
            self._stacked = (Wh, Wx, b, bhn)
        return super().stacked()

    def named_gradients(self, dWh, dWx, db, dbhn, lead=0):
        """The gradient of ``W_hr`` is the transposed fifth block of ``dWh``."""
        out = super().named_gradients(dWh, dWx, db, dbhn, lead=lead)
        if self.proj_size:
            block = dWh[(slice(None),) * lead + (len(self.gates),)]
            out[PROJECTION] = np.ascontiguousarray(np.swapaxes(block, -1, -2))
        return out

    def pre_activations(self, xs, S):
        """The gates' arguments, and ``"tanh(C)"``: the new cell state in ``H = O * tanh(C)``."""
        out = super().pre_activations(xs, S)
        out["tanh(C)"] = ("tanh", np.asarray(S[1:, self.output_size:]))
        return out
