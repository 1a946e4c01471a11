"""The distributed stores: ``dist_sync``, ``dist_device_sync``, ``dist_async`` and
``horovod`` over MPI (``mpi4py``; ``pip install 'mxlite[dist]'`` brings it with the ``mpich``
wheel, so no system MPI is needed).

How they work
-------------
There are no parameter servers. Every worker (MPI process) keeps a replica of the store:

- ``init`` / ``broadcast`` take rank 0's value (``MPI_Bcast``), as MXNet's workers take the
  value rank 0 pushed to the servers;
- ``push`` sums the key's arrays over this worker's devices, then over all workers with
  ``MPI_Allreduce`` straight on the numpy buffers (no copies); every worker then applies the
  same update to its replica (the optimizer of ``set_optimizer``: MXNet's
  ``update_on_kvstore``), or stores the sum, so the replicas stay identical;
- ``pull`` copies the replica; ``barrier`` is ``MPI_Barrier``.

Several keys pushed in one call are reduced with concurrent non-blocking collectives.
``rank`` / ``num_workers`` are ``MPI_COMM_WORLD``'s; run without ``mpiexec`` a store is one
worker (rank 0 of 1).

``dist_async`` behaves as ``dist_sync`` here (every push is a synchronous all-reduce over all
workers): the result is what an asynchronous server gives when the workers' pushes happen to
arrive in lock step, and no worker ever reads stale weights. ``horovod`` (and ``byteps``) is
the same MPI store without optimizer capability: ``pushpull`` all-reduces (sums),
``broadcast`` sends rank 0's value, keys need no ``init``.

Gradient compression (``2bit``) quantizes each worker's summed gradient with a residual per
key (and, for ``*device*`` types, each device's gradient first), as MXNet's workers do; the
dequantized values are summed.

Failures
--------
Every collective waits at most ``MXLITE_KVSTORE_TIMEOUT`` seconds (default 300): a worker
that died or hangs makes the others raise :class:`KVStoreTimeoutError` naming the store,
the operation and the ranks, instead of waiting forever. When a worker of a multi-process
job ends with an uncaught exception, the job is aborted (``MPI_Abort``) after the traceback
is printed, so the others stop at once (``mpiexec`` also stops a job one of whose processes
was killed).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from ..base import MXNetError
from ..context import cpu
from ..ndarray.ndarray import NDArray
from .base import KVStoreBase, KVStoreError
from .kvstore import KVStore, _group

__all__ = ["DistKVStore", "KVStoreTimeoutError", "mpi"]

_DEFAULT_TIMEOUT = 300.0
_hook_installed = False


class KVStoreTimeoutError(MXNetError, TimeoutError):
    """A collective operation got no answer from the other workers in time."""


def mpi() -> Any:
    """The ``mpi4py.MPI`` module (initializing MPI), or an MXNetError saying how to get it."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise MXNetError(f"distributed kvstores need mpi4py and an MPI library: pip install "
                         f"'mxlite[dist]' (which brings the mpich wheel) ({e})") from None
    return MPI


def _timeout() -> float:
    raw = os.environ.get("MXLITE_KVSTORE_TIMEOUT", "")
    if not raw:
        return _DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise MXNetError(f"MXLITE_KVSTORE_TIMEOUT must be a number of seconds, got "
                         f"{raw!r}") from None
    if not value > 0:
        raise MXNetError(f"MXLITE_KVSTORE_TIMEOUT must be positive, got {raw!r}")
    return value


def _install_abort_hook(comm: Any) -> None:
    """An uncaught exception in one worker aborts the whole job (after its traceback), so
    the other workers do not wait for it."""
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def hook(exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            previous(exc_type, exc, tb)
            sys.stderr.write(f"mxlite.kvstore: rank {comm.Get_rank()} failed; aborting the "
                             "MPI job\n")
            sys.stderr.flush()
        finally:
            comm.Abort(1)

    sys.excepthook = hook
    _hook_installed = True


def _check_env(size: int) -> None:
    """``DMLC_NUM_WORKER``, when a launcher set it, must match the MPI job."""
    declared = os.environ.get("DMLC_NUM_WORKER")
    if declared is None:
        os.environ["DMLC_NUM_WORKER"] = str(size)
        return
    try:
        n = int(declared)
    except ValueError:
        raise MXNetError(f"DMLC_NUM_WORKER must be an integer, got {declared!r}") from None
    if n != size:
        raise MXNetError(f"DMLC_NUM_WORKER={n} but the MPI job has {size} processes; start "
                         f"the script with mpiexec -n {n} (or mxlite launch -n {n})")


class DistKVStore(KVStore):
    """A KVStore whose workers are the processes of an MPI job (see the module docs).

    Parameters
    ----------
    name : str
        ``'dist_sync'``, ``'dist_device_sync'``, ``'dist_async'``, ``'horovod'`` ...
    """

    def __init__(self, name: str = "dist_sync"):
        super().__init__(name)
        MPI = mpi()
        self._MPI = MPI
        self._comm = MPI.COMM_WORLD
        self._rank = self._comm.Get_rank()
        self._size = self._comm.Get_size()
        self._timeout = _timeout()
        self._allreduce_only = name in ("horovod", "byteps")
        _check_env(self._size)
        os.environ.setdefault("DMLC_ROLE", "worker")
        os.environ["DMLC_WORKER_ID"] = str(self._rank)
        if self._size > 1:
            _install_abort_hook(self._comm)

    @property
    def rank(self) -> int:
        """This worker's rank in the MPI job."""
        return self._rank

    @property
    def num_workers(self) -> int:
        """The number of processes in the MPI job."""
        return self._size

    def is_capable(self, capability: str) -> bool:
        """``'optimizer'``: True, except for ``horovod`` / ``byteps`` (allreduce only)."""
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return not self._allreduce_only
        raise KVStoreError(f"Unknown capability: {capability}")

    # -- communication ---------------------------------------------------------------------

    def _wait(self, requests: list, what: str) -> None:
        MPI = self._MPI
        deadline = time.monotonic() + self._timeout
        spins = 0
        try:
            while not MPI.Request.Testall(requests):
                spins += 1
                if spins > 200:
                    if time.monotonic() > deadline:
                        raise KVStoreTimeoutError(
                            f"kvstore {self.type!r}: {what} on rank {self._rank} got no "
                            f"answer from the other {self._size - 1} worker(s) within "
                            f"{self._timeout:g} s: a worker has died or stopped (raise "
                            "MXLITE_KVSTORE_TIMEOUT if a worker is just slow)")
                    time.sleep(min(0.005, 1e-5 * (spins - 200)))
        except MPI.Exception as e:
            raise MXNetError(f"kvstore {self.type!r}: {what} on rank {self._rank} failed in "
                             f"MPI: {e}") from None

    @staticmethod
    def _buffer(arr: NDArray, what: str) -> np.ndarray:
        """``arr``'s numpy buffer, for MPI to read or write in place."""
        data = arr._data
        if not data.flags.c_contiguous:  # a strided view: only a sent value can be one
            data = np.ascontiguousarray(data)
        if data.dtype == np.float16 or data.dtype.kind not in "fiub":
            raise KVStoreError(f"{what}: dtype {data.dtype} cannot be reduced over MPI; use "
                               "float32 or float64")
        return data

    def _init_sync(self, keys: list) -> None:
        if self._size == 1:
            return
        reqs = [self._comm.Ibcast(self._buffer(self._store[k], "init"), root=0) for k in keys]
        self._wait(reqs, f"init of keys {keys}")

    def _reduce_local(self, key: Any, arrays: list[NDArray]) -> NDArray:
        if len(arrays) == 1 and (self._compression is None or "device" not in self.type):
            return arrays[0]  # one device: all-reduced straight from its buffer
        if "device" in self.type:
            return super()._reduce_local(key, arrays)
        # A CPU worker merges its devices uncompressed; the worker's sum is compressed below.
        compression, self._compression = self._compression, None
        try:
            return super()._reduce_local(key, arrays)
        finally:
            self._compression = compression

    def _reduce_global(self, keys: list, merged: list[NDArray]) -> list[NDArray]:
        MPI = self._MPI
        out = []
        reqs = []
        for k, m in zip(keys, merged):
            if m.stype != "default" and (self._size > 1 or self._compression is not None):
                # workers sum dense buffers (a row_sparse sum is densified first)
                m = NDArray(m.asnumpy(), cpu(0))
            # Without an updater the sum is the new stored value: receive it there.
            buf = self._store[k] if self._updater is None else self._merge_buffer(k)
            if self._compression is not None:
                self._compression.quantize((k, "worker"),
                                           np.asarray(m._data, np.float32), buf._data)
                m = buf
            if self._size == 1:
                out.append(m)
                continue
            if m is not buf and m._data.dtype != buf._data.dtype:
                np.copyto(buf._data, m._data, casting="unsafe")
                m = buf
            recv = self._buffer(buf, "push")
            if m is buf:
                reqs.append(self._comm.Iallreduce(MPI.IN_PLACE, recv, op=MPI.SUM))
            else:
                reqs.append(self._comm.Iallreduce(self._buffer(m, "push"), recv, op=MPI.SUM))
            out.append(buf)
        if reqs:
            self._wait(reqs, f"push of keys {keys}")
        return out

    # -- the allreduce-only stores (horovod) -----------------------------------------------

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """Sum ``value`` over devices and workers into ``out`` (``value`` if None)."""
        if not self._allreduce_only:
            return super().pushpull(key, value, out, priority)
        groups = _group(key, value, "pushpull")
        outs = groups if out is None else _group(key, out, "pushpull")
        keys = [k for k, _ in groups]
        for k, arrays in groups:
            self._check_key_type(k)
            if k not in self._store:
                self._store[k] = NDArray(np.zeros(arrays[0].shape, arrays[0].dtype))
        merged = self._reduce_global(keys, [self._reduce_local(k, a) for k, a in groups])
        for (_, targets), m in zip(outs, merged):
            for o in targets:
                np.copyto(o._data, m._data, casting="unsafe")

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """Every ``out`` gets rank 0's ``value``."""
        if not self._allreduce_only:
            return super().broadcast(key, value, out, priority)
        groups = _group(key, value, "broadcast")
        buffers = [arrays[0].asnumpy() for _, arrays in groups]  # rank 0's, or overwritten
        if self._size > 1:
            reqs = [self._comm.Ibcast(b, root=0) for b in buffers]
            self._wait(reqs, f"broadcast of keys {[k for k, _ in groups]}")
        for (_, targets), b in zip(_group(key, out, "broadcast"), buffers):
            for o in targets:
                np.copyto(o._data, b, casting="unsafe")

    def set_optimizer(self, optimizer: Any) -> None:
        if self._allreduce_only:
            raise KVStoreError(f"kvstore {self.type!r} only reduces: it cannot run an "
                               "optimizer (update_on_kvstore=False)")
        super().set_optimizer(optimizer)

    def barrier(self) -> None:
        """Wait until every worker reaches this barrier."""
        if self._size > 1:
            self._wait([self._comm.Ibarrier()], "barrier")

    _barrier = barrier
