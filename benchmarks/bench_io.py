"""Array-file speed and memory: ``mx.nd.save`` / ``mx.nd.load`` against raw numpy file I/O.

    python benchmarks/bench_io.py [--mib 512] [--arrays 200] [--repeat 5] [--dir /tmp]

Writes ``--mib`` MiB of float32 in ``--arrays`` arrays. Each round times, in turn: numpy
``tofile`` of every array into one file (plus ``fsync``, since ``mx.nd.save`` makes its file
durable before renaming it into place), ``mx.nd.save`` of the same arrays as a dict, numpy
``fromfile`` of every array back, and ``mx.nd.load``. The best of ``--repeat`` rounds counts.
Then, untimed, the peak memory traced during one ``mx.nd.load`` is compared with the data
size. Targets: load <= 1.1x raw read, save <= 1.4x raw write, load peak <= 1.2x data.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc

import numpy as np

import mxlite as mx
from mxlite.ndarray.utils import load, save


def make_arrays(mib: int, count: int) -> dict:
    per = mib * (1 << 20) // 4 // count
    cols = 256 if per >= 256 else 1
    rng = np.random.default_rng(0)
    return {f"arg:layer{i}_weight": mx.nd.ndarray.NDArray(
        rng.standard_normal((per // cols, cols), dtype=np.float32)) for i in range(count)}


def raw_write(path: str, arrays: list[np.ndarray]) -> None:
    with open(path, "wb") as f:
        for a in arrays:
            a.tofile(f)
        f.flush()
        os.fsync(f.fileno())


def raw_read(path: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    with open(path, "rb") as f:
        return [np.fromfile(f, a.dtype, a.size).reshape(a.shape) for a in arrays]


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--arrays", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()

    data = make_arrays(args.mib, args.arrays)
    nps = [v._data for v in data.values()]
    nbytes = sum(a.nbytes for a in nps)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="mxlite-bench-") as d:
        raw_path, mx_path = os.path.join(d, "raw.bin"), os.path.join(d, "arrays.params")
        best = {"raw write": [], "mx.nd.save": [], "raw read": [], "mx.nd.load": []}
        for _ in range(args.repeat):
            best["raw write"].append(timed(raw_write, raw_path, nps))
            best["mx.nd.save"].append(timed(save, mx_path, data))
            best["raw read"].append(timed(raw_read, raw_path, nps))
            best["mx.nd.load"].append(timed(load, mx_path))
        t = {k: min(v) for k, v in best.items()}
        back = load(mx_path)
        assert all(np.array_equal(back[k]._data, v._data) for k, v in data.items())
        file_size = os.path.getsize(mx_path)

        del back
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        loaded = load(mx_path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del loaded

    mib = nbytes / (1 << 20)
    print(f"data: {args.arrays} float32 arrays, {mib:.1f} MiB ({nbytes} bytes); "
          f"file {file_size} bytes; best of {args.repeat}, alternating")
    for k, v in t.items():
        print(f"  {k:<11} {v * 1000:9.1f} ms  {mib / v:8.0f} MiB/s")
    print(f"  save / raw write = {t['mx.nd.save'] / t['raw write']:.2f}x  (target <= 1.4)")
    print(f"  load / raw read  = {t['mx.nd.load'] / t['raw read']:.2f}x  (target <= 1.1)")
    print(f"  load peak traced memory = {(peak - base) / (1 << 20):.1f} MiB = "
          f"{(peak - base) / nbytes:.3f}x data  (target <= 1.2)")


if __name__ == "__main__":
    main()
