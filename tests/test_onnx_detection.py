"""ONNX export of the detection layers (MultiBoxDetection, Proposal / MultiProposal,
PSROIPooling) against mxlite's executor, in onnxruntime.

Each graph is exported (``onnx.checker.check_model(full_check=True)``) and run at realistic
sizes; scores are distinct so that every ordering is defined. Class ids and row counts must
match exactly, boxes and pooled values within 1e-4 relative / 1e-5 absolute.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (mxlite[onnx])")
ort = pytest.importorskip("onnxruntime",
                          reason="the parity tests run models in onnxruntime (mxlite[onnx])")

from onnx_check import export_checked, run  # noqa: E402  (after the skips)

S = mx.sym
RTOL, ATOL = 1e-4, 1e-5


def _export(tmp_path, sym, shapes: list, dynamic: list | None = None, **kw):
    return export_checked(tmp_path / "m.onnx", sym, {}, in_shapes=shapes,
                          dynamic=dynamic is not None, dynamic_input_shapes=dynamic, **kw)


def _mx(sym, feeds: dict) -> list[np.ndarray]:
    exe = sym.bind(mx.cpu(), {k: mx.nd.array(v, dtype=v.dtype) for k, v in feeds.items()},
                   grad_req="null")
    return [o.asnumpy() for o in exe.forward(is_train=False)]


def _distinct(rng, shape) -> np.ndarray:
    """Uniform values in (0, 1), all different (a random permutation of a fine grid)."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) + 0.5) / n).astype(np.float32).reshape(shape)


# ----------------------------------------------------------------------------------------
# MultiBoxDetection


def _ssd_inputs(rng, batch: int, classes: int, fmap: int):
    anchor = mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, fmap, fmap)), sizes=(0.3, 0.15),
                                         ratios=(1, 2, 0.5)).asnumpy()
    na = anchor.shape[1]
    logits = _distinct(rng, (batch, classes, na)) * 8
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loc = rng.normal(0, 0.5, (batch, na * 4)).astype(np.float32)
    return {"cls_prob": prob.astype(np.float32), "loc_pred": loc, "anchor": anchor}


def _check_detections(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    np.testing.assert_array_equal(got[..., 0], want[..., 0])  # ids: kept / suppressed / unused
    np.testing.assert_array_equal(got[..., 1] == -1, want[..., 1] == -1)
    np.testing.assert_allclose(got[..., 1:], want[..., 1:], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kw,classes", [
    ({}, 6),
    ({"force_suppress": True, "nms_threshold": 0.45}, 4),
    ({"nms_topk": 400, "threshold": 0.2}, 21),
    ({"nms_threshold": 0.3, "clip": False, "variances": (0.1, 0.1, 0.3, 0.3)}, 3),
    ({"nms_threshold": 0}, 5),  # no NMS: valid rows in anchor order
    ({"nms_topk": 50, "force_suppress": True}, 3),
], ids=["default", "force_suppress", "topk_21cls", "noclip", "no_nms", "topk_force"])
def test_multibox_detection(tmp_path, kw, classes):
    rng = np.random.default_rng(classes)
    feeds = _ssd_inputs(rng, 2, classes, 19)  # 19 * 19 * 4 = 1444 anchors
    names = ["cls_prob", "loc_pred", "anchor"]
    sym = S.contrib.MultiBoxDetection(*[S.var(n) for n in names], **kw)
    shapes = [feeds[n].shape for n in names]
    dyn = [(None, *shapes[0][1:]), (None, shapes[1][1]), shapes[2]]
    model = _export(tmp_path, sym, shapes, dynamic=dyn)
    want = _mx(sym, feeds)[0]
    assert (want[..., 0] >= 0).sum() > 20  # detections survive...
    if kw.get("nms_threshold", 0.5) > 0:
        assert ((want[..., 0] == -1) & (want[..., 1] != -1)).sum() > 20  # ...others suppressed
    _check_detections(run(model, feeds)[0], want)
    one = {k: (v[:1] if k != "anchor" else v) for k, v in feeds.items()}
    _check_detections(run(model, one)[0], _mx(sym, one)[0])


@pytest.mark.parametrize("force", [False, True])
def test_multibox_detection_iou_at_threshold(tmp_path, force):
    # IoU exactly 0.5 (a half box inside a whole one) and exactly 1 (a duplicate): MXNet
    # suppresses at IoU >= nms_threshold, ONNX's NonMaxSuppression above it
    anchor = np.asarray([[[0, 0, 1, 1], [0, 0, 0.5, 1], [0, 0, 1, 1], [0.5, 0, 1, 1],
                          [0, 0.5, 1, 1]]], np.float32)
    prob = np.asarray([[[0.1, 0.2, 0.3, 0.15, 0.12], [0.9, 0.8, 0.7, 0.85, 0.88]]], np.float32)
    feeds = {"cls_prob": prob, "loc_pred": np.zeros((1, 20), np.float32), "anchor": anchor}
    names = ["cls_prob", "loc_pred", "anchor"]
    outs = []
    for t in (0.5, 1.0):
        sym = S.contrib.MultiBoxDetection(*[S.var(n) for n in names], nms_threshold=t,
                                          force_suppress=force)
        model = _export(tmp_path, sym, [feeds[n].shape for n in names])
        want = _mx(sym, feeds)[0]
        np.testing.assert_array_equal(run(model, feeds)[0], want)
        outs.append(want[0, :, 0])
    np.testing.assert_array_equal(outs[0], [0, -1, -1, -1, -1])
    np.testing.assert_array_equal(outs[1], [0, 0, 0, 0, -1])


@pytest.mark.parametrize("kw", [{}, {"force_suppress": True, "nms_topk": 100}],
                         ids=["per_class", "force_topk"])
def test_multibox_detection_tied_scores(tmp_path, kw):
    # MXNet's stable sort: equal scores in anchor order (TopK's tie rule; NMS sees ranks)
    feeds = _ssd_inputs(np.random.default_rng(3), 2, 5, 12)
    feeds["cls_prob"] = np.round(feeds["cls_prob"] * 20) / 20
    names = ["cls_prob", "loc_pred", "anchor"]
    sym = S.contrib.MultiBoxDetection(*[S.var(n) for n in names], **kw)
    model = _export(tmp_path, sym, [feeds[n].shape for n in names])
    _check_detections(run(model, feeds)[0], _mx(sym, feeds)[0])


def test_multibox_detection_background_only(tmp_path):
    feeds = _ssd_inputs(np.random.default_rng(0), 1, 1, 4)
    names = ["cls_prob", "loc_pred", "anchor"]
    sym = S.contrib.MultiBoxDetection(*[S.var(n) for n in names])
    model = _export(tmp_path, sym, [feeds[n].shape for n in names], opset_version=12)
    np.testing.assert_array_equal(run(model, feeds)[0], _mx(sym, feeds)[0])


# ----------------------------------------------------------------------------------------
# Proposal / MultiProposal


def _rpn_inputs(rng, batch: int, hw: int, anchors: int, info: list):
    score = _distinct(rng, (batch, 2 * anchors, hw, hw))
    deltas = rng.normal(0, 0.2, (batch, 4 * anchors, hw, hw)).astype(np.float32)
    return {"cls_prob": score, "bbox_pred": deltas,
            "im_info": np.asarray(info, np.float32)}


_RPN = {"scales": (8, 16, 32), "ratios": (0.5, 1, 2), "feature_stride": 16}


@pytest.mark.parametrize("kw", [
    {"rpn_pre_nms_top_n": 1200, "rpn_post_nms_top_n": 300, "threshold": 0.7},
    {"rpn_pre_nms_top_n": 6000, "rpn_post_nms_top_n": 300, "threshold": 0.3,
     "rpn_min_size": 24},  # fewer survive than rows: MXNet cycles them
    {"rpn_pre_nms_top_n": 500, "rpn_post_nms_top_n": 100, "threshold": 0.5, "iou_loss": True,
     "rpn_min_size": 4},
    {"rpn_pre_nms_top_n": 150, "rpn_post_nms_top_n": 200, "threshold": 1.0},  # rows > pre
], ids=["default", "cycled", "iou_loss", "pre_below_rows"])
def test_proposal(tmp_path, kw):
    rng = np.random.default_rng(len(kw))
    feeds = _rpn_inputs(rng, 1, 14, 9, [[224, 224, 1.0]])
    names = ["cls_prob", "bbox_pred", "im_info"]
    sym = S.contrib.Proposal(*[S.var(n) for n in names], output_score=True, **kw, **_RPN)
    model = _export(tmp_path, sym, [feeds[n].shape for n in names])
    got = run(model, feeds)
    want = _mx(sym, feeds)
    assert got[0].shape == (kw["rpn_post_nms_top_n"], 5)
    if kw["threshold"] == 0.3:  # the fill repeats kept boxes
        assert len(np.unique(want[0], axis=0)) < want[0].shape[0]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_multi_proposal_dynamic_batch(tmp_path):
    rng = np.random.default_rng(7)
    # the second image covers only part of the feature map: the rest scores -1
    feeds = _rpn_inputs(rng, 2, 14, 9, [[224, 224, 1.0], [150, 190, 1.5]])
    names = ["cls_prob", "bbox_pred", "im_info"]
    sym = S.contrib.MultiProposal(*[S.var(n) for n in names], rpn_pre_nms_top_n=1000,
                                  rpn_post_nms_top_n=200, threshold=0.6, rpn_min_size=8,
                                  output_score=True, **_RPN)
    shapes = [feeds[n].shape for n in names]
    model = _export(tmp_path, sym, shapes,
                    dynamic=[(None, *shapes[0][1:]), (None, *shapes[1][1:]), (None, 3)])
    for feed in (feeds, {k: v[1:] for k, v in feeds.items()}):
        got, want = run(model, feed), _mx(sym, feed)
        assert got[0].shape == want[0].shape
        np.testing.assert_array_equal(got[0][:, 0], want[0][:, 0])
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_proposal_negative_threshold_fails(tmp_path):
    names = ["cls_prob", "bbox_pred", "im_info"]
    sym = S.contrib.Proposal(*[S.var(n) for n in names], threshold=-0.1, name="rpn", **_RPN)
    with pytest.raises(MXNetError, match="'rpn'.*_contrib_Proposal.*threshold"):
        _export(tmp_path, sym, [(1, 18, 4, 4), (1, 36, 4, 4), (1, 3)])


# ----------------------------------------------------------------------------------------
# PSROIPooling


def _rois(rng, n: int, batch: int, size: tuple) -> np.ndarray:
    hgt, wid = size
    x = np.sort(rng.uniform(-20, wid + 20, (n, 2)), axis=1)
    y = np.sort(rng.uniform(-20, hgt + 20, (n, 2)), axis=1)
    b = rng.integers(0, batch, n).astype(np.float64)
    b[:3] = [-1, batch, 0.7]  # out of range (zeros), and a fraction truncated to image 0
    x[3] = [100.0, 100.2]  # a thin box: a single column
    return np.stack([b, x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1).astype(np.float32)


@pytest.mark.parametrize("dim,size,group,dtype", [
    (10, 7, 7, np.float32), (8, 3, 3, np.float32), (4, 6, 3, np.float64),
], ids=["rfcn_7x7", "3x3", "group3_f64"])
def test_psroi_pooling(tmp_path, dim, size, group, dtype):
    rng = np.random.default_rng(size)
    data = rng.normal(0, 1, (2, dim * group * group + 3, 24, 32)).astype(dtype)
    rois = _rois(rng, 96, 2, (24 * 16, 32 * 16)).astype(dtype)
    sym = S.contrib.PSROIPooling(S.var("data"), S.var("rois"), spatial_scale=0.0625,
                                 output_dim=dim, pooled_size=size, group_size=group)
    model = _export(tmp_path, sym, [data.shape, rois.shape], in_types=[dtype, dtype],
                    dynamic=[(None, *data.shape[1:]), (None, 5)])
    feeds = {"data": data, "rois": rois}
    got, want = run(model, feeds)[0], _mx(sym, feeds)[0]
    assert got.shape == want.shape == (96, dim, size, size)
    assert (want[:2] == 0).all() and np.abs(want[2:]).max() > 0.5
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    few = {"data": data[1:], "rois": rois[10:30]}
    np.testing.assert_allclose(run(model, few)[0], _mx(sym, few)[0], rtol=RTOL, atol=ATOL)


def test_operator_support_lists_detection():
    names = set(mx.onnx.get_operator_support())
    assert {"_contrib_MultiBoxDetection", "_contrib_Proposal", "_contrib_MultiProposal",
            "_contrib_PSROIPooling"} <= names


# ----------------------------------------------------------------------------------------
# Whole heads: the layers fed by the operators around them, as in the model files.


def test_ssd_head(tmp_path):
    rng = np.random.default_rng(11)
    classes, per_cell = 4, 4
    feat = S.var("data")
    anchor = S.contrib.MultiBoxPrior(feat, sizes=(0.4, 0.2), ratios=(1, 2, 0.5))
    cls = S.Convolution(feat, num_filter=per_cell * (classes + 1), kernel=(3, 3), pad=(1, 1),
                        name="cls")
    cls = S.softmax(S.reshape(S.transpose(cls, axes=(0, 2, 3, 1)), shape=(0, -1, classes + 1)),
                    axis=2)
    loc = S.Convolution(feat, num_filter=per_cell * 4, kernel=(3, 3), pad=(1, 1), name="loc")
    loc = S.flatten(S.transpose(loc, axes=(0, 2, 3, 1)))
    sym = S.contrib.MultiBoxDetection(S.transpose(cls, axes=(0, 2, 1)), loc, anchor,
                                      nms_threshold=0.45, nms_topk=200, name="det")
    data = rng.normal(0, 1, (2, 8, 16, 16)).astype(np.float32)
    # modest logits: onnxruntime's softmax may differ from the executor's in the last bit,
    # which would reorder scores that saturate at 1 and so are nearly tied
    params = {"cls_weight": rng.normal(0, 0.1, (20, 8, 3, 3)), "cls_bias": np.zeros(20),
              "loc_weight": rng.normal(0, 0.05, (16, 8, 3, 3)), "loc_bias": np.zeros(16)}
    params = {k: mx.nd.array(v.astype(np.float32)) for k, v in params.items()}
    # a dynamic batch: the anchors depend on the feature map's static height and width only
    model = export_checked(tmp_path / "ssd.onnx", sym, params, in_shapes=[data.shape],
                           dynamic=True, dynamic_input_shapes=[(None, 8, 16, 16)])
    for batch in (data, data[:1]):
        args = {"data": mx.nd.array(batch), **params}
        want = sym.bind(mx.cpu(), args, grad_req="null").forward()[0].asnumpy()
        assert (want[..., 0] >= 0).sum() > 25 * len(batch)
        _check_detections(run(model, {"data": batch})[0], want)


def test_shape_constants_refuse_dynamic_dims_they_read(tmp_path):
    sym = S.contrib.MultiBoxPrior(S.var("data"), sizes=(0.4,))
    with pytest.raises(MXNetError, match="depends on a dynamic input shape"):
        mx.onnx.export_model(sym, {}, [(1, 8, 16, 16)], onnx_file_path=str(tmp_path / "m.onnx"),
                             dynamic=True, dynamic_input_shapes=[(None, 8, None, 16)])


def test_rfcn_head(tmp_path):
    rng = np.random.default_rng(12)
    feeds = _rpn_inputs(rng, 1, 14, 9, [[224, 224, 1.0]])
    feeds["score_map"] = rng.normal(0, 1, (1, 5 * 49, 14, 14)).astype(np.float32)
    rpn = [S.var(n) for n in ("cls_prob", "bbox_pred", "im_info")]
    rois = S.contrib.Proposal(*rpn, rpn_pre_nms_top_n=1000, rpn_post_nms_top_n=128,
                              threshold=0.7, **_RPN)
    sym = S.contrib.PSROIPooling(S.var("score_map"), rois, spatial_scale=1 / 16, output_dim=5,
                                 pooled_size=7, name="psroi")
    model = _export(tmp_path, sym, [feeds[n].shape for n in sym.list_arguments()])
    got, want = run(model, feeds)[0], _mx(sym, feeds)[0]
    assert got.shape == want.shape == (128, 5, 7, 7)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_opset12(tmp_path):
    rng = np.random.default_rng(13)
    ssd = _ssd_inputs(rng, 2, 5, 8)
    names = ["cls_prob", "loc_pred", "anchor"]
    sym = S.contrib.MultiBoxDetection(*[S.var(n) for n in names], nms_topk=60)
    model = _export(tmp_path, sym, [ssd[n].shape for n in names], opset_version=12)
    _check_detections(run(model, ssd)[0], _mx(sym, ssd)[0])
    rpn = _rpn_inputs(rng, 2, 8, 9, [[128, 128, 1.0], [100, 120, 1.0]])
    names = ["cls_prob", "bbox_pred", "im_info"]
    sym = S.contrib.MultiProposal(*[S.var(n) for n in names], rpn_post_nms_top_n=50, **_RPN)
    model = _export(tmp_path, sym, [rpn[n].shape for n in names], opset_version=12)
    np.testing.assert_allclose(run(model, rpn)[0], _mx(sym, rpn)[0], rtol=RTOL, atol=ATOL)
    feeds = {"data": rng.normal(0, 1, (1, 36, 10, 12)).astype(np.float32),
             "rois": _rois(rng, 20, 1, (160, 192))}
    sym = S.contrib.PSROIPooling(S.var("data"), S.var("rois"), spatial_scale=0.0625,
                                 output_dim=4, pooled_size=3)
    model = _export(tmp_path, sym, [feeds["data"].shape, feeds["rois"].shape],
                    opset_version=12)
    np.testing.assert_allclose(run(model, feeds)[0], _mx(sym, feeds)[0], rtol=RTOL,
                               atol=ATOL)
