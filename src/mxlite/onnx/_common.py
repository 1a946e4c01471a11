"""What the exporter and importer share: the lazy ``onnx`` import and the opset range."""

from __future__ import annotations

from typing import Any

from ..base import MXNetError

#: The oldest opset the converters are written for (MXNet 1.9.1's exporter starts there too).
MIN_OPSET = 12


def require_onnx() -> Any:
    """The ``onnx`` module, or an MXNetError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise MXNetError("ONNX support needs the onnx package: pip install 'mxlite[onnx]'"
                         ) from None
    return onnx


def max_opset() -> int:
    """The newest default-domain opset the installed onnx package knows."""
    return int(require_onnx().defs.onnx_opset_version())


def check_opset(opset_version: int | None) -> int:
    top = max_opset()
    if opset_version is None:
        return top
    if isinstance(opset_version, bool) or not isinstance(opset_version, int):
        raise MXNetError(f"opset_version must be an int, got {opset_version!r}")
    if not MIN_OPSET <= opset_version <= top:
        raise MXNetError(f"opset_version={opset_version} is outside the supported range "
                         f"{MIN_OPSET}..{top} (the newest the installed onnx package knows)")
    return opset_version
