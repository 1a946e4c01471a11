"""``mx.contrib``: MXNet's contributed APIs that mxlite carries (``mx.contrib.onnx``,
``mx.contrib.autograd``, and the contrib operators as ``mx.contrib.ndarray`` /
``mx.contrib.symbol``, aliased ``nd`` / ``sym`` as in MXNet)."""

from . import autograd, ndarray, onnx, symbol
from . import ndarray as nd
from . import symbol as sym

__all__ = ["autograd", "onnx", "ndarray", "symbol", "nd", "sym"]
