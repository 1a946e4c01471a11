"""``mx.gluon.contrib.estimator``: MXNet 1.9.1's high-level training loop.

:class:`Estimator` runs ``fit`` / ``evaluate`` over Gluon ``DataLoader``\\ s and calls event
handlers (:mod:`.event_handler`) at train / epoch / batch begin and end; a
:class:`BatchProcessor` does the per-batch forward and backward. Everything MXNet's package
exports at this level is exported here too (``from mx.gluon.contrib.estimator import *``).
"""

from __future__ import annotations

from . import batch_processor, estimator, event_handler
from .batch_processor import BatchProcessor
from .estimator import Estimator, EstimatorAssertionError, EstimatorValueError
from .event_handler import (
    BatchBegin,
    BatchEnd,
    CheckpointHandler,
    EarlyStoppingHandler,
    EpochBegin,
    EpochEnd,
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    StoppingHandler,
    TrainBegin,
    TrainEnd,
    ValidationHandler,
)

# MXNet's ``__init__`` star-imports its three modules' ``__all__``; the error classes are
# mxlite's own and stay reachable by name only.
__all__ = ["Estimator", "BatchProcessor",
           "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin", "BatchEnd",
           "StoppingHandler", "MetricHandler", "ValidationHandler", "LoggingHandler",
           "CheckpointHandler", "EarlyStoppingHandler", "GradientUpdateHandler"]

