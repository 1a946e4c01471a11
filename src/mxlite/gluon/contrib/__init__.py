"""``mx.gluon.contrib``: MXNet 1.9.1's contributed Gluon modules.

``nn``, ``rnn``, ``cnn`` (deformable convolutions), ``data`` (its ``IntervalSampler``) and
``estimator`` (the ``Estimator`` training loop and its event handlers) are provided.
Submodules load on first use, as ``mx.gluon``'s do.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("nn", "rnn", "cnn", "data", "estimator")

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'mxlite.gluon.contrib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
