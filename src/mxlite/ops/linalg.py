"""Matrix products (dot, batch_dot) and the ``_linalg_*`` family (``mx.nd.linalg``)."""

from __future__ import annotations

import numpy as np

from ._util import (
    BOOL,
    FLOAT,
    INT,
    P,
    assign,
    assign_type,
    axis_of,
    declare,
    fail,
    opt_enum,
    scalar_shape,
    size_of,
)
from .registry import Attrs


def _dot_parts(lhs: tuple, rhs: tuple, ta: bool, tb: bool):
    """MXNet's view of N-D dot: each side is a matrix (rows, cols) of dim groups."""
    def split(s, first_alone):
        if first_alone:
            return (s[:1], s[1:] if len(s) > 1 else (1,))
        return (s[:-1] if len(s) > 1 else (1,), s[-1:])
    return split(lhs, ta), split(rhs, not tb)


def _dot_shape(attrs: Attrs, ins: list, outs: list):
    lhs, rhs = ins
    if lhs is None or rhs is None:
        return ins, outs
    ta, tb = attrs.transpose_a, attrs.transpose_b
    if len(lhs) == 1 and len(rhs) == 1:
        if lhs[0] and rhs[0] and lhs[0] != rhs[0]:
            raise fail(attrs, f"dot shape error: {lhs} X {rhs}")
        assign(attrs, outs, 0, scalar_shape(), ["output"])
        return ins, outs
    L, R = _dot_parts(lhs, rhs, ta, tb)
    lk, rk = size_of(L[not ta]), size_of(R[tb])
    if lk and rk and lk != rk:
        raise fail(attrs, f"dot shape error: lhs {lhs} X rhs {rhs} (transpose_a={ta}, "
                          f"transpose_b={tb})")
    o = (*(L[ta] if len(lhs) > 1 else ()), *(R[not tb] if len(rhs) > 1 else ()))
    assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _dot_forward(attrs, inputs, ctx):
    lhs, rhs = inputs
    ta, tb = attrs.transpose_a, attrs.transpose_b
    if lhs.ndim == 1 and rhs.ndim == 1:
        return [np.asarray(np.dot(lhs, rhs)).reshape(scalar_shape())]
    L, R = _dot_parts(lhs.shape, rhs.shape, ta, tb)
    a = lhs.reshape(size_of(L[0]), size_of(L[1]))
    b = rhs.reshape(size_of(R[0]), size_of(R[1]))
    out = (a.T if ta else a) @ (b.T if tb else b)
    o = (*(L[ta] if lhs.ndim > 1 else ()), *(R[not tb] if rhs.ndim > 1 else ()))
    return [out.reshape(o)]


def _dot_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (lhs, rhs) = out_grads, inputs
    if lhs.ndim == 1 and rhs.ndim == 1:
        s = g.reshape(())
        return [s * rhs, s * lhs]
    ta, tb = attrs.transpose_a, attrs.transpose_b
    L, R = _dot_parts(lhs.shape, rhs.shape, ta, tb)
    a = lhs.reshape(size_of(L[0]), size_of(L[1]))
    b = rhs.reshape(size_of(R[0]), size_of(R[1]))
    a, b = (a.T if ta else a), (b.T if tb else b)  # out = a @ b
    g = g.reshape(a.shape[0], b.shape[1])
    da, db = g @ b.T, a.T @ g
    return [(da.T if ta else da).reshape(lhs.shape), (db.T if tb else db).reshape(rhs.shape)]


_DOT_PARAMS = {"transpose_a": P(BOOL, False), "transpose_b": P(BOOL, False),
               "forward_stype": P(opt_enum("csr", "default", "row_sparse"), None)}

def _dot_csr_lhs(attrs: Attrs, lhs_stype: str) -> bool:
    """dot(csr, w), whose gradient in w MXNet computes row_sparse (dot(csr.T, ograd))."""
    return lhs_stype == "csr" and not attrs.transpose_a and not attrs.transpose_b


def _dot_sparse_grad_rows(attrs, arrays, ins):
    if len(arrays) != 2 or not _dot_csr_lhs(attrs, arrays[0].stype):
        return None
    cols = arrays[0]._aux[1]  # the rows of w the csr reads

    def rows(i: int, stype: str) -> np.ndarray | None:
        return np.unique(cols).astype(np.int64) if i == 1 and stype == "row_sparse" else None

    return rows


declare("dot", "_sparse_dot", params=dict(_DOT_PARAMS), inputs=("lhs", "rhs"),
        infer_shape=_dot_shape, forward=_dot_forward, backward=_dot_backward,
        sparse_grad_rows=_dot_sparse_grad_rows,
        sparse_grad_stypes=lambda attrs, st: [False, _dot_csr_lhs(attrs, st[0])])


def _batch_dot_shape(attrs: Attrs, ins: list, outs: list):
    lhs, rhs = ins
    if lhs is None or rhs is None:
        return ins, outs
    n = len(lhs)
    if n < 3 or len(rhs) != n:
        raise fail(attrs, f"batch_dot needs two N-D arrays with N >= 3, got lhs {lhs} and "
                          f"rhs {rhs}")
    if not lhs[-1] or not rhs[-2]:
        return ins, outs
    if lhs[:-2] != rhs[:-2]:
        raise fail(attrs, f"batch_dot shape error: the leading batch dims of lhs {lhs} and "
                          f"rhs {rhs} must be equal")
    ta, tb = attrs.transpose_a, attrs.transpose_b
    m, lk = (lhs[-1], lhs[-2]) if ta else (lhs[-2], lhs[-1])
    nn, rk = (rhs[-2], rhs[-1]) if tb else (rhs[-1], rhs[-2])
    if lk != rk:
        raise fail(attrs, f"batch_dot shape error: lhs {lhs} X rhs {rhs} (transpose_a={ta}, "
                          f"transpose_b={tb})")
    assign(attrs, outs, 0, (*lhs[:-2], m, nn), ["output"])
    return ins, outs


def _batch_dot_forward(attrs, inputs, ctx):
    a, b = inputs
    if attrs.transpose_a:
        a = np.swapaxes(a, -1, -2)
    if attrs.transpose_b:
        b = np.swapaxes(b, -1, -2)
    return [np.matmul(a, b)]


def _batch_dot_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (lhs, rhs) = out_grads, inputs
    ta, tb = attrs.transpose_a, attrs.transpose_b
    a = np.swapaxes(lhs, -1, -2) if ta else lhs
    b = np.swapaxes(rhs, -1, -2) if tb else rhs  # out = a @ b, batched
    da, db = g @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ g
    return [np.swapaxes(da, -1, -2) if ta else da, np.swapaxes(db, -1, -2) if tb else db]


declare("batch_dot", "_npx_batch_dot", params=dict(_DOT_PARAMS), inputs=("lhs", "rhs"),
        infer_shape=_batch_dot_shape, forward=_batch_dot_forward,
        backward=_batch_dot_backward)



# ----------------------------------------------------------------------------------------
# The _linalg_* family. Every operator works on the last two dims (gemm and gemm2: on ``axis``
# and the last) and treats the leading dims as a batch. Backward follows MXNet's formulas
# (la_op-inl.h, arXiv:1710.08717), quirks included: potrf's gradient is symmetric, trmm's and
# trsm's gradient of A keeps only the triangle the forward read, and det / slogdet give a zero
# gradient where the determinant is zero.


def _checked(forward):
    """``forward`` after the op's shape inference on the actual inputs: imperative calls get
    the same refusals (naming the input or parameter) as a bound graph."""
    def run(attrs, inputs, ctx):
        attrs.op.shapes(attrs, [x.shape for x in inputs])
        return forward(attrs, inputs, ctx)
    return run


def _t(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def _op(x: np.ndarray, trans: bool) -> np.ndarray:
    return _t(x) if trans else x


def _tri(a: np.ndarray, lower: bool) -> np.ndarray:
    """The triangle of ``a`` a LAPACK routine reads (the rest as zeros)."""
    return np.tril(a) if lower else np.triu(a)


def _trmm(a: np.ndarray, b: np.ndarray, alpha: float, right: bool, lower: bool,
          trans: bool) -> np.ndarray:
    t = _op(_tri(a, lower), trans)
    return alpha * (b @ t if right else t @ b)


def _trsm(a: np.ndarray, b: np.ndarray, alpha: float, right: bool, lower: bool,
          trans: bool) -> np.ndarray:
    """X with op(A) X = alpha B, or X op(A) = alpha B when ``right``."""
    t = _op(_tri(a, lower), trans)
    if right:  # X t = B  <=>  t^T X^T = B^T
        return alpha * _t(np.linalg.solve(_t(t), _t(b)))
    return alpha * np.linalg.solve(t, b)


def _copy_ltu(m: np.ndarray, lower: bool = True) -> np.ndarray:
    """A symmetric matrix from one triangle of ``m`` (MXNet's copyLTU; the upper one when not
    ``lower``)."""
    tri = np.tril(m, -1) if lower else np.triu(m, 1)
    return tri + _t(tri) + m * np.eye(m.shape[-1], dtype=m.dtype)


def _inv(attrs: Attrs, a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise fail(attrs, "input matrix A is singular") from None


def _matrix_shape(attrs: Attrs, s: tuple, what: str = "A", square: bool = False) -> None:
    if len(s) < 2:
        raise fail(attrs, f"input {what} of shape {s} must have at least 2 dims (a batch of "
                          "matrices in its last two)")
    if square and s[-1] and s[-2] and s[-1] != s[-2]:
        raise fail(attrs, f"input {what} of shape {s} must hold square matrices")


def _float_type(attrs: Attrs, ins: list, outs: list):
    t = next((x for x in [*ins, *outs[:1]] if x is not None), None)
    if t is not None and t.kind != "f":
        raise fail(attrs, f"inputs must be floating point, got {t}")
    names = attrs.op.list_outputs(attrs)
    for i in range(len(ins)):
        assign_type(attrs, ins, i, t, attrs.op.list_inputs(attrs))
    for i in range(len(outs)):
        assign_type(attrs, outs, i, np.dtype("int32") if names[i] == "pivot" else t, names)
    return ins, outs


# -- gemm, gemm2 --------------------------------------------------------------------------


def _gemm_axis(attrs: Attrs, ndim: int) -> int:
    ax = axis_of(attrs, attrs.axis, ndim)
    if ax == ndim - 1:
        raise fail(attrs, f"axis={attrs.axis} is the column axis; it must name the rows, "
                          "another axis than the last")
    return ax


def _rows_last(s: tuple, ax: int) -> tuple:
    """A shape with the row axis moved next to the last (where the kernels want it)."""
    return (*s[:ax], *s[ax + 1:-1], s[ax], s[-1])


def _rows_back(s: tuple, ax: int) -> tuple:
    return (*s[:ax], s[-2], *s[ax:-2], s[-1])


def _gemm_shape(attrs: Attrs, ins: list, outs: list):
    a, b = ins[0], ins[1]
    names = attrs.op.list_inputs(attrs)
    if a is None or b is None:
        if len(ins) == 3 and ins[2] is not None:
            assign(attrs, outs, 0, ins[2], ["output"])
        return ins, outs
    _matrix_shape(attrs, a, "A")
    _matrix_shape(attrs, b, "B")
    if len(a) != len(b):
        raise fail(attrs, f"A of shape {a} and B of shape {b} must have the same number of "
                          "dims")
    ax = _gemm_axis(attrs, len(a))
    ma, mb = _rows_last(a, ax), _rows_last(b, ax)
    ta, tb = attrs.transpose_a, attrs.transpose_b
    m, k = (ma[-1], ma[-2]) if ta else (ma[-2], ma[-1])
    k2, n = (mb[-1], mb[-2]) if tb else (mb[-2], mb[-1])
    if ma[:-2] != mb[:-2] or (k and k2 and k != k2):
        raise fail(attrs, f"incompatible shapes: A {a} and B {b} (transpose_a={ta}, "
                          f"transpose_b={tb}, axis={attrs.axis})")
    o = _rows_back((*ma[:-2], m, n), ax)
    if len(ins) == 3:
        assign(attrs, ins, 2, o, names)
    assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _gemm_parts(attrs: Attrs, inputs: list) -> tuple[int, list]:
    ax = _gemm_axis(attrs, inputs[0].ndim)
    return ax, [np.moveaxis(x, ax, -2) for x in inputs]


def _gemm_forward(attrs, inputs, ctx):
    ax, (a, b, *c) = _gemm_parts(attrs, inputs)
    out = attrs.alpha * (_op(a, attrs.transpose_a) @ _op(b, attrs.transpose_b))
    if c:
        out = out + attrs.beta * c[0]
    return [np.moveaxis(out, -2, ax).astype(a.dtype, copy=False)]


def _gemm_backward(attrs, out_grads, inputs, outputs, ctx):
    ax, (a, b, *c) = _gemm_parts(attrs, inputs)
    g = np.moveaxis(out_grads[0], ax, -2)
    ta, tb, alpha = attrs.transpose_a, attrs.transpose_b, attrs.alpha
    da = alpha * (_op(b, tb) @ _t(g) if ta else g @ _op(b, not tb))
    db = alpha * (_t(g) @ _op(a, ta) if tb else _op(a, not ta) @ g)
    grads = [da, db] + ([attrs.beta * g] if c else [])
    return [np.moveaxis(x, -2, ax).astype(a.dtype, copy=False) for x in grads]


_GEMM_PARAMS = {"transpose_a": P(BOOL, False), "transpose_b": P(BOOL, False),
                "alpha": P(FLOAT, 1.0)}

declare("_linalg_gemm", "linalg_gemm",
        params={**_GEMM_PARAMS, "beta": P(FLOAT, 1.0), "axis": P(INT, -2)},
        inputs=("A", "B", "C"), infer_shape=_gemm_shape, infer_type=_float_type,
        forward=_checked(_gemm_forward), backward=_gemm_backward)
declare("_linalg_gemm2", "linalg_gemm2", params={**_GEMM_PARAMS, "axis": P(INT, -2)},
        inputs=("A", "B"), infer_shape=_gemm_shape, infer_type=_float_type,
        forward=_checked(_gemm_forward), backward=_gemm_backward)

# -- Cholesky: potrf, potri -----------------------------------------------------------------


def _square_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        _matrix_shape(attrs, ins[0], square=True)
    assign(attrs, outs, 0, ins[0], ["output"])
    assign(attrs, ins, 0, outs[0], ["A"])
    return ins, outs


def _potrf_forward(attrs, inputs, ctx):
    (a,) = inputs
    lower = attrs.lower
    try:  # numpy reads the lower triangle; the upper factor is the lower one of A^T
        low = np.linalg.cholesky(a if lower else _t(a))
    except np.linalg.LinAlgError:
        raise fail(attrs, "input matrix A is not symmetric positive definite: the Cholesky "
                          "factorization failed") from None
    return [(low if lower else _t(low)).astype(a.dtype, copy=False)]


def _potrf_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (b,) = out_grads, outputs
    lower = attrs.lower
    m = _trmm(b, g, 1.0, not lower, lower, True)
    m = _copy_ltu(m, lower)
    m = _trsm(b, m, 1.0, False, lower, lower)
    return [_trsm(b, m, 0.5, True, lower, not lower).astype(b.dtype, copy=False)]


def _potri_forward(attrs, inputs, ctx):
    (b,) = inputs
    inv = _inv(attrs, _tri(b, attrs.lower))
    out = _t(inv) @ inv if attrs.lower else inv @ _t(inv)
    return [out.astype(b.dtype, copy=False)]


def _potri_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (b,), (a,) = out_grads, inputs, outputs
    lower = attrs.lower
    m = a @ g + a @ _t(g) if lower else g @ a + _t(g) @ a
    db = _tri(_trsm(b, m, -1.0, lower, lower, True), lower)
    return [db.astype(b.dtype, copy=False)]


# MXNet parses ``lower`` for both, though its generated documentation omits it.
_LOWER = {"lower": P(BOOL, True)}
declare("_linalg_potrf", "linalg_potrf", params=dict(_LOWER), inputs=("A",),
        infer_shape=_square_shape, infer_type=_float_type, forward=_checked(_potrf_forward),
        backward=_potrf_backward)
declare("_linalg_potri", "linalg_potri", params=dict(_LOWER), inputs=("A",),
        infer_shape=_square_shape, infer_type=_float_type, forward=_checked(_potri_forward),
        backward=_potri_backward)

# -- triangular products and solves: trmm, trsm ----------------------------------------------


def _trian_shape(attrs: Attrs, ins: list, outs: list):
    a, b = ins
    if a is not None:
        _matrix_shape(attrs, a, square=True)
    if b is not None:
        _matrix_shape(attrs, b, "B")
        assign(attrs, outs, 0, b, ["output"])
    if a is not None and b is not None:
        k = b[-1] if attrs.rightside else b[-2]
        if len(a) != len(b) or a[:-2] != b[:-2] or (k and a[-1] and k != a[-1]):
            raise fail(attrs, f"incompatible shapes: A {a} and B {b} (rightside="
                              f"{attrs.rightside})")
    assign(attrs, ins, 1, outs[0], ["A", "B"])
    return ins, outs


def _trmm_forward(attrs, inputs, ctx):
    a, b = inputs
    out = _trmm(a, b, attrs.alpha, attrs.rightside, attrs.lower, attrs.transpose)
    return [out.astype(b.dtype, copy=False)]


def _trmm_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a, b) = out_grads, inputs
    tr, alpha = attrs.transpose, attrs.alpha
    if attrs.rightside == tr:
        da = alpha * (_op(g, tr) @ _op(b, not tr))
    else:
        da = alpha * (_op(b, not tr) @ _op(g, tr))
    db = _trmm(a, g, alpha, attrs.rightside, attrs.lower, not tr)
    return [_tri(da, attrs.lower).astype(a.dtype, copy=False), db.astype(b.dtype, copy=False)]


def _trsm_forward(attrs, inputs, ctx):
    a, b = inputs
    out = _trsm(a, b, attrs.alpha, attrs.rightside, attrs.lower, attrs.transpose)
    return [out.astype(b.dtype, copy=False)]


def _trsm_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a, b), (c,) = out_grads, inputs, outputs
    tr = attrs.transpose
    db = _trsm(a, g, attrs.alpha, attrs.rightside, attrs.lower, not tr)
    scale = -1.0 / attrs.alpha
    if attrs.rightside == tr:
        da = scale * (_op(db, tr) @ _op(c, not tr))
    else:
        da = scale * (_op(c, not tr) @ _op(db, tr))
    return [_tri(da, attrs.lower).astype(a.dtype, copy=False), db.astype(b.dtype, copy=False)]


_TRIAN_PARAMS = {"transpose": P(BOOL, False), "rightside": P(BOOL, False),
                 "lower": P(BOOL, True), "alpha": P(FLOAT, 1.0)}
declare("_linalg_trmm", "linalg_trmm", params=dict(_TRIAN_PARAMS), inputs=("A", "B"),
        infer_shape=_trian_shape, infer_type=_float_type, forward=_checked(_trmm_forward),
        backward=_trmm_backward)
declare("_linalg_trsm", "linalg_trsm", params=dict(_TRIAN_PARAMS), inputs=("A", "B"),
        infer_shape=_trian_shape, infer_type=_float_type, forward=_checked(_trsm_forward),
        backward=_trsm_backward)

# -- syrk, gelqf, syevd ---------------------------------------------------------------------


def _syrk_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a)
        n = a[-1] if attrs.transpose else a[-2]
        assign(attrs, outs, 0, (*a[:-2], n, n), ["output"])
    return ins, outs


def _syrk_forward(attrs, inputs, ctx):
    (a,) = inputs
    out = _t(a) @ a if attrs.transpose else a @ _t(a)
    return [(attrs.alpha * out).astype(a.dtype, copy=False)]


def _syrk_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a,) = out_grads, inputs
    da = a @ (g + _t(g)) if attrs.transpose else (g + _t(g)) @ a
    return [(attrs.alpha * da).astype(a.dtype, copy=False)]


declare("_linalg_syrk", "linalg_syrk",
        params={"transpose": P(BOOL, False), "alpha": P(FLOAT, 1.0)}, inputs=("A",),
        infer_shape=_syrk_shape, infer_type=_float_type, forward=_checked(_syrk_forward),
        backward=_syrk_backward)


def _gelqf_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a)
        m, n = a[-2:]
        if m and n and m > n:
            raise fail(attrs, f"input A of shape {a}: the LQ factorization needs rows <= "
                              "columns")
        assign(attrs, outs, 0, a, ["output0", "output1"])
        assign(attrs, outs, 1, (*a[:-2], m, m), ["output0", "output1"])
    return ins, outs


def _gelqf_forward(attrs, inputs, ctx):
    (a,) = inputs
    if a.shape[-2] > a.shape[-1]:
        raise fail(attrs, f"input A of shape {a.shape}: the LQ factorization needs rows <= "
                          "columns")
    # LAPACK's Householder QR of A^T is the LQ factorization of A: A = R^T Q^T.
    q, r = np.linalg.qr(_t(a))
    return [_t(q).astype(a.dtype), _t(r).astype(a.dtype)]


def _gelqf_backward(attrs, out_grads, inputs, outputs, ctx):
    (dq, dl), (q, low) = out_grads, outputs
    m = _t(low) @ dl - dq @ _t(q)
    da = _trsm(low, dq + _copy_ltu(m) @ q, 1.0, False, True, True)
    return [da.astype(q.dtype, copy=False)]


declare("_linalg_gelqf", "linalg_gelqf", inputs=("A",), outputs=("output0", "output1"),
        infer_shape=_gelqf_shape, infer_type=_float_type, forward=_checked(_gelqf_forward),
        backward=_gelqf_backward)


def _syevd_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a, square=True)
        assign(attrs, outs, 0, a, ["output0", "output1"])
        assign(attrs, outs, 1, a[:-1], ["output0", "output1"])
    return ins, outs


def _syevd_forward(attrs, inputs, ctx):
    (a,) = inputs
    w, v = np.linalg.eigh(a, UPLO="L")
    u = _t(v)
    # MXNet's sign convention: each row's entry of largest magnitude (the first of ties) is
    # positive.
    k = np.abs(u).argmax(axis=-1)[..., None]
    u = u * np.where(np.take_along_axis(u, k, axis=-1) < 0, -1, 1)
    return [u.astype(a.dtype), w.astype(a.dtype)]


def _syevd_backward(attrs, out_grads, inputs, outputs, ctx):
    (du, dl), (u, lam) = out_grads, outputs
    x = du @ _t(u)
    eps = 1e-100 if u.dtype == np.float64 else 1e-30
    denom = 2 * np.maximum(lam[..., :, None] - lam[..., None, :], eps)
    y = np.tril((x - _t(x)) / denom, -1)
    y = y + _t(y) + dl[..., None] * np.eye(u.shape[-1], dtype=u.dtype)
    return [(_t(u) @ y @ u).astype(u.dtype, copy=False)]


declare("_linalg_syevd", inputs=("A",), outputs=("output0", "output1"),
        infer_shape=_syevd_shape, infer_type=_float_type, forward=_checked(_syevd_forward),
        backward=_syevd_backward)

# -- diagonals and triangles ----------------------------------------------------------------


def _batch_shape(attrs: Attrs, ins: list, outs: list):
    """Square matrices in, one number per matrix out (``(1,)`` for a single matrix)."""
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a, square=True)
        names = attrs.op.list_outputs(attrs)
        o = a[:-2] or scalar_shape()
        for i, n in enumerate(names):
            s = {"LU": a, "pivot": a[:-1]}.get(n, o)
            assign(attrs, outs, i, s, names)
    return ins, outs


def _batch_out(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    return x.reshape(a.shape[:-2] or scalar_shape()).astype(a.dtype, copy=False)


def _sumlogdiag_forward(attrs, inputs, ctx):
    (a,) = inputs
    with np.errstate(divide="ignore", invalid="ignore"):
        return [_batch_out(np.log(np.diagonal(a, axis1=-2, axis2=-1)).sum(-1), a)]


def _sumlogdiag_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a,) = out_grads, inputs
    d = g.reshape(a.shape[:-2])[..., None] / np.diagonal(a, axis1=-2, axis2=-1)
    return [(d[..., None] * np.eye(a.shape[-1], dtype=a.dtype)).astype(a.dtype, copy=False)]


declare("_linalg_sumlogdiag", "linalg_sumlogdiag", inputs=("A",),
        infer_shape=_batch_shape, infer_type=_float_type, forward=_checked(_sumlogdiag_forward),
        backward=_sumlogdiag_backward)


def _diag_index(attrs: Attrs, n: int) -> tuple[np.ndarray, np.ndarray]:
    k = attrs.offset
    if abs(k) >= n:
        raise fail(attrs, f"offset={k} is out of range for {n}x{n} matrices")
    i = np.arange(n - abs(k))
    return (i, i + k) if k >= 0 else (i - k, i)


def _extractdiag_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a, square=True)
        if a[-1]:
            r, _ = _diag_index(attrs, a[-1])
            assign(attrs, outs, 0, (*a[:-2], r.size), ["output"])
    return ins, outs


def _extractdiag_forward(attrs, inputs, ctx):
    (a,) = inputs
    r, c = _diag_index(attrs, a.shape[-1])
    return [a[..., r, c].copy()]


def _makediag(attrs: Attrs, d: np.ndarray) -> np.ndarray:
    n = d.shape[-1] + abs(attrs.offset)
    out = np.zeros((*d.shape[:-1], n, n), d.dtype)
    r, c = _diag_index(attrs, n)
    out[..., r, c] = d
    return out


def _extractdiag_backward(attrs, out_grads, inputs, outputs, ctx):
    return [_makediag(attrs, out_grads[0])]


declare("_linalg_extractdiag", "linalg_extractdiag", params={"offset": P(INT, 0)},
        inputs=("A",), infer_shape=_extractdiag_shape, infer_type=_float_type,
        forward=_checked(_extractdiag_forward), backward=_extractdiag_backward)


def _makediag_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        if len(a) < 1:
            raise fail(attrs, f"input A of shape {a} must have at least 1 dim")
        if a[-1]:
            n = a[-1] + abs(attrs.offset)
            assign(attrs, outs, 0, (*a[:-1], n, n), ["output"])
    return ins, outs


def _makediag_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,) = out_grads
    r, c = _diag_index(attrs, g.shape[-1])
    return [g[..., r, c].copy()]


declare("_linalg_makediag", "linalg_makediag", params={"offset": P(INT, 0)},
        inputs=("A",), infer_shape=_makediag_shape, infer_type=_float_type,
        forward=_checked(lambda attrs, inputs, ctx: [_makediag(attrs, inputs[0])]),
        backward=_makediag_backward)


def _trian_index(attrs: Attrs, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the triangle in MXNet's packed order: the lower triangle row by row;
    the upper one (offset > 0, or 0 with lower=False) column by column."""
    k = attrs.offset
    if abs(k) >= n:
        raise fail(attrs, f"offset={k} is out of range for {n}x{n} matrices")
    r, c = np.tril_indices(n - abs(k))
    if k > 0 or (k == 0 and not attrs.lower):
        return c, r + abs(k)
    return r + abs(k), c


def _extracttrian_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        _matrix_shape(attrs, a, square=True)
        if a[-1]:
            r, _ = _trian_index(attrs, a[-1])
            assign(attrs, outs, 0, (*a[:-2], r.size), ["output"])
    return ins, outs


def _extracttrian_forward(attrs, inputs, ctx):
    (a,) = inputs
    r, c = _trian_index(attrs, a.shape[-1])
    return [a[..., r, c].copy()]


def _trian_side(attrs: Attrs, m: int) -> int:
    """The matrix size n for a packed triangle of ``m`` values."""
    t = int((np.sqrt(8 * m + 1) - 1) / 2)
    if t * (t + 1) // 2 != m:
        raise fail(attrs, f"the last dim of A ({m}) is not a triangular number")
    return t + abs(attrs.offset)


def _maketrian(attrs: Attrs, d: np.ndarray) -> np.ndarray:
    n = _trian_side(attrs, d.shape[-1])
    out = np.zeros((*d.shape[:-1], n, n), d.dtype)
    r, c = _trian_index(attrs, n)
    out[..., r, c] = d
    return out


def _maketrian_shape(attrs: Attrs, ins: list, outs: list):
    a = ins[0]
    if a is not None:
        if len(a) < 1:
            raise fail(attrs, f"input A of shape {a} must have at least 1 dim")
        if a[-1]:
            n = _trian_side(attrs, a[-1])
            assign(attrs, outs, 0, (*a[:-1], n, n), ["output"])
    return ins, outs


def _maketrian_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,) = out_grads
    r, c = _trian_index(attrs, g.shape[-1])
    return [g[..., r, c].copy()]


_TRIAN = {"offset": P(INT, 0), "lower": P(BOOL, True)}
declare("_linalg_extracttrian", "linalg_extracttrian", params=dict(_TRIAN), inputs=("A",),
        infer_shape=_extracttrian_shape, infer_type=_float_type,
        forward=_checked(_extracttrian_forward),
        backward=lambda attrs, og, inputs, outputs, ctx: [_maketrian(attrs, og[0])])
declare("_linalg_maketrian", "linalg_maketrian", params=dict(_TRIAN), inputs=("A",),
        infer_shape=_maketrian_shape, infer_type=_float_type,
        forward=_checked(lambda attrs, inputs, ctx: [_maketrian(attrs, inputs[0])]),
        backward=_maketrian_backward)

# -- inverse, det, slogdet ------------------------------------------------------------------


def _inverse_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (a,) = out_grads, outputs  # a = inverse(B)
    return [(-_t(a) @ g @ _t(a)).astype(a.dtype, copy=False)]


declare("_linalg_inverse", "linalg_inverse", "_npi_inv", inputs=("A",), infer_shape=_square_shape,
        infer_type=_float_type,
        forward=_checked(lambda attrs, inputs, ctx: [
            _inv(attrs, inputs[0]).astype(inputs[0].dtype, copy=False)]),
        backward=_inverse_backward)


def _lu(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batched LU with partial pivoting, as LAPACK's getrf on the column-major view (A^T):
    (LU, 1-based pivots as int32, sign of det, log |det|)."""
    lu = _t(a).astype(np.float64)
    n = lu.shape[-1]
    batch = lu.reshape(-1, n, n).copy()
    rows = np.arange(batch.shape[0])
    piv = np.zeros((batch.shape[0], n), np.int32)
    for j in range(n):
        p = j + np.abs(batch[:, j:, j]).argmax(axis=1)
        piv[:, j] = p + 1
        tmp = batch[rows, j].copy()
        batch[rows, j] = batch[rows, p]
        batch[rows, p] = tmp
        d = batch[:, j, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(d[:, None] != 0, batch[:, j + 1:, j] / d[:, None], 0.0)
        batch[:, j + 1:, j] = f
        batch[:, j + 1:, j + 1:] -= f[:, :, None] * batch[:, j, None, j + 1:]
    diag = np.diagonal(batch, axis1=-2, axis2=-1)
    swaps = (piv != np.arange(1, n + 1)).sum(-1)
    sign = np.where(swaps % 2 == 1, -1.0, 1.0) * np.prod(np.sign(diag), axis=-1)
    with np.errstate(divide="ignore"):
        logabs = np.log(np.abs(diag)).sum(-1)
    shape = a.shape[:-2]
    return (_t(batch.reshape(a.shape)), piv.reshape((*shape, n)), sign.reshape(shape),
            logabs.reshape(shape))


def _det_forward(attrs, inputs, ctx):
    (a,) = inputs
    lu, piv, sign, logabs = _lu(a)
    det = sign * np.exp(logabs)
    return [_batch_out(det, a), lu.astype(a.dtype), piv]


def _slogdet_forward(attrs, inputs, ctx):
    (a,) = inputs
    lu, piv, sign, logabs = _lu(a)
    return [_batch_out(sign, a), _batch_out(logabs, a), lu.astype(a.dtype), piv]


def _inv_t_where(a: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """scale * A^-T per matrix, zero for the matrices flagged (singular ones)."""
    inv = np.zeros_like(a)
    ok = ~zero.reshape(a.shape[:-2])
    inv[ok] = np.linalg.inv(a[ok])
    return (scale.reshape((*a.shape[:-2], 1, 1)) * _t(inv)).astype(a.dtype, copy=False)


def _det_backward(attrs, out_grads, inputs, outputs, ctx):
    (a,), g, det = inputs, out_grads[0], outputs[0]
    return [_inv_t_where(a, det * g, det == 0)]


def _slogdet_backward(attrs, out_grads, inputs, outputs, ctx):
    (a,), g, logabs = inputs, out_grads[1], outputs[1]
    return [_inv_t_where(a, g, np.isneginf(logabs))]


declare("_linalg_det", "linalg_det", "_npi_det", inputs=("A",), outputs=("output0", "LU", "pivot"),
        num_visible_outputs=1, infer_shape=_batch_shape, infer_type=_float_type,
        forward=_checked(_det_forward), backward=_det_backward)
declare("_linalg_slogdet", "linalg_slogdet", "_npi_slogdet", inputs=("A",),
        outputs=("output0", "output1", "LU", "pivot"), num_visible_outputs=2,
        infer_shape=_batch_shape, infer_type=_float_type, forward=_checked(_slogdet_forward),
        backward=_slogdet_backward)
