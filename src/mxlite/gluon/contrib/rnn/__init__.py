"""``mx.gluon.contrib.rnn``: MXNet 1.9.1's contributed recurrent cells (convolutional RNN,
LSTM and GRU cells, ``LSTMPCell``, ``VariationalDropoutCell``) and ``dynamic_unroll``."""

from . import conv_rnn_cell, rnn_cell
from .conv_rnn_cell import *  # noqa: F403
from .rnn_cell import *  # noqa: F403

__all__ = [*conv_rnn_cell.__all__, *rnn_cell.__all__]
