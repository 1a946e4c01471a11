"""Gluon training throughput: an MLP 784-512-512-10 with ``autograd`` + ``Trainer``,
mxlite vs MXNet, hybridized and imperative.

    python benchmarks/bench_gluon.py [--samples 20000] [--batch 128] [--epochs 3] [--rounds 3]
                                     [--threads N] [--mxnet-python /tmp/mxref/bin/python]

Both sides run the same loop through their own ``mx``: ``nn.HybridSequential`` of three
``nn.Dense`` layers (relu, relu, none), ``SoftmaxCrossEntropyLoss``, ``Trainer`` with SGD
(learning rate 0.01, momentum 0.9), ``Xavier`` initialization, over the same random data
sliced into NDArray batches beforehand (so the data pipeline is not measured). Each step is
``with autograd.record(): loss = loss_fn(net(x), y)``, ``loss.backward()``,
``trainer.step(batch)``; the end of an epoch waits for the engine (``mx.nd.waitall()``).
Throughput is samples per second of the best epoch after the first (which carries tracing,
binding and warm-up). Each side and mode runs in a fresh subprocess of this script (``--backend
mxnet`` under the MXNet interpreter, when it exists); the sides alternate ``--rounds`` times
and each one's best round counts. ``--threads`` sets OMP / OpenBLAS / MKL thread counts for
both. Targets: mxlite >= 1.2x MXNet hybridized, >= 1.0x imperative.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

import numpy as np
from _sides import MXNET_PYTHON, best_of

TARGETS = {"hybridized": 1.2, "imperative": 1.0}


def make_data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples).astype(np.float32)
    return x, y


def run(backend: str, hybridize: bool, samples: int, batch: int, epochs: int) -> dict:
    """Train with ``backend`` ('mxlite' or 'mxnet'); per-epoch seconds and samples/s."""
    mx = importlib.import_module(backend)
    from_nd = mx.nd.array
    x, y = make_data(samples)
    n = samples // batch * batch
    batches = [(from_nd(x[i:i + batch]), from_nd(y[i:i + batch])) for i in range(0, n, batch)]
    nn = mx.gluon.nn
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(512, activation="relu"), nn.Dense(512, activation="relu"),
                nn.Dense(10))
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                               {"learning_rate": 0.01, "momentum": 0.9})
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for data, label in batches:
            with mx.autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(batch)
        mx.nd.waitall()
        seconds.append(time.perf_counter() - t0)
    steady = min(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return {"backend": backend, "version": getattr(mx, "__version__", "?"),
            "mode": "hybridized" if hybridize else "imperative",
            "epoch_seconds": seconds, "samples_per_epoch": n, "samples_per_sec": n / steady,
            "final_loss": float(loss.mean().asscalar())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the sides this many times; the best round counts")
    ap.add_argument("--backend", default="mxlite", choices=["mxlite", "mxnet"])
    ap.add_argument("--mode", default="both", choices=["both", "hybridized", "imperative"])
    ap.add_argument("--backend-only", action="store_true",
                    help="run --backend in --mode once in this process and print JSON")
    ap.add_argument("--threads", type=int, default=0,
                    help="BLAS / OpenMP threads for both sides (0: their defaults)")
    ap.add_argument("--mxnet-python", default=MXNET_PYTHON)
    args = ap.parse_args()
    modes = ["hybridized", "imperative"] if args.mode == "both" else [args.mode]
    if args.backend_only:
        print(json.dumps(run(args.backend, modes[0] == "hybridized", args.samples, args.batch,
                             args.epochs)))
        return

    threads = args.threads or "default"
    print(f"Gluon MLP 784-512-512-10, SGD momentum 0.9, batch {args.batch}, {args.samples} "
          f"samples, {args.epochs} epochs; best epoch after the first, best of {args.rounds} "
          f"rounds; threads: {threads}")
    variants = [["--mode", mode, "--samples", str(args.samples), "--batch", str(args.batch),
                 "--epochs", str(args.epochs)] for mode in modes]
    best = best_of(__file__, variants, args.rounds, args.mxnet_python, args.threads,
                   lambda r: (r["backend"], r["mode"]), "samples_per_sec")
    for mode in modes:
        print(f" {mode}:")
        results = [best[(b, mode)] for b in ("mxnet", "mxlite") if (b, mode) in best]
        for r in results:
            epochs = " ".join(f"{s:.2f}" for s in r["epoch_seconds"])
            print(f"  {r['backend']:<7} {r['version']:<6} {r['samples_per_sec']:9.0f} samples/s"
                  f"  (epochs: {epochs} s; last loss {r['final_loss']:.4f})")
        if len(results) == 2:
            ratio = results[1]["samples_per_sec"] / results[0]["samples_per_sec"]
            print(f"  mxlite / MXNet = {ratio:.2f}x  (target >= {TARGETS[mode]})")
        else:
            print(f"  (no MXNet at {args.mxnet_python}: mxlite only)")


if __name__ == "__main__":
    sys.exit(main())
