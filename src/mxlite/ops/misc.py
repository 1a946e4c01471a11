"""Smaller operators met in saved MXNet graphs: sampling, layout moves, gathers, casts."""

from __future__ import annotations

import numpy as np

from ._util import (
    BOOL,
    F32,
    FLOAT,
    INT,
    OPT_SHAPE,
    SHAPE,
    STR,
    P,
    assign,
    assign_type,
    axis_of,
    declare,
    dtypes,
    enum,
    fail,
    like_data,
    opt_dtypes,
    size_of,
)
from .reduce import reduce_shape
from .registry import Attrs, same_shape

I64 = np.dtype("int64")

# ----------------------------------------------------------------------------------------
# Sampling: no inputs; shape and dtype from the parameters (dtype None means float32, or int32
# for randint). Kernels come with the random module.


def _sample_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


def _sample_type(default: np.dtype):
    def infer(attrs: Attrs, ins: list, outs: list):
        assign_type(attrs, outs, 0, attrs.dtype or default, ["output"])
        return ins, outs
    return infer


_SAMPLE = {"shape": P(SHAPE, None), "ctx": P(STR, "")}
_FLOATS = ("float16", "float32", "float64")

declare("_random_uniform", "uniform", "random_uniform",
        params={"low": P(FLOAT, 0.0), "high": P(FLOAT, 1.0), **_SAMPLE,
                "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32))
declare("_random_normal", "normal", "random_normal",
        params={"loc": P(FLOAT, 0.0), "scale": P(FLOAT, 1.0), **_SAMPLE,
                "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32))
declare("_random_randint", "random_randint", "_npi_random_randint",
        params={"low": P(INT), "high": P(INT), **_SAMPLE,
                "dtype": P(opt_dtypes("int32", "int64"), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(np.dtype("int32")))


def _eye_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, (attrs.N, attrs.M or attrs.N), ["output"])
    return ins, outs


def _eye_forward(attrs, inputs, ctx):
    return [np.eye(attrs.N, attrs.M or attrs.N, attrs.k, dtype=attrs.dtype)]


def _param_dtype(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, attrs.dtype, ["output"])
    return ins, outs


declare("_eye",
        params={"N": P(INT), "M": P(INT, 0), "k": P(INT, 0), "ctx": P(STR, ""),
                "dtype": P(dtypes(*_FLOATS, "int32", "int64", "int8", "uint8"), F32)},
        inputs=(), infer_shape=_eye_shape, infer_type=_param_dtype, forward=_eye_forward)

# ----------------------------------------------------------------------------------------
# Elementwise extras.


def _hard_sigmoid_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [np.clip(attrs.alpha * x + attrs.beta, 0, 1).astype(x.dtype, copy=False)]


declare("hard_sigmoid", params={"alpha": P(FLOAT, 0.2), "beta": P(FLOAT, 0.5)},
        infer_shape=same_shape, forward=_hard_sigmoid_forward)


def _smooth_l1_forward(attrs, inputs, ctx):
    (x,) = inputs
    s2 = attrs.scalar * attrs.scalar
    a = np.abs(x)
    out = np.where(a < 1 / s2, 0.5 * s2 * x * x, a - 0.5 / s2)
    return [out.astype(x.dtype, copy=False)]


declare("smooth_l1", "_npx_smooth_l1", params={"scalar": P(FLOAT)}, infer_shape=same_shape,
        forward=_smooth_l1_forward)


def _amp_cast_type(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, attrs.dtype, ["output"])
    return ins, outs


declare("amp_cast",
        params={"dtype": P(dtypes("bfloat16", *_FLOATS, "int32", "int64", "int8", "uint8"))},
        infer_shape=same_shape, infer_type=_amp_cast_type)
declare("cast_storage", "_sparse_cast_storage",
        params={"stype": P(enum("csr", "default", "row_sparse"))}, infer_shape=same_shape)

# ----------------------------------------------------------------------------------------
# Shape queries.


def _int64_out(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, I64, ["output"])
    return ins, outs


def _shape_array_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign(attrs, outs, 0, (len(ins[0]),), ["output"])
    return ins, outs


def _size_array_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, (1,), ["output"])
    return ins, outs


declare("shape_array", "_npx_shape_array", infer_shape=_shape_array_shape,
        infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array(inputs[0].shape, dtype=I64)])
declare("size_array", infer_shape=_size_array_shape, infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array([inputs[0].size], dtype=I64)])

# ----------------------------------------------------------------------------------------
# Layout moves.


def _block_shape(to_space: bool):
    def infer(attrs: Attrs, ins: list, outs: list):
        d = ins[0]
        if d is None:
            return ins, outs
        b = attrs.block_size
        if len(d) != 4:
            raise fail(attrs, f"data of shape {d} must have 4 dims (NCHW)")
        n, c, h, w = d
        if to_space:
            if c % (b * b):
                raise fail(attrs, f"the {c} channels of data {d} do not divide by "
                                  f"block_size^2 = {b * b}")
            o = (n, c // (b * b), h * b, w * b)
        else:
            if h % b or w % b:
                raise fail(attrs, f"height and width of data {d} do not divide by "
                                  f"block_size = {b}")
            o = (n, c * b * b, h // b, w // b)
        assign(attrs, outs, 0, o, ["output"])
        return ins, outs
    return infer


declare("depth_to_space", params={"block_size": P(INT)}, infer_shape=_block_shape(True))
declare("space_to_depth", params={"block_size": P(INT)}, infer_shape=_block_shape(False))


def _diag_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    k = attrs.k
    if len(d) == 1:
        n = d[0] + abs(k)
        assign(attrs, outs, 0, (n, n), ["output"])
        return ins, outs
    a1 = axis_of(attrs, attrs.axis1, len(d), "axis1")
    a2 = axis_of(attrs, attrs.axis2, len(d), "axis2")
    if a1 == a2:
        raise fail(attrs, f"axis1 and axis2 cannot refer to the same axis {a1}")
    r, c = d[a1], d[a2]
    n = max(0, min(r, c - k) if k > 0 else min(r + k, c))
    rest = tuple(x for i, x in enumerate(d) if i not in (a1, a2))
    assign(attrs, outs, 0, (*rest, n), ["output"])
    return ins, outs


declare("diag", params={"k": P(INT, 0), "axis1": P(INT, 0), "axis2": P(INT, 1)},
        infer_shape=_diag_shape)

# ----------------------------------------------------------------------------------------
# Reductions with extra outputs.


def _moments_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axes, attrs.keepdims)
        for i in range(2):
            assign(attrs, outs, i, o, ["output0", "output1"])
    return ins, outs


declare("moments", params={"axes": P(OPT_SHAPE, None), "keepdims": P(BOOL, False)},
        outputs=("output0", "output1"), infer_shape=_moments_shape)


def _square_sum_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axis, attrs.keepdims, attrs.exclude)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


declare("_square_sum",
        params={"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False),
                "exclude": P(BOOL, False)},
        infer_shape=_square_sum_shape)

# ----------------------------------------------------------------------------------------
# Gathers and scatters: index inputs may have any dtype.


def _data_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0]
    if t is not None:
        ins[0] = outs[0] = t
    return ins, outs


def _gather_nd_shape(attrs: Attrs, ins: list, outs: list):
    d, idx = ins
    if d is None or idx is None:
        return ins, outs
    m = idx[0]
    if m > len(d):
        raise fail(attrs, f"indices of shape {idx} index {m} dims of data {d}, which has "
                          f"{len(d)}")
    assign(attrs, outs, 0, (*idx[1:], *d[m:]), ["output"])
    return ins, outs


declare("gather_nd", "_npi_gather_nd", "_npx_gather_nd", inputs=("data", "indices"),
        infer_shape=_gather_nd_shape, infer_type=_data_type)


def _scatter_nd_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


declare("scatter_nd", params={"shape": P(SHAPE)}, inputs=("data", "indices"),
        infer_shape=_scatter_nd_shape, infer_type=_data_type)


def _batch_take_shape(attrs: Attrs, ins: list, outs: list):
    a, idx = ins
    if a is None or idx is None:
        return ins, outs
    if size_of(idx) and a[0] and size_of(idx) != a[0]:
        raise fail(attrs, f"indices of shape {idx} must hold one index per row of a {a}")
    assign(attrs, outs, 0, idx, ["output"])
    return ins, outs


declare("batch_take", inputs=("a", "indices"), infer_shape=_batch_take_shape,
        infer_type=_data_type)

# ----------------------------------------------------------------------------------------
# Legacy output layers.


def _svm_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    assign(attrs, ins, 1, d[:1], attrs.op.list_inputs(attrs))
    assign(attrs, outs, 0, d, ["output"])
    return ins, outs


declare("SVMOutput",
        params={"margin": P(FLOAT, 1.0), "regularization_coefficient": P(FLOAT, 1.0),
                "use_linear": P(BOOL, False)},
        inputs=("data", "label"), infer_shape=_svm_shape)


def _kl_sparse_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        assign(attrs, ins, 1, (d[1],) if len(d) > 1 else (1,), attrs.op.list_inputs(attrs))
    return like_data(attrs, ins, outs)


declare("IdentityAttachKLSparseReg",
        params={"sparseness_target": P(FLOAT, 0.1), "penalty": P(FLOAT, 0.001),
                "momentum": P(FLOAT, 0.9)},
        inputs=("data", "moving_avg"), aux=("moving_avg",), infer_shape=_kl_sparse_shape)
