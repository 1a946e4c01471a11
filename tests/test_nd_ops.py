"""``mx.nd.<op>``: every registry operator, imperatively, with MXNet's calling convention.

The convention tests use a few operators; test_nd_ops_against_mxnet runs every single-operator
case MXNet 1.9.1 recorded in tests/fixtures/ops (inference forward) through ``mx.nd``.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray.register import make_function
from mxlite.ops import registry


def _f(*v):
    return np.array(v, dtype=np.float32)


def test_every_registry_name_is_reachable():
    for name in registry.all_names():
        fn = getattr(mx.nd, name)
        assert callable(fn) and fn.__name__ == name
    assert mx.nd.array is not None and mx.nd.zeros is not None  # existing names stay
    with pytest.raises(AttributeError):
        mx.nd.not_an_operator_at_all  # noqa: B018


def test_positional_and_keyword_inputs():
    a, b = mx.nd.array([1, 2]), mx.nd.array([10, 20])
    np.testing.assert_array_equal(mx.nd.elemwise_add(a, b).asnumpy(), _f(11, 22))
    np.testing.assert_array_equal(mx.nd.elemwise_sub(lhs=a, rhs=b).asnumpy(), _f(-9, -18))
    np.testing.assert_array_equal(mx.nd.elemwise_sub(a, rhs=b).asnumpy(), _f(-9, -18))
    # aliases call the same operator
    np.testing.assert_array_equal(mx.nd._plus(a, b).asnumpy(), _f(11, 22))


def test_parameters_positional_and_keyword():
    a = mx.nd.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(mx.nd._plus_scalar(a, scalar=1).asnumpy(),
                                  _f(2, 3, 4, 5).reshape(2, 2))
    np.testing.assert_array_equal(mx.nd._plus_scalar(a, 1.5).asnumpy(),
                                  _f(2.5, 3.5, 4.5, 5.5).reshape(2, 2))
    np.testing.assert_array_equal(mx.nd.sum(a, axis=1).asnumpy(), _f(3, 7))
    np.testing.assert_array_equal(mx.nd.sum(a, 0, True).asnumpy(), _f(4, 6).reshape(1, 2))
    np.testing.assert_array_equal(mx.nd.sum(a, axis=(0, 1)).asnumpy(), _f(10))
    # a full reduction keeps MXNet's legacy (1,) shape
    assert mx.nd.sum(a).shape == (1,)
    with pytest.raises(MXNetError, match="unknown parameter 'bogus'"):
        mx.nd.sum(a, bogus=1)


def test_variadic_operators_count_their_inputs():
    a, b, c = mx.nd.array([1]), mx.nd.array([2]), mx.nd.array([4])
    np.testing.assert_array_equal(mx.nd.add_n(a, b, c).asnumpy(), _f(7))
    np.testing.assert_array_equal(mx.nd.ElementWiseSum(a, b).asnumpy(), _f(3))


def test_out_writes_in_place():
    a, b = mx.nd.array([1, 2]), mx.nd.array([3, 4])
    out = mx.nd.zeros(2)
    held = out._data
    r = mx.nd.elemwise_mul(a, b, out=out)
    assert r is out and out._data is held
    np.testing.assert_array_equal(held, _f(3, 8))
    with pytest.raises(MXNetError, match="shape"):
        mx.nd.elemwise_mul(a, b, out=mx.nd.zeros(3))


def test_creation_operators_take_ctx_and_dtype():
    z = mx.nd._zeros(shape=(2, 3), dtype="int32")
    assert z.shape == (2, 3) and z.dtype == np.int32
    o = mx.nd._ones(shape=(2,), dtype=np.float64, ctx=mx.cpu(0))
    assert o.dtype == np.float64 and o.context == mx.cpu(0)
    np.testing.assert_array_equal(mx.nd._arange(start=0, stop=3).asnumpy(), _f(0, 1, 2))


def test_missing_input_and_extra_input_are_errors():
    a = mx.nd.array([1])
    with pytest.raises(MXNetError, match="input 'rhs'"):
        mx.nd.elemwise_add(a)
    with pytest.raises(MXNetError, match="takes 2"):
        mx.nd.elemwise_add(a, a, a)
    with pytest.raises(TypeError):
        mx.nd.elemwise_add([1], a)


def test_sparse_inputs_run_densified():
    dense = np.array([[0, -2, 0], [3, 0, 0]], np.float32)
    rs = mx.nd.array(dense).tostype("row_sparse")
    csr = mx.nd.array(dense).tostype("csr")
    np.testing.assert_array_equal(mx.nd.relu(rs).asnumpy(), np.maximum(dense, 0))
    np.testing.assert_array_equal(mx.nd.elemwise_add(rs, csr).asnumpy(), 2 * dense)


def test_multi_output_returns_a_list():
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    parts = mx.nd.split(x, num_outputs=3, axis=1)
    assert isinstance(parts, list) and len(parts) == 3
    np.testing.assert_array_equal(parts[2].asnumpy(), _f(2, 5).reshape(2, 1))


def test_batchnorm_visible_outputs_and_aux_arrays():
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.standard_normal((2, 3, 4)).astype(np.float32))
    gamma, beta = mx.nd.array([1, 2, 3]), mx.nd.array([0, 1, 0])
    mean, var = mx.nd.array([0.5, 0, -0.5]), mx.nd.array([1, 4, 0.25])
    y = mx.nd.BatchNorm(x, gamma, beta, mean, var, fix_gamma=False, eps=1e-5)
    assert isinstance(y, mx.nd.NDArray)
    m, v = mean.asnumpy()[None, :, None], var.asnumpy()[None, :, None]
    want = (x.asnumpy() - m) / np.sqrt(v + 1e-5) * gamma.asnumpy()[None, :, None] \
        + beta.asnumpy()[None, :, None]
    np.testing.assert_allclose(y.asnumpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mean.asnumpy(), _f(0.5, 0, -0.5))  # inference: unchanged
    outs = mx.nd.BatchNorm(x, gamma, beta, mean, var, output_mean_var=True)
    assert isinstance(outs, list) and len(outs) == 3


# ----------------------------------------------------------------------------------------
# Every recorded single-operator case through mx.nd.

FIX = pathlib.Path(__file__).parent / "fixtures" / "ops"
DOC = json.loads((FIX / "cases.json").read_text())
CASES = {k: v for k, v in DOC["cases"].items()
         if "error" not in v and "error" not in v.get("forward", {}).get("infer", {"error": 1})}
TOL = {"float16": (2e-2, 2e-2), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}


@pytest.fixture(scope="module")
def oracle():
    return np.load(FIX / "data.npz")


@pytest.mark.parametrize("cid", list(CASES))
def test_nd_ops_against_mxnet(cid, oracle):
    case = CASES[cid]
    op = registry.get(case["op"])
    kwargs = dict(case["kwargs"])
    given = [i["name"] for i in case["inputs"]]
    if op.key_var_num_args and op.key_var_num_args not in kwargs:
        kwargs[op.key_var_num_args] = str(len(given))
    attrs = op.parse_attrs(kwargs, where="op")
    names = op.list_inputs(attrs)
    aux = set(case["aux_states"])

    def arr(n):
        key = f"{cid}/auxin/{n}" if n in aux else f"{cid}/in/{n}"
        return mx.nd.array(oracle[key], dtype=oracle[key].dtype)

    positional = [arr(given[i] if i < len(given) else f"op_{n}") for i, n in
                  enumerate(names[:len(given)])]
    keyword = {n: arr(f"op_{n}") for n in names[len(given):]}
    # The registry's function (mx.nd.stack & co. are the NDArray module's own versions).
    res = make_function(case["op"])(*positional, **keyword, **kwargs)
    res = res if isinstance(res, list) else [res]
    info = case["forward"]["infer"]
    n_vis = op.visible_outputs(attrs)
    assert len(res) == n_vis
    for i, got in enumerate(res):
        key = f"{cid}/out{i}/infer"
        want_shape = tuple(info["shapes"][i]) or (1,)
        assert got.shape == (oracle[key].shape if key in oracle.files else want_shape)
        if key not in oracle.files:
            assert str(got.dtype.__name__ if isinstance(got.dtype, type) else got.dtype) == \
                info["dtypes"][i]
            continue
        want = oracle[key]
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(got.asnumpy(), want, err_msg=key)
        else:
            rtol, atol = TOL.get(str(want.dtype), TOL["float32"])
            np.testing.assert_allclose(got.asnumpy().astype(want.dtype), want, rtol=rtol,
                                       atol=atol, err_msg=key)
