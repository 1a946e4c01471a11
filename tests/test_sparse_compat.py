"""Sparse NDArrays (row_sparse, csr) against MXNet 1.9.1.

Every case of tests/data/sparse_compat/cases.json (written by
tests/fixtures/gen_sparse_compat.py) is an expression evaluated with ``mx``, ``np`` and the
recorded inputs in scope. The result must have MXNet's storage type, shape and dtype exactly,
its dense values to float32 rounding (integers exactly), and a sparse result MXNet's stored
values and index arrays (``indices`` / ``indptr`` exactly, ``data`` to float32 rounding),
except for the cases listed in STORAGE_GAPS, whose dense values still agree. A case MXNet
refused must be refused with an MXNetError, which is also a ValueError where MXNet's was.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError

DOC = json.loads((DATA / "sparse_compat" / "cases.json").read_text())
CASES = {c["expr"]: c for c in DOC["cases"]}

# Cases whose stored arrays are not compared (the storage type, shape, dtype and dense values
# are): MXNet 1.9.1's csr - csr and csr * csr kernels return column indices unsorted within a
# row and a buffer longer than indptr[-1] whose tail is uninitialised memory; mxlite stores
# the non-zero results in canonical order, as MXNet's csr + csr does.
_CSR_KERNEL = "MXNet's csr-csr elemwise_sub / elemwise_mul store unsorted, uninitialised entries"
STORAGE_GAPS: dict[str, str] = {
    "C - C2": _CSR_KERNEL,
    "C * C2": _CSR_KERNEL,
    "C.copy().__isub__(C2)": _CSR_KERNEL,
}

# Cases whose result mxlite keeps dense where MXNet's is sparse (dense values, shape and dtype
# are compared): the Python function mx.nd.zeros_like makes mxlite's (dense) gradient buffers;
# mx.nd.sparse.zeros_like and x.zeros_like() keep the storage type.
DENSE_IN_MXLITE: dict[str, str] = {
    "mx.nd.zeros_like(C)": "mx.nd.zeros_like makes dense gradient buffers",
    "mx.nd.zeros_like(R)": "mx.nd.zeros_like makes dense gradient buffers",
}

# Cases MXNet refuses but mxlite runs, with the reason; test_mxlite_runs checks the values.
MXLITE_RUNS: dict[str, str] = {
    "R0.retain(mx.nd.array([2]))": "MXNet's RowSparseNDArray.retain forgets to pass the "
                                   "array itself to the operator (TypeError)",
}


def _env() -> dict:
    env = {"mx": mx, "np": np}
    for item in DOC["inputs"]:
        env[item["name"]] = eval(item["expr"], env)  # noqa: S307 - recorded test inputs
    return env


def _close(got: np.ndarray, want: list | np.ndarray, dtype: str, where: str) -> None:
    expect = np.array(want, dtype=dtype)
    got = np.asarray(got)
    assert got.shape == expect.shape, f"{where}: shape {got.shape} != {expect.shape}"
    if expect.dtype.kind == "f":
        # float32 rounding: MXNet's kernels and numpy's may differ in the last bit
        np.testing.assert_allclose(got, expect, rtol=2e-6, atol=1e-6, equal_nan=True,
                                   err_msg=where)
    else:
        np.testing.assert_array_equal(got, expect, err_msg=where)


def _check(got, want: dict, where: str, storage: bool) -> None:
    if "list" in want:
        assert isinstance(got, list) and len(got) == len(want["list"]), where
        for i, (g, w) in enumerate(zip(got, want["list"])):
            _check(g, w, f"{where}[{i}]", storage)
        return
    assert isinstance(got, mx.nd.NDArray), f"{where}: expected an NDArray, got {got!r}"
    assert got.stype == want["stype"], f"{where}: stype {got.stype} != {want['stype']}"
    assert list(got.shape) == want["shape"], f"{where}: shape {got.shape} != {want['shape']}"
    assert np.dtype(got.dtype).name == want["dtype"], f"{where}: dtype {got.dtype}"
    _close(got.asnumpy(), want["dense"], want["dtype"], f"{where}: dense values")
    if want["stype"] == "default" or not storage:
        return
    np.testing.assert_array_equal(got.indices.asnumpy(), np.array(want["indices"], np.int64),
                                  err_msg=f"{where}: indices")
    assert got.indices.dtype == np.int64, where
    if want["stype"] == "csr":
        np.testing.assert_array_equal(got.indptr.asnumpy(), np.array(want["indptr"], np.int64),
                                      err_msg=f"{where}: indptr")
    # (JSON keeps no trailing dims of an empty list: the shape is recorded apart)
    data = np.array(want["data"], dtype=want["dtype"]).reshape(want["data_shape"])
    assert got.data.shape == data.shape, f"{where}: stored data shape {got.data.shape}"
    _close(got.data.asnumpy(), data, want["dtype"], f"{where}: stored data")


@pytest.mark.parametrize("expr", list(CASES))
def test_sparse_case(expr):
    case = CASES[expr]
    env = _env()
    if "error" in case and expr not in MXLITE_RUNS:
        with pytest.raises(MXNetError) as info:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                eval(expr, env)  # noqa: S307
        if case["value_error"]:
            assert isinstance(info.value, ValueError), f"{expr}: {info.value!r}"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = eval(expr, env)  # noqa: S307
    if "error" in case:
        return  # MXLITE_RUNS: checked by the dedicated tests below
    want = case["result"]
    if expr in DENSE_IN_MXLITE:
        assert want["stype"] != "default" and got.stype == "default", expr
        want = {**want, "stype": "default"}
    _check(got, want, expr, storage=expr not in STORAGE_GAPS)


def test_mxlite_runs():
    # The fluent retain gives what MXNet's mx.nd.sparse.retain gives.
    env = _env()
    got = env["R0"].retain(mx.nd.array([2]))
    _check(got, CASES["mx.nd.sparse.retain(R0, mx.nd.array([2]))"]["result"], "R0.retain", True)
    assert got.indices.asnumpy().tolist() == [2]
    assert got.data.asnumpy().tolist() == [[0.0, 0.0, 0.0]]


def test_asscipy_and_getnnz_match_mxnet():
    spsp = pytest.importorskip("scipy.sparse")
    env = _env()
    want = CASES["mx.nd.sparse.array(C0)"]["result"]
    sp = env["C0"].asscipy()
    assert isinstance(sp, spsp.csr_matrix) and sp.shape == (3, 4) and sp.dtype == np.float32
    np.testing.assert_array_equal(sp.indptr, want["indptr"])
    np.testing.assert_array_equal(sp.indices, want["indices"])
    np.testing.assert_array_equal(sp.data, np.array(want["data"], np.float32))
    # scipy counts stored entries (the explicit zero too), as mx.nd.contrib.getnnz does
    assert sp.getnnz() == CASES["mx.nd.contrib.getnnz(C0)"]["result"]["dense"][0] == 4
    np.testing.assert_array_equal(
        sp.getnnz(axis=1), CASES["mx.nd.contrib.getnnz(C0, axis=1)"]["result"]["dense"])
    # back: a canonical copy (duplicates summed, indices sorted), the scipy matrix untouched
    dup = spsp.csr_matrix((np.array([1.0, 2.0, 5.0]), np.array([2, 0, 2]),
                           np.array([0, 3, 3])), shape=(2, 3))
    back = mx.nd.sparse.array(dup)
    assert back.dtype == np.float64
    assert back.indices.asnumpy().tolist() == [0, 2]
    assert back.data.asnumpy().tolist() == [2.0, 6.0]
    assert back.indptr.asnumpy().tolist() == [0, 2, 2]
    assert dup.indices.tolist() == [2, 0, 2]


@pytest.mark.parametrize("expr, match", [
    ("mx.nd.sparse.row_sparse_array((2, 2), shape=(3, 2))", r"shape mismatch.*\(2, 2\).*\(3, 2\)"),
    ("mx.nd.sparse.csr_matrix(D, shape=(4, 4))", r"csr_matrix: shape mismatch"),
    ("mx.nd.sparse.csr_matrix(([1, 2], [0], [0, 2]), shape=(1, 3))", r"inconsistent.*2 values"),
    ("mx.nd.sparse.csr_matrix(([], [], [0, 0]))", r"invalid shape.*pass shape="),
    ("mx.nd.sparse.zeros('bogus', (2, 2))", r"unknown storage type 'bogus'"),
    ("mx.nd.sparse.csr_matrix(R)", r"RowSparseNDArray"),
])
def test_constructor_errors_name_the_argument(expr, match):
    # MXNet raises ValueError for these (recorded in the fixture); mxlite's is also an
    # MXNetError and says which argument is wrong and what was expected.
    env = _env()
    for case in (CASES.get(expr),):
        if case is not None:
            assert case["value_error"], expr
    with pytest.raises(MXNetError, match=match) as info:
        eval(expr, env)  # noqa: S307
    assert isinstance(info.value, ValueError)


def test_retain_errors_name_the_argument():
    env = _env()
    assert CASES["mx.nd.sparse.retain(D, I)"]["mxnet_error"]
    with pytest.raises(MXNetError, match="retain: data must be a RowSparseNDArray"):
        mx.nd.sparse.retain(env["D"], env["I"])
    with pytest.raises(MXNetError, match=r"retain: indices must lie in \[0, 4\)"):
        mx.nd.sparse.retain(env["R"], mx.nd.array([1, 4]))
    # A dense array without indices (MXNet's test_sparse_nd_exception) is refused too.
    with pytest.raises(MXNetError, match="indices"):
        mx.nd.sparse.retain(env["D"], invalid_arg="garbage_value")


def test_sparse_out_and_inplace_keep_storage():
    # out= of a sparse storage type receives the result in that storage type; x += y keeps
    # x's storage (MXNet: (x + y).copyto(x)); the expected values are MXNet's.
    env = _env()
    c = env["C"].copy()
    alias = c
    c += env["C2"]
    assert c is alias and c.stype == "csr"
    _check(c, CASES["C.copy().__iadd__(C2)"]["result"], "C += C2", True)
    r = env["R"].copy()
    r *= env["DR"]
    assert r.stype == "row_sparse"
    _check(r, CASES["R.copy().__imul__(DR)"]["result"], "R *= DR", True)
    out = mx.nd.zeros((3, 4), stype="csr")
    assert mx.nd.broadcast_add(env["D"], env["D"], out=out) is out
    _check(out, CASES["mx.nd.broadcast_add(D, D, out=mx.nd.zeros((3, 4), stype='csr'))"]
           ["result"], "out=csr", True)
