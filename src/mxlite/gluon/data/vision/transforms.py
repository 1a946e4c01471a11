"""Image transforms (``mx.gluon.data.vision.transforms``), MXNet 1.9.1's Blocks.

The HybridBlocks call MXNet's image operators (``F.image.to_tensor``, ``F.image.resize``...)
from the operator registry, so they hybridize and autograd sees them; the crops that draw
their window in Python (:class:`CenterCrop`, :class:`RandomResizedCrop`) are Blocks calling
``mx.image`` as MXNet's are.

Random operators draw from ``mx.random`` (seed with ``mx.random.seed``) where MXNet's draw
from its engine's generator, so their draws differ from MXNet's; the ones MXNet drives from
Python's ``random`` (:class:`RandomResizedCrop`, :class:`RandomApply`) draw from it here too
and repeat MXNet's choices for the same ``random.seed``.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from .... import image
from ....base import MXNetError
from ....ndarray.ndarray import NDArray
from ...block import Block, HybridBlock
from ...nn import HybridSequential, Sequential
from .._errors import DataValueError

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "RandomResizedCrop", "CropResize",
           "CenterCrop", "Resize", "RandomFlipLeftRight", "RandomFlipTopBottom",
           "RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue",
           "RandomColorJitter", "RandomLighting", "RandomApply", "Rotate", "RandomRotation"]


class Compose(Sequential):
    """Sequentially composes multiple transforms.

    Consecutive HybridBlocks are grouped in a hybridized HybridSequential, as MXNet does.

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
            if isinstance(t, HybridBlock):
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

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.to_tensor(x)


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

    def __init__(self, mean: Any = 0.0, std: Any = 1.0):
        super().__init__()
        self._mean = mean
        self._std = std

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.normalize(x, self._mean, self._std)


class Rotate(Block):
    """Rotate a float32 image (C x H x W) or batch (N x C x H x W) by ``rotation_degrees``
    (see :func:`mxlite.image.imrotate`; needs the ``BilinearSampler`` operator).

    Parameters
    ----------
    rotation_degrees : float
        Angle of the rotation, in degrees.
    zoom_in : bool
        Zoom in so that no padding shows.
    zoom_out : bool
        Zoom out so that the whole image shows.
    """

    def __init__(self, rotation_degrees: float, zoom_in: bool = False,
                 zoom_out: bool = False):
        super().__init__()
        self._args = (rotation_degrees, zoom_in, zoom_out)

    def forward(self, x: NDArray) -> NDArray:
        if np.dtype(x.dtype) != np.float32:
            raise TypeError("This transformation only supports float32. "
                            "Consider calling it after ToTensor")
        return image.imrotate(x, *self._args)


class RandomRotation(Block):
    """Rotate a float32 image (C x H x W) or batch by a random angle drawn (numpy's global
    generator, as MXNet) from ``angle_limits``, with probability ``rotate_with_proba``.
    """

    def __init__(self, angle_limits: tuple, zoom_in: bool = False, zoom_out: bool = False,
                 rotate_with_proba: float = 1.0):
        super().__init__()
        lower, upper = angle_limits
        if lower >= upper:
            raise DataValueError("RandomRotation: `angle_limits` must be an ordered tuple")
        if not 0 <= rotate_with_proba <= 1:
            raise DataValueError("RandomRotation: probability of rotating the image should "
                                 "be between 0 and 1")
        self._args = (angle_limits, zoom_in, zoom_out)
        self._rotate_with_proba = rotate_with_proba

    def forward(self, x: NDArray) -> NDArray:
        if np.random.random() > self._rotate_with_proba:
            return x
        if np.dtype(x.dtype) != np.float32:
            raise TypeError("This transformation only supports float32. "
                            "Consider calling it after ToTensor")
        return image.random_rotate(x, *self._args)


def _size_pair(size: Any, what: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        size = (size, size)
    try:
        w, h = (int(s) for s in size)
    except (TypeError, ValueError):
        raise MXNetError(f"{what}: size must be an int or a (width, height) pair, got "
                         f"{size!r}") from None
    return w, h


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
        return image.random_size_crop(x, *self._args)[0]


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
        out = F.image.crop(x, self._x, self._y, self._width, self._height)
        if self._size:
            interp = 1 if self._interpolation is None else self._interpolation
            out = F.image.resize(out, self._size, False, interp)
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
        return image.center_crop(x, *self._args)[0]


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

    def __init__(self, size: Any, keep_ratio: bool = False, interpolation: int = 1):
        super().__init__()
        self._keep = keep_ratio
        self._size = size
        self._interpolation = interpolation

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.resize(x, self._size, self._keep, self._interpolation)


# ---------------------------------------------------------------------------- random ops


class RandomFlipLeftRight(HybridBlock):
    """Flip the image (H x W x C) left to right with probability 0.5."""

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.random_flip_left_right(x)


class RandomFlipTopBottom(HybridBlock):
    """Flip the image (H x W x C) top to bottom with probability 0.5."""

    def __init__(self):
        super().__init__()

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.random_flip_top_bottom(x)


class _RandomEnhance(HybridBlock):
    """Factor jitters: a factor drawn uniformly from ``[max(0, 1 - a), 1 + a]``."""

    _op = ""

    def __init__(self, amount: float):
        super().__init__()
        self._args = (max(0, 1 - amount), 1 + amount)

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return getattr(F.image, self._op)(x, *self._args)


class RandomBrightness(_RandomEnhance):
    """Multiply the image (H x W x C) by a factor drawn from
    ``[max(0, 1 - brightness), 1 + brightness]``."""

    _op = "random_brightness"

    def __init__(self, brightness: float):
        super().__init__(brightness)


class RandomContrast(_RandomEnhance):
    """Blend the image (H x W x C) with its mean grey level, by a factor drawn from
    ``[max(0, 1 - contrast), 1 + contrast]``."""

    _op = "random_contrast"

    def __init__(self, contrast: float):
        super().__init__(contrast)


class RandomSaturation(_RandomEnhance):
    """Blend the image (H x W x C) with its grey image, by a factor drawn from
    ``[max(0, 1 - saturation), 1 + saturation]``."""

    _op = "random_saturation"

    def __init__(self, saturation: float):
        super().__init__(saturation)


class RandomHue(_RandomEnhance):
    """Rotate the hue of the image (H x W x C) by a fraction of a turn drawn from
    ``[max(0, 1 - hue), 1 + hue]`` (MXNet's range, kept as it is)."""

    _op = "random_hue"

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

    def __init__(self, brightness: float = 0, contrast: float = 0, saturation: float = 0,
                 hue: float = 0):
        super().__init__()
        self._args = (brightness, contrast, saturation, hue)

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.random_color_jitter(x, *self._args)


class RandomLighting(HybridBlock):
    """Add AlexNet-style PCA lighting noise with intensity ``alpha`` (the standard deviation
    of the three normal draws)."""

    def __init__(self, alpha: float):
        super().__init__()
        self._alpha = alpha

    def hybrid_forward(self, F: Any, x: Any) -> Any:  # noqa: N803
        return F.image.random_lighting(x, self._alpha)


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
