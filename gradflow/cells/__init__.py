"""The cells and their registry: name -> class."""

from .base import Cell
from .gru import GRU, VARIANTS
from .lstm import LSTM
from .rnn import RNN

#: Cell classes by the name written in weights files.
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

__all__ = ["CELLS", "GRU", "LSTM", "RNN", "VARIANTS", "Cell"]
