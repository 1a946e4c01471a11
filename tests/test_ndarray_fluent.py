"""NDArray's fluent methods and mx.nd's python functions against MXNet 1.9.1.

Every case of tests/data/ndarray_api.json (written by tests/fixtures/gen_nd_api.py) is an
expression evaluated with ``mx`` and the recorded inputs in scope; the result must have MXNet's
structure (array, list, tuple, Python number), dtypes and shapes exactly and its values to
float32 rounding (integers exactly). A case MXNet refused must be refused too.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops.fluent import FLUENT

DOC = json.loads((DATA / "ndarray_api.json").read_text())

# MXNet API with no mxlite counterpart: autograd, DLPack and the numpy-array front end.
NOT_PROVIDED = {"backward", "to_dlpack_for_read", "to_dlpack_for_write", "as_np_ndarray",
                "handle", "from_dlpack", "imdecode", "DLContext", "DLDataType",
                "DLManagedTensor", "DLTensor", "check_boolean_array_dimension",
                "get_indexing_dispatch_code", "get_oshape_of_gather_nd_op",
                "indexing_key_expand_implicit_axes"}

# Cases whose operator kernel (src/mxlite/ops/, not this front end) still differs from MXNet.
KERNEL_GAPS: dict[str, str] = {}

_ERRORS = {"MXNetError": MXNetError, "ValueError": ValueError, "TypeError": TypeError}


def _env() -> dict:
    env = {"mx": mx}
    env.update({k: mx.nd.array(v["value"], dtype=v["dtype"]) for k, v in DOC["inputs"].items()})
    return env


def _check(got, want: dict, where: str) -> None:
    kind = want["kind"]
    if kind == "nd":
        assert isinstance(got, mx.nd.NDArray), f"{where}: expected an NDArray, got {got!r}"
        assert np.dtype(got.dtype).name == want["dtype"], where
        assert list(got.shape) == want["shape"], where
        expect = np.array(want["value"], dtype=want["dtype"]).reshape(want["shape"])
        if expect.dtype.kind == "f":
            np.testing.assert_allclose(got.asnumpy(), expect, rtol=2e-6, atol=1e-6,
                                       equal_nan=True, err_msg=where)
        else:
            np.testing.assert_array_equal(got.asnumpy(), expect, err_msg=where)
    elif kind in ("list", "tuple"):
        assert type(got).__name__ == kind, f"{where}: expected a {kind}, got {type(got)}"
        assert len(got) == len(want["items"]), where
        for i, (g, w) in enumerate(zip(got, want["items"])):
            _check(g, w, f"{where}[{i}]")
    else:
        assert type(got).__name__ == want["type"], where
        assert got == want["value"], where


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c["expr"], marks=pytest.mark.xfail(reason=KERNEL_GAPS[c["expr"]],
                                                          raises=MXNetError, strict=True))
    if c["expr"] in KERNEL_GAPS else pytest.param(c, id=c["expr"]) for c in DOC["cases"]])
def test_against_mxnet(case):
    expr, want = case["expr"], case["out"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if want["kind"] == "error":
            with pytest.raises(_ERRORS[want["type"]]):
                eval(expr, _env())
            return
        got = eval(expr, _env())
    _check(got, want, expr)


def test_every_mxnet_method_and_function_exists():
    missing = [n for n in DOC["ndarray_attributes"]
               if n not in NOT_PROVIDED and not hasattr(mx.nd.NDArray, n)]
    assert missing == []
    missing = [n for n in DOC["ndarray_functions"]
               if n not in NOT_PROVIDED and not callable(getattr(mx.nd, n, None))]
    assert missing == []
    tested = " ".join(c["expr"] for c in DOC["cases"])
    assert [n for n in FLUENT if f".{n}(" not in tested] == []


def test_fluent_methods_are_shared_with_symbol():
    for name in FLUENT:
        assert callable(getattr(mx.nd.NDArray, name)) and callable(getattr(mx.sym.Symbol, name))
    x = mx.sym.var("x")
    assert (x.softmax(axis=0, name="s").tojson()
            == mx.sym.softmax(x, axis=0, name="s").tojson())


def test_existing_methods_keep_their_own_definitions():
    # NDArray's hand-written methods (views, legacy reductions) are not replaced by the table.
    a = mx.nd.array([[1, 2], [3, 4]])
    v = a.reshape((4,))
    v[0] = 9
    assert a.asnumpy()[0, 0] == 9
    assert a.sum().shape == (1,)
    e = a.expand_dims(0, inplace=True)
    e[0, 0, 1] = 7
    assert a.asnumpy()[0, 1] == 7


def test_fluent_out_and_ctx():
    a = mx.nd.array([[1, -2], [3, -4]])
    out = mx.nd.zeros((2, 2))
    assert a.relu(out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), [[1, 0], [3, 0]])
    assert a.exp().context == a.context


def test_slice_assign_is_in_place_and_checks_the_crop():
    a = mx.nd.zeros((2, 3))
    assert a.slice_assign(mx.nd.ones((2, 1)), (None, 2), (None, 3), ()) is a
    np.testing.assert_array_equal(a.asnumpy(), [[0, 0, 1], [0, 0, 1]])
    with pytest.raises(MXNetError, match="crop"):
        a.slice_assign(mx.nd.ones((2, 2)), (0, 0), (2, 1), (None, None))
    with pytest.raises(MXNetError, match="step"):
        a.slice_assign_scalar(1, (0,), (2,), (0,))


def test_functions_refuse_other_operand_types():
    a = mx.nd.ones((2,))
    for fn in (mx.nd.add, mx.nd.maximum, mx.nd.lesser):
        with pytest.raises(TypeError, match="not supported"):
            fn(a, "x")
        with pytest.raises(TypeError, match="not supported"):
            fn([1], a)


def test_scalar_operands_accept_numpy_scalars():
    a = mx.nd.array([1.0, 4.0])
    np.testing.assert_array_equal(mx.nd.subtract(np.float32(5), a).asnumpy(), [4, 1])
    np.testing.assert_array_equal(mx.nd.power(a, np.int64(2)).asnumpy(), [1, 16])


def test_split_v2_refuses_unequal_sections():
    with pytest.raises(ValueError, match="equal division"):
        mx.nd.split_v2(mx.nd.ones((2, 3)), 2, axis=1)
    with pytest.raises(ValueError, match="int or tuple"):
        mx.nd.split_v2(mx.nd.ones((2, 3)), [1], axis=1)


def test_histogram_without_range_warns_as_mxnet_does():
    with pytest.warns(UserWarning, match="range is not specified"):
        counts, edges = mx.nd.histogram(mx.nd.array([0, 1, 1, 3]), bins=3)
    np.testing.assert_array_equal(counts.asnumpy(), [1, 2, 1])
    np.testing.assert_allclose(edges.asnumpy(), [0, 1, 2, 3])


def test_internal_and_op_namespaces():
    a = mx.nd.array([1.0, 2.0])
    np.testing.assert_array_equal(mx.nd._internal._plus_scalar(a, 3).asnumpy(), [4, 5])
    np.testing.assert_array_equal(mx.nd._internal._rminus_scalar(a, scalar=3).asnumpy(), [2, 1])
    np.testing.assert_array_equal(mx.nd.op.broadcast_mul(a, a).asnumpy(), [1, 4])
    assert "_plus_scalar" in dir(mx.nd._internal)
    with pytest.raises(AttributeError):
        mx.nd._internal.no_such_operator  # noqa: B018
