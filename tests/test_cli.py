"""The ``mxlite`` command line: inspect and demo."""

from __future__ import annotations

import shutil

import numpy as np
from conftest import DATA

from mxlite import cli
from mxlite.demo import run_demo


def test_inspect_dict_file(capsys):
    assert cli.main(["inspect", str(DATA / "ndarray" / "sparse.params")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "rsp    shape=(6, 4)  dtype=float32  stype=row_sparse  ctx=cpu(0)  bytes=24",
        "csr    shape=(6, 4)  dtype=float32  stype=csr  ctx=cpu(0)  bytes=104",
        "dense  shape=(6, 4)  dtype=float32  stype=default  ctx=cpu(0)  bytes=96",
        "total: 3 arrays (dict), 224 bytes of array data",
    ]


def test_inspect_list_and_v3_file(capsys):
    assert cli.main(["inspect", str(DATA / "ndarray" / "list_two.params")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "0  shape=(4, 5)  dtype=float32  stype=default  ctx=cpu(0)  bytes=80",
        "1  shape=(1, 2, 4)  dtype=float32  stype=default  ctx=cpu(0)  bytes=32",
        "total: 2 arrays (list), 112 bytes of array data",
    ]
    assert cli.main(["inspect", str(DATA / "ndarray" / "np_semantics.params")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "scalar     shape=()  dtype=float32  stype=default  ctx=cpu(0)  bytes=4"
    assert out[1] == "zero_size  shape=(0, 2)  dtype=float32  stype=default  ctx=cpu(0)  bytes=0"
    assert out[3] == "total: 3 arrays (dict), 52 bytes of array data"


def test_inspect_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.params"
    bad.write_bytes((DATA / "ndarray" / "dict_two.params").read_bytes()[:62])
    assert cli.main(["inspect", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mxlite inspect: error: {bad}: byte 60: array 0: type flag needs "
                          "4 bytes but only 2 remain")


def test_demo(tmp_path, capsys):
    out = run_demo(tmp_path, echo=lambda s: None)
    np.testing.assert_array_equal(out["values"], np.ones((2, 3), np.float32))
    assert list(out["loaded"]) == ["a", "b"]
    np.testing.assert_array_equal(out["loaded"]["b"].asnumpy(), np.ones((2, 3), np.float32))
    assert (tmp_path / "temp.ndarray").stat().st_size == 178
    shutil.rmtree(tmp_path)
    assert cli.main(["demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("working in ")
    assert "mx.nd.load('temp.ndarray')                  -> a: (2, 3), b: (2, 3)" in lines
    assert any(ln.startswith("validation accuracy: ") for ln in lines)
