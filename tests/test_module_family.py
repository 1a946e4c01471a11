"""BucketingModule, SequentialModule, PythonLossModule and mx.model.FeedForward against
MXNet 1.9.1 (tests/fixtures/module_family_cases.py, recorded by gen_module_family.py), and
the behaviour of each outside the recorded runs."""

from __future__ import annotations

import logging
import pathlib
import pickle
import sys
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fixtures"))

import module_family_cases as cases  # noqa: E402

DATA = HERE / "data" / "module_family" / "cases.npz"


@pytest.fixture(scope="module")
def oracle():
    with np.load(DATA) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(autouse=True)
def _quiet():
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _check_case(case, oracle):
    got = case(mx)
    name = case.__name__
    want = {k[len(name) + 1:]: v for k, v in oracle.items() if k.startswith(name + "/")}
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        g = np.asarray(got[k])
        assert g.shape == v.shape, k
        if v.dtype.kind in "iub":
            np.testing.assert_array_equal(g, v, err_msg=k)
        else:
            np.testing.assert_allclose(g, v, rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_matches_mxnet(case, oracle):
    _check_case(case, oracle)


# -- BucketingModule ---------------------------------------------------------------------


def _bucketing(grad_req="write", for_training=True):
    mod = mx.mod.BucketingModule(cases._bucket_sym_gen(mx), default_bucket_key=6)
    mod.bind([("data", (cases.BATCH, 6, cases.FEAT))], [("softmax_label", (cases.BATCH,))],
             for_training=for_training, grad_req=grad_req)
    mod.init_params(arg_params=cases._bucket_params(mx), aux_params={})
    return mod


def test_bucketing_buckets_share_arrays_and_optimizer():
    mod = _bucketing()
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    mod.forward(cases._bucket_batch(mx, 0, 2))
    assert mod._curr_bucket_key == 2
    a, b = mod._buckets[6], mod._buckets[2]
    assert b.binded and b.optimizer_initialized
    for name in ("fc1_weight", "fc2_bias"):
        assert mx.test_utils.same_array(a._exec.arg_dict[name], b._exec.arg_dict[name])
        assert mx.test_utils.same_array(a._exec.grad_dict[name], b._exec.grad_dict[name])
    assert b._updater is a._updater and b._optimizer is a._optimizer
    assert mod.symbol is b.symbol
    assert mod.data_shapes[0].shape == (cases.BATCH, 2, cases.FEAT)
    assert mod.output_shapes == [("softmax_output", (cases.BATCH, 3))]


def test_bucketing_grad_req_add_accumulates_across_buckets():
    mod = _bucketing(grad_req="add")
    b6, b2 = cases._bucket_batch(mx, 0, 6), cases._bucket_batch(mx, 1, 2)
    mod.forward_backward(b6)
    g6 = mod._curr_module._exec_group.execs[0].grad_dict["fc2_bias"].asnumpy().copy()
    mod.forward_backward(b2)
    assert mod._curr_module._grad_req == "add"
    total = mod._curr_module._exec_group.execs[0].grad_dict["fc2_bias"].asnumpy()

    ref = _bucketing()
    ref.forward_backward(b2)
    g2 = ref._curr_module._exec.grad_dict["fc2_bias"].asnumpy()
    np.testing.assert_allclose(total, g6 + g2, rtol=1e-6, atol=1e-7)


def test_bucketing_prepare_binds_without_switching_and_monitor_follows():
    mod = _bucketing()
    mon = mx.mon.Monitor(1, pattern="fc2.*")
    mod.install_monitor(mon)
    mod.prepare(cases._bucket_batch(mx, 0, 3))
    assert sorted(mod._buckets) == [3, 6] and mod._curr_bucket_key == 6
    assert mod._buckets[3]._exec in mon.exes


def test_bucketing_refusals(tmp_path):
    with pytest.raises(MXNetError, match="default_bucket_key"):
        mx.mod.BucketingModule(cases._bucket_sym_gen(mx))
    mod = mx.mod.BucketingModule(cases._bucket_sym_gen(mx), default_bucket_key=6)
    assert list(mod.data_names) == ["data"] and mod.output_names == ["softmax_output"]
    with pytest.raises(MXNetError, match="not bound"):
        mod.switch_bucket(2, [("data", (4, 2, 3))])
    with pytest.raises(MXNetError, match="shared_module"):
        mod.bind([("data", (4, 6, 3))], shared_module=mod)
    with pytest.raises(MXNetError, match="Empty BucketingModule"):
        mod.save_checkpoint(str(tmp_path / "x"), 0)

    def str_gen(key):
        return cases._bucket_sym_gen(mx)(6)

    named = mx.mod.BucketingModule(str_gen, default_bucket_key="long")
    named.bind([("data", (4, 6, 3))], [("softmax_label", (4,))])
    named.init_params()
    with pytest.raises(MXNetError, match="integers"):
        named.save_checkpoint(str(tmp_path / "x"), 0)


def test_bucketing_force_rebind_keeps_parameters():
    mod = _bucketing()
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    mod.forward_backward(cases._bucket_batch(mx, 0, 4))
    mod.update()
    before = {k: v.asnumpy().copy() for k, v in mod.get_params()[0].items()}
    mod.bind([("data", (cases.BATCH, 6, cases.FEAT))], [("softmax_label", (cases.BATCH,))],
             force_rebind=True, for_training=False)
    assert list(mod._buckets) == [6]
    for k, v in mod.get_params()[0].items():
        np.testing.assert_array_equal(v.asnumpy(), before[k])


# -- SequentialModule, PythonModule, PythonLossModule ------------------------------------


def _two_layer():
    d = mx.sym.Variable("data")
    m1 = mx.mod.Module(mx.sym.FullyConnected(d, num_hidden=5, name="fc1"), label_names=None)
    d2 = mx.sym.Variable("data")
    m2 = mx.mod.Module(mx.sym.FullyConnected(d2, num_hidden=2, name="fc2"), label_names=None)
    return m1, m2


def test_sequential_input_grads_chain_and_merge_params():
    m1, m2 = _two_layer()
    seq = mx.mod.SequentialModule().add(m1).add(m2, auto_wiring=True)
    seq.bind([("data", (3, 4))], inputs_need_grad=True)
    seq.init_params(mx.init.Xavier())
    assert seq.label_shapes is None
    assert seq.data_names == ["data"] and seq.output_shapes == [("fc2_output", (3, 2))]
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    seq.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=True)
    seq.backward([mx.nd.ones((3, 2))])
    arg, _ = seq.get_params()
    assert sorted(arg) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    w1, w2 = arg["fc1_weight"].asnumpy(), arg["fc2_weight"].asnumpy()
    want = np.ones((3, 2), np.float32) @ w2 @ w1
    np.testing.assert_allclose(seq.get_input_grads()[0].asnumpy(), want, rtol=1e-5)


def test_sequential_refusals():
    seq = mx.mod.SequentialModule()
    with pytest.raises(MXNetError, match="empty"):
        seq.bind([("data", (3, 4))])
    m1, _ = _two_layer()
    with pytest.raises(MXNetError, match='Unknown meta "take_label"'):
        seq.add(m1, take_label=True)
    d = mx.sym.Variable("data")
    again = mx.mod.Module(mx.sym.FullyConnected(d, num_hidden=4, name="fc1"),
                          label_names=None)
    seq = mx.mod.SequentialModule().add(m1).add(again, auto_wiring=True)
    seq.bind([("data", (3, 4))])
    with pytest.raises(MXNetError, match="Duplicated parameter names"):
        seq.init_params()


def test_python_loss_module_numpy_grad_and_metric():
    loss = mx.mod.PythonLossModule(grad_func=lambda s, lab: s.asnumpy() * 2)
    loss.bind([("data", (2, 3))], [("softmax_label", (2,))])
    assert loss.output_shapes == [("pyloss_output", (2, 3))]
    scores = mx.nd.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    labels = mx.nd.array([1, 2])
    loss.forward(mx.io.DataBatch([scores], [labels]))
    loss.backward()
    np.testing.assert_allclose(loss.get_input_grads()[0].asnumpy(), scores.asnumpy() * 2)
    metric = mx.metric.create("acc")
    loss.update_metric(metric, [labels])
    assert metric.get() == ("accuracy", 0.5)
    with pytest.raises(MXNetError, match="out_grads should be None"):
        loss.backward([scores])
    with pytest.raises(MXNetError, match="one data and one label"):
        mx.mod.PythonLossModule(data_names=("a", "b"))
    with pytest.raises(MXNetError, match="write"):
        mx.mod.PythonLossModule().bind([("data", (2, 3))], grad_req="add")
    assert loss.get_params() == ({}, {})


def test_python_module_subclass():
    class Double(mx.mod.PythonModule):
        def _compute_output_shapes(self):
            return [("double_output", self._data_shapes[0][1])]

        def forward(self, data_batch, is_train=None):
            self._out = data_batch.data[0] * 2

        def get_outputs(self, merge_multi_context=True):
            return [self._out]

    mod = Double(["data"], None, ["double_output"])
    mod.bind([("data", (2, 2))])
    mod.init_params()
    it = mx.io.NDArrayIter(np.ones((3, 2), np.float32), batch_size=2)
    np.testing.assert_array_equal(mod.predict(it).asnumpy(), np.full((3, 2), 2.0))


# -- executor group, Module details MXNet's tests reach ----------------------------------


def test_executor_group_shares_with_shared_group():
    from mxlite.module.executor_group import DataParallelExecutorGroup

    d = mx.sym.Variable("data")
    sym1 = mx.sym.FullyConnected(d, num_hidden=4, name="fc")
    sym2 = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=4, name="fc"),
                             act_type="relu")
    ctxs = [mx.cpu(0), mx.cpu(1)]
    g1 = DataParallelExecutorGroup(sym1, ctxs, [1, 1], [("data", (6, 3))], None,
                                   ["fc_weight", "fc_bias"], True, False)
    g2 = DataParallelExecutorGroup(sym2, ctxs, [1, 1], [("data", (6, 3))], None,
                                   ["fc_weight", "fc_bias"], True, False, shared_group=g1)
    assert [len(e.arg_dict) for e in g1.execs] == [3, 3]
    assert g1.slices == [slice(0, 3), slice(3, 6)]
    assert g1.grad_req == {"data": "null", "fc_weight": "write", "fc_bias": "write"}
    for i in range(2):
        assert list(g1.shared_data_arrays[i]) == ["data"]
        for name in ("fc_weight", "fc_bias"):
            assert mx.test_utils.same_array(g1.execs[i].arg_dict[name],
                                            g2.execs[i].arg_dict[name])
            assert mx.test_utils.same_array(g1.execs[i].grad_dict[name],
                                            g2.execs[i].grad_dict[name])
        assert mx.test_utils.same_array(g1.shared_data_arrays[i]["data"],
                                        g2.shared_data_arrays[i]["data"])
    g1.set_params({"fc_weight": mx.nd.ones((4, 3)), "fc_bias": mx.nd.zeros((4,))}, {})
    g2.forward(mx.io.DataBatch([mx.nd.ones((6, 3))]), is_train=False)
    np.testing.assert_array_equal(g2.get_outputs()[0].asnumpy(), np.full((6, 4), 3.0))
    got_arg, got_aux = {}, {}
    g2.get_params(got_arg, got_aux)
    np.testing.assert_array_equal(got_arg["fc_weight"].asnumpy(), np.ones((4, 3)))


def test_module_exec_group_and_layouts():
    d = mx.sym.Variable("data")
    mod = mx.mod.Module(mx.sym.FullyConnected(d, num_hidden=2, name="fc"), label_names=None)
    mod.bind([("data", (4, 3))])
    mod.init_params()
    mod.init_optimizer(optimizer="sgd")
    assert mod._optimizer.idx2name == dict(enumerate(mod._exec_group.param_names))
    with pytest.raises(TypeError):
        mx.mod.Module(d, label_names=None).bind([("data", mx.nd.array([4, 3]))])

    act = mx.sym.Activation(mx.sym.Variable("data"), act_type="relu", __layout__="TNC")
    mod = mx.mod.Module(act, label_names=None, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([mx.io.DataDesc("data", (3, 8, 7), layout="TNC")])
    mod.init_params()
    x = np.random.RandomState(0).uniform(-1, 1, (3, 8, 7)).astype(np.float32)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]))
    mod.backward([mx.nd.ones((3, 8, 7))])
    np.testing.assert_array_equal(mod.get_outputs()[0].asnumpy(), np.maximum(x, 0))
    assert [o.shape for o in mod.get_outputs(merge_multi_context=False)[0]] == [(3, 4, 7)] * 2
    mod.bind([mx.io.DataDesc("data", (3, 8, 7), layout="TNC")], force_rebind=True,
             inputs_need_grad=True)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]))
    mod.backward([mx.nd.ones((3, 8, 7))])
    np.testing.assert_array_equal(mod.get_input_grads()[0].asnumpy(), (x > 0) * 1.0)


def test_module_group2ctxs_places_arrays():
    with mx.AttrScope(ctx_group="dev1"):
        a = mx.sym.Variable("a") * 2
    with mx.AttrScope(ctx_group="dev2"):
        c = a + mx.sym.Variable("b")
    mod = mx.mod.Module(c, data_names=["a", "b"], label_names=None,
                        group2ctxs={"dev1": mx.cpu(1), "dev2": mx.cpu(2)})
    mod.bind([("a", (2, 3)), ("b", (2, 3))], inputs_need_grad=True)
    mod.init_params()
    mod.forward(mx.io.DataBatch([mx.nd.ones((2, 3)), mx.nd.ones((2, 3))]))
    mod.backward([mx.nd.ones((2, 3))])
    ga, gb = mod.get_input_grads()
    assert (ga.context, gb.context) == (mx.cpu(1), mx.cpu(2))
    np.testing.assert_array_equal(ga.asnumpy(), np.full((2, 3), 2.0))
    with pytest.raises(MXNetError, match="group2ctxs"):
        mx.mod.Module(c, data_names=["a", "b"], label_names=None,
                      context=[mx.cpu(0), mx.cpu(1)],
                      group2ctxs={"dev1": [mx.cpu(1)] * 3}).bind([("a", (2, 3)),
                                                                  ("b", (2, 3))])


def test_module_sparse_parameters_and_csr_data():
    x = mx.sym.var("data", stype="csr")
    v = mx.sym.var("v", shape=(6, 1), init=mx.init.Uniform(scale=0.1), stype="row_sparse")
    net = mx.sym.LinearRegressionOutput(mx.sym.dot(x, v), mx.sym.Variable("label"))
    mod = mx.mod.Module(net, data_names=["data"], label_names=["label"])
    data = mx.nd.array(np.eye(4, 6, dtype=np.float32)).tostype("csr")
    it = mx.io.NDArrayIter(data, {"label": mx.nd.ones((4, 1))}, batch_size=4,
                           last_batch_handle="discard")
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params()
    assert mod._arg_params["v"].stype == "row_sparse"
    v0 = mod.get_params()[0]["v"].asnumpy()
    assert np.abs(v0).sum() > 0 and np.abs(v0).max() <= 0.1
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    batch = next(iter(it))
    mod.forward_backward(batch)
    mod.update()
    v1 = mod.get_params()[0]["v"]
    assert v1.stype == "row_sparse"
    # d(0.5 * (x.v - 1)^2)/dv over the batch, averaged (rescale 1/4)
    want = v0.copy()
    want[:4, 0] -= 0.5 * (v0[:4, 0] - 1) / 4
    np.testing.assert_allclose(v1.asnumpy(), want, rtol=1e-6)


# -- FeedForward -------------------------------------------------------------------------


def test_feedforward_warns_pickles_and_refuses():
    x, y = cases._ff_data()
    with pytest.warns(DeprecationWarning):
        model = mx.model.FeedForward(cases._ff_symbol(mx), num_epoch=1, numpy_batch_size=5,
                                     arg_params=cases._ff_params(mx), learning_rate=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(MXNetError, match="y must be specified"):
            model.fit(x)
        with pytest.raises(MXNetError, match="not equal"):
            model.fit(x, y[:3])
        model.fit(mx.nd.array(x), y[:, None], eval_end_callback=None)
        pred = model.predict(x)
        assert pred.shape == (10, 3)
        clone = pickle.loads(pickle.dumps(model))
        assert clone._pred_exec is None
        np.testing.assert_array_equal(clone.predict(x), pred)
        model.num_epoch = None
        with pytest.raises(MXNetError, match="epoch"):
            model.save("unused")
        with pytest.raises(MXNetError, match="DataIter"):
            model.predict([1, 2, 3])
        dup = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
        dup = mx.sym.FullyConnected(dup, num_hidden=2, name="fc")
        with pytest.raises(MXNetError, match="duplicated"):
            mx.model.FeedForward(dup)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_feedforward_allow_extra_params_and_initializer():
    params = cases._ff_params(mx)
    params["unused"] = mx.nd.ones((2,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = mx.model.FeedForward(cases._ff_symbol(mx), arg_params=params,
                                     allow_extra_params=True)
        assert "unused" not in model.arg_params
        fresh = mx.model.FeedForward(cases._ff_symbol(mx), num_epoch=1,
                                     initializer=mx.init.Constant(0.5))
    x, y = cases._ff_data()
    fresh.fit(mx.io.NDArrayIter(x, y, batch_size=10), eval_end_callback=None)
    assert fresh.arg_params["fc1_weight"].shape == (6, 4)
    assert sorted(fresh.arg_params) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
