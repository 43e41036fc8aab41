"""Every claim measured: the evidence computed once, its figures, the verdicts by the rules."""

from dataclasses import dataclass

import numpy as np

from ..analysis._json import value as json_value
from . import cells_evidence as ce
from . import training_evidence as te
from .config import ClaimsConfig
from .rules import verdict
from .statements import ORDER, STATEMENTS

#: Progress notes :func:`gather` gives (one per measurement).
TASKS = 6


@dataclass(frozen=True)
class Evidence:
    """Everything measured for the claims (the report draws its pages from it).

    Attributes
    ----------
    config : ClaimsConfig
    grid : DerivativeGrid
    runs : dict of str to Run
        The matched models on the matched inputs: ``RNN-sigmoid``, ``RNN-tanh``,
        ``RNN-relu``, ``IRNN``, ``LSTM``, ``GRU``, ``GRU b_z`` (its update-gate bias raised).
    small, large : dict of str to Run
        The RNNs at sigma_max = ``small_sigma`` and at gamma * sigma_max = ``large_bound``.
    sweep : GainSweep
    clipping : ClippingPair
    dead : DeadUnits
    parameters : ParameterCounts
    comparison : TrainingComparison
    """

    config: ClaimsConfig
    grid: object
    runs: dict
    small: dict
    large: dict
    sweep: object
    clipping: object
    dead: object
    parameters: object
    comparison: object


def gather(config=None, *, progress=None):
    """Measure all the evidence (seeded: the same config always gives the same numbers).

    Parameters
    ----------
    config : ClaimsConfig, optional
        The documented defaults when omitted.
    progress : callable, optional
        Called with a short note after each measurement.
    """
    config = ClaimsConfig() if config is None else config
    tick = progress or (lambda note: None)
    xs = ce.matched_inputs(config)
    thr = config.threshold
    models = {
        "RNN-sigmoid": ce.rnn(config, "sigmoid"),
        "RNN-tanh": ce.rnn(config, "tanh"),
        "RNN-relu": ce.rnn(config, "relu"),
        "IRNN": ce.rnn(config, "relu", init="identity", gain=1.0),
        "LSTM": ce.lstm(config),
        "GRU": ce.gru(config),
        "GRU b_z": ce.gru(config, update_bias=config.update_gate_bias),
    }
    # the training measurements first: beside a report, whose own analyses compile the decay
    # kernels, this process then loads those from Numba's cache instead of compiling them too
    clipping = te.clipping_pair(config)
    tick("clipping")
    dead = te.dead_units(config)
    tick("dead units")
    comparison = te.training_comparison(config)
    tick("GRU against LSTM")
    runs = {label: ce.measure_run(label, m, xs, thr) for label, m in models.items()}
    small = {f"RNN-{a}": ce.measure_run(a, ce.rnn(config, a, gain=config.small_sigma), xs, thr)
             for a in ("sigmoid", "tanh")}
    large = {}
    for a in ("sigmoid", "tanh", "relu"):
        gain = config.large_bound / models[f"RNN-{a}"].pascanu_gamma()
        large[f"RNN-{a}"] = ce.measure_run(a, ce.rnn(config, a, gain=gain), xs, thr)
    tick("matched runs")
    sweep = ce.gain_sweep(config, xs)
    tick("gain axis")
    counts = ce.parameter_counts(config)
    tick("parameter counts")
    return Evidence(config=config, grid=ce.derivative_grid(config), runs=runs, small=small,
                    large=large, sweep=sweep, clipping=clipping, dead=dead, parameters=counts,
                    comparison=comparison)


def _run_row(run, sweep=None):
    row = run.figures()
    row["sigma_max"] = float(np.linalg.norm(run.model["W_h"], 2)) if "W_h" in \
        run.model.weights else None
    if sweep is not None:
        row["crossing_gain"] = sweep.crossing_gain(run.model.kind)
    return row


def _derivative_claim(ev, name):
    doc = ev.grid.figures(name)
    run = ev.runs[f"RNN-{name}"]
    doc["claimed_max"] = 0.25 if name == "sigmoid" else 1.0
    doc["max_on_run"] = run.gates["H"].summary.maximum
    doc["mean_on_run"] = run.gates["H"].summary.mean
    return doc


def _gated(ev):
    t = ev.config.threshold
    lstm, gru, biased = ev.runs["LSTM"], ev.runs["GRU"], ev.runs["GRU b_z"]
    return {
        "rnn_tanh": ev.runs["RNN-tanh"].figures(),
        "lstm": {**lstm.figures(), **ce.path_figures(lstm, t),
                 "forget_gate_mean": float(np.mean(lstm.gate_values["F"]))},
        "gru": {**gru.figures(), "update_gate_mean": float(np.mean(gru.gate_values["Z"]))},
        "gru_update_bias": {**biased.figures(), "b_z": ev.config.update_gate_bias,
                            "update_gate_mean": float(np.mean(biased.gate_values["Z"]))},
        "configuration": ev.config.matched() | {"forget_bias": ev.config.forget_bias},
    }


def _comparison(ev):
    c, cfg = ev.comparison, ev.config
    gru, lstm = c.steps_to_target("gru"), c.steps_to_target("lstm")
    late = cfg.compare_steps + 1
    pairs = [(late if g is None else g, late if s is None else s) for g, s in zip(gru, lstm,
                                                                                  strict=True)]
    g_wins = sum(g < s for g, s in pairs)
    l_wins = sum(s < g for g, s in pairs)
    trials = g_wins + l_wins
    return {
        "seeds": list(c.seeds), "target_loss": c.target, "baseline": c.baseline,
        "steps_to_target": {"gru": gru, "lstm": lstm},
        "mean_eval_loss": {cell: [float(np.nanmean(r)) for r in c.eval_loss[cell]]
                           for cell in ("gru", "lstm")},
        "parameters": c.parameters,
        "gru_faster_seeds": g_wins, "lstm_faster_seeds": l_wins,
        "ties": len(pairs) - trials,
        "sign_test_p_gru": te.sign_test(g_wins, trials),
        "sign_test_p_lstm": te.sign_test(l_wins, trials),
        "configuration": {"task": cfg.compare_task, "length": cfg.compare_length,
                          "hidden": cfg.compare_hidden, "steps": cfg.compare_steps,
                          "optimizer": "adam", "lr": cfg.compare_lr, "init": "pytorch",
                          "batch": cfg.compare_batch, "eval_batch": te.EVAL_BATCH},
    }


def figures(ev):
    """``id -> measured`` for every claim: the figures and the configuration behind them."""
    cfg, thr = ev.config, ev.config.threshold
    matched = cfg.matched()
    tanh, relu = ev.runs["RNN-tanh"], ev.runs["RNN-relu"]
    dead = ev.dead
    large_lr, small_lr = cfg.dead_lrs
    counts = ev.parameters.counts
    first = {k: v[0] for k, v in counts.items()}
    return {
        "rnn_long_term_dependency": {**tanh.figures(), "threshold": thr, "steps": cfg.steps,
                                     "configuration": matched},
        "sigmoid_derivative_max": _derivative_claim(ev, "sigmoid"),
        "tanh_derivative_max": _derivative_claim(ev, "tanh"),
        "derivatives_mostly_below_one": {
            "fraction_in_open_unit_interval": {
                k: float(np.mean((ev.runs[k].gates["H"].slope > 0)
                                 & (ev.runs[k].gates["H"].slope < 1)))
                for k in ("RNN-sigmoid", "RNN-tanh")},
            "configuration": matched},
        "vanishing_small_w": {
            "sigma_max": cfg.small_sigma,
            "decay_factor": ev.small["RNN-tanh"].decay.decay_factor,
            "models": {k: _run_row(r) for k, r in ev.small.items()},
            "configuration": matched | {"gain": cfg.small_sigma}},
        "exploding_large_w": {
            "gamma_sigma_max": cfg.large_bound,
            "decay_factor": ev.large["RNN-tanh"].decay.decay_factor,
            "models": {k: _run_row(ev.large[k], ev.sweep) for k in ("RNN-sigmoid", "RNN-tanh")},
            "configuration": matched | {"gain": "gamma * sigma_max = "
                                        f"{cfg.large_bound:g}"}},
        "relu_alleviates_vanishing": {
            "tanh_orthogonal": tanh.figures(), "relu_orthogonal": relu.figures(),
            "relu_identity": ev.runs["IRNN"].figures(),
            "configuration": matched | {"identity": "W_h = I (Le, Jaitly & Hinton 2015)"}},
        "relu_dead_units": {
            "zero_derivative_fraction": relu.zero_derivative_fraction("H"),
            "dead_units_on_run": len(relu.gates["H"].summary.dead_units),
            "dead_at_init": float(np.mean(dead.at_init)),
            "dead_after_large_lr": float(np.mean(dead.after[large_lr])),
            "dead_after_small_lr": float(np.mean(dead.after[small_lr])),
            "dead_by_seed": {"init": list(dead.at_init),
                             **{f"lr {k:g}": list(v) for k, v in dead.after.items()}},
            "large_lr": large_lr, "small_lr": small_lr, "hidden": dead.hidden,
            "seeds": len(dead.seeds),
            "configuration": {"task": cfg.clip_task, "length": cfg.clip_length,
                              "steps": cfg.dead_steps, "optimizer": "adam",
                              "clip": cfg.clip_threshold, "init": cfg.init}},
        "relu_explodes_large_w": {**_run_row(ev.large["RNN-relu"], ev.sweep),
                                  "configuration": matched},
        "clipping_bounds_the_step": {
            "threshold": ev.clipping.threshold,
            "unclipped": ev.clipping.figures("unclipped"),
            "clipped": ev.clipping.figures("clipped"),
            "configuration": {"cell": "rnn", "activation": "tanh", "task": cfg.clip_task,
                              "length": cfg.clip_length, "hidden": cfg.clip_hidden,
                              "steps": cfg.clip_steps, "optimizer": "sgd", "lr": cfg.clip_lr,
                              "init": "orthogonal", "gain": cfg.clip_gain,
                              "clip_method": "norm", "seed": cfg.seed}},
        "gated_cells_additive_path": _gated(ev),
        "parameters_independent_of_length": {
            "lengths": list(ev.parameters.lengths), "counts": {k: list(v)
                                                               for k, v in counts.items()},
            "parameters_change": max(max(v) - min(v) for v in counts.values()),
            "configuration": {"hidden": cfg.hidden, "inputs": cfg.inputs,
                              "counted": "entries of the BPTT weight gradient"}},
        "gru_fewer_parameters": {
            "counts": {k: first[k] for k in first if k.startswith(("LSTM", "GRU"))},
            "formulas": {k: v for k, v in ev.parameters.formulas.items()
                         if k.startswith(("LSTM", "GRU"))},
            "ratio": first["GRU"] / first["LSTM"], "hidden": cfg.hidden, "inputs": cfg.inputs},
        "gru_converges_faster": _comparison(ev),
        "lstm_more_expressive_on_large_data": {
            "why": "needs models trained to convergence on large data sets of growing size; "
                   "no short, honest test of it fits here"},
    }


@dataclass(frozen=True)
class Claim:
    """One claim of the notes with its measured figures and verdict."""

    id: str
    statement: str
    measured: dict
    verdict: str
    reason: str

    def to_dict(self):
        """``{id, statement, measured, verdict, reason}``."""
        return {"id": self.id, "statement": self.statement, "measured": self.measured,
                "verdict": self.verdict, "reason": self.reason}


@dataclass(frozen=True)
class ClaimsResult:
    """Every claim, and the evidence behind them."""

    claims: tuple
    evidence: Evidence

    def __getitem__(self, claim_id):
        return next(c for c in self.claims if c.id == claim_id)

    def to_dict(self):
        """``{"claims": [...]}``."""
        return {"claims": [c.to_dict() for c in self.claims]}


def _plain(doc):
    if isinstance(doc, dict):
        return {str(k): _plain(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [_plain(v) for v in doc]
    return json_value(doc)


def claims(config=None, *, evidence=None, progress=None):
    """Measure every claim of the seed notes and give each its verdict.

    Parameters
    ----------
    config : ClaimsConfig, optional
        Sizes, seeds and budgets (the documented defaults when omitted).
    evidence : Evidence, optional
        Already gathered (then ``config`` is ignored).
    progress : callable, optional
        Called with a note after each measurement.

    Returns
    -------
    ClaimsResult
        ``claims``: one :class:`Claim` per id of
        :data:`~gradflow.claims.statements.STATEMENTS`, in the notes' order.
    """
    ev = gather(config, progress=progress) if evidence is None else evidence
    measured = figures(ev)
    out = []
    for claim_id in ORDER:
        doc = _plain(measured[claim_id])
        result, reason = verdict(claim_id, doc)
        out.append(Claim(claim_id, STATEMENTS[claim_id], doc, result, reason))
    return ClaimsResult(claims=tuple(out), evidence=ev)
