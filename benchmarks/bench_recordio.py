"""RecordIO read throughput: ``MXRecordIO.read`` against plain file reads of the same bytes.

    python benchmarks/bench_recordio.py [--records 2000] [--kib 24] [--repeat 5] [--dir /tmp]

A ``.rec`` of ``--records`` records of about ``--kib`` KiB (random bytes, sizes varying
+-50%, like JPEGs) is written once; then, page cache warm, best of ``--repeat`` runs,
alternating:

- ``plain``: a hand-written loop over the same file with ``f.read(8)`` (the header) and
  ``f.read(padded length)`` per record on a buffered file: the same bytes, the same number
  of records, no format checks;
- ``recordio``: ``mx.recordio.MXRecordIO(path, 'r').read()`` until None;
- ``read_idx``: opening ``MXIndexedRecordIO`` (parsing the ``.idx``) and ``read_idx`` over
  every key in index order;
- ``mxnet``: MXNet 1.9.1's ``MXRecordIO.read`` on the same file, when /tmp/mxref exists.

Prints MB/s for each and the ratio ``recordio / plain`` (target >= 0.8).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

MXNET_PYTHON = "/tmp/mxref/bin/python"

_MXNET_READ = """
import sys, time
import mxnet as mx
best = 0.0
for _ in range(int(sys.argv[2])):
    r = mx.recordio.MXRecordIO(sys.argv[1], 'r')
    t = time.perf_counter(); n = 0
    while True:
        x = r.read()
        if x is None:
            break
        n += len(x)
    best = max(best, n / (time.perf_counter() - t))
    r.close()
print(best)
"""


def make_file(path: str, records: int, kib: int) -> int:
    from mxlite import recordio as rio

    rng = np.random.default_rng(0)
    sizes = rng.integers(kib * 512, kib * 1536, records)
    blob = rng.integers(0, 256, int(sizes.max()), dtype=np.uint8).tobytes()
    w = rio.MXIndexedRecordIO(path[:-4] + ".idx", path, "w")
    for i, n in enumerate(sizes):
        w.write_idx(i, blob[:n])
    w.close()
    return int(sizes.sum())


def plain(path: str) -> int:
    n = 0
    unpack = struct.Struct("<II").unpack
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if not head:
                break
            length = unpack(head)[1] & ((1 << 29) - 1)
            data = f.read((length + 3) & ~3)
            n += len(data[:length]) if length & 3 else len(data)
    return n


def recordio(path: str) -> int:
    from mxlite import recordio as rio

    n = 0
    r = rio.MXRecordIO(path, "r")
    while True:
        x = r.read()
        if x is None:
            break
        n += len(x)
    r.close()
    return n


def read_idx(path: str) -> int:
    from mxlite import recordio as rio

    r = rio.MXIndexedRecordIO(path[:-4] + ".idx", path, "r")
    n = sum(len(r.read_idx(k)) for k in r.keys)
    r.close()
    return n


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--kib", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--no-mxnet", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "bench.rec")
        total = make_file(path, args.records, args.kib)
        fns = {"plain": plain, "recordio": recordio, "read_idx": read_idx}
        best = dict.fromkeys(fns, 0.0)
        for _ in range(args.repeat):
            for name, fn in fns.items():
                t = time.perf_counter()
                n = fn(path)
                dt = time.perf_counter() - t
                assert n == total, (name, n, total)
                best[name] = max(best[name], n / dt)
        result = {k: round(v / 1e6, 1) for k, v in best.items()}
        if not args.no_mxnet and os.path.exists(MXNET_PYTHON):
            out = subprocess.run([MXNET_PYTHON, "-c", _MXNET_READ, path, str(args.repeat)],
                                 capture_output=True, text=True, check=True)
            result["mxnet"] = round(float(out.stdout.split()[-1]) / 1e6, 1)
    result["ratio_recordio_vs_plain"] = round(best["recordio"] / best["plain"], 2)
    result["ratio_read_idx_vs_plain"] = round(best["read_idx"] / best["plain"], 2)
    if "mxnet" in result:
        result["ratio_recordio_vs_mxnet"] = round(result["recordio"] / result["mxnet"], 2)
    print(f"{args.records} records of ~{args.kib} KiB ({total / 1e6:.1f} MB), MB/s, best of "
          f"{args.repeat}:")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
