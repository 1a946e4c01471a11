"""mxlite.storage (the fsspec layer) and the array-file API over it: URIs, atomic writes,
ranged reads, ``load(keys=...)``, ``mx.nd.open`` and checkpoints on ``memory://``."""

from __future__ import annotations

import shutil
import uuid

import fsspec
import numpy as np
import pytest
from conftest import DATA
from fsspec.spec import AbstractFileSystem

import mxlite as mx
from mxlite import storage
from mxlite.base import MXNetError, NotSupportedError
from mxlite.ndarray.ndarray import NDArray


class CountingFS(AbstractFileSystem):
    """``counting://PATH`` reads ``target``'s PATH; the class counts the bytes and requests it
    hands out (instances are made anew per call, so the tally lives on the class)."""

    protocol = "counting"
    cachable = False
    bytes_read = 0
    requests = 0

    def __init__(self, target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    @classmethod
    def reset(cls):
        cls.bytes_read = cls.requests = 0

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = self.target.cat_file(self._strip_protocol(path), start=start, end=end)
        CountingFS.bytes_read += len(data)
        CountingFS.requests += 1
        return data

    def _open(self, path, mode="rb", **kwargs):
        if mode != "rb":
            raise NotImplementedError("CountingFS is read-only")
        import io

        return io.BytesIO(self.cat_file(path))

    def info(self, path, **kwargs):
        return self.target.info(self._strip_protocol(path))

    def size(self, path):
        return self.target.size(self._strip_protocol(path))


fsspec.register_implementation("counting", CountingFS, clobber=True)


@pytest.fixture
def mem():
    """A fresh memory:// folder, removed afterwards."""
    root = f"memory://t{uuid.uuid4().hex[:10]}"
    yield root
    fs = fsspec.filesystem("memory")
    for p in list(fs.store):
        if p.startswith(root[len("memory:/"):]):
            del fs.store[p]


def _arrays(n=5, shape=(3, 4)):
    return {f"w{i}": mx.nd.array(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + i)
            for i in range(n)}


def _same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())


# ----------------------------------------------------------------------------- resolve


def test_resolve_local_and_file_uri(tmp_path):
    assert storage.resolve("model.params").local == "model.params"
    loc = storage.resolve(f"file://{tmp_path}/a.params")
    assert loc.local == f"{tmp_path}/a.params" and loc.fs is None
    loc = storage.resolve("memory://bucket/a.params")
    assert loc.local is None and loc.protocol == "memory" and loc.path == "/bucket/a.params"


@pytest.mark.parametrize("uri, extra, package", [
    ("gs://bucket/x.params", "gcs", "gcsfs"),
    ("az://container/x.params", "azure", "adlfs"),
    ("abfs://container/x.params", "azure", "adlfs"),
    ("hdfs://namenode:8020/x.params", "hdfs", "pyarrow"),
])
def test_missing_backend_names_the_extra(uri, extra, package):
    pytest.importorskip("fsspec")
    try:
        __import__(package)
        pytest.skip(f"{package} is installed here")
    except ImportError:
        pass
    with pytest.raises(NotSupportedError, match=rf"pip install 'mxlite\[{extra}\]'"):
        mx.nd.load(uri)
    with pytest.raises(MXNetError, match=package):
        mx.nd.save(uri, [mx.nd.ones((2,))])


def test_unknown_protocol_is_mxneterror():
    with pytest.raises(NotSupportedError, match=r"no fsspec backend for nosuch://"):
        mx.nd.load("nosuch://bucket/x.params")


def test_missing_file_names_it(mem):
    with pytest.raises(MXNetError, match=rf"{mem}/absent.params: cannot open for reading: "
                                         "No such file or directory"):
        mx.nd.load(f"{mem}/absent.params")
    with pytest.raises(MXNetError, match="No such file or directory"):
        storage.read_bytes(f"{mem}/absent.json")


def test_folder_of():
    assert storage.folder_of("s3://b/run/model") == ("s3://b/run", "model")
    assert storage.folder_of("memory://x/model") == ("memory://x", "model")
    assert storage.folder_of("model") == (".", "model")
    assert storage.folder_of("/a/b/model") == ("/a/b", "model")


# ----------------------------------------------------------------------------- basic ops


@pytest.mark.parametrize("kind", ["local", "file", "memory"])
def test_bytes_text_exists_list_remove_rename(kind, tmp_path, mem):
    root = {"local": str(tmp_path), "file": f"file://{tmp_path}", "memory": mem}[kind]
    storage.write_bytes_atomic(f"{root}/a.bin", b"\x00\x01\x02abc")
    storage.write_text_atomic(f"{root}/s.json", '{"x": "\u00e9"}')
    assert storage.read_bytes(f"{root}/a.bin") == b"\x00\x01\x02abc"
    assert storage.read_text(f"{root}/s.json") == '{"x": "\u00e9"}'
    assert storage.read_range(f"{root}/a.bin", 2, 5) == b"\x02ab"
    assert storage.size(f"{root}/a.bin") == 6
    assert storage.exists(f"{root}/a.bin") and not storage.exists(f"{root}/nope")
    assert storage.listdir(root) == ["a.bin", "s.json"]
    assert storage.listdir(f"{root}/no_such_folder") == []
    storage.rename(f"{root}/a.bin", f"{root}/b.bin")
    assert storage.listdir(root) == ["b.bin", "s.json"]
    storage.remove(f"{root}/b.bin")
    storage.remove(f"{root}/b.bin")  # absent: fine by default
    with pytest.raises(MXNetError, match="cannot remove"):
        storage.remove(f"{root}/b.bin", missing_ok=False)
    assert storage.listdir(root) == ["s.json"]


def test_read_text_refuses_non_utf8(mem):
    storage.write_bytes_atomic(f"{mem}/bad.json", b'{"a": "\xff"}')
    with pytest.raises(MXNetError, match=r"bad.json: byte 7: not utf-8 text"):
        storage.read_text(f"{mem}/bad.json")


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_failed_write_leaves_old_file_and_no_debris(kind, tmp_path, mem):
    root = str(tmp_path) if kind == "local" else mem
    target = f"{root}/m.params"
    storage.write_bytes_atomic(target, b"old content")

    with pytest.raises(RuntimeError, match="boom"):
        with storage.open_write(target) as f:
            f.write(b"new content, half written")
            raise RuntimeError("boom")
    assert storage.read_bytes(target) == b"old content"
    assert storage.listdir(root) == ["m.params"]  # the temporary file is gone


def test_memory_write_is_invisible_until_complete(mem):
    target = f"{mem}/m.params"
    storage.write_bytes_atomic(target, b"old")
    with storage.open_write(target) as f:
        f.write(b"new, in progress")
        # a reader during the save sees the old file whole
        assert storage.read_bytes(target) == b"old"
    assert storage.read_bytes(target) == b"new, in progress"


def test_ranged_file_counts_and_reads_exactly(mem):
    payload = np.arange(100_000, dtype=np.uint8).tobytes()
    storage.write_bytes_atomic(f"{mem}/r.bin", payload)
    loc = storage.resolve(f"{mem}/r.bin")
    with storage.open_ranged(loc) as f:
        assert isinstance(f, storage.RangedFile)
        assert f.read(4) == payload[:4]
        assert f.read(10) == payload[4:14]  # served from the same window
        assert f.requests == 1 and f.bytes_fetched == 512
        f.seek(50_000)
        buf = bytearray(20_000)
        assert f.readinto(buf) == 20_000 and bytes(buf) == payload[50_000:70_000]
        assert f.requests == 2 and f.bytes_fetched == 512 + 20_000
        f.seek(-3, 2)
        assert f.read() == payload[-3:]
        assert f.read(5) == b""


# ----------------------------------------------------------------------------- arrays


@pytest.mark.parametrize("kind", ["local", "file", "memory"])
def test_save_load_roundtrip_every_kind(kind, tmp_path, mem):
    root = {"local": str(tmp_path), "file": f"file://{tmp_path}", "memory": mem}[kind]
    d = _arrays()
    mx.nd.save(f"{root}/d.params", d)
    _same(mx.nd.load(f"{root}/d.params"), d)
    mx.nd.save(f"{root}/l.params", list(d.values()))
    back = mx.nd.load(f"{root}/l.params")
    assert isinstance(back, list) and len(back) == 5
    np.testing.assert_array_equal(back[3].asnumpy(), d["w3"].asnumpy())


def test_memory_bytes_equal_local_bytes(tmp_path, mem):
    """The same bytes whatever the storage: MXNet's format, byte for byte."""
    golden = DATA / "ndarray" / "sparse.params"
    d = mx.nd.load(str(golden))
    mx.nd.save(f"{mem}/s.params", d)
    assert storage.read_bytes(f"{mem}/s.params") == golden.read_bytes()


@pytest.mark.parametrize("kind", ["local", "memory", "stream"])
def test_load_keys(kind, tmp_path, mem):
    d = _arrays(8)
    root = str(tmp_path) if kind == "local" else mem
    mx.nd.save(f"{root}/d.params", d)
    if kind == "stream":
        shutil.copyfile(DATA / "ndarray" / "dict_two.params", tmp_path / "x")
        with open(tmp_path / "x", "rb") as f:
            f.read(0)
            full = mx.nd.load(str(tmp_path / "x"))
            got = mx.nd.load(f, keys=[list(full)[1]])
        _same(got, {list(full)[1]: list(full.values())[1]})
        return
    got = mx.nd.load(f"{root}/d.params", keys=["w6", "w2"])
    assert list(got) == ["w6", "w2"]
    _same(got, {"w6": d["w6"], "w2": d["w2"]})
    assert got["w6"]._data.flags.writeable  # an ordinary (copied) array
    got["w6"][0, 0] = 99.0
    with pytest.raises(MXNetError, match=r"no arrays named \['nope'\]"):
        mx.nd.load(f"{root}/d.params", keys=["w1", "nope"])


def test_load_keys_unnamed_list_takes_indices(mem):
    vals = list(_arrays(4).values())
    mx.nd.save(f"{mem}/l.params", vals)
    got = mx.nd.load(f"{mem}/l.params", keys=[2, -1])
    assert list(got) == [2, -1]
    np.testing.assert_array_equal(got[2].asnumpy(), vals[2].asnumpy())
    np.testing.assert_array_equal(got[-1].asnumpy(), vals[3].asnumpy())
    with pytest.raises(MXNetError, match=r"unnamed list of 4 arrays; keys must be indices"):
        mx.nd.load(f"{mem}/l.params", keys=["w0"])
    with pytest.raises(TypeError, match="keys must be a list"):
        mx.nd.load(f"{mem}/l.params", keys="w0")


def test_load_keys_sparse_and_none(tmp_path):
    golden = DATA / "ndarray" / "sparse.params"
    full = mx.nd.load(str(golden))
    for key, value in full.items():
        got = mx.nd.load(str(golden), keys=[key])[key]
        assert got.stype == value.stype and got.shape == value.shape
        np.testing.assert_array_equal(got.asnumpy(), value.asnumpy())


def test_keys_load_moves_only_wanted_bytes(mem):
    """64 MiB in 64 arrays of 1 MiB: one array costs the headers plus its own bytes."""
    mib = 1 << 20
    d = {f"layer{i:02d}": NDArray(np.full((256, 1024), i, np.float32)) for i in range(64)}
    mx.nd.save(f"{mem}/big.params", d)
    total = storage.size(f"{mem}/big.params")
    assert total > 64 * mib
    uri = "counting://" + f"{mem}/big.params"[len("memory://"):]
    options = {"target": fsspec.filesystem("memory")}
    CountingFS.reset()
    got = mx.nd.load(uri, keys=["layer37"], storage_options=options)
    np.testing.assert_array_equal(got["layer37"].asnumpy(), np.full((256, 1024), 37, np.float32))
    assert mib <= CountingFS.bytes_read < 2 * mib
    # 64 record headers and the names table: a few KiB beyond the array itself
    assert CountingFS.bytes_read - mib < 64 << 10
    assert CountingFS.requests < 80
    CountingFS.reset()
    with mx.nd.open(uri, storage_options=options) as f:
        assert f["layer03"].shape == (256, 1024)
    assert CountingFS.bytes_read < 64 << 10  # headers only


def test_open_lazy_mapping(mem):
    golden = DATA / "ndarray" / "sparse.params"
    storage.write_bytes_atomic(f"{mem}/s.params", golden.read_bytes())
    full = mx.nd.load(str(golden))
    with mx.nd.open(f"{mem}/s.params") as f:
        assert list(f.keys()) == list(full)
        assert len(f) == len(full)
        for k, v in full.items():
            lazy = f[k]
            assert lazy.shape == v.shape and lazy.dtype == v.dtype and lazy.stype == v.stype
            got = lazy.read()
            np.testing.assert_array_equal(got.asnumpy(), v.asnumpy())
        assert "nope" not in f
        with pytest.raises(KeyError):
            f["nope"]
        lazy = f[next(iter(full))]
    with pytest.raises(MXNetError, match="the file is closed"):
        lazy.read()


def test_open_reports_metadata_without_reading_data(mem):
    d = {f"a{i}": NDArray(np.zeros((128, 1024), np.float64)) for i in range(16)}  # 16 MiB
    mx.nd.save(f"{mem}/m.params", d)
    uri = "counting://" + f"{mem}/m.params"[len("memory://"):]
    CountingFS.reset()
    with mx.nd.open(uri, storage_options={"target": fsspec.filesystem("memory")}) as f:
        shapes = {k: (f[k].shape, f[k].dtype, f[k].nbytes) for k in f}
    assert shapes == {f"a{i}": ((128, 1024), np.float64, 1 << 20) for i in range(16)}
    assert CountingFS.bytes_read < 32 << 10


def test_open_unnamed_file_keys_are_indices(tmp_path):
    vals = list(_arrays(3).values())
    mx.nd.save(str(tmp_path / "l.params"), vals)
    with mx.nd.open(str(tmp_path / "l.params")) as f:
        assert list(f) == [0, 1, 2]
        np.testing.assert_array_equal(f[1].read().asnumpy(), vals[1].asnumpy())
        assert repr(f[1]) == "<LazyArray 1 shape=(3, 4) dtype=float32 stype=default>"
        assert f.load([2])[2].shape == (3, 4)


def test_pickles_and_states_from_memory(mem):
    src = DATA / "module" / "mx_mlp-0003.states"
    storage.write_bytes_atomic(f"{mem}/s.states", src.read_bytes())
    from mxlite.compat import load_pickle

    a = load_pickle(str(src))
    b = load_pickle(f"{mem}/s.states")
    assert sorted(a) == sorted(b)


# ----------------------------------------------------------------------------- checkpoints


def _mlp_params(seed):
    rng = np.random.default_rng(seed)
    arg = {"fc1_weight": NDArray(rng.standard_normal((4, 3)).astype(np.float32)),
           "fc1_bias": NDArray(np.zeros(4, np.float32))}
    aux = {"bn_moving_mean": NDArray(np.ones(4, np.float32))}
    return arg, aux


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_checkpoint_roundtrip_list_latest_prune(kind, tmp_path, mem):
    prefix = f"{tmp_path}/run/model" if kind == "local" else f"{mem}/run/model"
    if kind == "local":
        (tmp_path / "run").mkdir()
    net = mx.sym.Variable("data", shape=(4, 3))
    assert mx.model.latest_checkpoint(prefix) is None
    assert mx.model.resume_state(prefix) is None
    for epoch in (1, 2, 3):
        arg, aux = _mlp_params(epoch)
        mx.model.save_checkpoint(prefix, epoch, net, arg, aux)
    assert mx.model.list_checkpoints(prefix) == [1, 2, 3]
    assert mx.model.latest_checkpoint(prefix) == 3
    sym, arg, aux = mx.model.load_checkpoint(prefix, 2)
    assert sym.tojson() == net.tojson()
    _same(arg, _mlp_params(2)[0])
    _same(aux, _mlp_params(2)[1])
    epoch, sym, arg, aux, states = mx.model.resume_state(prefix)
    assert epoch == 3 and states is None
    _same(arg, _mlp_params(3)[0])
    storage.write_bytes_atomic(f"{prefix}-0003.states", b"\x80\x02}q\x00.")
    assert mx.model.resume_state(prefix)[4] == f"{prefix}-0003.states"
    assert mx.model.prune_checkpoints(prefix, 1) == [1, 2]
    folder = storage.folder_of(prefix)[0]
    assert storage.listdir(folder) == ["model-0003.params", "model-0003.states",
                                       "model-symbol.json"]


def test_latest_checkpoint_skips_a_damaged_file(mem):
    prefix = f"{mem}/model"
    for epoch in (1, 2):
        mx.model.save_checkpoint(prefix, epoch, None, *_mlp_params(epoch))
    good = storage.read_bytes(f"{prefix}-0002.params")
    storage.write_bytes_atomic(f"{prefix}-0003.params", good[:-10])  # torn by another tool
    storage.write_bytes_atomic(f"{prefix}-0010.params", b"")
    assert mx.model.list_checkpoints(prefix) == [1, 2, 3, 10]
    assert mx.model.latest_checkpoint(prefix) == 2


def test_do_checkpoint_keep_last(mem):
    prefix = f"{mem}/m"
    net = mx.sym.Variable("data")
    cb = mx.callback.do_checkpoint(prefix, keep_last=2)
    for i in range(5):
        arg, aux = _mlp_params(i)
        cb(i, net, arg, aux)
        storage.write_bytes_atomic(f"{prefix}-{i + 1:04d}.states", b"\x80\x02N.")
    # pruning after epoch 5's save kept epochs 4 and 5 (5's states came afterwards)
    assert storage.listdir(mem) == ["m-0004.params", "m-0004.states", "m-0005.params",
                                    "m-0005.states", "m-symbol.json"]
    _same(mx.model.load_params(prefix, 5)[0], _mlp_params(4)[0])
    with pytest.raises(ValueError, match="keep_last must be a positive int"):
        mx.callback.do_checkpoint(prefix, keep_last=0)
