"""Online evaluation metrics (``mx.metric``), as MXNet 1.9.1 computes them.

Every metric accumulates ``sum_metric`` / ``num_inst`` (and their ``global_`` twins, which
``reset_local`` leaves alone) over whole batches with vectorised numpy. The numbers follow
MXNet's own arithmetic, quirks included: per-batch float32 results are widened to float64
before they are accumulated, as numpy 1.x did when MXNet added them to a Python float.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from .base import MXNetError
from .ndarray.ndarray import NDArray

__all__ = [
    "EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity",
    "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "PCC",
    "Loss", "Torch", "Caffe", "CustomMetric", "np", "create", "register", "alias",
    "check_label_shapes", "MetricShapeError",
]


class MetricShapeError(MXNetError, ValueError):
    """Labels and predictions disagree in count or shape (MXNet raises ``ValueError``)."""


def _asnumpy(arr: Any) -> numpy.ndarray:
    """The numpy view of an NDArray (no copy for dense arrays) or any array-like."""
    data = getattr(arr, "_data", None)
    if isinstance(data, numpy.ndarray) and getattr(arr, "stype", "default") == "default":
        return data
    if hasattr(arr, "asnumpy"):
        return arr.asnumpy()
    return numpy.asarray(arr)


def _is_ndarray(obj: Any) -> bool:
    return isinstance(obj, NDArray)


def _len_or_shape(obj: Any, shape: bool) -> Any:
    if shape:
        return tuple(obj.shape)
    if isinstance(obj, numpy.ndarray):
        return obj.size if obj.ndim == 0 else obj.shape[0]
    return len(obj)


def check_label_shapes(labels: Any, preds: Any, wrap: bool = False,
                       shape: bool = False) -> tuple[Any, Any]:
    """Check that ``labels`` and ``preds`` have the same length (or, with ``shape``, shape).

    With ``wrap``, a single NDArray is wrapped in a list. Raises :class:`MetricShapeError`
    (a ``ValueError``, as in MXNet) on a mismatch.
    """
    label_shape, pred_shape = _len_or_shape(labels, shape), _len_or_shape(preds, shape)
    if label_shape != pred_shape:
        raise MetricShapeError(f"Shape of labels {label_shape} does not match shape of "
                               f"predictions {pred_shape}")
    if wrap:
        if _is_ndarray(labels):
            labels = [labels]
        if _is_ndarray(preds):
            preds = [preds]
    return labels, preds


class EvalMetric:
    """Base class of all evaluation metrics.

    Parameters
    ----------
    name : str
        Name of this metric instance for display.
    output_names : list of str, or None
        Names of the predictions :meth:`update_dict` uses (default: all of them).
    label_names : list of str, or None
        Names of the labels :meth:`update_dict` uses (default: all of them).
    """

    def __init__(self, name: str, output_names: list[str] | None = None,
                 label_names: list[str] | None = None, **kwargs: Any):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self) -> str:
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self) -> dict[str, Any]:
        """The configuration from which :func:`create` (``create(**config)``) rebuilds it."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label: dict[str, Any], pred: dict[str, Any]) -> None:
        """Update with name -> NDArray mappings, picking ``label_names`` / ``output_names``."""
        try:
            pred = ([pred[name] for name in self.output_names]
                    if self.output_names is not None else list(pred.values()))
            label = ([label[name] for name in self.label_names]
                     if self.label_names is not None else list(label.values()))
        except KeyError as err:
            raise MXNetError(f"metric {self.name!r}: no output or label named {err.args[0]!r} "
                             "among those given to update_dict") from None
        self.update(label, pred)

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        """Accumulate one batch of labels and predictions (lists of NDArray)."""
        raise NotImplementedError()

    def reset(self) -> None:
        """Reset local and global statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self) -> None:
        """Reset the local statistics, keeping the global ones."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def _add(self, value: float, count: float) -> None:
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def get(self) -> tuple[Any, Any]:
        """``(name, value)`` of the local statistics; value is NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self) -> tuple[Any, Any]:
        """``(name, value)`` of the global statistics (those ``reset_local`` keeps)."""
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    @staticmethod
    def _zip(name: Any, value: Any) -> list[tuple[Any, Any]]:
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_name_value(self) -> list[tuple[Any, Any]]:
        """``[(name, value), ...]`` of the local statistics."""
        return self._zip(*self.get())

    def get_global_name_value(self) -> list[tuple[Any, Any]]:
        """``[(name, value), ...]`` of the global statistics."""
        if not self._has_global_stats:
            return self.get_name_value()
        return self._zip(*self.get_global())


# ---------------------------------------------------------------------------------------------
# Registry: class names (lower-cased) and aliases, as mx.registry keeps them for metrics.

_REGISTRY: dict[str, type[EvalMetric]] = {}


def register(klass: type[EvalMetric], name: str | None = None) -> type[EvalMetric]:
    """Register a metric class under ``name`` (default: its class name, lower-cased)."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise MXNetError(f"can only register subclasses of EvalMetric, not {klass!r}")
    _REGISTRY[(name or klass.__name__).lower()] = klass
    return klass


def alias(*aliases: str) -> Callable[[type[EvalMetric]], type[EvalMetric]]:
    """Class decorator registering a metric under extra names."""

    def reg(klass: type[EvalMetric]) -> type[EvalMetric]:
        for name in aliases:
            register(klass, name)
        return klass

    return reg


def _create(name: Any, /, *args: Any, **kwargs: Any) -> EvalMetric:
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise MXNetError("metric is already an instance; additional arguments are invalid")
        return name
    if isinstance(name, dict):
        return create(**name)
    if not isinstance(name, str):
        raise MXNetError(f"metric must be a name, an EvalMetric, a list or a callable, "
                         f"not {type(name).__name__}")
    if name.startswith("[") or name.startswith("{"):
        if args or kwargs:
            raise MXNetError("a JSON metric config takes no additional arguments")
        try:
            config = json.loads(name)
        except ValueError as err:
            raise MXNetError(f"metric config {name!r} is not valid JSON: {err}") from None
        if isinstance(config, list):
            return create(config[0], **config[1])
        return create(**config)
    key = name.lower()
    if key not in _REGISTRY:
        raise MXNetError(f"metric {key!r} is not registered; known metrics: "
                         f"{', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[key](*args, **kwargs)


def create(metric: Any, *args: Any, **kwargs: Any) -> EvalMetric:
    """Create a metric from a name ('acc', 'ce', 'f1', ...), an EvalMetric, a config dict,
    a list of those (giving a :class:`CompositeEvalMetric`) or a ``feval(label, pred)``
    callable (giving a :class:`CustomMetric`). Extra arguments go to the constructor.
    """
    if callable(metric) and not isinstance(metric, type):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create(metric, *args, **kwargs)


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get`` returns lists of names and values."""

    def __init__(self, metrics: Sequence[Any] | None = None, name: str = "composite",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(i) for i in (metrics or [])]

    def add(self, metric: Any) -> None:
        """Add a child metric (anything :func:`create` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index: int) -> EvalMetric:
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            raise MXNetError(f"Metric index {index} is out of range 0 and "
                             f"{len(self.metrics)}") from None

    def update_dict(self, labels: dict[str, Any], preds: dict[str, Any]) -> None:
        if self.label_names is not None:
            labels = OrderedDict(i for i in labels.items() if i[0] in self.label_names)
        if self.output_names is not None:
            preds = OrderedDict(i for i in preds.items() if i[0] in self.output_names)
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self) -> None:
        # The base constructor resets before the children exist.
        for metric in getattr(self, "metrics", ()):
            metric.reset()

    def reset_local(self) -> None:
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, use_global: bool) -> tuple[list[Any], list[Any]]:
        names: list[Any] = []
        values: list[Any] = []
        for metric in self.metrics:
            name, value = metric.get_global() if use_global else metric.get()
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return names, values

    def get(self) -> tuple[list[Any], list[Any]]:
        return self._collect(False)

    def get_global(self) -> tuple[list[Any], list[Any]]:
        return self._collect(True)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"metrics": [i.get_config() for i in self.metrics]})
        return config


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Classification accuracy; predictions are class scores along ``axis`` or class ids."""

    def __init__(self, axis: int = 1, name: str = "accuracy",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _asnumpy(label), _asnumpy(pred)
            if pred.shape != label.shape:
                pred = pred.argmax(axis=self.axis)
            pred = pred.astype("int32").ravel()
            label = label.astype("int32").ravel()
            check_label_shapes(label, pred)
            self._add(int((pred == label).sum()), pred.size)


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Top-k accuracy: a hit when the label is among the ``top_k`` highest scores."""

    def __init__(self, top_k: int = 1, name: str = "top_k_accuracy",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if self.top_k <= 1:
            raise MXNetError("Please use Accuracy if top_k is no more than 1")
        self.name += f"_{self.top_k}"

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _asnumpy(pred)
            if pred.ndim > 2:
                raise MXNetError(f"TopKAccuracy: predictions should be no more than 2 dims, "
                                 f"got shape {pred.shape}")
            if pred.ndim and self.top_k > pred.shape[-1]:
                raise MetricShapeError(f"TopKAccuracy: top_k={self.top_k} exceeds the "
                                       f"{pred.shape[-1]} classes of predictions {pred.shape}")
            pred = pred.astype("float32")
            label = _asnumpy(label).astype("int32")
            check_label_shapes(label, pred)
            if pred.ndim == 1:
                # MXNet compares argpartition's output with the labels here, and leaves the
                # global sum alone.
                ranked = numpy.argpartition(pred, -self.top_k)
                self.sum_metric += int((ranked.ravel() == label.ravel()).sum())
            elif pred.ndim == 2:
                num_classes = pred.shape[1]
                top_k = min(num_classes, self.top_k)
                # MXNet takes argpartition's last k columns, whose choice among tied scores
                # varies between numpy versions; a stable sort settles ties for the lower
                # class id, as numpy 1.x's argpartition mostly did.
                best = numpy.argsort(-pred, axis=1, kind="stable")[:, :top_k]
                hits = best == label.reshape(-1, 1)
                num_correct = int(hits.sum())
                self.sum_metric += num_correct
                self.global_sum_metric += num_correct
            self.num_inst += pred.shape[0]
            self.global_num_inst += pred.shape[0]


class _BinaryClassificationMetrics:
    """True/false positive/negative counts, local and global, for F1 and MCC."""

    _FIELDS = ("true_positives", "false_negatives", "false_positives", "true_negatives")

    def __init__(self) -> None:
        self.reset_stats()

    def update_binary_stats(self, label: Any, pred: Any, owner: str) -> None:
        pred = _asnumpy(pred)
        label = _asnumpy(label).astype("int32")
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise MetricShapeError(f"{owner} currently only supports binary classification.")
        pred_true = pred_label == 1
        label_true = label == 1
        # The products broadcast exactly as MXNet's (an (n, 1) label meets an (n,) prediction).
        counts = {
            "true_positives": (pred_true * label_true).sum(),
            "false_positives": (pred_true * ~label_true).sum(),
            "false_negatives": (~pred_true * label_true).sum(),
            "true_negatives": (~pred_true * ~label_true).sum(),
        }
        for field, count in counts.items():
            setattr(self, field, getattr(self, field) + int(count))
            setattr(self, "global_" + field, getattr(self, "global_" + field) + int(count))

    @staticmethod
    def _fscore(tp: int, fp: int, fn: int) -> float:
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    @property
    def precision(self) -> float:
        tp, fp = self.true_positives, self.false_positives
        return tp / (tp + fp) if tp + fp > 0 else 0.0

    @property
    def recall(self) -> float:
        tp, fn = self.true_positives, self.false_negatives
        return tp / (tp + fn) if tp + fn > 0 else 0.0

    @property
    def fscore(self) -> float:
        return self._fscore(self.true_positives, self.false_positives, self.false_negatives)

    @property
    def global_fscore(self) -> float:
        return self._fscore(self.global_true_positives, self.global_false_positives,
                            self.global_false_negatives)

    def matthewscc(self, use_global: bool = False) -> float:
        """Matthews correlation coefficient; zero factors of the denominator count as 1."""
        prefix = "global_" if use_global else ""
        tp, fp, fn, tn = (float(getattr(self, prefix + f)) for f in (
            "true_positives", "false_positives", "false_negatives", "true_negatives"))
        if tp + fp + fn + tn == 0:
            return 0.0
        denom = 1.0
        for term in (tp + fp, tp + fn, tn + fp, tn + fn):
            if term != 0.0:
                denom *= term
        return (tp * tn - fp * fn) / math.sqrt(denom)

    @property
    def total_examples(self) -> int:
        return sum(getattr(self, f) for f in self._FIELDS)

    @property
    def global_total_examples(self) -> int:
        return sum(getattr(self, "global_" + f) for f in self._FIELDS)

    def local_reset_stats(self) -> None:
        for field in self._FIELDS:
            setattr(self, field, 0)

    def reset_stats(self) -> None:
        for field in self._FIELDS:
            setattr(self, field, 0)
            setattr(self, "global_" + field, 0)


class _BinaryMetric(EvalMetric):
    """F1 and MCC: one score per batch ("macro") or one over all batches ("micro")."""

    def __init__(self, name: str, output_names: list[str] | None,
                 label_names: list[str] | None, average: str):
        self.average = average
        self.metrics = _BinaryClassificationMetrics()
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _score(self, use_global: bool) -> float:
        raise NotImplementedError()

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred, type(self).__name__)
        if self.average == "macro":
            self.sum_metric += self._score(False)
            self.global_sum_metric += self._score(True)
            self.num_inst += 1
            self.global_num_inst += 1
            self.metrics.reset_stats()
        else:
            self.sum_metric = self._score(False) * self.metrics.total_examples
            self.global_sum_metric = self._score(True) * self.metrics.global_total_examples
            self.num_inst = self.metrics.total_examples
            self.global_num_inst = self.metrics.global_total_examples

    def reset(self) -> None:
        super().reset()
        self.metrics.reset_stats()

    def reset_local(self) -> None:
        super().reset_local()
        self.metrics.local_reset_stats()


@register
class F1(_BinaryMetric):
    """F1 score of a binary classification (class 1 is positive).

    ``average`` is "macro" (mean of per-batch scores) or "micro" (one score over all batches).
    """

    def __init__(self, name: str = "f1", output_names: list[str] | None = None,
                 label_names: list[str] | None = None, average: str = "macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global: bool) -> float:
        return self.metrics.global_fscore if use_global else self.metrics.fscore


@register
class MCC(_BinaryMetric):
    """Matthews correlation coefficient of a binary classification; ``average`` as for F1."""

    def __init__(self, name: str = "mcc", output_names: list[str] | None = None,
                 label_names: list[str] | None = None, average: str = "macro"):
        super().__init__(name, output_names, label_names, average)

    @property
    def _average(self) -> str:
        return self.average

    @property
    def _metrics(self) -> _BinaryClassificationMetrics:
        return self.metrics

    def _score(self, use_global: bool) -> float:
        return self.metrics.matthewscc(use_global=use_global)

    def reset(self) -> None:
        super().reset()
        self.num_inst = self.global_num_inst = 0.0
        self.sum_metric = self.global_sum_metric = 0.0

    def reset_local(self) -> None:
        super().reset_local()
        self.num_inst = 0.0


@register
class Perplexity(EvalMetric):
    """Perplexity ``exp(-mean(log p(label)))``; labels equal to ``ignore_label`` are skipped.

    Computed in the prediction's dtype, as MXNet's NDArray operators do.
    """

    def __init__(self, ignore_label: int | None, axis: int = -1, name: str = "perplexity",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        if len(labels) != len(preds):
            raise MetricShapeError(f"Perplexity: {len(labels)} labels but {len(preds)} "
                                   "predictions")
        loss = 0.0
        num: float = 0
        for label, pred in zip(labels, preds):
            label, pred = _asnumpy(label), _asnumpy(pred)
            if pred.ndim == 0 or label.size * pred.shape[-1] != pred.size:
                raise MetricShapeError(f"shape mismatch: {label.shape} vs. {pred.shape}")
            axis = self.axis % pred.ndim
            if pred.ndim != 2 or pred.shape[1 - axis] != label.size:
                raise MetricShapeError(f"Perplexity: cannot pick labels of shape "
                                       f"{label.shape} from predictions {pred.shape} along "
                                       f"axis {self.axis}")
            label = label.reshape(-1).astype(pred.dtype)
            # pick() clips out-of-range class ids (ignored labels among them).
            index = numpy.clip(label.astype("int32"), 0, pred.shape[axis] - 1)
            picked = numpy.take_along_axis(pred, numpy.expand_dims(index, axis), axis)
            picked = picked.reshape(-1)
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(pred.dtype)
                num -= float(ignore.sum())
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.log(numpy.maximum(pred.dtype.type(1e-10), picked)).sum())
            num += picked.size
        self._add(loss, num)

    def get(self) -> tuple[str, float]:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self) -> tuple[str, float]:
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


def _as_columns(label: Any, pred: Any) -> tuple[numpy.ndarray, numpy.ndarray]:
    label, pred = _asnumpy(label), _asnumpy(pred)
    if label.ndim == 1:
        label = label.reshape(label.shape[0], 1)
    if pred.ndim == 1:
        pred = pred.reshape(pred.shape[0], 1)
    return label, pred


class _BatchError(EvalMetric):
    """Shared body of MAE, MSE and RMSE: one error per batch, averaged over batches (each
    batch counts once, whatever its size, as in MXNet)."""

    def __init__(self, name: str, output_names: list[str] | None,
                 label_names: list[str] | None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    @staticmethod
    def _error(diff: numpy.ndarray) -> float:
        raise NotImplementedError

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _as_columns(label, pred)
            self._add(float(self._error(label - pred)), 1)


@register
class MAE(_BatchError):
    """Mean absolute error, averaged over batches (each batch counts once)."""

    def __init__(self, name: str = "mae", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff: numpy.ndarray) -> float:
        return numpy.abs(diff).mean()


@register
class MSE(_BatchError):
    """Mean squared error, averaged over batches (each batch counts once)."""

    def __init__(self, name: str = "mse", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff: numpy.ndarray) -> float:
        return (diff ** 2.0).mean()


@register
class RMSE(_BatchError):
    """Root mean squared error of each batch, averaged over batches."""

    def __init__(self, name: str = "rmse", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(diff: numpy.ndarray) -> float:
        return numpy.sqrt((diff ** 2.0).mean())


class _LogLikelihood(EvalMetric):
    """Shared body of CrossEntropy and NegativeLogLikelihood: ``-sum(log(p[label] + eps))``."""

    def __init__(self, eps: float, name: str, output_names: list[str] | None,
                 label_names: list[str] | None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _asnumpy(label).ravel()
            pred = _asnumpy(pred)
            if pred.ndim != 2 or label.shape[0] != pred.shape[0]:
                raise MetricShapeError(f"{type(self).__name__}: {label.shape[0]} labels for "
                                       f"predictions of shape {pred.shape}")
            index = label.astype(numpy.int64)
            if index.size and (index.min() < -pred.shape[1] or index.max() >= pred.shape[1]):
                raise MetricShapeError(f"{type(self).__name__}: label out of range "
                                       f"[0, {pred.shape[1]})")
            prob = pred[numpy.arange(label.shape[0]), index]
            self._add(float((-numpy.log(prob + self.eps)).sum()), label.shape[0])


@register
@alias("ce")
class CrossEntropy(_LogLikelihood):
    """Cross entropy of class probabilities against class-id labels."""

    def __init__(self, eps: float = 1e-12, name: str = "cross-entropy",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_LogLikelihood):
    """Negative log-likelihood of class probabilities against class-id labels."""

    def __init__(self, eps: float = 1e-12, name: str = "nll-loss",
                 output_names: list[str] | None = None, label_names: list[str] | None = None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels (flattened, in float64).

    ``average`` "macro" averages per-batch coefficients; "micro" computes one coefficient over
    all batches with MXNet's running (Welford-style) sums.
    """

    def __init__(self, name: str = "pearsonr", output_names: list[str] | None = None,
                 label_names: list[str] | None = None, average: str = "macro"):
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if self.average == "micro":
            self.reset_micro()

    def reset_micro(self) -> None:
        self._sse_p = 0.0
        self._mean_p = 0.0
        self._sse_l = 0.0
        self._mean_l = 0.0
        self._pred_nums = 0
        self._label_nums = 0
        self._conv = 0.0

    def reset(self) -> None:
        super().reset()
        if self.average == "micro":
            self.reset_micro()

    @staticmethod
    def update_variance(new_values: numpy.ndarray, *aggregate: Any) -> tuple[Any, Any, Any]:
        """Fold a batch into (count, mean, sum of squared deviations)."""
        count, mean, m_2 = aggregate
        count += len(new_values)
        delta = new_values - mean
        mean += numpy.sum(delta / count)
        m_2 += numpy.sum(delta * (new_values - mean))
        return count, mean, m_2

    def update_cov(self, label: numpy.ndarray, pred: numpy.ndarray) -> None:
        self._conv = self._conv + numpy.sum((label - self._mean_l) * (pred - self._mean_p))

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True)
            label = _asnumpy(label).ravel().astype(numpy.float64)
            pred = _asnumpy(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(float(numpy.corrcoef(pred, label)[0, 1]), 1)
            else:
                self.global_num_inst += 1
                self.num_inst += 1
                self._label_nums, self._mean_l, self._sse_l = self.update_variance(
                    label, self._label_nums, self._mean_l, self._sse_l)
                self.update_cov(label, pred)
                self._pred_nums, self._mean_p, self._sse_p = self.update_variance(
                    pred, self._pred_nums, self._mean_p, self._sse_p)

    def get(self) -> tuple[str, float]:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        n = self._label_nums
        pearsonr = self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1))
                                 * numpy.sqrt(self._sse_l / (n - 1)))
        return (self.name, float(pearsonr))


@register
class PCC(EvalMetric):
    """Multiclass Pearson correlation (the K-class generalisation of MCC) from a confusion
    matrix that grows with the largest class id seen.
    """

    def __init__(self, name: str = "pcc", output_names: list[str] | None = None,
                 label_names: list[str] | None = None, has_global_stats: bool = True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc: int) -> None:
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat: numpy.ndarray) -> float:
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _asnumpy(label).astype("int32")
            pred = _asnumpy(pred)
            pred = pred.argmax(axis=1) if pred.shape != label.shape else pred.astype("int32")
            pred, label = pred.ravel(), label.ravel()
            if pred.size != label.size or (label.size and min(pred.min(), label.min()) < 0):
                raise MetricShapeError(f"PCC: predictions {pred.shape} and labels "
                                       f"{label.shape} must be equally many class ids >= 0")
            n = int(max(pred.max(), label.max())) if label.size else 0
            if n >= self.k:
                self._grow(n + 1 - self.k)
            bcm = numpy.bincount(pred.astype(numpy.int64) * self.k + label,
                                 minlength=self.k * self.k).reshape(self.k, self.k)
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self) -> float:
        return self._calc_mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, value: float) -> None:
        pass  # derived from the confusion matrix; the base reset's assignment is moot

    @property
    def global_sum_metric(self) -> float:
        return self._calc_mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, value: float) -> None:
        pass

    def reset(self) -> None:
        self.global_num_inst = 0.0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self) -> None:
        self.num_inst = 0.0
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Loss(EvalMetric):
    """Mean of the outputs themselves, for networks whose output is a loss."""

    def __init__(self, name: str = "loss", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _: Any, preds: Any) -> None:
        if _is_ndarray(preds):
            preds = [preds]
        for pred in preds:
            pred = _asnumpy(pred)
            self._add(float(pred.sum(dtype=pred.dtype)), pred.size)


@register
class Torch(Loss):
    """Dummy metric for torch criterions."""

    def __init__(self, name: str = "torch", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """Dummy metric for caffe criterions."""

    def __init__(self, name: str = "caffe", output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on numpy arrays, returning the batch's value or a
    ``(sum_metric, num_inst)`` tuple.

    Parameters
    ----------
    feval : callable(label, pred)
    name : str, optional
        Default: ``feval.__name__`` (``'custom(<lambda>)'`` for a lambda).
    allow_extra_outputs : bool
        Whether there may be more predictions than labels.
    """

    def __init__(self, feval: Callable[[Any, Any], Any], name: str | None = None,
                 allow_extra_outputs: bool = False, output_names: list[str] | None = None,
                 label_names: list[str] | None = None):
        if name is None:
            name = feval.__name__
            if "<" in name:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels: Sequence[Any], preds: Sequence[Any]) -> None:
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        for pred, label in zip(preds, labels):
            reval = self._feval(_asnumpy(label), _asnumpy(pred))
            if isinstance(reval, tuple):
                self._add(*reval)
            else:
                self._add(reval, 1)

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval: Callable[[Any, Any], Any], name: str | None = None,
       allow_extra_outputs: bool = False) -> CustomMetric:
    """A :class:`CustomMetric` from a function of numpy ``(label, pred)``."""

    def feval(label: Any, pred: Any) -> Any:
        return numpy_feval(label, pred)

    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
