"""Gluon blocks (``mx.gluon.Block``, ``HybridBlock``, ``SymbolBlock``), as MXNet 1.9.1.

Naming follows MXNet: a block made outside any ``name_scope()`` takes its prefix from the
global name manager (``dense0_``, ``hybridsequential0_``: one counter per lower-cased class
name, shared with unnamed symbols); inside a parent's ``name_scope()`` it counts per parent and
its prefix extends the parent's (``hybridsequential0_dense0_``). Parameters are named
``prefix + name``; ``save_parameters`` names them structurally instead (``0.weight``,
``features.1.bias``).

A hybridized :class:`HybridBlock` traces ``hybrid_forward`` once with ``F = mx.sym`` and runs
the graph through mxlite's executor (the role of MXNet's CachedOp): one bound executor per
signature of input shapes and dtypes, whose argument arrays are pointed at the inputs' and
parameters' buffers on every call (no copies, no rebinding). While autograd records, the whole
call is one tape node (``autograd.record_custom``) whose backward runs the executor's backward
on the values that call kept.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import warnings
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import autograd, symbol
from .. import name as _name
from .. import ndarray as nd
from ..base import MXNetError
from ..context import Context, current_context
from ..ndarray.ndarray import NDArray
from ..symbol import Symbol, _graph
from .parameter import _DEFAULT_INIT, DeferredInitializationError, Parameter, ParameterDict
from .utils import HookHandle, _brief_print_list, _indent

__all__ = ["Block", "HybridBlock", "SymbolBlock"]


class BlockValueError(MXNetError, ValueError):
    """Where MXNet's ``gluon/block.py`` raises ``ValueError`` (bad forward inputs, a
    hybridized call whose arguments do not fit the traced graph, a non-hybrid child of a
    HybridBlock ...): callers catch either type."""


class BlockAssertionError(MXNetError, AssertionError):
    """Where MXNet's ``gluon/block.py`` fails an ``assert`` (summary of a hybridized block, an
    unknown graph input, a SymbolBlock given the wrong input format)."""


# ----------------------------------------------------------------------------------------
# Naming scopes.


class _BlockScope:
    """The scope of ``block.name_scope()``: names the child blocks created inside."""

    _current = threading.local()

    def __init__(self, block: Block):
        # A weak reference: the block owns its scope, and a strong one back would make every
        # block a reference cycle, kept (with its executors' buffers) until the cyclic
        # collector runs. An entered scope holds its block (``_held``) while it is open.
        self._block_ref = weakref.ref(block)
        # Anything else given as the block (MXNet's scope takes any object with a prefix) is
        # owned by nobody else: held here.
        self._owner = None if isinstance(block, Block) else block
        self._held: Block | None = None
        self._counter: dict[str, int] = {}
        self._old_scope: _BlockScope | None = None
        self._name_scope: _name.Prefix | None = None

    @property
    def _block(self) -> Block:
        return self._block_ref()

    @staticmethod
    def create(prefix: str | None, params: ParameterDict | None,
               hint: str) -> tuple[str, ParameterDict]:
        """The prefix and parameter dict of a new block, from the scope it is created in."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name._current().get(None, hint) + "_"
            params = ParameterDict(prefix) if params is None else ParameterDict(params.prefix,
                                                                               params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self) -> _BlockScope:
        if self._block._empty_prefix:
            return self
        self._held = self._block
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(*exc)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope
        self._held = None


# ----------------------------------------------------------------------------------------
# Nested inputs and outputs.


def _gather_type_ctx_info(args: Any) -> tuple[bool, bool, set, Context | None]:
    """(has a Symbol, has an NDArray, their contexts, the first NDArray's context)."""
    if isinstance(args, NDArray):
        return False, True, {args.ctx}, args.ctx
    if isinstance(args, Symbol):
        return True, False, set(), None
    if isinstance(args, (list, tuple)):
        has_sym = has_nd = False
        ctxs: set = set()
        first = None
        for a in args:
            s, n, c, f = _gather_type_ctx_info(a)
            has_sym, has_nd = has_sym or s, has_nd or n
            if first is None:
                first = f
            ctxs |= c
            if has_sym and has_nd:
                break
        return has_sym, has_nd, ctxs, first
    return False, False, set(), None


def _flatten(args: Any, inout_str: str) -> tuple[list, Any]:
    """Nested lists of arrays/symbols -> a flat list and the format to rebuild them."""
    if isinstance(args, NDArray):
        return [args], 0
    if isinstance(args, Symbol):
        n = len(args.list_outputs())
        return [args], n if n > 1 else 0
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        raise BlockValueError(f"When hybridized, the input of HybridBlock {inout_str} must be "
                              f"(nested) list of Symbol or NDArray, but got {args} of type "
                              f"{type(args)}")
    flat: list = []
    fmts = []
    for a in args:
        f, fmt = _flatten(a, inout_str)
        flat.extend(f)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args: Sequence, fmt: Any) -> Any:
    """Rebuild the nesting :func:`_flatten` recorded in ``fmt``."""
    def merge(args: Sequence, fmt: Any) -> tuple[Any, Sequence]:
        if isinstance(fmt, int):
            if fmt < -1:
                raise BlockValueError(f"Unsupported encoded format {fmt}.")
            if fmt == 0:
                return args[0], args[1:]
            if fmt == -1:
                if args[0] is not None:
                    raise BlockValueError(
                        "We do not support passing types that are not None when "
                        "the initial HybridBlock has received NoneType and has "
                        f"been hybridized. Received arg = {args[0]}, fmt = {fmt}.")
                return None, args[1:]
            return args[:fmt], args[fmt:]
        if not isinstance(args, (list, tuple)):
            raise BlockValueError("When hybridized, the output of HybridBlock must be (nested) "
                                  f"list of Symbol or NDArray, but got {args} of type "
                                  f"{type(args)}")
        ret = []
        for f in fmt:
            res, args = merge(args, f)
            ret.append(res)
        return ret, args

    return merge(args, fmt)[0]


def _unregistered(data: Any, children: set) -> bool:
    """Whether the (nested) container ``data`` holds a Block that is not a child.

    Module level on purpose: a recursive closure is a reference cycle that would keep the
    children alive until the cyclic collector runs."""
    if isinstance(data, (list, tuple)):
        return any(_unregistered(e, children) for e in data)
    if isinstance(data, dict):
        return any(_unregistered(v, children) for v in data.values())
    return isinstance(data, Block) and data not in children


# ----------------------------------------------------------------------------------------
# Block.


class Block:
    """Base class of all layers and models; subclass it and override :meth:`forward`.

    Child blocks and Parameters assigned as attributes are registered (in that order), so
    :meth:`collect_params` finds them all.

    Parameters
    ----------
    prefix : str, optional
        The block's name space: its Parameters are named ``prefix + name`` and its children's
        prefixes start with it. By default one is made from the class name (``dense0_``).
    params : ParameterDict, optional
        Parameters to share: ``Dense(20, params=dense0.collect_params())`` uses dense0's.
    """

    def __init__(self, prefix: str | None = None, params: ParameterDict | None = None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children: OrderedDict[str, Block] = OrderedDict()
        self._reg_params: dict[str, Parameter] = {}
        self._forward_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._forward_pre_hooks: OrderedDict[int, Callable] = OrderedDict()

    def __repr__(self) -> str:
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self.__dict__.items() if isinstance(block, Block))
        return f"{self.__class__.__name__}(\n{modstr}\n)"

    def __setattr__(self, name: str, value: Any) -> None:
        """Register Blocks and Parameters assigned as attributes."""
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                                f"{type(value)}is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise MXNetError(f"Overriding Parameter attribute {name} is not allowed. If you "
                                 "want to share parameters between blocks, please set 'params' "
                                 "at Block construction instead.")
            self._reg_params[name] = value
        super().__setattr__(name, value)

    def _check_container_with_block(self) -> None:
        children = set(self._children.values())
        for k, v in self.__dict__.items():
            if (isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children")
                    and _unregistered(v, children)):
                warnings.warn(f'"{self.__class__.__name__}.{k}" is an unregistered container '
                              "with Blocks. Note that Blocks inside the list, tuple or dict will "
                              "not be registered automatically. Make sure to register them using "
                              "register_child() or switching to nn.Sequential/nn.HybridSequential "
                              "instead. ", stacklevel=3)

    def _alias(self) -> str:
        return self.__class__.__name__.lower()

    @property
    def prefix(self) -> str:
        """The prefix of this block's Parameter and child names."""
        return self._prefix

    @property
    def name(self) -> str:
        """The block's name: its prefix without the trailing ``_``."""
        return self._name

    def name_scope(self) -> _BlockScope:
        """``with self.name_scope():`` names the child blocks created inside after this one."""
        return self._scope

    @property
    def params(self) -> ParameterDict:
        """This block's own Parameters (not its children's: see :meth:`collect_params`)."""
        return self._params

    def collect_params(self, select: str | None = None) -> ParameterDict:
        """The Parameters of this block and all its children, or those whose names match the
        regular expression ``select`` (``'.*weight|.*bias'``)."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({n: v for n, v in self.params.items() if pattern.match(n)})
        for child in self._children.values():
            ret.update(child.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix: str = "") -> dict[str, Parameter]:
        """Parameters by structural name: attribute names joined by dots (``0.weight``)."""
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    # -- saving and loading ------------------------------------------------------------------

    def save_parameters(self, filename: str, deduplicate: bool = False) -> None:
        """Save the Parameters under their structural names (see :meth:`load_parameters`).

        ``filename`` may be an fsspec URI. With ``deduplicate`` a shared Parameter is saved
        once, under its last structural name.
        """
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse = {v: k for k, v in params.items()}
            params = {v: k for k, v in reverse.items()}
        nd.save(filename, {key: val._reduce() for key, val in params.items()})

    def save_params(self, filename: str) -> None:
        """[Deprecated] Save under prefixed names; use :meth:`save_parameters`."""
        warnings.warn("save_params is deprecated. Please use save_parameters. Note that if you "
                      "want load from SymbolBlock later, please use export instead. For "
                      "details, see https://mxnet.apache.org/tutorials/gluon/save_load_params.html",
                      stacklevel=2)
        try:
            self.collect_params().save(filename, strip_prefix=self.prefix)
        except MXNetError as e:
            raise BlockValueError(f"{e}\nsave_params is deprecated. Using save_parameters may "
                                  "resolve this error.") from None

    def load_parameters(self, filename: str, ctx: Context | Sequence[Context] | None = None,
                        allow_missing: bool = False, ignore_extra: bool = False,
                        cast_dtype: bool = False, dtype_source: str = "current") -> None:
        """Load Parameters saved by :meth:`save_parameters` (or, by prefixed names, by
        :meth:`save_params`).

        Every Parameter must be in the file unless ``allow_missing`` and every array in the
        file a Parameter unless ``ignore_extra``; shapes and dtypes (unless ``cast_dtype``)
        must fit. All is checked first: on error an :class:`MXNetError` names the culprits
        and no Parameter has changed.
        """
        loaded = nd.load(filename)
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not isinstance(loaded, dict):
            raise MXNetError(f"load_parameters: file '{filename}' holds an unnamed list of "
                             "arrays; expected named parameters")
        if not any("." in k for k in loaded):
            # No structural names: a file of prefixed names (save_params, export).
            cp = self.collect_params()
            for name in cp.keys():
                if not name.startswith(self.prefix):
                    raise MXNetError(f"restore_prefix is '{self.prefix}' but Parameters name "
                                     f"'{name}' does not start with '{self.prefix}'.")
            cp.load_dict(loaded, ctx, allow_missing, ignore_extra, self.prefix, filename,
                         cast_dtype, dtype_source)
            return
        missing = []
        if not allow_missing:
            # A shared Parameter is in the file under one of its names (deduplicate=True).
            names_of = defaultdict(list)
            for k, v in params.items():
                names_of[v].append(k)
            missing = [n for n, p in params.items() if not any(k in loaded for k in names_of[p])]
        extra = [] if ignore_extra else [n for n in loaded if n not in params]
        todo = [(params[n], v) for n, v in loaded.items() if n in params]
        problems = [p + "." for p in (prm._load_problem(v, ctx, cast_dtype, dtype_source)
                                      for prm, v in todo) if p]
        if missing or extra or problems:
            msg = []
            if missing:
                msg.append(f"Parameter '{missing[0]}' is missing in file '{filename}', which "
                           f"contains parameters: {_brief_print_list(loaded.keys())}. Set "
                           "allow_missing=True to ignore missing parameters. Missing: "
                           f"{_brief_print_list(missing)}.")
            if extra:
                msg.append(f"Parameter '{extra[0]}' loaded from file '{filename}' is not "
                           "present in ParameterDict, which contains parameters "
                           f"{_brief_print_list(params.keys())}. Set ignore_extra=True to "
                           f"ignore. Not present: {_brief_print_list(extra)}.")
            msg.extend(problems)
            # MXNet asserts on missing or ill-fitting parameters, raises ValueError on extra.
            kind = BlockAssertionError if missing or problems else BlockValueError
            raise kind(" ".join(msg) + " Nothing was loaded.")
        for param, value in todo:
            param._load_init(value, ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def load_params(self, filename: str, ctx: Context | Sequence[Context] | None = None,
                    allow_missing: bool = False, ignore_extra: bool = False) -> None:
        """[Deprecated] Use :meth:`load_parameters`."""
        warnings.warn("load_params is deprecated. Please use load_parameters.", stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def save(self, prefix: str) -> None:
        """Save the structure (``prefix-model.json``: names, hybridized graphs) and the
        Parameters (``prefix-model.params``), for :meth:`load` on an identically built model."""
        model: dict = {}
        index = [0]

        def walk(blk: Block, structure: dict) -> None:
            mdl: dict = {"orig_name": blk.name}
            structure[type(blk).__name__.lower() + str(index[0])] = mdl
            if isinstance(blk, HybridBlock):
                if blk._cached_graph:
                    mdl["in_format"] = blk._in_format
                    mdl["out_format"] = blk._out_format
                    syms, out = blk._cached_graph
                    mdl["inputs"] = [s.tojson() for s in syms]
                    mdl["symbol"] = out.tojson()
                    mdl["hybridized"] = True
                else:
                    mdl["hybridized"] = False
            children: dict = {}
            mdl["children"] = children
            for ch_name, child in blk._children.items():
                index[0] += 1
                children[child.name] = ch_name
                walk(child, mdl)

        walk(self, model)
        from .. import storage

        storage.write_text_atomic(prefix + "-model.json", json.dumps(model))
        self.save_parameters(prefix + "-model.params")

    def load(self, prefix: str) -> None:
        """Restore what :meth:`save` wrote: names, hybridized graphs, then Parameters."""
        from .. import storage

        model = json.loads(storage.read_bytes(prefix + "-model.json"))
        index = [0]

        def walk(blk: Block, structure: dict) -> None:
            key = type(blk).__name__.lower() + str(index[0])
            mdl = structure.get(key)
            if mdl is None:
                raise MXNetError(f"load: {prefix}-model.json has no block {key!r}; the model "
                                 "must be built as it was when saved")
            blk._name = mdl["orig_name"]
            if isinstance(blk, HybridBlock) and mdl["hybridized"]:
                blk._in_format = mdl["in_format"]
                blk._out_format = mdl["out_format"]
                blk._cached_graph = ([symbol.load_json(s) for s in mdl["inputs"]],
                                     symbol.load_json(mdl["symbol"]))
                blk._active = True
            for p in list(blk.params.keys()):
                param = blk.params._params.pop(p)
                blk.params._params[blk.name + "_" + p[len(blk.params._prefix):]] = param
            for child in blk._children.values():
                index[0] += 1
                walk(child, mdl)
            renamed = OrderedDict()
            for child in blk._children.values():
                renamed[mdl["children"][child.name]] = child
            blk._children = renamed

        walk(self, model)
        self.load_parameters(prefix + "-model.params")

    # -- structure ---------------------------------------------------------------------------

    def register_child(self, block: Block, name: str | None = None) -> None:
        """Register ``block`` as a child (attributes are registered automatically)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook: Callable) -> HookHandle:
        """Call ``hook(block, inputs)`` before every :meth:`forward`; returns its handle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook: Callable) -> HookHandle:
        """Call ``hook(block, inputs, outputs)`` after every :meth:`forward`; returns its
        handle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn: Callable[[Block], Any]) -> Block:
        """Call ``fn(block)`` on every child (recursively), then on this block."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def initialize(self, init: Any = _DEFAULT_INIT,
                   ctx: Context | Sequence[Context] | None = None, verbose: bool = False,
                   force_reinit: bool = False) -> None:
        """Initialize the Parameters of this block and its children
        (``collect_params().initialize(...)``)."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active: bool = True, **kwargs: Any) -> None:
        """Hybridize the HybridBlocks among the children (see :meth:`HybridBlock.hybridize`)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    def cast(self, dtype: Any) -> None:
        """Cast every Parameter of this block and its children to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for param in self.params.values():
            param.cast(dtype)

    def __call__(self, *args: Any) -> Any:
        """Run the pre-hooks, :meth:`forward` and the hooks."""
        for hook in self._forward_pre_hooks.values():
            hook(self, args)
        out = self.forward(*args)
        for hook in self._forward_hooks.values():
            hook(self, args, out)
        return out

    def forward(self, *args: Any) -> Any:
        """The computation, on NDArrays; subclasses override it."""
        raise NotImplementedError

    def register_op_hook(self, callback: Callable, monitor_all: bool = False) -> None:
        """Call ``callback(name, op_name, array)`` for every operator output (and input, with
        ``monitor_all``) of the hybridized children."""
        for child in self._children.values():
            child.register_op_hook(callback, monitor_all)

    def summary(self, *inputs: Any) -> None:
        """Print MXNet's table of every layer's output shape and parameter counts for a
        forward pass on ``inputs``. The network must be initialized and not hybridized."""
        summary: OrderedDict[str, dict] = OrderedDict()
        seen: set = set()
        hooks = []
        seq_types = _sequential_types()

        def hook(block: Block, _: Any, outputs: Any) -> None:
            key = f"{block.__class__.__name__}-{len(summary)}"
            n = trainable = shared = 0
            for p in block.params.values():
                size = p.data().size
                n += size
                trainable += 0 if p.grad_req == "null" else size
                if p in seen:
                    shared += size
                else:
                    seen.add(p)
            summary[key] = {"output_shape": _shape_str(outputs), "n_params": n,
                            "trainable": trainable, "shared": shared}

        def register(block: Block) -> None:
            if isinstance(block, HybridBlock) and block._active:
                raise BlockAssertionError(
                    f'"{block.name}" must not be hybridized to print summary.')
            if not isinstance(block, seq_types):
                hooks.append(block.register_forward_hook(hook))

        summary["Input"] = {"output_shape": _shape_str(inputs), "n_params": 0, "trainable": 0,
                            "shared": 0}
        try:
            self.apply(register)
            self(*inputs)
            fmt = "{:>20}  {:>42} {:>15}"
            lines = ["-" * 80, fmt.format("Layer (type)", "Output Shape", "Param #"), "=" * 80]
            total = trainable = shared = 0
            for layer, row in summary.items():
                lines.append(fmt.format(layer, str(row["output_shape"]), row["n_params"]))
                total += row["n_params"]
                trainable += row["trainable"]
                shared += row["shared"]
            lines += ["=" * 80,
                      "Parameters in forward computation graph, duplicate included",
                      f"   Total params: {total}",
                      f"   Trainable params: {trainable}",
                      f"   Non-trainable params: {total - trainable}",
                      f"Shared params in forward computation graph: {shared}",
                      f"Unique parameters in model: {total - shared}",
                      "-" * 80]
            print("\n".join(lines))
        finally:
            for h in hooks:
                h.detach()


def _sequential_types() -> tuple[type, ...]:
    """``nn.Sequential`` and ``nn.HybridSequential``, which ``summary`` does not list."""
    try:
        from .nn import basic_layers
    except ImportError:
        return ()
    return tuple(t for t in (getattr(basic_layers, "Sequential", None),
                             getattr(basic_layers, "HybridSequential", None)) if t is not None)


def _shape_str(args: Any) -> str:
    """MXNet's summary text for the shapes of (nested) outputs."""
    def shapes(a: Any) -> Any:
        if isinstance(a, (list, tuple)):
            return [shapes(x) for x in a]
        return a.shape if isinstance(a, NDArray) else a

    s = shapes(args)
    text = str(s)[1:-1] if isinstance(s, list) else str(s)
    return text.replace("L", "")


# ----------------------------------------------------------------------------------------
# The executor behind a hybridized block.


class _CachedOp:
    """A traced graph ready to run: MXNet's CachedOp, on mxlite's executor.

    Called with one NDArray per graph input (``list_inputs()`` order). One executor is bound
    per signature (input shapes and dtypes, and which Parameters want gradients); its argument
    arrays are shells whose buffers are pointed at the given arrays' on every call.
    """

    def __init__(self, sym: Symbol, params: list[Parameter | None]):
        self._sym = sym
        pos = {n: i for i, n in enumerate(sym.list_inputs())}
        self._arg_pos = [pos[n] for n in sym.list_arguments()]
        self._aux_pos = [pos[n] for n in sym.list_auxiliary_states()]
        self._params = params
        self._var_heads = [i for i, e in enumerate(sym._outputs) if e[0].op is None]
        self._exes: dict[tuple, Any] = {}
        self._callback: tuple[Callable, bool] | None = None
        self._sparse_inputs = self._sparse_grad_inputs(pos)

    def _sparse_grad_inputs(self, pos: dict[str, int]) -> dict[int, list]:
        """Inputs read only by operators that make row_sparse gradients (their registry's
        ``sparse_grad_stypes``: a sparse-grad Embedding's weight) and whose every input is a
        graph input: ``{position: [(node, input index, positions of the node's inputs)]}``.
        Their row_sparse gradients store the rows those operators declare, as MXNet's CachedOp
        stores them (the executor computes the gradient densely)."""
        uses: dict[str, list] = {}
        heads = {e[0].name for e in self._sym._outputs if e[0].op is None}
        for n in _graph.topo_order(self._sym._outputs):
            if n.subgraphs:
                return {}  # control flow: inputs are read inside the subgraphs too
            for j, e in enumerate(n.inputs):
                if e[0].op is None:
                    uses.setdefault(e[0].name, []).append((n, j))
        found = {}
        for name, consumers in uses.items():
            if name not in pos or name in heads:
                continue
            declared = []
            for n, j in consumers:
                infer = n.op.sparse_grad_stypes
                if (infer is None or n.op.sparse_grad_rows is None
                        or any(e[0].op is not None or e[0].name not in pos for e in n.inputs)
                        or not infer(n.parsed, ["default"] * len(n.inputs))[j]):
                    break
                declared.append((n, j, [pos[e[0].name] for e in n.inputs]))
            else:
                found[pos[name]] = declared
        return found

    def register_op_hook(self, callback: Callable, monitor_all: bool = False) -> None:
        self._callback = (callback, monitor_all)
        for exe in self._exes.values():
            self._install_hook(exe)

    def _install_hook(self, exe: Any) -> None:
        if self._callback is None:
            return
        callback, monitor_all = self._callback
        ops = {}
        for n in _graph.topo_order(self._sym._outputs):
            if n.op is not None:
                outs = n.op.list_outputs(n.parsed) + n.op.list_inputs(n.parsed)
                ops.update({f"{n.name}_{o}": n.op.name for o in outs})
        # MXNet hands the hook the tensor and operator names as the C strings (bytes) its
        # engine holds; hooks decode them (``py_str``). Its CachedOp, unlike the
        # GraphExecutor, does not report variable inputs under their own names.
        exe._monitor_vars = False
        exe.set_monitor_callback(
            lambda name, arr: callback(name.encode(), ops.get(name, "").encode(), arr),
            monitor_all)

    def _reqs(self, cargs: Sequence[NDArray]) -> tuple[str, ...]:
        reqs = []
        for p in self._arg_pos:
            param = self._params[p]
            if param is not None:
                reqs.append("null" if param.grad_req == "null" else "write")
            else:
                # Only data autograd tracks (a variable, or computed from one) wants a
                # gradient; integer inputs (indices, labels) never do.
                a = cargs[p]
                kind = a._data.dtype.kind
                reqs.append("write" if autograd.in_graph(a) and kind in "fV" else "null")
        return tuple(reqs)

    def _bind(self, cargs: Sequence[NDArray], reqs: tuple[str, ...], ctx: Context) -> Any:
        args = [NDArray(cargs[p]._data, ctx) for p in self._arg_pos]
        grads = [None if r == "null" else NDArray(np.empty_like(a._data), ctx)
                 for a, r in zip(args, reqs)]
        aux = [NDArray(cargs[p]._data, ctx) for p in self._aux_pos]
        exe = self._sym.bind(ctx, args, args_grad=grads, grad_req=list(reqs), aux_states=aux)
        self._install_hook(exe)
        return exe

    def __call__(self, *given: NDArray) -> list[NDArray]:
        ctx = current_context()
        # The executor computes densely: a sparse input (a csr batch) runs as its dense
        # values; autograd still records the array given.
        cargs = tuple(a if a.stype == "default" else a.tostype("default") for a in given)
        reqs = self._reqs(given)
        key = (tuple((a._data.shape, a._data.dtype) for a in cargs), reqs)
        exe = self._exes.get(key)
        if exe is None:
            exe = self._exes[key] = self._bind(cargs, reqs, ctx)
        for shell, p in zip(exe.arg_arrays, self._arg_pos):
            shell._data = cargs[p]._data
        for shell, p in zip(exe.aux_arrays, self._aux_pos):
            shell._data = cargs[p]._data
        recording = autograd.is_recording()
        training = autograd.is_training()
        if recording:
            kept = exe.run_kept(training)
        else:
            exe.forward(is_train=training)
        outs = [NDArray(o._data, ctx) for o in exe.outputs]
        for i in self._var_heads:  # an input returned as it is: a copy, not the input itself
            outs[i] = NDArray(outs[i]._data.copy(), ctx)
        if recording:
            autograd.record_custom(list(given), outs, self._backward_fn(exe, kept, len(cargs)),
                                   sparse_rows=self._sparse_rows_fn(given, cargs))
        return outs

    def _sparse_rows_fn(self, given: Sequence[NDArray], cargs: Sequence[NDArray]
                        ) -> Callable[[int, str], np.ndarray | None] | None:
        if not self._sparse_inputs:
            return None

        def sparse_rows(i: int, stype: str) -> np.ndarray | None:
            uses = self._sparse_inputs.get(i)
            if stype != "row_sparse" or uses is None:
                return None
            acc: dict[int, np.ndarray | None] = {}
            for n, j, qs in uses:
                rows = n.op.sparse_grad_rows(n.parsed, [given[q] for q in qs],
                                             [cargs[q]._data for q in qs])
                autograd._merge_rows(acc, 0, None if rows is None else rows(j, stype))
            return acc.get(0)

        return sparse_rows

    def _backward_fn(self, exe: Any, kept: tuple,
                     n_inputs: int) -> Callable[[list[np.ndarray]], list[np.ndarray | None]]:
        arg_pos = self._arg_pos

        def backward(head_grads: list[np.ndarray]) -> list[np.ndarray | None]:
            # Fresh gradient buffers: the previous call's results belong to autograd now.
            for g in exe.grad_arrays:
                if g is not None:
                    g._data = np.empty_like(g._data)
            # Operators differentiate in backward's own mode, as autograd's do (BatchNorm
            # recorded in predict mode and differentiated in train mode takes the batch
            # formula, as in MXNet).
            exe.backward(list(head_grads), is_train=autograd.is_training(), kept=kept)
            grads: list[np.ndarray | None] = [None] * n_inputs
            for p, g in zip(arg_pos, exe.grad_arrays):
                if g is not None:
                    grads[p] = g._data
            return grads

        return backward


# ----------------------------------------------------------------------------------------
# HybridBlock.


class HybridBlock(Block):
    """A Block whose computation, :meth:`hybrid_forward`, works on NDArrays and Symbols alike.

    ``hybrid_forward(F, x, *args, **params)`` gets ``F = mx.nd`` and the Parameters' arrays
    when run imperatively, and ``F = mx.sym`` and their variables when traced. After
    :meth:`hybridize` the first call traces the graph, which later calls run through the
    executor; the graph can then be :meth:`export`\\ ed. Children must be HybridBlocks.
    """

    def __init__(self, prefix: str | None = None, params: ParameterDict | None = None):
        super().__init__(prefix=prefix, params=params)
        self._cached_graph: tuple = ()
        self._cached_op: _CachedOp | None = None
        self._cached_op_args: list[tuple[bool, Any]] = []
        self._out_format: Any = None
        self._in_format: Any = None
        self._active = False
        self._flags: list = []
        self._callback: Callable | None = None
        self._monitor_all = False
        self._backend: str | None = None
        self._backend_opts: dict = {}

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def _get_graph(self, *args: Any) -> tuple[list[Symbol], Symbol]:
        """The traced graph: input variables and the grouped outputs (traced on first use)."""
        if not self._cached_graph:
            flat_args, self._in_format = _flatten(args, "input")
            n_real = sum(a is not None for a in flat_args)
            if n_real == 0:
                raise BlockValueError(f"All args are None and we do not support such a case. "
                                      f"Received args={args}")
            flat_inputs: list = []
            sym_inputs = []
            for a in flat_args:
                if a is None:
                    flat_inputs.append(None)
                    continue
                v = symbol.var(f"data{len(sym_inputs)}" if n_real > 1 else "data")
                flat_inputs.append(v)
                sym_inputs.append(v)
            grouped = _regroup(flat_inputs, self._in_format)
            params = {k: p.var() for k, p in self._reg_params.items()}
            with self.name_scope():
                out = self.hybrid_forward(symbol, *grouped, **params)
            out, self._out_format = _flatten(out, "output")
            self._cached_graph = sym_inputs, symbol.Group(out)
        return self._cached_graph

    def _build_cache(self, *args: Any) -> None:
        data, out = self._get_graph(*args)
        data_names = {d.name: i for i, d in enumerate(data)}
        input_names = out.list_inputs()
        expected = set(input_names)
        if self._cached_op_args:
            params = {p.name: p for is_arg, p in self._cached_op_args if not is_arg}
        else:
            params = dict(self.collect_params().items())
        for name in expected:
            if name not in params and name not in data_names:
                raise BlockAssertionError(f"Unknown input to HybridBlock: {name}")
        unused = [f"{i}-th" for n, i in data_names.items() if n not in expected]
        if unused:
            warnings.warn(f"The {', '.join(unused)} input to HybridBlock is not used by any "
                          "computation. Is this intended?", stacklevel=4)
        unused_p = [n for n in params if n not in expected]
        if unused_p:
            warnings.warn(f"Parameter {', '.join(unused_p)} is not used by any computation. "
                          "Is this intended?", stacklevel=4)
        flat, _ = _flatten(args, "input")
        try:
            for name in input_names:
                if name in params:
                    params[name].data()
        except DeferredInitializationError:
            self._deferred_infer_shape(*flat)
            for name in input_names:
                if name in params:
                    params[name]._finish_deferred_init()
        self._cached_op_args = [(True, data_names[n]) if n in data_names else (False, params[n])
                                for n in input_names]
        self._cached_op = _CachedOp(out, [None if is_arg else p
                                          for is_arg, p in self._cached_op_args])
        if self._callback is not None:
            self._cached_op.register_op_hook(self._callback, self._monitor_all)

    def _deferred_infer_shape(self, *args: Any) -> None:
        try:
            self.infer_shape(*args)
        except Exception as e:
            raise BlockValueError("Deferred initialization failed because shape cannot be "
                                  f"inferred. {e}") from e

    def _call_cached_op(self, *args: Any) -> Any:
        if self._cached_op is None:
            self._build_cache(*args)
        flat, fmt = _flatten(args, "input")
        if fmt != self._in_format:
            stored = self._in_format
            # Trailing None arguments may be left out (or added) when defaults cover them.
            if len(stored) > len(fmt):
                valid = all(f == -1 for f in stored[len(fmt):]) and fmt == stored[:len(fmt)]
            elif len(stored) < len(fmt):
                valid = all(f == -1 for f in fmt[len(stored):]) and fmt[:len(stored)] == stored
            else:
                valid = False
            if not valid:
                raise BlockValueError("The argument structure of HybridBlock does not match the "
                                      f"cached version. Stored format = {fmt}, input format = "
                                      f"{self._in_format}")
        real = [a for a in flat if a is not None]
        cargs = [real[i] if is_arg else i.data() for is_arg, i in self._cached_op_args]
        return _regroup(self._cached_op(*cargs), self._out_format)

    def optimize_for(self, x: Any, *args: Any, backend: str | None = None, clear: bool = False,
                     static_alloc: bool = False, static_shape: bool = False,
                     inline_limit: int = 2, forward_bulk_size: int | None = None,
                     backward_bulk_size: int | None = None, **kwargs: Any) -> None:
        """Hybridize and build the executor for inputs like ``x, *args`` without running it.

        mxlite has no graph-partitioning backends: ``backend`` is recorded and otherwise
        ignored.
        """
        if kwargs:
            self._backend_opts = kwargs
        if not backend:
            raise BlockValueError('Must specify "backend" to optimize_for')
        self.hybridize(True, backend, clear, static_alloc, static_shape, inline_limit,
                       forward_bulk_size, backward_bulk_size)
        has_sym, has_nd, ctxs, _ = _gather_type_ctx_info([x, *args])
        if not has_sym and not has_nd:
            raise BlockValueError("In HybridBlock, there must be one NDArray or one Symbol in the "
                                  "input. Please check the type of the args.\n")
        if len(ctxs) > 1:
            raise BlockValueError("Found multiple contexts in the input, After hybridized, the "
                                  "HybridBlock only supports one input context. You can print the "
                                  "ele.ctx in the input arguments to inspect their contexts. Find "
                                  f"all contexts = {ctxs}")
        self._build_cache(x, *args)

    def _clear_cached_op(self) -> None:
        self._cached_graph = ()
        self._cached_op = None
        self._cached_op_args = []

    def register_child(self, block: Block, name: str | None = None) -> None:
        if not isinstance(block, HybridBlock):
            raise BlockValueError(f"Children of HybridBlock must also be HybridBlock, but "
                                  f"{block} has type {type(block)}. If you are using "
                                  "Sequential, please try HybridSequential instead.")
        super().register_child(block, name)
        self._clear_cached_op()

    def hybridize(self, active: bool = True, backend: str | None = None, clear: bool = True,
                  static_alloc: bool = False, static_shape: bool = False,
                  inline_limit: int = 2, forward_bulk_size: int | None = None,
                  backward_bulk_size: int | None = None, **kwargs: Any) -> None:
        """Turn the traced, executor-run mode on (or off) for this block and its children.

        The executor is always cached per input shape, so ``static_alloc`` /
        ``static_shape`` are accepted and recorded only.
        """
        if kwargs:
            self._backend_opts = kwargs
        self._backend = backend
        self._active = active
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape),
                       ("inline_limit", inline_limit)]
        if forward_bulk_size is not None:
            self._flags.append(("forward_bulk_size", forward_bulk_size))
        if backward_bulk_size is not None:
            self._flags.append(("backward_bulk_size", backward_bulk_size))
        if clear:
            self._clear_cached_op()
        if active and self._forward_hooks or self._forward_pre_hooks:
            warnings.warn(f'"{self}" is being hybridized while still having forward hook/'
                          f'pre-hook. If "{self}" is a child of HybridBlock, the hooks will not '
                          "take effect.", stacklevel=2)
        super().hybridize(active, static_alloc=static_alloc, static_shape=static_shape,
                          inline_limit=inline_limit, forward_bulk_size=forward_bulk_size,
                          backward_bulk_size=backward_bulk_size)

    def cast(self, dtype: Any) -> None:
        self._clear_cached_op()
        super().cast(dtype)

    def _infer_attrs(self, infer_fn: str, attr: str, *args: Any) -> None:
        inputs, out = self._get_graph(*args)
        flat, _ = _flatten(args, "input")
        real = [a for a in flat if a is not None]
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            arg_attrs, _, aux_attrs = getattr(out, infer_fn)(
                **{i.name: getattr(j, attr) for i, j in zip(inputs, real)})
        if arg_attrs is None:
            raise BlockValueError(str(w[0].message) if w else f"{infer_fn} failed")
        found = dict(zip(out.list_arguments(), arg_attrs))
        found.update(zip(out.list_auxiliary_states(), aux_attrs))
        for p in self.collect_params().values():
            if p.name in found:
                setattr(p, attr, found[p.name])

    def infer_shape(self, *args: Any) -> None:
        """Fill in the Parameters' unknown dimensions from the inputs' shapes."""
        self._infer_attrs("infer_shape", "shape", *args)

    def infer_type(self, *args: Any) -> None:
        """Set the Parameters' dtypes from the inputs' dtypes."""
        self._infer_attrs("infer_type", "dtype", *args)

    def export(self, path: str, epoch: int = 0, remove_amp_cast: bool = True) -> None:
        """Write ``path-symbol.json`` and ``path-%04d.params`` (``arg:`` / ``aux:`` names), as
        ``SymbolBlock.imports``, ``mx.mod.Module`` and MXNet's C++ API read them.

        The block must have been hybridized and run once. ``path`` may be an fsspec URI.
        """
        if not self._cached_graph:
            raise MXNetError("Please first call block.hybridize() and then run forward with "
                             "this block at least once before calling export.")
        sym = self._cached_graph[1]
        sym.save(f"{path}-symbol.json", remove_amp_cast=remove_amp_cast)
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        arg_dict = {}
        for is_arg, param in self._cached_op_args:
            if is_arg:
                continue
            if param.name in arg_names:
                arg_dict[f"arg:{param.name}"] = param._reduce()
            elif param.name in aux_names:
                arg_dict[f"aux:{param.name}"] = param._reduce()
            else:
                warnings.warn(f'Parameter "{param.name}" is not found in the graph. ',
                              stacklevel=3)
        nd.save(f"{path}-{epoch:04d}.params", arg_dict)

    def register_op_hook(self, callback: Callable, monitor_all: bool = False) -> None:
        """Call ``callback(name, op_name, array)`` for every operator output (and input, with
        ``monitor_all``) when this block runs hybridized."""
        self._callback = callback
        self._monitor_all = monitor_all
        for child in self._children.values():
            child._callback = callback
            child._monitor_all = monitor_all
        if self._cached_op is not None:
            self._cached_op.register_op_hook(callback, monitor_all)

    def forward(self, x: Any, *args: Any) -> Any:
        """Run :meth:`hybrid_forward` on NDArrays (or through the executor when hybridized),
        or trace it on Symbols."""
        has_sym, has_nd, ctxs, first_ctx = _gather_type_ctx_info([x, *args])
        if has_sym and has_nd:
            raise BlockValueError("In HybridBlock, we do not support mixed NDArrays and Symbols "
                                  "types for the input. Please check the type of the args.\n")
        if not has_sym and not has_nd:
            raise BlockValueError("In HybridBlock, there must be one NDArray or one Symbol in the "
                                  "input. Please check the type of the args.\n")
        if has_nd:
            if self._active:
                if len(ctxs) > 1:
                    raise BlockValueError(
                        "Find multiple contexts in the input, After hybridized, "
                        "the HybridBlock only supports one input context. You can "
                        "print the ele.ctx in the input arguments to inspect their "
                        f"contexts. Find all contexts = {ctxs}")
                with first_ctx:
                    return self._call_cached_op(x, *args)
            with first_ctx:
                try:
                    params = {k: v.data(first_ctx) for k, v in self._reg_params.items()}
                except DeferredInitializationError:
                    self._deferred_infer_shape(x, *args)
                    for v in self.params.values():
                        v._finish_deferred_init()
                    params = {k: v.data(first_ctx) for k, v in self._reg_params.items()}
                return self.hybrid_forward(nd, x, *args, **params)
        params = {k: v.var() for k, v in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(symbol, x, *args, **params)

    def hybrid_forward(self, F: Any, x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N803
        """The computation, with ``F`` = ``mx.nd`` or ``mx.sym``; subclasses override it."""
        raise NotImplementedError


# ----------------------------------------------------------------------------------------
# SymbolBlock.


def _common_prefix(names: list[str]) -> str:
    """The longest common prefix of ``names``."""
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


class SymbolBlock(HybridBlock):
    """A block running a given Symbol: a pretrained network, or part of one.

    Parameters
    ----------
    outputs : Symbol or list of Symbol
        The outputs.
    inputs : Symbol or list of Symbol
        The variables among the outputs' inputs that are the block's inputs; every other
        argument and auxiliary state becomes a Parameter (auxiliary states with
        ``grad_req='null'``).
    params : ParameterDict, optional
        Parameters to share (by name).
    """

    @staticmethod
    def imports(symbol_file: str, input_names: str | Sequence[str],
                param_file: str | None = None,
                ctx: Context | Sequence[Context] | None = None, allow_missing: bool = False,
                ignore_extra: bool = False) -> SymbolBlock:
        """A SymbolBlock from files written by :meth:`HybridBlock.export` or
        ``mx.model.save_checkpoint`` (``arg:`` / ``aux:`` names); parameters keep the dtypes
        they were saved with."""
        sym = symbol.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        if param_file is None:
            inputs = [symbol.var(i, dtype=np.float32) for i in input_names]
        else:
            inputs = [symbol.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra,
                                      cast_dtype=True, dtype_source="saved")
        return ret

    def __repr__(self) -> str:
        syms, out = self._cached_graph
        return (f"{self.__class__.__name__}(\n{out} : {len(syms)} -> "
                f"{len(out.list_outputs())}\n)")

    def __init__(self, outputs: Symbol | Sequence[Symbol], inputs: Symbol | Sequence[Symbol],
                 params: ParameterDict | None = None):
        super().__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        out, self._out_format = _flatten(outputs, "output")
        input_names = set()
        for s in syms:
            if len(s.get_internals().list_outputs()) != 1:
                raise MXNetError(f"Input symbols must be variable, but {s} is an output of "
                                 "operators")
            input_names.add(s.name)
        row_sparse = str(_graph.STORAGE_TYPES["row_sparse"])
        for o in out:
            for j in o.get_internals():
                if j.attr("__storage_type__") == row_sparse:
                    raise BlockAssertionError(
                        f"SymbolBlock doesn't support Parameter '{j.name}' because "
                        "its storage type is 'row_sparse'.")
        out = symbol.Group(out) if len(out) > 1 else out[0]
        arg_params = out.list_arguments()
        aux_params = out.list_auxiliary_states()
        arg_types, aux_types = _infer_param_types(syms, out, arg_params, aux_params)
        for name, dt in zip(arg_params, arg_types):
            if name not in input_names:
                self.params.get(name, allow_deferred_init=True, dtype=dt)
        for name, dt in zip(aux_params, aux_types):
            if name not in input_names:
                self.params.get(name, grad_req="null", allow_deferred_init=True, dtype=dt)
        self._cached_graph = syms, out
        n = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {k[n:]: v for k, v in self._params.items()}

    def forward(self, x: Any, *args: Any) -> Any:
        if isinstance(x, NDArray):
            with x.ctx:
                return self._call_cached_op(x, *args)
        if not isinstance(x, Symbol):
            raise BlockAssertionError("HybridBlock requires the first argument to forward be "
                                      f"either Symbol or NDArray, but got {type(x)}")
        flat, in_fmt = _flatten([x, *args], "input")
        if in_fmt != self._in_format:
            raise BlockAssertionError(f"Invalid input format: expected {self._in_format}, got "
                                      f"{in_fmt}")
        ret = copy.copy(self._cached_graph[1])
        ret._compose(**{k.name: v for k, v in zip(self._cached_graph[0], flat)})
        return _regroup(list(ret), self._out_format)

    def _clear_cached_op(self) -> None:
        graph = self._cached_graph
        super()._clear_cached_op()
        self._cached_graph = graph

    def cast(self, dtype: Any) -> None:
        self._clear_cached_op()
        super().cast(dtype)
        if np.dtype(dtype).name == "float16":
            # BatchNorm keeps float32 statistics and scale (as MXNet's kernels require).
            names = self._cached_graph[1].get_internals().list_inputs()
            for node in names:
                for var_suffix, mean_suffix in (("running_var", "running_mean"),
                                                ("moving_var", "moving_mean")):
                    if node.endswith(var_suffix):
                        base = node[:-len(var_suffix)]
                        sibs = [base + t for t in (mean_suffix, "gamma", "beta")]
                        if all(p in names for p in sibs):
                            for p in [node, *sibs]:
                                self.params.get(p).cast("float32")

    def hybrid_forward(self, F: Any, x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N803
        raise NotImplementedError

    def reset_ctx(self, ctx: Context | Sequence[Context] | None) -> None:
        """Move every Parameter to other contexts."""
        for p in self.collect_params().values():
            p.reset_ctx(ctx)


def _infer_param_types(in_params: list[Symbol], out_params: Symbol, arg_params: list[str],
                       aux_params: list[str], default_dtype: Any = np.float32
                       ) -> tuple[list, list]:
    """Dtypes of the arguments and auxiliary states from those of the inputs (when the inputs
    declare them), else ``default_dtype``."""
    arg_types = aux_types = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_types = []
        for p in in_params:
            t = p.infer_type()[0]
            if not t:
                in_types = None
                break
            in_types.append(t[0])
        if in_types is not None:
            try:
                arg_types, _, aux_types = out_params.infer_type(
                    **{p.name: t for p, t in zip(in_params, in_types)})
            except MXNetError:
                arg_types = aux_types = None
    if arg_types is None or len(arg_types) != len(arg_params):
        arg_types = [default_dtype] * len(arg_params)
    if aux_types is None or len(aux_types) != len(aux_params):
        aux_types = [default_dtype] * len(aux_params)
    return arg_types, aux_types
