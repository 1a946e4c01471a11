"""``mx.nd``: imperative n-dimensional arrays (MXNet's NDArray API)."""

from . import random, sparse
from .cached_op import CachedOp
from .ndarray import (
    NDArray,
    add,
    arange,
    array,
    concat,
    concatenate,
    divide,
    empty,
    equal,
    eye,
    from_dlpack,
    from_numpy,
    full,
    greater,
    greater_equal,
    histogram,
    hypot,
    lesser,
    lesser_equal,
    linspace,
    logical_and,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    modulo,
    moveaxis,
    multiply,
    not_equal,
    onehot_encode,
    ones,
    ones_like,
    power,
    split_v2,
    stack,
    subtract,
    to_dlpack_for_read,
    to_dlpack_for_write,
    true_divide,
    waitall,
    zeros,
    zeros_like,
)
from .shape_codes import infer_reshape
from .sparse import CSRNDArray, RowSparseNDArray

__all__ = ["NDArray", "CachedOp", "CSRNDArray", "RowSparseNDArray", "array", "arange", "concat",
           "empty",
           "from_numpy", "full", "moveaxis", "ones", "ones_like", "stack", "waitall", "zeros",
           "zeros_like", "random", "sparse", "infer_reshape", "save", "load", "load_frombuffer",
           "open", "add", "subtract", "multiply", "divide", "true_divide", "modulo", "power",
           "maximum", "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal",
           "lesser", "lesser_equal", "logical_and", "logical_or", "logical_xor", "eye",
           "linspace", "histogram", "split_v2", "onehot_encode", "concatenate", "from_dlpack",
           "to_dlpack_for_read", "to_dlpack_for_write"]

_FROM_UTILS = ("save", "load", "load_frombuffer", "open")
# Operators by registry name or namespace prefix, imported on first use.
_SUBMODULES = ("_internal", "op", "contrib", "linalg", "image")


def __getattr__(name: str):
    # ndarray/utils.py (file I/O) is imported on first use, so mx.nd never depends on it loading.
    # import_module, not "from . import utils": that first asks this very __getattr__ for
    # "utils", which would send it to the operator registry.
    import importlib

    if name in _FROM_UTILS:
        return getattr(importlib.import_module(f"{__name__}.utils"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    from .register import lookup  # mx.nd.<op> for every operator of the registry

    if (fn := lookup(name, globals())) is not None:
        return fn
    raise AttributeError(f"module 'mxlite.ndarray' has no attribute {name!r}")
