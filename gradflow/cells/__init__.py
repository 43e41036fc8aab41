"""The cells, their registry (name -> class) and their weights file."""

from .base import Cell
from .files import load, save_cell
from .gru import GRU, VARIANTS
from .lstm import LSTM
from .options import Option
from .registry import CELLS, cell_class, configuration, configurations, register, unregister
from .rnn import RNN

__all__ = ["CELLS", "GRU", "LSTM", "RNN", "VARIANTS", "Cell", "Option", "cell_class",
           "configuration", "configurations", "load", "register", "save_cell", "unregister"]
