"""ONNX export and import: ``mx.onnx.export_model`` as in MXNet 1.9.1, ``mx.onnx.import_model``.

Needs the ``onnx`` package (``pip install 'mxlite[onnx]'``); it is imported on first use, so
``import mxlite`` works without it.
"""

from ._export import export_model, get_operator_support
from ._import import get_model_metadata, import_model

__all__ = ["export_model", "get_operator_support", "import_model", "get_model_metadata"]
