"""``Custom`` and ``mx.operator``: Python-defined operators imperatively (with autograd), in
graphs (MXNet's JSON, the executor, Module-style binding) and in hybridized Gluon blocks,
checked against MXNet 1.9.1 (tests/data/ops/control, from tests/fixtures/gen_custom_control.py),
and the errors a bad op_type or Prop gives."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

HERE = pathlib.Path(__file__).parent
DATA = HERE / "data" / "ops" / "control"
sys.path.insert(0, str(HERE / "fixtures"))
import custom_control_cases as cases  # noqa: E402

ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
TOL = {"rtol": 1e-5, "atol": 1e-5}

cases.register_props(mx)


def _run(sym, pre: str):
    args = {k[len(pre) + 4:]: mx.nd.array(ARRAYS[k]) for k in ARRAYS.files
            if k.startswith(pre + "/in/")}
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    outs = exe.forward(is_train=True)
    exe.backward([mx.nd.array(ARRAYS[f"{pre}/head/{k}"]) for k in range(len(outs))])
    return [o.asnumpy() for o in outs], {k: g.asnumpy() for k, g in grads.items()}


def _check(outs, grads, pre: str):
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o, ARRAYS[f"{pre}/out/{k}"], **TOL)
    assert grads
    for k, g in grads.items():
        np.testing.assert_allclose(g, ARRAYS[f"{pre}/grad/{k}"], **TOL)


def test_mxnet_json_loads_and_runs():
    sym = mx.sym.load(str(DATA / "custom-symbol.json"))
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias", "sq_bias"]
    assert sym.list_outputs() == ["cube_output"]
    outs, grads = _run(sym, "custom/run")
    _check(outs, grads, "custom/run")


def test_built_graph_json_equals_mxnet():
    sym = cases.custom_graph(mx)
    assert sym.tojson() == (DATA / "custom-symbol.json").read_text()
    attrs = sym.get_internals()["sq_output"].list_attr()
    assert attrs == {"op_type": "scaled_sq", "scale": "0.5"}
    outs, grads = _run(sym, "custom/run")
    _check(outs, grads, "custom/run")
    again = mx.sym.load_json(sym.tojson())
    assert again.tojson() == sym.tojson()


def test_shape_and_type_inference_through_the_prop():
    sym = cases.custom_graph(mx)
    arg, out, aux = sym.infer_shape(data=(4, 3))
    assert arg == [(4, 3), (5, 3), (5,), (5,)] and out == [(4, 5)] and aux == []
    # the default infer_type leaves the bias unknown, as in MXNet
    arg_t, out_t, _ = sym.infer_type_partial(data="float64")
    assert out_t == [np.float64] and arg_t == [np.float64] * 3 + [None]
    arg_t, out_t, _ = sym.infer_type(data="float64", sq_bias="float64")
    assert out_t == [np.float64] and arg_t == [np.float64] * 4
    exe = sym.simple_bind(mx.cpu(), data=(4, 3))
    assert exe.outputs[0].shape == (4, 5)


def test_imperative_with_autograd_matches_mxnet():
    x = mx.nd.array(ARRAYS["nd/custom/in/x"])
    b = mx.nd.array(ARRAYS["nd/custom/in/b"])
    x.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(x, b, op_type="scaled_sq", scale=2)
        z = mx.nd.Custom(y, op_type="cube")
    z.backward(mx.nd.ones_like(z))
    np.testing.assert_allclose(z.asnumpy(), ARRAYS["nd/custom/out/0"], **TOL)
    np.testing.assert_allclose(x.grad.asnumpy(), ARRAYS["nd/custom/grad/x"], **TOL)
    np.testing.assert_allclose(b.grad.asnumpy(), ARRAYS["nd/custom/grad/b"], **TOL)


def test_kwargs_reach_the_prop_as_strings_and_is_train_is_passed():
    seen = {}

    class Probe(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            seen["is_train"] = is_train
            seen["recording"] = mx.autograd.is_recording()
            self.assign(out_data[0], req[0], in_data[0] + 1)

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], out_grad[0] * 3)

    @mx.operator.register("probe_kwargs")
    class ProbeProp(mx.operator.CustomOpProp):
        def __init__(self, **kwargs):
            super().__init__()
            seen["kwargs"] = kwargs

        def create_operator(self, ctx, shapes, dtypes):
            seen["shapes"], seen["dtypes"] = shapes, dtypes
            return Probe()

    x = mx.nd.ones((2, 2))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(x, op_type="probe_kwargs", alpha=0.5, size=(2, 3), flag=True)
    y.backward()
    assert seen["kwargs"] == {"alpha": "0.5", "size": "(2, 3)", "flag": "True"}
    assert seen["is_train"] is True and seen["recording"] is False
    assert seen["shapes"] == [[2, 2]] and seen["dtypes"] == [0]
    np.testing.assert_array_equal(y.asnumpy(), np.full((2, 2), 2, np.float32))
    np.testing.assert_array_equal(x.grad.asnumpy(), np.full((2, 2), 3, np.float32))
    mx.nd.Custom(x, op_type="probe_kwargs")
    assert seen["is_train"] is False


def test_aux_states_and_multiple_outputs():
    class Split(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], in_data[0] * 2)
            self.assign(out_data[1], req[1], in_data[0].sum(axis=1))
            aux[0][:] += 1  # counts calls, as a moving statistic would be updated

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            g = out_grad[0] * 2 + out_grad[1].reshape((-1, 1))
            self.assign(in_grad[0], req[0], g)

    @mx.operator.register("split_count")
    class SplitProp(mx.operator.CustomOpProp):
        def list_outputs(self):
            return ["double", "total"]

        def list_auxiliary_states(self):
            return ["count"]

        def infer_shape(self, in_shape):
            d = in_shape[0]
            return [d], [d, [d[0]]], [[1]]

        def create_operator(self, ctx, shapes, dtypes):
            return Split()

    sym = mx.sym.Custom(mx.sym.var("data"), op_type="split_count", name="sp")
    assert sym.list_outputs() == ["sp_double", "sp_total"]
    assert sym.list_auxiliary_states() == ["sp_count"]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    count = mx.nd.zeros((1,))
    grad = mx.nd.zeros((2, 3))
    exe = sym.bind(mx.cpu(), {"data": mx.nd.array(x)}, args_grad={"data": grad},
                   aux_states={"sp_count": count})
    outs = exe.forward(is_train=True)
    exe.backward([mx.nd.ones((2, 3)), mx.nd.ones((2,))])
    np.testing.assert_array_equal(outs[0].asnumpy(), x * 2)
    np.testing.assert_array_equal(outs[1].asnumpy(), x.sum(axis=1))
    np.testing.assert_array_equal(grad.asnumpy(), np.full((2, 3), 3, np.float32))
    exe.forward(is_train=False)
    assert count.asnumpy().tolist() == [2.0]


class _CubeBlock(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = mx.gluon.nn.Dense(3, in_units=4)

    def hybrid_forward(self, F, x):  # noqa: N803
        return F.Custom(self.dense(x), op_type="cube", name="cube")


def test_gluon_hybridized_block_runs_forward_and_backward(tmp_path):
    net = _CubeBlock()
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(0).uniform(-1, 1, (2, 4)).astype(np.float32))
    with mx.autograd.record():
        ref = net(x)
    ref.backward()
    ref_grad = net.dense.weight.grad().asnumpy().copy()
    dense = net.dense(x).asnumpy()
    np.testing.assert_allclose(ref.asnumpy(), dense ** 3, **TOL)
    net.hybridize()
    with mx.autograd.record():
        out = net(x)
    out.backward()
    np.testing.assert_allclose(out.asnumpy(), ref.asnumpy(), **TOL)
    np.testing.assert_allclose(net.dense.weight.grad().asnumpy(), ref_grad, **TOL)
    net.export(str(tmp_path / "cube"))
    sym = mx.sym.load(str(tmp_path / "cube-symbol.json"))
    assert "Custom" in sym.tojson() and '"op_type": "cube"' in sym.tojson()
    loaded = mx.gluon.SymbolBlock.imports(str(tmp_path / "cube-symbol.json"), ["data"],
                                          str(tmp_path / "cube-0000.params"))
    np.testing.assert_allclose(loaded(x).asnumpy(), ref.asnumpy(), **TOL)


def test_unknown_op_type_names_node_and_op_type():
    text = (DATA / "custom-symbol.json").read_text().replace('"scaled_sq"', '"no_such_op"')
    with pytest.raises(MXNetError, match=r"node 'sq'.*op_type 'no_such_op'"):
        mx.sym.load_json(text)
    with pytest.raises(MXNetError, match="no_such_op"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="no_such_op")
    with pytest.raises(MXNetError, match="op_type"):
        mx.sym.Custom(mx.sym.var("x"), name="c")


def test_prop_with_wrong_infer_shape_count_names_node_and_op_type():
    @mx.operator.register("bad_count")
    class BadProp(mx.operator.CustomOpProp):
        def infer_shape(self, in_shape):
            return in_shape, [in_shape[0], in_shape[0]], []

    sym = mx.sym.Custom(mx.sym.var("x"), op_type="bad_count", name="badnode")
    with pytest.raises(MXNetError, match=r"badnode.*op_type 'bad_count'.*2 output"):
        sym.infer_shape(x=(2, 3))
    with pytest.raises(MXNetError, match=r"badnode.*bad_count"):
        sym.simple_bind(mx.cpu(), x=(2, 3))
    with pytest.raises(MXNetError, match=r"op_type 'bad_count'.*expected 1"):
        mx.nd.Custom(mx.nd.ones((2, 3)), op_type="bad_count")


def test_errors_in_user_code_are_mxnet_errors():
    class Boom(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            raise RuntimeError("kaboom")

    @mx.operator.register("boom")
    class BoomProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Boom()

    with pytest.raises(MXNetError, match=r"op_type 'boom'.*Boom.forward.*kaboom"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="boom")


def test_operator_module_api():
    assert "Custom" in mx.operator.get_all_registered_operators()
    assert "_foreach" in mx.operator.get_all_registered_operators()
    args = mx.operator.get_operator_arguments("Custom")
    # MXNet 1.9.1: OperatorArguments(narg=2, names=['data', 'op_type'],
    #                                types=['NDArray-or-Symbol[]', 'string'])
    assert args == (2, ["data", "op_type"], ["NDArray-or-Symbol[]", "string"])
    op = mx.operator.CustomOp()
    dst = mx.nd.zeros((2,))
    op.assign(dst, "write", mx.nd.ones((2,)))
    op.assign(dst, "add", mx.nd.ones((2,)))
    op.assign(dst, "null", mx.nd.ones((2,)) * 7)
    assert dst.asnumpy().tolist() == [2.0, 2.0]
    prop = mx.operator.CustomOpProp(need_top_grad=False)
    assert prop.declare_backward_dependency([0], [1], [2]) == [1, 2]
    assert prop.infer_shape([[2, 3]]) == ([[2, 3]], ([2, 3],), ())


def test_loss_like_prop_needs_no_head_gradient_imperatively():
    class Loss(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], in_data[0] * 1)

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], in_data[0] - in_data[1])  # ignores out_grad

    @mx.operator.register("l2_like")
    class LossProp(mx.operator.CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=False)

        def list_arguments(self):
            return ["data", "label"]

        def infer_shape(self, in_shape):
            return [in_shape[0], in_shape[0]], [in_shape[0]], []

        def create_operator(self, ctx, shapes, dtypes):
            return Loss()

    from mxlite.ops import custom

    sym = mx.sym.Custom(mx.sym.var("d"), mx.sym.var("l"), op_type="l2_like", name="loss")
    assert sym.list_arguments() == ["d", "l"]
    assert custom.needs_head_grad(sym._outputs[0][0].parsed) is False
    assert custom.needs_head_grad(cases.custom_graph(mx)._outputs[0][0].parsed) is True
    d, lab = mx.nd.array([1.0, 5.0]), mx.nd.array([2.0, 2.0])
    d.attach_grad()
    with mx.autograd.record():
        out = mx.nd.Custom(d, lab, op_type="l2_like")
    out.backward()
    assert d.grad.asnumpy().tolist() == [-1.0, 3.0]


class _HalfSquaredLoss(mx.operator.CustomOp):
    """0.5 * (x - label)^2 as a loss: the gradient ignores any head gradient."""

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], in_data[0] - in_data[1])
        self.assign(in_grad[1], req[1], mx.nd.zeros_like(in_data[1]))


@mx.operator.register("test_half_squared_loss")
class _HalfSquaredLossProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=False)

    def list_arguments(self):
        return ["data", "label"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _HalfSquaredLoss()


def test_custom_loss_needs_no_head_gradient_in_the_executor():
    data, label = mx.sym.Variable("data"), mx.sym.Variable("label")
    loss = mx.sym.Custom(data, label, op_type="test_half_squared_loss", name="loss")
    exe = loss.simple_bind(mx.cpu(), data=(2, 3), label=(2, 3))
    exe.arg_dict["data"][:] = np.arange(6).reshape(2, 3)
    exe.arg_dict["label"][:] = 1
    exe.forward(is_train=True)
    exe.backward()  # no head gradient: the Prop said need_top_grad=False
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(),
                                  np.arange(6).reshape(2, 3) - 1)
