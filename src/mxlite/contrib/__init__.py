"""``mx.contrib``: MXNet's contributed APIs that mxlite carries (``mx.contrib.onnx``)."""

from . import onnx

__all__ = ["onnx"]
