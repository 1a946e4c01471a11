"""Every operator's registry entry against MXNet 1.9.1's own answers for a single-op symbol:
argument, output and auxiliary-state names, and shape and dtype inference.

The cases come from tests/fixtures/gen_ops.py (see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from mxlite.base import MXNetError
from mxlite.ops import registry

DOC = json.loads((pathlib.Path(__file__).parent / "fixtures/ops/cases.json").read_text())
CASES = {k: v for k, v in DOC["cases"].items() if "error" not in v}
# MXNet 1.9.1 cannot run 'same' pooling at all (it indexes pad[1] of a 1-D pad); mxlite
# implements it as documented, so MXNet's refusal is not a behaviour to copy.
MXNET_BUGS = {"pool1d_avg_same", "pool1d_max_same", "pool1d_max_same_k4"}


def _entry(case: dict):
    op = registry.get(case["op"])
    kwargs = dict(case["kwargs"])
    if op.key_var_num_args and op.key_var_num_args not in kwargs:
        kwargs[op.key_var_num_args] = str(len(case["inputs"]))
    return op, op.parse_attrs(kwargs, where="op")


def _names(case: dict):
    """MXNet's names for a single-op symbol called 'op' with positional variables."""
    op, attrs = _entry(case)
    given = [i["name"] for i in case["inputs"]]
    inputs = op.list_inputs(attrs)
    aux = set(op.list_aux(attrs))
    resolved = [given[i] if i < len(given) else f"op_{n}" for i, n in enumerate(inputs)]
    args = [r for r, n in zip(resolved, inputs) if n not in aux]
    auxs = [r for r, n in zip(resolved, inputs) if n in aux]
    outs = [f"op_{o}" for o in op.list_outputs(attrs)[: op.visible_outputs(attrs)]]
    return op, attrs, inputs, resolved, args, auxs, outs


@pytest.mark.parametrize("cid", list(CASES))
def test_names_match_mxnet(cid):
    case = CASES[cid]
    _, _, _, _, args, auxs, outs = _names(case)
    assert args == case["arguments"]
    assert auxs == case["aux_states"]
    assert outs == case["outputs"]


def _order(op, attrs, inputs, values_by_input):
    aux = set(op.list_aux(attrs))
    return ([values_by_input[i] for i, n in enumerate(inputs) if n not in aux],
            [values_by_input[i] for i, n in enumerate(inputs) if n in aux])


@pytest.mark.parametrize("cid", [k for k, v in CASES.items()
                                 if "error" not in v.get("infer_shape", {"error": 1})])
def test_infer_shape_matches_mxnet(cid):
    case = CASES[cid]
    op, attrs, inputs, resolved, *_ = _names(case)
    known = {i["name"]: tuple(i["shape"]) for i in case["inputs"]}
    ins, outs = op.shapes(attrs, [known.get(r) for r in resolved])
    args, auxs = _order(op, attrs, inputs, ins)
    want = case["infer_shape"]
    assert [list(s) for s in args] == want["arg"]
    assert [list(s) for s in auxs] == want["aux"]
    assert [list(s) for s in outs[: len(want["out"])]] == want["out"]


@pytest.mark.parametrize("cid", [k for k, v in CASES.items()
                                 if "error" in v.get("infer_shape", {}) and k not in MXNET_BUGS])
def test_infer_shape_refusals_match_mxnet(cid):
    case = CASES[cid]
    op, attrs, inputs, resolved, *_ = _names(case)
    known = {i["name"]: tuple(i["shape"]) for i in case["inputs"]}
    with pytest.raises(MXNetError):
        op.shapes(attrs, [known.get(r) for r in resolved])


@pytest.mark.parametrize("cid", [k for k, v in CASES.items()
                                 if "error" not in v.get("infer_type", {"error": 1})])
def test_infer_type_matches_mxnet(cid):
    case = CASES[cid]
    op, attrs, inputs, resolved, *_ = _names(case)
    known = {i["name"]: np.dtype(i["dtype"]) for i in case["inputs"]}
    ins, outs = op.types(attrs, [known.get(r) for r in resolved])
    args, auxs = _order(op, attrs, inputs, ins)
    want = case["infer_type"]
    assert [str(t) for t in args] == want["arg"]
    assert [str(t) for t in auxs] == want["aux"]
    assert [str(t) for t in outs[: len(want["out"])]] == want["out"]


def test_aliases_match_mxnet():
    """Every name MXNet gives an operator we register resolves to the same entry."""
    names = registry.all_names()
    missing = []
    for group in DOC["aliases"]:
        entries = {id(names[n]) for n in group if n in names}
        assert len(entries) <= 1, f"aliases {group} resolve to different entries"
        if entries:
            missing += [n for n in group if n not in names]
    assert missing == []
