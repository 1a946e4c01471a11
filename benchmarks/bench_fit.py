"""``Module.fit`` throughput: an MLP 784-512-512-10 trained with SGD + momentum, mxlite vs MXNet.

    python benchmarks/bench_fit.py [--samples 20000] [--batch 128] [--epochs 3] [--rounds 3]
                                   [--threads N] [--mxnet-python /tmp/mxref/bin/python]

Both sides run the same code through their own ``mx``: ``NDArrayIter`` over the same random
data (float32 images, 10 classes), ``Module.fit`` with ``optimizer='sgd'``, learning rate
0.01, momentum 0.9, the default ``'acc'`` metric, ``Xavier`` initialization. An
``epoch_end_callback`` stamps the time after each epoch (MXNet's engine is drained first),
and throughput is samples per second of the best epoch after the first (the first carries
binding and warm-up). Each side runs in a fresh subprocess of this script (``--backend
mxnet`` under the MXNet interpreter, when it exists); the sides alternate ``--rounds`` times
and each side's best round counts (on a shared machine single runs are noisy). ``--threads``
sets OMP / OpenBLAS / MKL thread counts for both. Target: mxlite >= 1.2x MXNet 1.9.1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time

import numpy as np
from _sides import MXNET_PYTHON, best_of


def make_data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples).astype(np.float32)
    return x, y


def run(backend: str, samples: int, batch: int, epochs: int) -> dict:
    """Train with ``backend`` ('mxlite' or 'mxnet'); per-epoch seconds and samples/s."""
    mx = importlib.import_module(backend)
    x, y = make_data(samples)
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, name="fc1", num_hidden=512)
    net = mx.sym.Activation(net, name="relu1", act_type="relu")
    net = mx.sym.FullyConnected(net, name="fc2", num_hidden=512)
    net = mx.sym.Activation(net, name="relu2", act_type="relu")
    net = mx.sym.FullyConnected(net, name="fc3", num_hidden=10)
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    train = mx.io.NDArrayIter(x, y, batch_size=batch, shuffle=False)
    stamps = [time.perf_counter()]

    def epoch_end(*_args: object) -> None:
        mx.nd.waitall()
        stamps.append(time.perf_counter())

    mod = mx.mod.Module(net)
    logging.disable(logging.INFO)
    mod.fit(train, num_epoch=epochs, optimizer="sgd", initializer=mx.init.Xavier(),
            optimizer_params={"learning_rate": 0.01, "momentum": 0.9},
            epoch_end_callback=epoch_end)
    seconds = [b - a for a, b in zip(stamps, stamps[1:])]
    n = (samples // batch + (samples % batch > 0)) * batch  # 'pad' serves whole batches
    steady = min(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return {"backend": backend, "version": getattr(mx, "__version__", "?"),
            "epoch_seconds": seconds, "samples_per_epoch": n,
            "samples_per_sec": n / steady}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the two sides this many times; the best round counts")
    ap.add_argument("--backend", default="mxlite", choices=["mxlite", "mxnet"])
    ap.add_argument("--backend-only", action="store_true",
                    help="run --backend once in this process and print its result as JSON")
    ap.add_argument("--threads", type=int, default=0,
                    help="BLAS / OpenMP threads for both sides (0: their defaults)")
    ap.add_argument("--mxnet-python", default=MXNET_PYTHON)
    args = ap.parse_args()
    if args.backend_only:
        print(json.dumps(run(args.backend, args.samples, args.batch, args.epochs)))
        return

    threads = args.threads or "default"
    print(f"MLP 784-512-512-10, SGD momentum 0.9, batch {args.batch}, {args.samples} samples, "
          f"{args.epochs} epochs; best epoch after the first, best of {args.rounds} rounds; "
          f"threads: {threads}")
    args_list = ["--samples", str(args.samples), "--batch", str(args.batch), "--epochs",
                 str(args.epochs)]
    best = {k[0]: r for k, r in best_of(__file__, [args_list], args.rounds, args.mxnet_python,
                                         args.threads, lambda r: (r["backend"],),
                                         "samples_per_sec").items()}
    results = [best[b] for b in ("mxnet", "mxlite") if b in best]
    for r in results:
        epochs = " ".join(f"{s:.2f}" for s in r["epoch_seconds"])
        print(f"  {r['backend']:<7} {r['version']:<6} {r['samples_per_sec']:9.0f} samples/s  "
              f"(epochs: {epochs} s)")
    if len(results) == 2:
        ratio = results[1]["samples_per_sec"] / results[0]["samples_per_sec"]
        print(f"  mxlite / MXNet = {ratio:.2f}x  (target >= 1.2)")
    else:
        print(f"  (no MXNet at {args.mxnet_python}: mxlite only)")


if __name__ == "__main__":
    sys.exit(main())
