"""Reading MXNet pickles (pickled NDArrays, ``*.states``) without running arbitrary code.

A pickle names the globals it needs and the unpickler calls them; a hostile pickle can name
``os.system``. :class:`RestrictedUnpickler` resolves only the globals in :data:`SAFE_GLOBALS`
and refuses every other one *before* importing or calling anything.

:data:`SAFE_GLOBALS` is data: ``(module, name)`` as the pickle spells it, mapped to
``"importable.module:attribute"`` in mxlite (resolved lazily, on first use). MXNet's own class
paths map onto mxlite's classes, and mxlite's paths onto themselves, so pickles from both load.
Other parts add their entries (optimizers, say) with :func:`allow_global`.

Hostile bytes are refused with an :class:`~mxlite.base.MXNetError` naming the source, within
bounded memory: every length an opcode claims is checked against the bytes behind it before
the unpickler allocates it; the builtins a pickle may call (``bytes``, ``bytearray``,
``_codecs.encode``, ``set``...) are stand-ins that refuse counts (``bytes(2**40)``) and
unknown codecs; and what those stand-ins and ``NDArray.__setstate__`` build is charged
against a budget proportional to the pickle's size (:func:`charge`), so one object shared
through the memo cannot be rebuilt a million times over.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import contextvars
import importlib
import io
import numbers
import os
import pickle
import pickletools
import sys
import warnings
from collections import OrderedDict
from typing import Any, BinaryIO

from ..base import MXNetError

__all__ = ["SAFE_GLOBALS", "allow_global", "RestrictedUnpickler", "load_pickle", "charge",
           "check_states"]

_ND = "mxlite.ndarray.ndarray:NDArray"
_RSP = "mxlite.ndarray.sparse:RowSparseNDArray"
_CSR = "mxlite.ndarray.sparse:CSRNDArray"
_CTX = "mxlite.context:Context"

SAFE_GLOBALS: dict[tuple[str, str], str] = {
    # MXNet's classes -> mxlite's
    ("mxnet.ndarray.ndarray", "NDArray"): _ND,
    ("mxnet.ndarray.sparse", "RowSparseNDArray"): _RSP,
    ("mxnet.ndarray.sparse", "CSRNDArray"): _CSR,
    ("mxnet.numpy", "ndarray"): _ND,
    ("mxnet.context", "Context"): _CTX,
    ("mxnet.device", "Device"): _CTX,
    # mxlite's own pickles
    ("mxlite.ndarray.ndarray", "NDArray"): _ND,
    ("mxlite.ndarray.sparse", "RowSparseNDArray"): _RSP,
    ("mxlite.ndarray.sparse", "CSRNDArray"): _CSR,
    ("mxlite.context", "Context"): _CTX,
    # what pickle itself emits for the above: the record as a bytearray (protocol 2 builds
    # bytes via _codecs.encode), dicts, and copyreg's constructors for protocols 0-2. The
    # copyreg helpers only instantiate classes that themselves came through this table.
    # Callables that could be asked for huge objects resolve to the checked stand-ins below.
    ("builtins", "bytearray"): f"{__name__}:_bytearray",
    ("builtins", "bytes"): f"{__name__}:_bytes",
    ("builtins", "set"): f"{__name__}:_set",
    ("builtins", "frozenset"): f"{__name__}:_frozenset",
    ("builtins", "slice"): "builtins:slice",
    ("builtins", "complex"): "builtins:complex",
    ("builtins", "object"): "builtins:object",
    ("_codecs", "encode"): f"{__name__}:_encode",
    ("collections", "OrderedDict"): f"{__name__}:_ordered_dict",
    ("copyreg", "_reconstructor"): f"{__name__}:_reconstructor",
    ("copyreg", "__newobj__"): f"{__name__}:_newobj",
}

# ----------------------------------------------------------------------------- memory budget

# What one load may build, in bytes (or elements, for containers): a sound pickle holds
# every byte it rebuilds, at most three times over (protocol 2 spells an NDArray's record as
# latin-1 text, encoded to bytes, copied to a bytearray, then decoded), so this refuses only
# objects rebuilt again and again from one shared through the memo.
_BUDGET_FACTOR = 4
_BUDGET_SLACK = 1 << 20
_budget: contextvars.ContextVar[list | None] = contextvars.ContextVar("_budget", default=None)


def charge(amount: int, what: str) -> None:
    """Count ``amount`` bytes built from the pickle being loaded by :func:`load_pickle`
    against its budget; MXNetError once the pickle builds far more than it holds. Called
    before the allocation it pays for. Outside :func:`load_pickle` (a plain
    ``pickle.loads``) it does nothing."""
    budget = _budget.get()
    if budget is None:
        return
    budget[0] -= amount
    if budget[0] < 0:
        raise MXNetError(f"{budget[1]}: the pickle builds more than {_BUDGET_FACTOR}x its "
                         f"{budget[2]} bytes (at {what}): an object shared through the "
                         "memo rebuilt over and over; refused")


def _bytes_source(kind: str, args: tuple) -> None:
    if args and type(args[0]) not in (bytes, bytearray, str, list, tuple):
        raise MXNetError(f"{kind}() from a {type(args[0]).__name__}: pickles build {kind} "
                         "from bytes or text, not from a count")


def _bytes(*args: Any) -> bytes:
    _bytes_source("bytes", args)
    if args:
        charge(len(args[0]), "bytes()")
    return bytes(*args)


def _bytearray(*args: Any) -> bytearray:
    _bytes_source("bytearray", args)
    if args:
        charge(len(args[0]), "bytearray()")
    return bytearray(*args)


_CODECS = frozenset(("latin1", "latin-1", "iso8859-1", "iso-8859-1", "utf-8", "utf8",
                     "ascii"))


def _encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as pickle's protocol 2 uses it: text to bytes, known codecs only."""
    if type(obj) is not str or type(encoding) is not str or \
            encoding.lower().replace("_", "-") not in _CODECS:
        raise MXNetError(f"_codecs.encode({type(obj).__name__}, {str(encoding)[:40]!r}): "
                         f"expected text and one of {sorted(_CODECS)}")
    charge(len(obj), "_codecs.encode()")
    return codecs.encode(obj, encoding, errors)


def _sized(kind: type, name: str):
    def make(*args: Any) -> Any:
        if args:
            try:
                n = len(args[0])
            except TypeError:
                raise MXNetError(f"{name}() from a {type(args[0]).__name__}: expected a "
                                 "list, tuple or other sized collection") from None
            charge(n, f"{name}()")
        return kind(*args)

    make.__name__ = name
    return make


_set = _sized(set, "set")
_frozenset = _sized(frozenset, "frozenset")
_ordered_dict = _sized(OrderedDict, "OrderedDict")


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` for plain classes only (``base`` object), as protocols 0-1
    pickle them; other bases would call their constructor with data from the pickle."""
    if base is not object or not isinstance(cls, type):
        raise MXNetError(f"copyreg._reconstructor with base {getattr(base, '__name__', base)!r}"
                         ": only classes built on object are accepted")
    return object.__new__(cls)


def _newobj(cls: Any, *args: Any) -> Any:
    if not isinstance(cls, type):
        raise MXNetError(f"copyreg.__newobj__ of a {type(cls).__name__}: expected a class")
    return cls.__new__(cls, *args)



def allow_global(module: str, name: str, target: str) -> None:
    """Let pickles reference ``module.name``, resolved as ``target`` (``"pkg.mod:attr"``)."""
    SAFE_GLOBALS[(module, name)] = target


def _resolve(target: str) -> Any:
    mod, _, attr = target.partition(":")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves globals only through :data:`SAFE_GLOBALS`."""

    def __init__(self, file: BinaryIO, source: str = "<pickle>"):
        # latin1 keeps Python 2 byte strings (MXNet's old pickles) as they were written.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key not in SAFE_GLOBALS:
            # Python 2 spellings (__builtin__, copy_reg) as pickle's own fix_imports maps them.
            key = _compat_pickle.NAME_MAPPING.get(key, key)
            key = (_compat_pickle.IMPORT_MAPPING.get(key[0], key[0]), key[1])
        target = SAFE_GLOBALS.get(key)
        if target is None:
            raise MXNetError(f"{self.source}: refusing to load global {module}.{name}: not in "
                             "mxlite's allow-list of pickle globals")
        return _resolve(target)

    def persistent_load(self, pid: Any) -> Any:
        raise MXNetError(f"{self.source}: refusing persistent id {_short(pid)} in pickle")


def _short(obj: Any) -> str:
    """A bounded repr of untrusted data (huge ints cannot even be printed)."""
    try:
        text = repr(obj)
    except Exception:
        return f"<{type(obj).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def load_pickle(data: bytes | bytearray | memoryview | str | os.PathLike | BinaryIO,
                source: str | None = None) -> Any:
    """Unpickle ``data`` (bytes, a path, or a binary file) allowing only safe globals.

    Reads pickles written by MXNet (``pickle.dumps(nd)``, ``*.states``) and by mxlite; raises
    MXNetError naming the source for any global outside :data:`SAFE_GLOBALS` and for a
    damaged pickle. ``source`` names bytes in messages (a file they were read from, say).
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _load(io.BytesIO(data), source or "<pickle bytes>")
    if isinstance(data, (str, os.PathLike)):
        from ..ndarray.utils import open_file

        with open_file(data, "rb") as f:
            return _load(f, os.fspath(data))
    if hasattr(data, "read"):
        return _load(data, str(getattr(data, "name", "") or "<pickle stream>"))
    raise TypeError(f"data must be bytes, a path or a binary file, got {type(data).__name__}")


class _Bounded:
    """A seekable stream whose ``read(n)`` never asks for more than what remains: file
    objects allocate ``n`` bytes before reading."""

    def __init__(self, f: BinaryIO):
        self.f = f
        pos = f.tell()
        self.end = f.seek(0, os.SEEK_END)
        f.seek(pos)

    def read(self, n: int = -1) -> bytes:
        left = self.end - self.f.tell()
        return self.f.read(left if n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self.f.readline()

    def tell(self) -> int:
        return self.f.tell()


_BUILDS = frozenset(("BUILD",))
_CREATES = frozenset(("REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ"))
_PUTS = frozenset(("PUT", "BINPUT", "LONG_BINPUT"))


def _check_lengths(f: BinaryIO, source: str) -> None:
    """Walk the opcodes once before unpickling.

    pickle's C unpickler allocates a BINBYTES/BYTEARRAY8 object of the length its opcode
    claims *before* reading it, so a 30-byte pickle claiming 2**40 bytes raises MemoryError.
    :func:`pickletools.genops` reads each argument with ``read(n)``, which returns only the
    bytes that exist, and refuses short ones: every claimed length is checked against the
    data behind it. The walk also counts BUILDs: a pickler builds each object it creates
    once, so more BUILDs than creations means objects rebuilt over and over (each
    ``__setstate__`` costs time); refused.
    """
    # BytesIO.read(n) returns what exists without allocating n first; files need the cap
    stream = f if isinstance(f, io.BytesIO) else _Bounded(f)
    start = f.tell()
    end = f.seek(0, os.SEEK_END)
    f.seek(start)
    try:
        with warnings.catch_warnings():
            # a damaged STRING's bad escapes are refused, not worth a DeprecationWarning
            warnings.simplefilter("ignore", DeprecationWarning)
            builds, creates = _walk_opcodes(stream, end, source)
    except MXNetError:
        raise
    except Exception as e:  # ValueError, EOFError, struct.error, OverflowError...
        raise MXNetError(f"{source}: not a valid pickle: {e}") from e
    if builds > creates:
        raise MXNetError(f"{source}: not a valid pickle: {builds} BUILD opcodes for "
                         f"{creates} objects created; a pickler builds each object once")


# What the unpickler allocates for one opcode, in bytes, as CPython 3.11 (64-bit) lays
# objects out, rounded up so that the sum is an upper bound (checked against tracemalloc
# for pickles made of each kind of object alone, tests/test_memory_bound.py): every value
# pushed costs 32 bytes (its pointer on the unpickler's stack, which doubles as it grows,
# then in the list, tuple or dict that takes it); a dict 232 (its first insertion
# allocates the table); a list 72; a set 232. Strings, bytes and big ints add their size.
_SLOT = 32
_OPCODE_COST: dict[str, int] = {
    "EMPTY_LIST": 72 + _SLOT, "LIST": 72 + _SLOT, "EMPTY_DICT": 232 + _SLOT,
    "DICT": 232 + _SLOT, "EMPTY_SET": 232 + _SLOT, "FROZENSET": 232 + _SLOT,
    "EMPTY_TUPLE": _SLOT, "TUPLE": 40 + _SLOT, "TUPLE1": 48 + _SLOT, "TUPLE2": 56 + _SLOT,
    "TUPLE3": 64 + _SLOT, "BININT": 32 + _SLOT, "BININT1": _SLOT, "BININT2": 32 + _SLOT,
    "INT": 32 + _SLOT, "LONG": 32 + _SLOT, "LONG1": 32 + _SLOT, "LONG4": 32 + _SLOT,
    "BINFLOAT": 32 + _SLOT, "FLOAT": 32 + _SLOT, "NONE": _SLOT, "NEWTRUE": _SLOT,
    "NEWFALSE": _SLOT, "GET": _SLOT, "BINGET": _SLOT, "LONG_BINGET": _SLOT, "DUP": _SLOT,
    "GLOBAL": _SLOT, "STACK_GLOBAL": _SLOT, "REDUCE": 128 + _SLOT, "NEWOBJ": 128 + _SLOT,
    "NEWOBJ_EX": 128 + _SLOT, "OBJ": 128 + _SLOT, "INST": 128 + _SLOT, "MARK": 8,
    "PUT": 16, "BINPUT": 16, "LONG_BINPUT": 16, "MEMOIZE": 16,
}
_SIZED = frozenset(("STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                    "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES",
                    "BINBYTES8", "BYTEARRAY8", "LONG1", "LONG4", "LONG", "INT"))
# What the opcodes of a pickle may build together: 32 x its size + 1 MiB. Sound pickles
# stay inside: optimizer states of 10,000 one-element NDArrays (the worst case, every array
# a record of ~60 bytes behind ~20 bytes of opcodes) cost 18.3 x their size; states of
# 256-element arrays 2 x. Without the limit a pickle of empty sets built 240 x its size.
_OPCODE_FACTOR = 32
_OPCODE_SLACK = 1 << 20


def _opcode_cost(name: str, arg: Any) -> int:
    cost = _OPCODE_COST.get(name, 0)
    if name in _SIZED:
        if type(arg) is str:
            cost += sys.getsizeof(arg)
        elif type(arg) in (bytes, bytearray):
            cost += 64 + len(arg)
        elif type(arg) is int:
            cost += arg.bit_length() // 8
        cost += _SLOT
    return cost


def _walk_opcodes(stream: Any, end: int, source: str) -> tuple[int, int]:
    """(BUILD count, object creations) of the pickle in ``stream``, which ends at ``end``.

    Also sums what the unpickler will allocate for the objects the opcodes make
    (:func:`_opcode_cost`) and refuses the pickle once that passes 32 x its size + 1 MiB,
    before the unpickler has made any of them.
    """
    builds = creates = puts = 0
    budget = _OPCODE_FACTOR * (end - stream.tell()) + _OPCODE_SLACK
    cost_of = _OPCODE_COST.get
    for op, arg, pos in pickletools.genops(stream):
        name = op.name
        if name in _SIZED:
            budget -= _opcode_cost(name, arg)
        else:
            budget -= cost_of(name, 0)
        if budget < 0:
            raise MXNetError(f"{source}: refusing a pickle whose objects would take more than "
                             f"{_OPCODE_FACTOR}x its size + 1 MiB (at byte {pos}, {name}): no "
                             "MXNet pickle is made of so many small objects")
        if name == "FRAME" and arg > end - pos - 9:
            # the unpickler reads a whole frame with one read(n): n must exist
            raise MXNetError(f"{source}: not a valid pickle: byte {pos}: a frame of {arg} "
                             f"bytes, but only {max(0, end - pos - 9)} remain")
        if name in _BUILDS:
            builds += 1
        elif name in _CREATES:
            creates += 1
        elif name in _PUTS:
            # The unpickler sizes its memo table by the index: picklers number entries
            # 0, 1, 2..., so an index beyond the entries made so far is a lie.
            if arg > puts:
                raise MXNetError(f"{source}: not a valid pickle: byte {pos}: {name} {arg} "
                                 f"after {puts} memo entries; picklers number them in order")
            puts += 1
        elif name == "MEMOIZE":
            puts += 1
    return builds, creates


def _load(f: BinaryIO, source: str) -> Any:
    try:
        seekable = f.seekable()
    except (AttributeError, ValueError, OSError):
        seekable = False
    if not seekable:
        f = io.BytesIO(f.read())
    start = f.tell()
    end = f.seek(0, os.SEEK_END)
    f.seek(start)
    _check_lengths(f, source)
    f.seek(start)
    size = end - start
    token = _budget.set([_BUDGET_FACTOR * size + _BUDGET_SLACK, source, size])
    try:
        return RestrictedUnpickler(f, source).load()
    except MXNetError as e:
        if str(e).startswith(source):
            raise
        raise MXNetError(f"{source}: {e}") from e
    except Exception as e:
        # Whatever a damaged pickle makes the unpickler or an allowed constructor raise
        # (UnpicklingError, EOFError, ValueError, TypeError, OverflowError, LookupError,
        # RecursionError...) is a refusal of the file.
        raise MXNetError(f"{source}: not a valid pickle: {type(e).__name__}: "
                         f"{_message(e)}") from e
    finally:
        _budget.reset(token)


def _message(e: BaseException) -> str:
    try:
        text = str(e)
    except Exception:
        text = ""
    return text if len(text) <= 300 else text[:297] + "..."


def check_states(loaded: Any, source: str) -> tuple[dict, Any]:
    """``(states, optimizer or None)`` of an unpickled ``*.states`` payload, checked as
    ``Updater.set_states`` takes it: ``{index: state}`` or ``({index: state}, optimizer)``;
    indices are ints or strings; a state is None, a number, an NDArray or a tuple/list of
    these nested at most 8 deep. MXNetError naming ``source`` otherwise."""
    from ..ndarray.ndarray import NDArray
    from ..optimizer.optimizer import Optimizer

    optimizer = None
    states = loaded
    if isinstance(loaded, tuple) and len(loaded) == 2:
        states, optimizer = loaded
        if not isinstance(optimizer, Optimizer):
            raise MXNetError(f"{source}: optimizer states: expected (states, optimizer), got "
                             f"an optimizer of type {type(optimizer).__name__}")
        _check_optimizer(optimizer, source)
    if not isinstance(states, dict):
        raise MXNetError(f"{source}: optimizer states: expected a dict of index -> state, got "
                         f"{type(states).__name__}")
    leaf = (NDArray, int, float, type(None))
    for key, state in states.items():
        if type(key) not in (int, str):
            raise MXNetError(f"{source}: optimizer states: index {_short(key)} is a "
                             f"{type(key).__name__}; expected an int or a string")
        todo = [(state, 0)]
        while todo:
            value, depth = todo.pop()
            if isinstance(value, (tuple, list)):
                if depth >= 8:
                    raise MXNetError(f"{source}: optimizer states: the state of index "
                                     f"{_short(key)} is nested more than 8 deep")
                todo.extend((v, depth + 1) for v in value)
            elif not isinstance(value, leaf):
                raise MXNetError(f"{source}: optimizer states: the state of index "
                                 f"{_short(key)} holds a {type(value).__name__}; expected "
                                 "NDArrays, numbers, None or tuples of them")
    return states, optimizer


def _check_optimizer(opt: Any, source: str) -> None:
    """Attributes of an unpickled optimizer must have the kinds a fresh one has: a number
    where it keeps a number (or None), a dict where it keeps a dict."""
    try:
        fresh = type(opt)().__dict__
    except Exception:  # a class without default arguments: nothing to compare with
        return
    for key, want in fresh.items():
        if key not in opt.__dict__:
            continue
        got = opt.__dict__[key]
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            ok = got is None or isinstance(got, numbers.Real)
        elif isinstance(want, dict):
            ok = isinstance(got, dict)
        else:
            continue
        if not ok:
            raise MXNetError(f"{source}: optimizer {type(opt).__name__}: attribute {key!r} "
                             f"is a {type(got).__name__}; expected a {type(want).__name__}")

