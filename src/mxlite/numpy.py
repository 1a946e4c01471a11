"""``mx.numpy`` / ``mx.np``: MXNet's NumPy-compatible array interface, which mxlite does not
provide.

The module exists so that code which imports it and only uses it under ``npx.set_np()`` (as
MXNet's own tests and many Gluon scripts do: ``import mxnet.numpy as _mx_np`` next to the
legacy API) still imports and runs its legacy paths. Any attribute of it raises
:class:`~mxlite.base.MissingFeatureError` (also an ``AttributeError``) naming what was asked
for. Use ``mx.nd`` (or numpy itself) instead; graphs exported by ``mx.np`` code load and run
through their ``_np_*`` / ``_npi_*`` operators.
"""

from __future__ import annotations

from .base import MissingFeatureError

__all__: list[str] = []


def __getattr__(attr: str):
    if attr.startswith("__") and attr.endswith("__"):
        # Python's own probes (``__path__``, ``__wrapped__`` ...) must see a plain absence.
        raise AttributeError(f"module 'mxlite.numpy' has no attribute {attr!r}")
    raise MissingFeatureError(
        f"mx.np.{attr}: MXNet's NumPy-compatible array interface (mx.np) is not in mxlite; "
        "use mx.nd, or numpy itself")
