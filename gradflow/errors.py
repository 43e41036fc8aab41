"""The one exception type that gradflow raises for bad input, and how its messages begin."""


class GradflowError(ValueError):
    """Bad input: a file, an array, an option or a request gradflow cannot honour.

    The message names the thing, the rule and the value, e.g.
    ``"W.npz: W_ch has shape (8, 7); expected (8, 8) for hidden size 8"``.
    """


class TrajectoryOverflowError(GradflowError):
    """The forward trajectory left the float64 range.

    Attributes
    ----------
    step : int
        The 1-based time step whose state first held a non-finite value.
    """

    def __init__(self, message, step):
        super().__init__(message)
        self.step = step


class GradientOverflowError(GradflowError):
    """The backward pass left the float64 range although its inputs were finite.

    Attributes
    ----------
    step : int or None
        The step t whose state gradient ``dL/ds_t`` first (going backwards) held a
        non-finite value; None when only a sum over the steps overflowed.
    """

    def __init__(self, message, step=None):
        super().__init__(message)
        self.step = step


def source_prefix(source):
    """``"W.npz: "`` for a thing read from the file ``W.npz``, else ``""``: a message's start."""
    return f"{source}: " if source else ""


def named(model):
    """:func:`source_prefix` of a model (cell or network).

    Every message about a model's numbers begins with it, so a failure names the file behind it.
    """
    return source_prefix(getattr(model, "source", None))
