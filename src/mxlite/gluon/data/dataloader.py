"""DataLoader (``mx.gluon.data.DataLoader``): mini-batches from a dataset, optionally loaded by
worker processes or threads.

With ``num_workers > 0`` the batches are made in ``num_workers`` worker processes (forked on
Linux, so the dataset and transforms need not pickle; spawned elsewhere), or threads with
``thread_pool=True``. Results come back in the sampler's order. Arrays travel from a worker
process as numpy pickles (one copy through a pipe) and come back as NDArrays on
``cpu_shared(0)``, the context MXNet gives them.

What differs from MXNet 1.9.1, on purpose:

- an exception in a worker is raised in the main process as an :class:`~mxlite.MXNetError`
  naming the sample index (and carrying the worker's traceback); a worker that dies (killed,
  out of memory) is reported at once instead of after ``timeout`` seconds, and the next
  epoch starts fresh workers;
- each worker process reseeds numpy's global generator, ``random`` and ``mx.random`` from a
  seed derived from the main process's numpy state (without drawing from it, so
  ``np.random.seed`` still gives MXNet's shuffling order): random augmentations differ
  between workers, where MXNet's forked workers all repeated the same draws.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import multiprocessing
import multiprocessing.connection
import numbers
import pickle
import random as _pyrandom
import signal
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout
from typing import Any

import numpy as np

from ... import random as _mxrandom
from ...base import MXNetError
from ...context import Context, cpu_pinned
from ...ndarray import ndarray as _nd
from ...ndarray.ndarray import NDArray
from ...util import is_np_shape, set_np_shape
from . import sampler as _sampler
from ._errors import DataValueError

__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn"]

_SHARED = Context("cpu_shared", 0)


class DataLoaderTimeoutError(MXNetError, multiprocessing.TimeoutError):
    """No batch arrived within ``timeout`` seconds (MXNet raises ``multiprocessing``'s
    ``TimeoutError``)."""


# ------------------------------------------------------------------------------- batchify


def _stack_samples(data: Sequence[Any], ctx: Context | None) -> Any:
    first = data[0]
    if isinstance(first, NDArray):
        out = _nd.stack(*data)
    elif isinstance(first, tuple):
        return [_stack_samples(field, ctx) for field in zip(*data)]
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise MXNetError(f"default_batchify_fn: samples of type {type(first).__name__} "
                             f"do not stack into one array: {e}") from None
        if arr.dtype.kind not in "biuf":
            raise MXNetError(f"default_batchify_fn: samples of type {type(first).__name__} "
                             f"make a numpy array of dtype {arr.dtype}, which has no NDArray "
                             "dtype; pass a batchify_fn that handles them")
        out = _nd.array(arr, dtype=arr.dtype)
    if ctx is not None:
        out = NDArray(out._data, ctx)
    return out


def default_batchify_fn(data: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as MXNet's ``default_batchify_fn``.

    NDArray samples are stacked with ``nd.stack``; tuple samples give a list with one batch
    per field; anything else goes through ``numpy.asarray`` and becomes an NDArray of the
    same dtype (Python ints give int64, Python floats float64).
    """
    return _stack_samples(data, None)


def default_mp_batchify_fn(data: Sequence[Any]) -> Any:
    """:func:`default_batchify_fn` for worker processes and threads: the batches are on
    ``cpu_shared(0)``, as MXNet puts them."""
    return _stack_samples(data, _SHARED)


def _as_in_context(data: Any, ctx: Context) -> Any:
    """Move the NDArrays of a batch to ``ctx`` (lists and tuples both become lists, as MXNet
    returns them)."""
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return [_as_in_context(d, ctx) for d in data]
    return data


# ------------------------------------------------------------------------------- workers


class _BatchError(Exception):
    """A sample or the batchify step failed inside a worker; ``where`` names which."""

    def __init__(self, where: str, cause: BaseException):
        super().__init__(where, f"{type(cause).__name__}: {cause}")
        self.where = where
        self.cause = f"{type(cause).__name__}: {cause}"


def _index_text(i: Any) -> str:
    return str(int(i)) if isinstance(i, numbers.Integral) else repr(i)


def _load_batch(dataset: Any, batchify_fn: Callable[[list], Any], samples: list) -> Any:
    items = []
    for i in samples:
        try:
            items.append(dataset[i])
        except Exception as e:
            raise _BatchError(f"sample index {_index_text(i)}", e) from e
    try:
        return batchify_fn(items)
    except Exception as e:
        indices = ", ".join(_index_text(i) for i in samples)
        raise _BatchError(f"batchify_fn on the samples at indices [{indices}]", e) from e


def _rebuild_ndarray(data: np.ndarray) -> NDArray:
    return NDArray(data, _SHARED)


class _BatchPickler(pickle.Pickler):
    """Sends dense NDArrays as their numpy buffers (protocol 5: one copy, no re-encoding)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, NDArray) and obj.stype == "default" and obj._data is not None:
            return _rebuild_ndarray, (obj._data,)
        return NotImplemented


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _BatchPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _worker_loop(conn: Any, dataset: Any, batchify_fn: Callable[[list], Any], seed: int,
                 np_shape: bool, inherited: list) -> None:
    """A worker process: answer ``(key, samples)`` requests until ``None`` or end of pipe."""
    # Ctrl-C is for the main process, which shuts the workers down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked child holds copies of the main process's pipe ends; close them so that the
    # death of the main process reaches this worker as end-of-file.
    for c in inherited:
        c.close()
    np.random.seed(seed & 0xFFFFFFFF)
    _pyrandom.seed(seed)
    _mxrandom.seed(seed)
    set_np_shape(np_shape)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        key, samples = msg
        try:
            reply = _dumps((key, True, _load_batch(dataset, batchify_fn, samples)))
        except _BatchError as e:
            tb = "".join(traceback.format_exception(e.__cause__))
            reply = pickle.dumps((key, False, (e.where, e.cause, tb)))
        except Exception as e:
            reply = pickle.dumps((key, False, (
                "sending the batch back", f"{type(e).__name__}: {e} (the batch must pickle)",
                traceback.format_exc())))
        try:
            conn.send_bytes(reply)
        except (BrokenPipeError, OSError):
            return


def _start_method() -> str:
    # Fork keeps MXNet's behaviour: lambdas and open files in the dataset just work. Where
    # fork is unavailable or unsafe (Windows, macOS) the dataset must pickle.
    if sys.platform.startswith("linux"):
        return "fork"
    return multiprocessing.get_start_method()


def _worker_seeds(n: int) -> list[int]:
    state = np.random.get_state()
    digest = hashlib.sha256(state[1].tobytes() + str(state[2]).encode()).digest()
    seq = np.random.SeedSequence(int.from_bytes(digest[:16], "little"))
    return [int(s.generate_state(1, np.uint64)[0]) for s in seq.spawn(n)]


class _ProcessPool:
    """``num_workers`` processes, each with its own pipe; tasks go to the least busy one."""

    kind = "process"

    def __init__(self, dataset: Any, batchify_fn: Callable[[list], Any], num_workers: int):
        ctx = multiprocessing.get_context(_start_method())
        fork = ctx.get_start_method() == "fork"
        pipes = [ctx.Pipe(duplex=True) for _ in range(num_workers)]
        self._procs: list[Any] = []
        self._conns = [parent for parent, _ in pipes]
        self._busy: list[dict[Any, list]] = [{} for _ in range(num_workers)]
        self._results: dict[Any, tuple[bool, Any]] = {}
        self._dropped: set[Any] = set()
        self.closed = False
        try:
            for k, (seed, (_, child)) in enumerate(zip(_worker_seeds(num_workers), pipes)):
                inherited = ([c for j, (p, c) in enumerate(pipes) if j != k] + self._conns
                             if fork else [])
                proc = ctx.Process(
                    target=_worker_loop, name=f"mxlite-DataLoader-worker-{k}", daemon=True,
                    args=(child, dataset, batchify_fn, seed, is_np_shape(), inherited))
                proc.start()
                self._procs.append(proc)
        except Exception as e:
            self.close()
            raise MXNetError(f"DataLoader: could not start worker processes ({type(e).__name__}"
                             f": {e}); with the {ctx.get_start_method()!r} start method the "
                             "dataset and batchify_fn must pickle") from e
        finally:
            for _, child in pipes:
                child.close()

    def submit(self, key: Any, samples: list) -> None:
        k = min(range(len(self._procs)), key=lambda j: len(self._busy[j]))
        try:
            self._conns[k].send((key, list(samples)))
        except OSError:
            self._worker_died(k)
        self._busy[k][key] = samples

    def get(self, key: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while key not in self._results:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DataLoaderTimeoutError(
                    f"DataLoader: worker timed out after {timeout} seconds. A slow transform? "
                    "Increase timeout, or use fewer workers if memory is short")
            conns = [c for c in self._conns if not c.closed]
            ready = multiprocessing.connection.wait(
                conns + [p.sentinel for p in self._procs], timeout=remaining)
            for k, conn in enumerate(self._conns):
                if conn in ready and not self._receive(k):
                    self._worker_died(k)
            for k, proc in enumerate(self._procs):
                if proc.sentinel in ready and key not in self._results:
                    while self._conns[k].poll() and self._receive(k):
                        pass  # results it sent before it died
                    self._worker_died(k)
        ok, payload = self._results.pop(key)
        if not ok:
            where, cause, tb = payload
            raise MXNetError(f"DataLoader worker process failed on {where}: {cause}\n\n"
                             f"Traceback in the worker:\n{tb}")
        return payload

    def _receive(self, k: int) -> bool:
        """Read one reply from worker ``k``; False at end of pipe (the worker is gone)."""
        try:
            key, ok, payload = pickle.loads(self._conns[k].recv_bytes())
        except (EOFError, OSError):
            return False  # its sentinel reports the death
        self._busy[k].pop(key, None)
        if key in self._dropped:
            self._dropped.discard(key)
        else:
            self._results[key] = (ok, payload)
        return True

    def _worker_died(self, k: int) -> None:
        proc = self._procs[k]
        proc.join(0.5)
        lost = "; ".join(", ".join(_index_text(i) for i in s) for s in self._busy[k].values())
        self.close()
        raise MXNetError(
            f"DataLoader worker process {k} (pid {proc.pid}) exited unexpectedly with exit "
            f"code {proc.exitcode} while loading the samples at indices {lost or '(none)'}; "
            "killed by the system (out of memory?) or by a crash in the dataset. The next "
            "epoch starts new workers")

    def discard(self, keys: Sequence[Any]) -> None:
        for key in keys:
            if self._results.pop(key, None) is None:
                self._dropped.add(key)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for k, (conn, proc) in enumerate(zip(self._conns, self._procs)):
            if self._busy[k]:
                proc.terminate()  # its batches are not wanted any more; don't wait for them
                continue
            try:
                conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        for proc in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(1.0)
        for conn in self._conns:
            conn.close()


def _thread_init(np_shape: bool) -> None:
    set_np_shape(np_shape)


class _ThreadPool:
    """``num_workers`` threads sharing the dataset object."""

    kind = "thread"

    def __init__(self, dataset: Any, batchify_fn: Callable[[list], Any], num_workers: int):
        self._dataset = dataset
        self._batchify_fn = batchify_fn
        self._executor = ThreadPoolExecutor(num_workers, "mxlite-DataLoader",
                                            initializer=_thread_init, initargs=(is_np_shape(),))
        self._futures: dict[Any, Any] = {}
        self.closed = False

    def submit(self, key: Any, samples: list) -> None:
        self._futures[key] = self._executor.submit(
            _load_batch, self._dataset, self._batchify_fn, samples)

    def get(self, key: Any, timeout: float) -> Any:
        future = self._futures[key]
        try:
            batch = future.result(timeout)
        except _FutureTimeout:
            raise DataLoaderTimeoutError(
                f"DataLoader: worker timed out after {timeout} seconds. A slow transform? "
                "Increase timeout") from None
        except _BatchError as e:
            raise MXNetError(f"DataLoader worker thread failed on {e.where}: {e.cause}"
                             ) from e.__cause__
        finally:
            if future.done():
                del self._futures[key]
        return batch

    def discard(self, keys: Sequence[Any]) -> None:
        for key in keys:
            future = self._futures.pop(key, None)
            if future is not None:
                future.cancel()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)


_ITER_SERIAL = itertools.count()


class _MultiWorkerIter:
    """One pass over the batch sampler with the batches made by a worker pool, in order."""

    def __init__(self, pool: Any, batch_sampler: Any, prefetch: int, timeout: float,
                 pin_memory: bool, pin_device_id: int):
        self._pool = pool
        self._batch_sampler = batch_sampler
        self._iter = iter(batch_sampler)
        self._serial = next(_ITER_SERIAL)
        self._sent = 0
        self._rcvd = 0
        self._timeout = timeout
        self._pin = cpu_pinned(pin_device_id) if pin_memory else None
        for _ in range(prefetch):
            self._push_next()

    def __len__(self) -> int:
        return len(self._batch_sampler)

    def _push_next(self) -> None:
        samples = next(self._iter, None)
        if samples is None:
            return
        self._pool.submit((self._serial, self._sent), samples)
        self._sent += 1

    def __iter__(self) -> _MultiWorkerIter:
        return self

    def __next__(self) -> Any:
        self._push_next()
        if self._rcvd == self._sent:
            raise StopIteration
        try:
            batch = self._pool.get((self._serial, self._rcvd), self._timeout)
        except BaseException:
            self.close()
            raise
        self._rcvd += 1
        if self._pin is not None:
            batch = _as_in_context(batch, self._pin)
        return batch

    next = __next__

    def close(self) -> None:
        """Forget the batches still being made (an epoch left early)."""
        if self._rcvd < self._sent and not self._pool.closed:
            self._pool.discard([(self._serial, i) for i in range(self._rcvd, self._sent)])
        self._rcvd = self._sent

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


# ------------------------------------------------------------------------------- DataLoader


class DataLoader:
    """Loads data from a dataset and returns mini-batches of data.

    Parameters
    ----------
    dataset : Dataset
        Source dataset. NDArrays and numpy arrays can be used directly as datasets.
    batch_size : int
        Size of a mini-batch.
    shuffle : bool
        Whether to shuffle the samples (with numpy's global generator, as MXNet).
    sampler : Sampler
        The sampler to use. Either specify sampler or shuffle, not both.
    last_batch : {'keep', 'discard', 'rollover'}
        How to handle the last batch if batch_size does not divide ``len(dataset)``: 'keep'
        returns a smaller batch, 'discard' drops it, 'rollover' carries its samples over to
        the next epoch.
    batch_sampler : Sampler
        A sampler that returns mini-batches. Do not specify batch_size, shuffle, sampler and
        last_batch with it.
    batchify_fn : callable
        Merges a list of samples into a batch. Defaults to :func:`default_batchify_fn`
        (:func:`default_mp_batchify_fn` with workers).
    num_workers : int, default 0
        Number of worker processes (threads with ``thread_pool``) that make the batches.
    pin_memory : bool, default False
        Return the batches on ``cpu_pinned(pin_device_id)``.
    pin_device_id : int, default 0
        The device id of the pinned context.
    prefetch : int, default ``2 * num_workers``
        Number of batches requested from the workers ahead of the one being read.
    thread_pool : bool, default False
        Use threads instead of processes.
    timeout : int, default 120
        Seconds to wait for one batch from the workers before raising.
    auto_reload : bool, default False
        Start loading the next epoch's first batches as soon as an epoch ends (and at
        construction).
    try_nopython : bool or None
        MXNet 2's C++ loading pipeline; accepted and ignored (loading is always Python here).
    """

    def __init__(self, dataset: Any, batch_size: int | None = None, shuffle: bool = False,
                 sampler: Any = None, last_batch: str | None = None, batch_sampler: Any = None,
                 batchify_fn: Callable[[list], Any] | None = None, num_workers: int = 0,
                 pin_memory: bool = False, pin_device_id: int = 0, prefetch: int | None = None,
                 thread_pool: bool = False, timeout: float = 120, auto_reload: bool = False,
                 try_nopython: bool | None = None):
        self._dataset = dataset
        self._pin_memory = bool(pin_memory)
        self._pin_device_id = int(pin_device_id)
        self._thread_pool = bool(thread_pool)
        if not timeout > 0:
            raise DataValueError(f"DataLoader: timeout must be positive, given {timeout}")
        self._timeout = timeout

        if batch_sampler is None:
            if batch_size is None:
                raise DataValueError("batch_size must be specified unless batch_sampler is "
                                     "specified")
            if sampler is None:
                if shuffle:
                    sampler = _sampler.RandomSampler(len(dataset))
                else:
                    sampler = _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise DataValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size,
                                                  last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or \
                last_batch is not None:
            raise DataValueError("batch_size, shuffle, sampler and last_batch must not be "
                                 "specified if batch_sampler is specified.")

        self._batch_sampler = batch_sampler
        self._num_workers = max(0, int(num_workers))
        self._prefetch = max(0, int(prefetch) if prefetch is not None
                             else 2 * self._num_workers)
        if batchify_fn is None:
            batchify_fn = default_mp_batchify_fn if self._num_workers > 0 \
                else default_batchify_fn
        self._batchify_fn = batchify_fn
        self._worker_pool: Any = None
        self._finalizer: Any = None
        if self._num_workers > 0:
            self._start_pool()
        self._iter: Any = None
        self.auto_reload = auto_reload
        if self.auto_reload:
            self.refresh()

    def _start_pool(self) -> None:
        cls = _ThreadPool if self._thread_pool else _ProcessPool
        self._worker_pool = cls(self._dataset, self._batchify_fn, self._num_workers)
        self._finalizer = weakref.finalize(self, self._worker_pool.close)

    def __iter__(self) -> Iterator[Any]:
        if self._iter is None:
            self.refresh()
        it, self._iter = self._iter, None  # one prefetched pass serves one loop only
        try:
            yield from it
        finally:
            if isinstance(it, _MultiWorkerIter):
                it.close()
        if self._iter is None and self.auto_reload:
            self.refresh()

    def _prefetch_iter(self) -> Iterator[Any]:
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._worker_pool is None or self._worker_pool.closed:
            self._start_pool()  # the previous workers died
        return _MultiWorkerIter(self._worker_pool, self._batch_sampler, self._prefetch,
                                self._timeout, self._pin_memory, self._pin_device_id)

    def _same_process_iter(self) -> Iterator[Any]:
        pin = cpu_pinned(self._pin_device_id) if self._pin_memory else None
        for batch in self._batch_sampler:
            ret = self._batchify_fn([self._dataset[idx] for idx in batch])
            if pin is not None:
                ret = _as_in_context(ret, pin)
            yield ret

    def __len__(self) -> int:
        return len(self._batch_sampler)

    def refresh(self) -> None:
        """Start a new pass now (with workers, its first batches start loading)."""
        if isinstance(self._iter, _MultiWorkerIter):
            self._iter.close()
        self._iter = self._prefetch_iter()

    def clean(self) -> None:
        """Drop the prefetched pass; the next loop starts loading when it begins."""
        if isinstance(self._iter, _MultiWorkerIter):
            self._iter.close()
        self._iter = None

    def close(self) -> None:
        """Stop the workers now (they also stop when the DataLoader is garbage-collected)."""
        self.clean()
        if self._finalizer is not None:
            self._finalizer()

    def __del__(self) -> None:
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
