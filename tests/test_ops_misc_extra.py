"""The frontends over _linspace, _split_v2, _histogram and amp_multicast against MXNet 1.9.1:
symbol JSON text, output names, evaluated values and a gradient through the executor.

Expected answers come from tests/fixtures/gen_ops_misc_extra.py
(tests/data/ops/misc_frontends.json); the operators themselves are also covered op by op by
the oracle cases of tests/fixtures/gen_ops.py.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx

DOC = json.loads((pathlib.Path(__file__).parent / "data/ops/misc_frontends.json").read_text())
IN = {k: np.array(v, dtype=t) for (k, v), t in zip(
    sorted(DOC["inputs"].items()),
    ["float32", "float16", "float32", "float32", "float32"])}  # EDGES F16 F32 H X


def _symbols() -> dict:
    """The generator's symbols, named as it got them: built in the same order, with fresh
    auto-name counters (_split_v20, _split_v21, ...)."""
    with mx.name.NameManager():
        return _build()


def _build() -> dict:
    d, b = mx.sym.var("d"), mx.sym.var("b")
    return {
        "linspace": mx.sym.linspace(0, 1, 5, name="lin"),
        "linspace_f64": mx.sym.linspace(-1.5, 2, 4, endpoint=False, dtype="float64",
                                        name="lin"),
        "split_sections": mx.sym.split_v2(d, 3, axis=1),
        "split_indices": mx.sym.split_v2(d, (1, 3), axis=1),
        "split_method_squeeze": d.split_v2(2, axis=-1, squeeze_axis=True),
        "hist_range": mx.sym.histogram(d, bins=4, range=(0, 1), name="h"),
        "hist_bins": mx.sym.histogram(d, bins=b, name="h"),
        "multicast": mx.sym.amp_multicast(d, b, num_outputs=2, name="mc"),
        "multicast_narrow": mx.sym.amp_multicast(d, b, num_outputs=2, cast_narrow=True,
                                                 name="mc"),
    }


# Which stored input each case binds to its variables.
BINDINGS = {"split_sections": {"d": "X"}, "split_indices": {"d": "X"},
            "split_method_squeeze": {"d": "X"}, "hist_range": {"d": "H"},
            "hist_bins": {"d": "H", "b": "EDGES"}, "multicast": {"d": "F16", "b": "F32"},
            "multicast_narrow": {"d": "F16", "b": "F32"}}


@pytest.mark.parametrize("name", sorted(DOC["symbols"]))
def test_symbol_json_and_outputs_match_mxnet(name):
    want = DOC["symbols"][name]
    s = _symbols()[name]
    # MXNet keeps an amp_multicast that is a graph output when it strips AMP casts; compare
    # the unstripped text here (test_tojson_keeps_amp_cast_heads covers the default).
    assert s.tojson(remove_amp_cast=False) == want["json"]
    assert s.list_outputs() == want["outputs"]


@pytest.mark.parametrize("name", sorted(DOC["symbols"]))
def test_symbol_values_match_mxnet(name):
    want = DOC["symbols"][name]
    inputs = {var: mx.nd.array(IN[key], dtype=IN[key].dtype)
              for var, key in BINDINGS.get(name, {}).items()}
    outs = _symbols()[name].eval(mx.cpu(), **inputs)
    assert len(outs) == len(want["values"])
    for got, exp in zip(outs, want["values"]):
        got = got.asnumpy()
        assert got.dtype == np.dtype(exp["dtype"])
        np.testing.assert_array_equal(got, np.array(exp["value"], dtype=exp["dtype"]))


def test_split_v2_gradient_concatenates_the_parts():
    x = IN["X"]
    ex = mx.sym.split_v2(mx.sym.var("d"), (2, 3), axis=1).simple_bind(mx.cpu(), d=x.shape)
    ex.forward(is_train=True, d=mx.nd.array(x))
    ex.backward([mx.nd.array(np.full(o.shape, i + 1.0, np.float32))
                 for i, o in enumerate(ex.outputs)])
    np.testing.assert_array_equal(ex.grad_dict["d"].asnumpy(),
                                  np.array(DOC["split_grad"], np.float32))


def test_amp_multicast_gradient_is_cast_back():
    d, b = mx.sym.var("d"), mx.sym.var("b")
    ex = mx.sym.amp_multicast(d, b, num_outputs=2, cast_narrow=True).simple_bind(
        mx.cpu(), d=(2,), b=(3,), type_dict={"d": "float16", "b": "float32"})
    ex.forward(is_train=True, d=mx.nd.array(IN["F16"], dtype="float16"),
               b=mx.nd.array(IN["F32"]))
    assert [o.dtype for o in ex.outputs] == [np.float16, np.float16]
    ex.backward([mx.nd.array([1.5, -2], dtype="float16"),
                 mx.nd.array([0.1, 2, 3], dtype="float16")])
    assert ex.grad_dict["d"].dtype == np.float16
    assert ex.grad_dict["b"].dtype == np.float32
    np.testing.assert_array_equal(ex.grad_dict["b"].asnumpy(),
                                  np.float16([0.1, 2, 3]).astype(np.float32))


def test_operators_run_imperatively_as_mxnet_nd_frontends_would():
    """What MXNet's mx.nd.linspace / split_v2 / histogram compute, through the operators they
    call (mx.nd.split_v2 with a section count passes explicit indices)."""
    want = DOC["nd"]
    x = mx.nd.array(IN["X"])
    lin = mx.nd._linspace(start=2.0, stop=3.0, num=5, endpoint=True, dtype="float32")
    np.testing.assert_array_equal(lin.asnumpy(), np.float32(want["linspace"]))
    parts = mx.nd._split_v2(x, [0, 2, 4], 1, False)
    for got, exp in zip(parts, want["split_v2"], strict=True):
        np.testing.assert_array_equal(got.asnumpy(), np.float32(exp))
    assert [list(p.shape) for p in mx.nd._split_v2(x, [0, 1, 3], 1, False)] \
        == want["split_v2_indices"]
    counts, edges = mx.nd._histogram(mx.nd.array(IN["H"]), bin_cnt=4, range=(0, 1))
    np.testing.assert_array_equal(counts.asnumpy(), np.int64(want["histogram"][0]))
    np.testing.assert_array_equal(edges.asnumpy(), np.float32(want["histogram"][1]))


def test_nd_frontend_functions_exist():
    assert callable(mx.nd.linspace) and callable(mx.nd.split_v2) and callable(mx.nd.histogram)


def test_tojson_keeps_amp_cast_heads():
    """MXNet's RemoveAmpCast rewrites node inputs only: a cast that is an output stays."""
    for name in ("multicast", "multicast_narrow"):
        assert _symbols()[name].tojson() == DOC["symbols"][name]["json"]
