"""Losses for training (``mx.gluon.loss``): MXNet 1.9.1's ``gluon/loss.py``.

Every loss is a :class:`~mxlite.gluon.HybridBlock` whose ``hybrid_forward(F, pred, label,
...)`` is a composition of registry operators called through ``F``, so it runs imperatively,
under autograd and hybridized alike, with MXNet's numbers. Losses reduce every axis but
``batch_axis`` (a mean unless noted) and return one value per example. Parameter names,
defaults and ``repr`` strings are MXNet's.

Where MXNet 1.9.1 cannot run a loss, mxlite can: ``PoissonNLLLoss(compute_full=True)`` works
under ``autograd.record()`` and hybridized (MXNet's in-place ``*=`` fails both).
``SDMLLoss`` reads its batch size from the inputs' shapes and so, as in MXNet, runs only
imperatively.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .. import ndarray
from ..base import MXNetError
from .block import HybridBlock

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss",
           "HingeLoss", "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]


def _apply_weighting(F: Any, loss: Any, weight: float | None = None,  # noqa: N803
                     sample_weight: Any = None) -> Any:
    """``loss`` times the per-sample weights (broadcast) and the global scalar ``weight``.

    Parameters
    ----------
    loss : Symbol or NDArray
        The loss to weigh.
    weight : float or None
        Global scalar weight.
    sample_weight : Symbol or NDArray or None
        Per-sample weights, broadcastable to ``loss``'s shape: ``(64, 1)`` weighs each row
        of a ``(64, 10)`` loss.
    """
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        if not isinstance(weight, numbers.Number):
            raise MXNetError(f"weight must be a number, got {weight!r}")
        loss = loss * weight
    return loss


def _reshape_like(F: Any, x: Any, y: Any) -> Any:  # noqa: N803
    """``x`` reshaped to ``y``'s shape (same number of elements)."""
    if F is ndarray:
        return x.reshape(y.shape)
    return F.reshape_like(x, y)


def _batch_mean(F: Any, loss: Any, batch_axis: int) -> Any:  # noqa: N803
    return F.mean(loss, axis=batch_axis, exclude=True)


def _stable_softplus_neg_abs(F: Any, x: Any) -> Any:  # noqa: N803
    """``log(1 + exp(-|x|))``, which never overflows."""
    return F.Activation(-F.abs(x), act_type="softrelu")


class Loss(HybridBlock):
    """Base class of the losses.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    """

    def __init__(self, weight: float | None, batch_axis: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = batch_axis

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def hybrid_forward(self, F: Any, x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N803
        """The loss of ``x`` against the further inputs; subclasses define it."""
        raise NotImplementedError

    def _weighted_mean(self, F: Any, loss: Any, sample_weight: Any,  # noqa: N803
                       weight: float | None = None) -> Any:
        """``loss`` weighted (``weight`` defaults to the loss's own) and averaged over the
        non-batch axes."""
        weight = self._weight if weight is None else weight
        return _batch_mean(F, _apply_weighting(F, loss, weight, sample_weight),
                           self._batch_axis)


class _ElementwiseLoss(Loss):
    """A loss computed element by element from ``pred`` and ``label`` (reshaped like
    ``pred``), then weighted and averaged over the non-batch axes: subclasses give
    :meth:`_elementwise`."""

    def hybrid_forward(self, F: Any, pred: Any, label: Any,  # noqa: N803
                       sample_weight: Any = None) -> Any:
        loss = self._elementwise(F, pred, _reshape_like(F, label, pred))
        return self._weighted_mean(F, loss, sample_weight, self._scaled_weight())

    def _scaled_weight(self) -> float | None:
        return self._weight

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        raise NotImplementedError


class L2Loss(_ElementwiseLoss):
    r"""Half the mean squared error between `label` and `pred`:
    :math:`L = \frac{1}{2} \sum_i \vert {label}_i - {pred}_i \vert^2`, averaged over the
    non-batch axes.

    `label` and `pred` can have any shapes with the same number of elements.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: target tensor with the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, weight: float = 1., batch_axis: int = 0, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)

    def _scaled_weight(self) -> float | None:
        return self._weight / 2

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        return F.square(label - pred)


class L1Loss(_ElementwiseLoss):
    r"""Mean absolute error between `label` and `pred`:
    :math:`L = \sum_i \vert {label}_i - {pred}_i \vert`, averaged over the non-batch axes.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: target tensor with the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, weight: float | None = None, batch_axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        return F.abs(label - pred)


class SigmoidBinaryCrossEntropyLoss(Loss):
    r"""Binary cross-entropy of `pred` against `label` in [0, 1] (alias: SigmoidBCELoss).

    With ``from_sigmoid=False`` (default) `pred` is a logit and the loss is computed in the
    overflow-free form :math:`\max(x, 0) - x z + \log(1 + e^{-|x|})`; with
    ``from_sigmoid=True`` `pred` is a probability and
    :math:`L = -\sum_i {label}_i \log({pred}_i) {pos\_weight} + (1 - {label}_i)
    \log(1 - {pred}_i)`.

    Parameters
    ----------
    from_sigmoid : bool, default False
        Whether `pred` is already a probability (the output of a sigmoid).
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: target tensor with values in [0, 1], the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.
        - **pos_weight**: weight of the positive examples per class, broadcastable to
          label's shape: (1, 10) for a (64, 10) pred. Above 1 favours recall, below 1
          precision.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, from_sigmoid: bool = False, weight: float | None = None,
                 batch_axis: int = 0, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F: Any, pred: Any, label: Any,  # noqa: N803
                       sample_weight: Any = None, pos_weight: Any = None) -> Any:
        label = _reshape_like(F, label, pred)
        if not self._from_sigmoid:
            if pos_weight is None:
                loss = F.relu(pred) - pred * label + _stable_softplus_neg_abs(F, pred)
            else:
                # x - x z + (1 + z (pos_weight - 1)) (log(1 + exp(-|x|)) + max(-x, 0))
                log_weight = 1 + F.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * (
                    _stable_softplus_neg_abs(F, pred) + F.relu(-pred))
        else:
            eps = 1e-12  # keeps log finite at probabilities of exactly 0 or 1
            hit = F.log(pred + eps) * label
            if pos_weight is not None:
                hit = F.broadcast_mul(hit, pos_weight)
            loss = -(hit + F.log(1. - pred + eps) * (1. - label))
        return self._weighted_mean(F, loss, sample_weight)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    r"""Softmax cross-entropy (alias: SoftmaxCELoss).

    With ``sparse_label=True`` (default) `label` holds class indices and has `pred`'s shape
    without `axis`: :math:`L = -\sum_i \log p_{i, {label}_i}`, ``p = softmax(pred)``. With
    ``sparse_label=False`` `label` holds a distribution of `pred`'s shape:
    :math:`L = -\sum_i \sum_j {label}_j \log p_{ij}`.

    Parameters
    ----------
    axis : int, default -1
        The class axis (softmax and the sum run along it).
    sparse_label : bool, default True
        Whether label holds class indices rather than probabilities.
    from_logits : bool, default False
        Whether pred already holds log probabilities (e.g. from log_softmax).
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor; `batch_axis` runs over examples, `axis` over classes.
        - **label**: class indices (pred's shape without `axis`: (1, 2, 4) for a (1, 2, 3, 4)
          pred and ``axis=2``), or probabilities of pred's shape.
        - **sample_weight**: element-wise weighting tensor, broadcastable to label's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, axis: int = -1, sparse_label: bool = True, from_logits: bool = False,
                 weight: float | None = None, batch_axis: int = 0, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F: Any, pred: Any, label: Any,  # noqa: N803
                       sample_weight: Any = None) -> Any:
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        if self._sparse_label:
            loss = -F.pick(pred, label, axis=self._axis, keepdims=True)
        else:
            label = _reshape_like(F, label, pred)
            loss = -F.sum(pred * label, axis=self._axis, keepdims=True)
        return self._weighted_mean(F, loss, sample_weight)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    r"""Kullback-Leibler divergence of `pred` from `label`, summed over the non-batch axes:
    :math:`L = \sum_i {label}_i (\log({label}_i) - {pred}_i)` with log probabilities as
    `pred` (``from_logits=True``, default), or ``log_softmax(pred, axis)`` in their place.

    Parameters
    ----------
    from_logits : bool, default True
        Whether pred holds log probabilities rather than unnormalised scores.
    axis : int, default -1
        The axis of the softmax when ``from_logits`` is False.
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: log probabilities (or scores) of arbitrary shape.
        - **label**: probabilities in (0, 1), the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, from_logits: bool = True, axis: int = -1,
                 weight: float | None = None, batch_axis: int = 0, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F: Any, pred: Any, label: Any,  # noqa: N803
                       sample_weight: Any = None) -> Any:
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.sum(loss, axis=self._batch_axis, exclude=True)


class CTCLoss(Loss):
    r"""Connectionist Temporal Classification loss (operator ``CTCLoss`` with
    ``blank_label='last'``).

    Parameters
    ----------
    layout : str, default 'NTC'
        Layout of pred: 'N' batch, 'T' sequence, 'C' alphabet (blank included); 'NTC' or
        'TNC'.
    label_layout : str, default 'NT'
        Layout of label: 'NT' or 'TN'.
    weight : float or None
        Global scalar weight for loss.

    Inputs:
        - **pred**: unnormalised scores (softmax is applied inside) in `layout`; channel
          ``alphabet_size - 1`` is the blank, so alphabet_size is one more than the alphabet.
        - **label**: zero-based labels in `label_layout`, each sequence padded with -1: for
          'ba', 'cbb' and 'abac' over {a: 0, b: 1, c: 2}, ``[[1, 0, -1, -1], [2, 1, 1, -1],
          [0, 1, 0, 2]]``.
        - **pred_lengths**: optional (batch_size,) lengths of the pred sequences.
        - **label_lengths**: optional (batch_size,) lengths of the label sequences.
        - **sample_weight**: optional weights broadcastable to (batch_size,).

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, layout: str = "NTC", label_layout: str = "NT",
                 weight: float | None = None, **kwargs: Any) -> None:
        if layout not in ("NTC", "TNC"):
            raise MXNetError(f"Only 'NTC' and 'TNC' layouts for pred are supported. Got: "
                             f"{layout}")
        if label_layout not in ("NT", "TN"):
            raise MXNetError(f"Only 'NT' and 'TN' layouts for label are supported. Got: "
                             f"{label_layout}")
        self._layout = layout
        self._label_layout = label_layout
        super().__init__(weight, label_layout.find("N"), **kwargs)

    def hybrid_forward(self, F: Any, pred: Any, label: Any,  # noqa: N803
                       pred_lengths: Any = None, label_lengths: Any = None,
                       sample_weight: Any = None) -> Any:
        if self._layout == "NTC":
            pred = F.swapaxes(pred, dim1=0, dim2=1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, dim1=0, dim2=1)
        # lengths go by name: a None among positional inputs would shift the others
        lengths = {}
        if pred_lengths is not None:
            lengths["data_lengths"] = pred_lengths
        if label_lengths is not None:
            lengths["label_lengths"] = label_lengths
        loss = F.CTCLoss(pred, label, use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None, blank_label="last",
                         **lengths)
        return _apply_weighting(F, loss, self._weight, sample_weight)


class HuberLoss(_ElementwiseLoss):
    r"""Smoothed L1 loss: :math:`\frac{1}{2 \rho} ({label}_i - {pred}_i)^2` where the error
    is below `rho`, :math:`|{label}_i - {pred}_i| - \frac{\rho}{2}` elsewhere, averaged over
    the non-batch axes.

    Parameters
    ----------
    rho : float, default 1
        Threshold between the quadratic and the linear part.
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: target tensor with the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, rho: float = 1, weight: float | None = None, batch_axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        err = F.abs(label - pred)
        return F.where(err > self._rho, err - 0.5 * self._rho,
                       (0.5 / self._rho) * F.square(err))


class HingeLoss(_ElementwiseLoss):
    r"""Hinge loss of SVMs: :math:`\max(0, {margin} - {pred}_i \cdot {label}_i)` for labels
    of -1 or 1, averaged over the non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: -1 or 1, the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, margin: float = 1, weight: float | None = None, batch_axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        return F.relu(self._margin - pred * label)


class SquaredHingeLoss(_ElementwiseLoss):
    r"""Soft-margin loss of SVMs: :math:`\max(0, {margin} - {pred}_i \cdot {label}_i)^2`
    for labels of -1 or 1, averaged over the non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: -1 or 1, the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, margin: float = 1, weight: float | None = None, batch_axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        return F.square(F.relu(self._margin - pred * label))


class LogisticLoss(_ElementwiseLoss):
    r"""Logistic loss of a binary classifier: :math:`\log(1 + \exp(-{pred}_i \cdot
    {label}_i))` for labels of -1 or 1 (``label_format='signed'``) or 0 or 1 ('binary'),
    averaged over the non-batch axes.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    label_format : str, default 'signed'
        'signed' (labels -1/1) or 'binary' (labels 0/1).

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **label**: labels in `label_format`, the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, weight: float | None = None, batch_axis: int = 0,
                 label_format: str = "signed", **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format
        if label_format not in ("signed", "binary"):
            raise MXNetError(f"label_format can only be signed or binary, recieved "
                             f"{label_format}.")

    def _elementwise(self, F: Any, pred: Any, label: Any) -> Any:  # noqa: N803
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0  # -1/1 to 0/1
        return F.relu(pred) - pred * label + _stable_softplus_neg_abs(F, pred)


class TripletLoss(Loss):
    r"""Triplet loss: :math:`\max(\Vert {pos}_i - {pred} \Vert_2^2 -
    \Vert {neg}_i - {pred} \Vert_2^2 + {margin}, 0)`, the squared distances summed over the
    non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        Margin of separation between the positive and the negative example.
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **pred**: prediction tensor with arbitrary shape.
        - **positive**: positive example tensor, the same size as pred.
        - **negative**: negative example tensor, the same size as pred.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, margin: float = 1, weight: float | None = None, batch_axis: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F: Any, pred: Any, positive: Any,  # noqa: N803
                       negative: Any) -> Any:
        positive = _reshape_like(F, positive, pred)
        negative = _reshape_like(F, negative, pred)
        loss = F.sum(F.square(positive - pred) - F.square(negative - pred),
                     axis=self._batch_axis, exclude=True)
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, None)


class PoissonNLLLoss(Loss):
    r"""Negative log likelihood of `target` under a Poisson distribution of mean `pred`,
    averaged over every element (the result has shape (1,)):
    :math:`\exp({pred}) - {target} \cdot {pred}` when pred is the log of the mean
    (``from_logits=True``, default), else :math:`{pred} - {target} \cdot \log({pred} +
    \epsilon)`.

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    from_logits : bool, default True
        Whether pred is the log of the predicted mean.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    compute_full : bool, default False
        Whether to add Stirling's approximation of :math:`\log({target}!)`,
        :math:`{target} \log({target}) - {target} + \frac{1}{2} \log(2 \pi {target})`, for
        targets above 1.

    Inputs:
        - **pred**: predicted value.
        - **target**: observed counts, the same size as pred.
        - **sample_weight**: element-wise weighting tensor, broadcastable to pred's shape.
        - **epsilon**: keeps the log finite at pred 0 (default 1e-08).

    Outputs:
        - **loss**: mean loss, shape (1,).
    """

    def __init__(self, weight: float | None = None, from_logits: bool = True,
                 batch_axis: int = 0, compute_full: bool = False, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F: Any, pred: Any, target: Any,  # noqa: N803
                       sample_weight: Any = None, epsilon: float = 1e-08) -> Any:
        target = _reshape_like(F, target, pred)
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            stirling = target * F.log(target) - target + 0.5 * F.log(2 * target * math.pi)
            # out of place: MXNet's in-place *= fails under autograd and on Symbols
            loss = loss + stirling * (target > 1)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


class CosineEmbeddingLoss(Loss):
    r"""Cosine embedding loss of two inputs: :math:`1 - \cos({input1}_i, {input2}_i)` where
    the label is 1, :math:`\max(0, \cos({input1}_i, {input2}_i) - {margin})` where it is -1
    (cosines along the last axis).

    Parameters
    ----------
    weight : float or None
        Global scalar weight for loss.
    batch_axis : int, default 0
        The axis that represents mini-batch.
    margin : float, default 0
        Margin of separation of dissimilar pairs.

    Inputs:
        - **input1**: a tensor of arbitrary shape.
        - **input2**: a tensor of input1's size, compared with it.
        - **label**: a 1-D tensor of 1 (similar) or -1 (dissimilar) per pair.
        - **sample_weight**: weighting tensor broadcastable to (batch_size, 1).

    Outputs:
        - **loss**: loss tensor with shape (batch_size, 1).
    """

    def __init__(self, weight: float | None = None, batch_axis: int = 0, margin: float = 0,
                 **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F: Any, input1: Any, input2: Any, label: Any,  # noqa: N803
                       sample_weight: Any = None) -> Any:
        input1 = _reshape_like(F, input1, input2)
        label = label.reshape((-1, 1))
        cos_sim = self._cosine_similarity(F, input1, input2)
        similar = (1 - cos_sim) * (label == 1)
        zero = F.array([0]) if F is ndarray else F.zeros((1, 1))
        dissimilar = F.broadcast_maximum(zero, (label == -1) * (cos_sim - self._margin))
        return _apply_weighting(F, similar + dissimilar, self._weight, sample_weight)

    def _cosine_similarity(self, F: Any, x: Any, y: Any, axis: int = -1) -> Any:  # noqa: N803
        x_norm = F.norm(x, axis=axis).reshape((-1, 1))
        y_norm = F.norm(y, axis=axis).reshape((-1, 1))
        x_dot_y = F.sum(x * y, axis=axis).reshape((-1, 1))
        eps = F.array([1e-12]) if F is ndarray else F.full((1, 1), 1e-12)
        return x_dot_y / F.broadcast_maximum(x_norm * y_norm, eps)


class SDMLLoss(Loss):
    r"""Batchwise Smoothed Deep Metric Learning loss (Bonadiman, Kumar and Mittal, 2019,
    arXiv:1905.12786).

    ``x1[i]`` and ``x2[i]`` form a positive pair; every other row of the minibatch serves as
    a negative. The negative squared distances, softmaxed per row, are matched (KL
    divergence) to the identity matrix smoothed by `smoothing_parameter`. The batch size
    comes from the inputs' shapes, so the loss runs imperatively only.

    Parameters
    ----------
    smoothing_parameter : float, default 0.3
        Probability mass spread over the negatives; below 1.
    weight : float or None
        Global scalar weight for loss (kept, as in MXNet, but not applied).
    batch_axis : int, default 0
        The axis that represents mini-batch.

    Inputs:
        - **x1**: minibatch of vectors, (batch_size, vector_dim).
        - **x2**: minibatch of vectors, (batch_size, vector_dim), aligned with x1.

    Outputs:
        - **loss**: loss tensor with shape (batch_size,).
    """

    def __init__(self, smoothing_parameter: float = 0.3, weight: float | None = 1.,
                 batch_axis: int = 0, **kwargs: Any) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter

    def _compute_distances(self, x1: Any, x2: Any) -> Any:
        """Squared euclidean distance of every row of x1 to every row of x2: (n, n)."""
        if x1.shape != x2.shape:
            raise MXNetError(f"SDMLLoss: x1 {x1.shape} and x2 {x2.shape} must have one shape")
        if len(x1.shape) != 2:
            raise MXNetError(f"SDMLLoss: inputs must be (batch_size, vector_dim), got "
                             f"{x1.shape}")
        n, dim = x1.shape
        a = x1.expand_dims(1).broadcast_to([n, n, dim])
        b = x2.expand_dims(0).broadcast_to([n, n, dim])
        return ((a - b) ** 2).sum(axis=2)

    def _compute_labels(self, F: Any, batch_size: int) -> Any:  # noqa: N803
        """The identity matrix with `smoothing_parameter` of each row's mass spread evenly
        over its other entries (label smoothing, Pereyra et al. 2017)."""
        gold = F.eye(batch_size)
        s = self.smoothing_parameter
        return gold * (1 - s) + (1 - gold) * s / (batch_size - 1)

    def _loss(self, F: Any, x1: Any, x2: Any) -> Any:  # noqa: N803
        labels = self._compute_labels(F, x1.shape[0])
        distances = self._compute_distances(x1, x2)
        log_probabilities = F.log_softmax(-distances, axis=1)
        return self.kl_loss(log_probabilities, labels.as_in_context(distances.context))

    def hybrid_forward(self, F: Any, x1: Any, x2: Any) -> Any:  # noqa: N803
        if F is not ndarray:
            raise MXNetError("SDMLLoss cannot be hybridized: its label matrix takes the batch "
                             "size from the inputs' shapes (MXNet's fails the same way)")
        return self._loss(F, x1, x2)
