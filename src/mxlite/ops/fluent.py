"""What ``mx.sym.Symbol`` and ``mx.nd.NDArray`` share of MXNet's python front end.

Two things, each described once here and read by both classes:

- :data:`FLUENT`: the operators MXNet 1.9.1 offers as fluent methods, ``x.exp()`` being
  ``mx.<nd|sym>.exp(x)``: the array or symbol is the operator's first input and every other
  argument is passed on unchanged. :func:`install_fluent` adds them to a class, leaving alone
  the names the class defines itself (NDArray's own ``reshape`` or ``sum``, say).
- :func:`ufunc`: the dispatch of MXNet's ``_ufunc_helper`` behind ``mx.nd.add``,
  ``mx.sym.maximum`` and friends: two arrays, an array and a scalar (either way round) or two
  scalars each go to their own operator.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Number
from typing import Any

import numpy as np

__all__ = ["FLUENT", "install_fluent", "ufunc"]

FLUENT: tuple[str, ...] = tuple((
    "reshape reshape_like zeros_like ones_like broadcast_axes repeat pad swapaxes split slice "
    "slice_axis slice_like take one_hot pick sort topk argsort argmax argmax_channel argmin clip "
    "abs sign shape_array size_array broadcast_to broadcast_like tile transpose flip "
    "depth_to_space space_to_depth sum nansum prod nanprod mean max min norm round rint fix "
    "floor ceil trunc sin cos tan arcsin arccos arctan degrees radians sinh cosh tanh arcsinh "
    "arccosh arctanh exp expm1 log log10 log2 log1p sqrt rsqrt cbrt rcbrt square reciprocal "
    "relu sigmoid softmax log_softmax softmin").split())


def _fluent(op_name: str, function: Callable[[str], Callable], what: str) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return function(op_name)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = op_name
    method.__doc__ = (f"Convenience fluent method for :py:func:`{op_name}`, with this {what} "
                      "as data.")
    return method


def install_fluent(cls: type, function: Callable[[str], Callable], what: str) -> None:
    """Give ``cls`` a method per :data:`FLUENT` name it does not define itself.

    ``function(op_name)`` returns the module-level operator function the method calls with
    ``self`` first; ``what`` ("symbol", "array") words the docstrings.
    """
    for name in FLUENT:
        if name not in vars(cls):
            setattr(cls, name, _fluent(name, function, what))


def ufunc(lhs: Any, rhs: Any, array_type: type | tuple[type, ...],
          fn_array: Callable[[Any, Any], Any], fn_scalar: Callable[[Any, Any], Any],
          lfn_scalar: Callable[[Any, Any], Any],
          rfn_scalar: Callable[[Any, Any], Any] | None = None,
          scalar_type: type | tuple[type, ...] = (Number, np.generic)) -> Any:
    """``lhs <op> rhs`` for arrays (``array_type``) and scalars (``scalar_type``).

    Two arrays go to ``fn_array(lhs, rhs)``, two scalars to ``fn_scalar(lhs, rhs)``, an array
    and a scalar to ``lfn_scalar(array, scalar)`` when the array is on the left and to
    ``rfn_scalar(array, scalar)`` when it is on the right (``lfn_scalar`` again when
    ``rfn_scalar`` is None: the operation commutes).
    """
    l_arr, r_arr = isinstance(lhs, array_type), isinstance(rhs, array_type)
    l_num = not l_arr and isinstance(lhs, scalar_type)
    r_num = not r_arr and isinstance(rhs, scalar_type)
    if l_arr and r_arr:
        return fn_array(lhs, rhs)
    if l_arr and r_num:
        return lfn_scalar(lhs, rhs)
    if l_num and r_arr:
        return (lfn_scalar if rfn_scalar is None else rfn_scalar)(rhs, lhs)
    if l_num and r_num:
        return fn_scalar(lhs, rhs)
    raise TypeError(f"types ({type(lhs)}, {type(rhs)}) not supported")
