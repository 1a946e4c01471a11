"""Hostile NDArray files: every loader refuses damaged bytes with an MXNetError naming the file
and byte offset, never another exception, and ``mx.model.verify`` agrees with the loaders.

Deterministic mutations of the golden files in ``tests/data/ndarray`` (truncation at every
offset, header fields set to 0 / 2**31-1 / 2**32-1 / 2**63-1 / -1, seeded byte flips) run
through the harness of :mod:`mxlite.formats._fuzz`; the longer campaign is
``benchmarks/fuzz_campaign.py``.
"""

from __future__ import annotations

import io
import random
import re
import struct
import tracemalloc

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import _fuzz as F
from mxlite.formats import arrays as A
from mxlite.ndarray import sparse

GOLDEN = ["dict_two", "list_two", "sparse", "np_semantics", "dtypes"]
CHEAP = ["nd.load_frombuffer", "nd.load(pipe)"]  # in memory: every mutation
ON_DISK = ["nd.load", "nd.load(mmap)", "nd.load(keys)", "nd.open", "model.verify(arrays)",
           "model.load_checkpoint(params)"]


def golden(name: str) -> bytes:
    return (DATA / "ndarray" / f"{name}.params").read_bytes()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    return F.Harness(tmp_path_factory.mktemp("fuzz"))


def assert_kept(harness, entries, mutations) -> dict:
    """No mutation escapes; counts of outcomes per entry point."""
    counts: dict = {}
    for label, data in mutations:
        for entry in entries:
            out = harness.run(entry, data)
            assert out.kind != "escape", f"{entry} on {label}: {out.detail}"
            if entry == "nd.load_frombuffer" and out.kind == "refused":
                # the file and the byte offset are named
                assert re.match(r"<buffer>: byte \d+: ", out.detail), out.detail
            counts[entry, out.kind] = counts.get((entry, out.kind), 0) + 1
    return counts


@pytest.mark.parametrize("name", GOLDEN)
def test_truncated_at_every_offset(harness, name):
    data = golden(name)
    counts = assert_kept(harness, CHEAP, F.truncations(data))
    # MXNet ignores what follows the names: only cuts inside the content are refused
    assert counts[("nd.load_frombuffer", "refused")] == len(data)


@pytest.mark.parametrize("name", ["sparse", "dict_two"])
def test_truncated_on_disk_every_loader(harness, name):
    data = golden(name)
    harness.keys = list(mx.nd.load_frombuffer(data))
    try:
        counts = assert_kept(harness, ON_DISK, F.truncations(data, step=3))
    finally:
        harness.keys = []
    assert counts.get(("model.verify(arrays)", "ok"), 0) == 0


@pytest.mark.parametrize("name", GOLDEN)
def test_header_fields_set_to_extremes(harness, name):
    data = golden(name)
    muts = list(F.field_mutations(data, F.array_header_offsets(data)))
    assert len(muts) > 900
    muts = muts[::len(muts) // 900]  # the bigger files' repeated records: a sample
    assert_kept(harness, CHEAP, muts)
    assert_kept(harness, ["model.verify(arrays)", "nd.load(mmap)"], muts[::10])


@pytest.mark.parametrize("name", GOLDEN)
def test_byte_flips(harness, name):
    data = golden(name)
    muts = list(F.byte_flips(data, random.Random(name), 120))
    assert_kept(harness, CHEAP, muts)
    assert_kept(harness, ["model.verify(arrays)"], muts[::6])


def test_lying_header_costs_no_memory():
    """A header claiming a huge array is refused before anything of its size is allocated."""
    data = golden("sparse")
    muts = [m for _, m in F.field_mutations(data, F.array_header_offsets(data))]
    tracemalloc.start()
    try:
        worst = 0
        for m in muts[::3]:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            try:
                mx.nd.load_frombuffer(m)
            except MXNetError:
                pass
            worst = max(worst, tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    assert worst < len(data) + (1 << 20)


# ----------------------------------------------------------------------------- sparse content


def sparse_file(arr) -> bytes:
    buf = io.BytesIO()
    mx.nd.save(buf, {"s": arr})
    return buf.getvalue()


def patched(data: bytes, old: np.ndarray, new: np.ndarray) -> bytes:
    raw = old.astype("<i8").tobytes()
    assert data.count(raw) == 1
    return data.replace(raw, new.astype("<i8").tobytes())


def rsp():
    return sparse.row_sparse_array((np.ones((3, 2), np.float32), np.array([1, 3, 4])),
                                   shape=(6, 2))


def csr():
    dense = np.array([[0, 5, 0, 7], [0, 0, 0, 0], [1, 0, 2, 0]], np.float32)
    return sparse.csr_matrix(dense)


@pytest.mark.parametrize("make,old,new,message", [
    (rsp, [1, 3, 4], [1, 4, 3], r"row_sparse indices must be strictly increasing; "
                                r"indices\[1\] = 4 is followed by 3"),
    (rsp, [1, 3, 4], [1, 3, 3], r"row_sparse indices must be strictly increasing; "
                                r"indices\[1\] = 3 is followed by 3"),
    (rsp, [1, 3, 4], [1, 3, 6], r"row_sparse index 6 is out of range for 6 rows"),
    (rsp, [1, 3, 4], [-1, 3, 4], r"row_sparse index -1 is out of range for 6 rows"),
    (csr, [0, 2, 2, 4], [0, 3, 2, 4], r"csr indptr must be non-decreasing; indptr\[1\] = 3 "
                                      r"is followed by 2"),
    (csr, [0, 2, 2, 4], [1, 2, 2, 4], r"csr indptr must run from 0 to the 4 stored values; "
                                      r"it runs from 1 to 4"),
    (csr, [0, 2, 2, 4], [0, 2, 2, 3], r"csr indptr must run from 0 to the 4 stored values; "
                                      r"it runs from 0 to 3"),
    (csr, [1, 3, 0, 2], [1, 4, 0, 2], r"csr column index 4 is out of range for 4 columns"),
    (csr, [1, 3, 0, 2], [3, 1, 0, 2], r"csr column indices of row 0 must be strictly "
                                      r"increasing; indices\[0\] = 3 is followed by 1"),
    (csr, [1, 3, 0, 2], [1, 3, 2, 2], r"csr column indices of row 2 must be strictly "
                                      r"increasing; indices\[2\] = 2 is followed by 2"),
])
def test_sparse_index_arrays_checked_at_load(tmp_path, make, old, new, message):
    good = sparse_file(make())
    bad = patched(good, np.array(old), np.array(new))
    # the golden order: row boundaries may hold a decrease (row 0 ends with 3, row 2 starts 0)
    assert mx.nd.load_frombuffer(good)["s"].asnumpy().shape == make().shape
    with pytest.raises(MXNetError, match=r"^<buffer>: byte 24: array 0: " + message):
        mx.nd.load_frombuffer(bad)
    p = tmp_path / "bad.params"
    p.write_bytes(bad)
    for load in (lambda: mx.nd.load(str(p)), lambda: mx.nd.load(str(p), mmap=True),
                 lambda: mx.nd.load(str(p), keys=["s"]),
                 lambda: mx.nd.open(str(p))["s"].read()):
        with pytest.raises(MXNetError, match=rf"^{re.escape(str(p))}: byte 24: array 0: "):
            load()
    problems = mx.model.verify(str(p))
    assert len(problems) == 1 and re.search(message, problems[0]), problems


def test_unsigned_index_types_cannot_wrap():
    arr = sparse.CSRNDArray(np.ones(2, np.float32), np.array([0, 2, 1], np.uint64),
                            np.array([0, 1], np.uint64), (2, 2))
    rec = A.ArrayRecord("csr", (2, 2), np.dtype(np.float32), data=arr._data, aux=arr._aux)
    buf = io.BytesIO()
    A.write_list(buf, [rec])
    with pytest.raises(MXNetError, match=r"indptr must run from 0 to the 2 stored values; "
                                         r"it runs from 0 to 1"):
        mx.nd.load_frombuffer(buf.getvalue())


def test_huge_logical_sparse_shape_loads_and_refuses_to_densify():
    """A sparse array may be logically far larger than memory: it loads, and densifying
    it is an MXNetError, not a MemoryError."""
    big = sparse.RowSparseNDArray(np.ones((1, 2), np.float32), np.array([7]), (2**62, 2))
    got = mx.nd.load_frombuffer(sparse_file(big))["s"]
    assert got.shape == (2**62, 2) and got.indices.asnumpy().tolist() == [7]
    with pytest.raises(MXNetError, match=r"cannot densify a row_sparse array of shape "
                                         r"\(4611686018427387904, 2\)"):
        got.asnumpy()


# ----------------------------------------------------------------------------- dense shapes


def one_record(dims, magic=A.V2_MAGIC, data=b"") -> bytes:
    rec = struct.pack("<Ii", magic, 0) + struct.pack("<i", len(dims)) + \
        np.asarray(dims, "<i8").tobytes() + struct.pack("<iii", 1, 0, 0)
    return struct.pack("<QQQ", 0x112, 0, 1) + rec + data + struct.pack("<Q", 0)


def test_zero_size_array_with_dims_numpy_cannot_hold():
    with pytest.raises(MXNetError, match=r"^<buffer>: byte 24: array 0: array data: shape "
                                         r"\(0, 9223372036854775807\) of float32 holds more "
                                         r"bytes than an array can"):
        mx.nd.load_frombuffer(one_record([0, 2**63 - 1]))
    assert mx.nd.load_frombuffer(one_record([0, 2**40]))[0].shape == (0, 2**40)


def test_more_dims_than_numpy_holds():
    with pytest.raises(MXNetError, match=r"^<buffer>: byte 32: array 0: shape: ndim 33; "
                                         r"expected at most 32"):
        mx.nd.load_frombuffer(one_record([0] * 33))
    v0 = struct.pack("<I", 40) + bytes(40 * 4)
    with pytest.raises(MXNetError, match=r"record magic 0x28 is none of V1-V3 .* nor a legacy "
                                         r"v0 ndim \(at most 32\)"):
        mx.nd.load_frombuffer(struct.pack("<QQQ", 0x112, 0, 1) + v0 + bytes(64))
