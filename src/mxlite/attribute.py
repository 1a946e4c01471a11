"""Attribute scopes (``mx.AttrScope``): attributes given to every symbol created inside.

Scopes nest; an inner scope's attributes are merged over the outer one's when it is entered,
and attributes given to a symbol explicitly win over the scope's. The hidden keys
(``ctx_group``, ``lr_mult``, ``wd_mult``, ``force_mirroring``, ``mirror_stage``) are stored as
``__ctx_group__`` ... on the symbol, as MXNet does.
"""

from __future__ import annotations

import threading
import warnings
from collections import defaultdict
from typing import Any

__all__ = ["AttrScope"]


class _CurrentScope(type):
    # ``AttrScope.current`` is a deprecated class property in MXNet; kept for old code.
    @property
    def current(cls) -> AttrScope:
        warnings.warn("AttrScope.current has been deprecated. It is advised to use the `with` "
                      "statement with AttrScope.", DeprecationWarning, stacklevel=2)
        return _current()

    @current.setter
    def current(cls, value: AttrScope) -> None:
        warnings.warn("AttrScope.current has been deprecated. It is advised to use the `with` "
                      "statement with AttrScope.", DeprecationWarning, stacklevel=2)
        AttrScope._current.value = value


class AttrScope(metaclass=_CurrentScope):
    """``with mx.AttrScope(ctx_group='stage1'):`` gives those attributes to the symbols made inside.

    Parameters
    ----------
    **kwargs : str
        The attributes; values must be strings.
    """

    _current = threading.local()
    _subgraph_names: defaultdict[str, int] = defaultdict(int)

    def __init__(self, **kwargs: str) -> None:
        self._old_scope: AttrScope | None = None
        for value in kwargs.values():
            if not isinstance(value, str):
                raise ValueError("Attributes need to be string")
        self._attr: dict[str, str] = kwargs

    def get(self, attr: dict[str, str] | None) -> dict[str, str]:
        """The scope's attributes updated with ``attr`` (those given to one symbol)."""
        if self._attr:
            ret = dict(self._attr)
            if attr:
                ret.update(attr)
            return ret
        return dict(attr) if attr else {}

    def __enter__(self) -> AttrScope:
        self._old_scope = _current()
        attr = dict(self._old_scope._attr)
        attr.update(self._attr)
        self._attr = attr
        AttrScope._current.value = self
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._old_scope is not None
        AttrScope._current.value = self._old_scope


def _current() -> AttrScope:
    """The scope in effect in this thread (each thread starts with an empty one)."""
    cur = getattr(AttrScope._current, "value", None)
    if cur is None:
        cur = AttrScope._current.value = AttrScope()
    return cur
