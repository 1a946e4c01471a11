"""``mx.gluon.data.vision``: image datasets and (``transforms``) image transforms."""

from __future__ import annotations

import importlib
from typing import Any

from .datasets import (
    CIFAR10,
    CIFAR100,
    MNIST,
    FashionMNIST,
    ImageFolderDataset,
    ImageRecordDataset,
)

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset",
           "ImageFolderDataset", "transforms"]


def __getattr__(name: str) -> Any:
    # transforms are Gluon Blocks; only code that uses them loads gluon.block.
    if name == "transforms":
        return importlib.import_module(f"{__name__}.transforms")
    raise AttributeError(f"module 'mxlite.gluon.data.vision' has no attribute {name!r}")
