"""Hostile inputs for mxlite's loaders, and a harness that runs every public loader on them.

Shared by the deterministic mutation tests (``tests/test_fuzz_*.py``) and the longer campaign
(``benchmarks/fuzz_campaign.py``); nothing else in mxlite imports it.

The promise it checks (``docs/robustness.md``): on any bytes, every loader returns a usable
object or raises :class:`~mxlite.base.MXNetError`; ``mx.model.verify`` never raises and calls a
file sound only when the loader loads it. :meth:`Harness.run` classifies one call as
``"ok"``, ``"refused"`` (an MXNetError) or ``"escape"`` (anything else, or verify breaking its
word), so a test asserts ``outcome.kind != "escape"`` and a campaign counts kinds.

Mutators are generators of ``(label, bytes)``; labels say what was done, so a failing case
can be replayed.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import pickletools
import random
import struct
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..base import MXNetError

__all__ = ["SPECIAL_VALUES", "truncations", "byte_flips", "array_header_offsets",
           "field_mutations", "json_mutations", "pickle_mutations", "evil_pickles",
           "evil_json", "record_of", "Outcome", "Harness", "ENTRIES"]

# Header fields are set to these, written as 4- and 8-byte little-endian integers
# (2**32-1 and 2**64-1 are -1 in int32 / int64 fields).
SPECIAL_VALUES = {4: (0, 1, 2**31 - 1, 2**32 - 1), 8: (0, 2**31 - 1, 2**32 - 1, 2**63 - 1,
                                                        2**64 - 1)}

Mutation = tuple[str, bytes]


# ----------------------------------------------------------------------------- byte mutators


def truncations(data: bytes, step: int = 1) -> Iterator[Mutation]:
    """``data`` cut short at every ``step``-th offset (never the whole file)."""
    for i in range(0, len(data), step):
        yield f"truncate@{i}", data[:i]


def byte_flips(data: bytes, rng: random.Random, count: int) -> Iterator[Mutation]:
    """``count`` copies of ``data``, each with one to three bytes replaced at random."""
    if not data:
        return
    for _ in range(count):
        out = bytearray(data)
        where = []
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(out))
            v = rng.choice((0x00, 0xFF, 0x7F, 0x80, out[i] ^ (1 << rng.randrange(8)),
                            rng.randrange(256)))
            out[i] = v
            where.append(f"{i}={v:#04x}")
        yield "flip@" + ",".join(where), bytes(out)


def array_header_offsets(data: bytes) -> list[int]:
    """Offsets of an NDArray file that are not array values: the header bytes of the list,
    the records and the names (found by indexing ``data``, which must be sound)."""
    from .arrays import scan_list

    index = scan_list(io.BytesIO(data))
    values = bytearray(len(data))
    for rec in index.records:
        for at, dtype, shape in rec.parts:
            n = dtype.itemsize
            for d in shape:
                n *= d
            values[at:at + n] = b"\x01" * n
    return [i for i, v in enumerate(values) if not v]


def field_mutations(data: bytes, offsets: list[int] | None = None,
                    widths: tuple[int, ...] = (4, 8)) -> Iterator[Mutation]:
    """``data`` with the integer at each offset (every offset by default) set to each of
    :data:`SPECIAL_VALUES`, as 4- and 8-byte little-endian fields."""
    for at in range(len(data)) if offsets is None else offsets:
        for w in widths:
            if at + w > len(data):
                continue
            for v in SPECIAL_VALUES[w]:
                raw = v.to_bytes(w, "little")
                if data[at:at + w] != raw:
                    yield f"u{8 * w}@{at}={v}", data[:at] + raw + data[at + w:]


# ----------------------------------------------------------------------------- JSON mutators

_WRONG = (None, 0, -1, 2**63, 1.5, "x", "", [], {}, [[0, 0, 0]], {"a": 1}, True)


def _dump(doc: object) -> bytes:
    return json.dumps(doc).encode()


def json_mutations(text: bytes | str) -> Iterator[Mutation]:
    """Structure mutations of a sound symbol JSON: each key of the document and of every node
    deleted or set to values of the wrong type; inputs and heads aimed at the node itself,
    later nodes, missing nodes and huge outputs; counts (``num_args``, ``num_outputs``) set
    huge, negative or to a 10**5-digit number; huge attribute strings."""
    doc = json.loads(text)
    nodes = doc["nodes"]
    n = len(nodes)

    def variant(label: str, edit: Callable[[dict], None]) -> Mutation:
        d = json.loads(text)
        edit(d)
        return label, _dump(d)

    for key in list(doc):
        yield variant(f"del {key}", lambda d, k=key: d.pop(k))
        for w in _WRONG:
            yield variant(f"{key}={w!r}", lambda d, k=key, w=w: d.__setitem__(k, w))
    for i, node in enumerate(nodes):
        for key in list(node):
            yield variant(f"node {i} del {key}", lambda d, i=i, k=key: d["nodes"][i].pop(k))
            for w in _WRONG:
                yield variant(f"node {i} {key}={w!r}",
                              lambda d, i=i, k=key, w=w: d["nodes"][i].__setitem__(k, w))
        for target in (i, n - 1, n, 2**31 - 1, -1):
            if node["inputs"]:
                yield variant(f"node {i} input -> {target}",
                              lambda d, i=i, t=target: d["nodes"][i]["inputs"][0].__setitem__(
                                  0, t))
        if node["inputs"]:
            for out in (1, 7, 2**31 - 1, 2**63, -1):
                yield variant(f"node {i} input output={out}",
                              lambda d, i=i, o=out: d["nodes"][i]["inputs"][0].__setitem__(
                                  1, o))
        for key, value in list(node.get("attrs", {}).items()):
            for bad in ("0", "-1", "1000000", "100000000", str(2**63 - 1), str(2**64),
                        "1e999", "nan", "9" * 100000, "(" * 100000, "[" * 50000 + "]" * 50000,
                        "x" * (1 << 20), "(" + "1," * 100000 + ")", "None", ""):
                yield variant(f"node {i} attrs.{key}={bad[:12]}...({len(bad)})",
                              lambda d, i=i, k=key, b=bad: d["nodes"][i]["attrs"].__setitem__(
                                  k, b))
            del value
        yield variant(f"node {i} attrs.num_args=10**8",
                      lambda d, i=i: d["nodes"][i].setdefault("attrs", {}).__setitem__(
                          "num_args", "100000000"))
    for h in (n, 2**31 - 1, -1):
        yield variant(f"heads -> {h}", lambda d, h=h: d.__setitem__("heads", [[h, 0, 0]]))
    yield variant("heads output huge", lambda d: d.__setitem__("heads", [[n - 1, 2**40, 0]]))
    yield variant("arg_nodes huge", lambda d: d.__setitem__("arg_nodes", [2**62]))
    yield variant("cycle", lambda d: d["nodes"][0].__setitem__("inputs", [[n - 1, 0, 0]]))
    yield variant("self loop", lambda d: d["nodes"][n - 1].__setitem__("inputs",
                                                                        [[n - 1, 0, 0]]))
    yield variant("control_deps cycle", lambda d: d["nodes"][0].__setitem__(
        "control_deps", [n - 1]))
    yield variant("nested attrs", lambda d: d["nodes"][0].__setitem__(
        "attrs", {"__x__": {"a": {"b": []}}}))
    yield variant("old version", lambda d: d.__setitem__("attrs", {"mxnet_version":
                                                                   ["int", 800]}))
    yield variant("version huge", lambda d: d.__setitem__("attrs", {"mxnet_version":
                                                                    ["int", 2**70]}))
    raw = text.encode() if isinstance(text, str) else text
    yield from truncations(raw, max(1, len(raw) // 97))


def evil_json(big: bool = True) -> Iterator[Mutation]:
    """Hostile documents built from nothing: deep nesting, huge counts on variadic operators
    and, with ``big``, graphs of 20,000 nodes (files of 1-1.6 MB)."""
    yield "deep list", b"[" * 100000 + b"]" * 100000
    yield "deep object", b'{"a":' * 50000 + b"1" + b"}" * 50000
    yield "deep in nodes", (b'{"nodes": [' + b"[" * 100000 + b"]" * 100000
                            + b'], "arg_nodes": [], "heads": [[0, 0, 0]]}')
    yield "deep in attrs", (b'{"nodes": [{"op": "null", "name": "a", "inputs": [], "attrs": '
                            + b'{"a":' * 50000 + b'"1"' + b"}" * 50000
                            + b'}], "arg_nodes": [0], "heads": [[0, 0, 0]]}')
    var = {"op": "null", "name": "a", "inputs": []}
    for op, key in (("Concat", "num_args"), ("add_n", "num_args"), ("stack", "num_args"),
                    ("SliceChannel", "num_outputs"), ("amp_multicast", "num_outputs"),
                    ("_split_v2", "sections"), ("UpSampling", "num_args")):
        for count in ("1000000", "100000000", str(2**31 - 1), str(2**63 - 1), "-1", "0"):
            attrs = {key: count}
            if op == "UpSampling":
                attrs.update(scale="2", sample_type="nearest")
            node = {"op": op, "name": "x", "attrs": attrs, "inputs": [[0, 0, 0]]}
            doc = {"nodes": [var, node], "arg_nodes": [0], "heads": [[1, 0, 0]]}
            yield f"{op} {key}={count}", _dump(doc)
    yield "huge int", b'{"nodes": [], "arg_nodes": [], "heads": [[' + b"9" * 5000 + b", 0]]}"
    yield "not utf-8", b'{"nodes": "\xff\xfe"}'
    yield "NaN", b'{"nodes": NaN, "arg_nodes": [], "heads": []}'
    yield "empty", b""
    if not big:
        return
    many = [dict(var, name=f"v{i}") for i in range(20000)]
    yield "20000 variables", _dump({"nodes": many, "arg_nodes": list(range(20000)),
                                    "heads": [[19999, 0, 0]]})
    chain = [var] + [{"op": "relu", "name": f"r{i}", "inputs": [[i, 0, 0]]}
                     for i in range(20000)]
    yield "chain of 20000", _dump({"nodes": chain, "arg_nodes": [0], "heads": [[20000, 0, 0]]})
    back = [var] + [{"op": "relu", "name": f"r{i}", "inputs": [[i + 2, 0, 0]]}
                    for i in range(20000)]
    back[-1]["inputs"] = [[0, 0, 0]]
    yield "backward chain of 20000", _dump({"nodes": back, "arg_nodes": [0],
                                            "heads": [[1, 0, 0]]})
    wide = [var] + [{"op": "elemwise_add", "name": f"w{i}", "inputs": [[i, 0, 0], [i, 0, 0]]}
                    for i in range(20000)]
    yield "diamond chain of 20000", _dump({"nodes": wide, "arg_nodes": [0],
                                           "heads": [[20000, 0, 0]]})
    yield "huge name", _dump({"nodes": [dict(var, name="n" * (1 << 20))], "arg_nodes": [0],
                              "heads": [[0, 0, 0]]})


# ----------------------------------------------------------------------------- pickle mutators

_OPCODE_BYTES = sorted({op.code.encode("latin1")[0] for op in pickletools.opcodes})
_LENGTH_OPS = {"BINBYTES": 4, "BINBYTES8": 8, "SHORT_BINBYTES": 1, "BINUNICODE": 4,
               "BINUNICODE8": 8, "SHORT_BINUNICODE": 1, "BYTEARRAY8": 8, "BINSTRING": 4,
               "SHORT_BINSTRING": 1, "LONG1": 1, "LONG4": 4, "FRAME": 8}


def pickle_mutations(data: bytes, rng: random.Random | None = None,
                     replacements: int = 6) -> Iterator[Mutation]:
    """Opcode-level mutations of a sound pickle: each opcode deleted, duplicated, replaced by
    other opcodes, and its length argument (if any) set to 0 / 2**31-1 / 2**32-1 / 2**63-1;
    memo indices pointed elsewhere."""
    rng = rng or random.Random(0)
    ops = [(op, pos) for op, _, pos in pickletools.genops(data)]
    ends = [pos for _, pos in ops[1:]] + [len(data)]
    for (op, pos), end in zip(ops, ends):
        yield f"del {op.name}@{pos}", data[:pos] + data[end:]
        yield f"dup {op.name}@{pos}", data[:end] + data[pos:end] + data[end:]
        for code in rng.sample(_OPCODE_BYTES, min(replacements, len(_OPCODE_BYTES))):
            if code != data[pos]:
                yield (f"{op.name}@{pos}->{bytes([code])!r}",
                       data[:pos] + bytes([code]) + data[pos + 1:])
        width = _LENGTH_OPS.get(op.name)
        if width:
            for v in (0, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1):
                if v < 1 << (8 * width):
                    raw = v.to_bytes(width, "little")
                    yield f"{op.name}@{pos} length={v}", data[:pos + 1] + raw + \
                        data[pos + 1 + width:]
        if op.name in ("BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT"):
            w = 1 if op.name in ("BINGET", "BINPUT") else 4
            for v in (0, 2**(8 * w) - 1):
                yield f"{op.name}@{pos} index={v}", data[:pos + 1] + v.to_bytes(w, "little") + \
                    data[pos + 1 + w:]


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def evil_pickles() -> Iterator[Mutation]:
    """Hand-made hostile pickles: forbidden globals, allowed constructors asked for huge
    objects, unknown codecs, deep nesting, shared objects rebuilt many times over."""
    yield "os.system", _global("os", "system") + b"(S'true'\ntR."
    yield "builtins.eval", _global("builtins", "eval") + b"(S'1'\ntR."
    yield "posix.system", _global("posix", "system") + b"(S'true'\ntR."
    yield "bytes(2**40)", b"\x80\x02" + _global("builtins", "bytes") + b"\x8a\x06" + \
        (2**40).to_bytes(6, "little") + b"\x85R."
    yield "bytearray(2**40)", b"\x80\x02" + _global("builtins", "bytearray") + b"\x8a\x06" + \
        (2**40).to_bytes(6, "little") + b"\x85R."
    yield "bytes(2**70)", b"\x80\x02" + _global("builtins", "bytes") + b"\x8a\x09" + \
        (2**70).to_bytes(9, "little") + b"\x85R."
    yield "newobj bytes(2**40)", b"\x80\x02" + _global("builtins", "bytes") + b"\x8a\x06" + \
        (2**40).to_bytes(6, "little") + b"\x85\x81."
    yield "_codecs.encode unknown", b"\x80\x02" + _global("_codecs", "encode") + \
        b"X\x01\x00\x00\x00aX\x06\x00\x00\x00nosuch\x86R."
    yield "_codecs.encode int", b"\x80\x02" + _global("_codecs", "encode") + b"K\x01\x85R."
    yield "complex(huge)", b"\x80\x02" + _global("builtins", "complex") + b"\x8b" + \
        struct.pack("<i", 130) + b"\x7f" * 130 + b"\x85R."
    yield "reconstructor bytes", b"\x80\x02" + _global("copyreg", "_reconstructor") + \
        _global("builtins", "bytes") + _global("builtins", "bytes") + b"\x8a\x06" + \
        (2**40).to_bytes(6, "little") + b"\x87R."
    yield "newobj helper bytes", b"\x80\x02" + _global("copyreg", "__newobj__") + \
        _global("builtins", "bytes") + b"\x8a\x06" + (2**40).to_bytes(6, "little") + b"\x86R."
    yield "deep lists", b"\x80\x02" + b"]" * 20000 + b"a" * 19999 + b"."
    yield "deep tuples", b"\x80\x02" + b")" + b"\x85" * 20000 + b"."
    yield "deep states", b"\x80\x02}K\x00" + b")" + b"\x85" * 20000 + b"s."
    yield "LONG huge text", b"L" + b"9" * 100000 + b"L\n."
    yield "INT huge", b"I" + b"9" * 100000 + b"\n."
    yield "FLOAT text", b"F" + b"1e9999" + b"\n."
    # one 64 KiB record rebuilt 2,000 times through the memo (BINGET): 128 MiB from 66 KiB
    import numpy as np

    from ..ndarray.ndarray import NDArray

    rec = bytearray(record_of(NDArray(np.zeros(1 << 14, np.float32))))
    state = b"}q\x01X\x06\x00\x00\x00handleq\x02" + b"B" + struct.pack("<I", len(rec)) + \
        bytes(rec) + b"s"
    many = b"\x80\x03" + _global("mxlite.ndarray.ndarray", "NDArray") + b"q\x00" + b"(" + \
        b"h\x00N\x85\x81" + state + b"q\x01b" + (b"h\x00N\x85\x81h\x01b" * 2000) + b"l."
    yield "shared record rebuilt 2000 times", many
    bytes_many = b"\x80\x03(" + _global("builtins", "bytearray") + b"q\x00B" + \
        struct.pack("<I", 1 << 16) + b"\x00" * (1 << 16) + b"q\x01" + \
        b"h\x00h\x01\x85R" * 2000 + b"l."
    yield "shared bytes copied 2000 times", bytes_many
    yield "empty", b""
    yield "not a pickle", b"hello world"


def record_of(nd) -> bytes:
    """The array record a pickled NDArray carries (its ``handle``)."""
    return bytes(nd.__getstate__()["handle"])


# ----------------------------------------------------------------------------- the harness


@dataclass
class Outcome:
    """What one loader did with one input. ``kind`` is ``"ok"``, ``"refused"`` (an
    MXNetError) or ``"escape"`` (the promise broken); ``seconds`` and ``peak`` (bytes traced
    by tracemalloc, when tracing) measure the call."""

    kind: str
    detail: str = ""
    seconds: float = 0.0
    peak: int = 0


# entry point -> kind of input it takes
ENTRIES: dict[str, str] = {
    "nd.load": "arrays", "nd.load(stream)": "arrays", "nd.load(pipe)": "arrays",
    "nd.load(mmap)": "arrays",
    "nd.load(keys)": "arrays", "nd.open": "arrays", "nd.load_frombuffer": "arrays",
    "model.load_checkpoint(params)": "arrays", "model.verify(arrays)": "arrays",
    "sym.load": "symbol", "sym.loads": "symbol", "sym.load_json": "symbol",
    "model.load_checkpoint(symbol)": "symbol", "model.verify(symbol)": "symbol",
    "compat.load_pickle": "pickle", "compat.load_pickle(path)": "pickle",
    "Updater.set_states": "pickle", "Module.load_optimizer_states": "pickle",
    "model.verify(pickle)": "pickle", "Trainer.load_states": "pickle",
    "gluon.load_parameters": "arrays",
    "NDArray.__setstate__": "record", "pickle.loads(NDArray)": "record",
    "recordio.read": "recordio", "recordio.read_idx": "recordio", "recordio.idx": "recordidx",
    "onnx.import_model": "onnx",
}


class _Escape(Exception):
    """The promise broken in a way that raises nothing (verify vouching for a bad file)."""


_DENSE_LIMIT = 64 << 20  # a sparse array whose dense form is larger is not densified


def _touch_arrays(obj) -> None:
    """Use every array a loader returned, as a caller would (asnumpy, sparse parts)."""
    import numpy as np

    from ..ndarray.ndarray import NDArray

    values = obj.values() if isinstance(obj, dict) else obj
    for v in values:
        if not isinstance(v, NDArray):
            raise _Escape(f"loader returned a {type(v).__name__}, not an NDArray")
        if v.stype == "default" and v._data is None:
            continue  # MXNet's "none" array: nothing to use
        dense = np.dtype(v.dtype).itemsize
        for d in v.shape:
            dense *= d
        if dense <= _DENSE_LIMIT:
            v.asnumpy()
        if v.stype != "default":
            if dense <= _DENSE_LIMIT:
                v.tostype("default")
            v.data.asnumpy()
            v.indices.asnumpy()
            if v.stype == "csr" and v.shape[0] and dense <= _DENSE_LIMIT:
                v[0].asnumpy()


def _touch_symbol(s) -> None:
    s.tojson()
    s.list_arguments()
    s.list_outputs()
    s.list_auxiliary_states()
    s.get_internals()


def _touch_pickled(obj, depth: int = 0) -> None:
    from ..ndarray.ndarray import NDArray

    if depth > 50:
        return
    if isinstance(obj, NDArray):
        _touch_arrays([obj])
    elif isinstance(obj, dict):
        for v in obj.values():
            _touch_pickled(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _touch_pickled(v, depth + 1)


class _Pipe(io.RawIOBase):
    """A stream that cannot seek (a pipe, a socket): its size is unknown to the reader."""

    def __init__(self, data: bytes):
        super().__init__()
        self._f = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self._f.readinto(b)


class _Reduce:
    """Pickles as ``NDArray`` with state ``{"handle": record}``: what MXNet writes."""

    def __init__(self, handle: object):
        self.handle = handle

    def __reduce__(self):
        from ..ndarray.ndarray import NDArray

        return NDArray, (None,), {"handle": self.handle}


class Harness:
    """Runs the public loaders on bytes, each under the promise.

    ``workdir`` receives the files path-based loaders read (one name per entry point,
    rewritten per input). Module and symbol fixtures are built once, lazily.
    """

    def __init__(self, workdir: str | os.PathLike | None = None, trace_memory: bool = False):
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mxlite-fuzz-")
            workdir = self._tmp.name
        self.dir = os.fspath(workdir)
        self.trace_memory = trace_memory
        self._module = None
        self._gluon = None
        # the pair the "recordio.read_idx" / "recordio.idx" entries hold fixed
        self.rec_pair: tuple[bytes, bytes] | None = None
        self.rec_key_type: type = int
        self._golden_symbol: bytes | None = None
        self._golden_params: bytes | None = None
        self.keys: list = []
        self._later: list[Callable[[], None]] = []

    # -- fixtures -------------------------------------------------------------------------

    def _path(self, name: str, data: bytes) -> str:
        p = os.path.join(self.dir, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def _mlp(self):
        from .. import symbol as sym

        data = sym.Variable("data")
        fc = sym.FullyConnected(data, num_hidden=4, name="fc1")
        return sym.SoftmaxOutput(fc, name="softmax")

    def module(self):
        """A bound MLP module with an SGD optimizer (momentum) installed, built once."""
        if self._module is None:
            from ..module import Module

            mod = Module(self._mlp())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod.bind(data_shapes=[("data", (2, 3))], label_shapes=[("softmax_label", (2,))])
                mod.init_params()
                mod.init_optimizer(optimizer="sgd", optimizer_params={"momentum": 0.9})
            self._module = mod
        return self._module

    def gluon(self):
        """A Dense(4, in_units=3) block, an SGD Trainer (momentum) over it with one step
        taken, and a copy of its parameter values, built once."""
        if self._gluon is None:
            import numpy as np

            from .. import autograd
            from ..gluon import Trainer, nn
            from ..ndarray.ndarray import NDArray

            net = nn.Dense(4, in_units=3, prefix="dense0_")
            net.initialize()
            trainer = Trainer(net.collect_params(), "sgd", {"momentum": 0.9})
            with autograd.record():
                loss = net(NDArray(np.ones((2, 3), np.float32))).sum()
            loss.backward()
            trainer.step(2)
            kept = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
            self._gluon = (net, trainer, kept)
        return self._gluon

    def _gluon_load(self, data: bytes) -> None:
        import numpy as np

        net, _, kept = self.gluon()
        params = net.collect_params()
        try:
            net.load_parameters(self._path("g.params", data))
        except MXNetError:
            changed = [k for k, p in params.items()
                       if not np.array_equal(p.data().asnumpy(), kept[k], equal_nan=True)]
            if changed:
                raise _Escape(f"a refused load changed {changed}") from None
            raise
        values = [p.data() for p in params.values()]
        for k, p in params.items():  # the next input starts from the same block
            p.set_data(kept[k])
        self._defer(_touch_arrays, values)

    def golden_symbol(self) -> bytes:
        if self._golden_symbol is None:
            self._golden_symbol = self._mlp().tojson().encode()
        return self._golden_symbol

    def golden_params(self) -> bytes:
        if self._golden_params is None:
            import numpy as np

            from ..ndarray import utils
            from ..ndarray.ndarray import NDArray

            buf = io.BytesIO()
            utils.save(buf, {"arg:fc1_weight": NDArray(np.ones((4, 3), np.float32)),
                             "arg:fc1_bias": NDArray(np.zeros(4, np.float32))})
            self._golden_params = buf.getvalue()
        return self._golden_params

    # -- entry points ---------------------------------------------------------------------

    def _call(self, entry: str, data: bytes) -> None:  # noqa: C901 - one branch per entry
        from .. import compat, model
        from .. import ndarray as nd
        from .. import symbol as sym

        if entry == "nd.load":
            self._defer(_touch_arrays, _as_list(nd.load(self._path("a.params", data))))
        elif entry == "nd.load(stream)":
            self._defer(_touch_arrays, _as_list(nd.load(io.BytesIO(data))))
        elif entry == "nd.load(pipe)":
            self._defer(_touch_arrays, _as_list(nd.load(io.BufferedReader(_Pipe(data)))))
        elif entry == "nd.load(mmap)":
            loaded = nd.load(self._path("m.params", data), mmap=True)
            self._defer(_touch_arrays, _as_list(loaded))
        elif entry == "nd.load(keys)":
            keys = self.keys or [0]
            loaded = nd.load(self._path("k.params", data), keys=keys)
            self._defer(_touch_arrays, _as_list(loaded))
        elif entry == "nd.open":
            with nd.open(self._path("o.params", data)) as f:
                for k in f:
                    a = f[k]
                    (a.shape, a.dtype, a.stype, a.nbytes, repr(a))
                    self._defer(_touch_arrays, [a.read()])
        elif entry == "nd.load_frombuffer":
            self._defer(_touch_arrays, _as_list(nd.load_frombuffer(data)))
        elif entry == "model.load_checkpoint(params)":
            self._path("ck-symbol.json", self.golden_symbol())
            self._path("ck-0001.params", data)
            s, args, auxs = model.load_checkpoint(os.path.join(self.dir, "ck"), 1)
            self._defer(_touch_arrays, list(args.values()) + list(auxs.values()))
        elif entry == "model.load_checkpoint(symbol)":
            self._path("cs-symbol.json", data)
            self._path("cs-0001.params", self.golden_params())
            s, args, auxs = model.load_checkpoint(os.path.join(self.dir, "cs"), 1)
            self._defer(_touch_symbol, s)
        elif entry == "sym.load":
            self._defer(_touch_symbol, sym.load(self._path("s-symbol.json", data)))
        elif entry == "sym.loads":
            self._defer(_touch_symbol, sym.loads(self._path("l-symbol.json", data)))
        elif entry == "sym.load_json":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin1")
            self._defer(_touch_symbol, sym.load_json(text))
        elif entry == "compat.load_pickle":
            self._defer(_touch_pickled, compat.load_pickle(data))
        elif entry == "compat.load_pickle(path)":
            self._defer(_touch_pickled, compat.load_pickle(self._path("p.pkl", data)))
        elif entry == "Updater.set_states":
            from ..optimizer import SGD, get_updater

            up = get_updater(SGD(momentum=0.9))
            up.set_states(data)
            self._defer(_touch_pickled, up.states)
        elif entry == "Module.load_optimizer_states":
            self.module().load_optimizer_states(self._path("x.states", data))
        elif entry == "gluon.load_parameters":
            self._gluon_load(data)
        elif entry == "Trainer.load_states":
            trainer = self.gluon()[1]
            trainer.load_states(self._path("t.states", data))
            self._defer(_touch_pickled, trainer._updaters[0].states)
        elif entry in ("recordio.read", "recordio.read_idx", "recordio.idx"):
            self._recordio(entry, data)
        elif entry == "onnx.import_model":
            from .. import onnx as _onnx

            s, args, auxs = _onnx.import_model(self._path("m.onnx", data))
            self._defer(_touch_symbol, s)
            self._defer(_touch_arrays, list(args.values()) + list(auxs.values()))
        elif entry == "NDArray.__setstate__":
            from ..ndarray.ndarray import NDArray

            a = NDArray.__new__(NDArray)
            a.__setstate__({"handle": bytearray(data)})
            self._defer(_touch_arrays, [a])
        elif entry == "pickle.loads(NDArray)":
            raw = pickle.dumps(_Reduce(bytearray(data)), protocol=2)
            self._defer(_touch_arrays, [pickle.loads(raw)])
        elif entry.startswith("model.verify"):
            self._verify(entry, data)
        else:
            raise ValueError(f"unknown entry point {entry!r}")

    def _recordio(self, entry: str, data: bytes) -> None:
        """Read every record sequentially, or every key through an index; ``rec_pair`` (a
        sound ``.rec`` and its ``.idx``) supplies the other file, ``rec_key_type`` the index's
        key type."""
        from .. import recordio

        rec_bytes, idx_bytes = self.rec_pair or (b"", b"")
        if entry == "recordio.read":
            r = recordio.MXRecordIO(self._path("f.rec", data), "r")
            records = []
            try:
                for _ in range(len(data) // 8 + 1):  # a record takes at least 8 bytes
                    rec = r.read()
                    if rec is None:
                        break
                    records.append(rec)
                else:
                    raise _Escape("more records than the file can hold")
            finally:
                r.close()
        else:
            rec = data if entry == "recordio.read_idx" else rec_bytes
            idx = data if entry == "recordio.idx" else idx_bytes
            r = recordio.MXIndexedRecordIO(self._path("i.idx", idx), self._path("i.rec", rec),
                                           "r", key_type=self.rec_key_type)
            try:
                records = [r.read_idx(k) for k in list(r.keys)]
            finally:
                r.close()
        self._defer(lambda rs: [bytes(r) for r in rs], records)

    def _defer(self, touch: Callable, obj: object) -> None:
        self._later.append(lambda: touch(obj))

    def _verify(self, entry: str, data: bytes) -> None:
        from .. import model

        kind = ENTRIES[entry]
        name = {"arrays": "v.params", "symbol": "v-symbol.json", "pickle": "v.states"}[kind]
        path = self._path(name, data)
        try:
            problems = model.verify(path)
        except Exception as e:
            raise _Escape(f"verify raised {type(e).__name__}: {e}") from e
        if not isinstance(problems, list) or any(type(p) is not str for p in problems):
            raise _Escape(f"verify returned {problems!r}")
        if any("internal error" in p for p in problems):
            raise _Escape(problems[0])
        if problems:
            raise MXNetError(problems[0])  # refused: it said why
        self._later.append(lambda: self._vouched(kind, path, data))

    def _vouched(self, kind: str, path: str, data: bytes) -> None:
        """verify found nothing wrong: the loader must load the file."""
        from .. import compat
        from .. import ndarray as nd
        from .. import symbol as sym

        try:
            if kind == "arrays":
                _touch_arrays(_as_list(nd.load(path)))
            elif kind == "symbol":
                _touch_symbol(sym.load(path))
            else:
                from ..optimizer import SGD, get_updater

                _touch_pickled(compat.load_pickle(path))
                get_updater(SGD()).set_states(data)
        except MXNetError as e:
            raise _Escape(f"verify found no problem but the loader refused: {e}") from e

    def run(self, entry: str, data: bytes) -> Outcome:
        """Run ``entry`` on ``data``; never raises (an escape is an :class:`Outcome`)."""
        if self.trace_memory:
            tracemalloc.start()
            tracemalloc.reset_peak()
        self._later = []
        t = time.perf_counter()
        seconds = peak = None
        try:
            self._call(entry, data)
            # the load is measured; using what it returned (below) is not
            seconds, peak = self._measured(t)
            for use in self._later:
                use()
            kind, detail = "ok", ""
        except _Escape as e:
            kind, detail = "escape", str(e)
        except MXNetError as e:
            kind, detail = "refused", str(e)
            if not str(e).strip():
                kind, detail = "escape", "MXNetError with an empty message"
        except RecursionError as e:  # a BaseException-free escape still counts
            kind, detail = "escape", f"RecursionError: {e}"
        except Exception as e:
            kind, detail = "escape", f"{type(e).__name__}: {e}"
        if seconds is None:
            seconds, peak = self._measured(t)
        self._later = []
        return Outcome(kind, detail[:500], seconds, peak)

    def tally(self, entry: str, mutations: Iterable[Mutation]) -> tuple[dict[str, int], list[str]]:
        """Run ``entry`` on every mutation: outcome counts by kind, and one line per escape
        (``"label: detail"``), which a test asserts is empty."""
        counts: dict[str, int] = {}
        escapes = []
        for label, data in mutations:
            out = self.run(entry, data)
            counts[out.kind] = counts.get(out.kind, 0) + 1
            if out.kind == "escape":
                escapes.append(f"{label}: {out.detail}")
        return counts, escapes

    def _measured(self, t: float) -> tuple[float, int]:
        seconds = time.perf_counter() - t
        peak = 0
        if self.trace_memory:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return seconds, peak


def _as_list(obj) -> list:
    return list(obj.values()) if isinstance(obj, dict) else list(obj)
