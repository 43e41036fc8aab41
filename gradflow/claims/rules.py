"""The verdict of every claim: a small pure rule per claim, reading only its measured figures.

``RULES[id](measured) -> (verdict, reason)``.  Nothing here measures; the tests feed the rules
synthetic figures both ways.
"""

#: The verdicts, strongest first.
VERDICTS = ("holds", "holds-with-conditions", "does-not-hold", "not-measured")
#: Relative slack of a supremum check (the measured max against the notes' bound).
TOLERANCE = 1e-12
#: The sign-test level at which one cell converges faster than the other.
SIGNIFICANCE = 0.05


def _derivative_range(m):
    low, high, bound = m["min_derivative"], m["max_derivative"], m["claimed_max"]
    inside = low >= 0.0 and high <= bound * (1 + TOLERANCE)
    inside = inside and m["max_on_run"] <= bound * (1 + TOLERANCE)
    if inside and high >= bound * (1 - 1e-9):
        return "holds", f"max f' = {high:.6g} at z = {m['at_z']:g}, min {low:.3g} >= 0"
    if inside:
        return ("holds-with-conditions",
                f"f' stays in [0, {bound:g}] but its max {high:.6g} on the grid is below it")
    return "does-not-hold", f"f' reaches {high:.6g} (min {low:.3g}), outside [0, {bound:g}]"


def _long_term(m):
    k = m["gradient_horizon"]
    if k is None:
        return "does-not-hold", f"the gradient stays above {m['threshold']:g} for all lags"
    return "holds", (f"||dh_T/dh_(T-k)|| falls below {m['threshold']:g} at k = {k} of "
                     f"{m['steps']} (factor {m['decay_factor']:.3f} per step)")


def _mostly_below_one(m):
    shares = m["fraction_in_open_unit_interval"]
    low = min(shares.values())
    text = ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
    if low > 0.5:
        return "holds", f"share of f' in (0, 1): {text}"
    return "does-not-hold", f"share of f' in (0, 1): {text}"


def _factors(m):
    return {label: row["decay_factor"] for label, row in m["models"].items()}


def _vanishing(m):
    factors = _factors(m)
    text = ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in factors.items())
    if all(v is not None and v < 1.0 for v in factors.values()):
        return "holds", f"decay factor per step at sigma_max = {m['sigma_max']:g}: {text}"
    return "does-not-hold", f"a factor is not below 1: {text}"


def _exploding(m):
    factors = _factors(m)
    grows = {k: v is None or v > 1.0 for k, v in factors.items()}
    text = ", ".join(f"{k} {'> float64' if v is None else f'{v:.3f}'}"
                     for k, v in factors.items())
    where = f"at gamma * sigma_max = {m['gamma_sigma_max']:g}"
    crossing = [f"{k} at sigma_max {row['crossing_gain']:.3g}" for k, row in m["models"].items()
                if row.get("crossing_gain") is not None]
    if crossing:
        text += "; the factor reaches 1 for " + ", ".join(crossing)
    if all(grows.values()):
        return "holds", f"factor per step {where}: {text}"
    if any(grows.values()):
        return "holds-with-conditions", f"only some grow {where}: {text}"
    return "does-not-hold", f"no factor above 1 {where}: {text}"


def _relu_alleviates(m):
    t, o, i = (m[k]["decay_factor"] for k in ("tanh_orthogonal", "relu_orthogonal",
                                              "relu_identity"))
    text = f"tanh {t:.3f}, relu orthogonal {o:.3f}, relu identity (IRNN) {i:.3f} per step"
    if o > t and i > t:
        return "holds", text
    if i > t:
        return "holds-with-conditions", "only with identity recurrence (IRNN): " + text
    if o > t:
        return "holds-with-conditions", "only with orthogonal recurrence: " + text
    return "does-not-hold", text


def _dead_units(m):
    zero = m["zero_derivative_fraction"]
    large, small = m["dead_after_large_lr"], m["dead_after_small_lr"]
    text = (f"f' = 0 at {zero:.0%} of unit-steps; dead units after training "
            f"(mean of {m['seeds']} seeds): {large:.3g} at lr {m['large_lr']:g}, {small:.3g} at lr "
            f"{m['small_lr']:g} (of {m['hidden']})")
    if large > 0 or small > 0:
        if small < large:
            return "holds", text
        return "holds-with-conditions", "a small learning rate does not help here: " + text
    if zero > 0:
        return "holds-with-conditions", "units are off at times but none stays dead: " + text
    return "does-not-hold", text


def _relu_explodes(m):
    f = m["decay_factor"]
    text = (f"factor per step {'> float64' if f is None else f'{f:.3f}'} at sigma_max = "
            f"{m['sigma_max']:g}")
    if f is None or f > 1.0:
        return "holds", text
    return "does-not-hold", text


def _clipping(m):
    c, u, k = m["threshold"], m["unclipped"], m["clipped"]
    bounded = k["max_step_norm"] is not None and k["max_step_norm"] <= c * (1 + TOLERANCE)
    finite = not k["diverged"] and k["final_loss"] is not None
    blew_up = u["diverged"] or u["final_loss"] is None or (
        u["max_loss"] is not None and u["max_loss"] > 1e3 * u["first_loss"])
    final_u = "not finite" if u["final_loss"] is None else f"{u['final_loss']:.3g}"
    final_k = "not finite" if k["final_loss"] is None else f"{k['final_loss']:.3g}"
    text = (f"unclipped: max ||g|| {u['max_grad_norm'] or float('inf'):.3g}, final loss "
            f"{final_u}; clipped at c = {c:g}: steps with ||g|| <= {k['max_step_norm'] or 0:.3g}"
            f", final loss {final_k}")
    if bounded and finite and blew_up:
        return "holds", text
    if bounded and finite:
        return "holds-with-conditions", "the unclipped twin did not blow up: " + text
    return "does-not-hold", text


def _gated(m):
    t = m["rnn_tanh"]["decay_factor"]
    rows = {"LSTM cell path": m["lstm"]["cell_path"]["decay_factor"],
            "GRU": m["gru"]["decay_factor"],
            f"GRU b_z = {m['gru_update_bias']['b_z']:g}": m["gru_update_bias"]["decay_factor"]}
    beats = {k: v is not None and v > t for k, v in rows.items()}
    text = f"factor per step: tanh RNN {t:.3f}, " + ", ".join(
        f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in rows.items())
    if beats["LSTM cell path"] and beats["GRU"]:
        return "holds", text
    if any(beats.values()):
        kept = m["gru"]["update_gate_mean"]
        return ("holds-with-conditions",
                f"as far as the gate keeps the state (mean Z {kept:.2f} at b_z = 0): " + text)
    return "does-not-hold", text


def _parameters_length(m):
    change = m["parameters_change"]
    lengths = ", ".join(str(T) for T in m["lengths"])
    if change == 0:
        return "holds", f"gradient entries identical at T = {lengths} for every cell"
    return "does-not-hold", f"the count changes by {change} across T = {lengths}"


def _gru_fewer(m):
    lstm = m["counts"]["LSTM"]
    others = {k: v for k, v in m["counts"].items() if k.startswith("GRU")}
    text = f"LSTM {lstm:,}, " + ", ".join(f"{k} {v:,}" for k, v in others.items()) + \
        f" at n = {m['hidden']}, d = {m['inputs']}"
    if all(v < lstm for v in others.values()):
        return "holds", text
    return "does-not-hold", text


def _gru_faster(m):
    g, l_, ties = m["gru_faster_seeds"], m["lstm_faster_seeds"], m["ties"]
    p_gru, p_lstm = m["sign_test_p_gru"], m["sign_test_p_lstm"]
    text = (f"steps to loss < {m['target_loss']:.3g}: GRU first on {g}, LSTM on {l_}, ties "
            f"{ties} of {g + l_ + ties} seeds (sign test p = {min(p_gru, p_lstm):.3g})")
    if p_gru < SIGNIFICANCE:
        return "holds", text
    if p_lstm < SIGNIFICANCE:
        return "does-not-hold", "LSTM converges faster: " + text
    return "does-not-hold", "no difference beyond seed noise: " + text


def _not_measured(m):
    return "not-measured", m["why"]


#: ``id -> rule``; every claim of :data:`gradflow.claims.statements.STATEMENTS` has one.
RULES = {
    "rnn_long_term_dependency": _long_term,
    "sigmoid_derivative_max": _derivative_range,
    "tanh_derivative_max": _derivative_range,
    "derivatives_mostly_below_one": _mostly_below_one,
    "vanishing_small_w": _vanishing,
    "exploding_large_w": _exploding,
    "relu_alleviates_vanishing": _relu_alleviates,
    "relu_dead_units": _dead_units,
    "relu_explodes_large_w": _relu_explodes,
    "clipping_bounds_the_step": _clipping,
    "gated_cells_additive_path": _gated,
    "parameters_independent_of_length": _parameters_length,
    "gru_fewer_parameters": _gru_fewer,
    "gru_converges_faster": _gru_faster,
    "lstm_more_expressive_on_large_data": _not_measured,
}


def verdict(claim_id, measured):
    """``(verdict, reason)`` of claim ``claim_id`` from its measured figures."""
    return RULES[claim_id](measured)
