"""mx.nd.NDArray: creation, printing, arithmetic, indexing, contexts, numpy-shape semantics.

Expected values were printed by MXNet 1.9.1 (the oracle) and are hard-coded here.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError

nd = mx.nd


# ---------------------------------------------------------------------- printing

@pytest.mark.parametrize("make,text", [
    (lambda: nd.ones((2, 3)), "\n[[1. 1. 1.]\n [1. 1. 1.]]\n<NDArray 2x3 @cpu(0)>"),
    (lambda: nd.array([1.5, -2, 3]), "\n[ 1.5 -2.   3. ]\n<NDArray 3 @cpu(0)>"),
    (lambda: nd.arange(6, dtype="int32").reshape(2, 3),
     "\n[[0 1 2]\n [3 4 5]]\n<NDArray 2x3 @cpu(0)>"),
    (lambda: nd.array([[1e-5, 1e5]]), "\n[[1.e-05 1.e+05]]\n<NDArray 1x2 @cpu(0)>"),
    (lambda: nd.array([1, 2], dtype="float16"), "\n[1. 2.]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.array([0.1, 0.25], dtype="float64"), "\n[0.1  0.25]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.array([7], dtype="uint8"), "\n[7]\n<NDArray 1 @cpu(0)>"),
    (lambda: nd.arange(24).reshape(2, 3, 4),
     "\n[[[ 0.  1.  2.  3.]\n  [ 4.  5.  6.  7.]\n  [ 8.  9. 10. 11.]]\n\n"
     " [[12. 13. 14. 15.]\n  [16. 17. 18. 19.]\n  [20. 21. 22. 23.]]]\n<NDArray 2x3x4 @cpu(0)>"),
    (lambda: nd.array(3), "\n3.0\n<NDArray  @cpu(0)>"),
    (lambda: nd.array(np.zeros((0, 3))), "\n[]\n<NDArray 0x3 @cpu(0)>"),
    (lambda: nd.array([1, 0], dtype="int8"), "\n[1 0]\n<NDArray 2 @cpu(0)>"),
    (lambda: nd.ones((2,), ctx=mx.gpu(1)), "\n[1. 1.]\n<NDArray 2 @gpu(1)>"),
    (lambda: nd.arange(2000),
     "\n[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]\n"
     "<NDArray 2000 @cpu(0)>"),
])
def test_repr_matches_mxnet(make, text):
    x = make()
    assert repr(x) == text
    assert str(x) == text


# ---------------------------------------------------------------------- creation

def test_array_dtype_defaults():
    assert nd.array([1, 2]).dtype is np.float32
    assert nd.array(np.ones(2)).dtype is np.float32  # MXNet casts numpy float64 to float32
    assert nd.array(np.ones(2, dtype=np.int64)).dtype is np.float32
    assert nd.array([1, 2], dtype="int32").dtype is np.int32
    assert nd.array(nd.ones(2, dtype="int32")).dtype is np.int32
    assert nd.array((1, 2)).asnumpy().tolist() == [1.0, 2.0]
    assert nd.array(3).shape == ()


def test_array_copies_its_source():
    src = np.zeros(2, dtype=np.float32)
    x = nd.array(src)
    x[0] = 9
    assert src.tolist() == [0.0, 0.0]


def test_creation_functions():
    assert nd.full((2, 2), 3.7, dtype="int32").asnumpy().tolist() == [[3, 3], [3, 3]]
    assert nd.full((2,), 2.5).dtype is np.float32
    assert nd.arange(0, 5, 2, repeat=2).asnumpy().tolist() == [0, 0, 2, 2, 4, 4]
    assert nd.arange(1.5).asnumpy().tolist() == [0.0, 1.0]
    assert nd.arange(2, 8, 2).asnumpy().tolist() == [2, 4, 6]
    assert nd.arange(5, 0, -1.5).asnumpy().tolist() == [5.0, 3.5, 2.0, 0.5]
    # MXNet casts start/step to the dtype first: a 0.5 integer step is 0.
    assert nd.arange(0, 3, 0.5, dtype="int32").asnumpy().tolist() == [0] * 6
    assert nd.arange(3, dtype="int64").dtype is np.int64
    with pytest.raises(MXNetError, match="invalid range"):
        nd.arange(0)
    assert nd.ones(3).shape == (3,)
    assert nd.ones(3, dtype=np.int8).dtype is np.int8
    assert nd.zeros(shape=(2,), dtype="float16").dtype is np.float16
    assert nd.empty(3, dtype="int32").shape == (3,)
    like = nd.ones_like(nd.arange(3, dtype="int32"))
    assert like.dtype is np.int32 and like.asnumpy().tolist() == [1, 1, 1]
    assert nd.zeros_like(nd.ones((2, 2))).asnumpy().sum() == 0


def test_from_numpy_shares_memory():
    src = np.arange(4, dtype=np.float32)
    x = nd.from_numpy(src)
    x[0] = 9
    assert src.tolist() == [9.0, 1.0, 2.0, 3.0]
    assert not src.flags.writeable  # MXNet takes the buffer over
    copied = nd.from_numpy(np.ones(2), zero_copy=False)
    assert copied.dtype is np.float64
    with pytest.raises(ValueError, match="c-contiguous"):
        nd.from_numpy(np.ones((2, 2))[:, 0])


def test_concat_and_stack():
    a, b = nd.ones((2, 2)), nd.zeros((2, 1))
    assert nd.concat(a, b, dim=1).asnumpy().tolist() == [[1, 1, 0], [1, 1, 0]]
    assert nd.concat(nd.ones((2, 3)), nd.zeros((2, 3))).shape == (2, 6)
    assert nd.concat(a, nd.zeros((1, 2)), dim=0).shape == (3, 2)
    with pytest.raises(MXNetError, match="non-uniform data type"):
        nd.concat(nd.ones((2, 3)), nd.zeros((2, 3), dtype="int32"))
    s = nd.stack(nd.ones((2,)), nd.zeros((2,)), axis=1)
    assert s.asnumpy().tolist() == [[1, 0], [1, 0]]
    assert nd.stack(nd.ones((2, 3)), nd.zeros((2, 3)), axis=-1).shape == (2, 3, 2)
    assert nd.moveaxis(nd.zeros((2, 3, 4)), 0, -1).shape == (3, 4, 2)
    assert nd.waitall() is None


# ---------------------------------------------------------------------- properties

def test_properties_and_conversions():
    x = nd.ones((2, 3))
    assert (x.shape, x.size, x.ndim, x.stype) == ((2, 3), 6, 2, "default")
    assert x.dtype is np.float32
    assert x.context == mx.cpu(0) and x.ctx == mx.cpu(0)
    assert nd.arange(6).reshape(2, 3).T.asnumpy().tolist() == [[0, 3], [1, 4], [2, 5]]
    assert nd.arange(24).reshape(2, 3, 4).T.shape == (4, 3, 2)
    v = nd.ones(3)
    assert v.T is v
    assert nd.ones((2, 3, 4)).flatten().shape == (2, 12)
    assert nd.ones((2,)).flatten().shape == (2, 1)
    assert nd.ones((2, 3)).expand_dims(1).shape == (2, 1, 3)
    assert nd.ones((2, 3)).expand_dims(-1).shape == (2, 3, 1)
    assert nd.arange(24).reshape(2, 3, 4).transpose((1, 0, 2)).shape == (3, 2, 4)
    assert nd.arange(24).reshape(2, 3, 4).transpose(axes=(1, 0, 2)).shape == (3, 2, 4)
    assert nd.array([1.7]).astype("int32").asnumpy().tolist() == [1]
    y = nd.ones(1)
    assert y.astype("float32", copy=False) is y
    assert y.astype("float32") is not y
    a = y.asnumpy()
    a[0] = 5
    assert y.asnumpy()[0] == 1.0


def test_scalar_protocols():
    with pytest.raises(ValueError, match="not a scalar"):
        nd.ones((2,)).asscalar()
    assert nd.array([2.5]).asscalar() == np.float32(2.5)
    assert type(nd.ones((1,), dtype="int32").asscalar()) is np.int32
    assert nd.ones((1, 1)).asscalar().tolist() == [[1.0]]  # MXNet's asnumpy()[()]
    with pytest.raises(ValueError, match="ambiguous"):
        bool(nd.ones((2,)))
    assert bool(nd.zeros((1,))) is False
    assert bool(nd.array(3)) is True
    assert bool(nd.array(np.zeros((0, 3)))) is False
    assert float(nd.array([2.5])) == 2.5
    assert int(nd.array([3.7])) == 3
    assert len(nd.ones((3, 2))) == 3
    assert [r.shape for r in nd.ones((3, 2))] == [(2,)] * 3
    assert [r.shape for r in nd.ones((3,))] == [(1,)] * 3
    x = nd.ones(1)
    assert hash(x) == hash(x) and {x: 1}[x] == 1


def test_numpy_interop():
    x = nd.arange(3)
    assert np.array(x).dtype == np.float32
    assert np.asarray(x, dtype="float64").tolist() == [0.0, 1.0, 2.0]
    assert np.array(x, copy=True) is not x._data
    with pytest.raises(ValueError):
        np.array(x, dtype="float64", copy=False)


# ---------------------------------------------------------------------- arithmetic

I = [1, 2, 3]


@pytest.mark.parametrize("fn,expected", [
    (lambda i: i * 2.5, [2, 4, 6]),
    (lambda i: 2.5 * i, [2, 4, 6]),
    (lambda i: i / 2, [0, 1, 1]),
    (lambda i: 2 / i, [2, 1, 0]),
    (lambda i: i / i, [1, 1, 1]),
    (lambda i: i % 2, [1, 0, 1]),
    (lambda i: i ** 2, [1, 4, 9]),
    (lambda i: 2 ** i, [2, 4, 8]),
    (lambda i: i - 0.5, [1, 2, 3]),
    (lambda i: 5 - i, [4, 3, 2]),
    (lambda i: i == 2, [0, 1, 0]),
    (lambda i: -i, [-1, -2, -3]),
])
def test_int32_arithmetic_keeps_int32(fn, expected):
    out = fn(nd.array(I, dtype="int32"))
    assert out.dtype is np.int32
    assert out.asnumpy().tolist() == expected


def test_division_and_modulo_signs():
    assert (nd.array([-7, 7], dtype="int32") / 2).asnumpy().tolist() == [-3, 3]
    assert (nd.array([-7, 7], dtype="int32") /
            nd.array([2, 2], dtype="int32")).asnumpy().tolist() == [-3, 3]
    assert (nd.array([-5, 5]) % 3).asnumpy().tolist() == [1.0, 2.0]
    assert (nd.array([-5, 5], dtype="int32") % 3).asnumpy().tolist() == [1, 2]
    assert (3 % nd.array([-2, 2])).asnumpy().tolist() == [-1.0, 1.0]
    assert (nd.array([-5, 5]) % nd.array([3, -3])).asnumpy().tolist() == [1.0, -1.0]
    assert (nd.array([200], dtype="uint8") + 100).asnumpy().tolist() == [44]


def test_float_arithmetic_and_broadcast():
    f = nd.array([1, 2, 3])
    assert (f > 2).asnumpy().tolist() == [0.0, 0.0, 1.0] and (f > 2).dtype is np.float32
    assert (f <= f).asnumpy().tolist() == [1.0, 1.0, 1.0]
    assert (f != 2).asnumpy().tolist() == [1.0, 0.0, 1.0]
    assert (f + np.float64(2)).asnumpy().tolist() == [3.0, 4.0, 5.0]
    assert (np.float64(2) + f).dtype is np.float32
    assert abs(nd.array([-1, 2])).asnumpy().tolist() == [1.0, 2.0]
    assert (nd.ones((2, 3)) + nd.ones((3,))).shape == (2, 3)
    assert (nd.ones((2, 3)) + nd.ones((2, 1))).asnumpy().tolist() == [[2.0] * 3] * 2
    assert (nd.ones((2, 3)) * nd.ones((1, 3))).shape == (2, 3)
    with pytest.raises(MXNetError, match="different dtypes"):
        nd.ones(2, dtype="float64") + nd.ones(2)
    with pytest.raises(TypeError, match="not supported"):
        nd.ones(2).__eq__(None)  # MXNet refuses `x == None`


def test_inplace_ops_write_the_same_buffer():
    x = nd.array([1, 2], dtype="int32")
    buf = x._data
    x += 1.5
    assert x.asnumpy().tolist() == [2, 3] and x._data is buf
    y = nd.arange(6).reshape(2, 3)
    row = y[1]
    row *= 2
    assert y.asnumpy().tolist() == [[0, 1, 2], [6, 8, 10]]
    y -= 1
    y /= 2
    assert y.asnumpy().tolist() == [[-0.5, 0.0, 0.5], [2.5, 3.5, 4.5]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100, width=32), min_size=1, max_size=8),
       st.floats(-10, 10, width=32).filter(lambda v: abs(v) > 1e-3))
def test_float_arithmetic_matches_numpy(values, scalar):
    a = np.array(values, dtype=np.float32)
    x = nd.array(a)
    s = np.float32(scalar)
    np.testing.assert_array_equal((x + scalar).asnumpy(), a + s)
    np.testing.assert_array_equal((scalar - x).asnumpy(), s - a)
    np.testing.assert_array_equal((x * x).asnumpy(), a * a)
    np.testing.assert_allclose((x / scalar).asnumpy(), a / s, rtol=1e-6)
    np.testing.assert_array_equal((x < scalar).asnumpy(), (a < s).astype(np.float32))


# ---------------------------------------------------------------------- reductions

def test_reductions():
    x = nd.arange(6).reshape(2, 3)
    assert x.sum().shape == (1,) and x.sum().asnumpy().tolist() == [15.0]
    s = nd.arange(6, dtype="int32").reshape(2, 3).sum(axis=1)
    assert s.dtype is np.int32 and s.asnumpy().tolist() == [3, 12]
    assert x.sum(axis=0, keepdims=True).asnumpy().tolist() == [[3.0, 5.0, 7.0]]
    assert x.sum(axis=1, exclude=True).asnumpy().tolist() == [3.0, 5.0, 7.0]
    assert nd.array([1, 2], dtype="int32").mean().asnumpy().tolist() == [1]
    assert x.max(axis=(0, 1)).asnumpy().tolist() == [5.0]
    assert x.min(axis=-1).asnumpy().tolist() == [0.0, 3.0]
    assert x.mean(axis=0).asnumpy().tolist() == [1.5, 2.5, 3.5]
    assert nd.array(np.zeros((0, 3))).sum(axis=0).asnumpy().tolist() == [0.0] * 3


# ---------------------------------------------------------------------- indexing

def test_getitem_shapes_match_mxnet():
    a = nd.arange(6).reshape(2, 3)
    b = nd.arange(24).reshape(2, 3, 4)
    v = nd.arange(4)
    assert a[1].asnumpy().tolist() == [3, 4, 5]
    assert a[-1].asnumpy().tolist() == [3, 4, 5]
    assert v[1].shape == (1,) and v[-1].asnumpy().tolist() == [3.0]
    assert a[1, 2].shape == (1,) and a[1, 2].asnumpy().tolist() == [5.0]
    assert a[:, 1].asnumpy().tolist() == [1.0, 4.0]
    assert b[1, 2].asnumpy().tolist() == [20, 21, 22, 23]
    assert b[..., 1].asnumpy().tolist() == [[1, 5, 9], [13, 17, 21]]
    assert b[:, None].shape == (2, 1, 3, 4)
    assert b[0, 1, 2].shape == (1,)
    assert nd.arange(5)[::2].asnumpy().tolist() == [0, 2, 4]
    assert nd.arange(5)[::-1].asnumpy().tolist() == [4, 3, 2, 1, 0]
    assert nd.arange(5)[1:3].asnumpy().tolist() == [1, 2]
    for key in ([1, 0], nd.array([1, 0]), np.array([1, 0])):
        assert a[key].asnumpy().tolist() == [[3, 4, 5], [0, 1, 2]]
    for bad in (2, -3):
        with pytest.raises(IndexError, match="out of bounds for axis 0 with size 2"):
            a[bad]
    with pytest.raises(MXNetError, match="Invalid slicing range"):
        nd.arange(5)[3:1]


def test_views_write_through_where_mxnet_views():
    x = nd.arange(6).reshape(2, 3)
    x[1][:] = 5
    assert x.asnumpy().tolist() == [[0, 1, 2], [5, 5, 5]]
    x = nd.arange(6).reshape(2, 3)
    x[0:1][:] = -1
    assert x.asnumpy().tolist() == [[-1, -1, -1], [3, 4, 5]]
    x = nd.arange(6).reshape(2, 3)
    x[1, 1:][:] = -1
    assert x.asnumpy().tolist() == [[0, 1, 2], [3, -1, -1]]
    x = nd.arange(4)
    x[2][:] = 9
    assert x.asnumpy().tolist() == [0, 1, 9, 3]
    row = nd.arange(6).reshape(2, 3)
    view = row[1]
    row[:] = 7
    assert view.asnumpy().tolist() == [7, 7, 7]


@pytest.mark.parametrize("key", [(0, 1, 2), (-1, -1, -1), (2, 3, 4), (0, 1)])
def test_integer_tuple_keys_are_views(key):
    x = nd.arange(60).reshape(3, 4, 5)
    y = x[key]
    assert y.shape == ((1,) if len(key) == 3 else (5,))
    y[:] = -1
    assert int((x.asnumpy() == -1).sum()) == y.size


def test_edge_refusals_match_mxnet():
    with pytest.raises(ValueError, match="broadcast"):
        nd.ones((1, 3)).broadcast_to((2, 0))
    assert nd.ones((1, 3)).broadcast_to((2, 3)).asnumpy().tolist() == [[1.0] * 3] * 2
    with pytest.raises(MXNetError):
        nd.array(3).flatten()
    with pytest.raises(MXNetError, match="shape must be"):
        nd.ones((2.0, 3))
    with pytest.raises(IndexError):
        len(nd.array(3))
    x = nd.ones(1)
    with pytest.warns(RuntimeWarning, match="copy an array to itself"):
        assert x.copyto(x) is False


@pytest.mark.parametrize("take", [
    lambda x: x[:, 1], lambda x: x.T, lambda x: x.flatten(), lambda x: x.expand_dims(0),
])
def test_copies_where_mxnet_copies(take):
    x = nd.arange(6).reshape(2, 3)
    y = take(x)
    y[:] = -1
    assert x.asnumpy().tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("key,value,expected", [
    (slice(None), 1, [[1, 1, 1], [1, 1, 1]]),
    (slice(0, 1), nd.ones((1, 3)) * 9, [[9, 9, 9], [3, 4, 5]]),
    (0, np.array([7, 8, 9]), [[7, 8, 9], [3, 4, 5]]),
    (0, [7, 8, 9], [[7, 8, 9], [3, 4, 5]]),
    (0, nd.array([7]), [[7, 7, 7], [3, 4, 5]]),
    ((slice(None), 1), 4, [[0, 4, 2], [3, 4, 5]]),
    ((1, 2), 4, [[0, 1, 2], [3, 4, 4]]),
    (-1, 4, [[0, 1, 2], [4, 4, 4]]),
    ((slice(None), slice(None, None, 2)), 4, [[4, 1, 4], [4, 4, 4]]),
    (([0, 1], [1, 2]), 4, [[0, 4, 2], [3, 4, 4]]),
    (0, np.array([1.5, 2.5, 3.5]), [[1.5, 2.5, 3.5], [3, 4, 5]]),
])
def test_setitem_matches_mxnet(key, value, expected):
    x = nd.arange(6).reshape(2, 3)
    x[key] = value
    assert x.asnumpy().tolist() == expected


def test_setitem_casts_and_refuses_bad_shapes():
    x = nd.arange(4, dtype="int32")
    x[0] = 2.7
    assert x.asnumpy().tolist() == [2, 1, 2, 3]
    y = nd.arange(6).reshape(2, 3)
    with pytest.raises(ValueError):
        y[0] = np.array([1.5, 2.5])


# ---------------------------------------------------------------------- contexts

def test_contexts_keep_their_labels():
    assert nd.ones(2, ctx=mx.gpu(1)).context == mx.gpu(1)
    assert nd.array([1], ctx=mx.cpu(3)).ctx == mx.cpu(3)
    assert nd.ones(2).copyto(mx.cpu(1)).context == mx.cpu(1)
    assert nd.ones(2, ctx=mx.cpu(2)).copy().context == mx.cpu(2)
    with mx.gpu(2):
        assert nd.zeros((1,)).context == mx.gpu(2)
    x = nd.ones(1)
    assert x.as_in_context(mx.cpu(0)) is x
    moved = x.as_in_context(mx.gpu(0))
    assert moved.context == mx.gpu(0) and moved.asnumpy().tolist() == [1.0]
    target = nd.zeros(2, dtype="int32")
    assert nd.ones(2).copyto(target) is target
    assert target.asnumpy().tolist() == [1, 1] and target.dtype is np.int32
    with pytest.raises(MXNetError, match="differs"):
        nd.ones(2).copyto(nd.zeros(3))


# ---------------------------------------------------------------------- numpy shape semantics

def test_legacy_refuses_zero_size_and_0d_creation():
    for shape in ((0, 3), (), 0):
        with pytest.raises(MXNetError, match="numpy shape semantics"):
            nd.zeros(shape)
        with pytest.raises(MXNetError):
            nd.ones(shape)
    # ... but, as in MXNet, these are allowed:
    assert nd.array(np.zeros((0, 3))).shape == (0, 3)
    assert nd.empty((0,)).shape == (0,)
    assert nd.full((0,), 1).shape == (0,)
    assert nd.zeros((1,)).reshape(()).shape == ()


def test_np_shape_makes_0d_and_zero_size_real():
    with mx.util.np_shape(True):
        assert nd.zeros((0, 3)).shape == (0, 3)
        assert repr(nd.zeros(())) == "\n0.0\n<NDArray  @cpu(0)>"
        assert nd.ones(0).shape == (0,)
        assert nd.arange(4)[1].shape == ()
        v = nd.arange(4)
        v[1][()] = 9  # a real 0-d view
        assert v.asnumpy().tolist() == [0, 9, 2, 3]
        assert nd.arange(6).reshape(2, 3)[1, 2].asscalar() == 5.0
        assert [r.shape for r in nd.arange(3)] == [(), (), ()]
        assert nd.arange(6).reshape(2, 3).sum().shape == (1,)  # legacy NDArray ops keep (1,)
    assert nd.arange(4)[1].shape == (1,)
    mx.npx.set_np()
    try:
        assert nd.zeros((0,)).shape == (0,)
    finally:
        mx.npx.reset_np()
    with pytest.raises(MXNetError):
        nd.zeros((0,))


# ---------------------------------------------------------------------- pickling

def test_pickle_roundtrip():
    x = mx.nd.ones((2, 3))
    y = pickle.loads(pickle.dumps(x))
    assert type(y) is nd.NDArray
    assert y.asnumpy().tolist() == [[1.0] * 3] * 2
    assert y.dtype is np.float32 and y.context == mx.cpu(0)
    reduced = x.__reduce__()
    assert reduced[0] is nd.NDArray and reduced[1] == (None,)
    assert isinstance(reduced[2]["handle"], bytearray)


def test_pickle_keeps_dtype_and_context():
    x = nd.arange(6, dtype="int32", ctx=mx.gpu(1)).reshape(2, 3)
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype is np.int32 and y.context == mx.gpu(1)
    assert y.asnumpy().tolist() == [[0, 1, 2], [3, 4, 5]]


def test_save_load_names_are_exported():
    assert callable(nd.save) and callable(nd.load) and callable(nd.load_frombuffer)
    with pytest.raises(AttributeError):
        nd.no_such_function  # noqa: B018


# The pickle "handle" MXNet 1.9.1 writes for these arrays (x.__reduce__()[2]['handle'].hex()).
MXNET_HANDLES = [
    (lambda: nd.ones((2, 3)),
     "c9fa93f90000000002000000020000000000000003000000000000000100000000000000000000000000803f"
     "0000803f0000803f0000803f0000803f0000803f"),
    (lambda: nd.arange(3, dtype="int32"),
     "c9fa93f900000000010000000300000000000000010000000000000004000000000000000100000002000000"),
    (lambda: nd.sparse.row_sparse_array(([[1, 2]], [1]), shape=(3, 2)),
     "c9fa93f901000000020000000100000000000000020000000000000002000000030000000000000002000000"
     "00000000010000000000000000000000060000000100000001000000000000000000803f0000004001000000"
     "00000000"),
]


@pytest.mark.parametrize("make,handle", MXNET_HANDLES)
def test_pickle_handle_is_mxnets_bytes(make, handle):
    x = make()
    cls, args, state = x.__reduce__()
    assert (cls, args) == (type(x), (None,))
    assert bytes(state["handle"]).hex() == handle
    y = cls(*args)
    y.__setstate__({"handle": bytearray.fromhex(handle)})
    assert type(y) is type(x)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())


@st.composite
def _array_and_basic_key(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    parts = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        if draw(st.booleans()):
            parts.append(draw(st.integers(-n, n - 1)))
        else:
            start = draw(st.integers(0, n - 1))
            parts.append(slice(start, draw(st.integers(start + 1, n)),
                               draw(st.sampled_from([None, 1, 2]))))
    return shape, tuple(parts)


@settings(max_examples=80, deadline=None)
@given(_array_and_basic_key())
def test_basic_indexing_matches_numpy(case):
    shape, key = case
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = nd.array(data)
    expected = data[key]
    got = x[key]
    assert got.shape == (expected.shape or (1,))
    np.testing.assert_array_equal(got.asnumpy().ravel(), np.ravel(expected))
    x[key] = -1
    data[key] = -1
    np.testing.assert_array_equal(x.asnumpy(), data)
