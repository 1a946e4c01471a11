"""Small helpers the op families share: parameter shorthands and MXNet's inference idioms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..base import MXNetError
from .registry import (
    REQUIRED,
    Attrs,
    Bool,
    DType,
    Enum,
    Float,
    Int,
    Op,
    Optional,
    Param,
    Shape,
    Str,
    merge_dtype,
    merge_shape,
    register,
)

INT, FLOAT, BOOL, STR, SHAPE = Int(), Float(), Bool(), Str(), Shape()
OPT_INT, OPT_FLOAT, OPT_BOOL = Optional(INT), Optional(FLOAT), Optional(BOOL)
OPT_SHAPE = Optional(SHAPE)
F32 = np.dtype("float32")


class DTypeChoice(DType):
    """A dtype restricted to the names an operator accepts (MXNet lists them per parameter)."""

    def __init__(self, *choices: str):
        self.choices = choices
        self.name = "{" + ", ".join(repr(c) for c in choices) + "}"

    def parse(self, value: Any) -> np.dtype | None:
        if isinstance(value, str) and value.strip().strip("'\"") not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(repr, self.choices))}")
        t = super().parse(value)
        if t is not None and t.name not in self.choices:
            raise ValueError(f"{t.name!r} is not one of {', '.join(map(repr, self.choices))}")
        return t


def dtypes(*choices: str) -> DTypeChoice:
    return DTypeChoice(*choices)


def opt_dtypes(*choices: str) -> Optional:
    return Optional(DTypeChoice(*choices))


def enum(*choices: str) -> Enum:
    return Enum(*choices)


def opt_enum(*choices: str) -> Optional:
    return Optional(Enum(*choices))


def P(type_: Any, default: Any = REQUIRED, doc: str = "") -> Param:  # noqa: N802
    return Param(type_, default, doc)


def declare(name: str, *aliases: str, **fields: Any) -> Op:
    """Register one operator: ``declare("Flatten", "flatten", infer_shape=...)``."""
    return register(Op(name, aliases=tuple(aliases), **fields))


def fail(attrs: Attrs, msg: str) -> MXNetError:
    return MXNetError(f"operator {attrs.op.name}: {msg}")


def known(s: tuple | None) -> bool:
    """Every dim known (MXNet's ``shape_is_known``)."""
    return s is not None and all(d > 0 for d in s)


def size_of(s: Sequence[int]) -> int:
    return math.prod(s)


def assign(attrs: Attrs, shapes: list, i: int, shape: tuple | None, names: Sequence[str]) -> None:
    """MXNet's SHAPE_ASSIGN_CHECK: merge ``shape`` into ``shapes[i]`` or say who disagrees."""
    if shape is None:
        return
    try:
        shapes[i] = merge_shape(shapes[i], tuple(shape))
    except MXNetError:
        what = names[i] if i < len(names) else f"#{i}"
        raise fail(attrs, f"shape of {what!r} is {tuple(shapes[i])} but {tuple(shape)} "
                          "was inferred") from None


def assign_type(attrs: Attrs, types: list, i: int, dtype: Any, names: Sequence[str]) -> None:
    if dtype is None:
        return
    try:
        types[i] = merge_dtype(types[i], np.dtype(dtype))
    except MXNetError:
        what = names[i] if i < len(names) else f"#{i}"
        raise fail(attrs, f"dtype of {what!r} is {types[i]} but {np.dtype(dtype)} "
                          "was inferred") from None


def like_data(attrs: Attrs, ins: list, outs: list):
    """Every output has the data's shape; nothing is inferred backwards (MXNet's layers that
    only look at their input: Dropout, LeakyReLU, softmax, ...)."""
    if ins[0] is not None:
        names = attrs.op.list_outputs(attrs)
        for i in range(len(outs)):
            assign(attrs, outs, i, ins[0], names)
    return ins, outs


def axis_of(attrs: Attrs, axis: int, ndim: int, name: str = "axis", extra: int = 0) -> int:
    """A non-negative axis in ``[0, ndim + extra)``; MXNetError naming the op otherwise."""
    n = ndim + extra
    a = axis + n if axis < 0 else axis
    if not 0 <= a < n:
        raise fail(attrs, f"{name}={axis} is out of range for an input of {ndim} dims")
    return a


def scalar_shape() -> tuple:
    """What MXNet's legacy operators give for a full reduction: ``(1,)``, even under numpy
    shape semantics (the ``np`` namespace has its own operators for ``()``)."""
    return (1,)


def broadcast_shape(attrs: Attrs, a: tuple, b: tuple) -> tuple:
    """numpy broadcasting of two known-rank shapes; a 0 dim is unknown."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif x == 0 or y == 0:
            out.append(0)
        else:
            raise fail(attrs, f"operands could not be broadcast together with shapes "
                              f"{a} {b}")
    return tuple(out)
