"""mx.nd.save / mx.nd.load / mx.nd.load_frombuffer against the files MXNet 1.9.1 wrote."""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
from conftest import DATA, historic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import arrays as A
from mxlite.ndarray import utils as U
from mxlite.ndarray.ndarray import NDArray

try:
    from mxlite.ndarray import sparse
except ImportError:  # the sparse classes land separately
    sparse = None
needs_sparse = pytest.mark.skipif(sparse is None, reason="mxlite.ndarray.sparse not built yet")

EXPECT = json.loads((DATA / "expectations.json").read_text())["ndarray"]
CASES = [pytest.param(c, marks=needs_sparse) if c == "sparse" else c for c in sorted(EXPECT)]


def semantics(case: str):
    return mx.util.np_shape(case == "np_semantics")


def dense_of(v) -> np.ndarray:
    """The dense numpy values of any NDArray, via its storage (no tostype needed)."""
    if v.stype == "default":
        return v._data
    out = np.zeros(v.shape, v.data._data.dtype)
    if v.stype == "row_sparse":
        out[v.indices._data] = v.data._data
    else:
        indptr = v.indptr._data
        rows = np.repeat(np.arange(v.shape[0]), np.diff(indptr))
        out[rows, v.indices._data] = v.data._data
    return out


@pytest.mark.parametrize("case", CASES)
def test_golden_load_values(case):
    exp = EXPECT[case]
    with semantics(case):
        got = U.load(str(DATA / exp["file"]))
    want_type = exp.get("mxnet_load_returns", exp["kind"])
    assert type(got).__name__ == want_type
    keys = list(got) if isinstance(got, dict) else [str(i) for i in range(len(got))]
    assert keys == exp["keys"]
    values = got.values() if isinstance(got, dict) else got
    npz = np.load(DATA / "ndarray" / "x" / f"{case}.npz")
    for i, (k, v) in enumerate(zip(keys, values)):
        meta = exp["meta"][k]
        assert isinstance(v, NDArray)
        assert tuple(v.shape) == tuple(meta["shape"])
        assert v.stype == meta["stype"]
        assert v._ctx == mx.cpu(0)
        d = dense_of(v)
        assert d.dtype == np.dtype(meta["dtype"])
        np.testing.assert_array_equal(d, npz[f"k{i}"])
        if v.stype == "row_sparse":
            assert v.indices._data.tolist() == meta["indices"]
        if v.stype == "csr":
            assert v.indptr._data.tolist() == meta["indptr"]
            assert v.indices._data.tolist() == meta["indices"]


@pytest.mark.parametrize("case", CASES)
def test_golden_resave_byte_identical(case, tmp_path):
    src = DATA / EXPECT[case]["file"]
    out = tmp_path / "out.params"
    with semantics(case):
        U.save(str(out), U.load(str(src)))
    assert out.read_bytes() == src.read_bytes()
    assert os.listdir(tmp_path) == ["out.params"]


@pytest.mark.parametrize("case", CASES)
def test_golden_via_file_objects_and_buffer(case):
    raw = (DATA / EXPECT[case]["file"]).read_bytes()
    with semantics(case):
        a = U.load(io.BytesIO(raw))
        b = U.load_frombuffer(raw)
        out = io.BytesIO()
        U.save(out, a)
    assert out.getvalue() == raw
    assert type(a) is type(b) and len(a) == len(b)


def test_historic_v0_loads_as_arange():
    got = U.load(historic("legacy_ndarray.v0"))
    assert isinstance(got, list) and len(got) == 6
    for v in got:
        assert v.shape == (128,) and v._data.dtype == np.float32
        np.testing.assert_array_equal(v._data, np.arange(128, dtype=np.float32))


def test_save_single_list_dict_and_reload(tmp_path):
    p = str(tmp_path / "t.ndarray")
    x = NDArray(np.arange(6, dtype=np.float32).reshape(2, 3))
    U.save(p, x)
    (only,) = U.load(p)
    np.testing.assert_array_equal(only._data, x._data)
    U.save(p, {"b": x, "a": NDArray(np.ones(2, np.int64))})
    got = U.load(p)
    assert list(got) == ["b", "a"]
    assert got["a"]._data.dtype == np.int64
    U.save(p, {})
    assert U.load(p) == []
    U.save(p, [])
    assert U.load(p) == []


def test_save_refuses_what_mxnet_refuses(tmp_path):
    p = str(tmp_path / "t.ndarray")
    x = NDArray(np.ones(2, np.float32))
    with pytest.raises(TypeError, match="save only accept dict str->NDArray or list of NDArray"):
        U.save(p, {1: x})
    with pytest.raises(TypeError, match="save only accept"):
        U.save(p, [x, np.ones(2)])
    with pytest.raises(ValueError, match="data needs to either be a NDArray"):
        U.save(p, (x,))
    assert not os.listdir(tmp_path)


def test_gpu_context_is_kept(tmp_path):
    p = str(tmp_path / "g.params")
    U.save(p, [NDArray(np.ones(3, np.float32), mx.gpu(1))])
    (v,) = U.load(p)
    assert v._ctx == mx.gpu(1)
    assert A.read_list(open(p, "rb"))[0][0].ctx == (2, 1)


def test_np_shape_writes_v3(tmp_path):
    p = str(tmp_path / "s.params")
    with mx.util.np_shape(True):
        U.save(p, {"s": NDArray(np.array(2.5, np.float32))})
        got = U.load(p)
    raw = open(p, "rb").read()
    assert raw[24:28] == A.V3_MAGIC.to_bytes(4, "little")
    assert got["s"].shape == () and float(got["s"]._data) == 2.5


def test_load_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.params"
    p.write_bytes((DATA / "ndarray" / "list_two.params").read_bytes()[:200])
    with pytest.raises(MXNetError, match=rf"^{re.escape(str(p))}: byte 192: array 1: array data "
                                         r"needs 32 bytes but only 8 remain"):
        U.load(str(p))
    with pytest.raises(MXNetError, match="cannot open for reading"):
        U.load(str(tmp_path / "missing.params"))
    with pytest.raises(MXNetError, match=r"^<buffer>: byte 0: list magic"):
        U.load_frombuffer(b"\0" * 40)


def test_zero_byte_file_is_refused_like_mxnet(tmp_path):
    # A saved empty list or dict loads as [] (test_golden_*); a 0-byte file has no header,
    # and MXNet 1.9.1 refuses it ("Invalid NDArray file format"), as does load_frombuffer(b"").
    p = tmp_path / "empty.params"
    p.write_bytes(b"")
    with pytest.raises(MXNetError, match=r"empty.params: byte 0: list header"):
        U.load(str(p))
    with pytest.raises(MXNetError, match=r"<buffer>: byte 0: list header"):
        U.load_frombuffer(b"")


def test_lying_header_file_fails_at_once(tmp_path):
    import struct

    rec = struct.pack("<IiiqqiiI", A.V2_MAGIC, 0, 2, 1 << 40, 1 << 20, 1, 0, 0)
    raw = struct.pack("<QQQ", 0x112, 0, 1) + rec
    p = tmp_path / "huge.params"
    p.write_bytes(raw + bytes(100 - len(raw)))
    with pytest.raises(MXNetError, match=r"huge.params: byte 64: array 0: array data needs "
                                         r"4611686018427387904 bytes but only 36 remain"):
        U.load(str(p))


class Boom(Exception):
    pass


def test_atomic_save_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "model.params"
    U.save(str(p), {"w": NDArray(np.ones(4, np.float32))})
    old = p.read_bytes()

    real = A._record_parts
    calls = []

    def failing(rec, np_shape):  # the second array cannot be serialised
        calls.append(1)
        if len(calls) == 2:
            raise Boom("disk full")
        return real(rec, np_shape)

    monkeypatch.setattr(A, "_record_parts", failing)
    big = {"a": NDArray(np.zeros(1 << 16, np.float32)), "b": NDArray(np.ones(3, np.float32))}
    with pytest.raises(Boom):
        U.save(str(p), big)
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.params"]


def test_atomic_save_disk_full_mid_write(tmp_path, monkeypatch):
    import errno

    p = tmp_path / "model.params"
    U.save(str(p), [NDArray(np.arange(5, dtype=np.float32))])
    old = p.read_bytes()
    real_fdopen = os.fdopen
    written = []

    class DiskFull(io.RawIOBase):  # accepts 1000 bytes, then the disk is full
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, b):
            n = len(memoryview(b).cast("B"))
            if sum(written) + n > 1000:
                raise OSError(errno.ENOSPC, "No space left on device")
            written.append(n)
            return self.f.write(b)

        def fileno(self):
            return self.f.fileno()

        def close(self):
            self.f.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: DiskFull(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        U.save(str(p), [NDArray(np.ones(4096, np.float32))])
    assert sum(written) > 0  # it failed part-way through the file
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.params"]


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(MXNetError, match="cannot write"):
        U.save(str(tmp_path / "nope" / "x.params"), [NDArray(np.ones(1, np.float32))])


@needs_sparse
def test_record_roundtrip_sparse():
    rsp = sparse.RowSparseNDArray(np.ones((2, 3), np.float32), np.array([1, 4], np.int64),
                                  (5, 3))
    csr = sparse.CSRNDArray(np.array([1.0, 2.0]), np.array([0, 1, 1, 2], np.int64),
                            np.array([2, 0], np.int64), (3, 4))
    for v in (rsp, csr):
        rec = U.to_record(v)
        back = U.from_record(A.decode_record(A.encode_record(rec)))
        assert type(back) is type(v) and back.shape == v.shape
        np.testing.assert_array_equal(dense_of(back), dense_of(v))


DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]


@st.composite
def nd_values(draw):
    kinds = ["default", "default", "row_sparse", "csr"] if sparse else ["default"]
    kind = draw(st.sampled_from(kinds))
    dt = np.dtype(draw(st.sampled_from(DTYPES)))
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    mask = np.array(draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)))
    full = np.where(mask, np.arange(1, rows * cols + 1), 0).astype(dt).reshape(rows, cols)
    if kind == "default":
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        return NDArray(np.broadcast_to(full.reshape(full.shape + (1,) * len(extra)),
                                       full.shape + extra).copy())
    if dt == np.bool_:
        full = full.astype(np.float32)
    if kind == "row_sparse":
        idx = np.flatnonzero(full.any(axis=1)).astype(np.int64)
        return sparse.RowSparseNDArray(full[idx], idx, full.shape)
    r, c = np.nonzero(full)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=rows))]).astype(np.int64)
    return sparse.CSRNDArray(full[r, c], indptr, c.astype(np.int64), full.shape)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nd_values(), max_size=4), st.booleans(), st.data())
def test_save_load_property(values, as_dict, data):
    names = data.draw(st.lists(st.text(min_size=1, max_size=6), min_size=len(values),
                               max_size=len(values), unique=True))
    obj = dict(zip(names, values)) if as_dict else values
    buf = io.BytesIO()
    U.save(buf, obj)
    got = U.load_frombuffer(buf.getvalue())
    if as_dict and values:
        assert list(got) == names
        got = list(got.values())
    assert len(got) == len(values)
    for a, b in zip(values, got):
        assert (b.stype, tuple(b.shape)) == (a.stype, tuple(a.shape))
        np.testing.assert_array_equal(dense_of(b), dense_of(a))
        assert dense_of(b).dtype == dense_of(a).dtype
