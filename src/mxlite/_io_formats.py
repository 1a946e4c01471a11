"""``mx.io.MNISTIter`` and ``mx.io.LibSVMIter``: MXNet's C++ file iterators, on numpy.

Both serve MXNet 1.9.1's batches for the same files and arguments: the same order (MNISTIter's
shuffle reproduces libstdc++'s ``std::shuffle`` over ``std::mt19937(seed)`` as MXNet's wheels
were built), the same partitions for ``num_parts`` / ``part_index`` (whole images for MNIST;
byte ranges moved to line starts, as dmlc-core's ``InputSplit``, for LibSVM) and the same
``round_batch`` wrap-around. Every path may be an fsspec URI.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import storage
from .base import MXNetError
from .io import DataBatch, DataDesc, DataIter
from .ndarray.ndarray import NDArray
from .ndarray.sparse import CSRNDArray

__all__ = ["MNISTIter", "LibSVMIter"]

_ITER_ARGS = {"prefetch_buffer", "ctx"}


def _unknown(cls: str, kwargs: dict[str, Any]) -> None:
    # MXNet's C++ iterators ignore arguments they do not know (InitAllowUnknown): so do
    # these, but say so, since a misspelt argument otherwise goes unnoticed
    extra = sorted(k for k in kwargs if k not in _ITER_ARGS)
    if extra:
        warnings.warn(f"{cls}: ignoring unknown arguments {extra}", stacklevel=3)


def _check_dtype(cls: str, dtype: Any) -> None:
    if dtype is not None and str(np.dtype(dtype)) != "float32":
        raise MXNetError(f"{cls}: dtype={dtype!r} is not supported: the data is float32 "
                         "(MXNet 1.9.1 fails on any other dtype for this iterator)")


def _positive_int(cls: str, name: str, value: Any, low: int = 1) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise MXNetError(f"{cls}: {name} must be an integer, got {value!r}") from None
    if out < low or isinstance(value, bool) or out != value:
        raise MXNetError(f"{cls}: {name} must be an integer >= {low}, got {value!r}")
    return out


# ----------------------------------------------------------------------------- std::shuffle


def _mt19937(seed: int) -> Any:
    """A generator of ``std::mt19937(seed)``'s 32-bit outputs, in blocks."""
    bits = np.random.MT19937(0)
    bits._legacy_seeding(int(seed) & 0xFFFFFFFF)  # init_genrand(seed), as std::mt19937
    return bits


def std_shuffle_order(n: int, seed: int) -> np.ndarray:
    """The permutation ``std::shuffle(v.begin(), v.end(), std::mt19937(seed))`` makes of
    ``v = 0..n-1`` in MXNet's wheels (libstdc++ of their compiler: one
    ``uniform_int_distribution(0, i)`` draw per position, by rejection with two divisions).

    The draws are made in vectorised blocks (a rejection, odds below ``i / 2**32``, only
    restarts the block there); the swaps themselves are sequential by nature.
    """
    bits = _mt19937(seed)
    js = np.empty(max(n - 1, 0), dtype=np.int64)
    pool = np.empty(0, dtype=np.uint64)  # raw values drawn and not used yet
    i = 1  # the position whose draw comes next
    while i < n:
        m = min(n - i, 1 << 16)
        if pool.size < m:
            pool = np.concatenate([pool, bits.random_raw(m - pool.size + 16)
                                   .astype(np.uint64)])
        raw = pool[:m]
        outcomes = np.arange(i, i + m, dtype=np.uint64) + 1  # i + 1 possible outcomes
        scaling = np.uint64(0xFFFFFFFF) // outcomes
        bad = np.flatnonzero(raw >= outcomes * scaling)
        take = int(bad[0]) if bad.size else m
        js[i - 1:i - 1 + take] = raw[:take] // scaling[:take]
        i += take
        # a rejected value is dropped and its position draws again from the next one
        pool = pool[take + (1 if bad.size else 0):]
    order = np.arange(n, dtype=np.int64)
    for k, j in enumerate(js.tolist(), 1):
        order[k], order[j] = order[j], order[k]
    return order


# ----------------------------------------------------------------------------- MNIST


def _read_idx_file(path: str, header: int, what: str) -> tuple[tuple[int, ...], bytes]:
    data = storage.read_bytes(path)
    if data[:2] == b"\x1f\x8b":  # the files as downloaded (MXNet wants them unpacked)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise MXNetError(f"MNISTIter: {what} file {path}: a broken gzip file ({e})") from None
    if len(data) < header:
        raise MXNetError(f"MNISTIter: {what} file {path}: invalid mnist format: "
                         f"{len(data)} bytes, shorter than its {header}-byte header")
    dims = struct.unpack(f">{header // 4}i", data[:header])
    return dims, data


class _BatchIter(DataIter):
    """An iterator whose ``iter_next`` leaves the whole next batch in ``self._batch``."""

    _batch: DataBatch

    def next(self) -> DataBatch:
        if self.iter_next():
            return self._batch
        raise StopIteration

    # MXNet's C++ iterators (MXDataIter) answer getdata() / getlabel() with the one array
    # itself, not a list as Python DataIters do; the batches from next() hold lists.
    def getdata(self) -> NDArray:
        return self._batch.data[0]

    def getlabel(self) -> NDArray:
        return self._batch.label[0]

    def getpad(self) -> int:
        return self._batch.pad

    def getindex(self) -> np.ndarray | None:
        return self._batch.index


class MNISTIter(_BatchIter):
    """Iterate over MNIST's idx files (``mx.io.MNISTIter``).

    Images come as float32 ``pixel / 256`` in batches of shape ``(batch_size, 1, rows,
    cols)``, or ``(batch_size, rows * cols)`` with ``flat``; labels as ``(batch_size,)``.
    Only whole batches are served (the rest of the data is left out, as MXNet does). With
    ``shuffle`` (the default) the examples are put once, at construction, in the order
    MXNet's ``seed`` gives; every epoch repeats it. ``num_parts`` / ``part_index`` take the
    ``part_index``-th of ``num_parts`` contiguous parts.

    Parameters
    ----------
    image, label : str
        Paths (or fsspec URIs) of the idx3 image and idx1 label files (gzipped ones too).
    batch_size : int, default 128
    shuffle : bool, default True
    flat : bool, default False
    seed : int, default 0
    silent : bool, default False
        False logs the number of images and the batch shape.
    num_parts, part_index : int, default 1, 0
    prefetch_buffer, ctx : accepted for compatibility (batches are made on demand, on CPU).
    dtype : None or 'float32'
    data_name, label_name : str, default 'data', 'softmax_label'
    """

    def __init__(self, image: str = "./train-images-idx3-ubyte",
                 label: str = "./train-labels-idx1-ubyte", batch_size: int = 128,
                 shuffle: bool = True, flat: bool = False, seed: int = 0,
                 silent: bool = False, num_parts: int = 1, part_index: int = 0,
                 dtype: Any = None, data_name: str = "data",
                 label_name: str = "softmax_label", **kwargs: Any):
        batch_size = _positive_int("MNISTIter", "batch_size", batch_size)
        super().__init__(batch_size)
        _unknown("MNISTIter", kwargs)
        _check_dtype("MNISTIter", dtype)
        num_parts = _positive_int("MNISTIter", "num_parts", num_parts)
        part_index = _positive_int("MNISTIter", "part_index", part_index, 0)
        if part_index >= num_parts:
            raise MXNetError(f"MNISTIter: part_index must be less than num_parts, got "
                             f"part_index={part_index}, num_parts={num_parts}")
        images = self._load_images(os.fspath(image), num_parts, part_index)
        labels = self._load_labels(os.fspath(label), num_parts, part_index)
        if labels.shape[0] < images.shape[0]:
            raise MXNetError(f"MNISTIter: label file {label} has {labels.shape[0]} labels "
                             f"for the {images.shape[0]} images of {image}")
        if shuffle:
            order = std_shuffle_order(labels.shape[0], seed)
            order = order[order < images.shape[0]]
            images, labels = images[order], labels[order]
        n, rows, cols = images.shape
        self._images = images.reshape(n, rows * cols) if flat else images[:, None]
        self._labels = labels[:n]
        self.flat = bool(flat)
        data_shape = (batch_size, rows * cols) if flat else (batch_size, 1, rows, cols)
        self.provide_data = [DataDesc(data_name, data_shape, np.float32)]
        self.provide_label = [DataDesc(label_name, (batch_size,), np.float32)]
        self._loc = 0
        self._batch: DataBatch | None = None
        if not silent:
            logging.info("MNISTIter: load %d images, shuffle=%d, shape=%s", n, bool(shuffle),
                         (batch_size, rows * cols) if flat else data_shape)

    @staticmethod
    def _part(count: int, num_parts: int, part_index: int) -> tuple[int, int]:
        # MXNet's double arithmetic, truncated
        return (int(count / num_parts * part_index), int(count / num_parts * (part_index + 1)))

    def _load_images(self, path: str, num_parts: int, part_index: int) -> np.ndarray:
        (_, count, rows, cols), data = _read_idx_file(path, 16, "image")
        if min(count, rows, cols) < 0:
            raise MXNetError(f"MNISTIter: image file {path}: invalid mnist format: negative "
                             f"dimensions {count} x {rows} x {cols}")
        start, end = self._part(count, num_parts, part_index)
        size = rows * cols
        need = 16 + end * size
        if len(data) < need:
            raise MXNetError(f"MNISTIter: image file {path}: truncated: {count} images of "
                             f"{rows}x{cols} need {16 + count * size} bytes, the file has "
                             f"{len(data)}")
        pixels = np.frombuffer(data, np.uint8, (end - start) * size, 16 + start * size)
        # pixel * (1/256) in float32 is exact, as MXNet's scaling
        return (pixels.astype(np.float32) * np.float32(1 / 256)).reshape(end - start, rows,
                                                                        cols)

    def _load_labels(self, path: str, num_parts: int, part_index: int) -> np.ndarray:
        (_, count), data = _read_idx_file(path, 8, "label")
        if count < 0:
            raise MXNetError(f"MNISTIter: label file {path}: invalid mnist format: negative "
                             f"count {count}")
        start, end = self._part(count, num_parts, part_index)
        if len(data) < 8 + end:
            raise MXNetError(f"MNISTIter: label file {path}: truncated: {count} labels need "
                             f"{8 + count} bytes, the file has {len(data)}")
        return np.frombuffer(data, np.uint8, end - start, 8 + start).astype(np.float32)

    def reset(self) -> None:
        self._loc = 0

    def iter_next(self) -> bool:
        bs = self.batch_size
        if self._loc + bs > self._labels.shape[0]:
            return False
        sl = slice(self._loc, self._loc + bs)
        self._loc += bs
        self._batch = DataBatch([NDArray(self._images[sl].copy())],
                                [NDArray(self._labels[sl].copy())], pad=0, index=None)
        return True


# ----------------------------------------------------------------------------- LibSVM


def _record_begin(data: bytes, pos: int) -> int:
    """How far dmlc's LineSplitter moves a split point at ``pos``: past the end of the line
    it is in (or starts) and the line breaks that follow."""
    n = len(data)
    cr = data.find(b"\r", pos)
    lf = data.find(b"\n", pos)
    ends = [e for e in (cr, lf) if e != -1]
    if not ends:
        return n - pos
    q = min(ends) + 1
    while q < n and data[q] in (10, 13):
        q += 1
    return q - pos


def _split(data: bytes, part_index: int, num_parts: int) -> bytes:
    """The bytes dmlc's InputSplit gives part ``part_index`` of ``num_parts`` of a text file:
    equal byte ranges, each moved to the start of the next line."""
    total = len(data)
    step = (total + num_parts - 1) // num_parts
    begin = min(step * part_index, total)
    end = min(step * (part_index + 1), total)
    if end != total:
        end += _record_begin(data, end)
    if begin != 0:
        begin += _record_begin(data, begin)
    return data[begin:end] if begin < end else b""


_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)"
_PAIR = re.compile(rf"({_NUM})(?::({_NUM}))?$", re.IGNORECASE)


class _Rows:
    """The rows of a LibSVM text: labels, CSR (values, column indices, row pointers)."""

    def __init__(self, labels: np.ndarray, values: np.ndarray, indices: np.ndarray,
                 indptr: np.ndarray):
        self.labels, self.values, self.indices, self.indptr = labels, values, indices, indptr

    def __len__(self) -> int:
        return self.labels.shape[0]


def _parse_libsvm(text: bytes, path: str, width: int, what: str) -> _Rows:
    labels: list[float] = []
    values: list[str] = []
    indices: list[str] = []
    lengths: list[int] = []
    for n, raw in enumerate(re.split(rb"[\r\n]", text), 1):
        tokens = raw.decode("latin-1").split()
        if not tokens:
            continue
        head = _PAIR.match(tokens[0])
        if head is None:
            raise MXNetError(f"LibSVMIter: {what} {path}: line {n}: expected a label (or "
                             f"label:weight) first, got {tokens[0]!r}")
        feats = [t for t in tokens[1:] if not t.startswith("qid:")]
        pairs = [t.partition(":") for t in feats]
        if any(not sep or not i.isdigit() for i, sep, _ in pairs):
            bad = next(t for t, (i, sep, _) in zip(feats, pairs) if not sep or not i.isdigit())
            raise MXNetError(f"LibSVMIter: {what} {path}: line {n}: expected "
                             f"'index:value' with a non-negative integer index, got {bad!r}")
        labels.append(float(head.group(1)))
        indices.extend(i for i, _, _ in pairs)
        values.extend(v for _, _, v in pairs)
        lengths.append(len(pairs))
    try:
        vals = np.array(values, dtype=np.float64).astype(np.float32)
    except ValueError as e:
        raise MXNetError(f"LibSVMIter: {what} {path}: a feature value is not a number "
                         f"({e})") from None
    idx = np.array(indices, dtype=np.int64) if indices else np.zeros(0, np.int64)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if idx.size and int(idx.max()) >= width:
        row = int(np.searchsorted(indptr, int(np.argmax(idx >= width)), side="right"))
        raise MXNetError(f"LibSVMIter: {what} {path}: row {row - 1} has column index "
                         f"{int(idx.max())}, outside the shape ({width},) given for it")
    return _Rows(np.array(labels, dtype=np.float32), vals, idx, indptr)


def _read_libsvm(path: str, part_index: int, num_parts: int, width: int, what: str,
                 storage_options: Any = None) -> _Rows:
    loc = storage.resolve(path, storage_options)
    if loc.local is not None and os.path.isdir(loc.local):
        names = sorted(f for f in os.listdir(loc.local)
                       if os.path.isfile(os.path.join(loc.local, f)))
        parts = [storage.read_bytes(os.path.join(loc.local, f)) for f in names]
        # a line never spans two files
        data = b"".join(p if p.endswith((b"\n", b"\r")) or not p else p + b"\n"
                        for p in parts)
    else:
        data = storage.read_bytes(path, storage_options)
    return _parse_libsvm(_split(data, part_index, num_parts), path, width, what)


def _take_csr(rows: _Rows, sel: np.ndarray, width: int) -> CSRNDArray:
    starts = rows.indptr[sel]
    lengths = rows.indptr[sel + 1] - starts
    indptr = np.zeros(len(sel) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
    return CSRNDArray(rows.values[pos], indptr, rows.indices[pos], (len(sel), width))


class LibSVMIter(_BatchIter):
    """Iterate over LibSVM text files, data as CSR (``mx.io.LibSVMIter``).

    Each line is ``label[:weight] [qid:q] index:value ...`` with zero-based column indices.
    Data batches are ``CSRNDArray`` of shape ``(batch_size,) + data_shape``; labels are the
    lines' labels, ``(batch_size,)``, or with ``label_libsvm`` the rows of that file as CSR
    of shape ``(batch_size,) + label_shape``.

    Batches always round (``round_batch``): the last batch is completed from the start and
    ``pad`` counts the borrowed rows; the next epoch begins after them, as MXNet's does.
    ``num_parts`` / ``part_index`` read the ``part_index``-th of ``num_parts`` equal byte
    ranges of the file, moved to line starts (parts need not be even). A folder as path
    reads its files in name order.

    Parameters
    ----------
    data_libsvm : str
    data_shape : tuple of one int
    batch_size : int
    label_libsvm : str, default 'NULL'
    label_shape : tuple of one int, default (1,)
    num_parts, part_index : int, default 1, 0
    round_batch : bool, default True (False is refused, as by MXNet)
    prefetch_buffer, ctx : accepted for compatibility
    dtype : None or 'float32'
    data_name, label_name : str, default 'data', 'softmax_label'
    """

    def __init__(self, data_libsvm: str, data_shape: Sequence[int], batch_size: int,
                 label_libsvm: str | None = "NULL", label_shape: Sequence[int] = (1,),
                 num_parts: int = 1, part_index: int = 0, round_batch: bool = True,
                 dtype: Any = None, data_name: str = "data", label_name: str = "softmax_label",
                 storage_options: Any = None, **kwargs: Any):
        batch_size = _positive_int("LibSVMIter", "batch_size", batch_size)
        super().__init__(batch_size)
        _unknown("LibSVMIter", kwargs)
        _check_dtype("LibSVMIter", dtype)
        data_shape = tuple(int(d) for d in np.atleast_1d(data_shape))
        label_shape = tuple(int(d) for d in np.atleast_1d(label_shape))
        if len(data_shape) != 1:
            raise MXNetError(f"LibSVMIter: dimension of data_shape is expected to be 1, got "
                             f"{data_shape}")
        num_parts = _positive_int("LibSVMIter", "num_parts", num_parts)
        part_index = _positive_int("LibSVMIter", "part_index", part_index, 0)
        has_label_file = label_libsvm not in (None, "NULL")
        label_size = int(np.prod(label_shape))
        if has_label_file and label_size <= 1:
            raise MXNetError(f"LibSVMIter: label_shape is not expected to be (1,) when "
                             f"label_libsvm is set, got {label_shape}")
        if not has_label_file and label_size != 1:
            raise MXNetError(f"LibSVMIter: label_shape is expected to be (1,) when "
                             f"label_libsvm is NULL, got {label_shape}")
        if not round_batch:
            raise MXNetError("LibSVMIter: sparse batch loader doesn't support round_batch == "
                             "false yet")
        self._width = data_shape[0]
        self._rows = _read_libsvm(os.fspath(data_libsvm), part_index, num_parts,
                                  self._width, "data_libsvm", storage_options)
        n = len(self._rows)
        self._label_rows: _Rows | None = None
        if has_label_file:
            self._label_width = label_shape[0]
            self._label_rows = _read_libsvm(os.fspath(label_libsvm), part_index, num_parts,
                                            self._label_width, "label_libsvm",
                                            storage_options)
        if n and batch_size - min(batch_size, n) > n:
            raise MXNetError(f"LibSVMIter: number of input must be bigger than batch size "
                             f"({n} rows in {data_libsvm}, batch_size={batch_size})")
        self.provide_data = [DataDesc(data_name, (batch_size,) + data_shape, np.float32)]
        lshape = (batch_size,) + (label_shape if has_label_file else ())
        self.provide_label = [DataDesc(label_name, lshape, np.float32)]
        self._pos = 0
        self._overflow = 0
        self._batch: DataBatch | None = None

    def reset(self) -> None:
        if self._overflow == 0:
            self._pos = 0
        else:
            # the rows the last batch borrowed from the start are not served again
            self._overflow = 0

    def iter_next(self) -> bool:
        if self._overflow:
            return False
        n, bs = len(self._rows), self.batch_size
        top = min(bs, n - self._pos)
        if top <= 0:
            return False
        sel = np.arange(self._pos, self._pos + top)
        self._pos += top
        if top < bs:
            need = bs - top
            if need > n:
                raise MXNetError("LibSVMIter: number of input must be bigger than batch size")
            sel = np.concatenate([sel, np.arange(need)])
            self._overflow = need
            self._pos = need
        data = _take_csr(self._rows, sel, self._width)
        if self._label_rows is None:
            label: NDArray = NDArray(self._rows.labels[sel])
        else:
            if int(sel.max()) >= len(self._label_rows):
                raise MXNetError("LibSVMIter: Data LibSVM's row is smaller than the number of "
                                 "rows in label_libsvm (the label file has "
                                 f"{len(self._label_rows)} rows)")
            label = _take_csr(self._label_rows, sel, self._label_width)
        self._batch = DataBatch([data], [label], pad=self._overflow,
                                index=sel.astype(np.uint64))
        return True
