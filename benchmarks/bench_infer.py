"""Inference speed and memory of the executor against MXNet 1.9.1 (issue 13).

Networks (the same symbol file, the same seeded parameters and input on both sides):

- ``resnet18_b1`` / ``resnet18_b8``: model-zoo ``resnet18_v1`` (tests/data/models/
  resnet18_v1-symbol.json), batch 1 and 8, 3x224x224;
- ``mobilenetv2_b1``: model-zoo ``mobilenetv2_1.0`` exported by mxlite's Gluon model zoo
  (MXNet loads the same JSON), batch 1, 3x224x224.

Parameters are ``tests/fixtures/gen_models.make_params`` (He-scaled weights, BatchNorm
statistics in a realistic range). Each side runs in a fresh subprocess
(``benchmarks/_sides.py``): bind with ``grad_req='null'``, two warm-up forwards, then the best
of ``--iters`` timed forwards (``forward(is_train=False)`` and reading the output). The sides
alternate ``--rounds`` times and each side's best counts.

Memory: the subprocess's peak resident set (``VmHWM``) at the end, and the rise of the peak
over the resident set during the steady forwards (the peak is reset after the warm-up through
``/proc/self/clear_refs``), both in MiB.

``--profile``: the per-operator time split of one more run on each side (``mx.profiler``
with ``aggregate_stats``), grouped into convolution, pooling, BatchNorm, elementwise,
FullyConnected and other; "overhead" is the forward's wall time not inside any operator.

Run: ``python benchmarks/bench_infer.py [--models resnet18_b1,...] [--rounds 3] [--iters 20]
[--profile] [--skip-mxnet] [--threads N] [--numpy-too]``. mxlite uses its compiled (numba)
kernels where numba is installed; ``--numpy-too`` adds a run with ``MXLITE_JIT=0`` (numpy
kernels only). "first forward" is the first call's time, which includes compiling the kernels
or loading them from numba's cache.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _sides  # noqa: E402

RESNET = ROOT / "tests" / "data" / "models" / "resnet18_v1-symbol.json"
MODELS = {
    "resnet18_b1": ("resnet18_v1", 1),
    "resnet18_b8": ("resnet18_v1", 8),
    "mobilenetv2_b1": ("mobilenetv2_1.0", 1),
    "resnet18_train_b16": ("resnet18_v1", 16),
}
# A training step: forward(is_train=True) + backward with a head gradient of ones, every
# argument but the data with grad_req 'write', batch 16 at 64x64 (issue 13's setting).
TRAIN = {"resnet18_train_b16": 64}
GROUPS = (
    ("conv", ("Convolution", "Deconvolution")),
    ("pool", ("Pooling",)),
    ("bn", ("BatchNorm",)),
    ("fc", ("FullyConnected",)),
    ("elemwise", ("Activation", "relu", "elemwise_add", "_plus", "broadcast_add", "clip",
                  "_Plus", "add_n", "LeakyReLU", "_copy", "Flatten", "flatten", "Reshape",
                  "Dropout")),
)


# ----------------------------------------------------------------------------------------
# The files both sides read.


def _prepare(model: str, batch: int, out_dir: pathlib.Path, size: int = 224) -> dict:
    """Write ``<model>-symbol.json``, ``<model>.params`` (plain names) and ``<model>_b.npy``."""
    import mxlite as mx
    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    try:
        import gen_models
    finally:
        sys.path.pop(0)
    sym_file = out_dir / f"{model}-symbol.json"
    if not sym_file.exists():
        if model == "resnet18_v1":
            sym_file.write_text(RESNET.read_text())
        else:
            from mxlite.gluon.model_zoo import vision
            net = vision.get_model(model)
            net.initialize()
            net.hybridize()
            net(mx.nd.zeros((1, 3, 224, 224)))
            net.export(str(out_dir / model))
            (out_dir / f"{model}-0000.params").unlink()
    sym = mx.sym.load(str(sym_file))
    params_file = out_dir / f"{model}.params"
    if not params_file.exists():
        arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, 224, 224))
        names = sym.list_arguments() + sym.list_auxiliary_states()
        shapes = arg_shapes + aux_shapes
        keep = [(n, s) for n, s in zip(names, shapes) if n != "data"]
        params = gen_models.make_params([n for n, _ in keep], [s for _, s in keep])
        mx.nd.save(str(params_file), {k: mx.nd.array(v) for k, v in params.items()})
    data_file = out_dir / f"{model}_{batch}_{size}.npy"
    np.save(data_file, gen_models.make_input((batch, 3, size, size)))
    return {"symbol": str(sym_file), "params": str(params_file), "data": str(data_file)}


# ----------------------------------------------------------------------------------------
# One side, in its own process.


def _status_kib(key: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _group(name: str) -> str:
    name = name.removeprefix("_backward_")
    for g, names in GROUPS:
        if name in names or name.startswith(tuple(n + "+" for n in names)):
            return g
    return "other"


def run_side(backend: str, files: dict, iters: int, profile: bool, jit: str = "") -> dict:
    if backend == "mxnet":
        if jit == "0":  # the numpy-only variant is mxlite's alone
            return {"backend": backend, "jit": jit, "score": float("-inf")}
        import mxnet as mx
    else:
        if jit:
            os.environ["MXLITE_JIT"] = jit
        import mxlite as mx
    sym = mx.sym.load(files["symbol"])
    params = mx.nd.load(files["params"])
    data = np.load(files["data"])
    args = {k: v for k, v in params.items() if k in sym.list_arguments()}
    aux = {k: v for k, v in params.items() if k in sym.list_auxiliary_states()}
    args["data"] = mx.nd.array(data)
    train = bool(files.get("train"))
    if train:
        grads = {k: mx.nd.zeros(v.shape) for k, v in args.items() if k != "data"}
        exe = sym.bind(mx.cpu(), args, args_grad=grads, aux_states=aux,
                       grad_req={k: "write" for k in grads})
        head = mx.nd.ones(exe.forward(is_train=True)[0].shape)
    else:
        exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    del params

    def fwd():
        if not train:
            return exe.forward(is_train=False)[0].asnumpy()
        out = exe.forward(is_train=True)[0]
        exe.backward(head)
        for g in exe.grad_arrays:
            if g is not None:
                g.wait_to_read()
        return out.asnumpy()

    t = time.perf_counter()
    fwd()  # mxlite's compiled kernels compile (or load from numba's cache) here
    first = time.perf_counter() - t
    fwd()
    rss_before = _status_kib("VmRSS")
    reset = _reset_peak()
    best = float("inf")
    for _ in range(iters):
        t = time.perf_counter()
        out = fwd()
        best = min(best, time.perf_counter() - t)
    peak_fwd = _status_kib("VmHWM") - rss_before if reset else float("nan")
    jit_on = backend == "mxlite" and mx.ops._window.jit() is not None
    res = {"backend": backend, "jit": jit, "jit_on": jit_on, "first_ms": first * 1e3,
           "version": mx.__version__, "ms": best * 1e3,
           "score": -best, "out_sum": float(out.astype(np.float64).sum()),
           "out_absmax": float(np.abs(out).max()),
           "peak_mib": _status_kib("VmHWM") / 1024, "fwd_peak_rise_mib": peak_fwd / 1024}
    if profile:
        # Each forward profiled on its own; the fastest one's split counts (a forward hit by
        # another job's burst would distort an average).
        # MXNet writes its trace when the process ends: into the prepared files' folder.
        trace = os.path.join(os.path.dirname(files["data"]), f"profile-{backend}.json")
        mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=trace)
        best_wall, best_ops = float("inf"), {}
        for _ in range(max(5, iters // 2)):
            mx.profiler.set_state("run")
            t = time.perf_counter()
            fwd()
            wall = time.perf_counter() - t
            mx.profiler.set_state("stop")
            doc = json.loads(mx.profiler.dumps(reset=True, format="json"))
            if wall >= best_wall:
                continue
            ops: dict[str, float] = {}
            for cat, table in doc.get("Time", {}).items():
                if not cat.startswith("operator"):
                    continue
                for name, row in table.items():
                    ops[name] = ops.get(name, 0.0) + row["Total"]
            best_wall, best_ops = wall, ops
        split: dict[str, float] = {}
        for name, ms in best_ops.items():
            g = _group(name)
            split[g] = split.get(g, 0.0) + ms
        split["overhead"] = best_wall * 1e3 - sum(best_ops.values())
        res["split"] = split
        res["ops"] = best_ops
        res["profiled_ms"] = best_wall * 1e3
    return res


# ----------------------------------------------------------------------------------------
# The driver.


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--skip-mxnet", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--dir", default=None, help="keep the prepared files here")
    ap.add_argument("--backend", choices=("mxlite", "mxnet"))
    ap.add_argument("--backend-only", action="store_true")
    ap.add_argument("--files", default=None)
    ap.add_argument("--jit", default="", help=argparse.SUPPRESS)
    ap.add_argument("--numpy-too", action="store_true",
                    help="also run mxlite with MXLITE_JIT=0 (numpy kernels only)")
    a = ap.parse_args()
    if a.backend_only:
        print(json.dumps(run_side(a.backend, json.loads(a.files), a.iters, a.profile, a.jit)))
        return
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    mxnet_python = "" if a.skip_mxnet else _sides.MXNET_PYTHON
    if not os.path.exists(mxnet_python):
        print(f"(MXNet 1.9.1 not found at {_sides.MXNET_PYTHON}: mxlite's figures only)")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = pathlib.Path(a.dir or tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        variants = []
        for m in models:
            files = _prepare(*MODELS[m], out_dir, TRAIN.get(m, 224))
            if m in TRAIN:
                files["train"] = True
            variants.append(["--files", json.dumps(files), "--iters", str(a.iters),
                             *(["--profile"] if a.profile else [])])
        best = _run(variants, models, a, mxnet_python)
    _report(best, models, a)


def _run(variants: list, models: list[str], a, mxnet_python: str) -> dict:
    # _sides.best_of keyed by (model, backend): the variant carries the model.
    by_model = {}
    for m, v in zip(models, variants):
        r = _sides.best_of(__file__, [v], a.rounds, mxnet_python, a.threads,
                           key=lambda r: (r["backend"],), score="score")
        if a.numpy_too:
            r.update(_sides.best_of(__file__, [[*v, "--jit", "0"]], a.rounds, mxnet_python,
                                    a.threads, key=lambda r: (r["backend"] + "-numpy",),
                                    score="score"))
        by_model[m] = {k[0]: val for k, val in r.items() if val.get("ms") is not None}
    return by_model


def _short(name: str) -> str:
    # MXNet's fused subgraphs are named by the list of their operators.
    if name.startswith("[") and len(name) > 40:
        return f"[subgraph of {name.count(',') + 1} ops]"
    return name


def _report(best: dict, models: list[str], a) -> None:
    print(f"best of {a.iters} runs x {a.rounds} alternating processes; threads: "
          f"{a.threads or 'default'}")
    for m in models:
        sides = best[m]
        ours, theirs, numpy_only = sides["mxlite"], sides.get("mxnet"), sides.get(
            "mxlite-numpy")
        name, batch = MODELS[m]
        if m in TRAIN:
            print(f"{name} training step (forward + backward), batch {batch}, "
                  f"3x{TRAIN[m]}x{TRAIN[m]}")
        else:
            print(f"{name} inference, batch {batch}, 3x224x224")
        for r in (ours, numpy_only, theirs):
            if r is None:
                continue
            label = r["backend"] + ("" if r["backend"] == "mxnet" else
                                    " (numba)" if r.get("jit_on") else " (numpy)")
            print(f"  {label:16s} {r['version']:7s} {r['ms']:8.1f} ms   peak RSS "
                  f"{r['peak_mib']:6.0f} MiB   forward peak rise {r['fwd_peak_rise_mib']:6.1f} "
                  f"MiB   first forward {r['first_ms']:7.1f} ms   out sum {r['out_sum']:.6g}")
        if theirs is not None:
            target = 1.5 if m in TRAIN else 1.0
            print(f"  mxlite / MXNet: time {ours['ms'] / theirs['ms']:.2f}x (target <= {target})  "
                  f"peak RSS {ours['peak_mib'] / theirs['peak_mib']:.2f}x  "
                  f"out sums differ by {abs(ours['out_sum'] - theirs['out_sum']):.3g} "
                  f"(|out| max {theirs['out_absmax']:.3g})")
            if numpy_only is not None:
                print(f"  mxlite numpy-only / MXNet: time "
                      f"{numpy_only['ms'] / theirs['ms']:.2f}x; out sums of the two mxlite "
                      f"paths differ by {abs(ours['out_sum'] - numpy_only['out_sum']):.3g}")
        if a.profile:
            groups = [g for g, _ in GROUPS] + ["other", "overhead"]
            print(f"  per-layer split, ms per forward ({'/'.join(groups)}):")
            for r in (ours, numpy_only, theirs):
                if r is None or "split" not in r:
                    continue
                sp = r["split"]
                cells = " ".join(f"{g} {sp.get(g, 0.0):.1f}" for g in groups)
                print(f"    {r['backend']:7s} {cells}  (profiled {r['profiled_ms']:.1f})")
            for r in (ours, theirs):
                if r is None or "ops" not in r:
                    continue
                top = sorted(r["ops"].items(), key=lambda kv: -kv[1])[:8]
                print(f"    {r['backend']} ops: " + ", ".join(f"{_short(k)} {v:.1f}"
                                                          for k, v in top))


if __name__ == "__main__":
    main()
