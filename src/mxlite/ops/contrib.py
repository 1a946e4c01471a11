"""Small ``_contrib_*`` operators (``mx.nd.contrib``): the interleaved attention products, index
and mask helpers, straight-through estimators; ``_ravel_multi_index`` / ``_unravel_index``;
and MXNet's legacy ``*_v1`` layers, which run the current layers' kernels from ops/nn.py.

``_contrib_boolean_mask``'s output shape depends on the values of its ``index`` input: it runs
imperatively (``mx.nd.contrib.boolean_mask``, also under autograd), but a graph cannot bind it
statically, so its shape inference refuses with a message saying so (and naming the node).
"""

from __future__ import annotations

import math

import numpy as np

from . import registry
from ._util import (
    BOOL,
    F32,
    FLOAT,
    INT,
    OPT_INT,
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
    scalar_shape,
)
from .nn import (
    _EMB_DTYPES,
    _conv_backward,
    _conv_forward,
    _conv_params,
    _conv_shape,
    _embedding_backward,
    _embedding_forward,
    _embedding_shape,
    _embedding_type,
    _weighted_inputs,
    embedding_sparse_grad_rows,
    embedding_sparse_grad_stypes,
)
from .registry import Attrs, same_shape

I64 = np.dtype("int64")


def _zero_gradients(attrs, out_grads, inputs, outputs, ctx):
    """MXNet's MakeZeroGradNodes: every input gets a zero gradient."""
    return [np.zeros_like(x) for x in inputs]


# ----------------------------------------------------------------------------------------
# Interleaved multi-head attention (GluonNLP's fused BERT/Transformer layers). Projections
# are interleaved per head: the last dim of ``queries_keys_values`` is (heads, 3, head_dim),
# of ``keys_values`` (heads, 2, head_dim); the attention scores are (batch * heads, q, k).


def _heads_split(attrs: Attrs, s: tuple, parts: int, what: str) -> int:
    """The head dim of an input (seq, batch, heads * parts * head_dim)."""
    if len(s) != 3:
        raise fail(attrs, f"input {what} of shape {s} must have 3 dims (seq_length, "
                          "batch_size, projections)")
    h = attrs.heads
    if h <= 0:
        raise fail(attrs, f"heads={h} must be positive")
    if s[2] and s[2] % (h * parts):
        raise fail(attrs, f"the last dim of {what} ({s[2]}) must divide by heads * {parts} = "
                          f"{h * parts}")
    return s[2] // (h * parts)


def _split(attrs: Attrs, x: np.ndarray, parts: int) -> np.ndarray:
    """(seq, batch, heads * parts * d) -> (seq, batch, heads, parts, d)."""
    s, b, _ = x.shape
    return x.reshape(s, b, attrs.heads, parts, -1)


def _scores(attrs: Attrs, g: np.ndarray) -> np.ndarray:
    """Attention scores (batch * heads, q, k) as (batch, heads, q, k)."""
    return g.reshape(-1, attrs.heads, *g.shape[1:])


def _selfatt_qk_shape(attrs: Attrs, ins: list, outs: list):
    s = ins[0]
    if s is not None:
        _heads_split(attrs, s, 3, "queries_keys_values")
        assign(attrs, outs, 0, (s[1] * attrs.heads, s[0], s[0]), ["output"])
    return ins, outs


def _selfatt_qk_forward(attrs, inputs, ctx):
    x = _split(attrs, inputs[0], 3)
    q, k = x[..., 0, :], x[..., 1, :]
    out = np.einsum("ibhd,jbhd->bhij", q / math.sqrt(q.shape[-1]), k)
    return [out.reshape(-1, *out.shape[2:]).astype(inputs[0].dtype, copy=False)]


def _selfatt_qk_backward(attrs, out_grads, inputs, outputs, ctx):
    x = _split(attrs, inputs[0], 3)
    q, k = x[..., 0, :], x[..., 1, :]
    g = _scores(attrs, out_grads[0]) / math.sqrt(q.shape[-1])
    dx = np.zeros_like(x)
    dx[..., 0, :] = np.einsum("bhij,jbhd->ibhd", g, k)
    dx[..., 1, :] = np.einsum("bhij,ibhd->jbhd", g, q)
    return [dx.reshape(inputs[0].shape)]


def _selfatt_valatt_shape(attrs: Attrs, ins: list, outs: list):
    s, a = ins
    if s is not None:
        d = _heads_split(attrs, s, 3, "queries_keys_values")
        assign(attrs, ins, 1, (s[1] * attrs.heads, s[0], s[0]), ["queries_keys_values",
                                                                  "attention"])
        assign(attrs, outs, 0, (s[0], s[1], attrs.heads * d), ["output"])
    elif a is not None and len(a) != 3:
        raise fail(attrs, f"attention of shape {a} must have 3 dims")
    return ins, outs


def _valatt(attrs: Attrs, att: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.einsum("bhij,jbhd->ibhd", _scores(attrs, att), v)
    return out.reshape(*out.shape[:2], -1)


def _valatt_grads(attrs: Attrs, g: np.ndarray, att: np.ndarray, v: np.ndarray):
    """(d attention, d v) for out = att @ v per head."""
    g = g.reshape(*g.shape[:2], attrs.heads, -1)
    datt = np.einsum("ibhd,jbhd->bhij", g, v)
    dv = np.einsum("bhij,ibhd->jbhd", _scores(attrs, att), g)
    return datt.reshape(att.shape), dv


def _selfatt_valatt_forward(attrs, inputs, ctx):
    qkv, att = inputs
    v = _split(attrs, qkv, 3)[..., 2, :]
    return [_valatt(attrs, att, v).astype(qkv.dtype, copy=False)]


def _selfatt_valatt_backward(attrs, out_grads, inputs, outputs, ctx):
    qkv, att = inputs
    x = _split(attrs, qkv, 3)
    datt, dv = _valatt_grads(attrs, out_grads[0], att, x[..., 2, :])
    dx = np.zeros_like(x)
    dx[..., 2, :] = dv
    return [dx.reshape(qkv.shape), datt.astype(att.dtype, copy=False)]


def _encdec_qk_shape(attrs: Attrs, ins: list, outs: list):
    q, kv = ins
    if q is not None:
        _heads_split(attrs, q, 1, "queries")
    if kv is not None:
        _heads_split(attrs, kv, 2, "keys_values")
    if q is not None and kv is not None:
        if q[1] != kv[1] or q[2] * 2 != kv[2]:
            raise fail(attrs, f"queries of shape {q} and keys_values of shape {kv} do not "
                              "match: same batch, and keys_values twice the projections")
        assign(attrs, outs, 0, (q[1] * attrs.heads, q[0], kv[0]), ["output"])
    return ins, outs


def _encdec_qk_forward(attrs, inputs, ctx):
    q = _split(attrs, inputs[0], 1)[..., 0, :]
    k = _split(attrs, inputs[1], 2)[..., 0, :]
    out = np.einsum("ibhd,jbhd->bhij", q / math.sqrt(q.shape[-1]), k)
    return [out.reshape(-1, *out.shape[2:]).astype(inputs[0].dtype, copy=False)]


def _encdec_qk_backward(attrs, out_grads, inputs, outputs, ctx):
    q = _split(attrs, inputs[0], 1)[..., 0, :]
    kv = _split(attrs, inputs[1], 2)
    g = _scores(attrs, out_grads[0]) / math.sqrt(q.shape[-1])
    dq = np.einsum("bhij,jbhd->ibhd", g, kv[..., 0, :])
    dkv = np.zeros_like(kv)
    dkv[..., 0, :] = np.einsum("bhij,ibhd->jbhd", g, q)
    return [dq.reshape(inputs[0].shape), dkv.reshape(inputs[1].shape)]


def _encdec_valatt_shape(attrs: Attrs, ins: list, outs: list):
    kv, a = ins
    if kv is not None:
        d = _heads_split(attrs, kv, 2, "keys_values")
        if a is not None:
            if len(a) != 3:
                raise fail(attrs, f"attention of shape {a} must have 3 dims")
            assign(attrs, outs, 0, (a[1], kv[1], attrs.heads * d), ["output"])
    return ins, outs


def _encdec_valatt_forward(attrs, inputs, ctx):
    kv, att = inputs
    v = _split(attrs, kv, 2)[..., 1, :]
    return [_valatt(attrs, att, v).astype(kv.dtype, copy=False)]


def _encdec_valatt_backward(attrs, out_grads, inputs, outputs, ctx):
    kv, att = inputs
    x = _split(attrs, kv, 2)
    datt, dv = _valatt_grads(attrs, out_grads[0], att, x[..., 1, :])
    dkv = np.zeros_like(x)
    dkv[..., 1, :] = dv
    return [dkv.reshape(kv.shape), datt.astype(att.dtype, copy=False)]


def _checked(forward):
    """``forward`` after the op's shape inference on the actual inputs (imperative calls get a
    graph's refusals)."""
    def run(attrs, inputs, ctx):
        attrs.op.shapes(attrs, [x.shape for x in inputs])
        return forward(attrs, inputs, ctx)
    return run


_HEADS = {"heads": P(INT)}
declare("_contrib_interleaved_matmul_selfatt_qk", params=dict(_HEADS),
        inputs=("queries_keys_values",), infer_shape=_selfatt_qk_shape,
        forward=_checked(_selfatt_qk_forward), backward=_selfatt_qk_backward)
declare("_contrib_interleaved_matmul_selfatt_valatt", params=dict(_HEADS),
        inputs=("queries_keys_values", "attention"), infer_shape=_selfatt_valatt_shape,
        forward=_checked(_selfatt_valatt_forward), backward=_selfatt_valatt_backward)
declare("_contrib_interleaved_matmul_encdec_qk", params=dict(_HEADS),
        inputs=("queries", "keys_values"), infer_shape=_encdec_qk_shape,
        forward=_checked(_encdec_qk_forward), backward=_encdec_qk_backward)
declare("_contrib_interleaved_matmul_encdec_valatt", params=dict(_HEADS),
        inputs=("keys_values", "attention"), infer_shape=_encdec_valatt_shape,
        forward=_checked(_encdec_valatt_forward), backward=_encdec_valatt_backward)


def _div_sqrt_dim_scale(x: np.ndarray) -> float:
    return 1.0 / math.sqrt(x.shape[-1]) if x.ndim else 1.0


declare("_contrib_div_sqrt_dim", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [
            (inputs[0] * _div_sqrt_dim_scale(inputs[0])).astype(inputs[0].dtype, copy=False)],
        backward=lambda attrs, og, inputs, outputs, ctx: [
            (og[0] * _div_sqrt_dim_scale(inputs[0])).astype(inputs[0].dtype, copy=False)])

# ----------------------------------------------------------------------------------------
# Index helpers.


def _arange_like_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        if attrs.axis is None:
            assign(attrs, outs, 0, d, ["output"])
        else:
            ax = axis_of(attrs, attrs.axis, len(d))
            assign(attrs, outs, 0, (d[ax],), ["output"])
    return ins, outs


def _arange_like_forward(attrs, inputs, ctx):
    (x,) = inputs
    if attrs.repeat < 1:
        raise fail(attrs, f"repeat={attrs.repeat} must be positive")
    shape = x.shape if attrs.axis is None else (x.shape[axis_of(attrs, attrs.axis, x.ndim)],)
    n = math.prod(shape)
    vals = attrs.start + attrs.step * (np.arange(n, dtype=np.float64) // attrs.repeat)
    return [vals.reshape(shape).astype(x.dtype)]


declare("_contrib_arange_like", "_npx_arange_like",
        params={"start": P(FLOAT, 0.0), "step": P(FLOAT, 1.0), "repeat": P(INT, 1),
                "ctx": P(STR, ""), "axis": P(OPT_INT, None)},
        infer_shape=_arange_like_shape, forward=_arange_like_forward,
        backward=_zero_gradients)


def _index_array_axes(attrs: Attrs, ndim: int) -> list[int]:
    if attrs.axes is None:
        return list(range(ndim))
    return [axis_of(attrs, a, ndim, "axes") for a in attrs.axes]


def _index_array_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        assign(attrs, outs, 0, (*d, len(_index_array_axes(attrs, len(d)))), ["output"])
    return ins, outs


def _index_array_forward(attrs, inputs, ctx):
    (x,) = inputs
    grid = np.indices(x.shape, dtype=I64)  # (ndim, *shape): index along each axis
    # indexed by the axes' list and moved last; a 0-d input selects no axes, shape (0,)
    return [np.moveaxis(grid[_index_array_axes(attrs, x.ndim)], 0, -1)]


declare("_contrib_index_array", params={"axes": P(OPT_SHAPE, None)},
        infer_shape=_index_array_shape,
        infer_type=lambda attrs, ins, outs: (ins, [I64]),
        forward=_index_array_forward, backward=_zero_gradients)


def _index_rows(attrs: Attrs, index: np.ndarray, n: int, what: str) -> np.ndarray:
    idx = index.reshape(-1).astype(np.int64)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise fail(attrs, f"{what} holds {idx[bad][0]}, out of range for {n} rows")
    return idx


def _index_copy_shape(attrs: Attrs, ins: list, outs: list):
    old, idx, new = ins
    names = attrs.op.list_inputs(attrs)
    if idx is not None and len(idx) != 1:
        raise fail(attrs, f"index_vector of shape {idx} must be 1-D")
    if old is not None and new is not None:
        if len(old) != len(new) or old[1:] != new[1:]:
            raise fail(attrs, f"new_tensor of shape {new} must be old_tensor's {old} but for "
                              "its first dim")
    if new is not None:
        assign(attrs, ins, 1, new[:1], names)
    assign(attrs, outs, 0, old, ["output"])
    return ins, outs


def _index_copy_type(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    t = ins[0] if ins[0] is not None else ins[2]
    assign_type(attrs, ins, 0, t, names)
    assign_type(attrs, ins, 2, t, names)
    assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _index_copy_forward(attrs, inputs, ctx):
    old, index, new = inputs
    out = old.copy()
    out[_index_rows(attrs, index, old.shape[0], "index_vector")] = new
    return [out]


def _index_copy_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (old, index, new) = out_grads, inputs
    idx = _index_rows(attrs, index, old.shape[0], "index_vector")
    d_old = g.copy()
    d_old[idx] = 0
    return [d_old, np.zeros_like(index), g[idx].astype(new.dtype, copy=False)]


declare("_contrib_index_copy", inputs=("old_tensor", "index_vector", "new_tensor"),
        infer_shape=_index_copy_shape, infer_type=_index_copy_type,
        forward=_checked(_index_copy_forward), backward=_index_copy_backward)


def _boolean_mask_shape(attrs: Attrs, ins: list, outs: list):
    d, idx = ins
    if attrs.axis != 0:
        raise fail(attrs, f"axis={attrs.axis}: only axis 0 is supported (as in MXNet)")
    if d is not None:
        if idx is not None and (len(idx) != 1 or (idx[0] and d[0] and idx[0] != d[0])):
            raise fail(attrs, f"index of shape {idx} must be 1-D with one entry per row of "
                              f"data {d}")
        raise fail(attrs, "the output shape depends on the values of input 'index' (how many "
                          "rows it keeps): it has no static shape. Run boolean_mask "
                          "imperatively (mx.nd.contrib.boolean_mask) instead of binding it in "
                          "a graph")
    return ins, outs


def _boolean_mask_type(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, ins[0], ["output"])
    return ins, outs


def _boolean_mask_rows(attrs: Attrs, data: np.ndarray, index: np.ndarray) -> np.ndarray:
    if attrs.axis != 0:
        raise fail(attrs, f"axis={attrs.axis}: only axis 0 is supported (as in MXNet)")
    if index.ndim != 1 or index.shape[0] != data.shape[0]:
        raise fail(attrs, f"index of shape {index.shape} must be 1-D with one entry per row "
                          f"of data {data.shape}")
    return np.flatnonzero(index)


def _boolean_mask_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (data, index) = out_grads, inputs
    dx = np.zeros_like(data)
    dx[_boolean_mask_rows(attrs, data, index)] = g
    return [dx, np.zeros_like(index)]


declare("_contrib_boolean_mask", "_npi_boolean_mask", params={"axis": P(INT, 0)},
        inputs=("data", "index"), infer_shape=_boolean_mask_shape,
        infer_type=_boolean_mask_type,
        forward=lambda attrs, inputs, ctx: [
            inputs[0][_boolean_mask_rows(attrs, inputs[0], inputs[1])]],
        backward=_boolean_mask_backward)


def _ravel_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if attrs.shape is None:
        raise fail(attrs, "parameter 'shape' (the shape indexed into) is required")
    if d is not None:
        if not d or (d[0] and d[0] != len(attrs.shape)):
            raise fail(attrs, f"data of shape {d} must hold {len(attrs.shape)} rows of "
                              f"indices, one per dim of shape={attrs.shape}")
        assign(attrs, outs, 0, d[1:] or scalar_shape(), ["output"])
    return ins, outs


def _ravel_forward(attrs, inputs, ctx):
    (x,) = inputs
    _ravel_shape(attrs, [x.shape], [None])
    strides = np.cumprod((*attrs.shape[1:], 1)[::-1])[::-1]
    flat = np.tensordot(strides.astype(np.int64), x.astype(np.int64), axes=1)
    return [np.asarray(flat).astype(x.dtype)]


def _unravel_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if attrs.shape is None:
        raise fail(attrs, "parameter 'shape' (the shape indexed into) is required")
    if d is not None:
        assign(attrs, outs, 0, (len(attrs.shape), *d), ["output"])
    return ins, outs


def _unravel_forward(attrs, inputs, ctx):
    (x,) = inputs
    _unravel_shape(attrs, [x.shape], [None])
    idx = x.astype(np.int64)
    out = np.empty((len(attrs.shape), *x.shape), np.int64)
    # MXNet's C arithmetic: truncating division and remainder, the first dim takes what is
    # left (an index past the end is not wrapped there).
    for j in range(len(attrs.shape) - 1, 0, -1):
        q = np.sign(idx) * (np.abs(idx) // attrs.shape[j])
        out[j] = idx - q * attrs.shape[j]
        idx = q
    out[0] = idx
    return [out.astype(x.dtype)]


declare("_ravel_multi_index", "ravel_multi_index", params={"shape": P(OPT_SHAPE, None)},
        infer_shape=_ravel_shape, forward=_ravel_forward, backward=_zero_gradients)
declare("_unravel_index", "unravel_index", params={"shape": P(OPT_SHAPE, None)},
        infer_shape=_unravel_shape, forward=_unravel_forward, backward=_zero_gradients)

# ----------------------------------------------------------------------------------------
# Elementwise helpers.


def _quadratic_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [(attrs.a * x * x + attrs.b * x + attrs.c).astype(x.dtype, copy=False)]


def _quadratic_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    return [(g * (2 * attrs.a * x + attrs.b)).astype(x.dtype, copy=False)]


declare("_contrib_quadratic",
        params={"a": P(FLOAT, 0.0), "b": P(FLOAT, 0.0), "c": P(FLOAT, 0.0)},
        infer_shape=same_shape, forward=_quadratic_forward, backward=_quadratic_backward)


def _allclose_shape(attrs: Attrs, ins: list, outs: list):
    a, b = ins
    if a is not None and b is not None and a != b:
        raise fail(attrs, f"a of shape {a} and b of shape {b} must have one shape")
    assign(attrs, outs, 0, (), ["output"])
    return ins, outs


def _allclose_forward(attrs, inputs, ctx):
    a, b = inputs
    close = np.isclose(a, b, rtol=attrs.rtol, atol=attrs.atol, equal_nan=attrs.equal_nan)
    return [np.array(close.all(), dtype=np.uint8)]


# No backward: MXNet registers no gradient for _contrib_allclose.
declare("_contrib_allclose",
        params={"rtol": P(FLOAT, 1e-5), "atol": P(FLOAT, 1e-8), "equal_nan": P(BOOL, True)},
        inputs=("a", "b"), infer_shape=_allclose_shape,
        infer_type=lambda attrs, ins, outs: (ins, [np.dtype("uint8")]),
        forward=_allclose_forward)


def _copy(attrs, inputs, ctx):
    return [inputs[0].copy()]


declare("_contrib_gradientmultiplier",
        params={"scalar": P(FLOAT, 1.0), "is_int": P(BOOL, True)},
        infer_shape=same_shape, forward=_copy,
        backward=lambda attrs, og, inputs, outputs, ctx: [
            (og[0] * attrs.scalar).astype(inputs[0].dtype, copy=False)])


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype, copy=False)


def _straight_through(attrs, out_grads, inputs, outputs, ctx):
    return [out_grads[0].astype(inputs[0].dtype, copy=True)]


# Straight-through estimators: the forward rounds, the gradient passes unchanged.
declare("_contrib_round_ste", "_sparse__contrib_round_ste", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [_round_half_away(inputs[0])],
        backward=_straight_through)
declare("_contrib_sign_ste", "_sparse__contrib_sign_ste", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [np.sign(inputs[0])],
        backward=_straight_through)

# ----------------------------------------------------------------------------------------
# MXNet's legacy layers: Convolution_v1 is Convolution's parameters and kernels; Pooling_v1 and
# BatchNorm_v1 take a subset of their successors' parameters and run their kernels.



def _v1_spatial(attrs: Attrs, ins: list) -> None:
    """The v1 layers are 2-D or 3-D only (BatchNorm_v1: 4-D or 2-D data)."""
    k = attrs.kernel if attrs.op.name == "Convolution_v1" else None
    if k is not None and len(k) not in (2, 3):
        raise fail(attrs, f"kernel={k}: 1-D convolution is not supported by Convolution_v1 "
                          "(kernel must have 2 or 3 dims)")
    d = ins[0] if ins else None
    if attrs.op.name == "BatchNorm_v1":
        # BatchNorm_v1 runs on 4-D data, and on 2-D (batch, channel) data as (N, C, 1, 1)
        if d is not None and len(d) not in (2, 4):
            raise fail(attrs, f"data of shape {d} must be 2-D (batch, channel) or 4-D "
                              "(batch, channel, y, x)")
        return
    if d is not None and len(d) not in (4, 5):
        raise fail(attrs, f"data of shape {d} must be 4-D (batch, channel, y, x) or 5-D "
                          "(batch, channel, d, y, x)")


def _conv_v1_shape(attrs: Attrs, ins: list, outs: list):
    _v1_spatial(attrs, ins)
    return _conv_shape(attrs, ins, outs)


def _conv_v1_forward(attrs, inputs, ctx):
    _v1_spatial(attrs, [inputs[0].shape])
    return _conv_forward(attrs, inputs, ctx)


declare("Convolution_v1", params=_conv_params(no_bias=False, workspace=1024, deconv=False),
        inputs=_weighted_inputs, infer_shape=_conv_v1_shape, forward=_conv_v1_forward,
        backward=_conv_backward)


def _as(name: str, attrs: Attrs) -> Attrs:
    """A v1 node's parameters read by its successor ``name``. Pooling_v1's average divides
    by the whole kernel's area, also for windows clipped at the border: it runs as a sum,
    scaled afterwards (see ``_avg_scale``)."""
    raw = dict(attrs.raw)
    if attrs.op.name == "Pooling_v1" and attrs.pool_type == "avg":
        raw["pool_type"] = "sum"
    return registry.get(name).parse_attrs(raw)


def _avg_scale(attrs: Attrs, x: np.ndarray) -> float:
    if attrs.op.name != "Pooling_v1" or attrs.pool_type != "avg":
        return 1.0
    return 1.0 / math.prod(x.shape[2:] if attrs.global_pool else attrs.kernel)


def _successor(name: str, n_out: int | None = None):
    """(infer_shape, infer_type, forward, backward) of operator ``name`` for a v1 node; the
    v1 node shows the first ``n_out`` outputs (all when None)."""
    op = registry.get(name)

    def cut(xs):
        return list(xs)[:n_out] if n_out is not None else list(xs)

    def infer_shape(attrs, ins, outs):
        _v1_spatial(attrs, ins)
        a = _as(name, attrs)
        ins, o = op.shapes(a, ins, list(outs) + [None] * (op.num_outputs(a) - len(outs)))
        return ins, cut(o)

    def infer_type(attrs, ins, outs):
        a = _as(name, attrs)
        ins, o = op.types(a, ins, list(outs) + [None] * (op.num_outputs(a) - len(outs)))
        return ins, cut(o)

    def forward(attrs, inputs, ctx):
        _v1_spatial(attrs, [inputs[0].shape])
        outs = cut(op.forward(_as(name, attrs), inputs, ctx))
        scale = _avg_scale(attrs, inputs[0])
        if scale != 1.0:
            outs[0] = (outs[0] * scale).astype(inputs[0].dtype, copy=False)
        if attrs.op.name == "BatchNorm_v1":  # v1's third output is the variance itself
            outs[2] = (1 / np.square(outs[2]) - attrs.eps).astype(outs[2].dtype, copy=False)
        return outs

    def backward(attrs, out_grads, inputs, outputs, ctx):
        a = _as(name, attrs)
        n = op.num_outputs(a)
        og = list(out_grads) + [np.zeros_like(outputs[0])] * (n - len(out_grads))
        scale = _avg_scale(attrs, inputs[0])
        outs = list(outputs)
        if scale != 1.0:  # the successor's sum saw an unscaled output and head gradient
            og[0] = og[0] * scale
            outs[0] = outs[0] / scale
        if attrs.op.name == "BatchNorm_v1":  # BatchNorm's backward reads 1 / sqrt(var + eps)
            outs[2] = (1 / np.sqrt(outs[2] + attrs.eps)).astype(outs[2].dtype, copy=False)
        outs += [outs[0]] * (n - len(outs))
        return op.backward(a, og, inputs, outs, ctx)

    return {"infer_shape": infer_shape, "infer_type": infer_type, "forward": forward,
            "backward": backward}


declare("Pooling_v1",
        params={"kernel": P(SHAPE, ()), "pool_type": P(enum("avg", "max", "sum"), "max"),
                "global_pool": P(BOOL, False),
                "pooling_convention": P(enum("full", "valid"), "valid"),
                "stride": P(SHAPE, ()), "pad": P(SHAPE, ())},
        **_successor("Pooling", 1))
declare("BatchNorm_v1",
        params={"eps": P(FLOAT, 1e-3), "momentum": P(FLOAT, 0.9), "fix_gamma": P(BOOL, True),
                "use_global_stats": P(BOOL, False), "output_mean_var": P(BOOL, False)},
        inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
        aux=("moving_mean", "moving_var"), outputs=("output", "mean", "var"),
        num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
        input_var_attrs={"moving_mean": {"__init__": '["zero", {}]'},
                         "moving_var": {"__init__": '["one", {}]'}},
        **_successor("BatchNorm"))


# Embedding whose weight gradient MXNet keeps row-sparse: dense arrays here, Embedding's maths.
declare("_contrib_SparseEmbedding",
        params={"input_dim": P(INT), "output_dim": P(INT),
                "dtype": P(dtypes(*_EMB_DTYPES), F32), "sparse_grad": P(BOOL, False)},
        inputs=("data", "weight"), infer_shape=_embedding_shape, infer_type=_embedding_type,
        forward=lambda attrs, inputs, ctx: _embedding_forward(attrs, inputs, ctx),
        backward=_embedding_backward, sparse_grad_rows=embedding_sparse_grad_rows,
        sparse_grad_stypes=embedding_sparse_grad_stypes)


def _getnnz_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if attrs.axis not in (None, 1):
        raise fail(attrs, f"axis={attrs.axis} is not supported (None or 1, as in MXNet)")
    if d is not None:
        if len(d) != 2:
            raise fail(attrs, f"data of shape {d} must be a 2-D (CSR) matrix")
        assign(attrs, outs, 0, scalar_shape() if attrs.axis is None else d[:1], ["output"])
    return ins, outs


def _getnnz_forward(attrs, inputs, ctx):
    (x,) = inputs
    _getnnz_shape(attrs, [x.shape], [None])
    # Kernels see the CSR matrix densified: its stored zeros are not counted.
    nz = x != 0
    counts = nz.sum(axis=1) if attrs.axis == 1 else np.array([nz.sum()])
    return [counts.astype(I64)]


# No backward: MXNet registers no gradient for _contrib_getnnz.
declare("_contrib_getnnz", params={"axis": P(OPT_INT, None)}, infer_shape=_getnnz_shape,
        infer_type=lambda attrs, ins, outs: (ins, [I64]), forward=_getnnz_forward)
# MXNet's ``_sparse_retain`` (``mx.nd.sparse.retain``): the rows ``indices`` of a row_sparse
# array. mx.nd runs it on the stored rows (ndarray/sparse.py); this kernel is its dense
# meaning, for graphs: the output equals ``data`` on the retained rows and is 0 elsewhere.


def _retain_shape(attrs: Attrs, ins: list, outs: list):
    d, idx = ins
    if idx is not None and len(idx) != 1:
        raise fail(attrs, f"indices of shape {tuple(idx)} must be 1-D")
    if d is not None:
        if len(d) < 1:
            raise fail(attrs, "data must have at least 1 dimension")
        assign(attrs, outs, 0, d, ["output"])
    return ins, outs


def _retain_rows(data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    rows = np.asarray(indices).astype(np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= data.shape[0]):
        raise ValueError(f"indices must lie in [0, {data.shape[0]}), got values from "
                         f"{rows.min()} to {rows.max()}")
    keep = np.zeros(data.shape[0], bool)
    keep[rows] = True
    return keep


def _retain_forward(attrs, inputs, ctx):
    data, indices = inputs
    keep = _retain_rows(data, indices)
    out = np.zeros_like(data)
    out[keep] = data[keep]
    return [out]


def _retain_backward(attrs, out_grads, inputs, outputs, ctx):
    data, indices = inputs
    keep = _retain_rows(data, indices)
    g = np.zeros_like(data)
    g[keep] = out_grads[0][keep]
    return [g, None]


declare(
    "_sparse_retain", inputs=("data", "indices"), infer_shape=_retain_shape,
    infer_type=lambda attrs, ins, outs: ([ins[0], ins[1]], [ins[0]]),
    forward=_retain_forward, backward=_retain_backward,
)



# The legacy scalar names of NNVM-era graphs (TVM's MXNet frontend reads them), and the
# operators that run them. MXNet 1.9.1 registers none of these names, so they are not
# registry aliases: a JSON loader that meets one maps it here.
LEGACY_ALIASES = {
    "__add_scalar__": "_plus_scalar", "__sub_scalar__": "_minus_scalar",
    "__rsub_scalar__": "_rminus_scalar", "__mul_scalar__": "_mul_scalar",
    "__div_scalar__": "_div_scalar", "__rdiv_scalar__": "_rdiv_scalar",
    "__pow_scalar__": "_power_scalar", "__rpow_scalar__": "_rpower_scalar",
    "__mod_scalar__": "_mod_scalar", "__rmod_scalar__": "_rmod_scalar",
}

NO_BACKWARD = {"_contrib_allclose", "_contrib_getnnz"}
