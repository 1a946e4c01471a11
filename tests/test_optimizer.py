"""mx.optimizer against MXNet 1.9.1: every optimizer's steps, multipliers, states pickles.

Reference values come from tests/fixtures/gen_optim.py (run with real MXNet): two parameters,
index 0 ``fc_weight`` (3, 4) and index 1 ``fc_bias`` (4,), updated together through
``get_updater`` for 5 steps.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
from conftest import DATA, historic

import mxlite.lr_scheduler as lr_scheduler
import mxlite.optimizer as opt
from mxlite import compat
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import NDArray

RTOL, ATOL = 1e-5, 1e-6
OPT_DIR = DATA / "optimizer"
with open(OPT_DIR / "cases.json") as _f:
    CASES = json.load(_f)
REF = dict(np.load(OPT_DIR / "steps.npz"))
NAMES = {0: "fc_weight", 1: "fc_bias"}


def _sched(spec: dict) -> lr_scheduler.LRScheduler:
    spec = dict(spec)
    kind = spec.pop("kind")
    return {"factor": lr_scheduler.FactorScheduler,
            "multifactor": lr_scheduler.MultiFactorScheduler,
            "poly": lr_scheduler.PolyScheduler,
            "cosine": lr_scheduler.CosineScheduler}[kind](**spec)


def _make(case: dict) -> opt.Optimizer:
    kw = case["kwargs"]
    ctor = {k: v for k, v in kw.items() if not k.startswith("_")}
    if "_sched" in kw:
        ctor["lr_scheduler"] = _sched(kw["_sched"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # learning_rate overriding the scheduler's base_lr
        o = opt.create(case["optimizer"], param_idx2name=dict(NAMES), **ctor)
    if "_lr_mult" in kw:
        o.set_lr_mult(kw["_lr_mult"])
    return o


def _flat_states(state) -> list[np.ndarray]:
    flat = list(state) if isinstance(state, (tuple, list)) else [state]
    return [s.asnumpy() for s in flat if s is not None]


def _run(case: dict, updater: opt.Updater | None = None, steps: range | None = None):
    updater = updater or opt.get_updater(_make(case))
    ws = [NDArray(REF["W0_0"].copy()), NDArray(REF["W0_1"].copy())]
    for t in steps if steps is not None else range(CASES["steps"]):
        grads = [NDArray(REF["G_0"][t].copy()), NDArray(REF["G_1"][t].copy())]
        updater([0, 1], grads, ws)
        for i in range(2):
            np.testing.assert_allclose(ws[i].asnumpy(), REF[f"{case['case']}/w{i}"][t + 1],
                                       rtol=RTOL, atol=ATOL,
                                       err_msg=f"{case['case']} param {i} step {t + 1}")
    return updater, ws


@pytest.mark.parametrize("case", CASES["optimizers"], ids=lambda c: c["case"])
def test_steps_match_mxnet(case):
    updater, _ = _run(case)
    for i in range(2):
        got = _flat_states(updater.states[i])
        assert len(got) == case["num_states"][i]
        for k, arr in enumerate(got):
            np.testing.assert_allclose(arr, REF[f"{case['case']}/s{i}_{k}"], rtol=RTOL,
                                       atol=ATOL, err_msg=f"{case['case']} state {i}.{k}")


def test_every_registered_family_is_covered():
    covered = {c["optimizer"] for c in CASES["optimizers"]}
    assert covered == {"sgd", "nag", "adam", "adagrad", "rmsprop", "adadelta", "adamax",
                       "nadam", "ftrl", "signum", "dcasgd", "lamb", "ftml", "test"}
    assert set(opt.Optimizer.opt_registry) >= covered | {"sgld", "ccsgd"}


def test_inputs_are_not_modified():
    # MXNet's AdaDelta rescales the caller's gradient in place; mxlite never touches grads.
    case = next(c for c in CASES["optimizers"] if c["case"] == "adadelta_0_wd_rescale_clip")
    o = _make(case)
    g = NDArray(REF["G_0"][0].copy())
    o.update(0, NDArray(REF["W0_0"].copy()), g, o.create_state(0, NDArray(REF["W0_0"])))
    np.testing.assert_array_equal(g.asnumpy(), REF["G_0"][0])


def test_update_is_in_place():
    o = opt.SGD(momentum=0.9, learning_rate=0.1)
    w = NDArray(np.ones((2, 3), np.float32))
    buf = w._data
    st = o.create_state(0, w)
    mom = st._data
    o.update(0, w, NDArray(np.ones((2, 3), np.float32)), st)
    assert w._data is buf and st._data is mom
    np.testing.assert_allclose(buf, 0.9, rtol=1e-7)
    np.testing.assert_allclose(mom, -0.1, rtol=1e-7)


@pytest.mark.parametrize("k", range(len(CASES["sparse"])),
                         ids=lambda k: "{optimizer}-{kwargs}".format(**CASES["sparse"][k]))
def test_row_sparse_gradients_match_mxnet(k):
    # lazy_update touches only the gradient's rows; otherwise (and for optimizers without a
    # sparse kernel) the gradient counts as dense with zero rows.
    from mxlite.ndarray.sparse import RowSparseNDArray
    case = CASES["sparse"][k]
    u = opt.get_updater(opt.create(case["optimizer"], **case["kwargs"]))
    w = NDArray(REF["sparse/w0"].copy())
    for _ in range(2):
        g = RowSparseNDArray(REF["sparse/values"].copy(), REF["sparse/rows"].copy(), (4, 3))
        u(0, g, w)
    np.testing.assert_allclose(w.asnumpy(), REF[f"sparse/{k}"], rtol=RTOL, atol=ATOL)


def test_sparse_weight_refused():
    from mxlite.base import NotSupportedError
    from mxlite.ndarray.sparse import RowSparseNDArray
    w = RowSparseNDArray(np.ones((1, 3), np.float32), np.array([0]), (2, 3))
    with pytest.raises(NotSupportedError, match="must be dense NDArrays, got a row_sparse"):
        opt.SGD().update(0, w, NDArray(np.ones((2, 3), np.float32)), None)


# -- multipliers, counts, learning rate ------------------------------------------------------

def test_wd_mult_defaults_follow_names():
    o = opt.SGD(param_idx2name={0: "a_weight", 1: "a_bias", 2: "bn_gamma", 3: "bn_beta"})
    assert o.wd_mult == {"a_bias": 0.0, "bn_beta": 0.0}
    o.wd = 0.5
    assert [o._get_wd(i) for i in range(4)] == [0.5, 0.0, 0.5, 0.0]
    o.set_wd_mult({"a_weight": 2.0})
    assert o.wd_mult == {"a_bias": 0.0, "bn_beta": 0.0, "a_weight": 2.0}
    assert o._get_wd(0) == 1.0


class _FakeSym:
    def attr_dict(self):
        return {"w": {"__lr_mult__": "0.5", "__wd_mult__": "3"}, "b": {"__wd_mult__": "2"},
                "unused": {"__lr_mult__": "9"}}

    def list_arguments(self):
        return ["w", "b"]


def test_multipliers_from_symbol_attributes():
    o = opt.SGD(sym=_FakeSym(), param_idx2name={0: "w", 1: "b"}, learning_rate=0.2, wd=0.1)
    assert o.lr_mult == {"w": 0.5}
    assert o.wd_mult == {"b": 2.0, "w": 3.0}
    assert o._get_lr(0) == pytest.approx(0.1)
    assert o._get_lr(1) == pytest.approx(0.2)
    assert o._get_wd(1) == pytest.approx(0.2)
    o.set_lr_mult({1: 4.0})  # index keys work too, and win over names
    assert o._get_lr(1) == pytest.approx(0.8)


def test_update_counts_and_begin_num_update():
    o = opt.SGD(begin_num_update=10)
    u = opt.get_updater(o)
    w = NDArray(np.zeros(2, np.float32))
    for _ in range(3):
        u(0, NDArray(np.ones(2, np.float32)), w)
    u(1, NDArray(np.ones(2, np.float32)), NDArray(np.zeros(2, np.float32)))
    assert o._index_update_count == {0: 13, 1: 11}
    assert o.num_update == 13


def test_learning_rate_and_scheduler():
    o = opt.SGD(learning_rate=0.3)
    assert o.learning_rate == 0.3
    o.set_learning_rate(0.2)
    assert o.learning_rate == 0.2
    s = lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    with pytest.warns(UserWarning):
        o = opt.SGD(learning_rate=0.4, lr_scheduler=s)
    assert s.base_lr == 0.4
    with pytest.raises(UserWarning):
        o.set_learning_rate(0.1)
    o.num_update = 3
    assert o.learning_rate == pytest.approx(0.1)
    # Ftrl keeps its own default learning rate and leaves a scheduler alone.
    s2 = lr_scheduler.FactorScheduler(step=5, base_lr=0.7)
    f = opt.Ftrl(lr_scheduler=s2)
    assert f.lr == 0.1 and s2.base_lr == 0.7


def test_create_and_register():
    assert isinstance(opt.create("SGD", momentum=0.5), opt.SGD)
    assert isinstance(opt.create("adam"), opt.Adam)
    assert opt.create("adam").lr == 0.001
    assert opt.create("sgd").lr == 0.01
    with pytest.raises(MXNetError, match="Cannot find optimizer nosuch"):
        opt.create("nosuch")

    class MyOpt(opt.Optimizer):
        pass

    try:
        assert opt.register(MyOpt) is MyOpt
        assert isinstance(opt.create("myopt"), MyOpt)
    finally:
        del opt.Optimizer.opt_registry["myopt"]


def test_create_state_shapes_and_dtypes():
    w16 = NDArray(np.ones((2, 2), np.float16))
    assert opt.SGD().create_state(0, w16) is None
    assert opt.SGD(momentum=0.9).create_state(0, w16).dtype == np.float16
    assert opt.AdaGrad().create_state(0, w16).dtype == np.float32
    assert len(opt.RMSProp(centered=True).create_state(0, w16)) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp = opt.SGD(momentum=0.9, multi_precision=True).create_state_multi_precision(0, w16)
        assert mp[0].dtype == np.float32 and mp[1].dtype == np.float32  # (mom, master)
        mp = opt.Adam(multi_precision=True).create_state_multi_precision(0, w16)
        assert mp[0].dtype == np.float32 and len(mp[1]) == 2  # (master, (mean, var))


def test_multi_precision_updates_master_copy():
    o = opt.SGD(momentum=0.9, learning_rate=0.1, multi_precision=True)
    u = opt.get_updater(o)
    w = NDArray(np.full(3, 1.0, np.float16))
    for _ in range(3):
        u(0, NDArray(np.full(3, 1e-3, np.float16)), w)
    mom, master = u.states[0]
    # float32 maths: mom = 0.9 mom - 1e-4, three steps
    expect_mom = np.float32(-1e-4) * np.float32(1 + 0.9 + 0.81)
    np.testing.assert_allclose(mom.asnumpy(), expect_mom, rtol=1e-3)
    np.testing.assert_allclose(master.asnumpy(), 1.0 - 1e-4 * (1 + 1.9 + 2.71), rtol=1e-6)
    assert w.dtype == np.float16
    np.testing.assert_array_equal(w.asnumpy(), master.asnumpy().astype(np.float16))


def test_sgld_noise_has_langevin_scale():
    import mxlite.random as mxrandom
    mxrandom.seed(7)
    lr = 0.04
    o = opt.SGLD(learning_rate=lr)
    w = NDArray(np.zeros(20000, np.float32))
    o.update(0, w, NDArray(np.ones(20000, np.float32)), None)
    noise = w.asnumpy() + lr / 2  # remove the deterministic step
    assert abs(noise.mean()) < 0.01
    assert noise.std() == pytest.approx(np.sqrt(lr), rel=0.03)


# -- states pickles ----------------------------------------------------------------------------

def test_get_set_states_round_trip():
    case = next(c for c in CASES["optimizers"] if c["case"] == "adam_1_sched_lrmult")
    u, _ = _run(case, steps=range(3))
    blob = u.get_states()
    assert set(compat.load_pickle(blob)) == {0, 1}
    # A fresh updater given the states continues exactly where the first left off.
    u2 = opt.get_updater(_make(case))
    u2.set_states(blob)
    u2.optimizer._index_update_count.update({0: 3, 1: 3})
    u2.optimizer.num_update = 3
    u2.optimizer.lr_scheduler(3)
    for i in range(2):
        for a, b in zip(_flat_states(u.states[i]), _flat_states(u2.states[i])):
            np.testing.assert_array_equal(a, b)
    ws = [NDArray(REF[f"{case['case']}/w0"][3].copy()),
          NDArray(REF[f"{case['case']}/w1"][3].copy())]
    for t in (3, 4):
        u2([0, 1], [NDArray(REF["G_0"][t]), NDArray(REF["G_1"][t])], ws)
    for i in range(2):
        np.testing.assert_allclose(ws[i].asnumpy(), REF[f"{case['case']}/w{i}"][5],
                                   rtol=RTOL, atol=ATOL)


def test_get_states_with_optimizer():
    case = next(c for c in CASES["optimizers"] if c["case"] == "sgd_1_sched_lrmult")
    u, _ = _run(case, steps=range(2))
    u2 = opt.get_updater(opt.SGD())
    u2.set_states(u.get_states(dump_optimizer=True))
    o = u2.optimizer
    assert isinstance(o, opt.SGD) and o is not u.optimizer
    assert o.momentum == 0.9 and o.num_update == 2 and o.lr_mult == {"fc_weight": 0.5}
    assert o.idx2name == NAMES and o.param_dict == {}
    assert isinstance(o.lr_scheduler, lr_scheduler.FactorScheduler)
    assert o.lr_scheduler.base_lr == u.optimizer.lr_scheduler.base_lr
    ws = [NDArray(REF[f"{case['case']}/w0"][2].copy()),
          NDArray(REF[f"{case['case']}/w1"][2].copy())]
    for t in (2, 3, 4):
        u2([0, 1], [NDArray(REF["G_0"][t]), NDArray(REF["G_1"][t])], ws)
    for i in range(2):
        np.testing.assert_allclose(ws[i].asnumpy(), REF[f"{case['case']}/w{i}"][5],
                                   rtol=RTOL, atol=ATOL)


def test_dump_optimizer_bytes_match_mxnet():
    # gen_optim.py: SGD(momentum=0.9, learning_rate=0.1, FactorScheduler(2, 0.5)), 3 steps of
    # a ones gradient on a ones weight, Updater.get_states(dump_optimizer=True) in MXNet.
    blob = (OPT_DIR / "sgd_dump_optimizer.states").read_bytes()
    sched = lr_scheduler.FactorScheduler(2, 0.5, base_lr=0.1)
    o = opt.SGD(momentum=0.9, learning_rate=0.1, lr_scheduler=sched,
                param_idx2name={0: "a_weight"})
    u = opt.get_updater(o)
    w = NDArray(np.ones(3, np.float32))
    for _ in range(3):
        u(0, NDArray(np.ones(3, np.float32)), w)
    assert u.get_states(dump_optimizer=True) == blob
    # and MXNet's bytes load back into the same optimizer state
    u2 = opt.get_updater(opt.SGD())
    u2.set_states(blob)
    assert type(u2.optimizer.lr_scheduler) is lr_scheduler.FactorScheduler
    assert vars(u2.optimizer.lr_scheduler) == vars(sched)
    assert u2.get_states(dump_optimizer=True) == blob


def test_optimizer_pickle_drops_param_dict_and_fills_old_fields():
    o = opt.SGD(momentum=0.5, param_dict={0: object()})
    state = o.__getstate__()
    assert "param_dict" not in state
    # An old MXNet pickle: 'sym' instead of 'sym_info', no per-device counts.
    old = {k: v for k, v in state.items()
           if k not in ("sym_info", "_all_index_update_counts", "aggregate_num",
                        "allow_np_array", "lazy_update")}
    old.update(sym=None, _index_update_count={0: 4}, num_update=4)
    o2 = opt.SGD.__new__(opt.SGD)
    o2.__setstate__(old)
    assert o2.momentum == 0.5 and o2.sym_info == () and o2.lazy_update is True
    assert o2._all_index_update_counts == {0: {0: 4}}
    assert not hasattr(o2, "sym")
    o2._update_count(0)
    assert o2.num_update == 5


def test_set_states_rejects_non_dict():
    u = opt.get_updater(opt.SGD())
    with pytest.raises(MXNetError, match="dict of index"):
        u.set_states(pickle.dumps([1, 2, 3]))


def _compat_ready() -> bool:
    try:
        from mxlite import compat
    except ImportError:
        return False
    return hasattr(compat, "load_pickle")


@pytest.mark.skipif(not _compat_ready(), reason="mxlite.compat.load_pickle not available yet")
def test_load_mxnet_module_states():
    # Module.save_checkpoint(..., save_optimizer_states=True) after 3 epochs of SGD momentum
    # 0.9 on the golden MLP: {index: momentum NDArray}.
    blob = (OPT_DIR / "mx_mlp-0003.states").read_bytes()
    u = opt.get_updater(opt.SGD(momentum=0.9))
    u.set_states(blob)
    assert sorted(u.states) == list(range(len(u.states))) and len(u.states) > 0
    for st in u.states.values():
        assert isinstance(st, NDArray) and st.dtype == np.float32
        assert np.isfinite(st.asnumpy()).all() and np.abs(st.asnumpy()).max() > 0
    assert all(v is False for v in u.states_synced.values())
    # Written back, the file is byte for byte MXNet's (protocol 4, MXNet's class paths).
    assert u.get_states() == blob
    # The states drive the next update in place.
    w = NDArray(np.zeros(u.states[0].shape, np.float32))
    before = u.states[0].asnumpy().copy()
    u(0, NDArray(np.zeros(w.shape, np.float32)), w)
    np.testing.assert_allclose(w.asnumpy(), 0.9 * before, rtol=1e-6)


@pytest.mark.skipif(not _compat_ready(), reason="mxlite.compat.load_pickle not available yet")
def test_load_historic_trainer_states_with_optimizer():
    blob = historic("test.states").read_bytes()
    u = opt.get_updater(opt.SGD())
    u.set_states(blob)
    # Gluon Trainer.save_states from an old MXNet: (states, SGD pickled as mxnet.optimizer.SGD
    # with Gluon Parameters in param_dict and no sym_info / per-device counts).
    o = u.optimizer
    assert type(o) is opt.SGD
    assert (o.lr, o.momentum, o.wd, o.num_update) == (1.0, 0.5, 0.0, 2)
    assert o.param_dict == {} and o.sym_info == () and o._all_index_update_counts == {0: {0: 2}}
    assert list(u.states) == [0]
    np.testing.assert_array_equal(u.states[0].asnumpy(), np.full(10, -2, np.float32))
    # Module-style files: names or indices as keys.
    u.set_states(historic("test-0000.states").read_bytes())
    assert {k: v.shape for k, v in u.states.items()} == {"fullyconnected3_bias": (100,),
                                                        "fullyconnected3_weight": (100, 10)}
    u.set_states(historic("test-0100.states").read_bytes())
    assert u.states == dict.fromkeys(range(6))
