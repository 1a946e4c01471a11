"""Inference after parameters change in place: the executor's fused Convolution-BatchNorm
steps must see every write.

A bound executor runs ``act(BatchNorm(Convolution(x)))`` as one folded convolution. Nothing
derived from the parameters' values (the BatchNorm fold, scaled or re-laid weights) may
outlive a forward: weights and statistics are written in place by users (``arr[:] = ...``,
``copyto``, ``*=``, numpy views from ``np.asarray``), optimizers (``weight._data`` in
place), Module's ``set_params`` and training forwards (moving statistics). After each kind
of write the output must equal that of an executor bound afresh to the same values, and
differ from the output before the write. Runs with the compiled kernels on and off.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.ops import _window as W

RTOL = ATOL = 1e-5


@pytest.fixture(params=["numba", "numpy"])
def jit(request):
    if request.param == "numba":
        pytest.importorskip("numba")
    W.set_jit(request.param == "numba")
    yield request.param
    W.set_jit(None)


def _net():
    """Every route of the fused step: im2col GEMM (3x3 stem), pointwise GEMM over pixels,
    depthwise (stride 1 and 2, many and few channels), filters-first pointwise (few pixels),
    a convolution with its own bias, clip / ReLU / no activation after the BatchNorm."""
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, num_filter=16, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                             no_bias=True, name="stem")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="stem_bn")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.Convolution(net, num_filter=200, kernel=(1, 1), no_bias=False, name="expand")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="expand_bn")
    net = mx.sym.clip(net, a_min=0, a_max=6)
    net = mx.sym.Convolution(net, num_filter=200, num_group=200, kernel=(3, 3), pad=(1, 1),
                             no_bias=True, name="dw1")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="dw1_bn")
    net = mx.sym.clip(net, a_min=0, a_max=6)
    net = mx.sym.Convolution(net, num_filter=24, kernel=(1, 1), no_bias=True, name="project")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="project_bn")
    net = mx.sym.Convolution(net, num_filter=24, num_group=24, kernel=(3, 3), stride=(2, 2),
                             pad=(1, 1), no_bias=True, name="dw2")
    net = mx.sym.BatchNorm(net, fix_gamma=True, name="dw2_bn")
    net = mx.sym.relu(net)
    net = mx.sym.Convolution(net, num_filter=96, kernel=(1, 1), no_bias=True, name="late")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="late_bn")
    net = mx.sym.clip(net, a_min=0, a_max=6)
    return mx.sym.Pooling(net, kernel=(1, 1), global_pool=True, pool_type="avg")


SHAPE = (1, 3, 34, 34)


def _values(sym, seed=0):
    rng = np.random.default_rng(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=SHAPE)
    args = {n: rng.standard_normal(s).astype(np.float32) * np.float32(0.3)
            for n, s in zip(sym.list_arguments(), arg_shapes)}
    aux = {}
    for n, s in zip(sym.list_auxiliary_states(), aux_shapes):
        v = rng.standard_normal(s).astype(np.float32) * np.float32(0.1)
        aux[n] = np.abs(v) + np.float32(0.5) if n.endswith("var") else v
    return args, aux


def _bind(sym, args, aux):
    return sym.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in args.items()},
                    aux_states={k: mx.nd.array(v) for k, v in aux.items()}, grad_req="null")


def _fresh(sym, exe):
    """The output of an executor bound now to copies of ``exe``'s current arrays."""
    args = {k: v.asnumpy() for k, v in exe.arg_dict.items()}
    aux = {k: v.asnumpy() for k, v in exe.aux_dict.items()}
    return _bind(sym, args, aux).forward(is_train=False)[0].asnumpy()


def _rand_like(a, seed):
    return np.random.default_rng(seed).standard_normal(a.shape).astype(np.float32)


# name -> how it writes one parameter in place.
WRITES = {
    "setitem": lambda exe: exe.arg_dict["expand_weight"].__setitem__(
        slice(None), mx.nd.array(_rand_like(exe.arg_dict["expand_weight"], 1) * 0.3)),
    "copyto": lambda exe: mx.nd.array(_rand_like(exe.arg_dict["dw1_weight"], 2)).copyto(
        exe.arg_dict["dw1_weight"]),
    "imul_moving_var": lambda exe: exe.aux_dict["project_bn_moving_var"].__imul__(4),
    "moving_mean_data": lambda exe: exe.aux_dict["late_bn_moving_mean"]._data.__iadd__(
        np.float32(0.5)),
    "gamma_numpy_view": lambda exe: np.asarray(exe.arg_dict["stem_bn_gamma"]).__imul__(
        np.float32(-1.5)),
    "beta": lambda exe: exe.arg_dict["dw1_bn_beta"].__setitem__(slice(None), 0.7),
    "conv_bias": lambda exe: exe.arg_dict["expand_bias"].__setitem__(slice(None), -0.4),
    "late_weight": lambda exe: exe.arg_dict["late_weight"].__setitem__(slice(None), 0.05),
    "fixed_gamma_beta": lambda exe: exe.arg_dict["dw2_bn_beta"].__setitem__(slice(None), 1.0),
    "optimizer": lambda exe: mx.optimizer.SGD(learning_rate=0.5).update(
        0, exe.arg_dict["project_weight"],
        mx.nd.array(_rand_like(exe.arg_dict["project_weight"], 3)), None),
    "copy_params_from": lambda exe: exe.copy_params_from(
        {"stem_weight": mx.nd.array(_rand_like(exe.arg_dict["stem_weight"], 4) * 0.3)}),
    "replaced_buffer": lambda exe: setattr(
        exe.arg_dict["dw2_weight"], "_data", _rand_like(exe.arg_dict["dw2_weight"], 5)),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_forward_sees_in_place_writes(jit, write):
    sym = _net()
    exe = _bind(sym, *_values(sym))
    before = exe.forward(is_train=False)[0].asnumpy()
    np.testing.assert_allclose(before, _fresh(sym, exe), rtol=RTOL, atol=ATOL)
    WRITES[write](exe)
    after = exe.forward(is_train=False)[0].asnumpy()
    assert not np.allclose(after, before, rtol=1e-3, atol=1e-4), "the write changed nothing"
    np.testing.assert_allclose(after, _fresh(sym, exe), rtol=RTOL, atol=ATOL)


def test_every_write_in_turn_between_forwards(jit):
    # The same executor through all the writes: each forward matches a fresh binding.
    sym = _net()
    exe = _bind(sym, *_values(sym))
    exe.forward(is_train=False)
    for name in sorted(WRITES):
        WRITES[name](exe)
        got = exe.forward(is_train=False)[0].asnumpy()
        np.testing.assert_allclose(got, _fresh(sym, exe), rtol=RTOL, atol=ATOL,
                                   err_msg=f"after {name}")


def test_training_forward_moves_statistics_seen_by_inference(jit):
    sym = _net()
    args, aux = _values(sym)
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items() if k != "data"}
    exe = sym.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in args.items()}, args_grad=grads,
                   aux_states={k: mx.nd.array(v) for k, v in aux.items()})
    before = exe.forward(is_train=False)[0].asnumpy()
    stats = exe.aux_dict["dw1_bn_moving_var"].asnumpy()
    for _ in range(3):  # BatchNorm updates the moving statistics in place
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones(exe.outputs[0].shape))
    assert not np.array_equal(stats, exe.aux_dict["dw1_bn_moving_var"].asnumpy())
    after = exe.forward(is_train=False)[0].asnumpy()
    assert not np.allclose(after, before, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(after, _fresh(sym, exe), rtol=RTOL, atol=ATOL)


def test_module_set_params_between_predictions(jit):
    sym = _net()
    args, aux = _values(sym)
    x = np.random.default_rng(9).standard_normal(SHAPE).astype(np.float32)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
    mod.bind(data_shapes=[("data", SHAPE)], for_training=False)
    params = {k: mx.nd.array(v) for k, v in args.items() if k != "data"}
    mod.set_params(params, {k: mx.nd.array(v) for k, v in aux.items()})
    batch = mx.io.DataBatch([mx.nd.array(x)])
    mod.forward(batch, is_train=False)
    before = mod.get_outputs()[0].asnumpy()
    params["late_weight"] = mx.nd.array(_rand_like(params["late_weight"], 6) * 0.3)
    aux["expand_bn_moving_mean"] = aux["expand_bn_moving_mean"] + np.float32(1)
    mod.set_params(params, {k: mx.nd.array(v) for k, v in aux.items()})
    mod.forward(batch, is_train=False)
    after = mod.get_outputs()[0].asnumpy()
    args.update({k: v.asnumpy() for k, v in params.items()})
    args["data"] = x
    want = _bind(sym, args, aux).forward(is_train=False)[0].asnumpy()
    assert not np.allclose(after, before, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(after, want, rtol=RTOL, atol=ATOL)


def test_hybridized_gluon_block_sees_set_data_and_in_place_writes(jit):
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(32, 1, use_bias=False), mx.gluon.nn.BatchNorm(),
            mx.gluon.nn.Activation("relu"),
            mx.gluon.nn.Conv2D(32, 3, padding=1, groups=32, use_bias=False),
            mx.gluon.nn.BatchNorm(), mx.gluon.nn.Activation("relu"))
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(10).standard_normal((1, 8, 12, 12)))
    plain = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), plain, rtol=RTOL, atol=ATOL)
    params = list(net.collect_params().values())
    conv_w = next(p for p in params if p.name.endswith("weight") and p.shape[-1] == 1)
    bn_var = next(p for p in params if p.name.endswith("running_var"))
    conv_w.set_data(mx.nd.array(_rand_like(conv_w.data(), 7)))
    bn_var.data()[:] = 3.0
    got = net(x).asnumpy()
    net.hybridize(active=False)
    want = net(x).asnumpy()
    assert not np.allclose(got, plain, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
