"""Hostile symbol JSON: ``mx.sym.load`` / ``loads`` / ``load_json``, ``load_checkpoint`` and
``mx.model.verify`` refuse damaged graphs with an MXNetError naming the file, within bounded
time and memory, and verify calls a file sound only when the loader loads it.

Structure mutations of the golden graphs (deleted keys, wrong types, cycles, inputs and heads
aimed anywhere, huge counts and attributes, truncations) and hand-made hostile documents (deep
nesting, huge ``num_args`` / ``num_outputs``) from :mod:`mxlite.formats._fuzz`.
"""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import _fuzz as F


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz"))


def golden(name: str) -> bytes:
    return (DATA / "symbol" / f"{name}-symbol.json").read_bytes()


def assert_kept(harness, entries, mutations, prefix: str | None = None) -> dict:
    counts: dict = {}
    for label, data in mutations:
        for entry in entries:
            out = harness.run(entry, data)
            assert out.kind != "escape", f"{entry} on {label}: {out.detail}"
            if prefix and entry == "sym.load" and out.kind == "refused":
                assert out.detail.startswith(prefix), out.detail  # the file is named
            counts[out.kind] = counts.get(out.kind, 0) + 1
    return counts


@pytest.mark.parametrize("name", ["multi_output", "mlp"])
def test_structure_mutations(harness, name):
    muts = list(F.json_mutations(golden(name)))
    assert len(muts) > 400
    prefix = os.path.join(harness.dir, "s-symbol.json") + ": "
    counts = assert_kept(harness, ["sym.load"], muts, prefix)
    assert counts["refused"] > 0.75 * len(muts)
    assert_kept(harness, ["model.verify(symbol)", "sym.load_json"], muts[::4])


def test_hostile_documents(harness):
    assert_kept(harness, ["sym.load", "sym.load_json", "model.verify(symbol)",
                          "model.load_checkpoint(symbol)"], F.evil_json(big=False))


def test_deep_nesting_is_refused():
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(MXNetError, match=r"^not a symbol graph: JSON nested deeper than"):
        mx.sym.load_json(deep)


@pytest.mark.parametrize("op,key,extra", [
    ("Concat", "num_args", {}), ("add_n", "num_args", {}), ("stack", "num_args", {}),
    ("UpSampling", "num_args", {"scale": "2", "sample_type": "nearest"}),
    ("SliceChannel", "num_outputs", {}), ("amp_multicast", "num_outputs", {}),
    ("_split_v2", "sections", {}),
])
@pytest.mark.parametrize("count", [10**6, 10**8, 2**63 - 1])
def test_huge_counts_refused_before_anything_is_built(tmp_path, op, key, extra, count):
    doc = {"nodes": [{"op": "null", "name": "a", "inputs": []},
                     {"op": op, "name": "x", "attrs": {key: str(count), **extra},
                      "inputs": [[0, 0, 0]]}],
           "arg_nodes": [0], "heads": [[1, 0, 0]]}
    p = tmp_path / "huge-symbol.json"
    p.write_text(json.dumps(doc))
    tracemalloc.start()
    try:
        with pytest.raises(MXNetError, match=rf"^{p}: node 'x': operator \w+ has {key}="
                                             rf"{count}"):
            mx.sym.load(str(p))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # no list of names was built


def test_counts_within_the_file_still_load():
    x = mx.sym.Variable("x")
    parts = mx.sym.SliceChannel(x, num_outputs=300, name="s")
    back = mx.sym.load_json(parts.tojson())
    assert len(back.list_outputs()) == 300
    cat = mx.sym.Concat(*[mx.sym.Variable(f"v{i}") for i in range(1500)], dim=0)
    assert len(mx.sym.load_json(cat.tojson()).list_arguments()) == 1500


def test_num_args_mismatch_still_reported_as_such():
    x = mx.sym.Variable("x")
    text = mx.sym.Concat(x, x, dim=0, name="c").tojson().replace('"num_args": "2"',
                                                                  '"num_args": "3"')
    with pytest.raises(MXNetError, match=r"operator Concat takes 3 inputs .* the file gives 2"):
        mx.sym.load_json(text)


@pytest.mark.parametrize("value,shown", [
    ("9" * 100000, r"'9999999999.*\(100000 characters\)'"),
    ("1e999", r"'1e999'"), ("nan", r"'nan'"),
])
def test_huge_or_non_finite_integer_attribute(value, shown):
    x = mx.sym.Variable("x")
    text = mx.sym.FullyConnected(x, num_hidden=4, name="fc").tojson()
    text = text.replace('"num_hidden": "4"', f'"num_hidden": "{value}"')
    with pytest.raises(MXNetError, match=rf"operator FullyConnected \(node 'fc'\): invalid "
                                         rf"value {shown} for parameter 'num_hidden'"):
        mx.sym.load_json(text)


def test_huge_flat_shape_attribute_costs_little():
    x = mx.sym.Variable("x", shape=(2, 3))
    text = x.tojson().replace('"(2, 3)"', '"(' + "1, " * 100000 + '1)"')
    tracemalloc.start()
    try:
        s = mx.sym.load_json(text)
        s.list_arguments()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * len(text)  # Python's parser took ~470 bytes per element
    with pytest.raises(MXNetError, match=r"cannot parse '\(\(\(\(.*\(100000 characters\)'"):
        mx.sym.load_json(x.tojson().replace('"(2, 3)"', '"' + "(" * 100000 + '"')
                         ).infer_shape()


def test_verify_never_raises_on_hostile_json(tmp_path):
    for label, data in F.evil_json(big=False):
        p = tmp_path / "e-symbol.json"
        p.write_bytes(data)
        problems = mx.model.verify(str(p))
        assert all(type(x) is str and x.startswith(str(p)) for x in problems), (label, problems)
        assert not any("internal error" in x for x in problems), problems


@pytest.mark.parametrize("state,message", [
    ([1], r"got a list holding no handle"), ({"handle": 3}, r"got a dict holding int"),
    ({"handle": "{]"}, r"not valid JSON"), ({"handle": "[" * 100000}, r"nested deeper"),
])
def test_symbol_unpickling_refuses_bad_states(state, message):
    s = mx.sym.Symbol.__new__(mx.sym.Symbol)
    with pytest.raises(MXNetError, match=r"^pickled Symbol: .*" + message):
        s.__setstate__(state)
