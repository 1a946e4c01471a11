"""``mx.kv`` / ``mx.kvstore``: MXNet 1.9.1's key-value stores for data-parallel training.

``mx.kv.create('local' | 'device')`` sums values pushed from several devices in one process;
``'dist_sync'``, ``'dist_device_sync'``, ``'dist_async'`` and ``'horovod'`` reduce over the
processes of an MPI job (``mpiexec -n 2 python train.py`` or ``mxlite launch -n 2 python
train.py``; ``pip install 'mxlite[dist]'``). See :mod:`mxlite.kvstore.dist`.

Importing this module inside an MPI job sets the ``DMLC_*`` environment variables MXNet
scripts read from the process manager's rank and size: ``DMLC_WORKER_ID`` (the rank), and
unless already set ``DMLC_ROLE=worker``, ``DMLC_NUM_WORKER`` and ``DMLC_NUM_SERVER=0``.
"""

from __future__ import annotations

import os

from .base import KVStoreBase, KVStoreError, create
from .kvstore import KVStore

__all__ = ["create", "KVStore", "KVStoreBase", "KVStoreError"]

# The rank / size variables of MPICH's hydra (and other PMI managers), Open MPI and PMIx.
_RANK_SIZE_VARS = (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                   ("PMIX_RANK", "PMIX_SIZE"))


def _job_rank_size() -> tuple[int, int] | None:
    """This process's ``(rank, size)`` from the MPI process manager's environment."""
    for rank_var, size_var in _RANK_SIZE_VARS:
        rank, size = os.environ.get(rank_var), os.environ.get(size_var)
        if rank is not None and size is not None:
            try:
                return int(rank), int(size)
            except ValueError:
                return None
    return None


def _set_dmlc_env() -> None:
    job = _job_rank_size()
    if job is None:
        return
    rank, size = job
    os.environ.setdefault("DMLC_ROLE", "worker")
    os.environ.setdefault("DMLC_NUM_WORKER", str(size))
    os.environ.setdefault("DMLC_NUM_SERVER", "0")
    os.environ["DMLC_WORKER_ID"] = str(rank)  # per process: an inherited value is stale


_set_dmlc_env()
