"""Whole graphs saved by MXNet 1.9.1, inferred node by node through the registry alone.

The graphs are the golden symbol files (and a Gluon mobilenet export) copied into
tests/data/ops/; expected_shapes.json holds what MXNet's ``infer_shape`` / ``infer_type``
reported for them. The little propagation loop below stands in for the symbol package's own
(which sweeps forwards and backwards the same way); it only exercises the op entries.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

from mxlite.ops import registry

HERE = DATA / "ops"
EXPECTED = json.loads((HERE / "expected_shapes.json").read_text())


def _infer(graph: dict, given: dict, attr: str):
    """Sweep the nodes forwards and backwards until nothing changes; entry -> value."""
    nodes = graph["nodes"]
    known: dict[tuple[int, int], object] = {}
    for i, n in enumerate(nodes):
        if n["op"] == "null" and n["name"] in given:
            known[(i, 0)] = given[n["name"]]
    parsed = {}
    for i, n in enumerate(nodes):
        if n["op"] != "null":
            op = registry.get(n["op"])
            parsed[i] = (op, op.parse_attrs(n.get("attrs", {}), where=n["name"]))
    for sweep in range(6):
        order = sorted(parsed) if sweep % 2 == 0 else sorted(parsed, reverse=True)
        for i in order:
            op, attrs = parsed[i]
            ins = [known.get((e[0], e[1])) for e in nodes[i]["inputs"]]
            outs = [known.get((i, k)) for k in range(op.num_outputs(attrs))]
            fn = op.shapes if attr == "shape" else op.types
            ins, outs = fn(attrs, ins, outs)
            for e, v in zip(nodes[i]["inputs"], ins):
                if v is not None:
                    known[(e[0], e[1])] = v
            for k, v in enumerate(outs):
                if v is not None:
                    known[(i, k)] = v
    return known


def _variables(graph: dict, aux: bool) -> list[tuple[int, str]]:
    """Variables in MXNet's list_arguments / list_auxiliary_states order."""
    nodes = graph["nodes"]
    seen, found = set(), []

    def visit(i: int) -> None:
        if i in seen:
            return
        seen.add(i)
        n = nodes[i]
        if n["op"] == "null":
            return
        op = registry.get(n["op"])
        attrs = op.parse_attrs(n.get("attrs", {}))
        names, aux_names = op.list_inputs(attrs), op.list_aux(attrs)
        for e, name in zip(n["inputs"], names):
            visit(e[0])
            if nodes[e[0]]["op"] == "null" and (name in aux_names) == aux:
                if e[0] not in [j for j, _ in found]:
                    found.append((e[0], nodes[e[0]]["name"]))

    for h in graph["heads"]:
        visit(h[0])
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_graph_shapes(name):
    graph = json.loads((HERE / f"{name}-symbol.json").read_text())
    exp = EXPECTED[name]
    known = _infer(graph, {k: tuple(v) for k, v in exp["given"].items()}, "shape")
    args = _variables(graph, aux=False)
    aux = _variables(graph, aux=True)
    assert [n for _, n in args] == list(exp["arguments"])
    assert [n for _, n in aux] == list(exp["aux"])
    assert {n: known.get((i, 0)) for i, n in args} == \
        {k: tuple(v) for k, v in exp["arguments"].items()}
    assert {n: known.get((i, 0)) for i, n in aux} == {k: tuple(v) for k, v in exp["aux"].items()}
    assert [known.get(tuple(h[:2])) for h in graph["heads"]] == [tuple(v) for v in exp["outputs"]]


@pytest.mark.parametrize("name", sorted(k for k, v in EXPECTED.items() if v["float16_types"]))
def test_graph_float16_types(name):
    graph = json.loads((HERE / f"{name}-symbol.json").read_text())
    exp = EXPECTED[name]
    known = _infer(graph, {k: np.dtype("float16") for k in exp["given"]}, "type")
    types = exp["float16_types"]
    names = lambda ts: [None if t is None else np.dtype(t).name for t in ts]  # noqa: E731
    assert names(known.get((i, 0)) for i, _ in _variables(graph, aux=False)) == \
        types["arguments"]
    assert names(known.get((i, 0)) for i, _ in _variables(graph, aux=True)) == types["aux"]
    assert names(known.get(tuple(h[:2])) for h in graph["heads"]) == types["outputs"]
