"""Optional compiled kernels (numba) for the sliding-window operators' inference hot spots.

Every kernel here has a numpy twin in :mod:`mxlite.ops._window` that computes the same values
in the same summation order (so results agree to the last bit in float32: numba contracts no
multiply-add into an FMA and reorders no sum without ``fastmath``); these kernels only take
fewer passes over memory. Each is a serial ``nogil`` function over a range of output rows
``[r0, r1)``: ``_window`` shares the rows among its own worker threads, which poll for the
next task for ~0.1 ms, yielding the core, then sleep (numba's ``parallel=True`` teams spin
between regions without yielding and fought OpenBLAS's threads for the cores).
Loops run over views from index 0, so numba knows no index is negative and vectorises them.

- :func:`depthwise2d`: a depthwise 2-D convolution straight from the unpadded channels-last
  input and the weights as they lie (no padded copy, no per-call re-layout), with a folded
  BatchNorm's scale, the per-channel bias and a clip / ReLU epilogue applied while the output
  row is still in cache;
- :func:`im2col2d`: the channels-last im2col gathered in one pass with the zero padding
  written in place (numpy pays a padded copy first); :func:`im2col2d_first` the same from
  channel-first input with few channels;
- :func:`maxpool2d`: max pooling in one pass over the unpadded input;
- :func:`epilogue_rows` / :func:`epilogue_cols`: scale, bias and clip / ReLU of a GEMM output
  in one pass;
- :func:`batchnorm_fold`: an inference BatchNorm's per-channel scale and shift in one pass;
- :func:`spin_while` / :func:`spin_until_sum`: the polling waits of ``_window``'s thread team
  (atomic loads, no GIL, yielding the core between reads).

This module imports numba at its top: ``_window`` imports it lazily on the first call that
can use it, never at ``import mxlite``, and not at all when ``MXLITE_JIT=0`` or numba is
missing. Kernels compile on their first call per dtype (``cache=True`` keeps the machine code
next to this file or in numba's user cache; where neither is writable they compile per
process instead of failing).
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["depthwise2d", "depthwise2d_band", "taps", "im2col2d", "im2col2d_first",
           "maxpool2d", "epilogue_rows", "epilogue_cols", "batchnorm_fold", "spin_while",
           "spin_until_sum"]


def _njit(**kw):
    """``numba.njit(cache=True, **kw)``, or without the cache where no cache directory is
    writable (numba refuses ``cache=True`` at decoration then)."""
    def wrap(fn):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", numba.NumbaWarning)
                return numba.njit(cache=True, **kw)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(**kw)(fn)
    return wrap


@_njit(inline="always")
def _span(n_out, size, stride, offset):
    """Output positions ``[lo, hi)`` whose input ``o * stride + offset`` lies in [0, size)."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = 0
    if size - 1 - offset >= 0:
        hi = (size - 1 - offset) // stride + 1
    if hi > n_out:
        hi = n_out
    if lo > hi:
        lo = hi
    return lo, hi


@_njit(inline="always")
def _clip_row(row, lo, hi):
    # Comparisons rather than min/max so NaN passes, as np.clip and np.maximum let it.
    for i in range(row.shape[0]):
        v = row[i]
        if v < lo:
            v = lo
        if v > hi:
            v = hi
        row[i] = v


@_njit(nogil=True)
def _taps(w, scale, use_scale, ow, tiled):
    """The weights w (C, KH, KW) as laid out by taps, (KH, KW, C), times ``scale`` (numpy's
    ``w.T * scale``); with ``tiled``, each tap's row also repeated ``ow`` times along an
    output row, (KH, KW, OW*C), for one long vectorised loop per tap."""
    c, kh, kw = w.shape
    wk = np.empty((kh, kw, c), w.dtype)
    for k in range(c):
        for a in range(kh):
            for t in range(kw):
                v = w[k, a, t]
                if use_scale:
                    v *= scale[k]
                wk[a, t, k] = v
    wrow = np.empty((kh, kw, ow * c if tiled else 0), w.dtype)
    if tiled:
        for a in range(kh):
            for t in range(kw):
                for j in range(ow):
                    wrow[a, t, j * c:(j + 1) * c] = wk[a, t]
    return wk, wrow


@_njit(nogil=True)
def depthwise2d(r0, r1, x, w, scale, bias, y, oh, c, sh, sw, ph, pw, dh, dw, lo, hi,
                use_scale, use_bias, act, tiled):
    """Depthwise 2-D convolution over rows: x (N*H, W*C) and y (N*OH, OW*C) are the
    channels-last input and output with each image row flattened, w (C, KH, KW) the weights
    as they lie, scale (C,) a folded BatchNorm's (applied to the weights, as the numpy twin
    does), bias (C,).

    y[n, i, j, k] = act(sum_{a, b} x[n, i*sh + a*dh - ph, j*sw + b*dw - pw, k] * w[k, a, b]
    * scale[k] + bias[k]) over the taps inside the input, taps summed in (a, b) order; ``act``
    clips to [lo, hi]. ``tiled`` (only with ``sw == 1``) runs each tap as one loop along the
    output row over weights tiled along it, faster for few channels; otherwise each output
    pixel loops over its C channels."""
    h = x.shape[0] // (y.shape[0] // oh)
    wk, wrow = _taps(w, scale, use_scale, y.shape[1] // c, tiled)
    depthwise2d_band(r0, r1, x, 0, h, wk, wrow, bias, y, 0, oh, c, sh, sw, ph, pw, dh, dw,
                     lo, hi, use_bias, act, tiled)


@_njit(nogil=True)
def taps(w, scale, use_scale, ow, tiled):
    """:func:`_taps` for a caller that runs :func:`depthwise2d_band` many times."""
    return _taps(w, scale, use_scale, ow, tiled)


@_njit(nogil=True)
def depthwise2d_band(r0, r1, x, x0, h, wk, wrow, bias, y, y0, oh, c, sh, sw, ph, pw, dh, dw,
                     lo, hi, use_bias, act, tiled):
    """:func:`depthwise2d`'s rows ``[r0, r1)`` (of the whole output, N*OH rows) from a band
    of the input and into a band of the output: ``x`` holds the input's rows from ``x0`` on
    and ``y`` the output's from ``y0`` on (of N*H and N*OH rows, images of H input rows),
    so a caller can keep just the rows in use in cache. ``wk``, ``wrow``: :func:`taps`."""
    ow = y.shape[1] // c
    wd = x.shape[1] // c
    kh, kw = wk.shape[0], wk.shape[1]
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        yr = y[r - y0]
        yr[:] = 0
        for a in range(kh):
            ii = i * sh + a * dh - ph
            if ii < 0 or ii >= h:
                continue
            xr = x[b * h + ii - x0]
            for t in range(kw):
                off = t * dw - pw
                j0, j1 = _span(ow, wd, sw, off)
                # Loops over views from index 0: numba then knows no index is negative and
                # the loops vectorise (4x faster than indexing with offsets).
                if tiled:
                    ys = yr[j0 * c:j1 * c]
                    xs = xr[(j0 + off) * c:(j1 + off) * c]
                    ws = wrow[a, t, j0 * c:j1 * c]
                    for q in range(ys.shape[0]):
                        ys[q] += xs[q] * ws[q]
                else:
                    wt = wk[a, t]
                    for j in range(j0, j1):
                        ys = yr[j * c:(j + 1) * c]
                        xs = xr[(j * sw + off) * c:(j * sw + off + 1) * c]
                        for k in range(c):
                            ys[k] += xs[k] * wt[k]
        if use_bias:
            for j in range(ow):
                ys = yr[j * c:(j + 1) * c]
                for k in range(c):
                    ys[k] += bias[k]
        if act:
            _clip_row(yr, lo, hi)


@_njit(nogil=True)
def im2col2d(r0, r1, x, cols, kh, kw, sh, sw, ph, pw, dh, dw):
    """cols[(n, i, j), (a, b, c)] = x[n, i*sh + a*dh - ph, j*sw + b*dw - pw, c], zero outside:
    x (N, H, W, C) C-contiguous, cols (N*OH*OW, KH*KW*C) C-contiguous."""
    n, h, wd, c = x.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = cols.shape[0] // (n * oh)
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        base = r * ow
        for a in range(kh):
            ii = i * sh + a * dh - ph
            inside = 0 <= ii < h
            for t in range(kw):
                col = (a * kw + t) * c
                off = t * dw - pw
                j0, j1 = _span(ow, wd, sw, off)
                if not inside:
                    j0 = j1 = ow
                for j in range(ow):
                    dst = cols[base + j, col:col + c]
                    if j0 <= j < j1:
                        src = x[b, ii, j * sw + off]
                        for k in range(c):
                            dst[k] = src[k]
                    else:
                        for k in range(c):
                            dst[k] = 0


@_njit(nogil=True)
def im2col2d_first(r0, r1, x, cols, kh, kw, sh, sw, ph, pw, dh, dw):
    """:func:`im2col2d` from channel-first x (N, C, H, W), C-contiguous: for few channels
    (an RGB image), where a channels-last copy of the input would cost more than the
    gather."""
    n, c, h, wd = x.shape
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = cols.shape[0] // (n * oh)
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        rows = cols[r * ow:(r + 1) * ow]
        for a in range(kh):
            ii = i * sh + a * dh - ph
            for t in range(kw):
                off = t * dw - pw
                j0, j1 = _span(ow, wd, sw, off)
                if ii < 0 or ii >= h:
                    j0 = j1 = ow
                for k in range(c):
                    col = (a * kw + t) * c + k
                    for j in range(j0):
                        rows[j, col] = 0
                    if j1 > j0:
                        src = x[b, k, ii]
                        for j in range(j0, j1):
                            rows[j, col] = src[j * sw + off]
                    for j in range(j1, ow):
                        rows[j, col] = 0


@_njit(nogil=True)
def maxpool2d(r0, r1, x, y, kh, kw, sh, sw, ph, pw, lowest):
    """y[n, i, j, c] = max over the window's taps inside x (``lowest`` where none is), NaN
    propagating; x (N, H, W, C) and y (N, OH, OW, C) C-contiguous."""
    n, h, wd, c = x.shape
    oh, ow = y.shape[1], y.shape[2]
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        yrow = y[b, i]
        yrow[:, :] = lowest
        for a in range(kh):
            ii = i * sh + a - ph
            if ii < 0 or ii >= h:
                continue
            xrow = x[b, ii]
            for t in range(kw):
                j0, j1 = _span(ow, wd, sw, t - pw)
                for j in range(j0, j1):
                    xs = xrow[j * sw + t - pw]
                    ys = yrow[j]
                    for k in range(c):
                        v = xs[k]
                        m = ys[k]
                        if m == m and not v <= m:
                            ys[k] = v


@_njit(nogil=True)
def epilogue_rows(r0, r1, y, scale, bias, lo, hi, use_scale, use_bias, act):
    """In place over y (M, F) C-contiguous: ``y * scale[f]`` then ``+ bias[f]`` then clip to
    [lo, hi], each step only when its flag is set (numpy's separate passes, in their order)."""
    m, f = y.shape
    for r in range(r0, r1):
        row = y[r]
        if use_scale:
            for k in range(f):
                row[k] *= scale[k]
        if use_bias:
            for k in range(f):
                row[k] += bias[k]
        if act:
            _clip_row(row, lo, hi)


@_njit(nogil=True)
def epilogue_cols(r0, r1, y, scale, bias, lo, hi, use_scale, use_bias, act):
    """As :func:`epilogue_rows` for y (F, M): ``scale`` and ``bias`` run along the rows."""
    for r in range(r0, r1):
        row = y[r]
        if use_scale:
            s = scale[r]
            for k in range(row.shape[0]):
                row[k] *= s
        if use_bias:
            bb = bias[r]
            for k in range(row.shape[0]):
                row[k] += bb
        if act:
            _clip_row(row, lo, hi)


@_njit(nogil=True)
def batchnorm_fold(var, gamma, beta, mean, bias, eps, one, use_gamma, use_bias, scale, shift):
    """Inference BatchNorm as one affine map per channel, numpy's passes in their order:
    ``scale = 1 / sqrt(var + eps)`` (times gamma), ``shift = beta - mean * scale`` (plus
    ``bias * scale``, a preceding convolution's bias). ``one`` is 1 in the arrays' dtype, so
    the division stays in it."""
    for k in range(var.shape[0]):
        s = one / np.sqrt(var[k] + eps)
        if use_gamma:
            s *= gamma[k]
        sh = beta[k] - mean[k] * s
        if use_bias:
            sh += bias[k] * s
        scale[k] = s
        shift[k] = sh


@intrinsic
def _load_acquire(typingctx, arr, idx):
    """``arr[idx]`` read as an atomic load with acquire order: unlike a plain read, the
    compiler may not hoist it out of a polling loop, and what the writer stored before it
    is seen after it."""
    sig = arr.dtype(arr, idx)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        return builder.load_atomic(ptr, "acquire", aryty.dtype.bitwidth // 8)

    return sig, codegen


# The C library's sched_yield, resolved by name when a kernel is compiled or loaded.
_sched_yield = numba.types.ExternalFunction("sched_yield", numba.types.int32())


@_njit(nogil=True)
def spin_while(flags, i, value, limit):
    """Poll ``flags[i]`` without the GIL while it equals ``value``, at most ``limit`` rounds
    of about 0.5 us; returns whether it changed (the kernels' workers wait for a task so: a
    sleeping thread took 15-50 us to wake on the 2-core virtual machine). Each round yields
    the core, so a thread that shares it (another job's, or the caller) runs instead."""
    for _ in range(limit):
        if _load_acquire(flags, i) != value:
            return True
        _sched_yield()
    return False


@_njit(nogil=True)
def spin_until_sum(flags, lo, total, limit):
    """Poll without the GIL until ``flags[lo:]`` sums to ``total``, at most ``limit`` rounds
    as :func:`spin_while`; returns whether it did (the caller waiting for its workers' row
    blocks)."""
    for _ in range(limit):
        s = 0
        for i in range(lo, flags.shape[0]):
            s += _load_acquire(flags, i)
        if s >= total:
            return True
        _sched_yield()
    return False


def dtype_ok(*arrays: np.ndarray) -> bool:
    """Whether the kernels take these arrays: one float32 or float64 dtype throughout."""
    dt = arrays[0].dtype
    if dt != np.float32 and dt != np.float64:
        return False
    for a in arrays:  # a loop: this runs several times per layer and forward
        if a.dtype != dt:
            return False
    return True
