"""Vision datasets (``mx.gluon.data.vision``): MNIST, FashionMNIST, CIFAR10, CIFAR100,
ImageRecordDataset and ImageFolderDataset.

The datasets read MXNet's files from ``root`` (by default ``$MXNET_HOME/datasets/<name>``,
``~/.mxnet/datasets/<name>``): the gzipped idx files of MNIST and the binary batches of
CIFAR, under the names MXNet gives them. mxlite does not download; when files are missing the
error names them, the folder to put them in and the URL MXNet fetched them from. A CIFAR
archive (``cifar-10-binary.tar.gz``) left in ``root`` is unpacked, as MXNet does after its
download. Files that are there are used as they are (MXNet would check their SHA-1 and fetch
them again); their structure is checked instead, so a local subset works.
"""

from __future__ import annotations

import gzip
import os
import platform
import struct
import tarfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ....base import MXNetError, NotSupportedError
from ....ndarray.ndarray import NDArray
from ....ndarray.ndarray import array as _nd_array
from .. import dataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset",
           "ImageFolderDataset"]


def _data_dir() -> str:
    """MXNet's ``base.data_dir()``: ``$MXNET_HOME``, else ``~/.mxnet`` (``%APPDATA%/mxnet``)."""
    if "MXNET_HOME" in os.environ:
        return os.environ["MXNET_HOME"]
    if platform.system() == "Windows":
        return os.path.join(os.environ.get("APPDATA", ""), "mxnet")
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def _repo_url(namespace: str, filename: str) -> str:
    try:
        from ...utils import _get_repo_file_url
    except ImportError:  # gluon.utils is optional here: only the message needs it
        return f"https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/{namespace}/" \
               f"{filename}"
    return _get_repo_file_url(namespace, filename)


def _missing_error(cls: str, root: str, missing: Sequence[str], how: str) -> MXNetError:
    return MXNetError(
        f"{cls}: {', '.join(missing)} not found in {os.path.abspath(root)}. mxlite does not "
        f"download datasets: {how}, or pass root= the folder that holds them")


def _read_exact(f: Any, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise MXNetError(f"{what}: truncated, expected {n} bytes, got {len(data)}")
    return data


# ---------------------------------------------------------------------------- MNIST


class MNIST(dataset._DownloadedDataset):
    """MNIST handwritten digits (http://yann.lecun.com/exdb/mnist).

    Each sample is ``(image, label)``: a uint8 NDArray of shape (28, 28, 1) and a numpy
    int32 label.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/mnist
        Folder holding ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``.
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        Called as ``transform(data, label)`` on each sample, for example
        ``lambda data, label: (data.astype(np.float32) / 255, label)``.
    """

    _namespace = "mnist"
    _train_files = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    _test_files = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

    def __init__(self, root: str = os.path.join(_data_dir(), "datasets", "mnist"),
                 train: bool = True, transform: Callable[..., Any] | None = None):
        self._train = train
        super().__init__(root, transform)

    def _get_data(self) -> None:
        data_name, label_name = self._train_files if self._train else self._test_files
        paths = [os.path.join(self._root, n) for n in (data_name, label_name)]
        missing = [n for n, p in zip((data_name, label_name), paths) if not os.path.isfile(p)]
        if missing:
            ns = f"gluon/dataset/{self._namespace}"
            urls = " and ".join(_repo_url(ns, n) for n in missing)
            raise _missing_error(type(self).__name__, self._root, missing,
                                 f"fetch {urls} into that folder")
        label = _read_idx(paths[1], 2049, 1)
        data = _read_idx(paths[0], 2051, 3)
        if data.shape[0] != label.shape[0]:
            raise MXNetError(f"{type(self).__name__}: {paths[0]} holds {data.shape[0]} images "
                             f"but {paths[1]} holds {label.shape[0]} labels")
        self._data = _nd_array(data[..., None], dtype=np.uint8)
        self._label = label.astype(np.int32)


def _read_idx(path: str, magic: int, ndim: int) -> np.ndarray:
    """A gzipped idx file of unsigned bytes (MNIST's format): big-endian magic, dims, data."""
    try:
        with gzip.open(path, "rb") as f:
            head = _read_exact(f, 4 + 4 * ndim, path)
            found, *dims = struct.unpack(f">I{ndim}I", head)
            if found != magic:
                raise MXNetError(f"{path}: not an idx file of {ndim}-d unsigned bytes (magic "
                                 f"{found}, expected {magic})")
            count = int(np.prod(dims, dtype=np.int64))
            if count > 1 << 33:
                raise MXNetError(f"{path}: header claims {dims} elements, too many")
            data = np.frombuffer(_read_exact(f, count, path), dtype=np.uint8)
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise MXNetError(f"{path}: cannot read the gzipped idx file: {e}") from None
    return data.reshape(dims)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist), a drop-in
    replacement of MNIST with the same file names and layout.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/fashion-mnist
        Folder holding the four idx ``.gz`` files.
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        Called as ``transform(data, label)`` on each sample.
    """

    _namespace = "fashion-mnist"

    def __init__(self, root: str = os.path.join(_data_dir(), "datasets", "fashion-mnist"),
                 train: bool = True, transform: Callable[..., Any] | None = None):
        super().__init__(root, train, transform)


# ---------------------------------------------------------------------------- CIFAR


class CIFAR10(dataset._DownloadedDataset):
    """CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html) in its binary version.

    Each sample is ``(image, label)``: a uint8 NDArray of shape (32, 32, 3) and a numpy int32
    label.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar10
        Folder holding ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``
        (or the archive ``cifar-10-binary.tar.gz``, which is unpacked there).
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        Called as ``transform(data, label)`` on each sample.
    """

    _namespace = "cifar10"
    _archive = "cifar-10-binary.tar.gz"
    _train_data = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    _test_data = ("test_batch.bin",)
    _label_bytes = 1

    def __init__(self, root: str = os.path.join(_data_dir(), "datasets", "cifar10"),
                 train: bool = True, transform: Callable[..., Any] | None = None):
        self._train = train
        super().__init__(root, transform)

    def _label_column(self) -> int:
        return 0

    def _get_data(self) -> None:
        names = self._train_data if self._train else self._test_data
        missing = [n for n in names if not os.path.isfile(os.path.join(self._root, n))]
        archive = os.path.join(self._root, self._archive)
        if missing and os.path.isfile(archive):
            _extract(archive, self._root, self._train_data + self._test_data)
            missing = [n for n in names if not os.path.isfile(os.path.join(self._root, n))]
        if missing:
            url = _repo_url(f"gluon/dataset/{self._namespace}", self._archive)
            raise _missing_error(type(self).__name__, self._root, missing,
                                 f"fetch {url} into that folder (it is unpacked there when "
                                 "the dataset is next made)")
        data, label = zip(*(self._read_batch(os.path.join(self._root, n)) for n in names))
        self._data = _nd_array(np.concatenate(data), dtype=np.uint8)
        self._label = np.concatenate(label)

    def _read_batch(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        record = self._label_bytes + 3072
        with open(path, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8)
        if raw.size % record:
            raise MXNetError(f"{path}: {raw.size} bytes is not a whole number of "
                             f"{record}-byte {type(self).__name__} records")
        raw = raw.reshape(-1, record)
        images = raw[:, self._label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, raw[:, self._label_column()].astype(np.int32)


class CIFAR100(CIFAR10):
    """CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html) in its binary version.

    Each sample is ``(image, label)``: a uint8 NDArray of shape (32, 32, 3) and a numpy int32
    label, the coarse (20 super-classes) one unless ``fine_label``.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar100
        Folder holding ``train.bin`` and ``test.bin`` (or ``cifar-100-binary.tar.gz``).
    fine_label : bool, default False
        Whether to load the fine-grained (100 classes) or the coarse-grained labels.
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        Called as ``transform(data, label)`` on each sample.
    """

    _namespace = "cifar100"
    _archive = "cifar-100-binary.tar.gz"
    _train_data = ("train.bin",)
    _test_data = ("test.bin",)
    _label_bytes = 2

    def __init__(self, root: str = os.path.join(_data_dir(), "datasets", "cifar100"),
                 fine_label: bool = False, train: bool = True,
                 transform: Callable[..., Any] | None = None):
        self._fine_label = fine_label
        super().__init__(root, train, transform)

    def _label_column(self) -> int:
        # Each record is <coarse label><fine label><3072 pixels>.
        return 1 if self._fine_label else 0


def _extract(archive: str, root: str, names: Sequence[str]) -> None:
    """Unpack the members of ``archive`` named in ``names`` straight into ``root``.

    Whatever folder they sit in inside the archive (Toronto's archives have one, MXNet's
    copies none), and nothing else, so a hostile archive cannot write outside ``root``.
    """
    wanted = set(names)
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if not member.isfile() or base not in wanted:
                    continue
                src = tar.extractfile(member)
                tmp = os.path.join(root, base + ".part")
                with open(tmp, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                os.replace(tmp, os.path.join(root, base))
    except (OSError, tarfile.TarError, EOFError) as e:
        raise MXNetError(f"{archive}: cannot unpack the archive: {e}") from None


# ---------------------------------------------------------------------------- images


def _imdecode(buf: bytes, flag: int, where: str) -> NDArray:
    """Decode an encoded image to a uint8 HWC NDArray, RGB (``flag=1``) or grey (H, W, 1),
    as MXNet's ``image.imdecode``. Needs OpenCV (``cv2``) or Pillow."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        img = cv2.imdecode(np.frombuffer(buf, np.uint8),
                           cv2.IMREAD_COLOR if flag else cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise MXNetError(f"{where}: not an image OpenCV can decode")
        img = img[:, :, ::-1] if flag else img[:, :, None]
    else:
        try:
            from PIL import Image
        except ImportError:
            raise NotSupportedError(
                f"{where}: decoding images needs OpenCV or Pillow; install "
                "opencv-python-headless (or pillow)") from None
        import io

        try:
            with Image.open(io.BytesIO(buf)) as im:
                img = np.asarray(im.convert("RGB" if flag else "L"))
        except Exception as e:
            raise MXNetError(f"{where}: not an image Pillow can decode ({e})") from None
        if not flag:
            img = img[:, :, None]
    return _nd_array(np.ascontiguousarray(img), dtype=np.uint8)


class ImageRecordDataset(dataset.RecordFileDataset):
    """A dataset over a RecordIO file of images: each sample is ``(image, label)``.

    Parameters
    ----------
    filename : str
        Path to the ``.rec`` file.
    flag : {0, 1}, default 1
        0 decodes to greyscale (H, W, 1), 1 to RGB (H, W, 3).
    transform : function, default None
        Called as ``transform(data, label)`` on each sample.
    """

    def __init__(self, filename: str, flag: int = 1,
                 transform: Callable[..., Any] | None = None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx: int) -> Any:
        from ....recordio import unpack

        header, img = unpack(super().__getitem__(idx))
        key = self._record.keys[idx]
        data = _imdecode(img, self._flag, f"{self.filename} record {idx} (key {key}, byte "
                                          f"{self._record.idx[key]})")
        if self._transform is not None:
            return self._transform(data, header.label)
        return data, header.label


class ImageFolderDataset(dataset.Dataset):
    """Images stored one folder per class::

        root/car/0001.jpg
        root/car/xxxa.jpg
        root/bus/123.jpg

    Each sample is ``(image, label)``: a uint8 NDArray (H, W, 3) RGB, or (H, W, 1) with
    ``flag=0``, and the index of its folder in :attr:`synsets`. Decoding needs OpenCV
    (``cv2``) or Pillow; listing the files does not.

    Parameters
    ----------
    root : str
        Path to the root folder.
    flag : {0, 1}, default 1
        0 decodes to greyscale, 1 to RGB.
    transform : callable, default None
        Called as ``transform(data, label)`` on each sample.

    Attributes
    ----------
    synsets : list of str
        The class names; ``synsets[i]`` is the name of label ``i``.
    items : list of (str, int)
        Every image as a ``(filename, label)`` pair.
    """

    def __init__(self, root: str, flag: int = 1, transform: Callable[..., Any] | None = None):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        if not os.path.isdir(self._root):
            raise MXNetError(f"ImageFolderDataset: root {self._root!r} is not a folder")
        self._list_images(self._root)

    def _list_images(self, root: str) -> None:
        self.synsets: list[str] = []
        self.items: list[tuple[str, int]] = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"Ignoring {path}, which is not a directory.", stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(f"Ignoring {filename} of type {ext}. Only support "
                                  f"{', '.join(self._exts)}", stacklevel=3)
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx: int) -> Any:
        filename, label = self.items[idx]
        with open(filename, "rb") as f:
            img = _imdecode(f.read(), self._flag, filename)
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self) -> int:
        return len(self.items)
