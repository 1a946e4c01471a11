"""PyTorch state_dict files without torch: ``mxlite.formats.torch_zip`` reads what torch 2.x
writes (fixtures from ``tests/fixtures/gen_torch.py``), writes what
``torch.load(weights_only=True)`` accepts (recorded there by sha256), and refuses damaged or
hostile files with an MXNetError naming the file."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zipfile
import zlib

import ml_dtypes
import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
import mxlite.convert as cv
from mxlite.base import MXNetError
from mxlite.formats import torch_zip as tz

TORCH = DATA / "torch"
DOC = json.loads((TORCH / "torch.json").read_text())
PARAMS = DATA / "module" / "mx_mlp-0003.params"
FILES = ["dtypes.pt", "shared.pt", "noncontig.pt", "module.pt", "params.pt"]
_EXPECTED = np.load(TORCH / "expected.npz", allow_pickle=False)


def expected(name: str) -> list[tuple[str, np.ndarray]]:
    """The arrays torch loaded from fixture ``name``, in its order, in their real dtypes."""
    out = []
    for key in _EXPECTED.files:
        file, _, tensor = key.partition("/")
        if file == name:
            dtype, shape = DOC["files"][name][tensor]
            # fixture_io.save_npz stores 0-d arrays as (1,): the JSON has the real shape
            arr = _EXPECTED[key].reshape(shape)
            if dtype == "bfloat16":
                arr = arr.view(ml_dtypes.bfloat16)
            out.append((tensor, arr))
    return out


def _same(got: list, want: list) -> None:
    assert [k for k, _ in got] == [k for k, _ in want]
    for (k, a), (_, b) in zip(got, want):
        assert (k, a.dtype, a.shape) == (k, b.dtype, b.shape)
        assert a.tobytes() == b.tobytes(), k


@pytest.mark.parametrize("name", FILES)
def test_reads_torch_files(name):
    got = tz.read((TORCH / name).read_bytes(), name)
    _same(got, expected(name))
    for k, a in got:
        assert [a.dtype.name, list(a.shape)] == DOC["files"][name][k]
        assert a.flags.c_contiguous


def test_every_dtype_is_mapped():
    dts = {k: a.dtype.name for k, a in tz.read((TORCH / "dtypes.pt").read_bytes())}
    assert dts == {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16",
                   "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
                   "u8": "uint8", "bool": "bool", "u16": "uint16", "u32": "uint32",
                   "u64": "uint64"}


def test_views_into_a_shared_storage_are_materialised():
    got = dict(tz.read((TORCH / "shared.pt").read_bytes()))
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    for k, want in {"base": base, "row": base[1], "col": base[:, 2], "block": base[1:3, 2:5],
                    "flat": base.reshape(-1)[5:11], "step": base[::2, ::3]}.items():
        np.testing.assert_array_equal(got[k], want)
    nc = dict(tz.read((TORCH / "noncontig.pt").read_bytes()))
    np.testing.assert_array_equal(nc["t"], np.arange(12, dtype=np.int32).reshape(3, 4).T)
    np.testing.assert_array_equal(nc["expanded"], np.tile(np.float32([1.5, -2, 3]), (4, 1)))
    assert nc["scalar"].shape == () and nc["scalar"] == 7 and nc["empty"].shape == (0, 5)
    np.testing.assert_array_equal(
        nc["perm"], np.arange(24, dtype=np.float64).reshape(2, 3, 4).transpose(2, 0, 1))


def test_legacy_and_pickled_modules_are_refused():
    with pytest.raises(MXNetError, match=r"legacy.pt: a legacy PyTorch file .*"
                                         r"_use_new_zipfile_serialization=False"):
        cv.load_arrays(str(TORCH / "legacy.pt"))
    with pytest.raises(MXNetError, match=r"whole_module.pt: .*refusing to load global "
                                         r"torch.nn.modules.container.Sequential"):
        cv.load_arrays(str(TORCH / "whole_module.pt"))


def _encode(pairs, **kw) -> bytes:
    return b"".join(bytes(p) for p in tz.encode_parts(pairs, **kw))


@pytest.mark.parametrize("case", ["dtypes", "module", "zip64", "metadata"])
def test_writer_output_is_what_torch_accepted(case, monkeypatch):
    rec = DOC["writer"][case]
    assert rec["loaded"] == "OrderedDict" and rec["match"] is True
    if case == "zip64":
        monkeypatch.setattr(tz, "_ZIP64_LIMIT", 1024)
    source = {"zip64": "module.pt", "metadata": "shared.pt"}.get(case, case + ".pt")
    pairs = expected(source)
    meta = {"format": "mxnet", "layout": "dict", "np_shape": "1", "ctx": '{"row":[2,1]}'}
    raw = _encode(pairs, metadata=meta if case == "metadata" else None)
    assert hashlib.sha256(raw).hexdigest() == rec["sha256"]
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert z.testzip() is None
        for info in z.infolist():  # torch's 64-byte alignment, for mmap=True
            at = info.header_offset
            n, m = int.from_bytes(raw[at + 26:at + 28], "little"), \
                int.from_bytes(raw[at + 28:at + 30], "little")
            assert (at + 30 + n + m) % 64 == 0
    got, got_meta = tz.read_with_metadata(raw, "w.pt")
    _same(got, pairs)
    assert got_meta == (meta if case == "metadata" else {})


def test_params_to_pt_and_back_is_byte_identical(tmp_path):
    cv.convert(str(PARAMS), str(tmp_path / "m.pt"))
    cv.convert(str(tmp_path / "m.pt"), str(tmp_path / "back.params"))
    assert (tmp_path / "back.params").read_bytes() == PARAMS.read_bytes()
    with zipfile.ZipFile(tmp_path / "m.pt") as z:  # a plain dict file needs no mxlite notes
        assert "archive/.data/mxnet_metadata.json" not in z.namelist()


def test_list_files_np_shape_and_contexts_survive(tmp_path):
    src = tmp_path / "l.params"
    mx.nd.save(str(src), [mx.nd.array(np.arange(6).reshape(2, 3), dtype=d)
                          for d in ("float16", "float64", "uint8", "int8", "int32", "int64")])
    cv.convert(str(src), str(tmp_path / "l.pt"))
    cv.convert(str(tmp_path / "l.pt"), str(tmp_path / "b.params"))
    assert (tmp_path / "b.params").read_bytes() == src.read_bytes()
    with mx.util.np_shape(True):
        mx.nd.save(str(src), {"s": mx.nd.array(np.float32(2.5).reshape(())),
                              "g": mx.nd.ones((2,), ctx=mx.gpu(1))})
    cv.convert(str(src), str(tmp_path / "s.pt"))
    cv.convert(str(tmp_path / "s.pt"), str(tmp_path / "s.params"))
    assert (tmp_path / "s.params").read_bytes() == src.read_bytes()


@pytest.mark.parametrize("name, case", [("dtypes.pt", "dtypes"), ("module.pt", "module"),
                                        ("shared.pt", None), ("params.pt", None)])
def test_torch_file_to_params_and_back(tmp_path, name, case):
    cv.convert(str(TORCH / name), str(tmp_path / "m.params"))
    loaded = mx.nd.load(str(tmp_path / "m.params"))
    want = expected(name)
    assert list(loaded) == [k for k, _ in want]
    for k, a in want:
        assert loaded[k].dtype == a.dtype and loaded[k].shape == a.shape
    cv.convert(str(tmp_path / "m.params"), str(tmp_path / "back.pt"))
    _same(tz.read((tmp_path / "back.pt").read_bytes()), want)
    if case:  # the very bytes torch was seen to load
        digest = hashlib.sha256((tmp_path / "back.pt").read_bytes()).hexdigest()
        assert digest == DOC["writer"][case]["sha256"]


def test_deflated_and_big_endian_archives():
    raw = (TORCH / "module.pt").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    _same(tz.read(buf.getvalue(), "z.pt"), expected("module.pt"))
    pairs = [("a", np.arange(6, dtype=np.float32).reshape(2, 3)),
             ("b", np.arange(3).astype(ml_dtypes.bfloat16))]
    big = _rewrite(_encode(pairs), {"archive/byteorder": b"big",
                                    "archive/data/0": pairs[0][1].astype(">f4").tobytes(),
                                    "archive/data/1": pairs[1][1].view(np.uint16).astype(">u2")
                                    .tobytes()})
    _same(tz.read(big, "big.pt"), pairs)


def _rewrite(raw: bytes, changes: dict[str, bytes | None]) -> bytes:
    """``raw``'s zip with entries replaced (None: removed), added, in the original order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(buf, "w") as dst:
        names = src.namelist()
        for n in names + [n for n in changes if n not in names]:
            data = changes.get(n, src.read(n) if n in names else None)
            if data is not None:
                dst.writestr(n, data)
    return buf.getvalue()


def _pkl(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


_V2 = b"ctorch._utils\n_rebuild_tensor_v2\n"
_OD = b"ccollections\nOrderedDict\n)R"


def _pid(cls: bytes = b"FloatStorage", key: bytes = b"0", numel: int = 4) -> bytes:
    return (b"(X\x07\x00\x00\x00storagectorch\n" + cls + b"\nX" + len(key).to_bytes(4, "little")
            + key + b"X\x03\x00\x00\x00cpuJ" + numel.to_bytes(4, "little", signed=True) + b"tQ")


def _tensor(size: bytes = b"K\x04\x85", stride: bytes = b"K\x01\x85", offset: bytes = b"K\x00",
            pid: bytes | None = None) -> bytes:
    return _V2 + b"(" + (pid or _pid()) + offset + size + stride + b"\x89" + _OD + b"tR"


def _file(pkl: bytes, data: bytes = bytes(16), **extra: bytes | None) -> bytes:
    base = _encode([("w", np.zeros(4, np.float32))])
    return _rewrite(base, {"archive/data.pkl": pkl, "archive/data/0": data,
                           **{"archive/" + k.replace("__", "/"): v for k, v in extra.items()}})


@pytest.mark.parametrize("raw, match", [
    (b"", "not a PyTorch zip archive"),
    (b"\x80\x02}q\x00.", "a bare pickle"),
    (bytes(600), "not a PyTorch zip archive"),
    (_file(_pkl(b"cos\nsystem\n")), "refusing to load global os.system"),
    (_file(_pkl(b"cbuiltins\neval\n")), "refusing to load global builtins.eval"),
    (_file(_pkl(b"]")), "holds a list, expected a state_dict"),
    (_file(_pkl(b"}K\x01" + _tensor() + b"s")), "key 1 is a int"),
    (_file(_pkl(b"}X\x01\x00\x00\x00wK\x05s")), "entry 'w' is a int, not a tensor"),
    (_file(_pkl(b"}X\x01\x00\x00\x00s}X\x01\x00\x00\x00w" + _tensor() + b"ss")),
     "entry 's' is a nested dict, not a tensor: a training checkpoint"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(pid=_pid(numel=5)) + b"s")),
     r"claims 5 float32 elements \(20 bytes\) but its entry 'archive/data/0' holds 16"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(pid=_pid(key=b"9")) + b"s")),
     "storage '9' has no entry"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(pid=_pid(cls=b"ComplexFloatStorage"))
                + b"s")), "refusing to load global torch.ComplexFloatStorage"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(size=b"K\x05\x85") + b"s")),
     "reaches element 4 of storage '0', which has 4"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(stride=b"K\x02\x85", size=b"K\x03\x85")
                + b"s")), "reaches element 4"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(offset=b"J\xff\xff\xff\xff") + b"s")),
     "storage_offset -1"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(size=b"K\x02K\x02\x86") + b"s")),
     r"size \(2, 2\) and stride \(1,\) differ"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(size=b"J\x00\x00\x00\x40\x85",
                                                 stride=b"K\x00\x85") + b"s")),
     "past 4x the file's"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor() + b"X\x01\x00\x00\x00v"
                + _tensor(pid=_pid(cls=b"IntStorage")) + b"u")), "referenced as float32"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _pid() + b"s")), "entry 'w' is a _Storage"),
    (_file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor() + b"}X\x01\x00\x00\x00xK\x01sbs")),
     "BUILD on tensor"),
    (_file(_pkl(_OD + b"0" + _V2 + b"N}X\x0c\x00\x00\x00__defaults__)s\x86b")),
     "BUILD on torch._utils._rebuild_tensor_v2"),
    (_file(_pkl(b"}}b")), "1 BUILD opcodes for 0 objects"),
    (_file(_pkl(b"(X\x07\x00\x00\x00storagecos\nsystem\nK\x00K\x00K\x00tQ")),
     "refusing to load global os.system"),
    (_file(_pkl(b"(K\x01tQ")), r"persistent id \(1,\) is not"),
    (_file(_pkl(b"}"), version=None), "no archive/version entry"),
    (_file(_pkl(b"}"), version=b"x"), "version is 'x'"),
    (_file(_pkl(b"}"), byteorder=b"middle"), "byteorder is 'middle'"),
    (_file(_pkl(b"}"), **{".data__mxnet_metadata.json": b"[1]"}), "JSON object of strings"),
    (_file(_pkl(b"B\x00\x00\x00\x40")), "not a valid pickle"),
])
def test_hostile_and_damaged_files_are_refused(raw, match, tmp_path):
    with pytest.raises(MXNetError, match=match) as e:
        tz.read(raw, "bad.pt")
    assert str(e.value).startswith("bad.pt: ")
    (tmp_path / "bad.pt").write_bytes(raw)
    with pytest.raises(MXNetError, match=match):
        cv.convert(str(tmp_path / "bad.pt"), str(tmp_path / "out.params"))
    assert not (tmp_path / "out.params").exists()


def test_a_huge_stride_on_a_dim_of_one_is_ignored():
    huge = b"\x8a\x09" + (2**70).to_bytes(9, "little")
    raw = _file(_pkl(b"}X\x01\x00\x00\x00w" + _tensor(size=b"K\x01K\x04\x86",
                                                       stride=huge + b"K\x01\x86") + b"s"),
                np.arange(4, dtype="<f4").tobytes())
    (name, arr), = tz.read(raw, "s.pt")
    assert name == "w" and arr.shape == (1, 4)
    np.testing.assert_array_equal(arr, np.arange(4, dtype=np.float32).reshape(1, 4))


def test_zip_entries_claiming_more_than_the_file_are_refused():
    raw = bytearray((TORCH / "shared.pt").read_bytes())
    cd = raw.rfind(b"PK\x01\x02")  # the last central directory entry: claim 2 GiB for it
    raw[cd + 20:cd + 28] = (2**31).to_bytes(4, "little") * 2
    with pytest.raises(MXNetError, match=r"shared.pt: zip entry .* claims 2147483648 bytes"):
        tz.read(bytes(raw), "shared.pt")
    other = _rewrite((TORCH / "shared.pt").read_bytes(), {"other/extra": b"x"})
    with pytest.raises(MXNetError, match="'other/extra' is outside the archive folder "
                                         "'shared'"):
        tz.read(other, "x.pt")


def test_unwritable_dtypes_and_duplicate_names():
    with pytest.raises(MXNetError, match="dtype complex64"):
        _encode([("c", np.zeros(2, np.complex64))])
    with pytest.raises(MXNetError, match="'a' appears twice"):
        _encode([("a", np.zeros(2)), ("a", np.zeros(2))])


def _outcome(raw: bytes) -> str:
    try:
        got = tz.read(raw, "fuzz.pt")
    except MXNetError as e:
        assert str(e).startswith("fuzz.pt: "), e
        return "refused"
    for k, a in got:
        assert isinstance(k, str) and isinstance(a, np.ndarray)
    return "loaded"


def test_fuzz_truncation_and_byte_flips():
    raw = (TORCH / "shared.pt").read_bytes()
    outcomes = [_outcome(raw[:n]) for n in range(0, len(raw), 3)]
    assert outcomes.count("loaded") == 0  # the central directory is at the end
    rng = np.random.default_rng(12)
    flips = []
    for _ in range(400):
        bad = bytearray(raw)
        for pos in rng.integers(0, len(raw), rng.integers(1, 4)):
            bad[pos] ^= int(rng.integers(1, 256))
        flips.append(_outcome(bytes(bad)))
    # flips in padding, timestamps or the serialization id leave a loadable file
    assert "refused" in flips and "loaded" in flips


def test_fuzz_the_pickle_inside_a_sound_zip():
    """zip CRCs catch most flips above; here the damaged pickle gets valid CRCs, so the
    unpickler's stand-ins and the tensor checks meet every mutation."""
    raw = (TORCH / "shared.pt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        pkl = z.read("shared/data.pkl")

    def outcome(p: bytes) -> str:
        return _outcome(_rewrite(raw, {"shared/data.pkl": p}))

    assert outcome(pkl) == "loaded"
    cut = [outcome(pkl[:n]) for n in range(len(pkl))]
    assert cut.count("loaded") == 0
    rng = np.random.default_rng(7)
    flips = []
    for _ in range(500):
        bad = bytearray(pkl)
        for pos in rng.integers(2, len(pkl), rng.integers(1, 3)):
            bad[pos] = int(rng.integers(0, 256))
        flips.append(outcome(bytes(bad)))
    assert "refused" in flips and "loaded" in flips


def _quoting_zip(levels: int, inner: int) -> bytes:
    """A zip whose entry ``data/i`` holds entry ``data/i+1`` whole (header and data): the
    storages overlap, so reading them all reads the inner bytes ``levels`` times."""
    def local(name: bytes, data: bytes) -> bytes:
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 33, zlib.crc32(data),
                           len(data), len(data), len(name), 0) + name + data

    names = [f"archive/data/{i}".encode() for i in range(levels)]
    blob = local(names[-1], bytes(inner))
    sizes = [inner]
    for name in reversed(names[:-1]):
        sizes.insert(0, len(blob))
        blob = local(name, blob)
    body = b"}("
    for i in range(levels):
        key = str(i).encode()
        body += (b"X" + len(key).to_bytes(4, "little") + key
                 + _tensor(size=b"K\x01\x85", pid=_pid(b"ByteStorage", key, sizes[i])))
    pkl = _pkl(body + b"u")
    head = local(b"archive/data.pkl", pkl)
    entries = [(b"archive/data.pkl", 0, len(pkl)), (b"archive/version", len(head), 2)]
    head += local(b"archive/version", b"3\n")
    at = len(head)
    for name, size in zip(names, sizes):
        entries.append((name, at, size))
        at += 30 + len(name)  # the next entry starts right after this one's header
    out = head + blob
    cd = b""
    for name, at, size in entries:
        start = at + 30 + len(name)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 33,
                          zlib.crc32(out[start:start + size]), size, size, len(name), 0, 0,
                          0, 0, 0, at) + name
    return out + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                  len(cd), len(out), 0)


def test_overlapping_zip_entries_cannot_multiply_the_file():
    small = _quoting_zip(3, 100)
    got = dict(tz.read(small, "q.pt"))
    assert sorted(got) == ["0", "1", "2"] and all(a.dtype == np.uint8 for a in got.values())
    big = _quoting_zip(40, 100_000)
    assert len(big) < 110_000
    with pytest.raises(MXNetError, match=r"q.pt: .*storages read exceed 4x the file's"):
        tz.read(big, "q.pt")


def test_no_torch_is_imported(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # any `import torch` now fails
    cv.convert(str(TORCH / "module.pt"), str(tmp_path / "m.params"))
    cv.convert(str(tmp_path / "m.params"), str(tmp_path / "m.pt"))
    _same(tz.read((tmp_path / "m.pt").read_bytes()), expected("module.pt"))


def test_duplicate_zip_entries_are_refused():
    raw = (TORCH / "shared.pt").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            dst.writestr("shared/data/0", bytes(96))
    with pytest.raises(MXNetError, match="names an entry twice"):
        tz.read(buf.getvalue(), "d.pt")
