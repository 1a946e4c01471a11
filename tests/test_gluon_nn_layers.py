"""``mx.gluon.nn`` behaviour the MXNet oracle cannot pin down value by value: Dropout's random
mask, the containers' indexing, refusals of bad arguments, dtype casts, deferred shapes and
the contrib layers whose operators mxlite lacks. Values against MXNet are in
test_gluon_nn_parity.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.gluon import nn
from mxlite.gluon.contrib import nn as cnn


def _run(net, *xs, train=True):
    for x in xs:
        x.attach_grad()
    with mx.autograd.record(train_mode=train):
        y = net(*xs)
    y.backward(mx.nd.ones_like(y))
    return y


# ---- Dropout


@pytest.mark.parametrize("hybridize", [False, True])
def test_dropout_training_mask(hybridize):
    mx.random.seed(7)
    net = nn.Dropout(0.25)
    net.initialize()
    if hybridize:
        net.hybridize()
    x = mx.nd.ones((40, 50))
    y = _run(net, x).asnumpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert 0.2 < 1 - kept.mean() < 0.3  # 2000 draws: the rate within 5 sigma
    # The gradient is the same mask and scale.
    np.testing.assert_array_equal(x.grad.asnumpy(), y)


def test_dropout_axes_share_the_mask():
    mx.random.seed(3)
    net = nn.Dropout(0.5, axes=(1,))
    net.initialize()
    y = _run(net, mx.nd.ones((8, 5, 6))).asnumpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :], y.shape))
    assert 0 < (y == 0).mean() < 1


@pytest.mark.parametrize("rate", [0.0, 0.6])
def test_dropout_inference_is_identity(rate):
    net = nn.Dropout(rate)
    net.initialize()
    x = mx.nd.array(np.arange(12, dtype=np.float32).reshape(3, 4))
    y = _run(net, x, train=False)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(x.grad.asnumpy(), np.ones((3, 4), np.float32))


# ---- containers


def _seq(cls):
    net = cls(prefix="s_")
    with net.name_scope():
        net.add(nn.Dense(4), nn.Dense(3))
        net.add(nn.Activation("relu"))
    return net


@pytest.mark.parametrize("cls", [nn.Sequential, nn.HybridSequential])
def test_sequential_indexing(cls):
    net = _seq(cls)
    assert len(net) == 3
    children = list(net._children.values())
    assert net[0] is children[0] and net[-1] is children[2]
    tail = net[1:]
    assert type(tail) is cls
    assert len(tail) == 2 and tail[0] is children[1] and tail[1] is children[2]
    assert len(net[5:]) == 0
    with pytest.raises(IndexError):
        net[3]


def test_sequential_hybridize_advises_hybridsequential():
    net = _seq(nn.Sequential)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        net.hybridize()
    advice = [w for w in seen if "Consider using HybridSequential" in str(w.message)]
    assert len(advice) == 1 and advice[0].category is UserWarning
    mixed = nn.Sequential()
    with mixed.name_scope():
        mixed.add(nn.Dense(2), nn.Lambda("tanh"))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        mixed.hybridize()
    assert [str(w.message) for w in seen] == []  # a non-hybrid child: no advice


def test_hybrid_concurrent_slices_keep_the_class():
    net = cnn.HybridConcurrent(axis=1)
    with net.name_scope():
        net.add(nn.Dense(2), cnn.Identity(), nn.Dense(3))
    net.initialize()
    assert net(mx.nd.ones((2, 4))).shape == (2, 9)
    assert type(net[:2]) is cnn.HybridConcurrent


def test_lambdas_take_several_inputs():
    hl = nn.HybridLambda(lambda F, x, y: F.broadcast_add(x, y))
    hl.initialize()
    hl.hybridize()
    out = hl(mx.nd.ones((2, 3)), mx.nd.array([[1, 2, 3]]))
    np.testing.assert_array_equal(out.asnumpy(), [[2, 3, 4], [2, 3, 4]])
    lam = nn.Lambda(lambda a, b: a * b)
    np.testing.assert_array_equal(lam(mx.nd.full((2,), 3), mx.nd.full((2,), 2)).asnumpy(),
                                  [6, 6])
    assert repr(nn.Lambda("tanh")) == "Lambda(tanh)"
    assert repr(nn.HybridLambda("relu")) == "HybridLambda(relu)"


# ---- shapes, dtypes, parameters


def test_deferred_shapes_until_first_forward():
    net = nn.Dense(4)
    assert net.weight.shape == (4, 0)
    net.initialize()
    net(mx.nd.ones((2, 3, 5)))
    assert net.weight.shape == (4, 15)
    conv = nn.Conv2DTranspose(3, 2)
    assert conv.weight.shape == (0, 3, 2, 2)
    conv.initialize()
    assert conv(mx.nd.ones((1, 5, 2, 2))).shape == (1, 3, 3, 3)
    assert conv.weight.shape == (5, 3, 2, 2)


def test_batchnorm_cast_keeps_float32_statistics():
    bn = nn.BatchNorm(in_channels=2)
    bn.initialize()
    bn.cast("float16")
    assert {np.dtype(p.dtype).name for p in bn.collect_params().values()} == {"float32"}
    dense = nn.Dense(2, in_units=2)
    dense.initialize()
    dense.cast("float16")
    assert np.dtype(dense.weight.dtype) == np.float16


def test_running_stats_are_not_differentiated():
    bn = nn.BatchNorm(scale=False, center=False)
    reqs = {k[len(bn.prefix):]: p.grad_req for k, p in bn.collect_params().items()}
    assert reqs == {"gamma": "null", "beta": "null", "running_mean": "null",
                    "running_var": "null"}


def test_embedding_sparse_grad_values_match_dense():
    idx = mx.nd.array([[0, 2], [2, 4]])
    grads = []
    for sparse in (False, True):
        emb = nn.Embedding(5, 3, sparse_grad=sparse, weight_initializer="ones")
        emb.initialize()
        with mx.autograd.record():
            out = emb(idx)
        out.backward()
        g = emb.weight.grad()
        grads.append(g.tostype("default").asnumpy() if g.stype != "default" else g.asnumpy())
        np.testing.assert_array_equal(out.asnumpy(), np.ones((2, 2, 3), np.float32))
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0][:, 0], [1, 0, 2, 0, 1])


def test_default_prefixes_use_mxnet_aliases():
    parent = nn.HybridSequential(prefix="q_")
    with parent.name_scope():
        blocks = [nn.Conv1D(2, 1), nn.Conv2DTranspose(2, 1), nn.MaxPool2D(),
                  nn.GlobalAvgPool1D(), nn.Activation("tanh"), nn.Activation("tanh"),
                  nn.Dense(2, activation="relu"), nn.ELU(), cnn.Identity()]
    assert [b.prefix for b in blocks] == [
        "q_conv0_", "q_conv1_", "q_pool0_", "q_pool1_", "q_tanh0_", "q_tanh1_", "q_dense0_",
        "q_elu0_", "q_identity0_"]
    assert blocks[6].act.prefix == "q_dense0_relu_"


# ---- refusals


@pytest.mark.parametrize("make, match", [
    (lambda: nn.LeakyReLU(-0.1), "alpha"),
    (lambda: nn.Conv1D(2, 3, layout="NWC"), "layout 'NWC'"),
    (lambda: nn.Conv2D(2, 3, layout="NCW"), "layout 'NCW'"),
    (lambda: nn.Conv3D(2, (1, 2)), "kernel_size must be a number or a list of 3 ints"),
    (lambda: nn.Conv2D(2, 3, strides=(1, 1, 1)), "strides"),
    (lambda: nn.Conv2DTranspose(2, 3, output_padding=(1, 1, 1)), "output_padding"),
    (lambda: nn.MaxPool2D(layout="NCDHW"), "2D Pooling"),
    (lambda: nn.AvgPool1D(pool_size=(2, 2)), "pool_size"),
    (lambda: nn.GlobalMaxPool3D(layout="NCHW"), "3D Pooling"),
    (lambda: nn.ReflectionPad2D((1, 1)), "padding"),
    (lambda: nn.Lambda("no_such_operator"), "no_such_operator"),
    (lambda: nn.Lambda(3), "unrecognized function"),
    (lambda: nn.HybridLambda("no_such_operator"), "no_such_operator"),
    (lambda: cnn.PixelShuffle2D((1, 2, 3)), "factor"),
])
def test_bad_arguments_raise_mxneterror(make, match):
    with pytest.raises(mx.MXNetError, match=match):
        make()


# ---- contrib layers whose operators mxlite lacks


def test_syncbatchnorm_builds_and_names_its_missing_operator():
    with pytest.warns(UserWarning, match="num_devices"):
        net = cnn.SyncBatchNorm(prefix="sbn_")
    assert repr(net) == ("SyncBatchNorm(eps=1e-05, momentum=0.9, fix_gamma=False, "
                         "use_global_stats=False, ndev=1, key='sbn_', in_channels=None)")
    assert list(net.collect_params()) == ["sbn_gamma", "sbn_beta", "sbn_running_mean",
                                          "sbn_running_var"]
    net = cnn.SyncBatchNorm(in_channels=3, num_devices=2)
    net.initialize()
    with pytest.raises(mx.MXNetError, match="_contrib_SyncBatchNorm"):
        net(mx.nd.ones((2, 3, 2)))


def test_sparse_embedding_parameters():
    net = cnn.SparseEmbedding(5, 3, prefix="se_")
    assert repr(net) == "SparseEmbedding(5 -> 3, float32)"
    assert [(k, p.shape) for k, p in net.collect_params().items()] == [("se_weight", (5, 3))]
    net.initialize()
    # MXNet needs a Trainer to hand out row_sparse rows; without one it raises RuntimeError
    # (MXNetError is one).
    with pytest.raises(RuntimeError):
        net(mx.nd.array([0, 1]))
