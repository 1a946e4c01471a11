"""ONNX converters for the detection layers MXNet's own exporter lacks: SSD's
MultiBoxDetection, Faster R-CNN's Proposal / MultiProposal and R-FCN's PSROIPooling.

Each reproduces the layout and the values of mxlite's kernels (``ops/detection.py``, which
follow MXNet 1.9.1's CPU kernels). Two devices make ONNX's operators give MXNet's answers:

* MXNet sorts with a stable argsort and suppresses greedily in that order. ONNX's TopK breaks
  ties by the lower index, as a stable sort does, but NonMaxSuppression's tie order is left to
  the runtime. So the boxes are gathered in TopK's order first and NonMaxSuppression is given
  each box's rank (a strictly decreasing score) instead of its score: the order it works in is
  then exactly MXNet's, ties included.
* PSROIPooling averages a window whose size is only known at run time: its sum is read from a
  summed-area table (four corners), accumulated in float64 so that the cancellation stays far
  below float32's rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._export import GraphBuilder, register
from ._op_translations import _slice

G = GraphBuilder
F32 = np.float32


def _static(g: G, node: Any, i: int, dims: set, what: str) -> None:
    """Fail unless the dims ``dims`` of input ``i`` are static (the converter bakes them in)."""
    dyn = g.in_dyn(node, i) & set(dims)
    if dyn:
        raise g.fail(node, f"{what} must have static dims {sorted(dims)}; dims {sorted(dyn)} "
                           "are dynamic (export with those dims fixed)")


def _col(g: G, x: str, k: int) -> str:
    """Column ``k`` of the last axis of a rank-3 tensor, as a rank-2 tensor."""
    return g.squeeze(_slice(g, x, [k], [k + 1], [2], [1]), [2])


def _bools(g: G, like: str, value: bool) -> str:
    return g.op("Expand", [g.const(value, np.bool_), g.op("Shape", [like])])


def _kept_mask(g: G, sel: str, like: str) -> str:
    """NonMaxSuppression's selected (batch, class, box) rows as a (batch, box) mask."""
    pos = g.op("Gather", [sel, g.ints([0, 2])], axis=1)
    hit = g.op("Expand", [g.const(True, np.bool_), g.op("Slice", [
        g.op("Shape", [pos]), g.ints([0]), g.ints([1])])])
    return g.op("ScatterND", [_bools(g, like, False), pos, hit])


def _gather_rows(g: G, x: str, order: str) -> str:
    """``x[b, order[b, i]]`` for a (B, N, W) ``x`` and a (B, M) ``order``."""
    return g.op("GatherND", [x, g.unsqueeze(order, [2])], batch_dims=1)


def _nms(g: G, boxes: str, scores: str, limit: int, iou: float) -> str:
    return g.op("NonMaxSuppression", [
        boxes, scores, g.const(np.asarray([limit], np.int64)),
        g.const(np.asarray([iou], F32)), g.const(np.asarray([0], F32))])


# ----------------------------------------------------------------------------------------
# MultiBoxDetection (SSD)


@register("_contrib_MultiBoxDetection")
def _multibox_detection(g: G, node: Any) -> list:
    """Decoded boxes of each anchor's best class, compacted, sorted and suppressed as MXNet
    does: rows ``(class, score, xmin, ymin, xmax, ymax)``; the valid rows first (by
    descending score when NMS runs, else in anchor order), suppressed ones with class -1;
    with ``nms_topk`` the valid rows past the top k keep their anchor-order place and lose
    their class; the rest -1."""
    a = node.parsed
    _static(g, node, 0, {1, 2}, "cls_prob")
    _static(g, node, 1, {1}, "loc_pred")
    _static(g, node, 2, {0, 1, 2}, "anchor")
    nc, na = g.in_shape(node, 0)[1:]
    cls_prob, loc_pred, anchor = g.xs(node)
    minus1 = g.scalar(-1, F32)
    if nc < 2:
        # Background only: no anchor is ever a detection.
        shape = g.op("Concat", [g.op("Slice", [g.op("Shape", [cls_prob]), g.ints([0]),
                                               g.ints([1])]), g.ints([na, 6])], axis=0)
        return [g.op("Expand", [minus1, shape])]
    fg = _slice(g, cls_prob, [1], [nc], [1], [1])
    best = g.op("ArgMax", [fg], axis=1, keepdims=0)  # first of equals, as MXNet
    score = g.reduce("ReduceMax", fg, [1], keepdims=False)  # (B, A)
    live = g.op("Greater", [score, minus1])
    valid = g.op("And", [live, g.op("Not", [g.op("Less", [
        score, g.scalar(F32(a.threshold), F32)])])])
    score = g.op("Where", [live, score, minus1])

    # Decode in the kernel's order of operations.
    anc = g.op("Reshape", [_slice(g, g.op("Reshape", [anchor, g.ints([-1])]), [0], [na * 4],
                                  [0], [1]), g.ints([1, na, 4])])
    al, at, ar, ab = (_col(g, anc, k) for k in range(4))
    loc = g.op("Reshape", [loc_pred, g.ints([-1, na, 4])])
    vx, vy, vw, vh = (g.scalar(F32(v), F32) for v in a.variances)
    two = g.scalar(2, F32)
    aw, ah = g.op("Sub", [ar, al]), g.op("Sub", [ab, at])
    ax = g.op("Div", [g.op("Add", [al, ar]), two])
    ay = g.op("Div", [g.op("Add", [at, ab]), two])

    def centre(k: int, v: str, size: str, c: str) -> str:
        return g.op("Add", [g.op("Mul", [g.op("Mul", [_col(g, loc, k), v]), size]), c])

    def half(k: int, v: str, size: str) -> str:
        return g.op("Div", [g.op("Mul", [g.op("Exp", [g.op("Mul", [_col(g, loc, k), v])]),
                                         size]), two])

    ox, oy = centre(0, vx, aw, ax), centre(1, vy, ah, ay)
    ow, oh = half(2, vw, aw), half(3, vh, ah)
    coords = [g.op("Sub", [ox, ow]), g.op("Sub", [oy, oh]), g.op("Add", [ox, ow]),
              g.op("Add", [oy, oh])]
    if a.clip:
        coords = [g.op("Clip", [c, g.scalar(0, F32), g.scalar(1, F32)]) for c in coords]
    cols = [g.cast(best, F32), score, *coords]
    rows = g.op("Concat", [g.unsqueeze(c, [2]) for c in cols], axis=2)  # (B, A, 6)

    # The valid rows in anchor order (TopK keeps equal keys in index order).
    neg_inf = g.scalar(-np.inf, F32)
    pos_f = g.const(-np.arange(na, dtype=F32)[None], hint="neg_index")
    _, corder = g.op("TopK", [g.op("Where", [valid, pos_f, neg_inf]), g.ints([na])], n_out=2,
                     axis=1, largest=1, sorted=1)
    rows_c = _gather_rows(g, rows, corder)
    nv = g.reduce("ReduceSum", g.cast(valid, np.int64), [1], keepdims=True)  # (B, 1)
    pos = g.const(np.arange(na, dtype=np.int64)[None], hint="index")
    filled = g.unsqueeze(g.op("Less", [pos, nv]), [2])
    nms = 0 < a.nms_threshold <= 1
    if not nms:
        return [g.op("Where", [filled, rows_c, minus1])]

    _, sorder = g.op("TopK", [g.op("Where", [valid, score, neg_inf]), g.ints([na])], n_out=2,
                     axis=1, largest=1, sorted=1)
    rows_s = _gather_rows(g, rows, sorder)
    nkeep = nv
    if a.nms_topk > 0:
        nkeep = g.op("Min", [nv, g.const(np.asarray([[a.nms_topk]], np.int64))])
    in_top = g.op("Less", [pos, nkeep])  # (B, A) over the sorted rows
    rank = g.const((na - np.arange(na, dtype=F32))[None], hint="rank")
    if a.force_suppress:
        scores = g.unsqueeze(g.op("Where", [in_top, rank, minus1]), [1])
    else:
        classes = g.const(np.arange(nc - 1, dtype=F32)[None, :, None], hint="classes")
        hot = g.op("Equal", [g.unsqueeze(_col(g, rows_s, 0), [1]), classes])
        hot = g.op("And", [hot, g.unsqueeze(in_top, [1])])
        scores = g.op("Where", [hot, g.unsqueeze(rank, [1]), minus1])  # (B, C-1, A)
    # MXNet suppresses at IoU >= t, ONNX above t: the float32 just below t gives the same test.
    t = float(np.nextafter(F32(a.nms_threshold), F32(-np.inf)))
    boxes = _slice(g, rows_s, [2], [6], [2], [1])
    kept = _kept_mask(g, _nms(g, boxes, scores, na, t), in_top)
    ids = g.op("Where", [kept, _col(g, rows_s, 0), minus1])
    rest_s = _slice(g, rows_s, [1], [6], [2], [1])
    top = g.op("Concat", [g.unsqueeze(ids, [2]), rest_s], axis=2)
    dropped = g.op("Concat", [g.op("Expand", [minus1, g.op("Shape", [g.unsqueeze(ids, [2])])]),
                              _slice(g, rows_c, [1], [6], [2], [1])], axis=2)
    out = g.op("Where", [filled, dropped, minus1])
    return [g.op("Where", [g.unsqueeze(in_top, [2]), top, out])]


# ----------------------------------------------------------------------------------------
# Proposal / MultiProposal (Faster R-CNN's RPN)


@register("_contrib_Proposal", "_contrib_MultiProposal")
def _proposal(g: G, node: Any) -> list:
    """Anchors shifted over the feature map, decoded, clipped to the image, small ones
    scored -1, the ``rpn_pre_nms_top_n`` best suppressed (IoU over ``threshold`` with MXNet's
    +1 pixel extents) and the first ``rpn_post_nms_top_n`` kept, cycled to fill the rows
    when fewer survive; rows ``(image, x1, y1, x2, y2)`` and their scores."""
    from ..ops.detection import _rpn_anchors

    a = node.parsed
    _static(g, node, 0, {1, 2, 3}, "cls_prob")
    _static(g, node, 1, {1, 2, 3}, "bbox_pred")
    if not 0 <= a.threshold:
        raise g.fail(node, f"threshold={a.threshold} is negative: MXNet then suppresses "
                           "disjoint boxes too, which ONNX's NonMaxSuppression cannot")
    c2, hgt, wid = g.in_shape(node, 0)[1:]
    na = c2 // 2
    if na != len(a.ratios) * len(a.scales):
        raise g.fail(node, f"cls_prob has {na} anchors per location but ratios x scales "
                           f"makes {len(a.ratios) * len(a.scales)}")
    cls_prob, bbox_pred, im_info = g.xs(node)
    fs = a.feature_stride
    k = hgt * wid * na
    one = F32(1)

    # The anchor grid depends on the attributes and static shapes only: constants, in the
    # kernel's float32 (and, for the centres, float64) arithmetic.
    anchors = _rpn_anchors(fs, a.ratios, a.scales)
    grid = (hgt, wid, na)
    sx = (np.arange(wid) * fs).astype(F32)
    sy = (np.arange(hgt) * fs).astype(F32)
    x1, x2 = (np.broadcast_to(anchors[:, j] + sx[:, None], grid).reshape(-1) for j in (0, 2))
    y1, y2 = (np.broadcast_to(anchors[:, j] + sy[:, None, None], grid).reshape(-1)
              for j in (1, 3))

    def const(v: np.ndarray, hint: str) -> str:
        return g.const(np.ascontiguousarray(v)[None], hint=hint)

    score = g.op("Reshape", [g.op("Transpose", [_slice(g, cls_prob, [na], [c2], [1], [1])],
                                  perm=[0, 2, 3, 1]), g.ints([-1, k])])  # (B, K)
    d = g.op("Reshape", [g.op("Transpose", [
        g.op("Reshape", [bbox_pred, g.ints([-1, na, 4, hgt, wid])])], perm=[0, 3, 4, 1, 2]),
        g.ints([-1, k, 4])])
    dx, dy, dw, dh = (_col(g, d, j) for j in range(4))
    if a.iou_loss:
        px1, py1 = g.op("Add", [const(x1, "x1"), dx]), g.op("Add", [const(y1, "y1"), dy])
        px2, py2 = g.op("Add", [const(x2, "x2"), dw]), g.op("Add", [const(y2, "y2"), dh])
    else:
        bw = (x2 - x1) + one
        bh = (y2 - y1) + one
        cx = (x1.astype(np.float64) + 0.5 * (bw.astype(np.float64) - 1.0)).astype(F32)
        cy = (y1.astype(np.float64) + 0.5 * (bh.astype(np.float64) - 1.0)).astype(F32)
        f64 = np.float64

        def ends(dc: str, ds: str, size: np.ndarray, c: np.ndarray, hint: str) -> tuple:
            size_t = const(size, hint)
            pc = g.cast(g.op("Add", [g.op("Mul", [dc, size_t]), const(c, "c" + hint)]), f64)
            ps = g.op("Mul", [g.op("Exp", [ds]), size_t])
            # MXNet's double constants: the half extent and both ends round once, from double
            hs = g.op("Mul", [g.scalar(0.5, f64), g.op("Sub", [g.cast(ps, f64),
                                                              g.scalar(1.0, f64)])])
            return (g.cast(g.op("Sub", [pc, hs]), F32), g.cast(g.op("Add", [pc, hs]), F32))

        px1, px2 = ends(dx, dw, bw, cx, "bw")
        py1, py2 = ends(dy, dh, bh, cy, "bh")
    info = [_slice(g, im_info, [j], [j + 1], [1], [1]) for j in range(3)]  # (B, 1) each
    im_h, im_w, im_scale = info
    zero = g.scalar(0, F32)
    lim_w = g.op("Sub", [im_w, g.scalar(1, F32)])
    lim_h = g.op("Sub", [im_h, g.scalar(1, F32)])
    px1, px2 = (g.op("Max", [g.op("Min", [v, lim_w]), zero]) for v in (px1, px2))
    py1, py2 = (g.op("Max", [g.op("Min", [v, lim_h]), zero]) for v in (py1, py2))
    # Locations outside the image's real extent on the feature map score -1.
    fs_t = g.scalar(F32(fs), F32)
    real_h = g.cast(g.op("Div", [im_h, fs_t]), np.int64)
    real_w = g.cast(g.op("Div", [im_w, fs_t]), np.int64)
    hh_i = const(np.repeat(np.arange(hgt), wid * na), "row")
    ww_i = const(np.tile(np.repeat(np.arange(wid), na), hgt), "col")
    outside = g.op("Or", [g.op("Not", [g.op("Less", [hh_i, real_h])]),
                          g.op("Not", [g.op("Less", [ww_i, real_w])])])
    minus1 = g.scalar(-1, F32)
    score = g.op("Where", [outside, minus1, score])
    # Boxes below the minimum size grow by it and lose their score.
    min_size = g.op("Mul", [g.scalar(F32(a.rpn_min_size), F32), im_scale])
    f1 = g.scalar(1, F32)
    small = g.op("Or", [
        g.op("Less", [g.op("Add", [g.op("Sub", [px2, px1]), f1]), min_size]),
        g.op("Less", [g.op("Add", [g.op("Sub", [py2, py1]), f1]), min_size])])
    grow = g.op("Where", [small, g.op("Div", [min_size, g.scalar(2, F32)]), zero])
    px1, py1 = g.op("Sub", [px1, grow]), g.op("Sub", [py1, grow])
    px2, py2 = g.op("Add", [px2, grow]), g.op("Add", [py2, grow])
    score = g.op("Where", [small, minus1, score])

    pre = a.rpn_pre_nms_top_n if a.rpn_pre_nms_top_n > 0 else k
    pre = min(pre, k)
    rows_n = a.rpn_post_nms_top_n
    post = min(rows_n, pre)
    vals, order = g.op("TopK", [score, g.ints([pre])], n_out=2, axis=1, largest=1, sorted=1)
    boxes = _gather_rows(g, g.op("Concat", [g.unsqueeze(c, [2]) for c in (px1, py1, px2, py2)],
                                 axis=2), order)  # (B, pre, 4)
    # MXNet's extents are x2 - x1 + 1: NonMaxSuppression sees the boxes one pixel larger.
    grown = g.op("Add", [boxes, g.const(np.asarray([0, 0, 1, 1], F32), hint="plus1")])
    rank = g.const((pre - np.arange(pre, dtype=F32))[None, None], hint="rank")
    ranks = g.op("Expand", [rank, g.op("Concat", [g.op("Slice", [
        g.op("Shape", [vals]), g.ints([0]), g.ints([1])]), g.ints([1, pre])], axis=0)])
    t = min(float(F32(a.threshold)), 1.0)  # no IoU exceeds 1: any larger value keeps all
    kept = _kept_mask(g, _nms(g, grown, ranks, post, t), vals)
    # The kept positions in order, the first ``post`` of them cycled over the rows.
    pos_f = g.const(-np.arange(pre, dtype=F32)[None], hint="neg_index")
    _, first = g.op("TopK", [g.op("Where", [kept, pos_f, g.scalar(-np.inf, F32)]),
                             g.ints([post])], n_out=2, axis=1, largest=1, sorted=1)
    nk = g.reduce("ReduceSum", g.cast(kept, np.int64), [1], keepdims=True)
    nk = g.op("Max", [g.op("Min", [nk, g.const(np.asarray([[post]], np.int64))]),
                      g.const(np.asarray([[1]], np.int64))])
    j = g.op("Mod", [g.const(np.arange(rows_n, dtype=np.int64)[None], hint="row_index"), nk])
    picked = g.op("GatherElements", [first, j], axis=1)  # (B, rows)
    out_boxes = _gather_rows(g, boxes, picked)
    out_scores = g.op("GatherElements", [vals, picked], axis=1)
    bsz = g.squeeze(g.op("Slice", [g.op("Shape", [vals]), g.ints([0]), g.ints([1])]), [0])
    img = g.cast(g.op("Range", [g.const(np.int64(0)), bsz, g.const(np.int64(1))]), F32)
    img = g.op("Expand", [g.op("Reshape", [img, g.ints([-1, 1, 1])]),
                          g.op("Shape", [_slice(g, out_boxes, [0], [1], [2], [1])])])
    out = g.op("Reshape", [g.op("Concat", [img, out_boxes], axis=2), g.ints([-1, 5])])
    return [out, g.op("Reshape", [out_scores, g.ints([-1, 1])])]


# ----------------------------------------------------------------------------------------
# PSROIPooling (R-FCN)


@register("_contrib_PSROIPooling")
def _psroi_pooling(g: G, node: Any) -> list:
    """Position-sensitive average pooling: bin (i, j) of output channel d averages channel
    ``(d * group + gi) * group + gj`` over the bin's window of the ROI (rounded to whole
    pixels, scaled, bins floored/ceiled and clipped to the map); empty bins and ROIs of a
    batch index outside the data give 0."""
    a = node.parsed
    _static(g, node, 0, {1, 2, 3}, "data")
    dt = np.dtype(g.in_dtype(node, 0))
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise g.fail(node, f"data of dtype {dt} is not supported (float32 or float64)")
    c, h, w = g.in_shape(node, 0)[1:]
    gs = a.group_size or a.pooled_size
    ps, od = a.pooled_size, a.output_dim
    used = od * gs * gs
    if c < used:
        raise g.fail(node, f"data has {c} channels but output_dim * group_size^2 = {used} are "
                           "read")
    data, rois = g.xs(node)
    f64 = np.dtype(np.float64)
    # Summed-area table of the channels read, zero row/column first: (N, used, h+1, w+1).
    x = _slice(g, data, [0], [used], [1], [1])
    x = g.op("Pad", [g.cast(x, f64) if dt != f64 else x,
                     g.ints([0, 0, 1, 1, 0, 0, 0, 0])])
    x = g.op("CumSum", [g.op("CumSum", [x, g.const(np.int64(2))]), g.const(np.int64(3))])
    table = g.op("Reshape", [x, g.ints([-1])])

    r = g.cast(rois, dt) if np.dtype(g.in_dtype(node, 1)) != dt else rois
    col = [_slice(g, r, [j], [j + 1], [1], [1]) for j in range(5)]  # (R, 1) each
    n = g.op("Slice", [g.op("Shape", [data]), g.ints([0]), g.ints([1])])
    bidx = g.cast(col[0], np.int64)  # truncates, as the kernel's int cast
    zero_i = g.const(np.int64(0))
    live = g.op("And", [g.op("Not", [g.op("Less", [bidx, zero_i])]),
                        g.op("Less", [bidx, n])])
    bidx = g.op("Max", [g.op("Min", [bidx, g.op("Sub", [n, g.const(np.int64(1))])]), zero_i])

    def rnd(v: str) -> str:  # C's round: halves away from zero
        return g.op("Mul", [g.op("Sign", [v]), g.op("Floor", [
            g.op("Add", [g.op("Abs", [v]), g.scalar(0.5, dt)])])])

    scale = g.scalar(dt.type(F32(a.spatial_scale)), dt)
    one = g.scalar(1, dt)
    sw, sh = (g.op("Mul", [rnd(col[j]), scale]) for j in (1, 2))
    ew, eh = (g.op("Mul", [g.op("Add", [rnd(col[j]), one]), scale]) for j in (3, 4))
    tenth = g.scalar(dt.type(F32(0.1)), dt)
    steps = g.scalar(ps, dt)
    kk = g.const(np.arange(ps, dtype=dt)[None], hint="bins")
    kk1 = g.const(np.arange(1, ps + 1, dtype=dt)[None], hint="bins1")

    def bounds(lo: str, hi: str, size: int) -> tuple[str, str]:
        step = g.op("Div", [g.op("Max", [g.op("Sub", [hi, lo]), tenth]), steps])
        start = g.cast(g.op("Floor", [g.op("Add", [g.op("Mul", [kk, step]), lo])]), np.int64)
        end = g.cast(g.op("Ceil", [g.op("Add", [g.op("Mul", [kk1, step]), lo])]), np.int64)
        lim = (zero_i, g.const(np.int64(size)))
        return g.op("Clip", [start, *lim]), g.op("Clip", [end, *lim])  # (R, ps)

    hlo, hhi = bounds(sh, eh, h)
    wlo, whi = bounds(sw, ew, w)
    hn, wn = g.op("Sub", [hhi, hlo]), g.op("Sub", [whi, wlo])
    zero_i1 = g.const(np.asarray([[0]], np.int64))
    empty = g.op("Or", [g.unsqueeze(g.op("Not", [g.op("Greater", [hn, zero_i1])]), [2]),
                        g.unsqueeze(g.op("Not", [g.op("Greater", [wn, zero_i1])]), [1])])
    empty = g.op("Or", [empty, g.unsqueeze(g.op("Not", [live]), [2])])  # (R, ps, ps)

    grp = np.clip(np.floor(np.arange(ps).astype(dt) * dt.type(gs) / dt.type(ps)).astype(
        np.int64), 0, gs - 1)
    chan = (np.arange(od)[:, None, None] * gs + grp[None, :, None]) * gs + grp[None, None, :]
    base = g.op("Add", [g.op("Mul", [g.unsqueeze(bidx, [2, 3]), g.const(np.int64(used))]),
                        g.const(chan[None], hint="channels")])  # (R, od, ps, ps)
    base = g.op("Mul", [base, g.const(np.int64(h + 1))])

    def corner(y: str, xx: str) -> str:
        idx = g.op("Add", [base, g.unsqueeze(y, [1, 3])])
        idx = g.op("Add", [g.op("Mul", [idx, g.const(np.int64(w + 1))]),
                           g.unsqueeze(xx, [1, 2])])
        return g.op("Gather", [table, idx], axis=0)

    total = g.op("Add", [g.op("Sub", [g.op("Sub", [corner(hhi, whi), corner(hlo, whi)]),
                                      corner(hhi, wlo)]), corner(hlo, wlo)])
    if dt != f64:
        total = g.cast(total, dt)
    area = g.cast(g.op("Mul", [g.unsqueeze(hn, [2]), g.unsqueeze(wn, [1])]), dt)  # (R, ps, ps)
    avg = g.op("Div", [total, g.unsqueeze(area, [1])])
    return [g.op("Where", [g.unsqueeze(empty, [1]), g.scalar(0, dt), avg])]
