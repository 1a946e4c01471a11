"""Sparse NDArrays (``mx.nd.sparse``): row_sparse and CSR storage on numpy buffers.

A sparse array keeps its stored values in ``_data`` and its index arrays in ``_aux``, in the
order MXNet's array records store them: ``(indices,)`` for row_sparse, ``(indptr, indices)``
for csr; ``shape`` is the logical (dense) shape. Index arrays are int64, as in MXNet.

Arithmetic, reductions and reshaping fall back to the dense array (the result is dense).
Casting between row_sparse and csr is refused, as MXNet 1.9.1 refuses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from ..context import Context
from .ndarray import (
    NDArray,
    NDArrayIndexError,
    NDArrayValueError,
    _as_ctx,
    _as_dtype,
    _as_shape,
)
from .ndarray import zeros as _dense_zeros

__all__ = ["BaseSparseNDArray", "RowSparseNDArray", "CSRNDArray", "row_sparse_array",
           "csr_matrix", "zeros", "empty", "array", "cast_storage"]

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

    def astype(self, dtype: Any, copy: bool = True) -> BaseSparseNDArray:
        dt = _as_dtype(dtype)
        if not copy and dt == self._data.dtype:
            return self
        return type(self)._make(self._data.astype(dt), tuple(a.copy() for a in self._aux),
                                self.shape, self._ctx)

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


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
              "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__neg__", "__abs__",
              "sum", "mean", "max", "min", "reshape", "transpose", "expand_dims", "flatten",
              "squeeze", "broadcast_to", "__float__", "__int__", "asscalar", "__iter__"):
    setattr(BaseSparseNDArray, _name, _dense_fallback(_name))
BaseSparseNDArray.__hash__ = NDArray.__hash__


def _refuse_inplace(name: str):
    def method(self, other):
        raise MXNetError(f"in-place {name} on a {type(self).__name__} is not supported")

    return method


for _name in ("__iadd__", "__isub__", "__imul__", "__itruediv__", "__imod__"):
    setattr(BaseSparseNDArray, _name, _refuse_inplace(_name))


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
            raise MXNetError(f"CSRNDArray only supports an int or a step-1 slice on rows, "
                             f"got key {key!r}")
        indptr, indices = self._aux
        lo, hi = int(indptr[begin]), int(indptr[end])
        return CSRNDArray(self._data[lo:hi], indptr[begin:end + 1] - indptr[begin],
                          indices[lo:hi], (end - begin, self.shape[1]), self._ctx)

    def tostype(self, stype: str) -> NDArray:
        return cast_storage(self, stype)


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
    # MXNet keeps the dtype of numpy / NDArray sources and defaults to float32 otherwise.
    if dtype is not None:
        return _as_dtype(dtype)
    if isinstance(source, NDArray):
        return np.dtype(source.dtype)
    if isinstance(source, np.ndarray):
        return source.dtype
    return np.dtype(np.float32)


def _np(x: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(x, NDArray):
        x = x.asnumpy()
    return np.asarray(x, dtype=dtype)


def _is_shape(arg: Any) -> bool:
    return isinstance(arg, tuple) and all(isinstance(d, (int, np.integer)) for d in arg)


def row_sparse_array(arg1: Any, shape: Any = None, ctx: Context | None = None,
                     dtype: Any = None) -> RowSparseNDArray:
    """A RowSparseNDArray from ``(data, indices)``, a shape (all zeros), a dense array, or a copy.

    Without ``shape`` the row count is ``max(indices) + 1``.
    """
    ctx = _as_ctx(ctx)
    if isinstance(arg1, RowSparseNDArray):
        out = arg1.astype(_source_dtype(arg1, dtype))
        out._ctx = ctx
        return out
    if _is_shape(arg1):
        return zeros("row_sparse", arg1, ctx=ctx, dtype=dtype)
    if isinstance(arg1, tuple) and len(arg1) == 2:
        data_src, idx_src = arg1
        dt = _source_dtype(data_src, dtype)
        data = _np(data_src, dt)
        indices = _np(idx_src, _INDEX).reshape(-1)
        if data.ndim == 0 or data.shape[0] != indices.shape[0]:
            raise MXNetError(f"row_sparse_array: data of shape {data.shape} does not match "
                             f"{indices.shape[0]} indices")
        if shape is None:
            rows = int(indices.max()) + 1 if indices.size else 0
            shape = (rows,) + data.shape[1:]
        shape = _as_shape(shape)
        if len(shape) != data.ndim:
            raise MXNetError(f"row_sparse_array: data of shape {data.shape} does not fit "
                             f"shape {shape}")
        # Index values are taken as given, as MXNet's constructor takes them:
        # check_format() says whether they are valid.
        return RowSparseNDArray(data, indices, shape, ctx)
    if isinstance(arg1, (NDArray, np.ndarray)):
        dense = _np(arg1, _source_dtype(arg1, dtype))
        if shape is not None and _as_shape(shape) != dense.shape:
            raise MXNetError(f"row_sparse_array: shape {shape} differs from the source's "
                             f"{dense.shape}")
        return _dense_to_row_sparse(dense, ctx)
    raise MXNetError(f"row_sparse_array: unexpected source {type(arg1).__name__}; expected "
                     "(data, indices), a shape, or a dense array")


def _coo_to_csr(data: np.ndarray, row: np.ndarray, col: np.ndarray, shape: tuple,
                ctx: Context) -> CSRNDArray:
    # Duplicate (row, col) entries are summed, as scipy's tocsr() does.
    n_rows, n_cols = shape
    key = row * n_cols + col
    uniq, inverse = np.unique(key, return_inverse=True)
    values = np.zeros(uniq.shape[0], data.dtype)
    np.add.at(values, inverse, data)
    rows = (uniq // max(n_cols, 1)).astype(_INDEX)
    indptr = np.zeros(n_rows + 1, _INDEX)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return CSRNDArray(values, indptr, (uniq % max(n_cols, 1)).astype(_INDEX), shape, ctx)


def csr_matrix(arg1: Any, shape: Any = None, ctx: Context | None = None,
               dtype: Any = None) -> CSRNDArray:
    """A CSRNDArray from ``(data, indices, indptr)``, ``(data, (row, col))``, a shape (all
    zeros), a dense 2-D array, a scipy.sparse matrix, or a copy of another CSRNDArray."""
    ctx = _as_ctx(ctx)
    if isinstance(arg1, CSRNDArray):
        out = arg1.astype(_source_dtype(arg1, dtype))
        out._ctx = ctx
        return out
    if _is_shape(arg1) and len(arg1) == 2:
        return zeros("csr", arg1, ctx=ctx, dtype=dtype)
    if hasattr(arg1, "tocsr") and hasattr(arg1, "nnz"):  # a scipy.sparse matrix
        sp = arg1.tocsr()
        sp.sum_duplicates()
        arg1, shape = (sp.data, sp.indices, sp.indptr), (shape or sp.shape)
    if isinstance(arg1, tuple) and len(arg1) == 3:
        data_src, idx_src, ptr_src = arg1
        dt = _source_dtype(data_src, dtype)
        data = _np(data_src, dt).reshape(-1)
        indices = _np(idx_src, _INDEX).reshape(-1)
        indptr = _np(ptr_src, _INDEX).reshape(-1)
        if indptr.size == 0 or indices.size != data.size:
            raise MXNetError(f"csr_matrix: inconsistent arrays: {data.size} values, "
                             f"{indices.size} indices, {indptr.size} indptr entries")
        if shape is None:
            cols = int(indices.max()) + 1 if indices.size else 0
            shape = (indptr.size - 1, cols)
        shape = _as_shape(shape)
        if len(shape) != 2 or shape[0] != indptr.size - 1:
            raise MXNetError(f"csr_matrix: indptr of {indptr.size} entries does not fit "
                             f"shape {shape}; expected a 2-d shape of indptr.size - 1 rows")
        # Index values are taken as given, as MXNet's constructor takes them:
        # check_format() says whether they are valid.
        return CSRNDArray(data, indptr, indices, shape, ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2 and isinstance(arg1[1], tuple):
        data_src, (row_src, col_src) = arg1
        dt = _source_dtype(data_src, dtype)
        data = _np(data_src, dt).reshape(-1)
        row = _np(row_src, _INDEX).reshape(-1)
        col = _np(col_src, _INDEX).reshape(-1)
        if not data.size == row.size == col.size:
            raise MXNetError("csr_matrix: data, row and col must have the same length")
        if shape is None:
            shape = (int(row.max()) + 1 if row.size else 0, int(col.max()) + 1 if col.size else 0)
        shape = _as_shape(shape)
        if row.size and (row.min() < 0 or col.min() < 0 or row.max() >= shape[0]
                         or col.max() >= shape[1]):
            raise MXNetError(f"csr_matrix: (row, col) out of range for shape {shape}")
        return _coo_to_csr(data, row, col, shape, ctx)
    if isinstance(arg1, (NDArray, np.ndarray)):
        dense = _np(arg1, _source_dtype(arg1, dtype))
        if shape is not None and _as_shape(shape) != dense.shape:
            raise MXNetError(f"csr_matrix: shape {shape} differs from the source's {dense.shape}")
        return _dense_to_csr(dense, ctx)
    raise MXNetError(f"csr_matrix: unexpected source {type(arg1).__name__}; expected "
                     "(data, indices, indptr), (data, (row, col)), a shape, or a dense array")


def zeros(stype: str, shape: Any, ctx: Context | None = None, dtype: Any = None,
          **kwargs: Any) -> NDArray:
    """An all-zero array of storage type ``stype`` (nothing stored for sparse types)."""
    shape = _as_shape(shape)
    dt = _as_dtype(dtype)
    ctx = _as_ctx(ctx)
    if stype == "default":
        return _dense_zeros(shape, ctx=ctx, dtype=dt)
    if stype == "row_sparse":
        return RowSparseNDArray(np.zeros((0,) + shape[1:], dt), np.zeros(0, _INDEX), shape, ctx)
    if stype == "csr":
        if len(shape) != 2:
            raise MXNetError(f"csr storage needs a 2-D shape, got {shape}")
        return CSRNDArray(np.zeros(0, dt), np.zeros(shape[0] + 1, _INDEX), np.zeros(0, _INDEX),
                          shape, ctx)
    raise MXNetError(f"unknown storage type {stype!r}; expected 'default', 'row_sparse' or "
                     "'csr'")


def empty(stype: str, shape: Any, ctx: Context | None = None, dtype: Any = None) -> NDArray:
    return zeros(stype, shape, ctx=ctx, dtype=dtype)


def array(source_array: Any, ctx: Context | None = None, dtype: Any = None) -> BaseSparseNDArray:
    """A sparse copy of a sparse array (with optional new ctx / dtype)."""
    if isinstance(source_array, RowSparseNDArray):
        return row_sparse_array(source_array, ctx=ctx, dtype=dtype)
    if isinstance(source_array, CSRNDArray):
        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    raise MXNetError(f"sparse.array: expected a RowSparseNDArray or CSRNDArray, got "
                     f"{type(source_array).__name__}")
