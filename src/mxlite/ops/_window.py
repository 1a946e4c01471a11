"""Sliding-window kernels: convolution, deconvolution and pooling over 1-3 spatial dims.

Arrays arrive in MXNet's channel-first layout (N, C, *spatial). Convolution runs as one BLAS
GEMM over an im2col matrix built channels-last: the window view ``(N, *out, *kernel, C)`` reads
C-contiguous runs, which makes the gather several times faster than a channel-first im2col.
Gradients scatter back with one vectorised add per kernel offset (a loop over at most
``prod(kernel)`` offsets, never over pixels or batch items). Pooling reduces over the same
offsets in place, so it never materialises the window tensor.
"""

from __future__ import annotations

import os
from math import prod

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "conv_out_size", "pool_out_size", "conv_forward", "conv_backward", "deconv_forward",
    "deconv_backward", "pool_forward", "pool_backward",
]

Ints = tuple[int, ...]


# -------------------------------------------------------------------------- BLAS threads


def _numpy_openblas():
    """numpy's bundled OpenBLAS (ctypes), or None where numpy links another BLAS or an
    OpenBLAS without ``openblas_set_num_threads_local``: then every GEMM runs as numpy's BLAS
    decides, and no compiled kernel multiplies."""
    import ctypes
    import glob
    here = os.path.dirname(np.__file__)
    paths = (glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*"))
             + glob.glob(os.path.join(here, ".dylibs", "*openblas*")))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads_local"):
            return lib
    return None


def _find_local_threads(lib):
    """``openblas_set_num_threads_local`` of ``lib`` (the BLAS thread count of calls made by
    the calling thread; returns the previous count), or None without ``lib``."""
    if lib is None:
        return None
    import ctypes
    fn = lib.openblas_set_num_threads_local
    fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    return fn


_OPENBLAS = _numpy_openblas()
_LOCAL_THREADS = _find_local_threads(_OPENBLAS)


def _find_gemm(lib) -> dict:
    """``lib``'s (numpy's OpenBLAS) ``cblas_sgemm`` and ``cblas_dgemm`` as ctypes functions
    by dtype, for compiled kernels that multiply without the GIL (:func:`_blas_task`); empty
    without ``lib``."""
    import ctypes
    # (prefix, suffix, integer type): OpenBLAS built for 64-bit integers (numpy's wheels
    # since 2.0), then for 32-bit ones.
    names = (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
             ("scipy_cblas_", "", ctypes.c_int), ("cblas_", "", ctypes.c_int))
    for prefix, suffix, integer in names if lib is not None else ():
        found = {}
        for dt, letter, real in ((np.float32, "s", ctypes.c_float),
                                 (np.float64, "d", ctypes.c_double)):
            fn = getattr(lib, f"{prefix}{letter}gemm{suffix}", None)
            if fn is None:
                break
            i, ptr, enum = integer, ctypes.c_void_p, ctypes.c_int
            fn.argtypes = [enum, enum, enum, i, i, i, real, ptr, i, ptr, i, real, ptr, i]
            fn.restype = None
            found[np.dtype(dt)] = fn
        if len(found) == 2:
            return found
    return {}


_GEMM = _find_gemm(_OPENBLAS)
# GEMMs of fewer multiply-adds than this run on one BLAS thread. Splitting them over two
# threads gains little even on a quiet machine (a few hundred microseconds of work each), and
# on a busy one a split GEMM waits for the slower half whenever the scheduler takes its core
# away: MobileNet V2 at batch 1 (dozens of such GEMMs) measured 60 ms with OpenBLAS's two
# threads against 21 ms with one, on the shared 2-core machine.
SMALL_GEMM_MACS = 1 << 25


def _gemm_one_thread(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None
                     ) -> np.ndarray:
    prev = _LOCAL_THREADS(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _LOCAL_THREADS(prev)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


THREADS = _cpu_count()
# Work items (multiply-adds or elements moved) under which a compiled kernel or a GEMM runs
# on the calling thread alone: waking a sleeping worker costs tens of microseconds.
PARALLEL_WORK = 1 << 18
SPLIT_GEMM_MACS = 1 << 23


class _Team:
    """The kernels' worker threads (``THREADS - 1`` of them; the calling thread is the other
    member). A task is ``fn(r0, r1, *args)`` over row blocks; every member claims blocks from
    one counter until none is left, so a worker the scheduler has not run yet leaves its
    block to the caller instead of making it wait.

    Between tasks a worker polls for the next one without the GIL (``_jit.spin_while``,
    yielding the core between reads) for about 0.1 ms, then sleeps on a condition: a
    sleeping thread took 15-50 us to wake on the 2-core virtual machine, a polling one 1-3
    us, and a MobileNet V2 forward runs ~40 tasks. The caller waits for the workers' blocks
    the same way. Only our own threads poll: with the kernels on, every BLAS call of a
    kernel runs single-threaded. When the other cores are taken by other jobs (no polling
    worker takes a block several tasks running), the next tasks run on the caller alone.
    """

    # Short, so that on a machine whose other jobs take a core the polling thread does not
    # take the last one from the thread it waits for (MobileNet V2 measured 20 ms against
    # 15 ms single-threaded with 0.4 ms and 4 ms spins while another process ran).
    IDLE_SPIN = 200  # rounds of ~0.5 us, then sleeps
    # The caller waits longer: a worker's block of a big GEMM may end a millisecond after
    # the caller's, and polling by sleeps (60-80 us apart in practice) lost ~1 ms per
    # ResNet-18 forward. Each round yields, so a busy machine gets the core.
    WAIT_SPIN = 4000
    MISSES, SKIP = 3, 16

    def __init__(self, jm, workers: int):
        import threading
        self.jm = jm
        self.pid = os.getpid()
        # [0] the task's number, [1 + w] blocks worker w finished of it.
        self.flags = np.zeros(1 + workers, np.int64)
        self.task: tuple | None = None  # (fn, args, row edges, block counter) while running
        self.error: BaseException | None = None
        self.sleepers = 0
        self.misses = self.skip = 0
        self.cond = threading.Condition()
        self.busy = threading.Lock()  # one caller at a time; others run their rows alone
        # Compiled (or loaded from numba's cache) here, not first in a worker thread.
        jm.spin_while(self.flags, 0, -1, 1)
        jm.post_and_spin(self.flags, 1, 0, 0, -1, 1)
        jm.spin_until_sum(self.flags, 1, 0, 1)
        for w in range(workers):
            threading.Thread(target=self._work, args=(w,), daemon=True,
                             name=f"mxlite-kernel-{w}").start()

    def _work(self, w: int) -> None:
        if _LOCAL_THREADS is not None:
            _LOCAL_THREADS(1)  # every GEMM of a kernel runs on its own thread
        flags, seen, done = self.flags, 0, 0
        while True:
            # The blocks of the last task are counted here, from compiled code: the caller
            # takes the GIL back once they are, and this thread then polls without it.
            if not self.jm.post_and_spin(flags, 1 + w, done, 0, seen, self.IDLE_SPIN):
                with self.cond:
                    self.sleepers += 1
                    while flags[0] == seen:
                        self.cond.wait()
                    self.sleepers -= 1
            seen, done = int(flags[0]), 0
            task = self.task
            if task is None:  # the caller ran every block before this worker woke
                continue
            fn, args, edges, claim = task
            for i in claim:
                if i >= len(edges) - 1:
                    break
                try:
                    fn(edges[i], edges[i + 1], *args)
                except BaseException as e:  # handed to the caller
                    self.error = e
                # Counted per block (only this thread writes its slot): a worker that read
                # the task number late may meet the same task in two turns of this loop.
                done += 1
            # Hold no array between tasks: a convolution's im2col matrix would outlive it.
            task = fn = args = edges = claim = None

    def run(self, fn, rows: int, *args, publish: bool = False) -> bool:
        """``fn`` over the row blocks of ``[0, rows)``; False (nothing run) when another
        thread is using the team.

        ``publish``: ``fn`` is one of ``_jit``'s whole-task kernels, whose first argument
        after the rows is ``pub`` (``args[0]``, empty): the caller's first block gets the
        task counter there instead and publishes the task itself once it runs without the
        GIL (``_jit._publish``). A worker woken while the caller ran Python would wait for
        the GIL asleep, and started 35-45 us late; published by the caller's compiled
        block, it takes the GIL at once, with no wait on either side."""
        import itertools
        if self.skip:
            self.skip -= 1
            return False
        if not self.busy.acquire(blocking=False):
            return False
        try:
            parts = len(self.flags)
            edges = [rows * i // parts for i in range(parts + 1)]
            claim = itertools.count()
            self.task = (fn, args, edges, claim)
            self.error = None
            flags = self.flags
            flags[1:] = 0
            awake = not self.sleepers
            first = publish and awake
            if not first:
                flags[0] += 1  # after the task and the counts: the workers read them next
                awake = not self.sleepers
                if not awake:
                    with self.cond:
                        self.cond.notify_all()
            mine = 0
            try:
                if first:  # a polling worker: the caller's block 0 publishes the task
                    next(claim)
                    mine += 1
                    fn(edges[0], edges[1], flags, *args[1:])
                for i in claim:
                    if i >= parts:
                        break
                    mine += 1
                    fn(edges[i], edges[i + 1], *args)
            finally:
                theirs = parts - mine
                if theirs and not self.jm.spin_until_sum(flags, 1, theirs, self.WAIT_SPIN):
                    import time
                    while flags[1:].sum() < theirs:
                        time.sleep(2e-5)
            # No polling worker took a block, several times running: the other cores are
            # busy (other jobs). Waking the workers then only costs; the next tasks run
            # alone. (A sleeping worker may just be slow to wake: no evidence.)
            if awake:
                self.misses = self.misses + 1 if theirs == 0 else 0
            if self.misses >= self.MISSES:
                self.misses, self.skip = 0, self.SKIP
            if self.error is not None:
                err, self.error = self.error, None
                raise err
            return True
        finally:
            self.task = None
            self.busy.release()


_TEAM: list = []  # [_Team] of :func:`_in_parallel`, made on first use


def _in_parallel(fn, rows: int, *args, publish: bool = False) -> None:
    """``fn(r0, r1, *args)`` over row blocks of ``[0, rows)``, one per core, on the calling
    thread and the kernels' workers (:class:`_Team`; the compiled kernels and numpy's BLAS
    release the GIL). Results do not depend on the split: rows are independent."""
    parts = min(THREADS, rows)
    if parts <= 1:
        fn(0, rows, *args)
        return
    team = _TEAM[0] if _TEAM else None
    if team is None or team.pid != os.getpid():
        # A forked child (a data-loading worker) has none of its parent's threads.
        jm = _JIT[0] or _load_jit()
        team = _Team(jm, THREADS - 1) if jm else None
        _TEAM[:] = [team] if team is not None else []
    if team is None or not team.run(fn, rows, *args, publish=publish):
        fn(0, rows, *args)


def _run_rows(fn, rows: int, work: int, *args, publish: bool = False) -> None:
    """A row-ranged compiled kernel over ``[0, rows)``, split over the cores when ``work`` is
    worth a wake-up (``PARALLEL_WORK``); ``publish``: see :meth:`_Team.run`."""
    if work < PARALLEL_WORK or THREADS < 2:
        fn(0, rows, *args)
    else:
        _in_parallel(fn, rows, *args, publish=publish)


def _gemm_rows(r0: int, r1: int, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    _gemm_one_thread(a[r0:r1], b, out[r0:r1])


def gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``. With the compiled kernels on, a 2-D product of ``SPLIT_GEMM_MACS`` or more
    runs as row blocks of single-threaded BLAS calls on the kernels' threads
    (:func:`_in_parallel`); otherwise a product under ``SMALL_GEMM_MACS`` runs on one BLAS
    thread and a bigger one as numpy's BLAS decides."""
    if _LOCAL_THREADS is None:
        return np.matmul(a, b)
    macs = a.shape[-2] * a.shape[-1] * b.shape[-1]
    if (THREADS > 1 and macs >= SPLIT_GEMM_MACS and a.ndim == 2 and b.ndim == 2
            and a.shape[0] >= 2 * THREADS and jit() is not None):
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
        _in_parallel(_gemm_rows, a.shape[0], a, b, out)
        return out
    if macs < SMALL_GEMM_MACS:
        return _gemm_one_thread(a, b)
    return np.matmul(a, b)


# Products of this many multiply-adds or more, with their epilogue, run as row blocks on the
# kernels' threads (:func:`gemm_epilogue`). Lower than ``SPLIT_GEMM_MACS``: the epilogue's
# pass is split too, and runs on rows still in cache.
FUSED_GEMM_MACS = 1 << 22


def gemm_epilogue(a: np.ndarray, b: np.ndarray, scale=None, bias=None, act=None,
                  along_rows: bool = True) -> np.ndarray:
    """``_epilogue(gemm(a, b), scale, bias, act, along_rows)``. With the compiled kernels on,
    a 2-D product of ``FUSED_GEMM_MACS`` or more runs as row blocks on the kernels' threads
    (:func:`_jit.gemm_epilogue_rows`), each block's epilogue right after its GEMM while the
    block is in cache: one wake-up of the workers instead of two."""
    jm = jit()
    m, k = a.shape
    n = b.shape[-1]
    dt = a.dtype
    if (jm is None or _GEMM.get(dt) is None or THREADS < 2 or b.ndim != 2
            or m < 2 * THREADS or m * k * n < FUSED_GEMM_MACS
            or not (_blas_ok(a) and _blas_ok(b))
            or not jm.dtype_ok(a, b, *(v for v in (scale, bias) if v is not None))):
        return _epilogue(gemm(a, b), scale, bias, act, along_rows)
    out = np.empty((m, n), dt)
    dummy = np.zeros(1, dt)
    lo, hi = act if act is not None else (0.0, 0.0)
    _blas_task(jm.gemm_epilogue_rows, m, dt, a, b, out, dummy if scale is None else scale,
               dummy if bias is None else bias, dt.type(lo), dt.type(hi), scale is not None,
               bias is not None, act is not None, along_rows)
    return out


def _blas_ok(a: np.ndarray) -> bool:
    """Whether a 2-D array is a BLAS operand as it lies: row-major or column-major with a
    leading dimension that does not overlap rows (a broadcast operand's zero stride would
    be read as a leading dimension of the row length)."""
    (r, c), (s0, s1), isz = a.shape, a.strides, a.itemsize
    return ((s1 == isz or c == 1) and (r == 1 or s0 >= max(c, 1) * isz and s0 % isz == 0)
            or (s0 == isz or r == 1) and (c == 1 or s1 >= max(r, 1) * isz and s1 % isz == 0))


_NO_PUB = np.zeros(0, np.int64)  # a whole-task kernel's ``pub`` when it publishes nothing


def _blas_task(kernel, rows: int, dt: np.dtype, *args, work: int | None = None) -> None:
    """``kernel(r0, r1, pub, gemm, one, zero, *args)`` over the row blocks of ``[0, rows)``:
    one of ``_jit``'s kernels that multiply through numpy's BLAS (``gemm``, its
    ``cblas_?gemm`` for ``dt``) without the GIL, on the kernels' threads (:func:`_run_rows`
    when ``work`` is given, else always :func:`_in_parallel`), the caller's first block
    publishing the task (``pub``, :meth:`_Team.run`). Every thread's BLAS runs
    single-threaded meanwhile."""
    full = (_NO_PUB, _GEMM[dt], dt.type(1), dt.type(0), *args)
    prev = _LOCAL_THREADS(1)
    try:
        if work is None:
            _in_parallel(kernel, rows, *full, publish=True)
        else:
            _run_rows(kernel, rows, work, *full, publish=True)
    finally:
        _LOCAL_THREADS(prev)


def _bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A batch of products; one product goes through :func:`gemm`, so that every big GEMM of
    a pass runs on the same threads (OpenBLAS's spinning workers beside the kernels' threads
    made a training step 19% slower)."""
    if a.shape[0] == 1:
        return gemm(a[0], b[0])[None]
    return np.matmul(a, b)


# -------------------------------------------------------------------------- compiled kernels

_JIT: list = [None]  # the ops._jit module, False when off or missing, None before the first look


def _load_jit():
    try:
        from . import _jit as mod
    except ImportError:  # numba not installed: the numpy path
        return False
    return mod


def jit():
    """The compiled-kernel module :mod:`mxlite.ops._jit` (numba), or None where it is switched
    off (environment ``MXLITE_JIT=0``, or :func:`set_jit`) or numba is not installed. Imported
    on the first call, so ``import mxlite`` never loads numba; each kernel compiles (or loads
    from numba's cache) on its own first call."""
    mod = _JIT[0]
    if mod is None:
        off = os.environ.get("MXLITE_JIT", "1").strip().lower() in ("0", "off", "false", "no")
        mod = _JIT[0] = False if off else _load_jit()
    return mod or None


def set_jit(enabled: bool | None) -> bool:
    """Use the compiled kernels in this process (True, where numba is installed), not
    (False), or as ``MXLITE_JIT`` says (None); returns whether they were in use. Results
    agree either way within float32 rounding (the kernels keep numpy's summation order)."""
    was = jit() is not None
    _JIT[0] = None if enabled is None else _load_jit() if enabled else False
    return was


def _act_numpy(y: np.ndarray, act: tuple | None) -> None:
    """Clip ``y`` in place to ``act = (lo, hi)`` (ReLU is ``(0, inf)``), as the executor's
    activation kernels would on the convolution's fresh output."""
    if act is None:
        return
    lo, hi = act
    if np.isinf(hi) and hi > 0 and lo == 0:
        np.maximum(y, y.dtype.type(0), out=y)
    else:
        np.clip(y, lo, hi, out=y)


def _epilogue(y: np.ndarray, scale, bias, act, along_rows: bool = True) -> np.ndarray:
    """``y * scale + bias`` then ``act`` in place on a GEMM output, per column of y (M, F) or,
    ``along_rows=False``, per row of y (F, M); one compiled pass where it can be."""
    if scale is None and bias is None and act is None:
        return y
    jm = jit()
    if (jm is not None and y.ndim == 2 and y.flags.c_contiguous and y.size >= 4096
            and jm.dtype_ok(y, *(v for v in (scale, bias) if v is not None))):
        dummy = np.zeros(1, y.dtype)
        lo, hi = act if act is not None else (0.0, 0.0)
        kern = jm.epilogue_rows if along_rows else jm.epilogue_cols
        _run_rows(kern, y.shape[0], y.size, y, dummy if scale is None else scale,
                  dummy if bias is None else bias, y.dtype.type(lo), y.dtype.type(hi),
                  scale is not None, bias is not None, act is not None)
        return y
    if scale is not None:
        y *= scale if along_rows else scale[:, None]
    if bias is not None:
        y += bias if along_rows else bias[:, None]
    _act_numpy(y, act)
    return y


def _to_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) seen as (N, *S, C), a view (``np.moveaxis(x, 1, -1)`` without its
    per-call axis normalisation, which was a measurable part of a small layer's time)."""
    return x.transpose(0, *range(2, x.ndim), 1)


def _to_first(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) seen as (N, C, *S), a view."""
    return y.transpose(0, y.ndim - 1, *range(1, y.ndim - 1))


def _channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> C-contiguous (N, *S, C), without a copy when it lies so already."""
    return np.ascontiguousarray(_to_last(x))


# -------------------------------------------------------------------------- sizes


def conv_out_size(size: int, k: int, stride: int, pad: int, dilate: int) -> int:
    return (size + 2 * pad - dilate * (k - 1) - 1) // stride + 1


def pool_out_size(size: int, k: int, stride: int, pad: int, convention: str) -> int:
    """MXNet's pooling output length along one axis for ``valid``, ``full`` or ``same``."""
    if convention == "valid":
        return (size + 2 * pad - k) // stride + 1
    if convention == "full":
        return -(-(size + 2 * pad - k) // stride) + 1
    return -(-size // stride)  # same


# -------------------------------------------------------------------------- helpers


def _pad_channels_last(x: np.ndarray, pad: Ints, after: Ints | None = None,
                       fill: float = 0) -> np.ndarray:
    """(N, C, *S) -> (N, *S', C) padded with ``fill`` (``pad`` before, ``after`` or ``pad``
    after each spatial axis), in at most one copy: none when ``x`` already lies channels-last
    in memory and needs no padding."""
    after = pad if after is None else after
    if not any(pad) and not any(after):
        return _channels_last(x)
    n, c, *spatial = x.shape
    shape = (n, *(s + b + a for s, b, a in zip(spatial, pad, after)), c)
    out = np.zeros(shape, x.dtype) if fill == 0 else np.full(shape, fill, x.dtype)
    inner = tuple(slice(p, p + s) for s, p in zip(spatial, pad))
    out[(slice(None), *inner, slice(None))] = _to_last(x)
    return out


def _windows_cl(xp: np.ndarray, out: Ints, kernel: Ints, stride: Ints, dilate: Ints
                ) -> np.ndarray:
    """Read-only view (N, *out, *kernel, C) over a channels-last padded array."""
    sn, *ss, sc = xp.strides
    shape = (xp.shape[0], *out, *kernel, xp.shape[-1])
    strides = (sn, *(s * st for s, st in zip(ss, stride)),
               *(s * d for s, d in zip(ss, dilate)), sc)
    return as_strided(xp, shape, strides, writeable=False)


def _offset_slices(k_index: Ints, out: Ints, stride: Ints, dilate: Ints) -> tuple[slice, ...]:
    """Spatial slices of the padded input hit by kernel offset ``k_index`` for every output."""
    return tuple(slice(k * d, k * d + (o - 1) * s + 1, s)
                 for k, o, s, d in zip(k_index, out, stride, dilate))


def _row_windows(xp: np.ndarray, out: Ints, kernel: Ints, stride: Ints, dilate: Ints):
    """Per kernel offset, the window of the channels-last padded ``xp`` as (N, *out[:-1],
    out[-1] * C): each output row one contiguous run, so elementwise work over it runs long
    inner loops instead of C values at a time. A stride along the last axis is first split
    into that many column phases (one pass over the input) so every offset reads rows."""
    n, c = xp.shape[0], xp.shape[-1]
    ow, st_last, dl_last = out[-1], stride[-1], dilate[-1]
    phases = [xp] if st_last == 1 else [
        np.ascontiguousarray(xp[..., a::st_last, :]) for a in range(st_last)]
    rows = (n, *out[:-1], ow * c)
    for k_index in np.ndindex(*kernel):
        *lead, last = k_index
        col = last * dl_last
        j = col // st_last
        win = phases[col % st_last][
            (slice(None), *_offset_slices(tuple(lead), out[:-1], stride[:-1], dilate[:-1]),
             slice(j, j + ow), slice(None))]
        yield win.reshape(rows)


def _im2col(x: np.ndarray, kernel: Ints, stride: Ints, pad: Ints, dilate: Ints
            ) -> tuple[np.ndarray, Ints]:
    """(N*prod(out), prod(kernel)*C) matrix, columns ordered (kernel..., C)."""
    spatial = x.shape[2:]
    out = tuple(conv_out_size(s, k, st, p, d)
                for s, k, st, p, d in zip(spatial, kernel, stride, pad, dilate))
    gather = _compiled_gather(x, kernel, out)
    if gather is not None:
        jm, first, src = gather
        cols = np.empty((x.shape[0] * prod(out), prod(kernel) * x.shape[1]), x.dtype)
        _run_rows(jm.im2col2d_first if first else jm.im2col2d, x.shape[0] * out[0],
                  cols.size, src, cols, *kernel, *stride, *pad, *dilate)
        return cols, out
    xp = _pad_channels_last(x, pad)
    cols = _windows_cl(xp, out, kernel, stride, dilate)
    return cols.reshape(x.shape[0] * prod(out), prod(kernel) * x.shape[1]), out


def _compiled_gather(x: np.ndarray, kernel: Ints, out: Ints) -> tuple | None:
    """How :func:`_im2col` gathers with the compiled kernels: ``(jm, first, source)``, where
    ``first`` says the source is the channel-first input itself (``_jit.im2col2d_first``),
    else its channels-last copy (``_jit.im2col2d``); None for numpy's strided copy."""
    jm = jit()
    if jm is None or len(kernel) != 2 or not jm.dtype_ok(x) or prod(out) == 0:
        return None
    # Few channels copy a few values per tap, where numpy's strided copy is faster, but
    # from channel-first memory (a network's input image) the compiled gather reads it as
    # it lies: a channels-last copy of a 3x224x224 image alone took 0.18 ms.
    if x.shape[1] < 16:
        return (jm, True, x) if x.flags.c_contiguous else None
    return jm, False, _channels_last(x)


def _im2col_weights(w: np.ndarray, scale: np.ndarray | None, m: int
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """A convolution's weights as the (K*C, F) operand of an im2col GEMM of ``m`` rows, and
    the part of ``scale`` still to apply to the product: the scale rides in the re-laid copy
    of the weights when they are no bigger than the product."""
    wt = _weight_matrix(w, 1)[0]
    if scale is not None and wt.size <= m * w.shape[0]:
        if np.may_share_memory(wt, w):  # the re-layout needed no copy (size-1 dims)
            wt = wt * scale
        else:
            wt *= scale  # a fresh copy: the scale goes into it for free
        scale = None
    return wt, scale


def _im2col_ck(x: np.ndarray, kernel: Ints, stride: Ints, pad: Ints, dilate: Ints
               ) -> np.ndarray:
    """(N*prod(out), C*prod(kernel)) matrix, columns ordered (C, kernel...) like a weight's
    rows: a slower gather than :func:`_im2col` (short runs), for small outputs."""
    n, c, *spatial = x.shape
    out = tuple(conv_out_size(s, k, st, p, d)
                for s, k, st, p, d in zip(spatial, kernel, stride, pad, dilate))
    xp = _pad_channels_last(x, pad)
    sn, *ss, sc = xp.strides
    view = as_strided(xp, (n, *out, c, *kernel),
                      (sn, *(st * s for st, s in zip(ss, stride)), sc,
                       *(st * d for st, d in zip(ss, dilate))), writeable=False)
    return np.ascontiguousarray(view).reshape(n * prod(out), c * prod(kernel))


def _col2im(dcols: np.ndarray, x_shape: Ints, out: Ints, kernel: Ints, stride: Ints,
            pad: Ints, dilate: Ints) -> np.ndarray:
    """Adjoint of :func:`_im2col`: scatter-add columns back into (N, C, *S)."""
    n, c, *spatial = x_shape
    padded = tuple(s + 2 * p for s, p in zip(spatial, pad))
    dxp = np.zeros((n, *padded, c), dtype=dcols.dtype)
    d = dcols.reshape(n, *out, prod(kernel), c)
    for i, k_index in enumerate(np.ndindex(*kernel)):
        dxp[(slice(None), *_offset_slices(k_index, out, stride, dilate))] += d[..., i, :]
    inner = tuple(slice(p, p + s) for s, p in zip(spatial, pad))
    return np.moveaxis(dxp[(slice(None), *inner)], -1, 1)


def _weight_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """(F, C/g, *K) -> (g, prod(K)*C/g, F/g), rows ordered (kernel..., C) like the columns."""
    f, cg, *kernel = w.shape
    wg = w.reshape(groups, f // groups, cg, prod(kernel))
    return wg.transpose(0, 3, 2, 1).reshape(groups, prod(kernel) * cg, f // groups)


def _grouped_cols(cols: np.ndarray, kprod: int, groups: int) -> np.ndarray:
    """(M, K*C) -> (g, M, K*C/g): each group's columns, ordered (kernel..., C/g)."""
    m = cols.shape[0]
    c = cols.shape[1] // kprod
    return cols.reshape(m, kprod, groups, c // groups).transpose(2, 0, 1, 3).reshape(
        groups, m, kprod * (c // groups))


def _to_channel_first(y2d: np.ndarray, n: int, out: Ints) -> np.ndarray:
    return _to_first(y2d.reshape(n, *out, y2d.shape[-1]))


# -------------------------------------------------------------------------- convolution


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                 pad: Ints, dilate: Ints, groups: int = 1,
                 scale: np.ndarray | None = None, act: tuple | None = None) -> np.ndarray:
    """y[n, f, o] = act(scale[f] * sum_{c,k} x[n, c, o*stride + k*dilate - pad] * w[f, c, k]
    + b[f]).

    ``scale`` (per filter, default 1) is an inference BatchNorm folded in by the executor; it
    goes into the weights or onto the output, whichever is smaller. ``act = (lo, hi)`` clips
    the result (ReLU is ``(0, inf)``), the executor's fused activation.

    The result is a channel-first view of channels-last memory (what the GEMM produces). No
    transpose is paid here: elementwise kernels keep that memory order, and the next
    convolution or pooling reads it as the contiguous channels-last array it wants.
    """
    n, c = x.shape[:2]
    f, cg, *kernel = w.shape
    kernel = tuple(kernel)
    if groups > 1 and cg == 1 and f == c:
        return _to_first(_depthwise(x, w, stride, pad, dilate, scale, b, act))
    if groups == 1:
        if _small_output(x, w, stride, pad, dilate) and not _pointwise_rows(x, w, stride, pad):
            return _conv_filters_first(x, w, b, stride, pad, dilate, scale, act)
        y = _im2col_gemm(x, w, b, stride, pad, dilate, scale, act)
        if y is not None:
            return y
        cols, wt, out, scale = _gemm_conv(x, w, stride, pad, dilate, scale)
        return _to_channel_first(gemm_epilogue(cols, wt, scale, b, act), n, out)
    cols, out = _im2col(x, kernel, stride, pad, dilate)
    y2d = gemm(_grouped_cols(cols, prod(kernel), groups), _weight_matrix(w, groups))
    y2d = y2d.transpose(1, 0, 2).reshape(cols.shape[0], f)
    _epilogue(y2d, scale, b, act)
    return _to_channel_first(y2d, n, out)


def _out_shape(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints, dilate: Ints) -> Ints:
    return tuple(conv_out_size(s, k, st, p, d)
                 for s, k, st, p, d in zip(x.shape[2:], w.shape[2:], stride, pad, dilate))


def _small_output(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints, dilate: Ints) -> bool:
    # Fewer output pixels than ~1.6x the filters: the weights are the big GEMM operand.
    return x.shape[0] * prod(_out_shape(x, w, stride, pad, dilate)) * 5 < w.shape[0] * 8


def _pointwise_rows(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints) -> bool:
    # A 1x1 convolution needs no weight re-layout either way; from 128 output pixels on,
    # BLAS runs (pixels, C) @ (C, F) within 10% of the filters-first product, and its
    # channels-last output spares the next depthwise layer a transposing copy (MobileNet V2's
    # 14x14 layers: 26-67 us a copy against 8-16 us of GEMM).
    return (w.shape[2:] == (1,) * (w.ndim - 2) and not any(pad)
            and all(st == 1 for st in stride) and x.size // x.shape[1] >= 128)


def _conv_filters_first(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                        pad: Ints, dilate: Ints, scale: np.ndarray | None,
                        act: tuple | None = None) -> np.ndarray:
    """An ungrouped convolution as ``W (F, C*K) @ cols (C*K, N*out)`` for small outputs.

    Where the weights outnumber the output pixels (small images, late layers: ResNet's
    512x512x3x3 layers at batch 1) they are used as they lie, with no per-call re-layout
    (they are parameters that may change in place between calls, so nothing is cached), and
    the im2col is gathered channel-first, in their (C, K) order, from a small channel-first
    copy of the input. The result is filter-major memory, (F, N, *out), seen as (N, F, *out).
    """
    n, c, *spatial = x.shape
    f, kernel = w.shape[0], tuple(w.shape[2:])
    out = _out_shape(x, w, stride, pad, dilate)
    if prod(kernel) == 1 and not any(pad) and all(st == 1 for st in stride):
        # The input itself, (C, N*S): a view at batch 1 in either memory order (BLAS reads
        # channels-last memory as a transposed matrix), which saves two copies.
        cols = x.swapaxes(0, 1).reshape(c, -1)
    else:
        xp = np.zeros((c, n, *(sz + 2 * p for sz, p in zip(spatial, pad))), dtype=x.dtype)
        xp[(slice(None), slice(None), *(slice(p, p + sz) for sz, p in zip(spatial, pad)))] = \
            x.swapaxes(0, 1)
        sc, sn, *ss = xp.strides
        view = as_strided(xp, (c, *kernel, n, *out),
                          (sc, *(st * d for st, d in zip(ss, dilate)), sn,
                           *(st * s for st, s in zip(ss, stride))), writeable=False)
        cols = np.ascontiguousarray(view).reshape(c * prod(kernel), n * prod(out))
    wm = w.reshape(f, -1)
    if scale is not None and wm.size < cols.shape[1] * f:
        wm = wm * scale[:, None]
        scale = None
    y = gemm_epilogue(wm, cols, scale, b, act, along_rows=False)
    return y.reshape(f, n, *out).swapaxes(0, 1)


def _gemm_conv(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints, dilate: Ints,
               scale: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, Ints, np.ndarray | None]:
    """An ungrouped convolution as one GEMM over a channels-last im2col: its operands
    ``cols`` (N*prod(out), K*C) and weights (K*C, F), ``out``, and the part of ``scale``
    still to apply to the product (None when it went into the weights). The weights are
    re-laid out as (K*C, F) to meet it (cheap: this route is taken where the output is the
    bigger operand); the scale rides in that fresh copy or on the output, whichever is
    smaller. A 1x1 convolution is the channels-last data (sub-sampled by the stride) times
    the weights as they lie.
    """
    n, c = x.shape[:2]
    kernel = tuple(w.shape[2:])
    out = _out_shape(x, w, stride, pad, dilate)
    m = n * prod(out)
    if prod(kernel) == 1 and not any(pad):
        xcl = _to_last(x)
        if any(st != 1 for st in stride):
            xcl = xcl[(slice(None), *(slice(0, (o - 1) * st + 1, st)
                                      for o, st in zip(out, stride)), slice(None))]
        # A view where it can be (batch 1, either memory order): BLAS reads a transposed
        # matrix as it lies.
        cols = xcl.reshape(m, c)
        wt, scale = _pointwise_weights(w, scale, m)
    else:
        cols, _ = _im2col(x, kernel, stride, pad, dilate)
        wt, scale = _im2col_weights(w, scale, m)
    return cols, wt, out, scale


def _im2col_gemm(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                 pad: Ints, dilate: Ints, scale: np.ndarray | None, act: tuple | None
                 ) -> np.ndarray | None:
    """:func:`_gemm_conv` then :func:`gemm_epilogue` for a 2-D convolution big enough for
    the kernels' threads, as one compiled task (:func:`_jit.im2col_gemm_rows`): each thread
    gathers its rows' im2col and multiplies them while they are in cache. None where that
    route does not apply (the caller runs the two calls)."""
    n, c = x.shape[:2]
    f, kernel = w.shape[0], tuple(w.shape[2:])
    dt = x.dtype
    out = _out_shape(x, w, stride, pad, dilate)
    m, k = n * prod(out), prod(kernel) * c
    if (prod(kernel) == 1 or THREADS < 2 or _GEMM.get(dt) is None or w.dtype != dt
            or m < 2 * THREADS or m * k * f < FUSED_GEMM_MACS):
        return None
    gather = _compiled_gather(x, kernel, out)
    if gather is None or not gather[0].dtype_ok(x, *(v for v in (b, scale) if v is not None)):
        return None
    jm, first, src = gather
    wt, scale = _im2col_weights(w, scale, m)
    cols = np.empty((m, k), dt)
    y = np.empty((m, f), dt)
    dummy = np.zeros(1, dt)
    lo, hi = act if act is not None else (0.0, 0.0)
    _blas_task(jm.im2col_gemm_rows, n * out[0], dt, src, first, cols, *kernel, *stride, *pad,
               *dilate, out[1], wt, y, dummy if scale is None else scale,
               dummy if b is None else b, dt.type(lo), dt.type(hi), scale is not None,
               b is not None, act is not None)
    return _to_channel_first(y, n, out)


def _pointwise_weights(w: np.ndarray, scale: np.ndarray | None, m: int
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """A 1x1 convolution's weights (F, C, 1...) as the (C, F) GEMM operand, a view, and the
    part of ``scale`` left for the product of ``m`` rows: it goes into a scaled copy of the
    weights when they are under a quarter of the product's size."""
    f = w.shape[0]
    wt = w.reshape(f, -1).T
    if scale is not None and wt.size * 4 < m * f:
        return wt * scale, None
    return wt, scale


def _depthwise_kernel_args(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints,
                           dilate: Ints, scale, b, act, out: Ints, y: np.ndarray) -> tuple:
    """The arguments after ``(r0, r1)`` of ``_jit.depthwise2d`` writing the channels-last
    output ``y`` (N, *out, C)."""
    n, c, *spatial = x.shape
    dt = y.dtype
    lo, hi = act if act is not None else (0.0, 0.0)
    dummy = np.zeros(1, dt)
    # Weights tiled along the output row are faster for few channels (32: 0.48 against
    # 0.59 ms single-threaded), a loop over each pixel's channels for many (576: 0.11
    # against 0.12 ms).
    return (_channels_last(x).reshape(n * spatial[0], -1), w.reshape(c, *w.shape[2:]),
            dummy if scale is None else scale, dummy if b is None else b,
            y.reshape(n * out[0], -1), out[0], c, *stride, *pad, *dilate, dt.type(lo),
            dt.type(hi), scale is not None, b is not None, act is not None,
            stride[-1] == 1 and c < 192)


def _depthwise_ok(jm, x: np.ndarray, w: np.ndarray, scale, b, out: Ints) -> bool:
    """Whether the compiled depthwise kernel takes this convolution."""
    return (jm is not None and len(out) == 2 and prod(out) > 0 and w.dtype == x.dtype
            and jm.dtype_ok(x, *(v for v in (b, scale) if v is not None)))


def _dw_pw_rows(r0: int, r1: int, jm, dw_args: tuple, y2d: np.ndarray, wt: np.ndarray,
                z: np.ndarray, ow: int, epi: tuple | None) -> None:
    # Depthwise output rows [r0, r1), then the pointwise GEMM of just their pixels while
    # they are in cache, then its epilogue.
    jm.depthwise2d(r0, r1, *dw_args)
    p0, p1 = r0 * ow, r1 * ow
    _gemm_one_thread(y2d[p0:p1], wt, z[p0:p1])
    if epi is not None:
        jm.epilogue_rows(p0, p1, z, *epi)


def depthwise_pointwise(x: np.ndarray, wd: np.ndarray, stride: Ints, pad: Ints,
                        dilate: Ints, groups: int, sd, bd, actd, wp: np.ndarray, sp, bp,
                        actp) -> np.ndarray:
    """``conv_forward(conv_forward(x, wd, bd, stride, pad, dilate, groups, sd, actd), wp, bp,
    (1,) * k, (0,) * k, (1,) * k, 1, sp, actp)``: a depthwise convolution and the 1x1
    convolution that alone reads it (MobileNet's inverted residual blocks), the executor's
    fused step.

    With the compiled kernels, each thread computes a block of the depthwise output's rows
    and at once the pointwise GEMM and epilogue of those pixels, while they are in cache:
    one task on the kernels' threads instead of two, no trip of the intermediate through
    memory. The same kernels and operand layouts as the two calls, so the same values;
    anything else (numpy path, another shape) is the two calls."""
    n, c = x.shape[:2]
    f = wp.shape[0]
    jm = jit()
    out = _out_shape(x, wd, stride, pad, dilate)
    k = len(out)
    fused = (jm is not None and THREADS > 1 and groups == c and wd.shape[:2] == (c, 1)
             and wp.shape[1:] == (c, *(1,) * k) and _depthwise_ok(jm, x, wd, sd, bd, out)
             and jm.dtype_ok(x, wp, *(v for v in (sp, bp) if v is not None)))
    if fused:
        y = np.empty((n, *out, c), x.dtype)
        yv = _to_first(y)
        ones, zeros = (1,) * k, (0,) * k
        # Only where conv_forward takes the pixel-rows route for the 1x1 convolution.
        fused = not (_small_output(yv, wp, ones, zeros, ones)
                     and not _pointwise_rows(yv, wp, ones, zeros))
    if not fused:
        yv = conv_forward(x, wd, bd, stride, pad, dilate, groups, sd, actd)
        ones = (1,) * k
        return conv_forward(yv, wp, bp, ones, (0,) * k, ones, 1, sp, actp)
    m = n * prod(out)
    wt, sp = _pointwise_weights(wp, sp, m)
    z = np.empty((m, f), x.dtype)
    epi = None
    if sp is not None or bp is not None or actp is not None:
        dummy = np.zeros(1, x.dtype)
        lo, hi = actp if actp is not None else (0.0, 0.0)
        epi = (dummy if sp is None else sp, dummy if bp is None else bp, x.dtype.type(lo),
               x.dtype.type(hi), sp is not None, bp is not None, actp is not None)
    dw_args = _depthwise_kernel_args(x, wd, stride, pad, dilate, sd, bd, actd, out, y)
    _run_rows(_dw_pw_rows, n * out[0], y.size * prod(wd.shape[2:]) + m * c * f, jm, dw_args,
              y.reshape(m, c), wt, z, out[-1], epi)
    return _to_channel_first(z, n, out)


def _epi_all(dt: np.dtype, scale, bias, act) -> tuple:
    """:func:`_epi_args`, with flags off where it has nothing to do (a compiled caller)."""
    z = np.zeros(1, dt)
    return _epi_args(dt, scale, bias, act) or (z, z, dt.type(0), dt.type(0), False, False,
                                               False)


def _epi_args(dt: np.dtype, scale, bias, act) -> tuple | None:
    """The arguments after ``(r0, r1, y)`` of ``_jit.epilogue_rows``; None if it has nothing
    to do."""
    if scale is None and bias is None and act is None:
        return None
    dummy = np.zeros(1, dt)
    lo, hi = act if act is not None else (0.0, 0.0)
    return (dummy if scale is None else scale, dummy if bias is None else bias, dt.type(lo),
            dt.type(hi), scale is not None, bias is not None, act is not None)


def expand_depthwise_pointwise(x: np.ndarray, we: np.ndarray, se, be, acte,
                               wd: np.ndarray, stride: Ints, pad: Ints, dilate: Ints,
                               groups: int, sd, bd, actd, wp: np.ndarray, sp, bp, actp,
                               memo: dict | None = None, residual: bool = False
                               ) -> np.ndarray:
    """A 1x1 convolution ``we`` (with ``se``, ``be``, ``acte`` as in :func:`conv_forward`)
    then :func:`depthwise_pointwise` of its output: MobileNet V2's inverted residual block
    (expand, depthwise, project), the executor's fused step.

    With the compiled kernels the depthwise output's rows are shared among the threads in
    one task (the separate calls take two): each thread expands the input rows its block
    reads (the rows at a block's edge are expanded by both threads), then runs the
    depthwise rows and their projection. Bands of a few rows, to keep the expanded rows in
    L2, measured slower here at every size (the 4.8 MB expansion of 112x112x96 fits this
    machine's L3; per band the GEMMs are smaller and less efficient). The same kernels,
    operand layouts and summation orders as the separate calls (up to how BLAS sums a
    block of rows); anything else is the separate calls.

    ``residual``: ``x`` is added to the result (the block's shortcut; same shape and dtype),
    by each thread to its rows while they are in cache.

    ``memo``, a dict the caller keeps between calls whose arguments differ only in their
    values and the input's shape (the executor's step), holds what the shapes and dtypes
    decide (route, geometry): ~20 us of checks per block and forward otherwise."""
    jm = jit()
    plan = False
    if memo is not None:
        key = (x.shape, x.dtype, we.shape, wd.shape, wp.shape, jm is not None, residual)
        plan = memo.get(key, False)
    if plan is False:
        plan = _edp_plan(jm, x, we, se, be, acte, wd, stride, pad, dilate, groups, sd, bd,
                         actd, wp, sp, bp, actp, residual)
        if memo is not None:
            memo[key] = plan
    if plan is None:
        k = x.ndim - 2
        ones, zeros = (1,) * k, (0,) * k
        y = conv_forward(x, we, be, ones, zeros, ones, 1, se, acte)
        z = depthwise_pointwise(y, wd, stride, pad, dilate, groups, sd, bd, actd, wp, sp, bp,
                                actp)
        return np.add(z, x, out=z) if residual else z
    out, m, geo, tiled, dummy, work, dw_static, by_channels = plan
    if by_channels:
        return _edp_channels(jm, x, we, se, be, acte, wd, sd, bd, wp, sp, bp, actp, out,
                             geo, dw_static, dummy, residual)
    n, cin = x.shape[:2]
    ce = we.shape[0]
    dt = x.dtype
    wte, se = _pointwise_weights(we, se, geo[0] * geo[1] * n)
    wtp, sp = _pointwise_weights(wp, sp, m)
    wk, wrow = jm.taps(wd.reshape(ce, *wd.shape[2:]), dummy if sd is None else sd,
                       sd is not None, out[1], tiled)
    z = np.empty((m, wp.shape[0]), dt)
    x2d = _to_last(x).reshape(-1, cin)
    if not _blas_ok(x2d):
        x2d = np.ascontiguousarray(x2d)
    _blas_task(jm.ex_dw_pw_rows, n * out[0], dt, x2d, wte, *_epi_all(dt, se, be, acte),
               *geo[:4], geo[6], wk, wrow, dummy if bd is None else bd, *dw_static[1:], wtp,
               z, *_epi_all(dt, sp, bp, actp), residual, work=work)
    return _to_channel_first(z, n, out)


# Up to this many pixels, a 1x1 convolution of a small image runs filters first
# (weights @ (C, pixels)): at 7x7 that was 15-20% faster per thread than pixels first, at
# 14x14 10-20% slower.
_FF_PIXELS = 64


def _edp_channels(jm, x: np.ndarray, we: np.ndarray, se, be, acte, wd: np.ndarray, sd, bd,
                  wp: np.ndarray, sp, bp, actp, out: Ints, geo: tuple, dw_static: tuple,
                  dummy: np.ndarray, residual: bool) -> np.ndarray:
    """:func:`expand_depthwise_pointwise` of one small image (14x14 outputs or fewer) with
    the threads sharing the expanded channels: each expands, runs the depthwise layer on and
    projects its own channels (every step reads only its channels until the projection's
    sum), one task without a barrier; the caller adds the threads' partial projections and
    applies the epilogue and the shortcut. Row blocks there are a few rows of GEMM each
    that both threads' expansions overlap, and measured 1.2-1.4x on two threads against
    1.5-1.7x for this. The projection sums its channels in parts, so the values differ
    from the separate calls' by float rounding. At 7x7 the result is channel-first memory
    (the filters-first product), else channels-last."""
    cin, ce, f = x.shape[1], we.shape[0], wp.shape[0]
    m = out[0] * out[1]
    dt = x.dtype
    xt = x.reshape(cin, -1) if x.flags.c_contiguous else _to_last(x).reshape(-1, cin).T
    parts = THREADS
    first = m <= _FF_PIXELS
    zp = np.empty((parts, f, m) if first else (parts, m, f), dt)
    if not _blas_ok(xt):
        xt = np.ascontiguousarray(xt)
    contiguous = np.ascontiguousarray
    _blas_task(jm.edp_channel_parts, parts, dt, parts, xt, contiguous(we.reshape(ce, cin)),
               *_epi_all(dt, se, be, acte), contiguous(wd.reshape(ce, *wd.shape[2:])),
               dummy if sd is None else sd, sd is not None, dummy if bd is None else bd,
               *geo[:4], *dw_static[2:12], contiguous(wp.reshape(f, ce)), zp,
               xt.shape[1] <= _FF_PIXELS, first)
    z = zp[0]
    for i in range(1, parts):
        z += zp[i]
    epi = _epi_args(dt, sp, bp, actp)
    if epi is not None:
        (jm.epilogue_cols if first else jm.epilogue_rows)(0, z.shape[0], z, *epi)
    if residual:
        z += xt if first else xt.T
    return z.reshape(1, f, *out) if first else _to_channel_first(z, 1, out)


def _edp_plan(jm, x: np.ndarray, we: np.ndarray, se, be, acte, wd: np.ndarray,
              stride: Ints, pad: Ints, dilate: Ints, groups: int, sd, bd, actd,
              wp: np.ndarray, sp, bp, actp, residual: bool) -> tuple | None:
    """What the shapes and dtypes decide for :func:`expand_depthwise_pointwise`: None for
    the separate calls, else the output size and the kernels' fixed arguments."""
    n, cin = x.shape[:2]
    ce, f = we.shape[0], wp.shape[0]
    k = x.ndim - 2
    ones, zeros = (1,) * k, (0,) * k
    if not (jm is not None and _GEMM.get(x.dtype) is not None and k == 2
            and we.shape == (ce, cin, 1, 1) and groups == ce and wd.shape[:2] == (ce, 1)
            and wp.shape[1:] == (ce, 1, 1) and all(v.dtype == x.dtype for v in (we, wd, wp))
            and jm.dtype_ok(x, *(v for v in (se, be, sd, bd, sp, bp) if v is not None))):
        return None
    out = _out_shape(x, wd, stride, pad, dilate)
    m = n * prod(out)
    if m <= 0 or (residual and (out != tuple(x.shape[2:]) or f != cin)):
        return None
    h, w_in = x.shape[2:]
    dt = x.dtype
    tiled = stride[-1] == 1 and ce < 192  # as _depthwise_kernel_args decides
    lo, hi = actd if actd is not None else (0.0, 0.0)
    dw_static = (out[0], ce, *stride, *pad, *dilate, dt.type(lo), dt.type(hi),
                 bd is not None, actd is not None, tiled)
    geo = (h, w_in, out[0], out[1], stride[0], pad[0], wd.shape[2], dilate[0])
    work = n * h * w_in * cin * ce + m * ce * (prod(wd.shape[2:]) + f)
    # One image of at most 14x14 output pixels: the threads share the expanded channels
    # instead of the rows (_edp_channels).
    by_channels = n == 1 and m <= 196 and THREADS > 1 and work >= PARALLEL_WORK
    # Row blocks only where conv_forward takes the pixel-rows route for the expansion and
    # the projection.
    if not by_channels and not (_pointwise_rows(x, we, ones, zeros)
                                and (m >= 128 or m * 5 >= f * 8)):
        return None
    return out, m, geo, tiled, np.zeros(1, dt), work, dw_static, by_channels


def _depthwise(x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints, dilate: Ints,
               scale: np.ndarray | None = None, b: np.ndarray | None = None,
               act: tuple | None = None) -> np.ndarray:
    """Depthwise convolution plus bias and ``act``, channels-last (N, *out, C).

    A GEMM per group would be 1x1 matrices. The compiled kernel (2-D) reads the unpadded input
    once per tap row and keeps each output row in cache through all taps and the epilogue.
    The numpy route multiply-accumulates one kernel offset at a time over the whole tensor,
    each offset's product written into one scratch buffer; the windows come as whole output
    rows (:func:`_row_windows`), multiplied by the offset's weights tiled along the row (2-3x
    faster than broadcasting C weights over (N, *out, C)). Both sum the taps in the same order.
    """
    n, c, *spatial = x.shape
    kernel = w.shape[2:]
    out = tuple(conv_out_size(s, k, st, p, d)
                for s, k, st, p, d in zip(spatial, kernel, stride, pad, dilate))
    dt = np.result_type(x, w)
    jm = jit()
    if _depthwise_ok(jm, x, w, scale, b, out):
        y = np.empty((n, *out, c), dt)
        _run_rows(jm.depthwise2d, n * out[0], y.size * prod(kernel),
                  *_depthwise_kernel_args(x, w, stride, pad, dilate, scale, b, act, out, y))
        return y
    wk = np.ascontiguousarray(w.reshape(c, prod(kernel)).T, dt)  # (taps, C)
    if scale is not None:
        wk *= scale
    xp = _pad_channels_last(x, pad)
    wrow = np.tile(wk, (1, out[-1]))  # (taps, out[-1] * C)
    y = tmp = None
    for i, win in enumerate(_row_windows(xp, out, kernel, stride, dilate)):
        if y is None:
            y = np.multiply(win, wrow[0])
            tmp = np.empty_like(y)
        else:
            np.multiply(win, wrow[i], out=tmp)
            y += tmp
    y = y.reshape(n, *out, c)
    if b is not None:
        y += b
    _act_numpy(y, act)
    return y


def conv_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints,
                  dilate: Ints, groups: int = 1, need_dx: bool = True, need_dw: bool = True
                  ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Gradients (dx, dw, db) of :func:`conv_forward` for the head gradient ``dy``."""
    n, c = x.shape[:2]
    f, cg, *kernel = w.shape
    kernel = tuple(kernel)
    kprod = prod(kernel)
    out = dy.shape[2:]
    fg = f // groups
    db = dy.sum(axis=(0, *range(2, dy.ndim)))
    dx = dw = None
    if (groups == 1 and _out_shape(x, w, stride, pad, dilate) == tuple(out)
            and _small_output(x, w, stride, pad, dilate)):
        # Weights outnumber the output pixels: use them as they lie, (F, C*K), with the
        # im2col in their (C, K) order (as the forward's filters-first route), instead of
        # re-laying both weights and weight gradient out per call.
        dy2d = _group_rows(dy, 1)[0]  # (M, F)
        if need_dw:
            dw = gemm(dy2d.T, _im2col_ck(x, kernel, stride, pad, dilate)).reshape(w.shape)
        if need_dx:
            dcols = gemm(dy2d, w.reshape(f, c * kprod))  # (M, C*K)
            dx = _col2im(dcols.reshape(-1, c, kprod).transpose(0, 2, 1), x.shape, out, kernel,
                         stride, pad, dilate)
        return dx, dw, db
    dyg = _group_rows(dy, groups)  # (g, M, F/g)
    if need_dw:
        cols, _ = _im2col(x, kernel, stride, pad, dilate)
        colsg = cols[None] if groups == 1 else _grouped_cols(cols, kprod, groups)
        dwm = _bmm(colsg.transpose(0, 2, 1), dyg)  # (g, K*C/g, F/g)
        dw = dwm.reshape(groups, kprod, cg, fg).transpose(0, 3, 2, 1).reshape(w.shape)
    if need_dx:
        dx = _conv_input_grad(dyg, w, x.shape, out, stride, pad, dilate, groups)
    return dx, dw, db


def _conv_input_grad(dyg: np.ndarray, w: np.ndarray, x_shape: Ints, out: Ints, stride: Ints,
                     pad: Ints, dilate: Ints, groups: int) -> np.ndarray:
    """dx of a convolution from the grouped head gradient ``dyg`` (g, M, F/g)."""
    c = x_shape[1]
    cg, kernel = w.shape[1], tuple(w.shape[2:])
    m = dyg.shape[1]
    dcolsg = _bmm(dyg, _weight_matrix(w, groups).transpose(0, 2, 1))  # (g, M, K*C/g)
    dcols = dcolsg.reshape(groups, m, prod(kernel), cg).transpose(1, 2, 0, 3).reshape(
        m, prod(kernel) * c)
    return _col2im(dcols, x_shape, out, kernel, stride, pad, dilate)


def _group_rows(y: np.ndarray, groups: int) -> np.ndarray:
    """(N, F, *S) -> (g, N*prod(S), F/g), the layout GEMMs over a head gradient take."""
    f = y.shape[1]
    y2d = np.moveaxis(y, 1, -1).reshape(-1, f)
    return y2d.reshape(-1, groups, f // groups).transpose(1, 0, 2)


# -------------------------------------------------------------------------- deconvolution


def deconv_out_size(size: int, k: int, stride: int, pad: int, dilate: int, adj: int) -> int:
    return stride * (size - 1) + dilate * (k - 1) + 1 - 2 * pad + adj


def deconv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                   pad: Ints, dilate: Ints, adj: Ints, groups: int = 1) -> np.ndarray:
    """Transposed convolution: the input-gradient of a convolution whose output is ``x``.

    ``w`` is (C_in, F/g, *K) as MXNet stores Deconvolution weights.
    """
    n, c, *spatial = x.shape
    kernel = tuple(w.shape[2:])
    f = w.shape[1] * groups
    out = tuple(deconv_out_size(s, k, st, p, d, a)
                for s, k, st, p, d, a in zip(spatial, kernel, stride, pad, dilate, adj))
    y = _conv_input_grad(_group_rows(x, groups), w, (n, f, *out), tuple(spatial), stride,
                         pad, dilate, groups)
    if b is not None:
        y = y + b.reshape((1, f) + (1,) * len(kernel))
    return np.ascontiguousarray(y)


def deconv_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, pad: Ints,
                    dilate: Ints, groups: int = 1, need_dx: bool = True, need_dw: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """Gradients (dx, dw, db) of :func:`deconv_forward`."""
    db = dy.sum(axis=(0, *range(2, dy.ndim)))
    dx = dw = None
    if need_dx:
        dx = conv_forward(dy, w, None, stride, pad, dilate, groups)
        dx = dx[(slice(None), slice(None), *(slice(0, s) for s in x.shape[2:]))]
    if need_dw:
        # d/dw of <conv_adjoint(x, w), dy> equals the conv weight-gradient with the roles of
        # image (dy) and head gradient (x) exchanged.
        _, dw, _ = conv_backward(x, dy, w, stride, pad, dilate, groups, need_dx=False)
    return dx, dw, db


# -------------------------------------------------------------------------- pooling


def _pool_geometry(spatial: Ints, kernel: Ints, stride: Ints, pad: Ints, convention: str
                   ) -> tuple[Ints, Ints, Ints]:
    """(out, pad_before, pad_after) so every window lies inside the padded input."""
    out = tuple(pool_out_size(s, k, st, p, convention)
                for s, k, st, p in zip(spatial, kernel, stride, pad))
    if convention == "same":
        pad = tuple(max((o - 1) * st + k - s, 0) // 2
                    for o, st, k, s in zip(out, stride, kernel, spatial))
    after = tuple(max((o - 1) * st + k - s - p, p)
                  for o, st, k, s, p in zip(out, stride, kernel, spatial, pad))
    return out, tuple(pad), after


def _pool_divisor(spatial: Ints, kernel: Ints, stride: Ints, pad: Ints, out: Ints,
                  count_include_pad: bool, dtype: np.dtype) -> np.ndarray:
    """Per-output window sizes as MXNet counts them (clipped at the padded or real edge)."""
    div = np.ones((), dtype=dtype)
    for axis, (s, k, st, p, o) in enumerate(zip(spatial, kernel, stride, pad, out)):
        start = np.arange(o) * st - p
        end = np.minimum(start + k, s + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, s)
        shape = [1] * (len(spatial) + 1)  # channels last
        shape[axis] = o
        div = div * (end - start).astype(dtype).reshape(shape)
    # A `full`-convention window wholly outside the input sums nothing; MXNet yields 0 there.
    return np.maximum(div, 1)


def _lowest(dtype: np.dtype):
    # MXNet pads max pooling with the lowest finite value, so a window of padding alone
    # yields -FLT_MAX rather than -inf.
    return np.finfo(dtype).min if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def pool_forward(x: np.ndarray, pool_type: str, kernel: Ints, stride: Ints, pad: Ints,
                 convention: str = "valid", count_include_pad: bool = True,
                 p_value: int = 2) -> np.ndarray:
    """Max, avg, sum or lp pooling of (N, C, *S) over ``kernel`` windows.

    Works channels-last, where each window offset reads whole contiguous channel rows (several
    times faster than strided reads along the last spatial axis), and returns a channel-first
    view of that memory, as :func:`conv_forward` does.
    """
    spatial = x.shape[2:]
    out, before, after = _pool_geometry(spatial, kernel, stride, pad, convention)
    if (pool_type in ("max", "avg", "sum") and tuple(kernel) == tuple(spatial)
            and all(o == 1 for o in out) and not any(before) and not any(after)):
        # One window over the whole input (global pooling): a reduction over the spatial axes.
        axes = tuple(range(2, x.ndim))
        if x.ndim > 2 and x.strides[1] == x.itemsize and x.shape[1] > 1:
            # Channels-last memory (a convolution's output): reduce over its pixel rows,
            # whole channel rows at a time (a strided reduction over the spatial axes took
            # 80 us on MobileNet's 1280x7x7 against 10).
            rows = _to_last(x).reshape(x.shape[0], -1, x.shape[1])
            y = rows.max(axis=1) if pool_type == "max" else rows.sum(axis=1)
            y = y.reshape(*x.shape[:2], *(1,) * len(axes))
        elif pool_type == "max":
            return x.max(axis=axes, keepdims=True)
        elif x.flags.c_contiguous and x.dtype in (np.float32, np.float64):
            # Channel-first memory: a product with ones sums each channel's pixels (numpy's
            # reduction pays per row: 33 us against 5 for 1280 rows of 7x7).
            s = prod(x.shape[2:])
            y = gemm(x.reshape(-1, s), np.ones(s, x.dtype)).reshape(*x.shape[:2], *(1,) * len(axes))
        else:
            y = x.sum(axis=axes, keepdims=True)
        if pool_type == "max":
            return y
        if pool_type == "avg":
            y /= y.dtype.type(prod(spatial))
        return y
    fill = _lowest(x.dtype) if pool_type == "max" else 0
    jm = jit() if pool_type == "max" and len(kernel) == 2 else None
    if jm is not None and jm.dtype_ok(x) and prod(out) > 0:
        y = np.empty((x.shape[0], *out, x.shape[1]), x.dtype)
        _run_rows(jm.maxpool2d, x.shape[0] * out[0], y.size * prod(kernel), _channels_last(x),
                  y, *kernel, *stride, *before, x.dtype.type(fill))
        return _to_first(y)
    xp = _pad_channels_last(x, before, after, fill)
    y = None
    for win in _row_windows(xp, out, kernel, stride, (1,) * len(kernel)):
        if pool_type == "lp" and p_value != 1:
            win = win ** p_value
        if y is None:
            y = win.copy()
        elif pool_type == "max":
            np.maximum(y, win, out=y)
        else:
            y += win
    y = y.reshape(x.shape[0], *out, x.shape[1])
    if pool_type == "avg":
        y /= _pool_divisor(spatial, kernel, stride, before, out, count_include_pad, y.dtype)
    elif pool_type == "lp" and p_value != 1:
        y = np.sqrt(y) if p_value == 2 else np.cbrt(y) if p_value == 3 else (
            np.sign(y) * np.abs(y) ** (1.0 / p_value))
    return _to_first(y)


def pool_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray, pool_type: str,
                  kernel: Ints, stride: Ints, pad: Ints, convention: str = "valid",
                  count_include_pad: bool = True, p_value: int = 2) -> np.ndarray:
    """Gradient of :func:`pool_forward`; max routes each gradient to the window's first max."""
    spatial = x.shape[2:]
    out, before, after = _pool_geometry(spatial, kernel, stride, pad, convention)
    ones = (1,) * len(kernel)
    fill = _lowest(x.dtype) if pool_type == "max" else 0
    xp = _pad_channels_last(x, before, after, fill)
    dy, y = np.moveaxis(dy, 1, -1), np.moveaxis(y, 1, -1)
    dxp = np.zeros(xp.shape, dtype=dy.dtype)
    if pool_type == "avg":
        g = dy / _pool_divisor(spatial, kernel, stride, before, out, count_include_pad,
                               dy.dtype)
    elif pool_type == "lp" and p_value != 1:
        # d/dx (sum x^p)^(1/p) = x^(p-1) / y^(p-1)
        g = dy / np.where(y == 0, 1, y) ** (p_value - 1)
    else:
        g = dy
    taken = np.zeros(dy.shape, dtype=bool) if pool_type == "max" else None
    for k_index in np.ndindex(*kernel):
        sl = (slice(None), *_offset_slices(k_index, out, stride, ones))
        if pool_type == "max":
            hit = (xp[sl] == y) & ~taken
            taken |= hit
            dxp[sl] += np.where(hit, dy, 0)
        elif pool_type == "lp" and p_value != 1:
            dxp[sl] += g * xp[sl] ** (p_value - 1)
        else:
            dxp[sl] += g
    inner = tuple(slice(b, b + s) for s, b in zip(spatial, before))
    return np.moveaxis(dxp[(slice(None), *inner)], -1, 1)
