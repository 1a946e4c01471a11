"""Numpy kernels of MXNet's image operators (``_image_*``, ``_cvimresize``).

The operator registry has no image family yet, so the transforms run these when the registry
lacks the operator. Each function is one operator's forward on numpy arrays, written to be
lifted into ``ops/image.py`` unchanged: HWC (or NHWC) images, MXNet's float32 arithmetic and
its ``saturate_cast`` (uint8 results are clamped to [0, 255] and truncated; other dtypes are
cast as C++ does).

``resize`` reproduces OpenCV 3.4.2's ``cv::resize`` (what MXNet 1.9.1's pip wheels link) for
nearest-neighbour and bilinear interpolation: the same sampling positions, the same 11-bit
fixed-point weights for uint8 and the same rounding as its SIMD path, so the results match
MXNet's exactly in the cases recorded from it (``tests/data/gluon/data``). Other
interpolations use OpenCV's Python module when it is importable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ....base import MXNetError, NotSupportedError

__all__ = ["to_tensor", "normalize", "flip", "resize", "imresize", "crop",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "adjust_lighting", "output_hw", "check_channels"]

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
    if (sh, sw) == (h, w):
        return x.copy()
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
    try:
        import cv2
    except ImportError:
        raise NotSupportedError(
            f"resize with interp={interp}: mxlite reproduces OpenCV's nearest (0) and bilinear "
            "(1) interpolation; the others need OpenCV (pip install "
            "opencv-python-headless)") from None
    out = cv2.resize(x, (w, h), interpolation=int(interp))
    return out.reshape(h, w, x.shape[2])
