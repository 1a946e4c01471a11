"""``BatchProcessor``: the per-batch forward/backward step the Estimator delegates to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .... import autograd
from ...utils import split_and_load

if TYPE_CHECKING:
    from ....context import Context
    from ....ndarray import NDArray
    from .estimator import Estimator

__all__ = ["BatchProcessor"]

_Shards = list["NDArray"]


class BatchProcessor:
    """Plug-in ``fit_batch`` / ``evaluate_batch`` hooks for :class:`Estimator`.

    During training or validation the data come in mini-batches; this class trains or
    evaluates on one of them. Subclass it and override the two methods to customise the step
    (several inputs, extra losses ...), then pass an instance as
    ``Estimator(..., batch_processor=...)``.
    """

    def __init__(self) -> None:
        pass

    def _get_data_and_label(self, batch: Any, ctx: list[Context], batch_axis: int = 0
                            ) -> tuple[_Shards, _Shards]:
        data = split_and_load(batch[0], ctx_list=ctx, batch_axis=batch_axis)
        label = split_and_load(batch[1], ctx_list=ctx, batch_axis=batch_axis)
        return data, label

    def evaluate_batch(self, estimator: Estimator, val_batch: Any, batch_axis: int = 0
                       ) -> tuple[_Shards, _Shards, _Shards, _Shards]:
        """Evaluate ``estimator.val_net`` with ``estimator.val_loss`` on one batch.

        Parameters
        ----------
        estimator : Estimator
            Reference to the estimator.
        val_batch : tuple
            ``(data, label)`` of a batch from the validation data loader.
        batch_axis : int, default 0
            Batch axis to split the validation data into devices.

        Returns
        -------
        data, label, pred, loss : list of NDArray
            One entry per device of ``estimator.context``.
        """
        data, label = self._get_data_and_label(val_batch, estimator.context, batch_axis)
        pred = [estimator.val_net(x) for x in data]
        loss = [estimator.val_loss(y_hat, y) for y_hat, y in zip(pred, label)]
        return data, label, pred, loss

    def fit_batch(self, estimator: Estimator, train_batch: Any, batch_axis: int = 0
                  ) -> tuple[_Shards, _Shards, _Shards, _Shards]:
        """Forward and backward ``estimator.net`` with ``estimator.loss`` on one batch.

        The parameters are not updated here: :class:`GradientUpdateHandler` calls
        ``trainer.step`` at batch end, as in MXNet.

        Parameters
        ----------
        estimator : Estimator
            Reference to the estimator.
        train_batch : tuple
            ``(data, label)`` of a batch from the training data loader.
        batch_axis : int, default 0
            Batch axis to split the training data into devices.

        Returns
        -------
        data : list of NDArray
            The batch's data, sharded with ``gluon.utils.split_and_load``.
        label : list of NDArray
            The batch's labels, sharded the same way.
        pred : list of NDArray
            The prediction on each shard.
        loss : list of NDArray
            The loss on each shard.
        """
        data, label = self._get_data_and_label(train_batch, estimator.context, batch_axis)
        with autograd.record():
            pred = [estimator.net(x) for x in data]
            loss = [estimator.loss(y_hat, y) for y_hat, y in zip(pred, label)]
        for shard_loss in loss:
            shard_loss.backward()
        return data, label, pred, loss
