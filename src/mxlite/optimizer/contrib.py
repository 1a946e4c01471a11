"""``mx.optimizer.contrib``: MXNet 1.9.1's contributed optimizers (``GroupAdaGrad``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from ..ndarray.ndarray import NDArray
from .optimizer import Optimizer, _clip, _lazy_rows, _np, _scaled_grad, register

__all__ = ["GroupAdaGrad"]


@register
class GroupAdaGrad(Optimizer):
    """AdaGrad with one learning rate per row of a 2-D weight, state ``history`` of shape
    ``(rows, 1)`` (float32)::

        grad = clip(grad * rescale_grad, clip_gradient)
        history += mean(square(grad), axis=1, keepdims=True)
        weight -= lr * grad / sqrt(history + eps)

    A row_sparse gradient updates only its rows (MXNet's ``group_adagrad_update``). Weight
    decay is not supported.
    """

    def __init__(self, eps: float = 1e-5, **kwargs: Any):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index: Any, weight: NDArray) -> NDArray:
        w = _np(weight)
        if w.ndim != 2:
            raise MXNetError(f"GroupAdaGrad: the weight must be 2-D, got shape {w.shape}")
        return NDArray(np.zeros((w.shape[0], 1), np.float32), ctx=getattr(weight, "_ctx", None))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        if wd != 0:
            raise MXNetError("Weight decay is not supported for GroupAdaGrad")
        w, history = _np(weight), _np(state)
        rows = _lazy_rows(grad)
        if rows is None:
            g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self.clip_gradient)
            history += np.mean(np.square(g), axis=1, keepdims=True)
            w -= lr * g / np.sqrt(history + self.float_stable_eps)
            return
        # the sparse kernel clips only for a clip_gradient given and >= 0
        idx, values = rows
        g = _clip(np.multiply(values, self.rescale_grad, dtype=w.dtype), self._kernel_clip())
        g = g.reshape(len(idx), -1)
        history[idx] += np.mean(np.square(g), axis=1, keepdims=True)
        w[idx] -= (lr * g / np.sqrt(history[idx] + self.float_stable_eps)).reshape(
            w[idx].shape)
