"""``KVStoreBase``: the key-value store interface of MXNet 1.9.1 (``mxnet.kvstore.base``),
the registry of store classes and :func:`create`.

``create(name)`` resolves names as MXNet 1.9.1 does: a class registered with
:meth:`KVStoreBase.register` (by lower-cased class name) wins; otherwise a name containing
``dist`` (``dist_sync``, ``dist_device_sync``, ``dist_async``, ``dist_sync_device`` ...) is a
distributed store, ``horovod`` and ``byteps`` are the MPI allreduce store too, and every other
name (``local``, ``device``, ``nccl``, ``local_allreduce_cpu`` ...) is a single-process store
whose ``type`` is the name (lower-cased), as MXNet's C++ ``KVStore::Create`` falls back.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..base import MXNetError

__all__ = ["create", "KVStoreBase", "KVStoreError"]


class KVStoreError(MXNetError, ValueError):
    """Bad arguments to a KVStore (keys, values, capabilities)."""


class KVStoreBase:
    """An abstract key-value store interface for data parallel training.

    Subclasses implement ``broadcast``, ``pushpull``, ``set_optimizer``, ``is_capable``,
    ``save_optimizer_states``, ``load_optimizer_states``, ``type``, ``rank`` and
    ``num_workers``; :meth:`register` makes one available to :func:`create` by name.
    """

    OPTIMIZER = "optimizer"
    kv_registry: dict[str, type] = {}

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """Broadcast ``value`` (rank 0's) to every rank and store it in ``out``."""
        raise NotImplementedError()

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """Push ``value`` for summation and pull the result into ``out`` (``value`` if
        None)."""
        raise NotImplementedError()

    def set_optimizer(self, optimizer: Any) -> None:
        """Register an optimizer that updates the stored values on push."""
        raise NotImplementedError()

    def is_capable(self, capability: str) -> bool:
        """Whether the store supports ``capability`` (``'optimizer'``)."""
        raise NotImplementedError()

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        """Save the updater's states (a ``.states`` pickle) to ``fname``."""
        raise NotImplementedError()

    def load_optimizer_states(self, fname: str) -> None:
        """Load the updater's states from ``fname``."""
        raise NotImplementedError()

    @property
    def type(self) -> str:
        """The type of this store (``'local'``, ``'dist_sync'``, ...)."""
        raise NotImplementedError()

    @property
    def rank(self) -> int:
        """This worker's rank, in ``[0, num_workers)``."""
        raise NotImplementedError()

    @property
    def num_workers(self) -> int:
        """The number of workers."""
        raise NotImplementedError()

    @staticmethod
    def register(klass: type) -> type:
        """Register a KVStore class under its lower-cased class name (a decorator).

        >>> @mx.kvstore.KVStoreBase.register
        ... class MyKVStore(mx.kvstore.KVStoreBase):
        ...     pass
        >>> kv = mx.kv.create('MyKVStore')
        """
        if not isinstance(klass, type):
            raise KVStoreError(f"KVStoreBase.register: expected a class, got "
                               f"{type(klass).__name__}")
        name = klass.__name__.lower()
        old = KVStoreBase.kv_registry.get(name)
        if old is not None:
            warnings.warn(f"WARNING: New kvstore {klass.__module__}.{klass.__name__} is "
                          f"overriding existing kvstore {old.__module__}.{old.__name__}",
                          stacklevel=2)
        KVStoreBase.kv_registry[name] = klass
        return klass


@KVStoreBase.register
class TestStore(KVStoreBase):
    """A key-value store for testing (MXNet's ``teststore``): sums in ``pushpull``, copies in
    ``broadcast``, no optimizer."""

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        for o in out if isinstance(out, list) else [out]:
            o[:] = value

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        from ..ndarray.ndarray import NDArray

        if isinstance(value, NDArray):
            if out is not None:
                for o in out if isinstance(out, list) else [out]:
                    o[:] = value
            return
        ctx = value[0].context
        from .. import ndarray as nd

        reduced = nd.add_n(*[v.as_in_context(ctx) for v in value])
        for o in value if out is None else (out if isinstance(out, list) else [out]):
            o[:] = reduced

    @staticmethod
    def is_capable(capability: str) -> bool:
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return False
        raise KVStoreError(f"Unknown capability: {capability}")

    @property
    def type(self) -> str:
        return "teststore"

    @property
    def rank(self) -> int:
        return 0

    @property
    def num_workers(self) -> int:
        return 1

    def set_optimizer(self, optimizer: Any) -> None:
        raise NotImplementedError()

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        raise NotImplementedError()

    def load_optimizer_states(self, fname: str) -> None:
        raise NotImplementedError()


def create(name: str = "local") -> KVStoreBase:
    """Create a KVStore.

    Parameters
    ----------
    name : str
        ``'local'`` / ``'device'`` (one process: values pushed from several devices are
        summed; ``'device'`` also takes gradient compression), ``'dist_sync'`` /
        ``'dist_device_sync'`` / ``'dist_async'`` / ``'horovod'`` (several processes started
        by ``mpiexec`` or ``mxlite launch``, reduced with MPI; see :mod:`mxlite.kvstore.dist`),
        or the name of a class registered with :meth:`KVStoreBase.register`.

    Returns
    -------
    KVStoreBase
    """
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    name = name.lower()
    klass = KVStoreBase.kv_registry.get(name)
    if klass is not None:
        return klass()
    if "dist" in name or name in ("horovod", "byteps"):
        from .dist import DistKVStore

        return DistKVStore(name)
    from .kvstore import KVStore

    return KVStore(name)
