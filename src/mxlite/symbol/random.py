"""``mx.sym.random``: random-number nodes, as MXNet's ``mx.sym.random``.

Numbers as the distribution's parameters make a ``_random_<dist>`` node, Symbols a
``_sample_<dist>`` node taking them as inputs. Other names (``uniform_like``, ...) are the
``_random_*`` operators, made on first use.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from ..base import MXNetError
from .register import make_function as _make_function
from .register import namespace_getattr as _namespace_getattr

__all__ = ["uniform", "normal", "randn", "poisson", "exponential", "gamma", "multinomial",
           "negative_binomial", "generalized_negative_binomial", "shuffle", "randint"]


def _is_symbol(v: Any) -> bool:
    from .symbol import Symbol

    return isinstance(v, Symbol)


def _helper(dist: str, names: tuple[str, ...], params: list, shape: Any, dtype: Any,
            kwargs: dict) -> Any:
    """MXNet's ``_random_helper``: parameters given only when the caller gave them."""
    if shape is not None:
        kwargs["shape"] = shape
    if dtype is not None:
        kwargs["dtype"] = dtype
    if _is_symbol(params[0]):
        if not all(_is_symbol(p) for p in params):
            raise MXNetError(f"{dist}: distribution parameters must all have the same type, "
                             f"but got {[type(p).__name__ for p in params]}")
        return _make_function(f"_sample_{dist}")(*params, **kwargs)
    if not all(isinstance(p, (Number, np.number)) and not isinstance(p, bool)
               for p in params):
        raise MXNetError(f"{dist}: distribution parameters must be all numbers or all "
                         f"Symbols, but got {[type(p).__name__ for p in params]}")
    return _make_function(f"_random_{dist}")(**dict(zip(names, params)), **kwargs)


def uniform(low: Any = 0, high: Any = 1, shape: Any = None, dtype: Any = None,
            **kwargs: Any) -> Any:
    """Uniform samples on ``[low, high)``."""
    return _helper("uniform", ("low", "high"), [low, high], shape, dtype, kwargs)


def normal(loc: Any = 0, scale: Any = 1, shape: Any = None, dtype: Any = None,
           **kwargs: Any) -> Any:
    """Normal samples with mean ``loc`` and deviation ``scale``."""
    return _helper("normal", ("loc", "scale"), [loc, scale], shape, dtype, kwargs)


def randn(*shape: int, **kwargs: Any) -> Any:
    """Normal samples of shape ``shape`` given positionally."""
    loc, scale = kwargs.pop("loc", 0), kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", None)
    return _helper("normal", ("loc", "scale"), [loc, scale], shape, dtype, kwargs)


def poisson(lam: Any = 1, shape: Any = None, dtype: Any = None, **kwargs: Any) -> Any:
    """Poisson samples with rate ``lam``."""
    return _helper("poisson", ("lam",), [lam], shape, dtype, kwargs)


def exponential(scale: Any = 1, shape: Any = None, dtype: Any = None, **kwargs: Any) -> Any:
    """Exponential samples with mean ``scale`` (rate 1/scale)."""
    return _helper("exponential", ("lam",), [1.0 / scale], shape, dtype, kwargs)


def gamma(alpha: Any = 1, beta: Any = 1, shape: Any = None, dtype: Any = None,
          **kwargs: Any) -> Any:
    """Gamma samples with shape ``alpha`` and scale ``beta``."""
    return _helper("gamma", ("alpha", "beta"), [alpha, beta], shape, dtype, kwargs)


def negative_binomial(k: Any = 1, p: Any = 1, shape: Any = None, dtype: Any = None,
                      **kwargs: Any) -> Any:
    """Negative binomial samples: failures before the ``k``-th success."""
    return _helper("negative_binomial", ("k", "p"), [k, p], shape, dtype, kwargs)


def generalized_negative_binomial(mu: Any = 1, alpha: Any = 1, shape: Any = None,
                                  dtype: Any = None, **kwargs: Any) -> Any:
    """Generalized negative binomial samples with mean ``mu`` and dispersion ``alpha``."""
    return _helper("generalized_negative_binomial", ("mu", "alpha"), [mu, alpha], shape,
                   dtype, kwargs)


def multinomial(data: Any, shape: Any = None, get_prob: bool = True, dtype: Any = "int32",
                **kwargs: Any) -> Any:
    """Class indices drawn from ``data``'s last axis (and, by default here as in MXNet's
    symbol API, their log-probabilities)."""
    if shape is not None:
        kwargs["shape"] = shape
    return _make_function("_sample_multinomial")(data, get_prob=get_prob, dtype=dtype,
                                                 **kwargs)


def shuffle(data: Any, **kwargs: Any) -> Any:
    """``data`` with its first axis randomly permuted."""
    return _make_function("_shuffle")(data, **kwargs)


def randint(low: int, high: int, shape: Any = None, dtype: Any = None, **kwargs: Any) -> Any:
    """Integers uniformly from ``[low, high)``."""
    return _helper("randint", ("low", "high"), [low, high], shape, dtype, kwargs)


# uniform_like, normal_like, ...: the _random_* operators under their short names.
__getattr__, __dir__ = _namespace_getattr(globals(), "_random_")
