"""Reading MXNet pickles (pickled NDArrays, ``*.states``) without running arbitrary code.

A pickle names the globals it needs and the unpickler calls them; a hostile pickle can name
``os.system``. :class:`RestrictedUnpickler` resolves only the globals in :data:`SAFE_GLOBALS`
and refuses every other one *before* importing or calling anything.

:data:`SAFE_GLOBALS` is data: ``(module, name)`` as the pickle spells it, mapped to
``"importable.module:attribute"`` in mxlite (resolved lazily, on first use). MXNet's own class
paths map onto mxlite's classes, and mxlite's paths onto themselves, so pickles from both load.
Other parts add their entries (optimizers, say) with :func:`allow_global`.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import os
import pickle
import pickletools
import struct
from typing import Any, BinaryIO

from ..base import MXNetError

__all__ = ["SAFE_GLOBALS", "allow_global", "RestrictedUnpickler", "load_pickle"]

_ND = "mxlite.ndarray.ndarray:NDArray"
_RSP = "mxlite.ndarray.sparse:RowSparseNDArray"
_CSR = "mxlite.ndarray.sparse:CSRNDArray"
_CTX = "mxlite.context:Context"

SAFE_GLOBALS: dict[tuple[str, str], str] = {
    # MXNet's classes -> mxlite's
    ("mxnet.ndarray.ndarray", "NDArray"): _ND,
    ("mxnet.ndarray.sparse", "RowSparseNDArray"): _RSP,
    ("mxnet.ndarray.sparse", "CSRNDArray"): _CSR,
    ("mxnet.numpy", "ndarray"): _ND,
    ("mxnet.context", "Context"): _CTX,
    ("mxnet.device", "Device"): _CTX,
    # mxlite's own pickles
    ("mxlite.ndarray.ndarray", "NDArray"): _ND,
    ("mxlite.ndarray.sparse", "RowSparseNDArray"): _RSP,
    ("mxlite.ndarray.sparse", "CSRNDArray"): _CSR,
    ("mxlite.context", "Context"): _CTX,
    # what pickle itself emits for the above: the record as a bytearray (protocol 2 builds
    # bytes via _codecs.encode), dicts, and copyreg's constructors for protocols 0-2. The
    # copyreg helpers only instantiate classes that themselves came through this table.
    ("builtins", "bytearray"): "builtins:bytearray",
    ("builtins", "bytes"): "builtins:bytes",
    ("builtins", "set"): "builtins:set",
    ("builtins", "frozenset"): "builtins:frozenset",
    ("builtins", "slice"): "builtins:slice",
    ("builtins", "complex"): "builtins:complex",
    ("builtins", "object"): "builtins:object",
    ("_codecs", "encode"): "_codecs:encode",
    ("collections", "OrderedDict"): "collections:OrderedDict",
    ("copyreg", "_reconstructor"): "copyreg:_reconstructor",
    ("copyreg", "__newobj__"): "copyreg:__newobj__",
}


def allow_global(module: str, name: str, target: str) -> None:
    """Let pickles reference ``module.name``, resolved as ``target`` (``"pkg.mod:attr"``)."""
    SAFE_GLOBALS[(module, name)] = target


def _resolve(target: str) -> Any:
    mod, _, attr = target.partition(":")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves globals only through :data:`SAFE_GLOBALS`."""

    def __init__(self, file: BinaryIO, source: str = "<pickle>"):
        # latin1 keeps Python 2 byte strings (MXNet's old pickles) as they were written.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in SAFE_GLOBALS:
            # Python 2 spellings (__builtin__, copy_reg) as pickle's own fix_imports maps them.
            key = _compat_pickle.NAME_MAPPING.get(key, key)
            key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
        target = SAFE_GLOBALS.get(key)
        if target is None:
            raise MXNetError(f"{self.source}: refusing to load global {module}.{name}: not in "
                             "mxlite's allow-list of pickle globals")
        return _resolve(target)

    def persistent_load(self, pid: Any) -> Any:
        raise MXNetError(f"{self.source}: refusing persistent id {pid!r} in pickle")


def load_pickle(data: bytes | bytearray | memoryview | str | os.PathLike | BinaryIO) -> Any:
    """Unpickle ``data`` (bytes, a path, or a binary file) allowing only safe globals.

    Reads pickles written by MXNet (``pickle.dumps(nd)``, ``*.states``) and by mxlite; raises
    MXNetError naming the source for any global outside :data:`SAFE_GLOBALS` and for a
    damaged pickle.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _load(io.BytesIO(data), "<pickle bytes>")
    if isinstance(data, (str, os.PathLike)):
        from ..ndarray.utils import open_file

        with open_file(data, "rb") as f:
            return _load(f, os.fspath(data))
    if hasattr(data, "read"):
        return _load(data, str(getattr(data, "name", "") or "<pickle stream>"))
    raise TypeError(f"data must be bytes, a path or a binary file, got {type(data).__name__}")


class _Bounded:
    """A seekable stream whose ``read(n)`` never asks for more than what remains: file
    objects allocate ``n`` bytes before reading."""

    def __init__(self, f: BinaryIO):
        self.f = f
        pos = f.tell()
        self.end = f.seek(0, os.SEEK_END)
        f.seek(pos)

    def read(self, n: int = -1) -> bytes:
        left = self.end - self.f.tell()
        return self.f.read(left if n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self.f.readline()

    def tell(self) -> int:
        return self.f.tell()


def _check_lengths(f: BinaryIO, source: str) -> None:
    """Walk the opcodes once before unpickling.

    pickle's C unpickler allocates a BINBYTES/BYTEARRAY8 object of the length its opcode
    claims *before* reading it, so a 30-byte pickle claiming 2**40 bytes raises MemoryError.
    :func:`pickletools.genops` reads each argument with ``read(n)``, which returns only the
    bytes that exist, and refuses short ones: every claimed length is checked against the
    data behind it.
    """
    try:
        for _ in pickletools.genops(_Bounded(f)):
            pass
    except (ValueError, EOFError, struct.error, UnicodeDecodeError) as e:
        raise MXNetError(f"{source}: not a valid pickle: {e}") from e


def _load(f: BinaryIO, source: str) -> Any:
    try:
        seekable = f.seekable()
    except (AttributeError, ValueError, OSError):
        seekable = False
    if not seekable:
        f = io.BytesIO(f.read())
    start = f.tell()
    _check_lengths(f, source)
    f.seek(start)
    try:
        return RestrictedUnpickler(f, source).load()
    except MXNetError as e:
        if str(e).startswith(source):
            raise
        raise MXNetError(f"{source}: {e}") from e
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError, struct.error) as e:
        raise MXNetError(f"{source}: not a valid pickle: {type(e).__name__}: {e}") from e

