"""``mx.nd.save`` / ``mx.nd.load`` / ``mx.nd.open`` / ``mx.nd.load_frombuffer`` and NDArray <->
record.

The bytes are :mod:`mxlite.formats.arrays`' business and where they live is
:mod:`mxlite.storage`'s: this module turns NDArrays into
:class:`~mxlite.formats.arrays.ArrayRecord` and back. Every name may be a local path or any
fsspec URI (``memory://``, ``s3://``...); saves are atomic (a reader sees the old file or the
complete new one).

Loading only what is needed: ``load(fname, keys=[...])`` indexes the file from its headers and
reads just the named arrays (ranged requests on remote storage); ``load(fname, mmap=True)``
returns read-only views of a memory map of a local file; :func:`open` gives a lazy mapping.
"""

from __future__ import annotations

import io
import math
import mmap as _mmap
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from .. import storage, util
from ..base import MXNetError
from ..context import Context
from ..formats import arrays
from ..formats.arrays import ArrayRecord, ListIndex, RecordIndex

__all__ = ["save", "load", "load_frombuffer", "open", "ArrayFile", "LazyArray", "to_record",
           "from_record", "open_file"]


def _is_path(fname: Any) -> bool:
    return isinstance(fname, (str, os.PathLike))


@contextmanager
def open_file(path: str | os.PathLike, mode: str, size: int | None = None,
              storage_options: Mapping[str, Any] | None = None) -> Iterator[IO[bytes]]:
    """Open ``path`` (a local path or fsspec URI) for binary reading (``'rb'``) or atomic
    writing (``'wb'``).

    The one place array/pickle files are opened by name; :mod:`mxlite.storage` does the work. A
    write replaces the target only once it is complete; on error the target is untouched.
    ``size``, when known, reserves a local file's blocks up front.
    """
    if mode == "rb":
        with storage.open_read(path, storage_options) as f:
            yield f
    elif mode == "wb":
        with storage.open_write(path, storage_options, size) as f:
            yield f
    else:
        raise ValueError(f"mode must be 'rb' or 'wb', got {mode!r}")


def _numpy(x: Any) -> np.ndarray:
    return x._data if hasattr(x, "_data") else np.asarray(x)


def to_record(nd) -> ArrayRecord:
    """The record MXNet would write for NDArray ``nd`` (no copy of the values)."""
    ctx = getattr(nd, "_ctx", None) or Context("cpu", 0)
    ctx_t = (int(ctx.device_typeid), int(ctx.device_id))
    stype = getattr(nd, "stype", "default")
    if stype == "default":
        data = nd._data
        if data is None:  # MXNet's "none" array
            return ArrayRecord("default", None, np.dtype(np.float32), ctx_t)
        return ArrayRecord("default", tuple(data.shape), data.dtype, ctx_t, data)
    values = _numpy(nd.data)
    if stype == "row_sparse":
        aux = (_numpy(nd.indices),)
    elif stype == "csr":
        aux = (_numpy(nd.indptr), _numpy(nd.indices))
    else:
        raise MXNetError(f"unknown storage type {stype!r}; expected default, row_sparse or csr")
    return ArrayRecord(stype, tuple(int(d) for d in nd.shape), values.dtype, ctx_t, values, aux)


def from_record(rec: ArrayRecord):
    """The NDArray (dense or sparse) a record describes; wraps the record's arrays uncopied."""
    from .ndarray import NDArray

    ctx = Context(*rec.ctx)
    if rec.shape is None:
        return NDArray(None, ctx)
    if rec.stype == "default":
        return NDArray(rec.data, ctx)
    from .sparse import CSRNDArray, RowSparseNDArray

    if rec.stype == "row_sparse":
        return RowSparseNDArray(rec.data, rec.aux[0], rec.shape, ctx)
    return CSRNDArray(rec.data, rec.aux[0], rec.aux[1], rec.shape, ctx)


def _result(records: list[ArrayRecord], names: list[str] | None):
    arrays_ = [from_record(r) for r in records]
    if names:
        return dict(zip(names, arrays_))
    return arrays_


def _read(f: IO[bytes], name: str):
    return _result(*arrays.read_list(f, name))


def _read_parts(f: IO[bytes], rec: RecordIndex, name: str) -> list[np.ndarray]:
    """The part arrays (data, then aux) of one indexed record, each read with one request."""
    out = []
    for at, dtype, shape in rec.parts:
        arr = np.empty(shape, dtype)
        view = memoryview(arr.reshape(-1).view(np.uint8))
        f.seek(at)
        got = 0
        while got < len(view):
            n = f.readinto(view[got:])
            if not n:
                raise MXNetError(f"{name}: byte {at + got}: expected {len(view)} bytes of "
                                 f"array data, file ends after {got}")
            got += n
        out.append(arr)
    return out


def _mapped_parts(buf: Any, rec: RecordIndex) -> list[np.ndarray]:
    """Read-only views of one record's parts in a memory map: no copy. Each view keeps the
    map alive, so the map lives exactly as long as some array uses it."""
    le = [(at, dtype.newbyteorder("<") if dtype.byteorder == "=" else dtype, shape)
          for at, dtype, shape in rec.parts]
    return [np.frombuffer(buf, dtype, math.prod(shape), at).reshape(shape)
            for at, dtype, shape in le]


def _select(index: ListIndex, keys: Sequence[str | int], name: str) -> list[int]:
    """Positions in the file of the requested keys (names, or indices for unnamed files)."""
    if isinstance(keys, (str, int)):
        raise TypeError("keys must be a list of array names (or indices for an unnamed file)")
    if index.names is None:
        n = len(index.records)
        bad = [k for k in keys if not isinstance(k, int) or not -n <= k < n]
        if bad:
            raise MXNetError(f"{name}: the file holds an unnamed list of {n} arrays; keys must "
                             f"be indices in [0, {n}), got {bad[:5]}")
        return [k % n for k in keys]
    where = {k: i for i, k in enumerate(index.names)}
    missing = [k for k in keys if k not in where]
    if missing:
        raise MXNetError(f"{name}: no arrays named {missing[:5]} in the file (it holds "
                         f"{len(where)} names)")
    return [where[k] for k in keys]


def _load_mmap(loc: storage.Location, keys: Sequence | None, name: str):
    with storage.open_ranged(loc) as f:
        index = arrays.scan_list(f, name)
        if not index.records:
            return _result([], index.names)
        try:
            buf = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
        except (OSError, ValueError) as e:
            raise MXNetError(f"{name}: cannot memory-map: {e}") from e
    picks = range(len(index.records)) if keys is None else _select(index, keys, name)
    recs = [index.records[i].record(_mapped_parts(buf, index.records[i]), name, i)
            for i in picks]
    if keys is None:
        return _result(recs, index.names)
    return _keyed(keys, recs)


def _keyed(keys: Sequence, recs: list[ArrayRecord]) -> dict:
    return {k: from_record(r) for k, r in zip(keys, recs)}


def _load_keys(loc: storage.Location, keys: Sequence, name: str) -> dict:
    f = storage.open_ranged(loc)
    with f:
        index = arrays.scan_list(f, name)
        picks = _select(index, keys, name)
        recs = [index.records[i].record(_read_parts(f, index.records[i], name), name, i)
                for i in picks]
    return _keyed(keys, recs)


def load(fname, mmap: bool = False, keys: Sequence[str | int] | None = None,
         storage_options: Mapping[str, Any] | None = None):
    """Load arrays saved by ``mx.nd.save`` (or MXNet): a list, or a dict when the file has names.

    Parameters
    ----------
    fname : str, os.PathLike or binary file
        A local path, any fsspec URI (``s3://bucket/model-0001.params``, ``memory://...``), or
        an open binary file. An empty dict comes back as ``[]``, as in MXNet.
    mmap : bool
        Local files only: the arrays are read-only views of a memory map of the file (no copy;
        the map lives while any array does). Writing to one is an MXNetError. Other storage
        is read into memory as usual.
    keys : list of str, optional
        Load only these arrays (indices for an unnamed file), returned as a dict in the order
        asked. The file is indexed from its record headers and only the wanted array bytes
        are read: on remote storage, with ranged requests.
    storage_options : dict, optional
        fsspec options (credentials, ``endpoint_url``...) for a URI.
    """
    if _is_path(fname):
        loc = storage.resolve(fname, storage_options)
        name = loc.uri
        if mmap and loc.local is not None:
            return _load_mmap(loc, keys, name)
        if keys is not None:
            return _load_keys(loc, keys, name)
        with storage.open_read(loc) as f:
            return _read(f, name)
    if hasattr(fname, "read"):
        name = str(getattr(fname, "name", "") or "<stream>")
        if keys is not None:
            start = fname.tell()
            index = arrays.scan_list(fname, name)
            picks = _select(index, keys, name)
            recs = []
            for i in picks:
                rec = index.records[i]
                shifted = RecordIndex(rec.stype, rec.shape, rec.dtype, rec.ctx, rec.magic,
                                      rec.offset + start, rec.end + start,
                                      tuple((at + start, t, s) for at, t, s in rec.parts))
                recs.append(rec.record(_read_parts(fname, shifted, name), name, i))
            return _keyed(keys, recs)
        return _read(fname, name)
    raise TypeError(f"fname must be a path or a binary file object, got {type(fname).__name__}")


class LazyArray:
    """One array of an :class:`ArrayFile`: shape, dtype and storage type come from the file's
    header; :meth:`read` fetches the values."""

    def __init__(self, owner: ArrayFile, rec: RecordIndex, key: str | int):
        self._owner = owner
        self._rec = rec
        self.key = key

    @property
    def shape(self) -> tuple:
        """The logical shape (``()`` for MXNet's "none" array, as NDArray reports it)."""
        return self._rec.shape if self._rec.shape is not None else ()

    @property
    def dtype(self) -> type | None:
        """The element type as a numpy scalar type, as ``NDArray.dtype`` reports it."""
        return None if self._rec.shape is None else self._rec.dtype.type

    @property
    def stype(self) -> str:
        return self._rec.stype

    @property
    def context(self) -> Context:
        return Context(*self._rec.ctx)

    @property
    def nbytes(self) -> int:
        """Bytes of values (and sparse aux arrays) stored in the file."""
        return self._rec.nbytes

    def read(self):
        """The array as an NDArray (a read-only view when the file was opened with mmap)."""
        return self._owner._read(self._rec, self._owner._where.get(self.key))

    def asnumpy(self) -> np.ndarray:
        return self.read().asnumpy()

    def __repr__(self) -> str:
        shape = "none" if self._rec.shape is None else self._rec.shape
        dtype = self._rec.dtype.name if self._rec.shape is not None else "none"
        return f"<LazyArray {self.key!r} shape={shape} dtype={dtype} stype={self.stype}>"


class ArrayFile(Mapping):
    """A read-only mapping over an NDArray file: name (or index, for an unnamed file) ->
    :class:`LazyArray`. Only headers are read on opening; values when asked for.

    Use through :func:`open` as a context manager; reading after it closes is an MXNetError.
    """

    def __init__(self, fname: str | os.PathLike, mmap: bool = False,
                 storage_options: Mapping[str, Any] | None = None):
        loc = storage.resolve(fname, storage_options)
        self.name = loc.uri
        self._map: Any = None
        self._file: IO[bytes] | None = storage.open_ranged(loc)
        try:
            self._index = arrays.scan_list(self._file, self.name)
            if mmap and loc.local is not None and self._index.records:
                try:
                    self._map = _mmap.mmap(self._file.fileno(), 0, access=_mmap.ACCESS_READ)
                except (OSError, ValueError) as e:
                    raise MXNetError(f"{self.name}: cannot memory-map: {e}") from e
        except BaseException:
            self.close()
            raise
        names = self._index.names
        self._keys: list = list(names) if names is not None else \
            list(range(len(self._index.records)))
        self._where = {k: i for i, k in enumerate(self._keys)}

    def _read(self, rec: RecordIndex, pos: int | None = None):
        if self._map is not None:
            return from_record(rec.record(_mapped_parts(self._map, rec), self.name, pos))
        if self._file is None:
            raise MXNetError(f"{self.name}: the file is closed; read arrays inside the "
                             "'with mx.nd.open(...)' block")
        return from_record(rec.record(_read_parts(self._file, rec, self.name), self.name, pos))

    def __getitem__(self, key: str | int) -> LazyArray:
        i = self._where.get(key)
        if i is None:
            raise KeyError(key)
        return LazyArray(self, self._index.records[i], key)

    def __iter__(self) -> Iterator:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def load(self, keys: Sequence | None = None) -> dict:
        """NDArrays for ``keys`` (default: all), as a dict in the order asked."""
        return {k: self[k].read() for k in (self._keys if keys is None else keys)}

    def close(self) -> None:
        """Close the file; arrays already read (even memory-mapped ones) stay valid."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._map = None

    def __enter__(self) -> ArrayFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ArrayFile {self.name!r}: {len(self)} arrays>"


def open(fname: str | os.PathLike, mmap: bool = False,  # noqa: A001 - MXNet-style name
         storage_options: Mapping[str, Any] | None = None) -> ArrayFile:
    """Open an NDArray file lazily, like ``safetensors.safe_open``::

        with mx.nd.open("s3://bucket/model-0010.params") as f:
            for name in f.keys():
                print(name, f[name].shape, f[name].dtype)  # headers only
            w = f["arg:fc1_weight"].read()                 # fetches just this array

    ``mmap`` (local files) makes :meth:`LazyArray.read` return read-only views of a memory map.
    """
    return ArrayFile(fname, mmap, storage_options)


def load_frombuffer(buf):
    """Like :func:`load`, from the bytes of a saved file."""
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise TypeError(f"buf must be bytes-like, got {type(buf).__name__}")
    return _read(io.BytesIO(buf), "<buffer>")


def _collect(data) -> tuple[list, list[str] | None]:
    from .ndarray import NDArray

    if isinstance(data, NDArray):
        return [data], None
    if isinstance(data, dict):
        if any(not isinstance(k, str) for k in data) or \
                any(not isinstance(v, NDArray) for v in data.values()):
            raise TypeError("save only accept dict str->NDArray or list of NDArray")
        return list(data.values()), list(data.keys())
    if isinstance(data, list):
        if any(not isinstance(v, NDArray) for v in data):
            raise TypeError("save only accept dict str->NDArray or list of NDArray")
        return data, None
    raise ValueError("data needs to either be a NDArray, dict of str, NDArray pairs "
                     "or a list of NDarrays.")


def save(fname, data, storage_options: Mapping[str, Any] | None = None) -> None:
    """Save an NDArray, a list of NDArrays or a dict str -> NDArray, as MXNet does.

    Records are V2, or V3 under numpy-shape semantics (``mx.util.is_np_shape()``). ``fname``
    is a local path or fsspec URI (written atomically: readers see the old file or the
    complete new one) or a binary file object.
    """
    values, names = _collect(data)
    records = [to_record(v) for v in values]
    np_shape = util.is_np_shape()
    if _is_path(fname):
        size = sum(len(memoryview(p)) for p in arrays.list_parts(records, names, np_shape))
        with storage.open_write(fname, storage_options, size) as f:
            arrays.write_list(f, records, names, np_shape)
    elif hasattr(fname, "write"):
        arrays.write_list(fname, records, names, np_shape)
    else:
        raise TypeError(f"fname must be a path or a binary file object, "
                        f"got {type(fname).__name__}")
