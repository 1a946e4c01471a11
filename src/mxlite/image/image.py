"""Read individual image files and augment them (MXNet 1.9.1's ``mx.image``).

Images are HWC NDArrays (uint8 after decoding, RGB unless ``to_rgb=False``). Decoding,
resizing and borders run the registry's OpenCV operators (``_cvimdecode``, ``_cvimresize``,
``_cvcopyMakeBorder``), the arithmetic of the augmenters runs ``mx.nd`` operators, so what
MXNet computes with an operator is computed by the same operator here.

Randomness is MXNet's: the crops, flips and jitters draw from Python's ``random`` and
:class:`LightingAug` from ``numpy.random``, so the same seeds give MXNet's choices.
"""

from __future__ import annotations

import json
import logging
import os
import random
import warnings
from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from .. import io, storage
from .. import ndarray as nd
from ..base import MXNetError
from ..ndarray import _internal
from ..ndarray.ndarray import NDArray

__all__ = ["imread", "imresize", "imdecode", "scale_down", "copyMakeBorder", "resize_short",
           "fixed_crop", "random_crop", "center_crop", "color_normalize", "random_size_crop",
           "imrotate", "random_rotate", "Augmenter", "SequentialAug", "ResizeAug",
           "ForceResizeAug", "RandomCropAug", "RandomSizedCropAug", "CenterCropAug",
           "RandomOrderAug", "BrightnessJitterAug", "ContrastJitterAug",
           "SaturationJitterAug", "HueJitterAug", "ColorJitterAug", "LightingAug",
           "ColorNormalizeAug", "RandomGrayAug", "HorizontalFlipAug", "CastAug",
           "CreateAugmenter", "ImageIter"]


class ImageArgumentError(MXNetError, ValueError):
    """A bad argument to an image function (a ValueError too, as MXNet raises)."""


# ---------------------------------------------------------------------------- functions


def imread(filename: str, *args: Any, **kwargs: Any) -> NDArray:
    """Read and decode an image file (any fsspec URI) to an HWC uint8 NDArray.

    Parameters
    ----------
    filename : str
        Name of the image file.
    flag : {0, 1}, default 1
        1 for a three-channel colour image, 0 for greyscale.
    to_rgb : bool, default True
        Channels in RGB order (OpenCV decodes BGR).
    """
    return _internal._cvimread(str(filename), *args, **kwargs)


def imresize(src: NDArray, w: int, h: int, *args: Any, **kwargs: Any) -> NDArray:
    """Resize an HWC image to width ``w`` and height ``h`` with OpenCV.

    Parameters
    ----------
    interp : int, default 1
        0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos; 9 picks by the scale (bicubic
        to enlarge, area to shrink, else bilinear) and 10 at random, as MXNet's
        augmenters map them (MXNet's own ``imresize`` refuses 9 and 10).
    """
    if args:
        kwargs["interp"], args = args[0], args[1:]
    interp = kwargs.get("interp", 1)
    if interp in (9, 10) and isinstance(src, NDArray) and src.ndim == 3:
        kwargs["interp"] = _get_interp_method(interp, (src.shape[0], src.shape[1], h, w))
    return _internal._cvimresize(src, w, h, *args, **kwargs)


def imdecode(buf: Any, *args: Any, **kwargs: Any) -> NDArray:
    """Decode an image held in bytes, a bytearray, a numpy uint8 array or an NDArray.

    Parameters
    ----------
    buf : bytes, bytearray, numpy.ndarray or NDArray
        The encoded image (JPEG, PNG, ...).
    flag : {0, 1}, default 1
        1 for a three-channel colour image, 0 for greyscale.
    to_rgb : bool, default True
        Channels in RGB order (OpenCV decodes BGR).
    out : NDArray, optional
        Output buffer.
    """
    if not isinstance(buf, NDArray):
        if not isinstance(buf, (bytes, bytearray, np.ndarray)):
            raise ImageArgumentError(
                "imdecode: buf must be of type bytes, bytearray or numpy.ndarray, got "
                f"{type(buf).__name__}; if you would like to input type str, please convert "
                "to bytes")
        buf = nd.array(np.frombuffer(buf, dtype=np.uint8), dtype=np.uint8)
    return _internal._cvimdecode(buf, *args, **kwargs)


def scale_down(src_size: tuple, size: tuple) -> tuple[int, int]:
    """Shrink a crop ``size`` (w, h) keeping its aspect ratio until it fits ``src_size``."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def copyMakeBorder(src: NDArray, top: int, bot: int, left: int, right: int,  # noqa: N802
                   *args: Any, **kwargs: Any) -> NDArray:
    """Pad an HWC image with OpenCV's ``copyMakeBorder``.

    Parameters
    ----------
    type : int, default 0
        OpenCV border type (0 constant, 1 replicate, 2 reflect, ...).
    value : float
        Fill value of a constant border.
    values : tuple of float
        Per-channel fill values (override ``value``).
    """
    return _internal._cvcopyMakeBorder(src, top, bot, left, right, *args, **kwargs)


def _get_interp_method(interp: int, sizes: Sequence[int] = ()) -> int:
    """MXNet's interpolation codes: 9 picks by the scale (bicubic up, area down, else
    bilinear), 10 picks one at random."""
    if interp == 9:
        if sizes:
            oh, ow, nh, nw = sizes
            if nh > oh and nw > ow:
                return 2
            if nh < oh and nw < ow:
                return 3
            return 1
        return 2
    if interp == 10:
        return random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise ImageArgumentError(f"Unknown interp method {interp}")
    return interp


def _hwc(src: Any, what: str) -> tuple[int, int, int]:
    if not isinstance(src, NDArray) or src.ndim != 3:
        raise ImageArgumentError(f"{what}: expects an HWC image NDArray, got "
                                 f"{type(src).__name__} of shape {getattr(src, 'shape', None)}")
    return src.shape


def resize_short(src: NDArray, size: int, interp: int = 2) -> NDArray:
    """Resize the shorter edge to ``size``, keeping the aspect ratio."""
    h, w, _ = _hwc(src, "resize_short")
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    return imresize(src, new_w, new_h, interp=_get_interp_method(interp, (h, w, new_h, new_w)))


def fixed_crop(src: NDArray, x0: int, y0: int, w: int, h: int, size: tuple | None = None,
               interp: int = 2) -> NDArray:
    """Crop the ``w`` x ``h`` window at (``x0``, ``y0``), then resize it to ``size`` (w, h)
    when that differs."""
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        sizes = (h, w, size[1], size[0])
        out = imresize(out, *size, interp=_get_interp_method(interp, sizes))
    return out


def random_crop(src: NDArray, size: tuple, interp: int = 2) -> tuple[NDArray, tuple]:
    """Crop a random window of ``size`` (w, h) (scaled down to fit); returns the image and
    the window (x0, y0, w, h)."""
    h, w, _ = _hwc(src, "random_crop")
    new_w, new_h = scale_down((w, h), size)
    x0 = random.randint(0, w - new_w)
    y0 = random.randint(0, h - new_h)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def center_crop(src: NDArray, size: tuple, interp: int = 2) -> tuple[NDArray, tuple]:
    """Crop the central window of ``size`` (w, h) (scaled down to fit, resized back up);
    returns the image and the window (x0, y0, w, h)."""
    h, w, _ = _hwc(src, "center_crop")
    new_w, new_h = scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def color_normalize(src: NDArray, mean: Any, std: Any = None) -> NDArray:
    """``(src - mean) / std`` in place (either may be None)."""
    if mean is not None:
        src -= mean
    if std is not None:
        src /= std
    return src


def random_size_crop(src: NDArray, size: tuple, area: Any, ratio: tuple, interp: int = 2,
                     **kwargs: Any) -> tuple[NDArray, tuple]:
    """Crop a random window covering a fraction ``area`` (a float: (area, 1)) of the image
    with aspect ratio in ``ratio`` (drawn log-uniformly), resized to ``size``; the center
    crop after 10 failed draws. Returns the image and the window (x0, y0, w, h)."""
    h, w, _ = _hwc(src, "random_size_crop")
    src_area = h * w
    if "min_area" in kwargs:
        warnings.warn("`min_area` is deprecated. Please use `area` instead.",
                      DeprecationWarning, stacklevel=2)
        area = kwargs.pop("min_area")
    if kwargs:
        raise ImageArgumentError(f"random_size_crop: unexpected keyword arguments "
                                 f"{sorted(kwargs)}")
    if isinstance(area, Number):
        area = (area, 1.0)
    for _ in range(10):
        target_area = random.uniform(area[0], area[1]) * src_area
        log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
        new_ratio = np.exp(random.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if new_w <= w and new_h <= h:
            x0 = random.randint(0, w - new_w)
            y0 = random.randint(0, h - new_h)
            return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)


def imrotate(src: NDArray, rotation_degrees: Any, zoom_in: bool = False,
             zoom_out: bool = False) -> NDArray:
    """Rotate float32 CHW images (or an NCHW batch) by ``rotation_degrees`` about their
    centres with ``BilinearSampler``, optionally zooming in (no black corners) or out (the
    whole image kept)."""
    if zoom_in and zoom_out:
        raise ImageArgumentError("`zoom_in` and `zoom_out` cannot be both True")
    if src.dtype is not np.float32 and src.dtype != np.float32:
        raise TypeError("Only `float32` images are supported by this function")
    expanded = False
    if src.ndim == 3:
        expanded = True
        src = src.expand_dims(axis=0)
        if not isinstance(rotation_degrees, Number):
            raise TypeError("When a single image is passed the rotation angle is required to "
                            "be a scalar.")
    elif src.ndim != 4:
        raise ImageArgumentError("Only 3D and 4D are supported by this function")
    if isinstance(rotation_degrees, Number):
        rotation_degrees = nd.array([rotation_degrees] * len(src))
    if len(src) != len(rotation_degrees):
        raise ImageArgumentError("The number of images must be equal to the number of "
                                 "rotation angles")
    rad = (np.pi * rotation_degrees / 180).expand_dims(axis=1).expand_dims(axis=2)
    _, _, h, w = src.shape
    hscale = float(h - 1) / 2
    wscale = float(w - 1) / 2
    h_matrix = (nd.repeat(nd.arange(h).astype("float32").reshape(h, 1), w, axis=1)
                - hscale).expand_dims(axis=0)
    w_matrix = (nd.repeat(nd.arange(w).astype("float32").reshape(1, w), h, axis=0)
                - wscale).expand_dims(axis=0)
    c_alpha, s_alpha = nd.cos(rad), nd.sin(rad)
    w_rot = (w_matrix * c_alpha - h_matrix * s_alpha) / wscale
    h_rot = (w_matrix * s_alpha + h_matrix * c_alpha) / hscale
    hh, ww = nd.array([h]), nd.array([w])
    scale: Any = 1
    if zoom_in or zoom_out:
        rho = nd.sqrt(hh * hh + ww * ww)
        ang = nd.arctan(hh / ww)
        c1x = nd.abs(rho * nd.cos(ang + nd.abs(rad)))
        c1y = nd.abs(rho * nd.sin(ang + nd.abs(rad)))
        c2x = nd.abs(rho * nd.cos(ang - nd.abs(rad)))
        c2y = nd.abs(rho * nd.sin(ang - nd.abs(rad)))
        max_x, max_y = nd.maximum(c1x, c2x), nd.maximum(c1y, c2y)
        if zoom_out:
            scale = nd.maximum(max_x / ww, max_y / hh)
        else:
            scale = nd.minimum(ww / max_x, hh / max_y)
        scale = scale.expand_dims(axis=3)
    grid = nd.concat(w_rot.expand_dims(axis=1), h_rot.expand_dims(axis=1), dim=1) * scale
    out = nd.BilinearSampler(src, grid)
    return out[0] if expanded else out


def random_rotate(src: NDArray, angle_limits: tuple, zoom_in: bool = False,
                  zoom_out: bool = False) -> NDArray:
    """Rotate by an angle drawn (numpy's global generator, as MXNet) from ``angle_limits``."""
    if src.ndim == 3:
        degrees: Any = np.random.uniform(*angle_limits)
    else:
        degrees = nd.array(np.random.uniform(*angle_limits, size=src.shape[0]))
    return imrotate(src, degrees, zoom_in=zoom_in, zoom_out=zoom_out)


# ---------------------------------------------------------------------------- augmenters


class Augmenter:
    """Image augmenter base class: ``aug(src)`` returns the augmented HWC image."""

    def __init__(self, **kwargs: Any):
        self._kwargs = kwargs
        for k, v in self._kwargs.items():
            if isinstance(v, NDArray):
                v = v.asnumpy()
            if isinstance(v, np.ndarray):
                self._kwargs[k] = v.tolist()

    def dumps(self) -> str:
        """The augmenter as a JSON string: ``[class name in lower case, kwargs]``."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, src: NDArray) -> NDArray:
        raise NotImplementedError("Must override implementation.")


class SequentialAug(Augmenter):
    """Apply a list of augmenters in order."""

    def __init__(self, ts: list):
        super().__init__()
        self.ts = ts

    def dumps(self) -> Any:
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src: NDArray) -> NDArray:
        for aug in self.ts:
            src = aug(src)
        return src


class ResizeAug(Augmenter):
    """Resize the shorter edge to ``size`` (see :func:`resize_short`)."""

    def __init__(self, size: int, interp: int = 2):
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src: NDArray) -> NDArray:
        return resize_short(src, self.size, self.interp)


class ForceResizeAug(Augmenter):
    """Resize to ``size`` (w, h), ignoring the aspect ratio."""

    def __init__(self, size: tuple, interp: int = 2):
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src: NDArray) -> NDArray:
        sizes = (src.shape[0], src.shape[1], self.size[1], self.size[0])
        return imresize(src, *self.size, interp=_get_interp_method(self.interp, sizes))


class RandomCropAug(Augmenter):
    """Crop a random window of ``size`` (w, h)."""

    def __init__(self, size: tuple, interp: int = 2):
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src: NDArray) -> NDArray:
        return random_crop(src, self.size, self.interp)[0]


class RandomSizedCropAug(Augmenter):
    """Crop a random window of random area and aspect ratio, resized to ``size``."""

    def __init__(self, size: tuple, area: Any, ratio: tuple, interp: int = 2, **kwargs: Any):
        super().__init__(size=size, area=area, ratio=ratio, interp=interp)
        self.size = size
        if "min_area" in kwargs:
            warnings.warn("`min_area` is deprecated. Please use `area` instead.",
                          DeprecationWarning, stacklevel=2)
            self.area = kwargs.pop("min_area")
        else:
            self.area = area
        self.ratio = ratio
        self.interp = interp
        if kwargs:
            raise ImageArgumentError(f"RandomSizedCropAug: unexpected keyword arguments "
                                     f"{sorted(kwargs)}")

    def __call__(self, src: NDArray) -> NDArray:
        return random_size_crop(src, self.size, self.area, self.ratio, self.interp)[0]


class CenterCropAug(Augmenter):
    """Crop the central window of ``size`` (w, h)."""

    def __init__(self, size: tuple, interp: int = 2):
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src: NDArray) -> NDArray:
        return center_crop(src, self.size, self.interp)[0]


class RandomOrderAug(Augmenter):
    """Apply a list of augmenters in a random order (shuffled in place, as MXNet)."""

    def __init__(self, ts: list):
        super().__init__()
        self.ts = ts

    def dumps(self) -> Any:
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src: NDArray) -> NDArray:
        random.shuffle(self.ts)
        for t in self.ts:
            src = t(src)
        return src


_GRAY_COEF = ((0.299, 0.587, 0.114),)


class BrightnessJitterAug(Augmenter):
    """Multiply by ``1 + uniform(-brightness, brightness)``."""

    def __init__(self, brightness: float):
        super().__init__(brightness=brightness)
        self.brightness = brightness

    def __call__(self, src: NDArray) -> NDArray:
        alpha = 1.0 + random.uniform(-self.brightness, self.brightness)
        src *= alpha
        return src


class ContrastJitterAug(Augmenter):
    """Blend with the mean grey level by ``1 + uniform(-contrast, contrast)``."""

    def __init__(self, contrast: float):
        super().__init__(contrast=contrast)
        self.contrast = contrast
        self.coef = nd.array([_GRAY_COEF])

    def __call__(self, src: NDArray) -> NDArray:
        alpha = 1.0 + random.uniform(-self.contrast, self.contrast)
        gray = src * self.coef
        gray = 3.0 * (1.0 - alpha) / gray.size * nd.sum(gray)
        src *= alpha
        src += gray
        return src


class SaturationJitterAug(Augmenter):
    """Blend with the grey image by ``1 + uniform(-saturation, saturation)``."""

    def __init__(self, saturation: float):
        super().__init__(saturation=saturation)
        self.saturation = saturation
        self.coef = nd.array([_GRAY_COEF])

    def __call__(self, src: NDArray) -> NDArray:
        alpha = 1.0 + random.uniform(-self.saturation, self.saturation)
        gray = nd.sum(src * self.coef, axis=2, keepdims=True)
        gray *= 1.0 - alpha
        src *= alpha
        src += gray
        return src


class HueJitterAug(Augmenter):
    """Rotate the hue in YIQ space by ``uniform(-hue, hue)`` half-turns."""

    def __init__(self, hue: float):
        super().__init__(hue=hue)
        self.hue = hue
        self.tyiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321],
                              [0.211, -0.523, 0.311]])
        self.ityiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647],
                               [1.0, -1.107, 1.705]])

    def __call__(self, src: NDArray) -> NDArray:
        alpha = random.uniform(-self.hue, self.hue)
        u, w = np.cos(alpha * np.pi), np.sin(alpha * np.pi)
        bt = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
        t = np.dot(np.dot(self.ityiq, bt), self.tyiq).T
        return nd.dot(src, nd.array(t))


class ColorJitterAug(RandomOrderAug):
    """Brightness, contrast and saturation jitters (those > 0) in a random order."""

    def __init__(self, brightness: float, contrast: float, saturation: float):
        ts: list[Augmenter] = []
        if brightness > 0:
            ts.append(BrightnessJitterAug(brightness))
        if contrast > 0:
            ts.append(ContrastJitterAug(contrast))
        if saturation > 0:
            ts.append(SaturationJitterAug(saturation))
        super().__init__(ts)


class LightingAug(Augmenter):
    """AlexNet-style PCA lighting noise: add ``eigvec @ (alpha * eigval)`` with
    ``alpha ~ normal(0, alphastd)`` drawn from numpy's global generator (as MXNet)."""

    def __init__(self, alphastd: float, eigval: Any, eigvec: Any):
        super().__init__(alphastd=alphastd, eigval=eigval, eigvec=eigvec)
        self.alphastd = alphastd
        self.eigval = eigval
        self.eigvec = eigvec

    def __call__(self, src: NDArray) -> NDArray:
        alpha = np.random.normal(0, self.alphastd, size=(3,))
        rgb = np.dot(self.eigvec * alpha, self.eigval)
        src += nd.array(rgb)
        return src


class ColorNormalizeAug(Augmenter):
    """``(src - mean) / std``."""

    def __init__(self, mean: Any, std: Any):
        super().__init__(mean=mean, std=std)
        self.mean = mean if mean is None or isinstance(mean, NDArray) else nd.array(mean)
        self.std = std if std is None or isinstance(std, NDArray) else nd.array(std)

    def __call__(self, src: NDArray) -> NDArray:
        return color_normalize(src, self.mean, self.std)


class RandomGrayAug(Augmenter):
    """With probability ``p``, replace the image by its grey version (in all 3 channels)."""

    def __init__(self, p: float):
        super().__init__(p=p)
        self.p = p
        self.mat = nd.array([[0.21, 0.21, 0.21], [0.72, 0.72, 0.72], [0.07, 0.07, 0.07]])

    def __call__(self, src: NDArray) -> NDArray:
        if random.random() < self.p:
            src = nd.dot(src, self.mat)
        return src


class HorizontalFlipAug(Augmenter):
    """Flip left to right with probability ``p``."""

    def __init__(self, p: float):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src: NDArray) -> NDArray:
        if random.random() < self.p:
            src = nd.flip(src, axis=1)
        return src


class CastAug(Augmenter):
    """Cast to ``typ`` (default float32)."""

    def __init__(self, typ: Any = "float32"):
        super().__init__(type=typ)
        self.typ = typ

    def __call__(self, src: NDArray) -> NDArray:
        return src.astype(self.typ)


def CreateAugmenter(data_shape: tuple, resize: int = 0, rand_crop: bool = False,  # noqa: N802
                    rand_resize: bool = False, rand_mirror: bool = False, mean: Any = None,
                    std: Any = None, brightness: float = 0, contrast: float = 0,
                    saturation: float = 0, hue: float = 0, pca_noise: float = 0,
                    rand_gray: float = 0, inter_method: int = 2) -> list[Augmenter]:
    """MXNet's standard augmenter list for a (C, H, W) ``data_shape``: short-edge resize,
    a crop (random-sized, random or central), mirror, cast to float32, colour jitters,
    PCA lighting, random grey, then normalization (``mean=True`` / ``std=True`` are the
    ImageNet statistics)."""
    auglist: list[Augmenter] = []
    if resize > 0:
        auglist.append(ResizeAug(resize, inter_method))
    crop_size = (data_shape[2], data_shape[1])
    if rand_resize:
        if not rand_crop:
            raise ImageArgumentError("CreateAugmenter: rand_resize needs rand_crop=True")
        auglist.append(RandomSizedCropAug(crop_size, 0.08, (3.0 / 4.0, 4.0 / 3.0),
                                          inter_method))
    elif rand_crop:
        auglist.append(RandomCropAug(crop_size, inter_method))
    else:
        auglist.append(CenterCropAug(crop_size, inter_method))
    if rand_mirror:
        auglist.append(HorizontalFlipAug(0.5))
    auglist.append(CastAug())
    if brightness or contrast or saturation:
        auglist.append(ColorJitterAug(brightness, contrast, saturation))
    if hue:
        auglist.append(HueJitterAug(hue))
    if pca_noise > 0:
        eigval = np.array([55.46, 4.794, 1.148])
        eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                           [-0.5836, -0.6948, 0.4203]])
        auglist.append(LightingAug(pca_noise, eigval, eigvec))
    if rand_gray > 0:
        auglist.append(RandomGrayAug(rand_gray))
    mean = _stat(mean, (123.68, 116.28, 103.53), "mean")
    std = _stat(std, (58.395, 57.12, 57.375), "std")
    if mean is not None or std is not None:
        auglist.append(ColorNormalizeAug(mean, std))
    return auglist


def _stat(value: Any, default: tuple, what: str) -> Any:
    if value is True:
        return nd.array(default)
    if value is not None and not (isinstance(value, (np.ndarray, NDArray))
                                  and value.shape[0] in (1, 3)):
        raise ImageArgumentError(f"CreateAugmenter: {what} must be True, None or an array of "
                                 f"1 or 3 values, got {value!r}")
    return value


# ---------------------------------------------------------------------------- ImageIter


def _label_value(label: Any, ndim: int) -> Any:
    """A record's or list's label as a batch row: a number for 1-D label batches (MXNet
    broadcasts a one-element label into its slot)."""
    if isinstance(label, NDArray):
        label = label.asnumpy()
    label = np.asarray(label, dtype=np.float32)
    return label.reshape(-1)[0] if ndim == 1 and label.size == 1 else label


class ImageIter(io.DataIter):
    """Image data iterator over a RecordIO file (``path_imgrec``, optionally indexed by
    ``path_imgidx``), an image list file (``path_imglist``: ``index\\tlabel...\\tpath``
    lines, images under ``path_root``) or a Python ``imglist`` ``[[label..., path], ...]``,
    with augmenters (``aug_list``, or :func:`CreateAugmenter` of the extra ``kwargs``).

    Batches are float32 (N, C, H, W) with labels of ``dtype``; ``last_batch_handle`` is
    'pad', 'discard' or 'roll_over' as in MXNet.
    """

    def __init__(self, batch_size: int, data_shape: tuple, label_width: int = 1,
                 path_imgrec: str | None = None, path_imglist: str | None = None,
                 path_root: str | None = None, path_imgidx: str | None = None,
                 shuffle: bool = False, part_index: int = 0, num_parts: int = 1,
                 aug_list: list | None = None, imglist: list | None = None,
                 data_name: str = "data", label_name: str = "softmax_label",
                 dtype: str = "float32", last_batch_handle: str = "pad", **kwargs: Any):
        super().__init__()
        if not (path_imgrec or path_imglist or isinstance(imglist, list)):
            raise ImageArgumentError("ImageIter: give path_imgrec, path_imglist or imglist")
        if dtype not in ("int32", "float32", "int64", "float64"):
            raise ImageArgumentError(f"ImageIter: dtype {dtype} label not supported")
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise ImageArgumentError(f"ImageIter: last_batch_handle must be 'pad', 'discard' "
                                     f"or 'roll_over', got {last_batch_handle!r}")
        from .. import recordio

        self._recordio = recordio
        name = type(self).__name__
        self.imgidx: list | None = None
        if path_imgrec:
            logging.info("%s: loading recordio %s...", name, path_imgrec)
            if path_imgidx:
                self.imgrec: Any = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
                self.imgidx = list(self.imgrec.keys)
            else:
                self.imgrec = recordio.MXRecordIO(path_imgrec, "r")
        else:
            self.imgrec = None
        imgkeys: list = []
        if path_imglist:
            logging.info("%s: loading image list %s...", name, path_imglist)
            self.imglist: dict | None = {}
            for line in storage.read_text(path_imglist).splitlines():
                parts = line.strip().split("\t")
                if len(parts) < 2:
                    continue
                key = int(parts[0])
                self.imglist[key] = (nd.array(parts[1:-1], dtype=dtype), parts[-1])
                imgkeys.append(key)
        elif isinstance(imglist, list):
            self.imglist = {}
            for index, img in enumerate(imglist, 1):
                key = str(index)
                if len(img) > 2:
                    label = nd.array(img[:-1], dtype=dtype)
                elif isinstance(img[0], Number):
                    label = nd.array([img[0]], dtype=dtype)
                else:
                    label = nd.array(img[0], dtype=dtype)
                self.imglist[key] = (label, img[-1])
                imgkeys.append(key)
        else:
            self.imglist = None
        self.path_root = path_root
        data_shape = tuple(data_shape)
        self.check_data_shape(data_shape)
        self.provide_data = [io.DataDesc(data_name, (batch_size, *data_shape))]
        label_shape = (batch_size, label_width) if label_width > 1 else (batch_size,)
        self.provide_label = [io.DataDesc(label_name, label_shape)]
        self.batch_size = batch_size
        self.data_shape = data_shape
        self.label_width = label_width
        self.shuffle = shuffle
        self.seq: list | None
        if self.imgrec is None:
            self.seq = imgkeys
        elif shuffle or num_parts > 1 or path_imgidx:
            if self.imgidx is None:
                raise ImageArgumentError("ImageIter: shuffle and num_parts > 1 need an "
                                         "indexed record file (path_imgidx)")
            self.seq = self.imgidx
        else:
            self.seq = None
        if num_parts > 1:
            if not 0 <= part_index < num_parts:
                raise ImageArgumentError(f"ImageIter: part_index {part_index} is not in "
                                         f"[0, num_parts={num_parts})")
            per = len(self.seq) // num_parts
            self.seq = self.seq[part_index * per:(part_index + 1) * per]
        self.auglist = CreateAugmenter(data_shape, **kwargs) if aug_list is None else aug_list
        self.cur = 0
        self._allow_read = True
        self.last_batch_handle = last_batch_handle
        self.num_image = len(self.seq) if self.seq is not None else None
        self._cache_data: NDArray | None = None
        self._cache_label: NDArray | None = None
        self._cache_idx: int | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new epoch (reshuffled when ``shuffle``)."""
        if self.seq is not None and self.shuffle:
            random.shuffle(self.seq)
        if self.last_batch_handle != "roll_over" or self._cache_data is None:
            if self.imgrec is not None:
                self.imgrec.reset()
            self.cur = 0
            self._allow_read = True

    def hard_reset(self) -> None:
        """Start a new epoch and drop a rolled-over partial batch."""
        if self.seq is not None and self.shuffle:
            random.shuffle(self.seq)
        if self.imgrec is not None:
            self.imgrec.reset()
        self.cur = 0
        self._allow_read = True
        self._cache_data = self._cache_label = None
        self._cache_idx = None

    def next_sample(self) -> tuple[Any, Any]:
        """The next (label, encoded image) pair."""
        if not self._allow_read:
            raise StopIteration
        unpack = self._recordio.unpack
        if self.seq is not None:
            if self.cur >= self.num_image:
                if self.last_batch_handle != "discard":
                    self.cur = 0
                raise StopIteration
            idx = self.seq[self.cur]
            self.cur += 1
            if self.imgrec is not None:
                header, img = unpack(self.imgrec.read_idx(idx))
                if self.imglist is None:
                    return header.label, img
                return self.imglist[idx][0], img
            label, fname = self.imglist[idx]
            return label, self.read_image(fname)
        s = self.imgrec.read()
        if s is None:
            if self.last_batch_handle != "discard":
                self.imgrec.reset()
            raise StopIteration
        header, img = unpack(s)
        return header.label, img

    def _batchify(self, batch_data: NDArray, batch_label: NDArray, start: int = 0) -> int:
        i = start
        try:
            while i < self.batch_size:
                label, s = self.next_sample()
                data = self.imdecode(s)
                try:
                    self.check_valid_image(data)
                except RuntimeError as e:
                    logging.debug("Invalid image, skipping:  %s", e)
                    continue
                data = self.augmentation_transform(data)
                batch_data[i] = self.postprocess_data(data)
                batch_label[i] = _label_value(label, batch_label.ndim)
                i += 1
        except StopIteration:
            if not i:
                raise
        return i

    def next(self) -> io.DataBatch:
        c, h, w = self.data_shape
        if self._cache_data is not None:
            batch_data, batch_label, i = self._cache_data, self._cache_label, self._cache_idx
        else:
            batch_data = nd.zeros((self.batch_size, c, h, w))
            batch_label = self._new_label_batch()
            i = self._batchify(batch_data, batch_label)
        pad = self.batch_size - i
        if pad != 0:
            if self.last_batch_handle == "discard":
                raise StopIteration
            if self.last_batch_handle == "roll_over" and self._cache_data is None:
                self._cache_data, self._cache_label, self._cache_idx = \
                    batch_data, batch_label, i
                raise StopIteration
            self._batchify(batch_data, batch_label, i)
            if self.last_batch_handle == "pad":
                self._allow_read = False
            else:
                self._cache_data = self._cache_label = None
                self._cache_idx = None
        return io.DataBatch([batch_data], [batch_label], pad=pad)

    def _new_label_batch(self) -> NDArray:
        return nd.empty(self.provide_label[0][1])

    def check_data_shape(self, data_shape: tuple) -> None:
        """Data shape must be (3, H, W)."""
        if len(data_shape) != 3:
            raise ImageArgumentError("data_shape should have length 3, with dimensions CxHxW")
        if data_shape[0] != 3:
            raise ImageArgumentError("This iterator expects inputs to have 3 channels.")

    def check_valid_image(self, data: Any) -> None:
        """RuntimeError for an image that decoded to nothing."""
        if len(data[0].shape) == 0:
            raise RuntimeError("Data shape is wrong")

    def imdecode(self, s: bytes) -> NDArray:
        """Decode an image; RuntimeError naming the record or file when it does not."""
        try:
            return imdecode(s)
        except Exception as e:
            if self.seq is not None:
                idx = self.seq[self.cur % self.num_image - 1]
            else:
                idx = "after record read" if self.num_image is None else self.cur - 1
            if self.imglist is not None:
                where = f"filename: {self.imglist[idx][1]}"
            else:
                where = f"index: {idx}"
            raise RuntimeError(f"Broken image {where}, {e}") from None

    def read_image(self, fname: str) -> bytes:
        """The bytes of image ``fname`` under ``path_root``."""
        path = fname if self.path_root is None else os.path.join(self.path_root, fname)
        return storage.read_bytes(path)

    def augmentation_transform(self, data: NDArray) -> NDArray:
        """Apply the augmenters in order."""
        for aug in self.auglist:
            data = aug(data)
        return data

    def postprocess_data(self, datum: NDArray) -> NDArray:
        """HWC to CHW."""
        return nd.transpose(datum, axes=(2, 0, 1))
