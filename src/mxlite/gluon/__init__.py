"""``mx.gluon``: MXNet's imperative neural-network API (Blocks, Parameters, Trainer, data).

Submodules load on first use, so ``import mxlite`` stays light and a script that never touches
Gluon never pays for it.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("nn", "rnn", "loss", "utils", "data", "model_zoo", "contrib")
_NAMES = {
    "Parameter": "parameter", "Constant": "parameter", "ParameterDict": "parameter",
    "DeferredInitializationError": "parameter",
    "Block": "block", "HybridBlock": "block", "SymbolBlock": "block",
    "Trainer": "trainer",
}

__all__ = [*_NAMES, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    mod = _NAMES.get(name)
    if mod is not None:
        return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    raise AttributeError(f"module 'mxlite.gluon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
