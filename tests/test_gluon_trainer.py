"""gluon.Trainer on bare Parameters: indexing, rescaling, multipliers, stale gradients,
kvstore choices, several contexts and states files.

MXNet's answers come from tests/fixtures/gen_gluon_train.py (``runs.json`` / ``arrays.npz`` /
``stale_adam*.states``). Networks here are written with ``mx.nd`` operators on
``gluon.Parameter`` objects, so these tests need no Block.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.base import MXNetError
from mxlite.compat import load_pickle

TRAIN = DATA / "gluon" / "train"
DOC = json.loads((TRAIN / "runs.json").read_text())
ARR = np.load(TRAIN / "arrays.npz", allow_pickle=False)


def _param(name: str, value, ctx=None, grad_req: str = "write") -> gluon.Parameter:
    value = np.asarray(value, dtype=np.float32)
    p = gluon.Parameter(name, shape=value.shape, grad_req=grad_req)
    p.initialize(ctx=ctx)
    p.set_data(mx.nd.array(value))
    return p


def _linear_loss(w: gluon.Parameter, x, ctx=None):
    """sum((w * x)^2) for one context, recorded."""
    with autograd.record():
        loss = ((w.data(ctx) * x) ** 2).sum()
    loss.backward()
    return loss


# -- construction ------------------------------------------------------------------------------


def test_dict_params_are_indexed_in_sorted_order_and_lists_as_given():
    a, b, c = (_param(n, [1.0]) for n in ("zeta", "alpha", "mid"))
    t = gluon.Trainer({"zeta": a, "alpha": b, "mid": c}, "sgd")
    assert t._param2idx == {"alpha": 0, "mid": 1, "zeta": 2}
    assert t.optimizer.param_dict == {0: b, 1: c, 2: a}
    t2 = gluon.Trainer([a, b, c], "sgd")
    assert t2._param2idx == {"zeta": 0, "alpha": 1, "mid": 2}
    pd = gluon.ParameterDict()
    pd.update({"zeta": a, "alpha": b})
    t3 = gluon.Trainer(pd, "sgd")
    assert t3._param2idx == {"alpha": 0, "zeta": 1}
    assert a._trainer is t3 and c._trainer is t2  # the newest Trainer of each


def test_bad_params_and_optimizer_arguments_are_refused():
    p = _param("w", [1.0])
    with pytest.raises(ValueError, match="list or dict of Parameters") as e:
        gluon.Trainer(p, "sgd")
    assert isinstance(e.value, MXNetError)
    with pytest.raises(ValueError, match="got list of <class 'int'>"):
        gluon.Trainer([p, 3], "sgd")
    with pytest.raises(ValueError, match="optimizer_params must be None"):
        gluon.Trainer([p], mx.optimizer.SGD(), {"learning_rate": 0.1})
    with pytest.raises(MXNetError, match="Cannot find optimizer nosuch"):
        gluon.Trainer([p], "nosuch")
    q = _param("q", [1.0], ctx=[mx.cpu(0), mx.cpu(1)])
    with pytest.raises(MXNetError, match="same set of contexts"):
        gluon.Trainer([p, q], "sgd")


def test_optimizer_instance_is_used_and_given_the_parameters():
    p = _param("w", [1.0, 2.0])
    sgd = mx.optimizer.SGD(learning_rate=0.5, rescale_grad=2.0)
    t = gluon.Trainer([p], sgd)
    assert t.optimizer is sgd and sgd.param_dict == {0: p}
    _linear_loss(p, mx.nd.array([1.0, 1.0]))
    t.step(4)  # rescale = 2.0 / 4
    assert sgd.rescale_grad == 0.5
    # w - lr * rescale * 2w = w * (1 - 0.5 * 0.5 * 2)
    np.testing.assert_allclose(p.data().asnumpy(), [0.5, 1.0], rtol=1e-7)


def test_learning_rate_property_and_setter():
    p = _param("w", [1.0])
    t = gluon.Trainer([p], "adam", {"learning_rate": 0.02})
    assert t.learning_rate == 0.02
    t.set_learning_rate(0.5)
    assert t.learning_rate == 0.5 and t.optimizer.lr == 0.5
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=0.1)
    t2 = gluon.Trainer([p], "sgd", {"lr_scheduler": sched})
    assert t2.learning_rate == 0.1
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been"):
        t2.set_learning_rate(0.3)


# -- updates -----------------------------------------------------------------------------------


def test_step_rescales_by_batch_size_and_applies_live_multipliers():
    w = _param("w", [1.0, -2.0])
    b = _param("b", [0.5, 0.25])
    t = gluon.Trainer([w, b], "sgd", {"learning_rate": 0.1, "wd": 0.01})
    x = mx.nd.array([1.0, 3.0])

    def run(batch: float) -> tuple[np.ndarray, np.ndarray]:
        w0, b0 = w.data().asnumpy(), b.data().asnumpy()
        with autograd.record():
            loss = ((w.data() * x + b.data()) ** 2).sum()
        loss.backward()
        gw, gb = w.grad().asnumpy(), b.grad().asnumpy()
        t.step(batch)
        lr_w, lr_b = 0.1 * w.lr_mult, 0.1 * b.lr_mult
        wd_w, wd_b = 0.01 * w.wd_mult, 0.01 * b.wd_mult
        exp_w = w0 - lr_w * (gw / batch + wd_w * w0)
        exp_b = b0 - lr_b * (gb / batch + wd_b * b0)
        return exp_w, exp_b

    ew, eb = run(4)
    assert t.optimizer.rescale_grad == 0.25
    np.testing.assert_allclose(w.data().asnumpy(), ew, rtol=1e-6)
    np.testing.assert_allclose(b.data().asnumpy(), eb, rtol=1e-6)
    w.lr_mult, b.wd_mult = 0.5, 0.0  # read at the next update, as MXNet's param_dict is
    ew, eb = run(2)
    assert t.optimizer.rescale_grad == 0.5
    np.testing.assert_allclose(w.data().asnumpy(), ew, rtol=1e-6)
    np.testing.assert_allclose(b.data().asnumpy(), eb, rtol=1e-6)


def test_allreduce_then_update_equals_step():
    x = mx.nd.array([1.0, 2.0, -1.0])
    results = []
    for split in (False, True):
        w = _param("w", [0.3, -0.2, 0.1])
        t = gluon.Trainer([w], "adam", {"learning_rate": 0.1})
        for _ in range(3):
            _linear_loss(w, x)
            if split:
                t.allreduce_grads()
                t.update(3)
            else:
                t.step(3)
        results.append(w.data().asnumpy())
    np.testing.assert_array_equal(results[0], results[1])


def test_grad_req_add_accumulates_until_zero_grad_and_null_is_skipped():
    x = mx.nd.array([1.0, 2.0])
    w = _param("w", [1.0, 1.0], grad_req="add")
    frozen = _param("frozen", [5.0], grad_req="null")
    t = gluon.Trainer([w, frozen], "sgd", {"learning_rate": 0.1})
    _linear_loss(w, x)
    _linear_loss(w, x)  # grad = 2 * (2 w x^2)
    np.testing.assert_allclose(w.grad().asnumpy(), [4.0, 16.0])
    t.step(1)
    np.testing.assert_allclose(w.data().asnumpy(), [0.6, -0.6], rtol=1e-6)
    # The Trainer leaves the gradient alone: the next backward adds to it.
    np.testing.assert_allclose(w.grad().asnumpy(), [4.0, 16.0])
    _linear_loss(w, x)
    np.testing.assert_allclose(w.grad().asnumpy(), [4.0 + 1.2, 16.0 - 4.8], rtol=1e-6)
    t.step(1)  # 'frozen' has no gradient and is never stale
    np.testing.assert_array_equal(frozen.data().asnumpy(), [5.0])


def test_zero_grad_restarts_add_accumulation_between_steps():
    x = mx.nd.array([1.0, 2.0])
    w = _param("w", [1.0, 1.0], grad_req="add")
    t = gluon.Trainer([w], "sgd", {"learning_rate": 0.1})
    for expected in ([0.8, 0.2], [0.64, 0.04]):
        _linear_loss(w, x)
        t.step(1)
        w.zero_grad()
        np.testing.assert_array_equal(w.grad().asnumpy(), [0.0, 0.0])
        np.testing.assert_allclose(w.data().asnumpy(), expected, rtol=1e-6)


def _stale_run(retry: bool) -> tuple[dict, list, bytes]:
    names = DOC["trainer"]["stale_order"]
    params = {n: _param(n, ARR[f"stale_adam/init/{n}"]) for n in names}
    trainer = gluon.Trainer([params[n] for n in names], "adam", {"learning_rate": 0.01})
    x = mx.nd.array(ARR["stale_adam/x"])

    def dense(pre: str, units: int):
        return mx.nd.FullyConnected(x, params[f"{pre}weight"].data(),
                                    params[f"{pre}bias"].data(), num_hidden=units)

    after = []
    messages = []
    for use in ("ab", "a", "ab"):
        with autograd.record():
            loss = (dense("a_", 3) ** 2).sum()
            if "b" in use:
                loss = loss + (dense("b_", 2) ** 2).sum()
        loss.backward()
        if use == "a":
            if retry:
                with pytest.raises(UserWarning) as e:
                    trainer.step(4)
                messages.append(str(e.value))
            trainer.step(4, ignore_stale_grad=True)
        else:
            trainer.step(4)
        after.append({n: params[n].data().asnumpy() for n in names})
    return after, messages, trainer._updaters[0].get_states(dump_optimizer=True)


@pytest.mark.parametrize("run", ["stale_adam", "stale_adam_retry"])
def test_stale_gradients_match_mxnet(run):
    after, messages, states = _stale_run(retry=run.endswith("retry"))
    for step, values in enumerate(after, start=1):
        for name, v in values.items():
            np.testing.assert_allclose(v, ARR[f"{run}/step{step}/{name}"], rtol=0, atol=1e-6,
                                       err_msg=f"{run} step {step} {name}")
    if messages:
        assert messages == [DOC["trainer"]["stale_message"]]
    # Skipped parameters count no update; the retry's failed step had already cleared the
    # flags of the parameters before the stale one, exactly as in MXNet.
    ours, ours_opt = load_pickle(states)
    theirs, theirs_opt = load_pickle((TRAIN / f"{run}.states").read_bytes())
    counts = DOC["trainer"]["stale_index_update_count"][run]
    assert {str(k): v for k, v in ours_opt._index_update_count.items()} == counts
    assert ours_opt._index_update_count == theirs_opt._index_update_count
    assert sorted(ours) == sorted(theirs)
    for k in ours:
        for a, b in zip(ours[k], theirs[k]):
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-7)
    assert len(states) == len((TRAIN / f"{run}.states").read_bytes())


def test_stale_error_is_an_mxnet_error_naming_the_parameter():
    w = _param("lonely", [1.0])
    t = gluon.Trainer([w], "sgd")
    with pytest.raises(MXNetError, match="Parameter `lonely` on context cpu\\(0\\) has not"):
        t.step(1)
    t.step(1, ignore_stale_grad=True)  # skipped, not updated
    np.testing.assert_array_equal(w.data().asnumpy(), [1.0])
    assert t.optimizer.num_update == 0


# -- kvstore -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DOC["trainer"]["kvstore_cases"],
                         ids=lambda c: f"{c['kvstore']}-{c['update_on_kvstore']}")
def test_kvstore_choice_on_one_context_matches_mxnet(case):
    w = _param("w", [1.0, 2.0])
    t = gluon.Trainer([w], "sgd", kvstore=case["kvstore"],
                      update_on_kvstore=case["update_on_kvstore"])
    _linear_loss(w, mx.nd.array([1.0, 1.0]))
    if "error" in case:  # MXNet 1.9.1 crashes (AttributeError); mxlite says why
        with pytest.raises(ValueError, match="update_on_kvstore=True needs a kvstore"):
            t.step(1)
        return
    t.step(1)
    assert t._kvstore is case["result_kvstore"] is None
    assert t._update_on_kvstore is case["result_update_on_kvstore"]


def _two_context_training(update_on_kvstore, kvstore="device", steps=3):
    ctxs = [mx.cpu(0), mx.cpu(1)]
    w = _param("w", [0.5, -1.0, 2.0], ctx=ctxs)
    t = gluon.Trainer([w], "sgd", {"learning_rate": 0.1, "momentum": 0.9},
                      kvstore=kvstore, update_on_kvstore=update_on_kvstore)
    xs = [mx.nd.array([1.0, 2.0, 3.0], ctx=ctxs[0]), mx.nd.array([0.5, -1.0, 1.0], ctx=ctxs[1])]
    for _ in range(steps):
        for x, c in zip(xs, ctxs):
            _linear_loss(w, x, ctx=c)
        t.step(2)
    return w, t


def _one_context_equivalent(steps=3):
    """The same training on one context, with the two halves' gradients summed."""
    w = np.array([0.5, -1.0, 2.0], np.float32)
    xs = [np.array([1.0, 2.0, 3.0], np.float32), np.array([0.5, -1.0, 1.0], np.float32)]
    p = _param("w", w)
    t = gluon.Trainer([p], "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    for _ in range(steps):
        with autograd.record():
            loss = ((p.data() * mx.nd.array(xs[0])) ** 2).sum() + \
                ((p.data() * mx.nd.array(xs[1])) ** 2).sum()
        loss.backward()
        t.step(2)
    return p.data().asnumpy(), t


@pytest.mark.parametrize("uok", [None, False])
def test_two_contexts_sum_gradients_like_one_context(uok):
    w, t = _two_context_training(uok)
    expected, t1 = _one_context_equivalent()
    assert t._kvstore is not None and t._kvstore.type == "device"
    assert t._update_on_kvstore is (uok is None)
    for arr in w.list_data():
        np.testing.assert_allclose(arr.asnumpy(), expected, rtol=1e-6)
    if uok is None:
        # One update per step, counted on device 0: the file is the one-context file.
        states = t._kvstore._updater.get_states(dump_optimizer=True)
        assert states == t1._updaters[0].get_states(dump_optimizer=True)
        with pytest.raises(MXNetError, match="allreduce_grads\\(\\) when parameters"):
            t.allreduce_grads()
        with pytest.raises(MXNetError, match="update\\(\\) when parameters"):
            t.update(2)
    else:
        g0, g1 = (g.asnumpy() for g in w.list_grad())
        np.testing.assert_array_equal(g0, g1)  # reduced in place on both contexts


def test_two_contexts_states_round_trip_and_set_data_resyncs_the_store(tmp_path):
    w, t = _two_context_training(None)
    t.save_states(str(tmp_path / "kv.states"))
    w.set_data(mx.nd.array([1.0, 1.0, 1.0]))  # the store's copy is replaced at the next step
    assert not t._kv_initialized
    for c in (mx.cpu(0), mx.cpu(1)):
        _linear_loss(w, mx.nd.zeros(3, ctx=c), ctx=c)  # zero gradient: only momentum moves it
    t.step(2)
    assert t._kv_initialized
    # As in MXNet, the store is made again with a new updater: its momentum starts at zero,
    # so a zero gradient leaves the new value where it is.
    for arr in w.list_data():
        np.testing.assert_array_equal(arr.asnumpy(), [1.0, 1.0, 1.0])
    mom = load_pickle((tmp_path / "kv.states").read_bytes())[0][0].asnumpy()
    assert np.abs(mom).min() > 0
    t2 = gluon.Trainer([w], "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    t2.load_states(str(tmp_path / "kv.states"))
    assert t2.optimizer.num_update == 3 and t2._update_on_kvstore
    np.testing.assert_array_equal(t2._kvstore._updater.states[0].asnumpy(), mom)


def test_dist_kvstore_in_one_process_and_compression_on_two_contexts():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    w = _param("w", [1.0], ctx=ctxs)
    for c in ctxs:
        _linear_loss(w, mx.nd.ones(1, ctx=c), ctx=c)
    # A distributed store outside mpiexec is one worker (mpi4py is in the test extras).
    t = gluon.Trainer([w], "sgd", kvstore="dist_sync")
    t.step(1)
    assert t._kvstore.type == "dist_sync" and t._distributed
    assert t._kvstore.num_workers == 1 and t._update_on_kvstore
    # 'local' refuses compression as MXNet does; 'device' (the default) takes it.
    with pytest.raises(MXNetError, match="Gradient compression is not supported"):
        gluon.Trainer([w], "sgd", kvstore="local",
                      compression_params={"type": "2bit", "threshold": 0.5}).step(1)
    for c in ctxs:
        _linear_loss(w, mx.nd.ones(1, ctx=c), ctx=c)
    t = gluon.Trainer([w], "sgd", compression_params={"type": "2bit", "threshold": 0.5})
    t.step(1)
    assert t._kvstore._compression is not None
    with pytest.raises(ValueError, match="kvstore must be KVStore, str or None"):
        gluon.Trainer([w], "sgd", kvstore=3).step(1)
    # One context needs no store: compression is ignored, as in MXNet.
    p = _param("p", [1.0])
    _linear_loss(p, mx.nd.ones(1))
    gluon.Trainer([p], "sgd", compression_params={"type": "2bit", "threshold": 0.5}).step(1)


# -- states ------------------------------------------------------------------------------------


def test_save_load_states_continue_identically(tmp_path):
    x = mx.nd.array([1.0, -2.0, 0.5])
    w = _param("w", [0.3, 0.2, -0.4])
    t = gluon.Trainer([w], "adam", {"learning_rate": 0.05, "wd": 1e-3})
    for _ in range(2):
        _linear_loss(w, x)
        t.step(1)
    fname = str(tmp_path / "t.states")
    t.save_states(fname)
    saved = w.data().asnumpy()
    for _ in range(2):
        _linear_loss(w, x)
        t.step(1)
    expected = w.data().asnumpy()
    w.set_data(mx.nd.array(saved))
    t2 = gluon.Trainer([w], "sgd")  # the loaded optimizer replaces this one
    t2.load_states(fname)
    assert type(t2.optimizer).__name__ == "Adam" and t2.optimizer.param_dict == {0: w}
    assert t2.learning_rate == 0.05
    for _ in range(2):
        _linear_loss(w, x)
        t2.step(1)
    np.testing.assert_array_equal(w.data().asnumpy(), expected)
    with open(fname, "rb") as f:
        assert f.read(2) == b"\x80\x04"  # protocol 4, as MXNet writes


def test_load_states_missing_file_names_it(tmp_path):
    t = gluon.Trainer([_param("w", [1.0])], "sgd")
    with pytest.raises(MXNetError, match="nope.states"):
        t.load_states(str(tmp_path / "nope.states"))
