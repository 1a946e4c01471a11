"""mx.lr_scheduler against MXNet 1.9.1 (values from tests/fixtures/gen_optim.py)."""

from __future__ import annotations

import json
import pickle

import pytest
from conftest import DATA

import mxlite.lr_scheduler as lrs
from mxlite.base import MXNetError

with open(DATA / "optimizer" / "cases.json") as _f:
    SCHEDS = json.load(_f)["schedulers"]

CLASSES = {"factor": lrs.FactorScheduler, "multifactor": lrs.MultiFactorScheduler,
           "poly": lrs.PolyScheduler, "cosine": lrs.CosineScheduler}


def _make(spec: dict) -> lrs.LRScheduler:
    spec = dict(spec)
    return CLASSES[spec.pop("kind")](**spec)


@pytest.mark.parametrize("case", SCHEDS, ids=lambda c: "-".join(f"{v}" for v in c["spec"].values()))
def test_sequence_matches_mxnet(case):
    # The sequence revisits earlier counts at the end: the schedulers' state must carry over.
    s = _make(case["spec"])
    got = [s(n) for n in case["num_update"]]
    assert got == pytest.approx(case["lr"], rel=1e-12, abs=0)


def test_factor_scheduler_mutates_base_lr():
    s = lrs.FactorScheduler(step=2, factor=0.5, base_lr=1.0, stop_factor_lr=0.2)
    assert s(2) == 1.0 and s.base_lr == 1.0
    assert s(3) == 0.5 and s.count == 2
    assert s(0) == 0.5  # never undone
    assert s(100) == 0.2 and s.base_lr == 0.2


def test_warmup_modes():
    s = lrs.PolyScheduler(max_update=10, base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.2)
    assert [s(n) for n in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    c = lrs.CosineScheduler(max_update=10, base_lr=1.0, warmup_steps=3, warmup_begin_lr=0.1,
                            warmup_mode="constant")
    assert [c(n) for n in range(3)] == [0.1, 0.1, 0.1]
    assert c(3) == 1.0 and c(10) == 0.0 and c(50) == 0.0


@pytest.mark.parametrize("make, match", [
    (lambda: lrs.FactorScheduler(step=0), "greater or equal than 1"),
    (lambda: lrs.FactorScheduler(step=2, factor=1.5), "no more than 1"),
    (lambda: lrs.MultiFactorScheduler(step=[3, 3]), "increasing"),
    (lambda: lrs.MultiFactorScheduler(step=[]), "non-empty list"),
    (lambda: lrs.PolyScheduler(max_update=0), "strictly positive"),
    (lambda: lrs.CosineScheduler(max_update=2.5), "must be an int"),
    (lambda: lrs.FactorScheduler(step=2, base_lr=0.1, warmup_begin_lr=0.5), "higher than"),
    (lambda: lrs.FactorScheduler(step=2, warmup_steps=-1), "positive or 0"),
    (lambda: lrs.FactorScheduler(step=2, warmup_mode="cubic"), "linear and constant"),
])
def test_bad_arguments(make, match):
    with pytest.raises(MXNetError, match=match):
        make()


def test_pickle_round_trip_keeps_state():
    s = lrs.MultiFactorScheduler(step=[2, 4], factor=0.1, base_lr=1.0)
    s(3)
    s2 = pickle.loads(pickle.dumps(s))
    assert (s2.base_lr, s2.cur_step_ind, s2.count) == (s.base_lr, 1, 2)
    assert s2(5) == pytest.approx(0.01)
