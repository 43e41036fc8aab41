"""Numba kernels: forward steps, exact per-step Jacobians, VJPs and the chains built on them.

Nothing here validates its input or is public; the cells and the analysis layer call in.
"""
