"""``mx.contrib.symbol`` (``mx.contrib.sym``): MXNet's contrib operators as Symbol functions.

MXNet registers every ``_contrib_*`` operator here too, under its short name, as it does in
``mx.sym.contrib``; the Python helpers of ``mx.sym.contrib`` (``foreach``, ``cond``...) are
not part of this module in MXNet either.
"""

from __future__ import annotations

from ..symbol.register import namespace_getattr as _namespace_getattr

__all__: list[str] = []

__getattr__, __dir__ = _namespace_getattr(globals(), "_contrib_")
