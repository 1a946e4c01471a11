"""The kvstore helpers of MXNet 1.9.1's ``mxnet.model`` (``_create_kvstore``,
``_initialize_kvstore``, ``_update_params_on_kvstore``, ``_update_params``), shared by
``Module``, ``gluon.Trainer`` and ``mx.model``: which store a training loop uses, how its
parameters enter the store, and how one step of updates goes through it.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..base import MXNetError
from .base import KVStoreBase, create

# Multi-process by nature: made even for one device (MXNet 1.9.1 made 'horovod' a local store,
# which reduced nothing; Horovod's own trainer did the work).
_ALLREDUCE = ("horovod", "byteps")

__all__ = ["_create_kvstore", "_initialize_kvstore", "_update_params_on_kvstore",
           "_update_params"]


def _create_kvstore(kvstore: Any, num_device: int, arg_params: Any
                    ) -> tuple[KVStoreBase | None, bool]:
    """``(store or None, update_on_kvstore)`` for ``kvstore`` (a name, a store or None).

    One device in one process needs no store (unless a ``dist`` name or ``horovod`` asks for
    one); a
    ``'local'`` store leaves updates to the devices when a parameter is bigger than 16M
    elements; ``MXNET_UPDATE_ON_KVSTORE=0`` keeps updates off every store. ``arg_params`` is
    a dict of arrays or a list of Parameters (anything with ``.shape``).
    """
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore and kvstore not in _ALLREDUCE:
            kv = None  # one device in one process: nothing to reduce
        else:
            kv = create(kvstore)
            if kvstore == "local":
                values = arg_params.values() if isinstance(arg_params, dict) else arg_params
                sizes = [math.prod(v.shape) for v in values if getattr(v, "shape", None)]
                if sizes and max(sizes) > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise MXNetError(f"kvstore must be KVStore, str or None, got {type(kvstore).__name__}")
    if kv is None:
        update_on_kvstore = False
    else:
        update_on_kvstore &= bool(kv.is_capable(KVStoreBase.OPTIMIZER))
    return kv, update_on_kvstore


def _initialize_kvstore(kvstore: Any, param_arrays: list, arg_params: dict,
                        param_names: list, update_on_kvstore: bool) -> None:
    """Enter each parameter into the store; with updates on the store every device's copy
    takes the store's value (rank 0's on a distributed store)."""
    for idx, param_on_devs in enumerate(param_arrays):
        name = param_names[idx]
        if not update_on_kvstore or arg_params[name].stype != "default":
            kvstore.init(name, arg_params[name])
        else:
            kvstore.broadcast(name, arg_params[name], out=param_on_devs)


def _update_params_on_kvstore(param_arrays: list, grad_arrays: list, kvstore: Any,
                              param_names: list) -> None:
    """Push each parameter's gradients (one per device) and pull the updated weights."""
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        name = param_names[index]
        if grad_list[0].stype == "default" and arg_list[0].stype == "default":
            kvstore.pushpull(name, grad_list, out=arg_list, priority=-index)
        else:
            kvstore.push(name, grad_list, priority=-index)
            kvstore.pull(name, out=arg_list, priority=-index)


def _update_params(param_arrays: list, grad_arrays: list, updater: Any, num_device: int,
                   kvstore: Any = None, param_names: list | None = None) -> None:
    """Sum the gradients through the store (if any), then update each device's weights
    locally; parameter ``i`` on device ``k`` is optimizer index ``i * num_device + k``."""
    updates: list[list[tuple]] = [[] for _ in range(num_device)]
    for index, (arg_list, grad_list) in enumerate(zip(param_arrays, grad_arrays)):
        if grad_list[0] is None:
            continue
        if kvstore:
            name = param_names[index]
            if grad_list[0].stype == "default" and arg_list[0].stype == "default":
                kvstore.pushpull(name, grad_list, priority=-index)
            else:
                kvstore.push(name, grad_list, priority=-index)
                kvstore.pull(name, out=grad_list, priority=-index)
        for k, (w, g) in enumerate(zip(arg_list, grad_list)):
            updates[k].append((index * num_device + k, g, w))
    for dev_updates in updates:
        if dev_updates:
            indices, grads, weights = zip(*dev_updates)
            updater(list(indices), list(grads), list(weights))
