"""mx.init against MXNet 1.9.1: dumps strings, name dispatch, deterministic values, and the
distributions of the random initializers (bounds and deviations from fan-in / fan-out)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

import mxlite.initializer as init
import mxlite.random as mxrandom
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import NDArray

with open(DATA / "optimizer" / "cases.json") as _f:
    CASES = json.load(_f)
REF = dict(np.load(DATA / "optimizer" / "steps.npz"))


def _nd(shape, fill=np.nan, dtype=np.float32) -> NDArray:
    return NDArray(np.full(shape, fill, dtype))


@pytest.mark.parametrize("case", CASES["init_dumps"], ids=lambda c: c["dumps"])
def test_dumps_matches_mxnet(case):
    kw = {k: np.array(v, np.float32) if isinstance(v, list) else v
          for k, v in case["kwargs"].items()}
    obj = getattr(init, case["cls"])(**kw)
    assert obj.dumps() == case["dumps"]
    # and create() reads it back as an equal initializer
    assert init.create(case["dumps"]).dumps() == case["dumps"]


def test_variable_init_attribute_selects_initializer():
    attr = CASES["variable_init_attr"]["__init__"]
    assert attr == '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 2}]'
    assert init.Xavier(magnitude=2).dumps() == attr
    # A variable's __init__ wins over the name rules of the global initializer.
    a = _nd((40, 60))
    init.Zero()(init.InitDesc("v", {"__init__": attr}), a)
    bound = np.sqrt(2 / 50)
    assert np.abs(a.asnumpy()).max() <= bound and np.abs(a.asnumpy()).max() > 0.9 * bound
    b = _nd((3,))
    init.Xavier()(init.InitDesc("bn_moving_var", {"__init__": '["one", {}]'}), b)
    np.testing.assert_array_equal(b.asnumpy(), np.ones(3, np.float32))


@pytest.mark.parametrize("name, value", [
    ("fc_bias", 0.0), ("bn_gamma", 1.0), ("bn_beta", 0.0), ("q_min", 0.0), ("q_max", 1.0),
    ("fc_weight", 7.0),
])
def test_name_suffix_rules(name, value):
    a = _nd((2, 3))
    desc = init.InitDesc(name)
    init.Constant(7.0)(desc, a)
    np.testing.assert_array_equal(a.asnumpy(), np.full((2, 3), value, np.float32))
    assert desc.global_init == init.Constant(7.0)


def test_unknown_name_refused():
    with pytest.raises(MXNetError, match="Unknown initialization pattern for bn_moving_mean"):
        init.Uniform()(init.InitDesc("bn_moving_mean"), _nd((3,)))


@pytest.mark.parametrize("name, value", [
    ("bn_moving_mean", 0.0), ("bn_moving_var", 1.0), ("bn_moving_inv_var", 0.0),
    ("x_moving_avg", 0.0), ("fc_bias", 0.0), ("bn_gamma", 1.0), ("stn_loc_weight", 0.0),
])
def test_legacy_string_names(name, value):
    a = _nd((6,))
    with pytest.deprecated_call():
        init.Constant(5.0)(name, a)
    np.testing.assert_array_equal(a.asnumpy(), np.full(6, value, np.float32))


def test_legacy_stn_and_upsampling():
    a = _nd((6,))
    with pytest.deprecated_call():
        init.Zero()("stn_loc_bias", a)
    np.testing.assert_array_equal(a.asnumpy(), [1, 0, 0, 0, 1, 0])
    b = _nd((2, 1, 4, 4))
    with pytest.deprecated_call():
        init.Zero()("upsampling0_weight", b)
    np.testing.assert_allclose(b.asnumpy(), REF["bilinear_2x1x4x4"], rtol=0, atol=1e-7)


@pytest.mark.parametrize("shape", [(2, 1, 4, 4), (1, 2, 3, 5)])
def test_bilinear_matches_mxnet(shape):
    a = _nd(shape)
    init.Bilinear()(init.InitDesc("up_weight"), a)
    np.testing.assert_allclose(a.asnumpy(), REF["bilinear_" + "x".join(map(str, shape))],
                               rtol=0, atol=1e-7)


def test_lstm_bias_matches_mxnet():
    a = _nd((8,))
    init.Uniform()(init.InitDesc("lstm_bias", {"__init__": init.LSTMBias(3.0).dumps()}), a)
    np.testing.assert_array_equal(a.asnumpy(), REF["lstmbias_8"])


def test_constant_array_value():
    a = _nd((2, 2))
    init.Constant(NDArray(np.array([1.0, 2.0], np.float32)))(init.InitDesc("w_weight"), a)
    np.testing.assert_array_equal(a.asnumpy(), [[1, 2], [1, 2]])


# -- random initializers: distributions ----------------------------------------------------

SHAPE = (64, 32, 3, 3)  # fan_in = 32 * 9 = 288, fan_out = 64 * 9 = 576


@pytest.mark.parametrize("factor_type, factor", [("avg", 432.0), ("in", 288.0),
                                                 ("out", 576.0)])
def test_xavier_uniform_bounds(factor_type, factor):
    mxrandom.seed(0)
    a = _nd(SHAPE)
    init.Xavier(factor_type=factor_type, magnitude=3)(init.InitDesc("c_weight"), a)
    x = a.asnumpy()
    scale = np.sqrt(3 / factor)
    assert np.abs(x).max() <= scale and np.abs(x).max() > 0.999 * scale
    assert x.std() == pytest.approx(scale / np.sqrt(3), rel=0.02)
    assert abs(x.mean()) < 0.02 * scale


def test_xavier_gaussian_and_msra_std():
    mxrandom.seed(1)
    a = _nd(SHAPE)
    init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2.34)(
        init.InitDesc("c_weight"), a)
    assert a.asnumpy().std() == pytest.approx(np.sqrt(2.34 / 288), rel=0.02)
    init.MSRAPrelu(factor_type="out", slope=0.25)(init.InitDesc("c_weight"), a)
    assert a.asnumpy().std() == pytest.approx(np.sqrt(2 / 1.0625 / 576), rel=0.02)


def test_xavier_needs_2d():
    with pytest.raises(MXNetError, match="cannot be applied to vector v_weight"):
        init.Xavier()(init.InitDesc("v_weight"), _nd((5,)))
    with pytest.raises(MXNetError, match="Incorrect factor type"):
        init.Xavier(factor_type="sum")(init.InitDesc("v_weight"), _nd((5, 5)))


def test_uniform_and_normal():
    mxrandom.seed(2)
    a = _nd((200, 100))
    init.Uniform(0.3)(init.InitDesc("u_weight"), a)
    assert np.abs(a.asnumpy()).max() <= 0.3 and a.asnumpy().min() < -0.299
    init.Normal(0.5)(init.InitDesc("n_weight"), a)
    assert a.asnumpy().std() == pytest.approx(0.5, rel=0.02)
    assert a.dtype == np.float32


def test_seed_makes_draws_repeatable():
    draws = []
    for _ in range(2):
        mxrandom.seed(42)
        a = _nd((4, 5))
        init.Xavier()(init.InitDesc("w_weight"), a)
        draws.append(a.asnumpy())
    np.testing.assert_array_equal(*draws)


@pytest.mark.parametrize("shape", [(4, 10), (10, 4), (6, 2, 3)])
def test_orthogonal(shape):
    mxrandom.seed(3)
    a = _nd(shape)
    init.Orthogonal(scale=2.0, rand_type="normal")(init.InitDesc("o_weight"), a)
    m = a.asnumpy().reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)


# -- registry, create, Mixed, Load -------------------------------------------------------------

def test_create_forms():
    x = init.Xavier(magnitude=2)
    assert init.create(x) is x
    assert init.create("Xavier", magnitude=2) == x
    assert init.create('["xavier", {"magnitude": 2}]') == x
    assert init.create({"initializer": "xavier", "magnitude": 2}) == x
    assert isinstance(init.create("zeros"), init.Zero)
    assert isinstance(init.create("ones"), init.One)
    with pytest.raises(MXNetError, match="nosuch is not registered"):
        init.create("nosuch")
    with pytest.raises(MXNetError, match="not valid JSON"):
        init.create("[xavier")


def test_register_custom():
    class MyInit(init.Initializer):
        def _init_weight(self, _, arr):
            arr._data[...] = 0.1

    try:
        init.register(MyInit)
        init.alias("myalias")(MyInit)
        a = _nd((2,))
        init.create("myalias")(init.InitDesc("w_weight"), a)
        np.testing.assert_allclose(a.asnumpy(), 0.1)
        assert init.create("myinit").dumps() == '["myinit", {}]'
    finally:
        del init._REGISTRY["myinit"], init._REGISTRY["myalias"]


def test_mixed_and_load():
    # Patterns use re.match (anchored at the start); the chosen initializer then applies its
    # own name rules.
    m = init.Mixed(["fc_w", ".*"], [init.Constant(2.0), init.Zero()])
    a, b, c = _nd((2,)), _nd((2,)), _nd((2,))
    with pytest.deprecated_call():
        m("fc_weight", a)
    with pytest.deprecated_call():
        m("bn_gamma", b)
    with pytest.deprecated_call():
        m("x_fc_weight", c)
    assert [a.asnumpy().tolist(), b.asnumpy().tolist(), c.asnumpy().tolist()] == [
        [2, 2], [1, 1], [0, 0]]
    with pytest.raises(MXNetError, match="did not match any pattern"):
        init.Mixed(["bias"], [init.Zero()])("fc_weight", a)

    ld = init.Load({"arg:fc_weight": NDArray(np.arange(4, dtype=np.float32))},
                   default_init=init.Constant(3.0))
    c = _nd((4,))
    ld("fc_weight", c)
    assert c.asnumpy().tolist() == [0, 1, 2, 3]
    with pytest.deprecated_call():
        ld("fc_bias", c)
    assert c.asnumpy().tolist() == [0, 0, 0, 0]
    with pytest.raises(MXNetError, match="Shape mismatch"):
        ld("fc_weight", _nd((3,)))
    with pytest.raises(MXNetError, match="no default Initializer"):
        init.Load({})("x", c)
