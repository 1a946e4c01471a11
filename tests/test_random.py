"""mx.random / mx.nd.random: one seeded generator, MXNet's shapes, dtypes and checks."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

nd = mx.nd


def test_seed_makes_draws_repeatable():
    mx.random.seed(42)
    a = nd.random.uniform(0, 1, shape=(5,)).asnumpy()
    b = nd.random.normal(0, 1, shape=(2, 2)).asnumpy()
    c = nd.random.randint(0, 10, shape=(4,)).asnumpy()
    mx.random.seed(42)
    np.testing.assert_array_equal(nd.random.uniform(0, 1, shape=(5,)).asnumpy(), a)
    np.testing.assert_array_equal(nd.random.normal(0, 1, shape=(2, 2)).asnumpy(), b)
    np.testing.assert_array_equal(nd.random.randint(0, 10, shape=(4,)).asnumpy(), c)
    mx.random.seed(43)
    assert not np.array_equal(nd.random.uniform(0, 1, shape=(5,)).asnumpy(), a)


def test_shapes_dtypes_and_ranges():
    mx.random.seed(0)
    u = nd.random.uniform(2, 3, shape=(1000,))
    assert u.dtype is np.float32 and u.shape == (1000,)
    assert 2 <= u.asnumpy().min() and u.asnumpy().max() < 3
    assert nd.random.uniform().shape == (1,)
    assert nd.random.normal(0, 1, shape=2).shape == (2,)
    assert nd.random.uniform(0, 1, shape=(2,), dtype="float64").dtype is np.float64
    assert nd.random.uniform(0, 1, shape=(2,), dtype="float16").dtype is np.float16
    r = nd.random.randint(0, 5, shape=(500,))
    assert r.dtype is np.int32 and set(r.asnumpy().tolist()) == {0, 1, 2, 3, 4}
    assert nd.random.randint(0, 5, shape=(3,), dtype="int64").dtype is np.int64
    n = nd.random.normal(10, 2, shape=(20000,)).asnumpy()
    assert abs(n.mean() - 10) < 0.1 and abs(n.std() - 2) < 0.1
    assert nd.random.uniform(0, 1, shape=(2,), ctx=mx.gpu(1)).context == mx.gpu(1)
    assert mx.random.uniform is nd.random.uniform


def test_array_parameters_draw_per_element():
    low, high = nd.array([0, 10]), nd.array([1, 11])
    u = nd.random.uniform(low, high, shape=(3,))
    assert u.shape == (2, 3)
    vals = u.asnumpy()
    assert (vals[0] < 1).all() and (vals[1] >= 10).all()
    assert nd.random.normal(nd.array([0, 10]), nd.array([1, 1])).shape == (2,)


def test_refusals():
    with pytest.raises(MXNetError, match="invalid dtype 'int32'"):
        nd.random.uniform(0, 1, shape=(2,), dtype="int32")
    with pytest.raises(MXNetError, match="invalid dtype"):
        nd.random.randint(0, 5, shape=(2,), dtype="float32")
    with pytest.raises(MXNetError, match="low"):
        nd.random.randint(5, 5, shape=(2,))
    with pytest.raises(MXNetError):
        mx.random.seed("x")


def test_out_and_shuffle():
    out = nd.zeros((3,))
    assert nd.random.uniform(5, 6, out=out) is out
    assert (out.asnumpy() >= 5).all()
    mx.random.seed(1)
    x = nd.arange(10)
    s = nd.random.shuffle(x)
    assert sorted(s.asnumpy().tolist()) == list(range(10))
    assert x.asnumpy().tolist() == list(range(10))
    assert isinstance(mx.random.generator(), np.random.Generator)
