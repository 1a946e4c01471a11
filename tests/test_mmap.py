"""``mx.nd.load(fname, mmap=True)`` and ``mx.nd.open(fname, mmap=True)``: read-only, uncopied
views of a memory map that live as long as the arrays do."""

from __future__ import annotations

import gc
import mmap
import os
import shutil

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import NDArray

GOLDEN = ["list_two", "dict_two", "dtypes", "edge_shapes", "sparse", "names",
          "np_semantics", "empty_dict", "empty_list"]


def _base(a: np.ndarray):
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a.obj if isinstance(a, memoryview) else a


def _values(x):
    return x.items() if isinstance(x, dict) else enumerate(x)


@pytest.mark.parametrize("name", GOLDEN)
def test_mmap_load_equals_plain_load(name):
    path = str(DATA / "ndarray" / f"{name}.params")
    plain = mx.nd.load(path)
    mapped = mx.nd.load(path, mmap=True)
    assert type(plain) is type(mapped) and len(plain) == len(mapped)
    for (k1, a), (k2, b) in zip(_values(plain), _values(mapped)):
        assert k1 == k2 and type(a) is type(b) and a.stype == b.stype
        assert a.shape == b.shape and a.dtype == b.dtype
        if a._data is None:
            assert b._data is None
            continue
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_mmap_arrays_are_uncopied_read_only_views(tmp_path):
    path = str(tmp_path / "m.params")
    mx.nd.save(path, {"a": NDArray(np.arange(1000, dtype=np.float32)),
                      "b": NDArray(np.ones((7, 3), np.int64))})
    got = mx.nd.load(path, mmap=True)
    for v in got.values():
        assert not v._data.flags.writeable and not v._data.flags.owndata
        assert isinstance(_base(v._data), mmap.mmap)
    # both views share one map
    assert _base(got["a"]._data) is _base(got["b"]._data)
    assert got["a"].asnumpy()[999] == 999.0 and got["b"].asnumpy().sum() == 21


def test_writing_a_mapped_array_is_mxneterror(tmp_path):
    path = str(tmp_path / "m.params")
    mx.nd.save(path, [NDArray(np.zeros((4, 4), np.float32))])
    (a,) = mx.nd.load(path, mmap=True)
    with pytest.raises(MXNetError, match="read-only"):
        a[0, 0] = 1.0
    with pytest.raises(MXNetError, match="read-only"):
        a[:] = 2.0
    with pytest.raises(MXNetError, match="read-only"):
        a += 1
    with pytest.raises(MXNetError, match="read-only"):
        a *= 3
    assert a.asnumpy().sum() == 0.0  # nothing was written
    b = a.copy()  # a copy is an ordinary array
    b[0, 0] = 5.0
    assert b.asnumpy()[0, 0] == 5.0 and a.asnumpy()[0, 0] == 0.0
    # the file is untouched
    assert mx.nd.load(path)[0].asnumpy().sum() == 0.0


def test_map_outlives_the_file_and_other_arrays(tmp_path):
    path = str(tmp_path / "m.params")
    mx.nd.save(path, {f"k{i}": NDArray(np.full((100,), i, np.float64)) for i in range(10)})
    got = mx.nd.load(path, mmap=True)
    keep = got["k7"]
    del got
    gc.collect()
    # an atomic save replaces the file (a new inode): the old map still reads the old bytes
    mx.nd.save(path, {"k7": NDArray(np.full((100,), -1.0))})
    assert keep.asnumpy().tolist() == [7.0] * 100
    if os.name == "posix":
        os.unlink(path)
        gc.collect()
        assert keep.asnumpy().sum() == 700.0


def test_mmap_with_keys(tmp_path):
    path = str(tmp_path / "m.params")
    mx.nd.save(path, {f"k{i}": NDArray(np.arange(5, dtype=np.int32) * i) for i in range(6)})
    got = mx.nd.load(path, mmap=True, keys=["k4", "k1"])
    assert list(got) == ["k4", "k1"]
    assert got["k4"].asnumpy().tolist() == [0, 4, 8, 12, 16]
    assert not got["k4"]._data.flags.writeable
    with pytest.raises(MXNetError, match=r"no arrays named \['zz'\]"):
        mx.nd.load(path, mmap=True, keys=["zz"])


def test_mmap_on_remote_storage_reads_into_memory():
    uri = "memory://mmap_test/m.params"
    mx.nd.save(uri, [NDArray(np.arange(3, dtype=np.float32))])
    (a,) = mx.nd.load(uri, mmap=True)
    assert a._data.flags.writeable and a.asnumpy().tolist() == [0.0, 1.0, 2.0]
    mx.nd.load(uri)  # still there
    import fsspec

    fsspec.filesystem("memory").rm(uri)


def test_open_with_mmap_views_outlive_the_with_block(tmp_path):
    path = str(tmp_path / "m.params")
    shutil.copyfile(DATA / "ndarray" / "dtypes.params", path)
    plain = mx.nd.load(path)
    with mx.nd.open(path, mmap=True) as f:
        arrs = {k: f[k].read() for k in f}
    for k, v in plain.items():
        assert not arrs[k]._data.flags.writeable
        np.testing.assert_array_equal(arrs[k].asnumpy(), v.asnumpy())


def test_mmap_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "nope.params")
    with pytest.raises(MXNetError, match="nope.params: cannot open for reading"):
        mx.nd.load(missing, mmap=True)
    bad = tmp_path / "bad.params"
    bad.write_bytes(b"\x13\x01" + b"\x00" * 22)
    with pytest.raises(MXNetError, match="bad.params: byte 0: list magic"):
        mx.nd.load(str(bad), mmap=True)
    torn = tmp_path / "torn.params"
    torn.write_bytes((DATA / "ndarray" / "dict_two.params").read_bytes()[:-30])
    with pytest.raises(MXNetError, match="torn.params"):
        mx.nd.load(str(torn), mmap=True)
