"""MXNet 1.9.1's legacy symbolic recurrent network package, ``mx.rnn``: cells that build
unrolled RNN symbols, the bucketing sentence iterator, and checkpoints with unpacked weights.
"""

from .. import initializer as _initializer
from . import io, rnn, rnn_cell
from .io import *
from .rnn import *
from .rnn_cell import *

# MXNet defines the FusedRNN initializer in mx.init; it needs FusedRNNCell, so it lives here
# and is registered (as "fusedrnn") and exposed under mx.init once this package loads.
_initializer.FusedRNN = rnn_cell.FusedRNN
