"""ONNX converters of src/mxlite/onnx/_op_more.py against mxlite's own executor.

The numpy-interface operators (and the ``npx.set_np()`` Gluon model MXNet 1.9.1 exported in
tests/data/ops/numpy), linalg's triangle packings, GridGenerator / BilinearSampler /
SpatialTransformer (GridSample) and the deformable convolutions (DeformConv): each exported,
checked with ``onnx.checker.check_model(full_check=True)`` and run in onnxruntime, outputs
within 1e-4 relative (1e-5 absolute) of the executor's; each opset-bound converter refuses
older opsets naming the node, the operator and the opset it needs.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (mxlite[onnx])")
ort = pytest.importorskip("onnxruntime",
                          reason="the parity tests run models in onnxruntime (mxlite[onnx])")

from onnx_check import export_checked, run  # noqa: E402  (after the skips)

DATA = pathlib.Path(__file__).parent / "data"
NP_DATA = DATA / "ops" / "numpy"
RTOL, ATOL = 1e-4, 1e-5
I = mx.sym._internal


def _run_mx(sym, feeds: dict, params: dict | None = None) -> list[np.ndarray]:
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in feeds.items()}
    args.update(params or {})
    exe = sym.bind(mx.cpu(), args, grad_req="null")
    return [o.asnumpy() for o in exe.forward(is_train=False)]


def _export(tmp_path, sym, params, feeds: dict, **kw):
    return export_checked(tmp_path / "m.onnx", sym, params,
                          in_shapes=[v.shape for v in feeds.values()],
                          in_types=[v.dtype for v in feeds.values()], **kw)


def _mismatches(got: list, want: list) -> list[str]:
    """How onnxruntime's outputs differ from the executor's: count, shapes, dtypes, and values
    (floats within RTOL / ATOL, everything else exactly); empty when they agree."""
    if len(got) != len(want):
        return [f"{len(got)} outputs, expected {len(want)}"]
    found = []
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape or g.dtype != w.dtype:
            found.append(f"output {i}: {g.dtype} {g.shape}, expected {w.dtype} {w.shape}")
        elif not (np.allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True) if w.dtype.kind == "f"
                  else np.array_equal(g, w)):
            diff = np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))
            found.append(f"output {i}: max abs difference {diff}")
    return found


def _outputs(tmp_path, sym, feeds: dict, params: dict | None = None,
             **kw) -> tuple[list, list]:
    """onnxruntime's outputs of the exported ``sym`` and the executor's, on ``feeds``."""
    model = _export(tmp_path, sym, params or {}, feeds, **kw)
    return run(model, feeds), _run_mx(sym, feeds, params)


def _dynamic_outputs(tmp_path, sym, feeds: dict, params: dict | None = None, batch: int = 3,
                     **kw) -> tuple[list, list]:
    """:func:`_outputs` of a model exported with a dynamic batch axis at the feeds' shapes,
    run at ``batch``."""
    model = export_checked(tmp_path / "dyn.onnx", sym, params or {},
                           in_shapes=[v.shape for v in feeds.values()],
                           in_types=[v.dtype for v in feeds.values()], dynamic=True,
                           dynamic_input_shapes=[(None, *v.shape[1:]) for v in feeds.values()],
                           **kw)
    if not model.graph.input[0].type.tensor_type.shape.dim[0].dim_param:
        raise AssertionError("the exported batch axis is not dynamic")
    rng = np.random.default_rng(11)
    big = {k: np.concatenate([v] * batch)[:batch] if v.dtype.kind != "f" else
           rng.normal(0, 1, (batch, *v.shape[1:])).astype(v.dtype) for k, v in feeds.items()}
    return run(model, big), _run_mx(sym, big, params)


def _v(name="x"):
    return mx.sym.var(name)


# ----------------------------------------------------------------------------------------
# numpy-interface operators.


def test_np_model_exported_by_mxnet(tmp_path):
    """The npx.set_np() Gluon model MXNet 1.9.1 exported (its recorded output too)."""
    npz = np.load(NP_DATA / "data.npz")
    x = npz["model/x"]
    path = tmp_path / "np.onnx"
    mx.onnx.export_model(str(NP_DATA / "npmodel-symbol.json"),
                         str(NP_DATA / "npmodel-0000.params"), in_shapes=[x.shape],
                         onnx_file_path=str(path))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    (got,) = run(model, {"data": x})
    np.testing.assert_allclose(got, npz["model/out"], rtol=1e-4, atol=1e-4)
    sym = mx.sym.load(str(NP_DATA / "npmodel-symbol.json"))
    params = {k.split(":", 1)[-1]: v for k, v in
              mx.nd.load(str(NP_DATA / "npmodel-0000.params")).items()}
    (want,) = _run_mx(sym, {"data": x}, params)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    assert _mismatches(*_dynamic_outputs(tmp_path, sym, {"data": x}, params, batch=5)) == []


_R = np.random.default_rng(0)
_F = _R.normal(0, 1, (2, 3, 4)).astype(np.float32)
_G = _R.normal(0, 1, (3, 4)).astype(np.float32)
_P = _R.uniform(0.2, 2.0, (2, 3, 4)).astype(np.float32)
_INT = _R.integers(-5, 6, (2, 3, 4)).astype(np.int32)
_INT2 = _R.integers(1, 6, (3, 4)).astype(np.int32)
_UNIT = _R.uniform(-0.9, 0.9, (2, 3, 4)).astype(np.float32)

_UNARY_CASES = [(n, _F) for n in ("_npi_tanh", "_npi_exp", "_npi_negative", "_npi_absolute",
                                  "_npi_sin", "_npi_cos", "_npi_arctan", "_npi_sinh",
                                  "_npi_cosh", "_npi_arcsinh", "_npi_expm1", "_npi_square",
                                  "_npi_cbrt", "_npi_degrees", "_npi_radians", "_npi_floor",
                                  "_npi_ceil", "_npi_trunc", "_npi_sign", "_npx_relu",
                                  "_npx_sigmoid")]
_UNARY_CASES += [(n, _P) for n in ("_npi_log", "_npi_sqrt", "_npi_log1p", "_npi_log2",
                                   "_npi_log10", "_npi_reciprocal", "_npi_tan")]
_UNARY_CASES += [(n, _UNIT) for n in ("_npi_arcsin", "_npi_arccos", "_npi_arctanh")]
_UNARY_CASES += [("_npi_arccosh", _P + 1), ("_npi_exp", _INT), ("_npi_sqrt", np.abs(_INT)),
                 ("_npi_square", _INT), ("_npi_absolute", _INT)]


@pytest.mark.parametrize("name,x", _UNARY_CASES, ids=[f"{n}-{x.dtype}" for n, x in _UNARY_CASES])
def test_np_unary(tmp_path, name, x):
    assert _mismatches(*_outputs(tmp_path, getattr(I, name)(_v()), {"x": x})) == []


_BIN = ["_npi_add", "_npi_subtract", "_npi_multiply", "_npi_true_divide", "_npi_power",
        "_npi_mod", "_npi_less", "_npi_less_equal", "_npi_greater", "_npi_greater_equal",
        "_npi_equal", "_npi_not_equal", "_npi_hypot"]
_BIN_CASES = [(n, _P, _G + 2) for n in _BIN]
_BIN_CASES += [(n, _INT, _INT2) for n in ("_npi_add", "_npi_subtract", "_npi_multiply",
                                          "_npi_true_divide", "_npi_mod", "_npi_less",
                                          "_npi_equal", "_npi_not_equal")]
_BIN_CASES += [(n, _INT, _G) for n in ("_npi_add", "_npi_multiply", "_npi_true_divide",
                                       "_npi_subtract")]


@pytest.mark.parametrize("name,a,b", _BIN_CASES,
                         ids=[f"{n}-{a.dtype}-{b.dtype}" for n, a, b in _BIN_CASES])
def test_np_binary(tmp_path, name, a, b):
    sym = getattr(I, name)(_v("a"), _v("b"))
    assert _mismatches(*_outputs(tmp_path, sym, {"a": a, "b": b})) == []


_SCAL = ["_npi_add_scalar", "_npi_subtract_scalar", "_npi_rsubtract_scalar",
         "_npi_multiply_scalar", "_npi_power_scalar", "_npi_rpower_scalar",
         "_npi_true_divide_scalar", "_npi_rtrue_divide_scalar", "_npi_mod_scalar",
         "_npi_rmod_scalar", "_npi_less_scalar", "_npi_less_equal_scalar",
         "_npi_greater_scalar", "_npi_greater_equal_scalar", "_npi_equal_scalar",
         "_npi_not_equal_scalar"]
_SCAL_CASES = [(n, _P, 1.5) for n in _SCAL]
_SCAL_CASES += [(n, _INT, 2.5) for n in ("_npi_add_scalar", "_npi_multiply_scalar",
                                         "_npi_true_divide_scalar", "_npi_less_scalar",
                                         "_npi_equal_scalar")]


@pytest.mark.parametrize("name,x,s", _SCAL_CASES,
                         ids=[f"{n}-{x.dtype}" for n, x, s in _SCAL_CASES])
def test_np_scalar(tmp_path, name, x, s):
    assert _mismatches(*_outputs(tmp_path, getattr(I, name)(_v(), scalar=s), {"x": x})) == []


_SHAPE_CASES = [
    ("copy", lambda x: I._np_copy(x), _F),
    ("transpose", lambda x: I._np_transpose(x, axes=(2, 0, 1)), _F),
    ("transpose_rev", lambda x: I._np_transpose(x), _F),
    ("np_reshape", lambda x: I._np_reshape(x, newshape=(4, -1)), _F),
    ("npx_reshape", lambda x: I._npx_reshape(x, newshape=(-2, -6, 3, 1, -2)), _F),
    ("squeeze", lambda x: I._np_squeeze(x, axis=(1,)), _F[:, :1]),
    ("squeeze_all", lambda x: I._np_squeeze(x), _F[:1, :1]),
    ("flip", lambda x: I._npi_flip(x, axis=(0, 2)), _F),
    ("moveaxis", lambda x: I._np_moveaxis(x, source=(0,), destination=(2,)), _F),
    ("pad_constant", lambda x: I._npi_pad(x, pad_width=((0, 0), (1, 2), (2, 1)),
                                          mode="constant", constant_value=1.5), _F),
    ("pad_edge", lambda x: I._npi_pad(x, pad_width=((1, 0), (1, 2), (0, 1)), mode="edge"),
     _F),
    ("pad_reflect", lambda x: I._npi_pad(x, pad_width=((0, 1), (1, 2), (2, 0)),
                                         mode="reflect"), _F),
    ("broadcast_to", lambda x: I._npi_broadcast_to(x, shape=(5, 2, 3, 4)), _F),
    ("concatenate", lambda x: I._npi_concatenate(x, x * 2, axis=1, num_args=2), _F),
    ("concatenate_flat", lambda x: I._npi_concatenate(x, x, axis=None, num_args=2), _F),
    ("stack", lambda x: I._npi_stack(x, x * 2, axis=-1, num_args=2), _F),
    ("sum", lambda x: I._np_sum(x, axis=(0, 2)), _F),
    ("sum_all", lambda x: I._np_sum(x), _F),
    ("sum_int", lambda x: I._np_sum(x, axis=(1,), keepdims=True), _INT),
    ("sum_dtype", lambda x: I._np_sum(x, axis=(1,), dtype="float64"), _INT),
    ("mean", lambda x: I._npi_mean(x, axis=(1,), keepdims=True), _F),
    ("mean_int", lambda x: I._npi_mean(x), _INT),
    ("max", lambda x: I._np_max(x, axis=(2,)), _F),
    ("min", lambda x: I._np_min(x), _F),
    ("prod", lambda x: I._np_prod(x, axis=(0,)), _P),
    ("sum_none", lambda x: I._np_sum(x, axis=()), _F),
    ("max_bool", lambda x: I._np_max(I._npi_greater_scalar(x, scalar=0), axis=(1,)), _F),
    ("sum_bool", lambda x: I._np_sum(I._npi_greater_scalar(x, scalar=0), axis=(2,)), _F),
    ("all", lambda x: I._np_all(x, axis=(1,)), _INT),
    ("any", lambda x: I._np_any(x, keepdims=True), _INT),
    ("argmax", lambda x: I._npi_argmax(x, axis=1), _F),
    ("argmin_flat", lambda x: I._npi_argmin(x, keepdims=True), _F),
    ("cumsum", lambda x: I._np_cumsum(x, axis=1), _F),
    ("cumsum_flat", lambda x: I._np_cumsum(x), _INT),
    ("logical_not", lambda x: I._npi_logical_not(x), _INT),
    ("where_rscalar", lambda x: I._npi_where_rscalar(I._npi_less_scalar(x, scalar=0), x,
                                                     scalar=-2.0), _F),
    ("where_lscalar", lambda x: I._npi_where_lscalar(I._npi_less_scalar(x, scalar=0), x,
                                                     scalar=3.0), _F),
    ("where_scalar2", lambda x: I._npi_where_scalar2(x, x=1.0, y=-1.0), _INT),
    ("where", lambda x: I._npi_where(I._npi_greater_scalar(x, scalar=0), x, x * 3), _F),
    ("full_like", lambda x: I._npi_full_like(x, fill_value=2.5, dtype="float32"), _INT),
    ("zeros_plus", lambda x: I._npi_add(x, I._npi_ones(shape=(3, 4))), _F),
    ("arange_plus", lambda x: I._npi_add(x, I._npi_arange(start=0, stop=4, step=1)), _F),
    ("matmul", lambda x: I._npi_matmul(x, I._np_transpose(x, axes=(0, 2, 1))), _F),
    ("matmul_vec", lambda x: I._npi_matmul(x, I._np_sum(x, axis=(0, 1))), _F),
    ("dot_2d", lambda x: I._np_dot(I._np_sum(x, axis=(0,)), I._np_transpose(
        I._np_sum(x, axis=(0,)))), _F),
    ("dot_nd", lambda x: I._np_dot(x, I._np_transpose(x, axes=(0, 2, 1))), _F),
]


@pytest.mark.parametrize("name,make,x", _SHAPE_CASES, ids=[c[0] for c in _SHAPE_CASES])
def test_np_shapes_and_reductions(tmp_path, name, make, x):
    assert _mismatches(*_outputs(tmp_path, make(_v()), {"x": x})) == []
    # the oldest supported opset: Squeeze / Unsqueeze / Reduce* take attributes there
    assert _mismatches(*_outputs(tmp_path, make(_v()), {"x": x}, opset_version=12)) == []


def test_np_pad_mode_without_onnx_form(tmp_path):
    sym = I._npi_pad(_v(), pad_width=((0, 0), (1, 1), (1, 1)), mode="maximum", name="padmax")
    with pytest.raises(MXNetError, match=r"'padmax'.*_npi_pad.*mode='maximum'"):
        _export(tmp_path, sym, {}, {"x": _F})


def test_every_numpy_op_has_a_converter():
    """Every _np_/_npi_/_npx_ operator of the registry converts, except those listed."""
    from mxlite.onnx import _export as ex
    from mxlite.ops import registry

    ex._load_converters()
    names = {op.name for op in registry.all_names().values()
             if op.name.startswith(("_np_", "_npi_", "_npx_"))}
    missing = sorted(n for n in names if n not in ex.CONVERTERS)
    assert missing == [], missing
    assert "_npi_add" in mx.onnx.get_operator_support()


# ----------------------------------------------------------------------------------------
# linalg triangle packings.


@pytest.mark.parametrize("offset,lower", [(0, True), (0, False), (1, True), (-2, True),
                                          (2, False)])
def test_linalg_trian(tmp_path, offset, lower):
    a = _R.normal(0, 1, (2, 3, 5, 5)).astype(np.float32)
    ext = mx.sym.linalg.extracttrian(_v(), offset=offset, lower=lower)
    got, want = _outputs(tmp_path, ext, {"x": a})
    assert _mismatches(got, want) == []
    packed = want[0]
    make = mx.sym.linalg.maketrian(_v(), offset=offset, lower=lower)
    got, want = _outputs(tmp_path, make, {"x": packed})
    assert _mismatches(got, want) == []
    assert want[0].shape == (2, 3, 5, 5)
    # the round trip: extract then make again
    both = mx.sym.linalg.maketrian(mx.sym.linalg.extracttrian(_v(), offset=offset, lower=lower),
                                   offset=offset, lower=lower)
    assert _mismatches(*_outputs(tmp_path, both, {"x": a})) == []
    assert _mismatches(*_outputs(tmp_path, both, {"x": a}, opset_version=12)) == []


# ----------------------------------------------------------------------------------------
# GridGenerator, BilinearSampler, SpatialTransformer via GridSample.

_IMG = _R.normal(0, 1, (2, 3, 9, 11)).astype(np.float32)
# affine matrices that zoom out a little, rotate and shift: part of the grid leaves the image
_LOC = np.array([[1.1, 0.2, 0.1, -0.15, 0.9, -0.2], [0.8, -0.3, 0.25, 0.3, 1.2, 0.05]],
                np.float32)


def test_grid_generator_affine_and_sampler(tmp_path):
    grid = mx.sym.GridGenerator(_v("loc"), transform_type="affine", target_shape=(7, 8))
    assert _mismatches(*_outputs(tmp_path, grid, {"loc": _LOC}, opset_version=16)) == []
    out = mx.sym.BilinearSampler(_v("data"), grid)
    feeds = {"data": _IMG, "loc": _LOC}
    assert _mismatches(*_outputs(tmp_path, out, feeds, opset_version=16)) == []
    assert _mismatches(*_outputs(tmp_path, out, feeds)) == []  # newest opset: mode='linear'


def test_grid_generator_warp_and_sampler(tmp_path):
    flow = _R.normal(0, 2.0, (2, 2, 9, 11)).astype(np.float32)
    grid = mx.sym.GridGenerator(_v("flow"), transform_type="warp")
    assert _mismatches(*_outputs(tmp_path, grid, {"flow": flow})) == []
    out = mx.sym.BilinearSampler(_v("data"), grid)
    feeds = {"data": _IMG, "flow": flow}
    assert _mismatches(*_outputs(tmp_path, out, feeds, opset_version=17)) == []


def test_bilinear_sampler_given_grid(tmp_path):
    g = _R.uniform(-1.2, 1.2, (2, 2, 5, 6)).astype(np.float32)
    out = mx.sym.BilinearSampler(_v("data"), _v("grid"))
    assert _mismatches(*_outputs(tmp_path, out, {"data": _IMG, "grid": g})) == []


def test_spatial_transformer(tmp_path):
    out = mx.sym.SpatialTransformer(_v("data"), _v("loc"), target_shape=(6, 10),
                                    transform_type="affine", sampler_type="bilinear")
    feeds = {"data": _IMG, "loc": _LOC}
    assert _mismatches(*_outputs(tmp_path, out, feeds, opset_version=16)) == []


@pytest.mark.parametrize("make,feeds", [
    (lambda: mx.sym.BilinearSampler(_v("data"), _v("grid"), name="bs"),
     {"data": _IMG, "grid": np.zeros((2, 2, 3, 3), np.float32)}),
    (lambda: mx.sym.SpatialTransformer(_v("data"), _v("loc"), target_shape=(4, 4),
                                       transform_type="affine", sampler_type="bilinear",
                                       name="bs"),
     {"data": _IMG, "loc": _LOC}),
], ids=["BilinearSampler", "SpatialTransformer"])
def test_grid_sample_needs_opset_16(tmp_path, make, feeds):
    with pytest.raises(MXNetError, match=r"node 'bs'.*GridSample.*opset 16"):
        _export(tmp_path, make(), {}, feeds, opset_version=15)


# ----------------------------------------------------------------------------------------
# Deformable convolutions via DeformConv.


def _dconv_feeds(n, c, h, w, oh, ow, k, dg, spread, rng):
    x = rng.normal(0, 1, (n, c, h, w)).astype(np.float32)
    off = rng.normal(0, spread, (n, 2 * k * dg, oh, ow)).astype(np.float32)
    return x, off


_DCONV_CASES = [
    dict(kernel=(3, 3), pad=(1, 1), num_filter=8),
    dict(kernel=(3, 3), stride=(2, 2), dilate=(2, 1), pad=(2, 1), num_filter=6,
         num_deformable_group=2),
    dict(kernel=(3, 2), pad=(0, 1), num_filter=4, num_group=2, num_deformable_group=2,
         no_bias=True),
]


def _out_hw(kw, h, w):
    kh, kw_ = kw["kernel"]
    sh, sw = kw.get("stride", (1, 1))
    dh, dw = kw.get("dilate", (1, 1))
    ph, pw = kw.get("pad", (0, 0))
    return ((h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
            (w + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1)


@pytest.mark.parametrize("modulated", [False, True], ids=["plain", "modulated"])
@pytest.mark.parametrize("kw", _DCONV_CASES, ids=["basic", "strided_dg2", "groups"])
def test_deformable_convolution(tmp_path, kw, modulated):
    rng = np.random.default_rng(3)
    n, c, h, w = 2, 4, 10, 9
    k = kw["kernel"][0] * kw["kernel"][1]
    dg = kw.get("num_deformable_group", 1)
    oh, ow = _out_hw(kw, h, w)
    # offsets of a few pixels move taps across the image border and past the last row
    x, off = _dconv_feeds(n, c, h, w, oh, ow, k, dg, 2.5, rng)
    feeds = {"data": x, "offset": off}
    if modulated:
        feeds["mask"] = rng.uniform(0, 1, (n, k * dg, oh, ow)).astype(np.float32)
        sym = mx.sym.contrib.ModulatedDeformableConvolution(
            _v("data"), _v("offset"), _v("mask"), name="dc", **kw)
    else:
        sym = mx.sym.contrib.DeformableConvolution(_v("data"), _v("offset"), name="dc", **kw)
    shapes = {k_: v.shape for k_, v in feeds.items()}
    arg_shapes, _, _ = sym.infer_shape(**shapes)
    params = {nm: mx.nd.array(rng.normal(0, 0.3, s).astype(np.float32))
              for nm, s in zip(sym.list_arguments(), arg_shapes) if nm not in feeds}
    assert _mismatches(*_outputs(tmp_path, sym, feeds, params)) == []


def test_deformable_convolution_needs_opset_19(tmp_path):
    sym = mx.sym.contrib.DeformableConvolution(_v("data"), _v("offset"), kernel=(3, 3),
                                               num_filter=2, no_bias=True, name="dc")
    x = np.zeros((1, 2, 5, 5), np.float32)
    off = np.zeros((1, 18, 3, 3), np.float32)
    w = {"dc_weight": mx.nd.zeros((2, 2, 3, 3))}
    with pytest.raises(MXNetError, match=r"node 'dc'.*_contrib_DeformableConvolution.*"
                                         r"DeformConv.*opset 19"):
        _export(tmp_path, sym, w, {"data": x, "offset": off}, opset_version=18)


# The operators written here are no longer listed as missing.
def test_docs_table_lists_no_converted_operator():
    text = (pathlib.Path(__file__).parent.parent / "docs" / "onnx.md").read_text()
    table = text.split("### Operators without a converter", 1)[1].split("## ", 1)[0]
    for name in ("GridGenerator", "BilinearSampler", "SpatialTransformer",
                 "_linalg_maketrian", "_contrib_DeformableConvolution"):
        assert f"`{name}`" not in table, name


# ----------------------------------------------------------------------------------------
# Correlation.


@pytest.mark.parametrize("kw", [
    dict(kernel_size=1, max_displacement=2, stride1=1, stride2=1, pad_size=2),
    dict(kernel_size=3, max_displacement=4, stride1=2, stride2=2, pad_size=4),
    dict(kernel_size=3, max_displacement=2, stride1=1, stride2=1, pad_size=1,
         is_multiply=False),
    dict(kernel_size=1, max_displacement=3, stride1=3, stride2=1, pad_size=0),
], ids=["flownet_c", "strided", "abs_diff", "no_pad"])
def test_correlation(tmp_path, kw):
    rng = np.random.default_rng(5)
    a = rng.normal(0, 1, (2, 5, 12, 13)).astype(np.float32)
    b = rng.normal(0, 1, (2, 5, 12, 13)).astype(np.float32)
    sym = mx.sym.Correlation(_v("a"), _v("b"), **kw)
    assert _mismatches(*_outputs(tmp_path, sym, {"a": a, "b": b})) == []
    assert _mismatches(*_outputs(tmp_path, sym, {"a": a, "b": b}, opset_version=12)) == []


# ----------------------------------------------------------------------------------------
# A dynamic batch axis.


def test_dynamic_batch(tmp_path):
    rng = np.random.default_rng(9)
    x = _v()
    np_graph = I._npi_where_rscalar(I._npi_less_scalar(x, scalar=0), x, scalar=-1.0)
    np_graph = I._npx_reshape(I._np_sum(np_graph, axis=(2,), keepdims=True), newshape=(-2, -5))
    np_graph = I._npi_full_like(np_graph, fill_value=2.0) + np_graph
    assert _mismatches(*_dynamic_outputs(tmp_path, np_graph, {"x": _F})) == []
    st = mx.sym.SpatialTransformer(_v("data"), _v("loc"), target_shape=(6, 10),
                                   transform_type="affine", sampler_type="bilinear")
    assert _mismatches(*_dynamic_outputs(tmp_path, st, {"data": _IMG, "loc": _LOC})) == []
    flow = rng.normal(0, 2.0, (2, 2, 9, 11)).astype(np.float32)
    warp = mx.sym.BilinearSampler(_v("data"), mx.sym.GridGenerator(_v("flow"),
                                                                   transform_type="warp"))
    assert _mismatches(*_dynamic_outputs(tmp_path, warp, {"data": _IMG, "flow": flow})) == []
    x1, off = _dconv_feeds(2, 4, 10, 9, 10, 9, 9, 1, 2.5, rng)
    dc = mx.sym.contrib.DeformableConvolution(_v("data"), _v("offset"), kernel=(3, 3),
                                              pad=(1, 1), num_filter=3, name="dc")
    params = {"dc_weight": mx.nd.array(rng.normal(0, 0.3, (3, 4, 3, 3)).astype(np.float32)),
              "dc_bias": mx.nd.array(rng.normal(0, 0.3, (3,)).astype(np.float32))}
    assert _mismatches(*_dynamic_outputs(tmp_path, dc, {"data": x1, "offset": off}, params)) == []
    corr = mx.sym.Correlation(_v("a"), _v("b"), kernel_size=3, max_displacement=2,
                              pad_size=2)
    assert _mismatches(*_dynamic_outputs(tmp_path, corr, {"a": _IMG, "b": _IMG[::-1].copy()})) == []
