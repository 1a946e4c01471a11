"""Gluon parameters (``mx.gluon.Parameter``, ``Constant``, ``ParameterDict``), as MXNet 1.9.1.

A :class:`Parameter` holds one NDArray per context it was initialized on and, unless its
``grad_req`` is ``'null'``, a gradient array attached to each (``autograd.mark_variables``),
so ``autograd.backward`` writes or adds the gradients there and a Trainer reads them with
``list_grad()``. A shape may contain unknown dimensions (0, or -1 under numpy shape
semantics); with ``allow_deferred_init`` initialization then waits for the first forward pass
to fill them.

Storage types, as MXNet 1.9.1: a ``grad_stype='row_sparse'`` (or ``'csr'``) Parameter's
gradients are stored sparse (an ``Embedding(sparse_grad=True)`` writes the rows it looked up).
A ``stype='row_sparse'`` Parameter's values are RowSparseNDArrays; its full value lives in the
Trainer's kvstore, which updates it, and :meth:`Parameter.row_sparse_data` pulls the rows a
batch needs into the array on that context (``data()`` refuses such a Parameter).

Loading parameters (:meth:`ParameterDict.load`, ``Block.load_parameters``) checks every name,
shape, dtype and context first and changes nothing unless all of them fit: a failed load
raises an :class:`~mxlite.base.MXNetError` naming the parameter and both shapes, or the
missing / unexpected names, and leaves every parameter as it was.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import autograd, initializer, symbol
from .. import ndarray as nd
from ..base import MXNetError
from ..context import Context, cpu, current_context
from ..ndarray.ndarray import NDArray
from ..ndarray.sparse import RowSparseNDArray
from ..util import is_np_shape
from .utils import _brief_print_list, _indent, shape_is_known

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "ParameterDict",
           "tensor_types"]

tensor_types = (symbol.Symbol, NDArray)

_GRAD_REQS = ("write", "add", "null")
_STYPES = ("default", "row_sparse", "csr")
# One shared default initializer, as MXNet's default argument is one object.
_DEFAULT_INIT = initializer.Uniform()
_NAMING_HELP = ("For more info on naming, please see "
                "https://mxnet.io/api/python/docs/tutorials/packages/gluon/blocks/naming.html")


class ParameterAssertionError(MXNetError, AssertionError):
    """Where MXNet's ``gluon/parameter.py`` fails an ``assert`` (an invalid ``stype`` or
    ``grad_req``, a shape that does not fit, a name clash in a ParameterDict)."""


class ParameterValueError(MXNetError, ValueError):
    """Where MXNet's ``gluon/parameter.py`` raises ``ValueError`` (initializing or moving a
    Parameter whose shape is unknown or that was never initialized)."""


class ParameterTypeError(MXNetError, TypeError):
    """Where MXNet's ``gluon/parameter.py`` raises ``TypeError`` (row ids that are not an
    NDArray)."""


class DeferredInitializationError(MXNetError):
    """A parameter whose initialization waits for the first forward pass was read before it."""


def _ctx_list(ctx: Context | Sequence[Context] | None) -> list[Context]:
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    return list(ctx)


class Parameter:
    """A container of one weight of a Block: its value on every context, and gradients.

    Parameters
    ----------
    name : str
        Name of the parameter (a Block's prefix plus its own name, ``dense0_weight``).
    grad_req : {'write', 'add', 'null'}, default 'write'
        How backward stores the gradient: overwrite, accumulate (call :meth:`zero_grad`
        between steps), or not at all (no gradient arrays).
    shape : int or tuple of int, optional
        The shape; unknown dimensions are 0 (-1 under numpy shape semantics).
    dtype : numpy dtype or str, default float32
    lr_mult, wd_mult : float, default 1.0
        Multipliers of the optimizer's learning rate and weight decay for this parameter.
    init : Initializer or str, optional
        Its initializer, taking precedence over the one passed to :meth:`initialize`.
    allow_deferred_init : bool, default False
        Whether :meth:`initialize` may wait for a forward pass to learn the shape.
    differentiable : bool, default True
        False forces ``grad_req='null'``.
    stype : {'default', 'row_sparse', 'csr'}, default 'default'
        The storage type of the values. A ``'row_sparse'`` Parameter is read with
        :meth:`row_sparse_data` through a Trainer (its kvstore holds the full value).
    grad_stype : {'default', 'row_sparse', 'csr'}, default 'default'
        The storage type of the gradients.
    """

    def __init__(self, name: str, grad_req: str = "write", shape: int | Sequence[int] | None = None,
                 dtype: Any = np.float32, lr_mult: float = 1.0, wd_mult: float = 1.0,
                 init: Any = None, allow_deferred_init: bool = False,
                 differentiable: bool = True, stype: str = "default",
                 grad_stype: str = "default"):
        self._var: symbol.Symbol | None = None
        self._data: list[NDArray] | None = None
        self._grad: list[NDArray] | None = None
        self._ctx_list: list[Context] | None = None
        self._ctx_map: list[list[int | None]] | None = None
        self._trainer: Any = None
        self._deferred_init: tuple = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req: str | None = None
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = tuple(shape) if shape is not None else None
        self.name = name
        self._dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        for what, value in (("grad_stype", grad_stype), ("stype", stype)):
            if value not in _STYPES:
                raise ParameterAssertionError(
                    f"{what} for Parameter '{name}' must be one of 'default', "
                    f"'row_sparse', or 'csr', but got '{value}'")
        self._grad_stype = grad_stype
        self._stype = stype

    def __repr__(self) -> str:
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # -- attributes ------------------------------------------------------------------------

    @property
    def grad_req(self) -> str | None:
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req: str) -> None:
        if req not in _GRAD_REQS:
            raise ParameterAssertionError(
                f"grad_req must be one of 'write', 'add', or 'null', but got "
                f"'{req}'")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            self._data = [d.detach() for d in self._data]
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self) -> Any:
        """The element type; setting it casts the values (:meth:`cast`)."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype: Any) -> None:
        self.cast(dtype)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """The shape; an unknown dimension is 0, or -1 under numpy shape semantics."""
        if self._shape is None:
            return None
        if is_np_shape():
            return tuple(d if d != 0 else -1 for d in self._shape)
        return self._shape

    @shape.setter
    def shape(self, new_shape: Sequence[int]) -> None:
        new_shape = tuple(new_shape)
        if self._shape is None:
            self._shape = new_shape
            return
        if len(self._shape) != len(new_shape) or not all(
                old in (-1, 0, new) for new, old in zip(new_shape, self._shape)):
            raise ParameterAssertionError(f"Parameter '{self.name}': expected shape {new_shape} is "
                                          f"incompatible with given shape {self._shape}.")
        self._shape = new_shape

    def _set_trainer(self, trainer: Any) -> None:
        """Remember the Trainer that updates this parameter."""
        if (self._stype != "default" and self._trainer and trainer
                and self._trainer is not trainer):
            raise MXNetError(f"Failed to set the trainer for Parameter '{self.name}' because it "
                             f"was already set. More than one trainers for a {self._stype} "
                             "Parameter is not supported.")
        self._trainer = trainer

    # -- access ----------------------------------------------------------------------------

    def _check_and_get(self, arr_list: list[NDArray] | None, ctx: Any) -> Any:
        """``arr_list`` (``ctx is list``) or its array on ``ctx``; explains why there is none."""
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            dev = self._ctx_map[ctx.device_typeid & 1]
            if ctx.device_id < len(dev):
                idx = dev[ctx.device_id]
                if idx is not None:
                    return arr_list[idx]
            raise MXNetError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                             f"It was only initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                "was deferred. Actual initialization happens during the first forward pass. "
                "Please pass one batch of data through the network before accessing "
                "Parameters. You can also avoid deferred initialization by specifying "
                "in_units, num_features, etc., for network layers.")
        raise MXNetError(
            f"Parameter '{self.name}' has not been initialized. Note that you should initialize "
            "parameters and create Trainer with Block.collect_params() instead of Block.params "
            "because the later does not include Parameters of nested child Blocks")

    def data(self, ctx: Context | None = None) -> NDArray:
        """The value on ``ctx`` (the only context when there is one, else the current one).

        A ``row_sparse`` Parameter is read with :meth:`row_sparse_data` instead, as in MXNet.
        """
        if self._stype != "default":
            raise MXNetError(f"Cannot return a copy of Parameter '{self.name}' on ctx {ctx} via "
                             f"data() because its storage type is {self._stype}. Please use "
                             "row_sparse_data() instead.")
        return self._check_and_get(self._data, ctx)

    def list_data(self) -> list[NDArray]:
        """The values on all contexts, in the order they were given to :meth:`initialize`."""
        if self._stype != "default":
            raise MXNetError(f"Cannot return copies of Parameter '{self.name}' on all contexts "
                             f"via list_data() because its storage type is {self._stype}. "
                             "Please use row_sparse_data() instead.")
        return self._check_and_get(self._data, list)

    def _all_data(self) -> list[NDArray]:
        """The values on all contexts whatever the storage type (for Trainer and saving)."""
        return self._check_and_get(self._data, list)

    def _no_grad_check(self) -> None:
        if self._data is not None and self._grad is None:
            raise MXNetError(f"Cannot get gradient array for Parameter '{self.name}' because "
                             "grad_req='null'")

    def grad(self, ctx: Context | None = None) -> NDArray:
        """The gradient array on ``ctx``."""
        self._no_grad_check()
        return self._check_and_get(self._grad, ctx)

    def list_grad(self) -> list[NDArray]:
        """The gradient arrays on all contexts, in the order of :meth:`list_data`."""
        self._no_grad_check()
        return self._check_and_get(self._grad, list)

    def list_ctx(self) -> list[Context]:
        """The contexts this parameter is (or, deferred, will be) initialized on."""
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise MXNetError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    def row_sparse_data(self, row_id: NDArray) -> NDArray:
        """The value of a ``row_sparse`` Parameter on ``row_id``'s context, holding only the
        rows ``row_id`` names (what a sparse Embedding looks up).

        The rows are pulled from the kvstore of the Trainer made with this Parameter (one is
        needed) into the Parameter's own RowSparseNDArray on that context, which is returned:
        gradients recorded through it are the Parameter's.
        """
        if self._stype != "row_sparse":
            raise MXNetError(f"Cannot return a copy of Parameter {self.name} via "
                             f"row_sparse_data() because its storage type is {self._stype}. "
                             "Please use data() instead.")
        return self._get_row_sparse(row_id.context if isinstance(row_id, NDArray) else None,
                                    row_id)

    def list_row_sparse_data(self, row_id: NDArray) -> list[NDArray]:
        """:meth:`row_sparse_data` on every context, in the order of initialization (the
        rows ``row_id`` names pulled into each)."""
        if self._stype != "row_sparse":
            raise MXNetError(f"Cannot return copies of Parameter '{self.name}' on all contexts "
                             "via list_row_sparse_data() because its storage type is "
                             f"{self._stype}. Please use data() instead.")
        return self._get_row_sparse(list, row_id)

    def _get_row_sparse(self, ctx: Any, row_id: Any) -> Any:
        if not isinstance(row_id, NDArray):
            raise ParameterTypeError(f"row_id must have NDArray type, but {type(row_id)} is "
                                     "given")
        if not self._trainer:
            raise MXNetError(f"Cannot get row_sparse data for Parameter '{self.name}' when no "
                             "Trainer is created with it.")
        results = self._check_and_get(self._data, ctx)
        self._trainer._row_sparse_pull(self, results, row_id)
        return results

    # -- initialization ----------------------------------------------------------------------

    def initialize(self, init: Any = None, ctx: Context | Sequence[Context] | None = None,
                   default_init: Any = _DEFAULT_INIT,
                   force_reinit: bool = False) -> None:
        """Create the values (and gradient arrays) on ``ctx``.

        ``init`` overrides :attr:`init`, which overrides ``default_init``. When the shape is
        not yet known and ``allow_deferred_init`` is set, initialization happens at the first
        forward pass. An initialized parameter is left alone (with a warning) unless
        ``force_reinit``.
        """
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set "
                          "force_reinit=True to re-initialize.", stacklevel=2)
            return
        self._data = self._grad = None
        ctx = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ParameterValueError(f"Cannot initialize Parameter '{self.name}' because it has "
                                      f"invalid shape: {self.shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self) -> None:
        """Initialize now that the shape is known (a no-op when nothing is deferred)."""
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        self._deferred_init = ()
        if not shape_is_known(self.shape):
            raise ParameterAssertionError(
                f"Cannot initialize Parameter '{self.name}' because it has "
                f"invalid shape: {self.shape}. Please specify in_units, "
                "in_channels, etc for `Block`s.")
        with autograd.pause():
            if data is None:
                data = nd.zeros(self.shape, ctx=cpu(), dtype=self.dtype)
                initializer.create(default_init)(
                    initializer.InitDesc(self.name, {"__init__": init}), data)
            self._init_impl(data, ctx)

    def _init_impl(self, data: NDArray, ctx_list: Sequence[Context]) -> None:
        """Copy ``data`` onto every context and make the gradient arrays."""
        self._ctx_list = list(ctx_list)
        self._ctx_map = [[], []]
        for i, ctx in enumerate(self._ctx_list):
            dev = self._ctx_map[ctx.device_typeid & 1]
            while len(dev) <= ctx.device_id:
                dev.append(None)
            dev[ctx.device_id] = i
        if self._stype == "row_sparse" and data.stype != "row_sparse":
            # MXNet initializes a row_sparse Parameter with every row stored (zeros too)
            dense = np.array(data.asnumpy(), copy=True)
            data = RowSparseNDArray(dense, np.arange(dense.shape[0], dtype=np.int64),
                                    dense.shape, data.context)
        elif self._stype != data.stype:
            data = data.tostype(self._stype)
        self._data = [data.copyto(ctx) for ctx in self._ctx_list]
        self._init_grad()

    def _init_grad(self) -> None:
        """Fresh zero gradients of storage type ``grad_stype``, marked as the values'
        gradients so autograd fills them."""
        if self.grad_req == "null":
            self._grad = None
            return
        self._grad = [nd.sparse.zeros(self._grad_stype, d.shape, ctx=d.context, dtype=d.dtype)
                      for d in self._data]
        autograd.mark_variables(self._data, self._grad, self.grad_req)

    def _reduce(self) -> NDArray:
        """The value on the cpu (the mean over contexts when there are several; for a
        row_sparse Parameter every row, pulled from the Trainer's kvstore)."""
        ctx = cpu()
        if self._stype == "row_sparse":
            if self._trainer is None:
                # No kvstore holds the value yet: the arrays are it. (MXNet fails here with
                # an AttributeError.)
                return self._all_data()[0].copyto(ctx)
            out = nd.sparse.zeros("row_sparse", self.shape, ctx=ctx, dtype=self.dtype)
            all_rows = nd.arange(0, self.shape[0], dtype="int64", ctx=ctx)
            self._trainer._row_sparse_pull(self, out, all_rows, full_idx=True)
            return out
        block = self._all_data()
        if len(block) > 1:
            return nd.add_n(*(w.copyto(ctx) for w in block)) / len(block)
        return block[0].copyto(ctx)

    def _load_problem(self, data: NDArray, ctx: Any, cast_dtype: bool = False,
                      dtype_source: str = "current") -> str | None:
        """Why ``data`` cannot be loaded into this parameter, or None when it can."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            return f"dtype_source must be 'current' or 'saved', got {dtype_source!r}"
        if self.shape:
            unknown = -1 if is_np_shape() else 0
            if len(self.shape) != len(data.shape) or any(
                    d not in (unknown, s) for d, s in zip(self.shape, data.shape)):
                return (f"Failed loading Parameter '{self.name}' from saved params: shape "
                        f"incompatible expected {self.shape} vs saved {data.shape}")
        if self.dtype and not cast_dtype and np.dtype(self.dtype) != np.dtype(data.dtype):
            return (f"Failed loading Parameter '{self.name}' from saved params: dtype "
                    f"incompatible expected {np.dtype(self.dtype)} vs saved "
                    f"{np.dtype(data.dtype)}. Set cast_dtype=True to cast the dtype of saved "
                    "params.")
        if ctx is not None:
            want = set(_ctx_list(ctx))
            have = None
            if self._data is not None:
                have = self._ctx_list
            elif self._deferred_init:
                have = self._deferred_init[1]
            if have is not None and want != set(have):
                return (f"Failed to load Parameter '{self.name}' on {list(want)} because it was "
                        f"previous initialized on {have}.")
        return None

    def _load_init(self, data: NDArray, ctx: Any, cast_dtype: bool = False,
                   dtype_source: str = "current") -> None:
        """(Re)initialize from ``data``: fill unknown dimensions, check, copy in."""
        problem = self._load_problem(data, ctx, cast_dtype, dtype_source)
        if problem:
            raise ParameterAssertionError(problem)
        if self.shape:
            unknown = -1 if is_np_shape() else 0
            self.shape = tuple(s if d == unknown else d for d, s in zip(self.shape, data.shape))
        if self.dtype and cast_dtype and np.dtype(self.dtype) != np.dtype(data.dtype):
            if dtype_source == "current":
                data = data.astype(self.dtype, copy=False)
            else:
                self.dtype = data.dtype
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1]
            else:
                ctx = [cpu()] if ctx is None else _ctx_list(ctx)
            self._init_impl(data, ctx)
        else:
            self.set_data(data)
        self._deferred_init = ()

    # -- changing values ---------------------------------------------------------------------

    def set_data(self, data: NDArray) -> None:
        """Set the value on every context (before a deferred initialization: its value)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise MXNetError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        trainer = self._trainer
        # A kvstore holding its own copy must be re-synchronised with the new value.
        if (trainer is not None and getattr(trainer, "_kv_initialized", False)
                and getattr(trainer, "_update_on_kvstore", False)
                and self not in getattr(trainer, "_params_to_init", ())):
            trainer._reset_kvstore()
        for arr in self._check_and_get(self._data, list):
            arr[:] = data

    def reset_ctx(self, ctx: Context | Sequence[Context] | None) -> None:
        """Move the parameter to other contexts (one copy per context)."""
        ctx = _ctx_list(ctx)
        if self._data:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ParameterValueError(
                f"Cannot reset context for Parameter '{self.name}' because it has "
                "not been initialized.")

    def zero_grad(self) -> None:
        """Set the gradients on all contexts to 0 (nothing to do without gradients)."""
        if self._grad is None:
            return
        for g in self._grad:
            nd.zeros_like(g, out=g)  # a sparse gradient is left with no stored rows

    def cast(self, dtype: Any) -> None:
        """Cast values and gradients to ``dtype``."""
        self._dtype = dtype
        if self._data is None:
            return
        with autograd.pause():
            old_grad = self._grad
            self._data = [d.astype(dtype) for d in self._data]
            if old_grad is None:
                return
            self._init_grad()
            for new, old in zip(self._grad, old_grad):
                cast = old.astype(dtype)
                if new.stype != "default":
                    new._data, new._aux = cast._data, cast._aux  # the stored rows kept
                else:
                    new[:] = cast

    def var(self) -> symbol.Symbol:
        """The parameter as a Symbol variable, with its shape, dtype, multipliers and init."""
        if self._var is None:
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype,
                                   lr_mult=self.lr_mult, wd_mult=self.wd_mult, init=self.init,
                                   stype=self._stype)
        return self._var


class Constant(Parameter):
    """A parameter that autograd and Trainer leave alone (``grad_req`` is always 'null').

    Parameters
    ----------
    name : str
    value : array-like or NDArray
        The constant's value (``set_data`` may still change it).
    """

    def __init__(self, name: str, value: Any):
        if not isinstance(value, NDArray):
            value = nd.array(value)
        self.value = value

        class Init(initializer.Initializer):
            def _init_weight(self, _: str, arr: Any) -> None:
                value.copyto(arr)

        # The constant's value travels as an initializer name, as in MXNet.
        init_name = f"Constant_{name}_{id(self)}"
        initializer.alias(init_name)(Init)
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init=init_name)

    def __repr__(self) -> str:
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    @property
    def grad_req(self) -> str:
        return "null"

    @grad_req.setter
    def grad_req(self, req: str) -> None:
        if req != "null":
            warnings.warn(f'Constant parameter "{self.name}" does not support grad_req other '
                          f'than "null", and new value "{req}" is ignored.', stacklevel=2)


class ParameterDict:
    """An ordered dictionary of Parameters, named ``prefix + name``.

    Parameters
    ----------
    prefix : str, default ''
        Prepended to the names of the Parameters :meth:`get` creates.
    shared : ParameterDict, optional
        Where :meth:`get` looks first before creating a Parameter (weight sharing).
    """

    def __init__(self, prefix: str = "", shared: ParameterDict | None = None):
        self._prefix = prefix
        self._params: OrderedDict[str, Parameter] = OrderedDict()
        self._shared = shared

    def __repr__(self) -> str:
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(_indent(f"  {v}", 2) for v in self.values())
        return f"{name}(\n{content}\n)"

    def __getitem__(self, key: str) -> Parameter:
        return self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def items(self) -> Any:
        return self._params.items()

    def keys(self) -> Any:
        return self._params.keys()

    def values(self) -> Any:
        return self._params.values()

    @property
    def prefix(self) -> str:
        """Prepended to the names of the Parameters :meth:`get` creates."""
        return self._prefix

    def _get_impl(self, name: str) -> Parameter | None:
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name: str, **kwargs: Any) -> Parameter:
        """The Parameter ``prefix + name``: this dict's, else the shared dict's, else a new one
        made with ``kwargs``.

        For an existing Parameter the keyword attributes must agree with its own; a shape with
        unknown (0 or -1) dimensions merges with a known one, and attributes it does not have
        yet are set.
        """
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            existing = getattr(param, k, None)
            if existing is None:
                setattr(param, k, v)
                continue
            if k == "shape" and v is not None and len(v) == len(existing):
                merged = _merge_shapes(v, existing)
                if merged is not None:
                    param._shape = merged
                    continue
            elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                continue
            if v is not None and v != existing:
                raise ParameterAssertionError(
                    f"Cannot retrieve Parameter '{name}' because desired attribute "
                    f"does not match with stored for attribute '{k}': desired "
                    f"'{v}' vs stored '{existing}'.")
        return param

    def get_constant(self, name: str, value: Any = None) -> Constant:
        """The Constant ``prefix + name``, created with ``value`` if there is none yet."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{name}'. Please specify value if you want "
                               "to create a new constant.")
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise ParameterAssertionError(
                    f"Parameter '{name}' already exists but it is not a constant.")
            value = value.asnumpy() if isinstance(value, NDArray) else np.asarray(value)
            if param.shape != value.shape or not (param.value.asnumpy() == value).all():
                raise ParameterAssertionError(
                    f"Constant '{name}' already exists but it's value doesn't "
                    "match new value")
        return param

    def update(self, other: Mapping[str, Parameter] | ParameterDict) -> None:
        """Add the Parameters of ``other``; a name may only map to the same Parameter."""
        for k, v in other.items():
            if k in self._params and self._params[k] is not v:
                raise ParameterAssertionError(
                    "Cannot update self with other because they have different "
                    f"Parameters with the same name '{k}'")
        for k, v in other.items():
            self._params[k] = v

    def initialize(self, init: Any = _DEFAULT_INIT,
                   ctx: Context | Sequence[Context] | None = None, verbose: bool = False,
                   force_reinit: bool = False) -> None:
        """Initialize every Parameter; ``init`` is the default for those without their own."""
        if verbose:
            init.set_verbosity(verbose=verbose)
        for v in self.values():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self) -> None:
        """Set every Parameter's gradients to 0."""
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx: Context | Sequence[Context] | None) -> None:
        """Move every Parameter to other contexts."""
        for p in self.values():
            p.reset_ctx(ctx)

    def list_ctx(self) -> list[Context]:
        """All contexts any Parameter is initialized on."""
        s: set[Context] = set()
        for p in self.values():
            s.update(p.list_ctx())
        return list(s)

    def setattr(self, name: str, value: Any) -> None:
        """Set attribute ``name`` of every Parameter (``setattr('grad_req', 'null')``)."""
        for p in self.values():
            setattr(p, name, value)

    def save(self, filename: str, strip_prefix: str = "") -> None:
        """Save the values to ``filename`` (a path or fsspec URI), names without
        ``strip_prefix``."""
        arg_dict = {}
        for param in self.values():
            if not param.name.startswith(strip_prefix):
                raise ParameterAssertionError(
                    f"Prefix '{strip_prefix}' is to be striped before saving, but Parameter's "
                    f"name '{param.name}' does not start with '{strip_prefix}'. this may be due "
                    "to your Block shares parameters from other Blocks or you forgot to use "
                    "'with name_scope()' when creating child blocks. " + _NAMING_HELP)
            arg_dict[param.name[len(strip_prefix):]] = param._reduce()
        nd.save(filename, arg_dict)

    def load(self, filename: str, ctx: Context | Sequence[Context] | None = None,
             allow_missing: bool = False, ignore_extra: bool = False,
             restore_prefix: str = "", cast_dtype: bool = False,
             dtype_source: str = "current") -> None:
        """Load values saved by :meth:`save`, ``Block.export`` or ``mx.model.save_checkpoint``
        (``arg:`` / ``aux:`` prefixes are dropped), names prefixed with ``restore_prefix``.

        All or nothing: see :meth:`load_dict`.
        """
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise ParameterAssertionError(
                        f"restore_prefix is '{restore_prefix}' but Parameters name '{name}' "
                        f"does not start with '{restore_prefix}'. " + _NAMING_HELP)
        self.load_dict(nd.load(filename), ctx, allow_missing, ignore_extra, restore_prefix,
                       filename, cast_dtype, dtype_source)

    def load_dict(self, param_dict: Mapping[str, NDArray] | Sequence[tuple[str, NDArray]],
                  ctx: Context | Sequence[Context] | None = None, allow_missing: bool = False,
                  ignore_extra: bool = False, restore_prefix: str = "",
                  filename: str | None = None, cast_dtype: bool = False,
                  dtype_source: str = "current") -> None:
        """Load values from a dict of name -> NDArray (``arg:`` / ``aux:`` prefixes dropped).

        Every Parameter must be in the dict unless ``allow_missing``, and every name in the
        dict a Parameter unless ``ignore_extra``; shapes and dtypes (unless ``cast_dtype``)
        must fit. Everything is checked before anything changes, so on error (an
        :class:`MXNetError` naming the culprits) the Parameters are as they were.
        """
        if isinstance(param_dict, Mapping):
            loaded = [(k[4:] if k.startswith(("arg:", "aux:")) else k, v)
                      for k, v in param_dict.items()]
        else:
            loaded = list(param_dict)
        arg_dict = {restore_prefix + k: v for k, v in loaded}
        where = f"file: {filename}" if filename else "param_dict"
        lp = len(restore_prefix)
        missing = [] if allow_missing else [n for n in self.keys() if n not in arg_dict]
        extra = [] if ignore_extra else [n for n in arg_dict if n not in self._params]
        todo = [(self._params[n], v) for n, v in arg_dict.items() if n in self._params]
        problems = _check_loads(todo, ctx, cast_dtype, dtype_source)
        if missing or extra or problems:
            msg = []
            if missing:
                msg.append(f"Parameter '{missing[0][lp:]}' is missing in {where}, which "
                           f"contains parameters: {_brief_print_list(arg_dict.keys())}. "
                           "Please make sure source and target networks have the same prefix. "
                           f"Missing: {_brief_print_list(n[lp:] for n in missing)}.")
            if extra:
                msg.append(f"Parameter '{extra[0][lp:]}' loaded from {where} is not present in "
                           f"ParameterDict, choices are: {_brief_print_list(self.keys())}. Set "
                           "ignore_extra to True to ignore. Please make sure source and target "
                           "networks have the same prefix. Not present: "
                           f"{_brief_print_list(n[lp:] for n in extra)}.")
            msg.extend(problems)
            raise MXNetError(" ".join(msg) + " " + _NAMING_HELP + " Nothing was loaded.")
        for param, value in todo:
            param._load_init(value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)


def _merge_shapes(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """``a`` and ``b`` with unknown (0 / -1) dimensions filled from the other; None if they
    disagree on a known one."""
    out = []
    for d1, d2 in zip(a, b):
        if d1 != d2 and d1 > 0 and d2 > 0:
            return None
        out.append(d2 if d1 in (0, -1) else d1)
    return tuple(out)


def _check_loads(todo: Sequence[tuple[Parameter, NDArray]], ctx: Any, cast_dtype: bool,
                 dtype_source: str) -> list[str]:
    """Every reason why loading ``todo`` would fail, for one error that names them all."""
    problems = []
    for param, value in todo:
        p = param._load_problem(value, ctx, cast_dtype, dtype_source)
        if p:
            problems.append(p + ".")
    return problems
