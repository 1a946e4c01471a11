"""Spatial sampling and resizing: BilinearResize2D, AdaptiveAvgPooling2D, GridGenerator,
BilinearSampler, SpatialTransformer, Correlation, Crop, the deformable convolutions, and the
single-process forms of SyncBatchNorm and BatchNormWithReLU.

Every kernel is MXNet 1.9.1's CPU kernel restated with numpy: separable resizes are two small
interpolation matrices, point sampling gathers the four neighbours of every sample at once
(and scatters their gradients with one ``bincount``), and the deformable convolutions sample
into an im2col buffer that one batched GEMM consumes. Quirks of MXNet's kernels that change
numbers (its edge clamping, its float32 index arithmetic) are kept and say so where they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._util import (
    BOOL,
    FLOAT,
    INT,
    OPT_BOOL,
    OPT_FLOAT,
    SHAPE,
    STR,
    P,
    assign,
    assign_type,
    declare,
    enum,
    fail,
    opt_enum,
)
from .nn import _acc, _bn_backward, _bn_forward, _bn_shape, _bn_type
from .registry import Attrs, ParamType, same_type

_F32 = np.float32


class _AtLeast(ParamType):
    """An int with MXNet's ``set_lower_bound``: parsing refuses anything smaller."""

    def __init__(self, low: int):
        self.low = low
        self.name = f"int (>= {low})"

    def parse(self, value: Any) -> int:
        v = INT.parse(value)
        if v < self.low:
            raise ValueError(f"{v} is below the lower bound {self.low}")
        return v


NONNEG, POSITIVE = _AtLeast(0), _AtLeast(1)


def _nchw(attrs: Attrs, shape: tuple | None, what: str = "data") -> tuple | None:
    if shape is not None and len(shape) != 4:
        raise fail(attrs, f"{what} of shape {tuple(shape)} must have 4 dims (NCHW)")
    return shape


def _validate(attrs: Attrs, inputs: list) -> None:
    """Shape inference on the actual inputs: imperative calls reach the kernels without it,
    and it is where bad shapes and parameters are reported."""
    attrs.op.shapes(attrs, [tuple(x.shape) for x in inputs])


def _cast(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    return a.astype(like.dtype, copy=False)


# ----------------------------------------------------------------------------------------
# Point sampling shared by BilinearSampler, SpatialTransformer and the deformable
# convolutions: the four neighbours of every sample point, their weights and which of them
# exist.


class _Bilinear:
    """Bilinear samples of (B, C, H, W) images at points ``ys, xs`` of shape (B, P).

    ``mode`` is the edge rule of the kernel being mirrored:

    - ``"zero"`` (BilinearSampler, SpatialTransformer): neighbours outside the image read 0;
    - ``"open"`` (ModulatedDeformableConvolution): the same, and a point outside
      ``(-1, H) x (-1, W)`` samples 0 and passes no coordinate gradient;
    - ``"clamp"`` (DeformableConvolution's CPU kernel): a point outside ``[0, H) x [0, W)``
      samples 0; inside, the last row and column are repeated instead of reading 0.
    """

    def __init__(self, shape: tuple, ys: np.ndarray, xs: np.ndarray, mode: str):
        b, c, h, w = shape
        self.shape = shape
        dt = ys.dtype
        y0f, x0f = np.floor(ys), np.floor(xs)
        ly, lx = ys - y0f, xs - x0f
        y0, x0 = y0f.astype(np.int64), x0f.astype(np.int64)
        y1, x1 = y0 + 1, x0 + 1
        point = None
        if mode == "clamp":
            point = (ys >= 0) & (xs >= 0) & (ys < h) & (xs < w)
            # MXNet's CPU kernel moves a point past the last row onto it: weight 1 there.
            yc, xc = y0 >= h - 1, x0 >= w - 1
            y1 = np.where(yc, h - 1, y1)
            x1 = np.where(xc, w - 1, x1)
            ly = np.where(yc, dt.type(0), ly)
            lx = np.where(xc, dt.type(0), lx)
        elif mode == "open":
            point = (ys > -1) & (xs > -1) & (ys < h) & (xs < w)
        self.point = point
        iy0, iy1 = (y0 >= 0) & (y0 < h), (y1 >= 0) & (y1 < h)
        ix0, ix1 = (x0 >= 0) & (x0 < w), (x1 >= 0) & (x1 < w)
        valid = [iy0 & ix0, iy0 & ix1, iy1 & ix0, iy1 & ix1]
        if point is not None:
            valid = [v & point for v in valid]
        self.valid = valid
        one = dt.type(1)
        self.ly, self.lx = ly, lx
        hy, hx = one - ly, one - lx
        self.weights = [hy * hx * valid[0], hy * lx * valid[1], ly * hx * valid[2],
                        ly * lx * valid[3]]
        flat = [y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1]
        self.index = [np.where(v, f, 0) for v, f in zip(valid, flat)]

    def corners(self, data: np.ndarray) -> list[np.ndarray]:
        """The four neighbours' values, (B, C, P) each, 0 where a neighbour is missing."""
        b, c, h, w = self.shape
        flat = data.reshape(b, c, h * w)
        return [np.take_along_axis(flat, i[:, None, :], axis=2) * v[:, None, :]
                for i, v in zip(self.index, self.valid)]

    def value(self, corners: list[np.ndarray]) -> np.ndarray:
        out = corners[0] * self.weights[0][:, None, :]
        for v, wt in zip(corners[1:], self.weights[1:]):
            out += v * wt[:, None, :]
        return out

    def scatter(self, g: np.ndarray) -> np.ndarray:
        """The data gradient (B, C, H, W) for the gradient ``g`` (B, C, P) of the samples."""
        b, c, h, w = self.shape
        base = (np.arange(b * c, dtype=np.int64) * (h * w)).reshape(b, c, 1)
        idx = np.concatenate([(base + i[:, None, :]).ravel() for i in self.index])
        val = np.concatenate([(g * wt[:, None, :]).ravel() for wt in self.weights])
        out = np.bincount(idx, weights=val, minlength=b * c * h * w)
        return out.reshape(b, c, h, w).astype(g.dtype, copy=False)

    def coord_grads(self, g: np.ndarray, corners: list[np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradients (B, P) of the y and x coordinates, summed over channels."""
        v1, v2, v3, v4 = corners
        one = self.ly.dtype.type(1)
        ly, lx = self.ly[:, None, :], self.lx[:, None, :]
        gy = (g * ((one - lx) * (v3 - v1) + lx * (v4 - v2))).sum(axis=1)
        gx = (g * ((one - ly) * (v2 - v1) + ly * (v4 - v3))).sum(axis=1)
        if self.point is not None:
            gy *= self.point
            gx *= self.point
        return gy, gx


# ----------------------------------------------------------------------------------------
# _contrib_BilinearResize2D


_RESIZE_MODES = ("size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down",
                 "to_odd_up")


def _int16(v: int) -> int:
    # MXNet keeps the new height and width in int16_t.
    return (int(v) + 2 ** 15) % 2 ** 16 - 2 ** 15


def _scaled(attrs: Attrs, name: str, size: int) -> int:
    s = attrs.get(name)
    if s is None:
        raise fail(attrs, f"mode {attrs.mode!r} needs {name}")
    return int(_F32(s) * _F32(size))  # float32 product, truncated, as MXNet computes it


def _resize_hw(attrs: Attrs, d: tuple, like: tuple | None) -> tuple[int, int] | None:
    h, w = d[2], d[3]
    mode = attrs.mode
    if mode == "size":
        # MXNet tests scale_height for both dims: scale_width alone is ignored.
        if attrs.scale_height is None:
            return attrs.height, attrs.width
        return _int16(_scaled(attrs, "scale_height", h)), _int16(_scaled(attrs, "scale_width", w))
    if mode == "odd_scale":
        nh = _scaled(attrs, "scale_height", h) if h % 2 == 0 else \
            _int16(_scaled(attrs, "scale_height", h - 1)) + 1
        nw = _scaled(attrs, "scale_width", w) if w % 2 == 0 else \
            _int16(_scaled(attrs, "scale_width", w - 1)) + 1
        return _int16(nh), _int16(nw)
    if mode == "like":
        if like is None:
            return None
        _nchw(attrs, like, "like")
        return like[2], like[3]
    even, up = mode.startswith("to_even"), mode.endswith("up")
    step = 1 if up else -1
    return tuple(x if (x % 2 == 0) == even else x + step for x in (h, w))


def _resize_shape(attrs: Attrs, ins: list, outs: list):
    d = _nchw(attrs, ins[0])
    if d is None:
        return ins, outs
    hw = _resize_hw(attrs, d, ins[1] if attrs.mode == "like" else None)
    if hw is None:
        return ins, outs
    if any(x <= 0 for x in hw) and all(d[2:]):
        raise fail(attrs, f"mode {attrs.mode!r} resizes data of shape {tuple(d)} to {hw}: "
                          "the output height and width must be positive")
    assign(attrs, outs, 0, (d[0], d[1], *hw), ["output"])
    return ins, outs


def _resize_matrix(n_in: int, n_out: int, align_corners: bool, dtype) -> np.ndarray:
    """(n_out, n_in): row o holds the weights of output o on the input's positions."""
    if n_in == n_out:
        return np.eye(n_out, dtype=dtype)
    dst = np.arange(n_out)
    if n_out > 1:
        scale = _F32(n_in - 1) / _F32(n_out - 1) if align_corners else _F32(n_in) / _F32(n_out)
    else:
        scale = _F32(0)
    if align_corners:
        src = scale * dst.astype(_F32)
    else:
        # float32 scale times a double (index + 0.5), clamped at 0, kept as float32
        src = np.maximum(np.float64(scale) * (dst + 0.5) - 0.5, 0.0).astype(_F32)
    i0 = src.astype(np.int64)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    lam1 = (src - i0.astype(_F32)).astype(dtype)
    m = np.zeros((n_out, n_in), dtype)
    np.add.at(m, (dst, i0), (1 - lam1))
    np.add.at(m, (dst, i1), lam1)
    return m


def _resize_mats(attrs: Attrs, in_hw: tuple, out_hw: tuple, dtype):
    return (_resize_matrix(in_hw[0], out_hw[0], attrs.align_corners, dtype),
            _resize_matrix(in_hw[1], out_hw[1], attrs.align_corners, dtype))


def _resize_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    x = inputs[0]
    like = inputs[1].shape if attrs.mode == "like" else None
    hw = _resize_hw(attrs, x.shape, like)
    xa = _acc(x)
    mh, mw = _resize_mats(attrs, x.shape[2:], hw, xa.dtype)
    y = mh @ (xa @ mw.T)
    return [_cast(y, x)]


def _resize_backward(attrs, out_grads, inputs, outputs, ctx):
    x, dy = inputs[0], _acc(out_grads[0])
    mh, mw = _resize_mats(attrs, x.shape[2:], dy.shape[2:], dy.dtype)
    grads = [_cast(mh.T @ dy @ mw, x)]
    if attrs.mode == "like":
        grads.append(np.zeros_like(inputs[1]))
    return grads


declare(
    "_contrib_BilinearResize2D",
    params={"height": P(POSITIVE, 1), "width": P(POSITIVE, 1),
            "scale_height": P(OPT_FLOAT, None), "scale_width": P(OPT_FLOAT, None),
            "mode": P(enum(*_RESIZE_MODES), "size"), "align_corners": P(BOOL, True)},
    inputs=lambda a: ("data", "like") if a.mode == "like" else ("data",),
    infer_shape=_resize_shape, forward=_resize_forward, backward=_resize_backward,
    doc="Resizes NCHW data by bilinear interpolation (MXNet's _contrib_BilinearResize2D).",
)

# ----------------------------------------------------------------------------------------
# _contrib_AdaptiveAvgPooling2D


def _adaptive_hw(attrs: Attrs) -> tuple[int, int]:
    s = attrs.output_size or ()
    if any(v < 0 for v in s):
        raise fail(attrs, f"output_size={tuple(s)} must not be negative")
    if len(s) == 1:
        return s[0], s[0]
    if len(s) == 2:
        return s[0], s[1]
    return 1, 1  # MXNet's answer for an empty output_size, and for 3 or more dims


def _adaptive_shape(attrs: Attrs, ins: list, outs: list):
    d = _nchw(attrs, ins[0])
    hw = _adaptive_hw(attrs)
    if d is not None:
        assign(attrs, outs, 0, (d[0], d[1], *hw), ["output"])
    return ins, outs


def _adaptive_matrix(n_in: int, n_out: int, dtype) -> np.ndarray:
    """(n_out, n_in) averaging weights: output o averages inputs floor(o*I/O) to
    ceil((o+1)*I/O) - 1, the bounds computed in float32 as MXNet does."""
    o = np.arange(n_out)
    start = np.floor((o * n_in).astype(_F32) / _F32(max(n_out, 1))).astype(np.int64)
    end = np.ceil(((o + 1) * n_in).astype(_F32) / _F32(max(n_out, 1))).astype(np.int64)
    i = np.arange(n_in)
    inside = (i[None, :] >= start[:, None]) & (i[None, :] < end[:, None])
    k = np.maximum(end - start, 1).astype(dtype)
    return inside.astype(dtype) / k[:, None]


def _adaptive_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    x = inputs[0]
    xa = _acc(x)
    oh, ow = _adaptive_hw(attrs)
    ah = _adaptive_matrix(x.shape[2], oh, xa.dtype)
    aw = _adaptive_matrix(x.shape[3], ow, xa.dtype)
    return [_cast(ah @ (xa @ aw.T), x)]


def _adaptive_backward(attrs, out_grads, inputs, outputs, ctx):
    x, dy = inputs[0], _acc(out_grads[0])
    ah = _adaptive_matrix(x.shape[2], dy.shape[2], dy.dtype)
    aw = _adaptive_matrix(x.shape[3], dy.shape[3], dy.dtype)
    return [_cast(ah.T @ dy @ aw, x)]


declare(
    "_contrib_AdaptiveAvgPooling2D",
    params={"output_size": P(SHAPE, ())},
    infer_shape=_adaptive_shape, forward=_adaptive_forward, backward=_adaptive_backward,
    doc="Average pooling to a fixed output size (MXNet's _contrib_AdaptiveAvgPooling2D).",
)

# ----------------------------------------------------------------------------------------
# GridGenerator


def _target(attrs: Attrs) -> tuple[int, int]:
    t = attrs.target_shape
    if t is None or len(t) != 2 or t[0] <= 0 or t[1] <= 0:
        raise fail(attrs, f"target_shape={t} must be 2 positive ints (H, W)")
    return t[0], t[1]


def _grid_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    names = attrs.op.list_outputs(attrs)
    if attrs.transform_type == "affine":
        if len(d) != 2 or d[1] != 6:
            raise fail(attrs, f"data of shape {tuple(d)} must be (batch, 6) affine matrices "
                              "for transform_type 'affine'")
        h, w = _target(attrs)
        assign(attrs, outs, 0, (d[0], 2, h, w), names)
        assign(attrs, outs, 1, (3, h * w), names)
    else:
        if len(d) != 4 or d[1] != 2:
            raise fail(attrs, f"data of shape {tuple(d)} must be (batch, 2, H, W) flows for "
                              "transform_type 'warp'")
        assign(attrs, outs, 0, d, names)
        assign(attrs, outs, 1, (2, d[2], d[3]), names)
    return ins, outs


def _affine_grid_dst(h: int, w: int, dtype) -> np.ndarray:
    """GridGenerator's (3, h*w) target grid: x and y in [-1, 1], then ones. The steps are
    2 / (n - 1) rounded to the data's dtype, as MXNet's scalar<DType> rounds them."""
    j = np.arange(h * w, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        sx, sy = dtype.type(2.0 / (w - 1) if w > 1 else np.inf), \
            dtype.type(2.0 / (h - 1) if h > 1 else np.inf)
        col = j - (j / dtype.type(w)).astype(np.int64).astype(dtype) * dtype.type(w)
        row = (j / dtype.type(w)).astype(np.int64).astype(dtype)
        return np.stack([dtype.type(-1) + col * sx, dtype.type(-1) + row * sy,
                         np.ones_like(j)])


def _warp_scale(dtype, h: int, w: int) -> np.ndarray:
    return np.array([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dtype).reshape(1, 2, 1, 1)


def _grid_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    x = inputs[0]
    xa = _acc(x)
    dt = xa.dtype
    if attrs.transform_type == "affine":
        h, w = _target(attrs)
        dst = _affine_grid_dst(h, w, dt)
        out = (xa.reshape(-1, 3) @ dst).reshape(x.shape[0], 2, h, w)
        return [_cast(out, x), _cast(dst, x)]
    n, _, h, w = x.shape
    dst = np.stack([np.broadcast_to(np.arange(w, dtype=dt), (h, w)),
                    np.broadcast_to(np.arange(h, dtype=dt)[:, None], (h, w))])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (xa + dst) / _warp_scale(dt, h, w) - dt.type(1)
    return [_cast(out, x), _cast(dst, x)]


def _grid_backward(attrs, out_grads, inputs, outputs, ctx):
    x, dy = inputs[0], _acc(out_grads[0])
    if attrs.transform_type == "affine":
        dst = _acc(outputs[1])
        g = dy.reshape(x.shape[0] * 2, -1) @ dst.T
        return [_cast(g.reshape(x.shape), x)]
    with np.errstate(divide="ignore", invalid="ignore"):
        return [_cast(dy / _warp_scale(dy.dtype, x.shape[2], x.shape[3]), x)]


declare(
    "GridGenerator",
    params={"transform_type": P(enum("affine", "warp")), "target_shape": P(SHAPE, (0, 0))},
    outputs=("output", "grid_dst"), num_visible_outputs=1,
    infer_shape=_grid_shape, forward=_grid_forward, backward=_grid_backward,
    doc="Sampling grids for BilinearSampler from affine matrices or optical flow.",
)

# ----------------------------------------------------------------------------------------
# BilinearSampler


def _sampler_shape(attrs: Attrs, ins: list, outs: list):
    d, g = _nchw(attrs, ins[0]), _nchw(attrs, ins[1], "grid")
    if d is None or g is None:
        return ins, outs
    if g[1] != 2 or (d[0] and g[0] and d[0] != g[0]):
        raise fail(attrs, f"grid of shape {tuple(g)} must be (batch, 2, H, W) with the batch "
                          f"of data {tuple(d)}")
    names = attrs.op.list_outputs(attrs)
    assign(attrs, outs, 0, (d[0], d[1], g[2], g[3]), names)
    assign(attrs, outs, 1, (g[0], g[2], g[3], 2), names)
    return ins, outs


def _pixel_coords(grid_xy: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) pixel positions of normalised (x, y) grid rows: (v + 1) * (n - 1) / 2."""
    dt = grid_xy.dtype
    x = (grid_xy[:, 0] + dt.type(1)) * dt.type(w - 1) / dt.type(2)
    y = (grid_xy[:, 1] + dt.type(1)) * dt.type(h - 1) / dt.type(2)
    return y, x


def _sample_grid(data: np.ndarray, grid: np.ndarray):
    """Samples of data (N, C, H, W) at a grid (N, 2, P): the sampler and its corners."""
    n, c, h, w = data.shape
    y, x = _pixel_coords(grid, h, w)
    s = _Bilinear(data.shape, y, x, "zero")
    return s, s.corners(data)


def _grid_grads(s: _Bilinear, corners, g: np.ndarray, h: int, w: int):
    """(data gradient, grid gradient (N, 2, P)) for the gradient g (N, C, P) of samples."""
    gy, gx = s.coord_grads(g, corners)
    dt = g.dtype
    return s.scatter(g), np.stack([gx * dt.type(w - 1) / dt.type(2),
                                   gy * dt.type(h - 1) / dt.type(2)], axis=1)


def _sampler_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    data, grid = inputs
    d, gr = _acc(data), _acc(grid)
    n, c = data.shape[:2]
    gh, gw = grid.shape[2:]
    s, corners = _sample_grid(d, gr.reshape(n, 2, gh * gw))
    out = s.value(corners).reshape(n, c, gh, gw)
    return [_cast(out, data), np.zeros((n, gh, gw, 2), data.dtype)]


def _sampler_backward(attrs, out_grads, inputs, outputs, ctx):
    data, grid = inputs
    d, gr = _acc(data), _acc(grid)
    n, c, h, w = data.shape
    gh, gw = grid.shape[2:]
    s, corners = _sample_grid(d, gr.reshape(n, 2, gh * gw))
    g = _acc(out_grads[0]).reshape(n, c, gh * gw)
    dd, dg = _grid_grads(s, corners, g, h, w)
    return [_cast(dd, data), _cast(dg.reshape(grid.shape), grid)]


declare(
    "BilinearSampler",
    params={"cudnn_off": P(OPT_BOOL, None)},
    inputs=("data", "grid"), outputs=("output", "tmp"), num_visible_outputs=1,
    infer_shape=_sampler_shape, forward=_sampler_forward, backward=_sampler_backward,
    doc="Bilinear samples of data at a normalised grid; outside the image reads 0.",
)

# ----------------------------------------------------------------------------------------
# SpatialTransformer


def _st_shape(attrs: Attrs, ins: list, outs: list):
    d, loc = _nchw(attrs, ins[0]), ins[1]
    h, w = _target(attrs)
    names = attrs.op.list_outputs(attrs)
    assign(attrs, outs, 1, (3, h * w), names)
    if d is None:
        return ins, outs
    if loc is not None and (len(loc) != 2 or loc[1] != 6):
        raise fail(attrs, f"loc of shape {tuple(loc)} must be (batch, 6) for transform_type "
                          "'affine'")
    assign(attrs, outs, 0, (d[0], d[1], h, w), names)
    assign(attrs, outs, 2, (d[0], 2, h * w), names)
    return ins, outs


def _st_grid_dst(h: int, w: int, dtype) -> np.ndarray:
    # computed in double and rounded once, as SpatialTransformer's host loop does
    i = np.arange(h * w)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = -1.0 + (i % w) * 2.0 / np.float64(w - 1)
        y = -1.0 + (i // w) * 2.0 / np.float64(h - 1)
    return np.stack([x, y, np.ones(h * w)]).astype(dtype)


def _st_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    data, loc = inputs
    d = _acc(data)
    n, c = data.shape[:2]
    h, w = _target(attrs)
    dst = _st_grid_dst(h, w, d.dtype)
    src = _acc(loc).reshape(n, 2, 3) @ dst  # (n, 2, h*w): x then y
    s, corners = _sample_grid(d, src)
    out = s.value(corners).reshape(n, c, h, w)
    return [_cast(out, data), _cast(dst, data), _cast(src, data)]


def _st_backward(attrs, out_grads, inputs, outputs, ctx):
    data, loc = inputs
    d = _acc(data)
    n, c, ih, iw = data.shape
    dst, src = _acc(outputs[1]), _acc(outputs[2])
    s, corners = _sample_grid(d, src)
    g = _acc(out_grads[0]).reshape(n, c, -1)
    dd, dsrc = _grid_grads(s, corners, g, ih, iw)
    dloc = dsrc @ dst.T
    return [_cast(dd, data), _cast(dloc.reshape(loc.shape), loc)]


declare(
    "SpatialTransformer",
    params={"target_shape": P(SHAPE, (0, 0)), "transform_type": P(enum("affine")),
            "sampler_type": P(enum("bilinear")), "cudnn_off": P(OPT_BOOL, None)},
    inputs=("data", "loc"), outputs=("output", "grid_dst", "grid_src"), num_visible_outputs=1,
    infer_shape=_st_shape, forward=_st_forward, backward=_st_backward,
    doc="An affine spatial transformer: GridGenerator and BilinearSampler in one operator.",
)

# ----------------------------------------------------------------------------------------
# Correlation


def _corr_geometry(attrs: Attrs, shape: tuple) -> dict:
    k, md, s1, s2, pad = (attrs.kernel_size, attrs.max_displacement, attrs.stride1,
                          attrs.stride2, attrs.pad_size)
    if k % 2 == 0:
        raise fail(attrs, f"kernel_size={k} must be odd")
    if s1 < 1 or s2 < 1:
        raise fail(attrs, f"stride1={s1} and stride2={s2} must be positive")
    ph, pw = shape[2] + 2 * pad, shape[3] + 2 * pad
    border = md + (k - 1) // 2
    top_h = math.ceil(_F32(ph - 2 * border) / _F32(s1))
    top_w = math.ceil(_F32(pw - 2 * border) / _F32(s1))
    if top_h < 1 or top_w < 1:
        raise fail(attrs, f"data of shape {tuple(shape)} is too small for kernel_size={k}, "
                          f"max_displacement={md} and pad_size={pad}: Neighborhood and kernel "
                          "don't fit in blob")
    radius = md // s2
    return {"k": k, "md": md, "s1": s1, "s2": s2, "pad": pad, "ph": ph, "pw": pw,
            "top_h": top_h, "top_w": top_w, "radius": radius, "grid": 2 * radius + 1}


def _corr_shape(attrs: Attrs, ins: list, outs: list):
    d1, d2 = _nchw(attrs, ins[0], "data1"), _nchw(attrs, ins[1], "data2")
    if d1 is None:
        return ins, outs
    if d2 is not None and all(d2) and all(d1) and tuple(d1) != tuple(d2):
        raise fail(attrs, f"data1 {tuple(d1)} and data2 {tuple(d2)} must have one shape")
    if not all(d1[2:]):
        return ins, outs
    g = _corr_geometry(attrs, d1)
    names = attrs.op.list_outputs(attrs)
    assign(attrs, outs, 0, (d1[0], g["grid"] ** 2, g["top_h"], g["top_w"]), names)
    for i in (1, 2):
        assign(attrs, outs, i, (d1[0], g["ph"], g["pw"], d1[1]), names)
    return ins, outs


def _corr_views(g: dict, p1: np.ndarray, p2: np.ndarray):
    """Per displacement channel: (channel, the data1 region, the shifted data2 region,
    (row, col) slices of data2's region) over the rows and columns the windows cover."""
    md, s2, r, k = g["md"], g["s2"], g["radius"], g["k"]
    rows = (g["top_h"] - 1) * g["s1"] + k
    cols = (g["top_w"] - 1) * g["s1"] + k
    a = p1[:, :, md:md + rows, md:md + cols]
    for tc in range(g["grid"] ** 2):
        dy = (tc // g["grid"] - r) * s2
        dx = (tc % g["grid"] - r) * s2
        sl = (slice(md + dy, md + dy + rows), slice(md + dx, md + dx + cols))
        yield tc, a, p2[:, :, sl[0], sl[1]], sl


def _window_sum(m: np.ndarray, g: dict) -> np.ndarray:
    """Sums of k x k windows of m (N, rows, cols) at stride1: (N, top_h, top_w)."""
    k, s1 = g["k"], g["s1"]
    win = np.lib.stride_tricks.sliding_window_view(m, (k, k), axis=(1, 2))
    return win[:, ::s1, ::s1].sum(axis=(3, 4))


def _window_spread(t: np.ndarray, g: dict) -> np.ndarray:
    """The transpose of :func:`_window_sum`: each value of t added over its k x k window."""
    k, s1 = g["k"], g["s1"]
    n, th, tw = t.shape
    rows, cols = (th - 1) * s1 + k, (tw - 1) * s1 + k
    out = np.zeros((n, rows, cols), t.dtype)
    for i in range(k):
        for j in range(k):
            out[:, i:i + (th - 1) * s1 + 1:s1, j:j + (tw - 1) * s1 + 1:s1] += t
    return out


def _padded(x: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


def _corr_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    x1, x2 = inputs
    if x1.shape != x2.shape:
        raise fail(attrs, f"data1 {x1.shape} and data2 {x2.shape} must have one shape")
    g = _corr_geometry(attrs, x1.shape)
    p1, p2 = _padded(_acc(x1), g["pad"]), _padded(_acc(x2), g["pad"])
    n, c = x1.shape[:2]
    out = np.empty((n, g["grid"] ** 2, g["top_h"], g["top_w"]), p1.dtype)
    for tc, a, b, _ in _corr_views(g, p1, p2):
        m = (a * b).sum(axis=1) if attrs.is_multiply else np.abs(a - b).sum(axis=1)
        out[:, tc] = _window_sum(m, g)
    out /= p1.dtype.type(g["k"] * g["k"] * c)
    tmp = [np.ascontiguousarray(p.transpose(0, 2, 3, 1)) for p in (p1, p2)]
    return [_cast(out, x1), _cast(tmp[0], x1), _cast(tmp[1], x1)]


def _corr_backward(attrs, out_grads, inputs, outputs, ctx):
    x1, x2 = inputs
    g = _corr_geometry(attrs, x1.shape)
    pad, md = g["pad"], g["md"]
    p1, p2 = _padded(_acc(x1), pad), _padded(_acc(x2), pad)
    n, c = x1.shape[:2]
    dy = _acc(out_grads[0]) / p1.dtype.type(g["k"] * g["k"] * c)
    g1, g2 = np.zeros_like(p1), np.zeros_like(p2)
    for tc, a, b, sl in _corr_views(g, p1, p2):
        spread = _window_spread(dy[:, tc], g)[:, None]
        rows, cols = spread.shape[2:]
        if attrs.is_multiply:
            d1, d2 = spread * b, spread * a
        else:
            # MXNet's sign: +1 for data1 where data1 >= data2, -1 otherwise; the opposite
            # for data2
            sign = np.where(a >= b, p1.dtype.type(1), p1.dtype.type(-1))
            d1, d2 = spread * sign, -spread * sign
        g1[:, :, md:md + rows, md:md + cols] += d1
        g2[:, :, sl[0], sl[1]] += d2
    h, w = x1.shape[2:]
    return [_cast(g1[:, :, pad:pad + h, pad:pad + w], x1),
            _cast(g2[:, :, pad:pad + h, pad:pad + w], x2)]


declare(
    "Correlation",
    params={"kernel_size": P(NONNEG, 1), "max_displacement": P(NONNEG, 1),
            "stride1": P(NONNEG, 1), "stride2": P(NONNEG, 1), "pad_size": P(NONNEG, 0),
            "is_multiply": P(BOOL, True)},
    inputs=("data1", "data2"), outputs=("output", "tmp1", "tmp2"), num_visible_outputs=1,
    infer_shape=_corr_shape, forward=_corr_forward, backward=_corr_backward,
    doc="FlowNet's correlation of two feature maps over a neighbourhood of displacements.",
)

# ----------------------------------------------------------------------------------------
# Crop (legacy)


def _crop_hw(attrs: Attrs, d: tuple, like: tuple | None) -> tuple[int, int] | None:
    if attrs.num_args == 1:
        hw = attrs.h_w
        if len(hw) != 2 or not (1 <= hw[0] <= d[2]) or not (1 <= hw[1] <= d[3]):
            raise fail(attrs, f"h_w={tuple(hw)} must be a crop (height, width) of at least 1 "
                              f"and at most the data's {tuple(d[2:])}")
        return hw[0], hw[1]
    if like is None:
        return None
    if len(like) < 4:
        raise fail(attrs, f"crop_like of shape {tuple(like)} must have 4 dims")
    return like[2], like[3]


def _crop_offset(attrs: Attrs, d: tuple, hw: tuple) -> tuple[int, int]:
    if hw[0] > d[2] or hw[1] > d[3]:
        raise fail(attrs, f"the crop {tuple(hw)} is larger than the data's {tuple(d[2:])}")
    if attrs.center_crop:
        return (d[2] - hw[0]) // 2, (d[3] - hw[1]) // 2
    off = attrs.offset
    if len(off) != 2 or not (0 <= off[0] <= d[2] - hw[0]) or not (0 <= off[1] <= d[3] - hw[1]):
        raise fail(attrs, f"offset={tuple(off)} must lie in [0, {d[2] - hw[0]}] x "
                          f"[0, {d[3] - hw[1]}] to crop {tuple(hw)} from {tuple(d[2:])}")
    return off[0], off[1]


def _crop_check(attrs: Attrs) -> None:
    if attrs.num_args not in (1, 2):
        raise fail(attrs, f"num_args={attrs.num_args} must be 1 (crop to h_w) or 2 (crop to "
                          "the second input's height and width)")


def _crop_shape(attrs: Attrs, ins: list, outs: list):
    _crop_check(attrs)
    d = _nchw(attrs, ins[0])
    if d is None:
        return ins, outs
    hw = _crop_hw(attrs, d, ins[1] if attrs.num_args == 2 else None)
    if hw is not None:
        assign(attrs, outs, 0, (d[0], d[1], *hw), ["output"])
    return ins, outs


def _crop_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    _crop_check(attrs)
    x = inputs[0]
    _nchw(attrs, x.shape)
    hw = _crop_hw(attrs, x.shape, inputs[1].shape if attrs.num_args == 2 else None)
    oy, ox = _crop_offset(attrs, x.shape, hw)
    return [x[:, :, oy:oy + hw[0], ox:ox + hw[1]].copy()]


def _crop_backward(attrs, out_grads, inputs, outputs, ctx):
    x, dy = inputs[0], out_grads[0]
    oy, ox = _crop_offset(attrs, x.shape, dy.shape[2:])
    dx = np.zeros_like(x)
    dx[:, :, oy:oy + dy.shape[2], ox:ox + dy.shape[3]] = dy
    # crop_like only lends its shape: MXNet writes it a zero gradient
    return [dx] + [np.zeros_like(a) for a in inputs[1:]]


declare(
    "Crop",
    params={"num_args": P(INT), "offset": P(SHAPE, (0, 0)), "h_w": P(SHAPE, (0, 0)),
            "center_crop": P(BOOL, False)},
    inputs=lambda a: tuple(f"arg{i}" for i in range(a.num_args)), key_var_num_args="num_args",
    infer_shape=_crop_shape, infer_type=same_type, forward=_crop_forward,
    backward=_crop_backward,
    doc="Crops the height and width of NCHW data (deprecated in MXNet: use slice).",
)

# ----------------------------------------------------------------------------------------
# _contrib_DeformableConvolution and _contrib_ModulatedDeformableConvolution


def _dconv_params(modulated: bool) -> dict:
    p = {"kernel": P(SHAPE), "stride": P(SHAPE, ()), "dilate": P(SHAPE, ()), "pad": P(SHAPE, ()),
         "num_filter": P(POSITIVE), "num_group": P(POSITIVE, 1),
         "num_deformable_group": P(POSITIVE, 1), "workspace": P(NONNEG, 1024),
         "no_bias": P(BOOL, False)}
    if modulated:
        p["im2col_step"] = P(POSITIVE, 64)
    p["layout"] = P(opt_enum("NCDHW", "NCHW", "NCW"), None)
    return p


def _dconv_inputs(modulated: bool):
    head = ("data", "offset", "mask", "weight") if modulated else ("data", "offset", "weight")
    return lambda a: head if a.no_bias else (*head, "bias")


def _dconv_geometry(attrs: Attrs) -> dict:
    if len(attrs.kernel) != 2:
        raise fail(attrs, f"kernel={tuple(attrs.kernel)}: only 2-D kernels are implemented "
                          "(as in MXNet)")
    if attrs.layout not in (None, "NCHW"):
        raise fail(attrs, f"layout={attrs.layout!r} does not fit a 2-D kernel: use NCHW")

    def get(name, fill):
        v = tuple(attrs.get(name) or (fill, fill))
        if len(v) != 2 or min(v) < fill:
            raise fail(attrs, f"{name}={v} must be 2 ints of at least {fill}, like kernel")
        return v
    kh, kw = attrs.kernel
    if kh < 1 or kw < 1:
        raise fail(attrs, f"kernel={tuple(attrs.kernel)} must be positive")
    return {"kernel": (kh, kw), "stride": get("stride", 1), "dilate": get("dilate", 1),
            "pad": get("pad", 0)}


def _dconv_out_hw(geo: dict, h: int, w: int) -> tuple[int, int]:
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (geo["kernel"], geo["stride"], geo["dilate"],
                                              geo["pad"])
    return ((h + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1,
            (w + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1)


def _dconv_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    modulated = "mask" in names
    geo = _dconv_geometry(attrs)
    d = _nchw(attrs, ins[0])
    if d is None:
        return ins, outs
    for i in (1, 2) if modulated else (1,):
        _nchw(attrs, ins[i], names[i])
    kh, kw = geo["kernel"]
    g, dg, f = attrs.num_group, attrs.num_deformable_group, attrs.num_filter
    if d[1] % g or d[1] % dg or f % g:
        raise fail(attrs, f"the {d[1]} input channels must divide by num_group={g} and "
                          f"num_deformable_group={dg}, and num_filter={f} by num_group")
    if modulated and f % dg:
        raise fail(attrs, f"num_filter={f} must divide by num_deformable_group={dg}")
    if modulated and d[0] > attrs.im2col_step and d[0] % attrs.im2col_step:
        raise fail(attrs, f"the batch of {d[0]} must be at most or divide by "
                          f"im2col_step={attrs.im2col_step}")
    w_i = names.index("weight")
    assign(attrs, ins, w_i, (f, d[1] // g, kh, kw), names)
    if not attrs.no_bias:
        assign(attrs, ins, w_i + 1, (f,), names)
    for ax, x, k, p in ((2, d[2], kh, geo["pad"][0]), (3, d[3], kw, geo["pad"][1])):
        if x and (geo["dilate"][ax - 2] * (k - 1) + 1) > x + 2 * p:
            raise fail(attrs, f"kernel size {tuple(attrs.kernel)} exceeds the padded input "
                              f"{tuple(d)}")
    oh, ow = _dconv_out_hw(geo, d[2], d[3]) if d[2] and d[3] else (0, 0)
    assign(attrs, outs, 0, (d[0], f, oh, ow), ["output"])
    channels = {1: 2 * kh * kw * dg}
    if modulated:
        channels[2] = kh * kw * dg
    for i, ch in channels.items():
        s = ins[i]
        if s is None:
            continue
        if (oh and s[2] and s[2] != oh) or (ow and s[3] and s[3] != ow) or (s[1] and s[1] != ch):
            raise fail(attrs, f"{names[i]} of shape {tuple(s)} must be ({d[0]}, {ch}, {oh}, {ow})"
                              f" for the output's height and width and num_deformable_group={dg}")
    return ins, outs


def _dconv_sampler(attrs: Attrs, geo: dict, x: np.ndarray, offset: np.ndarray, mode: str):
    """The sampler of every kernel tap at every output position, per deformable group, and
    the images it samples: images (N*DG, C/DG, H, W), points (N*DG, K*P), tap-major."""
    n, c, h, w = x.shape
    dg = attrs.num_deformable_group
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (geo["kernel"], geo["stride"], geo["dilate"],
                                              geo["pad"])
    oh, ow = offset.shape[2:]
    k = kh * kw
    off = offset.reshape(n, dg, k, 2, oh, ow)
    dt = off.dtype
    tap_y = (np.arange(kh) * dh).repeat(kw)[:, None, None]  # (K, 1, 1), tap i * kw + j
    tap_x = np.tile(np.arange(kw) * dw, kh)[:, None, None]
    base_y = (np.arange(oh) * sh - ph)[None, :, None] + tap_y
    base_x = (np.arange(ow) * sw - pw)[None, None, :] + tap_x
    ys = (base_y.astype(dt) + off[:, :, :, 0]).reshape(n * dg, k * oh * ow)
    xs = (base_x.astype(dt) + off[:, :, :, 1]).reshape(n * dg, k * oh * ow)
    shape = (n * dg, c // dg, h, w)
    return _Bilinear(shape, ys, xs, mode), x.reshape(shape)


def _dconv_run(attrs, inputs, modulated: bool):
    geo = _dconv_geometry(attrs)
    x, offset = _acc(inputs[0]), _acc(inputs[1])
    mask = _acc(inputs[2]) if modulated else None
    weight = _acc(inputs[3 if modulated else 2])
    n, c, h, w = x.shape
    oh, ow = _dconv_out_hw(geo, h, w)
    if offset.shape[2:] != (oh, ow):
        raise fail(attrs, f"offset of shape {offset.shape} must have the output's height and "
                          f"width {(oh, ow)}")
    sampler, imgs = _dconv_sampler(attrs, geo, x, offset, "open" if modulated else "clamp")
    corners = sampler.corners(imgs)
    vals = sampler.value(corners)  # (N*DG, C/DG, K*P)
    k, p = geo["kernel"][0] * geo["kernel"][1], oh * ow
    cols = vals if mask is None else vals * mask.reshape(n * attrs.num_deformable_group, 1, k * p)
    g = attrs.num_group
    # (N, C, K, P) in MXNet's column order (c, kernel tap), grouped for the GEMM
    cols = cols.reshape(n, g, (c // g) * k, p)
    return geo, x, offset, mask, weight, sampler, imgs, corners, vals, cols


def _dconv_forward_impl(attrs, inputs, modulated: bool):
    _validate(attrs, inputs)
    geo, x, offset, mask, weight, *_, cols = _dconv_run(attrs, inputs, modulated)
    n, g, f = x.shape[0], attrs.num_group, attrs.num_filter
    wm = weight.reshape(g, f // g, -1)
    y = np.matmul(wm, cols)  # (N, G, F/G, P)
    oh, ow = offset.shape[2:]
    y = y.reshape(n, f, oh, ow)
    if not attrs.no_bias:
        y += _acc(inputs[-1]).reshape(1, f, 1, 1)
    return [_cast(y, inputs[0])]


def _dconv_backward_impl(attrs, out_grads, inputs, modulated: bool):
    (geo, x, offset, mask, weight, sampler, _, corners, vals,
     cols) = _dconv_run(attrs, inputs, modulated)
    n, c = x.shape[:2]
    g, f, dg = attrs.num_group, attrs.num_filter, attrs.num_deformable_group
    kh, kw = geo["kernel"]
    k = kh * kw
    oh, ow = offset.shape[2:]
    p = oh * ow
    dy = _acc(out_grads[0]).reshape(n, g, f // g, p)
    wm = weight.reshape(g, f // g, -1)
    dweight = np.einsum("ngfp,ngkp->gfk", dy, cols).reshape(weight.shape)
    dcols = np.matmul(wm.transpose(0, 2, 1), dy)  # (N, G, C/G*K, P)
    dvals = dcols.reshape(n * dg, c // dg, k * p)  # gradient of the (masked) samples
    if modulated:
        m = mask.reshape(n * dg, 1, k * p)
        dmask = (dvals * vals).sum(axis=1)
        if sampler.point is not None:
            dmask *= sampler.point
        dvals = dvals * m
    dx = sampler.scatter(dvals).reshape(x.shape)
    gy, gx = sampler.coord_grads(dvals, corners)
    doff = np.stack([gy.reshape(n, dg, k, p), gx.reshape(n, dg, k, p)], axis=3)
    grads = [_cast(dx, inputs[0]), _cast(doff.reshape(offset.shape), inputs[1])]
    if modulated:
        grads.append(_cast(dmask.reshape(mask.shape), inputs[2]))
    grads.append(_cast(dweight, inputs[len(grads)]))
    if not attrs.no_bias:
        grads.append(_cast(dy.sum(axis=(0, 3)).reshape(f), inputs[-1]))
    return grads


def _dconv_type(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    t = ins[0]
    if t is None:
        return ins, outs
    for i in range(1, len(ins)):
        assign_type(attrs, ins, i, t, names)
    assign_type(attrs, outs, 0, t, ["output"])
    return ins, outs


declare(
    "_contrib_DeformableConvolution",
    params=_dconv_params(modulated=False), inputs=_dconv_inputs(False),
    infer_shape=_dconv_shape, infer_type=_dconv_type,
    forward=lambda attrs, inputs, ctx: _dconv_forward_impl(attrs, inputs, False),
    backward=lambda attrs, out_grads, inputs, outputs, ctx: _dconv_backward_impl(
        attrs, out_grads, inputs, False),
    doc="Deformable convolution (Dai et al., 2017): kernel taps moved by learned offsets.",
)

declare(
    "_contrib_ModulatedDeformableConvolution",
    params=_dconv_params(modulated=True), inputs=_dconv_inputs(True),
    infer_shape=_dconv_shape, infer_type=_dconv_type,
    forward=lambda attrs, inputs, ctx: _dconv_forward_impl(attrs, inputs, True),
    backward=lambda attrs, out_grads, inputs, outputs, ctx: _dconv_backward_impl(
        attrs, out_grads, inputs, True),
    doc="Modulated deformable convolution (DCNv2): offsets and a per-tap mask.",
)

# ----------------------------------------------------------------------------------------
# _contrib_SyncBatchNorm and _contrib_BatchNormWithReLU: BatchNorm's kernels (ops/nn.py).


class _ChannelAxis1:
    """SyncBatchNorm's parameters seen as BatchNorm's: its channel axis is always 1."""

    __slots__ = ("_attrs",)

    def __init__(self, attrs: Attrs):
        self._attrs = attrs

    axis = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._attrs, name)


def _sync_bn_check(attrs: Attrs) -> None:
    # MXNet's forward waits at a barrier until ndev devices have brought their statistics:
    # with mxlite's one device, any other count would wait forever.
    if attrs.ndev != 1:
        raise fail(attrs, f"ndev={attrs.ndev}: mxlite runs on one device, so the statistics "
                          "of only 1 device can be synchronised (ndev=1)")


def _sync_bn_shape(attrs: Attrs, ins: list, outs: list):
    _sync_bn_check(attrs)
    if ins[0] is not None and len(ins[0]) < 2:
        raise fail(attrs, f"data of shape {tuple(ins[0])} needs a channel axis 1")
    return _bn_shape(_ChannelAxis1(attrs), ins, outs)


_BN_VAR_ATTRS = {"moving_mean": {"__init__": '["zero", {}]'},
                 "moving_var": {"__init__": '["one", {}]'}}


def _sync_bn_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    # One process holds every device's batch, so the synchronised statistics are the batch's.
    # MXNet's third output is the variance here, not BatchNorm's 1 / sqrt(var + eps).
    _sync_bn_check(attrs)
    y, mean, invstd = _bn_forward(_ChannelAxis1(attrs), inputs, ctx)
    var = (1 / np.square(invstd) - attrs.eps).astype(invstd.dtype, copy=False)
    return [y, mean, var]


def _sync_bn_backward(attrs, out_grads, inputs, outputs, ctx):
    var = outputs[2]
    invstd = (1 / np.sqrt(var + var.dtype.type(attrs.eps))).astype(var.dtype, copy=False)
    return _bn_backward(_ChannelAxis1(attrs), out_grads, inputs,
                        [outputs[0], outputs[1], invstd], ctx)


declare(
    "_contrib_SyncBatchNorm",
    params={"eps": P(FLOAT, 1e-3), "momentum": P(FLOAT, 0.9), "fix_gamma": P(BOOL, True),
            "use_global_stats": P(BOOL, False), "output_mean_var": P(BOOL, False),
            "ndev": P(INT, 1), "key": P(STR)},
    inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
    aux=("moving_mean", "moving_var"), outputs=("output", "mean", "var"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    input_var_attrs=_BN_VAR_ATTRS, infer_shape=_sync_bn_shape, infer_type=_bn_type,
    forward=_sync_bn_forward, backward=_sync_bn_backward,
    doc="Batch normalisation synchronised across devices; in one process, BatchNorm's "
        "numbers with the variance as third output.",
)


def _bn_relu_shape(attrs: Attrs, ins: list, outs: list):
    ins, head = _bn_shape(attrs, ins, outs[:3])
    outs = [*head, outs[3]]
    if ins[0] is not None:
        assign(attrs, outs, 3, ins[0], attrs.op.list_outputs(attrs))
    return ins, outs


def _bn_relu_type(attrs: Attrs, ins: list, outs: list):
    ins, head = _bn_type(attrs, ins, outs[:3])
    return ins, [*head, head[1]]


def _bn_relu_forward(attrs, inputs, ctx):
    _validate(attrs, inputs)
    y, mean, invstd = _bn_forward(attrs, inputs, ctx)
    np.maximum(y, y.dtype.type(0), out=y)
    # oneDNN's workspace is its own; the ReLU's mask stands in for it
    return [y, mean, invstd, (y > 0).astype(mean.dtype)]


def _bn_relu_backward(attrs, out_grads, inputs, outputs, ctx):
    dy = np.where(outputs[0] > 0, out_grads[0], out_grads[0].dtype.type(0))
    return _bn_backward(attrs, [dy, *out_grads[1:3]], inputs, outputs[:3], ctx)


declare(
    "_contrib_BatchNormWithReLU",
    params={
        "eps": P(FLOAT, 1e-3), "momentum": P(FLOAT, 0.9), "fix_gamma": P(BOOL, True),
        "use_global_stats": P(BOOL, False), "output_mean_var": P(BOOL, False),
        "axis": P(INT, 1), "cudnn_off": P(BOOL, False),
        "min_calib_range": P(OPT_FLOAT, None), "max_calib_range": P(OPT_FLOAT, None),
    },
    inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
    aux=("moving_mean", "moving_var"), outputs=("output", "mean", "var", "workspace"),
    num_visible_outputs=lambda a: 3 if a.output_mean_var else 1,
    input_var_attrs=_BN_VAR_ATTRS,
    infer_shape=_bn_relu_shape, infer_type=_bn_relu_type,
    forward=_bn_relu_forward, backward=_bn_relu_backward,
    doc="BatchNorm followed by ReLU in one operator (MXNet's oneDNN fusion).",
)
