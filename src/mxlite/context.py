"""Device contexts.

mxlite computes on the host. Arrays labelled ``gpu(i)`` live in host memory and keep their
label, as an MXNet build without CUDA reports them, so files and code that name GPUs still run.
"""

from __future__ import annotations

import threading
import warnings

from .base import classproperty

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus"]


class Context:
    """A device: ``Context('cpu', 0)``, ``Context('gpu', 1)``, or a copy of another Context.

    Usable as a ``with`` block that sets :func:`current_context`.
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _local = threading.local()

    def __init__(self, device_type: str | int | Context, device_id: int = 0):
        if isinstance(device_type, Context):
            self.device_typeid = device_type.device_typeid
            self.device_id = device_type.device_id
            return
        if isinstance(device_type, int):
            if device_type not in self.devtype2str:
                from .base import MXNetError

                raise MXNetError(f"unknown device type id {device_type}; expected one of "
                                 f"{sorted(self.devtype2str)}")
            self.device_typeid = device_type
        else:
            if device_type not in self.devstr2type:
                from .base import MXNetError

                raise MXNetError(f"unknown device type {device_type!r}; expected one of "
                                 f"{sorted(self.devstr2type)}")
            self.device_typeid = self.devstr2type[device_type]
        self.device_id = int(device_id)
        self._old = None

    @property
    def device_type(self) -> str:
        return self.devtype2str[self.device_typeid]

    def __hash__(self) -> int:
        return hash((self.device_typeid, self.device_id))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Context) and self.device_typeid == other.device_typeid
                and self.device_id == other.device_id)

    def __str__(self) -> str:
        return f"{self.device_type}({self.device_id})"

    __repr__ = __str__

    def __enter__(self) -> Context:
        stack = _stack()
        stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _stack().pop()

    def empty_cache(self) -> None:
        """Nothing is cached on the host; kept for API compatibility."""

    @classproperty
    def default_ctx(cls) -> Context:  # noqa: N805 - a property of the class
        """[Deprecated] The current context (:func:`current_context`), as MXNet 1.x still
        offers it, with its DeprecationWarning."""
        warnings.warn("Context.default_ctx has been deprecated. Please use "
                      "Context.current_context() instead. Please use "
                      "test_utils.set_default_context to set a default context",
                      DeprecationWarning, stacklevel=2)
        return current_context()

    @staticmethod
    def current_context() -> Context:
        """The innermost ``with Context(...)`` block's context, else ``cpu(0)``."""
        return current_context()


def _stack() -> list[Context]:
    local = Context._local
    if not hasattr(local, "stack"):
        local.stack = []
    return local.stack


def cpu(device_id: int = 0) -> Context:
    return Context("cpu", device_id)


def gpu(device_id: int = 0) -> Context:
    return Context("gpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    return Context("cpu_pinned", device_id)


def current_context() -> Context:
    """The innermost ``with Context(...)`` block's context, else ``cpu(0)``."""
    stack = _stack()
    return stack[-1] if stack else Context("cpu", 0)


def num_gpus() -> int:
    return 0
