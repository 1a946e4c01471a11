"""Gluon helpers (``mx.gluon.utils``): data splitting, gradient clipping, files and hooks.

As MXNet 1.9.1's ``gluon/utils.py``. mxlite runs without a network: :func:`download` finds a
file already in place (checking its SHA-1 when given) and otherwise raises an
:class:`~mxlite.base.MXNetError` that says where to put it.
"""

from __future__ import annotations

import collections
import hashlib
import os
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import ndarray
from ..base import MXNetError
from ..context import Context
from ..ndarray.ndarray import NDArray
from ..util import is_np_shape

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "replace_file", "shape_is_known", "HookHandle"]


class _ValueError(MXNetError, ValueError):
    """Bad input that MXNet refuses with ValueError."""


def split_data(data: NDArray, num_slice: int, batch_axis: int = 0,
               even_split: bool = True) -> list[NDArray]:
    """Split ``data`` into ``num_slice`` slices along ``batch_axis``.

    With ``even_split`` the batch size must be a multiple of ``num_slice``; otherwise the first
    ``size % num_slice`` slices get one more element. Always returns a list.
    """
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise _ValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices "
            f"along axis {batch_axis}. Use a batch size that's multiple of {num_slice} or set "
            "even_split=False to allow uneven partitioning of data.")
    each, extras = divmod(size, num_slice)
    sizes = [0] + [each + 1] * extras + [each] * (num_slice - extras)
    bounds = np.cumsum(sizes).tolist()
    if batch_axis != 0:
        return [ndarray.slice_axis(data, axis=batch_axis, begin=bounds[i], end=bounds[i + 1])
                for i in range(num_slice)]
    # Slicing along the first axis is a view, as in MXNet.
    return [data[bounds[i]:bounds[i + 1]] if i < num_slice - 1 else data[bounds[i]:size]
            for i in range(num_slice)]


def split_and_load(data: Any, ctx_list: Sequence[Context], batch_axis: int = 0,
                   even_split: bool = True) -> list[NDArray]:
    """Split ``data`` into ``len(ctx_list)`` slices along ``batch_axis`` and put slice ``i`` on
    ``ctx_list[i]``. Non-NDArray data is converted first."""
    if not isinstance(data, NDArray):
        data = ndarray.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays: Sequence[NDArray], max_norm: float,
                     check_isfinite: bool = True) -> float | NDArray:
    """Rescale ``arrays`` in place so that the 2-norm of all of them together is at most
    ``max_norm``.

    Returns the norm before clipping: a float, or a (1,) NDArray when ``check_isfinite`` is
    False. With ``check_isfinite`` a NaN or infinite norm gives a warning (the clipping result
    is then undefined, as in MXNet).
    """
    if len(arrays) == 0:
        raise MXNetError("clip_global_norm: arrays is empty; expected at least one NDArray")
    ctx = arrays[0].context

    def sq_norm(a: NDArray) -> NDArray:
        flat = a.reshape((-1,))
        return ndarray.dot(flat, flat)

    total = ndarray.sqrt(ndarray.add_n(*[sq_norm(a).as_in_context(ctx) for a in arrays]))
    if check_isfinite and not np.isfinite(total.asscalar()):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."),
                      stacklevel=2)
    scale = max_norm / (total + 1e-8)
    scale = ndarray.min(ndarray.concat(scale, ndarray.ones(1, ctx=ctx), dim=0))
    for a in arrays:
        if a.stype == "default":
            a *= scale.as_in_context(a.context)
        else:
            # A sparse array scales its stored values (its implicit zeros stay zero); sparse
            # arrays have no in-place arithmetic of their own.
            a._data *= scale.asnumpy().astype(a._data.dtype, copy=False)
    return total.asscalar() if check_isfinite else total


def _indent(s_: str, num_spaces: int) -> str:
    """Indent every line of ``s_`` but the first by ``num_spaces`` (MXNet's repr helper)."""
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    return "\n".join([lines[0]] + [" " * num_spaces + line for line in lines[1:]])


def check_sha1(filename: str, sha1_hash: str) -> bool:
    """Whether the SHA-1 of the file's content is ``sha1_hash`` (hex digits)."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def replace_file(src: str, dst: str) -> None:
    """Move ``src`` over ``dst`` atomically (``os.replace``); ``src`` is removed on failure."""
    try:
        os.replace(src, dst)
    except OSError:
        try:
            os.remove(src)
        except OSError:
            pass
        raise OSError(f"Moving downloaded temp file - {src}, to {dst} failed. Please retry the "
                      "download.") from None


def download(url: str, path: str | None = None, overwrite: bool = False,
             sha1_hash: str | None = None, retries: int = 5, verify_ssl: bool = True) -> str:
    """The local file for ``url``: ``path`` (a file, or a folder to put the URL's file name
    in), else the URL's file name in the current folder.

    mxlite does not fetch from the network. When the file is there (and, with ``sha1_hash``,
    its hash matches) its path is returned, as MXNet returns it without downloading; otherwise
    an :class:`MXNetError` names the URL and the path to copy the file to.
    """
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise MXNetError(f"download: can't construct a file name from the URL {url!r}; "
                             "please set the `path` option")
    else:
        path = os.path.expanduser(path)
        fname = os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path
    if retries < 0:
        raise MXNetError(f"Number of retries should be at least 0, currently it's {retries}")
    if os.path.exists(fname) and not overwrite:
        if not sha1_hash or check_sha1(fname, sha1_hash):
            return fname
        problem = f"the file at {os.path.abspath(fname)} does not have SHA-1 {sha1_hash}"
    else:
        problem = f"no file at {os.path.abspath(fname)}"
    raise MXNetError(f"download: mxlite does not download files; {problem}. Fetch {url} "
                     f"yourself and save it as {os.path.abspath(fname)}"
                     + (f" (SHA-1 {sha1_hash})" if sha1_hash else ""))


def _get_repo_url() -> str:
    """Base URL of the Gluon data and model repository (``MXNET_GLUON_REPO``)."""
    repo = os.environ.get("MXNET_GLUON_REPO",
                          "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/")
    return repo if repo.endswith("/") else repo + "/"


def _get_repo_file_url(namespace: str, filename: str) -> str:
    """URL of ``filename`` under ``namespace`` in the Gluon repository."""
    return f"{_get_repo_url()}{namespace}/{filename}"


def _brief_print_list(lst: Iterable[Any], limit: int = 7) -> str:
    """At most ``limit`` items of ``lst``, quoted, with ``...`` in the middle (MXNet's style)."""
    lst = list(lst)
    if len(lst) > limit:
        return (_brief_print_list(lst[:limit // 2], limit) + ", ..., "
                + _brief_print_list(lst[-limit // 2:], limit))
    return ", ".join(f"'{i}'" for i in lst)


class HookHandle:
    """A handle of a forward hook: ``detach()`` (or leaving a ``with`` block) removes it."""

    def __init__(self) -> None:
        self._hooks_dict_ref: Callable[[], dict | None] | None = None
        self._id: int | None = None

    def attach(self, hooks_dict: dict, hook: Callable) -> None:
        if self._hooks_dict_ref:
            raise MXNetError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = weakref.ref(hooks_dict)

    def detach(self) -> None:
        hooks = self._hooks_dict_ref() if self._hooks_dict_ref is not None else None
        if hooks is not None and self._id in hooks:
            del hooks[self._id]

    def __getstate__(self) -> tuple:
        return (self._hooks_dict_ref() if self._hooks_dict_ref else None, self._id)

    def __setstate__(self, state: tuple) -> None:
        hooks = state[0] if state[0] is not None else collections.OrderedDict()
        # Keep an otherwise unreferenced dict alive as long as the handle.
        self._orphan = hooks if state[0] is None else None
        self._hooks_dict_ref = weakref.ref(hooks)
        self._id = state[1]

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()


def shape_is_known(shape: Sequence[int] | None) -> bool:
    """Whether every dimension of ``shape`` is known (0 is unknown, or -1 under numpy shape
    semantics, where a 0-d shape is known)."""
    if shape is None:
        return False
    unknown = -1 if is_np_shape() else 0
    if len(shape) == 0:
        return unknown == -1
    for d in shape:
        if d == unknown:
            return False
        if d < unknown:
            raise MXNetError(f"shape dimension size cannot be less than {unknown}, while "
                             f"received {d}")
    return True
