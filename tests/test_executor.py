"""The executor: binding, arrays shared in place, forward/backward semantics, the memory plan,
errors. Expected values follow MXNet 1.9.1 (behaviour checked against it by hand; the messages
it gives are quoted where we keep them).

A few tests need backward kernels of elementwise operators; where the op files have none yet, a
reference backward is patched in for the test (the executor's logic is under test here; the
kernels are checked against MXNet in test_oracle_kernels.py).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import registry

_REF_BACKWARD = {
    "elemwise_add": lambda a, og, ins, outs, ctx: [og[0], og[0]],
    "elemwise_sub": lambda a, og, ins, outs, ctx: [og[0], -og[0]],
    "elemwise_mul": lambda a, og, ins, outs, ctx: [og[0] * ins[1], og[0] * ins[0]],
    "_mul_scalar": lambda a, og, ins, outs, ctx: [og[0] * np.asarray(a.scalar, og[0].dtype)],
    "_plus_scalar": lambda a, og, ins, outs, ctx: [og[0]],
    "relu": lambda a, og, ins, outs, ctx: [og[0] * (outs[0] > 0)],
    "square": lambda a, og, ins, outs, ctx: [og[0] * 2 * ins[0]],
}


@pytest.fixture
def grads(monkeypatch):
    """Reference backward kernels for the elementwise ops these tests use, where missing."""
    for name, fn in _REF_BACKWARD.items():
        op = registry.get(name)
        if op.backward is None:
            monkeypatch.setattr(op, "backward", fn)


def _f(*v):
    return np.array(v, dtype=np.float32)


# ----------------------------------------------------------------------------------------
# Binding and arrays.


def test_bind_shares_the_given_arrays_and_names_everything():
    x, w = mx.sym.var("x"), mx.sym.var("w")
    y = mx.sym.elemwise_mul(x, w, name="m") + 1
    ax, aw = mx.nd.array([1, 2]), mx.nd.array([3, 4])
    gx = mx.nd.zeros(2)
    exe = y.bind(mx.cpu(), {"x": ax, "w": aw}, args_grad={"x": gx})
    assert exe.arg_arrays[0] is ax and exe.arg_dict["w"] is aw
    assert exe.grad_dict == {"x": gx, "w": None}
    assert exe.aux_arrays == [] and exe.aux_dict == {}
    assert list(exe.output_dict) == y.list_outputs()
    assert exe.outputs[0].shape == (2,)
    out = exe.forward()
    assert out is exe.outputs
    np.testing.assert_array_equal(out[0].asnumpy(), _f(4, 9))


def test_list_arguments_bind_and_length_check():
    x, w = mx.sym.var("x"), mx.sym.var("w")
    y = x * w
    exe = y.bind(mx.cpu(), [mx.nd.array([2]), mx.nd.array([5])])
    np.testing.assert_array_equal(exe.forward()[0].asnumpy(), _f(10))
    with pytest.raises(MXNetError, match="does not match the number of arguments"):
        y.bind(mx.cpu(), [mx.nd.array([2])])


def test_forward_kwargs_copy_into_the_arg_arrays():
    x = mx.sym.var("x")
    exe = (x * 3).simple_bind(mx.cpu(), x=(2,))
    held = exe.arg_dict["x"]
    exe.forward(x=np.array([1, 2], np.float32))
    np.testing.assert_array_equal(held.asnumpy(), _f(1, 2))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), _f(3, 6))
    exe.forward(x=mx.nd.array([5, 6]))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), _f(15, 18))
    with pytest.raises(ValueError, match="Unknown argument b"):
        exe.forward(b=mx.nd.ones(2))
    with pytest.raises(MXNetError, match=r"Argument x, need: \(2,\), received: \(3,\)"):
        exe.forward(x=mx.nd.ones(3))


def test_in_place_updates_of_data_are_seen_by_the_next_forward():
    x, w = mx.sym.var("x"), mx.sym.var("w")
    exe = mx.sym.elemwise_mul(x, w).simple_bind(mx.cpu(), x=(3,), w=(3,))
    exe.arg_dict["x"][:] = 1
    w_arr = exe.arg_dict["w"]
    w_arr._data -= 0.5  # what an optimizer does
    np.testing.assert_array_equal(exe.forward()[0].asnumpy(), _f(-0.5, -0.5, -0.5))
    w_arr[:] = 2
    np.testing.assert_array_equal(exe.forward()[0].asnumpy(), _f(2, 2, 2))


def test_outputs_are_the_same_arrays_across_forwards():
    x = mx.sym.var("x")
    exe = mx.sym.relu(x).simple_bind(mx.cpu(), x=(2,))
    held = exe.outputs[0]
    exe.forward(x=_f(-1, 2))
    assert exe.outputs[0] is held
    np.testing.assert_array_equal(held.asnumpy(), _f(0, 2))
    exe.forward(x=_f(3, -4))
    np.testing.assert_array_equal(held.asnumpy(), _f(3, 0))


def test_simple_bind_allocates_from_shapes_and_types():
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    exe = y.simple_bind(mx.cpu(), x=(2, 4), type_dict={"x": "float64"})
    assert {k: v.shape for k, v in exe.arg_dict.items()} == {
        "x": (2, 4), "fc_weight": (3, 4), "fc_bias": (3,)}
    assert {k: v.dtype for k, v in exe.arg_dict.items()} == {
        "x": np.float64, "fc_weight": np.float64, "fc_bias": np.float64}
    assert all(g.shape == exe.arg_dict[k].shape for k, g in exe.grad_dict.items())
    assert exe.outputs[0].shape == (2, 3)
    with pytest.raises(MXNetError, match="fc_weight"):
        y.simple_bind(mx.cpu())


def test_simple_bind_with_batchnorm_has_aux_arrays():
    x = mx.sym.var("x")
    y = mx.sym.BatchNorm(x, name="bn")
    exe = y.simple_bind(mx.cpu(), x=(2, 3, 4, 4))
    assert list(exe.aux_dict) == ["bn_moving_mean", "bn_moving_var"]
    assert [a.shape for a in exe.aux_arrays] == [(3,), (3,)]
    assert list(exe.arg_dict) == ["x", "bn_gamma", "bn_beta"]


def test_grad_req_forms():
    x, w, b = mx.sym.var("x"), mx.sym.var("w"), mx.sym.var("b")
    y = x * w + b
    shapes = {"x": (2,), "w": (2,), "b": (2,)}
    exe = y.simple_bind(mx.cpu(), grad_req={"x": "null", "w": "add"}, **shapes)
    assert {k: v is None for k, v in exe.grad_dict.items()} == {"x": True, "w": False,
                                                                "b": True}
    exe = y.simple_bind(mx.cpu(), grad_req=["null", "write", "add"], **shapes)
    assert {k: v is None for k, v in exe.grad_dict.items()} == {"x": True, "w": False,
                                                                "b": False}
    exe = y.simple_bind(mx.cpu(), grad_req="null", **shapes)
    assert all(v is None for v in exe.grad_dict.values())
    with pytest.raises(MXNetError, match="grad_req"):
        y.simple_bind(mx.cpu(), grad_req="sometimes", **shapes)


def test_eval_returns_the_outputs():
    x, y = mx.sym.var("x"), mx.sym.var("y")
    out = (x + y).eval(mx.cpu(), x=mx.nd.array([1, 2]), y=mx.nd.array([10, 20]))
    assert isinstance(out, list) and len(out) == 1
    np.testing.assert_array_equal(out[0].asnumpy(), _f(11, 22))


def test_group_outputs_and_variable_heads():
    x = mx.sym.var("x")
    g = mx.sym.Group([x * 2, x, mx.sym.relu(x)])
    exe = g.simple_bind(mx.cpu(), x=(2,))
    exe.forward(x=_f(-1, 3))
    got = [o.asnumpy() for o in exe.outputs]
    np.testing.assert_array_equal(got[0], _f(-2, 6))
    np.testing.assert_array_equal(got[1], _f(-1, 3))
    np.testing.assert_array_equal(got[2], _f(0, 3))
    assert list(exe.output_dict) == g.list_outputs()


# ----------------------------------------------------------------------------------------
# Backward.


def test_backward_sums_gradients_of_shared_values(grads):
    x, y = mx.sym.var("x"), mx.sym.var("y")
    z = (mx.sym.elemwise_mul(x, y) + x) * 2  # x is read twice
    exe = z.simple_bind(mx.cpu(), x=(3,), y=(3,))
    exe.forward(is_train=True, x=_f(1, 2, 3), y=_f(4, 5, 6))
    exe.backward(mx.nd.ones((3,)))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(10, 12, 14))
    np.testing.assert_allclose(exe.grad_dict["y"].asnumpy(), _f(2, 4, 6))
    # 'write' overwrites: a second backward gives the same values.
    exe.backward([mx.nd.array([1, 0, 2])])
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(10, 0, 28))


def test_grad_req_add_accumulates_and_null_leaves_alone(grads):
    x, y = mx.sym.var("x"), mx.sym.var("y")
    z = mx.sym.elemwise_mul(x, y)
    gx, gy = mx.nd.array([100, 100]), mx.nd.array([7, 7])
    exe = z.bind(mx.cpu(), {"x": mx.nd.array([1, 2]), "y": mx.nd.array([3, 4])},
                 args_grad={"x": gx, "y": gy}, grad_req={"x": "add", "y": "null"})
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones(2))
    exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(gx.asnumpy(), _f(106, 108))
    np.testing.assert_array_equal(gy.asnumpy(), _f(7, 7))


def test_backward_without_head_gradient_needs_a_loss_layer(grads):
    x = mx.sym.var("x")
    exe = (x * 2).simple_bind(mx.cpu(), x=(2,))
    exe.forward(is_train=True)
    with pytest.raises(MXNetError, match="head_gradient is required"):
        exe.backward()


def test_backward_ignores_head_gradients_beyond_the_outputs(grads):
    # MXNet 1.9.1: backward([3 * ones(2), ones(5)]) on x * 2 gives x's gradient [6, 6]
    x = mx.sym.var("x")
    exe = (x * 2).simple_bind(mx.cpu(), x=(2,))
    exe.forward(is_train=True)
    exe.backward([mx.nd.ones(2) * 3, mx.nd.ones(5)])
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), [6, 6])


def test_backward_after_inference_forward(grads):
    x = mx.sym.var("x")
    exe = mx.sym.square(x).simple_bind(mx.cpu(), x=(2,))
    exe.forward(x=_f(3, -1))  # inference: the plan drops intermediates; backward recomputes
    exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(6, -2))


def test_gradient_of_an_output_read_by_nothing_else_is_the_head(grads):
    x = mx.sym.var("x")
    g = mx.sym.Group([x * 3, x])
    exe = g.simple_bind(mx.cpu(), x=(2,))
    exe.forward(is_train=True, x=_f(1, 1))
    exe.backward([mx.nd.array([1, 2]), mx.nd.array([10, 20])])
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(13, 26))


def test_blockgrad_stops_the_gradient(grads):
    x = mx.sym.var("x")
    y = x * 2 + mx.sym.BlockGrad(x * 3)
    exe = y.simple_bind(mx.cpu(), x=(2,))
    exe.forward(is_train=True, x=_f(1, 2))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), _f(5, 10))
    exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(2, 2))


def test_loss_layer_ignores_head_gradient():
    x = mx.sym.var("x")
    loss = mx.sym.LinearRegressionOutput(x, name="lro")
    exe = loss.simple_bind(mx.cpu(), x=(2,), grad_req={"x": "write"})
    exe.forward(is_train=True, x=_f(1, 2), lro_label=_f(0, 0))
    exe.backward(mx.nd.array([5, 5]))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(1, 2))
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), _f(1, 2))


def test_mlp_gradients_match_numpy():
    rng = np.random.default_rng(0)
    data = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=5, name="fc1"),
                          act_type="relu")
    out = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"),
                               name="softmax")
    exe = out.simple_bind(mx.cpu(), data=(4, 6))
    vals = {k: rng.standard_normal(v.shape).astype(np.float32)
            for k, v in exe.arg_dict.items() if k != "softmax_label"}
    label = np.array([0, 2, 1, 2], np.float32)
    exe.forward(is_train=True, softmax_label=label, **vals)
    exe.backward()
    h1 = vals["data"] @ vals["fc1_weight"].T + vals["fc1_bias"]
    a1 = np.maximum(h1, 0)
    z = a1 @ vals["fc2_weight"].T + vals["fc2_bias"]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), p, rtol=1e-5, atol=1e-6)
    dz = p - np.eye(3, dtype=np.float32)[label.astype(int)]
    da1 = dz @ vals["fc2_weight"]
    dh1 = da1 * (h1 > 0)
    want = {"fc2_weight": dz.T @ a1, "fc2_bias": dz.sum(0), "fc1_weight": dh1.T @ vals["data"],
            "fc1_bias": dh1.sum(0), "data": dh1 @ vals["fc1_weight"]}
    for k, v in want.items():
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), v, rtol=1e-4, atol=1e-5,
                                   err_msg=k)


# ----------------------------------------------------------------------------------------
# The memory plan.


def _chain(n: int):
    x = mx.sym.var("x")
    y = x
    for i in range(n):
        y = mx.sym.relu(y * 1.0 if i % 2 else y, name=f"r{i}")
    return y


def test_inference_holds_only_a_few_activations():
    n, shape = 40, (256, 512)
    exe = _chain(n).simple_bind(mx.cpu(), grad_req="null", x=shape)
    exe.arg_dict["x"][:] = 1
    one = 256 * 512 * 4
    exe.forward()  # warm up (plans are made on first use)
    tracemalloc.start()
    try:
        exe.forward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * one, f"peak {peak / one:.1f} activations"
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), np.ones(shape, np.float32))
    # Training keeps every value for backward.
    tracemalloc.start()
    try:
        exe.forward(is_train=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak > n * one


def test_dead_inputs_are_offered_to_kernels(monkeypatch):
    seen = {}
    op = registry.get("relu")
    real = op.forward

    def spy(attrs, ins, ctx):
        seen[len(seen)] = ctx.inplace
        return real(attrs, ins, ctx)

    monkeypatch.setattr(op, "forward", spy)
    x = mx.sym.var("x")
    a = mx.sym.relu(x)          # reads a variable: never offered
    b = mx.sym.relu(a)          # a dies here and nothing else sees it
    c = mx.sym.relu(b + 1)      # b + 1 dies here
    exe = c.simple_bind(mx.cpu(), grad_req="null", x=(3,))
    exe.forward(x=_f(-1, 0, 2))
    assert seen == {0: (), 1: (0,), 2: (0,)}
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), _f(1, 1, 3))
    seen.clear()
    exe.forward(is_train=True)  # training keeps inputs for backward: nothing offered
    assert seen == {0: (), 1: (), 2: ()}


def test_a_buffer_still_seen_through_a_view_is_not_offered(monkeypatch):
    seen = []
    relu, mul = registry.get("relu"), registry.get("_mul_scalar")
    real = relu.forward

    def spy(attrs, ins, ctx):
        seen.append(ctx.inplace)
        return real(attrs, ins, ctx)

    monkeypatch.setattr(relu, "forward", spy)
    # ``a * 1`` made to return a view of its input, as reshape-like kernels do.
    monkeypatch.setattr(mul, "forward", lambda attrs, ins, ctx: [ins[0].reshape(-1, 1)])
    x = mx.sym.var("x")
    a = x + 1
    g = mx.sym.Group([a * 1, mx.sym.relu(a)])
    exe = g.simple_bind(mx.cpu(), grad_req="null", x=(3,))
    exe.forward(x=_f(-3, 0, 2))
    assert seen == [()]  # a's buffer lives on in the first head
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), _f(-2, 1, 3).reshape(3, 1))
    np.testing.assert_array_equal(exe.outputs[1].asnumpy(), _f(0, 1, 3))


def _conv_bn(no_bias: bool, fix_gamma: bool):
    data = mx.sym.var("data")
    c = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), no_bias=no_bias,
                           name="conv")
    b = mx.sym.BatchNorm(c, fix_gamma=fix_gamma, eps=1e-3, name="bn")
    return mx.sym.Activation(b, act_type="relu", name="act")


@pytest.mark.parametrize("no_bias", [True, False])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batchnorm_folded_into_convolution_stays_exact(no_bias, fix_gamma):
    rng = np.random.default_rng(1)
    sym = _conv_bn(no_bias, fix_gamma)
    exe = sym.simple_bind(mx.cpu(), grad_req="null", data=(2, 3, 6, 6))
    for arr in exe.arg_arrays + exe.aux_arrays:
        arr[:] = rng.uniform(0.5, 1.5, arr.shape).astype(np.float32)
    folded = exe.forward()[0].asnumpy().copy()
    # The reference: the same graph run op by op (the monitor forces the unfused plan).
    ref = sym.simple_bind(mx.cpu(), grad_req="null", data=(2, 3, 6, 6))
    ref.copy_params_from(exe.arg_dict, exe.aux_dict)
    ref.set_monitor_callback(lambda name, arr: None)
    np.testing.assert_allclose(folded, ref.forward()[0].asnumpy(), rtol=1e-5, atol=1e-6)
    # Changing weights or statistics in place is seen at once.
    exe.arg_dict["conv_weight"]._data *= -1
    exe.aux_dict["bn_moving_var"][:] = 4
    ref.arg_dict["conv_weight"]._data *= -1
    ref.aux_dict["bn_moving_var"][:] = 4
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), ref.forward()[0].asnumpy(),
                               rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------
# Parameters, reshape, sharing.


def test_copy_params_from():
    x = mx.sym.var("x")
    y = mx.sym.BatchNorm(mx.sym.FullyConnected(x, num_hidden=2, name="fc"), name="bn")
    exe = y.simple_bind(mx.cpu(), x=(1, 3))
    exe.copy_params_from({"fc_weight": mx.nd.ones((2, 3)), "fc_bias": np.array([1, 2.0])},
                         {"bn_moving_var": mx.nd.array([4, 4])})
    np.testing.assert_array_equal(exe.arg_dict["fc_weight"].asnumpy(), np.ones((2, 3)))
    assert exe.arg_dict["fc_bias"].dtype == np.float32
    np.testing.assert_array_equal(exe.aux_dict["bn_moving_var"].asnumpy(), _f(4, 4))
    with pytest.raises(ValueError, match='Find name "nope" that is not in the arguments'):
        exe.copy_params_from({"nope": mx.nd.ones(1)})
    exe.copy_params_from({"nope": mx.nd.ones(1)}, {"bn_x": mx.nd.ones(1)},
                         allow_extra_params=True)
    with pytest.raises(MXNetError, match="fc_bias"):
        exe.copy_params_from({"fc_bias": mx.nd.ones(3)})


def test_reshape_shares_unchanged_arrays():
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    exe = y.simple_bind(mx.cpu(), x=(4, 5))
    small = exe.reshape(x=(2, 5))
    assert small.arg_dict["fc_weight"] is exe.arg_dict["fc_weight"]
    assert small.grad_dict["fc_weight"] is exe.grad_dict["fc_weight"]
    assert small.arg_dict["x"].shape == (2, 5)
    assert np.shares_memory(small.arg_dict["x"]._data, exe.arg_dict["x"]._data)
    assert small.outputs[0].shape == (2, 3)
    with pytest.raises(MXNetError, match="allow_up_sizing"):
        exe.reshape(x=(8, 5))
    big = exe.reshape(x=(8, 5), allow_up_sizing=True)
    assert big.arg_dict["x"].shape == (8, 5)
    with pytest.raises(MXNetError, match="partial_shaping"):
        exe.reshape(allow_up_sizing=True, x=(4, 6))
    other = exe.reshape(partial_shaping=True, allow_up_sizing=True, x=(4, 6))
    assert other.arg_dict["fc_weight"].shape == (3, 6)


def test_simple_bind_shared_exec_reuses_arrays():
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    a = y.simple_bind(mx.cpu(), x=(4, 5))
    b = y.simple_bind(mx.cpu(), x=(2, 5), shared_exec=a)
    assert b.arg_dict["fc_weight"] is a.arg_dict["fc_weight"]
    assert b.grad_dict["fc_bias"] is a.grad_dict["fc_bias"]
    assert b.arg_dict["x"] is not a.arg_dict["x"]


def test_monitor_callback_sees_every_output():
    names = []
    x = mx.sym.var("x")
    y = mx.sym.relu(mx.sym.elemwise_mul(x, x, name="sq"), name="r")
    exe = y.simple_bind(mx.cpu(), x=(2,))
    exe.set_monitor_callback(lambda n, a: names.append((n, a.asnumpy().tolist())))
    exe.forward(x=_f(1, -2))
    assert names == [("sq_output", [1, 4]), ("r_output", [1, 4])]


def test_monitor_all_sees_each_steps_inputs_before_its_outputs():
    # MXNet calls the input callback before the operator runs, so a step that frees or
    # overwrites its input (relu may reuse sq's dead output) cannot hide it
    names = []
    x = mx.sym.var("x")
    y = mx.sym.relu(mx.sym.elemwise_mul(x, x, name="sq"), name="r")
    exe = y.simple_bind(mx.cpu(), x=(2,))
    exe.set_monitor_callback(lambda n, a: names.append((n, a.asnumpy().tolist())), True)
    exe.forward(x=_f(1, -2))
    # MXNet 1.9.1's GraphExecutor reports a variable input under its own name before each
    # use (its CachedOp does not); relu, registered without input names, has its input
    # called input0 as in MXNet
    assert names == [("x", [1, -2]), ("sq_lhs", [1, -2]), ("x", [1, -2]), ("sq_rhs", [1, -2]),
                     ("sq_output", [1, 4]), ("r_input0", [1, 4]), ("r_output", [1, 4])]


# ----------------------------------------------------------------------------------------
# Errors name the argument and both values.


def _fc():
    return mx.sym.FullyConnected(mx.sym.var("a"), num_hidden=3, name="fc")


def test_bind_missing_argument():
    with pytest.raises(MXNetError, match="key `fc_bias` is missing in `args`"):
        _fc().bind(mx.cpu(), {"a": mx.nd.ones((2, 4)), "fc_weight": mx.nd.ones((3, 4))})


def test_bind_wrong_shape_names_argument_and_shapes():
    with pytest.raises(MXNetError) as e:
        _fc().bind(mx.cpu(), {"a": mx.nd.ones((2, 4)), "fc_weight": mx.nd.ones((3, 5)),
                              "fc_bias": mx.nd.ones(3)})
    msg = str(e.value)
    assert "'fc_weight'" in msg and "(3, 5)" in msg and "(3, 4)" in msg


def test_bind_wrong_dtype_names_argument_and_dtypes():
    with pytest.raises(MXNetError) as e:
        _fc().bind(mx.cpu(), {"a": mx.nd.ones((2, 4)),
                              "fc_weight": mx.nd.ones((3, 4), dtype="float64"),
                              "fc_bias": mx.nd.ones(3)})
    msg = str(e.value)
    assert "'fc_weight'" in msg and "float64" in msg and "float32" in msg


def test_bind_wrong_gradient_shape():
    with pytest.raises(MXNetError, match="fc_bias"):
        _fc().bind(mx.cpu(), {"a": mx.nd.ones((2, 4)), "fc_weight": mx.nd.ones((3, 4)),
                              "fc_bias": mx.nd.ones(3)}, args_grad={"fc_bias": mx.nd.ones(4)})


def test_gradient_arrays_stay_the_arrays_users_hold(grads):
    x, w = mx.sym.var("x"), mx.sym.var("w")
    exe = mx.sym.elemwise_mul(x, w).simple_bind(mx.cpu(), x=(4,), w=(4,))
    gw = exe.grad_dict["w"]
    view = gw[1:3]  # a view into the gradient buffer must keep seeing new gradients
    raw = gw._data
    for k in (1.0, 2.0):
        exe.forward(is_train=True, x=np.full(4, k, np.float32), w=np.ones(4, np.float32))
        exe.backward(mx.nd.ones(4))
        assert exe.grad_dict["w"] is gw
        np.testing.assert_array_equal(gw.asnumpy(), np.full(4, k, np.float32))
        np.testing.assert_array_equal(view.asnumpy(), np.full(2, k, np.float32))
        np.testing.assert_array_equal(raw, np.full(4, k, np.float32))
    del view, raw
    # Without other holders the gradient may be handed over instead of copied: values agree.
    exe.forward(is_train=True, x=np.arange(4, dtype=np.float32))
    exe.backward(mx.nd.ones(4))
    np.testing.assert_array_equal(exe.grad_dict["w"].asnumpy(), np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), np.ones(4, np.float32))


def test_creation_operators_with_unknown_dims_run_at_the_bound_shape():
    # MXNet: zeros(shape=(0, 3)) + x takes its rows from x, in every executor, reshaped too
    x = mx.sym.var("x")
    sym = mx.sym.zeros(shape=(0, 3)) + x
    exe = sym.simple_bind(mx.cpu(), x=(5, 3))
    (out,) = exe.forward(x=np.ones((5, 3), np.float32))
    np.testing.assert_array_equal(out.asnumpy(), np.ones((5, 3)))
    small = exe.reshape(x=(2, 3))
    (out,) = small.forward(x=np.full((2, 3), 2, np.float32))
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 3), 2))
    assert sym.tojson().count('"shape": "(0, 3)"') == 1  # the symbol itself is unchanged
