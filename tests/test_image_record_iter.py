"""mx.io.ImageRecordIter / ImageRecordUInt8Iter / ImageDetRecordIter against MXNet 1.9.1's C++
iterators (tests/fixtures/gen_image.py): the same batches (pixels and labels exact), pads and
epoch boundaries; then threads, shuffling, sharding, augmentation and bad records."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite import recordio
from mxlite.base import MXNetError

ROOT = DATA / "image"
CASES = json.loads((ROOT / "cases.json").read_text())
ARR = np.load(ROOT / "images.npz")
ITER = CASES["iter"]


def _kwargs(spec: dict, **extra) -> dict:
    kw = {}
    for k, v in spec["kwargs"].items():
        kw[k] = str(ROOT / v) if k.startswith("path_") else (tuple(v) if isinstance(v, list)
                                                             else v)
    kw.update(extra)
    return kw


def _epoch(it) -> list:
    return [(b.data[0].asnumpy(), b.label[0].asnumpy(), b.pad) for b in it]


@pytest.mark.parametrize("name", sorted(ITER))
def test_batches_equal_mxnets(name):
    spec = ITER[name]
    it = getattr(mx.io, spec["cls"])(**_kwargs(spec))
    assert [[d.name, list(d.shape)] for d in it.provide_data] == spec["provide_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == spec["provide_label"]
    for e, pads in enumerate(spec["epochs"]):
        if e:
            it.reset()
        got = _epoch(it)
        if name == "no_round":
            # MXNet reports pad 0 for a last batch it fills only in part (the rest is left
            # over from an earlier batch); mxlite reports the missing images as pad (zeros)
            assert [g[2] for g in got] == [0, 0, 2] and pads == [0, 0, 0]
        else:
            assert [g[2] for g in got] == pads
        for b, (data, label, _) in enumerate(got):
            ref_data = ARR[f"iter/{name}/{e}/{b}/data"]
            ref_label = ARR[f"iter/{name}/{e}/{b}/label"]
            assert str(data.dtype) == spec["dtype"]
            n = len(ref_data)
            np.testing.assert_array_equal(data[:n], ref_data.astype(data.dtype))
            np.testing.assert_array_equal(label[:n], ref_label)
    it.close()


def test_mxnet_aliases_and_iteration_protocol():
    it = mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 16, 16),
                               batch_size=4, preprocess_threads=2)
    # getdata() / getlabel() give the arrays themselves, as MXNet's C++ iterators do
    assert it.iter_next() and it.getdata().shape == (4, 3, 16, 16) and it.getpad() == 0
    assert it.getlabel().asnumpy().tolist() == [0, 1, 2, 3]
    it.reset()  # in the middle of an epoch: back to the start
    assert next(iter(it)).label[0].asnumpy().tolist() == [0, 1, 2, 3]
    assert isinstance(it, mx.io.DataIter)
    it.close()


def test_batches_a_caller_keeps_are_never_overwritten():
    it = mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 16, 16),
                               batch_size=1, prefetch_buffer=1)
    kept = [(b.data[0], b.data[0].asnumpy().copy()) for b in it]
    it.reset()
    for _ in it:  # batch buffers are recycled only once nothing refers to them
        pass
    for arr, copy in kept:
        np.testing.assert_array_equal(arr.asnumpy(), copy)
    assert len(kept) == 10


def test_thread_count_and_prefetch_do_not_change_random_augmentation():
    kw = dict(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 14, 14), batch_size=3,
              rand_crop=True, rand_mirror=True, max_rotate_angle=20, brightness=0.3,
              pca_noise=0.1, random_h=10, seed=5)
    one = _epoch(mx.io.ImageRecordIter(preprocess_threads=1, prefetch_buffer=1, **kw))
    three = _epoch(mx.io.ImageRecordIter(preprocess_threads=3, prefetch_buffer=4, **kw))
    for (d1, l1, p1), (d3, l3, p3) in zip(one, three):
        np.testing.assert_array_equal(d1, d3)
        np.testing.assert_array_equal(l1, l3)
        assert p1 == p3
    other = _epoch(mx.io.ImageRecordIter(preprocess_threads=2, **{**kw, "seed": 6}))
    assert not np.array_equal(one[0][0], other[0][0])


@pytest.mark.parametrize("aug", [
    dict(rand_crop=True, resize=20), dict(random_resized_crop=True, max_random_area=1.0,
                                          min_random_area=0.3, max_aspect_ratio=1.33,
                                          min_aspect_ratio=0.75),
    dict(max_rotate_angle=30, max_shear_ratio=0.2, max_random_scale=1.2,
         min_random_scale=0.9, fill_value=0),
    dict(max_crop_size=16, min_crop_size=12, rand_crop=True),
    dict(brightness=0.4, contrast=0.4, saturation=0.4, pca_noise=0.1),
    dict(random_h=20, random_s=20, random_l=20, inter_method=10, resize=18),
    dict(rand_mirror=True, max_random_contrast=0.3, max_random_illumination=10),
])
def test_random_augmentations_give_batches_of_the_right_shape(aug):
    it = mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 14, 14),
                               batch_size=5, **aug)
    got = _epoch(it)
    assert len(got) == 2 and all(d.shape == (5, 3, 14, 14) and d.dtype == np.float32
                                 for d, _, _ in got)
    assert np.isfinite(np.concatenate([d for d, _, _ in got])).all()


def test_shuffle_with_an_index_permutes_every_epoch():
    kw = dict(path_imgrec=str(ROOT / "small.rec"), path_imgidx=str(ROOT / "small.idx"),
              data_shape=(3, 16, 16), batch_size=5, shuffle=True, seed=1)
    it = mx.io.ImageRecordIter(**kw)
    plain = {tuple(d.reshape(-1)[:64]) for b in _epoch(mx.io.ImageRecordIter(
        **{**kw, "shuffle": False})) for d in b[0]}
    e0 = _epoch(it)
    it.reset()
    e1 = _epoch(it)
    order0 = [tuple(d.reshape(-1)[:64]) for b in e0 for d in b[0]]
    order1 = [tuple(d.reshape(-1)[:64]) for b in e1 for d in b[0]]
    assert set(order0) == set(order1) == plain and order0 != order1
    again = _epoch(mx.io.ImageRecordIter(**kw))
    for (a, _, _), (b, _, _) in zip(e0, again):
        np.testing.assert_array_equal(a, b)


def test_shards_cover_the_file_once():
    labels = []
    for part in range(3):
        it = mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 16, 16),
                                   batch_size=1, num_parts=3, part_index=part)
        labels += [int(b[1][0]) for b in _epoch(it)]
    assert sorted(labels) == sorted(i % 4 for i in range(10))


def _bad_rec(tmp_path, corrupt: int) -> str:
    src = recordio.MXRecordIO(str(ROOT / "small.rec"), "r")
    out = recordio.MXRecordIO(str(tmp_path / "bad.rec"), "w")
    for i in range(10):
        s = src.read()
        if i == corrupt:
            header, _ = recordio.unpack(s)
            s = recordio.pack(header, b"this is not an image")
        out.write(s)
    out.close()
    return str(tmp_path / "bad.rec")


def test_undecodable_records_raise_or_are_skipped(tmp_path, caplog):
    path = _bad_rec(tmp_path, 2)
    it = mx.io.ImageRecordIter(path_imgrec=path, data_shape=(3, 16, 16), batch_size=4)
    with pytest.raises(MXNetError, match=r"bad\.rec: record at offset \d+: image does not "
                                         r"decode .*skip_invalid=True"):
        list(it)
    it = mx.io.ImageRecordIter(path_imgrec=path, data_shape=(3, 16, 16), batch_size=3,
                               skip_invalid=True)
    with caplog.at_level(logging.WARNING):
        got = _epoch(it)
    assert it.num_skipped == 1 and "skipping" in caplog.text
    labels = np.concatenate([g[1] for g in got]).tolist()
    assert labels == [0, 1, 3, 0, 1, 2, 3, 0, 1]  # record 2 (label 2) skipped
    assert [g[2] for g in got] == [0, 0, 0]


def test_too_small_images_and_bad_parameters():
    with pytest.raises(MXNetError, match="input image size smaller than max_crop_size"):
        list(mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 8, 8),
                                   batch_size=2, max_crop_size=40))
    with pytest.raises(MXNetError, match="unknown parameter 'bogus'"):
        mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 8, 8),
                              batch_size=2, bogus=1)
    with pytest.raises(MXNetError, match="required parameter 'data_shape'"):
        mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), batch_size=2)
    with pytest.raises(MXNetError, match="3-dimensional labels but label_width is set to 2"):
        list(mx.io.ImageRecordIter(path_imgrec=str(ROOT / "multi.rec"), data_shape=(3, 8, 8),
                                   batch_size=2, label_width=2))
    with pytest.raises(MXNetError, match="part_index 3 is not in"):
        mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 8, 8),
                              batch_size=2, num_parts=3, part_index=3)
    with pytest.raises(MXNetError, match="invalid inter_method 7"):
        mx.io.ImageRecordIter(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 8, 8),
                              batch_size=2, inter_method=7)
    det = dict(path_imgrec=str(ROOT / "det.rec"), data_shape=(3, 8, 8), batch_size=2)
    with pytest.raises(MXNetError, match="crop_samplers mismatch"):
        mx.io.ImageDetRecordIter(rand_crop_prob=0.5, num_crop_sampler=3,
                                 min_crop_scales=(0.1, 0.2), **det)
    with pytest.raises(MXNetError, match="max_crop_scales must exceed min_crop_scales"):
        mx.io.ImageDetRecordIter(rand_crop_prob=0.5, min_crop_scales=(0.5,),
                                 max_crop_scales=(0.5,), **det)
    with pytest.raises(MXNetError, match="crop_emit_mode"):
        mx.io.ImageDetRecordIter(rand_crop_prob=0.5, crop_emit_mode="edge", **det)


def test_int8_output_and_mean_image(tmp_path):
    kw = dict(path_imgrec=str(ROOT / "small.rec"), data_shape=(3, 16, 16), batch_size=5)
    raw = _epoch(mx.io.ImageRecordIter(dtype="uint8", **kw))
    i8 = _epoch(mx.io.ImageRecordIter(dtype="int8", mean_r=100, mean_g=120.4, mean_b=130.6,
                                      **kw))
    mean = np.array([100, 120, 131]).reshape(3, 1, 1)
    for (r, _, _), (q, _, _) in zip(raw, i8):
        assert q.dtype == np.int8
        np.testing.assert_array_equal(q, np.clip(r.astype(int) - mean, -128, 127))
    path = str(tmp_path / "mean.nd")
    first = _epoch(mx.io.ImageRecordIter(mean_img=path, **kw))
    saved = mx.nd.load(path)["mean_img"].asnumpy()
    expected = np.mean(np.concatenate([r for r, _, _ in raw]).astype(np.float64), axis=0)
    np.testing.assert_allclose(saved, expected, rtol=1e-5)
    np.testing.assert_allclose(first[0][0], raw[0][0] - saved, rtol=1e-5, atol=1e-4)
    second = _epoch(mx.io.ImageRecordIter(mean_img=path, **kw))  # loaded this time
    np.testing.assert_array_equal(second[0][0], first[0][0])


def test_det_iterator_mirror_and_pad():
    kw = dict(path_imgrec=str(ROOT / "det.rec"), data_shape=(3, 16, 16), batch_size=3)
    plain = _epoch(mx.io.ImageDetRecordIter(**kw))
    flipped = _epoch(mx.io.ImageDetRecordIter(rand_mirror_prob=1.0, **kw))
    for (d0, l0, _), (d1, l1, _) in zip(plain, flipped):
        np.testing.assert_array_equal(d1, d0[:, :, :, ::-1])
        n = l0[:, 3].astype(int)
        for row0, row1, k in zip(l0, l1, n):
            objs0 = row0[4 + 2:4 + k].reshape(-1, 5)
            objs1 = row1[4 + 2:4 + k].reshape(-1, 5)
            np.testing.assert_allclose(objs1[:, 1], 1 - objs0[:, 3], rtol=1e-6)
    padded = _epoch(mx.io.ImageDetRecordIter(rand_pad_prob=1.0, max_pad_scale=2.0, **kw))
    assert padded[0][0].shape == (3, 3, 16, 16)
    objs = padded[0][1][0, 6:6 + 5]
    assert 0 <= objs[1] < objs[3] <= 1


def test_det_iterator_crop_samplers():
    kw = dict(path_imgrec=str(ROOT / "det.rec"), data_shape=(3, 16, 16), batch_size=3)
    plain = _epoch(mx.io.ImageDetRecordIter(**kw))
    # SSD's samplers: several scales, each needing some IoU with an object
    cropped = _epoch(mx.io.ImageDetRecordIter(
        rand_crop_prob=1.0, num_crop_sampler=3, min_crop_scales=(0.3,), max_crop_scales=(1.0,),
        min_crop_aspect_ratios=(0.5,), max_crop_aspect_ratios=(2.0,),
        min_crop_overlaps=(0.1, 0.3, 0.5), max_crop_trials=(50,), **kw))
    again = _epoch(mx.io.ImageDetRecordIter(
        rand_crop_prob=1.0, num_crop_sampler=3, min_crop_scales=(0.3,), max_crop_scales=(1.0,),
        min_crop_aspect_ratios=(0.5,), max_crop_aspect_ratios=(2.0,),
        min_crop_overlaps=(0.1, 0.3, 0.5), max_crop_trials=(50,), **kw))
    changed = 0
    for (d0, _, _), (d1, l1, _), (d2, l2, _) in zip(plain, cropped, again):
        np.testing.assert_array_equal(d1, d2)  # seeded per record: reproducible
        np.testing.assert_array_equal(l1, l2)
        assert d1.shape == d0.shape
        for row in l1:
            k = int(row[3])
            objs = row[4 + 2:4 + k].reshape(-1, 5)
            assert len(objs) >= 1
            assert np.all((objs[:, 1:] >= 0) & (objs[:, 1:] <= 1))
            assert np.all(objs[:, 3] > objs[:, 1]) and np.all(objs[:, 4] > objs[:, 2])
        changed += int(not np.array_equal(d0, d1))
    assert changed >= 1
    # a sampler no box can satisfy leaves every image and label whole
    never = _epoch(mx.io.ImageDetRecordIter(rand_crop_prob=1.0, min_crop_overlaps=(1.0,),
                                            max_crop_scales=(0.5,), max_crop_trials=(5,),
                                            **kw))
    for (d0, l0, _), (d1, l1, _) in zip(plain, never):
        np.testing.assert_array_equal(d0, d1)
        np.testing.assert_array_equal(l0, l1)
