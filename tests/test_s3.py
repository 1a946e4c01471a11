"""Array files, symbol JSON and the seed's checkpoint workflow against a real S3 endpoint:
moto's S3 server on 127.0.0.1 (a free port), spoken to over HTTP by s3fs. Nothing leaves the
loopback address: credentials are dummies and ``endpoint_url`` is the local server."""

from __future__ import annotations

import socket
import subprocess
import sys

import fsspec
import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import storage
from mxlite.base import MXNetError
from mxlite.ndarray.ndarray import NDArray

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

BUCKET = "mxlite-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """storage_options for the local S3 server (bucket ``mxlite-test`` exists)."""
    mp = pytest.MonkeyPatch()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_SECURITY_TOKEN"):
        mp.setenv(var, "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "HTTP_PROXY",
                "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        mp.delenv(var, raising=False)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "testing",
               "secret": "testing"}
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir(BUCKET)
    try:
        yield options
    finally:
        server.stop()
        s3fs.S3FileSystem.clear_instance_cache()
        mp.undo()


def _fs(opts):
    return s3fs.S3FileSystem(**opts)


def _dict(n=4, shape=(3, 5), seed=0):
    rng = np.random.default_rng(seed)
    return {f"p{i}": NDArray(rng.standard_normal(shape).astype(np.float32)) for i in range(n)}


def _same(a, b):
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())


# ----------------------------------------------------------------------------- arrays


def test_array_files_roundtrip(s3):
    d = _dict()
    uri = f"s3://{BUCKET}/arrays/d.params"
    mx.nd.save(uri, d, storage_options=s3)
    _same(mx.nd.load(uri, storage_options=s3), d)
    mx.nd.save(f"s3://{BUCKET}/arrays/l.params", list(d.values()), storage_options=s3)
    back = mx.nd.load(f"s3://{BUCKET}/arrays/l.params", storage_options=s3)
    assert isinstance(back, list) and len(back) == 4
    got = mx.nd.load(uri, keys=["p2"], storage_options=s3)
    _same(got, {"p2": d["p2"]})
    with mx.nd.open(uri, storage_options=s3) as f:
        assert [(k, f[k].shape) for k in f] == [(f"p{i}", (3, 5)) for i in range(4)]
    assert mx.model.verify(uri, s3) == []


def test_golden_bytes_are_kept_exactly(s3):
    golden = DATA / "ndarray" / "sparse.params"
    uri = f"s3://{BUCKET}/arrays/sparse.params"
    mx.nd.save(uri, mx.nd.load(str(golden)), storage_options=s3)
    assert _fs(s3).cat_file(f"{BUCKET}/arrays/sparse.params") == golden.read_bytes()


def test_missing_object_is_mxneterror(s3):
    with pytest.raises(MXNetError, match=f"s3://{BUCKET}/nope.params: cannot open for "
                                         "reading: No such file or directory"):
        mx.nd.load(f"s3://{BUCKET}/nope.params", storage_options=s3)


def test_failed_save_leaves_the_old_object(s3):
    uri = f"s3://{BUCKET}/atomic/m.params"
    mx.nd.save(uri, _dict(seed=1), storage_options=s3)
    old = _fs(s3).cat_file(f"{BUCKET}/atomic/m.params")

    with pytest.raises(RuntimeError, match="serialisation failed"):
        with storage.open_write(uri, s3) as f:
            f.write(b"\x00" * 1000)
            raise RuntimeError("serialisation failed")
    assert _fs(s3).cat_file(f"{BUCKET}/atomic/m.params") == old
    with pytest.raises(RuntimeError, match="serialisation failed"):
        with storage.open_write(uri, s3, size=1000) as f:  # the one-put path
            f.write(b"\x00" * 500)
            raise RuntimeError("serialisation failed")
    assert _fs(s3).cat_file(f"{BUCKET}/atomic/m.params") == old


class _CountingS3(fsspec.AbstractFileSystem):
    protocol = "counts3"
    cachable = False
    bytes_read = 0

    def __init__(self, target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = self.target.cat_file(self._strip_protocol(path), start=start, end=end)
        _CountingS3.bytes_read += len(data)
        return data

    def size(self, path):
        return self.target.size(self._strip_protocol(path))

    def info(self, path, **kwargs):
        return self.target.info(self._strip_protocol(path))


fsspec.register_implementation("counts3", _CountingS3, clobber=True)


def test_keys_load_over_http_moves_only_wanted_bytes(s3):
    """16 MiB in 16 arrays of 1 MiB: loading one moves the headers and that array only."""
    mib = 1 << 20
    d = {f"layer{i:02d}": NDArray(np.full((256, 1024), i, np.float32)) for i in range(16)}
    mx.nd.save(f"s3://{BUCKET}/big/model.params", d, storage_options=s3)
    _CountingS3.bytes_read = 0
    got = mx.nd.load(f"counts3://{BUCKET}/big/model.params", keys=["layer11"],
                     storage_options={"target": _fs(s3)})
    np.testing.assert_array_equal(got["layer11"].asnumpy(), np.full((256, 1024), 11.0))
    assert mib <= _CountingS3.bytes_read < mib + (32 << 10)


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_symbol_json_and_params(s3):
    prefix = f"s3://{BUCKET}/ckpt/net"
    net = mx.sym.Variable("data", shape=(2, 3))
    arg = _dict(2)
    mx.model.save_checkpoint(prefix, 7, net, arg, {}, storage_options=s3)
    text = _fs(s3).cat_file(f"{BUCKET}/ckpt/net-symbol.json").decode()
    assert text == net.tojson()
    sym, arg2, aux2 = mx.model.load_checkpoint(prefix, 7, storage_options=s3)
    assert sym.tojson() == net.tojson() and aux2 == {}
    _same(arg2, arg)
    assert mx.model.verify(f"{prefix}-symbol.json", s3) == []
    assert mx.model.latest_checkpoint(prefix, s3) == 7


def test_seed_workflow_with_s3_prefix(s3):
    """The seed's fit with do_checkpoint, then load_checkpoint, with an s3:// prefix."""
    from mxlite.demo import make_mlp, synthetic_data

    mx.random.seed(7)
    x, y = synthetic_data(300)
    net = make_mlp()
    train_iter = mx.io.NDArrayIter(x, y, batch_size=10, shuffle=True)
    prefix = f"s3://{BUCKET}/seed/mx_mlp"
    mod = mx.mod.Module(symbol=net)
    mod.fit(train_iter, num_epoch=5,
            epoch_end_callback=mx.callback.do_checkpoint(prefix, keep_last=3,
                                                         storage_options=s3))
    assert storage.listdir(f"s3://{BUCKET}/seed", s3) == [
        "mx_mlp-0003.params", "mx_mlp-0004.params", "mx_mlp-0005.params",
        "mx_mlp-symbol.json"]
    sym, arg_params, aux_params = mx.model.load_checkpoint(prefix, 5, storage_options=s3)
    assert sym.tojson() == net.tojson() and aux_params == {}
    final, _ = mod.get_params()
    _same(arg_params, {k: final[k] for k in arg_params})
    mod.set_params(arg_params, aux_params)
    assert mx.model.latest_checkpoint(prefix, s3) == 5
    epoch, _, arg5, _, states = mx.model.resume_state(prefix, s3)
    assert epoch == 5 and states is None
    _same(arg5, arg_params)


def test_cli_verify_and_inspect_over_s3(s3, capsys):
    from mxlite.cli import main

    uri = f"s3://{BUCKET}/cli/d.params"
    mx.nd.save(uri, _dict(2), storage_options=s3)
    opts = [f"-o endpoint_url={s3['endpoint_url']}", "-o key=testing", "-o secret=testing"]
    argv = [a for o in opts for a in o.split(" ", 1)]
    assert main(["verify", *argv, uri]) == 0
    assert capsys.readouterr().out == f"ok  {uri}\n"
    assert main(["inspect", *argv, uri]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "total: 2 arrays (dict), 120 bytes of array data"


CHILD = """
import sys
import numpy as np
import mxlite as mx
from mxlite import storage
from mxlite.ndarray.ndarray import NDArray

uri, endpoint, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "stream":
    storage._PUT_LIMIT = 0  # force the streamed multipart upload used for objects over 1 GiB
opts = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
print("saving", flush=True)
mx.nd.save(uri, {"gen": NDArray(np.array([1], np.int64)),
                 "big": NDArray(np.full(15 << 20, 1, np.float32))}, storage_options=opts)
print("saved", flush=True)
"""


@pytest.mark.parametrize("mode", ["stream", "put"])
def test_sigkill_mid_upload_leaves_the_old_object(s3, mode):
    """Killed in the middle of a 60 MiB save, the object is the old one or the whole new one.

    ``stream``: a multipart upload, killed once its first part is going up: the store
    publishes the object only at completion, so it must still be the old one. ``put``: one
    PUT of the serialised file, killed shortly after the save began."""
    import signal
    import time

    uri = f"s3://{BUCKET}/crash-{mode}/model.params"
    mx.nd.save(uri, {"gen": NDArray(np.array([0], np.int64)),
                     "big": NDArray(np.zeros(4, np.float32))}, storage_options=s3)
    fs = _fs(s3)
    before = {u["UploadId"] for u in fs.list_multipart_uploads(BUCKET)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, uri, s3["endpoint_url"], mode],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started = False
    try:
        assert child.stdout.readline() == b"saving\n", child.stderr.read().decode()
        if mode == "stream":
            end = time.monotonic() + 60
            while not started and child.poll() is None and time.monotonic() < end:
                uploads = fs.list_multipart_uploads(BUCKET)
                started = any(u["UploadId"] not in before for u in uploads)
                time.sleep(0.002)
        else:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    got = mx.nd.load(uri, storage_options=s3)
    gen = int(got["gen"].asnumpy()[0])
    if mode == "stream":
        assert started, "the multipart upload was never seen"
        assert gen == 0 and got["big"].shape == (4,)
    else:
        assert (gen, got["big"].shape) in ((0, (4,)), (1, (15 << 20,)))
        assert (got["big"].asnumpy() == gen).all()
    assert mx.model.verify(uri, s3) == []
