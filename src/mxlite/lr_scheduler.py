"""Learning-rate schedules (``mx.lr_scheduler``), with MXNet 1.9.1's formulas and state.

A scheduler is called with ``num_update``, the largest number of updates any weight has had,
and returns the learning rate for the next update.  Like MXNet's, the schedulers are stateful:
``FactorScheduler`` and ``MultiFactorScheduler`` multiply ``base_lr`` in place as
``num_update`` passes their steps and never undo it, and ``PolyScheduler`` /
``CosineScheduler`` store the last rate in ``base_lr``.  Optimizers pickle their scheduler, so
the attribute names are MXNet's.  Bad arguments raise ``MXNetError``.
"""

from __future__ import annotations

import logging
from math import cos, pi

from .base import MXNetError

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler",
           "CosineScheduler"]


class LRScheduler:
    """Base class of a learning-rate scheduler.

    Parameters
    ----------
    base_lr : float
        The initial learning rate.
    warmup_steps : int
        Number of warm-up updates before the schedule proper starts.
    warmup_begin_lr : float
        The learning rate at update 0 of the warm-up.
    warmup_mode : {'linear', 'constant'}
        ``'linear'`` rises in equal increments from ``warmup_begin_lr`` to ``base_lr``;
        ``'constant'`` stays at ``warmup_begin_lr`` for the whole warm-up.
    """

    def __init__(self, base_lr: float = 0.01, warmup_steps: int = 0,
                 warmup_begin_lr: float = 0, warmup_mode: str = "linear"):
        self.base_lr = base_lr
        if not isinstance(warmup_steps, int):
            raise MXNetError(f"warmup_steps must be an int, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise MXNetError("Base lr has to be higher than warmup_begin_lr")
        if self.warmup_steps < 0:
            raise MXNetError("Warmup steps has to be positive or 0")
        if warmup_mode not in ("linear", "constant"):
            raise MXNetError("Supports only linear and constant modes of warmup")
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update: int) -> float:
        """The learning rate during warm-up (``num_update < warmup_steps``)."""
        if self.warmup_mode == "linear":
            increase = ((self.warmup_final_lr - self.warmup_begin_lr)
                        * float(num_update) / float(self.warmup_steps))
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update: int) -> float:
        """Return the learning rate after ``num_update`` updates."""
        raise NotImplementedError("must override this")


class FactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` every ``step`` updates, down to ``stop_factor_lr``.

    Returns ``base_lr * factor ** floor((num_update - 1) / step)`` (the first drop happens
    once ``num_update`` exceeds ``step``), mutating ``base_lr`` as it goes.
    """

    def __init__(self, step: int, factor: float = 1, stop_factor_lr: float = 1e-8,
                 base_lr: float = 0.01, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise MXNetError("Schedule step must be greater or equal than 1 round")
        if factor > 1.0:
            raise MXNetError("Factor must be no more than 1 to make lr reduce")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` each time ``num_update`` passes one of ``step``.

    ``step`` is a strictly increasing list of positive ints.
    """

    def __init__(self, step: list[int], factor: float = 1, base_lr: float = 0.01,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, list) or len(step) < 1:
            raise MXNetError(f"step must be a non-empty list of ints, got {step!r}")
        for i, s in enumerate(step):
            if i != 0 and step[i] <= step[i - 1]:
                raise MXNetError("Schedule step must be an increasing integer list")
            if s < 1:
                raise MXNetError("Schedule step must be greater or equal than 1 round")
        if factor > 1.0:
            raise MXNetError("Factor must be no more than 1 to make lr reduce")
        self.step = step
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
            else:
                return self.base_lr
        return self.base_lr


class _DecayScheduler(LRScheduler):
    """Shared body of Poly and Cosine: after warm-up, decay from ``base_lr`` to ``final_lr``
    over ``max_update - warmup_steps`` updates by :meth:`_factor`, then keep the last rate."""

    def _set_decay(self, max_update: int, final_lr: float) -> None:
        if not isinstance(max_update, int):
            raise MXNetError(f"max_update must be an int, got {max_update!r}")
        if max_update < 1:
            raise MXNetError("maximum number of updates must be strictly positive")
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def _factor(self, elapsed: int, total: int) -> float:
        raise NotImplementedError

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * self._factor(
                num_update - self.warmup_steps, self.max_steps)
        return self.base_lr


class PolyScheduler(_DecayScheduler):
    """Polynomial decay after warm-up::

        final_lr + (base_lr - final_lr) * (1 - (nup - warmup_steps) / max_steps) ** pwr

    for ``nup <= max_update``; later calls keep the last rate.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, pwr: float = 2,
                 final_lr: float = 0, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.power = pwr  # attribute order as MXNet's: pickled optimizers compare byte for byte
        self._set_decay(max_update, final_lr)

    def _factor(self, elapsed: int, total: int) -> float:
        return pow(1 - float(elapsed) / float(total), self.power)


class CosineScheduler(_DecayScheduler):
    """Cosine decay after warm-up::

        final_lr + (base_lr - final_lr) * (1 + cos(pi * (nup - warmup_steps) / max_steps)) / 2

    for ``nup <= max_update``; later calls keep the last rate.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, final_lr: float = 0,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self._set_decay(max_update, final_lr)

    def _factor(self, elapsed: int, total: int) -> float:
        # halving is exact, so this equals MXNet's (base - final) * (1 + cos(..)) / 2
        return (1 + cos(pi * elapsed / total)) / 2


def _allow_pickled_schedulers() -> None:
    """Let pickled optimizers carry their scheduler, as MXNet or mxlite named it."""
    from .formats.pickles import allow_global
    for klass in (LRScheduler, FactorScheduler, MultiFactorScheduler, PolyScheduler,
                  CosineScheduler):
        for module in ("mxnet.lr_scheduler", __name__):
            allow_global(module, klass.__name__, f"{__name__}:{klass.__name__}")


_allow_pickled_schedulers()
