"""mx.io against batch sequences MXNet 1.9.1 produced for the same inputs (hard-coded)."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

import mxlite.io as mio
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import NDArray
from mxlite.ndarray.ndarray import array as nd_array
from mxlite.ndarray.sparse import CSRNDArray

# (num_data, batch_size, last_batch_handle) -> four epochs (reset after each) of batches, each
# written as the example ids it holds followed by its pad; printed by MXNet 1.9.1 for
# data = arange(2n).reshape(n, 2), label = 10 * arange(n), shuffle=False.
EXPECTED = {
    (7, 3, "pad"): [[[0, 1, 2, 0], [3, 4, 5, 0], [6, 0, 1, 2]]] * 4,
    (7, 3, "discard"): [[[0, 1, 2, 0], [3, 4, 5, 0]]] * 4,
    (7, 3, "roll_over"): [[[0, 1, 2, 0], [3, 4, 5, 0]], [[6, 0, 1, 1], [2, 3, 4, 0]],
                          [[5, 6, 0, 2], [1, 2, 3, 0], [4, 5, 6, 0]],
                          [[0, 1, 2, 0], [3, 4, 5, 0]]],
    (6, 3, "roll_over"): [[[0, 1, 2, 0], [3, 4, 5, 0]]] * 4,
    (10, 4, "pad"): [[[0, 1, 2, 3, 0], [4, 5, 6, 7, 0], [8, 9, 0, 1, 2]]] * 4,
    (10, 4, "roll_over"): [[[0, 1, 2, 3, 0], [4, 5, 6, 7, 0]],
                           [[8, 9, 0, 1, 2], [2, 3, 4, 5, 0], [6, 7, 8, 9, 0]],
                           [[0, 1, 2, 3, 0], [4, 5, 6, 7, 0]],
                           [[8, 9, 0, 1, 2], [2, 3, 4, 5, 0], [6, 7, 8, 9, 0]]],
    (3, 8, "pad"): [[[0, 1, 2, 0, 1, 2, 0, 1, 5]]] * 4,
    (2, 7, "pad"): [[[0, 1, 0, 1, 0, 1, 0, 5]]] * 4,
    (2, 7, "discard"): [[]] * 4,
    (4, 3, "roll_over"): [[[0, 1, 2, 0]], [[3, 0, 1, 1]], [[2, 3, 0, 2], [1, 2, 3, 0]],
                          [[0, 1, 2, 0]]],
    (8, 3, "roll_over"): [[[0, 1, 2, 0], [3, 4, 5, 0]],
                          [[6, 7, 0, 2], [1, 2, 3, 0], [4, 5, 6, 0]],
                          [[7, 0, 1, 1], [2, 3, 4, 0], [5, 6, 7, 0]],
                          [[0, 1, 2, 0], [3, 4, 5, 0]]],
    (5, 5, "roll_over"): [[[0, 1, 2, 3, 4, 0]]] * 4,
}


def _epochs(it, n_epochs=4):
    out = []
    for _ in range(n_epochs):
        epoch = []
        for batch in it:
            data, label = batch.data[0].asnumpy(), batch.label[0].asnumpy()
            np.testing.assert_array_equal(data[:, 0] * 5, label)  # labels follow their rows
            np.testing.assert_array_equal(data[:, 1], data[:, 0] + 1)
            epoch.append((data[:, 0] // 2).astype(int).tolist() + [batch.pad])
        out.append(epoch)
        it.reset()
    return out


@pytest.mark.parametrize("n, bs, handle", sorted(EXPECTED))
def test_batch_sequences_match_mxnet(n, bs, handle):
    it = mio.NDArrayIter(np.arange(2 * n).reshape(n, 2), 10 * np.arange(n), bs,
                         last_batch_handle=handle)
    assert _epochs(it) == EXPECTED[(n, bs, handle)]


def test_roll_over_needs_a_full_batch_of_data():
    it = mio.NDArrayIter(np.arange(3), np.arange(3), 8, last_batch_handle="roll_over")
    assert list(it) == []
    it.reset()
    with pytest.raises(MXNetError, match="roll_over needs at least batch_size=8"):
        it.next()


def test_roll_over_without_label():
    it = mio.NDArrayIter(np.arange(7), batch_size=3, last_batch_handle="roll_over")
    list(it)
    it.reset()
    batch = it.next()
    assert batch.data[0].asnumpy().tolist() == [6, 0, 1]
    assert (batch.label, batch.pad) == ([], 1)


def test_descs_dtypes_and_names():
    it = mio.NDArrayIter(np.arange(12).reshape(6, 2), np.arange(6), batch_size=4)
    assert repr(it.provide_data) == "[DataDesc[data,(4, 2),<class 'numpy.float32'>,NCHW]]"
    assert repr(it.provide_label) == \
        "[DataDesc[softmax_label,(4,),<class 'numpy.float32'>,NCHW]]"
    batch = it.next()
    assert isinstance(batch.data[0], NDArray) and batch.data[0].dtype == np.float32
    assert str(batch) == "DataBatch: data shapes: [(4, 2)] label shapes: [(4,)]"
    assert (batch.index, batch.bucket_key, batch.provide_data) == (None, None, None)
    # an NDArray keeps its dtype; numpy inputs and lists become float32 as in mx.nd.array
    it = mio.NDArrayIter(nd_array(np.arange(6).reshape(3, 2), dtype="int32"), batch_size=2)
    assert it.provide_data[0].dtype is np.int32 and it.next().data[0].dtype == np.int32
    it = mio.NDArrayIter([[1, 2], [3, 4]], batch_size=1, data_name="x")
    assert [(d.name, d.shape) for d in it.provide_data] == [("_0_x", (1,)), ("_1_x", (1,))]
    it = mio.NDArrayIter({"b": np.zeros((4, 2)), "a": np.ones(4)}, {"y": np.zeros(4)}, 2)
    assert repr(it.provide_data) == ("[DataDesc[a,(2,),<class 'numpy.float32'>,NCHW], "
                                     "DataDesc[b,(2, 2),<class 'numpy.float32'>,NCHW]]")
    assert [d.name for d in it.provide_label] == ["y"]


def test_batch_is_a_copy():
    src = np.arange(6, dtype=np.float32).reshape(3, 2)
    it = mio.NDArrayIter(nd_array(src), batch_size=2)
    batch = it.next()
    batch.data[0]._data[:] = -1
    it.reset()
    assert it.next().data[0].asnumpy().tolist() == [[0, 1], [2, 3]]


def test_layout_sets_the_batch_axis():
    it = mio.NDArrayIter(np.arange(24).reshape(2, 3, 4), batch_size=2, layout="TNC")
    assert repr(it.provide_data) == "[DataDesc[data,(2, 2, 4),<class 'numpy.float32'>,TNC]]"
    batches = list(it)
    assert [b.data[0].shape for b in batches] == [(2, 2, 4)]
    np.testing.assert_array_equal(batches[0].data[0].asnumpy(),
                                  np.arange(24).reshape(2, 3, 4)[:, :2])


# What MXNet 1.9.1 yields (first column of each batch) after np.random.seed(7), two epochs.
MXNET_SHUFFLED = [[[2, 34, 4, 10, 22], [0, 36, 12, 26, 38], [20, 28, 16, 32, 18],
                   [24, 14, 6, 8, 30]],
                  [[22, 36, 16, 38, 10], [0, 6, 20, 28, 8], [30, 32, 4, 34, 14],
                   [18, 12, 2, 26, 24]]]


def test_shuffle_follows_numpy_seed_as_mxnet_does():
    data = np.arange(40).reshape(20, 2)
    np.random.seed(7)
    it = mio.NDArrayIter(data, data[:, 0] * 5, 5, shuffle=True)
    epochs = []
    for _ in range(2):
        epochs.append([b.data[0].asnumpy()[:, 0].astype(int).tolist() for b in it])
        it.reset()
    assert epochs == MXNET_SHUFFLED


def test_shuffle_is_seeded_and_keeps_rows_together():
    data = np.arange(40).reshape(20, 2)

    def run():
        np.random.seed(7)
        it = mio.NDArrayIter(data, data[:, 0] * 5, 5, shuffle=True)
        return _epochs(it, 2)

    first = run()
    assert first == run()
    for epoch in first:
        ids = sorted(i for batch in epoch for i in batch[:-1])
        assert ids == list(range(20))
    assert [i for b in first[0] for i in b[:-1]] != list(range(20))
    assert first[0] != first[1]
    # shuffling re-creates the arrays as mx.nd.array does: float32
    it = mio.NDArrayIter(nd_array(data, dtype="int32"), batch_size=5, shuffle=True)
    assert it.provide_data[0].dtype is np.float32


def test_data_iter_protocol():
    it = mio.NDArrayIter(np.arange(5), np.arange(5), 2)
    assert iter(it) is it
    assert it.iter_next()
    assert it.getdata()[0].asnumpy().tolist() == [0, 1]
    assert it.getlabel()[0].asnumpy().tolist() == [0, 1]
    assert (it.getpad(), it.getindex()) == (0, None)
    assert it.iter_next() and it.iter_next()
    assert (it.getdata()[0].asnumpy().tolist(), it.getpad()) == ([4, 0], 1)
    assert not it.iter_next()
    with pytest.raises(StopIteration):
        it.next()
    it.hard_reset()
    assert it.next().data[0].asnumpy().tolist() == [0, 1]
    assert (it.num_data, it.num_source, it.batch_size) == (5, 2, 2)


def test_bad_arguments():
    with pytest.raises(MXNetError, match="last_batch_handle"):
        mio.NDArrayIter(np.zeros(3), last_batch_handle="wrap")
    with pytest.raises(MXNetError, match="must not be None"):
        mio.NDArrayIter(None)
    with pytest.raises(MXNetError, match="dict"):
        mio.NDArrayIter("abc")
    with pytest.raises(MXNetError, match="batch_size"):
        mio.NDArrayIter(np.zeros(3), batch_size=0)
    with pytest.raises(MXNetError, match="list of NDArrays"):
        mio.DataBatch(nd_array([1]))


def _csr(dense):
    rows, cols = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=dense.shape[0]))])
    return CSRNDArray(dense[rows, cols], indptr.astype(np.int64), cols.astype(np.int64),
                      dense.shape)


def test_csr_data():
    dense = np.array([[0, 1, 0], [2, 0, 3], [0, 0, 0], [4, 5, 6], [0, 0, 7]], np.float32)
    with pytest.raises(NotImplementedError, match="discard"):  # and an MXNetError
        mio.NDArrayIter(_csr(dense), batch_size=2)
    it = mio.NDArrayIter(_csr(dense), np.arange(5), batch_size=2, last_batch_handle="discard")
    batches = list(it)
    assert [type(b.data[0]) for b in batches] == [CSRNDArray, CSRNDArray]
    np.testing.assert_array_equal(np.concatenate([b.data[0].asnumpy() for b in batches]),
                                  dense[:4])
    np.random.seed(3)
    it = mio.NDArrayIter(_csr(dense), np.arange(5), batch_size=5, shuffle=True,
                         last_batch_handle="discard")
    batch = it.next()
    order = batch.label[0].asnumpy().astype(int)
    assert sorted(order.tolist()) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(batch.data[0].asnumpy(), dense[order])


def test_data_desc():
    d = mio.DataDesc("x", (1, 2))
    assert repr(d) == str(d) == "DataDesc[x,(1, 2),<class 'numpy.float32'>,NCHW]"
    assert d == ("x", (1, 2)) and tuple(d) == ("x", (1, 2))
    assert (d.name, d.shape, d.dtype, d.layout) == ("x", (1, 2), np.float32, "NCHW")
    assert [mio.DataDesc.get_batch_axis(x) for x in (None, "NCHW", "TNC", "HW")] == [0, 0, 1, -1]
    got = mio.DataDesc.get_list([("a", (1, 2)), ("b", (3,))], [("a", np.int32), ("b", np.float16)])
    assert repr(got) == ("[DataDesc[a,(1, 2),<class 'numpy.int32'>,NCHW], "
                         "DataDesc[b,(3,),<class 'numpy.float16'>,NCHW]]")
    assert repr(mio.DataDesc.get_list([("a", (1, 2))], None)) == \
        "[DataDesc[a,(1, 2),<class 'numpy.float32'>,NCHW]]"
    assert str(mio.DataBatch([nd_array(np.zeros((2, 3)))])) == \
        "DataBatch: data shapes: [(2, 3)] label shapes: None"


def _ids(batches):
    return [(b.data[0].asnumpy().astype(int).tolist(), b.pad) for b in batches]


def test_resize_iter():
    r = mio.ResizeIter(mio.NDArrayIter(np.arange(7), np.arange(7) * 10, 3), 5)
    assert (r.batch_size, r.provide_data[0].shape) == (3, (3,))
    for _ in range(2):
        assert _ids(r) == [([0, 1, 2], 0), ([3, 4, 5], 0), ([6, 0, 1], 2), ([0, 1, 2], 0),
                           ([3, 4, 5], 0)]
        r.reset()
    r = mio.ResizeIter(mio.NDArrayIter(np.arange(7), np.arange(7) * 10, 3), 2,
                       reset_internal=False)
    got = []
    for _ in range(3):
        got.append(_ids(r))
        r.reset()
    assert got == [[([0, 1, 2], 0), ([3, 4, 5], 0)], [([6, 0, 1], 2), ([0, 1, 2], 0)],
                   [([3, 4, 5], 0), ([6, 0, 1], 2)]]


def test_prefetching_iter():
    i1 = mio.NDArrayIter(np.arange(7), np.arange(7) * 10, 3)
    i2 = mio.NDArrayIter({"x": np.arange(7) + 100}, {"y": np.arange(7)}, 3)
    with mio.PrefetchingIter([i1, i2], rename_data=[{"data": "d1"}, {"x": "d2"}]) as p:
        assert repr(p.provide_data) == ("[DataDesc[d1,(3,),<class 'numpy.float32'>,NCHW], "
                                        "DataDesc[d2,(3,),<class 'numpy.float32'>,NCHW]]")
        assert [d.name for d in p.provide_label] == ["softmax_label", "y"]
        assert p.batch_size == 3
        for _ in range(2):
            got = [([d.asnumpy().astype(int).tolist() for d in b.data],
                    [d.asnumpy().astype(int).tolist() for d in b.label], b.pad) for b in p]
            assert got == [([[0, 1, 2], [100, 101, 102]], [[0, 10, 20], [0, 1, 2]], 0),
                           ([[3, 4, 5], [103, 104, 105]], [[30, 40, 50], [3, 4, 5]], 0),
                           ([[6, 0, 1], [106, 100, 101]], [[60, 0, 10], [6, 0, 1]], 2)]
            p.reset()
        threads = list(p.prefetch_threads)
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(MXNetError, match="closed"):
        p.next()
    p.close()  # idempotent


def test_prefetching_iter_stops_when_dropped():
    p = mio.PrefetchingIter(mio.NDArrayIter(np.arange(4), batch_size=2))
    assert p.next().data[0].asnumpy().tolist() == [0, 1]
    threads = list(p.prefetch_threads)
    del p
    gc.collect()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)


class _Failing(mio.DataIter):
    provide_data = [mio.DataDesc("data", (2,))]
    provide_label = []

    def next(self):
        raise OSError("disk gone")


def test_prefetching_iter_reraises_errors():
    with mio.PrefetchingIter(_Failing(2)) as p:
        with pytest.raises(OSError, match="disk gone"):
            p.next()


# ---------------------------------------------------------------------------------------------
# CSVIter

# (rows, batch_size, round_batch) -> three epochs of (example ids, pad, index), from MXNet 1.9.1
CSV_EXPECTED = {
    (7, 3, True): [[([0, 1, 2], 0, [0, 1, 2]), ([3, 4, 5], 0, [3, 4, 5]),
                    ([6, 0, 1], 2, [6, 0, 1])],
                   [([2, 3, 4], 0, [2, 3, 4]), ([5, 6, 0], 1, [5, 6, 0])],
                   [([1, 2, 3], 0, [1, 2, 3]), ([4, 5, 6], 0, [4, 5, 6])]],
    (7, 3, False): [[([0, 1, 2], 0, [0, 1, 2]), ([3, 4, 5], 0, [3, 4, 5]),
                     ([6, 4, 5], 2, [6, 4, 5])]] * 3,
    (4, 3, True): [[([0, 1, 2], 0, [0, 1, 2]), ([3, 0, 1], 2, [3, 0, 1])],
                   [([2, 3, 0], 1, [2, 3, 0])], [([1, 2, 3], 0, [1, 2, 3])]],
    (7, 8, True): [[([0, 1, 2, 3, 4, 5, 6, 0], 1, [0, 1, 2, 3, 4, 5, 6, 0])],
                   [([1, 2, 3, 4, 5, 6, 0, 1], 2, [1, 2, 3, 4, 5, 6, 0, 1])],
                   [([2, 3, 4, 5, 6, 0, 1, 2], 3, [2, 3, 4, 5, 6, 0, 1, 2])]],
    (7, 8, False): [[([0, 1, 2, 3, 4, 5, 6, 0], 1, [0, 1, 2, 3, 4, 5, 6, 0])]] * 3,
    (7, 7, True): [[([0, 1, 2, 3, 4, 5, 6], 0, [0, 1, 2, 3, 4, 5, 6])]] * 3,
}


def _write_csv(path, rows):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return str(path)


@pytest.mark.parametrize("n, bs, round_batch", sorted(CSV_EXPECTED))
def test_csv_iter_matches_mxnet(tmp_path, n, bs, round_batch):
    data = _write_csv(tmp_path / "d.csv", np.arange(2 * n).reshape(n, 2))
    label = _write_csv(tmp_path / "l.csv", 10 * np.arange(n).reshape(n, 1))
    it = mio.CSVIter(data_csv=data, data_shape=(2,), label_csv=label, batch_size=bs,
                     round_batch=round_batch)
    got = []
    for _ in range(3):
        epoch = []
        for b in it:
            d, lab = b.data[0].asnumpy(), b.label[0].asnumpy()
            assert d.dtype == np.float32 and b.index.dtype == np.uint64
            np.testing.assert_array_equal(d[:, 0] * 5, lab)
            epoch.append(((d[:, 0] // 2).astype(int).tolist(), b.pad, b.index.tolist()))
        got.append(epoch)
        it.reset()
    assert got == CSV_EXPECTED[(n, bs, round_batch)]


def test_csv_iter_shapes_and_dtypes(tmp_path):
    data = _write_csv(tmp_path / "d.csv", np.arange(14).reshape(7, 2))
    it = mio.CSVIter(data_csv=data, data_shape=(2,), batch_size=3)
    assert repr(it.provide_data) == "[DataDesc[data,(3, 2),<class 'numpy.float32'>,NCHW]]"
    assert repr(it.provide_label) == \
        "[DataDesc[softmax_label,(3,),<class 'numpy.float32'>,NCHW]]"
    assert it.next().label[0].asnumpy().tolist() == [0, 0, 0]
    it = mio.CSVIter(data_csv=data, data_shape=(1, 2), batch_size=4)
    assert it.provide_data[0].shape == (4, 1, 2)
    label2 = _write_csv(tmp_path / "l2.csv", np.arange(14).reshape(7, 2))
    for shape, want in [((2,), (3, 2)), ((2, 1), (3, 2, 1))]:
        it = mio.CSVIter(data_csv=data, data_shape=(2,), label_csv=label2, label_shape=shape,
                         batch_size=3)
        assert it.provide_label[0].shape == want == it.next().label[0].shape
    label1 = _write_csv(tmp_path / "l1.csv", np.arange(7).reshape(7, 1))
    it = mio.CSVIter(data_csv=data, data_shape=(2,), label_csv=label1, label_shape=(1, 1),
                     batch_size=3)
    assert it.provide_label[0].shape == (3,)
    for dtype, np_type in [("int32", np.int32), ("int64", np.int64), ("float32", np.float32)]:
        it = mio.CSVIter(data_csv=data, data_shape=(2,), batch_size=3, dtype=dtype)
        assert it.provide_data[0].dtype is np_type is it.provide_label[0].dtype
        batch = it.next()
        assert batch.data[0].dtype == np_type and batch.label[0].dtype == np_type
    big = _write_csv(tmp_path / "big.csv", [[2**53 + 1]])
    it = mio.CSVIter(data_csv=big, data_shape=(1,), batch_size=1, dtype="int64")
    assert it.next().data[0].asnumpy().tolist() == [[2**53 + 1]]


def test_csv_iter_directory(tmp_path):
    (tmp_path / "dir").mkdir()
    _write_csv(tmp_path / "dir" / "a.csv", [[1, 2], [3, 4]])
    _write_csv(tmp_path / "dir" / "b.csv", [[5, 6]])
    it = mio.CSVIter(data_csv=str(tmp_path / "dir"), data_shape=(2,), batch_size=3)
    assert it.next().data[0].asnumpy().tolist() == [[1, 2], [3, 4], [5, 6]]


def test_csv_iter_errors(tmp_path):
    data = _write_csv(tmp_path / "d.csv", np.arange(14).reshape(7, 2))
    with pytest.raises(MXNetError, match=r"specified shape=\[3\], the csv row-length=2"):
        mio.CSVIter(data_csv=data, data_shape=(3,), batch_size=3)
    for dtype in ("uint8", "float64"):
        with pytest.raises(MXNetError, match="not supported"):
            mio.CSVIter(data_csv=data, data_shape=(2,), batch_size=3, dtype=dtype)
    with pytest.raises(MXNetError, match="cannot read"):
        mio.CSVIter(data_csv=str(tmp_path / "missing.csv"), data_shape=(2,), batch_size=3)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,x\n")
    with pytest.raises(MXNetError, match="bad.csv"):
        mio.CSVIter(data_csv=str(bad), data_shape=(2,), batch_size=3)
    short = _write_csv(tmp_path / "short.csv", [[1]])
    with pytest.raises(MXNetError, match="fewer than the 7"):
        mio.CSVIter(data_csv=data, data_shape=(2,), label_csv=short, batch_size=3)
    two = _write_csv(tmp_path / "two.csv", [[1, 2], [3, 4]])
    it = mio.CSVIter(data_csv=two, data_shape=(2,), batch_size=7)
    with pytest.raises(MXNetError, match="bigger than batch size"):
        it.next()


class _Slow(mio.NDArrayIter):
    def next(self):
        time.sleep(0.001)
        return super().next()


def test_prefetching_iter_close_races_a_fetch():
    for _ in range(20):
        p = mio.PrefetchingIter(_Slow(np.arange(100), batch_size=2))
        p.next()
        closer = threading.Thread(target=p.close)
        closer.start()
        closer.join(timeout=10)
        assert not closer.is_alive()
        assert not any(t.is_alive() for t in p.prefetch_threads)
