"""Output and loss layers: SoftmaxOutput, the regression outputs, MakeLoss, BlockGrad.

Loss layers ignore their head gradient and emit the gradient of the loss they stand for, as
MXNet's do (quirks included: see SoftmaxOutput's ``out_grad``). Layers whose output is their
input return a copy, or the input itself when the executor says its buffer is dead, so an output
never aliases a live array.
"""

from __future__ import annotations

import numpy as np

from ._util import BOOL, FLOAT, P, assign, declare, enum, fail, like_data, scalar_shape, size_of
from .elemwise import sigmoid
from .registry import Attrs, same_shape


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """A numerically stable softmax along ``axis``, in ``x``'s dtype."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_output_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    lab = ins[1]
    if attrs.multi_output:
        if len(d) < 2:
            raise fail(attrs, f"multi_output needs data of at least 2 dims, got {d}")
        rest = size_of(d[2:])
        candidates = [(d[0], rest), (d[0], *d[2:]), (d[0], 1, *d[2:])]
        if lab is None:
            ins[1] = candidates[0]
        elif tuple(lab) not in candidates:
            raise fail(attrs, f"shape of 'label' is {tuple(lab)} but {candidates[0]} or "
                              f"{candidates[1]} was inferred from data {d}")
    elif lab is None or tuple(lab) != tuple(d):  # a label shaped like data holds probabilities
        assign(attrs, ins, 1, d[:-1], names)
    assign(attrs, outs, 0, d, ["output"])
    return ins, outs


def identity_forward(attrs, inputs, ctx):
    """The data as a fresh array (the data itself when nothing else reads its buffer)."""
    x = inputs[0]
    return [x if 0 in ctx.inplace else x.copy()]


def _softmax_output_view(attrs: Attrs, shape: tuple) -> tuple:
    """The shape SoftmaxOutput works in, classes along axis 1: ``(n, k, rest)`` for
    multi_output, ``(rows, last dim)`` for preserve_shape, else ``(n, every other dim)``."""
    n = shape[0]
    if attrs.multi_output:
        return (n, shape[1], size_of(shape) // (n * shape[1]))
    if attrs.preserve_shape:
        return (size_of(shape) // shape[-1], shape[-1])
    return (n, size_of(shape) // n)


def _softmax_output_forward(attrs, inputs, ctx):
    x = inputs[0]
    return [softmax(x.reshape(_softmax_output_view(attrs, x.shape)), 1).reshape(x.shape)]


def _softmax_output_backward(attrs, out_grads, inputs, outputs, ctx):
    # out_grad=True multiplies by the softmax output, not by the head gradient: MXNet 1.9.1's
    # _backward_SoftmaxOutput is handed the output where it reads the head gradient.
    label, out = inputs[1], outputs[0]
    dt = out.dtype
    if label.shape == out.shape:  # probabilities as labels: no ignoring, no normalisation
        grad = (out - label) * dt.type(attrs.grad_scale)
        return [grad * out if attrs.out_grad else grad, None]
    view = _softmax_output_view(attrs, out.shape)
    p = out.reshape(view)
    k = view[1]
    if attrs.multi_output:  # labels (n, rest): class axis 1 of (n, k, rest)
        lab = label.reshape(view[0], 1, view[2])
        cls = np.arange(k).reshape(1, k, 1)
    else:  # one label per row; MXNet reads the first n of them
        lab = label.reshape(-1)[:view[0], None]
        cls = np.arange(k)[None, :]
    lab_i = lab.astype(np.int64)
    onehot = lab_i == cls
    a = 0.0 if attrs.multi_output else attrs.smooth_alpha  # MXNet smooths 2-D views only
    target = np.where(onehot, 1 - a, a / (k - 1)) if a else onehot
    grad = p - target.astype(dt)
    if attrs.use_ignore:
        grad = np.where(lab_i == int(attrs.ignore_label), dt.type(0), grad)
    # MXNet's normalisers: none, the batch (the label's first dim, seen as (n, rest) with
    # multi_output and flattened to 1-D otherwise), or the labels other than ignore_label
    # (counted whether or not use_ignore is set). multi_output also divides by the spatial
    # size unless normalising by valid labels.
    count = label.size
    if attrs.normalization == "batch":
        count = label.shape[0] if attrs.multi_output else label.size
    elif attrs.normalization == "valid":
        ignored = label.astype(np.int64) == int(attrs.ignore_label)
        count = max(1, count - int(np.count_nonzero(ignored)))
    else:
        count = 1
    spatial = view[2] if attrs.multi_output and attrs.normalization != "valid" else 1
    grad = grad * dt.type(attrs.grad_scale / spatial / count)
    grad = grad.reshape(out.shape).astype(dt, copy=False)
    return [grad * out if attrs.out_grad else grad, None]


declare(
    "SoftmaxOutput", "Softmax",
    params={
        "grad_scale": P(FLOAT, 1.0), "ignore_label": P(FLOAT, -1.0),
        "multi_output": P(BOOL, False), "use_ignore": P(BOOL, False),
        "preserve_shape": P(BOOL, False),
        "normalization": P(enum("batch", "null", "valid"), "null"),
        "out_grad": P(BOOL, False), "smooth_alpha": P(FLOAT, 0.0),
    },
    inputs=("data", "label"), infer_shape=_softmax_output_shape,
    forward=_softmax_output_forward, backward=_softmax_output_backward,
)


def _regression_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    lab = ins[1]
    if lab is None:
        ins[1] = (d[0],) if len(d) == 2 and d[1] == 1 else d
    elif lab[0] != d[0] or size_of(lab) != size_of(d):
        raise fail(attrs, f"shape of 'label' is {tuple(lab)}, inconsistent with data {d}")
    assign(attrs, outs, 0, d, ["output"])
    return ins, outs


_REGRESSION = [  # (name, output from data (None: the data), gradient from output - label)
    ("LinearRegressionOutput", None, lambda d: d),
    ("LogisticRegressionOutput", sigmoid, lambda d: d),
    ("MAERegressionOutput", None, np.sign),
]


def _regression_forward(link):
    if link is None:
        return identity_forward

    def forward(attrs, inputs, ctx):
        with np.errstate(over="ignore"):
            return [link(inputs[0]).astype(inputs[0].dtype, copy=False)]
    return forward


def _regression_backward(dloss):
    def backward(attrs, out_grads, inputs, outputs, ctx):
        label, out = inputs[1], outputs[0]
        # MXNet averages over the outputs of one example (label size / batch size).
        per_example = label.size // label.shape[0] if label.ndim else 1
        scale = out.dtype.type(attrs.grad_scale / per_example)
        return [(dloss(out - label.reshape(out.shape)) * scale).astype(out.dtype, copy=False),
                None]
    return backward


for _name, _link, _dloss in _REGRESSION:
    declare(_name, "_sparse_" + _name, params={"grad_scale": P(FLOAT, 1.0)},
            inputs=("data", "label"), infer_shape=_regression_shape,
            forward=_regression_forward(_link), backward=_regression_backward(_dloss))


def _make_loss_backward(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    if attrs.normalization == "batch":  # MXNet's "batch" is every row of the data seen as 2-D
        scale = attrs.grad_scale / (x.size // x.shape[-1])
    elif attrs.normalization == "valid":
        scale = attrs.grad_scale / max(1, int(np.count_nonzero(x > attrs.valid_thresh)))
    else:
        scale = attrs.grad_scale
    return [np.full(x.shape, scale, dtype=x.dtype)]

declare(
    "MakeLoss",
    params={"grad_scale": P(FLOAT, 1.0), "valid_thresh": P(FLOAT, 0.0),
            "normalization": P(enum("batch", "null", "valid"), "null")},
    infer_shape=like_data, forward=identity_forward, backward=_make_loss_backward,
)
declare("make_loss", "_sparse_make_loss", outputs=("loss",), infer_shape=same_shape,
        forward=identity_forward,
        backward=lambda attrs, og, inputs, outputs, ctx: [np.ones_like(inputs[0])])
declare("BlockGrad", "stop_gradient", "_sparse_stop_gradient", infer_shape=same_shape,
        forward=identity_forward, backward=lambda attrs, og, inputs, outputs, ctx: [None])


def _softmax_ce_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    if len(d) != 2:
        raise fail(attrs, f"data must be 2-D (batch, classes), got {d}")
    if ins[1] is None or len(ins[1]) != 1:  # MXNet wants the label given, not inferred
        raise fail(attrs, f"label must be 1-D (batch,), got {ins[1]}")
    assign(attrs, ins, 1, (d[0],), names)
    assign(attrs, outs, 0, scalar_shape(), ["output"])
    return ins, outs


def _softmax_ce_forward(attrs, inputs, ctx):
    x, label = inputs
    p = softmax(x, 1)
    ctx.saved["p"] = p
    picked = p[np.arange(x.shape[0]), label.astype(np.int64)]
    return [np.asarray(-np.log(picked).sum(), dtype=x.dtype).reshape(scalar_shape())]


def _softmax_ce_backward(attrs, out_grads, inputs, outputs, ctx):
    x, label = inputs
    p = ctx.saved.get("p")
    if p is None:
        p = softmax(x, 1)
    onehot = label.astype(np.int64)[:, None] == np.arange(x.shape[1])
    return [((p - onehot) * out_grads[0].reshape(())).astype(x.dtype, copy=False), None]


declare("softmax_cross_entropy", inputs=("data", "label"), infer_shape=_softmax_ce_shape,
        forward=_softmax_ce_forward, backward=_softmax_ce_backward)
