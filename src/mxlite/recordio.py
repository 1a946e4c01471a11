"""Read and write MXNet's RecordIO files (``mx.recordio``), byte for byte as MXNet does.

The format is dmlc-core's: every part of a record is ``magic, lrec, payload, zero padding``
with ``magic = 0xCED7230A`` and ``lrec = cflag << 29 | length`` (little-endian uint32s); a
payload that holds the magic at a 4-aligned offset is cut there into parts (``cflag`` 1 first,
2 middle, 3 last; the magic itself is dropped and put back on read). ``docs/recordio.md``
describes the bytes.

Every path is a local path or an fsspec URI (``s3://...``, ``memory://...``; see
:mod:`mxlite.storage`). Object stores are read with ranged requests: sequentially in large
blocks, or by index one record per request. Writes are atomic: the files appear, whole, when
the writer is closed.
"""

from __future__ import annotations

import atexit
import numbers
import os
import struct
import threading
import weakref
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import storage
from .base import MXNetError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img", "RecordIOError"]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_HEAD = struct.Struct("<II")
_LEN_MASK = (1 << 29) - 1
_MAX_LEN = 1 << 29
# Sequential reads fetch this much per request: large enough that the per-call overhead
# vanishes next to the copy, small enough to stay in cache.
_BLOCK = 1 << 20
_REMOTE_BLOCK = 8 << 20
# A read by index fetches at most this much ahead of what the header asks for (an index
# with large gaps between offsets must not cause large allocations).
_MAX_EXTENT = 16 << 20

# Bumped in a forked child: a cheap test, per read, for "maybe another process now" (getpid
# is a system call, which costs as much as reading a small record).
_forks = 0


def _after_fork() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class RecordIOError(MXNetError):
    """A RecordIO file (or its ``.idx``) that is not what the format says: the message names
    the file, the byte offset and the record."""


class _FlagError(MXNetError, ValueError):
    """A bad ``flag`` argument (MXNet raises ValueError)."""


class _KeyMissing(MXNetError, KeyError):
    """``read_idx`` of a key the index does not have (MXNet raises KeyError)."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


# ----------------------------------------------------------------------------- reading


class _Reader:
    """The records of one file, read through an own buffer with ``readinto``.

    Sequential reads fetch :data:`_BLOCK` bytes at a time. After a seek the reader fetches
    only what the record needs (one ranged request on object stores when the caller knows
    the record's extent from the index) and goes back to blocks once reads run on.
    """

    def __init__(self, loc: storage.Location):
        self.uri = loc.uri
        self._block = _BLOCK
        try:
            if loc.local is not None:
                if os.path.isdir(loc.local):
                    raise IsADirectoryError(21, "Is a directory")
                self._f: Any = open(loc.local, "rb", buffering=0)  # noqa: SIM115
                self._local = True
            else:
                self._f = storage.RangedFile(loc.fs, loc.path, name=loc.uri)
                self._block = _REMOTE_BLOCK
                self._local = False
        except Exception as e:
            raise storage._fail(loc, "open for reading", e) from e
        self._size = self._file_size()
        self._buf = bytearray(self._block)
        self._view = memoryview(self._buf)
        self._p = 0          # next unread byte in _buf
        self._end = 0        # end of valid bytes in _buf
        self._base = 0       # file offset of _buf[0]
        self._sequential = True
        self._extent = 0     # bytes the next record takes, when an index told
        self._run = 0        # reads since the last seek
        self.record = 0      # ordinal of the next record, None after a seek
        self.key: Any = None  # the index key of the next record, when read by key

    def _file_size(self) -> int:
        if self._local:
            return os.fstat(self._f.fileno()).st_size
        return self._f._size

    def tell(self) -> int:
        return self._base + self._p

    def close(self) -> None:
        self._view.release()
        self._f.close()

    def seek(self, pos: int, extent: int = 0) -> None:
        """Go to byte ``pos``; ``extent`` (when > 0) is how many bytes the next record is
        expected to take there, so that it is fetched by one request."""
        rel = pos - self._base
        if rel == self._p:
            # where the reader is already: reads by index in file order go on as sequential
            # reads (in blocks, once they run on)
            self._extent = extent
            return
        if 0 <= rel <= self._end:
            self._p = rel  # already in the buffer: nothing to fetch
        else:
            self._p = self._end = 0
            self._base = pos
            self._sequential = False
        self._run = 0
        self._extent = extent

    def _where(self, at: int) -> str:
        rec = []
        if self.key is not None:
            rec.append(f"key {self.key!r}")
        if self.record is not None:
            rec.append(f"record {self.record}")
        return f"{self.uri}: byte {at}" + (f" ({', '.join(rec)})" if rec else "")

    def _fill(self, need: int) -> int:
        """Make ``need`` bytes available at ``_p`` if the file has them; the bytes there."""
        avail = self._end - self._p
        if avail >= need:
            return avail
        # after a seek, what the record is known to take comes in one request
        target = need if self._sequential else max(need, min(self._extent, _MAX_EXTENT))
        if target > len(self._buf):
            size = max(target, 2 * len(self._buf)) if self._sequential else target
            self._view.release()
            new = bytearray(size)
            new[:avail] = self._buf[self._p:self._end]
            self._buf, self._view = new, memoryview(new)
        elif self._p:
            self._buf[:avail] = self._view[self._p:self._end]
        self._base += self._p
        self._p, self._end = 0, avail
        want = len(self._buf) if self._sequential else min(len(self._buf), target)
        self._f.seek(self._base + self._end)
        while self._end < need:
            n = self._f.readinto(self._view[self._end:want])
            if not n:
                break
            self._end += n
        return self._end - self._p

    def next(self) -> bytes | None:
        """The next record's bytes, None at the end of the file."""
        p = self._p
        if self._end - p >= 8:
            # the common case, a whole one-part record in the buffer: no calls but the copy
            magic, lrec = _HEAD.unpack_from(self._buf, p)
            if magic == _MAGIC and lrec < _MAX_LEN:
                q = p + 8 + ((lrec + 3) & ~3)
                if q <= self._end:
                    self._p = q
                    if self.record is not None:
                        self.record += 1
                    self.key = None
                    return bytes(self._view[p + 8:p + 8 + lrec])
        return self._next_slow()

    def _next_slow(self) -> bytes | None:
        if self._run >= 2:
            self._sequential = True
        self._run += 1
        start = self._base + self._p
        parts: list[Any] | None = None
        while True:
            at = self._base + self._p
            avail = self._fill(8)
            if avail < 8:
                if avail == 0 and parts is None:
                    return None
                self._size = self._file_size()
                if avail == 0:
                    raise RecordIOError(
                        f"{self._where(start)}: truncated record: the file ends at byte {at} "
                        "inside a record that was split in parts (no final part)")
                raise RecordIOError(f"{self._where(start)}: truncated record: the file ends "
                                    f"at byte {at + avail} inside a record header")
            magic, lrec = _HEAD.unpack_from(self._buf, self._p)
            if magic != _MAGIC:
                raise RecordIOError(
                    f"{self._where(at)}: bad magic 0x{magic:08x}, expected 0x{_MAGIC:08x}: "
                    "not a RecordIO file, or a corrupt one, or an offset that is not a "
                    "record's start")
            cflag, length = lrec >> 29, lrec & _LEN_MASK
            padded = (length + 3) & ~3
            end = at + 8 + padded
            if end > self._size:
                self._size = self._file_size()
                if end > self._size:
                    raise RecordIOError(
                        f"{self._where(at)}: truncated record: its header says {length} bytes"
                        f" (to byte {end}) but the file ends at byte {self._size}")
            if self._fill(8 + padded) < 8 + padded:
                raise RecordIOError(f"{self._where(at)}: truncated record: the file ended "
                                    f"while reading {length} bytes")
            p = self._p + 8
            self._p = p + padded
            if cflag == 0 and parts is None:
                if self.record is not None:
                    self.record += 1
                self.key = None
                return bytes(self._view[p:p + length]) if length else b""
            if parts is None:
                parts = []
            parts.append(bytes(self._view[p:p + length]))
            if cflag == 0 or cflag == 3:
                break
            parts.append(_MAGIC_BYTES)
        if self.record is not None:
            self.record += 1
        self.key = None
        return b"".join(parts)


# ----------------------------------------------------------------------------- writing


class _LocalSink:
    """A local file written atomically, as :func:`mxlite.storage.open_write` does (a locked
    temporary file beside the target, fsynced, then renamed over it), with the commit and
    the clean-up in the hands of the process that opened it: a forked child that lets go of
    its copy neither completes nor deletes the parent's file."""

    def __init__(self, path: str):
        folder = os.path.dirname(os.path.abspath(path))
        storage._check_target(path)
        try:
            fd, self.tmp = storage._new_temp(path, folder)
        except OSError as e:
            raise storage._write_failed(path, e) from e
        self.path, self.folder, self.pid = path, folder, os.getpid()
        # the lock lives on the open file: a duplicate keeps it until the rename is done
        self._lock_fd = os.dup(fd)
        self._f = os.fdopen(fd, "wb", buffering=0)  # unbuffered: _Writer batches
        try:
            storage._remove_stale(path, keep=self.tmp)
            if hasattr(os, "fchmod"):
                os.fchmod(fd, storage._file_mode(path))
        except BaseException:
            self.abort()
            raise

    def write(self, b: Any) -> None:
        try:
            view = memoryview(b)
            while view:
                view = view[self._f.write(view):]
        except OSError as e:
            self.abort()
            raise storage._write_failed(self.path, e) from e

    def commit(self) -> None:
        try:
            os.fsync(self._f.fileno())
            self._f.close()
            os.replace(self.tmp, self.path)
            storage._fsync_dir(self.folder)
        except OSError as e:
            self.abort()
            raise storage._write_failed(self.path, e) from e
        finally:
            self._release()

    def abort(self) -> None:
        self._f.close()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self._release()

    def forget(self) -> None:
        """In a forked child: close this process's descriptors only."""
        self._f.close()
        self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class _StoreSink:
    """Any other storage: :func:`mxlite.storage.open_write` (one upload published whole)."""

    def __init__(self, loc: storage.Location):
        self._cm = storage.open_write(loc)
        self._f = self._cm.__enter__()
        self.write = self._f.write

    def commit(self) -> None:
        self._cm.__exit__(None, None, None)

    def abort(self, error: BaseException | None = None) -> None:
        error = error or MXNetError("write abandoned")
        self._cm.__exit__(type(error), error, error.__traceback__)

    def forget(self) -> None:
        # a forked child must not abort the parent's upload: keep the copy alive (unused)
        _forgotten.append(self)


_forgotten: list = []
# Records are gathered to this size before a write reaches the file.
_WRITE_BATCH = 1 << 20


class _Writer:
    """Writes records to a file that replaces the target atomically on :meth:`close`."""

    def __init__(self, loc: storage.Location):
        self.uri = loc.uri
        self._sink: Any = (_LocalSink(loc.local) if loc.local is not None
                           else _StoreSink(loc))
        self._pending = bytearray()
        self.pos = 0

    def write(self, buf: Any) -> None:
        if isinstance(buf, str):
            raise TypeError(f"{self.uri}: MXRecordIO.write takes bytes, not str; encode it "
                            "first")
        data = buf if isinstance(buf, (bytes, bytearray)) else bytes(memoryview(buf).cast("B"))
        n = len(data)
        if n >= _MAX_LEN:
            raise MXNetError(f"{self.uri}: a record holds less than 2^29 bytes, got {n}")
        out = self._pending
        start = len(out)
        cut = data.find(_MAGIC_BYTES)
        done = 0
        while cut != -1:
            if cut % 4 == 0:
                # the magic at an aligned offset would read as a record start: cut it out
                out += _HEAD.pack(_MAGIC, ((1 if done == 0 else 2) << 29) | (cut - done))
                out += data[done:cut]
                done = cut + 4
                cut = data.find(_MAGIC_BYTES, done)
            else:
                cut = data.find(_MAGIC_BYTES, cut + 1)
        length = n - done
        out += _HEAD.pack(_MAGIC, ((3 if done else 0) << 29) | length)
        out += data[done:] if done else data
        out += bytes(-length & 3)
        self.pos += len(out) - start
        if len(out) >= _WRITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._sink.write(self._pending)
            self._pending = bytearray()

    def close(self, error: BaseException | None = None) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            if error is None:
                if self._pending:
                    sink.write(self._pending)
                    self._pending = bytearray()
                sink.commit()
                return
        except BaseException as e:
            error = e
            raise
        finally:
            self._sink = None
            if error is not None:
                # a local sink has cleaned up after its own failures already
                if isinstance(sink, _StoreSink):
                    sink.abort(error)
                elif sink._lock_fd is not None:
                    sink.abort()

    def forget(self) -> None:
        """Let go of a copy inherited through fork: nothing is written, completed or
        deleted; the process that opened the file does that."""
        sink, self._sink = self._sink, None
        self._pending = bytearray()
        if sink is not None:
            sink.forget()


# ----------------------------------------------------------------------------- the API

# Writers still open when the interpreter exits are closed (their files completed) before
# the modules they need are torn down: scripts written for MXNet (its own tools/im2rec.py)
# leave their writer for the exit to close.
_open_writers: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _close_open_writers() -> None:
    for w in list(_open_writers):
        try:
            w.close()
        except Exception:  # a write that cannot complete: nothing more to do at exit
            pass


class MXRecordIO:
    """Reads/writes the ``RecordIO`` data format, sequentially.

    Examples
    --------
    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'w')
    >>> for i in range(5):
    ...    record.write(b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'r')
    >>> record.read()
    b'record_0'

    Parameters
    ----------
    uri : str
        Path (or fsspec URI) of the record file.
    flag : str
        'w' for write or 'r' for read.
    storage_options : dict, optional
        Passed to the fsspec filesystem (not in MXNet).
    """

    def __init__(self, uri: str | os.PathLike, flag: str,
                 storage_options: Mapping[str, Any] | None = None):
        self.uri = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
        self.flag = flag
        self.pid: int | None = None
        self.is_open = False
        self.writable = False
        if storage_options:
            self.storage_options = dict(storage_options)
        self._handle: Any = None
        self._forks = -1
        self._lock = threading.Lock()
        self.open()

    def _options(self) -> Mapping[str, Any] | None:
        return self.__dict__.get("storage_options")

    def open(self) -> None:
        """Opens the record file ('w' starts it empty)."""
        if self.flag == "w":
            self._handle = _Writer(storage.resolve(self.uri, self._options()))
            self.writable = True
            _open_writers.add(self)
        elif self.flag == "r":
            self._handle = _Reader(storage.resolve(self.uri, self._options()))
            self.writable = False
        else:
            raise _FlagError(f"Invalid flag {self.flag}: expected 'r' or 'w'")
        self.pid = os.getpid()
        self._forks = _forks
        self.is_open = True

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown, a write that can no longer complete
            pass

    def __enter__(self) -> MXRecordIO:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None and self.writable and self.is_open:
            # an error mid-write: the old file (if any) stays, nothing half-written appears
            self._discard(exc)
        self.close()

    def _discard(self, exc: BaseException) -> None:
        handle, self._handle = self._handle, None
        self.is_open = False
        self.pid = None
        _open_writers.discard(self)
        if handle is not None:
            handle.close(exc)

    def __getstate__(self) -> dict[str, Any]:
        """The state MXNet pickles: ``uri``, ``flag``, ``pid``, ``is_open``, ``writable``.

        A writer is closed (its file completed) as MXNet does, and its copy starts the file
        anew; a reader stays open and its copy starts at the first record.
        """
        is_open = self.is_open
        if self.writable:
            self.close()
        d = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        d["is_open"] = is_open
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        self.is_open = False
        self._handle = None
        self._forks = -1
        self._lock = threading.Lock()
        if d["is_open"]:
            self.open()

    def _check_pid(self, allow_reset: bool = False) -> None:
        """A handle may not be shared by processes: a forked child resets (seek) or fails."""
        if self._forks == _forks and self.pid is not None:
            return  # no fork since it was opened: the same process
        if self.pid != os.getpid():
            if allow_reset:
                self.reset()
            else:
                raise MXNetError(f"{self.uri}: Forbidden operation in multiple processes: "
                                 "this record file was opened by another process; open it "
                                 "again (or call reset()) in this one")

    def close(self) -> None:
        """Closes the record file (a writer's file is complete from now on)."""
        if not self.__dict__.get("is_open"):
            return
        handle, self._handle = self._handle, None
        forked = self._forks != _forks and self.pid != os.getpid()
        self.is_open = False
        self.pid = None
        _open_writers.discard(self)
        if handle is None:
            return
        if forked and self.writable:
            # a forked child's copy of a writer: completing (or discarding) the file is for
            # the process that opened it
            handle.forget()
        else:
            handle.close()

    def reset(self) -> None:
        """Go back to the first record; a writer starts its file anew (truncates it)."""
        self.close()
        self.open()

    def _need_open(self) -> Any:
        if not self.is_open or self._handle is None:
            raise MXNetError(f"{self.uri}: the record file is closed")
        return self._handle

    def write(self, buf: bytes | bytearray | memoryview) -> None:
        """Inserts a buffer as a record."""
        if not self.writable:
            raise MXNetError(f"{self.uri}: write on a record file opened for reading ('r')")
        handle = self._need_open()
        self._check_pid(allow_reset=False)
        handle.write(buf)

    def read(self) -> bytes | None:
        """Returns the next record as bytes, None after the last one."""
        handle = self._handle
        if handle is None or self.writable or self._forks != _forks:
            if self.writable:
                raise MXNetError(f"{self.uri}: read on a record file opened for writing "
                                 "('w')")
            handle = self._need_open()
            self._check_pid(allow_reset=False)
        # Like MXNet's, a reader is not for concurrent read() calls (read_idx is locked)
        return handle.next()

    def tell(self) -> int:
        """The byte offset of the next record: where the next write goes (as MXNet) or,
        reading, where the next record starts."""
        handle = self._need_open()
        return handle.pos if self.writable else handle.tell()


class MXIndexedRecordIO(MXRecordIO):
    """Reads/writes the ``RecordIO`` data format with random access through an index file
    (``.idx``: one ``key\\toffset`` line per record).

    Examples
    --------
    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'w')
    >>> for i in range(5):
    ...     record.write_idx(i, b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'r')
    >>> record.read_idx(3)
    b'record_3'

    Parameters
    ----------
    idx_path : str
        Path (or fsspec URI) of the index file.
    uri : str
        Path (or fsspec URI) of the record file.
    flag : str
        'w' for write or 'r' for read.
    key_type : type
        Data type for keys.
    storage_options : dict, optional
        Passed to the fsspec filesystem (not in MXNet).
    """

    def __init__(self, idx_path: str | os.PathLike, uri: str | os.PathLike, flag: str,
                 key_type: type = int, storage_options: Mapping[str, Any] | None = None):
        self.idx_path = os.fspath(idx_path) if isinstance(idx_path, os.PathLike) else idx_path
        self.idx: dict[Any, int] = {}
        self.keys: list[Any] = []
        self.key_type = key_type
        self.fidx = None
        self._lines: list[str] = []
        self._ends: dict[int, int] = {}
        super().__init__(uri, flag, storage_options)

    def open(self) -> None:
        super().open()
        self.idx = {}
        self.keys = []
        self._lines = []
        self._ends = {}
        try:
            if self.writable:
                self._check_index_target()
            else:
                self._load_index()
        except BaseException as e:
            handle, self._handle = self._handle, None
            self.is_open = False
            _open_writers.discard(self)
            if self.writable:
                handle.close(e)  # nothing was written: no file appears
            else:
                handle.close()
            raise

    def _check_index_target(self) -> None:
        """Refuse at once (as MXNet's open() does) an index that could not be written at
        close, after all the records."""
        loc = storage.resolve(self.idx_path, self._options())
        if loc.local is None:
            return
        folder = os.path.dirname(os.path.abspath(loc.local))
        if not os.path.isdir(folder):
            raise storage.MissingFileError(f"{self.idx_path}: cannot write: the folder "
                                           f"{folder} does not exist")
        storage._check_target(loc.local)

    def _load_index(self) -> None:
        text = storage.read_text(self.idx_path, self._options())
        key_type = self.key_type
        for n, line in enumerate(text.splitlines(), 1):
            fields = line.strip().split("\t")
            if fields == [""]:
                continue  # a blank line (a trailing one, say): MXNet stops at the file's end
            try:
                if len(fields) < 2:
                    raise ValueError("no tab-separated offset")
                key = key_type(fields[0])
                pos = int(fields[1])
                if not 0 <= pos < 2**63:
                    raise ValueError("offset out of range")
            except (ValueError, TypeError) as e:
                raise RecordIOError(f"{self.idx_path}: line {n}: expected 'key<TAB>offset' "
                                    f"with a {getattr(key_type, '__name__', key_type)} key "
                                    f"and a byte offset, got {line[:80]!r} ({e})") from None
            self.idx[key] = pos
            self.keys.append(key)
        # where each record ends (the next offset up, or the file's end): one request each
        offsets = np.unique(np.fromiter(self.idx.values(), dtype=np.int64, count=len(self.idx)))
        size = self._handle._size
        if offsets.size:
            nxt = np.append(offsets[1:], max(size, int(offsets[-1])))
            self._ends = dict(zip(offsets.tolist(), nxt.tolist()))

    def close(self) -> None:
        """Closes the record file and the index (a writer's index is written now)."""
        if not self.__dict__.get("is_open"):
            return
        writing = self.writable
        super().close()
        if writing:
            storage.write_text_atomic(self.idx_path, "".join(self._lines), self._options())
            self._lines = []

    def _discard(self, exc: BaseException) -> None:
        self._lines = []
        super()._discard(exc)

    def __getstate__(self) -> dict[str, Any]:
        d = super().__getstate__()
        d["fidx"] = None
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self._lines = []
        self._ends = {}
        super().__setstate__(d)

    def _offset(self, idx: Any, verb: str) -> int:
        """Where the record with key ``idx`` starts, for a reader."""
        if self.writable:
            raise MXNetError(f"{self.uri}: {verb} on a record file opened for writing ('w')")
        self._check_pid(allow_reset=True)
        try:
            return self.idx[idx]
        except KeyError:
            raise _KeyMissing(f"{self.idx_path}: no record with key {idx!r} in the index "
                              f"({len(self.keys)} keys)") from None

    def seek(self, idx: Any) -> None:
        """Sets the read position to the record with key ``idx``."""
        pos = self._offset(idx, "seek")
        self._seek_to(self._need_open(), idx, pos)

    def _seek_to(self, handle: _Reader, key: Any, pos: int) -> None:
        if pos >= handle._size and pos != 0:
            handle._size = handle._file_size()
            if pos >= handle._size:
                raise RecordIOError(
                    f"{self.idx_path}: key {key!r}: offset {pos} points past the end of "
                    f"{self.uri} ({handle._size} bytes)")
        handle.seek(pos, self._ends.get(pos, 0) - pos)
        handle.record = None
        handle.key = key

    def read_idx(self, idx: Any) -> bytes | None:
        """Returns the record with key ``idx``."""
        pos = self._offset(idx, "read_idx")
        handle = self._need_open()
        with self._lock:
            self._seek_to(handle, idx, pos)
            try:
                rec = handle.next()
            except RecordIOError as e:
                raise RecordIOError(f"{e} (offset from {self.idx_path})") from None
        if rec is None:
            raise RecordIOError(f"{self.idx_path}: key {idx!r}: offset {pos} points at the "
                                f"end of {self.uri}, not at a record")
        return rec

    def write_idx(self, idx: Any, buf: bytes | bytearray | memoryview) -> None:
        """Inserts a record with key ``idx``."""
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self._lines.append(f"{key}\t{pos}\n")
        self.idx[key] = pos
        self.keys.append(key)


# ----------------------------------------------------------------------------- records


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
HEADER = IRHeader  # the name pickle looks the class up by
IRHeader.__doc__ = """The header of an image record (``struct 'IfQQ'``, 24 bytes).

Parameters
----------
flag : int
    0 for one label stored in ``label``; n > 0 when n float32 labels follow the header.
label : float or array of float
    The label(s) of the record.
id : int
    Usually a unique id of the record.
id2 : int
    Higher order bits of the id, usually 0.
"""
_IR_FORMAT = "<IfQQ"
_IR = struct.Struct(_IR_FORMAT)
_IR_SIZE = _IR.size


def pack(header: IRHeader | tuple, s: bytes) -> bytes:
    """Pack bytes (an encoded image, say) behind an :data:`IRHeader`.

    ``header.label`` may be a number (stored in the header, ``flag`` 0) or an array (its
    float32 values follow the header, ``flag`` = their count).
    """
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + bytes(s)
    try:
        head = _IR.pack(*header)
    except struct.error as e:
        raise MXNetError(f"pack: bad IRHeader {tuple(header)}: flag, id and id2 must be "
                         f"non-negative integers and label a float ({e})") from None
    return head + bytes(s)


def unpack(s: bytes) -> tuple[IRHeader, bytes]:
    """Split a record from :meth:`MXRecordIO.read` into its :data:`IRHeader` and the rest.

    With ``flag`` > 0 the header's label is the float32 array of the ``flag`` labels.
    """
    if len(s) < _IR_SIZE:
        raise MXNetError(f"unpack: a record of {len(s)} bytes is shorter than the "
                         f"{_IR_SIZE}-byte IRHeader")
    header = IRHeader(*_IR.unpack_from(s, 0))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if header.flag * 4 > len(s):
            raise MXNetError(f"unpack: the IRHeader says {header.flag} float32 labels "
                             f"follow, but only {len(s)} bytes do")
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[header.flag * 4:]
    return header, s


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise MXNetError("pack_img/unpack_img need OpenCV: pip install "
                         "opencv-python-headless (or 'mxlite[image]')") from None
    return cv2


def unpack_img(s: bytes, iscolor: int = -1) -> tuple[IRHeader, np.ndarray]:
    """Unpack a record into its :data:`IRHeader` and the image, decoded by OpenCV
    (``cv2.imdecode(buf, iscolor)``: a numpy array, BGR for colour images, as MXNet)."""
    header, s = unpack(s)
    cv2 = _cv2()
    img = cv2.imdecode(np.frombuffer(s, dtype=np.uint8), iscolor)
    if img is None:
        raise MXNetError(f"unpack_img: the {len(s)} bytes after the header of record id "
                         f"{header.id} are not an image OpenCV can decode")
    return header, img


def pack_img(header: IRHeader | tuple, img: np.ndarray, quality: int = 95,
             img_fmt: str = ".jpg") -> bytes:
    """Encode an image (a numpy array, BGR as OpenCV has it) and pack it behind ``header``.

    ``quality`` is the JPEG quality (1-100) or the PNG compression level (0-9).
    """
    cv2 = _cv2()
    params: list[int] = []
    if img_fmt.upper() in (".JPG", ".JPEG"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif img_fmt.upper() == ".PNG":
        params = [cv2.IMWRITE_PNG_COMPRESSION, int(quality)]
    try:
        ret, buf = cv2.imencode(img_fmt, np.asarray(img), params)
    except cv2.error as e:
        raise MXNetError(f"pack_img: cannot encode a {np.shape(img)} "
                         f"{np.asarray(img).dtype} image as {img_fmt}: {e}") from None
    if not ret:
        raise MXNetError(f"pack_img: failed to encode the image as {img_fmt}")
    return pack(header, buf.tobytes())
