"""``mx.mod.Module`` against MXNet 1.9.1: the checkpoint, prediction and training runs recorded
in tests/data/module (expectations.json ``module.*``), and Module's own semantics."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx

MOD = DATA / "module"
PREFIX = str(MOD / "mx_mlp")
EXPECT = json.loads((DATA / "expectations.json").read_text())["module"]
IO = np.load(MOD / "io.npz")
X, Y = IO["X"], IO["Y"]
BATCH = 32
# What MXNet 1.9.1 logged for these runs (``Epoch[i] Train-accuracy=...``, printed with %f).
MX_FIT_PARITY_TRAIN_ACC = ["0.730469", "0.781250"]
MX_RESUME_TRAIN_ACC = ["0.769531"]


def _iter(batch_size: int = BATCH, n: int | None = None, **kw) -> mx.io.NDArrayIter:
    return mx.io.NDArrayIter(X[:n], Y[:n], batch_size=batch_size, shuffle=False,
                             label_name="softmax_label", **kw)


def _result(name: str) -> dict[str, np.ndarray]:
    arrays = mx.nd.load(str(MOD / name))
    return {k.partition(":")[2]: v.asnumpy() for k, v in arrays.items()}


def _assert_params(got: dict, want: dict, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        np.testing.assert_allclose(got[k].asnumpy(), v, rtol=rtol, atol=atol, err_msg=k)


def _train_acc(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().rpartition("=")[2] for r in caplog.records
            if "Train-accuracy=" in r.getMessage()]


def _inference_module(batch_size: int = BATCH) -> mx.mod.Module:
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    with warnings.catch_warnings():  # bound without labels: MXNet warns the names differ
        warnings.simplefilter("ignore")
        mod.bind(data_shapes=[("data", (batch_size, 20))], for_training=False)
    mod.set_params(arg, aux)
    return mod


# -- parity with MXNet ------------------------------------------------------------------------

def test_load_checkpoint_symbol_and_params():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    assert sym.tojson() == (MOD / "mx_mlp-symbol.json").read_text()
    assert aux == {}
    assert {k: v.shape for k, v in arg.items()} == {
        "fc1_weight": (24, 20), "fc1_bias": (24,), "fc2_weight": (10, 24), "fc2_bias": (10,)}
    assert EXPECT["mlp"]["epochs"] == [1, 2, 3]


def test_predict_and_score_match_mxnet():
    mod = _inference_module()
    pred = mod.predict(_iter())
    assert isinstance(pred, mx.nd.NDArray) and pred.shape == (256, 10)
    np.testing.assert_allclose(pred.asnumpy(), IO["pred"], rtol=1e-5, atol=1e-6)
    assert mod.score(_iter(), "acc") == [("accuracy", EXPECT["mlp"]["score_acc"])]
    # One array in, one forward, the first output back.
    out = mod.predict(X[:BATCH])
    np.testing.assert_allclose(out.asnumpy(), IO["pred"][:BATCH], rtol=1e-5, atol=1e-6)


def test_fit_parity(caplog):
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    with caplog.at_level(logging.INFO):
        mod.fit(_iter(), num_epoch=5, begin_epoch=3, arg_params=arg, aux_params=aux,
                optimizer="sgd", optimizer_params={"learning_rate": 0.05, "momentum": 0.9,
                                                   "wd": 1e-3, "rescale_grad": 1 / 32})
    _assert_params(mod.get_params()[0], _result("fit_parity_result.params"))
    assert _train_acc(caplog) == MX_FIT_PARITY_TRAIN_ACC
    messages = [r.getMessage() for r in caplog.records]
    assert [m.partition("=")[0] for m in messages if "Time cost" in m] == [
        "Epoch[3] Time cost", "Epoch[4] Time cost"]


def test_resume_with_optimizer_states(caplog):
    mod = mx.mod.Module.load(PREFIX, 3, load_optimizer_states=True)
    with caplog.at_level(logging.INFO), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mod.fit(_iter(), num_epoch=4, begin_epoch=3, optimizer="sgd",
                optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    # fit's init_params finds the loaded parameters already there, as in MXNet.
    assert any("init_params call ignored" in str(x.message) for x in w)
    _assert_params(mod.get_params()[0], _result("resume_with_states_result.params"))
    assert _train_acc(caplog) == MX_RESUME_TRAIN_ACC
    # Index i is parameter i of list_arguments (inputs left out): momentum shapes say so.
    states = mod._updater.states
    assert {i: s.shape for i, s in states.items()} == {
        0: (24, 20), 1: (24,), 2: (10, 24), 3: (10,)}


def test_resume_without_states_differs():
    mod = mx.mod.Module.load(PREFIX, 3)
    with pytest.warns(UserWarning, match="init_params call ignored"):
        mod.fit(_iter(), num_epoch=4, begin_epoch=3, optimizer="sgd",
                optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4})
    got = mod.get_params()[0]["fc1_weight"].asnumpy()
    want = _result("resume_with_states_result.params")["fc1_weight"]
    assert np.abs(got - want).max() > 1e-4  # the momentum carried over matters


def test_optimizer_states_round_trip_byte_exact(tmp_path):
    mod = mx.mod.Module.load(PREFIX, 3, load_optimizer_states=True)
    mod.bind(data_shapes=[("data", (BATCH, 20))], label_shapes=[("softmax_label", (BATCH,))])
    mod.init_optimizer(optimizer="sgd", optimizer_params={"momentum": 0.9})
    out = tmp_path / "x.states"
    mod.save_optimizer_states(str(out))
    assert out.read_bytes() == (MOD / "mx_mlp-0003.states").read_bytes()


# -- the pieces of the API ---------------------------------------------------------------------

def test_properties_and_shapes():
    sym = mx.sym.load(str(MOD / "mx_mlp-symbol.json"))
    mod = mx.mod.Module(sym)
    assert mod.symbol is sym
    assert mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert mod.output_names == ["softmax_output"]
    assert not mod.binded
    with pytest.raises(mx.MXNetError, match="not bound"):
        mod.data_shapes  # noqa: B018
    it = _iter()
    mod.bind(it.provide_data, it.provide_label)
    assert mod.binded and mod.for_training and not mod.inputs_need_grad
    assert [(d.name, d.shape) for d in mod.data_shapes] == [("data", (32, 20))]
    assert [(d.name, d.shape) for d in mod.label_shapes] == [("softmax_label", (32,))]
    assert mod.output_shapes == [("softmax_output", (32, 10))]


def test_bind_checks_names():
    sym = mx.sym.load(str(MOD / "mx_mlp-symbol.json"))
    with pytest.raises(ValueError, match="'dat' is not found"):
        mx.mod.Module(sym, data_names=["dat"])
    with pytest.raises(mx.MXNetError, match="not found"):
        mx.mod.Module(sym, fixed_param_names=["fc9_weight"])
    mod = mx.mod.Module(sym)
    with pytest.raises(ValueError, match="don't match names"):
        mod.bind([("x", (4, 20))])


def test_init_params_missing_extra_and_force():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (4, 20))], [("softmax_label", (4,))])
    partial = {k: v for k, v in arg.items() if k != "fc1_weight"}
    with pytest.raises(mx.MXNetError, match="fc1_weight is not presented"):
        mod.init_params(arg_params=partial)
    mod.init_params(mx.init.Constant(0.5), arg_params=partial, allow_missing=True)
    got = mod.get_params()[0]
    np.testing.assert_array_equal(got["fc1_weight"].asnumpy(), np.full((24, 20), 0.5, np.float32))
    np.testing.assert_array_equal(got["fc2_weight"].asnumpy(), arg["fc2_weight"].asnumpy())
    with pytest.warns(UserWarning, match="init_params call ignored"):
        mod.init_params(mx.init.Zero())
    mod.init_params(mx.init.Zero(), force_init=True)
    assert float(np.abs(mod.get_params()[0]["fc1_weight"].asnumpy()).sum()) == 0.0
    with pytest.raises(mx.MXNetError, match="not in the arguments"):
        mod._exec.copy_params_from({"nope": arg["fc1_bias"]})
    mod.set_params(dict(arg, nope=arg["fc1_bias"]), aux, allow_extra=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc2_bias"].asnumpy(),
                                  arg["fc2_bias"].asnumpy())


def test_get_params_are_copies_refreshed_after_update():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))])
    mod.set_params(arg, aux)
    params, _ = mod.get_params()
    exec_w = mod._exec.arg_dict["fc1_weight"]
    assert params["fc1_weight"] is not exec_w
    assert not np.shares_memory(params["fc1_weight"]._data, exec_w._data)
    before = params["fc1_weight"].asnumpy()
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1})
    batch = next(iter(_iter()))
    mod.forward_backward(batch)
    mod.update()
    np.testing.assert_array_equal(params["fc1_weight"].asnumpy(), before)  # not yet synced
    after, _ = mod.get_params()
    np.testing.assert_array_equal(after["fc1_weight"].asnumpy(), exec_w.asnumpy())
    assert np.abs(after["fc1_weight"].asnumpy() - before).max() > 0


def test_update_uses_rescale_grad_and_symbol_multipliers():
    """One SGD step: rescale_grad = 1/batch; fc2_weight has __lr_mult__ 0.5 and __wd_mult__ 0
    in the symbol; biases get no weight decay (their names do not end in _weight)."""
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))])
    mod.set_params(arg, aux)
    lr, wd = 0.1, 0.01
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": lr, "wd": wd})
    assert mod._optimizer.rescale_grad == 1 / BATCH
    assert mod._optimizer.idx2name == {0: "fc1_weight", 1: "fc1_bias", 2: "fc2_weight",
                                       3: "fc2_bias"}
    mod.forward_backward(next(iter(_iter())))
    grads = {k: v.asnumpy().copy() for k, v in mod._exec.grad_dict.items() if v is not None}
    assert sorted(grads) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    mod.update()
    got = mod.get_params()[0]
    mult = {"fc1_weight": (1.0, 1.0), "fc1_bias": (1.0, 0.0), "fc2_weight": (0.5, 0.0),
            "fc2_bias": (1.0, 0.0)}
    for name, (lm, wm) in mult.items():
        w = arg[name].asnumpy()
        want = (1 - lr * lm * wd * wm) * w - lr * lm * grads[name] / BATCH
        np.testing.assert_allclose(got[name].asnumpy(), want, rtol=1e-6, atol=1e-7,
                                   err_msg=name)


def test_fixed_params_are_never_updated():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym, fixed_param_names=["fc1_weight"])
    mod.fit(_iter(), num_epoch=1, arg_params=arg, aux_params=aux,
            optimizer_params={"learning_rate": 0.5, "momentum": 0.9})
    got = mod.get_params()[0]
    np.testing.assert_array_equal(got["fc1_weight"].asnumpy(), arg["fc1_weight"].asnumpy())
    assert np.abs(got["fc1_bias"].asnumpy() - arg["fc1_bias"].asnumpy()).max() > 0
    assert mod._exec.grad_dict["fc1_weight"] is None
    # The other parameters keep their indices (1, 2, 3), as in MXNet's _update_params.
    assert sorted(mod._updater.states) == [1, 2, 3]


def test_optimizer_object_and_rescale_warning():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (BATCH, 20))], [("softmax_label", (BATCH,))])
    mod.set_params(arg, aux)
    sgd = mx.optimizer.SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="rescale_grad is not normalized"):
        mod.init_optimizer(optimizer=sgd)
    assert mod._optimizer is sgd and sgd.idx2name[2] == "fc2_weight"
    # A distributed store outside mpiexec is one worker: the updates run on it.
    with pytest.warns(UserWarning, match="rescale_grad is not normalized"):
        mod.init_optimizer(kvstore="dist_sync", optimizer=sgd, force_init=True)
    assert mod._kvstore.type == "dist_sync" and mod._update_on_kvstore


def test_predict_drops_padding_and_output_forms():
    mod = _inference_module()
    it = _iter(n=250)  # 8 batches, the last padded with 6 examples
    pred = mod.predict(it)
    assert pred.shape == (250, 10)
    np.testing.assert_allclose(pred.asnumpy(), IO["pred"][:250], rtol=1e-5, atol=1e-6)
    listed = mod.predict(it, always_output_list=True)
    assert isinstance(listed, list) and len(listed) == 1 and listed[0].shape == (250, 10)
    per_batch = mod.predict(it, merge_batches=False)
    assert [len(b) for b in per_batch] == [1] * 8
    assert [b[0].shape[0] for b in per_batch] == [32] * 7 + [26]
    assert [o.shape for o in mod.predict(it, num_batch=2, always_output_list=True)] == [
        (64, 10)]
    seen = [(i, outs[0].shape[0], b.pad) for outs, i, b in mod.iter_predict(it)]
    assert seen == [(i, 32, 0) for i in range(7)] + [(7, 26, 6)]


def test_score_callbacks_and_validation_logging(caplog):
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    batches, ends = [], []
    with caplog.at_level(logging.INFO):
        mod.fit(_iter(), eval_data=_iter(), num_epoch=1, arg_params=arg, aux_params=aux,
                optimizer_params={"learning_rate": 0.0},
                batch_end_callback=lambda p: batches.append((p.epoch, p.nbatch)),
                eval_end_callback=lambda p: ends.append((p.epoch, p.nbatch)),
                validation_metric="acc")
    assert batches == [(0, i) for i in range(8)]
    assert ends == [(0, 8)]
    messages = [r.getMessage() for r in caplog.records]
    # lr 0 leaves the epoch-3 parameters: validation gives MXNet's score.
    assert "Epoch[0] Validation-accuracy=0.734375" in messages
    assert "Epoch[0] Train-accuracy=0.734375" in messages


def test_fit_checkpoints_every_epoch(tmp_path, caplog):
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    prefix = str(tmp_path / "ck")
    with caplog.at_level(logging.INFO):
        mod.fit(_iter(), num_epoch=2, arg_params=arg, aux_params=aux,
                epoch_end_callback=mx.callback.do_checkpoint(prefix))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ck-0001.params", "ck-0002.params", "ck-symbol.json"]
    assert f'Saved checkpoint to "{prefix}-0002.params"' in [r.getMessage()
                                                              for r in caplog.records]
    _, arg2, _ = mx.model.load_checkpoint(prefix, 2)
    _assert_params(arg2, {k: v.asnumpy() for k, v in mod.get_params()[0].items()}, 0, 0)


def test_save_checkpoint_after_bind_without_fit(tmp_path):
    sym = mx.sym.load(str(MOD / "mx_mlp-symbol.json"))
    mod = mx.mod.Module(sym)
    mod.bind([("data", (8, 20))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Xavier())
    prefix = str(tmp_path / "manual")
    mod.save_checkpoint(prefix, 7)
    mx.model.save_checkpoint(prefix + "2", 7, mod.symbol, *mod.get_params())
    for p in (prefix, prefix + "2"):
        sym2, arg2, aux2 = mx.model.load_checkpoint(p, 7)
        assert sym2.tojson() == sym.tojson()
        _assert_params(arg2, {k: v.asnumpy() for k, v in mod.get_params()[0].items()}, 0, 0)
    assert (tmp_path / "manual-0007.params").read_bytes() == (
        tmp_path / "manual2-0007.params").read_bytes()
    # fc2_weight's __init__ attribute (xavier) and the default bias rule (zeros) applied.
    assert not mod.get_params()[0]["fc2_bias"].asnumpy().any()
    assert mod.get_params()[0]["fc2_weight"].asnumpy().std() > 0


def test_save_checkpoint_with_optimizer_states_and_load(tmp_path):
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.fit(_iter(), num_epoch=1, arg_params=arg, aux_params=aux,
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    prefix = str(tmp_path / "s")
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True)
    mod2 = mx.mod.Module.load(prefix, 1, load_optimizer_states=True)
    mod2.bind(_iter().provide_data, _iter().provide_label)
    mod2.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    for i, s in mod._updater.states.items():
        np.testing.assert_array_equal(mod2._updater.states[i].asnumpy(), s.asnumpy())
    # Both continue identically.
    batch = next(iter(_iter()))
    for m in (mod, mod2):
        m.forward_backward(batch)
        m.update()
    _assert_params(mod2.get_params()[0],
                   {k: v.asnumpy() for k, v in mod.get_params()[0].items()}, 0, 0)


def test_inputs_need_grad_and_out_grads():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (4, 20))], [("softmax_label", (4,))], inputs_need_grad=True)
    mod.set_params(arg, aux)
    batch = mx.io.DataBatch([mx.nd.array(X[:4])], [mx.nd.array(Y[:4])])
    mod.forward(batch)
    mod.backward()
    (g,) = mod.get_input_grads()
    assert g.shape == (4, 20) and np.abs(g.asnumpy()).max() > 0
    # SoftmaxOutput's gradient is (p - onehot(y)) through the two layers; check via fc2.
    p = mod.get_outputs()[0].asnumpy()
    d = p - np.eye(10, dtype=np.float32)[Y[:4].astype(int)]
    w1, b1 = arg["fc1_weight"].asnumpy(), arg["fc1_bias"].asnumpy()
    w2 = arg["fc2_weight"].asnumpy()
    h = X[:4] @ w1.T + b1
    want = ((d @ w2) * (h > 0)) @ w1
    np.testing.assert_allclose(g.asnumpy(), want, rtol=1e-4, atol=1e-6)
    with pytest.raises(mx.MXNetError, match="inputs_need_grad"):
        _inference_module().get_input_grads()


def test_forward_with_new_batch_size_reshapes():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (32, 20))], [("softmax_label", (32,))], for_training=False)
    mod.set_params(arg, aux)
    mod.forward(mx.io.DataBatch([mx.nd.array(X[:5])], [mx.nd.array(Y[:5])]))
    out = mod.get_outputs()[0]
    assert out.shape == (5, 10)
    assert [d.shape for d in mod.data_shapes] == [(5, 20)]
    assert mod.output_shapes == [("softmax_output", (5, 10))]
    np.testing.assert_allclose(out.asnumpy(), IO["pred"][:5], rtol=1e-5, atol=1e-6)
    for n in (32, 40):
        mod.forward(mx.io.DataBatch([mx.nd.array(X[:n])], [mx.nd.array(Y[:n])]))
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), IO["pred"][:n],
                                   rtol=1e-5, atol=1e-6)
    # Bound without labels, the label's shape would change unasked: MXNet refuses too.
    with pytest.raises(mx.MXNetError, match="softmax_label"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _inference_module(32).forward(mx.io.DataBatch([mx.nd.array(X[:5])]))


def test_not_ready_errors():
    sym = mx.sym.load(str(MOD / "mx_mlp-symbol.json"))
    mod = mx.mod.Module(sym)
    with pytest.raises(mx.MXNetError, match="bind"):
        mod.predict(_iter())
    mod.bind([("data", (4, 20))], [("softmax_label", (4,))])
    with pytest.raises(mx.MXNetError, match="init_optimizer"):
        mod.init_optimizer()
    with pytest.raises(mx.MXNetError, match="num_epoch"):
        mod.fit(_iter())
    with pytest.raises(ValueError, match="work_load_list has 1 entries for 2 contexts"):
        mx.mod.Module(sym, context=[mx.cpu(0), mx.cpu(1)], work_load_list=[1])


def test_set_params_allow_missing_goes_to_executor():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    mod.bind([("data", (4, 20))], [("softmax_label", (4,))])
    mod.set_params({"fc2_bias": arg["fc2_bias"]}, {}, allow_missing=True)
    assert mod.params_initialized
    np.testing.assert_array_equal(mod._exec.arg_dict["fc2_bias"].asnumpy(),
                                  arg["fc2_bias"].asnumpy())
    np.testing.assert_array_equal(mod.get_params()[0]["fc2_bias"].asnumpy(),
                                  arg["fc2_bias"].asnumpy())
    with pytest.warns(UserWarning, match="set_params call ignored"):
        mod.set_params(arg, aux, allow_missing=True, force_init=False)


def test_rebind_for_inference_keeps_trained_weights():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mod = mx.mod.Module(sym)
    it = _iter()
    mod.bind(it.provide_data, it.provide_label)
    mod.set_params(arg, aux)
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    weights = mod._exec.arg_dict["fc1_weight"]
    for batch in it:
        mod.forward_backward(batch)
        mod.update()
    # No rebinding and no parameter copies per batch: the optimizer wrote the bound arrays.
    assert mod._exec.arg_dict["fc1_weight"] is weights
    trained = weights.asnumpy().copy()
    mod.bind(it.provide_data, it.provide_label, for_training=False, force_rebind=True)
    np.testing.assert_array_equal(mod._exec.arg_dict["fc1_weight"].asnumpy(), trained)
    assert mod._exec.grad_dict["fc1_weight"] is None
    np.testing.assert_array_equal(mod.get_params()[0]["fc1_weight"].asnumpy(), trained)


def test_score_with_several_metrics_and_no_progress_bar_off_terminal(monkeypatch):
    from mxlite.module import base_module

    mod = _inference_module()
    res = dict(mod.score(_iter(), ["acc", "ce"]))
    assert res["accuracy"] == EXPECT["mlp"]["score_acc"]
    p = IO["pred"][np.arange(256), Y.astype(int)]
    np.testing.assert_allclose(res["cross-entropy"], -np.log(p + 1e-12).mean(), rtol=1e-5)
    monkeypatch.setattr(base_module.sys.stderr, "isatty", lambda: False, raising=False)
    assert base_module._progress_bar(_iter(), 0) is None
    assert base_module._num_batches(_iter(n=250)) == 8


def test_fit_shows_a_progress_bar_on_a_terminal(monkeypatch):
    """tqdm is optional: used only when importable and stderr is a terminal."""
    import sys
    import types

    from mxlite.module import base_module

    bars = []

    class FakeBar:
        def __init__(self, total=None, desc="", unit="", leave=True):
            self.total, self.desc, self.n, self.closed = total, desc, 0, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr(base_module.sys, "stderr", Tty())
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    mx.mod.Module(sym).fit(_iter(n=250), num_epoch=2, arg_params=arg, aux_params=aux)
    assert [(b.desc, b.total, b.n, b.closed) for b in bars] == [
        ("Epoch[0]", 8, 8, True), ("Epoch[1]", 8, 8, True)]


def test_shared_module_shares_parameters_and_optimizer():
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    big = mx.mod.Module(sym)
    big.bind([("data", (32, 20))], [("softmax_label", (32,))])
    big.set_params(arg, aux)
    big.init_optimizer(optimizer_params={"learning_rate": 0.1})
    small = mx.mod.Module(sym)
    small.bind([("data", (8, 20))], [("softmax_label", (8,))], shared_module=big)
    assert small.params_initialized and small.optimizer_initialized
    assert small._updater is big._updater
    assert small._exec.arg_dict["fc1_weight"] is big._exec.arg_dict["fc1_weight"]
    small.forward_backward(mx.io.DataBatch([mx.nd.array(X[:8])], [mx.nd.array(Y[:8])]))
    small.update()
    big.forward(mx.io.DataBatch([mx.nd.array(X[:32])]), is_train=False)
    changed = big._exec.arg_dict["fc1_weight"].asnumpy() - arg["fc1_weight"].asnumpy()
    assert np.abs(changed).max() > 0


def test_missing_states_file_is_reported(tmp_path):
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, 3)
    prefix = str(tmp_path / "nostates")
    mx.model.save_checkpoint(prefix, 3, sym, arg, aux)
    mod = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    mod.bind([("data", (4, 20))], [("softmax_label", (4,))])
    with pytest.raises(mx.MXNetError, match="nostates-0003.states"):
        mod.init_optimizer()
