"""The cells, their registry (name -> class), networks of them, and their files."""

from .base import Cell
from .files import load
from .formats import save_cell, save_network
from .gru import GRU, VARIANTS
from .lstm import LSTM
from .network import Network
from .options import Option
from .registry import CELLS, cell_class, configuration, configurations, register, unregister
from .rnn import RNN

__all__ = ["CELLS", "GRU", "LSTM", "RNN", "VARIANTS", "Cell", "Network", "Option", "cell_class",
           "configuration", "configurations", "load", "register", "save_cell",
           "save_network", "unregister"]
