"""Analyses on top of the kernels: pure functions returning small frozen result objects."""
