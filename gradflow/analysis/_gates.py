"""Which nonlinearity each gate applies, and the gate pre-activations along a trajectory."""

from scipy.special import expit

#: Nonlinearity of each gate of the gated cells, keyed by the gate letter of ``W_*h``.
GATE_ACTIVATIONS = {
    "lstm": {"f": "sigmoid", "i": "sigmoid", "o": "sigmoid", "c": "tanh"},
    "gru": {"r": "sigmoid", "z": "sigmoid", "h": "tanh"},
}

#: Name of each gate's value in the seed's notation (``F = sigmoid(...)``, ``Ct = tanh(...)``).
GATE_SYMBOLS = {
    "rnn": {"": "H"},
    "lstm": {"f": "F", "i": "I", "o": "O", "c": "Ct"},
    "gru": {"r": "R", "z": "Z", "h": "Ht"},
}


def gate_activations(model):
    """Map each gate letter of ``model`` (``""`` for the RNN) to its activation name."""
    if model.cell == "rnn":
        return {"": model.activation}
    return dict(GATE_ACTIVATIONS[model.cell])


def pre_activations(model, xs, S):
    """Arguments of every nonlinearity along one trajectory, from the named weights.

    Parameters
    ----------
    model : Cell
    xs : ndarray, shape (T, d)
    S : ndarray, shape (T + 1, m)
        The trajectory of ``model`` over ``xs``.

    Returns
    -------
    dict of str to (activation name, ndarray of shape (T, n))
        Keyed by the gate's value in the seed's notation (``"F"``, ``"Ht"``); for LSTM also
        ``"tanh(C)"``, the squashing of the new cell state in ``H = O * tanh(C)``.
    """
    w = model.weights
    n = model.hidden
    h = S[:-1, :n]
    out = {}
    symbols = GATE_SYMBOLS[model.cell]
    for gate, activation in gate_activations(model).items():
        linear = xs @ w[model.input_name(gate)].T + w[model.bias_name(gate)]
        if model.cell == "gru" and gate == "h":
            R = expit(h @ w["W_rh"].T + xs @ w["W_rx"].T + w["b_r"])
            if model.variant == "seed":
                a = (R * h) @ w["W_hh"].T + linear
            else:
                a = linear + R * (h @ w["W_hh"].T + w["b_hn"])
        else:
            a = h @ w[model.recurrent_name(gate)].T + linear
        out[symbols[gate]] = (activation, a)
    if model.cell == "lstm":
        out["tanh(C)"] = ("tanh", S[1:, n:])
    return out
