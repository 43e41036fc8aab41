"""gradflow beside a PyTorch training loop: :class:`Monitor` hooks a recurrent module.

PyTorch is optional: it is imported when a Monitor is made, not when this package is.
"""

from .monitor import Monitor

__all__ = ["Monitor"]
