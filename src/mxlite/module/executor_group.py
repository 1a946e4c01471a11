"""``DataParallelExecutorGroup``: the executors of one symbol on several devices, each batch
split among them (MXNet 1.9.1's ``mxnet.module.executor_group``).

In mxlite a :class:`~mxlite.module.Module` owns its executors directly; this class gives
them MXNet's executor-group face (``execs``, ``param_names``, ``param_arrays``,
``grad_arrays``, ``grad_req``, ``shared_data_arrays``, ``forward`` / ``backward`` ...).
``Module._exec_group`` is such a group over the module's own executors, and a group built
with MXNet's constructor binds its own executors through a private Module (sharing the
arrays of ``shared_group`` as MXNet's bucketing does).
"""

from __future__ import annotations

import logging
from typing import Any

from ..base import MXNetError
from ..io import DataDesc
from ..ndarray.ndarray import NDArray

__all__ = ["DataParallelExecutorGroup"]


class DataParallelExecutorGroup:
    """A group of executors, one per context, that run a symbol in data parallelism.

    Parameters
    ----------
    symbol : Symbol
    contexts : list of Context
    workload : list of number
        The share of each batch each context gets.
    data_shapes, label_shapes : list of DataDesc or (name, shape)
    param_names : list of str
        The arguments that are parameters (not data, labels or states).
    for_training, inputs_need_grad : bool
    shared_group : DataParallelExecutorGroup, optional
        Arrays of the same name and shape are that group's (parameters, gradients, inputs).
    logger : Logger
    fixed_param_names : list of str, optional
    grad_req : str, list of str or dict of str to str
    state_names : list of str, optional
    group2ctxs
        Accepted for compatibility (every array is on the host).
    """

    def __init__(self, symbol: Any, contexts: Any, workload: Any, data_shapes: Any,
                 label_shapes: Any, param_names: Any, for_training: bool,
                 inputs_need_grad: bool, shared_group: DataParallelExecutorGroup | None = None,
                 logger: Any = logging, fixed_param_names: Any = None, grad_req: Any = "write",
                 state_names: Any = None, group2ctxs: Any = None):
        from .module import Module

        data_names = [_desc(x).name for x in data_shapes]
        label_names = [_desc(x).name for x in label_shapes or []]
        module = Module(symbol, data_names=data_names, label_names=label_names,
                        logger=logger, context=contexts, work_load_list=workload,
                        fixed_param_names=fixed_param_names, state_names=state_names,
                        group2ctxs=group2ctxs)
        # MXNet's group takes the parameter list it is given: arguments that are neither
        # parameters nor inputs are bound like inputs (shared, never updated).
        module._param_names = [n for n in module._param_names if n in set(param_names)]
        shared = shared_group._module if shared_group is not None else None
        module.bind(data_shapes, label_shapes, for_training=for_training,
                    inputs_need_grad=inputs_need_grad, shared_module=shared,
                    grad_req=grad_req)
        module.params_initialized = True  # a group's arrays exist from bind on (zeros)
        self._module = module

    @classmethod
    def _of_module(cls, module: Any) -> DataParallelExecutorGroup:
        """The group face of a bound Module's executors (no new arrays)."""
        group = cls.__new__(cls)
        group._module = module
        return group

    # -- MXNet's attributes ----------------------------------------------------------------

    @property
    def symbol(self) -> Any:
        return self._module._symbol

    @property
    def contexts(self) -> list:
        return self._module._context

    @property
    def workload(self) -> list:
        return self._module._work_load_list

    @property
    def execs(self) -> list:
        """The executors, one per context."""
        return self._module._execs

    @property
    def param_names(self) -> list[str]:
        return self._module._param_names

    @property
    def arg_names(self) -> list[str]:
        return self._module._symbol.list_arguments()

    @property
    def aux_names(self) -> list[str]:
        return self._module._aux_names

    @property
    def fixed_param_names(self) -> list[str]:
        return self._module._fixed_param_names

    @property
    def state_names(self) -> list[str]:
        return self._module._state_names

    @property
    def for_training(self) -> bool:
        return self._module.for_training

    @property
    def inputs_need_grad(self) -> bool:
        return self._module.inputs_need_grad

    @property
    def data_shapes(self) -> list[DataDesc]:
        return self._module._data_shapes

    @property
    def label_shapes(self) -> list[DataDesc] | None:
        return self._module._label_shapes

    @property
    def data_names(self) -> list[str]:
        return [d.name for d in self._module._data_shapes]

    @property
    def label_names(self) -> list[str]:
        return [d.name for d in self._module._label_shapes or []]

    @property
    def batch_size(self) -> int | None:
        return self._module._batch_size

    @property
    def slices(self) -> list[slice]:
        return self._module._slices

    @property
    def grad_req(self) -> dict[str, str]:
        """``{argument name: 'write' | 'add' | 'null'}`` as bound."""
        mod = self._module
        return mod._grad_reqs([d.name for d in mod._data_shapes])

    @property
    def param_arrays(self) -> list[list[NDArray]]:
        """``[parameter][device]`` arrays."""
        return self._module._param_blocks

    @property
    def grad_arrays(self) -> list[list[NDArray | None]]:
        """``[parameter][device]`` gradient arrays (None without training)."""
        return self._module._grad_blocks

    @property
    def aux_arrays(self) -> list[list[NDArray]]:
        """``[aux state][device]`` arrays."""
        return self._module._aux_blocks

    @property
    def data_arrays(self) -> list[list[tuple[slice, NDArray]]]:
        """``[input][device]`` pairs ``(batch slice, array)``."""
        mod = self._module
        return [[(mod._slices[k], dev[i]) for k, dev in enumerate(mod._dev_data)]
                for i in range(len(mod._data_shapes))]

    @property
    def label_arrays(self) -> list[list[tuple[slice, NDArray]]] | None:
        """``[label][device]`` pairs ``(batch slice, array)``, or None without labels."""
        mod = self._module
        if mod._label_shapes is None:
            return None
        return [[(mod._slices[k], dev[i]) for k, dev in enumerate(mod._dev_labels)]
                for i in range(len(mod._label_shapes))]

    @property
    def input_grad_arrays(self) -> list[list[NDArray]] | None:
        """``[input][device]`` gradients of the data (with ``inputs_need_grad``)."""
        mod = self._module
        if not mod.inputs_need_grad:
            return None
        return [[ex.grad_dict[d.name] for ex in mod._execs] for d in mod._data_shapes]

    @property
    def shared_data_arrays(self) -> list[dict[str, NDArray]]:
        """Per device, the arguments that are not parameters (inputs and the like), by name:
        what a group bound with this one as ``shared_group`` reuses."""
        params = set(self._module._param_names)
        return [{n: a for n, a in ex.arg_dict.items() if n not in params}
                for ex in self._module._execs]

    # -- MXNet's methods -------------------------------------------------------------------

    def set_params(self, arg_params: dict, aux_params: dict,
                   allow_extra: bool = False) -> None:
        """Copy the given values into every executor."""
        for ex in self._module._execs:
            ex.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params: dict, aux_params: dict) -> None:
        """Write the parameters (mean over the devices) into the given dicts' arrays."""
        mod = self._module
        n = len(mod._execs)
        for names, blocks, dst in ((mod._param_names, mod._param_blocks, arg_params),
                                   (mod._aux_names, mod._aux_blocks, aux_params)):
            for name, block in zip(names, blocks):
                total = block[0]._data.astype(block[0]._data.dtype, copy=True)
                for a in block[1:]:
                    total += a._data
                if n > 1:
                    total /= n
                if name in dst:
                    dst[name]._data[...] = total
                else:
                    dst[name] = NDArray(total, block[0].context)

    def forward(self, data_batch: Any, is_train: bool | None = None) -> None:
        self._module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads: Any = None) -> None:
        self._module.backward(out_grads=out_grads)

    def get_outputs(self, merge_multi_context: bool = True, begin: int = 0,
                    end: int | None = None) -> list:
        outs = self._module.get_outputs(merge_multi_context=merge_multi_context)
        return outs[begin:end]

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        return self._module.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context: bool = False) -> list:
        return self._module.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states: Any = None, value: Any = None) -> None:
        self._module.set_states(states, value)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        self._module.update_metric(eval_metric, labels, pre_sliced)

    def reshape(self, data_shapes: Any, label_shapes: Any) -> None:
        self._module.reshape(data_shapes, label_shapes)

    def install_monitor(self, mon: Any) -> None:
        for ex in self._module._execs:
            mon.install(ex)

    def get_output_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return self._module.output_shapes


def _desc(x: Any) -> DataDesc:
    if isinstance(x, DataDesc):
        return x
    try:
        return DataDesc(x[0], tuple(x[1]))
    except (TypeError, IndexError):
        raise MXNetError(f"DataParallelExecutorGroup: expected DataDesc or (name, shape), "
                         f"got {x!r}") from None
