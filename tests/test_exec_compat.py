"""Executor, simple_bind, monitor and helper behaviour checked against MXNet 1.9.1.

The expected values were recorded from MXNet 1.9.1 by tests/fixtures/gen_exec_compat.py
(tests/data/exec_compat/cases.json); each test runs the same scenario through mxlite.
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError, NDArrayHandle, py_str

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import exec_cases  # noqa: E402

CASES = json.loads((Path(__file__).parent / "data" / "exec_compat" / "cases.json").read_text())
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)


def _grad_after(sym, out_grads, aux=None):
    """x's gradient after forward(is_train=True) and backward(out_grads), or 'error'."""
    grads = {"x": mx.nd.full(X.shape, 7.0)}
    aux = {k: mx.nd.array(v) for k, v in (aux or {}).items()}
    exe = sym.bind(mx.cpu(), args={"x": mx.nd.array(X)}, args_grad=grads, aux_states=aux)
    exe.forward(is_train=True)
    try:
        exe.backward(out_grads)
    except MXNetError:
        return "error"
    return {k: g.asnumpy().tolist() for k, g in grads.items()}


# ----------------------------------------------------------------------------------------
# Head gradients: required and checked only where the backward graph reads them.


def test_unread_head_gradients_are_neither_required_nor_checked():
    want = CASES["head_grads"]
    x = mx.sym.var("x")
    wrong = [mx.nd.ones((5,))]
    zeros = [[0.0] * 3] * 2
    got = _grad_after(mx.sym.shape_array(x), wrong)
    assert got == want["shape_array_wrong_shape"] == {"x": zeros}
    got = _grad_after(mx.sym.size_array(x), None)
    assert got == want["size_array_missing"] == {"x": zeros}
    got = _grad_after(mx.sym.argmax(x, axis=1, keepdims=True), [mx.nd.ones((2, 3))])
    assert got == want["argmax_keepdims_wrong_shape"] == {"x": zeros}
    got = _grad_after(mx.sym.broadcast_equal(x, x * 2), None)
    assert got == want["equal_missing"] == {"x": zeros}
    got = _grad_after(mx.sym.topk(x, k=2, ret_typ="indices"), wrong)
    assert got == want["topk_indices_wrong_shape"] == {"x": zeros}
    got = _grad_after(mx.sym.floor(x), None)
    assert got == want["floor_missing"] == {"x": zeros}
    # sin's gradient reads the head gradient, but argmax stops it before x
    got = _grad_after(mx.sym.sin(mx.sym.argmax(x, axis=1)), [mx.nd.ones((4,))])
    assert got == want["sin_of_argmax_wrong_shape"] == {"x": zeros}


def test_read_head_gradients_are_required_and_checked():
    want = CASES["head_grads"]
    x = mx.sym.var("x")
    wrong = [mx.nd.ones((5,))]
    assert _grad_after(mx.sym.sin(x), None) == want["sin_missing"] == "error"
    assert _grad_after(mx.sym.sin(x), wrong) == want["sin_wrong_shape"] == "error"
    got = _grad_after(mx.sym.topk(x, k=2, ret_typ="value"), wrong)
    assert got == want["topk_value_wrong_shape"] == "error"
    # IdentityAttachKLSparseReg passes its head gradient on: it is no loss layer
    got = _grad_after(mx.sym.IdentityAttachKLSparseReg(x, name="kl"), None,
                      aux={"kl_moving_avg": np.full(3, 0.5)})
    assert got == want["kl_sparse_missing"] == "error"
    with pytest.raises(MXNetError, match="out_grads\\[0\\] has shape \\(5,\\)"):
        exe = mx.sym.sin(x).bind(mx.cpu(), args={"x": mx.nd.array(X)},
                                 args_grad={"x": mx.nd.zeros(X.shape)})
        exe.forward(is_train=True)
        exe.backward(wrong)


def test_head_gradients_of_several_outputs_are_judged_one_by_one():
    want = CASES["head_grads"]
    x = mx.sym.var("x")
    got = _grad_after(mx.sym.Group([mx.sym.shape_array(x), x * 3]),
                      [mx.nd.ones((9,)), mx.nd.ones((2, 3)) * 2])
    assert got == want["group_first_unused"] == {"x": [[6.0] * 3] * 2}
    got = _grad_after(mx.sym.Group([x * 3, mx.sym.shape_array(x)]), [mx.nd.ones((2, 3)) * 2])
    assert got == want["group_second_missing"] == {"x": [[6.0] * 3] * 2}


def test_loss_layer_ignores_a_given_head_gradient():
    got = _grad_after(mx.sym.make_loss(mx.sym.var("x") * 2), [mx.nd.ones((2, 3)) * 5])
    assert got == CASES["head_grads"]["make_loss_given"] == {"x": [[2.0] * 3] * 2}


def test_multi_proposal_backward_ignores_its_head_gradient():
    # MultiProposal declares no backward dependency: its head gradient is never copied
    rng = np.random.RandomState(0)
    cls_prob = rng.uniform(size=(2, 2 * 3, 4, 4)).astype(np.float32)
    bbox = rng.normal(size=(2, 4 * 3, 4, 4)).astype(np.float32)
    im_info = np.array([[64, 64, 1.0], [64, 64, 1.0]], dtype=np.float32)
    sym = mx.sym.contrib.MultiProposal(mx.sym.var("c"), mx.sym.var("b"), mx.sym.var("i"),
                                       scales=(2.0,), ratios=(0.5, 1.0, 2.0),
                                       rpn_pre_nms_top_n=20, rpn_post_nms_top_n=5,
                                       feature_stride=16)
    grads = [mx.nd.full(a.shape, 3.0) for a in (cls_prob, bbox, im_info)]
    exe = sym.bind(mx.cpu(), args=[mx.nd.array(a) for a in (cls_prob, bbox, im_info)],
                   args_grad=grads)
    exe.forward(is_train=True)
    assert exe.outputs[0].shape == (10, 5)
    exe.backward([mx.nd.ones((7, 5))])  # not the output's shape: MXNet does not look
    for g in grads:
        assert not g.asnumpy().any()


# ----------------------------------------------------------------------------------------
# simple_bind and bind keywords.


def test_simple_bind_reads_only_tuples_naming_inputs():
    want = CASES["simple_bind_kwargs"]
    z = mx.sym.broadcast_add(mx.sym.sin(mx.sym.var("x")), mx.sym.var("y"))
    exe = z.simple_bind(mx.cpu(), x=(2, 3), y=(1, 3), zz=(4,), axis=0, mode="clip",
                        force_rebind=True)
    got = [list(a.shape) for a in exe.arg_arrays]
    assert got == want["ignored_extras"] == [[2, 3], [1, 3]]
    # a list is no shape to MXNet: x stays unknown
    assert want["list_shape"] == "error"
    with pytest.raises(MXNetError, match="cannot infer the shapes of \\['x'\\]"):
        z.simple_bind(mx.cpu(), x=[2, 3], y=(1, 3))


def test_grad_req_dict_ignores_names_that_are_no_argument():
    want = CASES["simple_bind_kwargs"]
    z = mx.sym.broadcast_add(mx.sym.sin(mx.sym.var("x")), mx.sym.var("y"))
    exe = z.simple_bind(mx.cpu(), x=(2, 3), y=(1, 3),
                        grad_req={"x": "write", "parameters": "null"})
    got = [None if g is None else list(g.shape) for g in exe.grad_arrays]
    assert got == want["grad_req_dict"] == [[2, 3], None]
    exe = z.bind(mx.cpu(), args={"x": mx.nd.ones((2, 3)), "y": mx.nd.ones((1, 3))},
                 args_grad={"x": mx.nd.zeros((2, 3)), "y": mx.nd.zeros((1, 3))},
                 grad_req={"y": "write", "nothing": "add"})
    exe.forward(is_train=True)
    exe.backward([mx.nd.ones((2, 3))])
    got = [g.asnumpy().tolist() for g in exe.grad_arrays]
    assert got == want["bind_grad_req_dict"] == [[[0.0] * 3] * 2, [[2.0] * 3]]
    with pytest.raises(MXNetError, match="grad_req for 'x' is 'sometimes'"):
        z.simple_bind(mx.cpu(), x=(2, 3), y=(1, 3), grad_req={"x": "sometimes"})


def test_simple_bind_places_arrays_by_ctx_group():
    want = CASES["group2ctx"]
    with mx.AttrScope(ctx_group="stage1"):
        fc1 = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc1")
    with mx.AttrScope(ctx_group="stage2"):
        net = mx.sym.BatchNorm(mx.sym.FullyConnected(fc1, num_hidden=2, name="fc2"), name="bn")
    exe = net.simple_bind(mx.cpu(0), group2ctx={"stage1": mx.cpu(1), "stage2": mx.cpu(2)},
                          data=(3, 5), grad_req={"fc1_weight": "write", "fc2_bias": "add"})
    assert {n: str(a.context) for n, a in exe.arg_dict.items()} == want["args"]
    assert want["args"]["data"] == "cpu(1)" and want["args"]["bn_gamma"] == "cpu(2)"
    got = {n: str(a.context) for n, a in exe.grad_dict.items() if a is not None}
    assert got == want["grads"] == {"fc1_weight": "cpu(1)", "fc2_bias": "cpu(2)"}
    assert {n: str(a.context) for n, a in exe.aux_dict.items()} == want["aux"]
    # without group2ctx everything is on the bind context
    exe = net.simple_bind(mx.cpu(3), data=(3, 5))
    assert {str(a.context) for a in exe.arg_arrays + exe.aux_arrays} == {"cpu(3)"}


def test_creation_operators_take_unknown_dims_from_their_readers():
    want = CASES["partial_creation_shapes"]
    for name, s1, s2 in (("back", (2, 3), (-1, -1)), ("mixed", (2, -1), (3, -1))):
        b = mx.sym.ones(shape=s1) + mx.sym.transpose(mx.sym.zeros(shape=s2) + 2)
        y = b.bind(mx.cpu(), args={}).forward()[0]
        assert y.shape == (2, 3)
        assert y.asnumpy().tolist() == want[name] == [[3.0] * 3] * 2
    _, out_shapes, _ = (mx.sym.ones(shape=(2, 3))
                        + mx.sym.transpose(mx.sym.ones(shape=(-1, -1)))).infer_shape()
    assert out_shapes == [(2, 3)]


# ----------------------------------------------------------------------------------------
# Names: operator arguments, monitor callbacks, positional inputs.


def test_get_operator_arguments_lists_inputs_then_parameters():
    want = CASES["operator_arguments"]
    for name in ("Activation", "FullyConnected", "Convolution", "BatchNorm", "RNN", "Concat",
                 "stack", "add_n", "broadcast_add", "Custom", "SoftmaxOutput", "transpose"):
        a = mx.operator.get_operator_arguments(name)
        assert isinstance(a, mx.operator.OperatorArguments)
        n_in = len(want[name]["input_types"])
        assert a.narg == want[name]["narg"] == len(a.names), name
        assert a.names == want[name]["names"], name
        assert a.types[:n_in] == want[name]["input_types"], name
    a = mx.operator.get_operator_arguments("Activation")
    assert a.types == want["Activation_types"] == [
        "NDArray-or-Symbol", "{'relu', 'sigmoid', 'softrelu', 'softsign', 'tanh'}, required"]
    with pytest.raises(MXNetError, match="unknown operator 'NoSuchOp'"):
        mx.operator.get_operator_arguments("NoSuchOp")


def test_monitor_names_inputs_as_mxnet_does():
    want = CASES["monitor_names"]
    syms = exec_cases.monitor_symbols(mx)
    assert set(syms) == set(want)
    for key, s in syms.items():
        names = exec_cases.monitor_names(mx, s)
        # the GraphExecutor's list, variables repeated under their own names before each use
        assert names == want[key]["names"], key
    assert [n for n in want["activation"]["names"] if n != "data"] == ["act_input0",
                                                                       "act_output"]


def test_positional_none_leaves_an_input_out():
    want = CASES["positional_none_input"]
    x, w = mx.sym.var("x"), mx.sym.var("w")
    c = mx.sym.Convolution(x, w, None, kernel=(3,), num_filter=2, no_bias=True, name="c")
    assert c.list_arguments() == want["no_bias"] == ["x", "w"]
    c = mx.sym.Convolution(x, w, None, kernel=(3,), num_filter=2, name="c")
    assert c.list_arguments() == want["auto_bias"] == ["x", "w", "c_bias"]
    c = mx.sym.FullyConnected(x, None, None, num_hidden=3, name="f")
    assert c.list_arguments() == want["auto_weight_bias"] == ["x", "f_weight", "f_bias"]
    with pytest.raises(TypeError, match="multiple values for argument 'kernel'"):
        mx.sym.Convolution(x, w, None, (3,), kernel=(3,), num_filter=2)


# ----------------------------------------------------------------------------------------
# Package aliases and helpers.


def test_contrib_ndarray_and_symbol_aliases():
    want = CASES["contrib_aliases"]
    x = mx.nd.array([[1.0, -2.0], [0.5, 3.0]])
    assert mx.contrib.nd is mx.contrib.ndarray and want["same_module"]
    assert mx.contrib.sym is mx.contrib.symbol
    got = mx.contrib.nd.quadratic(x, a=2, b=-1, c=0.5).asnumpy().tolist()
    assert got == want["nd"] == [[1.5, 10.5], [0.5, 15.5]]
    s = mx.contrib.sym.quadratic(mx.sym.var("x"), a=2, b=-1, c=0.5)
    assert s.list_arguments() == want["sym_args"]
    assert s.eval(x=x)[0].asnumpy().tolist() == want["sym"]
    # only the generated operators: MXNet's Python helpers live in mx.nd.contrib alone
    assert hasattr(mx.contrib.nd, "foreach") == want["has_foreach"] is False
    assert callable(mx.contrib.nd.ctc_loss) and callable(mx.contrib.symbol.CTCLoss)
    with pytest.raises(AttributeError):
        mx.contrib.nd.no_such_operator  # noqa: B018


def test_numpy_array_scope_is_per_thread():
    from mxlite.util import _NumpyArrayScope

    assert not mx.util.is_np_array()
    with mx.util.np_array(True) as scope:
        assert isinstance(scope, _NumpyArrayScope) and scope._is_np_array
        assert mx.util.is_np_array()
        seen = []
        t = threading.Thread(target=lambda: seen.append(mx.util.is_np_array()))
        t.start()
        t.join()
        assert seen == [False]  # a new thread starts without numpy-array semantics
        with mx.util.np_array(False):
            assert not mx.util.is_np_array()
        assert mx.util.is_np_array()
    assert not mx.util.is_np_array()
    prev = mx.util.set_np_array(True)
    try:
        assert prev is False and mx.util.is_np_array()
        assert _NumpyArrayScope._current.value._is_np_array
    finally:
        mx.util.set_np_array(False)
    assert not mx.util.is_np_array()


def test_base_handle_and_py_str():
    assert NDArrayHandle is ctypes.c_void_p
    assert py_str(b"conv_output") == "conv_output"
    assert py_str("conv_output") == "conv_output"  # mxlite's callbacks hand over str


def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_current_context_is_per_thread():
    # MXNet 1.9.1: a thread's set_default_context / ``with ctx`` / ``Context.default_ctx =``
    # change that thread's current context only
    from mxlite.context import Context
    from mxlite.test_utils import default_context, set_default_context

    got = _in_thread(lambda: (set_default_context(mx.gpu(11)), mx.current_context())[1])
    assert got == mx.gpu(11)
    assert mx.current_context() == default_context() == mx.cpu(0)
    c = mx.cpu(5)
    with c:
        with mx.cpu(6):
            assert mx.current_context() == mx.cpu(6)
        with c:  # the same object again: each exit restores what its own entry replaced
            assert mx.current_context() == mx.cpu(5)
        assert mx.current_context() == mx.cpu(5)
        assert _in_thread(mx.current_context) == mx.cpu(0)
    assert mx.current_context() == mx.cpu(0)
    try:
        with pytest.warns(DeprecationWarning, match="default_ctx has been deprecated"):
            Context.default_ctx = mx.cpu(3)
        assert mx.current_context() == mx.cpu(3)
        # the setter ran: the class still has the property, not a Context in its place
        assert type(Context.__dict__["default_ctx"]).__name__ == "_MXClassPropertyDescriptor"
        assert _in_thread(mx.current_context) == mx.cpu(0)
        set_default_context(mx.cpu(4))
        assert default_context() == mx.nd.zeros((1,)).context == mx.cpu(4)
    finally:
        set_default_context(None)
    assert mx.current_context() == mx.cpu(0)


def test_np_shape_flag_two_is_global():
    # MXNet 1.9.1: set_np_shape(1) is this thread's, set_np_shape(2) every thread's,
    # set_np_shape(0) turns both off (returning the previous setting each time)
    from mxlite.util import is_np_shape, set_np_shape

    try:
        assert set_np_shape(1) is False
        assert is_np_shape() and not _in_thread(is_np_shape)
        assert set_np_shape(2) is True
        assert is_np_shape() and _in_thread(is_np_shape)
    finally:
        assert set_np_shape(0) is True
    assert not is_np_shape() and not _in_thread(is_np_shape)


def test_reshape_keeps_each_array_on_its_group_context():
    # MXNet's Executor.reshape allocates a resized array on the old array's context
    with mx.AttrScope(ctx_group="dev1"):
        fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    exe = fc.simple_bind(mx.cpu(0), group2ctx={"dev1": mx.cpu(1)}, data=(2, 4))
    new = exe.reshape(allow_up_sizing=True, data=(5, 4))
    assert new.arg_dict["data"].shape == (5, 4)
    assert {n: str(a.context) for n, a in new.arg_dict.items()} == {
        "data": "cpu(1)", "fc_weight": "cpu(1)", "fc_bias": "cpu(1)"}
    assert str(new.grad_dict["data"].context) == "cpu(1)"
