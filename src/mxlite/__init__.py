"""mxlite: Apache MXNet's Symbol / NDArray / Module API and file formats, on numpy.

``import mxlite as mx`` and MXNet 1.x code runs; every MXNet file loads and saves as MXNet
wrote it.
"""

from . import (
    attribute,
    autograd,
    base,
    callback,
    compat,
    context,
    gluon,
    initializer,
    io,
    lr_scheduler,
    metric,
    model,
    module,
    name,
    ndarray,
    npx,
    optimizer,
    random,
    symbol,
    util,
    visualization,
)
from . import initializer as init
from . import module as mod
from . import ndarray as nd
from . import symbol as sym
from . import visualization as viz
from ._alloc import pool_memory as _pool_memory
from .attribute import AttrScope
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

__version__ = "0.1.0"

_pool_memory()
