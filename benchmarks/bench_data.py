"""Image data loading speed: ``mx.io.ImageRecordIter`` images/s, mxlite against MXNet.

    python benchmarks/bench_data.py [--images 2000] [--size 224] [--batch 64] [--threads 2]
                                    [--epochs 3] [--rounds 2]

Writes ``--images`` JPEG images (``--size`` square, quality 90, photo-like patterns) into a
``.rec`` in a temporary folder, then each side (in a fresh subprocess, alternating
``--rounds`` times) reads it with ``ImageRecordIter(data_shape=(3, size, size),
preprocess_threads=threads)`` for ``--epochs`` epochs: decode, centre crop (a no-op at this
size), BGR to RGB, float32 CHW batches. The best epoch of the best round counts. Target:
mxlite >= 1.0x MXNet.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _sides import MXNET_PYTHON, best_of  # noqa: E402


def make_rec(path: str, images: int, size: int) -> None:
    """``images`` JPEGs of smooth colour patterns with noise, packed with mxlite.recordio."""
    import cv2

    from mxlite import recordio

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    w = recordio.MXRecordIO(path, "w")
    for i in range(images):
        a, b, c = rng.uniform(0.01, 0.1, 3)
        img = np.stack([128 + 90 * np.sin(a * xx + b * yy + k + i) for k in range(3)], -1)
        img += 30 * np.cos(c * (xx - yy))[:, :, None]
        img += rng.normal(0, 8, img.shape)
        ok, enc = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        w.write(recordio.pack(recordio.IRHeader(0, float(i % 10), i, 0), enc.tobytes()))
    w.close()


def run(backend: str, rec: str, size: int, batch: int, threads: int, epochs: int) -> dict:
    mx = importlib.import_module(backend)
    it = mx.io.ImageRecordIter(path_imgrec=rec, data_shape=(3, size, size), batch_size=batch,
                               preprocess_threads=threads)
    seconds = []
    count = 0
    for e in range(epochs):
        if e:
            it.reset()
        t = time.perf_counter()
        count = 0
        for b in it:
            b.data[0].wait_to_read()
            count += b.data[0].shape[0] - b.pad
        seconds.append(time.perf_counter() - t)
    return {"backend": backend, "version": getattr(mx, "__version__", "?"),
            "epoch_seconds": seconds, "images": count,
            "images_per_sec": count / min(seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="preprocess_threads of both sides")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rec", help="(internal) the record file to read")
    ap.add_argument("--backend", default="mxlite", choices=["mxlite", "mxnet"])
    ap.add_argument("--backend-only", action="store_true",
                    help="run --backend once in this process and print its result as JSON")
    ap.add_argument("--mxnet-python", default=MXNET_PYTHON)
    args = ap.parse_args()
    if args.backend_only:
        print(json.dumps(run(args.backend, args.rec, args.size, args.batch, args.threads,
                             args.epochs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, "bench.rec")
        make_rec(rec, args.images, args.size)
        mib = os.path.getsize(rec) / (1 << 20)
        print(f"ImageRecordIter: {args.images} JPEGs {args.size}x{args.size} ({mib:.1f} MiB), "
              f"batch {args.batch}, preprocess_threads {args.threads}; best epoch of "
              f"{args.epochs}, best of {args.rounds} rounds")
        extra = ["--rec", rec, "--size", str(args.size), "--batch", str(args.batch),
                 "--threads", str(args.threads), "--epochs", str(args.epochs)]
        best = {k[0]: r for k, r in best_of(__file__, [extra], args.rounds, args.mxnet_python,
                                             0, lambda r: (r["backend"],),
                                             "images_per_sec").items()}
    results = [best[b] for b in ("mxnet", "mxlite") if b in best]
    for r in results:
        epochs = " ".join(f"{s:.2f}" for s in r["epoch_seconds"])
        print(f"  {r['backend']:<7} {r['version']:<6} {r['images_per_sec']:8.0f} images/s  "
              f"(epochs: {epochs} s)")
    if len(results) == 2:
        ratio = results[1]["images_per_sec"] / results[0]["images_per_sec"]
        print(f"  mxlite / MXNet = {ratio:.2f}x  (target >= 1.0)")
    else:
        print(f"  (no MXNet at {args.mxnet_python}: mxlite only)")


if __name__ == "__main__":
    sys.exit(main())
