"""Errors and small shared helpers."""

from __future__ import annotations

import ctypes
import inspect
import os
import platform

import numpy as _np

__all__ = ["MXNetError", "NotSupportedError", "MissingFeatureError"]


class MXNetError(RuntimeError):
    """The error MXNet raises for bad input, bad files and misuse (``mx.base.MXNetError``).

    Every refusal in mxlite is one of these, with a message naming the file, byte offset,
    node, operator or argument at fault and what was expected.
    """


class NotSupportedError(MXNetError):
    """A valid request that this build cannot serve (a missing optional backend, say)."""


class MissingFeatureError(NotSupportedError, AttributeError):
    """An MXNet attribute or namespace that mxlite does not have. Also an AttributeError, so
    ``hasattr`` and ``getattr(mod, name, default)`` treat it as absent."""


# ---- names MXNet's python/mxnet/base.py exports that user code and tests import ----------

integer_types = (int, _np.int32, _np.int64)
numeric_types = (float, int, _np.generic)
string_types = (str,)
mx_real_t = _np.float32
"""MXNet's default real type (``mx.base.mx_real_t``)."""
mx_int = ctypes.c_int
mx_uint = ctypes.c_uint
mx_int64 = ctypes.c_int64
mx_float = ctypes.c_float
mx_float_p = ctypes.POINTER(mx_float)


NDArrayHandle = ctypes.c_void_p
"""MXNet's handle type of an NDArray in its C API (``mx.base.NDArrayHandle``)."""


def py_str(x: bytes | str) -> str:
    """Decode UTF-8 bytes to ``str`` (MXNet's helper for strings from its C library).

    mxlite has no C library, and hands some names (the executor's monitor callbacks) over
    as ``str`` already: those come back unchanged, so code written for MXNet's bytes runs.
    """
    return x if isinstance(x, str) else x.decode("utf-8")


def data_dir_default() -> str:
    """The default MXNet data folder: ``%APPDATA%/mxnet`` on Windows, ``~/.mxnet`` elsewhere."""
    if platform.system() == "Windows":
        return os.path.join(os.environ.get("APPDATA", ""), "mxnet")
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir() -> str:
    """Where downloads go: ``$MXNET_HOME`` if set, else :func:`data_dir_default`."""
    return os.getenv("MXNET_HOME", data_dir_default())


class _NullType:
    """The placeholder MXNet's generated operator functions use for "argument not given"."""

    def __repr__(self) -> str:
        return "_Null"


_Null = _NullType()

error_types: dict = {}


def register_error(func_name=None, cls=None):
    """Register an error class under a name so errors of that name map to it (MXNet's
    ``register_error``; usable as ``@register_error`` or ``@register_error('Name')``)."""
    if callable(func_name):
        cls, func_name = func_name, func_name.__name__

    def register(mycls):
        error_types[func_name or mycls.__name__] = mycls
        return mycls

    return register(cls) if cls is not None else register


register_error(MXNetError)
register_error("ValueError", ValueError)
register_error("TypeError", TypeError)
register_error("AttributeError", AttributeError)
register_error("IndexError", IndexError)
register_error("NotImplementedError", NotImplementedError)


class _NotForError(MXNetError):
    """Shared body of the "function works on NDArray only" errors."""

    _what = ""

    def __init__(self, function, alias, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias = alias
        self.args = [str(type(a)) for a in args]

    def __str__(self) -> str:
        msg = f"Function {self.function}"
        if self.alias:
            msg += f' (namely operator "{self.alias}")'
        if self.args:
            msg += f" with arguments ({', '.join(self.args)})"
        return msg + self._what


@register_error
class NotImplementedForSymbol(_NotForError):
    """A function that exists for NDArray but not for Symbol."""

    _what = " is not implemented for Symbol and only available in NDArray."


class NotSupportedForSparseNDArray(_NotForError):
    """A function that exists for dense NDArray but not for sparse ones."""

    _what = " is not supported for SparseNDArray and only available in NDArray."


class _MXClassPropertyDescriptor:
    def __init__(self, fget, fset=None):
        self.fget = fget
        self.fset = fset

    def __get__(self, obj, clas=None):
        if clas is None:
            clas = type(obj)
        return self.fget.__get__(obj, clas)()

    def __set__(self, obj, value):
        if not self.fset:
            raise MXNetError(f"cannot use the setter: {obj!r} to set attribute")
        if inspect.isclass(obj):
            type_, obj = obj, None
        else:
            type_ = type(obj)
        return self.fset.__get__(obj, type_)(value)

    def setter(self, func):
        if not isinstance(func, (classmethod, staticmethod)):
            func = classmethod(func)
        self.fset = func
        return self


class _MXClassPropertyMetaClass(type):
    def __setattr__(cls, key, value):
        obj = cls.__dict__.get(key)
        if obj and isinstance(obj, _MXClassPropertyDescriptor):
            return obj.__set__(cls, value)
        return super().__setattr__(key, value)


def with_metaclass(meta, *bases):
    """Create a base class with a metaclass (six's recipe, as MXNet's base has it)."""

    class metaclass(type):
        def __new__(cls, name, this_bases, d):
            return meta(name, bases, d)

        @classmethod
        def __prepare__(cls, name, this_bases):
            return meta.__prepare__(name, bases)

    return type.__new__(metaclass, "temporary_class", (), {})


def classproperty(func):
    """A read-only property on the class itself (MXNet's ``base.classproperty``)."""
    if not isinstance(func, (classmethod, staticmethod)):
        func = classmethod(func)
    return _MXClassPropertyDescriptor(func)


def _as_list(obj) -> list:
    """``obj`` itself if it is a list or tuple, else ``[obj]``."""
    if isinstance(obj, (list, tuple)):
        return obj
    return [obj]


_OP_NAME_PREFIX_LIST = ["_contrib_", "_linalg_", "_sparse_", "_image_", "_random_"]


def _get_op_name_prefix(op_name: str) -> str:
    """The namespace prefix (``_contrib_`` ...) ``op_name`` starts with, or ``''``."""
    for prefix in _OP_NAME_PREFIX_LIST:
        if op_name.startswith(prefix):
            return prefix
    return ""
