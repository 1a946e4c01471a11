"""``mx.nd.CachedOp``: a Symbol made callable on NDArrays (MXNet's imperative graph runner).

It runs on the same machinery as a hybridized Gluon block (one executor bound per input
signature, recorded by autograd as one operation), so gradients flow through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import MXNetError
from .ndarray import NDArray

__all__ = ["CachedOp"]


class CachedOp:
    """``CachedOp(sym, flags=())``; ``op(*inputs, out=None)`` with one NDArray per input of
    ``sym`` (``sym.list_inputs()`` order) returns the output (a list when there are several),
    or writes into ``out``. ``flags`` (MXNet's static_alloc and friends) tune MXNet's memory
    planning and change no result; they are accepted and kept."""

    def __init__(self, sym: Any, flags: Sequence[tuple[str, Any]] = (), thread_safe: bool = False):
        from ..gluon.block import _CachedOp
        from ..symbol.symbol import Symbol

        if not isinstance(sym, Symbol):
            raise MXNetError(f"CachedOp: sym must be a Symbol, got {type(sym).__name__}")
        self.flags = tuple(flags)
        self._sym = sym
        self._n_inputs = len(sym.list_inputs())
        self._op = _CachedOp(sym, [None] * self._n_inputs)

    def __call__(self, *args: NDArray, **kwargs: Any) -> Any:
        out = kwargs.pop("out", None)
        if kwargs:
            raise TypeError("CachedOp.__call__ got unexpected keyword argument(s): "
                            + ", ".join(kwargs))
        if len(args) != self._n_inputs:
            raise MXNetError(f"CachedOp: expected {self._n_inputs} inputs "
                             f"({self._sym.list_inputs()}), got {len(args)}")
        for i, a in enumerate(args):
            if not isinstance(a, NDArray):
                raise MXNetError(f"CachedOp: input {i} must be an NDArray, got "
                                 f"{type(a).__name__}")
        outs = self._op(*args)
        if out is not None:
            targets = [out] if isinstance(out, NDArray) else list(out)
            if len(targets) != len(outs):
                raise MXNetError(f"CachedOp: out has {len(targets)} arrays for {len(outs)} "
                                 "outputs")
            for t, o in zip(targets, outs):
                t[:] = o
            return out
        return outs[0] if len(outs) == 1 else outs

    def _register_op_hook(self, callback: Any, monitor_all: bool = False) -> None:
        """Call ``callback(node_name, op_name, array)`` for every operator output (and input
        with ``monitor_all``)."""
        self._op.register_op_hook(callback, monitor_all)
