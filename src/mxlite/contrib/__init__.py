"""``mx.contrib``: MXNet's contributed APIs that mxlite carries (``mx.contrib.onnx``,
``mx.contrib.autograd``)."""

from . import autograd, onnx

__all__ = ["autograd", "onnx"]
