"""Device contexts.

mxlite computes on the host. Arrays labelled ``gpu(i)`` live in host memory and keep their
label, as an MXNet build without CUDA reports them, so files and code that name GPUs still run.
"""

from __future__ import annotations

import threading
import warnings

from .base import _MXClassPropertyMetaClass, classproperty, with_metaclass

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus"]


class Context(with_metaclass(_MXClassPropertyMetaClass, object)):  # type: ignore[misc]
    """A device: ``Context('cpu', 0)``, ``Context('gpu', 1)``, or a copy of another Context.

    Usable as a ``with`` block that sets :func:`current_context`. As in MXNet, the current
    context of each thread is ``Context._default_ctx.value`` (a thread-local), which
    ``Context.default_ctx = ...`` and ``test_utils.set_default_context`` set for the calling
    thread only.
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _default_ctx = threading.local()

    def __init__(self, device_type: str | int | Context, device_id: int = 0):
        self._old_ctx: list[Context] = []  # what each open ``with`` of this object replaced
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
        self._old_ctx.append(current_context())
        Context._default_ctx.value = self
        return self

    def __exit__(self, *exc) -> None:
        Context._default_ctx.value = self._old_ctx.pop()

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

    @default_ctx.setter
    def default_ctx(cls, val: Context) -> None:  # noqa: N805
        warnings.warn("Context.default_ctx has been deprecated. Please use "
                      "Context.current_context() instead. Please use "
                      "test_utils.set_default_context to set a default context",
                      DeprecationWarning, stacklevel=2)
        Context._default_ctx.value = val

    @staticmethod
    def current_context() -> Context:
        """The innermost ``with Context(...)`` block's context, else ``cpu(0)``."""
        return current_context()


def cpu(device_id: int = 0) -> Context:
    return Context("cpu", device_id)


def gpu(device_id: int = 0) -> Context:
    return Context("gpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    return Context("cpu_pinned", device_id)


def current_context() -> Context:
    """The innermost ``with Context(...)`` block's context (or the one set with
    ``Context.default_ctx = ...``) in this thread, else ``cpu(0)``."""
    local = Context._default_ctx
    if not hasattr(local, "value"):
        local.value = Context("cpu", 0)
    return local.value


def num_gpus() -> int:
    return 0
