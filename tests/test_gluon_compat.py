"""Gluon, symbol and operator behaviours MXNet 1.9.1's own unit tests rely on, against values
MXNet computed (tests/fixtures/gluon_compat_cases.py, recorded by gen_gluon_compat.py), plus
the mxlite-only parts (what ``mx.np`` says, ``Context.default_ctx``)."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MissingFeatureError

sys.path.insert(0, str(DATA.parent / "fixtures"))
import gluon_compat_cases  # noqa: E402

EXPECTED = np.load(DATA / "gluon" / "compat" / "cases.npz")


@pytest.mark.parametrize("case", gluon_compat_cases.CASES, ids=lambda c: c.__name__)
def test_case_matches_mxnet(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = case(mx)
    names = sorted(k.split("/", 1)[1] for k in EXPECTED.files
                   if k.startswith(case.__name__ + "/"))
    assert sorted(got) == names
    for k, v in got.items():
        v = gluon_compat_cases.as_array(v)
        v = v.reshape(1) if v.ndim == 0 else v  # the fixture writer stores 0-d as (1,)
        want = EXPECTED[f"{case.__name__}/{k}"]
        assert v.shape == want.shape, k
        if want.dtype.kind == "U":
            assert v.tolist() == want.tolist(), k
        else:
            np.testing.assert_allclose(v, want, rtol=1e-5, atol=1e-6, err_msg=k)


def test_mx_numpy_imports_and_names_what_is_missing():
    import mxlite.numpy as mx_np

    assert mx.numpy is mx_np
    with pytest.raises(MissingFeatureError, match=r"mx\.np\.random: .*not in mxlite"):
        mx_np.random.uniform(size=(2,))
    assert not hasattr(mx_np, "concatenate")  # an AttributeError too
    with pytest.raises(MissingFeatureError, match="mx.np"):
        mx.np  # noqa: B018


def test_contrib_amp_imports_and_names_what_is_missing():
    # MXNet's test helpers import amp without using it (tests/python/train/test_bucketing.py)
    from mxlite.contrib.amp import amp

    with pytest.raises(MissingFeatureError, match=r"mx\.contrib\.amp\.init: .*not in mxlite"):
        amp.init(target_dtype="bfloat16")
    assert not hasattr(mx.contrib.amp, "convert_model")  # an AttributeError too


def test_context_default_ctx_is_the_current_one_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="default_ctx has been deprecated"):
        assert mx.Context.default_ctx == mx.cpu(0)
    with mx.cpu(3), pytest.warns(DeprecationWarning):
        assert mx.Context.default_ctx == mx.cpu(3)
    assert mx.Context.current_context() == mx.cpu(0)


def test_bound_creation_shapes_leave_the_symbol_alone():
    # The bind resolves zeros(shape=(0, n)) on a copy: the user's graph keeps its 0, so a
    # second bind with another batch size infers again.
    z = mx.sym.zeros(shape=(0, 3))
    out = mx.sym.var("d") + z
    a = out.eval(d=mx.nd.ones((2, 3)))[0]
    b = out.eval(d=mx.nd.ones((4, 3)))[0]
    assert a.shape == (2, 3) and b.shape == (4, 3)
    assert '"(0, 3)"' in out.tojson()
    np.testing.assert_array_equal(b.asnumpy(), np.ones((4, 3), np.float32))


def test_marked_arrays_and_blocks_are_freed_without_the_cyclic_collector():
    # A training loop that re-creates big inputs (attach_grad) and blocks must not keep the
    # old ones until the cyclic garbage collector happens to run.
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        x = mx.nd.ones((2, 3, 8, 8))
        x.attach_grad()
        net = mx.gluon.nn.HybridSequential()
        with net.name_scope():
            net.add(mx.gluon.nn.MaxPool2D(), mx.gluon.nn.Dense(2))
        net.initialize()
        net.hybridize()
        with mx.autograd.record():
            y = net(x) * 2
        y.backward()
        assert x.grad.shape == x.shape
        refs = [weakref.ref(o) for o in (x, net, net[1], y)]
        del x, net, y
        assert [r() for r in refs] == [None] * 4
    finally:
        gc.enable()


def test_gradient_of_a_dropped_variable_is_skipped():
    x = mx.nd.ones((3,))
    x.attach_grad()
    w = mx.nd.full((3,), 2.0)
    w.attach_grad()
    with mx.autograd.record():
        y = (x * w).sum()
    del x  # nobody can read its gradient any more
    y.backward()
    np.testing.assert_array_equal(w.grad.asnumpy(), np.ones(3, np.float32))


def test_block_scope_of_any_prefixed_object_names_in_its_thread():
    # MXNet's test_thread_local.py::test_blockscope: a scope entered in a thread over a plain
    # object with a prefix names that thread's symbols, and not the main thread's
    import threading

    from mxlite.gluon import block
    from mxlite.name import NameManager

    class Prefixed:
        def __init__(self, prefix: str) -> None:
            self.prefix, self._empty_prefix = prefix, False

    got: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def spawned() -> None:
        with block._BlockScope(Prefixed("spawned_")):
            entered.set()
            release.wait()
            got.append(NameManager._current.value.get(None, "hello"))

    t = threading.Thread(target=spawned)
    t.start()
    entered.wait()
    prefix, _ = block._BlockScope.create("main_thread", None, "hi")
    release.set()
    t.join()
    assert got == ["spawned_hello0"]
    assert prefix == "main_thread"
