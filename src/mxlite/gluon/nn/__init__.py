"""``mx.gluon.nn``: neural-network layers."""

from ..block import *
from .activations import *
from .basic_layers import *
from .conv_layers import *
