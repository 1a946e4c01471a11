"""Samplers (``mx.gluon.data.sampler``): the orders in which a DataLoader visits a dataset.

A sampler is an iterable of sample indices with a length. As in MXNet 1.9.1,
:class:`RandomSampler` shuffles with numpy's global generator (``np.random.shuffle``), so
``np.random.seed(n)`` gives the very order MXNet gives for the same seed.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._errors import DataAssertionError, DataValueError

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler"]

_LAST_BATCH = ("keep", "discard", "rollover")


def _count(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Sampler:
    """Base class for samplers: subclasses define ``__iter__`` and ``__len__``."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Samples ``start, start + 1, ..., start + length - 1`` in order.

    Parameters
    ----------
    length : int
        Number of indices.
    start : int, default 0
        The first index.
    """

    def __init__(self, length: int, start: int = 0):
        self._length = _count(length, "SequentialSampler: length")
        self._start = _count(start, "SequentialSampler: start")

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._start, self._start + self._length))

    def __len__(self) -> int:
        return self._length


class RandomSampler(Sampler):
    """Samples ``[0, length)`` in a random order, without replacement.

    Each pass draws a new permutation from numpy's global generator, exactly as MXNet does
    (the indices are numpy ``int64`` values, as MXNet's are).

    Parameters
    ----------
    length : int
        Number of indices.
    """

    def __init__(self, length: int):
        self._length = _count(length, "RandomSampler: length")

    def __iter__(self) -> Iterator[np.int64]:
        indices = np.arange(self._length)
        np.random.shuffle(indices)
        return iter(indices)

    def __len__(self) -> int:
        return self._length


class FilterSampler(Sampler):
    """Samples the indices of ``dataset`` whose sample ``fn`` accepts.

    ``fn`` sees every sample once, when the sampler is made.

    Parameters
    ----------
    fn : callable
        Takes a sample (a tuple stays one argument) and returns a bool.
    dataset : Dataset
        The dataset to filter.
    """

    def __init__(self, fn: Callable[[Any], bool], dataset: Any):
        if not callable(fn):
            raise DataValueError(f"FilterSampler: fn must be callable, got {type(fn).__name__}")
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i in range(len(dataset)) if fn(dataset[i])]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices)

    def __len__(self) -> int:
        return len(self._indices)


class BatchSampler(Sampler):
    """Groups the indices of another sampler into mini-batches (lists).

    Parameters
    ----------
    sampler : Sampler
        The source of indices.
    batch_size : int
        Size of a mini-batch.
    last_batch : {'keep', 'discard', 'rollover'}
        What to do when ``batch_size`` does not divide the sampler's length: 'keep' yields a
        short last batch, 'discard' drops it, and 'rollover' carries its indices over to the
        start of the next pass.

    Examples
    --------
    >>> list(BatchSampler(SequentialSampler(10), 3, 'keep'))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Any, batch_size: int, last_batch: str = "keep"):
        if last_batch not in _LAST_BATCH:
            raise DataValueError("last_batch must be one of 'keep', 'discard', or 'rollover', "
                                 f"but got {last_batch!r}")
        self._sampler = sampler
        self._batch_size = _count(batch_size, "BatchSampler: batch_size", 1)
        self._last_batch = last_batch
        self._prev: list[Any] = []

    def __iter__(self) -> Iterator[list[Any]]:
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch

    def __len__(self) -> int:
        n, size = len(self._sampler), self._batch_size
        if self._last_batch == "keep":
            return (n + size - 1) // size
        if self._last_batch == "discard":
            return n // size
        return (len(self._prev) + n) // size


class IntervalSampler(Sampler):
    """Samples ``[0, length)`` at a fixed stride (MXNet's ``gluon.contrib.data`` sampler).

    Parameters
    ----------
    length : int
        Length of the sequence.
    interval : int
        The stride between two consecutive indices.
    rollover : bool, default True
        After reaching the end, start again from the first skipped index until every index
        has been visited; if False, stop at the end.

    Examples
    --------
    >>> list(IntervalSampler(13, interval=3))
    [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    >>> list(IntervalSampler(13, interval=3, rollover=False))
    [0, 3, 6, 9, 12]
    """

    def __init__(self, length: int, interval: int, rollover: bool = True):
        self._length = _count(length, "IntervalSampler: length")
        self._interval = _count(interval, "IntervalSampler: interval", 1)
        if self._interval > self._length:
            raise DataAssertionError(f"IntervalSampler: interval {interval} must be smaller than "
                                     f"or equal to length {length}")
        self._rollover = bool(rollover)

    def __iter__(self) -> Iterator[int]:
        for first in range(self._interval if self._rollover else 1):
            yield from range(first, self._length, self._interval)

    def __len__(self) -> int:
        # MXNet reports ``length`` even without rollover; this is the number of indices yielded.
        if self._rollover:
            return self._length
        return len(range(0, self._length, self._interval))
