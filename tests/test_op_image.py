"""The ``_image_*`` and OpenCV operators against MXNet 1.9.1 (tests/fixtures/gen_image.py):
forward values, gradients, shape inference, hybridization and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ops import image as image_ops
from mxlite.ops import registry

CASES = json.loads((DATA / "image" / "cases.json").read_text())
ARR = np.load(DATA / "image" / "images.npz")
OPS = CASES["ops"]


def _run(name: str, x: mx.nd.NDArray) -> mx.nd.NDArray:
    spec = OPS[name]
    return getattr(mx.nd.image, spec["op"])(x, **spec["kwargs"])


@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_matches_mxnet(name):
    x = ARR[f"op/{name}/in"]
    ref = ARR[f"op/{name}/out"]
    out = _run(name, mx.nd.array(x, dtype=x.dtype)).asnumpy()
    assert out.shape == ref.shape and out.dtype == ref.dtype
    if name.startswith("random_flip"):
        # the coin is MXNet's engine's: either way is right
        assert np.array_equal(out, x) or np.array_equal(out, x[:, ::-1])
    elif name == "resize_cubic":
        # OpenCV's bicubic changed its rounding after 3.4.2 (MXNet's): within 1 grey level
        assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    elif out.dtype == np.float32:
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("name", sorted(n for n in OPS if f"op/{n}/grad" in ARR.files
                                        or "grad_error" in OPS[n]))
def test_gradient_matches_mxnet(name):
    x = mx.nd.array(ARR[f"op/{name}/in"])
    x.attach_grad()
    if "grad_error" in OPS[name]:
        # MXNet's gradient of resize is a copy, which fails unless the size is unchanged
        with mx.autograd.record():
            y = _run(name, x)
        with pytest.raises(MXNetError, match="needs equal shapes"):
            y.backward(mx.nd.ones(y.shape))
        return
    with mx.autograd.record():
        y = _run(name, x)
    y.backward(mx.nd.array(ARR[f"op/{name}/head"]))
    np.testing.assert_allclose(x.grad.asnumpy(), ARR[f"op/{name}/grad"], rtol=1e-6,
                               atol=1e-7)


def test_to_tensor_gradient_is_the_true_one():
    # MXNet registers a copy that fails its shape check; mxlite transposes back and scales
    x = mx.nd.array(np.arange(24, dtype=np.float32).reshape(2, 4, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.image.to_tensor(x)
    head = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    y.backward(mx.nd.array(head))
    np.testing.assert_allclose(x.grad.asnumpy(), head.transpose(1, 2, 0) / 255, rtol=1e-6)


def test_registry_entries_and_no_backward():
    names = ["_image_to_tensor", "_image_normalize", "_image_resize", "_image_crop",
             "_image_flip_left_right", "_image_flip_top_bottom",
             "_image_random_flip_left_right", "_image_random_flip_top_bottom",
             "_image_random_brightness", "_image_random_contrast", "_image_random_saturation",
             "_image_random_hue", "_image_random_color_jitter", "_image_adjust_lighting",
             "_image_random_lighting", "_cvimdecode", "_cvimread", "_cvimresize",
             "_cvcopyMakeBorder"]
    for n in names:
        assert registry.find(n) is not None, n
    assert image_ops.NO_BACKWARD == {"_cvimdecode", "_cvimread", "_cvimresize",
                                     "_cvcopyMakeBorder"}
    assert sorted(n for n in dir(mx.nd.image) if not n.startswith("_")) == sorted(
        n[len("_image_"):] for n in names if n.startswith("_image_"))


def test_symbols_infer_shapes_and_run_in_an_executor():
    data = mx.sym.var("data")
    net = mx.sym.image.normalize(mx.sym.image.to_tensor(
        mx.sym.image.resize(mx.sym.image.crop(data, 1, 2, 8, 6), (5, 4))), 0.5, 0.25)
    _, out, _ = net.infer_shape(data=(10, 12, 3))
    assert out == [(3, 4, 5)]
    _, types, _ = net.infer_type(data=np.uint8)
    assert types == [np.float32]
    x = np.random.default_rng(0).integers(0, 256, (10, 12, 3)).astype(np.uint8)
    exe = net.bind(mx.cpu(), {"data": mx.nd.array(x, dtype="uint8")}, grad_req="null")
    got = exe.forward()[0].asnumpy()
    ref = mx.nd.image.normalize(mx.nd.image.to_tensor(mx.nd.image.resize(
        mx.nd.image.crop(mx.nd.array(x, dtype="uint8"), 1, 2, 8, 6), (5, 4))), 0.5, 0.25)
    np.testing.assert_array_equal(got, ref.asnumpy())
    js = json.loads(net.tojson())
    assert [n["op"] for n in js["nodes"]] == ["null", "_image_crop", "_image_resize",
                                             "_image_to_tensor", "_image_normalize"]
    assert mx.sym.load_json(net.tojson()).infer_shape(data=(10, 12, 3))[1] == [(3, 4, 5)]


def test_batched_shapes():
    b = mx.nd.zeros((2, 9, 7, 3), dtype="uint8")
    assert mx.nd.image.to_tensor(b).shape == (2, 3, 9, 7)
    assert mx.nd.image.resize(b, 4, keep_ratio=True).shape == (2, 5, 4, 3)
    assert mx.nd.image.crop(b, 1, 1, 3, 2).shape == (2, 2, 3, 3)
    assert mx.sym.image.to_tensor(mx.sym.var("d")).infer_shape(d=(2, 9, 7, 3))[1] == \
        [(2, 3, 9, 7)]


def test_random_ops_follow_mx_random_seed_and_stay_in_range():
    x = mx.nd.array(np.full((4, 5, 3), 100, np.float32))
    mx.random.seed(3)
    a = [mx.nd.image.random_brightness(x, 0.5, 1.5).asnumpy()[0, 0, 0] for _ in range(20)]
    mx.random.seed(3)
    b = [mx.nd.image.random_brightness(x, 0.5, 1.5).asnumpy()[0, 0, 0] for _ in range(20)]
    assert a == b and 50 <= min(a) and max(a) <= 150 and len(set(a)) > 10
    img = mx.nd.array(np.arange(60).reshape(4, 5, 3), dtype="uint8")
    outs = {mx.nd.image.random_flip_left_right(img).asnumpy().tobytes() for _ in range(30)}
    assert outs == {img.asnumpy().tobytes(), img.asnumpy()[:, ::-1].tobytes()}
    np.testing.assert_array_equal(
        mx.nd.image.random_color_jitter(img, 0, 0, 0, 0).asnumpy(), img.asnumpy())
    np.testing.assert_array_equal(mx.nd.image.random_lighting(img, 0.0).asnumpy(),
                                  img.asnumpy())


def test_opencv_operators():
    enc = ARR["enc/rgb.jpg"]
    d = mx.nd._internal._cvimdecode(mx.nd.array(enc, dtype="uint8"), flag=1, to_rgb=True)
    np.testing.assert_array_equal(d.asnumpy(), ARR["decode/rgb.jpg/11"])
    r = mx.nd._internal._cvimresize(d, 20, 15, interp=1)
    np.testing.assert_array_equal(r.asnumpy(), ARR["resize/1/20x15"])
    b = mx.nd._internal._cvcopyMakeBorder(d, 1, 2, 3, 4, type=0, value=5)
    assert b.shape == (d.shape[0] + 3, d.shape[1] + 7, 3)
    assert (b.asnumpy()[0] == 5).all()


def test_resize_without_opencv_uses_the_numpy_kernels(monkeypatch):
    x = ARR["decode/rgb.jpg/11"]
    with_cv = image_ops.imresize(x, 20, 15, 1)
    monkeypatch.setattr(image_ops, "opencv", lambda: None)
    np.testing.assert_array_equal(image_ops.imresize(x, 20, 15, 1), with_cv)
    np.testing.assert_array_equal(image_ops.imresize(x, 20, 15, 0), ARR["resize/0/20x15"])
    with pytest.raises(MXNetError, match=r"mxlite\[image\]"):
        image_ops.imresize(x, 20, 15, 2)
    with pytest.raises(MXNetError, match=r"imdecode needs OpenCV.*pip install 'mxlite\[image\]'"):
        image_ops.imdecode(ARR["enc/rgb.png"])


def test_bad_arguments_are_mxnet_errors():
    img = mx.nd.zeros((6, 8, 3), dtype="uint8")
    with pytest.raises(MXNetError, match="is not inside the image"):
        mx.nd.image.crop(img, 5, 0, 4, 4)
    with pytest.raises(MXNetError, match="size must be greater than 0"):
        mx.nd.image.resize(img, (0, 3))
    with pytest.raises(MXNetError, match="mean must have either 1 or 3 elements"):
        mx.nd.image.normalize(mx.nd.zeros((3, 4, 4)), (1, 2), 1)
    with pytest.raises(MXNetError, match="channel dimension with either 1 or 3"):
        mx.nd.image.random_brightness(mx.nd.zeros((4, 4, 2)), 0.5, 1.5)
    with pytest.raises(MXNetError, match="alpha must have 3 elements"):
        mx.nd.image.adjust_lighting(img, (0.1, 0.2))
    with pytest.raises(MXNetError, match="interp must be an OpenCV interpolation"):
        mx.nd._internal._cvimresize(img, 4, 4, interp=7)
    with pytest.raises(MXNetError, match="decoding failed"):
        mx.nd._internal._cvimdecode(mx.nd.array(np.arange(20), dtype="uint8"))
    with pytest.raises(MXNetError, match="required parameter 'x'"):
        mx.nd.image.crop(img, y=0, width=1, height=1)
