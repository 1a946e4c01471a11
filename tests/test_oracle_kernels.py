"""Every operator's forward and backward kernels against MXNet 1.9.1, op by op.

Inputs, outputs, head gradients and input gradients come from tests/fixtures/gen_ops.py (see
tests/fixtures/README.md). Kernels run straight from the registry entry, without an executor,
so a failure here points at one operator.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from mxlite.ops import registry
from mxlite.ops.registry import OpContext

FIX = pathlib.Path(__file__).parent / "fixtures" / "ops"
DOC = json.loads((FIX / "cases.json").read_text())
DATA = np.load(FIX / "data.npz")
CASES = {k: v for k, v in DOC["cases"].items()
         if "error" not in v and "error" not in v.get("forward", {}).get("infer", {"error": 1})}

TOL = {"float16": (2e-2, 2e-2), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}


def _setup(cid: str):
    case = CASES[cid]
    op = registry.get(case["op"])
    kwargs = dict(case["kwargs"])
    if op.key_var_num_args and op.key_var_num_args not in kwargs:
        kwargs[op.key_var_num_args] = str(len(case["inputs"]))
    attrs = op.parse_attrs(kwargs, where="op")
    given = [i["name"] for i in case["inputs"]]
    names = [given[i] if i < len(given) else f"op_{n}"
             for i, n in enumerate(op.list_inputs(attrs))]
    aux = set(case["aux_states"])
    ins = [DATA[f"{cid}/auxin/{n}" if n in aux else f"{cid}/in/{n}"].copy() for n in names]
    if op.forward is None:
        pytest.skip(f"{op.name} has no kernel yet")
    return case, op, attrs, names, ins


def _close(got, key: str) -> None:
    want = DATA[key]
    got = np.asarray(got)
    assert got.shape == want.shape, f"{key}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=key)
        return
    rtol, atol = TOL.get(str(want.dtype), TOL["float32"])
    np.testing.assert_allclose(got.astype(want.dtype), want, rtol=rtol, atol=atol, err_msg=key)


def _forward(op, attrs, ins, is_train):
    ctx = OpContext(is_train=is_train, rng=np.random.default_rng(0))
    return op.forward(attrs, ins, ctx), ctx


@pytest.mark.parametrize("cid", list(CASES))
def test_forward_matches_mxnet(cid):
    case, op, attrs, names, ins = _setup(cid)
    for mode in ("infer", "train"):
        info = case["forward"].get(mode, {})
        if "error" in info:
            continue
        outs, _ = _forward(op, attrs, [x.copy() for x in ins], mode == "train")
        for i, shape in enumerate(info["shapes"]):
            key = f"{cid}/out{i}/{mode}"
            if key in DATA.files:
                _close(outs[i], key)
            else:
                assert list(np.shape(outs[i])) == shape
                assert str(np.asarray(outs[i]).dtype) == info["dtypes"][i]


@pytest.mark.parametrize("cid", [k for k, v in CASES.items()
                                 if "grads" in v["backward"] and "error" not in v["backward"]])
def test_backward_matches_mxnet(cid):
    case, op, attrs, names, ins = _setup(cid)
    if op.backward is None:
        pytest.skip(f"{op.name} has no backward kernel yet")
    outs, ctx = _forward(op, attrs, ins, True)
    heads = [DATA[f"{cid}/head{i}"] if f"{cid}/head{i}" in DATA.files
             else np.zeros_like(np.asarray(o)) for i, o in enumerate(outs)]
    grads = op.backward(attrs, heads, ins, outs, ctx)
    for name in case["backward"]["grads"]:
        g = grads[names.index(name)]
        if case["backward"].get("random"):
            assert list(np.shape(g)) == case["backward"]["shapes"][name]
        else:
            _close(np.zeros(DATA[f"{cid}/grad/{name}"].shape) if g is None else g,
                   f"{cid}/grad/{name}")
    # MXNet's pip build (MKLDNN) folds batch statistics into the moving averages during the
    # training forward; the reference kernels do it in backward. Either way, these are the values.
    for name in case["aux_states"]:
        key = f"{cid}/aux_bwd/{name}"
        if key in DATA.files:
            _close(ins[names.index(name)], key)
