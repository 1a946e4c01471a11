"""What MXNet 1.9.1's own unit tests (test_ndarray/symbol/executor/infer_shape/init.py) need
of mxlite, checked on our own small cases; operator values against the oracle recorded by
tests/fixtures/gen_compat_ops.py."""

from __future__ import annotations

import pathlib
import re
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from compat_ops_cases import UPDATES  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "compat_ops.npz"


@pytest.fixture(scope="module")
def oracle():
    with np.load(DATA) as z:
        return dict(z)


# -- mx.base / module-level names ----------------------------------------------------------


def test_base_names():
    from mxlite import base
    from mxlite.ndarray.ndarray import _DTYPE_MX_TO_NP, _DTYPE_NP_TO_MX, py_slice

    assert base.integer_types == (int, np.int32, np.int64)
    assert base.mx_real_t is np.float32
    assert base.py_str(b"caf\xc3\xa9") == "café"
    assert repr(base._Null) == "_Null"
    assert base._as_list(3) == [3] and base._as_list((1, 2)) == (1, 2)
    assert base._get_op_name_prefix("_contrib_box_nms") == "_contrib_"
    assert py_slice is slice
    assert _DTYPE_NP_TO_MX[np.int64] == 6 and _DTYPE_MX_TO_NP[2] is np.float16
    err = base.NotImplementedForSymbol(len, "+", 1)
    assert str(err) == ('Function len (namely operator "+") with arguments (<class \'int\'>) '
                        "is not implemented for Symbol and only available in NDArray.")
    with pytest.raises(base.NotImplementedForSymbol):
        bool(mx.sym.var("x"))
    assert base.error_types["NotImplementedForSymbol"] is base.NotImplementedForSymbol


def test_util_env(monkeypatch):
    monkeypatch.delenv("MXLITE_COMPAT_T", raising=False)
    mx.util.setenv("MXLITE_COMPAT_T", "7")
    assert mx.util.getenv("MXLITE_COMPAT_T") == "7"
    mx.util.setenv("MXLITE_COMPAT_T", None)
    assert mx.util.getenv("MXLITE_COMPAT_T") is None


# -- operators against the oracle ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_update_ops(oracle, name):
    n, kw = UPDATES[name]
    arrays = [mx.nd.array(oracle[f"{name}/in{i}"]) for i in range(n)]
    grad_before = arrays[1].asnumpy().copy()
    out = getattr(mx.nd, name)(*arrays, **kw)
    np.testing.assert_allclose(out.asnumpy(), oracle[f"{name}/out"], rtol=1e-5, atol=1e-6)
    for i in range(2, n):  # states are updated in place, as MXNet does
        np.testing.assert_allclose(arrays[i].asnumpy(), oracle[f"{name}/state{i}"],
                                   rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(arrays[1].asnumpy(), grad_before)
    # out=weight writes the new weight into the weight
    w = [mx.nd.array(oracle[f"{name}/in{i}"]) for i in range(n)]
    getattr(mx.nd, name)(*w, out=w[0], **kw)
    np.testing.assert_allclose(w[0].asnumpy(), oracle[f"{name}/out"], rtol=1e-5, atol=1e-6)


def test_slice_assign_and_fill(oracle):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    got = mx.nd._internal._slice_assign(mx.nd.array(x), -mx.nd.ones((2, 1, 2)),
                                        begin=(0, 1, 1), end=(2, 2, 3))
    np.testing.assert_array_equal(got.asnumpy(), oracle["slice_assign/out"])
    got = mx.nd._internal._crop_assign(mx.nd.array(x), -mx.nd.ones((2, 3, 2)),
                                       begin=(None, None, 0), end=(None, None, None),
                                       step=(None, None, 2))
    np.testing.assert_array_equal(got.asnumpy(), oracle["slice_assign_step/out"])
    a = mx.nd.array(x)
    mx.nd._internal._crop_assign_scalar(a, scalar=7.5, begin=(1, 0, 2), end=(2, 3, 4), out=a)
    np.testing.assert_array_equal(a.asnumpy(), oracle["slice_assign_scalar/out"])
    lhs = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = mx.nd.fill_element_0index(mx.nd.array(lhs), mx.nd.array([10, 20, 30]),
                                    mx.nd.array([3, 0, 2]))
    np.testing.assert_array_equal(got.asnumpy(), oracle["fill/out"])
    with pytest.raises(MXNetError, match="does not fit"):
        mx.nd._internal._slice_assign(mx.nd.array(x), mx.nd.ones((2, 2, 2)), begin=(0, 1, 1),
                                      end=(2, 2, 3))


def test_identity_with_attr_like_rhs(oracle):
    lhs = np.arange(12, dtype=np.float32).reshape(3, 4)
    a, b = mx.nd.array(lhs), mx.nd.array(lhs * 2)
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        y = mx.nd._internal._identity_with_attr_like_rhs(a, b)
    y.backward(mx.nd.array(lhs + 1))
    np.testing.assert_array_equal(y.asnumpy(), oracle["like_rhs/out"])
    np.testing.assert_array_equal(a.grad.asnumpy(), oracle["like_rhs/grad_lhs"])
    np.testing.assert_array_equal(b.grad.asnumpy(), oracle["like_rhs/grad_rhs"])
    # backward shape inference: FullyConnected's weight shape reaches 'weight'
    w = mx.sym.var("weight")
    wt = mx.sym._internal._identity_with_attr_like_rhs(
        mx.sym.broadcast_add(w, mx.sym.var("wshift", shape=(1,))), w)
    net = mx.sym.FullyConnected(mx.sym.var("data"), weight=wt, num_hidden=11, no_bias=True)
    args, _, _ = net.infer_shape(data=(7, 100))
    assert dict(zip(net.list_arguments(), args))["weight"] == (11, 100)


def test_shape_inference_fixes():
    a = mx.sym.var("a", shape=(0, 10))
    b = mx.sym.SliceChannel(a, num_outputs=10, axis=1, squeeze_axis=True)
    args, _, _ = (b[1] + mx.sym.var("c", shape=(5,))).infer_shape()
    assert args[0] == (5, 10)
    where = mx.sym.where(mx.sym.var("cond"), mx.sym.var("x"), mx.sym.var("y"))
    assert where.infer_shape_partial(cond=(0, 2), x=(0, 2), y=(0, 2))[1] == [()]
    assert where.infer_shape_partial(cond=(3, 2), x=(0, 2), y=(0, 2))[1] == [(0, 2)]  # MXNet
    lhs, rhs = mx.nd.ones((1, 3)), mx.nd.ones((4, 3))
    with pytest.raises(MXNetError, match="empty"):
        mx.nd.broadcast_like(lhs, rhs, lhs_axes=(), rhs_axes=())
    assert mx.nd.broadcast_like(lhs, rhs, lhs_axes=(0,)).shape == (4, 3)


def test_prelu_gamma_starts_at_quarter():
    s = mx.sym.LeakyReLU(mx.sym.var("data"), act_type="prelu", name="p")
    assert s.attr_dict()["p_gamma"]["__init__"] == '["Constant", {"value": 0.25}]'
    mod = mx.mod.Module(s, label_names=None)
    mod.bind(data_shapes=[("data", (2, 3))])
    mod.init_params()
    np.testing.assert_array_equal(mod.get_params()[0]["p_gamma"].asnumpy(), [0.25] * 3)


def test_relu_gradient_passes_nan():
    x = mx.nd.array([np.nan, -1, 2])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.relu(x)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [np.nan, 0, 1])


# -- NDArray -------------------------------------------------------------------------------


def test_ndarray_api_fixes():
    out = mx.nd.zeros((2, 2))
    assert mx.nd.ones((2, 2), out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.ones((2, 2)))
    b = mx.nd.zeros(1)
    b[0] = np.array([47.844944], np.float32)
    assert b.asnumpy()[0] == np.float32(47.844944)
    with pytest.raises(ValueError):
        mx.nd.moveaxis(mx.nd.ones((1, 2, 3)), 3, 0)
    d = mx.nd.array(np.arange(30).reshape(5, 3, 2))
    np.testing.assert_array_equal(d.argmax_channel().asnumpy(),
                                  mx.nd.argmax_channel(d).asnumpy())
    assert bool(np.all(mx.nd.ones((2,)) == 1))  # numpy functions read NDArrays
    np.testing.assert_array_equal(np.ones(2) + mx.nd.ones(2), [2, 2])  # still our operator
    assert isinstance(np.ones(2) + mx.nd.ones(2), mx.nd.NDArray)
    data = mx.nd.array([np.inf, -np.inf, np.nan, 1])
    np.testing.assert_array_equal(mx.nd.contrib.isinf(data).asnumpy(), [1, 1, 0, 0])
    np.testing.assert_array_equal(mx.nd.contrib.isfinite(data).asnumpy(), [0, 0, 0, 1])
    np.testing.assert_array_equal(mx.nd.contrib.isnan(data).asnumpy(), [0, 0, 1, 0])


def test_from_numpy_twice_stays_shared():
    a = np.array([[1, 2], [3, 4]], np.float32)
    mx.nd.from_numpy(a)
    m = mx.nd.from_numpy(a)  # a is read-only now; the NDArray still owns writable memory
    m[1, 1] = 100
    assert a[1, 1] == 100 and not a.flags.writeable


def test_dlpack_round_trip():
    a = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    b = mx.nd.from_dlpack(a.to_dlpack_for_write())
    b[0, 0] = 9
    assert a.asnumpy()[0, 0] == 9
    c = mx.nd.from_dlpack(mx.nd.to_dlpack_for_read(a))
    np.testing.assert_array_equal(c.asnumpy(), a.asnumpy())


def test_slice_contiguity_matches_numpy():
    check = mx.nd.NDArray._basic_indexing_slice_is_contiguous
    shape = (3, 4, 5)
    x = np.zeros(shape)
    for key in [(slice(None), slice(None), slice(0, 1)), (slice(0, 1), slice(1, 3), slice(None)),
                (slice(None, None, 2), slice(None), slice(None)), (slice(0, 0),) * 3,
                (slice(1, 2), slice(2, 3), slice(None, None, -1))]:
        assert check(key, shape) == x[key].flags.c_contiguous, key


def test_setitem_while_recording():
    x = mx.nd.zeros((3, 4))
    y = mx.nd.ones((4,))
    y.attach_grad()
    with mx.autograd.record():
        with pytest.raises(MXNetError, match="Inplace operations"):
            x[0] = y
        x[None] = mx.nd.ones((3, 4))  # the whole array: allowed, as in MXNet


def test_advanced_index_is_differentiable():
    x = mx.nd.array(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    x.attach_grad()
    key = (1, [2, 0], slice(1, 3))
    with mx.autograd.record():
        y = x[key]
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy()[key])
    y.backward()
    want = np.zeros((2, 3, 4), np.float32)
    want[key] = 1
    np.testing.assert_array_equal(x.grad.asnumpy(), want)


def test_cached_op():
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc") + 1
    op = mx.nd.CachedOp(sym)
    assert sym.list_inputs() == ["data", "fc_weight", "fc_bias"]
    data, weight, bias = mx.nd.ones((3, 4)), mx.nd.ones((2, 4)), mx.nd.zeros((2,))
    np.testing.assert_array_equal(op(data, weight, bias).asnumpy(), np.full((3, 2), 5.0))
    out = mx.nd.zeros((3, 2))
    assert op(data, weight, bias, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.full((3, 2), 5.0))
    weight.attach_grad()
    with mx.autograd.record():
        o = op(data, weight, bias) * 2
    o.backward()
    np.testing.assert_array_equal(weight.grad.asnumpy(), np.full((2, 4), 6.0))


# -- Symbol and executor --------------------------------------------------------------------


def test_gen_atomic_symbol():
    s = mx.sym.FullyConnected(mx.sym.var("d"), num_hidden=3, name="fc")
    atom = s._gen_atomic_symbol()
    assert atom.list_arguments() == [] and atom.name == ""
    assert atom.list_attr() == {"num_hidden": "3"}
    assert atom(mx.sym.var("x"), mx.sym.var("w"), mx.sym.var("b")).list_arguments() == \
        ["x", "w", "b"]


def test_executor_reshape_shares_outputs():
    y = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4)
    exe = y.simple_bind(mx.cpu(), x=(5, 4), grad_req="null")
    exe.arg_arrays[0][:] = 1
    exe.arg_arrays[1][:] = 1
    exe.arg_arrays[2][:] = 0
    small = exe.reshape(x=(3, 4))
    small.forward()
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), np.full((3, 4), 4.0))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy()[:3], np.full((3, 4), 4.0))


def test_debug_str_memory_and_zero_gradient_pruning():
    data = mx.sym.var("data")
    for _ in range(4):
        data = data * data

    def mb(sym, **kw):
        exe = sym.simple_bind(mx.cpu(), data=(4, 256, 256), **kw)  # 1 MB per value
        return int(re.search(r"Total (\d+) MB allocated", exe.debug_str()).group(1))

    assert mb(data) == 8  # four values kept for backward and their four gradients
    assert mb(data, grad_req="null") == mb(mx.sym.stop_gradient(data)) == 2


def test_simple_bind_refuses_non_differentiable_path():
    x, idx = mx.sym.var("x"), mx.sym.var("idx")
    y = mx.sym.batch_take(x, idx)
    kw = dict(x=(4, 3), idx=(4,), type_dict={"x": np.float32, "idx": np.int32})
    with pytest.raises(MXNetError, match="batch_take.*non-differentiable"):
        y.simple_bind(mx.cpu(), **kw)
    exe = mx.sym.stop_gradient(y).simple_bind(mx.cpu(), **kw)
    exe.forward()
    exe.backward()
    y.simple_bind(mx.cpu(), grad_req="null", **kw)


def test_get_optimized_symbol_eliminates_common_expressions(monkeypatch):
    a, b = mx.sym.var("a"), mx.sym.var("b")

    def saved(sym, flag="1", **shapes):
        monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", flag)
        exe = sym.simple_bind(mx.cpu(), **shapes)
        return len(sym.get_internals()) - len(exe.get_optimized_symbol().get_internals())

    assert saved((a + 1) + (a + 2), a=(2,)) == 0
    assert saved((a + b) + (a + b), a=(2,), b=(2,)) == 1
    assert saved((a + b) + (a + b), "0", a=(2,), b=(2,)) == 0
    d = a + 1
    assert saved(mx.sym.Group([a * d, a * d]), a=(2,)) == 0  # merged, then a _copy
    assert saved(mx.sym.Dropout(a) + mx.sym.Dropout(a), a=(2,)) == 0  # random: untouched


def test_monitor_sees_backward_outputs():
    x = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
    x = mx.sym.LinearRegressionOutput(mx.sym.Activation(x, act_type="sigmoid", name="act"),
                                      name="out")
    exe = x.simple_bind(mx.cpu(), data=(1, 2), grad_req={"fc_weight": "write",
                                                           "fc_bias": "write"})
    seen: dict[str, np.ndarray] = {}
    exe.set_monitor_callback(lambda name, arr: seen.__setitem__(name, arr.asnumpy()))
    exe.arg_dict["data"][:] = np.array([[0.05, 0.1]])
    exe.arg_dict["fc_weight"][:] = np.array([[0.15, 0.2], [0.25, 0.3]])
    exe.forward(is_train=True)
    exe.backward()
    assert sorted(seen) == ["act_backward_output", "act_output", "fc_backward_output0",
                            "fc_backward_output1", "fc_backward_output2", "fc_output",
                            "out_backward_output0", "out_backward_output1", "out_output"]
    np.testing.assert_array_equal(seen["fc_backward_output1"], exe.grad_dict["fc_weight"].asnumpy())
    np.testing.assert_array_equal(seen["out_backward_output1"], np.zeros((1, 2)))
