"""``mx.viz``: ``print_summary`` prints MXNet 1.9.1's table character for character and
``plot_network`` builds the Digraph MXNet builds (``tests/fixtures/gen_viz.py``)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError

VIZ = DATA / "viz"
CASES = json.loads((VIZ / "cases.json").read_text())


def summary(sym, **kw) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mx.viz.print_summary(sym, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(CASES))
def test_print_summary_matches_mxnet(case):
    sym = mx.sym.load(str(VIZ / f"{case}-symbol.json"))
    shape = {k: tuple(v) for k, v in CASES[case].items()}
    assert summary(sym, shape=shape) == (VIZ / f"{case}.summary.txt").read_text()
    narrow = summary(sym, shape=shape, line_length=80, positions=[30, 50, 60, 80])
    assert narrow == (VIZ / f"{case}.summary.narrow.txt").read_text()
    assert summary(sym) == (VIZ / f"{case}.summary.noshape.txt").read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_plot_network_matches_mxnet(case):
    pytest.importorskip("graphviz")
    sym = mx.sym.load(str(VIZ / f"{case}-symbol.json"))
    shape = {k: tuple(v) for k, v in CASES[case].items()}
    dot = mx.viz.plot_network(sym, title=case, shape=shape,
                              dtype={k: np.float32 for k in shape})
    # the graphviz package's versions differ in the final newline, nothing else
    assert dot.source.rstrip() == (VIZ / f"{case}.dot").read_text().rstrip()
    dot = mx.viz.plot_network(sym, title=case, hide_weights=False, node_attrs={"shape": "oval"})
    assert dot.source.rstrip() == (VIZ / f"{case}.weights.dot").read_text().rstrip()
    assert dot.format == "pdf"


def test_bad_input():
    with pytest.raises(TypeError, match="Symbol"):
        mx.viz.print_summary("net")
    sym = mx.sym.load(str(VIZ / "mlp-symbol.json"))
    with pytest.raises(MXNetError):
        mx.viz.print_summary(sym, shape={})


def test_summary_rows_count_every_parameter_and_flop():
    sym = mx.sym.load(str(VIZ / "cnn-symbol.json"))
    rows = {r["name"]: r for r in mx.viz.summary_rows(sym, {"data": (2, 3, 16, 16)})}
    assert rows["conv1"]["params"] == 8 * 3 * 9 + 8
    assert rows["conv1"]["flops"] == 2 * (2 * 8 * 16 * 16) * 27
    assert rows["conv3"]["params"] == 8 * 4 * 9 + 8  # two groups of four channels
    assert rows["bn1"]["params"] == 4 * 8  # gamma, beta and the two moving statistics
    assert rows["fc"]["params"] == 256 * 5 + 5  # the real count, not MXNet's table's 21
    assert rows["fc"]["outputs"] == [(2, 5)]
    assert rows["pool"]["flops"] == 2 * 16 * 4 * 4
