"""``box_nms`` on 10,000 boxes, mxlite vs MXNet.

    python benchmarks/bench_box_nms.py [--boxes 10000] [--repeat 5] [--rounds 3]
                                       [--threads N] [--mxnet-python /tmp/mxref/bin/python]

Both sides call ``mx.nd.contrib.box_nms`` on the same rows ``[class id, score, x1, y1, x2,
y2]`` (``numpy.random.default_rng(0)``; 5 classes, uniform scores) in three layouts:

- ``scattered``: boxes 4..64 pixels wide anywhere in a 512 x 512 image (SSD-like output);
- ``clustered``: the same boxes around 20 object centres (many overlaps, most suppressed);
- ``crowded``: 16..96-pixel boxes in a 128 x 128 image (nearly every pair overlaps);

each with the default parameters, with ``id_index=0`` (per-class NMS) and with
``overlap_thresh=0.7``. A timing is the best of ``--repeat`` calls after one warm-up call
(``wait_to_read`` on the output). Each side runs in a fresh subprocess of this script; the
sides alternate ``--rounds`` times and each one's best round counts. ``--threads`` sets OMP /
OpenBLAS / MKL thread counts for both. Target: mxlite >= 1.0x MXNet's speed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

import numpy as np
from _sides import MXNET_PYTHON, best_of

TARGET = 1.0
LAYOUTS = ("scattered", "clustered", "crowded")
SETTINGS = {"default": {}, "id_index=0": {"id_index": 0},
            "overlap_thresh=0.7": {"overlap_thresh": 0.7}}


def make_boxes(layout: str, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if layout == "scattered":
        xy = rng.random((n, 2)) * 512
        wh = rng.random((n, 2)) * 60 + 4
    elif layout == "clustered":
        centres = rng.random((20, 2)) * 448 + 32
        xy = centres[rng.integers(0, 20, n)] + rng.normal(0, 12, (n, 2))
        wh = rng.random((n, 2)) * 60 + 4
        xy -= wh / 2
    else:
        xy = rng.random((n, 2)) * 128
        wh = rng.random((n, 2)) * 80 + 16
    rows = np.concatenate([rng.integers(0, 5, (n, 1)), rng.random((n, 1)), xy, xy + wh], 1)
    return rows.astype(np.float32)[None]


def run(backend: str, n: int, repeat: int) -> dict:
    """Seconds per call (best of ``repeat``) and boxes kept, per layout and setting."""
    mx = importlib.import_module(backend)
    res = {}
    for layout in LAYOUTS:
        x = mx.nd.array(make_boxes(layout, n))
        for name, kw in SETTINGS.items():
            out = mx.nd.contrib.box_nms(x, **kw)
            out.wait_to_read()
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                out = mx.nd.contrib.box_nms(x, **kw)
                out.wait_to_read()
                best = min(best, time.perf_counter() - t0)
            kept = int((out.asnumpy()[0, :, 1] >= 0).sum())
            res[f"{layout} {name}"] = {"seconds": best, "kept": kept}
    return {"backend": backend, "version": getattr(mx, "__version__", "?"), "results": res,
            "score": -sum(r["seconds"] for r in res.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boxes", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the sides this many times; the best round counts")
    ap.add_argument("--backend", default="mxlite", choices=["mxlite", "mxnet"])
    ap.add_argument("--backend-only", action="store_true",
                    help="run --backend once in this process and print JSON")
    ap.add_argument("--threads", type=int, default=0,
                    help="BLAS / OpenMP threads for both sides (0: their defaults)")
    ap.add_argument("--mxnet-python", default=MXNET_PYTHON)
    args = ap.parse_args()
    if args.backend_only:
        print(json.dumps(run(args.backend, args.boxes, args.repeat)))
        return

    threads = args.threads or "default"
    print(f"box_nms on {args.boxes} boxes (1 batch, rows [id, score, x1, y1, x2, y2]); best of "
          f"{args.repeat} calls, best of {args.rounds} rounds; threads: {threads}")
    variants = [["--boxes", str(args.boxes), "--repeat", str(args.repeat)]]
    best = best_of(__file__, variants, args.rounds, args.mxnet_python, args.threads,
                   lambda r: (r["backend"],), "score")
    mine = best[("mxlite",)]["results"]
    theirs = best.get(("mxnet",), {}).get("results")
    ratios = []
    print(f"  {'case':<32} {'mxlite ms':>10} {'MXNet ms':>10} {'ratio':>7}  kept")
    for key, r in mine.items():
        if theirs is None:
            print(f"  {key:<32} {r['seconds'] * 1e3:10.1f} {'-':>10} {'-':>7}  {r['kept']}")
            continue
        t = theirs[key]
        ratio = t["seconds"] / r["seconds"]
        ratios.append(ratio)
        same = "" if t["kept"] == r["kept"] else f" (MXNet kept {t['kept']}!)"
        print(f"  {key:<32} {r['seconds'] * 1e3:10.1f} {t['seconds'] * 1e3:10.1f} "
              f"{ratio:6.2f}x  {r['kept']}{same}")
    if ratios:
        total = sum(t["seconds"] for t in theirs.values()) / sum(
            r["seconds"] for r in mine.values())
        print(f"  mxlite / MXNet speed: {min(ratios):.2f}x worst case, {total:.2f}x over all "
              f"cases  (target >= {TARGET})")
    else:
        print(f"  (no MXNet at {args.mxnet_python}: mxlite only)")


if __name__ == "__main__":
    sys.exit(main())
