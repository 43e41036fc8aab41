"""Analyses on top of the kernels: pure functions returning small frozen result objects.

Every analysis of a run takes either ``(model, xs, s0)`` or one :class:`Trajectory`, built by
:func:`gradflow.analysis.trajectory.trajectory` (``gf.trajectory``), which checks the inputs
and runs the cell once for all of them.
"""

from .trajectory import Trajectory

__all__ = ["Trajectory"]
