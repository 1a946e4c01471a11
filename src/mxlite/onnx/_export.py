"""MXNet graph -> ONNX model: ``mx.onnx.export_model`` and the machinery the converters use.

The exporter walks the Symbol's node graph (MXNet's post-order) once, after one shape and one
dtype inference of every entry. Each operator node goes to the converter registered for its
canonical registry name (``_op_translations``), which reads the node's parsed ``Attrs`` and
emits ONNX nodes through :class:`GraphBuilder`. Dynamic axes are found by inferring shapes a
second time with the dynamic input dims changed: the dims that move with them are dynamic, so
the converters that need shapes (Reshape and friends) copy or compute those dims instead of
baking in the example's values.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..base import MXNetError
from ..symbol import _graph
from ..symbol.symbol import Symbol
from ._common import MIN_OPSET, check_opset, require_onnx

__all__ = ["export_model", "get_operator_support", "GraphBuilder"]

_log = logging.getLogger(__name__)

# name -> converter(g: GraphBuilder, node) -> list of output tensor names (None: no value)
CONVERTERS: dict[str, Any] = {}

# Output ops whose label input only feeds the training loss (MXNet drops it on export).
LABEL_INPUTS = {"SoftmaxOutput": 1, "LinearRegressionOutput": 1, "LogisticRegressionOutput": 1,
                "MAERegressionOutput": 1, "SVMOutput": 1}

INT_MAX = np.iinfo(np.int64).max
INT_MIN = np.iinfo(np.int64).min


def register(*names: str):
    """Register a converter under one or more canonical operator names."""
    def wrap(fn):
        for n in names:
            if n in CONVERTERS:
                raise MXNetError(f"ONNX converter for {n!r} registered twice")
            CONVERTERS[n] = fn
        return fn
    return wrap


def _load_converters() -> None:
    from . import _op_detection, _op_more, _op_translations  # noqa: F401  (registers on import)


def get_operator_support(opset_version: int | None = None) -> list[str]:
    """Names of the MXNet operators (canonical names and aliases) the exporter converts."""
    check_opset(opset_version)
    _load_converters()
    from ..ops import registry

    names = set()
    for name, op in registry.all_names().items():
        if op.name in CONVERTERS:
            names.add(name)
    return sorted(names)


# ----------------------------------------------------------------------------------------
# The builder the converters write into.


class GraphBuilder:
    """Collects ONNX nodes and initializers, knows every entry's inferred shape and dtype."""

    def __init__(self, onnx: Any, opset: int, shapes: dict, dtypes: dict, dyn: dict,
                 weights: dict[str, np.ndarray]):
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.shapes = shapes
        self.dtypes = dtypes
        self.dyn = dyn
        self.weights = weights
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[tuple, str] = {}  # (Node, output) -> tensor name
        self.used: set[str] = set()
        self.values: dict[str, np.ndarray] = {}  # initializer tensor name -> value
        self.cur: Any = None
        self.dyn_sources: dict[tuple, tuple[str, int]] = {}
        self.moved: dict = {}
        self._const_cache: dict = {}
        self._count = 0

    # -- naming ------------------------------------------------------------------------

    def fresh(self, hint: str | None = None) -> str:
        base = hint or (self.cur.name if self.cur is not None else "t")
        while True:
            self._count += 1
            name = f"{base}__{self._count}"
            if name not in self.used:
                self.used.add(name)
                return name

    def claim(self, name: str) -> str:
        """``name`` itself if still free, else a fresh variant of it."""
        if name and name not in self.used:
            self.used.add(name)
            return name
        return self.fresh(name or None)

    # -- the current node's inputs and outputs -------------------------------------------

    def fail(self, node: Any, msg: str) -> MXNetError:
        return MXNetError(f"ONNX export: node {node.name!r} (operator {node.op.name}): {msg}")

    def x(self, node: Any, i: int = 0) -> str:
        e = node.inputs[i]
        name = self.names.get((e[0], e[1]))
        if name is None:
            raise self.fail(node, f"input {i} ({e[0].name!r}, output {e[1]}) has no ONNX "
                                  "value (a label, or an output the converter cannot give)")
        return name

    def xs(self, node: Any) -> list[str]:
        return [self.x(node, i) for i in range(len(node.inputs))]

    def in_shape(self, node: Any, i: int = 0) -> tuple:
        e = node.inputs[i]
        return self.shapes[(e[0], e[1])]

    def in_dtype(self, node: Any, i: int = 0) -> np.dtype:
        e = node.inputs[i]
        return self.dtypes[(e[0], e[1])]

    def in_dyn(self, node: Any, i: int = 0) -> set:
        e = node.inputs[i]
        return self.dyn.get((e[0], e[1]), set())

    def out_shape(self, node: Any, i: int = 0) -> tuple:
        return self.shapes[(node, i)]

    def out_dtype(self, node: Any, i: int = 0) -> np.dtype:
        return self.dtypes[(node, i)]

    def out_dyn(self, node: Any, i: int = 0) -> set:
        return self.dyn.get((node, i), set())

    def param(self, node: Any, i: int) -> np.ndarray | None:
        """Input ``i``'s value when it is a parameter (an initializer), else None."""
        e = node.inputs[i]
        if e[0].op is not None:
            return None
        name = self.names.get((e[0], 0))
        return self.values.get(name) if name is not None else None

    def folded(self, node: Any, i: int) -> np.ndarray | None:
        """Input ``i``'s value when it is computed from parameters alone (Gluon's RNN layers
        pack their weights with operators): evaluated by the registry's own kernels."""
        from ..ops.registry import OpContext

        memo = self.__dict__.setdefault("_folded", {})

        def value(e: tuple) -> np.ndarray | None:
            src, idx = e[0], e[1]
            if src.op is None:
                name = self.names.get((src, 0))
                return self.values.get(name) if name is not None else None
            key = (src, idx)
            if key not in memo:
                memo[key] = None
                ins = [value(x) for x in src.inputs]
                if all(v is not None for v in ins) and src.op.forward is not None:
                    outs = src.op.forward(src.parsed, [v.copy() for v in ins], OpContext(False))
                    for j, o in enumerate(outs):
                        memo[(src, j)] = np.asarray(o)
            return memo[key]

        return value(node.inputs[i])

    def child(self, shapes: dict, dtypes: dict) -> GraphBuilder:
        """A builder for a subgraph: its own nodes and entries, this model's names and
        initializers (a subgraph reads the outer scope by name)."""
        c = GraphBuilder(self.onnx, self.opset, shapes, dtypes, {}, self.weights)
        c.used = self.used
        c.initializers = self.initializers
        c.values = self.values
        c._const_cache = self._const_cache
        return c

    def subgraph(self, heads: list, known: dict[Any, tuple], types: dict[Any, Any],
                 outer: dict[Any, str], formal: list, name: str, inline: bool = False
                 ) -> tuple[Any, list[str], list[tuple], list]:
        """Convert an operator's subgraph (``heads``): variables in ``outer`` read those
        tensors of the enclosing graph, those in ``formal`` become the subgraph's inputs.
        Returns (GraphProto, or None when ``inline`` adds the nodes here, output names, output
        shapes, output dtypes)."""
        helper = self.helper
        shapes = _infer_all(heads, known, "shape")
        dtypes = _infer_all(heads, types, "type")
        c = self.child(shapes, dtypes)
        inputs = []
        for v in formal:
            nm = self.fresh(f"{name}_{v.name}")
            c.names[(v, 0)] = nm
            # Types only: the enclosing graph's dynamic dims reach the subgraph too.
            inputs.append(helper.make_tensor_value_info(nm, c.tensor_type(dtypes[(v, 0)]),
                                                        None))
        for v, t in outer.items():
            c.names[(v, 0)] = t
        convert_ops(c, _graph.topo_order(heads), {})
        keys = [(e[0], e[1]) for e in heads]
        missing = [k for k in keys if k not in c.names]
        if missing:
            raise MXNetError(f"ONNX export: subgraph {name!r}: output {missing[0][0].name!r} "
                             "has no ONNX value")
        out_shapes = [shapes[k] for k in keys]
        out_types = [dtypes[k] for k in keys]
        if inline:
            self.nodes.extend(c.nodes)
            return None, [c.names[k] for k in keys], out_shapes, out_types
        outs, vis = [], []
        for k, t in zip(keys, out_types):
            nm = self.fresh(f"{name}_out")
            c.nodes.append(helper.make_node("Identity", [c.names[k]], [nm],
                                            name=self.fresh(f"{name}_Identity")))
            outs.append(nm)
            vis.append(helper.make_tensor_value_info(nm, c.tensor_type(t), None))
        graph = helper.make_graph(c.nodes, self.fresh(name), inputs, vis)
        return graph, outs, out_shapes, out_types

    # -- emitting ------------------------------------------------------------------------

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, outputs: Sequence[str]
           | None = None, **attrs: Any) -> Any:
        """Add one ONNX node; its output name (or names when ``n_out > 1``)."""
        outs = list(outputs) if outputs is not None else [self.fresh() for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = self.helper.make_node(op_type, list(inputs), outs,
                                     name=self.fresh(f"{self.cur.name if self.cur else 'n'}_"
                                                     f"{op_type}"), **attrs)
        self.nodes.append(node)
        return outs[0] if n_out == 1 and outputs is None else outs

    def add_initializer(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        value = np.asarray(value)
        if not value.flags.c_contiguous:  # (ascontiguousarray would make a 0-d array 1-d)
            value = value.copy(order="C")
        self.initializers.append(numpy_helper.from_array(value, name))
        self.values[name] = value
        return name

    def const(self, value: Any, dtype: Any = None, hint: str = "const") -> str:
        """An initializer holding ``value`` (small constants are shared)."""
        arr = np.asarray(value, dtype=dtype)
        key = None
        if arr.size <= 64:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            hit = self._const_cache.get(key)
            if hit is not None:
                return hit
        name = self.add_initializer(self.fresh(hint), arr)
        if key is not None:
            self._const_cache[key] = name
        return name

    def ints(self, values: Sequence[int]) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint="ints")

    def scalar(self, value: float, dtype: np.dtype) -> str:
        return self.const(np.asarray(value, dtype=dtype), hint="scalar")

    # -- opset-dependent forms -------------------------------------------------------------

    def squeeze(self, x: str, axes: Sequence[int]) -> str:
        if self.opset >= 13:
            return self.op("Squeeze", [x, self.ints(axes)])
        return self.op("Squeeze", [x], axes=list(axes))

    def unsqueeze(self, x: str, axes: Sequence[int]) -> str:
        if self.opset >= 13:
            return self.op("Unsqueeze", [x, self.ints(axes)])
        return self.op("Unsqueeze", [x], axes=list(axes))

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """ReduceX over ``axes`` (None: all)."""
        k = int(bool(keepdims))
        axes_as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes is None:
            return self.op(op_type, [x], keepdims=k)
        if axes_as_input:
            return self.op(op_type, [x, self.ints(axes)], keepdims=k)
        return self.op(op_type, [x], axes=list(axes), keepdims=k)

    def split(self, x: str, axis: int, sizes: Sequence[int]) -> list[str]:
        n = len(sizes)
        if self.opset >= 13:
            return self.op("Split", [x, self.ints(sizes)], n_out=n, axis=axis)
        return self.op("Split", [x], n_out=n, axis=axis, split=list(sizes))

    def softmax(self, op_type: str, x: str, axis: int, ndim: int) -> str:
        """Softmax / LogSoftmax along one axis in every opset (before 13 they flattened)."""
        axis = axis % ndim
        if self.opset >= 13 or axis == ndim - 1:
            return self.op(op_type, [x], axis=axis if self.opset >= 13 else -1)
        perm = list(range(ndim))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        t = self.op("Transpose", [x], perm=perm)
        y = self.op(op_type, [t], axis=-1)
        return self.op("Transpose", [y], perm=perm)

    def cast(self, x: str, dtype: Any) -> str:
        return self.op("Cast", [x], to=self.tensor_type(dtype))

    def tensor_type(self, dtype: Any) -> int:
        return int(self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def shape_tensor(self, node: Any, i: int = 0) -> str:
        """Output ``i``'s shape as an int64 tensor, its dynamic dims read from the inputs."""
        shape = self.out_shape(node, i)
        dyn = self.out_dyn(node, i)
        if not dyn:
            return self.ints(shape)
        moved = self.moved.get((node, i))
        parts = []
        for d, v in enumerate(shape):
            if d not in dyn:
                parts.append(self.ints([v]))
                continue
            src = self.dyn_sources.get((v, moved[d])) if moved is not None else None
            if src is None:
                raise self.fail(node, f"cannot tell where dynamic dim {d} of {shape} comes "
                                      "from")
            parts.append(self.op("Slice", [self.op("Shape", [src[0]]), self.ints([src[1]]),
                                           self.ints([src[1] + 1])]))
        return self.op("Concat", parts, axis=0)

    def reshape_to(self, x: str, src: tuple, src_dyn: set, dst: tuple, dst_dyn: set,
                   node: Any) -> str:
        """Reshape ``x`` (inferred ``src``) to the inferred ``dst``, keeping dynamic dims
        dynamic: a dim that is the source's at the same place is copied (0), a single other
        dynamic dim is computed (-1)."""
        if tuple(src) == tuple(dst) and src_dyn == dst_dyn:
            return x
        target = list(dst)
        free = []
        for i in sorted(dst_dyn):
            if i < len(src) and i in src_dyn and src[i] == dst[i]:
                target[i] = 0
            else:
                free.append(i)
        if len(free) > 1:
            raise self.fail(node, f"cannot express a reshape from {src} to {dst} with dynamic "
                                  f"dims {sorted(dst_dyn)} (more than one computed dim)")
        for i in free:
            target[i] = -1
        if 0 in target and any(d == 0 for d in dst):
            raise self.fail(node, f"cannot reshape to a shape with zero-size dims {dst}")
        return self.op("Reshape", [x, self.ints(target)])


# ----------------------------------------------------------------------------------------
# Inputs: symbols, files, blocks and modules.


def _strip(name: str) -> str:
    return name[4:] if name.startswith(("arg:", "aux:")) else name


def _to_numpy(name: str, v: Any) -> np.ndarray:
    if hasattr(v, "asnumpy"):
        return v.asnumpy()
    if isinstance(v, np.ndarray):
        return v
    try:
        return np.asarray(v)
    except Exception as e:  # noqa: BLE001
        raise MXNetError(f"params[{name!r}] is not an array: {type(v).__name__}") from e


def _params_dict(params: Any) -> dict[str, np.ndarray]:
    from .. import ndarray as nd

    if isinstance(params, (str, os.PathLike)):
        loaded = nd.load(os.fspath(params))
        if not isinstance(loaded, dict):
            raise MXNetError(f"params file {os.fspath(params)!r} holds a list of arrays, not "
                             "named parameters")
        params = loaded
    if isinstance(params, (list, tuple)):
        if len(params) != 2 or not all(isinstance(p, dict) for p in params):
            raise MXNetError("params as a list must be [arg_params, aux_params] (two dicts)")
        merged = dict(params[0])
        merged.update(params[1])
        params = merged
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise MXNetError(f"params must be a dict, [arg_params, aux_params] or a file name, got "
                         f"{type(params).__name__}")
    return {_strip(str(k)): _to_numpy(str(k), v) for k, v in params.items()}


def _from_block(block: Any, in_shapes: Any, in_types: list) -> tuple[Symbol, dict]:
    from .. import ndarray as nd
    from .. import symbol as sym_mod

    if in_shapes is None:
        raise MXNetError("in_shapes is required to export a Gluon block (one shape per input)")
    shapes = [tuple(s) for s in in_shapes]
    # A forward pass on zeros settles deferred parameter shapes.
    try:
        block(*[nd.zeros(s, dtype=t) for s, t in zip(shapes, in_types)])
    except MXNetError as e:
        raise MXNetError(f"the block does not run on inputs of shapes {shapes}: {e}") from None
    names = ["data"] if len(shapes) == 1 else [f"data{i}" for i in range(len(shapes))]
    out = block(*[sym_mod.var(n) for n in names])
    if isinstance(out, (list, tuple)):
        out = sym_mod.Group(list(out))
    params = {p.name: p.data() for p in block.collect_params().values()}
    return out, params


def _resolve(sym: Any, params: Any, in_shapes: Any, in_types: list
             ) -> tuple[Symbol, dict[str, np.ndarray], Any]:
    from .. import symbol as sym_mod
    from ..gluon.block import HybridBlock
    from ..module import BaseModule

    if isinstance(sym, HybridBlock):
        sym, params = _from_block(sym, in_shapes, in_types)
    elif isinstance(sym, BaseModule):
        mod = sym
        if not getattr(mod, "binded", False) or not getattr(mod, "params_initialized", False):
            raise MXNetError("the Module must be bound and its parameters initialized "
                             "(mod.bind(...); mod.init_params() or set_params)")
        arg, aux = mod.get_params()
        params = {**arg, **aux} if params is None else params
        if in_shapes is None:
            in_shapes = [tuple(d.shape if hasattr(d, "shape") else d[1])
                         for d in mod.data_shapes]
        sym = mod.symbol
    elif isinstance(sym, (str, os.PathLike)):
        path = os.fspath(sym)
        try:
            sym = sym_mod.load(path)
        except FileNotFoundError:
            raise MXNetError(f"symbol file {path!r} does not exist") from None
    elif not isinstance(sym, Symbol):
        raise MXNetError(f"sym must be a Symbol, a symbol JSON file name, a HybridBlock or a "
                         f"Module, got {type(sym).__name__}")
    if isinstance(params, (str, os.PathLike)) and not os.path.exists(os.fspath(params)) \
            and "://" not in os.fspath(params):
        raise MXNetError(f"params file {os.fspath(params)!r} does not exist")
    return sym, _params_dict(params), in_shapes


# ----------------------------------------------------------------------------------------
# Export.


def _np_dtype(t: Any, what: str) -> np.dtype:
    try:
        return np.dtype(t)
    except TypeError:
        raise MXNetError(f"{what}: {t!r} is not a data type") from None


def _output_names(sym: Symbol) -> list[str]:
    """MXNet's exporter names graph outputs after their nodes (``fc1_output`` -> ``fc1``)."""
    out = []
    for name in sym.list_outputs():
        if name.endswith("_output"):
            out.append(name[:-len("_output")])
        elif re.search(r"_output[0-9]+$", name):
            m = re.search(r"_output([0-9]+)$", name)
            out.append(name[:m.start()] + m.group(1))
        else:
            out.append(name)
    return out


def _label_vars(order: list) -> set:
    """Variables used only as the label of an output op (the training loss's input)."""
    label_uses: dict = {}
    other = set()
    for n in order:
        if n.op is None:
            continue
        li = LABEL_INPUTS.get(n.op.name)
        for i, e in enumerate(n.inputs):
            if e[0].op is None:
                if li is not None and i == li:
                    label_uses[e[0]] = True
                else:
                    other.add(e[0])
    return {v for v in label_uses if v not in other}


def _infer_all(heads: list, known: dict, kind: str) -> dict:
    val, complete = _graph.infer(heads, known, kind)
    if not complete:
        missing = [f"{k[0].name}[{k[1]}]" for k, v in val.items()
                   if (v is None or (kind == "shape" and 0 in v))][:10]
        raise MXNetError(f"ONNX export: cannot infer the {kind} of {', '.join(missing)}; "
                         f"give in_shapes/in_types for every data input")
    return val


def build_model(sym: Any, params: Any, in_shapes: Any = None, in_types: Any = np.float32,
                verbose: bool = False, dynamic: bool = False,
                dynamic_input_shapes: Any = None, opset_version: int | None = None) -> Any:
    """The ``onnx.ModelProto`` :func:`export_model` writes (same arguments)."""
    onnx = require_onnx()
    opset = check_opset(opset_version)
    _load_converters()
    helper = onnx.helper

    if in_shapes is not None and not isinstance(in_shapes, (list, tuple)):
        raise MXNetError(f"in_shapes must be a list of shapes, got {type(in_shapes).__name__}")
    n_guess = len(in_shapes) if in_shapes is not None else 1
    types_given = in_types if isinstance(in_types, (list, tuple)) else [in_types] * n_guess
    types_np = [_np_dtype(t, "in_types") for t in types_given]
    sym, weights, in_shapes = _resolve(sym, params, in_shapes, types_np)
    heads = list(sym._outputs)
    order = _graph.topo_order(heads)

    labels = _label_vars(order)
    data_vars = [n for n in order if n.op is None and n.name not in weights and n not in labels]
    if in_shapes is None:
        in_shapes = []
        for v in data_vars:
            s = _graph._var_shape(v)
            if s is None or 0 in s:
                raise MXNetError(f"in_shapes is required: no shape known for input {v.name!r}")
            in_shapes.append(s)
    try:
        in_shapes = [tuple(int(d) for d in s) for s in in_shapes]
    except (TypeError, ValueError):
        raise MXNetError(f"in_shapes must be a list of tuples of ints, got {in_shapes!r}"
                         ) from None
    if len(in_shapes) != len(data_vars):
        raise MXNetError(f"in_shapes gives {len(in_shapes)} shapes but the model has "
                         f"{len(data_vars)} data inputs {[v.name for v in data_vars]}")
    if not isinstance(in_types, (list, tuple)):
        types_np = [types_np[0]] * len(data_vars)
    if len(types_np) != len(data_vars):
        raise MXNetError(f"in_types gives {len(types_np)} types for {len(data_vars)} inputs")

    # Which dims of each input are dynamic.
    if dynamic:
        if dynamic_input_shapes is None:
            dyn_in = [set(range(len(s))) for s in in_shapes]
        else:
            if len(dynamic_input_shapes) != len(in_shapes):
                raise MXNetError("dynamic_input_shapes must give one shape per input "
                                 f"({len(in_shapes)})")
            dyn_in = []
            for s, d in zip(in_shapes, dynamic_input_shapes):
                if len(d) != len(s):
                    raise MXNetError(f"dynamic_input_shapes entry {tuple(d)} does not have the "
                                     f"rank of in_shapes entry {s}")
                for a, b in zip(s, d):
                    if b is not None and int(b) != a:
                        raise MXNetError(f"dynamic_input_shapes entry {tuple(d)} disagrees "
                                         f"with in_shapes entry {s}")
                dyn_in.append({i for i, b in enumerate(d) if b is None})
    else:
        if dynamic_input_shapes is not None:
            raise MXNetError("dynamic_input_shapes is given: set dynamic=True to use it")
        dyn_in = [set() for _ in in_shapes]

    wnodes = {n: weights[n.name] for n in order if n.op is None and n.name in weights}
    known = {v: s for v, s in zip(data_vars, in_shapes)}
    known.update({n: tuple(w.shape) for n, w in wnodes.items()})
    shapes = _infer_all(heads, known, "shape")
    tknown = {v: t for v, t in zip(data_vars, types_np)}
    tknown.update({n: w.dtype for n, w in wnodes.items()})
    dtypes = _infer_all(heads, tknown, "type")
    dyn, moved_shapes = _dynamic_dims(heads, known, data_vars, in_shapes, dyn_in, shapes)

    g = GraphBuilder(onnx, opset, shapes, dtypes, dyn, weights)
    # Where each dynamic size can be read at run time: (input, dim) by its two inferred values.
    for v, s in zip(data_vars, in_shapes):
        s2 = moved_shapes.get((v, 0))
        if s2 is not None:
            for i, (x1, x2) in enumerate(zip(s, s2)):
                if x1 != x2:
                    g.dyn_sources.setdefault((x1, x2), (v.name, i))
    g.moved = moved_shapes
    out_names = _output_names(sym)
    head_name: dict = {}
    for e, nm in zip(heads, out_names):
        head_name.setdefault((e[0], e[1]), nm)
    for nm in out_names:
        g.used.add(nm)

    graph_inputs = []
    for v, s, t, d in zip(data_vars, in_shapes, types_np, dyn_in):
        g.used.add(v.name)
        g.names[(v, 0)] = v.name
        dims = [f"{v.name}_dim{i}" if i in d else s[i] for i in range(len(s))]
        graph_inputs.append(helper.make_tensor_value_info(v.name, g.tensor_type(t), dims))
    for n, w in wnodes.items():
        if (n, 0) in g.names:
            continue
        name = g.claim(n.name)
        g.add_initializer(name, w)
        g.names[(n, 0)] = name

    convert_ops(g, order, head_name, verbose)
    graph_outputs = []
    emitted = set()
    for e, nm in zip(heads, out_names):
        key = (e[0], e[1])
        t = g.names.get(key)
        if t is None:
            raise MXNetError(f"ONNX export: output {nm!r} has no ONNX value")
        if t != nm or nm in emitted:
            nm = g.claim(nm) if nm in emitted else nm
            g.op("Identity", [t], outputs=[nm])
        emitted.add(nm)
        s = shapes[key]
        d = dyn.get(key, set())
        dims = [f"{nm}_dim{i}" if i in d else s[i] for i in range(len(s))]
        graph_outputs.append(helper.make_tensor_value_info(nm, g.tensor_type(dtypes[key]),
                                                           dims))

    # Parameters no node reads (BatchNorm's fixed gamma, labels' leftovers) are left out.
    read = _names_read(g.nodes)
    inits = [t for t in g.initializers if t.name in read]
    graph = helper.make_graph(g.nodes, "mxlite_graph", graph_inputs, graph_outputs,
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="mxlite")
    model.ir_version = _ir_version(onnx, opset)
    return model


def convert_ops(g: GraphBuilder, order: list, head_name: dict, verbose: bool = False) -> None:
    """Convert every operator node of ``order`` (variables already named in ``g.names``);
    a node's outputs are named after it (or after the graph output ``head_name`` gives)."""
    for n in order:
        if n.op is None:
            continue
        conv = CONVERTERS.get(n.op.name)
        if conv is None:
            raise MXNetError(f"ONNX export: node {n.name!r} uses operator {n.op.name!r}, which "
                             "has no ONNX converter (see docs/onnx.md)")
        if verbose:
            _log.info("Converting node %r, operator %s", n.name, n.op.name)
        g.cur = n
        start = len(g.nodes)
        outs = conv(g, n)
        produced = {}
        for k in range(start, len(g.nodes)):
            for j, o in enumerate(g.nodes[k].output):
                produced[o] = (k, j)
        renamed: dict[str, str] = {}
        for i, t in enumerate(outs):
            if t is None:
                continue
            if t in renamed:
                g.names[(n, i)] = renamed[t]
                continue
            want = head_name.get((n, i))
            if want is None:
                want = n.name if i == 0 else f"{n.name}{i}"
                if want in g.used:
                    want = None
            if want is not None and t in produced:
                k, j = produced[t]
                # Rename the producing node's output (and any later use inside this node).
                for m in g.nodes[start:]:
                    for q, inp in enumerate(m.input):
                        if inp == t:
                            m.input[q] = want
                g.nodes[k].output[j] = want
                g.used.add(want)
                renamed[t] = want
                t = want
            g.names[(n, i)] = t
    g.cur = None


def _names_read(nodes: list) -> set[str]:
    """Every tensor name the nodes read, inside their subgraphs (If / Loop / Scan) too."""
    read: set[str] = set()
    stack = list(nodes)
    while stack:
        n = stack.pop()
        read.update(n.input)
        for a in n.attribute:
            if a.HasField("g"):
                stack.extend(a.g.node)
            for sg in a.graphs:
                stack.extend(sg.node)
    return read


def _ir_version(onnx: Any, opset: int) -> int:
    """The oldest IR version that carries ``opset``: the widest choice of runtimes."""
    for _rel, ir, op, *_ in onnx.helper.VERSION_TABLE:
        if op >= opset:
            return max(int(ir), 7)
    return int(onnx.IR_VERSION)


def _dynamic_dims(heads: list, known: dict, data_vars: list, in_shapes: list, dyn_in: list,
                  shapes: dict) -> tuple[dict, dict]:
    """(Node, output) -> the dims that change when the dynamic input dims change; and the
    shapes inferred with them changed."""
    if not any(dyn_in):
        return {}, {}
    attempts = [dyn_in, [{0} & d for d in dyn_in]]
    for want in attempts:
        if not any(want):
            continue
        moved = dict(known)
        for v, s, d in zip(data_vars, in_shapes, want):
            moved[v] = tuple(x + 1 if i in d else x for i, x in enumerate(s))
        try:
            other, complete = _graph.infer(heads, moved, "shape")
        except MXNetError:
            continue
        if not complete:
            continue
        out = {}
        for k, s in shapes.items():
            o = other.get(k)
            if o is not None and len(o) == len(s):
                diff = {i for i, (a, b) in enumerate(zip(s, o)) if a != b}
                if diff:
                    out[k] = diff
        return out, other
    return {}, {}


def export_model(sym: Any, params: Any, in_shapes: Any = None, in_types: Any = np.float32,
                 onnx_file_path: str = "model.onnx", verbose: bool = False,
                 dynamic: bool = False, dynamic_input_shapes: Any = None,
                 run_shape_inference: bool = False, input_type: Any = None,
                 input_shape: Any = None, large_model: bool = False,
                 opset_version: int | None = None) -> str:
    """Export an MXNet model to an ONNX file, as ``mxnet.onnx.export_model`` does.

    Parameters
    ----------
    sym : str or Symbol or HybridBlock or Module
        Path to the ``-symbol.json`` file or the Symbol; a Gluon HybridBlock (its parameters
        are used, ``params`` is ignored) or a bound Module (``params`` defaults to its own).
    params : str or dict or list of dict
        Path to the ``.params`` file, a dict of every parameter (``arg:``/``aux:`` prefixes
        allowed), or ``[arg_params, aux_params]``.
    in_shapes : list of tuple
        One shape per data input, e.g. ``[(1, 3, 224, 224)]``.
    in_types : data type or list of data types
        Input data types, ``np.float32`` by default.
    onnx_file_path : str
        Where to write the model.
    verbose : bool
        Log each converted node.
    dynamic : bool
        Make input dims dynamic: those given as None in ``dynamic_input_shapes`` (all dims
        when that is None).
    dynamic_input_shapes : list of tuple
        The input shapes with None for each dynamic dim, e.g. ``[(None, 3, 224, 224)]``.
    run_shape_inference : bool
        Annotate the model with ONNX's shape inference (kept without it if that fails).
    input_type, input_shape :
        The old names of ``in_types`` and ``in_shapes``.
    large_model : bool
        Store the weights in an external file next to the model (``<file>.data``), as models
        over protobuf's 2 GB limit must.
    opset_version : int
        ONNX opset to target (12 up to the newest the onnx package knows; default newest).

    Returns
    -------
    str
        ``onnx_file_path``.
    """
    onnx = require_onnx()
    if input_type is not None:
        in_types = input_type
    if input_shape is not None:
        in_shapes = input_shape
    model = build_model(sym, params, in_shapes, in_types, verbose, dynamic,
                        dynamic_input_shapes, opset_version)
    if run_shape_inference:
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001 - ONNX's inference is optional here, as in MXNet
            _log.info("ONNX shape inference failed; the model is kept without it")
    path = os.fspath(onnx_file_path)
    if large_model:
        location = os.path.basename(path) + ".data"
        onnx.save_model(model, path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=location, size_threshold=1024)
    else:
        size = sum(len(t.raw_data) for t in model.graph.initializer)
        if size >= 2**31 - 2**26:
            raise MXNetError(f"the model's weights take {size} bytes, over protobuf's 2 GB "
                             "limit: export with large_model=True")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
    _log.info("Exported ONNX file %s (input shapes %s)", path, in_shapes)
    return path


__all__ += ["build_model", "MIN_OPSET", "INT_MAX", "INT_MIN"]
