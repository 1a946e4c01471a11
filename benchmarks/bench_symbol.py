"""Symbol JSON speed: ``mx.sym.load`` / ``Symbol.tojson`` against the json module, same file.

Two graphs, built with mxlite and saved: 5,000 FullyConnected+Activation pairs (10,000
operators, 20,001 nodes) and a ResNet-152 v1 shaped like the Gluon model zoo's (bottleneck
blocks of conv/BatchNorm/relu). For each: the best of several runs of loading the file
(``mx.sym.load`` vs ``json.loads`` of its text) and of writing it (``tojson`` vs
``json.dumps`` of the parsed document, the C encoder), and the ratios.

Run: ``python benchmarks/bench_symbol.py`` (targets: both ratios <= 2).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import time
from collections.abc import Callable

import mxlite as mx


def mlp_pairs(n: int = 5000) -> mx.sym.Symbol:
    net = mx.sym.var("data")
    for i in range(n):
        net = mx.sym.FullyConnected(net, num_hidden=64, name=f"fc{i}")
        net = mx.sym.Activation(net, act_type="relu", name=f"relu{i}")
    return net


def resnet152_v1() -> mx.sym.Symbol:
    """The layer structure of model-zoo ``resnet152_v1``: [3, 8, 36, 3] bottleneck blocks."""
    p = "resnetv10_"

    def conv_bn(x: mx.sym.Symbol, name: str, ch: int, k: int, s: int, relu: bool
                ) -> mx.sym.Symbol:
        x = mx.sym.Convolution(x, kernel=(k, k), stride=(s, s), pad=(k // 2, k // 2),
                               num_filter=ch, no_bias=True, name=f"{name}_conv_fwd")
        x = mx.sym.BatchNorm(x, fix_gamma=False, eps=1e-05, momentum=0.9, use_global_stats=False,
                             name=f"{name}_bn_fwd")
        return mx.sym.Activation(x, act_type="relu", name=f"{name}_relu_fwd") if relu else x

    x = conv_bn(mx.sym.var("data"), p + "stem", 64, 7, 2, True)
    x = mx.sym.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max",
                       name=p + "pool0_fwd")
    for stage, (blocks, ch) in enumerate(zip((3, 8, 36, 3), (64, 128, 256, 512)), 1):
        for b in range(blocks):
            name = f"{p}stage{stage}_block{b}"
            stride = 2 if b == 0 and stage > 1 else 1
            y = conv_bn(x, name + "a", ch, 1, stride, True)
            y = conv_bn(y, name + "b", ch, 3, 1, True)
            y = conv_bn(y, name + "c", ch * 4, 1, 1, False)
            if b == 0:
                x = conv_bn(x, name + "down", ch * 4, 1, stride, False)
            x = mx.sym.Activation(x + y, act_type="relu", name=name + "_relu_out")
    x = mx.sym.Pooling(x, kernel=(7, 7), global_pool=True, pool_type="avg", name=p + "pool1_fwd")
    x = mx.sym.Flatten(x, name=p + "flatten0")
    return mx.sym.FullyConnected(x, num_hidden=1000, name=p + "dense0_fwd")


def bench(label: str, sym: mx.sym.Symbol, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "g-symbol.json")
        sym.save(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        doc = json.loads(text)
        loaded = mx.sym.load(path)
        assert loaded.tojson() == text
        runs: dict[str, Callable[[], object]] = {
            "load": lambda: mx.sym.load(path),
            # the same job for json: read the file, parse it
            "json.loads": lambda: json.loads(pathlib.Path(path).read_text(encoding="utf-8")),
            "tojson": loaded.tojson,
            "json.dumps": lambda: json.dumps(doc),
        }
        # alternate within each round so that load from other processes hits all alike
        best = dict.fromkeys(runs, float("inf"))
        for _ in range(repeat):
            for key, fn in runs.items():
                t = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - t)
    r: dict[str, float] = {"nodes": len(doc["nodes"]), "bytes": len(text.encode()), **best}
    r["load ratio"] = r["load"] / r["json.loads"]
    r["tojson ratio"] = r["tojson"] / r["json.dumps"]
    print(f"{label}: {r['nodes']} nodes, {r['bytes'] / 1e6:.2f} MB, best of {repeat}")
    print(f"  mx.sym.load {r['load'] * 1e3:7.1f} ms   "
          f"read+json.loads {r['json.loads'] * 1e3:5.1f} ms"
          f"   ratio {r['load ratio']:.2f}  (target <= 2)")
    print(f"  tojson      {r['tojson'] * 1e3:7.1f} ms   json.dumps {r['json.dumps'] * 1e3:7.1f} ms"
          f"   ratio {r['tojson ratio']:.2f}  (target <= 2)")
    return r


def main() -> int:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    bench("10,000-op MLP (5,000 FullyConnected+Activation)", mlp_pairs(), repeat)
    bench("ResNet-152 v1", resnet152_v1(), repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
