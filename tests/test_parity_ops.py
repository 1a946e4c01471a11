"""Every recorded single-operator case of MXNet 1.9.1 through ``Symbol.bind`` and the executor.

tests/fixtures/ops holds, per case, the inputs, MXNet's training-forward outputs, the head
gradients it was given and the input gradients it computed (see tests/fixtures/README.md).
Where test_oracle_kernels.py calls the kernels directly, this goes through the whole path a
user takes: ``mx.sym.<op>`` naming, ``bind`` with ``grad_req`` per argument (``null`` for the
inputs MXNet could not differentiate), auxiliary states updated in place, head gradients
routed to the outputs.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx
from mxlite.ops import registry
from mxlite.symbol.register import make_function

FIX = pathlib.Path(__file__).parent / "fixtures" / "ops"
DOC = json.loads((FIX / "cases.json").read_text())
TOL = {"float16": (2e-2, 2e-2), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}
CASES = {k: v for k, v in DOC["cases"].items()
         if "error" not in v and "error" not in v.get("forward", {}).get("train", {"error": 1})
         and "grads" in v.get("backward", {}) and "error" not in v["backward"]}


@pytest.fixture(scope="module")
def oracle():
    return np.load(FIX / "data.npz")


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol, atol = TOL.get(str(want.dtype), TOL["float32"])
    np.testing.assert_allclose(got.astype(want.dtype), want, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("cid", list(CASES))
def test_bound_operator_matches_mxnet(cid, oracle):
    case = CASES[cid]
    op = registry.get(case["op"])
    inputs = [mx.sym.var(i["name"]) for i in case["inputs"]]
    sym = make_function(case["op"])(*inputs, name="op", **case["kwargs"])
    assert sym.list_arguments() == case["arguments"]
    assert sym.list_auxiliary_states() == case["aux_states"]

    def nd(key):
        return mx.nd.array(oracle[key], dtype=oracle[key].dtype)

    args = {n: nd(f"{cid}/in/{n}") for n in case["arguments"]}
    aux = {n: nd(f"{cid}/auxin/{n}") for n in case["aux_states"]}
    nograd = set(case.get("nograd", ()))
    req = {n: "null" if n in nograd else "write" for n in case["arguments"]}
    grads = {n: mx.nd.zeros(a.shape, dtype=a.dtype) for n, a in args.items()
             if req[n] == "write"}
    exe = sym.bind(mx.cpu(), args, args_grad=grads, grad_req=req, aux_states=aux)
    outs = exe.forward(is_train=True)
    info = case["forward"]["train"]
    for i, o in enumerate(outs):
        key = f"{cid}/out{i}/train"
        if key in oracle.files:
            _close(o.asnumpy(), oracle[key], key)
        else:
            assert list(o.shape) == info["shapes"][i]
    heads = [f"{cid}/head{i}" for i in range(len(outs))]
    if any(h in oracle.files for h in heads):
        out_grads = [nd(h) if h in oracle.files else mx.nd.zeros(o.shape, dtype=o.dtype)
                     for h, o in zip(heads, outs)]
    else:
        out_grads = None
        if op.name not in ("SoftmaxOutput", "LinearRegressionOutput", "MAERegressionOutput",
                           "LogisticRegressionOutput", "SVMOutput", "MakeLoss", "make_loss",
                           "BlockGrad"):
            out_grads = [mx.nd.zeros(o.shape, dtype=o.dtype) for o in outs]
    exe.backward(out_grads)
    for name in case["backward"]["grads"]:
        got = exe.grad_dict[name].asnumpy()
        if case["backward"].get("random"):
            assert list(got.shape) == case["backward"]["shapes"][name]
        else:
            _close(got, oracle[f"{cid}/grad/{name}"], f"{cid}/grad/{name}")
    for name in case["aux_states"]:
        key = f"{cid}/aux_bwd/{name}"
        if key in oracle.files:
            _close(exe.aux_dict[name].asnumpy(), oracle[key], key)
