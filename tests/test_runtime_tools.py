"""``mx.profiler``, ``mx.runtime``, ``mx.engine``, ``mx.mon`` and the names of MXNet that
mxlite lacks."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MissingFeatureError, MXNetError, NotSupportedError


@pytest.fixture
def profiling(tmp_path):
    mx.profiler.set_config(profile_all=True, aggregate_stats=True,
                           filename=str(tmp_path / "profile.json"))
    mx.profiler.dumps(reset=True)
    mx.profiler.set_state("run")
    yield tmp_path / "profile.json"
    mx.profiler.set_state("stop")
    mx.profiler.set_config(profile_all=False, filename="profile.json")
    mx.profiler.dumps(reset=True)


def test_profiler_times_imperative_symbolic_and_backward(profiling):
    a = mx.nd.ones((20, 20))
    mx.nd.dot(a, a)
    sym = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=4, name="fc")
    exe = sym.simple_bind(mx.cpu(), x=(2, 3))
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((2, 4)))
    a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.sum(a * 2)
    y.backward()
    task = mx.profiler.Domain("data").new_task("load")
    with task:
        pass
    counter = mx.profiler.Domain("data").new_counter("batches", 1)
    counter += 2
    mx.profiler.Domain("data").new_marker("epoch").mark("global")
    mx.profiler.set_state("stop")
    stats = json.loads(mx.profiler.dumps(format="json"))
    ops = stats["Time"]["operator"]
    for name in ("dot", "FullyConnected", "_backward_FullyConnected", "sum",
                 "_backward_sum", "_mul_scalar", "_backward__mul_scalar"):
        assert ops[name]["Count"] == 1, name
        assert ops[name]["Min"] <= ops[name]["Avg"] <= ops[name]["Max"]
    assert stats["Time"]["data"]["load"]["Count"] == 1
    assert stats["Unit"] == {"Time": "ms", "Memory": "kB"}
    assert stats["Memory"] == {}
    table = mx.profiler.dumps(sort_by="count", ascending=True)
    assert "operator\n=================\nName" in table
    assert "FullyConnected" in table
    mx.profiler.dump()
    trace = json.loads(profiling.read_text())["traceEvents"]
    kinds = {(e.get("cat"), e["ph"]) for e in trace}
    assert {("operator", "X"), ("data", "X"), ("data", "C"), ("data", "i")} <= kinds
    assert [e["args"] for e in trace if e["ph"] == "C"] == [{"batches": 1}, {"batches": 3}]
    assert json.loads(mx.profiler.dumps(format="json"))["Time"] == {}  # dump cleared it


def test_profiler_pause_and_bad_arguments(profiling):
    mx.profiler.pause()
    mx.nd.dot(mx.nd.ones((2, 2)), mx.nd.ones((2, 2)))
    mx.profiler.resume()
    mx.nd.dot(mx.nd.ones((2, 2)), mx.nd.ones((2, 2)))
    assert json.loads(mx.profiler.dumps(format="json"))["Time"]["operator"]["dot"]["Count"] \
        == 1
    with pytest.raises(MXNetError, match="unknown option 'colour'"):
        mx.profiler.set_config(colour=True)
    with pytest.raises(MXNetError, match="'run' or 'stop'"):
        mx.profiler.set_state("go")
    with pytest.raises(MXNetError, match="sort_by"):
        mx.profiler.dumps(sort_by="name")


def test_runtime_features():
    features = mx.runtime.Features()
    assert features is mx.runtime.Features()
    assert list(features)[:3] == ["CUDA", "CUDNN", "NCCL"] and len(features) == 32
    assert not features.is_enabled("cuda") and features.is_enabled("PROFILER")
    assert repr(features).startswith("[✖ CUDA, ✖ CUDNN")
    with pytest.raises(RuntimeError, match="Feature 'WARP' is unknown"):
        features.is_enabled("warp")


def test_engine_bulk_size_is_kept():
    old = mx.engine.set_bulk_size(4)
    with mx.engine.bulk(10):
        assert mx.engine.set_bulk_size(10) == 10
    assert mx.engine.set_bulk_size(old) == 4


def test_monitor_collects_outputs_and_weights(caplog):
    sym = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=2, name="fc")
    exe = sym.simple_bind(mx.cpu(), x=(1, 2))
    exe.arg_dict["x"][:] = np.array([[3.0, 4.0]])
    exe.arg_dict["fc_weight"][:] = np.eye(2)
    exe.arg_dict["fc_bias"][:] = 0
    mon = mx.mon.Monitor(2, pattern="fc_.*|x", sort=True)
    mon.install(exe)
    mon.tic()
    exe.forward()
    res = mon.toc()
    assert [(n, k) for n, k, _ in res] == [(1, "fc_bias"), (1, "fc_output"),
                                           (1, "fc_weight"), (1, "x")]
    values = {k: float(v) for _, k, v in res}
    assert values["x"] == pytest.approx(5 / np.sqrt(2))  # norm / sqrt(size)
    assert values["fc_weight"] == pytest.approx(np.sqrt(2) / 2)
    mon.tic()  # step 1: not a multiple of the interval
    exe.forward()
    assert mon.toc() == []
    mon.tic()
    exe.forward()
    with caplog.at_level(logging.INFO):
        mon.toc_print()
    assert "Batch:       3 fc_bias" in caplog.text


def test_names_mxlite_lacks_say_so():
    assert not hasattr(mx, "np") and mx.rnd is mx.random
    with pytest.raises(NotSupportedError, match=r"mx.rtc \(runtime-compiled CUDA kernels\) "
                                                "is not in mxlite"):
        mx.rtc  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mx.nonsense  # noqa: B018
    with pytest.raises(MissingFeatureError, match="'_contrib_DeformablePSROIPooling' of MXNet"):
        mx.nd.contrib.DeformablePSROIPooling  # noqa: B018
    with pytest.raises(AttributeError) as e:
        mx.sym.NotAnOperator  # noqa: B018
    assert not isinstance(e.value, MXNetError)
    bad = ('{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": '
           '"_contrib_DeformablePSROIPooling", "name": "p", "inputs": [[0, 0, 0]]}], '
           '"arg_nodes": [0], "heads": [[1, 0, 0]]}')
    with pytest.raises(MXNetError, match="an operator of MXNet 1.9.1 that mxlite does not"):
        mx.sym.load_json(bad)
