"""``mx.mon.Monitor``: statistics of the arrays inside executors while they run.

Installed on executors (``Module.install_monitor`` does it for a Module), it collects
``stat_func`` of every operator output whose name matches ``pattern`` (inputs too with
``monitor_all``), and at :meth:`toc` of the arguments and auxiliary states, every
``interval`` batches.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any

from . import ndarray as _nd
from .ndarray.ndarray import NDArray

__all__ = ["Monitor"]


def _norm_stat(x: NDArray) -> NDArray:
    """MXNet's default statistic: ``norm(x) / sqrt(x.size)``."""
    return _nd.norm(x) / math.sqrt(x.size)


class Monitor:
    """Monitor inputs, outputs, weights and gradients of executors for debugging.

    Parameters
    ----------
    interval : int
        Number of batches between collections.
    stat_func : callable, optional
        NDArray -> NDArray (or list of NDArrays); default ``norm(x)/sqrt(x.size)``.
    pattern : str
        Regular expression; only matching names are collected (``re.match``).
    sort : bool
        Sort the results by name.
    monitor_all : bool
        Collect operator inputs as well as outputs.
    """

    def __init__(self, interval: int, stat_func: Callable[[NDArray], Any] | None = None,
                 pattern: str = ".*", sort: bool = False, monitor_all: bool = False):
        self.stat_func = stat_func or _norm_stat
        self.interval = interval
        self.activated = False
        self.queue: list[tuple[int, str, Any]] = []
        self.step = 0
        self.exes: list = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

    def stat_helper(self, name: str, array: NDArray) -> None:
        """The executor callback: collect ``name`` while active and matching."""
        if self.activated and self.re_prog.match(name):
            self.queue.append((self.step, name, self.stat_func(array)))

    def install(self, exe: Any) -> None:
        """Install on an executor (several may share one monitor)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self) -> None:
        """Start collecting for this batch if it is one of every ``interval``; call before
        forward."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self) -> list[tuple[int, str, str]]:
        """Stop collecting and return ``(step, name, stats text)`` for what was collected
        plus the executors' arguments and auxiliary states."""
        if not self.activated:
            return []
        for exe in self.exes:
            sym = exe._symbol
            for name, arr in zip(sym.list_arguments(), exe.arg_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(arr)))
            for name, arr in zip(sym.list_auxiliary_states(), exe.aux_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(arr)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda x: x[1])
        res = []
        for n, k, values in self.queue:
            values = [values] if isinstance(values, NDArray) else values
            text = ""
            for v in values:
                text += (str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())) + "\t"
            res.append((n, k, text))
        self.queue = []
        return res

    def toc_print(self) -> None:
        """:meth:`toc` and log each line at INFO."""
        for n, k, v in self.toc():
            logging.info(f"Batch: {n:7d} {k:30s} {v:s}")
