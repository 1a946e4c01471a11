"""MXNet's C++ image record iterators, in Python on OpenCV: ``mx.io.ImageRecordIter``,
``ImageRecordUInt8Iter`` and ``ImageDetRecordIter``.

They read ``.rec`` files (``path_imgrec``; with ``path_imgidx`` by index) through
:mod:`mxlite.recordio`, decode and augment each image with OpenCV in ``preprocess_threads``
threads (OpenCV releases the GIL), and prefetch ``prefetch_buffer`` batches in a background
thread, as MXNet's iterators do in C++.

Without random augmentation the batches are MXNet's: the same images in the same order
(decoded pixels equal; ``resize`` and crops use OpenCV's resize as MXNet does), labels
equal, the same ``pad``, and the same epoch boundaries with ``round_batch`` (the last
batch of an epoch is completed from the start of the data, and the next epoch continues
after the images so borrowed, as MXNet's does). Random augmentations draw from numpy
generators seeded by ``seed`` (and ``seed_aug``), per record, so they are reproducible
whatever the thread count but differ from MXNet's draws.

``skip_invalid=True`` (an mxlite extension) skips records that do not decode or are too small
for ``data_shape``, logging a warning and counting them in :attr:`num_skipped`; otherwise
such a record raises :class:`~mxlite.MXNetError` naming the file, the record and its offset.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import storage
from ..base import MXNetError
from ..io import DataBatch, DataDesc, DataIter
from ..ndarray.ndarray import NDArray

__all__ = ["ImageRecordIter", "ImageRecordUInt8Iter", "ImageDetRecordIter"]

_log = logging.getLogger(__name__)
_F32 = np.float32
_CHUNK = 64 << 20  # MXNet shuffles non-indexed files within chunks of this many bytes


def _cv2() -> Any:
    from ..ops.image import need_opencv

    return need_opencv("ImageRecordIter")


# ---------------------------------------------------------------------------- parameters


def _bool(v: Any) -> bool:
    if isinstance(v, str):
        if v.strip().lower() in ("true", "1"):
            return True
        if v.strip().lower() in ("false", "0"):
            return False
        raise ValueError(f"{v!r} is not a boolean")
    return bool(v)


def _shape(v: Any) -> tuple[int, ...]:
    if isinstance(v, str):
        v = [x for x in v.strip("()[] ").split(",") if x.strip()]
    if isinstance(v, (int, np.integer)):
        v = (v,)
    return tuple(int(x) for x in v)


def _floats(v: Any) -> tuple[float, ...]:
    if isinstance(v, str):
        v = [x for x in v.strip("()[] ").split(",") if x.strip()]
    if isinstance(v, (int, float)):
        v = (v,)
    return tuple(float(x) for x in v)


def _opt_int(v: Any) -> int | None:
    return None if v is None or v == "None" else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None or v == "None" else float(v)


def _dtype(v: Any) -> str | None:
    if v is None or v == "None":
        return None
    name = np.dtype(v).name
    if name not in ("float32", "uint8", "int8"):
        raise ValueError(f"{name!r} is not one of 'float32', 'uint8', 'int8'")
    return name


# name: (parser, default); None default = required
_COMMON = {
    "path_imglist": (str, ""), "path_imgrec": (str, ""), "path_imgidx": (str, ""),
    "aug_seq": (str, "aug_default"), "label_width": (int, 1), "data_shape": (_shape, None),
    "preprocess_threads": (int, 4), "verbose": (_bool, True), "num_parts": (int, 1),
    "part_index": (int, 0), "device_id": (int, 0), "shuffle_chunk_size": (int, 0),
    "shuffle_chunk_seed": (int, 0), "seed_aug": (_opt_int, None), "shuffle": (_bool, False),
    "seed": (int, 0), "batch_size": (int, None), "round_batch": (_bool, True),
    "prefetch_buffer": (int, 4), "ctx": (str, "gpu"), "dtype": (_dtype, None),
    "data_name": (str, "data"), "label_name": (str, "softmax_label"),
    "skip_invalid": (_bool, False),
}
_AUG = {
    "resize": (int, -1), "rand_crop": (_bool, False), "random_resized_crop": (_bool, False),
    "max_rotate_angle": (int, 0), "max_aspect_ratio": (float, 0.0),
    "min_aspect_ratio": (_opt_float, None), "max_shear_ratio": (float, 0.0),
    "max_crop_size": (int, -1), "min_crop_size": (int, -1), "max_random_scale": (float, 1.0),
    "min_random_scale": (float, 1.0), "max_random_area": (float, 1.0),
    "min_random_area": (float, 1.0), "max_img_size": (float, 1e10),
    "min_img_size": (float, 0.0), "brightness": (float, 0.0), "contrast": (float, 0.0),
    "saturation": (float, 0.0), "pca_noise": (float, 0.0), "random_h": (int, 0),
    "random_s": (int, 0), "random_l": (int, 0), "rotate": (int, -1),
    "fill_value": (int, 255), "inter_method": (int, 1), "pad": (int, 0),
}
_NORM = {
    "mirror": (_bool, False), "rand_mirror": (_bool, False), "mean_img": (str, ""),
    "mean_r": (float, 0.0), "mean_g": (float, 0.0), "mean_b": (float, 0.0),
    "mean_a": (float, 0.0), "std_r": (float, 1.0), "std_g": (float, 1.0),
    "std_b": (float, 1.0), "std_a": (float, 1.0), "scale": (float, 1.0),
    "max_random_contrast": (float, 0.0), "max_random_illumination": (float, 0.0),
}
_DET = {
    "label_width": (int, -1), "label_pad_width": (int, 0), "label_pad_value": (float, -1.0),
    "aug_seq": (str, "det_aug_default"), "resize": (int, -1), "rand_crop_prob": (float, 0.0),
    "min_crop_scales": (_floats, (0.0,)), "max_crop_scales": (_floats, (1.0,)),
    "min_crop_aspect_ratios": (_floats, (1.0,)), "max_crop_aspect_ratios": (_floats, (1.0,)),
    "min_crop_overlaps": (_floats, (0.0,)), "max_crop_overlaps": (_floats, (1.0,)),
    "min_crop_sample_coverages": (_floats, (0.0,)),
    "max_crop_sample_coverages": (_floats, (1.0,)),
    "min_crop_object_coverages": (_floats, (0.0,)),
    "max_crop_object_coverages": (_floats, (1.0,)), "num_crop_sampler": (int, 1),
    "crop_emit_mode": (str, "center"), "emit_overlap_thresh": (float, 0.3),
    "max_crop_trials": (_shape, (25,)), "rand_pad_prob": (float, 0.0),
    "max_pad_scale": (float, 1.0), "max_random_hue": (int, 0), "random_hue_prob": (float, 0.0),
    "max_random_saturation": (int, 0), "random_saturation_prob": (float, 0.0),
    "max_random_illumination": (int, 0), "random_illumination_prob": (float, 0.0),
    "max_random_contrast": (float, 0.0), "random_contrast_prob": (float, 0.0),
    "rand_mirror_prob": (float, 0.0), "fill_value": (int, 127), "inter_method": (int, 1),
    "resize_mode": (str, "force"), "mean_img": (str, ""), "mean_r": (float, 0.0),
    "mean_g": (float, 0.0), "mean_b": (float, 0.0), "mean_a": (float, 0.0),
    "std_r": (float, 0.0), "std_g": (float, 0.0), "std_b": (float, 0.0),
    "std_a": (float, 0.0), "scale": (float, 1.0),
}


class _Params:
    """Parsed iterator parameters (attributes), MXNet's defaults for what is not given."""

    def __init__(self, who: str, table: dict, kwargs: dict):
        for key in kwargs:
            if key not in table:
                raise MXNetError(f"{who}: unknown parameter {key!r}; expected one of "
                                 f"{', '.join(sorted(table))}")
        for key, (parse, default) in table.items():
            if key in kwargs and kwargs[key] is not None:
                try:
                    value = parse(kwargs[key])
                except (TypeError, ValueError) as e:
                    raise MXNetError(f"{who}: invalid value {kwargs[key]!r} for parameter "
                                     f"{key!r}: {e}") from None
            elif default is None and key in ("data_shape", "batch_size"):
                raise MXNetError(f"{who}: required parameter {key!r} is missing")
            else:
                value = default
            setattr(self, key, value)


# ---------------------------------------------------------------------------- record source


def _label_map(path: str, width: int, who: str) -> dict[int, np.ndarray]:
    """``index\\tlabel...\\tpath`` lines: the first ``width`` labels of each index."""
    out: dict[int, np.ndarray] = {}
    for n, line in enumerate(storage.read_text(path).splitlines(), 1):
        parts = line.strip().split("\t")
        if len(parts) < 2:
            continue
        try:
            labels = [float(x) for x in parts[1:-1]]
            key = int(float(parts[0]))
        except ValueError:
            raise MXNetError(f"{who}: {path} line {n}: expected 'index<TAB>labels...<TAB>"
                             f"path', got {line!r}") from None
        if width > 0 and len(labels) < width:
            raise MXNetError(f"{who}: {path} line {n} has {len(labels)} labels, "
                             f"label_width is {width}")
        out[key] = np.asarray(labels[:width] if width > 0 else labels, _F32)
    return out


class _Source:
    """The records of this part of the file, in MXNet's order, pass after pass."""

    def __init__(self, p: _Params, who: str):
        from .. import recordio

        self._recordio = recordio
        self.who = who
        self.path = p.path_imgrec
        self.idx_path = p.path_imgidx if hasattr(p, "path_imgidx") else ""
        self.shuffle = p.shuffle
        self.seed = p.seed
        self.chunk = (p.shuffle_chunk_size << 20) if getattr(p, "shuffle_chunk_size", 0) \
            else _CHUNK
        self.passes = 0
        if not self.path:
            raise MXNetError(f"{who}: path_imgrec is required")
        if not 0 <= p.part_index < p.num_parts:
            raise MXNetError(f"{who}: part_index {p.part_index} is not in [0, num_parts="
                             f"{p.num_parts})")
        self.parts = (p.part_index, p.num_parts)
        self.keys: list | None = None
        if self.idx_path:
            rec = recordio.MXIndexedRecordIO(self.idx_path, self.path, "r")
            # dmlc reads the index sorted by offset and splits it by count
            order = sorted(rec.keys, key=lambda k: rec.idx[k])
            step = (len(order) + p.num_parts - 1) // p.num_parts
            self.keys = order[p.part_index * step:(p.part_index + 1) * step]
            rec.close()
        elif p.num_parts > 1:
            total = storage.size(self.path)
            step = (total + p.num_parts - 1) // p.num_parts
            step = (step + 3) // 4 * 4
            self.byte_range = (min(step * p.part_index, total),
                               min(step * (p.part_index + 1), total))

    def records(self) -> Iterator[tuple[int, bytes]]:
        """One pass: (record position in the file, record bytes)."""
        rng = np.random.default_rng([self.seed, self.passes])
        self.passes += 1
        if self.keys is not None:
            keys = list(self.keys)
            if self.shuffle:
                keys = [keys[i] for i in rng.permutation(len(keys))]
            rec = self._recordio.MXIndexedRecordIO(self.idx_path, self.path, "r")
            try:
                for k in keys:
                    yield rec.idx[k], rec.read_idx(k)
            finally:
                rec.close()
            return
        rec = self._recordio.MXRecordIO(self.path, "r")
        lo, hi = getattr(self, "byte_range", (0, math.inf))
        buf: list[tuple[int, bytes]] = []
        size = 0
        try:
            while True:
                pos = rec.tell()
                s = rec.read()
                if s is None or pos >= hi:
                    break
                if pos < lo:
                    continue
                if not self.shuffle:
                    yield pos, s
                    continue
                buf.append((pos, s))
                size += len(s)
                if size >= self.chunk:
                    yield from (buf[i] for i in rng.permutation(len(buf)))
                    buf, size = [], 0
            if buf:
                yield from (buf[i] for i in rng.permutation(len(buf)))
        finally:
            rec.close()


def _planes_into(dst: np.ndarray, res: np.ndarray) -> None:
    """An HWC BGR(A) image into the CHW RGB(A) ``dst``, cast to its dtype (OpenCV splits the
    planes faster than numpy gathers them)."""
    c = res.shape[2]
    if c == 1:
        dst[0] = res[:, :, 0]
        return
    planes = _cv2().split(res)
    for k, src in enumerate((2, 1, 0, 3)[:c]):
        dst[k] = planes[src]


class _Skip(Exception):
    """A record to skip (with ``skip_invalid``) or to report."""


# ---------------------------------------------------------------------------- augmentation


def _inter(method: int, ow: int, oh: int, nw: float, nh: float,
           rng: np.random.Generator | None) -> int:
    """MXNet's GetInterMethod: 9 picks by the scale, 10 at random."""
    if method == 9:
        if nw > ow and nh > oh:
            return 2
        if nw < ow and nh < oh:
            return 3
        return 1
    if method == 10:
        return int((rng or np.random.default_rng()).integers(0, 5))
    return method


def _resize(img: np.ndarray, w: int, h: int, interp: int) -> np.ndarray:
    out = _cv2().resize(img, (int(w), int(h)), interpolation=interp)
    return out.reshape(out.shape[0], out.shape[1], -1)


_EIGVEC = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                    [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                    [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]], _F32)


def _hls_shift(img: np.ndarray, h: int, l_: int, s: int) -> np.ndarray:
    cv2 = _cv2()
    hls = cv2.cvtColor(img, cv2.COLOR_BGR2HLS).astype(np.int16)
    hls += np.array([h, l_, s], np.int16)
    np.clip(hls, 0, np.array([180, 255, 255], np.int16), out=hls)
    return cv2.cvtColor(hls.astype(np.uint8), cv2.COLOR_HLS2BGR)


class _DefaultAug:
    """MXNet's ``aug_default`` (image_aug_default.cc) on an HWC BGR uint8 image."""

    def __init__(self, p: _Params):
        self.p = p
        shape = p.data_shape
        self.out_h, self.out_w = shape[1], shape[2]
        if p.min_aspect_ratio is not None:
            self.ratio_range = (p.min_aspect_ratio, p.max_aspect_ratio)
        else:
            self.ratio_range = (1 - p.max_aspect_ratio, 1 + p.max_aspect_ratio)
        ok = (0 <= p.inter_method <= 4) or p.inter_method in (9, 10)
        if not ok:
            raise MXNetError(f"invalid inter_method {p.inter_method}: valid values are "
                             "0, 1, 2, 3, 4, 9, 10")
        self.affine = (p.max_rotate_angle > 0 or p.max_shear_ratio > 0 or p.rotate > 0
                       or p.max_random_scale != 1 or p.min_random_scale != 1
                       or (not p.random_resized_crop and self.ratio_range != (1.0, 1.0))
                       or p.max_img_size != 1e10 or p.min_img_size != 0)
        if p.random_resized_crop and (p.min_random_scale != 1 or p.max_random_scale != 1
                                      or p.min_crop_size != -1 or p.max_crop_size != -1
                                      or p.rand_crop):
            raise MXNetError("Setting random_resized_crop to true conflicts with "
                             "min_random_scale, max_random_scale, min_crop_size, "
                             "max_crop_size, and rand_crop.")
        self.random = (self.affine or p.random_resized_crop or p.rand_crop
                       or p.max_crop_size != p.min_crop_size or p.inter_method == 10
                       or p.brightness > 0 or p.contrast > 0 or p.saturation > 0
                       or p.random_h or p.random_s or p.random_l or p.pca_noise > 0)

    def __call__(self, src: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        p = self.p
        cv2 = _cv2()
        res = src
        if p.resize != -1:
            rows, cols = src.shape[:2]
            if rows > cols:
                nh, nw = p.resize * rows // cols, p.resize
            else:
                nh, nw = p.resize, p.resize * cols // rows
            res = _resize(src, nw, nh, _inter(p.inter_method, cols, rows, nw, nh, rng))
        if self.affine:
            res = self._affine(res, rng)
        if p.pad > 0:
            fill = (p.fill_value,) * 3
            res = cv2.copyMakeBorder(res, p.pad, p.pad, p.pad, p.pad, cv2.BORDER_CONSTANT,
                                     value=fill).reshape(res.shape[0] + 2 * p.pad,
                                                         res.shape[1] + 2 * p.pad, -1)
        cropped = False
        if p.random_resized_crop:
            res, cropped = self._random_resized_crop(res, rng)
        elif p.max_crop_size != -1 or p.min_crop_size != -1:
            rows, cols = res.shape[:2]
            if not (cols >= p.max_crop_size and rows >= p.max_crop_size
                    and p.max_crop_size >= p.min_crop_size):
                raise _Skip("input image size smaller than max_crop_size")
            size = int(rng.integers(p.min_crop_size, p.max_crop_size + 1)) if rng is not None \
                else p.max_crop_size
            y, x = rows - size, cols - size
            if p.rand_crop:
                y, x = int(rng.integers(0, y + 1)), int(rng.integers(0, x + 1))
            else:
                y, x = y // 2, x // 2
            interp = _inter(p.inter_method, size, size, self.out_w, self.out_h, rng)
            res = _resize(res[y:y + size, x:x + size], self.out_w, self.out_h, interp)
            cropped = True
        if not cropped:
            res = self._center_crop(res, rng)
        if p.brightness > 0 or p.contrast > 0 or p.saturation > 0:
            res = self._color_jitter(res, rng)
        if p.random_h or p.random_s or p.random_l:
            r = (rng.random(3) + 4 * rng.random(3)) / 5
            h, s, l_ = (int(v * a * 2 - a) for v, a in zip(r, (p.random_h, p.random_s,
                                                                 p.random_l)))
            res = _hls_shift(res, h, l_, s)
        if p.pca_noise > 0:
            alpha = rng.normal(0, p.pca_noise, 3).astype(_F32)
            rgb = _EIGVEC @ alpha
            bgr = rgb[::-1].astype(np.int32)  # MXNet adds the float to an int: truncation
            res = np.clip(res.astype(np.int32) + bgr, 0, 255).astype(np.uint8)
        return res

    def _center_crop(self, res: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        p = self.p
        rows, cols = res.shape[:2]
        interp = _inter(p.inter_method, cols, rows, self.out_w, self.out_h, rng)
        if rows < self.out_h:
            new_cols = int(_F32(self.out_h) / _F32(rows) * _F32(cols))
            res = _resize(res, new_cols, self.out_h, interp)
            rows, cols = res.shape[:2]
        if cols < self.out_w:
            new_rows = int(_F32(self.out_w) / _F32(cols) * _F32(rows))
            res = _resize(res, self.out_w, new_rows, interp)
            rows, cols = res.shape[:2]
        if rows < self.out_h or cols < self.out_w:
            raise _Skip("input image size smaller than input shape")
        y, x = rows - self.out_h, cols - self.out_w
        if p.rand_crop:
            y, x = int(rng.integers(0, y + 1)), int(rng.integers(0, x + 1))
        else:
            y, x = y // 2, x // 2
        return res[y:y + self.out_h, x:x + self.out_w]

    def _affine(self, res: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        p = self.p
        rng = rng or np.random.default_rng()
        s = rng.random() * p.max_shear_ratio * 2 - p.max_shear_ratio
        angle = int(rng.integers(-p.max_rotate_angle, p.max_rotate_angle + 1))
        if p.rotate > 0:
            angle = p.rotate
        a, b = math.cos(angle / 180.0 * math.pi), math.sin(angle / 180.0 * math.pi)
        scale = 1.0
        ratio = 1.0
        if not p.random_resized_crop:
            scale = rng.random() * (p.max_random_scale - p.min_random_scale) + \
                p.min_random_scale
            lo, hi = self.ratio_range
            ratio = rng.random() * (hi - lo) + lo
        hs = 2 * scale / (1 + ratio)
        ws = ratio * hs
        rows, cols = res.shape[:2]
        new_w = max(p.min_img_size, min(p.max_img_size, scale * cols))
        new_h = max(p.min_img_size, min(p.max_img_size, scale * rows))
        m = np.zeros((2, 3), _F32)
        m[0, 0] = hs * a - s * b * ws
        m[1, 0] = -b * ws
        m[0, 1] = hs * b + s * a * ws
        m[1, 1] = a * ws
        cw = m[0, 0] * cols + m[0, 1] * rows
        ch = m[1, 0] * cols + m[1, 1] * rows
        m[0, 2] = (new_w - cw) / 2
        m[1, 2] = (new_h - ch) / 2
        interp = _inter(p.inter_method, cols, rows, new_w, new_h, rng)
        cv2 = _cv2()
        out = cv2.warpAffine(res, m, (int(new_w), int(new_h)), flags=interp,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(p.fill_value,) * 3)
        return out.reshape(out.shape[0], out.shape[1], -1)

    def _random_resized_crop(self, res: np.ndarray, rng: np.random.Generator | None
                             ) -> tuple[np.ndarray, bool]:
        p = self.p
        lo, hi = self.ratio_range
        if (p.max_random_area, p.min_random_area, lo, hi) == (1.0, 1.0, 1.0, 1.0):
            return res, False
        if not (lo > 0 and p.min_random_area <= p.max_random_area and lo <= hi):
            raise MXNetError("random_resized_crop: need 0 < min_aspect_ratio <= "
                             "max_aspect_ratio and min_random_area <= max_random_area")
        rng = rng or np.random.default_rng()
        rows, cols = res.shape[:2]
        area = rows * cols
        for _ in range(10):
            target = area * rng.uniform(p.min_random_area, p.max_random_area)
            ratio = rng.uniform(lo, hi)
            yh = int(round(math.sqrt(target / ratio)))
            xw = int(round(math.sqrt(target * ratio)))
            if rng.random() > 0.5:
                yh, xw = xw, yh
            if yh <= rows and xw <= cols:
                y = int(rng.integers(0, rows - yh + 1))
                x = int(rng.integers(0, cols - xw + 1))
                interp = _inter(p.inter_method, xw, yh, self.out_w, self.out_h, rng)
                return _resize(res[y:y + yh, x:x + xw], self.out_w, self.out_h, interp), True
        return res, False

    def _color_jitter(self, res: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        p = self.p
        cv2 = _cv2()
        alphas = (1 + rng.uniform(-p.brightness, p.brightness),
                  1 + rng.uniform(-p.contrast, p.contrast),
                  1 + rng.uniform(-p.saturation, p.saturation))
        for i in rng.permutation(3):
            alpha = alphas[i]
            if i == 0:
                res = cv2.convertScaleAbs(res.astype(_F32) * alpha)
            elif i == 1 and res.shape[2] == 3:
                # MXNet converts its BGR image with RGB2GRAY: the weights land swapped
                gray = cv2.cvtColor(res, cv2.COLOR_RGB2GRAY)
                mean = float(gray.mean())
                res = np.clip(np.rint(res.astype(_F32) * alpha + (1 - alpha) * mean), 0,
                              255).astype(np.uint8)
            elif i == 2 and res.shape[2] == 3:
                gray = cv2.cvtColor(cv2.cvtColor(res, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2BGR)
                res = cv2.addWeighted(res, alpha, gray, 1 - alpha, 0.0)
        return res


# ---------------------------------------------------------------------------- base iterator


class _RecordIterBase(DataIter):
    """Shared machinery: record source, thread pool, prefetching thread, batches."""

    _who = "ImageRecordIter"

    def __init__(self, p: _Params):
        super().__init__(p.batch_size)
        self._p = p
        if p.batch_size <= 0:
            raise MXNetError(f"{self._who}: batch_size must be positive, got {p.batch_size}")
        if len(p.data_shape) != 3 or p.data_shape[0] not in (1, 3, 4) or min(p.data_shape) <= 0:
            raise MXNetError(f"{self._who}: data_shape must be (channels, height, width) with "
                             f"1, 3 or 4 channels, got {p.data_shape}")
        _cv2()
        if p.aug_seq not in ("aug_default", "det_aug_default"):
            raise MXNetError(f"{self._who}: aug_seq {p.aug_seq!r}: mxlite has MXNet's default "
                             "augmenter only ('aug_default', 'det_aug_default')")
        self._source = _Source(p, self._who)
        self._threads = max(1, int(p.preprocess_threads))
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="mxlite-imrec")
        self._depth = max(1, int(p.prefetch_buffer))
        self.num_skipped = 0
        self._buffers: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._carry: Iterator | None = None  # the pass an epoch ended in (round_batch)
        self._worker: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self._done = False
        self._batch: DataBatch | None = None
        self._epoch = 0

    # -- per-record work (in the pool) ----------------------------------------------------

    def _decode(self, pos: int, raw: bytes) -> tuple[Any, np.ndarray]:
        from ..recordio import unpack

        header, img = unpack(raw)
        cv2 = _cv2()
        flag = {1: cv2.IMREAD_GRAYSCALE, 3: cv2.IMREAD_COLOR, 4: cv2.IMREAD_UNCHANGED}[
            self._p.data_shape[0]]
        buf = np.frombuffer(img, np.uint8)
        res = cv2.imdecode(buf, flag) if buf.size else None
        if res is None:
            raise _Skip(f"image does not decode ({len(img)} bytes)")
        if res.ndim == 2:
            res = res[:, :, None]
        if res.shape[2] != self._p.data_shape[0]:
            raise _Skip(f"expected {self._p.data_shape[0]} channels, got {res.shape[2]}")
        return header, res

    def _work(self, item: tuple[int, int, bytes]) -> Any:
        seq, pos, raw = item
        try:
            return self._process(seq, pos, raw)
        except _Skip as e:
            return e
        except MXNetError as e:
            return _Skip(str(e))

    def _process(self, seq: int, pos: int, raw: bytes) -> tuple[np.ndarray, np.ndarray, Any]:
        """Decode and augment one record (in the pool): (HWC BGR image, label, extras)."""
        raise NotImplementedError

    def _rng(self, seq: int, salt: int = 0) -> np.random.Generator:
        seed_aug = getattr(self._p, "seed_aug", None)
        if seed_aug is not None:
            return np.random.default_rng([seed_aug, seq, salt])
        return np.random.default_rng([self._p.seed, self._epoch, seq, salt])

    # -- the background thread ------------------------------------------------------------

    def _produce(self, q: queue.Queue, stop: threading.Event) -> None:
        try:
            self._produce_batches(q, stop)
        except BaseException as e:  # delivered to the consumer
            self._put(q, stop, e)

    def _put(self, q: queue.Queue, stop: threading.Event, item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce_batches(self, q: queue.Queue, stop: threading.Event) -> None:
        p = self._p
        bs = p.batch_size
        window = bs * (self._depth + 1)
        pending: deque = deque()
        results: list = []
        seq = 0
        current = self._source.records() if self._carry is None else self._carry
        self._carry = None
        borrowed = 0  # records taken from the next pass to complete the last batch
        wrapped = False

        def submit_from(it: Iterator) -> bool:
            nonlocal seq
            try:
                pos, raw = next(it)
            except StopIteration:
                return False
            pending.append((pos, self._pool.submit(self._work, (seq, pos, raw))))
            seq += 1
            return True

        while not stop.is_set():
            # keep the pool busy: a window of records in flight
            while len(pending) < window and not wrapped and submit_from(current):
                pass
            if not pending:
                if not results:
                    break
                # the data ended inside a batch
                if not p.round_batch:
                    self._emit(q, stop, results, bs - len(results))
                    results = []
                    break
                if wrapped:
                    raise MXNetError(f"{self._who}: number of input images must be bigger "
                                     "than the batch size")
                wrapped = True
                borrowed = bs - len(results)
                current = self._source.records()
                for _ in range(borrowed):
                    if not submit_from(current):
                        break
                if not pending:
                    raise MXNetError(f"{self._who}: {self._source.path} holds no usable "
                                     "image")
                continue
            pos, fut = pending.popleft()
            out = fut.result()
            if isinstance(out, _Skip):
                self._skipped(pos, out)
                if wrapped:  # borrow one more from the next pass
                    submit_from(current)
                continue
            results.append(out)
            if len(results) == bs:
                pad = borrowed if wrapped else 0
                if not self._emit(q, stop, results, pad):
                    return
                results = []
                if wrapped:
                    self._carry = current
                    break
        if not stop.is_set():
            self._put(q, stop, None)

    def _skipped(self, pos: int, err: _Skip) -> None:
        where = f"{self._source.path}: record at offset {pos}"
        if not self._p.skip_invalid:
            raise MXNetError(f"{self._who}: {where}: {err} (pass skip_invalid=True to skip "
                             "such records)")
        with self._lock:
            self.num_skipped += 1
        _log.warning("%s: skipping %s: %s", self._who, where, err)

    def _emit(self, q: queue.Queue, stop: threading.Event, results: list, pad: int) -> bool:
        p = self._p
        data = self._buffer((p.batch_size, *p.data_shape), np.dtype(p.dtype))
        for i, (res, _, aux) in enumerate(results):
            self._fill(data[i], res, aux)
        label = np.stack([r[1] for r in results])
        if len(results) < p.batch_size:
            fill = p.batch_size - len(results)
            data[len(results):] = 0
            label = np.concatenate([label, np.zeros((fill, *label.shape[1:]), label.dtype)])
        return self._put(q, stop, self._make_batch(data, label, pad))

    def _buffer(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """A batch buffer: one no batch handed out still uses (nothing but this pool refers
        to it), else a new one. Fresh buffers cost page faults that take longer than
        filling them."""
        for buf in self._buffers:
            # referenced by the list, ``buf`` and getrefcount's argument only: free
            if sys.getrefcount(buf) <= 3 and buf.shape == shape and buf.dtype == dtype:
                return buf
        buf = np.empty(shape, dtype)
        if len(self._buffers) < self._depth + 3:
            self._buffers.append(buf)
        return buf

    def _fill(self, dst: np.ndarray, res: np.ndarray, aux: Any) -> None:
        raise NotImplementedError

    def _make_batch(self, data: np.ndarray, label: np.ndarray, pad: int) -> DataBatch:
        if self._label_1d:
            label = label.reshape(label.shape[0])
        return DataBatch(data=[NDArray(data)], label=[NDArray(label)], pad=pad,
                         provide_data=self.provide_data, provide_label=self.provide_label)

    # -- DataIter --------------------------------------------------------------------------

    _label_1d = False

    def _start(self) -> None:
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self._depth)
        self._done = False
        self._worker = threading.Thread(target=self._produce, args=(self._queue, self._stop),
                                        daemon=True, name=f"mxlite-{self._who}")
        self._worker.start()

    def _halt(self) -> None:
        if self._worker is not None:
            self._stop.set()
            self._worker.join()
            self._worker = None

    def reset(self) -> None:
        """Start the next epoch. After an epoch whose last batch borrowed images from the
        start (``round_batch``), it continues after them, as MXNet's does; reset in the
        middle of an epoch starts from the beginning."""
        finished = self._done
        self._halt()
        if not finished:
            self._carry = None
        self._epoch += 1
        self._start()

    def next(self) -> DataBatch:
        if self._worker is None and not self._done:
            self._start()
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is None:
            self._done = True
            self._worker.join()
            self._worker = None
            raise StopIteration
        if isinstance(item, BaseException):
            self._done = True
            self._worker = None
            raise item
        self._batch = item
        return item

    def iter_next(self) -> bool:
        try:
            self.next()
        except StopIteration:
            return False
        return True

    # As MXNet's C++ iterators (MXDataIter): the one array itself, not a list.
    def getdata(self) -> NDArray | None:
        return None if self._batch is None else self._batch.data[0]

    def getlabel(self) -> NDArray | None:
        return None if self._batch is None else self._batch.label[0]

    def getpad(self) -> int | None:
        return None if self._batch is None else self._batch.pad

    def close(self) -> None:
        """Stop the background threads."""
        self._halt()
        self._pool.shutdown(wait=False)

    def __del__(self) -> None:
        try:
            self._stop.set()
            self._pool.shutdown(wait=False)
        except Exception:  # noqa: S110 - interpreter shutdown
            pass


# ---------------------------------------------------------------------------- ImageRecordIter


class ImageRecordIter(_RecordIterBase):
    """Iterates on image RecordIO files (MXNet's C++ ``ImageRecordIter``).

    Reads batches of images from ``.rec`` files (made by ``im2rec``), decoded and augmented
    in ``preprocess_threads`` threads and prefetched. Takes MXNet's parameters, among them:

    Parameters
    ----------
    path_imgrec : str
        The record file (any fsspec URI).
    path_imgidx : str, optional
        Its index: read by index (needed for ``shuffle`` by record and sharding by count).
    path_imglist : str, optional
        ``index<TAB>labels...<TAB>path`` lines whose labels replace the records' (by id).
    data_shape : tuple of int
        (channels, height, width) of the output images; 1 channel decodes greyscale.
    batch_size : int
        Images per batch.
    label_width : int
        Labels per image (the records must hold that many).
    shuffle, seed : bool, int
        Shuffle the records every epoch (within 64 MB chunks without an index).
    num_parts, part_index : int
        Read only part ``part_index`` of ``num_parts`` (sharding across workers).
    round_batch : bool
        Complete the last batch with images from the start (``pad`` says how many).
    resize : int
        Resize the shorter edge to this size first.
    rand_crop, rand_mirror, mirror : bool
        Random (else central) crops, random and forced left-right mirroring.
    max_rotate_angle, max_aspect_ratio, min_aspect_ratio, max_shear_ratio, max_crop_size,
    min_crop_size, max_random_scale, min_random_scale, max_img_size, min_img_size,
    random_resized_crop, max_random_area, min_random_area, brightness, contrast,
    saturation, pca_noise, random_h, random_s, random_l, rotate, fill_value, inter_method,
    pad
        MXNet's ``aug_default`` augmentations.
    mean_r, mean_g, mean_b, mean_a, std_r, std_g, std_b, std_a, scale, mean_img
        Output = ``(pixel - mean) * scale / std``; ``mean_img`` is a mean-image file
        (computed and saved first when it does not exist).
    dtype : {'float32', 'uint8', 'int8'}
        Output type (uint8: raw pixels; int8: pixel minus the rounded mean).
    preprocess_threads, prefetch_buffer : int
        Decoding threads and prefetched batches.
    data_name, label_name : str
        Names in ``provide_data`` / ``provide_label``.
    skip_invalid : bool
        mxlite: skip (and count in ``num_skipped``) records that do not decode or are too
        small, with a logged warning, instead of raising.
    """

    _who = "ImageRecordIter"
    _default_dtype = "float32"

    def __init__(self, **kwargs: Any):
        p = _Params(self._who, {**_COMMON, **_AUG, **_NORM}, kwargs)
        p.dtype = p.dtype or self._default_dtype
        super().__init__(p)
        self._aug = _DefaultAug(p)
        c, h, w = p.data_shape
        self._labels = _label_map(p.path_imglist, p.label_width, self._who) \
            if p.path_imglist else None
        self._label_1d = p.label_width == 1
        label_shape = (p.batch_size,) if self._label_1d else (p.batch_size, p.label_width)
        self.provide_data = [DataDesc(p.data_name, (p.batch_size, c, h, w), np.dtype(p.dtype))]
        self.provide_label = [DataDesc(p.label_name, label_shape)]
        means = np.array([p.mean_r, p.mean_g, p.mean_b, p.mean_a][:max(c, 1)], _F32)
        if c == 1:
            means = means[:1]
        stds = np.array([p.std_r, p.std_g, p.std_b, p.std_a][:c], _F32)
        scale = _F32(p.scale)
        self._mean = means.reshape(c, 1, 1)
        self._mean_int = np.round(means).astype(np.int16).reshape(c, 1, 1)
        self._mult = (scale / stds).astype(_F32).reshape(c, 1, 1)
        # subtracting 0 and multiplying by 1 change no float: skip them
        self._has_mean = bool(np.any(self._mean != 0))
        self._has_mult = bool(np.any(self._mult != 1))
        self._random_mirror = p.rand_mirror
        self._random_norm = p.max_random_contrast > 0 or p.max_random_illumination > 0
        self._mean_img: np.ndarray | None = None
        if p.mean_img and p.dtype != "uint8":
            self._mean_img = self._load_mean_img(p.mean_img)

    def _load_mean_img(self, path: str) -> np.ndarray:
        from .. import ndarray as nd

        if storage.exists(path):
            arrays = nd.load(path)
            values = list(arrays.values()) if isinstance(arrays, dict) else list(arrays)
            if len(values) != 1:
                raise MXNetError(f"{self._who}: invalid mean image file {path}: "
                                 f"{len(values)} arrays, expected 1")
            return values[0].asnumpy().astype(_F32)
        _log.info("%s: cannot find %s: creating the mean image", self._who, path)
        total = np.zeros(self._p.data_shape, np.float64)
        count = 0
        pixels = np.empty(self._p.data_shape, _F32)
        for seq, (pos, raw) in enumerate(self._source.records()):
            out = self._work((seq, pos, raw))
            if isinstance(out, _Skip):
                self._skipped(pos, out)
                continue
            _planes_into(pixels, out[0])
            total += pixels
            count += 1
        self._source.passes = 0
        if not count:
            raise MXNetError(f"{self._who}: no image to compute the mean image from")
        img = (total / count).astype(_F32)
        nd.save(path, {"mean_img": nd.array(img)})
        return img

    def _label(self, header: Any) -> np.ndarray:
        p = self._p
        if self._labels is not None:
            try:
                return self._labels[int(header.id)]
            except KeyError:
                raise _Skip(f"image id {header.id} is not in {p.path_imglist}") from None
        if header.flag > 0:
            label = np.asarray(header.label, _F32).reshape(-1)
            if label.size != p.label_width:
                raise MXNetError(f"{self._who}: rec file provides {label.size}-dimensional "
                                 f"labels but label_width is set to {p.label_width}")
            return label
        if p.label_width != 1:
            raise MXNetError(f"{self._who}: label_width must be 1 unless an imglist is "
                             "provided or the rec file is packed with multi dimensional "
                             "labels")
        return np.array([header.label], _F32)

    def _process(self, seq: int, pos: int, raw: bytes) -> tuple[np.ndarray, np.ndarray, Any]:
        header, img = self._decode(pos, raw)
        label = self._label(header)
        rng = self._rng(seq) if (self._aug.random or self._random_mirror
                                 or self._random_norm) else None
        res = self._aug(img, rng)
        p = self._p
        mirrored = p.mirror or (p.rand_mirror and rng.random() < 0.5)
        if mirrored:
            res = _cv2().flip(res, 1).reshape(res.shape)
        mult, bias = self._mult, None
        if self._random_norm:
            contrast = (_F32(rng.random()) * _F32(p.max_random_contrast * 2)
                        - _F32(p.max_random_contrast) + _F32(1)) * _F32(p.scale)
            illum = (_F32(rng.random()) * _F32(p.max_random_illumination * 2)
                     - _F32(p.max_random_illumination)) * _F32(p.scale)
            stds = _F32(p.scale) / self._mult
            mult = (contrast / stds).astype(_F32)
            bias = (illum / stds).astype(_F32)
        return res, label, (mirrored, mult, bias)

    def _fill(self, dst: np.ndarray, res: np.ndarray, aux: Any) -> None:
        mirrored, mult, bias = aux
        p = self._p
        if p.dtype == "int8":
            mean = np.round(self._mean_img).astype(np.int16) if self._mean_img is not None \
                else self._mean_int
            if mirrored and self._mean_img is not None:
                mean = mean[:, :, ::-1]
            tmp = np.empty(dst.shape, np.int16)
            _planes_into(tmp, res)
            tmp -= mean
            np.clip(tmp, -128, 127, out=tmp)
            dst[...] = tmp
            return
        _planes_into(dst, res)
        if p.dtype == "uint8":
            return
        if self._mean_img is not None:
            # MXNet subtracts the mean at the pixel's unmirrored position
            dst -= self._mean_img[:, :, ::-1] if mirrored else self._mean_img
        elif self._has_mean:
            dst -= self._mean
        if bias is not None or self._has_mult:
            dst *= mult
        if bias is not None:
            dst += bias


class ImageRecordUInt8Iter(ImageRecordIter):
    """``ImageRecordIter`` with uint8 output (deprecated in MXNet in favour of
    ``ImageRecordIter(dtype='uint8')``)."""

    _who = "ImageRecordUInt8Iter"
    _default_dtype = "uint8"

    def __init__(self, **kwargs: Any):
        for key in _NORM:
            kwargs.pop(key, None) if kwargs.get(key) is None else None
        bad = sorted(set(kwargs) & set(_NORM))
        if bad:
            raise MXNetError(f"{self._who}: unknown parameter {bad[0]!r} (it takes no "
                             "normalization parameters)")
        kwargs.setdefault("dtype", "uint8")
        super().__init__(**kwargs)


# ---------------------------------------------------------------------------- detection


class _DetLabel:
    """A detection label ``[header_width, object_width, header..., objects...]``."""

    def __init__(self, raw: np.ndarray, who: str):
        raw = np.asarray(raw, _F32).reshape(-1)
        if raw.size < 2:
            raise _Skip(f"detection label too short: {raw.size} values")
        hw, ow = int(raw[0]), int(raw[1])
        if hw < 2 or ow < 5 or (raw.size - hw) % ow:
            raise _Skip(f"detection label of {raw.size} values does not fit header width "
                        f"{hw} and object width {ow}")
        self.header = raw[:hw].copy()
        self.objects = raw[hw:].reshape(-1, ow).copy()

    def mirror(self) -> None:
        xmin = self.objects[:, 1].copy()
        self.objects[:, 1] = 1 - self.objects[:, 3]
        self.objects[:, 3] = 1 - xmin

    def pad(self, box: tuple[float, float, float, float]) -> None:
        x, y, w, h = box
        o = self.objects
        o[:, [1, 3]] = (o[:, [1, 3]] - x) / w
        o[:, [2, 4]] = (o[:, [2, 4]] - y) / h

    def array(self) -> np.ndarray:
        return np.concatenate([self.header, self.objects.reshape(-1)]).astype(_F32)

    def try_crop(self, box: tuple[float, float, float, float], s: _CropSampler,
                 emit_mode: str, emit_thresh: float) -> bool:
        """MXNet's ``TryCrop``: accept ``box`` (x, y, w, h, relative) when some object meets
        the sampler's overlap / coverage bounds, keep the objects ``emit_mode`` keeps
        (their centre inside, or more than ``emit_thresh`` of their area inside), projected
        into the box; False leaves the label as it was."""
        o = self.objects
        if len(o) == 0:
            return True
        x, y, w, h = box
        left, top, right, bottom = o[:, 1], o[:, 2], o[:, 3], o[:, 4]
        iw = np.maximum(0, np.minimum(right, x + w) - np.maximum(left, x))
        ih = np.maximum(0, np.minimum(bottom, y + h) - np.maximum(top, y))
        inter = (iw * ih).astype(_F32)
        gt_area = ((right - left) * (bottom - top)).astype(_F32)
        crop_area = _F32(w * h)
        ok = np.ones(len(o), bool)
        if s.min_overlap > 0 or s.max_overlap < 1:
            union = crop_area + gt_area - inter
            iou = np.where(inter > 0, inter / np.where(union > 0, union, 1), 0)
            ok &= (iou >= s.min_overlap) & (iou <= s.max_overlap)
        if s.min_sample_cov > 0 or s.max_sample_cov < 1:
            c = inter / crop_area
            ok &= (c >= s.min_sample_cov) & (c <= s.max_sample_cov)
        if s.min_object_cov > 0 or s.max_object_cov < 1:
            c = inter / gt_area
            ok &= (c >= s.min_object_cov) & (c <= s.max_object_cov)
        if not ok.any():
            return False
        if emit_mode == "center":
            cx, cy = (left + right) * _F32(0.5), (top + bottom) * _F32(0.5)
            keep = (cx >= x) & (cx < x + w) & (cy >= y) & (cy < y + h)
        else:
            keep = inter / gt_area > emit_thresh
        if not keep.any():
            return False
        kept = o[keep].copy()
        kept[:, 1] = np.maximum(0, (kept[:, 1] - x) / w)
        kept[:, 2] = np.maximum(0, (kept[:, 2] - y) / h)
        kept[:, 3] = np.minimum(1, (kept[:, 3] - x) / w)
        kept[:, 4] = np.minimum(1, (kept[:, 4] - y) / h)
        self.objects = kept
        return True


class _CropSampler:
    """One of ``num_crop_sampler`` crop samplers: the i-th entry of every crop tuple."""

    def __init__(self, p: Any, i: int):
        self.min_scale, self.max_scale = p.min_crop_scales[i], p.max_crop_scales[i]
        self.min_ratio = p.min_crop_aspect_ratios[i]
        self.max_ratio = p.max_crop_aspect_ratios[i]
        self.min_overlap, self.max_overlap = p.min_crop_overlaps[i], p.max_crop_overlaps[i]
        self.min_sample_cov = p.min_crop_sample_coverages[i]
        self.max_sample_cov = p.max_crop_sample_coverages[i]
        self.min_object_cov = p.min_crop_object_coverages[i]
        self.max_object_cov = p.max_crop_object_coverages[i]
        self.trials = int(p.max_crop_trials[i])

    def box(self, rng: np.random.Generator, img_ratio: float
            ) -> tuple[float, float, float, float]:
        """MXNet's ``GenerateCropBox``: a scale, then an aspect ratio bounded so the box
        fits, then a position."""
        scale = rng.uniform(self.min_scale, self.max_scale) + 1e-12
        lo = max(self.min_ratio / img_ratio, scale * scale)
        hi = min(self.max_ratio / img_ratio, 1.0 / (scale * scale))
        ratio = np.sqrt(rng.uniform(lo, hi))
        w, h = min(1.0, scale * ratio), min(1.0, scale / ratio)
        return rng.uniform(0, 1 - w), rng.uniform(0, 1 - h), w, h


_CROP_TUPLES = ("min_crop_scales", "max_crop_scales", "min_crop_aspect_ratios",
                "max_crop_aspect_ratios", "min_crop_overlaps", "max_crop_overlaps",
                "min_crop_sample_coverages", "max_crop_sample_coverages",
                "min_crop_object_coverages", "max_crop_object_coverages", "max_crop_trials")


def _crop_samplers(p: Any, who: str) -> list[_CropSampler]:
    """Check the crop parameters as MXNet does (one value each, or one per sampler; a single
    value is shared by all samplers) and build the samplers."""
    n = p.num_crop_sampler
    for name in _CROP_TUPLES:
        values = tuple(getattr(p, name))
        if n == 1 and len(values) != 1:
            raise MXNetError(f"{who}: {name} has {len(values)} values; with one crop sampler "
                             "it takes one")
        if n > 1:
            if len(values) == 1:
                values = values * n
            elif len(values) != n:
                raise MXNetError(f"{who}: {name} has {len(values)} values for "
                                 f"num_crop_sampler={n} (# of parameters/crop_samplers "
                                 "mismatch)")
            setattr(p, name, values)
    samplers = [_CropSampler(p, i) for i in range(max(n, 0))]
    for i, s in enumerate(samplers):
        checks = [(s.min_scale >= 0, "min_crop_scales must be >= 0"),
                  (s.max_scale <= 1, "max_crop_scales must be <= 1"),
                  (s.max_scale > s.min_scale, "max_crop_scales must exceed min_crop_scales"),
                  (s.min_ratio >= 0, "min_crop_aspect_ratios must be >= 0"),
                  (s.max_ratio >= s.min_ratio, "max_crop_aspect_ratios < min"),
                  (s.max_overlap >= s.min_overlap, "max_crop_overlaps < min"),
                  (s.max_sample_cov >= s.min_sample_cov, "max_crop_sample_coverages < min"),
                  (s.max_object_cov >= s.min_object_cov, "max_crop_object_coverages < min")]
        for ok, what in checks:
            if not ok:
                raise MXNetError(f"{who}: crop sampler {i}: {what}")
    if p.emit_overlap_thresh < 0:
        raise MXNetError(f"{who}: emit_overlap_thresh must be >= 0, got "
                         f"{p.emit_overlap_thresh}")
    if p.crop_emit_mode not in ("center", "overlap"):
        raise MXNetError(f"{who}: crop_emit_mode must be 'center' or 'overlap', got "
                         f"{p.crop_emit_mode!r}")
    return samplers


class ImageDetRecordIter(_RecordIterBase):
    """Iterates on detection image RecordIO files (MXNet's C++ ``ImageDetRecordIter``).

    Each record's label is ``[header_width, object_width, header..., objects...]`` with
    objects ``[class, xmin, ymin, xmax, ymax, ...]`` in relative coordinates. A batch's
    label rows are ``[channels, height, width, label length, label..., label_pad_value...]``
    of width ``label_pad_width + 4`` (``label_pad_width`` defaults to the longest label).

    Parameters follow MXNet's (``path_imgrec``, ``data_shape``, ``batch_size``, ``resize``,
    ``resize_mode`` ('force', 'fit', 'shrink'), ``rand_mirror_prob``, ``rand_pad_prob`` /
    ``max_pad_scale`` / ``fill_value``, the colour jitters, ``mean_*`` / ``std_*`` /
    ``scale``...), and the SSD-style crop samplers (``rand_crop_prob``,
    ``num_crop_sampler`` and the ``*_crop_*`` bounds, ``crop_emit_mode``,
    ``emit_overlap_thresh``, ``max_crop_trials``) as MXNet's default detection augmenter
    applies them. Random draws come from numpy's generator, so they are reproducible but
    not MXNet's.
    """

    _who = "ImageDetRecordIter"

    def __init__(self, **kwargs: Any):
        table = {**_COMMON, **_DET}
        table.pop("path_imgidx")
        table.pop("seed_aug")
        p = _Params(self._who, table, kwargs)
        p.path_imgidx = ""
        p.seed_aug = None
        p.dtype = "float32"
        p.path_imgrec = p.path_imgrec or "./data/imgrec.rec"
        self._samplers = _crop_samplers(p, self._who)
        if p.resize_mode not in ("force", "fit", "shrink"):
            raise MXNetError(f"{self._who}: resize_mode must be 'force', 'fit' or 'shrink', "
                             f"got {p.resize_mode!r}")
        super().__init__(p)
        self._labels = _label_map(p.path_imglist, -1, self._who) if p.path_imglist else None
        width = self._max_label_width()
        if width > p.label_pad_width:
            if p.label_pad_width > 0:
                raise MXNetError(f"{self._who}: label_pad_width {p.label_pad_width} is "
                                 f"smaller than the longest label ({width})")
            p.label_pad_width = width
        c, h, w = p.data_shape
        self.provide_data = [DataDesc(p.data_name, (p.batch_size, c, h, w))]
        self.provide_label = [DataDesc(p.label_name, (p.batch_size, p.label_pad_width + 4))]
        std = [p.std_r, p.std_g, p.std_b, p.std_a][:c]
        self._mean = np.array([p.mean_r, p.mean_g, p.mean_b, p.mean_a][:c], _F32).reshape(
            c, 1, 1)
        self._use_mean = any(v > 0 for v in (p.mean_r, p.mean_g, p.mean_b, p.mean_a))
        self._std = np.array([s if s > 0 else 1.0 for s in std], _F32).reshape(c, 1, 1)
        self._use_std = [s > 0 for s in std]

    def _raw_label(self, header: Any) -> np.ndarray:
        if self._labels is not None:
            try:
                return self._labels[int(header.id)]
            except KeyError:
                raise _Skip(f"image id {header.id} is not in {self._p.path_imglist}") from None
        if header.flag <= 0:
            raise MXNetError(f"{self._who}: not enough label packed in img_list or rec file")
        label = np.asarray(header.label, _F32).reshape(-1)
        if self._p.label_width > 0 and label.size != self._p.label_width:
            raise MXNetError(f"{self._who}: rec file provides {label.size}-dimensional labels "
                             f"but label_width is set to {self._p.label_width}")
        return label

    def _max_label_width(self) -> int:
        if self._labels is not None:
            return max((v.size for v in self._labels.values()), default=0)
        from ..recordio import unpack

        width = 0
        for _, raw in self._source.records():
            width = max(width, self._raw_label(unpack(raw)[0]).size)
        self._source.passes = 0
        return width

    def _process(self, seq: int, pos: int, raw: bytes) -> tuple[np.ndarray, np.ndarray, Any]:
        p = self._p
        cv2 = _cv2()
        header, res = self._decode(pos, raw)
        label = _DetLabel(self._raw_label(header), self._who)
        random = (p.rand_mirror_prob > 0 or p.rand_pad_prob > 0 or p.rand_crop_prob > 0
                  or p.random_hue_prob > 0
                  or p.random_saturation_prob > 0 or p.random_illumination_prob > 0
                  or p.random_contrast_prob > 0 or p.inter_method == 10)
        rng = self._rng(seq) if random else None
        if p.resize != -1:
            rows, cols = res.shape[:2]
            if rows > cols:
                nh, nw = p.resize * rows // cols, p.resize
            else:
                nh, nw = p.resize, p.resize * cols // rows
            res = _resize(res, nw, nh, _inter(p.inter_method, cols, rows, nw, nh, rng))
        if (p.random_hue_prob > 0 or p.random_saturation_prob > 0
                or p.random_illumination_prob > 0 or p.random_contrast_prob > 0):
            u = rng.uniform(-1, 1, 4)
            h = int(u[0] * p.max_random_hue) if rng.random() < p.random_hue_prob else 0
            s = int(u[1] * p.max_random_saturation) \
                if rng.random() < p.random_saturation_prob else 0
            lum = int(u[2] * p.max_random_illumination) \
                if rng.random() < p.random_illumination_prob else 0
            c = u[3] * p.max_random_contrast if rng.random() < p.random_contrast_prob else 0
            if h or s or lum:
                res = _hls_shift(res, h, lum, s)
            if abs(c) > 1e-3:
                res = cv2.convertScaleAbs(res.astype(_F32) * _F32(c + 1))
        if p.rand_mirror_prob > 0 and rng.random() < p.rand_mirror_prob:
            label.mirror()
            res = np.ascontiguousarray(res[:, ::-1])
        if p.rand_pad_prob > 0 and p.max_pad_scale > 1 and rng.random() < p.rand_pad_prob:
            res = self._pad(res, label, rng)
        if p.rand_crop_prob > 0 and self._samplers and rng.random() < p.rand_crop_prob:
            res = self._crop(res, label, rng)
        res = self._det_resize(res, rng)
        c, h, w = p.data_shape
        if res.shape[:2] != (h, w):
            raise _Skip(f"resize_mode {p.resize_mode!r} gave a {res.shape[1]}x{res.shape[0]} "
                        f"image; the batch needs {w}x{h}")
        lab = label.array()
        row = np.full(p.label_pad_width + 4, p.label_pad_value, _F32)
        row[:4] = (res.shape[2], res.shape[0], res.shape[1], lab.size)
        row[4:4 + lab.size] = lab
        return res, row, None

    def _fill(self, dst: np.ndarray, res: np.ndarray, aux: Any) -> None:
        _planes_into(dst, res)
        if self._use_mean:
            dst -= self._mean
        if any(self._use_std):
            dst /= self._std
        dst *= _F32(self._p.scale)

    def _pad(self, res: np.ndarray, label: _DetLabel, rng: np.random.Generator) -> np.ndarray:
        p = self._p
        scale = rng.uniform(1.0, p.max_pad_scale)
        x = rng.uniform(1.0 - scale, 0.0)
        y = rng.uniform(1.0 - scale, 0.0)
        label.pad((x, y, scale, scale))
        rows, cols = res.shape[:2]
        left, top = int(-x * cols), int(-y * rows)
        right, bot = int((scale + x - 1) * cols), int((scale + y - 1) * rows)
        cv2 = _cv2()
        out = cv2.copyMakeBorder(res, top, bot, left, right, cv2.BORDER_CONSTANT,
                                 value=(p.fill_value,) * 3)
        return out.reshape(out.shape[0], out.shape[1], -1)

    def _crop(self, res: np.ndarray, label: _DetLabel, rng: np.random.Generator
              ) -> np.ndarray:
        """Try the samplers in random order, each up to its trial count; the first crop box
        a sampler accepts cuts the image. If none does, the image stays whole."""
        p = self._p
        rows, cols = res.shape[:2]
        for i in rng.permutation(len(self._samplers)):
            sampler = self._samplers[i]
            for _ in range(sampler.trials):
                box = sampler.box(rng, cols / rows)
                if label.try_crop(box, sampler, p.crop_emit_mode, p.emit_overlap_thresh):
                    x, y, w, h = box
                    left, top = int(x * cols), int(y * rows)
                    width, height = int(w * cols), int(h * rows)
                    return np.ascontiguousarray(res[top:top + height, left:left + width])
        return res

    def _det_resize(self, res: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        p = self._p
        h, w = p.data_shape[1], p.data_shape[2]
        rows, cols = res.shape[:2]
        if p.resize_mode == "force":
            nh, nw = h, w
        else:
            ratio = min(_F32(h) / _F32(rows), _F32(w) / _F32(cols))
            if p.resize_mode == "shrink" and not (rows > h or cols > w):
                return res
            nh, nw = int(ratio * rows), int(ratio * cols)
        return _resize(res, nw, nh, _inter(p.inter_method, cols, rows, nw, nh, rng))

