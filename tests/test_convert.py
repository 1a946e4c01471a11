"""``mxlite.convert`` and the safetensors reader: conversions keep every byte, and damaged
safetensors files are refused with an MXNetError naming the file and offset."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
import mxlite.convert as cv
from mxlite.base import MXNetError
from mxlite.formats import safetensors as st

PARAMS = DATA / "module" / "mx_mlp-0003.params"


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_params_round_trip_is_byte_identical(tmp_path, fmt):
    mid, back = tmp_path / f"m.{fmt}", tmp_path / "back.params"
    cv.convert(str(PARAMS), str(mid))
    cv.convert(str(mid), str(back))
    assert back.read_bytes() == PARAMS.read_bytes()


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_list_files_dtypes_and_np_shape_survive(tmp_path, fmt):
    src = tmp_path / "l.params"
    arrays = [mx.nd.array(np.arange(6).reshape(2, 3), dtype=d)
              for d in ("float16", "float64", "uint8", "int8", "int32", "int64")]
    mx.nd.save(str(src), arrays)
    cv.convert(str(src), str(tmp_path / f"l.{fmt}"))
    cv.convert(str(tmp_path / f"l.{fmt}"), str(tmp_path / "b.params"))
    assert (tmp_path / "b.params").read_bytes() == src.read_bytes()
    with mx.util.np_shape(True):
        mx.nd.save(str(src), {"s": mx.nd.array(np.float32(2.5).reshape(()))})
    cv.convert(str(src), str(tmp_path / f"s.{fmt}"))
    cv.convert(str(tmp_path / f"s.{fmt}"), str(tmp_path / "s.params"))
    assert (tmp_path / "s.params").read_bytes() == src.read_bytes()


def test_npz_names_and_values(tmp_path):
    cv.convert(str(PARAMS), str(tmp_path / "m.npz"))
    with np.load(tmp_path / "m.npz") as z:
        assert z.files == ["arg:fc1_weight", "arg:fc1_bias", "arg:fc2_weight", "arg:fc2_bias"]
        loaded = mx.nd.load(str(PARAMS))
        np.testing.assert_array_equal(z["arg:fc2_bias"], loaded["arg:fc2_bias"].asnumpy())


def test_the_reference_safetensors_library_agrees(tmp_path):
    sn = pytest.importorskip("safetensors.numpy")
    cv.convert(str(PARAMS), str(tmp_path / "m.safetensors"))
    theirs = sn.load_file(str(tmp_path / "m.safetensors"))
    ours = mx.nd.load(str(PARAMS))
    assert sorted(theirs) == sorted(ours)
    for k, v in ours.items():
        np.testing.assert_array_equal(theirs[k], v.asnumpy())
    sn.save_file({"b": np.arange(6, dtype=np.float16).reshape(2, 3),
                  "a": np.ones(3, np.int64)}, str(tmp_path / "t.safetensors"))
    cv.convert(str(tmp_path / "t.safetensors"), str(tmp_path / "t.params"))
    got = mx.nd.load(str(tmp_path / "t.params"))
    assert got["b"].dtype == np.float16 and got["b"].shape == (2, 3)
    np.testing.assert_array_equal(got["a"].asnumpy(), np.ones(3, np.int64))


def test_sparse_and_unknown_formats_are_refused(tmp_path):
    src = tmp_path / "sp.params"
    mx.nd.save(str(src), {"w": mx.nd.array(np.eye(3)).tostype("csr")})
    with pytest.raises(MXNetError, match="'w' is csr"):
        cv.convert(str(src), str(tmp_path / "sp.safetensors"))
    assert not (tmp_path / "sp.safetensors").exists()
    with pytest.raises(MXNetError, match="suffix"):
        cv.convert(str(PARAMS), str(tmp_path / "x.bin"))
    with pytest.raises(MXNetError, match="symbol JSON"):
        cv.convert(str(PARAMS), str(tmp_path / "x.onnx"))
    with pytest.raises(MXNetError, match="format 'zip'"):
        cv.convert(str(PARAMS), str(tmp_path / "x.npz"), dst_format="zip")


def _st_file() -> bytes:
    return b"".join(bytes(p) for p in st.encode_parts(
        [("a", np.arange(4, dtype=np.float32)), ("b", np.ones((2, 2), np.int64))],
        {"format": "mxnet"}))


def test_safetensors_truncation_at_every_offset_is_refused():
    data = _st_file()
    arrays, meta = st.read(io.BytesIO(data), "f.safetensors", len(data))
    assert [k for k, _ in arrays] == ["a", "b"] and meta == {"format": "mxnet"}
    for n in range(len(data)):
        with pytest.raises(MXNetError, match="f.safetensors"):
            st.read(io.BytesIO(data[:n]), "f.safetensors", n)
        with pytest.raises(MXNetError, match="f.safetensors"):
            st.read(io.BytesIO(data[:n]), "f.safetensors")


@pytest.mark.parametrize("header, match", [
    (b'{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}', "span 8"),
    (b'{"a":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}}', "F99"),
    (b'{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', "non-negative"),
    (b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', "starts at data offset 8"),
    (b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
     b'"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "twice"),
    (b'[1, 2]', "expected an object"),
    (b'{"a":', "not JSON"),
    (b'{"__metadata__":{"k":1}}', "strings to strings"),
])
def test_safetensors_bad_headers(header, match):
    data = len(header).to_bytes(8, "little") + header + bytes(16)
    with pytest.raises(MXNetError, match=match):
        st.read(io.BytesIO(data), "bad.safetensors", len(data))


def test_a_lying_header_length_allocates_nothing():
    data = (2**62).to_bytes(8, "little") + b"{}"
    with pytest.raises(MXNetError, match="header length 4611686018427387904 at offset 0"):
        st.read(io.BytesIO(data), "big.safetensors", len(data))
