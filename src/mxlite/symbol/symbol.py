"""``mx.sym.Symbol`` and the graph-level functions of ``mx.sym`` (MXNet 1.9.1's symbol.py)."""

from __future__ import annotations

import os
import warnings
from numbers import Number
from typing import Any

import numpy as np

from .. import attribute, storage
from ..base import MXNetError, NotImplementedForSymbol
from ..ops.fluent import install_fluent, ufunc
from ..util import is_np_shape
from . import _graph
from ._graph import Entry, Node
from .register import make_function

__all__ = ["Symbol", "NotImplementedForSymbol", "var", "Variable", "Group", "load", "load_json",
           "fromjson", "loads", "pow", "power", "maximum", "minimum", "hypot", "eye", "zeros",
           "ones", "full", "arange", "linspace", "histogram", "split_v2"]


def _op(name: str) -> Any:
    return make_function(name)


def _binary(sym_op: str, scalar_op: str) -> Any:
    def method(self: Symbol, other: Any) -> Symbol:
        if isinstance(other, Symbol):
            return _op(sym_op)(self, other)
        if isinstance(other, Number):
            return _op(scalar_op)(self, scalar=other)
        raise TypeError(f"type {type(other)} not supported")

    return method


def _reflected(scalar_op: str, sym_method: str) -> Any:
    def method(self: Symbol, other: Any) -> Symbol:
        if isinstance(other, Symbol):
            return getattr(other, sym_method)(self)
        if isinstance(other, Number):
            return _op(scalar_op)(self, scalar=other)
        raise TypeError(f"type {type(other)} not supported")

    return method


def _unsupported(alias: str, with_other: bool = True) -> Any:
    def method(self: Symbol, other: Any = None) -> Symbol:
        raise NotImplementedForSymbol(method, alias, *((other,) if with_other else ()))

    return method


class Symbol:
    """A symbolic graph: the outputs (heads) of a graph of operators and variables.

    Build symbols with :func:`var` and the operator functions of ``mx.sym``; the graph is
    shared between symbols made from one another, so a symbol is cheap to make and to slice.
    """

    __slots__ = ("_outputs",)
    # numpy functions on a Symbol return a Symbol, not an object array
    __array_priority__ = 1000.0

    def __init__(self, handle: list[Entry] | None = None):
        self._outputs: list[Entry] = list(handle) if handle is not None else []

    # -- identity ------------------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The node's name; None for a group of outputs of different nodes."""
        outs = self._outputs
        node = outs[0][0]
        if any(e[0] is not node for e in outs):
            return None
        return node.name

    def __repr__(self) -> str:
        name = self.name
        if name is None:
            return f"<{type(self).__name__} group [{', '.join(i.name for i in self)}]>"
        return f"<{type(self).__name__} {name}>"

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __len__(self) -> int:
        return len(self._outputs)

    def __getitem__(self, index: int | str | slice) -> Symbol:
        """One output (by position or by name, as in ``list_outputs``), or a group (slice)."""
        n = len(self._outputs)
        if isinstance(index, slice):
            start = 0 if index.start is None else index.start
            stop = n if index.stop is None else index.stop
            step = 1 if index.step is None else index.step
            return Group([self[i] for i in range(start, stop, step)])
        if isinstance(index, str):
            idx = None
            for i, name in enumerate(self.list_outputs()):
                if name == index:
                    if idx is not None:
                        raise ValueError(f'There are multiple outputs with name "{index}"')
                    idx = i
            if idx is None:
                raise ValueError(f'Cannot find output that matches name "{index}"')
            index = idx
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError("Symbol only support integer index to fetch i-th output")
        index = int(index)
        if index >= n:
            raise IndexError(f"output {index} of a symbol with {n} outputs")
        if index < 0:
            raise MXNetError(f"Symbol only accept nonnegative index, got {index}")
        if n == 1:
            return Symbol(self._outputs)
        return Symbol([self._outputs[index]])

    def __bool__(self) -> bool:
        raise NotImplementedForSymbol(self.__bool__, "bool")

    # -- arithmetic (the ops MXNet's symbol.py calls) --------------------------------------

    __add__ = _binary("_Plus", "_PlusScalar")
    __sub__ = _binary("_Minus", "_MinusScalar")
    __mul__ = _binary("_Mul", "_MulScalar")
    __truediv__ = _binary("_Div", "_DivScalar")
    __div__ = __truediv__
    __mod__ = _binary("_Mod", "_ModScalar")
    __pow__ = _binary("_Power", "_PowerScalar")
    __eq__ = _binary("_equal", "_equal_scalar")  # type: ignore[assignment]
    __ne__ = _binary("_not_equal", "_not_equal_scalar")  # type: ignore[assignment]
    __gt__ = _binary("_greater", "_greater_scalar")
    __ge__ = _binary("_greater_equal", "_greater_equal_scalar")
    __lt__ = _binary("_lesser", "_lesser_scalar")
    __le__ = _binary("_lesser_equal", "_lesser_equal_scalar")
    __rsub__ = _reflected("_RMinusScalar", "__sub__")
    __rtruediv__ = _reflected("_RDivScalar", "__truediv__")
    __rdiv__ = __rtruediv__
    __rmod__ = _reflected("_RModScalar", "__mod__")
    __rpow__ = _reflected("_rpower_scalar", "__pow__")
    __iadd__ = _unsupported("+=")
    __isub__ = _unsupported("-=")
    __imul__ = _unsupported("*=")
    __itruediv__ = _unsupported("/=")
    __idiv__ = __itruediv__
    __hash__ = None  # type: ignore[assignment]  # == builds a symbol, as in MXNet

    def __radd__(self, other: Any) -> Symbol:
        return self.__add__(other)

    def __rmul__(self, other: Any) -> Symbol:
        return self.__mul__(other)

    def __neg__(self) -> Symbol:
        return self.__mul__(-1.0)

    def __abs__(self) -> Symbol:
        return self.abs()

    # -- copying, pickling, composition ----------------------------------------------------

    def __copy__(self) -> Symbol:
        return self.__deepcopy__(None)

    def __deepcopy__(self, _memo: Any) -> Symbol:
        return Symbol(_graph.copy_graph(self._outputs))

    def __getstate__(self) -> dict[str, Any]:
        return {"handle": self.tojson() if self._outputs else None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        handle = state.get("handle", ...) if isinstance(state, dict) else ...
        if handle is not None and not isinstance(handle, (str, bytes)):
            raise MXNetError(f"pickled Symbol: expected a state {{'handle': JSON text or None}}, "
                             f"got a {type(state).__name__} holding "
                             f"{type(handle).__name__ if handle is not ... else 'no handle'}")
        self._outputs = _graph.from_json(handle, "pickled Symbol") if handle is not None else []

    def __reduce__(self) -> tuple:
        return (Symbol, (None,), self.__getstate__())

    def __call__(self, *args: Symbol, **kwargs: Any) -> Symbol:
        """A copy of this symbol with input variables replaced: ``net(data=other, name='x')``."""
        s = self.__copy__()
        s._compose(*args, **kwargs)
        return s

    def _compose(self, *args: Symbol, **kwargs: Any) -> None:
        """Replace input variables (by name) with other symbols, in place."""
        name = kwargs.pop("name", None)
        if args and kwargs:
            raise TypeError("compose only accept input Symbols either as positional or keyword "
                            "arguments, not both")
        for a in (*args, *kwargs.values()):
            if not isinstance(a, Symbol):
                raise TypeError("Compose expect `Symbol` as arguments")
        _graph.compose(self._outputs, [a._outputs for a in args],
                       {k: v._outputs for k, v in kwargs.items()}, name)

    def _gen_atomic_symbol(self) -> Symbol:
        """The operator of this (single-node) symbol with its attributes and no inputs, to be
        composed anew (MXNet's ``MXGenAtomicSymbolFromSymbol``)."""
        node = self._outputs[0][0]
        if node.op is None:
            raise MXNetError(f"_gen_atomic_symbol: {node.name!r} is a variable, not an operator")
        atom = Node(node.op, "", dict(node.attrs), parsed=node.parsed)
        n = node.op.visible_outputs(node.parsed)
        return Symbol([(atom, i, 0) for i in range(n)])

    # -- attributes ------------------------------------------------------------------------

    def _node(self) -> Node | None:
        node = self._outputs[0][0]
        return node if all(e[0] is node for e in self._outputs) else None

    def attr(self, key: str) -> str | None:
        """The attribute ``key`` of this (non-grouped) symbol, or None."""
        node = self._node()
        if node is None:
            return None
        if key == "name":
            return node.name
        v = node.attrs.get(key)
        if v is None and key in _graph.HIDDEN_KEYS:
            v = node.attrs.get(f"__{key}__")
        return v

    def list_attr(self, recursive: bool = False) -> dict[str, str]:
        """This symbol's own attributes (hidden ones also under their bare name)."""
        if recursive:
            raise DeprecationWarning("Symbol.list_attr with recursive=True has been deprecated. "
                                     "Please use attr_dict instead.")
        return _with_bare_keys(self._outputs[0][0].attrs)

    def attr_dict(self) -> dict[str, dict[str, str]]:
        """Attributes of every node that has any, by node name."""
        ret: dict[str, dict[str, str]] = {}
        for n in _graph.topo_order(self._outputs):
            if n.attrs:
                ret.setdefault(n.name, {}).update(_with_bare_keys(n.attrs))
        return ret

    def _set_attr(self, **kwargs: str) -> None:
        """Set attributes of this (non-grouped) symbol; ``name=`` renames it."""
        node = self._outputs[0][0]
        if any(e[0] is not node for e in self._outputs):
            raise MXNetError("Symbol.SetAttrs only works for non-grouped symbol")
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError("Set Attr only accepts string values")
            if key == "name":
                node.name = value
                continue
            node.attrs[_graph.set_attr_key(key, value)] = value
        if node.op is not None:
            _graph.reparse(node)

    # -- structure -------------------------------------------------------------------------

    def get_internals(self) -> Symbol:
        """A group of every output of every node in the graph (variables included)."""
        outs: list[Entry] = []
        for n in _graph.topo_order(self._outputs):
            if n.op is None:
                outs.append((n, 0, n.version))
            else:
                outs.extend((n, i, 0) for i in range(n.op.visible_outputs(n.parsed)))
        return Symbol(outs)

    def get_children(self) -> Symbol | None:
        """A group of the inputs of this symbol's head node(s); None for a variable."""
        outs: list[Entry] = []
        seen: set[Node] = set()
        for e in self._outputs:
            if e[0] not in seen:
                seen.add(e[0])
                outs.extend(e[0].inputs)
        return Symbol(outs) if outs else None

    def list_arguments(self) -> list[str]:
        """Names of the input variables that are not auxiliary states, in graph order."""
        return [n.name for n in _graph.split_inputs(self._outputs)[0]]

    def list_auxiliary_states(self) -> list[str]:
        """Names of the variables operators update in place (BatchNorm's moving statistics)."""
        return [n.name for n in _graph.split_inputs(self._outputs)[1]]

    def list_inputs(self) -> list[str]:
        """Names of every input variable: arguments and auxiliary states, in graph order."""
        return [n.name for n in _graph.variables(self._outputs)]

    def list_outputs(self) -> list[str]:
        """Output names: ``<node>_<output>`` (``fc1_output``), a variable's own name."""
        ret = []
        for node, idx, _ in self._outputs:
            if node.op is None:
                ret.append(node.name)
            else:
                out = node.op.list_outputs(node.parsed)[idx]
                ret.append(f"{node.name}_{out}" if node.name else out)
        return ret

    # -- inference -------------------------------------------------------------------------

    def _known(self, args: tuple, kwargs: dict, what: str, convert: Any) -> dict[Node, Any]:
        if args and kwargs:
            raise ValueError(f"Can only specify known argument {what}s either by positional or "
                             "kwargs way.")
        if args:
            arg_nodes = _graph.split_inputs(self._outputs)[0]
            if len(args) > len(arg_nodes):
                raise MXNetError(f"Infer{what.capitalize()}: {len(args)} positional {what}s "
                                 f"given for {len(arg_nodes)} arguments")
            return {n: convert(v, f"argument {i}") for i, (n, v) in
                    enumerate(zip(arg_nodes, args)) if v is not None}
        inputs = _graph.variables(self._outputs)
        by_name = {n.name: n for n in inputs}
        known = {}
        for k, v in kwargs.items():
            node = by_name.get(k)
            if node is None:
                cands = "".join(f"\t[{i}]{n.name}\n" for i, n in enumerate(inputs))
                raise MXNetError(f"Infer{what.capitalize()}: keyword argument name {k} not "
                                 f"found.\nCandidate arguments:\n{cands}")
            known[node] = convert(v, repr(k))
        return known

    def _infer(self, kind: str, partial: bool, args: tuple, kwargs: dict) -> tuple:
        if kind == "shape":
            known = self._known(args, kwargs, "shape", _user_shape)
        else:
            known = self._known(args, kwargs, "type", _user_type)
        val, complete = _graph.infer(self._outputs, known, kind)
        arg_nodes, aux_nodes = _graph.split_inputs(self._outputs)
        if not complete and not partial:
            return None, None, None
        out = _out_shape if kind == "shape" else _out_type
        return ([out(val[(n, 0)]) for n in arg_nodes],
                [out(val[(e[0], e[1])]) for e in self._outputs],
                [out(val[(n, 0)]) for n in aux_nodes])

    def infer_shape(self, *args: Any, **kwargs: Any) -> tuple:
        """(arg_shapes, out_shapes, aux_shapes) from the shapes of some arguments.

        Shapes are given by position (in ``list_arguments`` order, None for unknown) or by
        name. Returns ``(None, None, None)``, with a warning naming the undecided arguments,
        when the given shapes do not determine them all.
        """
        res = self._infer("shape", False, args, kwargs)
        if res[1] is None:
            arg_shapes, _, _ = self._infer("shape", True, args, kwargs)
            unknowns = []
            for name, shape in zip(self.list_arguments(), arg_shapes):
                if not shape or (-1 in shape if is_np_shape() else 0 in shape):
                    if len(unknowns) >= 10:
                        unknowns.append("...")
                        break
                    unknowns.append(f"{name}: {shape}")
            warnings.warn("Cannot decide shape for the following arguments (0s in shape means "
                          "unknown dimensions). Consider providing them as input:\n\t"
                          + "\n\t".join(unknowns), stacklevel=2)
        return res

    def infer_shape_partial(self, *args: Any, **kwargs: Any) -> tuple:
        """As :meth:`infer_shape`, but returns what is known: ``()`` for an unknown shape and
        ``0`` for an unknown dimension."""
        return self._infer("shape", True, args, kwargs)

    def infer_type(self, *args: Any, **kwargs: Any) -> tuple:
        """(arg_types, out_types, aux_types) as numpy types, from the types of some arguments;
        ``(None, None, None)`` with a warning when they are not all determined."""
        res = self._infer("type", False, args, kwargs)
        if res[1] is None:
            arg_types, _, _ = self._infer("type", True, args, kwargs)
            unknowns = []
            for name, dtype in zip(self.list_arguments(), arg_types):
                if not dtype:
                    if len(unknowns) >= 10:
                        unknowns.append("...")
                        break
                    unknowns.append(f"{name}: {dtype}")
            warnings.warn("Cannot decide type for the following arguments. Consider providing "
                          "them as input:\n\t" + "\n\t".join(unknowns), stacklevel=2)
        return res

    def infer_type_partial(self, *args: Any, **kwargs: Any) -> tuple:
        """As :meth:`infer_type`, with None for the types that stay unknown."""
        return self._infer("type", True, args, kwargs)

    # -- text ------------------------------------------------------------------------------

    def tojson(self, remove_amp_cast: bool = True) -> str:
        """The graph as MXNet 1.9.1's JSON text."""
        return _graph.to_json(self._outputs, is_np_shape(), remove_amp_cast)

    def save(self, fname: str, remove_amp_cast: bool = True,
             storage_options: dict | None = None) -> None:
        """Write :meth:`tojson` to ``fname`` (a path or an fsspec URI), atomically."""
        if not isinstance(fname, str):
            raise TypeError("fname need to be string")
        storage.write_text_atomic(fname, self.tojson(remove_amp_cast), storage_options)

    def debug_str(self) -> str:
        """A readable listing of the graph, as MXNet prints it."""
        outs = self._outputs
        lines = []
        head = outs[0][0]
        if len(outs) == 1 and not head.inputs and not head.deps:
            if head.op is None:
                return f"Variable:{head.name}\n"
            return f"AtomicFunctor  Op:{head.op.name}\n"
        lines.append("Symbol Outputs:")
        lines.extend(f"\toutput[{i}]={e[0].name}({e[1]})" for i, e in enumerate(outs))
        for n in _graph.topo_order(outs):
            if n.op is None:
                lines.append(f"Variable:{n.name}")
                continue
            lines += ["--------------------", f"Op:{n.op.name}, Name={n.name}", "Inputs:"]
            for i, (src, idx, ver) in enumerate(n.inputs):
                lines.append(f"\targ[{i}]={src.name}({idx})"
                             + (f" version={ver}" if src.op is None else ""))
            if n.attrs:
                lines.append("Attrs:")
                lines.extend(f"\t{k}={v}" for k, v in sorted(n.attrs.items()))
            if n.deps:
                lines.append("Control deps:")
                lines.extend(f"\tcdep[{i}]={d.name}" for i, d in enumerate(n.deps))
        return "\n".join(lines) + "\n"

    # -- execution (mxlite.executor) ---------------------------------------------------------

    def bind(self, ctx: Any, args: Any, args_grad: Any = None, grad_req: Any = "write",
             aux_states: Any = None, group2ctx: Any = None, shared_exec: Any = None) -> Any:
        """An executor over the given argument arrays (see :func:`mxlite.executor.bind`)."""
        from ..executor import bind

        return bind(self, ctx, args, args_grad, grad_req, aux_states, group2ctx, shared_exec)

    def simple_bind(self, ctx: Any, grad_req: Any = "write", type_dict: Any = None,
                    stype_dict: Any = None, group2ctx: Any = None, shared_arg_names: Any = None,
                    shared_exec: Any = None, shared_buffer: Any = None, **kwargs: Any) -> Any:
        """An executor with arrays allocated from the given input shapes
        (see :func:`mxlite.executor.simple_bind`)."""
        from ..executor import simple_bind

        return simple_bind(self, ctx, grad_req, type_dict, stype_dict, group2ctx,
                           shared_arg_names, shared_exec, shared_buffer, **kwargs)

    def eval(self, ctx: Any = None, **kwargs: Any) -> Any:
        """Bind ``kwargs`` as the arguments, run forward and return the outputs."""
        from ..executor import eval_symbol

        return eval_symbol(self, ctx, **kwargs)

    # -- NDArray-only methods ----------------------------------------------------------------

    def wait_to_read(self) -> None:
        raise NotImplementedForSymbol(self.wait_to_read, None)

    def asnumpy(self) -> None:
        raise NotImplementedForSymbol(self.asnumpy, None)

    def asscalar(self) -> None:
        raise NotImplementedForSymbol(self.asscalar, None)

    def copy(self) -> None:
        raise NotImplementedForSymbol(self.copy, None)

    def as_in_context(self) -> None:
        raise NotImplementedForSymbol(self.as_in_context, None)

    def detach(self) -> None:
        raise NotImplementedForSymbol(self.detach, None)

    def backward(self) -> None:
        raise NotImplementedForSymbol(self.backward, None)

    # -- fluent methods (``x.reshape(...)`` is ``mx.sym.reshape(x, ...)``) ---------------------

    def astype(self, *args: Any, **kwargs: Any) -> Symbol:
        return _op("cast")(self, *args, **kwargs)

    def flatten(self, inplace: bool = False, **kwargs: Any) -> Symbol:
        return _op("flatten")(self, **kwargs)

    def expand_dims(self, axis: int, inplace: bool = False, **kwargs: Any) -> Symbol:
        return _op("expand_dims")(self, axis=axis, **kwargs)

    def squeeze(self, axis: Any = None, inplace: bool = False, **kwargs: Any) -> Symbol:
        return _op("squeeze")(self, axis=axis, **kwargs)

    def diag(self, k: int = 0, **kwargs: Any) -> Symbol:
        return _op("diag")(self, k, **kwargs)

    def split_v2(self, *args: Any, **kwargs: Any) -> Symbol:
        return split_v2(self, *args, **kwargs)


install_fluent(Symbol, _op, "symbol")


def _with_bare_keys(attrs: dict[str, str]) -> dict[str, str]:
    ret = dict(attrs)
    for k, v in attrs.items():
        bare = _graph.HIDDEN_STORED.get(k)
        if bare is not None:
            ret[bare] = v
    return ret


def _user_shape(v: Any, what: str) -> tuple:
    if not isinstance(v, tuple):
        raise TypeError(f"Arguments need to be shapes (tuple), but {what} is {type(v)}.")
    shape = tuple(int(d) for d in v)
    if is_np_shape():
        shape = tuple(0 if d < 0 else d for d in shape)  # -1 marks an unknown dim there
    return shape


def _user_type(v: Any, what: str) -> np.dtype:
    t = np.dtype(v)
    if t not in _graph.DTYPE_FLAGS and t.name != "bfloat16":
        raise TypeError(f"Argument need to be one of {sorted(str(d) for d in _graph.DTYPE_FLAGS)}"
                        f", got {v!r} for {what}")
    return t


def _out_shape(s: tuple | None) -> tuple | None:
    if is_np_shape():
        return None if s is None else tuple(-1 if d == 0 else d for d in s)
    return () if s is None else tuple(s)


def _out_type(t: np.dtype | None) -> type | None:
    return None if t is None else t.type


# ----------------------------------------------------------------------------------------
# Module-level functions.


def var(name: str, attr: dict[str, str] | None = None, shape: Any = None, lr_mult: Any = None,
        wd_mult: Any = None, dtype: Any = None, init: Any = None, stype: str | None = None,
        **kwargs: Any) -> Symbol:
    """A variable: an input of the graph (data, a label, a parameter).

    Parameters
    ----------
    name : str
        The variable's name.
    attr : dict of str to str, optional
        Attributes to set on it (merged over the current :class:`~mxlite.AttrScope`).
    shape : tuple, optional
        Its shape, used by shape inference unless one is given there; stored as
        ``__shape__ = str(shape)``.
    lr_mult, wd_mult : float, optional
        Learning-rate and weight-decay multipliers (``__lr_mult__``, ``__wd_mult__``).
    dtype : str or numpy.dtype, optional
        Its type, stored as MXNet's type flag in ``__dtype__``.
    init : initializer or str, optional
        Its initializer: an object with ``dumps()`` or the dumped string (``__init__``).
    stype : str, optional
        Its storage type: ``'default'``, ``'row_sparse'`` or ``'csr'`` (``__storage_type__``).
    **kwargs
        Further attributes; their names must start and end with double underscores.
    """
    if not isinstance(name, str):
        raise TypeError("Expect a string for variable `name`")
    ret = Symbol([(Node(None, name, {}), 0, 0)])
    attrs = attribute._current().get(attr)
    if shape is not None:
        attrs["__shape__"] = str(shape)
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.name == "bfloat16" or dt.names == ("bfloat16",):
            attrs["__dtype__"] = "12"
        elif dt in _graph.DTYPE_FLAGS:
            attrs["__dtype__"] = str(_graph.DTYPE_FLAGS[dt])
        else:
            raise MXNetError(f"variable {name!r}: dtype {dt} has no MXNet type flag")
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        if stype not in _graph.STORAGE_TYPES:
            raise MXNetError(f"variable {name!r}: unknown storage type {stype!r} (expected one "
                             f"of {list(_graph.STORAGE_TYPES)})")
        attrs["__storage_type__"] = str(_graph.STORAGE_TYPES[stype])
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            attrs[k] = str(v)
        else:
            raise ValueError(f"Attribute name={k} is not supported. Additional attributes must "
                             "start and end with double underscores, e.g, __yourattr__")
    ret._set_attr(**attrs)
    return ret


Variable = var


def Group(symbols: list[Symbol], create_fn: type = Symbol) -> Symbol:  # noqa: N802
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    if not symbols or any(not isinstance(s, Symbol) for s in symbols):
        raise TypeError("Expected a list of symbols as input")
    return create_fn([e for s in symbols for e in s._outputs])


def load(fname: str, storage_options: dict | None = None) -> Symbol:
    """Load a symbol saved by :meth:`Symbol.save` (or by MXNet: any version back to 0.8)."""
    if not isinstance(fname, str):
        raise TypeError("fname need to be string")
    return Symbol(_graph.from_json(storage.read_bytes(fname, storage_options), fname))


def load_json(json_str: str) -> Symbol:
    """Load a symbol from the text :meth:`Symbol.tojson` returns."""
    if not isinstance(json_str, str):
        raise TypeError("fname required to be string")
    return Symbol(_graph.from_json(json_str))


fromjson = load_json


def loads(s: str | os.PathLike, storage_options: dict | None = None) -> Symbol:
    """Load a symbol from JSON text or from a file, whichever ``s`` is.

    Text whose first non-blank character is ``{`` is read as JSON, anything else as a path;
    if that fails the other reading is tried, and the error reports both attempts.
    """
    if isinstance(s, os.PathLike):
        return load(os.fspath(s), storage_options)
    if not isinstance(s, str):
        raise TypeError(f"expected JSON text or a file name, got {type(s).__name__}")
    as_json = ("JSON text", load_json)
    as_path = ("file path", lambda p: load(p, storage_options))
    attempts = (as_json, as_path) if s.lstrip()[:1] == "{" else (as_path, as_json)
    errors = []
    for what, fn in attempts:
        try:
            return fn(s)
        except (MXNetError, OSError, ValueError) as e:
            errors.append(f"as {what}: {e}")
    shown = s if len(s) <= 60 else s[:57] + "..."
    raise MXNetError(f"cannot load a symbol from {shown!r}; tried " + "; ".join(errors))


def pow(base: Any, exp: Any) -> Any:  # noqa: A001
    """``base ** exp`` element-wise; either may be a Symbol or a number."""
    return ufunc(base, exp, Symbol, _op("_Power"), lambda a, b: a ** b,
                 lambda s, x: _op("_PowerScalar")(s, scalar=x),
                 lambda s, x: _op("_RPowerScalar")(s, scalar=x), Number)


def power(base: Any, exp: Any) -> Any:
    """``base ** exp`` element-wise; either may be a Symbol or a number."""
    return pow(base, exp)


def _pairwise(sym_op: str, scalar_op: str, both: Any) -> Any:
    def fn(left: Any, right: Any) -> Any:
        return ufunc(left, right, Symbol, _op(sym_op), both,
                     lambda s, x: _op(scalar_op)(s, scalar=x), None, Number)

    return fn


maximum = _pairwise("_Maximum", "_MaximumScalar", lambda a, b: a if a > b else b)
maximum.__doc__ = "Element-wise maximum; either input may be a Symbol or a number."
minimum = _pairwise("_Minimum", "_MinimumScalar", lambda a, b: a if a < b else b)
minimum.__doc__ = "Element-wise minimum; either input may be a Symbol or a number."
hypot = _pairwise("_Hypot", "_HypotScalar", np.hypot)
hypot.__doc__ = "Element-wise hypotenuse of two legs; either may be a Symbol or a number."


def eye(N: int, M: int = 0, k: int = 0, dtype: Any = None, **kwargs: Any) -> Symbol:  # noqa: N803
    """A 2-D symbol with ones on the ``k``-th diagonal and zeros elsewhere."""
    return _op("_eye")(N, M, k, dtype=np.float32 if dtype is None else dtype, **kwargs)


def zeros(shape: Any, dtype: Any = None, **kwargs: Any) -> Symbol:
    """A symbol of the given shape filled with zeros (float32 by default)."""
    return _op("_zeros")(shape=shape, dtype=np.float32 if dtype is None else dtype, **kwargs)


def ones(shape: Any, dtype: Any = None, **kwargs: Any) -> Symbol:
    """A symbol of the given shape filled with ones (float32 by default)."""
    return _op("_ones")(shape=shape, dtype=np.float32 if dtype is None else dtype, **kwargs)


def full(shape: Any, val: Any, dtype: Any = None, **kwargs: Any) -> Symbol:
    """A symbol of the given shape filled with ``val`` (float32 by default)."""
    return _op("_full")(shape=shape, dtype=np.float32 if dtype is None else dtype,
                        value=float(val), **kwargs)


def arange(start: Any, stop: Any = None, step: Any = 1.0, repeat: int = 1,
           infer_range: bool = False, name: str | None = None, dtype: Any = None) -> Symbol:
    """Evenly spaced values in ``[start, stop)``, each repeated ``repeat`` times."""
    return _op("_arange")(start=start, stop=stop, step=step, repeat=repeat,
                          infer_range=infer_range, name=name,
                          dtype=np.float32 if dtype is None else dtype)


def linspace(start: Any, stop: Any, num: int, endpoint: bool = True, name: str | None = None,
             dtype: Any = None) -> Symbol:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    return _op("_linspace")(start=start, stop=stop, num=num, endpoint=endpoint, name=name,
                            dtype=np.float32 if dtype is None else dtype)


def histogram(a: Symbol, bins: Any = 10, range: Any = None, **kwargs: Any) -> Symbol:  # noqa: A002
    """The histogram of ``a``: ``bins`` a Symbol of edges, or a count with ``range``."""
    if isinstance(bins, Symbol):
        return _op("_histogram")(data=a, bins=bins, **kwargs)
    if isinstance(bins, int):
        if range is None:
            raise ValueError("null range is not supported in symbol mode")
        return _op("_histogram")(data=a, bin_cnt=bins, range=range, **kwargs)
    raise ValueError("bins argument should be either an integer or an NDArray")


def split_v2(ary: Symbol, indices_or_sections: Any, axis: int = 0,
             squeeze_axis: bool = False) -> Symbol:
    """Split ``ary`` along ``axis`` into equal sections or at the given indices."""
    indices: list[int] = []
    sections = 0
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
    elif isinstance(indices_or_sections, tuple):
        indices = [0, *indices_or_sections]
    else:
        raise ValueError("indices_or_sections must either int or tuple of ints")
    return _op("_split_v2")(ary, indices, axis, squeeze_axis, sections)
