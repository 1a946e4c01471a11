"""Checkpoints (``mx.model``): a symbol file plus a params file per epoch.

``prefix-symbol.json`` holds the graph and ``prefix-%04d.params`` an array file whose keys are
``arg:<name>`` and ``aux:<name>``, exactly as MXNet 1.x writes them; ``Module`` adds
``prefix-%04d.states`` (optimizer states). A prefix may be a local path or any fsspec URI
(``s3://bucket/run/model``); ``storage_options`` carry credentials and endpoints. Every file is
written atomically, so a crash mid-save never leaves a torn checkpoint or loses the previous
one.

Beyond MXNet: :func:`list_checkpoints`, :func:`latest_checkpoint`, :func:`resume_state` (what
``Module.fit(..., resume=prefix)`` continues from), :func:`prune_checkpoints` and
:func:`verify`, a structural check of array files, symbol JSON and states pickles.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickletools
import re
import struct
import warnings
from collections.abc import Mapping
from typing import Any

from . import ndarray as nd
from . import storage
from .base import MXNetError
from .callback import BatchEndParam
from .context import cpu

__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam",
           "list_checkpoints", "latest_checkpoint", "resume_state", "prune_checkpoints",
           "verify"]

Options = Mapping[str, Any] | None


def _params_name(prefix: str, epoch: int) -> str:
    return f"{prefix}-{epoch:04d}.params"


def _states_name(prefix: str, epoch: int) -> str:
    return f"{prefix}-{epoch:04d}.states"


def _symbol_name(prefix: str) -> str:
    return f"{prefix}-symbol.json"


def save_checkpoint(prefix: str, epoch: int, symbol: Any, arg_params: dict,
                    aux_params: dict, remove_amp_cast: bool = True,
                    storage_options: Options = None) -> None:
    """Save ``symbol`` to ``prefix-symbol.json`` and the parameters to ``prefix-%04d.params``.

    Parameters
    ----------
    prefix : str
        Prefix of the checkpoint files: a local path or an fsspec URI.
    epoch : int
        The epoch number, written as four digits.
    symbol : Symbol or None
        The network; ``None`` saves the parameters only.
    arg_params, aux_params : dict of str to NDArray
        Weights and auxiliary states, stored as ``arg:<name>`` and ``aux:<name>``.
    storage_options : dict, optional
        fsspec options for a URI prefix (credentials, ``endpoint_url``...).
    """
    if symbol is not None:
        storage.write_text_atomic(_symbol_name(prefix), symbol.tojson(remove_amp_cast),
                                  storage_options)
    param_name = _params_name(prefix, epoch)
    save_param_file(param_name, arg_params, aux_params, storage_options)
    logging.info('Saved checkpoint to "%s"', param_name)


def save_param_file(fname: str, arg_params: dict, aux_params: dict,
                    storage_options: Options = None) -> None:
    """Write a params file: ``arg:<name>`` and ``aux:<name>`` arrays (on the cpu)."""
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    nd.save(fname, save_dict, storage_options=storage_options)


class ParamFileError(MXNetError, ValueError):
    """A params file that is not ``arg:``/``aux:`` arrays (MXNet raises ValueError)."""


def load_param_file(fname: str, storage_options: Options = None, strict: bool = False
                    ) -> tuple[dict, dict]:
    """``(arg_params, aux_params)`` of a params file written by :func:`save_param_file`.

    Other keys are skipped, as ``mx.model.load_params`` skips them, or refused with
    ``strict``, as ``Module.load_params`` refuses them.
    """
    save_dict = nd.load(fname, storage_options=storage_options)
    arg_params: dict = {}
    aux_params: dict = {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return arg_params, aux_params
    if not isinstance(save_dict, dict):
        raise ParamFileError(f"{fname}: a checkpoint's params file holds named arrays "
                             "('arg:<name>' / 'aux:<name>'), but this one holds an unnamed list")
    for key, value in save_dict.items():
        kind, _, name = key.partition(":")
        if kind == "arg":
            arg_params[name] = value
        elif kind == "aux":
            aux_params[name] = value
        elif strict:
            raise ParamFileError(f"Invalid param file {fname}: key {key!r} is neither "
                                 "'arg:<name>' nor 'aux:<name>'")
    return arg_params, aux_params


def load_params(prefix: str, epoch: int, storage_options: Options = None) -> tuple[dict, dict]:
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    return load_param_file(_params_name(prefix, epoch), storage_options)


def _load_symbol(fname: str, storage_options: Options) -> Any:
    from . import symbol as sym

    text = storage.read_text(fname, storage_options)
    try:
        return sym.load_json(text)
    except MXNetError as e:
        raise type(e)(f"{fname}: {e}") from None


def load_checkpoint(prefix: str, epoch: int, storage_options: Options = None
                    ) -> tuple[Any, dict, dict]:
    """``(symbol, arg_params, aux_params)`` saved by :func:`save_checkpoint`."""
    symbol = _load_symbol(_symbol_name(prefix), storage_options)
    arg_params, aux_params = load_params(prefix, epoch, storage_options)
    return symbol, arg_params, aux_params


# ----------------------------------------------------------------------------- resuming


def list_checkpoints(prefix: str, storage_options: Options = None) -> list[int]:
    """Epochs that have a ``prefix-%04d.params`` file, ascending."""
    folder, base = storage.folder_of(prefix)
    pattern = re.compile(re.escape(base) + r"-(\d{4,})\.params")
    epochs = {int(m.group(1)) for n in storage.listdir(folder, storage_options)
              if (m := pattern.fullmatch(n))}
    return sorted(epochs)


def _params_sound(fname: str, storage_options: Options) -> bool:
    from .formats.arrays import scan_list

    try:
        with storage.open_ranged(fname, storage_options) as f:
            scan_list(f, fname, strict=True)
    except MXNetError:
        return False
    return True


def latest_checkpoint(prefix: str, storage_options: Options = None) -> int | None:
    """The newest epoch whose params file is complete (its structure checks out from the
    headers, without reading the arrays), or None when there is none."""
    for epoch in reversed(list_checkpoints(prefix, storage_options)):
        if _params_sound(_params_name(prefix, epoch), storage_options):
            return epoch
        logging.warning("Skipping damaged checkpoint %s", _params_name(prefix, epoch))
    return None


def resume_state(prefix: str, storage_options: Options = None
                 ) -> tuple[int, Any, dict, dict, str | None] | None:
    """What training resumes from: ``(epoch, symbol, arg_params, aux_params, states)`` of the
    newest complete checkpoint, ``states`` being the path of ``prefix-%04d.states`` when that
    file exists (else None); None when there is no checkpoint.

    Training continues with epoch index ``epoch`` (a checkpoint numbered N is saved after N
    epochs), i.e. ``fit(..., begin_epoch=epoch, arg_params=..., aux_params=...)``.
    """
    epoch = latest_checkpoint(prefix, storage_options)
    if epoch is None:
        return None
    symbol, arg_params, aux_params = load_checkpoint(prefix, epoch, storage_options)
    states = _states_name(prefix, epoch)
    if not storage.exists(states, storage_options):
        states = None
    return epoch, symbol, arg_params, aux_params, states


def prune_checkpoints(prefix: str, keep_last: int, storage_options: Options = None
                      ) -> list[int]:
    """Remove all but the newest ``keep_last`` epochs' ``.params`` and ``.states`` files (the
    symbol file stays); returns the epochs removed."""
    if keep_last < 1:
        raise MXNetError(f"keep_last must be >= 1, got {keep_last}")
    epochs = list_checkpoints(prefix, storage_options)
    doomed = epochs[:-keep_last]
    for epoch in doomed:
        # states first: a params file without its states is still a usable checkpoint
        storage.remove(_states_name(prefix, epoch), storage_options)
        storage.remove(_params_name(prefix, epoch), storage_options)
    return doomed


# ----------------------------------------------------------------------------- verify

_LIST_MAGIC = struct.pack("<Q", 0x112)


def _verify_arrays(path: str, storage_options: Options) -> list[str]:
    from .formats.arrays import scan_list

    with storage.open_ranged(path, storage_options) as f:
        try:
            # sparse index arrays are read and checked as loading checks them
            index = scan_list(f, path, strict=True, check_sparse=True)
        except MXNetError as e:
            return [str(e)]
    problems = []
    if index.names is not None:
        seen: set[str] = set()
        dups = [n for n in index.names if n in seen or seen.add(n)]
        if dups:
            problems.append(f"{path}: duplicate array names {sorted(set(dups))[:5]}; a dict "
                            "load would keep only the last of each")
    return problems


def _verify_symbol(path: str, data: bytes) -> list[str]:
    from . import symbol as sym

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"{path}: byte {e.start}: not UTF-8 text"]
    try:
        graph = json.loads(text, strict=False)  # as the loader reads it: raw control chars
    except json.JSONDecodeError as e:
        return [f"{path}: byte {e.pos}: not JSON ({e.msg})"]
    except (ValueError, RecursionError) as e:
        what = "nested too deeply" if isinstance(e, RecursionError) else str(e)[:200]
        return [f"{path}: not a symbol graph: {what}"]
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        return [f"{path}: not a symbol graph: expected an object with a 'nodes' list"]
    del graph
    try:
        sym.load_json(text)
    except MXNetError as e:
        return [f"{path}: {e}"]
    return []


def _verify_pickle(path: str, data: bytes, states: bool) -> list[str]:
    from .formats.pickles import check_states, load_pickle

    stream = io.BytesIO(data)
    try:
        with warnings.catch_warnings():  # bad escapes in a STRING: reported below instead
            warnings.simplefilter("ignore", DeprecationWarning)
            for op, _, _ in pickletools.genops(stream):
                if op.name == "STOP":
                    break
    except Exception as e:  # ValueError, EOFError, OverflowError...: a damaged opcode
        return [f"{path}: byte {stream.tell()}: not a sound pickle ({str(e)[:200]})"]
    problems = []
    if stream.tell() != len(data):
        problems.append(f"{path}: byte {stream.tell()}: {len(data) - stream.tell()} trailing "
                        "bytes after the pickle's STOP")
    try:
        loaded = load_pickle(data[:stream.tell()], path)
        if states:  # what Updater.set_states / Module.load_optimizer_states accept
            check_states(loaded, path)
    except MXNetError as e:
        problems.append(str(e))
    return problems


def verify(path: str, storage_options: Options = None) -> list[str]:
    """Problems found by a structural check of an NDArray file (``.params``), a symbol JSON or
    an optimizer-states pickle; an empty list when the file is sound. Never raises: whatever
    stops the check is reported as a problem.

    Array files: every record's header is checked and every array must lie within the file,
    sparse index arrays must be in range and sorted, names must be UTF-8, one per array and
    distinct, and nothing may follow them; dense array bytes are not read (so a remote file
    costs a few small ranged requests). Symbol JSON: well-formed JSON and a graph that loads
    (nodes, inputs, heads, operators). Pickles: a complete pickle, nothing after it, only
    allow-listed globals, and for ``.states`` files the layout ``Updater.set_states`` takes.
    An empty list means the matching loader (``mx.nd.load``, ``mx.sym.load``,
    ``mx.compat.load_pickle`` / ``load_optimizer_states``) loads the file.

    Stale temporary files left beside ``path`` by an interrupted save are not problems of
    ``path``; :func:`mxlite.storage.stale_temp_files` lists them (``mxlite verify`` does).
    """
    try:
        path = os.fspath(path)
        return _verify(path, storage_options)
    except MXNetError as e:
        return [str(e)]
    except Exception as e:  # a bug of the checker, still reported, never raised
        return [f"{path}: internal error while checking: {type(e).__name__}: {str(e)[:200]}"]


def _verify(path: str, storage_options: Options) -> list[str]:
    head = storage.read_range(path, 0, 16, storage_options)
    suffix = os.path.splitext(path)[1].lower()
    if not head:
        return [f"{path}: empty file"]
    if head[:8] == _LIST_MAGIC or suffix in (".params", ".ndarray", ".nd"):
        return _verify_arrays(path, storage_options)
    data = storage.read_bytes(path, storage_options)
    if head.lstrip()[:1] == b"{" or suffix == ".json":
        return _verify_symbol(path, data)
    if head[:1] == b"\x80" or suffix in (".states", ".pkl", ".pickle"):
        return _verify_pickle(path, data, suffix == ".states")
    return [f"{path}: unknown kind of file: not an NDArray file (magic 0x112), symbol JSON or "
            "pickle"]


# MXNet's kvstore helpers live in mx.model; scripts and FeedForward reach them here.
from .kvstore.updates import (  # noqa: E402,F401
    _create_kvstore,
    _initialize_kvstore,
    _update_params,
    _update_params_on_kvstore,
)
