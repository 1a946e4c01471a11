"""The detection operators (ops/detection.py): MXNet 1.9.1's values (tests/data/ops/detection,
from tests/fixtures/gen_detection.py) forward and backward, two whole graphs (SSD-style and a
Faster R-CNN head) loaded from MXNet's JSON, finite differences for the gradients that are
not zero, both NMS strategies against MXNet, signatures, and refusals of bad parameters."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest
from gradcheck import gradients

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import detection, registry
from mxlite.ops.registry import REQUIRED

DATA = pathlib.Path(__file__).parent / "data" / "ops" / "detection"
DOC = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "data.npz", allow_pickle=False)
CASES = [c for c in DOC["cases"] if "error" not in c]
GRAD_CASES = [c for c in CASES if c["grad"]]
REFUSED = [c for c in DOC["cases"] if "error" in c]


def _fn(path: str):
    fn = mx.nd
    for part in path.split("."):
        fn = getattr(fn, part)
    return fn


def _inputs(case: dict) -> dict[str, mx.nd.NDArray]:
    name = case["name"]
    return {k: mx.nd.array(ARRAYS[f"{name}/in/{k}"], dtype=ARRAYS[f"{name}/in/{k}"].dtype)
            for k in case["inputs"]}


def _listify(out) -> list:
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _outputs(case) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ours, MXNet's) for every output of the case."""
    name = case["name"]
    outs = _listify(_fn(case["func"])(**_inputs(case), **case["kwargs"]))
    assert len(outs) == case["n_out"]
    return [(y.asnumpy(), ARRAYS[f"{name}/out{i}"]) for i, y in enumerate(outs)]


def _gradients(case) -> list[tuple[np.ndarray, np.ndarray]]:
    """(ours, MXNet's) input gradients of the case under its recorded head gradients."""
    name = case["name"]
    nds = _inputs(case)
    for v in nds.values():
        v.attach_grad()
    with mx.autograd.record():
        outs = _listify(_fn(case["func"])(**nds, **case["kwargs"]))
    mx.autograd.backward(outs, [mx.nd.array(ARRAYS[f"{name}/head{i}"])
                                for i in range(len(outs))])
    return [(v.grad.asnumpy(), ARRAYS[f"{name}/grad/{k}"]) for k, v in nds.items()]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_forward_matches_mxnet(case):
    for got, want in _outputs(case):
        assert got.shape == want.shape and got.dtype == want.dtype
        # same arithmetic in the same dtype: the values agree to rounding
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c["name"])
def test_backward_matches_mxnet(case):
    for got, want in _gradients(case):
        # ROIAlign / PSROIPooling sum their scattered contributions in another order
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c["name"])
def test_executor_backward_matches_mxnet(case):
    name = case["name"]
    fn = mx.sym
    for part in case["func"].split("."):
        fn = getattr(fn, part)
    sym = fn(**{k: mx.sym.var(k) for k in case["inputs"]}, **case["kwargs"], name="op")
    args = _inputs(case)
    grads = {k: mx.nd.zeros(v.shape, dtype=v.dtype) for k, v in args.items()}
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    outs = exe.forward(is_train=True)
    np.testing.assert_allclose(outs[0].asnumpy(), ARRAYS[f"{name}/out0"], rtol=1e-5, atol=1e-6)
    exe.backward([mx.nd.array(ARRAYS[f"{name}/head{i}"]) for i in range(case["n_out"])])
    for k, g in grads.items():
        np.testing.assert_allclose(g.asnumpy(), ARRAYS[f"{name}/grad/{k}"], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c["name"])
def test_float32_only_layers_refuse_other_dtypes_as_mxnet_does(case):
    assert "Unsupported data type" in case["error"]
    with pytest.raises(MXNetError, match="float32 only"):
        _fn(case["func"])(**_inputs(case), **case["kwargs"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_symbol_inference_gives_the_output_shapes(case):
    name = case["name"]
    fn = mx.sym
    for part in case["func"].split("."):
        fn = getattr(fn, part)
    sym = fn(**{k: mx.sym.var(k) for k in case["inputs"]}, **case["kwargs"], name="op")
    shapes = {k: ARRAYS[f"{name}/in/{k}"].shape for k in case["inputs"]}
    _, out_shapes, _ = sym.infer_shape(**shapes)
    assert [tuple(s) for s in out_shapes] == [ARRAYS[f"{name}/out{i}"].shape
                                             for i in range(case["n_out"])]
    types = {k: ARRAYS[f"{name}/in/{k}"].dtype for k in case["inputs"]}
    _, out_types, _ = sym.infer_type(**types)
    assert [np.dtype(t) for t in out_types] == [ARRAYS[f"{name}/out{i}"].dtype
                                                for i in range(case["n_out"])]


# ----------------------------------------------------------------------------------------
# Whole graphs saved by MXNet


@pytest.mark.parametrize("name", sorted(DOC["graphs"]))
def test_graph_matches_mxnet(name, tmp_path):
    graph = DOC["graphs"][name]
    path = tmp_path / f"{name}-symbol.json"
    path.write_text(graph["symbol"])
    sym = mx.sym.load(str(path))
    assert sym.list_outputs() == graph["outputs"]
    args = {a: mx.nd.array(ARRAYS[f"graph/{name}/arg/{a}"]) for a in sym.list_arguments()}
    exe = sym.bind(mx.cpu(), args, grad_req="null")
    outs = exe.forward(is_train=False)
    assert len(outs) == len(graph["outputs"])
    for i, y in enumerate(outs):
        np.testing.assert_allclose(y.asnumpy(), ARRAYS[f"graph/{name}/out{i}"], rtol=1e-4,
                                   atol=1e-4)


def test_ssd_graph_finds_detections():
    out = ARRAYS["graph/ssd/out0"]
    assert ((out[..., 0] >= 0).sum(axis=1) > 0).all()  # the fixture is not all padding


# ----------------------------------------------------------------------------------------
# Signatures


def _parse_default(op, pname: str, text: str):
    return op.params[pname].type.parse(text)


@pytest.mark.parametrize("name", sorted(DOC["signatures"]))
def test_signature_matches_mxnet(name):
    sig = DOC["signatures"][name]
    op = registry.get(name)
    assert op.name == name
    assert sorted(op.aliases) == sig["aliases"]
    for alias in sig["aliases"]:
        assert registry.get(alias) is op
    assert list(op.params) == [p for p, _ in sig["params"]]
    for pname, default in sig["params"]:
        ours = op.params[pname].default
        if default is None:
            assert ours is REQUIRED, pname
            continue
        theirs = _parse_default(op, pname, default)
        if isinstance(ours, float):
            assert math.isclose(ours, theirs, rel_tol=1e-6), pname  # MXNet prints float32
        elif isinstance(ours, tuple):
            assert np.allclose(ours, theirs, rtol=1e-6), pname
        else:
            assert ours == theirs, pname
    assert name not in detection.NO_BACKWARD and op.backward is not None


def test_namespaces_and_aliases():
    assert mx.nd.contrib.box_non_maximum_suppression is not None
    assert mx.sym.contrib.MultiBoxPrior is not None
    x = mx.nd.array(ARRAYS["nms_default/in/data"])
    a = mx.nd.contrib.box_nms(x, overlap_thresh=0.4).asnumpy()
    b = mx.nd.contrib.box_non_maximum_suppression(x, overlap_thresh=0.4).asnumpy()
    np.testing.assert_array_equal(a, b)
    anchors = mx.nd._npx_multibox_prior(mx.nd.zeros((1, 1, 2, 2)), sizes=(0.5,))
    assert anchors.shape == (1, 4, 4)


def test_visible_outputs():
    d, r = mx.sym.var("d"), mx.sym.var("r")
    assert mx.sym.contrib.box_nms(d, name="n").list_outputs() == ["n_output0"]
    assert mx.sym.ROIPooling(d, r, pooled_size=(2, 2), spatial_scale=1.0,
                             name="p").list_outputs() == ["p_output"]
    prop = mx.sym.contrib.Proposal(d, r, mx.sym.var("i"), output_score=True, name="q")
    assert prop.list_outputs() == ["q_output", "q_score"]
    assert mx.sym.contrib.MultiBoxTarget(d, r, mx.sym.var("c"), name="t").list_outputs() == [
        "t_loc_target", "t_loc_mask", "t_cls_target"]


# ----------------------------------------------------------------------------------------
# Finite differences (float64) for the gradients that are not all zeros


def _check_gradient(call, data: np.ndarray, seed: int):
    got, num = gradients(call, {"x": data}, ["x"], positional=True, seed=seed)["x"]
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-7)


ROIS = np.array([[0, 0.5, 1.0, 9.0, 7.5], [0, 3.3, 2.2, 8.7, 11.1], [0, -2, -1, 4, 5]],
                np.float64)


@pytest.mark.parametrize("kwargs", [
    dict(pooled_size=(2, 3), spatial_scale=0.5),
    dict(pooled_size=(2, 2), spatial_scale=0.6, sample_ratio=3),
    dict(pooled_size=(2, 2), spatial_scale=0.5, aligned=True),
    dict(pooled_size=(1, 2), spatial_scale=0.5, position_sensitive=True),
], ids=["adaptive", "ratio3", "aligned", "position_sensitive"])
def test_roi_align_gradient_by_finite_differences(kwargs):
    data = np.random.default_rng(1).normal(0, 1, (1, 4, 6, 7))
    rois = mx.nd.array(ROIS, dtype=np.float64)
    _check_gradient(lambda x: mx.nd.contrib.ROIAlign(x, rois, **kwargs), data, 2)


def test_roi_pooling_gradient_by_finite_differences():
    data = np.random.default_rng(3).normal(0, 1, (1, 2, 6, 7))
    rois = mx.nd.array(ROIS, dtype=np.float64)
    _check_gradient(lambda x: mx.nd.ROIPooling(x, rois, pooled_size=(2, 2),
                                               spatial_scale=0.5), data, 4)


@pytest.mark.parametrize("group_size", [0, 2])
def test_psroi_pooling_gradient_by_finite_differences(group_size):
    data = np.random.default_rng(5).normal(0, 1, (1, 8, 6, 7))
    rois = mx.nd.array(ROIS, dtype=np.float64)
    _check_gradient(lambda x: mx.nd.contrib.PSROIPooling(
        x, rois, spatial_scale=0.5, output_dim=2, pooled_size=2, group_size=group_size),
        data, 6)


def test_box_nms_gradient_by_finite_differences():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 10, (12, 2))
    wh = rng.uniform(1, 3, (12, 2))
    data = np.concatenate([rng.integers(0, 2, (12, 1)), rng.uniform(0, 1, (12, 1)), xy,
                           xy + wh], 1)[None]
    _check_gradient(lambda x: mx.nd.contrib.box_nms(x, overlap_thresh=0.3, id_index=0), data,
                    8)


@pytest.mark.parametrize("case", [c for c in GRAD_CASES if "roi" in c["func"].lower()],
                         ids=lambda c: c["name"])
def test_roi_poolings_in_chunks_match_mxnet(case, monkeypatch):
    monkeypatch.setattr(detection, "_ROI_CHUNK", 1)  # one ROI per pass
    for got, want in _outputs(case) + _gradients(case):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------
# box_nms: both suppression strategies give MXNet's answer; edge cases


@pytest.mark.parametrize("case", ["nms_big", "nms_big_id", "nms_default", "nms_4d"])
@pytest.mark.parametrize("strategy", ["pairs", "blocks"])
def test_nms_strategies_agree_with_mxnet(case, strategy, monkeypatch):
    if strategy == "pairs":
        monkeypatch.setattr(detection, "_BLOCK_CAP", 0.0)
    else:
        monkeypatch.setattr(detection, "_PAIR_BUDGET", -1)
    c = next(c for c in CASES if c["name"] == case)
    out = _fn(c["func"])(**_inputs(c), **c["kwargs"])
    np.testing.assert_array_equal(out.asnumpy(), ARRAYS[f"{case}/out0"])


def test_nms_empty_and_single_box():
    with mx.util.np_shape(True):  # zero-size arrays need numpy shape semantics
        out = mx.nd.contrib.box_nms(mx.nd.zeros((2, 0, 6)))
    assert out.shape == (2, 0, 6)
    one = mx.nd.array([[[0, 0.9, 0, 0, 1, 1]]])
    np.testing.assert_array_equal(mx.nd.contrib.box_nms(one).asnumpy(), one.asnumpy())


def test_nms_kept_rows_come_first_in_score_order():
    out = ARRAYS["nms_id/out0"]
    for batch in out:
        kept = batch[:, 0] >= 0
        n = int(kept.sum())
        assert kept[:n].all() and not kept[n:].any()
        assert (np.diff(batch[:n, 1]) <= 0).all()
        assert (batch[n:] == -1).all()


# ----------------------------------------------------------------------------------------
# Bad input


def _nms(**kw):
    return mx.nd.contrib.box_nms(mx.nd.zeros((1, 4, 6)), **kw)


def _roi(fn, **kw):
    return fn(mx.nd.zeros((1, 8, 4, 4)), mx.nd.array([[0, 0, 0, 3, 3]]), **kw)


BAD = [
    ("in_format", lambda: _nms(in_format="foo")),
    ("out_format", lambda: _nms(out_format="xyxy")),
    ("score_index", lambda: _nms(score_index=9)),
    ("coord_start", lambda: _nms(coord_start=4)),
    ("id_index", lambda: _nms(id_index=1)),
    ("format", lambda: mx.nd.contrib.box_iou(mx.nd.zeros((2, 4)), mx.nd.zeros((2, 4)),
                                             format="xywh")),
    ("format", lambda: mx.nd.contrib.box_decode(mx.nd.zeros((1, 2, 4)), mx.nd.zeros((1, 2, 4)),
                                                format="bad")),
    ("threshold", lambda: mx.nd.contrib.bipartite_matching(mx.nd.zeros((2, 2)))),
    ("sizes", lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2)), sizes=(-0.5,))),
    ("offsets", lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2)),
                                                    offsets=(1.5, 0.5))),
    ("steps", lambda: mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, 2, 2)), steps=(0.1,))),
    ("variances", lambda: mx.nd.contrib.MultiBoxDetection(
        mx.nd.zeros((1, 2, 4)), mx.nd.zeros((1, 16)), mx.nd.zeros((1, 4, 4)),
        variances=(0.1, 0.1))),
    ("rpn_post_nms_top_n", lambda: mx.nd.contrib.Proposal(
        mx.nd.zeros((1, 6, 2, 2)), mx.nd.zeros((1, 12, 2, 2)), mx.nd.array([[32, 32, 1]]),
        scales=(1,), rpn_post_nms_top_n=-1)),
    ("feature_stride", lambda: mx.nd.contrib.Proposal(
        mx.nd.zeros((1, 6, 2, 2)), mx.nd.zeros((1, 12, 2, 2)), mx.nd.array([[32, 32, 1]]),
        scales=(1,), feature_stride=0)),
    ("pooled_size", lambda: _roi(mx.nd.contrib.ROIAlign, pooled_size=(0, 2),
                                 spatial_scale=1.0)),
    ("pooled_size", lambda: _roi(mx.nd.contrib.ROIAlign, pooled_size=(2,), spatial_scale=1.0)),
    ("spatial_scale", lambda: _roi(mx.nd.contrib.ROIAlign, pooled_size=(2, 2),
                                   spatial_scale=2.0)),
    ("pooled_size", lambda: _roi(mx.nd.ROIPooling, pooled_size=(-1, 2), spatial_scale=1.0)),
    ("spatial_scale", lambda: _roi(mx.nd.ROIPooling, pooled_size=(2, 2), spatial_scale=-1)),
    ("pooled_size", lambda: _roi(mx.nd.contrib.PSROIPooling, pooled_size=-1, output_dim=2,
                                 spatial_scale=1.0)),
    ("output_dim", lambda: _roi(mx.nd.contrib.PSROIPooling, pooled_size=2, output_dim=0,
                                spatial_scale=1.0)),
    ("group_size", lambda: _roi(mx.nd.contrib.PSROIPooling, pooled_size=2, output_dim=2,
                                group_size=-3, spatial_scale=1.0)),
]


@pytest.mark.parametrize("param,call", BAD, ids=[f"{p}{i}" for i, (p, _) in enumerate(BAD)])
def test_bad_parameters_name_the_parameter(param, call):
    with pytest.raises(MXNetError, match=param):
        call()


def test_bad_parameter_in_a_graph_names_the_parameter():
    sym = mx.sym.contrib.ROIAlign(mx.sym.var("d"), mx.sym.var("r"), pooled_size=(0, 2),
                                  spatial_scale=0.5, name="roi")
    with pytest.raises(MXNetError, match="pooled_size"):
        sym.infer_shape(d=(1, 4, 8, 8), r=(2, 5))


def test_bad_shapes_and_data():
    with pytest.raises(MXNetError, match="MultiProposal"):  # one image only
        mx.nd.contrib.Proposal(mx.nd.zeros((2, 6, 2, 2)), mx.nd.zeros((2, 12, 2, 2)),
                               mx.nd.array([[32, 32, 1], [32, 32, 1]]), scales=(1,))
    with pytest.raises(MXNetError, match="anchors"):  # 3 anchors, ratios x scales = 3 x 4
        mx.nd.contrib.Proposal(mx.nd.zeros((1, 6, 2, 2)), mx.nd.zeros((1, 12, 2, 2)),
                               mx.nd.array([[32, 32, 1]]))
    label = np.full((1, 2, 5), -1, np.float32)
    label[0, 0, 1] = 0.3  # a padding row whose box is not padding: MXNet's CHECK fails
    with pytest.raises(MXNetError, match="padding"):
        mx.nd.contrib.MultiBoxTarget(mx.nd.zeros((1, 4, 4)), mx.nd.array(label),
                                     mx.nd.zeros((1, 2, 4)))
    with pytest.raises(MXNetError, match="aligned"):
        mx.nd.contrib.ROIAlign(mx.nd.zeros((1, 1, 4, 4)), mx.nd.array([[0, 2, 2, 1, 1]]),
                               pooled_size=(2, 2), spatial_scale=1.0, aligned=True)
    with pytest.raises(MXNetError, match="position_sensitive"):
        mx.sym.contrib.ROIAlign(mx.sym.var("d"), mx.sym.var("r"), pooled_size=(2, 2),
                                spatial_scale=1.0, position_sensitive=True).infer_shape(
            d=(1, 6, 4, 4), r=(1, 5))
