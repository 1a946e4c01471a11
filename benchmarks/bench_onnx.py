"""ONNX export speed and onnxruntime inference beside mxlite's (and MXNet's) executor.

    python benchmarks/bench_onnx.py [--rounds 5] [--size 224] [--threads N]
                                    [--mxnet-python /tmp/mxref/bin/python]

1. Export of ResNet-50 v1 (model zoo, Xavier-initialised, input 1x3xSIZExSIZE) with
   ``mx.onnx.export_model``, weights and file write included: the best of ``--rounds``
   (target < 2 s).
2. ResNet-18 v1 exported with a dynamic batch axis, run at batch 1 and 8 in onnxruntime
   (CPU provider), beside mxlite's executor (``simple_bind``, ``forward(is_train=False)``)
   on the same weights, and MXNet 1.9.1's executor on the same files (``net.export``) when
   its interpreter exists. Milliseconds per batch, best of ``--rounds`` after one warm-up;
   outputs are checked to agree (1e-4 relative) before timing.

``--threads`` sets OMP / OpenBLAS / MKL threads for the MXNet subprocess and onnxruntime's
intra-op threads (0: each library's default). The machine is shared: compare the sides of
one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from _sides import MXNET_PYTHON, thread_env

import mxlite as mx

_MXNET_SIDE = r"""
import json, sys, time
import numpy as np
import mxnet as mx
prefix, batches, rounds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
sym, arg, aux = mx.model.load_checkpoint(prefix, 0)
res = {}
for b in batches:
    x = np.load(prefix + f"-x{b}.npy")
    exe = sym.simple_bind(mx.cpu(), data=x.shape, grad_req="null")
    exe.copy_params_from(arg, aux)
    exe.forward(is_train=False, data=mx.nd.array(x))[0].wait_to_read()
    best = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        out = exe.forward(is_train=False, data=mx.nd.array(x))[0].asnumpy()
        best = min(best, time.perf_counter() - t)
    np.save(prefix + f"-mxnet{b}.npy", out)
    res[b] = best * 1000
print(json.dumps(res))
"""


def _net(name: str, size: int):
    mx.random.seed(0)
    net = mx.gluon.model_zoo.vision.get_model(name)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1, 3, size, size)))
    return net


def bench_export(size: int, rounds: int, tmp: str) -> float:
    net = _net("resnet50_v1", size)
    net.export(os.path.join(tmp, "r50"))
    sym = mx.sym.load(os.path.join(tmp, "r50-symbol.json"))
    params = mx.nd.load(os.path.join(tmp, "r50-0000.params"))
    best = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        mx.onnx.export_model(sym, params, [(1, 3, size, size)],
                             onnx_file_path=os.path.join(tmp, "r50.onnx"))
        best = min(best, time.perf_counter() - t)
    return best


def _best(fn, rounds: int) -> tuple[float, np.ndarray]:
    out = fn()
    best = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, out


def bench_inference(size: int, rounds: int, threads: int, mxnet_python: str, tmp: str
                    ) -> dict:
    import onnxruntime as ort

    net = _net("resnet18_v1", size)
    prefix = os.path.join(tmp, "r18")
    net.export(prefix)
    sym, arg, aux = mx.model.load_checkpoint(prefix, 0)
    path = mx.onnx.export_model(sym, {**arg, **aux}, [(1, 3, size, size)],
                                onnx_file_path=prefix + ".onnx", dynamic=True,
                                dynamic_input_shapes=[(None, 3, size, size)])
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    batches = [1, 8]
    rng = np.random.default_rng(0)
    res: dict = {}
    for b in batches:
        x = rng.normal(0, 1, (b, 3, size, size)).astype(np.float32)
        np.save(prefix + f"-x{b}.npy", x)
        exe = sym.simple_bind(mx.cpu(), data=x.shape, grad_req="null")
        exe.copy_params_from(arg, aux)
        t_mx, y_mx = _best(lambda x=x, exe=exe: exe.forward(
            is_train=False, data=mx.nd.array(x))[0].asnumpy(), rounds)
        t_ort, y_ort = _best(lambda x=x: sess.run(None, {"data": x})[0], rounds)
        err = float(np.max(np.abs(y_ort - y_mx)) / np.max(np.abs(y_mx)))
        assert err < 1e-4, f"onnxruntime and mxlite disagree at batch {b}: {err}"
        res[b] = {"onnxruntime_ms": t_ort, "mxlite_ms": t_mx, "rel_err": err}
    if os.path.exists(mxnet_python):
        out = subprocess.run([mxnet_python, "-c", _MXNET_SIDE, prefix, json.dumps(batches),
                              str(rounds)], check=True, capture_output=True, text=True,
                             env=thread_env(threads))
        times = json.loads(out.stdout.strip().splitlines()[-1])
        for b in batches:
            y = np.load(prefix + f"-mxnet{b}.npy")
            ref = sess.run(None, {"data": np.load(prefix + f"-x{b}.npy")})[0]
            res[b]["mxnet_ms"] = times[str(b)]
            res[b]["mxnet_rel_err"] = float(np.max(np.abs(ref - y)) / np.max(np.abs(y)))
    return res


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--mxnet-python", default=MXNET_PYTHON)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = bench_export(a.size, a.rounds, tmp)
        mb = os.path.getsize(os.path.join(tmp, "r50.onnx")) / 1e6
        verdict = "met" if t < 2 else "MISSED"
        print(f"export ResNet-50 v1 (1x3x{a.size}x{a.size}, {mb:.1f} MB): {t:.3f} s "
              f"(target < 2 s: {verdict})")
        res = bench_inference(a.size, a.rounds, a.threads, a.mxnet_python, tmp)
    print(f"ResNet-18 v1 inference, {a.size}x{a.size}, ms per batch (best of {a.rounds}):")
    print(f"{'batch':>5} {'onnxruntime':>12} {'mxlite':>10} {'MXNet 1.9.1':>12} "
          f"{'mxlite/ort':>11}")
    for b, r in res.items():
        mxn = f"{r['mxnet_ms']:12.1f}" if "mxnet_ms" in r else f"{'-':>12}"
        print(f"{b:>5} {r['onnxruntime_ms']:12.1f} {r['mxlite_ms']:10.1f} {mxn} "
              f"{r['mxlite_ms'] / r['onnxruntime_ms']:10.1f}x")
    print(json.dumps({"export_resnet50_s": t, "resnet18": res}))


if __name__ == "__main__":
    sys.exit(main())
