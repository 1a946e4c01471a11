"""Optional compiled kernels (numba) for the sliding-window operators' inference hot spots.

Every kernel here has a numpy twin in :mod:`mxlite.ops._window` that computes the same values
in the same summation order (so results agree to the last bit in float32: numba contracts no
multiply-add into an FMA and reorders no sum without ``fastmath``); these kernels only take
fewer passes over memory. Each is a serial ``nogil`` function over a range of output rows
``[r0, r1)``: ``_window`` shares the rows among its own sleeping worker threads (numba's
``parallel=True`` teams spin between regions and fought OpenBLAS's threads for the cores).
Loops run over views from index 0, so numba knows no index is negative and vectorises them.

- :func:`depthwise2d`: a depthwise 2-D convolution straight from the unpadded channels-last
  input (no padded copy, no scratch buffer), with the per-channel bias and a clip / ReLU
  epilogue applied while the output row is still in cache;
- :func:`im2col2d`: the channels-last im2col gathered in one pass with the zero padding
  written in place (numpy pays a padded copy first);
- :func:`maxpool2d`: max pooling in one pass over the unpadded input;
- :func:`epilogue_rows` / :func:`epilogue_cols`: scale, bias and clip / ReLU of a GEMM output
  in one pass.

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

__all__ = ["depthwise2d", "im2col2d", "maxpool2d", "epilogue_rows", "epilogue_cols"]


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
def depthwise2d(r0, r1, x, w, wrow, bias, y, oh, c, sh, sw, ph, pw, dh, dw, lo, hi, act):
    """Depthwise 2-D convolution over rows: x (N*H, W*C) and y (N*OH, OW*C) are the
    channels-last input and output with each image row flattened, w (KH, KW, C) the weights,
    ``wrow`` (KH, KW, OW*C) the same tiled along an output row (used where ``sw == 1``: one
    long vectorised loop per tap), bias (C,).

    y[n, i, j, k] = act(sum_{a, b} x[n, i*sh + a*dh - ph, j*sw + b*dw - pw, k] * w[a, b, k]
    + bias[k]) over the taps inside the input, taps summed in (a, b) order; ``act`` 1 clips
    to [lo, hi]."""
    h = x.shape[0] // (y.shape[0] // oh)
    wd = x.shape[1] // c
    ow = y.shape[1] // c
    kh, kw = w.shape[0], w.shape[1]
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        yr = y[r]
        yr[:] = 0
        for a in range(kh):
            ii = i * sh + a * dh - ph
            if ii < 0 or ii >= h:
                continue
            xr = x[b * h + ii]
            for t in range(kw):
                off = t * dw - pw
                j0, j1 = _span(ow, wd, sw, off)
                # Loops over views from index 0: numba then knows no index is negative and
                # the loops vectorise (4x faster than indexing with offsets).
                if sw == 1:
                    ys = yr[j0 * c:j1 * c]
                    xs = xr[(j0 + off) * c:(j1 + off) * c]
                    ws = wrow[a, t, j0 * c:j1 * c]
                    for q in range(ys.shape[0]):
                        ys[q] += xs[q] * ws[q]
                else:
                    wt = w[a, t]
                    for j in range(j0, j1):
                        ys = yr[j * c:(j + 1) * c]
                        xs = xr[(j * sw + off) * c:(j * sw + off + 1) * c]
                        for k in range(c):
                            ys[k] += xs[k] * wt[k]
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


def dtype_ok(*arrays: np.ndarray) -> bool:
    """Whether the kernels take these arrays: one float32 or float64 dtype throughout."""
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(a.dtype == dt for a in arrays)
