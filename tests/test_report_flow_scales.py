"""Flow maps in the report, the dashboard and the gallery: each panel on its own colour scale."""

import numpy as np
import pytest

import gradflow as gf
from gradflow.report.data import collect


@pytest.fixture(scope="module")
def reports():
    xs = np.random.default_rng(0).standard_normal((40, 3))
    models = [("RNN-tanh", gf.RNN.init(6, 3, init="gaussian", gain=0.6, seed=0)),
              ("LSTM", gf.LSTM.init(6, 3, seed=0, forget_bias=2.0))]
    return collect(models, lambda model: xs, flow_ends=10)


def _own_range(r):
    """The finite range of the map's values, by hand."""
    values = np.ma.filled(r.flow.log10_norm2.astype(float), np.nan)
    values = values[np.isfinite(values)]
    return values.min(), values.max()


def _scales(fig):
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "start time t (step)"]
    return [ax.collections[0].norm for ax in maps], len(fig.axes) - len(maps)


@pytest.mark.parametrize("figure", ["gallery", "page", "dashboard"])
def test_each_flow_map_has_its_own_scale_and_bar(reports, figure):
    from gradflow.report.gallery import flow_map_figure
    from gradflow.report.pages import dashboard, flow_map_page

    draw = {"gallery": flow_map_figure, "page": flow_map_page,
            "dashboard": lambda r: dashboard(r, "test")}[figure]
    norms, others = _scales(draw(reports))
    assert len(norms) == 2
    for norm, r in zip(norms, reports, strict=True):
        lo, hi = _own_range(r)
        assert (norm.vmin, norm.vmax) == pytest.approx((lo, hi), rel=1e-12)
    lows = sorted(norm.vmin for norm in norms)
    assert lows[0] < lows[1] - 1  # the two cells decay differently: one scale would hide it
    assert others >= 2  # a colour bar per map (the dashboard has more panels besides)
