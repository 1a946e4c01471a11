"""Small ``_contrib_*`` operators, ``_ravel_multi_index`` / ``_unravel_index`` and the legacy
``*_v1`` layers: MXNet 1.9.1's values (tests/data/ops/linalg, from
tests/fixtures/gen_linalg_contrib.py), finite differences and refusals."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from gradcheck import gradients

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import contrib, registry

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "linalg"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
CASES = [c for c in DOC["cases"] if not c["func"].startswith(("linalg", "random_pdf"))]


def _fn(func: str):
    fn = mx.nd
    for part in func.split("."):
        fn = getattr(fn, part)
    return fn


def _inputs(case: dict) -> dict:
    name = case["name"]
    return {k: mx.nd.array(ARRAYS[f"{name}/in/{k}"], dtype=ARRAYS[f"{name}/in/{k}"].dtype)
            for k in case["inputs"]}


def _heads(case: dict) -> list:
    return [mx.nd.array(ARRAYS[f"{case['name']}/head{i}"],
                        dtype=ARRAYS[f"{case['name']}/head{i}"].dtype)
            for i in range(case["outputs"])]


def _run_imperative(case: dict):
    nds = _inputs(case)
    for k in case["grads"]:
        nds[k].attach_grad()
    with mx.autograd.record():
        out = _fn(case["func"])(**nds, **case["kwargs"])
    outs = out if isinstance(out, list) else [out]
    if case["grads"]:
        mx.autograd.backward(outs, _heads(case))
    return outs, {k: nds[k].grad for k in case["grads"]}, nds


def _run_symbol(case: dict):
    nds = _inputs(case)
    op = case["func"][4:]
    sym = getattr(mx.sym, op)(**{k: mx.sym.var(k) for k in nds}, name="op", **case["kwargs"])
    aux_names = sym.list_auxiliary_states()
    args = {k: v for k, v in nds.items() if k not in aux_names}
    aux = {k: v for k, v in nds.items() if k in aux_names}
    grads = {k: mx.nd.zeros_like(v) for k, v in args.items()}
    req = {k: "write" if k in case["grads"] else "null" for k in args}
    exe = sym.bind(mx.cpu(), args=args, args_grad=grads, grad_req=req, aux_states=aux)
    outs = exe.forward(is_train=True)
    exe.backward(_heads(case))
    return outs, {k: grads[k] for k in case["grads"]}, nds


@pytest.mark.parametrize("case", [c for c in CASES if "error" not in c], ids=lambda c: c["name"])
def test_matches_mxnet(case):
    name = case["name"]
    run = _run_symbol if case["func"].startswith("sym.") else _run_imperative
    outs, grads, nds = run(case)
    assert len(outs) == case["outputs"]
    f32 = ARRAYS[f"{name}/out0"].dtype == np.float32
    tol = dict(rtol=1e-5, atol=1e-5) if f32 else dict(rtol=1e-9, atol=1e-12)
    for i, o in enumerate(outs):
        want = ARRAYS[f"{name}/out{i}"]
        assert o.shape == want.shape and np.dtype(o.dtype) == want.dtype, i
        np.testing.assert_allclose(o.asnumpy(), want, **tol)
    for k, g in grads.items():
        np.testing.assert_allclose(g.asnumpy(), ARRAYS[f"{name}/grad/{k}"], **tol)
    for k in ("moving_mean", "moving_var"):
        if f"{name}/after/{k}" in ARRAYS.files:
            np.testing.assert_allclose(nds[k].asnumpy(), ARRAYS[f"{name}/after/{k}"], **tol)


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=lambda c: c["name"])
def test_refused_like_mxnet(case):
    nds = {"data": mx.nd.ones((2, 3)), "index": mx.nd.array([1, 0, 1])}
    with pytest.raises(MXNetError, match="axis"):
        _fn(case["func"])(**nds, **case["kwargs"])


# ----------------------------------------------------------------------------------------
# Finite differences.


RNG = np.random.default_rng(8)


@pytest.mark.parametrize("func, inputs, kwargs, wrt", [
    ("interleaved_matmul_selfatt_qk", {"queries_keys_values": RNG.standard_normal((3, 2, 12))},
     {"heads": 2}, ["queries_keys_values"]),
    ("interleaved_matmul_selfatt_valatt",
     {"queries_keys_values": RNG.standard_normal((3, 2, 6)),
      "attention": RNG.standard_normal((2, 3, 3))}, {"heads": 1},
     ["queries_keys_values", "attention"]),
    ("interleaved_matmul_encdec_qk", {"queries": RNG.standard_normal((2, 2, 4)),
                                      "keys_values": RNG.standard_normal((3, 2, 8))},
     {"heads": 2}, ["queries", "keys_values"]),
    ("interleaved_matmul_encdec_valatt", {"keys_values": RNG.standard_normal((3, 1, 8)),
                                          "attention": RNG.standard_normal((2, 2, 3))},
     {"heads": 2}, ["keys_values", "attention"]),
    ("div_sqrt_dim", {"data": RNG.standard_normal((2, 9))}, {}, ["data"]),
    ("quadratic", {"data": RNG.standard_normal((3,))}, {"a": 2.0, "b": 1.0}, ["data"]),
    ("index_copy", {"old_tensor": RNG.standard_normal((4, 2)),
                    "index_vector": np.array([1.0, 3.0]),
                    "new_tensor": RNG.standard_normal((2, 2))}, {},
     ["old_tensor", "new_tensor"]),
    ("boolean_mask", {"data": RNG.standard_normal((4, 2)), "index": np.array([0, 1, 1, 0.0])},
     {}, ["data"]),
])
def test_finite_differences(func, inputs, kwargs, wrt):
    grads = gradients(getattr(mx.nd.contrib, func), inputs, wrt, kwargs)
    assert sorted(grads) == sorted(wrt)
    for k, (got, num) in grads.items():
        np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-7, err_msg=k)


# ----------------------------------------------------------------------------------------
# Data-dependent shapes, namespaces, refusals.


def test_boolean_mask_has_no_static_shape():
    data, index = mx.sym.var("data"), mx.sym.var("index")
    s = mx.sym.contrib.boolean_mask(data, index, name="keep")
    with pytest.raises(MXNetError, match=r"(?s)keep.*depends on the values of input 'index'"):
        s.infer_shape(data=(4, 3), index=(4,))
    with pytest.raises(MXNetError, match="keep"):
        s.simple_bind(mx.cpu(), data=(4, 3), index=(4,))
    # imperatively it runs, under autograd too, and downstream ops see the real shape
    x = mx.nd.array(np.arange(12.0).reshape(4, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.contrib.boolean_mask(x, mx.nd.array([1, 0, 0, 1])) * 2
    y.backward()
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(x.grad.asnumpy()[:, 0], [2, 0, 0, 2])


def test_interleaved_refusals_name_the_parameter():
    x = mx.nd.ones((3, 2, 12))
    with pytest.raises(MXNetError, match="heads"):
        mx.nd.contrib.interleaved_matmul_selfatt_qk(x, heads=5)
    with pytest.raises(MXNetError, match="heads"):
        mx.nd.contrib.interleaved_matmul_selfatt_qk(x)
    with pytest.raises(MXNetError, match="3 dims"):
        mx.nd.contrib.interleaved_matmul_selfatt_qk(mx.nd.ones((3, 12)), heads=2)
    s = mx.sym.contrib.interleaved_matmul_selfatt_qk(mx.sym.var("qkv"), heads=2)
    assert s.infer_shape(qkv=(5, 3, 24))[1] == [(6, 5, 5)]
    s = mx.sym.contrib.interleaved_matmul_encdec_valatt(mx.sym.var("kv"), mx.sym.var("att"),
                                                        heads=2)
    assert s.infer_shape(kv=(5, 3, 16), att=(6, 4, 5))[1] == [(4, 3, 8)]


def test_index_helpers_refuse_bad_values():
    with pytest.raises(MXNetError, match="index_vector"):
        mx.nd.contrib.index_copy(mx.nd.zeros((3, 2)), mx.nd.array([5]), mx.nd.ones((1, 2)))
    with pytest.raises(MXNetError, match="new_tensor"):
        mx.nd.contrib.index_copy(mx.nd.zeros((3, 2)), mx.nd.array([1]), mx.nd.ones((1, 3)))
    with pytest.raises(MXNetError, match="shape"):
        mx.nd.unravel_index(mx.nd.array([1.0]))
    with pytest.raises(MXNetError, match="axes"):
        mx.nd.contrib.index_array(mx.nd.ones((2, 2)), axes=(3,))
    with pytest.raises(MXNetError, match="repeat"):
        mx.nd.contrib.arange_like(mx.nd.ones((2,)), repeat=0)
    with pytest.raises(MXNetError, match="pool_type"):
        mx.nd.Pooling_v1(mx.nd.ones((1, 1, 2, 2)), kernel=(1, 1), pool_type="lp")


def test_namespaces():
    assert mx.nd.contrib.div_sqrt_dim is mx.nd.contrib.div_sqrt_dim
    assert callable(mx.sym.contrib.index_copy) and callable(mx.sym.contrib.quadratic)
    assert mx.nd.contrib.arange_like(mx.nd.ones((2, 3)), axis=0).asnumpy().tolist() == [0, 1]
    assert mx.nd.contrib.allclose(mx.nd.ones(2), mx.nd.ones(2)).asnumpy().tolist() == [1]
    s = mx.sym.Convolution_v1(mx.sym.var("x"), kernel=(3, 3), num_filter=2, name="c")
    assert s.list_arguments() == ["x", "c_weight", "c_bias"]
    b = mx.sym.BatchNorm_v1(mx.sym.var("x"), name="bn")
    assert b.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert b.infer_shape(x=(2, 3, 4, 4))[2] == [(3,), (3,)]


def test_legacy_scalar_names_map_to_operators():
    for legacy, name in contrib.LEGACY_ALIASES.items():
        assert legacy.startswith("__") and legacy.endswith("_scalar__")
        assert registry.find(name) is not None, name


@pytest.mark.parametrize("call, words", [
    (lambda: mx.nd.Convolution_v1(mx.nd.ones((1, 2, 5)), mx.nd.ones((3, 2, 3)), mx.nd.ones(3),
                                  kernel=(3,), num_filter=3), "kernel"),
    (lambda: mx.nd.Pooling_v1(mx.nd.ones((1, 2, 5)), kernel=(3,)), "4-D"),
    # MXNet 1.9.1 runs BatchNorm_v1 on 2-D and 4-D data, and refuses 3-D
    (lambda: mx.nd.BatchNorm_v1(mx.nd.ones((2, 3, 4)), mx.nd.ones(3), mx.nd.ones(3),
                                mx.nd.zeros(3), mx.nd.ones(3)), "4-D"),
])
def test_v1_layers_are_2d_or_3d(call, words):
    with pytest.raises(MXNetError, match=words):
        call()


def test_sparse_embedding_is_embedding_on_dense_arrays():
    w = mx.nd.array(np.arange(12.0).reshape(4, 3))
    # MXNet's SparseEmbedding writes a row_sparse weight gradient (a dense one is refused)
    w.attach_grad(stype="row_sparse")
    d = mx.nd.array([[1, 3], [0, 1]])
    with mx.autograd.record():
        y = mx.nd.contrib.SparseEmbedding(d, w, input_dim=4, output_dim=3)
    y.backward(mx.nd.ones_like(y))
    np.testing.assert_array_equal(y.asnumpy(), mx.nd.Embedding(d, w, input_dim=4,
                                                               output_dim=3).asnumpy())
    np.testing.assert_array_equal(w.grad.asnumpy()[:, 0], [1, 2, 0, 1])
    assert w.grad.stype == "row_sparse" and w.grad.indices.asnumpy().tolist() == [0, 1, 3]


def test_getnnz_counts_like_mxnet_on_csr():
    # MXNet 1.9.1 on this CSR matrix: [3] (int64, shape (1,)) and, with axis=1, [2, 1]
    d = mx.nd.array([[0, 1, 2], [0, 0, 3.0]]).tostype("csr")
    total = mx.nd.contrib.getnnz(d)
    assert total.dtype == np.int64 and total.asnumpy().tolist() == [3]
    assert mx.nd.contrib.getnnz(d, axis=1).asnumpy().tolist() == [2, 1]
    with pytest.raises(MXNetError, match="axis"):
        mx.nd.contrib.getnnz(d, axis=0)


def test_nnvm_dunder_scalar_names_load_from_json():
    doc = ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "__rsub_scalar__", '
           '"name": "p", "attrs": {"scalar": "5"}, "inputs": [[0, 0, 0]]}], '
           '"arg_nodes": [0], "heads": [[1, 0, 0]]}')
    sym = mx.sym.load_json(doc)
    np.testing.assert_array_equal(sym.eval(x=mx.nd.array([1.0, 2.0]))[0].asnumpy(), [4.0, 3.0])
    assert '"op": "_rminus_scalar"' in sym.tojson()


def test_mx_random_reaches_every_sampler():
    mx.random.seed(3)
    for name in ("gamma", "poisson", "negative_binomial", "generalized_negative_binomial"):
        assert getattr(mx.random, name)(shape=(4,)).shape == (4,)
    assert mx.random.multinomial(mx.nd.array([[0.5, 0.5]])).shape == (1,)
