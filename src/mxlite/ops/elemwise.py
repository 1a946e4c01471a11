"""Elementwise operators: binaries (same-shape and broadcast), scalar ops, unary maths, add_n.

Near-identical operators are declared from tables; each row names the operator as MXNet
does, all of its aliases, and (where numpy says it directly) its forward kernel.
"""

from __future__ import annotations

import numpy as np

from ._util import BOOL, FLOAT, INT, P, assign, assign_type, broadcast_shape, declare, fail
from .registry import Attrs, same_shape, same_type

# ----------------------------------------------------------------------------------------
# Kernels shared by the binary families. Comparisons and logic give 1/0 in the input dtype
# (MXNet's legacy operators have no bool output).


def _mod(a, b):
    # MXNet's mod takes the divisor's sign (like numpy) but gives 0 where the divisor is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.mod(a, np.where(b == 0, 1, b))
    return np.where(b == 0, np.zeros_like(r), r)


def _as(fn):
    return lambda a, b: fn(a, b).astype(np.result_type(a, b), copy=False)


_BINARY = {  # short name -> numpy kernel
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "mod": _mod, "power": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "hypot": np.hypot, "equal": _as(np.equal), "not_equal": _as(np.not_equal),
    "greater": _as(np.greater), "greater_equal": _as(np.greater_equal),
    "lesser": _as(np.less), "lesser_equal": _as(np.less_equal),
    "logical_and": _as(np.logical_and), "logical_or": _as(np.logical_or),
    "logical_xor": _as(np.logical_xor),
}


def _binary_forward(fn):
    def forward(attrs, inputs, ctx):
        a, b = inputs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return [np.asarray(fn(a, b)).astype(a.dtype, copy=False)]
    return forward


# ----------------------------------------------------------------------------------------
# Same-shape binaries: elemwise_* and the ``_power``-style operators Symbol arithmetic uses.

_ELEMWISE = [  # (canonical, kernel, aliases)
    ("elemwise_add", "add", ("_add", "_plus", "_Plus", "_sparse_elemwise_add")),
    ("elemwise_sub", "sub", ("_sub", "_minus", "_Minus", "_sparse_elemwise_sub")),
    ("elemwise_mul", "mul", ("_mul", "_Mul", "_sparse_elemwise_mul")),
    ("elemwise_div", "div", ("_div", "_Div", "_sparse_elemwise_div")),
    ("_power", "power", ("_Power",)),
    ("_mod", "mod", ("_Mod",)),
    ("_maximum", "maximum", ("_Maximum",)),
    ("_minimum", "minimum", ("_Minimum",)),
    ("_hypot", "hypot", ("_Hypot",)),
    ("_equal", "equal", ("_Equal",)),
    ("_not_equal", "not_equal", ("_Not_Equal",)),
    ("_greater", "greater", ("_Greater",)),
    ("_greater_equal", "greater_equal", ("_Greater_Equal",)),
    ("_lesser", "lesser", ("_Lesser",)),
    ("_lesser_equal", "lesser_equal", ("_Lesser_Equal",)),
    ("_logical_and", "logical_and", ("_Logical_And",)),
    ("_logical_or", "logical_or", ("_Logical_Or",)),
    ("_logical_xor", "logical_xor", ("_Logical_Xor",)),
    ("_grad_add", "add", ()),
]

for _name, _kernel, _aliases in _ELEMWISE:
    declare(_name, *_aliases, inputs=("lhs", "rhs"), infer_shape=same_shape,
            forward=_binary_forward(_BINARY[_kernel]))

# ----------------------------------------------------------------------------------------
# Broadcast binaries.


def _broadcast_shape(attrs: Attrs, ins: list, outs: list):
    a, b = ins
    if a is None or b is None:
        return ins, outs
    assign(attrs, outs, 0, broadcast_shape(attrs, a, b), ["output"])
    return ins, outs


_BROADCAST_ALIASES = {
    "add": ("broadcast_plus", "_sparse_broadcast_add", "_sparse_broadcast_plus"),
    "sub": ("broadcast_minus", "_sparse_broadcast_sub", "_sparse_broadcast_minus"),
    "mul": ("_sparse_broadcast_mul",), "div": ("_sparse_broadcast_div",),
    "maximum": ("_npi_maximum",), "minimum": ("_npi_minimum",),
}

for _kernel, _fn in _BINARY.items():
    declare("broadcast_" + _kernel, *_BROADCAST_ALIASES.get(_kernel, ()), inputs=("lhs", "rhs"),
            infer_shape=_broadcast_shape, forward=_binary_forward(_fn))

# ----------------------------------------------------------------------------------------
# Scalar ops: ``x + 2`` is ``_plus_scalar(x, scalar=2)``; ``_r*`` put the scalar on the left.

_SCALAR = [  # (canonical, kernel, scalar on the left, aliases)
    ("_plus_scalar", "add", False, ("_PlusScalar",)),
    ("_minus_scalar", "sub", False, ("_MinusScalar",)),
    ("_rminus_scalar", "sub", True, ("_RMinusScalar",)),
    ("_mul_scalar", "mul", False, ("_MulScalar",)),
    ("_div_scalar", "div", False, ("_DivScalar",)),
    ("_rdiv_scalar", "div", True, ("_RDivScalar",)),
    ("_mod_scalar", "mod", False, ("_ModScalar",)),
    ("_rmod_scalar", "mod", True, ("_RModScalar",)),
    ("_power_scalar", "power", False, ("_PowerScalar",)),
    ("_rpower_scalar", "power", True, ("_RPowerScalar",)),
    ("_maximum_scalar", "maximum", False, ("_MaximumScalar", "_npi_maximum_scalar")),
    ("_minimum_scalar", "minimum", False, ("_MinimumScalar", "_npi_minimum_scalar")),
    ("_hypot_scalar", "hypot", False, ("_HypotScalar", "_npi_hypot_scalar")),
    ("_equal_scalar", "equal", False, ("_EqualScalar",)),
    ("_not_equal_scalar", "not_equal", False, ("_NotEqualScalar",)),
    ("_greater_scalar", "greater", False, ("_GreaterScalar",)),
    ("_greater_equal_scalar", "greater_equal", False, ("_GreaterEqualScalar",)),
    ("_lesser_scalar", "lesser", False, ("_LesserScalar",)),
    ("_lesser_equal_scalar", "lesser_equal", False, ("_LesserEqualScalar",)),
    ("_logical_and_scalar", "logical_and", False, ("_LogicalAndScalar",)),
    ("_logical_or_scalar", "logical_or", False, ("_LogicalOrScalar",)),
    ("_logical_xor_scalar", "logical_xor", False, ("_LogicalXorScalar",)),
]

_SCALAR_PARAMS = {"scalar": P(FLOAT, 1.0), "is_int": P(BOOL, True)}


def _scalar_out_dtype(t: np.dtype, is_int: bool) -> np.dtype:
    """An integer (or bool) input meeting a non-integer scalar gives float64; bool with an
    integer scalar gives int64; otherwise the input's dtype."""
    if t.kind == "b":
        return np.dtype("int64" if is_int else "float64")
    if t.kind in "iu" and not is_int:
        return np.dtype("float64")
    return t


def _scalar_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0]
    if t is not None and (t.kind == "b" or (t.kind in "iu" and not attrs.is_int)):
        assign_type(attrs, outs, 0, _scalar_out_dtype(t, attrs.is_int), ["output"])
        return ins, outs
    return same_type(attrs, ins, outs)


def _scalar_forward(fn, reverse: bool):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        t = _scalar_out_dtype(x.dtype, attrs.is_int)
        x = x.astype(t, copy=False)
        s = np.asarray(attrs.scalar, dtype=t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = fn(s, x) if reverse else fn(x, s)
        return [np.asarray(r).astype(t, copy=False)]
    return forward


for _name, _kernel, _rev, _aliases in _SCALAR:
    declare(_name, *_aliases, params=dict(_SCALAR_PARAMS), infer_shape=same_shape,
            infer_type=_scalar_type, forward=_scalar_forward(_BINARY[_kernel], _rev))

# ----------------------------------------------------------------------------------------
# Unary maths: one input, same shape and dtype out.


def _round(x):
    # MXNet rounds halves away from zero; numpy's round goes to even.
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _rint(x):
    # MXNet's rint sends exact halves down (-2.5 -> -3, 0.5 -> 0), unlike numpy's to-even.
    f = np.floor(x)
    return np.where(x - f <= 0.5, f, np.ceil(x))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


_UNARY = [  # (canonical, numpy kernel or None, aliases)
    ("negative", np.negative, ("_sparse_negative",)),
    ("abs", np.abs, ("_sparse_abs",)),
    ("sign", np.sign, ("_sparse_sign",)),
    ("round", _round, ("_sparse_round",)),
    ("rint", _rint, ("_sparse_rint",)),
    ("ceil", np.ceil, ("_sparse_ceil",)),
    ("floor", np.floor, ("_sparse_floor",)),
    ("trunc", np.trunc, ("_sparse_trunc",)),
    ("fix", np.fix, ("_sparse_fix",)),
    ("square", np.square, ("_sparse_square",)),
    ("sqrt", np.sqrt, ("_sparse_sqrt",)),
    ("rsqrt", lambda x: 1 / np.sqrt(x), ("_sparse_rsqrt",)),
    ("cbrt", np.cbrt, ("_sparse_cbrt",)),
    ("rcbrt", lambda x: 1 / np.cbrt(x), ()),
    ("reciprocal", np.reciprocal, ()),
    ("exp", np.exp, ("_sparse_exp",)),
    ("expm1", np.expm1, ("_sparse_expm1",)),
    ("log", np.log, ("_sparse_log",)),
    ("log1p", np.log1p, ("_sparse_log1p",)),
    ("log2", np.log2, ("_sparse_log2",)),
    ("log10", np.log10, ("_sparse_log10",)),
    ("sin", np.sin, ("_sparse_sin",)),
    ("cos", np.cos, ("_sparse_cos",)),
    ("tan", np.tan, ("_sparse_tan",)),
    ("arcsin", np.arcsin, ("_sparse_arcsin",)),
    ("arccos", np.arccos, ("_sparse_arccos",)),
    ("arctan", np.arctan, ("_sparse_arctan",)),
    ("sinh", np.sinh, ("_sparse_sinh",)),
    ("cosh", np.cosh, ("_sparse_cosh",)),
    ("tanh", np.tanh, ("_sparse_tanh",)),
    ("arcsinh", np.arcsinh, ("_sparse_arcsinh",)),
    ("arccosh", np.arccosh, ("_sparse_arccosh",)),
    ("arctanh", np.arctanh, ("_sparse_arctanh",)),
    ("degrees", np.degrees, ("_sparse_degrees",)),
    ("radians", np.radians, ("_sparse_radians",)),
    ("relu", lambda x: np.maximum(x, 0), ("_sparse_relu",)),
    ("sigmoid", _sigmoid, ("_sparse_sigmoid",)),
    ("softsign", lambda x: x / (1 + np.abs(x)), ()),
    ("logical_not", lambda x: np.logical_not(x), ()),
    # numpy has no erf/gamma family; their kernels come with the next issue.
    ("erf", None, ("_npx_erf",)),
    ("erfinv", None, ("_npx_erfinv",)),
    ("gamma", None, ("_npx_gamma", "_sparse_gamma")),
    ("gammaln", None, ("_npx_gammaln", "_sparse_gammaln")),
]


def _unary_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return [np.asarray(fn(x)).astype(x.dtype, copy=False)]
    return forward


for _name, _fn, _aliases in _UNARY:
    declare(_name, *_aliases, infer_shape=same_shape,
            forward=_unary_forward(_fn) if _fn is not None else None)

# ----------------------------------------------------------------------------------------
# add_n: any number of same-shape inputs.


def _add_n_forward(attrs, inputs, ctx):
    out = inputs[0].copy()
    for x in inputs[1:]:
        out += x
    return [out]


def _add_n_inputs(a: Attrs):
    if a.num_args < 1:
        raise fail(a, f"num_args={a.num_args} must be at least 1")
    return tuple(f"arg{i}" for i in range(a.num_args))


declare(
    "add_n", "ElementWiseSum", "_sparse_ElementWiseSum", "_sparse_add_n",
    params={"num_args": P(INT)}, inputs=_add_n_inputs, key_var_num_args="num_args",
    infer_shape=same_shape, forward=_add_n_forward,
)
