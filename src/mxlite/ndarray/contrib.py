"""``mx.nd.contrib``: the ``_contrib_*`` operators under their short names (made on first use),
and the imperative control flow :func:`foreach`, :func:`while_loop` and :func:`cond`.

The control flow runs as plain Python over ``mx.nd`` operators, as MXNet's does, so autograd
records every step and differentiates through the loop.
"""

from __future__ import annotations

import math
from typing import Any

from ..base import MXNetError
from ..util import flatten_nested, regroup_nested
from .register import namespace_getattr as _namespace_getattr

__all__: list[str] = ["rand_zipfian", "foreach", "while_loop", "cond"]
_getattr, __dir__ = _namespace_getattr(globals(), "_contrib_")
__getattr__ = _getattr


def _nd() -> Any:
    from . import ndarray

    return ndarray


def _flatten(args: Any, what: str) -> tuple[list, Any]:
    NDArray = _nd().NDArray  # noqa: N806
    return flatten_nested(args, lambda a: 0 if isinstance(a, NDArray) else None, what,
                          "NDArray")


_regroup = regroup_nested


def _op(name: str) -> Any:
    from .register import make_function

    return make_function(name)


def rand_zipfian(true_classes: Any, num_sampled: int, range_max: int, ctx: Any = None
                 ) -> tuple[Any, Any, Any]:
    """Draw ``num_sampled`` classes in ``[0, range_max)`` with replacement from the
    approximately log-uniform (Zipfian) distribution ``P(class) = (log(class + 2) -
    log(class + 1)) / log(range_max + 1)``, as MXNet's sampled-softmax helper does.

    Returns ``(samples, expected_count_true, expected_count_sample)``: the sampled classes
    (int64), and how many times each true class (1-D ``true_classes``) and each sample is
    expected to occur in ``num_sampled`` draws (float64). ``ctx`` defaults to the current
    context.
    """
    from ..context import current_context
    from . import random

    if ctx is None:
        ctx = current_context()
    log_range = math.log(range_max + 1)
    rand = random.uniform(0, log_range, shape=(num_sampled,), dtype="float64", ctx=ctx)
    # exp(U(0, log(range_max + 1))) - 1 lies in [0, range_max]; the modulo folds the
    # (measure-zero) upper end back into range, as MXNet does.
    sampled_classes = (rand.exp() - 1).astype("int64") % range_max
    true_cls = true_classes.as_in_context(ctx).astype("float64")
    expected_count_true = ((true_cls + 2.0) / (true_cls + 1.0)).log() / log_range * num_sampled
    # float64 classes, so (c + 2) / (c + 1) is not an integer division
    sampled_cls_fp64 = sampled_classes.astype("float64")
    expected_prob_sampled = ((sampled_cls_fp64 + 2.0) / (sampled_cls_fp64 + 1.0)).log() / log_range
    return sampled_classes, expected_count_true, expected_prob_sampled * num_sampled


def foreach(body: Any, data: Any, init_states: Any) -> tuple[Any, Any]:
    """Run ``out, states = body(data[i], states)`` for every ``i`` along axis 0 of ``data``;
    returns the stacked outputs and the last states (NDArrays or nested lists of them)."""
    flat, _ = _flatten(data, "foreach input")
    _flatten(init_states, "foreach states")
    single = isinstance(data, _nd().NDArray)
    n = data.shape[0] if single else flat[0].shape[0]
    states = init_states
    outputs = []
    out_fmt = None
    for i in range(n):
        eles = data[i] if single else [d[i] for d in data]
        outs, states = body(eles, states)
        outs, out_fmt = _flatten(outs, "foreach output")
        outputs.append(outs)
    stack = _op("stack")
    stacked = [stack(*items) for items in zip(*outputs)]
    if out_fmt is not None:
        stacked, _ = _regroup(stacked, out_fmt)
    return stacked, states


def _scalar(value: Any, type_: type, what: str) -> Any:
    if isinstance(value, _nd().NDArray):
        value = value.asscalar()
    try:
        return type_(value)
    except (TypeError, ValueError):
        raise ValueError(f"Cannot convert {what} to python {type_.__name__}") from None


def while_loop(cond: Any, func: Any, loop_vars: Any, max_iterations: Any = None
               ) -> tuple[Any, Any]:
    """Step ``func(*loop_vars) -> (step_output, new_loop_vars)`` while ``cond(*loop_vars)``
    holds, at most ``max_iterations`` times. Step outputs are stacked along a new axis 0 and
    padded to ``max_iterations`` rows (with zeros; MXNet leaves them uninitialised)."""
    nd = _nd()
    if max_iterations is None:
        raise ValueError("max_iterations should be specified")
    max_iterations = _scalar(max_iterations, int, "max_iteration")
    single = isinstance(loop_vars, nd.NDArray)
    loop_vars = [loop_vars] if single else list(loop_vars)
    if not loop_vars:
        raise ValueError("loop_vars should contain at least one element")
    steps = 0
    outputs: list = []
    out_fmt = None
    while steps < max_iterations and _scalar(cond(*loop_vars), bool, "Return value of cond"):
        step_output, new_vars = func(*loop_vars)
        step_output = [] if step_output is None else step_output
        new_vars = [] if new_vars is None else new_vars
        if isinstance(step_output, tuple):
            step_output = list(step_output)
        new_vars = [new_vars] if isinstance(new_vars, nd.NDArray) else list(new_vars)
        if len(new_vars) != len(loop_vars):
            raise ValueError("The length of loop_vars should be consistent during the loop")
        loop_vars = new_vars
        step_output, out_fmt = _flatten(step_output, "while output")
        outputs.append(step_output)
        steps += 1
        if len(step_output) != len(outputs[0]):
            raise ValueError("Number of elements in step_output should be the same in each "
                             "step")
    concat, zeros = _op("concat"), _op("_zeros")
    stacked = []
    for k, items in enumerate(zip(*outputs), 1):
        items = [x.expand_dims(0) for x in items]
        if steps != max_iterations and items:
            first = items[0]
            items.append(zeros(shape=(max_iterations - steps, *first.shape[1:]),
                               dtype=first.dtype, ctx=first.context))
        try:
            stacked.append(concat(*items, dim=0))
        except MXNetError:
            shapes = "\n".join(f"  Step {i}, shape is {x.shape}" for i, x in enumerate(items))
            raise ValueError(f"Shapes of {k}-th elements in step_outputs are inconsistent, "
                             f"which are:\n{shapes}") from None
    if out_fmt is not None:
        stacked, _ = _regroup(stacked, out_fmt)
    return stacked, (loop_vars[0] if single else loop_vars)


def cond(pred: Any, then_func: Any, else_func: Any) -> Any:
    """``then_func()`` if the scalar ``pred`` is nonzero, else ``else_func()``."""
    if _scalar(pred, bool, "pred"):
        return then_func()
    return else_func()


# MXNet's Python-level element checks of this namespace, made of mx.nd operators.


def isinf(data: Any) -> Any:
    """1 where ``data`` is +inf or -inf, else 0 (same shape and dtype)."""
    return data.abs() == float("inf")


def isfinite(data: Any) -> Any:
    """1 where ``data`` is neither infinite nor NaN, else 0."""
    return _nd().logical_and(data.abs() != float("inf"), data == data)


def isnan(data: Any) -> Any:
    """1 where ``data`` is NaN, else 0."""
    return data != data


# AdamW, as MXNet's ``ndarray/contrib.py`` wraps the ``_adamw_update`` operators: a Python
# number ``rescale_grad`` becomes a (1,) array on the weight's context (the operators take it
# as an input, so a loss scaler's NaN/Inf skips the step), and the ``multi_`` forms interleave
# their lists per tensor.


def _get_rescale_grad(rescale_grad: Any, ctx: Any) -> Any:
    nd = _nd()
    if isinstance(rescale_grad, nd.NDArray):
        return rescale_grad.as_in_context(ctx)
    return nd.full(shape=(1,), val=rescale_grad, ctx=ctx)


def adamw_update(weight: Any, grad: Any, mean: Any, var: Any, rescale_grad: Any, lr: float,
                 eta: float, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                 wd: float = 0, clip_gradient: float = -1, out: Any = None, name: Any = None,
                 **kwargs: Any) -> Any:
    """AdamW step: ``m = beta1*m + (1-beta1)*g``, ``v = beta2*v + (1-beta2)*g**2``,
    ``w -= eta * (lr * m / (sqrt(v) + epsilon) + wd * w)`` with ``g = clip(rescale_grad *
    grad)``; ``mean`` / ``var`` are updated in place, the new weight is returned (or written
    to ``out``). Skipped when ``rescale_grad`` is NaN, infinite or 0."""
    rescale_grad = _get_rescale_grad(rescale_grad, weight.context)
    return _op("_adamw_update")(weight=weight, grad=grad, mean=mean, var=var,
                                rescale_grad=rescale_grad, lr=lr, eta=eta, beta1=beta1,
                                beta2=beta2, epsilon=epsilon, wd=wd,
                                clip_gradient=clip_gradient, out=out, name=name, **kwargs)


def mp_adamw_update(weight: Any, grad: Any, mean: Any, var: Any, weight32: Any,
                    rescale_grad: Any, lr: float, eta: float, beta1: float = 0.9,
                    beta2: float = 0.999, epsilon: float = 1e-8, wd: float = 0,
                    clip_gradient: float = -1, out: Any = None, name: Any = None,
                    **kwargs: Any) -> Any:
    """:func:`adamw_update` of a float16 ``weight`` through its float32 master copy
    ``weight32`` (updated in place with the float32 ``mean`` / ``var``)."""
    rescale_grad = _get_rescale_grad(rescale_grad, weight.context)
    return _op("_mp_adamw_update")(weight=weight, grad=grad, mean=mean, var=var,
                                   weight32=weight32, rescale_grad=rescale_grad, lr=lr,
                                   eta=eta, beta1=beta1, beta2=beta2, epsilon=epsilon, wd=wd,
                                   clip_gradient=clip_gradient, out=out, name=name, **kwargs)


def multi_adamw_update(weights: Any, grads: Any, mean: Any, var: Any, rescale_grad: Any,
                       lrs: Any, wds: Any, etas: Any, out: Any = None, name: Any = None,
                       size: int = 0, **kwargs: Any) -> Any:
    """:func:`adamw_update` of several tensors in one call, with per-tensor ``lrs``, ``wds``
    and ``etas`` (``beta1``, ``beta2``, ``epsilon``, ``clip_gradient`` as keywords)."""
    if not size:
        size = len(weights)
    rescale_grad = _get_rescale_grad(rescale_grad, weights[0].context)
    flat = [a for group in zip(weights, grads, mean, var) for a in group] + [rescale_grad]
    return _op("_multi_adamw_update")(*flat, out=out, num_weights=size, lrs=lrs, wds=wds,
                                      etas=etas, name=name, **kwargs)


def multi_mp_adamw_update(weights: Any, grads: Any, mean: Any, var: Any, weights32: Any,
                          rescale_grad: Any, lrs: Any, wds: Any, etas: Any, out: Any = None,
                          name: Any = None, size: int = 0, **kwargs: Any) -> Any:
    """:func:`mp_adamw_update` of several tensors in one call."""
    if not size:
        size = len(weights)
    rescale_grad = _get_rescale_grad(rescale_grad, weights[0].context)
    flat = [a for group in zip(weights, grads, mean, var, weights32) for a in group]
    return _op("_multi_mp_adamw_update")(*flat, rescale_grad, out=out, num_weights=size,
                                         lrs=lrs, wds=wds, etas=etas, name=name, **kwargs)
