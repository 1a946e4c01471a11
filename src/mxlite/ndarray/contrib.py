"""``mx.nd.contrib``: the ``_contrib_*`` operators under their short names (made on first use)."""

from .register import namespace_getattr as _namespace_getattr

__all__: list[str] = []
__getattr__, __dir__ = _namespace_getattr(globals(), "_contrib_")
