"""Smaller operators met in saved MXNet graphs: random sampling (``_random_<dist>``,
``_random_<dist>_like``, ``_sample_<dist>``, ``_sample_multinomial``, ``_random_pdf_<dist>``,
``_shuffle``), linspace, layout moves, numpy-style split and histogram, gathers, AMP casts.

Random draws cannot repeat MXNet's numbers (its generator is not numpy's); they come from
:func:`mxlite.random.generator`, so ``mx.random.seed`` makes them repeatable, and follow
MXNet's distributions, parameters, shapes and dtypes."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..base import MXNetError
from ..util import is_np_shape
from . import _window
from . import tensor as _tensor
from ._util import (
    BOOL,
    F32,
    FLOAT,
    INT,
    OPT_INT,
    OPT_SHAPE,
    SHAPE,
    STR,
    P,
    assign,
    assign_type,
    axis_of,
    declare,
    dtypes,
    enum,
    fail,
    like_data,
    opt_dtypes,
    scalar_shape,
    size_of,
)
from .elemwise import digamma, gammaln
from .loss import identity_forward
from .reduce import kept_shape, reduce_axes, reduce_shape
from .registry import Attrs, FloatTuple, Optional, merge_dtype, merge_shape, same_shape, same_type

I64 = np.dtype("int64")
F16 = np.dtype("float16")

# ----------------------------------------------------------------------------------------
# Sampling. _random_*: no inputs; shape and dtype from the parameters (dtype None means
# float32, or int32 for randint). *_like: the data's shape and dtype. _sample_*: parameter
# arrays as inputs, one block of ``shape`` draws per element. Draws come from the context's
# generator (mx.random's when there is none).


def _sample_shape(attrs: Attrs, ins: list, outs: list):
    # Under legacy shape semantics ``shape=()`` is "unknown" (what ``sym.random.randn()``
    # writes), left for the rest of the graph to infer, as MXNet does.
    if attrs.shape == () and not is_np_shape():
        return ins, outs
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


def _sample_type(default: np.dtype):
    def infer(attrs: Attrs, ins: list, outs: list):
        assign_type(attrs, outs, 0, attrs.dtype or default, ["output"])
        return ins, outs
    return infer


_SAMPLE = {"shape": P(SHAPE, None), "ctx": P(STR, "")}


def _rng(ctx) -> np.random.Generator:
    if ctx is not None and ctx.rng is not None:
        return ctx.rng
    from ..random import generator

    return generator()


def _sampler(draw, default: np.dtype):
    def forward(attrs, inputs, ctx):
        t = attrs.dtype or default
        return [np.asarray(draw(attrs, _rng(ctx), attrs.shape or ())).astype(t, copy=False)]
    return forward


_FLOATS = ("float16", "float32", "float64")

declare("_random_randint", "random_randint", "_npi_random_randint",
        params={"low": P(INT), "high": P(INT), **_SAMPLE,
                "dtype": P(opt_dtypes("int32", "int64"), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(np.dtype("int32")),
        forward=_sampler(lambda a, rng, shape: rng.integers(a.low, a.high, shape),
                         np.dtype("int32")))


# What each distribution's parameters must satisfy (MXNet's checks), by (distribution,
# parameter).
_POSITIVE, _NON_NEGATIVE = (lambda v: v > 0, "positive"), (lambda v: v >= 0, "non-negative")
_RULES = {
    ("normal", "scale"): _POSITIVE, ("gamma", "alpha"): _POSITIVE,
    ("gamma", "beta"): _POSITIVE, ("exponential", "lam"): _POSITIVE,
    ("poisson", "lam"): _NON_NEGATIVE, ("negative_binomial", "k"): _NON_NEGATIVE,
    ("negative_binomial", "p"): (lambda v: (v > 0) & (v <= 1), "in (0, 1]"),
    ("generalized_negative_binomial", "mu"): _NON_NEGATIVE,
    ("generalized_negative_binomial", "alpha"): _NON_NEGATIVE,
}


def _validate(attrs: Attrs, dist: str, values: dict, shown: tuple | None = None) -> None:
    """MXNetError naming the first parameter out of its distribution's range (``shown``: the
    names the operator gives them, as a _sample_* op's inputs); arrays are checked element by
    element."""
    names = list(values)
    shown = shown or tuple(names)
    if dist == "uniform":
        lo, hi = np.broadcast_arrays(np.asarray(values["low"]), np.asarray(values["high"]))
        bad = hi < lo
        if bad.any():
            raise fail(attrs, f"{shown[0]}={lo[bad].flat[0]} > {shown[1]}={hi[bad].flat[0]}: "
                              "low must be less or equal to high in a uniform distribution")
        return
    for name, label in zip(names, shown):
        rule = _RULES.get((dist, name))
        if rule is None:
            continue
        ok, what = rule
        a = np.asarray(values[name], dtype=np.float64)
        bad = ~np.asarray(ok(a), dtype=bool)
        if bad.any():
            raise fail(attrs, f"{label}={a[bad].flat[0]}: {name} of a "
                              f"{dist.replace('_', ' ')} distribution must be {what}")


def _negative_binomial(rng, k, p, size):
    # gamma-poisson mixture, as MXNet draws it (k = 0 or p = 1 give 0)
    with np.errstate(divide="ignore"):
        return rng.poisson(rng.gamma(k, (1 - np.asarray(p, np.float64)) / p, size))


def _generalized_negative_binomial(rng, mu, alpha, size):
    mu, alpha = np.asarray(mu, np.float64), np.asarray(alpha, np.float64)
    safe = np.where(alpha > 0, alpha, 1.0)
    lam = np.where(alpha > 0, rng.gamma(1 / safe, safe * mu, size), np.broadcast_to(mu, size))
    return rng.poisson(lam)


# distribution: (parameter names, draw(rng, *params, size)); params broadcast against size.
_DISTS = {
    "uniform": (("low", "high"), lambda rng, a, b, size: rng.uniform(a, b, size)),
    "normal": (("loc", "scale"), lambda rng, a, b, size: rng.normal(a, b, size)),
    "gamma": (("alpha", "beta"), lambda rng, a, b, size: rng.gamma(a, b, size)),
    "exponential": (("lam",), lambda rng, lam, size: rng.exponential(1 / lam, size)),
    "poisson": (("lam",), lambda rng, lam, size: rng.poisson(lam, size)),
    "negative_binomial": (("k", "p"), _negative_binomial),
    "generalized_negative_binomial": (("mu", "alpha"), _generalized_negative_binomial),
}
_DEFAULTS = {"low": 0.0, "high": 1.0, "loc": 0.0, "scale": 1.0, "alpha": 1.0, "beta": 1.0,
             "lam": 1.0, "k": 1, "p": 1.0, "mu": 1.0}


def _dist_params(dist: str) -> dict:
    return {n: P(INT if n == "k" else FLOAT, _DEFAULTS[n]) for n in _DISTS[dist][0]}


def _draw(attrs: Attrs, dist: str, values: list, size: tuple, ctx,
          shown: tuple | None = None) -> np.ndarray:
    names, draw = _DISTS[dist]
    _validate(attrs, dist, dict(zip(names, values)), shown)
    return np.asarray(draw(_rng(ctx), *values, size))


def _scalar_forward(dist: str):
    def forward(attrs, inputs, ctx):
        values = [getattr(attrs, n) for n in _DISTS[dist][0]]
        out = _draw(attrs, dist, values, attrs.shape or (), ctx)
        return [out.astype(attrs.dtype or F32, copy=False)]
    return forward


declare("_random_uniform", "uniform", "random_uniform",
        params={**_dist_params("uniform"), **_SAMPLE, "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32),
        forward=_scalar_forward("uniform"))
declare("_random_normal", "normal", "random_normal",
        params={**_dist_params("normal"), **_SAMPLE, "dtype": P(opt_dtypes(*_FLOATS), None)},
        inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32),
        forward=_scalar_forward("normal"))
for _dist in ("gamma", "exponential", "poisson", "negative_binomial",
              "generalized_negative_binomial"):
    declare(f"_random_{_dist}", f"random_{_dist}",
            params={**_dist_params(_dist), **_SAMPLE, "dtype": P(opt_dtypes(*_FLOATS), None)},
            inputs=(), infer_shape=_sample_shape, infer_type=_sample_type(F32),
            forward=_scalar_forward(_dist))


# -- *_like: the data's shape and dtype, its values unused (a zero gradient, as MXNet's).


def _float_like_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0]
    if t is not None and t.kind != "f":
        raise fail(attrs, f"this operation only supports floating point types, not {t}")
    if t is not None:
        ins[0] = outs[0] = t
    return ins, outs


def _like_forward(dist: str):
    def forward(attrs, inputs, ctx):
        (x,) = inputs
        _float_like_type(attrs, [x.dtype], [None])
        values = [getattr(attrs, n) for n in _DISTS[dist][0]]
        return [_draw(attrs, dist, values, x.shape, ctx).astype(x.dtype, copy=False)]
    return forward


def _zero_gradients(attrs, out_grads, inputs, outputs, ctx):
    return [np.zeros_like(x) for x in inputs]


for _dist in _DISTS:
    declare(f"_random_{_dist}_like", params=_dist_params(_dist), inputs=("data",),
            infer_shape=like_data, infer_type=_float_like_type, forward=_like_forward(_dist),
            backward=_zero_gradients)

# -- _sample_*: one block of ``shape`` draws per element of the parameter arrays.
_SAMPLE_INPUTS = {"uniform": ("low", "high"), "normal": ("mu", "sigma"),
                  "gamma": ("alpha", "beta"), "exponential": ("lam",), "poisson": ("lam",),
                  "negative_binomial": ("k", "p"),
                  "generalized_negative_binomial": ("mu", "alpha")}


def _multi_sample_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    s = None
    for i, x in enumerate(ins):
        try:
            s = merge_shape(s, x)
        except MXNetError:
            raise fail(attrs, f"parameter arrays must have one shape, but {names[i]!r} has "
                              f"{tuple(x)} and {names[0]!r} {tuple(s)}") from None
    if s is not None:
        for i in range(len(ins)):
            assign(attrs, ins, i, s, names)
        o = (*s, *(attrs.shape or ()))
        assign(attrs, outs, 0, o or scalar_shape(), ["output"])
    return ins, outs


def _multi_sample_type(attrs: Attrs, ins: list, outs: list):
    t = next((x for x in ins if x is not None), None)
    for i in range(len(ins)):
        assign_type(attrs, ins, i, t, attrs.op.list_inputs(attrs))
    assign_type(attrs, outs, 0, attrs.dtype or F32, ["output"])
    return ins, outs


def _multi_sample_forward(dist: str):
    def forward(attrs, inputs, ctx):
        _multi_sample_shape(attrs, [x.shape for x in inputs], [None])
        extra = tuple(attrs.shape or ())
        values = [x.astype(np.float64).reshape(x.shape + (1,) * len(extra)) for x in inputs]
        out = _draw(attrs, dist, values, inputs[0].shape + extra, ctx,
                    tuple(attrs.op.list_inputs(attrs)))
        return [out.reshape(out.shape or scalar_shape()).astype(attrs.dtype or F32,
                                                                copy=False)]
    return forward


for _dist, _names in _SAMPLE_INPUTS.items():
    declare(f"_sample_{_dist}", f"sample_{_dist}",
            params={"shape": P(SHAPE, ()), "dtype": P(opt_dtypes(*_FLOATS), None)},
            inputs=_names, infer_shape=_multi_sample_shape, infer_type=_multi_sample_type,
            forward=_multi_sample_forward(_dist), backward=_zero_gradients)


def _multinomial_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        if len(d) < 1 or len(d) > 5:
            raise fail(attrs, f"data of shape {d}: the probabilities need 1 to 5 dims")
        o = (*d[:-1], *(attrs.shape or ())) or scalar_shape()
        names = attrs.op.list_outputs(attrs)
        for i in range(len(outs)):
            assign(attrs, outs, i, o, names)
    return ins, outs


def _multinomial_type(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_outputs(attrs)
    assign_type(attrs, outs, 0, attrs.dtype, names)
    if len(outs) > 1:
        assign_type(attrs, outs, 1, ins[0], names)
    return ins, outs


def _multinomial_forward(attrs, inputs, ctx):
    (p,) = inputs
    _multinomial_shape(attrs, [p.shape], [None] * (2 if attrs.get_prob else 1))
    extra = tuple(attrs.shape or ())
    rows = p.reshape(-1, p.shape[-1]).astype(np.float64)
    cdf = np.cumsum(rows, axis=-1)
    u = _rng(ctx).random((rows.shape[0], max(1, size_of(extra))))
    # the first class whose running sum exceeds the draw (the last one if rounding leaves
    # the sum short of it), as MXNet's sampler scans
    idx = np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(-1), p.shape[-1] - 1)
    o = (*p.shape[:-1], *extra) or scalar_shape()
    outs = [idx.reshape(o).astype(attrs.dtype)]
    if attrs.get_prob:
        with np.errstate(divide="ignore"):
            lp = np.log(np.take_along_axis(rows, idx, axis=1))
        outs.append(lp.reshape(o).astype(p.dtype))
    ctx.saved["index"] = idx
    return outs


def _multinomial_backward(attrs, out_grads, inputs, outputs, ctx):
    (p,) = inputs
    grad = np.zeros(p.shape, np.float64).reshape(-1, p.shape[-1])
    if attrs.get_prob:
        rows = p.reshape(-1, p.shape[-1]).astype(np.float64)
        idx = outputs[0].reshape(rows.shape[0], -1).astype(np.int64)
        g = out_grads[1].reshape(idx.shape) / np.take_along_axis(rows, idx, axis=1)
        np.add.at(grad, (np.arange(rows.shape[0])[:, None], idx), g)
    return [grad.reshape(p.shape).astype(p.dtype, copy=False)]


declare("_sample_multinomial", "sample_multinomial",
        params={"shape": P(SHAPE, ()), "get_prob": P(BOOL, False),
                "dtype": P(dtypes("float16", "float32", "float64", "int32", "uint8"),
                           np.dtype("int32"))},
        outputs=lambda a: ("output0", "output1") if a.get_prob else ("output",),
        infer_shape=_multinomial_shape, infer_type=_multinomial_type,
        forward=_multinomial_forward, backward=_multinomial_backward)


def _zipfian_shape(attrs: Attrs, ins: list, outs: list):
    s = attrs.shape
    if s is None or len(s) != 2:
        raise fail(attrs, f"shape={s} must be (batch_size, num_sampled)")
    if s[1] > attrs.range_max:
        raise fail(attrs, f"shape={s}: cannot draw {s[1]} unique classes out of range_max="
                          f"{attrs.range_max}")
    assign(attrs, outs, 0, s, ["output0", "output1"])
    assign(attrs, outs, 1, s[:1], ["output0", "output1"])
    return ins, outs


def _zipfian_forward(attrs, inputs, ctx):
    """Unique classes per row from the log-uniform (Zipfian) distribution
    P(c) = log((c + 2) / (c + 1)) / log(range_max + 1), and how many draws each row took."""
    _zipfian_shape(attrs, [], [None, None])
    batch, n = attrs.shape
    rng, log_range = _rng(ctx), np.log(attrs.range_max + 1)
    samples = np.zeros((batch, n), I64)
    tries = np.zeros(batch, I64)
    for b in range(batch):  # each row draws until it holds n distinct classes
        draws = np.zeros(0, I64)
        while True:
            more = (np.exp(rng.random(2 * n) * log_range) - 1).astype(I64)
            draws = np.concatenate([draws, np.minimum(more, attrs.range_max - 1)])
            first = np.sort(np.unique(draws, return_index=True)[1])
            if first.size >= n:
                break
        samples[b] = draws[first[:n]]
        tries[b] = first[n - 1] + 1
    return [samples, tries]


declare("_sample_unique_zipfian", params={"range_max": P(INT), "shape": P(OPT_SHAPE, None)},
        inputs=(), outputs=("output0", "output1"), infer_shape=_zipfian_shape,
        infer_type=lambda attrs, ins, outs: (ins, [I64, I64]), forward=_zipfian_forward)


# -- _random_pdf_*: densities (or log-densities) of samples under per-element parameters.
# A sample array is the parameters' shape followed by the draws' dims (Dirichlet: then the
# K categories). Parameters as MXNet defines them: gamma's beta is a rate here (the sampler's
# is a scale), negative binomial's p a success probability, the generalized one's (mu, alpha)
# a mean and a dispersion. Gradients reach the sample and every parameter.


def _lpdf_uniform(x, low, high):
    w = high - low
    return -np.log(w) + 0 * x, [0 * x, 1 / w + 0 * x, -1 / w + 0 * x]


def _lpdf_normal(x, mu, sigma):
    z = (x - mu) / sigma
    lp = -0.5 * z * z - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    return lp, [-z / sigma, z / sigma, (z * z - 1) / sigma]


def _lpdf_gamma(x, alpha, beta):
    lp = alpha * np.log(beta) + (alpha - 1) * np.log(x) - beta * x - gammaln(alpha)
    return lp, [(alpha - 1) / x - beta, np.log(beta) + np.log(x) - digamma(alpha),
                alpha / beta - x]


def _lpdf_exponential(x, lam):
    return np.log(lam) - lam * x, [-lam + 0 * x, 1 / lam - x]


def _lpdf_poisson(x, lam):
    lp = x * np.log(lam) - lam - gammaln(x + 1)
    return lp, [np.log(lam) - digamma(x + 1), x / lam - 1]


def _lpdf_negative_binomial(x, k, p):
    lp = (gammaln(x + k) - gammaln(x + 1) - gammaln(k) + k * np.log(p)
          + x * np.log1p(-p))
    return lp, [digamma(x + k) - digamma(x + 1) + np.log1p(-p),
                digamma(x + k) - digamma(k) + np.log(p), k / p - x / (1 - p)]


def _lpdf_generalized_negative_binomial(x, mu, alpha):
    k, am = 1 / alpha, alpha * mu
    lp = (gammaln(x + k) - gammaln(x + 1) - gammaln(k) - k * np.log1p(am)
          + x * np.log(am / (1 + am)))
    d_mu = (x - mu) / (mu * (1 + am))
    d_alpha = ((digamma(k) - digamma(x + k) + np.log1p(am)) / (alpha * alpha)
               + (x - mu) / (alpha * (1 + am)))
    return lp, [digamma(x + k) - digamma(x + 1) + np.log(am / (1 + am)), d_mu, d_alpha]


def _lpdf_dirichlet(x, alpha):
    lp = (gammaln(alpha.sum(-1)) - gammaln(alpha).sum(-1)
          + ((alpha - 1) * np.log(x)).sum(-1))
    d_alpha = digamma(alpha.sum(-1, keepdims=True)) - digamma(alpha) + np.log(x)
    return lp, [(alpha - 1) / x, d_alpha]


_PDFS = {"uniform": (("low", "high"), _lpdf_uniform),
         "normal": (("mu", "sigma"), _lpdf_normal),
         "gamma": (("alpha", "beta"), _lpdf_gamma),
         "exponential": (("lam",), _lpdf_exponential),
         "poisson": (("lam",), _lpdf_poisson),
         "negative_binomial": (("k", "p"), _lpdf_negative_binomial),
         "generalized_negative_binomial": (("mu", "alpha"),
                                           _lpdf_generalized_negative_binomial),
         "dirichlet": (("alpha",), _lpdf_dirichlet)}


def _pdf_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    p = None
    for i in range(1, len(ins)):
        try:
            p = merge_shape(p, ins[i])
        except MXNetError:
            raise fail(attrs, f"parameter arrays must have one shape, but {names[i]!r} has "
                              f"{tuple(ins[i])} and {names[1]!r} {tuple(p)}") from None
    s = ins[0]
    dirichlet = attrs.op.name == "_random_pdf_dirichlet"
    if s is not None and p is not None:
        lead = p[:-1] if dirichlet else p
        if len(s) < len(p) or tuple(s[:len(lead)]) != tuple(lead) or (
                dirichlet and s[-1] != p[-1]):
            raise fail(attrs, f"sample of shape {tuple(s)} must begin with the parameters' "
                              f"shape {tuple(p)}" + (" and end with its last dim"
                                                     if dirichlet else ""))
    if p is not None:
        for i in range(1, len(ins)):
            assign(attrs, ins, i, p, names)
    if s is not None:
        assign(attrs, outs, 0, (s[:-1] if dirichlet else s) or scalar_shape(), ["output"])
    return ins, outs


def _pdf_parts(attrs: Attrs, inputs: list):
    """(log-density, its gradients, the parameters' broadcast shape) in float64."""
    _pdf_shape(attrs, [x.shape for x in inputs], [None])
    x = inputs[0].astype(np.float64)
    dirichlet = attrs.op.name == "_random_pdf_dirichlet"
    lead = inputs[1].ndim - (1 if dirichlet else 0)
    extra = x.ndim - inputs[1].ndim
    params = [p.astype(np.float64) for p in inputs[1:]]
    if dirichlet:
        params = [p.reshape(p.shape[:-1] + (1,) * extra + p.shape[-1:]) for p in params]
    else:
        params = [p.reshape(p.shape + (1,) * extra) for p in params]
    fn = _PDFS[attrs.op.name[len("_random_pdf_"):]][1]
    with np.errstate(divide="ignore", invalid="ignore"):
        lp, grads = fn(x, *params)
    return lp, grads, lead, extra


def _pdf_forward(attrs, inputs, ctx):
    lp, _, _, _ = _pdf_parts(attrs, inputs)
    out = lp if attrs.is_log else np.exp(lp)
    return [np.asarray(out).reshape(np.shape(lp) or scalar_shape()).astype(inputs[0].dtype)]


def _pdf_backward(attrs, out_grads, inputs, outputs, ctx):
    lp, grads, lead, extra = _pdf_parts(attrs, inputs)
    g = out_grads[0].reshape(lp.shape).astype(np.float64)
    if not attrs.is_log:
        g = g * np.exp(lp)
    dirichlet = attrs.op.name == "_random_pdf_dirichlet"
    if dirichlet:
        g = g[..., None]
    # Counts are not differentiable: MXNet gives the discrete distributions' samples none.
    discrete = attrs.op.name.endswith(("poisson", "binomial"))
    res = [np.zeros_like(inputs[0]) if discrete else (g * grads[0]).astype(inputs[0].dtype)]
    axes = tuple(range(lead, lead + extra))
    for p, d in zip(inputs[1:], grads[1:]):
        res.append(np.broadcast_to(g * d, np.broadcast_shapes(g.shape, np.shape(d)))
                   .sum(axis=axes).reshape(p.shape).astype(p.dtype))
    return res


for _dist, (_names, _fn) in _PDFS.items():
    declare(f"_random_pdf_{_dist}", f"random_pdf_{_dist}",
            params={"is_log": P(BOOL, False)}, inputs=("sample", *_names),
            infer_shape=_pdf_shape, forward=_pdf_forward, backward=_pdf_backward)


def _shuffle_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [_rng(ctx).permutation(x, axis=0) if x.ndim else x.copy()]


# No backward: MXNet registers no gradient for _shuffle.
declare("_shuffle", "_npi_shuffle", "shuffle", infer_shape=same_shape,
        forward=_shuffle_forward)

NO_BACKWARD = {"_random_gamma", "_random_exponential", "_random_poisson",
               "_random_negative_binomial", "_random_generalized_negative_binomial",
               "_sample_unique_zipfian", "_shuffle"}


def _eye_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, (attrs.N, attrs.M or attrs.N), ["output"])
    return ins, outs


def _eye_forward(attrs, inputs, ctx):
    return [np.eye(attrs.N, attrs.M or attrs.N, attrs.k, dtype=attrs.dtype)]


def _param_dtype(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, attrs.dtype, ["output"])
    return ins, outs


declare("_eye",
        params={"N": P(INT), "M": P(INT, 0), "k": P(INT, 0), "ctx": P(STR, ""),
                "dtype": P(dtypes(*_FLOATS, "int32", "int64", "int8", "uint8"), F32)},
        inputs=(), infer_shape=_eye_shape, infer_type=_param_dtype, forward=_eye_forward)


def _from_double(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``static_cast<DType>(double)`` as MXNet's kernels write it: integers truncate toward zero
    (and wrap), float16 and bfloat16 round through float32 as mshadow's converters do."""
    if dtype.kind in "iu":
        return x.astype(np.int64).astype(dtype)
    if dtype.kind == "f" and dtype.itemsize >= 4:
        return x.astype(dtype)
    return x.astype(np.float32).astype(dtype)


def _linspace_shape(attrs: Attrs, ins: list, outs: list):
    if attrs.num < 0:
        raise fail(attrs, f"num={attrs.num}: the number of samples must be non-negative")
    assign(attrs, outs, 0, (attrs.num,), ["output"])
    return ins, outs


def _linspace_forward(attrs, inputs, ctx):
    # start + step * i in double, then cast: the last value is not snapped to stop (numpy's is).
    n = attrs.num
    gaps = n - 1 if attrs.endpoint else n
    step = (attrs.stop - attrs.start) / gaps if gaps > 0 else 0.0
    return [_from_double(attrs.start + step * np.arange(n, dtype=np.float64), attrs.dtype)]


# MXNet registers _linspace with RangeParam's documentation (step, repeat, infer_range) but
# parses LinspaceParam: these are the parameters it accepts.
declare("_linspace", "_npi_linspace",
        params={"start": P(FLOAT), "stop": P(FLOAT), "num": P(INT), "endpoint": P(BOOL, True),
                "ctx": P(STR, ""),
                "dtype": P(dtypes("bfloat16", *_FLOATS, "int32", "int64", "int8", "uint8"),
                           F32)},
        inputs=(), infer_shape=_linspace_shape, infer_type=_param_dtype,
        forward=_linspace_forward)

# ----------------------------------------------------------------------------------------
# Elementwise extras.


def _hard_sigmoid_forward(attrs, inputs, ctx):
    (x,) = inputs
    return [np.clip(attrs.alpha * x + attrs.beta, 0, 1).astype(x.dtype, copy=False)]


def _hard_sigmoid_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,), (y,) = out_grads, inputs, outputs
    return [(g * ((y > 0) & (y < 1)) * attrs.alpha).astype(x.dtype, copy=False)]


declare("hard_sigmoid", params={"alpha": P(FLOAT, 0.2), "beta": P(FLOAT, 0.5)},
        infer_shape=same_shape, forward=_hard_sigmoid_forward,
        backward=_hard_sigmoid_backward)


def _smooth_l1_forward(attrs, inputs, ctx):
    (x,) = inputs
    s2 = attrs.scalar * attrs.scalar
    a = np.abs(x)
    out = np.where(a < 1 / s2, 0.5 * s2 * x * x, a - 0.5 / s2)
    return [out.astype(x.dtype, copy=False)]


def _smooth_l1_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    s2 = attrs.scalar * attrs.scalar
    return [(g * np.where(np.abs(x) < 1 / s2, s2 * x, np.sign(x))).astype(x.dtype, copy=False)]


# MXNet documents ``scalar`` without a default, but parses smooth_l1's attributes as a numpy
# scalar operator's (NumpyBinaryScalarParam): sigma defaults to 1.
declare("smooth_l1", "_npx_smooth_l1", params={"scalar": P(FLOAT, 1.0)}, infer_shape=same_shape,
        forward=_smooth_l1_forward, backward=_smooth_l1_backward)


def _is_amp_float(t: np.dtype | None) -> bool:
    """The dtypes AMP casts between; float64 and integers pass through it untouched."""
    return t is not None and t.name in ("float16", "float32", "bfloat16")


def _amp_cast_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0]
    if t is not None:
        assign_type(attrs, outs, 0, attrs.dtype if _is_amp_float(t) else t, ["output"])
    return ins, outs


def _amp_cast_forward(attrs, inputs, ctx):
    (x,) = inputs
    if not _is_amp_float(x.dtype) or x.dtype == attrs.dtype:
        return identity_forward(attrs, inputs, ctx)
    return [x.astype(attrs.dtype)]


declare("amp_cast",
        params={"dtype": P(dtypes("bfloat16", *_FLOATS, "int32", "int64", "int8", "uint8"))},
        infer_shape=same_shape, infer_type=_amp_cast_type, forward=_amp_cast_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [og[0].astype(inputs[0].dtype,
                                                                       copy=False)])


def _default_outputs(n: int) -> tuple[str, ...]:
    """MXNet's output names for an operator that declares none: one is "output", more are
    "output0", "output1", ..."""
    return ("output",) if n == 1 else tuple(f"output{i}" for i in range(n))


def _amp_multicast_type(attrs: Attrs, ins: list, outs: list):
    # MXNet's AMPMultiCastType, quirks included: the target starts as the first input's dtype
    # (float32 with cast_narrow) and any float32 (any float16/bfloat16 with cast_narrow) among
    # the inputs or outputs replaces it; float64 and integer inputs keep their dtype.
    narrow = attrs.cast_narrow
    target = F32 if narrow else ins[0]
    for pair in zip(ins, outs):
        named = {t.name: t for t in pair if t is not None}
        if not narrow and "float32" in named:
            target = F32
        elif narrow and "float16" in named:
            target = F16
        elif narrow and "bfloat16" in named:
            target = named["bfloat16"]
    names = attrs.op.list_outputs(attrs)
    for i, t in enumerate(ins):
        assign_type(attrs, outs, i, target if _is_amp_float(t) else t, names)
    return ins, outs


def _pairwise_shape(attrs: Attrs, ins: list, outs: list):
    """Output i has input i's shape, inferred both ways."""
    in_names, out_names = attrs.op.list_inputs(attrs), attrs.op.list_outputs(attrs)
    for i in range(len(ins)):
        assign(attrs, outs, i, ins[i], out_names)
        assign(attrs, ins, i, outs[i], in_names)
    return ins, outs


def _amp_multicast_forward(attrs, inputs, ctx):
    _, types = _amp_multicast_type(attrs, [x.dtype for x in inputs], [None] * len(inputs))
    with np.errstate(over="ignore"):  # float16's overflow is inf, as in MXNet
        return [x if x.dtype == t and i in ctx.inplace else x.astype(t)
                for i, (x, t) in enumerate(zip(inputs, types))]


# No key_var_num_args: MXNet makes the caller give num_outputs, the number of inputs.
declare("amp_multicast",
        params={"num_outputs": P(INT), "cast_narrow": P(BOOL, False)},
        inputs=lambda a: tuple(f"data_{i}" for i in range(a.num_outputs)),
        outputs=lambda a: _default_outputs(a.num_outputs),
        infer_shape=_pairwise_shape, infer_type=_amp_multicast_type,
        forward=_amp_multicast_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [
            g.astype(x.dtype, copy=False) for g, x in zip(og, inputs)])
# Kernels see dense arrays only: the storage change is the NDArray frontend's business.
declare("cast_storage", "_sparse_cast_storage",
        params={"stype": P(enum("csr", "default", "row_sparse"))}, infer_shape=same_shape,
        forward=identity_forward, backward=lambda attrs, og, inputs, outputs, ctx: [og[0]])

# ----------------------------------------------------------------------------------------
# Shape queries.


def _int64_out(attrs: Attrs, ins: list, outs: list):
    assign_type(attrs, outs, 0, I64, ["output"])
    return ins, outs


def _shape_array_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        assign(attrs, outs, 0, (len(ins[0]),), ["output"])
    return ins, outs


def _size_array_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, (1,), ["output"])
    return ins, outs


def _no_gradient(attrs, out_grads, inputs, outputs, ctx):
    return [None] * len(inputs)


# The answer does not depend on the values: MXNet gives the data a zero gradient.
declare("shape_array", "_npx_shape_array", infer_shape=_shape_array_shape,
        infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array(inputs[0].shape, dtype=I64)],
        backward=_no_gradient)
declare("size_array", infer_shape=_size_array_shape, infer_type=_int64_out,
        forward=lambda attrs, inputs, ctx: [np.array([inputs[0].size], dtype=I64)],
        backward=_no_gradient)

# ----------------------------------------------------------------------------------------
# Layout moves.


def _block_out(attrs: Attrs, d: tuple, to_space: bool) -> tuple:
    """MXNet's DepthToSpaceOpShape / SpaceToDepthOpShape checks, in their order, and the
    output shape. Zero-size dims are refused even under np_shape (MXNet does)."""
    b = attrs.block_size
    if len(d) != 4:
        raise fail(attrs, f"data of shape {d} must have 4 dims (NCHW)")
    if b < 1:  # 0 fails MXNet's check; a negative one makes negative dims, refused too
        raise fail(attrs, f"block_size={b} must be a positive integer")
    n, c, h, w = d
    if 0 in d:
        raise fail(attrs, f"data of shape {d} has a zero-size dim (the depth, batch and "
                          "space dims must be non-zero)")
    if to_space:
        if c % (b * b):
            raise fail(attrs, f"the {c} channels of data {d} do not divide by "
                              f"block_size^2 = {b * b}")
        return (n, c // (b * b), h * b, w * b)
    if h % b or w % b:
        raise fail(attrs, f"height and width of data {d} do not divide by "
                          f"block_size = {b}")
    return (n, c * b * b, h // b, w // b)


def _block_shape(to_space: bool):
    def infer(attrs: Attrs, ins: list, outs: list):
        d = ins[0]
        if d is None:
            return ins, outs
        if len(d) == 4 and 0 in d:  # unknown dims (legacy): checked once known
            return ins, outs
        assign(attrs, outs, 0, _block_out(attrs, d, to_space), ["output"])
        return ins, outs
    return infer


def _depth_to_space(x: np.ndarray, b: int) -> np.ndarray:
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _space_to_depth(x: np.ndarray, b: int) -> np.ndarray:
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def _block_forward(to_space: bool):
    move = _depth_to_space if to_space else _space_to_depth

    def forward(attrs, inputs, ctx):
        _block_out(attrs, inputs[0].shape, to_space)  # the imperative call's checks
        return [move(inputs[0], attrs.block_size)]
    return forward


# Each is the other's gradient.
declare("depth_to_space", params={"block_size": P(INT)}, infer_shape=_block_shape(True),
        forward=_block_forward(True),
        backward=lambda attrs, og, inputs, outputs, ctx: [
            _space_to_depth(og[0], attrs.block_size)])
declare("space_to_depth", params={"block_size": P(INT)}, infer_shape=_block_shape(False),
        forward=_block_forward(False),
        backward=lambda attrs, og, inputs, outputs, ctx: [
            _depth_to_space(og[0], attrs.block_size)])


def _diag_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    k = attrs.k
    if len(d) == 1:
        n = d[0] + abs(k)
        assign(attrs, outs, 0, (n, n), ["output"])
        return ins, outs
    a1 = axis_of(attrs, attrs.axis1, len(d), "axis1")
    a2 = axis_of(attrs, attrs.axis2, len(d), "axis2")
    if a1 == a2:
        raise fail(attrs, f"axis1 and axis2 cannot refer to the same axis {a1}")
    n = _diag_len(attrs, d[a1], d[a2]) if d[a1] and d[a2] else 0
    rest = tuple(x for i, x in enumerate(d) if i not in (a1, a2))
    assign(attrs, outs, 0, (*rest, n), ["output"])
    return ins, outs


def _diag_len(attrs: Attrs, rows: int, cols: int) -> int:
    """Length of the k-th diagonal of a rows x cols matrix. As in MXNet, a diagonal just past
    the corner is empty (length 0) and one beyond that does not exist (refused)."""
    k = attrs.k
    n = min(rows, cols - k) if k > 0 else min(rows + k, cols)
    if n < 0:
        raise fail(attrs, f"k={k}: the diagonal does not exist for a {rows} x {cols} matrix "
                          f"(axis1={attrs.axis1}, axis2={attrs.axis2})")
    return n


def _diag_index(attrs: Attrs, shape: tuple):
    """(axis1, axis2, rows, cols) of the k-th diagonal of an N-D array (N >= 2)."""
    a1 = axis_of(attrs, attrs.axis1, len(shape), "axis1")
    a2 = axis_of(attrs, attrs.axis2, len(shape), "axis2")
    k = attrs.k
    i = np.arange(_diag_len(attrs, shape[a1], shape[a2]))
    return a1, a2, (i, i + k) if k >= 0 else (i - k, i)


def _diag_forward(attrs, inputs, ctx):
    (x,) = inputs
    if x.ndim == 1:
        return [np.diag(x, attrs.k)]
    a1, a2, (r, c) = _diag_index(attrs, x.shape)
    return [np.moveaxis(x, (a1, a2), (-2, -1))[..., r, c]]


def _diag_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    if x.ndim == 1:
        return [np.diagonal(g, attrs.k).astype(x.dtype)]
    a1, a2, (r, c) = _diag_index(attrs, x.shape)
    dx = np.zeros_like(x)
    np.moveaxis(dx, (a1, a2), (-2, -1))[..., r, c] = g  # a view: writes land in dx
    return [dx]


declare("diag", params={"k": P(INT, 0), "axis1": P(INT, 0), "axis2": P(INT, 1)},
        infer_shape=_diag_shape, forward=_diag_forward, backward=_diag_backward)

# ----------------------------------------------------------------------------------------
# numpy-style split and histogram.


def _split_v2_count(a: Attrs) -> int:
    return a.sections if a.sections > 0 else len(a.indices)


def _split_v2_bounds(attrs: Attrs, size: int) -> list[tuple[int, int]]:
    """(begin, end) of every output along the axis: ``sections`` as numpy's array_split (the
    first ``size % sections`` parts one longer), else from each index to the next."""
    if attrs.sections > 0:
        q, r = divmod(size, attrs.sections)
        ends = np.cumsum([q + 1] * r + [q] * (attrs.sections - r)).tolist()
        return list(zip([0, *ends[:-1]], ends))
    idx = list(attrs.indices)
    bounds = list(zip(idx, [*idx[1:], size]))
    for i, (b, e) in enumerate(bounds):
        if b > e:
            raise fail(attrs, f"indices {attrs.indices}: output {i} would begin at {b} and end "
                              f"at {e}; indices must ascend")
        if e > size:
            raise fail(attrs, f"indices {attrs.indices}: output {i} ends at {e}, past the "
                              f"{size} elements along the axis")
    if idx and idx[0] != 0:
        raise fail(attrs, f"indices {attrs.indices} must begin with 0: the outputs would cover "
                          f"{size - idx[0]} of the {size} elements along the axis")
    return bounds


def _split_v2_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    ax = axis_of(attrs, attrs.axis, len(d))
    names = attrs.op.list_outputs(attrs)
    if d[ax] == 0:  # unknown length: the parts' lengths are unknown too
        bounds = [(0, 0)] * _split_v2_count(attrs)
    else:
        bounds = _split_v2_bounds(attrs, d[ax])
    for i, (b, e) in enumerate(bounds):
        if attrs.squeeze_axis:
            if d[ax] and e - b != 1:
                raise fail(attrs, f"squeeze_axis needs parts of length 1 along axis {attrs.axis}"
                                  f", but output {i} has {e - b}")
            o = d[:ax] + d[ax + 1:]
        else:
            o = (*d[:ax], e - b, *d[ax + 1:])
        assign(attrs, outs, i, o, names)
    return ins, outs


def _split_v2_forward(attrs, inputs, ctx):
    (x,) = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    lead = (slice(None),) * ax
    parts = [x[(*lead, slice(b, e))] for b, e in _split_v2_bounds(attrs, x.shape[ax])]
    return [p.squeeze(ax) if attrs.squeeze_axis else p for p in parts]


def _split_v2_backward(attrs, out_grads, inputs, outputs, ctx):
    (x,) = inputs
    ax = axis_of(attrs, attrs.axis, x.ndim)
    gs = [np.expand_dims(g, ax) if attrs.squeeze_axis else g for g in out_grads]
    return [np.concatenate(gs, axis=ax).astype(x.dtype, copy=False)]


declare("_split_v2", "_npi_split",
        params={"indices": P(SHAPE), "axis": P(INT, 1), "squeeze_axis": P(BOOL, False),
                "sections": P(INT, 0)},
        outputs=lambda a: _default_outputs(_split_v2_count(a)),
        infer_shape=_split_v2_shape, forward=_split_v2_forward, backward=_split_v2_backward)


def _histogram_uniform(attrs: Attrs) -> bool:
    """bin_cnt + range give uniform bins; neither means the ``bins`` input holds the edges."""
    if (attrs.bin_cnt is None) != (attrs.range is None):
        raise fail(attrs, "bin_cnt and range go together: give both, or neither and a bins "
                          "input of edges")
    return attrs.bin_cnt is not None


def _histogram_shape(attrs: Attrs, ins: list, outs: list):
    names = ["output0", "output1"]
    if _histogram_uniform(attrs):
        n = attrs.bin_cnt
        if n < 0:
            raise fail(attrs, f"bin_cnt={n} must be non-negative")
        assign(attrs, outs, 0, (n,), names)
        assign(attrs, outs, 1, (n + 1,), names)
        return ins, outs
    b = ins[1]
    if b is not None:
        if len(b) != 1:
            raise fail(attrs, f"bins of shape {b} must be a 1-D array of edges")
        if b[0] == 1:
            raise fail(attrs, "bins holds 1 edge; a histogram needs at least 2")
        if b[0]:
            assign(attrs, outs, 0, (b[0] - 1,), names)
            assign(attrs, outs, 1, b, names)
    return ins, outs


def _histogram_type(attrs: Attrs, ins: list, outs: list):
    names = ["output0", "output1"]
    assign_type(attrs, outs, 0, I64, names)
    assign_type(attrs, outs, 1, ins[0], names)  # the data's dtype, whatever the bins' is
    return ins, outs


def _histogram_forward(attrs, inputs, ctx):
    x = inputs[0].reshape(-1)
    if _histogram_uniform(attrs):
        if len(attrs.range) != 2:
            raise fail(attrs, f"range={attrs.range} must hold 2 values, (low, high)")
        lo, hi = attrs.range
        if lo > hi:
            raise fail(attrs, f"range={attrs.range}: low must not exceed high")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        n = attrs.bin_cnt
        i = np.arange(n + 1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            edges = _from_double((hi * i + (n - i) * lo) / n, x.dtype)
        xd = x.astype(np.float64)
        inside = (xd >= lo) & (xd <= hi)
        v = x[inside]
        # MXNet's guess from the double arithmetic, corrected by one against the edges as
        # stored in the data's dtype (which decide for a value on an edge).
        t = np.minimum(((xd[inside] - lo) * (n / (hi - lo))).astype(np.int64), n - 1)
        t -= v < edges[t]
        t += (v >= edges[t + 1]) & (t != n - 1)
    else:
        edges = inputs[1].reshape(-1).astype(x.dtype)
        n = edges.size - 1
        if n < 1:
            raise fail(attrs, f"bins holds {edges.size} edges; a histogram needs at least 2")
        inside = (x >= edges[0]) & (x <= edges[-1])
        # MXNet scans the edges for the first one above the value, even unsorted edges: the
        # first such edge is where their running maximum first exceeds the value.
        t = np.searchsorted(np.maximum.accumulate(edges), x[inside], side="right") - 1
        t = np.minimum(t, n - 1)
    counts = np.bincount(t[t >= 0], minlength=max(n, 0)).astype(I64)
    return [counts, edges]


# No backward: MXNet registers no gradient for _histogram.
declare("_histogram", "_npi_histogram",
        params={"bin_cnt": P(OPT_INT, None), "range": P(Optional(FloatTuple()), None)},
        inputs=lambda a: ("data",) if a.bin_cnt is not None else ("data", "bins"),
        outputs=("output0", "output1"), infer_shape=_histogram_shape,
        infer_type=_histogram_type, forward=_histogram_forward)

# ----------------------------------------------------------------------------------------
# Reductions with extra outputs.


def _moments_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axes, attrs.keepdims)
        for i in range(2):
            assign(attrs, outs, i, o, ["output0", "output1"])
    return ins, outs


def _moments_forward(attrs, inputs, ctx):
    (x,) = inputs
    axes = reduce_axes(attrs, x.ndim, attrs.axes)
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes, keepdims=True)
    o = reduce_shape(attrs, x.shape, attrs.axes, attrs.keepdims)
    return [mean.reshape(o), var.reshape(o)]


def _moments_backward(attrs, out_grads, inputs, outputs, ctx):
    (g_mean, g_var), (x,), (mean, _) = out_grads, inputs, outputs
    kept = kept_shape(attrs, x.shape, attrs.axes)
    n = x.size // max(1, size_of(kept))
    dx = (g_mean.reshape(kept) + 2 * g_var.reshape(kept) * (x - mean.reshape(kept))) / n
    return [dx.astype(x.dtype, copy=False)]


declare("moments", params={"axes": P(OPT_SHAPE, None), "keepdims": P(BOOL, False)},
        outputs=("output0", "output1"), infer_shape=_moments_shape,
        forward=_moments_forward, backward=_moments_backward)


def _square_sum_shape(attrs: Attrs, ins: list, outs: list):
    if ins[0] is not None:
        o = reduce_shape(attrs, ins[0], attrs.axis, attrs.keepdims, attrs.exclude)
        assign(attrs, outs, 0, o, ["output"])
    return ins, outs


def _square_sum_forward(attrs, inputs, ctx):
    (x,) = inputs
    axes = reduce_axes(attrs, x.ndim, attrs.axis, attrs.exclude)
    o = reduce_shape(attrs, x.shape, attrs.axis, attrs.keepdims, attrs.exclude)
    return [np.square(x).sum(axis=axes).reshape(o)]


def _square_sum_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (x,) = out_grads, inputs
    kept = kept_shape(attrs, x.shape, attrs.axis, attrs.exclude)
    return [(2 * x * g.reshape(kept)).astype(x.dtype, copy=False)]


# MXNet runs _square_sum on row_sparse input only; dense arrays get the same maths here.
declare("_square_sum",
        params={"axis": P(OPT_SHAPE, None), "keepdims": P(BOOL, False),
                "exclude": P(BOOL, False)},
        infer_shape=_square_sum_shape, forward=_square_sum_forward,
        backward=_square_sum_backward)

# ----------------------------------------------------------------------------------------
# Gathers and scatters: index inputs may have any dtype.


def _data_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0]
    if t is not None:
        ins[0] = outs[0] = t
    return ins, outs


def _gather_nd_shape(attrs: Attrs, ins: list, outs: list):
    d, idx = ins
    if d is None or idx is None:
        return ins, outs
    m = idx[0]
    if m > len(d):
        raise fail(attrs, f"indices of shape {idx} index {m} dims of data {d}, which has "
                          f"{len(d)}")
    assign(attrs, outs, 0, (*idx[1:], *d[m:]), ["output"])
    return ins, outs


class IndexOutOfBounds(MXNetError, IndexError):
    """An index past its axis: MXNet raises Python's IndexError there (its error type
    registry maps ``IndexError:`` messages to it); this is also an MXNetError."""


def _index_tuple(attrs: Attrs, indices: np.ndarray, shape: tuple) -> tuple:
    """gather_nd's indices (M, ...) as a numpy fancy index into the first M dims of ``shape``;
    negative indices count from the end, as in MXNet; out-of-range ones are an error."""
    bound = np.array(shape[:len(indices)]).reshape((-1,) + (1,) * (indices.ndim - 1))
    # MXNet compares the indices as given (a float 2.5 is past an axis of 3) before it
    # truncates them; it reports the first axis with a bad index, and that axis's last one.
    bad = (indices > bound - 1) | (indices < -bound)
    if bad.any():
        m = int(np.argmax(bad.reshape(len(bad), -1).any(axis=1)))
        where = np.unravel_index(np.flatnonzero(bad[m])[-1], bad.shape[1:])
        value = indices[(m, *where)]
        value = int(value) if float(value).is_integer() else float(value)
        raise IndexOutOfBounds(
            f"operator {attrs.op.name}: index out of bound: indices[{m}, "
            f"{', '.join(str(int(w)) for w in where)}] = {value}: index {value} is out of "
            f"bounds for axis {m} with size {shape[m]}")
    return tuple(indices.astype(np.int64))


def _gather_nd_forward(attrs, inputs, ctx):
    data, indices = inputs
    return [data[_index_tuple(attrs, indices, data.shape)]]


def _gather_nd_backward(attrs, out_grads, inputs, outputs, ctx):
    (g,), (data, indices) = out_grads, inputs
    dx = np.zeros_like(data)
    np.add.at(dx, _index_tuple(attrs, indices, data.shape), g)  # repeats accumulate
    return [dx, None]


declare("gather_nd", "_npi_gather_nd", "_npx_gather_nd", inputs=("data", "indices"),
        infer_shape=_gather_nd_shape, infer_type=_data_type,
        forward=_gather_nd_forward, backward=_gather_nd_backward)


def _scatter_nd_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, attrs.shape, ["output"])
    return ins, outs


def _scatter_nd_forward(attrs, inputs, ctx):
    data, indices = inputs
    out = np.zeros(attrs.shape, dtype=data.dtype)
    out[_index_tuple(attrs, indices, out.shape)] = data  # MXNet leaves repeats unspecified
    return [out]


declare("scatter_nd", params={"shape": P(SHAPE)}, inputs=("data", "indices"),
        infer_shape=_scatter_nd_shape, infer_type=_data_type, forward=_scatter_nd_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [
            og[0][_index_tuple(attrs, inputs[1], og[0].shape)], None])


def _batch_take_shape(attrs: Attrs, ins: list, outs: list):
    a, idx = ins
    if a is None or idx is None:
        return ins, outs
    if size_of(idx) and a[0] and size_of(idx) != a[0]:
        raise fail(attrs, f"indices of shape {idx} must hold one index per row of a {a}")
    assign(attrs, outs, 0, idx, ["output"])
    return ins, outs


def _batch_take_type(attrs: Attrs, ins: list, outs: list):
    ins, outs = _data_type(attrs, ins, outs)
    assign_type(attrs, ins, 1, np.dtype("int32"), attrs.op.list_inputs(attrs))
    return ins, outs


def _batch_take_forward(attrs, inputs, ctx):
    a, indices = inputs
    rows = a.reshape(indices.size, -1)
    j = np.clip(indices.reshape(-1).astype(np.int64), 0, rows.shape[1] - 1)
    return [rows[np.arange(rows.shape[0]), j].reshape(indices.shape)]


# No backward: MXNet registers no gradient for batch_take.
declare("batch_take", inputs=("a", "indices"), infer_shape=_batch_take_shape,
        infer_type=_batch_take_type, forward=_batch_take_forward)

# ----------------------------------------------------------------------------------------
# Legacy output layers.


def _svm_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    assign(attrs, ins, 1, d[:1], attrs.op.list_inputs(attrs))
    assign(attrs, outs, 0, d, ["output"])
    return ins, outs


def _svm_backward(attrs, out_grads, inputs, outputs, ctx):
    """Hinge-loss gradients (L1-SVM with use_linear, else L2-SVM) for one label per row;
    the head gradient is ignored."""
    label, out = inputs[1], outputs[0]
    y = out.reshape(out.shape[0], -1)
    is_label = label.reshape(-1)[:, None].astype(np.int64) == np.arange(y.shape[1])
    m, c = attrs.margin, attrs.regularization_coefficient
    # Push the label's score above margin and every other score below -margin.
    slack = np.where(is_label, m - y, m + y)
    sign = np.where(is_label, -1, 1)
    if attrs.use_linear:
        grad = sign * (slack > 0) * c
    else:
        grad = sign * np.where(slack > 0, 2 * slack, 0) * c
    return [grad.reshape(out.shape).astype(out.dtype, copy=False), None]


declare("SVMOutput",
        params={"margin": P(FLOAT, 1.0), "regularization_coefficient": P(FLOAT, 1.0),
                "use_linear": P(BOOL, False)},
        inputs=("data", "label"), infer_shape=_svm_shape,
        forward=identity_forward, backward=_svm_backward)


def _kl_sparse_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None:
        assign(attrs, ins, 1, (d[1],) if len(d) > 1 else (1,), attrs.op.list_inputs(attrs))
    return like_data(attrs, ins, outs)


def _kl_sparse_backward(attrs, out_grads, inputs, outputs, ctx):
    """The head gradient plus the KL sparseness penalty's, from the moving average of the mean
    activation per unit, which MXNet updates here, in backward."""
    (g,), (x, avg) = out_grads, inputs
    rows = x.reshape(x.shape[0], -1)
    if rows.shape[1] != avg.size:
        raise fail(attrs, f"data of shape {x.shape} has {rows.shape[1]} units per example but "
                          f"moving_avg has {avg.size}")
    mom, rho = attrs.momentum, attrs.sparseness_target
    avg[...] = mom * avg + (1 - mom) * rows.mean(axis=0)
    penalty = attrs.penalty * (-rho / avg + (1 - rho) / (1 - avg))
    return [(g + penalty.reshape((1, *x.shape[1:]))).astype(x.dtype, copy=False), None]


declare("IdentityAttachKLSparseReg",
        params={"sparseness_target": P(FLOAT, 0.1), "penalty": P(FLOAT, 0.001),
                "momentum": P(FLOAT, 0.9)},
        inputs=("data", "moving_avg"), aux=("moving_avg",), infer_shape=_kl_sparse_shape,
        forward=identity_forward, backward=_kl_sparse_backward)


# Slice assignment (``x[region] = y`` as an operator; MXNet's ``_crop_assign`` aliases): the
# output is ``lhs`` with the region overwritten. Not differentiable, as in MXNet.


def _slice_assign_shape(attrs: Attrs, ins: list, outs: list):
    lhs = ins[0] if ins[0] is not None else outs[0]
    if lhs is None:
        return ins, outs
    ins[0] = lhs
    if len(ins) > 1:
        _, region = _tensor._slice_shape(attrs, [lhs], [None])
        assign(attrs, ins, 1, region[0], attrs.op.list_inputs(attrs))
    return _tensor._out_only(attrs, outs, tuple(lhs), ins)


def _slice_assign_forward(attrs, inputs, ctx):
    out = np.array(inputs[0], copy=True)
    region = _tensor._slice_region(attrs, inputs)
    value = inputs[1] if len(inputs) > 1 else out.dtype.type(attrs.scalar)
    if len(inputs) > 1 and np.shape(value) != out[region].shape:
        raise fail(attrs, f"the value of shape {np.shape(value)} does not fit the region "
                          f"{out[region].shape} of the input {out.shape}")
    out[region] = value
    return [out]


_REGION = {"begin": P(_tensor.BOUNDS), "end": P(_tensor.BOUNDS), "step": P(_tensor.BOUNDS, ())}
declare("_slice_assign", "_crop_assign", "_npi_slice_assign", params=_REGION, inputs=("lhs", "rhs"),
        infer_shape=_slice_assign_shape, forward=_slice_assign_forward)
declare("_slice_assign_scalar", "_crop_assign_scalar", "_npi_slice_assign_scalar",
        params={"scalar": P(FLOAT, 0.0), **_REGION}, infer_shape=_slice_assign_shape,
        forward=_slice_assign_forward)


def _fill_0index_shape(attrs: Attrs, ins: list, outs: list):
    lhs = ins[0] if ins[0] is not None else outs[0]
    if lhs is None:
        return ins, outs
    if len(lhs) != 2:
        raise fail(attrs, f"lhs must be a matrix, got shape {lhs}")
    ins[0] = lhs
    names = attrs.op.list_inputs(attrs)
    assign(attrs, ins, 1, (lhs[0],), names)
    assign(attrs, ins, 2, (lhs[0],), names)
    return _tensor._out_only(attrs, outs, tuple(lhs), ins)


def _fill_0index_where(attrs: Attrs, lhs: np.ndarray, index: np.ndarray) -> tuple:
    return np.arange(lhs.shape[0]), _tensor._as_index(attrs, index, lhs.shape[1], "clip")


def _fill_0index_forward(attrs, inputs, ctx):
    lhs, mhs, rhs = inputs
    out = np.array(lhs, copy=True)
    out[_fill_0index_where(attrs, lhs, rhs)] = mhs
    return [out]


# Row i of ``lhs`` gets ``mhs[i]`` at column ``rhs[i]`` (MXNet's legacy matrix op).
declare("fill_element_0index", inputs=("lhs", "mhs", "rhs"), infer_shape=_fill_0index_shape,
        forward=_fill_0index_forward)

# MXNet registers no gradient for these in-place-style writers.
NO_BACKWARD |= {"_slice_assign", "_slice_assign_scalar", "fill_element_0index"}


# ``lhs`` passed through, with ``rhs``'s shape and dtype as a constraint in both directions
# (MXNet's helper for backward shape inference); ``rhs`` gets a zero gradient.


def _like_rhs_shape(attrs: Attrs, ins: list, outs: list):
    s = None
    for x in (*ins, outs[0]):
        s = merge_shape(s, x, "_identity_with_attr_like_rhs")
    return [s, s], [s]


def _like_rhs_type(attrs: Attrs, ins: list, outs: list):
    t = next((x for x in (*ins, outs[0]) if x is not None), None)
    return [t, t], [t]


declare("_identity_with_attr_like_rhs", inputs=("lhs", "rhs"), infer_shape=_like_rhs_shape,
        infer_type=_like_rhs_type, forward=lambda attrs, inputs, ctx: [inputs[0]],
        backward=lambda attrs, out_grads, inputs, outputs, ctx: [
            out_grads[0], np.zeros_like(inputs[1])])


# ----------------------------------------------------------------------------------------
# Optimizer update operators (MXNet's ``*_update``): the new weight is the output (``out=
# weight`` updates it in place); the optimizer states, inputs after the gradient, are updated
# in place as MXNet's kernels do. Not differentiable.


def _update_grad(attrs: Attrs, w: np.ndarray, g: np.ndarray, wd_in: bool = False,
                 wd_out: bool = False) -> np.ndarray:
    """``clip(rescale_grad * grad)``, with ``wd * weight`` added inside the clip
    (``wd_in``: Adam, FTML, RMSProp) or after it (``wd_out``: SGD and friends)."""
    g = g.astype(w.dtype, copy=False) * w.dtype.type(attrs.rescale_grad)
    wd = w.dtype.type(attrs.get("wd", 0.0))
    if wd_in and wd:
        g = g + wd * w
    clip = attrs.get("clip_gradient", attrs.get("clip_grad", -1.0))
    if clip is not None and clip >= 0:
        g = np.clip(g, -clip, clip)
    if wd_out and wd:
        g = g + wd * w
    return g


def _clip_weights(attrs: Attrs, w: np.ndarray) -> np.ndarray:
    cw = attrs.clip_weights
    return np.clip(w, -cw, cw) if cw is not None and cw >= 0 else w


def _sgd_update(attrs, inputs, ctx):
    w, g = inputs[:2]
    return [w - attrs.lr * _update_grad(attrs, w, g, wd_out=True)]


def _sgd_mom_update(attrs, inputs, ctx):
    w, g, mom = inputs
    mom *= attrs.momentum
    mom -= attrs.lr * _update_grad(attrs, w, g, wd_out=True)
    return [w + mom]


def _nag_mom_update(attrs, inputs, ctx):
    w, g, mom = inputs
    m, lr = attrs.momentum, attrs.lr
    d = lr * _update_grad(attrs, w, g, wd_out=True)
    mom *= m
    new_w = w + m * mom - (1 + m) * d
    # The state's decay term reads the weight input. (MXNet's kernel reads it after writing
    # the output, so with out=weight it sees the new weight: a difference of lr * wd * step.)
    mom -= lr * _update_grad(attrs, w, g, wd_out=True)
    return [new_w]


def _signsgd_update(attrs, inputs, ctx):
    w, g = inputs[:2]
    step = np.sign(_update_grad(attrs, w, g))
    return [(1 - attrs.lr * attrs.wd) * w - attrs.lr * step]


def _signum_update(attrs, inputs, ctx):
    w, g, mom = inputs
    mom *= attrs.momentum
    mom -= (1 - attrs.momentum) * _update_grad(attrs, w, g, wd_out=True)
    return [(1 - attrs.lr * attrs.wd_lh) * w + attrs.lr * np.sign(mom)]


def _ftml_update(attrs, inputs, ctx):
    w, g, d, v, z = inputs
    b1, b2, t = attrs.beta1, attrs.beta2, attrs.t
    g = _update_grad(attrs, w, g, wd_in=True)
    v *= b2
    v += (1 - b2) * np.square(g)
    d_t = (1 - b1 ** t) / attrs.lr * (np.sqrt(v / (1 - b2 ** t)) + attrs.epsilon)
    z *= b1
    z += (1 - b1) * g - (d_t - b1 * d) * w
    d[...] = d_t
    return [-z / d_t]


def _ftrl_update(attrs, inputs, ctx):
    w, g, z, n = inputs
    lr = attrs.lr
    g = _update_grad(attrs, w, g)  # FTRL applies wd in the weight formula
    z += g - (np.sqrt(n + np.square(g)) - np.sqrt(n)) * w / lr
    n += np.square(g)
    new_w = (np.sign(z) * attrs.lamda1 - z) / ((attrs.beta + np.sqrt(n)) / lr + attrs.wd)
    return [np.where(np.abs(z) > attrs.lamda1, new_w, 0).astype(w.dtype, copy=False)]


def _adam_update(attrs, inputs, ctx):
    w, g, mean, var = inputs
    g = _update_grad(attrs, w, g, wd_in=True)
    mean *= attrs.beta1
    mean += (1 - attrs.beta1) * g
    var *= attrs.beta2
    var += (1 - attrs.beta2) * np.square(g)
    return [w - attrs.lr * mean / (np.sqrt(var) + attrs.epsilon)]


def _rmsprop_update(attrs, inputs, ctx):
    w, g, n = inputs
    g = _update_grad(attrs, w, g, wd_in=True)
    n *= attrs.gamma1
    n += (1 - attrs.gamma1) * np.square(g)
    return [_clip_weights(attrs, w - attrs.lr * g / np.sqrt(n + attrs.epsilon))]


def _rmspropalex_update(attrs, inputs, ctx):
    w, g, n, m, delta = inputs
    g = _update_grad(attrs, w, g, wd_in=True)
    n *= attrs.gamma1
    n += (1 - attrs.gamma1) * np.square(g)
    m *= attrs.gamma1
    m += (1 - attrs.gamma1) * g
    delta *= attrs.gamma2
    delta -= attrs.lr * g / np.sqrt(n - np.square(m) + attrs.epsilon)
    return [_clip_weights(attrs, w + delta)]


def _updates_shape(attrs: Attrs, ins: list, outs: list):
    s = None
    for x in (*ins, outs[0]):
        s = merge_shape(s, x, attrs.op.name)
    return [s] * len(ins), [s]


_UPD = {"lr": P(FLOAT), "wd": P(FLOAT, 0.0), "rescale_grad": P(FLOAT, 1.0),
        "clip_gradient": P(FLOAT, -1.0)}
_LAZY = {"lazy_update": P(BOOL, True)}
_UPDATES = {
    "sgd_update": (("weight", "grad"), {**_UPD, **_LAZY}, _sgd_update),
    "sgd_mom_update": (("weight", "grad", "mom"), {**_UPD, "momentum": P(FLOAT, 0.0), **_LAZY},
                       _sgd_mom_update),
    "nag_mom_update": (("weight", "grad", "mom"), {**_UPD, "momentum": P(FLOAT, 0.0)},
                       _nag_mom_update),
    "signsgd_update": (("weight", "grad"), _UPD, _signsgd_update),
    "signum_update": (("weight", "grad", "mom"),
                      {**_UPD, "momentum": P(FLOAT, 0.0), "wd_lh": P(FLOAT, 0.0)},
                      _signum_update),
    "ftml_update": (("weight", "grad", "d", "v", "z"),
                    {"lr": P(FLOAT), "beta1": P(FLOAT, 0.6), "beta2": P(FLOAT, 0.999),
                     "epsilon": P(FLOAT, 1e-8), "t": P(INT), "wd": P(FLOAT, 0.0),
                     "rescale_grad": P(FLOAT, 1.0), "clip_grad": P(FLOAT, -1.0)},
                    _ftml_update),
    "ftrl_update": (("weight", "grad", "z", "n"),
                    {**_UPD, "lamda1": P(FLOAT, 0.01), "beta": P(FLOAT, 1.0)}, _ftrl_update),
    "adam_update": (("weight", "grad", "mean", "var"),
                    {**_UPD, "beta1": P(FLOAT, 0.9), "beta2": P(FLOAT, 0.999),
                     "epsilon": P(FLOAT, 1e-8), **_LAZY}, _adam_update),
    "rmsprop_update": (("weight", "grad", "n"),
                       {**_UPD, "gamma1": P(FLOAT, 0.95), "epsilon": P(FLOAT, 1e-8),
                        "clip_weights": P(FLOAT, -1.0)}, _rmsprop_update),
    "rmspropalex_update": (("weight", "grad", "n", "g", "delta"),
                           {**_UPD, "gamma1": P(FLOAT, 0.95), "gamma2": P(FLOAT, 0.9),
                            "epsilon": P(FLOAT, 1e-8), "clip_weights": P(FLOAT, -1.0)},
                           _rmspropalex_update),
}
# MXNet's sparse aliases (a row_sparse gradient is densified on the way in).
_SPARSE_ALIASES = {n: (f"_sparse_{n}",) for n in ("sgd_update", "sgd_mom_update", "adam_update",
                                                  "ftrl_update")}
for _name, (_ins, _params, _fwd) in _UPDATES.items():
    declare(_name, *_SPARSE_ALIASES.get(_name, ()), params=_params, inputs=_ins,
            infer_shape=_updates_shape, forward=_fwd)
NO_BACKWARD |= set(_UPDATES)


# AdamW (MXNet's contrib ``_adamw_update`` family, src/operator/contrib/adamw-inl.h): Adam
# with the weight decay taken out of the gradient, ``w -= eta * (lr * m / (sqrt(v) + eps) +
# wd * w)``. ``rescale_grad`` is an input array (its first element is read), so a loss scaler
# can skip a step from the graph: when it is NaN, infinite or 0 nothing is written (weights and
# states keep their values; the output is the weight). ``mp_`` forms keep float32 states and
# a float32 master copy ``weight32`` of a float16 weight; ``multi_`` forms update
# ``num_weights`` tensors, with per-tensor ``lrs`` / ``wds`` / ``etas``.


def _adamw_scale(inputs: list) -> float | None:
    scale = float(np.asarray(inputs[-1]).reshape(-1)[0])
    return scale if np.isfinite(scale) and scale != 0 else None


def _adamw_step(w, g, mean, var, scale, b1, b2, lr, eta, wd, eps, clip, fused_form):
    """One tensor's step in ``w``'s dtype (float32 for the mixed-precision forms); ``mean`` /
    ``var`` are written in place. ``fused_form`` is the multi-tensor kernel's arithmetic
    (``beta1 * (m - g) + g``), which rounds differently from the single one's."""
    t = w.dtype.type
    g = t(scale) * g.astype(w.dtype, copy=False)
    if clip >= 0:
        g = np.clip(g, t(-clip), t(clip))
    b1, b2 = t(b1), t(b2)
    if fused_form:
        mean[...] = b1 * (mean - g) + g
        g2 = np.square(g)
        var[...] = b2 * (var - g2) + g2
    else:
        mean[...] = b1 * mean + t(np.float32(1) - np.float32(b1)) * g
        var[...] = b2 * var + t(np.float32(1) - np.float32(b2)) * np.square(g)
    return w - t(eta) * (t(lr) * mean / (np.sqrt(var) + t(eps)) + t(wd) * w)


def _adamw_update(attrs, inputs, ctx):
    w, g, mean, var = inputs[:4]
    scale = _adamw_scale(inputs)
    if scale is None:
        return [w]
    return [_adamw_step(w, g, mean, var, scale, attrs.beta1, attrs.beta2, attrs.lr, attrs.eta,
                        attrs.wd, attrs.epsilon, attrs.clip_gradient, False)]


def _mp_adamw_update(attrs, inputs, ctx):
    w, g, mean, var, w32 = inputs[:5]
    scale = _adamw_scale(inputs)
    if scale is None:
        return [w]
    w32[...] = _adamw_step(w32, g, mean, var, scale, attrs.beta1, attrs.beta2, attrs.lr,
                           attrs.eta, attrs.wd, attrs.epsilon, attrs.clip_gradient, False)
    return [w32.astype(w.dtype)]


def _check_multi(attrs: Attrs) -> int:
    n = attrs.num_weights
    for k, what in (("lrs", "learning rates"), ("wds", "weight decays"),
                    ("etas", "learning rate schedule multipliers")):
        got = len(getattr(attrs, k))
        if got != n:
            raise fail(attrs, f"{k} has {got} values but num_weights={n} {what} were expected")
    return n


def _multi_adamw(stride: int):
    def forward(attrs, inputs, ctx):
        n = _check_multi(attrs)
        scale = _adamw_scale(inputs)
        if scale is None:
            return [inputs[i * stride] for i in range(n)]
        outs = []
        for i in range(n):  # one step per tensor (num_weights of them, not elements)
            w, g, mean, var = inputs[i * stride:i * stride + 4]
            master = inputs[i * stride + 4] if stride == 5 else w
            new = _adamw_step(master, g, mean, var, scale, attrs.beta1, attrs.beta2,
                              attrs.lrs[i], attrs.etas[i], attrs.wds[i], attrs.epsilon,
                              attrs.clip_gradient, True)
            if stride == 5:
                master[...] = new
            outs.append(new.astype(w.dtype, copy=False))
        return outs
    return forward


def _adamw_inputs(mp: bool):
    names = ("weight", "grad", "mean", "var") + (("weight32",) if mp else ())
    return lambda a: [f"{k}_{i}" for i in range(a.num_weights) for k in names] + [
        "rescale_grad"]


def _adamw_outputs(a: Attrs) -> list[str]:
    return ["output"] if a.num_weights == 1 else [f"output{i}" for i in range(a.num_weights)]


def _adamw_shape(stride: int, multi: bool):
    """Each tensor's weight, gradient, states and output share one shape; ``rescale_grad``'s
    shape is not constrained (MXNet reads its first element)."""
    def infer(attrs, ins, outs):
        n = _check_multi(attrs) if multi else 1
        ins, outs = list(ins), list(outs)
        for i in range(n):
            group = [*ins[i * stride:(i + 1) * stride], outs[i]]
            s = None
            for x in group:
                s = merge_shape(s, x, attrs.op.name)
            ins[i * stride:(i + 1) * stride] = [s] * stride
            outs[i] = s
        return ins, outs
    return infer


def _adamw_type(stride: int, multi: bool, mp: bool):
    """Weight, gradient and output share a dtype; the float32 ones are as MXNet's
    MPUpdateInferType / MP_MultiAdamW_InferType fix them (states, master copy and
    ``rescale_grad`` in the mixed-precision forms, ``rescale_grad`` in ``_adamw_update``).
    ``_multi_adamw_update`` gives every input and output one dtype, as MXNet's does."""
    def infer(attrs, ins, outs):
        n = attrs.num_weights if multi else 1
        if multi and not mp:
            return same_type(attrs, ins, outs)
        names = attrs.op.list_inputs(attrs)
        ins, outs = list(ins), list(outs)
        shared = 2 if mp else 4
        for i in range(n):
            t = None
            for x in (*ins[i * stride:i * stride + shared], outs[i]):
                t = merge_dtype(t, x, attrs.op.name)
            ins[i * stride:i * stride + shared] = [t] * shared
            outs[i] = t
            for j in range(i * stride + shared, (i + 1) * stride):
                assign_type(attrs, ins, j, np.float32, names)
        assign_type(attrs, ins, len(ins) - 1, np.float32, names)
        return ins, outs
    return infer


_ADAMW = {"beta1": P(FLOAT, 0.9), "beta2": P(FLOAT, 0.999), "epsilon": P(FLOAT, 1e-8),
          "clip_gradient": P(FLOAT, -1.0)}
for _name, _mp in (("_adamw_update", False), ("_mp_adamw_update", True)):
    _stride = 5 if _mp else 4
    declare(_name, params={"lr": P(FLOAT), "eta": P(FLOAT), "wd": P(FLOAT, 0.0), **_ADAMW},
            inputs=("weight", "grad", "mean", "var", *(("weight32",) if _mp else ()),
                    "rescale_grad"),
            infer_shape=_adamw_shape(_stride, False), infer_type=_adamw_type(_stride, False, _mp),
            forward=_mp_adamw_update if _mp else _adamw_update)
for _name, _mp in (("_multi_adamw_update", False), ("_multi_mp_adamw_update", True)):
    _stride = 5 if _mp else 4
    declare(_name, params={"lrs": P(FloatTuple()), "wds": P(FloatTuple()),
                           "etas": P(FloatTuple()), **_ADAMW, "num_weights": P(INT, 1)},
            inputs=_adamw_inputs(_mp), outputs=_adamw_outputs,
            infer_shape=_adamw_shape(_stride, True), infer_type=_adamw_type(_stride, True, _mp),
            forward=_multi_adamw(_stride))
NO_BACKWARD |= {"_adamw_update", "_mp_adamw_update", "_multi_adamw_update",
                "_multi_mp_adamw_update"}


# ``reset_arrays``: zero every input in place (what ``Trainer`` / ``zero_grad`` use on many
# gradient arrays at once). It has no outputs, so the call returns ``[]`` as MXNet's does.


def _reset_arrays_forward(attrs, inputs, ctx):
    for a in inputs:
        a[...] = 0
    return []


declare("reset_arrays", params={"num_arrays": P(INT)},
        inputs=lambda a: [f"array_{i}" for i in range(a.num_arrays)], outputs=(),
        key_var_num_args="num_arrays",
        infer_shape=lambda attrs, ins, outs: (list(ins), []),
        infer_type=lambda attrs, ins, outs: (list(ins), []),
        forward=_reset_arrays_forward)
NO_BACKWARD.add("reset_arrays")


# ----------------------------------------------------------------------------------------
# all_finite / multi_all_finite: AMP's overflow check. A (1,) float32 flag, 1 when every
# element of every array is finite. MXNet tests each value as a float (float64 values beyond
# float32's range count as infinite). With ``init_output=False`` MXNet only ever writes 0
# into the output, leaving it as it was otherwise (AMP accumulates chunks of gradients into
# one ``out=``); a kernel here makes a fresh output, which starts at 1 either way.


def _finite_flag(arrays: list) -> np.ndarray:
    with np.errstate(over="ignore"):  # float64 beyond float32's range: MXNet's cast to float
        ok = all(bool(np.isfinite(a.astype(np.float32, copy=False)).all()) for a in arrays)
    return np.full((1,), 1.0 if ok else 0.0, np.float32)


def _all_finite_check(attrs: Attrs, dts: list) -> None:
    names = attrs.op.list_inputs(attrs)
    for n, t in zip(names, dts):
        if t is not None and np.dtype(t).kind != "f":
            raise fail(attrs, f"input {n!r} has dtype {np.dtype(t)}: this operation only "
                              "supports floating point types")
    if attrs.op.name == "multi_all_finite" and len({np.dtype(t) for t in dts}) > 1:
        # MXNet reads every array with the first one's element type
        raise fail(attrs, f"every array must have the dtype of {names[0]!r} "
                          f"({np.dtype(dts[0])}), got {[str(np.dtype(t)) for t in dts]}")


def _all_finite_forward(attrs, inputs, ctx):
    _all_finite_check(attrs, [a.dtype for a in inputs])
    return [_finite_flag(inputs)]


def _all_finite_type(attrs: Attrs, ins: list, outs: list):
    # MXNet's type rule only sets the output; mixed input dtypes fail when the kernel runs
    assign_type(attrs, outs, 0, np.float32, ["output"])
    return ins, outs


def _all_finite_shape(attrs: Attrs, ins: list, outs: list):
    assign(attrs, outs, 0, (1,), ["output"])
    return ins, outs


declare("all_finite", params={"init_output": P(BOOL, True)},
        infer_shape=_all_finite_shape, infer_type=_all_finite_type,
        forward=_all_finite_forward,
        doc="Whether all the float numbers in the array are finite (used for AMP): a (1,) "
            "float32 array, 1 or 0.")
declare("multi_all_finite", params={"num_arrays": P(INT, 1), "init_output": P(BOOL, True)},
        inputs=lambda a: [f"array_{i}" for i in range(a.num_arrays)],
        infer_shape=_all_finite_shape, infer_type=_all_finite_type,
        forward=_all_finite_forward,
        doc="Whether all the float numbers in all ``num_arrays`` arrays are finite (used for "
            "AMP): a (1,) float32 array, 1 or 0.")
# MXNet registers no gradient for either.
NO_BACKWARD |= {"all_finite", "multi_all_finite"}


# ----------------------------------------------------------------------------------------
# im2col / col2im: a convolution's sliding blocks as columns and back. im2col turns (N, C, H,
# W) into (N, C * kh * kw, L), row c * kh * kw + (i * kw + j) holding tap (i, j) of channel c,
# column l the l-th output position (row-major over the convolution's output); col2im sums
# such columns back into an image (overlapping taps add up), so each is the other's
# gradient. MXNet 1.9.1's CPU kernels read the data as 4-D: only 2-D kernels run there (1-D
# and 3-D ones fail in the kernel), so only 2-D ones are accepted here.


def _sliding(attrs: Attrs) -> tuple:
    """(kernel, stride, dilate, pad) with MXNet's defaults (1, 1, 0) for empty tuples."""
    k = attrs.kernel
    if len(k) != 2:
        raise fail(attrs, f"kernel={k}: only 2-D kernels (h, w) are supported (MXNet 1.9.1's "
                          "CPU kernel reads 4-D data)")
    out = [k]
    for name, default in (("stride", 1), ("dilate", 1), ("pad", 0)):
        v = getattr(attrs, name)
        if len(v) == 0:
            v = (default,) * len(k)
        if len(v) != len(k):
            raise fail(attrs, f"{name}={v} must have the same number of dimensions as "
                              f"kernel={k}")
        out.append(tuple(v))
    k, s, d, p = out
    if any(x <= 0 for x in (*k, *s, *d)):
        raise fail(attrs, f"kernel={k}, stride={s} and dilate={d} must be positive")
    return k, s, d, p


def _blocks(attrs: Attrs, spatial: tuple, what: str) -> tuple:
    """The convolution output size over ``spatial`` (MXNet's checks included)."""
    k, s, d, p = _sliding(attrs)
    out = []
    for size, kk, ss, dd, pp in zip(spatial, k, s, d, p):
        if dd * (kk - 1) + 1 > size + 2 * pp:
            raise fail(attrs, f"kernel={k} (dilate={d}) exceeds the {what} {tuple(spatial)} "
                              f"padded by pad={p}")
        out.append(_window.conv_out_size(size, kk, ss, pp, dd))
    return tuple(out)


def _im2col_cols(attrs: Attrs, x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N, C * prod(kernel), prod(out)): one strided view over the zero-padded
    channel-first data, (N, C, *kernel, *out), gathered in one copy."""
    k, s, d, p = _sliding(attrs)
    n, c = x.shape[:2]
    out = _blocks(attrs, x.shape[2:], "input")
    xp = np.pad(x, ((0, 0), (0, 0), *((q, q) for q in p))) if any(p) else x
    sn, sc, *ss = xp.strides
    view = as_strided(xp, (n, c, *k, *out),
                      (sn, sc, *(a * b for a, b in zip(ss, d)), *(a * b for a, b in zip(ss, s))),
                      writeable=False)
    return np.ascontiguousarray(view).reshape(n, c * size_of(k), size_of(out))


def _col2im_image(attrs: Attrs, cols: np.ndarray, spatial: tuple) -> np.ndarray:
    """The adjoint: (N, C * prod(kernel), prod(out)) summed into (N, C, *spatial). Per kernel
    tap one strided block of the padded image takes all its columns at once (taps of one
    block never overlap); the padding is cut off at the end."""
    k, s, d, p = _sliding(attrs)
    n, ck, _ = cols.shape
    c = ck // size_of(k)
    out = _blocks(attrs, spatial, "output_size")
    taps = cols.reshape(n, c, size_of(k), *out)
    img = np.zeros((n, c, *(a + 2 * q for a, q in zip(spatial, p))), cols.dtype)
    for t, tap in enumerate(np.ndindex(*k)):
        block = tuple(slice(i * dd, i * dd + (o - 1) * ss + 1, ss)
                      for i, dd, o, ss in zip(tap, d, out, s))
        img[(slice(None), slice(None), *block)] += taps[:, :, t]
    crop = tuple(slice(q, q + a) for a, q in zip(spatial, p))
    return np.ascontiguousarray(img[(slice(None), slice(None), *crop)])


def _nd_check(attrs: Attrs, shape: tuple, ndim: int, what: str) -> None:
    if len(shape) != ndim:
        raise fail(attrs, f"{what} of shape {tuple(shape)} must be {ndim}-D")


def _im2col_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    k = _sliding(attrs)[0]
    _nd_check(attrs, d, len(k) + 2, "data")
    if not all(d[2:]):
        return ins, outs
    assign(attrs, outs, 0, (d[0], d[1] * size_of(k), size_of(_blocks(attrs, d[2:], "input"))),
           ["output"])
    return ins, outs


def _im2col_forward(attrs, inputs, ctx):
    x = inputs[0]
    _nd_check(attrs, x.shape, len(_sliding(attrs)[0]) + 2, "data")
    return [np.ascontiguousarray(_im2col_cols(attrs, x))]


def _im2col_backward(attrs, out_grads, inputs, outputs, ctx):
    return [_col2im_image(attrs, out_grads[0], inputs[0].shape[2:])]


_SLIDING = {"kernel": P(SHAPE), "stride": P(SHAPE, ()), "dilate": P(SHAPE, ()),
            "pad": P(SHAPE, ())}
declare("im2col", params=dict(_SLIDING), infer_shape=_im2col_shape, forward=_im2col_forward,
        backward=_im2col_backward,
        doc="Extracts sliding blocks from (N, C, H, W) data as columns (N, C * kh * kw, L).")


def _col2im_check(attrs: Attrs, d: tuple) -> tuple:
    """The image shape for columns of shape ``d``; MXNetError when they do not fit."""
    k = _sliding(attrs)[0]
    size = attrs.output_size
    if len(size) != len(k):
        raise fail(attrs, f"output_size={size} must have the same number of dimensions as "
                          f"kernel={k}")
    if any(x <= 0 for x in size):
        raise fail(attrs, f"output_size={size} must be positive")
    _nd_check(attrs, d, 3, "data")
    blocks = size_of(_blocks(attrs, size, "output_size"))
    if d[2] != blocks:
        raise fail(attrs, f"data of shape {tuple(d)} holds {d[2]} blocks, the convolution "
                          f"parameters make {blocks}")
    if d[1] % size_of(k):
        raise fail(attrs, f"data's second dim ({d[1]}) must be a multiple of the kernel size "
                          f"({size_of(k)})")
    return (d[0], d[1] // size_of(k), *size)


def _col2im_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is not None and all(d):
        assign(attrs, outs, 0, _col2im_check(attrs, d), ["output"])
    return ins, outs


def _col2im_forward(attrs, inputs, ctx):
    cols = inputs[0]
    _col2im_check(attrs, cols.shape)
    return [_col2im_image(attrs, cols, tuple(attrs.output_size))]


def _col2im_backward(attrs, out_grads, inputs, outputs, ctx):
    return [np.ascontiguousarray(_im2col_cols(attrs, out_grads[0]))]


declare("col2im", params={"output_size": P(SHAPE), **_SLIDING}, infer_shape=_col2im_shape,
        forward=_col2im_forward, backward=_col2im_backward,
        doc="Sums columns (N, C * kh * kw, L) of sliding blocks back into an (N, C, "
            "*output_size) image: the gradient of im2col.")
