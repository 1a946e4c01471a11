"""``mx.gluon.data``: datasets, samplers and the DataLoader (MXNet 1.9.1's API).

``vision`` (MNIST, CIFAR, image transforms) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import dataloader, dataset, sampler
from .dataloader import DataLoader
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset
from .sampler import (
    BatchSampler,
    FilterSampler,
    IntervalSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset", "Sampler",
           "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler", "DataLoader", "vision"]


def __getattr__(name: str) -> Any:
    if name == "vision":
        return importlib.import_module(f"{__name__}.vision")
    raise AttributeError(f"module 'mxlite.gluon.data' has no attribute {name!r}")
