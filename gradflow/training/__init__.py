"""Training recurrent cells on long-dependency tasks, with the gradients from exact BPTT.

``tasks``: the adding problem and the copy-memory task; ``optim``: Adam and plain SGD in
numpy; ``loop``: the training loop that records, step by step, the loss, the gradient norm
before clipping and whether it was clipped, and at intervals the decay curve and the
per-lag gradient mass.
"""
