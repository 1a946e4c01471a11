"""Automatic naming of symbols (``mx.name``), as MXNet 1.9.1 does it.

An operator created without ``name=`` is called ``<hint><n>``: the hint is the lower-cased name
of the function the user called (``FullyConnected`` -> ``fullyconnected0``, ``a + b`` ->
``_plus0`` through ``_Plus``) and ``n`` counts per hint in the current manager. Variables are
never renamed.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

__all__ = ["NameManager", "Prefix"]


class _CurrentManager(type):
    # ``NameManager.current`` is a deprecated class property in MXNet; kept for old code.
    @property
    def current(cls) -> NameManager:
        warnings.warn("NameManager.current has been deprecated. It is advised to use the "
                      "`with` statement with NameManager.", DeprecationWarning, stacklevel=2)
        return _current()

    @current.setter
    def current(cls, value: NameManager) -> None:
        NameManager._current.value = value


class NameManager(metaclass=_CurrentManager):
    """Gives each unnamed symbol a unique name; use as ``with mx.name.NameManager():``.

    Subclass and override :meth:`get` to change the naming.
    """

    _current = threading.local()

    def __init__(self) -> None:
        self._counter: dict[str, int] = {}
        self._old_manager: NameManager | None = None

    def get(self, name: str | None, hint: str) -> str:
        """The user's ``name`` if given, else ``hint`` followed by this manager's count for it."""
        if name:
            return name
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return f"{hint}{n}"

    def __enter__(self) -> NameManager:
        self._old_manager = _current()
        NameManager._current.value = self
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._old_manager is not None
        NameManager._current.value = self._old_manager


class Prefix(NameManager):
    """A name manager that puts ``prefix`` before every operator name it hands out.

    >>> with mx.name.Prefix('mynet_'):
    ...     net = mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=10, name='fc1')
    >>> net.list_arguments()
    ['data', 'mynet_fc1_weight', 'mynet_fc1_bias']
    """

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix

    def get(self, name: str | None, hint: str) -> str:
        return self._prefix + super().get(name, hint)


def _current() -> NameManager:
    """The manager in effect in this thread (each thread starts with a fresh one)."""
    cur = getattr(NameManager._current, "value", None)
    if cur is None:
        cur = NameManager._current.value = NameManager()
    return cur
