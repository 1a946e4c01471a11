"""gluon.data's RecordIO and image-folder datasets over the files MXNet 1.9.1 wrote
(tests/fixtures/gen_recordio.py)."""

from __future__ import annotations

import json
import pathlib
import pickle
import warnings

import numpy as np
import pytest

from mxlite import gluon
from mxlite.base import MXNetError

DATA = pathlib.Path(__file__).parent / "data" / "recordio"
EXPECTED = json.loads((DATA / "expected.json").read_text())
PAYLOADS = [bytes.fromhex(h) for h in EXPECTED["split"]["payloads"]]


def lst_paths() -> dict[str, int]:
    """image path -> record key, from MXNet's list."""
    out = {}
    for line in (DATA / "im2rec.lst").read_text().splitlines():
        key, _, path = line.split("\t")
        out[path] = int(key)
    return out


def test_record_file_dataset():
    ds = gluon.data.RecordFileDataset(str(DATA / "split.rec"))
    assert len(ds) == len(PAYLOADS)
    assert [ds[i] for i in range(len(ds))] == PAYLOADS
    assert ds.idx_file == str(DATA / "split.idx")
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2[9] == PAYLOADS[9] and ds[8] == PAYLOADS[8]


def test_record_file_dataset_in_worker_processes():
    ds = gluon.data.RecordFileDataset(str(DATA / "split.rec")).transform(
        lambda s: np.float32(len(s)), lazy=True)
    ds[0]  # the parent has used its file: workers must not share its position
    loader = gluon.data.DataLoader(ds, batch_size=4, num_workers=2)
    got = np.concatenate([b.asnumpy() for b in loader])
    assert got.tolist() == [float(len(p)) for p in PAYLOADS]
    loader = gluon.data.DataLoader(ds, batch_size=5, num_workers=2, thread_pool=True,
                                   shuffle=True)
    assert sorted(np.concatenate([b.asnumpy() for b in loader]).tolist()) == \
        sorted(float(len(p)) for p in PAYLOADS)


def test_image_record_dataset_decodes_as_mxnet():
    pytest.importorskip("cv2")
    decoded = np.load(DATA / "decoded.npz")
    ds = gluon.data.vision.ImageRecordDataset(str(DATA / "im2rec.rec"))
    recs = EXPECTED["im2rec"]["records"]
    assert len(ds) == len(recs)
    for i, rec in enumerate(recs):
        img, label = ds[i]
        np.testing.assert_array_equal(img.asnumpy(), decoded[f"im2rec/{rec['key']}"])
        assert img.dtype == np.uint8
        assert label == rec["header"]["label"]
    grey = gluon.data.vision.ImageRecordDataset(str(DATA / "im2rec.rec"), flag=0)
    img, _ = grey[0]
    assert img.shape == decoded[f"im2rec/{recs[0]['key']}"].shape[:2] + (1,)
    seen = []
    ds = gluon.data.vision.ImageRecordDataset(
        str(DATA / "im2rec.rec"), transform=lambda d, lab: seen.append(lab) or (d.shape, lab))
    assert ds[1] == (decoded[f"im2rec/{recs[1]['key']}"].shape, recs[1]["header"]["label"])
    assert seen == [recs[1]["header"]["label"]]


def test_image_record_dataset_multi_label():
    pytest.importorskip("cv2")
    ds = gluon.data.vision.ImageRecordDataset(str(DATA / "multi.rec"))
    for i, rec in enumerate(EXPECTED["multi"]["records"]):
        _, label = ds[i]
        assert isinstance(label, np.ndarray) and label.dtype == np.float32
        assert label.tolist() == rec["header"]["label"]


def test_image_record_dataset_bad_image(tmp_path):
    pytest.importorskip("cv2")
    from mxlite import recordio

    with recordio.MXIndexedRecordIO(tmp_path / "x.idx", tmp_path / "x.rec", "w") as w:
        w.write_idx(0, recordio.pack((0, 1.0, 0, 0), b"not an image"))
    ds = gluon.data.vision.ImageRecordDataset(str(tmp_path / "x.rec"))
    with pytest.raises(MXNetError, match=r"x\.rec record 0 \(key 0, byte 0\): not an image"):
        ds[0]


def test_image_folder_dataset():
    pytest.importorskip("cv2")
    decoded = np.load(DATA / "decoded.npz")
    keys = lst_paths()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = gluon.data.vision.ImageFolderDataset(str(DATA / "images"))
    assert any("notes.txt" in str(w.message) for w in caught)
    assert ds.synsets == ["a", "b"]
    names = [(str(pathlib.Path(p).relative_to(DATA / "images")), lab) for p, lab in ds.items]
    assert names == sorted((p, int(p.startswith("b"))) for p in keys)
    for i, (rel, lab) in enumerate(names):
        img, label = ds[i]
        assert label == lab
        np.testing.assert_array_equal(img.asnumpy(), decoded[f"im2rec/{keys[rel]}"])
    with pytest.raises(MXNetError, match="is not a folder"):
        gluon.data.vision.ImageFolderDataset(str(DATA / "nowhere"))
