"""Move arrays and models between MXNet's files and other formats, losslessly.

    import mxlite.convert as cv
    cv.convert("resnet-0000.params", "resnet.safetensors")
    cv.convert("resnet.safetensors", "back.params")          # byte-identical to the first
    cv.convert("resnet-symbol.json", "resnet.onnx", params="resnet-0000.params",
               shapes={"data": (1, 3, 224, 224)})

Array formats, chosen by suffix (or ``src_format`` / ``dst_format``):

==============  =========================  ==================================================
format          suffixes                   notes
==============  =========================  ==================================================
``params``      .params .ndarray .nd       MXNet's NDArray list files, names as stored
                                           (``arg:`` / ``aux:`` prefixes kept)
``safetensors`` .safetensors               layout, record version and non-cpu contexts in
                                           ``__metadata__`` so the way back is exact
``npz``         .npz                       ``np.savez`` layout; a list file's arrays are
                                           ``arr_0``, ``arr_1``, ... as ``np.savez`` names them
``torch``       .pt .pth                   a ``state_dict`` of tensors in ``torch.save``'s
                                           zip format, read and written without torch, as
                                           safely as ``weights_only=True``; the layout,
                                           contexts and V3 flag go to an entry torch skips
==============  =========================  ==================================================

Values, dtypes and shapes pass through unchanged (no casts), so ``.params`` -> any format ->
``.params`` gives the original bytes for files MXNet 1.x writes (V2 records; V3 with numpy
shape semantics). Records of the 2015-2016 formats (V0/V1) come back as V2, as MXNet
itself re-saves them. Sparse arrays are refused by every format but ``params``: none of the
others can hold them. ``.onnx`` as a destination exports a Symbol with its parameters
through :func:`mxlite.onnx.export_model`.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import storage
from .base import MXNetError
from .formats import arrays as _arrays
from .formats import safetensors as _st
from .formats import torch_zip as _torch_zip

__all__ = ["ArraySet", "FORMATS", "load_arrays", "save_arrays", "convert", "format_of"]

FORMATS = {".params": "params", ".ndarray": "params", ".nd": "params",
           ".safetensors": "safetensors", ".npz": "npz", ".pt": "torch", ".pth": "torch",
           ".onnx": "onnx", ".json": "symbol"}
_DEFAULT_CTX = (1, 0)


@dataclass
class ArraySet:
    """The contents of an array file in a neutral form: ``records`` in file order, ``names``
    (None for a list file) and whether the records use numpy shape semantics (V3)."""

    records: list[_arrays.ArrayRecord]
    names: list[str] | None
    np_shape: bool = False

    def arrays(self) -> list[tuple[str, np.ndarray]]:
        """``(name, values)`` pairs; a list file's arrays are named ``arr_0``, ``arr_1``...
        Sparse records are refused: only ``.params`` can hold them."""
        out = []
        for i, rec in enumerate(self.records):
            name = self.names[i] if self.names is not None else f"arr_{i}"
            if rec.stype != "default":
                raise MXNetError(f"array {name!r} is {rec.stype}; only .params files hold "
                                 "sparse arrays")
            if rec.shape is None:
                raise MXNetError(f"array {name!r} is an empty (none) NDArray; only .params "
                                 "files hold those")
            out.append((name, rec.data))
        return out

    def metadata(self) -> dict[str, str]:
        meta = {"format": "mxnet", "layout": "list" if self.names is None else "dict"}
        if self.np_shape:
            meta["np_shape"] = "1"
        ctx = {name: list(rec.ctx) for name, rec in zip(self._labels(), self.records)
               if tuple(rec.ctx) != _DEFAULT_CTX}
        if ctx:
            meta["ctx"] = json.dumps(ctx, separators=(",", ":"))
        return meta

    def _labels(self) -> list[str]:
        return self.names if self.names is not None else \
            [f"arr_{i}" for i in range(len(self.records))]

    @classmethod
    def from_arrays(cls, pairs: Sequence[tuple[str, np.ndarray]],
                    metadata: Mapping[str, str] | None = None) -> ArraySet:
        """Rebuild the set from named arrays and the metadata :meth:`metadata` wrote (absent
        for files not written by mxlite: then a dict file on cpu(0))."""
        meta = dict(metadata or {})
        try:
            ctx = {k: tuple(v) for k, v in json.loads(meta.get("ctx", "{}")).items()}
        except (ValueError, TypeError, AttributeError):
            raise MXNetError(f"metadata 'ctx' is not a JSON object of [dev_type, dev_id]: "
                             f"{meta.get('ctx', '')[:60]!r}") from None
        np_shape = meta.get("np_shape") == "1"
        magic = _arrays.V3_MAGIC if np_shape else _arrays.V2_MAGIC
        records = []
        for name, arr in pairs:
            arr = np.asarray(arr)
            _arrays.dtype_to_flag(arr.dtype)  # refuses dtypes MXNet has no flag for
            records.append(_arrays.ArrayRecord("default", tuple(arr.shape), arr.dtype,
                                               ctx.get(name, _DEFAULT_CTX), arr, (), magic))
        names = [n for n, _ in pairs]
        if meta.get("layout") == "list":
            if names != [f"arr_{i}" for i in range(len(names))]:
                raise MXNetError("metadata says a list file but the arrays are not named "
                                 "arr_0, arr_1, ...")
            return cls(records, None, np_shape)
        return cls(records, names, np_shape)


def format_of(path: str, given: str | None = None) -> str:
    """The format name for ``path``: ``given`` if set, else from its suffix."""
    if given:
        if given not in set(FORMATS.values()):
            raise MXNetError(f"format {given!r} is not one of "
                             f"{', '.join(sorted(set(FORMATS.values())))}")
        return given
    base = os.fspath(path).lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if base.endswith(suffix):
            return fmt
    raise MXNetError(f"{path}: cannot tell the format from the suffix; expected one of "
                     f"{', '.join(FORMATS)} (or name it with --from / --to)")


def load_arrays(path: str, fmt: str | None = None,
                storage_options: Mapping | None = None) -> ArraySet:
    """Read an array file of any supported format into an :class:`ArraySet`."""
    fmt = format_of(path, fmt)
    if fmt == "params":
        with storage.open_read(path, storage_options) as f:
            records, names = _arrays.read_list(f, str(path))
        np_shape = any(r.magic == _arrays.V3_MAGIC for r in records)
        for r in records:
            if r.magic not in (_arrays.V2_MAGIC, _arrays.V3_MAGIC):
                r.magic = _arrays.V3_MAGIC if np_shape else _arrays.V2_MAGIC
        return ArraySet(records, names, np_shape)
    if fmt == "safetensors":
        with storage.open_read(path, storage_options) as f:
            pairs, meta = _st.read(f, str(path), storage.size(path, storage_options))
        return ArraySet.from_arrays(pairs, meta)
    if fmt == "npz":
        raw = storage.read_bytes(path, storage_options)
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as z:
                pairs = [(k, z[k]) for k in z.files if k != "__mxnet_metadata__"]
                meta = (json.loads(bytes(z["__mxnet_metadata__"]).decode())
                        if "__mxnet_metadata__" in z.files else {})
        except (ValueError, OSError, zipfile.BadZipFile, KeyError, EOFError) as e:
            raise MXNetError(f"{path}: not a readable .npz file: {e}") from None
        if not meta and pairs and [k for k, _ in pairs] == \
                [f"arr_{i}" for i in range(len(pairs))]:
            meta = {"layout": "list"}
        return ArraySet.from_arrays(pairs, meta)
    if fmt == "torch":
        raw = storage.read_bytes(path, storage_options)
        pairs, meta = _torch_zip.read_with_metadata(raw, str(path))
        if "np_shape" not in meta and any(a.ndim == 0 for _, a in pairs):
            # MXNet holds 0-d arrays (BatchNorm's num_batches_tracked) in V3 records only
            meta = {**meta, "np_shape": "1"}
        return ArraySet.from_arrays(pairs, meta)
    raise MXNetError(f"{path}: {fmt} is not an array format")


def save_arrays(data: ArraySet, path: str, fmt: str | None = None,
                storage_options: Mapping | None = None) -> None:
    """Write an :class:`ArraySet` in any supported format (atomically, as every save)."""
    fmt = format_of(path, fmt)
    if fmt == "params":
        parts = list(_arrays.list_parts(data.records, data.names, data.np_shape))
    elif fmt == "safetensors":
        parts = list(_st.encode_parts(data.arrays(), data.metadata()))
    elif fmt == "npz":
        buf = io.BytesIO()
        pairs = dict(data.arrays())
        meta = data.metadata()
        if meta != {"format": "mxnet", "layout": "list"} and \
                meta != {"format": "mxnet", "layout": "dict"}:
            pairs["__mxnet_metadata__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        np.savez(buf, **pairs)
        parts = [buf.getbuffer()]
    elif fmt == "torch":
        meta = data.metadata()
        if meta.get("np_shape") and any(r.shape == () for r in data.records):
            del meta["np_shape"]  # implied by the 0-d array, as load_arrays reads it
        # files of one cpu dict need no notes: those are what torch users share
        plain = meta == {"format": "mxnet", "layout": "dict"}
        parts = list(_torch_zip.encode_parts(data.arrays(), None if plain else meta))
    else:
        raise MXNetError(f"{path}: {fmt} is not an array format")
    with storage.open_write(path, storage_options, size=sum(len(p) for p in parts)) as f:
        for p in parts:
            f.write(p)


def convert(src: str, dst: str, *, src_format: str | None = None,
            dst_format: str | None = None, params: str | None = None,
            shapes: Mapping[str, Sequence[int]] | None = None, opset_version: int | None = None,
            storage_options: Mapping | None = None) -> None:
    """Convert ``src`` to ``dst``, formats by suffix unless named.

    Array files convert into each other. For ``.onnx`` the source is a symbol JSON file
    (``params``: its parameter file, ``shapes``: input shapes) or an array file is refused.
    """
    sfmt, dfmt = format_of(src, src_format), format_of(dst, dst_format)
    if dfmt == "onnx":
        if sfmt != "symbol":
            raise MXNetError(f"{src}: ONNX export starts from a symbol JSON file "
                             "(model-symbol.json), with --params and --shape")
        if not params or not shapes:
            raise MXNetError("ONNX export needs the parameter file (params=) and the input "
                             "shapes (shapes=)")
        from . import onnx

        onnx.export_model(src, params, in_shapes=[tuple(s) for s in shapes.values()],
                          onnx_file_path=dst, opset_version=opset_version)
        return
    if sfmt in ("symbol", "onnx"):
        raise MXNetError(f"{src}: converting from {sfmt} to {dfmt} is not supported; "
                         "array files convert into each other, symbols into .onnx")
    save_arrays(load_arrays(src, sfmt, storage_options), dst, dfmt, storage_options)

