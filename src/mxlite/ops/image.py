"""Image operators: MXNet's ``_image_*`` family and the OpenCV ones ``mx.image`` calls
(``_cvimdecode``, ``_cvimread``, ``_cvimresize``, ``_cvcopyMakeBorder``).

Images are HWC (or NHWC for the ops that take batches), computed with MXNet's float32
arithmetic and its ``saturate_cast`` (uint8 results are clamped to [0, 255] and truncated;
other dtypes are cast as C++ does).

Decoding and resizing use OpenCV's Python module, as MXNet uses OpenCV (its 1.9.1 wheels link
OpenCV 3.4.2): decoded JPEG / PNG pixels are MXNet's exactly, and so are resized ones for
nearest, bilinear, area and Lanczos interpolation (bicubic within 1 grey level). Without
OpenCV, resize falls back to a numpy reproduction of OpenCV 3.4.2's nearest and bilinear
``cv::resize`` (the same sampling positions, 11-bit fixed-point weights and rounding);
decoding needs OpenCV (``pip install 'mxlite[image]'``).

Gradients are MXNet's: ``normalize`` and ``crop`` have their own; the flips, the random
colour ops and lighting pass the head gradient through unchanged (MXNet registers ``_copy``
as their gradient, the flips included); ``resize`` does too, which only works when the size
is unchanged, as in MXNet. MXNet's ``to_tensor`` gradient (also ``_copy``) fails its shape
check; mxlite gives the true one (transposed back and divided by 255).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..base import MXNetError, NotSupportedError
from ._util import BOOL, FLOAT, INT, SHAPE, STR, P, declare
from .registry import FloatTuple

NO_BACKWARD = {"_cvimdecode", "_cvimread", "_cvimresize", "_cvcopyMakeBorder"}


@functools.lru_cache(maxsize=1)
def opencv() -> Any:
    """OpenCV's module, or None when it is not installed (imported once, on first use)."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def need_opencv(what: str) -> Any:
    cv2 = opencv()
    if cv2 is None:
        raise MXNetError(f"{what} needs OpenCV, as MXNet's does: pip install 'mxlite[image]' "
                         "(or opencv-python-headless)")
    return cv2


_F32 = np.float32
_GRAY = np.array([0.299, 0.587, 0.114], _F32)
# AlexNet's PCA lighting: eigenvectors scaled by eigenvalues, products rounded to float32
# as MXNet's ``static const float`` table is.
_EIG = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                 [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                 [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]]).astype(_F32)


def _saturate(val: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """MXNet's ``saturate_cast<DType>(float)``: clamp for uint8, a plain C cast otherwise."""
    if dtype == np.uint8:
        return np.clip(val, 0, 255).astype(np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        return val.astype(dtype)


def _check_image(x: np.ndarray, op: str, batch: bool = False) -> None:
    ok = x.ndim == 3 or (batch and x.ndim == 4)
    if not ok:
        shape = "(height, width, channels)" + (" or (N, height, width, channels)" if batch
                                               else "")
        raise MXNetError(f"{op}: input image must have shape {shape}, but got {x.shape}")


def check_channels(x: np.ndarray, op: str) -> None:
    _check_image(x, op)
    if x.shape[2] not in (1, 3):
        raise MXNetError(f"{op}: the last dimension of input image must be the channel "
                         f"dimension with either 1 or 3 elements, but got input with shape "
                         f"{x.shape}")


# ---------------------------------------------------------------------------- tensors


def to_tensor(x: np.ndarray) -> np.ndarray:
    """``_image_to_tensor``: (H, W, C) or (N, H, W, C) in [0, 255] to float32 (C, H, W) or
    (N, C, H, W) in [0, 1]."""
    _check_image(x, "to_tensor", batch=True)
    axes = (2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2)
    return np.ascontiguousarray(np.transpose(x.astype(_F32), axes) / _F32(255))


def _per_channel(values: Any, n: int, what: str, shape: tuple) -> np.ndarray:
    v = np.atleast_1d(np.asarray(values, dtype=_F32))
    if v.ndim != 1 or v.size not in (1, n):
        raise MXNetError(f"normalize: invalid {what} for input with shape {shape}. {what} must "
                         f"have either 1 or {n} elements, but got {tuple(v.tolist())}")
    return np.broadcast_to(v, (n,))


def normalize(x: np.ndarray, mean: Any = 0.0, std: Any = 1.0) -> np.ndarray:
    """``_image_normalize``: ``(x[c] - mean[c]) / std[c]`` over the channel axis of a
    (C, H, W) or (N, C, H, W) tensor with 1 or 3 channels; the dtype is kept."""
    if x.ndim not in (3, 4):
        raise MXNetError("normalize: input tensor must have shape (channels, height, width), "
                         f"or (N, channels, height, width), but got {x.shape}")
    c = x.shape[-3]
    if c not in (1, 3):
        raise MXNetError("normalize: the channel dimension must have either 1 or 3 elements, "
                         f"but got input with shape {x.shape}")
    m = _per_channel(mean, c, "mean", x.shape).reshape(c, 1, 1)
    s = _per_channel(std, c, "std", x.shape).reshape(c, 1, 1)
    out = (x.astype(_F32) - m) / s
    return _saturate(out, x.dtype) if x.dtype != _F32 else out


def flip(x: np.ndarray, axis: int) -> np.ndarray:
    """``_image_flip_left_right`` (axis 1) / ``_image_flip_top_bottom`` (axis 0) of an HWC
    image."""
    check_channels(x, "flip")
    return np.ascontiguousarray(np.flip(x, axis=axis))


def crop(x: np.ndarray, x0: int, y0: int, width: int, height: int) -> np.ndarray:
    """``_image_crop``: the ``width`` x ``height`` window at column ``x0``, row ``y0`` of an
    HWC or NHWC image."""
    _check_image(x, "crop", batch=True)
    h, w = x.shape[-3], x.shape[-2]
    if not (0 <= x0 and 0 <= y0 and width > 0 and height > 0 and x0 + width <= w
            and y0 + height <= h):
        raise MXNetError(f"crop: the window x={x0}, y={y0}, width={width}, height={height} "
                         f"is not inside the image of width {w} and height {h}")
    return np.ascontiguousarray(x[..., y0:y0 + height, x0:x0 + width, :])


# ---------------------------------------------------------------------------- colour


def adjust_brightness(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x * alpha`` (MXNet's brightness step)."""
    check_channels(x, "brightness")
    return _saturate(x.astype(_F32) * _F32(alpha), x.dtype)


def _gray_mean(xf: np.ndarray) -> np.float32:
    # MXNet sums left to right in float32; a float32 cumsum is that very sequence.
    if xf.shape[2] > 1:
        terms = (xf[:, :, :3] * _GRAY).reshape(-1)
    else:
        terms = xf.reshape(-1)
    total = np.cumsum(terms, dtype=_F32)[-1] if terms.size else _F32(0)
    return _F32(total / _F32(xf.shape[0] * xf.shape[1]))


def adjust_contrast(x: np.ndarray, alpha: float) -> np.ndarray:
    """Blend with the mean grey level: ``x * alpha + (1 - alpha) * mean(gray)``."""
    check_channels(x, "contrast")
    alpha = _F32(alpha)
    xf = x.astype(_F32)
    beta = (_F32(1) - alpha) * _gray_mean(xf)
    return _saturate(xf * alpha + beta, x.dtype)


def adjust_saturation(x: np.ndarray, alpha: float) -> np.ndarray:
    """MXNet's saturation step, as it computes it: its grey level is ``0.114 * blue`` (its loop
    assigns each channel's term instead of adding them), kept here so results match."""
    check_channels(x, "saturation")
    if x.shape[2] == 1:
        return x.copy()
    alpha = _F32(alpha)
    xf = x.astype(_F32)
    gray = (xf[:, :, 2:3] * _GRAY[2]) * (_F32(1) - alpha)
    return _saturate(gray + xf * alpha, x.dtype)


def _rgb_to_hls(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple:
    b, g, r = b / _F32(255), g / _F32(255), r / _F32(255)
    vmax = np.fmax(np.fmax(r, g), b)
    vmin = np.fmin(np.fmin(r, g), b)
    diff = vmax - vmin
    light = (vmax + vmin) * _F32(0.5)
    colored = diff > np.finfo(_F32).eps
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.where(light < _F32(0.5), diff / (vmax + vmin), diff / (_F32(2) - vmax - vmin))
        scale = _F32(60) / diff
        hue = np.where(vmax == r, (g - b) * scale,
                       np.where(vmax == g, (b - r) * scale + _F32(120),
                                (r - g) * scale + _F32(240)))
    hue = np.where(hue < 0, hue + _F32(360), hue)
    return (np.where(colored, hue, _F32(0)), light, np.where(colored, sat, _F32(0)))


# OpenCV's sector table: which of (p2, p1, rising, falling) each of b, g, r takes.
_HLS_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def _hls_to_rgb(h: np.ndarray, light: np.ndarray, s: np.ndarray) -> tuple:
    p2 = np.where(light <= _F32(0.5), light * (_F32(1) + s), light + s - light * s)
    p1 = _F32(2) * light - p2
    h = h * _F32(1.0 / 60.0)
    for _ in range(3):  # hue is within (-720, 1080) degrees: wrapping takes few steps
        h = np.where(h < 0, h + _F32(6), h)
        h = np.where(h >= 6, h - _F32(6), h)
    sector = h.astype(np.int64)
    h = h - sector.astype(_F32)
    tab = np.stack([p2, p1, p1 + (p2 - p1) * (_F32(1) - h), p1 + (p2 - p1) * h])
    pick = _HLS_SECTORS[np.clip(sector, 0, 5)]
    rows = np.arange(h.size).reshape(h.shape)
    flat = tab.reshape(4, -1)
    b, g, r = (flat[pick[..., k].reshape(-1), rows.reshape(-1)].reshape(h.shape)
               for k in range(3))
    gray = s == 0
    b, g, r = (np.where(gray, light, v) for v in (b, g, r))
    return r * _F32(255), g * _F32(255), b * _F32(255)


def adjust_hue(x: np.ndarray, alpha: float) -> np.ndarray:
    """Rotate the hue by ``alpha * 360`` degrees in HLS space (OpenCV's conversions)."""
    check_channels(x, "hue")
    if x.shape[2] == 1:
        return x.copy()
    xf = x.astype(_F32)
    h, light, s = _rgb_to_hls(xf[..., 0], xf[..., 1], xf[..., 2])
    h = h + _F32(alpha) * _F32(360)
    r, g, b = _hls_to_rgb(h, light, s)
    return _saturate(np.stack([r, g, b], axis=-1), x.dtype)


def adjust_lighting(x: np.ndarray, alpha: Any) -> np.ndarray:
    """AlexNet-style PCA lighting: add ``eig @ alpha`` to the R, G, B channels."""
    check_channels(x, "lighting")
    if x.shape[2] == 1:
        return x.copy()
    a = np.asarray(alpha, dtype=_F32).reshape(3)
    pca = (_EIG[:, 0] * a[0] + _EIG[:, 1] * a[1]) + _EIG[:, 2] * a[2]
    return _saturate(x.astype(_F32) + pca, x.dtype)


# ---------------------------------------------------------------------------- resize


def output_hw(h: int, w: int, size: Any, keep_ratio: bool) -> tuple[int, int]:
    """``_image_resize``'s output (height, width) for ``size`` = int or (width, height)."""
    if isinstance(size, (int, np.integer)):
        size = (int(size),)
    size = tuple(int(s) for s in size)
    if len(size) not in (1, 2):
        raise MXNetError(f"resize: size must have 1 or 2 elements, but got {size}")
    if any(s <= 0 for s in size):
        raise MXNetError(f"resize: size must be greater than 0, but got {size}")
    if len(size) == 2:
        return size[1], size[0]
    if not keep_ratio:
        return size[0], size[0]
    if h > w:
        return h * size[0] // w, size[0]
    return size[0], w * size[0] // h


def resize(x: np.ndarray, size: Any, keep_ratio: bool = False, interp: int = 1) -> np.ndarray:
    """``_image_resize``: an HWC or NHWC image to ``size`` (int, or (width, height))."""
    _check_image(x, "resize", batch=True)
    nh, nw = output_hw(x.shape[-3], x.shape[-2], size, keep_ratio)
    if x.ndim == 3:
        return imresize(x, nw, nh, interp)
    return np.stack([imresize(img, nw, nh, interp) for img in x]) if len(x) else \
        np.empty((0, nh, nw, x.shape[3]), x.dtype)


def imresize(x: np.ndarray, w: int, h: int, interp: int = 1) -> np.ndarray:
    """``_cvimresize``: OpenCV's ``resize`` of an HWC image to width ``w``, height ``h``."""
    if x.ndim != 3:
        raise MXNetError(f"imresize: input image must have shape (height, width, channels), "
                         f"but got {x.shape}")
    if x.dtype not in (np.uint8, np.float32, np.float64):
        raise MXNetError(f"imresize: OpenCV resizes uint8, float32 and float64 images, not "
                         f"{x.dtype}")
    if w <= 0 or h <= 0:
        raise MXNetError(f"imresize: output width and height must be positive, got {w}x{h}")
    sh, sw = x.shape[:2]
    if sh == 0 or sw == 0:
        raise MXNetError(f"imresize: cannot resize an empty image of shape {x.shape}")
    if interp not in (0, 1, 2, 3, 4, 5):
        raise MXNetError(f"imresize: interp must be an OpenCV interpolation 0 to 5, got "
                         f"{interp}")
    if (sh, sw) == (h, w):
        return x.copy()
    cv2 = opencv()
    if cv2 is not None and (x.dtype == np.uint8 or interp > 1):
        # OpenCV's resize is what MXNet runs (its wheels link OpenCV 3.4.2): later versions
        # give its uint8 pixels for nearest, bilinear, area and Lanczos, bicubic within 1.
        # Their float bilinear rounds differently (1 ulp), so floats take the kernels below.
        return cv2.resize(x, (w, h), interpolation=int(interp)).reshape(h, w, x.shape[2])
    if interp == 0:
        return _resize_nearest(x, w, h)
    if interp == 1:
        scale_x, scale_y = 1.0 / (w / sw), 1.0 / (h / sh)
        if scale_x == 2.0 and scale_y == 2.0:
            return _resize_area_half(x)  # OpenCV swaps in its (equal) fast area path here
        return _resize_linear(x, w, h)
    return _resize_opencv(x, w, h, interp)


def _resize_nearest(x: np.ndarray, w: int, h: int) -> np.ndarray:
    sh, sw = x.shape[:2]
    sx = np.minimum(np.floor(np.arange(w) * (1.0 / (w / sw))).astype(np.int64), sw - 1)
    sy = np.minimum(np.floor(np.arange(h) * (1.0 / (h / sh))).astype(np.int64), sh - 1)
    return np.ascontiguousarray(x[sy[:, None], sx[None, :]])


def _linear_taps(src: int, dst: int, clamp_weight: bool) -> tuple:
    """Source indices and float32 weights of OpenCV's bilinear taps along one axis."""
    scale = 1.0 / (dst / src)
    f = ((np.arange(dst) + 0.5) * scale - 0.5).astype(_F32)
    i0 = np.floor(f).astype(np.int64)
    f = (f - i0.astype(_F32)).astype(_F32)
    if clamp_weight:  # columns: a tap outside the image takes the edge pixel, weight 0
        out = (i0 < 0) | (i0 >= src - 1)
        f = np.where(out, _F32(0), f)
        i0 = np.clip(i0, 0, src - 1)
        i1 = np.minimum(i0 + 1, src - 1)
    else:  # rows keep their weight and clamp the row index only
        i1 = np.clip(i0 + 1, 0, src - 1)
        i0 = np.clip(i0, 0, src - 1)
    return i0, i1, (_F32(1) - f).astype(_F32), f


def _resize_linear(x: np.ndarray, w: int, h: int) -> np.ndarray:
    sh, sw, cn = x.shape
    x0, x1, a0, a1 = _linear_taps(sw, w, True)
    y0, y1, b0, b1 = _linear_taps(sh, h, False)
    if x.dtype == np.uint8:
        ia0, ia1, ib0, ib1 = (np.rint(v * _F32(2048)).astype(np.int64) for v in (a0, a1, b0, b1))
        src = x.astype(np.int64)
        rows = src[:, x0] * ia0[None, :, None] + src[:, x1] * ia1[None, :, None]
        s0 = rows[y0].reshape(h, w * cn)
        s1 = rows[y1].reshape(h, w * cn)
        # OpenCV's vertical pass rounds as its SIMD code does: the sums are scaled down by
        # 4 bits, multiplied keeping the high 16 bits, added, then rounded by 2 bits.
        out = ((((s0 >> 4) * ib0[:, None]) >> 16) + (((s1 >> 4) * ib1[:, None]) >> 16) + 2) >> 2
        return np.clip(out, 0, 255).astype(np.uint8).reshape(h, w, cn)
    dt = x.dtype
    a0, a1, b0, b1 = (v.astype(dt) for v in (a0, a1, b0, b1))
    rows = x[:, x0] * a0[None, :, None] + x[:, x1] * a1[None, :, None]
    return (rows[y0] * b0[:, None, None] + rows[y1] * b1[:, None, None]).astype(dt)


def _resize_area_half(x: np.ndarray) -> np.ndarray:
    sh, sw, cn = x.shape
    q = x[: sh // 2 * 2, : sw // 2 * 2]
    if x.dtype == np.uint8:
        s = q.astype(np.int32)
        total = s[0::2, 0::2] + s[0::2, 1::2] + s[1::2, 0::2] + s[1::2, 1::2]
        return ((total + 2) >> 2).astype(np.uint8)
    total = (q[0::2, 0::2] + q[0::2, 1::2]) + (q[1::2, 0::2] + q[1::2, 1::2])
    return (total * x.dtype.type(0.25)).astype(x.dtype)


def _resize_opencv(x: np.ndarray, w: int, h: int, interp: int) -> np.ndarray:
    raise NotSupportedError(
        f"resize with interp={interp}: without OpenCV mxlite reproduces only its nearest (0) "
        "and bilinear (1) interpolation; the others need OpenCV (pip install 'mxlite[image]')")


# ---------------------------------------------------------------------------- OpenCV I/O


def imdecode(buf: np.ndarray, flag: int = 1, to_rgb: bool = True) -> np.ndarray:
    """``_cvimdecode``: an encoded image (uint8 bytes) to HWC uint8 pixels, channels in RGB
    order when ``to_rgb`` (OpenCV decodes to BGR); ``flag`` 0 gives one grey channel."""
    cv2 = need_opencv("imdecode")
    data = np.ascontiguousarray(buf, dtype=np.uint8).reshape(-1)
    img = cv2.imdecode(data, int(flag)) if data.size else None
    if img is None:
        raise MXNetError("imdecode: decoding failed, invalid image file "
                         f"({data.size} bytes, starting {bytes(data[:8])!r})")
    if img.ndim == 2:
        return img[:, :, None]
    if to_rgb and img.shape[2] >= 3:
        img = img[:, :, [2, 1, 0, *range(3, img.shape[2])]]
    return np.ascontiguousarray(img)


def copy_make_border(x: np.ndarray, top: int, bot: int, left: int, right: int,
                     border: int = 0, value: float = 0.0, values: Any = ()) -> np.ndarray:
    """``_cvcopyMakeBorder``: OpenCV's ``copyMakeBorder`` of an HWC image."""
    cv2 = need_opencv("copyMakeBorder")
    if x.ndim != 3:
        raise MXNetError(f"copyMakeBorder: input image must have shape (height, width, "
                         f"channels), but got {x.shape}")
    if min(top, bot, left, right) < 0:
        raise MXNetError(f"copyMakeBorder: borders must be >= 0, got top={top} bot={bot} "
                         f"left={left} right={right}")
    fill = tuple(float(v) for v in values) if values else (float(value),) * 4
    out = cv2.copyMakeBorder(x, top, bot, left, right, int(border), value=fill)
    return out.reshape(x.shape[0] + top + bot, x.shape[1] + left + right, x.shape[2])


# ---------------------------------------------------------------------------- registry


def _out_shape(fn):
    """infer_shape from a function of the known input shape (nothing inferred backwards)."""
    def infer(attrs, ins, outs):
        if ins[0] is not None and all(d > 0 for d in ins[0]):
            outs[0] = tuple(fn(attrs, tuple(ins[0])))
        return ins, outs
    return infer


def _fixed_type(dtype: Any):
    def infer(attrs, ins, outs):
        outs[0] = np.dtype(dtype)
        return ins, outs
    return infer


def _copy_grad(attrs, out_grads, inputs, outputs, ctx):
    """MXNet's ``_copy`` gradient: the head gradient as the input's."""
    g, x = out_grads[0], inputs[0]
    if g.shape != x.shape:
        raise MXNetError(f"operator {attrs.op.name}: MXNet's gradient of it is a copy of the "
                         f"head gradient, which needs equal shapes: {g.shape} vs {x.shape}")
    return [g.astype(x.dtype, copy=True)]


def _aliases(name: str) -> tuple[str, ...]:
    """MXNet's numpy-interface names: ``_npx__image_*`` and ``_npi_cvim*``."""
    if name.startswith("_image_"):
        return ("_npx_" + name,)
    if name in ("_cvimdecode", "_cvimread", "_cvimresize"):
        return ("_npi_" + name[1:],)
    return ()


def _unary(name: str, forward, shape=None, backward=_copy_grad, params=None, dtype=None,
           doc: str = "") -> None:
    declare(name, *_aliases(name), params=params or {}, inputs=("data",),
            infer_shape=_out_shape(shape or (lambda a, s: s)),
            infer_type=_fixed_type(dtype) if dtype else None,
            forward=lambda attrs, inputs, ctx: [forward(attrs, inputs[0], ctx)],
            backward=backward, doc=doc)


def _rng(ctx) -> np.random.Generator:
    if ctx is not None and ctx.rng is not None:
        return ctx.rng
    from ..random import generator

    return generator()


def _to_tensor_shape(attrs, s):
    if len(s) not in (3, 4):
        raise MXNetError(f"operator {attrs.op.name}: input image must have shape (height, "
                         f"width, channels), or (N, height, width, channels), but got {s}")
    return (s[2], s[0], s[1]) if len(s) == 3 else (s[0], s[3], s[1], s[2])


def _to_tensor_grad(attrs, out_grads, inputs, outputs, ctx):
    g = out_grads[0]
    axes = (1, 2, 0) if g.ndim == 3 else (0, 2, 3, 1)
    return [(np.transpose(g, axes) / _F32(255)).astype(inputs[0].dtype)]


_unary("_image_to_tensor", lambda a, x, c: to_tensor(x), _to_tensor_shape, _to_tensor_grad,
       dtype="float32",
       doc="Converts an image NDArray of shape (H x W x C) or (N x H x W x C) with values in "
           "[0, 255] to a float32 tensor of shape (C x H x W) or (N x C x H x W) in [0, 1].")


def _normalize_grad(attrs, out_grads, inputs, outputs, ctx):
    x, g = inputs[0], out_grads[0]
    c = x.shape[-3]
    s = _per_channel(attrs.std, c, "std", x.shape).reshape(c, 1, 1)
    return [(g / s).astype(x.dtype)]


_unary("_image_normalize", lambda a, x, c: normalize(x, a.mean, a.std), backward=_normalize_grad,
       params={"mean": P(FloatTuple(), (0.0, 0.0, 0.0, 0.0)),
               "std": P(FloatTuple(), (1.0, 1.0, 1.0, 1.0))},
       doc="Normalize a tensor of shape (C x H x W) or (N x C x H x W) with mean and "
           "standard deviation: out[c] = (data[c] - mean[c]) / std[c].")


def _resize_shape(attrs, s):
    if len(s) not in (3, 4):
        raise MXNetError(f"operator {attrs.op.name}: input image must have shape (height, "
                         f"width, channels) or (N, height, width, channels), but got {s}")
    nh, nw = output_hw(s[-3], s[-2], attrs.size, attrs.keep_ratio)
    return (*s[:-3], nh, nw, s[-1])


_unary("_image_resize", lambda a, x, c: resize(x, a.size, a.keep_ratio, a.interp),
       _resize_shape,
       params={"size": P(SHAPE, ()), "keep_ratio": P(BOOL, False), "interp": P(INT, 1)},
       doc="Resize an image or a batch of images (HWC / NHWC) to size (int, or (w, h)) with "
           "OpenCV's interpolation ``interp``.")


def _crop_shape(attrs, s):
    if len(s) not in (3, 4):
        raise MXNetError(f"operator {attrs.op.name}: input image must have shape (height, "
                         f"width, channels) or (N, height, width, channels), but got {s}")
    return (*s[:-3], attrs.height, attrs.width, s[-1])


def _crop_grad(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    gx = np.zeros(x.shape, x.dtype)
    gx[..., attrs.y:attrs.y + attrs.height, attrs.x:attrs.x + attrs.width, :] = out_grads[0]
    return [gx]


_unary("_image_crop", lambda a, x, c: crop(x, a.x, a.y, a.width, a.height), _crop_shape,
       _crop_grad, params={"x": P(INT), "y": P(INT), "width": P(INT), "height": P(INT)},
       doc="Crop the window of width x height at column x, row y of an image (HWC) or a "
           "batch (NHWC).")

_unary("_image_flip_left_right", lambda a, x, c: flip(x, 1),
       doc="Reverse the columns of an image (HWC).")
_unary("_image_flip_top_bottom", lambda a, x, c: flip(x, 0),
       doc="Reverse the rows of an image (HWC).")


def _random_flip(axis: int):
    def run(attrs, x, ctx):
        check_channels(x, attrs.op.name)
        return flip(x, axis) if _rng(ctx).random() < 0.5 else x.copy()
    return run


_unary("_image_random_flip_left_right", _random_flip(1),
       doc="Reverse the columns of an image (HWC) with probability 0.5.")
_unary("_image_random_flip_top_bottom", _random_flip(0),
       doc="Reverse the rows of an image (HWC) with probability 0.5.")

_FACTORS = {"min_factor": P(FLOAT), "max_factor": P(FLOAT)}


def _random_factor(kernel):
    def run(attrs, x, ctx):
        return kernel(x, _F32(_rng(ctx).uniform(attrs.min_factor, attrs.max_factor)))
    return run


for _name, _kernel, _what in (
        ("brightness", adjust_brightness, "Multiply an image (HWC) by"),
        ("contrast", adjust_contrast, "Blend an image (HWC) with its mean grey level by"),
        ("saturation", adjust_saturation, "Blend an image (HWC) with its grey image by"),
        ("hue", adjust_hue, "Rotate the hue of an image (HWC) by a turn fraction of")):
    _unary(f"_image_random_{_name}", _random_factor(_kernel), params=dict(_FACTORS),
           doc=f"{_what} a factor drawn uniformly from [min_factor, max_factor].")


def _color_jitter(attrs, x, ctx):
    rng = _rng(ctx)
    steps = ((adjust_brightness, 1.0, attrs.brightness), (adjust_contrast, 1.0, attrs.contrast),
             (adjust_saturation, 1.0, attrs.saturation), (adjust_hue, 0.0, attrs.hue))
    check_channels(x, attrs.op.name)
    out = x
    for k in rng.permutation(4):
        fn, base, amount = steps[k]
        if amount > 0:
            out = fn(out, _F32(base + rng.uniform(-amount, amount)))
    return out if out is not x else x.copy()


_unary("_image_random_color_jitter", _color_jitter,
       params={"brightness": P(FLOAT), "contrast": P(FLOAT), "saturation": P(FLOAT),
               "hue": P(FLOAT)},
       doc="Jitter brightness, contrast, saturation and hue of an image (HWC) in a random "
           "order; a step whose amount is 0 is skipped.")


def _adjust_lighting_op(attrs, x, ctx):
    if len(attrs.alpha) != 3:
        raise MXNetError(f"operator {attrs.op.name}: alpha must have 3 elements, got "
                         f"{attrs.alpha}")
    return adjust_lighting(x, attrs.alpha)


_unary("_image_adjust_lighting", _adjust_lighting_op, params={"alpha": P(FloatTuple())},
       doc="Add AlexNet-style PCA lighting noise ``eig @ alpha`` to an image (HWC).")


def _random_lighting(attrs, x, ctx):
    draws = _rng(ctx).normal(0.0, attrs.alpha_std, 3) if attrs.alpha_std else np.zeros(3)
    return adjust_lighting(x, draws.astype(_F32))


_unary("_image_random_lighting", _random_lighting, params={"alpha_std": P(FLOAT, 0.05)},
       doc="Add AlexNet-style PCA lighting noise with normal draws of standard deviation "
           "alpha_std to an image (HWC).")


# -- OpenCV operators (no gradient in MXNet) ----------------------------------------------


def _unknown_shape(attrs, ins, outs):
    return ins, outs  # the decoded size is known only after decoding


declare("_cvimdecode", *_aliases("_cvimdecode"),
        params={"flag": P(INT, 1), "to_rgb": P(BOOL, True)}, inputs=("buf",),
        infer_shape=_unknown_shape, infer_type=_fixed_type("uint8"),
        forward=lambda attrs, inputs, ctx: [imdecode(inputs[0], attrs.flag, attrs.to_rgb)],
        doc="Decode an image (JPEG, PNG, ...) held in a uint8 array with OpenCV.")


def _imread(attrs, inputs, ctx):
    from ..storage import read_bytes

    raw = read_bytes(attrs.filename)
    try:
        return [imdecode(np.frombuffer(raw, np.uint8), attrs.flag, attrs.to_rgb)]
    except MXNetError as e:
        raise MXNetError(f"imread {attrs.filename!r}: {e}") from None


declare("_cvimread", *_aliases("_cvimread"),
        params={"filename": P(STR), "flag": P(INT, 1), "to_rgb": P(BOOL, True)},
        inputs=(), infer_shape=_unknown_shape, infer_type=_fixed_type("uint8"),
        forward=_imread, doc="Read and decode an image file with OpenCV.")


def _cvimresize_shape(attrs, s):
    if len(s) != 3:
        raise MXNetError(f"operator {attrs.op.name}: input image must have shape (height, "
                         f"width, channels), but got {s}")
    return (attrs.h, attrs.w, s[2])


_unary("_cvimresize", lambda a, x, c: imresize(x, a.w, a.h, a.interp), _cvimresize_shape,
       None, params={"w": P(INT), "h": P(INT), "interp": P(INT, 1)},
       doc="Resize an image (HWC) to width w and height h with OpenCV's interpolation interp.")


def _border_shape(attrs, s):
    if len(s) != 3:
        raise MXNetError(f"operator {attrs.op.name}: input image must have shape (height, "
                         f"width, channels), but got {s}")
    return (s[0] + attrs.top + attrs.bot, s[1] + attrs.left + attrs.right, s[2])


_unary("_cvcopyMakeBorder",
       lambda a, x, c: copy_make_border(x, a.top, a.bot, a.left, a.right, a.type, a.value,
                                        a.values),
       _border_shape, None,
       params={"top": P(INT), "bot": P(INT), "left": P(INT), "right": P(INT),
               "type": P(INT, 0), "value": P(FLOAT, 0.0), "values": P(FloatTuple(), ())},
       doc="Pad an image (HWC) with OpenCV's copyMakeBorder (border type ``type``).")
