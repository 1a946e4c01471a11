"""Matrix products: dot and batch_dot."""

from __future__ import annotations

import numpy as np

from ._util import BOOL, P, assign, declare, fail, opt_enum, scalar_shape, size_of
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

declare("dot", "_sparse_dot", params=dict(_DOT_PARAMS), inputs=("lhs", "rhs"),
        infer_shape=_dot_shape, forward=_dot_forward, backward=_dot_backward)


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
