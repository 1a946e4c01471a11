"""Checkpoints (``mx.model``): a symbol file plus a params file per epoch.

``prefix-symbol.json`` holds the graph and ``prefix-%04d.params`` an array file whose keys are
``arg:<name>`` and ``aux:<name>``, exactly as MXNet 1.x writes them; ``Module`` adds
``prefix-%04d.states`` (optimizer states). A prefix may be a local path or any fsspec URI
(``s3://bucket/run/model``); ``storage_options`` carry credentials and endpoints. Every file is
written atomically, so a crash mid-save never leaves a torn checkpoint or loses the previous
one.

:class:`FeedForward` is MXNet's deprecated model class (``create``, ``fit``, ``predict``,
``score``, ``save``, ``load``), trained here through :class:`mxlite.mod.Module`.

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
import time
import warnings
from collections.abc import Mapping
from typing import Any

from . import ndarray as nd
from . import storage
from .base import MXNetError
from .callback import BatchEndParam, LogValidationMetricsCallback
from .context import cpu
from .formats import symbol_json

__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam",
           "list_checkpoints", "latest_checkpoint", "resume_state", "prune_checkpoints",
           "verify", "FeedForward"]

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
        graph = symbol_json.DECODER.decode(text)  # as the loader reads it, nodes compact
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

# ----------------------------------------------------------------------------- FeedForward


def _multiple_callbacks(callbacks: Any, *args: Any, **kwargs: Any) -> None:
    """Call ``callbacks`` (None, one callable or a list of them) with the arguments."""
    if isinstance(callbacks, list):
        for cb in callbacks:
            cb(*args, **kwargs)
        return
    if callbacks:
        callbacks(*args, **kwargs)


def _check_arguments(symbol: Any) -> None:
    """A symbol's arguments and auxiliary states must have distinct names."""
    for names, what in ((symbol.list_arguments(), "argument"),
                        (symbol.list_auxiliary_states(), "auxiliary state")):
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise MXNetError(f"Find duplicated {what} name \"{name}\", please make the "
                                 f"weight name non-duplicated(using name arguments), "
                                 f"arguments are {names}")
            seen.add(name)


def _load_data(batch: Any, targets: list) -> None:
    """Copy the batch's data arrays into the bound input arrays."""
    import numpy as np

    for src, dst in zip(batch.data, targets):
        data = src.asnumpy() if hasattr(src, "asnumpy") else np.asarray(src)
        if data.shape != dst.shape:
            raise MXNetError(f"predict: a batch array of shape {data.shape} for an input of "
                             f"shape {dst.shape}")
        np.copyto(dst._data, data, casting="unsafe")


# FeedForward's default eval_end_callback, one shared instance as MXNet's default argument.
_LOG_VALIDATION = LogValidationMetricsCallback()


class FeedForward:
    """MXNet's deprecated model class for a single-data, single-output feed-forward network
    (``mx.model.FeedForward``), trained here through :class:`mxlite.mod.Module`.

    Parameters
    ----------
    symbol : Symbol or callable
        The network, or ``sym_gen(bucket_key)`` giving one per bucket of the training
        iterator (``default_bucket_key``).
    ctx : Context or list of Context, optional
        The devices (default ``cpu()``); prediction runs on the first.
    num_epoch : int, optional
        Train until this epoch number (exclusive).
    epoch_size : int, optional
        Batches per epoch (default: one pass over the training iterator); an epoch may run
        across the iterator's end, which is then reset.
    optimizer : str or Optimizer
    initializer : Initializer
        For parameters not in ``arg_params`` / ``aux_params``.
    numpy_batch_size : int
        The batch size when training data are numpy arrays or NDArrays.
    arg_params, aux_params : dict of str to NDArray, optional
    allow_extra_params : bool
        Drop entries of ``arg_params`` / ``aux_params`` the symbol does not use (else they
        are kept and never used).
    begin_epoch : int
    kwargs
        Arguments of the optimizer (``learning_rate``, ``momentum``, ``wd`` ...).
    """

    def __init__(self, symbol: Any, ctx: Any = None, num_epoch: int | None = None,
                 epoch_size: int | None = None, optimizer: Any = "sgd",
                 initializer: Any = None, numpy_batch_size: int = 128,
                 arg_params: dict | None = None, aux_params: dict | None = None,
                 allow_extra_params: bool = False, begin_epoch: int = 0, **kwargs: Any):
        from .context import Context
        from .initializer import Uniform
        from .symbol import Symbol

        warnings.warn("mxnet.model.FeedForward has been deprecated. Please use "
                      "mxnet.mod.Module instead.", DeprecationWarning, stacklevel=2)
        if isinstance(symbol, Symbol):
            self.symbol = symbol
            self.sym_gen = None
        else:
            if not callable(symbol):
                raise MXNetError(f"FeedForward: symbol must be a Symbol or a callable "
                                 f"sym_gen, got {type(symbol).__name__}")
            self.symbol = None
            self.sym_gen = symbol
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self.argument_checked = False
        if self.sym_gen is None:
            self._check_arguments()
        if ctx is None:
            ctx = [cpu()]
        elif isinstance(ctx, Context):
            ctx = [ctx]
        self.ctx = ctx
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.kwargs = kwargs.copy()
        self.optimizer = optimizer
        self.initializer = initializer if initializer is not None else Uniform(0.01)
        self.numpy_batch_size = numpy_batch_size
        self._pred_exec: Any = None
        self.begin_epoch = begin_epoch

    def _check_arguments(self) -> None:
        if self.argument_checked:
            return
        self.argument_checked = True
        _check_arguments(self.symbol)
        if self.allow_extra_params:
            if self.arg_params:
                names = set(self.symbol.list_arguments())
                self.arg_params = {k: v for k, v in self.arg_params.items() if k in names}
            if self.aux_params:
                names = set(self.symbol.list_auxiliary_states())
                self.aux_params = {k: v for k, v in self.aux_params.items() if k in names}

    @staticmethod
    def _is_data_arg(name: str) -> bool:
        """Whether ``name`` reads as a data argument (ends with 'data' or 'label')."""
        return name.endswith("data") or name.endswith("label")

    def _init_params(self, inputs: list, overwrite: bool = False
                     ) -> tuple[list[str], list[str], list[str]]:
        """Allocate the parameters for the input shapes: given values are kept (unless
        ``overwrite``), the others come from the initializer, in argument order."""
        from .io import DataDesc

        inputs = [x if isinstance(x, DataDesc) else DataDesc(*x) for x in inputs]
        input_shapes = {item.name: item.shape for item in inputs}
        arg_shapes, _, aux_shapes = self.symbol.infer_shape(**input_shapes)
        if arg_shapes is None:
            raise MXNetError(f"FeedForward: cannot infer the parameter shapes from "
                             f"{input_shapes}")
        arg_dtypes, _, aux_dtypes = self.symbol.infer_type(
            **{item.name: item.dtype for item in inputs})
        arg_names = self.symbol.list_arguments()
        param_names = [k for k in arg_names if k not in input_shapes]
        aux_names = self.symbol.list_auxiliary_states()
        arg_params = {k: nd.zeros(shape=s, dtype=t)
                      for k, s, t in zip(arg_names, arg_shapes, arg_dtypes) if k in param_names}
        aux_params = {k: nd.zeros(shape=s, dtype=t)
                      for k, s, t in zip(aux_names, aux_shapes, aux_dtypes)}
        for new, old in ((arg_params, self.arg_params), (aux_params, self.aux_params)):
            for k, v in new.items():
                if old and k in old and not overwrite:
                    v[:] = old[k][:]
                else:
                    self.initializer(k, v)
        self.arg_params = arg_params
        self.aux_params = aux_params
        return arg_names, list(param_names), aux_names

    def __getstate__(self) -> dict:
        this = self.__dict__.copy()
        this["_pred_exec"] = None
        return this

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _init_predictor(self, input_shapes: list, type_dict: dict | None = None) -> None:
        """Bind (or keep) the prediction executor on the first device."""
        shapes = {name: self.arg_params[name].shape for name in self.arg_params}
        shapes.update(dict(input_shapes))
        if self._pred_exec is not None:
            arg_shapes, _, _ = self.symbol.infer_shape(**shapes)
            if arg_shapes is None:
                raise MXNetError("FeedForward: Incomplete input shapes")
            if list(arg_shapes) == [tuple(x.shape) for x in self._pred_exec.arg_arrays]:
                return
        pred_exec = self.symbol.simple_bind(self.ctx[0], grad_req="null", type_dict=type_dict,
                                            **shapes)
        pred_exec.copy_params_from(self.arg_params, self.aux_params)
        _check_arguments(self.symbol)
        self._pred_exec = pred_exec

    def _init_iter(self, X: Any, y: Any, is_train: bool) -> Any:
        """A DataIter over ``X`` (and ``y``): arrays become an NDArrayIter (shuffled with
        ``roll_over`` batches for training)."""
        import numpy as np

        from . import io
        from .ndarray.ndarray import NDArray

        if isinstance(X, (np.ndarray, NDArray)):
            if y is None:
                if is_train:
                    raise MXNetError("y must be specified when X is numpy.ndarray")
                y = np.zeros(X.shape[0])
            if not isinstance(y, (np.ndarray, NDArray)):
                raise MXNetError("y must be ndarray when X is numpy.ndarray")
            if X.shape[0] != y.shape[0]:
                raise MXNetError("The numbers of data points and labels not equal")
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.flatten()
            if y.ndim != 1:
                raise MXNetError("Label must be 1D or 2D (with 2nd dimension being 1)")
            batch_size = min(X.shape[0], self.numpy_batch_size)
            if is_train:
                return io.NDArrayIter(X, y, batch_size, shuffle=True,
                                      last_batch_handle="roll_over")
            return io.NDArrayIter(X, y, batch_size, shuffle=False)
        if not isinstance(X, io.DataIter):
            raise MXNetError("X must be DataIter, NDArray or numpy.ndarray")
        return X

    def _init_eval_iter(self, eval_data: Any) -> Any:
        from . import io

        if eval_data is None:
            return None
        if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2:
            import numpy as np

            if eval_data[0] is None:
                raise MXNetError("Eval data is NONE")
            if eval_data[1] is None and isinstance(eval_data[0], io.DataIter):
                return eval_data[0]
            data = np.array(eval_data[0]) if isinstance(eval_data[0], list) else eval_data[0]
            label = np.array(eval_data[1]) if isinstance(eval_data[1], list) else eval_data[1]
            return self._init_iter(data, label, is_train=True)
        if not isinstance(eval_data, io.DataIter):
            raise MXNetError("Eval data must be DataIter, or NDArray/numpy.ndarray/list pair "
                             "(i.e. tuple/list of length 2)")
        return eval_data

    def _input_types(self, provide_data: list) -> dict:
        import numpy as np

        from .io import DataDesc

        type_dict = {k: v.dtype for k, v in self.arg_params.items()}
        for x in provide_data:
            if isinstance(x, DataDesc):
                type_dict[x.name] = x.dtype
            else:
                type_dict[x[0]] = np.float32
        return type_dict

    def predict(self, X: Any, num_batch: int | None = None, return_data: bool = False,
                reset: bool = True) -> Any:
        """The outputs over ``X`` (a DataIter or an array), padding dropped, as numpy arrays
        (one array, or a list with several outputs); with ``return_data``
        ``(outputs, data, label)``. Runs on the first device."""
        import numpy as np

        X = self._init_iter(X, None, is_train=False)
        if reset:
            X.reset()
        data_shapes = X.provide_data
        data_names = [x[0] for x in data_shapes]
        self._init_predictor(data_shapes, self._input_types(data_shapes))
        batch_size = X.batch_size
        data_arrays = [self._pred_exec.arg_dict[name] for name in data_names]
        output_list: list[list] = [[] for _ in self._pred_exec.outputs]
        data_list: list[list] = [[] for _ in X.provide_data]
        label_list: list[list] = [[] for _ in X.provide_label]
        i = 0
        for batch in X:
            _load_data(batch, data_arrays)
            self._pred_exec.forward(is_train=False)
            real_size = batch_size - (batch.pad or 0)
            for o_list, o_nd in zip(output_list, self._pred_exec.outputs):
                o_list.append(o_nd[0:real_size].asnumpy())
            if return_data:
                for j, x in enumerate(batch.data):
                    data_list[j].append(x[0:real_size].asnumpy())
                for j, x in enumerate(batch.label):
                    label_list[j].append(x[0:real_size].asnumpy())
            i += 1
            if num_batch is not None and i == num_batch:
                break
        outputs = [np.concatenate(x) for x in output_list]
        if len(outputs) == 1:
            outputs = outputs[0]
        if not return_data:
            return outputs
        data = [np.concatenate(x) for x in data_list]
        label = [np.concatenate(x) for x in label_list]
        return (outputs, data[0] if len(data) == 1 else data,
                label[0] if len(label) == 1 else label)

    def score(self, X: Any, eval_metric: Any = "acc", num_batch: int | None = None,
              batch_end_callback: Any = None, reset: bool = True) -> float:
        """``eval_metric`` over ``X`` (padding included, as MXNet counts it): the value."""
        from . import metric

        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        X = self._init_iter(X, None, is_train=False)
        if reset:
            X.reset()
        data_shapes = X.provide_data
        data_names = [x[0] for x in data_shapes]
        self._init_predictor(data_shapes, self._input_types(data_shapes))
        data_arrays = [self._pred_exec.arg_dict[name] for name in data_names]
        for i, batch in enumerate(X):
            if num_batch is not None and i == num_batch:
                break
            _load_data(batch, data_arrays)
            self._pred_exec.forward(is_train=False)
            eval_metric.update(batch.label, self._pred_exec.outputs)
            if batch_end_callback is not None:
                _multiple_callbacks(batch_end_callback,
                                    BatchEndParam(epoch=0, nbatch=i, eval_metric=eval_metric,
                                                  locals=locals()))
        return eval_metric.get()[1]

    def fit(self, X: Any, y: Any = None, eval_data: Any = None, eval_metric: Any = "acc",
            epoch_end_callback: Any = None, batch_end_callback: Any = None,
            kvstore: Any = "local", logger: Any = None, work_load_list: Any = None,
            monitor: Any = None, eval_end_callback: Any = _LOG_VALIDATION,
            eval_batch_end_callback: Any = None) -> None:
        """Train the model.

        Parameters
        ----------
        X : DataIter, numpy.ndarray or NDArray
            Training data (with ``y`` the labels, 1-D or (n, 1), when an array).
        y : numpy.ndarray or NDArray, optional
        eval_data : DataIter or (data, label) pair, optional
            Evaluated after each epoch.
        eval_metric : str or EvalMetric
        epoch_end_callback : callable(epoch, symbol, arg_params, aux_params) or list
        batch_end_callback : callable(BatchEndParam) or list
        kvstore : str or KVStore
        logger : Logger, optional
        work_load_list : list of number, optional
        monitor : Monitor, optional
        eval_end_callback, eval_batch_end_callback : callable or list
            Called after the evaluation / each evaluation batch (default: log the
            validation metric).

        ``self.arg_params`` / ``self.aux_params`` hold the trained values after the last
        epoch (and after every epoch when there is an ``epoch_end_callback``).
        """
        from . import metric
        from . import optimizer as opt
        from .module import BucketingModule, Module

        if logger is None:
            logger = logging
        data = self._init_iter(X, y, is_train=True)
        eval_data = self._init_eval_iter(eval_data)
        if self.sym_gen:
            self.symbol = self.sym_gen(data.default_bucket_key)
            self._check_arguments()
        self.kwargs["sym"] = self.symbol
        _, param_names, _ = self._init_params(data.provide_data + data.provide_label)
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        kv, update_on_kvstore = _create_kvstore(kvstore, len(self.ctx), self.arg_params)
        param_idx2name: dict = {}
        if update_on_kvstore:
            param_idx2name.update(enumerate(param_names))
        else:
            for i, n in enumerate(param_names):
                for k in range(len(self.ctx)):
                    param_idx2name[i * len(self.ctx) + k] = n
        self.kwargs["param_idx2name"] = param_idx2name
        if isinstance(self.optimizer, str):
            batch_size = data.batch_size
            if kv is not None and "dist" in kv.type and "_async" not in kv.type:
                batch_size *= kv.num_workers
            optimizer = opt.create(self.optimizer, rescale_grad=1.0 / batch_size,
                                   **self.kwargs)
        elif isinstance(self.optimizer, opt.Optimizer):
            optimizer = self.optimizer
            if not optimizer.idx2name:
                optimizer.idx2name = param_idx2name.copy()
        else:
            raise MXNetError(f"FeedForward: optimizer must be a name or an Optimizer, got "
                             f"{type(self.optimizer).__name__}")

        data_names = [x[0] for x in data.provide_data]
        label_names = [x[0] for x in data.provide_label]
        if self.sym_gen:
            sym_gen = self.sym_gen
            mod: Any = BucketingModule(lambda key: (sym_gen(key), data_names, label_names),
                                       default_bucket_key=data.default_bucket_key,
                                       logger=logger, context=self.ctx,
                                       work_load_list=work_load_list)
        else:
            mod = Module(self.symbol, data_names=data_names, label_names=label_names,
                         logger=logger, context=self.ctx, work_load_list=work_load_list)
        mod.bind(data.provide_data, data.provide_label, for_training=True)
        if monitor is not None:
            mod.install_monitor(monitor)
        mod.init_params(initializer=None, arg_params=self.arg_params,
                        aux_params=self.aux_params)
        with warnings.catch_warnings():  # the optimizer's rescale_grad is MXNet's own choice
            warnings.simplefilter("ignore", UserWarning)
            mod.init_optimizer(kvstore=kv, optimizer=optimizer)
        self._train(mod, data, eval_data, eval_metric, epoch_end_callback, batch_end_callback,
                    logger, monitor, eval_end_callback, eval_batch_end_callback)

    def _train(self, mod: Any, train_data: Any, eval_data: Any, eval_metric: Any,
               epoch_end_callback: Any, batch_end_callback: Any, logger: Any, monitor: Any,
               eval_end_callback: Any, eval_batch_end_callback: Any) -> None:
        """MXNet's ``_train_multi_device`` loop over the module's intermediate API."""
        end_epoch = self.num_epoch
        if end_epoch is None:
            raise MXNetError("FeedForward.fit: num_epoch is not set")
        train_data.reset()
        for epoch in range(self.begin_epoch, end_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            while True:
                do_reset = True
                for data_batch in train_data:
                    if monitor is not None:
                        monitor.tic()
                    mod.forward(data_batch, is_train=True)
                    mod.backward()
                    mod.update()
                    if monitor is not None:
                        monitor.toc_print()
                    mod.update_metric(eval_metric, data_batch.label)
                    nbatch += 1
                    if batch_end_callback is not None:
                        _multiple_callbacks(batch_end_callback,
                                            BatchEndParam(epoch=epoch, nbatch=nbatch,
                                                          eval_metric=eval_metric,
                                                          locals=locals()))
                    if self.epoch_size is not None and nbatch >= self.epoch_size:
                        do_reset = False
                        break
                if do_reset:
                    logger.info("Epoch[%d] Resetting Data Iterator", epoch)
                    train_data.reset()
                if self.epoch_size is None or nbatch >= self.epoch_size:
                    break
            logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
            if epoch_end_callback or epoch + 1 == end_epoch:
                # In place, as MXNet's executor manager copies into the model's arrays.
                arg, aux = mod.get_params()
                for src, dst in ((arg, self.arg_params), (aux, self.aux_params)):
                    for name, value in src.items():
                        if name in dst:
                            dst[name][:] = value
            _multiple_callbacks(epoch_end_callback, epoch, self.symbol, self.arg_params,
                                self.aux_params)
            if eval_data:
                eval_metric.reset()
                eval_data.reset()
                total_num_batch = 0
                for i, eval_batch in enumerate(eval_data):
                    mod.forward(eval_batch, is_train=False)
                    mod.update_metric(eval_metric, eval_batch.label)
                    if eval_batch_end_callback is not None:
                        _multiple_callbacks(eval_batch_end_callback,
                                            BatchEndParam(epoch=epoch, nbatch=i,
                                                          eval_metric=eval_metric,
                                                          locals=locals()))
                    total_num_batch += 1
                if eval_end_callback is not None:
                    _multiple_callbacks(eval_end_callback,
                                        BatchEndParam(epoch=epoch, nbatch=total_num_batch,
                                                      eval_metric=eval_metric,
                                                      locals=locals()))
                eval_data.reset()
        self._pred_exec = None  # the parameters changed: predict binds afresh

    def save(self, prefix: str, epoch: int | None = None, remove_amp_cast: bool = True,
             storage_options: Options = None) -> None:
        """Save ``prefix-symbol.json`` and ``prefix-%04d.params`` (``epoch`` defaults to
        ``num_epoch``)."""
        if epoch is None:
            epoch = self.num_epoch
        if epoch is None:
            raise MXNetError("FeedForward.save: give epoch (num_epoch is not set)")
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params,
                        remove_amp_cast=remove_amp_cast, storage_options=storage_options)

    @staticmethod
    def load(prefix: str, epoch: int, ctx: Any = None, **kwargs: Any) -> FeedForward:
        """A FeedForward over a checkpoint (``begin_epoch=epoch``); ``kwargs`` go to the
        constructor (``num_epoch``, ``optimizer``, ``numpy_batch_size`` ...)."""
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params,
                           begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol: Any, X: Any, y: Any = None, ctx: Any = None,
               num_epoch: int | None = None, epoch_size: int | None = None,
               optimizer: Any = "sgd", initializer: Any = None, eval_data: Any = None,
               eval_metric: Any = "acc", epoch_end_callback: Any = None,
               batch_end_callback: Any = None, kvstore: Any = "local", logger: Any = None,
               work_load_list: Any = None, eval_end_callback: Any = _LOG_VALIDATION,
               eval_batch_end_callback: Any = None, **kwargs: Any) -> FeedForward:
        """Construct a FeedForward and ``fit`` it on ``X`` / ``y`` (the functional style)."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size,
                            optimizer=optimizer, initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric,
                  epoch_end_callback=epoch_end_callback,
                  batch_end_callback=batch_end_callback, kvstore=kvstore, logger=logger,
                  work_load_list=work_load_list, eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model
