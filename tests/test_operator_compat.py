"""Operators as MXNet 1.9.1's own test_operator.py exercises them, against answers recorded
from MXNet 1.9.1 (tests/fixtures/gen_operator_compat.py -> tests/data/operator_compat/).

Each graph case is bound, run forward (in the recorded mode) and, when recorded, backward
with the stored head gradients, through mxlite's symbol / executor API as the generator ran
MXNet's.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "operator_compat"
DOC = json.loads((DATA / "cases.json").read_text())
CASES = DOC["cases"]
ARRAYS = dict(np.load(DATA / "data.npz"))

# float32 results: MXNet's kernels and numpy's differ in summation order only
F32 = dict(rtol=1e-5, atol=1e-6)
F64 = dict(rtol=1e-12, atol=1e-12)


def _tol(a: np.ndarray) -> dict:
    return F64 if a.dtype == np.float64 else F32


def _symbol(cid: str):
    c = CASES[cid]
    fn = mx.sym
    for part in c["op"].split("."):
        fn = getattr(fn, part)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in c["kwargs"].items()}
    return fn(**{n: mx.sym.var(n) for n, _ in c["inputs"]}, name="op", **kwargs)


def _run(cid: str) -> dict:
    """Bind, forward and (if recorded) backward one case: {"out": [...], "grad": {...},
    "aux": {...}, "sym": symbol} as numpy arrays."""
    c = CASES[cid]
    s = _symbol(cid)
    ins = {n: ARRAYS[f"{cid}/in/{n}"] for n, _ in c["inputs"]}
    args = {n: mx.nd.array(ins[n], dtype=ins[n].dtype) for n in s.list_arguments()}
    aux = {n: mx.nd.array(ins[n], dtype=ins[n].dtype) for n in s.list_auxiliary_states()}
    grads = {n: mx.nd.zeros(ins[n].shape, dtype=ins[n].dtype) for n in s.list_arguments()}
    req = {n: "write" if c["backward"] else "null" for n in s.list_arguments()}
    ex = s.bind(mx.cpu(), args, args_grad=grads, grad_req=req, aux_states=aux)
    outs = [o.asnumpy() for o in ex.forward(is_train=c["train"])]
    res = {"sym": s, "out": outs, "grad": {}, "aux": {}}
    if c["backward"]:
        heads = [ARRAYS[f"{cid}/head{i}"] for i in range(len(outs))]
        ex.backward([mx.nd.array(h, dtype=h.dtype) for h in heads])
        res["grad"] = {n: ex.grad_dict[n].asnumpy() for n in s.list_arguments()}
    res["aux"] = {n: ex.aux_dict[n].asnumpy() for n in s.list_auxiliary_states()}
    return res


def _check_like_mxnet(cid: str, res: dict, out_tol: dict | None = None) -> None:
    """Outputs, gradients and aux states of ``res`` against the recorded ones (the outputs
    within ``out_tol`` when given)."""
    c = CASES[cid]
    assert res["sym"].list_arguments() == c["arguments"]
    assert res["sym"].list_auxiliary_states() == c["aux"]
    assert res["sym"].list_outputs() == c["outputs"]
    assert [str(o.dtype) for o in res["out"]] == c["out_dtypes"]
    for i, o in enumerate(res["out"]):
        want = ARRAYS[f"{cid}/out{i}"]
        assert o.shape == want.shape
        np.testing.assert_allclose(o, want, equal_nan=True, **(out_tol or _tol(want)))
    for n, g in res["grad"].items():
        want = ARRAYS[f"{cid}/grad/{n}"]
        assert g.dtype == want.dtype and g.shape == want.shape
        np.testing.assert_allclose(g, want, equal_nan=True, **_tol(want))
    for n, a in res["aux"].items():
        np.testing.assert_allclose(a, ARRAYS[f"{cid}/aux/{n}"], **_tol(a))


def _refusal_problems(cid: str, *words: str) -> list[str]:
    """What keeps case ``cid`` from failing in mxlite as it fails in MXNet: with an MXNetError
    whose message holds ``words`` (the operator, the argument). Empty when it does."""
    if "error" not in CASES[cid]:
        return [f"{cid}: MXNet 1.9.1 did not refuse it"]
    try:
        _run(cid)
    except MXNetError as e:
        return [f"{cid}: {w!r} not in {str(e)!r}" for w in words if w not in str(e)]
    return [f"{cid}: mxlite ran it"]


# ----------------------------------------------------------------------------------------
# LeakyReLU(act_type='prelu'): gamma lines up with data axes 0 and 1 (MXNet's expand_shape)


@pytest.mark.parametrize("cid", ["prelu_full", "prelu_channel_4d", "prelu_batch_channel_4d",
                                 "prelu_one_slope"])
def test_prelu_gamma_shapes(cid):
    res = _run(cid)
    # MXNet's xelu multiplies the negative side as float(x) * float(gamma) also for float64
    # data; mxlite keeps float64 there (finite-difference checks need it): 1e-7 apart
    _check_like_mxnet(cid, res, dict(rtol=1e-7, atol=1e-7))
    x = ARRAYS[f"{cid}/in/data"]
    # the slopes are per (sample, channel) or per channel: the gradient keeps gamma's shape
    assert res["grad"]["gamma"].shape == ARRAYS[f"{cid}/in/gamma"].shape
    assert (res["out"][0][x > 0] == x[x > 0]).all()


def test_prelu_full_gamma_values():
    res = _run("prelu_full")
    x, g = ARRAYS["prelu_full/in/data"], ARRAYS["prelu_full/in/gamma"]
    np.testing.assert_allclose(res["out"][0], ARRAYS["prelu_full/out0"], **F32)
    np.testing.assert_allclose(res["out"][0], np.where(x > 0, x, g * x), **F32)
    # each slope has its own element: dgamma = head * min(x, 0), nothing summed
    np.testing.assert_allclose(res["grad"]["gamma"], ARRAYS["prelu_full/grad/gamma"], **F32)


def test_prelu_gamma_that_does_not_line_up_is_refused():
    assert _refusal_problems("prelu_bad_gamma", "LeakyReLU", "gamma") == []


# ----------------------------------------------------------------------------------------
# BatchNorm_v1 on 2-D data


def test_batchnorm_v1_takes_2d_data():
    res = _run("bn_v1_2d")
    _check_like_mxnet("bn_v1_2d", res)
    np.testing.assert_allclose(res["aux"]["moving_var"], ARRAYS["bn_v1_2d/aux/moving_var"],
                               **F32)
    np.testing.assert_allclose(res["grad"]["gamma"], ARRAYS["bn_v1_2d/grad/gamma"], **F32)


def test_batchnorm_v1_2d_inference():
    res = _run("bn_v1_2d_infer")
    np.testing.assert_allclose(res["out"][0], ARRAYS["bn_v1_2d_infer/out0"], **F32)
    np.testing.assert_allclose(res["grad"]["data"], ARRAYS["bn_v1_2d_infer/grad/data"], **F32)


def test_batchnorm_v1_refuses_3d_data():
    assert _refusal_problems("bn_v1_3d", "BatchNorm_v1", "data") == []


# ----------------------------------------------------------------------------------------
# Dropout with p=1: MXNet scales its zero mask by 1 / 0


@pytest.mark.parametrize("cid", ["dropout_p1", "dropout_p1_axes"])
def test_dropout_p1_is_nan(cid):
    res = _run(cid)
    _check_like_mxnet(cid, res)
    assert np.isnan(ARRAYS[f"{cid}/out0"]).all()  # what MXNet gives
    assert np.isnan(res["out"][0]).all() and np.isnan(res["grad"]["data"]).all()


def test_dropout_p1_inference_is_identity():
    x = mx.nd.array(ARRAYS["dropout_p1/in/data"])
    np.testing.assert_array_equal(mx.nd.Dropout(x, p=1.0).asnumpy(),
                                  ARRAYS["dropout_p1/in/data"])


# ----------------------------------------------------------------------------------------
# smooth_l1's default sigma


def test_smooth_l1_default_scalar_is_one():
    res = _run("smooth_l1_default")
    _check_like_mxnet("smooth_l1_default", res)
    x = ARRAYS["smooth_l1_default/in/data"]
    np.testing.assert_allclose(res["out"][0], np.where(np.abs(x) < 1, 0.5 * x * x,
                                                       np.abs(x) - 0.5), **F32)
    assert mx.sym.smooth_l1(mx.sym.var("x")).list_attr() == {}


def test_smooth_l1_explicit_scalar():
    res = _run("smooth_l1_half")
    np.testing.assert_allclose(res["out"][0], ARRAYS["smooth_l1_half/out0"], **F32)
    np.testing.assert_allclose(res["grad"]["data"], ARRAYS["smooth_l1_half/grad/data"], **F32)


# ----------------------------------------------------------------------------------------
# index_array


def test_index_array_of_a_0d_array():
    rec = DOC["nd"]["index_array_0d"]
    with mx.np_shape(True):
        y = mx.nd.contrib.index_array(mx.nd.ones(()))
        assert list(y.shape) == rec["shape"] == [0]
        assert "int64" in rec["dtype"] and y.dtype == np.int64
        assert y.asnumpy().tolist() == rec["values"]
        e = mx.nd.contrib.index_array(mx.nd.ones((2, 0, 3)), axes=(2, 0))
        assert list(e.shape) == DOC["nd"]["index_array_empty"]["shape"]


def test_index_array_selected_axes():
    rec = DOC["nd"]["index_array_axes"]
    y = mx.nd.contrib.index_array(mx.nd.ones((2, 3)), axes=(-1,))
    assert list(y.shape) == rec["shape"]
    assert y.asnumpy().tolist() == rec["values"]


# ----------------------------------------------------------------------------------------
# all_finite / multi_all_finite


@pytest.mark.parametrize("cid, flag", [("all_finite_inf", 0.0), ("all_finite_ok", 1.0),
                                       ("all_finite_f64_beyond_f32", 0.0),
                                       ("multi_all_finite_nan", 0.0),
                                       ("multi_all_finite_ok", 1.0)])
def test_all_finite_flags(cid, flag):
    res = _run(cid)
    _check_like_mxnet(cid, res)
    assert ARRAYS[f"{cid}/out0"].tolist() == [flag]
    assert res["out"][0].tolist() == [flag] and res["out"][0].dtype == np.float32


def test_all_finite_imperative_and_refusals():
    assert mx.nd.all_finite(mx.nd.array([1.0, np.inf])).asnumpy().tolist() == [0.0]
    assert mx.nd.multi_all_finite(mx.nd.ones(2), mx.nd.ones((2, 2)),
                                  num_arrays=2).asnumpy().tolist() == [1.0]
    assert "error" in DOC["nd"]["all_finite_int"]  # MXNet: floating point types only
    with pytest.raises(MXNetError, match="all_finite"):
        mx.nd.all_finite(mx.nd.array([1, 2], dtype="int32"))
    s = mx.sym.multi_all_finite(mx.sym.var("a"), mx.sym.var("b"), num_arrays=2)
    assert s.infer_shape(a=(2, 3), b=(4,))[1] == [(1,)]
    assert s.infer_type(a="float16", b="float32")[1] == [np.float32]
    with pytest.raises(MXNetError, match="multi_all_finite"):  # MXNet reads every array as
        mx.nd.multi_all_finite(mx.nd.ones(2), mx.nd.ones(2, dtype="float64"),  # the first
                               num_arrays=2)
    x = mx.nd.ones(2)
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.all_finite(x)
    with pytest.raises(MXNetError):  # no gradient in MXNet
        y.backward()


# ----------------------------------------------------------------------------------------
# im2col / col2im


@pytest.mark.parametrize("cid", ["im2col", "im2col_defaults", "col2im"])
def test_im2col_col2im_like_mxnet(cid):
    res = _run(cid)
    _check_like_mxnet(cid, res)


def test_im2col_layout():
    # rows: channel-major, then the kernel taps row-major; columns: output positions
    x = ARRAYS["im2col_defaults/in/data"]
    res = _run("im2col_defaults")
    cols = res["out"][0]
    assert cols.shape == (1, 2 * 4, 3 * 2)
    np.testing.assert_array_equal(cols[0, 4 + 1, :], x[0, 1, 0:3, 1:3].reshape(-1))
    np.testing.assert_allclose(cols, ARRAYS["im2col_defaults/out0"], **F64)


def test_col2im_is_the_adjoint_of_im2col():
    kw = CASES["im2col"]["kwargs"]
    kw = {k: tuple(v) for k, v in kw.items()}
    x = ARRAYS["im2col/in/data"]
    c = ARRAYS["col2im/in/data"]
    lhs = (mx.nd.im2col(mx.nd.array(x), **kw).asnumpy().astype(np.float64) * c).sum()
    rhs = (mx.nd.col2im(mx.nd.array(c), output_size=(6, 5), **kw).asnumpy().astype(
        np.float64) * x).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)
    np.testing.assert_allclose(mx.nd.col2im(mx.nd.array(c), output_size=(6, 5), **kw)
                               .asnumpy(), ARRAYS["col2im/out0"], **F32)


def test_im2col_col2im_refusals():
    assert _refusal_problems("col2im_bad_blocks", "col2im") == []
    assert _refusal_problems("im2col_kernel_too_big", "im2col", "kernel") == []
    assert "error" in DOC["nd"]["im2col_3d"]  # MXNet 1.9.1's kernel reads 4-D data only
    with pytest.raises(MXNetError, match="im2col.*kernel"):
        mx.nd.im2col(mx.nd.ones((1, 1, 4, 4, 4)), kernel=(2, 2, 2))


# ----------------------------------------------------------------------------------------
# RROIAlign


@pytest.mark.parametrize("cid", ["rroi_align", "rroi_align_ratio"])
def test_rroi_align_like_mxnet(cid):
    res = _run(cid)
    want = ARRAYS[f"{cid}/out0"]
    assert res["out"][0].shape == want.shape and res["out"][0].dtype == want.dtype
    # float32: MXNet's cos / sin of the angle may round differently from numpy's
    tol = F64 if want.dtype == np.float64 else dict(rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(res["out"][0], want, **tol)
    assert res["sym"].list_arguments() == CASES[cid]["arguments"]


def test_rroi_align_has_no_gradient():
    assert "non-differentiable" in DOC["nd"]["rroi_align_backward"]["error"]
    x = mx.nd.ones((1, 1, 4, 4))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.contrib.RROIAlign(x, mx.nd.array([[0, 2, 2, 2, 2, 0]]), pooled_size=(1, 1),
                                    spatial_scale=1.0)
    with pytest.raises(MXNetError):
        y.backward()
    with pytest.raises(MXNetError, match="RROIAlign"):
        mx.nd.contrib.RROIAlign(x, mx.nd.array([[0, 2, 2, 2, 2]]), pooled_size=(1, 1),
                                spatial_scale=1.0)


# ----------------------------------------------------------------------------------------
# Pooling with pooling_convention='same'


def test_pooling_same_refuses_pad():
    assert _refusal_problems("pool_same_pad", "Pooling", "pad") == []
    res = _run("pool_same")
    np.testing.assert_allclose(res["out"][0], ARRAYS["pool_same/out0"], **F32)
    assert res["out"][0].shape == (1, 2, 4)  # ceil(7 / 2)


# ----------------------------------------------------------------------------------------
# norm over any number of axes


@pytest.mark.parametrize("cid", ["norm_5_axes", "norm_ord1_3_axes", "norm_ord2_3_axes"])
def test_norm_over_many_axes(cid):
    res = _run(cid)
    _check_like_mxnet(cid, res)


def test_norm_over_every_axis_is_the_flat_norm():
    x = ARRAYS["norm_5_axes/in/data"]
    res = _run("norm_5_axes")
    np.testing.assert_allclose(res["out"][0], [np.sqrt((x.astype(np.float64) ** 2).sum())],
                               rtol=1e-6)
    np.testing.assert_allclose(res["out"][0], ARRAYS["norm_5_axes/out0"], **F32)


# ----------------------------------------------------------------------------------------
# LayerNorm: parameter gradients summed over many rows


def test_layer_norm_long_parameter_gradients():
    res = _run("layer_norm_long")
    np.testing.assert_allclose(res["out"][0], ARRAYS["layer_norm_long/out0"], rtol=1e-5,
                               atol=1e-5)
    # MXNet's compensated float32 sums over 4096 rows; a plain float32 sum is off by ~1e-4
    for n in ("gamma", "beta"):
        np.testing.assert_allclose(res["grad"][n], ARRAYS[f"layer_norm_long/grad/{n}"],
                                   rtol=1e-6, atol=2e-5)
    np.testing.assert_allclose(res["grad"]["data"], ARRAYS["layer_norm_long/grad/data"],
                               rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------
# mod: no gradient for integer dtypes


@pytest.mark.parametrize("cid", ["mod_int", "mod_int_elemwise"])
def test_integer_mod_has_zero_gradient(cid):
    res = _run(cid)
    _check_like_mxnet(cid, res)
    assert np.abs(ARRAYS[f"{cid}/head0"]).max() > 0  # the head gradient is not zero
    for n in ("lhs", "rhs"):
        assert (res["grad"][n] == 0).all() and res["grad"][n].dtype == np.int32


def test_float_mod_gradient():
    res = _run("mod_float")
    _check_like_mxnet("mod_float", res)
    assert np.abs(res["grad"]["rhs"]).max() > 0
