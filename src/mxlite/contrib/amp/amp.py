"""``mx.contrib.amp.amp``: see :mod:`mxlite.contrib.amp`; every attribute raises
MissingFeatureError."""

from __future__ import annotations

from . import _missing as __getattr__  # noqa: F401

__all__: list[str] = []
