"""mx.nd.sparse: row_sparse and CSR arrays, conversions and printing (values from MXNet 1.9.1)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray.sparse import CSRNDArray, RowSparseNDArray

nd = mx.nd
DENSE = [[0, 1, 0], [0, 0, 0], [2, 0, 3]]


def test_row_sparse_from_data_and_indices():
    rs = nd.sparse.row_sparse_array(([[1, 2, 3], [4, 5, 6]], [0, 2]), shape=(4, 3))
    assert isinstance(rs, RowSparseNDArray)
    assert repr(rs) == "\n<RowSparseNDArray 4x3 @cpu(0)>" == str(rs)
    assert (rs.stype, rs.shape, rs.dtype) == ("row_sparse", (4, 3), np.float32)
    assert rs.data.asnumpy().tolist() == [[1, 2, 3], [4, 5, 6]]
    assert rs.indices.dtype is np.int64 and rs.indices.asnumpy().tolist() == [0, 2]
    assert rs.asnumpy().tolist() == [[1, 2, 3], [0, 0, 0], [4, 5, 6], [0, 0, 0]]
    dense = rs.tostype("default")
    assert type(dense) is nd.NDArray and dense.asnumpy().tolist() == rs.asnumpy().tolist()
    assert (rs * 2).asnumpy().tolist() == [[2, 4, 6], [0, 0, 0], [8, 10, 12], [0, 0, 0]]
    assert rs[:] is rs
    copy = rs.copy()
    assert isinstance(copy, RowSparseNDArray) and copy.data._data is not rs.data._data
    assert nd.sparse.row_sparse_array(([[1, 2]], [1])).shape == (2, 2)
    typed = nd.sparse.row_sparse_array(([[1, 2]], [1]), shape=(3, 2), dtype="int32")
    assert typed.data.dtype is np.int32
    f64 = nd.sparse.row_sparse_array((np.ones((1, 2)), [1]), shape=(3, 2))
    assert f64.dtype is np.float64  # numpy sources keep their dtype here, as in MXNet
    on_cpu1 = nd.sparse.row_sparse_array(([[1, 2]], [1]), shape=(3, 2), ctx=mx.cpu(1))
    assert repr(on_cpu1) == "\n<RowSparseNDArray 3x2 @cpu(1)>"


def test_csr_from_arrays():
    cs = nd.sparse.csr_matrix(([1, 2, 3], [0, 2, 1], [0, 2, 2, 3]), shape=(3, 3))
    assert isinstance(cs, CSRNDArray)
    assert repr(cs) == "\n<CSRNDArray 3x3 @cpu(0)>"
    assert cs.stype == "csr"
    assert cs.data.asnumpy().tolist() == [1, 2, 3]
    assert cs.indices.asnumpy().tolist() == [0, 2, 1] and cs.indices.dtype is np.int64
    assert cs.indptr.asnumpy().tolist() == [0, 2, 2, 3] and cs.indptr.dtype is np.int64
    assert cs.asnumpy().tolist() == [[1, 0, 2], [0, 0, 0], [0, 3, 0]]
    assert nd.sparse.csr_matrix(([1, 2, 3], [0, 2, 1], [0, 2, 2, 3])).shape == (3, 3)
    assert repr(cs[1]) == "\n<CSRNDArray 1x3 @cpu(0)>"
    rows = cs[1:3]
    assert rows.shape == (2, 3) and rows.asnumpy().tolist() == [[0, 0, 0], [0, 3, 0]]
    assert cs.copyto(mx.cpu(0)).asnumpy().tolist() == cs.asnumpy().tolist()
    coo = nd.sparse.csr_matrix(([1, 2], ([0, 2], [1, 0])), shape=(3, 3))
    assert coo.asnumpy().tolist() == [[0, 1, 0], [0, 0, 0], [2, 0, 0]]
    # Index values are taken unchecked, as MXNet takes them; check_format() refuses them.
    bad = nd.sparse.csr_matrix(([1, 2], [0, 1], [0, 3]), shape=(1, 3))
    with pytest.raises(MXNetError, match="indptr must run from 0 to the 2 stored values"):
        bad.check_format()
    with pytest.raises(MXNetError, match="inconsistent"):
        nd.sparse.csr_matrix(([1, 2], [0], [0, 2]), shape=(1, 3))


def test_dense_to_sparse_and_back():
    d = nd.array(DENSE)
    csr = d.tostype("csr")
    assert csr.data.asnumpy().tolist() == [1, 2, 3]
    assert csr.indices.asnumpy().tolist() == [1, 0, 2]
    assert csr.indptr.asnumpy().tolist() == [0, 1, 1, 3]
    rs = d.tostype("row_sparse")
    assert rs.data.asnumpy().tolist() == [[0, 1, 0], [2, 0, 3]]
    assert rs.indices.asnumpy().tolist() == [0, 2]
    same = d.tostype("default")
    assert same is not d and same.asnumpy().tolist() == DENSE
    for src in (d, d.asnumpy()):
        assert nd.sparse.row_sparse_array(src).indices.asnumpy().tolist() == [0, 2]
        assert nd.sparse.csr_matrix(src).indptr.asnumpy().tolist() == [0, 1, 1, 3]
    assert csr.tostype("default").asnumpy().tolist() == DENSE
    assert nd.array(csr).stype == "csr"
    for sparse, other in ((rs, "csr"), (csr, "row_sparse")):
        with pytest.raises(ValueError, match="is not supported"):
            sparse.tostype(other)


def test_sparse_zeros():
    rs = nd.sparse.zeros("row_sparse", (3, 2))
    assert repr(rs) == "\n<RowSparseNDArray 3x2 @cpu(0)>"
    assert rs.indices.shape == (0,) and rs.indices.dtype is np.int64
    assert rs.asnumpy().tolist() == [[0, 0]] * 3
    csr = nd.sparse.zeros("csr", (3, 2))
    assert csr.indptr.asnumpy().tolist() == [0, 0, 0, 0] and csr.data.shape == (0,)
    dense = nd.sparse.zeros("default", (3, 2))
    assert type(dense) is nd.NDArray and dense.shape == (3, 2)
    assert repr(nd.sparse.csr_matrix((3, 4))) == "\n<CSRNDArray 3x4 @cpu(0)>"
    assert repr(nd.sparse.row_sparse_array((3, 4))) == "\n<RowSparseNDArray 3x4 @cpu(0)>"


def test_sparse_assign_whole():
    rs = nd.sparse.zeros("row_sparse", (3, 2))
    rs[:] = nd.array([[0, 0], [1, 2], [0, 0]])
    assert rs.indices.asnumpy().tolist() == [1]
    assert rs.asnumpy().tolist() == [[0, 0], [1, 2], [0, 0]]
    with pytest.raises(MXNetError):
        rs += 1
    target = nd.sparse.zeros("row_sparse", (2, 2))
    assert nd.array([[0, 0], [1, 0]]).copyto(target) is target
    assert target.indices.asnumpy().tolist() == [1]


@pytest.mark.parametrize("make", [
    lambda: nd.sparse.row_sparse_array(([[1, 2, 3], [4, 5, 6]], [0, 2]), shape=(4, 3)),
    lambda: nd.sparse.csr_matrix(([1, 2, 3], [0, 2, 1], [0, 2, 2, 3]), shape=(3, 3)),
])
def test_sparse_pickle_roundtrip(make):
    x = make()
    y = pickle.loads(pickle.dumps(x))
    assert type(y) is type(x) and y.shape == x.shape
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())


class _ScipyLikeCSR:
    """The parts of a scipy.sparse.csr_matrix that csr_matrix reads (scipy is not a dependency)."""

    nnz = 2
    shape = (2, 3)
    data = np.array([1.0, 2.0])
    indices = np.array([0, 2], dtype=np.int32)
    indptr = np.array([0, 1, 2], dtype=np.int32)

    def tocsr(self):
        return self

    def sum_duplicates(self):
        pass


def test_scipy_matrices_become_csr():
    for make in (nd.sparse.csr_matrix, nd.array):
        cs = make(_ScipyLikeCSR())
        assert isinstance(cs, CSRNDArray) and cs.dtype is np.float64
        assert cs.indices.dtype is np.int64
        assert cs.asnumpy().tolist() == [[1, 0, 0], [0, 0, 2]]


def test_negative_index_values_are_refused_when_densified():
    # The constructors take index values unchecked, as MXNet's do; densifying must not let
    # numpy wrap a negative index onto the last row or column.
    rsp = mx.nd.sparse.row_sparse_array((np.ones((2, 3)), np.array([0, -1])), shape=(4, 3))
    csr = mx.nd.sparse.csr_matrix((np.ones(2), np.array([0, -1]), np.array([0, 1, 2])),
                                  shape=(2, 3))
    for arr, what in ((rsp, "row_sparse"), (csr, "csr")):
        for use in (lambda a: a.asnumpy(), lambda a: a + 1, np.asarray):
            with pytest.raises(mx.MXNetError, match=f"invalid {what}"):
                use(arr)
