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
           "zeros_like", "random", "sparse", "infer_reshape", "save", "load", "load_frombuffer"]

_FROM_UTILS = ("save", "load", "load_frombuffer")


def __getattr__(name: str):
    # ndarray/utils.py (file I/O) is imported on first use, so mx.nd never depends on it loading.
    if name in _FROM_UTILS:
        from . import utils

        return getattr(utils, name)
    raise AttributeError(f"module 'mxlite.ndarray' has no attribute {name!r}")
