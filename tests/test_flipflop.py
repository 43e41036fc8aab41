"""The 3-bit flip-flop task, and the memories and saddles of a network trained on it."""

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner

import gradflow as gf
from gradflow.cli import main
from gradflow.training.tasks import FlipFlop, make_task


def test_targets_hold_the_sign_of_the_last_pulse_on_each_channel():
    task = FlipFlop(80)
    xs, targets = task.sample(np.random.default_rng(0), 20)
    assert xs.shape == targets.shape == (20, 80, 3)
    assert set(np.unique(xs)) <= {-1.0, 0.0, 1.0}
    for b, k in itertools.product(range(20), range(3)):
        held = 0.0
        for t in range(80):
            if xs[b, t, k] != 0:
                held = xs[b, t, k]
            assert targets[b, t, k] == held
    assert 0.02 < np.mean(xs != 0) < 0.08  # sparse: 5% of the (step, channel) pairs
    assert make_task("flipflop", 80) == task


def test_the_baseline_is_the_loss_of_answering_zero():
    task = FlipFlop(50)
    _, targets = task.sample(np.random.default_rng(1), 4000)
    loss, _, _ = task.loss(np.zeros_like(targets), targets)
    assert loss == pytest.approx(task.baseline, abs=0.01)
    assert task.baseline == pytest.approx(np.mean([1 - 0.95 ** t for t in range(1, 51)]))


def test_the_loss_gradient_matches_finite_differences():
    task = FlipFlop(6)
    xs, targets = task.sample(np.random.default_rng(2), 3)
    outputs = np.random.default_rng(3).standard_normal(targets.shape)
    _, grad, _ = task.loss(outputs, targets)
    numeric = np.empty_like(outputs)
    for index in np.ndindex(outputs.shape):
        e = np.zeros_like(outputs)
        e[index] = 1e-6
        numeric[index] = (task.loss(outputs + e, targets)[0]
                          - task.loss(outputs - e, targets)[0]) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-10)


def test_cli_trains_on_the_flipflop_task(tmp_path):
    out = tmp_path / "w.npz"
    r = CliRunner().invoke(main, ["train", "--cell", "rnn", "--task", "flipflop", "--length",
                                  "20", "--hidden", "6", "--steps", "4", "--batch", "4",
                                  "-q", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    document = json.loads(r.stdout)
    assert document["task"]["name"] == "flipflop" and document["task"]["bits"] == 3
    assert gf.load(out).inputs == 3


def naive_step(model, h):
    return np.tanh(model["W_h"] @ h + model["b_h"])


def difference_jacobian(model, h, step=1e-5):
    """Central differences of the input-free step map, column by column (Richardson)."""
    n = h.size
    out = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0

        def d(s, e=e):
            return (naive_step(model, h + s * e) - naive_step(model, h - s * e)) / (2 * s)

        out[:, j] = (4 * d(step / 2) - d(step)) / 3
    return out


@pytest.fixture(scope="module")
def trained():
    from gradflow.training.loop import train

    result = train("rnn", "flipflop", 100, 32, 3000, batch=32, lr=0.005, clip=1.0, seed=1,
                   init="gaussian", gain=0.9, eval_batch=64, threads=1)
    return result.model, result.history


@pytest.mark.slow
def test_a_trained_network_settles_its_memories_on_stable_points_with_saddles_between(trained):
    """Every pulse pattern, relaxed without input, lands on a stable point the search found,
    and every stable point found is such a memory.

    How many of the eight patterns keep distinct attractors depends on the trained weights,
    which differ in the last bits from one machine's BLAS to another's over 3000 steps: a
    pattern may be held over the task's horizon by a slow point (Sussillo & Barak 2013) that
    drifts to a neighbouring attractor later, so the patterns are relaxed for 20 000 steps.
    """
    model, history = trained
    assert history["snapshots"][-1]["eval_loss"] < 0.1 * FlipFlop(100).baseline
    pulses, _ = FlipFlop(200).sample(np.random.default_rng(5), 16)
    result = gf.fixed_points(model, starts=512, inputs=pulses)
    stable = [p for p in result.fixed if p.stable]
    stable_states = np.array([p.state for p in stable])
    reached = set()
    for signs in itertools.product((-1.0, 1.0), repeat=3):
        xs = np.zeros((20000, 3))
        xs[0] = signs
        relaxed = model.run(xs)[-1]
        distances = np.linalg.norm(stable_states - relaxed, axis=1)
        assert distances.min() < 1e-6, (signs, distances.min())
        reached.add(int(distances.argmin()))
    assert len(reached) == len(stable) >= 4
    saddles = [p for p in result.fixed if p.unstable_dimensions == 1]
    assert saddles
    # each point's eigenvalues against numpy's of an independent Jacobian of the step map
    for point in result.fixed:
        reference = np.linalg.eigvals(difference_jacobian(model, point.state))
        for value in reference:
            assert np.abs(point.eigenvalues - value).min() < 1e-6
        assert point.unstable_dimensions == int(np.sum(np.abs(reference) > 1))
