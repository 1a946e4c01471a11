"""The operator registry: the one description of every operator.

``mx.sym.<op>``, ``mx.nd.<op>``, symbol JSON parsing and printing, shape/type inference and
the executor all read the entry an op file declares here. An entry says:

- its canonical name and aliases (``elemwise_add`` also answers to ``_Plus``, ``_add``);
- its typed parameters, parsed from the strings MXNet stores in ``attrs`` (``"(3, 3)"``,
  ``"False"``, ``"2e-05"``). The strings themselves are kept on the graph node so a round
  trip keeps the user's spelling; parsed values are derived from them;
- its input names (some depend on parameters: ``no_bias``, ``num_args``), which of them are
  auxiliary states, and attributes given to the variables it auto-creates;
- its outputs (count and names) and how many of them a symbol shows;
- shape and dtype inference, forward and backward.

Shape conventions for inference: a shape is a tuple of ints, ``None`` when nothing is known,
and a known-rank shape may hold ``0`` for an unknown dimension (MXNet's legacy convention, what
``infer_shape_partial`` reports). Dtypes are ``numpy.dtype`` or ``None`` when unknown.

Kernel conventions: ``forward(attrs, inputs, ctx) -> list of outputs`` on numpy arrays, aux
states among ``inputs`` and updated in place; ``backward(attrs, out_grads, inputs, outputs,
ctx) -> list of input gradients`` (``None`` for an input that gets none). ``ctx`` is an
:class:`OpContext` carrying ``is_train``, the random generator and whatever forward saved.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..base import MXNetError

__all__ = [
    "REQUIRED", "ParamType", "Int", "Float", "Bool", "Str", "Enum", "Shape", "FloatTuple",
    "DType", "Optional", "Param", "Attrs", "Op", "OpContext", "register", "get", "find",
    "all_ops", "merge_shape", "merge_dtype",
]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


# ----------------------------------------------------------------------------------------
# Parameter types: parse MXNet's attribute strings (and Python values) into typed values.


class ParamType:
    """Parses one parameter's value from MXNet's string form or a Python value."""

    name = "any"

    def parse(self, value: Any) -> Any:
        return value

    def __repr__(self) -> str:
        return self.name


class Int(ParamType):
    name = "int"

    def parse(self, value: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        s = str(value).strip()
        try:
            return int(s)
        except ValueError:
            f = float(s)  # MXNet's parser takes "3.0" for an int; reject "3.5"
            # inf and nan (also what float() makes of 5000 digits) are no integers either
            if not math.isfinite(f) or f != int(f):
                raise ValueError(f"{_clip(s)!r} is not an integer") from None
            return int(f)


class Float(ParamType):
    name = "float"

    def parse(self, value: Any) -> float:
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            return float(value)
        s = str(value).strip()
        low = s.lower()
        if low in ("inf", "+inf", "infinity"):
            return math.inf
        if low in ("-inf", "-infinity"):
            return -math.inf
        return float(s)


class Bool(ParamType):
    name = "boolean"
    _true = {"true", "1"}
    _false = {"false", "0"}

    def parse(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return bool(value)
        s = str(value).strip().lower()
        if s in self._true:
            return True
        if s in self._false:
            return False
        raise ValueError(f"{value!r} is not a boolean (expected True/False/1/0)")


class Str(ParamType):
    name = "string"

    def parse(self, value: Any) -> str:
        return str(value)


class Enum(ParamType):
    def __init__(self, *choices: str):
        self.choices = choices
        self.name = "{" + ", ".join(repr(c) for c in choices) + "}"

    def parse(self, value: Any) -> str:
        s = str(value).strip().strip("'\"")
        if s not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        return s


def _clip(s: str, n: int = 60) -> str:
    """The start of a (possibly huge) attribute string, for messages."""
    return s if len(s) <= n else f"{s[:n]}... ({len(s)} characters)"


def _clip_repr(value: Any) -> str:
    if isinstance(value, str):
        return repr(_clip(value))
    try:
        return _clip(repr(value))
    except ValueError:  # an int too long to print
        return f"<{type(value).__name__}>"


_FLAT_TOKENS = {"None": None, "True": True, "False": False}
_LITERAL_LIMIT = 4096  # longer text than this must be a flat tuple or list of numbers


def _flat(s: str) -> tuple | None:
    """``"(1, 2, 3)"`` / ``"[1.5, 2]"`` as a tuple, without Python's parser (whose syntax
    tree costs hundreds of bytes per element); None when ``s`` is not such a list."""
    if len(s) < 2 or s[0] not in "([" or s[-1] != (")" if s[0] == "(" else "]"):
        return None
    body = s[1:-1]
    if any(c in body for c in "()[]{}'\""):
        return None
    items = [x.strip() for x in body.split(",")]
    if items[-1] == "":
        items.pop()
    out = []
    for x in items:
        if x in _FLAT_TOKENS:
            out.append(_FLAT_TOKENS[x])
            continue
        try:
            out.append(int(x, 0))  # 0x10 and 1_000, as Python's parser reads them
        except ValueError:
            out.append(float(x))  # ValueError for anything else: not a number
    return tuple(out)


def _literal(s: str) -> Any:
    s = s.strip()
    if s in ("None", ""):
        return None
    try:
        flat = _flat(s)
    except ValueError:
        raise ValueError(f"cannot parse {_clip(s)!r}") from None
    if flat is not None:
        return flat
    if len(s) > _LITERAL_LIMIT:
        raise ValueError(f"cannot parse {_clip(s)!r}: longer than {_LITERAL_LIMIT} characters "
                         "and not a flat list of numbers")
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        # MemoryError / RecursionError: the parser's own limits on deeply nested text
        raise ValueError(f"cannot parse {_clip(s)!r}") from None


class Shape(ParamType):
    """A tuple of ints: ``"(3, 3)"``, ``"[2]"``, ``"3"`` or a Python tuple/list/int.

    ``None`` (or the string ``"None"``) stays ``None``: MXNet's optional shapes.
    """

    name = "Shape(tuple)"

    def parse(self, value: Any) -> tuple[int, ...] | None:
        if isinstance(value, str):
            value = _literal(value)
        if value is None:
            return None
        if isinstance(value, (int, np.integer)):
            return (int(value),)
        try:
            return tuple(int(Int().parse(v)) for v in value)
        except TypeError:
            raise ValueError(f"{value!r} is not a shape") from None


class FloatTuple(ParamType):
    name = "tuple of float"

    def parse(self, value: Any) -> tuple[float, ...] | None:
        if isinstance(value, str):
            value = _literal(value)
        if value is None:
            return None
        if isinstance(value, (int, float)):
            return (float(value),)
        return tuple(float(v) for v in value)


_DTYPE_NAMES = ("float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool",
                "int16", "uint16", "uint32", "uint64", "bfloat16")


class DType(ParamType):
    """A dtype name as MXNet spells it (``'float32'``), or a numpy dtype/type."""

    name = "dtype"

    def parse(self, value: Any) -> np.dtype | None:
        if value is None or (isinstance(value, str) and value.strip() in ("None", "")):
            return None
        if isinstance(value, str):
            s = value.strip().strip("'\"")
            if s not in _DTYPE_NAMES:
                raise ValueError(f"{value!r} is not a dtype (expected one of {_DTYPE_NAMES})")
            if s == "bfloat16":
                from ..formats.arrays import bfloat16_dtype

                return bfloat16_dtype()
            return np.dtype(s)
        return np.dtype(value)


class Optional(ParamType):
    """``None`` or the inner type (MXNet's ``dmlc::optional<T>``)."""

    def __init__(self, inner: ParamType):
        self.inner = inner
        self.name = f"None or {inner.name}"

    def parse(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip() == "None"):
            return None
        return self.inner.parse(value)


@dataclass(frozen=True)
class Param:
    """One operator parameter: its type, default (``REQUIRED`` if none) and meaning."""

    type: ParamType
    default: Any = REQUIRED
    doc: str = ""


class Attrs:
    """An operator's parsed parameters, by attribute (``attrs.num_hidden``).

    ``raw`` keeps the strings as given, which is what the graph stores and prints.
    """

    __slots__ = ("_values", "raw", "op")

    def __init__(self, op: Op, values: dict[str, Any], raw: dict[str, str]):
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "raw", raw)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"operator {self.op.name} has no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Attrs are read-only")

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Attrs({self.op.name}, {self._values})"


class OpContext:
    """What a kernel sees besides its inputs: mode, randomness, and state saved for backward.

    ``inplace`` lists input positions whose buffers nothing reads after this operator (the
    executor's memory plan): the kernel may write its output into them. ``need_grad`` says,
    per input, whether backward's gradient for it is used (None: all are); a kernel may
    return None for the others and skip their cost, as MXNet skips ``grad_req='null'``.
    """

    __slots__ = ("is_train", "rng", "saved", "inplace", "need_grad")

    def __init__(self, is_train: bool = False, rng: np.random.Generator | None = None):
        self.is_train = is_train
        self.rng = rng
        self.saved: dict[str, Any] = {}
        self.inplace: tuple[int, ...] = ()
        self.need_grad: tuple[bool, ...] | None = None

    def wants(self, i: int) -> bool:
        """Whether input ``i``'s gradient is used."""
        return self.need_grad is None or self.need_grad[i]


def bilinear_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    """``grad_graph`` of an operator ``y = B(data, weight) (+ bias)`` bilinear in data and
    weight (the convolutions). Its gradient ``dx = Bx'(g; W)``, ``dW = Bw'(g; x)``,
    ``db = S(g)`` is recorded as one node whose own gradient is the operator's kernels again
    on swapped operands: under head gradients ``hx, hW, hb`` it is ``B(hx, W) + B(x, hW) + hb``
    for ``g``, ``Bx'(g; hW)`` for ``x`` and ``Bw'(g; hx)`` for ``W``. So such gradients can
    be differentiated once more (MXNet 1.9.1 differentiates none of them)."""
    op = attrs.op
    g, x, w = (np.asarray(a) for a in (out_grads[0], inputs[0], inputs[1]))
    b = np.zeros(np.shape(inputs[2]), g.dtype) if len(inputs) > 2 else None

    def run(data, weight, bias, head=None):
        kctx = OpContext(is_train=True)
        ins = [data, weight] + ([] if b is None else [bias])
        out = op.forward(attrs, ins, kctx)
        return out[0] if head is None else op.backward(attrs, [head], ins, out, kctx)

    def backward(heads: list) -> list:
        hx, hw = heads[0], heads[1]
        dg = run(hx, w, None if b is None else heads[2]) + run(x, hw, b)
        return [dg, run(x, hw, b, g)[0], run(hx, w, b, g)[1]]

    return F.record(list(out_grads[:1]) + list(inputs[:2]), run(x, w, b, g), backward,
                    "_backward_" + op.name)


def linear_grad_graph(F, attrs, out_grads, inputs, outputs, ctx):
    """``grad_graph`` of an operator ``y = L(data)`` linear in its one input (average
    pooling): its gradient ``dx = L'(g)`` is recorded as one node whose own gradient is the
    operator's forward, ``L(hx)`` for ``g``, so it can be differentiated once more."""
    op = attrs.op
    x, g = np.asarray(inputs[0]), np.asarray(out_grads[0])
    kctx = OpContext(is_train=True)
    y = op.forward(attrs, [x], kctx)
    dx = op.backward(attrs, [g] + [np.zeros_like(o) for o in y[1:]], [x], y, kctx)[0]

    def backward(heads: list) -> list:
        return [op.forward(attrs, [heads[0]], OpContext(is_train=True))[0]]

    return F.record([out_grads[0]], [dx], backward, "_backward_" + op.name)


ShapeList = list  # list[tuple[int, ...] | None]
InferShape = Callable[[Attrs, ShapeList, ShapeList], tuple[ShapeList, ShapeList]]
InferType = Callable[[Attrs, list, list], tuple[list, list]]


def _listify(spec: Sequence[str] | Callable[[Attrs], Sequence[str]], attrs: Attrs) -> list[str]:
    return list(spec(attrs) if callable(spec) else spec)


@dataclass
class Op:
    """One registered operator. Op files create these through :func:`register`."""

    name: str
    params: dict[str, Param] = field(default_factory=dict)
    inputs: Sequence[str] | Callable[[Attrs], Sequence[str]] = ("data",)
    outputs: Sequence[str] | Callable[[Attrs], Sequence[str]] = ("output",)
    aliases: tuple[str, ...] = ()
    aux: Sequence[str] | Callable[[Attrs], Sequence[str]] = ()
    num_visible_outputs: int | Callable[[Attrs], int] | None = None
    # Parameter counting a variable number of inputs (``num_args`` of Concat / add_n);
    # the frontend sets it from the number of positional inputs when the user omits it.
    key_var_num_args: str | None = None
    # Extra attributes given to the variables auto-created for named inputs (BatchNorm's
    # moving_mean gets ``__init__ = ["zero", {}]``), on top of the op's own attributes.
    input_var_attrs: dict[str, dict[str, str]] = field(default_factory=dict)
    infer_shape: InferShape | None = None
    infer_type: InferType | None = None
    forward: Callable | None = None
    backward: Callable | None = None
    # The gradient as operators (MXNet's FGradient), for gradients that are differentiated
    # again (``autograd.grad(create_graph=True)``): ``(F, attrs, out_grads, inputs, outputs,
    # ctx) -> input gradients``, backward's arguments with ``F``, a namespace of recorded
    # NDArray operators, and NDArrays in and out (None where these parameters have none).
    # Operators without one give gradients that cannot be.
    grad_graph: Callable | None = None
    # MXNet's sparse backward kernels, for gradients stored row_sparse:
    # ``sparse_grad_rows(attrs, arrays, ins)`` (the call's NDArrays and numpy inputs) gives
    # ``rows(i, stype)``, the rows MXNet stores in input ``i``'s gradient of storage type
    # ``stype`` (None: the non-zero rows, MXNet's dense fallback; it may refuse a storage
    # type MXNet refuses); ``sparse_grad_stypes(attrs, in_stypes)`` says per input whether
    # MXNet's storage inference makes its gradient row_sparse (``simple_bind``).
    sparse_grad_rows: Callable | None = None
    sparse_grad_stypes: Callable | None = None
    doc: str = ""

    # -- parameters -------------------------------------------------------------------

    def parse_attrs(self, raw: dict[str, Any], where: str = "") -> Attrs:
        """Typed parameters from a node's attributes; hidden ``__x__`` keys are skipped.

        Raises MXNetError naming the operator (and ``where``: node name) on an unknown
        parameter, a missing required one, or a value that does not parse.
        """
        at = f" (node {where!r})" if where else ""
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            p = self.params.get(key)
            if p is None:
                if not self.params:
                    # MXNet's operators without a parameter struct have no attribute parser
                    # and keep whatever attributes they are given (``broadcast_maximum(a, b,
                    # axis=1)`` runs); the node still carries them.
                    continue
                raise MXNetError(
                    f"operator {self.name}{at}: unknown parameter {key!r}; expected one of "
                    f"{sorted(self.params)}")
            try:
                values[key] = p.type.parse(value)
            except (ValueError, TypeError, OverflowError) as e:
                raise MXNetError(
                    f"operator {self.name}{at}: invalid value {_clip_repr(value)} for "
                    f"parameter {key!r}"
                    f" (expected {p.type.name}): {_clip(str(e), 200)}") from None
        for key, p in self.params.items():
            if key not in values:
                if p.default is REQUIRED:
                    raise MXNetError(
                        f"operator {self.name}{at}: required parameter {key!r} "
                        f"({p.type.name}) is missing")
                values[key] = p.default
        return Attrs(self, values, {k: str(v) for k, v in raw.items()})

    # -- structure ----------------------------------------------------------------------

    def list_inputs(self, attrs: Attrs) -> list[str]:
        return _listify(self.inputs, attrs)

    def list_aux(self, attrs: Attrs) -> list[str]:
        return _listify(self.aux, attrs)

    def list_outputs(self, attrs: Attrs) -> list[str]:
        return _listify(self.outputs, attrs)

    def num_outputs(self, attrs: Attrs) -> int:
        return len(self.list_outputs(attrs))

    def visible_outputs(self, attrs: Attrs) -> int:
        n = self.num_visible_outputs
        if n is None:
            return self.num_outputs(attrs)
        return n(attrs) if callable(n) else n

    # -- inference ----------------------------------------------------------------------

    def shapes(self, attrs: Attrs, in_shapes: ShapeList, out_shapes: ShapeList | None = None
               ) -> tuple[ShapeList, ShapeList]:
        """Fill in what can be known of input and output shapes (both directions)."""
        n_out = self.num_outputs(attrs)
        outs = list(out_shapes) if out_shapes is not None else [None] * n_out
        if self.infer_shape is None:
            return list(in_shapes), outs
        return self.infer_shape(attrs, list(in_shapes), outs)

    def types(self, attrs: Attrs, in_types: list, out_types: list | None = None
              ) -> tuple[list, list]:
        n_out = self.num_outputs(attrs)
        outs = list(out_types) if out_types is not None else [None] * n_out
        fn = self.infer_type or same_type
        return fn(attrs, list(in_types), outs)


# ----------------------------------------------------------------------------------------
# The table.

_OPS: dict[str, Op] = {}  # every name and alias -> entry
_CANONICAL: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add an entry; its name and aliases must be new."""
    for n in (op.name, *op.aliases):
        if n in _OPS:
            raise MXNetError(f"operator {n!r} is registered twice")
        _OPS[n] = op
    _CANONICAL[op.name] = op
    return op


def find(name: str) -> Op | None:
    _load_families()
    return _OPS.get(name)


def get(name: str) -> Op:
    """The entry for a name or alias; MXNetError if there is none."""
    op = find(name)
    if op is None:
        raise MXNetError(f"unknown operator {name!r} ({unknown_reason(name)})")
    return op


def unknown_reason(name: str) -> str:
    """Why ``name`` has no entry: an MXNet operator mxlite lacks, or no MXNet operator."""
    from ._mxnet_names import NAMES

    if name in NAMES:
        return "an operator of MXNet 1.9.1 that mxlite does not implement yet"
    return "not in mxlite's operator registry, nor an operator of MXNet 1.9.1"


def all_ops() -> dict[str, Op]:
    """Canonical name -> entry, for every registered operator."""
    _load_families()
    return dict(_CANONICAL)


def all_names() -> dict[str, Op]:
    """Every name and alias -> entry."""
    _load_families()
    return dict(_OPS)


_loaded = False


def _load_families() -> None:
    # Op families register on import; importing them lazily keeps registry.py importable
    # from the families themselves.
    global _loaded
    if not _loaded:
        _loaded = True
        from . import _families  # noqa: F401


# ----------------------------------------------------------------------------------------
# Inference helpers shared by the families.


def merge_shape(a: tuple | None, b: tuple | None, what: str = "") -> tuple | None:
    """The most specific shape consistent with both; MXNetError if they disagree.

    ``None`` is unknown; a ``0`` dim is an unknown dim of a known rank.
    """
    if a is None:
        return None if b is None else tuple(b)
    if b is None:
        return tuple(a)
    if len(a) != len(b):
        raise MXNetError(f"shape mismatch{' for ' + what if what else ''}: "
                         f"{tuple(a)} vs {tuple(b)}")
    out = []
    for x, y in zip(a, b):
        if x == 0:
            out.append(y)
        elif y == 0 or x == y:
            out.append(x)
        else:
            raise MXNetError(f"shape mismatch{' for ' + what if what else ''}: "
                             f"{tuple(a)} vs {tuple(b)}")
    return tuple(out)


def merge_dtype(a: np.dtype | None, b: np.dtype | None, what: str = "") -> np.dtype | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    raise MXNetError(f"dtype mismatch{' for ' + what if what else ''}: {a} vs {b}")


def same_shape(attrs: Attrs, ins: ShapeList, outs: ShapeList) -> tuple[ShapeList, ShapeList]:
    """Every input and output has one shape (elementwise ops)."""
    s = None
    names = attrs.op.list_inputs(attrs)
    for i, x in enumerate([*ins, *outs]):
        s = merge_shape(s, x, f"{attrs.op.name} input {names[i] if i < len(names) else i}")
    return [s] * len(ins), [s] * len(outs)


def same_type(attrs: Attrs, ins: list, outs: list) -> tuple[list, list]:
    """Every input and output has one dtype (the default)."""
    t = None
    for x in [*ins, *outs]:
        t = merge_dtype(t, x, attrs.op.name)
    return [t] * len(ins), [t] * len(outs)
