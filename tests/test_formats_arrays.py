"""mxlite.formats.arrays: MXNet's NDArray list files as bytes <-> numpy, without NDArray."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from conftest import DATA, historic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxlite.base import MXNetError
from mxlite.formats import arrays as A

EXPECT = json.loads((DATA / "expectations.json").read_text())["ndarray"]
CASES = sorted(EXPECT)


def read(raw: bytes, name: str = "t.params", **kw):
    return A.read_list(io.BytesIO(raw), name, **kw)


def write(records, names=None, np_shape=False) -> bytes:
    buf = io.BytesIO()
    A.write_list(buf, records, names, np_shape)
    return buf.getvalue()


class Unseekable(io.RawIOBase):
    """A pipe-like stream: no seek, no size."""

    def __init__(self, raw: bytes):
        self._f = io.BytesIO(raw)

    def readable(self):
        return True

    def readinto(self, b):
        return self._f.readinto(b)


def dense(a, ctx=(1, 0)) -> A.ArrayRecord:
    a = np.asarray(a)
    return A.ArrayRecord("default", a.shape, a.dtype, ctx, a)


@pytest.mark.parametrize("case", CASES)
def test_golden_decode_and_reencode(case):
    exp = EXPECT[case]
    raw = (DATA / exp["file"]).read_bytes()
    records, names = read(raw, exp["file"])
    keys = names if names is not None else [str(i) for i in range(len(records))]
    assert keys == exp["keys"]
    values = np.load(DATA / "ndarray" / "x" / f"{case}.npz")
    for i, (k, rec) in enumerate(zip(keys, records)):
        meta = exp["meta"][k]
        assert rec.shape == tuple(meta["shape"])
        assert rec.dtype == np.dtype(meta["dtype"])
        assert rec.stype == meta["stype"]
        assert rec.ctx == (1, 0)
        want = values[f"k{i}"]
        if rec.stype == "default":
            np.testing.assert_array_equal(rec.data, want)
            assert rec.data.dtype == want.dtype
        elif rec.stype == "row_sparse":
            (idx,) = rec.aux
            assert idx.tolist() == meta["indices"]
            dense_ = np.zeros(rec.shape, rec.dtype)
            dense_[idx] = rec.data
            np.testing.assert_array_equal(dense_, want)
        else:
            indptr, idx = rec.aux
            assert indptr.tolist() == meta["indptr"]
            assert idx.tolist() == meta["indices"]
            rows = np.repeat(np.arange(rec.shape[0]), np.diff(indptr))
            dense_ = np.zeros(rec.shape, rec.dtype)
            dense_[rows, idx] = rec.data
            np.testing.assert_array_equal(dense_, want)
    v3 = case == "np_semantics"
    assert {r.magic for r in records} <= {A.V3_MAGIC if v3 else A.V2_MAGIC}
    assert write(records, names, np_shape=v3) == raw


def test_historic_v0():
    raw = historic("legacy_ndarray.v0").read_bytes()
    records, names = read(raw, "legacy_ndarray.v0")
    assert names is None and len(records) == 6
    for rec in records:
        assert rec.magic == 0 and rec.stype == "default" and rec.shape == (128,)
        assert rec.data.dtype == np.float32
        np.testing.assert_array_equal(rec.data, np.arange(128, dtype=np.float32))
    # mxlite writes what MXNet 1.x would: V2 records, same values.
    again, _ = read(write(records))
    assert [r.magic for r in again] == [A.V2_MAGIC] * 6
    np.testing.assert_array_equal(again[5].data, records[5].data)


def test_v1_and_v0_records():
    body = np.arange(6, dtype="<i4").reshape(2, 3)
    v1 = (struct.pack("<IiQQ", A.V1_MAGIC, 2, 2, 3) + struct.pack("<iii", 1, 0, 4)
          + body.tobytes())
    v0 = struct.pack("<III", 2, 2, 3) + struct.pack("<iii", 2, 1, 4) + body.tobytes()
    raw = struct.pack("<QQQ", 0x112, 0, 2) + v1 + v0 + struct.pack("<Q", 0)
    (r1, r0), names = read(raw)
    assert names is None
    assert (r1.magic, r1.shape, r1.ctx) == (A.V1_MAGIC, (2, 3), (1, 0))
    assert (r0.magic, r0.shape, r0.ctx) == (0, (2, 3), (2, 1))
    np.testing.assert_array_equal(r1.data, body)
    np.testing.assert_array_equal(r0.data, body)


def test_gpu_context_kept():
    raw = write([dense(np.ones(3, np.float32), ctx=(2, 3))])
    (rec,), _ = read(raw)
    assert rec.ctx == (2, 3)
    assert write([rec]) == raw


@pytest.mark.parametrize("flag", range(12))
def test_every_type_flag(flag):
    dt = A.flag_to_dtype(flag)
    assert A.dtype_to_flag(dt) == flag
    a = (np.arange(12) % 2).astype(dt).reshape(3, 4)
    raw = write([dense(a)], ["x"])
    assert struct.unpack_from("<i", raw, 24 + 4 + 4 + 4 + 16 + 8)[0] == flag
    (rec,), names = read(raw)
    assert names == ["x"] and rec.dtype == dt
    np.testing.assert_array_equal(rec.data, a)


def test_bfloat16_flag():
    rec = (struct.pack("<Iiiq", A.V2_MAGIC, 0, 1, 2) + struct.pack("<iii", 1, 0, 12)
           + b"\x80\x3f\x00\x40")
    raw = struct.pack("<QQQ", 0x112, 0, 1) + rec
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        with pytest.raises(MXNetError, match=r"t.params: byte \d+: array 0: .*pip install "
                                             "ml_dtypes"):
            read(raw + struct.pack("<Q", 0))
        return
    (rec,), _ = read(raw + struct.pack("<Q", 0))
    assert rec.dtype == A.bfloat16_dtype()
    assert rec.data.astype(np.float32).tolist() == [1.0, 2.0]


def test_big_endian_and_strided_input_written_little_endian_c_order():
    a = np.arange(12, dtype=">f8").reshape(3, 4)[:, ::2]
    (rec,), _ = read(write([dense(a)]))
    assert rec.dtype == np.float64
    np.testing.assert_array_equal(rec.data, a)


def test_none_array_v2_and_v3():
    none = A.ArrayRecord("default", None, np.dtype(np.float32))
    for v3 in (False, True):
        raw = write([none, dense(np.ones(2, np.float32))], np_shape=v3)
        (r0, r1), _ = read(raw)
        assert r0.shape is None and r0.nbytes == 0
        assert r1.shape == (2,)
        assert write([r0, r1], np_shape=v3) == raw


def test_scalar_needs_v3():
    with pytest.raises(MXNetError, match="0-d array"):
        write([dense(np.float32(3))])
    (rec,), _ = read(write([dense(np.float32(3))], np_shape=True))
    assert rec.shape == () and rec.data.tolist() == 3.0


def test_decode_encode_record():
    a = np.arange(6, dtype=np.int64).reshape(3, 2)
    raw = A.encode_record(dense(a))
    rec = A.decode_record(raw, "handle")
    np.testing.assert_array_equal(rec.data, a)
    with pytest.raises(MXNetError, match=r"^handle: byte 12: array 0: shape dims"):
        A.decode_record(raw[:20], "handle")


# ------------------------------------------------------------------------ refusals


def golden_bytes(case: str) -> bytes:
    return (DATA / EXPECT[case]["file"]).read_bytes()


@pytest.mark.parametrize("case", ["list_two", "dict_two", "sparse", "np_semantics", "names",
                                  "dtypes", "edge_shapes"])
def test_truncation_at_every_offset(case):
    raw = golden_bytes(case)
    # every byte for small files; for the 20 KB one every header byte and a stride of the rest
    cuts = range(len(raw)) if len(raw) < 1024 else [*range(600), *range(600, len(raw), 97)]
    for cut in cuts:
        with pytest.raises(MXNetError, match=r"^t\.params: byte \d+"):
            read(raw[:cut])


def test_truncated_unseekable_stream():
    raw = golden_bytes("sparse")
    for cut in range(0, len(raw), 7):
        with pytest.raises(MXNetError, match=r"byte \d+"):
            A.read_list(Unseekable(raw[:cut]), "pipe")
    records, names = A.read_list(Unseekable(raw), "pipe")
    assert names == ["rsp", "csr", "dense"] and records[2].shape == (6, 4)


class Trickle(Unseekable):
    """A pipe that hands out at most 7 bytes per read."""

    def readinto(self, b):
        return self._f.readinto(memoryview(b)[:7])


def test_unknown_size_stream_read_in_bounded_chunks(monkeypatch):
    raw = golden_bytes("edge_shapes")
    want, want_names = read(raw)
    monkeypatch.setattr(A, "_CHUNK", 64)  # so the 20 KB array goes through the chunked path
    got, names = A.read_list(Trickle(raw), "pipe", strict=True)
    assert names == want_names
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a.data, b.data)
        assert b.data.flags.writeable
    with pytest.raises(MXNetError, match=r"pipe: byte \d+: array 2: array data: expected "
                                         r"20004 bytes, file ends after"):
        A.read_list(Trickle(raw[:-100]), "pipe")


def huge_header() -> bytes:
    rec = struct.pack("<IiiqqiiI", A.V2_MAGIC, 0, 2, 1 << 40, 1 << 20, 1, 0, 0)
    raw = struct.pack("<QQQ", 0x112, 0, 1) + rec
    return raw + bytes(100 - len(raw))


def test_lying_header_fails_without_allocating():
    raw = huge_header()
    assert len(raw) == 100
    with pytest.raises(MXNetError, match=r"^big: byte 64: array 0: array data needs "
                                         r"4611686018427387904 bytes but only 36 remain"):
        read(raw, "big")
    with pytest.raises(MXNetError, match=r"array data: expected 4611686018427387904 bytes"):
        A.read_list(Unseekable(raw), "big")


def test_lying_counts():
    with pytest.raises(MXNetError, match=r"18446744073709551615 array records needs"):
        read(struct.pack("<QQQ", 0x112, 0, 2**64 - 1) + bytes(64))
    rec = struct.pack("<Ii", A.V2_MAGIC, 0) + struct.pack("<i", 2**31 - 1)
    with pytest.raises(MXNetError, match=r"byte 36: array 0: shape dims needs 17179869176"):
        read(struct.pack("<QQQ", 0x112, 0, 1) + rec + bytes(16))
    v0 = struct.pack("<I", 0xDEADBEEF)
    with pytest.raises(MXNetError, match=r"array 0: v0 dims .* ndim 3735928559\) needs"):
        read(struct.pack("<QQQ", 0x112, 0, 1) + v0 + bytes(16))
    raw = write([dense(np.ones(2, np.float32))], ["ab"])
    with pytest.raises(MXNetError, match=r"byte 80: name 0 needs 4294967296 bytes"):
        read(raw[:-10] + struct.pack("<Q", 1 << 32) + b"ab")


def test_wrong_list_magic():
    raw = bytearray(golden_bytes("list_two"))
    raw[0] = 0x13
    with pytest.raises(MXNetError, match=r"^t\.params: byte 0: list magic is 0x113; "
                                         r"expected 0x112"):
        read(bytes(raw))


def test_name_count_neither_zero_nor_count():
    raw = golden_bytes("list_two")
    bad = raw[:-8] + struct.pack("<Q", 1) + struct.pack("<Q", 1) + b"a"
    with pytest.raises(MXNetError, match=r"byte 224: name count is 1; expected 0 or the "
                                         r"array count 2"):
        read(bad)


def test_bad_utf8_name():
    raw = write([dense(np.ones(1, np.float32))], ["a"])
    with pytest.raises(MXNetError, match=r"name 0 is not UTF-8"):
        read(raw[:-1] + b"\xff")


@pytest.mark.parametrize("field,offset,value,message", [
    ("stype", 28, 3, r"byte 28: array 0: unknown storage type 3"),
    ("stype", 28, -2, r"byte 28: array 0: unknown storage type -2"),
    ("ndim", 32, -1, r"byte 32: array 0: shape: ndim -1 is negative"),
    ("dim", 36, -4, r"byte 32: array 0: shape: negative dim in \(-4, 5\)"),
    ("dev_type", 52, 9, r"byte 52: array 0: unknown device type 9"),
    ("type flag", 60, 13, r"byte 60: array 0: unknown type flag 13; expected 0-12"),
    ("type flag", 60, -1, r"byte 60: array 0: unknown type flag -1"),
])
def test_bad_fields(field, offset, value, message):
    raw = bytearray(golden_bytes("list_two"))
    fmt = "<q" if field == "dim" else "<i"
    struct.pack_into(fmt, raw, offset, value)
    with pytest.raises(MXNetError, match=message):
        read(bytes(raw))


def test_inconsistent_sparse_shapes():
    def rsp(sshape, ishape, iflag=6):
        rec = (struct.pack("<Ii", A.V2_MAGIC, 1) + A._shape_bytes(sshape) + A._shape_bytes((6, 4))
               + struct.pack("<iii", 1, 0, 0) + struct.pack("<i", iflag) + A._shape_bytes(ishape))
        # values (2 x 4 float32 zeros), then indices 0 and 1 (loads check them: sorted, in range)
        return struct.pack("<QQQ", 0x112, 0, 1) + rec + bytes(32) + struct.pack("<2q", 0, 1) \
            + bytes(1024)

    assert read(rsp((2, 4), (2,)))[0][0].aux[0].shape == (2,)
    with pytest.raises(MXNetError, match=r"byte 24: array 0: expected row_sparse shape \(6, 4\)"
                                         r".*got storage shape \(2, 4\), aux shapes \[\(3,\)\]"):
        read(rsp((2, 4), (3,)))
    with pytest.raises(MXNetError, match=r"got storage shape \(2, 5\)"):
        read(rsp((2, 5), (2,)))
    with pytest.raises(MXNetError, match=r"aux 0 has type float32; expected an integer type"):
        read(rsp((2, 4), (2,), iflag=0))
    raw = bytearray(golden_bytes("sparse"))
    csr_at = raw.index(struct.pack("<Ii", A.V2_MAGIC, 2))
    indptr_dim = csr_at + 4 + 4 + 12 + 20 + 12 + 4 + 4
    assert struct.unpack_from("<q", raw, indptr_dim)[0] == 7
    struct.pack_into("<q", raw, indptr_dim, 6)
    with pytest.raises(MXNetError, match=rf"byte {csr_at}: array 1: expected csr shape"):
        read(bytes(raw))


def test_v3_negative_ndim_other_than_unknown_refused():
    raw = bytearray(golden_bytes("np_semantics"))
    struct.pack_into("<i", raw, 32, -2)
    with pytest.raises(MXNetError, match=r"byte 32: array 0: shape: ndim -2 is negative"):
        read(bytes(raw))


def test_trailing_bytes_ignored_unless_strict():
    raw = golden_bytes("dict_two") + b"garbage"
    records, names = read(raw)  # as MXNet: what follows the names is ignored
    assert names == ["a", "b"] and len(records) == 2
    with pytest.raises(MXNetError, match=r"byte 250: 7 trailing bytes after the names"):
        read(raw, strict=True)
    with pytest.raises(MXNetError, match=r"trailing bytes"):
        A.read_list(Unseekable(raw), "pipe", strict=True)
    assert read(golden_bytes("dict_two"), strict=True)[1] == ["a", "b"]


def test_write_refuses_bad_records():
    with pytest.raises(MXNetError, match=r"^array 1 \('c'\): dtype complex64 has no MXNet "
                                         "type flag"):
        write([dense(np.ones(2, np.float32)), dense(np.ones(2, np.complex64))], ["f", "c"])
    with pytest.raises(MXNetError, match="2 names for 1 arrays"):
        write([dense(np.ones(2, np.float32))], ["a", "b"])
    bad = A.ArrayRecord("row_sparse", (4, 2), np.dtype(np.float32), (1, 0),
                        np.ones((1, 2), np.float32), ())
    with pytest.raises(MXNetError, match="row_sparse array needs 1 aux arrays, got 0"):
        write([bad])


# ------------------------------------------------------------------------ properties

DTYPES = [np.dtype(n) for n in ("float32", "float64", "float16", "uint8", "int32", "int8",
                                "int64", "bool", "int16", "uint16", "uint32", "uint64")]


@st.composite
def dense_records(draw, np_shape):
    ndim = draw(st.integers(0 if np_shape else 1, 4))
    shape = tuple(draw(st.lists(st.integers(0 if np_shape else 1, 4), min_size=ndim,
                                max_size=ndim)))
    dt = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    a = np.random.default_rng(seed).integers(0, 100, size=shape).astype(dt)
    ctx = draw(st.sampled_from([(1, 0), (2, 1), (3, 0), (5, 0)]))
    return dense(a, ctx)


@st.composite
def sparse_records(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    dt = draw(st.sampled_from(DTYPES[:7]))
    mask = np.array(draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)))
    full = np.where(mask, np.arange(1, rows * cols + 1), 0).astype(dt).reshape(rows, cols)
    if draw(st.booleans()):
        idx = np.flatnonzero(full.any(axis=1)).astype(np.int64)
        return A.ArrayRecord("row_sparse", (rows, cols), full.dtype, (1, 0), full[idx], (idx,))
    r, c = np.nonzero(full)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=rows))]).astype(np.int64)
    return A.ArrayRecord("csr", (rows, cols), full.dtype, (1, 0), full[r, c],
                         (indptr, c.astype(np.int64)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans(), st.data())
def test_roundtrip_property(np_shape, data):
    recs = data.draw(st.lists(st.one_of(dense_records(np_shape), sparse_records()), max_size=5))
    names = data.draw(st.one_of(st.none(), st.lists(st.text(max_size=8), min_size=len(recs),
                                                    max_size=len(recs))))
    if not recs:
        names = None
    raw = write(recs, names, np_shape)
    got, got_names = read(raw, strict=True)
    assert got_names == (names or None)
    for a, b in zip(recs, got):
        assert (b.stype, b.shape, b.dtype, b.ctx) == (a.stype, a.shape, a.dtype, a.ctx)
        assert b.magic == (A.V3_MAGIC if np_shape else A.V2_MAGIC)
        np.testing.assert_array_equal(b.data, a.data)
        for x, y in zip(a.aux, b.aux):
            np.testing.assert_array_equal(x, y)
    assert write(got, got_names, np_shape) == raw
    got2, _ = A.read_list(Unseekable(raw), "pipe")
    assert [r.shape for r in got2] == [r.shape for r in recs]
