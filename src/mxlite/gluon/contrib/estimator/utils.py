"""Argument checks shared by the Estimator and its event handlers (MXNet's ``utils.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ....base import MXNetError
from ....metric import Accuracy, CompositeEvalMetric, EvalMetric
from ...loss import SoftmaxCrossEntropyLoss

__all__: list[str] = []


class EstimatorValueError(MXNetError, ValueError):
    """Where MXNet's estimator package raises ``ValueError`` (a bad loss, metric, trainer,
    context, data loader, handler list or iteration count): callers catch either type."""


class EstimatorAssertionError(MXNetError, AssertionError):
    """Where MXNet's estimator package fails an ``assert`` (an unavailable device in
    ``context``, a checkpoint to resume from that is missing or saved on the wrong period)."""


def _check_metrics(metrics: Any) -> list[EvalMetric]:
    """``metrics`` as a flat list: a CompositeEvalMetric is unpacked into its children, as
    MXNet does, so that handlers see (and rename) the very instances the user passed."""
    if isinstance(metrics, CompositeEvalMetric):
        return [m for metric in metrics.metrics for m in _check_metrics(metric)]
    if isinstance(metrics, EvalMetric):
        return [metrics]
    metrics = metrics or []
    # A string is iterable; MXNet refuses it (``train_metrics='acc'``) because its characters
    # are no EvalMetric, and so do we.
    if not isinstance(metrics, Iterable) or not all(isinstance(m, EvalMetric)
                                                    for m in metrics):
        raise EstimatorValueError("metrics must be a Metric or a list of Metric, "
                                  f"refer to mxnet.metric.EvalMetric: {metrics}")
    return list(metrics)


def _check_handler_metric_ref(handler: Any, known_metrics: set[EvalMetric]) -> None:
    """Refuse a handler whose metric attributes hold metrics the estimator does not own.

    MXNet looks at every attribute whose name contains ``'metric'`` (its keyword list is
    ``['metric' or 'monitor']``, which Python reduces to ``['metric']``, so ``monitor``
    attributes are not checked: the same here). Methods are skipped: MXNet would call a
    bound method an unknown metric, which no real handler intends.
    """
    for attribute in dir(handler):
        if "metric" not in attribute:
            continue
        reference = getattr(handler, attribute)
        if not reference or callable(reference):
            continue
        if isinstance(reference, list):
            for metric in reference:
                _check_metric_known(handler, metric, known_metrics)
        else:
            _check_metric_known(handler, reference, known_metrics)


def _check_metric_known(handler: Any, metric: Any, known_metrics: set[EvalMetric]) -> None:
    if metric not in known_metrics:
        raise EstimatorValueError(
            f"Event handler {type(handler).__name__} refers to a metric instance {metric} "
            "outside of the known training and validation metrics. Please use the metrics "
            "from estimator.train_metrics and estimator.val_metrics instead.")


def _suggest_metric_for_loss(loss: Any) -> EvalMetric | None:
    """The default training metric MXNet adds for ``loss`` (accuracy for softmax CE)."""
    if isinstance(loss, SoftmaxCrossEntropyLoss):
        return Accuracy()
    return None
