"""mx.nd.NDArray.reshape and the shared reshape-code helper, against MXNet 1.9.1's answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray.shape_codes import infer_reshape

V, E = "V", "E"  # MXNet raised ValueError (size mismatch) / MXNetError (bad codes)

# (input shape, target, reverse, result shape or error), each row answered by MXNet 1.9.1.
CASES = [
    ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
    ((2, 3, 4), (2, 0, 0), False, (2, 3, 4)),
    ((2, 3, 4), (6, 1, -1), False, (6, 1, 4)),
    ((2, 3, 4), (3, -1, 8), False, (3, 1, 8)),
    ((2, 3, 4), (-1,), False, (24,)),
    ((2, 3, 4), (-2,), False, (2, 3, 4)),
    ((2, 3, 4), (2, -2), False, (2, 3, 4)),
    ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
    ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
    ((2, 3, 4), (-3, -2), False, (6, 4)),
    ((2, 3, 4), (-2, -3), False, 'E'),
    ((2, 3, 4), (0, -3), False, (2, 12)),
    ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), False, (40, 5)),
    ((10, 5, 4), (-1, 0), True, (50, 4)),
    ((2, 3, 4), (0, -1), True, (3, 8)),
    ((2, 3, 4), (-1, 0), True, (6, 4)),
    ((6, 4), (-4, 2, 3, 0), False, (2, 3, 4)),
    ((6, 4), (-4, -1, 3, -2), False, (2, 3, 4)),
    ((2, 3, 4), (0, 0, 0), False, (2, 3, 4)),
    ((2, 3, 4), (24,), False, (24,)),
    ((2, 3, 4), (-1, 2, 2), False, (6, 2, 2)),
    ((2, 3, 4), (-3, 0), True, (6, 4)),
    ((2, 3, 4, 5), (-3, -1), True, (12, 10)),
    ((2, 3, 4, 5), (0, -3, 0), True, (2, 12, 5)),
    ((6,), (-4, 2, -1), True, 'E'),
    ((2, 3), (-1, -1), False, 'E'),
    ((2, 3), (4, -1), False, 'V'),
    ((2, 3), (5,), False, 'V'),
    ((2, 3), (2, 2), False, 'V'),
    ((2, 3), (0, 0, 0), False, 'E'),
    ((2, 3), (-3, -3), False, 'E'),
    ((2, 3), (-4, -1, -1), False, 'E'),
    ((2, 3), (-4, 4, 2), False, 'E'),
    ((2, 3), (-4, 2), False, 'E'),
    ((2, 3), (-1,), True, (6,)),
    ((2, 3, 4), (-2, -1), False, 'V'),
    ((2, 3, 4), (-1, -2), False, (2, 3, 4)),
    ((1,), (-1,), False, (1,)),
    ((2, 3), (1, -1, 1, 2), False, (1, 3, 1, 2)),
    ((4,), (-1, 0), False, 'E'),
    ((2, 3, 4), (0, 0, -1, 1), False, (2, 3, 4, 1)),
]


@pytest.mark.parametrize("src,target,reverse,expected", CASES)
def test_reshape_codes_match_mxnet(src, target, reverse, expected):
    x = mx.nd.arange(int(np.prod(src))).reshape(src)
    if expected == V:
        with pytest.raises(ValueError, match="Cannot reshape array of size"):
            x.reshape(target, reverse=reverse)
        with pytest.raises(MXNetError):
            x.reshape(target, reverse=reverse)
    elif expected == E:
        with pytest.raises(MXNetError):
            x.reshape(target, reverse=reverse)
    else:
        y = x.reshape(target, reverse=reverse)
        assert y.shape == expected
        np.testing.assert_array_equal(y.asnumpy().ravel(), x.asnumpy().ravel())


def test_reshape_spellings():
    x = mx.nd.zeros((2, 3))
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape([6]).shape == (6,)
    assert x.reshape(shape=(3, 2)).shape == (3, 2)
    assert x.reshape(shape=(-1, 0), reverse=True).shape == (2, 3)
    with pytest.raises(TypeError, match="unknown keywords in reshape: foo"):
        x.reshape(3, 2, foo=1)


def test_reshape_larger_target_is_mxnet_error():
    with pytest.raises(MXNetError, match="larger than the current shape"):
        mx.nd.zeros((2, 3)).reshape(7)


def test_reshape_is_a_view():
    x = mx.nd.arange(6).reshape(2, 3)
    y = x.reshape(3, 2)
    y[:] = -1
    assert x.asnumpy().tolist() == [[-1.0] * 3] * 2


def test_infer_reshape_unknown_dims_propagate():
    assert infer_reshape((-1, 3, 4), (0, -3)) == (-1, 12)
    assert infer_reshape((2, -1), (-1,)) == (-1,)
    assert infer_reshape((-1, 4), (-4, 2, -1, 0)) == (2, -1, 4)
    assert infer_reshape((2, 3, 4), (-2, -1)) == (2, 1, 4, 1)  # MXNet's quirk, refused later


def test_infer_reshape_rejects_bad_codes():
    with pytest.raises(MXNetError, match="invalid code -5"):
        infer_reshape((2, 3), (-5, 1))
    with pytest.raises(MXNetError, match="outside the result"):
        infer_reshape((2, 3), (0, 0, -2, -1))


@st.composite
def _shape_and_divisor(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    n = int(np.prod(shape))
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    first = draw(st.sampled_from(divisors))
    return shape, first


@settings(max_examples=60, deadline=None)
@given(_shape_and_divisor())
def test_plain_reshape_matches_numpy(case):
    shape, first = case
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x = mx.nd.array(data)
    for target in ((first, -1), (-1,), (-1, first), (0, -2) if len(shape) > 1 else (-1,)):
        y = x.reshape(target)
        np.testing.assert_array_equal(y.asnumpy(), data.reshape(y.shape))
    if len(shape) >= 2:
        merged = x.reshape(-3, -2)
        assert merged.shape == (shape[0] * shape[1],) + shape[2:]
