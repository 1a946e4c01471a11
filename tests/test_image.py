"""mx.image against MXNet 1.9.1 (tests/fixtures/gen_image.py): decoding, resizing, the image
functions, the augmenters with fixed seeds, ImageIter and ImageDetIter."""

from __future__ import annotations

import json
import logging
import random
import warnings

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import image as image_ops

ROOT = DATA / "image"
CASES = json.loads((ROOT / "cases.json").read_text())
ARR = np.load(ROOT / "images.npz")
ENC = {k[len("enc/"):]: ARR[k].tobytes() for k in ARR.files if k.startswith("enc/")}


def _src() -> mx.nd.NDArray:
    return mx.image.imdecode(ENC["rgb.jpg"])


@pytest.mark.parametrize("key", sorted(k for k in ARR.files if k.startswith("decode/")))
def test_imdecode_gives_mxnets_pixels(key):
    _, name, flags = key.split("/")
    out = mx.image.imdecode(ENC[name], flag=int(flags[0]), to_rgb=int(flags[1]))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.asnumpy(), ARR[key])


def test_imdecode_inputs_and_imread(tmp_path):
    ref = ARR["decode/rgb.png/11"]
    for buf in (ENC["rgb.png"], bytearray(ENC["rgb.png"]), np.frombuffer(ENC["rgb.png"],
                                                                         np.uint8),
                mx.nd.array(np.frombuffer(ENC["rgb.png"], np.uint8), dtype="uint8")):
        np.testing.assert_array_equal(mx.image.imdecode(buf).asnumpy(), ref)
    path = tmp_path / "x.png"
    path.write_bytes(ENC["rgb.png"])
    np.testing.assert_array_equal(mx.image.imread(str(path)).asnumpy(), ref)
    np.testing.assert_array_equal(mx.image.imread(str(path), flag=0).asnumpy(),
                                  ARR["decode/rgb.png/01"])
    with pytest.raises(ValueError, match="buf must be of type bytes"):
        mx.image.imdecode("not bytes")
    with pytest.raises(MXNetError, match="decoding failed, invalid image file"):
        mx.image.imdecode(b"\x00\x01 not an image")
    path.write_bytes(b"garbage")
    with pytest.raises(MXNetError, match="x.png"):
        mx.image.imread(str(path))


@pytest.mark.parametrize("key", sorted(k for k in ARR.files if k.startswith("resize/")))
def test_imresize_matches_mxnet(key):
    _, interp, size = key.split("/")
    w, h = (int(v) for v in size.split("x"))
    out = mx.image.imresize(_src(), w, h, interp=int(interp)).asnumpy()
    ref = ARR[key]
    assert out.shape == ref.shape
    # exact but for bicubic, whose rounding OpenCV changed after MXNet's 3.4.2
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= (1 if interp == "2" else 0)


_FNS = {
    "resize_short_9": lambda src: mx.image.resize_short(src, 20, interp=9),
    "resize_short_up": lambda src: mx.image.resize_short(src, 45, interp=1),
    "fixed_crop": lambda src: mx.image.fixed_crop(src, 3, 4, 20, 15),
    "fixed_crop_resize": lambda src: mx.image.fixed_crop(src, 3, 4, 20, 15, (30, 25), 1),
    "center_crop": lambda src: mx.image.center_crop(src, (30, 20))[0],
    "center_crop_up": lambda src: mx.image.center_crop(src, (45, 40), 1)[0],
    "random_crop": lambda src: mx.image.random_crop(src, (25, 20))[0],
    "random_size_crop": lambda src: mx.image.random_size_crop(src, (25, 20), 0.3,
                                                              (0.75, 1.33))[0],
    "color_normalize": lambda src: mx.image.color_normalize(
        src.astype("float32"), mx.nd.array([120, 110, 100]), mx.nd.array([50, 60, 70])),
    "border_const": lambda src: mx.image.copyMakeBorder(src, 2, 3, 4, 5, type=0, value=9),
    "border_values": lambda src: mx.image.copyMakeBorder(src, 1, 1, 2, 2, values=(1, 2, 3)),
    "border_reflect": lambda src: mx.image.copyMakeBorder(src, 3, 2, 1, 4, type=2),
    "imrotate": lambda src: mx.image.imrotate(_chw(src), 30),
    "imrotate_zoom_in": lambda src: mx.image.imrotate(_chw(src), -50, zoom_in=True),
    "imrotate_zoom_out": lambda src: mx.image.imrotate(_chw(src), 70, zoom_out=True),
    "imrotate_batch": lambda src: mx.image.imrotate(
        mx.nd.stack(_chw(src), _chw(src) * 0.5), mx.nd.array([10, -100])),
}


def _chw(src: mx.nd.NDArray) -> mx.nd.NDArray:
    return mx.nd.array(src.asnumpy()[:12, :14].transpose(2, 0, 1).astype(np.float32))


@pytest.mark.parametrize("name", sorted(_FNS))
def test_image_functions_match_mxnet(name):
    random.seed(7)
    np.random.seed(7)
    out = _FNS[name](_src()).asnumpy()
    ref = ARR[f"fn/{name}"]
    assert out.shape == ref.shape and out.dtype == ref.dtype
    if name in ("resize_short_9", "random_size_crop"):
        # bicubic (the default interp 2, and 9 when enlarging): OpenCV rounds it differently
        # since MXNet's 3.4.2, within 1 grey level
        assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    elif name.startswith("imrotate"):
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    else:
        np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_imresize_maps_9_and_10_as_the_augmenters_do():
    src = _src()
    shrink = mx.image.imresize(src, 20, 15, interp=9).asnumpy()
    np.testing.assert_array_equal(shrink, mx.image.imresize(src, 20, 15, interp=3).asnumpy())
    grow = mx.image.imresize(src, 60, 45, 9).asnumpy()
    np.testing.assert_array_equal(grow, mx.image.imresize(src, 60, 45, interp=2).asnumpy())
    random.seed(0)
    assert mx.image.imresize(src, 20, 15, interp=10).shape == (15, 20, 3)


def test_rotate_transforms():
    from mxlite.gluon.data.vision import transforms as T

    x = _chw(_src())
    np.testing.assert_allclose(T.Rotate(30)(x).asnumpy(), ARR["fn/imrotate"], rtol=1e-4,
                               atol=1e-3)
    np.random.seed(0)
    assert T.RandomRotation((-10, 10))(x).shape == x.shape
    assert T.RandomRotation((-10, 10), rotate_with_proba=0)(x) is x
    with pytest.raises(TypeError, match="only supports float32"):
        T.Rotate(10)(_src())
    with pytest.raises(MXNetError, match="ordered tuple"):
        T.RandomRotation((10, -10))


def test_scale_down():
    for src, size, ref in CASES["scale_down"]:
        assert list(mx.image.scale_down(tuple(src), tuple(size))) == ref


@pytest.mark.parametrize("name", sorted(CASES["aug"]))
def test_create_augmenter_chains_match_mxnet_for_the_same_seeds(name):
    spec = CASES["aug"][name]
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec["kwargs"].items()}
    augs = mx.image.CreateAugmenter(**kw)
    outs = []
    for seed in range(3):
        random.seed(seed)
        np.random.seed(seed)
        x = _src()
        for a in augs:
            x = a(x)
        outs.append(x.asnumpy())
    ref = ARR[f"aug/{name}"].astype(np.float32)
    out = np.stack(outs)
    assert out.shape == ref.shape and out.dtype == np.float32
    # Python's random and numpy's draw the same choices as in MXNet. Resizes are bicubic by
    # default, which OpenCV rounds differently since MXNet's 3.4.2 (1 grey level), and
    # float32 sums may round differently
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1.01)
    assert np.mean(np.abs(out - ref) <= 2e-3 + 1e-4 * np.abs(ref)) > 0.95
    assert [json.loads(d) if isinstance(d, str) else d for d in
            (a.dumps() for a in augs)] == [json.loads(d) if isinstance(d, str) else d
                                           for d in spec["dumps"]]


def test_augmenter_classes():
    src = _src().astype("float32")
    random.seed(1)
    gray = mx.image.RandomGrayAug(1.0)(src).asnumpy()
    assert np.allclose(gray[..., 0], gray[..., 1]) and np.allclose(gray[..., 1], gray[..., 2])
    flipped = mx.image.HorizontalFlipAug(1.0)(src).asnumpy()
    np.testing.assert_array_equal(flipped, src.asnumpy()[:, ::-1])
    assert mx.image.CastAug("float16")(src).dtype == np.float16
    assert mx.image.ForceResizeAug((10, 7))(_src()).shape == (7, 10, 3)
    assert mx.image.ResizeAug(12)(_src()).shape == (12, 16, 3)
    seq = mx.image.SequentialAug([mx.image.ForceResizeAug((10, 7)), mx.image.CastAug()])
    assert seq(_src()).shape == (7, 10, 3) and seq.dumps()[0] == "sequentialaug"
    with pytest.warns(DeprecationWarning):
        mx.image.RandomSizedCropAug((8, 8), 0.5, (0.75, 1.33), min_area=0.3)
    with pytest.raises(NotImplementedError):
        mx.image.Augmenter()(src)
    with pytest.raises(MXNetError, match="Unknown interp method 7"):
        mx.image.resize_short(_src(), 10, interp=7)
    with pytest.raises(MXNetError, match="rand_resize needs rand_crop"):
        mx.image.CreateAugmenter((3, 8, 8), rand_resize=True)


def _iter_kwargs(spec: dict) -> dict:
    kw = {}
    for k, v in spec["kwargs"].items():
        if k.startswith("path_"):
            v = str(ROOT / v)
        elif isinstance(v, list):
            v = tuple(v)
        kw[k] = v
    return kw


@pytest.mark.parametrize("name", sorted(CASES["imageiter"]))
def test_image_iterators_match_mxnet(name):
    spec = CASES["imageiter"][name]
    random.seed(0)
    it = getattr(mx.image, spec["cls"])(**_iter_kwargs(spec))
    batches = list(it)
    assert [b.pad for b in batches] == spec["pads"]
    assert [list(d[1]) for d in it.provide_label] == spec["provide_label"]
    for b, batch in enumerate(batches):
        # resized bicubic (the default): within 1 grey level of MXNet's OpenCV 3.4.2
        np.testing.assert_allclose(batch.data[0].asnumpy(),
                                   ARR[f"imageiter/{name}/{b}/data"].astype(np.float32),
                                   rtol=0, atol=0 if name == "center" else 1)
        np.testing.assert_allclose(batch.label[0].asnumpy(), ARR[f"imageiter/{name}/{b}/label"],
                                   rtol=1e-6)


def test_image_iter_from_an_image_list(tmp_path):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(ENC["rgb.png"])
    it = mx.image.ImageIter(2, (3, 20, 20), imglist=[[1.0, "a.png"], [2.0, "b.png"]],
                            path_root=str(tmp_path))
    batch = it.next()
    assert batch.data[0].shape == (2, 3, 20, 20)
    assert batch.label[0].asnumpy().tolist() == [1.0, 2.0]
    (tmp_path / "list.lst").write_text("0\t3\ta.png\n1\t4\tb.png\n")
    it = mx.image.ImageIter(2, (3, 20, 20), path_imglist=str(tmp_path / "list.lst"),
                            path_root=str(tmp_path))
    assert it.next().label[0].asnumpy().tolist() == [3.0, 4.0]
    (tmp_path / "b.png").write_bytes(b"broken")
    it = mx.image.ImageIter(2, (3, 20, 20), imglist=[[1.0, "a.png"], [2.0, "b.png"]],
                            path_root=str(tmp_path))
    with pytest.raises(RuntimeError, match="Broken image filename: b.png"):
        it.next()
    with pytest.raises(MXNetError, match="3 channels"):
        mx.image.ImageIter(2, (1, 20, 20), imglist=[[1.0, "a.png"]])


def test_detection_augmenters():
    label = np.array([[0, 0.1, 0.2, 0.5, 0.6], [1, 0.4, 0.3, 0.9, 0.8]], np.float32)
    random.seed(0)
    src = _src()
    out, lab = mx.image.DetHorizontalFlipAug(1.0)(src, label.copy())
    np.testing.assert_array_equal(out.asnumpy(), src.asnumpy()[:, ::-1])
    np.testing.assert_allclose(lab[:, [1, 3]], 1 - label[:, [3, 1]], rtol=1e-6)
    random.seed(0)
    out, lab = mx.image.DetRandomPadAug(area_range=(1.5, 2.0))(src, label.copy())
    assert out.shape[0] >= src.shape[0] and out.shape[1] >= src.shape[1]
    assert (lab[:, 1:5] >= 0).all() and (lab[:, 1:5] <= 1).all()
    random.seed(0)
    out, lab = mx.image.DetRandomCropAug(min_object_covered=0.5, area_range=(0.3, 1.0))(
        src, label.copy())
    assert (lab[:, 1:5] >= 0).all() and (lab[:, 1:5] <= 1).all() and len(lab) >= 1
    augs = mx.image.CreateDetAugmenter((3, 16, 16), rand_crop=0.5, rand_pad=0.5,
                                       rand_mirror=True, mean=True, std=True, brightness=0.1)
    random.seed(1)
    x, lab = src, label.copy()
    for a in augs:
        x, lab = a(x, lab)
    assert x.shape == (16, 16, 3) and x.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not mx.image.DetRandomCropAug(area_range=(0.5, 0.1)).enabled
    with pytest.raises(TypeError, match="Borrowing from invalid Augmenter"):
        mx.image.DetBorrowAug(object())


def test_image_det_iter_label_shapes_and_sync(caplog):
    kw = dict(batch_size=2, data_shape=(3, 16, 16), path_imgrec=str(ROOT / "det.rec"))
    a = mx.image.ImageDetIter(**kw)
    b = mx.image.ImageDetIter(**kw)
    assert a.label_shape == (3, 5)
    b.reshape(label_shape=(5, 5))
    with caplog.at_level(logging.INFO):
        a.sync_label_shape(b, verbose=True)
    assert a.provide_label[0][1] == (2, 5, 5)
    batch = a.next()
    assert batch.label[0].shape == (2, 5, 5)
    assert (batch.label[0].asnumpy()[0, 1:] == -1).all()  # 1 object, rows padded with -1
    with pytest.raises(MXNetError, match="reduce label count"):
        a.reshape(label_shape=(2, 5))
    frames = list(mx.image.ImageDetIter(**kw).draw_next(id2labels={0: "a", 1: "b"}))
    assert len(frames) == 6 and frames[0].shape == (16, 16, 3) and frames[0].dtype == np.uint8


def test_missing_opencv_says_how_to_install(monkeypatch):
    monkeypatch.setattr(image_ops, "opencv", lambda: None)
    with pytest.raises(MXNetError, match=r"pip install 'mxlite\[image\]'"):
        mx.image.imdecode(ENC["rgb.png"])
