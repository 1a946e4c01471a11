"""Output and loss layers: SoftmaxOutput, the regression outputs, MakeLoss, BlockGrad."""

from __future__ import annotations

from ._util import BOOL, FLOAT, P, assign, declare, enum, fail, like_data, scalar_shape, size_of
from .registry import Attrs, same_shape


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


for _name in ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"):
    declare(_name, "_sparse_" + _name, params={"grad_scale": P(FLOAT, 1.0)},
            inputs=("data", "label"), infer_shape=_regression_shape)

declare(
    "MakeLoss",
    params={"grad_scale": P(FLOAT, 1.0), "valid_thresh": P(FLOAT, 0.0),
            "normalization": P(enum("batch", "null", "valid"), "null")},
    infer_shape=like_data,
)
declare("make_loss", "_sparse_make_loss", outputs=("loss",), infer_shape=same_shape)
declare("BlockGrad", "stop_gradient", "_sparse_stop_gradient", infer_shape=same_shape)


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


declare("softmax_cross_entropy", inputs=("data", "label"), infer_shape=_softmax_ce_shape)
