"""MXNet's numpy-interface operators (src/mxlite/ops/numpy_ops.py) against MXNet 1.9.1:
forward values and dtypes, input gradients, refusals, the dtype tables of the binary and
scalar operators, and a Gluon model written with ``mx.np`` / ``mx.npx`` and exported by
MXNet, loaded with ``mx.sym.load``.

Data: tests/data/ops/numpy/, written by tests/fixtures/gen_numpy_ops.py.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd
from mxlite.base import MXNetError
from mxlite.ops import registry

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "numpy"
DOC = json.loads((DATA / "cases.json").read_text())
NPZ = np.load(DATA / "data.npz", allow_pickle=False)
CASES = {c["name"]: c for c in DOC["cases"]}
# MXNet 1.9.1 stacks (2, 3) with (3, 2) by reading the second as if it had the first's shape;
# mxlite refuses, as its legacy ``stack`` does.
DIVERGES = {"_npi_stack_bad"}
# MXNet 1.9.1's matmul backward gets the gradient of an operand broadcast along a batch axis
# that is not the leading one wrong (a (2, 1, 2, 3) @ (3, 3, 2) gradient for 'a' is not the
# sum over the broadcast axis); mxlite gives the true gradient, checked by finite differences.
MXNET_GRAD_BUGS = {"_npi_matmul_batch"}
RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture(autouse=True)
def _np_semantics():
    with mx.util.np_shape(True):
        yield


def _op(name: str):
    return getattr(mx.nd._internal, name)


def _arr(key: str, shape) -> np.ndarray:
    """A stored array in its recorded shape (the npz writer keeps 0-d arrays as (1,))."""
    return NPZ[key].reshape(shape)


def _nd(a: np.ndarray):
    return mx.nd.array(a, dtype=a.dtype)


def _inputs(c: dict) -> list:
    return [_nd(_arr(f"{c['name']}/in/{n}", s)) for n, s in zip(c["inputs"], c["in_shapes"])]


def _tol(dtype: np.dtype) -> dict:
    """float16 rounds once here and at every step in MXNet; other floats agree to rounding;
    integers and booleans exactly."""
    if dtype == np.float16:
        return {"rtol": 2e-3, "atol": 2e-3}
    return {"rtol": RTOL, "atol": ATOL} if dtype.kind == "f" else {"rtol": 0, "atol": 0}


def _close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                               **_tol(want.dtype))


@pytest.mark.parametrize("name", [n for n, c in CASES.items()
                                  if "error" not in c and n not in DIVERGES])
def test_forward_matches_mxnet(name):
    c = CASES[name]
    out = _op(c["op"])(*_inputs(c), **c["kwargs"])
    got = out.asnumpy()
    assert list(got.shape) == c["out_shape"]
    assert str(got.dtype) == c["out_dtype"]
    _close(got, _arr(f"{name}/out", c["out_shape"]))


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.get("grads")
                                  and n not in DIVERGES | MXNET_GRAD_BUGS])
def test_backward_matches_mxnet(name):
    c = CASES[name]
    xs = _inputs(c)
    for n, x in zip(c["inputs"], xs):
        if n in c["grads"]:
            x.attach_grad()
    with autograd.record():
        out = _op(c["op"])(*xs, **c["kwargs"])
    out.backward(_nd(_arr(f"{name}/head", c["out_shape"])))
    for n, x, s in zip(c["inputs"], xs, c["in_shapes"]):
        if n in c["grads"]:
            got, want = x.grad.asnumpy(), _arr(f"{name}/grad/{n}", s)
            assert got.dtype == want.dtype, (n, got.dtype, want.dtype)
            np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                       err_msg=n, **_tol(want.dtype))


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if "error" in c] + sorted(DIVERGES))
def test_refusals_match_mxnet(name):
    c = CASES[name]
    with pytest.raises(MXNetError, match=registry.get(c["op"]).name):
        _op(c["op"])(*_inputs(c), **c["kwargs"]).asnumpy()


def test_pad_has_no_gradient_outside_constant_mode():
    c = CASES["_npi_pad_grad_edge"]
    assert "Other modes are not supported" in c["backward_error"]
    (x,) = _inputs(c)
    x.attach_grad()
    with autograd.record():
        y = _op("_npi_pad")(x, **c["kwargs"])
    with pytest.raises(MXNetError, match="mode='edge'"):
        y.backward()


def _dtype_cases():
    for op, table in DOC["dtypes"].items():
        for key, want in table.items():
            yield op, key, want


@pytest.mark.parametrize("op, key, want", list(_dtype_cases()))
def test_dtypes_follow_mxnet(op, key, want):
    """Inference and the kernel give MXNet's dtype, or refuse where MXNet does."""
    entry = registry.get(op)
    if "_scalar" in op:
        t, is_int = key.split(",")
        attrs = entry.parse_attrs({"scalar": "2" if is_int == "True" else "2.5",
                                   "is_int": is_int})
        in_types = [np.dtype(t)]
        arrays = [np.array([1, 2, 3]).astype(t)]
    else:
        a, b = key.split(",")
        attrs = entry.parse_attrs({})
        in_types = [np.dtype(a), np.dtype(b)]
        arrays = [np.array([1, 2, 3]).astype(a), np.array([1, 1, 2]).astype(b)]
    if want == "error":
        with pytest.raises(MXNetError, match=op):
            entry.types(attrs, in_types)
        return
    _, outs = entry.types(attrs, in_types)
    assert str(outs[0]) == want
    with np.errstate(all="ignore"):
        (got,) = entry.forward(attrs, arrays, registry.OpContext())
    assert str(got.dtype) == want


@pytest.mark.parametrize("op, raw, word", [
    ("_npi_add_scalar", {"scalar": "abc"}, "scalar"),
    ("_npi_add_scalar", {"is_int": "maybe"}, "is_int"),
    ("_npi_pad", {"pad_width": "((1, 2), (3,))"}, "pad_width"),
    ("_npi_pad", {"pad_width": "((1, -2),)"}, "pad_width"),
    ("_npi_pad", {"pad_width": "((1, 1),)", "mode": "wrap"}, "mode"),
    ("_npx_reshape", {}, "newshape"),
    ("_npx_reshape", {"newshape": "(2, x)"}, "newshape"),
    ("_npi_concatenate", {"num_args": "2", "axis": "0.5"}, "axis"),
    ("_np_sum", {"dtype": "complex64"}, "dtype"),
    ("_npi_stack", {"axis": "0"}, "num_args"),
    ("_np_transpose", {"axes": "[a]"}, "axes"),
])
def test_bad_params_name_the_parameter(op, raw, word):
    with pytest.raises(MXNetError, match=word):
        registry.get(op).parse_attrs(raw, where="node0")


def test_npx_reshape_errors_name_the_shapes():
    x = mx.nd.ones((2, 3, 4, 5))
    with pytest.raises(MXNetError, match=r"_npx_reshape.*-3"):
        mx.nd._internal._npx_reshape(x, newshape=(-3,))
    with pytest.raises(MXNetError, match="newshape"):
        mx.nd._internal._npx_reshape(x, newshape=(-7,))


def test_zero_d_shapes_are_inferred():
    s = registry.get("_np_sum")
    assert s.shapes(s.parse_attrs({}), [(2, 3)])[1] == [()]
    assert s.shapes(s.parse_attrs({"axis": "()"}), [(2, 3)])[1] == [(2, 3)]
    m = registry.get("_npi_mean")
    assert m.shapes(m.parse_attrs({"axis": "(0,)", "keepdims": "1"}), [(2, 3)])[1] == [(1, 3)]
    add = registry.get("_npi_add")
    assert add.shapes(add.parse_attrs({}), [(), (4, 1)])[1] == [(4, 1)]


def test_registered_names_are_mxnets():
    from mxlite.ops import numpy_ops
    from mxlite.ops._mxnet_names import NAMES

    ours = {n for n, op in registry.all_names().items()
            if op.forward is not None and op.forward.__module__ == numpy_ops.__name__}
    assert len(ours) >= 70
    assert ours <= NAMES


def test_exported_np_model_loads_and_matches_mxnet():
    """An ``npx.set_np()`` HybridBlock exported by MXNet: every listed operator is in it."""
    model = DOC["model"]
    for op in ("_np_copy", "_np_transpose", "_npi_add", "_npi_add_scalar", "_npi_subtract",
               "_npi_subtract_scalar", "_npi_multiply", "_npi_multiply_scalar", "_npi_power",
               "_npi_power_scalar", "_npi_true_divide_scalar", "_npi_less",
               "_npi_less_equal", "_npi_tanh", "_npi_concatenate", "_npi_stack", "_npi_pad",
               "_npi_where_rscalar", "_npx_reshape"):
        assert op in model["ops"], op
    sym = mx.sym.load(str(DATA / "npmodel-symbol.json"))
    params = mx.nd.load(str(DATA / "npmodel-0000.params"))
    args = {k.split(":", 1)[-1]: v for k, v in params.items()}
    x = NPZ["model/x"]
    args["data"] = mx.nd.array(x)
    exe = sym.bind(mx.cpu(), args=args, grad_req="null")
    (out,) = exe.forward(is_train=False)
    want = NPZ["model/out"]
    assert out.shape == tuple(model["output_shape"])
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-4, atol=1e-4)
    _, out_shapes, _ = sym.infer_shape(data=tuple(model["input_shape"]))
    assert out_shapes == [tuple(model["output_shape"])]
    net = mx.gluon.SymbolBlock.imports(str(DATA / "npmodel-symbol.json"), ["data"],
                                       str(DATA / "npmodel-0000.params"))
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), want, rtol=1e-4, atol=1e-4)


def test_comparisons_pass_a_zero_gradient_as_mxnet_does():
    """MXNet 1.9.1: a = [1, 5, 3], b = [2, 2, 2]; z = where(a < b, a, b) * (a > 1.5) gives
    a.grad = [0, 0, 0], b.grad = [0, 1, 1] (recorded by hand from the reference build)."""
    a, b = mx.nd.array([1.0, 5.0, 3.0]), mx.nd.array([2.0, 2.0, 2.0])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        m = mx.nd._internal._npi_less(a, b)
        y = mx.nd._internal._npi_where(m, a, b)
        z = mx.nd._internal._npi_multiply(y, mx.nd._internal._npi_greater_scalar(a, scalar=1.5))
    z.backward()
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z.asnumpy(), [0, 2, 2])
    np.testing.assert_array_equal(a.grad.asnumpy(), [0, 0, 0])
    np.testing.assert_array_equal(b.grad.asnumpy(), [0, 1, 1])


def test_unary_maths_refuse_bool():
    with pytest.raises(MXNetError, match="_npi_exp.*bool"):
        mx.nd._internal._npi_exp(mx.nd.array([True, False], dtype=bool)).asnumpy()


def test_symbols_infer_numpy_dtypes_and_round_trip():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym._internal._npi_true_divide(mx.sym._internal._npi_add(a, b), b)
    _, outs, _ = s.infer_type(a="int32", b="float16")
    assert outs == [np.float16]
    _, outs, _ = mx.sym._internal._npi_true_divide(a, a).infer_type(a="int64")
    assert outs == [np.float32]
    with pytest.raises(MXNetError, match="_npi_subtract"):
        mx.sym._internal._npi_subtract(a, b).infer_type(a="int32", b="int64")
    r = mx.sym._internal._npx_reshape(a, newshape=(-2, -5), reverse=True)
    again = mx.sym.load_json(r.tojson())
    assert again.tojson() == r.tojson()
    _, outs, _ = again.infer_shape(a=(2, 3, 4))
    assert outs == [(2, 12)]


def test_matmul_broadcast_gradient_is_the_true_one():
    c = CASES["_npi_matmul_batch"]
    a, b = (_arr(f"{c['name']}/in/{n}", s).astype(np.float64)
            for n, s in zip(c["inputs"], c["in_shapes"]))
    head = _arr(f"{c['name']}/head", c["out_shape"]).astype(np.float64)
    xa, xb = _nd(a), _nd(b)
    xa.attach_grad()
    xb.attach_grad()
    with autograd.record():
        y = mx.nd._internal._npi_matmul(xa, xb)
    y.backward(_nd(head))
    eps = 1e-6
    for x, nd_grad, other, left in ((a, xa.grad, b, True), (b, xb.grad, a, False)):
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            d = np.zeros_like(x)
            d[i] = eps
            hi = np.matmul(x + d, other) if left else np.matmul(other, x + d)
            lo = np.matmul(x - d, other) if left else np.matmul(other, x - d)
            num[i] = ((hi - lo) * head).sum() / (2 * eps)
        np.testing.assert_allclose(nd_grad.asnumpy(), num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xb.grad.asnumpy(), _arr(f"{c['name']}/grad/b", c["in_shapes"][1]),
                               rtol=1e-5, atol=1e-5)  # MXNet's 'b' gradient is right
