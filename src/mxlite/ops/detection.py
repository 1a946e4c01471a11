"""Detection operators: box NMS / IoU / encode / decode, bipartite matching, the SSD layers
(MultiBoxPrior, MultiBoxTarget, MultiBoxDetection), the RPN layers (Proposal, MultiProposal)
and the ROI poolings (ROIAlign, RROIAlign, ROIPooling, PSROIPooling).

Numbers follow MXNet 1.9.1's CPU kernels, quirks included (each says where): the arithmetic
runs in the data's dtype, in MXNet's order, so that threshold decisions agree with MXNet's.
Every one of these operators but RROIAlign has a gradient in MXNet; all but box_nms and the
ROI poolings pass zeros.

Non-maximum suppression (:func:`_greedy_keep`) never loops over pairs. It has two ways to the
same answer and picks the cheaper: when most boxes survive, a sweep in x order lists only the
pairs that can overlap enough to suppress (an IoU above ``t`` needs an overlap above ``t``
times either box's extent along each axis), scores them in bulk and resolves the suppressions
box by box; when most boxes are suppressed early, blocks of boxes in score order are resolved
on their own small matrix and then remove all later boxes they suppress at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._util import BOOL, FLOAT, INT, SHAPE, P, assign, declare, enum, fail
from .registry import Attrs, FloatTuple

# Every detection operator has a gradient in MXNet 1.9.1 (most of them all zeros), but
# _contrib_RROIAlign (added below).
NO_BACKWARD: set[str] = set()

F32 = np.float32
FLOATS = FloatTuple()
_BOX_FORMAT = enum("center", "corner")


def _zero_backward(attrs, out_grads, inputs, outputs, ctx):
    """MXNet's gradient of its non-differentiable detection layers: zeros for every input."""
    return [np.zeros_like(x) if ctx.wants(i) else None for i, x in enumerate(inputs)]


def _float32_only(attrs: Attrs, ins: list, outs: list):
    """MXNet's legacy layers (OperatorProperty without a type rule) take float32 only."""
    names = attrs.op.list_inputs(attrs)
    for i, t in enumerate(ins):
        if t is not None and np.dtype(t) != F32:
            raise fail(attrs, f"input {names[i]!r} has dtype {np.dtype(t)}, but this "
                              "operator takes float32 only")
    return [np.dtype(F32)] * len(ins), [np.dtype(F32)] * len(outs)


def _require_float32(attrs: Attrs, inputs: list) -> None:
    _float32_only(attrs, [x.dtype for x in inputs], [])


def _f32(x: float) -> float:
    """A parameter as MXNet holds it (a C++ float)."""
    return float(F32(x))


def _ndim_at_least(attrs: Attrs, shape: tuple, n: int, what: str) -> None:
    if len(shape) < n:
        raise fail(attrs, f"{what} must have at least {n} dims, got shape {tuple(shape)}")


def _ndim_is(attrs: Attrs, shape: tuple, n: int, what: str) -> None:
    if len(shape) != n:
        raise fail(attrs, f"{what} must have {n} dims, got shape {tuple(shape)}")


def _dim_is(attrs: Attrs, shape: tuple, axis: int, n: int, what: str) -> None:
    d = shape[axis]
    if d not in (0, n):
        raise fail(attrs, f"{what} must have size {n} along axis {axis}, got shape "
                          f"{tuple(shape)}")


# ----------------------------------------------------------------------------------------
# Greedy non-maximum suppression shared by box_nms, MultiBoxDetection and the Proposals.

_PAIR_CHUNK = 1 << 21       # candidate pairs scored per numpy pass
_PAIR_BUDGET = 40_000_000   # above this many candidates the kept-box loop is cheaper


def _greedy_keep(box: tuple, group: np.ndarray, t: float,
                 suppresses: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 limit: int | None = None) -> np.ndarray:
    """Which boxes survive greedy NMS, boxes given in priority order (0 first).

    ``suppresses(i, j)`` (arrays of positions, ``i < j``) says whether a kept box ``i``
    removes box ``j`` (MXNet's IoU test, group test included). ``box`` = ``(left, top,
    right, bottom)`` bounds each box such that two boxes overlap by at most ``min(right) -
    max(left)`` times ``min(bottom) - max(top)``, and ``group`` numbers the boxes that may
    suppress one another; both only prune pairs that cannot pass the test when ``t >= 0``
    (the test being ``IoU > t`` or ``IoU >= t``: an IoU above ``t`` needs an overlap above
    ``t`` times either box's extent, along each axis). With ``limit``, only the first
    ``limit`` kept boxes are sure to be right (the Proposals stop there, as MXNet does).
    """
    n = group.shape[0]
    keep = np.ones(n, bool)
    if n < 2:
        return keep
    cand = None
    coords = np.stack([np.asarray(c, np.float64) for c in box])
    if t >= 0 and np.isfinite(coords).all():
        cand = _candidate_pairs(coords, group, t)
    if cand is None:
        return _block_keep(n, suppresses, limit=limit)
    total, pairs = cand
    # suppression early on makes the block method cheap; give it the pair method's budget
    blocks = _block_keep(n, suppresses, cap=total * _BLOCK_CAP, limit=limit)
    if blocks is not None:
        return blocks
    srcs, dsts = [], []
    for a, b in pairs:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        hit = suppresses(lo, hi)
        srcs.append(lo[hit])
        dsts.append(hi[hit])
    src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
    dst = np.concatenate(dsts) if dsts else np.zeros(0, np.int64)
    if src.size == 0:
        return keep
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    heads, starts = np.unique(src, return_index=True)
    ends = np.append(starts[1:], src.size)
    for s, a, b in zip(heads.tolist(), starts.tolist(), ends.tolist()):
        if keep[s]:
            keep[dst[a:b]] = False
    return keep


_BLOCK = 256
_BLOCK_CAP = 4.0  # a pair scored by blocks costs about a quarter of a candidate pair


def _block_keep(n: int, suppresses: Callable[[np.ndarray, np.ndarray], np.ndarray],
                cap: float = np.inf, limit: int | None = None) -> np.ndarray | None:
    """Greedy NMS a block of boxes at a time: the block's survivors (resolved kept box by
    kept box on the block's own matrix) then remove every later box they suppress. Cheap when
    most boxes are suppressed early; None (given up) when the first block predicts more than
    ``cap`` pairs to score, or twice that many were scored."""
    keep = np.zeros(n, bool)
    rest = np.arange(n)
    work = 0
    first = True
    while rest.size:
        blk, rest = rest[:_BLOCK], rest[_BLOCK:]
        m = np.triu(suppresses(blk[:, None], blk[None, :]), 1)
        alive = np.ones(blk.size, bool)
        a = 0
        while True:  # one step per kept box
            alive &= ~m[a]
            nxt = np.flatnonzero(alive[a + 1:])
            if not nxt.size:
                break
            a += 1 + int(nxt[0])
        kept = blk[alive]
        keep[kept] = True
        if limit is not None and int(keep.sum()) >= limit:
            return keep
        work += blk.size * blk.size + kept.size * rest.size
        if rest.size:
            rest = rest[~suppresses(kept[:, None], rest[None, :]).any(axis=0)]
        if first:
            # were later blocks to keep as many boxes as the first, against a remainder
            # shrinking to nothing, the work ahead would be kept * rest * blocks / 2; they
            # keep fewer, about half that in practice
            if kept.size * rest.size * (rest.size / _BLOCK) / 4 > cap:
                return None
            first = False
        if work > 2 * cap:
            return None
    return keep


def _candidate_pairs(coords: np.ndarray, group: np.ndarray, t: float):
    """How many pairs the x sweep finds (boxes of one group whose x-overlap may exceed ``t``
    times the first one's width) and an iterator over chunks of those that pass along both
    axes; None when there are too many for the pair method to pay."""
    lo, top, hi, bot = coords
    n = lo.size
    # a margin for float32 rounding in MXNet's IoU: the pruning must never drop a real pair
    eps = 1e-5 * (float(np.abs(coords).max()) + 1.0)
    _, gid = np.unique(group, return_inverse=True)
    gid = gid.reshape(-1)
    span = float(np.abs(coords).max()) * 4 + 4
    # sort by (group, left): the groups laid side by side along one axis, far apart
    key = gid * span + lo
    xs = np.argsort(key, kind="stable")
    key_s = key[xs]
    lo_s, hi_s, top_s, bot_s = lo[xs], hi[xs], top[xs], bot[xs]
    wid_s = np.maximum(hi_s - lo_s, 0)
    # a later box j (left_j >= left_i) overlaps i by at most right_i - left_j
    bound = (gid[xs] * span) + hi_s - t * wid_s + eps
    ends = np.searchsorted(key_s, bound, side="left")
    ends = np.minimum(ends, np.searchsorted(key_s, gid[xs] * span + span / 2, side="left"))
    counts = np.maximum(ends - np.arange(1, n + 1), 0)
    total = int(counts.sum())
    if total > _PAIR_BUDGET:
        return None
    return total, _pair_chunks(counts, xs, lo_s, hi_s, top_s, bot_s, t, eps)


def _pair_chunks(counts, xs, lo_s, hi_s, top_s, bot_s, t, eps):
    """The candidate pairs, a chunk at a time, as positions in priority order."""
    n = counts.size
    wid_s = np.maximum(hi_s - lo_s, 0)
    hgt_s = np.maximum(bot_s - top_s, 0)
    cum = np.concatenate([[0], np.cumsum(counts)])
    a = 0
    while a < n:
        b = int(np.searchsorted(cum, cum[a] + _PAIR_CHUNK, side="right")) - 1
        b = min(max(b, a + 1), n)
        c = counts[a:b]
        if cum[b] > cum[a]:
            ii = np.repeat(np.arange(a, b), c)
            jj = ii + 1 + (np.arange(ii.size) - np.repeat(cum[a:b] - cum[a], c))
            ix = np.minimum(hi_s[ii], hi_s[jj]) - lo_s[jj]
            iy = np.minimum(bot_s[ii], bot_s[jj]) - np.maximum(top_s[ii], top_s[jj])
            ok = ((ix + eps >= t * wid_s[jj]) & (iy + eps >= t * hgt_s[ii])
                  & (iy + eps >= t * hgt_s[jj]) & (ix > -eps) & (iy > -eps))
            yield xs[ii[ok]], xs[jj[ok]]
        a = b


def _intersect(lo_a, hi_a, lo_b, hi_b, dt, exact_nan: bool = True):
    """MXNet's overlap along one axis: ``min(hi) - max(lo)``, zero when not positive.

    ``exact_nan=False`` lets a NaN overlap through (numpy's maximum) instead of zeroing it,
    which is faster and decides ``IoU > t`` the same way whenever ``t >= 0``."""
    w = np.minimum(hi_a, hi_b)
    w -= np.maximum(lo_a, lo_b)
    if exact_nan:
        return np.where(w > 0, w, dt.type(0))
    return np.maximum(w, dt.type(0), out=w)


# ----------------------------------------------------------------------------------------
# box_nms


def _box_nms_check(attrs: Attrs, width: int) -> None:
    expected = 6 if attrs.id_index >= 0 else 5
    if width < expected:
        raise fail(attrs, f"the last dimension of data must have at least {expected} elements "
                          f"(score, 4 coordinates{', id' if expected == 6 else ''}), "
                          f"got {width}")
    cs, ce, si = attrs.coord_start, attrs.coord_start + 3, attrs.score_index
    if not 0 <= si < width:
        raise fail(attrs, f"score_index={si} is out of range [0, {width})")
    if cs <= si <= ce:
        raise fail(attrs, f"score_index={si} conflicts with the coordinates "
                          f"[{cs}, {ce}] (coord_start={cs})")
    if cs < 0 or ce >= width:
        raise fail(attrs, f"coord_start={cs}: coordinates [{cs}, {ce}] are out of range "
                          f"[0, {width})")
    ii = attrs.id_index
    if ii >= 0:
        if ii >= width:
            raise fail(attrs, f"id_index={ii} is out of range [0, {width})")
        if cs <= ii <= ce:
            raise fail(attrs, f"id_index={ii} conflicts with the coordinates [{cs}, {ce}]")
        if ii == si:
            raise fail(attrs, f"id_index={ii} conflicts with score_index={si}")


def _box_nms_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        d = outs[0]
        if d is None:
            return ins, outs
        ins[0] = tuple(d)
    if len(d) < 2:
        raise fail(attrs, f"data must have at least 2 dims (..., num_box, box_width), got "
                          f"{tuple(d)}")
    if d[-1]:
        _box_nms_check(attrs, d[-1])
    names = attrs.op.list_outputs(attrs)
    assign(attrs, outs, 0, d, names)
    assign(attrs, outs, 1, (*d[:-1], 1), names)
    return ins, outs


def _corner_bounds(c0, c1, c2, c3, center: bool):
    """(left, top, right, bottom) and areas of boxes in MXNet's arithmetic for the format."""
    dt = c0.dtype
    if center:
        hw, hh = c2 / dt.type(2), c3 / dt.type(2)
        bounds = (c0 - hw, c1 - hh, c0 + hw, c1 + hh)
        w, h = c2, c3
    else:
        bounds = (c0, c1, c2, c3)
        w, h = c2 - c0, c3 - c1
    area = np.where((w < 0) | (h < 0), dt.type(0), w * h)
    return bounds, area


def _convert_format(box: np.ndarray, to_center: bool) -> np.ndarray:
    """MXNet's in-place format change of output rows (n, 4); rows whose first coordinate is
    negative are left alone (MXNet's test for its -1 padding)."""
    dt = box.dtype
    a, b, c, d = box[:, 0], box[:, 1], box[:, 2], box[:, 3]
    if to_center:
        new = np.stack([(a + c) / dt.type(2), (b + d) / dt.type(2), c - a, d - b], axis=1)
    else:
        hw, hh = c / dt.type(2), d / dt.type(2)
        new = np.stack([a - hw, b - hh, a + hw, b + hh], axis=1)
    return np.where((a < 0)[:, None], box, new)


def _box_nms_forward(attrs, inputs, ctx):
    x = inputs[0]
    shape = x.shape
    _box_nms_check(attrs, shape[-1])
    n, width = shape[-2], shape[-1]
    nb = int(np.prod(shape[:-2], dtype=np.int64)) if len(shape) > 2 else 1
    dt = x.dtype
    data = x.reshape(nb * n, width)
    topk = n if attrs.topk < 0 else min(n, attrs.topk)
    if topk < 1 or nb * n == 0:
        rec = np.arange(nb * n, dtype=dt).reshape(*shape[:-1], 1)
        return [x.copy(), rec]
    si, cs, ii = attrs.score_index, attrs.coord_start, attrs.id_index
    scores = data[:, si]
    valid = scores > dt.type(_f32(attrs.valid_thresh))
    if ii >= 0:
        valid &= data[:, ii] != dt.type(attrs.background_id)
    idx = np.flatnonzero(valid)
    # by batch, then score (descending), ties in input order: MXNet's two stable sorts
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    idx = idx[np.argsort(idx // n, kind="stable")]
    batch = idx // n
    first = np.searchsorted(batch, batch, side="left")
    idx = idx[np.arange(idx.size) - first < topk]
    batch = idx // n
    center = attrs.in_format == "center"
    box = data[idx, cs:cs + 4]
    (l, t, r, b), area = _corner_bounds(box[:, 0], box[:, 1], box[:, 2], box[:, 3], center)
    group = batch.astype(np.int64)
    if ii >= 0 and not attrs.force_suppress:
        cls = data[idx, ii].astype(np.int64)
        _, cls = np.unique(cls, return_inverse=True)
        group = group * (int(cls.max(initial=0)) + 1) + cls.reshape(-1)
    thresh = dt.type(_f32(attrs.overlap_thresh))
    exact = not thresh >= 0
    grouped = np.unique(group).size > 1

    def suppresses(i, j):
        inter = _intersect(l[i], r[i], l[j], r[j], dt, exact)
        inter *= _intersect(t[i], b[i], t[j], b[j], dt, exact)
        union = area[i] + area[j]
        union -= inter
        with np.errstate(divide="ignore", invalid="ignore"):
            hit = np.divide(inter, union, out=union) > thresh
        return hit & (group[i] == group[j]) if grouped else hit

    keep = _greedy_keep((l, t, r, b), group, float(thresh), suppresses)
    kept, kb = idx[keep], batch[keep]
    row = np.arange(kept.size) - np.searchsorted(kb, kb, side="left")
    dest = kb * n + row
    out = np.full((nb * n, width), -1, dt)
    rec = np.full(nb * n, -1, dt)
    out[dest] = data[kept]
    rec[dest] = kept
    if attrs.in_format != attrs.out_format:
        out[:, cs:cs + 4] = _convert_format(out[:, cs:cs + 4], attrs.out_format == "center")
    return [out.reshape(shape), rec.reshape(*shape[:-1], 1)]


def _box_nms_backward(attrs, out_grads, inputs, outputs, ctx):
    x = inputs[0]
    width = x.shape[-1]
    g = out_grads[0].reshape(-1, width)
    rec = outputs[1].reshape(-1).astype(np.int64)
    grad = np.zeros((x.size // width if width else 0, width), x.dtype)
    rows = np.flatnonzero(rec >= 0)
    grad[rec[rows]] = g[rows]
    return [grad.reshape(x.shape)]


declare(
    "_contrib_box_nms", "_contrib_box_non_maximum_suppression",
    params={
        "overlap_thresh": P(FLOAT, 0.5), "valid_thresh": P(FLOAT, 0.0), "topk": P(INT, -1),
        "coord_start": P(INT, 2), "score_index": P(INT, 1), "id_index": P(INT, -1),
        "background_id": P(INT, -1), "force_suppress": P(BOOL, False),
        "in_format": P(_BOX_FORMAT, "corner"), "out_format": P(_BOX_FORMAT, "corner"),
    },
    outputs=("output0", "output1"), num_visible_outputs=1, infer_shape=_box_nms_shape,
    forward=_box_nms_forward, backward=_box_nms_backward,
    doc="Non-maximum suppression of boxes (rows of score, id and 4 coordinates).",
)


# ----------------------------------------------------------------------------------------
# box_iou


def _box_iou_shape(attrs: Attrs, ins: list, outs: list):
    lhs, rhs = ins
    for s, what in ((lhs, "lhs"), (rhs, "rhs")):
        if s is not None:
            _ndim_at_least(attrs, s, 2, what)
            _dim_is(attrs, s, -1, 4, what)
    if lhs is not None and rhs is not None:
        assign(attrs, outs, 0, (*lhs[:-1], *rhs[:-1]), ["output"])
    return ins, outs


def _box_iou_forward(attrs, inputs, ctx):
    lhs, rhs = inputs
    dt = lhs.dtype
    center = attrs.format == "center"
    a = lhs.reshape(-1, 1, 4)
    b = rhs.reshape(1, -1, 4).astype(dt, copy=False)
    (al, at, ar, ab), aa = _corner_bounds(a[..., 0], a[..., 1], a[..., 2], a[..., 3], center)
    (bl, bt, br, bb), ba = _corner_bounds(b[..., 0], b[..., 1], b[..., 2], b[..., 3], center)
    inter = _intersect(al, ar, bl, br, dt) * _intersect(at, ab, bt, bb, dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (aa + ba - inter)
    out = np.where(inter <= 0, dt.type(0), iou).astype(dt, copy=False)
    return [out.reshape(*lhs.shape[:-1], *rhs.shape[:-1])]


declare(
    "_contrib_box_iou", params={"format": P(_BOX_FORMAT, "corner")}, inputs=("lhs", "rhs"),
    infer_shape=_box_iou_shape, forward=_box_iou_forward, backward=_zero_backward,
    doc="Pairwise IoU of two sets of boxes.",
)


# ----------------------------------------------------------------------------------------
# box_encode / box_decode


def _box_encode_shape(attrs: Attrs, ins: list, outs: list):
    s, m, a, r = ins[:4]
    names = attrs.op.list_inputs(attrs)
    if s is not None:
        _ndim_is(attrs, s, 2, "samples")
    if m is not None:
        _ndim_at_least(attrs, m, 2, "matches")
    if a is not None:
        _ndim_at_least(attrs, a, 3, "anchors")
        _dim_is(attrs, a, -1, 4, "anchors")
    if r is not None:
        _ndim_at_least(attrs, r, 3, "refs")
        _dim_is(attrs, r, -1, 4, "refs")
    assign(attrs, ins, 4, (4,), names)
    assign(attrs, ins, 5, (4,), names)
    if a is not None:
        assign(attrs, outs, 0, a, ["output0", "output1"])
        assign(attrs, outs, 1, a, ["output0", "output1"])
    return ins, outs


def _box_encode_forward(attrs, inputs, ctx):
    samples, matches, anchors, refs, means, stds = inputs
    dt = anchors.dtype
    b, n = anchors.shape[:2]
    m = refs.shape[1]
    samples = samples.reshape(b, n).astype(dt, copy=False)
    match = matches.reshape(b, n).astype(np.int64)
    anchors = anchors.reshape(b, n, 4)
    refs = refs.reshape(b, m, 4).astype(dt, copy=False)
    means = means.reshape(4).astype(dt, copy=False)
    stds = stds.reshape(4).astype(dt, copy=False)
    # MXNet reads the matched ref even for unused samples; clipping keeps that read in bounds
    ref = refs[np.arange(b)[:, None], np.clip(match, 0, max(m - 1, 0))]
    half = dt.type(0.5)
    rw = ref[..., 2] - ref[..., 0]
    rh = ref[..., 3] - ref[..., 1]
    rx = ref[..., 0] + rw * half
    ry = ref[..., 1] + rh * half
    aw = anchors[..., 2] - anchors[..., 0]
    ah = anchors[..., 3] - anchors[..., 1]
    ax = anchors[..., 0] + aw * half
    ay = anchors[..., 1] + ah * half
    valid = samples > dt.type(0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.stack([((rx - ax) / aw - means[0]) / stds[0],
                      ((ry - ay) / ah - means[1]) / stds[1],
                      (np.log(rw / aw) - means[2]) / stds[2],
                      (np.log(rh / ah) - means[3]) / stds[3]], axis=-1)
    targets = np.where(valid[..., None], t, dt.type(0)).astype(dt, copy=False)
    masks = np.repeat(valid[..., None], 4, axis=-1).astype(dt)
    return [targets, masks]


declare(
    "_contrib_box_encode", inputs=("samples", "matches", "anchors", "refs", "means", "stds"),
    outputs=("output0", "output1"), infer_shape=_box_encode_shape,
    forward=_box_encode_forward, backward=_zero_backward,
    doc="Regression targets (and masks) of anchors towards their matched reference boxes.",
)


def _box_decode_shape(attrs: Attrs, ins: list, outs: list):
    d, a = ins
    if d is not None:
        _ndim_is(attrs, d, 3, "data")
        _dim_is(attrs, d, -1, 4, "data")
    if a is not None:
        _ndim_at_least(attrs, a, 3, "anchors")
        _dim_is(attrs, a, -1, 4, "anchors")
    if d is not None:
        assign(attrs, outs, 0, d, ["output"])
    return ins, outs


def _box_decode_forward(attrs, inputs, ctx):
    x, anchors = inputs
    dt = x.dtype
    b, n = x.shape[:2]
    a = anchors.reshape(-1)[:n * 4].reshape(1, n, 4).astype(dt, copy=False)
    ax, ay, aw, ah = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    half = dt.type(0.5)
    if attrs.format == "corner":
        aw = aw - ax
        ah = ah - ay
        ax = ax + aw * half
        ay = ay + ah * half
    s0, s1, s2, s3 = (dt.type(_f32(v)) for v in (attrs.std0, attrs.std1, attrs.std2,
                                                 attrs.std3))
    ox = x[..., 0] * s0 * aw + ax
    oy = x[..., 1] * s1 * ah + ay
    dw = x[..., 2] * s2
    dh = x[..., 3] * s3
    if attrs.clip > 0:
        clip = dt.type(_f32(attrs.clip))
        dw = np.where(dw < clip, dw, clip)
        dh = np.where(dh < clip, dh, clip)
    with np.errstate(over="ignore"):
        ow = np.exp(dw) * aw * half
        oh = np.exp(dh) * ah * half
    return [np.stack([ox - ow, oy - oh, ox + ow, oy + oh], axis=-1).astype(dt, copy=False)]


declare(
    "_contrib_box_decode",
    params={"std0": P(FLOAT, 1.0), "std1": P(FLOAT, 1.0), "std2": P(FLOAT, 1.0),
            "std3": P(FLOAT, 1.0), "clip": P(FLOAT, -1.0),
            "format": P(_BOX_FORMAT, "center")},
    inputs=("data", "anchors"), infer_shape=_box_decode_shape, forward=_box_decode_forward,
    backward=_zero_backward, doc="Boxes (corner format) from regression outputs and anchors.",
)


# ----------------------------------------------------------------------------------------
# bipartite_matching


def _matching_shape(attrs: Attrs, ins: list, outs: list):
    d = ins[0]
    if d is None:
        return ins, outs
    _ndim_at_least(attrs, d, 2, "data")
    assign(attrs, outs, 0, d[:-1], ["output0", "output1"])
    assign(attrs, outs, 1, (*d[:-2], d[-1]), ["output0", "output1"])
    return ins, outs


def _matching_forward(attrs, inputs, ctx):
    x = inputs[0]
    dt = x.dtype
    rows, cols = x.shape[-2:]
    scores = x.reshape(-1, rows * cols)
    rmark = np.full((scores.shape[0], rows), -1, dt)
    cmark = np.full((scores.shape[0], cols), -1, dt)
    thresh = dt.type(_f32(attrs.threshold))
    for bi, s in enumerate(scores):  # one greedy matching per batch element
        order = np.argsort(s if attrs.is_ascend else -s, kind="stable")
        good = s[order] < thresh if attrs.is_ascend else s[order] > thresh
        # MXNet stops at the first free pair that fails the threshold; in sorted order every
        # later pair fails too
        stop = np.flatnonzero(~good)
        order = order[:stop[0]] if stop.size else order
        r, c = order // cols, order % cols
        count = 0
        while r.size:
            rmark[bi, r[0]] = c[0]
            cmark[bi, c[0]] = r[0]
            count += 1
            if 0 < attrs.topk < count:  # MXNet counts the match that passes topk, then stops
                break
            free = (r != r[0]) & (c != c[0])
            r, c = r[free], c[free]
    return [rmark.reshape(x.shape[:-1]), cmark.reshape(*x.shape[:-2], cols)]


declare(
    "_contrib_bipartite_matching",
    params={"is_ascend": P(BOOL, False), "threshold": P(FLOAT), "topk": P(INT, -1)},
    outputs=("output0", "output1"), infer_shape=_matching_shape, forward=_matching_forward,
    backward=_zero_backward,
    doc="Greedy bipartite matching of a score matrix (rows to columns).",
)


# ----------------------------------------------------------------------------------------
# MultiBoxPrior


def _prior_check(attrs: Attrs) -> None:
    if not attrs.sizes:
        raise fail(attrs, "sizes must not be empty")
    if not attrs.ratios:
        raise fail(attrs, "ratios must not be empty")
    if any(not v > 0 for v in attrs.sizes):
        raise fail(attrs, f"sizes must be positive, got {attrs.sizes}")
    if any(not v > 0 for v in attrs.ratios):
        raise fail(attrs, f"ratios must be positive, got {attrs.ratios}")
    if len(attrs.steps) != 2:
        raise fail(attrs, f"steps must have 2 elements (step_y, step_x), got {attrs.steps}")
    if len(attrs.offsets) != 2:
        raise fail(attrs, f"offsets must have 2 elements (y, x), got {attrs.offsets}")
    if any(not 0 <= v <= 1 for v in attrs.offsets):
        raise fail(attrs, f"offsets must lie in [0, 1], got {attrs.offsets}")
    if attrs.steps[0] * attrs.steps[1] < 0:
        raise fail(attrs, f"steps={attrs.steps}: must specify both step_y and step_x")


def _prior_shape(attrs: Attrs, ins: list, outs: list):
    _prior_check(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    _ndim_at_least(attrs, d, 4, "data")
    h, w = d[2], d[3]
    if not (h and w):
        return ins, outs
    k = len(attrs.sizes) + len(attrs.ratios) - 1
    assign(attrs, outs, 0, (1, h * w * k, 4), ["output"])
    return ins, outs


def _prior_forward(attrs, inputs, ctx):
    _require_float32(attrs, inputs)
    _prior_check(attrs)
    x = inputs[0]
    h, w = x.shape[2], x.shape[3]
    step_y, step_x = (F32(v) for v in attrs.steps)
    if step_y <= 0 or step_x <= 0:
        step_y, step_x = F32(1) / F32(h), F32(1) / F32(w)
    off_y, off_x = (F32(v) for v in attrs.offsets)
    cy = (np.arange(h, dtype=F32) + off_y) * step_y
    cx = (np.arange(w, dtype=F32) + off_x) * step_x
    sizes = np.array(attrs.sizes, F32)
    ratios = np.sqrt(np.array(attrs.ratios, F32))
    # per location: every size at the first ratio, then the first size at the other ratios
    size = np.concatenate([sizes, np.full(len(ratios) - 1, sizes[0], F32)])
    ratio = np.concatenate([np.full(len(sizes), ratios[0], F32), ratios[1:]])
    half_w = size * F32(h) / F32(w) * ratio / F32(2)
    half_h = size / ratio / F32(2)
    cy = cy[:, None, None]
    cx = cx[None, :, None]
    out = np.stack(np.broadcast_arrays(cx - half_w, cy - half_h, cx + half_w, cy + half_h),
                   axis=-1)
    if attrs.clip:
        out = np.clip(out, F32(0), F32(1))
    return [out.reshape(1, -1, 4).astype(x.dtype)]


declare(
    "_contrib_MultiBoxPrior", "_npx_multibox_prior",
    params={"sizes": P(FLOATS, (1.0,)), "ratios": P(FLOATS, (1.0,)), "clip": P(BOOL, False),
            "steps": P(FLOATS, (-1.0, -1.0)), "offsets": P(FLOATS, (0.5, 0.5))},
    infer_shape=_prior_shape, infer_type=_float32_only, forward=_prior_forward,
    backward=_zero_backward,
    doc="SSD anchor boxes (corner format, relative to the image) for every feature location.",
)


# ----------------------------------------------------------------------------------------
# MultiBoxTarget


def _variances_check(attrs: Attrs) -> None:
    if len(attrs.variances) != 4:
        raise fail(attrs, f"variances must have 4 elements, got {attrs.variances}")


def _target_shape(attrs: Attrs, ins: list, outs: list):
    _variances_check(attrs)
    a, lab, p = ins
    if a is not None:
        _ndim_is(attrs, a, 3, "anchor")
        if a[0] not in (0, 1):
            raise fail(attrs, f"anchor is shared across the batch: its first dim must be 1, "
                              f"got shape {tuple(a)}")
        _dim_is(attrs, a, 2, 4, "anchor")
    if lab is not None:
        _ndim_is(attrs, lab, 3, "label")
        if lab[2] and lab[2] < 5:
            raise fail(attrs, f"label width must be at least 5, got shape {tuple(lab)}")
    if p is not None:
        _ndim_is(attrs, p, 3, "cls_pred")
        if a is not None and p[2] and a[1] and p[2] != a[1]:
            raise fail(attrs, f"cls_pred has {p[2]} anchors but anchor has {a[1]}")
    if a is not None and lab is not None:
        names = attrs.op.list_outputs(attrs)
        assign(attrs, outs, 0, (lab[0], a[1] * 4), names)
        assign(attrs, outs, 1, (lab[0], a[1] * 4), names)
        assign(attrs, outs, 2, (lab[0], a[1]), names)
    return ins, outs


def _loc_targets(anchor: np.ndarray, gt: np.ndarray, var) -> np.ndarray:
    """SSD box regression targets in MXNet's float32 arithmetic."""
    anchor = anchor.astype(F32)
    gt = gt.astype(F32)
    half = F32(0.5)
    aw = anchor[:, 2] - anchor[:, 0]
    ah = anchor[:, 3] - anchor[:, 1]
    ax = (anchor[:, 0] + anchor[:, 2]) * half
    ay = (anchor[:, 1] + anchor[:, 3]) * half
    gw = gt[:, 2] - gt[:, 0]
    gh = gt[:, 3] - gt[:, 1]
    gx = (gt[:, 0] + gt[:, 2]) * half
    gy = (gt[:, 1] + gt[:, 3]) * half
    vx, vy, vw, vh = (F32(v) for v in var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([(gx - ax) / aw / vx, (gy - ay) / ah / vy,
                         np.log(gw / aw) / vw, np.log(gh / ah) / vh], axis=1)


def _target_forward(attrs, inputs, ctx):
    _require_float32(attrs, inputs)
    _variances_check(attrs)
    anchor, labels, cls_preds = inputs
    dt = cls_preds.dtype
    na = anchor.shape[1]
    anchors = anchor.reshape(na, 4).astype(dt, copy=False)
    labels = labels.astype(dt, copy=False)
    nb, nl = labels.shape[:2]
    loc_target = np.zeros((nb, na, 4), dt)
    loc_mask = np.zeros((nb, na, 4), dt)
    cls_target = np.full((nb, na), dt.type(_f32(attrs.ignore_label)), dt)
    zero = dt.type(0)
    # IoU of every anchor with every label box, in the data's dtype (MXNet's temp space)
    al, at, ar, ab = (anchors[:, None, k] for k in range(4))
    for b in range(nb):
        lab = labels[b]
        is_pad = lab[:, 0].astype(F32) == F32(-1)
        n_gt = int(np.argmax(is_pad)) if is_pad.any() else nl
        if n_gt < nl and (lab[n_gt, 1:5].astype(F32) != F32(-1)).any():
            raise fail(attrs, f"label row {n_gt} of batch element {b} starts with the padding "
                              "class -1 but its box is not -1")
        if n_gt == 0:
            continue
        gl, gt_, gr, gb = (lab[None, :n_gt, k] for k in range(1, 5))
        inter = (np.maximum(zero, np.minimum(ar, gr) - np.maximum(al, gl))
                 * np.maximum(zero, np.minimum(ab, gb) - np.maximum(at, gt_)))
        union = (ar - al) * (ab - at) + (gr - gl) * (gb - gt_) - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            ov = np.where(union == 0, zero, inter / union).astype(F32)
        ov_cmp = np.where(np.isnan(ov), -np.inf, ov)
        flag = np.full(na, -1, np.int8)
        best_iou = np.full(na, F32(-1), F32)
        best_gt = np.full(na, -1, np.int64)
        # bipartite stage: the globally best (anchor, gt) pair among unmatched ones, in turn
        free_a = np.ones(na, bool)
        free_g = np.ones(n_gt, bool)
        for _ in range(n_gt):
            m = np.where(free_a[:, None] & free_g[None, :], ov_cmp, -np.inf)
            k = int(np.argmax(m))
            j, g = divmod(k, n_gt)
            if not m[j, g] > F32(1e-6):
                break
            best_iou[j], best_gt[j] = ov[j, g], g
            flag[j] = 1
            free_a[j] = free_g[g] = False
        rest = flag != 1
        row_best = np.argmax(ov_cmp, axis=1)
        row_max = ov_cmp[np.arange(na), row_best]
        has = row_max > -1
        if attrs.overlap_threshold > 0:
            upd = rest & has
            best_iou[upd], best_gt[upd] = row_max[upd], row_best[upd]
            flag[upd & (row_max > F32(_f32(attrs.overlap_threshold)))] = 1
        num_pos = int((flag == 1).sum())
        if attrs.negative_mining_ratio > 0:
            if not attrs.negative_mining_thresh > 0:
                raise fail(attrs, "negative_mining_thresh must be positive when negative "
                                  f"mining is on, got {attrs.negative_mining_thresh}")
            num_neg = int(F32(num_pos) * F32(attrs.negative_mining_ratio))
            num_neg = min(num_neg, na - num_pos)
            if num_neg > 0:
                unset = (flag != 1) & (best_iou < 0) & has
                best_iou[unset], best_gt[unset] = row_max[unset], row_best[unset]
                cand = np.flatnonzero((flag == -1)
                                      & (best_iou < F32(_f32(attrs.negative_mining_thresh))))
                if cand.size < num_neg:
                    raise fail(attrs, f"negative mining needs {num_neg} negative anchors but "
                                      f"only {cand.size} qualify")
                p = cls_preds[b][:, cand]
                mx = p[0].copy()
                for k in range(1, p.shape[0]):
                    mx = np.where(p[k] > mx, p[k], mx)
                total = np.zeros_like(mx)
                for k in range(p.shape[0]):
                    total = total + np.exp(p[k] - mx)
                prob = (np.exp(p[0] - mx) / total).astype(F32)
                flag[cand[np.argsort(prob, kind="stable")[:num_neg]]] = 0
        else:
            flag[flag != 1] = 0
        pos = np.flatnonzero(flag == 1)
        neg = flag == 0
        cls_target[b, neg] = zero
        if pos.size:
            g = best_gt[pos]
            cls_target[b, pos] = lab[g, 0] + dt.type(1)
            loc_mask[b, pos] = 1
            loc_target[b, pos] = _loc_targets(anchors[pos], lab[g, 1:5], attrs.variances)
    return [loc_target.reshape(nb, na * 4), loc_mask.reshape(nb, na * 4), cls_target]


declare(
    "_contrib_MultiBoxTarget", "_npx_multibox_target",
    params={"overlap_threshold": P(FLOAT, 0.5), "ignore_label": P(FLOAT, -1.0),
            "negative_mining_ratio": P(FLOAT, -1.0), "negative_mining_thresh": P(FLOAT, 0.5),
            "minimum_negative_samples": P(INT, 0),
            "variances": P(FLOATS, (0.1, 0.1, 0.2, 0.2))},
    inputs=("anchor", "label", "cls_pred"), outputs=("loc_target", "loc_mask", "cls_target"),
    infer_shape=_target_shape, infer_type=_float32_only, forward=_target_forward,
    backward=_zero_backward,
    doc="SSD training targets: anchors matched to labels, with hard negative mining.",
)


# ----------------------------------------------------------------------------------------
# MultiBoxDetection


def _detection_shape(attrs: Attrs, ins: list, outs: list):
    _variances_check(attrs)
    c, loc, a = ins
    if c is not None:
        _ndim_is(attrs, c, 3, "cls_prob")
    if loc is not None:
        _ndim_is(attrs, loc, 2, "loc_pred")
    if a is not None:
        _ndim_is(attrs, a, 3, "anchor")
        _dim_is(attrs, a, 2, 4, "anchor")
    if c is None or loc is None or a is None:
        return ins, outs
    if c[2] and a[1] and c[2] != a[1]:
        raise fail(attrs, f"number of anchors mismatch: cls_prob {tuple(c)}, anchor {tuple(a)}")
    if c[2] and loc[1] and c[2] * 4 != loc[1]:
        raise fail(attrs, f"loc_pred {tuple(loc)} must hold 4 values per anchor of cls_prob "
                          f"{tuple(c)}")
    assign(attrs, outs, 0, (c[0], a[1], 6), ["output"])
    return ins, outs


def _detection_forward(attrs, inputs, ctx):
    _require_float32(attrs, inputs)
    _variances_check(attrs)
    cls_prob, loc_pred, anchor = inputs
    dt = cls_prob.dtype
    nb, nc, na = cls_prob.shape
    anchors = anchor.reshape(-1)[:na * 4].reshape(na, 4).astype(dt, copy=False)
    loc = loc_pred.reshape(nb, na, 4).astype(dt, copy=False)
    # class: the best non-background one (first of equals), background below threshold
    if nc > 1:
        fg = cls_prob[:, 1:, :]
        best = np.argmax(fg, axis=1)
        score = np.take_along_axis(fg, best[:, None, :], axis=1)[:, 0, :]
        cls_id = np.where(score > -1, best + 1, 0)
        score = np.where(score > -1, score, dt.type(-1))
    else:
        cls_id = np.zeros((nb, na), np.int64)
        score = np.full((nb, na), -1, dt)
    cls_id = np.where((cls_id > 0) & (score < dt.type(_f32(attrs.threshold))), 0, cls_id)
    vx, vy, vw, vh = (dt.type(_f32(v)) for v in attrs.variances)
    al, at, ar, ab = (anchors[None, :, k] for k in range(4))
    two = dt.type(2)
    aw, ah = ar - al, ab - at
    ax, ay = (al + ar) / two, (at + ab) / two
    ox = loc[..., 0] * vx * aw + ax
    oy = loc[..., 1] * vy * ah + ay
    with np.errstate(over="ignore"):
        ow = np.exp(loc[..., 2] * vw) * aw / two
        oh = np.exp(loc[..., 3] * vh) * ah / two
    box = np.stack([ox - ow, oy - oh, ox + ow, oy + oh], axis=-1)
    if attrs.clip:
        box = np.clip(box, dt.type(0), dt.type(1))
    rows = np.concatenate([(cls_id - 1).astype(dt)[..., None], score[..., None], box], axis=-1)
    out = np.full((nb, na, 6), -1, dt)
    nms = 0 < attrs.nms_threshold <= 1
    thresh = dt.type(_f32(attrs.nms_threshold))
    for b in range(nb):
        valid = rows[b][cls_id[b] > 0]
        nv = valid.shape[0]
        out[b, :nv] = valid
        if nv < 1 or not nms:
            continue
        order = np.argsort(-valid[:, 1], kind="stable")
        nkeep = nv
        if 0 < attrs.nms_topk < nv:
            nkeep = attrs.nms_topk
            out[b, nkeep:nv, 0] = -1  # MXNet leaves these rows unsorted, only their id cleared
        top = valid[order[:nkeep]]
        out[b, :nkeep] = top
        ids = top[:, 0]
        bx = top[:, 2:6]
        area = (bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1])

        def suppresses(i, j, bx=bx, area=area, ids=ids):
            w = bx.dtype.type(0)
            iw = np.maximum(w, np.minimum(bx[i, 2], bx[j, 2]) - np.maximum(bx[i, 0], bx[j, 0]))
            ih = np.maximum(w, np.minimum(bx[i, 3], bx[j, 3]) - np.maximum(bx[i, 1], bx[j, 1]))
            inter = iw * ih
            u = area[i] + area[j] - inter
            with np.errstate(divide="ignore", invalid="ignore"):
                iou = np.where(u <= 0, w, inter / u)
            same = True if attrs.force_suppress else ids[i] == ids[j]
            return (iou >= thresh) & same

        group = np.zeros(nkeep, np.int64) if attrs.force_suppress else ids
        keep = _greedy_keep(bx.T, group, float(thresh), suppresses)
        out[b, :nkeep, 0] = np.where(keep, ids, dt.type(-1))
    return [out]


declare(
    "_contrib_MultiBoxDetection", "_npx_multibox_detection",
    params={"clip": P(BOOL, True), "threshold": P(FLOAT, 0.01), "background_id": P(INT, 0),
            "nms_threshold": P(FLOAT, 0.5), "force_suppress": P(BOOL, False),
            "variances": P(FLOATS, (0.1, 0.1, 0.2, 0.2)), "nms_topk": P(INT, -1)},
    inputs=("cls_prob", "loc_pred", "anchor"), infer_shape=_detection_shape,
    infer_type=_float32_only,
    forward=_detection_forward, backward=_zero_backward,
    doc="SSD detections: decoded boxes of the best class per anchor, after per-class NMS.",
)


# ----------------------------------------------------------------------------------------
# Proposal / MultiProposal (Faster R-CNN's RPN layer)


def _proposal_check(attrs: Attrs) -> None:
    for name in ("rpn_post_nms_top_n", "feature_stride"):
        if getattr(attrs, name) < 1:
            raise fail(attrs, f"{name} must be positive, got {getattr(attrs, name)}")
    if attrs.rpn_min_size < 0:
        raise fail(attrs, f"rpn_min_size must not be negative, got {attrs.rpn_min_size}")
    for name in ("scales", "ratios"):
        v = getattr(attrs, name)
        if not v or any(not x > 0 for x in v):
            raise fail(attrs, f"{name} must be a non-empty tuple of positive numbers, got {v}")


def _proposal_shape(attrs: Attrs, ins: list, outs: list):
    _proposal_check(attrs)
    d = ins[0]
    if d is None:
        return ins, outs
    _ndim_is(attrs, d, 4, "cls_prob")
    multi = attrs.op.name == "_contrib_MultiProposal"
    if not multi and d[0] not in (0, 1):
        raise fail(attrs, f"takes one image (batch size 1; use MultiProposal for more), got "
                          f"cls_prob of shape {tuple(d)}")
    names = attrs.op.list_inputs(attrs)
    assign(attrs, ins, 1, (d[0], d[1] * 2, d[2], d[3]), names)
    assign(attrs, ins, 2, (d[0], 3), names)
    rows = attrs.rpn_post_nms_top_n * (d[0] if multi else 1)
    if multi and not d[0]:
        return ins, outs
    assign(attrs, outs, 0, (rows, 5), ["output", "score"])
    assign(attrs, outs, 1, (rows, 1), ["output", "score"])
    return ins, outs


def _rpn_anchors(stride: int, ratios, scales) -> np.ndarray:
    """Faster R-CNN's base anchors, (len(ratios) * len(scales), 4), in MXNet's float math."""
    one, half = F32(1), F32(0.5)
    w = h = F32(stride - 1) - F32(0) + one
    x_ctr = F32(0 + 0.5 * (float(w) - 1.0))
    y_ctr = x_ctr
    ratio = np.repeat(np.array(ratios, F32), len(scales))
    scale = np.tile(np.array(scales, F32), len(ratios))
    size_ratios = np.floor((w * h) / ratio)
    new_w = np.floor(np.sqrt(size_ratios) + half) * scale
    new_h = np.floor((new_w / scale * ratio) + half) * scale
    return np.stack([x_ctr - half * (new_w - one), y_ctr - half * (new_h - one),
                     x_ctr + half * (new_w - one), y_ctr + half * (new_h - one)], axis=1)


def _proposals_of_image(attrs, anchors, scores, deltas, info):
    """One image's proposals: ``(post_nms_top_n, 4)`` boxes and their scores."""
    a = anchors.shape[0]
    _, hgt, wid = scores.shape
    fs = attrs.feature_stride
    sx = (np.arange(wid) * fs).astype(F32)
    sy = (np.arange(hgt) * fs).astype(F32)
    # index = (h * W + w) * A + a, as MXNet lays out its workspace
    grid = (hgt, wid, a)
    x1, x2 = (np.broadcast_to(anchors[:, k] + sx[:, None], grid).reshape(-1) for k in (0, 2))
    y1, y2 = (np.broadcast_to(anchors[:, k] + sy[:, None, None], grid).reshape(-1)
              for k in (1, 3))
    score = scores.transpose(1, 2, 0).reshape(-1).astype(F32)
    d = deltas.reshape(a, 4, hgt, wid).transpose(2, 3, 0, 1).reshape(-1, 4).astype(F32)
    im_h, im_w, im_scale = (F32(v) for v in info)
    real_h = int(im_h / F32(fs))
    real_w = int(im_w / F32(fs))
    if hgt < real_h or wid < real_w:
        raise fail(attrs, f"im_info ({float(im_h)}, {float(im_w)}) is larger than the feature "
                          f"map ({hgt}, {wid}) times feature_stride={fs}")
    if attrs.iou_loss:
        px1, py1, px2, py2 = x1 + d[:, 0], y1 + d[:, 1], x2 + d[:, 2], y2 + d[:, 3]
    else:
        one = F32(1)
        bw = (x2 - x1) + one
        bh = (y2 - y1) + one
        # MXNet mixes double constants into float math: these round once, from double
        cx = (x1.astype(np.float64) + 0.5 * (bw.astype(np.float64) - 1.0)).astype(F32)
        cy = (y1.astype(np.float64) + 0.5 * (bh.astype(np.float64) - 1.0)).astype(F32)
        pcx = d[:, 0] * bw + cx
        pcy = d[:, 1] * bh + cy
        with np.errstate(over="ignore"):
            pw = np.exp(d[:, 2]) * bw
            ph = np.exp(d[:, 3]) * bh
        hw = 0.5 * (pw.astype(np.float64) - 1.0)
        hh = 0.5 * (ph.astype(np.float64) - 1.0)
        pcx64, pcy64 = pcx.astype(np.float64), pcy.astype(np.float64)
        px1, px2 = (pcx64 - hw).astype(F32), (pcx64 + hw).astype(F32)
        py1, py2 = (pcy64 - hh).astype(F32), (pcy64 + hh).astype(F32)
    lim_w, lim_h = im_w - F32(1), im_h - F32(1)
    px1, px2 = (np.maximum(np.minimum(v, lim_w), F32(0)) for v in (px1, px2))
    py1, py2 = (np.maximum(np.minimum(v, lim_h), F32(0)) for v in (py1, py2))
    hh_i = np.repeat(np.arange(hgt), wid * a)
    ww_i = np.tile(np.repeat(np.arange(wid), a), hgt)
    score = np.where((hh_i >= real_h) | (ww_i >= real_w), F32(-1), score)
    # boxes below the minimum size grow by it and lose their score
    min_size = F32(attrs.rpn_min_size) * im_scale
    small = (((px2 - px1) + F32(1)) < min_size) | (((py2 - py1) + F32(1)) < min_size)
    grow = np.where(small, min_size / F32(2), F32(0))
    px1, py1, px2, py2 = px1 - grow, py1 - grow, px2 + grow, py2 + grow
    score = np.where(small, F32(-1), score)
    count = score.size
    pre = attrs.rpn_pre_nms_top_n if attrs.rpn_pre_nms_top_n > 0 else count
    pre = min(pre, count)
    post = min(attrs.rpn_post_nms_top_n, pre)
    order = np.argsort(-score, kind="stable")[:pre]
    bx1, by1, bx2, by2, bs = px1[order], py1[order], px2[order], py2[order], score[order]
    one = F32(1)
    area = (bx2 - bx1 + one) * (by2 - by1 + one)
    thresh = F32(attrs.threshold)

    def suppresses(i, j):
        iw = np.maximum(F32(0), np.minimum(bx2[i], bx2[j]) - np.maximum(bx1[i], bx1[j]) + one)
        ih = np.maximum(F32(0), np.minimum(by2[i], by2[j]) - np.maximum(by1[i], by1[j]) + one)
        inter = iw * ih
        with np.errstate(divide="ignore", invalid="ignore"):
            return inter / (area[i] + area[j] - inter) > thresh

    keep = np.flatnonzero(_greedy_keep((bx1, by1, bx2 + one, by2 + one), np.zeros(pre, np.int64),
                                       float(thresh), suppresses, limit=post))[:post]
    rows = keep[np.arange(attrs.rpn_post_nms_top_n) % max(keep.size, 1)]
    boxes = np.stack([bx1[rows], by1[rows], bx2[rows], by2[rows]], axis=1)
    return boxes, bs[rows]


def _proposal_forward(attrs, inputs, ctx):
    _require_float32(attrs, inputs)
    _proposal_check(attrs)
    cls_prob, bbox_pred, im_info = inputs
    nb, c2 = cls_prob.shape[:2]
    if attrs.op.name == "_contrib_Proposal" and nb != 1:
        raise fail(attrs, f"takes one image (batch size 1; use MultiProposal for more), got "
                          f"{nb}")
    a = c2 // 2
    if a != len(attrs.ratios) * len(attrs.scales):
        raise fail(attrs, f"cls_prob has {a} anchors per location but ratios x scales makes "
                          f"{len(attrs.ratios) * len(attrs.scales)}")
    anchors = _rpn_anchors(attrs.feature_stride, attrs.ratios, attrs.scales)
    outs, scores = [], []
    for b in range(nb):  # MXNet handles the images one by one too
        boxes, score = _proposals_of_image(attrs, anchors, cls_prob[b, a:], bbox_pred[b],
                                           im_info[b])
        outs.append(np.concatenate([np.full((boxes.shape[0], 1), b, F32), boxes], axis=1))
        scores.append(score[:, None])
    dt = cls_prob.dtype
    return [np.concatenate(outs).astype(dt), np.concatenate(scores).astype(dt)]


_PROPOSAL_PARAMS = {
    "rpn_pre_nms_top_n": P(INT, 6000), "rpn_post_nms_top_n": P(INT, 300),
    "threshold": P(FLOAT, 0.7), "rpn_min_size": P(INT, 16),
    "scales": P(FLOATS, (4.0, 8.0, 16.0, 32.0)), "ratios": P(FLOATS, (0.5, 1.0, 2.0)),
    "feature_stride": P(INT, 16), "output_score": P(BOOL, False), "iou_loss": P(BOOL, False),
}

for _name, _doc in (("_contrib_Proposal", "Region proposals of one image (Faster R-CNN)."),
                    ("_contrib_MultiProposal", "Region proposals of a batch of images.")):
    declare(
        _name, params=dict(_PROPOSAL_PARAMS), inputs=("cls_prob", "bbox_pred", "im_info"),
        outputs=("output", "score"), num_visible_outputs=lambda a: 2 if a.output_score else 1,
        infer_shape=_proposal_shape, infer_type=_float32_only, forward=_proposal_forward,
        backward=_zero_backward,
        doc=_doc,
    )


# ----------------------------------------------------------------------------------------
# ROI poolings


def _scale_check(attrs: Attrs) -> None:
    if not 0 <= attrs.spatial_scale <= 1:
        raise fail(attrs, f"spatial_scale={attrs.spatial_scale} is out of range [0, 1]")


def _pooled_hw(attrs: Attrs) -> tuple[int, int]:
    ps = attrs.pooled_size
    if ps is None or len(ps) != 2:
        raise fail(attrs, f"pooled_size must have 2 elements (height, width), got {ps}")
    if ps[0] < 1 or ps[1] < 1:
        raise fail(attrs, f"pooled_size must be positive, got {tuple(ps)}")
    return int(ps[0]), int(ps[1])


def _roi_inputs_shape(attrs: Attrs, ins: list, cols: int = 5) -> tuple | None:
    """(data, rois) shapes once both are known: 4-D data, 2-D rois of ``cols`` columns (5:
    batch index and box corners; 6 for rotated boxes)."""
    d, r = ins
    if d is not None:
        _ndim_is(attrs, d, 4, "data")
    if r is not None:
        _ndim_is(attrs, r, 2, "rois")
        _dim_is(attrs, r, 1, cols, "rois")
    return None if d is None or r is None else (d, r)


def _roi_align_shape(attrs: Attrs, ins: list, outs: list):
    _scale_check(attrs)
    ph, pw = _pooled_hw(attrs)
    dr = _roi_inputs_shape(attrs, ins)
    if dr is None:
        return ins, outs
    (n, c, h, w), (r, _) = dr
    if attrs.position_sensitive:
        if c % (ph * pw):
            raise fail(attrs, f"position_sensitive needs data channels ({c}) divisible by "
                              f"pooled_size[0] * pooled_size[1] ({ph * pw})")
        c //= ph * pw
    assign(attrs, outs, 0, (r, c, ph, pw), ["output"])
    return ins, outs


def _round_away(x: np.ndarray) -> np.ndarray:
    """C's round(): halves away from zero (numpy rounds them to even)."""
    return np.sign(x) * np.floor(np.abs(x) + x.dtype.type(0.5))


def _axis_samples(c: np.ndarray, size: int):
    """ROIAlign's bilinear taps along one axis: low / high index, their weights, and whether
    the sample lies outside the map (then it contributes nothing)."""
    dt = c.dtype
    outside = (c < -1.0) | (c > size)
    c = np.where(c <= 0, dt.type(0), c)
    low = np.where(outside, 0, c).astype(np.int64)
    top = low >= size - 1
    low = np.where(top, size - 1, low)
    high = np.where(top, size - 1, low + 1)
    c = np.where(top, low.astype(dt), c)
    frac = c - low.astype(dt)
    return low, high, frac, dt.type(1) - frac, outside


def _roi_align_plan(attrs: Attrs, data_shape: tuple, rois: np.ndarray, dt: np.dtype):
    """Per ROI: batch index, sampling grid, and the taps of every sample, in MXNet's math."""
    n, c, h, w = data_shape
    ph, pw = _pooled_hw(attrs)
    rois = rois.astype(dt, copy=False)
    scale = dt.type(_f32(attrs.spatial_scale))
    bidx = rois[:, 0].astype(np.int64)
    off = dt.type(0.5) if attrs.aligned else dt.type(0)
    sw, sh, ew, eh = (rois[:, k] * scale - off for k in range(1, 5))
    rw, rh = ew - sw, eh - sh
    live = (bidx >= 0) & (bidx < n)
    if attrs.aligned:
        if ((~(rw > 0) | ~(rh > 0)) & live).any():
            raise fail(attrs, "with aligned=True every ROI must have a positive width and "
                              "height")
    else:
        rw = np.maximum(rw, dt.type(1))
        rh = np.maximum(rh, dt.type(1))
    bin_h, bin_w = rh / dt.type(ph), rw / dt.type(pw)
    if attrs.sample_ratio > 0:
        gh = np.full(rois.shape[0], attrs.sample_ratio, np.int64)
        gw = gh.copy()
    else:
        gh = np.ceil(rh / dt.type(ph)).astype(np.int64)
        gw = np.ceil(rw / dt.type(pw)).astype(np.int64)
    gh = np.where(live, gh, 0)
    gw = np.where(live, gw, 0)
    big_h = int(gh.max(initial=0))
    big_w = int(gw.max(initial=0))

    def coords(start, bins, grid, npool, nsample):
        k = np.arange(npool).astype(dt)[None, :, None]
        s = (np.arange(nsample) + 0.5).astype(dt)[None, None, :]
        g = np.maximum(grid, 1).astype(dt)[:, None, None]
        return start[:, None, None] + k * bins[:, None, None] + s * bins[:, None, None] / g

    ys = _axis_samples(coords(sh, bin_h, gh, ph, big_h), h)
    xs = _axis_samples(coords(sw, bin_w, gw, pw, big_w), w)
    count = (gh * gw).astype(dt)
    return bidx, live, gh, gw, big_h, big_w, ys, xs, count


def _roi_align_taps(attrs, data_shape, plan, iy, ix):
    """Flat data indices and weights (R, C', PH, PW) of the four taps of sample (iy, ix)."""
    n, c, h, w = data_shape
    bidx, live, gh, gw, _, _, ys, xs, _ = plan
    ph, pw = _pooled_hw(attrs)
    ylo, yhi, ly, hy, yout = (a[:, :, iy] for a in ys)
    xlo, xhi, lx, hx, xout = (a[:, :, ix] for a in xs)
    dead = (yout[:, :, None] | xout[:, None, :]
            | ~((iy < gh) & (ix < gw) & live)[:, None, None])
    if attrs.position_sensitive:
        cout = c // (ph * pw)
        chan = (np.arange(cout)[:, None, None] * (ph * pw) + np.arange(ph)[None, :, None] * pw
                + np.arange(pw)[None, None, :])[None]
    else:
        chan = np.arange(c)[None, :, None, None]
    base = (np.clip(bidx, 0, n - 1)[:, None, None, None] * c + chan) * h
    zero = hy.dtype.type(0)
    taps = []
    for yy, wy in ((ylo, hy), (yhi, ly)):
        for xx, wx in ((xlo, hx), (xhi, lx)):
            wt = np.where(dead, zero, wy[:, :, None] * wx[:, None, :])
            idx = (base + yy[:, None, :, None]) * w + xx[:, None, None, :]
            taps.append((idx, wt[:, None]))
    return taps


_ROI_CHUNK = 1 << 19  # output elements per pass of the ROI poolings (bounds their temporaries)


def _roi_chunks(nrois: int, per_roi: int) -> list[slice]:
    step = max(1, _ROI_CHUNK // max(per_roi, 1))
    return [slice(s, s + step) for s in range(0, nrois, step)] or [slice(0, 0)]


def _roi_align_forward(attrs, inputs, ctx):
    _scale_check(attrs)
    data, rois = inputs
    ph, pw = _pooled_hw(attrs)
    n, c, h, w = data.shape
    # channels last: a tap then gathers whole channel rows with a small (R, PH, PW) index
    rows = data.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    return [np.concatenate([_roi_align_part(attrs, data.shape, rows, rois[part])
                            for part in _roi_chunks(rois.shape[0], c * ph * pw)])]


def _roi_align_part(attrs, data_shape, rows, rois):
    dt = rows.dtype
    n, c, h, w = data_shape
    ph, pw = _pooled_hw(attrs)
    bidx, live, gh, gw, big_h, big_w, ys, xs, count = _roi_align_plan(attrs, data_shape, rois,
                                                                       dt)
    cout = c // (ph * pw) if attrs.position_sensitive else c
    if attrs.position_sensitive:  # bin (ph, pw) of output channel k reads channel k*PH*PW+...
        pick = (np.arange(cout)[None, None, :] * (ph * pw)
                + (np.arange(ph)[:, None, None] * pw + np.arange(pw)[None, :, None]))[None]
    base = np.clip(bidx, 0, max(n - 1, 0))[:, None, None] * (h * w)
    acc = np.zeros((rois.shape[0], ph, pw, cout), dt)
    zero = dt.type(0)
    for iy in range(big_h):
        ylo, yhi, ly, hy, yout = (a[:, :, iy, None] for a in ys)
        for ix in range(big_w):
            xlo, xhi, lx, hx, xout = (a[:, None, :, ix] for a in xs)
            dead = yout | xout | ~((iy < gh) & (ix < gw) & live)[:, None, None]
            total = None  # ((w1 v1 + w2 v2) + w3 v3) + w4 v4, MXNet's order
            for yy, wy in ((ylo, hy), (yhi, ly)):
                for xx, wx in ((xlo, hx), (xhi, lx)):
                    v = rows[base + yy * w + xx]
                    if attrs.position_sensitive:
                        v = np.take_along_axis(v, pick, axis=3)
                    v *= np.where(dead, zero, wy * wx)[..., None]
                    if total is None:
                        total = v
                    else:
                        total += v
            acc += total
    count = np.maximum(count, dt.type(1))[:, None, None, None]
    out = np.where(live[:, None, None, None], acc / count, zero)
    return out.transpose(0, 3, 1, 2).astype(dt, copy=False)


class _ScatterAdd:
    """Accumulates (flat index, value) contributions into a gradient with few bincounts."""

    def __init__(self, size: int, dtype: np.dtype, limit: int = 1 << 23):
        self.total = np.zeros(size, np.float64)
        self.idx: list = []
        self.val: list = []
        self.held = 0
        self.limit = limit
        self.dtype = dtype

    def add(self, idx: np.ndarray, val: np.ndarray) -> None:
        idx, val = np.broadcast_arrays(idx, val)
        self.idx.append(idx.reshape(-1))
        self.val.append(val.reshape(-1))
        self.held += idx.size
        if self.held >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self.idx:
            self.total += np.bincount(np.concatenate(self.idx), np.concatenate(self.val),
                                      minlength=self.total.size)
        self.idx, self.val, self.held = [], [], 0

    def result(self, shape: tuple) -> np.ndarray:
        self.flush()
        return self.total.astype(self.dtype).reshape(shape)


def _roi_align_backward(attrs, out_grads, inputs, outputs, ctx):
    data, rois = inputs
    dt = data.dtype
    if not ctx.wants(0):
        return [None, np.zeros_like(rois) if ctx.wants(1) else None]
    top_all = out_grads[0].astype(dt, copy=False)
    acc = _ScatterAdd(data.size, dt)
    for part in _roi_chunks(rois.shape[0], top_all[0].size if top_all.size else 1):
        plan = _roi_align_plan(attrs, data.shape, rois[part], dt)
        top = top_all[part]
        count = np.maximum(plan[8], dt.type(1))[:, None, None, None]
        for iy in range(plan[4]):
            for ix in range(plan[5]):
                for idx, wt in _roi_align_taps(attrs, data.shape, plan, iy, ix):
                    acc.add(idx, top * wt / count)
    return [acc.result(data.shape), np.zeros_like(rois) if ctx.wants(1) else None]


def _same_dtype_inputs(attrs: Attrs, ins: list, outs: list):
    t = ins[0] if ins[0] is not None else ins[1]
    if ins[0] is not None and ins[1] is not None and ins[0] != ins[1]:
        raise fail(attrs, f"rois must have the dtype of data ({ins[0]}), got {ins[1]}")
    return [t] * len(ins), [t] * len(outs)


declare(
    "_contrib_ROIAlign",
    params={"pooled_size": P(SHAPE), "spatial_scale": P(FLOAT), "sample_ratio": P(INT, -1),
            "position_sensitive": P(BOOL, False), "aligned": P(BOOL, False)},
    inputs=("data", "rois"), infer_shape=_roi_align_shape, infer_type=_same_dtype_inputs,
    forward=_roi_align_forward, backward=_roi_align_backward,
    doc="Bilinear ROI pooling (Mask R-CNN's ROIAlign), optionally position-sensitive.",
)


# _contrib_RROIAlign: ROIAlign over rotated boxes (batch index, center x, center y, width,
# height, angle in degrees). Each bin averages gh x gw bilinear samples of the box's grid,
# rotated about the box center; samples beyond the map count as zeros. MXNet 1.9.1 registers
# no gradient for it (its backward kernel only raises), so neither does this.


def _rroi_align_shape(attrs: Attrs, ins: list, outs: list):
    _scale_check(attrs)
    ph, pw = _pooled_hw(attrs)
    dr = _roi_inputs_shape(attrs, ins, cols=6)
    if dr is not None:
        assign(attrs, outs, 0, (dr[1][0], dr[0][1], ph, pw), ["output"])
    return ins, outs


def _rroi_align_type(attrs: Attrs, ins: list, outs: list):
    if ins[0] is None:
        raise fail(attrs, "the dtype of data must be given")
    if ins[1] is not None and ins[1] != ins[0]:
        raise fail(attrs, f"rois must have the dtype of data ({ins[0]}), got {ins[1]}")
    return [ins[0], ins[0]], [ins[0]]


def _rroi_align_forward(attrs, inputs, ctx):
    _scale_check(attrs)
    data, rois = inputs
    _rroi_align_shape(attrs, [data.shape, rois.shape], [None])
    _rroi_align_type(attrs, [data.dtype, rois.dtype], [None])
    ph, pw = _pooled_hw(attrs)
    n, c, h, w = data.shape
    bidx = rois[:, 0].astype(np.int64)
    if ((bidx < 0) | (bidx >= n)).any():
        raise fail(attrs, f"rois hold batch indices outside [0, {n}): {np.unique(bidx)}")
    # channels last: each sample gathers whole channel rows with an (R, PH, PW) index
    rows = data.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    return [np.concatenate([_rroi_align_part(attrs, data.shape, rows, rois[part])
                            for part in _roi_chunks(rois.shape[0], c * ph * pw)])]


def _rroi_align_part(attrs, data_shape, rows, rois):
    dt = rows.dtype
    t = dt.type
    n, c, h, w = data_shape
    ph, pw = _pooled_hw(attrs)
    # MXNet's arithmetic, in the data's dtype: the box scaled, at least 1 x 1
    scale = t(_f32(attrs.spatial_scale))
    cx, cy, rw, rh = (rois[:, k].astype(dt, copy=False) * scale for k in range(1, 5))
    theta = (rois[:, 5].astype(np.float64) * np.pi / 180.0).astype(dt)
    rw = np.maximum(rw, t(1))
    rh = np.maximum(rh, t(1))
    start_h = (-rh.astype(np.float64) / 2.0).astype(dt)
    start_w = (-rw.astype(np.float64) / 2.0).astype(dt)
    bin_h, bin_w = rh / t(ph), rw / t(pw)
    if attrs.sampling_ratio > 0:
        gh = np.full(rois.shape[0], attrs.sampling_ratio, np.int64)
        gw = gh.copy()
    else:
        gh = np.ceil(rh / t(ph)).astype(np.int64)
        gw = np.ceil(rw / t(pw)).astype(np.int64)
    count = (gh * gw).astype(dt)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    base = (rois[:, 0].astype(np.int64) * (h * w))[:, None, None]
    k_h = np.arange(ph).astype(dt)[None, :]
    k_w = np.arange(pw).astype(dt)[None, :]
    acc = np.zeros((rois.shape[0], ph, pw, c), dt)
    zero = t(0)
    for iy in range(int(gh.max(initial=0))):
        # (R, PH): the sample's offset from the box center along its height, then width
        yy = (start_h[:, None] + k_h * bin_h[:, None]
              + t(iy + 0.5) * bin_h[:, None] / np.maximum(gh, 1).astype(dt)[:, None])
        for ix in range(int(gw.max(initial=0))):
            xx = (start_w[:, None] + k_w * bin_w[:, None]
                  + t(ix + 0.5) * bin_w[:, None] / np.maximum(gw, 1).astype(dt)[:, None])
            # rotated about the center and moved there: (R, PH, PW)
            x = (xx[:, None, :] * cos_t[:, None, None] + yy[:, :, None] * sin_t[:, None, None]
                 + cx[:, None, None])
            y = (yy[:, :, None] * cos_t[:, None, None] - xx[:, None, :] * sin_t[:, None, None]
                 + cy[:, None, None])
            ylo, yhi, ly, hy, yout = _axis_samples(y, h)
            xlo, xhi, lx, hx, xout = _axis_samples(x, w)
            dead = yout | xout | ~((iy < gh) & (ix < gw))[:, None, None]
            total = None  # ((w1 v1 + w2 v2) + w3 v3) + w4 v4, MXNet's order
            for yy_i, wy in ((ylo, hy), (yhi, ly)):
                for xx_i, wx in ((xlo, hx), (xhi, lx)):
                    v = rows[base + yy_i * w + xx_i]
                    v *= np.where(dead, zero, wy * wx)[..., None]
                    if total is None:
                        total = v
                    else:
                        total += v
            acc += total
    out = acc / np.maximum(count, t(1))[:, None, None, None]
    return out.transpose(0, 3, 1, 2).astype(dt, copy=False)


declare(
    "_contrib_RROIAlign",
    params={"pooled_size": P(SHAPE), "spatial_scale": P(FLOAT), "sampling_ratio": P(INT, -1)},
    inputs=("data", "rois"), infer_shape=_rroi_align_shape, infer_type=_rroi_align_type,
    forward=_rroi_align_forward,
    doc="Rotated ROI Align: bilinear pooling of (R, C, *pooled_size) bins over rotated "
        "boxes [batch_index, x, y, w, h, theta (degrees)].",
)
NO_BACKWARD.add("_contrib_RROIAlign")


def _roi_pool_shape(attrs: Attrs, ins: list, outs: list):
    _scale_check(attrs)
    ph, pw = _pooled_hw(attrs)
    dr = _roi_inputs_shape(attrs, ins)
    if dr is None:
        return ins, outs
    (n, c, h, w), (r, _) = dr
    assign(attrs, outs, 0, (r, c, ph, pw), ["output", "maxidx"])
    assign(attrs, outs, 1, (r, c, ph, pw), ["output", "maxidx"])
    return ins, outs


def _window_bounds(start, bins, npool, size, dt):
    """ROIPooling's integer bin windows [lo, hi) of every ROI (R, npool): the bin's floor and
    ceiling, offset by the ROI's start, clipped to the map."""
    k = np.arange(npool)
    lo = np.floor(k.astype(dt)[None, :] * bins[:, None]).astype(np.int64) + start[:, None]
    hi = np.ceil((k + 1).astype(dt)[None, :] * bins[:, None]).astype(np.int64) + start[:, None]
    return np.clip(lo, 0, size), np.clip(hi, 0, size)


def _roi_pool_forward(attrs, inputs, ctx):
    _scale_check(attrs)
    data, rois = inputs
    ph, pw = _pooled_hw(attrs)
    n, c, h, w = data.shape
    rows = data.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    parts = [_roi_pool_part(attrs, data.shape, rows, rois[part])
             for part in _roi_chunks(rois.shape[0], c * ph * pw)]
    arg = np.concatenate([a for _, a in parts])
    ctx.saved["argmax"] = arg
    return [np.concatenate([o for o, _ in parts]), arg.astype(data.dtype)]


def _roi_pool_part(attrs, data_shape, rows, rois):
    dt = rows.dtype
    n, c, h, w = data_shape
    ph, pw = _pooled_hw(attrs)
    r = rois.astype(dt, copy=False)
    bidx = r[:, 0].astype(np.int64)
    sw, sh, ew, eh = (_round_away(r[:, k] * dt.type(_f32(attrs.spatial_scale))).astype(np.int64)
                      for k in range(1, 5))
    bad = (bidx < 0) | (bidx >= n)
    rh = np.maximum(eh - sh + 1, 1)
    rw = np.maximum(ew - sw + 1, 1)
    hlo, hhi = _window_bounds(sh, rh.astype(dt) / dt.type(ph), ph, h, dt)
    wlo, whi = _window_bounds(sw, rw.astype(dt) / dt.type(pw), pw, w, dt)
    hn, wn = hhi - hlo, whi - wlo
    empty = (hn <= 0)[:, :, None] | (wn <= 0)[:, None, :] | bad[:, None, None]
    out = np.full((r.shape[0], ph, pw, c), dt.type(-np.finfo(F32).max), dt)
    idx_t = np.int32 if h * w < 2 ** 31 else np.int64
    arg = np.full(out.shape, -1, idx_t)  # spatial position (y * W + x) of the max
    base = np.clip(bidx, 0, max(n - 1, 0))[:, None, None] * (h * w)
    better = np.empty(out.shape, bool)
    for dh in range(int(hn.max(initial=0))):  # scan each window in MXNet's order
        y = np.minimum(hlo + dh, h - 1)[:, :, None]
        for dw in range(int(wn.max(initial=0))):
            ok = (dh < hn)[:, :, None] & (dw < wn)[:, None, :] & ~empty
            pos = y * w + np.minimum(wlo + dw, w - 1)[:, None, :]
            v = rows[base + pos]
            np.greater(v, out, out=better)
            better &= ok[..., None]
            np.copyto(out, v, where=better)
            np.copyto(arg, pos.astype(idx_t)[..., None], where=better)
    out = np.where(empty[..., None], dt.type(0), out)
    # MXNet's argmax: the flat index into data
    chan = (np.clip(bidx, 0, max(n - 1, 0))[:, None, None, None] * c + np.arange(c)) * (h * w)
    arg = np.where(empty[..., None] | (arg < 0), -1, chan + arg)
    return out.transpose(0, 3, 1, 2), arg.transpose(0, 3, 1, 2)


def _roi_pool_backward(attrs, out_grads, inputs, outputs, ctx):
    data, rois = inputs
    arg = ctx.saved.get("argmax")
    if arg is None:
        arg = outputs[1].astype(np.int64)
    hit = arg >= 0
    g = np.bincount(arg[hit], out_grads[0][hit].astype(np.float64), minlength=data.size)
    return [g.astype(data.dtype).reshape(data.shape),
            np.zeros_like(rois) if ctx.wants(1) else None]


declare(
    "ROIPooling", "_npx_roi_pooling",
    params={"pooled_size": P(SHAPE), "spatial_scale": P(FLOAT)},
    inputs=("data", "rois"), outputs=("output", "maxidx"), num_visible_outputs=1,
    infer_shape=_roi_pool_shape, infer_type=_same_dtype_inputs,
    forward=_roi_pool_forward, backward=_roi_pool_backward,
    doc="Max pooling of regions of interest to a fixed size (Fast R-CNN).",
)


def _psroi_check(attrs: Attrs) -> int:
    _scale_check(attrs)
    if attrs.pooled_size < 1:
        raise fail(attrs, f"pooled_size must be positive, got {attrs.pooled_size}")
    if attrs.output_dim < 1:
        raise fail(attrs, f"output_dim must be positive, got {attrs.output_dim}")
    if attrs.group_size < 0:
        raise fail(attrs, f"group_size must not be negative, got {attrs.group_size}")
    return attrs.group_size or attrs.pooled_size


def _psroi_shape(attrs: Attrs, ins: list, outs: list):
    gs = _psroi_check(attrs)
    dr = _roi_inputs_shape(attrs, ins)
    if dr is None:
        return ins, outs
    (n, c, h, w), (r, _) = dr
    if c and c < attrs.output_dim * gs * gs:
        raise fail(attrs, f"data has {c} channels but output_dim * group_size^2 = "
                          f"{attrs.output_dim * gs * gs} are read")
    ps = attrs.pooled_size
    assign(attrs, outs, 0, (r, attrs.output_dim, ps, ps), ["output"])
    return ins, outs


def _psroi_plan(attrs, data_shape, rois, dt):
    gs = _psroi_check(attrs)
    n, c, h, w = data_shape
    if c < attrs.output_dim * gs * gs:
        raise fail(attrs, f"data has {c} channels but output_dim * group_size^2 = "
                          f"{attrs.output_dim * gs * gs} are read")
    ps = attrs.pooled_size
    r = rois.astype(dt, copy=False)
    scale = dt.type(_f32(attrs.spatial_scale))
    bidx = r[:, 0].astype(np.int64)
    live = (bidx >= 0) & (bidx < n)
    sw = _round_away(r[:, 1]) * scale
    sh = _round_away(r[:, 2]) * scale
    ew = (_round_away(r[:, 3]) + dt.type(1)) * scale
    eh = (_round_away(r[:, 4]) + dt.type(1)) * scale
    tenth = dt.type(_f32(0.1))
    bin_h = np.maximum(eh - sh, tenth) / dt.type(ps)
    bin_w = np.maximum(ew - sw, tenth) / dt.type(ps)
    k = np.arange(ps)
    hlo = np.floor(k.astype(dt)[None] * bin_h[:, None] + sh[:, None]).astype(np.int64)
    hhi = np.ceil((k + 1).astype(dt)[None] * bin_h[:, None] + sh[:, None]).astype(np.int64)
    wlo = np.floor(k.astype(dt)[None] * bin_w[:, None] + sw[:, None]).astype(np.int64)
    whi = np.ceil((k + 1).astype(dt)[None] * bin_w[:, None] + sw[:, None]).astype(np.int64)
    hlo, hhi = np.clip(hlo, 0, h), np.clip(hhi, 0, h)
    wlo, whi = np.clip(wlo, 0, w), np.clip(whi, 0, w)
    hn, wn = hhi - hlo, whi - wlo
    empty = (hn <= 0)[:, :, None] | (wn <= 0)[:, None, :] | ~live[:, None, None]
    grp = np.clip(np.floor(k.astype(dt) * dt.type(gs) / dt.type(ps)).astype(np.int64), 0, gs - 1)
    chan = ((np.arange(attrs.output_dim)[:, None, None] * gs + grp[None, :, None]) * gs
            + grp[None, None, :])
    base = (np.clip(bidx, 0, n - 1)[:, None, None, None] * c + chan[None]) * h
    area = (hn[:, :, None] * wn[:, None, :]).astype(dt)
    return hlo, wlo, hn, wn, empty, base, area


def _psroi_windows(plan, w):
    hlo, wlo, hn, wn, empty, base, _ = plan
    h_cap = np.maximum(hlo + hn - 1, 0)
    w_cap = np.maximum(wlo + wn - 1, 0)
    for dh in range(int(hn.max(initial=0))):
        for dw in range(int(wn.max(initial=0))):
            ok = (dh < hn)[:, :, None] & (dw < wn)[:, None, :] & ~empty
            y = np.minimum(hlo + dh, h_cap)
            x = np.minimum(wlo + dw, w_cap)
            yield ok[:, None], (base + y[:, None, :, None]) * w + x[:, None, None, :]


def _psroi_forward(attrs, inputs, ctx):
    data, rois = inputs
    per_roi = attrs.output_dim * attrs.pooled_size ** 2
    return [np.concatenate([_psroi_part(attrs, data, rois[part])
                            for part in _roi_chunks(rois.shape[0], per_roi)])]


def _psroi_part(attrs, data, rois):
    dt = data.dtype
    plan = _psroi_plan(attrs, data.shape, rois, dt)
    flat = data.reshape(-1)
    ps = attrs.pooled_size
    acc = np.zeros((rois.shape[0], attrs.output_dim, ps, ps), dt)
    for ok, idx in _psroi_windows(plan, data.shape[3]):
        acc += np.where(ok, flat[idx], dt.type(0))
    empty, area = plan[4], plan[6]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(empty[:, None], dt.type(0), acc / area[:, None])
    return out.astype(dt, copy=False)


def _psroi_backward(attrs, out_grads, inputs, outputs, ctx):
    data, rois = inputs
    dt = data.dtype
    acc = _ScatterAdd(data.size, dt)
    top = out_grads[0].astype(dt, copy=False)
    for part in _roi_chunks(rois.shape[0], attrs.output_dim * attrs.pooled_size ** 2):
        plan = _psroi_plan(attrs, data.shape, rois[part], dt)
        empty, area = plan[4], plan[6]
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(empty[:, None], dt.type(0), top[part] / area[:, None])
        for ok, idx in _psroi_windows(plan, data.shape[3]):
            acc.add(idx[np.broadcast_to(ok, idx.shape)], diff[np.broadcast_to(ok, diff.shape)])
    return [acc.result(data.shape), np.zeros_like(rois) if ctx.wants(1) else None]


declare(
    "_contrib_PSROIPooling",
    params={"spatial_scale": P(FLOAT), "output_dim": P(INT), "pooled_size": P(INT),
            "group_size": P(INT, 0)},
    inputs=("data", "rois"), infer_shape=_psroi_shape, infer_type=_same_dtype_inputs,
    forward=_psroi_forward, backward=_psroi_backward,
    doc="Position-sensitive average ROI pooling (R-FCN).",
)
