"""Finite-difference gradient checks for the neural-network layers (src/mxlite/ops/nn.py).

Every differentiable operator's backward kernel is compared with central differences of its
own forward kernel, in float64 on small random inputs: for a random head gradient ``h`` the
loss is ``sum(h * output)``, and d loss / d input must match ``backward``. Inputs of operators
with kinks (relu, leaky, max pooling) are drawn as distinct values away from the kinks. The
same table then checks float16 against float64; last come the behaviours MXNet's oracle
fixtures cannot pin down (random masks, moving statistics, buffers reused in place).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from mxlite.ops import registry
from mxlite.ops.registry import OpContext

STEP = 1e-6
RTOL, ATOL = 1e-5, 1e-7

# (id, operator, kwargs, input shapes in the operator's input order, options)
# options: train (bool, default True); spread (inputs as distinct values away from 0, for
# kinks); ints {input: bound} (index/length inputs, no gradient); fixed (inputs not checked:
# aux states); positive (inputs drawn in (0.5, 1.5), e.g. variances).
CASES = [
    ("fc", "FullyConnected", {"num_hidden": 3}, [(2, 4), (3, 4), (3,)], {}),
    ("fc_flatten", "FullyConnected", {"num_hidden": 2}, [(2, 2, 3), (2, 6), (2,)], {}),
    ("fc_noflatten_nobias", "FullyConnected", {"num_hidden": 2, "flatten": False,
                                               "no_bias": True}, [(2, 2, 3), (2, 3)], {}),
    ("conv1d", "Convolution", {"kernel": (3,), "num_filter": 2, "pad": (1,), "stride": (2,)},
     [(2, 2, 7), (2, 2, 3), (2,)], {}),
    ("conv2d", "Convolution", {"kernel": (2, 3), "num_filter": 2, "pad": (1, 0),
                               "dilate": (2, 1)}, [(1, 2, 5, 5), (2, 2, 2, 3), (2,)], {}),
    ("conv2d_group", "Convolution", {"kernel": (3, 3), "num_filter": 4, "num_group": 2,
                                     "stride": (2, 2)}, [(1, 4, 5, 5), (4, 2, 3, 3), (4,)], {}),
    ("conv2d_depthwise", "Convolution", {"kernel": (3, 3), "num_filter": 3, "num_group": 3,
                                         "pad": (1, 1), "no_bias": True},
     [(1, 3, 4, 4), (3, 1, 3, 3)], {}),
    ("conv2d_nhwc", "Convolution", {"kernel": (2, 2), "num_filter": 2, "layout": "NHWC"},
     [(1, 4, 4, 3), (2, 2, 2, 3), (2,)], {}),
    ("conv3d", "Convolution", {"kernel": (2, 2, 2), "num_filter": 2},
     [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2), (2,)], {}),
    ("deconv2d", "Deconvolution", {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2),
                                   "pad": (1, 1), "adj": (1, 1), "no_bias": False},
     [(1, 2, 3, 3), (2, 2, 3, 3), (2,)], {}),
    ("deconv2d_group", "Deconvolution", {"kernel": (2, 2), "num_filter": 4, "num_group": 2},
     [(1, 2, 3, 3), (2, 2, 2, 2)], {}),
    ("deconv2d_target", "Deconvolution", {"kernel": (4, 4), "num_filter": 2,
                                          "stride": (2, 2), "target_shape": (7, 8)},
     [(1, 2, 4, 4), (2, 2, 4, 4)], {}),
    ("deconv1d", "Deconvolution", {"kernel": (3,), "num_filter": 2, "stride": (2,)},
     [(2, 2, 4), (2, 2, 3)], {}),
    ("pool_max", "Pooling", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)},
     [(1, 2, 5, 5)], {"spread": True}),
    ("pool_max_full", "Pooling", {"kernel": (2, 2), "stride": (2, 2),
                                  "pooling_convention": "full"}, [(1, 2, 5, 5)],
     {"spread": True}),
    ("pool_max_nhwc", "Pooling", {"kernel": (2, 2), "stride": (2, 2), "layout": "NHWC"},
     [(1, 4, 4, 2)], {"spread": True}),
    ("pool_avg", "Pooling", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                             "pool_type": "avg"}, [(1, 2, 5, 5)], {}),
    ("pool_avg_nopad", "Pooling", {"kernel": (3,), "stride": (2,), "pad": (1,),
                                   "pool_type": "avg", "count_include_pad": False},
     [(2, 2, 7)], {}),
    ("pool_sum_3d", "Pooling", {"kernel": (2, 2, 2), "pool_type": "sum"}, [(1, 1, 3, 3, 3)],
     {}),
    ("pool_lp2", "Pooling", {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp",
                             "p_value": 2}, [(1, 2, 4, 4)], {"spread": True}),
    ("pool_lp3", "Pooling", {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp",
                             "p_value": 3}, [(1, 2, 4, 4)], {"positive": {0}}),
    ("pool_global_avg", "Pooling", {"global_pool": True, "pool_type": "avg"},
     [(2, 3, 3, 4)], {}),
    ("pool_global_max", "Pooling", {"global_pool": True}, [(2, 2, 3, 3)], {"spread": True}),
    ("bn_train", "BatchNorm", {"fix_gamma": False},
     [(4, 3, 2), (3,), (3,), (3,), (3,)], {"fixed": {3, 4}, "positive": {4}}),
    ("bn_train_fix_gamma", "BatchNorm", {"axis": -1, "eps": 0.01},
     [(3, 2, 4), (4,), (4,), (4,), (4,)], {"fixed": {3, 4}, "positive": {4}}),
    ("bn_global_stats", "BatchNorm", {"fix_gamma": False, "use_global_stats": True},
     [(3, 2, 2, 2), (2,), (2,), (2,), (2,)], {"fixed": {3, 4}, "positive": {4}}),
    ("bn_inference", "BatchNorm", {"fix_gamma": False},
     [(3, 2, 3), (2,), (2,), (2,), (2,)], {"fixed": {3, 4}, "positive": {4}, "train": False}),
    ("ln", "LayerNorm", {}, [(2, 3, 4), (4,), (4,)], {}),
    ("ln_axis1", "LayerNorm", {"axis": 1, "eps": 1e-3}, [(2, 3, 4), (3,), (3,)], {}),
    ("gn", "GroupNorm", {"num_groups": 2}, [(2, 4, 3), (2,), (2,)], {}),
    ("in", "InstanceNorm", {}, [(2, 3, 2, 3), (3,), (3,)], {}),
    ("l2n_instance", "L2Normalization", {}, [(2, 3, 4)], {}),
    ("l2n_channel", "L2Normalization", {"mode": "channel"}, [(2, 3, 4)], {}),
    ("l2n_spatial", "L2Normalization", {"mode": "spatial", "eps": 0.1}, [(2, 3, 2, 2)], {}),
    ("lrn", "LRN", {"nsize": 3}, [(2, 5, 2, 2)], {}),
    ("lrn_even", "LRN", {"nsize": 4, "alpha": 0.01, "beta": 0.5, "knorm": 1.0},
     [(1, 6, 2, 2)], {}),
    *[(f"act_{a}", "Activation", {"act_type": a}, [(2, 3, 4)], {"spread": a == "relu"})
      for a in ("relu", "sigmoid", "softrelu", "softsign", "tanh")],
    ("leaky", "LeakyReLU", {"slope": 0.1}, [(2, 3, 4)], {"spread": True}),
    ("elu", "LeakyReLU", {"act_type": "elu", "slope": 0.7}, [(2, 3, 4)], {"spread": True}),
    ("gelu", "LeakyReLU", {"act_type": "gelu"}, [(2, 3, 4)], {}),
    ("prelu", "LeakyReLU", {"act_type": "prelu"}, [(2, 3, 4), (3,)], {"spread": True}),
    ("prelu_scalar", "LeakyReLU", {"act_type": "prelu"}, [(2, 3, 4), (1,)], {"spread": True}),
    ("rrelu_train", "LeakyReLU", {"act_type": "rrelu"}, [(2, 3, 4)], {"spread": True}),
    ("dropout", "Dropout", {"p": 0.4}, [(3, 4, 2)], {}),
    ("dropout_axes", "Dropout", {"p": 0.3, "axes": (2,)}, [(2, 3, 4)], {}),
    ("dropout_always_infer", "Dropout", {"mode": "always"}, [(2, 5)], {"train": False}),
    ("dropout_infer", "Dropout", {}, [(2, 5)], {"train": False}),
    ("embedding", "Embedding", {"input_dim": 4, "output_dim": 3, "dtype": "float64"},
     [(2, 3), (4, 3)], {"ints": {0: 4}}),
    ("softmax", "softmax", {}, [(2, 3, 4)], {}),
    ("softmax_axis0_temp", "softmax", {"axis": 0, "temperature": 2.5}, [(3, 4)], {}),
    ("softmax_length", "softmax", {"use_length": True}, [(2, 3, 5), (2, 3)],
     {"ints": {1: 6}}),
    ("log_softmax", "log_softmax", {"axis": 1, "temperature": 0.5}, [(2, 3, 4)], {}),
    ("softmin", "softmin", {}, [(2, 3, 4)], {}),
    ("softmin_temp", "softmin", {"axis": 0, "temperature": 3.0}, [(3, 2)], {}),
    ("softmax_activation", "SoftmaxActivation", {}, [(2, 3, 2)], {}),
    ("softmax_activation_channel", "SoftmaxActivation", {"mode": "channel"},
     [(2, 3, 2, 2)], {}),
    ("upsample_nearest", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 1},
     [(1, 2, 2, 3)], {}),
    ("upsample_concat", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     [(1, 1, 2, 2), (1, 2, 1, 1)], {}),
    ("upsample_sum", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2,
                                    "multi_input_mode": "sum"},
     [(1, 2, 2, 2), (1, 2, 4, 4)], {}),
    ("upsample_bilinear", "UpSampling", {"scale": 2, "sample_type": "bilinear",
                                         "num_filter": 2, "num_args": 1},
     [(1, 2, 3, 3), (2, 1, 4, 4)], {}),
    ("upsample_bilinear3", "UpSampling", {"scale": 3, "sample_type": "bilinear",
                                          "num_filter": 1, "num_args": 1},
     [(1, 1, 2, 2), (1, 1, 5, 5)], {}),
    ("pad_constant", "Pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1),
                             "constant_value": 1.5}, [(1, 2, 3, 3)], {}),
    ("pad_edge", "Pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 2, 1, 0, 3)},
     [(1, 2, 3, 3)], {}),
    ("pad_reflect", "Pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 1, 2)},
     [(1, 2, 4, 4)], {}),
    ("pad_reflect_5d", "Pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 1, 0, 2, 1, 0)},
     [(1, 1, 2, 3, 3)], {}),
]


def _inputs(cid: str, shapes: list, opts: dict) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(cid.encode()))
    out = []
    for i, shape in enumerate(shapes):
        if i in opts.get("ints", {}):
            out.append(rng.integers(0, opts["ints"][i], shape, dtype=np.int32))
        elif i in opts.get("positive", ()):
            out.append(rng.uniform(0.5, 1.5, shape))
        elif opts.get("spread") and i == 0:
            # Distinct values at least 1/size apart and away from 0: no ties, no kinks.
            n = math.prod(shape)
            vals = (np.arange(n) - n / 2 + 0.5) / n * 4
            out.append(rng.permutation(vals).reshape(shape))
        else:
            out.append(rng.standard_normal(shape))
    return out


def _run(op, attrs, ins: list, train: bool):
    ctx = OpContext(is_train=train, rng=np.random.default_rng(7))
    outs = op.forward(attrs, [x.copy() for x in ins], ctx)
    return outs, ctx


@pytest.mark.parametrize("cid,name,kwargs,shapes,opts", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(cid, name, kwargs, shapes, opts):
    op = registry.get(name)
    attrs = op.parse_attrs({k: str(v) for k, v in kwargs.items()})
    assert len(op.list_inputs(attrs)) == len(shapes)
    train = opts.get("train", True)
    ins = _inputs(cid, shapes, opts)
    outs, ctx = _run(op, attrs, ins, train)
    head = np.random.default_rng(1).standard_normal(np.shape(outs[0]))
    heads = [head] + [np.zeros(np.shape(o)) for o in outs[1:]]
    grads = op.backward(attrs, heads, [x.copy() for x in ins], outs, ctx)
    assert len(grads) == len(ins)

    def loss(vals: list) -> float:
        return float(np.sum(head * _run(op, attrs, vals, train)[0][0]))

    skip = set(opts.get("ints", {})) | set(opts.get("fixed", ()))
    checked = 0
    for i, x in enumerate(ins):
        if i in skip:
            continue
        num = np.empty_like(x)
        for j in np.ndindex(x.shape):  # a handful of elements per small test input
            vals = [v.copy() for v in ins]
            vals[i][j] += STEP
            up = loss(vals)
            vals[i][j] -= 2 * STEP
            num[j] = (up - loss(vals)) / (2 * STEP)
        got = np.zeros_like(x) if grads[i] is None else np.asarray(grads[i])
        assert got.shape == x.shape
        np.testing.assert_allclose(got, num, rtol=RTOL, atol=ATOL, err_msg=f"input {i}")
        checked += 1
    assert checked


def test_fix_gamma_gives_no_gamma_gradient():
    op = registry.get("BatchNorm")
    attrs = op.parse_attrs({"fix_gamma": "True"})
    rng = np.random.default_rng(3)
    ins = [rng.standard_normal((4, 2, 3)), rng.standard_normal(2), rng.standard_normal(2),
           np.zeros(2), np.ones(2)]
    outs, ctx = _run(op, attrs, ins, True)
    grads = op.backward(attrs, [np.ones((4, 2, 3)), np.zeros(2), np.zeros(2)], ins, outs, ctx)
    np.testing.assert_array_equal(grads[1], [0.0, 0.0])
    # gamma is taken as 1 whatever its value: the output has unit variance per channel.
    np.testing.assert_allclose(outs[0].var(axis=(0, 2)), 1 / (1 + 1e-3 / ins[0].var((0, 2))),
                               rtol=1e-12)


def test_selu_gradient_is_mxnets():
    # MXNet 1.9.1 differentiates selu's negative side as lambda * (y + alpha) (not the true
    # derivative y + lambda * alpha); we reproduce it, so it has its own check.
    op = registry.get("LeakyReLU")
    attrs = op.parse_attrs({"act_type": "selu"})
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    outs, ctx = _run(op, attrs, [x], True)
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    want_y = lam * np.where(x > 0, x, alpha * np.expm1(x))
    np.testing.assert_allclose(outs[0], want_y, rtol=1e-15)
    (dx,) = op.backward(attrs, [np.ones(4)], [x], outs, ctx)
    np.testing.assert_allclose(dx, np.where(x > 0, lam, lam * (want_y + alpha)), rtol=1e-15)


def test_erf_matches_math_erf():
    from mxlite.ops.nn import _erf

    x = np.linspace(-7, 7, 2801)
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf(x), want, rtol=0, atol=5e-15)


# ----------------------------------------------------------------------------------------
# What the oracle cannot pin down: random masks and buffers reused in place.


def _kernel(name: str, **kwargs):
    op = registry.get(name)
    return op, op.parse_attrs({k: str(v) for k, v in kwargs.items()})


def test_dropout_mask_is_inverted_and_shared_along_axes():
    op, attrs = _kernel("Dropout", p=0.3, axes=(1,))
    x = np.ones((2000, 5), dtype=np.float32)
    ctx = OpContext(is_train=True, rng=np.random.default_rng(0))
    y, mask = op.forward(attrs, [x], ctx)
    assert y.dtype == np.float32 and mask.shape == x.shape
    kept = y[:, 0] != 0
    assert 0.66 < kept.mean() < 0.74
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert (y == y[:, :1]).all()  # one draw per row: axis 1 shares it
    (dx,) = op.backward(attrs, [np.full_like(x, 2), np.zeros_like(x)], [x], [y, mask], ctx)
    np.testing.assert_array_equal(dx, 2 * y)


def test_dropout_is_identity_in_inference_unless_always():
    x = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    op, attrs = _kernel("Dropout", p=0.5)
    y = op.forward(attrs, [x], OpContext(False, np.random.default_rng(0)))[0]
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(y, x)
    op, attrs = _kernel("Dropout", p=0.5, mode="always")
    y = op.forward(attrs, [x], OpContext(False, np.random.default_rng(0)))[0]
    assert set(np.unique(y / x)) <= {0.0, 2.0} and (y == 0).any() and (y != 0).any()


def test_rrelu_draws_slopes_in_training_and_uses_their_mean_in_inference():
    op, attrs = _kernel("LeakyReLU", act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    x = -np.ones((50, 4))
    y, mask = op.forward(attrs, [x], OpContext(True, np.random.default_rng(0)))
    assert (mask >= 0.1).all() and (mask < 0.3).all() and mask.std() > 0.03
    np.testing.assert_array_equal(y, -mask)
    y, mask = op.forward(attrs, [x], OpContext(False, np.random.default_rng(0)))
    np.testing.assert_allclose(y, -0.2)


@pytest.mark.parametrize("name,kwargs,extra", [
    ("Activation", {"act_type": "relu"}, []),
    ("Activation", {"act_type": "sigmoid"}, []),
    ("Activation", {"act_type": "softrelu"}, []),
    ("LeakyReLU", {"slope": 0.2}, []),
    ("LeakyReLU", {"act_type": "elu"}, []),
    ("Dropout", {}, []),
    ("BatchNorm", {"fix_gamma": False}, [(3,), (3,), (3,), (3,)]),
])
def test_inference_may_write_into_a_dead_input(name, kwargs, extra):
    op, attrs = _kernel(name, **kwargs)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    rest = [np.abs(rng.standard_normal(s)).astype(np.float32) + 0.5 for s in extra]
    want = op.forward(attrs, [x.copy(), *rest], OpContext(False))[0]
    buf = x.copy()
    ctx = OpContext(False)
    ctx.inplace = (0,)
    got = op.forward(attrs, [buf, *rest], ctx)[0]
    assert np.shares_memory(got, buf)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_batchnorm_moving_statistics_move_in_backward():
    op, attrs = _kernel("BatchNorm", momentum=0.8, fix_gamma=False)
    x = np.random.default_rng(2).standard_normal((6, 2, 3))
    mm, mv = np.array([0.5, -0.5]), np.array([2.0, 0.5])
    ins = [x, np.ones(2), np.zeros(2), mm.copy(), mv.copy()]
    ctx = OpContext(True)
    outs = op.forward(attrs, ins, ctx)
    # As in MXNet 1.9.1 (both CPU backends), the training forward leaves them alone...
    np.testing.assert_array_equal(ins[3], mm)
    np.testing.assert_array_equal(ins[4], mv)
    # ...and backward folds in the batch mean and the biased variance it recovers from
    # 1 / sqrt(var + eps).
    op.backward(attrs, [np.ones_like(x), np.zeros(2), np.zeros(2)], ins, outs, ctx)
    np.testing.assert_allclose(ins[3], 0.8 * mm + 0.2 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(ins[4], 0.8 * mv + 0.2 * x.var(axis=(0, 2)), rtol=1e-9)
    ins2 = [x, np.ones(2), np.zeros(2), mm.copy(), mv.copy()]
    attrs2 = op.parse_attrs({"use_global_stats": "True"})
    outs2 = op.forward(attrs2, ins2, ctx)
    op.backward(attrs2, [np.ones_like(x), np.zeros(2), np.zeros(2)], ins2, outs2, ctx)
    np.testing.assert_array_equal(ins2[3], mm)
    np.testing.assert_array_equal(ins2[4], mv)


def test_batchnorm_fix_gamma_writes_one_into_gamma():
    op, attrs = _kernel("BatchNorm")
    gamma = np.array([2.0, 3.0])
    op.forward(attrs, [np.ones((2, 2, 1)), gamma, np.zeros(2), np.zeros(2), np.ones(2)],
               OpContext(False))
    np.testing.assert_array_equal(gamma, [1.0, 1.0])


F16_CASES = [c for c in CASES if c[1] != "Embedding"]


@pytest.mark.parametrize("cid,name,kwargs,shapes,opts", F16_CASES, ids=[c[0] for c in F16_CASES])
def test_float16_runs_like_float64(cid, name, kwargs, shapes, opts):
    """float16 data gives float16 outputs and gradients close to the float64 ones (MXNet
    computes them in float32; BatchNorm keeps its parameters and statistics in float32)."""
    op = registry.get(name)
    attrs = op.parse_attrs({k: str(v) for k, v in kwargs.items()})
    train = opts.get("train", True)
    ins = _inputs(cid, shapes, opts)
    keep32 = {1, 2, 3, 4} if name == "BatchNorm" else set()
    ints = set(opts.get("ints", {}))
    low = [x if i in ints else x.astype(np.float32 if i in keep32 else np.float16)
           for i, x in enumerate(ins)]
    ref = [x if i in ints else x.astype(np.float16).astype(np.float64) if i not in keep32
           else x.astype(np.float32).astype(np.float64) for i, x in enumerate(ins)]
    outs, ctx = _run(op, attrs, low, train)
    want, wctx = _run(op, attrs, ref, train)
    assert outs[0].dtype == np.float16
    np.testing.assert_allclose(outs[0].astype(np.float64), want[0], rtol=2e-2, atol=2e-2)
    head = np.random.default_rng(1).standard_normal(np.shape(outs[0]))
    grads = op.backward(attrs, [head.astype(np.float16)] + [np.zeros_like(o) for o in outs[1:]],
                        low, outs, ctx)
    wgrads = op.backward(attrs, [head] + [np.zeros_like(o) for o in want[1:]], ref, want, wctx)
    for i, (g, w) in enumerate(zip(grads, wgrads)):
        if g is None or i in ints or i in opts.get("fixed", ()):
            continue
        assert g.dtype == low[i].dtype, f"input {i}"
        scale = max(1.0, float(np.abs(w).max()))
        np.testing.assert_allclose(g.astype(np.float64), w, rtol=3e-2, atol=2e-2 * scale,
                                   err_msg=f"input {i}")
