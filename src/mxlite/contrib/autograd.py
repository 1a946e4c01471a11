"""``mx.contrib.autograd``: MXNet's first, deprecated autograd API, on :mod:`mxlite.autograd`.

``train_section()`` records and runs in training mode together (``set_is_training`` sets both
flags, as MXNet's does); ``compute_gradient`` is ``backward``; ``grad_and_loss`` / ``grad``
wrap a function so that calling it returns the gradients of its arguments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from .. import autograd as _ag
from ..ndarray.ndarray import NDArray, zeros_like


def set_is_training(is_train: bool) -> bool:
    """Turn recording and training mode on or off together; returns the previous recording
    state."""
    _ag.set_training(bool(is_train))
    return _ag.set_recording(bool(is_train))


class TrainingStateScope:
    """``with`` scope that sets :func:`set_is_training` and restores it on exit."""

    def __init__(self, enter_state: bool) -> None:
        self._enter_state = enter_state
        self._prev: bool | None = None

    def __enter__(self) -> None:
        self._prev = set_is_training(self._enter_state)

    def __exit__(self, ptype: Any, value: Any, trace: Any) -> None:
        if self._prev != self._enter_state:
            set_is_training(bool(self._prev))


def train_section() -> TrainingStateScope:
    """Scope that records operations in training mode."""
    return TrainingStateScope(True)


def test_section() -> TrainingStateScope:
    """Scope that stops recording and leaves training mode."""
    return TrainingStateScope(False)


def mark_variables(variables: Sequence[NDArray], gradients: Sequence[NDArray],
                   grad_reqs: str | Sequence[str] = "write") -> None:
    """Attach ``gradients`` as the gradient buffers of ``variables``."""
    _ag.mark_variables(list(variables), list(gradients), grad_reqs)


def backward(outputs: Sequence[NDArray], out_grads: Sequence[NDArray | None] | None = None,
             retain_graph: bool = False) -> None:
    """Gradients of ``outputs`` (a list) into the marked variables."""
    assert isinstance(outputs, (list, tuple)), "outputs must be a list or tuple of NDArrays"
    if out_grads is not None:
        assert len(out_grads) == len(outputs), "outputs and out_grads must have the same length"
    _ag.backward(list(outputs), None if out_grads is None else list(out_grads),
                 retain_graph=retain_graph)


def compute_gradient(outputs: Sequence[NDArray]) -> None:
    """Deprecated. Please use backward"""
    backward(outputs)


def grad_and_loss(func: Callable, argnum: int | list[int] | None = None) -> Callable:
    """Wrap ``func`` so that calling it returns ``(gradients of the arguments picked by
    argnum, func's outputs)``."""
    @functools.wraps(func)
    def wrapped(*args: Any) -> tuple[list[NDArray], Any]:
        variables = args
        if argnum is not None:
            picks = argnum if isinstance(argnum, list) else [argnum]
            variables = tuple(args[i] for i in picks)
        for x in variables:
            assert isinstance(x, NDArray), "type of autograd input should NDArray."
        grads = [zeros_like(x) for x in variables]
        mark_variables(variables, grads)
        with train_section():
            outputs = func(*args)
        compute_gradient([outputs] if isinstance(outputs, NDArray) else outputs)
        return grads, outputs
    return wrapped


def grad(func: Callable, argnum: int | list[int] | None = None) -> Callable:
    """Wrap ``func`` so that calling it returns the gradients of its arguments."""
    grad_with_loss_func = grad_and_loss(func, argnum)

    @functools.wraps(grad_with_loss_func)
    def wrapped(*args: Any) -> list[NDArray]:
        return grad_with_loss_func(*args)[0]
    return wrapped
