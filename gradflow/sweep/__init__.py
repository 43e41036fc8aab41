"""Parameter sweeps: a grid of cells, one analysed row per point, resumable, on any executor.

One concern per module:

* :mod:`~gradflow.sweep.grid`: the grid syntax (``--grid`` strings and TOML specs);
* :mod:`~gradflow.sweep.store`: the results file (CSV or Parquet), appended as points finish;
* :mod:`~gradflow.sweep.executors`: where points run (this process, local processes, Dask);
* :mod:`~gradflow.sweep.progress`: the progress line on stderr;
* :mod:`~gradflow.sweep.runner`: :func:`run_sweep`, which ties them together.

What one point computes is :func:`gradflow.analysis.sweep.evaluate_point`, a pure function.
"""
