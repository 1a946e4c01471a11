"""The ``_linalg_*`` operators: MXNet 1.9.1's values (tests/data/ops/linalg, from
tests/fixtures/gen_linalg_contrib.py), finite differences, the symbol namespace and refusals."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from gradcheck import gradients

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "linalg"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
CASES = [c for c in DOC["cases"] if c["func"].startswith("linalg")]


def _fn(func: str):
    fn = mx.nd
    for part in func.split("."):
        fn = getattr(fn, part)
    return fn


def _run(case: dict):
    name = case["name"]
    nds = {k: mx.nd.array(ARRAYS[f"{name}/in/{k}"], dtype=ARRAYS[f"{name}/in/{k}"].dtype)
           for k in case["inputs"]}
    for k in case.get("grads", []):
        nds[k].attach_grad()
    with mx.autograd.record():
        out = _fn(case["func"])(**nds, **case["kwargs"])
    return nds, out if isinstance(out, list) else [out]


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c], ids=lambda c: c["name"])
def test_matches_mxnet(case):
    name = case["name"]
    nds, outs = _run(case)
    assert len(outs) == case["outputs"]
    tol = 1e-5 if outs[0].dtype == np.float32 else 1e-9
    for i, o in enumerate(outs):
        want = ARRAYS[f"{name}/out{i}"]
        assert o.shape == want.shape and o.dtype == want.dtype
        np.testing.assert_allclose(o.asnumpy(), want, rtol=tol * 10, atol=tol)
    mx.autograd.backward(outs, [mx.nd.array(ARRAYS[f"{name}/head{i}"],
                                             dtype=ARRAYS[f"{name}/head{i}"].dtype)
                                for i in range(len(outs))])
    for k in case["grads"]:
        np.testing.assert_allclose(nds[k].grad.asnumpy(), ARRAYS[f"{name}/grad/{k}"],
                                   rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=lambda c: c["name"])
def test_refused_like_mxnet(case):
    nds = {k: mx.nd.array(ARRAYS.get(f"{case['name']}/in/{k}", np.ones((5, 3))))
           for k in case["inputs"]}
    with pytest.raises(MXNetError, match=case["func"].split(".")[-1].replace("linalg_", "")):
        _fn(case["func"])(**nds, **case["kwargs"])


# ----------------------------------------------------------------------------------------
# Finite differences: every gradient is the derivative of sum(head * output).


RNG = np.random.default_rng(11)
_A = RNG.standard_normal((2, 3, 3))
_SPD = _A @ np.swapaxes(_A, -1, -2) + 3 * np.eye(3)
_TRI = np.tril(RNG.standard_normal((2, 3, 3))) + 3 * np.eye(3)


@pytest.mark.parametrize("func, inputs, kwargs", [
    ("gemm", {"A": RNG.standard_normal((2, 3)), "B": RNG.standard_normal((4, 2)),
              "C": RNG.standard_normal((3, 4))},
     {"transpose_a": True, "transpose_b": True, "alpha": 0.7, "beta": -2.0}),
    ("gemm2", {"A": RNG.standard_normal((2, 3, 2, 4)), "B": RNG.standard_normal((2, 4, 2, 3))},
     {"axis": 1}),
    ("trmm", {"A": _TRI, "B": RNG.standard_normal((2, 3, 2))}, {"transpose": True}),
    ("trsm", {"A": _TRI, "B": RNG.standard_normal((2, 2, 3))},
     {"rightside": True, "alpha": 2.0}),
    ("syrk", {"A": RNG.standard_normal((3, 4))}, {"transpose": True, "alpha": 1.5}),
    ("gelqf", {"A": RNG.standard_normal((2, 4))}, {}),
    ("sumlogdiag", {"A": _SPD}, {}),
    ("extracttrian", {"A": RNG.standard_normal((3, 3))}, {"offset": 1}),
    ("maketrian", {"A": RNG.standard_normal((2, 3))}, {"lower": False}),
    ("extractdiag", {"A": RNG.standard_normal((3, 3))}, {"offset": -1}),
    ("makediag", {"A": RNG.standard_normal((2, 2))}, {"offset": 1}),
    ("inverse", {"A": _SPD}, {}),
    ("det", {"A": _A}, {}),
    ("slogdet", {"A": _A}, {}),
])
def test_finite_differences(func, inputs, kwargs):
    grads = gradients(getattr(mx.nd.linalg, func), inputs, list(inputs), kwargs)
    for k, (got, num) in grads.items():
        if func in ("trmm", "trsm") and k == "A":  # A's other triangle is not read
            got, num = np.tril(got), np.tril(num)
        np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-6, err_msg=k)


def test_potrf_gradient_is_the_symmetric_one():
    """potrf reads one triangle; MXNet's gradient is the symmetric matrix whose lower part
    (off-diagonal doubled) is the one-sided finite difference."""
    got, num = gradients(mx.nd.linalg.potrf, {"A": _SPD[0]}, ["A"])["A"]

    def lower(g):
        return np.tril(g + g.T) - np.diag(np.diag(g))

    np.testing.assert_allclose(lower(got), lower(num), rtol=1e-5, atol=1e-6)


def test_syevd_matches_its_decomposition_and_gradient():
    a = _SPD[1]
    u, lam = mx.nd.linalg.syevd(mx.nd.array(a, dtype="float64"))
    u, lam = u.asnumpy(), lam.asnumpy()
    np.testing.assert_allclose(u.T @ np.diag(lam) @ u, a, atol=1e-12)
    assert (np.diff(lam) > 0).all()
    # a symmetric perturbation: the gradient of sum(h * L) is U^T diag(h) U
    h = np.array([1.0, -2.0, 0.5])
    x = mx.nd.array(a, dtype="float64")
    x.attach_grad()
    with mx.autograd.record():
        out = mx.nd.linalg.syevd(x)[1]
    out.backward(mx.nd.array(h, dtype="float64"))
    np.testing.assert_allclose(x.grad.asnumpy(), u.T @ np.diag(h) @ u, atol=1e-12)


# ----------------------------------------------------------------------------------------
# Namespaces, inference and refusals.


def test_symbol_namespace_and_inference():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    s = mx.sym.linalg.gemm2(a, b, transpose_b=True)
    arg, out, _ = s.infer_shape(a=(2, 3, 4), b=(2, 5, 4))
    assert out == [(2, 3, 5)]
    s = mx.sym.linalg.slogdet(a)
    assert s.list_outputs() == [f"{s.name}_output0", f"{s.name}_output1"]
    assert s.infer_shape(a=(2, 3, 3))[1] == [(2,), (2,)]
    assert mx.sym.linalg.det(a).infer_shape(a=(3, 3))[1] == [(1,)]
    assert mx.sym.linalg.syevd(a).infer_shape(a=(2, 4, 3, 3))[1] == [(2, 4, 3, 3), (2, 4, 3)]
    assert mx.sym.linalg.gelqf(a).infer_shape(a=(3, 5))[1] == [(3, 5), (3, 3)]
    assert mx.sym.linalg.maketrian(a, offset=1).infer_shape(a=(2, 6))[1] == [(2, 4, 4)]
    assert mx.sym.linalg.extracttrian(a, offset=-1).infer_shape(a=(2, 4, 4))[1] == [(2, 6)]
    assert mx.sym.linalg_makediag(a, offset=-2).infer_shape(a=(2, 3))[1] == [(2, 5, 5)]


def test_executor_runs_det_with_hidden_outputs():
    a = mx.sym.var("a")
    s = mx.sym.linalg.det(a) * 2
    exe = s.simple_bind(mx.cpu(), a=(2, 2, 2))
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]], dtype=np.float32)
    out = exe.forward(is_train=True, a=mx.nd.array(x))[0]
    np.testing.assert_allclose(out.asnumpy(), [-4.0, 12.0], rtol=1e-6)
    exe.backward(mx.nd.ones((2,)))
    want = 2 * np.linalg.det(x)[:, None, None] * np.swapaxes(np.linalg.inv(x), -1, -2)
    np.testing.assert_allclose(exe.grad_dict["a"].asnumpy(), want, rtol=1e-5)


@pytest.mark.parametrize("func, shape, kwargs, words", [
    ("gemm2", (2, 3, 4), {"axis": -1}, "axis"),
    ("gemm2", (2, 3, 4), {"axis": 5}, "axis"),
    ("extractdiag", (3, 3), {"offset": 3}, "offset"),
    ("maketrian", (2, 5), {}, "triangular"),
    ("potrf", (3,), {}, "2 dims"),
    ("inverse", (2, 3), {}, "square"),
])
def test_bad_arguments_name_the_parameter(func, shape, kwargs, words):
    x = mx.nd.ones(shape)
    with pytest.raises(MXNetError, match=words):
        if func == "gemm2":
            getattr(mx.nd.linalg, func)(x, x, **kwargs)
        else:
            getattr(mx.nd.linalg, func)(x, **kwargs)


def test_potrf_refuses_an_indefinite_matrix():
    with pytest.raises(MXNetError, match="positive definite"):
        mx.nd.linalg.potrf(mx.nd.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(MXNetError, match="lower"):
        mx.nd.linalg.potrf(mx.nd.ones((2, 2)), lower="maybe")
