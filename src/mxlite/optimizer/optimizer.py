"""Optimizers (``mx.optimizer``) with MXNet 1.9.1's update rules, and the ``Updater``.

Each ``update(index, weight, grad, state)`` applies the exact formula of MXNet's kernel
(``src/operator/optimizer_op-inl.h``) or Python code for that optimizer, in place on the numpy
buffers of the ``NDArray`` weight and state, in the weight's dtype.  Hyper-parameters are
Python floats; as in MXNet, the learning rate and weight decay are resolved per index
(``lr_mult`` / ``wd_mult``, the scheduler, ``param_idx2name``) before each update.

Two ``clip_gradient`` conventions coexist, as in MXNet: optimizers backed by a C++ kernel clip
only when ``clip_gradient`` is truthy and positive; those written in Python (AdaGrad,
AdaDelta, Adamax, Nadam, DCASGD, SGLD) clip whenever it is not ``None``.

Pickling: optimizers keep MXNet's attribute names and order (``rescale_grad``, ``lr``, ``wd``,
``lr_mult``, ``idx2name``, ``_index_update_count``, ...), and ``Updater.get_states`` writes
classes under MXNet's module paths, so a ``.states`` file (with or without the optimizer) is
byte for byte what MXNet writes and MXNet loads it.  ``Updater.set_states`` reads through
``mxlite.compat.load_pickle``'s allow-list, to which this module adds the optimizer classes.
``param_dict`` is dropped on pickling; attributes missing from an older pickle take the
class defaults.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
from typing import Any

import numpy as np

from ..base import MXNetError, NotSupportedError
from ..ndarray.ndarray import NDArray

__all__ = ["Optimizer", "register", "create", "get_updater", "Updater", "SGD", "NAG", "Signum",
           "FTML", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "Ftrl", "Adamax", "Nadam",
           "DCASGD", "SGLD", "LAMB", "Test", "ccSGD"]


def _np(x: Any) -> np.ndarray:
    """The numpy buffer of a dense NDArray (or a numpy array as is), written in place."""
    if getattr(x, "stype", "default") != "default":
        raise NotSupportedError(f"optimizer: weights and states must be dense NDArrays, got "
                                f"a {x.stype} array")
    data = getattr(x, "_data", x)
    if not isinstance(data, np.ndarray):
        raise MXNetError(f"optimizer: expected an NDArray, got {type(x).__name__}")
    return data


def _grad_values(grad: Any) -> np.ndarray:
    """A gradient's values as a dense numpy array (sparse gradients are densified: the
    standard, non-lazy update, as MXNet's storage fallback computes it)."""
    if getattr(grad, "stype", "default") != "default":
        return grad.asnumpy()
    return _np(grad)


def _lazy_rows(grad: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(row indices, row values)`` of a row_sparse gradient, else None."""
    if getattr(grad, "stype", "default") == "row_sparse":
        return np.asarray(grad._aux[0], dtype=np.int64), grad._data
    return None


def _lazy_update(step: Any, w: np.ndarray, grad: Any, states: list[np.ndarray | None],
                 lazy: bool) -> None:
    """Run ``step(w, g, *states)`` on the whole arrays, or, for a row_sparse ``grad`` with
    ``lazy`` (MXNet's ``lazy_update``), on just the rows the gradient holds."""
    rows = _lazy_rows(grad) if lazy else None
    if rows is None:
        step(w, _grad_values(grad), *states)
        return
    idx, values = rows
    w_rows = w[idx]
    st_rows = [None if st is None else st[idx] for st in states]
    step(w_rows, values, *st_rows)
    w[idx] = w_rows
    for st, sub in zip(states, st_rows):
        if st is not None:
            st[idx] = sub


def _zeros_like(weight: Any, dtype: Any = None) -> NDArray:
    w = _np(weight)
    return NDArray(np.zeros(w.shape, dtype=w.dtype if dtype is None else dtype),
                   ctx=getattr(weight, "_ctx", None))


def _scaled_grad(grad: Any, rescale: float, dtype: np.dtype) -> np.ndarray:
    """A fresh ``rescale * grad`` in the weight's dtype (the caller's grad is left alone)."""
    return np.multiply(_grad_values(grad), rescale, dtype=dtype)


def _clip(g: np.ndarray, bound: float | None) -> np.ndarray:
    if bound is not None:
        np.clip(g, -bound, bound, out=g)
    return g


class Optimizer:
    """Base class of the optimizers.

    Parameters
    ----------
    rescale_grad : float
        Gradients are multiplied by this before use (typically ``1 / batch_size``).
    param_idx2name : dict of int to str
        Parameter names by index; names not ending in ``_weight`` or ``_gamma`` get no weight
        decay (``wd_mult`` 0) unless a multiplier says otherwise.
    wd : float
        Weight decay (L2 penalty).
    clip_gradient : float, optional
        Clip the rescaled gradient to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float, optional
        The learning rate (0.01 if neither it nor ``lr_scheduler`` is given); overrides the
        scheduler's ``base_lr``.
    lr_scheduler : LRScheduler, optional
        Gives the learning rate from the number of updates.
    sym : Symbol, optional
        Source of per-argument ``__lr_mult__`` / ``__wd_mult__`` attributes.
    begin_num_update : int
        The update count to start from.
    multi_precision : bool
        Keep a float32 master copy of float16 weights and update that.
    param_dict : dict, optional
        Gluon parameters by index (their ``lr_mult`` / ``wd_mult`` take precedence).
    """

    opt_registry: dict[str, type[Optimizer]] = {}
    # Where create_state_multi_precision puts the float32 master copy in the state tuple.
    _master_index = 0

    def __init__(self, rescale_grad: float = 1.0, param_idx2name: dict | None = None,
                 wd: float = 0.0, clip_gradient: float | None = None,
                 learning_rate: float | None = None, lr_scheduler: Any = None,
                 sym: Any = None, begin_num_update: int = 0, multi_precision: bool = False,
                 param_dict: dict | None = None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if self.lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if self.lr_scheduler is not None and learning_rate is not None:
            if self.lr_scheduler.base_lr != learning_rate:
                warnings.warn("learning rate from ``lr_scheduler`` has been overwritten by "
                              "``learning_rate`` in optimizer.", UserWarning, stacklevel=2)
                self.lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult: dict = {}
        self.wd_mult: dict = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts: dict = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise MXNetError("param_idx2name should be a dict of param indexes to names.")
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False
        self.set_lr_mult({})
        self.set_wd_mult({})

    # -- registry ---------------------------------------------------------------------------
    @staticmethod
    def register(klass: type[Optimizer]) -> type[Optimizer]:
        """Register an optimizer class under its lowercase name (for ``create``)."""
        if not isinstance(klass, type):
            raise MXNetError(f"Optimizer.register expects a class, got {klass!r}")
        name = klass.__name__.lower()
        old = Optimizer.opt_registry.get(name)
        if old is not None:
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {old.__module__}.{old.__name__}",
                          stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name: str, **kwargs: Any) -> Optimizer:
        """Instantiate the optimizer registered as ``name`` (case-insensitive)."""
        klass = Optimizer.opt_registry.get(str(name).lower())
        if klass is None:
            raise MXNetError(f"Cannot find optimizer {name}")
        return klass(**kwargs)

    # -- learning rate and multipliers ------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr: float) -> None:
        """Set the learning rate; refused (``UserWarning`` raised) when a scheduler owns it."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note "
                              "that set_learning_rate can mutate the value of the learning "
                              "rate of the optimizer only when the LRScheduler of the "
                              "optimizer is undefined.")
        self.lr = lr

    def set_lr_mult(self, args_lr_mult: dict) -> None:
        """Per-name (or per-index) learning-rate multipliers, over the symbol's
        ``__lr_mult__`` attributes."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult: dict) -> None:
        """Per-name (or per-index) weight-decay multipliers.

        Names in ``param_idx2name`` not ending in ``_weight`` or ``_gamma`` default to 0;
        the symbol's ``__wd_mult__`` attributes and then ``args_wd_mult`` override.
        """
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def set_lr_scale(self, args_lrscale: dict) -> None:
        raise DeprecationWarning

    def _set_current_context(self, device_id: int) -> None:
        """Switch to the per-device update counts."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index: Any) -> None:
        for idx in index if isinstance(index, (list, tuple)) else [index]:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _get_lrs(self, indices: list) -> list[float]:
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        lrs = [lr for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                lrs[i] *= self.param_dict[index].lr_mult
            elif index in self.lr_mult:
                lrs[i] *= self.lr_mult[index]
            elif index in self.idx2name:
                lrs[i] *= self.lr_mult.get(self.idx2name[index], 1.0)
        return lrs

    def _get_lr(self, index: Any) -> float:
        return self._get_lrs([index])[0]

    def _get_wds(self, indices: list) -> list[float]:
        wds = [self.wd for _ in indices]
        for i, index in enumerate(indices):
            if index in self.param_dict:
                wds[i] *= self.param_dict[index].wd_mult
            elif index in self.wd_mult:
                wds[i] *= self.wd_mult[index]
            elif index in self.idx2name:
                wds[i] *= self.wd_mult.get(self.idx2name[index], 1.0)
        return wds

    def _get_wd(self, index: Any) -> float:
        return self._get_wds([index])[0]

    def _kernel_clip(self) -> float | None:
        # MXNet passes clip_gradient to its C++ kernels only when truthy, and they clip
        # only when it is >= 0.
        c = self.clip_gradient
        return c if c and c > 0 else None

    # -- states and updates -----------------------------------------------------------------
    def create_state(self, index: Any, weight: NDArray) -> Any:
        """The auxiliary state (NDArray, tuple of NDArrays or None) for one weight."""
        return None

    def create_state_multi_precision(self, index: Any, weight: NDArray) -> Any:
        """``create_state``, with a float32 master copy for float16 weights when
        ``multi_precision`` is on."""
        w = _np(weight)
        if w.dtype == np.float16:
            if self.multi_precision:
                master = NDArray(w.astype(np.float32), ctx=getattr(weight, "_ctx", None))
                inner = self.create_state(index, master)
                return (master, inner) if self._master_index == 0 else (inner, master)
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy "
                          "or slow convergence. Consider using multi_precision=True option of "
                          "the optimizer", stacklevel=2)
        return self.create_state(index, weight)

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        """Update ``weight`` in place from ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index: Any, weight: NDArray, grad: NDArray,
                               state: Any) -> None:
        """``update``, through the float32 master copy for float16 weights.

        ``index``, ``weight``, ``grad`` and ``state`` may also be lists of the same length
        (MXNet's aggregated update of several weights in one call); each weight is then
        updated as on its own.
        """
        if isinstance(index, (list, tuple)):
            for one in zip(index, weight, grad, state, strict=True):
                self.update_multi_precision(*one)
            return
        w = _np(weight)
        if (self.multi_precision and w.dtype == np.float16
                and isinstance(state, (tuple, list))):
            master = state[self._master_index]
            inner = state[1 - self._master_index]
            grad32 = NDArray(_grad_values(grad).astype(np.float32))
            self.update(index, master, grad32, inner)
            w[...] = _np(master)
        else:
            self.update(index, weight, grad, state)

    # -- pickling ---------------------------------------------------------------------------
    def __getstate__(self) -> dict:
        ret = self.__dict__.copy()
        ret.pop("param_dict", None)
        return ret

    def __setstate__(self, state: dict) -> None:
        # Pickles from older MXNet lack some attributes: start from a default instance's.
        try:
            defaults = type(self)().__dict__
        except Exception:  # a subclass without default arguments
            defaults = {}
        defaults.update(state)
        if "_all_index_update_counts" not in state and "_index_update_count" in state:
            defaults["_all_index_update_counts"] = {0: state["_index_update_count"]}
        defaults.pop("sym", None)
        self.__dict__ = defaults
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


# ---------------------------------------------------------------------------------------------
# Kernel-backed optimizers
# ---------------------------------------------------------------------------------------------


def _sgd_step(w: np.ndarray, grad: Any, mom: np.ndarray | None, lr: float, wd: float,
              momentum: float, rescale: float, clip: float | None) -> None:
    """MXNet's sgd_update / sgd_mom_update (and their multi_* forms)::

        mom = momentum * mom - lr * wd * w - lr * clip(rescale * grad);  w += mom
        w = (1 - lr * wd) * w - lr * clip(rescale * grad)                (no momentum)
    """
    if clip is None:  # one pass for lr * rescale * grad
        g = _scaled_grad(grad, lr * rescale, w.dtype)
    else:
        g = _clip(_scaled_grad(grad, rescale, w.dtype), clip)
        g *= lr
    if mom is None:
        if wd:
            w *= 1.0 - lr * wd
        w -= g
        return
    mom *= momentum
    mom -= g
    if wd:
        np.multiply(w, lr * wd, out=g)
        mom -= g
    w += mom


@register
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (MXNet's ``sgd_mom_update``)::

        state = momentum * state - lr * (clip(rescale_grad * grad) + wd * weight)
        weight = weight + state

    With a row_sparse gradient and ``lazy_update`` (the default), only the rows the gradient
    holds are updated (momentum and weight decay included); otherwise the gradient counts as
    dense, zeros elsewhere.
    """

    _master_index = 1

    def __init__(self, momentum: float = 0.0, lazy_update: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = 4

    def create_state(self, index: Any, weight: NDArray) -> NDArray | None:
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        momentum = self.momentum if self.momentum > 0 else 0.0
        clip = self._kernel_clip()

        def step(w: np.ndarray, g: np.ndarray, mom: np.ndarray | None) -> None:
            _sgd_step(w, g, mom, lr, wd, momentum, self.rescale_grad, clip)

        _lazy_update(step, _np(weight), grad, [None if state is None else _np(state)],
                     self.lazy_update)


@register
class ccSGD(SGD):  # noqa: N801 - MXNet's name
    """Deprecated alias of :class:`SGD`."""


@register
class NAG(Optimizer):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``)::

        d = lr * (clip(rescale_grad * grad) + wd * weight)
        state = momentum * state
        weight = weight + momentum * state - (1 + momentum) * d
        state = state - lr * (clip(rescale_grad * grad) + wd * weight)   (the new weight)
    """

    _master_index = 1

    def __init__(self, momentum: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index: Any, weight: NDArray) -> NDArray | None:
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w = _np(weight)
        if state is None:
            _sgd_step(w, grad, None, lr, wd, 0.0, self.rescale_grad, self._kernel_clip())
            return
        momentum = self.momentum if self.momentum > 0 else 0.0
        mom = _np(state)
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self._kernel_clip())
        d = wd * w
        d += g
        d *= lr
        mom *= momentum
        w += momentum * mom
        d *= 1.0 + momentum
        w -= d
        # MXNet's kernel writes the weight in place before it updates the state, so the
        # state's decay term sees the new weight.
        np.multiply(w, wd, out=d)
        d += g
        d *= lr
        mom -= d


@register
class Signum(Optimizer):
    """signSGD / Signum (MXNet's ``signsgd_update`` / ``signum_update``)::

        state = momentum * state - (1 - momentum) * (wd * weight + clip(rescale_grad * grad))
        weight = (1 - lr * wd_lh) * weight + lr * sign(state)

    and without momentum ``weight = (1 - lr * wd) * weight - lr * sign(clip(rescale * grad))``.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, wd_lh: float = 0.0,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index: Any, weight: NDArray) -> NDArray | None:
        return _zeros_like(weight) if self.momentum != 0.0 else None

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w = _np(weight)
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self._kernel_clip())
        if state is None:
            np.sign(g, out=g)
            g *= lr
            w *= 1.0 - lr * wd
            w -= g
            return
        momentum = self.momentum if self.momentum > 0 else 0.0
        mom = _np(state)
        g += wd * w
        g *= 1.0 - momentum
        mom *= momentum
        mom -= g
        np.sign(mom, out=g)
        g *= lr
        w *= 1.0 - lr * (self.wd_lh or 0.0)
        w += g


@register
class FTML(Optimizer):
    """Follow the Moving Leader (MXNet's ``ftml_update``), state ``(d, v, z)``::

        g = clip(rescale_grad * grad + wd * weight)
        v = beta2 * v + (1 - beta2) * g**2
        d_t = (1 - beta1**t) / lr * (sqrt(v / (1 - beta2**t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * weight
        d = d_t;  weight = -z / d_t
    """

    def __init__(self, beta1: float = 0.6, beta2: float = 0.999, epsilon: float = 1e-8,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight), _zeros_like(weight), _zeros_like(weight))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        w = _np(weight)
        d, v, z = (_np(s) for s in state)
        g = _scaled_grad(grad, self.rescale_grad, w.dtype)
        g += wd * w
        _clip(g, self._kernel_clip())
        v *= self.beta2
        v += (1 - self.beta2) * np.square(g)
        d_t = np.sqrt(v / (1 - self.beta2 ** t))
        d_t += self.epsilon
        d_t *= (1 - self.beta1 ** t) / lr
        z *= self.beta1
        g *= 1 - self.beta1
        z += g
        d *= -self.beta1
        d += d_t
        d *= w
        z -= d
        d[...] = d_t
        np.divide(z, d_t, out=w)
        np.negative(w, out=w)


@register
class Adam(Optimizer):
    """Adam (MXNet's ``adam_update``), state ``(mean, var)``; the bias correction is folded
    into the learning rate, ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)``::

        g = clip(rescale_grad * grad + wd * weight)
        mean = beta1 * mean + (1 - beta1) * g
        var = beta2 * var + (1 - beta2) * g**2
        weight = weight - lr_t * mean / (sqrt(var) + epsilon)

    ``lazy_update`` with a row_sparse gradient updates only the rows it holds.
    """

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, lazy_update: bool = True, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr *= math.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        clip = self._kernel_clip()

        def step(w: np.ndarray, grad: np.ndarray, mean: np.ndarray, var: np.ndarray) -> None:
            g = _scaled_grad(grad, self.rescale_grad, w.dtype)
            g += wd * w
            _clip(g, clip)
            mean *= self.beta1
            mean += (1.0 - self.beta1) * g
            var *= self.beta2
            np.square(g, out=g)
            g *= 1.0 - self.beta2
            var += g
            np.sqrt(var, out=g)
            g += self.epsilon
            np.divide(mean, g, out=g)
            g *= lr
            w -= g

        _lazy_update(step, _np(weight), grad, [_np(state[0]), _np(state[1])], self.lazy_update)


@register
class RMSProp(Optimizer):
    """RMSProp (MXNet's ``rmsprop_update``; ``centered=True``: Graves' ``rmspropalex_update``).

    With ``g = clip(rescale_grad * grad + wd * weight)``::

        n = (1 - gamma1) * g**2 + gamma1 * n
        weight = weight - lr * g / sqrt(n + epsilon)                       (plain)

        m = (1 - gamma1) * g + gamma1 * m                                  (centered)
        delta = gamma2 * delta - lr * g / sqrt(n - m**2 + epsilon)
        weight = weight + delta

    then ``weight`` is clipped to ``[-clip_weights, clip_weights]`` when that is set.
    """

    def __init__(self, learning_rate: float = 0.001, gamma1: float = 0.9, gamma2: float = 0.9,
                 epsilon: float = 1e-8, centered: bool = False,
                 clip_weights: float | None = None, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        n = 3 if self.centered else 1
        return tuple(_zeros_like(weight, np.float32) for _ in range(n))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w = _np(weight)
        g = _scaled_grad(grad, self.rescale_grad, w.dtype)
        g += wd * w
        _clip(g, self._kernel_clip())
        n = _np(state[0])
        n *= self.gamma1
        n += (1.0 - self.gamma1) * np.square(g)
        if not self.centered:
            g /= np.sqrt(n + self.epsilon)
            g *= lr
            w -= g
        else:
            m, delta = _np(state[1]), _np(state[2])
            m *= self.gamma1
            m += (1.0 - self.gamma1) * g
            denom = n - np.square(m)
            denom += self.epsilon
            np.sqrt(denom, out=denom)
            g /= denom
            g *= lr
            delta *= self.gamma2
            delta -= g
            w += delta
        cw = self.clip_weights
        if cw and cw > 0:
            np.clip(w, -cw, cw, out=w)


@register
class Ftrl(Optimizer):
    """FTRL-proximal (MXNet's ``ftrl_update``), state ``(z, n)``::

        g = clip(rescale_grad * grad)
        z += g - (sqrt(n + g**2) - sqrt(n)) * weight / lr
        n += g**2
        weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)
    """

    def __init__(self, lamda1: float = 0.01, learning_rate: float = 0.1, beta: float = 1,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight, np.float32), _zeros_like(weight, np.float32))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        wd, lr = self._get_wd(index), self._get_lr(index)
        w = _np(weight)
        z, n = _np(state[0]), _np(state[1])
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self._kernel_clip())
        g2 = np.square(g)
        sqrt_n = np.sqrt(n)
        n += g2
        z += g
        np.sqrt(n, out=g2)  # now sqrt of the new n
        sqrt_n -= g2
        sqrt_n *= w
        sqrt_n /= lr
        z += sqrt_n
        # weight = (sign(z) * lamda1 - z) / ((beta + sqrt(n_new)) / lr + wd), zero where
        # |z| <= lamda1.
        g2 += self.beta
        g2 /= lr
        g2 += wd
        np.sign(z, out=w)
        w *= self.lamda1
        w -= z
        w /= g2
        w[np.abs(z) <= self.lamda1] = 0


@register
class LAMB(Optimizer):
    """LAMB (MXNet's ``multi_lamb_update``, which the updater uses), state ``(mean, var)``::

        g = clip(rescale_grad * grad)
        mean = beta1 * mean + (1 - beta1) * g;  var = beta2 * var + (1 - beta2) * g**2
        r = mean_hat / (sqrt(var_hat) + epsilon) + wd * weight    (hats: bias-corrected)
        r1 = clamp(||weight||, lower_bound, upper_bound);  r2 = ||r||
        weight = weight - lr * (r1 / r2 if r1 > 0 and r2 > 0 else 1) * r
    """

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-6, lower_bound: float | None = None,
                 upper_bound: float | None = None, bias_correction: bool = True,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        w = _np(weight)
        mean, var = _np(state[0]), _np(state[1])
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self._kernel_clip())
        mean *= self.beta1
        mean += (1.0 - self.beta1) * g
        var *= self.beta2
        np.square(g, out=g)
        g *= 1.0 - self.beta2
        var += g
        if self.bias_correction:
            np.divide(var, 1.0 - self.beta2 ** t, out=g)
            np.sqrt(g, out=g)
            g += self.epsilon
            np.divide(mean, g, out=g)
            g /= 1.0 - self.beta1 ** t
        else:
            np.sqrt(var, out=g)
            g += self.epsilon
            np.divide(mean, g, out=g)
        g += wd * w
        r1 = float(np.linalg.norm(w.ravel()))
        if self.lower_bound:
            r1 = max(r1, self.lower_bound)
        if self.upper_bound:
            r1 = min(r1, self.upper_bound)
        r2 = float(np.linalg.norm(g.ravel()))
        ratio = r1 / r2 if r1 != 0 and r2 != 0 else 1.0
        g *= lr * ratio
        w -= g


# ---------------------------------------------------------------------------------------------
# Optimizers MXNet writes in Python (NDArray arithmetic)
# ---------------------------------------------------------------------------------------------


@register
class AdaGrad(Optimizer):
    """AdaGrad, state ``history`` (float32)::

        g = clip(rescale_grad * grad);  history += g**2
        weight = weight - lr * (g / sqrt(history + eps) + wd * weight)
    """

    def __init__(self, eps: float = 1e-7, **kwargs: Any):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index: Any, weight: NDArray) -> NDArray:
        return _zeros_like(weight, np.float32)

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w, history = _np(weight), _np(state)
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self.clip_gradient)
        history += np.square(g)
        g /= np.sqrt(history + self.float_stable_eps)
        g += w * wd
        g *= -lr
        w += g


@register
class AdaDelta(Optimizer):
    """AdaDelta (no learning rate), state ``(acc_g, acc_delta)`` (float32)::

        g = clip(rescale_grad * grad)
        acc_g = rho * acc_g + (1 - rho) * g**2
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        weight = weight - (delta + wd * weight)

    (MXNet also rescales the caller's gradient array in place; mxlite leaves it alone.)
    """

    def __init__(self, rho: float = 0.90, epsilon: float = 1e-5, **kwargs: Any):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight, np.float32), _zeros_like(weight, np.float32))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        wd = self._get_wd(index)
        self._update_count(index)
        w = _np(weight)
        acc_g, acc_delta = _np(state[0]), _np(state[1])
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self.clip_gradient)
        acc_g *= self.rho
        acc_g += (1.0 - self.rho) * g * g
        delta = np.sqrt(acc_delta + self.epsilon)
        delta /= np.sqrt(acc_g + self.epsilon)
        delta *= g
        acc_delta *= self.rho
        acc_delta += (1.0 - self.rho) * delta * delta
        delta += wd * w
        w -= delta


@register
class Adamax(Optimizer):
    """AdaMax, state ``(m, u)``::

        g = clip(rescale_grad * grad + wd * weight)
        m = beta1 * m + (1 - beta1) * g;  u = max(beta2 * u, |g|)
        weight = weight - lr / (1 - beta1**t) * m / u
    """

    def __init__(self, learning_rate: float = 0.002, beta1: float = 0.9, beta2: float = 0.999,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr /= 1.0 - self.beta1 ** t
        w = _np(weight)
        m_t, u_t = _np(state[0]), _np(state[1])
        g = _scaled_grad(grad, self.rescale_grad, w.dtype)
        g += wd * w
        _clip(g, self.clip_gradient)
        m_t *= self.beta1
        m_t += (1.0 - self.beta1) * g
        u_t *= self.beta2
        np.maximum(u_t, np.abs(g, out=g), out=u_t)
        np.divide(m_t, u_t, out=g)
        g *= lr
        w -= g


@register
class Nadam(Optimizer):
    """Nesterov Adam, state ``(m, v)``; the momentum schedule ``m_schedule`` is one value per
    optimizer (shared by all indices, as in MXNet)."""

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, schedule_decay: float = 0.004, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.0

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        return (_zeros_like(weight), _zeros_like(weight))

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        w = _np(weight)
        g = _scaled_grad(grad, self.rescale_grad, w.dtype)
        g += wd * w
        _clip(g, self.clip_gradient)
        momentum_t = self.beta1 * (1.0 - 0.5 * pow(0.96, t * self.schedule_decay))
        momentum_t_1 = self.beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * self.schedule_decay))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m_t, v_t = _np(state[0]), _np(state[1])
        m_t *= self.beta1
        m_t += (1.0 - self.beta1) * g
        v_t *= self.beta2
        v_t += (1.0 - self.beta2) * g * g
        # m_t_bar = (1 - momentum_t) * g / (1 - m_schedule) + momentum_t_1 * m_t_prime
        g *= (1.0 - momentum_t) / (1.0 - self.m_schedule)
        g += momentum_t_1 * (m_t / (1.0 - m_schedule_next))
        denom = v_t / (1.0 - pow(self.beta2, t))
        np.sqrt(denom, out=denom)
        denom += self.epsilon
        g *= lr
        g /= denom
        w -= g


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD, state ``(momentum or None, previous weight)``::

        step = -lr * (g + wd * weight + lamda * g**2 * (weight - previous))
        mom = momentum * mom + step (or step without momentum)
        previous = weight;  weight = weight + mom

    (MXNet 1.9.1 tests ``if mom:``, which raises for a momentum array of more than one
    element; mxlite applies the momentum formula instead.)
    """

    def __init__(self, momentum: float = 0.0, lamda: float = 0.04, **kwargs: Any):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous: dict = {}
        self.lamda = lamda

    def create_state(self, index: Any, weight: NDArray) -> tuple:
        prev = NDArray(_np(weight).copy(), ctx=getattr(weight, "_ctx", None))
        return (None if self.momentum == 0.0 else _zeros_like(weight), prev)

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w = _np(weight)
        mom_nd, prev_nd = state
        prev = _np(prev_nd)
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self.clip_gradient)
        step = np.square(g)
        step *= self.lamda
        step *= w - prev
        step += g
        step += wd * w
        step *= -lr
        if mom_nd is not None:
            mom = _np(mom_nd)
            mom *= self.momentum
            mom += step
            step = mom
        prev[...] = w
        w += step


@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics::

        weight = weight - lr / 2 * (g + wd * weight) + N(0, sqrt(lr))
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)

    def create_state(self, index: Any, weight: NDArray) -> None:
        return None

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        from .. import random as _random
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        w = _np(weight)
        g = _clip(_scaled_grad(grad, self.rescale_grad, w.dtype), self.clip_gradient)
        g += wd * w
        g *= -lr / 2
        w += g
        noise = _random.generator().standard_normal(w.shape)
        noise *= math.sqrt(lr)
        w += noise.astype(w.dtype, copy=False)


@register
class Test(Optimizer):
    """The optimizer MXNet's tests use: ``weight += grad * rescale_grad``; state = weight."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)

    def create_state(self, index: Any, weight: NDArray) -> NDArray:
        return _zeros_like(weight, np.float32)

    def update(self, index: Any, weight: NDArray, grad: NDArray, state: Any) -> None:
        w = _np(weight)
        w += _scaled_grad(grad, self.rescale_grad, w.dtype)
        _np(state)[...] = w


# ---------------------------------------------------------------------------------------------
# Updater
# ---------------------------------------------------------------------------------------------


class Updater:
    """Applies an optimizer to indexed weights, keeping one state per index.

    ``updater(index, grad, weight)`` takes one index or lists of them (as ``Module`` passes).
    ``get_states()`` pickles ``{index: state}`` (``(states, optimizer)`` with
    ``dump_optimizer=True``), the layout of MXNet's ``.states`` files; ``set_states`` reads
    those, MXNet's included, through mxlite's allow-listed unpickler.
    """

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.states: dict = {}
        self.states_synced: dict = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index: Any, grad: Any, weight: Any) -> None:
        if isinstance(index, (list, tuple)):
            indices, grads, weights = list(index), list(grad), list(weight)
        else:
            indices, grads, weights = [index], [grad], [weight]
        if len(grads) != len(indices) or len(weights) != len(indices):
            raise MXNetError(f"Updater: {len(indices)} indices but {len(grads)} gradients and "
                             f"{len(weights)} weights")
        if weights:
            ctx = getattr(weights[0], "_ctx", None)
            self.optimizer._set_current_context(getattr(ctx, "device_id", 0))
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(
                    self.states[idx], getattr(weights[i], "_ctx", None))
                self.states_synced[idx] = True
        # MXNet's aggregated kernels (multi_sgd_*, multi_lamb) apply the same per-weight
        # maths as this loop.
        for i, w, g in zip(indices, weights, grads):
            self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state: Any, context: Any) -> Any:
        """The state moved to ``context`` (a no-op for arrays already there)."""
        if isinstance(state, NDArray):
            if context is None or getattr(state, "_ctx", None) == context:
                return state
            return NDArray(state._data, ctx=context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states: bytes, source: str | None = None) -> None:
        """Load states pickled by ``get_states`` or by MXNet (``*.states`` file contents).

        Damaged or hostile bytes raise MXNetError naming ``source`` (the file the bytes
        came from; ``<pickle bytes>`` by default) and leave the updater as it was.
        """
        from ..formats.pickles import check_states, load_pickle
        source = source or "<pickle bytes>"
        states, optimizer = check_states(load_pickle(states, source), source)
        if optimizer is not None:
            self.optimizer = optimizer
        self.states = states
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer: bool = False) -> bytes:
        """Pickle the states (with the optimizer when ``dump_optimizer``) as MXNet does:
        protocol 4, classes under MXNet's names, so MXNet reads the result and a ``.states``
        file comes out byte for byte as MXNet writes it."""
        buf = io.BytesIO()
        _MXNetPickler(buf, protocol=4).dump(
            (self.states, self.optimizer) if dump_optimizer else self.states)
        return buf.getvalue()


def _mxnet_class_names() -> dict[type, tuple[str, str]]:
    """mxlite classes that can appear in optimizer states, and MXNet's (module, name)."""
    from .. import lr_scheduler
    from ..context import Context
    from ..ndarray.sparse import CSRNDArray, RowSparseNDArray
    names: dict[type, tuple[str, str]] = {
        NDArray: ("mxnet.ndarray.ndarray", "NDArray"),
        RowSparseNDArray: ("mxnet.ndarray.sparse", "RowSparseNDArray"),
        CSRNDArray: ("mxnet.ndarray.sparse", "CSRNDArray"),
        Context: ("mxnet.context", "Context"),
    }
    for klass in set(Optimizer.opt_registry.values()) | {Optimizer}:
        if klass.__module__ == __name__:
            names[klass] = ("mxnet.optimizer.optimizer", klass.__name__)
        elif klass.__module__ == __name__.rsplit(".", 1)[0] + ".contrib":
            names[klass] = ("mxnet.optimizer.contrib", klass.__name__)
    for klass in (lr_scheduler.LRScheduler, lr_scheduler.FactorScheduler,
                  lr_scheduler.MultiFactorScheduler, lr_scheduler.PolyScheduler,
                  lr_scheduler.CosineScheduler):
        names[klass] = ("mxnet.lr_scheduler", klass.__name__)
    return names


class _MXNetPickler(pickle._Pickler):
    """A pickler that writes mxlite's array, optimizer and scheduler classes under MXNet's
    module paths (the C pickler cannot rename globals: it re-imports them to check)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file: Any, protocol: int = 4):
        super().__init__(file, protocol=protocol)
        self._names = _mxnet_class_names()

    def save_global(self, obj: Any, name: str | None = None) -> None:
        mapped = self._names.get(obj) if isinstance(obj, type) else None
        if mapped is None:
            super().save_global(obj, name)
            return
        module, qualname = mapped
        if self.proto >= 4:
            self.save(module)
            self.save(qualname)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
        self.memoize(obj)

    dispatch[type] = save_global


def get_updater(optimizer: Optimizer) -> Updater:
    """An :class:`Updater` applying ``optimizer``."""
    return Updater(optimizer)


class _PickledGluonParameter:
    """What an old Gluon ``Trainer.save_states`` pickle holds for a ``Parameter`` in the
    optimizer's ``param_dict``: attributes only.  ``Optimizer.__setstate__`` drops
    ``param_dict`` (as MXNet 1.9.1 does), so these never outlive the load."""


def _allow_pickled_optimizers() -> None:
    """Let ``*.states`` pickles name the optimizer classes, as MXNet 1.9.1
    (``mxnet.optimizer.optimizer.SGD``), older MXNet (``mxnet.optimizer.SGD``) and mxlite
    spell them."""
    from ..formats.pickles import SAFE_GLOBALS, allow_global
    # Old Trainer pickles keep Gluon Parameters (and their numpy dtype) in param_dict.
    for key, target in ((("mxnet.gluon.parameter", "Parameter"),
                         f"{__name__}:_PickledGluonParameter"),
                        (("numpy", "float32"), "numpy:float32")):
        if key not in SAFE_GLOBALS:
            allow_global(*key, target)
    for klass in set(Optimizer.opt_registry.values()) | {Optimizer}:
        if klass.__module__ != __name__:
            continue  # user-registered classes are not ours to vouch for
        target = f"{__name__}:{klass.__name__}"
        for module in ("mxnet.optimizer.optimizer", "mxnet.optimizer", __name__):
            allow_global(module, klass.__name__, target)


_allow_pickled_optimizers()
