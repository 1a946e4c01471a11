"""Training callbacks (``mx.callback``): checkpointing, speed, progress and metric logging.

Batch-end callbacks receive a :data:`BatchEndParam`; epoch-end callbacks receive
``(epoch, symbol, arg_params, aux_params)``. Log lines are MXNet's, word for word.
"""

from __future__ import annotations

import logging
import math
import time
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["BatchEndParam", "module_checkpoint", "do_checkpoint", "log_train_metric",
           "Speedometer", "ProgressBar", "LogValidationMetricsCallback"]

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])
BatchEndParam.__doc__ = """What batch-end callbacks receive: ``epoch``, ``nbatch`` (batches done
in this epoch), ``eval_metric`` (an EvalMetric or None) and ``locals`` (the caller's locals)."""


def module_checkpoint(mod: Any, prefix: str, period: int = 1,
                      save_optimizer_states: bool = False,
                      keep_last: int | None = None) -> Callable[..., None]:
    """An epoch-end callback calling ``mod.save_checkpoint(prefix, epoch + 1, ...)`` every
    ``period`` epochs; with ``keep_last=N`` only the newest N epochs' params and states stay.
    """
    period = int(max(1, period))
    _check_keep_last(keep_last)

    def _callback(iter_no: int, sym: Any = None, arg: Any = None, aux: Any = None) -> None:
        if (iter_no + 1) % period == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
            if keep_last is not None:
                from .model import prune_checkpoints

                prune_checkpoints(prefix, keep_last)

    return _callback


def _check_keep_last(keep_last: int | None) -> None:
    if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 1):
        raise ValueError(f"keep_last must be a positive int or None, got {keep_last!r}")


def do_checkpoint(prefix: str, period: int = 1, keep_last: int | None = None,
                  storage_options: Mapping[str, Any] | None = None
                  ) -> Callable[[int, Any, Any, Any], None]:
    """An epoch-end callback saving ``prefix-symbol.json`` and ``prefix-%04d.params`` (epoch
    number counted from 1) every ``period`` epochs, through ``mx.model.save_checkpoint``.

    ``prefix`` may be a local path or an fsspec URI (``s3://bucket/run/model``), with
    ``storage_options`` for credentials or endpoints. ``keep_last=N`` removes all but the
    newest N epochs' params (and states) after each save.
    """
    period = int(max(1, period))
    _check_keep_last(keep_last)

    def _callback(iter_no: int, sym: Any, arg: dict, aux: dict) -> None:
        if (iter_no + 1) % period == 0:
            from .model import save_checkpoint

            if storage_options is None:
                save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
            else:
                save_checkpoint(prefix, iter_no + 1, sym, arg, aux,
                                storage_options=storage_options)
            if keep_last is not None:
                from .model import prune_checkpoints

                prune_checkpoints(prefix, keep_last, storage_options)

    return _callback


def log_train_metric(period: int, auto_reset: bool = False) -> Callable[[Any], None]:
    """A batch-end callback logging the training metric every ``period`` batches, optionally
    resetting its local statistics after each log.
    """

    def _callback(param: Any) -> None:
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                             name, value)
            if auto_reset:
                param.eval_metric.reset_local()

    return _callback


class Speedometer:
    """A batch-end callback logging samples/sec and the metric every ``frequent`` batches.

    With ``auto_reset`` the metric's local statistics are reset after each log, and the line
    names the batch range it covers (``Batch [50-100]``); otherwise ``Batch [0-100]``.
    """

    def __init__(self, batch_size: int, frequent: int = 50, auto_reset: bool = True):
        self.batch_size = batch_size
        self.frequent = frequent
        self.init = False
        self.tic = 0.0
        self.last_count = 0
        self.auto_reset = auto_reset

    def __call__(self, param: Any) -> None:
        count = param.nbatch
        if self.last_count > count:  # a new epoch began
            self.init = False
        self.last_count = count
        if not self.init:
            self.init = True
            self.tic = time.time()
            return
        if count % self.frequent != 0:
            return
        try:
            speed = self.frequent * self.batch_size / (time.time() - self.tic)
        except ZeroDivisionError:
            speed = float("inf")
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            values = sum(name_value, ())
            if self.auto_reset:
                param.eval_metric.reset_local()
                msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec"
                msg += "\t%s=%f" * len(name_value)
                logging.info(msg, param.epoch, count - self.frequent, count, speed, *values)
            else:
                msg = "Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec"
                msg += "\t%s=%f" * len(name_value)
                logging.info(msg, param.epoch, count, speed, *values)
        else:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count,
                         speed)
        self.tic = time.time()


class ProgressBar:
    """A batch-end callback logging a ``[====----] 50%`` bar of ``length`` characters for
    ``total`` batches per epoch.
    """

    def __init__(self, total: int, length: int = 80):
        self.bar_len = length
        self.total = total

    def __call__(self, param: Any) -> None:
        count = param.nbatch
        filled_len = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        logging.info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback:
    """An eval-end callback logging each validation metric at the end of an epoch."""

    def __call__(self, param: Any) -> None:
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)
