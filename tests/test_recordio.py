"""mx.recordio against the files MXNet 1.9.1 wrote (tests/fixtures/gen_recordio.py)."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import pickle
import struct
import subprocess
import sys

import fsspec
import numpy as np
import pytest

from mxlite import recordio
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "recordio"
EXPECTED = json.loads((DATA / "expected.json").read_text())
MAGIC = struct.pack("<I", 0xCED7230A)
PAYLOADS = [bytes.fromhex(h) for h in EXPECTED["split"]["payloads"]]


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def read_seq(path, **kw) -> list[bytes]:
    r = recordio.MXRecordIO(path, "r", **kw)
    out = []
    while (s := r.read()) is not None:
        out.append(s)
    r.close()
    return out


# ----------------------------------------------------------------------------- writing


def test_writes_are_byte_identical_to_mxnet(tmp_path):
    w = recordio.MXIndexedRecordIO(tmp_path / "s.idx", tmp_path / "s.rec", "w")
    tells = [w.tell()]
    for i, p in enumerate(PAYLOADS):
        w.write_idx(i, p)
        tells.append(w.tell())
    w.close()
    assert tells == EXPECTED["split_tell"]
    assert (tmp_path / "s.rec").read_bytes() == (DATA / "split.rec").read_bytes()
    assert (tmp_path / "s.idx").read_text() == (DATA / "split.idx").read_text()


@pytest.mark.parametrize("name", ["im2rec", "multi"])
def test_rewriting_mxnet_image_records_gives_the_same_bytes(tmp_path, name):
    src = recordio.MXIndexedRecordIO(DATA / f"{name}.idx", DATA / f"{name}.rec", "r")
    with recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "w") as w:
        for k in src.keys:
            w.write_idx(k, src.read_idx(k))
    assert (tmp_path / "x.rec").read_bytes() == (DATA / f"{name}.rec").read_bytes()
    assert (tmp_path / "x.idx").read_text() == (DATA / f"{name}.idx").read_text()


def test_str_keys(tmp_path):
    w = recordio.MXIndexedRecordIO(str(tmp_path / "k.idx"), str(tmp_path / "k.rec"), "w",
                                   key_type=str)
    for name in ["alpha", "beta", "gamma"]:
        w.write_idx(name, name.encode() * 3)
    w.close()
    assert (tmp_path / "k.rec").read_bytes() == (DATA / "strkeys.rec").read_bytes()
    assert (tmp_path / "k.idx").read_text() == (DATA / "strkeys.idx").read_text()
    r = recordio.MXIndexedRecordIO(DATA / "strkeys.idx", DATA / "strkeys.rec", "r",
                                   key_type=str)
    assert r.keys == ["alpha", "beta", "gamma"]
    assert [sha(r.read_idx(k)) for k in r.keys] == [
        x["sha256"] for x in EXPECTED["strkeys"]["records"]]


def test_write_accepts_bytes_like_and_refuses_str(tmp_path):
    with recordio.MXRecordIO(tmp_path / "b.rec", "w") as w:
        w.write(bytearray(b"abc" + MAGIC))
        w.write(memoryview(b"12345678" + MAGIC))
        w.write(np.frombuffer(MAGIC * 2, np.uint8))
        with pytest.raises(TypeError, match="bytes, not str"):
            w.write("text")
    assert read_seq(tmp_path / "b.rec") == [b"abc" + MAGIC, b"12345678" + MAGIC, MAGIC * 2]


def test_writer_reset_starts_the_file_anew(tmp_path):
    w = recordio.MXRecordIO(tmp_path / "r.rec", "w")
    w.write(b"first")
    w.reset()
    assert w.tell() == 0
    w.write(b"second")
    w.close()
    assert read_seq(tmp_path / "r.rec") == [b"second"]


def test_an_error_inside_with_leaves_no_file(tmp_path):
    with pytest.raises(ZeroDivisionError), \
            recordio.MXIndexedRecordIO(tmp_path / "e.idx", tmp_path / "e.rec", "w") as w:
        w.write_idx(0, b"abc")
        1 / 0  # noqa: B018
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file


# ----------------------------------------------------------------------------- reading


def test_reads_mxnet_split_records():
    got = read_seq(DATA / "split.rec")
    assert got == PAYLOADS
    assert [sha(s) for s in got] == [x["sha256"] for x in EXPECTED["split"]["records"]]
    r = recordio.MXIndexedRecordIO(DATA / "split.idx", DATA / "split.rec", "r")
    assert r.keys == list(range(len(PAYLOADS)))
    for k in reversed(r.keys):
        assert r.read_idx(k) == PAYLOADS[k]
    # read() after read_idx goes on with the next record, as MXNet's reader does
    r.read_idx(5)
    assert r.read() == PAYLOADS[6]
    r.close()


@pytest.mark.parametrize("name", ["im2rec", "multi"])
def test_reads_mxnet_image_records(name):
    exp = EXPECTED[name]
    assert [sha(s) for s in read_seq(DATA / f"{name}.rec")] == exp["sequential_sha256"]
    r = recordio.MXIndexedRecordIO(DATA / f"{name}.idx", DATA / f"{name}.rec", "r")
    assert r.keys == [x["key"] for x in exp["records"]]
    for rec in exp["records"]:
        s = r.read_idx(rec["key"])
        assert (len(s), sha(s)) == (rec["len"], rec["sha256"])
        header, img = recordio.unpack(s)
        h = rec["header"]
        assert (header.flag, header.id, header.id2) == (h["flag"], h["id"], h["id2"])
        if h["flag"]:
            assert header.label.dtype == np.float32
            assert header.label.tolist() == h["label"]
        else:
            assert header.label == h["label"]
        assert (len(img), sha(img)) == (h["image_len"], h["image_sha256"])


def test_unpack_img_decodes_as_mxnet():
    cv2 = pytest.importorskip("cv2")
    decoded = np.load(DATA / "decoded.npz")
    r = recordio.MXIndexedRecordIO(DATA / "im2rec.idx", DATA / "im2rec.rec", "r")
    for k in r.keys:
        header, img = recordio.unpack_img(r.read_idx(k), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(img[:, :, ::-1], decoded[f"im2rec/{k}"])


def test_read_after_the_end_stays_none_and_reset_rewinds():
    r = recordio.MXRecordIO(DATA / "split.rec", "r")
    for _ in PAYLOADS:
        r.read()
    assert r.read() is None and r.read() is None
    r.reset()
    assert r.read() == PAYLOADS[0]
    assert r.tell() == EXPECTED["split_tell"][1]
    r.close()
    assert not r.is_open


def test_large_records_and_many_records(tmp_path):
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()  # larger than one block
    big = big[:1000] + MAGIC + big[1004:]
    small = [bytes([i % 256]) * (i % 97) for i in range(3000)]
    with recordio.MXIndexedRecordIO(tmp_path / "m.idx", tmp_path / "m.rec", "w") as w:
        w.write_idx(0, big)
        for i, s in enumerate(small, 1):
            w.write_idx(i, s)
        w.write_idx(len(small) + 1, big)
    got = read_seq(tmp_path / "m.rec")
    assert got[0] == big and got[-1] == big and got[1:-1] == small
    r = recordio.MXIndexedRecordIO(tmp_path / "m.idx", tmp_path / "m.rec", "r")
    order = rng.permutation(len(r.keys))
    for k in order[:300]:
        want = big if k in (0, len(small) + 1) else small[k - 1]
        assert r.read_idx(int(k)) == want


# ----------------------------------------------------------------------------- IRHeader


def test_pack_unpack():
    h = recordio.IRHeader(7, 3.5, 12, 0)
    s = recordio.pack(h, b"payload")
    assert s == struct.pack("<IfQQ", 0, 3.5, 12, 0) + b"payload"
    h2, body = recordio.unpack(s)
    assert (h2, body) == (recordio.IRHeader(0, 3.5, 12, 0), b"payload")
    s = recordio.pack(recordio.IRHeader(0, [1, 2.5, -3], 5, 1), b"x")
    assert s == struct.pack("<IfQQ", 3, 0, 5, 1) + np.float32([1, 2.5, -3]).tobytes() + b"x"
    h3, body = recordio.unpack(s)
    assert h3.flag == 3 and h3.label.tolist() == [1, 2.5, -3] and body == b"x"
    assert recordio.unpack(recordio.pack((0, np.float32(2), 1, 0), b""))[0].label == 2.0
    assert pickle.loads(pickle.dumps(h)) == h


def test_pack_img_roundtrip_png():
    pytest.importorskip("cv2")
    img = np.random.default_rng(3).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    s = recordio.pack_img(recordio.IRHeader(0, [1, 2], 4, 0), img, quality=3, img_fmt=".png")
    h, back = recordio.unpack_img(s)
    assert h.label.tolist() == [1, 2] and h.id == 4
    np.testing.assert_array_equal(back, img)
    s = recordio.pack_img(recordio.IRHeader(0, 1, 4, 0), img, quality=90)
    assert recordio.unpack_img(s)[1].shape == (9, 7, 3)


def test_unpack_bad_records():
    with pytest.raises(MXNetError, match="shorter than the 24-byte IRHeader"):
        recordio.unpack(b"abc")
    with pytest.raises(MXNetError, match="5 float32 labels"):
        recordio.unpack(struct.pack("<IfQQ", 5, 0, 0, 0) + b"1234")
    pytest.importorskip("cv2")
    with pytest.raises(MXNetError, match="not an image OpenCV can decode"):
        recordio.unpack_img(recordio.pack((0, 1, 9, 0), b"not an image"))


# ----------------------------------------------------------------------------- pickling


def test_pickled_reader_starts_again_and_the_original_goes_on():
    r = recordio.MXIndexedRecordIO(DATA / "split.idx", DATA / "split.rec", "r")
    r.read()
    state = r.__getstate__()
    assert set(state) >= {"uri", "flag", "pid", "is_open", "writable", "idx_path", "idx",
                          "keys", "key_type", "fidx"}
    assert state["fidx"] is None and state["is_open"] is True
    assert isinstance(state["uri"], str)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.read() == PAYLOADS[0]
    assert r.read() == PAYLOADS[1]
    assert r2.read_idx(3) == PAYLOADS[3] and r2.keys == r.keys
    r.close()
    r3 = pickle.loads(pickle.dumps(r))
    assert not r3.is_open


def test_pickled_writer_is_closed_as_in_mxnet(tmp_path):
    w = recordio.MXRecordIO(tmp_path / "w.rec", "w")
    w.write(b"abc")
    pickle.dumps(w)
    assert not w.is_open
    assert read_seq(tmp_path / "w.rec") == [b"abc"]


def test_another_process_may_not_read_but_seek_resets():
    r = recordio.MXIndexedRecordIO(DATA / "split.idx", DATA / "split.rec", "r")
    r.pid, r._forks = -1, -1  # as if forked
    with pytest.raises(MXNetError, match="multiple processes"):
        r.read()
    assert r.read_idx(4) == PAYLOADS[4]  # seek reopens in the new process
    assert r.read() == PAYLOADS[5]


# ----------------------------------------------------------------------------- URIs


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    yield fs
    for p in fs.find("/rio"):
        fs.rm(p)


def test_memory_uris(memfs):
    with recordio.MXIndexedRecordIO("memory://rio/a.idx", "memory://rio/a.rec", "w") as w:
        for i, p in enumerate(PAYLOADS):
            w.write_idx(i, p)
    assert memfs.cat_file("/rio/a.rec") == (DATA / "split.rec").read_bytes()
    assert memfs.cat_file("/rio/a.idx") == (DATA / "split.idx").read_bytes()
    assert read_seq("memory://rio/a.rec") == PAYLOADS
    r = recordio.MXIndexedRecordIO("memory://rio/a.idx", "memory://rio/a.rec", "r")
    assert [r.read_idx(k) for k in (9, 2, 16)] == [PAYLOADS[9], PAYLOADS[2], PAYLOADS[16]]
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.read_idx(10) == PAYLOADS[10]


def test_read_idx_on_a_store_is_one_ranged_request_per_record(memfs):
    rng = np.random.default_rng(1)
    recs = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes()
            for n in rng.integers(20_000, 40_000, 200)]
    with recordio.MXIndexedRecordIO("memory://rio/b.idx", "memory://rio/b.rec", "w") as w:
        for i, s in enumerate(recs):
            w.write_idx(i, s)
    r = recordio.MXIndexedRecordIO("memory://rio/b.idx", "memory://rio/b.rec", "r")
    f = r._handle._f
    for k in (150, 3, 77):
        before, moved = f.requests, f.bytes_fetched
        assert r.read_idx(k) == recs[k]
        assert f.requests - before == 1
        assert f.bytes_fetched - moved == 8 + len(recs[k]) + (-len(recs[k]) & 3)


@pytest.fixture(scope="module")
def s3():
    """storage_options for moto's S3 server on 127.0.0.1 (bucket ``rio``), as test_s3.py."""
    s3fs = pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import socket

    mp = pytest.MonkeyPatch()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        mp.setenv(var, "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_S3", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        mp.delenv(var, raising=False)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "testing",
               "secret": "testing"}
    s3fs.S3FileSystem(**options).mkdir("rio")
    try:
        yield options
    finally:
        server.stop()
        s3fs.S3FileSystem.clear_instance_cache()
        mp.undo()


def test_s3_uris(s3):
    with recordio.MXIndexedRecordIO("s3://rio/a.idx", "s3://rio/a.rec", "w",
                                    storage_options=s3) as w:
        for i, p in enumerate(PAYLOADS):
            w.write_idx(i, p)
    assert read_seq("s3://rio/a.rec", storage_options=s3) == PAYLOADS
    r = recordio.MXIndexedRecordIO("s3://rio/a.idx", "s3://rio/a.rec", "r",
                                   storage_options=s3)
    assert r.read_idx(13) == PAYLOADS[13] and r.read_idx(1) == PAYLOADS[1]
    assert r._handle._f.requests <= 2  # a file this small comes whole in one request
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.read_idx(11) == PAYLOADS[11]


# ----------------------------------------------------------------------------- bad input


def corrupt(tmp_path, data: bytes, name="bad.rec") -> pathlib.Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_wrong_magic_names_file_offset_and_record(tmp_path):
    data = bytearray((DATA / "split.rec").read_bytes())
    at = EXPECTED["split_tell"][3]
    data[at] ^= 0xFF
    p = corrupt(tmp_path, bytes(data))
    r = recordio.MXRecordIO(p, "r")
    for _ in range(3):
        r.read()
    with pytest.raises(recordio.RecordIOError,
                       match=rf"bad\.rec: byte {at} \(record 3\): bad magic 0x"):
        r.read()
    with pytest.raises(MXNetError, match="byte 0 .*bad magic"):
        read_seq(corrupt(tmp_path, b"GIF89a" + bytes(20), "gif.rec"))


def test_length_past_the_end(tmp_path):
    p = corrupt(tmp_path, MAGIC + struct.pack("<I", 5000) + b"abcd" * 4)
    with pytest.raises(MXNetError, match=r"byte 0 \(record 0\): truncated record: its header "
                                         r"says 5000 bytes .* file ends at byte 24"):
        read_seq(p)
    # a length that would need a huge buffer is refused before reading
    p = corrupt(tmp_path, MAGIC + struct.pack("<I", (1 << 29) - 1), "huge.rec")
    with pytest.raises(MXNetError, match="536870911 bytes"):
        read_seq(p)


def test_truncated_last_record(tmp_path):
    data = (DATA / "split.rec").read_bytes()
    p = corrupt(tmp_path, data[:-5])
    with pytest.raises(MXNetError, match=rf"record {len(PAYLOADS) - 1}\): truncated record"):
        read_seq(p)
    p = corrupt(tmp_path, data + MAGIC[:3], "head.rec")
    with pytest.raises(MXNetError, match=rf"record {len(PAYLOADS)}\): truncated record: the "
                                         r"file ends at byte \d+ inside a record header"):
        read_seq(p)
    # a record split in parts whose last part is missing
    part = MAGIC + struct.pack("<I", (1 << 29) | 4) + b"abcd"
    with pytest.raises(MXNetError, match="split in parts"):
        read_seq(corrupt(tmp_path, part, "parts.rec"))


def test_idx_offsets_that_point_nowhere(tmp_path):
    rec = DATA / "split.rec"
    size = rec.stat().st_size
    idx = tmp_path / "bad.idx"
    idx.write_text(f"0\t0\n1\t{size + 100}\n2\t6\n3\t{size}\n")
    r = recordio.MXIndexedRecordIO(idx, rec, "r")
    assert r.read_idx(0) == PAYLOADS[0]
    with pytest.raises(MXNetError, match=rf"bad\.idx: key 1: offset {size + 100} points past "
                                         rf"the end of .*split\.rec \({size} bytes\)"):
        r.read_idx(1)
    with pytest.raises(MXNetError, match=r"split\.rec: byte 6 \(key 2\): bad magic.*bad\.idx"):
        r.read_idx(2)
    with pytest.raises(MXNetError, match="key 3: offset .* points past the end"):
        r.read_idx(3)
    with pytest.raises(KeyError, match="no record with key 99"):
        r.read_idx(99)


def test_bad_idx_lines_and_flags(tmp_path):
    idx = tmp_path / "x.idx"
    idx.write_text("0\t0\n1 32\n")
    with pytest.raises(MXNetError, match=r"x\.idx: line 2: expected 'key<TAB>offset'"):
        recordio.MXIndexedRecordIO(idx, DATA / "split.rec", "r")
    idx.write_text("0\t0\n\nfoo\t8\n")
    with pytest.raises(MXNetError, match="line 3"):
        recordio.MXIndexedRecordIO(idx, DATA / "split.rec", "r")
    with pytest.raises(ValueError, match="Invalid flag a"):
        recordio.MXRecordIO(DATA / "split.rec", "a")
    with pytest.raises(FileNotFoundError):
        recordio.MXRecordIO(tmp_path / "missing.rec", "r")
    with pytest.raises(MXNetError, match="opened for reading"):
        recordio.MXRecordIO(DATA / "split.rec", "r").write(b"x")
    w = recordio.MXRecordIO(tmp_path / "w.rec", "w")
    with pytest.raises(MXNetError, match="opened for writing"):
        w.read()
    w.close()
    with pytest.raises(MXNetError, match="closed"):
        w.write(b"x")


def test_blank_idx_lines_are_skipped(tmp_path):
    idx = tmp_path / "x.idx"
    idx.write_text((DATA / "split.idx").read_text() + "\n")
    r = recordio.MXIndexedRecordIO(idx, DATA / "split.rec", "r")
    assert len(r.keys) == len(PAYLOADS)


def test_os_pathlike_and_file_uri(tmp_path):
    uri = "file://" + os.fspath(DATA / "split.rec")
    assert read_seq(uri) == PAYLOADS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_cannot_read_on_but_read_idx_reopens():
    r = recordio.MXIndexedRecordIO(DATA / "split.idx", DATA / "split.rec", "r")
    assert r.read() == PAYLOADS[0]
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            try:
                r.read()
                out = b"read worked"
            except MXNetError as e:
                out = b"refused" if b"multiple processes" in str(e).encode() else b"other"
            out += b"|" + (b"ok" if r.read_idx(7) == PAYLOADS[7] else b"bad")
        except BaseException as e:  # noqa: BLE001 - anything is a failure to report
            out = repr(e).encode()
        os.write(wfd, out)
        os._exit(0)
    os.close(wfd)
    got = os.read(rfd, 1000)
    os.close(rfd)
    os.waitpid(pid, 0)
    assert got == b"refused|ok"
    assert r.read() == PAYLOADS[1]  # the parent's position is its own


def test_read_idx_of_a_record_larger_than_the_buffer_is_one_request(memfs):
    big = np.random.default_rng(2).integers(0, 256, 3 << 20, dtype=np.uint8).tobytes()
    with recordio.MXIndexedRecordIO("memory://rio/c.idx", "memory://rio/c.rec", "w") as w:
        w.write_idx(0, b"small")
        w.write_idx(1, big)
        w.write_idx(2, b"tail")
    r = recordio.MXIndexedRecordIO("memory://rio/c.idx", "memory://rio/c.rec", "r")
    f = r._handle._f
    before = f.requests
    assert r.read_idx(1) == big
    assert f.requests - before == 1
    assert r.read_idx(0) == b"small" and r.read() == big and r.read() == b"tail"
    assert r.read() is None


def test_a_writer_left_open_is_completed_at_exit(tmp_path):
    script = (f"from mxlite import recordio\n"
              f"r = recordio.MXIndexedRecordIO({str(tmp_path / 'o.idx')!r}, "
              f"{str(tmp_path / 'o.rec')!r}, 'w')\n"
              f"for i in range(3):\n    r.write_idx(i, b'rec%d' % i)\n"
              f"r.self = r  # a cycle, freed (if ever) only by the last collection\n")
    subprocess.run([sys.executable, "-c", script], check=True)
    assert read_seq(tmp_path / "o.rec") == [b"rec0", b"rec1", b"rec2"]
    assert (tmp_path / "o.idx").read_text() == "0\t0\n1\t12\n2\t24\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_closing_a_writer_leaves_the_file_to_the_parent(tmp_path):
    w = recordio.MXIndexedRecordIO(tmp_path / "f.idx", tmp_path / "f.rec", "w")
    w.write_idx(0, b"parent0")
    pid = os.fork()
    if pid == 0:
        try:
            w.close()  # what the child's exit (atexit) does
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert not (tmp_path / "f.rec").exists()  # the child did not complete the file
    w.write_idx(1, b"parent1")
    w.close()
    assert read_seq(tmp_path / "f.rec") == [b"parent0", b"parent1"]
    assert (tmp_path / "f.idx").read_text() == "0\t0\n1\t16\n"


def test_an_index_that_cannot_be_written_is_refused_at_open(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        recordio.MXIndexedRecordIO(tmp_path / "no" / "x.idx", tmp_path / "x.rec", "w")
    (tmp_path / "d.idx").mkdir()
    with pytest.raises(MXNetError, match="it is a directory"):
        recordio.MXIndexedRecordIO(tmp_path / "d.idx", tmp_path / "x.rec", "w")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.idx"]  # no .rec, no temp file


def test_pack_img_without_opencv_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now fails
    with pytest.raises(MXNetError, match="opencv-python-headless"):
        recordio.pack_img((0, 1, 0, 0), np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(MXNetError, match="opencv-python-headless"):
        recordio.unpack_img(recordio.pack((0, 1, 0, 0), b"x"))
