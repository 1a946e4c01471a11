"""MXNet's numpy-interface operators (``_np_*``, ``_npi_*``, ``_npx_*``): what graphs exported
from ``mx.np`` / ``mx.npx`` Gluon code (``npx.set_np()``) contain.

They differ from the legacy operators of the same maths in their dtype rules (MXNet 1.9.1's
own, not numpy's: ``int32 + float32`` is float32, ``true_divide`` of integers is float32,
comparisons give bool, mixed integer kinds are refused by some), in 0-d shapes (a full
reduction gives ``()``), and in their parameter and input names. The kernels and derivatives
are the other families' (imported, not repeated); this file adds only those rules.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from ._util import (
    BOOL,
    FLOAT,
    INT,
    OPT_FLOAT,
    OPT_INT,
    OPT_SHAPE,
    SHAPE,
    STR,
    P,
    assign,
    assign_type,
    axis_of,
    broadcast_shape,
    declare,
    dtypes,
    enum,
    fail,
    opt_dtypes,
)
from .elemwise import (
    _BINARY,
    _SCALAR_PARAMS,
    _UNARY,
    NP_MATH,
    _scalar_forward,
    _scalar_grads,
    _scalar_type,
    _sum_to,
)
from .reduce import _REDUCE
from .registry import Attrs, ParamType, _literal, same_shape
from .registry import get as registry_get
from .tensor import _arange_forward, _dtype_out
from .tensor import _arange_shape as _tensor_arange_shape

F32 = np.dtype("float32")
BOOL_T = np.dtype("bool")


def _same_shape(attrs: Attrs, ins: list, outs: list):
    """Every input and output has one shape (declared here, so the registry's tests see the
    operator as this family's)."""
    return same_shape(attrs, ins, outs)

# Operators MXNet registers without a gradient: none. Its comparisons, ``where_scalar2`` and
# the like give their inputs a zero gradient (``MakeZeroGradNodes``), as ``_zero_grad`` does.
NO_BACKWARD: set[str] = set()


def _zero_grad(attrs, out_grads, inputs, outputs, ctx):
    return [None] * len(inputs)


# ----------------------------------------------------------------------------------------
# dtype rules of the binary operators (MXNet 1.9.1, checked over every pair of bool, int8,
# uint8, int32, int64, float16, float32, float64).


def _wider(a: np.dtype, b: np.dtype) -> np.dtype:
    return a if a.itemsize >= b.itemsize else b


def _refuse(attrs: Attrs, a: np.dtype, b: np.dtype) -> MXNetError:
    return fail(attrs, f"operands of dtypes {a} and {b} are not supported together")


def _common_type(attrs: Attrs, a: np.dtype, b: np.dtype) -> np.dtype:
    """add / multiply / power: a float operand wins (the wider of two floats), bool yields to
    anything, and of two integer kinds the wider (int8 with uint8 is refused)."""
    if a == b:
        return a
    fa, fb = a.kind == "f", b.kind == "f"
    if fa or fb:
        return _wider(a, b) if fa and fb else (a if fa else b)
    if a.kind == "b" or b.kind == "b":
        return b if a.kind == "b" else a
    if {a.name, b.name} == {"int8", "uint8"}:
        raise _refuse(attrs, a, b)
    return _wider(a, b)


def _float_mix_type(attrs: Attrs, a: np.dtype, b: np.dtype) -> np.dtype:
    """subtract / mod: one dtype (not bool), or a float with anything (the wider float)."""
    if a == b and a.kind != "b":
        return a
    fa, fb = a.kind == "f", b.kind == "f"
    if fa or fb:
        return _wider(a, b) if fa and fb else (a if fa else b)
    raise _refuse(attrs, a, b)


def _divide_type(attrs: Attrs, a: np.dtype, b: np.dtype) -> np.dtype:
    """true_divide: integers (and bools) of one dtype give float32; a float with a non-float
    gives that float; two different floats or integer kinds are refused."""
    if a == b:
        return a if a.kind == "f" else F32
    fa, fb = a.kind == "f", b.kind == "f"
    if fa != fb:
        return a if fa else b
    raise _refuse(attrs, a, b)


def _compare_type(attrs: Attrs, a: np.dtype, b: np.dtype) -> np.dtype:
    if a != b:
        raise _refuse(attrs, a, b)
    return BOOL_T


def _binary_type(rule):
    def infer(attrs: Attrs, ins: list, outs: list):
        a, b = ins
        if a is not None and b is not None:
            assign_type(attrs, outs, 0, rule(attrs, a, b), ["output"])
        return ins, outs
    return infer


def _broadcast_infer(attrs: Attrs, ins: list, outs: list):
    a, b = ins
    if a is not None and b is not None:
        assign(attrs, outs, 0, broadcast_shape(attrs, a, b), ["output"])
    return ins, outs


def _np_binary_forward(fn, rule, compare: bool):
    def forward(attrs, inputs, ctx):
        a, b = inputs
        t = rule(attrs, a.dtype, b.dtype)
        work = a.dtype if compare else t
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise fail(attrs, f"operands could not be broadcast together with shapes "
                              f"{a.shape} {b.shape}") from None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = fn(a.astype(work, copy=False), b.astype(work, copy=False))
        return [np.asarray(r).astype(t, copy=False)]
    return forward


def _np_binary_backward(d_lhs, d_rhs, rule):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (a, b), (y,) = out_grads, inputs, outputs
        t = rule(attrs, a.dtype, b.dtype)
        at, bt = a.astype(t, copy=False), b.astype(t, copy=False)
        grads = []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for x, d in ((a, d_lhs), (b, d_rhs)):
                if x.dtype.kind != "f":  # MXNet gives an integer operand a zero gradient
                    grads.append(np.zeros_like(x))
                else:
                    d_x = d(NP_MATH, g.astype(t, copy=False), at, bt, y)
                    grads.append(_sum_to(d_x, x))
        return grads
    return backward


_NP_BINARY = [  # (name, legacy kernel, dtype rule)
    ("_npi_add", "add", _common_type),
    ("_npi_subtract", "sub", _float_mix_type),
    ("_npi_multiply", "mul", _common_type),
    ("_npi_true_divide", "div", _divide_type),
    ("_npi_power", "power", _common_type),
    ("_npi_mod", "mod", _float_mix_type),
    ("_npi_less", "lesser", _compare_type),
    ("_npi_less_equal", "lesser_equal", _compare_type),
    ("_npi_greater", "greater", _compare_type),
    ("_npi_greater_equal", "greater_equal", _compare_type),
    ("_npi_equal", "equal", _compare_type),
    ("_npi_not_equal", "not_equal", _compare_type),
]

for _name, _kernel, _rule in _NP_BINARY:
    _fn, _dl, _dr = _BINARY[_kernel]
    _cmp = _rule is _compare_type
    declare(_name, inputs=("lhs", "rhs"), infer_shape=_broadcast_infer,
            infer_type=_binary_type(_rule), forward=_np_binary_forward(_fn, _rule, _cmp),
            backward=_zero_grad if _cmp else _np_binary_backward(_dl, _dr, _rule))

# ----------------------------------------------------------------------------------------
# Scalar operators: the legacy ones' dtype rules (bool -> int64, an integer with a
# non-integer scalar -> float64), except true_divide (integers -> float32) and the
# comparisons (bool, compared against the scalar as given).

_NP_SCALAR = [  # (name, legacy kernel, scalar on the left)
    ("_npi_add_scalar", "add", False),
    ("_npi_subtract_scalar", "sub", False),
    ("_npi_rsubtract_scalar", "sub", True),
    ("_npi_multiply_scalar", "mul", False),
    ("_npi_power_scalar", "power", False),
    ("_npi_rpower_scalar", "power", True),
    ("_npi_mod_scalar", "mod", False),
    ("_npi_rmod_scalar", "mod", True),
]

for _name, _kernel, _rev in _NP_SCALAR:
    _fn, _dl, _dr = _BINARY[_kernel]
    declare(_name, params=dict(_SCALAR_PARAMS), infer_shape=_same_shape,
            infer_type=_scalar_type, forward=_scalar_forward(_fn, _rev),
            backward=_scalar_grads(_dl, _dr, _rev)[0])


def _float_of(t: np.dtype) -> np.dtype:
    return t if t.kind == "f" else F32


def _divide_scalar_type(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign_type(attrs, outs, 0, _float_of(ins[0]), ["output"])
    return ins, outs


def _divide_scalar_forward(reverse: bool):
    def forward(attrs, inputs, ctx):
        x = inputs[0].astype(_float_of(inputs[0].dtype), copy=False)
        s = np.asarray(attrs.scalar, dtype=x.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = s / x if reverse else x / s
        return [np.asarray(r).astype(x.dtype, copy=False)]
    return forward


def _divide_scalar_backward(reverse: bool):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        if x.dtype.kind != "f":
            return [np.zeros_like(x)]
        s = np.asarray(attrs.scalar, dtype=x.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d = -g * y / x if reverse else g / s
        return [np.asarray(d).astype(x.dtype, copy=False)]
    return backward


for _name, _rev in (("_npi_true_divide_scalar", False), ("_npi_rtrue_divide_scalar", True)):
    declare(_name, params=dict(_SCALAR_PARAMS), infer_shape=_same_shape,
            infer_type=_divide_scalar_type, forward=_divide_scalar_forward(_rev),
            backward=_divide_scalar_backward(_rev))


def _bool_out(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, BOOL_T, ["output"])
    return ins, outs


def _compare_scalar_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        if x.dtype.kind == "b":  # MXNet casts the scalar to bool (2 is True)
            return [np.asarray(fn(x, np.asarray(attrs.scalar).astype(bool)))]
        w = x if x.dtype.kind == "f" else x.astype(np.float64)
        return [np.asarray(fn(w, np.asarray(attrs.scalar, dtype=w.dtype))).astype(bool)]
    return forward


for _name, _ufunc in (("_npi_less_scalar", np.less), ("_npi_less_equal_scalar", np.less_equal),
                      ("_npi_greater_scalar", np.greater),
                      ("_npi_greater_equal_scalar", np.greater_equal),
                      ("_npi_equal_scalar", np.equal), ("_npi_not_equal_scalar", np.not_equal)):
    declare(_name, params=dict(_SCALAR_PARAMS), infer_shape=_same_shape, infer_type=_bool_out,
            forward=_compare_scalar_forward(_ufunc), backward=_zero_grad)

# ----------------------------------------------------------------------------------------
# Unary maths: input ``x``, the input's dtype out. MXNet computes integer inputs in floating
# point and truncates (np.exp of int32 [1, 2] is [2, 7]); bool inputs it refuses.

_UNARY_BY_NAME = {row[0]: row for row in _UNARY}

_NP_UNARY = [  # (name, legacy operator, aliases)
    ("_npi_tanh", "tanh", ()), ("_npi_exp", "exp", ()), ("_npi_log", "log", ()),
    ("_npi_sqrt", "sqrt", ()), ("_npi_negative", "negative", ()),
    ("_npi_absolute", "abs", ("_npi_abs",)), ("_npi_sin", "sin", ()), ("_npi_cos", "cos", ()),
    ("_npi_tan", "tan", ()), ("_npi_arcsin", "arcsin", ()), ("_npi_arccos", "arccos", ()),
    ("_npi_arctan", "arctan", ()), ("_npi_sinh", "sinh", ()), ("_npi_cosh", "cosh", ()),
    ("_npi_arcsinh", "arcsinh", ()), ("_npi_arccosh", "arccosh", ()),
    ("_npi_arctanh", "arctanh", ()), ("_npi_log1p", "log1p", ()), ("_npi_expm1", "expm1", ()),
    ("_npi_log2", "log2", ()), ("_npi_log10", "log10", ()), ("_npi_square", "square", ()),
    ("_npi_reciprocal", "reciprocal", ()), ("_npi_cbrt", "cbrt", ()),
    ("_npi_degrees", "degrees", ()), ("_npi_radians", "radians", ()),
    ("_npi_floor", "floor", ()), ("_npi_ceil", "ceil", ()), ("_npi_trunc", "trunc", ()),
    ("_npi_sign", "sign", ()),
]


def _np_unary_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        if x.dtype.kind == "b":
            raise fail(attrs, "input 'x' of dtype bool is not supported")
        w = x if x.dtype.kind == "f" else x.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = np.asarray(fn(w))
        if x.dtype.kind in "iu":
            with np.errstate(invalid="ignore"):
                r = np.trunc(r)
        return [r.astype(x.dtype, copy=False)]
    return forward


def _np_unary_backward(deriv):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        if deriv is None or x.dtype.kind != "f":
            return [np.zeros_like(x)]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return [np.asarray(deriv(NP_MATH, g, x, y)).astype(x.dtype, copy=False)]
    return backward


for _name, _legacy, _aliases in _NP_UNARY:
    _, _fn, _deriv, _ = _UNARY_BY_NAME[_legacy]
    declare(_name, *_aliases, inputs=("x",), infer_shape=_same_shape,
            forward=_np_unary_forward(_fn), backward=_np_unary_backward(_deriv))

for _name, _legacy in (("_npx_relu", "relu"), ("_npx_sigmoid", "sigmoid")):
    _, _fn, _deriv, _ = _UNARY_BY_NAME[_legacy]
    declare(_name, infer_shape=_same_shape, forward=_np_unary_forward(_fn),
            backward=_np_unary_backward(_deriv))

# ----------------------------------------------------------------------------------------
# copy, transpose, reshape.


def _identity_backward(attrs, out_grads, inputs, outputs, ctx):
    return [out_grads[0].reshape(inputs[0].shape)]


declare("_np_copy", inputs=("a",), infer_shape=_same_shape,
        forward=lambda attrs, inputs, ctx: [inputs[0].copy()], backward=_identity_backward)


def _np_axes(attrs: Attrs, n: int) -> tuple[int, ...]:
    if attrs.axes is None or len(attrs.axes) == 0:
        return tuple(range(n - 1, -1, -1))
    axes = tuple(a + n if a < 0 else a for a in attrs.axes)
    if len(axes) != n or sorted(axes) != list(range(n)):
        raise fail(attrs, f"axes={tuple(attrs.axes)} is not a permutation of the {n} axes")
    return axes


def _np_transpose_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        ax = _np_axes(attrs, len(ins[0]))
        assign(attrs, outs, 0, tuple(ins[0][a] for a in ax), ["output"])
    elif outs[0] is not None:
        ax = _np_axes(attrs, len(outs[0]))
        back = [0] * len(ax)
        for i, a in enumerate(ax):
            back[a] = outs[0][i]
        assign(attrs, ins, 0, tuple(back), ["a"])
    return ins, outs


declare(
    "_np_transpose", params={"axes": P(OPT_SHAPE, None)}, inputs=("a",),
    infer_shape=_np_transpose_shape,
    forward=lambda attrs, inputs, ctx: [inputs[0].transpose(_np_axes(attrs, inputs[0].ndim))],
    backward=lambda attrs, out_grads, inputs, outputs, ctx: [
        out_grads[0].transpose(np.argsort(_np_axes(attrs, inputs[0].ndim)))],
)


def _size(s) -> int:
    return int(np.prod(s, dtype=np.int64))


def _np_reshape_target(attrs: Attrs, src: tuple) -> tuple:
    """numpy's reshape: one -1 may be inferred, nothing else is special."""
    new = tuple(attrs.newshape)
    if sum(d == -1 for d in new) > 1 or any(d < -1 for d in new):
        raise fail(attrs, f"newshape={new}: only one dimension may be -1, no other negatives")
    known = _size([d for d in new if d != -1])
    if -1 in new:
        if known == 0 or _size(src) % known:
            raise fail(attrs, f"cannot reshape array of size {_size(src)} into shape {new}")
        new = tuple(_size(src) // known if d == -1 else d for d in new)
    if _size(new) != _size(src):
        raise fail(attrs, f"cannot reshape array of size {_size(src)} into shape {new}")
    return new


def _npx_reshape_target(attrs: Attrs, src: tuple) -> tuple:
    """npx.reshape's codes: -1 infer (consumes one input dim), -2 copy one input dim, -3 drop
    an input dim of size 1, -4 copy all remaining input dims, -5 merge two input dims into
    one, -6 split one input dim into the next two codes (one of which may be -1). With
    ``reverse`` the codes are matched from the right."""
    new = tuple(attrs.newshape)
    if attrs.reverse:
        src, new = src[::-1], new[::-1]
    where = f"cannot reshape array of shape {src} into shape {tuple(attrs.newshape)}"
    if any(d < -6 for d in new):
        raise fail(attrs, f"newshape={tuple(attrs.newshape)}: codes below -6 do not exist")
    if sum(d == -1 for d in new) > 1:
        raise fail(attrs, f"newshape={tuple(attrs.newshape)}: only one dimension may be -1")
    out: list[int] = []
    unknown, j, i = -1, 0, 0

    def take() -> int:
        nonlocal j
        if j >= len(src):
            raise fail(attrs, f"{where}: newshape asks for more input dimensions than "
                              f"there are")
        j += 1
        return src[j - 1]

    while i < len(new):
        d = new[i]
        if d == -1:
            unknown = len(out)
            out.append(1)
            j += 1
        elif d == -2:
            out.append(take())
        elif d == -3:
            if take() != 1:
                raise fail(attrs, f"{where}: -3 may only skip an input dimension of size 1")
        elif d == -4:
            out.extend(src[j:])
            j = len(src)
        elif d == -5:
            out.append(take() * take())
        elif d == -6:
            if i + 2 >= len(new):
                raise fail(attrs, f"{where}: -6 must be followed by two dimensions")
            d0 = take()
            d1, d2 = new[i + 1], new[i + 2]
            i += 2
            if d1 == -1 and d2 == -1:
                raise fail(attrs, f"{where}: the split dims cannot both be -1")
            if d1 == -1:
                d1 = d0 // d2 if d2 else 0
            elif d2 == -1:
                d2 = d0 // d1 if d1 else 0
            if d1 * d2 != d0:
                raise fail(attrs, f"{where}: split dims {d1}, {d2} do not divide "
                                  f"dimension {d0}")
            out += [d1, d2]
        else:
            out.append(d)
            j += 1
        i += 1
    if unknown >= 0:
        rest = _size(out[:unknown] + out[unknown + 1:])
        if rest == 0 or _size(src) % rest:
            raise fail(attrs, where)
        out[unknown] = _size(src) // rest
    if _size(out) != _size(src):
        raise fail(attrs, where)
    return tuple(out[::-1] if attrs.reverse else out)


def _reshape_infer(target):
    def infer(attrs: Attrs, ins: list, outs: list):
        if ins[0] is not None:  # the input's shape does not follow from the output's
            assign(attrs, outs, 0, target(attrs, tuple(ins[0])), ["output"])
        return ins, outs
    return infer


def _reshape_forward(target):
    def forward(attrs, inputs, ctx):
        return [inputs[0].reshape(target(attrs, inputs[0].shape))]
    return forward


declare("_np_reshape", params={"newshape": P(SHAPE), "order": P(STR, "C")}, inputs=("a",),
        infer_shape=_reshape_infer(_np_reshape_target),
        forward=_reshape_forward(_np_reshape_target), backward=_identity_backward)
declare("_npx_reshape", "_npi_reshape",
        params={"newshape": P(SHAPE), "reverse": P(BOOL, False), "order": P(STR, "C")},
        inputs=("a",), infer_shape=_reshape_infer(_npx_reshape_target),
        forward=_reshape_forward(_npx_reshape_target), backward=_identity_backward)

# ----------------------------------------------------------------------------------------
# concatenate and stack: inputs of one dtype.


def _one_type(attrs: Attrs, ins: list, outs: list):
    t = next((x for x in [*ins, *outs] if x is not None), None)
    if t is None:
        return ins, outs
    names = attrs.op.list_inputs(attrs)
    for i in range(len(ins)):
        assign_type(attrs, ins, i, t, names)
    assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _concat_axis(attrs: Attrs, ndim: int) -> int:
    if ndim == 0:
        raise fail(attrs, "zero-dimensional arrays cannot be concatenated")
    return axis_of(attrs, attrs.axis, ndim)


def _concatenate_shape(attrs: Attrs, ins: list, outs: list):
    if any(s is None for s in ins):
        return ins, outs
    names = attrs.op.list_inputs(attrs)
    if attrs.axis is None:
        return ins, [(sum(_size(s) for s in ins),)]
    first = ins[0]
    ax = _concat_axis(attrs, len(first))
    for n, s in zip(names, ins):
        if len(s) != len(first) or any(a != b for k, (a, b) in enumerate(zip(s, first))
                                         if k != ax):
            raise fail(attrs, f"input {n!r} has shape {tuple(s)}, incompatible with "
                              f"{tuple(first)} joined along axis {attrs.axis}")
    o = list(first)
    o[ax] = sum(s[ax] for s in ins)
    assign(attrs, outs, 0, tuple(o), ["output"])
    return ins, outs


def _concatenate_forward(attrs, inputs, ctx):
    attrs.op.shapes(attrs, [x.shape for x in inputs])
    if attrs.axis is None:
        return [np.concatenate([x.ravel() for x in inputs])]
    return [np.concatenate(inputs, axis=_concat_axis(attrs, inputs[0].ndim))]


def _concatenate_backward(attrs, out_grads, inputs, outputs, ctx):
    g = out_grads[0]
    if attrs.axis is None:
        ends = np.cumsum([x.size for x in inputs])[:-1]
        return [p.reshape(x.shape) for p, x in zip(np.split(g, ends), inputs)]
    ax = _concat_axis(attrs, inputs[0].ndim)
    return np.split(g, np.cumsum([x.shape[ax] for x in inputs])[:-1], axis=ax)


def _num_args_inputs(prefix: str):
    def inputs(attrs: Attrs):
        if attrs.num_args < 1:
            raise fail(attrs, f"num_args={attrs.num_args} must be at least 1")
        return tuple(f"{prefix}{i}" for i in range(attrs.num_args))
    return inputs


declare("_npi_concatenate", params={"num_args": P(INT), "axis": P(OPT_INT, 0)},
        inputs=_num_args_inputs("data"), key_var_num_args="num_args",
        infer_shape=_concatenate_shape, infer_type=_one_type, forward=_concatenate_forward,
        backward=_concatenate_backward)


def _np_stack_shape(attrs: Attrs, ins: list, outs: list):
    if any(s is None for s in ins):
        return ins, outs
    names = attrs.op.list_inputs(attrs)
    for n, s in zip(names, ins):
        if tuple(s) != tuple(ins[0]):
            raise fail(attrs, f"input {n!r} has shape {tuple(s)}, but all inputs must have "
                              f"shape {tuple(ins[0])}")
    ax = axis_of(attrs, attrs.axis, len(ins[0]), extra=1)
    s = tuple(ins[0])
    assign(attrs, outs, 0, (*s[:ax], attrs.num_args, *s[ax:]), ["output"])
    return ins, outs


def _np_stack_forward(attrs, inputs, ctx):
    attrs.op.shapes(attrs, [x.shape for x in inputs])
    return [np.stack(inputs, axis=axis_of(attrs, attrs.axis, inputs[0].ndim, extra=1))]


def _np_stack_backward(attrs, out_grads, inputs, outputs, ctx):
    ax = axis_of(attrs, attrs.axis, inputs[0].ndim, extra=1)
    return list(np.moveaxis(out_grads[0], ax, 0))


declare("_npi_stack", params={"axis": P(INT, 0), "num_args": P(INT)},
        inputs=_num_args_inputs("arg"), key_var_num_args="num_args",
        infer_shape=_np_stack_shape, infer_type=_one_type, forward=_np_stack_forward,
        backward=_np_stack_backward)

# ----------------------------------------------------------------------------------------
# pad.


class _PadWidth(ParamType):
    """``((before, after), ...)`` per axis, as ``np.pad``'s ``pad_width`` once normalised."""

    name = "tuple of <Shape(tuple)>"

    def parse(self, value):
        if isinstance(value, str):
            value = _literal(value)
        try:
            rows = tuple(tuple(int(v) for v in row) for row in value)
        except TypeError:
            raise ValueError(f"{value!r} is not a tuple of (before, after) pairs") from None
        if any(len(r) != 2 for r in rows):
            raise ValueError(f"{value!r}: every axis needs a (before, after) pair")
        if any(v < 0 for r in rows for v in r):
            raise ValueError(f"{value!r}: pad widths must not be negative")
        return rows


_PAD_MODES = ("constant", "edge", "maximum", "minimum", "reflect", "symmetric")


def _pad_widths(attrs: Attrs, ndim: int) -> tuple:
    if len(attrs.pad_width) != ndim:
        raise fail(attrs, f"pad_width={attrs.pad_width} must give a (before, after) pair for "
                          f"each of the input's {ndim} axes")
    return attrs.pad_width


def _pad_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        w = _pad_widths(attrs, len(ins[0]))
        assign(attrs, outs, 0, tuple(d + a + b for d, (a, b) in zip(ins[0], w)), ["output"])
    return ins, outs


def _pad_forward(attrs, inputs, ctx):
    (x,) = inputs
    w = _pad_widths(attrs, x.ndim)
    if attrs.mode == "constant":
        return [np.pad(x, w, mode="constant",
                       constant_values=np.asarray(attrs.constant_value).astype(x.dtype))]
    if attrs.mode in ("reflect", "symmetric", "maximum", "minimum") and x.size == 0:
        raise fail(attrs, f"mode={attrs.mode!r} cannot pad an empty array")
    # MXNet ignores reflect_type (an 'odd' reflection comes out 'even').
    return [np.pad(x, w, mode=attrs.mode)]


def _pad_backward(attrs, out_grads, inputs, outputs, ctx):
    if attrs.mode != "constant":
        raise fail(attrs, f"mode={attrs.mode!r} has no gradient in MXNet (only 'constant')")
    w = _pad_widths(attrs, inputs[0].ndim)
    return [out_grads[0][tuple(slice(a, a + d) for (a, _), d in zip(w, inputs[0].shape))]]


declare("_npi_pad",
        params={"pad_width": P(_PadWidth()), "mode": P(enum(*_PAD_MODES), "constant"),
                "constant_value": P(FLOAT, 0.0), "reflect_type": P(STR, "even")},
        infer_shape=_pad_shape, forward=_pad_forward, backward=_pad_backward)

# ----------------------------------------------------------------------------------------
# where: the condition (any dtype, non-zero is true) picks between two broadcast operands of
# one dtype, or an operand and a scalar given in the operand's dtype.


def _where_shape(attrs: Attrs, ins: list, outs: list):
    if all(s is not None for s in ins):
        o = tuple(ins[0])
        for s in ins[1:]:
            o = broadcast_shape(attrs, o, s)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _where_type(attrs: Attrs, ins: list, outs: list):
    vals = ins[1:]
    t = next((x for x in [*vals, outs[0]] if x is not None), None)
    if t is not None:
        names = attrs.op.list_inputs(attrs)
        for i in range(1, len(ins)):
            assign_type(attrs, ins, i, t, names)
        assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _where_forward(attrs, inputs, ctx):
    c, x, y = inputs
    attrs.op.shapes(attrs, [c.shape, x.shape, y.shape])
    attrs.op.types(attrs, [c.dtype, x.dtype, y.dtype])
    return [np.where(c != 0, x, y)]


def _where_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (c, x, y) = out_grads, inputs
    m = np.broadcast_to(c != 0, g.shape)
    zero = np.zeros((), g.dtype)
    return [np.zeros_like(c), _sum_to(np.where(m, g, zero), x), _sum_to(np.where(m, zero, g), y)]


declare("_npi_where", inputs=("condition", "x", "y"), infer_shape=_where_shape,
        infer_type=_where_type, forward=_where_forward, backward=_where_backward)


def _where_scalar_forward(scalar_is_x: bool):
    def forward(attrs, inputs, ctx):
        c, v = inputs
        attrs.op.shapes(attrs, [c.shape, v.shape])
        s = np.asarray(attrs.scalar).astype(v.dtype)
        return [np.where(c != 0, s, v) if scalar_is_x else np.where(c != 0, v, s)]
    return forward


def _where_scalar_backward(where_true: bool):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (c, v) = out_grads, inputs
        m = np.broadcast_to(c != 0, g.shape)
        zero = np.zeros((), g.dtype)
        d = np.where(m, g, zero) if where_true else np.where(m, zero, g)
        return [np.zeros_like(c), _sum_to(d, v)]
    return backward


# ``lscalar``: the scalar is taken where the condition holds; ``rscalar``: where it does not.
# MXNet names the array input ``x`` in the first and ``y`` in the second all the same, and
# its backward follows the names, not the forward: the array's gradient is the head gradient
# where the condition holds (lscalar) or where it does not (rscalar). Copied, as MXNet's
# numbers are what trained models saw.
declare("_npi_where_lscalar", params={"scalar": P(FLOAT, 0.0)}, inputs=("condition", "x"),
        infer_shape=_where_shape, infer_type=_where_type,
        forward=_where_scalar_forward(True), backward=_where_scalar_backward(True))
declare("_npi_where_rscalar", params={"scalar": P(FLOAT, 0.0)}, inputs=("condition", "y"),
        infer_shape=_where_shape, infer_type=_where_type,
        forward=_where_scalar_forward(False), backward=_where_scalar_backward(False))


def _where_scalar2_forward(attrs, inputs, ctx):
    (c,) = inputs
    return [np.where(c != 0, np.float32(attrs.x), np.float32(attrs.y)).astype(F32)]


declare("_npi_where_scalar2", params={"x": P(FLOAT, 0.0), "y": P(FLOAT, 0.0)},
        inputs=("condition",), infer_shape=_same_shape,
        infer_type=lambda attrs, ins, outs: (ins, [F32]),
        forward=_where_scalar2_forward, backward=_zero_grad)

# ----------------------------------------------------------------------------------------
# Reductions: ``axis=None`` reduces everything to a 0-d result, ``axis=()`` reduces nothing.


def _np_axes_of(attrs: Attrs, ndim: int) -> tuple[int, ...]:
    if attrs.axis is None:
        return tuple(range(ndim))
    axes = sorted(axis_of(attrs, a, ndim) for a in attrs.axis)
    if len(set(axes)) != len(axes):
        raise fail(attrs, f"axis={tuple(attrs.axis)} has duplicates")
    return tuple(axes)


def _np_reduce_shape_of(attrs: Attrs, s: tuple) -> tuple:
    axes = _np_axes_of(attrs, len(s))
    if attrs.keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(s))
    return tuple(d for i, d in enumerate(s) if i not in axes)


def _check_initial(attrs: Attrs) -> None:
    if attrs.initial is not None:
        raise fail(attrs, f"initial={attrs.initial} is not supported (MXNet 1.9.1: "
                          "'initial is not supported yet')")


def _np_reduce_infer(attrs: Attrs, ins: list, outs: list):
    _check_initial(attrs)
    if ins[0] is not None:
        assign(attrs, outs, 0, _np_reduce_shape_of(attrs, tuple(ins[0])), ["output"])
    return ins, outs


def _sum_dtype(attrs: Attrs, t: np.dtype) -> np.dtype:
    if attrs.get("dtype") is not None:
        return attrs.dtype
    return np.dtype("int64") if t.kind == "b" else t


def _mean_dtype(attrs: Attrs, t: np.dtype) -> np.dtype:
    if attrs.get("dtype") is not None:
        return attrs.dtype
    return t if t.kind == "f" else F32


def _same_dtype(attrs: Attrs, t: np.dtype) -> np.dtype:
    return t


def _reduce_type(rule):
    def infer(attrs: Attrs, ins: list, outs: list):
        if ins[0] is not None:
            assign_type(attrs, outs, 0, rule(attrs, ins[0]), ["output"])
        return ins, outs
    return infer


def _np_reduce_forward(fn, rule, empty_ok: bool):
    def forward(attrs, inputs, ctx):
        _check_initial(attrs)
        (x,) = inputs
        axes = _np_axes_of(attrs, x.ndim)
        t = rule(attrs, x.dtype)
        if not empty_ok and x.size == 0 and any(x.shape[a] == 0 for a in axes):
            raise fail(attrs, "zero-size array to a reduction operation which has no identity")
        w = x.astype(t, copy=False) if t.kind == "f" or x.dtype.kind == "b" else x
        if fn is np.mean and x.size == 0:  # MXNet's mean of nothing is 0, not nan
            return [np.zeros(_np_reduce_shape_of(attrs, x.shape), t)]
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            r = fn(w, axis=axes, keepdims=attrs.keepdims) if axes else w
        return [np.array(r).astype(t, copy=False)]
    return forward


def _np_reduce_backward(deriv):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        if x.dtype.kind != "f":
            return [np.zeros_like(x)]
        axes = _np_axes_of(attrs, x.ndim)
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        g = g.astype(x.dtype, copy=False).reshape(kept)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = deriv(NP_MATH, g, x, y.astype(x.dtype, copy=False).reshape(kept), n)
        return [np.broadcast_to(d, x.shape).astype(x.dtype, copy=False)]
    return backward


_DERIVS = {row[0]: (row[1], row[2]) for row in _REDUCE}
_REDUCE_DTYPES = ("bool", "float16", "float32", "float64", "int32", "int64", "int8")
_SUM_PARAMS = {"axis": P(OPT_SHAPE, None), "dtype": P(opt_dtypes(*_REDUCE_DTYPES), None),
               "keepdims": P(BOOL, False), "initial": P(OPT_FLOAT, None)}
_MAX_PARAMS = {"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False),
               "initial": P(OPT_FLOAT, None)}

for _name, _aliases, _legacy, _params, _rule, _empty_ok in (
        ("_np_sum", (), "sum", _SUM_PARAMS, _sum_dtype, True),
        ("_npi_mean", (), "mean", _SUM_PARAMS, _mean_dtype, True),
        ("_np_max", ("_np_amax",), "max", _MAX_PARAMS, _same_dtype, False),
        ("_np_min", ("_np_amin",), "min", _MAX_PARAMS, _same_dtype, False)):
    _fn, _deriv = _DERIVS[_legacy]
    declare(_name, *_aliases, params=dict(_params), inputs=("a",),
            infer_shape=_np_reduce_infer, infer_type=_reduce_type(_rule),
            forward=_np_reduce_forward(_fn, _rule, _empty_ok),
            backward=_np_reduce_backward(_deriv))

_fn, _deriv = _DERIVS["prod"]
declare("_np_prod", "_np_product", params=dict(_SUM_PARAMS), inputs=("a",),
        infer_shape=_np_reduce_infer, infer_type=_reduce_type(_sum_dtype),
        forward=_np_reduce_forward(_fn, _sum_dtype, True),
        backward=_np_reduce_backward(_deriv))


def _logic_reduce(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        axes = _np_axes_of(attrs, x.ndim)
        return [np.array(fn(x != 0, axis=axes, keepdims=attrs.keepdims))]
    return forward


def _bool_reduce_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign(attrs, outs, 0, _np_reduce_shape_of(attrs, tuple(ins[0])), ["output"])
    return ins, outs


_LOGIC_PARAMS = {"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False)}
declare("_np_all", params=dict(_LOGIC_PARAMS), infer_shape=_bool_reduce_infer,
        infer_type=_bool_out, forward=_logic_reduce(np.all), backward=_zero_grad)
declare("_np_any", "_np_sometrue", params=dict(_LOGIC_PARAMS), infer_shape=_bool_reduce_infer,
        infer_type=_bool_out, forward=_logic_reduce(np.any), backward=_zero_grad)

# ----------------------------------------------------------------------------------------
# argmax / argmin (int64 positions), logical_not (bool), squeeze, broadcast_to, creation.


def _arg_axis(attrs: Attrs, ndim: int):
    return None if attrs.axis is None else axis_of(attrs, attrs.axis, ndim)


def _arg_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        s = tuple(ins[0])
        ax = _arg_axis(attrs, len(s))
        if ax is None:
            o = (1,) * len(s) if attrs.keepdims else ()
        else:
            o = tuple(1 if i == ax else d for i, d in enumerate(s)
                      if i != ax or attrs.keepdims)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _arg_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        if x.size == 0:
            raise fail(attrs, "attempt to get argmax/argmin of an empty sequence")
        ax = _arg_axis(attrs, x.ndim)
        r = fn(x, axis=ax, keepdims=attrs.keepdims)
        return [np.array(r, dtype=np.int64)]
    return forward


_ARG_PARAMS = {"axis": P(OPT_INT, None), "keepdims": P(BOOL, False)}
for _name, _fn in (("_npi_argmax", np.argmax), ("_npi_argmin", np.argmin)):
    declare(_name, params=dict(_ARG_PARAMS), infer_shape=_arg_shape,
            infer_type=lambda attrs, ins, outs: (ins, [np.dtype("int64")]),
            forward=_arg_forward(_fn), backward=_zero_grad)

declare("_npi_logical_not", inputs=("x",), infer_shape=_same_shape, infer_type=_bool_out,
        forward=lambda attrs, inputs, ctx: [np.logical_not(inputs[0])], backward=_zero_grad)


def _squeeze_target(attrs: Attrs, s: tuple) -> tuple:
    if attrs.axis is None:
        return tuple(d for d in s if d != 1)
    axes = {axis_of(attrs, a, max(len(s), 1)) for a in attrs.axis}
    if len(axes) != len(attrs.axis):
        raise fail(attrs, f"axis={tuple(attrs.axis)} has duplicates")
    if not s:
        return ()
    for a in axes:
        if s[a] != 1:
            raise fail(attrs, f"cannot squeeze axis {a}: its size is {s[a]}, not 1")
    return tuple(d for i, d in enumerate(s) if i not in axes)


def _squeeze_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign(attrs, outs, 0, _squeeze_target(attrs, tuple(ins[0])), ["output"])
    return ins, outs


declare("_np_squeeze", params={"axis": P(OPT_SHAPE, None)}, inputs=("a",),
        infer_shape=_squeeze_infer,
        forward=lambda attrs, inputs, ctx: [
            inputs[0].reshape(_squeeze_target(attrs, inputs[0].shape))],
        backward=_identity_backward)


def _bcast_target(attrs: Attrs, s: tuple) -> tuple:
    shape = tuple(attrs.shape)
    if len(shape) < len(s):
        raise fail(attrs, f"cannot broadcast an array of shape {s} to shape={shape}")
    lead = len(shape) - len(s)
    out = []
    for i, d in enumerate(shape):
        src = s[i - lead] if i >= lead else 1
        if d < 0 or (src != 1 and src != d):
            raise fail(attrs, f"cannot broadcast an array of shape {s} to shape={shape}")
        out.append(d)
    return tuple(out)


def _bcast_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign(attrs, outs, 0, _bcast_target(attrs, tuple(ins[0])), ["output"])
    return ins, outs


declare("_npi_broadcast_to", params={"shape": P(SHAPE, ())}, inputs=("array",),
        infer_shape=_bcast_infer,
        forward=lambda attrs, inputs, ctx: [
            np.broadcast_to(inputs[0], _bcast_target(attrs, inputs[0].shape)).copy()],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [
            _sum_to(out_grads[0], inputs[0])])


def _create_infer(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, tuple(attrs.shape), ["output"])
    return ins, outs


_CREATE = {"shape": P(SHAPE, ()), "ctx": P(STR, ""),
           "dtype": P(dtypes("bfloat16", "bool", "float16", "float32", "float64", "int32",
                             "int64", "int8", "uint8"), F32)}
for _name, _value in (("_npi_zeros", 0), ("_npi_ones", 1)):
    declare(_name, params=dict(_CREATE), inputs=(), infer_shape=_create_infer,
            infer_type=lambda attrs, ins, outs: (ins, [attrs.dtype]),
            forward=(lambda v: lambda attrs, inputs, ctx: [
                np.full(attrs.shape, v, dtype=attrs.dtype)])(_value),
            backward=_zero_grad)

# ----------------------------------------------------------------------------------------
# matmul, flip, moveaxis, cumsum.


def _mm_promoted(a_shape: tuple, b_shape: tuple) -> tuple[tuple, tuple]:
    """numpy's matmul promotion: a 1-D left operand is a row, a 1-D right one a column."""
    return ((1, *a_shape) if len(a_shape) == 1 else tuple(a_shape),
            (*b_shape, 1) if len(b_shape) == 1 else tuple(b_shape))


def _matmul_target(attrs: Attrs, a: tuple, b: tuple) -> tuple:
    if not a or not b:
        raise fail(attrs, "matmul does not take 0-d operands")
    pa, pb = _mm_promoted(a, b)
    if pa[-1] != pb[-2]:
        raise fail(attrs, f"shapes {tuple(a)} and {tuple(b)}: the last dim of 'a' "
                          f"({pa[-1]}) does not match the second-to-last of 'b' ({pb[-2]})")
    batch = broadcast_shape(attrs, pa[:-2], pb[:-2])
    out = (*batch, pa[-2], pb[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _matmul_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None and ins[1] is not None:
        assign(attrs, outs, 0, _matmul_target(attrs, tuple(ins[0]), tuple(ins[1])), ["output"])
    return ins, outs


def _matmul_forward(attrs, inputs, ctx):
    a, b = inputs
    if a.dtype != b.dtype:
        raise _refuse(attrs, a.dtype, b.dtype)
    if a.dtype.name not in ("float32", "float64"):
        raise fail(attrs, f"dtype {a.dtype} is not supported (MXNet's CPU matmul takes "
                          "float32 and float64)")
    _matmul_target(attrs, a.shape, b.shape)
    return [np.asarray(np.matmul(a, b))]


def _matmul_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a, b) = out_grads, inputs
    pa, pb = _mm_promoted(a.shape, b.shape)
    a2, b2 = a.reshape(pa), b.reshape(pb)
    batch = np.broadcast_shapes(pa[:-2], pb[:-2])
    g2 = g.reshape((*batch, pa[-2], pb[-1]))
    ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
    gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
    return [_sum_to(ga, a2).reshape(a.shape), _sum_to(gb, b2).reshape(b.shape)]


declare("_npi_matmul", inputs=("a", "b"), infer_shape=_matmul_shape, infer_type=_one_type,
        forward=_matmul_forward, backward=_matmul_backward)


def _flip_axes(attrs: Attrs, ndim: int) -> tuple[int, ...]:
    for a in attrs.axis:
        if not 0 <= a < ndim:  # MXNet 1.9.1 refuses negative axes here
            raise fail(attrs, f"axis={tuple(attrs.axis)}: {a} is not in [0, {ndim})")
    return tuple(attrs.axis)


def _flip_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        _flip_axes(attrs, len(ins[0]))
    return _same_shape(attrs, ins, outs)


declare("_npi_flip", params={"axis": P(SHAPE)}, infer_shape=_flip_infer,
        forward=lambda attrs, inputs, ctx: [
            np.flip(inputs[0], _flip_axes(attrs, inputs[0].ndim)).copy()],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [
            np.flip(out_grads[0], _flip_axes(attrs, inputs[0].ndim))])


def _move_order(attrs: Attrs, ndim: int) -> tuple[int, ...]:
    src = [axis_of(attrs, a, ndim, "source") for a in attrs.source]
    dst = [axis_of(attrs, a, ndim, "destination") for a in attrs.destination]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise fail(attrs, f"source={tuple(attrs.source)} and destination="
                          f"{tuple(attrs.destination)} must be equally long, without repeats")
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return tuple(order)


def _moveaxis_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        order = _move_order(attrs, len(ins[0]))
        assign(attrs, outs, 0, tuple(ins[0][i] for i in order), ["output"])
    return ins, outs


declare("_np_moveaxis", params={"source": P(SHAPE), "destination": P(SHAPE)}, inputs=("a",),
        infer_shape=_moveaxis_infer,
        forward=lambda attrs, inputs, ctx: [
            inputs[0].transpose(_move_order(attrs, inputs[0].ndim))],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [
            out_grads[0].transpose(np.argsort(_move_order(attrs, inputs[0].ndim)))])


def _cumsum_axis(attrs: Attrs, ndim: int) -> int:
    if not 0 <= attrs.axis < ndim:  # MXNet 1.9.1 refuses negative axes here
        raise fail(attrs, f"axis={attrs.axis} is not in [0, {ndim})")
    return attrs.axis


def _cumsum_infer(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        s = tuple(ins[0])
        if attrs.axis is None:
            o = (_size(s),)
        else:
            _cumsum_axis(attrs, len(s))
            o = s
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _cumsum_forward(attrs, inputs, ctx):
    (x,) = inputs
    t = _sum_dtype(attrs, x.dtype)
    if attrs.axis is None:
        return [np.cumsum(x.ravel(), dtype=t)]
    return [np.cumsum(x, axis=_cumsum_axis(attrs, x.ndim), dtype=t)]


def _cumsum_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    if x.dtype.kind != "f":
        return [np.zeros_like(x)]
    ax = 0 if attrs.axis is None else _cumsum_axis(attrs, x.ndim)
    d = np.flip(np.cumsum(np.flip(g, ax), axis=ax), ax)
    return [d.reshape(x.shape).astype(x.dtype, copy=False)]


declare("_np_cumsum", "cumsum",
        params={"axis": P(OPT_INT, None),
                "dtype": P(opt_dtypes("float16", "float32", "float64", "int32", "int64",
                                      "int8"), None)},
        inputs=("a",), infer_shape=_cumsum_infer,
        infer_type=_reduce_type(_sum_dtype), forward=_cumsum_forward,
        backward=_cumsum_backward)

# ----------------------------------------------------------------------------------------
# dot, hypot, arange, full_like.


def _dot_bax(b_ndim: int) -> int:
    """The axis of ``b`` that numpy's dot sums over (the second-to-last, or the only one)."""
    return b_ndim - 2 if b_ndim >= 2 else 0


def _dot_target(attrs: Attrs, a: tuple, b: tuple) -> tuple:
    if not a or not b:
        return tuple(broadcast_shape(attrs, a, b)) if a or b else ()
    bax = _dot_bax(len(b))
    if a[-1] != b[bax]:
        raise fail(attrs, f"shapes {tuple(a)} and {tuple(b)} are not aligned: {a[-1]} (dim "
                          f"{len(a) - 1}) != {b[bax]} (dim {bax})")
    return (*a[:-1], *(d for i, d in enumerate(b) if i != bax))


def _dot_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None and ins[1] is not None:
        assign(attrs, outs, 0, _dot_target(attrs, tuple(ins[0]), tuple(ins[1])), ["output"])
    return ins, outs


def _dot_forward(attrs, inputs, ctx):
    a, b = inputs
    if a.dtype != b.dtype:
        raise _refuse(attrs, a.dtype, b.dtype)
    if a.dtype.kind != "f":
        raise fail(attrs, f"dtype {a.dtype} is not supported (MXNet's dot takes floating point "
                          "types only)")
    _dot_target(attrs, a.shape, b.shape)
    return [np.asarray(np.dot(a, b)).astype(a.dtype, copy=False)]


def _dot_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a, b) = out_grads, inputs
    if a.ndim == 0 or b.ndim == 0:
        return [_sum_to(g * b, a), _sum_to(g * a, b)]
    bax = _dot_bax(b.ndim)
    n_a = a.ndim - 1  # output axes that come from 'a'
    b_rest = [i for i in range(b.ndim) if i != bax]
    ga = np.tensordot(g, b, axes=(list(range(n_a, g.ndim)), b_rest))
    gb = np.tensordot(a, g, axes=(list(range(n_a)), list(range(n_a))))
    gb = np.moveaxis(gb, 0, bax)
    return [ga.astype(a.dtype, copy=False), gb.astype(b.dtype, copy=False)]


declare("_np_dot", inputs=("a", "b"), infer_shape=_dot_shape, infer_type=_one_type,
        forward=_dot_forward, backward=_dot_backward)

def _one_dtype(attrs: Attrs, a: np.dtype, b: np.dtype) -> np.dtype:
    if a != b:
        raise _refuse(attrs, a, b)
    return a


_hfn, _hdl, _hdr = _BINARY["hypot"]
declare("_npi_hypot", inputs=("x1", "x2"), infer_shape=_broadcast_infer,
        infer_type=_binary_type(_one_dtype), forward=_np_binary_forward(_hfn, _one_dtype, False),
        backward=_np_binary_backward(_hdl, _hdr, _one_dtype))


def _arange_shape(attrs: Attrs, ins: list, outs: list):
    if attrs.repeat != 1:
        raise fail(attrs, f"repeat={attrs.repeat}: only repeat=1 is supported")
    return _tensor_arange_shape(attrs, ins, outs)


def _np_arange_forward(attrs, inputs, ctx):
    _arange_shape(attrs, [], [None])
    return _arange_forward(attrs, inputs, ctx)


declare("_npi_arange", params=dict(registry_get("_arange").params), inputs=(),
        infer_shape=_arange_shape, infer_type=_dtype_out, forward=_np_arange_forward,
        backward=_zero_grad)


def _full_like_type(attrs: Attrs, ins: list, outs: list):
    t = attrs.dtype if attrs.dtype is not None else ins[0]
    if t is not None:
        assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _full_like_forward(attrs, inputs, ctx):
    t = attrs.dtype if attrs.dtype is not None else inputs[0].dtype
    return [np.full(inputs[0].shape, np.asarray(attrs.fill_value).astype(t), dtype=t)]


declare("_npi_full_like",
        params={"fill_value": P(FLOAT), "ctx": P(STR, ""),
                "dtype": P(opt_dtypes("bfloat16", "bool", "float16", "float32", "float64",
                                      "int32", "int64", "int8", "uint8"), None)},
        inputs=("a",), infer_shape=_same_shape, infer_type=_full_like_type,
        forward=_full_like_forward, backward=_zero_grad)
