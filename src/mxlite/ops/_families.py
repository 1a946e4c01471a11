"""Imports every op family so that each registers its entries."""

from . import elemwise, linalg, loss, nn, reduce, tensor  # noqa: F401
