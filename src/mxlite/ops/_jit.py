"""Optional compiled kernels (numba) for the sliding-window operators' inference hot spots.

Every row-range kernel below has a numpy twin in :mod:`mxlite.ops._window` that computes
the same values in the same summation order (so results agree to the last bit in float32:
numba contracts no multiply-add into an FMA and reorders no sum without ``fastmath``); these
kernels only take fewer passes over memory. Each is a serial ``nogil`` function over a range
of output rows ``[r0, r1)``: ``_window`` shares the rows among its own worker threads, which
poll for the next task for ~0.1 ms, yielding the core, then sleep (numba's
``parallel=True`` teams spin between regions without yielding and fought OpenBLAS's threads
for the cores).
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
  (atomic loads, no GIL, yielding the core between reads); :func:`post_and_spin` posts a worker's
  finished blocks without the GIL.

Whole tasks of one thread, which also multiply: numpy's own BLAS (``cblas_sgemm`` /
``cblas_dgemm`` of its bundled OpenBLAS, handed in as a ctypes function, see
``_window._find_gemm``) is called from compiled code, so a thread never takes the GIL back
inside its task. Their numpy twins are the separate calls they fuse; values agree within
float rounding (BLAS sums the products of a block of rows in its own order):

- :func:`gemm_epilogue_rows`: row blocks of a GEMM and their epilogue;
- :func:`im2col_gemm_rows`: a convolution's im2col rows, their GEMM and epilogue;
- :func:`ex_dw_pw_rows`: MobileNet V2's inverted residual block (expand, depthwise,
  project, shortcut) over blocks of output rows;
- :func:`edp_channel_parts`: the same block on a small image over parts of its expanded
  channels (the caller adds the partial projections).

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
           "spin_until_sum", "edp_channel_parts", "ex_dw_pw_rows",
           "gemm_epilogue_rows", "im2col_gemm_rows",
           "post_and_spin"]


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
    # The pixels every tap of a 3x3 kernel reads inside the row: one pass each
    # (_dw3x3_pixels), the rest tap by tap (_dw_taps).
    j_in0, j_in1 = 0, 0
    if kh == 3 and kw == 3:
        j_in0, j_in1 = _span(ow, wd, sw, -pw)
        a0, a1 = _span(ow, wd, sw, 2 * dw - pw)
        j_in0, j_in1 = max(j_in0, a0), min(j_in1, a1)
        if j_in1 < j_in0:
            j_in1 = j_in0
    for r in range(r0, r1):
        b = r // oh
        i = r - b * oh
        yr = y[r - y0]
        top = i * sh - ph
        if j_in1 > j_in0 and top >= 0 and top + 2 * dh < h:
            base = b * h + top - x0
            _dw3x3_pixels(yr, x[base], x[base + dh], x[base + 2 * dh], wk, wrow, c, sw, dw,
                          pw, j_in0, j_in1, tiled)
            _dw_taps(yr, x, b * h - x0, h, wk, wrow, c, ow, wd, i, sh, sw, ph, pw, dh, dw,
                     0, j_in0, tiled)
            _dw_taps(yr, x, b * h - x0, h, wk, wrow, c, ow, wd, i, sh, sw, ph, pw, dh, dw,
                     j_in1, ow, tiled)
        else:
            _dw_taps(yr, x, b * h - x0, h, wk, wrow, c, ow, wd, i, sh, sw, ph, pw, dh, dw,
                     0, ow, tiled)
        if use_bias:
            for j in range(ow):
                ys = yr[j * c:(j + 1) * c]
                for k in range(c):
                    ys[k] += bias[k]
        if act:
            _clip_row(yr, lo, hi)


@_njit(inline="always")
def _dw_taps(yr, x, xb, h, wk, wrow, c, ow, wd, i, sh, sw, ph, pw, dh, dw, ja, jb, tiled):
    """Output pixels ``[ja, jb)`` of row ``yr`` tap by tap, each tap's products added over
    the pixels it reads inside the input (image rows from ``x[xb]``)."""
    if jb <= ja:
        return
    yr[ja * c:jb * c] = 0
    for a in range(wk.shape[0]):
        ii = i * sh + a * dh - ph
        if ii < 0 or ii >= h:
            continue
        xr = x[xb + ii]
        for t in range(wk.shape[1]):
            off = t * dw - pw
            j0, j1 = _span(ow, wd, sw, off)
            j0, j1 = max(j0, ja), min(j1, jb)
            if j1 <= j0:
                continue
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


@_njit(inline="always")
def _dw3x3_pixels(yr, xa, xb, xc, wk, wrow, c, sw, dw, pw, ja, jb, tiled):
    """Output pixels ``[ja, jb)`` of a 3x3 depthwise row whose nine taps all lie inside
    the input rows ``xa``, ``xb``, ``xc``: each output summed in registers, in
    :func:`_dw_taps`' order (from zero, taps in row-major order), so the values agree to
    the bit with it and the row is written once instead of nine times."""
    s0, s1, s2 = (-pw) * c, (dw - pw) * c, (2 * dw - pw) * c
    if tiled:  # sw == 1: one loop along the row, weights tiled along it
        n = (jb - ja) * c
        ys = yr[ja * c:jb * c]
        q0 = ja * c
        a0, a1, a2 = xa[q0 + s0:q0 + s0 + n], xa[q0 + s1:q0 + s1 + n], xa[q0 + s2:q0 + s2 + n]
        b0, b1, b2 = xb[q0 + s0:q0 + s0 + n], xb[q0 + s1:q0 + s1 + n], xb[q0 + s2:q0 + s2 + n]
        c0, c1, c2 = xc[q0 + s0:q0 + s0 + n], xc[q0 + s1:q0 + s1 + n], xc[q0 + s2:q0 + s2 + n]
        w00, w01, w02 = wrow[0, 0, q0:q0 + n], wrow[0, 1, q0:q0 + n], wrow[0, 2, q0:q0 + n]
        w10, w11, w12 = wrow[1, 0, q0:q0 + n], wrow[1, 1, q0:q0 + n], wrow[1, 2, q0:q0 + n]
        w20, w21, w22 = wrow[2, 0, q0:q0 + n], wrow[2, 1, q0:q0 + n], wrow[2, 2, q0:q0 + n]
        zero = ys.dtype.type(0)
        for q in range(n):
            ys[q] = _nine(zero, q, a0, a1, a2, b0, b1, b2, c0, c1, c2, w00, w01, w02, w10,
                          w11, w12, w20, w21, w22)
        return
    w00, w01, w02 = wk[0, 0], wk[0, 1], wk[0, 2]
    w10, w11, w12 = wk[1, 0], wk[1, 1], wk[1, 2]
    w20, w21, w22 = wk[2, 0], wk[2, 1], wk[2, 2]
    zero = yr.dtype.type(0)
    for j in range(ja, jb):
        ys = yr[j * c:(j + 1) * c]
        p = j * sw * c
        a0, a1, a2 = xa[p + s0:p + s0 + c], xa[p + s1:p + s1 + c], xa[p + s2:p + s2 + c]
        b0, b1, b2 = xb[p + s0:p + s0 + c], xb[p + s1:p + s1 + c], xb[p + s2:p + s2 + c]
        c0, c1, c2 = xc[p + s0:p + s0 + c], xc[p + s1:p + s1 + c], xc[p + s2:p + s2 + c]
        for k in range(c):
            ys[k] = _nine(zero, k, a0, a1, a2, b0, b1, b2, c0, c1, c2, w00, w01, w02, w10, w11,
                          w12, w20, w21, w22)


@_njit(inline="always")
def _nine(zero, i, a0, a1, a2, b0, b1, b2, c0, c1, c2, w00, w01, w02, w10, w11, w12, w20, w21,
          w22):
    # Element i of a 3x3 window's nine products, summed from zero in row-major tap order.
    v = zero + a0[i] * w00[i]
    v += a1[i] * w01[i]
    v += a2[i] * w02[i]
    v += b0[i] * w10[i]
    v += b1[i] * w11[i]
    v += b2[i] * w12[i]
    v += c0[i] * w20[i]
    v += c1[i] * w21[i]
    v += c2[i] * w22[i]
    return v


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


@intrinsic
def _store_seq_cst(typingctx, arr, idx, value):
    """``arr[idx] = value`` as a sequentially consistent atomic store: it reaches memory
    before any later load (a plain store may be delayed past a polling loop)."""
    sig = numba.types.none(arr, idx, value)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        val = context.cast(builder, args[2], sig.args[2], aryty.dtype)
        builder.store_atomic(val, ptr, "seq_cst", aryty.dtype.bitwidth // 8)
        return context.get_dummy_value()

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
def post_and_spin(flags, slot, add, i, value, limit):
    """``flags[slot] += add`` (a worker's count of the row blocks it finished), then
    :func:`spin_while` ``(flags, i, value, limit)``. Posted without the GIL: a caller that
    sees the count and takes the GIL back finds the worker polling, not waiting for the GIL
    asleep (which made it 30 us late for the next task)."""
    if add:
        _store_seq_cst(flags, slot, _load_acquire(flags, slot) + add)
    return spin_while(flags, i, value, limit)


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


@intrinsic
def _address(typingctx, arr):
    """The address of ``arr``'s first element, for a C function's pointer argument."""
    sig = numba.types.voidptr(arr)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.bitcast(ary.data, context.get_value_type(numba.types.voidptr))

    return sig, codegen


@_njit(inline="always")
def _publish(pub):
    """``pub[0] += 1`` when ``pub`` is not empty: the thread team's next task, published by
    the caller's first block of it once that block holds no GIL. A polling worker sees a
    task within a microsecond and then takes the GIL; had the caller still held it, the
    worker would wait for it asleep (15-50 us to wake on the 2-core virtual machine)."""
    if pub.shape[0]:
        _store_seq_cst(pub, 0, _load_acquire(pub, 0) + 1)


@_njit(inline="always")
def _blas_operand(a):
    """CBLAS's transpose flag and leading dimension for the 2-D view ``a``: row-major
    (unit last stride) as it lies, else the transpose of a row-major matrix (unit first
    stride; the caller checks one of the two holds)."""
    r, c = a.shape
    isz = a.itemsize
    if a.strides[1] == isz or c == 1:
        ld = a.strides[0] // isz if r > 1 else c
        return 111, max(ld, c, 1)  # CblasNoTrans
    ld = a.strides[1] // isz if c > 1 else r
    return 112, max(ld, r, 1)  # CblasTrans


@_njit(inline="always")
def _matmul(gemm, a, b, c, one, zero):
    """``c[...] = a @ b`` through ``gemm``, the BLAS's ``cblas_?gemm`` (numpy's own), on
    2-D views; c row-major."""
    ta, lda = _blas_operand(a)
    tb, ldb = _blas_operand(b)
    ldc = c.strides[0] // c.itemsize if c.shape[0] > 1 else c.shape[1]
    gemm(101, ta, tb, a.shape[0], b.shape[1], a.shape[1], one, _address(a), lda,
         _address(b), ldb, zero, _address(c), max(ldc, c.shape[1], 1))


@_njit(nogil=True)
def gemm_epilogue_rows(r0, r1, pub, gemm, one, zero, a, b, out, scale, bias, lo, hi,
                       use_scale, use_bias, act, along_rows):
    """Rows ``[r0, r1)`` of ``out = a @ b`` through ``gemm`` (the BLAS's ``cblas_?gemm``), then
    :func:`epilogue_rows` (or :func:`epilogue_cols` unless ``along_rows``) on them, without
    the GIL; ``pub``: as :func:`edp_channel_parts`."""
    _publish(pub)
    if r1 <= r0:
        return
    _matmul(gemm, a[r0:r1], b, out[r0:r1], one, zero)
    if along_rows:
        epilogue_rows(r0, r1, out, scale, bias, lo, hi, use_scale, use_bias, act)
    else:
        epilogue_cols(r0, r1, out, scale, bias, lo, hi, use_scale, use_bias, act)


@_njit(nogil=True)
def im2col_gemm_rows(r0, r1, pub, gemm, one, zero, x, first, cols, kh, kw, sh, sw, ph, pw,
                     dh, dw, ow, wt, out, scale, bias, lo, hi, use_scale, use_bias, act):
    """Output rows ``[r0, r1)`` (of N*OH, of ``ow`` pixels) of a convolution: their rows of
    ``cols`` by :func:`im2col2d` (or, with ``first``, :func:`im2col2d_first`), then their
    rows of ``out = cols @ wt`` and :func:`epilogue_rows`, without the GIL; one task on the
    kernels' threads instead of two. ``gemm``, ``pub``: as :func:`edp_channel_parts`."""
    _publish(pub)
    if r1 <= r0:
        return
    if first:
        im2col2d_first(r0, r1, x, cols, kh, kw, sh, sw, ph, pw, dh, dw)
    else:
        im2col2d(r0, r1, x, cols, kh, kw, sh, sw, ph, pw, dh, dw)
    p0, p1 = r0 * ow, r1 * ow
    _matmul(gemm, cols[p0:p1], wt, out[p0:p1], one, zero)
    epilogue_rows(p0, p1, out, scale, bias, lo, hi, use_scale, use_bias, act)


@_njit(nogil=True)
def edp_channel_parts(p0, p1, pub, gemm, one, zero, parts, xt, we2, se, be, elo, ehi, use_se,
                      use_be, eact, wd3, sd, use_sd, bd, h, w_in, oh, ow, sh, sw, ph, pw, dh,
                      dw, lo, hi, use_bd, act, wp2, zp, first_e, first_p):
    """Parts ``[p0, p1)`` of ``parts`` of ``_window._edp_channels`` (MobileNet V2's inverted
    residual block on a small image, the threads sharing its expanded channels), entirely
    without the GIL. Part ``i`` takes channels ``[c0, c1)``: their expansion from ``xt``
    (C, pixels), its scale / bias / clip, their depthwise convolution (:func:`taps`,
    :func:`depthwise2d_band`) and their share of the projection into ``zp[i]`` (pixels, F),
    or (F, pixels) with ``first_p``. ``first_e``: the expansion runs filters first, then is
    transposed to channels-last. ``gemm``: the BLAS's ``cblas_?gemm`` (the calling thread's
    BLAS thread count is the caller's business). ``pub``: the thread team's task counter
    when the caller runs its first block, else empty (:func:`_publish`)."""
    _publish(pub)
    ce = we2.shape[0]
    pixels = xt.shape[1]
    for part in range(p0, p1):
        c0, c1 = ce * part // parts, ce * (part + 1) // parts
        cw = c1 - c0
        e = np.empty((pixels, cw), xt.dtype)
        if first_e:
            et = np.empty((cw, pixels), xt.dtype)
            _matmul(gemm, we2[c0:c1], xt, et, one, zero)
            epilogue_cols(0, cw, et, se[c0:c1] if use_se else se,
                          be[c0:c1] if use_be else be, elo, ehi, use_se, use_be, eact)
            for q in range(pixels):
                row = e[q]
                for k in range(cw):
                    row[k] = et[k, q]
        else:
            _matmul(gemm, xt.T, we2[c0:c1].T, e, one, zero)
            epilogue_rows(0, pixels, e, se[c0:c1] if use_se else se,
                          be[c0:c1] if use_be else be, elo, ehi, use_se, use_be, eact)
        tiled = sw == 1 and cw < 192
        wk, wrow = _taps(wd3[c0:c1], sd[c0:c1] if use_sd else sd, use_sd, ow, tiled)
        y = np.empty((oh, ow * cw), xt.dtype)
        depthwise2d_band(0, oh, e.reshape((h, w_in * cw)), 0, h, wk, wrow,
                         bd[c0:c1] if use_bd else bd, y, 0, oh, cw, sh, sw, ph, pw, dh, dw, lo,
                         hi, use_bd, act, tiled)
        y2 = y.reshape((oh * ow, cw))
        if first_p:
            _matmul(gemm, wp2[:, c0:c1], y2.T, zp[part], one, zero)
        else:
            _matmul(gemm, y2, wp2[:, c0:c1].T, zp[part], one, zero)


@_njit(nogil=True)
def ex_dw_pw_rows(r0, r1, pub, gemm, one, zero, x2d, wte, se, be, elo, ehi, use_se, use_be,
                  eact, h, w_in, oh, ow, kh, wk, wrow, bd, c, sh, sw, ph, pw, dh, dw, lo, hi,
                  use_bd, act, tiled, wtp, z, sp, bp, plo, phi, use_sp, use_bp, pact, residual):
    """Output rows ``[r0, r1)`` (of N*OH) of ``_window.expand_depthwise_pointwise``'s row
    blocks (MobileNet V2's inverted residual block), entirely without the GIL, image by
    image: the expansion of just the input rows
    they read (``x2d`` (N*H*W, C) @ ``wte``, then scale / bias / clip), the depthwise rows
    (:func:`depthwise2d_band` with the taps ``wk``, ``wrow``), their projection into ``z``
    (N*OH*OW, F), its epilogue and, with ``residual``, the block's input added. ``gemm``,
    ``pub``: as :func:`edp_channel_parts`."""
    _publish(pub)
    if r1 <= r0:
        return
    e = np.empty((min(h, (r1 - r0 - 1) * sh + (kh - 1) * dh + 1) * w_in, c), z.dtype)
    f = z.shape[1]
    r = r0
    while r < r1:
        b = r // oh
        i0 = r - b * oh
        i1 = min(oh, r1 - b * oh)
        top = max(0, i0 * sh - ph)
        bottom = max(top, min(h, (i1 - 1) * sh - ph + (kh - 1) * dh + 1))
        eb = e[:(bottom - top) * w_in]
        _matmul(gemm, x2d[(b * h + top) * w_in:(b * h + bottom) * w_in], wte, eb, one, zero)
        epilogue_rows(0, eb.shape[0], eb, se, be, elo, ehi, use_se, use_be, eact)
        p0, p1 = r * ow, (r + i1 - i0) * ow
        y = np.empty((p1 - p0, c), z.dtype)
        depthwise2d_band(r, r + i1 - i0, eb.reshape((bottom - top, w_in * c)), b * h + top, h,
                         wk, wrow, bd, y.reshape((i1 - i0, ow * c)), r, oh, c, sh, sw, ph, pw,
                         dh, dw, lo, hi, use_bd, act, tiled)
        _matmul(gemm, y, wtp, z[p0:p1], one, zero)
        epilogue_rows(p0, p1, z, sp, bp, plo, phi, use_sp, use_bp, pact)
        if residual:
            for q in range(p0, p1):
                zr = z[q]
                xr = x2d[q]
                for k in range(f):
                    zr[k] += xr[k]
        r += i1 - i0


def dtype_ok(*arrays: np.ndarray) -> bool:
    """Whether the kernels take these arrays: one float32 or float64 dtype throughout."""
    dt = arrays[0].dtype
    if dt != np.float32 and dt != np.float64:
        return False
    for a in arrays:  # a loop: this runs several times per layer and forward
        if a.dtype != dt:
            return False
    return True
