"""``mx.nd.<op>``: every registered operator run imperatively, made on first use.

The calling convention is ``mx.sym``'s (see :mod:`mxlite.symbol.register`): positional NDArrays
fill the operator's inputs in order (all of them, and ``num_args`` unless given, for operators
with a variable number of inputs), further positional values fill parameters in their declared
order, keyword NDArrays are inputs by name and other keywords are parameters, stringified and
parsed exactly as a symbol node's attributes are. ``out=`` (an NDArray, or a list for several
outputs) receives the result in place and is returned. Operators run in the mode
:mod:`mxlite.autograd` sets (inference unless ``train_mode``/``record``) through the same
kernels as the executor, and are taped for differentiation while recording; auxiliary states
(BatchNorm's moving statistics) are the given arrays' buffers, so a kernel updating them updates
the arrays.

A single visible output is returned as an NDArray, several as a list.
"""

from __future__ import annotations

from time import perf_counter_ns
from typing import Any

import numpy as np

from .. import autograd as _ag
from .. import profiler as _profiler
from .. import random as _random
from ..base import MXNetError
from ..context import Context, current_context
from ..ops import registry
from ..ops.frontend import Frontend, positional_inputs
from ..ops.registry import Op, OpContext
from ..symbol import _graph
from ..symbol.register import _dtype_name, param_str
from ..util import is_np_shape
from .ndarray import NDArray

__all__ = ["make_function", "invoke", "lookup", "namespace_getattr"]

_DROP = ("name", "attr")  # accepted for symmetry with mx.sym, meaningless here
# Operators whose storage rules apply to dense inputs too (cast_storage makes sparse arrays,
# _sparse_retain refuses dense data, as MXNet's).
_STORAGE_OPS = ("cast_storage", "_sparse_retain")


def _params(op: Op, func_name: str, params: dict[str, Any]) -> registry.Attrs:
    if "dtype" in params and "dtype" in op.params and params["dtype"] is not None:
        params["dtype"] = _dtype_name(params["dtype"])
    if "ctx" in params and "ctx" in op.params and params["ctx"] is not None:
        params["ctx"] = str(params["ctx"])
    attrs = {k: param_str(v) for k, v in params.items()}
    return _graph.parse_params(op, attrs, func_name)[0]


def invoke(op: Op, func_name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Run one call of ``mx.nd.<func_name>(*args, **kwargs)``."""
    out = kwargs.pop("out", None)
    for k in _DROP:
        kwargs.pop(k, None)
    ctx = kwargs.get("ctx") if "ctx" in op.params else kwargs.pop("ctx", None)
    inputs: list[NDArray] = []
    named: dict[str, NDArray] = {}
    params: dict[str, Any] = {}
    if op.key_var_num_args is not None:
        for a in args:
            if not isinstance(a, NDArray):
                raise TypeError(f"{func_name}: positional arguments must be NDArrays, but got "
                                f"{a!r}")
        inputs = list(args)
    else:
        inputs = positional_inputs(op, func_name, args, kwargs,
                                   lambda a: isinstance(a, NDArray), "NDArrays", list(op.params))
    for k, v in kwargs.items():
        if isinstance(v, NDArray):
            named[k] = v
        elif v is None and k not in op.params:
            continue  # an input left out (``data=None``)
        else:
            params[k] = v
    if op.key_var_num_args is not None and op.key_var_num_args not in params:
        params[op.key_var_num_args] = len(inputs) + len(named)
    attrs = _params(op, func_name, params)
    names = op.list_inputs(attrs)
    if len(inputs) > len(names):
        raise MXNetError(f"{func_name}: {len(inputs)} inputs given, operator {op.name} takes "
                         f"{len(names)} ({', '.join(names)})")
    arrays: list[NDArray] = list(inputs)
    for n in names[len(inputs):]:
        a = named.pop(n, None)
        if a is None:
            if op.key_var_num_args is not None and named:
                a = named.pop(next(iter(named)))  # variadic inputs given by keyword
            else:
                raise MXNetError(f"{func_name}: input {n!r} of operator {op.name} is missing "
                                 f"(inputs: {', '.join(names)})")
        arrays.append(a)
    if named:
        raise MXNetError(f"{func_name}: {sorted(named)} are not inputs of operator {op.name} "
                         f"(inputs: {', '.join(names)})")
    if op.forward is None:
        raise MXNetError(f"operator {op.name} has no forward kernel in mxlite yet")
    state = _ag._STATE
    octx = OpContext(state.training, _random.generator())
    timed = _profiler._ACTIVE["imperative"]
    t0 = perf_counter_ns() if timed else 0
    # Sparse inputs: the operator's storage-type rules (ndarray/sparse.py) decide whether the
    # result is sparse. While autograd records, the dense kernels run (dense results).
    sparse_in = any(a.stype != "default" for a in arrays)
    recorded = state.recording and _ag._tracked(arrays)
    sparse_out = None
    try:
        if (sparse_in or op.name in _STORAGE_OPS) and not recorded:
            from . import sparse as _sparse

            sparse_out = _sparse._forward(op, attrs, arrays, octx)
        if sparse_out is None:
            ins = [_dense(a) for a in arrays]
            outs = op.forward(attrs, ins, octx)
    except MXNetError:
        raise  # the kernel's own refusal, of its own class (IndexError-like ones too)
    except (ValueError, IndexError, KeyError) as e:
        raise MXNetError(f"{func_name} ({op.name}): {e}") from None
    if timed:
        _profiler.record_op(op.name, t0)
    if isinstance(ctx, Context):
        where = ctx
    elif arrays:
        where = arrays[0]._ctx
    else:
        where = current_context()
    if sparse_out is not None:
        for r in sparse_out:
            r._ctx = where
        return _sparse_result(func_name, sparse_out, out)
    n = op.visible_outputs(attrs)
    legacy = not is_np_shape()
    res = [np.asarray(o) for o in outs[:n]]
    if legacy:
        res = [o.reshape(1) if o.ndim == 0 else o for o in res]
    if out is not None:
        targets = [out] if isinstance(out, NDArray) else list(out)
        for t in targets:
            _ag.check_assign(t)
        if len(targets) != len(res):
            raise MXNetError(f"{func_name}: out= gives {len(targets)} arrays for {len(res)} "
                             "outputs")
        for t, r in zip(targets, res):
            if t.shape != r.shape:
                raise MXNetError(f"{func_name}: out= has shape {t.shape}, the result has "
                                 f"{r.shape}")
            if t.stype != "default":
                from .sparse import _assign

                _assign(t, r)  # MXNet casts the result to out='s storage type
            else:
                t._data[...] = r
        if state.recording and _ag._tracked(arrays):
            _ag._record_op(op, attrs, arrays, ins, res + list(outs[n:]), octx, targets)
        return out
    wrapped = [NDArray(r, where) for r in res]
    if state.recording and _ag._tracked(arrays):
        _ag._record_op(op, attrs, arrays, ins, res + list(outs[n:]), octx, wrapped)
    return wrapped[0] if len(wrapped) == 1 else wrapped


def _sparse_result(func_name: str, results: list, out: Any) -> Any:
    """Return (or write into ``out=``) what the sparse path of :func:`invoke` computed."""
    if out is None:
        return results[0] if len(results) == 1 else results
    from .sparse import _assign

    targets = [out] if isinstance(out, NDArray) else list(out)
    if len(targets) != len(results):
        raise MXNetError(f"{func_name}: out= gives {len(targets)} arrays for {len(results)} "
                         "outputs")
    for t, r in zip(targets, results):
        _ag.check_assign(t)
        if t.shape != r.shape:
            raise MXNetError(f"{func_name}: out= has shape {t.shape}, the result has "
                             f"{r.shape}")
        _assign(t, r)
    return out


def _dense(a: NDArray) -> np.ndarray:
    # Kernels work on dense buffers; sparse arrays are densified (MXNet's storage fallback).
    if a.stype != "default":
        return a.tostype("default")._data
    return a._data


def _doc(op: Op, func_name: str) -> str:
    from ..symbol.register import _doc as sym_doc

    return sym_doc(op, func_name).replace(": Symbol", ": NDArray").replace(
        "Symbol\n    The result symbol.", "NDArray or list of NDArray\n    The result.")


_FRONTEND = Frontend("mxlite.ndarray", invoke, _doc)
make_function = _FRONTEND.make_function
lookup = _FRONTEND.lookup
namespace_getattr = _FRONTEND.namespace_getattr
