"""Slow, obvious references for the analysis tests, written from the seed's equations.

Nothing here calls gradflow's numerics: trajectories and Jacobians come from ``naive``
(complex step on the plain cell equations), everything else is a plain numpy loop.
"""

import numpy as np

import naive


def jacobians(model, xs, s0=None):
    """Per-step Jacobians J[t] = ds_{t+1}/ds_t by complex step, at the naive trajectory."""
    f = naive.step_function(model)
    S = naive.trajectory(model, xs, s0)
    return np.array([naive.complex_step_jacobian(lambda s, t=t: f(s, xs[t]), S[t])
                     for t in range(xs.shape[0])])


def input_jacobians(model, xs, s0=None):
    """Per-step input Jacobians Jx[t] = ds_{t+1}/dx of row t, by complex step."""
    f = naive.step_function(model)
    S = naive.trajectory(model, xs, s0)
    return np.array([naive.complex_step_jacobian(lambda x, t=t: f(S[t], x), xs[t])
                     for t in range(xs.shape[0])])


def haar_frame(m, k, seed):
    """The seeded random orthonormal starting frame: QR of a Gaussian matrix, sign-fixed."""
    A = np.random.default_rng(seed).standard_normal((m, k))
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diag(R))


def benettin(Js, k, warmup=0, interval=1, seed=0):
    """Lyapunov exponents (unsorted) by the textbook QR loop over a stack of Jacobians."""
    T, m, _ = Js.shape
    Q = haar_frame(m, k, seed)
    total = np.zeros(k)
    for t in range(T):
        Q = Js[t] @ Q
        step = t + 1
        if step <= warmup:
            due = step % interval == 0 or step == warmup
        else:
            due = (step - warmup) % interval == 0 or step == T
        if due:
            Q, R = np.linalg.qr(Q)
            if step > warmup:
                with np.errstate(divide="ignore"):
                    total += np.log(np.abs(np.diag(R)))
    return total / (T - warmup)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def gate_derivatives(model, xs, s0=None):
    """f'(a) of every nonlinearity at every step, one row per step, from a per-step loop."""
    w = model.weights
    S = naive.trajectory(model, xs, s0)
    n = model.hidden
    rows = {}

    def add(name, value):
        rows.setdefault(name, []).append(value)

    for t, x in enumerate(xs):
        h = S[t, :n]
        if model.cell == "rnn":
            a = w["W_h"] @ h + w["W_x"] @ x + w["b_h"]
            if model.activation == "tanh":
                add("H", 1 - np.tanh(a) ** 2)
            elif model.activation == "sigmoid":
                add("H", sigmoid(a) * (1 - sigmoid(a)))
            else:
                add("H", (a > 0).astype(float))
        elif model.cell == "lstm":
            for gate, name in (("f", "F"), ("i", "I"), ("o", "O")):
                g = sigmoid(w[f"W_{gate}h"] @ h + w[f"W_{gate}x"] @ x + w[f"b_{gate}"])
                add(name, g * (1 - g))
            add("Ct", 1 - np.tanh(w["W_ch"] @ h + w["W_cx"] @ x + w["b_c"]) ** 2)
            add("tanh(C)", 1 - np.tanh(S[t + 1, n:]) ** 2)
        else:
            R = sigmoid(w["W_rh"] @ h + w["W_rx"] @ x + w["b_r"])
            Z = sigmoid(w["W_zh"] @ h + w["W_zx"] @ x + w["b_z"])
            if model.variant == "seed":
                a = w["W_hh"] @ (R * h) + w["W_hx"] @ x + w["b_h"]
            else:
                a = w["W_hx"] @ x + w["b_h"] + R * (w["W_hh"] @ h + w["b_hn"])
            add("R", R * (1 - R))
            add("Z", Z * (1 - Z))
            add("Ht", 1 - np.tanh(a) ** 2)
    return {name: np.array(v) for name, v in rows.items()}


def backpropagated(Js, grad_out):
    """delta_t = dL/ds_t (t = 0..T) and ||J_{t+1}^T delta_{t+1}|| (t = 0..T-1), plain loop."""
    T, m, _ = Js.shape
    delta = np.zeros((T + 1, m))
    carried = np.zeros(T)
    delta[T] = grad_out[T - 1]
    for t in range(T - 1, -1, -1):
        back = Js[t].T @ delta[t + 1]
        carried[t] = np.linalg.norm(back)
        delta[t] = back + (grad_out[t - 1] if t > 0 else 0.0)
    return delta, carried
