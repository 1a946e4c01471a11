"""``mx.gluon.contrib.nn``: MXNet 1.9.1's contributed layers (Identity, the concatenating
containers, pixel shuffles, SparseEmbedding, SyncBatchNorm)."""

from . import basic_layers
from .basic_layers import *  # noqa: F403

__all__ = basic_layers.__all__
