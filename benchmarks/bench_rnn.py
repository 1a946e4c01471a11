"""The fused ``RNN`` operator: a 2-layer LSTM (sequence 50, batch 32, input and hidden 256),
mxlite vs MXNet, forward (inference) and forward + backward (training).

    python benchmarks/bench_rnn.py [--seq 50] [--batch 32] [--hidden 256] [--layers 2]
                                   [--repeat 20] [--rounds 3] [--threads N]
                                   [--mxnet-python /tmp/mxref/bin/python]

Both sides call ``mx.nd.RNN(data, parameters, state, state_cell, mode='lstm',
state_outputs=True, ...)`` on the same random arrays: "forward" outside autograd, "training"
under ``autograd.record()`` followed by ``backward`` of all three outputs (the gradients of
data, parameters and both states are computed). Each figure is the best of ``--repeat`` timed
calls after two warm-up calls, waiting for MXNet's engine (``mx.nd.waitall()``) after each.
Each side runs in a fresh subprocess of this script (``--backend mxnet`` under the MXNet
interpreter, when it exists); the sides alternate ``--rounds`` times and each one's best round
counts. ``--threads`` sets OMP / OpenBLAS / MKL thread counts for both. Target: mxlite >= 1.0x
MXNet in both modes.
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
MODES = ("forward", "training")


def run(backend: str, mode: str, seq: int, batch: int, hidden: int, layers: int,
        repeat: int) -> dict:
    """Time ``mode`` with ``backend`` ('mxlite' or 'mxnet'): the best seconds per call."""
    mx = importlib.import_module(backend)
    rng = np.random.default_rng(0)
    size = layers * 4 * hidden * (2 * hidden + 2)  # input size = hidden for every layer
    arrays = {
        "data": rng.uniform(-1, 1, (seq, batch, hidden)),
        "parameters": rng.uniform(-0.1, 0.1, (size,)),
        "state": rng.uniform(-1, 1, (layers, batch, hidden)),
        "state_cell": rng.uniform(-1, 1, (layers, batch, hidden)),
    }
    ins = [mx.nd.array(a.astype(np.float32)) for a in arrays.values()]
    heads = [mx.nd.ones((seq, batch, hidden)), mx.nd.ones((layers, batch, hidden)),
             mx.nd.ones((layers, batch, hidden))]
    kw = {"state_size": hidden, "num_layers": layers, "mode": "lstm", "state_outputs": True}
    if mode == "training":
        for a in ins:
            a.attach_grad()

    def once() -> None:
        if mode == "forward":
            out = mx.nd.RNN(*ins, **kw)
        else:
            with mx.autograd.record():
                out = mx.nd.RNN(*ins, **kw)
            mx.autograd.backward(list(out), heads)
        mx.nd.waitall()

    times = []
    for k in range(repeat + 2):
        t0 = time.perf_counter()
        once()
        if k >= 2:
            times.append(time.perf_counter() - t0)
    return {"backend": backend, "version": getattr(mx, "__version__", "?"), "mode": mode,
            "seconds": min(times), "speed": 1 / min(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=50)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternate the sides this many times; the best round counts")
    ap.add_argument("--backend", default="mxlite", choices=["mxlite", "mxnet"])
    ap.add_argument("--mode", default="both", choices=["both", *MODES])
    ap.add_argument("--backend-only", action="store_true",
                    help="run --backend in --mode once in this process and print JSON")
    ap.add_argument("--threads", type=int, default=0,
                    help="BLAS / OpenMP threads for both sides (0: their defaults)")
    ap.add_argument("--mxnet-python", default=MXNET_PYTHON)
    args = ap.parse_args()
    modes = list(MODES) if args.mode == "both" else [args.mode]
    sizes = ["--seq", str(args.seq), "--batch", str(args.batch), "--hidden", str(args.hidden),
             "--layers", str(args.layers), "--repeat", str(args.repeat)]
    if args.backend_only:
        print(json.dumps(run(args.backend, modes[0], args.seq, args.batch, args.hidden,
                             args.layers, args.repeat)))
        return

    print(f"RNN op, LSTM {args.layers} layers, sequence {args.seq}, batch {args.batch}, hidden "
          f"{args.hidden}; best of {args.repeat} calls, best of {args.rounds} rounds; threads: "
          f"{args.threads or 'default'}")
    variants = [["--mode", mode, *sizes] for mode in modes]
    best = best_of(__file__, variants, args.rounds, args.mxnet_python, args.threads,
                   lambda r: (r["backend"], r["mode"]), "speed")
    for mode in modes:
        print(f" {mode}:")
        results = [best[(b, mode)] for b in ("mxnet", "mxlite") if (b, mode) in best]
        for r in results:
            print(f"  {r['backend']:<7} {r['version']:<6} {r['seconds'] * 1e3:8.2f} ms per call")
        if len(results) == 2:
            ratio = results[0]["seconds"] / results[1]["seconds"]
            print(f"  mxlite / MXNet = {ratio:.2f}x speed  (target >= {TARGET})")
        else:
            print(f"  (no MXNet at {args.mxnet_python}: mxlite only)")


if __name__ == "__main__":
    sys.exit(main())
