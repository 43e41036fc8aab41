"""The phase diagram of a sweep's results lives in :mod:`gradflow.plot.phase_data`."""

from ..plot.phase_data import PhaseCurve, PhaseDiagram, phase_diagram, upward_crossing

__all__ = ["PhaseCurve", "PhaseDiagram", "phase_diagram", "upward_crossing"]
