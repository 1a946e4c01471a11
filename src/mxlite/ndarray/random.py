"""``mx.nd.random``: arrays of random numbers from :func:`mxlite.random.generator`.

Parameters given as NDArrays draw one sample block per element: the result's shape is the
parameter's shape followed by ``shape``, as MXNet's ``_sample_*`` operators give.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from ..context import Context
from ..random import generator
from .ndarray import NDArray, _as_ctx, _as_dtype, _as_shape

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "shuffle"]

_FLOATS = ("float16", "float32", "float64")


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    dt = _as_dtype(dtype)
    if dt.name not in _FLOATS:
        raise MXNetError(f"{op}: invalid dtype {dt.name!r}; valid values are {_FLOATS}")
    return dt


def _shape(shape: Any) -> tuple[int, ...]:
    # MXNet's default (an empty shape) draws one number.
    if shape is None:
        return (1,)
    shape = _as_shape(shape)
    return shape if shape else (1,)


def _params(*params: Any) -> tuple[list[Any], tuple[int, ...] | None, Context | None]:
    """Parameters as numpy (broadcastable against the sample block) plus their array shape."""
    arrays = [p for p in params if isinstance(p, NDArray)]
    if not arrays:
        return list(params), None, None
    if len(arrays) != len(params):
        raise MXNetError("random sampling: parameters must be all NDArrays or all scalars")
    pshape = arrays[0].shape
    if any(a.shape != pshape for a in arrays):
        raise MXNetError(f"random sampling: parameter shapes differ: {[a.shape for a in arrays]}")
    return [a._data for a in arrays], pshape, arrays[0]._ctx


def _draw(op: str, sample, params: tuple, shape: Any, dtype: np.dtype, ctx: Context | None,
          out: NDArray | None) -> NDArray:
    values, pshape, pctx = _params(*params)
    if pshape is None:
        size = _shape(shape) if out is None or shape is not None else out.shape
        result = sample(*values, size)
    else:
        extra = () if shape is None else _as_shape(shape)
        size = pshape + extra
        expanded = [v.reshape(pshape + (1,) * len(extra)).astype(np.float64) for v in values]
        result = sample(*expanded, size)
    result = np.asarray(result).astype(dtype, copy=False)
    if out is not None:
        if out.shape != result.shape:
            raise MXNetError(f"{op}: out has shape {out.shape}, the sample has {result.shape}")
        out._data[...] = result
        return out
    return NDArray(result, _as_ctx(ctx if ctx is not None else pctx))


def uniform(low: Any = 0.0, high: Any = 1.0, shape: Any = None, dtype: Any = None,
            ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the uniform distribution on ``[low, high)``."""
    dt = _float_dtype(dtype, "uniform")
    return _draw("uniform", lambda lo, hi, size: generator().uniform(lo, hi, size),
                 (low, high), shape, dt, ctx, out)


def normal(loc: Any = 0.0, scale: Any = 1.0, shape: Any = None, dtype: Any = None,
           ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Samples from the normal distribution with mean ``loc`` and deviation ``scale``."""
    dt = _float_dtype(dtype, "normal")
    return _draw("normal", lambda mu, sigma, size: generator().normal(mu, sigma, size),
                 (loc, scale), shape, dt, ctx, out)


def randn(*shape: int, loc: float = 0.0, scale: float = 1.0, dtype: Any = None,
          ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Normal samples of shape ``shape`` given positionally: ``randn(2, 3)``."""
    return normal(loc, scale, shape or None, dtype, ctx, out)


def exponential(scale: Any = 1.0, shape: Any = None, dtype: Any = None,
                ctx: Context | None = None, out: NDArray | None = None,
                **kwargs: Any) -> NDArray:
    """Samples from the exponential distribution with mean ``scale``."""
    dt = _float_dtype(dtype, "exponential")
    return _draw("exponential", lambda s, size: generator().exponential(s, size),
                 (scale,), shape, dt, ctx, out)


def randint(low: int, high: int, shape: Any = None, dtype: Any = None,
            ctx: Context | None = None, out: NDArray | None = None, **kwargs: Any) -> NDArray:
    """Integers uniformly from ``[low, high)``; dtype int32 (default) or int64."""
    dt = _as_dtype(dtype, np.dtype(np.int32))
    if dt.name not in ("int32", "int64"):
        raise MXNetError(f"randint: invalid dtype {dt.name!r}; valid values are "
                         "('int32', 'int64')")
    if not int(low) < int(high):
        raise MXNetError(f"randint: low ({low}) must be less than high ({high})")
    size = _shape(shape) if out is None or shape is not None else out.shape
    result = generator().integers(int(low), int(high), size, dtype=dt)
    if out is not None:
        out._data[...] = result
        return out
    return NDArray(result, _as_ctx(ctx))


def shuffle(data: NDArray, **kwargs: Any) -> NDArray:
    """A copy of ``data`` with its first axis randomly permuted."""
    return NDArray(generator().permutation(data._data, axis=0), data._ctx)
