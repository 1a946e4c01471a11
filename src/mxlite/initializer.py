"""Weight initializers (``mx.init`` / ``mx.initializer``), as MXNet 1.9.1 defines them.

An initializer is called as ``init(desc, arr)``.  With an :class:`InitDesc` it first honours
the variable's ``__init__`` attribute (a JSON string such as
``'["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'``, written by
``Variable(init=...)`` and by operators for their auxiliary states), otherwise it dispatches
on the name's suffix: ``weight`` -> ``_init_weight``, ``bias`` / ``beta`` / ``min`` -> 0,
``gamma`` / ``max`` -> 1.  A plain string name takes MXNet's legacy rules instead (which also
know ``upsampling*``, ``stn_loc*``, ``moving_mean`` / ``moving_var`` / ``moving_inv_var`` /
``moving_avg``).

Random initializers draw from mxlite's global generator (``mx.random.seed``), so values
differ from MXNet's while distributions and bounds are the same.  Arrays are filled in place:
``arr`` is an ``NDArray`` (its numpy buffer is written) or a numpy array.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .base import MXNetError

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed", "Zero",
           "One", "Constant", "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu",
           "Bilinear", "LSTMBias"]


def _buf(arr: Any) -> np.ndarray:
    """The numpy buffer behind ``arr`` (an NDArray's ``_data``, or a numpy array itself)."""
    data = getattr(arr, "_data", arr)
    if not isinstance(data, np.ndarray):
        raise MXNetError(f"initializer: expected an NDArray or numpy array, got "
                         f"{type(arr).__name__}")
    return data


def _generator() -> np.random.Generator:
    # The global generator lives in mx.random so that mx.random.seed() governs initializers.
    from . import random as _random
    return _random.generator()


def _fill_uniform(arr: Any, low: float, high: float) -> None:
    buf = _buf(arr)
    gen = _generator()
    if buf.dtype in (np.float32, np.float64) and buf.flags.c_contiguous:
        gen.random(out=buf, dtype=buf.dtype)  # [0, 1), drawn straight into the buffer
        buf *= high - low
        buf += low
    else:
        buf[...] = gen.uniform(low, high, buf.shape)


def _fill_normal(arr: Any, loc: float, scale: float) -> None:
    buf = _buf(arr)
    gen = _generator()
    if buf.dtype in (np.float32, np.float64) and buf.flags.c_contiguous:
        gen.standard_normal(out=buf, dtype=buf.dtype)
        buf *= scale
        buf += loc
    else:
        buf[...] = gen.normal(loc, scale, buf.shape)


class InitDesc(str):
    """Name of a variable to initialize, with its attributes (``Symbol.attr_dict()[name]``).

    Parameters
    ----------
    name : str
        Name of the variable.
    attrs : dict of str to str
        The variable's attributes; ``attrs['__init__']`` selects its initializer.
    global_init : Initializer
        The initializer to fall back to (set by the first initializer that sees it).
    """

    attrs: dict[str, str]
    global_init: Initializer | None

    def __new__(cls, name: str, attrs: dict[str, str] | None = None,
                global_init: Initializer | None = None) -> InitDesc:
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


class Initializer:
    """Base class of the initializers; subclasses override ``_init_weight``.

    ``dumps()`` serialises the constructor arguments as ``'["<lowercase class>", {kwargs}]'``
    in the order the constructor recorded them; ``create`` reverses it.
    """

    def __init__(self, **kwargs: Any):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func: Callable[[Any], str] | None = None

    def set_verbosity(self, verbose: bool = False,
                      print_func: Callable[[Any], str] | None = None) -> Initializer:
        """Log a statistic of every array initialized (default: ``norm(x) / sqrt(size)``)."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x: Any) -> str:
                b = _buf(x)
                return str(float(np.linalg.norm(b.ravel())) / np.sqrt(max(b.size, 1)))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc: str, init: str, arr: Any) -> None:
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self) -> str:
        """The initializer as MXNet's JSON string, e.g. ``'["normal", {"sigma": 0.5}]'``."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, desc: str, arr: Any) -> None:
        """Initialize ``arr`` in place according to ``desc``."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        init = desc.attrs.get("__init__", "")
        if init:
            create(init)._init_weight(desc, arr)
            self._verbose_print(desc, init, arr)
            return
        # The suffix rules of MXNet's InitDesc path (its legacy path below has more).
        for suffix, method in (("weight", self._init_weight), ("bias", self._init_bias),
                               ("gamma", self._init_gamma), ("beta", self._init_beta),
                               ("min", self._init_zero), ("max", self._init_one),
                               ("weight_quantize", self._init_quantized_weight),
                               ("bias_quantize", self._init_zero)):
            if desc.endswith(suffix):
                method(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _legacy_init(self, name: str, arr: Any) -> None:
        """MXNet's rules for a plain string name (deprecated there too)."""
        warnings.warn("Calling initializer with init(str, NDArray) has been deprecated. "
                      "please use init(mx.init.InitDesc(...), NDArray) instead.",
                      DeprecationWarning, stacklevel=3)
        if not isinstance(name, str):
            raise MXNetError(f"initializer: name must be a string, got {type(name).__name__}")
        _buf(arr)
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        elif name.endswith("bias"):
            self._init_bias(name, arr)
        elif name.endswith("gamma"):
            self._init_gamma(name, arr)
        elif name.endswith("beta"):
            self._init_beta(name, arr)
        elif name.endswith("weight"):
            self._init_weight(name, arr)
        elif name.endswith(("moving_mean", "moving_inv_var", "moving_avg", "min")):
            self._init_zero(name, arr)
        elif name.endswith(("moving_var", "max")):
            self._init_one(name, arr)
        else:
            self._init_default(name, arr)

    def _init_bilinear(self, _: str, arr: Any) -> None:
        buf = _buf(arr)
        if buf.ndim != 4:
            raise MXNetError(f"bilinear initializer needs a 4-d weight, got shape {buf.shape}")
        kh, kw = buf.shape[2], buf.shape[3]
        f = np.ceil(kw / 2.0)  # MXNet derives f and c from the width for both axes
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        wx = 1 - np.abs(np.arange(kw) / f - c)
        wy = 1 - np.abs(np.arange(kh) / f - c)
        buf[...] = np.outer(wy, wx).astype(np.float32)

    def _init_loc_bias(self, _: str, arr: Any) -> None:
        buf = _buf(arr)
        if buf.shape[:1] != (6,):
            raise MXNetError(f"stn_loc bias must have 6 entries, got shape {buf.shape}")
        buf[...] = np.array([1.0, 0, 0, 0, 1.0, 0])

    def _init_zero(self, _: str, arr: Any) -> None:
        _buf(arr)[...] = 0

    def _init_one(self, _: str, arr: Any) -> None:
        _buf(arr)[...] = 1

    _init_bias = _init_zero
    _init_beta = _init_zero
    _init_gamma = _init_one

    def _init_weight(self, name: str, arr: Any) -> None:
        raise NotImplementedError("Must override it")

    def _init_quantized_weight(self, _: str, arr: Any) -> None:
        buf = _buf(arr)
        buf[...] = _generator().integers(-127, 127, buf.shape).astype(np.int8)

    def _init_default(self, name: str, _: Any) -> None:
        raise MXNetError(
            f"Unknown initialization pattern for {name}. Default initialization is now "
            'limited to "weight", "bias", "gamma" (1.0), and "beta" (0.0). Please use '
            "mx.sym.Variable(init=mx.init.*) to set initialization pattern")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    __hash__ = object.__hash__


_REGISTRY: dict[str, type[Initializer]] = {}


def register(klass: type[Initializer], name: str | None = None) -> type[Initializer]:
    """Register an ``Initializer`` subclass under its lowercase class name (or ``name``)."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise MXNetError(f"Can only register subclass of Initializer, got {klass!r}")
    key = (name or klass.__name__).lower()
    if key in _REGISTRY:
        old = _REGISTRY[key]
        warnings.warn(f"New initializer {klass.__module__}.{klass.__name__} registered with "
                      f"name {key} is overriding existing initializer "
                      f"{old.__module__}.{old.__name__}", UserWarning, stacklevel=2)
    _REGISTRY[key] = klass
    return klass


def alias(*aliases: str) -> Callable[[type[Initializer]], type[Initializer]]:
    """Class decorator registering extra names for an initializer."""
    def reg(klass: type[Initializer]) -> type[Initializer]:
        for name in aliases:
            register(klass, name)
        return klass
    return reg


def create(*args: Any, **kwargs: Any) -> Initializer:
    """An initializer from an instance, a name, a ``dumps()`` JSON string or a dict.

    ``create('xavier', magnitude=2)``, ``create('["xavier", {"magnitude": 2}]')`` and
    ``create({'initializer': 'xavier', 'magnitude': 2})`` are the same.
    """
    if args:
        name, args = args[0], args[1:]
    elif "initializer" in kwargs:
        name = kwargs.pop("initializer")
    else:
        raise MXNetError("create: no initializer given")
    if isinstance(name, Initializer):
        if args or kwargs:
            raise MXNetError("initializer is already an instance. Additional arguments are "
                             "invalid")
        return name
    if isinstance(name, dict):
        return create(**name)
    if not isinstance(name, str):
        raise MXNetError(f"initializer must be of string type, got {type(name).__name__}")
    if name.startswith(("[", "{")):
        if args or kwargs:
            raise MXNetError(f"create({name!r}): a JSON description takes no more arguments")
        try:
            spec = json.loads(name)
        except ValueError as e:
            raise MXNetError(f"initializer description {name!r} is not valid JSON: {e}") from e
        if isinstance(spec, dict):
            return create(**spec)
        if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], dict)):
            raise MXNetError(f"initializer description {name!r}: expected "
                             '["<name>", {<kwargs>}]')
        return create(spec[0], **spec[1])
    klass = _REGISTRY.get(name.lower())
    if klass is None:
        raise MXNetError(f"{name.lower()} is not registered. Please register with "
                         "initializer.register first")
    return klass(*args, **kwargs)


class Load:
    """Initialize from saved parameters (a file name or a dict of name -> NDArray).

    ``arg:`` / ``aux:`` prefixes are dropped from the loaded names; names not found go to
    ``default_init``.
    """

    def __init__(self, param: str | dict[str, Any], default_init: Any = None,
                 verbose: bool = False):
        if isinstance(param, str):
            from .ndarray.utils import load
            param = load(param)
        if not isinstance(param, dict):
            raise MXNetError("Load: param must be a file name or a dict of name -> NDArray")
        self.param = {(k[4:] if k.startswith(("arg:", "aux:")) else k): v
                      for k, v in param.items()}
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name: str, arr: Any) -> None:
        if name in self.param:
            src = _buf(self.param[name])
            dst = _buf(arr)
            if dst.shape != src.shape:
                raise MXNetError(f"Parameter {name} cannot be initialized from loading. Shape "
                                 f"mismatch, target {dst.shape} vs loaded {src.shape}")
            dst[...] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise MXNetError(f"Cannot Initialize {name}. Not found in loaded param and no "
                                 "default Initializer is provided.")
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)


class Mixed:
    """Initialize each parameter with the first initializer whose pattern matches its name.

    Patterns are regular expressions applied with ``re.match``.
    """

    def __init__(self, patterns: list[str], initializers: list[Any]):
        if len(patterns) != len(initializers):
            raise MXNetError(f"Mixed: {len(patterns)} patterns but {len(initializers)} "
                             "initializers")
        self.map = list(zip([re.compile(p) for p in patterns], initializers))

    def __call__(self, name: str, arr: Any) -> None:
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise MXNetError(f"Parameter name {name} did not match any pattern. Consider add a "
                         '".*" pattern at the and with default Initializer.')


@register
@alias("zeros")
class Zero(Initializer):
    """Initialize weights to zero."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _: str, arr: Any) -> None:
        _buf(arr)[...] = 0


@register
@alias("ones")
class One(Initializer):
    """Initialize weights to one."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _: str, arr: Any) -> None:
        _buf(arr)[...] = 1


@register
class Constant(Initializer):
    """Initialize weights to ``value``, a scalar or an array broadcastable to the weight."""

    def __init__(self, value: Any):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _: str, arr: Any) -> None:
        _buf(arr)[...] = getattr(self.value, "_data", self.value)

    def dumps(self) -> str:
        val = self._kwargs["value"]
        if not np.isscalar(val):
            # MXNet stores the array as nested lists (and keeps them in _kwargs).
            self._kwargs["value"] = np.asarray(getattr(val, "_data", val)).tolist()
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])


@register
class Uniform(Initializer):
    """Initialize weights uniformly in ``[-scale, scale)``."""

    def __init__(self, scale: float = 0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _: str, arr: Any) -> None:
        _fill_uniform(arr, -self.scale, self.scale)


@register
class Normal(Initializer):
    """Initialize weights from a normal distribution with mean 0 and deviation ``sigma``."""

    def __init__(self, sigma: float = 0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _: str, arr: Any) -> None:
        _fill_normal(arr, 0.0, self.sigma)


@register
class Orthogonal(Initializer):
    """Initialize the weight, viewed as ``(shape[0], prod(shape[1:]))``, as ``scale`` times
    an orthogonal matrix (Saxe et al., https://arxiv.org/abs/1312.6120).

    ``rand_type`` ('uniform' or 'normal') is the distribution whose SVD supplies the matrix.
    """

    def __init__(self, scale: float = 1.414, rand_type: str = "uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _: str, arr: Any) -> None:
        buf = _buf(arr)
        nout, nin = buf.shape[0], int(np.prod(buf.shape[1:]))
        gen = _generator()
        if self.rand_type == "uniform":
            tmp = gen.uniform(-1.0, 1.0, (nout, nin))
        elif self.rand_type == "normal":
            tmp = gen.standard_normal((nout, nin))
        else:
            raise MXNetError(f"Orthogonal: unknown rand_type {self.rand_type!r} (expected "
                             "'uniform' or 'normal')")
        u, _s, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        buf[...] = self.scale * res.reshape(buf.shape)


@register
class Xavier(Initializer):
    """"Xavier" initialization: keeps gradient scale roughly equal across layers.

    With ``fan_in = shape[1] * prod(shape[2:])`` and ``fan_out = shape[0] * prod(shape[2:])``,
    ``factor`` is their mean (``'avg'``), ``fan_in`` (``'in'``) or ``fan_out`` (``'out'``) and
    ``scale = sqrt(magnitude / factor)``; weights are uniform in ``[-scale, scale]``
    (``rnd_type='uniform'``) or normal with deviation ``scale`` (``'gaussian'``).
    """

    def __init__(self, rnd_type: str = "uniform", factor_type: str = "avg",
                 magnitude: float = 3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _scale(self, name: str, shape: tuple[int, ...]) -> float:
        if len(shape) < 2:
            raise MXNetError(f"Xavier initializer cannot be applied to vector {name}. It "
                             "requires at least 2D.")
        hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        if self.factor_type == "avg":
            factor = (fan_in + fan_out) / 2.0
        elif self.factor_type == "in":
            factor = fan_in
        elif self.factor_type == "out":
            factor = fan_out
        else:
            raise MXNetError(f"Incorrect factor type {self.factor_type!r} (expected 'avg', "
                             "'in' or 'out')")
        return float(np.sqrt(self.magnitude / factor))

    def _init_weight(self, name: str, arr: Any) -> None:
        scale = self._scale(name, _buf(arr).shape)
        if self.rnd_type == "uniform":
            _fill_uniform(arr, -scale, scale)
        elif self.rnd_type == "gaussian":
            _fill_normal(arr, 0.0, scale)
        else:
            raise MXNetError(f"Unknown random type {self.rnd_type!r} (expected 'uniform' or "
                             "'gaussian')")


@register
class MSRAPrelu(Xavier):
    """He et al.'s initialization for PReLU nets (https://arxiv.org/abs/1502.01852):
    Gaussian Xavier with ``magnitude = 2 / (1 + slope ** 2)``.
    """

    def __init__(self, factor_type: str = "avg", slope: float = 0.25):
        magnitude = 2.0 / (1 + slope ** 2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """Bilinear-interpolation kernels for upsampling (deconvolution) weights."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, name: str, arr: Any) -> None:
        self._init_bilinear(name, arr)


@register
class LSTMBias(Initializer):
    """All-zero LSTM bias except the forget gate (the second quarter), set to
    ``forget_bias`` (Jozefowicz et al. 2015 recommend 1.0).
    """

    def __init__(self, forget_bias: float = 1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name: str, arr: Any) -> None:
        buf = _buf(arr)
        buf[...] = 0.0
        num_hidden = int(buf.shape[0] / 4)
        buf[num_hidden:2 * num_hidden] = self.forget_bias
