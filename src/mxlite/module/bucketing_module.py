"""``BucketingModule``: one Module per bucket (e.g. per sequence length), all sharing the
default bucket's parameters, gradients and optimizer (MXNet 1.9.1's
``mxnet.module.BucketingModule``).

``sym_gen(bucket_key)`` returns ``(symbol, data_names, label_names)`` for a bucket. The
default bucket is bound by ``bind``; any other bucket is bound on first use (``forward``,
``prepare`` or ``switch_bucket``) with the default bucket as its ``shared_module``, so
arrays of the same name and shape are the same arrays and an update made through one
bucket is seen by all of them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ndarray as nd
from ..base import MXNetError
from ..context import cpu
from ..io import DataBatch
from ..name import NameManager
from .base_module import _DEFAULT_INIT, BaseModule, _check_input_names
from .module import Module

__all__ = ["BucketingModule"]


class BucketingModule(BaseModule):
    """A module that switches between buckets of one network whose shape depends on a key.

    Parameters
    ----------
    sym_gen : callable
        ``sym_gen(bucket_key)`` -> ``(symbol, data_names, label_names)``.
    default_bucket_key : hashable
        The key of the default (largest) bucket: its module owns the parameters.
    logger : Logger
    context : Context or list of Context
        Defaults to ``mx.cpu()``.
    work_load_list : list of number, optional
    fixed_param_names : list of str, optional
        Parameters never updated.
    state_names : list of str, optional
        Arguments that are states set by ``set_states``.
    group2ctxs
        Accepted for compatibility (every array is on the host).
    compression_params : dict, optional
        Gradient compression for the kvstore (``{'type': '2bit', 'threshold': 0.5}``).
    """

    def __init__(self, sym_gen: Callable, default_bucket_key: Any = None,
                 logger: Any = logging, context: Any = None, work_load_list: Any = None,
                 fixed_param_names: Any = None, state_names: Any = None,
                 group2ctxs: Any = None, compression_params: Any = None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise MXNetError("BucketingModule: default_bucket_key is required")
        if not callable(sym_gen):
            raise MXNetError(f"BucketingModule: sym_gen must be callable, got "
                             f"{type(sym_gen).__name__}")
        self._default_bucket_key = default_bucket_key
        self._sym_gen = sym_gen
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)
        self._compression_params = compression_params
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        self._context = context if context is not None else cpu()
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._buckets: dict[Any, Module] = {}
        self._curr_module: Module | None = None
        self._curr_bucket_key: Any = None
        self._params_dirty = False
        self._monitor: Any = None
        self._grad_req: Any = None

    def _reset_bind(self) -> None:
        self.binded = False
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None

    def _call_sym_gen(self, *args: Any, **kwargs: Any) -> tuple:
        # A fresh name scope per call, so automatic names (fullyconnected0 ...) are the same
        # in every bucket and the buckets share their parameters by name.
        with NameManager():
            out = self._sym_gen(*args, **kwargs)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise MXNetError("BucketingModule: sym_gen must return (symbol, data_names, "
                             f"label_names), got {type(out).__name__}")
        return out

    def _new_module(self, symbol: Any, data_names: Any, label_names: Any) -> Module:
        return Module(symbol, data_names, label_names, logger=self.logger,
                      context=self._context, work_load_list=self._work_load_list,
                      fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names, group2ctxs=self._group2ctxs,
                      compression_params=self._compression_params)

    # -- information -----------------------------------------------------------------------

    @property
    def data_names(self) -> list[str]:
        """The current bucket's data names (the default bucket's before ``bind``)."""
        if self.binded:
            return self._curr_module.data_names
        return self._call_sym_gen(self._default_bucket_key)[1]

    @property
    def output_names(self) -> list[str]:
        """The current bucket's output names (the default bucket's before ``bind``)."""
        if self.binded:
            return self._curr_module.output_names
        return self._call_sym_gen(self._default_bucket_key)[0].list_outputs()

    @property
    def data_shapes(self) -> list:
        """The current bucket's data DataDescs."""
        self._check_ready("data_shapes", params=False)
        return self._curr_module.data_shapes

    @property
    def label_shapes(self) -> list | None:
        """The current bucket's label DataDescs (None without labels)."""
        self._check_ready("label_shapes", params=False)
        return self._curr_module.label_shapes

    @property
    def output_shapes(self) -> list:
        """The current bucket's ``(name, shape)`` outputs."""
        self._check_ready("output_shapes", params=False)
        return self._curr_module.output_shapes

    @property
    def symbol(self) -> Any:
        """The symbol of the current bucket."""
        self._check_ready("symbol", params=False)
        return self._curr_module.symbol

    # -- parameters ------------------------------------------------------------------------

    def get_params(self) -> tuple[dict, dict]:
        """``(arg_params, aux_params)``: the shared parameters, from the current bucket."""
        if not self.params_initialized:
            raise MXNetError("get_params: the parameters are not initialized")
        # The buckets share their arrays, so whichever bucket updated them last, the
        # current one reads the latest values once told they changed.
        self._curr_module._params_dirty = self._curr_module._params_dirty or self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign parameter and aux state values (see :meth:`Module.set_params`)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "set_params call ignored.", stacklevel=2)
            return
        self._curr_module.set_params(arg_params, aux_params, allow_missing=allow_missing,
                                     force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_params(self, initializer: Any = _DEFAULT_INIT, arg_params: dict | None = None,
                    aux_params: dict | None = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialize the parameters (through the current bucket, whose arrays every bucket
        shares)."""
        if self.params_initialized and not force_init:
            return
        self._check_ready("init_params", params=False)
        self._curr_module.init_params(initializer=initializer, arg_params=arg_params,
                                      aux_params=aux_params, allow_missing=allow_missing,
                                      force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The current bucket's states."""
        self._check_ready("get_states")
        return self._curr_module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states: Any = None, value: Any = None) -> None:
        """Set the current bucket's states."""
        self._check_ready("set_states")
        self._curr_module.set_states(states, value)

    # -- binding ---------------------------------------------------------------------------

    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Bind the default bucket for ``data_shapes`` / ``label_shapes`` (the default
        bucket's); other buckets are bound when first used.

        ``shared_module`` is not supported (as in MXNet). Already initialized parameters
        are kept across a ``force_rebind``.
        """
        arg_params = aux_params = None
        if self.params_initialized:
            arg_params, aux_params = self.get_params()
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise MXNetError("bind: shared_module for BucketingModule is not supported")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        symbol, data_names, label_names = self._call_sym_gen(self._default_bucket_key)
        module = self._buckets.get(self._default_bucket_key)
        if module is None:
            module = self._new_module(symbol, data_names, label_names)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                    force_rebind=False, shared_module=None, grad_req=self._grad_req)
        self.binded = True
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self.params_initialized:
            self.set_params(arg_params, aux_params)

    def switch_bucket(self, bucket_key: Any, data_shapes: Any, label_shapes: Any = None
                      ) -> None:
        """Make ``bucket_key`` the current bucket, generating and binding its module (sharing
        the default bucket's arrays) on first use."""
        self._check_ready("switch_bucket", params=False)
        module = self._buckets.get(bucket_key)
        if module is None or not module.binded:
            if module is None:
                symbol, data_names, label_names = self._call_sym_gen(bucket_key)
                module = self._new_module(symbol, data_names, label_names)
            module.bind(data_shapes, label_shapes, self._curr_module.for_training,
                        self._curr_module.inputs_need_grad, force_rebind=False,
                        shared_module=self._buckets[self._default_bucket_key],
                        grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            self._buckets[bucket_key] = module
        self._curr_module = module
        self._curr_bucket_key = bucket_key

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Install the optimizer on the current bucket; every other bucket borrows it (one
        optimizer and one set of states for the shared parameters)."""
        self._check_ready("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        self._curr_module.init_optimizer(kvstore, optimizer, optimizer_params,
                                         force_init=force_init)
        for mod in self._buckets.values():
            if mod is not self._curr_module:
                mod.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    def prepare(self, data_batch: DataBatch, sparse_row_id_fn: Any = None) -> None:
        """Bind the batch's bucket if new (``data_batch.bucket_key``), without switching."""
        self._check_ready("prepare")
        original_key = self._curr_bucket_key
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data,
                           data_batch.provide_label)
        self._curr_module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)
        self.switch_bucket(original_key, None, None)

    # -- computations ----------------------------------------------------------------------

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Switch to the batch's bucket (``bucket_key``, ``provide_data`` /
        ``provide_label``) and run its forward."""
        self._check_ready("forward")
        self.switch_bucket(data_batch.bucket_key, data_batch.provide_data,
                           data_batch.provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads: Any = None) -> None:
        """The current bucket's backward."""
        self._check_ready("backward")
        self._curr_module.backward(out_grads=out_grads)

    def update(self) -> None:
        """Update the shared parameters from the current bucket's gradients."""
        self._check_ready("update", optimizer=True)
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """The current bucket's outputs."""
        self._check_ready("get_outputs")
        return self._curr_module.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """The current bucket's input gradients."""
        self._check_ready("get_input_grads")
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        return self._curr_module.get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Accumulate the current bucket's outputs against ``labels``."""
        self._check_ready("update_metric")
        self._curr_module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon: Any) -> None:
        """Install a monitor on every bucket (and the buckets bound later)."""
        self._check_ready("install_monitor", params=False)
        self._monitor = mon
        for mod in self._buckets.values():
            mod.install_monitor(mon)

    # -- checkpoints -----------------------------------------------------------------------

    def save_checkpoint(self, prefix: str, epoch: int, remove_amp_cast: bool = False) -> None:
        """Save ``prefix-%04d.params`` (the shared parameters), ``prefix-<key>-symbol.json``
        per bucket and ``prefix.buckets`` (the keys, an int32 array), as MXNet does.

        Bucket keys must be integers (MXNet stores them as int32).
        """
        if not self._buckets:
            raise MXNetError("save_checkpoint: Empty BucketingModule cannot be saved")
        keys = list(self._buckets)
        if not all(isinstance(k, (int, np.integer)) for k in keys):
            raise MXNetError(f"save_checkpoint: bucket keys must be integers to be saved in "
                             f"{prefix}.buckets, got {keys!r}")
        self.save_params(f"{prefix}-{epoch:04d}.params")
        for key in keys:
            symbol = self._call_sym_gen(key)[0]
            symbol.save(f"{prefix}-{key}-symbol.json", remove_amp_cast=remove_amp_cast)
        nd.save(f"{prefix}.buckets", nd.array(np.asarray(keys), dtype=np.int32))

    @staticmethod
    def load(prefix: str, epoch: int, sym_gen: Callable | None = None,
             default_bucket_key: Any = None, **kwargs: Any) -> BucketingModule:
        """A BucketingModule over the buckets saved by :meth:`save_checkpoint` with the
        parameters of ``prefix-%04d.params`` (set at ``bind``). ``kwargs`` go to the
        constructor (``context``, ``work_load_list`` ...)."""
        from .. import symbol as sym
        from ..model import load_params

        if sym_gen is None:
            raise MXNetError("sym_gen is required for loading BucketingModule")
        if default_bucket_key is None:
            raise MXNetError("default_bucket_key is required for loading BucketingModule")
        loaded = nd.load(f"{prefix}.buckets")
        keys = loaded[0] if isinstance(loaded, list) else next(iter(loaded.values()))
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        for key in keys.asnumpy().astype(np.int32).tolist():
            _, data_names, label_names = sym_gen(key)
            symbol = sym.load(f"{prefix}-{key}-symbol.json")
            mod._buckets[key] = Module(symbol, data_names, label_names, **kwargs)
            if key == default_bucket_key:
                mod._curr_module = mod._buckets[key]
        if mod._curr_module is None:
            raise MXNetError(f"{prefix}.buckets: the default bucket key "
                             f"{default_bucket_key!r} is not among the saved buckets")
        arg_params, aux_params = load_params(prefix, epoch)
        mod._curr_module._arg_params = arg_params
        mod._curr_module._aux_params = aux_params
        mod._curr_module.params_initialized = True
        mod.params_initialized = True
        return mod

    @staticmethod
    def load_dict(sym_dict: dict | None = None, sym_gen: Callable | None = None,
                  default_bucket_key: Any = None, arg_params: dict | None = None,
                  aux_params: dict | None = None, **kwargs: Any) -> BucketingModule:
        """A BucketingModule from symbols by bucket key and parameter dicts (as ``load``
        without files)."""
        for value, what in ((sym_dict, "sym_dict"), (arg_params, "arg_params"),
                            (aux_params, "aux_params"),
                            (default_bucket_key, "default_bucket_key")):
            if value is None:
                raise MXNetError(f"{what} needs to be provided for BucketingModule.load_dict")
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        for key, loaded_sym in sym_dict.items():
            _, data_names, label_names = sym_gen(default_bucket_key)
            mod._buckets[key] = Module(loaded_sym, data_names, label_names, **kwargs)
            if key == default_bucket_key:
                mod._curr_module = mod._buckets[key]
        if mod._curr_module is None:
            raise MXNetError(f"load_dict: the default bucket key {default_bucket_key!r} is "
                             "not in sym_dict")
        mod._curr_module._arg_params = arg_params
        mod._curr_module._aux_params = aux_params
        mod._curr_module.params_initialized = True
        mod.params_initialized = True
        return mod
