"""``mx.contrib.amp``: MXNet's automatic mixed precision (float16 / bfloat16 graph rewriting
and loss scaling), which mxlite does not provide.

The package and its ``amp`` module import, as code written for MXNet imports them (MXNet's
own test helpers do, unused); any attribute of either raises
:class:`~mxlite.base.MissingFeatureError` (also an ``AttributeError``). Graphs MXNet's AMP
converted load and run: their ``amp_cast`` / ``amp_multicast`` nodes are ordinary operators.
"""

from __future__ import annotations

from ...base import MissingFeatureError

__all__: list[str] = []


def _missing(attr: str):
    if attr.startswith("__") and attr.endswith("__"):
        raise AttributeError(attr)  # Python's own probes see a plain absence
    raise MissingFeatureError(f"mx.contrib.amp.{attr}: automatic mixed precision (mx.contrib."
                              "amp) is not in mxlite; amp_cast / amp_multicast graphs run")


def __getattr__(attr: str):
    if attr == "amp":  # the submodule, imported on first use
        import importlib

        return importlib.import_module(".amp", __name__)
    return _missing(attr)
