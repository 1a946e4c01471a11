"""``mx.nd.random``: arrays of random numbers from :func:`mxlite.random.generator`.

As in MXNet, each function runs a registry operator: ``_random_<dist>`` when the distribution's
parameters are numbers, ``_sample_<dist>`` when they are NDArrays (then the result's shape is the
parameters' shape followed by ``shape``: one block of draws per element). The ``*_like``
functions (``uniform_like``, ``poisson_like``...) are the ``_random_*_like`` operators, made on
first use.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from ..base import MXNetError
from ..context import Context
from .ndarray import NDArray, _as_dtype, _as_shape
from .register import make_function as _make_function
from .register import namespace_getattr as _namespace_getattr

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle"]

_FLOATS = ("float16", "float32", "float64")


def _check_dtype(dtype: Any, op: str, valid: tuple[str, ...] = _FLOATS) -> str | None:
    if dtype is None:
        return None
    dt = _as_dtype(dtype)
    if dt.name not in valid:
        raise MXNetError(f"{op}: invalid dtype {dt.name!r}; valid values are {valid}")
    return dt.name


def _helper(dist: str, params: list, shape: Any, dtype: Any, ctx: Context | None,
            out: NDArray | None, kwargs: dict, valid: tuple[str, ...] = _FLOATS) -> NDArray:
    """MXNet's ``_random_helper``: one operator call for numbers, another for NDArrays."""
    dt = _check_dtype(dtype, dist, valid)
    if dt is not None:
        kwargs["dtype"] = dt
    if isinstance(params[0], NDArray):
        if not all(isinstance(p, NDArray) for p in params):
            raise MXNetError(f"{dist}: distribution parameters must all have the same type, "
                             f"but got {[type(p).__name__ for p in params]}")
        if shape is not None:
            kwargs["shape"] = shape
        return _make_function(f"_sample_{dist}")(*params, out=out, **kwargs)
    if not all(isinstance(p, (Number, np.number)) and not isinstance(p, bool)
               for p in params):
        raise MXNetError(f"{dist}: distribution parameters must be all numbers or all "
                         f"NDArrays, but got {[type(p).__name__ for p in params]}")
    if shape is None:
        shape = out.shape if out is not None else (1,)
    shape = _as_shape(shape) or (1,)  # MXNet's empty shape draws one number
    names = {"uniform": ("low", "high"), "normal": ("loc", "scale"),
             "gamma": ("alpha", "beta"), "exponential": ("lam",), "poisson": ("lam",),
             "negative_binomial": ("k", "p"), "generalized_negative_binomial": ("mu", "alpha"),
             "randint": ("low", "high")}[dist]
    kwargs.update(zip(names, params))
    if ctx is not None:
        kwargs["ctx"] = ctx
    return _make_function(f"_random_{dist}")(shape=shape, out=out, **kwargs)


def uniform(low: Any = 0.0, high: Any = 1.0, shape: Any = None, dtype: Any = None,
            ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the uniform distribution on ``[low, high)``."""
    return _helper("uniform", [low, high], shape, dtype, ctx, out, kwargs)


def normal(loc: Any = 0.0, scale: Any = 1.0, shape: Any = None, dtype: Any = None,
           ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the normal distribution with mean ``loc`` and deviation ``scale``."""
    return _helper("normal", [loc, scale], shape, dtype, ctx, out, kwargs)


def randn(*shape: int, loc: float = 0.0, scale: float = 1.0, dtype: Any = None,
          ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Normal samples of shape ``shape`` given positionally: ``randn(2, 3)``."""
    return normal(loc, scale, shape or None, dtype, ctx, out, **kwargs)


def exponential(scale: Any = 1.0, shape: Any = None, dtype: Any = None,
                ctx: Context | None = None, out: NDArray | None = None,
                **kwargs: Any) -> NDArray:
    """Samples from the exponential distribution with mean ``scale`` (rate 1/scale)."""
    return _helper("exponential", [1.0 / scale], shape, dtype, ctx, out, kwargs)


def gamma(alpha: Any = 1.0, beta: Any = 1.0, shape: Any = None, dtype: Any = None,
          ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the gamma distribution with shape ``alpha`` and scale ``beta``."""
    return _helper("gamma", [alpha, beta], shape, dtype, ctx, out, kwargs)


def poisson(lam: Any = 1.0, shape: Any = None, dtype: Any = None, ctx: Context | None = None,
            out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the Poisson distribution with rate ``lam``."""
    return _helper("poisson", [lam], shape, dtype, ctx, out, kwargs)


def negative_binomial(k: Any = 1, p: Any = 1.0, shape: Any = None, dtype: Any = None,
                      ctx: Context | None = None, out: NDArray | None = None,
                      **kwargs: Any) -> NDArray:
    """Failures before the ``k``-th success, success probability ``p`` per trial."""
    return _helper("negative_binomial", [k, p], shape, dtype, ctx, out, kwargs)


def generalized_negative_binomial(mu: Any = 1.0, alpha: Any = 1.0, shape: Any = None,
                                  dtype: Any = None, ctx: Context | None = None,
                                  out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples with mean ``mu`` and dispersion ``alpha`` (variance mu + alpha * mu^2)."""
    return _helper("generalized_negative_binomial", [mu, alpha], shape, dtype, ctx, out,
                   kwargs)


def multinomial(data: NDArray, shape: Any = None, get_prob: bool = False,
                out: NDArray | None = None, dtype: Any = "int32", **kwargs: Any) -> Any:
    """Class indices drawn from the probabilities in ``data``'s last axis; with ``get_prob``
    also their log-probabilities (differentiable with respect to ``data``)."""
    if shape is not None:
        kwargs["shape"] = shape
    return _make_function("_sample_multinomial")(data, get_prob=get_prob, out=out,
                                                 dtype=dtype, **kwargs)


def randint(low: int, high: int, shape: Any = None, dtype: Any = None,
            ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Integers uniformly from ``[low, high)``; dtype int32 (default) or int64."""
    if not int(low) < int(high):
        raise MXNetError(f"randint: low ({low}) must be less than high ({high})")
    return _helper("randint", [int(low), int(high)], shape, dtype, ctx, out, kwargs,
                   ("int32", "int64"))


def shuffle(data: NDArray, **kwargs: Any) -> NDArray:
    """A copy of ``data`` with its first axis randomly permuted."""
    return _make_function("_shuffle")(data, **kwargs)


# uniform_like, normal_like, ...: the _random_*_like operators.
__getattr__, __dir__ = _namespace_getattr(globals(), "_random_")
