"""``PythonModule`` and ``PythonLossModule``: modules whose computation is written in Python
rather than as a Symbol (MXNet 1.9.1's ``mxnet.module.python_module``).

A ``PythonModule`` has no parameters and no optimizer; subclasses implement ``forward``,
``backward``, ``get_outputs``, ``get_input_grads`` and ``_compute_output_shapes``.
``PythonLossModule`` is a loss at the top of a :class:`SequentialModule`: its output is its
input (the scores) and its input gradient comes from ``grad_func(scores, labels)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ndarray as nd
from ..base import MXNetError
from ..io import DataBatch
from ..ndarray.ndarray import NDArray
from .base_module import _DEFAULT_INIT, BaseModule

__all__ = ["PythonModule", "PythonLossModule"]


class PythonModule(BaseModule):
    """A convenient base for modules written in Python.

    Parameters
    ----------
    data_names, label_names : list of str
    output_names : list of str
    logger : Logger
    """

    def __init__(self, data_names: Any, label_names: Any, output_names: Any,
                 logger: Any = logging):
        super().__init__(logger=logger)
        if isinstance(data_names, tuple):
            data_names = list(data_names)
        if isinstance(label_names, tuple):
            label_names = list(label_names)
        self._data_names = data_names
        self._label_names = label_names
        self._output_names = output_names
        self._data_shapes: Any = None
        self._label_shapes: Any = None
        self._output_shapes: Any = None

    @property
    def data_names(self) -> list[str]:
        """Names of the data inputs."""
        return self._data_names

    @property
    def output_names(self) -> list[str]:
        """Names of the outputs."""
        return self._output_names

    @property
    def data_shapes(self) -> Any:
        """The data shapes as bound."""
        return self._data_shapes

    @property
    def label_shapes(self) -> Any:
        """The label shapes as bound (None without labels)."""
        return self._label_shapes

    @property
    def output_shapes(self) -> Any:
        """``(name, shape)`` of each output (from ``_compute_output_shapes``)."""
        return self._output_shapes

    def get_params(self) -> tuple[dict, dict]:
        """No parameters: two empty dicts."""
        return {}, {}

    def init_params(self, initializer: Any = _DEFAULT_INIT, arg_params: dict | None = None,
                    aux_params: dict | None = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Nothing to initialize (the module is marked initialized)."""
        self.params_initialized = True

    def update(self) -> None:
        """No parameters to update."""

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """``eval_metric.update(labels, outputs)`` when bound with labels."""
        if self._label_shapes is None:
            return
        if pre_sliced:
            raise MXNetError("PythonModule does not support presliced labels")
        eval_metric.update(labels, self.get_outputs())

    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Record the shapes (names must match the module's, in order) and compute the output
        shapes; only ``grad_req='write'`` is supported."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if grad_req != "write":
            raise MXNetError(f"bind: Python module only support write gradient, got "
                             f"grad_req={grad_req!r}")
        names = [x[0] for x in data_shapes]
        if names != list(self._data_names):
            raise MXNetError(f"bind: data_shapes names {names} do not match the module's "
                             f"data_names {self._data_names}")
        if label_shapes is not None:
            lnames = [x[0] for x in label_shapes]
            if self._label_names is None or lnames != list(self._label_names):
                raise MXNetError(f"bind: label_shapes names {lnames} do not match the "
                                 f"module's label_names {self._label_names}")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._data_shapes = data_shapes
        self._label_shapes = label_shapes
        self._output_shapes = self._compute_output_shapes()
        self.binded = True

    def _compute_output_shapes(self) -> list:
        """``(name, shape)`` of each output, from ``self._data_shapes``."""
        raise NotImplementedError()

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """No parameters, no optimizer (the module is marked ready)."""
        self.optimizer_initialized = True


class PythonLossModule(PythonModule):
    """A loss written in Python: forward passes the scores through, backward computes their
    gradient with ``grad_func(scores, labels)``.

    Parameters
    ----------
    name : str
        The output is named ``name + '_output'``.
    data_names, label_names : sequence of str
        One of each.
    logger : Logger
    grad_func : callable
        ``grad_func(scores, labels)`` -> the gradient of the loss w.r.t. the scores (an
        NDArray or anything ``mx.nd.array`` takes).
    """

    def __init__(self, name: str = "pyloss", data_names: Any = ("data",),
                 label_names: Any = ("softmax_label",), logger: Any = logging,
                 grad_func: Callable | None = None):
        super().__init__(data_names, label_names, [name + "_output"], logger=logger)
        self._name = name
        if len(data_names) != 1 or len(label_names) != 1:
            raise MXNetError(f"PythonLossModule takes one data and one label name, got "
                             f"{list(data_names)} and {list(label_names)}")
        if grad_func is not None and not callable(grad_func):
            raise MXNetError("PythonLossModule: grad_func must be callable")
        self._scores: Any = None
        self._labels: Any = None
        self._scores_grad: Any = None
        self._grad_func = grad_func

    def _compute_output_shapes(self) -> list:
        return [(self._name + "_output", self._data_shapes[0][1])]

    def forward(self, data_batch: DataBatch, is_train: bool | None = None) -> None:
        """Keep the scores (``data[0]``) and, when training, the labels (``label[0]``)."""
        self._scores = data_batch.data[0]
        if is_train is None:
            is_train = self.for_training
        if is_train:
            self._labels = data_batch.label[0]

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """The scores of the last forward."""
        if not merge_multi_context:
            raise MXNetError("PythonLossModule.get_outputs: only merge_multi_context=True")
        return [self._scores]

    def backward(self, out_grads: Any = None) -> None:
        """The scores' gradient from ``grad_func`` (a loss takes no ``out_grads``)."""
        if out_grads is not None:
            raise MXNetError("For a loss module, out_grads should be None")
        if not self.for_training:
            raise MXNetError("backward: re-bind with for_training=True to run backward")
        self._backward_impl()

    def _backward_impl(self) -> None:
        """Compute ``self._scores_grad``; override it, or pass ``grad_func``."""
        if self._grad_func is None:
            raise NotImplementedError("PythonLossModule: pass grad_func or override "
                                      "_backward_impl")
        grad = self._grad_func(self._scores, self._labels)
        if not isinstance(grad, NDArray):
            grad = nd.array(np.asarray(grad))
        self._scores_grad = grad

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """The scores' gradient from the last backward."""
        if not merge_multi_context:
            raise MXNetError("PythonLossModule.get_input_grads: only "
                             "merge_multi_context=True")
        return [self._scores_grad]

    def install_monitor(self, mon: Any) -> None:
        """Not supported (no executors to monitor)."""
        raise NotImplementedError("PythonLossModule has no executors to monitor")
