"""``mx.sym.<op>``: one function per registered operator name and alias, made on first use.

Every function follows MXNet's generated calling convention: positional Symbols fill the
operator's inputs in order (for operators with a variable number of inputs, all positional
Symbols are inputs and ``num_args`` is set from their count unless given), further positional
values fill parameters in their declared order, keyword Symbols are inputs by name, ``name=``
and ``attr=`` name and annotate the node, and every other keyword is a parameter stored as
``str(value)``. Unnamed symbols are called after the lower-cased function name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import attribute
from .. import name as _name
from ..ops import registry
from ..ops.frontend import Frontend, positional_inputs
from ..ops.registry import Op
from . import _graph

__all__ = ["make_function", "namespace_getattr", "param_str"]


def param_str(v: Any) -> str:
    """A parameter value as MXNet stores it: ``str(v)``, with numpy scalars inside tuples and
    lists printed as numpy 1.x prints them (``(3,)``, not ``(np.int64(3),)``)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (tuple, list)):
        return _seq(v)
    return str(v)


def _seq(v: tuple | list) -> str:
    parts = [str(x) if isinstance(x, np.generic) else _seq(x) if isinstance(x, (tuple, list))
             else repr(x) for x in v]
    if isinstance(v, tuple):
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return "[" + ", ".join(parts) + "]"


def _dtype_name(v: Any) -> str:
    """MXNet's generated functions pass ``dtype`` as ``np.dtype(v).name``."""
    try:
        dt = np.dtype(v)
    except TypeError:
        if isinstance(v, str):
            return v  # 'bfloat16' without ml_dtypes; the registry judges it
        raise
    return dt.names[0] if dt.names else dt.name


def _is_symbol(v: Any) -> bool:
    from .symbol import Symbol

    return isinstance(v, Symbol)


def create(op: Op, func_name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
    """Build the symbol for one call of ``mx.sym.<func_name>(*args, **kwargs)``."""
    from .symbol import Symbol

    hint = func_name.lower()
    if op.key_var_num_args is not None:
        for a in args:
            if not isinstance(a, Symbol):
                raise TypeError(f"{func_name}: positional arguments must be Symbol instances, "
                                f"but got {a!r}")
        sym_args = list(args)
        if "dtype" in kwargs and "dtype" in op.params:
            kwargs["dtype"] = _dtype_name(kwargs["dtype"])
        attr = kwargs.pop("attr", None)
        kwargs.update(attribute._current().get(attr))
        name = _name._current().get(kwargs.pop("name", None), hint)
        kwargs.pop("out", None)
        sym_kwargs = {k: v for k, v in kwargs.items() if isinstance(v, Symbol)}
        params = {k: v for k, v in kwargs.items() if not isinstance(v, Symbol)}
        if op.key_var_num_args not in kwargs:
            params[op.key_var_num_args] = len(sym_args) + len(sym_kwargs)
        return _make(op, sym_args, sym_kwargs, params, name)

    static = _static_inputs(op)
    # MXNet's generated signature lists every input (``data=None, weight=None, bias=None``)
    # before the parameters, so a None in an input's position leaves that input out
    # (``Convolution(x, w, None, no_bias=True, ...)``) instead of filling the first parameter.
    lead = _none_inputs(args, len(static) if static is not None else 0)
    inputs = args[:lead] + tuple(positional_inputs(
        op, func_name, args[lead:], kwargs, lambda a: isinstance(a, Symbol),
        "Symbol instances", [*op.params, "name", "attr", "out"], allow_none=True))
    inputs = list(inputs)
    if static is not None and len(inputs) > len(static):
        # The count may follow a parameter the call gives (``num_weights`` of the multi-tensor
        # updates, whose MXNet signature is ``*data``).
        static = _inputs_for_call(op, kwargs) or static
    if static is not None and len(inputs) > len(static):
        raise TypeError(f"{func_name}() takes {len(static)} inputs ({', '.join(static)}), "
                        f"{len(inputs)} were given")
    attr = kwargs.pop("attr", None)
    name = kwargs.pop("name", None)
    kwargs.pop("out", None)
    sym_kwargs: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for k, v in kwargs.items():
        if isinstance(v, Symbol):
            sym_kwargs[k] = v
        elif v is None and k not in op.params:
            continue  # an input left out, as MXNet's ``data=None`` default
        else:
            params[k] = v
    for k, v in attribute._current().get(attr).items():
        params.setdefault(k, v)
    if "dtype" in params and "dtype" in op.params:
        params["dtype"] = _dtype_name(params["dtype"])
    name = _name._current().get(name, hint)
    node_inputs = [a for a in inputs if a is not None]
    if len(node_inputs) != len(inputs):
        # A None among the positional inputs leaves that input to be created; keep the
        # positions of those after it by naming them.
        parsed = _parse_for_names(op, params, name)
        names = op.list_inputs(parsed)
        for i, a in enumerate(inputs):
            if a is not None:
                if i >= len(names):
                    raise TypeError(f"{func_name}: {len(inputs)} positional inputs given, "
                                    f"the operator takes {len(names)} ({', '.join(names)})")
                sym_kwargs[names[i]] = a
        return _make(op, [], sym_kwargs, params, name)
    if node_inputs and sym_kwargs:
        parsed = _parse_for_names(op, params, name)
        names = op.list_inputs(parsed)
        if len(node_inputs) > len(names):
            raise TypeError(f"{func_name}: {len(node_inputs)} positional inputs given, the "
                            f"operator takes {len(names)} ({', '.join(names)})")
        for n, a in zip(names, node_inputs):
            if n in sym_kwargs:
                raise TypeError(f"{func_name}() got multiple values for input {n!r}")
            sym_kwargs[n] = a
        return _make(op, [], sym_kwargs, params, name)
    return _make(op, node_inputs, sym_kwargs, params, name)


def _none_inputs(args: tuple, n_inputs: int) -> int:
    """How many leading positional arguments are inputs when Nones stand for some: the
    Symbols and Nones before the first other value, up to the last within the operator's
    ``n_inputs`` declared inputs (0 when the positional inputs end in a Symbol: the
    general rule then applies)."""
    from .symbol import Symbol

    lead = 0
    while lead < min(len(args), n_inputs) and (args[lead] is None
                                                or isinstance(args[lead], Symbol)):
        lead += 1
    if lead == 0 or args[lead - 1] is not None:
        return 0
    return lead


def _static_inputs(op: Op) -> list[str] | None:
    """The inputs MXNet's generated signature lists: every input the operator can take.

    Some inputs exist only under a parameter (``sequence_length`` with
    ``use_sequence_length``, LeakyReLU's ``gamma`` with ``act_type='prelu'``), and MXNet's
    signature lists them all, so take the longest list over each boolean or enum setting.
    """
    if not callable(op.inputs):
        return list(op.inputs)
    if op.name not in _STATIC:
        _STATIC[op.name] = _longest_inputs(op)
    return _STATIC[op.name]


_STATIC: dict[str, list[str] | None] = {}


def _inputs_for_call(op: Op, kwargs: dict[str, Any]) -> list[str] | None:
    """The inputs under the parameters of this call, when they parse on their own."""
    if not callable(op.inputs):
        return None
    params = {k: v for k, v in kwargs.items() if k in op.params and not _is_symbol(v)}
    try:
        return op.list_inputs(op.parse_attrs(_stored(params)))
    except Exception:  # a missing or bad parameter: compose reports it with the node's name
        return None


def _longest_inputs(op: Op) -> list[str] | None:
    base = {k: (None if p.default is registry.REQUIRED else p.default)
            for k, p in op.params.items()}
    variants = [base]
    for k, p in op.params.items():
        t = p.type.inner if isinstance(p.type, registry.Optional) else p.type
        choices = (True, False) if isinstance(t, registry.Bool) else getattr(t, "choices", ())
        variants += [{**base, k: c} for c in choices]
    best = None
    for values in variants:
        try:
            names = op.list_inputs(registry.Attrs(op, values, {}))
        except Exception:  # the list depends on a required parameter (num_args...)
            continue
        if best is None or len(names) > len(best):
            best = names
    return best


def _stored(params: dict[str, Any]) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for k, v in params.items():
        s = param_str(v)
        attrs.setdefault(_graph.hidden_key(k, s), s)
    return attrs


def _parse_for_names(op: Op, params: dict[str, Any], name: str) -> registry.Attrs:
    return _graph.parse_params(op, _stored(params), name)[0]


def _make(op: Op, sym_args: list, sym_kwargs: dict[str, Any], params: dict[str, Any],
          name: str) -> Any:
    from .symbol import Symbol

    attrs = _stored(params)
    parsed = _graph.parse_params(op, attrs, name)[0]
    if sym_args and sym_kwargs:
        raise TypeError("Operators with variable length input can only accept input Symbols "
                        "either as positional or keyword arguments, not both")
    node = _graph.Node(op, name, attrs, parsed=parsed)
    _graph.compose_atomic(node, [s._outputs for s in sym_args],
                          {k: s._outputs for k, s in sym_kwargs.items()})
    n = op.visible_outputs(parsed)
    return Symbol([(node, i, 0) for i in range(n)])


def _doc(op: Op, func_name: str) -> str:
    lines = [op.doc.strip() or f"The {op.name} operator.", "", "Parameters", "----------"]
    try:
        names = op.list_inputs(op.parse_attrs({k: str(p.default) for k, p in op.params.items()
                                                if p.default is not registry.REQUIRED
                                                and p.default is not None}))
    except Exception:  # inputs depend on required parameters
        names = list(op.inputs) if not callable(op.inputs) else []
    for n in names:
        lines.append(f"{n} : Symbol\n    Input {n}.")
    for k, p in op.params.items():
        opt = "required" if p.default is registry.REQUIRED else f"optional, default={p.default}"
        lines.append(f"{k} : {p.type.name}, {opt}")
        if p.doc:
            lines.append(f"    {p.doc}")
    lines += ["name : string, optional\n    Name of the resulting symbol.", "", "Returns",
              "-------", "Symbol\n    The result symbol."]
    return "\n".join(lines)


_FRONTEND = Frontend("mxlite.symbol", create, _doc)
make_function = _FRONTEND.make_function
namespace_getattr = _FRONTEND.namespace_getattr
