"""Executor speed: training an MLP against hand-written numpy, ResNet-18 inference against MXNet.

1. MLP 784-512-512-10 (ReLU, SoftmaxOutput), batch 128: one step is forward + backward + SGD
   update (lr 0.1, rescale_grad 1/128) through ``simple_bind`` and the optimizer's updater
   (and, to isolate the executor, with the numpy loop's own in-place update on the bound
   buffers), against a numpy loop doing the same maths (the same GEMMs, in place where
   natural).
   Single steps alternate; the best step time of each counts. Target: ratio <= 1.10.
2. ResNet-18 (model-zoo ``resnet18_v1``, tests/data/models/resnet18_v1-symbol.json), batch 8,
   3x224x224, inference forward. If /tmp/mxref/bin/python (MXNet 1.9.1) exists, the same
   symbol and the same parameters run there in a subprocess, timed the same way.
   Target: <= 1.5x MXNet.

Run: ``python benchmarks/bench_exec.py [--rounds N] [--skip-mxnet]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

import mxlite as mx

ROOT = pathlib.Path(__file__).resolve().parents[1]
MXREF = pathlib.Path("/tmp/mxref/bin/python")
RESNET = ROOT / "tests" / "data" / "models" / "resnet18_v1-symbol.json"


# ----------------------------------------------------------------------------------------
# MLP training step.


def mlp_symbol() -> mx.sym.Symbol:
    x = mx.sym.var("data")
    for i, n in enumerate((512, 512)):
        x = mx.sym.FullyConnected(x, num_hidden=n, name=f"fc{i + 1}")
        x = mx.sym.Activation(x, act_type="relu", name=f"relu{i + 1}")
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc3")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def mlp_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    p = {}
    for name, (o, i) in {"fc1": (512, 784), "fc2": (512, 512), "fc3": (10, 512)}.items():
        p[f"{name}_weight"] = (rng.standard_normal((o, i)) * np.sqrt(2 / i)).astype(np.float32)
        p[f"{name}_bias"] = np.zeros(o, np.float32)
    return p


class MxliteMLP:
    """The executor; the update through mx.optimizer's SGD updater, or (``raw``) the numpy
    loop's own in-place update applied to the bound arrays' buffers."""

    def __init__(self, params: dict, batch: int, lr: float, raw: bool = False):
        self.exe = mlp_symbol().simple_bind(mx.cpu(), data=(batch, 784),
                                            softmax_label=(batch,))
        self.exe.copy_params_from(params)
        opt = mx.optimizer.SGD(learning_rate=lr, rescale_grad=1.0 / batch)
        self.updater = mx.optimizer.get_updater(opt)
        self.names = [n for n in self.exe.arg_dict if n not in ("data", "softmax_label")]
        self.raw = raw
        self.scale = lr / batch

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        exe = self.exe
        exe.forward(is_train=True, data=x, softmax_label=y)
        exe.backward()
        if self.raw:
            args, grads = exe.arg_dict, exe.grad_dict
            for n in self.names:
                args[n]._data -= self.scale * grads[n]._data
            return
        for i, n in enumerate(self.names):
            self.updater(i, exe.grad_dict[n], exe.arg_dict[n])


class NumpyMLP:
    def __init__(self, params: dict, batch: int, lr: float):
        self.p = {k: v.copy() for k, v in params.items()}
        self.scale = lr / batch
        self.eye = np.eye(10, dtype=np.float32)

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        p = self.p
        h1 = x @ p["fc1_weight"].T
        h1 += p["fc1_bias"]
        a1 = np.maximum(h1, 0)
        h2 = a1 @ p["fc2_weight"].T
        h2 += p["fc2_bias"]
        a2 = np.maximum(h2, 0)
        z = a2 @ p["fc3_weight"].T
        z += p["fc3_bias"]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        dz = z - self.eye[y.astype(np.intp)]
        g = {"fc3_weight": dz.T @ a2, "fc3_bias": dz.sum(0)}
        d2 = dz @ p["fc3_weight"]
        d2 *= h2 > 0
        g["fc2_weight"], g["fc2_bias"] = d2.T @ a1, d2.sum(0)
        d1 = d2 @ p["fc2_weight"]
        d1 *= h1 > 0
        g["fc1_weight"], g["fc1_bias"] = d1.T @ x, d1.sum(0)
        g["data"] = d1 @ p["fc1_weight"]  # MXNet computes the data gradient too
        for k, v in g.items():
            if k in p:
                p[k] -= self.scale * v


def bench_mlp(rounds: int) -> dict:
    batch, lr = 128, 0.1
    rng = np.random.default_rng(0)
    params = mlp_params(rng)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.float32)
    ours, raw = MxliteMLP(params, batch, lr), MxliteMLP(params, batch, lr, raw=True)
    ref = NumpyMLP(params, batch, lr)
    # Same maths: after a few identical steps the weights agree.
    for _ in range(4):
        for m in (ours, raw, ref):
            m.step(x, y)
    diff = max(float(np.abs(m.exe.arg_dict[k].asnumpy() - ref.p[k]).max())
               for k in ref.p for m in (ours, raw))
    # Single steps alternate, many times over: on a shared machine the quiet moments give
    # both sides their best time, and the minimum of each is compared.
    # CPU time (all threads of the process) is reported too: it hardly depends on what else
    # the machine runs.
    times: dict[str, list[float]] = {"mxlite": [], "raw": [], "numpy": []}
    cpu: dict[str, list[float]] = {"mxlite": [], "raw": [], "numpy": []}
    for _ in range(rounds * 40):
        for name, m in (("mxlite", ours), ("raw", raw), ("numpy", ref)):
            c = time.process_time()
            t = time.perf_counter()
            m.step(x, y)
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    best = {k: min(v) for k, v in times.items()}
    med = {k: float(np.median(v)) for k, v in times.items()}
    cpu_med = {k: float(np.median(v)) for k, v in cpu.items()}
    res = {"max_weight_diff_after_4_steps": diff}
    for k in ("mxlite", "raw", "numpy"):
        res[f"{k}_ms"] = best[k] * 1e3
        res[f"cpu_{k}_ms"] = cpu_med[k] * 1e3
        res[f"{k}_ratio"] = best[k] / best["numpy"]
        res[f"{k}_median_ratio"] = med[k] / med["numpy"]
        res[f"{k}_cpu_ratio"] = cpu_med[k] / cpu_med["numpy"]
    return res


# ----------------------------------------------------------------------------------------
# ResNet-18 inference.

_MXNET_SCRIPT = r"""
import json, sys, time
import numpy as np
import mxnet as mx
sym_file, params_file, data_file, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sym = mx.sym.load(sym_file)
params = mx.nd.load(params_file)
data = mx.nd.array(np.load(data_file))
args = {k: v for k, v in params.items() if k in sym.list_arguments()}
aux = {k: v for k, v in params.items() if k in sym.list_auxiliary_states()}
args["data"] = data
exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
exe.forward(is_train=False)[0].wait_to_read()
best = float("inf")
for _ in range(rounds):
    t = time.perf_counter()
    exe.forward(is_train=False)[0].wait_to_read()
    best = min(best, time.perf_counter() - t)
out = exe.outputs[0].asnumpy()
print(json.dumps({"best_ms": best * 1e3, "out_sum": float(out.sum())}))
"""


def _resnet_setup(batch: int):
    spec_path = ROOT / "tests" / "fixtures" / "gen_models.py"
    sys.path.insert(0, str(spec_path.parent))
    try:
        import gen_models  # the seeded parameters of the parity tests
    finally:
        sys.path.pop(0)
    sym = mx.sym.load(str(RESNET))
    shape = (batch, 3, 224, 224)
    exe = sym.simple_bind(mx.cpu(), grad_req="null", data=shape)
    names = [n for n in sym.list_arguments() if n != "data"] + sym.list_auxiliary_states()
    table = {**exe.arg_dict, **exe.aux_dict}
    params = gen_models.make_params(names, [table[n].shape for n in names])
    exe.copy_params_from({k: v for k, v in params.items() if k in exe.arg_dict},
                         {k: v for k, v in params.items() if k in exe.aux_dict})
    data = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    exe.arg_dict["data"][:] = data
    return exe, params, data


def bench_resnet(rounds: int, batch: int, use_mxnet: bool) -> dict:
    exe, params, data = _resnet_setup(batch)
    exe.forward()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        exe.forward()
        best = min(best, time.perf_counter() - t)
    res = {"batch": batch, "mxlite_ms": best * 1e3,
           "mxlite_out_sum": float(exe.outputs[0].asnumpy().sum())}
    if use_mxnet and MXREF.exists():
        with tempfile.TemporaryDirectory() as tmp:
            pfile, dfile = os.path.join(tmp, "p.params"), os.path.join(tmp, "d.npy")
            mx.nd.save(pfile, {k: mx.nd.array(v) for k, v in params.items()})
            np.save(dfile, data)
            script = os.path.join(tmp, "run.py")
            pathlib.Path(script).write_text(_MXNET_SCRIPT)
            proc = subprocess.run([str(MXREF), script, str(RESNET), pfile, dfile, str(rounds)],
                                  capture_output=True, text=True, check=True)
            theirs = json.loads(proc.stdout.strip().splitlines()[-1])
        res["mxnet_ms"] = theirs["best_ms"]
        res["mxnet_out_sum"] = theirs["out_sum"]
        res["ratio"] = res["mxlite_ms"] / res["mxnet_ms"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--skip-mxnet", action="store_true")
    ap.add_argument("--only", choices=("mlp", "resnet"))
    a = ap.parse_args()
    if a.only in (None, "mlp"):
        r = bench_mlp(a.rounds)
        print(f"MLP 784-512-512-10, batch 128, forward+backward+SGD (best of {a.rounds * 40} "
              "alternating steps; CPU time: median)")
        rows = (("mxlite", "mxlite + mx.optimizer SGD"), ("raw", "mxlite + numpy SGD"),
                ("numpy", "numpy by hand"))
        for k, label in rows:
            print(f"  {label:26s} {r[k + '_ms']:7.2f} ms/step  {r[k + '_ratio']:.2f}x   "
                  f"CPU {r['cpu_' + k + '_ms']:7.2f} ms  {r[k + '_cpu_ratio']:.2f}x   "
                  f"median step {r[k + '_median_ratio']:.2f}x")
        print(f"  (target <= 1.10x); weights after 4 steps agree to "
              f"{r['max_weight_diff_after_4_steps']:.1e}")
    if a.only in (None, "resnet"):
        r = bench_resnet(a.rounds, a.batch, not a.skip_mxnet)
        print(f"ResNet-18 v1, batch {r['batch']}, 3x224x224, inference (best of {a.rounds})")
        print(f"  mxlite executor  {r['mxlite_ms']:8.1f} ms")
        if "mxnet_ms" in r:
            print(f"  MXNet 1.9.1      {r['mxnet_ms']:8.1f} ms")
            print(f"  ratio = {r['ratio']:.2f}x  (target <= 1.5); output sums "
                  f"{r['mxlite_out_sum']:.4f} vs {r['mxnet_out_sum']:.4f}")
        else:
            print("  (MXNet 1.9.1 not found at /tmp/mxref: no side-by-side figure)")


if __name__ == "__main__":
    main()
