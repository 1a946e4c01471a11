"""``mx.operator``: operators written in Python (MXNet's ``CustomOp`` / ``CustomOpProp``).

Subclass :class:`CustomOpProp` to describe an operator (its inputs, outputs, shapes and types),
register it with ``@mx.operator.register("name")``, and have its ``create_operator`` return a
:class:`CustomOp` whose ``forward`` / ``backward`` compute on NDArrays. The operator then runs
as ``mx.nd.Custom(x, op_type="name")``, ``mx.sym.Custom(data=x, op_type="name")`` (in graphs,
JSON files, Module and hybridized Gluon blocks), differentiated by its own ``backward``.
Extra keyword arguments of ``Custom`` reach the Prop's constructor as strings, as in MXNet.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

from .base import MXNetError
from .ops import registry
from .ops.custom import PROPS

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators",
           "get_operator_arguments", "OperatorArguments"]


class CustomOp:
    """Base class of an operator implemented in Python; override forward and backward."""

    def __init__(self) -> None:
        pass

    def forward(self, is_train: bool, req: list[str], in_data: list, out_data: list,
                aux: list) -> None:
        """Compute ``out_data`` from ``in_data`` (and ``aux``), honouring ``req`` per output
        ('null', 'write', 'inplace' or 'add'; :meth:`assign` does that)."""

    def backward(self, req: list[str], out_grad: list, in_data: list, out_data: list,
                 in_grad: list, aux: list) -> None:
        """Compute ``in_grad`` from ``out_grad`` (and the forward's data), honouring ``req``
        per input."""

    def assign(self, dst: Any, req: str, src: Any) -> None:
        """Write ``src`` into ``dst`` as ``req`` says: skip, overwrite or add."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] += src
        else:
            raise MXNetError(f"CustomOp.assign: req must be 'null', 'write', 'inplace' or "
                             f"'add', got {req!r}")


class CustomOpProp:
    """Describes a Python operator: names, shapes, types, backward needs; makes the operator.

    Parameters
    ----------
    need_top_grad : bool
        Whether backward reads the output gradients (the default
        :meth:`declare_backward_dependency` uses it).
    """

    def __init__(self, need_top_grad: bool = True) -> None:
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape: list) -> tuple:
        """(input shapes, output shapes[, aux shapes]) from the input shapes; by default
        every output has the first input's shape."""
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type: list) -> tuple:
        """(input dtypes, output dtypes[, aux dtypes]); by default the first input's."""
        return (in_type, [in_type[0]] * len(self.list_outputs()),
                [in_type[0]] * len(self.list_auxiliary_states()))

    def infer_storage_type(self, in_stype: list) -> tuple:
        """Storage types; mxlite's custom operators see dense arrays only."""
        for i, stype in enumerate(in_stype):
            if stype != "default":
                raise MXNetError(f"infer_storage_type: in_stype[{i}] is {stype!r}; the default "
                                 "implementation allows only 'default'")
        return (in_stype, ["default"] * len(self.list_outputs()),
                ["default"] * len(self.list_auxiliary_states()))

    def infer_storage_type_backward(self, ograd_stype: list, in_stype: list, out_stype: list,
                                    igrad_stype: list, aux_stype: list) -> tuple:
        """Storage types of the backward pass: all dense."""
        lists = [ograd_stype, in_stype, out_stype, igrad_stype, aux_stype]
        return tuple(["default"] * len(x) for x in lists)

    def list_outputs(self) -> list[str]:
        """Output names."""
        return ["output"]

    def list_arguments(self) -> list[str]:
        """Argument (input) names."""
        return ["data"]

    def list_auxiliary_states(self) -> list[str]:
        """Auxiliary state names (inputs the operator updates)."""
        return []

    def declare_backward_dependency(self, out_grad: list[int], in_data: list[int],
                                    out_data: list[int]) -> list[int]:
        """Ids of the arrays backward reads."""
        deps = list(out_grad) if self.need_top_grad_ else []
        return deps + list(in_data) + list(out_data)

    def create_operator(self, ctx: Any, in_shapes: list, in_dtypes: list) -> CustomOp:
        """The operator that computes, for the given context, input shapes and dtype flags."""
        return CustomOp()


def register(reg_name: str) -> Callable[[type], type]:
    """Decorator registering a :class:`CustomOpProp` subclass as ``op_type=reg_name``."""
    if not isinstance(reg_name, str) or not reg_name:
        raise MXNetError(f"mx.operator.register: the name must be a non-empty string, got "
                         f"{reg_name!r}")

    def do_register(prop_cls: type) -> type:
        if not isinstance(prop_cls, type):
            raise MXNetError(f"mx.operator.register({reg_name!r}): expected a CustomOpProp "
                             f"subclass, got {prop_cls!r}")
        PROPS[reg_name] = prop_cls
        return prop_cls

    return do_register


register("custom_op")(CustomOpProp)


def get_all_registered_operators() -> list[str]:
    """Every operator name (aliases included) mxlite's registry serves."""
    return sorted(registry.all_names())


OperatorArguments = namedtuple("OperatorArguments", ["narg", "names", "types"])


def get_operator_arguments(op_name: str) -> OperatorArguments:
    """The arguments of an operator as MXNet lists them: its inputs first (type
    ``NDArray-or-Symbol``; one ``NDArray-or-Symbol[]`` entry for an operator taking any number
    of them), then its parameters with their type descriptions, and their count ``narg``.

    Inputs that exist only under some parameter (a bias, a sequence length) are listed too,
    as MXNet's operator signatures list them.
    """
    from .symbol.register import _static_inputs

    op = registry.get(op_name)
    names, types = [], []
    if op.key_var_num_args is not None or op.name == "Custom":
        # MXNet calls add_n's inputs ``args`` and every other variadic operator's ``data``.
        names.append("args" if op.name == "add_n" else "data")
        types.append("NDArray-or-Symbol[]")
    else:
        for n in _static_inputs(op) or ():
            names.append(n)
            types.append("NDArray-or-Symbol")
    for k, p in op.params.items():
        if op.name == "add_n" and k == op.key_var_num_args:
            continue  # MXNet's add_n declares no num_args argument
        names.append(k)
        if op.name == "Custom":
            types.append("string")  # ``op_type``; the Prop's own keywords are free-form
            continue
        req = "required" if p.default is registry.REQUIRED else f"optional, default={p.default}"
        types.append(f"{p.type.name}, {req}")
    return OperatorArguments(len(names), names, types)
