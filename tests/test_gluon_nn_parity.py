"""``mx.gluon.nn`` layers against MXNet 1.9.1 (tests/data/gluon/nn, gen_gluon_nn.py).

Each recorded case is rebuilt from its code, imperatively and hybridized, and checked for
MXNet's prefix, parameter names/shapes/dtypes/grad_req, deterministic initial values, ``repr``
before and after initialisation, forward output, input and parameter gradients (predict and
train mode) and BatchNorm's running statistics after the forward and after the backward (and
after a training forward that is never differentiated), all within 1e-5; and for the argument,
output and auxiliary names of the symbol the block builds.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.gluon import nn
from mxlite.gluon.contrib import nn as cnn

DATA = pathlib.Path(__file__).parent / "data" / "gluon" / "nn"
DOC = json.loads((DATA / "cases.json").read_text())
CASES = DOC["cases"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(scope="module")
def arrays():
    with np.load(DATA / "data.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _has_op(fn_name: str) -> bool:
    contrib = getattr(mx.nd, "contrib", None)
    return getattr(contrib, fn_name, None) is not None


MISSING_OPS = {"batchnorm_relu": "BatchNormWithReLU"}

def _cases(ids):
    return list(ids)


def _build(rec: dict, hybridize: bool):
    parent = nn.HybridSequential(prefix="p_")
    scope = {"nn": nn, "cnn": cnn, "mx": mx}
    with parent.name_scope():
        exec(rec["code"], scope)  # noqa: S102 - the fixture table's own code
    net = scope["net"]
    if hybridize:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sequential's "use HybridSequential" advice
            net.hybridize()
    return net


def _inputs(cid: str, rec: dict, arrays: dict) -> list:
    return [mx.nd.array(arrays[f"{cid}/in{i}"], dtype=arrays[f"{cid}/in{i}"].dtype)
            for i in range(len(rec["inputs"]))]


def _close(got, want, what: str) -> None:
    got = got.asnumpy() if hasattr(got, "asnumpy") else got
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    np.testing.assert_allclose(got, want, err_msg=what, **TOL)


def test_fixture_is_mxnet_191():
    assert DOC["format"] == "mxlite-gluon-nn-oracle/1"
    assert DOC["mxnet_version"] == "1.9.1"


@pytest.mark.parametrize("module", ["nn", "contrib.nn"])
def test_public_classes(module):
    mod = nn if module == "nn" else cnn
    ours = sorted(n for n in dir(mod) if not n.startswith("_")
                  and isinstance(getattr(mod, n), type))
    assert ours == DOC["classes"][module]


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybrid"])
@pytest.mark.parametrize("cid", _cases(CASES))
def test_layer_parity(cid, hybridize, arrays):
    rec = CASES[cid]
    net = _build(rec, hybridize)
    assert net.prefix == rec["prefix"]
    assert net.name == rec["name"]
    assert repr(net) == rec["repr_init"]
    missing = MISSING_OPS.get(cid)
    if missing and not _has_op(missing):
        net.initialize()
        with pytest.raises(mx.MXNetError, match=f"_contrib_{missing}"):
            net(*_inputs(cid, rec, arrays))
        names = [p["name"] for p in rec["params"]]
        assert list(net.collect_params().keys()) == names
        return

    xs = _inputs(cid, rec, arrays)
    net.initialize()
    net(*xs)
    params = list(net.collect_params().values())
    for p in params:
        if p.name in rec["init_constants"]:
            v = p.data().asnumpy()
            assert np.all(v == rec["init_constants"][p.name]), p.name
    got = [{"name": p.name, "shape": list(p.shape), "dtype": np.dtype(p.dtype).name,
            "grad_req": p.grad_req} for p in params]
    assert got == rec["params"]
    values = {p.name: arrays[f"{cid}/param/{p.name}"] for p in params}
    assert repr(net) == rec["repr"]

    for mode, res in rec["results"].items():
        for p in params:
            p.set_data(mx.nd.array(values[p.name], dtype=values[p.name].dtype))
        xs = _inputs(cid, rec, arrays)
        if "int_inputs" not in rec:
            for a in xs:
                a.attach_grad()
        if mode == "train_forward":
            scope = mx.autograd.train_mode()
        else:
            scope = mx.autograd.record(train_mode=mode == "train")
        with scope:
            out = net(*xs)
        _close(out, arrays[f"{cid}/{mode}/out"], f"{mode} output")
        for name in res["aux"]:
            _close(net.collect_params()[name].data(), arrays[f"{cid}/{mode}/aux_fwd/{name}"],
                   f"{mode} {name} after forward")
        if res.get("backward") is False:
            continue
        head = arrays[f"{cid}/head"]
        out.backward(mx.nd.array(head, dtype=head.dtype))
        by_name = {p.name: p for p in params}
        for g in res["grads"]:
            want = arrays[f"{cid}/{mode}/grad/{g}"]
            if g.startswith("in") and g[2:].isdigit():
                _close(xs[int(g[2:])].grad, want, f"{mode} gradient of input {g}")
            else:
                _close(by_name[g].grad(), want, f"{mode} gradient of {g}")
        for name in res["aux"]:
            _close(by_name[name].data(), arrays[f"{cid}/{mode}/aux/{name}"],
                   f"{mode} {name} after backward")


@pytest.mark.parametrize("cid", [c for c, r in CASES.items() if "arguments" in r["symbol"]])
def test_symbol_names(cid):
    rec = CASES[cid]
    # Fresh name counters, as in the generator's own process: operators a Lambda applies
    # outside any block scope (``x * 2``) are named by the global counters.
    with mx.name.NameManager():
        net = _build(rec, False)
        n = len(rec["inputs"])
        svars = [mx.sym.var("data")] if n == 1 else [mx.sym.var(f"data{i}") for i in range(n)]
        missing = MISSING_OPS.get(cid)
        if missing and not hasattr(mx.sym.contrib, missing):
            with pytest.raises(mx.MXNetError, match=f"_contrib_{missing}"):
                net(*svars)
            return
        s = net(*svars)
    assert s.list_arguments() == rec["symbol"]["arguments"]
    assert s.list_outputs() == rec["symbol"]["outputs"]
    assert s.list_auxiliary_states() == rec["symbol"]["aux"]
