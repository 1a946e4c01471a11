"""Smaller operators met in saved MXNet graphs: sampling, linspace, layout moves, numpy-style
split and histogram, gathers, AMP casts."""

from __future__ import annotations

import numpy as np

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
    like_data,
    opt_dtypes,
    size_of,
)
from .loss import identity_forward
from .reduce import kept_shape, reduce_axes, reduce_shape
from .registry import Attrs, FloatTuple, Optional, same_shape

I64 = np.dtype("int64")
F16 = np.dtype("float16")

# ----------------------------------------------------------------------------------------
# Sampling: no inputs; shape and dtype from the parameters (dtype None means float32, or int32
# for randint). Draws come from the context's generator (mx.random's when there is none).


def _sample_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


def _sample_type(default: np.dtype):
    def infer(attrs: Attrs, ins: list, outs: list):
        assign_type(attrs, outs, 0, attrs.dtype or default, ["output"])
        return ins, outs
    return infer


_SAMPLE = {"shape": P(SHAPE, None), "ctx": P(STR, "")}


def _rng(ctx) -> np.random.Generator:
    if ctx is not None and ctx.rng is not None:
        return ctx.rng
    from ..random import generator

    return generator()


def _sampler(draw, default: np.dtype):
    def forward(attrs, inputs, ctx):
        t = attrs.dtype or default
        return [np.asarray(draw(attrs, _rng(ctx), attrs.shape or ())).astype(t, copy=False)]
    return forward
_FLOATS = ("float16", "float32", "float64")

declare("_random_uniform", "uniform", "random_uniform",
        params={"low": P(FLOAT, 0.0), "high": P(FLOAT, 1.0), **_SAMPLE,
                "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32),
        forward=_sampler(lambda a, rng, shape: rng.uniform(a.low, a.high, shape), F32))
declare("_random_normal", "normal", "random_normal",
        params={"loc": P(FLOAT, 0.0), "scale": P(FLOAT, 1.0), **_SAMPLE,
                "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32),
        forward=_sampler(lambda a, rng, shape: rng.normal(a.loc, a.scale, shape), F32))
declare("_random_randint", "random_randint", "_npi_random_randint",
        params={"low": P(INT), "high": P(INT), **_SAMPLE,
                "dtype": P(opt_dtypes("int32", "int64"), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(np.dtype("int32")),
        forward=_sampler(lambda a, rng, shape: rng.integers(a.low, a.high, shape),
                         np.dtype("int32")))


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


def _from_double(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``static_cast<DType>(double)`` as MXNet's kernels write it: integers truncate toward zero
    (and wrap), float16 and bfloat16 round through float32 as mshadow's converters do."""
    if dtype.kind in "iu":
        return x.astype(np.int64).astype(dtype)
    if dtype.kind == "f" and dtype.itemsize >= 4:
        return x.astype(dtype)
    return x.astype(np.float32).astype(dtype)


def _linspace_shape(attrs: Attrs, ins: list, outs: list):
    if attrs.num < 0:
        raise fail(attrs, f"num={attrs.num}: the number of samples must be non-negative")
    assign(attrs, outs, 0, (attrs.num,), ["output"])
    return ins, outs


def _linspace_forward(attrs, inputs, ctx):
    # start + step * i in double, then cast: the last value is not snapped to stop (numpy's is).
    n = attrs.num
    gaps = n - 1 if attrs.endpoint else n
    step = (attrs.stop - attrs.start) / gaps if gaps > 0 else 0.0
    return [_from_double(attrs.start + step * np.arange(n, dtype=np.float64), attrs.dtype)]


# MXNet registers _linspace with RangeParam's documentation (step, repeat, infer_range) but
# parses LinspaceParam: these are the parameters it accepts.
declare("_linspace", "_npi_linspace",
        params={"start": P(FLOAT), "stop": P(FLOAT), "num": P(INT), "endpoint": P(BOOL, True),
                "ctx": P(STR, ""),
                "dtype": P(dtypes("bfloat16", *_FLOATS, "int32", "int64", "int8", "uint8"),
                           F32)},
        inputs=(), infer_shape=_linspace_shape, infer_type=_param_dtype,
        forward=_linspace_forward)

# ----------------------------------------------------------------------------------------
# Elementwise extras.


def _hard_sigmoid_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [np.clip(attrs.alpha * x + attrs.beta, 0, 1).astype(x.dtype, copy=False)]


def _hard_sigmoid_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,), (y,) = out_grads, inputs, outputs
    return [(g * ((y > 0) & (y < 1)) * attrs.alpha).astype(x.dtype, copy=False)]


declare("hard_sigmoid", params={"alpha": P(FLOAT, 0.2), "beta": P(FLOAT, 0.5)},
        infer_shape=same_shape, forward=_hard_sigmoid_forward,
        backward=_hard_sigmoid_backward)


def _smooth_l1_forward(attrs, inputs, ctx):
    (x,) = inputs
    s2 = attrs.scalar * attrs.scalar
    a = np.abs(x)
    out = np.where(a < 1 / s2, 0.5 * s2 * x * x, a - 0.5 / s2)
    return [out.astype(x.dtype, copy=False)]


def _smooth_l1_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    s2 = attrs.scalar * attrs.scalar
    return [(g * np.where(np.abs(x) < 1 / s2, s2 * x, np.sign(x))).astype(x.dtype, copy=False)]


declare("smooth_l1", "_npx_smooth_l1", params={"scalar": P(FLOAT)}, infer_shape=same_shape,
        forward=_smooth_l1_forward, backward=_smooth_l1_backward)


def _is_amp_float(t: np.dtype | None) -> bool:
    """The dtypes AMP casts between; float64 and integers pass through it untouched."""
    return t is not None and t.name in ("float16", "float32", "bfloat16")


def _amp_cast_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0]
    if t is not None:
        assign_type(attrs, outs, 0, attrs.dtype if _is_amp_float(t) else t, ["output"])
    return ins, outs


def _amp_cast_forward(attrs, inputs, ctx):
    (x,) = inputs
    if not _is_amp_float(x.dtype) or x.dtype == attrs.dtype:
        return identity_forward(attrs, inputs, ctx)
    return [x.astype(attrs.dtype)]


declare("amp_cast",
        params={"dtype": P(dtypes("bfloat16", *_FLOATS, "int32", "int64", "int8", "uint8"))},
        infer_shape=same_shape, infer_type=_amp_cast_type, forward=_amp_cast_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [og[0].astype(inputs[0].dtype,
                                                                       copy=False)])


def _default_outputs(n: int) -> tuple[str, ...]:
    """MXNet's output names for an operator that declares none: one is "output", more are
    "output0", "output1", ..."""
    return ("output",) if n == 1 else tuple(f"output{i}" for i in range(n))


def _amp_multicast_type(attrs: Attrs, ins: list, outs: list):
    # MXNet's AMPMultiCastType, quirks included: the target starts as the first input's dtype
    # (float32 with cast_narrow) and any float32 (any float16/bfloat16 with cast_narrow) among
    # the inputs or outputs replaces it; float64 and integer inputs keep their dtype.
    narrow = attrs.cast_narrow
    target = F32 if narrow else ins[0]
    for pair in zip(ins, outs):
        named = {t.name: t for t in pair if t is not None}
        if not narrow and "float32" in named:
            target = F32
        elif narrow and "float16" in named:
            target = F16
        elif narrow and "bfloat16" in named:
            target = named["bfloat16"]
    names = attrs.op.list_outputs(attrs)
    for i, t in enumerate(ins):
        assign_type(attrs, outs, i, target if _is_amp_float(t) else t, names)
    return ins, outs


def _pairwise_shape(attrs: Attrs, ins: list, outs: list):
    """Output i has input i's shape, inferred both ways."""
    in_names, out_names = attrs.op.list_inputs(attrs), attrs.op.list_outputs(attrs)
    for i in range(len(ins)):
        assign(attrs, outs, i, ins[i], out_names)
        assign(attrs, ins, i, outs[i], in_names)
    return ins, outs


def _amp_multicast_forward(attrs, inputs, ctx):
    _, types = _amp_multicast_type(attrs, [x.dtype for x in inputs], [None] * len(inputs))
    with np.errstate(over="ignore"):  # float16's overflow is inf, as in MXNet
        return [x if x.dtype == t and i in ctx.inplace else x.astype(t)
                for i, (x, t) in enumerate(zip(inputs, types))]


# No key_var_num_args: MXNet makes the caller give num_outputs, the number of inputs.
declare("amp_multicast",
        params={"num_outputs": P(INT), "cast_narrow": P(BOOL, False)},
        inputs=lambda a: tuple(f"data_{i}" for i in range(a.num_outputs)),
        outputs=lambda a: _default_outputs(a.num_outputs),
        infer_shape=_pairwise_shape, infer_type=_amp_multicast_type,
        forward=_amp_multicast_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [
            g.astype(x.dtype, copy=False) for g, x in zip(og, inputs)])
# Kernels see dense arrays only: the storage change is the NDArray frontend's business.
declare("cast_storage", "_sparse_cast_storage",
        params={"stype": P(enum("csr", "default", "row_sparse"))}, infer_shape=same_shape,
        forward=identity_forward, backward=lambda attrs, og, inputs, outputs, ctx: [og[0]])

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


def _no_gradient(attrs, out_grads, inputs, outputs, ctx):
    return [None] * len(inputs)


# The answer does not depend on the values: MXNet gives the data a zero gradient.
declare("shape_array", "_npx_shape_array", infer_shape=_shape_array_shape,
        infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array(inputs[0].shape, dtype=I64)],
        backward=_no_gradient)
declare("size_array", infer_shape=_size_array_shape, infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array([inputs[0].size], dtype=I64)],
        backward=_no_gradient)

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


def _depth_to_space(x: np.ndarray, b: int) -> np.ndarray:
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _space_to_depth(x: np.ndarray, b: int) -> np.ndarray:
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


# Each is the other's gradient.
declare("depth_to_space", params={"block_size": P(INT)}, infer_shape=_block_shape(True),
        forward=lambda attrs, inputs, ctx: [_depth_to_space(inputs[0], attrs.block_size)],
        backward=lambda attrs, og, inputs, outputs, ctx: [
            _space_to_depth(og[0], attrs.block_size)])
declare("space_to_depth", params={"block_size": P(INT)}, infer_shape=_block_shape(False),
        forward=lambda attrs, inputs, ctx: [_space_to_depth(inputs[0], attrs.block_size)],
        backward=lambda attrs, og, inputs, outputs, ctx: [
            _depth_to_space(og[0], attrs.block_size)])


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


def _diag_index(attrs: Attrs, shape: tuple):
    """(axis1, axis2, rows, cols) of the k-th diagonal of an N-D array (N >= 2)."""
    a1 = axis_of(attrs, attrs.axis1, len(shape), "axis1")
    a2 = axis_of(attrs, attrs.axis2, len(shape), "axis2")
    k = attrs.k
    n = max(0, min(shape[a1], shape[a2] - k) if k > 0 else min(shape[a1] + k, shape[a2]))
    i = np.arange(n)
    return a1, a2, (i, i + k) if k >= 0 else (i - k, i)


def _diag_forward(attrs, inputs, ctx):
    (x,) = inputs
    if x.ndim == 1:
        return [np.diag(x, attrs.k)]
    a1, a2, (r, c) = _diag_index(attrs, x.shape)
    return [np.moveaxis(x, (a1, a2), (-2, -1))[..., r, c]]


def _diag_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    if x.ndim == 1:
        return [np.diagonal(g, attrs.k).astype(x.dtype)]
    a1, a2, (r, c) = _diag_index(attrs, x.shape)
    dx = np.zeros_like(x)
    np.moveaxis(dx, (a1, a2), (-2, -1))[..., r, c] = g  # a view: writes land in dx
    return [dx]


declare("diag", params={"k": P(INT, 0), "axis1": P(INT, 0), "axis2": P(INT, 1)},
        infer_shape=_diag_shape, forward=_diag_forward, backward=_diag_backward)

# ----------------------------------------------------------------------------------------
# numpy-style split and histogram.


def _split_v2_count(a: Attrs) -> int:
    return a.sections if a.sections > 0 else len(a.indices)


def _split_v2_bounds(attrs: Attrs, size: int) -> list[tuple[int, int]]:
    """(begin, end) of every output along the axis: ``sections`` as numpy's array_split (the
    first ``size % sections`` parts one longer), else from each index to the next."""
    if attrs.sections > 0:
        q, r = divmod(size, attrs.sections)
        ends = np.cumsum([q + 1] * r + [q] * (attrs.sections - r)).tolist()
        return list(zip([0, *ends[:-1]], ends))
    idx = list(attrs.indices)
    bounds = list(zip(idx, [*idx[1:], size]))
    for i, (b, e) in enumerate(bounds):
        if b > e:
            raise fail(attrs, f"indices {attrs.indices}: output {i} would begin at {b} and end "
                              f"at {e}; indices must ascend")
        if e > size:
            raise fail(attrs, f"indices {attrs.indices}: output {i} ends at {e}, past the "
                              f"{size} elements along the axis")
    if idx and idx[0] != 0:
        raise fail(attrs, f"indices {attrs.indices} must begin with 0: the outputs would cover "
                          f"{size - idx[0]} of the {size} elements along the axis")
    return bounds


def _split_v2_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    names = attrs.op.list_outputs(attrs)
    if d[ax] == 0:  # unknown length: the parts' lengths are unknown too
        bounds = [(0, 0)] * _split_v2_count(attrs)
    else:
        bounds = _split_v2_bounds(attrs, d[ax])
    for i, (b, e) in enumerate(bounds):
        if attrs.squeeze_axis:
            if d[ax] and e - b != 1:
                raise fail(attrs, f"squeeze_axis needs parts of length 1 along axis {attrs.axis}"
                                  f", but output {i} has {e - b}")
            o = d[:ax] + d[ax + 1:]
        else:
            o = (*d[:ax], e - b, *d[ax + 1:])
        assign(attrs, outs, i, o, names)
    return ins, outs


def _split_v2_forward(attrs, inputs, ctx):
    (x,) = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    lead = (slice(None),) * ax
    parts = [x[(*lead, slice(b, e))] for b, e in _split_v2_bounds(attrs, x.shape[ax])]
    return [p.squeeze(ax) if attrs.squeeze_axis else p for p in parts]


def _split_v2_backward(attrs, out_grads, inputs, outputs, ctx):
    (x,) = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    gs = [np.expand_dims(g, ax) if attrs.squeeze_axis else g for g in out_grads]
    return [np.concatenate(gs, axis=ax).astype(x.dtype, copy=False)]


declare("_split_v2", "_npi_split",
        params={"indices": P(SHAPE), "axis": P(INT, 1), "squeeze_axis": P(BOOL, False),
                "sections": P(INT, 0)},
        outputs=lambda a: _default_outputs(_split_v2_count(a)),
        infer_shape=_split_v2_shape, forward=_split_v2_forward, backward=_split_v2_backward)


def _histogram_uniform(attrs: Attrs) -> bool:
    """bin_cnt + range give uniform bins; neither means the ``bins`` input holds the edges."""
    if (attrs.bin_cnt is None) != (attrs.range is None):
        raise fail(attrs, "bin_cnt and range go together: give both, or neither and a bins "
                          "input of edges")
    return attrs.bin_cnt is not None


def _histogram_shape(attrs: Attrs, ins: list, outs: list):
    names = ["output0", "output1"]
    if _histogram_uniform(attrs):
        n = attrs.bin_cnt
        if n < 0:
            raise fail(attrs, f"bin_cnt={n} must be non-negative")
        assign(attrs, outs, 0, (n,), names)
        assign(attrs, outs, 1, (n + 1,), names)
        return ins, outs
    b = ins[1]
    if b is not None:
        if len(b) != 1:
            raise fail(attrs, f"bins of shape {b} must be a 1-D array of edges")
        if b[0] == 1:
            raise fail(attrs, "bins holds 1 edge; a histogram needs at least 2")
        if b[0]:
            assign(attrs, outs, 0, (b[0] - 1,), names)
            assign(attrs, outs, 1, b, names)
    return ins, outs


def _histogram_type(attrs: Attrs, ins: list, outs: list):
    names = ["output0", "output1"]
    assign_type(attrs, outs, 0, I64, names)
    assign_type(attrs, outs, 1, ins[0], names)  # the data's dtype, whatever the bins' is
    return ins, outs


def _histogram_forward(attrs, inputs, ctx):
    x = inputs[0].reshape(-1)
    if _histogram_uniform(attrs):
        if len(attrs.range) != 2:
            raise fail(attrs, f"range={attrs.range} must hold 2 values, (low, high)")
        lo, hi = attrs.range
        if lo > hi:
            raise fail(attrs, f"range={attrs.range}: low must not exceed high")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        n = attrs.bin_cnt
        i = np.arange(n + 1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            edges = _from_double((hi * i + (n - i) * lo) / n, x.dtype)
        xd = x.astype(np.float64)
        inside = (xd >= lo) & (xd <= hi)
        v = x[inside]
        # MXNet's guess from the double arithmetic, corrected by one against the edges as
        # stored in the data's dtype (which decide for a value on an edge).
        t = np.minimum(((xd[inside] - lo) * (n / (hi - lo))).astype(np.int64), n - 1)
        t -= v < edges[t]
        t += (v >= edges[t + 1]) & (t != n - 1)
    else:
        edges = inputs[1].reshape(-1).astype(x.dtype)
        n = edges.size - 1
        if n < 1:
            raise fail(attrs, f"bins holds {edges.size} edges; a histogram needs at least 2")
        inside = (x >= edges[0]) & (x <= edges[-1])
        # MXNet scans the edges for the first one above the value, even unsorted edges: the
        # first such edge is where their running maximum first exceeds the value.
        t = np.searchsorted(np.maximum.accumulate(edges), x[inside], side="right") - 1
        t = np.minimum(t, n - 1)
    counts = np.bincount(t[t >= 0], minlength=max(n, 0)).astype(I64)
    return [counts, edges]


# No backward: MXNet registers no gradient for _histogram.
declare("_histogram", "_npi_histogram",
        params={"bin_cnt": P(OPT_INT, None), "range": P(Optional(FloatTuple()), None)},
        inputs=lambda a: ("data",) if a.bin_cnt is not None else ("data", "bins"),
        outputs=("output0", "output1"), infer_shape=_histogram_shape,
        infer_type=_histogram_type, forward=_histogram_forward)

# ----------------------------------------------------------------------------------------
# Reductions with extra outputs.


def _moments_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axes, attrs.keepdims)
        for i in range(2):
            assign(attrs, outs, i, o, ["output0", "output1"])
    return ins, outs


def _moments_forward(attrs, inputs, ctx):
    (x,) = inputs
    axes = reduce_axes(attrs, x.ndim, attrs.axes)
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes, keepdims=True)
    o = reduce_shape(attrs, x.shape, attrs.axes, attrs.keepdims)
    return [mean.reshape(o), var.reshape(o)]


def _moments_backward(attrs, out_grads, inputs, outputs, ctx):
    (g_mean, g_var), (x,), (mean, _) = out_grads, inputs, outputs
    kept = kept_shape(attrs, x.shape, attrs.axes)
    n = x.size // max(1, size_of(kept))
    dx = (g_mean.reshape(kept) + 2 * g_var.reshape(kept) * (x - mean.reshape(kept))) / n
    return [dx.astype(x.dtype, copy=False)]


declare("moments", params={"axes": P(OPT_SHAPE, None), "keepdims": P(BOOL, False)},
        outputs=("output0", "output1"), infer_shape=_moments_shape,
        forward=_moments_forward, backward=_moments_backward)


def _square_sum_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axis, attrs.keepdims, attrs.exclude)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _square_sum_forward(attrs, inputs, ctx):
    (x,) = inputs
    axes = reduce_axes(attrs, x.ndim, attrs.axis, attrs.exclude)
    o = reduce_shape(attrs, x.shape, attrs.axis, attrs.keepdims, attrs.exclude)
    return [np.square(x).sum(axis=axes).reshape(o)]


def _square_sum_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    kept = kept_shape(attrs, x.shape, attrs.axis, attrs.exclude)
    return [(2 * x * g.reshape(kept)).astype(x.dtype, copy=False)]


# MXNet runs _square_sum on row_sparse input only; dense arrays get the same maths here.
declare("_square_sum",
        params={"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False),
                "exclude": P(BOOL, False)},
        infer_shape=_square_sum_shape, forward=_square_sum_forward,
        backward=_square_sum_backward)

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


def _index_tuple(attrs: Attrs, indices: np.ndarray, shape: tuple) -> tuple:
    """gather_nd's indices (M, ...) as a numpy fancy index into the first M dims of ``shape``;
    negative indices count from the end, as in MXNet; out-of-range ones are an error."""
    idx = indices.astype(np.int64)
    bound = np.array(shape[:len(idx)]).reshape((-1,) + (1,) * (idx.ndim - 1))
    bad = (idx >= bound) | (idx < -bound)
    if bad.any():
        dim, *where = np.argwhere(bad)[0]
        raise fail(attrs, f"index out of bound: indices[{dim}, {', '.join(map(str, where))}] = "
                          f"{idx[(dim, *where)]} for dim {dim} of size {shape[dim]}")
    return tuple(idx)


def _gather_nd_forward(attrs, inputs, ctx):
    data, indices = inputs
    return [data[_index_tuple(attrs, indices, data.shape)]]


def _gather_nd_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (data, indices) = out_grads, inputs
    dx = np.zeros_like(data)
    np.add.at(dx, _index_tuple(attrs, indices, data.shape), g)  # repeats accumulate
    return [dx, None]


declare("gather_nd", "_npi_gather_nd", "_npx_gather_nd", inputs=("data", "indices"),
        infer_shape=_gather_nd_shape, infer_type=_data_type,
        forward=_gather_nd_forward, backward=_gather_nd_backward)


def _scatter_nd_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


def _scatter_nd_forward(attrs, inputs, ctx):
    data, indices = inputs
    out = np.zeros(attrs.shape, dtype=data.dtype)
    out[_index_tuple(attrs, indices, out.shape)] = data  # MXNet leaves repeats unspecified
    return [out]


declare("scatter_nd", params={"shape": P(SHAPE)}, inputs=("data", "indices"),
        infer_shape=_scatter_nd_shape, infer_type=_data_type, forward=_scatter_nd_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [
            og[0][_index_tuple(attrs, inputs[1], og[0].shape)], None])


def _batch_take_shape(attrs: Attrs, ins: list, outs: list):
    a, idx = ins
    if a is None or idx is None:
        return ins, outs
    if size_of(idx) and a[0] and size_of(idx) != a[0]:
        raise fail(attrs, f"indices of shape {idx} must hold one index per row of a {a}")
    assign(attrs, outs, 0, idx, ["output"])
    return ins, outs


def _batch_take_type(attrs: Attrs, ins: list, outs: list):
    ins, outs = _data_type(attrs, ins, outs)
    assign_type(attrs, ins, 1, np.dtype("int32"), attrs.op.list_inputs(attrs))
    return ins, outs


def _batch_take_forward(attrs, inputs, ctx):
    a, indices = inputs
    rows = a.reshape(indices.size, -1)
    j = np.clip(indices.reshape(-1).astype(np.int64), 0, rows.shape[1] - 1)
    return [rows[np.arange(rows.shape[0]), j].reshape(indices.shape)]


# No backward: MXNet registers no gradient for batch_take.
declare("batch_take", inputs=("a", "indices"), infer_shape=_batch_take_shape,
        infer_type=_batch_take_type, forward=_batch_take_forward)

# ----------------------------------------------------------------------------------------
# Legacy output layers.


def _svm_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    assign(attrs, ins, 1, d[:1], attrs.op.list_inputs(attrs))
    assign(attrs, outs, 0, d, ["output"])
    return ins, outs


def _svm_backward(attrs, out_grads, inputs, outputs, ctx):
    """Hinge-loss gradients (L1-SVM with use_linear, else L2-SVM) for one label per row;
    the head gradient is ignored."""
    label, out = inputs[1], outputs[0]
    y = out.reshape(out.shape[0], -1)
    is_label = label.reshape(-1)[:, None].astype(np.int64) == np.arange(y.shape[1])
    m, c = attrs.margin, attrs.regularization_coefficient
    # Push the label's score above margin and every other score below -margin.
    slack = np.where(is_label, m - y, m + y)
    sign = np.where(is_label, -1, 1)
    if attrs.use_linear:
        grad = sign * (slack > 0) * c
    else:
        grad = sign * np.where(slack > 0, 2 * slack, 0) * c
    return [grad.reshape(out.shape).astype(out.dtype, copy=False), None]


declare("SVMOutput",
        params={"margin": P(FLOAT, 1.0), "regularization_coefficient": P(FLOAT, 1.0),
                "use_linear": P(BOOL, False)},
        inputs=("data", "label"), infer_shape=_svm_shape,
        forward=identity_forward, backward=_svm_backward)


def _kl_sparse_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        assign(attrs, ins, 1, (d[1],) if len(d) > 1 else (1,), attrs.op.list_inputs(attrs))
    return like_data(attrs, ins, outs)


def _kl_sparse_backward(attrs, out_grads, inputs, outputs, ctx):
    """The head gradient plus the KL sparseness penalty's, from the moving average of the mean
    activation per unit, which MXNet updates here, in backward."""
    (g,), (x, avg) = out_grads, inputs
    rows = x.reshape(x.shape[0], -1)
    if rows.shape[1] != avg.size:
        raise fail(attrs, f"data of shape {x.shape} has {rows.shape[1]} units per example but "
                          f"moving_avg has {avg.size}")
    mom, rho = attrs.momentum, attrs.sparseness_target
    avg[...] = mom * avg + (1 - mom) * rows.mean(axis=0)
    penalty = attrs.penalty * (-rho / avg + (1 - rho) / (1 - avg))
    return [(g + penalty.reshape((1, *x.shape[1:]))).astype(x.dtype, copy=False), None]


declare("IdentityAttachKLSparseReg",
        params={"sparseness_target": P(FLOAT, 0.1), "penalty": P(FLOAT, 0.001),
                "momentum": P(FLOAT, 0.9)},
        inputs=("data", "moving_avg"), aux=("moving_avg",), infer_shape=_kl_sparse_shape,
        forward=identity_forward, backward=_kl_sparse_backward)
