"""``BaseModule``: the Module API's high-level loops (``fit``, ``score``, ``predict``) written
once over the intermediate API (``bind``, ``forward``, ``backward``, ``update``, ...) that a
concrete module implements, as MXNet 1.9.1's ``mxnet.module.base_module`` defines them.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import metric
from .. import ndarray as nd
from ..base import MXNetError
from ..callback import BatchEndParam
from ..initializer import Uniform
from ..io import DataBatch, DataDesc, DataIter
from ..ndarray.ndarray import NDArray

__all__ = ["BaseModule"]

# MXNet's default initializer (one shared instance, as its default argument is).
_DEFAULT_INIT = Uniform(0.01)


class ModuleValueError(MXNetError, ValueError):
    """Input MXNet's modules refuse with ``ValueError`` (names that do not match the symbol)."""


def _as_list(obj: Any) -> list:
    """``obj`` if it is a list, else ``[obj]``."""
    return obj if isinstance(obj, list) else [obj]


def _check_input_names(symbol: Any, names: Sequence[str], typename: str, throw: bool) -> None:
    """Every name must be an argument of ``symbol``: a ValueError (``throw``) or a warning."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma", "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={list(names)}) but input "
               f"with name '{name}' is not found in symbol.list_arguments(). Did you mean one "
               "of:\n\t" + "\n\t".join(candidates))
        if throw:
            raise ModuleValueError(msg)
        warnings.warn(msg, stacklevel=3)


def _check_names_match(names: Sequence[str], shapes: Sequence[DataDesc], what: str,
                       throw: bool) -> None:
    actual = [x[0] for x in shapes]
    if sorted(names) != sorted(actual):
        msg = (f"Data provided by {what}_shapes don't match names specified by {what}_names "
               f"({list(shapes)} vs. {list(names)})")
        if throw:
            raise ModuleValueError(msg)
        warnings.warn(msg, stacklevel=4)


class ModuleTypeError(MXNetError, TypeError):
    """A shape that is not a tuple of integers (MXNet raises TypeError)."""


def _as_desc(x: Any, what: str) -> DataDesc:
    if isinstance(x, DataDesc):
        return x
    try:
        name, shape = x[0], x[1]
    except (TypeError, IndexError):
        raise ModuleValueError(f"{what}_shapes: expected DataDesc or (name, shape) pairs, got "
                               f"{x!r}") from None
    # An array where a shape belongs (a common slip) is refused, not read as its values.
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) for d in shape):
        raise ModuleTypeError(f"{what}_shapes: the shape of {name!r} must be a tuple of "
                              f"integers, got {type(shape).__name__} {shape!r}")
    return DataDesc(name, tuple(int(d) for d in shape), *x[2:])


def _parse_data_desc(data_names: Sequence[str], label_names: Sequence[str], data_shapes: Any,
                     label_shapes: Any) -> tuple[list[DataDesc], list[DataDesc] | None]:
    """``data_shapes`` / ``label_shapes`` as DataDescs, their names checked against the
    module's (data names must match; label names only warn, as in MXNet)."""
    data = [_as_desc(x, "data") for x in data_shapes]
    _check_names_match(data_names, data, "data", True)
    if label_shapes is not None:
        labels = [_as_desc(x, "label") for x in label_shapes]
        _check_names_match(label_names, labels, "label", False)
        return data, labels
    _check_names_match(label_names, [], "label", False)
    return data, None


def _num_batches(data: Any) -> int | None:
    """Batches per epoch when the iterator says how many examples it holds (for the bar)."""
    n, bs = getattr(data, "num_data", None), getattr(data, "batch_size", None)
    if not isinstance(n, int) or not isinstance(bs, int) or bs <= 0:
        return None
    if getattr(data, "last_batch_handle", "pad") == "discard":
        return n // bs
    return math.ceil(n / bs)


def _progress_bar(data: Any, epoch: int) -> Any:
    """A tqdm bar over the epoch's batches when stderr is a terminal and tqdm is installed."""
    try:
        if not sys.stderr.isatty():
            return None
        from tqdm import tqdm
    except (ImportError, AttributeError, ValueError):
        return None
    return tqdm(total=_num_batches(data), desc=f"Epoch[{epoch}]", unit="batch", leave=False)


class BaseModule:
    """The base class of modules: a computation "machine" that runs forward and backward and
    updates its parameters.

    A module goes through states: *bound* (``bind``: shapes known, memory allocated),
    *parameters initialized* (``init_params`` / ``set_params``) and *optimizer installed*
    (``init_optimizer``). Flags ``binded``, ``for_training``, ``inputs_need_grad``,
    ``params_initialized`` and ``optimizer_initialized`` say where it is.

    Subclasses implement the intermediate API: ``data_names``, ``output_names``,
    ``data_shapes``, ``label_shapes``, ``output_shapes``, ``get_params``, ``init_params``,
    ``bind``, ``init_optimizer``, ``forward``, ``backward``, ``update``, ``get_outputs``,
    ``get_input_grads``, ``update_metric``. The high-level ``fit``, ``score``, ``predict``
    and ``iter_predict`` come from here.
    """

    def __init__(self, logger: Any = logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol: Any = None
        self._total_exec_bytes = 0

    # -- high-level API --------------------------------------------------------------------

    def forward_backward(self, data_batch: DataBatch) -> None:
        """``forward(data_batch, is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def _check_ready(self, what: str, params: bool = True, optimizer: bool = False) -> None:
        """Refuse ``what`` unless the module is bound (and, as asked, has its parameters
        and its optimizer)."""
        if not self.binded:
            raise MXNetError(f"{what}: the module is not bound; call bind() first")
        if params and not self.params_initialized:
            raise MXNetError(f"{what}: the parameters are not initialized; call init_params() "
                             "or set_params() first")
        if optimizer and not self.optimizer_initialized:
            raise MXNetError(f"{what}: no optimizer installed; call init_optimizer() first")

    def score(self, eval_data: DataIter, eval_metric: Any, num_batch: int | None = None,
              batch_end_callback: Any = None, score_end_callback: Any = None,
              reset: bool = True, epoch: int = 0, sparse_row_id_fn: Any = None) -> list:
        """Run prediction on ``eval_data`` and evaluate it with ``eval_metric``.

        Parameters
        ----------
        eval_data : DataIter
        eval_metric : EvalMetric, str or list
            Anything :func:`mx.metric.create` accepts.
        num_batch : int, optional
            Stop after this many batches (default: the whole iterator).
        batch_end_callback, score_end_callback : callable or list of callables
            Called with a :class:`BatchEndParam` after each batch / at the end.
        reset : bool
            Reset ``eval_data`` first.
        epoch : int
            Passed to the callbacks.

        Returns
        -------
        list of (name, value)
            ``eval_metric.get_name_value()``.
        """
        self._check_ready("score")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)
        eval_metric.reset()
        actual_num_batch = 0
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            if isinstance(eval_batch, list):
                self.update_metric(eval_metric, [eb.label for eb in eval_batch],
                                   pre_sliced=True)
            else:
                self.update_metric(eval_metric, eval_batch.label)
            if batch_end_callback is not None:
                params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                       locals=locals())
                for callback in _as_list(batch_end_callback):
                    callback(params)
            actual_num_batch += 1
        if score_end_callback:
            params = BatchEndParam(epoch=epoch, nbatch=actual_num_batch,
                                   eval_metric=eval_metric, locals=locals())
            for callback in _as_list(score_end_callback):
                callback(params)
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data: DataIter, num_batch: int | None = None,
                     reset: bool = True,
                     sparse_row_id_fn: Any = None) -> Iterator[tuple[list, int, DataBatch]]:
        """Yield ``(outputs, i_batch, batch)`` per batch; ``outputs`` drop the batch's padding.

        The outputs are the module's output arrays (views, valid until the next forward).
        """
        self._check_ready("iter_predict")
        if reset:
            eval_data.reset()
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            outputs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outputs, nbatch, eval_batch

    def predict(self, eval_data: Any, num_batch: int | None = None, merge_batches: bool = True,
                reset: bool = True, always_output_list: bool = False,
                sparse_row_id_fn: Any = None) -> Any:
        """Run prediction and collect the outputs (padding examples dropped).

        With ``merge_batches`` (default) the result is ``[out1, out2, ...]``, each output
        concatenated over the batches, or just ``out1`` when there is one output and
        ``always_output_list`` is False. Without it, a list per batch of its outputs.
        ``eval_data`` may also be one NDArray / numpy array: one forward, first output back.
        """
        self._check_ready("predict")
        if isinstance(eval_data, (NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = nd.array(eval_data)
            self.forward(DataBatch([eval_data]))
            return self.get_outputs()[0]
        if not isinstance(eval_data, DataIter):
            raise ModuleValueError("eval_data must be of type NDArray or DataIter")
        if reset:
            eval_data.reset()
        output_list = []
        for nbatch, eval_batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(eval_batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(eval_batch, is_train=False)
            pad = eval_batch.pad or 0
            output_list.append([out[0:out.shape[0] - pad].copy() for out in self.get_outputs()])
        if not output_list:
            return output_list
        if not merge_batches:
            return output_list
        num_outputs = len(output_list[0])
        if any(len(out) != num_outputs for out in output_list):
            raise MXNetError("Cannot merge batches, as num of outputs is not the same in "
                             "mini-batches. Maybe bucketing is used?")
        merged = [NDArray(np.concatenate([out[i]._data for out in output_list]),
                          output_list[0][i].context) for i in range(num_outputs)]
        if num_outputs == 1 and not always_output_list:
            return merged[0]
        return merged

    def fit(self, train_data: DataIter, eval_data: DataIter | None = None,
            eval_metric: Any = "acc", epoch_end_callback: Any = None,
            batch_end_callback: Any = None, kvstore: Any = "local", optimizer: Any = "sgd",
            optimizer_params: Any = (("learning_rate", 0.01),), eval_end_callback: Any = None,
            eval_batch_end_callback: Any = None, initializer: Any = _DEFAULT_INIT,
            arg_params: dict | None = None, aux_params: dict | None = None,
            allow_missing: bool = False, force_rebind: bool = False, force_init: bool = False,
            begin_epoch: int = 0, num_epoch: int | None = None,
            validation_metric: Any = None, monitor: Any = None,
            sparse_row_id_fn: Any = None, resume: str | None = None) -> None:
        """Train the module's parameters.

        Binds for training (``train_data.provide_data`` / ``provide_label``), initializes the
        parameters (``arg_params`` / ``aux_params`` take precedence over ``initializer``;
        already-initialized parameters are kept unless ``force_init``) and the optimizer,
        then for each epoch in ``range(begin_epoch, num_epoch)``: per batch
        forward/backward, ``update``, ``update_metric`` with the batch's labels, and the
        ``batch_end_callback`` s; then logs ``Epoch[i] Train-<metric>=...`` and
        ``Epoch[i] Time cost=...``, syncs the parameters, calls each
        ``epoch_end_callback(epoch, symbol, arg_params, aux_params)``, scores ``eval_data``
        with ``validation_metric`` (default: ``eval_metric``) logging
        ``Epoch[i] Validation-<metric>=...``, and resets ``train_data``.

        Parameters
        ----------
        train_data : DataIter
        eval_data : DataIter, optional
            Scored after each epoch.
        eval_metric : str or EvalMetric
            The training metric (default ``'acc'``).
        epoch_end_callback, batch_end_callback : callable or list of callables
        kvstore : str, KVStore or None
            ``'local'`` (default), ``'device'``, ``'dist_sync'`` ..., a store, or None: one
            device in one process updates in place; several devices or workers reduce
            through the store (see ``init_optimizer``).
        optimizer : str or Optimizer
        optimizer_params : dict or pairs
            Constructor arguments of the optimizer (default learning rate 0.01).
        eval_end_callback, eval_batch_end_callback : callable or list of callables
            Passed to ``score`` for ``eval_data``.
        initializer : Initializer
        arg_params, aux_params : dict of str to NDArray, optional
        allow_missing : bool
            Parameters missing from ``arg_params`` / ``aux_params`` come from ``initializer``.
        force_rebind, force_init : bool
        begin_epoch : int
            The first epoch's number (resuming from a checkpoint of epoch N: N).
        num_epoch : int
            Train until this epoch number (exclusive).
        validation_metric : str or EvalMetric, optional
        monitor : Monitor, optional
            Installed on the executor; ``tic()`` / ``toc_print()`` around each batch.
        resume : str, optional
            A checkpoint prefix (path or URI): when it has a complete checkpoint, training
            continues from the newest one (``mx.model.resume_state``): its parameters, its
            optimizer states when ``prefix-%04d.states`` exists, and ``begin_epoch`` set to
            its epoch number. Without a checkpoint, training starts as usual.
        """
        if num_epoch is None:
            raise MXNetError("fit: please specify number of epochs (num_epoch)")
        states = None
        if resume is not None:  # continue from the newest complete checkpoint, if any
            from ..model import resume_state

            state = resume_state(resume)
            if state is not None:
                begin_epoch, _, arg_params, aux_params, states = state
                force_init = True
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if states is not None:
            self.load_optimizer_states(states)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, metric.EvalMetric):
            eval_metric = metric.create(eval_metric)

        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            data_iter = iter(train_data)
            end_of_batch = False
            try:
                next_data_batch = next(data_iter)
            except StopIteration:
                raise MXNetError(f"fit: train_data gave no batch in epoch {epoch}; was it "
                                 "reset?") from None
            bar = _progress_bar(train_data, epoch)
            eval_name_vals: list = []
            while not end_of_batch:
                data_batch = next_data_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(data_batch)
                self.update()
                if isinstance(data_batch, list):
                    self.update_metric(eval_metric, [db.label for db in data_batch],
                                       pre_sliced=True)
                else:
                    self.update_metric(eval_metric, data_batch.label)
                try:
                    next_data_batch = next(data_iter)
                    self.prepare(next_data_batch, sparse_row_id_fn=sparse_row_id_fn)
                except StopIteration:
                    end_of_batch = True
                if monitor is not None:
                    monitor.toc_print()
                if end_of_batch:
                    eval_name_vals = eval_metric.get_global_name_value()
                if batch_end_callback is not None:
                    params = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                           locals=locals())
                    for callback in _as_list(batch_end_callback):
                        callback(params)
                if bar is not None:
                    bar.update(1)
                nbatch += 1
            if bar is not None:
                bar.close()

            for name, val in eval_name_vals:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            toc = time.time()
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)

            # Sync the module's parameter copies from the executor (and back, as MXNet does).
            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            if epoch_end_callback is not None:
                for callback in _as_list(epoch_end_callback):
                    callback(epoch, self.symbol, arg_params_, aux_params_)

            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    # -- symbol information ----------------------------------------------------------------

    @property
    def data_names(self) -> list[str]:
        """Names of the data inputs."""
        raise NotImplementedError()

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs."""
        raise NotImplementedError()

    # -- input/output information ------------------------------------------------------------

    @property
    def data_shapes(self) -> list[DataDesc]:
        """The data inputs' DataDescs (after bind)."""
        raise NotImplementedError()

    @property
    def label_shapes(self) -> list[DataDesc] | None:
        """The label inputs' DataDescs (after bind; None when bound without labels)."""
        raise NotImplementedError()

    @property
    def output_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(name, shape)`` of each output (after bind)."""
        raise NotImplementedError()

    # -- parameters ----------------------------------------------------------------------

    def get_params(self) -> tuple[dict, dict]:
        """``(arg_params, aux_params)``: name -> NDArray copies of the parameters."""
        raise NotImplementedError()

    def init_params(self, initializer: Any = _DEFAULT_INIT, arg_params: dict | None = None,
                    aux_params: dict | None = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialize the parameters and auxiliary states."""
        raise NotImplementedError()

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign parameter and aux state values (``init_params`` without an initializer).

        Names missing from the dicts are an error unless ``allow_missing``; names the
        module lacks are an error unless ``allow_extra``.
        """
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    def save_params(self, fname: str, storage_options: dict | None = None) -> None:
        """Save the parameters to ``fname`` as ``arg:<name>`` / ``aux:<name>`` arrays."""
        from ..model import save_param_file

        save_param_file(fname, *self.get_params(), storage_options)

    def load_params(self, fname: str, storage_options: dict | None = None) -> None:
        """Load parameters saved by :meth:`save_params` (or a checkpoint's params file)."""
        from ..model import load_param_file

        self.set_params(*load_param_file(fname, storage_options, strict=True))

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The states of a stateful module (none here)."""
        self._check_ready("get_states")
        if merge_multi_context:
            raise MXNetError("get_states: merge_multi_context=True is not supported")
        return []

    def set_states(self, states: Any = None, value: Any = None) -> None:
        """Set the states of a stateful module (none here)."""
        self._check_ready("set_states")
        if states or value:
            raise MXNetError("set_states: this module has no states")

    def install_monitor(self, mon: Any) -> None:
        """Install a monitor on the executors."""
        raise NotImplementedError()

    def prepare(self, data_batch: DataBatch, sparse_row_id_fn: Callable | None = None) -> None:
        """Prepare for a batch (bucket switching, row_sparse pulls: nothing to do here)."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning("sparse_row_id_fn is not invoked for BaseModule."),
                          stacklevel=2)

    # -- computations --------------------------------------------------------------------

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Forward computation (``is_train`` None: as bound ``for_training``)."""
        raise NotImplementedError()

    def backward(self, out_grads: Any = None) -> None:
        """Backward computation (``out_grads`` needed only for outputs not from a loss)."""
        raise NotImplementedError()

    def get_outputs(self, merge_multi_context: bool = True) -> list[NDArray]:
        """Outputs of the last forward."""
        raise NotImplementedError()

    def get_input_grads(self, merge_multi_context: bool = True) -> list[NDArray]:
        """Gradients of the inputs from the last backward (bind with inputs_need_grad)."""
        raise NotImplementedError()

    def update(self) -> None:
        """Update the parameters with the installed optimizer and the last gradients."""
        raise NotImplementedError()

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Accumulate the last forward's outputs against ``labels`` into ``eval_metric``."""
        raise NotImplementedError()

    # -- module setup --------------------------------------------------------------------

    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Allocate memory for the given input shapes."""
        raise NotImplementedError()

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Install an optimizer."""
        raise NotImplementedError()

    # -- misc ----------------------------------------------------------------------------

    @property
    def symbol(self) -> Any:
        """The module's symbol."""
        return self._symbol
