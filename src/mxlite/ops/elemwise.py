"""Elementwise operators: binaries (same-shape and broadcast), scalar ops, unary maths, add_n.

Near-identical operators are declared from tables; each row names the operator as MXNet
does, all of its aliases, its forward kernel and, next to it, its derivative.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ._util import BOOL, FLOAT, INT, P, assign, assign_type, broadcast_shape, declare, fail
from .registry import Attrs, same_shape, same_type

# ----------------------------------------------------------------------------------------
# Special functions numpy lacks, vectorised, in float64 (any array-like in, float64 out):
# erf/erfc (W. J. Cody's rational approximations, CALERF), erfinv (Giles' approximation
# polished by Newton steps), lgamma/gamma (Lanczos, g = 7, n = 9, with reflection below 1/2)
# and digamma (recurrence + asymptotic series). Each is within a few ulps of C's libm (gamma
# within ~1e-13 relative near its overflow); other op families may import them.

_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    z = x * x
    num, den = _ERF_A[4] * z, z
    for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfc_large(y):
    """erfc(y) for y > 0.46875."""
    mid = y <= 4
    num, den = _ERF_C[8] * y, y
    for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
        num, den = (num + c) * y, (den + d) * y
    r_mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
    z = 1 / (y * y)
    num, den = _ERF_P[5] * z, z
    for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    r_far = (1 / np.sqrt(np.pi) - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y
    # exp(-y*y) split so the rounding of y*y does not cost relative accuracy.
    ys = np.trunc(y * 16) / 16
    return np.exp(-ys * ys) * np.exp(-(y - ys) * (y + ys)) * np.where(mid, r_mid, r_far)


def erf(x) -> np.ndarray:
    """The error function."""
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        big = np.copysign(1 - _erfc_large(np.where(y <= 0.46875, 1.0, y)), x)
        return np.where(y <= 0.46875, _erf_small(np.where(y <= 0.46875, x, 0)), big)


def erfc_abs(y) -> np.ndarray:
    """erfc(|y|), to full relative accuracy where it is tiny."""
    y = np.abs(np.asarray(y, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return np.where(y <= 0.46875, 1 - _erf_small(np.minimum(y, 0.46875)),
                        _erfc_large(np.where(y <= 0.46875, 1.0, y)))


def erfinv(y) -> np.ndarray:
    """The inverse error function: +-inf at +-1, nan beyond."""
    y = np.asarray(y, dtype=np.float64)
    a = np.abs(y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        w = -np.log((1 - a) * (1 + a))
        w1, w2 = w - 2.5, np.sqrt(w) - 3
        p1, p2 = 2.81022636e-08, -0.000200214257
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p1 = c + p1 * w1
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            p2 = c + p2 * w2
        x = np.where(w < 5, p1, p2) * a
        # Newton steps: on erf(x) = a in the middle, on log(erfc(x)) = log(1 - a) in the tails,
        # where 1 - a is exact and the logarithm keeps the iteration nearly linear.
        tail = a > 0.5
        for _ in range(4):
            c = erfc_abs(x)
            r = np.where(tail, c * np.log(c / (1 - a)), a - erf(x))
            x = x + r * (np.sqrt(np.pi) / 2) * np.exp(x * x)
        x = np.where(a == 1, np.inf, np.where(a > 1, np.nan, x))
        return np.copysign(x, y)


_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)


def _lanczos(x):
    """(series, t) of Lanczos' approximation Gamma(x) = sqrt(2 pi) t^(x-1/2) e^-t series."""
    s = np.full_like(x, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        s = s + c / (x - 1 + i)
    return s, x - 0.5 + _LANCZOS_G


def _sinpi(x):
    """sin(pi x), exact zeros at the integers."""
    n = np.round(x)
    return np.sin(np.pi * (x - n)) * np.where(n % 2, -1.0, 1.0)


def gammaln(x) -> np.ndarray:
    """log|Gamma(x)| (C's lgamma): +inf at the poles 0, -1, -2, ..."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1 - x, x)
        s, t = _lanczos(z)
        lg = 0.5 * np.log(2 * np.pi) + (z - 0.5) * np.log(t) - t + np.log(s)
        return np.where(refl, np.log(np.pi / np.abs(_sinpi(x))) - lg, lg)


def gamma(x) -> np.ndarray:
    """Gamma(x) (C's tgamma)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1 - x, x)
        s, t = _lanczos(z)
        half = t ** ((z - 0.5) / 2)  # t^(z-1/2) in two halves: it overflows before Gamma does
        g = np.sqrt(2 * np.pi) * s * half * (half * np.exp(-t))
        sp = _sinpi(x)
        r = np.where(refl, np.pi / (sp * g), g)
        # Poles at 0, -1, -2, ... : C's tgamma gives nan (+-inf at +-0).
        pole = refl & (sp == 0)
        return np.where(pole, np.where(x == 0, np.copysign(np.inf, x), np.nan), r)


def digamma(x) -> np.ndarray:
    """psi(x) = d/dx log Gamma(x), the derivative gamma's and gammaln's gradients need."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1 - x, x)
        acc = np.zeros_like(z)
        for _ in range(10):  # psi(z) = psi(z + 1) - 1/z, until z >= 10
            low = z < 10
            acc = acc - np.where(low, 1 / z, 0)
            z = np.where(low, z + 1, z)
        w = 1 / (z * z)
        tail = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (
            1 / 132 - w * (691 / 32760 - w / 12))))))
        psi = acc + np.log(z) - 0.5 / z - tail
        return np.where(refl, psi - np.pi / np.tan(np.pi * x), psi)


# ----------------------------------------------------------------------------------------
# Kernels shared by the binary families. Comparisons and logic give 1/0 in the input dtype
# (MXNet's legacy operators have no bool output).


def _mod(a, b):
    # MXNet's mod takes the divisor's sign (like numpy) but gives 0 where the divisor is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.mod(a, np.where(b == 0, 1, b))
    return np.where(b == 0, np.zeros_like(r), r)


def _power(a, b):
    # MXNet computes integer powers through floating point and truncates, so negative
    # exponents give 0 (or INT_MIN for 0 ** -1) instead of numpy's refusal.
    if np.result_type(a, b).kind in "iu":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.power(np.asarray(a, np.float64), b).astype(np.result_type(a, b))
    return np.power(a, b)


def _as(fn):
    return lambda a, b: fn(a, b).astype(np.result_type(a, b), copy=False)


# What derivatives are written with. Each derivative in the tables below is written once,
# over ``F``: this namespace of numpy functions makes it a backward kernel, and autograd's
# namespace of recorded operators makes it a graph that can be differentiated again
# (``autograd.grad(create_graph=True)``; MXNet's FGradient).
NP_MATH = SimpleNamespace(
    abs=np.abs, asarray=np.asarray, broadcast_to=np.broadcast_to, cos=np.cos, cosh=np.cosh,
    digamma=digamma, exp=np.exp, expm1=np.expm1, floor=np.floor, isnan=np.isnan, log=np.log,
    ones_like=np.ones_like, sign=np.sign, sin=np.sin, sinh=np.sinh, sqrt=np.sqrt,
    square=np.square, sum=np.sum, where=np.where, zeros_like=np.zeros_like)


def _float_only(d):
    """A derivative MXNet defines for floating-point dtypes only: its generic kernel (mod's
    ``mod_grad`` / ``mod_rgrad``) gives 0 for integer outputs, whatever the head gradient."""
    def deriv(F, g, a, b, y):
        if np.dtype(y.dtype).kind not in "fc":
            return F.zeros_like(g)
        return d(F, g, a, b, y)
    return deriv


_BINARY = {  # short name -> (kernel, d/d lhs, d/d rhs); each derivative maps (F, head
    # gradient g, lhs a, rhs b, output y) to that operand's gradient; None: no gradient (1/0
    # results).
    "add": (np.add, lambda F, g, a, b, y: g, lambda F, g, a, b, y: g),
    "sub": (np.subtract, lambda F, g, a, b, y: g, lambda F, g, a, b, y: -g),
    "mul": (np.multiply, lambda F, g, a, b, y: g * b, lambda F, g, a, b, y: g * a),
    "div": (np.true_divide, lambda F, g, a, b, y: g / b, lambda F, g, a, b, y: -g * y / b),
    "mod": (_mod, _float_only(lambda F, g, a, b, y: g),
            _float_only(lambda F, g, a, b, y: -g * F.floor(a / b))),
    "power": (_power, lambda F, g, a, b, y: g * b * a ** (b - 1),
              lambda F, g, a, b, y: g * y * F.log(a)),
    "maximum": (np.maximum, lambda F, g, a, b, y: g * (a >= b), lambda F, g, a, b, y: g * (a < b)),
    "minimum": (np.minimum, lambda F, g, a, b, y: g * (a <= b), lambda F, g, a, b, y: g * (a > b)),
    "hypot": (np.hypot, lambda F, g, a, b, y: g * a / y, lambda F, g, a, b, y: g * b / y),
    "equal": (_as(np.equal), None, None), "not_equal": (_as(np.not_equal), None, None),
    "greater": (_as(np.greater), None, None),
    "greater_equal": (_as(np.greater_equal), None, None),
    "lesser": (_as(np.less), None, None), "lesser_equal": (_as(np.less_equal), None, None),
    "logical_and": (_as(np.logical_and), None, None),
    "logical_or": (_as(np.logical_or), None, None),
    "logical_xor": (_as(np.logical_xor), None, None),
}


def _sum_to(g, like, F=NP_MATH):
    """``g`` summed over the axes along which ``like`` was broadcast, in ``like``'s dtype
    (numpy arrays, or NDArrays when ``F`` records)."""
    if F is NP_MATH:
        g = np.asarray(g)
    if g.shape != like.shape:
        lead = g.ndim - like.ndim
        axes = (*range(lead), *(lead + i for i, d in enumerate(like.shape)
                                if d == 1 and g.shape[lead + i] != 1))
        g = F.sum(g, axis=axes).reshape(like.shape) if axes else F.broadcast_to(g, like.shape)
    return g if g.dtype == like.dtype else g.astype(like.dtype)


def _reusable(ctx, inputs, i: int, shape: tuple, dtype: np.dtype) -> bool:
    """Whether the output may be written into input ``i``: its buffer is dead, of the output's
    shape and dtype, and backward (which would read it) will not run."""
    x = inputs[i]
    return (i in ctx.inplace and not ctx.is_train and x.shape == shape and x.dtype == dtype
            and x.dtype.kind == "f")


def _binary_forward(fn):
    def forward(attrs, inputs, ctx):
        a, b = inputs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if isinstance(fn, np.ufunc) and ctx.inplace:
                shape = np.broadcast_shapes(a.shape, b.shape)
                for i in (0, 1):
                    if _reusable(ctx, inputs, i, shape, a.dtype):
                        return [fn(a, b, out=inputs[i])]
            return [np.asarray(fn(a, b)).astype(a.dtype, copy=False)]
    return forward


def _binary_grads(d_lhs, d_rhs):
    """(backward kernel, grad_graph) of a binary operator from its two derivatives."""
    if d_lhs is None:
        return (lambda attrs, out_grads, inputs, outputs, ctx: [None, None],
                lambda F, attrs, out_grads, inputs, outputs, ctx: [None, None])

    def grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
        (g,), (a, b), (y,) = out_grads, inputs, outputs
        return [_sum_to(d_lhs(F, g, a, b, y), a, F), _sum_to(d_rhs(F, g, a, b, y), b, F)]

    def backward(attrs, out_grads, inputs, outputs, ctx):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return grad_graph(NP_MATH, attrs, out_grads, inputs, outputs, ctx)
    return backward, grad_graph


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

def _both_row_sparse(attrs: Attrs, in_stypes: list) -> list[bool]:
    return [all(t == "row_sparse" for t in in_stypes)] * 2


for _name, _kernel, _aliases in _ELEMWISE:
    _fn, _dl, _dr = _BINARY[_kernel]
    _back, _graph = _binary_grads(_dl, _dr)
    # _grad_add (the executor's gradient sum) has no gradient of its own in MXNet.
    declare(_name, *_aliases, inputs=("lhs", "rhs"), infer_shape=same_shape,
            forward=_binary_forward(_fn), backward=None if _name == "_grad_add" else _back,
            grad_graph=None if _name == "_grad_add" else _graph,
            # row_sparse + row_sparse keeps row_sparse gradients (MXNet's storage inference)
            sparse_grad_stypes=_both_row_sparse if _kernel in ("add", "sub") else None)

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

for _kernel, (_fn, _dl, _dr) in _BINARY.items():
    _back, _graph = _binary_grads(_dl, _dr)
    declare("broadcast_" + _kernel, *_BROADCAST_ALIASES.get(_kernel, ()), inputs=("lhs", "rhs"),
            infer_shape=_broadcast_shape, forward=_binary_forward(_fn), backward=_back,
            grad_graph=_graph)

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
        out = x if isinstance(fn, np.ufunc) and _reusable(ctx, inputs, 0, x.shape, t) else None
        x = x.astype(t, copy=False)
        s = np.asarray(attrs.scalar, dtype=t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            kw = {} if out is None else {"out": out}
            r = fn(s, x, **kw) if reverse else fn(x, s, **kw)
        return [np.asarray(r).astype(t, copy=False)]
    return forward


def _scalar_grads(d_lhs, d_rhs, reverse: bool):
    """(backward kernel, grad_graph) of a scalar operator from its kernel's derivatives."""
    if d_lhs is None:
        return (lambda attrs, out_grads, inputs, outputs, ctx: [None],
                lambda F, attrs, out_grads, inputs, outputs, ctx: [None])

    def grad(F, g, x, s, y):
        return d_rhs(F, g, s, x, y) if reverse else d_lhs(F, g, x, s, y)

    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        s = np.asarray(attrs.scalar, dtype=y.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d = grad(NP_MATH, g, x.astype(y.dtype, copy=False), s, y)
        return [np.broadcast_to(d, x.shape).astype(x.dtype, copy=False)]

    def grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
        return [grad(F, out_grads[0], inputs[0], attrs.scalar, outputs[0])]
    return backward, grad_graph


for _name, _kernel, _rev, _aliases in _SCALAR:
    _fn, _dl, _dr = _BINARY[_kernel]
    _back, _graph = _scalar_grads(_dl, _dr, _rev)
    declare(_name, *_aliases, params=dict(_SCALAR_PARAMS), infer_shape=same_shape,
            infer_type=_scalar_type, forward=_scalar_forward(_fn, _rev), backward=_back,
            grad_graph=_graph)

# ----------------------------------------------------------------------------------------
# Unary maths: one input, same shape and dtype out.


def _round(x):
    # MXNet rounds halves away from zero; numpy's round goes to even.
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def _rint(x):
    # MXNet's rint sends exact halves down (-2.5 -> -3, 0.5 -> 0), unlike numpy's to-even.
    f = np.floor(x)
    return np.where(x - f <= 0.5, f, np.ceil(x))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), in ``x``'s dtype."""
    return 1 / (1 + np.exp(-x))


_LN2, _LN10 = np.log(2), np.log(10)


def _rounded_once(fn):
    """``fn`` of float32 evaluated in float64 and rounded once. MXNet calls glibc's expf,
    logf, log2f, sinf and cosf, which round correctly; numpy's float32 loops are up to a few
    ulp off (exp(1) one ulp high, in 39% of inputs for exp)."""
    def kernel(x, out=None):
        if x.dtype != np.float32:
            return fn(x, out=out)
        if out is None:
            return fn(x, dtype=np.float64).astype(np.float32)
        np.copyto(out, fn(x, dtype=np.float64), casting="same_kind")
        return out
    kernel.writes_out = True  # takes ``out=`` as the ufunc does: a dead input may be reused
    return kernel

_UNARY = [  # (canonical, kernel, derivative (F, g, x, y) -> gradient or None if zero,
    # aliases)
    ("negative", np.negative, lambda F, g, x, y: -g, ("_sparse_negative",)),
    ("abs", np.abs, lambda F, g, x, y: g * F.sign(x), ("_sparse_abs",)),
    ("sign", np.sign, None, ("_sparse_sign",)),
    ("round", _round, None, ("_sparse_round",)),
    ("rint", _rint, None, ("_sparse_rint",)),
    ("ceil", np.ceil, None, ("_sparse_ceil",)),
    ("floor", np.floor, None, ("_sparse_floor",)),
    ("trunc", np.trunc, None, ("_sparse_trunc",)),
    ("fix", np.fix, None, ("_sparse_fix",)),
    ("square", np.square, lambda F, g, x, y: 2 * x * g, ("_sparse_square",)),
    ("sqrt", np.sqrt, lambda F, g, x, y: g / (2 * y), ("_sparse_sqrt",)),
    ("rsqrt", lambda x: 1 / np.sqrt(x), lambda F, g, x, y: -0.5 * g * y / x, ("_sparse_rsqrt",)),
    ("cbrt", np.cbrt, lambda F, g, x, y: g / (3 * y * y), ("_sparse_cbrt",)),
    ("rcbrt", lambda x: 1 / np.cbrt(x), lambda F, g, x, y: -g * y / (3 * x), ()),
    ("reciprocal", np.reciprocal, lambda F, g, x, y: -g * y * y, ()),
    ("exp", _rounded_once(np.exp), lambda F, g, x, y: g * y, ("_sparse_exp",)),
    ("expm1", np.expm1, lambda F, g, x, y: g * (y + 1), ("_sparse_expm1",)),
    ("log", _rounded_once(np.log), lambda F, g, x, y: g / x, ("_sparse_log",)),
    ("log1p", np.log1p, lambda F, g, x, y: g / (1 + x), ("_sparse_log1p",)),
    ("log2", _rounded_once(np.log2), lambda F, g, x, y: g / (x * _LN2), ("_sparse_log2",)),
    ("log10", np.log10, lambda F, g, x, y: g / (x * _LN10), ("_sparse_log10",)),
    ("sin", _rounded_once(np.sin), lambda F, g, x, y: g * F.cos(x), ("_sparse_sin",)),
    ("cos", _rounded_once(np.cos), lambda F, g, x, y: -g * F.sin(x), ("_sparse_cos",)),
    ("tan", np.tan, lambda F, g, x, y: g * (1 + y * y), ("_sparse_tan",)),
    ("arcsin", np.arcsin, lambda F, g, x, y: g / F.sqrt(1 - x * x), ("_sparse_arcsin",)),
    ("arccos", np.arccos, lambda F, g, x, y: -g / F.sqrt(1 - x * x), ("_sparse_arccos",)),
    ("arctan", np.arctan, lambda F, g, x, y: g / (1 + x * x), ("_sparse_arctan",)),
    ("sinh", np.sinh, lambda F, g, x, y: g * F.cosh(x), ("_sparse_sinh",)),
    ("cosh", np.cosh, lambda F, g, x, y: g * F.sinh(x), ("_sparse_cosh",)),
    ("tanh", np.tanh, lambda F, g, x, y: g * (1 - y * y), ("_sparse_tanh",)),
    ("arcsinh", np.arcsinh, lambda F, g, x, y: g / F.sqrt(x * x + 1), ("_sparse_arcsinh",)),
    ("arccosh", np.arccosh, lambda F, g, x, y: g / F.sqrt(x * x - 1), ("_sparse_arccosh",)),
    ("arctanh", np.arctanh, lambda F, g, x, y: g / (1 - x * x), ("_sparse_arctanh",)),
    ("degrees", np.degrees, lambda F, g, x, y: g * (180 / np.pi), ("_sparse_degrees",)),
    ("radians", np.radians, lambda F, g, x, y: g * (np.pi / 180), ("_sparse_radians",)),
    # MXNet's relu_grad passes NaN through (NaN in, NaN gradient out).
    ("relu", lambda x: np.maximum(x, x.dtype.type(0)),
     lambda F, g, x, y: g * F.where(F.isnan(y), y, y > 0),
     ("_sparse_relu",)),
    ("sigmoid", sigmoid, lambda F, g, x, y: g * y * (1 - y), ("_sparse_sigmoid",)),
    ("softsign", lambda x: x / (1 + np.abs(x)), lambda F, g, x, y: g / F.square(1 + F.abs(x)),
     ()),
    ("logical_not", np.logical_not, None, ()),
    ("erf", erf, lambda F, g, x, y: g * (2 / np.sqrt(np.pi)) * F.exp(-F.square(x)),
     ("_npx_erf",)),
    ("erfinv", erfinv, lambda F, g, x, y: g * (np.sqrt(np.pi) / 2) * F.exp(F.square(y)),
     ("_npx_erfinv",)),
    ("gamma", gamma, lambda F, g, x, y: g * y * F.digamma(x), ("_npx_gamma", "_sparse_gamma")),
    ("gammaln", gammaln, lambda F, g, x, y: g * F.digamma(x), ("_npx_gammaln", "_sparse_gammaln")),
]


def _unary_forward(fn):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ((isinstance(fn, np.ufunc) or getattr(fn, "writes_out", False))
                    and _reusable(ctx, inputs, 0, x.shape, x.dtype)):
                return [fn(x, out=x)]
            return [np.asarray(fn(x)).astype(x.dtype, copy=False)]
    return forward


def _unary_grads(deriv):
    """(backward kernel, grad_graph) of a unary operator from its derivative."""
    if deriv is None:
        return (lambda attrs, out_grads, inputs, outputs, ctx: [None],
                lambda F, attrs, out_grads, inputs, outputs, ctx: [None])

    def backward(attrs, out_grads, inputs, outputs, ctx):
        (g,), (x,), (y,) = out_grads, inputs, outputs
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return [np.asarray(deriv(NP_MATH, g, x, y)).astype(x.dtype, copy=False)]

    def grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
        return [deriv(F, out_grads[0], inputs[0], outputs[0])]
    return backward, grad_graph


for _name, _fn, _deriv, _aliases in _UNARY:
    _back, _graph = _unary_grads(_deriv)
    declare(_name, *_aliases, infer_shape=same_shape, forward=_unary_forward(_fn),
            backward=_back, grad_graph=_graph)

# ----------------------------------------------------------------------------------------
# add_n: any number of same-shape inputs.


def _add_n_forward(attrs, inputs, ctx):
    x0 = inputs[0]
    out = x0 if _reusable(ctx, inputs, 0, x0.shape, x0.dtype) else x0.copy()
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
    backward=lambda attrs, out_grads, inputs, outputs, ctx: [out_grads[0]] * len(inputs),
)
