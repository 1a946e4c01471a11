"""``mx.contrib.onnx``: MXNet's older home of the ONNX exporter and importer.

The same functions as :mod:`mxlite.onnx`; ``export_model`` keeps its MXNet 1.x signature.
"""

from ..onnx import export_model, get_model_metadata, get_operator_support, import_model

__all__ = ["export_model", "import_model", "get_model_metadata", "get_operator_support"]
