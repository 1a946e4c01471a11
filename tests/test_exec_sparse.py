"""Executors bound to sparse arrays, and the monitor's variable names, against MXNet 1.9.1.

Fixtures: tests/data/exec_sparse/cases.json, recorded by tests/fixtures/gen_exec_sparse.py
with the real MXNet from the scenarios of tests/fixtures/exec_sparse_cases.py, which these
tests run on mxlite.
"""

import json
import math
import os
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
import exec_sparse_cases as cases  # noqa: E402

with open(os.path.join(os.path.dirname(__file__), "data", "exec_sparse", "cases.json")) as f:
    CASES = json.load(f)


def _mismatches(got, want, at: str = "") -> list[str]:
    """Where ``got`` differs from ``want``: numbers to 1e-6 relative, the rest exactly."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or sorted(got) != sorted(want):
            return [f"{at}: keys {sorted(got) if isinstance(got, dict) else got} != "
                    f"{sorted(want)}"]
        return [m for k in want for m in _mismatches(got[k], want[k], f"{at}/{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{at}: {got!r} != {want!r}"]
        return [m for i, (g, w) in enumerate(zip(got, want))
                for m in _mismatches(g, w, f"{at}[{i}]")]
    if isinstance(want, float) and not isinstance(got, str):
        ok = math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-7)
    else:
        ok = got == want
    return [] if ok else [f"{at}: {got!r} != {want!r}"]


def test_fixtures_come_from_mxnet_191():
    assert CASES["mxnet_version"] == "1.9.1"


@pytest.mark.parametrize("name", [n for n in cases.SCENARIOS if n != "add_req_sparse"])
def test_scenario_matches_mxnet(name):
    assert _mismatches(getattr(cases, name)(mx), CASES[name]) == []


def test_what_mxnet_stores_and_reports():
    # the facts the scenarios pin, stated: rows of row_sparse results and gradients, storage
    # types simple_bind gives, the float16 head gradient's cast, the monitor's order
    assert CASES["dot_csr_rsp"]["grad"]["indices"] == [0, 2, 3, 4]  # row 2 stored, all zero
    assert CASES["fallback_rsp_grad"]["grad"]["indices"] == [0, 2]
    assert CASES["rsp_add"]["out"]["stype"] == "row_sparse"
    assert CASES["rsp_add"]["out"]["indices"] == [0, 2]
    assert CASES["embedding_sparse_grad"]["grad"]["indices"] == [0, 1, 4]
    assert CASES["simple_bind_stypes"]["dot"] == {"args": ["csr", "row_sparse"],
                                                  "grads": ["default", "row_sparse"]}
    # 3 * float16(0.1) is float16 0.2998046875; uncast, 3 * 0.1 would round to 0.30005
    assert CASES["head_grad_dtype"]["dtype"] == "float16"
    assert CASES["monitor_names"] == ["x", "p_lhs", "w", "p_rhs", "p_output", "r_input0",
                                      "r_output"]
    assert CASES["batchnorm_fix_gamma"] == "fix_gamma=True is not supported for sparse ndarrays"


def test_batchnorm_fix_gamma_refuses_sparse_inputs():
    st = "row_sparse"
    s = mx.sym.BatchNorm(mx.sym.Variable("data", stype=st), fix_gamma=True)
    args = [mx.nd.ones((2, 3)).tostype(st), mx.nd.ones((3,)).tostype(st),
            mx.nd.ones((3,)).tostype(st)]
    aux = [mx.nd.ones((3,)).tostype(st), mx.nd.ones((3,)).tostype(st)]
    with pytest.raises(MXNetError, match=CASES["batchnorm_fix_gamma"]):
        s.bind(mx.cpu(), args, aux_states=aux).forward()


def test_add_request_on_a_sparse_gradient():
    # MXNet 1.9.1: dot's sparse kernel refuses kAddTo; the dense fallback's 'add' reads
    # uninitialised memory (its values are not reproducible), mxlite sums there
    want = CASES["add_req_sparse"]
    assert want["dot"] == "req == kWriteTo"
    s = mx.sym.elemwise_mul(mx.sym.Variable("x"), mx.sym.Variable("w"))
    g = mx.nd.array(np.array([[1, 1], [0, 0], [0, 0]], np.float32)).tostype("row_sparse")
    xv = mx.nd.array(np.array([[0, 0], [0, 0], [1, 2]], np.float32))
    exe = s.bind(mx.cpu(), {"x": xv, "w": mx.nd.ones((3, 2))}, args_grad={"w": g},
                 grad_req={"x": "null", "w": "add"})
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((3, 2)))
    assert g.stype == want["fallback_stype"] == "row_sparse"
    assert g.indices.asnumpy().tolist() == [0, 2]
    np.testing.assert_array_equal(g.asnumpy(), [[1, 1], [0, 0], [1, 2]])
    d = mx.sym.Variable("data", stype="csr")
    w = mx.sym.Variable("w", stype="row_sparse")
    gw = mx.nd.ones((4, 2)).tostype("row_sparse")
    exe = mx.sym.sparse.dot(d, w).bind(
        mx.cpu(), {"data": mx.nd.array(np.eye(3, 4)).tostype("csr"),
                   "w": mx.nd.ones((4, 2)).tostype("row_sparse")},
        args_grad={"w": gw}, grad_req={"data": "null", "w": "add"})
    exe.forward(is_train=True)
    with pytest.raises(MXNetError, match="grad_req='add'"):
        exe.backward(mx.nd.ones((3, 2)))
