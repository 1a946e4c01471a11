"""The optional compiled kernels (ops/_jit.py, numba) against the numpy path they replace.

Each kernel is reached through the public sliding-window entry points of ``ops/_window.py``
with the switch on and off (``_window.set_jit``), on odd sizes, strides, padding and
dilation. The kernels keep numpy's summation order, so copies (im2col), max pooling and the
depthwise convolution must agree exactly; sums through BLAS (split GEMMs) within float32
rounding (rtol 1e-5). Also: ``MXLITE_JIT=0`` and ``import mxlite`` leave numba unloaded, and
an executor's fused Convolution-BatchNorm-clip step gives the same outputs either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import mxlite as mx
from mxlite.ops import _window as W

numba = pytest.importorskip("numba")

RELU = (np.float32(0), np.float32(np.inf))
RELU6 = (np.float32(0), np.float32(6))


@pytest.fixture
def both():
    """Runs ``fn`` with the compiled kernels off then on; returns both results."""
    def run(fn):
        W.set_jit(False)
        try:
            ref = fn()
        finally:
            W.set_jit(True)
        assert W.jit() is not None
        try:
            got = fn()
        finally:
            W.set_jit(None)
        return ref, got
    yield run
    W.set_jit(None)


def _rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _channels_last_view(x: np.ndarray) -> np.ndarray:
    """The channel-first view of channels-last memory that convolutions hand on."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)).transpose(0, 3, 1, 2)


DEPTHWISE = [  # (N, C, H, W), kernel, stride, pad, dilate
    ((1, 32, 15, 15), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 19, 13, 11), (3, 3), (2, 2), (1, 1), (1, 1)),
    ((1, 7, 9, 12), (3, 3), (1, 2), (0, 1), (1, 1)),
    ((2, 5, 10, 9), (3, 3), (2, 1), (2, 0), (2, 1)),
    ((1, 16, 8, 8), (5, 5), (1, 1), (2, 2), (1, 2)),
    ((1, 3, 5, 5), (1, 3), (3, 1), (0, 4), (1, 1)),
    ((1, 8, 2, 2), (3, 3), (1, 1), (0, 0), (1, 1)),  # no output pixel: numpy path
    ((1, 200, 9, 7), (3, 3), (1, 1), (1, 1), (1, 1)),  # many channels: a loop per pixel
    ((1, 40, 48, 48), (3, 3), (1, 1), (1, 1), (1, 1)),  # rows shared among the threads
    ((1, 256, 20, 20), (3, 3), (2, 2), (1, 1), (1, 1)),
    ((1, 24, 11, 13), (3, 3), (1, 1), (2, 2), (2, 2)),  # 3x3 interior pass, dilated
    ((1, 200, 12, 12), (3, 3), (1, 2), (1, 1), (1, 1)),  # interior pass, uneven strides
]


@pytest.mark.parametrize("shape,kernel,stride,pad,dilate", DEPTHWISE)
@pytest.mark.parametrize("epi", ["none", "bias", "scale_bias_relu6", "relu"])
def test_depthwise_matches_numpy(both, shape, kernel, stride, pad, dilate, epi):
    n, c, h, w_ = shape
    x = _rand(shape, 1)
    w = _rand((c, 1, *kernel), 2)
    b = _rand((c,), 3) if epi != "none" else None
    scale = np.abs(_rand((c,), 4)) + np.float32(0.5) if "scale" in epi else None
    act = RELU6 if "relu6" in epi else RELU if epi == "relu" else None
    ref, got = both(lambda: W.conv_forward(x, w, b, stride, pad, dilate, c, scale=scale,
                                           act=act))
    assert got.shape == ref.shape == (n, c, *(W.conv_out_size(s, k, st, p, d) for s, k, st, p, d
                                              in zip((h, w_), kernel, stride, pad, dilate)))
    np.testing.assert_array_equal(got, ref)


def test_depthwise_float64_and_channels_last_input(both):
    x = _channels_last_view(_rand((2, 24, 17, 17), 5, np.float64))
    w = _rand((24, 1, 3, 3), 6, np.float64)
    b = _rand((24,), 7, np.float64)
    ref, got = both(lambda: W.conv_forward(x, w, b, (2, 2), (1, 1), (1, 1), 24))
    assert got.shape == (2, 24, 9, 9) and got.dtype == np.float64
    np.testing.assert_array_equal(got, ref)


def test_depthwise_against_direct_sum(both):
    # Both paths against a plain per-tap sum over the zero-padded input.
    x = _rand((1, 6, 7, 8), 8)
    w = _rand((6, 1, 3, 3), 9)
    b = _rand((6,), 10)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.zeros((1, 6, 4, 4), np.float64)
    for a in range(3):
        for t in range(3):
            want += xp[:, :, a:a + 7:2, t:t + 8:2] * w[None, :, 0, a, t, None, None]
    want = np.clip(want + b[None, :, None, None], 0, 6)
    ref, got = both(lambda: W.conv_forward(x, w, b, (2, 2), (1, 1), (1, 1), 6, act=RELU6))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got, ref)


IM2COL = [  # (N, C, H, W), kernel, stride, pad, dilate
    ((2, 16, 9, 11), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 17, 12, 7), (3, 2), (2, 1), (0, 2), (1, 2)),
    ((3, 32, 6, 6), (1, 1), (2, 2), (1, 0), (1, 1)),
    ((1, 16, 5, 5), (5, 5), (1, 1), (3, 3), (2, 2)),
]


@pytest.mark.parametrize("shape,kernel,stride,pad,dilate", IM2COL)
def test_im2col_matches_numpy(both, shape, kernel, stride, pad, dilate):
    x = _channels_last_view(_rand(shape, 11))
    ref, got = both(lambda: W._im2col(x, kernel, stride, pad, dilate))
    assert got[1] == ref[1]
    assert got[0].shape == ref[0].shape == (shape[0] * int(np.prod(ref[1])),
                                            kernel[0] * kernel[1] * shape[1])
    np.testing.assert_array_equal(got[0], ref[0])


@pytest.mark.parametrize("shape,kernel,stride,pad,dilate", [
    ((1, 3, 15, 13), (3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 5, 9, 11), (3, 2), (1, 2), (2, 0), (2, 1)),
    ((1, 3, 120, 120), (3, 3), (2, 2), (1, 1), (1, 1)),  # rows shared among the threads
])
def test_im2col_from_channel_first_matches_numpy(both, shape, kernel, stride, pad, dilate):
    x = _rand(shape, 26)  # few channels, channel-first memory: gathered as it lies
    ref, got = both(lambda: W._im2col(x, kernel, stride, pad, dilate))
    assert got[1] == ref[1]
    np.testing.assert_array_equal(got[0], ref[0])


@pytest.mark.parametrize("shape,kernel,stride,pad,dilate", IM2COL)
@pytest.mark.parametrize("act", [None, RELU])
def test_conv_forward_matches_numpy(both, shape, kernel, stride, pad, dilate, act):
    # Ungrouped convolutions: im2col, split GEMM and fused epilogue on the compiled side.
    c = shape[1]
    x = _rand(shape, 12)
    for f in (8, 600):  # a wide layer takes the filters-first route
        w = _rand((f, c, *kernel), 13) * np.float32(0.1)
        b = _rand((f,), 14)
        scale = np.abs(_rand((f,), 15)) + np.float32(0.5)
        ref, got = both(lambda w=w, b=b, scale=scale: W.conv_forward(
            x, w, b, stride, pad, dilate, scale=scale, act=act))
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_grouped_conv_matches_numpy(both):
    x = _rand((2, 16, 9, 9), 16)
    w = _rand((8, 4, 3, 3), 17)
    b = _rand((8,), 18)
    ref, got = both(lambda: W.conv_forward(x, w, b, (1, 1), (1, 1), (1, 1), 4, act=RELU6))
    assert got.shape == ref.shape == (2, 8, 9, 9)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_big_gemm_split_matches_numpy(both):
    # Over SPLIT_GEMM_MACS: row blocks on the kernels' threads, one BLAS thread each.
    a = _rand((1003, 300), 19)
    b = _rand((300, 257), 20)
    assert a.shape[0] * a.shape[1] * b.shape[1] >= W.SPLIT_GEMM_MACS
    ref, got = both(lambda: W.gemm(a, b))
    assert got.shape == (1003, 257)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 24, 20, 20), (1, 64, 14, 14), (2, 32, 12, 12)])
def test_pointwise_conv_either_memory_order(both, shape):
    # 1x1 convolutions read channel-first or channels-last memory without copying it, on
    # the pixel-rows and the filters-first routes (few and many filters).
    x_first = _rand(shape, 30)
    for x in (x_first, _channels_last_view(x_first)):
        for f in (16, 400):
            w = _rand((f, shape[1], 1, 1), 31) * np.float32(0.2)
            scale = np.abs(_rand((f,), 32)) + np.float32(0.5)
            b = _rand((f,), 33)
            ref, got = both(lambda x=x, w=w, scale=scale, b=b: W.conv_forward(
                x, w, b, (1, 1), (0, 0), (1, 1), scale=scale, act=RELU6))
            want = np.einsum("nchw,fc->nfhw", x.astype(np.float64), w[:, :, 0, 0]) \
                * scale[:, None, None] + b[:, None, None]
            np.testing.assert_allclose(got, np.clip(want, 0, 6), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("along_rows", [True, False])
def test_fused_gemm_epilogue_matches_numpy(both, along_rows):
    # Over FUSED_GEMM_MACS: each thread's GEMM rows and their epilogue in one task.
    a = _rand((700, 96), 34)
    b = _rand((96, 130), 35)
    f = b.shape[1] if along_rows else a.shape[0]
    scale = np.abs(_rand((f,), 36)) + np.float32(0.5)
    bias = _rand((f,), 37)
    assert a.shape[0] * a.shape[1] * b.shape[1] >= W.FUSED_GEMM_MACS
    for args in ((scale, bias, RELU6), (None, None, None), (None, bias, RELU)):
        ref, got = both(lambda args=args: W.gemm_epilogue(a, b, *args, along_rows=along_rows))
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


EXPAND = [  # (N, C, H, W), expanded channels, filters out, depthwise stride, pad, dilate
    ((1, 16, 20, 20), 96, 24, (1, 1), (1, 1), (1, 1)),
    ((1, 16, 23, 21), 96, 24, (2, 2), (1, 1), (1, 1)),
    ((2, 8, 15, 13), 48, 16, (2, 1), (1, 1), (1, 1)),  # blocks cross images
    ((1, 24, 12, 12), 200, 32, (1, 1), (1, 1), (1, 1)),  # many channels: untiled taps
    ((1, 12, 17, 17), 40, 8, (1, 1), (2, 2), (2, 2)),  # dilated
    ((1, 12, 16, 16), 40, 8, (2, 2), (0, 0), (1, 1)),  # no padding
    ((1, 32, 14, 14), 64, 400, (2, 2), (1, 1), (1, 1)),  # few pixels: filters first
    ((1, 40, 9, 9), 240, 56, (1, 1), (1, 1), (1, 1)),  # threads share channels, 7x7 route
    ((1, 20, 6, 6), 60, 30, (1, 1), (1, 1), (1, 1)),  # little work: the separate calls
]


@pytest.mark.parametrize("shape,ce,f,stride,pad,dilate", EXPAND)
@pytest.mark.parametrize("epi", ["all", "some"])
def test_expand_depthwise_pointwise_matches_numpy(both, shape, ce, f, stride, pad, dilate,
                                                  epi):
    # The fused expand -> depthwise -> project step against the numpy path's three calls,
    # from channel-first and channels-last input.
    cin = shape[1]
    we = _rand((ce, cin, 1, 1), 50) * np.float32(0.3)
    wd = _rand((ce, 1, 3, 3), 51) * np.float32(0.3)
    wp = _rand((f, ce, 1, 1), 52) * np.float32(0.3)
    se, sd, sp = (np.abs(_rand((n,), 53 + n)) + np.float32(0.5) for n in (ce, ce, f))
    be, bd, bp = (_rand((n,), 60 + n) for n in (ce, ce, f))
    if epi == "some":  # no scale or bias on the expansion, ReLU after the projection
        se = be = sd = None
        acts = (RELU6, None, RELU)
    else:
        acts = (RELU6, RELU6, None)
    x_first = _rand(shape, 54)
    memo: dict = {}  # shared by both layouts and both paths, as an executor step's
    for x in (x_first, _channels_last_view(x_first)):
        def run(x=x):
            return W.expand_depthwise_pointwise(x, we, se, be, acts[0], wd, stride, pad,
                                                dilate, ce, sd, bd, acts[1], wp, sp, bp,
                                                acts[2], memo)

        def separate(x=x):
            ones, zeros = (1, 1), (0, 0)
            y = W.conv_forward(x, we, be, ones, zeros, ones, 1, se, acts[0])
            y = W.conv_forward(y, wd, bd, stride, pad, dilate, ce, sd, acts[1])
            return W.conv_forward(y, wp, bp, ones, zeros, ones, 1, sp, acts[2])

        ref, got = both(run)
        assert got.shape == ref.shape == separate().shape
        np.testing.assert_array_equal(ref, separate())  # numpy path: the same three calls
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,ce", [((1, 24, 20, 20), 96), ((2, 8, 15, 13), 48),
                                      ((1, 32, 7, 7), 64),  # separate calls (little work)
                                      ((1, 24, 14, 14), 144),  # threads share channels
                                      ((1, 32, 7, 7), 192)])  # ... and filters first
def test_expand_depthwise_pointwise_residual(both, shape, ce):
    # The block's shortcut added to each thread's rows equals the separate add.
    cin = shape[1]
    we = _rand((ce, cin, 1, 1), 80) * np.float32(0.3)
    wd = _rand((ce, 1, 3, 3), 81) * np.float32(0.3)
    wp = _rand((cin, ce, 1, 1), 82) * np.float32(0.3)
    se, be, sd, bd, sp, bp = (_rand((n,), 83 + i) for i, n in
                              enumerate((ce, ce, ce, ce, cin, cin)))
    x_first = _rand(shape, 84)
    for x in (x_first, _channels_last_view(x_first)):
        def run(residual, x=x):
            return W.expand_depthwise_pointwise(x, we, se, be, RELU6, wd, (1, 1), (1, 1),
                                                (1, 1), ce, sd, bd, RELU6, wp, sp, bp, None,
                                                {}, residual)

        ref, got = both(lambda: run(True))
        plain_ref, plain = both(lambda: run(False))
        np.testing.assert_array_equal(ref, plain_ref + x)
        np.testing.assert_array_equal(got, plain + x)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride,tiled", [(2, False), (1, True), (1, False)])
def test_depthwise_band_matches_whole_rows(stride, tiled):
    # A band of input and output rows given with their offsets gives the whole kernel's rows.
    from mxlite.ops import _jit
    n, h, wd_, c = 2, 11, 9, 40
    oh, ow = (h - 1) // stride + 1, (wd_ - 1) // stride + 1
    x = _rand((n * h, wd_ * c), 70)
    w = _rand((c, 3, 3), 71)
    scale, bias = _rand((c,), 72), _rand((c,), 73)
    geo = (oh, c, stride, stride, 1, 1, 1, 1, np.float32(0), np.float32(6))
    y = np.empty((n * oh, ow * c), np.float32)
    _jit.depthwise2d(0, n * oh, x, w, scale, bias, y, *geo, True, True, True, tiled)
    wk, wrow = _jit.taps(w, scale, True, ow, tiled)
    r0, r1 = oh + 1, oh + 4  # output rows 1-3 of the second image
    lo, hi = stride - 1, 3 * stride + 2  # the input rows they read
    yb = np.full((r1 - r0, ow * c), np.nan, np.float32)
    _jit.depthwise2d_band(r0, r1, x[h + lo:h + hi], h + lo, h, wk, wrow, bias, yb, r0, *geo,
                          True, True, tiled)
    np.testing.assert_array_equal(yb, y[r0:r1])


@pytest.mark.parametrize("fix_gamma,bias", [(False, True), (True, False)])
def test_batchnorm_fold_matches_numpy(both, fix_gamma, bias):
    from mxlite.ops import nn
    from mxlite.ops.registry import get
    attrs = get("BatchNorm").parse_attrs({"eps": "1e-3", "fix_gamma": str(fix_gamma)})
    stats = [_rand((37,), 40 + i) for i in range(4)]
    stats[3] = np.abs(stats[3])
    stats[3][5] = 0  # eps alone under the root
    b = _rand((37,), 45) if bias else None
    ref, got = both(lambda: nn._batchnorm_fold(attrs, stats, b, np.dtype(np.float32)))
    for r, g in zip(ref, got):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, r)


def test_team_runs_every_block_once_and_reraises():
    W.set_jit(True)
    try:
        seen = []
        W._in_parallel(lambda r0, r1: seen.extend(range(r0, r1)), 1000)
        assert sorted(seen) == list(range(1000))

        def boom(r0, r1):
            if r0 == 0:
                time.sleep(0.005)  # the caller's block: a worker takes the last one
            if r1 == 10:
                raise KeyError("last block")

        team = W._TEAM[0]
        for _ in range(5):  # whichever thread ran the block, the caller sees the error
            team.skip = 0
            with pytest.raises(KeyError):
                W._in_parallel(boom, 10)
        seen.clear()
        W._in_parallel(lambda r0, r1: seen.extend(range(r0, r1)), 10)  # the team still works
        assert sorted(seen) == list(range(10))
    finally:
        W.set_jit(None)


def test_team_many_small_tasks_in_a_row():
    # Workers that wake late, tasks the caller finishes alone, blocks of uneven length: every
    # block runs exactly once and nothing waits forever (in a child, under a timeout).
    code = ("import random, time\n"
            "from mxlite.ops import _window as W\n"
            "W.set_jit(True)\n"
            "rng = random.Random(0)\n"
            "for k in range(3000):\n"
            "    seen = []\n"
            "    def fn(r0, r1):\n"
            "        if rng.random() < 0.01:\n"
            "            time.sleep(0.0005)\n"
            "        seen.extend(range(r0, r1))\n"
            "    rows = rng.randint(2, 9)\n"
            "    W._in_parallel(fn, rows)\n"
            "    assert sorted(seen) == list(range(rows)), (k, seen)\n"
            "    if k % 500 == 0:\n"
            "        time.sleep(0.002)  # the worker goes to sleep\n"
            "print('ok')")
    assert _run(code) == "ok"


def test_team_compiled_tasks_with_handshake_in_a_row():
    # Compiled tasks (published from compiled code, acknowledged by the worker, its blocks
    # posted before it polls again) between Python stretches of every length, with workers
    # polling, asleep, or late: each task's rows all computed, nothing waits forever.
    code = ("import random, time, numpy as np\n"
            "from mxlite.ops import _window as W\n"
            "W.set_jit(True)\n"
            "rng = random.Random(1)\n"
            "a = np.random.default_rng(2).standard_normal((64, 24)).astype(np.float32)\n"
            "b = np.random.default_rng(3).standard_normal((24, 40)).astype(np.float32)\n"
            "bias = np.ones(40, np.float32)\n"
            "want = a @ b + bias\n"
            "jm, dt = W.jit(), np.dtype(np.float32)\n"
            "z = np.zeros(1, dt)\n"
            "for k in range(2000):\n"
            "    out = np.full((64, 40), np.nan, np.float32)\n"
            "    n = rng.randint(2, 64)\n"
            "    W._blas_task(jm.gemm_epilogue_rows, n, dt, a, b, out, z, bias, dt.type(0),\n"
            "                 dt.type(0), False, True, False, True)\n"
            "    assert np.allclose(out[:n], want[:n], atol=1e-4), k\n"
            "    assert np.isnan(out[n:]).all(), k\n"
            "    pause = rng.choice((0, 0, 2e-5, 1e-4, 5e-4))\n"
            "    t = time.perf_counter()\n"
            "    while time.perf_counter() - t < pause:\n"
            "        pass  # Python holding the GIL\n"
            "    if k % 400 == 0:\n"
            "        time.sleep(0.002)  # the worker goes to sleep\n"
            "print(W._TEAM[0].flags[0] > 0)")
    assert _run(code) == "True"


def test_team_shared_by_threads():
    # Callers on several threads at once: one uses the team, the others run alone.
    import threading
    W.set_jit(True)
    try:
        jm = W.jit()
        x = _rand((1, 16, 64, 64), 46)
        want = np.empty((1, 32, 32, 16), np.float32)
        jm.maxpool2d(0, 32, x, want, 3, 3, 2, 2, 1, 1, np.float32(-np.inf))
        errors = []

        def work():
            try:
                for _ in range(30):
                    y = np.empty_like(want)
                    W._in_parallel(jm.maxpool2d, 32, x, y, 3, 3, 2, 2, 1, 1,
                                   np.float32(-np.inf))
                    np.testing.assert_array_equal(y, want)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
    finally:
        W.set_jit(None)


POOL = [  # (N, C, H, W), kernel, stride, pad, convention
    ((2, 16, 13, 13), (3, 3), (2, 2), (1, 1), "valid"),
    ((1, 5, 10, 7), (3, 2), (2, 3), (0, 1), "full"),
    ((1, 9, 11, 12), (2, 2), (2, 2), (0, 0), "same"),
    ((1, 4, 3, 3), (3, 3), (3, 3), (2, 2), "full"),  # windows of padding alone: lowest value
    ((2, 3, 8, 8), (1, 1), (1, 1), (0, 0), "valid"),
]


@pytest.mark.parametrize("shape,kernel,stride,pad,convention", POOL)
def test_max_pool_matches_numpy(both, shape, kernel, stride, pad, convention):
    x = _rand(shape, 21)
    x[0, 0, 0, 0] = np.nan  # in the first window: NaN propagates through max on both paths
    ref, got = both(lambda: W.pool_forward(x, "max", kernel, stride, pad, convention))
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got).any()


@pytest.mark.parametrize("along_rows", [True, False])
@pytest.mark.parametrize("scale,bias,act", [(True, True, RELU6), (False, True, None),
                                            (True, False, RELU), (False, False, RELU6)])
def test_epilogue_matches_numpy(both, along_rows, scale, bias, act):
    y = _rand((70, 90), 22) * np.float32(8)
    y[3, 4] = np.nan
    f = y.shape[1] if along_rows else y.shape[0]
    s = np.abs(_rand((f,), 23)) if scale else None
    b = _rand((f,), 24) if bias else None
    ref, got = both(lambda: W._epilogue(y.copy(), s, b, act, along_rows))
    np.testing.assert_array_equal(got, ref)


def test_row_split_is_exact(both):
    # The kernels' results do not depend on how rows are shared among threads.
    W.set_jit(True)
    jm = W.jit()
    x = _rand((1, 12, 20, 16), 25)
    y1, y2 = (np.empty((1, 10, 10, 16), np.float32) for _ in range(2))
    args = (x, 3, 3, 2, 2, 1, 1, np.float32(-np.inf))
    jm.maxpool2d(0, 10, x, y1, *args[1:])
    W._in_parallel(jm.maxpool2d, 10, x, y2, *args[1:])
    np.testing.assert_array_equal(y1, y2)


def test_uncachable_location_compiles_without_cache(monkeypatch):
    from mxlite.ops import _jit
    calls = []

    def fake_njit(**kw):
        calls.append(kw)
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available")
        return lambda fn: fn

    monkeypatch.setattr(_jit.numba, "njit", fake_njit)
    fn = _jit._njit(nogil=True)(len)
    assert fn is len
    assert calls == [{"cache": True, "nogil": True}, {"nogil": True}]


def test_executor_fused_step_same_either_way(both):
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, num_filter=12, kernel=(3, 3), pad=(1, 1), no_bias=True,
                             name="c1")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="bn1")
    net = mx.sym.clip(net, a_min=0, a_max=6)
    net = mx.sym.Convolution(net, num_filter=12, num_group=12, kernel=(3, 3), pad=(1, 1),
                             stride=(2, 2), name="dw")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="bn2")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.Pooling(net, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max")
    shapes = dict(zip(net.list_arguments(), net.infer_shape(data=(2, 16, 15, 15))[0]))
    args = {k: mx.nd.array(_rand(s, i)) for i, (k, s) in enumerate(shapes.items())}
    aux_shapes = net.infer_shape(data=(2, 16, 15, 15))[2]
    aux = {k: mx.nd.array(np.abs(_rand(s, 40 + i)) + 0.5)
           for i, (k, s) in enumerate(zip(net.list_auxiliary_states(), aux_shapes))}
    exe = net.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    ref, got = both(lambda: exe.forward(is_train=False)[0].asnumpy())
    assert got.shape == (2, 12, 4, 4)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert got.min() >= 0


def test_executor_inverted_residual_block_one_step(both):
    # expand -> depthwise -> project (MobileNet V2's block) with its residual add: the three
    # folded convolutions and the add run as one step, with the same outputs either way.
    data = mx.sym.Variable("data")
    net = data
    for i, (cout, act) in enumerate(((48, "clip"), (48, "clip"), (8, None))):
        net = mx.sym.Convolution(net, num_filter=cout, kernel=(1, 1) if i != 1 else (3, 3),
                                 pad=(0, 0) if i != 1 else (1, 1),
                                 num_group=48 if i == 1 else 1, no_bias=True, name=f"c{i}")
        net = mx.sym.BatchNorm(net, fix_gamma=False, name=f"bn{i}")
        if act:
            net = mx.sym.clip(net, a_min=0, a_max=6)
    net = net + data
    shape = (1, 8, 16, 16)
    shapes = dict(zip(net.list_arguments(), net.infer_shape(data=shape)[0]))
    args = {k: mx.nd.array(_rand(s, i) * np.float32(0.3)) for i, (k, s) in
            enumerate(shapes.items())}
    aux = {k: mx.nd.array(np.abs(_rand(s, 40 + i)) + 0.5) for i, (k, s) in
           enumerate(zip(net.list_auxiliary_states(), net.infer_shape(data=shape)[2]))}
    exe = net.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    assert [st.name for st in exe._plan("infer").steps] == ["Convolution"]
    ref, got = both(lambda: exe.forward(is_train=False)[0].asnumpy())
    assert got.shape == shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def _run(code: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True, timeout=120)
    return out.stdout.strip()


def test_switch_and_lazy_import():
    code = ("import sys, numpy as np, mxlite as mx\n"
            "from mxlite.ops import _window as W\n"
            "print(sys.modules.get('numba') is not None)\n"
            "x = mx.nd.ones((1, 16, 6, 6)); w = mx.nd.ones((16, 1, 3, 3))\n"
            "y = mx.nd.Convolution(x, w, num_filter=16, num_group=16, kernel=(3, 3), "
            "no_bias=True)\n"
            "print(float(y.asnumpy().sum()), W.jit() is not None,\n"
            "      sys.modules.get('numba') is not None)")
    assert _run(code, MXLITE_JIT="0").splitlines() == ["False", "2304.0 False False"]
    assert _run(code, MXLITE_JIT="1").splitlines() == ["False", "2304.0 True True"]
    # Without numba installed (its import fails) the numpy path runs.
    missing = "import sys\nsys.modules['numba'] = None\n" + code
    assert _run(missing, MXLITE_JIT="1").splitlines() == ["False", "2304.0 False False"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_threads():
    # A child forked after the parent's worker threads started must not wait on them.
    code = ("import os, numpy as np\n"
            "from mxlite.ops import _window as W\n"
            "W.set_jit(True)\n"
            "x = np.ones((1, 64, 40, 40), np.float32)\n"
            "W._in_parallel(lambda r0, r1: None, 4)\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    y = W.pool_forward(x, 'max', (3, 3), (1, 1), (1, 1))\n"
            "    os._exit(0 if y.shape == (1, 64, 40, 40) else 3)\n"
            "print(os.waitpid(pid, 0)[1])")
    assert _run(code) == "0"


def _blocks():
    for shape, ce, f, stride in (((1, 16, 23, 21), 96, 24, (2, 2)),  # row blocks
                                 ((1, 24, 12, 12), 200, 32, (1, 1)),  # channels
                                 ((1, 40, 9, 9), 240, 56, (1, 1)),  # 7x7: filters first
                                 ((1, 32, 14, 14), 64, 400, (2, 2))):
        cin = shape[1]
        yield (_rand(shape, 90), _rand((ce, cin, 1, 1), 91) * np.float32(0.3),
               _rand((ce, 1, 3, 3), 92) * np.float32(0.3),
               _rand((f, ce, 1, 1), 93) * np.float32(0.3), stride)


@pytest.mark.parametrize("residual", [False, True])
def test_blas_kernels_match_the_separate_calls(monkeypatch, residual):
    # The compiled expand -> depthwise -> project parts and the fused im2col / GEMM /
    # epilogue call numpy's BLAS without the GIL; the separate calls through np.matmul (the
    # route taken where that BLAS is not found) agree within float32 rounding.
    assert W.jit() is not None and W._GEMM, "numba and numpy's OpenBLAS expected here"
    for x, we, wd, wp, stride in _blocks():
        ce, f = we.shape[0], wp.shape[0]
        if residual and (stride != (1, 1) or f != x.shape[1]):
            continue
        se, be, sd, bd, sp, bp = (np.abs(_rand((n,), 94 + i)) + np.float32(0.5)
                                  for i, n in enumerate((ce, ce, ce, ce, f, f)))

        def run(x=x, we=we, wd=wd, wp=wp, stride=stride, ce=ce, se=se, be=be, sd=sd, bd=bd,
                sp=sp, bp=bp):
            return W.expand_depthwise_pointwise(x, we, se, be, RELU6, wd, stride, (1, 1),
                                                (1, 1), ce, sd, bd, RELU6, wp, sp, bp, None,
                                                {}, residual)
        got = run()
        with monkeypatch.context() as m:
            m.setattr(W, "_GEMM", {})
            ref = run()
        assert got.shape == ref.shape
        # sums of a few hundred products of outputs up to ~20: float32 rounding of the
        # largest, in another summation order
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    # Over FUSED_GEMM_MACS: an RGB image (channel-first gather) and a feature map.
    x = _rand((1, 3, 128, 128), 97)
    w = _rand((64, 3, 3, 3), 98)
    b, scale = _rand((64,), 99), np.abs(_rand((64,), 100)) + np.float32(0.5)
    for xx in (x, _channels_last_view(_rand((1, 24, 40, 40), 101))):
        ww = w if xx.shape[1] == 3 else _rand((64, 24, 3, 3), 102)
        assert W._im2col_gemm(xx, ww, b, (2, 2), (1, 1), (1, 1), scale, RELU6) is not None
        got = W.conv_forward(xx, ww, b, (2, 2), (1, 1), (1, 1), scale=scale, act=RELU6)
        with monkeypatch.context() as m:
            m.setattr(W, "_GEMM", {})
            ref = W.conv_forward(xx, ww, b, (2, 2), (1, 1), (1, 1), scale=scale, act=RELU6)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_gemm_epilogue_operands_blas_cannot_read():
    # A broadcast operand (zero stride) or a strided view is no BLAS operand as it lies:
    # such products go through numpy, with the same values.
    a = np.broadcast_to(_rand((64,), 108), (2000, 64))
    w = _rand((64, 100), 109)
    assert a.shape[0] * 64 * 100 >= W.FUSED_GEMM_MACS
    for lhs in (a, _rand((2000, 128), 110)[:, ::2]):
        assert not W._blas_ok(lhs)
        np.testing.assert_allclose(W.gemm_epilogue(lhs, w, act=RELU), np.maximum(
            np.ascontiguousarray(lhs) @ w, 0), rtol=1e-5, atol=1e-4)


def test_blas_kernels_in_float64(monkeypatch):
    # cblas_dgemm through the same compiled tasks: row blocks (30x30) and shared channels.
    for shape, ce, f in (((1, 16, 30, 30), 96, 24), ((1, 24, 12, 12), 200, 32)):
        x = _rand(shape, 104, np.float64)
        we = _rand((ce, shape[1], 1, 1), 105, np.float64) * 0.3
        wd = _rand((ce, 1, 3, 3), 106, np.float64) * 0.3
        wp = _rand((f, ce, 1, 1), 107, np.float64) * 0.3
        stride = (1, 1)

        def run(x=x, we=we, wd=wd, wp=wp, stride=stride, ce=ce):
            return W.expand_depthwise_pointwise(x, we, None, None, RELU6, wd, stride, (1, 1),
                                                (1, 1), ce, None, None, RELU6, wp, None, None,
                                                None, {})
        got = run()
        with monkeypatch.context() as m:
            m.setattr(W, "_GEMM", {})
            ref = run()
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool_type", ["avg", "max", "sum"])
def test_global_pooling_of_either_memory_order(pool_type):
    # Global pooling reduces channels-last memory (a convolution's output) and channel-first
    # memory each in its own order; both equal numpy's reduction over the spatial axes.
    x = _rand((2, 40, 7, 7), 103)
    want = {"avg": x.mean, "max": x.max, "sum": x.sum}[pool_type](axis=(2, 3), keepdims=True)
    for xx in (x, _channels_last_view(x)):
        got = W.pool_forward(xx, pool_type, (7, 7), (1, 1), (0, 0))
        assert got.shape == (2, 40, 1, 1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
