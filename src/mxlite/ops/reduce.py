"""Reductions: sum, mean, prod, max, min, nansum, nanprod over axes, and norm."""

from __future__ import annotations

import numpy as np

from ._util import (
    BOOL,
    INT,
    OPT_SHAPE,
    P,
    assign,
    axis_of,
    declare,
    fail,
    opt_dtypes,
    scalar_shape,
    size_of,
)
from .elemwise import NP_MATH
from .registry import Attrs


def reduce_axes(attrs: Attrs, ndim: int, axis, exclude: bool = False) -> tuple[int, ...]:
    """The sorted axes a reduction removes (every axis when ``axis`` is None or empty)."""
    if not axis:
        return tuple(range(ndim))
    axes = sorted(axis_of(attrs, a, ndim) for a in axis)
    if len(set(axes)) != len(axes):
        raise fail(attrs, f"reduction axes {axis} have duplicates")
    if exclude:
        axes = [i for i in range(ndim) if i not in axes]
    return tuple(axes)


def reduce_shape(attrs: Attrs, d: tuple, axis, keepdims: bool, exclude: bool = False) -> tuple:
    """MXNet's ReduceAxesShapeImpl (legacy: a full reduction gives ``(1,)``)."""
    if not axis:
        return (1,) * len(d) if keepdims else scalar_shape()
    axes = reduce_axes(attrs, len(d), axis, exclude)
    if keepdims:
        return tuple(1 if i in axes else x for i, x in enumerate(d))
    o = tuple(x for i, x in enumerate(d) if i not in axes)
    return o or scalar_shape()


def _reduce_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axis, attrs.keepdims, attrs.exclude)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _reduce_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        axes = reduce_axes(attrs, x.ndim, attrs.axis, attrs.exclude)
        with np.errstate(invalid="ignore", over="ignore"):
            r = fn(x, axis=axes)
        o = reduce_shape(attrs, x.shape, attrs.axis, attrs.keepdims, attrs.exclude)
        return [np.asarray(r).astype(x.dtype, copy=False).reshape(o)]
    return forward


def kept_shape(attrs: Attrs, shape: tuple, axis, exclude: bool = False) -> tuple:
    """The output shape with reduced axes kept as 1: what broadcasts back over the input."""
    axes = reduce_axes(attrs, len(shape), axis, exclude)
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _reduce_grads(deriv):
    """(backward kernel, grad_graph) of a reduction from its derivative."""
    def grad(F, attrs, g, x, y):
        kept = kept_shape(attrs, x.shape, attrs.axis, attrs.exclude)
        n = x.size // max(1, size_of(kept))
        return F.broadcast_to(deriv(F, g.reshape(kept), x, y.reshape(kept), n), x.shape)

    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        with np.errstate(divide="ignore", invalid="ignore"):
            return [grad(NP_MATH, attrs, g, x, y).astype(x.dtype, copy=False)]

    def grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
        return [grad(F, attrs, out_grads[0], inputs[0], outputs[0])]
    return backward, grad_graph


# (canonical, numpy kernel, derivative (F, g, x, y, n reduced per output) -> gradient, aliases),
# over ``F`` as the elementwise derivatives are. max/min send the gradient to every element
# equal to the result, ties included, as MXNet does.
_REDUCE = [
    ("sum", np.sum, lambda F, g, x, y, n: g, ("sum_axis", "_sparse_sum")),
    ("mean", np.mean, lambda F, g, x, y, n: g / n, ("_sparse_mean",)),
    ("prod", np.prod, lambda F, g, x, y, n: g * y / x, ()),
    ("max", np.max, lambda F, g, x, y, n: g * (x == y), ("max_axis",)),
    ("min", np.min, lambda F, g, x, y, n: g * (x == y), ("min_axis",)),
    ("nansum", np.nansum, lambda F, g, x, y, n: g * (x == x), ()),  # 0 where x is NaN
    ("nanprod", np.nanprod,
     lambda F, g, x, y, n: F.where(F.isnan(x), F.zeros_like(x), g * y / x), ()),
]

_REDUCE_PARAMS = {"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False),
                  "exclude": P(BOOL, False)}

for _name, _fn, _deriv, _aliases in _REDUCE:
    _back, _graph = _reduce_grads(_deriv)
    declare(_name, *_aliases, params=dict(_REDUCE_PARAMS), infer_shape=_reduce_infer,
            forward=_reduce_forward(_fn), backward=_back, grad_graph=_graph)


def _norm_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if attrs.ord not in (1, 2):
        raise fail(attrs, f"ord={attrs.ord} is not supported (expected 1 or 2)")
    # MXNet's norm is the vector norm of the elements over however many axes ``axis`` names
    # (ord=2 over two axes is the Frobenius norm), not numpy's matrix norms.
    assign(attrs, outs, 0, reduce_shape(attrs, d, attrs.axis, attrs.keepdims), ["output"])
    return ins, outs


def _norm_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0]
    outs[0] = attrs.out_dtype if attrs.out_dtype is not None else (t or outs[0])
    return ins, outs


def _norm_forward(attrs, inputs, ctx):
    (x,) = inputs
    axes = reduce_axes(attrs, x.ndim, attrs.axis)
    a = np.abs(x.astype(np.float64))
    r = a.sum(axis=axes) if attrs.ord == 1 else np.sqrt(np.square(a).sum(axis=axes))
    out_t = attrs.out_dtype if attrs.out_dtype is not None else x.dtype
    return [np.asarray(r).astype(out_t).reshape(reduce_shape(attrs, x.shape, attrs.axis,
                                                             attrs.keepdims))]


def _norm_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,), (y,) = out_grads, inputs, outputs
    kept = kept_shape(attrs, x.shape, attrs.axis)
    g = g.reshape(kept).astype(x.dtype, copy=False)
    if attrs.ord == 1:
        return [(g * np.sign(x)).astype(x.dtype, copy=False)]
    y = y.reshape(kept).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = g * x / y  # nan at a zero norm, as in MXNet
    return [d.astype(x.dtype, copy=False)]


declare(
    "norm", "_sparse_norm",
    params={"ord": P(INT, 2), "axis": P(OPT_SHAPE, None),
            "out_dtype": P(opt_dtypes("float16", "float32", "float64", "int32", "int64", "int8"),
                           None),
            "keepdims": P(BOOL, False)},
    infer_shape=_norm_shape, infer_type=_norm_type, forward=_norm_forward,
    backward=_norm_backward,
)
