"""Gluon training against MXNet 1.9.1: the same nets, data and initial parameters give the
same losses, final parameters and optimizer states; ``.states`` files move both ways.

Reference: tests/fixtures/gen_gluon_train.py (its docstring describes the runs and files).
Tolerances: losses rtol 1e-5, parameters atol 1e-5 after 12 (MLP) or 6 (CNN) steps. MXNet's
own two CPU backends (MKLDNN and reference kernels) agree to 2.5e-6 on these runs.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import gluon
from mxlite.compat import load_pickle
from mxlite.gluon import nn

sys.path.insert(0, str(DATA.parent / "fixtures"))
import gluon_train_loop  # noqa: E402

TRAIN = DATA / "gluon" / "train"
DOC = json.loads((TRAIN / "runs.json").read_text())
ARR = np.load(TRAIN / "arrays.npz", allow_pickle=False)
MAIN_RUNS = [r for r in DOC["runs"] if r.endswith(("_imperative", "_hybrid"))]
ATOL = 1e-5


def _build(net: str, prefix: str | None) -> nn.HybridSequential:
    blk = nn.HybridSequential(prefix=prefix)
    with blk.name_scope():
        if net == "mlp":
            blk.add(nn.Dense(16, activation="relu", in_units=20),
                    nn.Dense(16, activation="relu", in_units=16),
                    nn.Dense(4, in_units=16))
        else:
            blk.add(nn.Conv2D(4, 3, in_channels=1, use_bias=False), nn.BatchNorm(in_channels=4),
                    nn.Activation("relu"), nn.MaxPool2D(2), nn.Flatten(),
                    nn.Dense(4, in_units=36))
    return blk


def _net(net: str, hybridize: bool, values: str = "init", run: str | None = None):
    """The network with parameters ``<net>/init/*`` (or ``<run>/<values>/*``)."""
    blk = _build(net, f"{net}_")
    blk.initialize()
    for k, p in blk._collect_params_with_prefix().items():
        key = f"{net}/init/{k}" if values == "init" else f"{run}/{values}/{k}"
        p.set_data(mx.nd.array(ARR[key]))
    if hybridize:
        blk.hybridize()
    return blk


def _epoch(net: str, blk, trainer, **kw) -> float:
    """One epoch as the generator runs it; returns the mean per-sample loss."""
    data = gluon_train_loop.batches(mx, ARR[f"{net}/x"], ARR[f"{net}/y"],
                                    DOC["nets"][net]["batch_size"])
    return gluon_train_loop.epoch(mx, data, blk, trainer, **kw)


def _train(run: str) -> tuple:
    rec = DOC["runs"][run]
    net = rec["net"]
    blk = _net(net, rec["hybridize"])
    sp = blk._collect_params_with_prefix()
    if rec.get("mults"):
        sp["0.weight"].lr_mult = 0.5
        sp["1.weight"].wd_mult = 10.0
        sp["2.bias"].wd_mult = 0.0
    add_halves = rec.get("add_halves", False)
    if add_halves:
        blk.collect_params().setattr("grad_req", "add")
    trainer = gluon.Trainer(blk.collect_params(), rec["optimizer"],
                            dict(rec["optimizer_params"]))
    first: dict = {}
    losses = []
    for e in range(DOC["epochs"]):
        losses.append(_epoch(net, blk, trainer, add_halves=add_halves,
                             zero=rec.get("zero", True), first=first))
        if rec.get("mults") and e == 0:
            trainer.set_learning_rate(0.05)
    return blk, trainer, losses, first


def _assert_params(blk, run: str, what: str, atol: float = ATOL) -> None:
    for k, p in blk._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.data().asnumpy(), ARR[f"{run}/{what}/{k}"], rtol=0,
                                   atol=atol, err_msg=f"{run} {what} {k}")


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_parameter_names_shapes_and_trainer_order(net):
    blk = _build(net, f"{net}_")
    structural = {id(p): k for k, p in blk._collect_params_with_prefix().items()}
    table = [[name, structural[id(p)], list(p.shape), p.grad_req, p.lr_mult, p.wd_mult]
             for name, p in blk.collect_params().items()]
    assert table == DOC["nets"][net]["params"]
    blk.initialize()
    trainer = gluon.Trainer(blk.collect_params(), "sgd")
    order = sorted(trainer._param2idx, key=trainer._param2idx.get)
    assert order == DOC["nets"][net]["trainer_order"]
    with mx.name.NameManager():
        assert list(_build(net, None).collect_params().keys()) == \
            DOC["nets"][net]["default_names"]


# -- training ----------------------------------------------------------------------------------


@pytest.mark.parametrize("run", list(DOC["runs"]))
def test_training_matches_mxnet(run):
    rec = DOC["runs"][run]
    blk, trainer, losses, first = _train(run)
    # Gradients that are never cleared grow large, and with them rounding: MXNet's own two
    # backends end 2.5e-5 apart on this run.
    atol = 5e-5 if run == "mlp_sgd_add_nozero" else ATOL
    for k, v in first.items():
        np.testing.assert_allclose(v, ARR[f"{run}/{k}"], rtol=1e-5, atol=1e-5, err_msg=k)
    np.testing.assert_allclose(losses, rec["epoch_losses"], rtol=1e-5)
    _assert_params(blk, run, "final", atol=atol)
    opt = trainer.optimizer
    assert opt.rescale_grad == rec["rescale_grad"]
    assert opt.num_update == rec["num_update"]
    assert trainer.learning_rate == rec["learning_rate"]
    assert trainer._kvstore is rec["kvstore"] is None
    assert trainer._update_on_kvstore is rec["update_on_kvstore"] is None


@pytest.mark.parametrize("run", list(DOC["runs"]))
def test_saved_states_are_mxnets(run, tmp_path):
    """mxlite's file has MXNet's bytes once the (float-rounding) state values are MXNet's,
    and its values are MXNet's within tolerance."""
    _, trainer, _, _ = _train(run)
    fname = tmp_path / f"{run}.states"
    trainer.save_states(str(fname))
    theirs_bytes = (TRAIN / f"{run}.states").read_bytes()
    ours, ours_opt = load_pickle(fname.read_bytes())
    theirs, theirs_opt = load_pickle(theirs_bytes)
    assert sorted(ours) == sorted(theirs)

    def arrays(state):
        return [state] if isinstance(state, mx.nd.NDArray) else list(state)

    atol = 1e-3 if run == "mlp_sgd_add_nozero" else ATOL
    for k in ours:
        for a, b in zip(arrays(ours[k]), arrays(theirs[k])):
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=atol,
                                       err_msg=f"{run} state {k}")
    skip = {"param_dict"}
    assert {k: v for k, v in vars(ours_opt).items() if k not in skip} == \
        {k: v for k, v in vars(theirs_opt).items() if k not in skip}
    # Swap MXNet's state values in: the file must then be MXNet's, byte for byte.
    upd = trainer._updaters[0]
    for k in upd.states:
        for a, b in zip(arrays(upd.states[k]), arrays(theirs[k])):
            a._data[...] = b.asnumpy()
    trainer.save_states(str(fname))
    assert fname.read_bytes() == theirs_bytes


@pytest.mark.parametrize("run", MAIN_RUNS)
def test_training_continues_from_mxnets_states_file(run):
    rec = DOC["runs"][run]
    net = rec["net"]
    blk = _net(net, rec["hybridize"], values="final", run=run)
    trainer = gluon.Trainer(blk.collect_params(), rec["optimizer"],
                            dict(rec["optimizer_params"]))
    trainer.load_states(str(TRAIN / f"{run}.states"))
    assert trainer.optimizer.num_update == rec["num_update"]
    loss = _epoch(net, blk, trainer)
    np.testing.assert_allclose(loss, rec["cont_loss"], rtol=1e-5)
    _assert_params(blk, run, "cont")


def test_mxlite_states_file_reloads_and_continues_identically(tmp_path: pathlib.Path):
    run = "cnn_adam_hybrid"
    blk, trainer, _, _ = _train(run)
    fname = str(tmp_path / "ours.states")
    trainer.save_states(fname)
    snapshot = {k: p.data().asnumpy() for k, p in blk._collect_params_with_prefix().items()}
    _epoch("cnn", blk, trainer)
    expected = {k: p.data().asnumpy() for k, p in blk._collect_params_with_prefix().items()}
    for k, p in blk._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(snapshot[k]))
    trainer2 = gluon.Trainer(blk.collect_params(), "sgd")
    trainer2.load_states(fname)
    _epoch("cnn", blk, trainer2)
    for k, p in blk._collect_params_with_prefix().items():
        np.testing.assert_array_equal(p.data().asnumpy(), expected[k], err_msg=k)
