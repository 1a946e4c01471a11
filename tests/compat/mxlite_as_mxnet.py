"""Make the module name ``mxnet`` (and ``mxnet.<sub>``) resolve to mxlite, for running code
and tests written against MXNet unchanged. Also provides the small part of the retired ``nose`` that
MXNet 1.9.1's tests import. Used by ``run_mxnet_unittests.py``; import it (or list it in a
conftest.py) before anything imports mxnet."""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import types

import mxlite


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``mxnet.X.Y`` as the module ``mxlite.X.Y`` (the same object)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "mxnet" or fullname.startswith("mxnet."):
            real = "mxlite" + fullname[len("mxnet"):]
            if importlib.util.find_spec(real) is None:
                return None
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        real = importlib.import_module("mxlite" + spec.name[len("mxnet"):])
        self._spec = real.__spec__
        return real

    def exec_module(self, module):
        module.__spec__ = self._spec  # keep the real module's own spec


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
    sys.modules.setdefault("mxnet", mxlite)
    _reexport_util()
    _numpy1_names()
    if "nose" not in sys.modules:
        _install_nose()


def _numpy1_names() -> None:
    # MXNet 1.9.1's tests were written for numpy 1.x; numpy 2 removed these aliases
    # (``np.NaN`` ...). Put back the ones that are plain synonyms, where they are missing.
    import numpy as np

    synonyms = {"NaN": np.nan, "NAN": np.nan, "Inf": np.inf, "PINF": np.inf, "NINF": -np.inf,
                "infty": np.inf, "float_": np.float64, "complex_": np.complex128,
                "bool8": np.bool_, "product": np.prod, "cumproduct": np.cumprod,
                "alltrue": np.all, "sometrue": np.any, "round_": np.round,
                # numpy 1.x's deprecated aliases of Python's own types (``np.int``)
                "int": int, "float": float, "object": object, "str": str}
    for name, value in synonyms.items():
        try:
            getattr(np, name)
        except AttributeError:
            setattr(np, name, value)


def _reexport_util() -> None:
    # MXNet's test_utils re-exports a few mx.util helpers (``from .util import use_np,
    # getenv, setenv``); serve them from mx.util where mxlite's test_utils lacks them.
    import mxlite.test_utils
    import mxlite.util

    for name in ("use_np", "getenv", "setenv"):
        if not hasattr(mxlite.test_utils, name) and hasattr(mxlite.util, name):
            setattr(mxlite.test_utils, name, getattr(mxlite.util, name))


def _assert_raises(exc, func=None, *args, **kwargs):
    import pytest

    if func is None:
        return pytest.raises(exc)
    with pytest.raises(exc):
        func(*args, **kwargs)


def _make_decorator(func):
    def decorate(new):
        return functools.wraps(func)(new)
    return decorate


def _raises(*exceptions):
    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            import pytest

            with pytest.raises(exceptions):
                func(*args, **kwargs)
        return run
    return decorate


def _with_setup(setup=None, teardown=None):
    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            if setup:
                setup()
            try:
                func(*args, **kwargs)
            finally:
                if teardown:
                    teardown()
        return run
    return decorate


class SkipTest(Exception):
    pass


def _install_nose() -> None:
    nose = types.ModuleType("nose")
    tools = types.ModuleType("nose.tools")
    tools.assert_raises = _assert_raises
    tools.make_decorator = _make_decorator
    tools.raises = _raises
    tools.with_setup = _with_setup
    tools.ok_ = lambda expr, msg=None: None if expr else (_ for _ in ()).throw(
        AssertionError(msg))
    tools.eq_ = lambda a, b, msg=None: None if a == b else (_ for _ in ()).throw(
        AssertionError(msg or f"{a!r} != {b!r}"))
    plugins = types.ModuleType("nose.plugins")
    skip = types.ModuleType("nose.plugins.skip")
    try:
        import pytest
        skip.SkipTest = pytest.skip.Exception
    except ImportError:
        skip.SkipTest = SkipTest
    attrib = types.ModuleType("nose.plugins.attrib")
    attrib.attr = lambda *a, **k: (lambda f: f)
    nose.tools, nose.plugins = tools, plugins
    plugins.skip, plugins.attrib = skip, attrib
    nose.SkipTest = skip.SkipTest
    for name, mod in (("nose", nose), ("nose.tools", tools), ("nose.plugins", plugins),
                      ("nose.plugins.skip", skip), ("nose.plugins.attrib", attrib)):
        sys.modules[name] = mod
