"""``Module``: a Symbol bound to one executor per device, with parameters, an optimizer and
checkpoints (MXNet 1.9.1's ``mxnet.module.Module``).

The executors' arrays are the working parameters: ``update`` hands them with their gradients
straight to the optimizer's in-place numpy updates, and nothing is copied per batch except the
batch itself into the bound data and label arrays. ``get_params`` copies the working arrays
(with several devices, their mean, as MXNet's executor group) into the module's own
``arg_params`` / ``aux_params`` (so those are never the executors').

Several contexts (``context=[mx.cpu(0), mx.cpu(1)]``, or gpu labels) are MXNet's
DataParallelExecutorGroup: each batch is cut along its batch axis in proportion to
``work_load_list`` (MXNet's rounding), every device runs forward / backward on its slice, the
gradients are summed through the kvstore, and ``get_outputs`` concatenates the devices'
outputs. A ``dist_*`` kvstore adds the other workers of an MPI job (:mod:`mxlite.kvstore`).

On one device in one process MXNet does not create a KVStore for ``kvstore='local'`` (or
``'device'``): the updates run locally, with parameter ``i`` (in ``list_arguments`` order,
inputs left out) as optimizer index ``i * num_device + k`` for device ``k``; with the updates
on a kvstore the index is the parameter's name. Which index owns which ``.states`` entry
follows from that.
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
from ..kvstore.updates import (
    _create_kvstore,
    _initialize_kvstore,
    _update_params,
    _update_params_on_kvstore,
)
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


# MXNet's storage type ids, as ``__storage_type__`` attributes hold them (0 is dense).
_STYPES = {"1": "row_sparse", "2": "csr"}


def _zeros_param(like: NDArray, stype: str | None) -> NDArray:
    """The module's own zero copy of a bound parameter, in the declared storage type."""
    # like.shape, not like._data's: a sparse bound array's _data holds its stored values only
    arr = NDArray(np.zeros(like.shape, like._data.dtype), cpu())
    return arr if stype is None else arr.tostype(stype)


def _prepare_group2ctxs(group2ctxs: Any, ctx_len: int) -> list[dict | None]:
    """MXNet's ``_prepare_group2ctxs``: one ``{group: context}`` dict per device from a
    dict (a context, or a list of one or ``ctx_len`` contexts, per group) or a list of
    dicts."""
    if group2ctxs is None:
        return [None] * ctx_len
    if isinstance(group2ctxs, list):
        if len(group2ctxs) != ctx_len:
            raise ModuleValueError(f"group2ctxs has {len(group2ctxs)} entries for {ctx_len} "
                                   "contexts")
        return group2ctxs
    if not isinstance(group2ctxs, dict):
        raise ModuleValueError(f"group2ctxs must be a dict or a list of dicts, got "
                               f"{type(group2ctxs).__name__}")
    out: list[dict] = [{} for _ in range(ctx_len)]
    for group, ctxs in group2ctxs.items():
        if isinstance(ctxs, Context):
            ctxs = [ctxs]
        ctxs = list(ctxs)
        if len(ctxs) == 1:
            ctxs = ctxs * ctx_len
        if len(ctxs) != ctx_len:
            raise ModuleValueError(f"group2ctxs[{group!r}] has {len(ctxs)} contexts for "
                                   f"{ctx_len} devices")
        for k, c in enumerate(ctxs):
            out[k][group] = c
    return out


def _simple_bind(symbol: Any, ctx: Context, **kwargs: Any) -> Any:
    bind = getattr(symbol, "simple_bind", None)
    if bind is None:  # a Symbol class without the method: the executor module's function
        from .. import executor
        return executor.simple_bind(symbol, ctx, **kwargs)
    return bind(ctx=ctx, **kwargs)


def _copy_into(dst: NDArray, src: Any, name: str) -> None:
    """``src.copyto(dst)``: same shape required, cast to ``dst``'s dtype."""
    if isinstance(src, NDArray):
        # sparse batches (csr data, row_sparse weights) are fed to dense executors
        data = src._data if getattr(src, "stype", "default") == "default" else src.asnumpy()
    else:
        data = np.asarray(src)
    if data.shape != dst._data.shape:
        raise MXNetError(f"{name!r}: the given array has shape {data.shape}, the module's "
                         f"has {dst._data.shape}")
    np.copyto(dst._data, data, casting="unsafe")


class Module(BaseModule):
    """A module over one Symbol on one device or several (data parallelism).

    Parameters
    ----------
    symbol : Symbol
    data_names, label_names : sequence of str
        The symbol's arguments fed from the data and the labels of a batch.
    logger : Logger
    context : Context or list of Context
        One executor per context; a batch is split over them.
    work_load_list : list of number, optional
        One positive number per context: the shares of each batch (default equal).
    fixed_param_names : sequence of str, optional
        Parameters never updated (bound with ``grad_req='null'``).
    state_names : sequence of str, optional
        Arguments that are states set by ``set_states`` (not parameters, not fed by batches).
    group2ctxs : dict or list of dict, optional
        Model parallelism: ``{ctx_group: context or [context per device]}`` (or one dict
        per device). The arrays of variables in a ``ctx_group`` carry that context; every
        array lives in host memory.
    compression_params : dict, optional
        Gradient compression for the kvstore (``{'type': '2bit', 'threshold': 0.5}``).
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
        if not context or not all(isinstance(c, Context) for c in context):
            raise ModuleValueError(f"Module: context must be a Context or a non-empty list of "
                                   f"Contexts, got {context!r}")
        self._context = context
        if work_load_list is None:
            work_load_list = [1] * len(context)
        if len(work_load_list) != len(context):
            raise ModuleValueError(f"work_load_list has {len(work_load_list)} entries for "
                                   f"{len(context)} contexts")
        if not all(isinstance(w, (int, float)) and w > 0 for w in work_load_list):
            raise ModuleValueError(f"work_load_list must hold positive numbers, got "
                                   f"{work_load_list!r}")
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
        self._execs: list = []
        self._slices: list[slice] = []
        self._default_execs: list | None = None
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
        # The same, per device (MXNet's executor group): [device][input], [param][device].
        self._dev_data: list[list[NDArray]] = []
        self._dev_labels: list[list[NDArray] | None] = []
        self._param_blocks: list[list[NDArray]] = []
        self._grad_blocks: list[list[NDArray | None]] = []
        self._aux_blocks: list[list[NDArray]] = []

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
        self._execs = []
        self._slices = []
        self._default_execs = None
        self._data_shapes = None
        self._label_shapes = None
        self._batch_size = None
        self._reset_arrays()

    @property
    def _exec_group(self) -> Any:
        """MXNet's ``DataParallelExecutorGroup`` face of the bound executors (``execs``,
        ``param_names``, ``param_arrays`` ...), as scripts and MXNet's tests reach it."""
        from .executor_group import DataParallelExecutorGroup

        if not self.binded:
            return None  # as MXNet's attribute before bind
        return DataParallelExecutorGroup._of_module(self)

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
        if len(self._execs) == 1:
            return [(name, tuple(out.shape)) for name, out in
                    zip(self._output_names, self._exec.outputs)]
        return [(name, tuple(out.shape)) for name, out in
                zip(self._output_names, self.get_outputs())]

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
        for params, given in ((self._arg_params, arg_params), (self._aux_params, aux_params)):
            for name, arr in sorted(params.items()):
                desc = InitDesc(name, attrs.get(name, None))
                if getattr(arr, "stype", "default") == "default":
                    _impl(desc, arr, given)
                    continue
                # A sparse parameter (row_sparse weights) is initialized densely, as MXNet's
                # initializers write every row, and kept in its storage type.
                dense = NDArray(np.zeros(arr.shape, arr.dtype), arr.context)
                _impl(desc, dense, given)
                params[name] = dense.tostype(arr.stype)
        self.params_initialized = True
        self._params_dirty = False
        for ex in self._execs:
            ex.copy_params_from(self._arg_params, self._aux_params,
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
        for ex in self._execs:
            ex.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)
        self._params_dirty = True  # the module's copies no longer match the executor
        self.params_initialized = True

    def _sync_params_from_devices(self) -> None:
        from .. import ndarray as nd

        n = len(self._execs)
        for params, names, blocks in ((self._arg_params, self._param_names, self._param_blocks),
                                      (self._aux_params, self._aux_names, self._aux_blocks)):
            for name, block in zip(names, blocks):
                # MXNet's executor group: the mean over the devices' copies.
                arr = block[0] if n == 1 else nd.add_n(*block) / n
                dst = params.get(name)
                if dst is None:  # set with allow_missing: the module had no copy yet
                    params[name] = NDArray(arr._data.copy(), arr.context)
                elif getattr(dst, "stype", "default") != "default":
                    params[name] = NDArray(arr._data.copy(), arr.context).tostype(dst.stype)
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

        shared_execs = None
        if shared_module is not None:
            if not (isinstance(shared_module, Module) and shared_module.binded
                    and shared_module.params_initialized):
                raise MXNetError("bind: shared_module must be a bound Module with initialized "
                                 "parameters")
            if len(shared_module._execs) != len(self._context):
                raise MXNetError(f"bind: shared_module runs on {len(shared_module._execs)} "
                                 f"devices, this module on {len(self._context)}")
            shared_execs = shared_module._execs

        self._execs = self._bind_execs(self._data_shapes, self._label_shapes, shared_execs)
        self._exec = self._execs[0]
        self._collect_arrays()

        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # Re-binding (or Module.load): the known parameters go to the new executors.
            for ex in self._execs:
                ex.copy_params_from(self._arg_params, self._aux_params)
        else:
            if self._arg_params is not None or self._aux_params is not None:
                raise MXNetError("bind: parameters exist but are not marked initialized")
            stypes = self._param_stypes()
            self._arg_params = {name: _zeros_param(a, stypes.get(name))
                                for name, a in zip(self._param_names, self._param_arrays)}
            self._aux_params = {name: NDArray(np.zeros_like(a._data), cpu())
                                for name, a in zip(self._aux_names, self._aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def _param_stypes(self) -> dict[str, str]:
        """Storage types the symbol declares for its variables (``stype=`` of
        ``mx.sym.var``), by name; dense ones left out."""
        out = {}
        for name, attr in self._symbol.attr_dict().items():
            stype = _STYPES.get(str(attr.get("__storage_type__", "0")))
            if stype is not None:
                out[name] = stype
        return out

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

    def _bind_execs(self, data_shapes: list[DataDesc], label_shapes: list[DataDesc] | None,
                    shared_execs: list | None) -> list:
        """One executor per context, each bound for its slice of the batch."""
        self._batch_size = self._batch_axis_size(data_shapes)
        if label_shapes is not None:
            label_batch = self._batch_axis_size(label_shapes)
            if (self._batch_size is not None and label_batch is not None
                    and label_batch != self._batch_size):
                raise MXNetError(f"all data must have the same batch size: batch_size = "
                                 f"{self._batch_size}, but the labels have {label_batch}")
        self._slices = self._split_batch(self._batch_size)
        input_types = {d.name: d.dtype for d in data_shapes}
        attrs = self._symbol.attr_dict()
        for name in self._symbol.list_inputs():
            dt = attrs.get(name, {}).get("__dtype__")
            if name in input_types and dt is not None and dt != "-1":
                input_types[name] = _NP_DTYPES.get(int(dt), input_types[name])
        if label_shapes is not None:
            input_types.update({d.name: d.dtype for d in label_shapes})
        grad_req = self._grad_reqs([d.name for d in data_shapes])
        group2ctxs = _prepare_group2ctxs(self._group2ctxs, len(self._context))
        # The module's executors stay dense whatever storage types the variables declare:
        # it feeds sparse batches (csr data) densely and keeps its own copies of the
        # parameters in their declared types (``_zeros_param``, ``_sync_params_from_devices``),
        # its loading, slicing and updating reading the executors' arrays as dense buffers.
        dense = dict.fromkeys(self._symbol.list_arguments()
                              + self._symbol.list_auxiliary_states(), "default")
        execs = []
        for k, ctx in enumerate(self._context):
            input_shapes = self._device_shapes(data_shapes, label_shapes, k)
            ex = _simple_bind(self._symbol, ctx, grad_req=grad_req, type_dict=input_types,
                              stype_dict=dense, group2ctx=group2ctxs[k],
                              shared_exec=None if shared_execs is None else shared_execs[k],
                              **input_shapes)
            if group2ctxs[k]:
                self._place_groups(ex, group2ctxs[k], attrs)
            execs.append(ex)
        return execs

    @staticmethod
    def _place_groups(ex: Any, group2ctx: dict, attrs: dict) -> None:
        """Model parallelism's placement: the arrays of variables in a ``ctx_group`` carry
        that group's context (every array lives in host memory; the label is what MXNet
        code reads back)."""
        for table in (ex.arg_dict, ex.grad_dict, ex.aux_dict):
            for name, arr in table.items():
                group = attrs.get(name, {}).get("__ctx_group__")
                if arr is not None and group in group2ctx:
                    arr._ctx = group2ctx[group]

    def _split_batch(self, batch_size: int | None) -> list[slice]:
        """MXNet's ``_split_input_slice``: the batch cut by ``work_load_list`` (rounded)."""
        if len(self._context) == 1:
            return [slice(0, batch_size)]
        if batch_size is None:
            raise MXNetError("Module: several contexts need inputs with a batch axis to split")
        total = sum(self._work_load_list)
        counts = [round(w * batch_size / total) for w in self._work_load_list]
        if sum(counts) < batch_size:
            counts[-1] += batch_size - sum(counts)
        slices = []
        end = 0
        for count in counts:
            begin = min(end, batch_size)
            end = min(begin + count, batch_size)
            if begin >= end:
                raise MXNetError(f"Too many slices: the batch of {batch_size} split by "
                                 f"work_load_list {self._work_load_list} leaves a device "
                                 "without data")
            slices.append(slice(begin, end))
        return slices

    def _device_shapes(self, data_shapes: list[DataDesc],
                       label_shapes: list[DataDesc] | None, k: int) -> dict[str, tuple]:
        """Input shapes of device ``k``: the batch axis cut to its slice."""
        islice = self._slices[k]
        shapes = {}
        for desc in list(data_shapes) + list(label_shapes or []):
            shape = tuple(desc.shape)
            axis = DataDesc.get_batch_axis(getattr(desc, "layout", None))
            if len(self._context) > 1 and axis >= 0:
                shape = shape[:axis] + (islice.stop - islice.start,) + shape[axis + 1:]
            shapes[desc.name] = shape
        return shapes

    def _collect_arrays(self) -> None:
        n = len(self._execs)
        self._dev_data = [[ex.arg_dict[d.name] for d in self._data_shapes] for ex in self._execs]
        self._dev_labels = [None if self._label_shapes is None
                            else [ex.arg_dict[d.name] for d in self._label_shapes]
                            for ex in self._execs]
        self._param_blocks = [[ex.arg_dict[name] for ex in self._execs]
                              for name in self._param_names]
        self._grad_blocks = [[ex.grad_dict.get(name) if self.for_training else None
                              for ex in self._execs] for name in self._param_names]
        self._aux_blocks = [[ex.aux_arrays[i] for ex in self._execs]
                            for i in range(len(self._aux_names))]
        self._data_arrays = self._dev_data[0]
        self._label_arrays = self._dev_labels[0]
        self._param_arrays = [b[0] for b in self._param_blocks]
        self._grad_arrays = [b[0] for b in self._grad_blocks]
        self._aux_arrays = [b[0] for b in self._aux_blocks]
        # MXNet's _update_params: parameter i on device k is optimizer index
        # i * num_device + k; those without a gradient are skipped but keep their numbers.
        live = [(i, w, g) for i, (w, g) in enumerate(zip(self._param_arrays, self._grad_arrays))
                if g is not None]
        self._update_index = [i * n for i, _, _ in live]
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
        if self._default_execs is None:
            self._default_execs = self._execs
        self._batch_size = self._batch_axis_size(data)
        self._slices = self._split_batch(self._batch_size)
        self._execs = [ex.reshape(allow_up_sizing=True, **self._device_shapes(data, labels, k))
                       for k, ex in enumerate(self._default_execs)]
        self._exec = self._execs[0]
        self._data_shapes, self._label_shapes = data, labels
        self._collect_arrays()

    # -- optimizer -------------------------------------------------------------------------

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Install an optimizer.

        Parameters
        ----------
        kvstore : str, KVStore or None
            A store name (``'local'``, ``'device'``, ``'dist_sync'`` ...), a store or None, as
            MXNet's ``model._create_kvstore`` takes them: one device in one process needs
            no store; with several devices (or a ``dist`` store) the gradients are summed
            through the store, and the updates run on it (``update_on_kvstore``) when it
            can, unless ``MXNET_UPDATE_ON_KVSTORE=0``. On a ``dist_*_sync`` store the
            gradients are normalized by the global batch (``batch_size * num_workers``).
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
        kv, update_on_kvstore = _create_kvstore(kvstore, len(self._context), self._arg_params)
        batch_size = self._batch_size or 1
        if kv is not None and "dist" in kv.type and "_sync" in kv.type:
            batch_size *= kv.num_workers
        rescale_grad = 1.0 / batch_size
        num_device = len(self._context)
        if update_on_kvstore:
            idx2name = dict(enumerate(self._param_names))
        else:
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
        self._kvstore = kv
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kv is not None:
            if self._compression_params:
                kv.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kv.set_optimizer(self._optimizer)
            # The store takes the module's parameters (rank 0's on a distributed store) and,
            # with the updates on it, gives them to every device.
            _initialize_kvstore(kv, self._param_blocks, self._arg_params, self._param_names,
                                update_on_kvstore)
            self._params_dirty = True
        if not update_on_kvstore:
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
        """Write the updater's states (MXNet's ``.states`` pickle; the store's updater when
        the updates run on the kvstore) to ``fname``."""
        if not self.optimizer_initialized:
            raise MXNetError("save_optimizer_states: no optimizer installed")
        storage.write_bytes_atomic(fname, self._active_updater().get_states(),
                                   storage_options)

    def _active_updater(self) -> Any:
        if self._update_on_kvstore:
            return self._kvstore._updater
        return self._updater

    def load_optimizer_states(self, fname: str, storage_options: dict | None = None) -> None:
        """Load updater states written by :meth:`save_optimizer_states` (or MXNet)."""
        if not self.optimizer_initialized:
            raise MXNetError("load_optimizer_states: no optimizer installed")
        self._active_updater().set_states(storage.read_bytes(fname, storage_options),
                                          source=str(fname))

    # -- computations ----------------------------------------------------------------------

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Forward computation; a batch shaped unlike the bound inputs rebinds (reshape).
        With several contexts the batch is split along its batch axis as bound
        (``work_load_list``). ``is_train`` None means as bound (``for_training``).
        """
        if not (self.binded and self.params_initialized):
            raise MXNetError("forward: bind the module and initialize its parameters first")
        if isinstance(data_batch, list):
            if len(data_batch) != len(self._execs):
                raise MXNetError(f"forward: {len(data_batch)} DataBatches (pre-sliced) for "
                                 f"{len(self._execs)} devices")
            if len(data_batch) == 1:
                data_batch = data_batch[0]
            else:
                raise NotSupportedError("forward: a list of DataBatch (one per device) is "
                                        "not supported; pass one batch, the module splits it")
        data = data_batch.data
        if len(data) != len(self._data_arrays):
            raise MXNetError(f"forward: the batch has {len(data)} data arrays, the module "
                             f"takes {len(self._data_arrays)} ({self._data_names})")
        if any(tuple(d.shape) != tuple(desc.shape)
               for d, desc in zip(data, self._data_shapes)):
            self._reshape_for(data_batch)
        self._load(data, self._dev_data, self._data_shapes)
        labels = getattr(data_batch, "label", None)  # any object with .data is a batch
        if self._label_shapes is not None and labels:
            self._load(labels, self._dev_labels, self._label_shapes)
        if is_train is None:
            is_train = self.for_training
        for ex in self._execs:
            ex.forward(is_train=is_train)

    def _slice(self, src: Any, k: int, desc: DataDesc) -> Any:
        """Device ``k``'s part of a batch array (a view)."""
        if len(self._execs) == 1:
            return src
        axis = DataDesc.get_batch_axis(getattr(desc, "layout", None))
        if axis < 0:
            return src
        data = src._data if isinstance(src, NDArray) else np.asarray(src)
        index = [slice(None)] * data.ndim
        index[axis] = self._slices[k]
        return data[tuple(index)]

    def _load(self, arrays: Any, targets: list, descs: list[DataDesc]) -> None:
        for k, dev in enumerate(targets):
            for src, dst, desc in zip(arrays, dev, descs):
                _copy_into(dst, self._slice(src, k, desc), desc.name)

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
        elif getattr(data_batch, "label", None) and self._label_shapes is not None:
            new_lshape = [DataDesc(d.name, tuple(a.shape), d.dtype, d.layout)
                          for d, a in zip(self._label_shapes, data_batch.label)]
        else:
            new_lshape = None
        self.reshape(new_dshape, new_lshape)

    def backward(self, out_grads: Any = None) -> None:
        """Backward computation (``out_grads`` for outputs that are not losses; split over
        the devices like the batch)."""
        if not (self.binded and self.params_initialized):
            raise MXNetError("backward: bind the module and initialize its parameters first")
        if not self.for_training:
            raise MXNetError("backward: re-bind with for_training=True to run backward")
        if len(self._execs) == 1:
            self._exec.backward(out_grads=out_grads)
            return
        if isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        for k, ex in enumerate(self._execs):
            grads = None
            if out_grads is not None:
                grads = [NDArray(np.ascontiguousarray(self._slice(g, k, desc)),
                                 self._context[k])
                         for g, desc in zip(out_grads, self._output_descs())]
            ex.backward(out_grads=grads)

    def update(self) -> None:
        """Apply the optimizer to every parameter with a gradient, in place (through the
        kvstore when there is one: gradients summed over devices and workers)."""
        if not (self.binded and self.params_initialized and self.optimizer_initialized):
            raise MXNetError("update: bind, initialize the parameters and install an "
                             "optimizer first")
        self._params_dirty = True
        if self._update_on_kvstore:
            _update_params_on_kvstore(self._param_blocks, self._grad_blocks, self._kvstore,
                                      self._param_names)
        elif self._kvstore is not None or len(self._execs) > 1:
            _update_params(self._param_blocks, self._grad_blocks, updater=self._updater,
                           num_device=len(self._execs), kvstore=self._kvstore,
                           param_names=self._param_names)
        elif self._update_index:
            self._updater(self._update_index, self._update_grads, self._update_weights)

    def _merge(self, per_device: list[list[NDArray]], descs: list | None = None
               ) -> list[NDArray]:
        """MXNet's ``_merge_multi_context``: each output's device parts concatenated along
        its batch axis (axis 0 unless a layout says otherwise)."""
        from .. import ndarray as nd

        merged = []
        for i, parts in enumerate(per_device):
            axis = 0
            if descs is not None:
                axis = DataDesc.get_batch_axis(getattr(descs[i], "layout", None))
            if len(parts) == 1 or axis < 0:
                merged.append(parts[0])
            else:
                merged.append(nd.concat(*parts, dim=axis))
        return merged

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """The outputs of the last forward (with several devices, merged along the batch
        axis, or ``[[output on each device] per output]``)."""
        if not (self.binded and self.params_initialized):
            raise MXNetError("get_outputs: bind the module and initialize its parameters "
                             "first")
        if len(self._execs) == 1:
            outs = self._exec.outputs
            return list(outs) if merge_multi_context else [[o] for o in outs]
        per_output = [[ex.outputs[i] for ex in self._execs]
                      for i in range(len(self._output_names))]
        if not merge_multi_context:
            return per_output
        return self._merge(per_output, self._output_descs())

    def _output_descs(self) -> list[DataDesc]:
        """The outputs' batch layouts (the ``__layout__`` attribute MXNet reads, e.g.
        ``'TNC'``; batch axis 0 without one), for splitting and merging along them."""
        descs = []
        for name in self._output_names:
            try:
                layout = self._symbol[name].attr("__layout__")
            except (MXNetError, KeyError, IndexError, ValueError):
                layout = None
            descs.append(DataDesc(name, (), layout=layout or "NCHW"))
        return descs

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """Gradients of the data inputs from the last backward."""
        if not (self.binded and self.params_initialized and self.inputs_need_grad):
            raise MXNetError("get_input_grads: bind with for_training=True and "
                             "inputs_need_grad=True first")
        per_input = [[ex.grad_dict[d.name] for ex in self._execs] for d in self._data_shapes]
        if merge_multi_context:
            return self._merge(per_input, self._data_shapes)
        return per_input

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The state arrays (``state_names``), one list (over devices) per state."""
        self._check_ready("get_states")
        if merge_multi_context:
            raise MXNetError("merge_multi_context=True is not supported for get_states yet.")
        return [[ex.arg_dict[n] for ex in self._execs] for n in self._state_names]

    def set_states(self, states: Any = None, value: Any = None) -> None:
        """Set the state arrays from ``states`` (one array per state, or one list per state
        with an array per device) or to a scalar ``value``."""
        self._check_ready("set_states")
        if states is not None:
            if value is not None:
                raise MXNetError("Only one of states & value can be specified.")
            for name, src in zip(self._state_names, states):
                for k, ex in enumerate(self._execs):
                    part = src[k] if isinstance(src, (list, tuple)) else src
                    _copy_into(ex.arg_dict[name], part, name)
        else:
            if value is None:
                raise MXNetError("At least one of states & value must be specified.")
            for name in self._state_names:
                for ex in self._execs:
                    ex.arg_dict[name]._data[...] = value

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Accumulate the last outputs against ``labels`` into ``eval_metric``
        (``update_dict`` with labels and outputs by name, device by device with the labels
        sliced as the batch was)."""
        names = ([d.name for d in self._label_shapes] if self._label_shapes is not None
                 else self._label_names)
        descs = self._label_shapes or [DataDesc(n, ()) for n in names]
        for k, ex in enumerate(self._execs):
            if pre_sliced:
                part = labels[k]
            elif len(self._execs) == 1:
                part = labels
            else:
                part = [NDArray(self._slice(lab, k, desc), self._context[k])
                        for lab, desc in zip(labels or [], descs)]
            eval_metric.update_dict(dict(zip(names, part or [])),
                                    dict(zip(self._output_names, ex.outputs)))

    def install_monitor(self, mon: Any) -> None:
        """Install a monitor (``mon.install(executor)``) on every executor."""
        self._check_bound("install_monitor")
        for ex in self._execs:
            mon.install(ex)

    def prepare(self, data_batch: DataBatch, sparse_row_id_fn: Any = None) -> None:
        """Prepare for a batch: nothing to pull without a KVStore."""
        if sparse_row_id_fn is not None:
            warnings.warn(UserWarning("Parameters are not updated in the KVStore. No need to "
                                      "call sparse_row_id_fn."), stacklevel=2)
