"""``mx.compat``: reading what MXNet wrote with Python's pickle.

:func:`load_pickle` is the safe stand-in for ``pickle.load`` on MXNet pickles (pickled
NDArrays, optimizer ``*.states``): only an allow-list of globals is ever resolved.
"""

from __future__ import annotations

from .formats.pickles import SAFE_GLOBALS, allow_global, load_pickle

__all__ = ["load_pickle", "allow_global", "SAFE_GLOBALS"]
