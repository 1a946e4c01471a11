"""``Module``: a Symbol bound to one executor, with parameters, an optimizer and checkpoints
(MXNet 1.9.1's ``mxnet.module.Module`` on one device).

The executor's arrays are the working parameters: ``update`` hands them with their gradients
straight to the optimizer's in-place numpy updates, and nothing is copied per batch except the
batch itself into the bound data and label arrays. ``get_params`` copies the working arrays
into the module's own ``arg_params`` / ``aux_params`` (so those are never the executor's).

On one device MXNet does not create a KVStore for ``kvstore='local'`` (or ``'device'``): the
updates run locally, with parameter ``i`` (in ``list_arguments`` order, inputs left out) as
optimizer index ``i``; which index owns which ``.states`` entry follows from that.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from .. import optimizer as opt
from .. import storage
from ..base import MXNetError, NotSupportedError
from ..context import Context, cpu
from ..initializer import InitDesc
from ..io import DataBatch, DataDesc
from ..model import load_checkpoint
from ..ndarray.ndarray import NDArray
from .base_module import (
    _DEFAULT_INIT,
    BaseModule,
    ModuleValueError,
    _check_input_names,
    _parse_data_desc,
)

__all__ = ["Module"]

_NP_DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32,
              5: np.int8, 6: np.int64, 7: np.bool_, 8: np.int16, 9: np.uint16, 10: np.uint32,
              11: np.uint64}


def _simple_bind(symbol: Any, ctx: Context, **kwargs: Any) -> Any:
    bind = getattr(symbol, "simple_bind", None)
    if bind is None:  # a Symbol class without the method: the executor module's function
        from .. import executor
        return executor.simple_bind(symbol, ctx, **kwargs)
    return bind(ctx=ctx, **kwargs)


def _copy_into(dst: NDArray, src: Any, name: str) -> None:
    """``src.copyto(dst)``: same shape required, cast to ``dst``'s dtype."""
    data = src._data if isinstance(src, NDArray) else np.asarray(src)
    if data.shape != dst._data.shape:
        raise MXNetError(f"{name!r}: the given array has shape {data.shape}, the module's "
                         f"has {dst._data.shape}")
    np.copyto(dst._data, data, casting="unsafe")


class Module(BaseModule):
    """A module over one Symbol on one device.

    Parameters
    ----------
    symbol : Symbol
    data_names, label_names : sequence of str
        The symbol's arguments fed from the data and the labels of a batch.
    logger : Logger
    context : Context or list of one Context
    work_load_list : list of number, optional
        One entry (one device).
    fixed_param_names : sequence of str, optional
        Parameters never updated (bound with ``grad_req='null'``).
    state_names : sequence of str, optional
        Arguments that are states set by ``set_states`` (not parameters, not fed by batches).
    group2ctxs, compression_params
        Accepted for compatibility; one device makes them moot.
    """

    def __init__(self, symbol: Any, data_names: Any = ("data",),
                 label_names: Any = ("softmax_label",), logger: Any = logging,
                 context: Any = None, work_load_list: Any = None,
                 fixed_param_names: Any = None, state_names: Any = None,
                 group2ctxs: Any = None, compression_params: Any = None):
        super().__init__(logger=logger)
        if context is None:
            context = cpu()
        if isinstance(context, Context):
            context = [context]
        context = list(context)
        if len(context) != 1:
            raise NotSupportedError(f"Module: mxlite runs on one device; got contexts "
                                    f"{context} (data parallelism over several is not "
                                    "supported)")
        self._context = context
        if work_load_list is None:
            work_load_list = [1] * len(context)
        if len(work_load_list) != len(context):
            raise ModuleValueError(f"work_load_list has {len(work_load_list)} entries for "
                                   f"{len(context)} contexts")
        self._work_load_list = work_load_list
        self._group2ctxs = group2ctxs
        self._symbol = symbol

        data_names = list(data_names) if data_names is not None else []
        label_names = list(label_names) if label_names is not None else []
        state_names = list(state_names) if state_names is not None else []
        fixed_param_names = list(fixed_param_names) if fixed_param_names is not None else []
        _check_input_names(symbol, data_names, "data", True)
        _check_input_names(symbol, label_names, "label", False)
        _check_input_names(symbol, state_names, "state", True)
        _check_input_names(symbol, fixed_param_names, "fixed_param", True)

        arg_names = symbol.list_arguments()
        input_names = data_names + label_names + state_names
        self._param_names = [x for x in arg_names if x not in input_names]
        self._fixed_param_names = fixed_param_names
        self._aux_names = symbol.list_auxiliary_states()
        self._data_names = data_names
        self._label_names = label_names
        self._state_names = state_names
        self._output_names = symbol.list_outputs()

        self._arg_params: dict | None = None
        self._aux_params: dict | None = None
        self._params_dirty = False
        self._compression_params = compression_params
        self._optimizer: Any = None
        self._kvstore: Any = None
        self._update_on_kvstore: bool | None = None
        self._updater: Any = None
        self._preload_opt_states: tuple[str, dict | None] | None = None
        self._grad_req: Any = None

        self._exec: Any = None
        self._default_exec: Any = None
        self._data_shapes: list[DataDesc] | None = None
        self._label_shapes: list[DataDesc] | None = None
        self._batch_size: int | None = None
        self._reset_arrays()

    def _reset_arrays(self) -> None:
        # Per-batch work reads these lists, gathered once per bind / reshape.
        self._data_arrays: list[NDArray] = []
        self._label_arrays: list[NDArray] | None = None
        self._param_arrays: list[NDArray] = []
        self._grad_arrays: list[NDArray | None] = []
        self._aux_arrays: list[NDArray] = []
        self._update_index: list[int] = []
        self._update_weights: list[NDArray] = []
        self._update_grads: list[NDArray] = []

    # -- checkpoints ----------------------------------------------------------------------

    @staticmethod
    def load(prefix: str, epoch: int, load_optimizer_states: bool = False,
             storage_options: dict | None = None, **kwargs: Any) -> Module:
        """A Module over ``prefix-symbol.json`` with the parameters of ``prefix-%04d.params``.

        The parameters are set at ``bind``; with ``load_optimizer_states`` the optimizer
        states of ``prefix-%04d.states`` are loaded when the optimizer is installed
        (``init_optimizer`` / ``fit``). ``storage_options`` are fsspec options for a URI
        prefix; ``kwargs`` go to the Module constructor.
        """
        sym, args, auxs = load_checkpoint(prefix, epoch, storage_options)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = (f"{prefix}-{epoch:04d}.states", storage_options)
        return mod

    def save_checkpoint(self, prefix: str, epoch: int, save_optimizer_states: bool = False,
                        remove_amp_cast: bool = True, storage_options: dict | None = None
                        ) -> None:
        """Save ``prefix-symbol.json``, ``prefix-%04d.params`` and, with
        ``save_optimizer_states``, ``prefix-%04d.states`` (a local path or an fsspec URI
        prefix, with ``storage_options``)."""
        self._symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast,
                          storage_options=storage_options)
        param_name = f"{prefix}-{epoch:04d}.params"
        self.save_params(param_name, storage_options)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = f"{prefix}-{epoch:04d}.states"
            self.save_optimizer_states(state_name, storage_options)
            logging.info('Saved optimizer state to "%s"', state_name)

    def _reset_bind(self) -> None:
        self.binded = False
        self._exec = None
        self._default_exec = None
        self._data_shapes = None
        self._label_shapes = None
        self._batch_size = None
        self._reset_arrays()

    # -- information -----------------------------------------------------------------------

    @property
    def data_names(self) -> list[str]:
        """Names of the data inputs."""
        return self._data_names

    @property
    def label_names(self) -> list[str]:
        """Names of the label inputs."""
        return self._label_names

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs (``symbol.list_outputs()``)."""
        return self._output_names

    def _check_bound(self, what: str) -> None:
        if not self.binded:
            raise MXNetError(f"{what}: the module is not bound; call bind() first")

    @property
    def data_shapes(self) -> list[DataDesc]:
        """DataDescs of the data inputs."""
        self._check_bound("data_shapes")
        return self._data_shapes

    @property
    def label_shapes(self) -> list[DataDesc] | None:
        """DataDescs of the label inputs (None when bound without labels)."""
        self._check_bound("label_shapes")
        return self._label_shapes

    @property
    def output_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(name, shape)`` of each output."""
        self._check_bound("output_shapes")
        return [(name, tuple(out.shape)) for name, out in
                zip(self._output_names, self._exec.outputs)]

    # -- parameters ------------------------------------------------------------------------

    def get_params(self) -> tuple[dict, dict]:
        """``(arg_params, aux_params)``: the module's copies of the parameters, refreshed
        from the executor if it changed them since."""
        if not self.params_initialized:
            raise MXNetError("get_params: the parameters are not initialized")
        if self._params_dirty:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer: Any = _DEFAULT_INIT, arg_params: dict | None = None,
                    aux_params: dict | None = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialize the parameters and auxiliary states.

        Parameters
        ----------
        initializer : Initializer
            For parameters not in ``arg_params`` / ``aux_params`` (or all, without them).
        arg_params, aux_params : dict of str to NDArray, optional
            Values to copy in; they win over ``initializer``.
        allow_missing : bool
            A parameter missing from the given dicts comes from ``initializer`` (else error).
        force_init : bool
            Re-initialize even if already initialized (else a warning and nothing done).
        allow_extra : bool
            Names the module lacks are ignored (else error).
        """
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "init_params call ignored.", stacklevel=2)
            return
        self._check_bound("init_params")

        def _impl(name: InitDesc, arr: NDArray, cache: dict | None) -> None:
            if cache is not None:
                if name in cache:
                    cache_arr = cache[name]
                    if cache_arr is not arr:
                        _copy_into(arr, cache_arr, str(name))
                    return
                if not allow_missing:
                    raise MXNetError(f"{name} is not presented")
                if initializer is not None:
                    initializer(name, arr)
            else:
                if initializer is None:
                    raise MXNetError(f"init_params: no initializer and no value for {name}")
                initializer(name, arr)

        attrs = self._symbol.attr_dict()
        for name, arr in sorted(self._arg_params.items()):
            _impl(InitDesc(name, attrs.get(name, None)), arr, arg_params)
        for name, arr in sorted(self._aux_params.items()):
            _impl(InitDesc(name, attrs.get(name, None)), arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._exec.copy_params_from(self._arg_params, self._aux_params,
                                    allow_extra_params=allow_extra)

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign parameter and aux state values.

        Without ``allow_missing`` every parameter must be given (``init_params`` path);
        with it, the given values go straight to the executor.
        """
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. "
                          "set_params call ignored.", stacklevel=2)
            return
        self._check_bound("set_params")
        self._exec.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)
        self._params_dirty = True  # the module's copies no longer match the executor
        self.params_initialized = True

    def _sync_params_from_devices(self) -> None:
        for params, names, arrays in ((self._arg_params, self._param_names, self._param_arrays),
                                      (self._aux_params, self._aux_names, self._aux_arrays)):
            for name, arr in zip(names, arrays):
                dst = params.get(name)
                if dst is None:  # set with allow_missing: the module had no copy yet
                    params[name] = NDArray(arr._data.copy(), arr.context)
                else:
                    _copy_into(dst, arr, name)
        self._params_dirty = False

    # -- binding ---------------------------------------------------------------------------

    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Module | None = None, grad_req: Any = "write") -> None:
        """Bind the symbol for the given input shapes, allocating every array.

        Parameters
        ----------
        data_shapes, label_shapes : list of DataDesc or (name, shape)
            Typically ``data_iter.provide_data`` / ``provide_label``.
        for_training : bool
            Gradients are allocated (else everything is bound with ``grad_req='null'``).
        inputs_need_grad : bool
            Also compute gradients of the data inputs (``get_input_grads``).
        force_rebind : bool
            Rebind even if bound (else a warning and nothing done).
        shared_module : Module, optional
            A bound, initialized module whose parameter arrays this one shares.
        grad_req : str, list or dict
            ``'write'``, ``'add'`` or ``'null'``, for all parameters or per argument.
        """
        if force_rebind:
            if self.binded and self._params_dirty:
                # Keep updates made since the last sync (MXNet would rebind from stale
                # copies here).
                self._sync_params_from_devices()
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        if not for_training and inputs_need_grad:
            raise MXNetError("bind: inputs_need_grad=True needs for_training=True")
        self._data_shapes, self._label_shapes = _parse_data_desc(
            self.data_names, self.label_names, data_shapes, label_shapes)

        shared_exec = None
        if shared_module is not None:
            if not (isinstance(shared_module, Module) and shared_module.binded
                    and shared_module.params_initialized):
                raise MXNetError("bind: shared_module must be a bound Module with initialized "
                                 "parameters")
            shared_exec = shared_module._exec

        self._exec = self._bind_exec(self._data_shapes, self._label_shapes, shared_exec)
        self._collect_arrays()

        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # Re-binding (or Module.load): the known parameters go to the new executor.
            self._exec.copy_params_from(self._arg_params, self._aux_params)
        else:
            if self._arg_params is not None or self._aux_params is not None:
                raise MXNetError("bind: parameters exist but are not marked initialized")
            self._arg_params = {name: NDArray(np.zeros_like(a._data), a.context)
                                for name, a in zip(self._param_names, self._param_arrays)}
            self._aux_params = {name: NDArray(np.zeros_like(a._data), a.context)
                                for name, a in zip(self._aux_names, self._aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def _grad_reqs(self, data_names: list[str]) -> dict[str, str]:
        grad_req = self._grad_req if self.for_training else "null"
        arg_names = self._symbol.list_arguments()
        if isinstance(grad_req, str):
            reqs = {}
            for k in arg_names:
                if k in self._param_names:
                    reqs[k] = "null" if k in self._fixed_param_names else grad_req
                elif k in data_names:
                    reqs[k] = grad_req if self.inputs_need_grad else "null"
                else:
                    reqs[k] = "null"
            return reqs
        if isinstance(grad_req, (list, tuple)):
            if len(grad_req) != len(arg_names):
                raise ModuleValueError(f"grad_req has {len(grad_req)} entries for "
                                       f"{len(arg_names)} arguments ({arg_names})")
            return dict(zip(arg_names, grad_req))
        if isinstance(grad_req, dict):
            reqs = {}
            for k in arg_names:
                if k in self._param_names:
                    reqs[k] = "null" if k in self._fixed_param_names else "write"
                elif k in data_names:
                    reqs[k] = "write" if self.inputs_need_grad else "null"
                else:
                    reqs[k] = "null"
            reqs.update(grad_req)
            return reqs
        raise ModuleValueError("grad_req must be one of str, list, tuple, or dict.")

    def _batch_axis_size(self, descs: list[DataDesc]) -> int | None:
        size = None
        for desc in descs:
            axis = DataDesc.get_batch_axis(getattr(desc, "layout", None))
            if axis == -1:
                continue
            b = desc.shape[axis]
            if size is not None and b != size:
                raise MXNetError(f"all data must have the same batch size: batch_size = "
                                 f"{size}, but {desc.name} has shape {desc.shape}")
            size = b
        return size

    def _bind_exec(self, data_shapes: list[DataDesc], label_shapes: list[DataDesc] | None,
                   shared_exec: Any) -> Any:
        self._batch_size = self._batch_axis_size(data_shapes)
        if label_shapes is not None:
            label_batch = self._batch_axis_size(label_shapes)
            if (self._batch_size is not None and label_batch is not None
                    and label_batch != self._batch_size):
                raise MXNetError(f"all data must have the same batch size: batch_size = "
                                 f"{self._batch_size}, but the labels have {label_batch}")
        input_shapes = {d.name: d.shape for d in data_shapes}
        input_types = {d.name: d.dtype for d in data_shapes}
        attrs = self._symbol.attr_dict()
        for name in self._symbol.list_inputs():
            dt = attrs.get(name, {}).get("__dtype__")
            if name in input_types and dt is not None and dt != "-1":
                input_types[name] = _NP_DTYPES.get(int(dt), input_types[name])
        if label_shapes is not None:
            input_shapes.update({d.name: d.shape for d in label_shapes})
            input_types.update({d.name: d.dtype for d in label_shapes})
        return _simple_bind(self._symbol, self._context[0],
                            grad_req=self._grad_reqs([d.name for d in data_shapes]),
                            type_dict=input_types, shared_exec=shared_exec, **input_shapes)

    def _collect_arrays(self) -> None:
        ex = self._exec
        arg_dict = ex.arg_dict
        grad_dict = ex.grad_dict
        self._data_arrays = [arg_dict[d.name] for d in self._data_shapes]
        self._label_arrays = (None if self._label_shapes is None
                              else [arg_dict[d.name] for d in self._label_shapes])
        self._param_arrays = [arg_dict[n] for n in self._param_names]
        self._grad_arrays = ([grad_dict.get(n) for n in self._param_names]
                             if self.for_training else [None] * len(self._param_names))
        self._aux_arrays = list(ex.aux_arrays)
        # MXNet's _update_params: parameter i is optimizer index i * num_device + k (one
        # device: i); those without a gradient are skipped but keep their numbers.
        live = [(i, w, g) for i, (w, g) in enumerate(zip(self._param_arrays, self._grad_arrays))
                if g is not None]
        self._update_index = [i for i, _, _ in live]
        self._update_weights = [w for _, w, _ in live]
        self._update_grads = [g for _, _, g in live]

    def reshape(self, data_shapes: Any, label_shapes: Any = None) -> None:
        """Rebind for new input shapes, sharing the parameter arrays (MXNet's executor
        ``reshape``: smaller inputs reuse memory)."""
        self._check_bound("reshape")
        data, labels = _parse_data_desc(self.data_names, self.label_names, data_shapes,
                                        label_shapes)
        if data == self._data_shapes and labels == self._label_shapes:
            return
        if self._default_exec is None:
            self._default_exec = self._exec
        self._batch_size = self._batch_axis_size(data)
        shapes = {d.name: d.shape for d in data}
        if labels is not None:
            shapes.update({d.name: d.shape for d in labels})
        self._exec = self._default_exec.reshape(allow_up_sizing=True, **shapes)
        self._data_shapes, self._label_shapes = data, labels
        self._collect_arrays()

    # -- optimizer -------------------------------------------------------------------------

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Install an optimizer.

        Parameters
        ----------
        kvstore : str or None
            ``'local'``, ``'device'`` or None: one device needs no KVStore, so updates run
            here. Distributed stores are not supported.
        optimizer : str or Optimizer
            A name is created with ``optimizer_params``, ``rescale_grad = 1 / batch_size``
            (unless given), the symbol (for ``__lr_mult__`` / ``__wd_mult__``) and the
            index -> parameter name map. An object is used as is (a warning if its
            ``rescale_grad`` is not ``1 / batch_size``; the name map is filled if empty).
        optimizer_params : dict or pairs
        force_init : bool
            Replace an installed optimizer (else a warning and nothing done).
        """
        if not (self.binded and self.params_initialized):
            raise MXNetError("init_optimizer: bind the module and initialize its parameters "
                             "first")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        if kvstore is not None and not isinstance(kvstore, str):
            raise NotSupportedError("init_optimizer: mxlite has no KVStore objects; pass "
                                    "kvstore='local' or None")
        if isinstance(kvstore, str) and "dist" in kvstore:
            raise NotSupportedError(f"init_optimizer: kvstore {kvstore!r} (distributed "
                                    "training) is not supported")
        batch_size = self._batch_size or 1
        rescale_grad = 1.0 / batch_size
        num_device = len(self._context)
        idx2name = {}
        for k in range(num_device):
            idx2name.update({i * num_device + k: n for i, n in enumerate(self._param_names)})
        if isinstance(optimizer, str):
            optimizer_params = dict(optimizer_params)
            if "rescale_grad" not in optimizer_params:
                optimizer_params["rescale_grad"] = rescale_grad
            optimizer = opt.create(optimizer, sym=self.symbol, param_idx2name=idx2name,
                                   **optimizer_params)
        else:
            if not isinstance(optimizer, opt.Optimizer):
                raise ModuleValueError(f"init_optimizer: optimizer must be a name or an "
                                       f"Optimizer, got {type(optimizer).__name__}")
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn("Optimizer created manually outside Module but rescale_grad is "
                              "not normalized to 1.0/batch_size/num_workers "
                              f"({optimizer.rescale_grad} vs. {rescale_grad}). Is this "
                              "intended?", stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        self._optimizer = optimizer
        self._kvstore = None
        self._update_on_kvstore = False
        self._updater = opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(*self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module: Module) -> None:
        """Use ``shared_module``'s optimizer (and updater states)."""
        if not shared_module.optimizer_initialized:
            raise MXNetError("borrow_optimizer: the shared module has no optimizer")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname: str, storage_options: dict | None = None) -> None:
        """Write the updater's states (MXNet's ``.states`` pickle) to ``fname``."""
        if not self.optimizer_initialized:
            raise MXNetError("save_optimizer_states: no optimizer installed")
        storage.write_bytes_atomic(fname, self._updater.get_states(), storage_options)

    def load_optimizer_states(self, fname: str, storage_options: dict | None = None) -> None:
        """Load updater states written by :meth:`save_optimizer_states` (or MXNet)."""
        if not self.optimizer_initialized:
            raise MXNetError("load_optimizer_states: no optimizer installed")
        self._updater.set_states(storage.read_bytes(fname, storage_options), source=str(fname))

    # -- computations ----------------------------------------------------------------------

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Forward computation; a batch shaped unlike the bound inputs rebinds (reshape).

        ``is_train`` None means as bound (``for_training``).
        """
        if not (self.binded and self.params_initialized):
            raise MXNetError("forward: bind the module and initialize its parameters first")
        if isinstance(data_batch, list):
            raise NotSupportedError("forward: a list of DataBatch (one per device) needs "
                                    "several devices")
        data = data_batch.data
        if len(data) != len(self._data_arrays):
            raise MXNetError(f"forward: the batch has {len(data)} data arrays, the module "
                             f"takes {len(self._data_arrays)} ({self._data_names})")
        if any(d.shape != a.shape for d, a in zip(data, self._data_arrays)):
            self._reshape_for(data_batch)
        for src, dst, desc in zip(data, self._data_arrays, self._data_shapes):
            _copy_into(dst, src, desc.name)
        labels = data_batch.label
        if self._label_arrays is not None and labels:
            for src, dst, desc in zip(labels, self._label_arrays, self._label_shapes):
                _copy_into(dst, src, desc.name)
        if is_train is None:
            is_train = self.for_training
        self._exec.forward(is_train=is_train)

    def _reshape_for(self, data_batch: DataBatch) -> None:
        provide = getattr(data_batch, "provide_data", None)
        if provide:
            new_dshape = provide
        else:
            new_dshape = [DataDesc(d.name, tuple(a.shape), d.dtype, d.layout)
                          for d, a in zip(self._data_shapes, data_batch.data)]
        provide = getattr(data_batch, "provide_label", None)
        if provide:
            new_lshape = provide
        elif data_batch.label and self._label_shapes is not None:
            new_lshape = [DataDesc(d.name, tuple(a.shape), d.dtype, d.layout)
                          for d, a in zip(self._label_shapes, data_batch.label)]
        else:
            new_lshape = None
        self.reshape(new_dshape, new_lshape)

    def backward(self, out_grads: Any = None) -> None:
        """Backward computation (``out_grads`` for outputs that are not losses)."""
        if not (self.binded and self.params_initialized):
            raise MXNetError("backward: bind the module and initialize its parameters first")
        if not self.for_training:
            raise MXNetError("backward: re-bind with for_training=True to run backward")
        self._exec.backward(out_grads=out_grads)

    def update(self) -> None:
        """Apply the optimizer to every parameter with a gradient, in place."""
        if not (self.binded and self.params_initialized and self.optimizer_initialized):
            raise MXNetError("update: bind, initialize the parameters and install an "
                             "optimizer first")
        self._params_dirty = True
        if self._update_index:
            self._updater(self._update_index, self._update_grads, self._update_weights)

    def get_outputs(self, merge_multi_context: bool = True) -> list[NDArray]:
        """The outputs of the last forward (the executor's arrays)."""
        if not (self.binded and self.params_initialized):
            raise MXNetError("get_outputs: bind the module and initialize its parameters "
                             "first")
        outs = self._exec.outputs
        return list(outs) if merge_multi_context else [[o] for o in outs]

    def get_input_grads(self, merge_multi_context: bool = True) -> list[NDArray]:
        """Gradients of the data inputs from the last backward."""
        if not (self.binded and self.params_initialized and self.inputs_need_grad):
            raise MXNetError("get_input_grads: bind with for_training=True and "
                             "inputs_need_grad=True first")
        grads = self._exec.grad_dict
        out = [grads[d.name] for d in self._data_shapes]
        return out if merge_multi_context else [[g] for g in out]

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The state arrays (``state_names``), one list per state."""
        self._check_ready("get_states")
        if merge_multi_context:
            raise MXNetError("merge_multi_context=True is not supported for get_states yet.")
        arg_dict = self._exec.arg_dict
        return [[arg_dict[n]] for n in self._state_names]

    def set_states(self, states: Any = None, value: Any = None) -> None:
        """Set the state arrays from ``states`` (one array per state) or to a scalar
        ``value``."""
        self._check_ready("set_states")
        arg_dict = self._exec.arg_dict
        if states is not None:
            if value is not None:
                raise MXNetError("Only one of states & value can be specified.")
            for name, src in zip(self._state_names, states):
                src = src[0] if isinstance(src, (list, tuple)) else src
                _copy_into(arg_dict[name], src, name)
        else:
            if value is None:
                raise MXNetError("At least one of states & value must be specified.")
            for name in self._state_names:
                arg_dict[name]._data[...] = value

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Accumulate the last outputs against ``labels`` into ``eval_metric``
        (``update_dict`` with labels and outputs by name)."""
        if pre_sliced:
            labels = labels[0]
        names = ([d.name for d in self._label_shapes] if self._label_shapes is not None
                 else self._label_names)
        eval_metric.update_dict(dict(zip(names, labels or [])),
                                dict(zip(self._output_names, self._exec.outputs)))

    def install_monitor(self, mon: Any) -> None:
        """Install a monitor (``mon.install(executor)``) on the executor."""
        self._check_bound("install_monitor")
        mon.install(self._exec)

    def prepare(self, data_batch: DataBatch, sparse_row_id_fn: Any = None) -> None:
        """Prepare for a batch: nothing to pull without a KVStore."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning("Parameters are not updated in the KVStore. No need to "
                                      "call sparse_row_id_fn."), stacklevel=2)
