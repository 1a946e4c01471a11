"""``mx.nd.op``: every registered operator by its registry name (made on first use)."""

from .register import namespace_getattr as _namespace_getattr

__all__: list[str] = []
__getattr__, __dir__ = _namespace_getattr(globals())
