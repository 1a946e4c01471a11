"""``SequentialModule``: modules chained one after another, each one's outputs the next one's
data (MXNet 1.9.1's ``mxnet.module.SequentialModule``).

Forward runs the modules in order; backward runs them in reverse, each module's input
gradients being the previous module's output gradients (so every module after the first is
bound with ``inputs_need_grad`` when training). Modules added with ``take_labels=True`` get
the batch's labels; ``auto_wiring=True`` renames the incoming outputs to the module's data
names.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from ..base import MXNetError
from ..io import DataBatch
from .base_module import _DEFAULT_INIT, BaseModule

__all__ = ["SequentialModule"]


class SequentialModule(BaseModule):
    """A container of modules run in sequence.

    Parameters
    ----------
    logger : Logger
    """

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger: Any = logging):
        super().__init__(logger=logger)
        self._modules: list[BaseModule] = []
        self._metas: list[dict] = []
        self._label_shapes: Any = None
        self._data_shapes: Any = None
        self._meta_keys = {self.META_TAKE_LABELS, self.META_AUTO_WIRING}

    def add(self, module: BaseModule, **kwargs: Any) -> SequentialModule:
        """Append ``module`` to the chain; returns ``self`` so calls chain.

        Keyword arguments are the module's meta information: ``take_labels`` (the module
        receives the batch's labels; any module in the chain may) and ``auto_wiring`` (the
        previous module's outputs are renamed to this module's data names). Adding a module
        un-binds the chain.
        """
        unknown = [k for k in kwargs if k not in self._meta_keys]
        if unknown:
            raise MXNetError(f'SequentialModule.add: Unknown meta "{unknown[0]}", a typo? '
                             f"(known: {sorted(self._meta_keys)})")
        self._modules.append(module)
        self._metas.append(kwargs)
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    def _takes_labels(self, i: int) -> bool:
        return bool(self._metas[i].get(self.META_TAKE_LABELS, False))

    # -- information -----------------------------------------------------------------------

    @property
    def data_names(self) -> list[str]:
        """The first module's data names."""
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self) -> list[str]:
        """The last module's output names."""
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self) -> list:
        """The first module's data shapes."""
        self._check_ready("data_shapes", params=False)
        return self._modules[0].data_shapes

    @property
    def label_shapes(self) -> Any:
        """The label shapes as bound (None when no module takes labels)."""
        self._check_ready("label_shapes", params=False)
        return self._label_shapes

    @property
    def output_shapes(self) -> list:
        """The last module's output shapes."""
        self._check_ready("output_shapes", params=False)
        return self._modules[-1].output_shapes

    # -- parameters ------------------------------------------------------------------------

    def get_params(self) -> tuple[dict, dict]:
        """The parameters of every module, merged into one ``(arg_params, aux_params)``."""
        self._check_ready("get_params")
        arg_params: dict = {}
        aux_params: dict = {}
        for module in self._modules:
            arg, aux = module.get_params()
            arg_params.update(arg)
            aux_params.update(aux)
        return arg_params, aux_params

    def init_params(self, initializer: Any = _DEFAULT_INIT, arg_params: dict | None = None,
                    aux_params: dict | None = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialize every module's parameters (the same dicts go to each; each takes its
        own names). Two modules may not have a parameter of the same name."""
        if self.params_initialized and not force_init:
            return
        self._check_ready("init_params", params=False)
        for module in self._modules:
            module.init_params(initializer=initializer, arg_params=arg_params,
                               aux_params=aux_params, allow_missing=allow_missing,
                               force_init=force_init, allow_extra=allow_extra)
        arg_owner: dict[str, int] = {}
        aux_owner: dict[str, int] = {}
        for i, module in enumerate(self._modules):
            args, auxs = module.get_params()
            for owner, names in ((arg_owner, args), (aux_owner, auxs)):
                for name in names:
                    if name in owner:
                        j = owner[name]
                        raise MXNetError(
                            f'Duplicated parameter names: name "{name}" in layer {i} '
                            f"({type(module).__name__}) is already used in layer {j} "
                            f"({type(self._modules[j]).__name__}).")
                    owner[name] = i
        self.params_initialized = True

    # -- binding ---------------------------------------------------------------------------

    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Bind each module for the shapes the previous one outputs (the first for
        ``data_shapes``); modules after the first are bound with ``inputs_need_grad`` when
        training, so gradients flow back through the chain. ``shared_module`` is not
        supported."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad and not for_training:
            raise MXNetError("bind: inputs_need_grad=True needs for_training=True")
        if shared_module is not None:
            raise MXNetError("bind: shared_module is not supported by SequentialModule")
        if not self._modules:
            raise MXNetError("bind: Attempting to bind an empty SequentialModule")
        self.binded = True
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._label_shapes = label_shapes
        my_data_shapes = data_shapes
        anybody_needs_label = False
        for i, module in enumerate(self._modules):
            my_label_shapes = None
            if self._takes_labels(i):
                my_label_shapes = label_shapes
                anybody_needs_label = True
            my_inputs_need_grad = bool(inputs_need_grad or (for_training and i > 0))
            if self._metas[i].get(self.META_AUTO_WIRING, False):
                data_names = module.data_names
                if len(data_names) != len(my_data_shapes):
                    raise MXNetError(f"bind: layer {i} takes {len(data_names)} inputs "
                                     f"({data_names}), the previous layer gives "
                                     f"{len(my_data_shapes)}")
                my_data_shapes = [(name, tuple(shape)) for name, (_, shape)
                                  in zip(data_names, my_data_shapes)]
            module.bind(data_shapes=my_data_shapes, label_shapes=my_label_shapes,
                        for_training=for_training, inputs_need_grad=my_inputs_need_grad,
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            my_data_shapes = module.output_shapes
        if not anybody_needs_label:
            self._label_shapes = None

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Install the optimizer on every module (each with its own states)."""
        self._check_ready("init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        for module in self._modules:
            module.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                  optimizer_params=optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    # -- computations ----------------------------------------------------------------------

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Run the modules in order, each one's outputs the next one's data."""
        self._check_ready("forward")
        data_batch = copy.copy(data_batch)  # the caller's batch keeps its data
        for i, module in enumerate(self._modules):
            module.forward(data_batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            data_batch.data = module.get_outputs()
            if hasattr(data_batch, "provide_data"):
                names = [x[0] for x in module.output_shapes]
                data_batch.provide_data = [(name, tuple(x.shape))
                                           for name, x in zip(names, data_batch.data)]

    def backward(self, out_grads: Any = None) -> None:
        """Run the modules' backward in reverse, passing input gradients down the chain."""
        self._check_ready("backward")
        for i in range(len(self._modules) - 1, -1, -1):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self) -> None:
        """Update every module's parameters."""
        self._check_ready("update", optimizer=True)
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """The last module's outputs."""
        self._check_ready("get_outputs")
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """The first module's input gradients (bind with ``inputs_need_grad``)."""
        self._check_ready("get_input_grads")
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads: bind with inputs_need_grad=True first")
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Every module that takes labels accumulates its outputs into ``eval_metric``."""
        self._check_ready("update_metric")
        for i, module in enumerate(self._modules):
            if self._takes_labels(i):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon: Any) -> None:
        """Install a monitor on every module."""
        self._check_ready("install_monitor", params=False)
        for module in self._modules:
            module.install_monitor(mon)
