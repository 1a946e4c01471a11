"""``mx.nd.save`` / ``mx.nd.load`` / ``mx.nd.load_frombuffer`` and NDArray <-> record.

The bytes are :mod:`mxlite.formats.arrays`' business; this module only turns NDArrays into
:class:`~mxlite.formats.arrays.ArrayRecord` and back, and opens files. Saving to a path writes
a temporary file beside the target, fsyncs it and renames it over the target, so a failure
mid-save leaves any old file whole.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from .. import util
from ..base import MXNetError
from ..context import Context
from ..formats import arrays
from ..formats.arrays import ArrayRecord

__all__ = ["save", "load", "load_frombuffer", "to_record", "from_record", "open_file"]


def _is_path(fname: Any) -> bool:
    return isinstance(fname, (str, os.PathLike))


@contextmanager
def open_file(path: str | os.PathLike, mode: str, size: int | None = None
              ) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading (``'rb'``) or atomic writing (``'wb'``).

    The one place mxlite opens array/pickle files by name (URI schemes plug in here). A write
    goes to a temporary file in the target's folder that replaces the target only once it is
    complete and on disk; on error the temporary file is removed and the target untouched.
    ``size``, when known, reserves the file's blocks up front (fewer, larger extents and no
    allocation stalls while writing).
    """
    path = os.fspath(path)
    if mode == "rb":
        try:
            f = open(path, "rb")
        except OSError as e:
            raise MXNetError(f"{path}: cannot open for reading: {e.strerror or e}") from e
        with f:
            yield f
        return
    if mode != "wb":
        raise ValueError(f"mode must be 'rb' or 'wb', got {mode!r}")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
    except OSError as e:
        raise MXNetError(f"{path}: cannot write: {e.strerror or e}") from e
    try:
        if size and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:  # not supported here: an optimisation only
                pass
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if size is not None and f.tell() != size:
                f.truncate()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fsync_dir(folder: str) -> None:
    """Make a rename durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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


def load(fname):
    """Load arrays saved by ``mx.nd.save`` (or MXNet): a list, or a dict when the file has names.

    ``fname`` is a path or a binary file object. An empty dict comes back as ``[]``, as in MXNet.
    """
    if _is_path(fname):
        with open_file(fname, "rb") as f:
            return _read(f, os.fspath(fname))
    if hasattr(fname, "read"):
        return _read(fname, str(getattr(fname, "name", "") or "<stream>"))
    raise TypeError(f"fname must be a path or a binary file object, got {type(fname).__name__}")


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


def save(fname, data) -> None:
    """Save an NDArray, a list of NDArrays or a dict str -> NDArray, as MXNet does.

    Records are V2, or V3 under numpy-shape semantics (``mx.util.is_np_shape()``). ``fname``
    is a path (written atomically) or a binary file object.
    """
    values, names = _collect(data)
    records = [to_record(v) for v in values]
    np_shape = util.is_np_shape()
    if _is_path(fname):
        size = sum(len(memoryview(p)) for p in arrays.list_parts(records, names, np_shape))
        with open_file(fname, "wb", size) as f:
            arrays.write_list(f, records, names, np_shape)
    elif hasattr(fname, "write"):
        arrays.write_list(fname, records, names, np_shape)
    else:
        raise TypeError(f"fname must be a path or a binary file object, "
                        f"got {type(fname).__name__}")
