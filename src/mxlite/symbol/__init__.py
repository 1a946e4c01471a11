"""Symbolic graphs (``mx.sym``): variables, operators, composition, inference, JSON files.

Besides the functions below, ``mx.sym.<op>`` exists for every operator name and alias in the
registry (``mx.sym.FullyConnected``, ``mx.sym.concat``...), made on first use.
"""

from . import _internal, contrib, image, linalg, op, random, sparse
from .register import namespace_getattr as _namespace_getattr
from .symbol import *
from .symbol import __all__ as _symbol_all

__getattr__, __dir__ = _namespace_getattr(globals())

__all__ = [*_symbol_all, "contrib", "linalg", "random", "sparse", "image"]
