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
    contrib,
    engine,
    gluon,
    image,
    initializer,
    io,
    kvstore,
    lr_scheduler,
    metric,
    model,
    module,
    monitor,
    name,
    ndarray,
    npx,
    onnx,
    operator,
    optimizer,
    profiler,
    random,
    recordio,
    rnn,
    runtime,
    symbol,
    test_utils,
    util,
    visualization,
)
from . import image as img  # MXNet's alias
from . import initializer as init
from . import kvstore as kv
from . import module as mod
from . import monitor as mon
from . import ndarray as nd
from . import symbol as sym
from . import visualization as viz
from ._alloc import pool_memory as _pool_memory
from .attribute import AttrScope
from .base import MXNetError
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

__version__ = "0.1.0"

from . import random as rnd  # noqa: E402
from .util import (  # noqa: E402
    is_np_array,
    is_np_shape,
    np_array,
    np_shape,
    set_np_shape,
    use_np,
    use_np_shape,
)

# MXNet 1.9.1 namespaces mxlite does not provide, and what they were.
_NOT_IN_MXLITE = {
    "np": "MXNet's NumPy-compatible array interface; use numpy itself, or mx.nd",
    "rtc": "runtime-compiled CUDA kernels",
    "torch": "the Torch plugin",
    "th": "the Torch plugin",
    "notebook": "the Jupyter training-progress callbacks",
    "library": "loading compiled operator libraries",
    "tvmop": "TVM-generated operators",
    "symbol_doc": "the generated operator documentation",
    "log": "MXNet's logging helpers; use the logging module",
    "amp": "automatic mixed precision (a GPU feature)",
}


def __getattr__(attr: str):
    if attr == "numpy":  # a placeholder module whose every attribute says mx.np is absent
        import importlib

        return importlib.import_module(".numpy", __name__)
    if attr in _NOT_IN_MXLITE:
        from .base import MissingFeatureError

        raise MissingFeatureError(f"mx.{attr} ({_NOT_IN_MXLITE[attr]}) is not in mxlite")
    raise AttributeError(f"module 'mxlite' has no attribute {attr!r}")

_pool_memory()
