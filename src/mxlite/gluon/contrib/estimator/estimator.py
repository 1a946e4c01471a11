"""``Estimator``: MXNet 1.9.1's Gluon training loop (``fit`` / ``evaluate``)."""

from __future__ import annotations

import copy
import logging
import sys
import warnings
from typing import Any

from ....context import Context, cpu, gpu, num_gpus
from ....metric import EvalMetric
from ....metric import Loss as metric_loss
from ...data import DataLoader
from ...loss import Loss as gluon_loss
from ...trainer import Trainer
from ...utils import split_and_load
from .batch_processor import BatchProcessor
from .event_handler import (
    BatchBegin,
    BatchEnd,
    EpochBegin,
    EpochEnd,
    EventHandler,
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    StoppingHandler,
    TrainBegin,
    TrainEnd,
    ValidationHandler,
    _check_event_handlers,
)
from .utils import (
    EstimatorAssertionError,
    EstimatorValueError,
    _check_handler_metric_ref,
    _check_metrics,
    _suggest_metric_for_loss,
)

__all__ = ["Estimator"]



class Estimator:
    """Train and evaluate a Gluon network with event handlers.

    Parameters
    ----------
    net : gluon.Block
        The model used for training.
    loss : gluon.loss.Loss
        Loss (objective) function to calculate during training.
    train_metrics : EvalMetric or list of EvalMetric
        Training metrics. Default: accuracy for ``SoftmaxCrossEntropyLoss``, plus a
        :class:`mxlite.metric.Loss` named after the loss (``'l2loss'`` ...). Every name gets
        the prefix ``'training '`` (the given metric objects are renamed in place).
    val_metrics : EvalMetric or list of EvalMetric
        Validation metrics. Default: deep copies of the training metrics. Names get
        ``'validation '`` (replacing ``'training'``).
    initializer : Initializer
        Used when some Parameter of ``net`` is not initialized yet; a fully initialized net is
        left alone (with a warning if an initializer was given).
    trainer : Trainer
        Default: ``Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.001})``, with a
        warning.
    context : Context or list of Context
        Device(s) to run on; default ``cpu()`` (``gpu(0)`` if there were GPUs).
    val_net : gluon.Block
        The model used for validation (default ``net``); usually built with
        ``params=net.collect_params()`` so that it shares the trained weights.
    val_loss : gluon.loss.Loss
        Loss for validation (default ``loss``).
    batch_processor : BatchProcessor
        Object with ``fit_batch`` and ``evaluate_batch`` methods (default
        :class:`BatchProcessor`).

    Attributes
    ----------
    logger : logging.Logger
        A fresh ``logging.Logger('Estimator', INFO)`` per estimator, writing to the
        ``sys.stdout`` of construction time; handlers log through it (add a
        ``logging.FileHandler`` to keep a file).
    """

    logger: logging.Logger

    def __init__(self, net: Any, loss: Any, train_metrics: Any = None, val_metrics: Any = None,
                 initializer: Any = None, trainer: Trainer | None = None,
                 context: Context | list[Context] | None = None, val_net: Any = None,
                 val_loss: Any = None, batch_processor: Any = None) -> None:
        self.net = net
        self.loss = self._check_loss(loss, "loss")
        self._train_metrics = _check_metrics(train_metrics)
        self._val_metrics = _check_metrics(val_metrics)
        self._add_default_training_metrics()
        self._add_validation_metrics()
        self.val_loss = self.loss
        if val_loss is not None:
            self.val_loss = self._check_loss(val_loss, "val_loss")
        self.val_net = self.net
        if val_net is not None:
            self.val_net = val_net

        # Not logging.getLogger: every estimator has its own logger and stdout handler.
        self.logger = logging.Logger(name="Estimator", level=logging.INFO)
        self.logger.addHandler(logging.StreamHandler(sys.stdout))

        self.context = self._check_context(context)
        self._initialize(initializer)
        self.trainer = self._check_trainer(trainer)
        self.batch_processor = self._check_batch_processor(batch_processor)
        # set by fit(); read by the handlers
        self.max_epoch: int | None = None
        self.max_batch: int | None = None
        self.batch_axis = 0

    # -- argument checks -----------------------------------------------------------------------

    @staticmethod
    def _check_loss(loss: Any, argname: str) -> gluon_loss:
        if not isinstance(loss, gluon_loss):
            raise EstimatorValueError(f"{argname} must be a Loss, refer to "
                                      f"gluon.loss.Loss:{loss}")
        return loss

    @staticmethod
    def _check_context(context: Any) -> list[Context]:
        gpus = num_gpus()
        available_gpus = [gpu(i) for i in range(gpus)]
        if context:
            if isinstance(context, Context):
                context = [context]
            elif not (isinstance(context, list)
                      and all(isinstance(c, Context) for c in context)):
                raise EstimatorValueError(
                    "context must be a Context or a list of Context, for example mx.cpu() or "
                    f"[mx.gpu(0), mx.gpu(1)], refer to mxnet.Context:{context}")
            for ctx in context:
                if not (ctx in available_gpus or str(ctx).startswith("cpu")):
                    raise EstimatorAssertionError(
                        f"{ctx} is not available, please make sure your context is in one of: "
                        f"mx.cpu(), {', '.join(str(c) for c in available_gpus)} (context)")
            return context
        if gpus > 0:
            if gpus > 1:
                warnings.warn("You have multiple GPUs, gpu(0) will be used by default.To "
                              "utilize all your GPUs, specify context as a list of gpus, e.g. "
                              "context=[mx.gpu(0), mx.gpu(1)] ", stacklevel=3)
            return [gpu(0)]
        return [cpu()]

    @staticmethod
    def _check_batch_processor(batch_processor: Any) -> Any:
        if batch_processor is None:
            return BatchProcessor()
        if not (callable(getattr(batch_processor, "fit_batch", None))
                and callable(getattr(batch_processor, "evaluate_batch", None))):
            raise EstimatorValueError("Customized Batch Processor must contain fit_batch() and "
                                      "evaluate_batch() methods (batch_processor)")
        return batch_processor

    def _initialize(self, initializer: Any) -> None:
        if not self._is_initialized():
            # Partly initialized nets (fine-tuning a new output layer) only get their missing
            # Parameters initialized: collect_params().initialize skips the others.
            if initializer:
                self.net.initialize(init=initializer, ctx=self.context)
            else:
                self.net.initialize(ctx=self.context)
        elif initializer:
            warnings.warn("Network already fully initialized, skipping initialization. You "
                          "don't need to pass initializer if you already initialized your net. "
                          "You can use net.initialize(init=your_initializer, "
                          "force_reinit=True)to force re-initialize.", stacklevel=3)

    def _check_trainer(self, trainer: Any) -> Trainer:
        if not trainer:
            warnings.warn("No trainer specified, default SGD optimizer with learning rate "
                          "0.001 is used.", stacklevel=3)
            return Trainer(self.net.collect_params(), "sgd", {"learning_rate": 0.001})
        if not isinstance(trainer, Trainer):
            raise EstimatorValueError("Trainer must be a Gluon Trainer instance, refer to "
                                      f"gluon.Trainer:{trainer} (trainer)")
        return trainer

    def _is_initialized(self) -> bool:
        param_dict = self.net.collect_params()
        for param in param_dict:
            try:
                param_dict[param].list_ctx()
            except RuntimeError:  # mxlite's MXNetError is a RuntimeError, as MXNet's
                return False
        return True

    def _get_data_and_label(self, batch: Any, ctx: list[Context], batch_axis: int = 0
                            ) -> tuple[list, list]:
        data = split_and_load(batch[0], ctx_list=ctx, batch_axis=batch_axis)
        label = split_and_load(batch[1], ctx_list=ctx, batch_axis=batch_axis)
        return data, label

    def _add_default_training_metrics(self) -> None:
        if not self._train_metrics:
            suggested_metric = _suggest_metric_for_loss(self.loss)
            if suggested_metric:
                self._train_metrics = [suggested_metric]
            # the loss block's name without its instance counter ('l2loss0' -> 'l2loss')
            loss_name = self.loss.name.rstrip("1234567890")
            self._train_metrics.append(metric_loss(loss_name))
        # The prefix is how handlers (LoggingHandler) tell training from validation metrics.
        for metric in self._train_metrics:
            metric.name = "training " + metric.name

    def _add_validation_metrics(self) -> None:
        if not self._val_metrics:
            self._val_metrics = [copy.deepcopy(metric) for metric in self._train_metrics]
        for metric in self._val_metrics:
            if "training" in metric.name:
                metric.name = metric.name.replace("training", "validation")
            else:
                metric.name = "validation " + metric.name

    @property
    def train_metrics(self) -> list[EvalMetric]:
        """The training metrics (names prefixed ``'training '``)."""
        return self._train_metrics

    @property
    def val_metrics(self) -> list[EvalMetric]:
        """The validation metrics (names prefixed ``'validation '``)."""
        return self._val_metrics

    # -- loops ---------------------------------------------------------------------------------

    def evaluate(self, val_data: DataLoader, batch_axis: int = 0,
                 event_handlers: EventHandler | list[EventHandler] | None = None) -> None:
        """Evaluate the model on validation data: one epoch of ``evaluate_batch`` calls of the
        batch processor, with the epoch/batch events of ``event_handlers``.

        Parameters
        ----------
        val_data : DataLoader
            Validation data loader with data and labels.
        batch_axis : int, default 0
            Batch axis to split the validation data into devices.
        event_handlers : EventHandler or list of EventHandler
            Handlers for the validation run; a MetricHandler and a LoggingHandler on
            ``val_metrics`` are added unless ones are given.
        """
        if not isinstance(val_data, DataLoader):
            raise EstimatorValueError(
                "Estimator only support input as Gluon DataLoader. Alternatively, you can "
                "transform your DataIter or any NDArray into Gluon DataLoader. Refer to "
                f"gluon.data.DataLoader (val_data: got {type(val_data).__name__})")
        for metric in self.val_metrics:
            metric.reset()

        handlers = self._prepare_default_validation_handlers(event_handlers)
        _, epoch_begin, batch_begin, batch_end, epoch_end, _ = \
            self._categorize_handlers(handlers)

        for handler in epoch_begin:
            handler.epoch_begin(self)
        for batch in val_data:
            for handler in batch_begin:
                handler.batch_begin(self, batch=batch)
            _, label, pred, loss = self.batch_processor.evaluate_batch(self, batch, batch_axis)
            for handler in batch_end:
                handler.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
        for handler in epoch_end:
            handler.epoch_end(self)

    def fit(self, train_data: DataLoader, val_data: DataLoader | None = None,
            epochs: int | None = None,
            event_handlers: EventHandler | list[EventHandler] | None = None,
            batches: int | None = None, batch_axis: int = 0) -> None:
        """Train for ``epochs`` epochs or ``batches`` batches (exactly one of them).

        Each batch goes through the batch processor's ``fit_batch`` (forward and backward);
        the parameters are updated by the GradientUpdateHandler at batch end.

        Parameters
        ----------
        train_data : DataLoader
            Training data loader with data and labels.
        val_data : DataLoader, default None
            Validation data; adds a ValidationHandler (``evaluate`` every epoch) unless one
            is given.
        epochs : int, default None
            Number of epochs to iterate on the training data.
        event_handlers : EventHandler or list of EventHandler
            Handlers for the run. A StoppingHandler is always added; a GradientUpdateHandler,
            a MetricHandler and a LoggingHandler (on ``train_metrics``) unless ones of those
            types are given. When given and default handlers mix, every metric a handler
            refers to must be one of ``train_metrics`` / ``val_metrics``.
        batches : int, default None
            Number of batches to iterate on the training data.
        batch_axis : int, default 0
            Batch axis to split the training data into devices.
        """
        if not isinstance(train_data, DataLoader):
            raise EstimatorValueError(
                "Estimator only support input as Gluon DataLoader. Alternatively, you can "
                "transform your DataIter or any NDArray into Gluon DataLoader. Refer to "
                f"gluon.data.dataloader (train_data: got {type(train_data).__name__})")
        if (not epochs) == (not batches):
            raise EstimatorValueError(
                "Fit only support exactly one type of iteration, train by number of epochs or "
                "number of batches.Please specify one and only one of: epochs or batches. "
                f"(got epochs={epochs!r}, batches={batches!r})")

        self.max_epoch = epochs
        self.max_batch = batches
        self.batch_axis = batch_axis

        handlers = self._prepare_default_handlers(val_data, event_handlers)
        train_begin, epoch_begin, batch_begin, batch_end, epoch_end, train_end = \
            self._categorize_handlers(handlers)

        for handler in train_begin:
            handler.train_begin(self)
        while True:
            for handler in epoch_begin:
                handler.epoch_begin(self)
            for batch in train_data:
                for handler in batch_begin:
                    handler.batch_begin(self, batch=batch)
                _, label, pred, loss = self.batch_processor.fit_batch(self, batch, batch_axis)
                # every batch_end handler runs, then any true result ends the epoch
                batch_end_result = [handler.batch_end(self, batch=batch, pred=pred,
                                                      label=label, loss=loss)
                                    for handler in batch_end]
                if any(batch_end_result):
                    break
            epoch_end_result = [handler.epoch_end(self) for handler in epoch_end]
            if any(epoch_end_result):
                break
        for handler in train_end:
            handler.train_end(self)

    # -- handler plumbing ----------------------------------------------------------------------

    def _prepare_default_handlers(self, val_data: Any, event_handlers: Any
                                  ) -> list[EventHandler]:
        handlers = _check_event_handlers(event_handlers)
        added: list[EventHandler] = [StoppingHandler(self.max_epoch, self.max_batch)]
        if not any(isinstance(h, GradientUpdateHandler) for h in handlers):
            added.append(GradientUpdateHandler())
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.train_metrics))
        if not any(isinstance(h, ValidationHandler) for h in handlers) and val_data:
            added.append(ValidationHandler(val_data=val_data, eval_fn=self.evaluate))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.train_metrics))

        # Only a mix of user and default handlers must agree on the metric objects; the
        # StoppingHandler is always added, so any user handler makes a mix.
        mixing = bool(handlers) and bool(added)
        handlers.extend(added)
        if mixing:
            known = set(self.train_metrics + self.val_metrics)
            for handler in handlers:
                _check_handler_metric_ref(handler, known)
        # stable sort: equal priorities keep user-then-default order
        handlers.sort(key=lambda handler: getattr(handler, "priority", 0))
        return handlers

    def _prepare_default_validation_handlers(self, event_handlers: Any) -> list[EventHandler]:
        handlers = _check_event_handlers(event_handlers)
        added: list[EventHandler] = []
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.val_metrics))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.val_metrics))
        mixing = bool(handlers) and bool(added)
        handlers.extend(added)
        if mixing:
            known = set(self.val_metrics)
            for handler in handlers:
                _check_handler_metric_ref(handler, known)
        handlers.sort(key=lambda handler: getattr(handler, "priority", 0))
        return handlers

    def _categorize_handlers(self, event_handlers: list[EventHandler]) -> tuple[list, ...]:
        """Split handlers into the six event lists (train_begin, epoch_begin, batch_begin,
        batch_end, epoch_end, train_end) by the mixins they derive from, so that events
        call only the handlers that implement them."""
        train_begin, epoch_begin, batch_begin = [], [], []
        batch_end, epoch_end, train_end = [], [], []
        for handler in event_handlers:
            if isinstance(handler, TrainBegin):
                train_begin.append(handler)
            if isinstance(handler, EpochBegin):
                epoch_begin.append(handler)
            if isinstance(handler, BatchBegin):
                batch_begin.append(handler)
            if isinstance(handler, BatchEnd):
                batch_end.append(handler)
            if isinstance(handler, EpochEnd):
                epoch_end.append(handler)
            if isinstance(handler, TrainEnd):
                train_end.append(handler)
        return train_begin, epoch_begin, batch_begin, batch_end, epoch_end, train_end
