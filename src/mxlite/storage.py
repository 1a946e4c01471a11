"""Where mxlite's files live: local paths and every filesystem fsspec knows.

A *location* is a local path (``str`` or ``os.PathLike``), a ``file://`` URI, or any fsspec URI
(``memory://``, ``s3://``, ``gs://``, ``hdfs://``, ``az://``, chained ``simplecache::s3://``...).
``storage_options`` go to the fsspec filesystem (credentials, ``endpoint_url``...); defaults per
protocol can also come from fsspec's own configuration (``fsspec.config.conf['s3']`` or
``FSSPEC_S3_*`` environment variables). Backends are extras: ``pip install 'mxlite[s3]'`` brings
s3fs, ``[gcs]`` gcsfs, ``[hdfs]`` pyarrow, ``[azure]`` adlfs; a missing one is a
:class:`~mxlite.base.NotSupportedError` naming the extra.

Writes are atomic: a reader sees the old file or the complete new one, never a torn one, and a
crash mid-save leaves the old file in place.

- local files: a temporary file beside the target (``.NAME.XXXXXXXX.tmp``, locked while the
  save runs), fsynced, then ``os.replace`` (and the folder fsynced). A save refuses a
  read-only target or a missing folder with an MXNetError, leaving no temporary file; the
  temporary files of saves that were killed are removed by the next save of the same
  target and listed by :func:`stale_temp_files`;
- object stores (S3, GCS, Azure...): the object is written by one upload that the store only
  publishes when it completes: serialised in memory and sent with one put (up to 1 GiB), or
  streamed as a multipart upload completed at the end; an error aborts the upload;
- other fsspec filesystems (memory, HDFS, SFTP...): a temporary name beside the target, then
  ``mv`` over it.

Reads of part of a file (``mx.nd.load(..., keys=...)``, ``mx.nd.open``) go through
:class:`RangedFile`, which asks the filesystem only for the byte ranges it is read at.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from .base import MXNetError, NotSupportedError

try:
    import fcntl
except ImportError:  # Windows: open files cannot be deleted, which protects them instead
    fcntl = None

__all__ = ["Location", "resolve", "open_read", "open_write", "open_ranged", "RangedFile",
           "read_bytes", "read_text", "write_bytes_atomic", "write_text_atomic", "read_range",
           "size", "exists", "listdir", "folder_of", "remove", "rename", "MissingFileError",
           "WriteFailedError", "stale_temp_files", "EXTRAS"]

# protocol -> (mxlite extra, package it brings)
EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
    "hdfs": ("hdfs", "pyarrow"), "arrow_hdfs": ("hdfs", "pyarrow"),
    "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"),
    "adl": ("azure", "adlfs"),
}

# Stores that publish an object only when its upload completes: writing the target directly is
# atomic, and a rename would be a full copy.
_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss",
                            "oci", "r2", "cos", "obs", "tos", "wasb", "wasbs"})

# Object-store writes of a known size up to this are serialised in memory and sent in one
# put (``fs.pipe_file``: one PUT, or a concurrent multipart upload for big objects); larger
# ones stream through ``fs.open(path, "wb")``, whose multipart upload completes at close.
_PUT_LIMIT = 1 << 30
# Whole-file reads of remote objects up to this are one GET; larger ones stream in blocks.
_GET_LIMIT = 1 << 30
_STREAM_BLOCK = 64 << 20

# RangedFile fetches at least _WINDOW bytes per request (a record header is 24-200 bytes), and
# doubles that, up to _MAX_WINDOW, while small reads go on sequentially (a names table).
_WINDOW = 512
_MAX_WINDOW = 1 << 16
# Files this small are fetched whole by the first read: one request beats one per header.
_WHOLE = 1 << 16


def _protocol(fs: Any) -> str:
    p = fs.protocol
    return p[0] if isinstance(p, (tuple, list)) else p


@dataclass
class Location:
    """A resolved location: ``local`` is the OS path for local files (``fs`` then None), else
    ``fs`` is the fsspec filesystem and ``path`` the path inside it."""

    uri: str
    local: str | None = None
    fs: Any = None
    path: str = ""

    @property
    def protocol(self) -> str:
        return "file" if self.fs is None else _protocol(self.fs)

    def __str__(self) -> str:
        return self.uri


def _missing_backend(uri: str, protocol: str, err: BaseException) -> NotSupportedError:
    extra = EXTRAS.get(protocol)
    if extra is not None:
        return NotSupportedError(f"{uri}: {protocol}:// paths need the {extra[1]} package: "
                                 f"pip install 'mxlite[{extra[0]}]' ({err})")
    return NotSupportedError(f"{uri}: no fsspec backend for {protocol}:// is installed "
                             f"({err}); install the package fsspec names for it")


def resolve(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None
            ) -> Location:
    """The :class:`Location` of ``uri``; MXNetError for an unknown or uninstalled protocol."""
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str):
        raise TypeError(f"expected a path or URI string, got {type(uri).__name__}")
    if "://" not in uri and "::" not in uri:
        return Location(uri, local=uri)
    if uri.startswith("file://") and "::" not in uri:
        from fsspec.implementations.local import LocalFileSystem

        return Location(uri, local=LocalFileSystem._strip_protocol(uri))
    import fsspec
    from fsspec.core import split_protocol

    protocol = split_protocol(uri.split("::")[0])[0] or "file"
    try:
        fs, path = fsspec.core.url_to_fs(uri, **dict(storage_options or {}))
    except ImportError as e:
        raise _missing_backend(uri, protocol, e) from None
    except ValueError as e:
        if "not known" in str(e) or "not available" in str(e):
            raise _missing_backend(uri, protocol, e) from None
        raise MXNetError(f"{uri}: bad location: {e}") from None
    except Exception as e:  # a backend that fails to start (no Java for HDFS, bad options)
        raise MXNetError(f"{uri}: cannot open the {protocol}:// filesystem: "
                         f"{type(e).__name__}: {e}") from e
    if _protocol(fs) in ("file", "local"):
        return Location(uri, local=path)
    return Location(uri, fs=fs, path=path)


class MissingFileError(MXNetError, FileNotFoundError):
    """No file at a location: an MXNetError that ``except FileNotFoundError`` also catches."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class WriteFailedError(MXNetError, OSError):
    """A save the operating system refused (disk full, quota, permissions): an MXNetError that
    ``except OSError`` also catches, carrying the ``errno`` of the cause."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


def _write_failed(path: str, e: OSError) -> WriteFailedError:
    err = WriteFailedError(f"{path}: cannot write: {e.strerror or e}")
    err.errno, err.strerror, err.filename = e.errno, e.strerror, path
    return err


def _fail(loc: Location, what: str, e: BaseException) -> MXNetError:
    if isinstance(e, MXNetError):
        return e
    if isinstance(e, FileNotFoundError):
        return MissingFileError(f"{loc.uri}: cannot {what}: No such file or directory")
    reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return MXNetError(f"{loc.uri}: cannot {what}: {reason}")


# ----------------------------------------------------------------------------- reading


@contextmanager
def open_read(uri: str | os.PathLike | Location,
              storage_options: Mapping[str, Any] | None = None) -> Iterator[IO[bytes]]:
    """A seekable binary file for reading ``uri``, closed on exit."""
    loc = uri if isinstance(uri, Location) else resolve(uri, storage_options)
    try:
        if loc.local is not None:
            f = open(loc.local, "rb")  # noqa: SIM115 - closed below
        elif int(loc.fs.size(loc.path)) <= _GET_LIMIT:
            # One request for the whole object: per-request latency, not bandwidth, is what
            # costs on object stores. The bytes are then copied once, into the arrays.
            f = io.BytesIO(loc.fs.cat_file(loc.path))
            f.name = loc.uri
        else:
            f = loc.fs.open(loc.path, "rb", block_size=_STREAM_BLOCK, cache_type="readahead")
    except Exception as e:
        raise _fail(loc, "open for reading", e) from e
    with f:
        yield f


class RangedFile(io.RawIOBase):
    """A read-only, seekable file over ranged requests (``fs.cat_file(path, start, end)``).

    Small reads fetch a window of :data:`_WINDOW` bytes (a record header in one request),
    growing while they continue sequentially; a large ``readinto`` fetches exactly the bytes
    asked for; seeking fetches nothing. So a reader that skips what it does not need moves
    little more than what it reads. ``requests`` and ``bytes_fetched`` count the traffic.
    """

    def __init__(self, fs: Any, path: str, nbytes: int | None = None, name: str = ""):
        super().__init__()
        self.fs = fs
        self.path = path
        self.name = name or path
        self._size = int(fs.size(path)) if nbytes is None else nbytes
        self._pos = 0
        self._buf = b""
        self._buf_at = 0
        self._window = _WINDOW
        self.requests = 0
        self.bytes_fetched = 0

    def _fetch(self, start: int, end: int) -> bytes:
        end = min(end, self._size)
        if end <= start:
            return b""
        data = self.fs.cat_file(self.path, start=start, end=end)
        self.requests += 1
        self.bytes_fetched += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        pos = base + offset
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        n = min(len(view), max(0, self._size - self._pos))
        if n == 0:
            return 0
        if self._size <= _WHOLE and not self._buf:
            self._buf, self._buf_at = self._fetch(0, self._size), 0
        rel = self._pos - self._buf_at
        if 0 <= rel and rel + n <= len(self._buf):
            view[:n] = self._buf[rel:rel + n]
        elif n >= _WINDOW:
            data = self._fetch(self._pos, self._pos + n)
            n = len(data)
            view[:n] = data
        else:
            sequential = bool(self._buf) and self._pos == self._buf_at + len(self._buf)
            self._window = min(2 * self._window, _MAX_WINDOW) if sequential else _WINDOW
            self._buf = self._fetch(self._pos, self._pos + max(n, self._window))
            self._buf_at = self._pos
            n = min(n, len(self._buf))
            view[:n] = self._buf[:n]
        self._pos += n
        return n

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = max(0, self._size - self._pos)
        buf = bytearray(min(n, max(0, self._size - self._pos)))
        got = self.readinto(buf)
        return bytes(buf[:got])


def open_ranged(uri: str | os.PathLike | Location,
                storage_options: Mapping[str, Any] | None = None) -> IO[bytes]:
    """A seekable binary file that reads only the ranges asked for; the caller closes it.

    Local files are opened plainly (seeks are free there); other storage gets a
    :class:`RangedFile`.
    """
    loc = uri if isinstance(uri, Location) else resolve(uri, storage_options)
    try:
        if loc.local is not None:
            return open(loc.local, "rb")  # noqa: SIM115 - the caller closes it
        return RangedFile(loc.fs, loc.path, name=loc.uri)
    except Exception as e:
        raise _fail(loc, "open for reading", e) from e


def read_bytes(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None
               ) -> bytes:
    """The whole content of ``uri``."""
    loc = resolve(uri, storage_options)
    try:
        if loc.local is not None:
            with open(loc.local, "rb") as f:
                return f.read()
        return loc.fs.cat_file(loc.path)
    except Exception as e:
        raise _fail(loc, "read", e) from e


def read_text(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None,
              encoding: str = "utf-8") -> str:
    """The content of ``uri`` decoded as text (symbol JSON); MXNetError if it is not UTF-8."""
    data = read_bytes(uri, storage_options)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise MXNetError(f"{uri}: byte {e.start}: not {encoding} text ({e.reason})") from None


def read_range(uri: str | os.PathLike, start: int, end: int,
               storage_options: Mapping[str, Any] | None = None) -> bytes:
    """Bytes ``[start, end)`` of ``uri`` (fewer at the end of the file)."""
    loc = resolve(uri, storage_options)
    try:
        if loc.local is not None:
            with open(loc.local, "rb") as f:
                f.seek(start)
                return f.read(max(0, end - start))
        return loc.fs.cat_file(loc.path, start=start, end=end)
    except Exception as e:
        raise _fail(loc, "read", e) from e


# ----------------------------------------------------------------------------- writing


@contextmanager
def open_write(uri: str | os.PathLike | Location,
               storage_options: Mapping[str, Any] | None = None,
               size: int | None = None) -> Iterator[IO[bytes]]:
    """A binary file whose content replaces ``uri`` atomically when the block ends without
    error; on error the target is untouched and the partial data thrown away.

    ``size``, when known, reserves a local file's blocks up front (fewer, larger extents).
    """
    loc = uri if isinstance(uri, Location) else resolve(uri, storage_options)
    if loc.local is not None:
        with _write_local(loc.local, size) as f:
            yield f
    elif loc.protocol in _OBJECT_STORES:
        if size is not None and size <= _PUT_LIMIT:
            with _put_object(loc, size) as f:
                yield f
        else:
            with _write_object(loc) as f:
                yield f
    else:
        with _write_renamed(loc) as f:
            yield f


# A local save writes ".NAME.XXXXXXXX.tmp" beside NAME (mkstemp's eight random characters)
# and holds an exclusive flock on it until it has been renamed over NAME. A temporary file
# that nobody holds a lock on was left by a save that died (killed, power cut): the next save
# of NAME removes it, and stale_temp_files lists it.
_TMP_SUFFIX = ".tmp"


def _tmp_pattern(base: str) -> re.Pattern:
    return re.compile(re.escape(f".{base}.") + r"[A-Za-z0-9_]{8}" + re.escape(_TMP_SUFFIX))


def _lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; False if another process holds one.
    Where there are no flocks (Windows) an open file cannot be deleted anyway: True."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _local_temp_files(path: str) -> list[str]:
    folder = os.path.dirname(os.path.abspath(path))
    pattern = _tmp_pattern(os.path.basename(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if pattern.fullmatch(n))


def _remove_stale(path: str, keep: str) -> None:
    """Delete the temporary files of saves of ``path`` that died (no lock held on them)."""
    for tmp in _local_temp_files(path):
        if tmp == keep:
            continue
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd):
                os.unlink(tmp)
        except OSError:  # gone already, or not ours to delete: leave it
            pass
        finally:
            os.close(fd)


def _file_mode(path: str) -> int:
    """The mode a saved file gets: the replaced file's, else 0o666 less the umask (mkstemp
    makes its files 0o600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _check_target(path: str) -> None:
    """MXNet opens the target for writing: a directory or a read-only file there is an error,
    and the old file stays as it is."""
    if os.path.isdir(path):
        raise MXNetError(f"{path}: cannot write: it is a directory")
    if os.path.lexists(path):
        try:
            mode = os.stat(path).st_mode
        except OSError:  # a dangling symlink: replaced like a missing file
            return
        # the write bits, not only access(): root may write anything, yet a file marked
        # read-only is meant to stay
        if not mode & 0o222 or not os.access(path, os.W_OK):
            raise MXNetError(f"{path}: cannot write: the file is read-only")


def _new_temp(path: str, folder: str) -> tuple[int, str]:
    """A locked temporary file beside ``path``. A cleaner may delete a fresh temporary file
    in the instant before it is locked: then the name no longer leads to it, so retry."""
    for _ in range(100):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=_TMP_SUFFIX)
        if _lock(fd):
            try:
                if os.path.samestat(os.fstat(fd), os.stat(tmp)):
                    return fd, tmp
            except OSError:
                pass
        os.close(fd)
    raise MXNetError(f"{path}: cannot write: no temporary file could be kept beside it")


@contextmanager
def _write_local(path: str, size: int | None) -> Iterator[IO[bytes]]:
    folder = os.path.dirname(os.path.abspath(path))
    _check_target(path)
    try:
        fd, tmp = _new_temp(path, folder)
    except OSError as e:
        raise _write_failed(path, e) from e
    # The lock lives on the open file, which this duplicate keeps open until the rename is
    # done: a concurrent save's cleanup must not take the file from under us.
    lock_fd = os.dup(fd)
    f = os.fdopen(fd, "wb")
    try:
        _remove_stale(path, keep=tmp)
        if size and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:  # not supported here: an optimisation only
                pass
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _file_mode(path))
        with f:
            yield f
            f.flush()
            if size is not None and f.tell() != size:
                f.truncate()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    except BaseException as e:
        f.close()
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, MXNetError):
            # disk full, quota, a target that turned into a folder...: the old file stays
            raise _write_failed(path, e) from e
        raise
    finally:
        os.close(lock_fd)


def stale_temp_files(uri: str | os.PathLike,
                     storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Temporary files that saves of ``uri`` left behind when they died (``.NAME.*.tmp``
    beside a local file, held by no running save); the next save of ``uri`` removes them.
    Other storage has none to report (object stores publish whole objects only)."""
    loc = resolve(uri, storage_options)
    if loc.local is None:
        return []
    stale = []
    for tmp in _local_temp_files(loc.local):
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd):
                stale.append(tmp)
        finally:
            os.close(fd)  # closing releases the lock taken to look
    return stale


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


class _Presized(io.RawIOBase):
    """A write-only buffer of an expected size, filled without regrowing."""

    def __init__(self, size: int):
        super().__init__()
        self.buf = bytearray(size)
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        n = len(view)
        end = self.pos + n
        if end > len(self.buf):
            self.buf.extend(bytes(end - len(self.buf)))
        self.buf[self.pos:end] = view
        self.pos = end
        return n

    def tell(self) -> int:
        return self.pos

    def content(self) -> bytearray:
        del self.buf[self.pos:]  # in place: clients want bytes or bytearray, not a view
        return self.buf


@contextmanager
def _put_object(loc: Location, size: int) -> Iterator[IO[bytes]]:
    f = _Presized(size)
    yield f  # on error nothing was sent: the object is untouched
    try:
        loc.fs.pipe_file(loc.path, f.content())
    except Exception as e:
        raise _fail(loc, "write", e) from e


@contextmanager
def _write_object(loc: Location) -> Iterator[IO[bytes]]:
    try:
        f = loc.fs.open(loc.path, "wb")
    except Exception as e:
        raise _fail(loc, "write", e) from e
    try:
        yield f
    except BaseException:
        # Abort the upload (multipart uploads are dropped by the store) and mark the file
        # closed so that neither close() nor __del__ publishes the partial object.
        try:
            f.discard()
        finally:
            try:
                f.closed = True
            except AttributeError:
                pass
        raise
    try:
        f.close()
    except Exception as e:
        raise _fail(loc, "write", e) from e


@contextmanager
def _write_renamed(loc: Location) -> Iterator[IO[bytes]]:
    fs = loc.fs
    parent, base = posixpath.split(loc.path)
    tmp = posixpath.join(parent, f".{base}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        f = fs.open(tmp, "wb")
    except Exception as e:
        raise _fail(loc, "write", e) from e
    try:
        with f:
            yield f
        try:
            fs.mv(tmp, loc.path)
        except FileExistsError:
            # Some filesystems (HDFS) refuse to rename over a file: the old one must go first.
            fs.rm(loc.path)
            fs.mv(tmp, loc.path)
    except BaseException as e:
        try:
            fs.rm(tmp)
        except Exception:  # never created, or already gone: nothing to clean
            pass
        if isinstance(e, Exception) and not isinstance(e, MXNetError):
            raise _fail(loc, "write", e) from e
        raise


def write_bytes_atomic(uri: str | os.PathLike, data: bytes | bytearray | memoryview,
                       storage_options: Mapping[str, Any] | None = None) -> None:
    """Replace ``uri`` with ``data`` atomically (see :func:`open_write`)."""
    with open_write(uri, storage_options, size=len(memoryview(data))) as f:
        f.write(data)


def write_text_atomic(uri: str | os.PathLike, text: str,
                      storage_options: Mapping[str, Any] | None = None,
                      encoding: str = "utf-8") -> None:
    """Replace ``uri`` with ``text`` encoded as UTF-8, atomically (symbol JSON)."""
    write_bytes_atomic(uri, text.encode(encoding), storage_options)


# ----------------------------------------------------------------------------- file system


def size(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> int:
    """Size of ``uri`` in bytes."""
    loc = resolve(uri, storage_options)
    try:
        if loc.local is not None:
            return os.path.getsize(loc.local)
        return int(loc.fs.size(loc.path))
    except Exception as e:
        raise _fail(loc, "get the size of", e) from e


def exists(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None) -> bool:
    """Whether a file is at ``uri``."""
    loc = resolve(uri, storage_options)
    if loc.local is not None:
        return os.path.isfile(loc.local)
    try:
        loc.fs.invalidate_cache(loc.path)
        return bool(loc.fs.isfile(loc.path))
    except Exception as e:
        raise _fail(loc, "look up", e) from e


def listdir(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None
            ) -> list[str]:
    """Names (not paths) of the files in the folder ``uri``, sorted; ``[]`` when it is absent.
    """
    loc = resolve(uri, storage_options)
    try:
        if loc.local is not None:
            folder = loc.local or "."
            if not os.path.isdir(folder):
                return []
            return sorted(e.name for e in os.scandir(folder) if e.is_file())
        fs = loc.fs
        fs.invalidate_cache(loc.path)
        if not fs.isdir(loc.path):
            return []
        entries = fs.ls(loc.path, detail=True)
    except Exception as e:
        raise _fail(loc, "list", e) from e
    return sorted(posixpath.basename(e["name"].rstrip("/")) for e in entries
                  if e.get("type") == "file")


def folder_of(uri: str | os.PathLike) -> tuple[str, str]:
    """``(folder, name)`` of a location, both as the caller spells them (a URI stays a URI):
    ``'s3://b/run/model'`` -> ``('s3://b/run', 'model')``."""
    uri = os.fspath(uri)
    if "://" not in uri:
        folder, name = os.path.split(uri)
        return folder or ".", name
    head, sep, rest = uri.rpartition("://")
    folder, _, name = rest.rpartition("/")
    return head + sep + folder, name


def remove(uri: str | os.PathLike, storage_options: Mapping[str, Any] | None = None,
           missing_ok: bool = True) -> None:
    """Delete the file at ``uri`` (an absent file is fine when ``missing_ok``)."""
    loc = resolve(uri, storage_options)
    try:
        if loc.local is not None:
            os.unlink(loc.local)
        else:
            loc.fs.rm_file(loc.path)
    except FileNotFoundError as e:
        if not missing_ok:
            raise _fail(loc, "remove", e) from e
    except Exception as e:
        raise _fail(loc, "remove", e) from e


def rename(src: str | os.PathLike, dst: str | os.PathLike,
           storage_options: Mapping[str, Any] | None = None) -> None:
    """Move ``src`` to ``dst`` on the same filesystem, replacing ``dst``.

    Atomic on local files and filesystems with atomic rename; on object stores it is a
    server-side copy then a delete of ``src`` (``dst`` still appears whole).
    """
    a = resolve(src, storage_options)
    b = resolve(dst, storage_options)
    try:
        if a.local is not None and b.local is not None:
            os.replace(a.local, b.local)
            return
        if a.fs is None or b.fs is None or type(a.fs) is not type(b.fs):
            raise MXNetError(f"cannot rename {src} to {dst}: not on the same filesystem")
        a.fs.mv(a.path, b.path)
    except Exception as e:
        raise _fail(a, f"rename to {dst}", e) from e
