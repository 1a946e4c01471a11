"""``mx.gluon.rnn``: recurrent layers (fused, on the ``RNN`` operator) and cells (one step at a
time, unrolled in Python), as MXNet 1.9.1."""

from .rnn_cell import *  # noqa: F403
from .rnn_cell import __all__ as _cell_all
from .rnn_layer import *  # noqa: F403
from .rnn_layer import __all__ as _layer_all

__all__ = [*_cell_all, *_layer_all]
