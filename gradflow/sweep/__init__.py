"""Parameter sweeps: a grid of cells, one analysed row per point, resumable, on any executor.

One concern per module:

* :mod:`~gradflow.sweep.point`: one point (a cell configuration, sizes, seed, trajectory),
  its key and the cell it builds, every cell fact read from the registry;
* :mod:`~gradflow.sweep.evaluate`: :func:`evaluate_point`, what one point computes (a pure
  function);
* :mod:`~gradflow.sweep.schema`: the columns of a row and their types;
* :mod:`~gradflow.sweep.values`: one axis's values from text (lists and ranges);
* :mod:`~gradflow.sweep.grid` and :mod:`~gradflow.sweep.spec`: the grid, from a ``--grid``
  string or a TOML spec;
* :mod:`~gradflow.sweep.store`: the results file (CSV or Parquet), appended as points finish;
* :mod:`~gradflow.sweep.executors`: where points run (this process, local processes, Dask);
* :mod:`~gradflow.sweep.runner`: :func:`run_sweep`, which ties them together (its progress
  bar is :mod:`gradflow.progress`).
"""
