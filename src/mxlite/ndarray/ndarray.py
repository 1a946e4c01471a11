"""``mx.nd.NDArray`` and its creation functions, on a numpy buffer.

An NDArray wraps one numpy array (``_data``) and a :class:`~mxlite.context.Context` label
(``_ctx``). Wherever MXNet returns a view (reshape, basic indexing that stays contiguous,
``a[i]``) the wrapped numpy array is a view too, so writes go through as they do in MXNet;
where MXNet copies (transpose, flatten, expand_dims, non-contiguous slices) we copy.

Semantics follow MXNet 1.9.1's legacy (non-numpy) NDArray:

- array/scalar arithmetic keeps the array's dtype: the scalar is first cast to it
  (``int32 array * 2.5`` multiplies by 2); arrays of different dtypes are refused;
- integer division truncates toward zero; ``%`` takes the divisor's sign, ``x % 0`` is 0;
- comparisons give 0/1 in the input dtype;
- outside numpy-shape mode (:func:`mxlite.util.is_np_shape`) there are no 0-d results:
  ``a[i]`` of a 1-D array and full reductions have shape ``(1,)``, and ``zeros``/``ones`` refuse
  zero-size or 0-d shapes as MXNet does.

Fluent methods (``x.exp()``, ``x.topk(k=2)``) and the element-wise functions over arrays and
scalars (``add``, ``maximum``, ``lesser_equal``...) run the registry's operators through the
``mx.nd`` operator functions; their tables are shared with ``mx.sym`` (:mod:`mxlite.ops.fluent`).
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import autograd as _ag
from ..base import MXNetError
from ..context import Context, current_context
from ..ops.fluent import install_fluent, ufunc
from ..util import is_np_shape
from .shape_codes import infer_reshape

__all__ = ["NDArray", "array", "from_numpy", "empty", "zeros", "ones", "full", "arange",
           "zeros_like", "ones_like", "concat", "stack", "moveaxis", "waitall",
           "add", "subtract", "multiply", "divide", "true_divide", "modulo", "power", "maximum",
           "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal", "lesser",
           "lesser_equal", "logical_and", "logical_or", "logical_xor", "eye", "linspace",
           "histogram", "split_v2", "onehot_encode", "concatenate",
           "NDArrayIndexError", "NDArrayValueError", "NDArrayTypeError", "to_dlpack_for_read",
           "to_dlpack_for_write", "from_dlpack"]

_DEFAULT_DTYPE = np.dtype(np.float32)

# MXNet's module-level tables (same values as its C library's type and storage flags), for
# code that imports them from mxnet.ndarray.ndarray.
py_slice = slice
_STORAGE_TYPE_UNDEFINED = -1
_STORAGE_TYPE_DEFAULT = 0
_STORAGE_TYPE_ROW_SPARSE = 1
_STORAGE_TYPE_CSR = 2
_STORAGE_TYPE_STR_TO_ID = {"undefined": -1, "default": 0, "row_sparse": 1, "csr": 2}
_STORAGE_TYPE_ID_TO_STR = {v: k for k, v in _STORAGE_TYPE_STR_TO_ID.items()}
_SIGNED_INT32_UPPER_LIMIT = 2**31 - 1
_BFLOAT16 = np.dtype([("bfloat16", np.uint16)])
_DTYPE_NP_TO_MX = {None: -1, np.float32: 0, np.float64: 1, np.float16: 2, np.uint8: 3,
                   np.int32: 4, np.int8: 5, np.int64: 6, np.bool_: 7, _BFLOAT16: 12}
_DTYPE_MX_TO_NP = {v: k for k, v in _DTYPE_NP_TO_MX.items()}
_GRAD_REQ_MAP = {"null": 0, "write": 1, "add": 3}


class NDArrayIndexError(MXNetError, IndexError):
    """An index out of range: an MXNetError that Python's sequence protocol also understands."""


class NDArrayValueError(MXNetError, ValueError):
    """A value MXNet refuses with ``ValueError`` (bad reshape size, ambiguous truth value)."""


class NDArrayTypeError(MXNetError, TypeError):
    """An operand of a type MXNet refuses with ``TypeError``."""


def _as_dtype(dtype: Any, default: np.dtype = _DEFAULT_DTYPE) -> np.dtype:
    """A numpy dtype from MXNet's spellings: None, a name, a numpy type or dtype."""
    if dtype is None:
        return default
    if isinstance(dtype, str) and dtype == "bfloat16":
        from ..formats.arrays import bfloat16_dtype

        return np.dtype(bfloat16_dtype())
    try:
        return np.dtype(dtype)
    except TypeError:
        raise MXNetError(f"unknown dtype {dtype!r}; expected a numpy dtype or its name "
                         "('float32', 'int32', ...)") from None


def _as_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(isinstance(d, numbers.Integral) for d in dims):
        raise MXNetError(f"shape must be an int or a tuple of ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _as_ctx(ctx: Context | None) -> Context:
    if ctx is None:
        return current_context()
    if isinstance(ctx, Context):
        return ctx
    raise NDArrayTypeError(f"ctx must be a Context, got {type(ctx).__name__}")


def _check_legacy_shape(shape: tuple[int, ...], op: str) -> None:
    # In MXNet's legacy semantics ndim 0 and dim 0 mean "unknown", which creation ops refuse.
    if not is_np_shape() and (len(shape) == 0 or 0 in shape):
        raise MXNetError(f"{op}: shape {shape} has an unknown (0-d or zero) dimension; "
                         "zero-size and 0-d arrays need numpy shape semantics "
                         "(mx.npx.set_np() or mx.util.np_shape(True))")


def _legacy_shape(out: np.ndarray) -> np.ndarray:
    """Outside numpy-shape mode a would-be 0-d result is a (1,) array (a view when it can be)."""
    if out.ndim == 0 and not is_np_shape():
        return out.reshape(1)
    return out


def _trunc_divide(a: np.ndarray, b: Any) -> np.ndarray:
    """C integer division (toward zero), as MXNet's integer kernels compute it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.floor_divide(a, b)
        fix = (np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0))
    return q + fix.astype(q.dtype)


def _mod(a: np.ndarray, b: Any) -> np.ndarray:
    # MXNet's mod has the divisor's sign (numpy's) and gives 0 where the divisor is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.mod(a, b)
    zero = np.asarray(b) == 0
    if zero.any():
        r = np.where(zero, np.zeros((), r.dtype), r)
    return r


def _divide(a: np.ndarray, b: Any) -> np.ndarray:
    if np.issubdtype(np.result_type(a, b), np.integer):
        return _trunc_divide(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(a, b)


def _power(a: np.ndarray, b: Any) -> np.ndarray:
    dtype = np.result_type(a, b)
    if np.issubdtype(dtype, np.integer) and (np.asarray(b) < 0).any():
        # numpy refuses negative integer powers; MXNet computes them and truncates.
        with np.errstate(all="ignore"):
            return np.power(np.asarray(a, np.float64), np.asarray(b, np.float64)).astype(dtype)
    with np.errstate(all="ignore"):
        return np.power(a, b)


class NDArray:
    """An n-dimensional array on a device context (``mx.nd.NDArray``).

    ``NDArray(data, ctx)`` wraps the numpy array ``data`` without copying; user code creates
    arrays with :func:`array`, :func:`zeros` and friends. ``NDArray(None)`` is an empty shell
    that pickle fills through :meth:`__setstate__`.
    """

    # numpy hands ``ndarray <op> NDArray`` to our reflected operators (the higher priority
    # makes its binary operators defer), while its functions (``np.all(x)``, ``np.exp(x)``)
    # read the array through ``__array__``, as with MXNet's NDArray.
    __array_priority__ = 1000.0
    # Autograd: the tape entry that made this array (None: a constant), how backward treats
    # its gradient buffer, and whether a backward has written that buffer since a Trainer
    # last read it.
    _ag: Any = None
    _grad_req = "null"
    _fresh_grad = False

    def __init__(self, data: np.ndarray | None = None, ctx: Context | None = None):
        self._data = data
        self._ctx = ctx if ctx is not None else current_context()
        self._grad: NDArray | None = None

    # ------------------------------------------------------------------ properties

    @property
    def shape(self) -> tuple[int, ...]:
        data = self._data
        return data.shape if data is not None else ()  # () for MXNet's "none" array

    @property
    def dtype(self) -> type | None:
        """The element type as a numpy scalar type (``numpy.float32``), as MXNet reports it."""
        data = self._data
        return data.dtype.type if data is not None else None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        return "default"

    @property
    def T(self) -> NDArray:  # noqa: N802 - MXNet's name
        """The transpose (a copy); arrays of fewer than 2 dims are returned as they are."""
        if self.ndim < 2:
            return self
        return self.transpose()

    @property
    def grad(self) -> NDArray | None:
        return self._grad

    @property
    def writable(self) -> bool:
        return bool(self._data.flags.writeable)

    # ------------------------------------------------------------------ conversion

    def asnumpy(self) -> np.ndarray:
        """A numpy copy of the array."""
        if self._data is None:
            raise MXNetError("this NDArray is MXNet's \"none\" array: its shape is unknown and "
                             "it holds no values")
        return np.array(self._data, copy=True, order="C")

    def asscalar(self) -> Any:
        """The single element (MXNet: ``asnumpy()[0]`` for 1-D, ``asnumpy()[()]`` otherwise)."""
        if self.size != 1:
            raise NDArrayValueError("The current array is not a scalar")
        if self.ndim == 1:
            return self.asnumpy()[0]
        return self.asnumpy()[()]

    def astype(self, dtype: Any, copy: bool = True) -> NDArray:
        dt = _as_dtype(dtype)
        if not copy and dt == self._data.dtype:
            return self
        if _recording(self):
            return _op("Cast")(self, dtype=dt)
        return NDArray(self._data.astype(dt), self._ctx)

    def copy(self) -> NDArray:
        if _recording(self):
            return _op("_copy")(self)
        return NDArray(self._data.copy(), self._ctx)

    def copyto(self, other: NDArray | Context) -> NDArray | bool:
        """Copy into ``other`` (a same-shaped NDArray, cast to its dtype) or onto a Context."""
        if isinstance(other, NDArray):
            if other is self:
                warnings.warn("You are attempting to copy an array to itself", RuntimeWarning,
                              stacklevel=2)
                return False
            if other.shape != self.shape:
                raise MXNetError(f"copyto: target shape {other.shape} differs from source "
                                 f"shape {self.shape}")
            if other.stype != "default":
                other[:] = self
            else:
                other._data[...] = self._data
            return other
        if isinstance(other, Context):
            return NDArray(self._data.copy(), other)
        raise NDArrayTypeError(f"copyto does not support type {type(other)}")

    def as_in_context(self, context: Context) -> NDArray:
        """This array when it is already on ``context``, else a copy there."""
        if self._ctx == context:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def tostype(self, stype: str) -> NDArray:
        """A copy in storage type ``'default'``, ``'row_sparse'`` or ``'csr'``."""
        from .sparse import cast_storage

        return cast_storage(self, stype)

    def wait_to_read(self) -> None:
        """Computation is synchronous here; kept for API compatibility."""

    def wait_to_write(self) -> None:
        """Computation is synchronous here; kept for API compatibility."""

    def attach_grad(self, grad_req: str = "write", stype: str | None = None) -> None:
        """Attach a zero gradient buffer, readable as ``.grad``, making this array a variable
        of :mod:`~mxlite.autograd` (MXNet's ``attach_grad``).

        Parameters
        ----------
        grad_req : {'write', 'add', 'null'}, default 'write'
            How backward stores the gradient: overwrite, accumulate, or not at all.
        stype : {'default', 'row_sparse', 'csr'}, optional
            The storage type of the gradient; defaults to this array's own. Backward writes
            the gradient in that storage: a row_sparse gradient stores the rows the operators
            reached (``Embedding(sparse_grad=True)`` the rows looked up, ``dot(csr, w)`` the
            rows the csr's columns name), a csr one its non-zero entries.

        The buffer has this array's logical shape, dtype and context. (MXNet makes a buffer
        asked for by ``stype`` float32 on the current context; mxlite keeps the array's.)
        """
        from .sparse import zeros as _sparse_zeros

        stype = self.stype if stype is None else stype
        if stype not in ("default", "row_sparse", "csr"):
            raise NDArrayValueError(f"attach_grad: unknown storage type stype={stype!r}; "
                                    "expected 'default', 'row_sparse' or 'csr'")
        if stype == "csr" and self.ndim != 2:
            raise NDArrayValueError(f"attach_grad: stype='csr' needs a 2-D array, this one "
                                    f"has shape {self.shape}")
        if stype == "default":
            # A sparse array's dense gradient has its logical shape (not its stored values').
            buf = NDArray(np.zeros_like(self._data) if self.stype == "default" else
                          np.zeros(self.shape, self._data.dtype), self._ctx)
        else:
            buf = _sparse_zeros(stype, self.shape, ctx=self._ctx, dtype=self._data.dtype)
        _ag._mark(self, buf, grad_req)

    def backward(self, out_grad: NDArray | None = None, retain_graph: bool = False,
                 train_mode: bool = True) -> None:
        """Differentiate this array (recorded under ``autograd.record()``) with respect to
        the variables it depends on, writing their ``.grad``."""
        _ag.backward([self], None if out_grad is None else [out_grad], retain_graph,
                     train_mode)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        data = self._data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"cannot convert NDArray of {data.dtype} to {np.dtype(dtype)} "
                                 "without a copy")
            return data.astype(dtype)
        return data.copy() if copy else data

    # ------------------------------------------------------------------ python protocol

    def __repr__(self) -> str:
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()!s}\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    __str__ = __repr__

    def __len__(self) -> int:
        if self.ndim == 0:
            raise NDArrayIndexError("len() of a 0-d NDArray: it has no axis 0")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        n = self.size
        if n == 0:
            return False
        if n == 1:
            return bool(self._data.reshape(-1)[0])
        raise NDArrayValueError("The truth value of an NDArray with multiple elements is "
                                "ambiguous.")

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise NDArrayTypeError(f"only size-1 NDArrays convert to {what}; this one has "
                                   f"shape {self.shape}")
        return self._data.reshape(-1)[0]

    def __hash__(self) -> int:
        return id(self) // 16

    def __getstate__(self) -> dict:
        from ..formats.arrays import encode_record
        from .utils import to_record

        if self._data is None:
            return {"handle": None}
        # As MXNet: a V3 record under numpy-shape semantics (0-d and zero-size arrays are real).
        return {"handle": bytearray(encode_record(to_record(self), np_shape=is_np_shape()))}

    def __reduce__(self):
        return type(self), (None,), self.__getstate__()

    def __setstate__(self, state: dict) -> None:
        # The state comes from a pickle: anything unexpected is an MXNetError naming it.
        if not isinstance(state, dict) or "handle" not in state:
            raise MXNetError(f"pickled NDArray: state is a {type(state).__name__}; expected "
                             "a dict with a 'handle'")
        handle = state["handle"]
        if handle is None:
            if self.stype != "default":
                raise MXNetError(f"pickled NDArray: a {self.stype} array has no handle")
            self._data = None
            self._ctx = current_context()
            self._grad = None
            return
        if not isinstance(handle, (bytes, bytearray)):
            raise MXNetError(f"pickled NDArray: 'handle' is a {type(handle).__name__}; expected "
                             "the bytes of an array record")
        from ..formats.arrays import decode_record
        from ..formats.pickles import charge
        from .utils import from_record

        charge(len(handle), "NDArray.__setstate__")
        loaded = from_record(decode_record(bytes(handle), where="pickled NDArray"))
        if loaded.stype != self.stype:
            raise MXNetError(f"pickled NDArray: the record holds a {loaded.stype} array but "
                             f"the pickle makes a {type(self).__name__} ({self.stype})")
        self.__dict__.update(loaded.__dict__)

    # ------------------------------------------------------------------ shape

    def reshape(self, *shape: Any, **kwargs: Any) -> NDArray:
        """A view with a new shape; ``shape`` may use MXNet's codes 0, -1, -2, -3, -4.

        ``a.reshape(2, 3)``, ``a.reshape((2, 3))`` and ``a.reshape(shape=(2, 3))`` are the
        same; ``reverse=True`` applies the codes right to left.
        """
        unknown = [k for k in kwargs if k not in ("shape", "reverse")]
        if unknown:
            raise NDArrayTypeError(f"Got unknown keywords in reshape: {', '.join(unknown)}. "
                                   "Accepted keyword arguments are 'shape' and 'reverse'.")
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        elif not shape:
            shape = kwargs.get("shape")
            if shape is None:
                raise NDArrayValueError("reshape: a shape must be provided")
            shape = _as_shape(shape)
        if all(isinstance(d, numbers.Integral) and d > 0 for d in shape):
            new_shape = tuple(int(d) for d in shape)
        else:
            new_shape = infer_reshape(self.shape, shape, bool(kwargs.get("reverse", False)))
        size = self.size
        new_size = math.prod(new_shape)
        if new_size > size:
            raise MXNetError(f"NDArray.Reshape: target shape {new_shape} (from {tuple(shape)}) "
                             f"is larger than the current shape {self.shape}")
        if new_size != size:
            raise NDArrayValueError(f"Cannot reshape array of size {size} into shape "
                                    f"{tuple(shape)}")
        if _recording(self):
            return _op("Reshape")(self, shape=new_shape)
        return NDArray(self._data.reshape(new_shape), self._ctx)

    def transpose(self, *axes: Any, **kwargs: Any) -> NDArray:
        """A transposed copy; ``axes`` (positional or keyword) default to reversing."""
        if "axes" in kwargs:
            axes = kwargs.pop("axes")
        elif len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (list, tuple))):
            axes = axes[0]
        if kwargs:
            raise NDArrayTypeError(f"transpose: unknown arguments {sorted(kwargs)}")
        axes = None if axes is None or len(axes) == 0 else tuple(int(a) for a in axes)
        if _recording(self):
            return _op("transpose")(self, axes=axes if axes is not None else ())
        try:
            out = np.transpose(self._data, axes)
        except ValueError as e:
            raise MXNetError(f"transpose of shape {self.shape} with axes {axes}: {e}") from None
        return NDArray(np.ascontiguousarray(out), self._ctx)

    def expand_dims(self, axis: int, inplace: bool = False) -> NDArray:
        """Insert a size-1 axis at ``axis``; a copy unless ``inplace`` (then a view)."""
        ndim = self.ndim
        if not -ndim - 1 <= axis <= ndim:
            raise MXNetError(f"expand_dims: axis must be in the range [{-ndim - 1}, {ndim}] "
                             f"({axis} provided)")
        if _recording(self):
            return _op("expand_dims")(self, axis=axis)
        out = np.expand_dims(self._data, axis)
        return NDArray(out if inplace else out.copy(), self._ctx)

    def flatten(self, inplace: bool = False) -> NDArray:
        """Collapse all but the first axis: shape ``(d0, d1*...*dk)``; a view if ``inplace``."""
        shape = self.shape
        if not shape:
            raise MXNetError("flatten needs an array of at least 1 dim, got a 0-d array")
        if _recording(self):
            return _op("Flatten")(self)
        rest = math.prod(shape[1:])
        out = self._data.reshape((shape[0], rest))
        return NDArray(out if inplace else out.copy(), self._ctx)

    def squeeze(self, axis: int | Sequence[int] | None = None, inplace: bool = False) -> NDArray:
        """Drop size-1 axes (all of them, or ``axis``); a 1-element result keeps shape (1,)."""
        if _recording(self):
            return _op("squeeze")(self, axis=axis)
        try:
            out = np.squeeze(self._data, axis=axis)
        except ValueError as e:
            raise MXNetError(f"squeeze of shape {self.shape} on axis {axis}: {e}") from None
        out = _legacy_shape(out)
        return NDArray(out if inplace else out.copy(), self._ctx)

    def broadcast_to(self, shape: Sequence[int]) -> NDArray:
        """A copy broadcast to ``shape`` (axes of size 1 stretch; others must match)."""
        target = _as_shape(shape)
        cur = (1,) * (len(target) - self.ndim) + self.shape
        if len(target) < self.ndim or any(c != t and c != 1 for c, t in zip(cur, target)):
            raise NDArrayValueError(f"operands could not be broadcast together with remapped "
                                    f"shapes: {self.shape} and requested shape {target}")
        if _recording(self):
            return _op("broadcast_to")(self, shape=target)
        return NDArray(np.ascontiguousarray(np.broadcast_to(self._data, target)), self._ctx)

    # ------------------------------------------------------------------ reductions

    def _reduce(self, name: str, axis: Any, keepdims: bool, exclude: bool) -> NDArray:
        if _recording(self):
            return _op(name)(self, axis=axis, keepdims=keepdims, exclude=exclude)
        data = self._data
        ndim = data.ndim
        if axis is None or (isinstance(axis, (tuple, list)) and len(axis) == 0):
            axes: tuple[int, ...] | None = None
        else:
            seq = axis if isinstance(axis, (tuple, list)) else (axis,)
            try:
                axes = tuple(sorted(int(a) + ndim if int(a) < 0 else int(a) for a in seq))
            except TypeError:
                raise MXNetError(f"{name}: axis must be an int or a tuple of ints, "
                                 f"got {axis!r}") from None
            if any(not 0 <= a < ndim for a in axes) or len(set(axes)) != len(axes):
                raise MXNetError(f"{name}: axis {axis} is out of range or repeated for an "
                                 f"array of {ndim} dims")
            if exclude:
                axes = tuple(a for a in range(ndim) if a not in axes)
        dtype = data.dtype
        if name in ("max", "min"):
            if data.size == 0:
                raise MXNetError(f"{name} of a zero-size array of shape {self.shape}")
            out = (np.max if name == "max" else np.min)(data, axis=axes, keepdims=keepdims)
        elif name == "sum":
            acc = np.float32 if dtype == np.float16 else dtype
            out = np.sum(data, axis=axes, keepdims=keepdims, dtype=acc)
        else:  # mean: integer means truncate, as MXNet's sum / n does in the integer type
            acc = np.float64 if dtype.kind in "iub" else (
                np.float32 if dtype == np.float16 else dtype)
            out = np.mean(data, axis=axes, keepdims=keepdims, dtype=acc)
        out = np.asarray(out)
        if out.dtype != dtype:
            out = out.astype(dtype)
        if out.ndim == 0:
            out = out.reshape(1)
        return NDArray(out, self._ctx)

    def sum(self, axis: Any = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
        return self._reduce("sum", axis, keepdims, exclude)

    def mean(self, axis: Any = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
        return self._reduce("mean", axis, keepdims, exclude)

    def max(self, axis: Any = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
        return self._reduce("max", axis, keepdims, exclude)

    def min(self, axis: Any = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
        return self._reduce("min", axis, keepdims, exclude)

    # ------------------------------------------------------------------ indexing

    def _index_key(self, key: Any) -> Any:
        """numpy's form of an MXNet indexing key (NDArrays and lists become index arrays)."""
        if isinstance(key, NDArray):
            return key._data.astype(np.int64)
        if isinstance(key, list):
            return np.asarray(key, dtype=np.int64)
        if isinstance(key, np.ndarray) and key.dtype.kind != "b":
            return key.astype(np.int64, copy=False)
        if isinstance(key, tuple):
            return tuple(self._index_key(k) for k in key)
        return key

    def __getitem__(self, key: Any) -> NDArray:
        if _ag._STATE.recording and self._ag is not None:
            return _recorded_getitem(self, key)
        data = self._data
        if data.ndim == 0:
            if (isinstance(key, tuple) and key == ()) or (isinstance(key, slice)
                                                          and key == slice(None)):
                return self
            raise NDArrayIndexError(f"cannot index a 0-d NDArray with {key!r}")
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            n = data.shape[0] if data.ndim else 0
            k = int(key)
            if not -n <= k < n:
                raise NDArrayIndexError(f"index {k} is out of bounds for axis 0 with size {n}")
            if data.ndim == 1 and not is_np_shape():
                k %= n
                return NDArray(data[k:k + 1], self._ctx)
            return NDArray(data[k, ...], self._ctx)
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(data.shape[0])
            if key.start is not None or key.stop is not None:
                if start > stop:
                    raise MXNetError(f"Invalid slicing range [{start}, {stop}) for axis 0 of "
                                     f"size {data.shape[0]}")
            return NDArray(data[key], self._ctx)
        key = self._index_key(key)
        if isinstance(key, tuple) and not any(k is Ellipsis or isinstance(k, np.ndarray)
                                              for k in key):
            # A trailing Ellipsis makes numpy return a 0-d view rather than a scalar copy, so
            # ``a[i, j]`` writes through as MXNet's element view does.
            key = key + (Ellipsis,)
        try:
            out = data[key]
        except IndexError as e:
            raise NDArrayIndexError(f"index {key!r} into shape {self.shape}: {e}") from None
        if isinstance(out, np.ndarray) and out.base is not None and not out.flags.c_contiguous:
            # MXNet returns a view only where the selected block is contiguous.
            out = out.copy()
        return NDArray(_legacy_shape(np.asarray(out)), self._ctx)

    def __setitem__(self, key: Any, value: Any) -> None:
        _ag.check_assign(self)
        if self._data is not None and not self._data.flags.writeable:
            raise MXNetError("trying to assign into a read-only NDArray (a memory-mapped "
                             "load, say); copy() it first")
        if isinstance(value, NDArray):
            if (_ag._STATE.recording and value._ag is not None
                    and not self._whole_array_key(key)):
                # MXNet writes a part through an in-place _slice_assign, which autograd
                # refuses; a whole-array write is a recorded copy and allowed.
                raise MXNetError("Inplace operations (+=, -=, x[:]=, etc) are not supported "
                                 "when recording with autograd.")
            value = value.asnumpy() if value.stype != "default" else value._data
        elif isinstance(value, (list, tuple)):
            value = np.asarray(value)
        key = self._index_key(key)
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                try:
                    self._data[key] = value
                except ValueError:
                    # MXNet broadcasts a value of the target's size whatever its shape
                    # (``b[0] = np.array([x])`` on a 1-d array).
                    target = self._data[key]
                    if np.size(value) != np.size(target):
                        raise
                    self._data[key] = np.reshape(value, np.shape(target))
        except IndexError as e:
            raise NDArrayIndexError(f"index {key!r} into shape {self.shape}: {e}") from None
        except (ValueError, TypeError) as e:
            raise NDArrayValueError(f"cannot assign {type(value).__name__} to index {key!r} "
                                    f"of an NDArray of shape {self.shape}: {e}") from None

    def to_dlpack_for_read(self) -> Any:
        """A DLPack capsule over this array's memory, for a reader (MXNet's method)."""
        return to_dlpack_for_read(self)

    def to_dlpack_for_write(self) -> Any:
        """A DLPack capsule over this array's memory, for a writer (MXNet's method)."""
        return to_dlpack_for_write(self)

    def _whole_array_key(self, key: Any) -> bool:
        """Whether ``key`` selects the whole array in order (``None``, ``...``, ``:``)."""
        if key is None or key is Ellipsis:
            return True
        keys = key if isinstance(key, tuple) else (key,)
        if not all(k is None or k is Ellipsis or isinstance(k, slice) for k in keys):
            return False
        try:
            view = self._data[key]
        except IndexError:
            return False
        return (isinstance(view, np.ndarray) and view.size == self._data.size
                and view.strides == self._data.reshape(view.shape).strides)

    @staticmethod
    def _basic_indexing_slice_is_contiguous(slc_key: Sequence[slice],
                                            shape: Sequence[int]) -> bool:
        """Whether slicing an array of ``shape`` with ``slc_key`` (one slice per axis) gives
        a C-contiguous block, which MXNet returns as a view rather than a copy."""
        if len(slc_key) != len(shape):
            raise NDArrayValueError(f"key has {len(slc_key)} slices for {len(shape)} axes")
        # numpy decides contiguity from strides alone: index a strided stand-in, no memory.
        dummy = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=tuple(shape),
                                                strides=_c_strides(shape), writeable=False)
        return bool(dummy[tuple(slc_key)].flags.c_contiguous)

    # ------------------------------------------------------------------ arithmetic

    def _operand(self, other: Any) -> Any:
        """``other`` as numpy in this array's dtype (a scalar is cast first, as MXNet does)."""
        dtype = self._data.dtype
        if isinstance(other, NDArray):
            if other.stype != "default":
                other = other.tostype("default")
            if other._data.dtype != dtype:
                raise MXNetError(f"operands have different dtypes: expected "
                                 f"{dtype}, got {other._data.dtype}")
            return other._data
        if isinstance(other, (numbers.Number, np.generic)):
            try:
                return dtype.type(other)
            except (OverflowError, ValueError, TypeError):
                # e.g. -1 for uint8: wrap around as MXNet's C cast does
                with np.errstate(all="ignore"):
                    return np.asarray(other).astype(dtype)
        if isinstance(other, np.ndarray):
            return other.astype(dtype, copy=False)
        raise NDArrayTypeError(f"type {type(other)} not supported")

    def _binary(self, other: Any, fn, reflected: bool = False) -> NDArray:
        if _ag._STATE.recording and fn in _RECORDED and _recording(self, other):
            return _recorded_binary(self, other, fn, reflected)
        b = self._operand(other)
        a = self._data
        if reflected:
            a, b = b, a
        try:
            out = fn(a, b)
        except ValueError:
            raise MXNetError(f"operands of shapes {np.shape(a)} and {np.shape(b)} cannot be "
                             "broadcast together") from None
        out = np.asarray(out)
        if out.dtype != self._data.dtype:
            out = out.astype(self._data.dtype)
        return NDArray(out, self._ctx)

    def _inplace(self, other: Any, fn) -> NDArray:
        if not self.writable:
            raise MXNetError("trying to modify a read-only NDArray in place")
        _ag.check_assign(self)
        result = self._binary(other, fn)._data
        try:
            self._data[...] = result
        except ValueError:
            raise MXNetError(f"in-place result of shape {result.shape} does not fit the "
                             f"array's shape {self.shape}") from None
        return self

    def __add__(self, other):
        return self._binary(other, np.add)

    def __radd__(self, other):
        return self._binary(other, np.add, True)

    def __iadd__(self, other):
        return self._inplace(other, np.add)

    def __sub__(self, other):
        return self._binary(other, np.subtract)

    def __rsub__(self, other):
        return self._binary(other, np.subtract, True)

    def __isub__(self, other):
        return self._inplace(other, np.subtract)

    def __mul__(self, other):
        return self._binary(other, np.multiply)

    def __rmul__(self, other):
        return self._binary(other, np.multiply, True)

    def __imul__(self, other):
        return self._inplace(other, np.multiply)

    def __truediv__(self, other):
        return self._binary(other, _divide)

    def __rtruediv__(self, other):
        return self._binary(other, _divide, True)

    def __itruediv__(self, other):
        return self._inplace(other, _divide)

    __div__, __rdiv__, __idiv__ = __truediv__, __rtruediv__, __itruediv__

    def __mod__(self, other):
        return self._binary(other, _mod)

    def __rmod__(self, other):
        return self._binary(other, _mod, True)

    def __imod__(self, other):
        return self._inplace(other, _mod)

    def __pow__(self, other):
        return self._binary(other, _power)

    def __rpow__(self, other):
        return self._binary(other, _power, True)

    def __eq__(self, other):  # type: ignore[override]
        return self._binary(other, np.equal)

    def __ne__(self, other):  # type: ignore[override]
        return self._binary(other, np.not_equal)

    def __lt__(self, other):
        return self._binary(other, np.less)

    def __le__(self, other):
        return self._binary(other, np.less_equal)

    def __gt__(self, other):
        return self._binary(other, np.greater)

    def __ge__(self, other):
        return self._binary(other, np.greater_equal)

    def __neg__(self) -> NDArray:
        if _recording(self):
            return _op("negative")(self)
        return NDArray(np.negative(self._data), self._ctx)

    def __abs__(self) -> NDArray:
        if _recording(self):
            return _op("abs")(self)
        return NDArray(np.abs(self._data), self._ctx)

    def abs(self) -> NDArray:
        return self.__abs__()

    # ------------------------------------------------------------------ fluent methods
    # The operator-forwarding ones (``x.exp()``, ``x.softmax(axis=1)``...) are installed from
    # mxlite.ops.fluent.FLUENT below the class; these are the ones MXNet spells differently.

    def diag(self, k: int = 0, **kwargs: Any) -> NDArray:
        """The ``k``-th diagonal (of a 2-D array) or a diagonal matrix (of a 1-D one)."""
        return _op("diag")(self, k, **kwargs)

    def split_v2(self, *args: Any, **kwargs: Any) -> NDArray | list[NDArray]:
        """:func:`split_v2` with this array as ``ary``."""
        return split_v2(self, *args, **kwargs)

    def broadcast_like(self, other: NDArray) -> NDArray:
        """A copy broadcast to ``other``'s shape (as :meth:`broadcast_to`)."""
        return self.broadcast_to(other.shape)

    def argmax_channel(self) -> NDArray:
        """Indices of the maxima along axis 1 (the channels), keeping the other axes' order
        (MXNet's ``argmax_channel`` operator)."""
        return _op("argmax_channel")(self)

    def detach(self) -> NDArray:
        """This array's values (shared, not copied) without its gradient buffer."""
        return NDArray(self._data, self._ctx)

    def as_nd_ndarray(self) -> NDArray:
        """This array: it is already a classic (``mx.nd``) NDArray."""
        return self

    def _crop_key(self, begin: Sequence, end: Sequence, step: Sequence | None,
                  what: str) -> tuple[slice, ...]:
        step = step if step is not None and len(step) else (None,) * len(begin)
        if not len(begin) == len(end) == len(step) or len(begin) > self.ndim:
            raise MXNetError(f"{what}: begin {tuple(begin)}, end {tuple(end)} and step "
                             f"{tuple(step)} must have one entry each per leading axis of an "
                             f"array of shape {self.shape}")
        if any(s == 0 for s in step):
            raise MXNetError(f"{what}: slice step cannot be zero")
        return tuple(slice(b, e, s) for b, e, s in zip(begin, end, step))

    def slice_assign(self, rhs: NDArray, begin: Sequence, end: Sequence,
                     step: Sequence | None) -> NDArray:
        """Write ``rhs`` into the crop ``begin:end:step`` of this array, in place; returns it."""
        key = self._crop_key(begin, end, step, "slice_assign")
        if not isinstance(rhs, NDArray):
            raise NDArrayTypeError(f"slice_assign: rhs must be an NDArray, got {type(rhs)}")
        crop = self._data[key].shape
        if rhs.shape != crop:
            raise MXNetError(f"slice_assign: rhs has shape {rhs.shape}, the crop "
                             f"{tuple(begin)}:{tuple(end)}:{tuple(step or ())} of shape "
                             f"{self.shape} has shape {crop}")
        self[key] = rhs
        return self

    def slice_assign_scalar(self, value: float, begin: Sequence, end: Sequence,
                            step: Sequence | None) -> NDArray:
        """Fill the crop ``begin:end:step`` of this array with ``value``, in place."""
        self[self._crop_key(begin, end, step, "slice_assign_scalar")] = self._operand(
            float(value))
        return self


def _op(name: str) -> Any:
    """``mx.nd.<name>``: register.py imports this module, so it is imported on first call."""
    from .register import make_function

    return make_function(name)


def _recording(*arrays: Any) -> bool:
    """Whether a computation on these arrays must be taped: then the methods that work on
    numpy directly run the registry operator MXNet records instead, so its backward applies."""
    return _ag._tracked(arrays)


install_fluent(NDArray, _op, "array")


# NDArray arithmetic on recorded arrays runs MXNet's operators: (array op, scalar op, scalar op
# with the scalar on the left). Comparisons are not recorded: their gradient is zero.
_RECORDED = {
    np.add: ("broadcast_add", "_plus_scalar", "_plus_scalar"),
    np.subtract: ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
    np.multiply: ("broadcast_mul", "_mul_scalar", "_mul_scalar"),
    _divide: ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
    _mod: ("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
    _power: ("broadcast_power", "_power_scalar", "_rpower_scalar"),
}


def _recorded_binary(a: NDArray, other: Any, fn: Any, reflected: bool) -> NDArray:
    array_op, scalar_op, rscalar_op = _RECORDED[fn]
    if isinstance(other, np.ndarray):
        other = NDArray(other.astype(a._data.dtype, copy=False), a._ctx)
    if isinstance(other, NDArray):
        a._operand(other)  # the dtype check
        lhs, rhs = (other, a) if reflected else (a, other)
        return _op(array_op)(lhs, rhs)
    scalar = a._operand(other)  # cast to the array's dtype first, as MXNet does
    return _op(rscalar_op if reflected else scalar_op)(a, scalar=scalar.item())


def _basic_key(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, slice)
               or (isinstance(k, numbers.Integral) and not isinstance(k, bool)) for k in parts)


def _recorded_getitem(a: NDArray, key: Any) -> NDArray:
    """``a[key]`` of a recorded array through MXNet's operators: ``slice`` then ``Reshape`` for
    basic keys, ``take`` / ``gather_nd`` for index arrays, so the gradient flows."""
    data = a._data
    if _basic_key(key):
        shape = np.asarray(data[key]).shape
        out_shape = shape if shape or is_np_shape() else (1,)
        parts = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in parts):
            i = next(j for j, k in enumerate(parts) if k is Ellipsis)
            fill = data.ndim - sum(1 for k in parts if k is not None and k is not Ellipsis)
            parts = parts[:i] + (slice(None),) * fill + parts[i + 1:]
        parts = tuple(k for k in parts if k is not None)
        if len(parts) > data.ndim:
            raise NDArrayIndexError(f"too many indices {key!r} for shape {a.shape}")
        begin, end, step = [], [], []
        for k, n in zip(parts, data.shape):
            if isinstance(k, slice):
                b, e, st = k.indices(n)
                if st < 0 and e < 0:
                    e = None  # through the first element: MXNet's "None", not -1
                begin.append(b)
                end.append(e)
                step.append(st)
            else:
                i = int(k) + n if int(k) < 0 else int(k)
                if not 0 <= i < n:
                    raise NDArrayIndexError(f"index {k} is out of bounds for axis with size {n}")
                begin.append(i)
                end.append(i + 1)
                step.append(1)
        out = _op("slice")(a, begin=tuple(begin), end=tuple(end), step=tuple(step))
        return out if out.shape == out_shape else _op("Reshape")(out, shape=out_shape)
    parts = key if isinstance(key, tuple) else (key,)
    idx = [k if isinstance(k, NDArray) else NDArray(np.asarray(k), a._ctx) for k in parts
           if isinstance(k, (NDArray, np.ndarray, list))]
    if len(idx) != len(parts) or any(i._data.dtype.kind == "b" for i in idx):
        # Any other mix (ints, slices, None, boolean masks and index arrays): numpy says which
        # elements the key picks; gather_nd takes them, so the gradient scatters back.
        try:
            flat = np.arange(data.size).reshape(data.shape)[a._index_key(key)]
        except IndexError as e:
            raise NDArrayIndexError(f"index {key!r} into shape {a.shape}: {e}") from None
        flat = np.asarray(flat)
        coords = np.stack(np.unravel_index(flat, data.shape)) if data.ndim else flat[None]
        out = _op("gather_nd")(a, NDArray(coords.astype(np.int64), a._ctx))
        if out.shape != flat.shape:
            out = _op("Reshape")(out, shape=flat.shape or (1,))
        return out
    if len(idx) == 1:
        return _op("take")(a, idx[0].astype(a._data.dtype), axis=0)
    return _op("gather_nd")(a, stack(*[i.astype(a._data.dtype) for i in idx]))


# ---------------------------------------------------------------------- creation


def array(source_array: Any, ctx: Context | None = None, dtype: Any = None) -> NDArray:
    """A new NDArray copied from ``source_array`` (an NDArray, numpy array, list, scalar).

    As in MXNet the dtype defaults to the source's for an NDArray and to float32 for anything
    else, numpy arrays of other dtypes included. Sparse sources give sparse copies.
    """
    if isinstance(source_array, NDArray):
        if source_array.stype != "default":
            from .sparse import array as sparse_array

            return sparse_array(source_array, ctx=ctx, dtype=dtype)
        dt = _as_dtype(dtype, source_array._data.dtype)
        return NDArray(source_array._data.astype(dt), _as_ctx(ctx))
    if hasattr(source_array, "tocsr") and hasattr(source_array, "nnz"):  # scipy.sparse
        from .sparse import csr_matrix

        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    dt = _as_dtype(dtype)
    try:
        data = np.array(source_array, dtype=dt)
    except (TypeError, ValueError) as e:
        raise NDArrayTypeError(f"source_array must be array like object: {e}") from None
    return NDArray(data, _as_ctx(ctx))


def from_numpy(ndarray: np.ndarray, zero_copy: bool = True) -> NDArray:
    """An NDArray over a numpy array's memory (``zero_copy``) or over a copy of it.

    As in MXNet, a zero-copy conversion takes the array over: the numpy array becomes
    read-only, while the NDArray stays writable. Only C-contiguous arrays can be taken over.
    """
    if not isinstance(ndarray, np.ndarray):
        raise NDArrayTypeError(f"from_numpy expects a numpy.ndarray, got {type(ndarray).__name__}")
    if not zero_copy:
        return NDArray(np.array(ndarray, copy=True, order="C"), current_context())
    if not ndarray.flags.c_contiguous:
        raise NDArrayValueError("Only c-contiguous arrays are supported for zero-copy")
    if not ndarray.flags.writeable:
        # Taken over before (or read-only): MXNet's NDArray owns the memory and stays
        # writable. numpy lets the flag back on where the memory's owner is writable;
        # truly read-only memory (a read-only map, bytes) is copied instead.
        try:
            ndarray.flags.writeable = True
        except ValueError:
            return NDArray(np.array(ndarray, copy=True, order="C"), current_context())
    view = ndarray.view()
    ndarray.flags.writeable = False
    return NDArray(view, current_context())


def empty(shape: Any, ctx: Context | None = None, dtype: Any = None,
          stype: str | None = None) -> NDArray:
    """An uninitialised array (its contents are whatever the allocator gives); ``stype``
    'row_sparse' or 'csr' gives a sparse array with nothing stored."""
    if stype not in (None, "default"):
        from .sparse import empty as sparse_empty

        return sparse_empty(stype, shape, ctx=ctx, dtype=dtype)
    return NDArray(np.empty(_as_shape(shape), _as_dtype(dtype)), _as_ctx(ctx))


def zeros(shape: Any, ctx: Context | None = None, dtype: Any = None, stype: str | None = None,
          **kwargs: Any) -> NDArray:
    """An all-zero array; ``stype`` 'row_sparse' or 'csr' gives a sparse one (nothing
    stored), as MXNet's ``mx.nd.zeros``."""
    if stype not in (None, "default"):
        from .sparse import zeros as sparse_zeros

        return sparse_zeros(stype, shape, ctx=ctx, dtype=dtype, **kwargs)
    shape = _as_shape(shape)
    _check_legacy_shape(shape, "zeros")
    if kwargs.get("out") is not None:
        return _fill_out(kwargs["out"], 0, shape)
    return NDArray(np.zeros(shape, _as_dtype(dtype)), _as_ctx(ctx))


def _c_strides(shape: Sequence[int]) -> tuple[int, ...]:
    strides, acc = [], 1
    for d in reversed(tuple(shape)):
        strides.append(acc)
        acc *= max(int(d), 1)
    return tuple(reversed(strides))


def _fill_out(out: NDArray, value: float, shape: tuple) -> NDArray:
    """``out=`` of MXNet's ``_zeros`` / ``_ones``: fill ``out`` in place."""
    if not isinstance(out, NDArray):
        raise NDArrayTypeError(f"out must be an NDArray, got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise NDArrayValueError(f"out has shape {out.shape}, the result has {tuple(shape)}")
    out._data[...] = value
    return out


def ones(shape: Any, ctx: Context | None = None, dtype: Any = None, **kwargs: Any) -> NDArray:
    shape = _as_shape(shape)
    _check_legacy_shape(shape, "ones")
    if kwargs.get("out") is not None:
        return _fill_out(kwargs["out"], 1, shape)
    return NDArray(np.ones(shape, _as_dtype(dtype)), _as_ctx(ctx))


def full(shape: Any, val: Any, ctx: Context | None = None, dtype: Any = None,
         out: NDArray | None = None) -> NDArray:
    """An array filled with ``val`` (cast to ``dtype``, float32 by default)."""
    dt = _as_dtype(dtype)
    with np.errstate(all="ignore"):
        value = np.asarray(val).astype(dt)
    if out is not None:
        out._data[...] = value
        return out
    return NDArray(np.full(_as_shape(shape), value, dt), _as_ctx(ctx))


def arange(start: float, stop: float | None = None, step: float = 1.0, repeat: int = 1,
           infer_range: bool | None = None, ctx: Context | None = None,
           dtype: Any = None) -> NDArray:
    """Evenly spaced values in ``[start, stop)``, each repeated ``repeat`` times.

    As MXNet's kernel does, ``start`` and ``step`` are cast to ``dtype`` before use.
    """
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise MXNetError("arange: step must not be 0")
    if (step > 0 and not start < stop) or (step < 0 and not start > stop):
        raise MXNetError(f"arange: invalid range (start, stop, step) = ({start}, {stop}, "
                         f"{step})")
    if repeat < 1:
        raise MXNetError(f"arange: repeat must be >= 1, got {repeat}")
    dt = _as_dtype(dtype)
    n = int(np.ceil((stop - start) / step))
    idx = np.arange(n * repeat, dtype=np.int64) // repeat
    with np.errstate(all="ignore"):
        values = idx.astype(dt) * np.asarray(step).astype(dt) + np.asarray(start).astype(dt)
    return NDArray(values.astype(dt, copy=False), _as_ctx(ctx))


def zeros_like(data: NDArray, **kwargs: Any) -> NDArray:
    """An array of zeros with ``data``'s shape and dtype (or written into ``out=``); dense,
    also for a sparse ``data`` (its logical shape: mxlite keeps gradients dense, and gradient
    buffers are made with this function). ``mx.nd.sparse.zeros_like`` and the fluent
    ``x.zeros_like()`` keep the storage type, as MXNet's ``zeros_like`` does."""
    if kwargs:
        return _op("zeros_like")(data, **kwargs)
    return NDArray(np.zeros(data.shape, data._data.dtype), data._ctx)


def ones_like(data: NDArray, **kwargs: Any) -> NDArray:
    """An array of ones with ``data``'s shape and dtype (or written into ``out=``); dense,
    also for a sparse ``data``."""
    if kwargs:
        return _op("ones_like")(data, **kwargs)
    return NDArray(np.ones(data.shape, data._data.dtype), data._ctx)


def _same_dtype(arrays: Sequence[NDArray], op: str) -> list[np.ndarray]:
    if not arrays:
        raise MXNetError(f"{op}: needs at least one array")
    if any(not isinstance(a, NDArray) for a in arrays):
        raise NDArrayTypeError(f"{op}: every input must be an NDArray")
    dtype = arrays[0]._data.dtype
    for i, a in enumerate(arrays):
        if a._data.dtype != dtype:
            raise MXNetError(f"{op}: non-uniform data type, expected {dtype}, got "
                             f"{a._data.dtype} for input {i}")
    return [a._data if a.stype == "default" else a.asnumpy() for a in arrays]


def _any_sparse(data: Sequence[Any]) -> bool:
    return any(isinstance(a, NDArray) and a.stype != "default" for a in data)


def _unpack(data: tuple) -> tuple:
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        return tuple(data[0])
    return data


def concat(*data: NDArray, dim: int = 1, **kwargs: Any) -> NDArray:
    """Join arrays along ``dim`` (MXNet's default is 1)."""
    data = _unpack(data)
    if _recording(*data) or _any_sparse(data):
        # sparse inputs: the operator decides the storage type (csr along dim 0 stays csr)
        return _op("Concat")(*data, dim=dim)
    arrays = _same_dtype(data, "concat")
    try:
        out = np.concatenate(arrays, axis=dim)
    except ValueError as e:
        raise MXNetError(f"concat of shapes {[a.shape for a in arrays]} along dim {dim}: "
                         f"{e}") from None
    return NDArray(out, data[0]._ctx)


def stack(*data: NDArray, axis: int = 0, **kwargs: Any) -> NDArray:
    """Join same-shaped arrays along a new axis."""
    data = _unpack(data)
    if _recording(*data) or _any_sparse(data):
        return _op("stack")(*data, axis=axis)
    arrays = _same_dtype(data, "stack")
    try:
        out = np.stack(arrays, axis=axis)
    except ValueError as e:
        raise MXNetError(f"stack of shapes {[a.shape for a in arrays]} on axis {axis}: "
                         f"{e}") from None
    return NDArray(out, data[0]._ctx)


def moveaxis(tensor: NDArray, source: int | Sequence[int],
             destination: int | Sequence[int]) -> NDArray:
    """Move axes to new positions (a copy, as MXNet's transpose gives)."""
    try:
        out = np.moveaxis(tensor._data, source, destination)
    except ValueError as e:
        raise NDArrayValueError(f"moveaxis of shape {tensor.shape}: {e}") from None
    return NDArray(np.ascontiguousarray(out), tensor._ctx)


def _to_dlpack(data: NDArray, what: str) -> Any:
    if not isinstance(data, NDArray):
        raise NDArrayTypeError(f"{what} expects an NDArray, got {type(data).__name__}")
    arr = data._data if data.stype == "default" else data.asnumpy()
    try:  # a versioned capsule carries the read-only flag, so consumers may write
        return arr.__dlpack__(max_version=(1, 0))
    except TypeError:  # numpy < 2 knows only the unversioned capsule
        return arr.__dlpack__()


def to_dlpack_for_read(data: NDArray) -> Any:
    """A DLPack capsule (``PyCapsule``) sharing ``data``'s memory, for reading."""
    return _to_dlpack(data, "to_dlpack_for_read")


def to_dlpack_for_write(data: NDArray) -> Any:
    """A DLPack capsule sharing ``data``'s memory, through which a consumer may write."""
    return _to_dlpack(data, "to_dlpack_for_write")


class _Capsule:
    """Presents a bare DLPack capsule through the ``__dlpack__`` protocol numpy reads."""

    def __init__(self, capsule: Any):
        self._capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU, device 0: mxlite's memory is host memory


def from_dlpack(dlpack: Any) -> NDArray:
    """An NDArray sharing the memory of a DLPack capsule (or any object with
    ``__dlpack__``, such as a numpy array or a torch tensor on the CPU)."""
    src = dlpack if hasattr(dlpack, "__dlpack__") else _Capsule(dlpack)
    try:
        arr = np.from_dlpack(src)
    except (TypeError, ValueError, BufferError, RuntimeError) as e:
        raise NDArrayValueError(f"from_dlpack: cannot import {type(dlpack).__name__}: {e}") \
            from None
    return NDArray(arr, current_context())


def waitall() -> None:
    """Computation is synchronous here; kept for API compatibility."""


# ---------------------------------------------------------------------- element-wise functions
# MXNet's python functions over NDArrays and scalars: two arrays broadcast (``broadcast_*``),
# an array and a scalar use the scalar operator (its ``_r*`` twin when the scalar is on the
# left), two scalars give the Python value.

_NUMERIC = (numbers.Number, np.generic)


def _ufunc(array_op: str, python_fn: Any, scalar_op: str, rscalar_op: str | None = None,
           name: str = "", doc: str = "") -> Any:
    def fn(lhs: Any, rhs: Any) -> Any:
        return ufunc(lhs, rhs, NDArray, _op(array_op), python_fn,
                     lambda a, x: _op(scalar_op)(a, float(x)),
                     None if rscalar_op is None else lambda a, x: _op(rscalar_op)(a, float(x)),
                     _NUMERIC)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc} element-wise, with broadcasting; each operand may be an NDArray or "
                  "a number (two numbers give a number).")
    return fn


def _flag(test: Any) -> Any:
    return lambda x, y: 1 if test(x, y) else 0


add = _ufunc("broadcast_add", operator.add, "_plus_scalar", None, "add", "``lhs + rhs``")
subtract = _ufunc("broadcast_sub", operator.sub, "_minus_scalar", "_rminus_scalar", "subtract",
                  "``lhs - rhs``")
multiply = _ufunc("broadcast_mul", operator.mul, "_mul_scalar", None, "multiply",
                  "``lhs * rhs``")
divide = _ufunc("broadcast_div", operator.truediv, "_div_scalar", "_rdiv_scalar", "divide",
                "``lhs / rhs``")
modulo = _ufunc("broadcast_mod", operator.mod, "_mod_scalar", "_rmod_scalar", "modulo",
                "``lhs % rhs``")
power = _ufunc("broadcast_power", operator.pow, "_power_scalar", "_rpower_scalar", "power",
               "``base ** exp``")
maximum = _ufunc("broadcast_maximum", lambda x, y: x if x > y else y, "_maximum_scalar", None,
                 "maximum", "The larger of ``lhs`` and ``rhs``")
minimum = _ufunc("broadcast_minimum", lambda x, y: x if x < y else y, "_minimum_scalar", None,
                 "minimum", "The smaller of ``lhs`` and ``rhs``")
hypot = _ufunc("broadcast_hypot", np.hypot, "_hypot_scalar", None, "hypot",
               "``sqrt(lhs**2 + rhs**2)``")
equal = _ufunc("broadcast_equal", _flag(operator.eq), "_equal_scalar", None, "equal",
               "1 where ``lhs == rhs``, else 0,")
not_equal = _ufunc("broadcast_not_equal", _flag(operator.ne), "_not_equal_scalar", None,
                   "not_equal", "1 where ``lhs != rhs``, else 0,")
greater = _ufunc("broadcast_greater", _flag(operator.gt), "_greater_scalar", "_lesser_scalar",
                 "greater", "1 where ``lhs > rhs``, else 0,")
greater_equal = _ufunc("broadcast_greater_equal", _flag(operator.ge), "_greater_equal_scalar",
                       "_lesser_equal_scalar", "greater_equal", "1 where ``lhs >= rhs``, else 0,")
lesser = _ufunc("broadcast_lesser", _flag(operator.lt), "_lesser_scalar", "_greater_scalar",
                "lesser", "1 where ``lhs < rhs``, else 0,")
lesser_equal = _ufunc("broadcast_lesser_equal", _flag(operator.le), "_lesser_equal_scalar",
                      "_greater_equal_scalar", "lesser_equal", "1 where ``lhs <= rhs``, else 0,")
logical_and = _ufunc("broadcast_logical_and", _flag(lambda x, y: x and y),
                     "_logical_and_scalar", None, "logical_and",
                     "1 where both operands are non-zero, else 0,")
logical_or = _ufunc("broadcast_logical_or", _flag(lambda x, y: x or y), "_logical_or_scalar",
                    None, "logical_or", "1 where either operand is non-zero, else 0,")
logical_xor = _ufunc("broadcast_logical_xor", _flag(lambda x, y: bool(x) ^ bool(y)),
                     "_logical_xor_scalar", None, "logical_xor",
                     "1 where exactly one operand is non-zero, else 0,")


def true_divide(lhs: Any, rhs: Any) -> Any:
    """:func:`divide` (legacy NDArrays divide in their own dtype either way)."""
    return divide(lhs, rhs)


# ---------------------------------------------------------------------- other functions


def eye(N: int, M: int = 0, k: int = 0, ctx: Context | None = None,  # noqa: N803
        dtype: Any = None, **kwargs: Any) -> NDArray:
    """A 2-D array with ones on the ``k``-th diagonal (``M`` columns; 0 means ``N``)."""
    return _op("_eye")(N=N, M=M, k=k, ctx=_as_ctx(ctx),
                       dtype=_DEFAULT_DTYPE if dtype is None else dtype, **kwargs)


def linspace(start: float, stop: float, num: int, endpoint: bool = True,
             ctx: Context | None = None, dtype: Any = _DEFAULT_DTYPE) -> NDArray:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included if ``endpoint``)."""
    return _op("_linspace")(start=start, stop=stop, num=num, endpoint=endpoint, dtype=dtype,
                            ctx=_as_ctx(ctx))


def histogram(a: NDArray, bins: Any = 10, range: Any = None) -> Any:  # noqa: A002
    """Counts of ``a``'s values per bin, and the bin edges.

    ``bins`` is an NDArray of edges, or a count of equal bins over ``range`` (``(low,
    high)``); without a range MXNet defers to numpy over the data's own range, with a warning.
    """
    if isinstance(bins, NDArray):
        return _op("_histogram")(data=a, bins=bins)
    if isinstance(bins, numbers.Integral):
        if range is None:
            warnings.warn("range is not specified, using numpy's result to ensure consistency "
                          "with numpy", stacklevel=2)
            res, bin_bounds = np.histogram(a.asnumpy(), bins=int(bins))
            return array(res), array(bin_bounds)
        return _op("_histogram")(data=a, bin_cnt=bins, range=range)
    raise ValueError("bins argument should be either an integer or an NDArray")


def split_v2(ary: NDArray, indices_or_sections: int | tuple[int, ...], axis: int = 0,
             squeeze_axis: bool = False) -> NDArray | list[NDArray]:
    """Split ``ary`` along ``axis`` into equal sections, or before each of the given indices."""
    if isinstance(indices_or_sections, numbers.Integral):
        sections = int(indices_or_sections)
        axis_size = ary.shape[axis]
        if sections <= 0 or axis_size % sections:
            raise ValueError("array split does not result in an equal division")
        size = axis_size // sections
        indices = [i * size for i in range(sections)]
    elif isinstance(indices_or_sections, tuple):
        indices = [0, *indices_or_sections]
    else:
        raise ValueError("indices_or_sections must either int or tuple of ints")
    return _op("_split_v2")(ary, indices, axis, squeeze_axis)


def onehot_encode(indices: NDArray, out: NDArray) -> NDArray:
    """Write the one-hot rows of ``indices`` into ``out`` (shape ``(n, depth)``); returns it."""
    if indices.ndim != 1 or out.ndim != 2 or indices.shape != out.shape[:1]:
        raise MXNetError(f"onehot_encode: out must have shape (n, depth) for indices of shape "
                         f"(n,); got indices {indices.shape} and out {out.shape}")
    if indices._data.dtype != _DEFAULT_DTYPE or out._data.dtype != _DEFAULT_DTYPE:
        raise MXNetError(f"onehot_encode only supports float32 indices and out, got "
                         f"{indices._data.dtype} and {out._data.dtype}")
    return _op("one_hot")(indices, depth=out.shape[1], dtype=_DEFAULT_DTYPE, out=out)


def concatenate(arrays: list[NDArray], axis: int = 0, always_copy: bool = True) -> NDArray:
    """Join a list of arrays along ``axis`` (0 by default, unlike :func:`concat`)."""
    if not isinstance(arrays, list) or not arrays or not isinstance(arrays[0], NDArray):
        raise MXNetError("concatenate expects a non-empty list of NDArrays")
    if not always_copy and len(arrays) == 1:
        return arrays[0]
    return concat(*arrays, dim=axis)
