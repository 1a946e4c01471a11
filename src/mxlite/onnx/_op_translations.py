"""One ONNX converter per registry operator ONNX can express, keyed by canonical op name.

A converter ``fn(g, node)`` reads ``node.parsed`` (the registry's typed Attrs) and the
inferred shapes/dtypes from the :class:`~._export.GraphBuilder` ``g``, emits ONNX nodes and
returns the tensor name of each of the node's outputs (None where it gives none).
Operators without a converter are listed in docs/onnx.md; export fails on them naming the
node and the operator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._export import INT_MAX, INT_MIN, GraphBuilder, register

G = GraphBuilder

# ----------------------------------------------------------------------------------------
# Small helpers.


def _axis(ax: int, ndim: int) -> int:
    return ax + ndim if ax < 0 else ax


def _reduce_axes(attrs: Any, ndim: int, name: str = "axis") -> list[int] | None:
    """MXNet's reduce ``axis`` / ``exclude`` as a sorted axis list (None: every axis)."""
    ax = attrs.get(name)
    excl = attrs.get("exclude", False)
    if ax is None or (isinstance(ax, tuple) and len(ax) == 0):
        return None if not excl else []
    if isinstance(ax, int):
        ax = (ax,)
    axes = sorted({_axis(a, ndim) for a in ax})
    if excl:
        axes = [i for i in range(ndim) if i not in axes]
    return axes


def _same_dtype_const(g: G, node: Any, value: float, i: int = 0) -> str:
    return g.scalar(value, g.in_dtype(node, i))


def _to_bool(g: G, x: str, dtype: np.dtype) -> str:
    return x if dtype == np.bool_ else g.cast(x, np.bool_)


# ----------------------------------------------------------------------------------------
# Elementwise unary.

_UNARY = {
    "abs": "Abs", "arccos": "Acos", "arccosh": "Acosh", "arcsin": "Asin", "arcsinh": "Asinh",
    "arctan": "Atan", "arctanh": "Atanh", "ceil": "Ceil", "cos": "Cos", "cosh": "Cosh",
    "erf": "Erf", "exp": "Exp", "floor": "Floor", "log": "Log", "negative": "Neg",
    "reciprocal": "Reciprocal", "relu": "Relu", "sigmoid": "Sigmoid", "sign": "Sign",
    "sin": "Sin", "sinh": "Sinh", "sqrt": "Sqrt", "tan": "Tan", "tanh": "Tanh",
    "softsign": "Softsign", "rint": "Round", "_contrib_sign_ste": "Sign",
}


def _unary(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        return [g.op(onnx_op, [g.x(node)])]
    return conv


for _mx, _ox in _UNARY.items():
    register(_mx)(_unary(_ox))


@register("_copy", "BlockGrad", "make_loss", "IdentityAttachKLSparseReg", "cast_storage",
          "_contrib_gradientmultiplier",
          "LinearRegressionOutput", "MAERegressionOutput", "SVMOutput")
def _identity(g: G, node: Any) -> list:
    return [g.x(node)]


@register("MakeLoss")
def _make_loss(g: G, node: Any) -> list:
    return [g.x(node)]


@register("Dropout")
def _dropout(g: G, node: Any) -> list:
    a = node.parsed
    if a.mode == "always" and a.p > 0:
        # MXNet drops at inference too in this mode: ONNX's Dropout in training mode.
        x = g.x(node)
        dt = g.in_dtype(node)
        y, _ = g.op("Dropout", [x, g.scalar(a.p, dt), g.const(True, np.bool_)], n_out=2)
        return [y]
    return [g.x(node)]


@register("round", "_contrib_round_ste")
def _round(g: G, node: Any) -> list:
    # MXNet rounds halves away from zero; ONNX's Round goes to even.
    x = g.x(node)
    dt = g.in_dtype(node)
    ax = g.op("Floor", [g.op("Add", [g.op("Abs", [x]), g.scalar(0.5, dt)])])
    return [g.op("Mul", [g.op("Sign", [x]), ax])]


@register("fix", "trunc")
def _trunc(g: G, node: Any) -> list:
    x = g.x(node)
    return [g.op("Mul", [g.op("Sign", [x]), g.op("Floor", [g.op("Abs", [x])])])]


@register("square")
def _square(g: G, node: Any) -> list:
    x = g.x(node)
    return [g.op("Mul", [x, x])]


@register("rsqrt")
def _rsqrt(g: G, node: Any) -> list:
    return [g.op("Reciprocal", [g.op("Sqrt", [g.x(node)])])]


def _cbrt_of(g: G, node: Any) -> str:
    x = g.x(node)
    third = _same_dtype_const(g, node, 1.0 / 3.0)
    return g.op("Mul", [g.op("Sign", [x]), g.op("Pow", [g.op("Abs", [x]), third])])


@register("cbrt")
def _cbrt(g: G, node: Any) -> list:
    return [_cbrt_of(g, node)]


@register("rcbrt")
def _rcbrt(g: G, node: Any) -> list:
    return [g.op("Reciprocal", [_cbrt_of(g, node)])]


@register("expm1")
def _expm1(g: G, node: Any) -> list:
    return [g.op("Sub", [g.op("Exp", [g.x(node)]), _same_dtype_const(g, node, 1.0)])]


@register("log1p")
def _log1p(g: G, node: Any) -> list:
    return [g.op("Log", [g.op("Add", [g.x(node), _same_dtype_const(g, node, 1.0)])])]


@register("log2", "log10")
def _log_base(g: G, node: Any) -> list:
    base = 2.0 if node.op.name == "log2" else 10.0
    return [g.op("Div", [g.op("Log", [g.x(node)]),
                         _same_dtype_const(g, node, math.log(base))])]


@register("degrees", "radians")
def _angle(g: G, node: Any) -> list:
    f = 180.0 / math.pi if node.op.name == "degrees" else math.pi / 180.0
    return [g.op("Mul", [g.x(node), _same_dtype_const(g, node, f)])]


@register("logical_not")
def _logical_not(g: G, node: Any) -> list:
    dt = g.in_dtype(node)
    y = g.op("Not", [_to_bool(g, g.x(node), dt)])
    return [g.cast(y, g.out_dtype(node))]


@register("Cast", "amp_cast")
def _cast(g: G, node: Any) -> list:
    return [g.cast(g.x(node), g.out_dtype(node))]


@register("amp_multicast")
def _amp_multicast(g: G, node: Any) -> list:
    return [g.cast(g.x(node, i), g.out_dtype(node, i)) for i in range(len(node.inputs))]


@register("hard_sigmoid")
def _hard_sigmoid(g: G, node: Any) -> list:
    a = node.parsed
    return [g.op("HardSigmoid", [g.x(node)], alpha=float(a.alpha), beta=float(a.beta))]


@register("smooth_l1")
def _smooth_l1(g: G, node: Any) -> list:
    # 0.5 (s x)^2 where |x| < 1 / s^2, |x| - 0.5 / s^2 elsewhere
    x = g.x(node)
    s2 = float(node.parsed.scalar) ** 2
    ax = g.op("Abs", [x])
    c = lambda v: _same_dtype_const(g, node, v)  # noqa: E731
    quad = g.op("Mul", [g.op("Mul", [x, x]), c(0.5 * s2)])
    lin = g.op("Sub", [ax, c(0.5 / s2)])
    return [g.op("Where", [g.op("Less", [ax, c(1.0 / s2)]), quad, lin])]


# ----------------------------------------------------------------------------------------
# Elementwise binary, broadcasting and scalar forms.

_BINARY = {
    "elemwise_add": "Add", "elemwise_sub": "Sub", "elemwise_mul": "Mul", "elemwise_div": "Div",
    "broadcast_add": "Add", "broadcast_sub": "Sub", "broadcast_mul": "Mul",
    "broadcast_div": "Div", "_grad_add": "Add", "_maximum": "Max", "_minimum": "Min",
    "broadcast_maximum": "Max", "broadcast_minimum": "Min", "_power": "Pow",
    "broadcast_power": "Pow",
}
_COMPARE = {
    "_equal": "Equal", "broadcast_equal": "Equal", "_greater": "Greater",
    "broadcast_greater": "Greater", "_greater_equal": "GreaterOrEqual",
    "broadcast_greater_equal": "GreaterOrEqual", "_lesser": "Less", "broadcast_lesser": "Less",
    "_lesser_equal": "LessOrEqual", "broadcast_lesser_equal": "LessOrEqual",
    "_not_equal": "Equal", "broadcast_not_equal": "Equal",
}
_LOGIC = {
    "_logical_and": "And", "broadcast_logical_and": "And", "_logical_or": "Or",
    "broadcast_logical_or": "Or", "_logical_xor": "Xor", "broadcast_logical_xor": "Xor",
}


def _binary(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        return [g.op(onnx_op, [g.x(node, 0), g.x(node, 1)])]
    return conv


for _mx, _ox in _BINARY.items():
    register(_mx)(_binary(_ox))


def _compare_out(g: G, node: Any, onnx_op: str, a: str, b: str) -> str:
    y = g.op(onnx_op, [a, b])
    if node.op.name.endswith("not_equal") or node.op.name == "_not_equal_scalar":
        y = g.op("Not", [y])
    return g.cast(y, g.out_dtype(node))  # MXNet gives 1/0 in the input dtype


def _compare(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        return [_compare_out(g, node, onnx_op, g.x(node, 0), g.x(node, 1))]
    return conv


for _mx, _ox in _COMPARE.items():
    register(_mx)(_compare(_ox))


def _logic(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        a = _to_bool(g, g.x(node, 0), g.in_dtype(node, 0))
        b = _to_bool(g, g.x(node, 1), g.in_dtype(node, 1))
        return [g.cast(g.op(onnx_op, [a, b]), g.out_dtype(node))]
    return conv


for _mx, _ox in _LOGIC.items():
    register(_mx)(_logic(_ox))


def _mod_of(g: G, a: str, b: str, dt: np.dtype) -> str:
    # MXNet's mod takes the divisor's sign and gives 0 where the divisor is 0.
    if dt.kind == "f":
        r = g.op("Mod", [a, b], fmod=1)
        zero = g.scalar(0, dt)
        fix = g.op("And", [g.op("Not", [g.op("Equal", [r, zero])]),
                           g.op("Not", [g.op("Equal", [g.op("Less", [r, zero]),
                                                       g.op("Less", [b, zero])])])])
        r = g.op("Where", [fix, g.op("Add", [r, b]), r])
    else:
        safe = g.op("Where", [g.op("Equal", [b, g.scalar(0, dt)]), g.scalar(1, dt), b])
        r = g.op("Mod", [a, safe], fmod=0)
    return g.op("Where", [g.op("Equal", [b, g.scalar(0, dt)]), g.scalar(0, dt), r])


@register("_mod", "broadcast_mod")
def _mod(g: G, node: Any) -> list:
    return [_mod_of(g, g.x(node, 0), g.x(node, 1), g.in_dtype(node, 0))]


def _hypot_of(g: G, a: str, b: str) -> str:
    return g.op("Sqrt", [g.op("Add", [g.op("Mul", [a, a]), g.op("Mul", [b, b])])])


@register("_hypot", "broadcast_hypot")
def _hypot(g: G, node: Any) -> list:
    return [_hypot_of(g, g.x(node, 0), g.x(node, 1))]


_SCALAR = {
    "_plus_scalar": ("Add", False), "_minus_scalar": ("Sub", False),
    "_rminus_scalar": ("Sub", True), "_mul_scalar": ("Mul", False),
    "_div_scalar": ("Div", False), "_rdiv_scalar": ("Div", True),
    "_power_scalar": ("Pow", False), "_rpower_scalar": ("Pow", True),
    "_maximum_scalar": ("Max", False), "_minimum_scalar": ("Min", False),
}


def _scalar_op(onnx_op: str, reflected: bool):
    def conv(g: G, node: Any) -> list:
        x = g.x(node)
        s = _same_dtype_const(g, node, node.parsed.scalar)
        return [g.op(onnx_op, [s, x] if reflected else [x, s])]
    return conv


for _mx, (_ox, _rf) in _SCALAR.items():
    register(_mx)(_scalar_op(_ox, _rf))

_SCALAR_COMPARE = {
    "_equal_scalar": "Equal", "_not_equal_scalar": "Equal", "_greater_scalar": "Greater",
    "_greater_equal_scalar": "GreaterOrEqual", "_lesser_scalar": "Less",
    "_lesser_equal_scalar": "LessOrEqual",
}


def _scalar_compare(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        s = _same_dtype_const(g, node, node.parsed.scalar)
        return [_compare_out(g, node, onnx_op, g.x(node), s)]
    return conv


for _mx, _ox in _SCALAR_COMPARE.items():
    register(_mx)(_scalar_compare(_ox))

_SCALAR_LOGIC = {"_logical_and_scalar": "And", "_logical_or_scalar": "Or",
                 "_logical_xor_scalar": "Xor"}


def _scalar_logic(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        a = _to_bool(g, g.x(node), g.in_dtype(node))
        b = g.const(bool(node.parsed.scalar), np.bool_)
        return [g.cast(g.op(onnx_op, [a, b]), g.out_dtype(node))]
    return conv


for _mx, _ox in _SCALAR_LOGIC.items():
    register(_mx)(_scalar_logic(_ox))


@register("_mod_scalar", "_rmod_scalar")
def _mod_scalar(g: G, node: Any) -> list:
    x = g.x(node)
    s = _same_dtype_const(g, node, node.parsed.scalar)
    a, b = (s, x) if node.op.name == "_rmod_scalar" else (x, s)
    return [_mod_of(g, a, b, g.in_dtype(node))]


@register("_hypot_scalar")
def _hypot_scalar(g: G, node: Any) -> list:
    return [_hypot_of(g, g.x(node), _same_dtype_const(g, node, node.parsed.scalar))]


@register("add_n")
def _add_n(g: G, node: Any) -> list:
    xs = g.xs(node)
    return [xs[0] if len(xs) == 1 else g.op("Sum", xs)]


@register("clip")
def _clip(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.in_dtype(node)
    return [g.op("Clip", [g.x(node), g.scalar(a.a_min, dt), g.scalar(a.a_max, dt)])]


@register("where")
def _where(g: G, node: Any) -> list:
    cond = _to_bool(g, g.x(node, 0), g.in_dtype(node, 0))
    cs, xs = g.in_shape(node, 0), g.in_shape(node, 1)
    if len(cs) == 1 and len(xs) > 1:
        # A 1-D condition picks whole rows of x / y.
        cond = g.unsqueeze(cond, list(range(1, len(xs))))
    return [g.op("Where", [cond, g.x(node, 1), g.x(node, 2)])]


# ----------------------------------------------------------------------------------------
# Activations.


@register("Activation")
def _activation(g: G, node: Any) -> list:
    t = node.parsed.act_type
    op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softrelu": "Softplus",
          "softsign": "Softsign"}[t]
    return [g.op(op, [g.x(node)])]


def _gelu(g: G, x: str, dt: np.dtype) -> str:
    if g.opset >= 20:
        return g.op("Gelu", [x])
    # 0.5 x (1 + erf(x / sqrt 2)), MXNet's exact form
    e = g.op("Erf", [g.op("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5, dt)]),
                        g.op("Add", [e, g.scalar(1.0, dt)])])


@register("LeakyReLU")
def _leaky_relu(g: G, node: Any) -> list:
    a = node.parsed
    x = g.x(node)
    t = a.act_type
    if t == "leaky":
        return [g.op("LeakyRelu", [x], alpha=float(a.slope))]
    if t == "elu":
        return [g.op("Elu", [x], alpha=float(a.slope))]
    if t == "selu":
        return [g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)]
    if t == "gelu":
        return [_gelu(g, x, g.in_dtype(node))]
    if t == "rrelu":
        # Inference uses the mean of the random slope's range.
        slope = (a.lower_bound + a.upper_bound) / 2
        mask = g.op("Expand", [g.scalar(slope, g.in_dtype(node)), g.op("Shape", [x])])
        return [g.op("LeakyRelu", [x], alpha=float(slope)), mask]
    # prelu: one slope per channel (axis 1), or one for all
    ndim = len(g.in_shape(node, 0))
    gs = g.in_shape(node, 1)
    slope = g.x(node, 1)
    if int(np.prod(gs)) != 1 and ndim > 2:
        w = g.param(node, 1)
        shape = (gs[0],) + (1,) * (ndim - 2)
        if w is not None:
            slope = g.const(w.reshape(shape), hint=f"{node.name}_slope")
        else:
            slope = g.op("Reshape", [slope, g.ints(shape)])
    return [g.op("PRelu", [x, slope])]


def _softmax_like(g: G, node: Any, op_type: str, negate: bool = False) -> list:
    a = node.parsed
    if a.get("use_length"):
        raise g.fail(node, "softmax with use_length=True has no ONNX converter")
    x = g.x(node)
    dt = g.in_dtype(node)
    if negate:
        x = g.op("Neg", [x])
    if a.temperature is not None and a.temperature != 1.0:
        x = g.op("Div", [x, g.scalar(a.temperature, dt)])
    y = g.softmax(op_type, x, a.axis, len(g.in_shape(node)))
    if a.get("dtype") is not None and np.dtype(a.dtype) != dt:
        y = g.cast(y, a.dtype)
    return [y]


@register("softmax")
def _softmax(g: G, node: Any) -> list:
    return _softmax_like(g, node, "Softmax")


@register("log_softmax")
def _log_softmax(g: G, node: Any) -> list:
    return _softmax_like(g, node, "LogSoftmax")


@register("softmin")
def _softmin(g: G, node: Any) -> list:
    return _softmax_like(g, node, "Softmax", negate=True)


def _softmax_flat(g: G, node: Any, x: str, shape: tuple) -> str:
    """Softmax over every dim but the first (as over a (N, -1) view)."""
    if len(shape) == 2:
        return g.softmax("Softmax", x, 1, 2)
    flat = g.op("Flatten", [x], axis=1)
    y = g.softmax("Softmax", flat, 1, 2)
    dyn = g.in_dyn(node)
    fdyn = {0} if 0 in dyn else set()
    if dyn - {0}:
        return g.op("Reshape", [y, g.op("Shape", [x])])
    return g.reshape_to(y, (shape[0], int(np.prod(shape[1:]))), fdyn, shape, dyn, node)


@register("SoftmaxActivation")
def _softmax_activation(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    if node.parsed.mode == "channel":
        return [g.softmax("Softmax", g.x(node), 1, len(shape))]
    return [_softmax_flat(g, node, g.x(node), shape)]


@register("SoftmaxOutput")
def _softmax_output(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    x = g.x(node)
    if a.multi_output:
        return [g.softmax("Softmax", x, 1, len(shape))]
    if a.preserve_shape:
        return [g.softmax("Softmax", x, -1, len(shape))]
    return [_softmax_flat(g, node, x, shape)]


@register("LogisticRegressionOutput")
def _logistic_output(g: G, node: Any) -> list:
    return [g.op("Sigmoid", [g.x(node)])]


@register("softmax_cross_entropy")
def _softmax_ce(g: G, node: Any) -> list:
    logp = g.softmax("LogSoftmax", g.x(node, 0), 1, 2)
    idx = g.unsqueeze(g.cast(g.x(node, 1), np.int64), [1])
    picked = g.op("GatherElements", [logp, idx], axis=1)
    total = g.reduce("ReduceSum", picked, None, keepdims=False)
    return [g.op("Reshape", [g.op("Neg", [total]), g.ints([1])])]


# ----------------------------------------------------------------------------------------
# Dense, convolution, pooling.


@register("FullyConnected")
def _fully_connected(g: G, node: Any) -> list:
    a = node.parsed
    x = g.x(node)
    shape = g.in_shape(node)
    ins = [g.x(node, 1)] + ([] if a.no_bias else [g.x(node, 2)])
    if a.flatten:
        if len(shape) != 2:
            x = g.op("Flatten", [x], axis=1)
        return [g.op("Gemm", [x, *ins], alpha=1.0, beta=1.0, transA=0, transB=1)]
    w = g.param(node, 1)
    wt = (g.const(w.T, hint=f"{node.name}_weight_t") if w is not None
          else g.op("Transpose", [ins[0]], perm=[1, 0]))
    y = g.op("MatMul", [x, wt])
    if not a.no_bias:
        y = g.op("Add", [y, ins[1]])
    return [y]


def _to_channel_first(g: G, x: str, layout: str | None, k: int) -> tuple[str, list | None]:
    if not layout or layout.startswith("NC"):
        return x, None
    perm = [0, k + 1, *range(1, k + 1)]
    back = [0, *range(2, k + 2), 1]
    return g.op("Transpose", [x], perm=perm), back


def _from_channel_first(g: G, y: str, back: list | None) -> str:
    return y if back is None else g.op("Transpose", [y], perm=back)


def _channel_first_weight(g: G, node: Any, back: list | None, k: int) -> str:
    """The weight, laid out (O, I, *k) when the data's layout put it (O, *k, I)."""
    if back is None:
        return g.x(node, 1)
    perm = [0, k + 1, *range(1, k + 1)]
    w = g.param(node, 1)
    if w is not None:
        return g.const(np.transpose(w, perm), hint=f"{node.name}_weight_nc")
    return g.op("Transpose", [g.x(node, 1)], perm=perm)


@register("Convolution", "Convolution_v1")
def _convolution(g: G, node: Any) -> list:
    a = node.parsed
    k = len(a.kernel)
    x, back = _to_channel_first(g, g.x(node), a.get("layout"), k)
    w = _channel_first_weight(g, node, back, k)
    ins = [x, w] + ([] if a.no_bias else [g.x(node, 2)])
    pad = list(a.pad or (0,) * k)
    y = g.op("Conv", ins, kernel_shape=list(a.kernel), strides=list(a.stride or (1,) * k),
             dilations=list(a.dilate or (1,) * k), pads=pad + pad, group=int(a.num_group))
    return [_from_channel_first(g, y, back)]


@register("Deconvolution")
def _deconvolution(g: G, node: Any) -> list:
    from ..ops.nn import _deconv_geometry

    a = node.parsed
    k = len(a.kernel)
    x, back = _to_channel_first(g, g.x(node), a.layout, k)
    shape = g.in_shape(node)
    spatial = shape[2:] if back is None else shape[1:-1]
    _, stride, pad, dilate, adj = _deconv_geometry(a, tuple(spatial))
    w = _channel_first_weight(g, node, back, k)
    ins = [x, w] + ([] if a.no_bias else [g.x(node, 2)])
    y = g.op("ConvTranspose", ins, kernel_shape=list(a.kernel), strides=list(stride),
             dilations=list(dilate), pads=list(pad) + list(pad), output_padding=list(adj),
             group=int(a.num_group))
    return [_from_channel_first(g, y, back)]


def _pad_spatial(g: G, x: str, before: list, after: list, fill: float, dt: np.dtype) -> str:
    if not any(before) and not any(after):
        return x
    pads = [0, 0, *before, 0, 0, *after]
    return g.op("Pad", [x, g.ints(pads), g.scalar(fill, dt)], mode="constant")


@register("Pooling", "Pooling_v1")
def _pooling(g: G, node: Any) -> list:
    from ..ops._window import _pool_geometry

    a = node.parsed
    shape = g.in_shape(node)
    k = len(shape) - 2
    x, back = _to_channel_first(g, g.x(node), a.get("layout"), k)
    nc = shape if back is None else (shape[0], shape[-1], *shape[1:-1])
    dt = g.in_dtype(node)
    pt = a.pool_type
    n_out = len(node.op.list_outputs(a))
    if a.global_pool:
        if pt == "max":
            y = g.op("GlobalMaxPool", [x])
        elif pt == "avg":
            y = g.op("GlobalAveragePool", [x])
        elif pt == "sum":
            y = g.reduce("ReduceSum", x, list(range(2, k + 2)), keepdims=True)
        else:
            y = g.op("GlobalLpPool", [x], p=int(a.get("p_value") or 2))
        y = _from_channel_first(g, y, back)
        return [y] * n_out
    kernel = tuple(a.kernel)
    stride = tuple(a.stride or (1,) * k)
    pad = tuple(a.pad or (0,) * k)
    _, before, after = _pool_geometry(tuple(nc[2:]), kernel, stride, pad, a.pooling_convention)
    before, after = list(before), list(after)
    count_pad = a.get("count_include_pad") is not False
    geo = {"kernel_shape": list(kernel), "strides": list(stride)}
    if pt == "avg" and count_pad:
        # MXNet divides by the window's part inside the input padded by ``before`` on both
        # sides: pad that explicitly, and let ONNX count what lies inside it.
        x = _pad_spatial(g, x, before, before, 0.0, dt)
        extra = [e - b for b, e in zip(before, after)]
        if any(e >= kk for e, kk in zip(extra, kernel)):
            raise g.fail(node, "this avg pooling geometry has no ONNX converter")
        y = g.op("AveragePool", [x], count_include_pad=0, pads=[0] * k + extra, **geo)
    elif pt == "avg" or (pt == "max" and not any(
            b >= kk or e >= kk for b, e, kk in zip(before, after, kernel))):
        if pt == "avg" and any(b >= kk or e >= kk for b, e, kk in zip(before, after, kernel)):
            raise g.fail(node, "this avg pooling geometry has no ONNX converter")
        pads = before + after
        if pt == "max":
            y = g.op("MaxPool", [x], pads=pads, **geo)
        else:
            y = g.op("AveragePool", [x], count_include_pad=0, pads=pads, **geo)
    else:
        fill = float(np.finfo(dt).min) if pt == "max" else 0.0
        x = _pad_spatial(g, x, before, after, fill, dt)
        if pt == "max":
            y = g.op("MaxPool", [x], **geo)
        elif pt == "sum":
            y = g.op("AveragePool", [x], count_include_pad=1, **geo)
            y = g.op("Mul", [y, g.scalar(float(np.prod(kernel)), dt)])
        else:
            y = g.op("LpPool", [x], p=int(a.get("p_value") or 2), **geo)
    y = _from_channel_first(g, y, back)
    return [y] * n_out


# ----------------------------------------------------------------------------------------
# Normalisation.


def _along_axis(g: G, node: Any, i: int, ndim: int, axis: int) -> str:
    """Input ``i`` (a per-channel vector) shaped to broadcast along ``axis`` of ndim data."""
    shape = [1] * ndim
    shape[axis] = -1
    w = g.param(node, i)
    if w is not None:
        return g.const(w.reshape(shape), hint=f"{node.name}_{i}")
    return g.op("Reshape", [g.x(node, i), g.ints(shape)])


@register("BatchNorm", "BatchNorm_v1")
def _batch_norm(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    ndim = len(shape)
    ax = _axis(a.get("axis", 1), ndim)
    x = g.x(node)
    if a.fix_gamma:
        gamma = g.const(np.ones(g.in_shape(node, 1), dtype=g.in_dtype(node, 1)),
                        hint=f"{node.name}_gamma_fixed")
    else:
        gamma = g.x(node, 1)
    rest = [g.x(node, i) for i in (2, 3, 4)]
    if ax != 1 or ndim < 2:
        perm = list(range(ndim))
        if ndim >= 2:
            perm.insert(1, perm.pop(ax))
        inv = list(np.argsort(perm))
        t = g.op("Transpose", [x], perm=perm) if ndim >= 2 else x
        y = g.op("BatchNormalization", [t, gamma, *rest], epsilon=float(a.eps))
        y = g.op("Transpose", [y], perm=[int(i) for i in inv]) if ndim >= 2 else y
    else:
        y = g.op("BatchNormalization", [x, gamma, *rest], epsilon=float(a.eps))
    return [y, None, None]


@register("InstanceNorm")
def _instance_norm(g: G, node: Any) -> list:
    a = node.parsed
    return [g.op("InstanceNormalization", g.xs(node), epsilon=float(a.eps)), None, None]


def _normalize(g: G, x: str, axes: list[int], eps: float, dt: np.dtype) -> str:
    mean = g.reduce("ReduceMean", x, axes, keepdims=True)
    c = g.op("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [c, c]), axes, keepdims=True)
    std = g.op("Sqrt", [g.op("Add", [var, g.scalar(eps, dt)])])
    return g.op("Div", [c, std])


@register("LayerNorm")
def _layer_norm(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    ndim = len(shape)
    ax = _axis(a.axis, ndim)
    dt = g.in_dtype(node)
    y = _normalize(g, g.x(node), [ax], float(a.eps), dt)
    y = g.op("Mul", [y, _along_axis(g, node, 1, ndim, ax)])
    return [g.op("Add", [y, _along_axis(g, node, 2, ndim, ax)]), None, None]


@register("GroupNorm")
def _group_norm(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    dt = g.in_dtype(node)
    x = g.x(node)
    grouped = g.op("Reshape", [x, g.ints([0, a.num_groups, -1])])
    y = _normalize(g, grouped, [2], float(a.eps), dt)
    y = g.op("Mul", [y, _along_axis(g, node, 1, 3, 1)])
    y = g.op("Add", [y, _along_axis(g, node, 2, 3, 1)])
    dyn = g.in_dyn(node)
    if dyn - {0}:
        return [g.op("Reshape", [y, g.op("Shape", [x])]), None, None]
    gshape = (shape[0], a.num_groups, int(np.prod(shape[1:])) // a.num_groups)
    return [g.reshape_to(y, gshape, dyn, shape, dyn, node), None, None]


@register("L2Normalization")
def _l2_normalization(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    dt = g.in_dtype(node)
    axes = {"instance": list(range(1, ndim)), "channel": [1],
            "spatial": list(range(2, ndim))}[a.mode]
    x = g.x(node)
    ss = g.reduce("ReduceSumSquare", x, axes, keepdims=True)
    norm = g.op("Sqrt", [g.op("Add", [ss, g.scalar(a.eps, dt)])])
    return [g.op("Div", [x, norm]), None]


@register("LRN")
def _lrn(g: G, node: Any) -> list:
    a = node.parsed
    return [g.op("LRN", [g.x(node)], alpha=float(a.alpha), beta=float(a.beta),
                 bias=float(a.knorm), size=int(a.nsize)), None]


@register("moments")
def _moments(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    axes = _reduce_axes(a, ndim, "axes")
    x = g.x(node)
    mean_k = g.reduce("ReduceMean", x, axes, keepdims=True)
    c = g.op("Sub", [x, mean_k])
    var = g.reduce("ReduceMean", g.op("Mul", [c, c]), axes, keepdims=a.keepdims)
    mean = mean_k if a.keepdims else g.reduce("ReduceMean", x, axes, keepdims=False)
    return [mean, var]


# ----------------------------------------------------------------------------------------
# Shape manipulation.


@register("Flatten")
def _flatten(g: G, node: Any) -> list:
    return [g.op("Flatten", [g.x(node)], axis=1)]


def _reshape_out(g: G, node: Any, x: str | None = None) -> str:
    return g.reshape_to(g.x(node) if x is None else x, g.in_shape(node), g.in_dyn(node),
                        g.out_shape(node), g.out_dyn(node), node)


@register("Reshape", "reshape_like")
def _reshape(g: G, node: Any) -> list:
    return [_reshape_out(g, node)]


@register("expand_dims")
def _expand_dims(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node)) + 1
    return [g.unsqueeze(g.x(node), [_axis(node.parsed.axis, ndim)])]


@register("squeeze")
def _squeeze(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    ax = node.parsed.axis
    if ax is None:
        dyn = g.in_dyn(node)
        axes = [i for i, d in enumerate(shape) if d == 1 and i not in dyn]
    else:
        axes = sorted(_axis(i, len(shape)) for i in ax)
    if not axes:
        return [g.x(node)]
    return [g.squeeze(g.x(node), axes)]


@register("transpose", "_np_transpose")
def _transpose(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node))
    axes = node.parsed.axes
    perm = [_axis(i, ndim) for i in axes] if axes else list(range(ndim))[::-1]
    return [g.op("Transpose", [g.x(node)], perm=perm)]


@register("SwapAxis")
def _swap_axis(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node))
    perm = list(range(ndim))
    a, b = _axis(node.parsed.dim1, ndim), _axis(node.parsed.dim2, ndim)
    perm[a], perm[b] = perm[b], perm[a]
    return [g.op("Transpose", [g.x(node)], perm=perm)]


@register("Concat")
def _concat(g: G, node: Any) -> list:
    xs = g.xs(node)
    ndim = len(g.in_shape(node))
    return [xs[0] if len(xs) == 1 else g.op("Concat", xs, axis=_axis(node.parsed.dim, ndim))]


@register("stack")
def _stack(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node)) + 1
    ax = _axis(node.parsed.axis, ndim)
    xs = [g.unsqueeze(x, [ax]) for x in g.xs(node)]
    return [xs[0] if len(xs) == 1 else g.op("Concat", xs, axis=ax)]


def _split_outputs(g: G, node: Any, sizes: list[int], ax: int, squeeze: bool) -> list:
    if len(sizes) == 1:
        outs = [g.op("Identity", [g.x(node)])]
    else:
        outs = g.split(g.x(node), ax, sizes)
    if squeeze:
        outs = [g.squeeze(o, [ax]) for o in outs]
    return outs


@register("SliceChannel")
def _slice_channel(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    ax = _axis(a.axis, len(shape))
    n = a.num_outputs
    return _split_outputs(g, node, [shape[ax] // n] * n, ax, a.squeeze_axis)


@register("_split_v2")
def _split_v2(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    ax = _axis(a.axis, len(shape))
    sizes = [g.out_shape(node, i)[ax] if not a.squeeze_axis else None
             for i in range(node.num_outputs())]
    if a.squeeze_axis:
        sizes = [1] * node.num_outputs()
    return _split_outputs(g, node, sizes, ax, a.squeeze_axis)


def _slice(g: G, x: str, starts: list, ends: list, axes: list, steps: list) -> str:
    return g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])


@register("slice")
def _slice_op(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    begin, end = list(a.begin), list(a.end)
    step = list(a.step or ())
    starts, ends, axes, steps = [], [], [], []
    for i in range(len(begin)):
        s = step[i] if i < len(step) and step[i] is not None else 1
        b, e = begin[i], end[i] if i < len(end) else None
        if b is None:
            b = 0 if s > 0 else -1
        if e is None:
            e = INT_MAX if s > 0 else INT_MIN
        starts.append(b)
        ends.append(e)
        axes.append(i)
        steps.append(s)
    del ndim
    return [_slice(g, g.x(node), starts, ends, axes, steps)]


@register("slice_axis")
def _slice_axis(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    e = INT_MAX if a.end is None else a.end
    return [_slice(g, g.x(node), [a.begin], [e], [_axis(a.axis, ndim)], [1])]


@register("slice_like")
def _slice_like(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    axes = [_axis(i, ndim) for i in a.axes] if a.axes else list(range(ndim))
    if not (g.in_dyn(node, 1) & set(axes)):
        out = g.out_shape(node)
        return [_slice(g, g.x(node), [0] * len(axes), [out[i] for i in axes], axes,
                       [1] * len(axes))]
    like = g.op("Shape", [g.x(node, 1)])
    ends = g.op("Gather", [like, g.ints(axes)], axis=0)
    zeros = g.ints([0] * len(axes))
    return [g.op("Slice", [g.x(node), zeros, ends, g.ints(axes)])]


@register("reverse")
def _reverse(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node))
    axes = [_axis(i, ndim) for i in node.parsed.axis]
    n = len(axes)
    return [_slice(g, g.x(node), [-1] * n, [INT_MIN] * n, axes, [-1] * n)]


@register("tile")
def _tile(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    reps = list(node.parsed.reps)
    x = g.x(node)
    if len(reps) > len(shape):
        x = g.unsqueeze(x, list(range(len(reps) - len(shape))))
    reps = [1] * (len(shape) - len(reps)) + reps
    return [g.op("Tile", [x, g.ints(reps)])]


@register("repeat")
def _repeat(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    x = g.x(node)
    if a.axis is None:
        x = g.op("Reshape", [x, g.ints([-1, 1])])
        tiled = g.op("Tile", [x, g.ints([1, a.repeats])])
        return [g.op("Reshape", [tiled, g.ints([-1])])]
    ax = _axis(a.axis, len(shape))
    u = g.unsqueeze(x, [ax + 1])
    reps = [1] * (len(shape) + 1)
    reps[ax + 1] = a.repeats
    t = g.op("Tile", [u, g.ints(reps)])
    src = tuple(shape[:ax + 1]) + (a.repeats,) + tuple(shape[ax + 1:])
    sdyn = {i if i <= ax else i + 1 for i in g.in_dyn(node)}
    return [g.reshape_to(t, src, sdyn, g.out_shape(node), g.out_dyn(node), node)]


def _expand(g: G, node: Any, shape: list[int]) -> list:
    return [g.op("Expand", [g.x(node), g.ints(shape)])]


@register("broadcast_to")
def _broadcast_to(g: G, node: Any) -> list:
    shape = [1 if d == 0 else d for d in node.parsed.shape]
    return _expand(g, node, shape)


@register("broadcast_axis")
def _broadcast_axis(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    shape = [1] * ndim
    for ax, s in zip(a.axis, a.size):
        shape[_axis(ax, ndim)] = s
    return _expand(g, node, shape)


@register("broadcast_like")
def _broadcast_like(g: G, node: Any) -> list:
    a = node.parsed
    if not g.out_dyn(node):
        return [g.op("Expand", [g.x(node), g.ints(g.out_shape(node))])]
    if a.lhs_axes is None:
        return [g.op("Expand", [g.x(node), g.op("Shape", [g.x(node, 1)])])]
    lnd, rnd = len(g.in_shape(node, 0)), len(g.in_shape(node, 1))
    rs = g.op("Shape", [g.x(node, 1)])
    shape = [1] * lnd
    dims = []
    for la, ra in zip(a.lhs_axes, a.rhs_axes):
        shape[_axis(la, lnd)] = None
        dims.append((_axis(la, lnd), _axis(ra, rnd)))
    parts = []
    for i in range(lnd):
        hit = [r for l_, r in dims if l_ == i]
        parts.append(g.op("Gather", [rs, g.ints([hit[0]])], axis=0) if hit else g.ints([1]))
    target = g.op("Concat", parts, axis=0)
    return [g.op("Expand", [g.x(node), target])]


@register("Pad")
def _pad(g: G, node: Any) -> list:
    a = node.parsed
    pw = list(a.pad_width)
    pads = pw[0::2] + pw[1::2]
    dt = g.in_dtype(node)
    ins = [g.x(node), g.ints(pads)]
    if a.mode == "constant":
        ins.append(g.scalar(a.constant_value, dt))
    return [g.op("Pad", ins, mode=a.mode)]


@register("depth_to_space")
def _depth_to_space(g: G, node: Any) -> list:
    return [g.op("DepthToSpace", [g.x(node)], blocksize=int(node.parsed.block_size),
                 mode="DCR")]


@register("space_to_depth")
def _space_to_depth(g: G, node: Any) -> list:
    return [g.op("SpaceToDepth", [g.x(node)], blocksize=int(node.parsed.block_size))]


@register("UpSampling")
def _upsampling(g: G, node: Any) -> list:
    a = node.parsed
    s = int(a.scale)
    if a.sample_type == "bilinear":
        c = g.in_shape(node)[1]
        k = 2 * s - s % 2
        p = s // 2
        return [g.op("ConvTranspose", [g.x(node), g.x(node, 1)], kernel_shape=[k, k],
                     strides=[s, s], pads=[p, p, p, p], group=int(c))]
    oh = g.in_shape(node, 0)[2] * s
    ups = []
    for i in range(len(node.inputs)):
        f = oh // g.in_shape(node, i)[2]
        scales = g.const(np.asarray([1, 1, f, f], dtype=np.float32), hint="scales")
        roi = "" if g.opset >= 13 else g.const(np.zeros(0, np.float32), hint="roi")
        ups.append(g.op("Resize", [g.x(node, i), roi, scales], mode="nearest",
                        coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    if len(ups) == 1:
        return [ups[0]]
    if a.multi_input_mode == "sum":
        return [g.op("Sum", ups)]
    return [g.op("Concat", ups, axis=1)]


# ----------------------------------------------------------------------------------------
# Reductions, products, indexing.

_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
           "prod": "ReduceProd", "_square_sum": "ReduceSumSquare"}


def _reduce_conv(onnx_op: str, nan_fill: float | None = None):
    def conv(g: G, node: Any) -> list:
        a = node.parsed
        x = g.x(node)
        ndim = len(g.in_shape(node))
        if nan_fill is not None:
            dt = g.in_dtype(node)
            x = g.op("Where", [g.op("IsNaN", [x]), g.scalar(nan_fill, dt), x])
        axes = _reduce_axes(a, ndim)
        if axes is not None and not axes:
            return [g.op("Identity", [x])]
        y = g.reduce(onnx_op, x, axes, a.keepdims)
        if axes is None and not a.keepdims and not g.out_shape(node):
            return [y]
        if not a.keepdims and len(g.out_shape(node)) == 1 and (axes is None or
                                                               len(axes) == ndim):
            y = g.op("Reshape", [y, g.ints([1])])  # MXNet keeps one dim
        return [y]
    return conv


for _mx, _ox in _REDUCE.items():
    register(_mx)(_reduce_conv(_ox))
register("nansum")(_reduce_conv("ReduceSum", 0.0))
register("nanprod")(_reduce_conv("ReduceProd", 1.0))


@register("norm")
def _norm(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    axes = _reduce_axes(a, ndim)
    op = {1: "ReduceL1", 2: "ReduceL2"}.get(a.ord)
    if op is None:
        raise g.fail(node, f"ord={a.ord} has no ONNX converter")
    y = g.reduce(op, g.x(node), axes, a.keepdims)
    if not a.keepdims and len(g.out_shape(node)) == 1 and (axes is None or len(axes) == ndim):
        y = g.op("Reshape", [y, g.ints([1])])
    if a.out_dtype is not None:
        y = g.cast(y, a.out_dtype)
    return [y]


def _arg_reduce(onnx_op: str):
    def conv(g: G, node: Any) -> list:
        a = node.parsed
        x = g.x(node)
        if a.axis is None:
            y = g.op(onnx_op, [g.op("Reshape", [x, g.ints([-1])])], axis=0, keepdims=1)
            if len(g.out_shape(node)) != 1:
                y = g.op("Reshape", [y, g.ints(g.out_shape(node))])
        else:
            ndim = len(g.in_shape(node))
            y = g.op(onnx_op, [x], axis=_axis(a.axis, ndim), keepdims=int(a.keepdims))
        return [g.cast(y, g.out_dtype(node))]
    return conv


register("argmax")(_arg_reduce("ArgMax"))
register("argmin")(_arg_reduce("ArgMin"))


@register("argmax_channel")
def _argmax_channel(g: G, node: Any) -> list:
    y = g.op("ArgMax", [g.x(node)], axis=1, keepdims=0)
    return [g.cast(y, g.out_dtype(node))]


def _topk_raw(g: G, node: Any, k: int | None, largest: bool) -> tuple[str, str, int]:
    a = node.parsed
    x = g.x(node)
    shape = g.in_shape(node)
    if a.axis is None:
        x = g.op("Reshape", [x, g.ints([-1])])
        ax, n = 0, int(np.prod(shape))
    else:
        ax = _axis(a.axis, len(shape))
        n = shape[ax]
    if k is None or k <= 0 or k > n:
        k = n
    vals, idx = g.op("TopK", [x, g.ints([k])], n_out=2, axis=ax, largest=int(largest),
                     sorted=1)
    return vals, idx, ax


@register("topk")
def _topk(g: G, node: Any) -> list:
    a = node.parsed
    vals, idx, _ = _topk_raw(g, node, a.k, not a.is_ascend)
    if a.ret_typ == "value":
        return [vals]
    if a.ret_typ == "indices":
        return [g.cast(idx, a.dtype)]
    if a.ret_typ == "both":
        return [vals, g.cast(idx, a.dtype)]
    raise g.fail(node, "topk with ret_typ='mask' has no ONNX converter")


@register("sort")
def _sort(g: G, node: Any) -> list:
    vals, _, _ = _topk_raw(g, node, None, not node.parsed.is_ascend)
    return [vals]


@register("argsort")
def _argsort(g: G, node: Any) -> list:
    _, idx, _ = _topk_raw(g, node, None, not node.parsed.is_ascend)
    return [g.cast(idx, node.parsed.dtype)]


def _index(g: G, node: Any, i: int, n: int, mode: str) -> str:
    """Input ``i`` as int64 indices into a dim of size ``n``, clipped or wrapped."""
    idx = g.cast(g.x(node, i), np.int64)
    if mode == "clip":
        return g.op("Clip", [idx, g.const(np.int64(0)), g.const(np.int64(n - 1))])
    if mode == "wrap":
        return _mod_of(g, idx, g.const(np.int64(n)), np.dtype(np.int64))
    return idx


@register("take")
def _take(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node, 0)
    ax = _axis(a.axis, len(shape))
    return [g.op("Gather", [g.x(node, 0), _index(g, node, 1, shape[ax], a.mode)], axis=ax)]


@register("Embedding")
def _embedding(g: G, node: Any) -> list:
    idx = g.cast(g.x(node, 0), np.int64)
    return [g.op("Gather", [g.x(node, 1), idx], axis=0)]


@register("batch_take")
def _batch_take(g: G, node: Any) -> list:
    shape = g.in_shape(node, 0)
    idx = g.unsqueeze(_index(g, node, 1, shape[1], "clip"), [1])
    y = g.op("GatherElements", [g.x(node, 0), idx], axis=1)
    return [g.squeeze(y, [1])]


@register("pick")
def _pick(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node, 0)
    x = g.x(node)
    if a.axis is None:
        x = g.op("Reshape", [x, g.ints([-1])])
        ax, n = 0, int(np.prod(shape))
    else:
        ax, n = _axis(a.axis, len(shape)), shape[_axis(a.axis, len(shape))]
    idx = g.unsqueeze(_index(g, node, 1, n, a.mode), [ax])
    y = g.op("GatherElements", [x, idx], axis=ax)
    return [y if a.keepdims else g.squeeze(y, [ax])]


@register("gather_nd")
def _gather_nd(g: G, node: Any) -> list:
    ind_nd = len(g.in_shape(node, 1))
    idx = g.cast(g.x(node, 1), np.int64)
    idx = g.op("Transpose", [idx], perm=[*range(1, ind_nd), 0])
    return [g.op("GatherND", [g.x(node, 0), idx])]


@register("scatter_nd")
def _scatter_nd(g: G, node: Any) -> list:
    ind_nd = len(g.in_shape(node, 1))
    idx = g.cast(g.x(node, 1), np.int64)
    idx = g.op("Transpose", [idx], perm=[*range(1, ind_nd), 0])
    dt = g.in_dtype(node, 0)
    base = g.op("ConstantOfShape", [g.ints(node.parsed.shape)],
                value=g.helper.make_tensor("v", g.tensor_type(dt), [1], [0]))
    return [g.op("ScatterND", [base, idx, g.x(node, 0)])]


@register("one_hot")
def _one_hot(g: G, node: Any) -> list:
    a = node.parsed
    idx = g.cast(g.x(node), np.int64)
    vals = g.const(np.asarray([a.off_value, a.on_value], dtype=np.float32), hint="onehot")
    y = g.op("OneHot", [idx, g.ints([a.depth]), vals], axis=-1)
    return [g.cast(y, a.dtype)]


@register("dot")
def _dot(g: G, node: Any) -> list:
    a = node.parsed
    ls, rs = g.in_shape(node, 0), g.in_shape(node, 1)
    x, y = g.x(node, 0), g.x(node, 1)
    if a.transpose_a:
        x = g.op("Transpose", [x], perm=list(range(len(ls)))[::-1])
        ls = ls[::-1]
    if a.transpose_b:
        y = g.op("Transpose", [y], perm=list(range(len(rs)))[::-1])
        rs = rs[::-1]
    if len(ls) <= 2 and len(rs) <= 2 and len(ls) >= 1 and len(rs) >= 1:
        return [g.op("MatMul", [x, y])]
    # MXNet's dot contracts the last axis of lhs with the first of rhs (a tensordot).
    k = ls[-1]
    x2 = g.op("Reshape", [x, g.ints([-1, k])])
    y2 = g.op("Reshape", [y, g.ints([k, -1])])
    z = g.op("MatMul", [x2, y2])
    return [g.op("Reshape", [z, g.ints(list(g.out_shape(node)))])]


@register("batch_dot")
def _batch_dot(g: G, node: Any) -> list:
    a = node.parsed
    x, y = g.x(node, 0), g.x(node, 1)
    nd_ = len(g.in_shape(node, 0))
    perm = [*range(nd_ - 2), nd_ - 1, nd_ - 2]
    if a.transpose_a:
        x = g.op("Transpose", [x], perm=perm)
    if a.transpose_b:
        y = g.op("Transpose", [y], perm=perm)
    return [g.op("MatMul", [x, y])]


@register("diag")
def _diag(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    x = g.x(node)
    dt = g.in_dtype(node)
    if len(shape) == 1:
        n = shape[0] + abs(a.k)
        # x along the k-th diagonal: one (m, n * n) selection matrix.
        m = n - abs(a.k)
        sel = np.zeros((m, n, n), dtype=dt)
        idx = np.arange(m)
        r, c = (idx, idx + a.k) if a.k >= 0 else (idx - a.k, idx)
        sel[idx, r, c] = 1
        flat = g.op("MatMul", [g.op("Reshape", [x, g.ints([1, m])]),
                               g.const(sel.reshape(m, n * n), hint="diag")])
        return [g.op("Reshape", [flat, g.ints([n, n])])]
    if len(shape) != 2 or (a.axis1, a.axis2) not in ((0, 1),):
        raise g.fail(node, "diag of data with more than 2 dims has no ONNX converter")
    out_n = g.out_shape(node)[0]
    idx = np.arange(out_n)
    r, c = (idx, idx + a.k) if a.k >= 0 else (idx - a.k, idx)
    ind = np.stack([r, c], axis=1).astype(np.int64)
    return [g.op("GatherND", [x, g.const(ind, hint="diag_idx")])]


@register("shape_array")
def _shape_array(g: G, node: Any) -> list:
    return [g.cast(g.op("Shape", [g.x(node)]), g.out_dtype(node))]


@register("size_array")
def _size_array(g: G, node: Any) -> list:
    s = g.op("Reshape", [g.op("Size", [g.x(node)]), g.ints([1])])
    return [g.cast(s, g.out_dtype(node))]


@register("zeros_like", "ones_like")
def _fill_like(g: G, node: Any) -> list:
    dt = g.out_dtype(node)
    v = 0 if node.op.name == "zeros_like" else 1
    return [g.op("ConstantOfShape", [g.op("Shape", [g.x(node)])],
                 value=g.helper.make_tensor("v", g.tensor_type(dt), [1], [v]))]


@register("_zeros", "_ones", "_full")
def _fill(g: G, node: Any) -> list:
    # Gluon's begin_state leaves the batch size 0 for inference to fill in: the inferred
    # shape (dynamic dims read at run time) is the one to fill.
    dt = g.out_dtype(node)
    v = {"_zeros": 0, "_ones": 1}.get(node.op.name)
    if v is None:
        v = node.parsed.value
    if not g.out_dyn(node):
        return [g.const(np.full(g.out_shape(node), v, dtype=dt), hint=node.name)]
    return [g.op("ConstantOfShape", [g.shape_tensor(node)],
                 value=g.helper.make_tensor("v", g.tensor_type(dt), [1], [v]))]


@register("_arange", "_linspace", "_eye")
def _constant(g: G, node: Any) -> list:
    # The registry's own kernel computes the value; ONNX keeps it as a constant.
    from ..ops.registry import OpContext

    (val,) = node.op.forward(node.parsed, [], OpContext(False))[:1]
    return [g.const(np.asarray(val), hint=node.name)]


@register("_random_uniform", "_random_normal")
def _random(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.out_dtype(node)
    shape = list(g.out_shape(node))
    if node.op.name == "_random_uniform":
        return [g.op("RandomUniform", [], dtype=g.tensor_type(dt), shape=shape,
                     low=float(a.low), high=float(a.high))]
    return [g.op("RandomNormal", [], dtype=g.tensor_type(dt), shape=shape,
                 mean=float(a.loc), scale=float(a.scale))]


# ----------------------------------------------------------------------------------------
# Sequences.


def _time_first(g: G, node: Any) -> tuple[str, int]:
    ax = node.parsed.axis
    if ax not in (0, 1):
        raise g.fail(node, f"axis={ax} has no ONNX converter (0 or 1)")
    return g.x(node), ax


@register("SequenceMask")
def _sequence_mask(g: G, node: Any) -> list:
    a = node.parsed
    if not a.use_sequence_length:
        return [g.x(node)]
    x, ax = _time_first(g, node)
    shape = g.in_shape(node)
    ndim = len(shape)
    dt = g.in_dtype(node)
    t = shape[ax]
    steps = g.const(np.arange(t, dtype=np.float32).reshape([t] + [1] * (1 - ax)), hint="steps")
    lens = g.cast(g.x(node, 1), np.float32)
    if ax == 0:
        keep = g.op("Less", [steps, g.unsqueeze(lens, [0])])  # (T, N)
    else:
        keep = g.op("Less", [g.unsqueeze(steps, [0]), g.unsqueeze(lens, [1])])  # (N, T)
    keep = g.unsqueeze(keep, list(range(2, ndim))) if ndim > 2 else keep
    return [g.op("Where", [keep, x, g.scalar(a.value, dt)])]


@register("SequenceLast")
def _sequence_last(g: G, node: Any) -> list:
    a = node.parsed
    x, ax = _time_first(g, node)
    shape = g.in_shape(node)
    if not a.use_sequence_length:
        return [g.op("Gather", [x, g.const(np.int64(shape[ax] - 1))], axis=ax)]
    if ax == 0:
        x = g.op("Transpose", [x], perm=[1, 0, *range(2, len(shape))])
    last = g.op("Sub", [g.cast(g.x(node, 1), np.int64), g.const(np.int64(1))])
    idx = g.unsqueeze(last, [1])
    return [g.op("GatherND", [x, idx], batch_dims=1)]


@register("SequenceReverse")
def _sequence_reverse(g: G, node: Any) -> list:
    a = node.parsed
    x, ax = _time_first(g, node)
    if ax != 0:
        raise g.fail(node, "SequenceReverse along axis 1 has no ONNX converter")
    if not a.use_sequence_length:
        return [_slice(g, x, [-1], [INT_MIN], [0], [-1])]
    lens = g.cast(g.x(node, 1), np.int64)
    return [g.op("ReverseSequence", [x, lens], batch_axis=1, time_axis=0)]


# ----------------------------------------------------------------------------------------
# Detection.


@register("_contrib_box_nms")
def _box_nms(g: G, node: Any) -> list:
    """MXNet's box_nms through ONNX's NonMaxSuppression: valid boxes (score over
    ``valid_thresh``, not background), the ``topk`` best per batch, suppressed per class
    unless ``force_suppress``; kept rows first by descending score, the rest -1."""
    a = node.parsed
    shape = g.in_shape(node)
    dt = g.in_dtype(node)
    n, width = shape[-2], shape[-1]
    x = g.x(node)
    if len(shape) == 2:
        data = g.unsqueeze(x, [0])
    elif len(shape) == 3:
        data = x
    else:
        data = g.op("Reshape", [x, g.ints([-1, n, width])])
    si, cs, ii = a.score_index, a.coord_start, a.id_index
    f32 = np.dtype(np.float32)

    def column(j: int) -> str:  # (B, N)
        return g.squeeze(_slice(g, data, [j], [j + 1], [2], [1]), [2])

    scores = g.cast(column(si), f32) if dt != f32 else column(si)
    valid = g.op("Greater", [scores, g.scalar(np.float32(a.valid_thresh), f32)])
    cls = None
    if ii >= 0:
        cls = column(ii)
        valid = g.op("And", [valid, g.op("Not", [g.op("Equal", [
            cls, g.scalar(a.background_id, dt)])])])
    neg_inf = g.scalar(-np.inf, f32)
    masked = g.op("Where", [valid, scores, neg_inf])
    topk = n if a.topk < 0 else min(n, a.topk)
    if topk < n:
        # Only the topk best valid boxes of each batch take part.
        _, best = g.op("TopK", [masked, g.ints([topk])], n_out=2, axis=1, largest=1, sorted=1)
        ones = g.op("Expand", [g.const(True, np.bool_), g.op("Shape", [best])])
        zeros = g.op("Expand", [g.const(False, np.bool_), g.op("Shape", [masked])])
        chosen = g.op("ScatterElements", [zeros, best, ones], axis=1)
        valid = g.op("And", [valid, chosen])
        masked = g.op("Where", [valid, scores, neg_inf])
    boxes = _slice(g, data, [cs], [cs + 4], [2], [1])
    if dt != f32:
        boxes = g.cast(boxes, f32)
    if cls is not None and not a.force_suppress:
        # One score row per class: ONNX suppresses within each class only.
        ids = g.cast(g.op("Where", [valid, cls, g.scalar(0, dt)]), np.int64)
        depth = g.op("Add", [g.reduce("ReduceMax", ids, None, keepdims=False),
                             g.const(np.int64(1))])
        hot = g.cast(g.op("OneHot", [ids, depth, g.const(np.asarray([0, 1], np.int64))],
                          axis=1), np.bool_)  # (B, C, N)
        nms_scores = g.op("Where", [hot, g.unsqueeze(masked, [1]), neg_inf])
    else:
        nms_scores = g.unsqueeze(masked, [1])
    sel = g.op("NonMaxSuppression", [
        boxes, nms_scores, g.const(np.asarray([n], np.int64)),
        g.const(np.asarray([a.overlap_thresh], np.float32)),
        g.const(np.asarray([np.finfo(np.float32).min], np.float32))],
        center_point_box=int(a.in_format == "center"))
    pos = g.op("Gather", [sel, g.ints([0, 2])], axis=1)  # (M, 2): batch, box
    none = g.op("Expand", [g.const(False, np.bool_), g.op("Shape", [masked])])
    hit = g.op("Expand", [g.const(True, np.bool_), g.op("Slice", [
        g.op("Shape", [pos]), g.ints([0]), g.ints([1])])])
    kept = g.op("ScatterND", [none, pos, hit])
    kept = g.op("And", [kept, valid])
    # Kept rows by descending score (ties in input order), then the others.
    key = g.op("Where", [kept, scores, neg_inf])
    _, order = g.op("TopK", [key, g.ints([n])], n_out=2, axis=1, largest=1, sorted=1)
    rows = g.op("GatherND", [data, g.unsqueeze(order, [2])], batch_dims=1)  # (B, N, W)
    keep_sorted = g.op("GatherElements", [kept, order], axis=1)
    keep3 = g.unsqueeze(keep_sorted, [2])
    minus1 = g.scalar(-1, dt)
    if a.in_format != a.out_format:
        rows = _convert_box_format(g, rows, cs, width, a.out_format == "center", dt)
    out = g.op("Where", [keep3, rows, minus1])
    # The second output: each row's source index (batch-flat), -1 for the padding.
    bsz = g.squeeze(g.op("Slice", [g.op("Shape", [data]), g.ints([0]), g.ints([1])]), [0])
    base = g.op("Mul", [g.op("Range", [g.const(np.int64(0)), bsz, g.const(np.int64(1))]),
                        g.const(np.int64(n))])
    src = g.op("Add", [order, g.unsqueeze(base, [1])])
    rec = g.op("Where", [keep_sorted, g.cast(src, dt), minus1])
    rec = g.unsqueeze(rec, [2])
    out_shape = list(shape)
    if len(shape) != 3:
        dyn = g.in_dyn(node)
        fshape = (int(np.prod(shape[:-2])), n, width)
        fdyn = {0} if dyn else set()
        out = g.reshape_to(out, fshape, fdyn, tuple(out_shape), dyn, node)
        rec = g.reshape_to(rec, (*fshape[:2], 1), fdyn, (*out_shape[:-1], 1), dyn, node)
    return [out, rec]


def _convert_box_format(g: G, rows: str, cs: int, width: int, to_center: bool,
                        dt: np.dtype) -> str:
    """MXNet's output format change; rows whose first coordinate is negative stay."""
    c = [_slice(g, rows, [cs + i], [cs + i + 1], [2], [1]) for i in range(4)]
    two = g.scalar(2, dt)
    if to_center:
        new = [g.op("Div", [g.op("Add", [c[0], c[2]]), two]),
               g.op("Div", [g.op("Add", [c[1], c[3]]), two]),
               g.op("Sub", [c[2], c[0]]), g.op("Sub", [c[3], c[1]])]
    else:
        hw, hh = g.op("Div", [c[2], two]), g.op("Div", [c[3], two])
        new = [g.op("Sub", [c[0], hw]), g.op("Sub", [c[1], hh]), g.op("Add", [c[0], hw]),
               g.op("Add", [c[1], hh])]
    neg = g.op("Less", [c[0], g.scalar(0, dt)])
    coords = g.op("Where", [neg, g.op("Concat", c, axis=2), g.op("Concat", new, axis=2)])
    parts = []
    if cs > 0:
        parts.append(_slice(g, rows, [0], [cs], [2], [1]))
    parts.append(coords)
    if cs + 4 < width:
        parts.append(_slice(g, rows, [cs + 4], [width], [2], [1]))
    return g.op("Concat", parts, axis=2) if len(parts) > 1 else coords


# ----------------------------------------------------------------------------------------
# Recurrent layers.

# ONNX's gate order, as positions in MXNet's (LSTM i f g o -> i o f c; GRU r z n -> z r h).
_GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_relu": [0], "rnn_tanh": [0]}


@register("_rnn_param_concat")
def _rnn_param_concat(g: G, node: Any) -> list:
    xs = g.xs(node)
    ndim = len(g.in_shape(node))
    return [xs[0] if len(xs) == 1 else g.op("Concat", xs, axis=_axis(node.parsed.dim, ndim))]


@register("RNN")
def _rnn(g: G, node: Any) -> list:
    """The fused RNN as one ONNX LSTM / GRU / RNN node per layer (both directions in one)."""
    from ..ops.rnn import _config

    a = node.parsed
    cfg = _config(a)
    if cfg.proj:
        raise g.fail(node, "LSTM with projection_size has no ONNX converter")
    if cfg.clip is not None:
        raise g.fail(node, "lstm_state_clip_min/max have no ONNX converter")
    flat = g.folded(node, 1)
    if flat is None:
        raise g.fail(node, "the packed parameters must be constants (parameters, or "
                           "operators on parameters) for ONNX")
    c = g.in_shape(node)[2]
    H, D = cfg.H, cfg.D
    pieces = cfg.pieces(c)
    order = _GATE_ORDER[cfg.mode]
    dt = g.in_dtype(node)

    def gates(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w[k * H:(k + 1) * H] for k in order], axis=0)

    def get(p: dict, name: str) -> np.ndarray:
        off, shape = p[name]
        return flat[off:off + int(np.prod(shape))].reshape(shape)

    x = g.x(node)
    h0 = g.x(node, 2)
    c0 = g.x(node, 3) if cfg.mode == "lstm" else None
    lens = None
    if a.use_sequence_length:
        lens = g.cast(g.x(node, len(node.inputs) - 1), np.int32)
    op_type = {"lstm": "LSTM", "gru": "GRU"}.get(cfg.mode, "RNN")
    hs, cs = [], []
    for layer in range(cfg.L):
        dirs = pieces[layer]
        w = np.stack([gates(get(p, "wx")) for p in dirs]).astype(dt)
        r = np.stack([gates(get(p, "wh")) for p in dirs]).astype(dt)
        b = np.stack([np.concatenate([gates(get(p, "bx")), gates(get(p, "bh"))])
                      for p in dirs]).astype(dt)
        hint = f"{node.name}_l{layer}"
        state = _slice(g, h0, [layer * D], [(layer + 1) * D], [0], [1])
        ins = [x, g.const(w, hint=hint + "_W"), g.const(r, hint=hint + "_R"),
               g.const(b, hint=hint + "_B"), lens or "", state]
        if c0 is not None:
            ins.append(_slice(g, c0, [layer * D], [(layer + 1) * D], [0], [1]))
        attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
        if cfg.mode == "gru":
            attrs["linear_before_reset"] = 1  # cuDNN's GRU: the reset gate scales h2h + bias
        if op_type == "RNN":
            attrs["activations"] = ["Relu" if cfg.mode == "rnn_relu" else "Tanh"] * D
        n_out = 3 if cfg.mode == "lstm" else 2
        outs = g.op(op_type, ins, n_out=n_out, **attrs)
        y = outs[0]  # (T, D, N, H)
        hs.append(outs[1])
        if cfg.mode == "lstm":
            cs.append(outs[2])
        y = g.op("Transpose", [y], perm=[0, 2, 1, 3])
        x = g.op("Reshape", [y, g.ints([0, 0, -1])])
    res = [x]
    if a.state_outputs:
        res.append(hs[0] if len(hs) == 1 else g.op("Concat", hs, axis=0))
        if cfg.mode == "lstm":
            res.append(cs[0] if len(cs) == 1 else g.op("Concat", cs, axis=0))
    return res


# ----------------------------------------------------------------------------------------
# Contrib, linear algebra and image operators.


@register("_contrib_div_sqrt_dim")
def _div_sqrt_dim(g: G, node: Any) -> list:
    d = g.in_shape(node)[-1]
    return [g.op("Div", [g.x(node), _same_dtype_const(g, node, math.sqrt(d))])]


@register("_contrib_quadratic")
def _quadratic(g: G, node: Any) -> list:
    a = node.parsed
    x = g.x(node)
    c = lambda v: _same_dtype_const(g, node, v)  # noqa: E731
    y = g.op("Add", [g.op("Mul", [x, c(a.a)]), c(a.b)])  # (a x + b) x + c
    return [g.op("Add", [g.op("Mul", [y, x]), c(a.c)])]


@register("_contrib_arange_like", "_contrib_index_array", "_contrib_MultiBoxPrior")
def _shape_only(g: G, node: Any) -> list:
    """Operators whose output depends on their input's shape alone: a constant computed by
    the registry's kernel, when the dims it reads are static. Its output moves with exactly
    those dims, so a dynamic batch axis the output ignores (MultiBoxPrior's) is fine."""
    from ..ops.registry import OpContext

    if g.out_dyn(node):
        raise g.fail(node, "its output depends on a dynamic input shape; export it with "
                           "static shapes")
    ins = [np.zeros(g.in_shape(node, i), dtype=g.in_dtype(node, i))
           for i in range(len(node.inputs))]
    outs = node.op.forward(node.parsed, ins, OpContext(False))
    return [g.const(np.asarray(o), hint=node.name) for o in outs]


@register("_random_randint")
def _randint(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.out_dtype(node)
    u = g.op("RandomUniform", [], dtype=g.tensor_type(np.float32),
             shape=list(g.out_shape(node)), low=float(a.low), high=float(a.high))
    return [g.cast(g.op("Floor", [u]), dt)]


@register("_random_normal_like", "_random_uniform_like")
def _random_like(g: G, node: Any) -> list:
    a = node.parsed
    dt = g.tensor_type(g.out_dtype(node))
    if node.op.name == "_random_normal_like":
        return [g.op("RandomNormalLike", [g.x(node)], dtype=dt, mean=float(a.loc),
                     scale=float(a.scale))]
    return [g.op("RandomUniformLike", [g.x(node)], dtype=dt, low=float(a.low),
                 high=float(a.high))]


@register("Crop")
def _crop(g: G, node: Any) -> list:
    a = node.parsed
    shape = g.in_shape(node)
    oh, ow = g.out_shape(node)[2:]
    if a.center_crop:
        top, left = (shape[2] - oh) // 2, (shape[3] - ow) // 2
    else:
        top, left = a.offset
    return [_slice(g, g.x(node), [top, left], [top + oh, left + ow], [2, 3], [1, 1])]


@register("_contrib_AdaptiveAvgPooling2D")
def _adaptive_avg_pool(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    oh, ow = g.out_shape(node)[2:]
    if (oh, ow) == (1, 1):
        return [g.op("GlobalAveragePool", [g.x(node)])]
    h, w = shape[2:]
    if h % oh or w % ow:
        raise g.fail(node, f"adaptive pooling of {h}x{w} to {oh}x{ow} (not a divisor) has no "
                           "ONNX converter")
    k = [h // oh, w // ow]
    return [g.op("AveragePool", [g.x(node)], kernel_shape=k, strides=k)]


@register("_contrib_BilinearResize2D")
def _bilinear_resize(g: G, node: Any) -> list:
    a = node.parsed
    out = list(g.out_shape(node))
    if g.in_dyn(node) - {0}:
        raise g.fail(node, "resizing with dynamic spatial dims has no ONNX converter")
    if g.in_dyn(node):
        first2 = g.op("Slice", [g.op("Shape", [g.x(node)]), g.ints([0]), g.ints([2])])
        size = g.op("Concat", [first2, g.ints(out[2:])], axis=0)
    else:
        size = g.ints(out)
    roi = "" if g.opset >= 13 else g.const(np.zeros(0, np.float32), hint="roi")
    scales = "" if g.opset >= 13 else g.const(np.zeros(0, np.float32), hint="scales")
    mode = "align_corners" if a.align_corners else "pytorch_half_pixel"
    return [g.op("Resize", [g.x(node), roi, scales, size], mode="linear",
                 coordinate_transformation_mode=mode)]


def _last2_perm(nd_: int) -> list[int]:
    return [*range(nd_ - 2), nd_ - 1, nd_ - 2]


def _gemm_ab(g: G, node: Any, ta: bool, tb: bool) -> str:
    a = node.parsed
    if a.get("axis", -2) != -2:
        raise g.fail(node, f"axis={a.axis} has no ONNX converter (the default -2 has)")
    x, y = g.x(node, 0), g.x(node, 1)
    if ta:
        x = g.op("Transpose", [x], perm=_last2_perm(len(g.in_shape(node, 0))))
    if tb:
        y = g.op("Transpose", [y], perm=_last2_perm(len(g.in_shape(node, 1))))
    z = g.op("MatMul", [x, y])
    if a.alpha != 1.0:
        z = g.op("Mul", [z, _same_dtype_const(g, node, a.alpha)])
    return z


@register("_linalg_gemm2")
def _linalg_gemm2(g: G, node: Any) -> list:
    a = node.parsed
    return [_gemm_ab(g, node, a.transpose_a, a.transpose_b)]


@register("_linalg_gemm")
def _linalg_gemm(g: G, node: Any) -> list:
    a = node.parsed
    z = _gemm_ab(g, node, a.transpose_a, a.transpose_b)
    c = g.x(node, 2)
    if a.beta != 1.0:
        c = g.op("Mul", [c, _same_dtype_const(g, node, a.beta)])
    return [g.op("Add", [z, c])]


@register("_linalg_syrk")
def _linalg_syrk(g: G, node: Any) -> list:
    a = node.parsed
    x = g.x(node)
    xt = g.op("Transpose", [x], perm=_last2_perm(len(g.in_shape(node))))
    z = g.op("MatMul", [xt, x] if a.transpose else [x, xt])
    if a.alpha != 1.0:
        z = g.op("Mul", [z, _same_dtype_const(g, node, a.alpha)])
    return [z]


@register("_linalg_det")
def _linalg_det(g: G, node: Any) -> list:
    return [g.op("Det", [g.x(node)]), None, None]


def _diag_rows(g: G, node: Any, offset: int) -> str:
    """The ``offset`` diagonal of the last two axes (..., n, m): a masked row sum."""
    shape = g.in_shape(node)
    n, m = shape[-2], shape[-1]
    eye = np.eye(n, m, k=offset, dtype=g.in_dtype(node))
    masked = g.op("Mul", [g.x(node), g.const(eye, hint="eye")])
    rows = g.reduce("ReduceSum", masked, [len(shape) - 1], keepdims=False)
    first = max(0, -offset)
    count = max(min(n - first, m - max(offset, 0)), 0)
    return _slice(g, rows, [first], [first + count], [len(shape) - 2], [1])


@register("_linalg_extractdiag")
def _linalg_extractdiag(g: G, node: Any) -> list:
    return [_diag_rows(g, node, node.parsed.offset)]


@register("_linalg_sumlogdiag")
def _linalg_sumlogdiag(g: G, node: Any) -> list:
    shape = g.in_shape(node)
    d = g.op("Log", [_diag_rows(g, node, 0)])
    return [g.reduce("ReduceSum", d, [len(shape) - 2], keepdims=False)]


@register("_linalg_makediag")
def _linalg_makediag(g: G, node: Any) -> list:
    k = node.parsed.offset
    shape = g.in_shape(node)
    n = shape[-1]
    size = n + abs(k)
    sel = np.zeros((n, size, size), dtype=g.in_dtype(node))
    idx = np.arange(n)
    r, c = (idx, idx + k) if k >= 0 else (idx - k, idx)
    sel[idx, r, c] = 1
    flat = g.op("MatMul", [g.x(node), g.const(sel.reshape(n, size * size), hint="diag")])
    src = (*shape[:-1], size * size)
    dyn = g.in_dyn(node)
    return [g.reshape_to(flat, src, dyn, g.out_shape(node), g.out_dyn(node), node)]


@register("_image_normalize")
def _image_normalize(g: G, node: Any) -> list:
    from ..ops.image import _per_channel

    a = node.parsed
    shape = g.in_shape(node)
    c = shape[-3]
    mean = _per_channel(a.mean, c, "mean", shape).reshape(c, 1, 1)
    std = _per_channel(a.std, c, "std", shape).reshape(c, 1, 1)
    x = g.x(node)
    dt = g.in_dtype(node)
    if dt != np.float32:
        x = g.cast(x, np.float32)
    y = g.op("Div", [g.op("Sub", [x, g.const(mean.astype(np.float32))]),
                     g.const(std.astype(np.float32))])
    if dt != np.float32:
        info = np.iinfo(dt) if dt.kind in "iu" else None
        if info is not None:  # saturate into the integer range, as the kernel does
            y = g.op("Clip", [g.op("Round", [y]), g.scalar(info.min, np.float32),
                              g.scalar(info.max, np.float32)])
        y = g.cast(y, dt)
    return [y]


@register("_image_to_tensor")
def _image_to_tensor(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node))
    perm = [2, 0, 1] if ndim == 3 else [0, 3, 1, 2]
    x = g.cast(g.x(node), np.float32)
    y = g.op("Div", [x, g.scalar(255.0, np.float32)])
    return [g.op("Transpose", [y], perm=perm)]


@register("_image_flip_left_right", "_image_flip_top_bottom")
def _image_flip(g: G, node: Any) -> list:
    ndim = len(g.in_shape(node))
    ax = ndim - (2 if node.op.name == "_image_flip_left_right" else 3)
    return [_slice(g, g.x(node), [-1], [INT_MIN], [ax], [-1])]


@register("_image_crop")
def _image_crop(g: G, node: Any) -> list:
    a = node.parsed
    ndim = len(g.in_shape(node))
    return [_slice(g, g.x(node), [a.y, a.x], [a.y + a.height, a.x + a.width],
                   [ndim - 3, ndim - 2], [1, 1])]


@register("_contrib_ROIAlign")
def _roi_align(g: G, node: Any) -> list:
    a = node.parsed
    if a.position_sensitive:
        raise g.fail(node, "position_sensitive ROIAlign has no ONNX converter")
    if g.opset < 16 and a.aligned:
        raise g.fail(node, "aligned ROIAlign needs opset 16 or newer")
    rois = g.x(node, 1)
    batch = g.cast(g.squeeze(_slice(g, rois, [0], [1], [1], [1]), [1]), np.int64)
    boxes = _slice(g, rois, [1], [5], [1], [1])
    ph, pw = a.pooled_size
    kw = {}
    if g.opset >= 16:
        kw["coordinate_transformation_mode"] = "half_pixel" if a.aligned else \
            "output_half_pixel"
    return [g.op("RoiAlign", [g.x(node), boxes, batch], mode="avg", output_height=int(ph),
                 output_width=int(pw), sampling_ratio=max(int(a.sample_ratio), 0),
                 spatial_scale=float(a.spatial_scale), **kw)]


@register("ROIPooling")
def _roi_pooling(g: G, node: Any) -> list:
    a = node.parsed
    return [g.op("MaxRoiPool", [g.x(node), g.x(node, 1)], pooled_shape=list(a.pooled_size),
                 spatial_scale=float(a.spatial_scale)), None]


@register("_contrib_box_iou")
def _box_iou(g: G, node: Any) -> list:
    a = node.parsed
    ls, rs = g.in_shape(node, 0), g.in_shape(node, 1)
    dt = g.in_dtype(node)
    lhs = g.op("Reshape", [g.x(node, 0), g.ints([-1, 1, 4])])
    rhs = g.op("Reshape", [g.x(node, 1), g.ints([1, -1, 4])])
    ltrb_l, area_l = _box_bounds(g, lhs, a.format == "center", dt)
    ltrb_r, area_r = _box_bounds(g, rhs, a.format == "center", dt)
    zero = g.scalar(0, dt)

    def overlap(lo: int, hi: int) -> str:
        w = g.op("Sub", [g.op("Min", [ltrb_l[hi], ltrb_r[hi]]),
                         g.op("Max", [ltrb_l[lo], ltrb_r[lo]])])
        return g.op("Max", [w, zero])

    inter = g.op("Mul", [overlap(0, 2), overlap(1, 3)])
    union = g.op("Sub", [g.op("Add", [area_l, area_r]), inter])
    iou = g.op("Where", [g.op("LessOrEqual", [inter, zero]), zero,
                         g.op("Div", [inter, union])])
    out = g.out_shape(node)
    src = (int(np.prod(ls[:-1])), int(np.prod(rs[:-1])))
    if g.in_dyn(node, 0) or g.in_dyn(node, 1):
        raise g.fail(node, "box_iou with dynamic shapes has no ONNX converter")
    return [g.reshape_to(iou, src, set(), out, set(), node)]


def _box_bounds(g: G, boxes: str, center: bool, dt: np.dtype) -> tuple[list, str]:
    """(left, top, right, bottom) as (..., 1) slices and the areas (0 for inverted boxes)."""
    nd_ = 3
    c = [_slice(g, boxes, [i], [i + 1], [nd_ - 1], [1]) for i in range(4)]
    c = [g.squeeze(t, [nd_ - 1]) for t in c]
    two = g.scalar(2, dt)
    if center:
        hw, hh = g.op("Div", [c[2], two]), g.op("Div", [c[3], two])
        ltrb = [g.op("Sub", [c[0], hw]), g.op("Sub", [c[1], hh]), g.op("Add", [c[0], hw]),
                g.op("Add", [c[1], hh])]
        w, h = c[2], c[3]
    else:
        ltrb = c
        w, h = g.op("Sub", [c[2], c[0]]), g.op("Sub", [c[3], c[1]])
    zero = g.scalar(0, dt)
    bad = g.op("Or", [g.op("Less", [w, zero]), g.op("Less", [h, zero])])
    area = g.op("Where", [bad, zero, g.op("Mul", [w, h])])
    return ltrb, area


@register("_contrib_SyncBatchNorm")
def _sync_batch_norm(g: G, node: Any) -> list:
    return _batch_norm(g, node)  # one device at inference: BatchNorm


@register("_contrib_BatchNormWithReLU")
def _batch_norm_relu(g: G, node: Any) -> list:
    y = _batch_norm(g, node)[0]
    return [g.op("Relu", [y]), None, None, None]


@register("_contrib_SparseEmbedding")
def _sparse_embedding(g: G, node: Any) -> list:
    return _embedding(g, node)


@register("_contrib_index_copy")
def _index_copy(g: G, node: Any) -> list:
    idx = g.unsqueeze(g.cast(g.x(node, 1), np.int64), [1])
    return [g.op("ScatterND", [g.x(node, 0), idx, g.x(node, 2)])]


@register("_linalg_slogdet")
def _linalg_slogdet(g: G, node: Any) -> list:
    det = g.op("Det", [g.x(node)])
    return [g.op("Sign", [det]), g.op("Log", [g.op("Abs", [det])]), None, None]


@register("_contrib_box_decode")
def _box_decode(g: G, node: Any) -> list:
    a = node.parsed
    x = g.x(node)
    shape = g.in_shape(node)
    n = shape[1]
    dt = g.in_dtype(node)
    anchors = g.op("Reshape", [g.x(node, 1), g.ints([-1])])
    anchors = g.op("Reshape", [_slice(g, anchors, [0], [n * 4], [0], [1]),
                               g.ints([1, n, 4])])
    col = [g.squeeze(_slice(g, anchors, [i], [i + 1], [2], [1]), [2]) for i in range(4)]
    ax, ay, aw, ah = col
    half = g.scalar(0.5, dt)
    if a.format == "corner":
        aw = g.op("Sub", [aw, ax])
        ah = g.op("Sub", [ah, ay])
        ax = g.op("Add", [ax, g.op("Mul", [aw, half])])
        ay = g.op("Add", [ay, g.op("Mul", [ah, half])])
    d = [g.squeeze(_slice(g, x, [i], [i + 1], [2], [1]), [2]) for i in range(4)]
    std = [g.scalar(v, dt) for v in (a.std0, a.std1, a.std2, a.std3)]
    ox = g.op("Add", [g.op("Mul", [g.op("Mul", [d[0], std[0]]), aw]), ax])
    oy = g.op("Add", [g.op("Mul", [g.op("Mul", [d[1], std[1]]), ah]), ay])
    dw, dh = g.op("Mul", [d[2], std[2]]), g.op("Mul", [d[3], std[3]])
    if a.clip > 0:
        clip = g.scalar(a.clip, dt)
        dw, dh = g.op("Min", [dw, clip]), g.op("Min", [dh, clip])
    ow = g.op("Mul", [g.op("Mul", [g.op("Exp", [dw]), aw]), half])
    oh = g.op("Mul", [g.op("Mul", [g.op("Exp", [dh]), ah]), half])
    parts = [g.op("Sub", [ox, ow]), g.op("Sub", [oy, oh]), g.op("Add", [ox, ow]),
             g.op("Add", [oy, oh])]
    return [g.op("Concat", [g.unsqueeze(p, [2]) for p in parts], axis=2)]


# Interleaved attention products (GluonNLP's BERT / transformer cells): the last dim of the
# projections holds (heads, parts, head_dim).


def _heads_part(g: G, node: Any, i: int, parts: int, part: int) -> str:
    """Input ``i`` (T, B, heads * parts * D) -> part ``part`` as (B, heads, T, D)."""
    a = node.parsed
    d = g.in_shape(node, i)[2] // (a.heads * parts)
    x = g.op("Reshape", [g.x(node, i), g.ints([0, 0, a.heads, parts, d])])
    x = g.op("Gather", [x, g.const(np.int64(part))], axis=3)  # (T, B, H, D)
    return g.op("Transpose", [x], perm=[1, 2, 0, 3])


def _merge_batch_heads(g: G, x: str) -> str:
    """(B, H, ...) -> (B * H, ...), whatever is dynamic."""
    rest = g.op("Slice", [g.op("Shape", [x]), g.ints([2]), g.ints([INT_MAX])])
    return g.op("Reshape", [x, g.op("Concat", [g.ints([-1]), rest], axis=0)])


def _split_batch_heads(g: G, x: str, heads: int) -> str:
    """(B * H, ...) -> (B, H, ...)."""
    rest = g.op("Slice", [g.op("Shape", [x]), g.ints([1]), g.ints([INT_MAX])])
    return g.op("Reshape", [x, g.op("Concat", [g.ints([-1, heads]), rest], axis=0)])


def _qk(g: G, node: Any, q: str, k: str) -> list:
    d = g.in_shape(node, 0)[2]
    a = node.parsed
    d //= a.heads * (3 if node.op.name.endswith("selfatt_qk") else 1)
    q = g.op("Div", [q, _same_dtype_const(g, node, math.sqrt(d))])
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    return [_merge_batch_heads(g, scores)]


def _valatt(g: G, node: Any, v: str, att_input: int) -> list:
    att = _split_batch_heads(g, g.x(node, att_input), node.parsed.heads)
    out = g.op("MatMul", [att, v])  # (B, H, Tq, D)
    out = g.op("Transpose", [out], perm=[2, 0, 1, 3])
    return [g.op("Reshape", [out, g.ints([0, 0, -1])])]


@register("_contrib_interleaved_matmul_selfatt_qk")
def _selfatt_qk(g: G, node: Any) -> list:
    return _qk(g, node, _heads_part(g, node, 0, 3, 0), _heads_part(g, node, 0, 3, 1))


@register("_contrib_interleaved_matmul_selfatt_valatt")
def _selfatt_valatt(g: G, node: Any) -> list:
    return _valatt(g, node, _heads_part(g, node, 0, 3, 2), 1)


@register("_contrib_interleaved_matmul_encdec_qk")
def _encdec_qk(g: G, node: Any) -> list:
    return _qk(g, node, _heads_part(g, node, 0, 1, 0), _heads_part(g, node, 1, 2, 0))


@register("_contrib_interleaved_matmul_encdec_valatt")
def _encdec_valatt(g: G, node: Any) -> list:
    return _valatt(g, node, _heads_part(g, node, 0, 2, 1), 1)


# ----------------------------------------------------------------------------------------
# Control flow: subgraphs become ONNX Scan / Loop / If bodies.


def _sub_heads(g: G, node: Any, count: int) -> list:
    subs = node.parsed.get("subgraphs")
    if subs is None or len(subs) != count:
        raise g.fail(node, f"expected {count} subgraph(s)")
    return subs


def _sub_vars(heads: list) -> list:
    from ..symbol import _graph

    return [n for n in _graph.topo_order(heads) if n.op is None]


def _as_cond(g: G, t: str) -> str:
    """MXNet's truth of a one-element condition output as ONNX's bool scalar."""
    flat = g.op("Reshape", [t, g.ints([])])
    return g.op("Not", [g.op("Equal", [g.cast(flat, np.float32),
                                       g.scalar(0.0, np.float32)])])


@register("_foreach")
def _foreach(g: G, node: Any) -> list:
    a = node.parsed
    (heads,) = _sub_heads(g, node, 1)
    body_vars = _sub_vars(heads)
    n_data, n_state = len(a.in_data_locs), len(a.in_state_locs)
    known, types, outer = {}, {}, {}
    data_vars, state_vars = [], []
    for j in range(len(node.inputs)):
        if j < n_data:
            v = body_vars[a.in_data_locs[j]]
            known[v] = tuple(g.in_shape(node, j)[1:])
            data_vars.append(v)
        elif j < n_data + n_state:
            v = body_vars[a.in_state_locs[j - n_data]]
            known[v] = tuple(g.in_shape(node, j))
            state_vars.append(v)
        else:
            v = body_vars[a.remain_locs[j - n_data - n_state]]
            known[v] = tuple(g.in_shape(node, j))
            outer[v] = g.x(node, j)
        types[v] = g.in_dtype(node, j)
    n_out = a.num_out_data
    # ONNX's Scan body gives the new states first, then the per-step outputs.
    body_heads = list(heads[n_out:]) + list(heads[:n_out])
    graph, _, _, _ = g.subgraph(body_heads, known, types, outer, state_vars + data_vars,
                                f"{node.name}_body")
    ins = [g.x(node, j) for j in range(n_data, n_data + n_state)] + \
        [g.x(node, j) for j in range(n_data)]
    outs = g.op("Scan", ins, n_out=n_state + n_out, body=graph, num_scan_inputs=n_data)
    outs = [outs] if isinstance(outs, str) else outs
    return outs[n_state:] + outs[:n_state]


@register("_while_loop")
def _while_loop(g: G, node: Any) -> list:
    a = node.parsed
    cond_heads, func_heads = _sub_heads(g, node, 2)
    cond_vars, func_vars = _sub_vars(cond_heads), _sub_vars(func_heads)
    var_pos = [a.func_input_locs[v] for v in a.func_var_locs]
    n_out = a.num_out_data
    # The first test of the condition, on the initial values, in the enclosing graph.
    known = {v: tuple(g.in_shape(node, loc)) for v, loc in zip(cond_vars, a.cond_input_locs)}
    types = {v: g.in_dtype(node, loc) for v, loc in zip(cond_vars, a.cond_input_locs)}
    outer = {v: g.x(node, loc) for v, loc in zip(cond_vars, a.cond_input_locs)}
    _, (c0,), _, _ = g.subgraph(cond_heads, known, types, outer, [], f"{node.name}_cond0",
                                inline=True)
    first = _as_cond(g, c0)
    # The body: the function's step, then the condition on the new loop variables.
    body = g.child({}, {})
    it = g.fresh(f"{node.name}_iter")
    cin = g.fresh(f"{node.name}_cond_in")
    formal_names = [g.fresh(f"{node.name}_var{j}") for j in range(len(var_pos))]
    fknown, ftypes, fouter = {}, {}, {}
    for p, (v, loc) in enumerate(zip(func_vars, a.func_input_locs)):
        fknown[v] = tuple(g.in_shape(node, loc))
        ftypes[v] = g.in_dtype(node, loc)
        if p in a.func_var_locs:
            fouter[v] = formal_names[list(a.func_var_locs).index(p)]
        else:
            fouter[v] = g.x(node, loc)
    _, fouts, fshapes, ftypes_out = body.subgraph(func_heads, fknown, ftypes, fouter, [],
                                                  f"{node.name}_func", inline=True)
    new_vars = fouts[n_out:]
    couter = {}
    for v, loc in zip(cond_vars, a.cond_input_locs):
        couter[v] = new_vars[var_pos.index(loc)] if loc in var_pos else g.x(node, loc)
    _, (c1,), _, _ = body.subgraph(cond_heads, known, types, couter, [], f"{node.name}_cond",
                                   inline=True)
    cout = _as_cond(body, c1)
    helper = g.helper
    b_outs = [cout] + new_vars + fouts[:n_out]
    out_names, vis = [], []
    for t, s_, dt in zip(b_outs, [()] + fshapes[n_out:] + fshapes[:n_out],
                         [np.dtype(np.bool_)] + ftypes_out[n_out:] + ftypes_out[:n_out]):
        nm = g.fresh(f"{node.name}_body_out")
        body.nodes.append(helper.make_node("Identity", [t], [nm],
                                           name=g.fresh(f"{node.name}_Identity")))
        out_names.append(nm)
        vis.append(helper.make_tensor_value_info(nm, g.tensor_type(dt), list(s_) if not s_
                                                 else None))
    b_ins = [helper.make_tensor_value_info(it, g.tensor_type(np.int64), []),
             helper.make_tensor_value_info(cin, g.tensor_type(np.bool_), [])]
    for nm, loc in zip(formal_names, var_pos):
        b_ins.append(helper.make_tensor_value_info(nm, g.tensor_type(g.in_dtype(node, loc)),
                                                   None))
    graph = helper.make_graph(body.nodes, g.fresh(f"{node.name}_body"), b_ins, vis)
    outs = g.op("Loop", [g.const(np.int64(a.max_iterations)), first,
                         *[g.x(node, loc) for loc in var_pos]],
                n_out=len(var_pos) + n_out, body=graph)
    outs = [outs] if isinstance(outs, str) else outs
    finals, steps = outs[:len(var_pos)], outs[len(var_pos):]
    stacked = []
    for k, t in enumerate(steps):
        # MXNet stacks max_iterations rows, zeros after the last step.
        rank = len(fshapes[k]) + 1
        done = g.op("Slice", [g.op("Shape", [t]), g.ints([0]), g.ints([1])])
        rest = g.op("Sub", [g.ints([a.max_iterations]), done])
        pads = g.op("Concat", [g.ints([0] * rank), rest, g.ints([0] * (rank - 1))], axis=0)
        stacked.append(g.op("Pad", [t, pads, g.scalar(0, ftypes_out[k])], mode="constant"))
    return stacked + finals


@register("_cond")
def _cond(g: G, node: Any) -> list:
    a = node.parsed
    cond_heads, then_heads, else_heads = _sub_heads(g, node, 3)

    def bind(heads: list, locs: Any) -> tuple[dict, dict, dict]:
        vs = _sub_vars(heads)
        return ({v: tuple(g.in_shape(node, loc)) for v, loc in zip(vs, locs)},
                {v: g.in_dtype(node, loc) for v, loc in zip(vs, locs)},
                {v: g.x(node, loc) for v, loc in zip(vs, locs)})

    k, t, o = bind(cond_heads, a.cond_input_locs)
    _, (c,), _, _ = g.subgraph(cond_heads, k, t, o, [], f"{node.name}_pred", inline=True)
    then_g, _, _, _ = g.subgraph(then_heads, *bind(then_heads, a.then_input_locs), [],
                                 f"{node.name}_then")
    else_g, _, _, _ = g.subgraph(else_heads, *bind(else_heads, a.else_input_locs), [],
                                 f"{node.name}_else")
    outs = g.op("If", [_as_cond(g, c)], n_out=a.num_outputs, then_branch=then_g,
                else_branch=else_g)
    return outs if isinstance(outs, list) else [outs]


# ----------------------------------------------------------------------------------------
# Assignment and index arithmetic.


@register("_identity_with_attr_like_rhs")
def _identity_like_rhs(g: G, node: Any) -> list:
    return [g.x(node, 0)]


def _region_indices(g: G, node: Any) -> np.ndarray:
    """(*region, ndim) int64 positions of ``lhs[begin:end:step]`` (static shapes)."""
    a = node.parsed
    shape = g.in_shape(node, 0)
    if g.in_dyn(node, 0):
        raise g.fail(node, "slice assignment with dynamic shapes has no ONNX converter")
    step = list(a.step or ())
    sl = []
    for i in range(len(shape)):
        if i < len(a.begin):
            st = step[i] if i < len(step) and step[i] is not None else None
            e = a.end[i] if i < len(a.end) else None
            sl.append(slice(a.begin[i], e, st))
        else:
            sl.append(slice(None))
    grid = np.moveaxis(np.indices(shape, dtype=np.int64), 0, -1)
    return np.ascontiguousarray(grid[tuple(sl)])


@register("_slice_assign", "_slice_assign_scalar")
def _slice_assign(g: G, node: Any) -> list:
    idx = _region_indices(g, node)
    region = list(idx.shape[:-1])
    if node.op.name == "_slice_assign":
        upd = g.x(node, 1)
    else:
        upd = _same_dtype_const(g, node, node.parsed.scalar)
    upd = g.op("Expand", [upd, g.ints(region)])
    return [g.op("ScatterND", [g.x(node, 0), g.const(idx, hint=f"{node.name}_idx"), upd])]


@register("fill_element_0index")
def _fill_element_0index(g: G, node: Any) -> list:
    idx = g.unsqueeze(g.cast(g.x(node, 2), np.int64), [1])
    val = g.unsqueeze(g.x(node, 1), [1])
    return [g.op("ScatterElements", [g.x(node, 0), idx, val], axis=1)]


@register("_contrib_allclose")
def _allclose(g: G, node: Any) -> list:
    a = node.parsed
    x, y = g.x(node, 0), g.x(node, 1)
    dt = g.in_dtype(node)
    diff = g.op("Abs", [g.op("Sub", [x, y])])
    tol = g.op("Add", [g.scalar(a.atol, dt), g.op("Mul", [g.scalar(a.rtol, dt),
                                                          g.op("Abs", [y])])])
    ok = g.op("LessOrEqual", [diff, tol])
    if a.equal_nan:
        ok = g.op("Or", [ok, g.op("And", [g.op("IsNaN", [x]), g.op("IsNaN", [y])])])
    allok = g.reduce("ReduceMin", g.cast(ok, np.int32), None, keepdims=False)
    return [g.cast(g.op("Reshape", [allok, g.ints(g.out_shape(node))]), g.out_dtype(node))]


def _strides(shape: tuple) -> list[int]:
    return [int(np.prod(shape[i + 1:])) for i in range(len(shape))]


@register("_ravel_multi_index")
def _ravel_multi_index(g: G, node: Any) -> list:
    shape = tuple(node.parsed.shape)
    dt = g.in_dtype(node)
    w = g.const(np.asarray(_strides(shape), dtype=dt).reshape(1, -1), hint="strides")
    return [g.squeeze(g.op("MatMul", [w, g.x(node)]), [0])]


@register("_unravel_index")
def _unravel_index(g: G, node: Any) -> list:
    shape = tuple(node.parsed.shape)
    dt = g.in_dtype(node)
    x = g.unsqueeze(g.x(node), [0])  # (1, N)
    st = g.const(np.asarray(_strides(shape), dtype=dt).reshape(-1, 1), hint="strides")
    dims = g.const(np.asarray(shape, dtype=dt).reshape(-1, 1), hint="dims")
    q = g.op("Floor", [g.op("Div", [x, st])]) if dt.kind == "f" else g.op("Div", [x, st])
    return [_mod_of(g, q, dims, dt)]
