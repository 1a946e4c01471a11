"""The errors ``gluon.data`` raises: MXNetErrors that are also the builtin MXNet raised there,
so code written against MXNet (``except ValueError``) keeps working."""

from __future__ import annotations

from ...base import MXNetError

__all__ = ["DataValueError", "DataTypeError", "DataIndexError", "DataAssertionError"]


class DataValueError(MXNetError, ValueError):
    """A bad argument value (MXNet raises ``ValueError`` or fails an assertion)."""


class DataTypeError(MXNetError, TypeError):
    """An argument of the wrong type (MXNet raises ``TypeError``)."""


class DataIndexError(MXNetError, IndexError):
    """A sample index outside the dataset."""


class DataAssertionError(MXNetError, AssertionError):
    """Where MXNet's data utilities fail an ``assert`` (an ``IntervalSampler`` interval longer
    than the sequence)."""
