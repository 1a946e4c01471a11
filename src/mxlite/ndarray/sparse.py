"""Sparse NDArrays (``mx.nd.sparse``): row_sparse and CSR storage on numpy buffers.

A sparse array keeps its stored values in ``_data`` and its index arrays in ``_aux``, in the
order MXNet's array records store them: ``(indices,)`` for row_sparse, ``(indptr, indices)``
for csr; ``shape`` is the logical (dense) shape. Index arrays are int64, as in MXNet.

Operators (``mx.nd.<op>``, the arithmetic operators, ``mx.nd.sparse.<op>``) give the storage
type MXNet 1.9.1's storage-type inference gives: zero-preserving elementwise operators and
scalar operators whose result keeps zeros at zero (``x * 2``, ``x > 0``, ``x == 1``) work on
the stored values and keep the input's storage type; ``slice`` / ``take`` / ``concat`` of csr
arrays, ``retain`` of row_sparse arrays, sums of row_sparse arrays and a few ``dot`` forms give
sparse results; everything else falls back to the dense array and gives a dense result
(MXNet's storage fallback). Casting between row_sparse and csr is refused, as MXNet 1.9.1
refuses it.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..base import MXNetError, NotSupportedForSparseNDArray
from ..context import Context
from .ndarray import (
    NDArray,
    NDArrayIndexError,
    NDArrayTypeError,
    NDArrayValueError,
    _as_ctx,
    _as_dtype,
    _as_shape,
)
from .ndarray import zeros as _dense_zeros

__all__ = ["BaseSparseNDArray", "RowSparseNDArray", "CSRNDArray", "row_sparse_array",
           "csr_matrix", "zeros", "empty", "array", "cast_storage", "add", "subtract",
           "multiply", "divide"]

_INDEX = np.dtype(np.int64)


class BaseSparseNDArray(NDArray):
    """What row_sparse and csr arrays share: logical shape, dense fallback, printing."""

    _aux: tuple[np.ndarray, ...]

    def __init__(self, data: np.ndarray | None, aux: tuple, shape: Any, ctx: Context | None):
        super().__init__(data, ctx)
        self._aux = aux
        self._shape = None if shape is None else _as_shape(shape)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    def __repr__(self) -> str:
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    __str__ = __repr__

    def _dense(self) -> np.ndarray:
        raise NotImplementedError

    def asnumpy(self) -> np.ndarray:
        """The dense values as a new numpy array."""
        try:
            return self._dense()
        except (IndexError, ValueError):
            # Only an array whose index arrays check_format would refuse gets here (the
            # constructors take them unchecked, as MXNet's do); say what is wrong with it.
            self.check_format(full_check=True)
            raise

    def check_format(self, full_check: bool = True) -> None:
        """Check that the array's index arrays describe a valid sparse array, as MXNet's
        ``check_format``; raises MXNetError saying what is wrong.

        ``full_check=False`` checks only the shapes of the stored arrays (O(1)); ``True``
        (the default) also checks the index values (O(nnz)): row_sparse ``indices``
        non-negative, below ``shape[0]`` and strictly ascending; csr ``indptr`` starting at
        0, non-decreasing and ending at the number of stored values, and each row's column
        ``indices`` non-negative, below ``shape[1]`` and strictly ascending.
        """
        from ..formats.arrays import sparse_problem

        problem = self._shape_problem()
        if problem is None and full_check:
            problem = sparse_problem(self.stype, self.shape, self._data.shape[0], self._aux)
        if problem is not None:
            raise MXNetError(f"check_format: invalid {self.stype} NDArray: {problem}")

    def _shape_problem(self) -> str | None:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self._dense()
        return out if dtype is None else out.astype(dtype)

    def __bool__(self) -> bool:
        return NDArray(self._dense(), self._ctx).__bool__()

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def _num_aux(self) -> int:
        """The number of index (auxiliary) arrays: 1 for row_sparse, 2 for csr."""
        return len(self._aux)

    @property
    def _aux_types(self) -> list[np.dtype]:
        """The dtypes of the index arrays (int64, as in MXNet)."""
        return [a.dtype for a in self._aux]

    def _aux_type(self, i: int) -> np.dtype:
        """The dtype of index array ``i``."""
        return self._aux[i].dtype

    def _aux_data(self, i: int) -> NDArray:
        """A copy of index array ``i`` as an NDArray (row_sparse: 0 = indices; csr: 0 =
        indptr, 1 = indices)."""
        return NDArray(self._aux[i].copy(), self._ctx)

    def _at(self, idx: Any) -> NDArray:
        raise NotSupportedForSparseNDArray(self._at, "[idx]", idx)

    def _slice(self, start: Any, stop: Any) -> NDArray:
        raise NotSupportedForSparseNDArray(self._slice, None, start, stop)

    def astype(self, dtype: Any, copy: bool = True) -> BaseSparseNDArray:
        dt = _as_dtype(dtype)
        if not copy and dt == self._data.dtype:
            return self
        return type(self)._make(self._data.astype(dt), tuple(a.copy() for a in self._aux),
                                self.shape, self._ctx)

    def detach(self) -> BaseSparseNDArray:
        """This array (values and indices shared, not copied, storage type kept) without its
        gradient buffer."""
        return type(self)._make(self._data, self._aux, self.shape, self._ctx)

    def copy(self) -> BaseSparseNDArray:
        return type(self)._make(self._data.copy(), tuple(a.copy() for a in self._aux),
                                self.shape, self._ctx)

    def copyto(self, other: NDArray | Context) -> NDArray:
        if isinstance(other, Context):
            out = self.copy()
            out._ctx = other
            return out
        if isinstance(other, NDArray):
            if other is self:
                return self
            if other.shape != self.shape:
                raise MXNetError(f"copyto: target shape {other.shape} differs from source "
                                 f"shape {self.shape}")
            converted = cast_storage(NDArray(self._dense(), self._ctx), other.stype)
            other._data = converted._data.astype(other._data.dtype)
            if isinstance(other, BaseSparseNDArray):
                other._aux = converted._aux
            return other
        raise TypeError(f"copyto does not support type {type(other)}")

    def __setitem__(self, key: Any, value: Any) -> None:
        if not (isinstance(key, slice) and key == slice(None)):
            raise MXNetError(f"{type(self).__name__} only supports assignment to [:], "
                             f"got key {key!r}")
        if isinstance(value, NDArray):
            dense = value.asnumpy()
        else:
            dense = np.broadcast_to(np.asarray(value), self.shape)
        if dense.shape != self.shape:
            raise NDArrayValueError(f"cannot assign shape {dense.shape} to a "
                                    f"{type(self).__name__} of shape {self.shape}")
        converted = cast_storage(NDArray(dense.astype(self._data.dtype), self._ctx), self.stype)
        self._data, self._aux = converted._data, converted._aux

    @classmethod
    def _make(cls, data, aux, shape, ctx):
        raise NotImplementedError


def _zeros_to_fill(arr: BaseSparseNDArray) -> np.ndarray:
    """The zero dense array a sparse one densifies into; MXNetError when it cannot exist
    (a logical shape larger than memory, which a sparse array may well have)."""
    try:
        return np.zeros(arr.shape, arr._data.dtype)
    except (MemoryError, ValueError) as e:
        nbytes = arr._data.dtype.itemsize
        for d in arr.shape:
            nbytes *= d
        raise MXNetError(f"cannot densify a {arr.stype} array of shape {arr.shape} "
                         f"({arr._data.dtype}, {nbytes} bytes dense): {e}") from None


def _densified(arr: BaseSparseNDArray) -> NDArray:
    """The dense copy a fallback works on. While autograd records, it is made by the
    ``cast_storage`` operator (an identity for gradients), so the gradient reaches ``arr`` as
    it does through MXNet's storage fallback."""
    from .. import autograd
    from .register import make_function

    if autograd.is_recording():
        return make_function("cast_storage")(arr, stype="default")
    return NDArray(arr._dense(), arr._ctx)


def _dense_fallback(name: str):
    def method(self, *args, **kwargs):
        return getattr(_densified(self), name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on the dense array (MXNet's storage fallback)."
    return method


for _name in ("sum", "mean", "max", "min", "reshape", "transpose", "expand_dims", "flatten",
              "squeeze", "broadcast_to", "__float__", "__int__", "asscalar", "__iter__"):
    setattr(BaseSparseNDArray, _name, _dense_fallback(_name))

# The arithmetic operators run the operator MXNet's Python frontend picks (ndarray.py's
# _ufunc_helper and sparse.py's add / subtract / multiply): an ``elemwise_*`` operator for two
# arrays of one shape where MXNet's sparse frontend uses one, a ``broadcast_*`` operator for
# other arrays, a ``_*_scalar`` operator for a number. The operator decides the storage type
# of the result. While autograd records, they take the dense fallback.
_ARITH = {
    # name: (operator for same-shape arrays, for other arrays, for a scalar)
    "__add__": ("elemwise_add", "broadcast_add", "_plus_scalar"),
    "__sub__": ("elemwise_sub", "broadcast_sub", "_minus_scalar"),
    "__mul__": ("elemwise_mul", "broadcast_mul", "_mul_scalar"),
    "__truediv__": (None, "broadcast_div", "_div_scalar"),
    "__mod__": (None, "broadcast_mod", "_mod_scalar"),
    "__pow__": (None, "broadcast_power", "_power_scalar"),
    "__eq__": (None, "broadcast_equal", "_equal_scalar"),
    "__ne__": (None, "broadcast_not_equal", "_not_equal_scalar"),
    "__lt__": (None, "broadcast_lesser", "_lesser_scalar"),
    "__le__": (None, "broadcast_lesser_equal", "_lesser_equal_scalar"),
    "__gt__": (None, "broadcast_greater", "_greater_scalar"),
    "__ge__": (None, "broadcast_greater_equal", "_greater_equal_scalar"),
    "__radd__": (None, None, "_plus_scalar"),
    "__rsub__": (None, None, "_rminus_scalar"),
    "__rmul__": (None, None, "_mul_scalar"),
    "__rtruediv__": (None, None, "_rdiv_scalar"),
    "__rmod__": (None, None, "_rmod_scalar"),
    "__rpow__": (None, None, "_rpower_scalar"),
}


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.integer, np.floating, np.bool_))


def _arith(name: str, same_op: str | None, array_op: str | None, scalar_op: str):
    fallback = _dense_fallback(name)

    def method(self, other):
        from .. import autograd
        from .register import make_function

        if autograd.is_recording():
            return fallback(self, other)
        if isinstance(other, NDArray) and array_op is not None:
            op = same_op if same_op is not None and other.shape == self.shape else array_op
            return make_function(op)(self, other)
        if _is_scalar(other):
            return make_function(scalar_op)(self, scalar=other)
        return fallback(self, other)

    method.__name__ = name
    method.__doc__ = f"``{name}``: MXNet's operator for it, which decides the result's stype."
    return method


def _unary(name: str, op_name: str):
    fallback = _dense_fallback(name)

    def method(self):
        from .. import autograd
        from .register import make_function

        if autograd.is_recording():
            return fallback(self)
        return make_function(op_name)(self)

    method.__name__ = name
    method.__doc__ = f"``{name}``: operator ``{op_name}`` (keeps the storage type)."
    return method


for _name, _ops in _ARITH.items():
    setattr(BaseSparseNDArray, _name, _arith(_name, *_ops))
BaseSparseNDArray.__neg__ = _unary("__neg__", "negative")
BaseSparseNDArray.__abs__ = _unary("__abs__", "abs")
BaseSparseNDArray.__hash__ = NDArray.__hash__


def _inplace(name: str, binary: str):
    def method(self, other):
        # MXNet's CSRNDArray / RowSparseNDArray: (self <op> other).copyto(self)
        if not self.writable:
            raise MXNetError(f"{name}: trying to modify a read-only {type(self).__name__}")
        if not isinstance(other, NDArray):
            # MXNet would also take a number (densifying the array when the scalar operator
            # does); mxlite refuses it, so that a sparse array is never densified in place.
            raise MXNetError(f"in-place {name} on a {type(self).__name__} takes an NDArray "
                             f"operand, got {type(other).__name__}")
        getattr(self, binary)(other).copyto(self)
        return self

    method.__name__ = name
    method.__doc__ = f"In-place ``{binary}``: the result is copied into this array's storage."
    return method


for _name, _binary in (("__iadd__", "__add__"), ("__isub__", "__sub__"),
                       ("__imul__", "__mul__"), ("__itruediv__", "__truediv__")):
    setattr(BaseSparseNDArray, _name, _inplace(_name, _binary))
BaseSparseNDArray.__idiv__ = BaseSparseNDArray.__itruediv__
BaseSparseNDArray.__div__ = BaseSparseNDArray.__truediv__
BaseSparseNDArray.__rdiv__ = BaseSparseNDArray.__rtruediv__


def _refuse_inplace(name: str):
    def method(self, other):
        raise MXNetError(f"in-place {name} on a {type(self).__name__} is not supported")

    return method


BaseSparseNDArray.__imod__ = _refuse_inplace("__imod__")


class RowSparseNDArray(BaseSparseNDArray):
    """Rows ``indices`` of a dense array stored as ``data`` (shape ``(len(indices),) + shape[1:]``).

    ``RowSparseNDArray(data, indices, shape, ctx=None)`` wraps numpy arrays without copying.
    """

    def __init__(self, data: np.ndarray | None = None, indices: np.ndarray | None = None,
                 shape: Any = None, ctx: Context | None = None):
        super().__init__(data, (indices,) if indices is not None else (), shape, ctx)

    @classmethod
    def _make(cls, data, aux, shape, ctx):
        return cls(data, aux[0], shape, ctx)

    @property
    def stype(self) -> str:
        return "row_sparse"

    @property
    def data(self) -> NDArray:
        return NDArray(self._data, self._ctx)

    @property
    def indices(self) -> NDArray:
        return NDArray(self._aux[0], self._ctx)

    def _dense(self) -> np.ndarray:
        idx = self._aux[0]
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
            self.check_format(full_check=True)  # numpy would wrap a negative index
        out = _zeros_to_fill(self)
        out[idx] = self._data
        return out

    def _shape_problem(self) -> str | None:
        (idx,) = self._aux
        if idx.ndim != 1 or self._data.ndim < 1 or idx.shape[0] != self._data.shape[0]:
            return (f"shape mismatch: {idx.shape} indices for stored values of shape "
                    f"{self._data.shape}; expected one index per stored row")
        return None

    def __getitem__(self, key: Any) -> NDArray:
        if isinstance(key, slice) and key == slice(None):
            return self
        raise MXNetError(f"RowSparseNDArray only supports [:] for reading, got key {key!r}")

    def tostype(self, stype: str) -> NDArray:
        return cast_storage(self, stype)

    def retain(self, *args: Any, **kwargs: Any) -> RowSparseNDArray:
        """Fluent ``mx.nd.sparse.retain(self, indices)``: the rows ``indices`` of this array."""
        from .register import make_function

        return make_function("_sparse_retain", "retain")(self, *args, **kwargs)


class CSRNDArray(BaseSparseNDArray):
    """A 2-D array in compressed sparse row form: ``data``, column ``indices``, ``indptr``.

    ``CSRNDArray(data, indptr, indices, shape, ctx=None)`` wraps numpy arrays without copying.
    """

    def __init__(self, data: np.ndarray | None = None, indptr: np.ndarray | None = None,
                 indices: np.ndarray | None = None, shape: Any = None,
                 ctx: Context | None = None):
        aux = (indptr, indices) if indptr is not None else ()
        super().__init__(data, aux, shape, ctx)

    @classmethod
    def _make(cls, data, aux, shape, ctx):
        return cls(data, aux[0], aux[1], shape, ctx)

    @property
    def stype(self) -> str:
        return "csr"

    @property
    def data(self) -> NDArray:
        return NDArray(self._data, self._ctx)

    @property
    def indptr(self) -> NDArray:
        return NDArray(self._aux[0], self._ctx)

    @property
    def indices(self) -> NDArray:
        return NDArray(self._aux[1], self._ctx)

    def _dense(self) -> np.ndarray:
        indptr, indices = self._aux
        if indices.size and (indices.min() < 0 or indices.max() >= self.shape[1]):
            self.check_format(full_check=True)  # numpy would wrap a negative index
        out = _zeros_to_fill(self)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(indptr))
        out[rows, indices] = self._data
        return out

    def _shape_problem(self) -> str | None:
        indptr, idx = self._aux
        shape = self.shape
        if len(shape) != 2 or idx.ndim != 1 or indptr.ndim != 1 or self._data.ndim != 1 or \
                indptr.shape[0] != shape[0] + 1 or idx.shape[0] != self._data.shape[0]:
            return (f"shape mismatch: shape {shape}, {self._data.shape} stored values, indptr "
                    f"{indptr.shape}, indices {idx.shape}; expected a 2-d shape, indptr of "
                    "(rows + 1,) and one index per stored value")
        return None

    def __getitem__(self, key: Any) -> CSRNDArray:
        """Rows ``key`` (an int or a step-1 slice) as a CSRNDArray."""
        n = self.shape[0]
        if isinstance(key, (int, np.integer)):
            if not -n <= key < n:
                raise NDArrayIndexError(f"index {key} is out of bounds for axis 0 with size {n}")
            key = int(key) % n
            begin, end = key, key + 1
        elif isinstance(key, slice) and key.step in (None, 1):
            begin, end, _ = key.indices(n)
            end = max(begin, end)
        else:
            raise NDArrayValueError(f"CSRNDArray only supports an int or a step-1 slice on "
                                    f"rows, got key {key!r}")
        indptr, indices = self._aux
        lo, hi = int(indptr[begin]), int(indptr[end])
        return CSRNDArray(self._data[lo:hi], indptr[begin:end + 1] - indptr[begin],
                          indices[lo:hi], (end - begin, self.shape[1]), self._ctx)

    def tostype(self, stype: str) -> NDArray:
        return cast_storage(self, stype)

    def asscipy(self) -> Any:
        """A ``scipy.sparse.csr_matrix`` with a copy of this array's values and indices
        (ImportError when scipy is not installed, as in MXNet)."""
        try:
            import scipy.sparse as spsp
        except ImportError:
            raise ImportError("scipy could not be imported. Please make sure that the scipy "
                              "is installed.") from None
        return spsp.csr_matrix((self._data.copy(), self._aux[1].copy(), self._aux[0].copy()),
                               shape=self.shape, dtype=self._data.dtype)


# ---------------------------------------------------------------------- conversions


def _dense_to_row_sparse(dense: np.ndarray, ctx: Context) -> RowSparseNDArray:
    if dense.ndim < 1:
        raise MXNetError("row_sparse storage needs an array of at least 1 dim")
    flat = dense.reshape(dense.shape[0], -1)
    rows = np.flatnonzero(flat.any(axis=1)).astype(_INDEX)
    return RowSparseNDArray(dense[rows], rows, dense.shape, ctx)


def _dense_to_csr(dense: np.ndarray, ctx: Context) -> CSRNDArray:
    if dense.ndim != 2:
        raise NDArrayValueError(f"csr storage needs a 2-D array, got shape {dense.shape}")
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, _INDEX)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return CSRNDArray(dense[rows, cols], indptr, cols.astype(_INDEX), dense.shape, ctx)


def cast_storage(arr: NDArray, stype: str) -> NDArray:
    """A copy of ``arr`` in storage type ``stype`` ('default', 'row_sparse' or 'csr')."""
    if stype not in ("default", "row_sparse", "csr"):
        raise MXNetError(f"unknown storage type {stype!r}; expected 'default', 'row_sparse' "
                         "or 'csr'")
    src = arr.stype
    if src == stype:
        return arr.copy()
    if src != "default" and stype != "default":
        raise NDArrayValueError(f"cast_storage from {src} to {stype} is not supported")
    if stype == "default":
        return NDArray(arr.asnumpy(), arr._ctx)
    if stype == "row_sparse":
        return _dense_to_row_sparse(arr._data, arr._ctx)
    return _dense_to_csr(arr._data, arr._ctx)


def _source_dtype(source: Any, dtype: Any) -> np.dtype:
    # MXNet keeps the dtype of numpy / NDArray / scipy sources and defaults to float32
    # otherwise.
    if dtype is not None:
        return _as_dtype(dtype)
    if isinstance(source, NDArray):
        return np.dtype(source.dtype)
    if isinstance(source, np.ndarray):
        return source.dtype
    if _is_scipy(source):
        return np.dtype(getattr(source, "dtype", None) or np.asarray(source.data).dtype)
    return np.dtype(np.float32)


def _np(x: Any, dtype: Any = None, what: str = "source") -> np.ndarray:
    if isinstance(x, NDArray):
        x = x.asnumpy()
    try:
        out = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise NDArrayTypeError(f"{what} must be an array like object: {e}") from None
    if out.dtype == object:
        raise NDArrayTypeError(f"{what} must be an array like object of numbers")
    return out


def _is_shape(arg: Any) -> bool:
    return isinstance(arg, tuple) and len(arg) > 0 and \
        all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in arg)


def _is_scipy(arg: Any) -> bool:
    return hasattr(arg, "tocsr") and hasattr(arg, "nnz") and hasattr(arg, "shape")


def _check_shape(s1: Any, s2: Any, func: str) -> None:
    """MXNet's _check_shape: both given and different is a ValueError."""
    if s1 and s2 and tuple(int(d) for d in s1) != tuple(int(d) for d in s2):
        raise NDArrayValueError(f"{func}: shape mismatch detected: {tuple(s1)} (from the "
                                f"source) v.s. shape={tuple(s2)}")


def _from_dense_source(arg1: Any, shape: Any, ctx: Any, dtype: Any, stype: str,
                       func: str) -> BaseSparseNDArray:
    dense = _np(arg1, _source_dtype(arg1, dtype), "source_array")
    _check_shape(dense.shape, shape, func)
    return cast_storage(NDArray(dense, _as_ctx(ctx)), stype)


def row_sparse_array(arg1: Any, shape: Any = None, ctx: Context | None = None,
                     dtype: Any = None) -> RowSparseNDArray:
    """Creates a `RowSparseNDArray`, as MXNet's ``mx.nd.sparse.row_sparse_array``.

    ``arg1`` is one of: a dense array (NDArray, numpy array or nested list) ``D``; a
    RowSparseNDArray ``S`` (copied); a shape ``(D0, D1, ..., Dn)`` (an all-zero array); or
    ``(data, indices)`` where ``dense[indices[i], ...] = data[i, ...]`` (``indices`` are
    expected sorted ascending; check_format() checks them).

    ``shape`` defaults to the source's; for ``(data, indices)`` it is
    ``(indices[-1] + 1,) + data.shape[1:]`` (ValueError when there are no indices to infer
    it from). A ``shape`` that disagrees with the source's is a ValueError. ``dtype``
    defaults to the source's for NDArray / numpy sources, float32 otherwise.
    """
    if isinstance(arg1, tuple):
        if len(arg1) < 2:
            raise NDArrayValueError(f"row_sparse_array: unexpected length of input tuple: "
                                    f"{len(arg1)}; expected a shape or (data, indices)")
        if len(arg1) > 2 or _is_shape(arg1):
            if not _is_shape(arg1):
                raise NDArrayValueError(f"row_sparse_array: a tuple of {len(arg1)} items must "
                                        f"be a shape of ints, got {arg1!r}")
            _check_shape(arg1, shape, "row_sparse_array")
            return zeros("row_sparse", arg1, ctx=ctx, dtype=dtype)
        data_src, idx_src = arg1
        ctx = _as_ctx(ctx)
        dt = _source_dtype(data_src, dtype)
        data = _np(data_src, dt, "data")
        indices = _np(idx_src, _INDEX, "indices")
        if shape is None:
            if indices.ndim != 1 or indices.shape[0] == 0:
                raise NDArrayValueError("row_sparse_array: invalid shape: cannot infer the "
                                        "shape without indices; pass shape=")
            shape = (int(indices[-1]) + 1,) + data.shape[1:]
        shape = _as_shape(shape)
        if data.ndim != len(shape) or indices.ndim != 1 or \
                int(np.prod(shape[1:], dtype=np.int64)) == 0:
            raise NDArrayValueError(f"row_sparse_array: invalid shape: data of shape "
                                    f"{data.shape} and indices of shape {indices.shape} for "
                                    f"shape {shape}; expected data of len(shape) dims, 1-D "
                                    "indices and non-zero trailing dims")
        if data.shape[0] != indices.shape[0] or data.shape[1:] != shape[1:]:
            raise NDArrayValueError(f"row_sparse_array: data of shape {data.shape} does not "
                                    f"match {indices.shape[0]} indices and shape {shape}")
        # Index values are taken as given, as MXNet's constructor takes them:
        # check_format() says whether they are valid.
        return RowSparseNDArray(data, indices, shape, ctx)
    if isinstance(arg1, RowSparseNDArray):
        _check_shape(arg1.shape, shape, "row_sparse_array")
        return array(arg1, ctx=ctx, dtype=dtype)
    if isinstance(arg1, CSRNDArray):
        raise NDArrayValueError("row_sparse_array: unexpected input type: CSRNDArray")
    return _from_dense_source(arg1, shape, ctx, dtype, "row_sparse", "row_sparse_array")


def _coo_to_csr(data: np.ndarray, row: np.ndarray, col: np.ndarray, shape: tuple,
                ctx: Context) -> CSRNDArray:
    # Duplicate (row, col) entries are summed, as scipy's tocsr() does.
    n_rows, n_cols = shape
    key = row * n_cols + col
    uniq, inverse = np.unique(key, return_inverse=True)
    values = np.zeros(uniq.shape[0], data.dtype)
    np.add.at(values, inverse, data)
    return _csr_from_keys(values, uniq, shape, ctx)


def _csr_from_keys(values: np.ndarray, keys: np.ndarray, shape: tuple,
                   ctx: Context) -> CSRNDArray:
    """A CSRNDArray from sorted unique flat positions ``row * n_cols + col``."""
    n_rows, n_cols = shape
    keys = np.asarray(keys, _INDEX)
    rows = keys // max(n_cols, 1)
    indptr = np.zeros(n_rows + 1, _INDEX)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return CSRNDArray(values, indptr, keys % max(n_cols, 1), shape, ctx)


def _csr_keys(arr: CSRNDArray) -> np.ndarray:
    """The flat positions ``row * n_cols + col`` of a csr array's stored values."""
    indptr, indices = arr._aux
    rows = np.repeat(np.arange(arr.shape[0], dtype=_INDEX), np.diff(indptr))
    return rows * arr.shape[1] + indices


def _from_scipy(sp: Any, shape: Any, ctx: Any, dtype: Any) -> CSRNDArray:
    # A canonical copy: duplicates summed, column indices sorted (the caller's matrix is
    # left as it is).
    csr = sp.tocsr()
    if csr is sp and hasattr(csr, "copy"):
        csr = csr.copy()
    csr.sum_duplicates()
    if hasattr(csr, "sort_indices"):
        csr.sort_indices()
    _check_shape(csr.shape, shape, "csr_matrix")
    dt = _source_dtype(sp, dtype)
    return CSRNDArray(np.asarray(csr.data).astype(dt), np.asarray(csr.indptr, _INDEX),
                      np.asarray(csr.indices, _INDEX), tuple(int(d) for d in csr.shape),
                      _as_ctx(ctx))


def csr_matrix(arg1: Any, shape: Any = None, ctx: Context | None = None,
               dtype: Any = None) -> CSRNDArray:
    """Creates a `CSRNDArray`, a 2-D array in compressed sparse row format, as MXNet's
    ``mx.nd.sparse.csr_matrix``.

    ``arg1`` is one of: a dense 2-D array (NDArray, numpy array or nested list); a
    CSRNDArray or ``scipy.sparse`` matrix (copied; duplicates summed, indices sorted); a
    shape ``(M, N)`` (an all-zero array); ``(data, indices, indptr)``, the csr definition
    (column ``indices`` of row ``i`` are ``indices[indptr[i]:indptr[i+1]]``, expected sorted;
    check_format() checks them); or ``(data, (row, col))``, coordinate form (duplicates
    summed).

    ``shape`` defaults to the source's; for ``(data, indices, indptr)`` it is
    ``(len(indptr) - 1, max(indices) + 1)`` (ValueError when there are no indices to infer
    it from). A ``shape`` that disagrees with the source's is a ValueError. ``dtype``
    defaults to the source's for NDArray / numpy / scipy sources, float32 otherwise.
    """
    if isinstance(arg1, tuple):
        if len(arg1) == 2 and isinstance(arg1[1], tuple) and len(arg1[1]) == 2:
            data_src, (row_src, col_src) = arg1
            dt = _source_dtype(data_src, dtype) if dtype is not None else np.dtype(np.float32)
            if dtype is None and isinstance(data_src, (np.ndarray, NDArray)):
                dt = np.dtype(data_src.dtype)
            data = _np(data_src, dt, "data").reshape(-1)
            row = _np(row_src, None, "row").astype(_INDEX).reshape(-1)
            col = _np(col_src, None, "col").astype(_INDEX).reshape(-1)
            if not data.size == row.size == col.size:
                raise NDArrayValueError(f"csr_matrix: data, row and col must have the same "
                                        f"length, got {data.size}, {row.size}, {col.size}")
            inferred = (int(row.max()) + 1 if row.size else 0,
                        int(col.max()) + 1 if col.size else 0)
            if shape is None:
                shape = inferred
            shape = _as_shape(shape)
            if len(shape) != 2:
                raise NDArrayValueError(f"csr_matrix: shape {shape} must be 2-D")
            if row.size and (row.min() < 0 or col.min() < 0 or row.max() >= shape[0]
                             or col.max() >= shape[1]):
                raise NDArrayValueError(f"csr_matrix: (row, col) out of range for shape "
                                        f"{shape}: row in [{row.min()}, {row.max()}], col in "
                                        f"[{col.min()}, {col.max()}]")
            return _coo_to_csr(data, row, col, shape, _as_ctx(ctx))
        if len(arg1) == 2:
            if not _is_shape(arg1):
                raise NDArrayValueError(f"csr_matrix: a tuple of 2 items must be a shape "
                                        f"(M, N) or (data, (row, col)), got {arg1!r}")
            _check_shape(arg1, shape, "csr_matrix")
            return zeros("csr", arg1, ctx=ctx, dtype=dtype)
        if len(arg1) != 3:
            raise NDArrayValueError(f"csr_matrix: unexpected length of input tuple: "
                                    f"{len(arg1)}; expected (M, N), (data, (row, col)) or "
                                    "(data, indices, indptr)")
        data_src, idx_src, ptr_src = arg1
        ctx = _as_ctx(ctx)
        dt = _source_dtype(data_src, dtype)
        data = _np(data_src, dt, "data")
        indices = _np(idx_src, _INDEX, "indices")
        indptr = _np(ptr_src, _INDEX, "indptr")
        if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1 or indptr.shape[0] == 0:
            raise NDArrayValueError(f"csr_matrix: invalid shape: data {data.shape}, indices "
                                    f"{indices.shape}, indptr {indptr.shape}; expected 1-D "
                                    "arrays and a non-empty indptr")
        if indices.shape[0] != data.shape[0]:
            raise NDArrayValueError(f"csr_matrix: inconsistent arrays: {data.shape[0]} values "
                                    f"but {indices.shape[0]} indices; expected one column "
                                    "index per value")
        if shape is None:
            if indices.shape[0] == 0:
                raise NDArrayValueError("csr_matrix: invalid shape: cannot infer the shape "
                                        "without indices; pass shape=")
            shape = (indptr.shape[0] - 1, int(indices.max()) + 1)
        shape = _as_shape(shape)
        if len(shape) != 2 or shape[0] != indptr.shape[0] - 1:
            raise NDArrayValueError(f"csr_matrix: invalid shape: indptr of {indptr.shape[0]} "
                                    f"entries for shape {shape}; expected a 2-d shape of "
                                    "len(indptr) - 1 rows")
        # Index values are taken as given, as MXNet's constructor takes them:
        # check_format() says whether they are valid.
        return CSRNDArray(data, indptr, indices, shape, ctx)
    if isinstance(arg1, CSRNDArray):
        _check_shape(arg1.shape, shape, "csr_matrix")
        return array(arg1, ctx=ctx, dtype=dtype)
    if _is_scipy(arg1):
        return _from_scipy(arg1, shape, ctx, dtype)
    if isinstance(arg1, RowSparseNDArray):
        raise NDArrayValueError("csr_matrix: unexpected input type: RowSparseNDArray")
    return _from_dense_source(arg1, shape, ctx, dtype, "csr", "csr_matrix")


def zeros(stype: str, shape: Any, ctx: Context | None = None, dtype: Any = None,
          **kwargs: Any) -> NDArray:
    """An all-zero array of storage type ``stype`` (nothing stored for sparse types);
    ValueError for an unknown ``stype``."""
    if stype not in ("default", "row_sparse", "csr"):
        raise NDArrayValueError(f"zeros: unknown storage type {stype!r}; expected 'default', "
                                "'row_sparse' or 'csr'")
    shape = _as_shape(shape)
    dt = _as_dtype(dtype)
    ctx = _as_ctx(ctx)
    if stype == "default":
        return _dense_zeros(shape, ctx=ctx, dtype=dt, **kwargs)
    if stype == "row_sparse":
        if len(shape) < 1:
            raise NDArrayValueError("zeros: row_sparse storage needs a shape of at least 1 "
                                    "dim")
        return RowSparseNDArray(np.zeros((0,) + shape[1:], dt), np.zeros(0, _INDEX), shape, ctx)
    if len(shape) != 2:
        raise NDArrayValueError(f"zeros: csr storage needs a 2-D shape, got {shape}")
    return CSRNDArray(np.zeros(0, dt), np.zeros(shape[0] + 1, _INDEX), np.zeros(0, _INDEX),
                      shape, ctx)


def empty(stype: str, shape: Any, ctx: Context | None = None, dtype: Any = None) -> NDArray:
    """A new array of storage type ``stype``: for sparse types one with nothing stored
    (all zeros), as MXNet's."""
    if stype == "default":
        from .ndarray import empty as _dense_empty

        return _dense_empty(shape, ctx=ctx, dtype=dtype)
    return zeros(stype, shape, ctx=ctx, dtype=dtype)


def array(source_array: Any, ctx: Context | None = None, dtype: Any = None) -> BaseSparseNDArray:
    """A sparse copy of a RowSparseNDArray, CSRNDArray or ``scipy.sparse`` matrix (with an
    optional new ctx / dtype; the dtype defaults to the source's). A scipy matrix gives a
    canonical CSRNDArray (duplicates summed, indices sorted)."""
    if isinstance(source_array, BaseSparseNDArray):
        out = source_array.astype(_source_dtype(source_array, dtype))
        if out is source_array:
            out = source_array.copy()
        out._ctx = _as_ctx(ctx)
        return out
    if _is_scipy(source_array):
        return _from_scipy(source_array, None, ctx, dtype)
    if isinstance(source_array, (NDArray, np.ndarray)):
        raise NDArrayValueError("sparse.array: use mx.nd.array to create an NDArray from a "
                                f"dense {type(source_array).__name__}")
    raise NDArrayValueError(f"sparse.array: unexpected source_array type "
                            f"{type(source_array).__name__}; expected a RowSparseNDArray, "
                            "CSRNDArray or scipy.sparse matrix")


# ---------------------------------------------------------------------- operators


def _ufunc(lhs: Any, rhs: Any, same_op: str, array_op: str, scalar_op: str,
           rscalar_op: str, func: str) -> Any:
    from .register import make_function

    if isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
        return make_function(same_op if lhs.shape == rhs.shape else array_op)(lhs, rhs)
    if isinstance(lhs, NDArray) and _is_scalar(rhs):
        return make_function(scalar_op)(lhs, scalar=rhs)
    if isinstance(rhs, NDArray) and _is_scalar(lhs):
        return make_function(rscalar_op)(rhs, scalar=lhs)
    if _is_scalar(lhs) and _is_scalar(rhs):
        return {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
                "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b}[func](lhs, rhs)
    raise NDArrayTypeError(f"sparse.{func}: lhs and rhs must be NDArrays or numbers, got "
                           f"{type(lhs).__name__} and {type(rhs).__name__}")


def add(lhs: Any, rhs: Any) -> Any:
    """``lhs + rhs`` as MXNet's ``mx.nd.sparse.add``: ``elemwise_add`` for arrays of one
    shape (row_sparse + row_sparse and csr + csr stay sparse), ``broadcast_add`` otherwise."""
    return _ufunc(lhs, rhs, "elemwise_add", "broadcast_add", "_plus_scalar", "_plus_scalar",
                  "add")


def subtract(lhs: Any, rhs: Any) -> Any:
    """``lhs - rhs`` as MXNet's ``mx.nd.sparse.subtract`` (``elemwise_sub`` for arrays of one
    shape, ``broadcast_sub`` otherwise)."""
    return _ufunc(lhs, rhs, "elemwise_sub", "broadcast_sub", "_minus_scalar",
                  "_rminus_scalar", "subtract")


def multiply(lhs: Any, rhs: Any) -> Any:
    """``lhs * rhs`` as MXNet's ``mx.nd.sparse.multiply`` (``elemwise_mul`` for arrays of one
    shape: sparse * dense keeps the sparse array's storage type; ``broadcast_mul``
    otherwise: csr * dense vector stays csr)."""
    return _ufunc(lhs, rhs, "elemwise_mul", "broadcast_mul", "_mul_scalar", "_mul_scalar",
                  "multiply")


def divide(lhs: Any, rhs: Any) -> Any:
    """``lhs / rhs`` as MXNet's ``mx.nd.sparse.divide`` (``elemwise_div`` for arrays of one
    shape, ``broadcast_div`` otherwise: csr / dense vector stays csr)."""
    return _ufunc(lhs, rhs, "elemwise_div", "broadcast_div", "_div_scalar", "_rdiv_scalar",
                  "divide")


_OP_FUNCS: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    # mx.nd.sparse.<op>: MXNet's operators registered as ``_sparse_<op>`` (retain, slice,
    # dot, FullyConnected, ...), made on first use. They are cached apart from the module's
    # globals, so that ``slice`` does not shadow the builtin in this module's code.
    from .register import lookup

    fn = _OP_FUNCS.get(name)
    if fn is None and not name.startswith("__"):
        fn = lookup(name, _OP_FUNCS, "_sparse_")
    if fn is None:
        raise AttributeError(f"module 'mxlite.ndarray.sparse' has no attribute {name!r}")
    return fn


# Storage-type inference for mx.nd operators with sparse inputs (MXNet's FInferStorageType).
# Unary operators that map 0 to 0 run on the stored values and keep csr / row_sparse.
_KEEP_UNARY = frozenset({
    "abs", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt", "ceil", "degrees", "expm1", "fix",
    "floor", "log1p", "negative", "radians", "relu", "rint", "round", "sign", "sin", "sinh",
    "sqrt", "square", "tan", "tanh", "trunc", "BlockGrad", "make_loss", "_copy", "Cast",
    "_contrib_round_ste", "_contrib_sign_ste",
})

# Scalar operators keep the storage type when the scalar makes them map 0 to 0.
_SCALAR_KEEP = {
    "_plus_scalar": lambda s: s == 0,
    "_minus_scalar": lambda s: s == 0,
    "_mul_scalar": lambda s: True,
    "_div_scalar": lambda s: True,
    "_equal_scalar": lambda s: s != 0,
    "_not_equal_scalar": lambda s: s == 0,
    "_greater_scalar": lambda s: s >= 0,
    "_greater_equal_scalar": lambda s: s > 0,
    "_lesser_scalar": lambda s: s <= 0,
    "_lesser_equal_scalar": lambda s: s < 0,
}


def _with_values(arr: BaseSparseNDArray, values: np.ndarray) -> BaseSparseNDArray:
    """``arr``'s index arrays (copied) with new stored values."""
    return type(arr)._make(np.asarray(values), tuple(a.copy() for a in arr._aux), arr.shape,
                           arr._ctx)


def _rsp_rows(dense: np.ndarray, rows: np.ndarray, ctx: Context) -> RowSparseNDArray:
    rows = np.asarray(rows, _INDEX)
    return RowSparseNDArray(dense[rows], rows, dense.shape, ctx)


def _csr_at(dense: np.ndarray, keys: np.ndarray, ctx: Context) -> CSRNDArray:
    return _csr_from_keys(dense.reshape(-1)[keys], keys, dense.shape, ctx)


def _pattern(arrays: list, dense: np.ndarray, stype: str, ctx: Context) -> BaseSparseNDArray:
    """``dense`` stored at the union of the positions the sparse ``arrays`` store (MXNet's
    sparse elementwise kernels store that union, zeros included)."""
    if stype == "row_sparse":
        rows = np.unique(np.concatenate([a._aux[0] for a in arrays]).astype(_INDEX))
        return _rsp_rows(dense, rows, ctx)
    keys = np.unique(np.concatenate([_csr_keys(a) for a in arrays]))
    return _csr_at(dense, keys, ctx)


def _dense_out(op, attrs, arrays, octx) -> np.ndarray:
    return np.asarray(op.forward(attrs, [a.asnumpy() for a in arrays], octx)[0])


def _slice_csr(op, attrs, x: CSRNDArray) -> CSRNDArray:
    out_shape = op.infer_shape(attrs, [x.shape], [None])[1][0]  # checks begin / end
    n_rows, n_cols = x.shape
    rows = range(n_rows)[slice(attrs.begin[0], attrs.end[0])]
    r0, r1 = rows.start, max(rows.start, rows.stop)
    c0, c1 = 0, n_cols
    if len(attrs.begin) > 1:
        cols = range(n_cols)[slice(attrs.begin[1], attrs.end[1])]
        c0, c1 = cols.start, max(cols.start, cols.stop)
    indptr, indices = x._aux
    lo, hi = int(indptr[r0]), int(indptr[r1])
    ptr = indptr[r0:r1 + 1] - lo
    idx, data = indices[lo:hi], x._data[lo:hi]
    if (c0, c1) != (0, n_cols):
        keep = (idx >= c0) & (idx < c1)
        row_of = np.repeat(np.arange(r1 - r0), np.diff(ptr))
        ptr = np.zeros(r1 - r0 + 1, _INDEX)
        np.cumsum(np.bincount(row_of[keep], minlength=r1 - r0), out=ptr[1:])
        idx, data = idx[keep] - c0, data[keep]
    return CSRNDArray(data.copy(), ptr.astype(_INDEX), idx.astype(_INDEX),
                      tuple(out_shape), x._ctx)


def _take_csr(x: CSRNDArray, idx_arr: NDArray, mode: str) -> CSRNDArray:
    n_rows = x.shape[0]
    rows = idx_arr.asnumpy().astype(_INDEX).reshape(-1)
    rows = np.clip(rows, 0, n_rows - 1) if mode == "clip" else np.mod(rows, n_rows)
    indptr, indices = x._aux
    counts = np.diff(indptr)[rows]
    ptr = np.zeros(rows.shape[0] + 1, _INDEX)
    np.cumsum(counts, out=ptr[1:])
    pos = np.repeat(indptr[rows] - ptr[:-1], counts) + np.arange(ptr[-1], dtype=_INDEX)
    return CSRNDArray(x._data[pos], ptr, indices[pos], (rows.shape[0], x.shape[1]), x._ctx)


def _concat_csr(arrays: list) -> CSRNDArray:
    counts = np.array([a._data.shape[0] for a in arrays], _INDEX)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(_INDEX)
    ptr = np.concatenate([a._aux[0][:-1] + o for a, o in zip(arrays, offsets)] +
                         [np.array([counts.sum()], _INDEX)])
    shape = (sum(a.shape[0] for a in arrays), arrays[0].shape[1])
    return CSRNDArray(np.concatenate([a._data for a in arrays]), ptr.astype(_INDEX),
                      np.concatenate([a._aux[1] for a in arrays]).astype(_INDEX), shape,
                      arrays[0]._ctx)


def _retain(data: NDArray, indices: NDArray) -> RowSparseNDArray:
    if not isinstance(data, RowSparseNDArray):
        raise MXNetError(f"retain: data must be a RowSparseNDArray, got a {data.stype} array")
    rows = _np(indices, None, "indices").astype(_INDEX).reshape(-1)
    n = data.shape[0]
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise MXNetError(f"retain: indices must lie in [0, {n}), got values from "
                         f"{rows.min()} to {rows.max()}")
    stored = data._aux[0]
    pos = np.searchsorted(stored, rows)
    found = pos < stored.shape[0]
    found[found] = stored[pos[found]] == rows[found]
    values = np.zeros((rows.shape[0],) + data.shape[1:], data._data.dtype)
    values[found] = data._data[pos[found]]
    return RowSparseNDArray(values, rows, data.shape, data._ctx)


def _getnnz(op, attrs, x: CSRNDArray) -> NDArray:
    op.infer_shape(attrs, [x.shape], [None])  # axis None or 1, as MXNet
    if attrs.axis is None:
        counts = np.array([x._data.shape[0]], _INDEX)
    else:
        counts = np.diff(x._aux[0]).astype(_INDEX)
    return NDArray(counts, x._ctx)


def _forward(op: Any, attrs: Any, arrays: list, octx: Any) -> list | None:
    """Run ``op`` for mx.nd on inputs of which some are sparse, giving the outputs the
    storage types MXNet gives them; None when MXNet falls back to dense storage (the caller
    then runs the dense kernel and returns dense outputs)."""
    name = op.name
    st = [a.stype for a in arrays]
    x = arrays[0] if arrays else None
    if name == "_sparse_retain":
        return [_retain(arrays[0], arrays[1])]
    if name == "cast_storage":
        return [cast_storage(x, attrs.stype)]
    if len(arrays) == 1 and st[0] != "default":
        if name in _KEEP_UNARY or (name == "clip" and attrs.a_min <= 0 <= attrs.a_max) or \
                (name in _SCALAR_KEEP and _SCALAR_KEEP[name](attrs.scalar)):
            return [_with_values(x, op.forward(attrs, [x._data], octx)[0])]
        if name == "_contrib_quadratic" and attrs.c == 0 and st[0] == "csr":
            # MXNet's csr quadratic stores the non-zero results (row_sparse falls back)
            return [cast_storage(NDArray(_dense_out(op, attrs, arrays, octx), x._ctx), "csr")]
        if name == "zeros_like":
            return [zeros(x.stype, x.shape, ctx=x._ctx, dtype=x._data.dtype)]
        if name == "slice" and st[0] == "csr" and all(s in (None, 1) for s in attrs.step):
            return [_slice_csr(op, attrs, x)]
        if name == "_contrib_getnnz" and st[0] == "csr":
            return [_getnnz(op, attrs, x)]
        return None
    if name == "take" and st == ["csr", "default"] and attrs.axis == 0 and \
            attrs.mode in ("clip", "wrap") and arrays[1].ndim == 1 and x.shape[0] > 0:
        return [_take_csr(x, arrays[1], attrs.mode)]
    if name == "Concat" and attrs.dim == 0 and all(s == "csr" for s in st):
        # MXNet's csr concat stores the non-zero values (a stored zero is dropped)
        out = _concat_csr(arrays)
        keep = out._data != 0
        if not keep.all():
            out = _csr_from_keys(out._data[keep], _csr_keys(out)[keep], out.shape, out._ctx)
        return [out]
    if name == "add_n" and all(s == "row_sparse" for s in st):
        return [_pattern(arrays, _dense_out(op, attrs, arrays, octx), "row_sparse", x._ctx)]
    if len(arrays) != 2:
        return None
    a, b = arrays
    if name in ("elemwise_add", "elemwise_sub", "elemwise_mul") and st[0] == st[1]:
        dense = _dense_out(op, attrs, arrays, octx)
        if st[0] == "csr":
            # MXNet's csr + csr stores the non-zero results only
            return [cast_storage(NDArray(dense, a._ctx), "csr")]
        return [_pattern(arrays, dense, st[0], a._ctx)]
    if name == "elemwise_mul" and "default" in st:
        sp = a if st[0] != "default" else b
        return [_pattern([sp], _dense_out(op, attrs, arrays, octx), sp.stype, a._ctx)]
    if name in ("broadcast_mul", "broadcast_div") and st == ["csr", "default"]:
        if b.ndim == 2 and b.shape in ((1, a.shape[1]), (a.shape[0], 1), (1, 1)):
            return [_pattern([a], _dense_out(op, attrs, arrays, octx), "csr", a._ctx)]
        if name == "broadcast_div" and b.shape == a.shape:
            raise MXNetError("broadcast_div: division of a csr array by a dense array of the "
                             "same shape is not supported; use elemwise_div (as MXNet says)")
    if name == "dot":
        return _dot(op, attrs, arrays, octx)
    return None


def _dot(op, attrs, arrays, octx) -> list | None:
    """``dot`` storage types as MXNet's: dense x csr gives csr storing, in every row, the
    columns the csr operand has (dense x csr.T: the non-zero results); csr.T x dense gives
    row_sparse storing the rows the csr operand's columns make; ``forward_stype`` asks for
    a storage type."""
    a, b = arrays
    st = (a.stype, b.stype)
    target = attrs.forward_stype
    if target is None and st == ("default", "csr") and not attrs.transpose_a:
        dense = _dense_out(op, attrs, arrays, octx)
        if attrs.transpose_b:  # MXNet stores the non-zero results
            return [cast_storage(NDArray(dense, a._ctx), "csr")]
        # every row stores the columns the csr operand has
        cols = np.unique(b._aux[1])
        keys = (np.arange(dense.shape[0], dtype=_INDEX)[:, None] * dense.shape[1] +
                cols.astype(_INDEX)[None, :]).reshape(-1)
        return [_csr_at(dense, keys, a._ctx)]
    if target is None and st == ("csr", "default") and attrs.transpose_a and \
            not attrs.transpose_b:
        dense = _dense_out(op, attrs, arrays, octx)
        return [_rsp_rows(dense, np.unique(a._aux[1]), a._ctx)]
    if target not in (None, "default"):
        return [cast_storage(NDArray(_dense_out(op, attrs, arrays, octx), a._ctx), target)]
    return None


def _assign(target: NDArray, value: Any) -> None:
    """Write an operator's result (an NDArray of any storage type, or a numpy array) into
    ``out=`` ``target``, converting it to ``target``'s storage type and dtype."""
    if isinstance(value, NDArray) and value.stype == target.stype and \
            isinstance(value, BaseSparseNDArray):
        target._data = value._data.astype(target._data.dtype)
        target._aux = tuple(x.copy() for x in value._aux)
        return
    dense = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
    if target.stype == "default":
        target._data[...] = dense
        return
    converted = cast_storage(NDArray(dense.astype(target._data.dtype), target._ctx),
                             target.stype)
    target._data, target._aux = converted._data, converted._aux
