"""Training recurrent cells on long-dependency tasks, with the gradients from exact BPTT.

``tasks``: the adding problem and the copy-memory task; ``optim``: Adam and plain SGD in
numpy; ``network``: the cell plus its linear readout, with the loss and gradients of a batch
(through :mod:`gradflow.analysis.bptt`); ``snapshots``: the evaluation loss, the decay curve and
the per-lag gradient mass at intervals; ``history``: the per-step trace and the history
document; ``loop``: :func:`~gradflow.training.loop.train`, which runs the steps.
"""
