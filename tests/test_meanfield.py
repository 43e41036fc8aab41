"""Mean-field theory (gf.mean_field, gradflow theory) against independent references.

The references here share nothing with gradflow.analysis.meanfield: the Gaussian integrals are
trapezoid sums on a fine grid (spectrally accurate for these smooth, Gaussian-damped
integrands), q* is found by plain iteration of the variance map, and the activations are
written out with numpy.  The measured Lyapunov exponents come from gradflow's own QR sweep on
real 1024-unit networks.
"""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main

#: z grid of the reference integrals: |z| <= 12, spacing 6e-5 (a feature of width 1/sqrt(q)
#: = 0.1 at g = 10 spans ~1700 points).
#: z = 0 is exactly a node, where relu' jumps.
SPACING = 6e-5
Z = np.arange(-200_000, 200_001) * SPACING
WEIGHT = np.exp(-0.5 * Z * Z) * SPACING / math.sqrt(2.0 * math.pi)

F = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),
    "relu": lambda a: np.maximum(a, 0.0),
}
DF = {
    "tanh": lambda a: 1.0 / np.cosh(np.minimum(np.abs(a), 300.0)) ** 2,
    "sigmoid": lambda a: 0.25 / np.cosh(np.minimum(np.abs(0.5 * a), 300.0)) ** 2,
    "relu": lambda a: (a > 0).astype(float),
}


def expect(function, q):
    """E_z[function(sqrt(q) z)] by the trapezoid rule on the grid (endpoints are ~1e-32)."""
    return float(np.dot(WEIGHT, function(math.sqrt(q) * Z)))


def reference(gain, s2, activation):
    """(q*, chi) by iterating q <- g^2 E[f(sqrt(q) z)^2] + s2 from q = 1 to convergence."""
    f, df = F[activation], DF[activation]
    q = 1.0
    for _ in range(20_000):
        new = gain**2 * expect(lambda a: f(a) ** 2, q) + s2
        if abs(new - q) <= 1e-14 * max(1.0, q):
            q = new
            break
        q = new
    else:  # pragma: no cover - a reference that does not converge is a broken test
        raise AssertionError("reference iteration did not converge")
    return q, gain**2 * expect(lambda a: df(a) ** 2, q)


CASES = [
    ("tanh", 1.5, 0.0), ("tanh", 2.0, 0.0), ("tanh", 3.0, 0.0), ("tanh", 10.0, 0.0),
    ("tanh", 0.5, 0.5), ("tanh", 2.0, 0.5), ("tanh", 10.0, 2.0), ("tanh", 3.0, 10.0),
    ("sigmoid", 1.0, 0.0), ("sigmoid", 10.0, 0.0), ("sigmoid", 4.0, 1.0), ("sigmoid", 20.0, 0.3),
]


@pytest.mark.parametrize(("activation", "gain", "s2"), CASES)
def test_q_chi_lambda_match_an_independent_quadrature(activation, gain, s2):
    q, chi = reference(gain, s2, activation)
    mf = gf.mean_field(gain, input_variance=s2, activation=activation)
    assert isinstance(mf, gf.MeanFieldResult)
    assert (mf.gain, mf.input_variance, mf.activation) == (gain, s2, activation)
    assert mf.q == pytest.approx(q, rel=1e-9, abs=1e-12)
    assert mf.chi == pytest.approx(chi, rel=1e-9)
    assert mf.lambda_1 == pytest.approx(0.5 * math.log(chi), abs=1e-9)
    assert not mf.trivial and mf.bounded
    if chi < 1:
        assert mf.timescale == pytest.approx(-1.0 / math.log(chi), rel=1e-8)
        assert mf.phase == "ordered"
    else:
        assert mf.timescale is None and mf.phase == "chaotic"


def test_a_low_order_gauss_hermite_rule_would_fail_at_g_10():
    # guards the reference itself: a 20-node rule is off by far more than the tolerance
    nodes, weights = np.polynomial.hermite_e.hermegauss(20)
    q, chi = reference(10.0, 0.0, "tanh")
    rough = 100.0 * np.dot(weights, DF["tanh"](math.sqrt(q) * nodes) ** 2) / math.sqrt(2 * math.pi)
    assert abs(rough - chi) > 1e-3
    assert gf.mean_field(10.0).chi == pytest.approx(chi, rel=1e-9)


@pytest.mark.parametrize("gain", [0.1, 0.5, 0.9, 1.0])
def test_tanh_below_the_critical_gain_without_input_is_the_zero_state(gain):
    mf = gf.mean_field(gain)
    assert mf.q == 0.0 and mf.trivial
    assert mf.chi == pytest.approx(gain**2, rel=1e-15)
    assert mf.lambda_1 == pytest.approx(math.log(gain), abs=1e-15)
    assert mf.critical_gain == 1.0
    if gain < 1:
        assert mf.timescale == pytest.approx(-1.0 / (2.0 * math.log(gain)), rel=1e-14)
    else:
        assert mf.timescale is None and mf.phase == "critical"


def test_tanh_critical_gain_is_one_without_input_and_chaos_starts_there():
    assert gf.mean_field(2.0).critical_gain == 1.0
    above = gf.mean_field(1.001)
    assert above.q > 0 and not above.trivial and above.chi > 1
    # near g = 1: q* ~ (g^2 - 1) / 2 (expand E tanh^2(sqrt(q) z) = q - 2 q^2 + ...)
    assert above.q == pytest.approx((1.001**2 - 1) / 2, rel=5e-3)


@pytest.mark.parametrize(("activation", "s2"), [("tanh", 0.1), ("tanh", 1.0), ("tanh", 10.0),
                                                ("sigmoid", 0.0), ("sigmoid", 1.0)])
def test_critical_gain_is_where_the_reference_chi_crosses_one(activation, s2):
    g_c = gf.mean_field(1.0, input_variance=s2, activation=activation).critical_gain
    assert reference(g_c, s2, activation)[1] == pytest.approx(1.0, abs=1e-8)
    # the first crossing: below it, chi < 1 on a grid from the derivative bound 1/sup f' up
    start = 1.0 / gf.activation_bound(activation).gamma
    for g in np.linspace(start, g_c, 6)[:-1]:
        assert reference(g, s2, activation)[1] < 1.0
    assert reference(1.02 * g_c, s2, activation)[1] > 1.0


def test_critical_gain_rises_with_input_variance():
    values = [gf.mean_field(1.0, input_variance=s2).critical_gain
              for s2 in (0.0, 0.01, 0.1, 1.0, 10.0, 100.0)]
    assert values[0] == 1.0
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


@pytest.mark.parametrize(("gain", "s2"), [(0.5, 0.0), (1.0, 0.0), (1.0, 0.5), (1.3, 2.0)])
def test_relu_closed_forms(gain, s2):
    mf = gf.mean_field(gain, input_variance=s2, activation="relu")
    assert mf.chi == pytest.approx(gain**2 / 2, rel=1e-15)
    # relu'^2 is the unit step; its midpoint at the node z = 0 keeps the trapezoid sum exact
    assert mf.chi == pytest.approx(gain**2 * expect(lambda a: np.heaviside(a, 0.5), 1.0),
                                   rel=1e-9)
    assert mf.lambda_1 == pytest.approx(math.log(gain / math.sqrt(2)), abs=1e-15)
    assert mf.q == pytest.approx(s2 / (1 - gain**2 / 2), rel=1e-14)
    assert mf.trivial == (s2 == 0)
    assert mf.critical_gain == pytest.approx(math.sqrt(2), rel=1e-15)


@pytest.mark.parametrize(("gain", "s2"), [(2.0, 0.0), (1.5, 0.3), (math.sqrt(2) * 1.0001, 0.0),
                                          (math.sqrt(2), 1.0)])
def test_relu_beyond_the_critical_gain_diverges_with_chi_still_defined(gain, s2):
    mf = gf.mean_field(gain, input_variance=s2, activation="relu")
    assert mf.q == math.inf and not mf.bounded and mf.phase == "unbounded"
    assert mf.chi == pytest.approx(gain**2 / 2, rel=1e-15)
    assert mf.timescale is None
    doc = mf.to_dict()
    assert doc["q"] is None and doc["timescale"] is None
    json.dumps(doc, allow_nan=False)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"gain": 0.0}, "gain must be > 0; got 0.0"),
    ({"gain": -1}, "gain must be > 0; got -1"),
    ({"gain": math.inf}, "gain must be finite; got inf"),
    ({"gain": math.nan}, "gain must be finite; got nan"),
    ({"gain": "2"}, "gain must be a real number; got '2'"),
    ({"gain": 1.0, "input_variance": -0.1}, "input_variance must be >= 0; got -0.1"),
    ({"gain": 1.0, "input_variance": math.inf}, "input_variance must be finite; got inf"),
    ({"gain": 1.0, "activation": "softplus"},
     "activation must be one of tanh, sigmoid, relu; got 'softplus'"),
])
def test_bad_arguments_raise_naming_the_parameter(kwargs, message):
    with pytest.raises(gf.GradflowError) as info:
        gf.mean_field(**kwargs)
    assert str(info.value) == message


def test_result_is_frozen():
    mf = gf.mean_field(2.0)
    with pytest.raises(AttributeError):
        mf.q = 1.0


# -- the theory against measured Lyapunov exponents of 1024-unit networks ---------------------

def measured_lambda_1(gain, xs, seed, s0=None):
    model = gf.RNN.init(1024, xs.shape[1], init="gaussian", gain=gain, seed=seed)
    return gf.lyapunov(model, xs, s0, k=1, warmup=100).lambda_1


@pytest.mark.parametrize("gain", [2.0, 3.0])
def test_measured_lambda_1_of_random_tanh_networks_matches_the_theory(gain):
    s0 = np.random.default_rng(7).standard_normal(1024)
    measured = measured_lambda_1(gain, np.zeros((300, 1)), seed=11, s0=s0)
    assert measured == pytest.approx(gf.mean_field(gain).lambda_1, abs=0.02)


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_standard_normal_inputs_are_input_variance_one(gain):
    # W_x ~ N(0, 1/d) and x ~ N(0, I): each pre-activation gets variance 1 from the input
    xs = np.random.default_rng(3).standard_normal((300, 32))
    measured = measured_lambda_1(gain, xs, seed=5)
    assert measured == pytest.approx(gf.mean_field(gain, input_variance=1.0).lambda_1, abs=0.02)


# -- gradflow theory ----------------------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


KEYS = {"q", "chi", "lambda_1", "critical_gain", "timescale", "gain", "input_variance",
        "activation"}


def test_theory_json_is_one_document_with_the_contract_keys():
    r = invoke("theory", "--gain", 2, "--json")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\n") == 1
    doc = json.loads(r.stdout)
    assert KEYS <= set(doc)
    q, chi = reference(2.0, 0.0, "tanh")
    assert doc["q"] == pytest.approx(q, rel=1e-9)
    assert doc["chi"] == pytest.approx(chi, rel=1e-9)
    assert doc["lambda_1"] == pytest.approx(0.5 * math.log(chi), abs=1e-9)
    assert doc["critical_gain"] == 1.0 and doc["timescale"] is None
    assert (doc["gain"], doc["input_variance"], doc["activation"]) == (2.0, 0.0, "tanh")


def test_theory_json_with_options_and_without_finite_values():
    r = invoke("theory", "--gain", 0.5, "--input-variance", 0.5, "--activation", "sigmoid",
               "--json")
    doc = json.loads(r.stdout)
    assert doc["activation"] == "sigmoid" and doc["input_variance"] == 0.5
    assert doc["timescale"] == pytest.approx(-1.0 / math.log(doc["chi"]), rel=1e-12)
    r = invoke("theory", "--gain", 3, "--activation", "relu", "--json")
    assert r.exit_code == 0
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout
    doc = json.loads(r.stdout)
    assert doc["q"] is None and doc["chi"] == 4.5 and doc["phase"] == "unbounded"


def test_theory_human_table():
    r = invoke("theory", "--gain", 2, "--input-variance", 1)
    assert r.exit_code == 0 and r.stderr == ""
    for word in ("q*", "chi", "lambda_1", "critical gain", "timescale", "chaotic"):
        assert word in r.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--gain", -1), 1, "Error: gain must be > 0; got -1.0"),
    (("--gain", "nan"), 1, "Error: gain must be finite; got nan"),
    (("--gain", 1, "--input-variance", -2), 1, "Error: input_variance must be >= 0; got -2.0"),
    (("--gain", 1, "--activation", "step"), 1,
     "Error: activation must be one of tanh, sigmoid, relu; got 'step'"),
    ((), 2, "Error: Missing option '--gain'."),
    (("--gain", "big"), 2, "Error: Invalid value for '--gain'"),
])
def test_theory_errors(args, code, message):
    r = invoke("theory", *args, "--json")
    assert r.exit_code == code
    assert r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(message)
    if code == 1:
        assert r.stderr.strip().splitlines() == [message]
