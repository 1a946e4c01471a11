"""More ONNX converters: the numpy-interface operators (``_np_*``, ``_npi_*``, ``_npx_*``), the
triangle packings of ``linalg``, the sampling operators (GridGenerator, BilinearSampler,
SpatialTransformer via ``GridSample``), the deformable convolutions (``DeformConv``) and
FlowNet's Correlation.

The numpy-interface operators compute what the legacy ones compute but follow MXNet 1.9.1's
numpy dtype rules: each converter casts its operands to the dtype the registry infers for the
output (or compares in the operands' dtype), so the ONNX graph types every tensor as mxlite
does. Constants (grids, triangle index maps) are computed by the registry's own kernels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._export import INT_MIN, GraphBuilder, register
from ._op_translations import _axis, _hypot_of, _mod_of, _to_bool

G = GraphBuilder


def _forward(node: Any, inputs: list) -> list:
    """The registry kernel's outputs for ``inputs`` (constants the graph needs)."""
    from ..ops.registry import OpContext

    return [np.asarray(o) for o in node.op.forward(node.parsed, inputs, OpContext(False))]


def _need_opset(g: G, node: Any, opset: int, onnx_op: str) -> None:
    if g.opset < opset:
        raise g.fail(node, f"needs ONNX {onnx_op}, which is in opset {opset} and newer; "
                           f"export with opset_version={opset} or higher (asked: {g.opset})")


def _as(g: G, x: str, have: np.dtype, want: np.dtype) -> str:
    return x if np.dtype(have) == np.dtype(want) else g.cast(x, want)


def _in_as(g: G, node: Any, i: int, want: np.dtype) -> str:
    return _as(g, g.x(node, i), g.in_dtype(node, i), want)


# ----------------------------------------------------------------------------------------
# Elementwise unary: x in its float dtype (integers computed in float64 and truncated, as
# the registry's kernel does), the input's dtype out.

def _log_base(base: float):
    return lambda g, x, dt: g.op("Div", [g.op("Log", [x]), g.scalar(math.log(base), dt)])


def _cbrt(g: G, x: str, dt: np.dtype) -> str:
    third = g.scalar(1.0 / 3.0, dt)
    return g.op("Mul", [g.op("Sign", [x]), g.op("Pow", [g.op("Abs", [x]), third])])


def _trunc(g: G, x: str, dt: np.dtype) -> str:
    return g.op("Mul", [g.op("Sign", [x]), g.op("Floor", [g.op("Abs", [x])])])


def _simple(onnx_op: str):
    return lambda g, x, dt: g.op(onnx_op, [x])


_NP_UNARY = {
    "_npi_tanh": _simple("Tanh"), "_npi_exp": _simple("Exp"), "_npi_log": _simple("Log"),
    "_npi_sqrt": _simple("Sqrt"), "_npi_negative": _simple("Neg"),
    "_npi_absolute": _simple("Abs"), "_npi_sin": _simple("Sin"), "_npi_cos": _simple("Cos"),
    "_npi_tan": _simple("Tan"), "_npi_arcsin": _simple("Asin"), "_npi_arccos": _simple("Acos"),
    "_npi_arctan": _simple("Atan"), "_npi_sinh": _simple("Sinh"), "_npi_cosh": _simple("Cosh"),
    "_npi_arcsinh": _simple("Asinh"), "_npi_arccosh": _simple("Acosh"),
    "_npi_arctanh": _simple("Atanh"),
    "_npi_log1p": lambda g, x, dt: g.op("Log", [g.op("Add", [x, g.scalar(1.0, dt)])]),
    "_npi_expm1": lambda g, x, dt: g.op("Sub", [g.op("Exp", [x]), g.scalar(1.0, dt)]),
    "_npi_log2": _log_base(2.0), "_npi_log10": _log_base(10.0),
    "_npi_square": lambda g, x, dt: g.op("Mul", [x, x]),
    "_npi_reciprocal": _simple("Reciprocal"), "_npi_cbrt": _cbrt,
    "_npi_degrees": lambda g, x, dt: g.op("Mul", [x, g.scalar(180.0 / math.pi, dt)]),
    "_npi_radians": lambda g, x, dt: g.op("Mul", [x, g.scalar(math.pi / 180.0, dt)]),
    "_npi_floor": _simple("Floor"), "_npi_ceil": _simple("Ceil"), "_npi_trunc": _trunc,
    "_npi_sign": _simple("Sign"), "_npx_relu": _simple("Relu"),
    "_npx_sigmoid": _simple("Sigmoid"),
}


def _np_unary(fn):
    def conv(g: G, node: Any) -> list:
        dt = g.in_dtype(node)
        if dt.kind == "b":
            raise g.fail(node, "input 'x' of dtype bool is not supported (as in MXNet)")
        if dt.kind == "f":
            return [fn(g, g.x(node), dt)]
        f64 = np.dtype(np.float64)
        y = _trunc(g, fn(g, g.cast(g.x(node), f64), f64), f64)
        return [g.cast(y, dt)]
    return conv


for _name, _fn in _NP_UNARY.items():
    register(_name)(_np_unary(_fn))


# ----------------------------------------------------------------------------------------
# Elementwise binary: operands cast to the output dtype; comparisons in the operands' dtype.

_NP_BINARY = {"_npi_add": "Add", "_npi_subtract": "Sub", "_npi_multiply": "Mul",
              "_npi_true_divide": "Div", "_npi_power": "Pow"}
_NP_COMPARE = {"_npi_less": ("Less", False), "_npi_less_equal": ("LessOrEqual", False),
               "_npi_greater": ("Greater", False),
               "_npi_greater_equal": ("GreaterOrEqual", False),
               "_npi_equal": ("Equal", False), "_npi_not_equal": ("Equal", True)}


def _np_binary(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        t = g.out_dtype(node)
        return [g.op(onnx_op, [_in_as(g, node, 0, t), _in_as(g, node, 1, t)])]
    return conv


for _name, _ox in _NP_BINARY.items():
    register(_name)(_np_binary(_ox))


def _cmp(g: G, onnx_op: str, negate: bool, a: str, b: str, dt: np.dtype) -> str:
    if dt.kind == "b" and onnx_op != "Equal":  # ONNX orders numbers only
        a, b = g.cast(a, np.int32), g.cast(b, np.int32)
    y = g.op(onnx_op, [a, b])
    return g.op("Not", [y]) if negate else y


def _np_compare(onnx_op: str, negate: bool):
    def conv(g: G, node: Any) -> list:
        y = _cmp(g, onnx_op, negate, g.x(node, 0), g.x(node, 1), g.in_dtype(node, 0))
        return [_as(g, y, np.bool_, g.out_dtype(node))]
    return conv


for _name, (_ox, _neg) in _NP_COMPARE.items():
    register(_name)(_np_compare(_ox, _neg))


@register("_npi_mod")
def _np_mod(g: G, node: Any) -> list:
    t = g.out_dtype(node)
    return [_mod_of(g, _in_as(g, node, 0, t), _in_as(g, node, 1, t), t)]


@register("_npi_hypot")
def _np_hypot(g: G, node: Any) -> list:
    return [_hypot_of(g, g.x(node, 0), g.x(node, 1))]


_NP_SCALAR = {"_npi_add_scalar": ("Add", False), "_npi_subtract_scalar": ("Sub", False),
              "_npi_rsubtract_scalar": ("Sub", True), "_npi_multiply_scalar": ("Mul", False),
              "_npi_power_scalar": ("Pow", False), "_npi_rpower_scalar": ("Pow", True),
              "_npi_true_divide_scalar": ("Div", False),
              "_npi_rtrue_divide_scalar": ("Div", True)}


def _np_scalar(onnx_op: str, reflected: bool):
    def conv(g: G, node: Any) -> list:
        t = g.out_dtype(node)
        x = _in_as(g, node, 0, t)
        s = g.scalar(node.parsed.scalar, t)
        return [g.op(onnx_op, [s, x] if reflected else [x, s])]
    return conv


for _name, (_ox, _rf) in _NP_SCALAR.items():
    register(_name)(_np_scalar(_ox, _rf))


@register("_npi_mod_scalar", "_npi_rmod_scalar")
def _np_mod_scalar(g: G, node: Any) -> list:
    t = g.out_dtype(node)
    x = _in_as(g, node, 0, t)
    s = g.scalar(node.parsed.scalar, t)
    a, b = (s, x) if node.op.name == "_npi_rmod_scalar" else (x, s)
    return [_mod_of(g, a, b, t)]


_NP_SCALAR_COMPARE = {
    "_npi_less_scalar": ("Less", False), "_npi_less_equal_scalar": ("LessOrEqual", False),
    "_npi_greater_scalar": ("Greater", False),
    "_npi_greater_equal_scalar": ("GreaterOrEqual", False),
    "_npi_equal_scalar": ("Equal", False), "_npi_not_equal_scalar": ("Equal", True)}


def _np_scalar_compare(onnx_op: str, negate: bool):
    def conv(g: G, node: Any) -> list:
        dt = g.in_dtype(node)
        x = g.x(node)
        if dt.kind == "b":  # the scalar is cast to bool (2 is True), as MXNet does
            s = g.const(bool(node.parsed.scalar), np.bool_)
        else:  # integers are compared in float64 against the scalar as given
            if dt.kind != "f":
                dt = np.dtype(np.float64)
                x = g.cast(x, dt)
            s = g.scalar(node.parsed.scalar, dt)
        return [_cmp(g, onnx_op, negate, x, s, dt)]
    return conv


for _name, (_ox, _neg) in _NP_SCALAR_COMPARE.items():
    register(_name)(_np_scalar_compare(_ox, _neg))


@register("_npi_logical_not")
def _np_logical_not(g: G, node: Any) -> list:
    return [g.op("Not", [_to_bool(g, g.x(node), g.in_dtype(node))])]


@register("_npi_where")
def _np_where(g: G, node: Any) -> list:
    cond = _to_bool(g, g.x(node, 0), g.in_dtype(node, 0))
    return [g.op("Where", [cond, g.x(node, 1), g.x(node, 2)])]


@register("_npi_where_lscalar", "_npi_where_rscalar")
def _np_where_scalar(g: G, node: Any) -> list:
    cond = _to_bool(g, g.x(node, 0), g.in_dtype(node, 0))
    v = g.x(node, 1)
    s = g.scalar(node.parsed.scalar, g.in_dtype(node, 1))
    pair = [s, v] if node.op.name == "_npi_where_lscalar" else [v, s]
    y = g.op("Where", [cond, *pair])
    want = g.out_shape(node)
    if tuple(g.in_shape(node, 1)) != tuple(want) or tuple(g.in_shape(node, 0)) != tuple(want):
        y = g.op("Expand", [y, g.shape_tensor(node)])
    return [y]


@register("_npi_where_scalar2")
def _np_where_scalar2(g: G, node: Any) -> list:
    a = node.parsed
    cond = _to_bool(g, g.x(node), g.in_dtype(node))
    f32 = np.dtype(np.float32)
    return [g.op("Where", [cond, g.scalar(a.x, f32), g.scalar(a.y, f32)])]


# ----------------------------------------------------------------------------------------
# Shapes: copy, transpose, reshape, squeeze, concatenate, stack, flip, moveaxis, pad.

@register("_np_copy")
def _np_copy(g: G, node: Any) -> list:
    return [g.op("Identity", [g.x(node)])]


@register("_np_reshape", "_npx_reshape", "_np_squeeze")
def _np_reshape(g: G, node: Any) -> list:
    return [g.reshape_to(g.x(node), g.in_shape(node), g.in_dyn(node), g.out_shape(node),
                         g.out_dyn(node), node)]


@register("_npi_concatenate")
def _np_concatenate(g: G, node: Any) -> list:
    xs = g.xs(node)
    if node.parsed.axis is None:
        xs = [g.op("Reshape", [x, g.ints([-1])]) for x in xs]
        ax = 0
    else:
        ax = _axis(node.parsed.axis, len(g.in_shape(node)))
    return [g.op("Concat", xs, axis=ax) if len(xs) > 1 else g.op("Identity", xs)]


@register("_npi_stack")
def _np_stack(g: G, node: Any) -> list:
    ax = _axis(node.parsed.axis, len(g.in_shape(node)) + 1)
    xs = [g.unsqueeze(x, [ax]) for x in g.xs(node)]
    return [xs[0] if len(xs) == 1 else g.op("Concat", xs, axis=ax)]


@register("_npi_flip")
def _np_flip(g: G, node: Any) -> list:
    axes = list(node.parsed.axis)
    n = len(axes)
    if not n:
        return [g.op("Identity", [g.x(node)])]
    return [g.op("Slice", [g.x(node), g.ints([-1] * n), g.ints([INT_MIN] * n), g.ints(axes),
                           g.ints([-1] * n)])]


@register("_np_moveaxis")
def _np_moveaxis(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    src = [_axis(i, ndim) for i in a.source]
    dst = [_axis(i, ndim) for i in a.destination]
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return [g.op("Transpose", [g.x(node)], perm=order)]


_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect"}


@register("_npi_pad")
def _np_pad(g: G, node: Any) -> list:
    a = node.parsed
    mode = _PAD_MODES.get(a.mode)
    if mode is None:
        raise g.fail(node, f"mode={a.mode!r} has no ONNX Pad mode (constant, edge and reflect "
                           "do)")
    pw = list(a.pad_width)
    pads = [p[0] for p in pw] + [p[1] for p in pw]
    ins = [g.x(node), g.ints(pads)]
    if mode == "constant":
        ins.append(g.scalar(a.constant_value, g.in_dtype(node)))
    return [g.op("Pad", ins, mode=mode)]


@register("_npi_broadcast_to")
def _np_broadcast_to(g: G, node: Any) -> list:
    return [g.op("Expand", [g.x(node), g.shape_tensor(node)])]


# ----------------------------------------------------------------------------------------
# Reductions: axis=None reduces everything (0-d out), axis=() nothing; the registry's dtype.

_NP_REDUCE = {"_np_sum": "ReduceSum", "_npi_mean": "ReduceMean", "_np_max": "ReduceMax",
              "_np_min": "ReduceMin", "_np_prod": "ReduceProd"}


def _np_axes(node: Any, ndim: int) -> list[int]:
    ax = node.parsed.axis
    return list(range(ndim)) if ax is None else sorted(_axis(i, ndim) for i in ax)


def _np_reduce(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        a = node.parsed
        if a.get("initial") is not None:
            raise g.fail(node, f"initial={a.initial} is not supported (nor in MXNet 1.9.1)")
        dt, t = g.in_dtype(node), g.out_dtype(node)
        x = g.x(node)
        if t.kind == "f" or (dt.kind == "b" and t.kind != "b"):
            x = _as(g, x, dt, t)
            dt = t
        elif dt.kind == "b":  # max / min of bools: ONNX reduces bools from opset 20 only
            x = g.cast(x, np.int32)
            dt = np.dtype(np.int32)
        axes = _np_axes(node, len(g.in_shape(node)))
        y = g.reduce(onnx_op, x, axes, a.keepdims) if axes else g.op("Identity", [x])
        return [_as(g, y, dt, t)]
    return conv


for _name, _ox in _NP_REDUCE.items():
    register(_name)(_np_reduce(_ox))


@register("_np_all", "_np_any")
def _np_all_any(g: G, node: Any) -> list:
    a = node.parsed
    f32 = np.dtype(np.float32)
    nz = g.op("Not", [g.op("Equal", [g.x(node), g.scalar(0, g.in_dtype(node))])])
    x = g.cast(nz, f32)
    axes = _np_axes(node, len(g.in_shape(node)))
    op = "ReduceMin" if node.op.name == "_np_all" else "ReduceMax"
    y = g.reduce(op, x, axes, a.keepdims) if axes else x
    return [g.cast(y, np.bool_)]


@register("_npi_argmax", "_npi_argmin")
def _np_argmax(g: G, node: Any) -> list:
    a = node.parsed
    op = "ArgMax" if node.op.name == "_npi_argmax" else "ArgMin"
    shape = g.in_shape(node)
    if a.axis is None:
        y = g.op(op, [g.op("Reshape", [g.x(node), g.ints([-1])])], axis=0, keepdims=0)
        if a.keepdims:
            y = g.op("Reshape", [y, g.ints([1] * len(shape))])
    else:
        y = g.op(op, [g.x(node)], axis=_axis(a.axis, len(shape)), keepdims=int(a.keepdims))
    return [_as(g, y, np.int64, g.out_dtype(node))]


@register("_np_cumsum")
def _np_cumsum(g: G, node: Any) -> list:
    a = node.parsed
    t = g.out_dtype(node)
    x = _in_as(g, node, 0, t)
    if a.axis is None:
        x = g.op("Reshape", [x, g.ints([-1])])
        ax = 0
    else:
        ax = a.axis
    return [g.op("CumSum", [x, g.const(np.asarray(ax, np.int64), hint="axis")])]


# ----------------------------------------------------------------------------------------
# Products and creation.

@register("_npi_matmul")
def _np_matmul(g: G, node: Any) -> list:
    return [g.op("MatMul", [g.x(node, 0), g.x(node, 1)])]


@register("_np_dot")
def _np_dot(g: G, node: Any) -> list:
    na, nb = len(g.in_shape(node, 0)), len(g.in_shape(node, 1))
    a, b = g.x(node, 0), g.x(node, 1)
    if na == 0 or nb == 0:
        return [g.op("Mul", [a, b])]
    if nb <= 2:  # numpy's dot is matmul here (a 1-D b contracts its only axis)
        return [g.op("MatMul", [a, b])]
    # the last axis of a with the second-to-last of b: an Einsum over distinct letters
    letters = "abcdefghijklmnopqrstuvwxy"
    la = letters[:na - 1] + "z"
    lb_ = letters[na - 1:na - 1 + nb]
    lb = lb_[:nb - 2] + "z" + lb_[nb - 1]
    out = la[:-1] + lb_[:nb - 2] + lb_[nb - 1]
    return [g.op("Einsum", [a, b], equation=f"{la},{lb}->{out}")]


@register("_npi_zeros", "_npi_ones", "_npi_arange")
def _np_constant(g: G, node: Any) -> list:
    return [g.const(_forward(node, [])[0], hint=node.name)]


@register("_npi_full_like")
def _np_full_like(g: G, node: Any) -> list:
    t = g.out_dtype(node)
    v = np.asarray(node.parsed.fill_value).astype(t)
    return [g.op("Expand", [g.const(v.reshape(()), hint="fill"),
                            g.op("Shape", [g.x(node)])])]


# ----------------------------------------------------------------------------------------
# linalg triangle packings: a Gather along the flattened matrix with an index map made by
# the registry's own kernels.


@register("_linalg_extracttrian")
def _linalg_extracttrian(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    n = shape[-1]
    # extracttrian of the matrix of flat positions gives the positions it reads
    pos = np.arange(n * n, dtype=np.float64).reshape(n, n)
    idx = _forward(node, [pos])[0].astype(np.int64)
    flat = g.op("Reshape", [g.x(node), g.ints([0] * (len(shape) - 2) + [n * n])])
    return [g.op("Gather", [flat, g.const(idx, hint="trian_index")], axis=len(shape) - 2)]


@register("_linalg_maketrian")
def _linalg_maketrian(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    m = shape[-1]
    # maketrian of 1..m places value k+1 where packed entry k goes, 0 elsewhere
    idx = _forward(node, [np.arange(1, m + 1, dtype=np.float64)])[0].astype(np.int64)
    ndim = len(shape)
    pads = [0] * ndim + [0] * ndim
    pads[ndim - 1] = 1  # a zero in front: index 0 reads it
    padded = g.op("Pad", [g.x(node), g.ints(pads), g.scalar(0, g.in_dtype(node))])
    return [g.op("Gather", [padded, g.const(idx, hint="trian_index")], axis=ndim - 1)]


# ----------------------------------------------------------------------------------------
# Sampling: MXNet maps a normalised coordinate v to pixel (v + 1) * (n - 1) / 2 and reads 0
# outside the image: GridSample with align_corners=1 and zero padding.


def _grid_sample(g: G, node: Any, data: str, grid_n2hw: str) -> str:
    _need_opset(g, node, 16, "GridSample")
    grid = g.op("Transpose", [grid_n2hw], perm=[0, 2, 3, 1])  # (N, H, W, (x, y))
    mode = "linear" if g.opset >= 20 else "bilinear"
    return g.op("GridSample", [data, grid], mode=mode, padding_mode="zeros", align_corners=1)


def _grid_dst(g: G, node: Any, dt: np.dtype) -> np.ndarray:
    """The operator's target grid: the second output of its kernel on zeros (batch 1)."""
    zeros = [np.zeros((1, *g.in_shape(node, i)[1:]), dt) for i in range(len(node.inputs))]
    return _forward(node, zeros)[1]


@register("GridGenerator")
def _grid_generator(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.in_dtype(node)
    x = g.x(node)
    if a.transform_type == "affine":
        dst = _grid_dst(g, node, dt)  # (3, h*w)
        h, w = a.target_shape
        loc = g.op("Reshape", [x, g.ints([-1, 2, 3])])
        y = g.op("MatMul", [loc, g.const(dst, hint="grid_dst")])
        return [g.op("Reshape", [y, g.ints([-1, 2, h, w])]), g.const(dst, hint="grid_dst")]
    _, _, h, w = g.in_shape(node)
    dst = _grid_dst(g, node, dt)  # (2, h, w)
    scale = np.array([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dt).reshape(1, 2, 1, 1)
    moved = g.op("Add", [x, g.const(dst[None], hint="grid_dst")])
    y = g.op("Sub", [g.op("Div", [moved, g.const(scale, hint="scale")]), g.scalar(1, dt)])
    return [y, g.const(dst, hint="grid_dst")]


@register("BilinearSampler")
def _bilinear_sampler(g: G, node: Any) -> list:
    return [_grid_sample(g, node, g.x(node, 0), g.x(node, 1)), None]


@register("SpatialTransformer")
def _spatial_transformer(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.in_dtype(node)
    h, w = a.target_shape
    dst = _grid_dst(g, node, dt)  # (3, h*w)
    loc = g.op("Reshape", [g.x(node, 1), g.ints([-1, 2, 3])])
    src = g.op("MatMul", [loc, g.const(dst, hint="grid_dst")])  # (N, 2, h*w)
    grid = g.op("Reshape", [src, g.ints([-1, 2, h, w])])
    return [_grid_sample(g, node, g.x(node, 0), grid), g.const(dst, hint="grid_dst"), src]


# ----------------------------------------------------------------------------------------
# Deformable convolutions via DeformConv (opset 19). The modulated one samples as ONNX does
# (points outside (-1, H) x (-1, W) read 0). MXNet's plain DeformableConvolution kernel reads
# 0 for points outside [0, H) x [0, W) and repeats the last row and column: the converter
# moves points past the last row / column onto it (offsets lowered) and masks the points
# outside, which DeformConv then samples exactly so.


def _dconv_geometry(node: Any) -> tuple:
    a = node.parsed
    kh, kw = a.kernel
    stride = tuple(a.stride or (1, 1))
    dilate = tuple(a.dilate or (1, 1))
    pad = tuple(a.pad or (0, 0))
    return (kh, kw), stride, dilate, pad


def _clamp_offsets(g: G, node: Any, offset: str) -> tuple[str, str]:
    """(offsets moved onto the last row / column, mask of points inside the image)."""
    a = node.parsed
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = _dconv_geometry(node)
    _, _, h, w = g.in_shape(node, 0)
    _, _, oh, ow = g.in_shape(node, 1)
    dt = g.in_dtype(node, 1)
    dg, k = a.num_deformable_group, kh * kw
    tap_y = np.repeat(np.arange(kh) * dh, kw)
    tap_x = np.tile(np.arange(kw) * dw, kh)
    by = tap_y[:, None, None] + (np.arange(oh) * sh - ph)[None, :, None] + np.zeros((1, 1, ow))
    bx = tap_x[:, None, None] + (np.arange(ow) * sw - pw)[None, None, :] + np.zeros((1, oh, 1))
    base = np.stack([by, bx], axis=1).astype(dt)[None, None]  # (1, 1, K, 2, oh, ow)
    off = g.op("Reshape", [offset, g.ints([-1, dg, k, 2, oh, ow])])
    pos = g.op("Add", [off, g.const(base, hint="dconv_base")])
    last = g.const(np.array([h - 1, w - 1], dt).reshape(1, 1, 1, 2, 1, 1), hint="dconv_last")
    size = g.const(np.array([h, w], dt).reshape(1, 1, 1, 2, 1, 1), hint="dconv_size")
    moved = g.op("Sub", [off, g.op("Relu", [g.op("Sub", [pos, last])])])
    inside = g.op("And", [g.op("GreaterOrEqual", [pos, g.scalar(0, dt)]),
                          g.op("Less", [pos, size])])
    mask = g.reduce("ReduceMin", g.cast(inside, dt), [3], False)  # (N, dg, K, oh, ow)
    return (g.op("Reshape", [moved, g.ints([-1, dg * k * 2, oh, ow])]),
            g.op("Reshape", [mask, g.ints([-1, dg * k, oh, ow])]))


@register("_contrib_DeformableConvolution", "_contrib_ModulatedDeformableConvolution")
def _deformable_conv(g: G, node: Any) -> list:
    _need_opset(g, node, 19, "DeformConv")
    a = node.parsed
    modulated = node.op.name == "_contrib_ModulatedDeformableConvolution"
    (kh, kw), stride, dilate, (ph, pw) = _dconv_geometry(node)
    x, offset = g.x(node, 0), g.x(node, 1)
    if modulated:
        mask, wi = g.x(node, 2), 3
    else:
        offset, mask = _clamp_offsets(g, node, offset)
        wi = 2
    weight = g.x(node, wi)
    bias = "" if a.no_bias else g.x(node, wi + 1)
    return [g.op("DeformConv", [x, weight, offset, bias, mask], kernel_shape=[kh, kw],
                 strides=list(stride), dilations=list(dilate), pads=[ph, pw, ph, pw],
                 group=int(a.num_group), offset_group=int(a.num_deformable_group))]



# ----------------------------------------------------------------------------------------
# Correlation (FlowNet): for each displacement, the channel mean of data1 * shifted data2
# (or |data1 - shifted data2|) averaged over k x k windows at stride1: MXNet's sum divided by
# k * k * channels. One Slice per displacement, one AveragePool for all of them.


@register("Correlation")
def _correlation(g: G, node: Any) -> list:
    a = node.parsed
    k, md, s1, s2, pad = (a.kernel_size, a.max_displacement, a.stride1, a.stride2,
                          a.pad_size)
    _, n_disp, top_h, top_w = g.out_shape(node)
    grid = int(round(math.sqrt(n_disp)))
    r = md // s2
    x1, x2 = g.x(node, 0), g.x(node, 1)
    if pad:
        pads = g.ints([0, 0, pad, pad, 0, 0, pad, pad])
        zero = g.scalar(0, g.in_dtype(node))
        x1 = g.op("Pad", [x1, pads, zero])
        x2 = g.op("Pad", [x2, pads, zero])
    rows, cols = (top_h - 1) * s1 + k, (top_w - 1) * s1 + k
    hw = g.ints([2, 3])

    def window(x: str, top: int, left: int) -> str:
        return g.op("Slice", [x, g.ints([top, left]), g.ints([top + rows, left + cols]), hw])

    base = window(x1, md, md)
    maps = []
    for tc in range(grid * grid):
        dy, dx = (tc // grid - r) * s2, (tc % grid - r) * s2
        other = window(x2, md + dy, md + dx)
        m = (g.op("Mul", [base, other]) if a.is_multiply
             else g.op("Abs", [g.op("Sub", [base, other])]))
        maps.append(g.reduce("ReduceMean", m, [1], True))
    y = maps[0] if len(maps) == 1 else g.op("Concat", maps, axis=1)
    if k > 1 or s1 > 1:
        y = g.op("AveragePool", [y], kernel_shape=[k, k], strides=[s1, s1])
    return [y, None, None]
