"""MXNet 1.9.1's slicing (``slice``/``crop``, ``slice_axis``, ``slice_like``), ``reverse``/``flip``,
``pick`` and ``tile`` (and ``diag``, ``depth_to_space``, ``space_to_depth``, ``gather_nd``
refusals) against MXNet's answers recorded by tests/fixtures/gen_tensor_compat.py into
tests/data/tensor_compat/: the argument forms MXNet accepts (``None`` and negative bounds,
negative and repeated axes, out-of-range and fractional pick indices, reps of 0 under
``np_shape``) give MXNet's values and gradients, and the ones it refuses raise MXNetError
naming the operator and the argument."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "tensor_compat"
_DOC = json.loads((DATA / "cases.json").read_text())
CASES = _DOC["cases"]

# The argument each refusal must name (besides the operator).
ARG = {
    "slice_step0": "step", "slice_too_long": "begin", "slice_len_mismatch": "begin",
    "slice_axis_empty": "begin", "slice_axis_end_past": "end",
    "slice_axis_begin_before": "begin", "slice_axis_bad_axis": "axis",
    "slice_like_bigger": "shape_like", "slice_like_rank": "shape_like",
    "slice_like_bad_axis": "axes", "flip_neg_axis": "axis", "flip_axis_past": "axis",
    "tile_zero": "reps", "tile_zero_short": "reps", "tile_negative": "reps",
    "tile_negative_np": "reps", "diag_k_past": "k", "diag_k_neg_past": "k",
    "diag_3d_k_past": "k", "d2s_block0": "block_size", "d2s_depth": "block_size",
    "d2s_zero_space": "data", "d2s_zero_depth": "data", "d2s_3d": "data",
    "s2d_block0": "block_size", "s2d_space": "block_size", "s2d_space2": "block_size",
    "s2d_zero_depth": "data", "gather_nd_past": "indices", "gather_nd_before": "indices",
    "gather_nd_axis0": "indices",
}


@pytest.fixture(scope="module")
def arrays() -> dict:
    with np.load(DATA / "arrays.npz") as z:
        return {k: z[k] for k in z.files}


def _kwargs(rec: dict) -> dict:
    # JSON has lists where the generator passed tuples.
    return {k: tuple(v) if isinstance(v, list) else v for k, v in rec["kwargs"].items()}


def _call(cid: str, arrays: dict, record: bool = True):
    """Run case ``cid`` as the generator ran it in MXNet: the output and, if recorded, the
    gradients of ``out.backward(head)``."""
    rec = CASES[cid]
    with mx.util.np_shape(rec["np_shape"]):
        nds = {n: mx.nd.array(arrays[f"{cid}/{n}"], dtype=arrays[f"{cid}/{n}"].dtype)
               for n in rec["inputs"]}
        grads = rec["grad"] if record and "error" not in rec else []
        for n in grads:
            nds[n].attach_grad()
        with mx.autograd.record():
            out = getattr(mx.nd, rec["op"])(*nds.values(), **_kwargs(rec))
        if grads:
            out.backward(mx.nd.array(arrays[f"{cid}/head"]))
        return out.asnumpy(), {n: nds[n].grad.asnumpy() for n in grads}


VALUE_CASES = [c for c in CASES if "error" not in CASES[c]]
ERROR_CASES = [c for c in CASES if "error" in CASES[c]]


@pytest.mark.parametrize("cid", VALUE_CASES)
def test_values_and_gradients(cid, arrays):
    rec = CASES[cid]
    out, grads = _call(cid, arrays)
    want = arrays[f"{cid}/out"]
    assert out.shape == tuple(rec["shape"])
    assert out.dtype == want.dtype
    # Slicing, reversing, picking, tiling and gathering copy values: exact.
    np.testing.assert_array_equal(out, want)
    for n, g in grads.items():
        # Gradients are copies of the head gradient, or (tile, gather_nd) sums of a few
        # float32 copies, whose order of addition may differ from MXNet's: 1e-6 relative.
        np.testing.assert_allclose(g, arrays[f"{cid}/d_{n}"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cid", ERROR_CASES)
def test_refusals(cid, arrays):
    rec = CASES[cid]
    want = IndexError if rec["error"] == "IndexError" else MXNetError
    with pytest.raises(want) as info:
        _call(cid, arrays)
    assert isinstance(info.value, MXNetError)
    msg = str(info.value)
    op = mx.ops.registry.get(rec["op"]).name
    assert f"operator {op}" in msg or f"({op})" in msg, msg
    assert ARG[cid] in msg, msg


def test_flip_repeated_axes_cancel(arrays):
    # MXNet reverses once per listed axis: (1, 1) is the identity, (1, 1, 1) flips axis 1.
    x = arrays["flip_twice/data"]
    np.testing.assert_array_equal(mx.nd.flip(mx.nd.array(x), axis=(1, 1)).asnumpy(), x)
    np.testing.assert_array_equal(arrays["flip_twice/out"], x)
    np.testing.assert_array_equal(arrays["flip_thrice/out"], arrays["flip_thrice/data"][:, ::-1])
    np.testing.assert_array_equal(mx.nd.flip(mx.nd.array(arrays["flip_thrice/data"]),
                                             axis=(1, 1, 1)).asnumpy(),
                                  arrays["flip_thrice/out"])


def test_tile_zero_reps_need_np_shape(arrays):
    # Legacy shapes read a 0 dim as unknown: MXNet's imperative tile fails to infer the
    # output; under np_shape the same call gives an empty array of the tiled shape.
    x = mx.nd.array(arrays["tile_zero/data"])
    with pytest.raises(MXNetError, match=r"operator tile.*reps"):
        mx.nd.tile(x, reps=(1, 0, 3))
    with mx.util.np_shape(True):
        y = mx.nd.tile(x, reps=(1, 0, 3))
    assert y.shape == tuple(CASES["tile_zero_np"]["shape"]) == (1, 0, 12)


@pytest.mark.parametrize("reps", ["1,0,3", "2,1,3", "1,2,-3"])
def test_tile_infer_shape_partial(reps):
    rec = _DOC["tile_infer_shape_partial"][reps]
    s = mx.sym.tile(mx.sym.var("x"), reps=tuple(int(r) for r in reps.split(",")))
    if "error" in rec:
        with pytest.raises(MXNetError, match=r"operator tile.*reps"):
            s.infer_shape_partial(x=(4, 4))
        return
    arg, out, _ = s.infer_shape_partial(x=(4, 4))
    assert [list(a) for a in arg] == rec["arg"]
    assert [list(o) for o in out] == rec["out"]  # (1, 0, 12): the 0 dim stays unknown


def test_pick_fractional_indices_truncate(arrays):
    # MXNet truncates float indices toward zero before clipping or wrapping: -0.5 -> 0,
    # -1.5 -> -1 (clip: 0, wrap: 2), 4.2 -> 4 (clip: 2, wrap: 1).
    out, _ = _call("pick_wrap_frac_drop", arrays, record=False)
    data = arrays["pick_wrap_frac_drop/data"]
    idx = np.trunc(arrays["pick_wrap_frac_drop/index"]).astype(np.int64) % 3
    want = np.take_along_axis(data, idx[:, None, :], axis=1)[:, 0, :]
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(out, arrays["pick_wrap_frac_drop/out"])
