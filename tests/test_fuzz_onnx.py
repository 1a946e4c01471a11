"""Hostile ONNX files: ``mx.onnx.import_model`` loads or refuses with an MXNetError, on
truncations, byte flips and protobuf field damage of models mxlite exported."""

from __future__ import annotations

import random

import pytest
from conftest import DATA

import mxlite as mx
from mxlite.formats import _fuzz as F

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz-onnx"))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("onnx-seed")
    out = []
    for name, shape in (("mlp", (1, 100)), ("cnn", (1, 3, 16, 16))):
        sym = mx.sym.load(str(DATA / "viz" / f"{name}-symbol.json"))
        arg_shapes, _, aux_shapes = sym.infer_shape(**({"data": shape}))
        rng = mx.nd.random
        mx.random.seed(0)
        params = {n: rng.uniform(shape=s) for n, s in zip(sym.list_arguments(), arg_shapes)
                  if n not in ("data", "softmax_label")}
        params.update({n: mx.nd.ones(s) for n, s in zip(sym.list_auxiliary_states(),
                                                        aux_shapes)})
        path = mx.onnx.export_model(sym, params, [shape], onnx_file_path=str(d / f"{name}.onnx"))
        out.append(open(path, "rb").read())
    return out


def test_seeds_import(harness, seeds):
    for data in seeds:
        assert harness.run("onnx.import_model", data).kind == "ok"


def test_truncations_and_flips(harness, seeds):
    for i, data in enumerate(seeds):
        muts = list(F.truncations(data, step=max(1, len(data) // 300)))
        muts += list(F.byte_flips(data, random.Random(i), 300))
        counts, escapes = harness.tally("onnx.import_model", muts)
        assert escapes == []
        assert counts.get("refused", 0) > len(muts) // 4


def test_junk_is_refused_naming_the_file(harness):
    out = harness.run("onnx.import_model", b"not a protobuf at all \xff\xfe")
    assert out.kind == "refused" and "m.onnx" in out.detail
