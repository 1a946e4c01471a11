"""Read images and augment them for object detection (MXNet 1.9.1's
``mx.image.detection``).

A detection label is a float array ``(num_objects, width)``, each row ``[class, xmin, ymin,
xmax, ymax, ...]`` with coordinates relative to the image size; in a record file it is
stored flat behind a header ``[header_width, object_width, ...]``. Augmenters take and return
``(image, label)``; the random choices draw from Python's ``random`` as MXNet's do.
"""

from __future__ import annotations

import json
import logging
import random
import warnings
from collections.abc import Iterator
from math import sqrt
from numbers import Number
from typing import Any

import numpy as np

from .. import io
from .. import ndarray as nd
from ..ndarray.ndarray import NDArray
from .image import (
    Augmenter,
    CastAug,
    ColorJitterAug,
    ColorNormalizeAug,
    ForceResizeAug,
    HueJitterAug,
    ImageArgumentError,
    ImageIter,
    LightingAug,
    RandomGrayAug,
    ResizeAug,
    copyMakeBorder,
    fixed_crop,
)

__all__ = ["DetAugmenter", "DetBorrowAug", "DetRandomSelectAug", "DetHorizontalFlipAug",
           "DetRandomCropAug", "DetRandomPadAug", "CreateMultiRandCropAugmenter",
           "CreateDetAugmenter", "ImageDetIter"]


class DetAugmenter:
    """Detection augmenter base class: ``aug(src, label)`` returns ``(src, label)``."""

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

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        raise NotImplementedError("Must override implementation.")


class DetBorrowAug(DetAugmenter):
    """Use an image :class:`~mxlite.image.Augmenter` that leaves the label valid (colour,
    resize to the same relative geometry, cast...)."""

    def __init__(self, augmenter: Augmenter):
        if not isinstance(augmenter, Augmenter):
            raise TypeError("Borrowing from invalid Augmenter")
        super().__init__(augmenter=augmenter.dumps())
        self.augmenter = augmenter

    def dumps(self) -> Any:
        return [self.__class__.__name__.lower(), self.augmenter.dumps()]

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        return self.augmenter(src), label


class DetRandomSelectAug(DetAugmenter):
    """Apply one augmenter picked at random from ``aug_list``, or none with probability
    ``skip_prob``."""

    def __init__(self, aug_list: Any, skip_prob: float = 0):
        super().__init__(skip_prob=skip_prob)
        if not isinstance(aug_list, (list, tuple)):
            aug_list = [aug_list]
        for aug in aug_list:
            if not isinstance(aug, DetAugmenter):
                raise ImageArgumentError("Allow DetAugmenter in list only")
        if not aug_list:
            skip_prob = 1
        self.aug_list = aug_list
        self.skip_prob = skip_prob

    def dumps(self) -> Any:
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.aug_list]]

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        if random.random() < self.skip_prob:
            return src, label
        random.shuffle(self.aug_list)
        return self.aug_list[0](src, label)


class DetHorizontalFlipAug(DetAugmenter):
    """Flip the image and its boxes left to right with probability ``p``."""

    def __init__(self, p: float):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        if random.random() < self.p:
            src = nd.flip(src, axis=1)
            self._flip_label(label)
        return src, label

    def _flip_label(self, label: np.ndarray) -> None:
        tmp = 1.0 - label[:, 1]
        label[:, 1] = 1.0 - label[:, 3]
        label[:, 3] = tmp


def _pair(value: Any, what: str, aug: str) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    if not isinstance(value, Number):
        raise ImageArgumentError(f"{aug}: {what} must be a number or a (min, max) pair, got "
                                 f"{value!r}")
    logging.info("Using fixed %s: %s in %s", what, value, aug)
    return (value, value)


def _areas(label: np.ndarray) -> np.ndarray:
    return np.maximum(0, label[:, 3] - label[:, 1]) * np.maximum(0, label[:, 2] - label[:, 0])


class DetRandomCropAug(DetAugmenter):
    """Random crop that keeps objects: the crop covers at least ``min_object_covered`` of
    each object it touches; objects less than ``min_eject_coverage`` inside are dropped.

    Parameters
    ----------
    min_object_covered : float
        Minimum fraction of each touched object's area inside the crop.
    aspect_ratio_range : tuple of floats
        Range of the crop's aspect ratio (width / height).
    area_range : tuple of floats
        Range of the crop's area as a fraction of the image's.
    min_eject_coverage : float
        Objects with less of their area inside the crop are removed.
    max_attempts : int
        Proposals tried before giving up (the image is then left as it is).
    """

    def __init__(self, min_object_covered: float = 0.1,
                 aspect_ratio_range: Any = (0.75, 1.33), area_range: Any = (0.05, 1.0),
                 min_eject_coverage: float = 0.3, max_attempts: int = 50):
        aspect_ratio_range = _pair(aspect_ratio_range, "aspect ratio", "DetRandomCropAug")
        area_range = _pair(area_range, "area range", "DetRandomCropAug")
        super().__init__(min_object_covered=min_object_covered,
                         aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         min_eject_coverage=min_eject_coverage, max_attempts=max_attempts)
        self.min_object_covered = min_object_covered
        self.min_eject_coverage = min_eject_coverage
        self.max_attempts = max_attempts
        self.aspect_ratio_range = aspect_ratio_range
        self.area_range = area_range
        self.enabled = False
        if area_range[1] <= 0 or area_range[0] > area_range[1]:
            warnings.warn(f"Skip DetRandomCropAug due to invalid area_range: {area_range}",
                          stacklevel=2)
        elif aspect_ratio_range[0] > aspect_ratio_range[1] or aspect_ratio_range[0] <= 0:
            warnings.warn("Skip DetRandomCropAug due to invalid aspect_ratio_range: "
                          f"{aspect_ratio_range}", stacklevel=2)
        else:
            self.enabled = True

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        crop = self._random_crop_proposal(label, src.shape[0], src.shape[1])
        if crop:
            x, y, w, h, label = crop
            src = fixed_crop(src, x, y, w, h, None)
        return src, label

    def _calculate_areas(self, label: np.ndarray) -> np.ndarray:
        return _areas(label)

    def _intersect(self, label: np.ndarray, xmin: float, ymin: float, xmax: float,
                   ymax: float) -> np.ndarray:
        left = np.maximum(label[:, 0], xmin)
        right = np.minimum(label[:, 2], xmax)
        top = np.maximum(label[:, 1], ymin)
        bot = np.minimum(label[:, 3], ymax)
        out = label.copy()
        out[:, 0], out[:, 1], out[:, 2], out[:, 3] = left, top, right, bot
        out[(left >= right) | (top >= bot), :] = 0
        return out

    def _check_satisfy_constraints(self, label: np.ndarray, xmin: int, ymin: int, xmax: int,
                                   ymax: int, width: int, height: int) -> bool:
        if (xmax - xmin) * (ymax - ymin) < 2:
            return False
        x1, y1 = float(xmin) / width, float(ymin) / height
        x2, y2 = float(xmax) / width, float(ymax) / height
        object_areas = _areas(label[:, 1:])
        valid = np.where(object_areas * width * height > 2)[0]
        if valid.size < 1:
            return False
        inter = self._intersect(label[valid, 1:], x1, y1, x2, y2)
        coverages = _areas(inter) / object_areas[valid]
        coverages = coverages[coverages > 0]
        return bool(coverages.size > 0 and np.amin(coverages) > self.min_object_covered)

    def _update_labels(self, label: np.ndarray, crop_box: tuple, height: int,
                       width: int) -> np.ndarray | None:
        xmin, ymin = float(crop_box[0]) / width, float(crop_box[1]) / height
        w, h = float(crop_box[2]) / width, float(crop_box[3]) / height
        out = label.copy()
        out[:, (1, 3)] -= xmin
        out[:, (2, 4)] -= ymin
        out[:, (1, 3)] /= w
        out[:, (2, 4)] /= h
        out[:, 1:5] = np.clip(out[:, 1:5], 0, 1)
        coverage = _areas(out[:, 1:]) * w * h / _areas(label[:, 1:])
        valid = (out[:, 3] > out[:, 1]) & (out[:, 4] > out[:, 2]) & \
            (coverage > self.min_eject_coverage)
        if not valid.any():
            return None
        return out[valid, :]

    def _random_crop_proposal(self, label: np.ndarray, height: int, width: int) -> tuple:
        if not self.enabled or height <= 0 or width <= 0:
            return ()
        min_area = self.area_range[0] * height * width
        max_area = self.area_range[1] * height * width
        for _ in range(self.max_attempts):
            ratio = random.uniform(*self.aspect_ratio_range)
            if ratio <= 0:
                continue
            h = int(round(sqrt(min_area / ratio)))
            max_h = int(round(sqrt(max_area / ratio)))
            if round(max_h * ratio) > width:
                max_h = int((width + 0.4999999) / ratio)  # find the right max_h
            max_h = min(max_h, height)
            h = min(h, max_h)
            if h < max_h:
                h = random.randint(h, max_h)
            w = int(round(h * ratio))
            area = w * h
            if area < min_area:
                h += 1
                w = int(round(h * ratio))
                area = w * h
            if area > max_area:
                h -= 1
                w = int(round(h * ratio))
                area = w * h
            if not (min_area <= area <= max_area and 0 <= w <= width and 0 <= h <= height):
                continue
            y = random.randint(0, max(0, height - h))
            x = random.randint(0, max(0, width - w))
            if self._check_satisfy_constraints(label, x, y, x + w, y + h, width, height):
                new_label = self._update_labels(label, (x, y, w, h), height, width)
                if new_label is not None:
                    return x, y, w, h, new_label
        return ()


class DetRandomPadAug(DetAugmenter):
    """Random padding (zoom out): place the image in a larger canvas filled with
    ``pad_val``, of area ``area_range`` times the image's and aspect ratio in
    ``aspect_ratio_range``."""

    def __init__(self, aspect_ratio_range: Any = (0.75, 1.33), area_range: Any = (1.0, 3.0),
                 max_attempts: int = 50, pad_val: Any = (128, 128, 128)):
        if not isinstance(pad_val, (list, tuple)) and not isinstance(pad_val, Number):
            raise ImageArgumentError(f"DetRandomPadAug: pad_val must be a number or a tuple, "
                                     f"got {pad_val!r}")
        aspect_ratio_range = _pair(aspect_ratio_range, "aspect ratio", "DetRandomPadAug")
        area_range = _pair(area_range, "area range", "DetRandomPadAug")
        super().__init__(aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         max_attempts=max_attempts, pad_val=pad_val)
        self.pad_val = pad_val
        self.aspect_ratio_range = aspect_ratio_range
        self.area_range = area_range
        self.max_attempts = max_attempts
        self.enabled = False
        if area_range[1] <= 1.0 or area_range[0] > area_range[1]:
            warnings.warn(f"Skip DetRandomPadAug due to invalid parameters: {area_range}",
                          stacklevel=2)
        elif aspect_ratio_range[0] <= 0 or aspect_ratio_range[0] > aspect_ratio_range[1]:
            warnings.warn("Skip DetRandomPadAug due to invalid aspect_ratio_range: "
                          f"{aspect_ratio_range}", stacklevel=2)
        else:
            self.enabled = True

    def __call__(self, src: NDArray, label: np.ndarray) -> tuple[NDArray, np.ndarray]:
        height, width, _ = src.shape
        pad = self._random_pad_proposal(label, height, width)
        if pad:
            x, y, w, h, label = pad
            values = self.pad_val if isinstance(self.pad_val, (list, tuple)) else \
                (self.pad_val,) * 4
            src = copyMakeBorder(src, y, h - y - height, x, w - x - width, 16, values=values)
        return src, label

    def _update_labels(self, label: np.ndarray, pad_box: tuple, height: int,
                       width: int) -> np.ndarray:
        out = label.copy()
        out[:, (1, 3)] = (out[:, (1, 3)] * width + pad_box[0]) / pad_box[2]
        out[:, (2, 4)] = (out[:, (2, 4)] * height + pad_box[1]) / pad_box[3]
        return out

    def _random_pad_proposal(self, label: np.ndarray, height: int, width: int) -> tuple:
        if not self.enabled or height <= 0 or width <= 0:
            return ()
        min_area = self.area_range[0] * height * width
        max_area = self.area_range[1] * height * width
        for _ in range(self.max_attempts):
            ratio = random.uniform(*self.aspect_ratio_range)
            if ratio <= 0:
                continue
            h = int(round(sqrt(min_area / ratio)))
            max_h = int(round(sqrt(max_area / ratio)))
            if round(h * ratio) < width:
                h = int((width + 0.499999) / ratio)
            h = max(h, height)
            h = min(h, max_h)
            if h < max_h:
                h = random.randint(h, max_h)
            w = int(round(h * ratio))
            if h - height < 2 or w - width < 2:
                continue  # marginal padding is not helpful
            y = random.randint(0, max(0, h - height))
            x = random.randint(0, max(0, w - width))
            return x, y, w, h, self._update_labels(label, (x, y, w, h), height, width)
        return ()


def CreateMultiRandCropAugmenter(min_object_covered: Any = 0.1,  # noqa: N802
                                 aspect_ratio_range: Any = (0.75, 1.33),
                                 area_range: Any = (0.05, 1.0), min_eject_coverage: Any = 0.3,
                                 max_attempts: Any = 50,
                                 skip_prob: float = 0) -> DetRandomSelectAug:
    """Several :class:`DetRandomCropAug` (one per value where a parameter is a list; scalars
    are shared), one of which is picked at random per image."""
    params: list[list] = []
    num = 1
    for p in (min_object_covered, aspect_ratio_range, area_range, min_eject_coverage,
              max_attempts):
        p = p if isinstance(p, list) else [p]
        params.append(p)
        num = max(num, len(p))
    for k, p in enumerate(params):
        if len(p) != num:
            if len(p) != 1:
                raise ImageArgumentError(f"CreateMultiRandCropAugmenter: parameter lists must "
                                         f"have 1 or {num} values, got {p!r}")
            params[k] = p * num
    augs = [DetRandomCropAug(min_object_covered=moc, aspect_ratio_range=arr, area_range=ar,
                             min_eject_coverage=mec, max_attempts=ma)
            for moc, arr, ar, mec, ma in zip(*params)]
    return DetRandomSelectAug(augs, skip_prob=skip_prob)


def CreateDetAugmenter(data_shape: tuple, resize: int = 0, rand_crop: float = 0,  # noqa: N802
                       rand_pad: float = 0, rand_gray: float = 0, rand_mirror: bool = False,
                       mean: Any = None, std: Any = None, brightness: float = 0,
                       contrast: float = 0, saturation: float = 0, pca_noise: float = 0,
                       hue: float = 0, inter_method: int = 2, min_object_covered: Any = 0.1,
                       aspect_ratio_range: Any = (0.75, 1.33), area_range: Any = (0.05, 3.0),
                       min_eject_coverage: Any = 0.3, max_attempts: Any = 50,
                       pad_val: Any = (127, 127, 127)) -> list[DetAugmenter]:
    """MXNet's standard detection augmenter list for a (C, H, W) ``data_shape``."""
    auglist: list[DetAugmenter] = []
    if resize > 0:
        auglist.append(DetBorrowAug(ResizeAug(resize, inter_method)))
    if rand_crop > 0:
        auglist.append(CreateMultiRandCropAugmenter(
            min_object_covered, aspect_ratio_range, area_range, min_eject_coverage,
            max_attempts, skip_prob=(1 - rand_crop)))
    if rand_mirror > 0:
        auglist.append(DetHorizontalFlipAug(0.5))
    if rand_pad > 0:
        pad_aug = DetRandomPadAug(aspect_ratio_range, (1.0, area_range[1]), max_attempts,
                                  pad_val)
        auglist.append(DetRandomSelectAug([pad_aug], 1 - rand_pad))
    auglist.append(DetBorrowAug(ForceResizeAug((data_shape[2], data_shape[1]), inter_method)))
    auglist.append(DetBorrowAug(CastAug()))
    if brightness or contrast or saturation:
        auglist.append(DetBorrowAug(ColorJitterAug(brightness, contrast, saturation)))
    if hue:
        auglist.append(DetBorrowAug(HueJitterAug(hue)))
    if pca_noise > 0:
        eigval = np.array([55.46, 4.794, 1.148])
        eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                           [-0.5836, -0.6948, 0.4203]])
        auglist.append(DetBorrowAug(LightingAug(pca_noise, eigval, eigvec)))
    if rand_gray > 0:
        auglist.append(DetBorrowAug(RandomGrayAug(rand_gray)))
    if mean is True:
        mean = np.array([123.68, 116.28, 103.53])
    if std is True:
        std = np.array([58.395, 57.12, 57.375])
    for what, v in (("mean", mean), ("std", std)):
        if v is not None and not (isinstance(v, np.ndarray) and v.shape[0] in (1, 3)):
            raise ImageArgumentError(f"CreateDetAugmenter: {what} must be True, None or a "
                                     f"numpy array of 1 or 3 values, got {v!r}")
    if mean is not None or std is not None:
        auglist.append(DetBorrowAug(ColorNormalizeAug(mean, std)))
    return auglist


class ImageDetIter(ImageIter):
    """Image iterator with detection labels: batches of float32 (N, C, H, W) images and
    (N, max objects, object width) labels padded with -1. Takes the arguments of
    :class:`~mxlite.image.ImageIter`; ``kwargs`` go to :func:`CreateDetAugmenter`."""

    def __init__(self, batch_size: int, data_shape: tuple, path_imgrec: str | None = None,
                 path_imglist: str | None = None, path_root: str | None = None,
                 path_imgidx: str | None = None, shuffle: bool = False, part_index: int = 0,
                 num_parts: int = 1, aug_list: list | None = None, imglist: list | None = None,
                 data_name: str = "data", label_name: str = "label",
                 last_batch_handle: str = "pad", **kwargs: Any):
        super().__init__(batch_size=batch_size, data_shape=data_shape,
                         path_imgrec=path_imgrec, path_imglist=path_imglist,
                         path_root=path_root, path_imgidx=path_imgidx, shuffle=shuffle,
                         part_index=part_index, num_parts=num_parts, aug_list=[],
                         imglist=imglist, data_name=data_name, label_name=label_name,
                         last_batch_handle=last_batch_handle)
        self.auglist = CreateDetAugmenter(data_shape, **kwargs) if aug_list is None \
            else aug_list
        label_shape = self._estimate_label_shape()
        self.provide_label = [io.DataDesc(label_name, (self.batch_size, *label_shape))]
        self.label_shape = label_shape

    def _check_valid_label(self, label: np.ndarray) -> None:
        if len(label.shape) != 2 or label.shape[1] < 5:
            raise RuntimeError(f"Label with shape (1+, 5+) required, {label} received.")
        # MXNet passes its third condition as np.logical_and's ``out``: two conditions count.
        if not ((label[:, 0] >= 0) & (label[:, 3] > label[:, 1])).any():
            raise RuntimeError("Invalid label occurs.")

    def _estimate_label_shape(self) -> tuple[int, int]:
        max_count = 0
        width = 0
        self.reset()
        try:
            while True:
                label, _ = self.next_sample()
                label = self._parse_label(label)
                max_count = max(max_count, label.shape[0])
                width = label.shape[1]
        except StopIteration:
            pass
        self.reset()
        return max_count, width

    def _parse_label(self, label: Any) -> np.ndarray:
        if isinstance(label, NDArray):
            label = label.asnumpy()
        raw = np.asarray(label).ravel()
        if raw.size < 7:
            raise RuntimeError(f"Label shape is invalid: {raw.shape}")
        header_width = int(raw[0])
        obj_width = int(raw[1])
        if obj_width <= 0 or (raw.size - header_width) % obj_width != 0:
            raise RuntimeError(f"Label shape {raw.shape} inconsistent with annotation width "
                               f"{obj_width}.")
        out = np.reshape(raw[header_width:], (-1, obj_width))
        valid = (out[:, 3] > out[:, 1]) & (out[:, 4] > out[:, 2])
        if not valid.any():
            raise RuntimeError("Encounter sample with no valid label.")
        return out[valid, :]

    def reshape(self, data_shape: tuple | None = None, label_shape: tuple | None = None
                ) -> None:
        """Change the data and/or label shape (labels may only grow)."""
        if data_shape is not None:
            self.check_data_shape(data_shape)
            self.provide_data = [io.DataDesc(self.provide_data[0][0],
                                             (self.batch_size, *data_shape))]
            self.data_shape = tuple(data_shape)
        if label_shape is not None:
            self.check_label_shape(label_shape)
            self.provide_label = [io.DataDesc(self.provide_label[0][0],
                                              (self.batch_size, *label_shape))]
            self.label_shape = tuple(label_shape)

    def _batchify(self, batch_data: NDArray, batch_label: NDArray, start: int = 0) -> int:
        i = start
        try:
            while i < self.batch_size:
                label, s = self.next_sample()
                data = self.imdecode(s)
                try:
                    self.check_valid_image([data])
                    label = self._parse_label(label)
                    data, label = self.augmentation_transform(data, label)
                    self._check_valid_label(label)
                except RuntimeError as e:
                    logging.debug("Invalid image, skipping:  %s", e)
                    continue
                batch_data[i] = self.postprocess_data(data)
                n = label.shape[0]
                row = np.full(batch_label.shape[1:], -1, np.float32)
                row[:n] = label
                batch_label[i] = nd.array(row)
                i += 1
        except StopIteration:
            if not i:
                raise
        return i

    def _new_label_batch(self) -> NDArray:
        # unused label rows read -1, MXNet's padding for "no object"
        return nd.full(self.provide_label[0][1], -1)

    def augmentation_transform(self, data: NDArray, label: np.ndarray  # type: ignore[override]
                               ) -> tuple[NDArray, np.ndarray]:
        """Apply the detection augmenters in order."""
        for aug in self.auglist:
            data, label = aug(data, label)
        return data, label

    def check_label_shape(self, label_shape: tuple) -> None:
        """A new label shape must keep the object width and not reduce the count."""
        if len(label_shape) != 2:
            raise ImageArgumentError("label_shape should have length 2")
        if label_shape[0] < self.label_shape[0]:
            raise ImageArgumentError(f"Attempts to reduce label count from "
                                     f"{self.label_shape[0]} to {label_shape[0]}, not allowed.")
        if label_shape[1] != self.provide_label[0][1][2]:
            raise ImageArgumentError(f"label_shape object width inconsistent: "
                                     f"{self.provide_label[0][1][2]} vs {label_shape[1]}.")

    def draw_next(self, color: Any = None, thickness: int = 2, mean: Any = None,
                  std: Any = None, clip: bool = True, waitKey: int | None = None,  # noqa: N803
                  window_name: str = "draw_next", id2labels: dict | None = None
                  ) -> Iterator[np.ndarray]:
        """Yield augmented images (BGR uint8) with their boxes drawn (OpenCV)."""
        from ..ops.image import need_opencv

        cv2 = need_opencv("ImageDetIter.draw_next")
        if std is True:
            std = np.array([58.395, 57.12, 57.375])
        if mean is True:
            mean = np.array([123.68, 116.28, 103.53])
        if color:
            color = color[::-1]
        while True:
            try:
                label, s = self.next_sample()
            except StopIteration:
                return
            data = self.imdecode(s)
            try:
                self.check_valid_image([data])
                label = self._parse_label(label)
            except RuntimeError as e:
                logging.debug("Invalid image, skipping:  %s", e)
                continue
            data, label = self.augmentation_transform(data, label)
            image = data.asnumpy().astype(np.float64)
            if std is not None:
                image *= std
            if mean is not None:
                image += mean
            image = image[:, :, (2, 1, 0)]
            if clip:
                image = np.clip(image, 0, 255)
            image = np.ascontiguousarray(image.astype(np.uint8))
            height, width, _ = image.shape
            for row in label:
                x1 = int(row[1] * width)
                if x1 < 0:
                    continue
                y1, x2, y2 = int(row[2] * height), int(row[3] * width), int(row[4] * height)
                bc = tuple(np.random.rand(3) * 255) if not color else color
                cv2.rectangle(image, (x1, y1), (x2, y2), bc, thickness)
                if id2labels is not None and int(row[0]) in id2labels:
                    text = f"{id2labels[int(row[0])]:s}"
                    font = cv2.FONT_HERSHEY_SIMPLEX
                    th = cv2.getTextSize(text, font, 0.5, 2)[0][1]
                    cv2.putText(image, text, (x1 + 5, y1 + th + 5), font, 0.5,
                                (255, 255, 255), 2)
            if waitKey is not None:
                cv2.imshow(window_name, image)
                cv2.waitKey(waitKey)
            yield image

    def sync_label_shape(self, it: ImageDetIter, verbose: bool = False) -> ImageDetIter:
        """Give this iterator and ``it`` the same (largest) label shape."""
        if not isinstance(it, ImageDetIter):
            raise ImageArgumentError("Synchronize with invalid iterator.")
        train, val = self.label_shape, it.label_shape
        if train[1] != val[1]:
            raise ImageArgumentError("object width mismatch.")
        max_count = max(train[0], val[0])
        if max_count > train[0]:
            self.reshape(None, (max_count, train[1]))
        if max_count > val[0]:
            it.reshape(None, (max_count, val[1]))
        if verbose and max_count > min(train[0], val[0]):
            logging.info("Resized label_shape to (%d, %d).", max_count, train[1])
        return it
