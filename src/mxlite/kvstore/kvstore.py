"""``KVStore``: MXNet 1.9.1's single-process stores ('local', 'device', ...) and the
machinery the distributed stores (:mod:`mxlite.kvstore.dist`) build on.

A store keeps one value per key. ``push`` sums the values given for a key (one per device;
on a distributed store then over every worker) and, with an optimizer set
(``set_optimizer``, MXNet's ``update_on_kvstore``), updates the stored value with that sum as
gradient; without one the sum replaces the stored value. ``pull`` copies the stored value
into the given arrays. Keys are all ints or all strings, as in MXNet.

``'device'`` (and every name containing ``device`` or ``dist``) accepts ``2bit`` gradient
compression, with a residual per key and per pushed device; ``'local'`` refuses it, as MXNet.
Device labels are kept: arrays on ``gpu(i)`` live in host memory like every mxlite array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optimizer as opt
from .. import storage
from ..base import MXNetError
from ..context import cpu
from ..ndarray.ndarray import NDArray
from .base import KVStoreBase, KVStoreError
from .compression import GradientCompression

__all__ = ["KVStore"]


def _is_array(x: Any) -> bool:
    return isinstance(x, NDArray)


def _dense(a: NDArray) -> np.ndarray:
    """The values of ``a`` as a numpy array (its own buffer when dense: no copy)."""
    return a._data if a.stype == "default" else a.asnumpy()


def _group(keys: Any, vals: Any, what: str) -> list[tuple[Any, list[NDArray]]]:
    """``(key, [arrays])`` pairs from MXNet's key/value argument forms, keys in first-seen
    order with repeated keys' arrays joined (as MXNet groups them)."""
    if isinstance(keys, (list, tuple)):
        if not isinstance(vals, (list, tuple)) or len(vals) != len(keys):
            n = len(vals) if isinstance(vals, (list, tuple)) else 1
            raise KVStoreError(f"{what}: {len(keys)} keys but {n} values")
        pairs = [(k, v) for k, v in zip(keys, vals)]
    else:
        pairs = [(keys, vals)]
    out: dict[Any, list[NDArray]] = {}
    for key, val in pairs:
        if not isinstance(key, (int, np.integer, str)) or isinstance(key, bool):
            raise KVStoreError(f"{what}: keys must be int or str, got {type(key).__name__}")
        key = int(key) if isinstance(key, np.integer) else key
        arrays = [val] if _is_array(val) else list(val) if isinstance(val, (list, tuple)) \
            else None
        if arrays is None or not arrays or not all(_is_array(a) for a in arrays):
            raise KVStoreError(f"{what}: the value for key {key!r} must be an NDArray or a "
                               f"non-empty list of NDArrays, got {type(val).__name__}")
        out.setdefault(key, []).extend(arrays)
    return list(out.items())


class KVStore(KVStoreBase):
    """A single-process key-value store (``mx.kv.create('local')``, ``'device'``, ...).

    Parameters
    ----------
    name : str
        The store's ``type``.
    """

    def __init__(self, name: str = "local"):
        self._type = name
        self._store: dict[Any, NDArray] = {}
        self._merge: dict[Any, NDArray] = {}
        self._str_keys: bool | None = None
        self._updater: Any = None
        self._compression: GradientCompression | None = None

    # -- information -----------------------------------------------------------------------

    @property
    def type(self) -> str:
        """The store's type (``'local'``, ``'device'``, ``'dist_sync'`` ...)."""
        return self._type

    @property
    def rank(self) -> int:
        """This worker's rank: 0 in one process."""
        return 0

    @property
    def num_workers(self) -> int:
        """The number of workers: 1 in one process."""
        return 1

    def is_capable(self, capability: str) -> bool:
        """``'optimizer'``: whether updates can run on the store (True)."""
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise KVStoreError(f"Unknown capability: {capability}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type!r} rank {self.rank}/{self.num_workers}>"

    # -- keys ------------------------------------------------------------------------------

    def _check_key_type(self, key: Any) -> None:
        is_str = isinstance(key, str)
        if self._str_keys is None:
            self._str_keys = is_str
        elif self._str_keys != is_str:
            raise KVStoreError(f"kvstore: mixed key types are not allowed (key {key!r} among "
                               f"{'str' if self._str_keys else 'int'} keys)")

    def _stored(self, key: Any, what: str) -> NDArray:
        stored = self._store.get(key)
        if stored is None:
            raise KVStoreError(f"{what}: key {key!r} doesn't exist. Did you init?")
        return stored

    # -- init / push / pull ----------------------------------------------------------------

    def init(self, key: Any, value: Any) -> None:
        """Initialize each key with a value (the first of a list); a key is initialized
        once."""
        groups = _group(key, value, "init")
        for k, _ in groups:
            self._check_key_type(k)
            if k in self._store:
                raise KVStoreError(f"init: duplicate init of key {k!r}. Please double check "
                                   "if you called kv.init or kv.broadcast with this key "
                                   "multiple times")
        for k, arrays in groups:
            src = arrays[0]
            self._store[k] = NDArray(np.array(_dense(src), copy=True), cpu(0))
        self._init_sync([k for k, _ in groups])

    def _init_sync(self, keys: list) -> None:
        """Hook for distributed stores: make rank 0's initial values everyone's."""

    def push(self, key: Any, value: Any, priority: int = 0) -> None:
        """Push values: per key, the sum of the given arrays (over devices, and over workers
        on a distributed store) updates the stored value with the optimizer if one is set,
        else replaces it. ``priority`` is accepted for compatibility."""
        groups = _group(key, value, "push")
        for k, arrays in groups:
            stored = self._stored(k, "push")
            for a in arrays:
                if tuple(a.shape) != tuple(stored.shape):
                    raise KVStoreError(f"push: key {k!r} holds shape {tuple(stored.shape)}, "
                                       f"a pushed value has shape {tuple(a.shape)}")
        merged = [self._reduce_local(k, arrays) for k, arrays in groups]
        merged = self._reduce_global([k for k, _ in groups], merged)
        for (k, _), m in zip(groups, merged):
            self._apply(k, m)

    def _merge_buffer(self, key: Any) -> NDArray:
        buf = self._merge.get(key)
        if buf is None:
            stored = self._store[key]
            buf = self._merge[key] = NDArray(np.empty(stored.shape, stored._data.dtype),
                                             cpu(0))
        return buf

    def _reduce_local(self, key: Any, arrays: list[NDArray]) -> NDArray:
        """The sum over devices (with compression: of each device's dequantized values).

        Row_sparse values sum to a row_sparse array over the union of their rows, as in
        MXNet: an optimizer then updates only those rows (``lazy_update``).
        """
        from .. import ndarray as nd

        if self._compression is None and all(a.stype == "row_sparse" for a in arrays):
            if len(arrays) == 1:
                return arrays[0] if self._updater is not None else arrays[0].copy()
            return nd.add_n(*arrays)

        if self._compression is not None:
            comp = self._compression
            bufs = []
            for i, a in enumerate(arrays):
                q = np.empty(a.shape, np.float32)
                comp.quantize((key, i), np.asarray(_dense(a), np.float32), q)
                bufs.append(NDArray(q, cpu(0)))
            arrays = bufs
        if len(arrays) == 1 and self._updater is not None:
            return arrays[0]  # the updater only reads the gradient: no copy needed
        buf = self._merge_buffer(key)
        if len(arrays) == 1:
            np.copyto(buf._data, _dense(arrays[0]), casting="unsafe")
        else:
            nd.add_n(*arrays, out=buf)
        return buf

    def _reduce_global(self, keys: list, merged: list[NDArray]) -> list[NDArray]:
        """Hook for distributed stores: sum ``merged`` over the workers."""
        return merged

    def _apply(self, key: Any, merged: NDArray) -> None:
        stored = self._store[key]
        if self._updater is not None:
            self._updater(key, merged, stored)
        elif merged.stype != "default" or stored.stype != "default":
            # the sum becomes the stored value, in its own storage type (as MXNet's
            # KVStoreLocal: pulling it into row_sparse arrays gives its rows)
            value = merged.copy()
            value._ctx = cpu(0)
            self._store[key] = value
        elif merged is not stored:
            np.copyto(stored._data, merged._data, casting="unsafe")

    def pull(self, key: Any, out: Any = None, priority: int = 0,
             ignore_sparse: bool = True) -> None:
        """Copy the stored value of each key into ``out`` (an NDArray or a list per key)."""
        if out is None:
            raise KVStoreError("pull: out must be given")
        for k, arrays in _group(key, out, "pull"):
            stored = self._stored(k, "pull")
            for o in arrays:
                if o.stype != "default":
                    if ignore_sparse:
                        continue
                    if o.stype != "row_sparse":
                        raise KVStoreError(f"pull: key {k!r}: cannot pull into a {o.stype} "
                                           "array")
                    self._pull_all_rows(k, stored, o)
                    continue
                if tuple(o.shape) != tuple(stored.shape):
                    raise KVStoreError(f"pull: key {k!r} holds shape "
                                       f"{tuple(stored.shape)}, out has shape "
                                       f"{tuple(o.shape)}")
                np.copyto(o._data, _dense(stored), casting="unsafe")

    @staticmethod
    def _pull_all_rows(key: Any, stored: NDArray, out: Any) -> None:
        """``pull(..., ignore_sparse=False)`` into a row_sparse array: the whole value; a
        row_sparse value keeps its rows, a dense one stores its non-zero rows."""
        if tuple(out.shape) != tuple(stored.shape):
            raise KVStoreError(f"pull: key {key!r} holds shape {tuple(stored.shape)}, out "
                               f"has shape {tuple(out.shape)}")
        if stored.stype == "row_sparse":
            out._data = stored._data.astype(out._data.dtype)
            out._aux = (stored._aux[0].copy(),)
            return
        dense = np.asarray(_dense(stored))
        flat = dense.reshape(dense.shape[0], -1) if dense.ndim else dense.reshape(1, 1)
        rows = np.flatnonzero(np.any(flat != 0, axis=1)).astype(np.int64)
        out._data = dense[rows].astype(out._data.dtype)
        out._aux = (rows,)

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """``push(key, value)`` then ``pull(key, out)`` (``out`` defaults to ``value``)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """``init(key, value)`` then ``pull(key, out)``: every ``out`` gets the value (rank
        0's on a distributed store)."""
        self.init(key, value)
        self.pull(key, out, priority)

    def row_sparse_pull(self, key: Any, out: Any = None, priority: int = 0,
                        row_ids: Any = None) -> None:
        """Pull the rows ``row_ids`` of each key's value into row_sparse ``out`` arrays.

        One ``row_ids`` array for a list of ``out`` serves them all; otherwise one per out.
        """
        from ..ndarray.sparse import RowSparseNDArray

        if out is None:
            raise KVStoreError("row_sparse_pull: out must be given")
        if row_ids is None:
            raise KVStoreError("row_sparse_pull: row_ids must be given")
        if _is_array(row_ids):
            row_ids = [row_ids]
        if not isinstance(row_ids, list):
            raise KVStoreError("row_ids should be NDArray or list of NDArray")
        # one list of row ids per key (a list per device) reads as MXNet's nested form
        row_ids = [r for item in row_ids
                   for r in (item if isinstance(item, (list, tuple)) else [item])]
        groups = _group(key, out, "row_sparse_pull")
        outs = [o for _, arrays in groups for o in arrays]
        if len(row_ids) == 1:
            row_ids = row_ids * len(outs)
        if len(row_ids) != len(outs):
            raise KVStoreError("the number of row_ids doesn't match the number of values")
        i = 0
        for k, arrays in groups:
            stored = self._stored(k, "row_sparse_pull")
            for o in arrays:
                if not isinstance(o, RowSparseNDArray):
                    raise KVStoreError(f"row_sparse_pull: key {k!r}: expected row_sparse "
                                       f"storage type for the out values, got {o.stype}")
                rows = np.unique(np.asarray(row_ids[i].asnumpy()).astype(np.int64))
                i += 1
                if rows.size and (rows[0] < 0 or rows[-1] >= stored.shape[0]):
                    raise KVStoreError(f"row_sparse_pull: key {k!r}: row ids must be in "
                                       f"[0, {stored.shape[0]})")
                o._data = _dense(stored)[rows].astype(o._data.dtype)
                o._aux = (rows,)

    # -- optimizer and compression ---------------------------------------------------------

    def set_optimizer(self, optimizer: opt.Optimizer) -> None:
        """Update stored values with ``optimizer`` on push (MXNet's ``update_on_kvstore``)."""
        if not isinstance(optimizer, opt.Optimizer):
            raise KVStoreError(f"set_optimizer: expected an Optimizer, got "
                               f"{type(optimizer).__name__}")
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater: Any) -> None:
        """Use ``updater(key, merged, stored)`` on push (any callable)."""
        self._updater = updater

    def set_gradient_compression(self, compression_params: dict) -> None:
        """Compress pushed gradients (``{'type': '2bit', 'threshold': 0.5}``); for
        'device' and distributed stores, as MXNet."""
        if "device" not in self.type and "dist" not in self.type:
            raise KVStoreError("Gradient compression is not supported for this type of "
                               "kvstore")
        self._compression = GradientCompression(compression_params)

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        """Write the updater's states (MXNet's ``.states`` pickle) to ``fname``."""
        if self._updater is None or not hasattr(self._updater, "get_states"):
            raise MXNetError("save_optimizer_states: no optimizer is set on this kvstore")
        storage.write_bytes_atomic(fname, self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname: str) -> None:
        """Load updater states written by :meth:`save_optimizer_states` (or MXNet)."""
        if self._updater is None or not hasattr(self._updater, "set_states"):
            raise MXNetError("load_optimizer_states: no optimizer is set on this kvstore")
        self._updater.set_states(storage.read_bytes(fname), source=str(fname))

    # -- synchronisation -------------------------------------------------------------------

    def barrier(self) -> None:
        """Wait for every worker (nothing to wait for in one process)."""

    _barrier = barrier

    def _send_command_to_servers(self, head: int, body: str) -> None:
        """There are no servers: commands have nothing to reach."""
