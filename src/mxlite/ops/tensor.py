"""Tensor manipulation: reshaping, joining and splitting, indexing, sorting, creation.

Aliasing: operators that only rearrange how memory is read (Reshape/Flatten/expand_dims/
squeeze/reshape_like, transpose, SwapAxis, slice/slice_axis/slice_like, SliceChannel, reverse)
return numpy views of their input, as numpy itself would; the executor never reuses a buffer
that a view still reads. Operators whose result is a new array in MXNet (``_copy``, ``Cast``,
the ``broadcast_*`` family, ...) return fresh, writeable arrays, so a later in-place kernel can
never write through them into an input. No kernel here writes into an input, except ``clip``
into a dead one that the executor offers through ``OpContext.inplace`` in inference. Backward
kernels may return views of the head gradients.

Index inputs (take, pick, one_hot, sequence lengths) arrive in any dtype, usually float32; as
in MXNet they are truncated toward zero, then clipped or wrapped per ``mode``.
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError
from ..ndarray.shape_codes import infer_reshape
from ..util import is_np_shape
from ._util import (
    BOOL,
    F32,
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
    declare,
    dtypes,
    enum,
    fail,
    known,
    scalar_shape,
    size_of,
)
from .registry import Attrs, ParamType, _literal, merge_shape, same_shape


class _SliceBounds(ParamType):
    """``begin``/``end``/``step`` of ``slice``: a tuple whose entries may be ``None``."""

    name = "Shape(tuple)"

    def parse(self, value):
        if isinstance(value, str):
            value = _literal(value)
        if value is None:
            return ()
        if isinstance(value, (int, np.integer)):
            value = (value,)
        return tuple(None if v is None else INT.parse(v) for v in value)


BOUNDS = _SliceBounds()


def _out_shape(attrs: Attrs, *shapes: tuple) -> tuple:
    """The output shape the declared inference gives for these input shapes (one place for
    the rules and their error messages, shared by inference and the kernels). The inputs are
    real arrays here, so a 0 in the result is an empty dim (``slice`` with begin == end)."""
    _, outs = attrs.op.shapes(attrs, [tuple(s) for s in shapes])
    if outs[0] is None:
        raise fail(attrs, f"cannot infer the output shape from inputs {shapes}")
    return tuple(outs[0])


def _no_grad(attrs, out_grads, inputs, outputs, ctx):
    """Integer-valued results (argmax, one_hot, ...) and creation: no gradient to anything."""
    return [None] * len(inputs)


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes where ``shape`` (same rank) has 1: a broadcast's gradient."""
    axes = tuple(i for i, (a, b) in enumerate(zip(shape, g.shape)) if a == 1 and b != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _as_index(attrs: Attrs, idx: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Integer positions in ``[0, n)`` from an index array of any dtype (MXNet's casts)."""
    if mode == "raise" and idx.size and (idx.min() < 0 or idx.max() > n - 1):
        raise fail(attrs, f"indices out of bounds for an axis of size {n} (mode='raise')")
    with np.errstate(invalid="ignore"):
        i = idx.astype(np.int64, copy=False)  # a float index truncates toward zero
    if mode == "wrap":
        return np.mod(i, n)
    return np.clip(i, 0, n - 1)


def _is_float(t: np.dtype) -> bool:
    return t.kind == "f" or t.name == "bfloat16"  # ml_dtypes' bfloat16 has kind 'V'


def _cast(x, t: np.dtype) -> np.ndarray:
    """``x.astype(t)`` as MXNet's C++ ``static_cast`` does it: a float going to a 1- or 2-byte
    integer passes through int32 and wraps (-1.7 -> 255 as uint8), NaN or out-of-range floats
    going to int32/int64 give the most negative value (x86's conversion)."""
    with np.errstate(invalid="ignore", over="ignore"):
        if _is_float(x.dtype) and t.kind in "iu" and t.itemsize < 4:
            return x.astype(np.int32).astype(t)
        return x.astype(t)


def _args(a: Attrs):
    return tuple(f"arg{i}" for i in range(a.num_args))


def _out_only(attrs: Attrs, outs: list, shape, ins: list):
    assign(attrs, outs, 0, shape, attrs.op.list_outputs(attrs))
    return ins, outs


def _unknown_to_neg(s):
    return tuple(-1 if d == 0 else d for d in s)


def _neg_to_unknown(s):
    return tuple(0 if d < 0 else d for d in s)


def _lhs_type(attrs: Attrs, ins: list, outs: list):
    """The output has the first input's dtype; the ``*_like`` input keeps its own, and (as in
    MXNet) nothing is inferred until that one is known."""
    if ins[1] is not None:
        t = ins[0] if ins[0] is not None else outs[0]
        assign_type(attrs, outs, 0, t, ["output"])
        ins[0] = outs[0]
    return ins, outs


# ----------------------------------------------------------------------------------------
# Reshaping: the data keeps its order, only the shape changes (views, see the docstring).


def _reshape_forward(attrs, inputs, ctx):
    x = inputs[0]
    o = _out_shape(attrs, *(i.shape for i in inputs))
    if size_of(o) != x.size:
        raise fail(attrs, f"cannot reshape an input of shape {x.shape} into {o}")
    return [x.reshape(o)]


def _reshape_backward(attrs, out_grads, inputs, outputs, ctx):
    return [out_grads[0].reshape(inputs[0].shape), *([None] * (len(inputs) - 1))]


def _reshape_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    # the same reshape of NDArrays, recorded: differentiable to any order
    return _reshape_backward(attrs, out_grads, inputs, outputs, ctx)


_RESHAPE = {"forward": _reshape_forward, "backward": _reshape_backward,
            "grad_graph": _reshape_grad_graph}


def _flatten_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if 0 in d[1:]:  # MXNet gives up rather than guess
        return ins, outs
    return _out_only(attrs, outs, (d[0], size_of(d[1:])), ins)


declare("Flatten", "flatten", "_npx_batch_flatten", infer_shape=_flatten_shape, **_RESHAPE)


def _fill_one_unknown(s: tuple, total: int) -> tuple:
    """MXNet's ReverseReshapeInferShape: one unknown dim follows from the total size."""
    if total <= 0 or s.count(0) != 1:
        return s
    rest = size_of(d for d in s if d)
    return tuple(total // rest if d == 0 else d for d in s)


def _reshape_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if attrs.shape:
        try:  # shape_codes works with -1 for unknown dims, we with 0
            o = _neg_to_unknown(infer_reshape(_unknown_to_neg(d), attrs.shape, attrs.reverse))
        except MXNetError as e:
            raise fail(attrs, str(e)) from None
    elif attrs.target_shape:  # the legacy spelling: one 0 is inferred, keep_highest keeps d[0]
        o = list(attrs.target_shape)
        if attrs.keep_highest:
            o[0] = d[0]
        zeros = [i for i in range(1 if attrs.keep_highest else 0, len(o)) if o[i] == 0]
        if len(zeros) == 1 and known(d):
            o[zeros[0]] = size_of(d) // size_of(x for x in o if x)
        o = tuple(o)
    else:
        if known(outs[0]):
            ins[0] = _fill_one_unknown(d, size_of(outs[0]))
        return ins, outs
    # MXNet 1.9.1 does not compare the sizes here (the kernel would); neither do we.
    assign(attrs, outs, 0, o, ["output"])
    if known(outs[0]):
        ins[0] = _fill_one_unknown(d, size_of(outs[0]))
    return ins, outs


declare(
    "Reshape", "reshape",
    params={"shape": P(SHAPE, ()), "reverse": P(BOOL, False),
            "target_shape": P(SHAPE, ()), "keep_highest": P(BOOL, False)},
    infer_shape=_reshape_shape, **_RESHAPE,
)


def _reshape_like_shape(attrs: Attrs, ins: list, outs: list):
    lhs, rhs = ins
    if lhs is None or rhs is None:
        return ins, outs

    def span(begin, end, n):
        b = 0 if begin is None else (begin + n if begin < 0 else begin)
        e = n if end is None else (end + n if end < 0 else end)
        if not 0 <= b <= e <= n:
            raise fail(attrs, f"begin={begin}, end={end} is not a valid range of {n} dims")
        return b, e

    lb, le = span(attrs.lhs_begin, attrs.lhs_end, len(lhs))
    rb, re_ = span(attrs.rhs_begin, attrs.rhs_end, len(rhs))
    o = (*lhs[:lb], *rhs[rb:re_], *lhs[le:])
    if known(o) and known(lhs) and size_of(o) != size_of(lhs):
        raise fail(attrs, f"cannot reshape lhs of shape {lhs} like rhs of shape {rhs}: "
                          f"{o} has a different size")
    return _out_only(attrs, outs, o, ins)


declare(
    "reshape_like", "_npx_reshape_like",
    params={"lhs_begin": P(OPT_INT, None), "lhs_end": P(OPT_INT, None),
            "rhs_begin": P(OPT_INT, None), "rhs_end": P(OPT_INT, None)},
    inputs=("lhs", "rhs"), infer_shape=_reshape_like_shape, infer_type=_lhs_type, **_RESHAPE,
)


def _transpose_axes(attrs: Attrs, n: int) -> tuple[int, ...]:
    if not attrs.axes:
        return tuple(range(n - 1, -1, -1))
    axes = tuple(attrs.axes)  # MXNet 1.9.1 refuses negative axes here (numpy's take them)
    if len(axes) != n or sorted(axes) != list(range(n)):
        raise fail(attrs, f"axes={attrs.axes} is not a permutation of {n} dims (0 to {n - 1})")
    return axes


def _transpose_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        ax = _transpose_axes(attrs, len(ins[0]))
        assign(attrs, outs, 0, tuple(ins[0][a] for a in ax), ["output"])
    if outs[0] is not None:
        if ins[0] is None and not attrs.axes:
            raise fail(attrs, "cannot infer the input from the output without axes")
        ax = _transpose_axes(attrs, len(outs[0]))
        back = [0] * len(ax)
        for i, a in enumerate(ax):
            back[a] = outs[0][i]
        assign(attrs, ins, 0, tuple(back), ["data"])
    return ins, outs


def _transpose_forward(attrs, inputs, ctx):
    return [inputs[0].transpose(_transpose_axes(attrs, inputs[0].ndim))]


def _transpose_backward(attrs, out_grads, inputs, outputs, ctx):
    inverse = np.argsort(_transpose_axes(attrs, inputs[0].ndim))
    return [out_grads[0].transpose(tuple(int(a) for a in inverse))]


declare("transpose", params={"axes": P(SHAPE, ())}, infer_shape=_transpose_shape,
        forward=_transpose_forward, backward=_transpose_backward,
        grad_graph=lambda F, *args: _transpose_backward(*args))


def _expand_dims_shape(attrs: Attrs, ins: list, outs: list):
    d, o = ins[0], outs[0]
    if d is None and o is not None:
        ax = axis_of(attrs, attrs.axis, len(o) - 1, extra=1)
        assign(attrs, ins, 0, (*o[:ax], *o[ax + 1:]), ["data"])
        d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d), extra=1)
    return _out_only(attrs, outs, (*d[:ax], 1, *d[ax:]), ins)


declare("expand_dims", "_npi_expand_dims", params={"axis": P(INT)},
        infer_shape=_expand_dims_shape, **_RESHAPE)


def _squeeze_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if attrs.axis is None:
        drop = {i for i, x in enumerate(d) if x == 1}
    else:
        drop = {axis_of(attrs, a, len(d)) for a in attrs.axis}
        for a in drop:
            if d[a] not in (0, 1):
                raise fail(attrs, f"cannot squeeze axis {a} of size {d[a]} (data {d})")
    o = tuple(x for i, x in enumerate(d) if i not in drop)
    return _out_only(attrs, outs, o or scalar_shape(), ins)


declare("squeeze", params={"axis": P(OPT_SHAPE, None)}, infer_shape=_squeeze_shape,
        **_RESHAPE)

# ----------------------------------------------------------------------------------------
# Joining and splitting.


def _concat_shape(attrs: Attrs, ins: list, outs: list):
    # MXNet 1.9.1's ConcatShape, quirks included: inputs of unknown rank add nothing to the
    # joined size (so the output may be inferred too small; MXNet does the same).
    names = attrs.op.list_inputs(attrs)
    common = None
    size, unknown_size, ax = 0, False, None
    for s in [*ins, outs[0]]:
        if s is None:
            continue
        ax = axis_of(attrs, attrs.dim, len(s), "dim")
        rest = tuple(0 if j == ax else x for j, x in enumerate(s))
        if common is None:
            common = rest
        elif len(common) == len(rest):  # a rank mismatch is reported below, per input
            common = tuple(y if x == 0 else x for x, y in zip(common, rest))
    if common is None:
        return ins, outs
    for i, s in enumerate(ins):
        if s is not None:
            unknown_size = unknown_size or s[ax] == 0
            size += s[ax]
        try:
            ins[i] = merge_shape(s, common)
        except MXNetError:
            raise fail(attrs, f"input {names[i]!r} has shape {s}, incompatible with "
                              f"{common} (0 = any) joined along dim {attrs.dim}") from None
    o = list(common)
    o[ax] = 0 if unknown_size else size
    assign(attrs, outs, 0, tuple(o), ["output"])
    return ins, outs


def _concat_forward(attrs, inputs, ctx):
    _out_shape(attrs, *(x.shape for x in inputs))  # MXNet's checks and messages
    return [np.concatenate(inputs, axis=axis_of(attrs, attrs.dim, inputs[0].ndim, "dim"))]


def _concat_backward(attrs, out_grads, inputs, outputs, ctx):
    ax = axis_of(attrs, attrs.dim, inputs[0].ndim, "dim")
    ends = np.cumsum([x.shape[ax] for x in inputs])[:-1]
    return np.split(out_grads[0], ends, axis=ax)


declare(
    "Concat", "concat", "_sparse_concat",
    params={"num_args": P(INT), "dim": P(INT, 1)},
    inputs=_args, key_var_num_args="num_args", infer_shape=_concat_shape,
    forward=_concat_forward, backward=_concat_backward,
)


def _stack_shape(attrs: Attrs, ins: list, outs: list):
    # MXNet 1.9.1 takes the first known input's shape and neither checks the others nor
    # fills them in.
    s = next((x for x in ins if x is not None), None)
    if s is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(s), extra=1)
    return _out_only(attrs, outs, (*s[:ax], attrs.num_args, *s[ax:]), ins)


def _stack_forward(attrs, inputs, ctx):
    if any(x.shape != inputs[0].shape for x in inputs):
        raise fail(attrs, f"all inputs must have one shape, got {[x.shape for x in inputs]}")
    return [np.stack(inputs, axis=axis_of(attrs, attrs.axis, inputs[0].ndim, extra=1))]


def _stack_backward(attrs, out_grads, inputs, outputs, ctx):
    ax = axis_of(attrs, attrs.axis, inputs[0].ndim, extra=1)
    return list(np.moveaxis(out_grads[0], ax, 0))


declare(
    "stack", params={"axis": P(INT, 0), "num_args": P(INT)},
    inputs=_args, key_var_num_args="num_args", infer_shape=_stack_shape,
    forward=_stack_forward, backward=_stack_backward,
)


def _split_outputs(a: Attrs):
    return tuple(f"output{i}" for i in range(a.num_outputs))


def _split_shape(attrs: Attrs, ins: list, outs: list):
    n = attrs.num_outputs
    names = attrs.op.list_outputs(attrs)
    d = ins[0]
    part = None
    for i, o in enumerate(outs):  # backward inference: the outputs give the input's
        if o is not None:           # unknown dims (MXNet needs its rank known)
            part = merge_shape(part, o, names[i])
    if part is not None and d is not None:
        nd = len(part) + 1 if attrs.squeeze_axis else len(part)
        pa = axis_of(attrs, attrs.axis, nd)
        whole = (*part[:pa], n, *part[pa:]) if attrs.squeeze_axis else \
            (*part[:pa], part[pa] * n, *part[pa + 1:])
        assign(attrs, ins, 0, whole, attrs.op.list_inputs(attrs))
        d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    if d[ax] and d[ax] % n:
        raise fail(attrs, f"cannot split axis {ax} of the input of shape {d} into "
                          f"num_outputs={n} evenly sized chunks")
    if attrs.squeeze_axis and d[ax] and d[ax] != n:
        raise fail(attrs, f"squeeze_axis needs axis {ax} of the input of shape {d} to "
                          f"have num_outputs={n} elements")
    part = (*d[:ax], *d[ax + 1:]) if attrs.squeeze_axis else (*d[:ax], d[ax] // n, *d[ax + 1:])
    for i in range(n):
        assign(attrs, outs, i, part, names)
    return ins, outs


def _split_forward(attrs, inputs, ctx):
    (x,) = inputs
    part = _out_shape(attrs, x.shape)
    ax = axis_of(attrs, attrs.axis, x.ndim)
    return [p.reshape(part) for p in np.split(x, attrs.num_outputs, axis=ax)]


def _split_backward(attrs, out_grads, inputs, outputs, ctx):
    ax = axis_of(attrs, attrs.axis, inputs[0].ndim)
    join = np.stack if attrs.squeeze_axis else np.concatenate
    return [join(out_grads, axis=ax)]


declare(
    "SliceChannel", "split",
    params={"num_outputs": P(INT), "axis": P(INT, 1), "squeeze_axis": P(BOOL, False)},
    outputs=_split_outputs, infer_shape=_split_shape,
    forward=_split_forward, backward=_split_backward,
)

# ----------------------------------------------------------------------------------------
# Slicing: each op names a tuple of Python slices; forward reads it (a view), backward writes
# the head gradient into zeros through it.


def _slicer(region):
    def forward(attrs, inputs, ctx):
        _out_shape(attrs, *(x.shape for x in inputs))  # bounds checks and their messages
        return [inputs[0][region(attrs, inputs)]]

    def backward(attrs, out_grads, inputs, outputs, ctx):
        g = np.zeros_like(inputs[0], dtype=out_grads[0].dtype)
        g[region(attrs, inputs)] = out_grads[0]
        return [g, *([None] * (len(inputs) - 1))]

    return {"forward": forward, "backward": backward}


def _slice_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    b, e = attrs.begin, attrs.end
    step = attrs.step or (None,) * len(b)
    if len(b) != len(e) or len(step) != len(b) or len(b) > len(d):
        raise fail(attrs, f"begin={b}, end={e}, step={attrs.step} must have equal lengths "
                          f"of at most {len(d)} (data {d})")
    o = list(d)
    for i, (bi, ei, si) in enumerate(zip(b, e, step)):
        if si == 0:
            raise fail(attrs, f"step={tuple(step)}: the step of axis {i} cannot be 0")
        if d[i]:
            o[i] = len(range(d[i])[slice(bi, ei, si)])
    return _out_only(attrs, outs, tuple(o), ins)


def _slice_region(attrs: Attrs, inputs: list) -> tuple:
    b, e = attrs.begin, attrs.end
    return tuple(slice(*t) for t in zip(b, e, attrs.step or (None,) * len(b)))


declare(
    "slice", "crop", "_npi_slice", "_npx_slice", "_sparse_slice",
    params={"begin": P(BOUNDS), "end": P(BOUNDS), "step": P(BOUNDS, ())},
    infer_shape=_slice_shape, **_slicer(_slice_region),
)


def _slice_axis_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    o = list(d)
    if d[ax]:
        n = d[ax]
        b = attrs.begin + n if attrs.begin < 0 else attrs.begin
        e = n if attrs.end is None else (attrs.end + n if attrs.end < 0 else attrs.end)
        if not 0 <= b < e <= n:  # MXNet refuses empty and out-of-range slices here
            raise fail(attrs, f"begin={attrs.begin}, end={attrs.end} is not a non-empty "
                              f"range of axis {ax} (size {n}) of the input of shape {d}")
        o[ax] = e - b
    return _out_only(attrs, outs, tuple(o), ins)


def _slice_axis_region(attrs: Attrs, inputs: list) -> tuple:
    ax = axis_of(attrs, attrs.axis, inputs[0].ndim)
    return (slice(None),) * ax + (slice(attrs.begin, attrs.end),)


declare(
    "slice_axis", params={"axis": P(INT), "begin": P(INT), "end": P(OPT_INT)},
    infer_shape=_slice_axis_shape, **_slicer(_slice_axis_region),
)


def _slice_like_shape(attrs: Attrs, ins: list, outs: list):
    d, like = ins
    if d is None or like is None:
        return ins, outs
    if not attrs.axes:
        if len(like) != len(d):
            raise fail(attrs, f"shape_like {like} must have as many dims as data {d} "
                              "when axes is empty")
        axes = range(len(d))
    else:
        axes = [axis_of(attrs, a, len(d), "axes") for a in attrs.axes]
    o = list(d)
    for a in axes:
        if a >= len(like):
            raise fail(attrs, f"axes={tuple(attrs.axes)}: axis {a} is out of range for "
                              f"shape_like {like}")
        if d[a] and like[a] > d[a]:
            raise fail(attrs, f"shape_like {like} is larger than data {d} on axis {a}")
        o[a] = like[a]
    return _out_only(attrs, outs, tuple(o), ins)


def _slice_like_region(attrs: Attrs, inputs: list) -> tuple:
    d, like = inputs[0].shape, inputs[1].shape
    return tuple(slice(0, n) for n in _out_shape(attrs, d, like))


declare(
    "slice_like", params={"axes": P(SHAPE, ())}, inputs=("data", "shape_like"),
    infer_shape=_slice_like_shape, infer_type=_lhs_type, **_slicer(_slice_like_region),
)

# ----------------------------------------------------------------------------------------
# Indexing. Index inputs may be of any dtype; the data's dtype flows to the output.


def _index_type(attrs: Attrs, ins: list, outs: list):
    """Data and output share a dtype; the index input may have any (MXNet wants it given)."""
    t = ins[0] if ins[0] is not None else outs[0]
    if t is not None:
        assign_type(attrs, ins, 0, t, attrs.op.list_inputs(attrs))
        assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _take_shape(attrs: Attrs, ins: list, outs: list):
    a, idx = ins
    if a is None or idx is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(a))
    return _out_only(attrs, outs, (*a[:ax], *idx, *a[ax + 1:]), ins)


def _take_forward(attrs, inputs, ctx):
    a, idx = inputs
    ax = axis_of(attrs, attrs.axis, a.ndim)
    return [np.take(a, _as_index(attrs, idx, a.shape[ax], attrs.mode), axis=ax)]


def _take_backward(attrs, out_grads, inputs, outputs, ctx):
    # Rows picked several times sum their gradients: a scatter-add over the flattened indices.
    a, idx = inputs
    ax = axis_of(attrs, attrs.axis, a.ndim)
    i = _as_index(attrs, idx, a.shape[ax], attrs.mode).ravel()
    pre, post = size_of(a.shape[:ax]), size_of(a.shape[ax + 1:])
    g = np.zeros((pre, a.shape[ax], post), dtype=out_grads[0].dtype)
    np.add.at(g, (slice(None), i), out_grads[0].reshape(pre, i.size, post))
    return [g.reshape(a.shape), None]


declare(
    "take", "_npi_take",
    params={"axis": P(INT, 0), "mode": P(enum("clip", "raise", "wrap"), "clip")},
    inputs=("a", "indices"), infer_shape=_take_shape, infer_type=_index_type,
    forward=_take_forward, backward=_take_backward,
)


def _pick_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    if attrs.axis is None:
        o = (1,) * len(d) if attrs.keepdims else scalar_shape()
        assign(attrs, ins, 1, o, names)
        return _out_only(attrs, outs, o, ins)
    ax = axis_of(attrs, attrs.axis, len(d))
    # The index has the output's shape with or without the picked axis kept (as 1): MXNet
    # goes by the index's rank, whatever ``keepdims`` says.
    if ins[1] is not None and len(ins[1]) == len(d):
        assign(attrs, ins, 1, (*d[:ax], 1, *d[ax + 1:]), names)
    else:
        assign(attrs, ins, 1, (*d[:ax], *d[ax + 1:]) or scalar_shape(), names)
    o = (*d[:ax], 1, *d[ax + 1:]) if attrs.keepdims else (*d[:ax], *d[ax + 1:])
    return _out_only(attrs, outs, o or scalar_shape(), ins)


def _pick_where(attrs: Attrs, data: np.ndarray, index: np.ndarray):
    """The data viewed with the picked axis last, and the positions along it (one per row)."""
    if attrs.axis is None:
        raise fail(attrs, "axis=None is not supported by pick yet. Must specify an axis.")
    ax = axis_of(attrs, attrs.axis, data.ndim)
    moved = np.moveaxis(data, ax, -1)
    i = _as_index(attrs, index.reshape(moved.shape[:-1]), moved.shape[-1], attrs.mode)
    return moved, i[..., None]


def _pick_forward(attrs, inputs, ctx):
    data, index = inputs
    o = _out_shape(attrs, data.shape, index.shape)
    moved, i = _pick_where(attrs, data, index)
    return [np.take_along_axis(moved, i, axis=-1).reshape(o)]


def _pick_backward(attrs, out_grads, inputs, outputs, ctx):
    data, index = inputs
    g = np.zeros_like(data, dtype=out_grads[0].dtype)
    moved, i = _pick_where(attrs, g, index)  # a view of g: writing it fills g
    np.put_along_axis(moved, i, out_grads[0].reshape(i.shape), axis=-1)
    return [g, None]


declare(
    "pick", "choose_element_0index", "_npx_pick",
    params={"axis": P(OPT_INT, -1), "keepdims": P(BOOL, False),
            "mode": P(enum("clip", "wrap"), "clip")},
    inputs=("data", "index"), infer_shape=_pick_shape, infer_type=_index_type,
    forward=_pick_forward, backward=_pick_backward,
)


def _one_hot_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    return _out_only(attrs, outs, (*d, attrs.depth), ins)


def _dtype_out(attrs: Attrs, ins: list, outs: list):
    """Output dtype from the ``dtype`` parameter; inputs (indices) may have any dtype."""
    assign_type(attrs, outs, 0, attrs.dtype, attrs.op.list_outputs(attrs))
    return ins, outs


def _one_hot_forward(attrs, inputs, ctx):
    # Indices outside [0, depth) give a row of off_value (MXNet neither clips nor wraps).
    (idx,) = inputs
    with np.errstate(invalid="ignore"):
        i = idx.astype(np.int64).ravel()
    on, off = _cast(np.array([attrs.on_value, attrs.off_value]), attrs.dtype)
    out = np.full((i.size, attrs.depth), off, dtype=attrs.dtype)
    ok = (i >= 0) & (i < attrs.depth)
    out[np.flatnonzero(ok), i[ok]] = on
    return [out.reshape(*idx.shape, attrs.depth)]


_DTYPES = ("bfloat16", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")
_CREATE_DTYPES = ("bfloat16", "bool", *_DTYPES[1:])

declare(
    "one_hot", "_npx_one_hot",
    params={"depth": P(INT), "on_value": P(FLOAT, 1.0), "off_value": P(FLOAT, 0.0),
            "dtype": P(dtypes(*_DTYPES), F32)},
    inputs=("indices",), infer_shape=_one_hot_shape, infer_type=_dtype_out,
    forward=_one_hot_forward, backward=_no_grad,
)


def _check_reps(attrs: Attrs) -> None:
    # MXNet 1.9.1 multiplies each dim by its rep and refuses a negative product (a shape dim
    # must be >= -1), at inference time already, symbolic or imperative.
    bad = [r for r in attrs.reps if r < 0]
    if bad:
        raise fail(attrs, f"reps={tuple(attrs.reps)} holds the negative value {bad[0]} "
                          "(every rep must be >= 0)")


def _tile_shape(attrs: Attrs, ins: list, outs: list):
    _check_reps(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    reps = attrs.reps
    n = max(len(d), len(reps))
    d2 = (1,) * (n - len(d)) + tuple(d)
    r2 = (1,) * (n - len(reps)) + tuple(reps)
    # A rep of 0 gives a 0 dim: unknown in legacy shape semantics (MXNet's
    # ConvertToNumpyShape), so the output is only partially inferred, as in MXNet.
    return _out_only(attrs, outs, tuple(x * r for x, r in zip(d2, r2)), ins)


def _tile_forward(attrs, inputs, ctx):
    _check_reps(attrs)
    if 0 in attrs.reps and not is_np_shape():
        # Legacy shape semantics read the resulting 0 dim as "unknown": MXNet's imperative
        # call fails to infer the output shape. Under np_shape it is an empty array.
        raise fail(attrs, f"reps={tuple(attrs.reps)}: inferring the output shape failed (a "
                          "rep of 0 gives an empty dim, which needs numpy shape semantics, "
                          "mx.np_shape())")
    return [np.tile(inputs[0], attrs.reps)]


def _tile_backward(attrs, out_grads, inputs, outputs, ctx):
    # View the gradient as (r0, d0, r1, d1, ...) and sum the copies (the r axes) away.
    x = inputs[0]
    n = max(x.ndim, len(attrs.reps))
    d = (1,) * (n - x.ndim) + x.shape
    r = (1,) * (n - len(attrs.reps)) + tuple(attrs.reps)
    g = out_grads[0].reshape([v for pair in zip(r, d) for v in pair])
    return [g.sum(axis=tuple(range(0, 2 * n, 2))).reshape(x.shape)]


declare("tile", "_npi_tile", params={"reps": P(SHAPE)}, infer_shape=_tile_shape,
        forward=_tile_forward, backward=_tile_backward)


def _repeat_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    r = attrs.repeats
    if r < 0:
        raise fail(attrs, f"repeats={r} must be non-negative")
    if attrs.axis is None:
        return _out_only(attrs, outs, (size_of(d) * r,), ins)
    ax = axis_of(attrs, attrs.axis, len(d))
    return _out_only(attrs, outs, (*d[:ax], d[ax] * r, *d[ax + 1:]), ins)


def _repeat_forward(attrs, inputs, ctx):
    x = inputs[0]
    _out_shape(attrs, x.shape)
    ax = None if attrs.axis is None else axis_of(attrs, attrs.axis, x.ndim)
    return [np.repeat(x, attrs.repeats, axis=ax)]


def _repeat_backward(attrs, out_grads, inputs, outputs, ctx):
    # Each element's copies sit next to each other along the axis: fold them into a new axis.
    x, r = inputs[0], attrs.repeats
    if attrs.axis is None:
        return [out_grads[0].reshape(x.size, r).sum(axis=1).reshape(x.shape)]
    ax = axis_of(attrs, attrs.axis, x.ndim)
    g = out_grads[0].reshape(*x.shape[:ax], x.shape[ax], r, *x.shape[ax + 1:])
    return [g.sum(axis=ax + 1)]


declare(
    "repeat", "_np_repeat", params={"repeats": P(INT), "axis": P(OPT_INT, None)},
    infer_shape=_repeat_shape, forward=_repeat_forward, backward=_repeat_backward,
)


def _flip_axes(attrs: Attrs, ndim: int) -> tuple[int, ...]:
    bad = [a for a in attrs.axis if not 0 <= a < ndim]
    if bad:  # MXNet 1.9.1 takes no negative axes here
        raise fail(attrs, f"axis={tuple(attrs.axis)}: axis {bad[0]} must be in range "
                          f"[0, {ndim})")
    # MXNet reverses once per listed axis, so an axis listed twice comes back unreversed:
    # only the axes listed an odd number of times are flipped.
    axes, counts = np.unique(np.asarray(attrs.axis, dtype=np.int64), return_counts=True)
    return tuple(int(a) for a in axes[counts % 2 == 1])


def _reverse_forward(attrs, inputs, ctx):
    return [np.flip(inputs[0], _flip_axes(attrs, inputs[0].ndim))]


def _reverse_backward(attrs, out_grads, inputs, outputs, ctx):
    return [np.flip(out_grads[0], _flip_axes(attrs, inputs[0].ndim))]


declare("reverse", "flip", params={"axis": P(SHAPE)}, infer_shape=same_shape,
        forward=_reverse_forward, backward=_reverse_backward)


def _swapaxis_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    a = axis_of(attrs, attrs.dim1, len(d), "dim1")
    b = axis_of(attrs, attrs.dim2, len(d), "dim2")
    o = list(d)
    o[a], o[b] = o[b], o[a]
    return _out_only(attrs, outs, tuple(o), ins)


def _swap(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    return x.swapaxes(axis_of(attrs, attrs.dim1, x.ndim, "dim1"),
                      axis_of(attrs, attrs.dim2, x.ndim, "dim2"))


declare(
    "SwapAxis", "swapaxes", "_npi_swapaxes",
    params={"dim1": P(INT, 0), "dim2": P(INT, 0)}, infer_shape=_swapaxis_shape,
    forward=lambda attrs, inputs, ctx: [_swap(attrs, inputs[0])],
    backward=lambda attrs, out_grads, inputs, outputs, ctx: [_swap(attrs, out_grads[0])],
)


def _merge(attrs: Attrs, a: tuple | None, b: tuple, what: str) -> tuple:
    box = [a]
    assign(attrs, box, 0, b, [what])
    return box[0]


def _where_shape(attrs: Attrs, ins: list, outs: list):
    # MXNet 1.9.1 waits for the condition's shape; then x, y and the output complete each other.
    names = [*attrs.op.list_inputs(attrs), "output"]
    cond = ins[0]
    if not known(cond):  # MXNet needs it fully known, not just its rank
        return ins, outs
    s = None
    for i, x in enumerate((ins[1], ins[2], outs[0])):
        s = _merge(attrs, s, x, names[i + 1]) if x is not None else s
    if s is None:
        return ins, outs
    ins[1] = ins[2] = outs[0] = s
    if tuple(cond) != tuple(s) and (len(cond) != 1 or cond[0] != s[0]):
        if len(cond) == len(s):
            assign(attrs, ins, 0, s, names)
        elif len(cond) == 1:
            raise fail(attrs, f"condition of shape {cond} must have the shape of x {s} or "
                              f"be 1-D of size {s[0]}")
    return ins, outs


def _where_type(attrs: Attrs, ins: list, outs: list):
    t = None
    for x in (ins[1], ins[2], outs[0]):
        if x is not None:
            t = x if t is None else t
    names = attrs.op.list_inputs(attrs)
    if t is not None:
        assign_type(attrs, ins, 1, t, names)
        assign_type(attrs, ins, 2, t, names)
        assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


def _where_mask(attrs: Attrs, cond: np.ndarray, x: np.ndarray) -> np.ndarray:
    """True where x is taken; a 1-D condition picks whole rows (slices along axis 0)."""
    _out_shape(attrs, cond.shape, x.shape, x.shape)
    c = cond != 0
    return c.reshape(-1, *(1,) * (x.ndim - 1)) if c.shape != x.shape else c


def _where_forward(attrs, inputs, ctx):
    cond, x, y = inputs
    if x.shape != y.shape:
        raise fail(attrs, f"x of shape {x.shape} and y of shape {y.shape} must match")
    return [np.where(_where_mask(attrs, cond, x), x, y)]


def _where_backward(attrs, out_grads, inputs, outputs, ctx):
    cond, x, _ = inputs
    g = out_grads[0]
    c = _where_mask(attrs, cond, x)
    zero = np.zeros((), g.dtype)
    return [None, np.where(c, g, zero), np.where(c, zero, g)]


declare("where", "_sparse_where", inputs=("condition", "x", "y"), infer_shape=_where_shape,
        infer_type=_where_type, forward=_where_forward, backward=_where_backward)


def _clip_bounds(attrs: Attrs, x: np.ndarray):
    """The bounds as MXNet holds them (float32 parameters); a float input meets them in its own
    dtype (clipping float64 at 0.7 gives 0.699999988), an integer one compares in float."""
    lo, hi = np.float32(attrs.a_min), np.float32(attrs.a_max)
    if _is_float(x.dtype):
        return x.dtype.type(lo), x.dtype.type(hi)
    return lo, hi


def _clip_forward(attrs, inputs, ctx):
    (x,) = inputs
    lo, hi = _clip_bounds(attrs, x)
    if not _is_float(x.dtype):
        return [np.where(x > hi, _cast(hi, x.dtype), np.where(x < lo, _cast(lo, x.dtype), x))]
    # In inference a dead input may take the result; training keeps x for backward.
    out = x if 0 in ctx.inplace and not ctx.is_train else None
    return [np.clip(x, lo, hi, out=out)]


def _clip_backward(attrs, out_grads, inputs, outputs, ctx):
    (x,) = inputs
    lo, hi = _clip_bounds(attrs, x)
    g = out_grads[0]
    return [np.where((x < lo) | (x > hi), np.zeros((), g.dtype), g)]  # NaN passes, as in MXNet


def _clip_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    (x,), (g,) = inputs, out_grads
    return [F.where((x < attrs.a_min) + (x > attrs.a_max), F.zeros_like(g), g)]


declare("clip", "_npi_clip", "_sparse_clip", params={"a_min": P(FLOAT), "a_max": P(FLOAT)},
        infer_shape=same_shape, forward=_clip_forward, backward=_clip_backward,
        grad_graph=_clip_grad_graph)


def _cast_type(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, attrs.dtype, ["output"])
    return ins, outs


def _cast_forward(attrs, inputs, ctx):
    return [_cast(inputs[0], attrs.dtype)]


def _cast_backward(attrs, out_grads, inputs, outputs, ctx):
    return [_cast(out_grads[0], inputs[0].dtype)]


declare("Cast", "cast", "_npi_cast", "_npx_cast", params={"dtype": P(dtypes(*_CREATE_DTYPES))},
        infer_shape=same_shape, infer_type=_cast_type,
        forward=_cast_forward, backward=_cast_backward)
declare("zeros_like", "_sparse_zeros_like", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [np.zeros_like(inputs[0])], backward=_no_grad)
declare("ones_like", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [np.ones_like(inputs[0])], backward=_no_grad)
declare("_copy", "identity", infer_shape=same_shape,
        forward=lambda attrs, inputs, ctx: [inputs[0].copy()],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [out_grads[0]])

# ----------------------------------------------------------------------------------------
# Broadcasting to a shape.


def _broadcast_to_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    t = attrs.shape
    if len(t) != len(d):
        raise fail(attrs, f"cannot broadcast the input of shape {d} to {t}: ranks differ")
    o = []
    for x, y in zip(d, t):
        if y == 0 or x == y:
            o.append(x)
        elif x == 1:
            o.append(y)
        else:
            raise fail(attrs, f"cannot broadcast the input of shape {d} to {t}")
    return _out_only(attrs, outs, tuple(o), ins)


def _broadcast_forward(attrs, inputs, ctx):
    # A fresh array, not numpy's read-only zero-stride view: MXNet's result is writeable.
    x = inputs[0]
    return [np.array(np.broadcast_to(x, _out_shape(attrs, *(i.shape for i in inputs))))]


def _broadcast_backward(attrs, out_grads, inputs, outputs, ctx):
    return [_unbroadcast(out_grads[0], inputs[0].shape), *([None] * (len(inputs) - 1))]


_BROADCAST = {"forward": _broadcast_forward, "backward": _broadcast_backward}

declare("broadcast_to", params={"shape": P(SHAPE, ())}, infer_shape=_broadcast_to_shape,
        **_BROADCAST)


def _broadcast_like_shape(attrs: Attrs, ins: list, outs: list):
    lhs, rhs = ins
    if lhs is None or rhs is None:
        return ins, outs
    if attrs.lhs_axes is None or attrs.rhs_axes is None:  # MXNet ignores a lone axes tuple
        if len(lhs) != len(rhs):
            raise fail(attrs, f"cannot broadcast lhs of shape {lhs} like rhs of shape {rhs}")
        o = []
        for x, y in zip(lhs, rhs):
            if x != y and x != 1:
                raise fail(attrs, f"cannot broadcast lhs of shape {lhs} like rhs of shape "
                                  f"{rhs}")
            o.append(y)
        return _out_only(attrs, outs, tuple(o), ins)
    la, ra = attrs.lhs_axes, attrs.rhs_axes
    if len(la) != len(ra):
        raise fail(attrs, f"lhs_axes={la} and rhs_axes={ra} must have the same length")
    if not la:
        raise fail(attrs, "lhs_axes and rhs_axes are empty: empty axes tuple is not allowed")
    o = list(lhs)
    for a, b in zip(la, ra):
        a, b = axis_of(attrs, a, len(lhs), "lhs_axes"), axis_of(attrs, b, len(rhs), "rhs_axes")
        if lhs[a] != 1 and lhs[a] != rhs[b]:
            raise fail(attrs, f"cannot broadcast axis {a} of lhs {lhs} to {rhs[b]}")
        o[a] = rhs[b]
    return _out_only(attrs, outs, tuple(o), ins)


declare(
    "broadcast_like", params={"lhs_axes": P(OPT_SHAPE, None), "rhs_axes": P(OPT_SHAPE, None)},
    inputs=("lhs", "rhs"), infer_shape=_broadcast_like_shape, infer_type=_lhs_type,
    **_BROADCAST,
)


def _broadcast_axis_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if len(attrs.axis) != len(attrs.size):
        raise fail(attrs, f"axis={attrs.axis} and size={attrs.size} must have the same length")
    o = list(d)
    for a, s in zip(attrs.axis, attrs.size):
        a = axis_of(attrs, a, len(d))
        if d[a] != 1:
            raise fail(attrs, f"axis {a} of the input of shape {d} must have size 1 to be "
                              "broadcast")
        o[a] = s
    return _out_only(attrs, outs, tuple(o), ins)


declare(
    "broadcast_axis", "broadcast_axes", params={"axis": P(SHAPE, ()), "size": P(SHAPE, ())},
    infer_shape=_broadcast_axis_shape, **_BROADCAST,
)

# ----------------------------------------------------------------------------------------
# Search and sort.


def _reduce_axis_shape(attrs: Attrs, d: tuple, axis, keepdims: bool) -> tuple:
    if axis is None:
        return (1,) * len(d) if keepdims else scalar_shape()
    ax = axis_of(attrs, axis, len(d))
    o = (*d[:ax], 1, *d[ax + 1:]) if keepdims else (*d[:ax], *d[ax + 1:])
    return o or scalar_shape()


def _argmax_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is None:
        return ins, outs
    return _out_only(attrs, outs, _reduce_axis_shape(attrs, ins[0], attrs.axis, attrs.keepdims),
                     ins)


def _arg_reduce(fn):
    # The position comes back in the data's dtype (MXNet's legacy convention); ties and
    # all-equal rows give the first position, as in MXNet.
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        o = _out_shape(attrs, x.shape)
        ax = None if attrs.axis is None else axis_of(attrs, attrs.axis, x.ndim)
        return [np.asarray(fn(x, axis=ax)).astype(x.dtype).reshape(o)]
    return forward


for _name, _fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    declare(_name, params={"axis": P(OPT_INT, None), "keepdims": P(BOOL, False)},
            infer_shape=_argmax_shape, forward=_arg_reduce(_fn), backward=_no_grad)


def _channel_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    if len(d) < 2:
        raise fail(attrs, f"data must have a channel axis (axis 1), got shape {d}")
    return _out_only(attrs, outs, (d[0], *d[2:]), ins)


def _channel_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [np.argmax(x, axis=1).astype(x.dtype)]


# The legacy argmax over axis 1, positions in the data's dtype; MXNet gives it no gradient.
declare("argmax_channel", infer_shape=_channel_shape, forward=_channel_forward)


def _sorted_along(attrs: Attrs, x: np.ndarray) -> tuple[np.ndarray, int]:
    """The data to sort (flattened for ``axis=None``) and the axis to sort it along."""
    if attrs.axis is None:
        return x.reshape(-1), 0
    return x, axis_of(attrs, attrs.axis, x.ndim)


def _order(x: np.ndarray, ax: int, ascend: bool) -> np.ndarray:
    """A stable sort's positions: equal keys keep their input order in both directions, as
    MXNet's CPU sort does (descending [1, 3, 3] gives positions 1, 2, 0)."""
    if ascend:
        return np.argsort(x, axis=ax, kind="stable")
    n = x.shape[ax]
    return np.flip(n - 1 - np.argsort(np.flip(x, ax), axis=ax, kind="stable"), ax)


def _topk_k(attrs: Attrs, n: int) -> int:
    k = attrs.k if attrs.k > 0 else n  # MXNet: k < 1 sorts the whole axis
    if not 0 < k <= n:
        raise fail(attrs, f"k={attrs.k} must be in [1, {n}] (the size of the sorted axis)")
    return k


def _topk_outputs(a: Attrs):
    if a.ret_typ in ("indices", "mask"):
        return ("output",)
    return ("output0", "output1")


def _topk_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    names = attrs.op.list_outputs(attrs)
    if attrs.ret_typ == "mask":
        o = d
    elif attrs.axis is None:
        o = (_topk_k(attrs, size_of(d)),) if known(d) else (attrs.k,)
    else:
        ax = axis_of(attrs, attrs.axis, len(d))
        k = _topk_k(attrs, d[ax]) if d[ax] else attrs.k
        o = (*d[:ax], k, *d[ax + 1:])
    for i in range(len(outs)):
        assign(attrs, outs, i, o, names)
    return ins, outs


def _topk_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else (outs[0] if attrs.ret_typ in ("value", "both",
                                                                          "mask") else None)
    ins[0] = t
    if attrs.ret_typ in ("value", "both"):
        outs = [t, attrs.dtype]
    elif attrs.ret_typ == "mask":
        outs = [t]
    else:
        outs = [attrs.dtype]
    return ins, outs


def _topk_positions(attrs: Attrs, x: np.ndarray):
    xs, ax = _sorted_along(attrs, x)
    k = _topk_k(attrs, xs.shape[ax])
    return xs, ax, np.take(_order(xs, ax, attrs.is_ascend), np.arange(k), axis=ax)


def _topk_forward(attrs, inputs, ctx):
    (x,) = inputs
    xs, ax, pos = _topk_positions(attrs, x)
    ctx.saved["topk"] = pos
    if attrs.ret_typ == "mask":
        mask = np.zeros_like(xs)
        np.put_along_axis(mask, pos, 1, axis=ax)
        return [mask.reshape(x.shape)]
    index = pos.astype(attrs.dtype)
    if attrs.ret_typ == "indices":
        return [index]
    return [np.take_along_axis(xs, pos, axis=ax), index]


def _topk_backward(attrs, out_grads, inputs, outputs, ctx):
    # Only the values carry a gradient: each goes back to the position it came from.
    (x,) = inputs
    if attrs.ret_typ not in ("value", "both"):
        return [None]
    xs, ax = _sorted_along(attrs, x)
    pos = ctx.saved.get("topk")
    if pos is None:
        pos = _topk_positions(attrs, x)[2]
    g = np.zeros(xs.shape, dtype=out_grads[0].dtype)
    np.put_along_axis(g, pos, out_grads[0], axis=ax)
    return [g.reshape(x.shape)]


_SORT_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8")

declare(
    "topk", "_npx_topk",
    params={"axis": P(OPT_INT, -1), "k": P(INT, 1),
            "ret_typ": P(enum("both", "indices", "mask", "value"), "indices"),
            "is_ascend": P(BOOL, False), "dtype": P(dtypes(*_SORT_DTYPES), F32)},
    outputs=_topk_outputs,
    num_visible_outputs=lambda a: 2 if a.ret_typ == "both" else 1,
    infer_shape=_topk_shape, infer_type=_topk_type,
    forward=_topk_forward, backward=_topk_backward,
)


def _sort_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    o = (size_of(d),) if attrs.axis is None else d
    if attrs.axis is not None:
        axis_of(attrs, attrs.axis, len(d))
    for i in range(len(outs)):
        assign(attrs, outs, i, o, attrs.op.list_outputs(attrs))
    return ins, outs


def _sort_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0]
    return [t], [t, F32]


def _sort_forward(attrs, inputs, ctx):
    xs, ax = _sorted_along(attrs, inputs[0])
    pos = ctx.saved["sort"] = _order(xs, ax, attrs.is_ascend)
    return [np.take_along_axis(xs, pos, axis=ax), pos.astype(F32)]


def _sort_backward(attrs, out_grads, inputs, outputs, ctx):
    # MXNet 1.9.1 fails to build this gradient (its _backward_topk gets an empty axis); it is
    # the permutation's transpose.
    xs, ax = _sorted_along(attrs, inputs[0])
    pos = ctx.saved.get("sort")
    if pos is None:
        pos = _order(xs, ax, attrs.is_ascend)
    g = np.zeros(xs.shape, dtype=out_grads[0].dtype)
    np.put_along_axis(g, pos, out_grads[0], axis=ax)
    return [g.reshape(inputs[0].shape)]


declare(
    "sort", "_npi_sort", params={"axis": P(OPT_INT, -1), "is_ascend": P(BOOL, True)},
    outputs=("output0", "output1"), num_visible_outputs=1,
    infer_shape=_sort_shape, infer_type=_sort_type,
    forward=_sort_forward, backward=_sort_backward,
)


def _argsort_type(attrs: Attrs, ins: list, outs: list):
    return ins, [attrs.dtype]


declare(
    "argsort", "_npi_argsort",
    params={"axis": P(OPT_INT, -1), "is_ascend": P(BOOL, True),
            "dtype": P(dtypes(*_SORT_DTYPES), F32)},
    infer_shape=_sort_shape, infer_type=_argsort_type,
    forward=lambda attrs, inputs, ctx: [
        _order(*_sorted_along(attrs, inputs[0]), attrs.is_ascend).astype(attrs.dtype)],
    backward=_no_grad,
)

# ----------------------------------------------------------------------------------------
# Sequence ops: data is (seq, batch, ...) along ``axis`` 0 (or batch-major with axis 1).


def _seq_inputs(a: Attrs):
    return ("data", "sequence_length") if a.use_sequence_length else ("data",)


def _seq_shape(last: bool):
    def infer(attrs: Attrs, ins: list, outs: list):
        names = attrs.op.list_inputs(attrs)
        d = ins[0]
        if d is None:
            return ins, outs
        if len(d) < 2:
            raise fail(attrs, f"data of shape {d} must have at least 2 dims")
        ax = axis_of(attrs, attrs.axis, len(d))
        if attrs.use_sequence_length:
            batch = d[1] if ax == 0 else d[0]
            assign(attrs, ins, 1, (batch,), names)
        o = (*d[:ax], *d[ax + 1:]) if last else d
        return _out_only(attrs, outs, o, ins)
    return infer


def _seq_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0]
    ins[0] = t
    if len(ins) > 1 and ins[1] is None:
        ins[1] = t
    return ins, [t]


def _steps(attrs: Attrs, inputs: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Time steps ``t`` (T, 1) and lengths ``n`` (1, B) as broadcastable int arrays, the batch
    positions (B,), and the time axis. Lengths are truncated toward zero like MXNet's casts;
    without ``use_sequence_length`` every sequence runs the whole axis."""
    x = inputs[0]
    _out_shape(attrs, *(i.shape for i in inputs))
    ax = axis_of(attrs, attrs.axis, x.ndim)
    steps, batch = x.shape[ax], x.shape[1 - ax]
    if attrs.use_sequence_length:
        with np.errstate(invalid="ignore"):
            n = inputs[1].astype(np.int64).reshape(1, batch)
    else:
        n = np.full((1, batch), steps, np.int64)
    return np.arange(steps)[:, None], n, np.arange(batch), ax


def _time_major(x: np.ndarray, ax: int) -> np.ndarray:
    """A (T, B, ...) view of batch-major (``axis=1``) data; time-major data as it is."""
    return x.swapaxes(0, 1) if ax == 1 else x


def _seq_mask(attrs: Attrs, inputs: list):
    t, n, _, ax = _steps(attrs, inputs)
    keep = (t < n).reshape(t.shape[0], n.shape[1], *(1,) * (inputs[0].ndim - 2))
    return keep.swapaxes(0, 1) if ax == 1 else keep


def _seq_mask_forward(attrs, inputs, ctx):
    x = inputs[0]
    value = _cast(np.float32(attrs.value), x.dtype)  # a float32 parameter, like MXNet's
    return [np.where(_seq_mask(attrs, inputs), x, value)]


def _seq_mask_backward(attrs, out_grads, inputs, outputs, ctx):
    g = out_grads[0]
    return [np.where(_seq_mask(attrs, inputs), g, np.zeros((), g.dtype)), None][:len(inputs)]


def _seq_last_rows(attrs: Attrs, inputs: list):
    # A length of 0 (or beyond the data) reads outside the sequence in MXNet (undefined
    # values); here it is clipped to the first or last step.
    _, n, b, ax = _steps(attrs, inputs)
    return np.clip(n[0] - 1, 0, inputs[0].shape[ax] - 1), b, ax


def _seq_last_forward(attrs, inputs, ctx):
    last, b, ax = _seq_last_rows(attrs, inputs)
    return [_time_major(inputs[0], ax)[last, b]]


def _seq_last_backward(attrs, out_grads, inputs, outputs, ctx):
    last, b, ax = _seq_last_rows(attrs, inputs)
    g = np.zeros_like(inputs[0], dtype=out_grads[0].dtype)
    _time_major(g, ax)[last, b] = out_grads[0]
    return [g, None][:len(inputs)]


def _seq_reverse(attrs: Attrs, inputs: list, x: np.ndarray) -> np.ndarray:
    """Each sequence's first n steps reversed, the padding after them in place. The
    permutation is its own inverse, so backward applies it to the head gradient."""
    t, n, b, ax = _steps(attrs, inputs)
    n = np.clip(n, 0, t.shape[0])
    src = np.where(t < n, n - 1 - t, t)  # (T, B): the step each output step reads
    out = _time_major(x, ax)[src, b]
    return out.swapaxes(0, 1) if ax == 1 else out


_SEQ_PARAMS = {"use_sequence_length": P(BOOL, False), "axis": P(INT, 0)}
declare("SequenceMask", "_npx_sequence_mask",
        params={"use_sequence_length": P(BOOL, False), "value": P(FLOAT, 0.0),
                "axis": P(INT, 0)}, inputs=_seq_inputs,
        infer_shape=_seq_shape(False), infer_type=_seq_type,
        forward=_seq_mask_forward, backward=_seq_mask_backward)
declare("SequenceLast", params=dict(_SEQ_PARAMS), inputs=_seq_inputs,
        infer_shape=_seq_shape(True), infer_type=_seq_type,
        forward=_seq_last_forward, backward=_seq_last_backward)
declare("SequenceReverse", params=dict(_SEQ_PARAMS), inputs=_seq_inputs,
        infer_shape=_seq_shape(False), infer_type=_seq_type,
        forward=lambda attrs, inputs, ctx: [_seq_reverse(attrs, inputs, inputs[0])],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [
            _seq_reverse(attrs, inputs, out_grads[0]), None][:len(inputs)])

# ----------------------------------------------------------------------------------------
# Creation: no inputs; shape and dtype come from the parameters.


def _init_shape(attrs: Attrs, ins: list, outs: list):
    return _out_only(attrs, outs, attrs.shape, ins)


def _init_forward(fill):
    def forward(attrs, inputs, ctx):
        return [np.full(attrs.shape, fill(attrs), dtype=attrs.dtype)]
    return forward


_INIT = {"shape": P(SHAPE, ()), "ctx": P(STR, ""), "dtype": P(dtypes(*_CREATE_DTYPES), F32)}
declare("_zeros", params=dict(_INIT), inputs=(), infer_shape=_init_shape,
        infer_type=_dtype_out, forward=_init_forward(lambda a: 0), backward=_no_grad)
declare("_ones", params=dict(_INIT), inputs=(), infer_shape=_init_shape,
        infer_type=_dtype_out, forward=_init_forward(lambda a: 1), backward=_no_grad)
declare("_full", "_npi_full", params={**_INIT, "shape": P(SHAPE, None), "value": P(FLOAT)},
        inputs=(),
        infer_shape=_init_shape, infer_type=_dtype_out,
        forward=_init_forward(lambda a: a.value), backward=_no_grad)


def _arange_len(attrs: Attrs) -> int:
    start, stop, step = attrs.start, attrs.stop, attrs.step
    if stop is None:
        start, stop = 0.0, start
    if step == 0:
        raise fail(attrs, "step cannot be 0")
    n = math.ceil((stop - start) / step)
    if n <= 0:
        raise fail(attrs, f"range [{start}, {stop}) with step {step} is empty")
    return n * attrs.repeat


def _arange_shape(attrs: Attrs, ins: list, outs: list):
    if attrs.infer_range:
        return ins, outs
    return _out_only(attrs, outs, (_arange_len(attrs),), ins)


def _arange_forward(attrs, inputs, ctx):
    start = 0.0 if attrs.stop is None else attrs.start
    n = _arange_len(attrs) // attrs.repeat
    # MXNet computes start + i * step in the output dtype (an int arange truncates the step).
    t = attrs.dtype
    vals = np.asarray(start).astype(t) + np.arange(n).astype(t) * np.asarray(attrs.step).astype(t)
    return [np.repeat(vals.astype(t, copy=False), attrs.repeat)]


declare(
    "_arange",
    params={"start": P(FLOAT), "stop": P(OPT_FLOAT, None), "step": P(FLOAT, 1.0),
            "repeat": P(INT, 1), "infer_range": P(BOOL, False), "ctx": P(STR, ""),
            "dtype": P(dtypes(*_DTYPES), F32)},
    inputs=(), infer_shape=_arange_shape, infer_type=_dtype_out, forward=_arange_forward,
    backward=_no_grad,
)
