"""MXNet 1.9.1's AdamW operators, ``rand_zipfian``, sparse ``check_format``, autograd through
sparse arithmetic and ``Executor.backward`` with extra head gradients, against MXNet's answers
recorded by tests/fixtures/gen_compat3.py into tests/data/compat3/."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "compat3"
sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from sparse_arith_cases import FUNCS  # noqa: E402


@pytest.fixture(scope="module")
def arrays() -> dict:
    with np.load(DATA / "arrays.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def cases() -> dict:
    return json.loads((DATA / "cases.json").read_text())["cases"]


def nd(a: np.ndarray) -> mx.nd.NDArray:
    return mx.nd.array(a, dtype=a.dtype)


# float32 kernels: MXNet's and numpy's roundings of the same formula agree to a few ulps.
F32 = {"rtol": 1e-6, "atol": 1e-6}


# -- AdamW ------------------------------------------------------------------------------------


def test_adamw_update_two_steps(arrays):
    a = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("adamw/")}
    w, m, v = nd(a["w0"]), nd(a["m0"]), nd(a["v0"])
    for step in (1, 2):
        out = mx.nd.contrib.adamw_update(w, nd(a["g"]), m, v, 2.0, lr=0.05, eta=0.9, wd=0.1,
                                         clip_gradient=0.5, out=w)
        assert out is w
        np.testing.assert_allclose(w.asnumpy(), a[f"w{step}"], **F32)
        np.testing.assert_allclose(m.asnumpy(), a[f"m{step}"], **F32)
        np.testing.assert_allclose(v.asnumpy(), a[f"v{step}"], **F32)


def test_adamw_update_without_out_leaves_weight(arrays):
    a = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("adamw/")}
    w, m, v = nd(a["w0"]), nd(a["m0"]), nd(a["v0"])
    new = mx.nd.contrib.adamw_update(w, nd(a["g"]), m, v, 2.0, lr=0.05, eta=0.9, wd=0.1,
                                     clip_gradient=0.5)
    np.testing.assert_allclose(new.asnumpy(), a["w1"], **F32)
    np.testing.assert_array_equal(w.asnumpy(), a["w0"])
    np.testing.assert_allclose(m.asnumpy(), a["m1"], **F32)


def test_mp_adamw_update(arrays):
    a = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("mp_adamw/")}
    w16, w32, m, v = nd(a["w16"]), nd(a["w32"]), nd(a["m0"]), nd(a["v0"])
    mx.nd.contrib.mp_adamw_update(w16, nd(a["g16"]), m, v, w32, mx.nd.array([0.5]), lr=0.1,
                                  eta=0.8, wd=0.05, out=w16)
    assert w16.dtype == np.float16 and w32.dtype == np.float32
    np.testing.assert_allclose(w32.asnumpy(), a["w32_1"], **F32)
    np.testing.assert_allclose(m.asnumpy(), a["m1"], **F32)
    np.testing.assert_allclose(v.asnumpy(), a["v1"], **F32)
    np.testing.assert_array_equal(w16.asnumpy(), a["w16_1"])  # the float32 result, rounded


@pytest.mark.parametrize("mp", [False, True])
def test_multi_adamw_update(arrays, cases, mp):
    case = "multi_mp_adamw" if mp else "multi_adamw"
    a = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(case + "/")}
    ws = [nd(a[f"w{i}"]) for i in range(2)]
    gs = [nd(a[f"g{i}"]) for i in range(2)]
    ms = [nd(a[f"m{i}"]) for i in range(2)]
    vs = [nd(a[f"v{i}"]) for i in range(2)]
    if mp:
        w32s = [nd(a[f"w32_{i}"]) for i in range(2)]
        outs = mx.nd.contrib.multi_mp_adamw_update(ws, gs, ms, vs, w32s, 1.5, out=ws,
                                                   clip_gradient=0.3, **cases["multi_adamw"])
    else:
        outs = mx.nd.contrib.multi_adamw_update(ws, gs, ms, vs, mx.nd.array([1.5]), out=ws,
                                                clip_gradient=0.3, **cases["multi_adamw"])
    assert len(outs) == 2
    for i in range(2):
        np.testing.assert_allclose(ms[i].asnumpy(), a[f"out_m{i}"], **F32)
        np.testing.assert_allclose(vs[i].asnumpy(), a[f"out_v{i}"], **F32)
        if mp:
            np.testing.assert_allclose(w32s[i].asnumpy(), a[f"out_w32_{i}"], **F32)
            np.testing.assert_array_equal(ws[i].asnumpy(), a[f"out_w{i}"])
        else:
            np.testing.assert_allclose(ws[i].asnumpy(), a[f"out_w{i}"], **F32)


@pytest.mark.parametrize("label,scale", [("nan", float("nan")), ("inf", float("inf")),
                                         ("zero", 0.0), ("nd_nan", np.nan),
                                         ("nd_inf", np.inf)])
def test_adamw_skipped_when_rescale_not_finite(arrays, cases, label, scale):
    assert cases["adamw_skip_unchanged"][label] is True
    w0, m0, v0 = (arrays[f"adamw/{k}"][:3, :3] for k in ("w0", "m0", "v0"))
    w, m, v = nd(w0), nd(m0), nd(v0)
    rescale = mx.nd.array([scale]) if label.startswith("nd_") else scale
    mx.nd.contrib.adamw_update(w, mx.nd.ones((3, 3)), m, v, rescale, lr=0.1, eta=1.0, out=w)
    for got, want in ((w, w0), (m, m0), (v, v0)):
        np.testing.assert_array_equal(got.asnumpy(), want)
    w16, w32 = nd(w0.astype(np.float16)), nd(w0)
    mx.nd.contrib.multi_mp_adamw_update([w16], [mx.nd.ones((3, 3), dtype="float16")], [m],
                                        [v], [w32], rescale, lrs=[0.1], wds=[0.0], etas=[1.0],
                                        out=[w16])
    np.testing.assert_array_equal(w32.asnumpy(), w0)
    np.testing.assert_array_equal(w16.asnumpy(), w0.astype(np.float16))


def test_adamw_symbolic_matches_imperative(arrays):
    a = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("adamw/")}
    w, g, m, v = (mx.sym.var(n) for n in ("w", "g", "m", "v"))
    u = mx.sym.contrib.adamw_update(w, g, m, v, 2.0, lr=0.05, eta=0.9, wd=0.1,
                                    clip_gradient=0.5)
    assert u.list_arguments() == ["w", "g", "m", "v"]
    args = {"w": nd(a["w0"]), "g": nd(a["g"]), "m": nd(a["m0"]), "v": nd(a["v0"])}
    out = u.bind(mx.cpu(), args).forward()[0]
    np.testing.assert_allclose(out.asnumpy(), a["w1"], **F32)
    np.testing.assert_allclose(args["m"].asnumpy(), a["m1"], **F32)  # state mutated in place
    op = mx.sym._internal._multi_adamw_update(*[mx.sym.var(f"x{i}") for i in range(9)],
                                              num_weights=2, lrs=(0.1, 0.1), wds=(0, 0),
                                              etas=(1, 1), name="m")
    assert op.list_outputs() == ["m_output0", "m_output1"]  # as MXNet names them


def test_adamw_errors():
    w = mx.nd.ones((2, 2))
    with pytest.raises(MXNetError, match="lrs has 1 values but num_weights=2"):
        mx.nd.contrib.multi_adamw_update([w, w], [w, w], [w, w], [w, w], 1.0, lrs=[0.1],
                                         wds=[0, 0], etas=[1, 1])
    with pytest.raises(MXNetError, match="eta"):
        mx.nd.contrib.adamw_update(w, w, w, w, 1.0, lr=0.1, eta=None)
    with pytest.raises(MXNetError, match="shape"):
        mx.nd.contrib.adamw_update(w, mx.nd.ones((3,)), w, w, 1.0, lr=0.1, eta=1.0)


# -- rand_zipfian -----------------------------------------------------------------------------


def _zipf_counts(classes: np.ndarray, num_sampled: int, range_max: int) -> np.ndarray:
    c = classes.astype(np.float64)
    return np.log((c + 2.0) / (c + 1.0)) / np.log(range_max + 1) * num_sampled


def test_rand_zipfian_expected_counts(arrays, cases):
    samples, count_true, count_sample = mx.nd.contrib.rand_zipfian(
        mx.nd.array(np.arange(20)), 10, 20)
    assert [str(x.dtype.__name__) for x in (samples, count_true, count_sample)] == \
        cases["zipfian_dtypes"]
    np.testing.assert_allclose(count_true.asnumpy(), arrays["zipfian/count_true"], rtol=1e-12)
    s = samples.asnumpy()
    assert s.shape == (10,) and s.min() >= 0 and s.max() < 20
    np.testing.assert_allclose(count_sample.asnumpy(), _zipf_counts(s, 10, 20), rtol=1e-12)


def test_rand_zipfian_distribution():
    mx.random.seed(11)
    range_max, n = 8, 40000
    samples, _, _ = mx.nd.contrib.rand_zipfian(mx.nd.array([0]), n, range_max)
    freq = np.bincount(samples.asnumpy(), minlength=range_max) / n
    want = _zipf_counts(np.arange(range_max), 1, range_max)
    np.testing.assert_allclose(freq, want, atol=0.01)  # 40000 draws: sd below 0.0025


def test_rand_zipfian_symbolic(arrays, cases):
    tc = mx.sym.var("tc")
    outs = mx.sym.contrib.rand_zipfian(tc, 4, 5)
    assert [len(x.list_outputs()) for x in outs] == cases["zipfian_sym_outputs"]
    got = outs[1].eval(tc=mx.nd.array([3, 7]))[0].asnumpy()
    np.testing.assert_allclose(got, arrays["zipfian/sym_count_true"], rtol=1e-12)
    s = outs[0].eval(tc=mx.nd.array([3]))[0].asnumpy()
    assert s.dtype == np.int64 and s.shape == (4,) and s.max() < 5
    with pytest.raises(MXNetError, match="true_classes must be a Symbol"):
        mx.sym.contrib.rand_zipfian(mx.nd.array([1]), 4, 5)


# -- check_format -----------------------------------------------------------------------------


def _build_sparse(stype, data, indices, indptr, shape):
    if stype == "csr":
        return mx.nd.sparse.csr_matrix((data, indices, indptr), shape=tuple(shape))
    return mx.nd.sparse.row_sparse_array((data, indices), shape=tuple(shape))


def test_check_format_cases(cases):
    assert len(cases["check_format"]) == 15
    for rec in cases["check_format"].values():
        a = _build_sparse(*rec["arrays"])  # built unchecked, as MXNet builds them
        for label, full in (("full", True), ("basic", False)):
            if rec[label]:
                with pytest.raises(MXNetError, match=f"check_format: invalid {a.stype} "):
                    a.check_format(full)
            else:
                a.check_format(full)


def test_check_format_messages():
    csr = mx.nd.sparse.csr_matrix(([7, 8, 9], [0, 4, 1], [0, 2, 2, 3]), shape=(3, 4))
    with pytest.raises(MXNetError, match="column index 4 is out of range for 4 columns"):
        csr.check_format()
    rsp = mx.nd.sparse.row_sparse_array(([[1, 2], [3, 4]], [1, 0]), shape=(3, 2))
    with pytest.raises(MXNetError, match="strictly increasing; indices\\[0\\] = 1"):
        rsp.check_format(True)
    # densifying an array check_format refuses says why
    with pytest.raises(MXNetError, match="out of range"):
        csr.asnumpy()


def test_check_format_shapes_and_valid_arrays():
    ok = mx.nd.sparse.csr_matrix(([7, 8, 9], [0, 2, 1], [0, 2, 2, 3]), shape=(3, 4))
    bad = mx.nd.sparse.CSRNDArray(ok._data, ok._aux[0][:3], ok._aux[1], (3, 4))
    with pytest.raises(MXNetError, match="shape mismatch"):
        bad.check_format(full_check=False)
    rsp = mx.nd.sparse.RowSparseNDArray(np.ones((2, 2), np.float32), np.array([0]), (3, 2))
    with pytest.raises(MXNetError, match="shape mismatch"):
        rsp.check_format(False)
    for stype in ("csr", "row_sparse"):
        mx.nd.sparse.zeros(stype, (4, 3)).check_format()
        mx.nd.array(np.eye(4, 3)).tostype(stype).check_format()
    with pytest.raises(ValueError, match="2-D"):
        mx.nd.array([1, 2, 3]).tostype("csr")


# -- autograd through sparse arithmetic -------------------------------------------------------



@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
@pytest.mark.parametrize("fname", sorted(FUNCS))
def test_sparse_arithmetic_is_recorded(arrays, stype, fname):
    other = {"row_sparse": "csr", "csr": "row_sparse"}[stype]
    x = mx.nd.array(arrays["sparse_grad/x"]).tostype(stype)
    y = mx.nd.array(arrays["sparse_grad/y"]).tostype(stype if fname == "mul" else other)
    x.attach_grad()
    y.attach_grad()
    with mx.autograd.record():
        out = FUNCS[fname](mx, x, y)
    out.backward()
    key = f"sparse_grad/{fname}_{stype}"
    np.testing.assert_allclose(out.asnumpy(), arrays[f"{key}_out"], **F32)
    assert x.grad.shape == x.shape  # dense, of the logical shape
    np.testing.assert_allclose(x.grad.asnumpy(), arrays[f"{key}_dx"], **F32)
    if fname in ("mul", "compose"):
        np.testing.assert_allclose(y.grad.asnumpy(), arrays[f"{key}_dy"], **F32)


@pytest.mark.parametrize("stype", ["row_sparse", "csr"])
def test_sparse_attach_grad_with_sparse_head_gradient(arrays, stype):
    x = mx.nd.zeros((3, 3)).tostype(stype)
    x.attach_grad()
    with mx.autograd.record():
        y = x * 2
        y.backward(out_grad=mx.nd.ones_like(y).tostype(stype))
    np.testing.assert_array_equal(x.grad.asnumpy(), arrays[f"sparse_grad/attach_{stype}"])
    assert mx.nd.zeros_like(x).shape == (3, 3)


def test_sparse_fallback_not_recorded_outside_record():
    x = mx.nd.array(np.eye(3, dtype=np.float32)).tostype("csr")
    y = x * 2  # plain dense copy, no tape
    np.testing.assert_array_equal(y.asnumpy(), 2 * np.eye(3))


# -- head gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["concat", "mul"])
def test_backward_oversized_head_gradient(arrays, label):
    x = mx.nd.array(arrays["head_grad/x"])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.concat(x * 2, dim=0) if label == "concat" else x * 2
    y.backward(mx.nd.array(arrays["head_grad/g"]))
    np.testing.assert_array_equal(x.grad.asnumpy(), arrays[f"head_grad/{label}_dx"])


def test_backward_undersized_head_gradient_refused():
    x = mx.nd.ones((3, 2))
    x.attach_grad()
    with mx.autograd.record():
        y = x * 2
    with pytest.raises(MXNetError, match="fewer elements than its head of shape"):
        y.backward(mx.nd.ones((2, 2)))


def test_executor_backward_extra_head_gradients(arrays):
    v = mx.sym.var("x")
    ex = (v * 2).simple_bind(mx.cpu(), x=(3, 2))
    ex.forward(is_train=True, x=mx.nd.array(arrays["head_grad/x"]))
    ex.backward([mx.nd.ones((3, 2)) * 3, mx.nd.ones((2,)) * 5])
    np.testing.assert_array_equal(ex.grad_arrays[0].asnumpy(), arrays["head_grad/exec_dx"])


def test_get_bz2_data_local_files(tmp_path):
    import bz2

    from mxlite import test_utils

    (tmp_path / "d.t.bz2").write_bytes(bz2.compress(b"1 0:0.5\n"))
    test_utils.get_bz2_data(str(tmp_path), "d.t", "https://example.invalid/d.t.bz2", "d.t.bz2")
    assert (tmp_path / "d.t").read_bytes() == b"1 0:0.5\n"
    assert not (tmp_path / "d.t.bz2").exists()  # removed after extraction, as MXNet does
    test_utils.get_bz2_data(str(tmp_path), "d.t", "https://example.invalid/d.t.bz2", "d.t.bz2")
    with pytest.raises(MXNetError, match="does not download"):
        test_utils.get_bz2_data(str(tmp_path), "e.t", "https://example.invalid/e.t.bz2",
                                "e.t.bz2")
