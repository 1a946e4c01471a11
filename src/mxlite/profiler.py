"""``mx.profiler``: time every operator that runs, as MXNet's profiler does, and write the
result as a Chrome trace (``dump``, open it in chrome://tracing or Perfetto) or as
aggregate tables (``dumps``).

    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename="profile.json")
    mx.profiler.set_state("run")
    ...                                  # imperative calls, executor forward / backward
    mx.profiler.set_state("stop")
    print(mx.profiler.dumps())           # per-operator count, total, min, max, average
    mx.profiler.dump()                   # profile.json

Operators run through ``mx.nd`` are the "imperative" kind, those run by an executor (Module,
hybridized Gluon blocks, ``Symbol.bind``) the "symbolic" kind; backward kernels appear as
``_backward_<op>`` as in MXNet. ``Domain`` / ``Task`` / ``Frame`` / ``Event`` / ``Counter`` /
``Marker`` add user ranges, counters and instants to the same trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from .base import MXNetError

__all__ = ["set_config", "set_state", "profiler_set_config", "profiler_set_state", "dump",
           "dump_profile", "dumps", "pause", "resume", "scope", "Domain", "Task", "Frame",
           "Event", "Counter", "Marker"]

_CONFIG: dict[str, Any] = {"profile_all": False, "profile_symbolic": True,
                           "profile_imperative": True, "profile_memory": True,
                           "profile_api": True, "filename": "profile.json",
                           "continuous_dump": False, "dump_period": 1.0,
                           "aggregate_stats": False, "profile_process": "worker"}
_BOOLS = {"profile_all", "profile_symbolic", "profile_imperative", "profile_memory",
          "profile_api", "continuous_dump", "aggregate_stats"}
_lock = threading.Lock()
# (category, name, phase, start_ns, end_ns or value, thread id); phase is X, C or i.
_events: list[tuple] = []
_state = {"running": False, "paused": False}
_EPOCH_NS = time.time_ns() - time.perf_counter_ns()
_ACTIVE: dict[str, bool] = {"imperative": False, "symbolic": False}


def _refresh() -> None:
    on = _state["running"] and not _state["paused"]
    every = _CONFIG["profile_all"]
    _ACTIVE["imperative"] = on and (every or _CONFIG["profile_imperative"])
    _ACTIVE["symbolic"] = on and (every or _CONFIG["profile_symbolic"])


def active(kind: str) -> bool:
    """Whether operators of ``kind`` ('imperative' or 'symbolic') are being timed now."""
    return _ACTIVE[kind]


def record_op(name: str, start_ns: int, end_ns: int | None = None) -> None:
    """Note one operator run from ``start_ns`` (``time.perf_counter_ns``) to now."""
    end = time.perf_counter_ns() if end_ns is None else end_ns
    _events.append(("operator", name, "X", start_ns, end, threading.get_ident()))


def set_config(**kwargs: Any) -> None:
    """Set profiler options: ``profile_all``, ``profile_symbolic``, ``profile_imperative``,
    ``profile_memory``, ``profile_api``, ``filename``, ``continuous_dump``, ``dump_period``,
    ``aggregate_stats``, ``profile_process``."""
    for k, v in kwargs.items():
        if k not in _CONFIG:
            raise MXNetError(f"profiler.set_config: unknown option {k!r}; expected one of "
                             f"{', '.join(sorted(_CONFIG))}")
        if k in _BOOLS:
            v = v if isinstance(v, bool) else str(v).lower() in ("1", "true")
        _CONFIG[k] = v
    _refresh()


def profiler_set_config(mode: str = "symbolic", filename: str = "profile.json") -> None:
    """[Deprecated] ``mode`` 'symbolic' or 'all'; use :func:`set_config`."""
    if mode not in ("symbolic", "all"):
        raise MXNetError(f"profiler_set_config: mode must be 'symbolic' or 'all', not {mode!r}")
    set_config(profile_symbolic=True, profile_imperative=mode == "all",
               profile_all=mode == "all", filename=filename)


def set_state(state: str = "stop", profile_process: str = "worker") -> None:
    """Start ('run') or stop ('stop') collecting."""
    if state not in ("run", "stop"):
        raise MXNetError(f"profiler.set_state: state must be 'run' or 'stop', not {state!r}")
    _state["running"] = state == "run"
    # MXNet's SetState un-pauses on 'run' (and pauses on 'stop'), so a pause() left over
    # from an earlier session does not silence the next one
    _state["paused"] = state != "run"
    _refresh()


def profiler_set_state(state: str = "stop") -> None:
    """[Deprecated] Use :func:`set_state`."""
    set_state(state)


def pause(profile_process: str = "worker") -> None:
    """Stop collecting until :func:`resume`, keeping what was collected."""
    _state["paused"] = True
    _refresh()


def resume(profile_process: str = "worker") -> None:
    _state["paused"] = False
    _refresh()


@contextlib.contextmanager
def scope(name: str = "<unk>:", append_mode: bool = False) -> Iterator[None]:
    """Time the block as one range named ``name`` in the trace."""
    t0 = time.perf_counter_ns()
    try:
        yield
    finally:
        if _state["running"]:
            _events.append(("scope", name, "X", t0, time.perf_counter_ns(),
                            threading.get_ident()))


def _us(ns: int) -> float:
    return (ns + _EPOCH_NS) / 1000.0


def _trace() -> dict:
    events: list[dict] = [{"ph": "M", "args": {"name": "cpu/0"}, "pid": 0,
                           "name": "process_name"}]
    with _lock:
        snapshot = list(_events)
    for cat, name, ph, start, end, tid in snapshot:
        ev: dict[str, Any] = {"name": name, "cat": cat, "ph": ph, "ts": _us(start), "pid": 0,
                              "tid": tid}
        if ph == "X":
            ev["dur"] = (end - start) / 1000.0
        elif ph == "C":
            ev["args"] = {name: end}
        elif ph == "i":
            ev["s"] = end
        events.append(ev)
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def dump(finished: bool = True, profile_process: str = "worker") -> None:
    """Write the trace collected so far to the configured ``filename`` (Chrome trace JSON).
    ``finished=True`` also clears it, as MXNet's final dump does."""
    from . import storage

    storage.write_text_atomic(os.fspath(_CONFIG["filename"]), json.dumps(_trace(), indent=1))
    if finished:
        with _lock:
            _events.clear()


def dump_profile() -> None:
    """[Deprecated] Use :func:`dump`."""
    dump(True)


_SORT = {"total": 1, "avg": 4, "min": 2, "max": 3, "count": 0}


def _aggregate() -> dict[str, dict[str, list]]:
    """{category: {name: [count, total_ms, min_ms, max_ms]}} of the timed ranges."""
    table: dict[str, dict[str, list]] = {}
    with _lock:
        snapshot = list(_events)
    for cat, name, ph, start, end, _ in snapshot:
        if ph != "X":
            continue
        ms = (end - start) / 1e6
        row = table.setdefault(cat, {}).setdefault(name, [0, 0.0, ms, ms])
        row[0] += 1
        row[1] += ms
        row[2] = min(row[2], ms)
        row[3] = max(row[3], ms)
    return table


def dumps(reset: bool = False, format: str = "table", sort_by: str = "total",
          ascending: bool = False) -> str:
    """The aggregate statistics as text: per category (``operator``, and each user domain),
    each name's call count and total / min / max / average milliseconds, sorted by
    ``sort_by`` ('total', 'avg', 'min', 'max', 'count'). ``format`` 'table' or 'json'."""
    if format not in ("table", "json"):
        raise MXNetError(f"profiler.dumps: format must be 'table' or 'json', not {format!r}")
    if sort_by not in _SORT:
        raise MXNetError(f"profiler.dumps: sort_by must be one of {', '.join(_SORT)}, not "
                         f"{sort_by!r}")
    table = _aggregate()
    if reset:
        with _lock:
            _events.clear()

    def rows(cat: str) -> list[tuple]:
        out = [(name, c, t, lo, hi, t / c) for name, (c, t, lo, hi) in table[cat].items()]
        return sorted(out, key=lambda r: r[1 + _SORT[sort_by]], reverse=not ascending)

    if format == "json":
        doc = {"Time": {cat: {r[0]: {"Count": r[1], "Total": round(r[2], 4),
                                     "Min": round(r[3], 4), "Max": round(r[4], 4),
                                     "Avg": round(r[5], 4)} for r in rows(cat)}
                        for cat in sorted(table)},
               # MXNet's memory rows come from its storage pools ("Device Storage",
               # "Pool Memory"), which mxlite does not have; the section is always there.
               "Memory": {},
               "Unit": {"Time": "ms", "Memory": "kB"}}
        return json.dumps(doc, indent=4)
    lines = ["", "Profile Statistics:", "\tNote the difference in units for different entries."]
    for cat in sorted(table):
        lines += [cat, "=================",
                  f"{'Name':<30}{'Total Count':>11}{'Time (ms)':>17}{'Min Time (ms)':>17}"
                  f"{'Max Time (ms)':>17}{'Avg Time (ms)':>17}",
                  f"{'----':<30}{'-----------':>11}{'---------':>17}{'-------------':>17}"
                  f"{'-------------':>17}{'-------------':>17}"]
        for name, c, t, lo, hi, avg in rows(cat):
            lines.append(f"{name:<30}{c:>11}{t:>17.4f}{lo:>17.4f}{hi:>17.4f}{avg:>17.4f}")
        lines.append("")
    return "\n".join(lines) + "\n"


class Domain:
    """A named group for user tasks, frames, counters and markers (the trace category)."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self) -> str:
        return self.name

    def new_task(self, name: str) -> Task:
        return Task(self, name)

    def new_frame(self, name: str) -> Frame:
        return Frame(self, name)

    def new_counter(self, name: str, value: int | None = None) -> Counter:
        return Counter(self, name, value)

    def new_marker(self, name: str) -> Marker:
        return Marker(self, name)


class _Range:
    """A user range: ``start()`` ... ``stop()``, recorded while the profiler runs."""

    def __init__(self, category: str, name: str):
        self.category, self.name = category, name
        self._t0: int | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> None:
        if self._t0 is None:
            raise MXNetError(f"{type(self).__name__} {self.name!r}: stop() before start()")
        if _state["running"]:
            _events.append((self.category, self.name, "X", self._t0, time.perf_counter_ns(),
                            threading.get_ident()))
        self._t0 = None

    def __enter__(self) -> _Range:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __str__(self) -> str:
        return self.name


class Task(_Range):
    """A range of work in ``domain``."""

    def __init__(self, domain: Domain, name: str):
        super().__init__(domain.name, name)
        self.domain = domain


class Frame(_Range):
    """A range of work in ``domain`` (frames of a loop, say); MXNet files frames under the
    category ``"<domain>,frame"``."""

    def __init__(self, domain: Domain, name: str):
        super().__init__(f"{domain.name},frame", name)
        self.domain = domain


class Event(_Range):
    """A range of work outside any domain."""

    def __init__(self, name: str):
        super().__init__("event", name)  # MXNet's category for events, in trace and tables


class Counter:
    """A value in ``domain`` whose changes go into the trace."""

    def __init__(self, domain: Domain, name: str, value: int | None = None):
        self.domain, self.name = domain, name
        self.value = 0
        if value is not None:
            self.set_value(value)

    def _note(self) -> None:
        if _state["running"]:
            _events.append((self.domain.name, self.name, "C", time.perf_counter_ns(),
                            self.value, threading.get_ident()))

    def set_value(self, value: int) -> None:
        self.value = int(value)
        self._note()

    def increment(self, delta: int = 1) -> None:
        self.set_value(self.value + delta)

    def decrement(self, delta: int = 1) -> None:
        self.set_value(self.value - delta)

    def __iadd__(self, delta: int) -> Counter:
        self.increment(delta)
        return self

    def __isub__(self, delta: int) -> Counter:
        self.decrement(delta)
        return self

    def __str__(self) -> str:
        return self.name


class Marker:
    """An instant in ``domain``: ``mark(scope)`` with scope 'global', 'process', 'thread',
    'task' or 'marker'."""

    _SCOPES = {"global": "g", "process": "p", "thread": "t", "task": "t", "marker": "t"}

    def __init__(self, domain: Domain, name: str):
        self.domain, self.name = domain, name

    def mark(self, scope: str = "process") -> None:
        if scope not in self._SCOPES:
            raise MXNetError(f"Marker.mark: scope must be one of {', '.join(self._SCOPES)}, "
                             f"not {scope!r}")
        if _state["running"]:
            _events.append((self.domain.name, self.name, "i", time.perf_counter_ns(),
                            self._SCOPES[scope], threading.get_ident()))
