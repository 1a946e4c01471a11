"""The safetensors layout, bytes to arrays and back, checked as strictly as its spec asks.

A file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON (an object mapping
each tensor's name to ``{"dtype", "shape", "data_offsets": [begin, end]}``, plus an optional
``"__metadata__"`` object of strings), padded with spaces, then the tensors' bytes, little
endian and C-ordered, offsets counted from the end of the header. The spec asks readers to
refuse overlapping or holed data, so every byte after the header belongs to exactly one
tensor. Writers here keep the order tensors are given in (the order of the ``.params`` file a
conversion came from) and pad the header to 8 bytes as the reference library does.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO

import numpy as np

from ..base import MXNetError

__all__ = ["DTYPES", "encode_parts", "read"]

# safetensors' dtype names and numpy's; BF16 comes from ml_dtypes when met.
DTYPES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
          "F16": "float16", "I32": "int32", "U32": "uint32", "F32": "float32", "I64": "int64",
          "U64": "uint64", "F64": "float64", "BF16": "bfloat16"}
_NAMES = {v: k for k, v in DTYPES.items()}
_HEADER_LIMIT = 100 << 20  # the reference reader's own ceiling on header size


def _np_dtype(name: str, where: str) -> np.dtype:
    if name == "BF16":
        from .arrays import bfloat16_dtype

        return bfloat16_dtype()
    if name not in DTYPES:
        raise MXNetError(f"{where}: dtype {name!r} is not one of {', '.join(DTYPES)}")
    return np.dtype(DTYPES[name])


def encode_parts(tensors: Sequence[tuple[str, np.ndarray]],
                 metadata: Mapping[str, str] | None = None) -> Iterator[bytes | memoryview]:
    """The pieces of a safetensors file: the header, then each tensor's bytes as an uncopied
    view where the array is already little-endian and contiguous."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset, blobs = 0, []
    for name, arr in tensors:
        if name in header:
            raise MXNetError(f"safetensors: tensor name {name!r} appears twice")
        dt = np.dtype(arr.dtype)
        if dt.name not in _NAMES:
            raise MXNetError(f"safetensors: tensor {name!r} has dtype {dt}, which safetensors "
                             f"cannot hold (expected one of {', '.join(_NAMES)})")
        # np.require keeps 0-d arrays 0-d (ascontiguousarray would make them 1-d)
        data = np.require(arr, dt.newbyteorder("<") if dt.itemsize > 1 else dt, "C")
        header[name] = {"dtype": _NAMES[dt.name], "shape": list(data.shape),
                        "data_offsets": [offset, offset + data.nbytes]}
        offset += data.nbytes
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    yield struct.pack("<Q", len(raw)) + raw
    for data in blobs:
        if data.size:
            yield memoryview(data.reshape(-1).view(np.uint8))


def read(stream: BinaryIO, name: str = "<safetensors>", size: int | None = None
         ) -> tuple[list[tuple[str, np.ndarray]], dict[str, str]]:
    """Read a whole safetensors file: ``([(name, array)] in data order, metadata)``.

    ``size`` is the file's length when known; the header is checked against it before the
    data is read, and the data is read once into one buffer the arrays view.
    """
    head = stream.read(8)
    if len(head) < 8:
        raise MXNetError(f"{name}: {len(head)} bytes; a safetensors file starts with an "
                         "8-byte header length")
    (n,) = struct.unpack("<Q", head)
    limit = _HEADER_LIMIT if size is None else min(_HEADER_LIMIT, size - 8)
    if n > limit:
        raise MXNetError(f"{name}: header length {n} at offset 0 is more than the "
                         f"{limit} bytes it may take")
    raw = stream.read(n)
    if len(raw) < n:
        raise MXNetError(f"{name}: the header is cut short ({len(raw)} of {n} bytes)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise MXNetError(f"{name}: the header (bytes 8-{8 + n}) is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise MXNetError(f"{name}: the header is a {type(header).__name__}, expected an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise MXNetError(f"{name}: __metadata__ must map strings to strings")
    entries = []
    for key, info in header.items():
        where = f"{name}: tensor {key!r}"
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise MXNetError(f"{where}: expected keys dtype, shape, data_offsets")
        dt = _np_dtype(info["dtype"], where) if isinstance(info["dtype"], str) else \
            _np_dtype(repr(info["dtype"]), where)
        shape, offsets = info["shape"], info["data_offsets"]
        if not (isinstance(shape, list) and len(shape) <= 32 and all(
                type(d) is int and d >= 0 for d in shape)):
            raise MXNetError(f"{where}: shape {str(shape)[:60]} is not a list of at most 32 "
                             "non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                type(o) is int and o >= 0 for o in offsets) and offsets[0] <= offsets[1]):
            raise MXNetError(f"{where}: data_offsets {str(offsets)[:60]} is not [begin, end]")
        count = 1
        for d in shape:
            count *= d
        if count * dt.itemsize != offsets[1] - offsets[0]:
            raise MXNetError(f"{where}: shape {tuple(shape)} of {dt.name} takes "
                             f"{count * dt.itemsize} bytes, data_offsets span "
                             f"{offsets[1] - offsets[0]}")
        entries.append((offsets[0], offsets[1], key, dt, tuple(shape)))
    entries.sort(key=lambda e: (e[0], e[1]))
    end = 0
    for begin, stop, key, _, _ in entries:
        if begin != end:
            raise MXNetError(f"{name}: tensor {key!r} starts at data offset {begin}, expected "
                             f"{end} (data must be contiguous, without holes or overlaps)")
        end = stop
    if size is not None and 8 + n + end != size:
        raise MXNetError(f"{name}: the tensors take {end} bytes after the header but the file "
                         f"has {size - 8 - n}")
    buf = bytearray(end)
    got = stream.readinto(buf) if end else 0
    if got != end:
        raise MXNetError(f"{name}: the data is cut short ({got} of {end} bytes after the "
                         f"header at offset {8 + n})")
    if stream.read(1):
        raise MXNetError(f"{name}: bytes follow the last tensor (offset {8 + n + end})")
    out = []
    for begin, stop, key, dt, shape in entries:
        arr = np.frombuffer(buf, dtype=dt.newbyteorder("<") if dt.itemsize > 1 else dt,
                            count=(stop - begin) // dt.itemsize, offset=begin)
        out.append((key, arr.astype(dt, copy=False).reshape(shape)))
    return out, dict(metadata)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} appears twice")
        out[k] = v
    return out
