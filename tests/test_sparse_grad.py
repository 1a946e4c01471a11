"""Sparse gradient storage (``attach_grad(stype=...)``, ``grad_stype`` / ``stype`` Parameters,
row_sparse pulls through the Trainer's kvstore) against MXNet 1.9.1's results, recorded by
tests/fixtures/gen_sparse_grad.py (see its docstring for each case's inputs and keys).

Stored indices must match exactly; values to float32 tolerances."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.gluon.contrib.nn import SparseEmbedding

W = np.load(DATA / "sparse_grad" / "cases.npz")
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _text(key: str) -> str:
    return str(W[key].reshape(-1)[0])


def assert_stored(g, key: str) -> None:
    """``g`` holds what MXNet's gradient ``key`` holds: storage type, stored indices
    (exactly), stored values and logical values."""
    assert g.stype == _text(f"{key}_stype"), key
    np.testing.assert_allclose(g.asnumpy(), W[f"{key}_dense"], **TOL, err_msg=key)
    if g.stype == "row_sparse":
        np.testing.assert_array_equal(g.indices.asnumpy(), W[f"{key}_indices"], err_msg=key)
        np.testing.assert_allclose(g.data.asnumpy(), W[f"{key}_data"], **TOL, err_msg=key)
    elif g.stype == "csr":
        np.testing.assert_array_equal(g.indptr.asnumpy(), W[f"{key}_indptr"], err_msg=key)
        np.testing.assert_array_equal(g.indices.asnumpy(), W[f"{key}_indices"], err_msg=key)
        np.testing.assert_allclose(g.data.asnumpy(), W[f"{key}_data"], **TOL, err_msg=key)


def test_attach_grad_gives_the_storage_type_asked_for():
    for arr in ("default", "csr", "row_sparse"):
        for s in (None, "default", "csr", "row_sparse"):
            x = mx.nd.zeros((2, 3), stype=arr)
            x.attach_grad(stype=s)
            assert x.grad.stype == _text(f"attach/{arr}_{s}"), (arr, s)
            assert x.grad.shape == (2, 3)
            np.testing.assert_array_equal(x.grad.asnumpy(), np.zeros((2, 3), np.float32))
        x = mx.nd.zeros((2, 3), stype=arr)
        x.attach_grad()
        assert x.detach().stype == _text(f"attach/detach_{arr}")
    with pytest.raises(MXNetError, match="stype='bogus'"):
        mx.nd.ones((2, 3)).attach_grad(stype="bogus")
    with pytest.raises(MXNetError, match="stype='csr' needs a 2-D array"):
        mx.nd.ones((2, 3, 4)).attach_grad(stype="csr")


def test_embedding_sparse_grad_stores_the_rows_looked_up():
    w_np, idx, idx2 = W["embedding/in_w"], W["embedding/in_idx"], W["embedding/in_idx2"]
    head = W["embedding/in_head"]

    def emb(x, w):
        return mx.nd.Embedding(mx.nd.array(x), w, input_dim=6, output_dim=2, sparse_grad=True)

    w = mx.nd.array(w_np)
    w.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        y = emb(idx, w)
    y.backward(mx.nd.array(head))
    # row 4 is looked up under a zero head gradient: stored all the same
    assert w.grad.indices.asnumpy().tolist() == [0, 3, 4]
    assert_stored(w.grad, "embedding/grad")
    # two sparse lookups: the union of their rows (the second's zero rows included)
    with mx.autograd.record():
        s = (emb(idx, w) * mx.nd.array(head)).sum() + (emb(idx2, w) * 0).sum()
    s.backward()
    assert_stored(w.grad, "embedding/union")
    # a dense use too: MXNet sums densely and keeps the non-zero rows
    with mx.autograd.record():
        s = (emb(idx, w) * mx.nd.array(head)).sum() + (w * 0).sum()
    s.backward()
    assert w.grad.indices.asnumpy().tolist() == [0, 3]
    assert_stored(w.grad, "embedding/mixed")
    with mx.autograd.record():
        y = emb(idx2, w)
    assert_stored(mx.autograd.grad(y, [w])[0], "embedding/agrad")
    v = mx.nd.array(w_np)
    buf = mx.nd.sparse.zeros("row_sparse", (6, 2))
    mx.autograd.mark_variables([v], [buf])
    with mx.autograd.record():
        y = emb(idx2, v)
    y.backward()
    assert_stored(buf, "embedding/mark")
    v = mx.nd.array(w_np)
    v.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        y = mx.nd.contrib.SparseEmbedding(mx.nd.array(idx), v, input_dim=6, output_dim=2)
    y.backward(mx.nd.array(head))
    assert_stored(v.grad, "embedding/contrib")


def test_dot_of_a_csr_gives_row_sparse_gradients():
    dense, dense_t, w_np = W["dot/in_csr"], W["dot/in_csr_t"], W["dot/in_w"]
    lhs = mx.nd.array(dense).tostype("csr")
    w = mx.nd.array(w_np)
    w.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        y = mx.nd.dot(lhs, w)
    y.backward(mx.nd.zeros((2, 3)))
    # the rows the csr's columns name, though every gradient value is zero
    assert w.grad.indices.asnumpy().tolist() == [1, 3, 4]
    assert_stored(w.grad, "dot/zero_head")
    w = mx.nd.array(w_np).tostype("row_sparse")
    w.attach_grad()
    with mx.autograd.record():
        y = mx.nd.dot(lhs, w)
    y.backward()
    assert_stored(w.grad, "dot/rsp_w")
    w = mx.nd.array(w_np[:2])
    w.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        y = mx.nd.dot(mx.nd.array(dense_t).tostype("csr"), w)
    y.backward()
    assert_stored(w.grad, "dot/t")
    lhs.attach_grad()
    w = mx.nd.array(w_np)
    w.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        y = mx.nd.dot(lhs, w)
    y.backward()
    assert_stored(lhs.grad, "dot/csr_grad")


def test_other_operators_store_the_non_zero_gradient():
    x_np, m1, m2 = W["fallback/in_x"], W["fallback/in_m1"], W["fallback/in_m2"]
    x = mx.nd.array(x_np)
    x.attach_grad(stype="row_sparse")
    with mx.autograd.record():
        s = (x * mx.nd.array(m1)).sum() + (x * mx.nd.array(m2)).sum()
    s.backward()
    # row 0's two gradients cancel: not stored
    assert x.grad.indices.asnumpy().tolist() == [2, 3]
    assert_stored(x.grad, "fallback/rsp")
    x = mx.nd.array(x_np)
    x.attach_grad(stype="csr")
    with mx.autograd.record():
        y = x * 2
    y.backward(mx.nd.array(W["fallback/in_head"]))
    assert_stored(x.grad, "fallback/csr")


def test_sparse_gradients_refuse_what_mxnet_refuses():
    idx = mx.nd.array([1, 3])

    def run(sparse_grad, stype, req="write", data=idx):
        w = mx.nd.ones((6, 2))
        w.attach_grad(grad_req=req, stype=stype)
        with mx.autograd.record():
            y = mx.nd.Embedding(data, w, input_dim=6, output_dim=2, sparse_grad=sparse_grad)
        y.backward()

    for key in ("add", "dense_buf", "rsp_buf", "oob"):
        assert _text(f"errors/{key}_error") == "MXNetError"
    with pytest.raises(MXNetError, match="grad_req='add' is not supported for a row_sparse"):
        run(True, "row_sparse", "add")
    with pytest.raises(MXNetError, match=_text("errors/dense_buf_message").split(": ")[-1]):
        run(True, None)
    with pytest.raises(MXNetError, match=_text("errors/rsp_buf_message").split(": ")[-1]):
        run(False, "row_sparse")
    with pytest.raises(MXNetError, match="Embedding input contains data out of bound: data"):
        run(True, "row_sparse", data=mx.nd.array([1, 6]))


def test_row_sparse_parameter_pulls_rows_through_its_trainer():
    gluon = mx.gluon
    p = gluon.Parameter("p", shape=(4, 3), stype="row_sparse", grad_stype="row_sparse")
    p.initialize(init=mx.init.Constant(0), ctx=[mx.cpu(1), mx.cpu(2)])
    p.set_data(mx.nd.array(W["param/in_w"]))
    assert_stored(p._data[0], "param/data0")
    assert _text("param/data_error") == "RuntimeError"  # MXNetError is a RuntimeError
    with pytest.raises(MXNetError, match="via data\\(\\) because its storage type is row_sparse"):
        p.data()
    with pytest.raises(MXNetError, match=_text("param/no_trainer_message")):
        p.row_sparse_data(mx.nd.array([0], ctx=mx.cpu(1)))
    trainer = gluon.Trainer([p], "sgd", {"learning_rate": 1.0, "wd": 0.1})
    pulled = p.row_sparse_data(mx.nd.array([2, 0, 2], ctx=mx.cpu(1)))
    assert pulled is p._data[0] and pulled.context == mx.cpu(1)
    assert_stored(pulled, "param/pull0")
    lst = p.list_row_sparse_data(mx.nd.array([3]))
    assert [a.context for a in lst] == [mx.cpu(1), mx.cpu(2)]
    assert_stored(lst[0], "param/list0")
    assert_stored(lst[1], "param/list1")
    assert_stored(p.grad(mx.cpu(1)), "param/grad")
    row = mx.nd.array([1], ctx=mx.cpu(1))
    ws = p.list_row_sparse_data(row)
    with mx.autograd.record():
        for w in ws:
            y = mx.nd.Embedding(row.as_in_context(w.context), w, input_dim=4, output_dim=3,
                                sparse_grad=True)
            y.backward()
    trainer.step(1)
    assert (trainer._kvstore.type, trainer._update_on_kvstore) == (
        _text("param/kvstore"), bool(W["param/update_on_kvstore"]))
    # the store updated its copy; the array on cpu(1) keeps the rows pulled before the step
    assert_stored(p._data[0], "param/after_data0")
    assert_stored(p.grad(mx.cpu(1)), "param/after_grad0")
    assert_stored(p.row_sparse_data(mx.nd.arange(0, 4, ctx=mx.cpu(2))), "param/after_all")
    with pytest.raises(MXNetError, match="row_id must have NDArray type"):
        p.row_sparse_data([0, 1])


def test_trainer_sums_row_sparse_gradients_over_contexts_lazily():
    gluon = mx.gluon
    heads = [W["trainer/in_head0"], W["trainer/in_head1"]]
    opt = {"learning_rate": 1.0, "wd": 0.1, "momentum": 0.5}
    for ctxs, name in (([mx.cpu(0), mx.cpu(1)], ""), ([mx.cpu(0)], "one_")):
        p = gluon.Parameter("w", shape=(5, 2), grad_stype="row_sparse")
        p.initialize(init=mx.init.Constant(0), ctx=ctxs)
        p.set_data(mx.nd.array(W["trainer/in_w"]))
        tr = gluon.Trainer([p], "sgd", opt)
        for w, idx, head in zip(p.list_data(), [[0, 1], [1, 3]], heads):
            with mx.autograd.record():
                y = mx.nd.Embedding(mx.nd.array(idx, ctx=w.context), w, input_dim=5,
                                    output_dim=2, sparse_grad=True)
            y.backward(mx.nd.array(head, ctx=w.context))
        tr.step(1)
        assert str(tr._kvstore.type if tr._kvstore else None) == _text(f"trainer/{name}kvstore")
        assert str(tr._update_on_kvstore) == _text(f"trainer/{name}update_on_kvstore")
        assert_stored(p.list_grad()[0], f"trainer/{name}g0")
        assert_stored(p.list_data()[0], f"trainer/{name}w0")
        if len(ctxs) == 2:
            # row 1's gradients cancel over the contexts: the sum still stores it
            assert p.list_grad()[1].indices.asnumpy().tolist() == [0, 1, 3]
            assert_stored(p.list_grad()[1], "trainer/g1")
            np.testing.assert_array_equal(p.list_data()[1].asnumpy(),
                                          p.list_data()[0].asnumpy())


def _trained_sparse_embedding() -> tuple:
    """A SparseEmbedding from the recorded weights after MXNet's two Adam steps: the block,
    its Trainer, and per step (the gradient, every row of the weights)."""
    emb = SparseEmbedding(6, 2, prefix="se_")
    emb.initialize(init=mx.init.Constant(0))
    emb.weight.set_data(mx.nd.array(W["sparse_embedding/in_w"]))
    tr = mx.gluon.Trainer(emb.collect_params(), "adam", {"learning_rate": 0.1, "wd": 0.01})
    steps = []
    for k in range(2):
        with mx.autograd.record():
            y = emb(mx.nd.array(W[f"sparse_embedding/in_idx{k}"]))
        y.backward(mx.nd.array(W[f"sparse_embedding/in_head{k}"]))
        tr.step(1)
        steps.append((emb.weight.grad().copy(),
                      emb.weight.row_sparse_data(mx.nd.arange(0, 6)).copy()))
    return emb, tr, steps


def test_sparse_embedding_trains_with_adam():
    emb, _, steps = _trained_sparse_embedding()
    for k, (grad, weights) in enumerate(steps):
        assert grad.stype == "row_sparse"
        assert_stored(grad, f"sparse_embedding/grad{k}")
        assert_stored(weights, f"sparse_embedding/w{k}")
    emb.weight.zero_grad()
    assert emb.weight.grad().indices.shape == (0,)
    assert_stored(emb.weight.grad(), "sparse_embedding/zero")


def test_sparse_embedding_gradient_clipping_and_saving(tmp_path):
    emb, tr, _ = _trained_sparse_embedding()
    emb.weight.zero_grad()
    with mx.autograd.record():
        y = emb(mx.nd.array(W["sparse_embedding/in_idx0"]))
    y.backward(mx.nd.array(W["sparse_embedding/in_head0"]))
    norm = mx.gluon.utils.clip_global_norm([emb.weight.grad()], 0.5)
    np.testing.assert_allclose(norm, W["sparse_embedding/norm"].item(), rtol=1e-5)
    assert_stored(emb.weight.grad(), "sparse_embedding/clipped")
    path = str(tmp_path / "se.params")
    emb.save_parameters(path)
    assert_stored(mx.nd.load(path)["weight"], "sparse_embedding/saved")
    emb2 = SparseEmbedding(6, 2, prefix="se_")
    emb2.load_parameters(path)
    assert_stored(emb2.weight._data[0], "sparse_embedding/loaded")


@pytest.mark.parametrize("hybridize", [False, True])
def test_embedding_block_gradient_rows_hybridized_or_not(hybridize):
    gluon = mx.gluon
    net = gluon.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(gluon.nn.Embedding(6, 2, sparse_grad=True))
        net.add(gluon.nn.Dense(1, in_units=4, use_bias=False))
    net.initialize(init=mx.init.Constant(0))
    net[0].weight.set_data(mx.nd.array(W["hybrid/in_w"]))
    net[1].weight.set_data(mx.nd.array(W["hybrid/in_dense"]))
    if hybridize:
        net.hybridize()
    with mx.autograd.record():
        y = net(mx.nd.array(W["hybrid/in_idx"]))
    y.backward(mx.nd.array(W["hybrid/in_head"]))
    # row 0 is looked up only by the sample whose head gradient is zero: stored all the same
    assert net[0].weight.grad().indices.asnumpy().tolist() == [0, 1, 4]
    assert_stored(net[0].weight.grad(), "hybrid/hyb" if hybridize else "hybrid/imp")
