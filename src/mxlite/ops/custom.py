"""``Custom``: operators written in Python (:mod:`mxlite.operator`).

A ``Custom`` node names a registered :class:`~mxlite.operator.CustomOpProp` subclass by
``op_type``; every other attribute is handed, as the string MXNet stores, to the Prop's
constructor. The Prop decides the node's inputs (``list_arguments`` then
``list_auxiliary_states``), outputs, shapes and dtypes; its ``create_operator`` makes the
:class:`~mxlite.operator.CustomOp` whose ``forward`` / ``backward`` run on NDArrays.

As in MXNet, the Prop is made once per distinct attribute set (when the node's attributes are
parsed), the operator once per forward (kept in the op context for its backward), and the
Python code runs with autograd recording off and training mode set to ``is_train``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from ._util import STR, P
from .registry import Attrs, Op, OpContext, merge_dtype, merge_shape, register

# op_type -> CustomOpProp subclass; filled by mx.operator.register.
PROPS: dict[str, type] = {}

_REQ_WRITE = "write"


class _PropInfo:
    """One Prop instance and what it declares, read once."""

    __slots__ = ("cls", "prop", "op_type", "args", "outs", "aux", "deps")

    def __init__(self, cls: type, prop: Any, op_type: str):
        self.cls = cls
        self.prop = prop
        self.op_type = op_type
        self.args = [str(a) for a in prop.list_arguments()]
        self.outs = [str(o) for o in prop.list_outputs()]
        self.aux = [str(a) for a in prop.list_auxiliary_states()]
        n_out, n_in = len(self.outs), len(self.args)
        self.deps = list(prop.declare_backward_dependency(
            list(range(n_out)), list(range(n_out, n_out + n_in)),
            list(range(n_out + n_in, 2 * n_out + n_in))))


def _make_info(op_type: str, kwargs: dict[str, str], where: str) -> _PropInfo:
    cls = PROPS.get(op_type)
    if cls is None:
        raise MXNetError(f"operator Custom{where}: op_type {op_type!r} is not a registered "
                         f"custom operator (mx.operator.register); registered: "
                         f"{sorted(PROPS)}")
    try:
        return _PropInfo(cls, cls(**kwargs), op_type)
    except MXNetError:
        raise
    except Exception as e:  # the user's Prop: any failure is a bad node
        raise MXNetError(f"operator Custom{where}: op_type {op_type!r}: {cls.__name__}"
                         f"({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) failed: "
                         f"{type(e).__name__}: {e}") from None


class _CustomEntry(Op):
    """``Custom`` takes any attribute: all but ``op_type`` go to the Prop as strings."""

    def parse_attrs(self, raw: dict[str, Any], where: str = "") -> Attrs:
        at = f" (node {where!r})" if where else ""
        kwargs: dict[str, str] = {}
        op_type = None
        for key, value in raw.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            if key == "op_type":
                op_type = str(value)
            else:
                kwargs[key] = str(value)
        if op_type is None:
            raise MXNetError(f"operator Custom{at}: required parameter 'op_type' (string) is "
                             "missing")
        info = _make_info(op_type, kwargs, at)
        values = {"op_type": op_type, "_info": info, **kwargs}
        return Attrs(self, values, {k: str(v) for k, v in raw.items()})


def info_of(attrs: Attrs) -> _PropInfo:
    """The node's Prop, remade if ``op_type`` was registered again since it was parsed."""
    info: _PropInfo = attrs._info
    if PROPS.get(info.op_type) is not info.cls:
        kwargs = {k: v for k, v in attrs.as_dict().items() if k not in ("op_type", "_info")}
        info = _make_info(info.op_type, kwargs, "")
    return info


def needs_head_grad(attrs: Attrs) -> bool:
    """Whether the node's backward reads its output gradients: False for a Prop made with
    ``need_top_grad=False`` (a loss), whose outputs, as MXNet's loss layers', need no head
    gradient in ``Executor.backward()``."""
    info = info_of(attrs)
    return any(d < len(info.outs) for d in info.deps)


def _fail(info: _PropInfo, msg: str) -> MXNetError:
    return MXNetError(f"Custom op_type {info.op_type!r}: {msg}")


def _split3(info: _PropInfo, ret: Any, what: str) -> tuple[list, list, list]:
    """The (inputs, outputs, aux) lists infer_shape / infer_type return, counted."""
    try:
        parts = list(ret)
    except TypeError:
        raise _fail(info, f"{what} must return 2 or 3 lists, got {type(ret).__name__}") from None
    if len(parts) == 2:
        parts.append([])
    if len(parts) != 3:
        raise _fail(info, f"{what} must return 2 or 3 lists, got {len(parts)}")
    ins, outs, aux = (list(p) for p in parts)
    for got, want, kind in ((outs, info.outs, "output"), (ins, info.args, "input"),
                            (aux, info.aux, "aux state")):
        if len(got) != len(want):
            raise _fail(info, f"{what} returned {len(got)} {kind} entries, expected "
                              f"{len(want)} ({', '.join(want) or 'none'})")
    return ins, outs, aux


def _as_shape(s: Any) -> tuple[int, ...] | None:
    if s is None:
        return None
    return tuple(int(d) for d in s)


def _call_infer_shape(info: _PropInfo, arg_shapes: list) -> tuple[list, list, list]:
    ret = info.prop.infer_shape([[] if s is None else [int(d) for d in s] for s in arg_shapes])
    ins, outs, aux = _split3(info, ret, "infer_shape")
    return [_as_shape(s) for s in ins], [_as_shape(s) for s in outs], [_as_shape(s) for s in aux]


def _custom_shape(attrs: Attrs, ins: list, outs: list):
    info = info_of(attrs)
    n_in = len(info.args)
    complete = all(s is not None and 0 not in s for s in ins[:n_in])
    try:
        r_in, r_out, r_aux = _call_infer_shape(info, ins[:n_in])
    except MXNetError:
        raise
    except Exception as e:  # the user's code: with shapes still unknown, try again later
        if not complete:
            return ins, outs
        raise _fail(info, f"infer_shape failed: {type(e).__name__}: {e}") from None
    ins, outs = list(ins), list(outs)
    for i, s in enumerate(r_in + r_aux):
        if s is not None and (s or complete):
            ins[i] = merge_shape(ins[i], s, f"input {(info.args + info.aux)[i]!r}")
    for i, s in enumerate(r_out):
        if s is not None and (s or complete):
            outs[i] = merge_shape(outs[i], s, f"output {info.outs[i]!r}")
    return ins, outs


def _dtype(t: Any) -> np.dtype | None:
    return None if t is None else np.dtype(t)


def _custom_type(attrs: Attrs, ins: list, outs: list):
    info = info_of(attrs)
    n_in = len(info.args)
    fn = getattr(info.prop, "infer_type", None)
    if fn is None:
        from .registry import same_type

        return same_type(attrs, ins, outs)
    complete = all(t is not None for t in ins[:n_in])
    try:
        ret = fn([None if t is None else np.dtype(t).type for t in ins[:n_in]])
        r_in, r_out, r_aux = _split3(info, ret, "infer_type")
        r_in, r_out, r_aux = ([_dtype(t) for t in r] for r in (r_in, r_out, r_aux))
    except MXNetError:
        raise
    except Exception as e:
        if not complete:
            return ins, outs
        raise _fail(info, f"infer_type failed: {type(e).__name__}: {e}") from None
    ins, outs = list(ins), list(outs)
    for i, t in enumerate(r_in + r_aux):
        ins[i] = merge_dtype(ins[i], t, f"input {(info.args + info.aux)[i]!r}")
    for i, t in enumerate(r_out):
        outs[i] = merge_dtype(outs[i], t, f"output {info.outs[i]!r}")
    return ins, outs


def _readonly(a: np.ndarray) -> Any:
    from ..ndarray.ndarray import NDArray

    v = a.view()
    v.flags.writeable = False  # MXNet hands the operator its inputs read-only
    return NDArray(v)


def _nd(a: np.ndarray) -> Any:
    from ..ndarray.ndarray import NDArray

    return NDArray(a)


def _operator(info: _PropInfo, ins: list, ctx: OpContext) -> Any:
    op = ctx.saved.get("custom_op")
    if op is None:
        from ..context import current_context
        from ..symbol._graph import DTYPE_FLAGS

        shapes = [list(a.shape) for a in ins]
        flags = [DTYPE_FLAGS.get(np.dtype(a.dtype), -1) for a in ins]
        try:
            op = info.prop.create_operator(current_context(), shapes, flags)
        except Exception as e:
            raise _fail(info, f"create_operator failed: {type(e).__name__}: {e}") from e
        ctx.saved["custom_op"] = op
    return op


def _run(info: _PropInfo, what: str, fn: Any, train: bool, **kwargs: Any) -> None:
    from .. import autograd

    try:
        with autograd.pause(train_mode=train):
            fn(**kwargs)
    except Exception as e:
        raise _fail(info, f"{type(fn.__self__).__name__}.{what} failed: {type(e).__name__}: "
                          f"{e}") from e


def _custom_forward(attrs: Attrs, inputs: list, ctx: OpContext) -> list:
    info = info_of(attrs)
    n_in = len(info.args)
    args, aux = inputs[:n_in], inputs[n_in:]
    _, out_shapes, _ = _call_infer_shape(info, [a.shape for a in args])
    out_types = [np.dtype(args[0].dtype) if args else np.dtype(np.float32)] * len(info.outs)
    fn = getattr(info.prop, "infer_type", None)
    if fn is not None:
        _, r_out, _ = _split3(info, fn([np.dtype(a.dtype).type for a in args]), "infer_type")
        out_types = [np.dtype(t) for t in r_out]
    outs = [np.zeros(s, t) for s, t in zip(out_shapes, out_types)]
    op = _operator(info, list(inputs), ctx)
    out_nd = [_nd(o) for o in outs]
    _run(info, "forward", op.forward, ctx.is_train, is_train=ctx.is_train,
         req=[_REQ_WRITE] * len(outs), in_data=[_readonly(a) for a in args], out_data=out_nd,
         aux=[_nd(a) for a in aux])
    return [o._data for o in out_nd]


def _custom_backward(attrs: Attrs, out_grads: list, inputs: list, outputs: list,
                     ctx: OpContext) -> list:
    info = info_of(attrs)
    n_in = len(info.args)
    args, aux = inputs[:n_in], inputs[n_in:]
    op = _operator(info, list(inputs), ctx)
    req = [_REQ_WRITE if ctx.wants(i) else "null" for i in range(n_in)]
    in_grad = [_nd(np.zeros_like(a)) for a in args]
    _run(info, "backward", op.backward, ctx.is_train, req=req,
         out_grad=[_readonly(np.asarray(g)) for g in out_grads],
         in_data=[_readonly(a) for a in args], out_data=[_readonly(o) for o in outputs],
         in_grad=in_grad, aux=[_nd(a) for a in aux])
    return [g._data if r != "null" else None for g, r in zip(in_grad, req)] + [None] * len(aux)


register(_CustomEntry(
    "Custom",
    aliases=("_npi_Custom",),
    params={"op_type": P(STR, doc="The name of a registered custom operator "
                                  "(mx.operator.register).")},
    inputs=lambda a: info_of(a).args + info_of(a).aux,
    aux=lambda a: info_of(a).aux,
    outputs=lambda a: info_of(a).outs,
    infer_shape=_custom_shape,
    infer_type=_custom_type,
    forward=_custom_forward,
    backward=_custom_backward,
    doc="Apply a custom operator implemented in Python (a registered CustomOpProp "
        "named by ``op_type``); other keyword arguments go to the Prop's constructor.",
))
