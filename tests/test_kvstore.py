"""``mx.kv`` in one process: MXNet 1.9.1's recorded behaviour (tests/fixtures/kvstore_cases.py,
recorded by gen_kvstore.py) for push / pull / pushpull with lists, aggregation, updaters,
2bit compression and refusals; then the API around it (register, create, states, the dist
stores as one worker, the DMLC environment)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import kvstore as kvs
from mxlite.compat import load_pickle

sys.path.insert(0, str(DATA.parent / "fixtures"))
import kvstore_cases  # noqa: E402

EXPECTED = np.load(DATA / "kvstore" / "cases.npz")
_DMLC = ("DMLC_ROLE", "DMLC_NUM_WORKER", "DMLC_NUM_SERVER", "DMLC_WORKER_ID")


@pytest.fixture(autouse=True)
def _restore_dmlc_env(monkeypatch):
    """The dist stores set DMLC_* variables: restore the environment after each test."""
    for var in _DMLC:
        monkeypatch.setenv(var, "")  # records the original value (or its absence)
        monkeypatch.delenv(var)


@pytest.mark.parametrize("case", kvstore_cases.CASES, ids=lambda c: c.__name__)
def test_case_matches_mxnet(case):
    got = case(mx)
    names = sorted(k.split("/", 1)[1] for k in EXPECTED.files
                   if k.startswith(case.__name__ + "/"))
    assert sorted(got) == names
    for k, v in got.items():
        v = v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v)
        want = EXPECTED[f"{case.__name__}/{k}"]
        assert v.shape == want.shape, k
        np.testing.assert_allclose(v, want, rtol=1e-6, atol=1e-7, err_msg=k)


def test_mx_kv_and_mx_kvstore_are_the_package():
    assert mx.kv is mx.kvstore
    assert mx.kv.create is mx.kvstore.create
    kv = mx.kv.create()
    assert isinstance(kv, mx.kv.KVStore) and isinstance(kv, mx.kvstore.KVStoreBase)
    assert (kv.type, kv.rank, kv.num_workers) == ("local", 0, 1)


def test_register_custom_store():
    @mx.kvstore.KVStoreBase.register
    class MyKVStore(mx.kvstore.KVStoreBase):
        @property
        def type(self):
            return "mine"

    try:
        assert type(mx.kv.create("MyKVStore")) is MyKVStore
        with pytest.warns(UserWarning, match="is overriding existing kvstore"):
            mx.kvstore.KVStoreBase.register(MyKVStore)
        with pytest.raises(ValueError, match="expected a class"):
            mx.kvstore.KVStoreBase.register(3)
    finally:
        del mx.kvstore.KVStoreBase.kv_registry["mykvstore"]


def test_error_messages_name_the_key():
    kv = mx.kv.create("local")
    kv.init("a", mx.nd.ones((2,)))
    with pytest.raises(mx.MXNetError, match="duplicate init of key 'a'"):
        kv.init("a", mx.nd.ones((2,)))
    with pytest.raises(mx.MXNetError, match="key 'zz' doesn't exist. Did you init"):
        kv.pull("zz", out=mx.nd.ones((2,)))
    with pytest.raises(mx.MXNetError, match="mixed key types"):
        kv.init(3, mx.nd.ones((2,)))
    with pytest.raises(mx.MXNetError, match="holds shape \\(2,\\), a pushed value has shape"):
        kv.push("a", mx.nd.ones((3,)))
    with pytest.raises(mx.MXNetError, match="2 keys but 1 values"):
        kv.push(["a", "b"], [mx.nd.ones((2,))])
    with pytest.raises(mx.MXNetError, match="must be an NDArray or a non-empty list"):
        kv.push("a", np.ones(2))
    with pytest.raises(mx.MXNetError, match="not supported for this type of kvstore"):
        kv.set_gradient_compression({"type": "2bit"})
    dev = mx.kv.create("device")
    with pytest.raises(mx.MXNetError, match="threshold must be greater than 0"):
        dev.set_gradient_compression({"type": "2bit", "threshold": -1})
    with pytest.raises(mx.MXNetError, match="no optimizer is set"):
        dev.save_optimizer_states("x.states")


def test_optimizer_states_round_trip(tmp_path):
    kv = mx.kv.create("device")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv.init(["w", "b"], [mx.nd.ones((2, 2)), mx.nd.zeros((2,))])
    kv.push(["w", "b"], [mx.nd.ones((2, 2)), mx.nd.ones((2,))])
    fname = str(tmp_path / "kv.states")
    kv.save_optimizer_states(fname, dump_optimizer=True)
    states, optimizer = load_pickle(open(fname, "rb").read())
    assert sorted(states) == ["b", "w"] and optimizer.momentum == 0.9
    np.testing.assert_allclose(states["b"].asnumpy(), [-0.1, -0.1], rtol=1e-6)
    kv2 = mx.kv.create("device")
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv2.load_optimizer_states(fname)
    kv2.init(["w", "b"], [mx.nd.ones((2, 2)), mx.nd.zeros((2,))])
    for store in (kv, kv2):
        store.push("b", mx.nd.zeros((2,)))
    a, b = mx.nd.zeros((2,)), mx.nd.zeros((2,))
    kv.pull("b", out=a)
    kv2.pull("b", out=b)
    # kv2 started from b=0 with kv's momentum: one momentum step from 0.
    np.testing.assert_allclose(b.asnumpy(), [-0.09, -0.09], rtol=1e-6)
    np.testing.assert_allclose(a.asnumpy(), [-0.19, -0.19], rtol=1e-6)


def test_pushpull_does_not_modify_pushed_gradients_with_an_updater():
    kv = mx.kv.create("local")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=1.0))
    kv.init(0, mx.nd.ones((3,)))
    g = mx.nd.array([1.0, 2.0, 3.0])
    w = mx.nd.zeros((3,))
    kv.pushpull(0, g, out=w)
    np.testing.assert_array_equal(g.asnumpy(), [1, 2, 3])
    np.testing.assert_array_equal(w.asnumpy(), [0, -1, -2])


@pytest.mark.parametrize("name", ["dist_sync", "dist_device_sync", "dist_async", "horovod"])
def test_dist_stores_as_one_worker(name):
    kv = mx.kv.create(name)
    assert isinstance(kv, kvs.dist.DistKVStore)
    assert (kv.type, kv.rank, kv.num_workers) == (name, 0, 1)
    assert os.environ["DMLC_NUM_WORKER"] == "1"
    assert kv.is_capable("optimizer") is (name != "horovod")
    kv.init(0, mx.nd.ones((2,)))
    out = mx.nd.zeros((2,))
    kv.pushpull(0, [mx.nd.ones((2,)), mx.nd.ones((2,)) * 2], out=out)
    np.testing.assert_array_equal(out.asnumpy(), [3, 3])
    kv.barrier()
    kv._barrier()
    if name == "horovod":
        with pytest.raises(mx.MXNetError, match="cannot run an optimizer"):
            kv.set_optimizer(mx.optimizer.SGD())
        kv.broadcast("new", mx.nd.ones((2,)) * 5, out=out)  # keys need no init
        np.testing.assert_array_equal(out.asnumpy(), [5, 5])


def test_dist_store_compression_is_per_worker_for_cpu_types():
    kv = mx.kv.create("dist_sync")
    kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv.init(0, mx.nd.zeros((3,)))
    out = mx.nd.zeros((3,))
    # The worker's sum 0.3 + 0.3 is compressed once (a 'device' store would see 0.3 twice).
    kv.pushpull(0, [mx.nd.array([0.3, 0.3, -0.6]), mx.nd.array([0.3, 0.1, 0.0])], out=out)
    np.testing.assert_array_equal(out.asnumpy(), [0.5, 0, -0.5])


def test_missing_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(mx.MXNetError, match=r"pip install 'mxlite\[dist\]'"):
        mx.kv.create("dist_sync")


def test_dmlc_env_from_the_mpi_process_manager(monkeypatch):
    for var in ("PMI_RANK", "PMI_SIZE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "2")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    kvs._set_dmlc_env()
    assert [os.environ[v] for v in ("DMLC_ROLE", "DMLC_NUM_WORKER", "DMLC_NUM_SERVER",
                                     "DMLC_WORKER_ID")] == ["worker", "4", "0", "2"]
    # A launcher's declared size must match the MPI job.
    with pytest.raises(mx.MXNetError, match="DMLC_NUM_WORKER=4 but the MPI job has 1"):
        mx.kv.create("dist_sync")


def test_timeout_setting_is_checked(monkeypatch):
    monkeypatch.setenv("MXLITE_KVSTORE_TIMEOUT", "soon")
    with pytest.raises(mx.MXNetError, match="MXLITE_KVSTORE_TIMEOUT must be a number"):
        mx.kv.create("dist_sync")


def test_create_kvstore_choices(monkeypatch):
    from mxlite.kvstore.updates import _create_kvstore

    params = {"w": mx.nd.zeros((2, 2))}
    assert _create_kvstore("local", 1, params) == (None, False)
    assert _create_kvstore(None, 2, params) == (None, False)
    kv, uok = _create_kvstore("device", 2, params)
    assert kv.type == "device" and uok is True
    kv, uok = _create_kvstore("dist_sync", 1, params)
    assert kv.type == "dist_sync" and uok is True
    kv, uok = _create_kvstore("horovod", 1, params)
    assert kv.type == "horovod" and uok is False
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    assert _create_kvstore(kv, 1, params) == (kv, False)
    with pytest.raises(mx.MXNetError, match="kvstore must be KVStore, str or None"):
        _create_kvstore(3, 1, params)
