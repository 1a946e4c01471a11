"""Gradient checks for the output and loss layers (ops/loss.py, SVMOutput and
IdentityAttachKLSparseReg from ops/misc.py).

Loss layers ignore their head gradient and emit the gradient of the loss they stand for. Each
case here writes that loss down in float64 numpy and compares the layer's backward with its
central differences, so normalisation (``grad_scale``, ``normalization``, MXNet's division by
the outputs per example) is checked together with the maths. Labels never get a gradient.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from mxlite.ops import registry
from mxlite.ops.registry import OpContext

EPS = 1e-6
RTOL, ATOL = 1e-5, 1e-8


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def onehot(label, k, axis=-1):
    oh = label.astype(int)[..., None] == np.arange(k)
    return np.moveaxis(oh, -1, axis).astype(np.float64)


def ce(x, target, axis=1, weight=1.0):
    """Cross-entropy sum(-target * log softmax(x)), each position weighted."""
    return float(np.sum(-target * log_softmax(x, axis) * weight))


def smoothed(label, k, alpha):
    oh = onehot(label, k)
    return oh * (1 - alpha) + (1 - oh) * alpha / (k - 1)


LAB4 = np.array([1.0, 0.0, 1.0, 3.0])
KEEP = (LAB4 != 1)[:, None]  # use_ignore with ignore_label=1
ML = np.array([[1.0, 0.0, 2.0, 2.0], [2.0, 1.0, 0.0, 0.0]])  # multi_output labels (2, 4)
MKEEP = (ML != 0)[:, None, :]

# (case id, op, kwargs, data shape or fixed data, label, loss(data) the gradient descends)
CASES = [
    ("smo", "SoftmaxOutput", {}, (4, 4), LAB4, lambda x: ce(x, onehot(LAB4, 4))),
    ("smo_scale_batch", "SoftmaxOutput", {"grad_scale": "0.5", "normalization": "batch"},
     (4, 4), LAB4, lambda x: ce(x, onehot(LAB4, 4)) * 0.5 / 4),
    ("smo_ignore_null", "SoftmaxOutput", {"use_ignore": "True", "ignore_label": "1"},
     (4, 4), LAB4, lambda x: ce(x, onehot(LAB4, 4), weight=KEEP)),
    ("smo_ignore_valid", "SoftmaxOutput",
     {"use_ignore": "True", "ignore_label": "1", "normalization": "valid"},
     (4, 4), LAB4, lambda x: ce(x, onehot(LAB4, 4), weight=KEEP) / 2),
    ("smo_valid_without_use_ignore", "SoftmaxOutput",  # counts, but does not mask, ignore_label
     {"ignore_label": "1", "normalization": "valid"}, (4, 4), LAB4,
     lambda x: ce(x, onehot(LAB4, 4)) / 2),
    ("smo_smooth", "SoftmaxOutput", {"smooth_alpha": "0.2"}, (4, 4), LAB4,
     lambda x: ce(x, smoothed(LAB4, 4, 0.2))),
    ("smo_smooth_ignore_batch", "SoftmaxOutput",
     {"smooth_alpha": "0.1", "use_ignore": "True", "ignore_label": "1",
      "normalization": "batch"}, (4, 4), LAB4,
     lambda x: ce(x, smoothed(LAB4, 4, 0.1), weight=KEEP) / 4),
    ("smo_flatten", "SoftmaxOutput", {}, (2, 2, 3), np.array([5.0, 1.0]),
     lambda x: ce(x.reshape(2, 6), onehot(np.array([5, 1]), 6))),
    ("smo_flatten_batch", "SoftmaxOutput", {"normalization": "batch"}, (2, 2, 3),
     np.array([[5.0, 1.0], [0.0, 2.0]]),  # MXNet reads the first n labels, divides by all
     lambda x: ce(x.reshape(2, 6), onehot(np.array([5, 1]), 6)) / 4),
    ("smo_preserve_shape", "SoftmaxOutput", {"preserve_shape": "True"}, (2, 2, 3),
     np.array([[2.0, 0.0], [1.0, 1.0]]),
     lambda x: ce(x, onehot(np.array([[2, 0], [1, 1]]), 3), axis=-1)),
    ("smo_multi_null", "SoftmaxOutput", {"multi_output": "True"}, (2, 3, 4), ML,
     lambda x: ce(x, onehot(ML, 3, axis=1)) / 4),
    ("smo_multi_valid_ignore", "SoftmaxOutput",
     {"multi_output": "True", "use_ignore": "True", "ignore_label": "0",
      "normalization": "valid"}, (2, 3, 4), ML,
     lambda x: ce(x, onehot(ML, 3, axis=1), weight=MKEEP) / 5),
    ("smo_multi_batch_scale", "SoftmaxOutput",
     {"multi_output": "True", "normalization": "batch", "grad_scale": "3"}, (2, 3, 2, 2),
     ML.reshape(2, 2, 2),
     lambda x: ce(x.reshape(2, 3, 4), onehot(ML, 3, axis=1)) * 3 / 4 / 2),
    ("smo_prob_label", "SoftmaxOutput", {"grad_scale": "2", "normalization": "batch"},
     (2, 3), np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]),
     lambda x: 2 * ce(x, np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]))),
    ("linreg", "LinearRegressionOutput", {"grad_scale": "2"}, (3, 2), np.arange(6.0).reshape(3, 2),
     lambda x: 2 * 0.5 * np.sum((x - np.arange(6.0).reshape(3, 2)) ** 2) / 2),
    ("linreg_flat_label", "LinearRegressionOutput", {}, (4, 1), np.arange(4.0),
     lambda x: 0.5 * np.sum((x[:, 0] - np.arange(4.0)) ** 2)),
    ("logreg", "LogisticRegressionOutput", {}, (3, 2), np.array([[1.0, 0], [0, 1], [1, 1]]),
     lambda x: -np.sum(np.array([[1.0, 0], [0, 1], [1, 1]]) * np.log(1 / (1 + np.exp(-x)))
                       + (1 - np.array([[1.0, 0], [0, 1], [1, 1]]))
                       * np.log(1 - 1 / (1 + np.exp(-x)))) / 2),
    ("maereg", "MAERegressionOutput", {"grad_scale": "0.5"},
     np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]]), np.zeros((2, 3)),
     lambda x: 0.5 * np.sum(np.abs(x)) / 3),
    ("makeloss", "MakeLoss", {"grad_scale": "3"}, (2, 3), None, lambda x: 3 * np.sum(x)),
    ("makeloss_batch", "MakeLoss", {"grad_scale": "3", "normalization": "batch"}, (2, 3, 2),
     None, lambda x: 3 * np.sum(x) / 6),  # MXNet's batch: every row of the data as 2-D
    ("makeloss_valid", "MakeLoss", {"normalization": "valid", "valid_thresh": "0.5"},
     np.array([[0.0, 1.0, 0.2], [0.7, 2.0, 0.0]]), None, lambda x: np.sum(x) / 3),
    ("make_loss", "make_loss", {}, (2, 3), None, lambda x: np.sum(x)),
    ("blockgrad", "BlockGrad", {}, (2, 3), None, lambda x: 0.0),
    ("svm_l2", "SVMOutput", {"margin": "0.5", "regularization_coefficient": "2"},
     np.array([[0.9, -0.8, 0.1], [0.2, 1.3, -0.1], [-1.2, -0.3, 0.3]]), np.array([0, 1, 2.0]),
     lambda x: 2 * np.sum(np.where(onehot(np.array([0, 1, 2]), 3) > 0,
                                   np.maximum(0, 0.5 - x), np.maximum(0, 0.5 + x)) ** 2)),
    ("svm_l1", "SVMOutput", {"use_linear": "True", "regularization_coefficient": "0.5"},
     np.array([[0.9, -0.8, 0.1], [0.2, 1.3, -1.1], [-1.2, -0.3, 0.3]]), np.array([1, 1, 0.0]),
     lambda x: 0.5 * np.sum(np.where(onehot(np.array([1, 1, 0]), 3) > 0,
                                     np.maximum(0, 1 - x), np.maximum(0, 1 + x)))),
]


def _data(cid, spec):
    if isinstance(spec, np.ndarray):
        return spec.astype(np.float64)
    return np.random.default_rng(zlib.crc32(cid.encode())).standard_normal(spec)


@pytest.mark.parametrize("cid, op_name, kwargs, data, label, loss", CASES,
                         ids=[c[0] for c in CASES])
def test_loss_layer_gradient_is_the_gradient_of_its_loss(cid, op_name, kwargs, data, label,
                                                         loss):
    op = registry.get(op_name)
    attrs = op.parse_attrs(kwargs)
    x = _data(cid, data)
    ins = [x] if label is None else [x, np.asarray(label, dtype=np.float64)]
    ctx = OpContext(is_train=True)
    outs = op.forward(attrs, [v.copy() for v in ins], ctx)
    junk = [np.full(np.shape(o), 7.0) for o in outs]  # head gradients are ignored
    grads = op.backward(attrs, junk, ins, outs, ctx)
    numeric = np.zeros_like(x)
    for j in range(x.size):
        p, m = x.copy(), x.copy()
        p.flat[j] += EPS
        m.flat[j] -= EPS
        numeric.flat[j] = (loss(p) - loss(m)) / (2 * EPS)
    got = np.zeros_like(x) if grads[0] is None else grads[0]
    assert got.shape == x.shape and got.dtype == x.dtype
    np.testing.assert_allclose(got, numeric, rtol=RTOL, atol=ATOL)
    assert all(g is None for g in grads[1:])


def test_softmax_output_forward_is_the_softmax_of_its_view():
    op = registry.get("SoftmaxOutput")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for kwargs, axis, view in [({}, 1, (2, 12)), ({"preserve_shape": "1"}, -1, x.shape),
                               ({"multi_output": "1"}, 1, x.shape)]:
        attrs = op.parse_attrs(kwargs)
        (y,) = op.forward(attrs, [x, np.zeros(2)], OpContext())
        want = np.exp(log_softmax(x.reshape(view), axis)).reshape(x.shape)
        np.testing.assert_allclose(y, want, rtol=1e-12)


def test_softmax_output_out_grad_multiplies_by_the_output_like_mxnet():
    # MXNet 1.9.1 hands _backward_SoftmaxOutput the output where it reads the head gradient.
    op = registry.get("SoftmaxOutput")
    attrs = op.parse_attrs({"out_grad": "True", "grad_scale": "2"})
    x = np.array([[0.1, 0.5, -0.3], [1.0, 0.0, 2.0]])
    lab = np.array([2.0, 0.0])
    outs = op.forward(attrs, [x, lab], OpContext())
    (g, gl) = op.backward(attrs, [np.full((2, 3), 5.0)], [x, lab], outs, OpContext())
    p = outs[0]
    np.testing.assert_allclose(g, 2 * (p - onehot(lab, 3)) * p, rtol=1e-12)
    assert gl is None


def test_softmax_output_float32_stays_float32():
    op = registry.get("SoftmaxOutput")
    attrs = op.parse_attrs({"normalization": "valid", "use_ignore": "1", "ignore_label": "0"})
    x = np.ones((2, 3), np.float32)
    lab = np.array([0, 0], np.float32)  # every label ignored: the count floors at 1
    outs = op.forward(attrs, [x, lab], OpContext())
    (g, _) = op.backward(attrs, [np.zeros((2, 3), np.float32)], [x, lab], outs, OpContext())
    assert outs[0].dtype == g.dtype == np.float32 and (g == 0).all()


def test_softmax_cross_entropy_gradient_and_value():
    op = registry.get("softmax_cross_entropy")
    attrs = op.parse_attrs({})
    x = np.random.default_rng(3).standard_normal((3, 4))
    lab = np.array([3.0, 0.0, 1.0])
    ctx = OpContext(is_train=True)
    (y,) = op.forward(attrs, [x, lab], ctx)
    assert y.shape == (1,)
    np.testing.assert_allclose(y[0], ce(x, onehot(lab, 4)), rtol=1e-12)
    g, gl = op.backward(attrs, [np.array([0.5])], [x, lab], [y], ctx)
    np.testing.assert_allclose(g, 0.5 * (np.exp(log_softmax(x, 1)) - onehot(lab, 4)),
                               rtol=1e-12)
    assert gl is None


def test_kl_sparse_reg_updates_its_moving_average_in_backward():
    op = registry.get("IdentityAttachKLSparseReg")
    attrs = op.parse_attrs({"penalty": "0.01", "sparseness_target": "0.2", "momentum": "0.5"})
    x = np.array([[0.1, 0.6, 0.3], [0.3, 0.2, 0.5]])
    avg = np.array([0.2, 0.4, 0.6])
    ctx = OpContext(is_train=True)
    (y,) = op.forward(attrs, [x, avg], ctx)
    assert np.array_equal(y, x) and avg.tolist() == [0.2, 0.4, 0.6]
    head = np.ones((2, 3))
    g, ga = op.backward(attrs, [head], [x, avg], [y], ctx)
    new = 0.5 * np.array([0.2, 0.4, 0.6]) + 0.5 * x.mean(axis=0)
    np.testing.assert_allclose(avg, new, rtol=1e-15)
    np.testing.assert_allclose(g, head + 0.01 * (-0.2 / new + 0.8 / (1 - new)), rtol=1e-12)
    assert ga is None
