"""``mx.gluon.Trainer``: applies an optimizer to a set of Parameters, as MXNet 1.9.1 does.

The update path is MXNet's: ``step(batch_size)`` sets the optimizer's ``rescale_grad`` to
``scale / batch_size`` (``scale`` is the optimizer's ``rescale_grad`` when the Trainer was
made), reduces the gradients over the contexts, then hands ``(indices, grads, weights)`` to one
:class:`~mxlite.optimizer.Updater` per context. Parameters are indexed in the order given, or
by sorted name when a dict / ParameterDict is given, and the optimizer sees them through
``param_dict`` (so each Parameter's ``lr_mult`` and ``wd_mult`` apply, read at every update).
``save_states`` / ``load_states`` write and read MXNet's ``.states`` pickle byte for byte.

Key-value stores (``mx.kv``): as in MXNet, parameters on a single context of a single process
use no kvstore whatever ``kvstore`` says ('device', 'local', None, ...). With several contexts
a local store sums the gradients over contexts; with ``update_on_kvstore`` the store keeps its
own copy of each weight, updates it once per step with its own updater and copies it back to
every context. A ``'dist_*'`` (or ``'horovod'``) store sums over the processes of an MPI job
too (see :mod:`mxlite.kvstore.dist`); as in MXNet 1.9.1, ``step(batch_size)`` normalizes by
the ``batch_size`` given, so pass the global batch size for the mean over all workers.

Stale gradients: autograd sets ``_fresh_grad`` on a Parameter's value when a backward writes
its gradient; ``step`` refuses a Parameter whose gradient was not refreshed since the last
step, unless ``ignore_stale_grad`` (then it is skipped and its update count does not move).

Storage types, as MXNet 1.9.1: ``row_sparse`` weights are always updated on a kvstore (made
even for one context, and ``update_on_kvstore=False`` is refused), which holds their full
value; ``Parameter.row_sparse_data`` pulls the rows a batch needs from it
(:meth:`Trainer._row_sparse_pull`) and a step pushes the gradients without pulling the weights
back. ``row_sparse`` gradients of dense weights prefer updating in the Trainer
(``update_on_kvstore`` False unless distributed): over several contexts they are pushed and
pulled back as their row_sparse sum. Optimizers update only the rows a row_sparse gradient
holds when their ``lazy_update`` is on (the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import optimizer as opt
from .. import storage
from ..base import MXNetError
from ..kvstore import KVStoreBase
from ..kvstore import create as kvs_create
from ..kvstore import updates as kvs_updates
from .parameter import Parameter, ParameterDict

__all__ = ["Trainer"]


class TrainerValueError(MXNetError, ValueError):
    """Bad arguments to :class:`Trainer` (a ``ValueError``, as MXNet raises)."""


class TrainerAssertionError(MXNetError, AssertionError):
    """Misuse MXNet's ``Trainer`` guards with ``assert`` (``update()`` when the kvstore
    updates, parameters on different contexts, saving states too early)."""


class StaleGradientError(MXNetError, UserWarning):
    """A Parameter's gradient was not refreshed by a backward since the last ``step``.

    MXNet raises ``UserWarning`` here; this is one, and an ``MXNetError`` too.
    """


class TrainerStateError(MXNetError, UserWarning):
    """The optimizer is missing (MXNet raises ``UserWarning``)."""


def _create_kvstore(kvstore: Any, num_device: int, params: list[Parameter]
                    ) -> tuple[Any, bool]:
    """MXNet's ``model._create_kvstore`` (bad types raise a ``ValueError``)."""
    try:
        return kvs_updates._create_kvstore(kvstore, num_device, params)
    except MXNetError as e:
        if isinstance(kvstore, (str, KVStoreBase)) or kvstore is None:
            raise
        raise TrainerValueError(str(e)) from None


class Trainer:
    """Applies an ``Optimizer`` on a set of Parameters; use it together with ``autograd``.

    Parameters
    ----------
    params : ParameterDict, dict of str to Parameter, or list of Parameter
        The Parameters to optimize. A dict is taken in sorted key order, which fixes each
        Parameter's index in the optimizer (and in ``.states`` files).
    optimizer : str or Optimizer
        The optimizer, by name (``'sgd'``) or as an instance.
    optimizer_params : dict, optional
        Keyword arguments of the optimizer's constructor (``{'learning_rate': 0.1}``); must be
        empty when ``optimizer`` is an instance.
    kvstore : str or KVStore, default 'device'
        How gradients are reduced over several contexts. One context uses no kvstore.
    compression_params : dict, optional
        Gradient compression (``{'type': '2bit', 'threshold': 0.5}``) for the kvstore in use
        (none is used on one context).
    update_on_kvstore : bool, optional
        Whether the kvstore applies the updates. None chooses as MXNet does (the
        ``MXNET_UPDATE_ON_KVSTORE`` environment variable, default 1, when a kvstore is used).
        True without a kvstore (one context) is refused, where MXNet 1.9.1 fails with an
        AttributeError.
    """

    def __init__(self, params: Any, optimizer: str | opt.Optimizer,
                 optimizer_params: Mapping[str, Any] | None = None,
                 kvstore: Any = "device", compression_params: Mapping | None = None,
                 update_on_kvstore: bool | None = None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise TrainerValueError(f"First argument must be a list or dict of Parameters, "
                                    f"got {type(params)}.")
        self._params: list[Parameter] = []
        self._param2idx: dict[str, int] = {}
        for i, param in enumerate(params):
            if not isinstance(param, Parameter):
                raise TrainerValueError(f"First argument must be a list or dict of "
                                        f"Parameters, got list of {type(param)}.")
            self._param2idx[param.name] = i
            self._params.append(param)
            param._set_trainer(self)
        self._compression_params = compression_params
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, dict(optimizer_params) if optimizer_params else {})
        self._scale = self._optimizer.rescale_grad
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        self._kv_initialized = False
        self._kvstore: Any = None
        self._update_on_kvstore: bool | None = None
        self._distributed: bool | None = None
        self._params_to_init: list[Parameter] = []
        self._reset_kvstore()

    # -- set-up ------------------------------------------------------------------------------

    def _check_contexts(self) -> list:
        contexts = None
        for param in self._params:
            ctx = param.list_ctx()
            if contexts is not None and contexts != ctx:
                raise TrainerAssertionError(
                    f"All Parameters must be initialized on the same set of contexts, but "
                    f"Parameter {param.name} is initialized on {ctx} while previous "
                    f"Parameters are initialized on {contexts}.")
            contexts = ctx
        return contexts or []

    def _init_optimizer(self, optimizer: str | opt.Optimizer,
                        optimizer_params: dict[str, Any]) -> None:
        # The optimizer reads lr_mult / wd_mult from the live Parameters at each update.
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise TrainerValueError("optimizer_params must be None if optimizer is an "
                                        "instance of Optimizer instead of str")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        elif isinstance(optimizer, str):
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        else:
            raise TrainerValueError(f"optimizer must be a str or an Optimizer, got "
                                    f"{type(optimizer).__name__}")
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]

    def _reset_kvstore(self) -> None:
        """Forget the kvstore; it is made again (with the current weights) at the next step."""
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)

    def _init_kvstore(self) -> None:
        config = self._kvstore_params
        if any(p._stype != "default" for p in self._params):
            self._init_sparse_weight_kvstore(config)
            return
        kvstore, update_on_kvstore = _create_kvstore(config["kvstore"], len(self._contexts),
                                                     self._params)
        self._distributed = kvstore is not None and "dist" in kvstore.type
        if any(p._grad_stype != "default" for p in self._params):
            # Dense weights, sparse gradients: updating here is faster on one machine. As
            # in MXNet, an update_on_kvstore asked for without a kvstore (one context) is
            # ignored here.
            update_on_kvstore = self._distributed
            if config["update_on_kvstore"] is not None:
                if config["update_on_kvstore"] is False and self._distributed:
                    raise TrainerValueError("Cannot set update_on_kvstore=False on dist "
                                            "kvstore when sparse gradients are present.")
                update_on_kvstore = bool(config["update_on_kvstore"])
            self._finish_kvstore(kvstore, update_on_kvstore)
            return
        if self._distributed and "async" in kvstore.type:
            update_on_kvstore = True
            if config["update_on_kvstore"] is False:
                raise TrainerValueError("Please set update_on_kvstore=True when training in "
                                        "async mode.")
        if config["update_on_kvstore"] is not None:
            update_on_kvstore = bool(config["update_on_kvstore"])
        if update_on_kvstore and kvstore is None:
            raise TrainerValueError(
                "update_on_kvstore=True needs a kvstore, but this Trainer uses none (its "
                f"Parameters are on the single context {self._contexts}, or kvstore=None): "
                "leave update_on_kvstore None or set it False")
        if update_on_kvstore and not kvstore.is_capable("optimizer"):
            raise TrainerValueError(f"Please set update_on_kvstore=False when training with "
                                    f"{type(kvstore)}")
        self._finish_kvstore(kvstore, update_on_kvstore)

    def _finish_kvstore(self, kvstore: Any, update_on_kvstore: bool) -> None:
        if kvstore is not None:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kvstore.set_optimizer(self._optimizer)
            self._kvstore = kvstore
            self._update_on_kvstore = update_on_kvstore
        else:
            self._kvstore = None
            self._update_on_kvstore = None
        self._kv_initialized = True

    def _init_sparse_weight_kvstore(self, config: dict) -> None:
        """MXNet's ``_create_sparse_kvstore``: row_sparse weights live on a kvstore that
        updates them, whatever the number of contexts."""
        kv = config["kvstore"]
        if isinstance(kv, str):
            kv = kvs_create(kv)
        elif not isinstance(kv, KVStoreBase):
            raise TrainerValueError(f"Cannot create '{kv}' KVStore with row_sparse parameters. "
                                    "The type must be KVStore or str.")
        if not kv.is_capable("optimizer"):
            raise TrainerAssertionError(
                "KVStore with sparse weight requires optimizer support. However, type(kv) "
                "does not support optimizer. Please consider other kvstore backends (e.g. "
                "dist_device) instead.")
        if config["update_on_kvstore"] is False:
            raise TrainerValueError("Cannot set update_on_kvstore=False when sparse weights "
                                    "are present.")
        self._distributed = "dist" in kv.type
        if self._compression_params:
            kv.set_gradient_compression(self._compression_params)
        kv.set_optimizer(self._optimizer)
        self._kvstore = kv
        self._update_on_kvstore = True
        self._kv_initialized = True

    def _init_params(self) -> None:
        """Copy the weights into the kvstore (deferred-init Parameters wait their turn)."""
        pending = []
        if self._kvstore is not None:
            for param in self._params_to_init:
                if param._deferred_init:
                    pending.append(param)
                    continue
                arrays = param._all_data()
                idx = self._param2idx[param.name]
                if param._stype != "default":
                    # the store keeps the full value; contexts pull the rows they need
                    self._kvstore.init(idx, arrays[0])
                else:
                    self._kvstore.broadcast(idx, arrays[0], arrays)
        self._params_to_init = pending

    def _prepare(self) -> None:
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()

    def _row_sparse_pull(self, parameter: Parameter, out: Any, row_id: Any,
                         full_idx: bool = False) -> None:
        """Pull the rows ``row_id`` of ``parameter``'s value from the kvstore into the
        RowSparseNDArray(s) ``out`` (MXNet's ``Trainer._row_sparse_pull``); ``full_idx``
        says ``row_id`` is every row.

        MXNet pulls the whole stored value for ``full_idx``; mxlite's store keeps the weight
        dense, so pulling every row by id is what keeps every row stored, as MXNet's
        row_sparse value does (zero rows included)."""
        self._prepare()
        idx = self._param2idx[parameter.name]
        self._kvstore.row_sparse_pull(idx, out=out, row_ids=row_id, priority=-idx)

    # -- learning rate -----------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        """The optimizer's current learning rate."""
        return self.optimizer.learning_rate

    @property
    def optimizer(self) -> opt.Optimizer:
        """The Optimizer (after ``load_states``: the one loaded from the file)."""
        if not isinstance(self._optimizer, opt.Optimizer):
            raise TrainerStateError("Optimizer has not been initialized yet")
        return self._optimizer

    def set_learning_rate(self, lr: float) -> None:
        """Set the optimizer's learning rate (refused when an lr_scheduler owns it)."""
        self.optimizer.set_learning_rate(lr)

    # -- updates -----------------------------------------------------------------------------

    def _check_and_rescale_grad(self, scale: float) -> None:
        self._optimizer.rescale_grad = scale

    def step(self, batch_size: int | float, ignore_stale_grad: bool = False) -> None:
        """One update of every Parameter, from gradients normalized by ``1 / batch_size``.

        Call after ``autograd.backward()``, outside ``record()``. Equivalent to
        :meth:`allreduce_grads` then :meth:`update`. A Parameter whose gradient no backward
        refreshed since the last step raises (a ``UserWarning``, as in MXNet) unless
        ``ignore_stale_grad``, which skips it instead.
        """
        self._check_and_rescale_grad(self._scale / batch_size)
        self._prepare()
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self) -> None:
        """Sum each Parameter's gradients over its contexts (in place, on every context).

        For gradient transformations (clipping) between the reduction and :meth:`update`;
        not available when the kvstore applies the updates.
        """
        self._prepare()
        self._refuse_on_kvstore("allreduce_grads")
        self._allreduce_grads()

    def update(self, batch_size: int | float, ignore_stale_grad: bool = False) -> None:
        """The update half of :meth:`step` (after :meth:`allreduce_grads`)."""
        self._prepare()
        self._refuse_on_kvstore("update")
        self._check_and_rescale_grad(self._scale / batch_size)
        self._update(ignore_stale_grad)

    def _refuse_on_kvstore(self, what: str) -> None:
        if self._kvstore is not None and self._update_on_kvstore:
            raise TrainerAssertionError(f"{what}() when parameters are updated on kvstore is not "
                                        "supported. Try setting `update_on_kvstore` to False when "
                                        "creating trainer.")

    def _allreduce_grads(self) -> None:
        if self._kvstore is None:
            return
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            grads = param.list_grad()
            if grads[0].stype != "default":
                # Sparse gradients are pushed, then the dense weights (updates on the store)
                # or the summed gradients pulled back; a row_sparse weight is pulled by the
                # next row_sparse_data().
                self._kvstore.push(i, grads, priority=-i)
                if param._stype == "default":
                    pull_list = param._all_data() if self._update_on_kvstore else grads
                    self._kvstore.pull(i, pull_list, priority=-i,
                                       ignore_sparse=self._distributed)
            elif self._update_on_kvstore:
                self._kvstore.pushpull(i, grads, out=param._all_data(), priority=-i)
            else:
                self._kvstore.pushpull(i, grads, priority=-i)

    def _update(self, ignore_stale_grad: bool = False) -> None:
        loss_scaler = getattr(self, "_amp_loss_scaler", None)
        if loss_scaler is not None and loss_scaler.has_overflow(self._params):
            return  # AMP: skip the step on overflow
        on_kvstore = self._kvstore is not None and self._update_on_kvstore
        updates: list[list[tuple]] = [[] for _ in self._updaters]
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            # MXNet checks and clears parameter by parameter: a refusal leaves the fresh
            # flags of the Parameters before this one already cleared.
            if not ignore_stale_grad:
                for data in param._all_data():
                    if not data._fresh_grad:
                        raise StaleGradientError(
                            f"Gradient of Parameter `{param.name}` on context {data.context} "
                            "has not been updated by backward since last `step`. This could "
                            "mean a bug in your model that made it only use a subset of the "
                            "Parameters (Blocks) for this iteration. If you are intentionally "
                            "only using a subset, call step with ignore_stale_grad=True to "
                            "suppress this warning and skip updating of Parameters with stale "
                            "gradient")
            if on_kvstore:
                continue
            for upd, arr, grad in zip(updates, param._all_data(), param.list_grad()):
                if not ignore_stale_grad or arr._fresh_grad:
                    upd.append((i, grad, arr))
                    arr._fresh_grad = False
        if on_kvstore:
            return
        for updater, upd in zip(self._updaters, updates):
            if upd:
                indices, grads, weights = zip(*upd)
                updater(list(indices), list(grads), list(weights))

    # -- states ------------------------------------------------------------------------------

    def save_states(self, fname: str, storage_options: Mapping | None = None) -> None:
        """Write the optimizer and its states (momentum, ...) to ``fname``: MXNet's
        ``.states`` pickle, byte for byte. ``fname`` may be an fsspec URI (with
        ``storage_options``); the write is atomic.

        The Parameters' ``lr_mult`` / ``wd_mult`` are not saved.
        """
        self._prepare()
        if self._update_on_kvstore:
            if self._params_to_init:
                raise TrainerAssertionError("Cannot save trainer states when some parameters "
                                            "are not yet initialized in kvstore.")
            updater = self._kvstore._updater
        else:
            updater = self._updaters[0]
        storage.write_bytes_atomic(fname, updater.get_states(dump_optimizer=True),
                                   storage_options)

    def load_states(self, fname: str, storage_options: Mapping | None = None) -> None:
        """Load the optimizer and its states from a ``.states`` file (MXNet's or mxlite's).

        The loaded optimizer replaces the Trainer's; it reads ``lr_mult`` / ``wd_mult`` from
        this Trainer's Parameters.
        """
        self._prepare()
        states = storage.read_bytes(fname, storage_options)
        if self._update_on_kvstore:
            self._kvstore._updater.set_states(states, source=str(fname))
            self._optimizer = self._kvstore._updater.optimizer
        else:
            for updater in self._updaters:
                updater.set_states(states, source=str(fname))
                updater.optimizer = self._updaters[0].optimizer
            self._optimizer = self._updaters[0].optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))
