"""Errors and small shared helpers."""

from __future__ import annotations

__all__ = ["MXNetError", "NotSupportedError", "MissingFeatureError"]


class MXNetError(RuntimeError):
    """The error MXNet raises for bad input, bad files and misuse (``mx.base.MXNetError``).

    Every refusal in mxlite is one of these, with a message naming the file, byte offset,
    node, operator or argument at fault and what was expected.
    """


class NotSupportedError(MXNetError):
    """A valid request that this build cannot serve (a missing optional backend, say)."""


class MissingFeatureError(NotSupportedError, AttributeError):
    """An MXNet attribute or namespace that mxlite does not have. Also an AttributeError, so
    ``hasattr`` and ``getattr(mod, name, default)`` treat it as absent."""
