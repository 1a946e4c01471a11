"""mx.callback: log lines as MXNet 1.9.1 writes them (expected strings printed by MXNet)."""

from __future__ import annotations

import logging
import re
import sys
import types

import pytest

import mxlite.callback as callback
import mxlite.metric as metric
from mxlite.ndarray.ndarray import array as A

LABEL = [A([0, 1])]
PRED = [A([[0.3, 0.7], [0.9, 0.1]])]


def _messages(caplog):
    return [r.getMessage() for r in caplog.records]


@pytest.fixture
def clock(monkeypatch):
    """Make Speedometer read the given times (only Speedometer: logging keeps real time)."""

    def use(*times):
        it = iter(times)
        monkeypatch.setattr(callback, "time", types.SimpleNamespace(time=lambda: next(it)))

    return use


def test_batch_end_param():
    p = callback.BatchEndParam(epoch=1, nbatch=2, eval_metric=None, locals={})
    assert p == (1, 2, None, {}) and type(p).__name__ == "BatchEndParams"
    assert p._fields == ("epoch", "nbatch", "eval_metric", "locals")


def test_speedometer_matches_mxnet(caplog, clock):
    clock(100.0, 102.0, 103.0, 107.0, 108.0, 110.0, 111.0, 115.0, 116.0, 120.0)
    caplog.set_level(logging.INFO)
    counts = []
    for auto_reset in (True, False):
        speedometer = callback.Speedometer(4, frequent=2, auto_reset=auto_reset)
        m = metric.create(["acc", "mse"])
        for nbatch in range(5):
            m.update(LABEL, PRED)
            speedometer(callback.BatchEndParam(1, nbatch, m, None))
        counts.append([c.num_inst for c in m.metrics])
    assert _messages(caplog) == [
        "Epoch[1] Batch [0-2]\tSpeed: 4.00 samples/sec\taccuracy=0.000000\tmse=0.350000",
        "Epoch[1] Batch [2-4]\tSpeed: 2.00 samples/sec\taccuracy=0.000000\tmse=0.350000",
        "Epoch[1] Batch [0-2]\tSpeed: 8.00 samples/sec\taccuracy=0.000000\tmse=0.350000",
        "Epoch[1] Batch [0-4]\tSpeed: 8.00 samples/sec\taccuracy=0.000000\tmse=0.350000",
    ]
    assert counts == [[0, 0], [10, 5]]  # auto_reset resets the local statistics


def test_speedometer_without_metric_and_new_epoch(caplog, clock):
    clock(100.0, 102.0, 103.0, 200.0, 204.0, 205.0)
    caplog.set_level(logging.INFO)
    speedometer = callback.Speedometer(4, frequent=2)
    for nbatch in range(3):
        speedometer(callback.BatchEndParam(2, nbatch, None, None))
    # a smaller nbatch starts a new epoch: the clock restarts instead of logging
    speedometer(callback.BatchEndParam(3, 0, None, None))
    speedometer(callback.BatchEndParam(3, 2, None, None))
    assert _messages(caplog) == ["Iter[2] Batch [2]\tSpeed: 4.00 samples/sec",
                                 "Iter[3] Batch [2]\tSpeed: 2.00 samples/sec"]


def test_speedometer_real_clock_format(caplog):
    caplog.set_level(logging.INFO)
    speedometer = callback.Speedometer(8, frequent=1)
    m = metric.Accuracy()
    m.update(LABEL, PRED)
    speedometer(callback.BatchEndParam(0, 0, m, None))
    m.update(LABEL, PRED)
    speedometer(callback.BatchEndParam(0, 1, m, None))
    (msg,) = _messages(caplog)
    assert re.fullmatch(r"Epoch\[0\] Batch \[0-1\]\tSpeed: (\d+\.\d\d|inf) samples/sec"
                        r"\taccuracy=0\.000000", msg)


def test_progress_bar(caplog):
    caplog.set_level(logging.INFO)
    bar = callback.ProgressBar(total=4, length=10)
    for nbatch in range(5):
        bar(callback.BatchEndParam(0, nbatch, None, None))
    assert _messages(caplog) == ["[----------] 0%\r", "[==--------] 25%\r",
                                 "[=====-----] 50%\r", "[========--] 75%\r",
                                 "[==========] 100%\r"]


def test_log_train_metric(caplog):
    caplog.set_level(logging.INFO)
    m = metric.Accuracy()
    m.update(LABEL, PRED)
    log = callback.log_train_metric(2, auto_reset=True)
    for nbatch in range(4):
        log(callback.BatchEndParam(3, nbatch, m, None))
    assert _messages(caplog) == ["Iter[3] Batch[0] Train-accuracy=0.000000",
                                 "Iter[3] Batch[2] Train-accuracy=nan"]
    assert m.num_inst == 0 and m.global_num_inst == 2


def test_log_validation_metrics(caplog):
    caplog.set_level(logging.INFO)
    cb = callback.LogValidationMetricsCallback()
    cb(callback.BatchEndParam(5, 0, metric.create(["acc", "mse"]), None))
    cb(callback.BatchEndParam(6, 0, None, None))
    assert _messages(caplog) == ["Epoch[5] Validation-accuracy=nan",
                                 "Epoch[5] Validation-mse=nan"]


def test_do_checkpoint_calls_model_save_checkpoint(monkeypatch):
    calls = []
    fake = types.ModuleType("mxlite.model")
    fake.save_checkpoint = lambda *args: calls.append(args)
    monkeypatch.setitem(sys.modules, "mxlite.model", fake)
    cb = callback.do_checkpoint("prefix", period=2)
    for epoch in range(5):
        cb(epoch, "sym", {"w": 1}, {"a": 2})
    assert calls == [("prefix", 2, "sym", {"w": 1}, {"a": 2}),
                     ("prefix", 4, "sym", {"w": 1}, {"a": 2})]
    calls.clear()
    cb = callback.do_checkpoint("p", period=0)  # a period below 1 means every epoch
    cb(0, None, {}, {})
    assert calls == [("p", 1, None, {}, {})]


def test_module_checkpoint():
    class Mod:
        def __init__(self):
            self.calls = []

        def save_checkpoint(self, *args):
            self.calls.append(args)

    mod = Mod()
    cb = callback.module_checkpoint(mod, "m", period=3, save_optimizer_states=True)
    for epoch in range(7):
        cb(epoch)
    assert mod.calls == [("m", 3, True), ("m", 6, True)]
