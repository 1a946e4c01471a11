"""``mx.nd``: imperative n-dimensional arrays (MXNet's NDArray API)."""

from . import random, sparse
from .ndarray import (
    NDArray,
    arange,
    array,
    concat,
    empty,
    from_numpy,
    full,
    moveaxis,
    ones,
    ones_like,
    stack,
    waitall,
    zeros,
    zeros_like,
)
from .shape_codes import infer_reshape
from .sparse import CSRNDArray, RowSparseNDArray

__all__ = ["NDArray", "CSRNDArray", "RowSparseNDArray", "array", "arange", "concat", "empty",
           "from_numpy", "full", "moveaxis", "ones", "ones_like", "stack", "waitall", "zeros",
           "zeros_like", "random", "sparse", "infer_reshape", "save", "load", "load_frombuffer",
           "open"]

_FROM_UTILS = ("save", "load", "load_frombuffer", "open")


def __getattr__(name: str):
    # ndarray/utils.py (file I/O) is imported on first use, so mx.nd never depends on it loading.
    if name in _FROM_UTILS:
        # import_module, not "from . import utils": that first asks this very __getattr__
        # for "utils", which would send it to the operator registry.
        import importlib

        return getattr(importlib.import_module(f"{__name__}.utils"), name)
    from .register import lookup  # mx.nd.<op> for every operator of the registry

    if (fn := lookup(name, globals())) is not None:
        return fn
    raise AttributeError(f"module 'mxlite.ndarray' has no attribute {name!r}")
