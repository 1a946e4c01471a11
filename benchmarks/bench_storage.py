"""Storage: memory-mapped opens, keys-only loads over S3, and save/load through an S3 endpoint.

    python benchmarks/bench_storage.py [--mib 512] [--arrays 200] [--s3-mib 512] [--repeat 5]
                                       [--dir /tmp]

1. mmap: ``--mib`` MiB of float32 in ``--arrays`` arrays saved to a local file; timed (page
   cache warm, best of ``--repeat``): ``mx.nd.load(path, mmap=True)`` plus reading one value,
   ``mx.nd.open(path)`` plus listing every shape, and a full ``mx.nd.load`` for scale.
   Target: mmap open + one value < 20 ms.
2. keys-only over S3: the same kind of file (``--s3-mib``) put on moto's S3 server on
   127.0.0.1, read through s3fs over HTTP: ``mx.nd.load(uri, keys=[one 1/arrays array])``;
   bytes moved and requests counted by a wrapping filesystem. Target: one array of ~2.5 MiB
   from 512 MiB moves less than the array plus 1 MiB.
3. whole files over S3: ``mx.nd.save`` / ``mx.nd.load`` of the file against s3fs putting /
   getting the same bytes as one object (``fs.pipe`` / ``fs.cat_file``), best of
   ``--repeat``, alternating.

moto's server copies the whole object for every ranged GET, so its per-request time grows
with the object's size: a real S3 serves a range in roughly constant time. The request count
printed is the figure that carries over.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time

import fsspec
import numpy as np

import mxlite as mx
from mxlite.ndarray.ndarray import NDArray

MIB = 1 << 20


def make_arrays(mib: int, count: int) -> dict:
    per = mib * MIB // 4 // count
    cols = 256 if per >= 256 else 1
    rng = np.random.default_rng(0)
    return {f"arg:layer{i}_weight": NDArray(
        rng.standard_normal((per // cols, cols), dtype=np.float32)) for i in range(count)}


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


class Counting(fsspec.AbstractFileSystem):
    """``counting://PATH``: ``target``'s PATH, tallying the bytes and requests served."""

    protocol = "counting"
    cachable = False
    bytes_read = 0
    requests = 0

    def __init__(self, target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = self.target.cat_file(self._strip_protocol(path), start=start, end=end)
        Counting.bytes_read += len(data)
        Counting.requests += 1
        return data

    def size(self, path):
        return self.target.size(self._strip_protocol(path))

    def info(self, path, **kwargs):
        return self.target.info(self._strip_protocol(path))


def bench_mmap(args) -> None:
    d = make_arrays(args.mib, args.arrays)
    path = os.path.join(args.dir, "bench_storage_mmap.params")
    mx.nd.save(path, d)
    size = os.path.getsize(path)
    key = list(d)[args.arrays // 2]
    want = float(d[key].asnumpy()[3, 5])

    def open_one():
        got = mx.nd.load(path, mmap=True)
        assert got[key][3, 5].asscalar() == want

    def lazy_shapes():
        with mx.nd.open(path) as f:
            assert len({k: f[k].shape for k in f}) == args.arrays

    mx.nd.load(path)  # warm the page cache
    t_mmap = best(open_one, args.repeat)
    t_open = best(lazy_shapes, args.repeat)
    t_full = best(lambda: mx.nd.load(path), min(args.repeat, 3))
    print(f"[mmap] {args.arrays} float32 arrays, {size / MIB:.1f} MiB file; best of "
          f"{args.repeat}, page cache warm")
    print(f"  mx.nd.load(mmap=True) + one value  {t_mmap * 1e3:8.2f} ms  (target < 20 ms)")
    print(f"  mx.nd.open + every shape           {t_open * 1e3:8.2f} ms")
    print(f"  mx.nd.load (full copy)             {t_full * 1e3:8.2f} ms")
    os.unlink(path)


def start_s3():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # keep objects in memory (moto spills objects above ~5 MiB to temporary files otherwise)
    os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(2 << 30))
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    opts = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "bench", "secret": "bench"}
    return server, opts


def bench_s3(args) -> None:
    import s3fs

    server, opts = start_s3()
    try:
        fs = s3fs.S3FileSystem(**opts)
        fs.mkdir("bench")
        d = make_arrays(args.s3_mib, args.arrays)
        uri = "s3://bench/model.params"
        mx.nd.save(uri, d, storage_options=opts)
        size = fs.size("bench/model.params")
        key = list(d)[args.arrays // 2]
        nbytes = d[key].asnumpy().nbytes

        fsspec.register_implementation("counting", Counting, clobber=True)
        Counting.bytes_read = Counting.requests = 0
        t = time.perf_counter()
        got = mx.nd.load("counting://bench/model.params", keys=[key],
                         storage_options={"target": fs})
        t_keys = time.perf_counter() - t
        np.testing.assert_array_equal(got[key].asnumpy(), d[key].asnumpy())
        moved, requests = Counting.bytes_read, Counting.requests
        t = time.perf_counter()
        fs.cat_file("bench/model.params", start=0, end=512)
        t_one = time.perf_counter() - t
        print(f"[s3 keys] moto S3 on 127.0.0.1 via s3fs; object {size / MIB:.1f} MiB, "
              f"{args.arrays} arrays")
        print(f"  mx.nd.load(keys=[one])  {t_keys * 1e3:9.1f} ms  moved {moved / MIB:.3f} MiB "
              f"in {requests} requests (array {nbytes / MIB:.3f} MiB; target < array + 1 MiB)")
        print(f"  one 512-byte ranged GET on this server: {t_one * 1e3:.1f} ms")

        blob = fs.cat_file("bench/model.params")
        rows = {"mx.nd.save": [], "s3fs pipe (one object)": [], "mx.nd.load": [],
                "s3fs cat_file": []}
        for _ in range(args.repeat):
            t = time.perf_counter()
            mx.nd.save(uri, d, storage_options=opts)
            rows["mx.nd.save"].append(time.perf_counter() - t)
            t = time.perf_counter()
            fs.pipe("bench/raw.bin", blob)
            rows["s3fs pipe (one object)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            mx.nd.load(uri, storage_options=opts)
            rows["mx.nd.load"].append(time.perf_counter() - t)
            t = time.perf_counter()
            fs.cat_file("bench/raw.bin")
            rows["s3fs cat_file"].append(time.perf_counter() - t)
        print(f"[s3 whole file] {size / MIB:.1f} MiB; best of {args.repeat}, alternating")
        for name, ts in rows.items():
            print(f"  {name:24s} {min(ts) * 1e3:9.1f} ms  {size / MIB / min(ts):7.1f} MiB/s")
        save = min(rows["mx.nd.save"]) / min(rows["s3fs pipe (one object)"])
        load = min(rows["mx.nd.load"]) / min(rows["s3fs cat_file"])
        print(f"  save / pipe = {save:.2f}x   load / cat_file = {load:.2f}x")
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--arrays", type=int, default=200)
    ap.add_argument("--s3-mib", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--skip-s3", action="store_true")
    args = ap.parse_args()
    bench_mmap(args)
    if not args.skip_s3:
        bench_s3(args)


if __name__ == "__main__":
    main()
