"""gluon.data.vision against MXNet 1.9.1 (tests/fixtures/gen_gluon_data.py): the datasets read
small fake MNIST / CIFAR files exactly as MXNet reads them, and the image transforms give
MXNet's pixels."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import os
import pathlib
import random
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from conftest import DATA

import mxlite as mx
from mxlite.base import MXNetError, NotSupportedError
from mxlite.gluon import data as gdata
from mxlite.gluon.data import vision
from mxlite.gluon.data.vision import transforms as T
from mxlite.ops import image as _image

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
DOC = json.loads((DATA / "gluon" / "data" / "data.json").read_text())
IMAGES = np.load(DATA / "gluon" / "data" / "images.npz")


def _load_gen():
    spec = importlib.util.spec_from_file_location("gen_gluon_data",
                                                  FIXTURES / "gen_gluon_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_gen()


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# ------------------------------------------------------------------------------ datasets

_DATASETS = {
    "MNIST": (GEN.write_mnist, {}),
    "FashionMNIST": (GEN.write_mnist, {}),
    "CIFAR10": (GEN.write_cifar, {}),
    "CIFAR100": (lambda root: GEN.write_cifar(root, hundred=True), {}),
}


@pytest.mark.parametrize("key", sorted(DOC["vision"]))
def test_dataset_reads_the_files_as_mxnet(key, tmp_path):
    cls, variant = key.split("/")
    _DATASETS[cls][0](tmp_path)
    kw = {"train": variant.startswith("train")}
    if variant.endswith("fine"):
        kw["fine_label"] = True
    d = getattr(vision, cls)(root=str(tmp_path), **kw)
    rec = DOC["vision"][key]
    assert len(d) == rec["len"]
    assert [int(d[i][1]) for i in range(len(d))] == rec["labels"]
    img, lab = d[0]
    assert type(lab).__name__ == rec["label_type"]
    assert str(np.asarray(lab).dtype) == rec["label_dtype"]
    assert type(img).__name__ == rec["image_type"]
    assert img.dtype.__name__ == rec["image_dtype"]
    assert list(img.shape) == rec["image_shape"]
    assert list(d._data.shape) == rec["data_shape"]
    assert _sha(np.stack([d[i][0].asnumpy() for i in range(len(d))])) == rec["images_sha256"]


def test_dataset_transform_is_applied_to_data_and_label(tmp_path):
    GEN.write_mnist(tmp_path)
    plain = vision.MNIST(root=str(tmp_path), train=False)
    d = vision.MNIST(root=str(tmp_path), train=False,
                     transform=lambda x, y: (x.astype("float32") / 255, y + 1))
    x, y = d[2]
    assert x.dtype == np.float32 and y == plain[2][1] + 1
    np.testing.assert_array_equal(x.asnumpy(), plain[2][0].asnumpy().astype(np.float32) / 255)


def test_missing_files_name_the_files_the_folder_and_the_source(tmp_path):
    with pytest.raises(MXNetError) as info:
        vision.FashionMNIST(root=str(tmp_path / "fm"), train=False)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz not found in" in msg
    assert str(tmp_path / "fm") in msg
    assert "gluon/dataset/fashion-mnist/t10k-images-idx3-ubyte.gz" in msg
    with pytest.raises(MXNetError, match=r"data_batch_1.bin, .*data_batch_5.bin not found.*"
                                         r"cifar10/cifar-10-binary.tar.gz"):
        vision.CIFAR10(root=str(tmp_path / "c"))


def test_default_roots_are_mxnets(tmp_path):
    # The defaults are fixed at import, as MXNet's are: look at them in fresh interpreters.
    code = ("import inspect; from mxlite.gluon.data import vision; "
            "print(*[inspect.signature(c.__init__).parameters['root'].default "
            "for c in (vision.MNIST, vision.FashionMNIST, vision.CIFAR10, vision.CIFAR100)])")
    env = {k: v for k, v in os.environ.items() if k != "MXNET_HOME"}
    env["HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    base = os.path.join(str(tmp_path), ".mxnet", "datasets")
    assert out == [os.path.join(base, n) for n in ("mnist", "fashion-mnist", "cifar10",
                                                   "cifar100")]
    env["MXNET_HOME"] = str(tmp_path / "home")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == os.path.join(str(tmp_path), "home", "datasets", "mnist")
    assert not (tmp_path / ".mxnet").exists()  # nothing is created until files are needed


def _gz(path, payload: bytes) -> None:
    with gzip.open(path, "wb") as f:
        f.write(payload)


def test_bad_mnist_files_are_refused(tmp_path):
    GEN.write_mnist(tmp_path)
    images, labels = GEN.MNIST_FILES[False]
    _gz(tmp_path / labels, struct.pack(">II", 2051, 3) + bytes(3))
    with pytest.raises(MXNetError, match="magic 2051, expected 2049"):
        vision.MNIST(root=str(tmp_path), train=False)
    _gz(tmp_path / labels, struct.pack(">II", 2049, 3) + bytes(2))
    with pytest.raises(MXNetError, match="truncated, expected 3 bytes, got 2"):
        vision.MNIST(root=str(tmp_path), train=False)
    _gz(tmp_path / labels, struct.pack(">II", 2049, 4) + bytes(4))
    with pytest.raises(MXNetError, match="holds 3 images but .* holds 4 labels"):
        vision.MNIST(root=str(tmp_path), train=False)
    (tmp_path / images).write_bytes(b"not gzip at all")
    with pytest.raises(MXNetError, match="cannot read the gzipped idx file"):
        vision.MNIST(root=str(tmp_path), train=False)


def test_bad_cifar_file_is_refused(tmp_path):
    GEN.write_cifar(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(bytes(3073 * 2 + 5))
    with pytest.raises(MXNetError, match="6151 bytes is not a whole number of 3073-byte"):
        vision.CIFAR10(root=str(tmp_path), train=False)


def test_cifar_archive_in_root_is_unpacked_safely(tmp_path):
    src = tmp_path / "src"
    GEN.write_cifar(src, hundred=True)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "cifar-100-binary.tar.gz", "w:gz") as tar:
        for name in ("train.bin", "test.bin"):
            tar.add(src / name, arcname=f"cifar-100-binary/{name}")
        evil = tarfile.TarInfo("../../evil.bin")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    d = vision.CIFAR100(root=str(root), fine_label=True, train=False)
    assert [int(d[i][1]) for i in range(len(d))] == DOC["vision"]["CIFAR100/test_fine"]["labels"]
    assert sorted(p.name for p in root.iterdir()) == ["cifar-100-binary.tar.gz", "test.bin",
                                                       "train.bin"]
    assert not (tmp_path / "evil.bin").exists()


def test_image_folder_dataset_lists_classes(tmp_path):
    for cls, names in (("cat", ["b.png", "a.JPG", "notes.txt"]), ("ant", ["x.jpeg"])):
        (tmp_path / cls).mkdir()
        for n in names:
            (tmp_path / cls / n).write_bytes(b"")
    (tmp_path / "readme.md").write_text("x")
    with pytest.warns(UserWarning) as warned:
        d = vision.ImageFolderDataset(str(tmp_path))
    assert d.synsets == ["ant", "cat"]
    assert [(pathlib.Path(f).name, label) for f, label in d.items] == \
        [("x.jpeg", 0), ("a.JPG", 1), ("b.png", 1)]
    assert len(d) == 3
    assert sum("Ignoring" in str(w.message) for w in warned) == 2
    try:
        import cv2  # noqa: F401
    except ImportError:
        try:
            import PIL  # noqa: F401
        except ImportError:
            with pytest.raises(NotSupportedError, match="needs OpenCV or Pillow"):
                d[0]
    with pytest.raises(MXNetError, match="is not a folder"):
        vision.ImageFolderDataset(str(tmp_path / "missing"))


# ------------------------------------------------------------------------------ transforms


def _run_case(name: str, spec: dict, x: np.ndarray) -> np.ndarray:
    kind = spec["kind"]
    if kind == "op":
        kw = spec.get("kw", {})
        op = spec["op"]
        if op == "to_tensor":
            return T.ToTensor()(mx.nd.array(x, dtype=x.dtype)).asnumpy()
        if op == "normalize":
            return T.Normalize(kw["mean"], kw["std"])(mx.nd.array(x, dtype=x.dtype)).asnumpy()
        if op.startswith("flip"):
            return _image.flip(x, 1 if op.endswith("left_right") else 0)
        if op == "crop":
            if x.ndim == 3:
                return T.CropResize(kw["x"], kw["y"], kw["width"], kw["height"])(
                    mx.nd.array(x, dtype=x.dtype)).asnumpy()
            return _image.crop(x, kw["x"], kw["y"], kw["width"], kw["height"])
        if op == "adjust_lighting":
            return _image.adjust_lighting(x, kw["alpha"])
        fn = {"random_brightness": _image.adjust_brightness,
              "random_contrast": _image.adjust_contrast,
              "random_saturation": _image.adjust_saturation,
              "random_hue": _image.adjust_hue}[op]
        return fn(x, np.float32(kw["min_factor"]))
    xin = mx.nd.array(x, dtype=x.dtype)
    if kind == "imresize":
        return _image.imresize(x, spec["w"], spec["h"], spec["interp"])
    if kind == "transform":
        return getattr(T, spec["name"])(*spec["args"])(xin).asnumpy()
    if kind == "compose":
        return T.Compose([getattr(T, n)(*a) for n, a in spec["steps"]])(xin).asnumpy()
    random.seed(spec["seed"])
    return T.RandomResizedCrop(*spec["args"])(xin).asnumpy()


@pytest.mark.parametrize("name", sorted(DOC["images"]))
def test_image_ops_match_mxnet(name):
    spec = DOC["images"][name]
    x = IMAGES[f"{name}/in"]
    np.testing.assert_array_equal(x, GEN.image_input(tuple(spec["shape"]), spec["dtype"],
                                                     spec["input_seed"]))
    ref = IMAGES[f"{name}/out"]
    out = _run_case(name, spec, x)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    # Exact: OpenCV's resize arithmetic and MXNet's float32 colour maths are reproduced.
    np.testing.assert_array_equal(out, ref)


def test_transforms_on_batches_and_output_types():
    batch = mx.nd.array(GEN.image_input((2, 6, 8, 3), "uint8", 5), dtype="uint8")
    t = T.ToTensor()(batch)
    assert t.shape == (2, 3, 6, 8) and t.dtype == np.float32
    n = T.Normalize(0.5, 0.25)(t)
    np.testing.assert_allclose(n.asnumpy(), (t.asnumpy() - 0.5) / 0.25, rtol=1e-6)
    assert T.Resize((4, 3))(batch).shape == (2, 3, 4, 3)
    assert T.Cast("float16")(batch).dtype == np.float16


def test_transform_argument_errors():
    img = mx.nd.array(GEN.image_input((6, 8, 3), "uint8", 6), dtype="uint8")
    with pytest.raises(MXNetError, match="mean must have either 1 or 3 elements"):
        T.Normalize((1, 2), 1)(T.ToTensor()(img))
    with pytest.raises(MXNetError, match="channel dimension with either 1 or 3"):
        T.RandomBrightness(0.5)(mx.nd.zeros((4, 4, 2), dtype="uint8"))
    with pytest.raises(MXNetError, match=r"size must be greater than 0"):
        T.Resize(0)(img)
    with pytest.raises(MXNetError, match="is not inside the image"):
        T.CropResize(5, 0, 4, 4)(img)
    with pytest.raises(MXNetError, match="Unknown interp method 7"):
        T.CenterCrop(10, interpolation=7)(img)
    try:
        import cv2  # noqa: F401
    except ImportError:
        with pytest.raises(NotSupportedError, match="interp=2.*opencv-python-headless"):
            T.Resize(5, interpolation=2)(img)


def test_transforms_hybridize_and_compose_groups_hybrid_blocks():
    x = GEN.image_input((6, 8, 3), "uint8", 7)
    img = mx.nd.array(x, dtype="uint8")
    chain = [T.Resize((5, 4)), T.ToTensor(), T.Normalize(0.5, 0.25), T.Cast("float64")]
    ref = img
    for t in chain:
        ref = t(ref)
    c = T.Compose([T.Resize((5, 4)), T.ToTensor(), T.Normalize(0.5, 0.25), T.Cast("float64")])
    assert [type(b).__name__ for b in c._children.values()] == ["HybridSequential"]
    out = c(img)
    assert out.dtype == np.float64 and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out.asnumpy(), ref.asnumpy())
    # Traced into a Symbol: the graph holds MXNet's image operators.
    sym = T.ToTensor()(mx.sym.var("data"))
    assert [n["op"] for n in json.loads(sym.tojson())["nodes"]] == ["null", "_image_to_tensor"]
    mixed = T.Compose([T.ToTensor(), T.CenterCrop(3), T.Cast("float16")])
    assert [type(b).__name__ for b in mixed._children.values()] == ["ToTensor", "CenterCrop",
                                                                   "Cast"]


def test_random_transforms_follow_mx_random_seed():
    img = mx.nd.array(GEN.image_input((8, 10, 3), "uint8", 8), dtype="uint8")
    jitter = T.Compose([T.RandomFlipLeftRight(), T.RandomFlipTopBottom(),
                        T.RandomColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomLighting(0.1)])
    mx.random.seed(42)
    a = [jitter(img).asnumpy() for _ in range(3)]
    mx.random.seed(42)
    b = [jitter(img).asnumpy() for _ in range(3)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[1])


def test_random_flip_flips_half_the_time():
    x = GEN.image_input((3, 4, 3), "uint8", 9)
    img = mx.nd.array(x, dtype="uint8")
    mx.random.seed(0)
    outs = [T.RandomFlipLeftRight()(img).asnumpy() for _ in range(200)]
    flipped = sum(np.array_equal(o, x[:, ::-1]) for o in outs)
    kept = sum(np.array_equal(o, x) for o in outs)
    assert flipped + kept == 200 and 70 < flipped < 130


def test_random_brightness_factor_stays_in_range():
    x = np.full((2, 2, 3), 100.0, np.float32)
    img = mx.nd.array(x)
    mx.random.seed(1)
    factors = [float(T.RandomBrightness(0.3)(img).asnumpy()[0, 0, 0]) / 100 for _ in range(50)]
    assert 0.7 <= min(factors) and max(factors) <= 1.3 and max(factors) - min(factors) > 0.2


def test_identity_settings_of_random_transforms():
    x = GEN.image_input((5, 6, 3), "uint8", 10)
    img = mx.nd.array(x, dtype="uint8")
    np.testing.assert_array_equal(T.RandomColorJitter()(img).asnumpy(), x)
    np.testing.assert_array_equal(T.RandomLighting(0)(img).asnumpy(), x)
    random.seed(3)
    assert T.RandomApply(T.Cast("float32"), p=0)(img) is img
    assert T.RandomApply(T.Cast("float32"), p=1)(img).dtype == np.float32


def test_random_resized_crop_falls_back_to_center_crop_like_mxnet():
    name = "random_resized_crop_fallback"
    spec = DOC["images"][name]
    x = IMAGES[f"{name}/in"]
    center = T.CenterCrop(spec["args"][0])(mx.nd.array(x, dtype="uint8")).asnumpy()
    np.testing.assert_array_equal(center, IMAGES[f"{name}/out"])


def test_dataloader_with_transforms_and_workers(tmp_path):
    GEN.write_cifar(tmp_path)
    ds = vision.CIFAR10(root=str(tmp_path)).transform_first(
        T.Compose([T.Resize(16), T.ToTensor(), T.Normalize(0.5, 0.2)]))
    ref = [(d.asnumpy(), lab.asnumpy()) for d, lab in gdata.DataLoader(ds, 4)]
    loader = gdata.DataLoader(ds, 4, num_workers=2)
    got = [(d.asnumpy(), lab.asnumpy()) for d, lab in loader]
    loader.close()
    assert len(got) == len(ref) == 3
    for (d1, l1), (d2, l2) in zip(got, ref):
        assert d1.shape[1:] == (3, 16, 16) and d1.dtype == np.float32 and l1.dtype == np.int32
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(l1, l2)
