"""PyTorch's zip serialization (``torch.save`` since 1.6), for ``state_dict`` files, without
importing torch.

A file is a zip archive whose entries all sit in one folder ``<prefix>/`` (``archive`` in
current torch, the file's stem in 1.6-1.x):

- ``data.pkl``: a protocol-2 pickle of the state_dict, a ``dict`` or
  ``collections.OrderedDict`` of name -> tensor. A tensor is
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``
  (``_rebuild_tensor_v3`` with a trailing dtype for the unsigned 16-64 bit types;
  ``_rebuild_parameter(tensor, requires_grad, hooks)`` around it for an ``nn.Parameter``),
  and ``storage`` a persistent id ``('storage', torch.FloatStorage, key, location, numel)``;
- ``data/<key>``: each storage's raw bytes, ``numel`` elements (bytes, for
  ``UntypedStorage``), in the order ``byteorder`` names (little unless it says ``big``);
- ``version`` (or ``.data/version``): the record format version, an integer;
- ``byteorder``, ``.format_version``, ``.storage_alignment``, ``.data/serialization_id``:
  written by recent versions.

Reading is as safe as ``torch.load(weights_only=True)``: the unpickler resolves only the
globals a state_dict needs (:data:`GLOBALS`) to inert stand-ins, and every length, offset and
stride is checked against the bytes in the file before an array is built, so a damaged or
hostile file ends in an :class:`~mxlite.base.MXNetError` naming it, within memory bounded by
its size. Tensors that view a shared storage (an offset, a stride, a transpose) come out as
the values torch shows. The legacy (``_use_new_zipfile_serialization=False``) and tar formats
are refused with a message saying how to re-save them.

Writing produces what ``torch.save`` writes for a state_dict of contiguous cpu tensors
(one storage per tensor, 64-byte aligned entries, zip64 past 4 GiB), deterministically: the
same arrays give the same bytes.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

from ..base import MXNetError
from . import pickles as _pickles

__all__ = ["GLOBALS", "STORAGE_DTYPES", "encode_parts", "read", "read_with_metadata"]

# torch's typed storage classes and the numpy dtype of their elements.
STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                  "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                  "ByteStorage": "uint8", "CharStorage": "int8", "ShortStorage": "int16",
                  "IntStorage": "int32", "LongStorage": "int64", "BoolStorage": "bool"}
_STORAGE_OF = {v: k for k, v in STORAGE_DTYPES.items()}
# dtypes torch spells as globals (``torch.float32``), used by _rebuild_tensor_v3
_TORCH_DTYPES = {"float32": "float32", "float": "float32", "float64": "float64",
                 "double": "float64", "float16": "float16", "half": "float16",
                 "bfloat16": "bfloat16", "uint8": "uint8", "int8": "int8", "int16": "int16",
                 "short": "int16", "int32": "int32", "int": "int32", "int64": "int64",
                 "long": "int64", "bool": "bool", "uint16": "uint16", "uint32": "uint32",
                 "uint64": "uint64"}
# written through _rebuild_tensor_v3 and an UntypedStorage, as torch does for these
_V3_DTYPES = ("uint16", "uint32", "uint64")
_MAX_NDIM = 32
# what one load may materialise, relative to the file's size: tensors viewing one storage
# twice (tied weights) or with zero strides (expanded) legitimately exceed the file
_BUDGET_FACTOR = 4
_BUDGET_SLACK = 1 << 20
_SMALL_ENTRY = 1 << 20  # version, byteorder, metadata: text of a few bytes
_DEFLATE_RATIO = 1032  # deflate's maximum expansion
_LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
_METADATA = ".data/mxnet_metadata.json"


# ------------------------------------------------------------------------------ stand-ins

class _Inert:
    """Base of the unpickler's stand-ins: nothing a pickle can BUILD into."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise MXNetError(f"a pickle BUILD on {self!r}; a state_dict has none")

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} is not picklable")


class _StorageType(_Inert):
    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: str | None):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _DType(_Inert):
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _Storage(_Inert):
    __slots__ = ("key", "dtype", "nbytes", "raw")

    def __init__(self, key: str, dtype: str | None, nbytes: int, raw: bytes):
        self.key, self.dtype, self.nbytes, self.raw = key, dtype, nbytes, raw

    def __repr__(self) -> str:
        return f"storage {_pickles._short(self.key)}"


class _Tensor(_Inert):
    __slots__ = ("storage", "offset", "size", "stride", "dtype")

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple, dtype: str):
        self.storage, self.offset, self.size, self.stride, self.dtype = \
            storage, offset, size, stride, dtype

    def __repr__(self) -> str:
        return f"tensor{self.size}"


def _ordered_dict(*args: Any) -> OrderedDict:
    if args:
        raise MXNetError("collections.OrderedDict called with arguments; torch pickles it "
                         "empty and fills it with SETITEMS")
    return OrderedDict()


def _is_int(v: Any) -> bool:
    return type(v) is int


def _int_tuple(v: Any, what: str) -> tuple:
    if type(v) is not tuple or len(v) > _MAX_NDIM or not all(_is_int(d) and d >= 0 for d in v):
        raise MXNetError(f"tensor {what} {_pickles._short(v)} is not a tuple of at most "
                         f"{_MAX_NDIM} non-negative integers")
    return v


def _check_extras(requires_grad: Any, hooks: Any, metadata: Any) -> None:
    if type(requires_grad) is not bool:
        raise MXNetError(f"tensor requires_grad {_pickles._short(requires_grad)} is not a bool")
    if type(hooks) not in (dict, OrderedDict) or hooks:
        raise MXNetError(f"tensor backward_hooks {_pickles._short(hooks)}: expected an empty "
                         "OrderedDict (torch never saves hooks)")
    if metadata is not None and type(metadata) not in (dict, OrderedDict):
        raise MXNetError(f"tensor metadata {_pickles._short(metadata)} is not a dict")


def _tensor(storage: Any, offset: Any, size: Any, stride: Any, dtype: str) -> _Tensor:
    if type(storage) is not _Storage:
        raise MXNetError(f"tensor storage {_pickles._short(storage)} is not a persistent "
                         "storage reference")
    if not _is_int(offset) or offset < 0:
        raise MXNetError(f"tensor storage_offset {_pickles._short(offset)} is not a "
                         "non-negative integer")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise MXNetError(f"tensor size {size} and stride {stride} differ in length")
    itemsize = _itemsize(dtype)
    if storage.nbytes % itemsize:
        raise MXNetError(f"{storage!r} holds {storage.nbytes} bytes, not a whole number of "
                         f"{dtype} elements")
    numel = storage.nbytes // itemsize
    if all(size):
        last = offset + sum((d - 1) * s for d, s in zip(size, stride))
        if last >= numel:
            raise MXNetError(f"tensor of size {size}, stride {stride} at offset {offset} "
                             f"reaches element {last} of {storage!r}, which has {numel}")
    return _Tensor(storage, offset, size, stride, dtype)


def _rebuild_tensor_v2(storage: Any = None, offset: Any = None, size: Any = None,
                       stride: Any = None, requires_grad: Any = False, hooks: Any = None,
                       metadata: Any = None, *rest: Any) -> _Tensor:
    if rest or type(storage) is not _Storage or storage.dtype is None:
        raise MXNetError("_rebuild_tensor_v2 expects (typed storage, offset, size, stride, "
                         "requires_grad, backward_hooks[, metadata])")
    _check_extras(requires_grad, hooks, metadata)
    return _tensor(storage, offset, size, stride, storage.dtype)


def _rebuild_tensor_v3(storage: Any = None, offset: Any = None, size: Any = None,
                       stride: Any = None, requires_grad: Any = False, hooks: Any = None,
                       dtype: Any = None, metadata: Any = None, *rest: Any) -> _Tensor:
    if rest or type(dtype) is not _DType:
        raise MXNetError("_rebuild_tensor_v3 expects (storage, offset, size, stride, "
                         "requires_grad, backward_hooks, dtype[, metadata])")
    _check_extras(requires_grad, hooks, metadata)
    if type(storage) is _Storage and storage.dtype not in (None, "uint8"):
        raise MXNetError(f"_rebuild_tensor_v3 of a typed {storage.dtype} storage; torch "
                         "writes an UntypedStorage there")
    return _tensor(storage, offset, size, stride, dtype.name)


def _rebuild_parameter(data: Any = None, requires_grad: Any = False, hooks: Any = None,
                       *rest: Any) -> _Tensor:
    if rest or type(data) is not _Tensor:
        raise MXNetError("_rebuild_parameter expects (tensor, requires_grad, backward_hooks)")
    _check_extras(requires_grad, hooks, None)
    return data


class _Func(_Inert):
    """A callable stand-in: pickles may call it but, unlike a function, not set its
    attributes (``__defaults__``) through BUILD."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Any, name: str):
        self.fn, self.name = fn, name

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)

    def __repr__(self) -> str:
        return self.name


GLOBALS: dict[tuple[str, str], Any] = {
    (m, n): _Func(f, f"{m}.{n}") for (m, n), f in (
        (("torch._utils", "_rebuild_tensor_v2"), _rebuild_tensor_v2),
        (("torch._utils", "_rebuild_tensor_v3"), _rebuild_tensor_v3),
        (("torch._utils", "_rebuild_parameter"), _rebuild_parameter),
        (("collections", "OrderedDict"), _ordered_dict))}
GLOBALS.update({("torch", n): _StorageType(n, dt) for n, dt in STORAGE_DTYPES.items()})
GLOBALS.update({(m, "UntypedStorage"): _StorageType("UntypedStorage", None)
                for m in ("torch", "torch.storage")})
GLOBALS.update({("torch", n): _DType(dt) for n, dt in _TORCH_DTYPES.items()})
"""``(module, name)`` -> stand-in: every global a state_dict pickle may name."""


def _itemsize(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def _np_dtype(dtype: str) -> np.dtype:
    if dtype == "bfloat16":
        from .arrays import bfloat16_dtype

        return bfloat16_dtype()
    return np.dtype(dtype)


# ------------------------------------------------------------------------------- reading

class _Unpickler(pickle.Unpickler):
    def __init__(self, f: BinaryIO, archive: _Archive):
        super().__init__(f)
        self.archive = archive

    def find_class(self, module: str, name: str) -> Any:
        obj = GLOBALS.get((module, name))
        if obj is None:
            raise MXNetError(f"refusing to load global {module}.{name}: a state_dict of "
                             "tensors needs only torch's tensor rebuilders, storage classes, "
                             "dtypes and OrderedDict")
        return obj

    def persistent_load(self, pid: Any) -> Any:
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage"
                and type(pid[1]) is _StorageType and type(pid[2]) is str
                and type(pid[3]) is str and _is_int(pid[4]) and pid[4] >= 0):
            raise MXNetError(f"persistent id {_pickles._short(pid)} is not ('storage', "
                             "storage class, key, location, numel)")
        return self.archive.storage(pid[1], pid[2], pid[4])


class _Archive:
    """The checked zip directory of one file and the storages read from it so far."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, source: str, size: int,
                 byteorder: str):
        self.zf, self.prefix, self.source, self.size = zf, prefix, source, size
        self.byteorder = byteorder
        self.storages: dict[str, _Storage] = {}
        # zip entries may overlap (one quoting another), so the storages read are charged
        # against the file's size too: sound files read each byte at most once (deflated
        # ones a few times over)
        self.budget = _BUDGET_FACTOR * size + _BUDGET_SLACK

    def storage(self, cls: _StorageType, key: str, numel: int) -> _Storage:
        nbytes = numel * (1 if cls.dtype is None else _itemsize(cls.dtype))
        known = self.storages.get(key)
        name = _pickles._short(key)
        if known is not None:
            if known.dtype != cls.dtype or known.nbytes != nbytes:
                raise MXNetError(f"storage {name} is referenced as {known.dtype or 'bytes'} "
                                 f"of {known.nbytes} bytes and as {cls.dtype or 'bytes'} of "
                                 f"{nbytes} bytes")
            return known
        entry = f"{self.prefix}/data/{key}"
        try:
            info = self.zf.getinfo(entry)
        except KeyError:
            raise MXNetError(f"storage {name} has no entry {_pickles._short(entry)} in the "
                             "archive") from None
        if info.file_size != nbytes:
            raise MXNetError(f"storage {name} claims {numel} {cls.dtype or 'byte'} elements "
                             f"({nbytes} bytes) but its entry {_pickles._short(entry)} holds "
                             f"{info.file_size} bytes")
        self.budget -= nbytes
        if self.budget < 0:
            raise MXNetError(f"storage {name}: the storages read exceed {_BUDGET_FACTOR}x the "
                             f"file's {self.size} bytes (overlapping zip entries); refused")
        st = _Storage(key, cls.dtype, nbytes, _read_entry(self.zf, info))
        self.storages[key] = st
        return st


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    data = zf.read(info)
    if len(data) != info.file_size:  # zipfile checks this too; a guard for views below
        raise MXNetError(f"entry {info.filename!r} gave {len(data)} of {info.file_size} bytes")
    return data


def _refuse_non_zip(head: bytes, source: str) -> None:
    if head.startswith(_LEGACY_MAGIC):
        raise MXNetError(f"{source}: a legacy PyTorch file (torch.save with "
                         "_use_new_zipfile_serialization=False, or torch < 1.6); mxlite reads "
                         "the zip format only: re-save it with torch.save(torch.load(f)) in "
                         "torch >= 1.6")
    if len(head) >= 262 and head[257:262] == b"ustar":
        raise MXNetError(f"{source}: a tar-format PyTorch file (torch < 0.4); mxlite reads "
                         "the zip format of torch >= 1.6 only: re-save it with a newer torch")
    if head[:1] == b"\x80":
        raise MXNetError(f"{source}: a bare pickle, not a PyTorch zip archive (torch >= 1.6 "
                         "torch.save writes a zip file starting with 'PK')")
    raise MXNetError(f"{source}: not a PyTorch zip archive (it starts with "
                     f"{bytes(head[:8])!r}, expected b'PK\\x03\\x04')")


def _open(data: bytes, source: str) -> tuple[zipfile.ZipFile, str]:
    if not data.startswith(b"PK\x03\x04"):
        _refuse_non_zip(data[:512], source)
    size = len(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    infos = zf.infolist()
    pkls = [i.filename for i in infos if i.filename.endswith("/data.pkl")
            and i.filename.count("/") == 1]
    if len(pkls) != 1:
        raise MXNetError(f"{source}: expected one <archive>/data.pkl entry, found "
                         f"{len(pkls)} among {len(infos)} entries")
    prefix = pkls[0][:-len("/data.pkl")]
    if len({i.filename for i in infos}) != len(infos):
        raise MXNetError(f"{source}: the zip directory names an entry twice; readers would "
                         "disagree on which one holds the data")
    for i in infos:
        # every claimed size is checked against the file before zipfile is asked to read
        if i.header_offset + 30 + i.compress_size > size:
            raise MXNetError(f"{source}: zip entry {i.filename!r} claims {i.compress_size} "
                             f"bytes at offset {i.header_offset}, beyond the file's {size}")
        if i.compress_type == zipfile.ZIP_STORED:
            if i.file_size != i.compress_size:
                raise MXNetError(f"{source}: stored zip entry {i.filename!r} has size "
                                 f"{i.file_size} but {i.compress_size} bytes")
        elif i.compress_type == zipfile.ZIP_DEFLATED:
            if i.file_size > _DEFLATE_RATIO * i.compress_size + 64:
                raise MXNetError(f"{source}: zip entry {i.filename!r} claims {i.file_size} "
                                 f"bytes from {i.compress_size} deflated ones, more than "
                                 "deflate can expand to")
        else:
            raise MXNetError(f"{source}: zip entry {i.filename!r} uses compression method "
                             f"{i.compress_type}; torch files are stored or deflated")
        if not i.filename.startswith(prefix + "/"):
            raise MXNetError(f"{source}: zip entry {i.filename!r} is outside the archive "
                             f"folder {prefix!r}/")
    return zf, prefix


def _small_text(zf: zipfile.ZipFile, name: str, source: str) -> str | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _SMALL_ENTRY:
        raise MXNetError(f"{source}: entry {name!r} has {info.file_size} bytes; expected a "
                         "short text")
    raw = _read_entry(zf, info)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MXNetError(f"{source}: entry {name!r} is not UTF-8 text") from None


def read(data: bytes | bytearray | memoryview | BinaryIO, source: str = "<torch file>"
         ) -> list[tuple[str, np.ndarray]]:
    """The ``(name, array)`` pairs of a state_dict file in the pickle's order; MXNetError
    naming ``source`` for anything else."""
    return read_with_metadata(data, source)[0]


def read_with_metadata(data: bytes | bytearray | memoryview | BinaryIO,
                       source: str = "<torch file>"
                       ) -> tuple[list[tuple[str, np.ndarray]], dict[str, str]]:
    """:func:`read` plus the mxlite metadata :func:`encode_parts` stored (``{}`` for files
    torch wrote)."""
    if hasattr(data, "read"):
        data = data.read()
    data = bytes(data)
    try:
        return _read(data, source)
    except MXNetError as e:
        if str(e).startswith(source):
            raise
        raise MXNetError(f"{source}: {e}") from e
    except RecursionError:
        raise MXNetError(f"{source}: the pickle nests too deeply") from None
    except Exception as e:
        # whatever zipfile, zlib or the unpickler raise on damaged bytes (BadZipFile,
        # struct.error, EOFError, UnpicklingError, TypeError...) is a refusal of the file
        raise MXNetError(f"{source}: not a valid PyTorch file: {type(e).__name__}: "
                         f"{_pickles._message(e)}") from e


def _read(data: bytes, source: str) -> tuple[list[tuple[str, np.ndarray]], dict[str, str]]:
    zf, prefix = _open(data, source)
    version = _small_text(zf, f"{prefix}/.data/version", source)
    if version is None:
        version = _small_text(zf, f"{prefix}/version", source)
    if version is None:
        raise MXNetError(f"{source}: no {prefix}/version entry; every PyTorch zip file has one")
    if not version.strip().isdigit() or not 1 <= int(version.strip()) <= 64:
        raise MXNetError(f"{source}: {prefix}/version is {version[:20]!r}, expected a record "
                         "format number")
    byteorder = _small_text(zf, f"{prefix}/byteorder", source) or "little"
    if byteorder not in ("little", "big"):
        raise MXNetError(f"{source}: {prefix}/byteorder is {byteorder[:20]!r}, expected "
                         "'little' or 'big'")
    meta_text = _small_text(zf, f"{prefix}/{_METADATA}", source)
    meta: dict[str, str] = {}
    if meta_text is not None:
        try:
            meta = json.loads(meta_text)
        except ValueError:
            meta = None  # type: ignore[assignment]
        if not isinstance(meta, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise MXNetError(f"{source}: {prefix}/{_METADATA} is not a JSON object of strings")
    pkl_name = f"{prefix}/data.pkl"
    pkl = _read_entry(zf, zf.getinfo(pkl_name))
    where = f"{source}: {pkl_name}"
    _pickles._check_lengths(io.BytesIO(pkl), where)
    archive = _Archive(zf, prefix, source, len(data), byteorder)
    try:
        state = _Unpickler(io.BytesIO(pkl), archive).load()
    except MXNetError as e:
        raise MXNetError(f"{where}: {e}") from e
    if type(state) not in (dict, OrderedDict):
        raise MXNetError(f"{where}: holds a {type(state).__name__}, expected a state_dict "
                         "(a dict of name -> tensor)")
    budget = _BUDGET_FACTOR * len(data) + _BUDGET_SLACK
    out = []
    for key, t in state.items():
        if type(key) is not str:
            raise MXNetError(f"{where}: key {_pickles._short(key)} is a {type(key).__name__}, "
                             "expected a string")
        if type(t) in (dict, OrderedDict):
            raise MXNetError(f"{where}: entry {_pickles._short(key)} is a nested dict, not a "
                             "tensor: a training checkpoint? save its state_dict alone")
        if type(t) is not _Tensor:
            raise MXNetError(f"{where}: entry {_pickles._short(key)} is a "
                             f"{type(t).__name__}, not a tensor")
        count = 1
        for d in t.size:
            count *= d
        budget -= count * _itemsize(t.dtype)
        if budget < 0:
            raise MXNetError(f"{where}: tensor {_pickles._short(key)} of size {t.size} takes "
                             f"the values built past {_BUDGET_FACTOR}x the file's "
                             f"{len(data)} bytes; refused")
        out.append((key, _materialise(t, byteorder)))
    return out, meta


def _materialise(t: _Tensor, byteorder: str) -> np.ndarray:
    """The tensor's values as a C-contiguous array: a view of the storage where the tensor is
    one, else a copy through its strides (bounds checked in :func:`_tensor`)."""
    dt = _np_dtype(t.dtype)
    isz = dt.itemsize
    # unsigned integers of the element size carry every dtype's bits through the strides
    # and the byte order; the result is then viewed as the real dtype (bfloat16 included)
    raw_dt = np.dtype(f"{'<' if byteorder == 'little' else '>'}u{isz}")
    base = np.frombuffer(t.storage.raw, dtype=raw_dt, count=t.storage.nbytes // isz)
    if not all(t.size):
        arr = np.zeros(t.size, raw_dt)
    else:
        arr = np.lib.stride_tricks.as_strided(
            # a dim of 1 never steps: its stride (however large) does not matter
            base[t.offset:], shape=t.size,
            strides=tuple(s * isz if d > 1 else 0 for d, s in zip(t.size, t.stride)),
            writeable=False)
        arr = np.require(arr, requirements="C")  # keeps 0-d arrays 0-d
    arr = arr.astype(raw_dt.newbyteorder("="), copy=False)
    return arr.view(dt)


# ------------------------------------------------------------------------------- writing

_ZIP64_LIMIT = 0xFFFFFFFF
_ALIGN = 64
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the zip epoch: deterministic files
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")


def _p_int(n: int) -> bytes:
    if 0 <= n < 256:
        return b"K" + bytes((n,))
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes((len(raw),)) + raw


def _p_str(s: str) -> bytes:
    raw = s.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _p_tuple(items: Sequence[int]) -> bytes:
    body = b"".join(_p_int(i) for i in items)
    if len(items) == 0:
        return b")"
    if len(items) <= 3:
        return body + b"\x85\x86\x87"[len(items) - 1:len(items)]
    return b"(" + body + b"t"


_OD = b"ccollections\nOrderedDict\n)R"


def _state_dict_pickle(entries: Sequence[tuple[str, str, tuple]]) -> bytes:
    """The data.pkl torch writes for ``[(name, dtype, shape)]``, storage ``i`` for entry
    ``i``, as ``pickle`` protocol 2 without the memo (which readers do not need)."""
    out = [b"\x80\x02", _OD, b"("]
    for i, (name, dtype, shape) in enumerate(entries):
        count = 1
        for d in shape:
            count *= d
        stride, acc = [], 1
        for d in reversed(shape):
            stride.append(acc)
            acc *= max(d, 1)
        stride.reverse()
        if dtype in _V3_DTYPES:
            rebuild = b"ctorch._utils\n_rebuild_tensor_v3\n"
            cls, numel = b"ctorch.storage\nUntypedStorage\n", count * _itemsize(dtype)
            tail = b"ctorch\n" + dtype.encode() + b"\n"
        else:
            rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n"
            cls, numel, tail = b"ctorch\n" + _STORAGE_OF[dtype].encode() + b"\n", count, b""
        pid = b"(" + _p_str("storage") + cls + _p_str(str(i)) + _p_str("cpu") + \
            _p_int(numel) + b"tQ"
        out += [_p_str(name), rebuild, b"(", pid, _p_int(0), _p_tuple(shape),
                _p_tuple(stride), b"\x89", _OD, tail, b"tR"]
    out.append(b"u.")
    return b"".join(out)


class _ZipWriter:
    """A stored (uncompressed) zip with ``_ALIGN``-aligned data, built as a list of parts."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.offset = 0
        self.central: list[bytes] = []

    def _emit(self, b: bytes | memoryview) -> None:
        self.parts.append(b)
        self.offset += len(b)

    def add(self, name: str, data: bytes | memoryview) -> None:
        fname = name.encode("utf-8")
        size = len(data)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        big = size >= _ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if big else b""
        pad = -(self.offset + _LOCAL.size + len(fname) + len(extra) + 4) % _ALIGN
        extra += struct.pack("<HH", 0x4246, pad) + bytes(pad)  # torch's "FB" padding field
        header_offset = self.offset
        field = 0xFFFFFFFF if big else size
        self._emit(_LOCAL.pack(0x04034B50, 45 if big else 20, 0, 0, 0, _DOS_DATE, crc, field,
                               field, len(fname), len(extra)) + fname + extra)
        if size:
            self._emit(data)
        z64 = []
        if big:
            z64 += [size, size]
        if header_offset >= _ZIP64_LIMIT:
            z64.append(header_offset)
        cextra = struct.pack(f"<HH{len(z64)}Q", 1, 8 * len(z64), *z64) if z64 else b""
        self.central.append(_CENTRAL.pack(
            0x02014B50, 45 if z64 else 20, 45 if z64 else 20, 0, 0, 0, _DOS_DATE, crc, field,
            field, len(fname), len(cextra), 0, 0, 0, 0,
            0xFFFFFFFF if header_offset >= _ZIP64_LIMIT else header_offset) + fname + cextra)

    def finish(self) -> list[bytes | memoryview]:
        start = self.offset
        for c in self.central:
            self._emit(c)
        n, cd_size = len(self.central), self.offset - start
        if n >= 0xFFFF or start >= _ZIP64_LIMIT or cd_size >= _ZIP64_LIMIT:
            eocd64 = self.offset
            self._emit(_EOCD64.pack(0x06064B50, _EOCD64.size - 12, 45, 45, 0, 0, n, n,
                                    cd_size, start))
            self._emit(_LOCATOR64.pack(0x07064B50, 0, eocd64, 1))
            self._emit(_EOCD.pack(0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                  min(cd_size, 0xFFFFFFFF), min(start, 0xFFFFFFFF), 0))
        else:
            self._emit(_EOCD.pack(0x06054B50, 0, 0, n, n, cd_size, start, 0))
        return self.parts


def encode_parts(tensors: Sequence[tuple[str, np.ndarray]],
                 metadata: Mapping[str, str] | None = None, prefix: str = "archive"
                 ) -> Iterator[bytes | memoryview]:
    """The pieces of a ``torch.save``-style file holding ``tensors`` as an OrderedDict
    state_dict, each tensor's bytes as an uncopied view where the array is already
    little-endian and contiguous. ``metadata`` (strings) goes to an entry torch ignores."""
    entries, blobs, seen = [], [], set()
    for name, arr in tensors:
        if name in seen:
            raise MXNetError(f"torch: tensor name {name!r} appears twice")
        seen.add(name)
        dt = np.dtype(arr.dtype)
        if dt.name not in _STORAGE_OF and dt.name not in _V3_DTYPES:
            raise MXNetError(f"torch: tensor {name!r} has dtype {dt}, which a PyTorch file "
                             f"cannot hold here (expected one of "
                             f"{', '.join(list(_STORAGE_OF) + list(_V3_DTYPES))})")
        if dt.name == "bfloat16":
            data = np.require(arr, dt, "C").view(np.uint16).astype("<u2", copy=False)
        else:
            data = np.require(arr, dt.newbyteorder("<") if dt.itemsize > 1 else dt, "C")
        entries.append((name, dt.name, tuple(int(d) for d in arr.shape)))
        blobs.append(memoryview(data.reshape(-1).view(np.uint8)))
    pkl = _state_dict_pickle(entries)
    zw = _ZipWriter()
    zw.add(f"{prefix}/data.pkl", pkl)
    zw.add(f"{prefix}/.format_version", b"1")
    zw.add(f"{prefix}/.storage_alignment", b"64")
    zw.add(f"{prefix}/byteorder", b"little")
    for i, blob in enumerate(blobs):
        zw.add(f"{prefix}/data/{i}", blob)
    zw.add(f"{prefix}/version", b"3\n")
    if metadata:
        zw.add(f"{prefix}/{_METADATA}",
               json.dumps(dict(metadata), sort_keys=True).encode("utf-8"))
    # torch writes a random id here; a digest of the pickle keeps the file deterministic
    zw.add(f"{prefix}/.data/serialization_id",
           f"{zlib.crc32(pkl):010d}".rjust(40, "0").encode())
    yield from zw.finish()
