"""Event handlers for :class:`~.estimator.Estimator` (MXNet 1.9.1's ``event_handler.py``).

A handler subclasses one or more of the six mixins (:class:`TrainBegin`, :class:`EpochBegin`,
:class:`BatchBegin`, :class:`BatchEnd`, :class:`EpochEnd`, :class:`TrainEnd`); the estimator
calls a handler at an event only when it derives from that event's mixin. Handlers run in
ascending ``priority`` (default 0): :class:`GradientUpdateHandler` at -2000, then
:class:`MetricHandler` and :class:`ValidationHandler` at -1000, user handlers at 0 and
:class:`LoggingHandler` last (+inf). A ``batch_end`` or ``epoch_end`` returning a true value
stops training.

Notes
-----
Behaviour is MXNet 1.9.1's, quirks included, so that a run stops, saves and logs at the same
points as under MXNet:

- ``mode='auto'`` of :class:`CheckpointHandler` and :class:`EarlyStoppingHandler` always
  means "greater is better" (MXNet's test ``'acc' or 'f1' in name`` is always true); pass
  ``mode='min'`` for a loss.
- A handler with ``resume_from_checkpoint=True`` numbers batches in file names from the
  checkpoint's batch + 1, or one below a plain run's numbers when no checkpoint was found.
- :class:`EarlyStoppingHandler` logs its stop only when it happened after epoch 0.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ....metric import CompositeEvalMetric, EvalMetric
from ....metric import Loss as metric_loss
from .utils import EstimatorAssertionError, EstimatorValueError, _check_metrics

if TYPE_CHECKING:
    from .estimator import Estimator

__all__ = ["TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin", "BatchEnd",
           "StoppingHandler", "MetricHandler", "ValidationHandler",
           "LoggingHandler", "CheckpointHandler", "EarlyStoppingHandler",
           "GradientUpdateHandler"]


class EventHandler:
    """Common base of the event mixins (what ``event_handlers`` lists must hold)."""


def _check_event_handlers(handlers: Any) -> list[EventHandler]:
    """``handlers`` as a new list (the estimator appends its defaults to it)."""
    if isinstance(handlers, EventHandler):
        return [handlers]
    handlers = handlers or []
    if not all(isinstance(handler, EventHandler) for handler in handlers):
        raise EstimatorValueError("event_handlers must be an EventHandler or a list of "
                                  f"EventHandler, got: {handlers}")
    # MXNet keeps the caller's list object and extends it with its default handlers; a copy
    # gives the same handlers in the same order without growing the caller's list.
    return list(handlers)


class TrainBegin(EventHandler):
    """Mixin: ``train_begin(estimator)`` is called once before the first epoch."""

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        pass


class TrainEnd(EventHandler):
    """Mixin: ``train_end(estimator)`` is called once after training stops."""

    def train_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        pass


class EpochBegin(EventHandler):
    """Mixin: ``epoch_begin(estimator)`` is called at the start of every epoch (and once at
    the start of ``evaluate``)."""

    def epoch_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        pass


class EpochEnd(EventHandler):
    """Mixin: ``epoch_end(estimator)`` is called at the end of every epoch; a true return
    value stops training."""

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> bool:
        return False


class BatchBegin(EventHandler):
    """Mixin: ``batch_begin(estimator, batch=...)`` is called before every batch."""

    def batch_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        pass


class BatchEnd(EventHandler):
    """Mixin: ``batch_end(estimator, batch=, pred=, label=, loss=)`` is called after every
    batch (``pred``, ``label``, ``loss``: lists with one NDArray per device); a true return
    value ends the epoch, and training when an ``epoch_end`` says so too."""

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> bool:
        return False


class StoppingHandler(TrainBegin, BatchEnd, EpochEnd):
    """Stop training once ``max_batch`` batches or ``max_epoch`` epochs are done.

    The estimator always adds one; its limits are re-read from ``estimator.max_epoch`` /
    ``estimator.max_batch`` at train begin.

    Parameters
    ----------
    max_epoch : int, default None
        Number of maximum epochs to train.
    max_batch : int, default None
        Number of maximum batches to train.
    """

    def __init__(self, max_epoch: int | None = None, max_batch: int | None = None) -> None:
        self.max_epoch = max_epoch
        self.max_batch = max_batch
        self.current_batch = 0
        self.current_epoch = 0
        self.stop_training = False

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.max_epoch = estimator.max_epoch
        self.max_batch = estimator.max_batch
        self.current_batch = 0
        self.current_epoch = 0

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> bool:
        self.current_batch += 1
        if self.current_batch == self.max_batch:
            self.stop_training = True
        return self.stop_training

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> bool:
        self.current_epoch += 1
        if self.current_epoch == self.max_epoch:
            self.stop_training = True
        return self.stop_training


class MetricHandler(EpochBegin, BatchEnd):
    """Reset ``metrics`` at epoch begin and update them at batch end.

    A :class:`mxlite.metric.Loss` is updated with the batch's loss values, every other metric
    with ``(label, pred)``. (Validation metrics are updated by the ``evaluate`` run of
    :class:`ValidationHandler`.)

    Parameters
    ----------
    metrics : EvalMetric or list of EvalMetric
        Metrics to be updated at batch end.
    priority : scalar, default -1000
        Priority level of the MetricHandler; handlers run in ascending priority. Metrics
        must be up to date before other handlers read them.
    """

    def __init__(self, metrics: Any, priority: float = -1000) -> None:
        self.metrics = _check_metrics(metrics)
        self.priority = priority

    def epoch_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        for metric in self.metrics:
            metric.reset()

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        pred = kwargs["pred"]
        label = kwargs["label"]
        loss = kwargs["loss"]
        for metric in self.metrics:
            if isinstance(metric, metric_loss):
                metric.update(0, loss)
            else:
                metric.update(label, pred)


class ValidationHandler(TrainBegin, BatchEnd, EpochEnd):
    """Run ``eval_fn`` on ``val_data`` every ``epoch_period`` epochs and/or every
    ``batch_period`` batches.

    Parameters
    ----------
    val_data : DataLoader
        Validation data set to run evaluation.
    eval_fn : callable
        Called as ``eval_fn(val_data=, batch_axis=, event_handlers=)``; usually
        ``estimator.evaluate``.
    epoch_period : int, default 1
        How often (in epochs) to validate at epoch end; ``None`` or 0: never.
    batch_period : int, default None
        How often (in batches) to validate at batch end; ``None``: never.
    priority : scalar, default -1000
        Priority level of the ValidationHandler (validation metrics must be computed before
        other handlers read them).
    event_handlers : EventHandler or list of EventHandler
        Handlers passed on to ``eval_fn`` for the validation runs.
    """

    def __init__(self, val_data: Any, eval_fn: Callable[..., Any], epoch_period: int | None = 1,
                 batch_period: int | None = None, priority: float = -1000,
                 event_handlers: Any = None) -> None:
        self.val_data = val_data
        self.eval_fn = eval_fn
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.current_batch = 0
        self.current_epoch = 0
        self.priority = priority
        self.event_handlers = event_handlers

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.current_batch = 0
        self.current_epoch = 0

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.current_batch += 1
        if self.batch_period and self.current_batch % self.batch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis,
                         event_handlers=self.event_handlers)

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.current_epoch += 1
        if self.epoch_period and self.current_epoch % self.epoch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis,
                         event_handlers=self.event_handlers)


def _metric_text(metrics: list[EvalMetric]) -> str:
    # MXNet's '%s: %.4f, ' per metric, the trailing ', ' stripped by the caller.
    return "".join(f"{name}: {value:.4f}, " for name, value in (m.get() for m in metrics))


class LoggingHandler(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchBegin, BatchEnd):
    """Log hyper-parameters, metrics and timings to ``estimator.logger``, in MXNet's words.

    The estimator adds one by default (for the training metrics in ``fit``, the validation
    metrics in ``evaluate``). Lines (``%.4f`` metric values, times in seconds)::

        Training begin: using optimizer SGD with current learning rate 0.0010
        Train for 3 epochs.
        [Epoch 0] Begin, current learning rate: 0.0010
        [Epoch 0][Batch 0][Samples 8] time/interval: 0.002s training mae: 0.5718
        [Epoch 0] Finished in 0.010s, training mae: 0.5107
        Train finished using total 0s with 3 epochs. training mae: 0.4127

    (the ``[Batch ...]`` lines only with an integer ``log_interval``; ``evaluate`` logs
    ``Validation Begin`` instead of the ``Begin`` line when no metric name says
    ``training``).

    Parameters
    ----------
    log_interval : int or 'epoch', default 'epoch'
        ``'epoch'``: log metrics every epoch; an integer k: also every k batches.
    metrics : list of EvalMetric
        Metrics to be logged at batch end, epoch end and train end.
    priority : scalar, default inf
        Priority level of the LoggingHandler: last, so that it logs updated states.
    """

    def __init__(self, log_interval: int | str = "epoch", metrics: Any = None,
                 priority: float = np.inf) -> None:
        super().__init__()
        # bool is an int to Python and to MXNet's isinstance check alike.
        if not isinstance(log_interval, int) and log_interval != "epoch":
            raise EstimatorValueError("log_interval must be either an integer or string "
                                      f"'epoch', got {log_interval!r}")
        self.metrics = _check_metrics(metrics)
        self.batch_index = 0
        self.current_epoch = 0
        self.processed_samples = 0
        self.priority = priority
        self.log_interval = log_interval
        self.log_interval_time = 0.0
        self.train_start = 0.0
        self.batch_start = 0.0
        self.epoch_start = 0.0

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.train_start = time.time()
        trainer = estimator.trainer
        optimizer = trainer.optimizer.__class__.__name__
        lr = trainer.learning_rate
        estimator.logger.info("Training begin: using optimizer %s "
                              "with current learning rate %.4f ", optimizer, lr)
        if estimator.max_epoch:
            estimator.logger.info("Train for %d epochs.", estimator.max_epoch)
        else:
            estimator.logger.info("Train for %d batches.", estimator.max_batch)
        self.current_epoch = 0
        self.batch_index = 0
        self.processed_samples = 0
        self.log_interval_time = 0.0

    def train_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        train_time = time.time() - self.train_start
        # MXNet's %d: whole seconds, truncated
        msg = (f"Train finished using total {int(train_time)}s with {int(self.current_epoch)} "
               "epochs. ")
        msg += _metric_text(self.metrics)
        estimator.logger.info(msg.rstrip(", "))

    def batch_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        if isinstance(self.log_interval, int):
            self.batch_start = time.time()

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        if isinstance(self.log_interval, int):
            batch_time = time.time() - self.batch_start
            msg = f"[Epoch {int(self.current_epoch)}][Batch {int(self.batch_index)}]"
            # As MXNet: the samples are counted along axis 0 of the batch's data, whatever
            # the estimator's batch_axis.
            self.processed_samples += kwargs["batch"][0].shape[0]
            msg += f"[Samples {self.processed_samples}] "
            self.log_interval_time += batch_time
            if self.batch_index % self.log_interval == 0:
                msg += f"time/interval: {self.log_interval_time:.3f}s "
                self.log_interval_time = 0.0
                msg += _metric_text(self.metrics)
                estimator.logger.info(msg.rstrip(", "))
        self.batch_index += 1

    def epoch_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        # The estimator names its metrics 'training ...' / 'validation ...': that is how a
        # handler tells a training epoch from an evaluate run.
        is_training = any("training" in metric.name for metric in self.metrics)
        self.epoch_start = time.time()
        if is_training:
            estimator.logger.info("[Epoch %d] Begin, current learning rate: %.4f",
                                  self.current_epoch, estimator.trainer.learning_rate)
        else:
            estimator.logger.info("Validation Begin")

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        epoch_time = time.time() - self.epoch_start
        msg = f"[Epoch {int(self.current_epoch)}] Finished in {epoch_time:.3f}s, "
        msg += _metric_text(self.metrics)
        estimator.logger.info(msg.rstrip(", "))
        self.current_epoch += 1
        self.batch_index = 0


def _monitor_op(monitor: EvalMetric, mode: str, who: str) -> Callable[[Any, Any], Any]:
    """The improvement test of CheckpointHandler / EarlyStoppingHandler for ``mode``.

    MXNet 1.9.1 tests ``'acc' or 'f1' in name`` for 'auto', which is always true: 'auto'
    therefore always means ``greater`` (with its warning), whatever the metric. mxlite keeps
    that, so that the same arguments stop and save at the same epochs as in MXNet; pass
    ``mode='min'`` for a loss.
    """
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who} mode {mode} is unknown, fallback to auto mode. "
                      "CheckpointHandler will usemax mode for f1 and accuracy metric "
                      "comparison and use min mode other wise", RuntimeWarning, stacklevel=3)
        mode = "auto"
    if mode == "min":
        return np.less
    if mode == "max":
        return np.greater
    warnings.warn(f"`greater` operator will be used to determine if {monitor.get()[0]} has "
                  "improved. Please specify `mode='min'` to use the `less` operator. "
                  "Specify `mode='max' to disable this warning.`", stacklevel=3)
    return np.greater


def _checkpoint_stem(prefix: str, epoch: int, batch: int) -> str:
    """``<prefix>-epoch<E>batch<B>``: MXNet's checkpoint file name without extension."""
    return f"{prefix}-epoch{int(epoch)}batch{int(batch)}"


class CheckpointHandler(TrainBegin, BatchEnd, EpochEnd):
    """Save the model periodically: the symbol once, parameters and trainer states.

    Files in ``model_dir``:

    - ``<prefix>-symbol.json`` after the first batch, when ``estimator.net`` is a hybridized
      HybridBlock (otherwise an info line says it was not saved);
    - ``<prefix>-epoch<E>batch<B>.params`` / ``.states`` (``net.save_parameters`` /
      ``trainer.save_states``) every ``epoch_period`` epochs or ``batch_period`` batches, E
      the 0-based epoch and B the number of batches trained so far (at epoch end) or the
      0-based batch index (at batch end); only the newest ``max_checkpoints`` are kept;
    - ``<prefix>-best.params`` / ``.states`` when ``save_best`` and ``monitor`` improved.

    Parameters
    ----------
    model_dir : str
        Directory for the files (created if missing).
    model_prefix : str, default 'model'
        Prefix of all checkpoint file names.
    monitor : EvalMetric, default None
        The metric that decides whether the model improved (for ``save_best``).
    verbose : int, default 0
        1: log every save.
    save_best : bool, default False
        Also keep the best model by ``monitor`` (which must then be an EvalMetric).
    mode : {'auto', 'min', 'max'}, default 'auto'
        With ``save_best``, whether smaller or larger ``monitor`` values are better; 'auto'
        means 'max' in MXNet 1.9.1 (see the module's Notes).
    epoch_period : int, default 1
        Epochs between saves; ``None``: not by epoch.
    batch_period : int, default None
        Batches between saves; ``None``: not by batch.
    max_checkpoints : int, default 5
        Epoch/batch checkpoints kept in ``model_dir``; older ones are deleted (the best is not
        counted).
    resume_from_checkpoint : bool, default False
        Load the newest ``<prefix>-epoch*batch*`` checkpoint of ``model_dir`` at train begin
        and train only the remaining epochs (or batches).
    """

    def __init__(self, model_dir: str, model_prefix: str = "model",
                 monitor: EvalMetric | None = None, verbose: int = 0, save_best: bool = False,
                 mode: str = "auto", epoch_period: int | None = 1,
                 batch_period: int | None = None, max_checkpoints: int = 5,
                 resume_from_checkpoint: bool = False) -> None:
        self.monitor = monitor
        self.verbose = verbose
        if not os.path.exists(model_dir):
            os.makedirs(model_dir)
        self.model_dir = model_dir
        self.model_prefix = model_prefix
        self.save_best = save_best
        if self.save_best and not isinstance(self.monitor, EvalMetric):
            raise EstimatorValueError(
                "To save best model only, please provide one of the metric objects from "
                "estimator.train_metrics and estimator.val_metrics as monitor.")
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.current_batch = 0
        self.current_epoch = 0
        self.max_checkpoints = max_checkpoints
        self.resume_from_checkpoint = resume_from_checkpoint
        self.saved_checkpoints: list[str] = []
        self.trained_epoch = -1
        self.trained_batch = -1
        if self.save_best:
            assert self.monitor is not None
            self.monitor_op = _monitor_op(self.monitor, mode, "ModelCheckpoint")
            self.best = np.inf if self.monitor_op is np.less else -np.inf

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.current_epoch = 0
        self.current_batch = 0
        if self.save_best:
            self.best = np.inf if self.monitor_op is np.less else -np.inf
        if self.resume_from_checkpoint:
            error_msg = ("To use resume from checkpoint, you must only specify the same type "
                         "of period you used for training.For example, if you are training "
                         "based on number of epochs,you must save only based on epochs, and "
                         "set batch_period to None.")
            if estimator.max_batch and (not self.batch_period or self.epoch_period):
                raise EstimatorAssertionError(error_msg)
            if estimator.max_epoch and (not self.epoch_period or self.batch_period):
                raise EstimatorAssertionError(error_msg)
            self._resume_from_checkpoint(estimator)

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        if self.current_batch == 0:
            self._save_symbol(estimator)
        if self.batch_period and (self.current_batch + 1) % self.batch_period == 0:
            self._save_checkpoint(estimator)
        self.current_batch += 1

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        if self.epoch_period and (self.current_epoch + 1) % self.epoch_period == 0:
            self._save_checkpoint(estimator)
        self.current_epoch += 1

    def _save_checkpoint(self, estimator: Estimator) -> None:
        if self.resume_from_checkpoint:
            # Continue the numbering of the checkpoint resumed from.
            save_epoch_number = self.current_epoch + self.trained_epoch + 1
            if estimator.max_epoch:
                # saved at epoch end, where current_batch already counts the epoch's batches
                save_batch_number = self.current_batch + self.trained_batch
            else:
                save_batch_number = self.current_batch + self.trained_batch + 1
        else:
            save_epoch_number = self.current_epoch
            save_batch_number = self.current_batch
        prefix = _checkpoint_stem(self.model_prefix, save_epoch_number, save_batch_number)
        self._save_params_and_trainer(estimator, prefix)
        if self.verbose > 0:
            estimator.logger.info("[Epoch %d] CheckpointHandler: trained total %d batches, "
                                  "saving model at %s with prefix: %s",
                                  self.current_epoch, self.current_batch + 1, self.model_dir,
                                  prefix)
        if not self.save_best:
            return
        assert self.monitor is not None
        monitor_name, monitor_value = self.monitor.get()
        if np.isnan(monitor_value):
            warnings.warn(f"Skipping save best because {monitor_name} is not updated, make sure "
                          "you pass one of the metric objects estimator.train_metrics and "
                          "estimator.val_metrics as monitor", RuntimeWarning, stacklevel=2)
        elif self.monitor_op(monitor_value, self.best):
            prefix = self.model_prefix + "-best"
            self._save_params_and_trainer(estimator, prefix)
            self.best = monitor_value
            if self.verbose > 0:
                # MXNet updates ``best`` before logging it, so "from" shows the new value too.
                estimator.logger.info("[Epoch %d] CheckpointHandler: %s improved from %0.5f to "
                                      "%0.5f, updating best model at %s with prefix: %s",
                                      self.current_epoch, monitor_name, self.best,
                                      monitor_value, self.model_dir, prefix)
        elif self.verbose > 0:
            # MXNet prints the batch counter in the [Epoch] slot of this line.
            estimator.logger.info("[Epoch %d] CheckpointHandler: %s did not improve from "
                                  "%0.5f, skipping updating best model",
                                  self.current_batch, monitor_name, self.best)

    def _save_symbol(self, estimator: Estimator) -> None:
        symbol_file = os.path.join(self.model_dir, self.model_prefix + "-symbol.json")
        cached = getattr(estimator.net, "_cached_graph", None)
        if cached:
            cached[1].save(symbol_file)
        else:
            estimator.logger.info(
                "Model architecture(symbol file) is not saved, please use HybridBlock to "
                "construct your model, and call net.hybridize() before passing to Estimator "
                "in order to save model architecture as %s.", symbol_file)

    def _save_params_and_trainer(self, estimator: Estimator, file_prefix: str) -> None:
        param_file = os.path.join(self.model_dir, file_prefix + ".params")
        trainer_file = os.path.join(self.model_dir, file_prefix + ".states")
        estimator.net.save_parameters(param_file)
        estimator.trainer.save_states(trainer_file)
        # only epoch/batch checkpoints count towards max_checkpoints
        if "best" not in file_prefix:
            self.saved_checkpoints.append(file_prefix)
        if len(self.saved_checkpoints) > self.max_checkpoints:
            prefix = self.saved_checkpoints.pop(0)
            for fname in os.listdir(self.model_dir):
                if fname.startswith(prefix):
                    os.remove(os.path.join(self.model_dir, fname))

    def _resume_from_checkpoint(self, estimator: Estimator) -> None:
        prefix = self.model_prefix + "-epoch"
        self.trained_epoch = self._find_max_iteration(
            dir=self.model_dir, prefix=prefix, start="epoch", end="batch",
            saved_checkpoints=self.saved_checkpoints)
        prefix += str(self.trained_epoch)
        self.trained_batch = self._find_max_iteration(
            dir=self.model_dir, prefix=prefix, start="batch", end=".params")

        if self.trained_epoch == -1:
            msg = "CheckpointHandler: No checkpoint found, training from scratch for "
            if estimator.max_batch:
                msg += f"{int(estimator.max_batch)} batches"
            else:
                msg += f"{int(estimator.max_epoch or 0)} epochs"
            estimator.logger.info(msg)
            return
        msg = (f"CheckpointHandler: Checkpoint resumed from epoch {self.trained_epoch} batch "
               f"{self.trained_batch}, continue to train for ")
        if estimator.max_epoch:
            if self.trained_epoch >= estimator.max_epoch - 1:
                raise EstimatorValueError(
                    f"Found checkpoint with maximum number of epoch {int(estimator.max_epoch)} "
                    "reached, please specify resume_from_checkpoint=False (default value) if you "
                    "wan to train from scratch.")
            estimator.max_epoch = estimator.max_epoch - self.trained_epoch - 1
            msg += f"{int(estimator.max_epoch)} epochs "
        if estimator.max_batch:
            if self.trained_batch >= estimator.max_batch - 1:
                raise EstimatorValueError(
                    f"Found checkpoint with maximum number of batch {self.trained_batch} "
                    "reached, please specifyresume_from_checkpoint=False (default value) if you "
                    "wan to train from scratch.")
            estimator.max_batch = estimator.max_batch - self.trained_batch - 1
            msg += f"{int(estimator.max_batch)} batches "
        stem = _checkpoint_stem(self.model_prefix, self.trained_epoch, self.trained_batch)
        param_file = os.path.join(self.model_dir, stem + ".params")
        trainer_file = os.path.join(self.model_dir, stem + ".states")
        for path in (param_file, trainer_file):
            if not os.path.exists(path):
                raise EstimatorAssertionError(
                    f"Failed to load checkpoint, {path} does not exist")
        estimator.net.load_parameters(param_file, ctx=estimator.context)
        estimator.trainer.load_states(trainer_file)
        estimator.logger.warning(msg)

    def _find_max_iteration(self, dir: str, prefix: str, start: str, end: str,  # noqa: A002
                            saved_checkpoints: list[str] | None = None) -> int:
        error_msg = ("Error parsing checkpoint file, please check your checkpoints have the "
                     "format: {model_name}-epoch{epoch_number}batch{batch_number}.params, "
                     "there should also be a .states file for each .params file ")
        max_iter = -1
        for fname in os.listdir(dir):
            if fname.startswith(prefix) and ".params" in fname:
                # MXNet only records the existing checkpoints when the list is non-empty
                # (a truthiness test), i.e. never on a fresh handler: the same here.
                if saved_checkpoints:
                    saved_checkpoints.append(fname[:fname.find(".params")])
                try:
                    iteration = int(fname[fname.find(start) + len(start):fname.find(end)])
                except ValueError:
                    raise EstimatorValueError(f"{error_msg}(got {fname!r})") from None
                max_iter = max(max_iter, iteration)
        return max_iter


class EarlyStoppingHandler(TrainBegin, EpochEnd, TrainEnd):
    """Stop training when ``monitor`` stops improving.

    Parameters
    ----------
    monitor : EvalMetric
        The metric to watch (one of ``estimator.train_metrics`` / ``val_metrics``; not a
        CompositeEvalMetric).
    min_delta : float, default 0
        Minimal change of the monitored value counted as an improvement.
    patience : int, default 0
        Epochs without improvement to wait before stopping.
    mode : {'auto', 'min', 'max'}, default 'auto'
        Whether smaller or larger values are better; 'auto' means 'max' in MXNet 1.9.1 (see
        the module's Notes).
    baseline : float, default None
        Value the first epoch must improve on (default: +-inf).
    """

    def __init__(self, monitor: EvalMetric, min_delta: float = 0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None) -> None:
        super().__init__()
        if not isinstance(monitor, EvalMetric):
            raise EstimatorValueError(
                "Please provide one of the metric objects from estimator.train_metrics and "
                f"estimator.val_metrics as monitor. (monitor: got {monitor!r})")
        if isinstance(monitor, CompositeEvalMetric):
            raise EstimatorValueError(
                "CompositeEvalMetric is not supported for EarlyStoppingHandler, please "
                "specify a simple metric instead. (monitor)")
        self.monitor = monitor
        self.baseline = baseline
        self.patience = patience
        self.wait = 0
        self.stopped_epoch = 0
        self.current_epoch = 0
        self.stop_training = False
        self.monitor_op = _monitor_op(monitor, mode, "EarlyStopping")
        # min_delta is subtracted from the monitored value: negative when smaller is better.
        self.min_delta = min_delta if self.monitor_op is np.greater else -min_delta
        self.best: float = -np.inf

    def train_begin(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.current_epoch = 0
        self.stop_training = False
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = np.inf if self.monitor_op is np.less else -np.inf

    def epoch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> bool:
        monitor_name, monitor_value = self.monitor.get()
        if np.isnan(monitor_value):
            warnings.warn(f"{monitor_name} is not updated, make sure you pass one of the metric "
                          "objects fromestimator.train_metrics and estimator.val_metrics as "
                          "monitor.", RuntimeWarning, stacklevel=2)
        elif self.monitor_op(monitor_value - self.min_delta, self.best):
            self.best = monitor_value
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = self.current_epoch
                self.stop_training = True
        self.current_epoch += 1
        return self.stop_training

    def train_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        if self.stopped_epoch > 0:
            # 'Hanlder' is MXNet's spelling in this line.
            estimator.logger.info("[Epoch %d] EarlyStoppingHanlder: early stopping due to %s "
                                  "not improving", self.stopped_epoch, self.monitor.get()[0])


class GradientUpdateHandler(BatchEnd):
    """Apply the gradients at batch end: ``estimator.trainer.step(batch_size)``, the batch
    size being the summed length (axis 0) of the per-device losses.

    Parameters
    ----------
    priority : scalar, default -2000
        Priority level of the handler: first, so that the other handlers see the updated
        parameters.
    """

    def __init__(self, priority: float = -2000) -> None:
        self.priority = priority

    def batch_end(self, estimator: Estimator, *args: Any, **kwargs: Any) -> None:
        loss = kwargs["loss"]
        if not isinstance(loss, list):
            loss = [loss]
        batch_size = sum(shard.shape[0] for shard in loss)
        estimator.trainer.step(batch_size)
