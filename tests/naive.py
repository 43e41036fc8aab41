"""Slow, obviously correct references written straight from the seed's equations.

Every function works on real or complex arrays, so complex-step differentiation gives an
independent forward-mode derivative exact to rounding: ``df/dx e_j = Im f(x + i h e_j) / h``.
relu uses the real part to pick its branch, which is exact away from the kink.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def relu(z):
    return np.where(np.real(z) > 0, z, 0.0 * z)


ACT = {"tanh": np.tanh, "sigmoid": sigmoid, "relu": relu}


def rnn_step(w, activation, h, x):
    return ACT[activation](w["W_h"] @ h + w["W_x"] @ x + w["b_h"])


def lstm_step(w, s, x):
    n = s.shape[0] // 2
    h, c = s[:n], s[n:]
    F = sigmoid(w["W_fh"] @ h + w["W_fx"] @ x + w["b_f"])
    I_ = sigmoid(w["W_ih"] @ h + w["W_ix"] @ x + w["b_i"])
    O = sigmoid(w["W_oh"] @ h + w["W_ox"] @ x + w["b_o"])
    Ct = np.tanh(w["W_ch"] @ h + w["W_cx"] @ x + w["b_c"])
    C = F * c + I_ * Ct
    H = O * np.tanh(C)
    return np.concatenate([H, C])


def gru_step(w, variant, h, x):
    R = sigmoid(w["W_rh"] @ h + w["W_rx"] @ x + w["b_r"])
    Z = sigmoid(w["W_zh"] @ h + w["W_zx"] @ x + w["b_z"])
    if variant == "seed":
        Ht = np.tanh(w["W_hh"] @ (R * h) + w["W_hx"] @ x + w["b_h"])
    else:
        Ht = np.tanh(w["W_hx"] @ x + w["b_h"] + R * (w["W_hh"] @ h + w["b_hn"]))
    return Z * h + (1 - Z) * Ht


def step_function(model):
    """Return f(s, x) for the model, from the named weights only."""
    w = model.weights
    if model.cell == "rnn":
        a = getattr(model, "leak", 1.0)
        if a == 1.0:
            return lambda s, x: rnn_step(w, model.activation, s, x)
        return lambda s, x: (1 - a) * s + a * rnn_step(w, model.activation, s, x)
    if model.cell == "lstm":
        return lambda s, x: lstm_step(w, s, x)
    return lambda s, x: gru_step(w, model.variant, s, x)


def trajectory(model, xs, s0=None):
    f = step_function(model)
    s = np.zeros(model.state_size) if s0 is None else np.asarray(s0, float)
    out = [s]
    for x in xs:
        s = f(s, x)
        out.append(s)
    return np.array(out)


def unrolled(model, xs):
    """s_t -> s_T through all steps of xs (a function of the state at the start of xs)."""
    f = step_function(model)

    def g(s):
        for x in xs:
            s = f(s, x)
        return s

    return g


def complex_step_jacobian(g, s, h=1e-30):
    m = s.shape[0]
    cols = []
    for j in range(m):
        e = np.zeros(m, complex)
        e[j] = 1j * h
        cols.append(np.imag(g(s.astype(complex) + e)) / h)
    return np.stack(cols, axis=1)


def central_difference_jacobian(g, s, h=4e-3):
    """Central differences with two Richardson levels: truncation error O(h^6).

    The steps h, h/2 and h/4 (all powers of two times h) keep the rounding error near
    eps * |g| / h while the h^2 and h^4 terms cancel.
    """
    m = s.shape[0]
    cols = []
    for j in range(m):
        e = np.zeros(m)
        e[j] = 1.0

        def d(step, e=e):
            return (g(s + step * e) - g(s - step * e)) / (2 * step)

        d1, d2, d4 = d(h), d(h / 2), d(h / 4)
        r1 = (4 * d2 - d1) / 3
        r2 = (4 * d4 - d2) / 3
        cols.append((16 * r2 - r1) / 15)
    return np.stack(cols, axis=1)


def suffix_log10_norms(Js, n_block=0):
    """log10 sigma_max of every suffix product J_T ... J_{T-k+1} (k = 0..T), by SVD.

    The product is rescaled by its Frobenius norm at every lag, the scale kept as a log.  With
    ``n_block > 0`` (state (h, c)), also the norms of the two diagonal blocks of the product;
    returns ``(full, h, c)``, the last two None without blocks.  ``-inf`` once the product is
    exactly zero, and for an exactly zero block.
    """
    T, m, _ = Js.shape
    nb = n_block
    P = np.eye(m)
    log_scale = 0.0
    full, h, c = [0.0], [0.0], [0.0]
    for k in range(1, T + 1):
        P = P @ Js[T - k]
        f = np.linalg.norm(P)
        if f == 0:
            for out in (full, h, c):
                out += [-np.inf] * (T - k + 1)
            break
        P = P / f
        log_scale += np.log10(f)
        full.append(log_scale + np.log10(np.linalg.svd(P, compute_uv=False)[0]))
        if nb:
            with np.errstate(divide="ignore"):
                h.append(log_scale + np.log10(np.linalg.svd(P[:nb, :nb], compute_uv=False)[0]))
                c.append(log_scale + np.log10(np.linalg.svd(P[nb:, nb:], compute_uv=False)[0]))
    if not nb:
        return np.array(full), None, None
    return np.array(full), np.array(h), np.array(c)


def renormalised_log10_norms(Js):
    """All-lag log10 spectral norms of J_T ... J_{T-k+1}, rescaled by the Frobenius norm."""
    return suffix_log10_norms(Js)[0]


def step_log10_norms(Js):
    """log10 ||J_t||_2 of every step Jacobian, by LAPACK (``-inf`` for a zero Jacobian)."""
    with np.errstate(divide="ignore"):
        return np.log10(np.linalg.norm(Js, 2, axis=(1, 2)))


def top_eigenvalue(A):
    """sigma_max(A)^2, by SVD."""
    return np.linalg.svd(A, compute_uv=False)[0] ** 2


def symmetric_eigen(H):
    """Eigenvalues of the symmetric ``H``, descending, by LAPACK."""
    return np.linalg.eigvalsh(H)[::-1]


def sensitivity_log10_norms(Js, Jx, n):
    """log10 ||dh_T/ds_{T-k}|| (k = 0..T) and ||dh_T/dx_{T-k}|| (k = 0..T-1), by SVD.

    ``Js[t] = ds_{t+1}/ds_t``, ``Jx[t] = ds_{t+1}/dx`` of row ``t`` of the inputs; the output is
    the hidden state h_T, the first ``n`` entries of the state.  The rows ``dh_T/ds_{T-k}`` are
    rescaled by their Frobenius norm at every lag, the scale kept as a log.
    """
    T, m, _ = Js.shape
    rows = np.eye(m)[:n]
    log_scale = 0.0
    output, inputs = [], []
    for k in range(T + 1):
        if k > 0:
            rows = rows @ Js[T - k]
        f = np.linalg.norm(rows)
        if f == 0:
            output += [-np.inf] * (T + 1 - k)
            inputs += [-np.inf] * (T - k)
            break
        rows = rows / f
        log_scale += np.log10(f)
        output.append(log_scale + np.log10(np.linalg.svd(rows, compute_uv=False)[0]))
        if k < T:
            with np.errstate(divide="ignore"):
                top = np.linalg.svd(rows @ Jx[T - k - 1], compute_uv=False)[0]
                inputs.append(log_scale + np.log10(top))
    return np.array(output), np.array(inputs)


def suffix_log10_norms_at(Js, lags):
    """log10 sigma_max of J_T ... J_{T-k+1} at the chosen lags only, by SVD: ``{k: value}``.

    The same renormalised product as ``suffix_log10_norms``, with an SVD only where asked, for
    sizes where one SVD per lag costs more than the check is worth.
    """
    T, m, _ = Js.shape
    P = np.eye(m)
    log_scale = 0.0
    out = {}
    for k in range(1, T + 1):
        P = P @ Js[T - k]
        f = np.linalg.norm(P)
        P = P / f
        log_scale += np.log10(f)
        if k in lags:
            out[k] = log_scale + np.log10(np.linalg.svd(P, compute_uv=False)[0])
    return out
