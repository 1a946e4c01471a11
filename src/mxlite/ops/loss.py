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

# ----------------------------------------------------------------------------------------
# CTCLoss: connectionist temporal classification (Graves et al. 2006), as MXNet's CPU kernel
# (Baidu's warp-ctc) computes it. The forward runs the alpha and beta recursions in log space
# over the labels interleaved with blanks, vectorised over the batch and the states (one step
# per time step), and writes the gradient with respect to the activations into the hidden
# second output; backward scales it by the head gradient, as MXNet's does.


def _ctc_inputs(a: Attrs) -> tuple[str, ...]:
    return ("data", "label", *(("data_lengths",) if a.use_data_lengths else ()),
            *(("label_lengths",) if a.use_label_lengths else ()))


def _ctc_shape(attrs: Attrs, ins: list, outs: list):
    names = attrs.op.list_inputs(attrs)
    d, lab = ins[0], ins[1]
    # MXNet checks every input's rank, so an input of unknown shape is an error, not a
    # partial answer.
    if d is None or len(d) != 3:
        raise fail(attrs, f"data must be 3-D (sequence_length, batch, alphabet_size), got {d}")
    if lab is None or len(lab) != 2:
        raise fail(attrs, f"label must be 2-D (batch, label_sequence_length), got {lab}")
    if d[1] and lab[0] and d[1] != lab[0]:
        raise fail(attrs, f"the batch size of label {lab} differs from that of data {d}")
    if d[0] and lab[1] and d[0] < lab[1]:
        raise fail(attrs, f"labels of length {lab[1]} cannot exceed the sequence length "
                          f"{d[0]} of the data")
    for i in range(2, len(ins)):  # data_lengths, label_lengths: one per example
        if ins[i] is None or len(ins[i]) != 1:
            raise fail(attrs, f"{names[i]} must be a vector (batch,), got {ins[i]}")
        assign(attrs, ins, i, (d[1] or lab[0],), names)
    assign(attrs, outs, 0, (d[1] or lab[0],), ["output0", "output1"])
    assign(attrs, outs, 1, d, ["output0", "output1"])
    return ins, outs


def _ctc_type(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else outs[0] if outs[0] is not None else outs[1]
    ins[0] = t
    return ins, [t, t]


def _check_lengths(attrs: Attrs, name: str, n: np.ndarray, batch: int, top: int) -> None:
    # MXNet reads past its buffers on such lengths; here they are refused.
    bad = (n < 0) | (n > top)
    if n.shape != (batch,) or bad.any():
        shown = n[bad][:5].tolist() if n.shape == (batch,) else f"shape {n.shape}"
        raise fail(attrs, f"{name} must hold {batch} lengths in [0, {top}], got {shown}")


def _ctc_lengths(attrs: Attrs, inputs: list, steps: int, width: int):
    """Per example: the number of time steps and of labels, as MXNet reads them."""
    batch = inputs[0].shape[1]
    k = 2
    if attrs.use_data_lengths:
        with np.errstate(invalid="ignore"):
            n_steps = inputs[k].reshape(-1).astype(np.int64)  # truncated, like MXNet's cast
        k += 1
        _check_lengths(attrs, "data_lengths", n_steps, batch, steps)
    else:
        n_steps = np.full(batch, steps, np.int64)
    if attrs.use_label_lengths:
        with np.errstate(invalid="ignore"):
            n_labels = inputs[k].reshape(-1).astype(np.int64)
        _check_lengths(attrs, "label_lengths", n_labels, batch, width)
    else:  # a label sequence ends at the first padding value
        pad = inputs[1] == (0 if attrs.blank_label == "first" else -1)
        n_labels = np.where(pad.any(axis=1), pad.argmax(axis=1), width)
    return n_steps, n_labels


def _ctc_forward(attrs, inputs, ctx):
    x, label = inputs[0], inputs[1]
    if x.ndim != 3 or label.ndim != 2 or label.shape[0] != x.shape[1]:
        raise fail(attrs, f"data {x.shape} must be (sequence_length, batch, alphabet_size) "
                          f"and label {label.shape} (batch, label_sequence_length)")
    steps, batch, alphabet = x.shape
    width = label.shape[1]
    blank = 0 if attrs.blank_label == "first" else alphabet - 1
    n_steps, n_labels = _ctc_lengths(attrs, inputs, steps, width)
    with np.errstate(invalid="ignore"):
        lab = label.astype(np.int64)
    in_seq = np.arange(width) < n_labels[:, None]
    bad = ((lab < 0) | (lab >= alphabet)) & in_seq
    if bad.any():
        raise fail(attrs, f"label values must lie in [0, {alphabet}) for an alphabet of "
                          f"{alphabet} (blank included); got {label[bad][:5].tolist()}")
    lab = np.where(in_seq, lab, blank)
    # warp-ctc leaves an example whose labels cannot fit in its steps (each repeat needs a
    # blank between) at a loss of 0 and a gradient of 0.
    repeats = (in_seq[:, 1:] & (lab[:, 1:] == lab[:, :-1])).sum(axis=1)
    feasible = n_labels + repeats <= n_steps

    # States: the labels interleaved with blanks, 2 * width + 1 of them; those past an
    # example's own 2 * n_labels + 1 are unreachable (emission -inf).
    n_states = 2 * width + 1
    ext = np.full((batch, n_states), blank, np.int64)
    ext[:, 1::2] = lab
    last = 2 * n_labels  # the final blank's state
    live = np.arange(n_states) < (last + 1)[:, None]
    # s -> s + 2 skips a blank unless s + 2 repeats s's label (warp-ctc's two tests)
    skip_in = np.zeros((batch, n_states), bool)  # may come from s - 2
    skip_in[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    skip_out = np.zeros((batch, n_states), bool)  # may go on to s + 2
    skip_out[:, :-2] = (ext[:, :-2] != blank) & (ext[:, :-2] != ext[:, 2:])

    # MXNet's kernel works in float32 (it takes nothing else); computing in the data's own
    # precision, float32 in the same order as warp-ctc, reproduces its losses to the bit.
    work = np.result_type(x.dtype, np.float32)
    xa = x.astype(work, copy=False)
    shifted = xa - xa.max(axis=2, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    rows = np.arange(batch)[:, None]
    emit = np.where(live, logp[:, rows, ext], -np.inf)  # (steps, batch, states)

    neg = np.full((batch, 2), -np.inf, work)
    alpha = np.full((steps, batch, n_states), -np.inf, work)
    if steps:
        alpha[0, :, :2] = emit[0, :, :2]
    for t in range(1, steps):
        a = alpha[t - 1]
        prev = np.logaddexp(a, np.concatenate([neg[:, :1], a[:, :-1]], axis=1))
        two = np.concatenate([neg, a[:, :-2]], axis=1)
        alpha[t] = np.logaddexp(prev, np.where(skip_in, two, -np.inf)) + emit[t]

    end_t = np.maximum(n_steps - 1, 0)
    final = alpha[end_t, rows[:, 0]] if steps else np.full((batch, n_states), -np.inf)
    loglike = np.logaddexp(final[rows[:, 0], last],
                           np.where(last > 0, final[rows[:, 0], np.maximum(last - 1, 0)],
                                    -np.inf))
    loglike = np.where(n_steps == 0, 0.0, loglike)  # nothing to emit: probability 1
    loss = np.where(feasible, -loglike, 0.0)

    # Beta sweeps back from each example's last step; alpha + beta (both hold the emission
    # at t) gathered per symbol gives its posterior occupancy, and the gradient with respect
    # to the unnormalised activations is softmax - occupancy / p.
    onehot = (ext[:, :, None] == np.arange(alphabet)) & live[:, :, None]
    grad = np.zeros((steps, batch, alphabet), work)
    beta = np.full((batch, n_states), -np.inf, work)
    state = np.arange(n_states)
    at_last = (state == last[:, None]) | (state == (last - 1)[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in range(steps - 1, -1, -1):
            nxt = np.logaddexp(beta, np.concatenate([beta[:, 1:], neg[:, :1]], axis=1))
            two = np.concatenate([beta[:, 2:], neg], axis=1)
            rec = np.logaddexp(nxt, np.where(skip_out, two, -np.inf)) + emit[t]
            beta = np.where((t == end_t)[:, None], np.where(at_last, emit[t], -np.inf),
                            np.where((t < end_t)[:, None], rec, -np.inf))
            occ = alpha[t] + beta
            top = occ.max(axis=1, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            per_symbol = np.log(np.einsum("bs,bsa->ba", np.exp(occ - top), onehot)) + top
            post = np.exp(per_symbol - logp[t] - loglike[:, None])
            p = np.exp(logp[t])
            # warp-ctc takes an occupancy of exactly log 1 for "none" too: a symbol certain
            # at t keeps its softmax as gradient instead of 0.
            grad[t] = np.where(np.isfinite(per_symbol) & (per_symbol != 0), p - post, p)
    keep = feasible[None, :, None] & (np.arange(steps)[:, None, None] < n_steps[None, :, None])
    grad = np.where(keep, grad, 0.0)
    return [loss.astype(x.dtype), grad.astype(x.dtype)]


def _ctc_backward(attrs, out_grads, inputs, outputs, ctx):
    # MXNet's _backward_ctc_loss: the head gradient of each example times the gradient the
    # forward stored; labels and lengths get none.
    g = out_grads[0].reshape(1, -1, 1) * outputs[1]
    return [g.astype(inputs[0].dtype, copy=False), *([None] * (len(inputs) - 1))]


declare(
    "CTCLoss", "ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss",
    params={"use_data_lengths": P(BOOL, False), "use_label_lengths": P(BOOL, False),
            "blank_label": P(enum("first", "last"), "first")},
    inputs=_ctc_inputs, outputs=("output0", "output1"), num_visible_outputs=1,
    infer_shape=_ctc_shape, infer_type=_ctc_type,
    forward=_ctc_forward, backward=_ctc_backward,
    doc="Connectionist Temporal Classification loss of unnormalised activations data "
        "(sequence_length, batch, alphabet_size) against label (batch, label_length), one "
        "value per example. blank_label 'first' reserves channel 0 for the blank and pads "
        "labels with 0; 'last' reserves channel alphabet_size - 1 and pads with -1.",
)
