"""``Module(context=[...])``: data parallelism over several devices in one process, as MXNet
1.9.1's DataParallelExecutorGroup does it (batches split by ``work_load_list``, gradients
summed through the kvstore), checked against one-device training of the golden MLP."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx

MOD = DATA / "module"
IO = np.load(MOD / "io.npz")
X, Y = IO["X"], IO["Y"]
BATCH = 32


def _iter() -> mx.io.NDArrayIter:
    return mx.io.NDArrayIter(X[:128], Y[:128], batch_size=BATCH, shuffle=False,
                             label_name="softmax_label")


def _train(context, kvstore="device", work_load_list=None, epochs=2, optimizer="sgd"):
    sym, arg, aux = mx.model.load_checkpoint(str(MOD / "mx_mlp"), 1)
    mod = mx.mod.Module(sym, context=context, work_load_list=work_load_list)
    metric = mx.metric.Accuracy()
    mod.fit(_iter(), num_epoch=epochs, arg_params=arg, aux_params=aux, kvstore=kvstore,
            optimizer=optimizer, eval_metric=metric,
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    return mod, metric


def _assert_same_params(a: mx.mod.Module, b: mx.mod.Module) -> None:
    pa, pb = a.get_params()[0], b.get_params()[0]
    assert sorted(pa) == sorted(pb)
    for k in pa:
        np.testing.assert_allclose(pa[k].asnumpy(), pb[k].asnumpy(), rtol=0, atol=1e-6,
                                   err_msg=k)


@pytest.fixture(scope="module")
def one_device():
    return _train(mx.cpu(0))


@pytest.mark.parametrize("kvstore,update_on_kvstore", [("device", "1"), ("local", "0")])
def test_two_devices_train_like_one(one_device, monkeypatch, kvstore, update_on_kvstore):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", update_on_kvstore)
    mod, metric = _train([mx.cpu(0), mx.cpu(1)], kvstore=kvstore)
    assert mod._kvstore is not None and mod._kvstore.type == kvstore
    assert mod._update_on_kvstore is (update_on_kvstore == "1")
    assert [(s.start, s.stop) for s in mod._slices] == [(0, 16), (16, 32)]
    _assert_same_params(mod, one_device[0])
    assert metric.get() == one_device[1].get()
    # Every device holds the same weights after the updates.
    for block in mod._param_blocks:
        np.testing.assert_array_equal(block[0].asnumpy(), block[1].asnumpy())


def test_work_load_list_and_gpu_labels(one_device):
    mod, _ = _train([mx.gpu(0), mx.gpu(1), mx.gpu(2)], work_load_list=[1, 2, 5])
    # MXNet's _split_input_slice: round(w * 32 / 8) -> 4, 8, 20.
    assert [(s.start, s.stop) for s in mod._slices] == [(0, 4), (4, 12), (12, 32)]
    assert [ex.arg_dict["data"].shape for ex in mod._execs] == [(4, 20), (8, 20), (20, 20)]
    assert mod._execs[2].arg_dict["data"].context == mx.gpu(2)
    _assert_same_params(mod, one_device[0])


def test_outputs_merge_predict_and_input_grads(one_device):
    mod, _ = _train([mx.cpu(0), mx.cpu(1)], epochs=1)
    one = one_device[0]
    one.set_params(*mod.get_params())
    batch = next(iter(_iter()))
    mod.forward(batch, is_train=False)
    one.forward(batch, is_train=False)
    merged = mod.get_outputs()[0]
    assert merged.shape == (BATCH, 10)
    np.testing.assert_allclose(merged.asnumpy(), one.get_outputs()[0].asnumpy(), atol=1e-6)
    parts = mod.get_outputs(merge_multi_context=False)[0]
    assert [p.shape for p in parts] == [(16, 10), (16, 10)]
    assert mod.output_shapes == [("softmax_output", (BATCH, 10))]
    np.testing.assert_allclose(mod.predict(_iter()).asnumpy(), one.predict(_iter()).asnumpy(),
                               atol=1e-6)

    sym = mod.symbol
    g = mx.mod.Module(sym, context=[mx.cpu(0), mx.cpu(1)])
    g.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))], inputs_need_grad=True)
    g.set_params(*mod.get_params())
    g.forward_backward(batch)
    h = mx.mod.Module(sym)
    h.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))], inputs_need_grad=True)
    h.set_params(*mod.get_params())
    h.forward_backward(batch)
    np.testing.assert_allclose(g.get_input_grads()[0].asnumpy(),
                               h.get_input_grads()[0].asnumpy(), atol=1e-7)


def test_optimizer_states_on_the_store_and_a_smaller_last_batch(tmp_path):
    sym, arg, aux = mx.model.load_checkpoint(str(MOD / "mx_mlp"), 1)
    mod = mx.mod.Module(sym, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))])
    mod.set_params(arg, aux)
    mod.init_optimizer(kvstore="device", optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    it = mx.io.NDArrayIter(X[:10], Y[:10], batch_size=10, label_name="softmax_label")
    mod.forward_backward(next(iter(it)))  # rebinds for 10: 5 + 5
    mod.update()
    assert [(s.start, s.stop) for s in mod._slices] == [(0, 5), (5, 10)]
    fname = str(tmp_path / "m.states")
    mod.save_optimizer_states(fname)
    # On the store the updater is indexed by parameter name, as in MXNet.
    states = mx.optimizer.get_updater(mx.optimizer.SGD(momentum=0.9))
    states.set_states(open(fname, "rb").read())
    assert sorted(states.states) == sorted(mod._param_names)
    mod.load_optimizer_states(fname)


def test_bad_contexts_and_work_loads():
    sym = mx.sym.load(str(MOD / "mx_mlp-symbol.json"))
    with pytest.raises(ValueError, match="work_load_list must hold positive numbers"):
        mx.mod.Module(sym, context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1, 0])
    with pytest.raises(ValueError, match="context must be a Context"):
        mx.mod.Module(sym, context=["cpu"])
    mod = mx.mod.Module(sym, context=[mx.cpu(i) for i in range(3)])
    with pytest.raises(mx.MXNetError, match="Too many slices"):
        mod.bind([("data", (2, 20))], [("softmax_label", (2,))])
