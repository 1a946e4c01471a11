"""Finite-difference gradients for the operator tests: what autograd gives next to central
differences of ``sum(head * op(inputs))``, in float64, for the test to compare."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import mxlite as mx


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to ``x``, which ``f`` reads and
    which is perturbed in place one element at a time (and restored)."""
    num = np.zeros_like(x)
    flat, out = x.reshape(-1), num.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f()
        flat[i] = old - eps
        lo = f()
        flat[i] = old
        out[i] = (hi - lo) / (2 * eps)
    return num


def gradients(fn: Callable, inputs: dict[str, np.ndarray], wrt: Sequence[str],
              kwargs: dict | None = None, *, positional: bool = False,
              first_output: bool = False, train: bool = True, eps: float = 1e-6,
              seed: int = 3) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (autograd gradient, finite-difference gradient)}`` for each input in ``wrt``.

    ``fn`` is called with the inputs as float64 NDArrays (by keyword, or in order with
    ``positional``) and ``kwargs``; the heads are standard normal, one per output (only the
    first output with ``first_output``); ``train`` picks the autograd mode of both passes.
    """
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    values = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}

    def call(arrays: dict) -> list:
        nds = {k: mx.nd.array(v, dtype="float64") if isinstance(v, np.ndarray) else v
               for k, v in arrays.items()}
        out = fn(*nds.values(), **kwargs) if positional else fn(**nds, **kwargs)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        return out[:1] if first_output else out

    nds = {k: mx.nd.array(v, dtype="float64") for k, v in values.items()}
    for k in wrt:
        nds[k].attach_grad()
    with mx.autograd.record(train_mode=train):
        outs = call(nds)
    heads = [rng.standard_normal(o.shape) for o in outs]
    mx.autograd.backward(outs, [mx.nd.array(h, dtype="float64") for h in heads],
                         train_mode=train)

    def f() -> float:
        with mx.autograd.train_mode() if train else mx.autograd.predict_mode():
            res = call(values)
        return sum(float((h * r.asnumpy()).sum()) for h, r in zip(heads, res))

    return {k: (nds[k].grad.asnumpy(), numeric_gradient(f, values[k], eps)) for k in wrt}
