"""MXNet's ``2bit`` gradient compression (``src/kvstore/gradient_compression``).

Each pushed gradient is added to a residual kept per key and per source; where the residual
reaches ``threshold`` the value sent is ``+threshold`` (and ``threshold`` leaves the residual),
where it reaches ``-threshold`` the value sent is ``-threshold``, elsewhere 0. The receiver sums
the dequantized values. mxlite computes the dequantized values directly (the 16-values-per-word
packing MXNet sends over the wire changes no number), so the sums and the residuals are
MXNet's; only the bytes moved between processes are not reduced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import KVStoreError

__all__ = ["GradientCompression"]


class GradientCompression:
    """The ``2bit`` compressor with its residuals (``{'type': '2bit', 'threshold': t}``)."""

    def __init__(self, params: Mapping[str, Any]):
        if not isinstance(params, Mapping):
            raise KVStoreError(f"compression_params must be a dict, got "
                               f"{type(params).__name__}")
        params = dict(params)
        if "type" not in params:
            raise KVStoreError("compression_params: required parameter 'type' (a string, "
                               "'2bit') is not given")
        ctype = str(params.pop("type"))
        if ctype != "2bit":
            raise KVStoreError(f"Unknown type for gradient compression {ctype}; mxlite "
                               "supports '2bit' (as MXNet 1.9.1)")
        try:
            self.threshold = float(params.pop("threshold", 0.5))
        except (TypeError, ValueError):
            raise KVStoreError("compression_params: threshold must be a number") from None
        if not self.threshold > 0:
            raise KVStoreError(f"compression_params: threshold must be greater than 0, got "
                               f"{self.threshold}")
        if params:
            raise KVStoreError(f"compression_params: unknown parameters {sorted(params)}")
        self.type = ctype
        self._residuals: dict[Any, np.ndarray] = {}

    def params(self) -> dict[str, Any]:
        return {"type": self.type, "threshold": self.threshold}

    def quantize(self, slot: Any, grad: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the dequantized 2-bit value of ``grad`` (plus the residual of ``slot``) into
        ``out`` and keep the new residual."""
        res = self._residuals.get(slot)
        if res is None or res.shape != grad.shape:
            res = self._residuals[slot] = np.zeros(grad.shape, np.float32)
        res += grad
        t = np.float32(self.threshold)
        pos = res >= t
        neg = res <= -t
        out[...] = 0
        out[pos] = t
        out[neg] = -t
        res -= out
        return out
