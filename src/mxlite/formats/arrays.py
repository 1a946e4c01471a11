"""MXNet's NDArray list files and array records, as bytes <-> numpy (no mxlite.ndarray here).

Layout (FORMATS.md sections 1 and 2): a list file is ``uint64 0x112, uint64 0, uint64 count``,
``count`` array records, then ``uint64 name count`` (0 or ``count``) and the names, each a
``uint64`` length and UTF-8 bytes. A record is V2 (``0xF993FAC9``, what MXNet 1.x writes), V3
(``0xF993FACA``, numpy-shape semantics), V1 (``0xF993FAC8``, dense only) or the pre-magic v0
layout whose first ``uint32`` is the number of dims.

Reading streams: headers come from small reads; array bytes are read with one ``readinto``
into a preallocated ``np.empty`` buffer. Every length in a header is checked against the bytes
that remain before anything is allocated, so a lying header fails at once with an
:class:`~mxlite.base.MXNetError` naming the file, byte offset, array index and what was
expected. Streams whose size cannot be known are read in bounded chunks for the same reason.
Shapes numpy cannot hold (more than 32 dims, zero-size arrays whose other dims overflow) are
refused, and a sparse record's index arrays are checked as they are read (in range, sorted,
``indptr`` monotone: :func:`sparse_problem`), so what loads can be used.

MXNet ignores whatever follows the names; so does :func:`read_list` unless ``strict=True``
(which a verifier uses to refuse trailing bytes).

:func:`scan_list` reads and checks the same headers but skips the array bytes, giving a
:class:`ListIndex` of where every array lies: what ``mx.nd.load(keys=...)``, memory-mapped
loads and ``mx.nd.open`` build on.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from ..base import MXNetError, NotSupportedError

__all__ = ["ArrayRecord", "RecordIndex", "ListIndex", "encode_record", "decode_record",
           "read_list", "scan_list", "write_list", "list_parts", "sparse_problem",
           "bfloat16_dtype", "dtype_to_flag", "flag_to_dtype", "LIST_MAGIC",
           "V1_MAGIC", "V2_MAGIC", "V3_MAGIC", "STYPES", "DEV_TYPES"]

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

STYPES = ("default", "row_sparse", "csr")  # index = MXNet's storage type id
_NUM_AUX = {"default": 0, "row_sparse": 1, "csr": 2}
DEV_TYPES = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}

# Type flags 0-11; 12 (bfloat16) comes from ml_dtypes, looked up only when met.
_FLAG_DTYPES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool",
                "int16", "uint16", "uint32", "uint64")
_BFLOAT16_FLAG = 12
_DTYPE_FLAGS = {np.dtype(n): i for i, n in enumerate(_FLAG_DTYPES)}

# numpy (1.x) holds at most 32 dims, and an array's bytes, zero-size dims aside, must be
# countable in an intp: larger shapes are refused before numpy is asked for them.
_MAX_NDIM = 32
_MAX_BYTES = int(np.iinfo(np.intp).max)

# A stream of unknown size is read this many bytes at a time, so a header claiming more bytes
# than the stream holds costs at most one chunk before it is found out.
_CHUNK = 16 << 20
_FIRST_CHUNK = 64 << 10  # and the first such read is this small, then doubles

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I32x2 = struct.Struct("<ii")
_LIST_HEADER = struct.Struct("<QQQ")


def bfloat16_dtype() -> np.dtype:
    """numpy's view of MXNet's bfloat16 (type flag 12), from the optional ``ml_dtypes``."""
    try:
        import ml_dtypes
    except ImportError:
        raise NotSupportedError("bfloat16 arrays (type flag 12) need the ml_dtypes package: "
                                "pip install ml_dtypes") from None
    return np.dtype(ml_dtypes.bfloat16)


def flag_to_dtype(flag: int) -> np.dtype:
    """The numpy dtype of an MXNet type flag; MXNetError for an unknown flag."""
    if 0 <= flag < len(_FLAG_DTYPES):
        return np.dtype(_FLAG_DTYPES[flag])
    if flag == _BFLOAT16_FLAG:
        return bfloat16_dtype()
    raise MXNetError(f"unknown type flag {flag}; expected 0-12")


def dtype_to_flag(dtype) -> int:
    """MXNet's type flag for a numpy dtype; MXNetError for a dtype MXNet has no flag for."""
    dt = np.dtype(dtype)
    flag = _DTYPE_FLAGS.get(dt.newbyteorder("=") if dt.byteorder in "<>" else dt)
    if flag is not None:
        return flag
    if dt.name == "bfloat16":
        return _BFLOAT16_FLAG
    raise MXNetError(f"dtype {dt} has no MXNet type flag; expected one of "
                     f"{', '.join(_FLAG_DTYPES)}, bfloat16")


@dataclass
class ArrayRecord:
    """One array as stored in a record.

    ``shape`` is the logical shape (``None`` for MXNet's "none" array); ``data`` holds the
    values, in ``shape`` when dense and in the storage shape when sparse; ``aux`` holds
    ``(indices,)`` for row_sparse and ``(indptr, indices)`` for csr. ``ctx`` is
    ``(dev_type, dev_id)``; ``magic`` the record version it was read from (0 for v0).
    """

    stype: str
    shape: tuple | None
    dtype: np.dtype
    ctx: tuple[int, int] = (1, 0)
    data: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    aux: tuple[np.ndarray, ...] = ()
    magic: int = V2_MAGIC

    @property
    def nbytes(self) -> int:
        """Bytes of values plus aux arrays, as stored."""
        if self.shape is None:
            return 0
        return int(self.data.nbytes) + sum(int(a.nbytes) for a in self.aux)


# ----------------------------------------------------------------------------- reading


class _Reader:
    """Reads a binary stream, tracking the offset and, where knowable, the bytes left."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream = stream
        self.name = name or "<stream>"
        self.pos = 0
        self.end: int | None = None
        self.index: int | None = None  # array being read, for messages
        try:
            if stream.seekable():
                start = stream.tell()
                self.end = stream.seek(0, os.SEEK_END) - start
                stream.seek(start)
        except (OSError, AttributeError, ValueError):
            self.end = None

    def fail(self, what: str, at: int | None = None, cls: type = MXNetError) -> MXNetError:
        where = f"{self.name}: byte {self.pos if at is None else at}"
        if self.index is not None:
            where += f": array {self.index}"
        return cls(f"{where}: {what}")

    def remaining(self) -> int | None:
        return None if self.end is None else self.end - self.pos

    def check_room(self, nbytes: int, what: str) -> None:
        left = self.remaining()
        if left is not None and nbytes > left:
            raise self.fail(f"{what} needs {nbytes} bytes but only {left} remain "
                            "(truncated or corrupt file)")

    def _fill(self, view: memoryview, what: str) -> None:
        got = 0
        total = len(view)
        while got < total:
            n = self.stream.readinto(view[got:])
            if not n:
                raise self.fail(f"{what}: expected {total} bytes, file ends after {got}")
            got += n
        self.pos += total

    def read(self, nbytes: int, what: str) -> bytes:
        """A small read (headers): exactly ``nbytes`` bytes or MXNetError."""
        self.check_room(nbytes, what)
        if nbytes <= (_CHUNK if self.end is not None else _FIRST_CHUNK):
            data = self.stream.read(nbytes)
            while 0 < len(data) < nbytes:  # raw streams (pipes) may return short reads
                more = self.stream.read(nbytes - len(data))
                if not more:
                    break
                data += more
            if len(data) != nbytes:
                raise self.fail(f"{what}: expected {nbytes} bytes, file ends after {len(data)}")
            self.pos += nbytes
            return data
        return self.array(nbytes, np.dtype(np.uint8), (nbytes,), what).tobytes()

    def skip(self, nbytes: int, what: str) -> None:
        """Pass over ``nbytes`` (array data) without keeping them; seeks when it can."""
        self.check_room(nbytes, what)
        if self.end is not None:
            self.stream.seek(nbytes, os.SEEK_CUR)
            self.pos += nbytes
            return
        left = nbytes
        step = _FIRST_CHUNK
        while left:
            part = self.stream.read(min(step, left))
            step = min(2 * step, _CHUNK)
            if not part:
                raise self.fail(f"{what}: expected {nbytes} bytes, file ends after "
                                f"{nbytes - left}")
            left -= len(part)
        self.pos += nbytes

    def unpack(self, st: struct.Struct, what: str) -> tuple:
        return st.unpack(self.read(st.size, what))

    def array(self, count: int, dtype: np.dtype, shape: tuple, what: str) -> np.ndarray:
        """``count`` items of ``dtype`` read straight into a new array of ``shape``."""
        nbytes = count * dtype.itemsize
        self.check_room(nbytes, what)
        if self.end is not None or nbytes <= _FIRST_CHUNK:
            out = np.empty(shape, dtype)
            if nbytes:
                self._fill(memoryview(out.reshape(-1).view(np.uint8)), what)
            return out
        # Size unknown: only grow as fast as bytes actually arrive, asking for twice what
        # came so far (a stream's read(n) allocates n before it knows what exists).
        buf = bytearray()
        step = _FIRST_CHUNK
        while len(buf) < nbytes:
            part = self.stream.read(min(step, nbytes - len(buf)))
            if not part:
                raise self.fail(f"{what}: expected {nbytes} bytes, file ends after {len(buf)}")
            buf += part
            step = min(2 * step, _CHUNK)
        self.pos += nbytes
        return np.frombuffer(buf, dtype).reshape(shape)


def _read_shape(r: _Reader, what: str, allow_unknown: bool) -> tuple | None:
    """TShape: int32 ndim, ndim x int64. ``None`` for ndim -1 when ``allow_unknown``."""
    at = r.pos
    (ndim,) = r.unpack(_I32, f"{what} ndim")
    if ndim < 0:
        if ndim == -1 and allow_unknown:
            return None
        raise r.fail(f"{what}: ndim {ndim} is negative; expected >= 0", at)
    dims = r.array(ndim, np.dtype("<i8"), (ndim,), f"{what} dims")
    if ndim > _MAX_NDIM:
        raise r.fail(f"{what}: ndim {ndim}; expected at most {_MAX_NDIM}", at)
    if (dims < 0).any():
        raise r.fail(f"{what}: negative dim in {tuple(dims.tolist())}; expected dims >= 0", at)
    return tuple(int(d) for d in dims)


def _read_ctx_flag(r: _Reader) -> tuple[tuple[int, int], np.dtype, int]:
    at = r.pos
    dev_type, dev_id = r.unpack(_I32x2, "context")
    if dev_type not in DEV_TYPES:
        raise r.fail(f"unknown device type {dev_type}; expected one of {sorted(DEV_TYPES)}", at)
    at = r.pos
    (flag,) = r.unpack(_I32, "type flag")
    try:
        dtype = flag_to_dtype(flag)
    except MXNetError as e:
        raise r.fail(str(e), at, type(e)) from None
    return (dev_type, dev_id), dtype, flag


def _check_sparse(r: _Reader, stype: str, shape: tuple, sshape: tuple, aux_meta: list,
                  at: int) -> None:
    """Storage and aux shapes must fit together, as MXNet's sparse constructors require."""
    if stype == "row_sparse":
        want = [(sshape[:1],)] if sshape and sshape[1:] == shape[1:] else None
        what = (f"row_sparse shape {shape}: storage shape (rows, *shape[1:]) and indices "
                "shape (rows,)")
    else:
        want = [((shape[0] + 1,),), (sshape,)] if len(shape) == 2 and len(sshape) == 1 \
            else None
        what = (f"csr shape {shape}: 2-d, storage shape (nnz,), indptr shape (rows + 1,) and "
                "indices shape (nnz,)")
    got = [(s,) for _, s in aux_meta]
    if want != got:
        raise r.fail(f"expected {what}; got storage shape {sshape}, aux shapes "
                     f"{[s for _, s in aux_meta]}", at)
    for i, (t, _) in enumerate(aux_meta):
        if t.kind not in "iu":
            raise r.fail(f"aux {i} has type {t}; expected an integer type", at)


@dataclass
class RecordIndex:
    """Where one record lies in a file, learnt from its header alone (no array bytes read).

    ``parts`` holds ``(offset, dtype, shape)`` of the data array then each aux array, in file
    order; ``offset`` and ``end`` bound the whole record. ``shape`` is the logical shape
    (``None`` for the "none" array, which has no parts).
    """

    stype: str
    shape: tuple | None
    dtype: np.dtype
    ctx: tuple[int, int]
    magic: int
    offset: int
    end: int
    parts: tuple[tuple[int, np.dtype, tuple], ...] = ()

    @property
    def nbytes(self) -> int:
        """Bytes of values plus aux arrays, as stored."""
        return sum(math.prod(s) * t.itemsize for _, t, s in self.parts)

    def record(self, arrays: Sequence[np.ndarray], name: str = "",
               index: int | None = None) -> ArrayRecord:
        """The :class:`ArrayRecord` whose part arrays (data, then aux) are ``arrays``.

        A sparse record's index arrays are checked here, as MXNet's ``check_format`` checks
        them; a bad one is an MXNetError naming ``name`` (the file), the record's offset and
        ``index`` (its position in the file).
        """
        if self.shape is None:
            return ArrayRecord(self.stype, None, np.dtype(np.float32), magic=self.magic)
        if self.stype != "default":
            problem = sparse_problem(self.stype, self.shape, arrays[0].shape[0], arrays[1:])
            if problem:
                where = f"{name or '<stream>'}: byte {self.offset}"
                if index is not None:
                    where += f": array {index}"
                raise MXNetError(f"{where}: {problem}")
        return ArrayRecord(self.stype, self.shape, self.dtype, self.ctx, arrays[0],
                           tuple(arrays[1:]), self.magic)


def _first_false(ok: np.ndarray) -> int:
    return int(np.argmin(ok))


def sparse_problem(stype: str, shape: tuple, nnz: int,
                   aux: Sequence[np.ndarray]) -> str | None:
    """What is wrong with a sparse array's index arrays (None: nothing); ``nnz`` is the
    number of values (rows, for row_sparse) stored.

    As MXNet's ``check_format``: row_sparse ``indices`` strictly increasing within
    ``[0, shape[0])``; csr ``indptr`` starting at 0, non-decreasing and ending at the number
    of stored values, and each row's column ``indices`` strictly increasing within
    ``[0, shape[1])``. Shapes are assumed consistent (the record header checked them). Every
    test is one vectorised pass; comparisons, not differences, so unsigned types cannot wrap.
    """
    if stype == "row_sparse":
        (idx,) = aux
        if idx.size > 1:
            ok = idx[1:] > idx[:-1]
            if not ok.all():
                k = _first_false(ok)
                return (f"row_sparse indices must be strictly increasing; indices[{k}] = "
                        f"{idx[k]} is followed by {idx[k + 1]}")
        if idx.size and (idx[0] < 0 or idx[-1] >= shape[0]):
            bad = idx[0] if idx[0] < 0 else idx[-1]
            return f"row_sparse index {bad} is out of range for {shape[0]} rows"
        return None
    indptr, idx = aux
    if indptr[0] != 0 or indptr[-1] != nnz:
        return (f"csr indptr must run from 0 to the {nnz} stored values; it runs from "
                f"{indptr[0]} to {indptr[-1]}")
    if indptr.size > 2:
        ok = indptr[1:] >= indptr[:-1]
        if not ok.all():
            k = _first_false(ok)
            return (f"csr indptr must be non-decreasing; indptr[{k}] = {indptr[k]} is "
                    f"followed by {indptr[k + 1]}")
    if nnz > 1:
        ok = idx[1:] > idx[:-1]
        starts = indptr[1:-1]
        ok[starts[(starts > 0) & (starts < nnz)].astype(np.intp) - 1] = True  # row boundaries
        if not ok.all():
            k = _first_false(ok)
            row = int(np.searchsorted(indptr, k, side="right")) - 1
            return (f"csr column indices of row {row} must be strictly increasing; "
                    f"indices[{k}] = {idx[k]} is followed by {idx[k + 1]}")
    if nnz:
        # each row is increasing: its first and last index bound it
        full = indptr[:-1] < indptr[1:]
        lo = idx[indptr[:-1][full].astype(np.intp)].min()
        hi = idx[indptr[1:][full].astype(np.intp) - 1].max()
        if lo < 0 or hi >= shape[1]:
            return f"csr column index {lo if lo < 0 else hi} is out of range for {shape[1]} columns"
    return None


@dataclass
class ListIndex:
    """A list file's records (:class:`RecordIndex`), names (or None) and its end offset."""

    records: list[RecordIndex]
    names: list[str] | None
    end: int


_PART_LABELS = ("array data", "aux 0 data", "aux 1 data")


def _read_head(r: _Reader) -> RecordIndex:
    """One record's header; leaves ``r`` at the record's first array byte."""
    start = r.pos
    (magic,) = r.unpack(_U32, "record magic")
    if magic in (V2_MAGIC, V3_MAGIC):
        v3 = magic == V3_MAGIC
        at = r.pos
        (stype_id,) = r.unpack(_I32, "storage type")
        if not 0 <= stype_id < len(STYPES):
            raise r.fail(f"unknown storage type {stype_id}; expected 0 (default), "
                         "1 (row_sparse) or 2 (csr)", at)
        stype = STYPES[stype_id]
        nad = _NUM_AUX[stype]
        sshape = _read_shape(r, "storage shape", allow_unknown=False) if nad else None
        shape = _read_shape(r, "shape", allow_unknown=v3)
        if shape is None or (not v3 and len(shape) == 0):
            return RecordIndex(stype, None, np.dtype(np.float32), (1, 0), magic, start, r.pos)
        ctx, dtype, _ = _read_ctx_flag(r)
        aux_meta = []
        for i in range(nad):
            at = r.pos
            (aflag,) = r.unpack(_I32, f"aux {i} type flag")
            try:
                adtype = flag_to_dtype(aflag)
            except MXNetError as e:
                raise r.fail(f"aux {i}: {e}", at, type(e)) from None
            ashape = _read_shape(r, f"aux {i} shape", allow_unknown=False)
            aux_meta.append((adtype, ashape))
        if nad:
            _check_sparse(r, stype, shape, sshape, aux_meta, start)
        metas = [(dtype, sshape if nad else shape), *aux_meta]
    else:
        if magic == V1_MAGIC:
            shape = _read_shape(r, "shape", allow_unknown=False)
        else:
            # v0: the "magic" was the number of dims, each dim a uint32.
            ndim = magic
            dims = r.array(ndim, np.dtype("<u4"), (ndim,), "v0 dims (no record magic: legacy "
                           f"pre-magic layout with ndim {ndim})")
            if ndim > _MAX_NDIM:
                raise r.fail(f"record magic {magic:#x} is none of V1-V3 ({V1_MAGIC:#x}-"
                             f"{V3_MAGIC:#x}), nor a legacy v0 ndim (at most {_MAX_NDIM})",
                             start)
            shape = tuple(int(d) for d in dims)
        magic = V1_MAGIC if magic == V1_MAGIC else 0
        stype = "default"
        if len(shape) == 0:
            return RecordIndex(stype, None, np.dtype(np.float32), (1, 0), magic, start, r.pos)
        ctx, dtype, _ = _read_ctx_flag(r)
        metas = [(dtype, shape)]
    parts = []
    at = r.pos
    for t, s in metas:
        parts.append((at, t, s))
        at += math.prod(s) * t.itemsize
    return RecordIndex(stype, shape, dtype, ctx, magic, start, at, tuple(parts))


def _check_fits(r: _Reader, head: RecordIndex) -> None:
    """numpy must be able to hold each part: zero-size dims aside, its bytes fit an intp."""
    for i, (_, t, s) in enumerate(head.parts):
        if math.prod([d for d in s if d]) * t.itemsize > _MAX_BYTES:
            raise r.fail(f"{_PART_LABELS[i]}: shape {s} of {t} holds more bytes than an array "
                         f"can ({_MAX_BYTES})", head.offset)


def _read_record(r: _Reader) -> ArrayRecord:
    head = _read_head(r)
    _check_fits(r, head)
    return head.record([r.array(math.prod(s), t, s, _PART_LABELS[i])
                        for i, (_, t, s) in enumerate(head.parts)], r.name, r.index)


def _skip_record(r: _Reader, check_sparse: bool = False) -> RecordIndex:
    head = _read_head(r)
    for i, (_, t, s) in enumerate(head.parts):
        if check_sparse and i:  # a sparse record's index arrays: read and checked
            aux = [r.array(math.prod(s), t, s, _PART_LABELS[k])
                   for k, (_, t, s) in enumerate(head.parts[1:], 1)]
            problem = sparse_problem(head.stype, head.shape, head.parts[0][2][0], aux)
            if problem:
                raise r.fail(problem, head.offset)
            break
        r.skip(math.prod(s) * t.itemsize, _PART_LABELS[i])
    return head


def decode_record(buf, where: str = "") -> ArrayRecord:
    """One record from bytes-like ``buf`` (a pickled NDArray's ``handle``); bytes after it are
    ignored, as MXNet does."""
    r = _Reader(io.BytesIO(buf), where or "<array record>")
    r.index = 0
    return _read_record(r)


def _walk(stream: BinaryIO, name: str, strict: bool, per_record) -> tuple[list, list | None,
                                                                          int]:
    r = _Reader(stream, name)
    magic, _reserved, count = r.unpack(_LIST_HEADER, "list header (magic, reserved, count)")
    if magic != LIST_MAGIC:
        raise r.fail(f"list magic is {magic:#x}; expected {LIST_MAGIC:#x} (not an MXNet "
                     "NDArray file)", 0)
    # Every record takes at least 4 bytes, so a count is checked before anything is built.
    r.check_room(4 * count, f"{count} array records")
    records = []
    for i in range(count):
        r.index = i
        records.append(per_record(r))
    for i, rec in enumerate(records):  # what scanning skipped, before anyone allocates
        if isinstance(rec, RecordIndex):
            r.index = i
            _check_fits(r, rec)
    r.index = None
    at = r.pos
    (nnames,) = r.unpack(_U64, "name count")
    if nnames not in (0, count):
        raise r.fail(f"name count is {nnames}; expected 0 or the array count {count}", at)
    names = None
    if nnames:
        names = []
        for i in range(nnames):
            at = r.pos
            (n,) = r.unpack(_U64, f"name {i} length")
            raw = r.read(n, f"name {i}")
            try:
                names.append(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                raise r.fail(f"name {i} is not UTF-8 ({e.reason})", at) from None
    if strict:
        extra = r.remaining()
        if extra is None:
            extra = len(stream.read(1))
        if extra:
            raise r.fail(f"{extra} trailing bytes after the names; expected end of file")
    return records, names, r.pos


def read_list(stream: BinaryIO, name: str = "", strict: bool = False
              ) -> tuple[list[ArrayRecord], list[str] | None]:
    """Read an NDArray list file from ``stream``: ``(records, names or None)``.

    ``name`` labels error messages (the file's path). ``strict`` also refuses bytes after the
    names, which MXNet itself ignores.
    """
    records, names, _ = _walk(stream, name, strict, _read_record)
    return records, names


def scan_list(stream: BinaryIO, name: str = "", strict: bool = False,
              check_sparse: bool = False) -> ListIndex:
    """Index an NDArray list file without reading its arrays: every header is read and checked
    as :func:`read_list` checks it, array bytes are skipped (seeked over when ``stream`` can
    seek). With ``strict`` trailing bytes are refused; with ``check_sparse`` the index arrays
    of sparse records are read and checked as loading checks them (values still skipped).
    Offsets are relative to where ``stream`` stood."""
    per_record = _skip_record
    if check_sparse:
        def per_record(r: _Reader) -> RecordIndex:
            return _skip_record(r, True)
    records, names, end = _walk(stream, name, strict, per_record)
    return ListIndex(records, names, end)


# ----------------------------------------------------------------------------- writing


def _shape_bytes(shape: Sequence[int]) -> bytes:
    return _I32.pack(len(shape)) + np.asarray(shape, dtype="<i8").tobytes()


def _le_bytes(arr: np.ndarray) -> memoryview:
    """A byte view of ``arr`` as little-endian C order, copying only when it must."""
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    return memoryview(arr.reshape(-1).view(np.uint8))


def _record_parts(rec: ArrayRecord, np_shape: bool) -> list:
    """The pieces of one record: a header ``bytes`` then byte views of the arrays."""
    magic = V3_MAGIC if np_shape else V2_MAGIC
    if rec.stype not in _NUM_AUX:
        raise MXNetError(f"unknown storage type {rec.stype!r}; expected one of {STYPES}")
    head = [_U32.pack(magic), _I32.pack(STYPES.index(rec.stype))]
    nad = _NUM_AUX[rec.stype]
    if rec.shape is None:
        if nad:
            head.append(_shape_bytes(()))
        head.append(_I32.pack(-1) if np_shape else _shape_bytes(()))
        return [b"".join(head)]
    if not np_shape and len(rec.shape) == 0:
        raise MXNetError("a 0-d array can only be saved with numpy-shape semantics (V3 records); "
                         "use mx.util.np_shape(True) or reshape it to (1,)")
    if len(rec.aux) != nad:
        raise MXNetError(f"{rec.stype} array needs {nad} aux arrays, got {len(rec.aux)}")
    data = np.asarray(rec.data)
    if nad:
        head.append(_shape_bytes(data.shape))
    elif tuple(data.shape) != tuple(rec.shape):
        raise MXNetError(f"record data has shape {data.shape}; expected {tuple(rec.shape)}")
    head.append(_shape_bytes(rec.shape))
    head.append(_I32x2.pack(*rec.ctx))
    head.append(_I32.pack(dtype_to_flag(data.dtype)))
    for a in rec.aux:
        head.append(_I32.pack(dtype_to_flag(a.dtype)))
        head.append(_shape_bytes(a.shape))
    return [b"".join(head), _le_bytes(data), *(_le_bytes(np.asarray(a)) for a in rec.aux)]


def encode_record(rec: ArrayRecord, np_shape: bool = False) -> bytes:
    """One record as bytes: V3 when ``np_shape``, else V2 (what MXNet 1.x writes)."""
    return b"".join(_record_parts(rec, np_shape))


def list_parts(records: Sequence[ArrayRecord], names: Sequence[str] | None = None,
               np_shape: bool = False) -> Iterator[bytes | memoryview]:
    """The pieces of a list file in order: small headers as ``bytes``, array data as
    uncopied byte views. ``sum(len(p) for p in list_parts(...))`` is the file's size."""
    if names is not None and len(names) != len(records):
        raise MXNetError(f"{len(names)} names for {len(records)} arrays; expected one each")
    yield _LIST_HEADER.pack(LIST_MAGIC, 0, len(records))
    for i, rec in enumerate(records):
        try:
            parts = _record_parts(rec, np_shape)
        except MXNetError as e:
            label = f"array {i}" + (f" ({names[i]!r})" if names else "")
            raise type(e)(f"{label}: {e}") from None
        yield from parts
    tail = [_U64.pack(len(names) if names else 0)]
    for n in names or ():
        raw = n.encode("utf-8")
        tail.append(_U64.pack(len(raw)))
        tail.append(raw)
    yield b"".join(tail)


def write_list(stream: BinaryIO, records: Sequence[ArrayRecord], names: Sequence[str] | None = None,
               np_shape: bool = False) -> None:
    """Write an NDArray list file to ``stream``; array bytes go out as views, uncopied."""
    for part in list_parts(records, names, np_shape):
        stream.write(part)
