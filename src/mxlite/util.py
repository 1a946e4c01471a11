"""Numpy-shape semantics (``mx.util``): where 0-d and zero-size arrays are real; and the
nested-list helpers the control-flow builders of ``mx.nd`` and ``mx.sym`` share.

MXNet's legacy semantics treat ndim 0 as "unknown shape" and a 0 dim as "unknown dim";
inside ``np_shape(True)`` (or after ``mx.npx.set_np()``) they are real scalars and
zero-size arrays, and array files are written with the V3 record magic.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

__all__ = ["is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "is_np_array",
           "set_np_array", "np_array", "use_np", "set_np", "reset_np", "getenv", "setenv"]

_state = threading.local()


# MXNet's NumpyShape flag: 0 off, 1 on in the calling thread, 2 on in every thread.
_GLOBAL_NP_SHAPE = [False]


def is_np_shape() -> bool:
    """Whether numpy-shape semantics are on (in this thread, or globally)."""
    return _GLOBAL_NP_SHAPE[0] or getattr(_state, "np_shape", False)


def set_np_shape(active: bool | int) -> bool:
    """Turn numpy-shape semantics on or off; returns the previous setting.

    As in MXNet, ``True`` / ``1`` turns them on in the calling thread, ``2`` in every
    thread, and ``False`` / ``0`` turns both off.
    """
    prev = is_np_shape()
    flag = int(active)
    if flag == 2:
        _GLOBAL_NP_SHAPE[0] = True
    elif not flag:
        _GLOBAL_NP_SHAPE[0] = False
    _state.np_shape = bool(flag)
    return prev


class _NumpyArrayScope:
    """MXNet's scope of numpy-array semantics (``mx.util._NumpyArrayScope``).

    The current scope of each thread is ``_NumpyArrayScope._current.value`` (a thread-local),
    as in MXNet, whose code and tests read and replace it directly.
    """

    _current = threading.local()

    def __init__(self, is_np_array: bool):
        self._old_scope: _NumpyArrayScope | None = None
        self._is_np_array = is_np_array

    def __enter__(self) -> _NumpyArrayScope:
        if not hasattr(_NumpyArrayScope._current, "value"):
            _NumpyArrayScope._current.value = _NumpyArrayScope(False)
        self._old_scope = _NumpyArrayScope._current.value
        _NumpyArrayScope._current.value = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _NumpyArrayScope._current.value = self._old_scope


def is_np_array() -> bool:
    """Whether numpy-array semantics are on in this thread."""
    cur = _NumpyArrayScope._current
    return cur.value._is_np_array if hasattr(cur, "value") else False


def set_np_array(active: bool) -> bool:
    """Turn numpy-array semantics on or off for this thread; returns the previous setting."""
    prev = is_np_array()
    _NumpyArrayScope._current.value = _NumpyArrayScope(bool(active))
    return prev


class _Scope:
    def __init__(self, setter, active: bool):
        self._setter = setter
        self._active = active
        self._prev: bool | None = None

    def __enter__(self):
        self._prev = self._setter(self._active)
        return self

    def __exit__(self, *exc) -> None:
        self._setter(self._prev)


def np_shape(active: bool = True) -> _Scope:
    """``with mx.util.np_shape(True):`` numpy-shape semantics inside the block."""
    return _Scope(set_np_shape, active)


def np_array(active: bool = True) -> _NumpyArrayScope:
    """``with mx.util.np_array(True):`` numpy-array semantics inside the block."""
    return _NumpyArrayScope(active)


def use_np_shape(func):
    """Decorator: run ``func`` under numpy-shape semantics."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np_shape(True):
            return func(*args, **kwargs)

    return wrapper


def use_np(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np_shape(True), np_array(True):
            return func(*args, **kwargs)

    return wrapper


def set_np(shape: bool = True, array: bool = True) -> None:
    """``mx.npx.set_np()``: numpy shape (and array) semantics from here on."""
    set_np_shape(shape)
    set_np_array(array)


def reset_np() -> None:
    """``mx.npx.reset_np()``: back to MXNet's legacy semantics."""
    set_np_shape(False)
    set_np_array(False)


def getenv(name: str) -> str | None:
    """The value of environment variable ``name``, or None (MXNet's ``util.getenv``)."""
    return os.environ.get(name)


def setenv(name: str, value: str | None) -> None:
    """Set environment variable ``name`` (``None`` removes it), as MXNet's ``util.setenv``."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def flatten_nested(args: Any, leaf: Any, what: str, kind: str) -> tuple[list, Any]:
    """The leaves of a nested list of arrays or symbols, and its format for
    :func:`regroup_nested` (MXNet's control-flow helpers). ``leaf(x)`` is None for a
    non-leaf, else the format entry of leaf ``x`` (0: one item; n > 1: n items)."""
    fmt = leaf(args)
    if fmt is not None:
        return [args], fmt
    if not isinstance(args, (list, tuple)):
        from .base import MXNetError

        raise MXNetError(f"{what} must be (nested) list of {kind}, but got {args!r} of type "
                         f"{type(args).__name__}")
    flat, fmts = [], []
    for a in args:
        f, sub = flatten_nested(a, leaf, what, kind)
        flat.extend(f)
        fmts.append(sub)
    return flat, fmts


def regroup_nested(args: list, fmt: Any) -> tuple[Any, list]:
    """Undo :func:`flatten_nested`: the nested value made from the front of ``args``, and
    the rest of ``args``."""
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for f in fmt:
        res, args = regroup_nested(args, f)
        ret.append(res)
    return ret, args
