"""``mx.engine``: MXNet's execution-engine knobs. mxlite runs every operator at once, in
order, on the calling thread, so there is nothing to bundle: the bulk size is remembered
and returned as MXNet returns it, and changes nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["set_bulk_size", "bulk"]

_bulk_size = [15]  # MXNet's default (MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN)


def set_bulk_size(size: int) -> int:
    """Set the bulk size; returns the previous one."""
    prev, _bulk_size[0] = _bulk_size[0], int(size)
    return prev


class _BulkScope:
    def __init__(self, size: int):
        self._size, self._old = size, None

    def __enter__(self) -> _BulkScope:
        self._old = set_bulk_size(self._size)
        return self

    def __exit__(self, *exc: Any) -> None:
        set_bulk_size(self._old)


def bulk(size: int) -> _BulkScope:
    """``with mx.engine.bulk(10): ...``: a scope with the given bulk size."""
    return _BulkScope(size)
