"""Image transforms (``mx.gluon.data.vision.transforms``), MXNet 1.9.1's Blocks.

Each transform calls MXNet's image operator (``_image_to_tensor``, ``_image_resize``...)
through the operator registry when the registry has it, so it hybridizes and autograd sees
it. mxlite's registry has no image operators yet: until it does, the transforms run the same
computation on numpy (:mod:`._image`, one function per operator) when called on NDArrays, and
refuse to be traced into a Symbol. :class:`Compose` therefore only hybridizes runs of
transforms whose operators the registry has.

Random transforms draw from ``mx.random`` (seed with ``mx.random.seed``) where MXNet's
operators draw from its engine's generator, so their draws differ from MXNet's; the ones
MXNet drives from Python's ``random`` (:class:`RandomResizedCrop`, :class:`RandomApply`)
draw from it here too and repeat MXNet's choices for the same ``random.seed``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .... import ndarray as _nd
from .... import random as _mxrandom
from ....base import MXNetError, NotSupportedError
from ....ndarray.ndarray import NDArray
from ....ops import registry as _registry
from ...block import Block, HybridBlock
from ...nn import HybridSequential, Sequential
from . import _image

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "RandomResizedCrop", "CropResize",
           "CenterCrop", "Resize", "RandomFlipLeftRight", "RandomFlipTopBottom",
           "RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue",
           "RandomColorJitter", "RandomLighting", "RandomApply"]


def _has_op(name: str) -> bool:
    return _registry.find(name) is not None


def _image_op(F: Any, op: str, data: Any,  # noqa: N803
              fallback: Callable[[np.ndarray], np.ndarray], **params: Any) -> Any:
    """``F._internal.<op>(data, **params)`` from the registry, else ``fallback`` on numpy."""
    if _has_op(op):
        return getattr(F._internal, op)(data, **params)
    if not isinstance(data, NDArray):
        raise NotSupportedError(
            f"the {op} operator is not in mxlite's operator registry yet, so this transform "
            "cannot be hybridized or traced into a Symbol; call it on NDArrays without "
            "hybridize()")
    return NDArray(fallback(data.asnumpy()), data.context)


def _uniform(low: float, high: float) -> np.float32:
    return np.float32(_mxrandom.generator().uniform(low, high))


class Compose(Sequential):
    """Sequentially composes multiple transforms.

    Consecutive HybridBlocks are grouped in a hybridized HybridSequential, as MXNet does,
    when the registry has their operators (see the module notes).

    Parameters
    ----------
    transforms : list of transform Blocks
        The transforms to apply, in order.

    Examples
    --------
    >>> transformer = transforms.Compose([transforms.Resize(300),
    ...                                   transforms.CenterCrop(256),
    ...                                   transforms.ToTensor()])
    >>> image = mx.nd.random.uniform(0, 255, (224, 224, 3)).astype(dtype=np.uint8)
    >>> transformer(image)
    <NDArray 3x256x256 @cpu(0)>
    """

    def __init__(self, transforms: Sequence[Block]):
        super().__init__()
        run: list[HybridBlock] = []
        for t in [*transforms, None]:
            if isinstance(t, HybridBlock) and _hybridizable(t):
                run.append(t)
                continue
            if len(run) == 1:
                self.add(run[0])
            elif len(run) > 1:
                hblock = HybridSequential()
                hblock.add(*run)
                hblock.hybridize()
                self.add(hblock)
            run = []
            if t is not None:
                self.add(t)


def _hybridizable(block: Block) -> bool:
    """Whether every image operator ``block`` (and its children) needs is in the registry."""
    ops = getattr(block, "_image_ops", ())
    return all(_has_op(op) for op in ops) and all(
        _hybridizable(child) for child in block._children.values())


class Cast(HybridBlock):
    """Cast the input to ``dtype`` (default float32).

    Inputs:
        - **data**: input tensor with arbitrary shape and dtype.

    Outputs:
        - **out**: output tensor with the same shape as `data` and data type as dtype.
    """

    def __init__(self, dtype: Any = "float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.cast(x, self._dtype)


class ToTensor(HybridBlock):
    """Converts an image (H x W x C) or a batch of images (N x H x W x C) in [0, 255] to a
    float32 tensor (C x H x W) or (N x C x H x W) in [0, 1].

    Inputs:
        - **data**: input tensor with (H x W x C) or (N x H x W x C) shape and uint8 type.

    Outputs:
        - **out**: output tensor with (C x H x W) or (N x C x H x W) shape and float32 type.
    """

    _image_ops = ("_image_to_tensor",)

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_to_tensor", x, _image.to_tensor)


class Normalize(HybridBlock):
    """Normalizes a tensor (C x H x W) or (N x C x H x W) with per-channel mean and standard
    deviation: ``output[i] = (input[i] - mean[i]) / std[i]``.

    A scalar mean or std applies to every channel.

    Parameters
    ----------
    mean : float or tuple of floats
        The mean values.
    std : float or tuple of floats
        The standard deviation values.
    """

    _image_ops = ("_image_normalize",)

    def __init__(self, mean: Any = 0.0, std: Any = 1.0):
        super().__init__()
        self._mean = mean
        self._std = std

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_normalize", x,
                         lambda a: _image.normalize(a, self._mean, self._std),
                         mean=self._mean, std=self._std)


# ---------------------------------------------------------------------------- crops


def _size_pair(size: Any, what: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        size = (size, size)
    try:
        w, h = (int(s) for s in size)
    except (TypeError, ValueError):
        raise MXNetError(f"{what}: size must be an int or a (width, height) pair, got "
                         f"{size!r}") from None
    return w, h


def _interp_method(interp: int, sizes: tuple = ()) -> int:
    """MXNet's ``image._get_interp_method``: 9 picks by the scale, 10 at random."""
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
        raise MXNetError(f"Unknown interp method {interp}")
    return interp


def _imresize(src: NDArray, w: int, h: int, interp: int) -> NDArray:
    return _image_op(_nd, "_cvimresize", src, lambda a: _image.imresize(a, w, h, interp),
                     w=w, h=h, interp=interp)


def _fixed_crop(src: NDArray, x0: int, y0: int, w: int, h: int, size: tuple | None,
                interp: int) -> NDArray:
    """MXNet's ``image.fixed_crop``: the window, then resized to ``size`` if that differs."""
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        out = _imresize(out, size[0], size[1], _interp_method(interp, (h, w, size[1], size[0])))
    return out


def _scale_down(src_size: tuple[int, int], size: tuple[int, int]) -> tuple[int, int]:
    """MXNet's ``image.scale_down``: shrink a (w, h) crop to fit, keeping its aspect ratio."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def _check_hwc(src: Any, what: str) -> tuple[int, int]:
    if not isinstance(src, NDArray) or src.ndim != 3:
        shape = getattr(src, "shape", None)
        raise MXNetError(f"{what}: expects an NDArray image of shape (H, W, C), got "
                         f"{type(src).__name__} of shape {shape}")
    return src.shape[0], src.shape[1]


def _center_crop(src: NDArray, size: tuple[int, int], interp: int) -> NDArray:
    h, w = _check_hwc(src, "CenterCrop")
    new_w, new_h = _scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    return _fixed_crop(src, x0, y0, new_w, new_h, size, interp)


class RandomResizedCrop(Block):
    """Crop the input image with random scale and aspect ratio, then resize it to ``size``.

    The crop covers a random fraction ``scale`` of the image's area with an aspect ratio
    drawn log-uniformly from ``ratio``; after 10 failed draws the center crop is used. The
    draws come from Python's ``random``, as MXNet's do.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of the final output.
    scale : tuple of two floats
        Range of the cropped area, as fractions of the image's area.
    ratio : tuple of two floats
        Range of the aspect ratio (width / height) of the crop.
    interpolation : int
        OpenCV interpolation of the resize (default 1, bilinear).
    """

    def __init__(self, size: Any, scale: tuple = (0.08, 1.0),
                 ratio: tuple = (3.0 / 4.0, 4.0 / 3.0), interpolation: int = 1):
        super().__init__()
        self._args = (_size_pair(size, "RandomResizedCrop"), scale, ratio, interpolation)

    def forward(self, x: NDArray) -> NDArray:
        size, area, ratio, interp = self._args
        h, w = _check_hwc(x, "RandomResizedCrop")
        if isinstance(area, numbers.Number):
            area = (area, 1.0)
        src_area = h * w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = random.uniform(area[0], area[1]) * src_area
            new_ratio = math.exp(random.uniform(*log_ratio))
            new_w = int(round(math.sqrt(target_area * new_ratio)))
            new_h = int(round(math.sqrt(target_area / new_ratio)))
            if new_w <= w and new_h <= h:
                x0 = random.randint(0, w - new_w)
                y0 = random.randint(0, h - new_h)
                return _fixed_crop(x, x0, y0, new_w, new_h, size, interp)
        return _center_crop(x, size, interp)


class CropResize(HybridBlock):
    """Crop the ``width`` x ``height`` window at (``x``, ``y``) and optionally resize it.

    Parameters
    ----------
    x, y : int
        Left and top boundaries of the window.
    width, height : int
        Size of the window.
    size : int or tuple of (w, h), optional
        Resize the window to this size.
    interpolation : int, optional
        OpenCV interpolation of the resize.

    Inputs:
        - **data**: input tensor with (H x W x C) or (N x H x W x C) shape.
    """

    _image_ops = ("_image_crop", "_image_resize")

    def __init__(self, x: int, y: int, width: int, height: int, size: Any = None,
                 interpolation: int | None = None):
        super().__init__()
        self._x = x
        self._y = y
        self._width = width
        self._height = height
        self._size = size
        self._interpolation = interpolation

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        box = (self._x, self._y, self._width, self._height)
        out = _image_op(F, "_image_crop", x, lambda a: _image.crop(a, *box),
                        x=box[0], y=box[1], width=box[2], height=box[3])
        if self._size:
            interp = 1 if self._interpolation is None else self._interpolation
            out = _image_op(F, "_image_resize", out,
                            lambda a: _image.resize(a, self._size, False, interp),
                            size=self._size, keep_ratio=False, interp=interp)
        return out


class CenterCrop(Block):
    """Crops the center of the image to ``size``, upsampling when the image is smaller.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of the output image.
    interpolation : int
        OpenCV interpolation of the resize (default 1, bilinear).

    Examples
    --------
    >>> transformer = vision.transforms.CenterCrop(size=(1000, 500))
    >>> image = mx.nd.random.uniform(0, 255, (2321, 3482, 3)).astype(dtype=np.uint8)
    >>> transformer(image)
    <NDArray 500x1000x3 @cpu(0)>
    """

    def __init__(self, size: Any, interpolation: int = 1):
        super().__init__()
        self._args = (_size_pair(size, "CenterCrop"), interpolation)

    def forward(self, x: NDArray) -> NDArray:
        return _center_crop(x, *self._args)


class Resize(HybridBlock):
    """Resize an image (H x W x C) or a batch of images (N x H x W x C) to ``size``.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of the output image.
    keep_ratio : bool
        With an int ``size``: resize the short edge to ``size`` keeping the aspect ratio
        (True) or both edges to ``size`` (False).
    interpolation : int
        OpenCV interpolation (default 1, bilinear; 0 is nearest).
    """

    _image_ops = ("_image_resize",)

    def __init__(self, size: Any, keep_ratio: bool = False, interpolation: int = 1):
        super().__init__()
        self._keep = keep_ratio
        self._size = size
        self._interpolation = interpolation

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_resize", x,
                         lambda a: _image.resize(a, self._size, self._keep, self._interpolation),
                         size=self._size, keep_ratio=self._keep, interp=self._interpolation)


# ---------------------------------------------------------------------------- random ops


class RandomFlipLeftRight(HybridBlock):
    """Flip the image (H x W x C) left to right with probability 0.5."""

    _image_ops = ("_image_random_flip_left_right",)

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_random_flip_left_right", x, _random_flip(1))


class RandomFlipTopBottom(HybridBlock):
    """Flip the image (H x W x C) top to bottom with probability 0.5."""

    _image_ops = ("_image_random_flip_top_bottom",)

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_random_flip_top_bottom", x, _random_flip(0))


def _random_flip(axis: int) -> Callable[[np.ndarray], np.ndarray]:
    def run(a: np.ndarray) -> np.ndarray:
        _image.check_channels(a, "random_flip")
        return _image.flip(a, axis) if _mxrandom.generator().random() < 0.5 else a
    return run


def _jitter_range(amount: float) -> tuple[float, float]:
    return max(0, 1 - amount), 1 + amount


class _RandomEnhance(HybridBlock):
    """Multiply-style jitters: a factor drawn uniformly from ``[max(0, 1 - a), 1 + a]``."""

    _op = ""
    _kernel: Callable[[np.ndarray, float], np.ndarray]

    def __init__(self, amount: float):
        super().__init__()
        self._args = _jitter_range(amount)
        self._image_ops = (self._op,)

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        lo, hi = self._args
        kernel = type(self)._kernel
        return _image_op(F, self._op, x, lambda a: kernel(a, _uniform(lo, hi)),
                         min_factor=lo, max_factor=hi)


class RandomBrightness(_RandomEnhance):
    """Multiply the image (H x W x C) by a factor drawn from
    ``[max(0, 1 - brightness), 1 + brightness]``."""

    _op = "_image_random_brightness"
    _kernel = staticmethod(_image.adjust_brightness)

    def __init__(self, brightness: float):
        super().__init__(brightness)


class RandomContrast(_RandomEnhance):
    """Blend the image (H x W x C) with its mean grey level, by a factor drawn from
    ``[max(0, 1 - contrast), 1 + contrast]``."""

    _op = "_image_random_contrast"
    _kernel = staticmethod(_image.adjust_contrast)

    def __init__(self, contrast: float):
        super().__init__(contrast)


class RandomSaturation(_RandomEnhance):
    """Blend the image (H x W x C) with its grey image, by a factor drawn from
    ``[max(0, 1 - saturation), 1 + saturation]``."""

    _op = "_image_random_saturation"
    _kernel = staticmethod(_image.adjust_saturation)

    def __init__(self, saturation: float):
        super().__init__(saturation)


class RandomHue(_RandomEnhance):
    """Rotate the hue of the image (H x W x C) by a fraction of a turn drawn from
    ``[max(0, 1 - hue), 1 + hue]`` (MXNet's range, kept as it is)."""

    _op = "_image_random_hue"
    _kernel = staticmethod(_image.adjust_hue)

    def __init__(self, hue: float):
        super().__init__(hue)


class RandomColorJitter(HybridBlock):
    """Jitter brightness, contrast, saturation and hue in a random order; a step whose
    amount is 0 is skipped.

    Parameters
    ----------
    brightness, contrast, saturation : float
        Factors are drawn from ``1 + [-amount, amount]``.
    hue : float
        The hue turns by a fraction drawn from ``[-hue, hue]``.
    """

    _image_ops = ("_image_random_color_jitter",)

    def __init__(self, brightness: float = 0, contrast: float = 0, saturation: float = 0,
                 hue: float = 0):
        super().__init__()
        self._args = (brightness, contrast, saturation, hue)

    def _jitter(self, a: np.ndarray) -> np.ndarray:
        gen = _mxrandom.generator()
        steps = ((_image.adjust_brightness, 1.0), (_image.adjust_contrast, 1.0),
                 (_image.adjust_saturation, 1.0), (_image.adjust_hue, 0.0))
        out = a
        for k in gen.permutation(4):
            amount = self._args[k]
            if amount > 0:
                fn, base = steps[k]
                out = fn(out, np.float32(base + gen.uniform(-amount, amount)))
        return out if out is not a else a.copy()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        b, c, s, h = self._args
        return _image_op(F, "_image_random_color_jitter", x, self._jitter, brightness=b,
                         contrast=c, saturation=s, hue=h)


class RandomLighting(HybridBlock):
    """Add AlexNet-style PCA lighting noise with intensity ``alpha`` (the standard deviation
    of the three normal draws)."""

    _image_ops = ("_image_random_lighting",)

    def __init__(self, alpha: float):
        super().__init__()
        self._alpha = alpha

    def _light(self, a: np.ndarray) -> np.ndarray:
        draws = _mxrandom.generator().normal(0.0, self._alpha, 3) if self._alpha else \
            np.zeros(3)
        return _image.adjust_lighting(a, draws.astype(np.float32))

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return _image_op(F, "_image_random_lighting", x, self._light, alpha_std=self._alpha)


class RandomApply(Sequential):
    """Apply ``transforms`` with probability ``p`` (drawn from Python's ``random``, as MXNet).

    Parameters
    ----------
    transforms
        A transform Block (a :class:`Compose` for several).
    p : float
        Probability of applying them.
    """

    def __init__(self, transforms: Block, p: float = 0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, x: Any) -> Any:
        if self.p < random.random():
            return x
        return self.transforms(x)
