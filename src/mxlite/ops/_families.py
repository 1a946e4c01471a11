"""Imports every op family so that each registers its entries."""

from . import elemwise, linalg, loss, misc, nn, reduce, tensor  # noqa: F401
