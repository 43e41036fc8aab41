"""Numba kernels: forward steps, exact per-step Jacobians, VJPs and the chains built on them.

Nothing here validates its input or is public; the cells and the analysis layer call in.

Per cell: ``rnn``, ``lstm``, ``gru`` (step, Jacobian, VJP), behind ``dispatch`` (the cell's
``kernel_id``, called ``cell_id`` in every kernel signature).  Chains over time:
``trajectory`` (input projections, forward runs, Jacobian stacks), ``suffix_products``
(all-lag norms of ``ds_T/ds_{T-k}``), ``step_norms`` (norms of single steps), ``lyapunov``
(QR re-orthonormalisation), ``bptt`` (the backward recursion and the weight gradients),
``regulariser`` (Pascanu's norm ratios) and ``floss`` (the QR chain's backpropagation for
gradient flossing, on the per-cell second-order pieces ``floss_rnn``, ``floss_lstm``,
``floss_gru`` behind ``floss_cells``).  Shared pieces: ``norm_estimator`` (certified
spectral norms), ``scaling`` (exact power-of-two rescaling), ``_common`` and ``_jit`` (the
one compile policy).
"""
