"""``mx.gluon.contrib.estimator`` against MXNet 1.9.1.

The fixtures (``tests/data/gluon_estimator/``) were recorded by
``tests/fixtures/gen_gluon_estimator.py`` from real MXNet 1.9.1; the runs here rebuild the same
networks from the same stored weights and data and must end with MXNet's parameters (rtol
1e-5, atol 1e-5: float32 kernels round differently and SGD at lr 0.5 with momentum carries that
over the steps; the largest difference seen is 6e-6), metric values (rel 1e-5), log lines
(timings masked), handler traces and checkpoint files.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pathlib
import sys
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite import gluon
from mxlite.base import MXNetError
from mxlite.gluon import nn
from mxlite.gluon.contrib import estimator as est_pkg
from mxlite.gluon.contrib.estimator import (
    BatchBegin,
    BatchEnd,
    BatchProcessor,
    CheckpointHandler,
    EarlyStoppingHandler,
    EpochBegin,
    EpochEnd,
    Estimator,
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    StoppingHandler,
    TrainBegin,
    TrainEnd,
    ValidationHandler,
)

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
import estimator_cases  # noqa: E402
from estimator_cases import mask  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "gluon_estimator"
RUNS = json.loads((DATA / "runs.json").read_text())["runs"]
ERRORS = json.loads((DATA / "runs.json").read_text())["errors"]
with np.load(DATA / "arrays.npz") as _z:
    ARR = {k: _z[k] for k in _z.files}
BATCH = {"clf": 8, "reg": 4}
RTOL, ATOL = 1e-5, 1e-5



def _build(kind: str, hybridize: bool = False, offset: float = 0.0) -> nn.HybridSequential:
    net = nn.HybridSequential(prefix=f"{kind}_")
    with net.name_scope():
        if kind == "clf":
            net.add(nn.Dense(6, activation="relu", in_units=4), nn.Dense(3, in_units=6))
        else:
            net.add(nn.Dense(4, activation="relu", flatten=False, in_units=3))
    net.initialize()
    for k, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(ARR[f"{kind}/init/{k}"] + np.float32(offset)))
    if hybridize:
        net.hybridize()
    return net


def _loaders(kind: str) -> tuple[gluon.data.DataLoader, gluon.data.DataLoader]:
    def loader(x: str, y: str) -> gluon.data.DataLoader:
        ds = gluon.data.ArrayDataset(mx.nd.array(ARR[f"{kind}/{x}"]),
                                     mx.nd.array(ARR[f"{kind}/{y}"]))
        return gluon.data.DataLoader(ds, batch_size=BATCH[kind])
    return loader("x", "y"), loader("x_val", "y_val")


def _sgd(net: nn.Block, momentum: float = 0.9) -> gluon.Trainer:
    opt = {"learning_rate": 0.5}
    if momentum:
        opt["momentum"] = momentum
    return gluon.Trainer(net.collect_params(), "sgd", opt)


def _clf_estimator(net: nn.Block, trainer: gluon.Trainer | None = None) -> Estimator:
    return Estimator(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(),
                     trainer=trainer or _sgd(net), context=mx.cpu())


def _capture(est: Estimator, tmpdir: str | None = None) -> list[str]:
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = mask(record.getMessage())
            if tmpdir is not None:
                msg = msg.replace(tmpdir, "<dir>")
            lines.append(record.levelname + ":" + msg)

    est.logger.addHandler(ListHandler())
    return lines


def _mxnet_log(run: str) -> list[str]:
    return RUNS[run]["log"]


def _assert_final(run: str, net: nn.Block) -> None:
    params = net._collect_params_with_prefix()
    assert sorted(params) == sorted(k.split("/")[-1] for k in ARR if k.startswith(f"{run}/final/"))
    for k, p in params.items():
        np.testing.assert_allclose(p.data().asnumpy(), ARR[f"{run}/final/{k}"],
                                   rtol=RTOL, atol=ATOL, err_msg=f"{run} {k}")


def _assert_metrics(metrics: list, expected: list) -> None:
    assert [m.name for m in metrics] == [name for name, _ in expected]
    for m, (_, value) in zip(metrics, expected):
        assert m.get()[1] == pytest.approx(value, rel=1e-5, abs=1e-6)


def _values_close(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or abs(x - y) <= 2e-5 for x, y in zip(a, b))


# ---------------------------------------------------------------------------------------------
# Whole runs against MXNet.


Recorder = estimator_cases.recorder_class(est_pkg)


def test_fit_epochs_with_validation_matches_mxnet() -> None:
    ref = RUNS["clf_fit"]
    net = _build("clf")
    train, val = _loaders("clf")
    est = _clf_estimator(net)
    lines = _capture(est)
    trace: list = []
    handlers = [Recorder("late", 0, trace), Recorder("early", -1500, trace)]
    order = [type(h).__name__ for h in est._prepare_default_handlers(val, list(handlers))]
    assert order == ref["handler_order"] == [
        "GradientUpdateHandler", "Recorder", "MetricHandler", "ValidationHandler", "Recorder",
        "StoppingHandler", "LoggingHandler"]

    est.fit(train, val_data=val, epochs=3, event_handlers=handlers)

    _assert_final("clf_fit", net)
    _assert_metrics(est.train_metrics, ref["train_metrics"])
    _assert_metrics(est.val_metrics, ref["val_metrics"])
    assert lines == _mxnet_log("clf_fit")
    assert lines[-1].startswith("INFO:Train finished using total <t>s with 3 epochs. "
                                "training accuracy: 0.6000")
    # Same events in the same order; the metric values each handler saw (the early one
    # before MetricHandler's batch update, the late one after) match MXNet's.
    assert len(trace) == len(ref["trace"]) == 52
    for mine, theirs in zip(trace, ref["trace"]):
        assert mine[:2] == theirs[:2]
        assert _values_close(mine[2], theirs[2]), (mine, theirs)
        if mine[1] == "epoch_end":
            assert _values_close(mine[3], theirs[3]), (mine, theirs)
        elif len(mine) > 3:
            assert mine[3] == theirs[3]


def test_fit_two_contexts_matches_mxnet() -> None:
    ref = RUNS["clf_2ctx"]
    ctx = [mx.cpu(0), mx.cpu(1)]
    net = nn.HybridSequential(prefix="clf_")
    with net.name_scope():
        net.add(nn.Dense(6, activation="relu", in_units=4), nn.Dense(3, in_units=6))
    net.initialize(ctx=ctx)
    for k, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(ARR[f"clf/init/{k}"]))
    train, val = _loaders("clf")
    est = Estimator(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(), trainer=_sgd(net),
                    context=ctx)
    lines = _capture(est)
    est.fit(train, val_data=val, epochs=3)
    _assert_final("clf_2ctx", net)
    # both devices hold the same weights, and the split run equals the one-device run
    for p in net.collect_params().values():
        np.testing.assert_array_equal(p.data(ctx[0]).asnumpy(), p.data(ctx[1]).asnumpy())
    _assert_final("clf_fit", net)
    _assert_metrics(est.train_metrics, ref["train_metrics"])
    _assert_metrics(est.val_metrics, ref["val_metrics"])
    assert lines == _mxnet_log("clf_2ctx")


def test_fit_batches_with_logging_interval_and_batch_validation() -> None:
    ref = RUNS["reg_batches"]
    net = _build("reg")
    train, val = _loaders("reg")
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    est = Estimator(net, loss=gluon.loss.L2Loss(), train_metrics=[mx.metric.MAE()],
                    trainer=trainer, context=mx.cpu(), val_loss=gluon.loss.L1Loss())
    lines = _capture(est)
    log_h = LoggingHandler(log_interval=2, metrics=est.train_metrics)
    val_h = ValidationHandler(val, est.evaluate, epoch_period=None, batch_period=2)
    est.fit(train, val_data=val, batches=5, event_handlers=[log_h, val_h])

    _assert_final("reg_batches", net)
    _assert_metrics(est.train_metrics, ref["train_metrics"])
    _assert_metrics(est.val_metrics, ref["val_metrics"])
    assert lines == _mxnet_log("reg_batches")
    assert "INFO:[Epoch 1][Batch 0][Samples 14] time/interval: <t>s training mae: 0.5161" in lines
    assert [log_h.batch_index, log_h.current_epoch, log_h.processed_samples] == \
        ref["logging"] == [0, 2, 18]
    assert [val_h.current_batch, val_h.current_epoch] == ref["validation"] == [5, 2]
    assert est.max_batch == 5 and est.max_epoch is None


@pytest.mark.parametrize("run,kw,epochs", [
    ("early_min", {"mode": "min", "patience": 1, "min_delta": 0.05}, 30),
    # MXNet 1.9.1's 'auto' always compares with ``greater``, so a falling loss "does not
    # improve" and training stops after the second epoch.
    ("early_auto", {"mode": "auto"}, 5),
])
def test_early_stopping_matches_mxnet(run: str, kw: dict, epochs: int) -> None:
    ref = RUNS[run]
    net = _build("clf")
    train, _ = _loaders("clf")
    est = _clf_estimator(net, _sgd(net, momentum=0.0))
    lines = _capture(est)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        es = EarlyStoppingHandler(monitor=est.train_metrics[1], **kw)
    if kw["mode"] == "auto":
        assert "`greater` operator will be used" in str(w[-1].message)
    est.fit(train, epochs=epochs, event_handlers=[es])

    _assert_final(run, net)
    assert (es.stopped_epoch, es.current_epoch, es.wait) == \
        (ref["stopped_epoch"], ref["current_epoch"], ref["wait"])
    assert es.best == pytest.approx(ref["best"], rel=1e-5)
    _assert_metrics(est.train_metrics, ref["train_metrics"])
    assert lines == _mxnet_log(run)
    assert (f"INFO:[Epoch {ref['stopped_epoch']}] EarlyStoppingHanlder: early stopping due to "
            "training softmaxcrossentropyloss not improving") in lines


def test_early_stopping_baseline_and_unupdated_monitor() -> None:
    train, _ = _loaders("clf")
    net = _build("clf")
    est = _clf_estimator(net, _sgd(net, momentum=0.0))
    # nothing beats a baseline of 0 for a loss: the first epoch already stops (epoch 0, so
    # no log line, as MXNet logs only a stop after epoch > 0)
    lines = _capture(est)
    es = EarlyStoppingHandler(est.train_metrics[1], mode="min", baseline=0.0)
    est.fit(train, epochs=4, event_handlers=[es])
    assert (es.stopped_epoch, es.current_epoch, es.wait, es.best) == (0, 1, 1, 0.0)
    assert not any("EarlyStoppingHanlder" in line for line in lines)
    # a validation metric without validation data stays NaN: a warning, never a stop
    es = EarlyStoppingHandler(est.val_metrics[0], mode="max")
    with pytest.warns(RuntimeWarning, match="validation accuracy is not updated"):
        est.fit(train, epochs=2, event_handlers=[es])
    assert (es.stop_training, es.current_epoch) == (False, 2)
    # min_delta counts against the monitored value in the mode's direction
    assert EarlyStoppingHandler(est.train_metrics[1], min_delta=0.1, mode="min").min_delta \
        == -0.1
    assert EarlyStoppingHandler(est.train_metrics[0], min_delta=0.1, mode="max").min_delta \
        == 0.1


def test_checkpoint_save_best_skips_nan_monitor_and_no_resume(tmp_path: pathlib.Path) -> None:
    train, _ = _loaders("clf")
    est = _clf_estimator(_build("clf"))
    lines = _capture(est, str(tmp_path))
    ck = CheckpointHandler(str(tmp_path), "nb", monitor=est.val_metrics[0], save_best=True,
                           mode="max", resume_from_checkpoint=True)
    with pytest.warns(RuntimeWarning, match="Skipping save best"):
        est.fit(train, epochs=2, event_handlers=[ck])
    # MXNet 1.9.1 (checked against it) numbers a resumed run's batches from the checkpoint's
    # batch + 1, and from -1 + 1 when none was found: one less than a plain run's names.
    assert sorted(os.listdir(tmp_path)) == ["nb-epoch0batch2.params", "nb-epoch0batch2.states",
                                            "nb-epoch1batch5.params", "nb-epoch1batch5.states"]
    assert lines[0] == ("INFO:CheckpointHandler: No checkpoint found, training from scratch for "
                        "2 epochs")
    assert ck.best == -np.inf
    # an unknown mode falls back to 'auto' (greater), with MXNet's warnings
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint mode sideways is unknown"):
        ck = CheckpointHandler(str(tmp_path), monitor=est.train_metrics[1], save_best=True,
                               mode="sideways")
    assert ck.monitor_op is np.greater


def _ckpt_files(run: str, tmpdir: str) -> None:
    """The checkpoint directory holds MXNet's file names; every ``.params`` file loads to
    MXNet's arrays, and the trainer states are MXNet's bytes."""
    ref = RUNS[run]["files"]
    assert sorted(os.listdir(tmpdir)) == [row[0] for row in ref]
    for row in ref:
        fname, path = row[0], os.path.join(tmpdir, row[0])
        if fname.endswith(".params"):
            loaded = mx.nd.load(path)
            want = {k.split("/")[-1]: v for k, v in ARR.items()
                    if k.startswith(f"{run}/ckpt/{fname}/")}
            assert sorted(loaded) == sorted(want)
            for k, v in loaded.items():
                np.testing.assert_allclose(v.asnumpy(), want[k], rtol=RTOL, atol=ATOL)
        elif fname.endswith(".json"):
            mine = json.loads(pathlib.Path(path).read_text())
            assert [(n["op"], n["name"]) for n in mine["nodes"]] == \
                [(n["op"], n["name"]) for n in row[2]["nodes"]]


def test_checkpoint_batch_period_save_best_and_symbol(tmp_path: pathlib.Path) -> None:
    ref = RUNS["ckpt_batch"]
    tmpdir = str(tmp_path / "ck")  # created by the handler
    net = _build("clf", hybridize=True)
    train, _ = _loaders("clf")
    est = _clf_estimator(net)
    lines = _capture(est, tmpdir)
    ck = CheckpointHandler(tmpdir, model_prefix="ck", monitor=est.train_metrics[0],
                           save_best=True, verbose=1, epoch_period=None, batch_period=2,
                           max_checkpoints=2)
    est.fit(train, batches=7, event_handlers=[ck])

    _assert_final("ckpt_batch", net)
    assert [ck.current_epoch, ck.current_batch] == ref["current"] == [3, 7]
    assert ck.saved_checkpoints == ref["saved_checkpoints"] == ["ck-epoch1batch3",
                                                               "ck-epoch1batch5"]
    assert ck.best == pytest.approx(ref["best"])
    _ckpt_files("ckpt_batch", tmpdir)
    assert lines == _mxnet_log("ckpt_batch")
    # the best checkpoint is the batch-5 one, and reloading it gives its parameters back
    fresh = _build("clf", offset=3.0)
    fresh.load_parameters(os.path.join(tmpdir, "ck-best.params"))
    for k, p in fresh._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.data().asnumpy(),
                                   ARR[f"ckpt_batch/ckpt/ck-epoch1batch5.params/{k}"],
                                   rtol=RTOL, atol=ATOL)


def test_checkpoint_epoch_period_states_round_trip(tmp_path: pathlib.Path) -> None:
    ref = RUNS["ckpt_epoch"]
    tmpdir = str(tmp_path)
    net = _build("clf")
    train, _ = _loaders("clf")
    est = _clf_estimator(net)
    lines = _capture(est, tmpdir)
    ck = CheckpointHandler(tmpdir, model_prefix="ep")
    est.fit(train, epochs=2, event_handlers=[ck])

    _assert_final("ckpt_epoch", net)
    assert [ck.current_epoch, ck.current_batch] == ref["current"] == [2, 6]
    _ckpt_files("ckpt_epoch", tmpdir)
    assert lines == _mxnet_log("ckpt_epoch")
    # the .states file restores the momentum: a new Trainer loading it continues exactly
    trainer2 = _sgd(net)
    trainer2.load_states(os.path.join(tmpdir, "ep-epoch1batch6.states"))
    assert trainer2.learning_rate == 0.5
    assert trainer2.optimizer.momentum == 0.9


def test_resume_from_checkpoint_matches_mxnet(tmp_path: pathlib.Path) -> None:
    ref = RUNS["resume"]
    tmpdir = str(tmp_path)
    net = _build("clf")
    train, _ = _loaders("clf")
    est = _clf_estimator(net)
    est.fit(train, epochs=2, event_handlers=[CheckpointHandler(tmpdir, "rs", max_checkpoints=1)])
    assert sorted(os.listdir(tmpdir)) == ref["first_files"]

    net2 = _build("clf", offset=1.0)  # other weights: the checkpoint must replace them
    est2 = _clf_estimator(net2)
    lines = _capture(est2, tmpdir)
    ck = CheckpointHandler(tmpdir, "rs", max_checkpoints=1, resume_from_checkpoint=True)
    est2.fit(train, epochs=4, event_handlers=[ck])

    assert est2.max_epoch == ref["max_epoch"] == 2
    assert [ck.trained_epoch, ck.trained_batch] == ref["trained"] == [1, 6]
    assert [ck.current_epoch, ck.current_batch] == ref["current"]
    _assert_final("resume", net2)
    _assert_final("resume_straight", net2)  # resuming == training 4 epochs straight
    _ckpt_files("resume", tmpdir)
    assert lines == _mxnet_log("resume")
    assert lines[0] == ("WARNING:CheckpointHandler: Checkpoint resumed from epoch 1 batch 6, "
                        "continue to train for 2 epochs ")

    # every epoch already trained: MXNet refuses to resume
    est3 = _clf_estimator(_build("clf"))
    with pytest.raises(ValueError, match="maximum number of epoch 3 reached") as err:
        est3.fit(train, epochs=3, event_handlers=[
            CheckpointHandler(tmpdir, "rs", resume_from_checkpoint=True)])
    assert isinstance(err.value, MXNetError)
    # resuming needs the period type of the run
    with pytest.raises(AssertionError, match="same type of period") as err:
        est3.fit(train, batches=3, event_handlers=[
            CheckpointHandler(tmpdir, "rs", resume_from_checkpoint=True)])
    assert isinstance(err.value, MXNetError)


def test_evaluate_logging_interval_matches_mxnet() -> None:
    ref = RUNS["evaluate"]
    net = _build("clf")
    _, val = _loaders("clf")
    est = _clf_estimator(net)
    lines = _capture(est)
    est.evaluate(val, event_handlers=[LoggingHandler(log_interval=1, metrics=est.val_metrics)])
    _assert_metrics(est.val_metrics, ref["val_metrics"])
    assert lines == _mxnet_log("evaluate")
    assert lines[1] == ("INFO:[Epoch 0][Batch 0][Samples 8] time/interval: <t>s validation "
                        "accuracy: 0.2500, validation softmaxcrossentropyloss: 1.5509")
    # evaluate neither trains nor touches the training metrics
    untouched = {k: p.data().asnumpy() for k, p in
                          net._collect_params_with_prefix().items()}
    for k, v in untouched.items():
        np.testing.assert_array_equal(v, ARR[f"clf/init/{k}"])
    assert all(math.isnan(m.get()[1]) for m in est.train_metrics)


# ---------------------------------------------------------------------------------------------
# Construction, defaults, handler plumbing.


def test_default_metrics_names_and_copies() -> None:
    net = _build("clf")
    est = _clf_estimator(net)
    assert [m.name for m in est.train_metrics] == ["training accuracy",
                                                   "training softmaxcrossentropyloss"]
    assert [m.name for m in est.val_metrics] == ["validation accuracy",
                                                 "validation softmaxcrossentropyloss"]
    assert isinstance(est.train_metrics[0], mx.metric.Accuracy)
    assert isinstance(est.train_metrics[1], mx.metric.Loss)
    assert est.val_metrics[0] is not est.train_metrics[0]
    # a non-softmax loss only gets the loss metric, named after the loss without its counter
    est2 = Estimator(_build("reg"), loss=gluon.loss.L2Loss(prefix="l2loss7_"),
                     trainer=_sgd(net), context=mx.cpu())
    assert [m.name for m in est2.train_metrics] == ["training l2loss"]
    # user metrics are renamed in place; a CompositeEvalMetric is unpacked into its children
    acc, mae = mx.metric.Accuracy(), mx.metric.MAE()
    est3 = Estimator(_build("clf"), loss=gluon.loss.SoftmaxCrossEntropyLoss(),
                     train_metrics=mx.metric.CompositeEvalMetric([acc, mae]),
                     val_metrics=[mx.metric.TopKAccuracy(2)], trainer=_sgd(net),
                     context=mx.cpu())
    assert est3.train_metrics == [acc, mae]
    assert acc.name == "training accuracy" and mae.name == "training mae"
    assert [m.name for m in est3.val_metrics] == ["validation top_k_accuracy_2"]


def test_construction_defaults_and_warnings() -> None:
    net = nn.HybridSequential(prefix="dflt_")
    with net.name_scope():
        net.add(nn.Dense(2, in_units=3))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        est = Estimator(net, loss=gluon.loss.L2Loss())
    assert "No trainer specified" in str(w[-1].message)
    assert est.context == [mx.cpu()]
    assert est.trainer.learning_rate == 0.001
    assert type(est.trainer.optimizer).__name__ == "SGD"
    assert isinstance(est.batch_processor, BatchProcessor)
    assert est.val_net is net and est.val_loss is est.loss
    assert net[0].weight.list_ctx() == [mx.cpu()]  # initialized by the estimator
    assert est.logger.name == "Estimator" and est.logger.level == logging.INFO

    # a fully initialized net is left alone, with a warning if an initializer is given
    before = net[0].weight.data().asnumpy().copy()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        Estimator(net, loss=gluon.loss.L2Loss(), initializer=mx.init.One(),
                  trainer=est.trainer, context=mx.cpu())
    assert "Network already fully initialized" in str(w[-1].message)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)

    # a partly initialized net (new output layer) gets only the missing parameters
    net.add(nn.Dense(1, in_units=2))
    Estimator(net, loss=gluon.loss.L2Loss(), initializer=mx.init.One(), trainer=est.trainer,
              context=mx.cpu())
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)
    np.testing.assert_array_equal(net[1].weight.data().asnumpy(), np.ones((1, 2), np.float32))


def test_logger_writes_to_stdout_of_construction(capsys: pytest.CaptureFixture) -> None:
    net = _build("clf")
    train, _ = _loaders("clf")
    est = _clf_estimator(net)
    est.fit(train, batches=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Training begin: using optimizer SGD with current learning rate 0.5000 "
    assert out[1] == "Train for 1 batches."
    assert out[-1].startswith("Train finished using total ")
    assert est.logger is not _clf_estimator(net).logger


def test_categorize_and_priorities() -> None:
    class OnlyBatchEnd(BatchEnd):
        pass

    class Several(EpochBegin, BatchBegin, TrainEnd):
        priority = -5

    est = _clf_estimator(_build("clf"))
    hs = [OnlyBatchEnd(), Several(), StoppingHandler()]
    tb, eb, bb, be, ee, te = est._categorize_handlers(hs)
    assert (len(tb), len(eb), len(bb), len(be), len(ee), len(te)) == (1, 1, 1, 2, 1, 1)
    assert [GradientUpdateHandler().priority, MetricHandler([]).priority,
            ValidationHandler(None, print).priority, LoggingHandler().priority] == \
        [-2000, -1000, -1000, float("inf")]
    est.max_epoch, est.max_batch = 1, None
    order = est._prepare_default_handlers(None, [OnlyBatchEnd(), Several()])
    assert [type(h).__name__ for h in order] == [
        "GradientUpdateHandler", "MetricHandler", "Several", "OnlyBatchEnd", "StoppingHandler",
        "LoggingHandler"]
    # a user MetricHandler / LoggingHandler replaces the default one
    user = [MetricHandler(est.train_metrics), LoggingHandler(metrics=est.train_metrics)]
    order = est._prepare_default_handlers(None, user)
    assert sum(isinstance(h, (MetricHandler, LoggingHandler)) for h in order) == 2
    assert order[1] is user[0] and order[-1] is user[1]


def test_custom_stop_handler_batch_and_epoch() -> None:
    class Stop(TrainBegin, BatchEnd, EpochEnd):
        def __init__(self, batch_stop: int, epoch_stop: int) -> None:
            self.batch_stop, self.epoch_stop = batch_stop, epoch_stop

        def train_begin(self, estimator, *args, **kwargs):
            self.num_batch = self.num_epoch = 0

        def batch_end(self, estimator, *args, **kwargs):
            self.num_batch += 1
            return self.num_batch >= self.batch_stop

        def epoch_end(self, estimator, *args, **kwargs):
            self.num_epoch += 1
            return self.num_epoch >= self.epoch_stop

    train, _ = _loaders("clf")  # 3 batches per epoch
    est = _clf_estimator(_build("clf"))
    stop = Stop(batch_stop=2, epoch_stop=2)
    est.fit(train, epochs=5, event_handlers=[stop])
    # the batch stop ends epoch 0 early, epoch_end still runs; epoch 1 then ends training
    assert (stop.num_batch, stop.num_epoch) == (3, 2)
    stop = Stop(batch_stop=100, epoch_stop=100)
    est.fit(train, epochs=2, event_handlers=[stop])
    assert (stop.num_batch, stop.num_epoch) == (6, 2)
    est.fit(train, batches=4, event_handlers=[stop])
    assert (stop.num_batch, stop.num_epoch) == (4, 2)


def test_custom_batch_processor_and_val_net() -> None:
    class Halves(BatchProcessor):
        """Train on the batch's first half only; evaluate normally, counting calls."""

        def __init__(self) -> None:
            super().__init__()
            self.fits = self.evals = 0

        def fit_batch(self, estimator, train_batch, batch_axis=0):
            self.fits += 1
            half = train_batch[0].shape[0] // 2
            return super().fit_batch(estimator, (train_batch[0][:half], train_batch[1][:half]),
                                     batch_axis)

        def evaluate_batch(self, estimator, val_batch, batch_axis=0):
            self.evals += 1
            return super().evaluate_batch(estimator, val_batch, batch_axis)

    net = _build("clf")
    val_net = nn.HybridSequential(prefix="clf_", params=net.collect_params())
    with val_net.name_scope():
        val_net.add(nn.Dense(6, activation="relu", in_units=4), nn.Dense(3, in_units=6))
    train, val = _loaders("clf")
    proc = Halves()
    est = Estimator(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(), trainer=_sgd(net),
                    context=mx.cpu(), val_net=val_net, batch_processor=proc)
    assert est.val_net is val_net and est.batch_processor is proc
    est.fit(train, val_data=val, epochs=2)
    assert (proc.fits, proc.evals) == (6, 4)
    # GradientUpdateHandler stepped with the half-batch sizes: the same update as training
    # on the halves directly with the plain processor
    ref_net = _build("clf")
    half_x = [ARR["clf/x"][i:i + 8][:len(ARR["clf/x"][i:i + 8]) // 2] for i in (0, 8, 16)]
    half_y = [ARR["clf/y"][i:i + 8][:len(ARR["clf/y"][i:i + 8]) // 2] for i in (0, 8, 16)]
    ds = gluon.data.ArrayDataset(mx.nd.array(np.concatenate(half_x)),
                                 mx.nd.array(np.concatenate(half_y)))
    loader = gluon.data.DataLoader(ds, batch_sampler=[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    _clf_estimator(ref_net).fit(loader, epochs=2)
    for k, p in net._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.data().asnumpy(),
                                   ref_net._collect_params_with_prefix()[k].data().asnumpy(),
                                   rtol=1e-6, atol=1e-7)


def test_validation_handler_passes_its_handlers_and_periods() -> None:
    class Seen(EpochEnd):
        def __init__(self) -> None:
            self.calls = 0

        def epoch_end(self, estimator, *args, **kwargs):
            self.calls += 1
            return False

    train, val = _loaders("clf")
    est = _clf_estimator(_build("clf"))
    seen = Seen()
    vh = ValidationHandler(val, est.evaluate, epoch_period=2, event_handlers=seen)
    est.fit(train, val_data=val, epochs=5, event_handlers=[vh])
    assert seen.calls == 2  # after epochs 2 and 4 only
    assert (vh.current_epoch, vh.current_batch) == (5, 15)


# ---------------------------------------------------------------------------------------------
# Refusals: MXNet's exception type (mxlite's are MXNetError as well) and message.


def test_bad_arguments_raise_like_mxnet(tmp_path: pathlib.Path) -> None:
    net = _build("reg")
    train, _ = _loaders("reg")
    l2 = gluon.loss.L2Loss()
    tr = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    ok = Estimator(net, loss=l2, trainer=tr, context=mx.cpu())
    it = mx.io.NDArrayIter(data=ARR["reg/x"], label=ARR["reg/y"], batch_size=4)
    cases = {
        "loss": (lambda: Estimator(net, loss="mse", trainer=tr), "loss"),
        "val_loss": (lambda: Estimator(net, loss=l2, val_loss="l1", trainer=tr), "val_loss"),
        "train_metrics": (lambda: Estimator(net, loss=l2, train_metrics="acc", trainer=tr),
                          "metrics"),
        "trainer": (lambda: Estimator(net, loss=l2, trainer="sgd"), "trainer"),
        "context_str": (lambda: Estimator(net, loss=l2, trainer=tr, context="cpu"), "context"),
        "context_gpu": (lambda: Estimator(net, loss=l2, trainer=tr, context=[mx.gpu(0)]),
                        "context"),
        "batch_processor": (lambda: Estimator(net, loss=l2, trainer=tr,
                                              batch_processor=object()), "batch_processor"),
        "fit_dataiter": (lambda: ok.fit(it, epochs=1), "train_data"),
        "fit_both": (lambda: ok.fit(train, epochs=1, batches=2), "epochs"),
        "fit_neither": (lambda: ok.fit(train), "batches"),
        "evaluate_list": (lambda: ok.evaluate([mx.nd.ones((2, 3))]), "val_data"),
        "event_handlers": (lambda: ok.fit(train, epochs=1, event_handlers=[1]),
                           "event_handlers"),
        "foreign_metric": (lambda: ok.fit(train, epochs=1, event_handlers=[
            LoggingHandler(metrics=[mx.metric.RMSE()])]), "metric"),
        "log_interval": (lambda: LoggingHandler(log_interval="batch"), "log_interval"),
        "ckpt_save_best": (lambda: CheckpointHandler(str(tmp_path), save_best=True), "monitor"),
        "early_monitor": (lambda: EarlyStoppingHandler(monitor="acc"), "monitor"),
        "early_composite": (lambda: EarlyStoppingHandler(
            monitor=mx.metric.CompositeEvalMetric([mx.metric.Accuracy()])), "monitor"),
    }
    assert sorted(cases) == sorted(ERRORS)
    for name, (fn, argname) in cases.items():
        kind, mx_msg = ERRORS[name]
        with pytest.raises(MXNetError) as err:
            fn()
        assert isinstance(err.value, {"ValueError": ValueError,
                                      "AssertionError": AssertionError}[kind]), name
        msg = str(err.value)
        assert argname in msg, (name, msg)
        if name == "foreign_metric":  # the metric's repr is in the middle
            assert msg.startswith(mx_msg.split(" EvalMetric")[0]), msg
            assert msg.endswith(mx_msg.split("nan}")[1])
        else:
            assert mx_msg in msg, (name, msg)
    assert isinstance(est_pkg.EstimatorValueError("x"), ValueError)


def test_package_exports_match_mxnet() -> None:
    assert sorted(est_pkg.__all__) == sorted([
        "Estimator", "BatchProcessor", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd",
        "BatchBegin", "BatchEnd", "StoppingHandler", "MetricHandler", "ValidationHandler",
        "LoggingHandler", "CheckpointHandler", "EarlyStoppingHandler", "GradientUpdateHandler"])
    assert mx.gluon.contrib.estimator is est_pkg
    assert est_pkg.estimator.Estimator is Estimator
    assert est_pkg.event_handler.CheckpointHandler is CheckpointHandler
    assert est_pkg.batch_processor.BatchProcessor is BatchProcessor
