"""How ``mx.sym`` and ``mx.nd`` turn registry entries into Python functions.

Both namespaces serve every operator name and alias of the registry the same way: a function
made on first access (so operators registered later are found too), cached, named and
documented after the entry. Only what a call does differs: :mod:`mxlite.symbol.register`
builds a graph node, :mod:`mxlite.ndarray.register` runs the kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import registry
from .registry import Op

__all__ = ["Frontend", "positional_inputs"]


def positional_inputs(op: Op, func_name: str, args: tuple, kwargs: dict[str, Any],
                      is_input: Callable[[Any], bool], what: str, slots: list[str],
                      allow_none: bool = False) -> list:
    """MXNet's generated signature, positional part: inputs come first, up to the last
    argument that is an input; the rest fill ``slots`` (the parameters in their declared
    order, then e.g. ``name``) and are moved into ``kwargs``. Returns the inputs.

    ``allow_none`` lets a positional input be None (left out, as ``data=None``).
    """
    last = -1
    for i, a in enumerate(args):
        if is_input(a):
            last = i
    inputs = list(args[:last + 1])
    for a in inputs:
        if not (is_input(a) or (allow_none and a is None)):
            raise TypeError(f"{func_name}: inputs must be {what}, but got {a!r}")
    rest = args[last + 1:]
    if len(rest) > len(slots):
        raise TypeError(f"{func_name}() takes at most {len(slots)} positional parameters after "
                        f"its inputs ({', '.join(slots)}), {len(rest)} were given")
    for k, v in zip(slots, rest):
        if k in kwargs:
            raise TypeError(f"{func_name}() got multiple values for argument {k!r}")
        kwargs[k] = v
    return inputs


class Frontend:
    """Functions for one namespace: ``call(op, func_name, args, kwargs)`` does the work and
    ``doc(op, func_name)`` writes the docstring; ``module`` is the functions' ``__module__``."""

    def __init__(self, module: str, call: Callable[[Op, str, tuple, dict], Any],
                 doc: Callable[[Op, str], str]):
        self.module = module
        self.call = call
        self.doc = doc
        self._funcs: dict[tuple[str, str], Callable] = {}

    def make_function(self, op_name: str, func_name: str | None = None) -> Callable:
        """The function for a registered operator name or alias (``func_name`` names it and
        gives automatic node names their hint; default ``op_name``)."""
        func_name = func_name or op_name
        fn = self._funcs.get((op_name, func_name))
        if fn is not None:
            return fn
        op = registry.get(op_name)
        call = self.call

        def fn(*args: Any, **kwargs: Any) -> Any:
            return call(op, func_name, args, kwargs)

        fn.__name__ = fn.__qualname__ = func_name
        fn.__module__ = self.module
        fn.__doc__ = self.doc(op, func_name)
        self._funcs[(op_name, func_name)] = fn
        return fn

    def lookup(self, name: str, module_globals: dict[str, Any], prefix: str = ""
               ) -> Callable | None:
        """The function for ``prefix + name`` (then cached in the module), or None when the
        registry has no such operator."""
        if name.startswith("__") or registry.find(prefix + name) is None:
            return None
        fn = self.make_function(prefix + name, name)
        module_globals[name] = fn
        return fn

    def namespace_getattr(self, module_globals: dict[str, Any], prefix: str = ""
                          ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
        """``__getattr__`` and ``__dir__`` for a module serving ``prefix + name`` operators
        (``mx.sym.contrib`` serves ``_contrib_*`` as ``mx.sym.contrib.<name>``)."""

        def __getattr__(attr: str) -> Any:
            fn = self.lookup(attr, module_globals, prefix)
            if fn is None:
                from ._mxnet_names import NAMES

                where = module_globals["__name__"]
                if prefix + attr in NAMES or (not prefix and attr in NAMES):
                    from ..base import MissingFeatureError

                    raise MissingFeatureError(f"{where}.{attr}: operator {prefix + attr!r} of "
                                              "MXNet 1.9.1 is not implemented in mxlite yet")
                raise AttributeError(f"module {where!r} has no attribute {attr!r}")
            return fn

        def __dir__() -> list[str]:
            names = set(module_globals)
            names.update(n[len(prefix):] for n in registry.all_names() if n.startswith(prefix))
            return sorted(names)

        return __getattr__, __dir__
