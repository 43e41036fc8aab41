"""A cell's options: the named settings beside its weights (activation, variant, leak).

A stored option is written to the weights file as a 0-d array and read back; an init option
(LSTM's ``forget_bias``) only shapes the initial weights.  Each option validates its own
values, so the CLI, the sweep grids and the loaders all say the same thing about them.
"""

from dataclasses import dataclass

from .. import validation

__all__ = ["Option"]


@dataclass(frozen=True)
class Option:
    """One named setting of a cell.

    Attributes
    ----------
    name : str
        The keyword (``activation``), the weights-file key and the CLI flag (``--activation``).
    default : object
        The value when none is given (None for init options that add nothing by default).
    choices : tuple of str, optional
        The allowed values of a choice option; None for a numeric one.
    minimum, maximum : float, optional
        Bounds of a numeric option; ``low_open`` / ``high_open`` make them strict.
    integer : bool
        A whole-number option (LSTM ``proj_size``); real-valued otherwise.
    stored : bool
        Written to and read from the weights file (False: shapes the initial weights only).
    help : str
        One line for ``--help``.
    """

    name: str
    default: object
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    low_open: bool = False
    high_open: bool = False
    stored: bool = True
    help: str = ""
    integer: bool = False

    @property
    def is_choice(self):
        """Whether the option takes one of a fixed set of strings."""
        return self.choices is not None

    def check(self, value, *, prefix=""):
        """Return ``value`` in canonical form (str or float), or raise naming the option."""
        name = f"{prefix}{self.name}"
        if self.is_choice:
            return validation.choice(value, name, self.choices)
        if self.integer:
            return validation.integer(value, name, minimum=self.minimum, maximum=self.maximum)
        return validation.real(value, name, minimum=self.minimum, maximum=self.maximum,
                               low_open=self.low_open, high_open=self.high_open)

    def parse(self, text, *, prefix=""):
        """Read the option from text (a CLI value, a grid entry, a file's 0-d array)."""
        if self.is_choice:
            return self.check(str(text), prefix=prefix)
        try:
            value = int(text) if self.integer and not isinstance(text, float) else float(text)
        except (TypeError, ValueError):
            value = text
        return self.check(value, prefix=prefix)
