"""A bidirectional network's headline reads each direction in its own time, not a V shape."""

import numpy as np

import gradflow as gf
from gradflow.analysis.sensitivity import sensitivities


def _bidirectional(gain=0.9, n=6, d=3):
    fwd = gf.GRU.init(n, d, variant="reset_after", gain=gain, seed=1)
    rev = gf.GRU.init(n, d, variant="reset_after", gain=gain, seed=2)
    return gf.Network([(fwd, rev)]), fwd, rev


def test_each_part_of_h_n_is_its_cells_own_sensitivity_in_one_layer():
    net, fwd, rev = _bidirectional()
    xs = np.random.default_rng(0).standard_normal((50, 3))
    seen = sensitivities(net, xs)
    np.testing.assert_allclose(seen.output_directions[0], sensitivities(fwd, xs).output,
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(seen.output_directions[1], sensitivities(rev, xs[::-1]).output,
                               rtol=0, atol=1e-9)
    # the whole output curve is the V: high at both ends, low in the middle
    assert seen.output[0] == seen.output[-1] == max(seen.output) and seen.output[25] < -2


def test_the_headline_reads_the_forward_direction_not_the_v():
    net, fwd, _ = _bidirectional()
    xs = np.random.default_rng(0).standard_normal((50, 3))
    r = gf.decay(net, xs)
    alone = gf.decay(fwd, xs)
    assert r.verdict == alone.verdict == "vanishing"
    assert r.decay_factor == alone.decay_factor and r.gradient_horizon == alone.gradient_horizon
    assert any("its reverse part, against the state k steps before the reverse end, reads "
               "vanishing" in s for s in r.interpretation)
    batch = gf.decay(net, np.stack([xs, xs[::-1], 0.5 * xs]))
    assert batch.summary.verdict == "vanishing"
    assert any("its reverse part" in s for s in batch.summary.interpretation)


def test_two_layers_each_part_of_h_n_falls_along_its_own_direction():
    """Two layers: h_n's forward part depends on the reverse cells too; its curve decays."""
    net, _, _ = _bidirectional(gain=0.8, n=4)
    top = gf.Network([net.layers[0], tuple(gf.GRU.init(4, 8, variant="reset_after", gain=0.8,
                                                       seed=s) for s in (3, 4))])
    xs = np.random.default_rng(1).standard_normal((40, 3))
    seen = sensitivities(top, xs)
    forward, reverse = seen.output_directions
    assert np.all(np.diff(forward[5:]) < 0.05)  # no V: it keeps falling back in time
    assert np.all(np.diff(reverse[5:]) < 0.05)
    # the whole output is the larger of the two parts at every lag (within sqrt 2)
    both = np.maximum(forward, reverse[::-1])
    assert np.all(seen.output >= both - 1e-9) and np.all(seen.output <= both + np.log10(2) / 2)
