"""mx.io.MNISTIter and mx.io.LibSVMIter against MXNet 1.9.1 (tests/fixtures/gen_io_formats.py)."""

from __future__ import annotations

import hashlib
import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite._io_formats import std_shuffle_order
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "io_formats"
CASES = json.loads((DATA / "cases.json").read_text())
ARRAYS = np.load(DATA / "batches.npz")
sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from gen_io_formats import write_mnist  # noqa: E402


def make(key: str):
    case = CASES["cases"][key]
    kw = dict(case["kwargs"])
    if case["iter"] == "MNISTIter":
        return mx.io.MNISTIter(image=str(DATA / "mnist-images"),
                               label=str(DATA / "mnist-labels"), silent=True, **kw)
    for k in ("data_libsvm", "label_libsvm"):
        if k in kw:
            kw[k] = str(DATA / kw[k])
    return mx.io.LibSVMIter(**kw)


def check_array(prefix: str, arr) -> None:
    if prefix + "/indptr" in ARRAYS.files:
        assert arr.stype == "csr"
        for part in ("data", "indices", "indptr"):
            want = ARRAYS[f"{prefix}/{part}"]
            got = getattr(arr, part).asnumpy()
            assert got.dtype == want.dtype, (prefix, part)
            np.testing.assert_array_equal(got, want, err_msg=f"{prefix}/{part}")
    else:
        want = ARRAYS[prefix]
        got = arr.asnumpy()
        assert got.dtype == want.dtype and got.shape == want.shape, prefix
        np.testing.assert_array_equal(got, want, err_msg=prefix)


OK_CASES = sorted(k for k, v in CASES["cases"].items() if "error" not in v)
ERROR_CASES = sorted(k for k, v in CASES["cases"].items() if "error" in v)


@pytest.mark.parametrize("key", OK_CASES)
def test_batches_equal_mxnets(key):
    case = CASES["cases"][key]
    it = make(key)
    assert [[d.name, list(d.shape), np.dtype(d.dtype).name] for d in it.provide_data] == \
        case["provide_data"]
    assert [[d.name, list(d.shape), np.dtype(d.dtype).name] for d in it.provide_label] == \
        case["provide_label"]
    for e, epoch in enumerate(case["epochs"]):
        got = list(it)
        assert len(got) == len(epoch["batches"]), (key, e)
        for b, (batch, want) in enumerate(zip(got, epoch["batches"])):
            assert batch.pad == want["pad"], (key, e, b)
            if "index" in want:
                assert batch.index.tolist() == want["index"], (key, e, b)
            check_array(f"{key}/{e}/{b}/data", batch.data[0])
            check_array(f"{key}/{e}/{b}/label", batch.label[0])
        it.reset()


@pytest.mark.parametrize("key", ERROR_CASES)
def test_refusals(key):
    want = CASES["cases"][key]["error"]
    if want == "StopIteration":
        # MXNet raises StopIteration from the constructor (it reads the first batch there);
        # here the iterator is made and has no batch
        assert list(make(key)) == []
        return
    with pytest.raises(MXNetError) as err:
        make(key)
    # the gist of MXNet's check message
    words = {"mnist_bad_part": "part_index must be less than num_parts",
             "mnist_float64": "dtype",
             "libsvm_data_shape_2d": "dimension of data_shape is expected to be 1",
             "libsvm_label_shape_1_with_file": "label_shape is not expected to be (1,)",
             "libsvm_too_big": "number of input must be bigger than batch size"}[key]
    assert words in str(err.value)


def _ref_shuffle(n: int, seed: int) -> tuple[list[int], int]:
    """libstdc++'s std::shuffle with std::mt19937, one draw at a time (and rejections)."""
    bits = np.random.MT19937(0)
    bits._legacy_seeding(seed)
    raw = bits.random_raw(n + 64).tolist()
    p = rejected = 0
    x = list(range(n))
    for i in range(1, n):
        scaling = 0xFFFFFFFF // (i + 1)
        while True:
            v = raw[p]
            p += 1
            if v < (i + 1) * scaling:
                break
            rejected += 1
        j = v // scaling
        x[i], x[j] = x[j], x[i]
    return x, rejected


def test_std_shuffle_matches_a_draw_by_draw_reference_with_rejections():
    order, rejected = _ref_shuffle(70000, 3)
    assert rejected > 0  # seed 3 exercises the rejection path
    assert std_shuffle_order(70000, 3).tolist() == order
    assert std_shuffle_order(1, 0).tolist() == [0]
    assert std_shuffle_order(0, 0).tolist() == []


def test_big_shuffle_order_equals_mxnets(tmp_path):
    big = CASES["mnist_big"]
    image, label = write_mnist(tmp_path, n=big["n"], rows=2, cols=3, ids=True)
    it = mx.io.MNISTIter(image=image, label=label, batch_size=1000, shuffle=True,
                         seed=big["seed"], silent=True, flat=True)
    order = []
    for batch in it:
        d = np.round(batch.data[0].asnumpy() * 256).astype(np.int64)
        order.extend((d[:, 0] * 65536 + d[:, 1] * 256 + d[:, 2]).tolist())
    assert order[:64] == big["first"]
    assert hashlib.sha256(np.asarray(order, "<i8").tobytes()).hexdigest() == big["sha256"]


def test_mnist_bad_files(tmp_path):
    image, label = write_mnist(tmp_path, n=10)
    data = pathlib.Path(image).read_bytes()
    pathlib.Path(image).write_bytes(data[:-5])
    with pytest.raises(MXNetError, match=r"mnist-images: truncated: 10 images of 5x4 need "
                                         r"216 bytes, the file has 211"):
        mx.io.MNISTIter(image=image, label=label, batch_size=2)
    pathlib.Path(image).write_bytes(data[:10])
    with pytest.raises(MXNetError, match="shorter than its 16-byte header"):
        mx.io.MNISTIter(image=image, label=label, batch_size=2)
    pathlib.Path(image).write_bytes(data)
    pathlib.Path(label).write_bytes(pathlib.Path(label).read_bytes()[:12])
    with pytest.raises(MXNetError, match="truncated: 10 labels"):
        mx.io.MNISTIter(image=image, label=label, batch_size=2)
    with pytest.raises(FileNotFoundError):
        mx.io.MNISTIter(image=str(tmp_path / "nope"), label=label)
    with pytest.raises(MXNetError, match="batch_size"):
        mx.io.MNISTIter(image=image, label=label, batch_size=0)


def test_mnist_unknown_arguments_warn_and_uris(tmp_path):
    import fsspec

    image, label = write_mnist(tmp_path, n=12)
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/iof/img", pathlib.Path(image).read_bytes())
    fs.pipe_file("/iof/lbl", pathlib.Path(label).read_bytes())
    with pytest.warns(UserWarning, match=r"ignoring unknown arguments \['input_shape'\]"):
        it = mx.io.MNISTIter(image="memory://iof/img", label="memory://iof/lbl",
                             batch_size=4, shuffle=False, silent=True, input_shape=(1, 2))
    ref = mx.io.MNISTIter(image=image, label=label, batch_size=4, shuffle=False, silent=True)
    for a, b in zip(it, ref):
        np.testing.assert_array_equal(a.data[0].asnumpy(), b.data[0].asnumpy())


def test_libsvm_folder_and_bad_lines(tmp_path):
    lines = (DATA / "data.t").read_text().splitlines(keepends=True)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.t").write_text("".join(lines[:3]))
    (tmp_path / "d" / "b.t").write_text("".join(lines[3:]).rstrip("\n"))
    a = mx.io.LibSVMIter(data_libsvm=str(tmp_path / "d"), data_shape=(6,), batch_size=3)
    b = mx.io.LibSVMIter(data_libsvm=str(DATA / "data.t"), data_shape=(6,), batch_size=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data[0].asnumpy(), y.data[0].asnumpy())
        np.testing.assert_array_equal(x.label[0].asnumpy(), y.label[0].asnumpy())
    bad = tmp_path / "bad.t"
    bad.write_text("1 0:1\n2 x:3\n")
    with pytest.raises(MXNetError, match=r"bad\.t: line 2: expected 'index:value'.*'x:3'"):
        mx.io.LibSVMIter(data_libsvm=str(bad), data_shape=(6,), batch_size=1)
    bad.write_text("1 0:1\n2 7:3\n")
    with pytest.raises(MXNetError, match=r"row 1 has column index 7, outside the shape"):
        mx.io.LibSVMIter(data_libsvm=str(bad), data_shape=(6,), batch_size=1)
    bad.write_text("one 0:1\n")
    with pytest.raises(MXNetError, match="expected a label"):
        mx.io.LibSVMIter(data_libsvm=str(bad), data_shape=(6,), batch_size=1)
    with pytest.raises(MXNetError, match="round_batch"):
        mx.io.LibSVMIter(data_libsvm=str(DATA / "data.t"), data_shape=(6,), batch_size=1,
                         round_batch=False)


def test_mnist_gzipped_files(tmp_path):
    import gzip

    image, label = write_mnist(tmp_path, n=20)
    for p in (image, label):
        pathlib.Path(p + ".gz").write_bytes(gzip.compress(pathlib.Path(p).read_bytes(), mtime=0))
    a = mx.io.MNISTIter(image=image + ".gz", label=label + ".gz", batch_size=5, silent=True)
    b = mx.io.MNISTIter(image=image, label=label, batch_size=5, silent=True)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.data[0].asnumpy(), y.data[0].asnumpy())
        np.testing.assert_array_equal(x.label[0].asnumpy(), y.label[0].asnumpy())
    pathlib.Path(image + ".gz").write_bytes(b"\x1f\x8b" + b"junk")
    with pytest.raises(MXNetError, match="broken gzip"):
        mx.io.MNISTIter(image=image + ".gz", label=label, batch_size=5)


def test_module_fit_and_sparse_dot_take_the_batches():
    it = mx.io.MNISTIter(image=str(DATA / "mnist-images"), label=str(DATA / "mnist-labels"),
                         batch_size=10, flat=True, silent=True)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=10),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.fit(it, num_epoch=1, optimizer_params={"learning_rate": 0.1})
    assert mod.get_outputs()[0].shape == (10, 10)
    it = mx.io.LibSVMIter(data_libsvm=str(DATA / "data.t"), data_shape=(6,), batch_size=3)
    out = mx.nd.dot(it.next().data[0], mx.nd.ones((6, 2))).asnumpy()
    np.testing.assert_allclose(out, [[1.7, 1.7], [0, 0], [4.2, 4.2]], rtol=1e-6)
