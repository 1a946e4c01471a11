"""``mx.gluon.utils``: MXNet 1.9.1's values and messages (from the reference installation)."""

from __future__ import annotations

import hashlib
import pickle
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.gluon import utils


def test_split_data_even_uneven_and_other_axes():
    x = mx.nd.arange(10).reshape((5, 2))
    parts = utils.split_data(x, 3, even_split=False)
    assert [p.asnumpy().tolist() for p in parts] == [
        [[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]], [[8.0, 9.0]]]
    parts[0][:] = -1  # slices along the first axis are views, as in MXNet
    assert x.asnumpy()[0, 0] == -1
    cols = utils.split_data(mx.nd.arange(12).reshape((2, 6)), 3, batch_axis=1)
    assert [p.asnumpy().tolist() for p in cols] == [
        [[0.0, 1.0], [6.0, 7.0]], [[2.0, 3.0], [8.0, 9.0]], [[4.0, 5.0], [10.0, 11.0]]]
    with pytest.raises(MXNetError, match=r"data with shape \(5, 2\) cannot be evenly split "
                       "into 3 slices along axis 0"):
        utils.split_data(x, 3)
    with pytest.raises(ValueError):  # MXNet's exception type too
        utils.split_data(x, 2)


def test_split_and_load_puts_slices_on_contexts():
    parts = utils.split_and_load(np.arange(8, dtype=np.float32).reshape(4, 2),
                                 [mx.cpu(0), mx.cpu(1)])
    assert [p.context for p in parts] == [mx.cpu(0), mx.cpu(1)]
    assert parts[1].asnumpy().tolist() == [[4.0, 5.0], [6.0, 7.0]]
    one = utils.split_and_load(mx.nd.ones((3, 1)), [mx.gpu(0)])
    assert len(one) == 1 and one[0].context == mx.gpu(0) and one[0].shape == (3, 1)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_clip_global_norm_values_and_warning():
    a, b = mx.nd.array([3.0, 4.0]), mx.nd.array([[12.0]])
    norm = utils.clip_global_norm([a, b], 6.5)
    assert norm == np.float32(13.0) and isinstance(norm, np.float32)
    np.testing.assert_allclose(a.asnumpy(), [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(b.asnumpy(), [[6.0]], rtol=1e-6)
    c = mx.nd.array([1.0, 0.0])
    total = utils.clip_global_norm([c], 5.0, check_isfinite=False)
    assert isinstance(total, mx.nd.NDArray) and total.asnumpy().tolist() == [1.0]
    assert c.asnumpy().tolist() == [1.0, 0.0]  # under the limit: unchanged
    with pytest.warns(UserWarning, match="nan or inf is detected. Clipping results will be "
                      "undefined."):
        assert utils.clip_global_norm([mx.nd.array([np.inf, 1.0])], 1.0) == np.inf
    with pytest.raises(MXNetError, match="at least one"):
        utils.clip_global_norm([], 1.0)


def test_check_sha1_and_offline_download(tmp_path, monkeypatch):
    f = tmp_path / "model.params"
    f.write_bytes(b"weights")
    sha = hashlib.sha1(b"weights").hexdigest()
    assert utils.check_sha1(str(f), sha) and not utils.check_sha1(str(f), "0" * 40)
    url = "https://example.org/models/model.params"
    assert utils.download(url, path=str(tmp_path)) == str(f)
    assert utils.download(url, path=str(f), sha1_hash=sha) == str(f)
    with pytest.raises(MXNetError, match="does not have SHA-1"):
        utils.download(url, path=str(f), sha1_hash="0" * 40)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MXNetError, match=r"mxlite does not download files; no file at .*"
                       r"other\.params\. Fetch https://example\.org/models/other\.params"):
        utils.download("https://example.org/models/other.params")
    with pytest.raises(MXNetError, match="can't construct a file name"):
        utils.download("https://example.org/models/")


def test_repo_urls(monkeypatch):
    monkeypatch.setenv("MXNET_GLUON_REPO", "https://mirror.example/gluon")
    assert utils._get_repo_file_url("models", "a.zip") == "https://mirror.example/gluon/models/a.zip"


def test_shape_is_known():
    assert utils.shape_is_known((2, 3)) and not utils.shape_is_known((2, 0))
    assert not utils.shape_is_known(None) and not utils.shape_is_known(())
    with mx.util.np_shape(True):
        assert utils.shape_is_known(()) and utils.shape_is_known((2, 0))
        assert not utils.shape_is_known((2, -1))
        with pytest.raises(MXNetError, match="cannot be less than -1"):
            utils.shape_is_known((2, -2))


def test_indent_and_brief_print_list():
    assert utils._indent("a\nb\nc", 2) == "a\n  b\n  c"
    assert utils._indent("one line", 4) == "one line"
    assert utils._brief_print_list(range(10)) == "'0', '1', '2', ..., '6', '7', '8', '9'"
    assert utils._brief_print_list(["a", "b"]) == "'a', 'b'"


def test_hook_handle_attach_detach_and_pickle():
    from collections import OrderedDict

    hooks = OrderedDict()
    h = utils.HookHandle()

    def fn():
        return None

    h.attach(hooks, fn)
    assert list(hooks.values()) == [fn]
    with pytest.raises(MXNetError, match="cannot be attached twice"):
        h.attach(hooks, fn)
    with h:
        pass
    assert not hooks
    h.detach()  # twice is fine
    clone = pickle.loads(pickle.dumps(h))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone.detach()


def test_replace_file(tmp_path):
    src, dst = tmp_path / "a", tmp_path / "b"
    src.write_text("new")
    dst.write_text("old")
    utils.replace_file(str(src), str(dst))
    assert dst.read_text() == "new" and not src.exists()
    with pytest.raises(OSError, match="failed"):
        utils.replace_file(str(tmp_path / "missing"), str(tmp_path / "nodir" / "x"))
