"""Data iterators (``mx.io``): DataDesc, DataBatch, DataIter, NDArrayIter, ResizeIter,
PrefetchingIter and CSVIter, with MXNet 1.9.1's batching, padding and roll-over behaviour.

Batches are assembled with one numpy gather or slice per source, never per sample.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .base import MXNetError, NotSupportedError
from .ndarray.ndarray import NDArray
from .ndarray.sparse import CSRNDArray

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "ResizeIter",
           "PrefetchingIter", "CSVIter"]

_LAST_BATCH_HANDLES = ("pad", "discard", "roll_over")


class IterNotSupportedError(NotSupportedError, NotImplementedError):
    """A combination of inputs MXNet's iterators do not implement (``NotImplementedError``)."""


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one data or label input.

    A ``(name, shape)`` tuple (and equal to one) with ``dtype`` (default float32) and ``layout``
    (default ``'NCHW'``; the position of ``N`` is the batch axis) attached.
    """

    dtype: Any
    layout: str

    def __new__(cls, name: str, shape: tuple[int, ...], dtype: Any = np.float32,
                layout: str = "NCHW") -> DataDesc:
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self) -> str:
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout: str | None) -> int:
        """The batch axis of ``layout`` (the position of 'N'; 0 for None, -1 when absent)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes: Sequence[tuple[str, tuple[int, ...]]],
                 types: Sequence[tuple[str, Any]] | None) -> list[DataDesc]:
        """DataDescs from ``[(name, shape), ...]`` and optionally ``[(name, dtype), ...]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, the number of padding examples at the end
    (``pad``), example ``index``, ``bucket_key`` and optional ``provide_data``/``provide_label``.
    """

    def __init__(self, data: list[NDArray] | None, label: list[NDArray] | None = None,
                 pad: int | None = None, index: Any = None, bucket_key: Any = None,
                 provide_data: list[DataDesc] | None = None,
                 provide_label: list[DataDesc] | None = None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise MXNetError("DataBatch: data must be a list of NDArrays")
        if label is not None and not isinstance(label, (list, tuple)):
            raise MXNetError("DataBatch: label must be a list of NDArrays")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self) -> str:
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lb.shape for lb in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of data iterators: ``next()`` returns a :class:`DataBatch` until the epoch
    ends with ``StopIteration``; ``reset()`` starts the next epoch.
    """

    def __init__(self, batch_size: int = 0):
        self.batch_size = batch_size

    def __iter__(self) -> Iterator[DataBatch]:
        return self

    def reset(self) -> None:
        """Go back to the beginning of the data."""

    def next(self) -> DataBatch:
        """The next batch; raises ``StopIteration`` at the end of the data."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self) -> DataBatch:
        return self.next()

    def iter_next(self) -> bool:
        """Move to the next batch; whether there was one."""
        return False

    def getdata(self) -> list[NDArray] | None:
        """Data of the current batch."""
        return None

    def getlabel(self) -> list[NDArray] | None:
        """Label of the current batch."""
        return None

    def getindex(self) -> np.ndarray | None:
        """Example indices of the current batch, if the iterator knows them."""
        return None

    def getpad(self) -> int | None:
        """Number of padding examples at the end of the current batch."""
        return None


class _WrappedBatches(DataIter):
    """An iterator that serves batches another iterator made, held in ``current_batch``."""

    current_batch: DataBatch

    def getdata(self) -> list[NDArray]:
        return self.current_batch.data

    def getlabel(self) -> list[NDArray]:
        return self.current_batch.label

    def getindex(self) -> Any:
        return self.current_batch.index

    def getpad(self) -> int:
        return self.current_batch.pad


class ResizeIter(_WrappedBatches):
    """Make ``data_iter`` yield exactly ``size`` batches per epoch, restarting it as needed.

    ``reset_internal`` says whether :meth:`reset` also resets the wrapped iterator.
    """

    def __init__(self, data_iter: DataIter, size: int, reset_internal: bool = True):
        super().__init__()
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch: DataBatch | None = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self) -> None:
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self) -> bool:
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True


class PrefetchingIter(_WrappedBatches):
    """Fetch the next batches of one or more iterators in background threads.

    Batches of the iterators are joined (data lists concatenated, label lists concatenated);
    ``rename_data`` / ``rename_label`` are per-iterator ``{old_name: new_name}`` maps.
    Call :meth:`close` (or use ``with``) to stop the threads; they are daemons, and dropping
    the iterator stops them as well.
    """

    def __init__(self, iters: DataIter | list[DataIter],
                 rename_data: list[dict[str, str]] | None = None,
                 rename_label: list[dict[str, str]] | None = None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise MXNetError("PrefetchingIter needs at least one iterator")
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.data_ready = [threading.Event() for _ in range(self.n_iter)]
        self.data_taken = [threading.Event() for _ in range(self.n_iter)]
        for event in self.data_taken:
            event.set()
        self.started = True
        self.current_batch: DataBatch | None = None
        self.next_batch: list[DataBatch | None] = [None] * self.n_iter
        self._errors: list[BaseException | None] = [None] * self.n_iter
        # The threads hold the iterator only weakly, so dropping it stops them.
        ref = weakref.ref(self)
        self.prefetch_threads = [
            threading.Thread(target=_prefetch_loop, args=(ref, i, self.data_taken[i]),
                             daemon=True, name=f"mxlite-prefetch-{i}")
            for i in range(self.n_iter)]
        for thread in self.prefetch_threads:
            thread.start()

    def _fetch(self, i: int) -> None:
        try:
            self.next_batch[i] = self.iters[i].next()
        except StopIteration:
            self.next_batch[i] = None
        except BaseException as err:  # handed to the consumer thread, which re-raises it
            self.next_batch[i] = None
            self._errors[i] = err
        self.data_taken[i].clear()
        self.data_ready[i].set()

    def close(self) -> None:
        """Stop and join the prefetching threads (idempotent)."""
        if not getattr(self, "started", False):
            return
        self.started = False
        for event in self.data_taken:
            event.set()
        for thread in self.prefetch_threads:
            if thread is not threading.current_thread():
                thread.join()

    def __enter__(self) -> PrefetchingIter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def _renamed(self, renames: list[dict[str, str]] | None, attr: str) -> list[DataDesc]:
        if renames is None:
            return sum([getattr(i, attr) for i in self.iters], [])
        out = []
        for rename, it in zip(renames, self.iters):
            for desc in getattr(it, attr):
                if not isinstance(desc, DataDesc):
                    desc = DataDesc(*desc)
                out.append(DataDesc(rename[desc.name], desc.shape, desc.dtype))
        return out

    @property
    def provide_data(self) -> list[DataDesc]:
        return self._renamed(self.rename_data, "provide_data")

    @property
    def provide_label(self) -> list[DataDesc]:
        return self._renamed(self.rename_label, "provide_label")

    def _check_open(self) -> None:
        if not self.started:
            raise MXNetError("PrefetchingIter is closed")

    def reset(self) -> None:
        self._check_open()
        for event in self.data_ready:
            event.wait()
        for it in self.iters:
            it.reset()
        for event in self.data_ready:
            event.clear()
        for event in self.data_taken:
            event.set()

    def iter_next(self) -> bool:
        self._check_open()
        for event in self.data_ready:
            event.wait()
        for i, err in enumerate(self._errors):
            if err is not None:
                self._errors[i] = None
                self.data_ready[i].clear()
                self.data_taken[i].set()
                raise err
        if self.next_batch[0] is None:
            if any(b is not None for b in self.next_batch):
                raise MXNetError("PrefetchingIter: number of batches mismatches between "
                                 "iterators")
            return False
        if any(b is None or b.pad != self.next_batch[0].pad for b in self.next_batch):
            raise MXNetError("PrefetchingIter: number of entries mismatches between iterators")
        self.current_batch = DataBatch(
            sum([b.data for b in self.next_batch], []),
            sum([b.label for b in self.next_batch], []),
            self.next_batch[0].pad, self.next_batch[0].index,
            provide_data=self.provide_data, provide_label=self.provide_label)
        for event in self.data_ready:
            event.clear()
        for event in self.data_taken:
            event.set()
        return True

    def next(self) -> DataBatch:
        if self.iter_next():
            return self.current_batch
        raise StopIteration


def _prefetch_loop(ref: weakref.ref, i: int, taken: threading.Event) -> None:
    """Body of PrefetchingIter's i-th thread: fetch a batch each time the last one is taken."""
    while True:
        # Checked before waiting too: a fetch that ends after close() clears ``taken`` again.
        owner = ref()
        if owner is None or not owner.started:
            return
        del owner
        taken.wait()
        owner = ref()
        if owner is None or not owner.started:
            return
        owner._fetch(i)
        del owner


# ---------------------------------------------------------------------------------------------
# NDArrayIter


def _init_data(data: Any, allow_empty: bool, default_name: str) -> list[tuple[str, NDArray]]:
    """Sources as ``[(name, NDArray), ...]`` sorted by name, as MXNet canonicalises them.

    One array is named ``default_name``; a list of several is named ``_<i>_<default_name>``.
    Anything but an NDArray is copied into a float32 NDArray (``mx.nd.array``'s default).
    """
    from .ndarray.ndarray import array

    if data is None:
        if not allow_empty:
            raise MXNetError(f"NDArrayIter: {default_name} must not be None")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, list):
        if not allow_empty and not data:
            raise MXNetError(f"NDArrayIter: {default_name} must not be an empty list")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise MXNetError(f"NDArrayIter: {default_name} must be an NDArray, numpy.ndarray, a "
                         f"list of them or a dict with them as values, not "
                         f"{type(data).__name__}")
    out = {}
    for k, v in data.items():
        if not isinstance(v, NDArray):
            try:
                v = array(v)
            except MXNetError:
                raise MXNetError(f"NDArrayIter: invalid type {type(v).__name__} for {k!r}; "
                                 "expected NDArray or numpy.ndarray") from None
        if len(v.shape) == 0:
            raise MXNetError(f"NDArrayIter: {k!r} is 0-d; it needs a batch axis")
        out[k] = v
    return sorted(out.items())


def _csr_rows(arr: CSRNDArray, rows: np.ndarray) -> CSRNDArray:
    """Rows ``rows`` (any order, repeats allowed) of a CSR array, gathered without loops."""
    indptr, indices = arr._aux
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    new_indptr = np.zeros(len(rows) + 1, dtype=indptr.dtype)
    np.cumsum(lengths, out=new_indptr[1:])
    pos = np.repeat(starts - new_indptr[:-1], lengths) + np.arange(new_indptr[-1])
    return CSRNDArray(arr._data[pos], new_indptr, indices[pos],
                      (len(rows),) + tuple(arr.shape[1:]), arr.context)


class NDArrayIter(DataIter):
    """Iterate over in-memory arrays (NDArray, numpy, CSRNDArray; or lists / dicts of them).

    Parameters
    ----------
    data, label : array, list of arrays or dict of name -> array
        A single array is named ``data_name`` / ``label_name``; numpy inputs become float32.
    batch_size : int
    shuffle : bool
        Shuffle the examples at every reset (and once at construction).
    last_batch_handle : {'pad', 'discard', 'roll_over'}
        'pad' fills the last batch from the start of the data (``pad`` counts the filler);
        'discard' drops an incomplete last batch; 'roll_over' carries it into the first
        batch of the next epoch.
    data_name, label_name : str
    layout : str
        Where 'N' sits is the axis batches are cut along.
    """

    def __init__(self, data: Any, label: Any = None, batch_size: int = 1,
                 shuffle: bool = False, last_batch_handle: str = "pad",
                 data_name: str = "data", label_name: str = "softmax_label",
                 layout: str = "NCHW"):
        super().__init__(batch_size)
        if last_batch_handle not in _LAST_BATCH_HANDLES:
            raise MXNetError(f"NDArrayIter: last_batch_handle must be one of "
                             f"{_LAST_BATCH_HANDLES}, not {last_batch_handle!r}")
        if int(batch_size) <= 0:
            raise MXNetError(f"NDArrayIter: batch_size must be positive, got {batch_size}")
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        if (any(isinstance(v, CSRNDArray) for _, v in self.data + self.label)
                and last_batch_handle != "discard"):
            raise IterNotSupportedError("`NDArrayIter` only supports ``CSRNDArray`` with "
                                        "`last_batch_handle` set to `discard`.")
        self.idx = np.arange(self.data[0][1].shape[0])
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self.num_data = self.idx.shape[0]
        self.layout = layout
        self._cache_data: list[NDArray] | None = None
        self._cache_label: list[NDArray] | None = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    @property
    def _axis(self) -> int:
        return self.layout.find("N")

    def _descs(self, sources: list[tuple[str, NDArray]]) -> list[DataDesc]:
        axis = self._axis
        return [DataDesc(k, tuple(list(v.shape[:axis]) + [self.batch_size]
                                  + list(v.shape[axis + 1:])),
                         np.dtype(v.dtype).type, layout=self.layout)
                for k, v in sources]

    @property
    def provide_data(self) -> list[DataDesc]:
        """Name, batch shape, dtype and layout of each data source."""
        return self._descs(self.data)

    @property
    def provide_label(self) -> list[DataDesc]:
        """Name, batch shape, dtype and layout of each label source."""
        return self._descs(self.label)

    def hard_reset(self) -> None:
        """Go back to the start, dropping any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self) -> None:
        """Start the next epoch (reshuffling if asked); with 'roll_over' the examples left
        over by the last epoch open the first batch.
        """
        if self.shuffle:
            self._shuffle_data()
        if (self.last_batch_handle == "roll_over"
                and self.num_data - self.batch_size < self.cursor < self.num_data):
            # cursor - num_data is minus the number of examples carried over
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self) -> bool:
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self._axis] != self.batch_size:
            # an incomplete last batch: kept for the next epoch ('roll_over') and not served
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _slice(self, sources: list[tuple[str, NDArray]], start: int, end: int) -> list[NDArray]:
        axis = self._axis
        out = []
        for name, arr in sources:
            if isinstance(arr, CSRNDArray):
                out.append(arr[start:end])
                continue
            size = arr.shape[axis]
            if not 0 <= start <= end <= size:
                raise MXNetError(f"NDArrayIter: cannot take examples [{start}, {end}) of "
                                 f"{name!r}, which has {size} along the batch axis (roll_over "
                                 f"needs at least batch_size={self.batch_size} examples)")
            index = [slice(None)] * arr.ndim
            index[axis] = slice(start, end)
            out.append(NDArray(arr._data[tuple(index)].copy(), arr.context))
        return out

    def _batchify(self, sources: list[tuple[str, NDArray]]) -> list[NDArray]:
        if self.cursor >= self.num_data:
            raise MXNetError("NDArrayIter: DataIter needs reset.")
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            # first batch of an epoch: the examples rolled over, then the data's head
            if self._cache_data is None and self._cache_label is None:
                raise MXNetError("NDArrayIter: next epoch should have cached data")
            use_data = self._cache_data is not None
            cache = self._cache_data if use_data else self._cache_label
            head = self._slice(sources, 0, self.cursor + self.batch_size)
            if use_data:
                self._cache_data = None
            else:
                self._cache_label = None
            if not cache or not head:
                return cache or head
            return [NDArray(np.concatenate([a._data, b._data], axis=self._axis), b.context)
                    for a, b in zip(cache, head)]
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            # the tail, then the data repeated from its start as often as needed
            rows = np.arange(self.cursor, self.cursor + self.batch_size) % self.num_data
            return [NDArray(np.take(arr._data, rows, axis=self._axis), arr.context)
                    for _, arr in sources]
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._slice(sources, self.cursor, end)

    def getdata(self) -> list[NDArray]:
        return self._batchify(self.data)

    def getlabel(self) -> list[NDArray]:
        return self._batchify(self.label)

    def getpad(self) -> int:
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self) -> None:
        # MXNet's order exactly: numpy's global generator permutes ``idx`` in place, and the
        # (already shuffled) data is taken in that order, so np.random.seed reproduces MXNet.
        np.random.shuffle(self.idx)
        self.data = self._gather(self.data, self.idx)
        self.label = self._gather(self.label, self.idx)

    @staticmethod
    def _gather(sources: list[tuple[str, NDArray]],
                order: np.ndarray) -> list[tuple[str, NDArray]]:
        from .ndarray.ndarray import array

        out = []
        for name, arr in sources:
            if isinstance(arr, CSRNDArray):
                out.append((name, _csr_rows(arr, order)))
            else:
                # MXNet re-creates the array with mx.nd.array, which makes it float32.
                out.append((name, array(arr._data[order], arr.context)))
        return out


# ---------------------------------------------------------------------------------------------
# CSVIter

_CSV_DTYPES = {None: np.float32, "None": np.float32, "float32": np.float32,
               "int32": np.int32, "int64": np.int64}


def _read_csv(path: str, dtype: type, what: str) -> np.ndarray:
    """All rows of a CSV file, or of every file in a directory, as a 2-D array."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if os.path.isfile(os.path.join(path, f)))
        parts = [_read_csv(f, dtype, what) for f in files]
        parts = [p for p in parts if p.size]
        if not parts:
            return np.zeros((0, 0), dtype)
        widths = {p.shape[1] for p in parts}
        if len(widths) != 1:
            raise MXNetError(f"CSVIter: the files of {what} {path!r} have different row "
                             f"lengths {sorted(widths)}")
        return np.concatenate(parts)
    try:
        with open(path, encoding="latin-1") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except OSError as err:
        raise MXNetError(f"CSVIter: cannot read {what} {path!r}: {err}") from None
    if not lines:
        return np.zeros((0, 0), dtype)
    try:
        # Integers parse as integers so that int64 values stay exact.
        rows = np.loadtxt(lines, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as err:
        raise MXNetError(f"CSVIter: {what} {path!r} is not a CSV of numbers with rows of "
                         f"equal length: {err}") from None
    return rows


class CSVIter(DataIter):
    """Iterate over CSV files of numbers (``mx.io.CSVIter``).

    Each row of ``data_csv`` (a file, or a directory whose files are read in name order) is
    one example of shape ``data_shape``; ``label_csv`` likewise (all labels are 0 when absent).
    Labels of one element come in batches of shape ``(batch_size,)``.

    With ``round_batch`` (default) the last batch is completed from the start of the data and
    the next epoch begins after the examples so borrowed, as MXNet's does. Without it the
    last batch is completed with the rows of the previous batch, and ``pad`` counts them.
    ``dtype`` is 'float32' (default), 'int32' or 'int64'.
    """

    def __init__(self, data_csv: str, data_shape: Sequence[int], batch_size: int,
                 label_csv: str | None = None, label_shape: Sequence[int] = (1,),
                 round_batch: bool = True, dtype: str | None = None,
                 data_name: str = "data", label_name: str = "softmax_label",
                 prefetch_buffer: int = 4, ctx: str = "gpu", **kwargs: Any):
        super().__init__(int(batch_size))
        if kwargs:
            raise MXNetError(f"CSVIter: unknown arguments {sorted(kwargs)}")
        if dtype not in _CSV_DTYPES:
            raise MXNetError(f"CSVIter: dtype {dtype!r} is not supported; expected one of "
                             "'float32', 'int32', 'int64'")
        if self.batch_size <= 0:
            raise MXNetError(f"CSVIter: batch_size must be positive, got {batch_size}")
        np_dtype = _CSV_DTYPES[dtype]
        data_shape = tuple(int(d) for d in data_shape)
        label_shape = tuple(int(d) for d in label_shape)
        self.round_batch = bool(round_batch)
        self._data = self._load(data_csv, data_shape, np_dtype, "data_csv")
        n = self._data.shape[0]
        if label_csv is None or label_csv == "NULL":
            label_shape = (1,)
            self._label = np.zeros((n,) + label_shape, np_dtype)
        else:
            self._label = self._load(label_csv, label_shape, np_dtype, "label_csv")
            if self._label.shape[0] < n:
                raise MXNetError(f"CSVIter: label_csv {label_csv!r} has {self._label.shape[0]}"
                                 f" rows, fewer than the {n} of data_csv {data_csv!r}")
            self._label = self._label[:n]
        if int(np.prod(label_shape)) == 1:
            self._label = self._label.reshape(n)
        if n == 0:
            raise MXNetError(f"CSVIter: data_csv {data_csv!r} has no rows")
        bs = self.batch_size
        self.provide_data = [DataDesc(data_name, (bs,) + data_shape, np_dtype)]
        self.provide_label = [DataDesc(label_name, (bs,) + self._label.shape[1:], np_dtype)]
        # The batch buffer MXNet's BatchLoader reuses: an incomplete batch shows its old rows.
        self._rows = np.zeros(bs, dtype=np.int64)
        self._have_rows = np.zeros(bs, dtype=bool)
        self._start = 0
        self._pos = 0
        self._overflow = 0
        self._batch: DataBatch | None = None

    @staticmethod
    def _load(path: str, shape: tuple[int, ...], dtype: type, what: str) -> np.ndarray:
        rows = _read_csv(path, dtype, what)
        size = int(np.prod(shape))
        if rows.size and rows.shape[1] != size:
            raise MXNetError(f"CSVIter: The data size in CSV do not match size of shape: "
                             f"specified shape={list(shape)}, the csv row-length="
                             f"{rows.shape[1]} ({what} {path!r})")
        return rows.reshape((rows.shape[0],) + shape)

    def reset(self) -> None:
        if self.round_batch and self._overflow:
            # the examples the last batch borrowed from the start are not served again
            self._start = self._overflow
        else:
            self._start = 0
        self._pos = self._start
        self._overflow = 0

    def iter_next(self) -> bool:
        n, bs = self._data.shape[0], self.batch_size
        if self._overflow or self._pos >= n:
            return False
        top = min(bs, n - self._pos)
        rows = np.arange(self._pos, self._pos + top)
        self._pos += top
        pad = bs - top
        if pad:
            if self.round_batch:
                if pad > n:
                    raise MXNetError(f"CSVIter: number of input must be bigger than batch size"
                                     f" ({n} examples, batch_size={bs})")
                rows = np.concatenate([rows, np.arange(pad)])
                self._overflow = pad
            else:
                rows = np.concatenate([rows, self._rows[top:]])
        self._have_rows[:top] = True
        valid = self._have_rows if pad and not self.round_batch else np.ones(bs, dtype=bool)
        self._rows = rows
        data = np.take(self._data, rows, axis=0)
        label = np.take(self._label, rows, axis=0)
        if not valid.all():
            # rows never filled in MXNet's buffer are zeros here
            data[~valid] = 0
            label[~valid] = 0
        self._batch = DataBatch([NDArray(data)], [NDArray(label)], pad,
                                rows.astype(np.uint64))
        return True

    def next(self) -> DataBatch:
        if self.iter_next():
            return self._batch
        raise StopIteration

    def getdata(self) -> NDArray:
        return self._batch.data[0]

    def getlabel(self) -> NDArray:
        return self._batch.label[0]

    def getindex(self) -> np.ndarray:
        return self._batch.index

    def getpad(self) -> int:
        return self._batch.pad


from ._io_formats import LibSVMIter, MNISTIter  # noqa: E402,F401
from .image.record_iter import *  # noqa: E402,F401,F403 (ImageRecordIter and friends)
