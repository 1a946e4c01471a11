"""Keep freed array memory in the heap for reuse, as MXNet's pooled storage manager does.

numpy takes every array from ``malloc``. glibc serves blocks above its mmap threshold with
fresh pages from ``mmap`` and gives the top of the heap back to the system whenever more than
its trim threshold is free. Both start small (128 KiB, 256 KiB) and move with the program, so
a training loop that frees and reallocates the same few-MiB activations and gradients every
step keeps returning pages and faulting them back in: a Gluon MLP step measured up to 1.5x
slower from that alone. MXNet avoids it with a memory pool of its own. mxlite asks glibc to
do the pooling: blocks up to 32 MiB (glibc's own ceiling for the moving threshold) come from
the heap, and up to 256 MiB of freed heap is kept. Arrays above 32 MiB still get their own
mappings, which is what lets a big load or a dropped model give memory back.

Set ``MXLITE_POOL_MEMORY=0`` to leave the allocator alone; glibc's own ``MALLOC_MMAP_THRESHOLD_``
or ``MALLOC_TRIM_THRESHOLD_`` in the environment also take precedence. Elsewhere than glibc
this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers

applied = False


def pool_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once; True when they are in force."""
    global applied
    if applied:
        return True
    if os.environ.get("MXLITE_POOL_MEMORY", "1") == "0" or any(
            k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                   and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied
