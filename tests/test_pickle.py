"""Pickled NDArrays: MXNet's pickles through mx.compat.load_pickle, round trips, refusals."""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import struct

import numpy as np
import pytest
from conftest import DATA, historic

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.formats import pickles
from mxlite.ndarray.ndarray import NDArray

try:
    from mxlite.ndarray import sparse
except ImportError:  # the sparse classes land separately
    sparse = None
needs_sparse = pytest.mark.skipif(sparse is None, reason="mxlite.ndarray.sparse not built yet")

EXPECT = json.loads((DATA / "expectations.json").read_text())["pickle"]


def check_values(obj, values: dict) -> None:
    got = {"value": obj} if isinstance(obj, NDArray) else obj
    assert list(got) == list(values)
    for k, want in values.items():
        v = got[k]
        assert type(v) is NDArray
        assert v.shape == tuple(want["shape"])
        assert v._data.dtype == np.dtype(want["dtype"])
        assert v._ctx == mx.cpu(0)
        np.testing.assert_array_equal(v._data.ravel(),
                                      np.array(want["data"], dtype=want["dtype"]))


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_golden_pickles(case):
    exp = EXPECT[case]
    path = DATA / exp["file"]
    raw = path.read_bytes()
    assert raw[:2] == bytes([0x80, exp["protocol"]])
    check_values(mx.compat.load_pickle(raw), exp["values"])
    check_values(mx.compat.load_pickle(str(path)), exp["values"])
    check_values(mx.compat.load_pickle(path), exp["values"])
    with open(path, "rb") as f:
        check_values(mx.compat.load_pickle(f), exp["values"])


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_golden_pickle_truncated_everywhere(case):
    raw = (DATA / EXPECT[case]["file"]).read_bytes()
    for cut in range(len(raw)):
        with pytest.raises(MXNetError, match=r"^<pickle bytes>: "):
            mx.compat.load_pickle(raw[:cut])


def test_historic_states_with_ndarrays():
    got = mx.compat.load_pickle(historic("test-0000.states"))
    assert list(got) == ["fullyconnected3_bias", "fullyconnected3_weight"]
    assert got["fullyconnected3_bias"].shape == (100,)
    assert got["fullyconnected3_weight"].shape == (100, 10)
    assert mx.compat.load_pickle(historic("test-0100.states")) == dict.fromkeys(range(6))


def test_historic_trainer_states_refuse_optimizer_unless_allowed(monkeypatch):
    # Gluon's Trainer.save_states pickles the SGD optimizer object itself: without an
    # allow-list entry for it (mxlite.optimizer adds its own), the load refuses it by name.
    base = {k: v for k, v in pickles.SAFE_GLOBALS.items() if not k[0].startswith("mxnet.opt")}
    monkeypatch.setattr(pickles, "SAFE_GLOBALS", base)
    with pytest.raises(MXNetError, match=r"test\.states: refusing to load global "
                                         r"mxnet\.optimizer\.SGD"):
        mx.compat.load_pickle(historic("test.states"))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_dense_roundtrip(protocol):
    x = NDArray(np.arange(12, dtype=np.float64).reshape(3, 4), mx.gpu(2))
    raw = pickle.dumps(x, protocol=protocol)
    for y in (pickle.loads(raw), mx.compat.load_pickle(raw)):
        assert type(y) is NDArray and y._ctx == mx.gpu(2)
        np.testing.assert_array_equal(y._data, x._data)
        assert y._data.dtype == np.float64
    # mxlite's pickle of a dict of arrays, like a *.states file
    d = {0: x, 1: (x, NDArray(np.ones(2, np.int8))), 2: None}
    got = mx.compat.load_pickle(pickle.dumps(d, protocol=protocol))
    assert got[2] is None and got[1][1]._data.tolist() == [1, 1]


@needs_sparse
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_sparse_roundtrip(protocol):
    rsp = sparse.RowSparseNDArray(np.arange(6, dtype=np.float32).reshape(2, 3),
                                  np.array([0, 3], np.int64), (4, 3))
    csr = sparse.CSRNDArray(np.array([5.0, 6.0], np.float32), np.array([0, 1, 1, 2], np.int64),
                            np.array([2, 0], np.int64), (3, 4))
    for v in (rsp, csr):
        raw = pickle.dumps(v, protocol=protocol)
        for y in (pickle.loads(raw), mx.compat.load_pickle(raw)):
            assert type(y) is type(v) and y.shape == v.shape and y.stype == v.stype
            np.testing.assert_array_equal(y.data._data, v.data._data)
            np.testing.assert_array_equal(y.indices._data, v.indices._data)
        if v.stype == "csr":
            np.testing.assert_array_equal(y.indptr._data, v.indptr._data)


def test_context_pickles():
    for p in (2, 4):
        assert mx.compat.load_pickle(pickle.dumps(mx.gpu(3), protocol=p)) == mx.gpu(3)


def test_mxnet_class_paths_map_to_mxlite():
    src = pickle.dumps(NDArray(np.ones(2, np.float32)), protocol=2)
    assert b"mxlite.ndarray.ndarray" in src
    as_mxnet = src.replace(b"cmxlite.ndarray.ndarray\nNDArray",
                           b"cmxnet.ndarray.ndarray\nNDArray")
    as_np = src.replace(b"cmxlite.ndarray.ndarray\nNDArray", b"cmxnet.numpy\nndarray")
    for raw in (as_mxnet, as_np):
        assert raw != src
        y = mx.compat.load_pickle(raw)
        assert type(y) is NDArray and y._data.tolist() == [1.0, 1.0]


def malicious(tmp_path, module: str, name: str, arg: str, protocol: int) -> bytes:
    if protocol < 4:
        return f"c{module}\n{name}\n(V{arg}\ntR.".encode()
    body = (b"\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)])
            + name.encode() + b"\x93" + b"\x8c" + bytes([len(arg)]) + arg.encode()
            + b"\x85R.")
    return b"\x80\x04" + body


@pytest.mark.parametrize("protocol", [0, 4])
@pytest.mark.parametrize("module,name,template", [
    ("os", "system", "touch {}"),
    ("builtins", "eval", "open({!r}, 'w')"),
    ("__builtin__", "eval", "open({!r}, 'w')"),
    ("posix", "system", "touch {}"),
    ("subprocess", "getoutput", "touch {}"),
])
def test_refuses_dangerous_globals(tmp_path, module, name, template, protocol):
    marker = tmp_path / "pwned"
    raw = malicious(tmp_path, module, name, template.format(str(marker)), protocol)
    pickletools.dis(raw, out=io.StringIO())  # a well-formed pickle
    with pytest.raises(MXNetError, match=rf"^<pickle bytes>: refusing to load global "
                                         rf"{module}\.{name}"):
        mx.compat.load_pickle(raw)
    assert not marker.exists()


def test_refuses_global_hidden_after_an_array(tmp_path):
    marker = tmp_path / "pwned"
    inner = pickle.dumps(NDArray(np.ones(1, np.float32)), protocol=2)[:-1]  # drop STOP
    raw = inner + f"cos\nsystem\n(Vtouch {marker}\ntR".encode() + b"\x86."
    with pytest.raises(MXNetError, match="refusing to load global os.system"):
        mx.compat.load_pickle(raw)
    assert not marker.exists()


def test_allow_list_is_data():
    assert ("mxnet.ndarray.ndarray", "NDArray") in pickles.SAFE_GLOBALS
    assert all(isinstance(v, str) and ":" in v for v in pickles.SAFE_GLOBALS.values())
    raw = b"\x80\x02cfractions\nFraction\nX\x03\x00\x00\x001/3\x85R."
    with pytest.raises(MXNetError, match="refusing to load global fractions.Fraction"):
        mx.compat.load_pickle(raw)
    pickles.allow_global("fractions", "Fraction", "fractions:Fraction")
    try:
        assert str(mx.compat.load_pickle(raw)) == "1/3"
    finally:
        del pickles.SAFE_GLOBALS[("fractions", "Fraction")]


@pytest.mark.parametrize("opcode,name", [(b"\x8e", "bytes8"), (b"\x96", "bytearray8"),
                                         (b"B", "bytes4"), (b"X", "unicodestring4")])
def test_lying_length_in_pickle_fails_without_allocating(opcode, name):
    size = struct.pack("<I", 2**32 - 1) if opcode in (b"B", b"X") else struct.pack("<Q", 1 << 40)
    raw = b"\x80\x05" + opcode + size + b"abc"
    with pytest.raises(MXNetError, match=rf"^<pickle bytes>: not a valid pickle: expected "
                                         rf"\d+ bytes in a {name}, but only 3 remain"):
        mx.compat.load_pickle(raw)


def test_lying_length_in_pickle_file(tmp_path):
    p = tmp_path / "huge.states"
    p.write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"abc")
    with pytest.raises(MXNetError, match=rf"^{p}: not a valid pickle: expected "
                                         r"4611686018427387904 bytes in a bytes8, but only 3"):
        mx.compat.load_pickle(p)


class Pipe(io.RawIOBase):
    def __init__(self, raw):
        self._f = io.BytesIO(raw)

    def readable(self):
        return True

    def readinto(self, b):
        return self._f.readinto(b)


def test_unseekable_stream():
    exp = EXPECT["dict_p4"]
    raw = (DATA / exp["file"]).read_bytes()
    check_values(mx.compat.load_pickle(io.BufferedReader(Pipe(raw))), exp["values"])


def test_bad_inputs():
    with pytest.raises(MXNetError, match=r"^<pickle bytes>: not a valid pickle"):
        mx.compat.load_pickle(b"not a pickle")
    with pytest.raises(MXNetError, match="cannot open for reading"):
        mx.compat.load_pickle("/nonexistent/x.states")
    with pytest.raises(TypeError):
        mx.compat.load_pickle(42)
    bad = pickle.dumps(NDArray(np.ones(4, np.float32)), protocol=4)
    cut = bad.replace(b"\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00", b"\xff\x00\x00\x00\x00\x00"
                      b"\x00\x00\x01\x00")
    assert cut != bad
    with pytest.raises(MXNetError, match=r"pickled NDArray: byte \d+: array 0: array data "
                                         r"needs 1020 bytes"):
        mx.compat.load_pickle(cut)


def test_numpy_shape_pickles_keep_scalars_and_zero_size():
    """Under numpy-shape semantics the handle is a V3 record, as MXNet writes it."""
    with mx.util.np_shape(True):
        for x in (mx.nd.array(3.0), mx.nd.zeros((0, 3))):
            state = x.__getstate__()
            assert bytes(state["handle"][:4]) == (0xF993FACA).to_bytes(4, "little")
            y = pickle.loads(pickle.dumps(x))
            assert y.shape == x.shape
            np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
