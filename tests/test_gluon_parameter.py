"""``mx.gluon.Parameter`` / ``Constant`` / ``ParameterDict``: MXNet 1.9.1's behaviour.

Expected strings (reprs, variable attributes, messages) are MXNet 1.9.1's, as printed by the
reference installation.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.base import MXNetError


def _param(name="w", value=(1.0, 2.0), **kw):
    value = np.asarray(value, np.float32)
    p = gluon.Parameter(name, shape=value.shape, **kw)
    p.initialize()
    p.set_data(mx.nd.array(value))
    return p


# ----------------------------------------------------------------------------------------
# Parameter.


def test_var_attributes_and_repr_are_mxnets():
    p = gluon.Parameter("fc_weight", shape=(2, 3), init=mx.init.Constant(3), lr_mult=2,
                        wd_mult=0.5, dtype="float64")
    assert p.var().list_attr() == {
        "__storage_type__": "0", "__init__": '["constant", {"value": 3}]', "__dtype__": "1",
        "__wd_mult__": "0.5", "wd_mult": "0.5", "__lr_mult__": "2", "lr_mult": "2",
        "__shape__": "(2, 3)"}
    assert p.var() is p.var()
    assert repr(p) == "Parameter fc_weight (shape=(2, 3), dtype=float64)"
    q = gluon.Parameter("q", shape=4)
    assert repr(q) == "Parameter q (shape=(4,), dtype=<class 'numpy.float32'>)"


def test_initialize_uses_init_then_parameter_init_then_default():
    p = gluon.Parameter("fc_weight", shape=(2, 3), init=mx.init.Constant(3))
    p.initialize(default_init=mx.init.One())
    np.testing.assert_array_equal(p.data().asnumpy(), np.full((2, 3), 3, np.float32))
    p.initialize(init=mx.init.Zero(), force_reinit=True)
    assert not p.data().asnumpy().any()
    with pytest.warns(UserWarning, match="already initialized"):
        p.initialize()
    # As in MXNet, the default initializer's _init_weight fills any name, a bias too.
    mx.random.seed(1)
    b = gluon.Parameter("b_bias", shape=(300,))
    b.initialize()
    v = b.data().asnumpy()
    assert v.min() >= -0.07 and v.max() <= 0.07 and v.std() > 0.02
    named = gluon.Parameter("x_bias", shape=(3,), init="ones")
    named.initialize()
    np.testing.assert_array_equal(named.data().asnumpy(), [1, 1, 1])


def test_contexts_and_their_errors():
    p = gluon.Parameter("fc_weight", shape=(2, 3), init=mx.init.Constant(3))
    with pytest.raises(MXNetError, match="'fc_weight' has not been initialized. Note"):
        p.data()
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    assert p.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    assert p.data(mx.cpu(1)).context == mx.cpu(1)
    assert p.data() is p.data(mx.cpu(0))  # the current context
    with mx.cpu(1):
        assert p.data() is p.data(mx.cpu(1))
    with pytest.raises(RuntimeError, match=r"Parameter 'fc_weight' was not initialized on "
                       r"context cpu\(2\). It was only initialized on \[cpu\(0\), cpu\(1\)\]."):
        p.data(mx.cpu(2))
    assert len(p.list_data()) == 2 and len(p.list_grad()) == 2
    # _reduce averages the copies onto the cpu.
    p.data(mx.cpu(1))[:] = 5
    np.testing.assert_array_equal(p._reduce().asnumpy(), np.full((2, 3), 4, np.float32))
    p.reset_ctx(mx.gpu(0))
    assert p.list_ctx() == [mx.gpu(0)]
    np.testing.assert_array_equal(p.data(mx.gpu(0)).asnumpy(), np.full((2, 3), 4, np.float32))


def test_deferred_initialization():
    p = gluon.Parameter("w", shape=(2, 0), allow_deferred_init=True,
                        init=mx.init.Constant(7))
    p.initialize(ctx=mx.cpu(0))
    assert p.list_ctx() == [mx.cpu(0)]
    with pytest.raises(gluon.DeferredInitializationError, match="'w' has not been initialized "
                       "yet because initialization was deferred"):
        p.data()
    p.set_data(mx.nd.ones((2, 3)))  # remembered until the deferred initialization happens
    p.shape = (2, 3)
    p._finish_deferred_init()
    np.testing.assert_array_equal(p.data().asnumpy(), np.ones((2, 3)))
    with pytest.raises(MXNetError, match="incompatible"):
        p.shape = (2, 4)
    q = gluon.Parameter("r", shape=(2, 0))
    with pytest.raises(MXNetError, match=r"Cannot initialize Parameter 'r' because it has "
                       r"invalid shape: \(2, 0\)."):
        q.initialize()


def test_unknown_dims_are_minus_one_under_numpy_shape():
    p = gluon.Parameter("w", shape=(2, 0))
    with mx.util.np_shape(True):
        assert p.shape == (2, -1)
    assert p.shape == (2, 0)


def test_grad_req_write_add_null_and_gradients():
    p = _param(grad_req="write")
    x = mx.nd.array([3.0, 4.0])
    for _ in range(2):
        with autograd.record():
            y = (p.data() * x).sum()
        y.backward()
    np.testing.assert_array_equal(p.grad().asnumpy(), [3, 4])
    p.grad_req = "add"  # fresh zero gradients, then accumulation
    assert not p.grad().asnumpy().any()
    for _ in range(2):
        with autograd.record():
            y = (p.data() * x).sum()
        y.backward()
    np.testing.assert_array_equal(p.grad().asnumpy(), [6, 8])
    p.zero_grad()
    np.testing.assert_array_equal(p.grad().asnumpy(), [0, 0])
    p.grad_req = "null"
    with pytest.raises(MXNetError, match="because grad_req='null'"):
        p.grad()
    with pytest.raises(MXNetError, match="grad_req must be one of 'write', 'add', or 'null', "
                       "but got 'bad'"):
        p.grad_req = "bad"
    frozen = gluon.Parameter("f", shape=(2,), differentiable=False)
    assert frozen.grad_req == "null"
    frozen.grad_req = "write"
    assert frozen.grad_req == "null"


def test_cast_keeps_values_and_gradients():
    p = _param(value=[1.5, -2.0])
    with autograd.record():
        y = (p.data() * mx.nd.array([2.0, 3.0])).sum()
    y.backward()
    p.cast("float64")
    assert p.dtype == "float64"
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    np.testing.assert_array_equal(p.data().asnumpy(), [1.5, -2.0])
    np.testing.assert_array_equal(p.grad().asnumpy(), [2.0, 3.0])
    with autograd.record():  # the cast values are the variables now
        y = (p.data() * mx.nd.array([1.0, 1.0], dtype="float64")).sum()
    y.backward()
    np.testing.assert_array_equal(p.grad().asnumpy(), [1.0, 1.0])


def test_set_data_updates_every_context():
    p = gluon.Parameter("w", shape=(2,))
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    p.set_data(mx.nd.array([4.0, 5.0]))
    for d in p.list_data():
        np.testing.assert_array_equal(d.asnumpy(), [4, 5])
    with pytest.raises(MXNetError, match="incompatible"):
        p.set_data(mx.nd.zeros((3,)))


def test_constant():
    c = gluon.Constant("c", [[1, 2], [3, 4]])
    assert repr(c) == "Constant c (shape=(2, 2), dtype=<class 'numpy.float32'>)"
    assert c.grad_req == "null"
    with pytest.warns(UserWarning, match="does not support grad_req"):
        c.grad_req = "write"
    c.initialize()
    np.testing.assert_array_equal(c.data().asnumpy(), [[1, 2], [3, 4]])
    # The value wins over a default initializer (Block.initialize's), not over an explicit one.
    c.initialize(default_init=mx.init.Zero(), force_reinit=True)
    np.testing.assert_array_equal(c.data().asnumpy(), [[1, 2], [3, 4]])
    c.initialize(mx.init.Zero(), force_reinit=True)
    assert not c.data().asnumpy().any()


# ----------------------------------------------------------------------------------------
# ParameterDict.


def test_get_merges_shapes_and_checks_attributes():
    d = gluon.ParameterDict("pre_")
    w = d.get("w", shape=(2, 0))
    assert d.get("w", shape=(0, 3)) is w and w.shape == (2, 3)
    with pytest.raises(MXNetError, match="Cannot retrieve Parameter 'pre_w' because desired "
                       "attribute does not match with stored for attribute 'shape': desired "
                       r"'\(3, 3\)' vs stored '\(2, 3\)'."):
        d.get("w", shape=(3, 3))
    with pytest.raises(MXNetError, match="attribute 'dtype': desired 'float16'"):
        d.get("w", dtype="float16")
    assert d.get("w", dtype="float32") is w
    d.get("w", init="zeros")
    assert w.init == "zeros"
    assert repr(d) == ("pre_ (\n  Parameter pre_w (shape=(2, 3), dtype=<class "
                       "'numpy.float32'>)\n)")
    assert list(d) == ["pre_w"] and len(d) == 1 and "pre_w" in d


def test_shared_dict_and_update():
    base = gluon.ParameterDict("a_")
    w = base.get("w", shape=(2,))
    shared = gluon.ParameterDict("a_", shared=base)
    assert shared.get("w") is w
    other = gluon.ParameterDict("a_")
    other.get("w", shape=(2,))
    with pytest.raises(MXNetError, match="different Parameters with the same name 'a_w'"):
        shared.update(other)
    shared.update(base)
    assert shared["a_w"] is w


def test_get_constant():
    d = gluon.ParameterDict("p_")
    with pytest.raises(KeyError, match="No constant named 'p_c'"):
        d.get_constant("c")
    c = d.get_constant("c", [1.0, 2.0])
    assert d.get_constant("c") is c
    assert d.get_constant("c", mx.nd.array([1.0, 2.0])) is c
    with pytest.raises(MXNetError, match="doesn't match new value"):
        d.get_constant("c", [1.0, 3.0])
    d.get("w", shape=(1,))
    with pytest.raises(MXNetError, match="not a constant"):
        d.get_constant("w", [1.0])


def test_initialize_setattr_zero_grad_and_contexts():
    d = gluon.ParameterDict("n_")
    a = d.get("weight", shape=(2, 2))
    b = d.get("bias", shape=(2,), init="zeros")
    d.initialize(mx.init.One(), ctx=[mx.cpu(0), mx.cpu(1)])
    np.testing.assert_array_equal(a.data().asnumpy(), np.ones((2, 2)))
    np.testing.assert_array_equal(b.data().asnumpy(), [0, 0])
    assert set(d.list_ctx()) == {mx.cpu(0), mx.cpu(1)}
    d.setattr("lr_mult", 0.5)
    assert a.lr_mult == b.lr_mult == 0.5
    for g in a.list_grad() + b.list_grad():
        g[:] = 3
    d.zero_grad()
    assert not any(g.asnumpy().any() for g in a.list_grad() + b.list_grad())
    d.setattr("grad_req", "null")
    d.zero_grad()  # nothing to zero
    d.reset_ctx(mx.cpu(0))
    assert d.list_ctx() == [mx.cpu(0)]


def test_save_and_load_with_prefixes(tmp_path):
    d = gluon.ParameterDict("net_")
    d.get("weight", shape=(2,)).initialize()
    d.get("bias", shape=(2,)).initialize(mx.init.Zero())
    d["net_weight"].set_data(mx.nd.array([1.0, 2.0]))
    f = str(tmp_path / "p.params")
    d.save(f, strip_prefix="net_")
    assert list(mx.nd.load(f)) == ["weight", "bias"]
    with pytest.raises(MXNetError, match="Prefix 'x_' is to be striped before saving"):
        d.save(f + "2", strip_prefix="x_")
    e = gluon.ParameterDict("net_")
    e.get("weight", shape=(2,))
    e.get("bias", shape=(0,), allow_deferred_init=True)
    e.load(f, restore_prefix="net_")  # initializes on the cpu, shapes filled
    np.testing.assert_array_equal(e["net_weight"].data().asnumpy(), [1, 2])
    assert e["net_bias"].shape == (2,)
    with pytest.raises(MXNetError, match="restore_prefix is 'zz_'"):
        e.load(f, restore_prefix="zz_")
    # arg:/aux: names (checkpoints) load by their bare names.
    mx.nd.save(f, {"arg:net_weight": mx.nd.array([7.0, 8.0]),
                   "aux:net_bias": mx.nd.array([9.0, 9.0])})
    e.load(f)
    np.testing.assert_array_equal(e["net_weight"].data().asnumpy(), [7, 8])
    np.testing.assert_array_equal(e["net_bias"].data().asnumpy(), [9, 9])


def test_load_dict_is_all_or_nothing():
    d = gluon.ParameterDict("m_")
    w = d.get("w", shape=(2,))
    v = d.get("v", shape=(3,))
    d.initialize(mx.init.Zero())
    with pytest.raises(MXNetError) as e:
        d.load_dict({"m_w": mx.nd.ones((2,)), "m_v": mx.nd.ones((4,))})
    assert ("Failed loading Parameter 'm_v' from saved params: shape incompatible expected "
            "(3,) vs saved (4,)") in str(e.value)
    assert not w.data().asnumpy().any()  # m_w, which fitted, was not loaded either
    with pytest.raises(MXNetError) as e:
        d.load_dict({"m_w": mx.nd.ones((2,)), "m_x": mx.nd.ones((1,))})
    msg = str(e.value)
    assert "Parameter 'm_v' is missing in param_dict" in msg
    assert "Parameter 'm_x' loaded from param_dict is not present" in msg
    assert not w.data().asnumpy().any()
    with pytest.raises(MXNetError, match="dtype incompatible expected float32 vs saved "
                       "float64"):
        d.load_dict({"m_w": mx.nd.ones((2,), dtype="float64"), "m_v": mx.nd.ones((3,))})
    with pytest.raises(MXNetError, match="previous initialized"):
        d.load_dict({"m_w": mx.nd.ones((2,)), "m_v": mx.nd.ones((3,))}, ctx=mx.cpu(3))
    d.load_dict({"m_w": mx.nd.ones((2,), dtype="float64"), "m_v": mx.nd.ones((3,))},
                cast_dtype=True)
    assert w.data().dtype == np.float32
    np.testing.assert_array_equal(v.data().asnumpy(), [1, 1, 1])
    d.load_dict({"m_w": mx.nd.ones((2,))}, allow_missing=True)


def test_parameter_errors_are_mxnet_errors():
    with pytest.raises(MXNetError, match="stype for Parameter 'w' must be one of"):
        gluon.Parameter("w", stype="dense")
    p = gluon.Parameter("w", shape=(2,))
    with pytest.raises(MXNetError, match="has not been initialized"):
        p.list_ctx()
    with pytest.raises(MXNetError, match="Cannot reset context"):
        p.reset_ctx(mx.cpu())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p.initialize()
