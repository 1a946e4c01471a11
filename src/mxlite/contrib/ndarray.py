"""``mx.contrib.ndarray`` (``mx.contrib.nd``): MXNet's contrib operators as NDArray functions.

MXNet registers every ``_contrib_*`` operator here too, under its short name, as it does in
``mx.nd.contrib``; the Python helpers of ``mx.nd.contrib`` (``foreach``, ``isinf``...) are
not part of this module in MXNet either.
"""

from __future__ import annotations

from ..ndarray.register import namespace_getattr as _namespace_getattr

__all__: list[str] = []

__getattr__, __dir__ = _namespace_getattr(globals(), "_contrib_")
