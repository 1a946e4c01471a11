"""Datasets (``mx.gluon.data.dataset``): indexable collections of samples.

A dataset is anything with ``__len__`` and ``__getitem__``; :class:`Dataset` adds MXNet's
combinators (``transform``, ``transform_first``, ``filter``, ``shard``, ``take``,
``sample``). Every helper object here is a module-level class, so datasets pickle and can be
sent to DataLoader worker processes that are not forked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from ...ndarray.ndarray import NDArray
from ._errors import DataTypeError, DataValueError
from .sampler import FilterSampler, Sampler, SequentialSampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset: subclasses define ``__getitem__`` (the i-th sample) and ``__len__``.

    .. note:: An NDArray or a numpy array can be used directly as a dataset.
    """

    def __getitem__(self, idx: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def filter(self, fn: Callable[[Any], bool]) -> Dataset:
        """A dataset of the samples for which ``fn(sample)`` is true.

        ``fn`` sees every sample now; a lazily transformed dataset is transformed again when
        a sample is read from the result.
        """
        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards: int, index: int) -> Dataset:
        """The ``index``-th of ``num_shards`` contiguous, near-equal parts of this dataset.

        The first ``len(self) % num_shards`` shards hold one sample more than the others.
        Shard before shuffling if every worker of a distributed job must see its own subset.
        """
        if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards <= 0:
            raise DataValueError(f"shard: num_shards must be a positive integer, got "
                                 f"{num_shards!r}")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < num_shards:
            raise DataValueError(f"shard: index must be in [0, {num_shards}), got {index!r}")
        length = len(self)
        shard_len, rest = divmod(length, num_shards)
        start = shard_len * index + min(index, rest)
        size = shard_len + (index < rest)
        return _SampledDataset(self, SequentialSampler(size, start))

    def take(self, count: int | None) -> Dataset:
        """A dataset of the first ``count`` samples (all of them when ``count`` is None or
        larger than the dataset)."""
        if count is None or count > len(self):
            count = len(self)
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler: Sampler) -> Dataset:
        """A dataset of the samples at the indices ``sampler`` yields (drawn once, now)."""
        if not isinstance(sampler, Sampler):
            raise DataTypeError(f"Invalid sampler type: {type(sampler)}. Expected "
                                "gluon.data.Sampler instead.")
        return _SampledDataset(self, sampler)

    def transform(self, fn: Callable[..., Any], lazy: bool = True) -> Dataset:
        """A dataset whose samples are ``fn(*sample)`` (``fn(sample)`` for non-tuples).

        With ``lazy=False`` every sample is transformed now and kept, so a random ``fn``
        gives the same result in every epoch.
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn: Callable[[Any], Any], lazy: bool = True) -> Dataset:
        """As :meth:`transform`, applied to the first element of each sample only (the
        data, leaving the label as it is)."""
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """A dataset over any object with ``len()`` and ``[]`` (a list, an array...)."""

    def __init__(self, data: Any):
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx: int) -> Any:
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """Applies ``fn`` to each sample as it is read."""

    def __init__(self, data: Any, fn: Callable[..., Any]):
        if not callable(fn):
            raise DataTypeError(f"transform: fn must be callable, got {type(fn).__name__}")
        self._data = data
        self._fn = fn

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx: int) -> Any:
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """``fn`` on the first element of a sample (a class, not a closure, so it pickles)."""

    def __init__(self, fn: Callable[[Any], Any]):
        if not callable(fn):
            raise DataTypeError(f"transform_first: fn must be callable, got "
                                f"{type(fn).__name__}")
        self._fn = fn

    def __call__(self, x: Any, *args: Any) -> Any:
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices ``sampler`` gave when this was made."""

    def __init__(self, dataset: Any, sampler: Sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, idx: int) -> Any:
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """Zips several dataset-like objects (Datasets, lists, NDArrays, numpy arrays).

    The i-th sample is ``(x1[i], x2[i], ...)``, or ``x1[i]`` when there is one argument.
    A 1-D NDArray is kept as numpy, so its samples are numpy scalars, as in MXNet.

    Parameters
    ----------
    *args : one or more dataset-like objects of the same length
        The data arrays.
    """

    def __init__(self, *args: Any):
        if not args:
            raise DataValueError("ArrayDataset: needs at least 1 array")
        lengths = []
        for i, data in enumerate(args):
            try:
                lengths.append(len(data))
            except TypeError:
                raise DataTypeError(f"ArrayDataset: argument {i} ({type(data).__name__}) has "
                                    "no length; expected a list, an array or a Dataset") from None
        self._length = lengths[0]
        self._data = []
        for i, (data, n) in enumerate(zip(args, lengths)):
            if n != self._length:
                raise DataValueError(
                    "All arrays must have the same length; array[0] has length "
                    f"{self._length} while array[{i}] has {n}.")
            if isinstance(data, NDArray) and data.ndim == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx: int) -> Any:
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self) -> int:
        return self._length


class RecordFileDataset(Dataset):
    """A dataset over a RecordIO (``.rec``) file and its ``.idx`` index: each sample is the
    raw bytes of one record, in the index's order.

    The dataset pickles (the copy opens the files again) and a forked DataLoader worker
    reopens them on first use, so worker processes never share a file position.

    Parameters
    ----------
    filename : str
        Path (or fsspec URI) of the ``.rec`` file; the index is the same path with ``.idx``.
    """

    def __init__(self, filename: str):
        from ...recordio import MXIndexedRecordIO

        filename = os.fspath(filename)
        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx: int) -> Any:
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self) -> int:
        return len(self._record.keys)


class _DownloadedDataset(Dataset):
    """Base of the datasets that live as files in a ``root`` folder (MNIST, CIFAR...).

    Subclasses fill ``_data`` (an NDArray) and ``_label`` in ``_get_data``.
    """

    def __init__(self, root: str, transform: Callable[..., Any] | None):
        super().__init__()
        self._transform = transform
        self._data: Any = None
        self._label: Any = None
        self._root = os.path.expanduser(root)
        self._get_data()

    def __getitem__(self, idx: int) -> Any:
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self) -> int:
        return len(self._label)

    def _get_data(self) -> None:
        raise NotImplementedError
